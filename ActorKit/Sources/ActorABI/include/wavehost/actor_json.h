/*
 * wavehost/actor_json.h — JSON for actors written in C: header-only, beside the ABI header.
 *
 * Config and input reach an actor as untrusted bytes; its output must be strict JSON or the
 * host refuses it. This header gives a C actor the three things that takes:
 *   1. whj_check     strict validation: RFC 8259, valid UTF-8 (no overlong forms, surrogates
 *                    or code points past U+10FFFF, no unpaired \u surrogates), a depth limit.
 *                    Iterative, so "[[[[…" costs no stack.
 *   2. whj_value     reading a checked text in place: members, elements, dotted paths, and
 *                    strings, numbers and booleans decoded into C values. Nothing is copied
 *                    or allocated until you ask for a string's bytes.
 *   3. whj_writer    an output builder that escapes every string, separates members itself and
 *                    fails (rather than writing invalid JSON) on misuse, NaN or out-of-memory.
 *
 * Rules:
 *  - Check before you read. Readers assume a text whj_check accepted; on one it refused their
 *    answers mean nothing (they still stay inside `length`).
 *  - No globals and no locale (numbers are read by this file, not strtod); nothing allocated
 *    but the writer's buffer: any number of threads may use it at once.
 *  - Every function is `static inline`: include this header in as many files as you like.
 *  - Prefix whj_ / WHJ_. C11; also compiles as C++.
 *
 * Example (reading {"user": {"name": "…"}} and answering {"greeting": "hello, …"}):
 *
 *     size_t at;
 *     const char *fault = whj_check(input, input_length, WHJ_MAX_DEPTH, &at);
 *     if (fault) ... refuse with WH_ERR_INVALID_INPUT, naming `fault` and byte `at` ...
 *     whj_value name = whj_path(whj_root(input, input_length), "user.name");
 *     char buffer[256]; size_t length;
 *     if (!whj_string(name, buffer, sizeof buffer, &length)) ... refuse ...
 *     whj_writer out;
 *     whj_writer_init(&out);
 *     whj_write_object_begin(&out);
 *     whj_write_key(&out, "greeting", 8);
 *     ... build the text, then whj_write_string(&out, text, text_length) ...
 *     whj_write_object_end(&out);
 *     size_t output_length;
 *     char *output = whj_writer_finish(&out, &output_length);   // malloc'd, or NULL
 *     ... reply->data = output; reply->release_token = output; free it in release ...
 */
#ifndef WAVEHOST_ACTOR_JSON_H
#define WAVEHOST_ACTOR_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The deepest nesting the host accepts in config, input and output. */
#define WHJ_MAX_DEPTH 512

/* ============================================================================ 1. checking */

typedef struct whj_cursor {
    const uint8_t *text;
    size_t length;
    size_t at;          /* the next byte to read; on failure, the byte at fault */
    const char *fault;  /* why the text is not JSON (a static string) */
} whj_cursor;

static inline int whj__fail(whj_cursor *c, const char *fault) { c->fault = fault; return 0; }
static inline int whj__more(const whj_cursor *c) { return c->at < c->length; }
static inline int whj__digit(uint8_t byte) { return byte >= '0' && byte <= '9'; }

static inline void whj__skip_space(whj_cursor *c) {
    while (whj__more(c)) {
        uint8_t byte = c->text[c->at];
        if (byte != ' ' && byte != '\t' && byte != '\n' && byte != '\r') return;
        c->at++;
    }
}

/* The length of the UTF-8 sequence at text[0] (lead byte >= 0x80), or 0 if it is not valid.
 * The second byte's range depends on the lead: that excludes overlong forms, surrogates and
 * code points past U+10FFFF (Table 3-7 of the Unicode standard). */
static inline size_t whj__utf8_length(const uint8_t *text, size_t available) {
    uint8_t lead = text[0], low = 0x80, high = 0xBF;
    size_t length;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) { length = 3; low = 0xA0; }
    else if (lead == 0xED) { length = 3; high = 0x9F; }
    else if (lead >= 0xE1 && lead <= 0xEF) length = 3;
    else if (lead == 0xF0) { length = 4; low = 0x90; }
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else if (lead == 0xF4) { length = 4; high = 0x8F; }
    else return 0;
    if (available < length) return 0;
    for (size_t i = 1; i < length; i++) {
        uint8_t byte = text[i];
        if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) return 0;
    }
    return length;
}

static inline int whj__hex4(const uint8_t *text, unsigned *unit) {
    *unit = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t byte = text[i];
        unsigned digit;
        if (whj__digit(byte)) digit = (unsigned)(byte - '0');
        else if (byte >= 'a' && byte <= 'f') digit = (unsigned)(byte - 'a' + 10);
        else if (byte >= 'A' && byte <= 'F') digit = (unsigned)(byte - 'A' + 10);
        else return 0;
        *unit = *unit << 4 | digit;
    }
    return 1;
}

/* One escape, at its backslash. A high surrogate must be followed at once by a low one. */
static inline int whj__scan_escape(whj_cursor *c) {
    size_t start = c->at;
    if (c->length - c->at < 2) return whj__fail(c, "unterminated escape");
    uint8_t kind = c->text[c->at + 1];
    c->at += 2;
    if (kind != 'u') {
        if (memchr("\"\\/bfnrt", kind, 8)) return 1;
        c->at = start;
        return whj__fail(c, "invalid escape");
    }
    unsigned unit;
    if (c->length - c->at < 4) return whj__fail(c, "truncated \\u escape");
    if (!whj__hex4(c->text + c->at, &unit)) return whj__fail(c, "invalid hex digit in \\u escape");
    c->at += 4;
    if (unit >= 0xD800 && unit <= 0xDBFF && c->length - c->at >= 6
        && c->text[c->at] == '\\' && c->text[c->at + 1] == 'u') {
        unsigned low;
        if (!whj__hex4(c->text + c->at + 2, &low)) { c->at += 2; return whj__fail(c, "invalid hex digit in \\u escape"); }
        c->at += 6;
        if (low >= 0xDC00 && low <= 0xDFFF) return 1;
    } else if (unit < 0xD800 || unit > 0xDFFF) {
        return 1;
    }
    c->at = start;
    return whj__fail(c, "unpaired surrogate in \\u escape");
}

/* A string, at its opening quote. */
static inline int whj__scan_string(whj_cursor *c) {
    c->at++;
    while (whj__more(c)) {
        uint8_t byte = c->text[c->at];
        if (byte == '"') { c->at++; return 1; }
        if (byte < 0x20) return whj__fail(c, "control character in string");
        if (byte == '\\') { if (!whj__scan_escape(c)) return 0; }
        else if (byte >= 0x80) {
            size_t length = whj__utf8_length(c->text + c->at, c->length - c->at);
            if (length == 0) return whj__fail(c, "invalid UTF-8 sequence");
            c->at += length;
        } else c->at++;
    }
    return whj__fail(c, "unterminated string");
}

static inline void whj__skip_digits(whj_cursor *c) {
    while (whj__more(c) && whj__digit(c->text[c->at])) c->at++;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static inline int whj__scan_number(whj_cursor *c) {
    if (c->text[c->at] == '-') c->at++;
    if (!whj__more(c) || !whj__digit(c->text[c->at])) return whj__fail(c, "expected a digit");
    if (c->text[c->at] == '0' && c->at + 1 < c->length && whj__digit(c->text[c->at + 1])) {
        c->at++;
        return whj__fail(c, "leading zeros are not allowed");
    }
    whj__skip_digits(c);
    if (whj__more(c) && c->text[c->at] == '.') {
        c->at++;
        if (!whj__more(c) || !whj__digit(c->text[c->at])) return whj__fail(c, "expected a digit after '.'");
        whj__skip_digits(c);
    }
    if (whj__more(c) && (c->text[c->at] == 'e' || c->text[c->at] == 'E')) {
        c->at++;
        if (whj__more(c) && (c->text[c->at] == '+' || c->text[c->at] == '-')) c->at++;
        if (!whj__more(c) || !whj__digit(c->text[c->at])) return whj__fail(c, "expected a digit in exponent");
        whj__skip_digits(c);
    }
    return 1;
}

static inline int whj__scan_literal(whj_cursor *c, const char *word, size_t length) {
    if (c->length - c->at < length || memcmp(c->text + c->at, word, length) != 0)
        return whj__fail(c, "invalid literal");
    c->at += length;
    return 1;
}

static inline int whj__scan_scalar(whj_cursor *c) {
    uint8_t byte = c->text[c->at];
    if (byte == '"') return whj__scan_string(c);
    if (byte == 't') return whj__scan_literal(c, "true", 4);
    if (byte == 'f') return whj__scan_literal(c, "false", 5);
    if (byte == 'n') return whj__scan_literal(c, "null", 4);
    if (byte == '-' || whj__digit(byte)) return whj__scan_number(c);
    return whj__fail(c, "unexpected character");
}

static inline int whj__scan_key(whj_cursor *c) {
    if (!whj__more(c)) return whj__fail(c, "unterminated object");
    if (c->text[c->at] != '"') return whj__fail(c, "expected a string key in object");
    if (!whj__scan_string(c)) return 0;
    whj__skip_space(c);
    if (!whj__more(c) || c->text[c->at] != ':') return whj__fail(c, "expected ':' after object key");
    c->at++;
    whj__skip_space(c);
    return 1;
}

/* One value between optional whitespace, nested at most max_depth deep. Instead of
 * recursing, it keeps the closing bracket of each open container: one byte per level. */
static inline int whj__scan_document(whj_cursor *c, size_t max_depth) {
    uint8_t closer[WHJ_MAX_DEPTH];
    size_t depth = 0;
    if (max_depth > WHJ_MAX_DEPTH) max_depth = WHJ_MAX_DEPTH;
    whj__skip_space(c);
    for (;;) {
        if (depth > 0 && closer[depth - 1] == '}' && !whj__scan_key(c)) return 0;
        if (!whj__more(c)) return whj__fail(c, c->length == 0 ? "empty input" : "unexpected end of input");
        uint8_t byte = c->text[c->at];
        if (byte == '[' || byte == '{') {
            if (depth == max_depth) return whj__fail(c, "nesting too deep");
            closer[depth++] = byte == '[' ? ']' : '}';
            c->at++;
            whj__skip_space(c);
            if (!whj__more(c) || c->text[c->at] != closer[depth - 1]) continue; /* a first member is due */
            c->at++;                                                            /* [] or {} */
            depth--;
        } else if (!whj__scan_scalar(c)) {
            return 0;
        }
        /* A value is complete: close what ends here, then expect ',' or the end. */
        for (;;) {
            whj__skip_space(c);
            if (depth == 0) return whj__more(c) ? whj__fail(c, "unexpected data after the JSON value") : 1;
            int in_array = closer[depth - 1] == ']';
            if (!whj__more(c)) return whj__fail(c, in_array ? "unterminated array" : "unterminated object");
            if (c->text[c->at] == closer[depth - 1]) { c->at++; depth--; continue; }
            if (c->text[c->at] != ',')
                return whj__fail(c, in_array ? "expected ',' or ']' in array" : "expected ',' or '}' in object");
            c->at++;
            whj__skip_space(c);
            break;
        }
    }
}

/* NULL when `text` is one JSON document nested at most `max_depth` deep (WHJ_MAX_DEPTH is the
 * host's limit); otherwise a static string saying why not, with *offset at the byte at fault.
 * `text` may be NULL when `length` is 0 (which is refused: "empty input"). */
static inline const char *whj_check(const uint8_t *text, size_t length, size_t max_depth, size_t *offset) {
    whj_cursor c = { text, length, 0, NULL };
    int valid = whj__scan_document(&c, max_depth);
    if (offset) *offset = c.at;
    return valid ? NULL : c.fault;
}

/* ============================================================================= 2. reading */

typedef enum whj_type {
    WHJ_NONE = 0,  /* no such value: a member that is absent, an index past the end… */
    WHJ_NULL, WHJ_FALSE, WHJ_TRUE, WHJ_NUMBER, WHJ_STRING, WHJ_ARRAY, WHJ_OBJECT
} whj_type;

/* A value inside a checked text: its bytes (`start`, `length`, quotes included for strings). */
typedef struct whj_value {
    const uint8_t *start;
    size_t length;
    whj_type type;
} whj_value;

static inline whj_value whj__none(void) { whj_value none = { NULL, 0, WHJ_NONE }; return none; }

/* The end of the value that starts at c->at, in a checked text: strings are skipped by
 * their quotes and escapes alone, containers by counting brackets outside strings. */
static inline void whj__skip_value(whj_cursor *c) {
    size_t depth = 0;
    do {
        uint8_t byte = c->text[c->at];
        if (byte == '"') {
            c->at++;
            while (c->at < c->length && c->text[c->at] != '"') c->at += c->text[c->at] == '\\' ? 2 : 1;
            c->at++;
        } else if (byte == '[' || byte == '{') { depth++; c->at++; }
        else if (byte == ']' || byte == '}') { depth--; c->at++; }
        else if (depth == 0) {
            while (c->at < c->length && !memchr(",]} \t\r\n", c->text[c->at], 7)) c->at++;
        } else c->at++;
    } while (depth > 0 && c->at < c->length);
}

static inline whj_value whj__value_at(whj_cursor *c) {
    whj__skip_space(c);
    if (!whj__more(c)) return whj__none();
    whj_value value;
    value.start = c->text + c->at;
    switch (c->text[c->at]) {
    case '{': value.type = WHJ_OBJECT; break;
    case '[': value.type = WHJ_ARRAY; break;
    case '"': value.type = WHJ_STRING; break;
    case 't': value.type = WHJ_TRUE; break;
    case 'f': value.type = WHJ_FALSE; break;
    case 'n': value.type = WHJ_NULL; break;
    default: value.type = WHJ_NUMBER; break;
    }
    size_t start = c->at;
    whj__skip_value(c);
    if (c->at > c->length) c->at = c->length;
    value.length = c->at - start;
    return value;
}

/* The document's value, in a text whj_check accepted. */
static inline whj_value whj_root(const uint8_t *text, size_t length) {
    whj_cursor c = { text, length, 0, NULL };
    return whj__value_at(&c);
}

/* Walks an array's elements or an object's members in order. */
typedef struct whj_iterator {
    whj_cursor cursor;
    int object;
} whj_iterator;

static inline whj_iterator whj_iterate(whj_value container) {
    whj_iterator it;
    it.cursor.text = container.start;
    it.cursor.length = container.type == WHJ_ARRAY || container.type == WHJ_OBJECT ? container.length : 0;
    it.cursor.at = 1; /* past the bracket */
    it.cursor.fault = NULL;
    it.object = container.type == WHJ_OBJECT;
    return it;
}

/* The next element (key->type is WHJ_NONE) or member (key is its name, a WHJ_STRING).
 * 0 at the end. `key` may be NULL. */
static inline int whj_next(whj_iterator *it, whj_value *key, whj_value *value) {
    whj_cursor *c = &it->cursor;
    whj__skip_space(c);
    if (c->at + 1 >= c->length) return 0;          /* only the closing bracket is left */
    if (c->text[c->at] == ',') { c->at++; whj__skip_space(c); }
    if (c->at >= c->length || c->text[c->at] == ']' || c->text[c->at] == '}') return 0;
    whj_value name = whj__none();
    if (it->object) {
        name = whj__value_at(c);
        whj__skip_space(c);
        c->at++; /* ':' */
    }
    if (key) *key = name;
    *value = whj__value_at(c);
    return value->type != WHJ_NONE;
}

/* Decodes the string at `value` into `buffer` (UTF-8, escapes resolved). *length gets the
 * decoded length, also when the buffer is too small or NULL (to learn the size needed); the
 * buffer is NUL-terminated when it has room. Returns 1 when the value is a string that fits
 * in `capacity` bytes (the NUL not counted), else 0. A decoded string may hold NUL bytes
 * (from \u0000): use *length, not strlen, where that matters. */
static inline int whj_string(whj_value value, char *buffer, size_t capacity, size_t *length) {
    size_t written = 0;
    if (length) *length = 0;
    if (value.type != WHJ_STRING) return 0;
    const uint8_t *at = value.start + 1, *end = value.start + value.length - 1;
    while (at < end) {
        uint8_t encoded[4];
        size_t count = 1;
        if (*at != '\\') { encoded[0] = *at++; }
        else {
            uint8_t kind = at[1];
            at += 2;
            if (kind != 'u') {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                const char *found = (const char *)memchr(from, kind, 8);
                encoded[0] = found ? (uint8_t)to[found - from] : kind;
            } else {
                unsigned point, low;
                if (end - at < 4 || !whj__hex4(at, &point)) break;
                at += 4;
                if (point >= 0xD800 && point <= 0xDBFF && end - at >= 6 && at[0] == '\\' && at[1] == 'u'
                    && whj__hex4(at + 2, &low)) {
                    point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
                    at += 6;
                }
                if (point < 0x80) encoded[0] = (uint8_t)point;
                else if (point < 0x800) {
                    encoded[0] = (uint8_t)(0xC0 | point >> 6); encoded[1] = (uint8_t)(0x80 | (point & 0x3F)); count = 2;
                } else if (point < 0x10000) {
                    encoded[0] = (uint8_t)(0xE0 | point >> 12); encoded[1] = (uint8_t)(0x80 | (point >> 6 & 0x3F));
                    encoded[2] = (uint8_t)(0x80 | (point & 0x3F)); count = 3;
                } else {
                    encoded[0] = (uint8_t)(0xF0 | point >> 18); encoded[1] = (uint8_t)(0x80 | (point >> 12 & 0x3F));
                    encoded[2] = (uint8_t)(0x80 | (point >> 6 & 0x3F)); encoded[3] = (uint8_t)(0x80 | (point & 0x3F));
                    count = 4;
                }
            }
        }
        if (buffer && written + count <= capacity) memcpy(buffer + written, encoded, count);
        written += count;
    }
    if (length) *length = written;
    if (buffer && written < capacity) buffer[written] = '\0';
    return buffer != NULL && written <= capacity;
}

/* 1 when `value` is a string whose decoded bytes are exactly text[0..length). */
static inline int whj_string_equals(whj_value value, const char *text, size_t length) {
    if (value.type != WHJ_STRING) return 0;
    /* Without escapes the bytes between the quotes are the string. */
    if (!memchr(value.start, '\\', value.length))
        return value.length - 2 == length && memcmp(value.start + 1, text, length) == 0;
    char small[256];
    size_t decoded;
    if (length < sizeof small) return whj_string(value, small, sizeof small, &decoded) && decoded == length && memcmp(small, text, length) == 0;
    char *copy = (char *)malloc(length + 1);
    int equal = copy && whj_string(value, copy, length + 1, &decoded) && decoded == length && memcmp(copy, text, length) == 0;
    free(copy);
    return equal;
}

/* An object's member named key[0..key_length), or WHJ_NONE. With repeated names, the last
 * one wins (as in the host's parser). */
static inline whj_value whj_member(whj_value object, const char *key, size_t key_length) {
    whj_value found = whj__none(), name, value;
    if (object.type != WHJ_OBJECT) return found;
    whj_iterator it = whj_iterate(object);
    while (whj_next(&it, &name, &value))
        if (whj_string_equals(name, key, key_length)) found = value;
    return found;
}

/* An array's element at `index` (from 0), or WHJ_NONE. */
static inline whj_value whj_element(whj_value array, size_t index) {
    whj_value value;
    if (array.type != WHJ_ARRAY) return whj__none();
    whj_iterator it = whj_iterate(array);
    for (size_t i = 0; whj_next(&it, NULL, &value); i++)
        if (i == index) return value;
    return whj__none();
}

/* The value at a dotted path: "user.name", "items.0.price" (a segment of digits indexes an
 * array; on an object it is a member name). "" is `root` itself. WHJ_NONE when any step is
 * missing. For names containing '.', use whj_member. */
static inline whj_value whj_path(whj_value root, const char *path) {
    whj_value value = root;
    while (*path && value.type != WHJ_NONE) {
        const char *end = strchr(path, '.');
        size_t length = end ? (size_t)(end - path) : strlen(path);
        if (value.type == WHJ_ARRAY) {
            size_t index = 0, i = 0;
            for (; i < length && whj__digit((uint8_t)path[i]) && index < SIZE_MAX / 10; i++) index = index * 10 + (size_t)(path[i] - '0');
            value = length > 0 && i == length ? whj_element(value, index) : whj__none();
        } else {
            value = whj_member(value, path, length);
        }
        path += length + (end ? 1 : 0);
    }
    return value;
}

/* 1 and *out set when `value` is true or false; 0 otherwise. */
static inline int whj_bool(whj_value value, int *out) {
    if (value.type != WHJ_TRUE && value.type != WHJ_FALSE) return 0;
    *out = value.type == WHJ_TRUE;
    return 1;
}

/* 1 and *out set when `value` is a whole number (no fraction or exponent) in int64 range. */
static inline int whj_int64(whj_value value, int64_t *out) {
    if (value.type != WHJ_NUMBER) return 0;
    size_t i = 0;
    int negative = value.start[0] == '-';
    if (negative) i++;
    uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < value.length; i++) {
        uint8_t byte = value.start[i];
        if (!whj__digit(byte)) return 0;
        unsigned digit = (unsigned)(byte - '0');
        if (magnitude > (limit - digit) / 10) return 0;
        magnitude = magnitude * 10 + digit;
    }
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return 1;
}

/* 1 and *out set when `value` is a number. Without strtod, so the locale never matters:
 * the nearest double but in rare cases, where it is the one beside it. Digits past the
 * 19th are dropped; magnitudes past DBL_MAX become infinity, tiny ones zero. */
static inline int whj_double(whj_value value, double *out) {
    if (value.type != WHJ_NUMBER) return 0;
    const uint8_t *at = value.start, *end = value.start + value.length;
    int negative = *at == '-';
    if (negative) at++;
    uint64_t digits = 0;
    int significant = 0;
    long exponent = 0;
    for (; at < end && whj__digit(*at); at++) {
        if (significant < 19) { digits = digits * 10 + (uint64_t)(*at - '0'); if (digits) significant++; }
        else exponent++;
    }
    if (at < end && *at == '.') {
        for (at++; at < end && whj__digit(*at); at++)
            if (significant < 19) { digits = digits * 10 + (uint64_t)(*at - '0'); if (digits) significant++; exponent--; }
    }
    if (at < end && (*at == 'e' || *at == 'E')) {
        at++;
        int minus = *at == '-';
        if (*at == '+' || *at == '-') at++;
        long written = 0;
        for (; at < end && whj__digit(*at); at++) if (written < 100000) written = written * 10 + (*at - '0');
        exponent += minus ? -written : written;
    }
    /* digits × 10^exponent in long double (64-bit significand on x86-64, 113 on arm64), so
     * that rounding to double at the end is almost always to the nearest. */
    long double scale = 1, base = 10;
    for (unsigned long e = (unsigned long)(exponent < 0 ? -exponent : exponent); e; e >>= 1) {
        if (e & 1) scale *= base;
        base *= base;
    }
    double result = digits == 0 ? 0 : (double)(exponent < 0 ? (long double)digits / scale : (long double)digits * scale);
    *out = negative ? -result : result;
    return 1;
}

/* ============================================================================= 3. writing */

/* Build with the whj_write_* calls, then take the text with whj_writer_finish. Commas and
 * colons are written for you. Any misuse (a value where a key is due, an unbalanced end, a
 * non-finite number, nesting past WHJ_MAX_DEPTH) or a failed allocation sets `failed`; later
 * calls then do nothing and finish returns NULL, so one check at the end is enough. */
typedef struct whj_writer {
    char *data;
    size_t length, capacity;
    int failed;
    size_t depth;
    uint8_t state[WHJ_MAX_DEPTH + 1];  /* per level: WHJ__EMPTY, WHJ__MEMBERS or WHJ__KEYED, + object flag */
} whj_writer;

enum { WHJ__EMPTY = 0, WHJ__MEMBERS = 1, WHJ__KEYED = 2, WHJ__OBJECT = 4 };

static inline void whj_writer_init(whj_writer *w) {
    w->data = NULL;
    w->length = w->capacity = 0;
    w->failed = 0;
    w->depth = 0;
    w->state[0] = WHJ__EMPTY;
}

static inline int whj__reserve(whj_writer *w, size_t more) {
    if (w->failed) return 0;
    if (more <= w->capacity - w->length) return 1;
    size_t capacity = w->capacity ? w->capacity : 64;
    while (capacity - w->length < more) {
        if (capacity > SIZE_MAX / 2) { w->failed = 1; return 0; }
        capacity *= 2;
    }
    char *grown = (char *)realloc(w->data, capacity);
    if (!grown) { w->failed = 1; return 0; }
    w->data = grown;
    w->capacity = capacity;
    return 1;
}

static inline void whj__put(whj_writer *w, const void *bytes, size_t count) {
    if (!whj__reserve(w, count)) return;
    memcpy(w->data + w->length, bytes, count);
    w->length += count;
}

/* Before a value: the separator it needs, and whether one may come here at all. */
static inline int whj__begin_value(whj_writer *w) {
    if (w->failed) return 0;
    uint8_t *state = &w->state[w->depth];
    if (w->depth == 0) {
        if (*state != WHJ__EMPTY) { w->failed = 1; return 0; }   /* one document only */
        *state = WHJ__MEMBERS;
        return 1;
    }
    if (*state & WHJ__OBJECT) {
        if (!(*state & WHJ__KEYED)) { w->failed = 1; return 0; }  /* a key is due */
        *state = (uint8_t)((*state & ~WHJ__KEYED) | WHJ__MEMBERS);
        return 1;
    }
    if (*state & WHJ__MEMBERS) whj__put(w, ",", 1);
    *state |= WHJ__MEMBERS;
    return !w->failed;
}

/* A JSON string of bytes[0..length): quotes, backslashes and control characters escaped;
 * a byte that is not part of valid UTF-8 becomes U+FFFD, so the output is always valid. */
static inline void whj__put_string(whj_writer *w, const char *bytes, size_t length) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *text = (const uint8_t *)bytes;
    whj__put(w, "\"", 1);
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < length && !w->failed;) {
        uint8_t byte = text[i];
        size_t sequence = byte < 0x80 ? 1 : whj__utf8_length(text + i, length - i);
        if (sequence != 0 && byte >= 0x20 && byte != '"' && byte != '\\') { i += sequence; run += sequence; continue; }
        whj__put(w, text + i - run, run);
        run = 0;
        if (sequence == 0) { whj__put(w, "\xEF\xBF\xBD", 3); i++; continue; }
        char escape[6] = { '\\', (char)byte, 0, 0, 0, 0 };
        size_t count = 2;
        switch (byte) {
        case '"': case '\\': break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        default:
            escape[1] = 'u'; escape[2] = '0'; escape[3] = '0';
            escape[4] = hex[byte >> 4]; escape[5] = hex[byte & 15]; count = 6;
        }
        whj__put(w, escape, count);
        i++;
    }
    whj__put(w, text + length - run, run);
    whj__put(w, "\"", 1);
}

static inline void whj_write_key(whj_writer *w, const char *key, size_t length) {
    if (w->failed) return;
    uint8_t *state = &w->state[w->depth];
    if (w->depth == 0 || !(*state & WHJ__OBJECT) || (*state & WHJ__KEYED)) { w->failed = 1; return; }
    if (*state & WHJ__MEMBERS) whj__put(w, ",", 1);
    whj__put_string(w, key, length);
    whj__put(w, ":", 1);
    *state |= WHJ__KEYED;
}

static inline void whj_write_string(whj_writer *w, const char *text, size_t length) {
    if (whj__begin_value(w)) whj__put_string(w, text, length);
}

static inline void whj_write_null(whj_writer *w) { if (whj__begin_value(w)) whj__put(w, "null", 4); }

static inline void whj_write_bool(whj_writer *w, int value) {
    if (whj__begin_value(w)) whj__put(w, value ? "true" : "false", value ? 4 : 5);
}

static inline void whj__put_int64(whj_writer *w, int64_t value) {
    char digits[21];
    size_t at = sizeof digits;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do { digits[--at] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude);
    if (value < 0) digits[--at] = '-';
    whj__put(w, digits + at, sizeof digits - at);
}

static inline void whj_write_int64(whj_writer *w, int64_t value) {
    if (whj__begin_value(w)) whj__put_int64(w, value);
}

/* A finite double: whole numbers as integers (3, not 3.0), others with 17 significant
 * digits, so that they read back as the same double. NaN and infinities have no JSON form:
 * they fail the writer. */
static inline void whj_write_double(whj_writer *w, double value) {
    if (value != value || value - value != 0) { w->failed = 1; return; }
    if (!whj__begin_value(w)) return;
    if (value > -9e18 && value < 9e18 && value == (double)(int64_t)value) { whj__put_int64(w, (int64_t)value); return; }
    char text[32];
    int length = snprintf(text, sizeof text, "%.17g", value);
    /* A locale other than "C" may write a decimal comma. */
    for (int i = 0; i < length; i++) if (text[i] == ',') text[i] = '.';
    whj__put(w, text, (size_t)length);
}

/* A value that is already JSON text, copied as it is after whj_check (nested no deeper than
 * this writer still allows: WHJ_MAX_DEPTH less the open containers). NULL when it is valid
 * (the writer may still fail for want of memory: finish tells); otherwise why it is not
 * JSON, with *offset at the byte at fault, and the writer failed. */
static inline const char *whj_write_json(whj_writer *w, const uint8_t *json, size_t length, size_t *offset) {
    size_t at = 0;
    const char *fault = whj_check(json, length, WHJ_MAX_DEPTH - w->depth, &at);
    if (offset) *offset = at;
    if (fault) { w->failed = 1; return fault; }
    if (whj__begin_value(w)) whj__put(w, json, length);
    return NULL;
}

static inline void whj__open(whj_writer *w, char bracket, uint8_t kind) {
    if (!whj__begin_value(w)) return;
    if (w->depth == WHJ_MAX_DEPTH) { w->failed = 1; return; }
    whj__put(w, &bracket, 1);
    w->state[++w->depth] = kind;
}

static inline void whj__close(whj_writer *w, char bracket, int object) {
    if (w->failed) return;
    uint8_t state = w->state[w->depth];
    if (w->depth == 0 || !(state & WHJ__OBJECT) != !object || (state & WHJ__KEYED)) { w->failed = 1; return; }
    whj__put(w, &bracket, 1);
    w->depth--;
}

static inline void whj_write_object_begin(whj_writer *w) { whj__open(w, '{', WHJ__OBJECT); }
static inline void whj_write_object_end(whj_writer *w) { whj__close(w, '}', 1); }
static inline void whj_write_array_begin(whj_writer *w) { whj__open(w, '[', WHJ__EMPTY); }
static inline void whj_write_array_end(whj_writer *w) { whj__close(w, ']', 0); }

/* The finished document, malloc'd, with *length its size (a NUL follows, not counted), for
 * the caller to free (in the actor's release). NULL if the writer failed or the document is
 * incomplete; the writer's memory is released either way. */
static inline char *whj_writer_finish(whj_writer *w, size_t *length) {
    int complete = !w->failed && w->depth == 0 && w->state[0] == WHJ__MEMBERS;
    if (complete) whj__put(w, "", 1);
    char *data = w->data;
    if (!complete || w->failed) { free(data); data = NULL; }
    if (length) *length = data ? w->length - 1 : 0;
    w->data = NULL;
    w->length = w->capacity = 0;
    return data;
}

/* Frees a writer's buffer without taking it (on an error path). */
static inline void whj_writer_discard(whj_writer *w) {
    free(w->data);
    w->data = NULL;
    w->length = w->capacity = 0;
    w->failed = 1;
}

#ifdef __cplusplus
}
#endif

#endif /* WAVEHOST_ACTOR_JSON_H */
