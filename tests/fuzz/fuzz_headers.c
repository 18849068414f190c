/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_headers: any Cache-Control value gives one
 * that holds a bare private directive and no public nor s-maxage
 * directive outside quotes (directives split at commas outside '"',
 * optional whitespace trimmed, the name running to '=' or whitespace,
 * ASCII case-insensitive); every directive of the input other than those
 * is kept, in order.  rai_headers_dropped() does not depend on case.
 *
 * Input: a header value (cut at the first NUL), also taken as a header
 * name.
 *
 * Build and run (from the top of the tree): make fuzz-replay, make fuzz.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apr_general.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "rai_headers.h"

typedef struct {
    const char *start;
    size_t len, name_len;
} fuzz_directive_t;

/* The directives of s; returns how many (at most max). */
static size_t fuzz_directives(const char *s, fuzz_directive_t *d, size_t max)
{
    size_t n = 0;

    while (*s) {
        const char *start, *end;
        int quoted = 0;

        while (*s == ',' || apr_isspace(*s)) {
            s++;
        }
        for (start = end = s; *end && (quoted || *end != ','); end++) {
            quoted ^= *end == '"';
        }
        s = end;
        while (end > start && apr_isspace(end[-1])) {
            end--;
        }
        if (end > start && n < max) {
            size_t k = 0;
            while (start + k < end && start[k] != '=' && start[k] != ' '
                   && start[k] != '\t') {
                k++;
            }
            d[n].start = start;
            d[n].len = (size_t)(end - start);
            d[n].name_len = k;
            n++;
        }
    }
    return n;
}

static int fuzz_is(const fuzz_directive_t *d, const char *name)
{
    size_t k = strlen(name);

    return d->name_len == k && !strncasecmp(d->start, name, k);
}

#define FUZZ_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    static fuzz_directive_t in[FUZZ_MAX], out[FUZZ_MAX];
    apr_pool_t *p;
    char *value, *result, *upper;
    size_t nin, nout, i, j, bare = 0;

    if (!root) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&root, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    if (size > 16384) {
        return 0;
    }
    apr_pool_create(&p, root);
    value = apr_pstrmemdup(p, (const char *)data, size);
    result = rai_headers_private(p, value);
    nin = fuzz_directives(value, in, FUZZ_MAX);
    nout = fuzz_directives(result, out, FUZZ_MAX);
    if (nin >= FUZZ_MAX || nout >= FUZZ_MAX) {
        apr_pool_destroy(p);
        return 0;
    }
    for (i = 0; i < nout; i++) {
        if (fuzz_is(&out[i], "public") || fuzz_is(&out[i], "s-maxage")) {
            abort();
        }
        bare += out[i].len == 7 && fuzz_is(&out[i], "private");
    }
    if (!bare) {
        abort();
    }
    /* the other directives stay, in order (a bare private may come
     * first) */
    j = 0;
    if (nout && out[0].len == 7 && fuzz_is(&out[0], "private")) {
        int had = 0;
        for (i = 0; i < nin; i++) {
            had |= in[i].len == 7 && fuzz_is(&in[i], "private");
        }
        if (!had) {
            j = 1;
        }
    }
    for (i = 0; i < nin; i++) {
        if (fuzz_is(&in[i], "public") || fuzz_is(&in[i], "s-maxage")) {
            continue;
        }
        if (j >= nout || in[i].len != out[j].len
            || memcmp(in[i].start, out[j].start, in[i].len)) {
            abort();
        }
        j++;
    }
    if (j != nout) {
        abort();
    }

    upper = apr_pstrdup(p, value);
    for (i = 0; upper[i]; i++) {
        upper[i] = (char)apr_toupper(upper[i]);
    }
    if (!rai_headers_dropped(value) != !rai_headers_dropped(upper)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
