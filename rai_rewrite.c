/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "apr_portable.h"
#include "apr_tables.h"

#include "rai_rewrite.h"

struct rai_rewrite {
    rai_scan_t scan;
    const rai_scan_elements_t *elements;    /* what scan is made with */
    int report_scripts;
    rai_tag_t *tag;                 /* the held tag's attributes */
    const rai_rewrite_hooks_t *hooks;
    apr_bucket_alloc_t *ba;
    apr_bucket_brigade *out;        /* ready to pass on */
    apr_bucket_brigade *held;       /* the rest of a reported tag */
    apr_size_t out_bytes;
    int holding;
    rai_rewrite_kind_e kind;
    int finished;
    unsigned long inserted;

    /* the scan cache: whole static files are recorded once, then replayed */
    rai_scancache_t *cache;
    const void *config;
    apr_pool_t *pool;
    int first_seen;
    int replayed;                   /* -1: not; else the recorded in_text */
    apr_size_t replay_copied, replay_read;  /* bytes of the file, from the
                                             * record and read */
    int recording;
    rai_scancache_key_t key;
    apr_file_t *rec_file;           /* the file recorded */
    apr_uint64_t rec_pos;           /* file offset of the next byte scanned */
    apr_array_header_t *rec;        /* rai_scancache_element_t */
    apr_array_header_t *rec_tag;    /* the held tag's bytes */

    /* File buckets the core will send by sendfile are scanned from a
     * buffer of our own and passed on as they are (rai_rewrite_read) */
    char *buf;
    const apr_bucket_file *buf_file;    /* what buf holds: NULL, or bytes */
    apr_off_t buf_at;                   /* buf_file's, from this offset */
    apr_size_t buf_len;
    apr_size_t cursor;              /* bytes of the first bucket of bb
                                     * scanned but still in it (a file) */
    apr_size_t file_bytes;          /* bytes of such files in out */
    apr_interval_time_t settle;     /* how long such a file must not
                                     * have changed */
    apr_file_t *settled_fd;         /* the last file judged, and whether */
    int settled;                    /* it had not */
};

rai_rewrite_t *rai_rewrite_create(apr_pool_t *p, apr_bucket_alloc_t *ba,
                                  const rai_scan_elements_t *elements,
                                  int report_scripts,
                                  const rai_rewrite_hooks_t *hooks)
{
    rai_rewrite_t *rw = apr_pcalloc(p, sizeof(*rw));

    /* the scanner is made ready at the first brigade, unless the stream
     * is replayed from the scan cache (which needs none) */
    rw->elements = elements;
    rw->report_scripts = report_scripts;
    rw->tag = apr_palloc(p, sizeof(*rw->tag));
    rw->hooks = hooks;
    rw->ba = ba;
    rw->out = apr_brigade_create(p, ba);
    rw->held = apr_brigade_create(p, ba);
    rw->pool = p;
    rw->replayed = -1;
    rw->settle = apr_time_from_sec(RAI_SCANCACHE_SETTLE);
    return rw;
}

void rai_rewrite_file_settle(rai_rewrite_t *rw, apr_interval_time_t settle)
{
    rw->settle = settle;
}

void rai_rewrite_scancache(rai_rewrite_t *rw, rai_scancache_t *cache,
                           const void *config)
{
    rw->cache = cache;
    rw->config = config;
}

int rai_rewrite_replayed(const rai_rewrite_t *rw)
{
    return rw->replayed != -1;
}

void rai_rewrite_replayed_bytes(const rai_rewrite_t *rw, apr_size_t *copied,
                                apr_size_t *read)
{
    *copied = rw->replay_copied;
    *read = rw->replay_read;
}

static apr_status_t rai_rewrite_pass(rai_rewrite_t *rw)
{
    apr_status_t rv = rw->hooks->pass(rw->hooks->baton, rw->out);
    apr_brigade_cleanup(rw->out);
    rw->out_bytes = rw->file_bytes = 0;
    /* the buckets buf was read from may be gone, and files judged */
    rw->buf_file = NULL;
    rw->settled_fd = NULL;
    return rv;
}

apr_status_t rai_rewrite_flush(rai_rewrite_t *rw)
{
    APR_BRIGADE_INSERT_TAIL(rw->out, apr_bucket_flush_create(rw->ba));
    return rai_rewrite_pass(rw);
}

int rai_rewrite_finished(const rai_rewrite_t *rw)
{
    return rw->finished;
}

unsigned long rai_rewrite_inserted(const rai_rewrite_t *rw)
{
    return rw->inserted;
}

int rai_rewrite_in_text(const rai_rewrite_t *rw)
{
    if (rw->replayed != -1) {
        return rw->replayed;
    }
    /* nothing seen yet: the start of a stream is text */
    return !rw->first_seen || (!rw->holding && rai_scan_in_text(&rw->scan));
}

static void rai_rewrite_trouble(rai_rewrite_t *rw, const char *what)
{
    if (rw->hooks->trouble) {
        rw->hooks->trouble(rw->hooks->baton, what);
    }
    rw->finished = 1;
    rw->recording = 0;
}

/* Moves the first bucket of bb to the tail of to. */
static void rai_rewrite_move(apr_bucket_brigade *bb, apr_bucket_brigade *to)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb);

    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(to, b);
}

/* The held tag has ended (or was cut short): ask what goes after its
 * name, which is where the held bytes begin, and let them go on. */
static void rai_rewrite_release(rai_rewrite_t *rw, apr_size_t held_bytes)
{
    const char *text = rw->hooks->attribute(rw->hooks->baton, rw->kind,
                                            rw->tag);

    if (rw->recording && !rai_tag_done(rw->tag)) {
        rw->recording = 0;          /* a tag too long to keep */
    }
    if (!text) {
        rw->finished = 1;
    }
    else if (*text) {
        apr_size_t len = strlen(text);
        /* a copy per element: freed as soon as it is written */
        APR_BRIGADE_INSERT_HEAD(rw->held,
                                apr_bucket_heap_create(text, len, NULL,
                                                       rw->ba));
        rw->out_bytes += len;
        rw->inserted++;
    }
    APR_BRIGADE_CONCAT(rw->out, rw->held);
    rw->out_bytes += held_bytes;
    rw->holding = 0;
}

/* Splits the first bucket of bb after at bytes (0 < at < its length). */
static int rai_rewrite_split(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                             apr_size_t at)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb);

    if (apr_bucket_split(b, at) != APR_SUCCESS) {
        rai_rewrite_trouble(rw, b->type->name);
        return 0;
    }
    return 1;
}

/* Recording: the tag bytes held for the last element go with it. */
static void rai_rewrite_record_tag(rai_rewrite_t *rw)
{
    rai_scancache_element_t *e;

    if (rw->rec->nelts && rw->rec_tag) {
        e = &APR_ARRAY_IDX(rw->rec, rw->rec->nelts - 1,
                           rai_scancache_element_t);
        e->tag = rw->rec_tag->elts;
        e->tag_len = (apr_size_t)rw->rec_tag->nelts;
        rw->rec_tag = NULL;
    }
}

/* Reads len bytes of f at offset at into buf with pread (one system call
 * where seeking and reading take two); *got tells how many came, fewer
 * only at the end of the file. */
static apr_status_t rai_rewrite_pread(apr_file_t *f, char *buf, apr_size_t len,
                                      apr_off_t at, apr_size_t *got)
{
    apr_os_file_t fd;
    apr_status_t rv;

    *got = 0;
    if ((rv = apr_os_file_get(&fd, f)) != APR_SUCCESS) {
        return rv;
    }
    while (*got < len) {
        ssize_t n = pread(fd, buf + *got, len - *got, (off_t)at + (off_t)*got);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return APR_FROM_OS_ERROR(errno);
        }
        if (n == 0) {
            break;
        }
        *got += (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* Recording: the bytes of the file before each element (from the one
 * before it), where they are short enough for rai_rewrite_replay_piece
 * to send from memory (a longer piece goes by sendfile), so that a
 * replay reads nothing of the file.  Read once, at the end of the scan;
 * 0 if the file is no longer what its key says (changed while it was
 * being served): then nothing is recorded. */
static int rai_rewrite_record_pieces(rai_rewrite_t *rw,
                                     rai_scancache_record_t *record)
{
    rai_scancache_key_t now;
    apr_uint64_t from = 0;
    apr_size_t held = 0, len, got;
    int i;

    for (i = 0; i < record->count; i++) {
        rai_scancache_element_t *e = &record->elements[i];
        char *buf;

        len = (apr_size_t)(e->at - from);
        if (len && len <= APR_BUCKET_BUFF_SIZE
            && held + len <= RAI_SCANCACHE_PIECES_MAX
            && rai_rewrite_pread(rw->rec_file, buf = apr_palloc(rw->pool, len),
                                 len, (apr_off_t)from, &got) == APR_SUCCESS
            && got == len) {
            e->piece = buf;
            e->piece_len = len;
            held += len;
        }
        from = e->at;
    }
    return rai_scancache_key(rw->rec_file, rw->config, 0, &now)
           && !memcmp(&now, &rw->key, sizeof(now));
}

/* At the end of the stream: keep what a whole scan of the file found. */
static void rai_rewrite_record_end(rai_rewrite_t *rw)
{
    rai_scancache_record_t record;

    rai_rewrite_record_tag(rw);
    if (rw->recording && !rw->finished && !rw->holding
        && rw->rec_pos == rw->key.size) {
        record.count = rw->rec->nelts;
        record.elements = (rai_scancache_element_t *)rw->rec->elts;
        record.in_text = rai_rewrite_in_text(rw);
        if (rai_rewrite_record_pieces(rw, &record)) {
            rai_scancache_put(rw->cache, &rw->key, &record);
        }
    }
    rw->recording = 0;
}

/* A piece of the file before a replayed element e (the first bucket of
 * bb, split off): a short one goes out from memory - the copy the record
 * holds, or else one read of it (never mapped).  Left a file bucket, the
 * core would send it by sendfile of its own, between a TCP_CORK and an
 * uncork that pushes a short segment out, and then the next piece the
 * same way: memory goes out with the headers and the inserted text in
 * one writev, before the sendfile of the rest.  A piece that fails to
 * read stays a file bucket, for the core to fail on as it would have. */
static void rai_rewrite_replay_piece(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                                     const rai_scancache_element_t *e)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb), *stop = APR_BUCKET_NEXT(b);
    apr_size_t len;
    const char *data;

    if (APR_BUCKET_IS_FILE(b) && e->piece && b->length == e->piece_len) {
        /* the record's copy, in rw->pool: the file's bytes when its key
         * was made, which are its bytes now since the key is the same */
        APR_BUCKET_INSERT_BEFORE(b, apr_bucket_pool_create(e->piece, e->piece_len,
                                                           rw->pool, rw->ba));
        apr_bucket_delete(b);
        rw->replay_copied += e->piece_len;
    }
    else if (APR_BUCKET_IS_FILE(b) && b->length <= APR_BUCKET_BUFF_SIZE) {
        const apr_bucket_file *file = b->data;
        char *buf = apr_bucket_alloc(b->length, rw->ba);    /* never 0 */

        if (rai_rewrite_pread(file->fd, buf, b->length, b->start, &len) == APR_SUCCESS
            && len == b->length) {
            apr_bucket *heap = apr_bucket_heap_create(buf, len, apr_bucket_free,
                                                      rw->ba);

            APR_BUCKET_INSERT_BEFORE(b, heap);
            apr_bucket_delete(b);
            rw->replay_read += len;
        }
        else {
            apr_bucket_free(buf);
#if APR_HAS_MMAP
            apr_bucket_file_enable_mmap(b, 0);
#endif
            if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) == APR_SUCCESS) {
                rw->replay_read += len;
            }
        }
    }
    /* what the read made of the piece lies before stop, whatever it read
     * (a file that shrank reads short, or nothing) */
    while (!APR_BRIGADE_EMPTY(bb) && APR_BRIGADE_FIRST(bb) != stop) {
        rai_rewrite_move(bb, rw->out);
    }
}

/* The elements a record knows, inserted without reading the file: the
 * file bucket is split at their offsets, and the rest passes unscanned. */
static void rai_rewrite_replay(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                               const rai_scancache_record_t *record)
{
    apr_uint64_t pos = 0;
    int i;

    rw->replayed = record->in_text;
    for (i = 0; i < record->count && !rw->finished; i++) {
        const rai_scancache_element_t *e = &record->elements[i];
        const char *text;

        if (e->at > pos) {
            if (!rai_rewrite_split(rw, bb, (apr_size_t)(e->at - pos))) {
                break;
            }
            rai_rewrite_replay_piece(rw, bb, e);
            pos = e->at;
        }
        rw->kind = e->kind;
        rai_tag_init(rw->tag);
        rai_tag_feed(rw->tag, e->tag, e->tag_len);
        text = rw->hooks->attribute(rw->hooks->baton, rw->kind, rw->tag);
        if (!text) {
            break;
        }
        if (*text) {
            APR_BRIGADE_INSERT_TAIL(rw->out,
                                    apr_bucket_heap_create(text, strlen(text),
                                                           NULL, rw->ba));
            rw->inserted++;
        }
    }
    rw->finished = 1;
}

/* First call: a whole static file and its EOS is replayed from the scan
 * cache, or recorded while it is scanned.  Anything else is scanned as
 * it comes. */
static void rai_rewrite_first(rai_rewrite_t *rw, apr_bucket_brigade *bb)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb), *next;
    apr_bucket_file *file;
    rai_scancache_record_t *record;

    rw->first_seen = 1;
    if (!rw->cache || b == APR_BRIGADE_SENTINEL(bb) || !APR_BUCKET_IS_FILE(b)) {
        return;
    }
    next = APR_BUCKET_NEXT(b);
    file = b->data;
    if (next == APR_BRIGADE_SENTINEL(bb) || !APR_BUCKET_IS_EOS(next)
        || b->start != 0
        || !rai_scancache_key(file->fd, rw->config, 0, &rw->key)
        || (apr_uint64_t)b->length != rw->key.size) {
        return;
    }
    record = rai_scancache_get(rw->cache, &rw->key, rw->pool);
    if (record) {
        rai_rewrite_replay(rw, bb, record);
    }
    else if (rai_scancache_key(file->fd, rw->config,
                               apr_time_sec(apr_time_now()), &rw->key)) {
        rw->recording = 1;
        rw->rec_file = file->fd;
        rw->rec_pos = 0;
        rw->rec = apr_array_make(rw->pool, 4, sizeof(rai_scancache_element_t));
        rw->rec_tag = NULL;
    }
}

/* Recording: at bytes scanned, and an element reported after them. */
static void rai_rewrite_record(rai_rewrite_t *rw, apr_size_t at, int reported)
{
    rai_scancache_element_t *e;

    rai_rewrite_record_tag(rw);
    rw->rec_pos += at;
    if (!reported) {
        return;
    }
    if (rw->rec->nelts >= RAI_SCANCACHE_ELEMENTS_MAX) {
        rw->recording = 0;          /* too many to keep */
        return;
    }
    e = apr_array_push(rw->rec);
    e->at = rw->rec_pos;
    e->kind = rw->kind;
    e->tag = NULL;
    e->tag_len = 0;
    e->piece = NULL;
    e->piece_len = 0;
    rw->rec_tag = apr_array_make(rw->pool, 64, 1);
}

/* A metadata bucket: the end of the stream ends a held tag first. */
static apr_status_t rai_rewrite_metadata(rai_rewrite_t *rw,
                                         apr_bucket_brigade *bb)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb);

    if (rw->holding && !APR_BUCKET_IS_EOS(b)) {
        rai_rewrite_move(bb, rw->held);     /* its order is kept */
        return APR_SUCCESS;
    }
    if (rw->holding) {
        rai_rewrite_release(rw, 0);
    }
    if (APR_BUCKET_IS_EOS(b) && rw->recording) {
        rai_rewrite_record_end(rw);
    }
    if (APR_BUCKET_IS_EOS(b) && rw->hooks->at_end) {
        const char *text = rw->hooks->at_end(rw->hooks->baton, rw);
        if (text && *text) {
            APR_BRIGADE_INSERT_TAIL(rw->out,
                                    apr_bucket_heap_create(text, strlen(text),
                                                           NULL, rw->ba));
        }
    }
    rai_rewrite_move(bb, rw->out);
    if (APR_BUCKET_IS_FLUSH(b) || APR_BUCKET_IS_EOS(b)) {
        return rai_rewrite_pass(rw);
    }
    return APR_SUCCESS;
}

/* Whether b is a file bucket that the core sends by sendfile: its bytes
 * are better scanned from a copy of our own and the bucket passed on
 * unread (no heap copy of the page, one sendfile for the whole of it).
 * The bytes sent are then read again at send time, so only for a file
 * that has not changed for rw->settle (by its mtime and ctime, as the
 * scan cache judges a file it records): one being written to is read as
 * a bucket, and what goes out is what was scanned. */
static int rai_rewrite_sendfile_able(rai_rewrite_t *rw, const apr_bucket *b)
{
#if APR_HAS_SENDFILE
    apr_file_t *fd;

    if (!APR_BUCKET_IS_FILE(b)) {
        return 0;
    }
    fd = ((apr_bucket_file *)b->data)->fd;
    /* a descriptor shared across threads is read only as the bucket
     * code reads it (reopened) */
    if ((apr_file_flags_get(fd) & (APR_FOPEN_SENDFILE_ENABLED | APR_FOPEN_XTHREAD))
        != APR_FOPEN_SENDFILE_ENABLED) {
        return 0;
    }
    if (rw->settled_fd != fd) {
        apr_finfo_t finfo;
        apr_time_t now = apr_time_now();

        rw->settled_fd = fd;
        rw->settled = apr_file_info_get(&finfo, APR_FINFO_MTIME | APR_FINFO_CTIME,
                                        fd) == APR_SUCCESS
                      && now - finfo.mtime >= rw->settle
                      && now - finfo.ctime >= rw->settle;
    }
    return rw->settled;
#else
    (void)rw;
    (void)b;
    return 0;
#endif
}

/* A short piece of a sendfile-able file (the first bucket of bb) whose
 * bytes are in buf becomes a copy of them: the core would send it by a
 * sendfile of its own, between a TCP_CORK and an uncork that pushes a
 * short segment out; in memory it goes out in one writev with what comes
 * before it. */
static void rai_rewrite_unfile(rai_rewrite_t *rw, apr_bucket_brigade *bb)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb), *copy;

    if (!rai_rewrite_sendfile_able(rw, b) || b->length > APR_BUCKET_BUFF_SIZE
        || rw->buf_file != b->data || b->start < rw->buf_at
        || b->start + (apr_off_t)b->length
           > rw->buf_at + (apr_off_t)rw->buf_len) {
        return;
    }
    copy = apr_bucket_heap_create(rw->buf + (b->start - rw->buf_at),
                                  b->length, NULL, rw->ba);
    APR_BUCKET_INSERT_BEFORE(b, copy);
    if (((apr_bucket_refcount *)b->data)->refcount == 1) {
        rw->buf_file = NULL;        /* its last bucket: the file goes */
    }
    apr_bucket_delete(b);
}

/* Moves the first bucket of bb to out, counting its bytes: those of a
 * file the core will send take no memory, and count toward a larger
 * bound (only so that a large file is not scanned whole before any of
 * it is sent). */
static void rai_rewrite_out(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                            apr_size_t bytes)
{
    rai_rewrite_unfile(rw, bb);
    if (rai_rewrite_sendfile_able(rw, APR_BRIGADE_FIRST(bb))) {
        rw->file_bytes += bytes;
    }
    else {
        rw->out_bytes += bytes;
    }
    rai_rewrite_move(bb, rw->out);
}

/* The bytes of a sendfile-able file bucket (the first of bb) from
 * rw->cursor on, at most RAI_REWRITE_READ_BYTES of them, read into buf
 * (or found there: a split leaves the rest of a bucket to read again).
 * A file that reads short gets APR_EOF. */
static apr_status_t rai_rewrite_read_file(rai_rewrite_t *rw, apr_bucket *b,
                                          const char **data, apr_size_t *len)
{
    const apr_bucket_file *file = b->data;
    apr_off_t at = b->start + (apr_off_t)rw->cursor;
    apr_size_t want = b->length - rw->cursor, got = 0;
    apr_status_t rv;

    if (rw->buf_file == file && at >= rw->buf_at
        && at < rw->buf_at + (apr_off_t)rw->buf_len) {
        apr_size_t skip = (apr_size_t)(at - rw->buf_at);

        *data = rw->buf + skip;
        *len = want < rw->buf_len - skip ? want : rw->buf_len - skip;
        return APR_SUCCESS;
    }
    if (want > RAI_REWRITE_READ_BYTES) {
        want = RAI_REWRITE_READ_BYTES;
    }
    if (!rw->buf) {
        rw->buf = apr_palloc(rw->pool, RAI_REWRITE_READ_BYTES);
    }
    rw->buf_file = NULL;
    if ((rv = rai_rewrite_pread(file->fd, rw->buf, want, at, &got)) != APR_SUCCESS) {
        return rv;
    }
    if (got < want) {
        return APR_EOF;             /* the file shrank: read it as a bucket */
    }
    rw->buf_file = file;
    rw->buf_at = at;
    rw->buf_len = got;
    *data = rw->buf;
    *len = got;
    return APR_SUCCESS;
}

/* The data of the first bucket of bb, read without blocking when it can
 * be: a slow source (a CGI pipe) gets what is ready sent first. */
static apr_status_t rai_rewrite_read(rai_rewrite_t *rw,
                                     apr_bucket_brigade *bb,
                                     const char **data, apr_size_t *len)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb);
    apr_status_t rv;

    if (rai_rewrite_sendfile_able(rw, b)) {
#if APR_HAS_MMAP
        /* nor mapped by a filter after us that reads it */
        apr_bucket_file_enable_mmap(b, 0);
#endif
        if (rai_rewrite_read_file(rw, b, data, len) == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        /* read as a bucket, as any other: what it reads is what is sent */
        if (rw->cursor) {
            apr_bucket_split(b, rw->cursor);
            rai_rewrite_out(rw, bb, rw->cursor);
            rw->cursor = 0;
            b = APR_BRIGADE_FIRST(bb);
        }
    }
#if APR_HAS_MMAP
    if (APR_BUCKET_IS_FILE(b)) {
        /* read, not map: mapping a file for one response, then unmapping
         * it, costs every thread of the process a TLB flush */
        apr_bucket_file_enable_mmap(b, 0);
    }
#endif
    rv = apr_bucket_read(b, data, len, APR_NONBLOCK_READ);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        if ((rv = rai_rewrite_flush(rw)) != APR_SUCCESS) {
            return rv;
        }
        rv = apr_bucket_read(APR_BRIGADE_FIRST(bb), data, len,
                             APR_BLOCK_READ);
    }
    return rv;
}

/* Feeds a held tag with data (the first bucket of bb): the tag and the
 * scanner read the same bytes. */
static void rai_rewrite_hold(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                             const char *data, apr_size_t len)
{
    apr_size_t n = rai_tag_feed(rw->tag, data, len), done = 0;

    while (done < n) {
        /* no element starts inside a tag: this only keeps the scan in step */
        done += rai_scan_next(&rw->scan, data + done, n - done);
    }
    if (rw->recording) {
        apr_size_t k;
        for (k = 0; k < n; k++) {
            *(char *)apr_array_push(rw->rec_tag) = data[k];
        }
        rw->rec_pos += n;
    }
    /* a file's bytes may come in parts of a bucket */
    if (n < APR_BRIGADE_FIRST(bb)->length && !rai_rewrite_split(rw, bb, n)) {
        rai_rewrite_release(rw, 0);
        return;
    }
    rai_rewrite_unfile(rw, bb);
    rai_rewrite_move(bb, rw->held);
    if (rai_tag_done(rw->tag) || rai_tag_overflow(rw->tag)) {
        rai_rewrite_release(rw, n);
    }
}

/* Scans data (the first bucket of bb) up to the next reported element. */
static void rai_rewrite_scan(rai_rewrite_t *rw, apr_bucket_brigade *bb,
                             const char *data, apr_size_t len)
{
    apr_size_t at = rai_scan_next(&rw->scan, data, len);
    /* data may be a part of the bucket's bytes, from rw->cursor on */
    apr_size_t scanned = rw->cursor + at;
    apr_size_t length = APR_BRIGADE_FIRST(bb)->length;

    if (at == len && scanned < length
        && scanned < RAI_REWRITE_PASS_FILE_BYTES) {
        rw->cursor = scanned;       /* the bucket stays whole */
    }
    else {
        if (scanned < length && scanned > 0
            && !rai_rewrite_split(rw, bb, scanned)) {
            at = len;
            scanned = length;
        }
        if (scanned > 0) {
            rai_rewrite_out(rw, bb, scanned);
        }
        rw->cursor = 0;
    }
    if (at < len) {
        rw->kind = rai_scan_reported_script(&rw->scan) ? RAI_REWRITE_SCRIPT
                                                       : RAI_REWRITE_WIDGET;
        rai_tag_init(rw->tag);
        rw->holding = 1;
    }
    if (rw->recording) {
        rai_rewrite_record(rw, at, at < len);
    }
}

apr_status_t rai_rewrite_brigade(rai_rewrite_t *rw, apr_bucket_brigade *bb)
{
    apr_status_t rv = APR_SUCCESS;

    if (!rw->first_seen) {
        rai_rewrite_first(rw, bb);
        if (rw->replayed == -1) {
            rai_scan_init(&rw->scan, rw->elements);
            rai_scan_report_scripts(&rw->scan, rw->report_scripts);
        }
    }
    while (!APR_BRIGADE_EMPTY(bb)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(APR_BRIGADE_FIRST(bb))) {
            if ((rv = rai_rewrite_metadata(rw, bb)) != APR_SUCCESS) {
                break;
            }
            continue;
        }
        if (rw->finished && !rw->holding) {
            rai_rewrite_move(bb, rw->out);
            rw->cursor = 0;
            continue;
        }
        if ((rv = rai_rewrite_read(rw, bb, &data, &len)) != APR_SUCCESS) {
            break;
        }
        if (!len) {
            rai_rewrite_move(bb, rw->holding ? rw->held : rw->out);
        }
        else if (rw->holding) {
            rai_rewrite_hold(rw, bb, data, len);
        }
        else {
            rai_rewrite_scan(rw, bb, data, len);
        }
        if ((rw->out_bytes >= RAI_REWRITE_PASS_BYTES
             || rw->file_bytes >= RAI_REWRITE_PASS_FILE_BYTES)
            && (rv = rai_rewrite_pass(rw)) != APR_SUCCESS) {
            break;
        }
    }
    apr_brigade_cleanup(bb);
    rw->cursor = 0;
    rw->buf_file = NULL;
    /* judged again next time: an apr_file_t of a later file (a
     * subrequest's) may take this one's address */
    rw->settled_fd = NULL;
    if (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(rw->out)) {
        rv = rai_rewrite_pass(rw);
    }
    return rv;
}
