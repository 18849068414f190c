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

int rai_embed_token_handler(request_rec *r)
{
    rai_embed_result_t result;
    const char *site;
    apr_int64_t seconds;

    if (!r->handler || strcmp(r->handler, RAI_EMBED_HANDLER)) {
        return DECLINED;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
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

/* On a widget's rai-error event (its token ran out in a long session),
 * fetch a new token from the refresh endpoint, give it to every widget and
 * reload them.  One copy per page however often it is inserted, one request
 * at a time and at most one every 30 s, and no reload when the answer is
 * the token the widgets already have: a widget that keeps failing cannot
 * make the page loop. */
#define RAI_EMBED_SCRIPT_HEAD \
    "<script>(function(){if(window.__raiEmbedRefresh)return;" \
    "window.__raiEmbedRefresh=1;var busy=0,last=-30000;" \
    "document.addEventListener(\"rai-error\",function(){var now=Date.now();" \
    "if(busy||now-last<30000)return;busy=1;last=now;fetch(\""
#define RAI_EMBED_SCRIPT_TAIL \
    "\",{credentials:\"same-origin\",headers:{Accept:\"application/json\"}})" \
    ".then(function(r){if(!r.ok)throw r.status;return r.json()})" \
    ".then(function(d){var t=d.embedToken,n=0;" \
    "document.querySelectorAll(\"[embed-token]\").forEach(function(w){" \
    "if(w.getAttribute(\"embed-token\")!==t){w.setAttribute(\"embed-token\",t);" \
    "n++}});var a=window.ReturningAIWidget;if(n&&a&&a.reload)a.reload()})" \
    "[\"catch\"](function(){}).then(function(){busy=0})},true)})();" \
    "</script>\n"

const char *rai_embed_refresh_script_element(apr_pool_t *p, const char *path)
{
    return apr_pstrcat(p, RAI_EMBED_SCRIPT_HEAD, path, RAI_EMBED_SCRIPT_TAIL,
                       NULL);
}
