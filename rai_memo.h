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
 * It is keyed by what the shared cache's key is the hash of (the token
 * URL, the access id and the identity), compared whole, so that a page
 * served from it costs no hash and it holds nothing the shared cache
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
#define RAI_MEMO_KEY_MAX 4096         /* a longer key is not remembered */

typedef struct rai_memo rai_memo_t;

/* A memo whose entries last ttl, released with p; NULL when ttl is 0. */
rai_memo_t *rai_memo_create(apr_pool_t *p, apr_interval_time_t ttl);

/* The token remembered for key (key_len bytes, any), copied into p, if
 * it was remembered less than ttl before now: 1, else 0. */
int rai_memo_get(rai_memo_t *memo, const void *key, apr_size_t key_len,
                 apr_time_t now, apr_pool_t *p, rai_token_t *token);

/* Remembers token for key from now on (in place of whatever its slot
 * held).  A token longer than RAI_TOKEN_MAX, or a key longer than
 * RAI_MEMO_KEY_MAX, is not remembered. */
void rai_memo_put(rai_memo_t *memo, const void *key, apr_size_t key_len,
                  const rai_token_t *token, apr_time_t now);

#endif
