/* Small C helpers for what Swift cannot import directly. Header-only: inline functions
 * need no .c file, so the target links nothing of its own. */
#ifndef WAVEHOST_SHIMS_H
#define WAVEHOST_SHIMS_H

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Bytes of heap currently allocated by malloc, across all arenas. */
static inline size_t wh_shim_heap_in_use(void) {
    return mallinfo2().uordblks;
}

/* Keeps the calling thread to `cpu`, and the threads and processes it starts from now
 * on. The former mask goes to `saved` for wh_shim_restore_cpus. Returns 0 or -errno. */
static inline int wh_shim_keep_to_cpu(int cpu, unsigned char saved[128]) {
    if (cpu < 0 || cpu >= 1024) return -EINVAL;
    if (syscall(SYS_sched_getaffinity, 0, 128, saved) < 0) return -errno;
    unsigned char one[128];
    memset(one, 0, sizeof one);
    one[cpu / 8] = (unsigned char)(1u << (cpu % 8));
    return syscall(SYS_sched_setaffinity, 0, sizeof one, one) == 0 ? 0 : -errno;
}

/* The same for the CPU it runs on (tools/bench: hand-offs measured without the cost of
 * waking another CPU). Returns the CPU or -errno. */
static inline int wh_shim_keep_to_this_cpu(unsigned char saved[128]) {
    unsigned cpu = 0;
    if (syscall(SYS_getcpu, &cpu, NULL, NULL) != 0) return -errno;
    int kept = wh_shim_keep_to_cpu((int)cpu, saved);
    return kept != 0 ? kept : (int)cpu;
}

static inline void wh_shim_restore_cpus(const unsigned char saved[128]) {
    syscall(SYS_sched_setaffinity, 0, 128, saved);
}

#endif
