/* Small C helpers for what Swift cannot import directly. Header-only: inline functions
 * need no .c file, so the target links nothing of its own. */
#ifndef WAVEHOST_SHIMS_H
#define WAVEHOST_SHIMS_H

#include <malloc.h>
#include <stddef.h>

/* Bytes of heap currently allocated by malloc, across all arenas. */
static inline size_t wh_shim_heap_in_use(void) {
    return mallinfo2().uordblks;
}

#endif
