/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_identity: the checks on identity values (length,
 * control characters, UTF-8), the canonical form used in the cache key,
 * and the description for the debug log.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_identity.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_identity.bin
 *
 * The UTF-8 check is also compared, over every string of one and two
 * bytes and large families of three- and four-byte strings, with a
 * reference written from the table in RFC 3629, section 4.
 */

#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "rai_identity.h"
#include "unit_run.h"

static apr_pool_t *root;
static apr_pool_t *pool;    /* one per test */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */


/* A hex dump of s for failure messages. */
static const char *hex(const char *s)
{
    char *out = apr_palloc(pool, strlen(s) * 3 + 1);
    char *o = out;

    *o = '\0';
    for (; *s; s++) {
        o += sprintf(o, "%s%02x", o == out ? "" : " ", (unsigned char)*s);
    }
    return out;
}

#define assert_good(v) do { \
        const char *v_ = (v); \
        const char *why_ = rai_identity_value_problem(v_); \
        ck_assert_msg(why_ == NULL, "refused [%s]: %s", hex(v_), why_); \
    } while (0)

/* Refused, and for the reason whose words are in because. */
#define assert_bad(v, because) do { \
        const char *v_ = (v); \
        const char *why_ = rai_identity_value_problem(v_); \
        ck_assert_msg(why_ != NULL, "accepted [%s]", hex(v_)); \
        ck_assert_msg(strstr(why_, (because)) != NULL, \
                      "[%s] refused as '%s', not for '%s'", hex(v_), why_, \
                      (because)); \
    } while (0)

#define NOT_UTF8 "UTF-8"
#define CONTROL  "control"
#define TOO_LONG "longer"

/* RFC 3629, section 4: the byte sequences that are UTF-8. */
static int ref_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char b = s[i];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t extra, k;

        if (b <= 0x7f) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            extra = 1;
        }
        else if (b == 0xe0) {
            extra = 2, lo = 0xa0;
        }
        else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
            extra = 2;
        }
        else if (b == 0xed) {
            extra = 2, hi = 0x9f;
        }
        else if (b == 0xf0) {
            extra = 3, lo = 0x90;
        }
        else if (b >= 0xf1 && b <= 0xf3) {
            extra = 3;
        }
        else if (b == 0xf4) {
            extra = 3, hi = 0x8f;
        }
        else {
            return 0;
        }
        if (i + extra >= n) {
            return 0;               /* cut short */
        }
        for (k = 1; k <= extra; k++) {
            unsigned char c = s[i + k];
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf)) {
                return 0;
            }
        }
        i += 1 + extra;
    }
    return 1;
}

/* What rai_identity_value_problem should say of s (NUL-terminated, no
 * longer than the limit): whether it is refused. */
static int ref_refused(const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return 1;
        }
    }
    return !ref_utf8_ok((const unsigned char *)s, n);
}

/* The UTF-8 encoding of code point cp (no checks) into out; its length. */
static int utf8_encode(unsigned int cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = '\0';
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        out[3] = '\0';
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    out[4] = '\0';
    return 4;
}

/* Reads a canonical form back into items: "<len>:<key><len>:<value>"...
 * Returns NULL when s is not one. */
static apr_array_header_t *canonical_parse(apr_pool_t *p, const char *s)
{
    apr_array_header_t *items =
        apr_array_make(p, 4, sizeof(rai_identity_item_t));

    while (*s) {
        const char *part[2];
        int k;

        for (k = 0; k < 2; k++) {
            char *end;
            unsigned long len;

            if (*s < '0' || *s > '9') {
                return NULL;
            }
            len = strtoul(s, &end, 10);
            if (*end != ':' || strlen(end + 1) < len) {
                return NULL;
            }
            part[k] = apr_pstrmemdup(p, end + 1, len);
            s = end + 1 + len;
        }
        {
            rai_identity_item_t *item = apr_array_push(items);
            item->key = part[0];
            item->value = part[1];
        }
    }
    return items;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, root), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

/* ------------------------------------------------------------------ */
/* 1. rai_identity_value_problem: good values                         */

START_TEST(value_good)
{
    assert_good("");
    assert_good("alice");
    assert_good("alice@example.com");
    assert_good("Alice O'Brien \"the\" <admin> & co; a\\b /c ?d=e#f %41");
    assert_good(" leading and trailing spaces ");
    assert_good("~!@#$%^&*()_+`-={}[]|:;<>,.?/");
    assert_good("12345:67890");
}
END_TEST

START_TEST(value_utf8_good)
{
    assert_good("\xc2\x80");                /* U+0080, the first 2-byte */
    assert_good("\xc3\xa9");                /* U+00E9 e acute */
    assert_good("Ren\xc3\xa9" "e M\xc3\xbcller");
    assert_good("\xdf\xbf");                /* U+07FF, the last 2-byte */
    assert_good("\xe0\xa0\x80");            /* U+0800, the first 3-byte */
    assert_good("\xe2\x82\xac");            /* U+20AC euro */
    assert_good("\xe6\x97\xa5\xe6\x9c\xac");    /* CJK */
    assert_good("\xed\x9f\xbf");            /* U+D7FF, below surrogates */
    assert_good("\xee\x80\x80");            /* U+E000, above surrogates */
    assert_good("\xef\xbf\xbd");            /* U+FFFD replacement char */
    assert_good("\xef\xbb\xbf" "bom");      /* U+FEFF */
    assert_good("\xef\xbf\xbf");            /* U+FFFF, a noncharacter */
    assert_good("\xf0\x90\x80\x80");        /* U+10000, the first 4-byte */
    assert_good("\xf0\x9f\x98\x80");        /* U+1F600 emoji */
    assert_good("\xf3\xbf\xbf\xbf");        /* U+FFFFF */
    assert_good("\xf4\x80\x80\x80");        /* U+100000 */
    assert_good("\xf4\x8f\xbf\xbf");        /* U+10FFFF, the last */
    assert_good("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d");
    /* C1 controls are not refused: only ASCII control bytes are */
    assert_good("\xc2\x9f");
}
END_TEST

/* Every Unicode scalar value that is not an ASCII control, alone and
 * between ASCII letters, is accepted; every surrogate is refused. */
START_TEST(value_every_code_point)
{
    unsigned int cp;
    char buf[8], wrapped[16];

    for (cp = 1; cp <= 0x10ffff; cp++) {
        int bad = cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff);
        const char *why;

        utf8_encode(cp, buf);
        why = rai_identity_value_problem(buf);
        if ((why != NULL) != bad) {
            ck_abort_msg("U+%04X [%s]: %s", cp, hex(buf),
                         why ? why : "accepted");
        }
        snprintf(wrapped, sizeof(wrapped), "a%sz", buf);
        why = rai_identity_value_problem(wrapped);
        if ((why != NULL) != bad) {
            ck_abort_msg("U+%04X in [%s]: %s", cp, hex(wrapped),
                         why ? why : "accepted");
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. rai_identity_value_problem: length                              */

START_TEST(value_length)
{
    char buf[RAI_IDENTITY_VALUE_MAX + 64];
    int i;

    ck_assert_int_eq(RAI_IDENTITY_VALUE_MAX, 512);

    memset(buf, 'a', RAI_IDENTITY_VALUE_MAX);
    buf[RAI_IDENTITY_VALUE_MAX] = '\0';
    assert_good(buf);                               /* 512 exactly */

    buf[RAI_IDENTITY_VALUE_MAX - 1] = '\0';
    assert_good(buf);                               /* 511 */

    memset(buf, 'a', RAI_IDENTITY_VALUE_MAX + 1);
    buf[RAI_IDENTITY_VALUE_MAX + 1] = '\0';
    assert_bad(buf, TOO_LONG);                      /* 513 */

    memset(buf, 'a', sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    assert_bad(buf, TOO_LONG);

    /* bytes, not characters: 128 four-byte characters are 512 bytes */
    for (i = 0; i < 128; i++) {
        memcpy(buf + 4 * i, "\xf0\x9f\x98\x80", 4);
    }
    buf[512] = '\0';
    assert_good(buf);
    /* 170 three-byte characters and one two-byte: 512 */
    for (i = 0; i < 170; i++) {
        memcpy(buf + 3 * i, "\xe2\x82\xac", 3);
    }
    memcpy(buf + 510, "\xc3\xa9", 2);
    buf[512] = '\0';
    assert_good(buf);
    /* 129 four-byte characters are 516 bytes, 129 characters */
    for (i = 0; i < 129; i++) {
        memcpy(buf + 4 * i, "\xf0\x9f\x98\x80", 4);
    }
    buf[516] = '\0';
    assert_bad(buf, TOO_LONG);
    /* 511 ASCII and a 2-byte character: 513 bytes */
    memset(buf, 'a', 511);
    memcpy(buf + 511, "\xc3\xa9", 2);
    buf[513] = '\0';
    assert_bad(buf, TOO_LONG);

    /* too long and holding a control character: refused all the same */
    memset(buf, 'a', 560);
    buf[560] = '\0';
    buf[10] = '\x01';
    ck_assert_ptr_nonnull(rai_identity_value_problem(buf));
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. rai_identity_value_problem: control characters                  */

START_TEST(value_control_characters)
{
    char buf[8];
    int c;

    for (c = 0x01; c <= 0x1f; c++) {
        snprintf(buf, sizeof(buf), "%c", c);
        assert_bad(buf, CONTROL);
        snprintf(buf, sizeof(buf), "ab%ccd", c);
        assert_bad(buf, CONTROL);
        snprintf(buf, sizeof(buf), "abcd%c", c);
        assert_bad(buf, CONTROL);
    }
    assert_bad("\x7f", CONTROL);
    assert_bad("ab\x7f" "cd", CONTROL);
    assert_bad("alice\r\nX-Injected: 1", CONTROL);
    assert_bad("tab\there", CONTROL);
    assert_bad("\xc3\xa9\n", CONTROL);
    /* 0x20 and 0x7e are the edges of what passes */
    assert_good(" ");
    assert_good("~");
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. rai_identity_value_problem: not UTF-8                           */

START_TEST(value_lone_continuation)
{
    assert_bad("\x80", NOT_UTF8);
    assert_bad("\xbf", NOT_UTF8);
    assert_bad("a\x80", NOT_UTF8);
    assert_bad("\x80" "a", NOT_UTF8);
    assert_bad("\x80\x80", NOT_UTF8);
    assert_bad("\xc3\xa9\xa9", NOT_UTF8);       /* one too many */
    assert_bad("\xe2\x82\xac\x80", NOT_UTF8);
    assert_bad("\xf0\x9f\x98\x80\xbf", NOT_UTF8);
}
END_TEST

START_TEST(value_truncated)
{
    /* at the end of the string */
    assert_bad("\xc3", NOT_UTF8);
    assert_bad("\xe2", NOT_UTF8);
    assert_bad("\xe2\x82", NOT_UTF8);
    assert_bad("\xf0", NOT_UTF8);
    assert_bad("\xf0\x9f", NOT_UTF8);
    assert_bad("\xf0\x9f\x98", NOT_UTF8);
    assert_bad("abc\xf0\x9f\x98", NOT_UTF8);
    /* followed by something that is not a continuation */
    assert_bad("\xc3" "a", NOT_UTF8);
    assert_bad("\xe2\x82" "a", NOT_UTF8);
    assert_bad("\xf0\x9f\x98" "a", NOT_UTF8);
    assert_bad("\xc3\xc3\xa9", NOT_UTF8);
    assert_bad("\xe2\xc3\xa9", NOT_UTF8);
    assert_bad("\xf0\x9f\xe2\x82\xac", NOT_UTF8);
    assert_bad("\xc3 ", NOT_UTF8);
}
END_TEST

/* A value cut short right before its NUL: the check must stop at the NUL
 * and not read on (ASan watches the heap copy's end). */
START_TEST(value_truncated_no_overread)
{
    static const char *const cuts[] = {
        "\xc3", "\xe2", "\xe2\x82", "\xf0", "\xf0\x9f", "\xf0\x9f\x98", NULL
    };
    int i;

    for (i = 0; cuts[i]; i++) {
        size_t n = strlen(cuts[i]);
        char *copy = malloc(n + 1);

        ck_assert_ptr_nonnull(copy);
        memcpy(copy, cuts[i], n + 1);
        ck_assert_ptr_nonnull(rai_identity_value_problem(copy));
        free(copy);
    }
}
END_TEST

START_TEST(value_overlong)
{
    assert_bad("\xc0\x80", NOT_UTF8);           /* U+0000 */
    assert_bad("\xc0\xaf", NOT_UTF8);           /* '/' */
    assert_bad("\xc1\xbf", NOT_UTF8);           /* U+007F */
    assert_bad("\xe0\x80\x80", NOT_UTF8);
    assert_bad("\xe0\x80\xaf", NOT_UTF8);
    assert_bad("\xe0\x9f\xbf", NOT_UTF8);       /* U+07FF */
    assert_bad("\xf0\x80\x80\x80", NOT_UTF8);
    assert_bad("\xf0\x80\x80\xaf", NOT_UTF8);
    assert_bad("\xf0\x8f\xbf\xbf", NOT_UTF8);   /* U+FFFF */
    assert_bad("a\xc0\x80" "b", NOT_UTF8);
}
END_TEST

START_TEST(value_surrogates)
{
    assert_bad("\xed\xa0\x80", NOT_UTF8);       /* U+D800 */
    assert_bad("\xed\xad\xbf", NOT_UTF8);       /* U+DB7F */
    assert_bad("\xed\xb0\x80", NOT_UTF8);       /* U+DC00 */
    assert_bad("\xed\xbf\xbf", NOT_UTF8);       /* U+DFFF */
    /* a surrogate pair in CESU-8 form */
    assert_bad("\xed\xa0\xbd\xed\xb8\x80", NOT_UTF8);
}
END_TEST

START_TEST(value_beyond_unicode)
{
    assert_bad("\xf4\x90\x80\x80", NOT_UTF8);   /* U+110000 */
    assert_bad("\xf4\xbf\xbf\xbf", NOT_UTF8);
    assert_bad("\xf7\xbf\xbf\xbf", NOT_UTF8);   /* U+1FFFFF */
}
END_TEST

/* F5..FF never start a sequence, whatever follows. */
START_TEST(value_bad_lead_bytes)
{
    char buf[8];
    int b;

    for (b = 0xf5; b <= 0xff; b++) {
        buf[0] = (char)b;
        buf[1] = '\0';
        assert_bad(buf, NOT_UTF8);
        buf[1] = buf[2] = buf[3] = (char)0x80;
        buf[4] = '\0';
        assert_bad(buf, NOT_UTF8);
        buf[1] = buf[2] = buf[3] = buf[4] = buf[5] = (char)0x80;
        buf[6] = '\0';
        assert_bad(buf, NOT_UTF8);              /* old 5- and 6-byte forms */
        buf[0] = 'a';
        buf[1] = (char)b;
        buf[2] = 'a';
        buf[3] = '\0';
        assert_bad(buf, NOT_UTF8);
    }
}
END_TEST

/* Every string of one or two bytes agrees with RFC 3629's table. */
START_TEST(value_all_short_strings)
{
    char buf[3];
    int a, b;

    for (a = 1; a <= 0xff; a++) {
        buf[0] = (char)a;
        buf[1] = '\0';
        if ((rai_identity_value_problem(buf) != NULL) != ref_refused(buf)) {
            ck_abort_msg("disagrees with RFC 3629 on [%s]", hex(buf));
        }
        for (b = 1; b <= 0xff; b++) {
            buf[1] = (char)b;
            buf[2] = '\0';
            if ((rai_identity_value_problem(buf) != NULL)
                != ref_refused(buf)) {
                ck_abort_msg("disagrees with RFC 3629 on [%s]", hex(buf));
            }
        }
    }
}
END_TEST

/* (The loops call ck_abort_msg only on a failure: each ck_assert marks
 * a point through Check's pipe, too slow for millions of strings.)
 * Three-byte strings led by C0..FF (every second and third byte), and
 * four-byte strings led by F0..FF over every second byte and a spread of
 * third and fourth bytes. */
START_TEST(value_long_strings_against_rfc3629)
{
    static const unsigned char edge[] = {
        0x01, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2,
        0xe0, 0xf0, 0xff
    };
    char buf[5];
    int a, b, c, d;

    for (a = 0xc0; a <= 0xff; a++) {
        for (b = 1; b <= 0xff; b++) {
            for (c = 1; c <= 0xff; c++) {
                buf[0] = (char)a;
                buf[1] = (char)b;
                buf[2] = (char)c;
                buf[3] = '\0';
                if ((rai_identity_value_problem(buf) != NULL)
                    != ref_refused(buf)) {
                    ck_abort_msg("disagrees with RFC 3629 on [%s]", hex(buf));
                }
            }
        }
    }
    for (a = 0xf0; a <= 0xff; a++) {
        for (b = 1; b <= 0xff; b++) {
            for (c = 0; c < (int)sizeof(edge); c++) {
                for (d = 0; d < (int)sizeof(edge); d++) {
                    buf[0] = (char)a;
                    buf[1] = (char)b;
                    buf[2] = (char)edge[c];
                    buf[3] = (char)edge[d];
                    buf[4] = '\0';
                    if ((rai_identity_value_problem(buf) != NULL)
                        != ref_refused(buf)) {
                        ck_abort_msg("disagrees with RFC 3629 on [%s]",
                                     hex(buf));
                    }
                }
            }
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. rai_identity_canonical                                           */

START_TEST(canonical_exact_form)
{
    static const char *const one[] = { "data-customer-id", "alice", NULL };
    static const char *const two[] = {
        "data-email", "a@example.com", "data-customer-id", "alice", NULL
    };

    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, one)),
                     "16:data-customer-id5:alice");
    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, two)),
                     "16:data-customer-id5:alice10:data-email13:a@example.com");
}
END_TEST

START_TEST(canonical_empty)
{
    const char *c = rai_identity_canonical(pool, unit_identity(pool, NULL));

    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c, "");
}
END_TEST

/* Empty keys and values still have their length prefixes. */
START_TEST(canonical_empty_strings)
{
    static const char *const ev[] = { "k", "", NULL };
    static const char *const ek[] = { "", "v", NULL };
    static const char *const both[] = { "", "", NULL };

    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, ev)),
                     "1:k0:");
    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, ek)),
                     "0:1:v");
    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, both)),
                     "0:0:");
}
END_TEST

/* The same items in every order (all 120 orders of five) give one
 * string, and the input array is left in its order. */
START_TEST(canonical_order_independent)
{
    static const char *const kv[5][2] = {
        { "data-e", "5" }, { "data-b", "2" }, { "data-d", "4" },
        { "data-a", "1" }, { "data-c", "3" }
    };
    static const char *const sorted_kv[] = {
        "data-a", "1", "data-b", "2", "data-c", "3", "data-d", "4",
        "data-e", "5", NULL
    };
    const char *expect =
        rai_identity_canonical(pool, unit_identity(pool, sorted_kv));
    int perm[5] = { 0, 1, 2, 3, 4 };
    int count = 0;

    ck_assert_str_eq(expect, "6:data-a1:16:data-b1:26:data-c1:36:data-d1:4"
                             "6:data-e1:5");
    for (;;) {
        apr_array_header_t *id =
            apr_array_make(pool, 5, sizeof(rai_identity_item_t));
        int i, j, k;

        for (i = 0; i < 5; i++) {
            rai_identity_item_t *item = apr_array_push(id);
            item->key = kv[perm[i]][0];
            item->value = kv[perm[i]][1];
        }
        ck_assert_str_eq(rai_identity_canonical(pool, id), expect);
        for (i = 0; i < 5; i++) {
            ck_assert_str_eq(APR_ARRAY_IDX(id, i, rai_identity_item_t).key,
                             kv[perm[i]][0]);
        }
        count++;

        /* next permutation */
        for (i = 3; i >= 0 && perm[i] > perm[i + 1]; i--)
            ;
        if (i < 0) {
            break;
        }
        for (j = 4; perm[j] < perm[i]; j--)
            ;
        k = perm[i], perm[i] = perm[j], perm[j] = k;
        for (i++, j = 4; i < j; i++, j--) {
            k = perm[i], perm[i] = perm[j], perm[j] = k;
        }
    }
    ck_assert_int_eq(count, 120);
}
END_TEST

/* Order is by bytes: "data-B" < "data-a" < "data-aa" < "data-b". */
START_TEST(canonical_sort_is_bytewise)
{
    static const char *const kv[] = {
        "data-b", "4", "data-aa", "3", "data-a", "2", "data-B", "1",
        "data-\xc3\xa9", "5", NULL
    };

    ck_assert_str_eq(rai_identity_canonical(pool, unit_identity(pool, kv)),
                     "6:data-B1:16:data-a1:27:data-aa1:36:data-b1:4"
                     "7:data-\xc3\xa9" "1:5");
}
END_TEST

/* Identities that would collide if the form were a bare concatenation
 * give different strings; each reads back as exactly its items. */
START_TEST(canonical_length_prefixes_separate)
{
    static const char *const sets[][7] = {
        { "a", "bc", NULL },
        { "ab", "c", NULL },
        { "abc", "", NULL },
        { "", "abc", NULL },
        { "a", "b", "c", "", NULL },
        { "a", "1:b", NULL },
        { "a1", ":b", NULL },
        { "a", "11:b", NULL },
        { "1", "b", "a", "1", NULL },
        { "1", "1:1", NULL },
        { "1:1", "1", NULL },
        { "1", "1", "1", "1", NULL },
        { "11", "11", NULL },
        { "a", "2:bc", NULL },
        { "2:bc", "", "a", "", NULL },
        { "a", "1:b1:c", NULL },
        { "a", "1:b", "c", "", NULL },
        { "data-x", "10:0123456789", NULL },
        { "0123456789", "", "data-x", "", NULL },
    };
    enum { N = sizeof(sets) / sizeof(sets[0]) };
    const char *canon[N];
    int i, j;

    for (i = 0; i < N; i++) {
        apr_array_header_t *id = unit_identity(pool, sets[i]);
        apr_array_header_t *back;

        canon[i] = rai_identity_canonical(pool, id);
        back = canonical_parse(pool, canon[i]);
        ck_assert_msg(back != NULL, "set %d: '%s' does not read back", i,
                      canon[i]);
        ck_assert_int_eq(back->nelts, id->nelts);
        for (j = 0; j < id->nelts; j++) {
            const rai_identity_item_t *a =
                &APR_ARRAY_IDX(id, j, rai_identity_item_t);
            const rai_identity_item_t *b =
                &APR_ARRAY_IDX(back, j, rai_identity_item_t);
            /* sets are written in sorted order, so the order matches */
            ck_assert_str_eq(b->key, a->key);
            ck_assert_str_eq(b->value, a->value);
        }
    }
    for (i = 0; i < N; i++) {
        for (j = i + 1; j < N; j++) {
            ck_assert_msg(strcmp(canon[i], canon[j]) != 0,
                          "sets %d and %d both give '%s'", i, j, canon[i]);
        }
    }
    ck_assert_str_eq(canon[0], "1:a2:bc");
    ck_assert_str_eq(canon[1], "2:ab1:c");
}
END_TEST

/* Lengths of several digits, up to the longest value allowed. */
START_TEST(canonical_long_values)
{
    char *big = apr_palloc(pool, RAI_IDENTITY_VALUE_MAX + 1);
    const char *kv[] = { "data-customer-id", big, NULL };
    const char *c;
    apr_array_header_t *back;

    memset(big, '7', RAI_IDENTITY_VALUE_MAX);
    big[RAI_IDENTITY_VALUE_MAX] = '\0';
    c = rai_identity_canonical(pool, unit_identity(pool, kv));
    ck_assert_str_eq(c, apr_pstrcat(pool, "16:data-customer-id512:", big,
                                    NULL));
    back = canonical_parse(pool, c);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(back->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(back, 0, rai_identity_item_t).value, big);
}
END_TEST

/* Different values, or a missing item, give different strings. */
START_TEST(canonical_differs)
{
    static const char *const a[] = { "k", "alice", NULL };
    static const char *const b[] = { "k", "alicf", NULL };
    static const char *const c[] = { "k", "alice", "l", "", NULL };
    static const char *const d[] = { "K", "alice", NULL };
    const char *ca = rai_identity_canonical(pool, unit_identity(pool, a));

    ck_assert_str_ne(ca, rai_identity_canonical(pool, unit_identity(pool, b)));
    ck_assert_str_ne(ca, rai_identity_canonical(pool, unit_identity(pool, c)));
    ck_assert_str_ne(ca, rai_identity_canonical(pool, unit_identity(pool, d)));
    ck_assert_str_ne(ca, rai_identity_canonical(pool,
                                                unit_identity(pool, NULL)));
}
END_TEST

/* ------------------------------------------------------------------ */
/* 6. rai_identity_describe                                            */

START_TEST(describe_basic)
{
    static const char *const one[] = { "data-customer-id", "alice", NULL };
    static const char *const three[] = {
        "data-email", "a@example.com", "data-customer-id", "alice",
        "data-team", "", NULL
    };

    ck_assert_str_eq(rai_identity_describe(pool, unit_identity(pool, one)),
                     "data-customer-id=alice");
    /* in the identity's order, not sorted */
    ck_assert_str_eq(rai_identity_describe(pool, unit_identity(pool, three)),
                     "data-email=a@example.com, data-customer-id=alice, "
                     "data-team=");
}
END_TEST

START_TEST(describe_empty)
{
    const char *d = rai_identity_describe(pool, unit_identity(pool, NULL));

    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d, "");
}
END_TEST

/* Values are shown as they are (httpd escapes the log line itself). */
START_TEST(describe_verbatim)
{
    static const char *const kv[] = {
        "data-x", "a=b, c=d", "data-y", "Ren\xc3\xa9" "e", NULL
    };

    ck_assert_str_eq(rai_identity_describe(pool, unit_identity(pool, kv)),
                     "data-x=a=b, c=d, data-y=Ren\xc3\xa9" "e");
}
END_TEST


/* ------------------------------------------------------------------ */
/* 7. rai_identity_attributes                                          */

/* A tiny reader of ' key="value"' attributes, as a browser reads them
 * in a start tag: the value runs to the next '"'; &amp; &quot; &#39;
 * &lt; &gt; are decoded.  Returns the items, or NULL if the text is
 * not exactly such attributes. */
static apr_array_header_t *attributes_parse(apr_pool_t *p, const char *s)
{
    apr_array_header_t *items =
        apr_array_make(p, 4, sizeof(rai_identity_item_t));

    while (*s) {
        rai_identity_item_t *item;
        const char *k, *v;
        char *out, *o;

        if (*s++ != ' ') {
            return NULL;
        }
        for (k = s; *s && *s != '=' && *s != ' ' && *s != '"'
                    && *s != '\'' && *s != '<' && *s != '>'; s++)
            ;
        if (s == k || *s != '=' || s[1] != '"') {
            return NULL;
        }
        item = apr_array_push(items);
        item->key = apr_pstrmemdup(p, k, (apr_size_t)(s - k));
        s += 2;
        for (v = s; *s && *s != '"'; s++) {
            if (*s == '<' || *s == '>' || *s == '\'') {
                return NULL;    /* left raw: unsafe in other contexts */
            }
        }
        if (*s != '"') {
            return NULL;
        }
        o = out = apr_palloc(p, (apr_size_t)(s - v) + 1);
        while (v < s) {
            static const char *const refs[][2] = {
                { "&amp;", "&" }, { "&quot;", "\"" }, { "&#39;", "'" },
                { "&lt;", "<" }, { "&gt;", ">" }
            };
            size_t r;
            if (*v != '&') {
                *o++ = *v++;
                continue;
            }
            for (r = 0; r < 5; r++) {
                size_t n = strlen(refs[r][0]);
                if (!strncmp(v, refs[r][0], n)) {
                    *o++ = refs[r][1][0];
                    v += n;
                    break;
                }
            }
            if (r == 5) {
                return NULL;    /* a bare '&' */
            }
        }
        *o = '\0';
        item->value = out;
        s++;
    }
    return items;
}

static void attributes_round_trip(const char *const *kv)
{
    apr_array_header_t *id = unit_identity(pool, kv);
    const char *text = rai_identity_attributes(pool, id);
    apr_array_header_t *back = attributes_parse(pool, text);
    int i;

    ck_assert_msg(back != NULL, "does not read back: [%s]", text);
    ck_assert_msg(back->nelts == id->nelts, "%d attributes from %d: [%s]",
                  back->nelts, id->nelts, text);
    for (i = 0; i < id->nelts; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(back, i, rai_identity_item_t).key,
                         APR_ARRAY_IDX(id, i, rai_identity_item_t).key);
        ck_assert_str_eq(APR_ARRAY_IDX(back, i, rai_identity_item_t).value,
                         APR_ARRAY_IDX(id, i, rai_identity_item_t).value);
    }
}

START_TEST(attributes_exact_form)
{
    static const char *const kv[] = {
        "data-customer-id", "alice", "data-email", "a@example.com", NULL
    };

    ck_assert_str_eq(rai_identity_attributes(pool, unit_identity(pool, kv)),
                     " data-customer-id=\"alice\" data-email=\"a@example.com\"");
    ck_assert_str_eq(rai_identity_attributes(pool, unit_identity(pool, NULL)),
                     "");
    attributes_round_trip(kv);
}
END_TEST

START_TEST(attributes_escaped)
{
    static const char *const kv[] = { "data-x", "a&\"'<>b", NULL };

    ck_assert_str_eq(rai_identity_attributes(pool, unit_identity(pool, kv)),
                     " data-x=\"a&amp;&quot;&#39;&lt;&gt;b\"");
}
END_TEST

START_TEST(attributes_hostile)
{
    static const char *const hostile[] = {
        "\"", "'", "<", ">", "&", "\"><script>alert(1)</script>",
        "\" onload=\"x", "' onload='x", "&quot;", "&amp;quot;", "a=\"b\"",
        "\"\"\"", "</div><img src=x onerror=alert(1)>", "&#34;", "",
        "x\" data-customer-id=\"mallory", ("Ren\xc3\xa9" "e \"<&>'")
    };
    size_t i;

    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *kv[] = {
            "data-customer-id", hostile[i], "data-email", hostile[i],
            "data-team", "t", NULL
        };
        const char *one[] = { "data-customer-id", hostile[i], NULL };
        attributes_round_trip(kv);
        attributes_round_trip(one);
    }
}
END_TEST

/* Every byte 0x20..0xff alone and between others; the longest value of
 * nothing but quotes fits the allocation. */
START_TEST(attributes_every_byte)
{
    char v[8], *big;
    int b;

    for (b = 0x20; b <= 0xff; b++) {
        const char *kv[] = { "data-a", v, "data-b", "\"", NULL };
        snprintf(v, sizeof(v), "a%cb", b);
        attributes_round_trip(kv);
    }
    big = apr_palloc(pool, RAI_IDENTITY_VALUE_MAX + 1);
    memset(big, '"', RAI_IDENTITY_VALUE_MAX);
    big[RAI_IDENTITY_VALUE_MAX] = '\0';
    {
        const char *kv[] = { "k", big, "data-y", big, NULL };
        attributes_round_trip(kv);
    }
}
END_TEST

static Suite *identity_suite(void)
{
    Suite *s = suite_create("rai_identity");
    TCase *tc;

    tc = tcase_create("value_problem");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, value_good);
    tcase_add_test(tc, value_utf8_good);
    tcase_add_test(tc, value_every_code_point);
    tcase_add_test(tc, value_length);
    tcase_add_test(tc, value_control_characters);
    tcase_add_test(tc, value_lone_continuation);
    tcase_add_test(tc, value_truncated);
    tcase_add_test(tc, value_truncated_no_overread);
    tcase_add_test(tc, value_overlong);
    tcase_add_test(tc, value_surrogates);
    tcase_add_test(tc, value_beyond_unicode);
    tcase_add_test(tc, value_bad_lead_bytes);
    tcase_add_test(tc, value_all_short_strings);
    tcase_add_test(tc, value_long_strings_against_rfc3629);
    suite_add_tcase(s, tc);

    tc = tcase_create("canonical");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, canonical_exact_form);
    tcase_add_test(tc, canonical_empty);
    tcase_add_test(tc, canonical_empty_strings);
    tcase_add_test(tc, canonical_order_independent);
    tcase_add_test(tc, canonical_sort_is_bytewise);
    tcase_add_test(tc, canonical_length_prefixes_separate);
    tcase_add_test(tc, canonical_long_values);
    tcase_add_test(tc, canonical_differs);
    suite_add_tcase(s, tc);

    tc = tcase_create("describe");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, describe_basic);
    tcase_add_test(tc, describe_empty);
    tcase_add_test(tc, describe_verbatim);
    suite_add_tcase(s, tc);

    tc = tcase_create("attributes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, attributes_exact_form);
    tcase_add_test(tc, attributes_escaped);
    tcase_add_test(tc, attributes_hostile);
    tcase_add_test(tc, attributes_every_byte);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return unit_run(identity_suite(), &root);
}
