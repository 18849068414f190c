/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_thread_mutex.h"

#include "rai_backoff.h"

typedef struct {
    int failures;                   /* in a row */
    apr_interval_time_t delay;      /* last back-off length */
    apr_time_t until;
} rai_backoff_t;

struct rai_backoff_table {
    apr_pool_t *pool;               /* used only under lock */
    apr_thread_mutex_t *lock;
    apr_hash_t *backoffs;
};

static apr_status_t rai_backoff_table_cleanup(void *data)
{
    rai_backoff_table_t *table = data;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, table->backoffs); hi;
         hi = apr_hash_next(hi)) {
        const void *key;
        void *value;
        apr_hash_this(hi, &key, NULL, &value);
        free(value);
        free((void *)key);
    }
    return APR_SUCCESS;
}

rai_backoff_table_t *rai_backoff_table_create(apr_pool_t *pool)
{
    rai_backoff_table_t *table = apr_pcalloc(pool, sizeof(*table));

    apr_pool_create(&table->pool, pool);
    apr_thread_mutex_create(&table->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    table->backoffs = apr_hash_make(table->pool);
    apr_pool_cleanup_register(table->pool, table, rai_backoff_table_cleanup,
                              apr_pool_cleanup_null);
    return table;
}

/* Called under lock. */
static rai_backoff_t *rai_backoff_get(rai_backoff_table_t *table,
                                      const char *endpoint_key, int create)
{
    rai_backoff_t *b = apr_hash_get(table->backoffs, endpoint_key,
                                    APR_HASH_KEY_STRING);
    char *key;

    if (b || !create) {
        return b;
    }
    b = calloc(1, sizeof(*b));
    key = strdup(endpoint_key);
    if (!b || !key) {
        free(b);
        free(key);
        return NULL;
    }
    apr_hash_set(table->backoffs, key, APR_HASH_KEY_STRING, b);
    return b;
}

apr_interval_time_t rai_backoff_remaining(rai_backoff_table_t *table,
                                          const char *endpoint_key,
                                          apr_time_t now)
{
    apr_interval_time_t left = 0;
    rai_backoff_t *b;

    apr_thread_mutex_lock(table->lock);
    b = rai_backoff_get(table, endpoint_key, 0);
    if (b && b->until > now) {
        left = b->until - now;
    }
    apr_thread_mutex_unlock(table->lock);
    return left;
}

apr_interval_time_t rai_backoff_failure(rai_backoff_table_t *table,
                                        const char *endpoint_key,
                                        apr_time_t now,
                                        apr_interval_time_t retry_after)
{
    apr_interval_time_t started = 0;
    rai_backoff_t *b;

    apr_thread_mutex_lock(table->lock);
    b = rai_backoff_get(table, endpoint_key, 1);
    if (b && b->until > now && retry_after <= 0) {
        /* requests that were under way when the back-off began: one
         * outage doubles the delay once, not once per thread */
        b = NULL;
    }
    if (b) {
        b->failures++;
        if (retry_after > 0) {
            started = retry_after;
        }
        else if (b->failures >= RAI_BACKOFF_THRESHOLD) {
            /* 1 s, doubling with every failure after it, capped */
            b->delay = b->delay ? b->delay * 2 : RAI_BACKOFF_FIRST;
            if (b->delay > RAI_BACKOFF_MAX) {
                b->delay = RAI_BACKOFF_MAX;
            }
            started = b->delay;
        }
        if (started && now + started > b->until) {
            b->until = now + started;
        }
    }
    apr_thread_mutex_unlock(table->lock);
    return started;
}

int rai_backoff_success(rai_backoff_table_t *table, const char *endpoint_key)
{
    int ended = 0;
    rai_backoff_t *b;

    apr_thread_mutex_lock(table->lock);
    b = rai_backoff_get(table, endpoint_key, 0);
    if (b) {
        ended = b->delay > 0 || b->until > 0;
        b->failures = 0;
        b->delay = 0;
        b->until = 0;
    }
    apr_thread_mutex_unlock(table->lock);
    return ended;
}
