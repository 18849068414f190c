/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_scancache: keying by fstat of the open file (what
 * changes a key, what a fresh file is), the bounds and the LRU order.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_scancache.bin && ./tests/unit/test_scancache.bin
 */

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_file_io.h"

#include "rai_scancache.h"
#include "unit_run.h"

static apr_pool_t *pool;
static char path[64];
static const int config_a = 1, config_b = 2;

static void setup(void)
{
    int fd;

    apr_pool_create(&pool, NULL);
    strcpy(path, "/tmp/rai-scancache-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "<rai-widget></rai-widget>", 25), 25);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
    apr_pool_destroy(pool);
}

/* Sets the file's modification time (and so its change time to now). */
static void set_mtime(time_t sec, long nsec)
{
    struct timespec times[2] = {{sec, nsec}, {sec, nsec}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

static int key_of(const void *config, apr_int64_t now, rai_scancache_key_t *key)
{
    apr_file_t *file;
    int ok;

    ck_assert_int_eq(apr_file_open(&file, path, APR_FOPEN_READ, 0, pool),
                     APR_SUCCESS);
    ok = rai_scancache_key(file, config, now, key);
    apr_file_close(file);
    return ok;
}

static rai_scancache_record_t *record_of(int count, const char *tag)
{
    rai_scancache_record_t *r = apr_pcalloc(pool, sizeof(*r));
    int i;

    r->count = count;
    r->in_text = 1;
    r->elements = apr_pcalloc(pool, sizeof(*r->elements) * (count ? count : 1));
    for (i = 0; i < count; i++) {
        r->elements[i].at = 11 + (apr_uint64_t)i * 100;
        r->elements[i].kind = i & 1;
        r->elements[i].tag = tag;
        r->elements[i].tag_len = strlen(tag);
    }
    return r;
}

START_TEST(key_changes_with_the_file)
{
    rai_scancache_key_t k1, k2;

    set_mtime(1000000, 5);
    ck_assert(key_of(&config_a, 0, &k1));
    ck_assert(key_of(&config_a, 0, &k2));
    ck_assert(!memcmp(&k1, &k2, sizeof(k1)));
    ck_assert_uint_eq(k1.size, 25);
    /* one nanosecond of mtime, or another scanner configuration */
    set_mtime(1000000, 6);
    ck_assert(key_of(&config_a, 0, &k2));
    ck_assert(memcmp(&k1, &k2, sizeof(k1)));
    ck_assert(key_of(&config_b, 0, &k1));
    ck_assert(memcmp(&k1, &k2, sizeof(k1)));
}
END_TEST

START_TEST(edit_in_place_same_size_same_mtime_changes_ctime)
{
    rai_scancache_key_t k1, k2;
    int fd;

    set_mtime(1000000, 0);
    ck_assert(key_of(&config_a, 0, &k1));
    sleep(1);   /* ctime ticks with the clock: one second is past any tick */
    fd = open(path, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, "<rai-widgex", 11, 0), 11);
    close(fd);
    set_mtime(1000000, 0);          /* the mtime put back, the size the same */
    ck_assert(key_of(&config_a, 0, &k2));
    ck_assert_uint_eq(k1.size, k2.size);
    ck_assert(memcmp(&k1, &k2, sizeof(k1)));    /* the change time tells */
}
END_TEST

START_TEST(fresh_files_are_not_recorded)
{
    rai_scancache_key_t key;
    time_t now = time(NULL);

    /* the change time is now: too fresh to record, fine to look up */
    ck_assert(!key_of(&config_a, now, &key));
    ck_assert(key_of(&config_a, 0, &key));
    ck_assert(key_of(&config_a, now + RAI_SCANCACHE_SETTLE + 1, &key));
}
END_TEST

START_TEST(only_regular_files_of_bounded_size)
{
    rai_scancache_key_t key;
    apr_file_t *dir;
    int fd = open(path, O_WRONLY);

    ck_assert_int_eq(ftruncate(fd, RAI_SCANCACHE_FILE_MAX + 1), 0);
    close(fd);
    ck_assert(!key_of(&config_a, 0, &key));
    ck_assert_int_eq(apr_file_open(&dir, "/tmp", APR_FOPEN_READ, 0, pool),
                     APR_SUCCESS);
    ck_assert(!rai_scancache_key(dir, &config_a, 0, &key));
    apr_file_close(dir);
}
END_TEST

START_TEST(get_returns_a_copy)
{
    rai_scancache_t *cache = rai_scancache_create(pool, 10, 1 << 20);
    rai_scancache_key_t key;
    rai_scancache_record_t *got;
    char tag[] = " a=\"1\">";

    ck_assert(key_of(&config_a, 0, &key));
    ck_assert_ptr_null(rai_scancache_get(cache, &key, pool));
    rai_scancache_put(cache, &key, record_of(3, tag));
    tag[0] = 'X';                   /* the cache kept its own bytes */
    got = rai_scancache_get(cache, &key, pool);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->count, 3);
    ck_assert_int_eq(got->in_text, 1);
    ck_assert_uint_eq(got->elements[2].at, 211);
    ck_assert_int_eq(got->elements[1].kind, 1);
    ck_assert_mem_eq(got->elements[0].tag, " a=\"1\">", 7);
    /* a second put under the key replaces the first */
    rai_scancache_put(cache, &key, record_of(1, ">"));
    ck_assert_int_eq(rai_scancache_get(cache, &key, pool)->count, 1);
}
END_TEST

START_TEST(bounds_and_lru)
{
    rai_scancache_t *cache = rai_scancache_create(pool, 3, 1 << 20);
    rai_scancache_key_t keys[5];
    apr_size_t entries, bytes;
    int i;

    ck_assert(key_of(&config_a, 0, &keys[0]));
    for (i = 1; i < 5; i++) {
        keys[i] = keys[0];
        keys[i].inode += (apr_uint64_t)i;
    }
    for (i = 0; i < 3; i++) {
        rai_scancache_put(cache, &keys[i], record_of(1, ">"));
    }
    ck_assert_ptr_nonnull(rai_scancache_get(cache, &keys[0], pool)); /* used */
    rai_scancache_put(cache, &keys[3], record_of(1, ">"));
    ck_assert_ptr_nonnull(rai_scancache_get(cache, &keys[0], pool));
    ck_assert_ptr_null(rai_scancache_get(cache, &keys[1], pool));    /* oldest */
    rai_scancache_usage(cache, &entries, &bytes);
    ck_assert_uint_eq(entries, 3);
    /* too many elements, or more bytes than the cache holds: not kept */
    rai_scancache_put(cache, &keys[4], record_of(RAI_SCANCACHE_ELEMENTS_MAX + 1, ">"));
    ck_assert_ptr_null(rai_scancache_get(cache, &keys[4], pool));
    cache = rai_scancache_create(pool, 100, 600);
    for (i = 0; i < 5; i++) {
        rai_scancache_put(cache, &keys[i], record_of(2, "0123456789"));
    }
    rai_scancache_usage(cache, &entries, &bytes);
    ck_assert_uint_le(bytes, 600);
    ck_assert_uint_lt(entries, 5);
    ck_assert_ptr_nonnull(rai_scancache_get(cache, &keys[4], pool));
    /* off */
    ck_assert_ptr_null(rai_scancache_create(pool, 0, 1 << 20));
    ck_assert_ptr_null(rai_scancache_get(NULL, &keys[0], pool));
}
END_TEST

/* The pieces of the file before elements are copied in and out; an
 * entry too big with them is kept without them. */
START_TEST(pieces_kept_when_they_fit)
{
    rai_scancache_t *cache = rai_scancache_create(pool, 10, 4096);
    rai_scancache_record_t *record = record_of(2, ">"), *got;
    rai_scancache_key_t key;
    apr_size_t entries, small, big;
    char piece[3000];

    ck_assert(key_of(&config_a, 0, &key));
    memset(piece, 'p', sizeof(piece));
    record->elements[0].piece = piece;
    record->elements[0].piece_len = 11;
    rai_scancache_put(cache, &key, record);
    piece[0] = 'X';                 /* the cache kept its own bytes */
    got = rai_scancache_get(cache, &key, pool);
    ck_assert_ptr_nonnull(got->elements[0].piece);
    ck_assert_uint_eq(got->elements[0].piece_len, 11);
    ck_assert_mem_eq(got->elements[0].piece, "ppppppppppp", 11);
    ck_assert_ptr_null(got->elements[1].piece);
    ck_assert_uint_eq(got->elements[1].piece_len, 0);
    rai_scancache_usage(cache, &entries, &small);

    /* 2 x 3000 bytes of pieces: over the cache's 4096, kept without */
    record->elements[0].piece_len = sizeof(piece);
    record->elements[1].piece = piece;
    record->elements[1].piece_len = sizeof(piece);
    rai_scancache_put(cache, &key, record);
    got = rai_scancache_get(cache, &key, pool);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->count, 2);
    ck_assert_ptr_null(got->elements[0].piece);
    ck_assert_ptr_null(got->elements[1].piece);
    ck_assert_uint_eq(got->elements[0].piece_len, 0);
    rai_scancache_usage(cache, &entries, &big);
    ck_assert_uint_eq(entries, 1);
    ck_assert_uint_eq(big + 11, small);     /* the 11 bytes went with them */

    /* one piece of 3000 fits */
    record->elements[1].piece = NULL;
    record->elements[1].piece_len = 0;
    rai_scancache_put(cache, &key, record);
    got = rai_scancache_get(cache, &key, pool);
    ck_assert_uint_eq(got->elements[0].piece_len, sizeof(piece));
    ck_assert_mem_eq(got->elements[0].piece, piece, sizeof(piece));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rai_scancache");
    TCase *tc = tcase_create("cache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, key_changes_with_the_file);
    tcase_add_test(tc, edit_in_place_same_size_same_mtime_changes_ctime);
    tcase_add_test(tc, fresh_files_are_not_recorded);
    tcase_add_test(tc, only_regular_files_of_bounded_size);
    tcase_add_test(tc, get_returns_a_copy);
    tcase_add_test(tc, bounds_and_lru);
    tcase_add_test(tc, pieces_kept_when_they_fit);
    suite_add_tcase(s, tc);
    return unit_run(s, NULL);
}
