/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_cache: tokens kept in one of httpd's shared object caches
 * (ap_socache: shmcb, memcache, redis, ...), keyed by a SHA-256 over the
 * token URL, the access id and the canonical identity. */
#ifndef RAI_CACHE_H
#define RAI_CACHE_H

#include "httpd.h"
#include "http_config.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"

#include "rai_token.h"

#define RAI_CACHE_MUTEX_TYPE "rai-embed-cache"
#define RAI_CACHE_KEY_LEN    64     /* hex SHA-256 */

typedef struct {
    const char *name;               /* provider name, for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;      /* only for providers that need one */
    server_rec *server;             /* for the provider's destroy */
    int configured;                 /* RaiEmbedCache given */
    int off;                        /* RaiEmbedCache none */
} rai_cache_t;

/* RaiEmbedCache PROVIDER[:ARGS] | none. */
const char *rai_cache_configure(cmd_parms *cmd, rai_cache_t *cache,
                                const char *arg);

/* pre_config: the mutex type, so that Mutex rai-embed-cache ... works. */
void rai_cache_pre_config(apr_pool_t *pconf);

/* post_config: the default cache, the instance and its mutex. */
apr_status_t rai_cache_post_config(rai_cache_t *cache, apr_pool_t *pconf,
                                   apr_pool_t *ptemp, server_rec *s);

/* child_init: re-attaches the mutex. */
void rai_cache_child_init(rai_cache_t *cache, apr_pool_t *pchild,
                          server_rec *s);

/* Whether there is a cache to ask. */
int rai_cache_enabled(const rai_cache_t *cache);

/* The cache key for one identity at one endpoint: 64 hex digits. */
const char *rai_cache_key(apr_pool_t *p, const rai_token_endpoint_t *endpoint,
                          const apr_array_header_t *identity);

/* APR_SUCCESS and *token, APR_NOTFOUND, or the cache's error. */
apr_status_t rai_cache_get(rai_cache_t *cache, server_rec *s,
                           const char *key, apr_pool_t *p,
                           rai_token_t *token);

/* Keeps token under key until the time until. */
apr_status_t rai_cache_put(rai_cache_t *cache, server_rec *s,
                           const char *key, const rai_token_t *token,
                           apr_time_t until, apr_pool_t *p);

#endif
