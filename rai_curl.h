/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_curl: libcurl, loaded with dlopen() by each process that calls the
 * token API, not linked into the module.  Linked, its libraries (TLS,
 * Kerberos, LDAP, SSH, HTTP/2, ... about thirty) would be mapped into
 * httpd's parent process and so into every process forked from it: the
 * cgid daemon forks each CGI from that image, and a larger image makes
 * every fork dearer, with or without RaiEmbed on.  The worker children
 * load it in child_init.
 *
 * Include this instead of <curl/curl.h>: the curl_* calls of the file
 * then go through the table.  Plain C and dlfcn. */
#ifndef RAI_CURL_H
#define RAI_CURL_H

/* the table needs plain prototypes, not curl's type-checking macros */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

/* The soname the module was built against (libcurl's ABI 4). */
#define RAI_CURL_SONAME "libcurl.so.4"

typedef struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_reset)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
} rai_curl_table_t;

extern rai_curl_table_t rai_curl;

/* Loads libcurl and runs curl_global_init, once per process (not thread
 * safe: call it before threads start).  NULL, or why it could not. */
const char *rai_curl_load(void);

#ifndef RAI_CURL_TABLE
/* curl.h makes these two macros that count their arguments */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init  rai_curl.global_init
#define curl_easy_init    rai_curl.easy_init
#define curl_easy_setopt  rai_curl.easy_setopt
#define curl_easy_perform rai_curl.easy_perform
#define curl_easy_getinfo rai_curl.easy_getinfo
#define curl_easy_reset   rai_curl.easy_reset
#define curl_easy_cleanup rai_curl.easy_cleanup
#define curl_easy_strerror rai_curl.easy_strerror
#define curl_slist_append rai_curl.slist_append
#define curl_slist_free_all rai_curl.slist_free_all
#endif

#endif
