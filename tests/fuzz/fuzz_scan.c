/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_scan: the same page scanned whole, cut in two,
 * and cut in fixed-size chunks, with each fast path (portable, SSE2,
 * AVX2, as the machine has them), must give the same reports (offset and
 * kind, widget or script) and the same rai_scan_in_text at the end; every
 * offset must sit on the byte that ends a widget's (or script's) name, and
 * (unless built with -DRAI_FUZZ_NO_MODEL) the reports must be those of the
 * reference tokenizer in tests/unit/scan_model.c.  Any difference aborts.
 *
 * Input: byte 0-1 choose the cut, byte 2 the chunk size (low 4 bits) and
 * whether scripts are reported (bit 4), the rest is the page.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -fno-sanitize-recover=undefined -I. -Itests/unit \
 *         tests/fuzz/fuzz_scan.c tests/unit/scan_model.c rai_scan.c \
 *         -o tests/fuzz/fuzz_scan
 *   mkdir -p tests/fuzz/work
 *   ./tests/fuzz/fuzz_scan -dict=tests/fuzz/html.dict -max_total_time=300 \
 *         tests/fuzz/work tests/fuzz/corpus
 * (new inputs go to tests/fuzz/work; tests/fuzz/corpus is the seed corpus
 * and stays as it is.)  Reproduce a crash: ./tests/fuzz/fuzz_scan crash-...
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rai_scan.h"
#ifndef RAI_FUZZ_NO_MODEL
#include "scan_model.h"
#endif

static const char *const fuzz_patterns[] = { "rai-widget", "rai-*-widget" };
static const rai_scan_elements_t fuzz_elements = { fuzz_patterns, 2 };

/* A report is stored as 2 * offset + (1 if it is a script). */
typedef struct {
    size_t *at;
    size_t count, cap;
    int in_text;                /* rai_scan_in_text at the end */
} fuzz_offsets_t;

static void fuzz_offsets_add(fuzz_offsets_t *o, size_t at)
{
    if (o->count == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->at = realloc(o->at, o->cap * sizeof(*o->at));
        if (!o->at)
            abort();
    }
    o->at[o->count++] = at;
}

/* Scans page in chunks of chunk bytes, the first one first_chunk bytes
 * long; each chunk is copied to a buffer of its own size so that ASan
 * sees a read past its end. */
#ifndef RAI_FUZZ_NO_MODEL
static void fuzz_model_found(void *ctx, size_t at, int script)
{
    fuzz_offsets_add(ctx, 2 * at + (script != 0));
}
#endif

static void fuzz_scan(const char *page, size_t len, size_t first_chunk,
                      size_t chunk, int scripts, fuzz_offsets_t *found)
{
    rai_scan_t scan;
    size_t start = 0;

    rai_scan_init(&scan, &fuzz_elements);
    rai_scan_report_scripts(&scan, scripts);
    found->count = 0;
    for (int first = 1; first || start < len; first = 0) {
        size_t size = first ? first_chunk : chunk;   /* only the first may be 0 */
        size_t pos = 0;
        char *bytes;

        if (size > len - start)
            size = len - start;
        bytes = malloc(size ? size : 1);
        if (!bytes)
            abort();
        memcpy(bytes, page + start, size);
        for (;;) {
            size_t off = rai_scan_next(&scan, bytes + pos, size - pos);
            if (off > size - pos) {
                fprintf(stderr, "rai_scan_next went past the chunk\n");
                abort();
            }
            if (off == size - pos)
                break;
            if (found->count && found->at[found->count - 1] / 2 == start + pos + off) {
                fprintf(stderr, "offset %zu reported twice\n", start + pos + off);
                abort();
            }
            fuzz_offsets_add(found, 2 * (start + pos + off)
                                    + (size_t)rai_scan_reported_script(&scan));
            pos += off;
        }
        free(bytes);
        start += size;
    }
    found->in_text = rai_scan_in_text(&scan);
}

static void fuzz_compare(const char *what, const fuzz_offsets_t *a,
                         const fuzz_offsets_t *b)
{
    size_t i;

    for (i = 0; i < a->count && i < b->count; i++)
        if (a->at[i] != b->at[i])
            break;
    if (a->count == b->count && i == a->count && a->in_text == b->in_text)
        return;
    fprintf(stderr, "%s: %zu reports against %zu whole; first difference "
            "at report %zu (%lld%s against %lld%s); in_text %d against %d\n",
            what, a->count, b->count, i,
            i < a->count ? (long long)(a->at[i] / 2) : -1LL,
            i < a->count && a->at[i] % 2 ? " script" : "",
            i < b->count ? (long long)(b->at[i] / 2) : -1LL,
            i < b->count && b->at[i] % 2 ? " script" : "",
            a->in_text, b->in_text);
    abort();
}

/* Each insertion must follow "<" and a widget name, and sit on the
 * whitespace, '/' or '>' that ends it. */
#ifndef RAI_FUZZ_NO_SITES
static void fuzz_check_sites(const char *page, const fuzz_offsets_t *found)
{
    for (size_t i = 0; i < found->count; i++) {
        size_t at = found->at[i] / 2, start = at;
        char name[RAI_SCAN_NAME_MAX];
        unsigned char c = (unsigned char)page[at];

        if (!(c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
              || c == '/' || c == '>')) {
            fprintf(stderr, "insertion at %zu before byte 0x%02x\n", at, c);
            abort();
        }
        while (start > 0 && page[start - 1] != '<')
            start--;
        if (start == 0 || at - start > RAI_SCAN_NAME_MAX) {
            fprintf(stderr, "insertion at %zu not after a short tag name\n", at);
            abort();
        }
        for (size_t k = start; k < at; k++) {
            char b = page[k];
            name[k - start] = b >= 'A' && b <= 'Z' ? (char)(b - 'A' + 'a') : b;
        }
        if (found->at[i] % 2 ? at - start != 6 || memcmp(name, "script", 6) != 0
            : !rai_scan_name_matches(&fuzz_elements, name, at - start)) {
            fprintf(stderr, "insertion at %zu after a name that is no widget\n", at);
            abort();
        }
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int impls[] = {
        RAI_SCAN_IMPL_PORTABLE, RAI_SCAN_IMPL_SSE2, RAI_SCAN_IMPL_AVX2,
        RAI_SCAN_IMPL_AVX512
    };
    fuzz_offsets_t whole = { 0 }, other = { 0 };
    const char *page = (const char *)data;
    size_t len = size, cut = 0, chunk = 1;
    int scripts = 0;

    if (size >= 3) {
        cut = (size_t)data[0] | (size_t)data[1] << 8;
        /* 1-16 bytes, or 1-196: chunks long enough for block mode */
        chunk = 1 + (size_t)(data[2] & 15) * (data[2] & 0x20 ? 13 : 1);
        scripts = data[2] >> 4 & 1;
        page += 3;
        len -= 3;
    }
    cut %= len + 1;

    rai_scan_force_impl(RAI_SCAN_IMPL_PORTABLE);
    fuzz_scan(page, len, len, 1, scripts, &whole);
#ifndef RAI_FUZZ_NO_SITES
    fuzz_check_sites(page, &whole);
#endif

    for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
        if (rai_scan_force_impl(impls[k]) != impls[k])
            continue;           /* not on this machine */
        if (k) {
            fuzz_scan(page, len, len, 1, scripts, &other);
            fuzz_compare(rai_scan_impl_name(impls[k]), &other, &whole);
        }
        fuzz_scan(page, len, cut, len ? len : 1, scripts, &other); /* cut may be 0 */
        fuzz_compare("cut in two", &other, &whole);

        fuzz_scan(page, len, chunk, chunk, scripts, &other);
        fuzz_compare("fixed-size chunks", &other, &whole);
    }

#ifndef RAI_FUZZ_NO_MODEL
    other.count = 0;
    other.in_text = rai_model_scan(&fuzz_elements, scripts, page, len,
                                   fuzz_model_found, &other);
    fuzz_compare("reference tokenizer", &other, &whole);
#endif

    free(whole.at);
    free(other.at);
    return 0;
}
