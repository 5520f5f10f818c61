/*
 * echo.c: echo-c, the example Wavehost actor in plain C. Copy this file to start your own.
 *
 * It wraps its JSON input under one key and adds the input's length in bytes:
 *     input {"a":1}   ->   output {"echo":{"a":1},"bytes":7}
 * The work is trivial on purpose, so that the file can show what every actor must get right:
 *   - one exported function, wavehost_actor_entry, that negotiates the ABI version;
 *   - a static descriptor, with schemas and the examples the host's conformance check runs;
 *   - untrusted bytes (config and input) checked before use, here by a strict JSON check;
 *   - failures reported as a status plus a human-readable message in the reply;
 *   - every buffer handed to the host given back through release, even the reply to
 *     "out of memory", whose message cannot itself come from malloc.
 *
 * Build it with nothing but a C compiler and the ABI header:
 *   cc -std=c11 -Wall -Wextra -Wpedantic -O2 -shared -fPIC \
 *      -I <wavehost>/Sources/ActorABI/include echo.c -o libEchoC.so
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>

/* ============================================================================ JSON check
 * The output embeds the input verbatim, so the input is checked first: the host refuses
 * output that is not strict JSON, and the fault would then look like ours (invalid output)
 * instead of the caller's (WH_ERR_INVALID_INPUT). The check follows RFC 8259 and also
 * refuses what the host's parser refuses: invalid UTF-8 (overlong forms, surrogates, code
 * points past U+10FFFF), \u escapes that leave a surrogate unpaired, and nesting deeper
 * than 512. It is iterative, keeping one byte per open bracket instead of a call frame,
 * so a megabyte of "[[[[" costs no stack. It allocates nothing and has no globals, so
 * any number of threads may run it at once. */

#define JSON_MAX_DEPTH 512

typedef struct {
    const uint8_t *text;
    size_t length;
    size_t at;           /* the next byte to read; on failure, the byte at fault */
    const char *fault;   /* why the text is not JSON (a static string) */
} json_cursor;

static int json_fail(json_cursor *c, const char *fault) {
    c->fault = fault;
    return 0;
}

static int json_more(const json_cursor *c) { return c->at < c->length; }

static int json_is_digit(uint8_t byte) { return byte >= '0' && byte <= '9'; }

static void json_skip_space(json_cursor *c) {
    while (json_more(c)) {
        uint8_t byte = c->text[c->at];
        if (byte != ' ' && byte != '\t' && byte != '\n' && byte != '\r') return;
        c->at++;
    }
}

/* One multi-byte UTF-8 sequence (lead byte >= 0x80). The allowed range of the second
 * byte depends on the lead; that is what excludes overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90.., F5..FF).
 * This is Table 3-7 of the Unicode standard. */
static int json_scan_utf8(json_cursor *c) {
    uint8_t lead = c->text[c->at], low = 0x80, high = 0xBF;
    size_t length;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) { length = 3; low = 0xA0; }
    else if (lead == 0xED) { length = 3; high = 0x9F; }
    else if (lead >= 0xE1 && lead <= 0xEF) length = 3;
    else if (lead == 0xF0) { length = 4; low = 0x90; }
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else if (lead == 0xF4) { length = 4; high = 0x8F; }
    else return json_fail(c, "invalid UTF-8 byte");
    if (c->length - c->at < length) return json_fail(c, "truncated UTF-8 sequence");
    for (size_t i = 1; i < length; i++) {
        uint8_t byte = c->text[c->at + i];
        if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF))
            return json_fail(c, "invalid UTF-8 sequence");
    }
    c->at += length;
    return 1;
}

/* Four hex digits of a \u escape, into *unit. */
static int json_scan_hex4(json_cursor *c, unsigned *unit) {
    if (c->length - c->at < 4) return json_fail(c, "truncated \\u escape");
    *unit = 0;
    for (int i = 0; i < 4; i++, c->at++) {
        uint8_t byte = c->text[c->at];
        unsigned digit;
        if (json_is_digit(byte)) digit = (unsigned)(byte - '0');
        else if (byte >= 'a' && byte <= 'f') digit = (unsigned)(byte - 'a' + 10);
        else if (byte >= 'A' && byte <= 'F') digit = (unsigned)(byte - 'A' + 10);
        else return json_fail(c, "invalid hex digit in \\u escape");
        *unit = *unit << 4 | digit;
    }
    return 1;
}

/* One escape, at its backslash. A \u escape of a high surrogate (D800..DBFF) must be
 * followed at once by one of a low surrogate (DC00..DFFF): together they are one code
 * point. Anything else would decode to text that is not Unicode. */
static int json_scan_escape(json_cursor *c) {
    size_t start = c->at;
    if (c->length - c->at < 2) return json_fail(c, "unterminated escape");
    uint8_t kind = c->text[c->at + 1];
    c->at += 2;
    if (kind != 'u') {
        if (memchr("\"\\/bfnrt", kind, 8)) return 1;
        c->at = start;
        return json_fail(c, "invalid escape");
    }
    unsigned unit;
    if (!json_scan_hex4(c, &unit)) return 0;
    if (unit >= 0xD800 && unit <= 0xDBFF && c->length - c->at >= 2
        && c->text[c->at] == '\\' && c->text[c->at + 1] == 'u') {
        c->at += 2;
        if (!json_scan_hex4(c, &unit)) return 0;
        if (unit >= 0xDC00 && unit <= 0xDFFF) return 1;
    } else if (unit < 0xD800 || unit > 0xDFFF) {
        return 1;
    }
    c->at = start;
    return json_fail(c, "unpaired surrogate in \\u escape");
}

/* A string, at its opening quote. */
static int json_scan_string(json_cursor *c) {
    c->at++;
    while (json_more(c)) {
        uint8_t byte = c->text[c->at];
        if (byte == '"') { c->at++; return 1; }
        if (byte < 0x20) return json_fail(c, "control character in string");
        if (byte == '\\') { if (!json_scan_escape(c)) return 0; }
        else if (byte >= 0x80) { if (!json_scan_utf8(c)) return 0; }
        else c->at++;
    }
    return json_fail(c, "unterminated string");
}

static void json_skip_digits(json_cursor *c) {
    while (json_more(c) && json_is_digit(c->text[c->at])) c->at++;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int json_scan_number(json_cursor *c) {
    if (c->text[c->at] == '-') c->at++;
    if (!json_more(c) || !json_is_digit(c->text[c->at])) return json_fail(c, "expected a digit");
    if (c->text[c->at] == '0' && c->at + 1 < c->length && json_is_digit(c->text[c->at + 1])) {
        c->at++;
        return json_fail(c, "leading zeros are not allowed");
    }
    json_skip_digits(c);
    if (json_more(c) && c->text[c->at] == '.') {
        c->at++;
        if (!json_more(c) || !json_is_digit(c->text[c->at])) return json_fail(c, "expected a digit after '.'");
        json_skip_digits(c);
    }
    if (json_more(c) && (c->text[c->at] == 'e' || c->text[c->at] == 'E')) {
        c->at++;
        if (json_more(c) && (c->text[c->at] == '+' || c->text[c->at] == '-')) c->at++;
        if (!json_more(c) || !json_is_digit(c->text[c->at])) return json_fail(c, "expected a digit in exponent");
        json_skip_digits(c);
    }
    return 1;
}

static int json_scan_literal(json_cursor *c, const char *word) {
    size_t length = strlen(word);
    if (c->length - c->at < length || memcmp(c->text + c->at, word, length) != 0)
        return json_fail(c, "invalid literal");
    c->at += length;
    return 1;
}

/* A value that is not an array or object, at its first byte. */
static int json_scan_scalar(json_cursor *c) {
    uint8_t byte = c->text[c->at];
    if (byte == '"') return json_scan_string(c);
    if (byte == 't') return json_scan_literal(c, "true");
    if (byte == 'f') return json_scan_literal(c, "false");
    if (byte == 'n') return json_scan_literal(c, "null");
    if (byte == '-' || json_is_digit(byte)) return json_scan_number(c);
    return json_fail(c, "unexpected character");
}

/* An object member's `"key" :`, up to the value. */
static int json_scan_key(json_cursor *c) {
    if (!json_more(c)) return json_fail(c, "unterminated object");
    if (c->text[c->at] != '"') return json_fail(c, "expected a string key in object");
    if (!json_scan_string(c)) return 0;
    json_skip_space(c);
    if (!json_more(c) || c->text[c->at] != ':') return json_fail(c, "expected ':' after object key");
    c->at++;
    json_skip_space(c);
    return 1;
}

/* The whole text: one value between optional whitespace, nested at most max_depth deep.
 * Instead of recursing, it remembers the closing bracket of each open container. */
static int json_scan_document(json_cursor *c, size_t max_depth) {
    uint8_t closer[JSON_MAX_DEPTH];
    size_t depth = 0;
    if (max_depth > JSON_MAX_DEPTH) max_depth = JSON_MAX_DEPTH;
    json_skip_space(c);
    for (;;) {
        /* A value is due; inside an object, its key comes first. */
        if (depth > 0 && closer[depth - 1] == '}' && !json_scan_key(c)) return 0;
        if (!json_more(c)) return json_fail(c, c->length == 0 ? "empty input" : "unexpected end of input");
        uint8_t byte = c->text[c->at];
        if (byte == '[' || byte == '{') {
            if (depth == max_depth) return json_fail(c, "nesting too deep");
            closer[depth++] = byte == '[' ? ']' : '}';
            c->at++;
            json_skip_space(c);
            if (!json_more(c) || c->text[c->at] != closer[depth - 1]) continue; /* its first member is due */
            c->at++;                                                            /* [] or {} */
            depth--;
        } else if (!json_scan_scalar(c)) {
            return 0;
        }
        /* A value is complete: close the containers that end here, then expect a ',' or the end. */
        for (;;) {
            json_skip_space(c);
            if (depth == 0) return json_more(c) ? json_fail(c, "unexpected data after the JSON value") : 1;
            int in_array = closer[depth - 1] == ']';
            if (!json_more(c)) return json_fail(c, in_array ? "unterminated array" : "unterminated object");
            if (c->text[c->at] == closer[depth - 1]) { c->at++; depth--; continue; }
            if (c->text[c->at] != ',')
                return json_fail(c, in_array ? "expected ',' or ']' in array" : "expected ',' or '}' in object");
            c->at++;
            json_skip_space(c);
            break;
        }
    }
}

/* NULL when `text` is one JSON document nested at most `max_depth` deep; otherwise why
 * not, with *offset set to the byte at fault. `text` may be NULL when `length` is 0. */
static const char *json_check(const uint8_t *text, size_t length, size_t max_depth, size_t *offset) {
    json_cursor c = { text, length, 0, NULL };
    int valid = json_scan_document(&c, max_depth);
    *offset = c.at;
    return valid ? NULL : c.fault;
}

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

/* The key is copied into the output as it is, so it is limited to bytes that never need
 * escaping in a JSON string. */
static int is_key_byte(uint8_t byte) {
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || json_is_digit(byte)
        || byte == '_' || byte == '-';
}

static int option_is(const uint8_t *name, size_t length, const char *option) {
    return length == strlen(option) && memcmp(name, option, length) == 0;
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
    const char *fault = json_check(config, length, JSON_MAX_DEPTH, &offset);
    if (fault)
        return reply_error(reply, WH_ERR_INVALID_CONFIG, "config is not valid JSON",
                           "config is not valid JSON: %s at byte %zu", fault, offset);

    /* The text is valid JSON now, so this walk can skip most checks: every string ends,
     * a ':' follows every key, and a ',' or '}' follows every member. */
    json_cursor c = { config, length, 0, NULL };
    json_skip_space(&c);
    if (config[c.at] != '{') return reply_static(reply, WH_ERR_INVALID_CONFIG, "config must be a JSON object");
    c.at++;
    json_skip_space(&c);
    int seen_wrap = 0, seen_limit = 0;
    while (config[c.at] != '}') {
        const uint8_t *name = config + c.at + 1;
        json_scan_string(&c);
        size_t name_length = (size_t)(config + c.at - 1 - name);
        json_skip_space(&c);
        c.at++; /* ':' */
        json_skip_space(&c);
        const uint8_t *value = config + c.at;

        if (option_is(name, name_length, "wrap")) {
            if (seen_wrap++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"wrap\" appears twice in the config");
            if (*value != '"') return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_key);
            json_scan_string(&c);
            size_t key_length = (size_t)(config + c.at - value) - 2; /* without the quotes */
            if (key_length == 0 || key_length > KEY_MAX) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_key);
            for (size_t i = 0; i < key_length; i++)
                if (!is_key_byte(value[1 + i])) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_key);
            /* The output already has a "bytes" member; two members with one name is not
             * an error in JSON, but most readers would silently keep only one. */
            if (option_is(value + 1, key_length, "bytes"))
                return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"wrap\" cannot be \"bytes\", the output's other key");
            memcpy(settings->key, value + 1, key_length);
            settings->key[key_length] = '\0';
            settings->key_length = key_length;
        } else if (option_is(name, name_length, "max_bytes")) {
            if (seen_limit++) return reply_static(reply, WH_ERR_INVALID_CONFIG, "\"max_bytes\" appears twice in the config");
            if (*value != '-' && !json_is_digit(*value)) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_limit);
            json_scan_number(&c);
            size_t limit = 0;
            for (const uint8_t *digit = value; digit < config + c.at; digit++) {
                /* '-', '.', 'e' and a value that would overflow are all refused here. */
                if (!json_is_digit(*digit) || limit > (SIZE_MAX - (size_t)(*digit - '0')) / 10)
                    return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_limit);
                limit = limit * 10 + (size_t)(*digit - '0');
            }
            if (limit == 0) return reply_static(reply, WH_ERR_INVALID_CONFIG, bad_limit);
            settings->max_bytes = limit;
        } else {
            /* Name the option, but keep the message short: cut a long name at a UTF-8
             * character boundary, so the message stays valid UTF-8. */
            size_t shown = name_length;
            if (shown > KEY_MAX) {
                shown = KEY_MAX;
                while (shown > 0 && (name[shown] & 0xC0) == 0x80) shown--;
            }
            return reply_error(reply, WH_ERR_INVALID_CONFIG, "unknown config option",
                               "unknown config option \"%.*s\" (the options are \"wrap\" and \"max_bytes\")",
                               (int)shown, (const char *)name);
        }
        json_skip_space(&c);
        if (config[c.at] == ',') {
            c.at++;
            json_skip_space(&c);
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

    /* One level less than the host allows, because the output nests the input one level
     * deeper. Empty input (length 0, perhaps a NULL pointer) is refused here too. */
    size_t offset;
    const char *fault = json_check(input, input_length, JSON_MAX_DEPTH - 1, &offset);
    if (fault)
        return reply_error(reply, WH_ERR_INVALID_INPUT, "input is not valid JSON",
                           "input is not valid JSON: %s at byte %zu", fault, offset);

    /* {"<key>":<input>,"bytes":<n>}, in one buffer, so that release has one block to free. */
    char tail[32]; /* ,"bytes":<at most 20 digits>} */
    int tail_length = snprintf(tail, sizeof tail, ",\"bytes\":%zu}", input_length);
    size_t head_length = 2 + echo->key_length + 2; /* {"<key>": */
    if (tail_length < 0 || input_length > SIZE_MAX - head_length - (size_t)tail_length)
        return reply_static(reply, WH_ERR_INVALID_INPUT, "input is too large");
    size_t total = head_length + input_length + (size_t)tail_length;
    char *output = malloc(total);
    if (!output) return reply_static(reply, WH_ERR_INTERNAL, "echo-c: out of memory");
    char *at = output;
    *at++ = '{';
    *at++ = '"';
    memcpy(at, echo->key, echo->key_length);
    at += echo->key_length;
    *at++ = '"';
    *at++ = ':';
    memcpy(at, input, input_length);
    at += input_length;
    memcpy(at, tail, (size_t)tail_length);
    return reply_heap(reply, WH_OK, output, total);
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
