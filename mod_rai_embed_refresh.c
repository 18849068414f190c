/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_refresh.c: the refresh endpoint (SetHandler
 * rai-embed-token), which answers a page's request for a new token, and
 * the script that pages get to ask it. */

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_rai_embed.h"


static int rai_embed_serve_script(request_rec *r, const char *version);
static const char *rai_embed_script_arg(apr_pool_t *p, const char *args);

int rai_embed_token_handler(request_rec *r)
{
    rai_embed_result_t result;
    const char *site, *script;
    apr_int64_t seconds;

    if (!r->handler || strcmp(r->handler, RAI_EMBED_HANDLER)) {
        return DECLINED;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((script = rai_embed_script_arg(r->pool, r->args)) != NULL) {
        return rai_embed_serve_script(r, script);
    }
    /* a token is a credential: no other site may fetch it with our
     * visitor's cookies or password */
    site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    if (site && !strcasecmp(site, "cross-site")) {
        return HTTP_FORBIDDEN;
    }

    rai_embed_request_token(r, NULL, NULL, &result);
    switch (result.outcome) {
    case RAI_EMBED_OUTCOME_CACHED:
    case RAI_EMBED_OUTCOME_FETCHED:
        break;
    case RAI_EMBED_OUTCOME_ANONYMOUS:
        /* a 401 carries a challenge where this location has one to give */
        if (ap_auth_type(r)) {
            ap_note_auth_failure(r);
        }
        return HTTP_UNAUTHORIZED;
    case RAI_EMBED_OUTCOME_REFUSED:
        return HTTP_FORBIDDEN;
    case RAI_EMBED_OUTCOME_UNCONFIGURED:
        return HTTP_INTERNAL_SERVER_ERROR;
    case RAI_EMBED_OUTCOME_FAILED:
        seconds = apr_time_sec(result.retry + APR_USEC_PER_SEC - 1);
        apr_table_setn(r->err_headers_out, "Retry-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                    seconds > 0 ? seconds : 5));
        return HTTP_SERVICE_UNAVAILABLE;
    }

    seconds = apr_time_sec(result.token.expires - apr_time_now());
    ap_set_content_type(r, "application/json");
    if (!r->header_only) {
        ap_rprintf(r, "{\"embedToken\":\"%s\",\"expiresIn\":%" APR_INT64_T_FMT
                   "}", result.token.token, seconds > 0 ? seconds : 0);
    }
    return OK;
}

/* --- the script (js/rai_refresh.js, built in as rai_refresh_js.h) -------- */

#include "rai_refresh_js.h"

/* The script's version: the first 16 hex digits of its SHA-256, which go
 * into its URL, so that the URL can be cached for good.  Worked out when
 * the header is written (scripts/js2h.sh): the parent, which builds the
 * script element from RaiEmbedRefreshScript, has no libcrypto loaded. */
const char *rai_embed_script_version(apr_pool_t *p)
{
    (void)p;
    return rai_refresh_js_version;
}

/* The value of the "script" parameter in a query string: "" for a bare
 * "script", NULL when there is none. */
static const char *rai_embed_script_arg(apr_pool_t *p, const char *args)
{
    const char *item, *end;

    for (item = args; item && *item; item = end + (*end == '&')) {
        end = item + strcspn(item, "&");
        if (!strncmp(item, "script", 6)
            && (item + 6 == end || item[6] == '=')) {
            return item + 6 == end ? ""
                   : apr_pstrmemdup(p, item + 7, end - item - 7);
        }
        if (!*end) {
            break;
        }
    }
    return NULL;
}

/* GET <endpoint>?script=VERSION: the script, for anyone (it holds nothing
 * personal, and asks for no token).  The current version is cached for a
 * year; any other (a page from before an upgrade, or a bare ?script in a
 * hand-written element) gets today's script, revalidated every time. */
static int rai_embed_serve_script(request_rec *r, const char *version)
{
    const char *current = rai_embed_script_version(r->pool);
    int rc;

    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_setn(r->headers_out, "Cache-Control",
                   strcmp(version, current)
                   ? "no-cache"
                   : "public, max-age=31536000, immutable");
    apr_table_setn(r->headers_out, "ETag",
                   apr_pstrcat(r->pool, "\"", current, "\"", NULL));
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_type(r, "text/javascript; charset=utf-8");
    /* RAI_EMBED's init set no_local_copy, not knowing the type yet; this
     * response is never rewritten, so its validator is good */
    r->no_local_copy = 0;
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc;
    }
    ap_set_content_length(r, rai_refresh_js_len);
    if (!r->header_only) {
        ap_rwrite(rai_refresh_js, (int)rai_refresh_js_len, r);
    }
    return OK;
}

/* The script element for pages whose widgets renew from path: external and
 * same-origin, so that Content-Security-Policy "script-src 'self'" allows
 * it.  path holds only plain URL characters (RaiEmbedRefreshScript checks);
 * '&' is written as "&amp;" in the attributes. */
const char *rai_embed_refresh_script_element(apr_pool_t *p, const char *path)
{
    const char *html = path, *src;

    if (strchr(path, '&')) {
        const char *s;
        char *out = apr_palloc(p, strlen(path) * 5 + 1), *o = out;

        for (s = path; *s; s++) {
            if (*s == '&') {
                memcpy(o, "&amp;", 5);
                o += 5;
            }
            else {
                *o++ = *s;
            }
        }
        *o = '\0';
        html = out;
    }
    src = apr_pstrcat(p, html, strchr(path, '?') ? "&amp;" : "?",
                      "script=", rai_embed_script_version(p), NULL);
    return apr_pstrcat(p, "<script src=\"", src, "\" defer data-endpoint=\"",
                       html, "\"></script>\n", NULL);
}
