/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_claim: see rai_claim.h.  Open addressing: a claim lives in one of
 * RAI_CLAIM_PROBE slots from id's home slot; a lapsed claim's slot is
 * free again. */

#include "rai_claim.h"

/* FNV-1a, 64 bits: the keys are already digests, this only folds them. */
apr_uint64_t rai_claim_id(const char *key)
{
    apr_uint64_t id = 0xcbf29ce484222325ULL;

    for (; *key; key++) {
        id ^= (unsigned char)*key;
        id *= 0x100000001b3ULL;
    }
    return id ? id : 1;
}

static unsigned int rai_claim_slot(apr_uint64_t id, int k)
{
    return (unsigned int)((id + (apr_uint64_t)k) % RAI_CLAIM_SLOTS);
}

int rai_claim_take(rai_claim_t *table, apr_uint64_t id, apr_time_t now,
                   apr_interval_time_t hold, apr_time_t *owned)
{
    rai_claim_t *free_slot = NULL, *failed = NULL;
    int k;

    *owned = 0;
    for (k = 0; k < RAI_CLAIM_PROBE; k++) {
        rai_claim_t *c = &table[rai_claim_slot(id, k)];
        int live = c->id && c->until > now;

        if (live && c->id == id) {
            if (!c->failed) {
                return 0;
            }
            failed = c;         /* taken over: one slot for id at most */
        }
        else if (!live && !free_slot) {
            free_slot = c;
        }
    }
    if (failed) {
        free_slot = failed;
    }
    if (free_slot) {
        free_slot->id = id;
        free_slot->until = now + (hold > 0 ? hold : 1);
        free_slot->failed = 0;
        *owned = free_slot->until;
    }
    return 1;
}

rai_claim_state_e rai_claim_state(const rai_claim_t *table, apr_uint64_t id,
                                  apr_time_t now)
{
    rai_claim_state_e state = RAI_CLAIM_NONE;
    int k;

    for (k = 0; k < RAI_CLAIM_PROBE; k++) {
        const rai_claim_t *c = &table[rai_claim_slot(id, k)];

        if (c->id == id && c->until > now) {
            if (!c->failed) {
                return RAI_CLAIM_HELD;
            }
            state = RAI_CLAIM_FAILED;
        }
    }
    return state;
}

void rai_claim_release(rai_claim_t *table, apr_uint64_t id, apr_time_t owned,
                       int failed)
{
    int k;

    if (!owned) {
        return;
    }
    for (k = 0; k < RAI_CLAIM_PROBE; k++) {
        rai_claim_t *c = &table[rai_claim_slot(id, k)];

        if (c->id == id && c->until == owned && !c->failed) {
            if (failed) {
                c->failed = 1;      /* until it lapses, for those waiting */
            }
            else {
                c->id = 0;
                c->until = 0;
            }
            return;
        }
    }
}
