/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_identity: the pure parts of an identity (the userIdentifiers of a
 * token request): the checks on its values and its canonical form.
 * Reading an identity from a request is glue (mod_rai_embed_identity.c). */
#ifndef RAI_IDENTITY_H
#define RAI_IDENTITY_H

#include "apr_tables.h"

/* Identity values longer than this are refused, never truncated. */
#define RAI_IDENTITY_VALUE_MAX 512

/* One userIdentifiers member: "data-customer-id" => "alice". */
typedef struct {
    const char *key;
    const char *value;
} rai_identity_item_t;

/* Why an identity value may not be sent, or NULL: over
 * RAI_IDENTITY_VALUE_MAX bytes, a control character, or not UTF-8.
 * Values are refused, never truncated or cleaned. */
const char *rai_identity_value_problem(const char *value);


/* "data-customer-id=alice, data-email=..." for the debug log (httpd
 * escapes error-log messages itself). */
const char *rai_identity_describe(apr_pool_t *p,
                                  const apr_array_header_t *identity);

/* A canonical form of an identity (sorted by key, length-prefixed), for
 * the cache key: equal identities give equal strings. */
const char *rai_identity_canonical(apr_pool_t *p,
                                   const apr_array_header_t *identity);

/* The identity as HTML attributes for Attribute Auth:
 * ' data-customer-id="alice" data-email="..."', values escaped (& " ' < >)
 * so that none can leave its attribute; "" for an empty identity.  Keys
 * are checked at start-up (letters, digits, '-', '_'). */
char *rai_identity_attributes(apr_pool_t *p,
                              const apr_array_header_t *identity);

#endif
