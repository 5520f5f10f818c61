/*
 * wire_hostile_actor.c — an actor that abuses the worker's channels and the store's text,
 * for the wire and text tests. The input names what to do: {"do": "<action>", "n": "N"}
 *   echo         answer the input (the good call)
 *   log          log N messages through the host, then answer {"logged": N}
 *   log-flood    log through the host without end
 *   frame-flood  write log frames straight onto the worker's socket (fd 3) without end
 *   close-stdio  close stdin, stdout and stderr, then sleep 30 s
 *   close-wire   close the worker's socket, then sleep 30 s
 *   bad-text     fail (retryably) with a message holding a NUL byte and invalid UTF-8
 *   http         GET "url" through the host's HTTP service (the C ABI), answer {"status": S, "bytes": N}
 *                or fail with the host's error
 *   http-garbage write an httpRequest frame whose payload is no request straight onto fd 3
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wavehost/actor_abi.h>

static const wh_host_services *services;

static void answer(wh_reply *reply, const char *text, size_t length) {
    char *copy = malloc(length);
    memcpy(copy, text, length);
    reply->data = (const uint8_t *)copy;
    reply->length = length;
}

/* The string value of "key" in a flat JSON object (fixture-grade, not a parser). */
static int value_of(const uint8_t *input, size_t length, const char *key, char *out, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    size_t n = strlen(pattern);
    for (size_t i = 0; i + n <= length; i++) {
        if (memcmp(input + i, pattern, n) != 0) continue;
        size_t j = 0;
        while (i + n + j < length && input[i + n + j] != '"' && j + 1 < size) { out[j] = (char)input[i + n + j]; j++; }
        out[j] = 0;
        return 1;
    }
    return 0;
}

/* One wire frame (docs/sandbox.md): "WH", version 1, type 6 (log), status 2 (info). */
static void raw_log_frame(const char *message) {
    uint64_t length = strlen(message);
    uint8_t frame[16 + 64] = {0x57, 0x48, 1, 6, 2, 0, 0, 0};
    memcpy(frame + 8, &length, 8);
    memcpy(frame + 16, message, length);
    if (send(3, frame, 16 + length, MSG_NOSIGNAL) < 0) _exit(9);
}

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)config; (void)config_length; (void)reply;
    services = host;
    *instance = NULL;
    return WH_OK;
}

static wh_status invoke(void *instance, const uint8_t *input, size_t length, wh_reply *reply) {
    (void)instance;
    char action[32] = "echo", count[24] = "0", text[128];
    value_of(input, length, "do", action, sizeof action);
    value_of(input, length, "n", count, sizeof count);
    if (strcmp(action, "log") == 0) {
        long n = strtol(count, NULL, 10);
        for (long i = 0; i < n; i++) {
            int size = snprintf(text, sizeof text, "message %ld", i);
            services->log(services->context, WH_LOG_INFO, text, (size_t)size);
        }
        int size = snprintf(text, sizeof text, "{\"logged\":%ld}", n);
        answer(reply, text, (size_t)size);
        return WH_OK;
    } else if (strcmp(action, "log-flood") == 0) {
        for (;;) services->log(services->context, WH_LOG_INFO, "flood", 5);
    } else if (strcmp(action, "frame-flood") == 0) {
        for (;;) raw_log_frame("flood");
    } else if (strcmp(action, "close-stdio") == 0) {
        close(0); close(1); close(2);
        sleep(30);
    } else if (strcmp(action, "close-wire") == 0) {
        close(3);
        sleep(30);
    } else if (strcmp(action, "http") == 0) {
        char url[256] = "";
        value_of(input, length, "url", url, sizeof url);
        if (!wh_host_offers_http(services)) { answer(reply, "no http service", 15); return WH_ERR_FAILED; }
        wh_http_header accept = {"Accept", 6, "application/json", 16};
        wh_http_request request = {sizeof request, 5000, "GET", 3, url, strlen(url), &accept, 1, NULL, 0};
        wh_http_response response = {.struct_size = sizeof response};
        wh_status status = services->http(services->context, &request, &response);
        int size = status == WH_OK
            ? snprintf(text, sizeof text, "{\"status\":%d,\"bytes\":%zu}", (int)response.status, response.body_length)
            : snprintf(text, sizeof text, "%.*s", (int)response.error_length, response.error ? response.error : "");
        services->http_release(services->context, &response);
        answer(reply, text, (size_t)size);
        return status;
    } else if (strcmp(action, "http-garbage") == 0) {
        uint8_t frame[16 + 4] = {0x57, 0x48, 1, 7, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
        if (send(3, frame, sizeof frame, MSG_NOSIGNAL) < 0) _exit(9);
        sleep(30);
    } else if (strcmp(action, "bad-text") == 0) {
        static const char message[] = "bad\0byte \xff\xfe end";
        answer(reply, message, sizeof message - 1);
        return WH_ERR_UNAVAILABLE;   /* retryable, so the text also lands in a retry's cause */
    }
    answer(reply, (const char *)input, length);
    return WH_OK;
}

static void release(wh_reply *reply) { free((void *)reply->data); }
static void destroy(void *instance) { (void)instance; }

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "wire-hostile",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
    .capabilities = 0,
    .create = create,
    .invoke = invoke,
    .release = release,
    .destroy = destroy,
};

WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? &descriptor : NULL;
}
