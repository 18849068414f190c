/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_bench_read: the cheapest output filter that reads a response.
 *
 * The yardstick of `make bench` for bodies that must be read: BENCH_READ
 * reads every data bucket, counts its '<' with memchr, and passes the
 * brigade on unchanged.  Whatever a real rewriting filter costs beyond this
 * is the cost of its own work.  Not for production.
 *
 *   LoadModule bench_read_module build/bench/.libs/mod_bench_read.so
 *   SetOutputFilter BENCH_READ
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_filter.h"
#include "apr_buckets.h"

APLOG_USE_MODULE(bench_read);

typedef struct {
    apr_size_t tags;            /* '<' seen; kept so the search is not optimised away */
} bench_read_ctx;

static apr_status_t bench_read_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    bench_read_ctx *ctx = f->ctx;
    apr_bucket *b;

    if (!ctx)
        f->ctx = ctx = apr_pcalloc(f->r->pool, sizeof(*ctx));

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data, *p, *end;
        apr_size_t len;
        apr_status_t rv;

        if (APR_BUCKET_IS_METADATA(b))
            continue;
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS)
            return rv;
        for (p = data, end = data + len;
             (p = memchr(p, '<', (apr_size_t)(end - p))) != NULL; p++)
            ctx->tags++;
    }
    /* at debug level only, so that `make bench` can check the filter ran */
    if (!APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb)))
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, f->r, "BENCH0001: read %s: "
                      "%" APR_SIZE_T_FMT " '<'", f->r->uri, ctx->tags);
    return ap_pass_brigade(f->next, bb);
}

static void bench_read_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_register_output_filter("BENCH_READ", bench_read_out_filter, NULL,
                              AP_FTYPE_RESOURCE);
}

module AP_MODULE_DECLARE_DATA bench_read_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    bench_read_register_hooks,
    AP_MODULE_FLAG_NONE
};
