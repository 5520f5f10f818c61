/*
 * hostile_actor.c — an actor that misbehaves on request, for the sandbox tests.
 *
 * The input names what to do: {"do": "<action>", ...}
 *   echo      answer the input (the good call)
 *   loop      spin forever
 *   segfault  write through NULL
 *   abort     call abort()
 *   exit      call exit(3)
 *   allocate  allocate and touch memory until malloc fails; answer how much it got
 *   garbage   print binary junk to stdout and stderr, then answer normally
 *   huge      answer a valid JSON string of "bytes" bytes (a string of digits; default 100 MiB)
 *   socket    try to open a TCP socket; answer {"socket": "created" | "denied", "errno": N}
 *   write     try to create the file "path"; answer {"write": "allowed" | "denied", "errno": N}
 *   status    answer the NoNewPrivs and Seccomp lines of /proc/self/status
 * Built with -DNETWORK it declares the network capability.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wavehost/actor_abi.h>

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

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)config; (void)config_length; (void)host; (void)reply;
    *instance = NULL;
    return WH_OK;
}

static wh_status invoke(void *instance, const uint8_t *input, size_t length, wh_reply *reply) {
    (void)instance;
    char action[32] = "echo", text[256];
    value_of(input, length, "do", action, sizeof action);
    if (strcmp(action, "loop") == 0) {
        for (volatile unsigned long spin = 0;; spin++) {}
    } else if (strcmp(action, "segfault") == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    } else if (strcmp(action, "abort") == 0) {
        abort();
    } else if (strcmp(action, "exit") == 0) {
        exit(3);
    } else if (strcmp(action, "allocate") == 0) {
        size_t total = 0;
        for (;;) {
            char *block = malloc(16 << 20);
            if (!block) break;
            memset(block, 1, 16 << 20);   /* touch it, so it is real memory */
            total += 16 << 20;
        }
        int n = snprintf(text, sizeof text, "{\"allocated_mib\":%zu,\"stopped\":true}", total >> 20);
        answer(reply, text, (size_t)n);
        return WH_OK;   /* leaks on purpose: the worker is what pays */
    } else if (strcmp(action, "garbage") == 0) {
        static const char junk[] = "\x00\xff WH\x01\x04 not a frame {{{";
        fwrite(junk, 1, sizeof junk, stdout);
        fflush(stdout);
        fwrite(junk, 1, sizeof junk, stderr);
    } else if (strcmp(action, "huge") == 0) {
        char amount[24] = "";
        size_t bytes = value_of(input, length, "bytes", amount, sizeof amount) ? strtoull(amount, NULL, 10) : 100u << 20;
        if (bytes < 2) bytes = 2;
        char *out = malloc(bytes);
        if (!out) { answer(reply, "out of memory", 13); return WH_ERR_INTERNAL; }
        memset(out, 'x', bytes);
        out[0] = '"';
        out[bytes - 1] = '"';
        reply->data = (const uint8_t *)out;
        reply->length = bytes;
        return WH_OK;
    } else if (strcmp(action, "socket") == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int n = snprintf(text, sizeof text, "{\"socket\":\"%s\",\"errno\":%d}", fd >= 0 ? "created" : "denied", fd >= 0 ? 0 : errno);
        if (fd >= 0) close(fd);
        answer(reply, text, (size_t)n);
        return WH_OK;
    } else if (strcmp(action, "write") == 0) {
        char path[200] = "";
        value_of(input, length, "path", path, sizeof path);
        FILE *file = fopen(path, "w");
        int n = snprintf(text, sizeof text, "{\"write\":\"%s\",\"errno\":%d}", file ? "allowed" : "denied", file ? 0 : errno);
        if (file) fclose(file);
        answer(reply, text, (size_t)n);
        return WH_OK;
    } else if (strcmp(action, "status") == 0) {
        int no_new_privs = -1, seccomp = -1;
        FILE *status = fopen("/proc/self/status", "r");
        char line[256];
        while (status && fgets(line, sizeof line, status)) {
            sscanf(line, "NoNewPrivs: %d", &no_new_privs);
            sscanf(line, "Seccomp: %d", &seccomp);
        }
        if (status) fclose(status);
        int n = snprintf(text, sizeof text, "{\"no_new_privs\":%d,\"seccomp\":%d}", no_new_privs, seccomp);
        answer(reply, text, (size_t)n);
        return WH_OK;
    }
    answer(reply, (const char *)input, length);
    return WH_OK;
}

static void release(wh_reply *reply) { free((void *)reply->data); }
static void destroy(void *instance) { (void)instance; }

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "hostile",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
#ifdef NETWORK
    .capabilities = WH_CAP_NETWORK,
#else
    .capabilities = 0,
#endif
    .create = create,
    .invoke = invoke,
    .release = release,
    .destroy = destroy,
};

WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? &descriptor : NULL;
}
