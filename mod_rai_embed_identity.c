/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_identity.c: RaiEmbedIdentifier names where each
 * userIdentifiers value comes from; rai_embed_identity_read() collects
 * them for one request.
 *
 * A header:NAME source is a response header the application sets
 * (PHP-FPM's header(), a CGI, a proxied app).  Two filters, sharing one
 * context, remove it from every response of a scope that names it, so it
 * never reaches a client or a cache:
 *
 *   handler -> RAI_EMBED (RESOURCE) -> RAI_EMBED_APP_CAPTURE
 *   (CONTENT_SET-1: keeps the application's value, removes it) ->
 *   FIXUP_HEADERS_OUT (mod_headers, CONTENT_SET) -> RAI_EMBED_APP_HEADERS
 *   (CONTENT_SET, inserted after mod_headers' filter: removes what
 *   mod_headers set) -> mod_deflate, CACHE_SAVE (CONTENT_SET+1) ->
 *   HTTP_HEADER (PROTOCOL)
 *
 * Both are inserted by insert_filter (every response that reaches a
 * handler, whatever RaiEmbed says) and by insert_error_filter (responses
 * httpd makes itself: ap_send_error_response drops the other filters),
 * and strip on each call.  RAI_EMBED, which may meet its first widget only
 * after the headers left, reads the value the capture kept: the
 * application's, never one that mod_headers added on the way out. */

#include "http_request.h"

#include "mod_rai_embed.h"

#define RAI_EMBED_APP_CAPTURE_FILTER "RAI_EMBED_APP_CAPTURE"
#define RAI_EMBED_APP_HEADERS_FILTER "RAI_EMBED_APP_HEADERS"

static ap_filter_rec_t *rai_embed_app_capture_handle;
static ap_filter_rec_t *rai_embed_app_headers_handle;

/* Response headers that httpd or HTTP need: a header: source would remove
 * them from every response. */
static const char *const rai_embed_reserved_headers[] = {
    "Content-Type", "Content-Length", "Content-Encoding", "Content-Range",
    "Content-Language", "Content-Location", "Content-Disposition",
    "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer",
    "Location", "Status", "Set-Cookie", "Set-Cookie2", "Cache-Control",
    "Expires", "Pragma", "ETag", "Last-Modified", "Vary", "Date", "Server",
    "Allow", "Accept-Ranges", "Age", "Retry-After", "WWW-Authenticate",
    "Proxy-Authenticate", "Strict-Transport-Security",
    "Content-Security-Policy", NULL
};

/* NULL, or why NAME cannot be a header: source. */
static const char *rai_embed_header_name_problem(const char *name)
{
    const char *p;
    int i;

    for (p = name; *p; p++) {
        /* an RFC 9110 token */
        if (!apr_isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p)) {
            return "is not a header field name";
        }
    }
    if (p - name > 128) {
        return "is longer than 128 characters";
    }
    for (i = 0; rai_embed_reserved_headers[i]; i++) {
        if (!strcasecmp(name, rai_embed_reserved_headers[i])) {
            return "is a header httpd and HTTP need (it would be removed "
                   "from every response); use a name of your own such as "
                   "X-Rai-Customer-Id";
        }
    }
    return NULL;
}

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
    else if (!strncmp(source, "header:", 7) && source[7]) {
        const char *problem = rai_embed_header_name_problem(source + 7);
        if (problem) {
            return apr_psprintf(cmd->pool, "%s: header name '%s' for %s %s",
                                cmd->cmd->name, source + 7, key, problem);
        }
        id->source = RAI_EMBED_SOURCE_HEADER;
        id->name = source + 7;
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
                            "user, note:NAME, env:NAME, header:NAME or "
                            "expr=STRING",
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

/* --- header: sources and RAI_EMBED_APP_HEADERS ------------------------- */

/* One response's RAI_EMBED_APP_CAPTURE and RAI_EMBED_APP_HEADERS. */
typedef struct {
    const apr_array_header_t *names;    /* const char * */
    apr_table_t *removed;               /* the first value of each, as the
                                           application sent it */
} rai_embed_app_headers_ctx;

/* The first value of a response header: headers_out, then
 * err_headers_out (where CGI and FastCGI headers land). */
static const char *rai_embed_response_header(request_rec *r, const char *name)
{
    const char *v = apr_table_get(r->headers_out, name);

    return v ? v : apr_table_get(r->err_headers_out, name);
}

/* header:NAME for r: still in the response, or removed by this response's
 * RAI_EMBED_APP_CAPTURE.  Never a request header. */
static const char *rai_embed_app_header(request_rec *r, const char *name)
{
    const char *v = rai_embed_response_header(r, name);
    ap_filter_t *f;

    for (f = r->output_filters; !v && f; f = f->next) {
        if (f->frec == rai_embed_app_capture_handle && f->ctx) {
            rai_embed_app_headers_ctx *ctx = f->ctx;
            v = apr_table_get(ctx->removed, name);
        }
    }
    return v;
}

static apr_status_t rai_embed_app_headers_filter(ap_filter_t *f,
                                                 apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    rai_embed_app_headers_ctx *ctx = f->ctx;
    int i;

    /* on every call: until HTTP_HEADER has sent them, anyone may still set
     * headers (r->sent_bodyct does not say: mod_proxy_http sets it early) */
    if (ctx) {
        for (i = 0; i < ctx->names->nelts; i++) {
            const char *name = APR_ARRAY_IDX(ctx->names, i, const char *);
            const char *v = rai_embed_response_header(r, name);

            if (!v) {
                continue;
            }
            if (f->frec == rai_embed_app_capture_handle
                && !apr_table_get(ctx->removed, name)) {
                apr_table_setn(ctx->removed, name, v);
            }
            apr_table_unset(r->headers_out, name);
            apr_table_unset(r->err_headers_out, name);
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0060: response "
                          "header %s (a header: identity source) removed "
                          "before the response leaves httpd", name);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

static void rai_embed_add_names(apr_array_header_t *names,
                                const apr_array_header_t *add)
{
    int i, j;

    for (i = 0; add && i < add->nelts; i++) {
        const char *name = APR_ARRAY_IDX(add, i, const char *);
        for (j = 0; j < names->nelts; j++) {
            if (!strcasecmp(APR_ARRAY_IDX(names, j, const char *), name)) {
                break;
            }
        }
        if (j == names->nelts) {
            APR_ARRAY_PUSH(names, const char *) = name;
        }
    }
}

/* A scope removes what it names and what every scope above it names,
 * even where it replaces their identifier list. */
void rai_embed_app_headers_merge(apr_pool_t *p, rai_embed_dir_conf *conf,
                                 const rai_embed_dir_conf *base,
                                 const rai_embed_dir_conf *add)
{
    if (!base->app_headers || !add->app_headers) {
        conf->app_headers = add->app_headers ? add->app_headers
                                             : base->app_headers;
        return;
    }
    conf->app_headers = apr_array_copy(p, base->app_headers);
    rai_embed_add_names(conf->app_headers, add->app_headers);
}

/* insert_filter and insert_error_filter.  An ErrorDocument (an internal
 * redirect) inherits err_headers_out, so it removes the names of the
 * scopes it was redirected from as well. */
void rai_embed_app_headers_insert(request_rec *r)
{
    apr_array_header_t *names = NULL;
    rai_embed_app_headers_ctx *ctx;
    request_rec *rr;

    /* a subrequest's headers never go out (a fast redirect copies them
     * into the main request, whose filter removes them) */
    if (r->main) {
        return;
    }
    for (rr = r; rr; rr = rr->prev) {
        const rai_embed_dir_conf *dconf =
            ap_get_module_config(rr->per_dir_config, &rai_embed_module);
        if (dconf && dconf->app_headers) {
            if (!names) {
                names = apr_array_make(r->pool, dconf->app_headers->nelts,
                                       sizeof(const char *));
            }
            rai_embed_add_names(names, dconf->app_headers);
        }
    }
    if (!names) {
        return;
    }
    ctx = apr_palloc(r->pool, sizeof(*ctx));
    ctx->names = names;
    ctx->removed = apr_table_make(r->pool, names->nelts);
    ap_add_output_filter_handle(rai_embed_app_capture_handle, ctx, r,
                                r->connection);
    ap_add_output_filter_handle(rai_embed_app_headers_handle, ctx, r,
                                r->connection);
}

void rai_embed_app_headers_register(apr_pool_t *p)
{
    (void)p;
    rai_embed_app_capture_handle =
        ap_register_output_filter(RAI_EMBED_APP_CAPTURE_FILTER,
                                  rai_embed_app_headers_filter, NULL,
                                  AP_FTYPE_CONTENT_SET - 1);
    rai_embed_app_headers_handle =
        ap_register_output_filter(RAI_EMBED_APP_HEADERS_FILTER,
                                  rai_embed_app_headers_filter, NULL,
                                  AP_FTYPE_CONTENT_SET);
}

/* --- values ------------------------------------------------------------- */

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
    case RAI_EMBED_SOURCE_HEADER:
        return rai_embed_app_header(r, id->name);
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
