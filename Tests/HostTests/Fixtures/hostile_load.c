/*
 * hostile_load.c: a valid actor (misbehaving_actor.c: its output is its input) whose
 * code runs when the library is loaded or unloaded, before any call. The trust tests
 * compile it with one -D<FAULT>:
 *   CTOR_HANG    a constructor that never returns
 *   CTOR_WRITE   a constructor that creates MARKER_PATH (a -DMARKER_PATH="..." string)
 *                and writes into it: where the file appears is where the code ran
 *   CTOR_CRASH   a constructor that writes through a NULL pointer (SIGSEGV)
 *   DTOR_CRASH   a destructor that does the same when the library is unloaded or the
 *                process exits
 * With ACTOR_NAME="..." (from misbehaving_actor.c) each build gets a name of its own.
 */
#define _GNU_SOURCE
#include "misbehaving_actor.c"
#include <fcntl.h>
#include <unistd.h>

#if defined(CTOR_HANG) + defined(CTOR_WRITE) + defined(CTOR_CRASH) + defined(DTOR_CRASH) != 1
#error "define exactly one of CTOR_HANG, CTOR_WRITE, CTOR_CRASH, DTOR_CRASH"
#endif

__attribute__((unused)) static void crash(void) {
    volatile int *nowhere = NULL;
    *nowhere = 1;
}

#if defined(CTOR_HANG)
__attribute__((constructor)) static void hang_on_load(void) {
    for (;;) pause();
}
#elif defined(CTOR_WRITE)
__attribute__((constructor)) static void write_on_load(void) {
    int fd = open(MARKER_PATH, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        static const char text[] = "this code ran here\n";
        ssize_t written = write(fd, text, sizeof text - 1);
        (void)written;
        close(fd);
    }
}
#elif defined(CTOR_CRASH)
__attribute__((constructor)) static void crash_on_load(void) { crash(); }
#elif defined(DTOR_CRASH)
__attribute__((destructor)) static void crash_on_unload(void) { crash(); }
#endif
