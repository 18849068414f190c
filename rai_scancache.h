/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_scancache: where the widgets of a static file are, remembered per
 * process, so that the next response can split the file bucket at those
 * offsets without reading it (and httpd keeps sendfile or mmap).
 *
 * An entry is keyed by what fstat() says of the open file - device,
 * inode, size, modification and change times in nanoseconds - and by the
 * scanner configuration it was made with.  A file changed since it was
 * scanned has another key, so its old entry is never used again (and
 * ages out).  A file changed in the last RAI_SCANCACHE_SETTLE seconds is
 * not recorded: file times come from a coarse clock, and two writes that
 * keep the size within one tick would otherwise look the same.
 *
 * Bounded: at most max_entries entries and max_bytes of them, least
 * recently used first out.  Thread-safe.  APR and POSIX only. */
#ifndef RAI_SCANCACHE_H
#define RAI_SCANCACHE_H

#include "apr_file_io.h"
#include "apr_pools.h"

/* Files larger than this, or with more elements, are not recorded. */
#define RAI_SCANCACHE_FILE_MAX     (64 * 1024 * 1024)
#define RAI_SCANCACHE_ELEMENTS_MAX 64
/* The most bytes of a file an entry holds (the pieces before elements). */
#define RAI_SCANCACHE_PIECES_MAX   (16 * 1024)
/* Seconds a file must be unchanged before it is recorded. */
#define RAI_SCANCACHE_SETTLE       2

typedef struct {
    apr_uint64_t device, inode;
    apr_uint64_t size;
    apr_int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
    const void *config;             /* the scanner configuration */
} rai_scancache_key_t;

typedef struct {
    apr_uint64_t at;                /* offset just after the element name */
    int kind;                       /* the caller's (widget, script) */
    apr_size_t tag_len;             /* the rest of its start tag */
    const char *tag;
    apr_size_t piece_len;           /* the file's bytes before it (from */
    const char *piece;              /* the element before), or NULL */
} rai_scancache_element_t;

typedef struct {
    int count;
    rai_scancache_element_t *elements;
    int in_text;                    /* the scan ended in text */
} rai_scancache_record_t;

typedef struct rai_scancache rai_scancache_t;

/* A cache of the given bounds, released with p; NULL when max_entries is
 * 0 (off). */
rai_scancache_t *rai_scancache_create(apr_pool_t *p, apr_size_t max_entries,
                                      apr_size_t max_bytes);

/* The key of an open file, read with fstat().  0 when the file may not be
 * cached: not a regular file, larger than RAI_SCANCACHE_FILE_MAX, or
 * changed less than RAI_SCANCACHE_SETTLE seconds before now_sec (for
 * recording; pass 0 to look up). */
int rai_scancache_key(apr_file_t *file, const void *config,
                      apr_int64_t now_sec, rai_scancache_key_t *key);

/* A copy of the record for key (in p), or NULL. */
rai_scancache_record_t *rai_scancache_get(rai_scancache_t *cache,
                                          const rai_scancache_key_t *key,
                                          apr_pool_t *p);

/* Keeps a copy of record under key (if it fits the bounds; without its
 * pieces if only that way). */
void rai_scancache_put(rai_scancache_t *cache, const rai_scancache_key_t *key,
                       const rai_scancache_record_t *record);

/* Entries and bytes held now (for tests and the status page). */
void rai_scancache_usage(rai_scancache_t *cache, apr_size_t *entries,
                         apr_size_t *bytes);

#endif
