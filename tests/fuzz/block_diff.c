/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Differential tester for rai_scan's block mode (written in a review of
 * it).  Generates structured hostile HTML -- quotes, '=' and '<' in
 * names, every kind of whitespace and \v, NUL, bytes >= 0x80, values and
 * tags across block boundaries, several widget pattern sets, script
 * reports on and off -- and compares every implementation (portable,
 * SSE2, AVX2), at random chunkings (each chunk malloc()ed on its own so
 * ASan sees overreads), with the reference model tests/unit/scan_model.c:
 * reports, their kind, and rai_scan_in_text.  make fuzz-replay runs it
 * for 20000 pages under ASan and UBSan; more with
 *   make tests/fuzz/block_diff.bin && ./tests/fuzz/block_diff.bin N SEED
 * (modes: N SEED [enum|subst]; see main).  On a difference it prints the
 * input as a C literal, minimised, with its chunk cuts, and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rai_scan.h"
#include "scan_model.h"

/* ---------------------------------------------------------------- rng */
static uint64_t rs = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static unsigned rn(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static int coin(unsigned pct) { return rn(100) < pct; }

/* ---------------------------------------------------------------- buf */
typedef struct { char *b; size_t len, cap; } buf_t;
static void put(buf_t *o, const void *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->b = realloc(o->b, o->cap);
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
    o->b[o->len] = 0;
}
/* \x01 in the tables stands for a NUL byte */
static void puts_(buf_t *o, const char *s)
{
    for (; *s; s++) { char c = *s == 1 ? 0 : *s; put(o, &c, 1); }
}
static void putc_(buf_t *o, int c) { char ch = (char)c; put(o, &ch, 1); }

/* ---------------------------------------------------------------- configs */
static const char *const pat0[] = { "rai-widget", "rai-*-widget" };
static const char *const pat1[] = { "x-*" };
static const char *const pat2[] = { "a", "b-*", "c-*", "d*", "e-x", "f-*", "z" };
static const char *const pat3[] = { "my-*", "rai-store-widget" };
static const char *const pat4[] = { "s-*", "t*", "m-*", "p-q", "n*", "i-*" };
static const char *const pat5[] = { "q*" };
static const rai_scan_elements_t configs[] = {
    { pat0, 2 }, { pat1, 1 }, { pat2, 7 }, { pat3, 2 }, { pat4, 6 }, { pat5, 1 },
};
#define NCONFIGS (int)(sizeof(configs) / sizeof(configs[0]))

/* widget-ish names per config */
static const char *const wnames[] = {
    "rai-widget", "RAI-WIDGET", "rai-x-widget", "Rai-Store-Widget", "rai-widgetry",
    "x-", "x-y", "X-Y", "x", "a", "A", "b-", "b-q", "c-z", "d", "dd", "e-x", "f-g",
    "z", "Z", "my-x", "MY-Y", "rai-store-widget", "s-x", "t", "tt", "m-x", "p-q",
    "n", "nn", "i-x", "q", "qq", "Q1",
};
/* names that matter or almost matter */
static const char *const snames[] = {
    "script", "SCRIPT", "Script", "style", "svg", "math", "textarea", "title",
    "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext", "scrip",
    "sc", "st", "sv", "ma", "ti", "te", "xm", "if", "no", "pl", "s", "t", "m",
    "template", "table", "select", "image", "frameset",
};
/* names that do not matter */
static const char *const pnames[] = {
    "a", "p", "div", "span", "b", "br", "li", "ul", "code", "em", "strong",
    "h1", "img", "input", "Foo", "DIV", "custom-el", "w", "g", "k-z", "o",
    "a\x80", "a\xc3\xa9", "a\x01b", "u\"x", "u'x", "u=x", "u<x", "u\vv",
};

#define PICK(a) (a[rn(sizeof(a) / sizeof(a[0]))])

static const char *const ws_all[] = { " ", "\t", "\n", "\f", "\r", "  ", " \n " };
static const char *ws_any(void)
{
    /* \v is NOT whitespace: offered as a look-alike */
    if (coin(8))
        return "\v";
    if (coin(3))
        return "\x01";
    return PICK(ws_all);
}

static void put_name(buf_t *o, const char *n)
{
    /* the tables contain embedded NULs in a few; keep them (len up to sentinel) */
    puts_(o, n);
}

static void text_run(buf_t *o, unsigned n)
{
    static const char alpha[] = "abcdefghij klmnop  qrstuvwxyz.,;&#!-";
    for (unsigned i = 0; i < n; i++) {
        unsigned r = rn(1000);
        if (r < 8) putc_(o, '>');
        else if (r < 12) puts_(o, "< ");
        else if (r < 14) puts_(o, "<3");
        else if (r < 18) putc_(o, '"');
        else if (r < 21) putc_(o, '\'');
        else if (r < 24) putc_(o, '=');
        else if (r < 26) putc_(o, 0x80 + rn(128));
        else if (r < 27) putc_(o, 0);
        else putc_(o, alpha[rn(sizeof(alpha) - 1)]);
    }
}

static void attr_name(buf_t *o)
{
    static const char *const an[] = {
        "href", "class", "id", "x", "data-a", "b", "c", "style", "title",
        "on\"x", "o'n", "a<b", "=", "==", "x=y", "a/b", "\x80\x81", "A",
        "encoding", "color", "face", "size", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "\v", "x\vy", "<", "<rai-widget", "?", "!", "-", "n\x01m",
    };
    puts_(o, PICK(an));
}

static void value_body(buf_t *o, int q)
{
    unsigned n = rn(8) ? rn(12) : 40 + rn(120);
    for (unsigned i = 0; i < n; i++) {
        unsigned r = rn(100);
        if (r < 6) putc_(o, '>');
        else if (r < 10) puts_(o, "<rai-widget>");
        else if (r < 12) puts_(o, "<script>");
        else if (r < 15) putc_(o, q == '"' ? '\'' : '"');
        else if (r < 19) putc_(o, '=');
        else if (r < 24) puts_(o, ws_any());
        else if (r < 26) puts_(o, "<!--");
        else if (r < 27) putc_(o, 0x80 + rn(128));
        else putc_(o, "abcxyz/.:-_0123"[rn(15)]);
    }
}

/* one attribute, with hostile variants */
static void attribute(buf_t *o)
{
    unsigned shape = rn(100);

    attr_name(o);
    if (shape < 15)
        return;                         /* no value */
    if (coin(20)) puts_(o, ws_any());   /* ws before '=' */
    putc_(o, '=');
    if (coin(8)) putc_(o, '=');
    if (coin(20)) puts_(o, ws_any());   /* ws after '=' */
    if (shape < 30) {                   /* unquoted */
        unsigned n = 1 + rn(10);
        for (unsigned i = 0; i < n; i++) {
            unsigned r = rn(100);
            if (r < 8) putc_(o, '"');
            else if (r < 14) putc_(o, '\'');
            else if (r < 22) putc_(o, '=');
            else if (r < 26) putc_(o, '<');
            else if (r < 28) putc_(o, '`');
            else putc_(o, "abcxyz/.:-_0123"[rn(15)]);
        }
        return;
    }
    {
        int q = coin(60) ? '"' : '\'';
        putc_(o, q);
        value_body(o, q);
        if (coin(96)) putc_(o, q);      /* sometimes unterminated */
        if (coin(5)) putc_(o, coin(50) ? '"' : '\'');
    }
}

static void tag(buf_t *o, const rai_scan_elements_t *cfg)
{
    unsigned kind = rn(100);
    const char *nm;

    (void)cfg;
    putc_(o, '<');
    if (kind < 15) { putc_(o, '/'); }
    if (kind < 3) puts_(o, ws_any());   /* bogus comment </ x> */
    if (kind >= 15 && kind < 25) nm = PICK(wnames);
    else if (kind >= 25 && kind < 33) nm = PICK(snames);
    else nm = PICK(pnames);
    if (coin(3)) nm = "";               /* "<>" "< " etc */
    put_name(o, nm);
    if (coin(5)) { /* quote/=/< in the tag name */
        putc_(o, "\"'=<"[rn(4)]);
        puts_(o, "zz");
    }
    {
        unsigned na = rn(4) ? rn(4) : rn(12);
        for (unsigned a = 0; a < na; a++) {
            unsigned sep = rn(100);
            if (sep < 75) puts_(o, ws_any());
            else if (sep < 85) putc_(o, '/');
            else if (sep < 90) puts_(o, " / ");
            /* else: nothing (attr right after value or name) */
            attribute(o);
        }
    }
    if (coin(10)) puts_(o, ws_any());
    if (coin(8)) putc_(o, '/');
    if (coin(97)) putc_(o, '>');
}

static void other(buf_t *o)
{
    static const char *const others[] = {
        "<!-- c -->", "<!---->", "<!-->", "<!--->", "<!-- <rai-widget> -->",
        "<!DOCTYPE html>", "<!DOCTYPE html PUBLIC \"-//W3C//DTD>\" 'x>'>",
        "<!x>", "<!x b=\"y>\">", "<?x>", "<?x a=\"b>\">", "</ x>", "</ x=\">\">",
        "</>", "<![CDATA[ <rai-widget> ]]>", "<!--<script>-->", "</a b=\"x>y\">",
        "<script>var a='<rai-widget>';</script>", "<style>a>b{}</style>",
        "<svg><rai-widget></svg>", "<math><mi><rai-widget></mi></math>",
        "<svg><foreignObject><rai-widget></foreignObject></svg>",
        "<textarea><rai-widget></textarea>", "<title>x</title>",
        "<noscript><rai-widget></noscript>", "<xmp><a></xmp>",
        "<script><!--<script></script>--></script>",
        "<svg><![CDATA[<rai-widget>]]></svg>", "<SVG/>", "<math/>",
        "<<", "<>", "< >", "<=", "<\"", "<'", "<1", "<@", "<[", "<`", "<{",
        "<a<rai-widget>", "<a <rai-widget>", "<a b=\"<rai-widget>\">",
        "<a\vb=\"x>\"<rai-widget>", "<a b=\"x\"c=\"y>\">",
    };
    puts_(o, PICK(others));
}

static void gen_structured(buf_t *o, const rai_scan_elements_t *cfg, unsigned items)
{
    for (unsigned k = 0; k < items; k++) {
        unsigned r = rn(100);
        if (r < 35) text_run(o, rn(4) ? rn(10) : rn(140));
        else if (r < 85) tag(o, cfg);
        else other(o);
    }
}

/* pages block mode accepts: ws-separated attributes with quoted values of
 * one kind (mostly), long values, other-kind quotes inside, no '>' in
 * values; hazards come from mutate() and rare choices */
static void benign_value(buf_t *o, int q, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned r = rn(100);
        if (r < 4) putc_(o, q == '"' ? '\'' : '"');
        else if (r < 8) putc_(o, '=');
        else if (r < 13) puts_(o, PICK(ws_all));
        else if (r < 15) putc_(o, '<');
        else if (r < 16) puts_(o, "<rai-widget ");
        else if (r < 17) putc_(o, '/');
        else if (r < 18 && coin(10)) putc_(o, '>');
        else putc_(o, "abcxyz.:-_0123"[rn(14)]);
    }
}

static void gen_benign(buf_t *o, unsigned items, int sq_pref)
{
    static const char *const bn[] = { "a", "p", "div", "span", "li", "ul", "custom-el", "b", "em", "h2", "DIV", "A", "img", "k-k", "w" };
    static const char *const an[] = { "href", "class", "id", "data-x", "b", "c", "role", "aria-label", "x", "st" };
    for (unsigned k = 0; k < items; k++) {
        unsigned r = rn(100);
        if (r < 25) text_run(o, rn(4) ? rn(20) : rn(150));
        else if (r < 30) { putc_(o, '<'); putc_(o, '/'); puts_(o, PICK(bn)); if (coin(5)) { puts_(o, PICK(ws_all)); puts_(o, "x=\"y\""); } putc_(o, '>'); }
        else if (r < 33) other(o);
        else if (r < 36) { putc_(o, '<'); puts_(o, PICK(wnames)); if (coin(50)) puts_(o, " a=\"b\""); putc_(o, '>'); }
        else {
            unsigned na = rn(5);
            putc_(o, '<');
            puts_(o, PICK(bn));
            for (unsigned a = 0; a < na; a++) {
                int q = (sq_pref ? coin(85) : coin(10)) ? '\'' : '"';
                puts_(o, coin(95) ? PICK(ws_all) : ws_any());
                puts_(o, PICK(an));
                if (coin(10)) continue;
                if (coin(3)) puts_(o, ws_any());
                putc_(o, '=');
                if (coin(3)) puts_(o, ws_any());
                if (coin(5)) { benign_value(o, ' ', 1 + rn(6)); continue; }  /* unquoted */
                putc_(o, q);
                benign_value(o, q, rn(5) ? rn(20) : 40 + rn(200));
                putc_(o, q);
            }
            if (coin(10)) puts_(o, PICK(ws_all));
            if (coin(5)) putc_(o, '/');
            putc_(o, '>');
        }
    }
}

/* byte-level soup over a hostile alphabet */
static void gen_soup(buf_t *o, unsigned n)
{
    static const char alpha[] = "<<<>>\"\"''==  \t\n\f\r\v/!?-abxrsSmtTqQ";
    const char *extra[] = { "rai-widget", "script", "svg", "x-y", "a", "p", "href=\"", "\x80", "\x01" };
    for (unsigned i = 0; i < n; i++) {
        if (coin(6)) puts_(o, PICK(extra));
        else putc_(o, alpha[rn(sizeof(alpha) - 1)]);
    }
}

static void mutate(buf_t *o)
{
    static const char alpha[] = "<>\"'= \t\n\f\r\v/!?-a\0\x80x";
    unsigned edits = 1 + rn(4);
    for (unsigned e = 0; e < edits && o->len; e++) {
        size_t at = rn((unsigned)o->len);
        unsigned op = rn(3);
        char c = alpha[rn(sizeof(alpha) - 1)];
        if (op == 0) o->b[at] = c;
        else if (op == 1) { put(o, "", 0); memmove(o->b + at, o->b + at + 1, o->len - at - 1); o->len--; }
        else { putc_(o, 0); memmove(o->b + at + 1, o->b + at, o->len - at - 1); o->b[at] = c; }
    }
}

/* ---------------------------------------------------------------- trace */
/* (hooks for a build that also checks the state block mode hands on)  */
#define TRACE_PREPARE(len) ((void)0)
#define TRACE_CHUNK(b, s) ((void)0)
#define TRACE_FAILED() 0

/* ---------------------------------------------------------------- scanning */
typedef struct { size_t *at; size_t n, cap; int in_text; } rep_t;
static void rep_add(rep_t *r, size_t v)
{
    if (r->n == r->cap) { r->cap = r->cap ? 2 * r->cap : 16; r->at = realloc(r->at, r->cap * sizeof(size_t)); }
    r->at[r->n++] = v;
}
static void model_cb(void *ctx, size_t at, int script) { rep_add(ctx, 2 * at + (script != 0)); }

static int rep_same(const rep_t *a, const rep_t *b)
{
    return a->n == b->n && a->in_text == b->in_text
           && (a->n == 0 || memcmp(a->at, b->at, a->n * sizeof(size_t)) == 0);
}

/* chunks: sizes[0..nsizes), the last repeated */
static void scan_chunks(const rai_scan_elements_t *cfg, int scripts, const char *page,
                        size_t len, const size_t *sizes, size_t nsizes, rep_t *out)
{
    rai_scan_t scan;
    size_t start = 0, ci = 0;

    rai_scan_init(&scan, cfg);
    rai_scan_report_scripts(&scan, scripts);
    out->n = 0;
    while (start < len) {
        size_t size = sizes[ci < nsizes ? ci : nsizes - 1], pos = 0;
        char *bytes;
        ci++;
        if (size > len - start) size = len - start;
        if (size == 0) {
            /* empty chunk: call with len 0 */
            char dummy;
            rai_scan_next(&scan, &dummy, 0);
            continue;
        }
        bytes = malloc(size);
        memcpy(bytes, page + start, size);
        TRACE_CHUNK(bytes, start);
        for (;;) {
            size_t off = rai_scan_next(&scan, bytes + pos, size - pos);
            if (off > size - pos) { fprintf(stderr, "past chunk\n"); abort(); }
            if (off == size - pos) break;
            rep_add(out, 2 * (start + pos + off) + (size_t)rai_scan_reported_script(&scan));
            pos += off;
            if (out->n > len + 5) { fprintf(stderr, "report loop\n"); abort(); }
        }
        free(bytes);
        start += size;
    }
    out->in_text = rai_scan_in_text(&scan);
}

static const int impls[] = { RAI_SCAN_IMPL_PORTABLE, RAI_SCAN_IMPL_SSE2, RAI_SCAN_IMPL_AVX2,
                             RAI_SCAN_IMPL_AVX512 };

static void print_c(FILE *f, const char *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\f') fputs("\\f", f);
        else if (c == '\v') fputs("\\v", f);
        else if (c < 0x20 || c >= 0x7f) {
            fprintf(f, "\\x%02x", c);
            /* break hex escapes that would eat the next char */
            if (i + 1 < n && strchr("0123456789abcdefABCDEF", p[i + 1])) fputs("\"\"", f);
        }
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_rep(FILE *f, const rep_t *r)
{
    fprintf(f, "[");
    for (size_t i = 0; i < r->n; i++) fprintf(f, "%s%zu%s", i ? " " : "", r->at[i] / 2, r->at[i] % 2 ? "s" : "");
    fprintf(f, "] in_text=%d", r->in_text);
}

/* Does this (page, cfg, scripts, impl, chunking) differ from the model? */
static int differs(const rai_scan_elements_t *cfg, int scripts, const char *page, size_t len,
                   int impl, const size_t *sizes, size_t nsizes, rep_t *want, rep_t *got)
{
    want->n = 0;
    TRACE_PREPARE(len);
    want->in_text = rai_model_scan(cfg, scripts, page, len, model_cb, want);
    rai_scan_force_impl(impl);
    scan_chunks(cfg, scripts, page, len, sizes, nsizes, got);
    return !rep_same(want, got) || TRACE_FAILED();
}

static void minimise_and_report(const rai_scan_elements_t *cfg, int cfgi, int scripts,
                                const char *page0, size_t len0, int impl,
                                const size_t *sizes0, size_t nsizes0)
{
    rep_t want = { 0 }, got = { 0 };
    char *page = malloc(len0 + 1);
    size_t len = len0, sizes[4096], nsizes;
    memcpy(page, page0, len0);
    nsizes = nsizes0 < 4096 ? nsizes0 : 4096;
    memcpy(sizes, sizes0, nsizes * sizeof(size_t));

    fprintf(stderr, "\n=== DIFFERENCE (cfg %d, scripts %d, impl %s)\n", cfgi, scripts,
            rai_scan_impl_name(impl));
    fprintf(stderr, "original len %zu: ", len);
    print_c(stderr, page, len);
    fprintf(stderr, "\n");
    /* try whole first (if it also fails whole, drop chunking) */
    {
        size_t whole = len;
        if (differs(cfg, scripts, page, len, impl, &whole, 1, &want, &got)) {
            sizes[0] = (size_t)-1 / 2; nsizes = 1;
        }
    }
    /* delete ranges while it still differs; chunk sizes stay as absolute
     * cut positions are hard to keep: we convert to cut positions */
    {
        /* cut positions */
        size_t cuts[4096], nc = 0, pos = 0;
        for (size_t k = 0; pos < len && nc < 4000; k++) {
            size_t s = sizes[k < nsizes ? k : nsizes - 1];
            if (s > len - pos) s = len - pos;
            pos += s;
            cuts[nc++] = pos;
        }
        int progress = 1;
        while (progress) {
            progress = 0;
            for (size_t w = len / 2 ? len / 2 : 1; w >= 1; w /= 2) {
                for (size_t at = 0; at + w <= len; ) {
                    /* candidate: remove [at, at+w) */
                    char *cand = malloc(len);
                    size_t clen = len - w, csz[4096], cnc = 0, prev = 0;
                    memcpy(cand, page, at);
                    memcpy(cand + at, page + at + w, len - at - w);
                    for (size_t k = 0; k < nc; k++) {
                        size_t c = cuts[k];
                        if (c > at + w) c -= w; else if (c > at) c = at;
                        if (c > prev) { csz[cnc++] = c - prev; prev = c; }
                    }
                    if (prev < clen || cnc == 0) csz[cnc++] = clen - prev ? clen - prev : 1;
                    if (clen && differs(cfg, scripts, cand, clen, impl, csz, cnc, &want, &got)) {
                        memcpy(page, cand, clen);
                        len = clen;
                        nc = 0; prev = 0;
                        for (size_t k = 0; k < cnc; k++) { prev += csz[k]; cuts[nc++] = prev; }
                        progress = 1;
                    } else at++;
                    free(cand);
                }
                if (w == 1) break;
            }
        }
        nsizes = 0; pos = 0;
        for (size_t k = 0; k < nc; k++) { sizes[nsizes++] = cuts[k] - pos; pos = cuts[k]; }
        if (!nsizes) { sizes[0] = len; nsizes = 1; }
    }
    differs(cfg, scripts, page, len, impl, sizes, nsizes, &want, &got);
    fprintf(stderr, "minimised len %zu: ", len);
    print_c(stderr, page, len);
    fprintf(stderr, "\nchunks:");
    for (size_t k = 0; k < nsizes; k++) fprintf(stderr, " %zu", sizes[k]);
    fprintf(stderr, "\nmodel: ");
    print_rep(stderr, &want);
    fprintf(stderr, "\n%s: ", rai_scan_impl_name(impl));
    print_rep(stderr, &got);
    {
        rep_t port = { 0 };
        size_t whole = len;
        rai_scan_force_impl(RAI_SCAN_IMPL_PORTABLE);
        scan_chunks(cfg, scripts, page, len, &whole, 1, &port);
        fprintf(stderr, "\nportable whole: ");
        print_rep(stderr, &port);
    }
    fprintf(stderr, "\n");
    free(page);
}

/* pad the page so that a random one of its '<' lands at a block edge */
static void align_variant(buf_t *o, const buf_t *src)
{
    size_t lts[512], n = 0;
    for (size_t i = 0; i < src->len && n < 512; i++) if (src->b[i] == '<' || src->b[i] == '"' || src->b[i] == '>') lts[n++] = i;
    size_t target = n ? lts[rn((unsigned)n)] : 0;
    /* want (pad + target) % 64 in {62,63,0,1,2} ; block starts at 0 of chunk */
    int want = (int)(62 + rn(5)) % 64;
    size_t pad = (size_t)((want - (int)(target % 64) + 128) % 64);
    o->len = 0;
    for (size_t k = 0; k < pad; k++) putc_(o, k % 9 == 8 ? ' ' : 'y');
    put(o, src->b, src->len);
    for (size_t k = 0; k < 70; k++) putc_(o, k % 9 == 8 ? ' ' : 'y');
}

/* Exhaustive: every tag body of up to maxlen bytes over a small alphabet,
 * inside "<p" body + tail, at a few offsets of a block, whole and cut. */
static int enum_mode(int maxlen, uint64_t seed)
{
    static const char alpha[] = "a \v=\"'/<>";
    static const char *const tails[] = {
        "\"><rai-widget>'><rai-widget>\"><rai-widget> text <rai-widget> x",
        "><rai-widget>\"><rai-widget>' <rai-widget>\" y=\"<rai-widget>\"'>'<rai-widget>",
    };
    const int na = (int)sizeof(alpha) - 1;
    buf_t page = { 0 };
    rep_t want = { 0 }, got = { 0 };
    unsigned long n = 0;
    int idx[16];
    const rai_scan_elements_t *cfg = &configs[0];

    rs ^= seed * 0x9E3779B97F4A7C15ULL;
    for (int len = 0; len <= maxlen; len++) {
        for (int k = 0; k < len; k++) idx[k] = 0;
        for (;;) {
            for (int rep = 0; rep < 2; rep++) {
                size_t pad = rn(130), sizes[3];
                page.len = 0;
                put(&page, "", 0);
                for (size_t k = 0; k < pad; k++) putc_(&page, k % 7 == 6 ? ' ' : 'y');
                puts_(&page, coin(50) ? "<p" : "<p x=\"1\"");
                for (int k = 0; k < len; k++) putc_(&page, alpha[idx[k]]);
                puts_(&page, tails[rn(2)]);
                for (size_t k = 0; k < 40; k++) putc_(&page, 'z');
                want.n = 0;
                TRACE_PREPARE(page.len);
                want.in_text = rai_model_scan(cfg, 0, page.b, page.len, model_cb, &want);
                for (int im = 1; im < 3; im++) {
                    for (int ch = 0; ch < 2; ch++) {
                        size_t ns;
                        if (ch == 0) { sizes[0] = page.len; ns = 1; }
                        else { sizes[0] = rn((unsigned)page.len); sizes[1] = page.len; ns = 2; }
                        if (rai_scan_force_impl(impls[im]) != impls[im]) continue;
                        scan_chunks(cfg, 0, page.b, page.len, sizes, ns, &got);
                        n++;
                        if (!rep_same(&want, &got) || TRACE_FAILED()) {
                            minimise_and_report(cfg, 0, 0, page.b, page.len, impls[im], sizes, ns);
                            return 1;
                        }
                    }
                }
            }
            int k = 0;
            while (k < len && ++idx[k] == na) idx[k++] = 0;
            if (k == len) break;
        }
        fprintf(stderr, "enum: length %d done, %lu scans\n", len, n);
    }
    printf("enum ok: %lu scans\n", n);
    return 0;
}

/* Every single-byte substitution (and insertion) of hazard bytes into
 * generated pages block mode accepts. */
static int subst_mode(unsigned long pages, uint64_t seed)
{
    static const char hz[] = "<>\"'= \t\n\f\r\v/!?a\0\x80";
    const int nh = (int)sizeof(hz) - 1;
    buf_t base = { 0 }, page = { 0 };
    rep_t want = { 0 }, got = { 0 };
    unsigned long n = 0;

    rs ^= seed * 0x9E3779B97F4A7C15ULL;
    for (unsigned long pg = 0; pg < pages; pg++) {
        int cfgi = (int)rn(NCONFIGS);
        const rai_scan_elements_t *cfg = &configs[cfgi];
        int scripts = coin(30);
        base.len = 0;
        put(&base, "", 0);
        gen_benign(&base, 3 + rn(10), coin(30));
        if (coin(50)) { buf_t t = { 0 }; align_variant(&t, &base); base.len = 0; put(&base, t.b, t.len); free(t.b); }
        for (size_t at = 0; at < base.len; at++) {
            for (int h = 0; h < nh; h++) {
                for (int ins = 0; ins < 2; ins++) {
                    size_t sizes[2];
                    page.len = 0;
                    put(&page, base.b, at);
                    putc_(&page, hz[h]);
                    put(&page, base.b + at + (ins ? 0 : 1), base.len - at - (ins ? 0 : 1));
                    want.n = 0;
                    TRACE_PREPARE(page.len);
                    want.in_text = rai_model_scan(cfg, scripts, page.b, page.len, model_cb, &want);
                    for (int im = 1; im < 3; im++) {
                        size_t ns;
                        if (rai_scan_force_impl(impls[im]) != impls[im]) continue;
                        if (coin(50)) { sizes[0] = page.len; ns = 1; }
                        else { sizes[0] = rn((unsigned)page.len); sizes[1] = page.len; ns = 2; }
                        scan_chunks(cfg, scripts, page.b, page.len, sizes, ns, &got);
                        n++;
                        if (!rep_same(&want, &got) || TRACE_FAILED()) {
                            minimise_and_report(cfg, cfgi, scripts, page.b, page.len, impls[im], sizes, ns);
                            return 1;
                        }
                    }
                }
            }
        }
        if ((pg + 1) % 100 == 0) fprintf(stderr, "subst: %lu pages, %lu scans\n", pg + 1, n);
    }
    printf("subst ok: %lu scans\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    buf_t page = { 0 }, alt = { 0 };
    rep_t want = { 0 }, got = { 0 };
    unsigned long checks = 0;
    int have_avx2 = rai_scan_force_impl(RAI_SCAN_IMPL_AVX2) == RAI_SCAN_IMPL_AVX2;
    int have_avx512 = rai_scan_force_impl(RAI_SCAN_IMPL_AVX512) == RAI_SCAN_IMPL_AVX512;
    int nimpl = have_avx512 ? 4 : have_avx2 ? 3 : 2;

    if (argc > 3 && strcmp(argv[3], "enum") == 0)
        return enum_mode((int)iters, seed);
    if (argc > 3 && strcmp(argv[3], "subst") == 0)
        return subst_mode(iters, seed);
    rs ^= seed * 0x9E3779B97F4A7C15ULL;
    if (!rs) rs = 1;
    for (unsigned long it = 0; it < iters; it++) {
        int cfgi = (int)rn(NCONFIGS);
        const rai_scan_elements_t *cfg = &configs[cfgi];
        int scripts = coin(30);
        unsigned g = rn(100);
        const buf_t *use = &page;

        page.len = 0;
        put(&page, "", 0);
        if (g < 20) gen_structured(&page, cfg, 4 + rn(40));
        else if (g < 30) gen_soup(&page, 20 + rn(400));
        else if (g < 40) { gen_structured(&page, cfg, 4 + rn(30)); mutate(&page); }
        else if (g < 65) gen_benign(&page, 4 + rn(40), coin(30));
        else { gen_benign(&page, 4 + rn(40), coin(30)); mutate(&page); if (coin(30)) mutate(&page); }
        if (coin(40)) { align_variant(&alt, &page); use = &alt; }

        want.n = 0;
        TRACE_PREPARE(use->len);
        want.in_text = rai_model_scan(cfg, scripts, use->b, use->len, model_cb, &want);
        for (int k = 0; k < nimpl; k++) {
            size_t sizes[64], nsizes = 0;
            for (int ch = 0; ch < 3; ch++) {
                if (ch == 0) { sizes[0] = use->len ? use->len : 1; nsizes = 1; }
                else if (ch == 1) {
                    size_t cut = rn((unsigned)use->len + 1);
                    sizes[0] = cut; sizes[1] = use->len - cut ? use->len - cut : 1; nsizes = 2;
                    if (!cut) { sizes[0] = 0; }
                } else {
                    nsizes = 0;
                    for (int s = 0; s < 63; s++) {
                        unsigned r = rn(100);
                        sizes[nsizes++] = r < 30 ? 60 + rn(12) : r < 60 ? 1 + rn(200) : r < 70 ? rn(3) + 1 : 64 + rn(140);
                    }
                    sizes[nsizes++] = 100;
                }
                rai_scan_force_impl(impls[k]);
                scan_chunks(cfg, scripts, use->b, use->len, sizes, nsizes, &got);
                checks++;
                if (!rep_same(&want, &got) || TRACE_FAILED()) {
                    fprintf(stderr, "iteration %lu seed %llu\n", it, (unsigned long long)seed);
                    minimise_and_report(cfg, cfgi, scripts, use->b, use->len, impls[k], sizes, nsizes);
                    return 1;
                }
            }
        }
        if ((it + 1) % 200000 == 0) fprintf(stderr, "%lu iterations, %lu scans\n", it + 1, checks);
    }
    printf("ok: %lu iterations, %lu scans, avx2 %d, avx512 %d\n", iters, checks, have_avx2,
           have_avx512);
    return 0;
}
