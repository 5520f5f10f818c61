/* Sandbox layers for wavehost-worker, as small C functions: Swift cannot call the
 * variadic prctl, build BPF programs comfortably, or see unshare/landlock without
 * _GNU_SOURCE. Each returns 0 on success or -errno, so the worker can report which
 * layers this machine supports and keep the others. */
#ifndef WAVEHOST_SANDBOX_H
#define WAVEHOST_SANDBOX_H

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Without _GNU_SOURCE (SwiftPM does not define it) these are hidden; older kernel
 * headers lack the newer Landlock right. The values are the kernel's ABI. */
#define WH_CLONE_NEWNET 0x40000000
#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
extern long syscall(long number, ...);
extern int pipe2(int fds[2], int flags);

/* A child that gains no privileges through exec (setuid binaries, file caps). */
static inline int wh_sandbox_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

/* The worker dies with its host, so a killed host leaves no orphans. */
static inline int wh_sandbox_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 ? 0 : -errno;
}

/* A new, empty network namespace: no interface but a down loopback. Needs root
 * (or a user namespace) and must come before the syscall filter, which denies unshare. */
static inline int wh_sandbox_unshare_network(void) {
    return syscall(SYS_unshare, WH_CLONE_NEWNET) == 0 ? 0 : -errno;
}

/* A seccomp filter that fails (EPERM) the syscalls an actor never needs, and socket()
 * too unless the actor declared the network capability. Everything else is allowed:
 * the filter removes reach, it does not try to enumerate what a plugin may do. */
static inline int wh_sandbox_filter_syscalls(int allow_network) {
#if defined(__x86_64__)
#define WH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef WH_AUDIT_ARCH
    static const long denied[] = {
        SYS_ptrace, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_unshare, SYS_setns,
        SYS_kexec_load, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_reboot,
        SYS_swapon, SYS_swapoff, SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key,
        SYS_request_key, SYS_userfaultfd, SYS_open_by_handle_at, SYS_process_vm_writev,
    };
    enum { denied_count = sizeof denied / sizeof denied[0] };
    struct sock_filter program[8 + denied_count + 2];
    unsigned n = 0;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WH_AUDIT_ARCH, 1, 0);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    /* x32 syscalls alias the x86_64 numbers with bit 30 set: refuse them all. */
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
#endif
    unsigned deny_count = denied_count + (allow_network ? 0 : 1);
    for (unsigned i = 0; i < deny_count; i++) {
        long nr = i < denied_count ? denied[i] : SYS_socket;
        /* Jump to the deny return just past the allow return at the end. */
        unsigned remaining = deny_count - i - 1;
        program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, (uint8_t)(remaining + 1), 0);
    }
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    struct sock_fprog filter = { .len = (unsigned short)n, .filter = program };
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) == 0 ? 0 : -errno;
#else
    (void)allow_network;
    return -ENOSYS;
#endif
}

/* Landlock: the process may read anywhere it could before, but may create, write,
 * truncate, rename or remove files only beneath `scratch` (and write /dev/null).
 * Returns the Landlock ABI version used (> 0), or -errno. */
static inline int wh_sandbox_writes_only_beneath(const char *scratch) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) return -errno;
    uint64_t writes = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
        LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
        LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
        LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2) writes |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
    struct landlock_ruleset_attr attributes = { .handled_access_fs = writes };
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attributes, sizeof attributes, 0);
    if (ruleset < 0) return -errno;
    int result = 0;
    struct { const char *path; uint64_t access; } allowed[2] = {
        { scratch, writes },
        { "/dev/null", LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0) },
    };
    for (unsigned i = 0; i < 2 && result == 0; i++) {
        int fd = open(allowed[i].path, O_PATH | O_CLOEXEC);
        if (fd < 0) { result = -errno; break; }
        struct landlock_path_beneath_attr rule = { .allowed_access = allowed[i].access, .parent_fd = fd };
        if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) result = -errno;
        close(fd);
    }
    /* restrict_self needs no_new_privs (or CAP_SYS_ADMIN); set it here so the order of layers does not matter. */
    if (result == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) result = -errno;
    if (result == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) result = -errno;
    close(ruleset);
    return result < 0 ? result : (int)abi;
}

/* A pipe whose ends are close-on-exec from the start (no window for a concurrent spawn). */
static inline int wh_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

/* waitpid status decoding (macros Swift cannot import). */
static inline int wh_wait_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
static inline int wh_wait_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

#endif
