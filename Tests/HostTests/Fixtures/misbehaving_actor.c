/*
 * misbehaving_actor.c: one source for the test suite's bad plugins.
 *
 * Built as it is, it is a minimal valid actor, "misbehaving" (kind OTHER, no
 * capabilities, no optional fields), whose output is its input, copied. The tests
 * compile it with one -D<FAULT> to get a real shared library with exactly that fault:
 *   cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -I ActorKit/Sources/ActorABI/include \
 *      -DNULL_NAME misbehaving_actor.c -o libmisbehaving.so
 *
 *   WRONG_ABI          speaks versions 2-3 only, so it has no descriptor for version 1
 *   NO_ENTRY           exports no wavehost_actor_entry (but another function, so the
 *                      library is still a valid shared object)
 *   NULL_NAME          the descriptor's name is NULL
 *   EMPTY_NAME         the descriptor's name is ""
 *   TOO_SMALL          the descriptor's struct_size is 8
 *   NULL_INVOKE        the descriptor's invoke is NULL
 *   BAD_CAPS           capability bit 20 is set: one a host must understand, and no version defines
 *   FUTURE_OPTIONAL_CAP  capability bit 40 is set: an optional hint of a later v1 (it works fully)
 *   FUTURE_KIND        the kind is 99, one a later v1 might add (it works fully)
 *   VERSION_MISMATCH   asked for version 1, it answers with a descriptor that says 7
 *   FAILING_CREATE     create refuses every config (WH_ERR_INVALID_CONFIG, with a message)
 *   CRASHING_CREATE    create writes through a NULL pointer: a real SIGSEGV
 *   INVALID_OUTPUT     invoke succeeds with the output `not json {`
 *   NULL_OUTPUT        invoke succeeds with no output (data NULL, length 0)
 *   LEAKY_RELEASE      release forgets to free the output
 *   OLD_DESCRIPTOR     built as against an older header: its descriptor has only the
 *                      required fields; it works fully
 *   COUNT_RELEASES     changes nothing: misbehaving_outstanding() is always exported
 * Options, usable with any of them (but OLD_DESCRIPTOR, which has no examples field):
 *   EXAMPLES="[...]"     the descriptor's examples, as JSON text
 *   EXTERNAL_EFFECTS_MARK="/path"  declares WH_CAP_EXTERNAL_EFFECTS and appends a line to
 *                        that file on every call: an effect on the world the host must prevent
 *                        in shadow and test runs
 *   ACTOR_NAME="..."     the name (default "misbehaving")
 *   ACTOR_VERSION="..."  the version (default "1.0.0"), to build two different
 *                        libraries with the same name
 *
 * misbehaving_outstanding() returns how many replies with data were handed out and not
 * yet released, so a test can check that the host released every one.
 */
#include <stdio.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>

#if defined(WRONG_ABI) + defined(NO_ENTRY) + defined(NULL_NAME) + defined(EMPTY_NAME) + defined(TOO_SMALL) \
    + defined(NULL_INVOKE) + defined(BAD_CAPS) + defined(FUTURE_KIND) + defined(VERSION_MISMATCH)         \
    + defined(FAILING_CREATE) + defined(CRASHING_CREATE) + defined(INVALID_OUTPUT) + defined(NULL_OUTPUT)  \
    + defined(LEAKY_RELEASE) + defined(OLD_DESCRIPTOR) + defined(FUTURE_OPTIONAL_CAP) > 1
#error "define at most one fault, so that each test knows which one it sees"
#endif

#ifndef ACTOR_NAME
#define ACTOR_NAME "misbehaving"
#endif
#ifndef ACTOR_VERSION
#define ACTOR_VERSION "1.0.0"
#endif

/* ------------------------------------------------------------------- replies */

static atomic_int outstanding;

WH_EXPORT int misbehaving_outstanding(void);
WH_EXPORT int misbehaving_outstanding(void) { return atomic_load(&outstanding); }

/* Every reply is a malloc'd copy, named by release_token; release frees the token. The
 * one static reply, for out-of-memory, has no token, so release frees nothing for it. */
static wh_status reply_copy(wh_reply *reply, wh_status status, const void *bytes, size_t length) {
    static const char out_of_memory[] = "misbehaving: out of memory";
    uint8_t *copy = malloc(length ? length : 1); /* never NULL for an empty output: NULL means none */
    if (copy) {
        if (length) memcpy(copy, bytes, length);
        reply->data = copy;
        reply->length = length;
        reply->release_token = copy;
    } else {
        status = WH_ERR_INTERNAL;
        reply->data = (const uint8_t *)out_of_memory;
        reply->length = sizeof out_of_memory - 1;
        reply->release_token = NULL;
    }
    atomic_fetch_add(&outstanding, 1);
    return status;
}

/* --------------------------------------------------------------------- actor */

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)config;
    (void)config_length;
    (void)host;
    (void)reply;
#if defined(FAILING_CREATE)
    static const char refusal[] = "misbehaving: this build refuses every config";
    return reply_copy(reply, WH_ERR_INVALID_CONFIG, refusal, sizeof refusal - 1);
#endif
#if defined(CRASHING_CREATE)
    /* Both volatile: the compiler may neither drop the store nor see that it is to NULL. */
    volatile int *volatile nowhere = NULL;
    *nowhere = 1;
#endif
    *instance = NULL; /* allowed: this actor keeps no state */
    return WH_OK;
}

/* Unused when NULL_INVOKE leaves it out of the descriptor. */
__attribute__((unused))
static wh_status invoke(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply) {
    (void)instance;
#if defined(EXTERNAL_EFFECTS_MARK)
    FILE *mark = fopen(EXTERNAL_EFFECTS_MARK, "a");
    if (mark) { fputs("called\n", mark); fclose(mark); }
#endif
#if defined(INVALID_OUTPUT)
    return reply_copy(reply, WH_OK, "not json {", 10);
#endif
#if defined(NULL_OUTPUT)
    return WH_OK; /* success, and reply->data stays NULL */
#endif
#if defined(FAIL_PERCENT)
    /* Not a fault of the ABI: refuses FAIL_PERCENT of inputs, chosen by their bytes, so a
     * challenger with a known failure rate can be measured. */
    unsigned sum = 0;
    for (size_t i = 0; i < input_length; i++) sum = sum * 31 + input[i];
    if (sum % 100 < FAIL_PERCENT) return reply_copy(reply, WH_ERR_FAILED, "refused on purpose", 18);
#endif
#if defined(OUTPUT_TAG)
    /* Not a fault: {"build":OUTPUT_TAG,"input":<input>} tells which build answered. */
    char head[96];
    int head_length = snprintf(head, sizeof head, "{\"build\":\"%s\",\"input\":", OUTPUT_TAG);
    size_t total = (size_t)head_length + input_length + 1;
    char *tagged = malloc(total);
    if (!tagged) return reply_copy(reply, WH_ERR_INTERNAL, "out of memory", 13);
    memcpy(tagged, head, (size_t)head_length);
    memcpy(tagged + head_length, input, input_length);
    tagged[total - 1] = '}';
    wh_status status = reply_copy(reply, WH_OK, tagged, total);
    free(tagged);
    return status;
#endif
    return reply_copy(reply, WH_OK, input, input_length);
}

static void release(wh_reply *reply) {
#if defined(LEAKY_RELEASE)
    (void)reply; /* counted as released below, but never freed: only the heap shows it */
#else
    free(reply->release_token);
#endif
    atomic_fetch_sub(&outstanding, 1);
}

static void destroy(void *instance) { (void)instance; }

/* ---------------------------------------------------------------- descriptor */

#if defined(OLD_DESCRIPTOR)
/* What a plugin built against an older header has: wh_actor_descriptor's fields up to
 * and including destroy, and nothing after. */
typedef struct old_descriptor {
    uint32_t struct_size;
    uint32_t abi_version;
    const char *name;
    const char *version;
    wh_kind kind;
    uint32_t reserved;
    wh_capabilities capabilities;
    wh_status (*create)(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply);
    wh_status (*invoke)(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply);
    void (*release)(wh_reply *reply);
    void (*destroy)(void *instance);
} old_descriptor;

_Static_assert(sizeof(old_descriptor) == WH_DESCRIPTOR_MIN_SIZE, "the old descriptor is the required part");
_Static_assert(offsetof(old_descriptor, destroy) == offsetof(wh_actor_descriptor, destroy), "same layout");

static const old_descriptor descriptor = {
    .struct_size = sizeof(old_descriptor),
    .abi_version = 1,
    .name = ACTOR_NAME,
    .version = ACTOR_VERSION,
    .kind = WH_KIND_OTHER,
    .capabilities = 0,
    .create = create,
    .invoke = invoke,
    .release = release,
    .destroy = destroy,
};
#else
static const wh_actor_descriptor descriptor = {
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
#if defined(FUTURE_KIND)
    .kind = 99,
#else
    .kind = WH_KIND_OTHER,
#endif
#if defined(BAD_CAPS)
    .capabilities = 1ull << 20,             /* a bit a host must understand, unknown to this one */
#elif defined(EXTERNAL_EFFECTS_MARK)
    .capabilities = WH_CAP_EXTERNAL_EFFECTS,
#elif defined(FUTURE_OPTIONAL_CAP)
    .capabilities = WH_CAP_THREAD_SAFE | 1ull << 40,   /* a hint of a later v1, which a host may ignore */
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
#if defined(EXAMPLES)
    .examples = EXAMPLES,
#endif
};
#endif

/* --------------------------------------------------------------------- entry */

#if defined(NO_ENTRY)
/* A near miss of the real name: the library is valid, but the host finds no entry. */
#define ENTRY wavehost_actor_entry_point
WH_EXPORT const wh_actor_descriptor *ENTRY(uint32_t abi_version, wh_abi_range *speaks);
#else
#define ENTRY wavehost_actor_entry
#endif

WH_EXPORT const wh_actor_descriptor *ENTRY(uint32_t abi_version, wh_abi_range *speaks) {
#if defined(WRONG_ABI)
    if (speaks) {
        speaks->min_version = 2;
        speaks->max_version = 3;
    }
    return NULL; /* it has no descriptor for 1, nor one written for 2 or 3 */
#endif
    if (speaks) {
        speaks->min_version = 1;
        speaks->max_version = 1;
    }
    return abi_version == 1 ? (const wh_actor_descriptor *)&descriptor : NULL;
}
