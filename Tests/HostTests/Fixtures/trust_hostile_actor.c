/*
 * trust_hostile_actor.c — an actor that attacks the world outside its worker, for the
 * trust-boundary suite (HostileActorTests). Each action tries one escape and answers
 * what happened, so the test can tell "refused" from "got through":
 *   {"do":"tiocsti"}                 push a keystroke into stdin's terminal, and /dev/tty's
 *   {"do":"kill","pid":"N"}          kill(N, SIGKILL) (the host, a sibling worker); also kill(getppid())
 *   {"do":"daemon","mark":"NAME"}    setsid + double fork; the grandchild renames itself NAME and sleeps
 *   {"do":"forkbomb"}                fork up to 10,000 sleeping children; answer how many it got
 *   {"do":"forkmem"}                 8 children each touching up to 256 MiB; answer what they touched
 *   {"do":"bigfile"}                 write up to 10 GiB into scratch; answer how far it got
 *   {"do":"mknod"}                   create /dev/null's twin in scratch and open it
 *   {"do":"iouring"}                 io_uring_setup (the road to IORING_OP_SOCKET)
 *   {"do":"clone3"}                  clone3 and clone with CLONE_NEWUSER|CLONE_NEWNET, and unshare
 *   {"do":"env"}                     answer every environment variable's name
 *   {"do":"read","path":"P"}         read the first bytes of P
 *   anything else                    echo the input (the good call)
 * In a workflow, where the input is the subject, the config's keys stand in for the input's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wavehost/actor_abi.h>

extern char **environ;

static void answer(wh_reply *reply, const char *text, size_t length) {
    char *copy = malloc(length);
    memcpy(copy, text, length);
    reply->data = (const uint8_t *)copy;
    reply->length = length;
}

static int value_of(const uint8_t *input, size_t length, const char *key, char *out, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    size_t n = strlen(pattern);
    for (size_t i = 0; i + n <= length; i++) {
        if (memcmp(input + i, pattern, n) != 0) continue;
        size_t j = 0;
        while (i + n + j < length && input[i + n + j] != '"' && j + 1 < size) { out[j] = (char)input[i + n + j]; j++; }
        out[j] = 0;
        return 1;
    }
    return 0;
}

/* In a workflow the input is the subject: the config's "do" (and "mark", "pid", "path") stand in. */
static char configured[1024];
static size_t configured_length;

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)host; (void)reply;
    configured_length = config_length < sizeof configured ? config_length : 0;
    memcpy(configured, config, configured_length);
    *instance = NULL;
    return WH_OK;
}

#define REPLY(...) do { int n_ = snprintf(text, sizeof text, __VA_ARGS__); answer(reply, text, (size_t)n_); return WH_OK; } while (0)

static wh_status invoke(void *instance, const uint8_t *input, size_t length, wh_reply *reply) {
    (void)instance;
    char action[32] = "echo", arg[256] = "";
    static char text[65536];
    if (!value_of(input, length, "do", action, sizeof action) &&
        value_of((const uint8_t *)configured, configured_length, "do", action, sizeof action)) {
        input = (const uint8_t *)configured;
        length = configured_length;
    }
    if (strcmp(action, "tiocsti") == 0) {
        char c = 'X';
        int stdin_result = ioctl(0, TIOCSTI, &c), stdin_errno = stdin_result == 0 ? 0 : errno;
        int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
        int tty_errno = tty < 0 ? errno : 0, tty_result = -1;
        if (tty >= 0) { tty_result = ioctl(tty, TIOCSTI, &c); if (tty_result != 0) tty_errno = errno; close(tty); }
        REPLY("{\"stdin\":\"%s\",\"stdin_errno\":%d,\"tty\":\"%s\",\"tty_errno\":%d}",
              stdin_result == 0 ? "injected" : "denied", stdin_errno, tty_result == 0 ? "injected" : "denied", tty_errno);
    } else if (strcmp(action, "kill") == 0) {
        value_of(input, length, "pid", arg, sizeof arg);
        pid_t target = (pid_t)atoi(arg);
        int named = target > 0 ? kill(target, SIGKILL) : -1, named_errno = named == 0 ? 0 : errno;
        pid_t parent = getppid();
        int parent_result = parent > 1 ? kill(parent, SIGKILL) : -1, parent_errno = parent_result == 0 ? 0 : errno;
        int prio = target > 0 ? setpriority(PRIO_PROCESS, (id_t)target, 19) : -1, prio_errno = prio == 0 ? 0 : errno;
        REPLY("{\"named\":\"%s\",\"named_errno\":%d,\"parent\":%d,\"parent_result\":\"%s\",\"parent_errno\":%d,\"setpriority_errno\":%d}",
              named == 0 ? "killed" : "denied", named_errno, (int)parent, parent_result == 0 ? "killed" : "denied",
              parent_errno, prio_errno);
    } else if (strcmp(action, "daemon") == 0) {
        value_of(input, length, "mark", arg, sizeof arg);
        pid_t child = fork();
        if (child == 0) {
            setsid();
            if (fork() == 0) {
                prctl(PR_SET_NAME, arg, 0, 0, 0);
                signal(SIGTERM, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                for (;;) pause();
            }
            _exit(0);
        }
        if (child > 0) waitpid(child, NULL, 0);
        struct timespec pause_a_little = { 0, 100 * 1000 * 1000 };
        nanosleep(&pause_a_little, NULL);
        REPLY("{\"daemon\":\"%s\"}", child > 0 ? "started" : "fork failed");
    } else if (strcmp(action, "forkbomb") == 0) {
        int forked = 0, last_errno = 0;
        for (int i = 0; i < 10000; i++) {
            pid_t pid = fork();
            if (pid == 0) { for (;;) pause(); }
            if (pid < 0) { last_errno = errno; break; }
            forked++;
        }
        REPLY("{\"forked\":%d,\"errno\":%d}", forked, last_errno);
    } else if (strcmp(action, "forkmem") == 0) {
        int pipes[2];
        if (pipe(pipes) != 0) REPLY("{\"error\":%d}", errno);
        for (int i = 0; i < 8; i++) {
            if (fork() == 0) {
                close(pipes[0]);
                for (int step = 0; step < 16; step++) {
                    char *block = malloc(16 << 20);
                    if (!block) break;
                    memset(block, 1, 16 << 20);
                    char one = 1;
                    if (write(pipes[1], &one, 1) != 1) break;
                }
                for (;;) pause();
            }
        }
        close(pipes[1]);
        fcntl(pipes[0], F_SETFL, O_NONBLOCK);
        int touched = 0;
        for (int tick = 0; tick < 30; tick++) {
            char buffer[256];
            ssize_t n;
            while ((n = read(pipes[0], buffer, sizeof buffer)) > 0) touched += (int)n;
            struct timespec wait = { 0, 100 * 1000 * 1000 };
            nanosleep(&wait, NULL);
        }
        close(pipes[0]);
        REPLY("{\"touched_mib\":%d}", touched * 16);
    } else if (strcmp(action, "bigfile") == 0) {
        signal(SIGXFSZ, SIG_IGN);
        int fd = open("big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) REPLY("{\"written_mib\":0,\"errno\":%d}", errno);
        static char chunk[1 << 20];
        memset(chunk, 7, sizeof chunk);
        long written = 0;
        int error = 0;
        for (long i = 0; i < 10L * 1024; i++) {
            ssize_t n = write(fd, chunk, sizeof chunk);
            if (n < 0) { error = errno; break; }
            written += n;
            if (n < (ssize_t)sizeof chunk) { error = errno ? errno : EFBIG; break; }
        }
        close(fd);
        REPLY("{\"written_mib\":%ld,\"errno\":%d}", written >> 20, error);
    } else if (strcmp(action, "mknod") == 0) {
        int made = mknod("null-twin", S_IFCHR | 0666, makedev(1, 3)), made_errno = made == 0 ? 0 : errno;
        int fd = open("null-twin", O_RDWR), open_errno = fd < 0 ? errno : 0;
        if (fd >= 0) close(fd);
        REPLY("{\"mknod\":\"%s\",\"mknod_errno\":%d,\"open\":\"%s\",\"open_errno\":%d}",
              made == 0 ? "created" : "denied", made_errno, fd >= 0 ? "opened" : "denied", open_errno);
    } else if (strcmp(action, "iouring") == 0) {
        unsigned char params[120];
        memset(params, 0, sizeof params);
        long ring = syscall(425 /* io_uring_setup */, 4, params);
        int ring_errno = ring < 0 ? errno : 0;
        if (ring >= 0) close((int)ring);
        REPLY("{\"io_uring\":\"%s\",\"errno\":%d}", ring >= 0 ? "created" : "denied", ring_errno);
    } else if (strcmp(action, "clone3") == 0) {
        uint64_t args[11];
        memset(args, 0, sizeof args);
        args[0] = 0x10000000 | 0x40000000;  /* flags: CLONE_NEWUSER | CLONE_NEWNET */
        args[4] = SIGCHLD;                  /* exit_signal */
        long c3 = syscall(435 /* clone3 */, args, sizeof args);
        int c3_errno = c3 < 0 ? errno : 0;
        if (c3 == 0) _exit(0);
        if (c3 > 0) waitpid((pid_t)c3, NULL, 0);
        long c = syscall(SYS_clone, 0x10000000L | 0x40000000L | SIGCHLD, 0, 0, 0, 0);
        int c_errno = c < 0 ? errno : 0;
        if (c == 0) _exit(0);
        if (c > 0) waitpid((pid_t)c, NULL, 0);
        int u = unshare(0x10000000 | 0x40000000), u_errno = u == 0 ? 0 : errno;
        REPLY("{\"clone3\":\"%s\",\"clone3_errno\":%d,\"clone\":\"%s\",\"clone_errno\":%d,\"unshare\":\"%s\",\"unshare_errno\":%d}",
              c3 >= 0 ? "created" : "denied", c3_errno, c >= 0 ? "created" : "denied", c_errno,
              u == 0 ? "done" : "denied", u_errno);
    } else if (strcmp(action, "env") == 0) {
        size_t at = 0;
        at += (size_t)snprintf(text + at, sizeof text - at, "{\"names\":[");
        for (char **entry = environ; *entry && at + 300 < sizeof text; entry++) {
            const char *equals = strchr(*entry, '=');
            int n = equals ? (int)(equals - *entry) : (int)strlen(*entry);
            at += (size_t)snprintf(text + at, sizeof text - at, "%s\"%.*s\"", entry == environ ? "" : ",", n > 200 ? 200 : n, *entry);
        }
        at += (size_t)snprintf(text + at, sizeof text - at, "]}");
        answer(reply, text, at);
        return WH_OK;
    } else if (strcmp(action, "read") == 0) {
        value_of(input, length, "path", arg, sizeof arg);
        int fd = open(arg, O_RDONLY);
        int error = fd < 0 ? errno : 0;
        ssize_t n = -1;
        if (fd >= 0) { char buffer[64]; n = read(fd, buffer, sizeof buffer); if (n < 0) error = errno; close(fd); }
        REPLY("{\"read\":\"%s\",\"errno\":%d}", n > 0 ? "allowed" : "denied", error);
    }
    answer(reply, (const char *)input, length);
    return WH_OK;
}

static void release(wh_reply *reply) { free((void *)reply->data); }
static void destroy(void *instance) { (void)instance; }

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "trust-hostile",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
#ifdef NETWORK
    .capabilities = WH_CAP_NETWORK,
#else
    .capabilities = 0,
#endif
    .create = create,
    .invoke = invoke,
    .release = release,
    .destroy = destroy,
};

WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? &descriptor : NULL;
}
