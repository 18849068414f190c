/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include "rai_backoff.h"

rai_backoff_verdict_e rai_backoff_check(rai_backoff_t *b, apr_time_t now,
                                        apr_interval_time_t probe_time,
                                        apr_interval_time_t *left)
{
    if (b->until > now) {
        *left = b->until - now;
        return RAI_BACKOFF_WAIT;
    }
    if (!b->failures && !b->delay) {
        return RAI_BACKOFF_CALL;
    }
    /* one call at a time to an API that has been failing: a hanging API
     * ties up one worker, not all of them */
    if (b->probe_until > now) {
        *left = b->probe_until - now;
        return RAI_BACKOFF_WAIT;
    }
    b->probe_until = now + probe_time;
    return RAI_BACKOFF_PROBE;
}

apr_interval_time_t rai_backoff_failure(rai_backoff_t *b, apr_time_t now,
                                        apr_interval_time_t retry_after)
{
    apr_interval_time_t started = 0;

    b->probe_until = 0;
    if (b->until > now && retry_after <= 0) {
        /* a call that was under way when the back-off began: one outage
         * doubles the delay once, not once per call */
        return 0;
    }
    b->failures++;
    if (retry_after > 0) {
        started = retry_after;
    }
    else if (b->failures >= RAI_BACKOFF_THRESHOLD) {
        /* 1 s, doubling with every failed probe after it, capped */
        b->delay = b->delay ? b->delay * 2 : RAI_BACKOFF_FIRST;
        if (b->delay > RAI_BACKOFF_MAX) {
            b->delay = RAI_BACKOFF_MAX;
        }
        started = b->delay;
    }
    if (started) {
        if (now + started > b->until) {
            b->until = now + started;
        }
        b->starts++;
    }
    return started;
}

int rai_backoff_success(rai_backoff_t *b)
{
    int ended = b->failures > 0 || b->delay > 0 || b->until > 0;

    b->failures = 0;
    b->delay = 0;
    b->until = 0;
    b->probe_until = 0;
    return ended;
}

int rai_backoff_in_force(const rai_backoff_t *b, apr_time_t now)
{
    return b->until > now;
}
