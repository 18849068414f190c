/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_memo: a token comes back for its own key only (all
 * of its bytes, NULs and length included), for ttl and no longer, as a
 * copy; slots are bounded; threads may share it.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_memo.bin && ./tests/unit/test_memo.bin
 */

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "rai_memo.h"
#include "unit_run.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A key as the token cache makes them (the token URL, the access id and
 * the identity, NUL separated), numbered: KEY_LEN bytes. */
#define KEY_PREFIX "https://api.example/token\0access-id\0data-email=user"
#define KEY_LEN (sizeof(KEY_PREFIX) - 1 + 8)
static void make_key(char *k, unsigned int n)
{
    memcpy(k, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
    snprintf(k + sizeof(KEY_PREFIX) - 1, 9, "%08x", n);
}

static const char *key_of(unsigned int n)
{
    static char keys[8][KEY_LEN + 1];
    static unsigned int next;
    char *k = keys[next++ % 8];

    make_key(k, n);
    return k;
}

static rai_token_t token_of(const char *text, apr_time_t issued)
{
    rai_token_t t;

    t.token = text;
    t.token_len = strlen(text);
    t.issued = issued;
    t.expires = issued + apr_time_from_sec(900);
    return t;
}

START_TEST(own_key_only_for_ttl)
{
    rai_memo_t *memo = rai_memo_create(pool, apr_time_from_sec(10));
    apr_time_t now = apr_time_from_sec(1000000);
    rai_token_t in = token_of("aaa.bbb.ccc", now - 5), out;
    char key[KEY_LEN];

    ck_assert_ptr_nonnull(memo);
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN, now, pool, &out), 0);
    rai_memo_put(memo, key_of(1), KEY_LEN, &in, now);
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN, now, pool, &out), 1);
    ck_assert_str_eq(out.token, "aaa.bbb.ccc");
    ck_assert_uint_eq(out.token_len, 11);
    ck_assert(out.token != in.token);           /* a copy, in the pool */
    ck_assert_int_eq(out.issued, in.issued);
    ck_assert_int_eq(out.expires, in.expires);
    /* another key, one bit off at the end, or the same bytes but one,
     * or a byte after a NUL changed: nothing */
    memcpy(key, key_of(1), KEY_LEN);
    key[KEY_LEN - 1] ^= 1;
    ck_assert_int_eq(rai_memo_get(memo, key, KEY_LEN, now, pool, &out), 0);
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN - 1, now, pool, &out), 0);
    memcpy(key, key_of(1), KEY_LEN);
    key[sizeof("https://api.example/token")] ^= 0x20;
    ck_assert_int_eq(rai_memo_get(memo, key, KEY_LEN, now, pool, &out), 0);
    /* still there just before ttl, gone at it, and for good */
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN,
                                  now + apr_time_from_sec(10) - 1, pool, &out), 1);
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN,
                                  now + apr_time_from_sec(10), pool, &out), 0);
    ck_assert_int_eq(rai_memo_get(memo, key_of(1), KEY_LEN, now, pool, &out), 0);
}
END_TEST

START_TEST(put_replaces_and_restarts_ttl)
{
    rai_memo_t *memo = rai_memo_create(pool, apr_time_from_sec(2));
    apr_time_t now = apr_time_from_sec(5000);
    rai_token_t a = token_of("first.token.x", now), b = token_of("second.token.y", now + 1);
    rai_token_t out;

    rai_memo_put(memo, key_of(7), KEY_LEN, &a, now);
    rai_memo_put(memo, key_of(7), KEY_LEN, &b, now + apr_time_from_sec(1));
    ck_assert_int_eq(rai_memo_get(memo, key_of(7), KEY_LEN, now + apr_time_from_sec(2),
                                  pool, &out), 1);
    ck_assert_str_eq(out.token, "second.token.y");
    ck_assert_int_eq(out.issued, now + 1);
}
END_TEST

/* More keys than slots: each get gives its own key's token or nothing,
 * and no more than RAI_MEMO_SLOTS are held. */
START_TEST(bounded_and_never_crossed)
{
    rai_memo_t *memo = rai_memo_create(pool, apr_time_from_sec(60));
    apr_time_t now = apr_time_from_sec(1000);
    unsigned int n, held = 0;

    for (n = 0; n < 3 * RAI_MEMO_SLOTS; n++) {
        const char *text = apr_psprintf(pool, "tok.%u.x", n);
        rai_token_t t = token_of(text, now);

        rai_memo_put(memo, key_of(n), KEY_LEN, &t, now);
    }
    for (n = 0; n < 3 * RAI_MEMO_SLOTS; n++) {
        rai_token_t out;

        if (rai_memo_get(memo, key_of(n), KEY_LEN, now, pool, &out)) {
            ck_assert_str_eq(out.token, apr_psprintf(pool, "tok.%u.x", n));
            held++;
        }
    }
    ck_assert_uint_le(held, RAI_MEMO_SLOTS);
    ck_assert_uint_gt(held, 0);
}
END_TEST

START_TEST(off_and_oversized)
{
    rai_memo_t *memo = rai_memo_create(pool, apr_time_from_sec(5));
    apr_time_t now = apr_time_from_sec(77);
    char *big = apr_palloc(pool, RAI_TOKEN_MAX + 2);
    rai_token_t t, out;

    ck_assert_ptr_null(rai_memo_create(pool, 0));
    t = token_of("x.y.z", now);
    rai_memo_put(NULL, key_of(3), KEY_LEN, &t, now);
    ck_assert_int_eq(rai_memo_get(NULL, key_of(3), KEY_LEN, now, pool, &out), 0);
    memset(big, 'a', RAI_TOKEN_MAX + 1);
    big[RAI_TOKEN_MAX + 1] = '\0';
    t = token_of(big, now);
    rai_memo_put(memo, key_of(4), KEY_LEN, &t, now);
    ck_assert_int_eq(rai_memo_get(memo, key_of(4), KEY_LEN, now, pool, &out), 0);
    /* a key too long to remember */
    t = token_of("x.y.z", now);
    big = apr_pcalloc(pool, RAI_MEMO_KEY_MAX + 1);
    rai_memo_put(memo, big, RAI_MEMO_KEY_MAX + 1, &t, now);
    ck_assert_int_eq(rai_memo_get(memo, big, RAI_MEMO_KEY_MAX + 1, now, pool, &out), 0);
    rai_memo_put(memo, big, RAI_MEMO_KEY_MAX, &t, now);
    ck_assert_int_eq(rai_memo_get(memo, big, RAI_MEMO_KEY_MAX, now, pool, &out), 1);
}
END_TEST

/* Threads putting and getting the same few keys: every token that comes
 * back is its key's (ASan and the lock keep the copies whole). */
static rai_memo_t *shared;

static void *hammer(void *arg)
{
    unsigned int id = (unsigned int)(size_t)arg, i;
    apr_pool_t *p;
    char key[KEY_LEN + 1], text[64];
    int bad = 0;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 20000; i++) {
        unsigned int n = (i * 7 + id) % 12;
        rai_token_t t, out;

        make_key(key, n);
        snprintf(text, sizeof(text), "token-of-%u.%u", n, i % 3);
        t = token_of(text, 1);
        if (i % 2) {
            rai_memo_put(shared, key, KEY_LEN, &t, 10);
        }
        else if (rai_memo_get(shared, key, KEY_LEN, 10, p, &out)) {
            snprintf(text, sizeof(text), "token-of-%u.", n);
            bad |= strncmp(out.token, text, strlen(text)) != 0;
        }
        if (i % 1000 == 0) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    return (void *)(size_t)bad;
}

START_TEST(threads)
{
    pthread_t th[4];
    size_t k;
    void *bad;

    shared = rai_memo_create(pool, apr_time_from_sec(60));
    for (k = 0; k < 4; k++) {
        ck_assert_int_eq(pthread_create(&th[k], NULL, hammer, (void *)k), 0);
    }
    for (k = 0; k < 4; k++) {
        pthread_join(th[k], &bad);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rai_memo");
    TCase *tc = tcase_create("memo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, own_key_only_for_ttl);
    tcase_add_test(tc, put_replaces_and_restarts_ttl);
    tcase_add_test(tc, bounded_and_never_crossed);
    tcase_add_test(tc, off_and_oversized);
    tcase_add_test(tc, threads);
    suite_add_tcase(s, tc);
    return unit_run(s, NULL);
}
