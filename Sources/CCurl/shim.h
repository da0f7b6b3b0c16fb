#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call: one typed wrapper per kind of argument.

typedef size_t (*embc_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode embc_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode embc_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode embc_setopt_callback(CURL *handle, CURLoption option, embc_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode embc_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
