/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include "apr_lib.h"
#include "apr_strings.h"

#include "rai_headers.h"

char *rai_headers_private(apr_pool_t *pool, const char *cache_control)
{
    const char *p = cache_control;
    char *out = "";
    int private = 0;

    while (*p) {
        const char *start, *end;
        int quoted = 0;
        apr_size_t name_len;

        while (*p == ',' || apr_isspace(*p)) {
            p++;
        }
        start = p;
        for (end = p; *end && (quoted || *end != ','); end++) {
            if (*end == '"') {
                quoted = !quoted;
            }
        }
        p = end;
        while (end > start && apr_isspace(end[-1])) {
            end--;
        }
        if (end == start) {
            continue;
        }
        name_len = strcspn(start, "=, \t");
        if (name_len > (apr_size_t)(end - start)) {
            name_len = (apr_size_t)(end - start);
        }
        if ((name_len == 6 && !strncasecmp(start, "public", 6))
            || (name_len == 8 && !strncasecmp(start, "s-maxage", 8))) {
            continue;
        }
        if (name_len == 7 && (apr_size_t)(end - start) == 7
            && !strncasecmp(start, "private", 7)) {
            private = 1;
        }
        out = apr_pstrcat(pool, out, *out ? ", " : "",
                          apr_pstrmemdup(pool, start,
                                         (apr_size_t)(end - start)), NULL);
    }
    if (!private) {
        out = apr_pstrcat(pool, "private", *out ? ", " : "", out, NULL);
    }
    return out;
}

/* Whether name ends in suffix, ASCII case-insensitively. */
static int rai_headers_ends_with(const char *name, const char *suffix)
{
    apr_size_t n = strlen(name), k = strlen(suffix);

    return n >= k && !strcasecmp(name + n - k, suffix);
}

int rai_headers_dropped(const char *name)
{
    static const char *const dropped[] = {
        "Content-Length", "ETag", "Last-Modified",
        /* CDNs and reverse proxies obey these over Cache-Control */
        "Edge-Control", "Akamai-Cache-Control", "X-Accel-Expires",
        "X-LiteSpeed-Cache-Control",
        /* digests of the body before the rewrite */
        "Content-MD5", "Digest", "Content-Digest", "Repr-Digest"
    };
    apr_size_t i;

    /* CDN-Cache-Control and every vendor's *-CDN-Cache-Control (RFC 9213);
     * Surrogate-Control and its vendor forms */
    if (rai_headers_ends_with(name, "CDN-Cache-Control")
        || rai_headers_ends_with(name, "Surrogate-Control")) {
        return 1;
    }
    for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        if (!strcasecmp(name, dropped[i])) {
            return 1;
        }
    }
    return 0;
}
