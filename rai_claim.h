/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_claim: which child of the server is asking the token API for an
 * identity right now, so that the others wait for its answer in the
 * shared token cache instead of asking too (single flight across
 * processes; rai_flight does it among the threads of one).
 *
 * A fixed table of claims, with no pointers, for shared memory; the
 * caller serialises access (a global mutex) and passes the time in.  A
 * claim lapses by itself at its deadline, so a child that dies holding
 * one delays the others by at most that long.  When the table is full, a
 * claim is simply not recorded: the caller goes ahead and asks the API,
 * as it would without the table.  A claim given up after a failed call
 * stays until its deadline as a failed one, so that those who waited
 * learn that the answer is not coming (and do not ask in turn); a new
 * claim may take its place at once.  APR only. */
#ifndef RAI_CLAIM_H
#define RAI_CLAIM_H

#include "apr.h"
#include "apr_time.h"

/* Slots in the table, and how many a claim may look at. */
#define RAI_CLAIM_SLOTS 256
#define RAI_CLAIM_PROBE 8

typedef struct {
    apr_uint64_t id;                /* 0: free */
    apr_time_t until;               /* lapses then */
    apr_uint32_t failed;            /* given up after a failed call */
} rai_claim_t;

typedef enum {
    RAI_CLAIM_NONE,                 /* nobody is asking (any more) */
    RAI_CLAIM_HELD,                 /* another is asking now */
    RAI_CLAIM_FAILED                /* the one who asked failed */
} rai_claim_state_e;

/* An identity's claim id from its cache key; never 0.  Two keys may
 * share an id: then one waits for the other's call, and calls itself
 * once that claim is gone (the wait costs time, never a wrong token). */
apr_uint64_t rai_claim_id(const char *key);

/* Claims id until now + hold.  Returns 1 when the caller may ask the API
 * (*owned is then what rai_claim_release needs, 0 if the claim could not
 * be recorded), 0 when another holds a live claim for id (a failed one
 * does not count). */
int rai_claim_take(rai_claim_t *table, apr_uint64_t id, apr_time_t now,
                   apr_interval_time_t hold, apr_time_t *owned);

/* What has become of the claims for id at now. */
rai_claim_state_e rai_claim_state(const rai_claim_t *table, apr_uint64_t id,
                                  apr_time_t now);

/* Gives up the claim taken with owned (failed: the call failed); a claim
 * that has lapsed and been taken again by another is left alone. */
void rai_claim_release(rai_claim_t *table, apr_uint64_t id, apr_time_t owned,
                       int failed);

#endif
