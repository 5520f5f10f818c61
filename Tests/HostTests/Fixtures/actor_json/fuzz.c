/* libFuzzer target for wavehost/actor_json.h. ActorJSONHelperTests builds it with
 * -fsanitize=fuzzer,address,undefined and runs it for a bounded time. What it asserts:
 *  - whj_check never reads out of bounds, whatever the bytes;
 *  - on text it accepts, every reader stays inside the text, and rebuilding the document with
 *    the writer (strings decoded and re-encoded) yields valid JSON that rebuilds to itself;
 *  - the writer turns any bytes into a valid JSON string that decodes back to them when they
 *    were valid UTF-8 without escapes to resolve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wavehost/actor_json.h>

#define REQUIRE(condition) do { if (!(condition)) { fprintf(stderr, "failed: %s (line %d)\n", #condition, __LINE__); abort(); } } while (0)

/* Writes `value` again through the writer: containers walked, strings decoded then encoded. */
static void rebuild(whj_writer *w, whj_value value) {
    whj_value key, item;
    char small[64];
    size_t length;
    switch (value.type) {
    case WHJ_OBJECT: case WHJ_ARRAY: {
        int object = value.type == WHJ_OBJECT;
        if (object) whj_write_object_begin(w); else whj_write_array_begin(w);
        whj_iterator it = whj_iterate(value);
        while (whj_next(&it, &key, &item)) {
            REQUIRE(item.start >= value.start && item.start + item.length <= value.start + value.length);
            if (object) {
                REQUIRE(key.type == WHJ_STRING);
                whj_string(key, NULL, 0, &length);
                char *name = (char *)malloc(length + 1);
                REQUIRE(name && whj_string(key, name, length + 1, &length));
                whj_write_key(w, name, length);
                free(name);
            }
            rebuild(w, item);
        }
        if (object) whj_write_object_end(w); else whj_write_array_end(w);
        break;
    }
    case WHJ_STRING: {
        whj_string(value, NULL, 0, &length);
        char *text = length < sizeof small ? small : (char *)malloc(length + 1);
        REQUIRE(text && whj_string(value, text, length + 1, &length));
        REQUIRE(whj_string_equals(value, text, length));
        whj_write_string(w, text, length);
        if (text != small) free(text);
        break;
    }
    case WHJ_NUMBER: {
        double real;
        int64_t whole;
        REQUIRE(whj_double(value, &real));
        (void)whj_int64(value, &whole);
        REQUIRE(whj_write_json(w, value.start, value.length, NULL) == NULL);
        break;
    }
    case WHJ_TRUE: case WHJ_FALSE: { int flag; REQUIRE(whj_bool(value, &flag)); whj_write_bool(w, flag); break; }
    case WHJ_NULL: whj_write_null(w); break;
    case WHJ_NONE: REQUIRE(0);
    }
}

static char *rebuilt(const uint8_t *text, size_t length, size_t *out_length) {
    whj_writer w;
    whj_writer_init(&w);
    rebuild(&w, whj_root(text, length));
    char *out = whj_writer_finish(&w, out_length);
    REQUIRE(out != NULL);
    REQUIRE(whj_check((const uint8_t *)out, *out_length, WHJ_MAX_DEPTH, NULL) == NULL);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A copy of exactly `size` bytes, so that ASan sees any read past the end. */
    uint8_t *text = (uint8_t *)malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    size_t offset;
    const char *fault = whj_check(text, size, WHJ_MAX_DEPTH, &offset);
    REQUIRE(fault == NULL || offset <= size);
    if (fault == NULL) {
        size_t first_length, second_length;
        char *first = rebuilt(text, size, &first_length);
        char *second = rebuilt((const uint8_t *)first, first_length, &second_length);
        REQUIRE(first_length == second_length && memcmp(first, second, first_length) == 0);
        free(first);
        free(second);
        /* Paths from the fuzzer's own bytes. */
        char path[32];
        size_t path_length = size < sizeof path - 1 ? size : sizeof path - 1;
        memcpy(path, data, path_length);
        path[path_length] = '\0';
        whj_value found = whj_path(whj_root(text, size), path);
        REQUIRE(found.type == WHJ_NONE || (found.start >= text && found.start + found.length <= text + size));
    }

    /* Any bytes as a string value. */
    whj_writer w;
    whj_writer_init(&w);
    whj_write_string(&w, (const char *)text, size);
    size_t length;
    char *string = whj_writer_finish(&w, &length);
    REQUIRE(string && whj_check((const uint8_t *)string, length, 1, NULL) == NULL);
    whj_value value = whj_root((const uint8_t *)string, length);
    size_t decoded_length;
    whj_string(value, NULL, 0, &decoded_length);
    char *decoded = (char *)malloc(decoded_length + 1);
    REQUIRE(decoded && whj_string(value, decoded, decoded_length + 1, &decoded_length));
    /* Valid UTF-8 comes back byte for byte; each invalid byte became U+FFFD. */
    whj_cursor probe = { text, size, 0, NULL };
    int valid_utf8 = 1;
    while (probe.at < size) {
        size_t step = text[probe.at] < 0x80 ? 1 : whj__utf8_length(text + probe.at, size - probe.at);
        if (step == 0) { valid_utf8 = 0; break; }
        probe.at += step;
    }
    if (valid_utf8) REQUIRE(decoded_length == size && memcmp(decoded, text, size) == 0);
    free(decoded);
    free(string);
    free(text);
    return 0;
}
