/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_backoff.c: what the children of the server share about
 * the token API, in one segment of shared memory under one mutex:
 *
 * - the back-off state of every token URL and access id, so that all
 *   children see one outage the same way: one probe per period for the
 *   whole server, and one probe's success ends the back-off everywhere
 *   (the rules are rai_backoff.c's);
 * - the claims of the token requests in flight (rai_claim.c), so that a
 *   miss for one identity in several children at once makes one call.
 *
 * This file places them in memory and locks them. */

#include "apr_hash.h"
#include "apr_shm.h"
#include "util_mutex.h"

#include "mod_rai_embed.h"

#define RAI_EMBED_BACKOFF_MUTEX_TYPE "rai-embed-backoff"

static apr_shm_t *rai_embed_backoff_shm;
static rai_backoff_t *rai_embed_backoff_slots;
static rai_claim_t *rai_embed_claims;
static int rai_embed_backoff_count;
static apr_global_mutex_t *rai_embed_backoff_mutex;

void rai_embed_backoff_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, RAI_EMBED_BACKOFF_MUTEX_TYPE, NULL,
                      APR_LOCK_DEFAULT, 0);
}

/* One slot per distinct token URL and access id among the servers that
 * have credentials; each server's configuration learns its slot. */
static int rai_embed_backoff_assign(apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    int count = 0;

    for (; s; s = s->next) {
        rai_embed_server_conf *sconf =
            ap_get_module_config(s->module_config, &rai_embed_module);
        rai_token_endpoint_t endpoint;
        const char *key;
        int *slot;

        sconf->backoff_slot = -1;
        if (!sconf->access_id || !sconf->access_key) {
            continue;
        }
        rai_embed_endpoint(sconf, &endpoint);
        key = rai_embed_endpoint_key(ptemp, &endpoint);
        slot = apr_hash_get(seen, key, APR_HASH_KEY_STRING);
        if (!slot) {
            slot = apr_palloc(ptemp, sizeof(*slot));
            *slot = count++;
            apr_hash_set(seen, key, APR_HASH_KEY_STRING, slot);
        }
        sconf->backoff_slot = *slot;
    }
    return count;
}

apr_status_t rai_embed_backoff_post_config(apr_pool_t *pconf,
                                           apr_pool_t *ptemp, server_rec *s)
{
    apr_size_t size;
    apr_status_t rv;

    rai_embed_backoff_slots = NULL;
    rai_embed_claims = NULL;
    rai_embed_backoff_shm = NULL;
    rai_embed_backoff_mutex = NULL;
    rai_embed_backoff_count = rai_embed_backoff_assign(ptemp, s);
    if (!rai_embed_backoff_count) {
        return APR_SUCCESS;
    }
    /* the claims first: rai_claim_t's alignment holds for both */
    size = sizeof(rai_claim_t) * RAI_CLAIM_SLOTS
           + sizeof(rai_backoff_t) * (apr_size_t)rai_embed_backoff_count;
    /* anonymous: made anew for each generation, inherited by its children */
    rv = apr_shm_create(&rai_embed_backoff_shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "RAI0031: cannot "
                     "create the shared memory for the token API's "
                     "back-off state");
        return rv;
    }
    rai_embed_claims = apr_shm_baseaddr_get(rai_embed_backoff_shm);
    memset(rai_embed_claims, 0, size);
    rai_embed_backoff_slots = (rai_backoff_t *)(void *)
                              (rai_embed_claims + RAI_CLAIM_SLOTS);
    rv = ap_global_mutex_create(&rai_embed_backoff_mutex, NULL,
                                RAI_EMBED_BACKOFF_MUTEX_TYPE, NULL, s, pconf,
                                0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "RAI0032: cannot "
                     "create the back-off mutex");
        return rv;
    }
    return APR_SUCCESS;
}

void rai_embed_backoff_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!rai_embed_backoff_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&rai_embed_backoff_mutex,
                                     apr_global_mutex_lockfile(
                                         rai_embed_backoff_mutex), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "RAI0033: cannot attach "
                     "the back-off mutex in this child");
    }
}

/* The server's slot, locked; NULL when it has none or the lock fails
 * (then the API is simply called: a page never waits on this). */
static rai_backoff_t *rai_embed_backoff_lock(server_rec *s)
{
    rai_embed_server_conf *sconf =
        ap_get_module_config(s->module_config, &rai_embed_module);

    if (!rai_embed_backoff_slots || sconf->backoff_slot < 0
        || sconf->backoff_slot >= rai_embed_backoff_count
        || apr_global_mutex_lock(rai_embed_backoff_mutex) != APR_SUCCESS) {
        return NULL;
    }
    return &rai_embed_backoff_slots[sconf->backoff_slot];
}

static void rai_embed_backoff_unlock(void)
{
    apr_global_mutex_unlock(rai_embed_backoff_mutex);
}

rai_backoff_verdict_e rai_embed_backoff_check(server_rec *s,
                                              apr_interval_time_t probe_time,
                                              apr_interval_time_t *left)
{
    rai_backoff_t *b = rai_embed_backoff_lock(s);
    rai_backoff_verdict_e verdict;

    if (!b) {
        return RAI_BACKOFF_CALL;
    }
    verdict = rai_backoff_check(b, apr_time_now(), probe_time, left);
    rai_embed_backoff_unlock();
    return verdict;
}

apr_interval_time_t rai_embed_backoff_failure(server_rec *s,
                                              apr_interval_time_t retry_after)
{
    rai_backoff_t *b = rai_embed_backoff_lock(s);
    apr_interval_time_t started;

    if (!b) {
        return 0;
    }
    started = rai_backoff_failure(b, apr_time_now(), retry_after);
    rai_embed_backoff_unlock();
    return started;
}

int rai_embed_backoff_success(server_rec *s)
{
    rai_backoff_t *b = rai_embed_backoff_lock(s);
    int ended;

    if (!b) {
        return 0;
    }
    ended = rai_backoff_success(b);
    rai_embed_backoff_unlock();
    return ended;
}

int rai_embed_backoff_state(server_rec *s, rai_backoff_t *copy)
{
    rai_backoff_t *b = rai_embed_backoff_lock(s);

    if (!b) {
        return 0;
    }
    *copy = *b;
    rai_embed_backoff_unlock();
    return 1;
}

/* Single flight across children: 1 when this child may ask the API for
 * the identity whose claim id is id (rai_claim_id; then *owned goes to
 * rai_embed_claim_release), 0 when another child is asking it now.
 * Without the shared memory, or when the lock fails, every child may
 * ask. */
int rai_embed_claim_take(apr_uint64_t id, apr_interval_time_t hold,
                         apr_time_t *owned)
{
    int lead;

    *owned = 0;
    if (!rai_embed_claims
        || apr_global_mutex_lock(rai_embed_backoff_mutex) != APR_SUCCESS) {
        return 1;
    }
    lead = rai_claim_take(rai_embed_claims, id, apr_time_now(), hold, owned);
    apr_global_mutex_unlock(rai_embed_backoff_mutex);
    return lead;
}

rai_claim_state_e rai_embed_claim_state(apr_uint64_t id)
{
    rai_claim_state_e state;

    if (!rai_embed_claims
        || apr_global_mutex_lock(rai_embed_backoff_mutex) != APR_SUCCESS) {
        return RAI_CLAIM_NONE;
    }
    state = rai_claim_state(rai_embed_claims, id, apr_time_now());
    apr_global_mutex_unlock(rai_embed_backoff_mutex);
    return state;
}

void rai_embed_claim_release(apr_uint64_t id, apr_time_t owned, int failed)
{
    if (!owned || !rai_embed_claims
        || apr_global_mutex_lock(rai_embed_backoff_mutex) != APR_SUCCESS) {
        return;
    }
    rai_claim_release(rai_embed_claims, id, owned, failed);
    apr_global_mutex_unlock(rai_embed_backoff_mutex);
}
