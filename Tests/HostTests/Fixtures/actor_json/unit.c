/* Unit tests of wavehost/actor_json.h, the C actor helper: built and run by
 * ActorJSONHelperTests with -Wall -Wextra -Wpedantic -Werror, as C11 and as C++. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <wavehost/actor_json.h>

static int failures = 0;

#define EXPECT(condition, ...) do { if (!(condition)) { failures++; \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static const char *check(const char *text, size_t *offset) {
    return whj_check((const uint8_t *)text, strlen(text), WHJ_MAX_DEPTH, offset);
}

static whj_value root(const char *text) {
    size_t offset;
    const char *fault = check(text, &offset);
    EXPECT(fault == NULL, "expected valid: %s (%s at %zu)", text, fault, offset);
    return whj_root((const uint8_t *)text, strlen(text));
}

static void test_check(void) {
    const char *valid[] = {
        "0", "-0", "1.5e-3", "-12E+4", "\"\"", "\"\\u00e9\\uD83D\\uDE00\"", "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"",
        "[]", "{}", " [1, [2, {\"a\": [null, true, false]}]] ", "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        size_t offset;
        const char *fault = check(valid[i], &offset);
        EXPECT(fault == NULL, "refused %s: %s at %zu", valid[i], fault, offset);
    }
    struct { const char *text; size_t offset; const char *fault; } invalid[] = {
        { "", 0, "empty input" },
        { "01", 1, "leading zeros are not allowed" },
        { "[1,]", 3, "unexpected character" },
        { "{\"a\" 1}", 5, "expected ':' after object key" },
        { "\"\xC0\xAF\"", 1, "invalid UTF-8 sequence" },          /* overlong '/' */
        { "\"\xED\xA0\x80\"", 1, "invalid UTF-8 sequence" },      /* a surrogate in UTF-8 */
        { "\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8 sequence" },  /* past U+10FFFF */
        { "\"\\uD800\"", 1, "unpaired surrogate in \\u escape" },
        { "\"\\uDC00\\uD800\"", 1, "unpaired surrogate in \\u escape" },
        { "\"a\tb\"", 2, "control character in string" },
        { "[1] 2", 4, "unexpected data after the JSON value" },
        { "tru", 0, "invalid literal" },
        { "[1", 2, "unterminated array" },
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        size_t offset = 99;
        const char *fault = check(invalid[i].text, &offset);
        EXPECT(fault && strcmp(fault, invalid[i].fault) == 0 && offset == invalid[i].offset,
               "case %zu: expected \"%s\" at %zu, got \"%s\" at %zu", i, invalid[i].fault, invalid[i].offset,
               fault ? fault : "(valid)", offset);
    }
    /* Depth: 512 levels pass, 513 do not, and a megabyte of '[' costs no stack. */
    static char deep[1 << 20];
    memset(deep, '[', 512);
    memset(deep + 512, ']', 512);
    EXPECT(whj_check((const uint8_t *)deep, 1024, WHJ_MAX_DEPTH, NULL) == NULL, "512 levels refused");
    EXPECT(whj_check((const uint8_t *)deep, 1024, 511, NULL) != NULL, "512 levels passed a limit of 511");
    memset(deep, '[', sizeof deep);
    size_t offset;
    const char *fault = whj_check((const uint8_t *)deep, sizeof deep, WHJ_MAX_DEPTH, &offset);
    EXPECT(fault && strcmp(fault, "nesting too deep") == 0 && offset == 512, "deep: %s at %zu", fault, offset);
    EXPECT(whj_check(NULL, 0, WHJ_MAX_DEPTH, NULL) != NULL, "NULL, 0 passed");
}

static void test_reading(void) {
    whj_value doc = root("{\"user\": {\"name\": \"Ada \\\"L\\\" \\u00e9\\n\", \"age\": 36, \"admin\": false},"
                         " \"items\": [{\"price\": 2.5}, {\"price\": -1e2}], \"big\": 9223372036854775808,"
                         " \"min\": -9223372036854775808, \"a.b\": 1, \"k\\u0065y\": \"escaped name\"}");
    char buffer[64];
    size_t length;
    EXPECT(whj_string(whj_path(doc, "user.name"), buffer, sizeof buffer, &length)
           && length == 11 && memcmp(buffer, "Ada \"L\" \xC3\xA9\n", 11) == 0 && buffer[11] == '\0',
           "user.name decoded as %.*s (%zu)", (int)length, buffer, length);
    EXPECT(!whj_string(whj_path(doc, "user.name"), buffer, 5, &length) && length == 11, "a small buffer passed");
    EXPECT(!whj_string(whj_path(doc, "user.name"), NULL, 0, &length) && length == 11, "size query gave %zu", length);
    int64_t number;
    EXPECT(whj_int64(whj_path(doc, "user.age"), &number) && number == 36, "age %lld", (long long)number);
    EXPECT(!whj_int64(whj_path(doc, "big"), &number), "2^63 fit in int64");
    EXPECT(whj_int64(whj_path(doc, "min"), &number) && number == INT64_MIN, "INT64_MIN");
    EXPECT(!whj_int64(whj_path(doc, "items.0.price"), &number), "2.5 read as an integer");
    double real;
    EXPECT(whj_double(whj_path(doc, "items.0.price"), &real) && real == 2.5, "price %g", real);
    EXPECT(whj_double(whj_path(doc, "items.1.price"), &real) && real == -100, "price %g", real);
    int flag = 1;
    EXPECT(whj_bool(whj_path(doc, "user.admin"), &flag) && flag == 0, "admin");
    EXPECT(whj_path(doc, "items.2").type == WHJ_NONE, "items.2 exists");
    EXPECT(whj_path(doc, "user.name.first").type == WHJ_NONE, "a path through a string");
    EXPECT(whj_path(doc, "missing").type == WHJ_NONE, "missing exists");
    EXPECT(whj_path(doc, "").type == WHJ_OBJECT, "the empty path");
    EXPECT(whj_member(doc, "a.b", 3).type == WHJ_NUMBER, "a member with a dot");
    EXPECT(whj_string_equals(whj_member(doc, "key", 3), "escaped name", 12), "a name with an escape");
    EXPECT(whj_path(doc, "items").type == WHJ_ARRAY && whj_path(doc, "items").length == 33, "items' slice");

    /* Iteration sees every member in order, with names. */
    whj_iterator it = whj_iterate(whj_path(doc, "user"));
    whj_value key, value;
    const char *names[] = { "name", "age", "admin" };
    size_t count = 0;
    while (whj_next(&it, &key, &value)) {
        EXPECT(count < 3 && whj_string_equals(key, names[count], strlen(names[count])), "member %zu", count);
        count++;
    }
    EXPECT(count == 3, "%zu members", count);
    it = whj_iterate(root("[ ]"));
    EXPECT(!whj_next(&it, NULL, &value), "an empty array has an element");

    /* Numbers, locale-free. */
    struct { const char *text; double value; } numbers[] = {
        { "0", 0 }, { "-0.0", 0 }, { "1e308", 1e308 }, { "1e309", INFINITY }, { "0.1", 0.1 },
        { "123456789012345", 123456789012345.0 }, { "3.14159", 3.14159 }, { "1e-5", 1e-5 }, { "2e-400", 0 },
    };
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        EXPECT(whj_double(root(numbers[i].text), &real) && real == numbers[i].value,
               "%s read as %.17g", numbers[i].text, real);
    }
}

static char *finish(whj_writer *w, size_t *length) {
    char *text = whj_writer_finish(w, length);
    if (text) {
        size_t offset;
        const char *fault = whj_check((const uint8_t *)text, *length, WHJ_MAX_DEPTH, &offset);
        EXPECT(fault == NULL, "the writer wrote invalid JSON %s: %s at %zu", text, fault, offset);
    }
    return text;
}

static void test_writing(void) {
    whj_writer w;
    whj_writer_init(&w);
    whj_write_object_begin(&w);
    whj_write_key(&w, "text", 4);
    static const char awkward[] = "q\"b\\n\n\x01\x7f \xC3\xA9 \xFF\xC0 end";
    whj_write_string(&w, awkward, sizeof awkward - 1);
    whj_write_key(&w, "numbers", 7);
    whj_write_array_begin(&w);
    whj_write_int64(&w, INT64_MIN);
    whj_write_double(&w, 3);
    whj_write_double(&w, 0.1);
    whj_write_double(&w, 1e300);
    whj_write_bool(&w, 1);
    whj_write_null(&w);
    whj_write_array_end(&w);
    whj_write_key(&w, "raw", 3);
    EXPECT(whj_write_json(&w, (const uint8_t *)"{\"a\": [1]}", 10, NULL) == NULL, "raw refused");
    whj_write_object_end(&w);
    size_t length;
    char *text = finish(&w, &length);
    const char *expected = "{\"text\":\"q\\\"b\\\\n\\n\\u0001\x7f \xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD end\","
                           "\"numbers\":[-9223372036854775808,3,0.10000000000000001,1.0000000000000001e+300,true,null],"
                           "\"raw\":{\"a\": [1]}}";
    EXPECT(text && strcmp(text, expected) == 0 && length == strlen(expected), "wrote %s", text ? text : "(null)");
    free(text);

    /* Misuse fails the writer instead of writing invalid JSON. */
    whj_writer_init(&w);
    whj_write_object_begin(&w);
    whj_write_string(&w, "no key", 6);
    EXPECT(whj_writer_finish(&w, &length) == NULL && length == 0, "a value without a key");
    whj_writer_init(&w);
    whj_write_array_begin(&w);
    whj_write_double(&w, NAN);
    whj_write_array_end(&w);
    EXPECT(whj_writer_finish(&w, NULL) == NULL, "NaN");
    whj_writer_init(&w);
    whj_write_array_begin(&w);
    EXPECT(whj_writer_finish(&w, NULL) == NULL, "an open array");
    whj_writer_init(&w);
    whj_write_null(&w);
    whj_write_null(&w);
    EXPECT(whj_writer_finish(&w, NULL) == NULL, "two documents");
    whj_writer_init(&w);
    whj_write_array_begin(&w);
    whj_write_object_end(&w);
    EXPECT(whj_writer_finish(&w, NULL) == NULL, "a mismatched end");
    whj_writer_init(&w);
    for (int i = 0; i < WHJ_MAX_DEPTH + 1; i++) whj_write_array_begin(&w);
    EXPECT(w.failed, "513 levels");
    whj_writer_discard(&w);
    whj_writer_init(&w);
    whj_write_array_begin(&w);
    EXPECT(whj_write_json(&w, (const uint8_t *)"[1,", 3, NULL) != NULL, "invalid raw JSON accepted");
    EXPECT(whj_writer_finish(&w, NULL) == NULL, "a writer with invalid raw JSON finished");

    /* Every decoded string written again reads back the same. */
    whj_value original = root("\"\\u0000 \\uD83D\\uDE00 \\/ \\t\"");
    char decoded[32];
    size_t decoded_length;
    EXPECT(whj_string(original, decoded, sizeof decoded, &decoded_length) && decoded_length == 10, "decoded %zu", decoded_length);
    whj_writer_init(&w);
    whj_write_string(&w, decoded, decoded_length);
    text = finish(&w, &length);
    char again[32];
    size_t again_length;
    EXPECT(text && whj_string(whj_root((const uint8_t *)text, length), again, sizeof again, &again_length)
           && again_length == decoded_length && memcmp(again, decoded, decoded_length) == 0, "round trip of %s", text);
    free(text);
}

int main(void) {
    test_check();
    test_reading();
    test_writing();
    if (failures) { fprintf(stderr, "%d failures\n", failures); return 1; }
    puts("actor_json: all passed");
    return 0;
}
