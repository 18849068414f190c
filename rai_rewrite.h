/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_rewrite: the RAI_EMBED filter's work on a stream of buckets, with
 * no httpd types (APR-util buckets only), so that it can be unit-tested
 * and fuzzed with any bucket boundaries.
 *
 * The scanner (rai_scan) finds widget start tags, and <script> start tags
 * when asked.  At each one the rest of the tag is held back - split off
 * its buckets, never copied, at most RAI_TAG_LIMIT bytes - while rai_tag
 * reads its attributes; then the caller's attribute() hook says what to
 * insert right after the element name, and the held bytes go on.  Data
 * is passed on at least every RAI_REWRITE_PASS_BYTES, FLUSH and EOS at
 * once: memory stays bounded whatever the page. */
#ifndef RAI_REWRITE_H
#define RAI_REWRITE_H

/* first: without offsetof, APR_OFFSETOF (in every ring macro) takes a
 * member of a NULL pointer, which UBSan (clang) reports */
#include <stddef.h>

#include "apr_buckets.h"

#include "rai_scan.h"
#include "rai_tag.h"
#include "rai_scancache.h"

/* Pass scanned data on once this much has gathered. */
#define RAI_REWRITE_PASS_BYTES (64 * 1024)

/* A file bucket the core sends by sendfile holds no memory: it is scanned
 * from a buffer of this size, and passed on once this much of it has
 * gathered (or at a FLUSH, at EOS, or with RAI_REWRITE_PASS_BYTES of other
 * data). */
#define RAI_REWRITE_READ_BYTES (64 * 1024)
#define RAI_REWRITE_PASS_FILE_BYTES (1024 * 1024)

typedef struct rai_rewrite rai_rewrite_t;

typedef enum {
    RAI_REWRITE_WIDGET,
    RAI_REWRITE_SCRIPT
} rai_rewrite_kind_e;

typedef struct {
    /* At the end of a reported start tag (rai_tag_done()), or when it was
     * cut short (RAI_TAG_LIMIT, or the end of the stream): the text to
     * insert after its element name; "" for nothing; NULL for nothing
     * here nor in the rest of the stream, which then passes unscanned.
     * It may call rai_rewrite_flush() before it waits for something. */
    const char *(*attribute)(void *baton, rai_rewrite_kind_e kind,
                             const rai_tag_t *tag);
    /* Passes bb to the next filter; bb is emptied afterwards. */
    apr_status_t (*pass)(void *baton, apr_bucket_brigade *bb);
    /* Before EOS: text to add at the end of the stream, or NULL.  May be
     * NULL itself. */
    const char *(*at_end)(void *baton, const rai_rewrite_t *rewrite);
    /* Something went wrong that the caller may log (what: a short phrase);
     * the rest of the stream passes unchanged.  May be NULL. */
    void (*trouble)(void *baton, const char *what);
    void *baton;
} rai_rewrite_hooks_t;

/* A rewrite for one stream; its memory comes from p and lasts with it. */
rai_rewrite_t *rai_rewrite_create(apr_pool_t *p, apr_bucket_alloc_t *ba,
                                  const rai_scan_elements_t *elements,
                                  int report_scripts,
                                  const rai_rewrite_hooks_t *hooks);

/* Lets the rewrite use cache (NULL: none): a response that is one whole
 * file bucket and EOS is recorded as it is scanned, and replayed later
 * without reading the file.  config tells scanner configurations apart
 * (elements, script reports): records of one are never used for another. */
void rai_rewrite_scancache(rai_rewrite_t *rewrite, rai_scancache_t *cache,
                           const void *config);

/* A file the core sends by sendfile is scanned from a buffer of the
 * rewrite's own and passed on unread when it has not changed for settle
 * (default RAI_SCANCACHE_SETTLE seconds); a fresher one is read as any
 * bucket.  Tests set 0. */
void rai_rewrite_file_settle(rai_rewrite_t *rewrite, apr_interval_time_t settle);

/* Whether this stream was replayed from the scan cache. */
int rai_rewrite_replayed(const rai_rewrite_t *rewrite);

/* Of a replayed file: the bytes sent from the record's copies, and those
 * read from the file (the rest goes to the core as file buckets). */
void rai_rewrite_replayed_bytes(const rai_rewrite_t *rewrite,
                                apr_size_t *copied, apr_size_t *read);

/* Takes every bucket of bb (which is left empty) and passes on what may
 * go.  Returns the first error of a read or of the pass hook. */
apr_status_t rai_rewrite_brigade(rai_rewrite_t *rewrite,
                                 apr_bucket_brigade *bb);

/* Passes on what is ready, with a FLUSH: for the attribute() hook, before
 * it waits.  Held bytes stay held. */
apr_status_t rai_rewrite_flush(rai_rewrite_t *rewrite);

/* Whether nothing more will be inserted (the rest passes unscanned). */
int rai_rewrite_finished(const rai_rewrite_t *rewrite);

/* How many insertions were made so far. */
unsigned long rai_rewrite_inserted(const rai_rewrite_t *rewrite);

/* Whether the stream so far ends in text, where an element may start. */
int rai_rewrite_in_text(const rai_rewrite_t *rewrite);

#endif
