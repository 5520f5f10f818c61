/* The worker zygote: a wavehost-worker that has done its exec, dynamic linking and Swift
 * runtime start once, and forks a new worker for each request of the host. A cold start
 * then skips the ~3 ms those cost (docs/sandbox.md, "Cold start").
 *
 * The zygote is the host's own code and nothing else: it never loads a plugin, applies no
 * layer and holds nothing of any worker's but the request it is serving, wiped after the
 * fork. Each child is created with CLONE_PARENT, so it is the host's child, exactly as a
 * spawned worker is (the host waits for it, kills it, reads its exit status), and then
 * applies every sandbox layer itself, as after an exec.
 *
 * Keep the zygote free of Synchronization's Mutex before it forks: Mutex caches each thread's
 * TID on its first lock, and a forked child's main thread would keep the zygote's (the
 * worker's own forks into its PID namespace have the same rule).
 *
 * A request is one SOCK_SEQPACKET message: u32 argc, u32 envc, u32 mapped, i32 targets[mapped],
 * then argc + envc NUL-terminated strings; SCM_RIGHTS carries `mapped` descriptors, each
 * put onto its target in the child. The answer is an i32: the child's pid, or -errno. */
#ifndef WAVEHOST_ZYGOTE_H
#define WAVEHOST_ZYGOTE_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wavehost_sandbox.h"

enum { WH_ZYGOTE_REQUEST_BYTES = 1 << 17, WH_ZYGOTE_DESCRIPTORS = 4, WH_ZYGOTE_ARGUMENTS = 4096 };
#define WH_CLONE_PARENT 0x00008000

/* The request being served, in static storage so nothing of it lingers on a heap (inside
 * functions: Swift's importer emits a header's functions, not its variables). */
static inline char *wh_zygote_request_buffer(void) { static char request[WH_ZYGOTE_REQUEST_BYTES]; return request; }
static inline char **wh_zygote_arguments(void) { static char *argv[WH_ZYGOTE_ARGUMENTS]; return argv; }
#define wh_zygote_request (wh_zygote_request_buffer())
#define wh_zygote_argv (wh_zygote_arguments())

/* Threads other than the caller's: fork copies only the caller, so a zygote must have none. */
static inline int wh_zygote_other_threads(void) {
    DIR *tasks = opendir("/proc/self/task");
    if (!tasks) return -1;
    int count = 0;
    for (struct dirent *entry; (entry = readdir(tasks)) != NULL;) if (entry->d_name[0] != '.') count++;
    closedir(tasks);
    return count - 1;
}

/* The child's arguments (Swift does not index a C array of this size). */
static inline const char *wh_zygote_argument(int index) { return wh_zygote_argv[index]; }

static inline uint32_t wh_zygote_u32(const char *at) { uint32_t value; memcpy(&value, at, 4); return value; }

/* In the child: the received descriptors onto their targets (through high numbers, so a
 * target never meets a descriptor still to be moved), every other closed later by the
 * worker's first layer; the environment replaced; argv pointed into the request. */
static inline int wh_zygote_become(ssize_t length, int control, const int *fds, int count, int *argc_out) {
    uint32_t argc = wh_zygote_u32(wh_zygote_request), envc = wh_zygote_u32(wh_zygote_request + 4);
    uint32_t mapped = wh_zygote_u32(wh_zygote_request + 8);
    size_t offset = 12 + 4 * (size_t)mapped;
    if ((int)mapped != count || offset > (size_t)length || argc == 0 || argc + envc >= WH_ZYGOTE_ARGUMENTS) return -EINVAL;
    int high[WH_ZYGOTE_DESCRIPTORS];
    for (int i = 0; i < count; i++) if ((high[i] = fcntl(fds[i], F_DUPFD, 100)) < 0) return -errno;
    if (control >= 0) close(control);
    for (int i = 0; i < count; i++) {
        int32_t target;
        memcpy(&target, wh_zygote_request + 12 + 4 * i, 4);
        if (dup2(high[i], target) < 0) return -errno;
        close(high[i]);
        close(fds[i]);
    }
    char *cursor = wh_zygote_request + offset, *end = wh_zygote_request + length;
    if (clearenv() != 0) return -ENOMEM;
    for (uint32_t i = 0; i < argc + envc; i++) {
        char *nul = memchr(cursor, 0, (size_t)(end - cursor));
        if (!nul) return -EINVAL;
        if (i < argc) wh_zygote_argv[i] = cursor;
        else if (putenv(cursor) != 0) return -ENOMEM;
        cursor = nul + 1;
    }
    wh_zygote_argv[argc] = NULL;
    *argc_out = (int)argc;
    return 0;
}

/* Overwrites this process's command line (what ps and /proc/PID/cmdline show) with
 * argv, within the `room` bytes at `start` the exec gave it: the zygote starts with a
 * padded one, measured before its first rewrite (which shortens its strings). */
static inline void wh_zygote_retitle(char *start, size_t room, char *const *argv) {
    if (room == 0) return;
    size_t used = 0;
    memset(start, 0, room);
    for (int i = 0; argv[i] && used < room; i++) {
        size_t length = strlen(argv[i]) + 1;
        if (used + length > room) length = room - used;
        memcpy(start + used, argv[i], length);
        used += length;
    }
    start[room - 1] = 0;
}

/* A sanitizer's runtime (ThreadSanitizer, AddressSanitizer) keeps state that a fork it
 * did not see, a raw clone, leaves inconsistent: an instrumented worker is spawned instead. */
static inline int wh_zygote_sanitized(void) {
    return dlsym((void *)0 /* RTLD_DEFAULT */, "__tsan_init") != NULL || dlsym((void *)0, "__asan_init") != NULL;
}

/* Serves the host on `control` (fd 3). Returns only in a child, 0, with its argument
 * count (wh_zygote_argv holds them); the zygote itself exits when the host closes the
 * socket. Returns -errno at once when it cannot serve (another thread exists, or a
 * sanitizer's runtime), after telling the host so. */
static inline int wh_zygote_serve(int control, char **original, int original_count, int *argc_out) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -errno;
    /* Only what the host gave on purpose: a descriptor it leaked would stay open in every child until its first layer. */
    wh_sandbox_close_from(control + 1);
    if (wh_zygote_other_threads() != 0 || wh_zygote_sanitized()) {
        int32_t refusal = -ENOTSUP;
        ssize_t ignored = send(control, &refusal, sizeof refusal, MSG_NOSIGNAL);
        (void)ignored;
        return -ENOTSUP;
    }
    char *title_start = original_count > 0 ? original[0] : NULL;
    size_t room = original_count > 0
        ? (size_t)(original[original_count - 1] + strlen(original[original_count - 1]) + 1 - title_start) : 0;
    char *title[] = {"wavehost-worker", "zygote", NULL};
    wh_zygote_retitle(title_start, room, title);
    int32_t hello = 0;
    if (send(control, &hello, sizeof hello, MSG_NOSIGNAL) != sizeof hello) _exit(0);
    for (;;) {
        union { char bytes[CMSG_SPACE(sizeof(int) * WH_ZYGOTE_DESCRIPTORS)]; struct cmsghdr align; } ancillary;
        struct iovec vector = { wh_zygote_request, WH_ZYGOTE_REQUEST_BYTES };
        struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1,
                                  .msg_control = ancillary.bytes, .msg_controllen = sizeof ancillary.bytes };
        ssize_t length = recvmsg(control, &message, MSG_CMSG_CLOEXEC);
        if (length == 0) _exit(0);  /* the host is gone */
        if (length < 0) { if (errno == EINTR) continue; _exit(1); }
        int fds[WH_ZYGOTE_DESCRIPTORS], count = 0;
        for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
            if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
            int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
                if (count < WH_ZYGOTE_DESCRIPTORS) fds[count++] = fd; else close(fd);
            }
        }
        int32_t answer;
        if (length < 12 || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            answer = -E2BIG;
        } else {
            pid_t child = (pid_t)syscall(SYS_clone, WH_CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
            if (child == 0) {
                int became = wh_zygote_become(length, control, fds, count, argc_out);
                if (became != 0) _exit(125);
                setsid();  /* as the host's spawn does: no controlling terminal, a process group of its own */
                wh_zygote_retitle(title_start, room, wh_zygote_argv);
                return 0;
            }
            answer = child < 0 ? -errno : child;
        }
        for (int i = 0; i < count; i++) close(fds[i]);
        explicit_bzero(wh_zygote_request, (size_t)length);
        if (send(control, &answer, sizeof answer, MSG_NOSIGNAL) != sizeof answer) _exit(0);
    }
}

/* The host's side: sends one request with its descriptors; returns what sendmsg returns. */
static inline ssize_t wh_zygote_send(int control, const void *bytes, size_t length, const int *fds, int count) {
    if (count < 0 || count > WH_ZYGOTE_DESCRIPTORS) { errno = EINVAL; return -1; }
    union { char bytes[CMSG_SPACE(sizeof(int) * WH_ZYGOTE_DESCRIPTORS)]; struct cmsghdr align; } ancillary;
    memset(&ancillary, 0, sizeof ancillary);
    struct iovec vector = { (void *)bytes, length };
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (count > 0) {
        message.msg_control = ancillary.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do sent = sendmsg(control, &message, MSG_NOSIGNAL); while (sent < 0 && errno == EINTR);
    return sent;
}

#endif
