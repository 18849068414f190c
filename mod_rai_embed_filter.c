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

static int rai_embed_type_matches(request_rec *r, rai_embed_dir_conf *dconf)
{
    const char *const *types = rai_embed_default_types;
    int count = 2, i;
    apr_size_t len;

    if (!r->content_type) {
        return 0;
    }
    if (dconf->content_types) {
        types = (const char *const *)dconf->content_types->elts;
        count = dconf->content_types->nelts;
    }
    len = strcspn(r->content_type, "; \t");     /* no parameters */
    for (i = 0; i < count; i++) {
        if (strlen(types[i]) == len
            && !strncasecmp(types[i], r->content_type, len)) {
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

static apr_status_t rai_embed_pass(ap_filter_t *f, rai_embed_ctx *ctx)
{
    apr_status_t rv = ap_pass_brigade(f->next, ctx->out);

    apr_brigade_cleanup(ctx->out);
    ctx->out_bytes = 0;
    return rv;
}

/* Before the filter waits for the token API: the page so far goes to the
 * client, and a client that has gone costs no token request. */
static apr_status_t rai_embed_flush_out(void *baton)
{
    ap_filter_t *f = baton;
    rai_embed_ctx *ctx = f->ctx;
    apr_status_t rv;

    APR_BRIGADE_INSERT_TAIL(ctx->out,
                            apr_bucket_flush_create(f->c->bucket_alloc));
    rv = rai_embed_pass(f, ctx);
    return rv == APR_SUCCESS && f->c->aborted ? APR_ECONNABORTED : rv;
}

static apr_status_t rai_embed_out_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    rai_embed_ctx *ctx = f->ctx;
    apr_status_t rv;

    if (!ctx) {
        rai_embed_dir_conf *dconf =
            ap_get_module_config(r->per_dir_config, &rai_embed_module);
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
            /* a slice of a per-user rewrite cannot be resumed: the
             * byterange filter after us must see no Range */
            apr_table_unset(r->headers_in, "Range");
            apr_table_unset(r->headers_in, "If-Range");
            ap_add_output_filter_handle(rai_embed_headers_handle, NULL, r,
                                        r->connection);
        }
        if (action != RAI_EMBED_ACTION_SCAN) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        rai_scan_init(&ctx->scan, dconf->patterns ? &dconf->elements
                                                  : &rai_embed_default_elements);
        ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }

    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(b)) {
            if (APR_BUCKET_IS_EOS(b) && ctx->attr_len) {
                rai_embed_dir_conf *dconf =
                    ap_get_module_config(r->per_dir_config,
                                         &rai_embed_module);
                /* widgets got a token: the page can renew it.  Only in
                 * HTML (in XHTML nothing may follow the root element), and
                 * only where a tag may start (not in an unclosed comment) */
                if (dconf->refresh_script && *dconf->refresh_script
                    && rai_scan_in_text(&ctx->scan)
                    && !strncasecmp(r->content_type, "text/html", 9)
                    && strcspn(r->content_type, "; \t") == 9) {
                    APR_BRIGADE_INSERT_TAIL(ctx->out,
                        apr_bucket_immortal_create(dconf->refresh_script,
                                                   strlen(dconf->refresh_script),
                                                   f->c->bucket_alloc));
                }
            }
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
            if (APR_BUCKET_IS_FLUSH(b) || APR_BUCKET_IS_EOS(b)) {
                if ((rv = rai_embed_pass(f, ctx)) != APR_SUCCESS) {
                    return rv;
                }
            }
            continue;
        }

#if APR_HAS_MMAP
        if (APR_BUCKET_IS_FILE(b)) {
            /* read, not map: mapping a file for one response, then unmapping
             * it, costs every thread of the process a TLB flush */
            apr_bucket_file_enable_mmap(b, 0);
        }
#endif
        rv = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            /* the source is slow (a CGI pipe): send what we have first */
            APR_BRIGADE_INSERT_TAIL(ctx->out,
                                    apr_bucket_flush_create(f->c->bucket_alloc));
            if ((rv = rai_embed_pass(f, ctx)) != APR_SUCCESS) {
                return rv;
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "RAI0016: cannot "
                          "read the response body");
            return rv;
        }

        for (;;) {
            apr_size_t at = rai_scan_next(&ctx->scan, data, len);
            apr_bucket *rest;

            if (at == len) {
                break;
            }
            if (!ctx->attr) {
                /* the page up to the first widget is ours to send while the
                 * token is fetched */
                if (at && apr_bucket_split(b, at) == APR_SUCCESS) {
                    rest = APR_BUCKET_NEXT(b);
                    APR_BUCKET_REMOVE(b);
                    APR_BRIGADE_INSERT_TAIL(ctx->out, b);
                    ctx->out_bytes += at;
                    b = rest;
                    data += at;
                    len -= at;
                    at = 0;
                }
                ctx->attr = rai_embed_attribute(r, rai_embed_flush_out, f);
                ctx->attr_len = strlen(ctx->attr);
            }
            if (!ctx->attr_len) {
                break;          /* nothing to insert, now or later */
            }
            /* split before the byte that ends the name; the attribute goes
             * between the halves */
            if (apr_bucket_split(b, at) != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "RAI0017: cannot "
                              "split a %s bucket: rest of the response "
                              "passed on unchanged", b->type->name);
                ctx->attr_len = 0;
                break;
            }
            rest = APR_BUCKET_NEXT(b);
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
            /* a copy per widget: freed as soon as it is written */
            APR_BRIGADE_INSERT_TAIL(ctx->out,
                                    apr_bucket_heap_create(ctx->attr,
                                                           ctx->attr_len, NULL,
                                                           f->c->bucket_alloc));
            ctx->out_bytes += at + ctx->attr_len;
            b = rest;
            data += at;
            len -= at;
            /* a large mapped file is one bucket: pass on as we go */
            if (ctx->out_bytes >= RAI_EMBED_PASS_BYTES
                && (rv = rai_embed_pass(f, ctx)) != APR_SUCCESS) {
                return rv;
            }
        }
        APR_BUCKET_REMOVE(b);
        APR_BRIGADE_INSERT_TAIL(ctx->out, b);
        ctx->out_bytes += len;

        if (ctx->attr && !ctx->attr_len) {
            /* no token for this response: the rest passes unscanned */
            APR_BRIGADE_CONCAT(ctx->out, bb);
            ap_remove_output_filter(f);
            return rai_embed_pass(f, ctx);
        }
        if (ctx->out_bytes >= RAI_EMBED_PASS_BYTES) {
            if ((rv = rai_embed_pass(f, ctx)) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    return APR_BRIGADE_EMPTY(ctx->out) ? APR_SUCCESS : rai_embed_pass(f, ctx);
}

void rai_embed_insert_filter(request_rec *r)
{
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);

    if (dconf->enabled == 1 && !r->main) {
        ap_add_output_filter(RAI_EMBED_FILTER, NULL, r, r->connection);
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
