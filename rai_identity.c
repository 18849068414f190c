/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stdlib.h>

#include "apr_strings.h"
#include "apr_lib.h"

#define RAI_IDENTITY_HTTPD
#include "rai_identity.h"

#include "http_log.h"

/* ap_expr_parse_cmd() files its messages under the module */
APLOG_USE_MODULE(rai_embed);

const char *rai_identifier_parse(cmd_parms *cmd, apr_array_header_t *list,
                                 const char *key, const char *source)
{
    rai_identifier_t *id;
    const char *p;
    int i;

    if (strncmp(key, "data-", 5) != 0 || !key[5]) {
        return apr_psprintf(cmd->pool, "%s: identifier key '%s' must start "
                            "with 'data-' (e.g. data-customer-id)",
                            cmd->cmd->name, key);
    }
    for (p = key; *p; p++) {
        if (!apr_isalnum(*p) && *p != '-' && *p != '_') {
            return apr_psprintf(cmd->pool, "%s: identifier key '%s' may hold "
                                "only letters, digits, '-' and '_'",
                                cmd->cmd->name, key);
        }
    }
    for (i = 0; i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, rai_identifier_t).key, key)) {
            return apr_psprintf(cmd->pool, "%s: identifier key '%s' is "
                                "given twice in this scope",
                                cmd->cmd->name, key);
        }
    }

    id = apr_array_push(list);
    id->key = key;
    id->name = NULL;
    id->expr = NULL;
    if (!strcmp(source, "user")) {
        id->source = RAI_SOURCE_USER;
    }
    else if (!strncmp(source, "note:", 5) && source[5]) {
        id->source = RAI_SOURCE_NOTE;
        id->name = source + 5;
    }
    else if (!strncmp(source, "env:", 4) && source[4]) {
        id->source = RAI_SOURCE_ENV;
        id->name = source + 4;
    }
    else if (!strncmp(source, "expr=", 5) && source[5]) {
        const char *err = NULL;
        id->source = RAI_SOURCE_EXPR;
        id->expr = ap_expr_parse_cmd(cmd, source + 5,
                                     AP_EXPR_FLAG_STRING_RESULT, &err, NULL);
        if (err) {
            return apr_psprintf(cmd->pool, "%s: cannot parse expression "
                                "'%s' for %s: %s", cmd->cmd->name,
                                source + 5, key, err);
        }
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown source '%s' for %s; use "
                            "user, note:NAME, env:NAME or expr=STRING",
                            cmd->cmd->name, source, key);
    }
    return NULL;
}

const apr_array_header_t *rai_identifier_defaults(apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, 1, sizeof(rai_identifier_t));
    rai_identifier_t *id = apr_array_push(list);

    id->key = "data-customer-id";
    id->source = RAI_SOURCE_USER;
    id->name = NULL;
    id->expr = NULL;
    return list;
}

static const char *rai_identity_value(request_rec *r,
                                      const rai_identifier_t *id,
                                      const char **why)
{
    request_rec *main = r->main ? r->main : r;

    switch (id->source) {
    case RAI_SOURCE_USER:
        return r->user ? r->user : main->user;
    case RAI_SOURCE_NOTE: {
        const char *v = apr_table_get(r->notes, id->name);
        return v ? v : apr_table_get(main->notes, id->name);
    }
    case RAI_SOURCE_ENV:
        return apr_table_get(r->subprocess_env, id->name);
    case RAI_SOURCE_EXPR:
        return ap_expr_str_exec(r, id->expr, why);
    }
    return NULL;
}

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

/* Why a value may not be sent, or NULL: values are refused, never
 * truncated or cleaned. */
static const char *rai_identity_value_problem(const char *value)
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

rai_identity_status_e rai_identity_read(request_rec *r,
                                        const apr_array_header_t *identifiers,
                                        apr_array_header_t **identity,
                                        const char **key, const char **why)
{
    apr_array_header_t *items;
    int i;

    items = apr_array_make(r->pool, identifiers->nelts,
                           sizeof(rai_identity_item_t));
    for (i = 0; i < identifiers->nelts; i++) {
        const rai_identifier_t *id =
            &APR_ARRAY_IDX(identifiers, i, rai_identifier_t);
        const char *err = NULL;
        const char *value = rai_identity_value(r, id, &err);
        rai_identity_item_t *item;

        if (err) {
            err = apr_pstrcat(r->pool, "expression failed: ", err, NULL);
        }
        else if (!value || !*value) {
            continue;
        }
        else {
            err = rai_identity_value_problem(value);
        }
        if (err) {
            *key = id->key;
            *why = err;
            return RAI_IDENTITY_REFUSED;
        }
        item = apr_array_push(items);
        item->key = id->key;
        item->value = value;
    }
    *identity = items;
    return items->nelts ? RAI_IDENTITY_FOUND : RAI_IDENTITY_ANONYMOUS;
}

static int rai_identity_item_cmp(const void *a, const void *b)
{
    return strcmp(((const rai_identity_item_t *)a)->key,
                  ((const rai_identity_item_t *)b)->key);
}

const char *rai_identity_canonical(apr_pool_t *p,
                                   const apr_array_header_t *identity)
{
    apr_array_header_t *sorted = apr_array_copy(p, identity);
    char *out = "";
    int i;

    qsort(sorted->elts, sorted->nelts, sizeof(rai_identity_item_t),
          rai_identity_item_cmp);
    for (i = 0; i < sorted->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(sorted, i, rai_identity_item_t);
        /* length prefixes keep "a"+"bc" apart from "ab"+"c" */
        out = apr_psprintf(p, "%s%" APR_SIZE_T_FMT ":%s%" APR_SIZE_T_FMT
                           ":%s", out, strlen(item->key), item->key,
                           strlen(item->value), item->value);
    }
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
