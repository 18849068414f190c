/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stdlib.h>
#include <string.h>


#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "rai_libs.h"
#include "rai_memo.h"

/* A slot: its token and its key in one malloc'd copy (the token first),
 * wiped when it is let go (a token is a credential for its user for as
 * long as it lives; the key names the user). */
typedef struct {
    char *token;                    /* NULL: the slot is free */
    apr_size_t token_len;
    const char *key;                /* in the same copy, after the token */
    apr_size_t key_len;
    apr_time_t issued, expires;
    apr_time_t until;               /* remembered until then */
} rai_memo_slot_t;

struct rai_memo {
    apr_thread_mutex_t *lock;
    apr_interval_time_t ttl;
    rai_memo_slot_t slots[RAI_MEMO_SLOTS];
};

/* Wipes what the slot holds, as the module wipes its other secrets, and
 * frees it.  Under lock. */
static void rai_memo_clear(rai_memo_slot_t *slot)
{
    if (slot->token) {
        rai_cleanse(slot->token, slot->token_len + 1 + slot->key_len);
        free(slot->token);
        slot->token = NULL;
    }
}

static apr_status_t rai_memo_cleanup(void *data)
{
    rai_memo_t *memo = data;
    int i;

    for (i = 0; i < RAI_MEMO_SLOTS; i++) {
        rai_memo_clear(&memo->slots[i]);
    }
    return APR_SUCCESS;
}

rai_memo_t *rai_memo_create(apr_pool_t *p, apr_interval_time_t ttl)
{
    rai_memo_t *memo;

    if (ttl <= 0) {
        return NULL;
    }
    memo = apr_pcalloc(p, sizeof(*memo));
    if (apr_thread_mutex_create(&memo->lock, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS) {
        return NULL;
    }
    memo->ttl = ttl;
    apr_pool_cleanup_register(p, memo, rai_memo_cleanup,
                              apr_pool_cleanup_null);
    return memo;
}

/* The slot of a key: FNV-1a over all of it (keys of one site share a
 * long prefix, the token URL and the access id). */
static rai_memo_slot_t *rai_memo_slot(rai_memo_t *memo, const void *key,
                                      apr_size_t key_len)
{
    const unsigned char *k = key;
    apr_uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < key_len; i++) {
        h = (h ^ k[i]) * 16777619u;
    }
    return &memo->slots[h % RAI_MEMO_SLOTS];
}

int rai_memo_get(rai_memo_t *memo, const void *key, apr_size_t key_len,
                 apr_time_t now, apr_pool_t *p, rai_token_t *token)
{
    rai_memo_slot_t *slot;
    int found = 0;

    if (!memo || key_len > RAI_MEMO_KEY_MAX) {
        return 0;
    }
    slot = rai_memo_slot(memo, key, key_len);
    apr_thread_mutex_lock(memo->lock);
    if (slot->token && slot->key_len == key_len
        && !memcmp(slot->key, key, key_len)) {
        if (now < slot->until) {
            token->token = apr_pstrmemdup(p, slot->token, slot->token_len);
            token->token_len = slot->token_len;
            token->issued = slot->issued;
            token->expires = slot->expires;
            found = 1;
        }
        else {
            rai_memo_clear(slot);
        }
    }
    apr_thread_mutex_unlock(memo->lock);
    return found;
}

void rai_memo_put(rai_memo_t *memo, const void *key, apr_size_t key_len,
                  const rai_token_t *token, apr_time_t now)
{
    rai_memo_slot_t *slot;
    char *copy;

    if (!memo || token->token_len > RAI_TOKEN_MAX || key_len > RAI_MEMO_KEY_MAX
        || !(copy = malloc(token->token_len + 1 + key_len))) {
        return;
    }
    memcpy(copy, token->token, token->token_len);
    copy[token->token_len] = '\0';
    memcpy(copy + token->token_len + 1, key, key_len);
    slot = rai_memo_slot(memo, key, key_len);
    apr_thread_mutex_lock(memo->lock);
    rai_memo_clear(slot);
    slot->token = copy;
    slot->token_len = token->token_len;
    slot->key = copy + token->token_len + 1;
    slot->key_len = key_len;
    slot->issued = token->issued;
    slot->expires = token->expires;
    slot->until = now + memo->ttl;
    apr_thread_mutex_unlock(memo->lock);
}
