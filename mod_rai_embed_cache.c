/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_cache.c: tokens kept in one of httpd's shared object
 * caches (ap_socache: shmcb, memcache, redis, ...), keyed by a SHA-256
 * over the token URL, the access id and the canonical identity. */

#include "mod_rai_embed.h"

#include <openssl/sha.h>

#include "apr_strings.h"

#include "ap_provider.h"
#include "http_log.h"
#include "util_mutex.h"



const char *rai_embed_cache_configure(cmd_parms *cmd, rai_embed_cache_t *cache,
                                const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep, *args = NULL;
    char *name;

    if (err) {
        return err;
    }
    cache->configured = 1;
    if (!strcasecmp(arg, "none")) {
        cache->off = 1;
        return NULL;
    }
    cache->off = 0;
    sep = strchr(arg, ':');
    if (sep) {
        name = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(sep - arg));
        args = sep + 1;
    }
    else {
        name = apr_pstrdup(cmd->pool, arg);
    }
    cache->name = name;
    cache->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (!cache->provider) {
        return apr_psprintf(cmd->pool, "RaiEmbedCache: unknown cache provider "
                            "'%s' (is mod_socache_%s loaded before this "
                            "line?); use shmcb, memcache:..., redis:... or "
                            "none", name, name);
    }
    err = cache->provider->create(&cache->instance, args, cmd->temp_pool,
                                  cmd->pool);
    if (err) {
        return apr_psprintf(cmd->pool, "RaiEmbedCache: %s: %s", name, err);
    }
    return NULL;
}

void rai_embed_cache_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, RAI_EMBED_CACHE_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t rai_embed_cache_destroy(void *data)
{
    rai_embed_cache_t *cache = data;

    if (cache->instance) {
        cache->provider->destroy(cache->instance, cache->server);
        cache->instance = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t rai_embed_cache_post_config(rai_embed_cache_t *cache, apr_pool_t *pconf,
                                   apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints;
    apr_status_t rv;
    const char *err;

    if (cache->off) {
        return APR_SUCCESS;
    }
    cache->server = s;
    if (!cache->configured) {
        /* the default: shmcb, if it is there to be had */
        cache->name = "shmcb";
        cache->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                             "shmcb",
                                             AP_SOCACHE_PROVIDER_VERSION);
        if (!cache->provider) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "RAI0021: "
                         "mod_socache_shmcb is not loaded: tokens are not "
                         "cached; load it, or say RaiEmbedCache none");
            cache->off = 1;
            return APR_SUCCESS;
        }
        err = cache->provider->create(&cache->instance, NULL, ptemp, pconf);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "RAI0027: cannot "
                         "create the shmcb token cache: %s", err);
            return APR_EGENERAL;
        }
    }

    if (cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache->mutex, NULL, RAI_EMBED_CACHE_MUTEX_TYPE,
                                    NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "RAI0028: cannot "
                         "create the token cache mutex");
            return rv;
        }
    }

    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = RAI_EMBED_CACHE_KEY_LEN;
    hints.avg_obj_size = 1024;
    hints.expiry_interval = 30;
    rv = cache->provider->init(cache->instance, RAI_EMBED_CACHE_MUTEX_TYPE, &hints,
                               s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "RAI0029: cannot "
                     "initialise the %s token cache", cache->name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, cache, rai_embed_cache_destroy,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void rai_embed_cache_child_init(rai_embed_cache_t *cache, apr_pool_t *pchild,
                          server_rec *s)
{
    apr_status_t rv;

    if (!cache->mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&cache->mutex,
                                     apr_global_mutex_lockfile(cache->mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "RAI0030: cannot attach "
                     "the token cache mutex in this child");
    }
}

int rai_embed_cache_enabled(const rai_embed_cache_t *cache)
{
    return !cache->off && cache->instance;
}

void rai_embed_cache_key_init(apr_pool_t *p, const rai_token_endpoint_t *endpoint,
                              const apr_array_header_t *identity,
                              rai_embed_cache_key_t *key)
{
    const char *canonical = rai_identity_canonical(p, identity);
    apr_size_t url_len = strlen(endpoint->url) + 1;
    apr_size_t id_len = strlen(endpoint->access_id) + 1;
    apr_size_t canonical_len = strlen(canonical);
    char *raw = apr_palloc(p, url_len + id_len + canonical_len);

    /* NUL separators: no URL or id can run into the next field */
    memcpy(raw, endpoint->url, url_len);
    memcpy(raw + url_len, endpoint->access_id, id_len);
    memcpy(raw + url_len + id_len, canonical, canonical_len);
    key->raw = raw;
    key->raw_len = url_len + id_len + canonical_len;
    key->hex = NULL;
}

const char *rai_embed_cache_key_hex(apr_pool_t *p, rai_embed_cache_key_t *key)
{
    if (!key->hex) {
        unsigned char md[RAI_SEAL_SHA256_LEN];
        char *hex = apr_palloc(p, RAI_EMBED_CACHE_KEY_LEN + 1);

        rai_seal_sha256(key->raw, key->raw_len, md);
        ap_bin2hex(md, sizeof(md), hex);
        key->hex = hex;
    }
    return key->hex;
}

static apr_status_t rai_embed_cache_lock(rai_embed_cache_t *cache)
{
    return cache->mutex ? apr_global_mutex_lock(cache->mutex) : APR_SUCCESS;
}

static void rai_embed_cache_unlock(rai_embed_cache_t *cache)
{
    if (cache->mutex) {
        apr_global_mutex_unlock(cache->mutex);
    }
}

apr_status_t rai_embed_cache_get(rai_embed_cache_t *cache, server_rec *s,
                                 const rai_seal_key_t *seal, const char *key,
                                 apr_pool_t *p, rai_token_t *token)
{
    unsigned char *value = apr_palloc(p, RAI_SEAL_MAX);
    unsigned int len = RAI_SEAL_MAX;
    apr_status_t rv;

    if ((rv = rai_embed_cache_lock(cache)) != APR_SUCCESS) {
        rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_GET);
        return rv;
    }
    rv = cache->provider->retrieve(cache->instance, s,
                                   (const unsigned char *)key,
                                   RAI_EMBED_CACHE_KEY_LEN, value, &len, p);
    rai_embed_cache_unlock(cache);
    if (rv != APR_SUCCESS) {
        if (rv != APR_NOTFOUND) {
            rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_GET);
        }
        return rv;
    }
    /* a shared cache may hold anything: only an entry sealed for this key
     * with this endpoint's key is a token */
    if (rai_seal_open_token(p, seal, key, value, len, apr_time_now(), token)
        != APR_SUCCESS) {
        rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_OPEN);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t rai_embed_cache_put(rai_embed_cache_t *cache, server_rec *s,
                                 const rai_seal_key_t *seal, const char *key,
                                 const rai_token_t *token, apr_time_t until,
                                 apr_pool_t *p)
{
    unsigned char *value;
    apr_size_t len;
    apr_status_t rv;

    rv = rai_seal_token(p, seal, key, token, &value, &len);
    if (rv != APR_SUCCESS) {
        rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_SEAL);
        return rv;
    }
    if ((rv = rai_embed_cache_lock(cache)) != APR_SUCCESS) {
        rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_PUT);
        return rv;
    }
    rv = cache->provider->store(cache->instance, s,
                                (const unsigned char *)key,
                                RAI_EMBED_CACHE_KEY_LEN, until, value,
                                (unsigned int)len, p);
    rai_embed_cache_unlock(cache);
    if (rv != APR_SUCCESS) {
        rai_embed_metrics_cache_error(s, RAI_EMBED_CACHE_ERROR_PUT);
    }
    return rv;
}

static apr_status_t rai_embed_cache_wipe_key(void *data)
{
    rai_seal_key_wipe(data);
    return APR_SUCCESS;
}

apr_status_t rai_embed_cache_seal_keys(apr_pool_t *pchild, server_rec *s)
{
    for (; s; s = s->next) {
        rai_embed_server_conf *sconf =
            ap_get_module_config(s->module_config, &rai_embed_module);
        rai_token_endpoint_t endpoint;
        apr_status_t rv;

        sconf->seal_key = NULL;
        if (!sconf->access_id || !sconf->access_key) {
            continue;
        }
        rai_embed_endpoint(sconf, &endpoint);
        sconf->seal_key = apr_palloc(pchild, sizeof(rai_seal_key_t));
        rv = rai_seal_key_derive(sconf->seal_key, endpoint.access_key,
                                 endpoint.url);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "RAI0037: cannot "
                         "derive the key that seals token cache entries; no "
                         "token can be fetched in this child (pages are "
                         "served without)");
            sconf->seal_key = NULL;
            return rv;
        }
        apr_pool_cleanup_register(pchild, sconf->seal_key,
                                  rai_embed_cache_wipe_key,
                                  apr_pool_cleanup_null);
    }
    return APR_SUCCESS;
}
