/*
 * echo.c: echo-c, the example Wavehost actor in plain C. Copy this file to start your own.
 *
 * It wraps its JSON input under one key and adds the input's length in bytes:
 *     input {"a":1}   ->   output {"echo":{"a":1},"bytes":7}
 * The work is trivial on purpose, so that the file can show what every actor must get right:
 *   - one exported function, wavehost_actor_entry, that negotiates the ABI version;
 *   - a static descriptor, with schemas and the examples the host's conformance check runs;
 *   - untrusted bytes (config and input) checked before use, here with the JSON helper that
 *     ships beside the ABI header (wavehost/actor_json.h: strict checks, readers, a writer);
 *   - failures reported as a status plus a human-readable message in the reply;
 *   - every buffer handed to the host given back through release, even the reply to
 *     "out of memory", whose message cannot itself come from malloc.
 *
 * Build it with nothing but a C compiler and the two headers:
 *   cc -std=c11 -Wall -Wextra -Wpedantic -O2 -shared -fPIC \
 *      -I <wavehost>/ActorKit/Sources/ActorABI/include echo.c -o libEchoC.so
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>
#include <wavehost/actor_json.h>

/* =============================================================================== replies
 * The host passes every reply whose `data` is not NULL to release, exactly once, and that
 * includes replies carrying an error message. Most replies are malloc'd, but one cannot
 * be: the reply to "malloc failed". It points at a static string instead, which must never
 * reach free(). Looking at `data` cannot tell the two apart, so each reply says what to
 * free in `release_token`: the malloc'd block, or NULL for a static string. Release frees
 * the token, and free(NULL) does nothing. */

static wh_status reply_static(wh_reply *reply, wh_status status, const char *message) {
    reply->data = (const uint8_t *)message;
    reply->length = strlen(message);
    reply->release_token = NULL;   /* static: release frees nothing */
    return status;
}

static wh_status reply_heap(wh_reply *reply, wh_status status, char *buffer, size_t length) {
    reply->data = (const uint8_t *)buffer;
    reply->length = length;
    reply->release_token = buffer; /* malloc'd: release frees it */
    return status;
}

#if defined(__GNUC__)
#define ECHO_PRINTF(format_index) __attribute__((format(printf, format_index, format_index + 1)))
#else
#define ECHO_PRINTF(format_index)
#endif

/* A formatted error message in a malloc'd buffer. Without memory for it, the static
 * `fallback` says the same thing less precisely: the status stays right either way. */
ECHO_PRINTF(4)
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
    return reply_heap(reply, status, message, (size_t)length); /* the NUL is not part of the reply */
}

/* ================================================================================ config */

#define KEY_MAX 64

typedef struct {
    char key[KEY_MAX + 1];  /* the key the input is wrapped under, NUL-terminated */
    size_t key_length;
    size_t max_bytes;       /* the longest input accepted, in bytes; 0 for no limit */
} echo_instance;

static int is_key_byte(char byte) {
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9')
        || byte == '_' || byte == '-';
}

/* Reads {"wrap": "<key>", "max_bytes": <n>} (both optional) into *settings. Unknown or
 * repeated options are refused rather than ignored, so that a typo does not go unnoticed.
 * An empty buffer means no config at all, which gets the defaults. */
static wh_status read_config(const uint8_t *config, size_t length, echo_instance *settings, wh_reply *reply) {
    static const char bad_key[] = "\"wrap\" must be a string of 1 to 64 letters, digits, '_' or '-'";
    static const char bad_limit[] = "\"max_bytes\" must be a whole number, 1 or more";
    memcpy(settings->key, "echo", 5);
    settings->key_length = 4;
    settings->max_bytes = 0;
    if (length == 0) return WH_OK;

    size_t offset;
    const char *fault = whj_check(config, length, WHJ_MAX_DEPTH, &offset);
    if (fault)
        return reply_error(reply, WH_ERR_INVALID_CONFIG, "config is not valid JSON",
                           "config is not valid JSON: %s at byte %zu", fault, offset);
    whj_value root = whj_root(config, length);
    if (root.type != WHJ_OBJECT) return reply_static(reply, WH_ERR_INVALID_CONFIG, "config must be a JSON object");

    int seen_wrap = 0, seen_limit = 0;
    whj_iterator options = whj_iterate(root);
    whj_value name, value;
    while (whj_next(&options, &name, &value)) {
        if (whj_string_equals(name, "wrap", 4)) {
            if (seen_wrap++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"wrap\" appears twice in the config");
            size_t key_length;
            if (!whj_string(value, settings->key, KEY_MAX, &key_length) || key_length == 0)
                return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_key);
            /* The key is copied into the output as it is, so it is limited to bytes that
             * never need escaping in a JSON string. */
            for (size_t i = 0; i < key_length; i++)
                if (!is_key_byte(settings->key[i])) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_key);
            /* The output already has a "bytes" member; two members with one name is not
             * an error in JSON, but most readers would silently keep only one. */
            if (key_length == 5 && memcmp(settings->key, "bytes", 5) == 0)
                return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"wrap\" cannot be \"bytes\", the output's other key");
            settings->key[key_length] = '\0';
            settings->key_length = key_length;
        } else if (whj_string_equals(name, "max_bytes", 9)) {
            if (seen_limit++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"max_bytes\" appears twice in the config");
            int64_t limit;
            if (!whj_int64(value, &limit) || limit < 1) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_limit);
            settings->max_bytes = (size_t)limit;
        } else {
            /* Name the option, but keep the message short: cut a long name at a UTF-8
             * character boundary, so the message stays valid UTF-8. */
            char shown[2 * KEY_MAX];
            size_t shown_length;
            whj_string(name, shown, sizeof shown, &shown_length);
            if (shown_length > KEY_MAX) {
                shown_length = KEY_MAX;
                while (shown_length > 0 && (shown[shown_length] & 0xC0) == 0x80) shown_length--;
            }
            return reply_error(reply, WH_ERR_INVALID_CONFIG, "unknown config option",
                               "unknown config option \"%.*s\" (the options are \"wrap\" and \"max_bytes\")",
                               (int)shown_length, shown);
        }
    }
    return WH_OK;
}

/* ================================================================================= actor */

/* [instance-serial per new instance] Everything that can fail is done before malloc, so
 * no error path has anything to free. */
static wh_status echo_create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                             void **instance, wh_reply *reply) {
    echo_instance settings;
    wh_status status = read_config(config, config_length, &settings, reply);
    if (status != WH_OK) return status;
    echo_instance *echo = malloc(sizeof *echo);
    if (!echo) return reply_static(reply, WH_ERR_INTERNAL, "echo-c: out of memory");
    *echo = settings;
    /* Host services are valid until destroy; echo-c needs them only here. */
    if (host && host->log) {
        static const char note[] = "echo-c: instance created";
        host->log(host->context, WH_LOG_DEBUG, note, sizeof note - 1);
    }
    *instance = echo;
    return WH_OK;
}

/* [instance-serial, but echo-c declares WH_CAP_THREAD_SAFE] The instance is only read
 * here, never written, which is what makes concurrent calls on one instance safe. */
static wh_status echo_invoke(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply) {
    const echo_instance *echo = instance;

    /* Cheap checks first: the limit costs nothing, the JSON check reads every byte. */
    if (echo->max_bytes != 0 && input_length > echo->max_bytes)
        return reply_error(reply, WH_ERR_INVALID_INPUT, "input is longer than max_bytes",
                           "input is %zu bytes, more than max_bytes (%zu)", input_length, echo->max_bytes);

    /* {"<key>":<input>,"bytes":<n>}. The writer checks the input as it copies it, one level
     * less deep than the host allows (the output nests it inside the object), and refuses
     * empty input (length 0, perhaps a NULL pointer) too. */
    whj_writer out;
    whj_writer_init(&out);
    whj_write_object_begin(&out);
    whj_write_key(&out, echo->key, echo->key_length);
    size_t offset;
    const char *fault = whj_write_json(&out, input, input_length, &offset);
    if (fault) {
        whj_writer_discard(&out);
        return reply_error(reply, WH_ERR_INVALID_INPUT, "input is not valid JSON",
                           "input is not valid JSON: %s at byte %zu", fault, offset);
    }
    whj_write_key(&out, "bytes", 5);
    whj_write_int64(&out, (int64_t)input_length);
    whj_write_object_end(&out);
    size_t output_length;
    char *output = whj_writer_finish(&out, &output_length);
    if (!output) return reply_static(reply, WH_ERR_INTERNAL, "echo-c: out of memory");
    return reply_heap(reply, WH_OK, output, output_length);
}
/* [any-thread] Looks at the reply alone, never at an instance: the host may release an
 * output after it has destroyed the instance that made it. */
static void echo_release(wh_reply *reply) {
    free(reply->release_token);
}

/* [once per instance] */
static void echo_destroy(void *instance) {
    free(instance);
}

/* ============================================================================ descriptor */

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "echo-c",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
    .capabilities = WH_CAP_THREAD_SAFE,
    .create = echo_create,
    .invoke = echo_invoke,
    .release = echo_release,
    .destroy = echo_destroy,
    .description = "Wraps its JSON input under one key, beside the input's length in bytes.",
    .config_schema =
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
        "\"wrap\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_-]{1,64}$\",\"not\":{\"const\":\"bytes\"},"
        "\"default\":\"echo\",\"description\":\"The key the input is wrapped under.\"},"
        "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,"
        "\"description\":\"Refuse longer inputs. No limit when absent.\"}}}",
    .input_schema = "{\"description\":\"Any JSON value.\"}",
    .output_schema =
        "{\"type\":\"object\",\"required\":[\"bytes\"],\"minProperties\":2,\"maxProperties\":2,"
        "\"properties\":{\"bytes\":{\"type\":\"integer\",\"minimum\":1,"
        "\"description\":\"The input's length in bytes.\"}},"
        "\"additionalProperties\":{\"description\":\"The input, verbatim, under the configured key.\"}}",
    /* The host sends each example's input in compact form, so "bytes" is predictable. */
    .examples =
        "["
        "{\"name\":\"wraps an object\",\"input\":{\"a\":1},\"output\":{\"echo\":{\"a\":1},\"bytes\":7}},"
        "{\"name\":\"wraps under the configured key\",\"config\":{\"wrap\":\"payload\"},"
        "\"input\":[true,null],\"output\":{\"payload\":[true,null],\"bytes\":11}},"
        "{\"name\":\"wraps any JSON value\",\"input\":\"text\",\"output\":{\"echo\":\"text\",\"bytes\":6}},"
        "{\"name\":\"refuses input over max_bytes\",\"config\":{\"max_bytes\":8},"
        "\"input\":{\"too\":\"long\"},\"error\":true}"
        "]",
};

/* [any-thread] The one exported symbol. The range is written as literal numbers, not
 * WH_ABI_VERSION: this code was written for version 1, whatever header builds it. */
WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) {
        speaks->min_version = 1;
        speaks->max_version = 1;
    }
    return abi_version == 1 ? &descriptor : NULL;
}
