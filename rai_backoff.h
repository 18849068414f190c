/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_backoff: after repeated failures of one token URL and access id, no
 * calls to it for a while.  APR only. */
#ifndef RAI_BACKOFF_H
#define RAI_BACKOFF_H

#include "apr_pools.h"
#include "apr_time.h"

/* Failures in a row before the module stops calling the API. */
#define RAI_BACKOFF_THRESHOLD 3
#define RAI_BACKOFF_FIRST     apr_time_from_sec(1)
#define RAI_BACKOFF_MAX       apr_time_from_sec(60)

typedef struct rai_backoff_table rai_backoff_table_t;

/* One table per process, released with pool. */
rai_backoff_table_t *rai_backoff_table_create(apr_pool_t *pool);

/* How long calls to endpoint_key are still held back, or 0. */
apr_interval_time_t rai_backoff_remaining(rai_backoff_table_t *table,
                                          const char *endpoint_key,
                                          apr_time_t now);

/* Counts a failure.  retry_after (from a 429/503) starts a back-off of
 * that length at once.  Returns the back-off it started, or 0. */
apr_interval_time_t rai_backoff_failure(rai_backoff_table_t *table,
                                        const char *endpoint_key,
                                        apr_time_t now,
                                        apr_interval_time_t retry_after);

/* Counts a success.  Returns 1 when it ended a back-off. */
int rai_backoff_success(rai_backoff_table_t *table, const char *endpoint_key);

#endif
