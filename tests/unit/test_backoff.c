/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_backoff, the rules for calling a failing token API.
 * The time is passed in: no test sleeps.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_backoff.bin && ./tests/unit/test_backoff.bin
 */

#include <check.h>
#include <string.h>

#include "rai_backoff.h"
#include "unit_run.h"

#define SEC(n) apr_time_from_sec(n)
#define MS(n)  ((apr_interval_time_t)(n) * 1000)

static const apr_time_t T0 = SEC(1000000);
static const apr_interval_time_t PROBE = SEC(4);

static rai_backoff_verdict_e check(rai_backoff_t *b, apr_time_t now,
                                   apr_interval_time_t *left)
{
    apr_interval_time_t ignored;
    return rai_backoff_check(b, now, PROBE, left ? left : &ignored);
}

/* n failures in a row, each a probe answered at once */
static apr_interval_time_t fail_times(rai_backoff_t *b, int n, apr_time_t now)
{
    apr_interval_time_t started = 0;
    while (n--) {
        started = rai_backoff_failure(b, now, 0);
    }
    return started;
}

START_TEST(healthy_everyone_calls)
{
    rai_backoff_t b;
    int i;

    memset(&b, 0, sizeof(b));
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(check(&b, T0, NULL), RAI_BACKOFF_CALL);
    }
    ck_assert(!rai_backoff_in_force(&b, T0));
}
END_TEST

START_TEST(threshold_then_first_delay)
{
    rai_backoff_t b;
    apr_interval_time_t left;

    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(rai_backoff_failure(&b, T0, 0), 0);
    ck_assert_int_eq(rai_backoff_failure(&b, T0, 0), 0);
    ck_assert_int_eq(rai_backoff_failure(&b, T0, 0), RAI_BACKOFF_FIRST);
    ck_assert(rai_backoff_in_force(&b, T0));
    ck_assert_int_eq(check(&b, T0 + MS(999), &left), RAI_BACKOFF_WAIT);
    ck_assert_int_eq(left, MS(1));
    ck_assert_uint_eq(b.starts, 1);
}
END_TEST

START_TEST(failures_make_one_probe_at_a_time)
{
    rai_backoff_t b;
    apr_interval_time_t left;
    int i;

    memset(&b, 0, sizeof(b));
    rai_backoff_failure(&b, T0, 0);
    /* below the threshold: one caller probes, the others do not wait */
    ck_assert_int_eq(check(&b, T0, NULL), RAI_BACKOFF_PROBE);
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(check(&b, T0 + MS(i), &left), RAI_BACKOFF_WAIT);
        ck_assert_int_eq(left, PROBE - MS(i));
    }
    /* a probe that never answers (its process died) is replaced */
    ck_assert_int_eq(check(&b, T0 + PROBE, NULL), RAI_BACKOFF_PROBE);
}
END_TEST

START_TEST(one_probe_per_period)
{
    rai_backoff_t b;
    apr_time_t end;
    int i;

    memset(&b, 0, sizeof(b));
    fail_times(&b, RAI_BACKOFF_THRESHOLD, T0);
    end = T0 + RAI_BACKOFF_FIRST;
    ck_assert_int_eq(check(&b, end - 1, NULL), RAI_BACKOFF_WAIT);
    ck_assert_int_eq(check(&b, end, NULL), RAI_BACKOFF_PROBE);
    /* however many arrive while the probe hangs, none calls */
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(check(&b, end + MS(i), NULL), RAI_BACKOFF_WAIT);
    }
}
END_TEST

START_TEST(doubling_and_cap)
{
    rai_backoff_t b;
    apr_time_t now = T0;
    apr_interval_time_t expect = RAI_BACKOFF_FIRST, started;
    int round;

    memset(&b, 0, sizeof(b));
    started = fail_times(&b, RAI_BACKOFF_THRESHOLD, now);
    ck_assert_int_eq(started, expect);
    for (round = 0; round < 10; round++) {
        now = b.until;
        ck_assert_int_eq(check(&b, now, NULL), RAI_BACKOFF_PROBE);
        started = rai_backoff_failure(&b, now, 0);
        expect = expect * 2 > RAI_BACKOFF_MAX ? RAI_BACKOFF_MAX : expect * 2;
        ck_assert_int_eq(started, expect);
    }
    ck_assert_int_eq(b.delay, RAI_BACKOFF_MAX);
}
END_TEST

START_TEST(one_outage_doubles_once)
{
    rai_backoff_t b;
    int i;

    memset(&b, 0, sizeof(b));
    fail_times(&b, RAI_BACKOFF_THRESHOLD, T0);
    /* calls that were under way when the back-off began fail later */
    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(rai_backoff_failure(&b, T0 + MS(10 + i), 0), 0);
    }
    ck_assert_int_eq(b.delay, RAI_BACKOFF_FIRST);
    ck_assert_int_eq(b.until, T0 + RAI_BACKOFF_FIRST);
    ck_assert_uint_eq(b.starts, 1);
}
END_TEST

START_TEST(retry_after_at_once)
{
    rai_backoff_t b;
    apr_interval_time_t left;

    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(rai_backoff_failure(&b, T0, SEC(30)), SEC(30));
    ck_assert_int_eq(check(&b, T0 + SEC(29), &left), RAI_BACKOFF_WAIT);
    ck_assert_int_eq(left, SEC(1));
    /* a longer Retry-After during the back-off extends it, a shorter not */
    ck_assert_int_eq(rai_backoff_failure(&b, T0 + SEC(1), SEC(60)), SEC(60));
    ck_assert_int_eq(b.until, T0 + SEC(61));
    rai_backoff_failure(&b, T0 + SEC(2), SEC(5));
    ck_assert_int_eq(b.until, T0 + SEC(61));
    ck_assert_int_eq(check(&b, T0 + SEC(61), NULL), RAI_BACKOFF_PROBE);
}
END_TEST

START_TEST(success_ends_everything)
{
    rai_backoff_t b;

    memset(&b, 0, sizeof(b));
    ck_assert(!rai_backoff_success(&b));
    fail_times(&b, RAI_BACKOFF_THRESHOLD + 2, T0);
    ck_assert(rai_backoff_in_force(&b, T0));
    ck_assert(rai_backoff_success(&b));
    ck_assert(!rai_backoff_in_force(&b, T0));
    ck_assert_int_eq(check(&b, T0, NULL), RAI_BACKOFF_CALL);
    ck_assert_int_eq(check(&b, T0, NULL), RAI_BACKOFF_CALL);
    /* the next outage starts from the first delay again */
    ck_assert_int_eq(fail_times(&b, RAI_BACKOFF_THRESHOLD, T0 + SEC(5)),
                     RAI_BACKOFF_FIRST);
    /* a single failure then a success is no back-off, but is reported */
    memset(&b, 0, sizeof(b));
    rai_backoff_failure(&b, T0, 0);
    ck_assert(rai_backoff_success(&b));
}
END_TEST

START_TEST(probe_failure_frees_the_next_probe)
{
    rai_backoff_t b;

    memset(&b, 0, sizeof(b));
    rai_backoff_failure(&b, T0, 0);
    ck_assert_int_eq(check(&b, T0, NULL), RAI_BACKOFF_PROBE);
    /* the probe fails fast (connection refused): the next may probe */
    rai_backoff_failure(&b, T0 + MS(1), 0);
    ck_assert_int_eq(check(&b, T0 + MS(2), NULL), RAI_BACKOFF_PROBE);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("rai_backoff");
    TCase *tc = tcase_create("rules");

    tcase_add_test(tc, healthy_everyone_calls);
    tcase_add_test(tc, threshold_then_first_delay);
    tcase_add_test(tc, failures_make_one_probe_at_a_time);
    tcase_add_test(tc, one_probe_per_period);
    tcase_add_test(tc, doubling_and_cap);
    tcase_add_test(tc, one_outage_doubles_once);
    tcase_add_test(tc, retry_after_at_once);
    tcase_add_test(tc, success_ends_everything);
    tcase_add_test(tc, probe_failure_frees_the_next_probe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(backoff_suite(), NULL);
}
