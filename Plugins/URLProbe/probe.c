/*
 * probe.c: url-probe, the example of a C actor that reaches the network through the host.
 *
 * It GETs one URL and answers what came back, not the page itself:
 *     config {"url": "https://status.example/health"}, input {}
 *         ->   {"url": "https://status.example/health", "status": 200, "ok": true, "bytes": 17}
 * What it shows:
 *   - the host's HTTP service, found by the size of the host-services table
 *     (wh_host_offers_http), so that on a host that predates it the actor says so instead
 *     of crashing;
 *   - the request and its buffers stay the actor's; the response is the host's until
 *     http_release, which is called exactly once per http call, whatever it returned;
 *   - the host's three outcomes told apart: an answer (any HTTP status), no answer
 *     (WH_ERR_UNAVAILABLE: worth retrying), a refusal (WH_ERR_FAILED: the variant's
 *     network grant does not cover the URL).
 * The actor opens no socket of its own: in a sandbox it has no network at all, and the host
 * holds each request to the variant's grant and records it.
 *
 * Build it with nothing but a C compiler and the two headers:
 *   cc -std=c11 -Wall -Wextra -Wpedantic -O2 -shared -fPIC \
 *      -I <wavehost>/ActorKit/Sources/ActorABI/include probe.c -o libURLProbe.so
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>
#include <wavehost/actor_json.h>

/* ============================================================================== replies
 * As in echo.c: every reply says in release_token what release frees, so that the reply
 * to "out of memory" can point at a static string. */

static wh_status reply_static(wh_reply *reply, wh_status status, const char *message) {
    reply->data = (const uint8_t *)message;
    reply->length = strlen(message);
    reply->release_token = NULL;
    return status;
}

#if defined(__GNUC__)
#define PROBE_PRINTF(format_index) __attribute__((format(printf, format_index, format_index + 1)))
#else
#define PROBE_PRINTF(format_index)
#endif

PROBE_PRINTF(4)
static wh_status reply_error(wh_reply *reply, wh_status status, const char *fallback, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *message = length < 0 ? NULL : malloc((size_t)length + 1);
    if (!message) return reply_static(reply, status, fallback);
    va_start(args, format);
    vsnprintf(message, (size_t)length + 1, format, args);
    va_end(args);
    reply->data = (const uint8_t *)message;
    reply->length = (size_t)length;
    reply->release_token = message;
    return status;
}

/* =============================================================================== config */

#define URL_MAX 2048

typedef struct {
    const wh_host_services *host; /* valid until destroy */
    char url[URL_MAX + 1];        /* the URL probed when the input names none */
    size_t url_length;
    int64_t expect_status;        /* the status that counts as up; 0: any 2xx */
    uint32_t timeout_ms;          /* 0: the host's default (always capped by the call's deadline) */
} probe_instance;

/* An http:// or https:// URL of 1 to URL_MAX bytes, decoded into `url`. The host checks
 * everything else (host, port, address) against the variant's grant. */
static int read_url(whj_value value, char *url, size_t *length) {
    if (!whj_string(value, url, URL_MAX + 1, length) || *length > URL_MAX) return 0;
    url[*length] = '\0';
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static const char bad_url[] = "\"url\" must be an http:// or https:// URL of at most 2048 bytes";

/* Reads {"url": ..., "expect_status": N, "timeout_ms": N}; "url" is required, unknown
 * or repeated options are refused so that a typo does not go unnoticed. */
static wh_status read_config(const uint8_t *config, size_t length, probe_instance *probe, wh_reply *reply) {
    probe->url_length = 0;
    probe->expect_status = 0;
    probe->timeout_ms = 0;
    size_t offset;
    const char *fault = length == 0 ? "empty" : whj_check(config, length, WHJ_MAX_DEPTH, &offset);
    if (fault)
        return reply_error(reply, WH_ERR_INVALID_CONFIG, "config is not valid JSON",
                           "config is not valid JSON: %s at byte %zu", fault, length == 0 ? 0 : offset);
    whj_value root = whj_root(config, length);
    if (root.type != WHJ_OBJECT) return reply_static(reply, WH_ERR_INVALID_CONFIG, "config must be a JSON object");

    int seen_url = 0, seen_status = 0, seen_timeout = 0;
    whj_iterator options = whj_iterate(root);
    whj_value name, value;
    while (whj_next(&options, &name, &value)) {
        int64_t number;
        if (whj_string_equals(name, "url", 3)) {
            if (seen_url++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"url\" appears twice in the config");
            if (!read_url(value, probe->url, &probe->url_length)) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_url);
        } else if (whj_string_equals(name, "expect_status", 13)) {
            if (seen_status++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"expect_status\" appears twice in the config");
            if (!whj_int64(value, &number) || number < 100 || number > 599)
                return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"expect_status\" must be an HTTP status, 100 to 599");
            probe->expect_status = number;
        } else if (whj_string_equals(name, "timeout_ms", 10)) {
            if (seen_timeout++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"timeout_ms\" appears twice in the config");
            if (!whj_int64(value, &number) || number < 1 || number > 3600000)
                return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"timeout_ms\" must be a whole number from 1 to 3600000");
            probe->timeout_ms = (uint32_t)number;
        } else {
            return reply_static(reply, WH_ERR_INVALID_CONFIG,
                                "unknown config option (the options are \"url\", \"expect_status\" and \"timeout_ms\")");
        }
    }
    if (!seen_url) return reply_static(reply, WH_ERR_INVALID_CONFIG, "config needs \"url\", the URL to probe");
    return WH_OK;
}

/* ================================================================================ actor */

static wh_status probe_create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                              void **instance, wh_reply *reply) {
    probe_instance *probe = malloc(sizeof *probe);
    if (!probe) return reply_static(reply, WH_ERR_INTERNAL, "url-probe: out of memory");
    wh_status status = read_config(config, config_length, probe, reply);
    if (status != WH_OK) {
        free(probe);
        return status;
    }
    probe->host = host;
    *instance = probe;
    return WH_OK;
}

/* The answer to one response: {"url", "status", "ok", "bytes"}. */
static wh_status answer(const probe_instance *probe, const char *url, size_t url_length,
                        const wh_http_response *response, wh_reply *reply) {
    int up = probe->expect_status != 0 ? response->status == probe->expect_status
                                       : response->status >= 200 && response->status < 300;
    whj_writer out;
    whj_writer_init(&out);
    whj_write_object_begin(&out);
    whj_write_key(&out, "url", 3);
    whj_write_string(&out, url, url_length);
    whj_write_key(&out, "status", 6);
    whj_write_int64(&out, response->status);
    whj_write_key(&out, "ok", 2);
    whj_write_bool(&out, up);
    whj_write_key(&out, "bytes", 5);
    whj_write_int64(&out, (int64_t)response->body_length);
    whj_write_object_end(&out);
    size_t length;
    char *output = whj_writer_finish(&out, &length);
    if (!output) return reply_static(reply, WH_ERR_INTERNAL, "url-probe: out of memory");
    reply->data = (const uint8_t *)output;
    reply->length = length;
    reply->release_token = output;
    return WH_OK;
}

/* [instance-serial; thread-safe: the instance is only read] Input {} probes the config's
 * URL; {"url": "..."} probes that one (still only where the variant's grant allows). */
static wh_status probe_invoke(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply) {
    const probe_instance *probe = instance;
    size_t offset;
    const char *fault = whj_check(input, input_length, WHJ_MAX_DEPTH, &offset);
    if (fault)
        return reply_error(reply, WH_ERR_INVALID_INPUT, "input is not valid JSON",
                           "input is not valid JSON: %s at byte %zu", fault, offset);
    whj_value root = whj_root(input, input_length);
    if (root.type != WHJ_OBJECT) return reply_static(reply, WH_ERR_INVALID_INPUT, "input must be a JSON object");
    char named[URL_MAX + 1];
    const char *url = probe->url;
    size_t url_length = probe->url_length;
    whj_value asked = whj_member(root, "url", 3);
    if (asked.type != WHJ_NONE) {
        if (!read_url(asked, named, &url_length)) return reply_static(reply, WH_ERR_INVALID_INPUT, bad_url);
        url = named;
    }

    if (!wh_host_offers_http(probe->host))
        return reply_static(reply, WH_ERR_UNAVAILABLE, "this host offers no HTTP service (it predates it): nothing was probed");
    static const char agent_name[] = "User-Agent", agent[] = "wavehost-url-probe/1.0";
    const wh_http_header headers[] = {{agent_name, sizeof agent_name - 1, agent, sizeof agent - 1}};
    const wh_http_request request = {
        .struct_size = sizeof request,
        .timeout_ms = probe->timeout_ms,
        .method = "GET", .method_length = 3,
        .url = url, .url_length = url_length,
        .headers = headers, .header_count = 1,
    };
    wh_http_response response;
    memset(&response, 0, sizeof response);
    response.struct_size = sizeof response;
    wh_status status = probe->host->http(probe->host->context, &request, &response);
    if (status == WH_OK) status = answer(probe, url, url_length, &response, reply);
    else {
        /* The host's reason is not NUL-terminated: printed by its length. */
        const char *why = response.error ? response.error : "the host gave no reason";
        int why_length = response.error ? (int)response.error_length : (int)strlen(why);
        status = reply_error(reply, status == WH_ERR_UNAVAILABLE ? WH_ERR_UNAVAILABLE : WH_ERR_FAILED,
                             "the host made no request", "%.*s", why_length, why);
    }
    /* Once per http call, whatever it returned; nothing of the response is used after. */
    probe->host->http_release(probe->host->context, &response);
    return status;
}

static void probe_release(wh_reply *reply) {
    free(reply->release_token);
}

static void probe_destroy(void *instance) {
    free(instance);
}

/* =========================================================================== descriptor */

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "url-probe",
    .version = "1.0.0",
    .kind = WH_KIND_CHECKER,
    .capabilities = WH_CAP_THREAD_SAFE,
    .create = probe_create,
    .invoke = probe_invoke,
    .release = probe_release,
    .destroy = probe_destroy,
    .description = "GETs a URL through the host and answers its status, whether it is the expected one, and the body's size.",
    .config_schema =
        "{\"type\":\"object\",\"required\":[\"url\"],\"additionalProperties\":false,\"properties\":{"
        "\"url\":{\"type\":\"string\",\"pattern\":\"^https?://\",\"maxLength\":2048,"
        "\"description\":\"The URL probed when the input names none.\"},"
        "\"expect_status\":{\"type\":\"integer\",\"minimum\":100,\"maximum\":599,"
        "\"description\":\"The status that counts as up; any 2xx when absent.\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600000,"
        "\"description\":\"The request's own timeout; the call's deadline caps it.\"}}}",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\",\"pattern\":\"^https?://\","
        "\"description\":\"Probe this URL instead of the config's.\"}}}",
    .output_schema =
        "{\"type\":\"object\",\"required\":[\"url\",\"status\",\"ok\",\"bytes\"],\"properties\":{"
        "\"url\":{\"type\":\"string\"},\"status\":{\"type\":\"integer\"},\"ok\":{\"type\":\"boolean\"},"
        "\"bytes\":{\"type\":\"integer\",\"minimum\":0}}}",
    /* The conformance check grants no network: every example that reaches the host is refused. */
    .examples =
        "["
        "{\"name\":\"a URL outside the grant is refused by the host\",\"config\":{\"url\":\"http://127.0.0.1:9/\"},"
        "\"input\":{},\"error\":true},"
        "{\"name\":\"an input URL of another scheme is refused\",\"config\":{\"url\":\"http://127.0.0.1:9/\"},"
        "\"input\":{\"url\":\"file:///etc/passwd\"},\"error\":true},"
        "{\"name\":\"input that is not an object is refused\",\"config\":{\"url\":\"http://127.0.0.1:9/\"},"
        "\"input\":[1],\"error\":true}"
        "]",
};

WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) {
        speaks->min_version = 1;
        speaks->max_version = 1;
    }
    return abi_version == 1 ? &descriptor : NULL;
}
