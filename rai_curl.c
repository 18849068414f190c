/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_curl: see rai_curl.h. */

#include <dlfcn.h>
#include <stddef.h>

#define RAI_CURL_TABLE 1
#include "rai_curl.h"

rai_curl_table_t rai_curl;

static int rai_curl_state;          /* 0: not tried, 1: loaded, -1: failed */
static const char *rai_curl_error;

/* dlsym's void * to a function pointer, as POSIX allows */
#define RAI_CURL_SYM(field, name)                                         \
    do {                                                                  \
        void *sym_ = dlsym(lib, name);                                    \
        if (!sym_) {                                                      \
            rai_curl_error = "libcurl lacks " name;                       \
            return rai_curl_error;                                        \
        }                                                                 \
        *(void **)(void *)&table.field = sym_;                            \
    } while (0)

static const char *rai_curl_open(void)
{
    rai_curl_table_t table;
    void *lib = dlopen(RAI_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (!lib) {
        const char *why = dlerror();
        rai_curl_error = why ? why : "cannot load " RAI_CURL_SONAME;
        return rai_curl_error;
    }
    RAI_CURL_SYM(global_init, "curl_global_init");
    RAI_CURL_SYM(easy_init, "curl_easy_init");
    RAI_CURL_SYM(easy_setopt, "curl_easy_setopt");
    RAI_CURL_SYM(easy_perform, "curl_easy_perform");
    RAI_CURL_SYM(easy_getinfo, "curl_easy_getinfo");
    RAI_CURL_SYM(easy_reset, "curl_easy_reset");
    RAI_CURL_SYM(easy_cleanup, "curl_easy_cleanup");
    RAI_CURL_SYM(easy_strerror, "curl_easy_strerror");
    RAI_CURL_SYM(slist_append, "curl_slist_append");
    RAI_CURL_SYM(slist_free_all, "curl_slist_free_all");
    if (table.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rai_curl_error = "curl_global_init failed";
        return rai_curl_error;
    }
    /* kept for the life of the process: curl_global_cleanup is not safe
     * while other libraries may still use OpenSSL */
    rai_curl = table;
    return NULL;
}

const char *rai_curl_load(void)
{
    if (!rai_curl_state) {
        rai_curl_state = rai_curl_open() ? -1 : 1;
    }
    return rai_curl_state > 0 ? NULL : rai_curl_error;
}
