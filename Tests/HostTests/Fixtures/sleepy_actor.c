/*
 * sleepy_actor.c — "sleepy": sleeps SLEEP_MS milliseconds (a compile-time define), then
 * answers {"slept_ms": N}. For the serve tests: calls that are surely in flight when a
 * signal comes. (Each build's hash differs by SLEEP_MS, which tells its workers apart.)
 * With SLEEP_WHEN="text" it sleeps only when its input contains that text: one slow call
 * among fast ones, for the in-process deadline tests. Not thread-safe, on purpose.
 * EXAMPLES="[...]" gives it examples (JSON text), for the checker's deadline tests.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wavehost/actor_abi.h>

#ifndef SLEEP_MS
#define SLEEP_MS 500
#endif

static wh_status create(const uint8_t *config, size_t config_length, const wh_host_services *host,
                        void **instance, wh_reply *reply) {
    (void)config; (void)config_length; (void)host; (void)reply;
    *instance = NULL;
    return WH_OK;
}

static wh_status invoke(void *instance, const uint8_t *input, size_t length, wh_reply *reply) {
    (void)instance; (void)input; (void)length;
    struct timespec pause = {SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L};
#ifdef SLEEP_WHEN
    if (memmem(input, length, SLEEP_WHEN, strlen(SLEEP_WHEN)) != NULL)
#endif
    while (nanosleep(&pause, &pause) != 0) {}
    char *text = malloc(64);
    int n = snprintf(text, 64, "{\"slept_ms\":%d}", SLEEP_MS);
    reply->data = (const uint8_t *)text;
    reply->length = (size_t)n;
    return WH_OK;
}

static void release(wh_reply *reply) { free((void *)reply->data); }
static void destroy(void *instance) { (void)instance; }

static const wh_actor_descriptor descriptor = {
    .struct_size = sizeof(wh_actor_descriptor),
    .abi_version = 1,
    .name = "sleepy",
    .version = "1.0.0",
    .kind = WH_KIND_OTHER,
    .capabilities = 0,
    .create = create,
    .invoke = invoke,
    .release = release,
    .destroy = destroy,
#ifdef EXAMPLES
    .examples = EXAMPLES,
#endif
};

WH_EXPORT const wh_actor_descriptor *wavehost_actor_entry(uint32_t abi_version, wh_abi_range *speaks) {
    if (speaks) { speaks->min_version = 1; speaks->max_version = 1; }
    return abi_version == 1 ? &descriptor : NULL;
}
