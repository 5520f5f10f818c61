/* The system libcurl, with typed wrappers for its variadic calls (Swift cannot call
 * curl_easy_setopt or curl_easy_getinfo directly). */
#include <curl/curl.h>

static inline CURLcode ccurl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*ccurl_write_fn)(char *data, size_t size, size_t count, void *context);

static inline CURLcode ccurl_set_writer(CURL *handle, ccurl_write_fn writer, void *context) {
    CURLcode result = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, writer);
    return result != CURLE_OK ? result : curl_easy_setopt(handle, CURLOPT_WRITEDATA, context);
}

static inline long ccurl_response_code(CURL *handle) {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* Where a 3xx answer points (absolute), or NULL; owned by the handle. */
static inline const char *ccurl_redirect_url(CURL *handle) {
    char *url = NULL;
    curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &url);
    return url;
}

static inline CURLcode ccurl_set_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* The bytes of all the response headers received, the 1xx ones included. */
static inline long ccurl_header_size(CURL *handle) {
    long size = 0;
    curl_easy_getinfo(handle, CURLINFO_HEADER_SIZE, &size);
    return size;
}
