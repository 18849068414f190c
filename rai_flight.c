/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stdlib.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include "rai_flight.h"

/* Flights live from the first miss to the last waiter: they are malloc'd,
 * not pool-allocated, so that a busy process does not grow a pool. */
struct rai_flight {
    char *key;
    int riders;                     /* leader and followers still inside */
    int landed;
    rai_token_status_e result;
    char *token;
    apr_size_t token_len;
    apr_time_t issued;
    apr_time_t expires;
};

struct rai_flight_table {
    apr_pool_t *pool;               /* used only under lock */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *landed;      /* one for all flights: waiters recheck */
    apr_hash_t *flights;
};

static void rai_flight_free(rai_flight_t *flight)
{
    free(flight->token);
    free(flight->key);
    free(flight);
}

rai_flight_table_t *rai_flight_table_create(apr_pool_t *pool)
{
    rai_flight_table_t *table = apr_pcalloc(pool, sizeof(*table));

    apr_pool_create(&table->pool, pool);
    apr_thread_mutex_create(&table->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&table->landed, pool);
    table->flights = apr_hash_make(table->pool);
    return table;
}

int rai_flight_board(rai_flight_table_t *table, const char *key,
                     apr_interval_time_t wait, rai_flight_t **flight,
                     apr_pool_t *p, rai_token_t *token,
                     rai_token_status_e *result)
{
    apr_time_t deadline = apr_time_now() + wait;
    rai_flight_t *f;

    apr_thread_mutex_lock(table->lock);
    f = apr_hash_get(table->flights, key, APR_HASH_KEY_STRING);
    if (!f) {
        f = calloc(1, sizeof(*f));
        if (f && !(f->key = strdup(key))) {
            free(f);
            f = NULL;
        }
        if (f) {
            f->riders = 1;
            apr_hash_set(table->flights, f->key, APR_HASH_KEY_STRING, f);
        }
        apr_thread_mutex_unlock(table->lock);
        *flight = f;            /* NULL: out of memory, fly alone */
        return 1;
    }

    f->riders++;
    while (!f->landed) {
        apr_interval_time_t left = deadline - apr_time_now();
        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(table->landed, table->lock, left);
    }
    if (f->landed && f->result == RAI_TOKEN_OK) {
        token->token = apr_pstrmemdup(p, f->token, f->token_len);
        token->token_len = f->token_len;
        token->issued = f->issued;
        token->expires = f->expires;
        *result = RAI_TOKEN_OK;
    }
    else {
        *result = f->landed ? f->result : RAI_TOKEN_E_TIMEOUT;
    }
    if (--f->riders == 0) {
        rai_flight_free(f);
    }
    apr_thread_mutex_unlock(table->lock);
    return 0;
}

void rai_flight_land(rai_flight_table_t *table, rai_flight_t *flight,
                     const rai_token_t *token)
{
    if (!flight) {
        return;
    }
    apr_thread_mutex_lock(table->lock);
    /* misses from now on start a new flight */
    apr_hash_set(table->flights, flight->key, APR_HASH_KEY_STRING, NULL);
    flight->landed = 1;
    flight->result = RAI_TOKEN_E_CONNECT;
    if (token && (flight->token = malloc(token->token_len + 1)) != NULL) {
        memcpy(flight->token, token->token, token->token_len);
        flight->token[token->token_len] = '\0';
        flight->token_len = token->token_len;
        flight->issued = token->issued;
        flight->expires = token->expires;
        flight->result = RAI_TOKEN_OK;
    }
    apr_thread_cond_broadcast(table->landed);
    if (--flight->riders == 0) {
        rai_flight_free(flight);
    }
    apr_thread_mutex_unlock(table->lock);
}
