/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_headers: the header changes of a page the filter rewrites, as pure
 * functions over header names and values.  APR only. */
#ifndef RAI_HEADERS_H
#define RAI_HEADERS_H

#include "apr_pools.h"

/* The Cache-Control value for a rewritten page, from every Cache-Control
 * line it had joined with ", " ("" for none): public and s-maxage
 * removed, and private first unless a bare private is already there (a
 * qualified private="..." still lets a shared cache keep the body). */
char *rai_headers_private(apr_pool_t *p, const char *cache_control);

/* Whether a response header must not leave with a rewritten page: its
 * length, validators and body digests no longer hold, and CDN cache
 * controls would store it over Cache-Control. */
int rai_headers_dropped(const char *name);

#endif
