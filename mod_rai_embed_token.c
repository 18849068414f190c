/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_token.c: the one way to a token for a request, for the
 * filter and the refresh endpoint alike: identity, then the cache, single
 * flight and the token API. */

#include <openssl/sha.h>

#include "mod_rai_embed.h"

/* A short, stable name for a token in the log: never the token itself. */
static const char *rai_embed_fingerprint(apr_pool_t *p, const char *token,
                                         apr_size_t len)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *hex = apr_palloc(p, 13);

    SHA256((const unsigned char *)token, len, md);
    ap_bin2hex(md, 6, hex);
    return hex;
}

void rai_embed_endpoint(const rai_embed_server_conf *sconf,
                        rai_token_endpoint_t *endpoint)
{
    endpoint->url = sconf->token_url ? sconf->token_url
                                     : RAI_TOKEN_DEFAULT_URL;
    endpoint->access_id = sconf->access_id;
    endpoint->access_key = sconf->access_key;
    endpoint->ca_file = sconf->ca_file;
    endpoint->proxy = sconf->proxy;
    endpoint->connect_timeout = sconf->connect_timeout;
    endpoint->total_timeout = sconf->total_timeout;
}

/* Back-off is kept per token URL and access id. */
const char *rai_embed_endpoint_key(apr_pool_t *p,
                                   const rai_token_endpoint_t *endpoint)
{
    return apr_pstrcat(p, endpoint->url, "\n", endpoint->access_id, NULL);
}

/* Whether a cached token may still go into a page. */
static int rai_embed_reusable(const rai_token_t *token, apr_time_t now,
                              apr_interval_time_t reuse)
{
    return now - token->issued <= reuse
           && token->expires - now >= RAI_EMBED_MIN_LIFETIME;
}

/* Whether a failed token request tells of the API as a whole: no
 * connection, a timeout, a 5xx, a 429, a refused credential, or an answer
 * that breaks the contract. */
static int rai_embed_endpoint_failure(const rai_token_error_t *err)
{
    long status = err->http_status;

    if (err->status == RAI_TOKEN_E_STATUS && status >= 400 && status < 500) {
        return status == 401 || status == 403 || status == 429;
    }
    return 1;
}

/* A token for identity: from the cache, from a call another thread of
 * this process is making for the same identity, or from a call of our own.
 * Returns the rai-embed note ("cached", "fetched") or NULL on failure. */
static const char *rai_embed_token_for(request_rec *r,
                                       rai_embed_server_conf *sconf,
                                       const rai_token_endpoint_t *endpoint,
                                       const apr_array_header_t *identity,
                                       rai_token_t *token,
                                       rai_embed_before_wait_t *before_wait,
                                       void *baton)
{
    const char *key = rai_embed_cache_key(r->pool, endpoint, identity);
    const char *endpoint_key;
    int cached = rai_embed_cache_enabled(sconf->cache);
    apr_interval_time_t backoff, wait;
    rai_token_status_e status;
    rai_token_error_t err;
    rai_flight_t *flight;
    apr_time_t now;
    apr_status_t rv;

    if (cached) {
        rv = rai_embed_cache_get(sconf->cache, r->server, key, r->pool, token);
        if (rv == APR_SUCCESS
            && rai_embed_reusable(token, apr_time_now(), sconf->token_reuse)) {
            return "cached";
        }
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            rai_embed_log_limited(RAI_WARN_CACHE, rv, r, "RAI0020: the %s "
                                  "token cache failed; fetching a token "
                                  "without it", sconf->cache->name);
        }
    }

    /* past the cache: only a miss needs the back-off state */
    endpoint_key = rai_embed_endpoint_key(r->pool, endpoint);
    backoff = rai_backoff_remaining(rai_embed_backoffs, endpoint_key,
                                    apr_time_now());
    if (backoff) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0024: token API at "
                      "%s is in back-off for %" APR_TIME_T_FMT " ms more: no "
                      "token for this page", endpoint->url,
                      apr_time_as_msec(backoff));
        return NULL;
    }

    /* about to wait for the API: the caller may send what it has first,
     * or give up if its client has gone */
    if (before_wait && before_wait(baton) != APR_SUCCESS) {
        return NULL;
    }

    /* followers wait for the leader's call, never longer than it may take */
    wait = endpoint->total_timeout + apr_time_from_sec(1);
    if (!rai_flight_board(rai_embed_flights, key, wait, &flight, r->pool,
                          token, &status)) {
        if (status != RAI_TOKEN_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0025: the "
                          "token request this page waited for failed or took "
                          "too long");
            return NULL;
        }
        return "fetched";
    }

    /* another process, or a flight that just landed, may have stored one */
    if (cached && rai_embed_cache_get(sconf->cache, r->server, key, r->pool, token)
                  == APR_SUCCESS
        && rai_embed_reusable(token, apr_time_now(), sconf->token_reuse)) {
        rai_flight_land(rai_embed_flights, flight, token);
        return "cached";
    }

    status = rai_token_fetch(rai_embed_client, r->pool, endpoint, identity,
                             token, &err);
    now = apr_time_now();
    if (status != RAI_TOKEN_OK) {
        apr_interval_time_t started;

        rai_flight_land(rai_embed_flights, flight, NULL);
        rai_embed_log_limited(RAI_WARN_TOKEN, 0, r, "RAI0011: token request "
                              "to %s failed: %s; widgets left as they are",
                              endpoint->url, err.reason);
        /* a 4xx about this one request (a refused identity, say) says
         * nothing of the API: it must not hold back everyone else */
        started = rai_embed_endpoint_failure(&err)
                  ? rai_backoff_failure(rai_embed_backoffs, endpoint_key, now,
                                        err.retry_after)
                  : 0;
        if (started) {
            rai_embed_log_limited(RAI_WARN_BACKOFF, 0, r, "RAI0022: no token "
                                  "requests to %s for the next %"
                                  APR_TIME_T_FMT " ms%s", endpoint->url,
                                  apr_time_as_msec(started),
                                  err.retry_after ? " (Retry-After)"
                                  : " after repeated failures");
        }
        return NULL;
    }

    if (rai_backoff_success(rai_embed_backoffs, endpoint_key)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "RAI0023: token API at "
                      "%s answers again", endpoint->url);
    }
    if (cached) {
        /* keep it no longer than it may be reused */
        apr_time_t until = token->issued + sconf->token_reuse;
        if (until > token->expires - RAI_EMBED_MIN_LIFETIME) {
            until = token->expires - RAI_EMBED_MIN_LIFETIME;
        }
        if (until > now) {
            rv = rai_embed_cache_put(sconf->cache, r->server, key, token, until,
                               r->pool);
            if (rv != APR_SUCCESS) {
                rai_embed_log_limited(RAI_WARN_CACHE, rv, r, "RAI0026: cannot "
                                      "store the token in the %s token "
                                      "cache", sconf->cache->name);
            }
        }
    }
    /* landed only now: a miss from here on finds the token in the cache */
    rai_flight_land(rai_embed_flights, flight, token);
    return "fetched";
}

/* The one way to a token for a request, for the filter and the refresh
 * endpoint alike: identity, then cache, single flight or API.  Sets the
 * rai-embed note to what happened. */
rai_embed_outcome_e rai_embed_request_token(request_rec *r,
                                            rai_token_t *token,
                                            rai_embed_before_wait_t
                                            *before_wait, void *baton)
{
    rai_embed_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &rai_embed_module);
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);
    const apr_array_header_t *identifiers = dconf->identifiers
        ? dconf->identifiers : rai_embed_default_identifiers;
    apr_array_header_t *identity = NULL;
    const char *key = NULL, *why = NULL, *note;
    rai_token_endpoint_t endpoint;

    switch (rai_embed_identity_read(r, identifiers, &identity, &key, &why)) {
    case RAI_EMBED_IDENTITY_ANONYMOUS:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0015: no identity "
                      "for this request: no token");
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "anonymous");
        return RAI_EMBED_ANONYMOUS;
    case RAI_EMBED_IDENTITY_REFUSED:
        rai_embed_log_limited(RAI_WARN_IDENTITY, 0, r, "RAI0012: identifier "
                              "%s refused (%s): no token for this request",
                              key, why);
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "error");
        return RAI_EMBED_REFUSED;
    case RAI_EMBED_IDENTITY_FOUND:
        break;
    }

    if (!sconf->access_id || !sconf->access_key || !rai_embed_client) {
        rai_embed_log_limited(RAI_WARN_CONFIG, 0, r, "RAI0010: a token is "
                              "wanted for %s without RaiEmbedAccessId and "
                              "RaiEmbedAccessKey for this server", r->uri);
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "error");
        return RAI_EMBED_UNCONFIGURED;
    }

    rai_embed_endpoint(sconf, &endpoint);
    note = rai_embed_token_for(r, sconf, &endpoint, identity, token,
                               before_wait, baton);
    if (!note) {
        apr_table_setn(r->notes, RAI_EMBED_NOTE, "error");
        return RAI_EMBED_FAILED;
    }
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0013: token %s "
                      "(%s) for %s, %" APR_TIME_T_FMT " s left",
                      rai_embed_fingerprint(r->pool, token->token,
                                            token->token_len), note,
                      rai_identity_describe(r->pool, identity),
                      apr_time_sec(token->expires - apr_time_now()));
    }
    apr_table_setn(r->notes, RAI_EMBED_NOTE, note);
    return RAI_EMBED_TOKEN;
}

/* The attribute every widget of this response gets, decided once at the
 * first widget: " embed-token=\"...\"", or "" to leave widgets alone. */
const char *rai_embed_attribute(request_rec *r,
                                rai_embed_before_wait_t *before_wait,
                                void *baton)
{
    rai_token_t token;

    if (rai_embed_request_token(r, &token, before_wait, baton)
        != RAI_EMBED_TOKEN) {
        return "";
    }
    return apr_pstrcat(r->pool, " embed-token=\"", token.token, "\"", NULL);
}
