/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* bench_scan: how fast rai_scan reads real HTML, next to the floor of a
 * bare memchr for '<' over the same bytes.
 *
 * Reads every HTML file (name ending in ".html" or holding ".html.", as in
 * index.html.en) under a directory, by default Debian's apache2-doc manual,
 * into one buffer, then, RUNS rounds in a row, times a bare memchr pass
 * and a rai_scan pass over it in 64 KiB chunks, one right after the
 * other, so that both see the same machine, for the implementation
 * rai_scan picks on this CPU and then for each one it can force (all of
 * them in every round).  Prints the median MB/s of each, and the median
 * of the per-round ratios.
 *
 * Build and run (from the top of the tree), pinned to one CPU:
 *   cc -O2 -Wall -Wextra -I. bench/bench_scan.c rai_scan.c -o bench/bench_scan.bin
 *   taskset -c 1 ./bench/bench_scan.bin [directory]
 */

#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rai_scan.h"

#define BENCH_DEFAULT_DIR "/usr/share/doc/apache2-doc/manual"
#define BENCH_CHUNK (64 * 1024)
#define BENCH_RUNS 31

static char *bench_bytes;
static size_t bench_len, bench_cap, bench_files;

static int bench_is_html(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t len;

    base = base ? base + 1 : path;
    len = strlen(base);
    return (len >= 5 && strcmp(base + len - 5, ".html") == 0)
           || strstr(base, ".html.") != NULL;
}

static int bench_add_file(const char *path, const struct stat *st, int type,
                          struct FTW *ftw)
{
    FILE *file;
    size_t got;

    (void)ftw;
    if (type != FTW_F || !bench_is_html(path))
        return 0;
    if (bench_len + (size_t)st->st_size > bench_cap) {
        bench_cap = 2 * (bench_len + (size_t)st->st_size);
        bench_bytes = realloc(bench_bytes, bench_cap);
        if (!bench_bytes) {
            perror("realloc");
            exit(1);
        }
    }
    file = fopen(path, "rb");
    if (!file) {
        perror(path);
        return 0;
    }
    got = fread(bench_bytes + bench_len, 1, (size_t)st->st_size, file);
    fclose(file);
    bench_len += got;
    bench_files++;
    return 0;
}

/* The thread's CPU time: a VM's steal time does not count. */
static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const bench_patterns[] = { "rai-widget", "rai-*-widget" };
static const rai_scan_elements_t bench_elements = { bench_patterns, 2 };

/* The scanner as the filter drives it; returns the widgets found. */
static size_t bench_scan_pass(void)
{
    rai_scan_t scan;
    size_t widgets = 0;

    rai_scan_init(&scan, &bench_elements);
    for (size_t pos = 0; pos < bench_len; pos += BENCH_CHUNK) {
        size_t size = bench_len - pos < BENCH_CHUNK ? bench_len - pos : BENCH_CHUNK;
        const char *chunk = bench_bytes + pos;
        size_t off;

        while ((off = rai_scan_next(&scan, chunk, size)) < size) {
            widgets++;
            chunk += off;
            size -= off;
        }
    }
    return widgets;
}

/* The floor: find every '<' and do nothing else. */
static size_t bench_memchr_pass(void)
{
    size_t count = 0;

    for (size_t pos = 0; pos < bench_len; pos += BENCH_CHUNK) {
        size_t size = bench_len - pos < BENCH_CHUNK ? bench_len - pos : BENCH_CHUNK;
        const char *p = bench_bytes + pos, *end = p + size;

        while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
            count++;
            p++;
        }
    }
    return count;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v)
{
    qsort(v, BENCH_RUNS, sizeof(v[0]), bench_cmp_double);
    return v[BENCH_RUNS / 2];
}

/* The fastest of the rounds (after bench_median sorted them). */
static double bench_best(const double *v)
{
    return v[BENCH_RUNS - 1];
}

/* MB/s (10^6 bytes per second) of one pass. */
static double bench_time(size_t (*pass)(void), size_t *result)
{
    double start = bench_now();

    *result = pass();
    return (double)bench_len / 1e6 / (bench_now() - start);
}

/* The implementations compared: what rai_scan picks, then each one. */
static const struct {
    const char *label;
    int impl;
} bench_impls[] = {
    { "auto", RAI_SCAN_IMPL_AUTO }, { "portable", RAI_SCAN_IMPL_PORTABLE },
    { "sse2", RAI_SCAN_IMPL_SSE2 }, { "avx2", RAI_SCAN_IMPL_AVX2 },
    { "avx512", RAI_SCAN_IMPL_AVX512 }
};
#define BENCH_IMPLS (sizeof(bench_impls) / sizeof(bench_impls[0]))

/* RUNS rounds; in each, for every implementation this machine has, a
 * memchr pass right before its rai_scan pass, so that the drift of a
 * shared machine hits every row alike.  Prints the medians. */
static void bench_all(void)
{
    static double scan[BENCH_IMPLS][BENCH_RUNS], floor[BENCH_IMPLS][BENCH_RUNS],
                  ratio[BENCH_IMPLS][BENCH_RUNS];
    size_t widgets[BENCH_IMPLS] = { 0 }, tags = 0;
    int used[BENCH_IMPLS];
    size_t k;

    for (k = 0; k < BENCH_IMPLS; k++) {
        used[k] = rai_scan_force_impl(bench_impls[k].impl);
        if (bench_impls[k].impl != RAI_SCAN_IMPL_AUTO && used[k] != bench_impls[k].impl) {
            used[k] = -1;
        }
    }
    bench_scan_pass();          /* warm the caches */
    bench_memchr_pass();
    for (int run = 0; run < BENCH_RUNS; run++) {
        for (k = 0; k < BENCH_IMPLS; k++) {
            if (used[k] < 0) {
                continue;
            }
            rai_scan_force_impl(bench_impls[k].impl);
            floor[k][run] = bench_time(bench_memchr_pass, &tags);
            scan[k][run] = bench_time(bench_scan_pass, &widgets[k]);
            ratio[k][run] = scan[k][run] / floor[k][run];
        }
    }
    for (k = 0; k < BENCH_IMPLS; k++) {
        if (used[k] < 0) {
            printf("%-9s not available here\n", bench_impls[k].label);
            continue;
        }
        double sm = bench_median(scan[k]), fm = bench_median(floor[k]);

        printf("%-9s rai_scan %8.1f MB/s   memchr %8.1f MB/s   ratio %6.3f"
               "   best %6.3f   (%s; %zu widgets, %zu '<')\n", bench_impls[k].label,
               sm, fm, bench_median(ratio[k]), bench_best(scan[k]) / bench_best(floor[k]),
               rai_scan_impl_name(used[k]), widgets[k], tags);
    }
    rai_scan_force_impl(RAI_SCAN_IMPL_AUTO);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : BENCH_DEFAULT_DIR;

    if (nftw(dir, bench_add_file, 32, FTW_PHYS) != 0) {
        perror(dir);
        return 1;
    }
    if (bench_len == 0) {
        fprintf(stderr, "no HTML files under %s\n", dir);
        return 1;
    }

    printf("input:    %zu files, %zu bytes, under %s\n", bench_files, bench_len, dir);
    printf("chunks:   %d KiB, medians of %d rounds (each: memchr, then rai_scan, per implementation;\n"
           "          thread CPU time); ratio: the median of the rounds' ratios; best: the fastest\n"
           "          rai_scan pass over the fastest memchr pass\n",
           BENCH_CHUNK / 1024, BENCH_RUNS);
    bench_all();
    free(bench_bytes);
    return 0;
}
