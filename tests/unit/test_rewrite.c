/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_rewrite: rai_rewrite_brigade() driven with real
 * APR-util buckets (heap, immortal, pool, FILE with mmap off and on,
 * MMAP, FLUSH, EOS) and a stand-in next filter (rewrite_harness.h).
 * Every output is also compared with a reference computed with
 * rai_scan_next() and rai_tag_feed() over the flat page.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_rewrite.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_rewrite.bin
 */

#include <check.h>

#include <stddef.h>     /* before APR: offsetof for APR_OFFSETOF */

#include "apr_general.h"

#include "rewrite_harness.h"

static apr_pool_t *root;
static h_result_t res, ref;

#define HOT_ASSERT(x) do { if (!(x)) ck_abort_msg("%s", #x); } while (0)

static const int all_kinds[] = {
    K_HEAP, K_IMMORTAL, K_POOL, K_FILE, K_FILE_MMAP, K_MMAP, K_FILE_SENDFILE
};

static void plan_init(h_plan_t *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->fail_at = (size_t)-1;
    pl->eos = 1;
    pl->mode = M_TOKEN;
    pl->null_at = -1;
}

/* Runs the page as planned; asserts it matches the reference. */
static void run_checked(const char *page, size_t len, const h_plan_t *pl)
{
    h_run(root, page, len, pl, &res);
    h_reference(page, len, pl->report_scripts, pl->mode, pl->null_at,
                pl->eos, &ref);
    HOT_ASSERT(res.rv == APR_SUCCESS);
    if (res.len != ref.len || memcmp(res.out, ref.out, res.len)) {
        ck_abort_msg("output differs:\n[%s]\n[%s]", res.out, ref.out);
    }
    HOT_ASSERT(res.calls == ref.calls);
    HOT_ASSERT(res.inserted == ref.inserted);
    HOT_ASSERT(res.finished == ref.finished);
    if (pl->eos) {
        HOT_ASSERT(res.nev >= 1 && res.ev_type[res.nev - 1] == 'E'
                   && res.ev_pos[res.nev - 1] == res.len);
        HOT_ASSERT(res.at_end_calls == 1);
    }
    HOT_ASSERT(res.troubles == 0);
}

/* The output is the page, then the at_end text. */
static void assert_out_page_end(const char *page)
{
    size_t n = strlen(page);

    ck_assert_msg(res.len == n + strlen(H_END_TEXT)
                  && !memcmp(res.out, page, n)
                  && !strcmp(res.out + n, H_END_TEXT), "[%s]", res.out);
}

static void run_whole(const char *page, const h_plan_t *base)
{
    h_plan_t pl = *base;
    run_checked(page, strlen(page), &pl);
}

/* ------------------------------------------------------------------ */

START_TEST(one_widget)
{
    h_plan_t pl;

    plan_init(&pl);
    run_whole("<p>a</p><rai-widget id=\"x\">b</rai-widget>", &pl);
    ck_assert_str_eq(res.out, "<p>a</p><rai-widget data-rai-token=\"t0\" "
                     "id=\"x\">b</rai-widget>" H_END_TEXT);
    ck_assert_int_eq(res.calls, 1);
    ck_assert(res.call_done[0]);
    ck_assert_int_eq(res.call_kind[0], RAI_REWRITE_WIDGET);
    ck_assert_uint_eq(res.inserted, 1);
}
END_TEST

START_TEST(many_widgets)
{
    h_plan_t pl;
    char page[4096] = "";
    int i;

    plan_init(&pl);
    for (i = 0; i < 40; i++) {
        strcat(page, i % 2 ? "<rai-x-widget/>" : "<div><rai-widget a=1>t");
    }
    run_whole(page, &pl);
    ck_assert_int_eq(res.calls, 40);
    ck_assert_uint_eq(res.inserted, 40);
    ck_assert_ptr_nonnull(strstr(res.out, "<rai-x-widget data-rai-token=\"t39\"/>"));
}
END_TEST

START_TEST(no_widget)
{
    static const char page[] = "<html><body><p class=x>rai-widget</p>"
        "<!-- <rai-widget> --><script>'<rai-widget>'</script></body></html>";
    h_plan_t pl;
    int k;

    plan_init(&pl);
    for (k = 0; k < K_KINDS; k++) {
        pl.kinds = &all_kinds[k];
        pl.nkinds = 1;
        run_whole(page, &pl);
        ck_assert_int_eq(res.calls, 0);
        assert_out_page_end(page);
    }
}
END_TEST

static const char *const split_pages[] = {
    "<rai-widget>",
    "x<rai-widget id=\"a>b\" api-url='https://returning.ai/x'>y</rai-widget>z",
    "<p><rai-a-widget\n/><rai-widget\tx=1 y=\"&amp;\">q<!--<rai-widget>-->"
    "<rai-widget",
    "<script>var s='<rai-widget>';</script><rai-widget>"
    "<svg><rai-widget></svg><rai-widget k=v>",
    "<div>no widget here at all</div>",
    "<RAI-WIDGET A=B><rai-widget/><rai-widget>>",
};

/* Every split point of every page, each piece of every kind, in one
 * brigade and a brigade per bucket: one output. */
START_TEST(split_every_byte)
{
    size_t i, cut, len;
    int k, each, eos;
    h_plan_t pl;

    plan_init(&pl);
    for (i = 0; i < sizeof(split_pages) / sizeof(split_pages[0]); i++) {
        len = strlen(split_pages[i]);
        for (eos = 0; eos <= 1; eos++) {
            for (each = 0; each <= 1; each++) {
                for (k = 0; k < K_KINDS; k++) {
                    for (cut = 0; cut <= len; cut++) {
                        pl.cuts = &cut;
                        pl.ncuts = 1;
                        pl.kinds = &all_kinds[k];
                        pl.nkinds = K_KINDS - k;
                        pl.each_call = each;
                        pl.eos = eos;
                        run_checked(split_pages[i], len, &pl);
                    }
                }
            }
        }
    }
}
END_TEST

/* One byte a bucket, and every pair of cuts for the shorter pages. */
START_TEST(split_bytes_and_pairs)
{
    size_t i, j, len, cuts[2], every[256];
    h_plan_t pl;

    plan_init(&pl);
    for (i = 0; i < sizeof(split_pages) / sizeof(split_pages[0]); i++) {
        len = strlen(split_pages[i]);
        for (j = 0; j < len; j++) {
            every[j] = j + 1;
        }
        pl.cuts = every;
        pl.ncuts = (int)len;
        pl.kinds = all_kinds;
        pl.nkinds = K_KINDS;
        pl.each_call = 1;
        run_checked(split_pages[i], len, &pl);
        if (len > 80) {
            continue;
        }
        pl.cuts = cuts;
        pl.ncuts = 2;
        pl.each_call = 0;
        for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
            for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
                pl.nkinds = 1 + (int)((cuts[0] + cuts[1]) % K_KINDS);
                run_checked(split_pages[i], len, &pl);
            }
        }
    }
}
END_TEST

/* A tag longer than RAI_TAG_LIMIT: the hook sees it not done; "" leaves
 * the page as it was. */
START_TEST(tag_over_limit)
{
    size_t n = RAI_TAG_LIMIT + 1000, cut;
    char *page = malloc(n + 64);
    h_plan_t pl;

    strcpy(page, "<p><rai-widget ");
    memset(page + 15, 'a', RAI_TAG_LIMIT + 10);
    page[15 + RAI_TAG_LIMIT + 10] = '\0';
    strcat(page, " b=1><rai-widget x>");
    plan_init(&pl);
    pl.mode = M_EMPTY;
    for (cut = 0; cut < strlen(page); cut += 997) {
        pl.cuts = &cut;
        pl.ncuts = 1;
        pl.kinds = all_kinds;
        pl.nkinds = K_KINDS;
        run_whole(page, &pl);
        ck_assert_int_eq(res.calls, 2);
        ck_assert(!res.call_done[0]);
        ck_assert(res.call_overflow[0]);
        ck_assert(res.call_done[1]);
        ck_assert_uint_eq(res.len, strlen(page) + strlen(H_END_TEXT));
        ck_assert(!memcmp(res.out, page, strlen(page)));
    }
    free(page);
}
END_TEST

/* NULL: nothing more is inserted, the rest passes unchanged. */
START_TEST(hook_null)
{
    static const char page[] = "<rai-widget a=1><rai-widget b=2>x"
                               "<rai-widget c=3>";
    h_plan_t pl;
    size_t cut;

    plan_init(&pl);
    pl.mode = M_NULL_AT;
    pl.null_at = 0;
    for (cut = 0; cut <= strlen(page); cut++) {
        pl.cuts = &cut;
        pl.ncuts = 1;
        pl.each_call = (int)(cut & 1);
        run_whole(page, &pl);
        assert_out_page_end(page);
        ck_assert_int_eq(res.calls, 1);
        ck_assert(res.finished);
        ck_assert_uint_eq(res.inserted, 0);
    }
    pl.null_at = 1;
    run_whole(page, &pl);
    ck_assert_str_eq(res.out, "<rai-widget data-rai-token=\"t0\" a=1>"
                     "<rai-widget b=2>x<rai-widget c=3>" H_END_TEXT);
    ck_assert(res.finished);
}
END_TEST

/* FLUSH inside a held tag: kept in order, after the bytes before it. */
START_TEST(flush_in_held_tag)
{
    static const char page[] = "<p><rai-widget a=\"1\" b=2>x</p>";
    static const char expect[] = "<p><rai-widget data-rai-token=\"t0\" "
                                 "a=\"1\" b=2>x</p>" H_END_TEXT;
    size_t at, cut, ins = strlen(" data-rai-token=\"t0\"");
    h_plan_t pl;

    plan_init(&pl);
    for (at = 0; at <= strlen(page); at++) {
        for (cut = 0; cut <= strlen(page); cut += 3) {
            pl.flushes = &at;
            pl.nflush = 1;
            pl.cuts = &cut;
            pl.ncuts = 1;
            pl.each_call = (int)(cut & 1);
            run_whole(page, &pl);
            ck_assert_str_eq(res.out, expect);
            ck_assert_int_eq(res.nev, 2);
            ck_assert_int_eq(res.ev_type[0], 'F');
            ck_assert_uint_eq(res.ev_pos[0], at <= 14 ? at : at + ins);
        }
    }
}
END_TEST

/* EOS inside a tag: the hook is asked (not done, not overflowed), its
 * text inserted; no at_end text (not in text). */
START_TEST(eos_in_tag)
{
    static const char page[] = "<p>x</p><rai-widget a=\"1";
    h_plan_t pl;

    plan_init(&pl);
    run_whole(page, &pl);
    ck_assert_str_eq(res.out, "<p>x</p><rai-widget data-rai-token=\"t0\" a=\"1");
    ck_assert_int_eq(res.calls, 1);
    ck_assert(!res.call_done[0]);
    ck_assert(!res.call_overflow[0]);
    ck_assert_int_eq(res.nev, 1);
    /* without EOS the tag is held: only what comes before it passes */
    pl.eos = 0;
    run_whole(page, &pl);
    ck_assert_str_eq(res.out, "<p>x</p><rai-widget");
    ck_assert_int_eq(res.calls, 0);
}
END_TEST

START_TEST(at_end_only_in_text)
{
    h_plan_t pl;

    plan_init(&pl);
    run_whole("<p>x</p>", &pl);
    ck_assert_str_eq(res.out, "<p>x</p>" H_END_TEXT);
    run_whole("<p>x<!-- open", &pl);
    ck_assert_str_eq(res.out, "<p>x<!-- open");
    run_whole("<p>x<script>var a", &pl);
    ck_assert_str_eq(res.out, "<p>x<script>var a");
    run_whole("<p>x<a href=\"", &pl);
    ck_assert_str_eq(res.out, "<p>x<a href=\"");
    run_whole("", &pl);
    ck_assert_str_eq(res.out, H_END_TEXT);
    ck_assert_int_eq(res.nev, 1);
    ck_assert_uint_eq(res.ev_pos[0], strlen(H_END_TEXT));
}
END_TEST

START_TEST(scripts_reported)
{
    static const char page[] = "<script src=\"/widget-loader.js\"></script>"
                               "<rai-widget>";
    h_plan_t pl;

    plan_init(&pl);
    run_whole(page, &pl);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_int_eq(res.call_kind[0], RAI_REWRITE_WIDGET);
    pl.report_scripts = 1;
    run_whole(page, &pl);
    ck_assert_int_eq(res.calls, 2);
    ck_assert_int_eq(res.call_kind[0], RAI_REWRITE_SCRIPT);
    ck_assert_int_eq(res.call_kind[1], RAI_REWRITE_WIDGET);
    ck_assert_str_eq(res.out, "<script data-rai-s=\"0\" src=\"/widget-loader.js"
                     "\"></script><rai-widget data-rai-token=\"t1\">"
                     H_END_TEXT);
}
END_TEST

/* A page of at least n bytes (malloc'd, NUL-terminated, length in *len):
 * widgets with gap bytes of text after each. */
static char *spaced_page(size_t n, size_t gap, size_t *len)
{
    char *page = malloc(n + gap + 64);

    *len = 0;
    while (*len < n) {
        *len += (size_t)sprintf(page + *len, "<rai-widget n=%zu>", *len);
        memset(page + *len, 'x', gap);
        *len += gap;
    }
    page[*len] = '\0';
    return page;
}

/* A plan whose every bucket is of a file the core would send by sendfile. */
static void plan_sendfile(h_plan_t *pl)
{
    static const int sendfile_only[] = { K_FILE_SENDFILE };

    plan_init(pl);
    pl->kinds = sendfile_only;
    pl->nkinds = 1;
}

/* A 1 MB page: passed on in many pieces of about 64 KiB at most. */
START_TEST(pass_bytes_bounded)
{
    size_t n = 1024 * 1024, len, bucket = 8000, cuts[200];
    char *page = spaced_page(n, 900, &len);
    h_plan_t pl;
    int i, ncuts = 0, wide;
    size_t bound;

    for (i = 0; i < 200 && (size_t)(i + 1) * bucket < len; i++) {
        cuts[ncuts++] = (size_t)(i + 1) * bucket;
    }
    plan_init(&pl);
    /* 0-2: memory, or files read into it; 3: a file the core would send
     * by sendfile, which holds no memory and passes at its own bound */
    for (wide = 0; wide <= 3; wide++) {
        size_t every = wide == 3 ? RAI_REWRITE_PASS_FILE_BYTES
                                 : RAI_REWRITE_PASS_BYTES;

        /* a sendfile pass: its file bytes, and the memory ones (tags
         * held, text inserted) counted on their own */
        bound = (wide == 3 ? RAI_REWRITE_PASS_BYTES : 0)
                + every + 1000 + RAI_TAG_LIMIT + 64;
        pl.cuts = wide == 0 ? cuts : NULL;
        pl.ncuts = wide == 0 ? ncuts : 0;
        pl.kinds = wide == 2 ? &all_kinds[K_FILE]
                   : wide == 3 ? &all_kinds[K_FILE_SENDFILE] : all_kinds;
        pl.nkinds = wide >= 2 ? 1 : K_FILE_SENDFILE;
        pl.each_call = wide == 0;
        run_checked(page, len, &pl);
        ck_assert_uint_ge(res.npass, len / every);
        ck_assert_msg(res.max_pass <= bound, "a pass of %zu bytes",
                      res.max_pass);
        ck_assert_int_gt(res.calls, 1000);
    }
    free(page);
}
END_TEST

/* A file the core would send by sendfile is passed on as file buckets
 * (scanned from the rewrite's own buffer) only when it has not changed
 * lately: a file written a moment ago is read as any bucket, so that what
 * goes out is what was scanned.  Same output either way. */
START_TEST(fresh_file_is_read)
{
    size_t len;
    /* pieces longer than a bucket's worth between the widgets: those
     * would go out as files */
    char *page = spaced_page(48000, 10000, &len);
    h_plan_t pl;

    plan_sendfile(&pl);
    run_checked(page, len, &pl);
    ck_assert_uint_gt(res.file_passed, len / 2);
    pl.fresh_files = 1;
    run_checked(page, len, &pl);
    ck_assert_uint_eq(res.file_passed, 0);
    free(page);
}
END_TEST

/* A filter after the rewrite sets the passed file pieces aside and closes
 * them (the core does for a slow client) while the rest of the same file
 * is still to be scanned: the rest reads on.  (apr-util gives a shared
 * file bucket that is set aside a descriptor of its own; this holds the
 * rewrite to not depending on more than that.) */
START_TEST(passed_pieces_set_aside)
{
    size_t len;
    char *page = spaced_page(3 * RAI_REWRITE_PASS_FILE_BYTES, 30000, &len);
    h_plan_t pl;

    plan_sendfile(&pl);
    pl.setaside = 1;
    run_checked(page, len, &pl);
    ck_assert_uint_ge(res.npass, 3);
    ck_assert_uint_gt(res.file_passed, len / 2);
    free(page);
}
END_TEST

static size_t count_x(const char *s, size_t n)
{
    size_t i, k = 0;

    for (i = 0; s && i < n; i++) {
        k += s[i] == 'x';
    }
    return k;
}

/* A file cut short while it is served (its buckets still say the whole
 * page): what goes out is what the file holds, never more, and nothing
 * that was not in it; the read that comes short is an error. */
START_TEST(file_shrinks)
{
    size_t len, cut;
    char *page = spaced_page(48000, 10000, &len);
    h_plan_t pl;

    for (cut = 100; cut < len; cut += 7919) {
        plan_sendfile(&pl);
        pl.shrink_to = cut;
        h_run(root, page, len, &pl, &res);
        ck_assert_int_ne(res.rv, APR_SUCCESS);
        /* of the page's text, only what the file held came out */
        ck_assert_uint_le(count_x(res.out, res.len), count_x(page, cut));
    }
    free(page);
}
END_TEST

/* A read error is returned, whether or not a tag is held. */
START_TEST(read_error)
{
    static const char page[] = "<p>abc<rai-widget a=1>x";
    size_t at;
    h_plan_t pl;

    plan_init(&pl);
    for (at = 0; at <= strlen(page); at++) {
        pl.fail_at = at;
        h_run(root, page, strlen(page), &pl, &res);
        ck_assert_int_eq(res.rv, APR_EGENERAL);
        pl.each_call = 1;
        h_run(root, page, strlen(page), &pl, &res);
        ck_assert_int_eq(res.rv, APR_EGENERAL);
        pl.each_call = 0;
    }
}
END_TEST

/* rai_rewrite_flush() from the hook: everything before the held tag has
 * gone, with a FLUSH, and nothing of the tag. */
START_TEST(flush_from_hook)
{
    static const char page[] = "<p>one</p><rai-widget a=1>two"
                               "<rai-widget b=2>three";
    size_t cut;
    h_plan_t pl;

    plan_init(&pl);
    pl.mode = M_FLUSH;
    for (cut = 0; cut <= strlen(page); cut++) {
        pl.cuts = &cut;
        pl.ncuts = 1;
        pl.kinds = all_kinds;
        pl.nkinds = (int)(cut % K_KINDS) + 1;
        pl.each_call = (int)(cut & 1);
        run_whole(page, &pl);
        ck_assert_int_eq(res.calls, 2);
        ck_assert_uint_eq(res.flush_seen[0], strlen("<p>one</p><rai-widget"));
        ck_assert(res.flush_last_ev[0]);
        ck_assert_uint_eq(res.flush_seen[1],
                          strlen("<p>one</p><rai-widget data-rai-token=\"t0\""
                                 " a=1>two<rai-widget"));
        ck_assert(res.flush_last_ev[1]);
        ck_assert(!memcmp(res.out, "<p>one</p><rai-widget data-rai-token="
                          "\"t0\" a=1>", 36));
    }
}
END_TEST


/* A bucket whose non-blocking read says EAGAIN, then turns immortal. */
static apr_status_t slow_read(apr_bucket *b, const char **str,
                              apr_size_t *len, apr_read_type_e block)
{
    const char *data = b->data;

    if (block == APR_NONBLOCK_READ) {
        *str = NULL;
        *len = 0;
        return APR_EAGAIN;
    }
    apr_bucket_immortal_make(b, data, strlen(data));
    *str = data;
    *len = strlen(data);
    return APR_SUCCESS;
}

static const apr_bucket_type_t slow_type = {
    "RAI-TEST-SLOW", 5, APR_BUCKET_DATA, apr_bucket_destroy_noop, slow_read,
    apr_bucket_setaside_notimpl, apr_bucket_split_notimpl,
    apr_bucket_copy_notimpl
};

/* Runs the brigade through a fresh rewrite; the result in res. */
static apr_status_t run_brigade(apr_pool_t *p, apr_bucket_alloc_t *ba,
                                apr_bucket_brigade *bb)
{
    rai_rewrite_hooks_t hooks = { h_attribute, h_pass, h_at_end, h_trouble,
                                  &res };
    apr_status_t rv;

    h_reset(&res, M_TOKEN, -1);
    res.pool = p;
    res.rw = rai_rewrite_create(p, ba, &h_elements, 0, &hooks);
    rv = rai_rewrite_brigade(res.rw, bb);
    res.finished = rai_rewrite_finished(res.rw);
    return rv;
}

/* A slow source: what is ready goes on, with a FLUSH, before the
 * blocking read. */
START_TEST(slow_bucket_flushes_first)
{
    static const char slow[] = "<rai-widget a=1>rest";
    apr_pool_t *p;
    apr_bucket_alloc_t *ba;
    apr_bucket_brigade *bb;
    apr_bucket *b;

    apr_pool_create(&p, root);
    ba = apr_bucket_alloc_create(p);
    bb = apr_brigade_create(p, ba);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("<p>ready</p>",
                                                           12, ba));
    b = apr_bucket_alloc(sizeof(*b), ba);
    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = ba;
    b->type = &slow_type;
    b->length = (apr_size_t)-1;
    b->start = 0;
    b->data = (void *)slow;
    APR_BRIGADE_INSERT_TAIL(bb, b);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
    ck_assert_int_eq(run_brigade(p, ba, bb), APR_SUCCESS);
    ck_assert_str_eq(res.out, "<p>ready</p><rai-widget data-rai-token=\"t0\" "
                     "a=1>rest" H_END_TEXT);
    ck_assert_int_eq(res.nev, 2);
    ck_assert_int_eq(res.ev_type[0], 'F');
    ck_assert_uint_eq(res.ev_pos[0], 12);
    apr_pool_destroy(p);
}
END_TEST

/* A bucket that cannot be split: trouble is reported and the rest of the
 * stream passes unchanged, in order. */
START_TEST(unsplittable_bucket)
{
    static const char *const pages[] = {
        "<p>x<rai-widget a=1>y<rai-widget b=2>",    /* split in the scan */
        "<rai-widget a=1>y<rai-widget b=2>"         /* ... of a held tag */
    };
    apr_bucket_type_t nosplit = apr_bucket_type_immortal;
    int i;

    nosplit.name = "RAI-TEST-NOSPLIT";
    nosplit.split = apr_bucket_split_notimpl;
    for (i = 0; i < 2; i++) {
        apr_pool_t *p;
        apr_bucket_alloc_t *ba;
        apr_bucket_brigade *bb;
        apr_bucket *b;

        apr_pool_create(&p, root);
        ba = apr_bucket_alloc_create(p);
        bb = apr_brigade_create(p, ba);
        if (i == 1) {
            /* the tag's start alone, then an unsplittable rest */
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(
                                        "<rai-widget", 11, ba));
        }
        b = apr_bucket_immortal_create(pages[i] + (i ? 11 : 0),
                                       strlen(pages[i]) - (i ? 11 : 0), ba);
        b->type = &nosplit;
        APR_BRIGADE_INSERT_TAIL(bb, b);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
        ck_assert_int_eq(run_brigade(p, ba, bb), APR_SUCCESS);
        ck_assert_int_eq(res.troubles, 1);
        ck_assert(res.finished);
        ck_assert_int_eq(res.nev, 1);
        ck_assert_uint_eq(res.ev_pos[0], res.len);
        if (i == 0) {
            /* the scan stopped at the widget: not in text, no at_end */
            ck_assert_int_eq(res.calls, 0);
            ck_assert_str_eq(res.out, pages[0]);
        }
        else {
            /* the held tag (read to its '>' before the split failed) is
             * asked about, and its attribute goes before the rest */
            ck_assert_int_eq(res.calls, 1);
            ck_assert_msg(!strncmp(res.out, "<rai-widget data-rai-token="
                                   "\"t0\" a=1>y<rai-widget b=2>", 42),
                          "[%s]", res.out);
        }
        apr_pool_destroy(p);
    }
}
END_TEST

static Suite *rewrite_suite(void)
{
    Suite *s = suite_create("rai_rewrite");
    TCase *tc = tcase_create("rewrite");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, one_widget);
    tcase_add_test(tc, many_widgets);
    tcase_add_test(tc, no_widget);
    tcase_add_test(tc, split_every_byte);
    tcase_add_test(tc, split_bytes_and_pairs);
    tcase_add_test(tc, tag_over_limit);
    tcase_add_test(tc, hook_null);
    tcase_add_test(tc, flush_in_held_tag);
    tcase_add_test(tc, eos_in_tag);
    tcase_add_test(tc, at_end_only_in_text);
    tcase_add_test(tc, scripts_reported);
    tcase_add_test(tc, pass_bytes_bounded);
    tcase_add_test(tc, fresh_file_is_read);
    tcase_add_test(tc, file_shrinks);
    tcase_add_test(tc, passed_pieces_set_aside);
    tcase_add_test(tc, read_error);
    tcase_add_test(tc, flush_from_hook);
    tcase_add_test(tc, slow_bucket_flushes_first);
    tcase_add_test(tc, unsplittable_bucket);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        fprintf(stderr, "cannot initialise APR\n");
        return 2;
    }
    sr = srunner_create(rewrite_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    h_free(&res);
    h_free(&ref);
    apr_pool_destroy(root);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
