/*
 * wavehost/actor_abi.h — the Wavehost actor ABI, version 1.
 *
 * An actor is a shared library that exports ONE function, `wavehost_actor_entry`.
 * Everything else is reached through the descriptor that function returns.
 * This header is the whole contract: a plugin needs nothing else to build.
 *
 * Rules that hold everywhere:
 *  - Bytes in, bytes out. Config, input and output are UTF-8 JSON with an explicit
 *    length; they are NOT NUL-terminated. No C++ or Swift types cross the boundary.
 *  - Whoever allocates a buffer frees it. The host owns every buffer it passes in
 *    (valid only for the duration of the call); the plugin owns every buffer it
 *    passes out, and the host gives it back through `release`.
 *  - Structs that may grow start with `struct_size`, written by whoever provides the
 *    struct's memory (the plugin for the descriptor, the host for host services and
 *    replies). The other side touches only fields that lie inside `struct_size`. New
 *    fields are only ever appended, so a plugin built against an older, smaller struct
 *    keeps loading, and a new plugin keeps working with an older host.
 *  - A zero-length buffer may be passed as a NULL pointer.
 *  - Integer constants, not C enums, appear in structs, so the layout is fixed.
 *  - Everything is prefixed `wh_` / `WH_`.
 *
 * Threading is stated beside each function: [any-thread]; [instance-serial] (never
 * called concurrently for one instance unless the actor declares WH_CAP_THREAD_SAFE,
 * but calls on different instances, and creates, may run at the same time, so state
 * shared between instances needs its own locking); or [once].
 */
#ifndef WAVEHOST_ACTOR_ABI_H
#define WAVEHOST_ACTOR_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

/* The ABI version this header describes. */
#define WH_ABI_VERSION 1u

/* The name of the one exported symbol, for dlsym. */
#define WH_ENTRY_SYMBOL "wavehost_actor_entry"

/* The range of ABI versions a plugin speaks, reported on every entry call. */
typedef struct wh_abi_range {
    uint32_t min_version;
    uint32_t max_version;
} wh_abi_range;

/* ------------------------------------------------------------------ status */

/* Returned by create and invoke. Anything other than WH_OK is a failure, and the
 * plugin should put a human-readable UTF-8 message in the reply (see wh_reply).
 * Of these codes only WH_ERR_UNAVAILABLE is retried (see "promises" below); the host
 * reports a value not defined here as an unknown status and does not retry it. */
typedef int32_t wh_status;
#define WH_OK                  0  /* success: the reply holds the output JSON */
#define WH_ERR_INVALID_INPUT   1  /* the input is not what this actor accepts; do not retry */
#define WH_ERR_INVALID_CONFIG  2  /* the config is not what this actor accepts (create); do not retry */
#define WH_ERR_FAILED          3  /* the work failed for a reason of its own; do not retry */
#define WH_ERR_UNAVAILABLE     4  /* a dependency is unavailable (network, model…); retryable */
#define WH_ERR_INTERNAL        5  /* a bug in the actor (or out of memory); do not retry */

/* -------------------------------------------------------------- promises */

/* What the host does, and what an actor must not do. docs/abi.md §2.12 says the same,
 * word for word (a test compares the two).
 *  - Retries: the host retries WH_ERR_UNAVAILABLE, a crash, a timeout, and an output that
 *    is too large or not JSON, as often as the step's retry policy allows; it never retries
 *    WH_ERR_INVALID_INPUT, WH_ERR_INVALID_CONFIG, WH_ERR_FAILED, WH_ERR_INTERNAL or a code
 *    this header does not define.
 *  - Out of memory: answer WH_ERR_INTERNAL with a static message (release then frees
 *    nothing); in a sandboxed worker the memory limit makes allocations fail or, with a
 *    cgroup, kills the worker, which the host treats as a crash.
 *  - Timeouts: past its deadline a sandboxed call's worker is killed (SIGKILL), so neither
 *    destroy nor release runs there; an in-process call cannot be stopped, so the host
 *    stops waiting, gives later calls a fresh instance unless the actor is thread-safe (the
 *    one still in use is never destroyed), and once more than 4 calls are abandoned so,
 *    moves the variant to a sandboxed worker.
 *  - Must not: write to stdout or stderr (use the host's log), install signal handlers or
 *    change a signal mask, call exit, chdir, setenv, putenv or setlocale, fork, keep a
 *    pointer to config or input after the call returns, use the host services after destroy
 *    or from release, or leave a thread running after destroy.
 */

/* ------------------------------------------------------------- kinds, caps */

typedef uint32_t wh_kind;
#define WH_KIND_OTHER      0u
#define WH_KIND_FETCHER    1u
#define WH_KIND_VALIDATOR  2u
#define WH_KIND_SAVER      3u
#define WH_KIND_GRADER     4u
#define WH_KIND_CHECKER    5u
#define WH_KIND_SCRIPT     6u   /* reserved for script actors the host wraps */

/* Capability flags. The host enforces them: an actor that does not declare a
 * capability does not get it.
 * How the set grows within version 1: bits 0–31 change what a host must do, so a host
 * refuses a plugin with one it does not know; bits 32–63 (WH_CAP_OPTIONAL_MASK) are hints a
 * host may ignore, so a plugin built for a later v1 that sets one still loads here. */
typedef uint64_t wh_capabilities;
#define WH_CAP_NETWORK           (1ull << 0) /* needs network access (sandboxes deny it otherwise) */
#define WH_CAP_THREAD_SAFE       (1ull << 1) /* invoke may run concurrently on one instance */
#define WH_CAP_EXTERNAL_EFFECTS  (1ull << 2) /* touches the outside world itself beyond returning
                                                 output (sends mail, calls an API that writes): the
                                                 host never runs it in shadow or test runs. Effects
                                                 the host applies (rows) need no such bit. */
#define WH_CAP_ALL (WH_CAP_NETWORK | WH_CAP_THREAD_SAFE | WH_CAP_EXTERNAL_EFFECTS) /* every bit this header knows */
#define WH_CAP_OPTIONAL_MASK 0xFFFFFFFF00000000ull /* bits a host may ignore when it does not know them */

/* ---------------------------------------------------------- host services */

typedef int32_t wh_log_level;
#define WH_LOG_TRACE 0
#define WH_LOG_DEBUG 1
#define WH_LOG_INFO  2
#define WH_LOG_WARN  3
#define WH_LOG_ERROR 4

/* A table of functions the host hands to create(). The plugin never links against
 * host symbols; everything it may ask of the host is here. The table only grows at
 * its end: check `struct_size` before reading a field added after version 1.
 * Owned by the host; valid from create until destroy returns (until create returns,
 * if create fails). Never use it from release, which may run after destroy. */
struct wh_http_request;
struct wh_http_response;

typedef struct wh_host_services {
    uint32_t struct_size;
    uint32_t abi_version;
    /* Opaque; pass it back unchanged to every function of this table. */
    void *context;
    /* [any-thread] Log a UTF-8 message (not NUL-terminated) of `length` bytes.
     * The host copies it before returning. */
    void (*log)(void *context, wh_log_level level, const char *message, size_t length);

    /* ---- added after version 1: present when struct_size >= WH_HOST_SERVICES_HTTP_SIZE ---- */

    /* [any-thread, blocking] Ask the host to make an HTTP request (see wh_http_request).
     * The host checks it against the variant's network grant, substitutes secrets, makes
     * it, records it, and fills `response` (zeroed and sized by the plugin before the call).
     * Returns WH_OK when a server answered (any HTTP status, redirects NOT followed: a 3xx
     * comes back with its Location header); WH_ERR_UNAVAILABLE when no answer came (timeout,
     * refused connection: worth retrying); WH_ERR_FAILED when the host refused the request
     * (outside the grant, too large, malformed). On failure `response->error` says why.
     * The request's buffers are the plugin's and are not kept after return. */
    wh_status (*http)(void *context, const struct wh_http_request *request, struct wh_http_response *response);
    /* [any-thread] Give back what `http` put in `response` (headers, body, error). Call it
     * exactly once per `http` call, whatever it returned. */
    void (*http_release)(void *context, struct wh_http_response *response);
} wh_host_services;

/* The host offers `http` and `http_release` when its table is at least this big. */
#define WH_HOST_SERVICES_HTTP_SIZE \
    (offsetof(wh_host_services, http_release) + sizeof(void (*)(void *, void *)))

/* Whether `host` offers the HTTP service (a host that predates it hands a smaller table). */
static inline int wh_host_offers_http(const wh_host_services *host) {
    return host != NULL && host->struct_size >= WH_HOST_SERVICES_HTTP_SIZE && host->http != NULL && host->http_release != NULL;
}

/* One header: name and value are UTF-8, not NUL-terminated. */
typedef struct wh_http_header {
    const char *name;
    size_t name_length;
    const char *value;
    size_t value_length;
} wh_http_header;

/* A request, owned by the plugin. `method` (e.g. "GET", "POST") and `url` (http:// or
 * https://) are not NUL-terminated. A header value may contain `{{secret:NAME}}`, which
 * the host replaces with the secret NAME when the variant's config names it as
 * {"secret": "NAME"}; the plugin never sees the value. `timeout_ms` 0 means the host's
 * default; the host caps it by the interaction's own deadline. */
typedef struct wh_http_request {
    uint32_t struct_size;          /* sizeof(wh_http_request), set by the plugin */
    uint32_t timeout_ms;
    const char *method;
    size_t method_length;
    const char *url;
    size_t url_length;
    const wh_http_header *headers;
    size_t header_count;
    const uint8_t *body;
    size_t body_length;
} wh_http_request;

/* A response, filled by the host; the plugin zeroes it and sets `struct_size`. Every
 * pointer in it is owned by the host until the plugin passes it to `http_release`. */
typedef struct wh_http_response {
    uint32_t struct_size;          /* sizeof(wh_http_response), set by the plugin */
    int32_t status;                /* the HTTP status, e.g. 200; 0 when no server answered */
    const wh_http_header *headers; /* header names lower-cased, in the order received */
    size_t header_count;
    const uint8_t *body;
    size_t body_length;
    const char *error;             /* UTF-8, not NUL-terminated; NULL on WH_OK */
    size_t error_length;
    void *release_token;           /* the host's; do not touch */
} wh_http_response;

/* ------------------------------------------------------------------ replies */

/* What create and invoke hand back. The host zeroes it and sets `struct_size`
 * before the call; the plugin fills `data`, `length` and, if it wants,
 * `release_token` (a plugin built against a later header checks `struct_size` before
 * writing fields this version does not have). On WH_OK, `data` holds the output JSON
 * (invoke) or stays NULL (create). On failure, `data` holds an error message (UTF-8),
 * or is NULL.
 * Owned by the plugin until the host passes the reply to `release`, which the host
 * does exactly once for every reply whose `data` is not NULL. */
typedef struct wh_reply {
    uint32_t struct_size;
    uint32_t reserved;        /* zero */
    const uint8_t *data;
    size_t length;
    void *release_token;      /* opaque to the host; for the plugin's release */
} wh_reply;

/* -------------------------------------------------------------- descriptor */

/* Static facts about the actor, and its lifecycle functions.
 * Owned by the plugin, valid as long as the library is loaded; the host never
 * writes to it. Strings are NUL-terminated UTF-8. Fields up to and including
 * `destroy` are required; later fields are optional (NULL when absent) and are
 * read only when they lie inside `struct_size`. */
typedef struct wh_actor_descriptor {
    uint32_t struct_size;          /* sizeof(wh_actor_descriptor) the plugin was built with */
    uint32_t abi_version;          /* the version this descriptor speaks: the one the host asked for */
    const char *name;              /* stable identifier, 1–64 of [a-z0-9._-], e.g. "field-validator" */
    const char *version;           /* the actor's own version, non-empty, e.g. "1.2.0" */
    wh_kind kind;                  /* WH_KIND_*; other values are refused */
    uint32_t reserved;             /* zero */
    wh_capabilities capabilities;  /* WH_CAP_* */

    /* [instance-serial per new instance] Make an instance from `config` (JSON).
     * On WH_OK, store the instance in *instance (NULL is allowed).
     * On failure, put the reason in `reply`; *instance is ignored. */
    wh_status (*create)(const uint8_t *config, size_t config_length,
                        const wh_host_services *host, void **instance, wh_reply *reply);

    /* [instance-serial] Do the work on `input` (JSON): on WH_OK, `reply` holds the
     * output JSON; otherwise, an error message. Must not keep `input` after return. */
    wh_status (*invoke)(void *instance, const uint8_t *input, size_t input_length,
                        wh_reply *reply);

    /* [any-thread] Free what `reply` holds. Called once per reply with non-NULL data,
     * possibly after the instance was destroyed; so tie no reply to its instance. */
    void (*release)(wh_reply *reply);

    /* [once per instance] Free the instance. No invoke runs during or after it. */
    void (*destroy)(void *instance);

    /* ---- optional, version 1 ---- */
    const char *description;       /* one sentence for people */
    const char *config_schema;     /* JSON Schema of the config, as JSON text */
    const char *input_schema;      /* JSON Schema of the input */
    const char *output_schema;     /* JSON Schema of the output */
    /* A JSON array of examples the host's conformance check runs:
     *   [{"name": "…", "config": {…}, "input": {…}, "output": {…}}]
     * Only "input" is required; "name" defaults to "example N", "config" to {}.
     * "output", when present, must equal the actual output (as JSON values, key
     * order ignored); "error": true marks an input the actor must refuse, with a
     * message ("output" is then ignored). */
    const char *examples;
} wh_actor_descriptor;

/* The smallest descriptor the host accepts: everything up to `destroy`. */
#define WH_DESCRIPTOR_MIN_SIZE \
    (offsetof(wh_actor_descriptor, destroy) + sizeof(void (*)(void *)))

/* ------------------------------------------------------------------- entry */

/* [any-thread, may be called several times] The one exported symbol.
 * The host asks for `abi_version` (the highest it speaks first, then lower ones).
 * Whenever `speaks` is non-NULL, the plugin writes the range it speaks into it, even
 * when it returns NULL. It returns its descriptor for that version, or NULL if it
 * does not speak it. Write the range as literal numbers (1, 1), not WH_ABI_VERSION:
 * rebuilding against a later header must not make a plugin claim a version it was
 * not written for.
 * Must be cheap and have no side effects beyond one-time initialisation. */
typedef const wh_actor_descriptor *(*wh_actor_entry_fn)(uint32_t abi_version, wh_abi_range *speaks);

#if defined(_WIN32)
#  define WH_EXPORT __declspec(dllexport)
#else
#  define WH_EXPORT __attribute__((visibility("default")))
#endif

/* The prototype a C plugin defines. (Hidden from Swift, whose plugins define the
 * symbol with @_cdecl and check it against wh_actor_entry_fn instead.) */
#ifndef __swift__
WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks);
#endif

#ifdef __cplusplus
}
#endif

#endif /* WAVEHOST_ACTOR_ABI_H */
