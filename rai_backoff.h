/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_backoff: when to call a token API that has been failing.
 *
 * One rai_backoff_t per token URL and access id.  It holds no pointers,
 * so it can live in shared memory and be seen by every child; the caller
 * serialises access (a global mutex) and passes the time in.
 *
 *   healthy:   no failure since the last success: everyone calls.
 *   suspect:   failures, not yet a back-off: one call at a time (a probe);
 *              the others go on without a token until it answers.
 *   back-off:  after RAI_BACKOFF_THRESHOLD failures in a row, or a
 *              Retry-After: nobody calls until it ends, then one probe.
 *
 * A success anywhere ends it for everyone.  APR only. */
#ifndef RAI_BACKOFF_H
#define RAI_BACKOFF_H

#include "apr_time.h"

/* Failures in a row before the module stops calling the API. */
#define RAI_BACKOFF_THRESHOLD 3
#define RAI_BACKOFF_FIRST     apr_time_from_sec(1)
/* Short: probes are one call per period, so recovery shows soon. */
#define RAI_BACKOFF_MAX       apr_time_from_sec(2)

typedef struct {
    apr_uint32_t failures;          /* in a row */
    apr_uint32_t starts;            /* back-offs started, for metrics */
    apr_interval_time_t delay;      /* last back-off length, 0: none */
    apr_time_t until;               /* no calls before this */
    apr_time_t probe_until;         /* a probe is out until this */
} rai_backoff_t;

typedef enum {
    RAI_BACKOFF_CALL,               /* healthy: call */
    RAI_BACKOFF_PROBE,              /* call, as the one probe */
    RAI_BACKOFF_WAIT                /* do not call */
} rai_backoff_verdict_e;

/* May a request call the API now?  A PROBE holds the others off for at
 * most probe_time (the longest the call may take).  WAIT sets *left to
 * the time until a call may be made again. */
rai_backoff_verdict_e rai_backoff_check(rai_backoff_t *b, apr_time_t now,
                                        apr_interval_time_t probe_time,
                                        apr_interval_time_t *left);

/* Counts a failure of the API.  retry_after (from a 429/503) starts a
 * back-off of that length at once.  Returns the back-off it started, or
 * 0; failures of calls made before a back-off began do not lengthen it. */
apr_interval_time_t rai_backoff_failure(rai_backoff_t *b, apr_time_t now,
                                        apr_interval_time_t retry_after);

/* Counts an answer from the API.  Returns 1 when it ended a back-off or a
 * run of failures. */
int rai_backoff_success(rai_backoff_t *b);

/* Whether calls are held back at now (for metrics and the log). */
int rai_backoff_in_force(const rai_backoff_t *b, apr_time_t now);

#endif
