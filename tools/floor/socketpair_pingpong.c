/* The machine's floor for a host <-> worker round trip: two C processes exchanging
 * 100-byte messages over a socketpair. Prints "p50_ns p99_ns". Built by tools/bench.
 * With the argument "one-cpu" both processes run on the CPU it started on: on some
 * virtual machines waking a process on the other CPU costs several times the exchange. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 20000, SIZE = 100 };

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void exchange(int fd, char *buffer, int echo) {
    ssize_t got = 0;
    if (!echo && write(fd, buffer, SIZE) != SIZE) exit(1);
    while (got < SIZE) { ssize_t n = read(fd, buffer + got, SIZE - got); if (n <= 0) exit(0); got += n; }
    if (echo && write(fd, buffer, SIZE) != SIZE) exit(1);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "one-cpu") == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) return 1;   /* the child inherits it */
    }
    int fds[2];
    char buffer[SIZE];
    memset(buffer, 'x', sizeof buffer);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        for (;;) exchange(fds[1], buffer, 1);
    }
    close(fds[1]);
    static long long samples[ROUNDS];
    for (int i = 0; i < 1000; i++) exchange(fds[0], buffer, 0);   /* warm up */
    for (int i = 0; i < ROUNDS; i++) {
        long long start = now_ns();
        exchange(fds[0], buffer, 0);
        samples[i] = now_ns() - start;
    }
    close(fds[0]);
    waitpid(child, NULL, 0);
    qsort(samples, ROUNDS, sizeof samples[0], compare);
    printf("%lld %lld\n", samples[ROUNDS / 2], samples[ROUNDS * 99 / 100]);
    return 0;
}
