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

/* Whether name, of n bytes, ends in suffix, ASCII case-insensitively. */
static int rai_headers_ends_with(const char *name, apr_size_t n,
                                 const char *suffix, apr_size_t k)
{
    return n >= k && !strcasecmp(name + n - k, suffix);
}

#define RAI_HEADER(name) { name, sizeof(name) - 1 }

int rai_headers_dropped(const char *name)
{
    static const struct {
        const char *name;
        apr_size_t len;
    } dropped[] = {
        RAI_HEADER("Content-Length"), RAI_HEADER("ETag"),
        RAI_HEADER("Last-Modified"),
        /* CDNs and reverse proxies obey these over Cache-Control */
        RAI_HEADER("Edge-Control"), RAI_HEADER("Akamai-Cache-Control"),
        RAI_HEADER("X-Accel-Expires"), RAI_HEADER("X-LiteSpeed-Cache-Control"),
        /* digests of the body before the rewrite */
        RAI_HEADER("Content-MD5"), RAI_HEADER("Digest"),
        RAI_HEADER("Content-Digest"), RAI_HEADER("Repr-Digest")
    };
    apr_size_t i, len = strlen(name);

    /* CDN-Cache-Control and every vendor's *-CDN-Cache-Control (RFC 9213);
     * Surrogate-Control and its vendor forms */
    if (rai_headers_ends_with(name, len, "CDN-Cache-Control",
                              sizeof("CDN-Cache-Control") - 1)
        || rai_headers_ends_with(name, len, "Surrogate-Control",
                                 sizeof("Surrogate-Control") - 1)) {
        return 1;
    }
    /* a page's headers are mostly none of these: their lengths tell */
    for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        if (dropped[i].len == len && !strcasecmp(name, dropped[i].name)) {
            return 1;
        }
    }
    return 0;
}
