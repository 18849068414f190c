/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_claim, single flight across the children of a server.
 * The time is passed in: no test sleeps.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_claim.bin && ./tests/unit/test_claim.bin
 */

#include <check.h>
#include <string.h>

#include "rai_claim.h"
#include "unit_run.h"

#define SEC(n) apr_time_from_sec(n)

static const apr_time_t T0 = SEC(1000000);
static const apr_interval_time_t HOLD = SEC(5);
static rai_claim_t table[RAI_CLAIM_SLOTS];

static void setup(void)
{
    memset(table, 0, sizeof(table));
}

START_TEST(id_from_key)
{
    /* stable, never 0 (which marks a free slot), every byte counts */
    ck_assert(rai_claim_id("abc") == rai_claim_id("abc"));
    ck_assert(rai_claim_id("") != 0);
    ck_assert(rai_claim_id("0123456789abcdef1") != rai_claim_id("0123456789abcdef2"));
    ck_assert(rai_claim_id("1123456789abcdef") != rai_claim_id("0123456789abcdef"));
    /* FNV-1a's known answer for "a" */
    ck_assert(rai_claim_id("a") == 0xaf63dc4c8601ec8cULL);
}
END_TEST

START_TEST(one_leads_the_others_wait)
{
    apr_time_t a, b;

    ck_assert(rai_claim_take(table, 42, T0, HOLD, &a));
    ck_assert(a != 0);
    ck_assert(rai_claim_state(table, 42, T0 + 1) == RAI_CLAIM_HELD);
    ck_assert(!rai_claim_take(table, 42, T0 + 1, HOLD, &b));
    ck_assert(b == 0);
    /* another identity is not held up */
    ck_assert(rai_claim_take(table, 43, T0 + 1, HOLD, &b));
    rai_claim_release(table, 42, a, 0);
    ck_assert(rai_claim_state(table, 42, T0 + 2) == RAI_CLAIM_NONE);
    ck_assert(rai_claim_take(table, 42, T0 + 2, HOLD, &a));
}
END_TEST

START_TEST(a_claim_lapses)
{
    apr_time_t a, b;

    ck_assert(rai_claim_take(table, 7, T0, HOLD, &a));
    ck_assert(rai_claim_state(table, 7, T0 + HOLD - 1) == RAI_CLAIM_HELD);
    ck_assert(rai_claim_state(table, 7, T0 + HOLD) == RAI_CLAIM_NONE);
    /* a child that died holding it: the next one leads */
    ck_assert(rai_claim_take(table, 7, T0 + HOLD, HOLD, &b));
    ck_assert(b != a);
    /* the first holder's late release leaves the new claim alone */
    rai_claim_release(table, 7, a, 0);
    ck_assert(rai_claim_state(table, 7, T0 + HOLD + 1) == RAI_CLAIM_HELD);
    rai_claim_release(table, 7, b, 0);
    ck_assert(rai_claim_state(table, 7, T0 + HOLD + 1) == RAI_CLAIM_NONE);
}
END_TEST

START_TEST(a_failed_call_is_told)
{
    apr_time_t a, b, late;

    ck_assert(rai_claim_take(table, 9, T0, HOLD, &a));
    rai_claim_release(table, 9, a, 1);
    /* those who waited learn that no answer is coming */
    ck_assert(rai_claim_state(table, 9, T0 + 1) == RAI_CLAIM_FAILED);
    ck_assert(rai_claim_state(table, 9, T0 + HOLD) == RAI_CLAIM_NONE);
    /* a later page may ask again at once, in the same slot */
    ck_assert(rai_claim_take(table, 9, T0 + 2, HOLD, &b));
    ck_assert(b != 0);
    ck_assert(rai_claim_state(table, 9, T0 + 3) == RAI_CLAIM_HELD);
    ck_assert(table[9].id == 9 && !table[9].failed);
    /* the failed owner's second release changes nothing */
    rai_claim_release(table, 9, a, 1);
    ck_assert(rai_claim_state(table, 9, T0 + 3) == RAI_CLAIM_HELD);
    rai_claim_release(table, 9, b, 0);
    ck_assert(rai_claim_state(table, 9, T0 + 3) == RAI_CLAIM_NONE);
    /* a failed claim of another id takes no live claim's place */
    ck_assert(rai_claim_take(table, 9, T0 + 4, HOLD, &a));
    ck_assert(rai_claim_take(table, 9 + RAI_CLAIM_SLOTS, T0 + 4, HOLD, &late));
    rai_claim_release(table, 9 + RAI_CLAIM_SLOTS, late, 1);
    ck_assert(!rai_claim_take(table, 9, T0 + 5, HOLD, &b));
}
END_TEST

START_TEST(colliding_homes_probe_on)
{
    apr_time_t owned[RAI_CLAIM_PROBE + 1];
    apr_uint64_t base = 5;
    int k;

    /* RAI_CLAIM_PROBE ids that share a home slot each get a slot */
    for (k = 0; k < RAI_CLAIM_PROBE; k++) {
        apr_uint64_t id = base + (apr_uint64_t)k * RAI_CLAIM_SLOTS;
        ck_assert(rai_claim_take(table, id, T0, HOLD, &owned[k]));
        ck_assert(owned[k] != 0);
    }
    for (k = 0; k < RAI_CLAIM_PROBE; k++) {
        ck_assert(rai_claim_state(table, base + (apr_uint64_t)k * RAI_CLAIM_SLOTS, T0)
                  == RAI_CLAIM_HELD);
    }
    /* one more: the table cannot record it, and the caller goes ahead */
    ck_assert(rai_claim_take(table, base + (apr_uint64_t)RAI_CLAIM_PROBE * RAI_CLAIM_SLOTS,
                             T0, HOLD, &owned[RAI_CLAIM_PROBE]));
    ck_assert(owned[RAI_CLAIM_PROBE] == 0);
    rai_claim_release(table, base + (apr_uint64_t)RAI_CLAIM_PROBE * RAI_CLAIM_SLOTS, 0, 0);
    /* a freed slot in the middle of the run is used again, and a claim
     * further on is still found */
    rai_claim_release(table, base + RAI_CLAIM_SLOTS, owned[1], 0);
    ck_assert(rai_claim_state(table, base + 3 * RAI_CLAIM_SLOTS, T0) == RAI_CLAIM_HELD);
    ck_assert(!rai_claim_take(table, base + 3 * RAI_CLAIM_SLOTS, T0, HOLD, &owned[3]));
    ck_assert(rai_claim_take(table, base + 9 * RAI_CLAIM_SLOTS, T0, HOLD, &owned[1]));
    ck_assert(owned[1] != 0);
}
END_TEST

START_TEST(held_is_found_past_a_free_slot)
{
    apr_time_t a, b, c;

    /* id 1 in its home, id 1+SLOTS in the next; then the home frees:
     * taking 1+SLOTS again must find its live claim, not the free home */
    ck_assert(rai_claim_take(table, 1, T0, HOLD, &a));
    ck_assert(rai_claim_take(table, 1 + RAI_CLAIM_SLOTS, T0, HOLD, &b));
    rai_claim_release(table, 1, a, 0);
    ck_assert(!rai_claim_take(table, 1 + RAI_CLAIM_SLOTS, T0 + 1, HOLD, &c));
}
END_TEST

START_TEST(the_last_slot_wraps)
{
    apr_time_t a, b;

    ck_assert(rai_claim_take(table, RAI_CLAIM_SLOTS - 1, T0, HOLD, &a));
    ck_assert(rai_claim_take(table, 2 * RAI_CLAIM_SLOTS - 1, T0, HOLD, &b));
    ck_assert(table[0].id == 2 * RAI_CLAIM_SLOTS - 1);
    ck_assert(rai_claim_state(table, 2 * RAI_CLAIM_SLOTS - 1, T0) == RAI_CLAIM_HELD);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rai_claim");
    TCase *tc = tcase_create("claim");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, id_from_key);
    tcase_add_test(tc, one_leads_the_others_wait);
    tcase_add_test(tc, a_claim_lapses);
    tcase_add_test(tc, a_failed_call_is_told);
    tcase_add_test(tc, colliding_homes_probe_on);
    tcase_add_test(tc, held_is_found_past_a_free_slot);
    tcase_add_test(tc, the_last_slot_wraps);
    suite_add_tcase(s, tc);
    return unit_run(s, NULL);
}
