/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_flight: what the threads of one process share about token requests.
 *
 * Single flight: concurrent misses for one identity make one API call; the
 * others wait for its answer.  APR only. */
#ifndef RAI_FLIGHT_H
#define RAI_FLIGHT_H

#include "apr_pools.h"
#include "apr_time.h"

#include "rai_token.h"

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

#endif
