/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_headers: the Cache-Control value of a rewritten page
 * (rai_headers_private) and the headers dropped from it
 * (rai_headers_dropped).
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_headers.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_headers.bin
 */

#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "rai_headers.h"
#include "unit_run.h"

static apr_pool_t *root;
static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, root);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define PRIV(in, out) \
    ck_assert_str_eq(rai_headers_private(pool, (in)), (out))

START_TEST(private_empty)
{
    PRIV("", "private");
    PRIV("   ", "private");
    PRIV(" , ,, ", "private");
}
END_TEST

START_TEST(private_public_removed)
{
    PRIV("public", "private");
    PRIV("public, max-age=60", "private, max-age=60");
    PRIV("max-age=60, public", "private, max-age=60");
    PRIV("PUBLIC, Max-Age=60", "private, Max-Age=60");
    PRIV("s-maxage=600", "private");
    PRIV("max-age=60, s-maxage=600, public", "private, max-age=60");
    PRIV("S-MaxAge = 600, no-transform", "private, no-transform");
    /* names that only begin like public or s-maxage stay */
    PRIV("publicity, s-maxage-x=1", "private, publicity, s-maxage-x=1");
}
END_TEST

START_TEST(private_once)
{
    PRIV("private", "private");
    PRIV("max-age=0, private", "max-age=0, private");
    PRIV("PRIVATE", "PRIVATE");
    PRIV("public, private", "private");
    PRIV("no-cache", "private, no-cache");
}
END_TEST

START_TEST(private_qualified)
{
    /* private="x" lets a shared cache keep the body: a bare one is added */
    PRIV("private=\"set-cookie\"", "private, private=\"set-cookie\"");
    PRIV("private=\"a, b\", max-age=5", "private, private=\"a, b\", max-age=5");
}
END_TEST

START_TEST(private_quoted_commas)
{
    PRIV("no-cache=\"public, s-maxage\", max-age=5",
         "private, no-cache=\"public, s-maxage\", max-age=5");
    PRIV("x=\"a,public\", public", "private, x=\"a,public\"");
}
END_TEST

START_TEST(private_whitespace)
{
    PRIV("  max-age=60  ,\t public ,  no-store  ",
         "private, max-age=60, no-store");
    PRIV("\tprivate\t", "private");
    PRIV("public\t,\tprivate", "private");
}
END_TEST

START_TEST(dropped_yes)
{
    static const char *const yes[] = {
        "CDN-Cache-Control", "Cloudflare-CDN-Cache-Control",
        "cloudflare-cdn-cache-control", "Vercel-CDN-Cache-Control",
        "Fastly-CDN-Cache-Control", "Surrogate-Control",
        "Fastly-Surrogate-Control", "surrogate-control", "Edge-Control",
        "Akamai-Cache-Control", "X-Accel-Expires", "x-accel-expires",
        "X-LiteSpeed-Cache-Control", "ETag", "etag", "Last-Modified",
        "Content-Length", "content-length", "Content-MD5", "Digest",
        "Content-Digest", "Repr-Digest", "REPR-DIGEST"
    };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        ck_assert_msg(rai_headers_dropped(yes[i]), "kept %s", yes[i]);
    }
}
END_TEST

START_TEST(dropped_no)
{
    static const char *const no[] = {
        "Cache-Control", "cache-control", "Content-Type", "Vary", "Expires",
        "Set-Cookie", "Content-Encoding", "", "ETags", "X-ETag",
        "Content-Length-X", "Surrogate-Key", "CDN-Cache", "Pragma"
    };
    size_t i;

    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        ck_assert_msg(!rai_headers_dropped(no[i]), "dropped %s", no[i]);
    }
}
END_TEST

static Suite *headers_suite(void)
{
    Suite *s = suite_create("rai_headers");
    TCase *tc = tcase_create("private");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, private_empty);
    tcase_add_test(tc, private_public_removed);
    tcase_add_test(tc, private_once);
    tcase_add_test(tc, private_qualified);
    tcase_add_test(tc, private_quoted_commas);
    tcase_add_test(tc, private_whitespace);
    suite_add_tcase(s, tc);
    tc = tcase_create("dropped");
    tcase_add_test(tc, dropped_yes);
    tcase_add_test(tc, dropped_no);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(headers_suite(), &root);
}
