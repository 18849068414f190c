/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_identity.c: the checks on identity values and the canonical form,
 * with no httpd types. */

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "rai_identity.h"


/* JSON strings are UTF-8: a value that is not would make the token
 * request itself invalid. */
static int rai_identity_utf8_ok(const unsigned char *p)
{
    while (*p) {
        unsigned int cp, min;
        int extra;

        if (*p < 0x80) {
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            extra = 1, min = 0x80, cp = *p & 0x1f;
        }
        else if ((*p & 0xf0) == 0xe0) {
            extra = 2, min = 0x800, cp = *p & 0x0f;
        }
        else if ((*p & 0xf8) == 0xf0) {
            extra = 3, min = 0x10000, cp = *p & 0x07;
        }
        else {
            return 0;
        }
        for (p++; extra--; p++) {
            if ((*p & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (*p & 0x3f);
        }
        /* overlong forms, surrogates and beyond U+10FFFF */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return 0;
        }
    }
    return 1;
}

const char *rai_identity_value_problem(const char *value)
{
    const unsigned char *p;

    if (strlen(value) > RAI_IDENTITY_VALUE_MAX) {
        return "value longer than 512 bytes";
    }
    for (p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return "value holds a control character";
        }
    }
    if (!rai_identity_utf8_ok((const unsigned char *)value)) {
        return "value is not valid UTF-8";
    }
    return NULL;
}


static int rai_identity_item_cmp(const void *a, const void *b)
{
    return strcmp(((const rai_identity_item_t *)a)->key,
                  ((const rai_identity_item_t *)b)->key);
}

/* Writes n in decimal at out; returns the end. */
static char *rai_identity_decimal(char *out, apr_size_t n)
{
    char digits[24];
    int k = 0;

    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (k) {
        *out++ = digits[--k];
    }
    return out;
}

const char *rai_identity_canonical(apr_pool_t *p,
                                   const apr_array_header_t *identity)
{
    const apr_array_header_t *sorted = identity;
    apr_size_t len = 1;
    char *out, *o;
    int i;

    if (identity->nelts > 1) {
        apr_array_header_t *copy = apr_array_copy(p, identity);

        qsort(copy->elts, copy->nelts, sizeof(rai_identity_item_t),
              rai_identity_item_cmp);
        sorted = copy;
    }
    /* "klen:key" "vlen:value" for each, in one allocation: length
     * prefixes keep "a"+"bc" apart from "ab"+"c" */
    for (i = 0; i < sorted->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(sorted, i, rai_identity_item_t);

        len += 2 * 21 + 2 + strlen(item->key) + strlen(item->value);
    }
    o = out = apr_palloc(p, len);
    for (i = 0; i < sorted->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(sorted, i, rai_identity_item_t);
        apr_size_t klen = strlen(item->key), vlen = strlen(item->value);

        o = rai_identity_decimal(o, klen);
        *o++ = ':';
        memcpy(o, item->key, klen);
        o = rai_identity_decimal(o + klen, vlen);
        *o++ = ':';
        memcpy(o, item->value, vlen);
        o += vlen;
    }
    *o = '\0';
    return out;
}

const char *rai_identity_describe(apr_pool_t *p,
                                  const apr_array_header_t *identity)
{
    char *out = "";
    int i;

    for (i = 0; i < identity->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(identity, i, rai_identity_item_t);
        out = apr_pstrcat(p, out, i ? ", " : "", item->key, "=",
                          item->value, NULL);
    }
    return out;
}

char *rai_identity_attributes(apr_pool_t *p,
                              const apr_array_header_t *identity)
{
    apr_size_t len = 0;
    char *out, *o;
    int i;

    /* at most 6 bytes per value byte (&quot;), plus ' key=""' */
    for (i = 0; i < identity->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(identity, i, rai_identity_item_t);
        len += strlen(item->key) + 4 + 6 * strlen(item->value);
    }
    o = out = apr_palloc(p, len + 1);
    for (i = 0; i < identity->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(identity, i, rai_identity_item_t);
        const char *v;

        *o++ = ' ';
        o = stpcpy(o, item->key);
        *o++ = '=';
        *o++ = '"';
        for (v = item->value; *v; v++) {
            switch (*v) {
            case '&':  o = stpcpy(o, "&amp;");  break;
            case '"':  o = stpcpy(o, "&quot;"); break;
            case '\'': o = stpcpy(o, "&#39;");  break;
            case '<':  o = stpcpy(o, "&lt;");   break;
            case '>':  o = stpcpy(o, "&gt;");   break;
            default:   *o++ = *v;
            }
        }
        *o++ = '"';
    }
    *o = '\0';
    return out;
}
