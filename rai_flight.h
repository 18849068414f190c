/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_flight: what the threads of one process share about token requests.
 *
 * Single flight: concurrent misses for one identity make one API call; the
 * others wait for its answer.  Back-off: after repeated failures of one
 * token URL and access id, no calls for a while.  APR only. */
#ifndef RAI_FLIGHT_H
#define RAI_FLIGHT_H

#include "apr_pools.h"
#include "apr_time.h"

#include "rai_token.h"

/* Failures in a row before the module stops calling the API. */
#define RAI_BACKOFF_THRESHOLD 3
#define RAI_BACKOFF_FIRST     apr_time_from_sec(1)
#define RAI_BACKOFF_MAX       apr_time_from_sec(60)

typedef struct rai_flight_table rai_flight_table_t;
typedef struct rai_flight rai_flight_t;

/* One table per process, released with pool. */
rai_flight_table_t *rai_flight_table_create(apr_pool_t *pool);

/* Joins the flight for key, or starts one.  Returns 1 when the caller
 * leads: it must make the call and rai_flight_land() the answer.  Returns
 * 0 when it followed: *token holds the leader's token (copied into p) and
 * the result is RAI_TOKEN_OK, or the flight failed or took longer than
 * wait. */
int rai_flight_board(rai_flight_table_t *table, const char *key,
                     apr_interval_time_t wait, rai_flight_t **flight,
                     apr_pool_t *p, rai_token_t *token,
                     rai_token_status_e *result);

/* Ends a flight and hands token (NULL on failure) to those who wait. */
void rai_flight_land(rai_flight_table_t *table, rai_flight_t *flight,
                     const rai_token_t *token);

/* How long calls to endpoint_key are still held back, or 0. */
apr_interval_time_t rai_backoff_remaining(rai_flight_table_t *table,
                                          const char *endpoint_key,
                                          apr_time_t now);

/* Counts a failure.  retry_after (from a 429/503) starts a back-off of
 * that length at once.  Returns the back-off it started, or 0. */
apr_interval_time_t rai_backoff_failure(rai_flight_table_t *table,
                                        const char *endpoint_key,
                                        apr_time_t now,
                                        apr_interval_time_t retry_after);

/* Counts a success.  Returns 1 when it ended a back-off. */
int rai_backoff_success(rai_flight_table_t *table, const char *endpoint_key);

#endif
