/*
 * echo-c — the example C actor. Copy it to start your own.
 *
 * Wraps its input under one key: {"echo": <input>, "bytes": <input length>}.
 * Config: {} or {"wrap": "<key>"} to choose the key (letters, digits, '_' or '-').
 *
 * It shows everything an actor must get right: the one exported entry with version
 * negotiation, a descriptor with schemas and examples, untrusted input checked before
 * use, error messages in replies, and replies freed only through release.
 * Build: cc -std=c11 -shared -fPIC -I <wavehost>/Sources/ActorABI/include echo.c -o libEchoC.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_abi.h>

/* ------------------------------------------------------------ JSON check
 * Inputs are untrusted bytes: check they are one JSON document before embedding
 * them in the output, or the output would not be JSON either. Strict RFC 8259,
 * valid UTF-8, and a depth limit so hostile nesting cannot overflow the stack. */

#define MAX_DEPTH 512

typedef struct {
    const uint8_t *at, *end, *start;
    const char *error;   /* first fault, or NULL */
} scanner;

static int fail(scanner *s, const char *why) {
    if (!s->error) s->error = why;
    return 0;
}

static void skip_space(scanner *s) {
    while (s->at < s->end && (*s->at == ' ' || *s->at == '\n' || *s->at == '\r' || *s->at == '\t')) s->at++;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* One UTF-8 sequence starting at a byte >= 0x80: no overlongs, surrogates or > U+10FFFF. */
static int scan_utf8(scanner *s) {
    uint8_t lead = *s->at, low = 0x80, high = 0xBF;
    int length;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) { length = 3; low = 0xA0; }
    else if (lead == 0xED) { length = 3; high = 0x9F; }
    else if (lead >= 0xE1 && lead <= 0xEF) length = 3;
    else if (lead == 0xF0) { length = 4; low = 0x90; }
    else if (lead == 0xF4) { length = 4; high = 0x8F; }
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else return fail(s, "invalid UTF-8 byte");
    if (s->end - s->at < length) return fail(s, "truncated UTF-8 sequence");
    for (int i = 1; i < length; i++) {
        uint8_t c = s->at[i];
        if (c < (i == 1 ? low : 0x80) || c > (i == 1 ? high : 0xBF)) return fail(s, "invalid UTF-8 sequence");
    }
    s->at += length;
    return 1;
}

static int scan_string(scanner *s) {
    s->at++; /* opening quote */
    while (s->at < s->end) {
        uint8_t c = *s->at;
        if (c == '"') { s->at++; return 1; }
        if (c < 0x20) return fail(s, "control character in string");
        if (c >= 0x80) { if (!scan_utf8(s)) return 0; continue; }
        if (c == '\\') {
            if (++s->at >= s->end) break;
            if (*s->at == 'u') {
                if (s->end - s->at < 5) return fail(s, "truncated \\u escape");
                for (int i = 1; i <= 4; i++) {
                    uint8_t h = s->at[i];
                    if (!is_digit(h) && !(h >= 'a' && h <= 'f') && !(h >= 'A' && h <= 'F'))
                        return fail(s, "invalid \\u escape");
                }
                s->at += 4;
            } else if (!strchr("\"\\/bfnrt", *s->at) || *s->at == 0) {
                return fail(s, "invalid escape");
            }
        }
        s->at++;
    }
    return fail(s, "unterminated string");
}

static int scan_number(scanner *s) {
    if (*s->at == '-') s->at++;
    if (s->at >= s->end || !is_digit(*s->at)) return fail(s, "expected a digit");
    if (*s->at == '0' && s->at + 1 < s->end && is_digit(s->at[1])) return fail(s, "leading zero");
    while (s->at < s->end && is_digit(*s->at)) s->at++;
    if (s->at < s->end && *s->at == '.') {
        s->at++;
        if (s->at >= s->end || !is_digit(*s->at)) return fail(s, "expected a digit after '.'");
        while (s->at < s->end && is_digit(*s->at)) s->at++;
    }
    if (s->at < s->end && (*s->at == 'e' || *s->at == 'E')) {
        s->at++;
        if (s->at < s->end && (*s->at == '+' || *s->at == '-')) s->at++;
        if (s->at >= s->end || !is_digit(*s->at)) return fail(s, "expected a digit in exponent");
        while (s->at < s->end && is_digit(*s->at)) s->at++;
    }
    return 1;
}

static int scan_literal(scanner *s, const char *word) {
    size_t length = strlen(word);
    if ((size_t)(s->end - s->at) < length || memcmp(s->at, word, length) != 0) return fail(s, "invalid literal");
    s->at += length;
    return 1;
}

static int scan_value(scanner *s, int depth);

/* An array or object; `close` is ']' or '}'. Members of objects are "key": value. */
static int scan_container(scanner *s, int depth, uint8_t close) {
    if (depth >= MAX_DEPTH) return fail(s, "nesting too deep");
    s->at++;
    skip_space(s);
    if (s->at < s->end && *s->at == close) { s->at++; return 1; }
    for (;;) {
        if (close == '}') {
            if (s->at >= s->end || *s->at != '"') return fail(s, "expected a string key");
            if (!scan_string(s)) return 0;
            skip_space(s);
            if (s->at >= s->end || *s->at != ':') return fail(s, "expected ':'");
            s->at++;
            skip_space(s);
        }
        if (!scan_value(s, depth + 1)) return 0;
        skip_space(s);
        if (s->at >= s->end) return fail(s, "unterminated array or object");
        if (*s->at == close) { s->at++; return 1; }
        if (*s->at != ',') return fail(s, "expected ',' or a closing bracket");
        s->at++;
        skip_space(s);
    }
}

static int scan_value(scanner *s, int depth) {
    if (s->at >= s->end) return fail(s, "unexpected end of input");
    switch (*s->at) {
    case '{': return scan_container(s, depth, '}');
    case '[': return scan_container(s, depth, ']');
    case '"': return scan_string(s);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default:
        if (*s->at == '-' || is_digit(*s->at)) return scan_number(s);
        return fail(s, "unexpected character");
    }
}

/* Returns NULL when `bytes` are one JSON document, else the fault; *offset gets its byte. */
static const char *check_json(const uint8_t *bytes, size_t length, size_t *offset) {
    scanner s = { bytes, bytes + length, bytes, NULL };
    skip_space(&s);
    if (scan_value(&s, 0)) {
        skip_space(&s);
        if (s.at != s.end) fail(&s, "unexpected data after the JSON value");
    }
    *offset = (size_t)(s.at - s.start);
    return length == 0 ? "empty input" : s.error;
}

/* --------------------------------------------------------------- replies
 * release_token tells release what to free: NULL for a static message (never freed),
 * non-NULL for a malloc'd buffer. That is how an actor can still answer "out of
 * memory" when malloc fails. */

static void reply_static(wh_reply *reply, const char *message) {
    reply->data = (const uint8_t *)message;
    reply->length = strlen(message);
    reply->release_token = NULL;
}

/* Formats a message into a malloc'd buffer (falls back to `fallback` if malloc fails). */
static void reply_message(wh_reply *reply, const char *fallback, const char *format, const char *a, size_t n) {
    char *text = malloc(256);
    if (!text) { reply_static(reply, fallback); return; }
    int length = snprintf(text, 256, format, a, n);
    reply->data = (const uint8_t *)text;
    reply->length = length < 0 ? 0 : (size_t)(length < 256 ? length : 255);
    reply->release_token = text;
}

/* -------------------------------------------------------------- the actor */

typedef struct {
    char key[65];   /* the key the input is wrapped under */
} echo_instance;

static int is_key_char(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-';
}

/* Reads {"wrap": "<key>"} from a config already checked to be JSON, walking its
 * top-level members with the scanner; {} keeps the default key. An unknown option is
 * refused rather than ignored, so a typo does not go unnoticed. */
static const char *read_config(const uint8_t *config, size_t length, char key[65]) {
    strcpy(key, "echo");
    scanner s = { config, config + length, config, NULL };
    skip_space(&s);
    if (*s.at != '{') return "config must be a JSON object";
    s.at++;
    skip_space(&s);
    while (*s.at != '}') {
        const uint8_t *name = s.at + 1;
        scan_string(&s);
        size_t name_length = (size_t)(s.at - 1 - name);
        skip_space(&s);
        s.at++; /* ':' */
        skip_space(&s);
        const uint8_t *value = s.at;
        scan_value(&s, 1);
        if (name_length != 4 || memcmp(name, "wrap", 4) != 0) return "unknown config option (only \"wrap\" is known)";
        static const char bad_key[] = "\"wrap\" must be a string of 1-64 letters, digits, '_' or '-'";
        if (*value != '"') return bad_key;
        size_t n = (size_t)(s.at - value) - 2;   /* without the quotes */
        if (n == 0 || n > 64) return bad_key;
        for (size_t i = 0; i < n; i++)
            if (!is_key_char(value[1 + i])) return bad_key;
        memcpy(key, value + 1, n);
        key[n] = 0;
        skip_space(&s);
        if (*s.at == ',') { s.at++; skip_space(&s); }
    }
    return NULL;
}

static wh_status echo_create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                             void **instance, wh_reply *reply) {
    size_t offset;
    const char *fault = check_json(config, config_length, &offset);
    if (fault) {
        reply_message(reply, "config is not valid JSON", "config is not valid JSON: %s at byte %zu", fault, offset);
        return WH_ERR_INVALID_CONFIG;
    }
    echo_instance *echo = malloc(sizeof *echo);
    if (!echo) { reply_static(reply, "out of memory"); return WH_ERR_INTERNAL; }
    const char *problem = read_config(config, config_length, echo->key);
    if (problem) {
        free(echo);
        reply_static(reply, problem);
        return WH_ERR_INVALID_CONFIG;
    }
    if (host && host->log) {
        static const char hello[] = "echo-c: instance created";
        host->log(host->context, WH_LOG_DEBUG, hello, sizeof hello - 1);
    }
    *instance = echo;
    return WH_OK;
}

static wh_status echo_invoke(void *instance, const uint8_t *input, size_t input_length, wh_reply *reply) {
    const echo_instance *echo = instance;
    size_t offset;
    const char *fault = check_json(input, input_length, &offset);
    if (fault) {
        reply_message(reply, "input is not valid JSON", "input is not valid JSON: %s at byte %zu", fault, offset);
        return WH_ERR_INVALID_INPUT;
    }
    /* {"<key>":<input>,"bytes":<n>} */
    char tail[40];
    int tail_length = snprintf(tail, sizeof tail, ",\"bytes\":%zu}", input_length);
    size_t key_length = strlen(echo->key);
    size_t total = 2 + key_length + 2 + input_length + (size_t)tail_length;
    char *out = malloc(total);
    if (!out) { reply_static(reply, "out of memory"); return WH_ERR_INTERNAL; }
    char *at = out;
    *at++ = '{';
    *at++ = '"';
    memcpy(at, echo->key, key_length); at += key_length;
    *at++ = '"';
    *at++ = ':';
    memcpy(at, input, input_length); at += input_length;
    memcpy(at, tail, (size_t)tail_length);
    reply->data = (const uint8_t *)out;
    reply->length = total;
    reply->release_token = out;
    return WH_OK;
}

/* Frees only what was malloc'd; never touches an instance (it may be gone). */
static void echo_release(wh_reply *reply) {
    free(reply->release_token);
    reply->data = NULL;
    reply->release_token = NULL;
}

static void echo_destroy(void *instance) { free(instance); }

/* ------------------------------------------------------------ descriptor */

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "echo-c",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
    .capabilities = WH_CAP_THREAD_SAFE,   /* instances are read-only after create */
    .create = echo_create,
    .invoke = echo_invoke,
    .release = echo_release,
    .destroy = echo_destroy,
    .description = "Wraps its JSON input under one key, with the input's length.",
    .config_schema = "{\"type\":\"object\",\"properties\":{\"wrap\":{\"type\":\"string\","
                     "\"pattern\":\"^[A-Za-z0-9_-]{1,64}$\"}},\"additionalProperties\":false}",
    .input_schema = "{}",
    .output_schema = "{\"type\":\"object\",\"required\":[\"bytes\"]}",
    .examples = "["
        "{\"name\":\"wraps an object\",\"input\":{\"a\":1},\"output\":{\"echo\":{\"a\":1},\"bytes\":7}},"
        "{\"name\":\"custom key\",\"config\":{\"wrap\":\"payload\"},\"input\":[true],"
        "\"output\":{\"payload\":[true],\"bytes\":6}},"
        "{\"name\":\"any JSON value\",\"input\":\"text\",\"output\":{\"echo\":\"text\",\"bytes\":6}}"
        "]",
};

/* The one exported symbol. The range is written as literals: this code speaks v1. */
WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? &descriptor : NULL;
}
