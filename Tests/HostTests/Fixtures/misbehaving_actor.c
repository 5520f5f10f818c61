/*
 * misbehaving_actor.c — one source for the test suite's bad plugins.
 *
 * Built as is, it is a minimal valid actor ("misbehaving") that answers its input
 * verbatim. The tests compile it with one -D<FAULT> to get a real plugin with exactly
 * that fault:
 *   WRONG_ABI          speaks versions 2–3 only
 *   NO_ENTRY           exports no wavehost_actor_entry
 *   NULL_NAME          descriptor name is NULL
 *   EMPTY_NAME         descriptor name is ""
 *   TOO_SMALL          struct_size is 8
 *   NULL_INVOKE        invoke is NULL
 *   BAD_CAPS           capability bit 40 set
 *   BAD_KIND           kind 99
 *   VERSION_MISMATCH   answers version 1 with a descriptor saying 7
 *   FAILING_CREATE     create refuses every config, with a message
 *   CRASHING_CREATE    create dereferences NULL
 *   INVALID_OUTPUT     invoke answers `not json {`
 *   NULL_OUTPUT        invoke answers success with no data
 *   LEAKY_RELEASE      release forgets to free
 *   OLD_DESCRIPTOR     built against an older, smaller descriptor (required fields only)
 * ACTOR_NAME and ACTOR_VERSION override the name and version (string literals).
 * misbehaving_outstanding() counts replies handed out and not yet released.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>

#ifndef ACTOR_NAME
#define ACTOR_NAME "misbehaving"
#endif
#ifndef ACTOR_VERSION
#define ACTOR_VERSION "1.0.0"
#endif

/* Some faults leave a piece unused; that is the point, not a warning. */
#define MAYBE_UNUSED __attribute__((unused))

static atomic_int outstanding;

WH_EXPORT int misbehaving_outstanding(void) { return atomic_load(&outstanding); }

/* Hands out a malloc'd copy of `bytes`; release frees it. */
MAYBE_UNUSED static void reply_with(wh_reply *reply, const void *bytes, size_t length) {
    uint8_t *copy = malloc(length ? length : 1);
    if (!copy) return;
    if (length) memcpy(copy, bytes, length);
    reply->data = copy;
    reply->length = length;
    atomic_fetch_add(&outstanding, 1);
}

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)config; (void)config_length; (void)host;
#if defined(FAILING_CREATE)
    static const char message[] = "misbehaving: this build refuses every config";
    reply_with(reply, message, sizeof message - 1);
    return WH_ERR_INVALID_CONFIG;
#elif defined(CRASHING_CREATE)
    volatile int *nowhere = NULL;
    *nowhere = 1;
#endif
    (void)reply;
    *instance = NULL;
    return WH_OK;
}

MAYBE_UNUSED static wh_status invoke(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply) {
    (void)instance;
#if defined(INVALID_OUTPUT)
    (void)input; (void)input_length;
    reply_with(reply, "not json {", 10);
#elif defined(NULL_OUTPUT)
    (void)input; (void)input_length; (void)reply;
#else
    reply_with(reply, input, input_length);
#endif
    return WH_OK;
}

static void release(wh_reply *reply) {
#if !defined(LEAKY_RELEASE)
    free((void *)reply->data);
#endif
    reply->data = NULL;
    atomic_fetch_sub(&outstanding, 1);
}

static void destroy(void *instance) { (void)instance; }

#if defined(OLD_DESCRIPTOR)
/* What a plugin built against an older header has: the required fields only. */
typedef struct old_descriptor {
    uint32_t struct_size;
    uint32_t abi_version;
    const char *name;
    const char *version;
    wh_kind kind;
    uint32_t reserved;
    wh_capabilities capabilities;
    wh_status (*create)(const uint8_t *, size_t, const wh_host_services *, void **, wh_reply *);
    wh_status (*invoke)(void *, const uint8_t *, size_t, wh_reply *);
    void (*release)(wh_reply *);
    void (*destroy)(void *);
} old_descriptor;

MAYBE_UNUSED static const old_descriptor descriptor = {
    sizeof(old_descriptor), 1, ACTOR_NAME, ACTOR_VERSION, WH_KIND_OTHER, 0, 0,
    create, invoke, release, destroy,
};
#else
MAYBE_UNUSED static const wh_actor_descriptor descriptor = {
#if defined(TOO_SMALL)
    .struct_size = 8,
#else
    .struct_size = sizeof(wh_actor_descriptor),
#endif
#if defined(VERSION_MISMATCH)
    .abi_version = 7,
#else
    .abi_version = 1,
#endif
#if defined(NULL_NAME)
    .name = NULL,
#elif defined(EMPTY_NAME)
    .name = "",
#else
    .name = ACTOR_NAME,
#endif
    .version = ACTOR_VERSION,
#if defined(BAD_KIND)
    .kind = 99,
#else
    .kind = WH_KIND_OTHER,
#endif
#if defined(BAD_CAPS)
    .capabilities = 1ull << 40,
#else
    .capabilities = 0,
#endif
    .create = create,
#if defined(NULL_INVOKE)
    .invoke = NULL,
#else
    .invoke = invoke,
#endif
    .release = release,
    .destroy = destroy,
};
#endif

#if defined(NO_ENTRY)
/* A valid library that simply is not an actor. */
WH_EXPORT int not_an_actor(void) { return 0; }
#else
WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
#if defined(WRONG_ABI)
    if (speaks) { speaks->min_version = 2; speaks->max_version = 3; }
    (void)abi_version;
    return NULL;
#else
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? (const wh_actor_descriptor *)&descriptor : NULL;
#endif
}
#endif
