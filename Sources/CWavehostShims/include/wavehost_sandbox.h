/* Sandbox layers for wavehost-worker, as small C functions: Swift cannot call the
 * variadic prctl, build BPF programs comfortably, or see unshare/landlock without
 * _GNU_SOURCE. Each returns 0 (or a positive fact) on success or -errno, so the worker
 * can report which layers this machine supports; the host refuses what is missing
 * unless the operator accepted the weaker sandbox (see docs/sandbox.md). */
#ifndef WAVEHOST_SANDBOX_H
#define WAVEHOST_SANDBOX_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Without _GNU_SOURCE (SwiftPM does not define it) these are hidden; older kernel
 * headers lack the newer Landlock fields. The values are the kernel's ABI. */
#define WH_CLONE_NEWNS     0x00020000
#define WH_CLONE_NEWCGROUP 0x02000000
#define WH_CLONE_NEWUTS    0x04000000
#define WH_CLONE_NEWIPC    0x08000000
#define WH_CLONE_NEWUSER   0x10000000
#define WH_CLONE_NEWPID    0x20000000
#define WH_CLONE_NEWNET    0x40000000
#define WH_CLONE_NAMESPACES (WH_CLONE_NEWNS | WH_CLONE_NEWCGROUP | WH_CLONE_NEWUTS | WH_CLONE_NEWIPC | \
                             WH_CLONE_NEWUSER | WH_CLONE_NEWPID | WH_CLONE_NEWNET)
#ifndef O_PATH
#define O_PATH 010000000
#endif
#define WH_LL_EXECUTE     (1ULL << 0)
#define WH_LL_WRITE_FILE  (1ULL << 1)
#define WH_LL_READ_FILE   (1ULL << 2)
#define WH_LL_READ_DIR    (1ULL << 3)
#define WH_LL_REMOVE_DIR  (1ULL << 4)
#define WH_LL_REMOVE_FILE (1ULL << 5)
#define WH_LL_MAKE_CHAR   (1ULL << 6)
#define WH_LL_MAKE_DIR    (1ULL << 7)
#define WH_LL_MAKE_REG    (1ULL << 8)
#define WH_LL_MAKE_SOCK   (1ULL << 9)
#define WH_LL_MAKE_FIFO   (1ULL << 10)
#define WH_LL_MAKE_BLOCK  (1ULL << 11)
#define WH_LL_MAKE_SYM    (1ULL << 12)
#define WH_LL_REFER       (1ULL << 13)
#define WH_LL_TRUNCATE    (1ULL << 14)
#define WH_LL_IOCTL_DEV   (1ULL << 15)
#define WH_LL_FILE_RIGHTS (WH_LL_EXECUTE | WH_LL_WRITE_FILE | WH_LL_READ_FILE | WH_LL_TRUNCATE | WH_LL_IOCTL_DEV)
#define WH_LL_NET_BIND_TCP    (1ULL << 0)
#define WH_LL_NET_CONNECT_TCP (1ULL << 1)
#define WH_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define WH_LL_SCOPE_SIGNAL               (1ULL << 1)
#define WH_LL_CREATE_RULESET_VERSION (1U << 0)
#define WH_LL_RULE_PATH_BENEATH 1
#define WH_TIOCSTI   0x5412
#define WH_TIOCLINUX 0x541C
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

struct wh_landlock_ruleset_attr { uint64_t handled_access_fs, handled_access_net, scoped; };
struct wh_landlock_path_beneath_attr { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed));

extern long syscall(long number, ...);
extern int pipe2(int fds[2], int flags);

/* A child that gains no privileges through exec (setuid binaries, file caps). */
static inline int wh_sandbox_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

/* The worker dies with its parent, so a killed host leaves no orphans. */
static inline int wh_sandbox_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 ? 0 : -errno;
}

/* Closes every descriptor from `first` up: the worker keeps only what the host gave it
 * on purpose (the wire on 3, stderr; stdin/stdout for a script). */
static inline int wh_sandbox_close_from(int first) {
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return 0;
    for (int fd = first; fd < 65536; fd++) close(fd);
    return 0;
}

static inline int wh_write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int error = n < 0 ? -errno : 0;
    close(fd);
    return error;
}

/* A user namespace in which this (unprivileged) process keeps its own uid and gid:
 * the other namespaces then need no privilege on the machine. */
static inline int wh_sandbox_user_namespace(void) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (syscall(SYS_unshare, WH_CLONE_NEWUSER) != 0) return -errno;
    char map[64];
    int error = wh_write_file("/proc/self/setgroups", "deny");
    if (error == 0) { snprintf(map, sizeof map, "%u %u 1\n", uid, uid); error = wh_write_file("/proc/self/uid_map", map); }
    if (error == 0) { snprintf(map, sizeof map, "%u %u 1\n", gid, gid); error = wh_write_file("/proc/self/gid_map", map); }
    return error;
}

static inline int wh_sandbox_unshare(int flags) {
    return syscall(SYS_unshare, flags) == 0 ? 0 : -errno;
}

/* After unshare(CLONE_NEWPID): builds the worker's tree and returns 0 in the process
 * that goes on (the server, or the script once it execs), or -errno.
 *
 *   proxy (outside, the pid the host knows) → init (PID 1 of the namespace) → server (PID 2)
 *
 * The proxy holds nothing (every descriptor closed but a status pipe): it waits for the
 * init and ends as the server ended (same exit status or signal, passed up the pipe).
 * The init only waits for the server, then exits, and the death of a namespace's init
 * kills everything in it. Each has a death signal on its parent, so killing the proxy
 * (the host's SIGKILL at a deadline) kills the namespace. The server is a child
 * subreaper in a session of its own: whatever the actor forks, even twice after setsid,
 * stays its descendant, so ``wh_sandbox_reap_all`` can kill and reap it after each call.
 * The actor is never PID 1, whose default signal actions the kernel ignores (abort()
 * would not end it). */
static inline int wh_sandbox_become_init(void) {
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
    pid_t init = fork();
    if (init < 0) { int e = -errno; close(status_pipe[0]); close(status_pipe[1]); return e; }
    if (init == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(125);
        pid_t server = fork();
        if (server < 0) _exit(125);
        if (server == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(125);
            close(status_pipe[0]);
            close(status_pipe[1]);
            setsid();  /* a session of its own: kill(0, …) inside reaches only its tree */
            prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            return 0;
        }
        close(status_pipe[0]);
        int keep = status_pipe[1];
        for (int fd = 0; fd < keep; fd++) close(fd);
        wh_sandbox_close_from(keep + 1);
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, 0);
            if (pid == server) {
                ssize_t ignored = write(keep, &status, sizeof status);
                (void)ignored;
                _exit(0);
            }
            if (pid < 0 && errno != EINTR) _exit(125);
        }
    }
    close(status_pipe[1]);
    int keep = status_pipe[0];
    for (int fd = 0; fd < keep; fd++) close(fd);
    wh_sandbox_close_from(keep + 1);
    int status = 0, init_status = 0;
    while (waitpid(init, &init_status, 0) < 0) {
        if (errno != EINTR) _exit(125);
    }
    if (read(keep, &status, sizeof status) != (ssize_t)sizeof status) status = init_status;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        struct rlimit none = { 0, 0 };
        setrlimit(RLIMIT_CORE, &none);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

/* From the server (PID 2, a child subreaper): kills every other process of its tree
 * (kill(-1) spares only the init and the caller) and reaps them all. Returns how many
 * were reaped, or -ESRCH outside a worker's namespace (nothing is killed then). */
static inline int wh_sandbox_reap_all(void) {
    static pid_t self;  /* the server's pid never changes: ask once, not once per call */
    if (self == 0) self = getpid();
    if (self != 2) return -ESRCH;
    /* Every descendant is a child or has a living ancestor that is one (orphans come back
     * to this subreaper): no child at all means nothing to kill, at one system call. */
    siginfo_t child;
    if (waitid(P_ALL, 0, &child, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 && errno == ECHILD) return 0;
    kill(-1, SIGKILL);
    int reaped = 0;
    for (;;) {
        pid_t pid = waitpid(-1, NULL, __WALL);
        if (pid > 0) { reaped++; continue; }
        if (errno == EINTR) continue;
        break;  /* ECHILD: nothing left */
    }
    return reaped;
}

/* As root: a cgroup v1 group `name` below wavehost/ in the memory and pids hierarchies,
 * bounded to `memory_bytes` and `processes`, which this process joins (its children
 * inherit it). Returns 0 when both hold, -errno of the first that failed. */
static inline int wh_sandbox_join_cgroup(const char *name, uint64_t memory_bytes, uint64_t processes) {
    static const char *const roots[2] = { "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids" };
    char path[512], value[32];
    for (int i = 0; i < 2; i++) {
        struct stat info;
        if (stat(roots[i], &info) != 0) return -ENOENT;
        snprintf(path, sizeof path, "%s/wavehost", roots[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -errno;
        snprintf(path, sizeof path, "%s/wavehost/%s", roots[i], name);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -errno;
        int error;
        if (i == 0) {
            snprintf(path, sizeof path, "%s/wavehost/%s/memory.limit_in_bytes", roots[i], name);
            snprintf(value, sizeof value, "%llu", (unsigned long long)memory_bytes);
            if ((error = wh_write_file(path, value)) != 0) return error;
            /* Swap would let the tree exceed its bound unseen: cap memory+swap too where offered. */
            snprintf(path, sizeof path, "%s/wavehost/%s/memory.memsw.limit_in_bytes", roots[i], name);
            wh_write_file(path, value);
        } else {
            snprintf(path, sizeof path, "%s/wavehost/%s/pids.max", roots[i], name);
            snprintf(value, sizeof value, "%llu", (unsigned long long)processes);
            if ((error = wh_write_file(path, value)) != 0) return error;
        }
        snprintf(path, sizeof path, "%s/wavehost/%s/cgroup.procs", roots[i], name);
        snprintf(value, sizeof value, "%d", getpid());
        if ((error = wh_write_file(path, value)) != 0) return error;
    }
    return 0;
}

/* As root: become `uid`/`gid` with no supplementary groups. */
static inline int wh_sandbox_drop_identity(uid_t uid, gid_t gid) {
    if (setgroups(0, NULL) != 0) return -errno;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) return -errno;
    if (syscall(SYS_setresuid, uid, uid, uid) != 0) return -errno;
    if (getuid() != uid || geteuid() != uid || getgid() != gid) return -EPERM;
    /* A change of credentials clears the death signal: arm it again (the parent is the init). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -errno;
    if (getppid() != 1) _exit(125);  /* the init is already gone */
    return 0;
}

/* Empties the bounding set (needs CAP_SETPCAP: call before dropping identity), the
 * ambient set, and the effective, permitted and inheritable sets. Returns 0 once a
 * capget shows none left. */
static inline int wh_sandbox_drop_bounding_set(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  /* past the last capability */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
    }
    return 0;
}

static inline int wh_sandbox_drop_capabilities(void) {
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) return -errno;
    if (syscall(SYS_capget, &header, data) != 0) return -errno;
    for (int i = 0; i < 2; i++)
        if (data[i].effective || data[i].permitted || data[i].inheritable) return -EPERM;
    if (prctl(PR_CAPBSET_READ, 0, 0, 0, 0) == 1) return -EPERM;  /* CAP_CHOWN still bounded */
    return 0;
}

/* ---- Landlock ---- */

static inline int wh_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, WH_LL_CREATE_RULESET_VERSION);
    return abi < 1 ? -errno : (int)abi;
}

static inline int wh_landlock_allow(int ruleset, const char *path, uint64_t access, uint64_t handled) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat info;
    if (fstat(fd, &info) != 0) { int e = -errno; close(fd); return e; }
    access &= handled;
    if (!S_ISDIR(info.st_mode)) access &= WH_LL_FILE_RIGHTS;
    struct wh_landlock_path_beneath_attr rule = { .allowed_access = access, .parent_fd = fd };
    int result = access == 0 ? 0 : (syscall(SYS_landlock_add_rule, ruleset, WH_LL_RULE_PATH_BENEATH, &rule, 0) == 0 ? 0 : -errno);
    close(fd);
    return result;
}

/* Read access to the folder of every file mapped into this process (the Swift runtime
 * beside the toolchain, wherever it is installed), from /proc/self/maps. */
static inline void wh_landlock_mapped_folders(int ruleset, uint64_t handled) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps) return;
    char line[4352], last[4096] = "";
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = 0;
        char *slash = strrchr(path, '/');
        if (!slash || slash == path) continue;
        *slash = 0;
        if (strcmp(path, last) == 0) continue;
        snprintf(last, sizeof last, "%s", path);
        wh_landlock_allow(ruleset, path, WH_LL_READ_FILE | WH_LL_READ_DIR | WH_LL_EXECUTE, handled);
    }
    fclose(maps);
}

/* Landlock, reads included: the process may read and execute only beneath the system
 * folders (libraries, interpreters), the folders of the libraries already mapped (the
 * Swift runtime), a few named files in /etc and /dev, its own /proc entry, `scratch`,
 * and each of `reads` (the actor's own file, what the variant grants); it may write
 * only beneath `scratch` (and /dev/null), never create a device node, and, where the
 * kernel has them, neither connect/bind TCP (without `network`) nor signal or reach
 * abstract sockets outside its own domain.
 * Returns the ABI version used (> 0), or -errno; `*scoped` says whether ABI 6 scoping applied. */
static inline int wh_sandbox_landlock(const char *scratch, const char *const *reads, int read_count,
                                      int network, int *scoped) {
    *scoped = 0;
    int abi = wh_landlock_abi();
    if (abi < 1) return abi;
    uint64_t fs = WH_LL_EXECUTE | WH_LL_WRITE_FILE | WH_LL_READ_FILE | WH_LL_READ_DIR | WH_LL_REMOVE_DIR |
        WH_LL_REMOVE_FILE | WH_LL_MAKE_CHAR | WH_LL_MAKE_DIR | WH_LL_MAKE_REG | WH_LL_MAKE_SOCK |
        WH_LL_MAKE_FIFO | WH_LL_MAKE_BLOCK | WH_LL_MAKE_SYM;
    if (abi >= 2) fs |= WH_LL_REFER;
    if (abi >= 3) fs |= WH_LL_TRUNCATE;
    if (abi >= 5) fs |= WH_LL_IOCTL_DEV;
    struct wh_landlock_ruleset_attr attributes = { .handled_access_fs = fs };
    size_t attributes_size = sizeof(uint64_t);
    if (abi >= 4 && !network) { attributes.handled_access_net = WH_LL_NET_BIND_TCP | WH_LL_NET_CONNECT_TCP; }
    if (abi >= 4) attributes_size = 2 * sizeof(uint64_t);
    if (abi >= 6) {
        attributes.scoped = WH_LL_SCOPE_ABSTRACT_UNIX_SOCKET | WH_LL_SCOPE_SIGNAL;
        attributes_size = sizeof attributes;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attributes, attributes_size, 0);
    if (ruleset < 0) return -errno;
    const uint64_t read = WH_LL_READ_FILE | WH_LL_READ_DIR | WH_LL_EXECUTE;
    static const char *const system_folders[] = {
        "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt/swift",
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
        "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
        "/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/passwd", "/etc/group", "/etc/os-release",
        "/etc/alternatives", "/etc/python3", "/etc/mime.types", "/etc/timezone",
        "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full", "/sys/devices/system/cpu", "/proc/self",
    };
    int result = 0;
    for (size_t i = 0; i < sizeof system_folders / sizeof system_folders[0]; i++) {
        int error = wh_landlock_allow(ruleset, system_folders[i], read, fs);
        if (error != 0 && error != -ENOENT && error != -ENOTDIR && error != -EACCES) { result = error; break; }
    }
    if (result == 0) wh_landlock_mapped_folders(ruleset, fs);
    if (result == 0) result = wh_landlock_allow(ruleset, "/dev/null", WH_LL_READ_FILE | WH_LL_WRITE_FILE | WH_LL_TRUNCATE | WH_LL_IOCTL_DEV, fs);
    if (result == 0) result = wh_landlock_allow(ruleset, scratch, fs & ~(WH_LL_MAKE_CHAR | WH_LL_MAKE_BLOCK | WH_LL_IOCTL_DEV), fs);
    for (int i = 0; result == 0 && i < read_count; i++) {
        result = wh_landlock_allow(ruleset, reads[i], read, fs);
        /* A granted path that does not exist, or that this uid cannot reach, grants nothing. */
        if (result == -ENOENT || result == -EACCES || result == -ENOTDIR) result = 0;
    }
    /* restrict_self needs no_new_privs (or CAP_SYS_ADMIN); set it here so the order of layers does not matter. */
    if (result == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) result = -errno;
    if (result == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) result = -errno;
    close(ruleset);
    if (result == 0 && abi >= 6) *scoped = 1;
    return result < 0 ? result : abi;
}

/* ---- seccomp: an allowlist ---- */

#if defined(__x86_64__)
#define WH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* What the worker, the bundled actors (Swift, C, libcurl), Python and sh need, measured
 * with strace (see docs/sandbox.md). The filter sorts them into ranges.
 * clone, clone3, ioctl and socket are decided on their arguments below; every other
 * system call fails with EPERM. Deliberately absent: io_uring_*, mknod/mknodat, ptrace,
 * bpf, keyctl/add_key/request_key, mount and the new mount API, setns, unshare,
 * sethostname/setdomainname, perf_event_open, userfaultfd, process_vm_*, pidfd_*, kcmp,
 * the set*uid/set*gid family, chroot/pivot_root, module and kexec calls, seccomp. */
static const long wh_allowed_syscalls[] = {
    SYS_read, SYS_write, SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg, SYS_poll, SYS_ppoll,
    SYS_futex, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_brk, SYS_madvise, SYS_mremap, SYS_close,
    SYS_openat, SYS_newfstatat, SYS_fstat, SYS_statx, SYS_lseek, SYS_pread64, SYS_pwrite64, SYS_readv,
    SYS_writev, SYS_getpid, SYS_gettid, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_sched_yield,
    SYS_getrandom, SYS_fcntl, SYS_dup, SYS_dup3, SYS_pipe2, SYS_getdents64, SYS_readlinkat,
    SYS_faccessat, SYS_faccessat2, SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_mkdirat, SYS_unlinkat,
    SYS_renameat, SYS_renameat2, SYS_linkat, SYS_symlinkat, SYS_fchmod, SYS_fchmodat, SYS_fchown,
    SYS_fchownat, SYS_utimensat, SYS_ftruncate, SYS_fallocate, SYS_fsync, SYS_fdatasync, SYS_flock,
    SYS_fadvise64, SYS_sync_file_range, SYS_copy_file_range, SYS_sendfile, SYS_splice, SYS_tee,
    SYS_statfs, SYS_fstatfs, SYS_truncate, SYS_umask, SYS_close_range, SYS_openat2,
    SYS_execve, SYS_execveat, SYS_exit, SYS_exit_group, SYS_wait4, SYS_waitid, SYS_kill, SYS_tgkill,
    SYS_tkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_rt_sigpending, SYS_rt_sigtimedwait,
    SYS_rt_sigsuspend, SYS_set_tid_address, SYS_set_robust_list, SYS_get_robust_list, SYS_rseq,
    SYS_prlimit64, SYS_getrlimit, SYS_setrlimit, SYS_getrusage, SYS_getpriority, SYS_setpriority,
    SYS_sched_getaffinity, SYS_sched_setaffinity, SYS_sched_getparam, SYS_sched_getscheduler,
    SYS_sched_get_priority_max, SYS_sched_get_priority_min, SYS_sched_rr_get_interval, SYS_sched_getattr,
    SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid, SYS_getgroups,
    SYS_getppid, SYS_getpgid, SYS_getsid, SYS_setsid, SYS_setpgid, SYS_capget, SYS_prctl, SYS_uname,
    SYS_sysinfo, SYS_times, SYS_getcpu, SYS_clock_getres, SYS_gettimeofday, SYS_restart_syscall,
    SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_eventfd2, SYS_timerfd_create,
    SYS_timerfd_settime, SYS_timerfd_gettime, SYS_signalfd4, SYS_timer_create, SYS_timer_settime,
    SYS_timer_gettime, SYS_timer_getoverrun, SYS_timer_delete, SYS_setitimer, SYS_getitimer,
    SYS_pselect6, SYS_memfd_create, SYS_membarrier, SYS_mlock, SYS_munlock, SYS_mincore, SYS_msync,
    SYS_get_mempolicy, SYS_getxattr, SYS_lgetxattr, SYS_fgetxattr, SYS_listxattr, SYS_flistxattr,
    SYS_inotify_init1, SYS_inotify_add_watch, SYS_inotify_rm_watch, SYS_socketpair, SYS_connect,
    SYS_bind, SYS_listen, SYS_accept4, SYS_getsockname, SYS_getpeername, SYS_setsockopt,
    SYS_getsockopt, SYS_shutdown, SYS_recvmmsg, SYS_sendmmsg, SYS_futex_waitv, SYS_preadv, SYS_pwritev,
    SYS_preadv2, SYS_pwritev2,
#if defined(__x86_64__)
    SYS_open, SYS_stat, SYS_lstat, SYS_access, SYS_pipe, SYS_dup2, SYS_readlink, SYS_getdents,
    SYS_mkdir, SYS_rmdir, SYS_unlink, SYS_rename, SYS_link, SYS_symlink, SYS_chmod, SYS_chown,
    SYS_lchown, SYS_creat, SYS_utimes, SYS_futimesat, SYS_select, SYS_epoll_wait, SYS_epoll_create,
    SYS_eventfd, SYS_signalfd, SYS_arch_prctl, SYS_time, SYS_alarm, SYS_pause, SYS_getpgrp,
    SYS_fork, SYS_vfork, SYS_accept, SYS_inotify_init,
#endif
};

/* Socket families a granted actor may open: IPv4, IPv6, and route netlink (getaddrinfo). */
#define WH_AF_UNIX 1
#define WH_AF_INET 2
#define WH_AF_INET6 10
#define WH_AF_NETLINK 16

static inline int wh_compare_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static inline int wh_sandbox_filter_syscalls(int allow_network) {
#ifdef WH_AUDIT_ARCH
    enum { allowed_count = sizeof wh_allowed_syscalls / sizeof wh_allowed_syscalls[0] };
    struct sock_filter program[64 + 2 * allowed_count];
    unsigned n = 0;
#define WH_ARG_LOW(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))
#define EMIT(x) (program[n++] = (struct sock_filter)x)
    const uint32_t deny = SECCOMP_RET_ERRNO | EPERM;
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_AUDIT_ARCH, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
    /* x32 syscalls alias the x86_64 numbers with bit 30 set: refuse them all. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
#endif
    /* clone3 hides its flags in memory the filter cannot read: ENOSYS, so libc falls back to clone. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
    /* clone: threads and forks, never a new namespace. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, WH_ARG_LOW(0)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, WH_CLONE_NAMESPACES, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    /* ioctl: anything but pushing input into a terminal (TIOCSTI) or TIOCLINUX. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 5));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, WH_ARG_LOW(1)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_TIOCSTI, 2, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_TIOCLINUX, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
    /* socket: none without a network grant; with one, IPv4, IPv6 and netlink (never AF_UNIX:
     * file-path sockets such as a database's are not the network). */
    if (!allow_network) {
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1));
        EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
    } else {
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 6));
        EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, WH_ARG_LOW(0)));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_AF_INET, 3, 0));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_AF_INET6, 2, 0));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_AF_NETLINK, 1, 0));
        EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
        EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    /* The allowed numbers as ascending ranges (211 numbers make about 50): a syscall walks
     * only the ranges below it. The kernel runs the filter for every syscall number when
     * it is attached (to cache what is always allowed), so its length is start-up time:
     * one comparison per number cost 0.42 ms here. */
    long sorted[allowed_count];
    memcpy(sorted, wh_allowed_syscalls, sizeof sorted);
    qsort(sorted, allowed_count, sizeof sorted[0], wh_compare_long);
    for (unsigned i = 0; i < allowed_count;) {
        unsigned last = i;
        while (last + 1 < allowed_count && sorted[last + 1] <= sorted[last] + 1) last++;
        EMIT(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)sorted[last], 3, 0));  /* above: the next range */
        EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)sorted[i], 0, 1));
        EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
        EMIT(BPF_STMT(BPF_RET | BPF_K, deny));  /* between the previous range and this one */
        i = last + 1;
    }
    EMIT(BPF_STMT(BPF_RET | BPF_K, deny));
#undef EMIT
#undef WH_ARG_LOW
    struct sock_fprog filter = { .len = (unsigned short)n, .filter = program };
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) == 0 ? 0 : -errno;
#else
    (void)allow_network;
    return -ENOSYS;
#endif
}

/* rlimits, as one call: -errno of the first that failed. */
static inline int wh_sandbox_set_limit(int resource, uint64_t value) {
    struct rlimit limit = { (rlim_t)value, (rlim_t)value };
    return setrlimit((__rlimit_resource_t)resource, &limit) == 0 ? 0 : -errno;
}

/* A pipe whose ends are close-on-exec from the start (no window for a concurrent spawn). */
static inline int wh_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

/* waitpid status decoding (macros Swift cannot import). */
static inline int wh_wait_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
static inline int wh_wait_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

/* posix_spawn's new-session flag (glibc ≥ 2.26), hidden without _GNU_SOURCE. */
static inline short wh_spawn_setsid_flag(void) { return 0x80; }

#endif
