/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_seal, the sealed token cache entries: round trip, and
 * every way an entry must fail to open (another cache key, access key or
 * token URL; any byte flipped; any truncation; another version; times that
 * make no sense; a token of the wrong shape even when sealed right).
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_seal.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_seal.bin
 */

#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"

#include "rai_libs.h"
#include "rai_seal.h"

#define ACCESS_KEY "s3cr3t-access-key"
#define TOKEN_URL  "https://api-v2.returning.ai/v2/api/widget-access-keys/token"
#define TOKEN      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
#define NOW_SEC    ((apr_int64_t)1700000000)
#define NOW        apr_time_from_sec(NOW_SEC)

static apr_pool_t *pool;
static rai_seal_key_t key;
static char cache_key[2 * SHA256_DIGEST_LENGTH + 1];
static char other_cache_key[2 * SHA256_DIGEST_LENGTH + 1];

/* A cache key as rai_cache_key() makes them: 64 hex digits. */
static void hex_key(char *out, const char *seed)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    int i;

    SHA256((const unsigned char *)seed, strlen(seed), md);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        sprintf(out + 2 * i, "%02x", md[i]);
    }
}

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    ck_assert_int_eq(rai_seal_key_derive(&key, ACCESS_KEY, TOKEN_URL),
                     APR_SUCCESS);
    hex_key(cache_key, "alice");
    hex_key(other_cache_key, "mallory");
}

static void teardown(void)
{
    rai_seal_key_wipe(&key);
    apr_pool_destroy(pool);
}

static rai_token_t token_make(const char *text, apr_time_t issued,
                              apr_time_t expires)
{
    rai_token_t t;

    t.token = text;
    t.token_len = strlen(text);
    t.issued = issued;
    t.expires = expires;
    return t;
}

static rai_token_t token_default(void)
{
    return token_make(TOKEN, NOW, NOW + apr_time_from_sec(900));
}

static void seal(const rai_token_t *t, unsigned char **out, apr_size_t *len)
{
    ck_assert_int_eq(rai_seal_token(pool, &key, cache_key, t, out, len),
                     APR_SUCCESS);
}

static apr_status_t open_entry(const rai_seal_key_t *k, const char *ck,
                               const unsigned char *in, apr_size_t len,
                               rai_token_t *out)
{
    return rai_seal_open_token(pool, k, ck, in, len, NOW, out);
}

/* Known answers, computed apart from this code (Python's cryptography
 * package; the key also with "openssl kdf ... HKDF"): they pin the format
 * that other servers of a web farm read. */
static const unsigned char kat_key[32] = {
    0xfc, 0xa1, 0xc2, 0x30, 0xa3, 0x93, 0x55, 0x80, 0x2f, 0x26, 0x73, 0xb1,
    0xe1, 0xa7, 0xce, 0x41, 0x55, 0xaa, 0xf8, 0x67, 0x79, 0x6f, 0x06, 0x2e,
    0x8c, 0xb9, 0x03, 0x3f, 0x00, 0x69, 0xa0, 0x30
};
/* TOKEN issued at NOW, for 900 s, under cache key sha256("alice"), with
 * the nonce 00 01 .. 0b. */
static const char kat_entry[] =
    "\x01\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x00\xc7\x36"
    "\xc1\xca\x4c\x83\xb1\x37\xe9\x72\x6d\x03\x93\x4c\x53\x5b\xc7\x9c"
    "\xf1\x60\x3d\x4c\xca\xd0\xe3\x8d\xdc\xff\x42\x87\xc6\x6a\xa3\xc8"
    "\x28\x10\xb9\xcc\xdf\x81\xbf\xc3\xa3\x01\x3a\x10\x98\x57\x44\x2a"
    "\xd8\xc8\x09\xaa\x46\x4e\x59\x8c\x5f\xd9\x0d\xa9\x6a\xcb\xe8\x1a"
    "\x8e\xf8\x3a\x0d\x5f\x3e\xe6\xb3\xc1\xff\x9d\x23\xe3\x01\x6d\xe5"
    "\x4e\xaf\x2d";

START_TEST(known_answer)
{
    rai_token_t back;

    ck_assert(memcmp(key.key, kat_key, sizeof(kat_key)) == 0);
    ck_assert_uint_eq(sizeof(kat_entry) - 1, 99);
    ck_assert_int_eq(open_entry(&key, cache_key,
                                (const unsigned char *)kat_entry,
                                sizeof(kat_entry) - 1, &back), APR_SUCCESS);
    ck_assert_str_eq(back.token, TOKEN);
    ck_assert(back.issued == NOW);
    ck_assert(back.expires == NOW + apr_time_from_sec(900));
}
END_TEST

START_TEST(round_trip)
{
    rai_token_t t = token_default(), back;
    unsigned char *sealed;
    apr_size_t len;

    seal(&t, &sealed, &len);
    ck_assert_uint_eq(len, RAI_SEAL_OVERHEAD + strlen(TOKEN));
    ck_assert_uint_le(len, RAI_SEAL_MAX);
    ck_assert_int_eq(sealed[0], RAI_SEAL_VERSION);
    memset(&back, 0, sizeof(back));
    ck_assert_int_eq(open_entry(&key, cache_key, sealed, len, &back),
                     APR_SUCCESS);
    ck_assert_uint_eq(back.token_len, strlen(TOKEN));
    ck_assert_str_eq(back.token, TOKEN);   /* NUL-terminated */
    ck_assert(back.issued == t.issued);
    ck_assert(back.expires == t.expires);
}
END_TEST

START_TEST(round_trip_sizes)
{
    /* the shortest token, the longest, and one over the limit */
    char *longest = apr_palloc(pool, RAI_TOKEN_MAX + 2);
    rai_token_t t, back;
    unsigned char *sealed;
    apr_size_t len;

    t = token_make("a.b.", NOW, NOW + 1);
    seal(&t, &sealed, &len);
    ck_assert_uint_eq(len, RAI_SEAL_MIN);
    ck_assert_int_eq(open_entry(&key, cache_key, sealed, len, &back),
                     APR_SUCCESS);
    ck_assert_str_eq(back.token, "a.b.");

    memset(longest, 'A', RAI_TOKEN_MAX);
    longest[10] = '.';
    longest[20] = '.';
    longest[RAI_TOKEN_MAX] = '\0';
    t = token_make(longest, NOW, NOW + apr_time_from_sec(86400));
    seal(&t, &sealed, &len);
    ck_assert_uint_eq(len, RAI_SEAL_MAX);
    ck_assert_int_eq(open_entry(&key, cache_key, sealed, len, &back),
                     APR_SUCCESS);
    ck_assert_uint_eq(back.token_len, RAI_TOKEN_MAX);

    longest[RAI_TOKEN_MAX] = 'A';
    longest[RAI_TOKEN_MAX + 1] = '\0';
    t = token_make(longest, NOW, NOW + 1);
    ck_assert_int_eq(rai_seal_token(pool, &key, cache_key, &t, &sealed, &len),
                     APR_EINVAL);
}
END_TEST

START_TEST(refuses_bad_shape)
{
    static const char *const bad[] = {
        "", "abc", "a.b", "a..c", ".b.c", "a.b.c.d", "a.b.c\n", "a b.c.d",
        "a.b.c\"", NULL
    };
    rai_token_t t;
    unsigned char *sealed;
    apr_size_t len;
    int i;

    for (i = 0; bad[i]; i++) {
        t = token_make(bad[i], NOW, NOW + 1);
        ck_assert_msg(rai_seal_token(pool, &key, cache_key, &t, &sealed,
                                     &len) == APR_EINVAL, "%s", bad[i]);
    }
    t.token = NULL;
    ck_assert_int_eq(rai_seal_token(pool, &key, cache_key, &t, &sealed, &len),
                     APR_EINVAL);
}
END_TEST

START_TEST(swapped_entry_fails)
{
    rai_token_t t = token_default(), back;
    unsigned char *sealed;
    apr_size_t len;

    seal(&t, &sealed, &len);
    ck_assert_int_eq(open_entry(&key, other_cache_key, sealed, len, &back),
                     APR_NOTFOUND);
    /* a prefix or an extension of the cache key is another key too */
    ck_assert_int_eq(open_entry(&key, apr_pstrndup(pool, cache_key, 63),
                                sealed, len, &back), APR_NOTFOUND);
    ck_assert_int_eq(open_entry(&key, apr_pstrcat(pool, cache_key, "0", NULL),
                                sealed, len, &back), APR_NOTFOUND);
    ck_assert_int_eq(open_entry(&key, "", sealed, len, &back), APR_NOTFOUND);
}
END_TEST

START_TEST(rotation_fails)
{
    rai_token_t t = token_default(), back;
    rai_seal_key_t other;
    unsigned char *sealed;
    apr_size_t len;

    seal(&t, &sealed, &len);

    ck_assert_int_eq(rai_seal_key_derive(&other, ACCESS_KEY "2", TOKEN_URL),
                     APR_SUCCESS);
    ck_assert(memcmp(other.key, key.key, sizeof(key.key)) != 0);
    ck_assert_int_eq(open_entry(&other, cache_key, sealed, len, &back),
                     APR_NOTFOUND);

    ck_assert_int_eq(rai_seal_key_derive(&other, ACCESS_KEY,
                                         TOKEN_URL "?x"), APR_SUCCESS);
    ck_assert_int_eq(open_entry(&other, cache_key, sealed, len, &back),
                     APR_NOTFOUND);

    /* the same inputs give the same key: another child, another server */
    ck_assert_int_eq(rai_seal_key_derive(&other, ACCESS_KEY, TOKEN_URL),
                     APR_SUCCESS);
    ck_assert(memcmp(other.key, key.key, sizeof(key.key)) == 0);
    ck_assert_int_eq(open_entry(&other, cache_key, sealed, len, &back),
                     APR_SUCCESS);
    rai_seal_key_wipe(&other);
    {
        static const unsigned char zero[sizeof(other.key)];
        ck_assert(memcmp(other.key, zero, sizeof(zero)) == 0);
    }
}
END_TEST

START_TEST(derive_refuses_empty)
{
    rai_seal_key_t k;

    ck_assert_int_eq(rai_seal_key_derive(&k, "", TOKEN_URL), APR_EINVAL);
    ck_assert_int_eq(rai_seal_key_derive(&k, NULL, TOKEN_URL), APR_EINVAL);
    ck_assert_int_eq(rai_seal_key_derive(&k, ACCESS_KEY, ""), APR_EINVAL);
    ck_assert_int_eq(rai_seal_key_derive(&k, ACCESS_KEY, NULL), APR_EINVAL);
}
END_TEST

START_TEST(every_byte_flipped_fails)
{
    rai_token_t t = token_default(), back;
    unsigned char *sealed, *copy;
    apr_size_t len, i;
    int bit;

    seal(&t, &sealed, &len);
    copy = apr_pmemdup(pool, sealed, len);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            copy[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(open_entry(&key, cache_key, copy, len, &back)
                          == APR_NOTFOUND, "byte %zu bit %d", (size_t)i, bit);
            copy[i] = sealed[i];
        }
    }
    ck_assert_int_eq(open_entry(&key, cache_key, copy, len, &back),
                     APR_SUCCESS);
}
END_TEST

START_TEST(every_truncation_fails)
{
    rai_token_t t = token_default(), back;
    unsigned char *sealed, *longer;
    apr_size_t len, cut;

    seal(&t, &sealed, &len);
    for (cut = 0; cut < len; cut++) {
        /* a copy of exactly cut bytes: ASan sees any read past it */
        unsigned char *part = malloc(cut ? cut : 1);
        memcpy(part, sealed, cut);
        ck_assert_msg(open_entry(&key, cache_key, part, cut, &back)
                      == APR_NOTFOUND, "cut at %zu", (size_t)cut);
        free(part);
    }
    ck_assert_int_eq(open_entry(&key, cache_key, NULL, 0, &back),
                     APR_NOTFOUND);
    /* and a byte more is no entry either */
    longer = apr_palloc(pool, len + 1);
    memcpy(longer, sealed, len);
    longer[len] = 0;
    ck_assert_int_eq(open_entry(&key, cache_key, longer, len + 1, &back),
                     APR_NOTFOUND);
}
END_TEST

START_TEST(wrong_version_fails)
{
    rai_token_t t = token_default(), back;
    unsigned char *sealed;
    apr_size_t len;
    int v;

    seal(&t, &sealed, &len);
    for (v = 0; v < 256; v++) {
        if (v == RAI_SEAL_VERSION) {
            continue;
        }
        sealed[0] = (unsigned char)v;
        ck_assert_int_eq(open_entry(&key, cache_key, sealed, len, &back),
                         APR_NOTFOUND);
    }
}
END_TEST

START_TEST(old_plain_entry_fails)
{
    /* today's plain-text format, as a cache may still hold it */
    const char *plain = apr_psprintf(pool, "%" APR_TIME_T_FMT " %"
                                     APR_TIME_T_FMT " %s", NOW,
                                     NOW + apr_time_from_sec(900), TOKEN);
    rai_token_t back;

    ck_assert_int_eq(open_entry(&key, cache_key, (const unsigned char *)plain,
                                strlen(plain), &back), APR_NOTFOUND);
}
END_TEST

static int contains(const unsigned char *hay, apr_size_t hay_len,
                    const char *needle, apr_size_t needle_len)
{
    apr_size_t i;

    for (i = 0; i + needle_len <= hay_len; i++) {
        if (!memcmp(hay + i, needle, needle_len)) {
            return 1;
        }
    }
    return 0;
}

START_TEST(token_not_visible)
{
    rai_token_t t = token_default();
    unsigned char *sealed;
    apr_size_t len;

    seal(&t, &sealed, &len);
    /* no 8 bytes of the token in a row, nor the header, nor the key */
    ck_assert(!contains(sealed, len, TOKEN, 8));
    ck_assert(!contains(sealed, len, &TOKEN[20], 8));
    ck_assert(!contains(sealed, len, &TOKEN[sizeof(TOKEN) - 9], 8));
    ck_assert(!contains(sealed, len, ACCESS_KEY, 6));
    ck_assert(!contains(sealed, len, cache_key, 8));
}
END_TEST

START_TEST(nonce_is_random)
{
    rai_token_t t = token_default();
    unsigned char *a, *b;
    apr_size_t alen, blen;

    seal(&t, &a, &alen);
    seal(&t, &b, &blen);
    ck_assert_uint_eq(alen, blen);
    ck_assert(memcmp(a, b, alen) != 0);
    ck_assert(memcmp(a + 1, b + 1, RAI_SEAL_NONCE_LEN) != 0);
}
END_TEST

START_TEST(impossible_times_fail)
{
    static const struct {
        apr_int64_t issued, expires;    /* seconds from NOW */
        int ok;
    } cases[] = {
        { 0, 900, 1 },
        { -3600, 900, 1 },
        { 60, 900, 1 },         /* another server's clock, a little ahead */
        { 61, 900, 0 },         /* too far ahead */
        { 0, 0, 0 },            /* expires == issued */
        { 0, -1, 0 },           /* expires before issued */
        { 0, 86400, 1 },
        { 0, 86401, 0 },        /* lives longer than a day */
        { -NOW_SEC, 900, 0 },   /* issued at 0 */
        { -NOW_SEC - 1, 900, 0 },
    };
    rai_token_t back;
    unsigned char *sealed;
    apr_size_t len, i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rai_token_t t = token_make(TOKEN,
                                   NOW + apr_time_from_sec(cases[i].issued),
                                   NOW + apr_time_from_sec(cases[i].expires));
        seal(&t, &sealed, &len);
        ck_assert_msg((open_entry(&key, cache_key, sealed, len, &back)
                       == APR_SUCCESS) == cases[i].ok, "case %zu",
                      (size_t)i);
        ck_assert_int_eq(rai_seal_times_ok(t.issued, t.expires, NOW),
                         cases[i].ok);
    }
    /* extremes: no overflow anywhere (UBSan would say) */
    ck_assert(!rai_seal_times_ok(APR_INT64_MAX, APR_INT64_MAX, NOW));
    ck_assert(!rai_seal_times_ok(APR_INT64_MIN, APR_INT64_MAX, NOW));
    ck_assert(!rai_seal_times_ok(1, APR_INT64_MAX, NOW));
    ck_assert(!rai_seal_times_ok(NOW, APR_INT64_MIN, NOW));
}
END_TEST

/* The same, with the algorithms looked up once (as in httpd) */
static void setup_fetched(void)
{
    setup();
    rai_seal_global_init(pool);
}

START_TEST(sha256_known_answer)
{
    static const unsigned char abc[RAI_SEAL_SHA256_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
    };
    unsigned char md[RAI_SEAL_SHA256_LEN];

    rai_seal_sha256("abc", 3, md);
    ck_assert(memcmp(md, abc, sizeof(md)) == 0);
}
END_TEST

static Suite *seal_suite(void)
{
    Suite *s = suite_create("rai_seal");
    TCase *tc = tcase_create("seal");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, known_answer);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, round_trip_sizes);
    tcase_add_test(tc, refuses_bad_shape);
    tcase_add_test(tc, swapped_entry_fails);
    tcase_add_test(tc, rotation_fails);
    tcase_add_test(tc, derive_refuses_empty);
    tcase_add_test(tc, every_byte_flipped_fails);
    tcase_add_test(tc, every_truncation_fails);
    tcase_add_test(tc, wrong_version_fails);
    tcase_add_test(tc, old_plain_entry_fails);
    tcase_add_test(tc, token_not_visible);
    tcase_add_test(tc, nonce_is_random);
    tcase_add_test(tc, impossible_times_fail);
    tcase_add_test(tc, sha256_known_answer);
    suite_add_tcase(s, tc);
    /* teardown destroys the pool: the looked-up algorithms go with it */
    tc = tcase_create("seal, algorithms looked up once");
    tcase_add_checked_fixture(tc, setup_fetched, teardown);
    tcase_add_test(tc, known_answer);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, every_byte_flipped_fails);
    tcase_add_test(tc, sha256_known_answer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "cannot initialise APR\n");
        return 2;
    }
    if (rai_libs_load()) {
        fprintf(stderr, "%s\n", rai_libs_load());
        return 2;
    }
    sr = srunner_create(seal_suite());
    /* ASan and fork() do not mix well */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
