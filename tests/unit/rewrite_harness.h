/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* A harness for rai_rewrite shared by tests/unit/test_rewrite.c and
 * tests/fuzz/fuzz_rewrite.c: builds brigades of real APR-util buckets
 * (heap, immortal, pool, FILE with mmap off and on, MMAP, FLUSH, EOS)
 * from a page and its cut points, runs rai_rewrite_brigade() with a
 * stand-in next filter that copies what is passed and records FLUSH and
 * EOS positions, and computes an independent reference with
 * rai_scan_next() and rai_tag_feed() over the flat page. */
#ifndef REWRITE_HARNESS_H
#define REWRITE_HARNESS_H

#include <stddef.h>     /* before APR: offsetof for APR_OFFSETOF */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_buckets.h"
#include "apr_file_io.h"
#include "apr_mmap.h"
#include "apr_strings.h"

#include "rai_rewrite.h"

/* K_FILE_SENDFILE: a file opened as httpd's default handler opens one with
 * EnableSendfile On, which rai_rewrite scans from a buffer of its own */
enum { K_HEAP, K_IMMORTAL, K_POOL, K_FILE, K_FILE_MMAP, K_MMAP, K_FILE_SENDFILE,
       K_KINDS };

enum {
    M_TOKEN,        /* an attribute for each tag */
    M_EMPTY,        /* "" for each tag */
    M_NULL_AT,      /* an attribute, NULL at call null_at */
    M_FLUSH         /* rai_rewrite_flush() first, then an attribute */
};

#define H_END_TEXT "<!--rai-end-->"
#define H_EVENTS_MAX 4096
#define H_CALLS_MAX 4096

typedef struct {
    char *out;
    size_t len, cap;
    int nev;
    size_t ev_pos[H_EVENTS_MAX];
    char ev_type[H_EVENTS_MAX];     /* 'F' or 'E' */
    unsigned long npass;
    size_t max_pass;                /* data bytes in the largest pass */
    size_t file_passed;             /* bytes passed as file buckets */
    int setaside;                   /* do as the core for a slow client:
                                     * set passed file buckets aside in a
                                     * pool of its own, then destroy it */
    int calls;
    int call_done[H_CALLS_MAX], call_overflow[H_CALLS_MAX];
    int call_kind[H_CALLS_MAX];
    size_t flush_seen[H_CALLS_MAX]; /* M_FLUSH: out len after the flush */
    int flush_last_ev[H_CALLS_MAX]; /* ... and whether the last event is F */
    int mode, null_at;
    int at_end_calls;
    int troubles;
    apr_status_t rv;
    int finished;
    unsigned long inserted;
    rai_rewrite_t *rw;
    apr_pool_t *pool;
} h_result_t;

static void h_append(h_result_t *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->out = realloc(r->out, r->cap);
        if (!r->out) {
            abort();
        }
    }
    memcpy(r->out + r->len, s, n);
    r->len += n;
    r->out[r->len] = '\0';
}

static void h_event(h_result_t *r, char type)
{
    if (r->nev < H_EVENTS_MAX) {
        r->ev_pos[r->nev] = r->len;
        r->ev_type[r->nev++] = type;
    }
}

static void h_reset(h_result_t *r, int mode, int null_at)
{
    char *out = r->out;
    size_t cap = r->cap;

    memset(r, 0, sizeof(*r));
    r->out = out;
    r->cap = cap;
    r->mode = mode;
    r->null_at = null_at;
    h_append(r, "", 0);
}

static inline void h_free(h_result_t *r)
{
    free(r->out);
    r->out = NULL;
    r->cap = r->len = 0;
}

/* The text the hook gives at call n of that kind (both runs agree). */
static const char *h_text(const h_result_t *r, int n, int script,
                          char *buf, size_t size)
{
    if (r->mode == M_EMPTY) {
        return "";
    }
    if (r->mode == M_NULL_AT && n == r->null_at) {
        return NULL;
    }
    snprintf(buf, size, script ? " data-rai-s=\"%d\"" : " data-rai-token=\"t%d\"",
             n);
    return buf;
}

static const char *h_attribute(void *baton, rai_rewrite_kind_e kind,
                               const rai_tag_t *tag)
{
    h_result_t *r = baton;
    char buf[64];
    const char *t;
    int n = r->calls++;

    if (n < H_CALLS_MAX) {
        r->call_done[n] = rai_tag_done(tag);
        r->call_overflow[n] = rai_tag_overflow(tag);
        r->call_kind[n] = kind;
    }
    if (r->mode == M_FLUSH) {
        if (rai_rewrite_flush(r->rw) != APR_SUCCESS) {
            abort();
        }
        if (n < H_CALLS_MAX) {
            r->flush_seen[n] = r->len;
            r->flush_last_ev[n] = r->nev && r->ev_type[r->nev - 1] == 'F'
                                  && r->ev_pos[r->nev - 1] == r->len;
        }
    }
    t = h_text(r, n, kind == RAI_REWRITE_SCRIPT, buf, sizeof(buf));
    return t ? apr_pstrdup(r->pool, t) : NULL;
}

static apr_status_t h_pass(void *baton, apr_bucket_brigade *bb)
{
    h_result_t *r = baton;
    apr_bucket *b;
    size_t bytes = 0;
    apr_pool_t *aside = NULL;

    r->npass++;
    if (r->setaside) {
        apr_pool_create(&aside, NULL);
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            if (APR_BUCKET_IS_FILE(b) && apr_bucket_setaside(b, aside) != APR_SUCCESS) {
                abort();
            }
        }
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;
        apr_status_t rv;

        if (APR_BUCKET_IS_FLUSH(b)) {
            h_event(r, 'F');
            continue;
        }
        if (APR_BUCKET_IS_EOS(b)) {
            h_event(r, 'E');
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (APR_BUCKET_IS_FILE(b)) {
            r->file_passed += b->length;
        }
        if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        h_append(r, data, len);
        bytes += len;
    }
    if (bytes > r->max_pass) {
        r->max_pass = bytes;
    }
    if (aside) {
        /* the set-aside descriptors close with it: read them first */
        apr_brigade_cleanup(bb);
        apr_pool_destroy(aside);
    }
    return APR_SUCCESS;
}

static const char *h_at_end(void *baton, const rai_rewrite_t *rw)
{
    h_result_t *r = baton;

    r->at_end_calls++;
    return rai_rewrite_in_text(rw) ? H_END_TEXT : NULL;
}

static void h_trouble(void *baton, const char *what)
{
    (void)what;
    ((h_result_t *)baton)->troubles++;
}

/* A bucket whose read always fails. */
static apr_status_t h_fail_read(apr_bucket *b, const char **str,
                                apr_size_t *len, apr_read_type_e block)
{
    (void)b, (void)block;
    *str = NULL;
    *len = 0;
    return APR_EGENERAL;
}

static const apr_bucket_type_t h_fail_type = {
    "RAI-TEST-FAIL", 5, APR_BUCKET_DATA, apr_bucket_destroy_noop,
    h_fail_read, apr_bucket_setaside_notimpl, apr_bucket_split_notimpl,
    apr_bucket_copy_notimpl
};

static apr_bucket *h_fail_create(apr_bucket_alloc_t *ba)
{
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), ba);

    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = ba;
    b->type = &h_fail_type;
    b->length = (apr_size_t)-1;
    b->start = 0;
    b->data = NULL;
    return b;
}

static const char *const h_patterns[] = { "rai-widget", "rai-*-widget" };
static const rai_scan_elements_t h_elements = { h_patterns, 2 };

/* One run.  The page is cut at cuts[0..ncuts) (ascending), a FLUSH goes
 * before each offset of flushes[0..nflush) (ascending), bucket i is of
 * kinds[i % nkinds]; each_call: every bucket in a brigade of its own;
 * fail_at: a failing bucket before that offset ((size_t)-1: none); eos:
 * whether the stream ends. */
typedef struct {
    const size_t *cuts;
    int ncuts;
    const size_t *flushes;
    int nflush;
    const int *kinds;
    int nkinds;
    int each_call;
    size_t fail_at;
    int eos;
    int report_scripts;
    int mode, null_at;
    int setaside;       /* h_result_t.setaside */
    int fresh_files;    /* the rewrite's own judgement of how long a file
                         * must not have changed (its temp file is new):
                         * else 0, so that every file counts as settled */
    size_t shrink_to;   /* not 0: the file is cut to this many bytes once
                         * its buckets (of the whole page) are made, as if
                         * it were truncated while being served */
} h_plan_t;

static void h_run(apr_pool_t *parent, const char *page, size_t len,
                  const h_plan_t *plan, h_result_t *r)
{
    apr_pool_t *p;
    apr_bucket_alloc_t *ba;
    apr_bucket_brigade *bb;
    apr_file_t *f = NULL, *fs = NULL;
    apr_mmap_t *mm = NULL;
    rai_rewrite_hooks_t hooks;
    size_t pos = 0;
    int ci = 0, fi = 0, seg = 0, fail_done = 0;

    h_reset(r, plan->mode, plan->null_at);
    apr_pool_create(&p, parent);
    r->pool = p;
    ba = apr_bucket_alloc_create(p);
    bb = apr_brigade_create(p, ba);
    hooks.attribute = h_attribute;
    hooks.pass = h_pass;
    hooks.at_end = h_at_end;
    hooks.trouble = h_trouble;
    hooks.baton = r;
    r->rw = rai_rewrite_create(p, ba, &h_elements, plan->report_scripts,
                               &hooks);
    if (!plan->fresh_files) {
        rai_rewrite_file_settle(r->rw, 0);
    }
    r->setaside = plan->setaside;
    if (len) {
        char tmpl[] = "/tmp/rai_rewrite_testXXXXXX";
        apr_size_t n = len;
        int need = 0, i;
        for (i = 0; i < plan->nkinds; i++) {
            need |= plan->kinds[i] >= K_FILE;
        }
        if (need) {
            if (apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_READ
                                | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                                | APR_FOPEN_DELONCLOSE, p) != APR_SUCCESS
                || apr_file_write_full(f, page, n, NULL) != APR_SUCCESS
                || apr_file_open(&fs, tmpl, APR_FOPEN_READ
                                 | APR_FOPEN_SENDFILE_ENABLED, 0, p)
                   != APR_SUCCESS) {
                abort();
            }
        }
    }
    for (;;) {
        size_t stop = len;
        apr_bucket *b = NULL;
        int kind;

        while (fi < plan->nflush && plan->flushes[fi] <= pos) {
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(ba));
            fi++;
        }
        if (!fail_done && plan->fail_at != (size_t)-1
            && plan->fail_at <= pos) {
            APR_BRIGADE_INSERT_TAIL(bb, h_fail_create(ba));
            fail_done = 1;
        }
        if (pos >= len) {
            break;
        }
        while (ci < plan->ncuts && plan->cuts[ci] <= pos) {
            ci++;
        }
        if (ci < plan->ncuts && plan->cuts[ci] < stop) {
            stop = plan->cuts[ci];
        }
        if (fi < plan->nflush && plan->flushes[fi] < stop) {
            stop = plan->flushes[fi];
        }
        if (!fail_done && plan->fail_at != (size_t)-1
            && plan->fail_at < stop) {
            stop = plan->fail_at;
        }
        kind = plan->nkinds ? plan->kinds[seg % plan->nkinds] : K_HEAP;
        seg++;
        switch (kind) {
        case K_IMMORTAL:
            b = apr_bucket_immortal_create(page + pos, stop - pos, ba);
            break;
        case K_POOL:
            b = apr_bucket_pool_create(apr_pmemdup(p, page + pos, stop - pos),
                                       stop - pos, p, ba);
            break;
        case K_FILE:
        case K_FILE_MMAP:
            b = apr_bucket_file_create(f, pos, stop - pos, p, ba);
            apr_bucket_file_enable_mmap(b, kind == K_FILE_MMAP);
            break;
        case K_FILE_SENDFILE:
            b = apr_bucket_file_create(fs, pos, stop - pos, p, ba);
            break;
        case K_MMAP:
            /* a map each: the last bucket of a map deletes it */
            if (apr_mmap_create(&mm, f, 0, len, APR_MMAP_READ, p)
                != APR_SUCCESS) {
                abort();
            }
            b = apr_bucket_mmap_create(mm, pos, stop - pos, ba);
            break;
        default:
            b = apr_bucket_heap_create(page + pos, stop - pos, NULL, ba);
        }
        APR_BRIGADE_INSERT_TAIL(bb, b);
        pos = stop;
        if (plan->each_call) {
            if ((r->rv = rai_rewrite_brigade(r->rw, bb)) != APR_SUCCESS) {
                goto done;
            }
        }
    }
    if (plan->eos) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
    }
    if (plan->shrink_to && f && apr_file_trunc(f, (apr_off_t)plan->shrink_to)
                                != APR_SUCCESS) {
        abort();
    }
    r->rv = rai_rewrite_brigade(r->rw, bb);
done:
    r->finished = rai_rewrite_finished(r->rw);
    r->inserted = rai_rewrite_inserted(r->rw);
    apr_brigade_cleanup(bb);
    apr_pool_destroy(p);
    r->rw = NULL;
    r->pool = NULL;
}

/* The reference: the same scan and tag reads over the flat page. */
static rai_scan_t h_ref_scan;
static rai_tag_t h_ref_tag;

static void h_reference(const char *page, size_t len, int report_scripts,
                        int mode, int null_at, int eos, h_result_t *r)
{
    size_t pos = 0;
    int finished = 0;

    h_reset(r, mode, null_at);
    rai_scan_init(&h_ref_scan, &h_elements);
    rai_scan_report_scripts(&h_ref_scan, report_scripts);
    while (pos < len) {
        size_t at = rai_scan_next(&h_ref_scan, page + pos, len - pos), n, d;
        char buf[64];
        const char *t;
        int script;

        h_append(r, page + pos, at);
        pos += at;
        if (pos >= len) {
            break;
        }
        script = rai_scan_reported_script(&h_ref_scan);
        rai_tag_init(&h_ref_tag);
        n = rai_tag_feed(&h_ref_tag, page + pos, len - pos);
        for (d = 0; d < n; ) {
            d += rai_scan_next(&h_ref_scan, page + pos + d, n - d);
        }
        if (!eos && !rai_tag_done(&h_ref_tag)
            && !rai_tag_overflow(&h_ref_tag)) {
            return;     /* held: nothing more passes */
        }
        if (r->calls < H_CALLS_MAX) {
            r->call_done[r->calls] = rai_tag_done(&h_ref_tag);
            r->call_overflow[r->calls] = rai_tag_overflow(&h_ref_tag);
            r->call_kind[r->calls] = script;
        }
        t = h_text(r, r->calls++, script, buf, sizeof(buf));
        if (!t) {
            h_append(r, page + pos, len - pos);
            finished = 1;
            break;
        }
        if (*t) {
            h_append(r, t, strlen(t));
            r->inserted++;
        }
        h_append(r, page + pos, n);
        pos += n;
    }
    r->finished = finished;
    if (eos) {
        r->at_end_calls = 1;
        /* a tag cut by the end of the stream leaves the scan in it */
        if (rai_scan_in_text(&h_ref_scan)) {
            h_append(r, H_END_TEXT, strlen(H_END_TEXT));
        }
        h_event(r, 'E');
    }
}

#endif
