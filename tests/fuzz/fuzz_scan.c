/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_scan: the same page scanned whole, cut in two,
 * and cut in fixed-size chunks must give the same insertion offsets, every
 * offset must sit on the byte that ends a widget's name, and (unless built
 * with -DRAI_FUZZ_NO_MODEL) the offsets must be those of the reference
 * tokenizer in tests/unit/scan_model.c.  Any difference aborts.
 *
 * Input: byte 0-1 choose the cut, byte 2 the chunk size, the rest is the
 * page.
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

typedef struct {
    size_t *at;
    size_t count, cap;
} fuzz_offsets_t;

static void fuzz_offsets_add(void *ctx, size_t at)
{
    fuzz_offsets_t *o = ctx;
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
static void fuzz_scan(const char *page, size_t len, size_t first_chunk,
                      size_t chunk, fuzz_offsets_t *found)
{
    rai_scan_t scan;
    size_t start = 0;

    rai_scan_init(&scan, &fuzz_elements);
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
            if (found->count && found->at[found->count - 1] == start + pos + off) {
                fprintf(stderr, "offset %zu reported twice\n", start + pos + off);
                abort();
            }
            fuzz_offsets_add(found, start + pos + off);
            pos += off;
        }
        free(bytes);
        start += size;
    }
}

static void fuzz_compare(const char *what, const fuzz_offsets_t *a,
                         const fuzz_offsets_t *b)
{
    size_t i;

    for (i = 0; i < a->count && i < b->count; i++)
        if (a->at[i] != b->at[i])
            break;
    if (a->count == b->count && i == a->count)
        return;
    fprintf(stderr, "%s: %zu insertions against %zu whole; first difference "
            "at insertion %zu (%lld against %lld)\n", what, a->count, b->count,
            i, i < a->count ? (long long)a->at[i] : -1LL,
            i < b->count ? (long long)b->at[i] : -1LL);
    abort();
}

/* Each insertion must follow "<" and a widget name, and sit on the
 * whitespace, '/' or '>' that ends it. */
#ifndef RAI_FUZZ_NO_SITES
static void fuzz_check_sites(const char *page, const fuzz_offsets_t *found)
{
    for (size_t i = 0; i < found->count; i++) {
        size_t at = found->at[i], start = at;
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
        if (!rai_scan_name_matches(&fuzz_elements, name, at - start)) {
            fprintf(stderr, "insertion at %zu after a name that is no widget\n", at);
            abort();
        }
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_offsets_t whole = { 0 }, other = { 0 };
    const char *page = (const char *)data;
    size_t len = size, cut = 0, chunk = 1;

    if (size >= 3) {
        cut = (size_t)data[0] | (size_t)data[1] << 8;
        chunk = 1 + data[2] % 16;
        page += 3;
        len -= 3;
    }
    cut %= len + 1;

    fuzz_scan(page, len, len, 1, &whole);
#ifndef RAI_FUZZ_NO_SITES
    fuzz_check_sites(page, &whole);
#endif

    fuzz_scan(page, len, cut, len ? len : 1, &other);   /* cut may be 0 */
    fuzz_compare("cut in two", &other, &whole);

    fuzz_scan(page, len, chunk, chunk, &other);
    fuzz_compare("fixed-size chunks", &other, &whole);

#ifndef RAI_FUZZ_NO_MODEL
    other.count = 0;
    rai_model_scan(&fuzz_elements, 0, page, len, fuzz_offsets_add, &other);
    fuzz_compare("reference tokenizer", &other, &whole);
#endif

    free(whole.at);
    free(other.at);
    return 0;
}
