/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_identity.c: RaiEmbedIdentifier names where each
 * userIdentifiers value comes from; rai_embed_identity_read() collects
 * them for one request. */

#include "mod_rai_embed.h"

const char *rai_embed_identifier_parse(cmd_parms *cmd, apr_array_header_t *list,
                                 const char *key, const char *source)
{
    rai_embed_identifier_t *id;
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
        if (!strcmp(APR_ARRAY_IDX(list, i, rai_embed_identifier_t).key, key)) {
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
        id->source = RAI_EMBED_SOURCE_USER;
    }
    else if (!strncmp(source, "note:", 5) && source[5]) {
        id->source = RAI_EMBED_SOURCE_NOTE;
        id->name = source + 5;
    }
    else if (!strncmp(source, "env:", 4) && source[4]) {
        id->source = RAI_EMBED_SOURCE_ENV;
        id->name = source + 4;
    }
    else if (!strncmp(source, "expr=", 5) && source[5]) {
        const char *err = NULL;
        id->source = RAI_EMBED_SOURCE_EXPR;
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

const apr_array_header_t *rai_embed_identifier_defaults(apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, 1, sizeof(rai_embed_identifier_t));
    rai_embed_identifier_t *id = apr_array_push(list);

    id->key = "data-customer-id";
    id->source = RAI_EMBED_SOURCE_USER;
    id->name = NULL;
    id->expr = NULL;
    return list;
}

static const char *rai_embed_identity_value(request_rec *r,
                                      const rai_embed_identifier_t *id,
                                      const char **why)
{
    request_rec *main = r->main ? r->main : r;

    switch (id->source) {
    case RAI_EMBED_SOURCE_USER:
        return r->user ? r->user : main->user;
    case RAI_EMBED_SOURCE_NOTE: {
        const char *v = apr_table_get(r->notes, id->name);
        return v ? v : apr_table_get(main->notes, id->name);
    }
    case RAI_EMBED_SOURCE_ENV:
        return apr_table_get(r->subprocess_env, id->name);
    case RAI_EMBED_SOURCE_EXPR:
        return ap_expr_str_exec(r, id->expr, why);
    }
    return NULL;
}

rai_embed_identity_status_e rai_embed_identity_read(request_rec *r,
                                        const apr_array_header_t *identifiers,
                                        apr_array_header_t **identity,
                                        const char **key, const char **why)
{
    apr_array_header_t *items;
    int i;

    items = apr_array_make(r->pool, identifiers->nelts,
                           sizeof(rai_identity_item_t));
    for (i = 0; i < identifiers->nelts; i++) {
        const rai_embed_identifier_t *id =
            &APR_ARRAY_IDX(identifiers, i, rai_embed_identifier_t);
        const char *err = NULL;
        const char *value = rai_embed_identity_value(r, id, &err);
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
            return RAI_EMBED_IDENTITY_REFUSED;
        }
        item = apr_array_push(items);
        item->key = id->key;
        item->value = value;
    }
    *identity = items;
    return items->nelts ? RAI_EMBED_IDENTITY_FOUND : RAI_EMBED_IDENTITY_ANONYMOUS;
}
