/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_rewrite: a page rewritten through real
 * APR-util buckets (heap, immortal, pool, FILE with mmap off and on,
 * MMAP) cut at random points, with FLUSH buckets at random points, in
 * one brigade or a brigade per bucket, must give the same output as the
 * page in one heap bucket, and as an independent reference computed
 * with rai_scan_next() and rai_tag_feed() over the flat page
 * (tests/unit/rewrite_harness.h).  FLUSH and EOS must all arrive, in
 * order.  Any difference aborts.
 *
 * Input: byte 0: mode (bits 0-1: token attribute, "", NULL at call
 * byte 1, flush from the hook), bit 2: report scripts, bit 3: a brigade
 * per bucket, bit 4: no EOS; byte 1: the call that gets NULL; bytes 2-5
 * seed the cuts, FLUSH positions and bucket kinds; the rest is the page.
 *
 * Build and run (from the top of the tree): make fuzz-replay (the seed
 * corpus once), make fuzz (FUZZ_SECONDS of new inputs).  Reproduce a
 * crash: ./tests/fuzz/fuzz_rewrite.bin crash-...
 */

#include <stddef.h>     /* before APR: offsetof for APR_OFFSETOF */
#include <stdint.h>

#include "apr_general.h"

#include "rewrite_harness.h"

#define FUZZ_CUTS_MAX 256

static apr_pool_t *fuzz_root;
static h_result_t fuzz_res, fuzz_whole, fuzz_ref;

static int fuzz_same(const h_result_t *a, const h_result_t *b)
{
    return a->rv == b->rv && a->len == b->len
           && !memcmp(a->out, b->out, a->len) && a->calls == b->calls
           && a->inserted == b->inserted && a->finished == b->finished;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t cuts[FUZZ_CUTS_MAX], flushes[FUZZ_CUTS_MAX];
    static int kinds[8];
    h_plan_t plan, whole;
    uint32_t seed;
    size_t len, at, ncuts = 0, nflush = 0;
    const char *page;
    int i, flush_events = 0, eos_events = 0;

    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    if (size < 6) {
        return 0;
    }
    memset(&plan, 0, sizeof(plan));
    plan.mode = data[0] & 3;
    plan.report_scripts = (data[0] >> 2) & 1;
    plan.each_call = (data[0] >> 3) & 1;
    plan.eos = !((data[0] >> 4) & 1);
    plan.null_at = data[1];
    plan.fail_at = (size_t)-1;
    seed = (uint32_t)data[2] | (uint32_t)data[3] << 8
           | (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
    page = (const char *)data + 6;
    len = size - 6;

    for (at = 0; ncuts < FUZZ_CUTS_MAX && len; ) {
        seed = seed * 1103515245u + 12345u;
        at += 1 + (seed >> 16) % (len / 4 + 2);
        if (at >= len) {
            break;
        }
        cuts[ncuts++] = at;
    }
    for (at = 0; nflush < FUZZ_CUTS_MAX && len; ) {
        seed = seed * 1103515245u + 12345u;
        at += (seed >> 16) % (len / 2 + 2);
        if (at > len) {
            break;
        }
        flushes[nflush++] = at;
    }
    for (i = 0; i < 8; i++) {
        seed = seed * 1103515245u + 12345u;
        kinds[i] = (int)((seed >> 16) % K_KINDS);
    }
    plan.cuts = cuts;
    plan.ncuts = (int)ncuts;
    plan.flushes = flushes;
    plan.nflush = (int)nflush;
    plan.kinds = kinds;
    plan.nkinds = 1 + (int)((seed >> 8) % 8);

    whole = plan;
    whole.cuts = NULL;
    whole.ncuts = 0;
    whole.flushes = NULL;
    whole.nflush = 0;
    whole.kinds = NULL;
    whole.nkinds = 0;
    whole.each_call = 0;

    h_run(fuzz_root, page, len, &plan, &fuzz_res);
    h_run(fuzz_root, page, len, &whole, &fuzz_whole);
    h_reference(page, len, plan.report_scripts, plan.mode, plan.null_at,
                plan.eos, &fuzz_ref);
    if (fuzz_res.rv != APR_SUCCESS || fuzz_res.troubles
        || !fuzz_same(&fuzz_res, &fuzz_whole)) {
        abort();
    }
    fuzz_ref.rv = APR_SUCCESS;
    if (!fuzz_same(&fuzz_res, &fuzz_ref)) {
        abort();
    }
    /* every FLUSH and the EOS arrive, in order, EOS last */
    for (i = 0; i < fuzz_res.nev; i++) {
        if (i && fuzz_res.ev_pos[i] < fuzz_res.ev_pos[i - 1]) {
            abort();
        }
        if (fuzz_res.ev_type[i] == 'E') {
            eos_events++;
            if (i != fuzz_res.nev - 1 || fuzz_res.ev_pos[i] != fuzz_res.len) {
                abort();
            }
        }
        else {
            flush_events++;
        }
    }
    /* (without EOS a tag held at the end keeps the FLUSHes after it) */
    if (eos_events != plan.eos
        || flush_events > (int)nflush
                          + (plan.mode == M_FLUSH ? fuzz_res.calls : 0)
        || (plan.eos && flush_events != (int)nflush
                        + (plan.mode == M_FLUSH ? fuzz_res.calls : 0))) {
        abort();
    }
    /* bounded passes: 64 KiB, one tag, one attribute, one bucket */
    if (fuzz_res.max_pass > RAI_REWRITE_PASS_BYTES + RAI_TAG_LIMIT + 64
                            + len) {
        abort();
    }
    return 0;
}
