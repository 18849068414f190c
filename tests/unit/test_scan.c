/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_scan: every test page is rewritten whole, at every
 * split point, one byte per chunk and at random multi-way splits, and must
 * give the same bytes each time.  A second, independent tokenizer written
 * straight from the WHATWG state list (scan_model.c) is compared with
 * the scanner on generated pages.
 *
 * Build (from the top of the tree; see tests/unit/Makefile.frag):
 *   cc -Wall -Wextra -Werror -fsanitize=address,undefined -g -I. \
 *      $(pkg-config --cflags check) tests/unit/test_scan.c \
 *      tests/unit/scan_model.c rai_scan.c \
 *      $(pkg-config --libs check) -o tests/unit/test_scan
 *   ./tests/unit/test_scan
 */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rai_scan.h"
#include "scan_model.h"

static const char *const default_patterns[] = { "rai-widget", "rai-*-widget" };
static const rai_scan_elements_t default_elements = { default_patterns, 2 };

#define TOKEN_ATTR " embed-token=\"T\""

/* For the hot paths: check's ck_assert_* records every passing assertion
 * through a pipe to the parent process, which makes the split loops slow. */
#define require(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)
#define require_alloc(ptr) require((ptr) != NULL, "out of memory")

/* ------------------------------------------------------------------ */
/* Small helpers: a growable byte string, a list of offsets.           */

typedef struct {
    char *bytes;
    size_t len, cap;
} text_t;

static void text_append(text_t *t, const char *bytes, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + len + 1)
            cap *= 2;
        t->bytes = realloc(t->bytes, cap);
        require_alloc(t->bytes);
        t->cap = cap;
    }
    if (len)
        memcpy(t->bytes + t->len, bytes, len);
    t->len += len;
    t->bytes[t->len] = '\0';
}

static void text_puts(text_t *t, const char *s)
{
    text_append(t, s, strlen(s));
}

static void text_free(text_t *t)
{
    free(t->bytes);
    memset(t, 0, sizeof(*t));
}

typedef struct {
    size_t *at;
    size_t count, cap;
} offsets_t;

static void offsets_add(offsets_t *o, size_t at)
{
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->at = realloc(o->at, o->cap * sizeof(*o->at));
        require_alloc(o->at);
    }
    o->at[o->count++] = at;
}

static int same_offsets(const offsets_t *a, const offsets_t *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->at[i] != b->at[i])
            return 0;
    return 1;
}

static void offsets_free(offsets_t *o)
{
    free(o->at);
    memset(o, 0, sizeof(*o));
}

/* Printable form of some bytes for failure messages (truncated). */
static const char *show(const char *bytes, size_t len)
{
    static char out[4][1200];
    static int which;
    char *s = out[which = (which + 1) % 4];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(out[0]) - 8; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\n')
            n += (size_t)sprintf(s + n, "\\n");
        else if (c == '\t')
            n += (size_t)sprintf(s + n, "\\t");
        else if (c == '\r')
            n += (size_t)sprintf(s + n, "\\r");
        else if (c < 0x20 || c >= 0x7f)
            n += (size_t)sprintf(s + n, "\\x%02x", c);
        else
            s[n++] = (char)c;
    }
    if (n >= sizeof(out[0]) - 8)
        n += (size_t)sprintf(s + n, "...");
    s[n] = '\0';
    return s;
}

static const char *show_cuts(const size_t *cuts, size_t ncuts)
{
    static char out[400];
    size_t n = (size_t)snprintf(out, sizeof(out), "[");
    for (size_t i = 0; i < ncuts && n < sizeof(out) - 24; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%zu",
                              i ? "," : "", cuts[i]);
    snprintf(out + n, sizeof(out) - n, "]");
    return out;
}

/* ------------------------------------------------------------------ */
/* The rewrite, as the filter will do it.                              */

/* Runs the scanner over input cut before each offset in cuts (ascending;
 * a repeated cut makes an empty chunk) and builds the output with
 * TOKEN_ATTR inserted at every reported offset.  Each chunk is copied into
 * a buffer of exactly its size, so AddressSanitizer sees any read past a
 * chunk's end. */
static void rewrite_cut(const rai_scan_elements_t *elements,
                        const char *input, size_t len,
                        const size_t *cuts, size_t ncuts,
                        text_t *out, offsets_t *found)
{
    rai_scan_t scan;
    size_t start = 0;

    rai_scan_init(&scan, elements);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        size_t chunk_len = end - start, pos = 0;
        char *chunk = malloc(chunk_len ? chunk_len : 1);
        size_t last_insert = SIZE_MAX;

        require_alloc(chunk);
        require(end >= start && end <= len, "bad cut list");
        memcpy(chunk, input + start, chunk_len);
        for (;;) {
            size_t rest = chunk_len - pos;
            size_t off = rai_scan_next(&scan, chunk + pos, rest);

            require(off <= rest,
                          "rai_scan_next returned %zu for a %zu-byte buffer "
                          "(input \"%s\", cuts %s)", off, rest,
                          show(input, len), show_cuts(cuts, ncuts));
            text_append(out, chunk + pos, off);
            if (off == rest)
                break;
            require(start + pos + off != last_insert,
                          "offset %zu reported twice (input \"%s\", cuts %s)",
                          start + pos + off, show(input, len),
                          show_cuts(cuts, ncuts));
            last_insert = start + pos + off;
            text_puts(out, TOKEN_ATTR);
            if (found)
                offsets_add(found, last_insert);
            pos += off;
        }
        free(chunk);
        start = end;
    }
}

/* rewrite(input, split points...): the helper named in the brief. */
#define rewrite(out, input, len, ...)                                      \
    do {                                                                   \
        const size_t cuts_[] = { __VA_ARGS__ };                            \
        rewrite_cut(&default_elements, (input), (len), cuts_,              \
                    sizeof(cuts_) / sizeof(cuts_[0]), (out), NULL);        \
    } while (0)

/* ------------------------------------------------------------------ */
/* Test pages.  "{T}" marks where the token must be inserted; "{0}"      */
/* stands for a NUL byte.  The input is the page without the markers.  */

typedef struct {
    text_t input;
    text_t expected;
    offsets_t at;               /* insertion offsets in input */
} page_t;

static void page_decode(const char *marked, page_t *page)
{
    memset(page, 0, sizeof(*page));
    text_append(&page->input, "", 0);
    text_append(&page->expected, "", 0);
    for (const char *p = marked; *p;) {
        if (strncmp(p, "{T}", 3) == 0) {
            offsets_add(&page->at, page->input.len);
            text_puts(&page->expected, TOKEN_ATTR);
            p += 3;
        }
        else if (strncmp(p, "{0}", 3) == 0) {
            text_append(&page->input, "", 1);
            text_append(&page->expected, "", 1);
            p += 3;
        }
        else {
            text_append(&page->input, p, 1);
            text_append(&page->expected, p, 1);
            p++;
        }
    }
}

static void page_free(page_t *page)
{
    text_free(&page->input);
    text_free(&page->expected);
    offsets_free(&page->at);
}

/* Rewrites the page with the given cuts and checks output and offsets. */
static void page_check_cuts(const char *marked, const page_t *page,
                            const size_t *cuts, size_t ncuts)
{
    text_t out = { 0 };
    offsets_t found = { 0 };

    text_append(&out, "", 0);
    rewrite_cut(&default_elements, page->input.bytes, page->input.len,
                cuts, ncuts, &out, &found);
    require(out.len == page->expected.len
                  && memcmp(out.bytes, page->expected.bytes, out.len) == 0,
                  "page \"%s\" cut at %s:\n  expected \"%s\"\n  got      \"%s\"",
                  show(marked, strlen(marked)), show_cuts(cuts, ncuts),
                  show(page->expected.bytes, page->expected.len),
                  show(out.bytes, out.len));
    require(found.count == page->at.count, "page \"%s\": %zu insertions, expected %zu",
            show(marked, strlen(marked)), found.count, page->at.count);
    for (size_t i = 0; i < found.count; i++)
        require(found.at[i] == page->at.at[i], "page \"%s\": insertion at %zu, expected %zu",
                show(marked, strlen(marked)), found.at[i], page->at.at[i]);
    text_free(&out);
    offsets_free(&found);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    /* xorshift64*: deterministic, so a failure can be reproduced */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* (a) whole, (b) every split point, (b') every pair of split points for
 * short pages, (c) one byte per chunk, (d) random multi-way splits,
 * some with empty chunks. */
/* The fast paths the tests run each page through (rai_scan_force_impl). */
static const int impls[] = {
    RAI_SCAN_IMPL_PORTABLE, RAI_SCAN_IMPL_SSE2, RAI_SCAN_IMPL_AVX2,
    RAI_SCAN_IMPL_AVX512
};
#define NIMPLS ((int)(sizeof(impls) / sizeof(impls[0])))

/* Forces an implementation; 0 when this build or CPU lacks it. */
static int use_impl(int impl)
{
    return rai_scan_force_impl(impl) == impl;
}

static void page_check_splits_one(const char *marked);

/* Every check below, once per implementation the machine has. */
static void page_check_all_splits(const char *marked)
{
    for (int k = 0; k < NIMPLS; k++)
        if (use_impl(impls[k]))
            page_check_splits_one(marked);
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
}

static void page_check_splits_one(const char *marked)
{
    page_t page;
    size_t len, cuts[16];

    page_decode(marked, &page);
    len = page.input.len;

    page_check_cuts(marked, &page, NULL, 0);

    for (size_t i = 0; i <= len; i++) {
        cuts[0] = i;
        page_check_cuts(marked, &page, cuts, 1);
    }

    if (len <= 64) {
        for (size_t i = 1; i < len; i++)
            for (size_t j = i + 1; j < len; j++) {
                cuts[0] = i;
                cuts[1] = j;
                page_check_cuts(marked, &page, cuts, 2);
            }
    }

    if (len > 1) {
        size_t *bytewise = malloc((len - 1) * sizeof(*bytewise));
        require_alloc(bytewise);
        for (size_t i = 1; i < len; i++)
            bytewise[i - 1] = i;
        page_check_cuts(marked, &page, bytewise, len - 1);
        free(bytewise);
    }

    rng_state = 0x9e3779b97f4a7c15ULL ^ len;
    for (int round = 0; round < 40; round++) {
        size_t ncuts = 2 + rng_next() % 12;
        for (size_t i = 0; i < ncuts; i++)
            cuts[i] = rng_next() % (len + 1);
        qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
        page_check_cuts(marked, &page, cuts, ncuts);
    }

    page_free(&page);
}

static const char *const pages[] = {
    /* --- the rewrite itself --- */
    "",
    "plain text, no tags at all",
    "<rai-widget{T}>",
    "<rai-widget{T}></rai-widget>",
    "<rai-store-widget{T} community-id=\"c1\"></rai-store-widget>",
    "<rai-channel-widget{T}><rai-milestone-widget{T}><rai-social-widget{T}>"
        "<rai-currency-widget{T}><rai-referral-widget{T}><rai-custom-widget{T}>",
    "<rai-a-b-widget{T}>",
    "<rai-widget-widget{T}>",
    "<rai-x-widget-widget{T}>",
    "<rai-a.b_c1-widget{T}>",
    "<p>before</p><rai-widget{T} id=w1>x</rai-widget><p>after</p>",
    "<rai-widget{T} a=1 b='2' c=\"3\" d>",
    "<rai-widget{T} embed-token=\"old\">",
    "<rai-widget{T} EMBED-TOKEN=old>",
    /* case-insensitive names, original case kept */
    "<RAI-WIDGET{T}>",
    "<RAI-Store-Widget{T} Community-Id=\"c1\">",
    "<Rai-Widget{T}></RAI-WIDGET>",
    /* what ends the name */
    "<rai-widget{T}/>",
    "<rai-widget{T} />",
    "<rai-widget{T}/x>",
    "<rai-widget{T}\n a=1>",
    "<rai-widget{T}\ta=1>",
    "<rai-widget{T}\fa=1>",
    "<rai-widget{T}\r\na=1>",          /* CR is LF after preprocessing */
    "<rai-widget{T}\r>",
    "<rai-widget{T} =x>",
    "<rai-widget{T}  \n\t  >",
    /* not widgets */
    "<rai-widgetry>",
    "<rai-widgets>",
    "<rai-widget-x>",
    "<rai--widget>",
    "<rai-widge>",
    "<rai->",
    "<xrai-widget>",
    "<rai_widget>",
    "<rai-widget\v>",                  /* VT is not HTML whitespace */
    "<rai-widget{0}>",
    "<rai-widget\"a>",
    "<rai-widget'a>",
    "<rai-widget=a>",
    "<rai-widget<rai-widget>",
    /* '*' stands for name characters only */
    "<rai-\"-widget>",
    "<rai-=-widget>",
    "<rai-<-widget>",
    "<rai-{0}-widget>",
    "<rai-a'b-widget x>",
    "<rai-\xc3\xa9-widget{T}>",
    "<rai-widget&amp;>",
    "</rai-widget>",
    "</RAI-WIDGET>",
    "</rai-widget/>",
    "</rai-widget a=1>",
    "</rai-widget a=\"<rai-widget>\">",
    "</rai-widget><rai-widget{T}>",
    /* end of input before the name ends: nothing inserted */
    "<rai-widget",
    "x <rai-store-widget",
    "<rai-widget{T} a=\"",
    "<rai-widget{T} a=\"<rai-widget>",
    /* '<' not opening a tag */
    "a < rai-widget>",
    "<1rai-widget>",
    "<-rai-widget>",
    "<{0}rai-widget>",
    "<<rai-widget{T}>",
    "<<<rai-widget{T}>",
    "{0}<rai-widget{T}>{0}",
    "a<b<rai-widget>",
    "<a<rai-widget>",
    "<a <rai-widget>",
    "<a/<rai-widget>",
    "<\xc3\xa9><rai-widget{T}>",
    /* several widgets */
    "<rai-widget{T}><rai-widget{T}><rai-widget{T}>",
    "<div><rai-widget{T}><rai-store-widget{T}></rai-store-widget></rai-widget>"
        "<span><RAI-X-WIDGET{T}/></span></div>",
    "<rai-widget{T} a=\">\"><rai-widget{T}>",
    "<rai-widget{T} a=\"<rai-widget>\">",
    "<rai-widget{T} a='<rai-widget>' b=<rai-widget>>",
    /* template content is HTML */
    "<template><rai-widget{T}></rai-widget></template>",
    "<template id=t><div><rai-store-widget{T} x=1></rai-store-widget></div></template>",

    /* --- comments --- */
    "<!-- <rai-widget> -->",
    "<!-- <rai-widget> --><rai-widget{T}>",
    "<!--<rai-widget>-->",
    "<!-- a > <rai-widget> -->",
    "<!--><rai-widget{T}>",
    "<!---><rai-widget{T}>",
    "<!----><rai-widget{T}>",
    "<!-----><rai-widget{T}>",
    "<!-- x ---><rai-widget{T}>",
    "<!-- x --!><rai-widget{T}>",
    "<!----!><rai-widget{T}>",
    "<!--!><rai-widget>-->",
    "<!--!><rai-widget>--><rai-widget{T}>",
    "<!---!><rai-widget>--><rai-widget{T}>",
    "<!-- -!> <rai-widget> --><rai-widget{T}>",
    "<!-- -> <rai-widget> --><rai-widget{T}>",
    "<!-- -- > <rai-widget> --><rai-widget{T}>",
    "<!-- --!-><rai-widget>--><rai-widget{T}>",
    "<!-- --!--><rai-widget{T}>",
    "<!-- --!x <rai-widget> --><rai-widget{T}>",
    "<!-- --!!> <rai-widget> --><rai-widget{T}>",
    "<!-- - - > <rai-widget> --><rai-widget{T}>",
    "<!--<!--><rai-widget{T}>",
    "<!--<!---><rai-widget{T}>",
    "<!--<!-- nested --> <rai-widget{T}> -->",
    "<!--<!-<rai-widget>--><rai-widget{T}>",
    "<!-- <script> --><rai-widget{T}>",
    "<!-- <rai-widget>",
    "<!--",
    "<!-",
    "<!",
    /* "<!" not followed by "--": a bogus comment to the first '>' */
    "<!-x <rai-widget> <rai-widget{T}>",
    "<!- -> <rai-widget{T}>",
    "<!><rai-widget{T}>",
    "<! <rai-widget> -->",
    "<!<rai-widget> <rai-widget{T}>",
    "<!DOCTYPE html><rai-widget{T}>",
    "<!doctype html><html><body><rai-widget{T}></body></html>",
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
        "\"http://www.w3.org/TR/html4/strict.dtd\"><rai-widget{T}>",
    "<!DOCTYPE html \"<rai-widget>\">",
    "<!DOCTYPE html SYSTEM \"a>b\"><rai-widget{T}>",
    "<![CDATA[ <rai-widget> ]]>",
    "<![CDATA[<rai-widget>]]>",
    "<![CDATA[ x ]]><rai-widget{T}>",
    "<![CDATA[ a > <rai-widget{T}> ]]>",
    "<?xml version=\"1.0\"?><rai-widget{T}>",
    "<?xml a=\"<rai-widget>\"?>",
    "<?php echo \"<rai-widget>\"; ?>",
    "<? a > <rai-widget{T}>",
    "<?<rai-widget> <rai-widget{T}>",
    /* "</" not followed by a letter */
    "</ <rai-widget> <rai-widget{T}>",
    "</<rai-widget> <rai-widget{T}>",
    "</1 <rai-widget> <rai-widget{T}>",
    "</><rai-widget{T}>",
    "</",

    /* --- attribute values of other tags --- */
    "<div title=\"<rai-widget>\"></div>",
    "<div title='<rai-widget>'></div>",
    "<div title=\"a > <rai-widget>\"><rai-widget{T}>",
    "<div title='a \" > <rai-widget>'><rai-widget{T}>",
    "<div title=\"a ' > <rai-widget>\"><rai-widget{T}>",
    "<div title=<rai-widget>>",
    "<div title=<rai-widget>><rai-widget{T}>",
    "<div title=x<rai-widget>",
    "<div title=x\"><rai-widget{T}>\"",
    "<div title=x'><rai-widget{T}>'",
    "<div a=\"1\"b=\"<rai-widget>\"><rai-widget{T}>",
    "<div a=\"x\"b\"><rai-widget{T}>",
    "<div a\"b><rai-widget{T}>\"",
    "<div a'b><rai-widget{T}>'",
    "<div a\"b=\">\" ><rai-widget{T}>",
    "<div a\"b=\"<rai-widget>\" ><rai-widget{T}>",
    "<a =\">\" <rai-widget{T}>",
    "<a ='>' <rai-widget{T}>",
    "<a b==\">\" <rai-widget{T}>",
    "<a b= \">\" <rai-widget>",
    "<a b =\"x>\" <rai-widget>",
    "<a b\n=\n\"x>\" <rai-widget>",
    "<a b c=\"x>\" <rai-widget>",
    "<a/=\">\" <rai-widget{T}>",
    "<a b=\"x\"=\">\" <rai-widget{T}>",
    "<a b/c=\">\" <rai-widget>",
    "<a b/ c=\">\" <rai-widget>",
    "<a b=\"x\"/c=\">\" <rai-widget>",
    "<a b=>\" <rai-widget{T}>",
    "<a b=`<rai-widget>`>",
    "<a href=\"/x?a=1&amp;b=<rai-widget>\">",
    "<a b=\"&quot;><rai-widget>\"><rai-widget{T}>",
    "<a b='&#39;><rai-widget>'><rai-widget{T}>",
    "<a b=\"{0}><rai-widget>\"><rai-widget{T}>",
    "<img alt=\"<rai-widget>\"/><rai-widget{T}/>",
    "<a b=\"",
    "<a b='",
    "<div title=\"</div><rai-widget>\"><rai-widget{T}></div>",
    /* attributes of end tags are tokenized too */
    "</div a=\">\" <rai-widget>",
    "</div a=\">\"><rai-widget{T}>",
    "</div a=<rai-widget>>",

    /* --- raw text --- */
    "<script><rai-widget></script><rai-widget{T}>",
    "<script>document.write(\"<rai-widget>\")</script>",
    "<script>var s = \"</script>\"; <rai-widget{T}></script>",
    "<script>var s = '<rai-widget>';</SCRIPT ><rai-widget{T}>",
    "<SCRIPT><rai-widget></ScRiPt\n><rai-widget{T}>",
    "<script type=\"module\" a='>'><rai-widget></script foo=\"bar\"><rai-widget{T}>",
    "<script a=\"</script>\"><rai-widget></script><rai-widget{T}>",
    "<script></scriptx><rai-widget></script><rai-widget{T}>",
    "<script></script1><rai-widget></script><rai-widget{T}>",
    "<script></scr ipt><rai-widget></script><rai-widget{T}>",
    "<script></script/><rai-widget{T}>",
    "<script></script\t><rai-widget{T}>",
    "<script></script a=\">\"><rai-widget{T}></script>",
    "<script></script a=\" ><rai-widget> \"><rai-widget{T}>",
    "<script></script a=<rai-widget>><rai-widget{T}>",
    "<script><</script><rai-widget{T}>",
    "<script></</script><rai-widget{T}>",
    "<script></scrip</script><rai-widget{T}>",
    "<script></script</script><rai-widget{T}>",
    "<script></script",
    "<script></scr",
    "<script><rai-widget>",
    "<script/><rai-widget></script><rai-widget{T}>",
    "<script src=x.js /><rai-widget></script><rai-widget{T}>",
    "<scriptx><rai-widget{T}>",
    "<scripts><rai-widget{T}></scripts>",
    "<div script><rai-widget{T}>",
    "<div a=\"<script>\"><rai-widget{T}>",
    "</script><rai-widget{T}>",
    "<!-- <script> --><rai-widget{T}>",
    "<rai-widget{T}><script><rai-widget></script>",
    "<script></script><script><rai-widget></script><rai-widget{T}>",
    "<script></style><rai-widget></script><rai-widget{T}>",
    /* script data escaped states: "<!--" inside a script */
    "<script><!--</script><rai-widget{T}>",
    "<script><!-- <rai-widget> --></script><rai-widget{T}>",
    "<script><!--<script>--><rai-widget></script><rai-widget{T}>",
    "<script><!--<script>x</script>y</script><rai-widget{T}>",
    "<script><!-- <scriptx> </script><rai-widget{T}>",
    "<script><!-- <script/ --></script><rai-widget{T}>",
    "<script><!--><rai-widget></script><rai-widget{T}>",
    "<script><!-></script><rai-widget{T}>",
    "<script><!---></script><rai-widget{T}>",
    "<script><!-- --><!--<script></script><rai-widget></script><rai-widget{T}>",
    "<script><!--<script>--></script><rai-widget{T}>",
    "<script><!--<script></script>--></script><rai-widget{T}>",
    "<script><!--<script>-></script><rai-widget></script><rai-widget{T}>",
    "<script><!--<script>--!></script><rai-widget></script><rai-widget{T}>",
    "<script><!--<scripts></script><rai-widget{T}>",
    "<script><!--<script></scripts><rai-widget></script></script><rai-widget{T}>",
    "<script><!--<script\t>x</script\n><rai-widget></script><rai-widget{T}>",
    "<script><!--<s</script><rai-widget{T}>",
    "<script><!--<1script></script><rai-widget{T}>",
    "<script><!--</scriptx></script><rai-widget{T}>",
    "<script><!--</scrip--></script><rai-widget{T}>",
    "<script><! --<script></script><rai-widget{T}>",
    "<style><!--<script></style><rai-widget{T}>",
    "<textarea><!--<script></textarea><rai-widget{T}>",

    /* --- foreign content: SVG and MathML --- */
    "<svg><title><!--</title><rai-widget>-->",
    "<svg><title><!--</title><rai-widget>--><rai-widget{T}>",
    "<svg><style></svg><rai-widget{T}>",
    "<svg><style><rai-widget></style></svg><rai-widget{T}>",
    "<svg><rai-widget><rai-store-widget/></rai-widget></svg><rai-widget{T}>",
    "<svg><g><rai-widget></g></svg><rai-widget{T}>",
    "<svg><g></svg><rai-widget{T}>",
    "<svg><svg></svg><rai-widget></svg><rai-widget{T}>",
    "<svg></div><rai-widget></svg><rai-widget{T}>",
    "<svg><script><rai-widget></script></svg><rai-widget{T}>",
    "<svg><script><!--</script></svg><rai-widget>--></svg><rai-widget{T}>",
    "<svg><textarea><!--</textarea></svg><rai-widget>--></svg><rai-widget{T}>",
    "<svg><title></svg><rai-widget{T}>",
    "<svg><title><rai-widget{T}></title><rai-widget></svg>",
    "<svg><desc><rai-widget{T}></desc><rai-widget></svg><rai-widget{T}>",
    "<svg><foreignObject><rai-widget{T}></foreignObject><rai-widget></svg><rai-widget{T}>",
    "<svg><foreignObject><style><rai-widget></style><rai-widget{T}></foreignObject></svg>",
    "<svg><foreignObject><textarea></foreignObject></svg><rai-widget></textarea><rai-widget{T}>",
    "<SVG><ForeignObject><STYLE><rai-widget></STYLE></ForeignObject></SVG><rai-widget{T}>",
    "<svg><foreignObject><svg><rai-widget></svg><rai-widget{T}></foreignObject></svg>",
    "<svg><foreignObject><style></style></foreignObject><style><!--</style></svg><rai-widget>-->",
    "<svg><title><style></svg><rai-widget></style><rai-widget{T}>",
    "<svg><mi><rai-widget></mi></svg><rai-widget{T}>",
    "<svg><annotation-xml encoding=text/html><rai-widget></svg><rai-widget{T}>",
    "<div><svg><rai-widget></svg></div><rai-widget{T}>",
    "<template><svg><rai-widget></svg><rai-widget{T}></template>",
    "<script><svg></script><rai-widget{T}>",
    "<div title=\"<svg>\"><style><rai-widget></style><rai-widget{T}>",
    "<!-- <svg> --><style><rai-widget></style><rai-widget{T}>",
    "<svgx><style><rai-widget></style><rai-widget{T}>",
    "<svg",
    "<svg>",
    "<svg><rai-widget",
    /* self-closing svg and math open nothing */
    "<svg/><style><rai-widget></style><rai-widget{T}>",
    "<svg /><rai-widget{T}>",
    "<svg a=\"1\"/><rai-widget{T}>",
    "<svg a/><rai-widget{T}>",
    "<svg a=1/><rai-widget></svg><rai-widget{T}>",
    "<svg a=/><rai-widget></svg><rai-widget{T}>",
    "<svg / ><rai-widget></svg><rai-widget{T}>",
    "<svg/ ><rai-widget></svg><rai-widget{T}>",
    "<svg a=\"/\"><rai-widget></svg><rai-widget{T}>",
    "<math/><rai-widget{T}>",
    "<svg><g/><rai-widget></svg><rai-widget{T}>",
    "<svg><foreignObject/><rai-widget></svg><rai-widget{T}>",
    /* MathML */
    "<math><rai-widget></math><rai-widget{T}>",
    "<math><title><!--</title></math><rai-widget>--></math><rai-widget{T}>",
    "<math><mi><rai-widget{T}></mi><rai-widget></math><rai-widget{T}>",
    "<math><mo><style><rai-widget></style></mo></math>",
    "<math><mn><rai-widget{T}><ms><rai-widget{T}><mtext><rai-widget{T}>",
    "<math><mtext><textarea></math><rai-widget></textarea><rai-widget{T}>",
    "<math><mi><mglyph><rai-widget></mglyph><rai-widget{T}></mi></math>",
    "<math><mi><malignmark><rai-widget></malignmark><rai-widget{T}></mi></math>",
    "<math><annotation-xml encoding=\"text/html\"><rai-widget{T}></annotation-xml></math>",
    "<math><annotation-xml encoding=\"TEXT/HTML\"><style><rai-widget></style><rai-widget{T}>",
    "<math><annotation-xml ENCODING='application/xhtml+xml'><rai-widget{T}>",
    "<math><annotation-xml encoding=text/html x><rai-widget{T}>",
    "<math><annotation-xml encoding=text/html/><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml><rai-widget></annotation-xml></math><rai-widget{T}>",
    "<math><annotation-xml encoding=\"text/htmlx\"><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml encoding=a encoding=text/html><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml encoding encoding=text/html><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml x=text/html><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml encoding = \"text/html\" ><rai-widget{T}>",
    "<math><annotation-xml encoding=\"image/svg+xml\"><svg><style></svg><rai-widget></math><rai-widget{T}>",
    "<math><annotation-xml><svg><foreignObject><rai-widget{T}>",
    "<math><svg><foreignObject><rai-widget></foreignObject></svg></math><rai-widget{T}>",
    "<math><desc><rai-widget></desc></math><rai-widget{T}>",
    /* CDATA sections: only in foreign content */
    "<svg><![CDATA[<rai-widget>]]></svg><rai-widget{T}>",
    "<svg><![CDATA[ > <rai-widget> ]]></svg><rai-widget{T}>",
    "<svg><![CDATA[ ]>]] > ]]]></svg><rai-widget{T}>",
    "<svg><![CDATA[ </svg> ]]></svg><rai-widget{T}>",
    "<svg><![CDATA[ <!-- ]]></svg><rai-widget{T}>-->",
    "<svg><![cdata[ > </svg><rai-widget{T}>",
    "<svg><![CDATA x> </svg><rai-widget{T}>",
    "<svg><![CDAT> </svg><rai-widget{T}>",
    "<svg><![CDATA[",
    "<svg><![CDATA[ ]]",
    "<svg><foreignObject><![CDATA[<rai-widget>]]><rai-widget{T}>",
    "<math><mi><![CDATA[ > <rai-widget> ]]><rai-widget{T}>",
    "<svg></svg><![CDATA[ > <rai-widget{T}> ]]>",
    /* breakout: some HTML start tags end foreign content */
    "<svg><div><rai-widget{T}>",
    "<svg><g><p><style><rai-widget></style><rai-widget{T}>",
    "<svg><g><SPAN><rai-widget{T}>",
    "<svg><b><rai-widget{T}>",
    "<svg><h1><rai-widget{T}>",
    "<svg><table><rai-widget{T}>",
    "<svg><bx><rai-widget></svg><rai-widget{T}>",
    "<svg><font color=red><rai-widget{T}>",
    "<svg><FONT Face=\"x\"><rai-widget{T}>",
    "<svg><font size><rai-widget{T}>",
    "<svg><font a=1 size=2><rai-widget{T}>",
    "<svg><font size/><rai-widget{T}>",
    "<svg><font><rai-widget></font></svg><rai-widget{T}>",
    "<svg><font colour=red><rai-widget></svg><rai-widget{T}>",
    "<svg><font x=\"color\"><rai-widget></svg><rai-widget{T}>",
    "<svg><font size><textarea></svg><rai-widget></textarea><rai-widget{T}>",
    "<svg><foreignObject><svg><g><div><style></svg><rai-widget></style><rai-widget{T}>",
    "<math><mi><svg><div><rai-widget{T}>",
    "<svg><g></p><rai-widget{T}>",
    "<svg><g></br><rai-widget{T}>",
    "<svg><g></P ><rai-widget{T}>",
    "<svg><g></px><rai-widget></svg><rai-widget{T}>",
    "<style><rai-widget></style><rai-widget{T}>",
    "<STYLE media=\"x>y\"><rai-widget></STYLE><rai-widget{T}>",
    "<style></script><rai-widget></style><rai-widget{T}>",
    "<style><!--</style><rai-widget{T}>-->",
    "<style>/* </style */ <rai-widget></style><rai-widget{T}>",
    "<textarea><rai-widget></textarea><rai-widget{T}>",
    "<textarea><!--</textarea>--><rai-widget{T}>",
    "<textarea></title><rai-widget></textarea><rai-widget{T}>",
    "<title><rai-widget></title><rai-widget{T}>",
    "<title a=\"</title>\"><rai-widget></title><rai-widget{T}>",
    "<title></title</title><rai-widget{T}>",
    "<TITLE><rai-widget></Title><rai-widget{T}>",
    "<xmp><rai-widget></xmp><rai-widget{T}>",
    "<iframe><rai-widget></iframe><rai-widget{T}>",
    "<noembed><rai-widget></noembed><rai-widget{T}>",
    "<noframes><rai-widget></noframes><rai-widget{T}>",
    "<noscript><rai-widget></noscript><rai-widget{T}>",
    "<plaintext><rai-widget></plaintext><rai-widget>",
    "<PlainText a=1><!-- --><rai-widget></PLAINTEXT><rai-widget>",
    "<rai-widget{T}><plaintext><rai-widget>",
    "<plaintextx><rai-widget{T}>",

    /* a realistic page */
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>Shop &mdash; <rai-widget></title>\n"
        "<script>window.x = \"<rai-store-widget>\";</script>\n"
        "<style>rai-widget{display:block}</style>\n</head>\n<body>\n"
        "<!-- widgets below: <rai-widget> -->\n"
        "<rai-store-widget{T} community-id=\"c1\" data-theme='dark'></rai-store-widget>\n"
        "<p title=\"<rai-widget>\">Hello <b>world</b></p>\n"
        "<RAI-Milestone-Widget{T}\n  community-id=c1></RAI-Milestone-Widget>\n"
        "<textarea><rai-widget></textarea>\n"
        "<template><rai-widget{T}/></template>\n</body>\n</html>\n",
};

#define NPAGES ((int)(sizeof(pages) / sizeof(pages[0])))

START_TEST(test_pages)
{
    page_check_all_splits(pages[_i]);
}
END_TEST

/* Every raw-text element, its end tag in several spellings, and things
 * that look like its end tag but are not. */
static const char *const rawtext_elements[] = {
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed",
    "noframes", "noscript",
};

#define NRAWTEXT ((int)(sizeof(rawtext_elements) / sizeof(rawtext_elements[0])))

static void upcase(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

START_TEST(test_rawtext_elements)
{
    const char *n = rawtext_elements[_i];
    char up[32], page[1024];
    const char *forms[] = {
        "<%s><rai-widget></%s><rai-widget{T}>",
        "<%s a=\">\"><rai-widget></%s ><rai-widget{T}>",
        "<%s><!-- <rai-widget> --></%s\n><rai-widget{T}>",
        "<%s></%sx><rai-widget></%s/><rai-widget{T}>",
        "<%s><rai-store-widget/></%s a=\"x>\"><rai-store-widget{T}/>",
        "<%s><</%s><rai-widget{T}>",
        "<%s></%s</%s><rai-widget{T}>",
        "<%s><rai-widget>",
    };

    snprintf(up, sizeof(up), "%s", n);
    upcase(up);
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        snprintf(page, sizeof(page), forms[f], n, n, n);
        page_check_all_splits(page);
        snprintf(page, sizeof(page), forms[f], up, n, n);
        page_check_all_splits(page);
        snprintf(page, sizeof(page), forms[f], n, up, up);
        page_check_all_splits(page);
    }
    /* another raw-text element's end tag does not end this one */
    for (int j = 0; j < NRAWTEXT; j++) {
        if (j == _i)
            continue;
        snprintf(page, sizeof(page),
                 "<%s></%s><rai-widget></%s><rai-widget{T}>",
                 n, rawtext_elements[j], n);
        page_check_all_splits(page);
    }
    /* a longer or shorter name is not a raw-text element */
    snprintf(page, sizeof(page), "<%sx><rai-widget{T}>", n);
    page_check_all_splits(page);
    snprintf(page, sizeof(page), "<%.*s><rai-widget{T}>", (int)strlen(n) - 1, n);
    page_check_all_splits(page);
}
END_TEST

/* The WHATWG "script data double escaped" state: after "<!--<script>"
 * inside a script, "</script>" does not end the script element. */
static const char *const double_escape_pages[] = {
    "<script><!--<script></script><rai-widget></script><rai-widget{T}>",
    "<script><!-- <script> </script> <rai-widget> --> <rai-widget> </script> <rai-widget{T}>",
    "<script><!--<SCRIPT></SCRIPT><rai-widget></script><rai-widget{T}>",
    "<script><!--<script/></script>--<rai-widget></script><rai-widget{T}>",
};

START_TEST(test_script_double_escape)
{
    page_check_all_splits(double_escape_pages[_i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Element names and patterns.                                          */

static int matches(const rai_scan_elements_t *elements, const char *name)
{
    return rai_scan_name_matches(elements, name, strlen(name));
}

START_TEST(test_name_matches_default)
{
    const rai_scan_elements_t *d = &default_elements;
    const char *yes[] = {
        "rai-widget", "rai-store-widget", "rai-channel-widget",
        "rai-milestone-widget", "rai-social-widget", "rai-currency-widget",
        "rai-referral-widget", "rai-custom-widget", "rai-x-widget",
        "rai-a-b-widget", "rai---widget", "rai-widget-widget",
        "rai-x-widget-widget", "rai-1-widget", "rai-a.b_c-widget",
    };
    const char *no[] = {
        "", "rai", "rai-", "rai-widge", "rai-widgetry", "rai-widgets",
        "rai-widget-x", "rai--widget", "rai-widget-", "xrai-widget",
        "rai-store-widgetx", "rai-store-widge", "rai-storewidget",
        "raiwidget", "rai_widget", "-widget", "widget", "rai-x-",
        "div", "script",
    };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(matches(d, yes[i]), "\"%s\" should match", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!matches(d, no[i]), "\"%s\" should not match", no[i]);

    /* '*' matches name characters only (rai_scan.h) */
    ck_assert(!matches(d, "rai-<-widget"));
    ck_assert(!matches(d, "rai-widget<rai-widget"));
    ck_assert(!matches(d, "rai-\"-widget"));
    ck_assert(!matches(d, "rai-=-widget"));
    ck_assert(!matches(d, "rai- -widget"));
    ck_assert(!rai_scan_name_matches(d, "rai-\0-widget", 12));

    /* len counts, not a NUL */
    ck_assert(rai_scan_name_matches(d, "rai-widgetry", 10));
    ck_assert(!rai_scan_name_matches(d, "rai-widget", 9));
    ck_assert(rai_scan_name_matches(d, "rai-x-widget-and-more", 12));
}
END_TEST

/* An empty name is no widget and is not read at all. */
START_TEST(test_name_matches_empty)
{
    /* one past the end of a buffer: ASan reports any read of it */
    char *name = malloc(1);

    require_alloc(name);
    name[0] = 'r';
    {
        /* volatile: gcc would warn that name + 1 is "uninitialized" */
        const char *volatile past_end = name + 1;
        ck_assert(!rai_scan_name_matches(&default_elements, past_end, 0));
    }
    free(name);
}
END_TEST

START_TEST(test_name_matches_other_patterns)
{
    static const char *const exact[] = { "foo-bar" };
    static const char *const trailing[] = { "rai-*" };
    static const char *const two_stars[] = { "a-*-b-*-c" };
    static const rai_scan_elements_t e_exact = { exact, 1 };
    static const rai_scan_elements_t e_trailing = { trailing, 1 };
    static const rai_scan_elements_t e_two = { two_stars, 1 };
    static const rai_scan_elements_t e_none = { exact, 0 };

    ck_assert(matches(&e_exact, "foo-bar"));
    ck_assert(!matches(&e_exact, "foo-barx"));
    ck_assert(!matches(&e_exact, "foo-ba"));
    ck_assert(!matches(&e_exact, "rai-widget"));

    ck_assert(matches(&e_trailing, "rai-x"));
    ck_assert(matches(&e_trailing, "rai-widget"));
    ck_assert(!matches(&e_trailing, "rai-"));
    ck_assert(!matches(&e_trailing, "rai"));

    ck_assert(matches(&e_two, "a-1-b-2-c"));
    ck_assert(matches(&e_two, "a-x-b-y-b-z-c"));
    ck_assert(matches(&e_two, "a-x-b-x-b-x-c"));
    ck_assert(!matches(&e_two, "a-1-b-c"));
    ck_assert(!matches(&e_two, "a-b-b-c"));
    ck_assert(!matches(&e_two, "a--b--c"));

    ck_assert(!matches(&e_none, "foo-bar"));
}
END_TEST

START_TEST(test_pattern_check)
{
    const char *good[] = {
        "rai-widget", "rai-*-widget", "rai-*", "a*", "x-*-y-*-z",
        "my.el_1-*", "foo-bar",
    };
    const char *bad[] = {
        "", "*", "*x", "*-widget", "a**b", "rai-**-widget", "rai widget",
        "rai<widget", "rai>widget", "rai/widget", "rai\"widget", "rai'widget",
        "rai=widget", "rai\twidget", "rai\nwidget", " rai-widget",
        "rai-widget ", "<rai-widget>",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(rai_scan_pattern_check(good[i]) == NULL,
                      "pattern \"%s\" rejected: %s", good[i],
                      rai_scan_pattern_check(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = rai_scan_pattern_check(bad[i]);
        ck_assert_msg(why != NULL, "pattern \"%s\" accepted", show(bad[i], strlen(bad[i])));
        ck_assert(*why != '\0');
    }
}
END_TEST

/* Tag names come from the page, patterns from the configuration: a pattern
 * that rai_scan_pattern_check accepts must not let a 64-byte name make the
 * match take exponential time (the tcase has a 10 s timeout). */
START_TEST(test_pattern_no_blowup)
{
    static const char *const many_stars[] = {
        "a*a*a*a*a*a*a*a*a*a*a*b", "a-*-*-*-*-*-*-*-*-*-*-*-b",
    };
    char name[RAI_SCAN_NAME_MAX];

    for (size_t i = 0; i < sizeof(many_stars) / sizeof(many_stars[0]); i++) {
        const rai_scan_elements_t elements = { &many_stars[i], 1 };

        if (rai_scan_pattern_check(many_stars[i]) != NULL)
            continue;           /* rejected: fine */
        memset(name, i ? '-' : 'a', sizeof(name));
        name[0] = 'a';
        ck_assert(!rai_scan_name_matches(&elements, name, sizeof(name)));
    }
}
END_TEST

/* The scanner with other patterns than the default. */
START_TEST(test_custom_patterns)
{
    static const char *const patterns[] = { "my-*" };
    static const rai_scan_elements_t elements = { patterns, 1 };
    const char *input = "<my-x a><rai-widget><my-></my-y><MY-Y/>";
    const char *expected = "<my-x" TOKEN_ATTR " a><rai-widget><my-></my-y><MY-Y" TOKEN_ATTR "/>";
    size_t len = strlen(input);

    for (size_t i = 0; i <= len; i++) {
        text_t out = { 0 };
        size_t cut = i;
        text_append(&out, "", 0);
        rewrite_cut(&elements, input, len, &cut, 1, &out, NULL);
        ck_assert_str_eq(out.bytes, expected);
        text_free(&out);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Long names.                                                          */

/* The rule: an element name longer than RAI_SCAN_NAME_MAX bytes is never
 * a widget, whatever it starts and ends with; up to RAI_SCAN_NAME_MAX it
 * is one if it matches. */
static char *long_name(size_t len)
{
    char *name = malloc(len + 1);
    ck_assert_ptr_nonnull(name);
    ck_assert(len >= 11);
    memcpy(name, "rai-", 4);
    memset(name + 4, 'x', len - 11);
    memcpy(name + len - 7, "-widget", 8);
    return name;
}

START_TEST(test_long_names)
{
    const size_t lens[] = {
        RAI_SCAN_NAME_MAX + 1, RAI_SCAN_NAME_MAX + 2, 127, 128, 129, 255, 256,
        257, 256 + 12, 300, 511, 512, 513, 4096, 100000,
    };
    char *name;
    text_t page = { 0 };

    ck_assert_int_ge(RAI_SCAN_NAME_MAX, 20);

    /* exactly RAI_SCAN_NAME_MAX: a widget */
    name = long_name(RAI_SCAN_NAME_MAX);
    ck_assert(matches(&default_elements, name));
    text_puts(&page, "<");
    text_puts(&page, name);
    text_puts(&page, "{T} a=1>");
    page_check_all_splits(page.bytes);
    text_free(&page);
    free(name);

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        name = long_name(lens[i]);
        text_puts(&page, "<");
        text_puts(&page, name);
        text_puts(&page, ">text</");
        text_puts(&page, name);
        text_puts(&page, "><");
        text_puts(&page, name);
        text_puts(&page, "/><rai-widget{T}>");
        if (lens[i] < 300) {
            page_check_all_splits(page.bytes);
        }
        else {
            page_t p;
            size_t cuts[3] = { 1, lens[i] / 2, lens[i] + 1 };
            page_decode(page.bytes, &p);
            page_check_cuts(page.bytes, &p, NULL, 0);
            page_check_cuts(page.bytes, &p, cuts, 3);
            page_free(&p);
        }
        text_free(&page);
        free(name);
    }

    /* a long end-tag name in a raw-text element */
    text_puts(&page, "<script></script");
    for (int i = 0; i < 300; i++)
        text_puts(&page, "script");
    text_puts(&page, "><rai-widget></script><rai-widget{T}>");
    {
        page_t p;
        size_t cuts[2] = { 20, 1000 };
        page_decode(page.bytes, &p);
        page_check_cuts(page.bytes, &p, NULL, 0);
        page_check_cuts(page.bytes, &p, cuts, 2);
        page_free(&p);
    }
    text_free(&page);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Big pages: constant memory, any chunking.                            */

/* Checks a page (given as input and expected output) with a chunk-size
 * function. */
static void big_check(const page_t *page, size_t (*chunk_size)(size_t),
                      const char *what)
{
    size_t ncuts = 0, cap = 1024, at = 0;
    size_t *cuts = malloc(cap * sizeof(*cuts));
    text_t out = { 0 };
    offsets_t found = { 0 };

    require_alloc(cuts);
    for (size_t i = 0;; i++) {
        at += chunk_size(i);
        if (at >= page->input.len)
            break;
        if (ncuts == cap) {
            cap *= 2;
            cuts = realloc(cuts, cap * sizeof(*cuts));
            require_alloc(cuts);
        }
        cuts[ncuts++] = at;
    }
    text_append(&out, "", 0);
    rewrite_cut(&default_elements, page->input.bytes, page->input.len,
                cuts, ncuts, &out, &found);
    require(found.count == page->at.count,
                  "%s: %zu insertions, expected %zu", what, found.count,
                  page->at.count);
    for (size_t i = 0; i < found.count; i++)
        require(found.at[i] == page->at.at[i],
                      "%s: insertion %zu at %zu, expected %zu", what, i,
                      found.at[i], page->at.at[i]);
    require(out.len == page->expected.len
                  && memcmp(out.bytes, page->expected.bytes, out.len) == 0,
                  "%s: output differs", what);
    text_free(&out);
    offsets_free(&found);
    free(cuts);
}

static size_t chunk_8000(size_t i) { (void)i; return 8000; }
static size_t chunk_4093(size_t i) { (void)i; return 4093; }
static size_t chunk_random(size_t i) { (void)i; return 1 + rng_next() % 20000; }
static size_t chunk_small(size_t i) { (void)i; return 1 + rng_next() % 17; }

START_TEST(test_big_page)
{
    /* Filler and decoys; each piece is written with {T} markers. */
    static const char *const filler[] = {
        ("<p class=\"text\">Lorem ipsum dolor sit amet, consectetur adipiscing "
         "elit, sed do eiusmod tempor <a href=\"/x?a=1&amp;b=2\">incididunt"
         "</a> ut labore et dolore magna aliqua.</p>\n"),
        ("<div id=\"d\" data-x='1 > 0'><span>Ut enim ad minim veniam</span>"
         "<img src=\"a.png\" alt=\"\"/></div>\n"),
        "<ul><li>one</li><li>two &lt;rai-widget&gt;</li></ul>\n",
    };
    static const char *const decoys[] = {
        "<!-- <rai-widget> -->\n",
        "<script>var w = \"<rai-store-widget>\";</script>\n",
        "<div title=\"<rai-widget>\"></div>\n",
        "<textarea><rai-widget></textarea>\n",
        "<style>rai-widget { color: red }</style>\n",
        "</rai-widget>\n",
        "<rai-widgetry></rai-widgetry>\n",
    };
    static const char *const widgets[] = {
        "<rai-widget{T}></rai-widget>\n",
        "<rai-store-widget{T} community-id=\"c1\"></rai-store-widget>\n",
        "<RAI-Milestone-Widget{T}\n data-a=1/>\n",
    };
    const size_t target = 3 * 1024 * 1024;
    text_t marked = { 0 };
    size_t widget_count = 0;
    page_t page;

    rng_state = 12345;
    while (marked.len - 3 * widget_count < target) {
        size_t gap = 2000 + rng_next() % 4000;   /* a widget every few KB */
        size_t start = marked.len;
        while (marked.len - start < gap) {
            text_puts(&marked, filler[rng_next() % 3]);
            if (rng_next() % 4 == 0)
                text_puts(&marked, decoys[rng_next() % 7]);
        }
        text_puts(&marked, widgets[widget_count % 3]);
        widget_count++;
    }
    page_decode(marked.bytes, &page);
    ck_assert_uint_eq(page.at.count, widget_count);
    ck_assert_uint_ge(page.input.len, target);
    ck_assert_uint_ge(widget_count, 500);

    rng_state = 777;
    for (int k = 0; k < NIMPLS; k++) {
        if (!use_impl(impls[k]))
            continue;
        big_check(&page, chunk_8000, "8000-byte chunks");
        big_check(&page, chunk_4093, "4093-byte chunks");
        big_check(&page, chunk_random, "random chunks");
        big_check(&page, chunk_small, "1..17-byte chunks");
    }
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);

    page_free(&page);
    text_free(&marked);
}
END_TEST

/* A widget inside a huge comment, attribute value and script. */
START_TEST(test_big_constructs)
{
    static const char *const opens[] = {
        "<div title=\"", "<div title='", "<!--", "<script>", "<textarea>",
        "<div ",
    };
    static const char *const closes[] = {
        "\">", "'>", "-->", "</script>", "</textarea>", ">",
    };
    static const char *const insides[] = {
        "<rai-widget> ", "<rai-widget> ", "<rai-widget> ", "<rai-widget> ",
        "<rai-widget> ", "a=\"<rai-widget>\" ",
    };

    for (size_t k = 0; k < sizeof(opens) / sizeof(opens[0]); k++) {
        text_t marked = { 0 };
        page_t page;

        text_puts(&marked, opens[k]);
        while (marked.len < 1024 * 1024)
            text_puts(&marked, insides[k]);
        text_puts(&marked, closes[k]);
        text_puts(&marked, "<rai-widget{T}>");
        page_decode(marked.bytes, &page);
        ck_assert_uint_eq(page.at.count, 1);
        rng_state = 99 + k;
        for (int m = 0; m < NIMPLS; m++) {
            if (!use_impl(impls[m]))
                continue;
            big_check(&page, chunk_8000, opens[k]);
            big_check(&page, chunk_random, opens[k]);
        }
        rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
        page_free(&page);
        text_free(&marked);
    }
}
END_TEST

static void model_found(void *ctx, size_t at, int script)
{
    (void)script;
    offsets_add(ctx, at);
}

static void model_scan(const rai_scan_elements_t *elements,
                       const char *page, size_t len, offsets_t *found)
{
    rai_model_scan(elements, 0, page, len, model_found, found);
}

/* The model itself must agree with the hand-written pages. */
START_TEST(test_model_agrees_with_pages)
{
    page_t page;
    offsets_t found = { 0 };

    page_decode(pages[_i], &page);
    model_scan(&default_elements, page.input.bytes, page.input.len, &found);
    ck_assert_msg(found.count == page.at.count,
                  "model: page \"%s\": %zu insertions, expected %zu",
                  show(pages[_i], strlen(pages[_i])), found.count, page.at.count);
    for (size_t i = 0; i < found.count; i++)
        ck_assert_uint_eq(found.at[i], page.at.at[i]);
    offsets_free(&found);
    page_free(&page);
}
END_TEST

static const char *const fragments[] = {
    "<", "<", "<", ">", ">", "</", "<!", "<!--", "-->", "--!>", "-", "--",
    "!", "\"", "'", "=", " ", "\n", "\t", "\r", "/", "/", "a", "b", "?",
    "rai-widget", "rai-widget", "rai-x-widget", "RAI-WIDGET", "rai-widgetry",
    "rai--widget", "script", "SCRIPT", "style", "title", "textarea", "xmp",
    "<rai-widget", "<rai-widget", "<rai-store-widget ", "<script", "<script>",
    "</script", "</script>", "<!--<script>", "<title>", "</title>",
    "<style>", "</style>", "[CDATA[", "]]>", "<!DOCTYPE", "&amp;", "x",
    "<svg>", "<svg>", "</svg>", "<svg/>", "<math>", "</math>", "<g>", "</g>",
    "<foreignObject>", "</foreignObject>", "<desc>", "<mi>", "</mi>",
    "<mglyph>", "<annotation-xml encoding=text/html>", "<annotation-xml ",
    "</annotation-xml>", "encoding=", "\"text/html\"", "<![CDATA[", "]",
    "<div>", "<p>", "</p>", "<font ", "color", "size=1", "<textarea>",
    "</textarea>", "<script><!--", "<!--<script>", "<!--", "-->", "-",
    "\v", "\f", "{0}", "\xc3\xa9", "<div ", "<a b=", "\"<rai-widget>\"",
};

#define NFRAGMENTS (sizeof(fragments) / sizeof(fragments[0]))

/* Generated pages: the scanner (whole, and at two random cuts) must find
 * exactly what the model finds. */
static void report_difference(const char *what, const text_t *doc,
                              const offsets_t *got, const offsets_t *want)
{
    size_t k = 0, at;

    while (k < got->count && k < want->count && got->at[k] == want->at[k])
        k++;
    at = k < got->count ? got->at[k] : want->at[k];
    fprintf(stderr, "%s: \"%s\"\n  scanner %s an insertion at %zu, after \"%s\"\n",
            what, show(doc->bytes, doc->len),
            k < got->count && (k >= want->count || got->at[k] < want->at[k])
                ? "made" : "missed",
            at, show(doc->bytes + (at > 40 ? at - 40 : 0), at > 40 ? 40 : at));
}

/* ------------------------------------------------------------------ */
/* Script start tags (rai_scan_report_scripts), in_text, the bound.     */

typedef struct {
    offsets_t at;
    offsets_t script;           /* 1 where the report is a script */
} reports_t;

static void reports_free(reports_t *r)
{
    offsets_free(&r->at);
    offsets_free(&r->script);
}

static int same_reports(const reports_t *a, const reports_t *b)
{
    return same_offsets(&a->at, &b->at) && same_offsets(&a->script, &b->script);
}

static void model_found_kind(void *ctx, size_t at, int script)
{
    reports_t *r = ctx;
    offsets_add(&r->at, at);
    offsets_add(&r->script, (size_t)script);
}

/* Scans input cut at the given offsets with script reporting on or off;
 * returns rai_scan_in_text at the end. */
static int scan_reports(const char *input, size_t len, const size_t *cuts,
                        size_t ncuts, int scripts, reports_t *out)
{
    rai_scan_t scan;
    size_t start = 0;

    rai_scan_init(&scan, &default_elements);
    rai_scan_report_scripts(&scan, scripts);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len, size = end - start, pos = 0;
        char *chunk = malloc(size ? size : 1);

        require_alloc(chunk);
        memcpy(chunk, input + start, size);
        for (;;) {
            size_t off = rai_scan_next(&scan, chunk + pos, size - pos);
            if (off == size - pos)
                break;
            offsets_add(&out->at, start + pos + off);
            offsets_add(&out->script, (size_t)rai_scan_reported_script(&scan));
            pos += off;
        }
        free(chunk);
        start = end;
    }
    return rai_scan_in_text(&scan);
}

START_TEST(test_model_random)
{
    const int rounds = 30000;
    text_t doc = { 0 };
    int failures = 0;

    rng_state = 0xdecafbadULL + (uint64_t)_i;
    for (int r = 0; r < rounds; r++) {
        size_t nfrag = 1 + rng_next() % 40;
        offsets_t want = { 0 }, got = { 0 };
        text_t out = { 0 };
        size_t cuts[2];

        doc.len = 0;
        text_append(&doc, "", 0);
        for (size_t f = 0; f < nfrag; f++) {
            const char *frag = fragments[rng_next() % NFRAGMENTS];
            if (strcmp(frag, "{0}") == 0)
                text_append(&doc, "", 1);
            else
                text_puts(&doc, frag);
        }
        if (rng_next() % 500 == 0)
            text_puts(&doc, "<plaintext><rai-widget>");

        {
            reports_t rep = { 0 };
            int model_in_text = rai_model_scan(&default_elements, 0, doc.bytes,
                                               doc.len, model_found_kind, &rep);
            size_t mid = rng_next() % (doc.len + 1);
            use_impl(impls[r % NIMPLS]);   /* each implementation in turn */
            if (scan_reports(doc.bytes, doc.len, &mid, 1, 0, &rep) != model_in_text
                && failures++ < 5)
                fprintf(stderr, "in_text differs: \"%s\"\n", show(doc.bytes, doc.len));
            reports_free(&rep);
        }
        model_scan(&default_elements, doc.bytes, doc.len, &want);
        text_append(&out, "", 0);
        rewrite_cut(&default_elements, doc.bytes, doc.len, NULL, 0, &out, &got);
        if (!same_offsets(&got, &want) && failures++ < 5)
            report_difference("model differs, whole page", &doc, &got, &want);

        cuts[0] = rng_next() % (doc.len + 1);
        cuts[1] = rng_next() % (doc.len + 1);
        qsort(cuts, 2, sizeof(cuts[0]), cmp_size);
        got.count = 0;
        out.len = 0;
        rewrite_cut(&default_elements, doc.bytes, doc.len, cuts, 2, &out, &got);
        if (!same_offsets(&got, &want) && failures++ < 5)
            report_difference("model differs, page in three chunks", &doc,
                              &got, &want);

        offsets_free(&want);
        offsets_free(&got);
        text_free(&out);
    }
    text_free(&doc);
    ck_assert_msg(failures == 0, "%d of %d generated pages differ from the "
                  "WHATWG model (the first ones are printed above)",
                  failures, 2 * rounds);
}
END_TEST


/* "{S}" marks a script report, "{T}" a widget one. */
static const char *const script_pages[] = {
    "<script{S}>x</script><rai-widget{T}>",
    "<script{S} src=\"/js/widget-loader.js\"><rai-widget></script><rai-widget{T}>",
    "<SCRIPT{S}/><rai-widget></script>",
    "<script{S}\n>a</script ><script{S}\tsrc=x></script>",
    "<svg><script>x</script></svg><script{S}>",
    "<svg><foreignObject><script{S}></script></foreignObject></svg>",
    "<math><mi><script{S}></script></mi><annotation-xml><script></script>",
    "<!--<script>--><script{S}>",
    "<script{S}><!--<script></script><script></script>",
    "<script{S}><!--<script>--></script><script{S}>",
    "<scripts><script{S}>",
    "<textarea><script></textarea><script{S}>",
    "<div data-x=\"<script>\"><script{S} async>",
    "</script><script{S} ",
    "<rai-widget{T}><script{S}><rai-widget>",
    "<script",
};

START_TEST(test_script_reports)
{
    const char *marked = script_pages[_i];
    text_t input = { 0 };
    reports_t want = { 0 }, model = { 0 };
    size_t len, widgets = 0;

    text_append(&input, "", 0);
    for (const char *p = marked; *p;) {
        if (strncmp(p, "{T}", 3) == 0 || strncmp(p, "{S}", 3) == 0) {
            offsets_add(&want.at, input.len);
            offsets_add(&want.script, p[1] == 'S');
            widgets += p[1] == 'T';
            p += 3;
        }
        else
            text_append(&input, p++, 1);
    }
    len = input.len;
    rai_model_scan(&default_elements, 1, input.bytes, len, model_found_kind, &model);
    require(same_reports(&model, &want), "model: page \"%s\"", marked);

    for (int k = 0; k < NIMPLS; k++) {
        if (!use_impl(impls[k]))
            continue;
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j += (len > 40 ? 7 : 1)) {
                size_t cuts[2] = { i, j };
                reports_t got = { 0 }, off = { 0 };
                scan_reports(input.bytes, len, cuts, 2, 1, &got);
                require(same_reports(&got, &want), "page \"%s\" cut at %zu,%zu",
                        marked, i, j);
                /* off: only the widgets, at the same offsets */
                scan_reports(input.bytes, len, cuts, 2, 0, &off);
                require(off.at.count == widgets, "page \"%s\": %zu reports with "
                        "scripts off, %zu widgets", marked, off.at.count, widgets);
                for (size_t n = 0, w = 0; n < want.at.count; n++)
                    if (!want.script.at[n])
                        require(off.at.at[w++] == want.at.at[n] && !off.script.at[w - 1],
                                "page \"%s\": widget %zu with scripts off", marked, n);
                reports_free(&got);
                reports_free(&off);
            }
        }
    }
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
    reports_free(&want);
    reports_free(&model);
    text_free(&input);
}
END_TEST

/* With scripts off, the reports are exactly the widgets of the page. */
START_TEST(test_script_reports_off)
{
    for (size_t k = 0; k < sizeof(script_pages) / sizeof(script_pages[0]); k++) {
        text_t input = { 0 };
        size_t widgets = 0;
        reports_t got = { 0 };

        text_append(&input, "", 0);
        for (const char *p = script_pages[k]; *p;) {
            if (strncmp(p, "{T}", 3) == 0 || strncmp(p, "{S}", 3) == 0) {
                widgets += p[1] == 'T';
                p += 3;
            }
            else
                text_append(&input, p++, 1);
        }
        scan_reports(input.bytes, input.len, NULL, 0, 0, &got);
        ck_assert_uint_eq(got.at.count, widgets);
        reports_free(&got);
        text_free(&input);
    }
}
END_TEST

/* rai_scan_in_text at the end of a page: where the filter may append. */
START_TEST(test_in_text)
{
    static const struct { const char *page; int in_text; } cases[] = {
        { "", 1 }, { "<p>x</p>", 1 }, { "<p", 0 }, { "<!-- x", 0 },
        { "<script>", 0 }, { "<script></script>", 1 },
        { "<script><!--<script></script>", 0 }, { "<svg>", 0 },
        { "<svg></svg>", 1 }, { "<svg/>", 1 }, { "<svg><g>", 0 },
        { "<svg><foreignObject>", 1 }, { "<svg><title>", 1 },
        { "<svg><desc><p>", 1 }, { "<svg><foreignObject><g>", 1 },
        { "<math><mi>", 1 }, { "<math><mi></mi>", 0 },
        { "<math><annotation-xml>", 0 },
        { "<math><annotation-xml encoding=text/html>", 1 },
        { "<svg><![CDATA[", 0 }, { "<svg><![CDATA[]]>", 0 },
        { "<svg><div>", 1 }, { "<svg><font color=x>", 1 },
        { "<svg><font>", 0 }, { "<plaintext>", 0 },
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const char *page = cases[k].page;
        size_t len = strlen(page);
        reports_t r = { 0 };

        ck_assert_msg(rai_model_scan(&default_elements, 0, page, len,
                                     model_found_kind, &r) == cases[k].in_text,
                      "model in_text after \"%s\"", page);
        for (size_t i = 0; i <= len; i++)
            ck_assert_msg(scan_reports(page, len, &i, 1, 0, &r) == cases[k].in_text,
                          "in_text after \"%s\" cut at %zu", page, i);
        reports_free(&r);
    }
}
END_TEST

/* RAI_SCAN_FOREIGN_MAX open foreign elements are followed; one more and
 * the scan stops, reporting nothing more. */
START_TEST(test_foreign_depth)
{
    for (int extra = 0; extra <= 1; extra++) {
        text_t marked = { 0 };

        text_puts(&marked, "<rai-widget{T}><svg>");
        for (int d = 1; d < RAI_SCAN_FOREIGN_MAX + extra; d++)
            text_puts(&marked, d % 2 ? "<g>" : "<G id=x>");
        text_puts(&marked, "<rai-widget/><path/><g/></svg>");
        text_puts(&marked, extra ? "<rai-widget>" : "<rai-widget{T}>");
        page_check_all_splits(marked.bytes);
        {
            reports_t r = { 0 };
            page_t page;
            page_decode(marked.bytes, &page);
            ck_assert_int_eq(rai_model_scan(&default_elements, 0, page.input.bytes,
                                            page.input.len, model_found_kind, &r),
                             !extra);
            reports_free(&r);
            page_free(&page);
        }
        text_free(&marked);
    }
}
END_TEST

/* Whatever is asked, the implementation in use is one that works here. */
START_TEST(test_force_impl)
{
    int best = rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);

    ck_assert_int_ne(best, RAI_SCAN_IMPL_AUTO);
    ck_assert_int_eq(rai_scan_force_impl(RAI_SCAN_IMPL_PORTABLE), RAI_SCAN_IMPL_PORTABLE);
    ck_assert_str_eq(rai_scan_impl_name(RAI_SCAN_IMPL_PORTABLE), "portable");
#if defined(__x86_64__) && !defined(RAI_SCAN_NO_SIMD)
    ck_assert_int_eq(rai_scan_force_impl(RAI_SCAN_IMPL_SSE2), RAI_SCAN_IMPL_SSE2);
    ck_assert_int_ne(best, RAI_SCAN_IMPL_PORTABLE);
    /* AVX-512 only where AVX2 is too, and the best when it is there */
    if (rai_scan_force_impl(RAI_SCAN_IMPL_AVX512) == RAI_SCAN_IMPL_AVX512) {
        ck_assert_int_eq(rai_scan_force_impl(RAI_SCAN_IMPL_AVX2), RAI_SCAN_IMPL_AVX2);
        ck_assert_int_eq(best, RAI_SCAN_IMPL_AVX512);
    }
    ck_assert_str_eq(rai_scan_impl_name(RAI_SCAN_IMPL_AVX512), "avx512");
#endif
    ck_assert_int_eq(rai_scan_force_impl(RAI_SCAN_IMPL_AUTO), best);
    ck_assert_int_eq(rai_scan_force_impl(99), best);
}
END_TEST

/* Each fast path alone, on random bytes from a small alphabet, at every
 * length and offset: the same answers as the portable one. */
START_TEST(test_impls_agree)
{
    static const char alphabet[] = "<<>-!\"'=/ a]\n";
    char buf[300];

    rng_state = 4242;
    for (int round = 0; round < 300; round++) {
        size_t len = rng_next() % sizeof(buf);
        offsets_t want = { 0 };
        text_t out = { 0 };

        for (size_t i = 0; i < len; i++)
            buf[i] = alphabet[rng_next() % (sizeof(alphabet) - 1)];
        rai_scan_force_impl(RAI_SCAN_IMPL_PORTABLE);
        text_append(&out, "", 0);
        rewrite_cut(&default_elements, buf, len, NULL, 0, &out, &want);
        for (int k = 1; k < NIMPLS; k++) {
            offsets_t got = { 0 };
            size_t cut = rng_next() % (len + 1);
            if (!use_impl(impls[k]))
                continue;
            out.len = 0;
            rewrite_cut(&default_elements, buf, len, &cut, 1, &out, &got);
            require(same_offsets(&got, &want), "%s differs on \"%s\"",
                    rai_scan_impl_name(impls[k]), show(buf, len));
            offsets_free(&got);
        }
        offsets_free(&want);
        text_free(&out);
    }
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
}
END_TEST


/* ------------------------------------------------------------------ */
/* Block mode (rai_scan.c): 64 bytes judged at once.  Each snippet is     */
/* put at every offset of a block, between text, and must come out as    */
/* the model reads it, whole and at every cut, with every implementation. */

static const char *const block_snippets[] = {
    /* a quote a tokenizer does not open, paired with one it does */
    "<a=\"x y=\"><rai-widget>\">",
    " <a=\"x y=\"><rai-widget>\">",
    "<a b=c=\"x y=\"><rai-widget>\">",
    "<a =\"x y=\"><rai-widget>\">",
    "<a b=\"c\"=\"x y=\"><rai-widget>\">",
    "<a b= =\"x y=\"><rai-widget>\">",
    "<a b=\"x\"c=\"y><rai-widget>\">",
    "<a/b=\"x y=\"><rai-widget>\">",
    "<a\vb=\"x y=\"><rai-widget>\">",
    "<a b'c=\"x y=\"><rai-widget>\">",
    "<a b\"c='x y='><rai-widget>'>",
    "<a bx\"y z=\"><rai-widget>\">",
    "<a b\"c d=\"><rai-widget>\">",
    "<a b x'y z='><rai-widget>'>",
    "<a b= c=\"x y=\"><rai-widget>\">",
    "<a b=\nc=\"x y=\"><rai-widget>\">",
    "<a b=c d e=\"x y=\"><rai-widget>\">",
    /* a tag longer than a block, and the block after it refused */
    "<a href=\"http://example.com/a/very/long/path/that/goes/on/past/one/block/"
    "of/64/bytes/and/then/some/more/to/be/sure\" b=c=\"x y=\"><rai-widget>\">",
    "<a title=\"a long value that goes on past one block of sixty-four bytes, "
    "with > and < and <rai-widget> in it\"><rai-widget>",
    /* quotes of the other kind, inside values and out */
    "<a b='x\"y' c=\">\"><rai-widget>\">",
    "<a b=\"it's\" c='>'><rai-widget>'>",
    "<a b='\"' c=\">\"><rai-widget>",
    "<a b=\"'\" c='>'><rai-widget>",
    "<a b='>' c=\"x\"><rai-widget>",
    /* '>' in values, spaces around '=', other whitespace */
    "<a b=\"x>y\"><rai-widget>",
    "<a b ='x>y'><rai-widget>",
    "<a b= \"x>y\"><rai-widget>",
    "<a\tb=\"x>y\"\nc=\"<rai-widget>\"\fd='>'\re=\"\"><rai-widget>",
    "<a b=\"\"c=\"x>y\"><rai-widget>",
    "<a b=\"x\" =c=\"d>e\"><rai-widget>",
    "<a b=\"x\" c=\"y\" d=e=\"f>g\"><rai-widget>",
    "<a{0}b=\"x>y\"><rai-widget>",
    "<a b=\"x\ny\"><rai-widget>",
    /* end tags, bogus comments, declarations */
    "</a b=\"x>y\"><rai-widget>",
    "</ b=\"x>y\"><rai-widget>",
    "</>\"<rai-widget>",
    "<?x b=\"x>y\"><rai-widget>",
    "<!x b=\"x>y\"><rai-widget>",
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD>\" \"x\"><rai-widget>",
    "<!-- <rai-widget> --><rai-widget>",
    "<!--><rai-widget>",
    /* text '<', '<' in tags, names that matter */
    "<<rai-widget>",
    "< rai-widget><rai-widget>",
    "<a <rai-widget b=\"x>\"><rai-widget>",
    "<a>>\"<rai-widget>\"",
    "<p title=\"<rai-widget>\"><rai-widget>",
    "<STRONG>x</STRONG><Script><rai-widget></sCript><rai-widget>",
    "<sTyle><rai-widget></style><rai-widget>",
    "<svg><rai-widget></svg><rai-widget>",
    "<math><rai-widget></math><rai-widget>",
    "<textarea><rai-widget></textarea><title><rai-widget></title><rai-widget>",
    "<xmp><rai-widget></xmp><iframe><rai-widget></iframe><rai-widget>",
    "<noscript><rai-widget></noscript><noembed></noembed><rai-widget>",
    "<RAI-WIDGET><Rai-X-Widget a=\"b\"><rai-widgetry>",
    "<a href=\"http://example.com/a/very/long/path/that/goes/on/past/one/block/of/64/bytes\"><rai-widget>",
    "<a href=\"http://example.com/a/very/long/path/that/goes/on/past/one/block/of/64>bytes\"><rai-widget>",
    "<plaintext><rai-widget>",
};
#define NBLOCK_SNIPPETS (sizeof(block_snippets) / sizeof(block_snippets[0]))

/* Scanner and model agree on doc (whole and at every cut, every
 * implementation); returns 0 and prints the first difference if not. */
static int block_agrees(const text_t *doc, const char *what)
{
    reports_t want = { 0 };
    int ok = 1;

    rai_model_scan(&default_elements, 0, doc->bytes, doc->len,
                   model_found_kind, &want);
    for (int k = 0; k < NIMPLS && ok; k++) {
        if (!use_impl(impls[k]))
            continue;
        for (size_t cut = 0; cut <= doc->len + 1 && ok; cut++) {
            reports_t got = { 0 };

            /* cut == len + 1: the page whole */
            scan_reports(doc->bytes, doc->len, &cut, cut <= doc->len, 0, &got);
            if (!same_reports(&got, &want)) {
                report_difference(what, doc, &got.at, &want.at);
                fprintf(stderr, "  (%s, cut at %zu)\n",
                        rai_scan_impl_name(impls[k]), cut);
                ok = 0;
            }
            reports_free(&got);
        }
    }
    reports_free(&want);
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
    return ok;
}

START_TEST(test_block_snippets)
{
    page_t snippet;
    int failures = 0;

    page_decode(block_snippets[_i], &snippet);      /* for {0} */
    for (size_t pad = 0; pad < 70; pad++) {
        text_t doc = { 0 };

        text_append(&doc, "", 0);
        for (size_t k = 0; k < pad; k++)
            text_append(&doc, k % 7 == 6 ? " " : "x", 1);
        text_append(&doc, snippet.input.bytes, snippet.input.len);
        text_puts(&doc, " then text <p>and <rai-widget> and more text to "
                        "fill the block after it.</p>");
        if (!block_agrees(&doc, "block snippet"))
            failures++;
        text_free(&doc);
        if (failures)
            break;
    }
    page_free(&snippet);
    ck_assert_msg(failures == 0, "block snippet %d differs from the model",
                  (int)_i);
}
END_TEST

/* Long generated pages of tags and attributes: what block mode reads. */
static const char *const block_fragments[] = {
    "<a", "<p", "<div", "</a>", "</p>", "<rai-widget", "<rai-x-widget",
    "<script>", "</script>", "<strong>", "<svg>", "</svg>", "<!--", "-->",
    " ", " ", " ", "\n", "\t", "/", "=", "=", "\"", "\"", "'", ">", ">", ">",
    "x", "href", " href=\"", " class='", "\" ", "' ", "\">", "'>", "=\"",
    "='", "text ", "more text. ", "<", "<?", "</", "<!", "b=c",
};
#define NBLOCK_FRAGMENTS (sizeof(block_fragments) / sizeof(block_fragments[0]))

START_TEST(test_block_random)
{
    int failures = 0;

    rng_state = 0xb10cb10cULL + (uint64_t)_i;
    for (int r = 0; r < 400 && failures == 0; r++) {
        text_t doc = { 0 };
        size_t nfrag = 20 + rng_next() % 120;

        text_append(&doc, "", 0);
        for (size_t f = 0; f < nfrag; f++)
            text_puts(&doc, block_fragments[rng_next() % NBLOCK_FRAGMENTS]);
        if (!block_agrees(&doc, "block random page"))
            failures++;
        text_free(&doc);
    }
    ck_assert_msg(failures == 0, "a generated page differs from the model");
}
END_TEST

/* The brief's rewrite() helper used directly. */
START_TEST(test_rewrite_helper)
{
    const char *in = "<p><rai-store-widget community-id=\"c1\"></rai-store-widget>";
    const char *want = "<p><rai-store-widget" TOKEN_ATTR
                       " community-id=\"c1\"></rai-store-widget>";
    text_t out = { 0 };

    text_append(&out, "", 0);
    rewrite(&out, in, strlen(in), 5, 12, 20, 21);
    ck_assert_str_eq(out.bytes, want);
    out.len = 0;
    rewrite(&out, in, strlen(in), 23, 23, 23);      /* empty chunks */
    ck_assert_str_eq(out.bytes, want);
    text_free(&out);
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("rai_scan");
    TCase *tc;

    tc = tcase_create("pages");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_pages, 0, NPAGES);
    tcase_add_loop_test(tc, test_rawtext_elements, 0, NRAWTEXT);
    tcase_add_test(tc, test_custom_patterns);
    tcase_add_test(tc, test_rewrite_helper);
    suite_add_tcase(s, tc);

    tc = tcase_create("reports");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_script_reports, 0,
                        (int)(sizeof(script_pages) / sizeof(script_pages[0])));
    tcase_add_test(tc, test_script_reports_off);
    tcase_add_test(tc, test_in_text);
    tcase_add_test(tc, test_foreign_depth);
    tcase_add_test(tc, test_force_impl);
    tcase_add_test(tc, test_impls_agree);
    suite_add_tcase(s, tc);

    tc = tcase_create("script_double_escape");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_script_double_escape, 0,
                        (int)(sizeof(double_escape_pages)
                              / sizeof(double_escape_pages[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, test_name_matches_default);
    tcase_add_test(tc, test_name_matches_other_patterns);
    tcase_add_test(tc, test_name_matches_empty);
    tcase_add_test(tc, test_pattern_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("pattern_blowup");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_pattern_no_blowup);
    suite_add_tcase(s, tc);

    tc = tcase_create("big");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_long_names);
    tcase_add_test(tc, test_big_page);
    tcase_add_test(tc, test_big_constructs);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_model_agrees_with_pages, 0, NPAGES);
    tcase_add_loop_test(tc, test_model_random, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("blocks");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_block_snippets, 0, (int)NBLOCK_SNIPPETS);
    tcase_add_loop_test(tc, test_block_random, 0, 4);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    sr = srunner_create(scan_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
