/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apr_hash.h"
#include "apr_portable.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "rai_scancache.h"

/* An entry lives in one malloc'd block: the entry, its elements, their
 * tag bytes.  Not pool memory, so that a long-lived process does not grow
 * a pool as entries come and go. */
typedef struct rai_scancache_entry rai_scancache_entry_t;
struct rai_scancache_entry {
    rai_scancache_key_t key;
    rai_scancache_record_t record;
    apr_size_t bytes;
    rai_scancache_entry_t *newer, *older;
};

struct rai_scancache {
    apr_thread_mutex_t *lock;
    apr_pool_t *pool;               /* the hash's, used under lock */
    apr_hash_t *entries;            /* key bytes -> entry */
    rai_scancache_entry_t *newest, *oldest;
    apr_size_t count, bytes, max_entries, max_bytes;
};

static apr_status_t rai_scancache_cleanup(void *data)
{
    rai_scancache_t *cache = data;
    rai_scancache_entry_t *e = cache->newest, *next;

    for (; e; e = next) {
        next = e->older;
        free(e);
    }
    cache->newest = cache->oldest = NULL;
    return APR_SUCCESS;
}

/* The hash of a key (every key is a whole rai_scancache_key_t): what
 * tells files apart is mixed, not all 64 bytes hashed one at a time. */
static unsigned int rai_scancache_hash(const char *bytes, apr_ssize_t *len)
{
    rai_scancache_key_t key;
    apr_uint64_t h;

    (void)len;
    memcpy(&key, bytes, sizeof(key));
    h = key.inode ^ (key.device << 32) ^ (apr_uint64_t)(apr_uintptr_t)key.config;
    h = (h ^ key.size) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ (apr_uint64_t)key.mtime_nsec ^ ((apr_uint64_t)key.mtime_sec << 30))
        * 0xbf58476d1ce4e5b9ULL;
    h ^= (apr_uint64_t)key.ctime_nsec ^ ((apr_uint64_t)key.ctime_sec << 30);
    h ^= h >> 31;
    return (unsigned int)(h ^ (h >> 32));
}

rai_scancache_t *rai_scancache_create(apr_pool_t *p, apr_size_t max_entries,
                                      apr_size_t max_bytes)
{
    rai_scancache_t *cache;

    if (!max_entries) {
        return NULL;
    }
    cache = apr_pcalloc(p, sizeof(*cache));
    apr_thread_mutex_create(&cache->lock, APR_THREAD_MUTEX_DEFAULT, p);
    apr_pool_create(&cache->pool, p);
    cache->entries = apr_hash_make_custom(cache->pool, rai_scancache_hash);
    cache->max_entries = max_entries;
    cache->max_bytes = max_bytes;
    apr_pool_cleanup_register(p, cache, rai_scancache_cleanup,
                              apr_pool_cleanup_null);
    return cache;
}

int rai_scancache_key(apr_file_t *file, const void *config,
                      apr_int64_t now_sec, rai_scancache_key_t *key)
{
    apr_os_file_t fd;
    struct stat st;

    if (apr_os_file_get(&fd, file) != APR_SUCCESS || fstat(fd, &st) != 0
        || !S_ISREG(st.st_mode) || st.st_size > RAI_SCANCACHE_FILE_MAX) {
        return 0;
    }
    /* a file still being written to could change within one clock tick */
    if (now_sec && (now_sec - st.st_mtim.tv_sec < RAI_SCANCACHE_SETTLE
                    || now_sec - st.st_ctim.tv_sec < RAI_SCANCACHE_SETTLE)) {
        return 0;
    }
    memset(key, 0, sizeof(*key));   /* padding too: the key is hashed whole */
    key->device = (apr_uint64_t)st.st_dev;
    key->inode = (apr_uint64_t)st.st_ino;
    key->size = (apr_uint64_t)st.st_size;
    key->mtime_sec = st.st_mtim.tv_sec;
    key->mtime_nsec = st.st_mtim.tv_nsec;
    key->ctime_sec = st.st_ctim.tv_sec;
    key->ctime_nsec = st.st_ctim.tv_nsec;
    key->config = config;
    return 1;
}

/* Under lock. */
static void rai_scancache_unlink(rai_scancache_t *cache,
                                 rai_scancache_entry_t *e)
{
    if (e->newer) {
        e->newer->older = e->older;
    }
    else {
        cache->newest = e->older;
    }
    if (e->older) {
        e->older->newer = e->newer;
    }
    else {
        cache->oldest = e->newer;
    }
    e->newer = e->older = NULL;
}

/* Under lock. */
static void rai_scancache_push(rai_scancache_t *cache,
                               rai_scancache_entry_t *e)
{
    e->older = cache->newest;
    e->newer = NULL;
    if (cache->newest) {
        cache->newest->newer = e;
    }
    cache->newest = e;
    if (!cache->oldest) {
        cache->oldest = e;
    }
}

/* Under lock. */
static void rai_scancache_drop(rai_scancache_t *cache,
                               rai_scancache_entry_t *e)
{
    rai_scancache_unlink(cache, e);
    apr_hash_set(cache->entries, &e->key, sizeof(e->key), NULL);
    cache->count--;
    cache->bytes -= e->bytes;
    free(e);
}

rai_scancache_record_t *rai_scancache_get(rai_scancache_t *cache,
                                          const rai_scancache_key_t *key,
                                          apr_pool_t *p)
{
    rai_scancache_record_t *copy = NULL;
    rai_scancache_element_t *e;
    rai_scancache_entry_t *entry;
    int i;

    if (!cache) {
        return NULL;
    }
    apr_thread_mutex_lock(cache->lock);
    entry = apr_hash_get(cache->entries, key, sizeof(*key));
    if (entry) {
        rai_scancache_unlink(cache, entry);
        rai_scancache_push(cache, entry);
        copy = apr_palloc(p, sizeof(*copy));
        *copy = entry->record;
        copy->elements = apr_pmemdup(p, entry->record.elements,
                                     sizeof(rai_scancache_element_t)
                                     * (apr_size_t)entry->record.count);
        for (i = 0; i < copy->count; i++) {
            e = &copy->elements[i];
            e->tag = apr_pmemdup(p, e->tag, e->tag_len);
            if (e->piece) {
                e->piece = apr_pmemdup(p, e->piece, e->piece_len);
            }
        }
    }
    apr_thread_mutex_unlock(cache->lock);
    return copy;
}

/* The bytes an entry for record takes, with its pieces or without. */
static apr_size_t rai_scancache_size(const rai_scancache_record_t *record,
                                     int pieces)
{
    apr_size_t bytes = sizeof(rai_scancache_entry_t)
                       + sizeof(rai_scancache_element_t)
                         * (apr_size_t)record->count;
    int i;

    for (i = 0; i < record->count; i++) {
        bytes += record->elements[i].tag_len;
        if (pieces && record->elements[i].piece) {
            bytes += record->elements[i].piece_len;
        }
    }
    return bytes;
}

/* Copies len bytes of from to block + *at; returns where they are. */
static const char *rai_scancache_copy(char *block, apr_size_t *at,
                                      const char *from, apr_size_t len)
{
    char *to = block + *at;

    memcpy(to, from, len);
    *at += len;
    return to;
}

void rai_scancache_put(rai_scancache_t *cache, const rai_scancache_key_t *key,
                       const rai_scancache_record_t *record)
{
    apr_size_t bytes, at;
    rai_scancache_entry_t *e, *old;
    rai_scancache_element_t *el;
    int i, pieces = 1;
    char *block;

    if (!cache || record->count > RAI_SCANCACHE_ELEMENTS_MAX) {
        return;
    }
    bytes = rai_scancache_size(record, 1);
    if (bytes > cache->max_bytes) {
        pieces = 0;                 /* the offsets alone may still fit */
        bytes = rai_scancache_size(record, 0);
    }
    if (bytes > cache->max_bytes || !(block = malloc(bytes))) {
        return;
    }
    e = (rai_scancache_entry_t *)block;
    e->key = *key;
    e->record = *record;
    e->bytes = bytes;
    e->record.elements = (rai_scancache_element_t *)(block + sizeof(*e));
    at = sizeof(*e) + sizeof(rai_scancache_element_t) * (apr_size_t)record->count;
    for (i = 0; i < record->count; i++) {
        el = &e->record.elements[i];
        *el = record->elements[i];
        el->tag = rai_scancache_copy(block, &at, el->tag, el->tag_len);
        if (el->piece && pieces) {
            el->piece = rai_scancache_copy(block, &at, el->piece, el->piece_len);
        }
        else {
            el->piece = NULL;
            el->piece_len = 0;
        }
    }

    apr_thread_mutex_lock(cache->lock);
    old = apr_hash_get(cache->entries, &e->key, sizeof(e->key));
    if (old) {
        rai_scancache_drop(cache, old);
    }
    while (cache->oldest && (cache->count >= cache->max_entries
                             || cache->bytes + bytes > cache->max_bytes)) {
        rai_scancache_drop(cache, cache->oldest);
    }
    apr_hash_set(cache->entries, &e->key, sizeof(e->key), e);
    rai_scancache_push(cache, e);
    cache->count++;
    cache->bytes += bytes;
    apr_thread_mutex_unlock(cache->lock);
}

void rai_scancache_usage(rai_scancache_t *cache, apr_size_t *entries,
                         apr_size_t *bytes)
{
    *entries = *bytes = 0;
    if (cache) {
        apr_thread_mutex_lock(cache->lock);
        *entries = cache->count;
        *bytes = cache->bytes;
        apr_thread_mutex_unlock(cache->lock);
    }
}
