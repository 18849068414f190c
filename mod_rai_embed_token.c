/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_token.c: the one way to a token for a request, for the
 * filter and the refresh endpoint alike: identity, then the cache, single
 * flight and the token API. */


#include "mod_rai_embed.h"
#include "rai_libs.h"

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
    endpoint->proxy_user = sconf->proxy_user;
    endpoint->proxy_password = sconf->proxy_password;
    endpoint->connect_timeout = sconf->connect_timeout;
    endpoint->total_timeout = sconf->total_timeout;
}

/* Back-off is kept per token URL and access id. */
const char *rai_embed_endpoint_key(apr_pool_t *p,
                                   const rai_token_endpoint_t *endpoint)
{
    return apr_pstrcat(p, endpoint->url, "\n", endpoint->access_id, NULL);
}

/* The last moment a token may go into a page: no later than
 * RaiEmbedTokenReuse after its issue, and never with less than a minute of
 * its life left.  The reuse check and the cache expiry both use it. */
apr_time_t rai_embed_reuse_until(const rai_token_t *token,
                                 apr_interval_time_t reuse)
{
    apr_time_t until = token->issued + reuse;

    if (until > token->expires - RAI_EMBED_MIN_LIFETIME) {
        until = token->expires - RAI_EMBED_MIN_LIFETIME;
    }
    return until;
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

/* A reusable token for key from the cache, or 0. */
static int rai_embed_cache_lookup(request_rec *r, rai_embed_server_conf *sconf,
                                  rai_embed_cache_key_t *key, rai_token_t *token)
{
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    if (!rai_embed_cache_enabled(sconf->cache)) {
        return 0;
    }
    /* this process took it from the cache a moment ago: no lock, no
     * lookup, no seal to open (one past its reuse may have a successor
     * in the cache, stored by another child) */
    if (rai_memo_get(rai_embed_memo, key->raw, key->raw_len, now, r->pool, token)
        && now <= rai_embed_reuse_until(token, sconf->token_reuse)) {
        return 1;
    }
    rv = rai_embed_cache_get(sconf->cache, r->server, sconf->seal_key,
                             rai_embed_cache_key_hex(r->pool, key), r->pool, token);
    if (rv == APR_SUCCESS) {
        if (now > rai_embed_reuse_until(token, sconf->token_reuse)) {
            return 0;
        }
        rai_memo_put(rai_embed_memo, key->raw, key->raw_len, token, now);
        return 1;
    }
    if (rv == APR_EINVAL) {
        rai_embed_log_limited(RAI_WARN_SEAL, 0, r, "RAI0036: a token cache "
                              "entry for this identity does not open (forged, "
                              "moved from another key, truncated, or sealed "
                              "with another access key): taken as a miss");
    }
    else if (rv != APR_NOTFOUND) {
        rai_embed_log_limited(RAI_WARN_CACHE, rv, r, "RAI0020: the %s token "
                              "cache failed; fetching a token without it",
                              sconf->cache->name);
    }
    return 0;
}

static void rai_embed_cache_store(request_rec *r, rai_embed_server_conf *sconf,
                                  rai_embed_cache_key_t *key,
                                  const rai_token_t *token)
{
    apr_time_t until = rai_embed_reuse_until(token, sconf->token_reuse);
    apr_status_t rv;

    if (!rai_embed_cache_enabled(sconf->cache) || until <= apr_time_now()) {
        return;
    }
    rv = rai_embed_cache_put(sconf->cache, r->server, sconf->seal_key,
                             rai_embed_cache_key_hex(r->pool, key), token, until,
                             r->pool);
    if (rv == APR_SUCCESS) {
        /* only what the cache holds: a cache that cannot keep tokens
         * leaves every page to ask */
        rai_memo_put(rai_embed_memo, key->raw, key->raw_len, token,
                     apr_time_now());
    }
    else {
        rai_embed_log_limited(RAI_WARN_CACHE, rv, r, "RAI0026: cannot store "
                              "the token in the %s token cache",
                              sconf->cache->name);
    }
}

/* The API call of a flight's leader, and what its answer means for the
 * back-off.  On failure, result->retry says how long the API is held
 * back (0 when it is not). */
static int rai_embed_call_api(request_rec *r, rai_embed_server_conf *sconf,
                              const rai_token_endpoint_t *endpoint,
                              const apr_array_header_t *identity,
                              rai_embed_cache_key_t *key,
                              rai_embed_result_t *result)
{
    rai_token_error_t err;
    apr_interval_time_t started = 0;
    apr_time_t begun = apr_time_now();

    if (rai_token_fetch(rai_embed_client, r->pool, endpoint, identity,
                        &result->token, &err) == RAI_TOKEN_OK) {
        rai_embed_metrics_api(r->server, &err, begun);
        if (rai_embed_backoff_success(r->server)) {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "RAI0023: token API "
                          "at %s answers again", endpoint->url);
        }
        rai_embed_cache_store(r, sconf, key, &result->token);
        return 1;
    }
    rai_embed_metrics_api(r->server, &err, begun);
    rai_embed_log_limited(RAI_WARN_TOKEN, 0, r, "RAI0011: token request to "
                          "%s failed: %s; widgets left as they are",
                          endpoint->url, err.reason);
    /* a 4xx about this one request (a refused identity, say) says nothing
     * against the API: it answered */
    if (!rai_embed_endpoint_failure(&err)) {
        rai_embed_backoff_success(r->server);
        return 0;
    }
    started = rai_embed_backoff_failure(r->server, err.retry_after);
    if (started) {
        rai_embed_metrics_backoff_started(r->server);
        rai_embed_log_limited(RAI_WARN_BACKOFF, 0, r, "RAI0022: no token "
                              "requests to %s for the next %" APR_TIME_T_FMT
                              " ms%s", endpoint->url,
                              apr_time_as_msec(started),
                              err.retry_after ? " (Retry-After)"
                              : " after repeated failures");
    }
    result->retry = started;
    return 0;
}

/* Another child of the server has claimed the call for key: its answer
 * goes into the shared cache before it gives the claim up.  Looks there,
 * a little less often each time.  1: the token is there; -1: that call
 * failed, or the deadline has come; 0: the claim is gone and the cache
 * has no token all the same (it failed to keep it, or the child died):
 * the caller may claim the call itself. */
static int rai_embed_await_child(request_rec *r, rai_embed_server_conf *sconf,
                                 rai_embed_cache_key_t *key, apr_uint64_t id,
                                 apr_time_t deadline, rai_token_t *token)
{
    apr_interval_time_t nap = apr_time_from_msec(2);

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0041: another child of "
                  "the server is asking the token API for this identity: "
                  "waiting for its answer in the %s token cache",
                  sconf->cache->name);
    for (;;) {
        rai_claim_state_e state;

        if (apr_time_now() + nap >= deadline) {
            return -1;
        }
        apr_sleep(nap);
        if (rai_embed_cache_lookup(r, sconf, key, token)) {
            return 1;
        }
        state = rai_embed_claim_state(id);
        if (state == RAI_CLAIM_FAILED) {
            return -1;
        }
        if (state == RAI_CLAIM_NONE) {
            /* stored before the claim went, if it was stored at all */
            return rai_embed_cache_lookup(r, sconf, key, token);
        }
        if (nap < apr_time_from_msec(20)) {
            nap *= 2;
        }
    }
}

/* A token for identity: from the cache, from a call another thread of
 * this process or another child is making for the same identity, or from
 * a call of our own, if the back-off lets us make one.  Sets
 * result->outcome. */
static void rai_embed_token_for(request_rec *r, rai_embed_server_conf *sconf,
                                const rai_token_endpoint_t *endpoint,
                                const apr_array_header_t *identity,
                                rai_embed_before_wait_t *before_wait,
                                void *baton, rai_embed_result_t *result)
{
    rai_embed_cache_key_t cache_key, *key = &cache_key;
    apr_interval_time_t wait, left = 0;
    apr_time_t owned = 0;
    rai_token_status_e status;
    rai_flight_t *flight;

    rai_embed_cache_key_init(r->pool, endpoint, identity, key);
    result->outcome = RAI_EMBED_OUTCOME_FAILED;
    if (rai_embed_cache_lookup(r, sconf, key, &result->token)) {
        result->outcome = RAI_EMBED_OUTCOME_CACHED;
        return;
    }

    /* the longest a call may take: a follower's wait, a probe's hold */
    wait = endpoint->total_timeout + apr_time_from_sec(1);
    if (rai_embed_backoff_check(r->server, wait, &left) == RAI_BACKOFF_WAIT) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0024: token API at "
                      "%s is held back for %" APR_TIME_T_FMT " ms more "
                      "(back-off, or another request probing it): no token "
                      "for this page", endpoint->url, apr_time_as_msec(left));
        result->retry = left;
        return;
    }

    /* about to wait for the API: the caller may send what it has first,
     * or give up if its client has gone */
    if (before_wait && before_wait(baton) != APR_SUCCESS) {
        return;
    }

    if (!rai_flight_board(rai_embed_flights, rai_embed_cache_key_hex(r->pool, key), wait,
                          &flight, r->pool, &result->token, &status)) {
        if (status != RAI_TOKEN_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0025: the "
                          "token request this page waited for failed or took "
                          "too long");
            return;
        }
        result->outcome = RAI_EMBED_OUTCOME_FETCHED;
        return;
    }

    /* another process, or a flight that just landed, may have stored one */
    if (rai_embed_cache_lookup(r, sconf, key, &result->token)) {
        result->outcome = RAI_EMBED_OUTCOME_CACHED;
    }
    else {
        apr_time_t deadline = apr_time_now() + wait;
        apr_uint64_t id = rai_claim_id(rai_embed_cache_key_hex(r->pool, key));
        int got = 0;

        /* one child asks.  When its claim goes without a token in the
         * cache, the cache could not keep it (it is down, say), and would
         * not keep the next one either: each waiting page asks at once,
         * as without single flight, rather than in turn */
        if (rai_embed_cache_enabled(sconf->cache)
            && !rai_embed_claim_take(id, wait, &owned)) {
            got = rai_embed_await_child(r, sconf, key, id, deadline,
                                        &result->token);
            if (got > 0) {
                result->outcome = RAI_EMBED_OUTCOME_CACHED;
            }
            else if (got < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0042: the "
                              "token request another child made for this "
                              "identity failed or took too long");
            }
        }
        if (got == 0) {
            if (rai_embed_call_api(r, sconf, endpoint, identity, key, result)) {
                result->outcome = RAI_EMBED_OUTCOME_FETCHED;
            }
            rai_embed_claim_release(id, owned,
                                    result->outcome == RAI_EMBED_OUTCOME_FAILED);
        }
    }
    /* landed only after the store: a miss from here on finds the token */
    rai_flight_land(rai_embed_flights, flight,
                    result->outcome == RAI_EMBED_OUTCOME_FAILED
                    ? NULL : &result->token);
}

/* Whether this response is about a login httpd refused: a 401 or 407, or
 * the ErrorDocument of one (an internal redirect that keeps r->user of the
 * failed login). */
static int rai_embed_login_refused(const request_rec *r)
{
    for (; r; r = r->prev ? r->prev : r->main) {
        if (r->status == HTTP_UNAUTHORIZED
            || r->status == HTTP_PROXY_AUTHENTICATION_REQUIRED) {
            return 1;
        }
    }
    return 0;
}

/* What the identity sources give for r: FOUND fills result->identity. */
int rai_embed_identity_for(request_rec *r, rai_embed_result_t *result)
{
    rai_embed_dir_conf *dconf =
        ap_get_module_config(r->per_dir_config, &rai_embed_module);
    const apr_array_header_t *identifiers = dconf->identifiers
        ? dconf->identifiers : rai_embed_default_identifiers;
    apr_array_header_t *identity = NULL;
    const char *key = NULL, *why = NULL;

    if (rai_embed_login_refused(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0034: a response "
                      "to a refused login (status %d): no identity, no "
                      "token", r->prev ? r->prev->status : r->status);
        result->outcome = RAI_EMBED_OUTCOME_ANONYMOUS;
        return 0;
    }
    switch (rai_embed_identity_read(r, identifiers, &identity, &key, &why)) {
    case RAI_EMBED_IDENTITY_ANONYMOUS:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0015: no identity "
                      "for this request: no token");
        result->outcome = RAI_EMBED_OUTCOME_ANONYMOUS;
        return 0;
    case RAI_EMBED_IDENTITY_REFUSED:
        rai_embed_log_limited(RAI_WARN_IDENTITY, 0, r, "RAI0012: identifier "
                              "%s refused (%s): no token for this request",
                              key, why);
        result->outcome = RAI_EMBED_OUTCOME_REFUSED;
        return 0;
    case RAI_EMBED_IDENTITY_FOUND:
        break;
    }
    result->identity = identity;
    return 1;
}

const char *rai_embed_outcome_note(rai_embed_outcome_e outcome)
{
    switch (outcome) {
    case RAI_EMBED_OUTCOME_CACHED:
        return "cached";
    case RAI_EMBED_OUTCOME_FETCHED:
        return "fetched";
    case RAI_EMBED_OUTCOME_ANONYMOUS:
        return "anonymous";
    default:
        return "error";
    }
}

/* The one way to a token for a request, for the filter and the refresh
 * endpoint alike: identity, then cache, single flight or API.  Sets the
 * rai-embed note to what happened. */
void rai_embed_request_token(request_rec *r,
                             rai_embed_before_wait_t *before_wait,
                             void *baton, rai_embed_result_t *result)
{
    rai_embed_server_conf *sconf =
        ap_get_module_config(r->server->module_config, &rai_embed_module);
    rai_token_endpoint_t endpoint;

    memset(result, 0, sizeof(*result));
    if (!rai_embed_identity_for(r, result)) {
        /* result->outcome says why */
    }
    else if (!sconf->access_id || !sconf->access_key || !rai_embed_client) {
        rai_embed_log_limited(RAI_WARN_CONFIG, 0, r, "RAI0010: a token is "
                              "wanted for %s without RaiEmbedAccessId and "
                              "RaiEmbedAccessKey for this server", r->uri);
        result->outcome = RAI_EMBED_OUTCOME_UNCONFIGURED;
    }
    else if (!rai_embed_child_ready) {
        /* the cache's keys and entries need libcrypto (RAI0044, RAI0037) */
        rai_embed_log_limited(RAI_WARN_TOKEN, 0, r, "RAI0045: no token for "
                              "%s: this child could not load libcrypto or "
                              "json-c, or derive its seal keys (see RAI0044 "
                              "or RAI0037 at its start)", r->uri);
        result->outcome = RAI_EMBED_OUTCOME_FAILED;
    }
    else {
        rai_embed_endpoint(sconf, &endpoint);
        rai_embed_token_for(r, sconf, &endpoint, result->identity,
                            before_wait, baton, result);
    }
    if (RAI_EMBED_HAS_TOKEN(result) && APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "RAI0013: token %s "
                      "(%s) for %s, %" APR_TIME_T_FMT " s left",
                      rai_embed_fingerprint(r->pool, result->token.token,
                                            result->token.token_len),
                      rai_embed_outcome_note(result->outcome),
                      rai_identity_describe(r->pool, result->identity),
                      apr_time_sec(result->token.expires - apr_time_now()));
    }
    apr_table_setn(r->notes, RAI_EMBED_NOTE,
                   rai_embed_outcome_note(result->outcome));
}
