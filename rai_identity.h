/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_identity: who the request is for.  RaiEmbedIdentifier names where
 * each userIdentifiers value comes from; rai_identity_read() collects them
 * for one request. */
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

#ifdef RAI_IDENTITY_HTTPD   /* the parts that need httpd's types */
#include "httpd.h"
#include "http_config.h"
#include "ap_expr.h"

typedef enum {
    RAI_SOURCE_USER,        /* r->user */
    RAI_SOURCE_NOTE,        /* note:NAME, r->notes */
    RAI_SOURCE_ENV,         /* env:NAME, r->subprocess_env */
    RAI_SOURCE_EXPR         /* expr=STRING */
} rai_identity_source_e;

typedef struct {
    const char *key;
    rai_identity_source_e source;
    const char *name;
    ap_expr_info_t *expr;
} rai_identifier_t;

typedef enum {
    RAI_IDENTITY_FOUND,
    RAI_IDENTITY_ANONYMOUS,
    RAI_IDENTITY_REFUSED
} rai_identity_status_e;

/* Parses "KEY SOURCE" of RaiEmbedIdentifier into an identifier appended
 * to list.  Returns NULL or an error naming the directive. */
const char *rai_identifier_parse(cmd_parms *cmd, apr_array_header_t *list,
                                 const char *key, const char *source);

/* The default list: data-customer-id from r->user. */
const apr_array_header_t *rai_identifier_defaults(apr_pool_t *p);

/* Reads every identifier for r into *identity (rai_identity_item_t; only
 * those with a value).  REFUSED sets *why (no identity value in it) and
 * *key to the offending identifier. */
rai_identity_status_e rai_identity_read(request_rec *r,
                                        const apr_array_header_t *identifiers,
                                        apr_array_header_t **identity,
                                        const char **key, const char **why);
#endif

/* "data-customer-id=alice, data-email=..." for the debug log (httpd
 * escapes error-log messages itself). */
const char *rai_identity_describe(apr_pool_t *p,
                                  const apr_array_header_t *identity);

/* A canonical form of an identity (sorted by key, length-prefixed), for
 * the cache key: equal identities give equal strings. */
const char *rai_identity_canonical(apr_pool_t *p,
                                   const apr_array_header_t *identity);

#endif
