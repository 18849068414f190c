/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_memo: the tokens this process took from the shared token cache (or
 * fetched and stored there) lately, so that the next page for the same
 * identity is served without the cache's lock, its lookup and the
 * opening of the seal.
 *
 * A few seconds' memory, no more: an entry is forgotten ttl after it was
 * remembered, so that a token removed from the shared cache (a flushed
 * redis, say) stops going into pages of this process that much later.
 * It is keyed by the shared cache's key (a hash over the token URL, the
 * access id and the identity), so it holds nothing the shared cache
 * would not hand to the same request; whether a token may still go into
 * a page (RaiEmbedTokenReuse) is the caller's check, as for the cache.
 *
 * Bounded: RAI_MEMO_SLOTS entries, each slot taken by the key that hashes
 * to it last.  Thread-safe.  APR, and libcrypto to wipe what it lets go. */
#ifndef RAI_MEMO_H
#define RAI_MEMO_H

#include "apr_pools.h"
#include "apr_time.h"

#include "rai_token.h"

#define RAI_MEMO_SLOTS   256
#define RAI_MEMO_KEY_LEN 64           /* the shared cache's key, hex */

typedef struct rai_memo rai_memo_t;

/* A memo whose entries last ttl, released with p; NULL when ttl is 0. */
rai_memo_t *rai_memo_create(apr_pool_t *p, apr_interval_time_t ttl);

/* The token remembered for key (RAI_MEMO_KEY_LEN bytes), copied into p,
 * if it was remembered less than ttl before now: 1, else 0. */
int rai_memo_get(rai_memo_t *memo, const char *key, apr_time_t now,
                 apr_pool_t *p, rai_token_t *token);

/* Remembers token for key from now on (in place of whatever its slot
 * held).  A token longer than RAI_TOKEN_MAX is not remembered. */
void rai_memo_put(rai_memo_t *memo, const char *key, const rai_token_t *token,
                  apr_time_t now);

#endif
