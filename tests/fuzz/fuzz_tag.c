/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_tag: one start tag read whole, at random cuts
 * chosen by the input, and one byte a call must give the same result
 * (where it ended, how, every kept attribute, the trust verdict and its
 * reason, the script match); every piece is copied to a buffer of its own
 * size so that ASan sees a read past it.  The URL checks, the host pattern
 * check and the script match also get the raw input.  Any difference
 * aborts.
 *
 * Input: byte 0-3 seed the cuts, the rest is the tag (after the element
 * name).
 *
 * Build and run (from the top of the tree): make fuzz-replay (the seed
 * corpus once), make fuzz (FUZZ_SECONDS of new inputs).  Reproduce a
 * crash: ./tests/fuzz/fuzz_tag.bin crash-...
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rai_tag.h"

static const char *const fuzz_host_patterns[] = {
    "returning.ai", "*.returning.ai", "[::1]"
};
static const rai_hosts_t fuzz_hosts = { fuzz_host_patterns, 3 };
static const char *const fuzz_scripts[] = { "*/widget-loader.js", "/a*b*c" };

#define FUZZ_BYTES_MAX 1024

typedef struct {
    size_t end;
    int done, overflow, trusted, script;
    char bad[RAI_TAG_NAME_MAX + 64];
} fuzz_verdict_t;

static rai_tag_t fuzz_tags[3];

static void fuzz_verdict(const rai_tag_t *tag, size_t end, fuzz_verdict_t *v)
{
    const char *bad = "", *src;
    size_t len = 0;

    memset(v, 0, sizeof(*v));
    v->end = end;
    v->done = rai_tag_done(tag);
    v->overflow = rai_tag_overflow(tag);
    v->trusted = rai_tag_urls_trusted(tag, &fuzz_hosts, &bad);
    if (!v->trusted) {
        if (!bad || strlen(bad) >= sizeof(v->bad)) {
            abort();
        }
        strcpy(v->bad, bad);
    }
    src = rai_tag_src(tag, &len);
    if (src) {
        if (len > RAI_TAG_STORE || src[len] != '\0') {
            abort();
        }
        v->script = 1 + rai_scripts_match(src, len, fuzz_scripts, 2);
    }
    if (tag->count < 0 || tag->count > RAI_TAG_KEEP_MAX
        || tag->store_len > RAI_TAG_STORE
        || tag->consumed > RAI_TAG_LIMIT) {
        abort();
    }
}

/* Feeds page in pieces: cut[] of ncut ascending offsets. */
static size_t fuzz_feed(rai_tag_t *tag, const uint8_t *page, size_t len,
                        const size_t *cut, size_t ncut)
{
    size_t start = 0, k, stop, used;

    rai_tag_init(tag);
    for (k = 0; k <= ncut; k++) {
        char *piece;
        stop = k < ncut ? cut[k] : len;
        piece = malloc(stop - start ? stop - start : 1);
        if (!piece) {
            abort();
        }
        memcpy(piece, page + start, stop - start);
        used = rai_tag_feed(tag, piece, stop - start);
        free(piece);
        if (used > stop - start) {
            abort();
        }
        if (rai_tag_done(tag) || rai_tag_overflow(tag)) {
            if (rai_tag_feed(tag, ">", 1) != 0) {
                abort();
            }
            return start + used;
        }
        if (used != stop - start) {
            abort();
        }
        start = stop;
    }
    return len;
}

static int fuzz_same(const rai_tag_t *a, const rai_tag_t *b)
{
    int i;

    if (a->count != b->count) {
        return 0;
    }
    for (i = 0; i < a->count; i++) {
        const rai_tag_attr_t *x = &a->attrs[i], *y = &b->attrs[i];
        if (strcmp(a->store + x->name, b->store + y->name)
            || x->value_len != y->value_len
            || memcmp(a->store + x->value, b->store + y->value,
                      x->value_len)) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t cut[64];
    fuzz_verdict_t whole, pieces, bytes;
    uint32_t seed;
    size_t len, ncut = 0, i, at = 0;
    char *pattern;

    if (size < 4) {
        return 0;
    }
    seed = (uint32_t)data[0] | (uint32_t)data[1] << 8
           | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    data += 4;
    len = size - 4;

    fuzz_verdict(&fuzz_tags[0], fuzz_feed(&fuzz_tags[0], data, len, NULL, 0),
                 &whole);
    /* random cuts, ascending, from a small LCG on the seed */
    while (ncut < 64 && len) {
        seed = seed * 1103515245u + 12345u;
        at += 1 + (seed >> 16) % (len / 4 + 2);
        if (at >= len) {
            break;
        }
        cut[ncut++] = at;
    }
    fuzz_verdict(&fuzz_tags[1], fuzz_feed(&fuzz_tags[1], data, len, cut, ncut),
                 &pieces);
    /* one byte a piece, for inputs up to FUZZ_BYTES_MAX */
    if (len <= FUZZ_BYTES_MAX) {
        static size_t every[FUZZ_BYTES_MAX];
        for (i = 0; i + 1 < len; i++) {
            every[i] = i + 1;
        }
        fuzz_verdict(&fuzz_tags[2], fuzz_feed(&fuzz_tags[2], data, len, every,
                                              len ? len - 1 : 0), &bytes);
    }
    if (memcmp(&whole, &pieces, sizeof(whole))
        || !fuzz_same(&fuzz_tags[0], &fuzz_tags[1])) {
        abort();
    }
    if (len <= FUZZ_BYTES_MAX && (memcmp(&whole, &bytes, sizeof(whole))
                        || !fuzz_same(&fuzz_tags[0], &fuzz_tags[2]))) {
        abort();
    }

    /* the raw input as a URL, a script src and a host pattern */
    (void)rai_hosts_url_trusted(&fuzz_hosts, (const char *)data, len);
    (void)rai_scripts_match((const char *)data, len, fuzz_scripts, 2);
    pattern = malloc(len + 1);
    if (!pattern) {
        abort();
    }
    memcpy(pattern, data, len);
    pattern[len] = '\0';
    if (!rai_hosts_pattern_check(pattern) && pattern[0] != '[') {
        /* a valid pattern trusts what it names, and only that */
        const char *name = pattern[0] == '*' ? pattern + 2 : pattern;
        const char *const one[] = { pattern };
        const rai_hosts_t hosts = { one, 1 };
        char url[300];
        int n = snprintf(url, sizeof(url), "https://%s%s/x",
                         pattern[0] == '*' ? "a." : "", name);
        if (n <= 0 || (size_t)n >= sizeof(url)
            || !rai_hosts_url_trusted(&hosts, url, (size_t)n)) {
            abort();
        }
        n = snprintf(url, sizeof(url), "https://%s.evil.example/", name);
        if (rai_hosts_url_trusted(&hosts, url, (size_t)n)) {
            abort();
        }
    }
    (void)rai_scripts_pattern_check(pattern);
    free(pattern);
    return 0;
}
