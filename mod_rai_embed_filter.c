/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_filter.c: the filters.
 *
 * The chain, for a response we rewrite:
 *
 *   handler -> ... RAI_EMBED (RESOURCE, added last by insert_filter, so
 *   after INCLUDES) -> mod_headers, mod_deflate (CONTENT_SET) ->
 *   RAI_EMBED_HEADERS (CONTENT_SET, added by RAI_EMBED on its first call)
 *   -> CACHE_SAVE -> protocol filters
 *
 * RAI_EMBED's init runs before the handler and turns off 304s from the
 * file's validators.  On its first call it decides what to do with the
 * response (rai_embed_action); then it scans, asks for a token at the
 * first widget, and splits buckets to insert it.  RAI_EMBED_HEADERS
 * makes the page private and drops what no longer holds once the body
 * changes. */

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_rai_embed.h"
#include "rai_headers.h"

static ap_filter_rec_t *rai_embed_headers_handle;

/* Whether a Content-Type value (parameters ignored) is type. */
int rai_embed_media_type_is(const char *content_type, const char *type)
{
    apr_size_t len;

    if (!content_type) {
        return 0;
    }
    len = strcspn(content_type, "; \t");
    return strlen(type) == len && !strncasecmp(type, content_type, len);
}

static int rai_embed_type_matches(request_rec *r, rai_embed_dir_conf *dconf)
{
    const char *const *types = rai_embed_default_types;
    int count = 2, i;

    if (dconf->content_types) {
        types = (const char *const *)dconf->content_types->elts;
        count = dconf->content_types->nelts;
    }
    for (i = 0; i < count; i++) {
        if (rai_embed_media_type_is(r->content_type, types[i])) {
            return 1;
        }
    }
    return 0;
}

/* Runs before the handler: a response we may rewrite must never be
 * answered with a 304 from the file's own validators. */
static int rai_embed_filter_init(ap_filter_t *f)
{
    rai_embed_dir_conf *dconf =
        ap_get_module_config(f->r->per_dir_config, &rai_embed_module);

    /* only for GET and HEAD: PUT and the like keep their 412s */
    if (f->r->method_number == M_GET
        && (!f->r->content_type || rai_embed_type_matches(f->r, dconf))) {
        f->r->no_local_copy = 1;
    }
    return OK;
}

typedef struct {
    apr_pool_t *pool;
    char *all;
} rai_embed_values_t;

static int rai_embed_gather(void *rec, const char *key, const char *value)
{
    rai_embed_values_t *values = rec;

    (void)key;
    values->all = *values->all
                  ? apr_pstrcat(values->pool, values->all, ", ", value, NULL)
                  : apr_pstrdup(values->pool, value);
    return 1;
}

/* Cache-Control: private, whatever set it and in however many header
 * lines. */
static void rai_embed_make_private(request_rec *r)
{
    rai_embed_values_t values;

    values.pool = r->pool;
    values.all = "";
    apr_table_do(rai_embed_gather, &values, r->headers_out, "Cache-Control",
                 NULL);
    apr_table_do(rai_embed_gather, &values, r->err_headers_out,
                 "Cache-Control", NULL);
    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_setn(r->headers_out, "Cache-Control",
                   rai_headers_private(r->pool, values.all));
}

/* What the filter does with a response, decided on its first call. */
typedef enum {
    RAI_EMBED_ACTION_SKIP,         /* not ours: passed on untouched */
    RAI_EMBED_ACTION_HEADERS,      /* HEAD of a page we would scan: headers only */
    RAI_EMBED_ACTION_SCAN
} rai_embed_action_e;

static rai_embed_action_e rai_embed_action(ap_filter_t *f)
{
    request_rec *r = f->r;
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);
    const char *encoding;

    if (r->main || r->status == HTTP_NO_CONTENT
        || r->status == HTTP_NOT_MODIFIED
        || !rai_embed_type_matches(r, dconf)) {
        return RAI_EMBED_ACTION_SKIP;
    }
    /* a slice of a document (a backend's 206): the scan would start mid-way
     * and its Content-Range would lie about the new length */
    if (r->status == HTTP_PARTIAL_CONTENT
        || apr_table_get(r->headers_out, "Content-Range")
        || apr_table_get(r->err_headers_out, "Content-Range")) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0035: a partial "
                      "response (206, Content-Range): passed on untouched");
        return RAI_EMBED_ACTION_SKIP;
    }
    /* CGI and FastCGI headers arrive in err_headers_out */
    encoding = apr_table_get(r->headers_out, "Content-Encoding");
    if (!encoding) {
        encoding = apr_table_get(r->err_headers_out, "Content-Encoding");
    }
    if (!encoding) {
        encoding = r->content_encoding;
    }
    if (encoding && strcasecmp(encoding, "identity")) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0014: response "
                      "body is encoded (%s): passed on untouched", encoding);
        return RAI_EMBED_ACTION_SKIP;
    }
    /* a HEAD answer carries the headers its GET would */
    return r->header_only ? RAI_EMBED_ACTION_HEADERS : RAI_EMBED_ACTION_SCAN;
}

static int rai_embed_note_dropped(void *rec, const char *key,
                                  const char *value)
{
    (void)value;
    if (rai_headers_dropped(key)) {
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    }
    return 1;
}

static void rai_embed_drop_headers(request_rec *r, apr_table_t *headers)
{
    apr_array_header_t *names = apr_array_make(r->pool, 4,
                                               sizeof(const char *));
    int i;

    /* names first: a table must not change while apr_table_do walks it */
    apr_table_do(rai_embed_note_dropped, names, headers, NULL);
    for (i = 0; i < names->nelts; i++) {
        apr_table_unset(headers, APR_ARRAY_IDX(names, i, const char *));
    }
}

/* RAI_EMBED_HEADERS: the header changes of a page we rewrite.  It runs
 * after mod_headers and mod_deflate (CONTENT_SET) but before mod_cache's
 * CACHE_SAVE and the protocol filters, so nothing set on the way can make
 * the page public again, and a cache sees it as it leaves. */
static apr_status_t rai_embed_headers_filter(ap_filter_t *f,
                                             apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    /* the length changes, and the page must not outlive its token in a
     * shared cache or come back as a 304 */
    rai_embed_drop_headers(r, r->headers_out);
    rai_embed_drop_headers(r, r->err_headers_out);
    rai_embed_make_private(r);
    apr_table_unset(r->err_headers_out, "Accept-Ranges");
    apr_table_setn(r->headers_out, "Accept-Ranges", "none");
    ap_remove_output_filter(f);

    if (r->header_only) {
        /* A HEAD would get the unchanged file's length from the
         * content-length filter: sending the headers on their own first
         * keeps it from counting. */
        apr_bucket_brigade *headers = apr_brigade_create(r->pool,
                                                         f->c->bucket_alloc);
        apr_status_t rv;

        APR_BRIGADE_INSERT_TAIL(headers,
                                apr_bucket_flush_create(f->c->bucket_alloc));
        rv = ap_pass_brigade(f->next, headers);
        apr_brigade_destroy(headers);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return ap_pass_brigade(f->next, bb);
}

/* One response being rewritten. */
typedef struct {
    ap_filter_t *f;
    rai_rewrite_t *rewrite;
    rai_rewrite_hooks_t hooks;
    int decided;                    /* the attributes below are known */
    const char *token_attr;         /* " embed-token=..." or "" */
    const char *identity_attr;      /* " data-...=..." or "" */
    int renewable;                  /* a widget got a token */
    int logged_replay;
} rai_embed_ctx;

static const char *const rai_embed_default_hosts[] = {
    "returning.ai", "*.returning.ai"
};
static const rai_hosts_t rai_embed_default_trusted = {
    rai_embed_default_hosts, 2
};
static const char *const rai_embed_default_scripts[] = {
    "*/widget-loader.js"
};

static rai_embed_dir_conf *rai_embed_dconf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &rai_embed_module);
}

static int rai_embed_mode(const rai_embed_dir_conf *dconf)
{
    return dconf->mode == -1 ? RAI_EMBED_MODE_TOKEN : dconf->mode;
}

/* Whether widgets may get the identity as attributes in this scope. */
static int rai_embed_attributes_wanted(const rai_embed_dir_conf *dconf)
{
    return rai_embed_mode(dconf) == RAI_EMBED_MODE_ATTRIBUTES
           || dconf->fallback == RAI_EMBED_MODE_ATTRIBUTES;
}

static apr_status_t rai_embed_pass(void *baton, apr_bucket_brigade *bb)
{
    rai_embed_ctx *ctx = baton;

    return ap_pass_brigade(ctx->f->next, bb);
}

/* Before the filter waits for the token API: the page so far goes to the
 * client, and a client that has gone costs no token request. */
static apr_status_t rai_embed_flush_out(void *baton)
{
    rai_embed_ctx *ctx = baton;
    apr_status_t rv = rai_rewrite_flush(ctx->rewrite);

    return rv == APR_SUCCESS && ctx->f->c->aborted ? APR_ECONNABORTED : rv;
}

/* What this response's elements get, decided once, at the first element
 * that may get something. */
static void rai_embed_decide(rai_embed_ctx *ctx)
{
    request_rec *r = ctx->f->r;
    rai_embed_dir_conf *dconf = rai_embed_dconf(r);
    rai_embed_result_t result;

    ctx->decided = 1;
    ctx->token_attr = ctx->identity_attr = "";
    if (rai_embed_mode(dconf) == RAI_EMBED_MODE_ATTRIBUTES) {
        memset(&result, 0, sizeof(result));
        rai_embed_identity_for(r, &result);
        apr_table_setn(r->notes, RAI_EMBED_NOTE,
                       rai_embed_outcome_note(result.outcome));
    }
    else {
        rai_embed_request_token(r, rai_embed_flush_out, ctx, &result);
        if (RAI_EMBED_HAS_TOKEN(&result)) {
            ctx->token_attr = apr_pstrcat(r->pool, " embed-token=\"",
                                          result.token.token, "\"", NULL);
            return;
        }
        if (dconf->fallback != RAI_EMBED_MODE_ATTRIBUTES) {
            return;
        }
    }
    /* Attribute Auth: the identity httpd accepted, as data-* attributes */
    if (result.identity && result.outcome != RAI_EMBED_OUTCOME_ANONYMOUS
        && result.outcome != RAI_EMBED_OUTCOME_REFUSED) {
        ctx->identity_attr = rai_identity_attributes(r->pool, result.identity);
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "attributes");
    }
}

/* rai_rewrite's attribute() hook: what goes after an element's name. */
static const char *rai_embed_on_element(void *baton, rai_rewrite_kind_e kind,
                                        const rai_tag_t *tag)
{
    rai_embed_ctx *ctx = baton;
    request_rec *r = ctx->f->r;
    rai_embed_dir_conf *dconf = rai_embed_dconf(r);
    const char *bad = NULL, *src;
    apr_size_t len;

    if (!rai_tag_done(tag)) {
        rai_embed_log_limited(RAI_WARN_MARKUP, 0, r, "RAI0038: a %s start tag "
                              "longer than %d bytes, or cut short by the end "
                              "of the page, passed unchanged",
                              kind == RAI_REWRITE_SCRIPT ? "<script>" : "widget",
                              RAI_TAG_LIMIT);
        return "";
    }
    /* a script is ours only if its src is an embed script's: others (a
     * page's analytics, a CDN's library) are not checked nor logged */
    if (kind == RAI_REWRITE_SCRIPT) {
        src = rai_tag_src(tag, &len);
        if (!src || !(dconf->scripts
                      ? rai_scripts_match(src, len,
                                          (const char *const *)
                                          dconf->scripts->elts,
                                          dconf->scripts->nelts)
                      : rai_scripts_match(src, len, rai_embed_default_scripts,
                                          1))) {
            return "";
        }
    }
    if (!rai_tag_urls_trusted(tag, dconf->trusted ? &dconf->hosts
                                                  : &rai_embed_default_trusted,
                              &bad)) {
        rai_embed_log_limited(RAI_WARN_UNTRUSTED, 0, r, "RAI0039: a %s whose "
                              "%s names a host outside RaiEmbedTrustedHosts "
                              "gets nothing",
                              kind == RAI_REWRITE_SCRIPT ? "<script>" : "widget",
                              bad ? bad : "URL");
        return "";
    }
    /* token mode (RaiEmbedFallback attributes): only a widget asks for a
     * token - a page without one makes no request (docs/configuration.md) - so a script
     * gets the fallback only after a widget found no token */
    if (kind == RAI_REWRITE_SCRIPT && !ctx->decided
        && rai_embed_mode(dconf) != RAI_EMBED_MODE_ATTRIBUTES) {
        return "";
    }
    if (!ctx->decided) {
        rai_embed_decide(ctx);
    }
    if (!*ctx->token_attr && !*ctx->identity_attr) {
        return NULL;        /* nothing for this response: scan no further */
    }
    if (kind == RAI_REWRITE_WIDGET && *ctx->token_attr) {
        ctx->renewable = 1;
        return ctx->token_attr;
    }
    return ctx->identity_attr;
}

/* rai_rewrite's at_end() hook: pages whose widgets got a token can renew
 * it.  Only in HTML (in XHTML nothing may follow the root element), and
 * only where a tag may start (not in an unclosed comment). */
static const char *rai_embed_at_end(void *baton, const rai_rewrite_t *rewrite)
{
    rai_embed_ctx *ctx = baton;
    request_rec *r = ctx->f->r;
    rai_embed_dir_conf *dconf = rai_embed_dconf(r);

    if (ctx->renewable && dconf->refresh_script && *dconf->refresh_script
        && rai_rewrite_in_text(rewrite)
        && rai_embed_media_type_is(r->content_type, "text/html")) {
        return dconf->refresh_script;
    }
    return NULL;
}

static void rai_embed_trouble(void *baton, const char *what)
{
    rai_embed_ctx *ctx = baton;

    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, ctx->f->r, "RAI0017: cannot "
                  "split a %s bucket: rest of the response passed on "
                  "unchanged", what);
}

static rai_embed_ctx *rai_embed_ctx_create(ap_filter_t *f)
{
    request_rec *r = f->r;
    rai_embed_dir_conf *dconf = rai_embed_dconf(r);
    rai_embed_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    int scripts = rai_embed_attributes_wanted(dconf);
    /* what makes a scan: the element list (made once, at start-up, by the
     * scope that names it) and whether scripts are reported; one byte on
     * for script reports, still inside the list, so never null arithmetic */
    const char *scan_config = dconf->patterns
                              ? (const char *)dconf->patterns
                              : (const char *)&rai_embed_default_elements;

    ctx->f = f;
    ctx->hooks.attribute = rai_embed_on_element;
    ctx->hooks.pass = rai_embed_pass;
    ctx->hooks.at_end = rai_embed_at_end;
    ctx->hooks.trouble = rai_embed_trouble;
    ctx->hooks.baton = ctx;
    ctx->rewrite = rai_rewrite_create(r->pool, f->c->bucket_alloc,
                                      dconf->patterns
                                      ? &dconf->elements
                                      : &rai_embed_default_elements,
                                      scripts, &ctx->hooks);
    rai_rewrite_scancache(ctx->rewrite, rai_embed_scan_cache,
                          scan_config + scripts);
    return ctx;
}

/* First call: what to do with this response. */
static rai_embed_action_e rai_embed_first_call(ap_filter_t *f)
{
    request_rec *r = f->r;
    rai_embed_action_e action;

    if (!apr_table_get(r->notes, RAI_EMBED_NOTE)) {
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "none");
    }
    /* a second RAI_EMBED in one chain (RaiEmbed On and SetOutputFilter)
     * leaves the work to the first */
    action = ap_get_module_config(r->request_config, &rai_embed_module)
             ? RAI_EMBED_ACTION_SKIP : rai_embed_action(f);
    ap_set_module_config(r->request_config, &rai_embed_module, f);
    if (action != RAI_EMBED_ACTION_SKIP) {
        /* a slice of a per-user rewrite cannot be resumed: the byterange
         * filter after us must see no Range */
        apr_table_unset(r->headers_in, "Range");
        apr_table_unset(r->headers_in, "If-Range");
        ap_add_output_filter_handle(rai_embed_headers_handle, NULL, r,
                                    r->connection);
    }
    return action;
}

static apr_status_t rai_embed_out_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb)
{
    rai_embed_ctx *ctx = f->ctx;
    apr_status_t rv;

    if (!ctx) {
        if (rai_embed_first_call(f) != RAI_EMBED_ACTION_SCAN) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = rai_embed_ctx_create(f);
        rai_embed_metrics_scanned(f->r, ctx->rewrite);
    }
    rv = rai_rewrite_brigade(ctx->rewrite, bb);
    if (rai_rewrite_replayed(ctx->rewrite) && !ctx->logged_replay) {
        apr_size_t copied, read;

        ctx->logged_replay = 1;
        rai_rewrite_replayed_bytes(ctx->rewrite, &copied, &read);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, f->r, "RAI0040: %s served "
                      "from the scan cache: %lu insertions; of the file, %"
                      APR_SIZE_T_FMT " bytes from the cache's copy, %"
                      APR_SIZE_T_FMT " read, the rest sent as it is",
                      f->r->filename, rai_rewrite_inserted(ctx->rewrite),
                      copied, read);
    }
    if (rv != APR_SUCCESS) {
        /* a client that went away is no error of ours */
        ap_log_rerror(APLOG_MARK, f->c->aborted || APR_STATUS_IS_ECONNABORTED(rv)
                      ? APLOG_DEBUG : APLOG_ERR, rv, f->r, "RAI0016: cannot "
                      "read or pass on the response body");
    }
    if (rai_rewrite_finished(ctx->rewrite)) {
        /* nothing more to insert: the rest passes unscanned */
        ap_remove_output_filter(f);
    }
    return rv;
}

void rai_embed_insert_filter(request_rec *r)
{
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);

    if (dconf->enabled == 1 && !r->main) {
        ap_add_output_filter(RAI_EMBED_FILTER, NULL, r, r->connection);
    }
}

void rai_embed_insert_error_filter(request_rec *r)
{
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);

    /* httpd's own error pages (a 401 before any handler, a 404) carry no
     * widget: the note says so rather than "-" */
    if (dconf->enabled == 1 && !r->main
        && !apr_table_get(r->notes, RAI_EMBED_NOTE)) {
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "none");
    }
}


void rai_embed_filter_register(apr_pool_t *p)
{
    (void)p;
    ap_register_output_filter(RAI_EMBED_FILTER, rai_embed_out_filter,
                              rai_embed_filter_init, AP_FTYPE_RESOURCE);
    rai_embed_headers_handle =
        ap_register_output_filter("RAI_EMBED_HEADERS",
                                  rai_embed_headers_filter, NULL,
                                  AP_FTYPE_CONTENT_SET);
}
