/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_metrics.c: counters shared by every child, one block per
 * virtual host ("name:port"), shown by mod_status (a table, and ?auto
 * lines) and by the rai-embed-metrics handler in Prometheus text format.
 *
 * The table lives in anonymous shared memory made from the process pool
 * (not pconf), so it outlives graceful and plain restarts: each
 * generation's children inherit it from the parent, and a virtual host
 * finds its block again by name.  Only a stop and start - or more new
 * virtual hosts than the spare blocks hold - starts the counters again,
 * and mod_rai_embed_metrics_since_seconds says when that was. */

#include "apr_shm.h"
#include "apr_atomic.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_listen.h"
#include "mod_status.h"

#include "mod_rai_embed.h"

#define RAI_EMBED_METRICS_HANDLER "rai-embed-metrics"
/* process-pool userdata: survives the DSO's unloading on a restart */
#define RAI_EMBED_METRICS_KEY     "rai_embed_metrics_table"
/* short: it is hashed twice a page */
#define RAI_EMBED_METRICS_REWRITE "rai:m"
#define RAI_EMBED_METRICS_MAGIC   0x52414d31u         /* "RAM1" */
#define RAI_EMBED_METRICS_LABEL   272                 /* host (253) ":" port */
/* blocks kept free for virtual hosts that later restarts add */
#define RAI_EMBED_METRICS_SPARE   32

/* 64-bit counters where the platform's 64-bit atomics are lock-free:
 * lock-free atomics are address-free, so they work across processes in
 * shared memory (APR's fallback for apr_atomic_add64 is a per-process
 * mutex, which would not).  Elsewhere 32-bit apr_atomic counters, which
 * wrap at 2^32 (Prometheus takes that as a reset). */
#if defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
typedef apr_uint64_t rai_embed_counter_t;
#define RAI_EMBED_COUNTER_ADD(c, n) \
    ((void)__atomic_fetch_add(&(c), (apr_uint64_t)(n), __ATOMIC_RELAXED))
#define RAI_EMBED_COUNTER_READ(c) \
    ((apr_uint64_t)__atomic_load_n(&(c), __ATOMIC_RELAXED))
#else
typedef apr_uint32_t rai_embed_counter_t;
#define RAI_EMBED_COUNTER_ADD(c, n) \
    ((void)apr_atomic_add32(&(c), (apr_uint32_t)(n)))
#define RAI_EMBED_COUNTER_READ(c) ((apr_uint64_t)apr_atomic_read32(&(c)))
#endif

/* The values of the rai-embed note, as counted. */
static const char *const rai_embed_metrics_notes[] = {
    "none", "cached", "fetched", "anonymous", "error", "attributes"
};
static const char *const rai_embed_metrics_notes_camel[] = {
    "None", "Cached", "Fetched", "Anonymous", "Error", "Attributes"
};
#define RAI_EMBED_METRICS_NOTES 6

/* How a token API request ended. */
enum {
    RAI_EMBED_API_OK, RAI_EMBED_API_TIMEOUT, RAI_EMBED_API_CONNECT,
    RAI_EMBED_API_HTTP_4XX, RAI_EMBED_API_HTTP_5XX, RAI_EMBED_API_INVALID,
    RAI_EMBED_API_INTERNAL, RAI_EMBED_API_OUTCOMES
};
static const char *const rai_embed_metrics_outcomes[] = {
    "ok", "timeout", "connect", "http_4xx", "http_5xx", "invalid", "internal"
};
static const char *const rai_embed_metrics_outcomes_camel[] = {
    "Ok", "Timeout", "Connect", "Http4xx", "Http5xx", "Invalid", "Internal"
};

static const char *const rai_embed_metrics_cache_kinds[] = {
    "get", "put", "seal", "open"
};
static const char *const rai_embed_metrics_cache_camel[] = {
    "Get", "Put", "Seal", "Open"
};

/* Upper bounds of the latency histogram's buckets; one more for +Inf. */
static const apr_interval_time_t rai_embed_metrics_bounds[] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000
};
static const char *const rai_embed_metrics_le[] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"
};
#define RAI_EMBED_METRICS_BOUNDS 10

/* One virtual host's counters.  The histogram's buckets are kept apart
 * (not cumulative), the last one for +Inf. */
typedef struct {
    char vhost[RAI_EMBED_METRICS_LABEL];      /* "" for a free block */
    rai_embed_counter_t scanned;
    rai_embed_counter_t rewritten;
    rai_embed_counter_t notes[RAI_EMBED_METRICS_NOTES];
    rai_embed_counter_t api[RAI_EMBED_API_OUTCOMES];
    rai_embed_counter_t duration[RAI_EMBED_METRICS_BOUNDS + 1];
    rai_embed_counter_t duration_usec;
    rai_embed_counter_t backoff_starts;
    rai_embed_counter_t cache_errors[RAI_EMBED_CACHE_ERRORS];
} rai_embed_metrics_block_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t block_size;        /* a module of another layout starts anew */
    apr_uint32_t capacity;
    apr_uint32_t used;              /* written by the parent only */
    apr_time_t since;               /* when the counters started */
    rai_embed_metrics_block_t blocks[];
} rai_embed_metrics_table_t;

/* Set in the parent at post_config, inherited by the children.  The
 * slots are by server_rec, not in the server configuration: a virtual
 * host without directives of ours shares the main server's. */
static rai_embed_metrics_table_t *rai_embed_metrics_table;
static server_rec *rai_embed_metrics_servers;
static apr_hash_t *rai_embed_metrics_slots;     /* server_rec * -> slot */

typedef struct {
    server_rec *server;             /* the key */
    int slot;
} rai_embed_metrics_slot_t;

/* The responses of one request chain that the filter rewrote. */
typedef struct {
    const rai_rewrite_t *rewrite;
    unsigned long earlier;          /* insertions of rewrites before it */
} rai_embed_metrics_rewrites_t;

/* --- start-up ----------------------------------------------------------- */

static apr_port_t rai_embed_metrics_port(const server_rec *s)
{
    if (s->port) {
        return s->port;
    }
    if (s->addrs && s->addrs->host_port) {
        return s->addrs->host_port;
    }
    return ap_listeners && ap_listeners->bind_addr
           ? ap_listeners->bind_addr->port : 0;
}

/* "name:port", the vhost label; servers of one label share a block. */
static void rai_embed_metrics_label(const server_rec *s, char *label)
{
    apr_snprintf(label, RAI_EMBED_METRICS_LABEL, "%s:%u",
                 s->server_hostname ? s->server_hostname : "*",
                 (unsigned)rai_embed_metrics_port(s));
}

static int rai_embed_metrics_find(const rai_embed_metrics_table_t *table,
                                  const char *label)
{
    apr_uint32_t i;

    for (i = 0; table && i < table->used; i++) {
        if (!strcmp(table->blocks[i].vhost, label)) {
            return (int)i;
        }
    }
    return -1;
}

/* How many of the servers' labels the table does not hold yet. */
static apr_uint32_t rai_embed_metrics_missing(apr_pool_t *ptemp,
                                              const rai_embed_metrics_table_t
                                              *table, server_rec *s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    apr_uint32_t missing = 0;
    char *label;

    for (; s; s = s->next) {
        label = apr_palloc(ptemp, RAI_EMBED_METRICS_LABEL);
        rai_embed_metrics_label(s, label);
        if (!apr_hash_get(seen, label, APR_HASH_KEY_STRING)
            && rai_embed_metrics_find(table, label) < 0) {
            missing++;
        }
        apr_hash_set(seen, label, APR_HASH_KEY_STRING, label);
    }
    return missing;
}

static rai_embed_metrics_table_t *rai_embed_metrics_create(apr_pool_t *keep,
                                                           apr_uint32_t capacity,
                                                           server_rec *s)
{
    apr_size_t size = sizeof(rai_embed_metrics_table_t)
                      + capacity * sizeof(rai_embed_metrics_block_t);
    rai_embed_metrics_table_t *table;
    apr_shm_t *shm;
    apr_status_t rv;

    rv = apr_shm_create(&shm, size, NULL, keep);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "RAI0050: cannot create "
                     "the shared memory for the module's metrics");
        return NULL;
    }
    table = apr_shm_baseaddr_get(shm);
    memset(table, 0, size);
    table->magic = RAI_EMBED_METRICS_MAGIC;
    table->block_size = sizeof(rai_embed_metrics_block_t);
    table->capacity = capacity;
    table->since = apr_time_now();
    /* the key copied and no cleanup of ours: this module is unloaded on
     * each restart, long before the process pool goes */
    apr_pool_userdata_set(shm, RAI_EMBED_METRICS_KEY, apr_pool_cleanup_null,
                          keep);
    return table;
}

static int rai_embed_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                         apr_pool_t *ptemp, server_rec *main_s)
{
    apr_pool_t *keep = main_s->process->pool;
    rai_embed_metrics_table_t *table = NULL;
    apr_shm_t *shm = NULL;
    apr_uint32_t missing;
    char label[RAI_EMBED_METRICS_LABEL];
    server_rec *s;

    (void)plog;
    rai_embed_metrics_table = NULL;
    rai_embed_metrics_servers = main_s;
    rai_embed_metrics_slots = apr_hash_make(pconf);
    apr_pool_userdata_get((void **)&shm, RAI_EMBED_METRICS_KEY, keep);
    if (shm) {
        table = apr_shm_baseaddr_get(shm);
        if (table->magic != RAI_EMBED_METRICS_MAGIC
            || table->block_size != sizeof(rai_embed_metrics_block_t)) {
            table = NULL;
        }
    }
    missing = rai_embed_metrics_missing(ptemp, table, main_s);
    if (!table || table->used + missing > table->capacity) {
        if (table) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_s, "RAI0051: more "
                         "new virtual hosts than the metrics table has room "
                         "for: every mod_rai_embed counter starts again at 0");
        }
        if (shm) {
            /* children of the old generation keep their own mapping */
            apr_shm_destroy(shm);
            apr_pool_userdata_set(NULL, RAI_EMBED_METRICS_KEY,
                                  apr_pool_cleanup_null, keep);
        }
        table = rai_embed_metrics_create(keep, (table ? table->used : 0)
                                         + missing + RAI_EMBED_METRICS_SPARE,
                                         main_s);
        if (!table) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    for (s = main_s; s; s = s->next) {
        rai_embed_metrics_slot_t *entry = apr_palloc(pconf, sizeof(*entry));

        rai_embed_metrics_label(s, label);
        entry->server = s;
        entry->slot = rai_embed_metrics_find(table, label);
        if (entry->slot < 0) {
            entry->slot = (int)table->used;
            apr_cpystrn(table->blocks[entry->slot].vhost, label,
                        RAI_EMBED_METRICS_LABEL);
            table->used++;
        }
        apr_hash_set(rai_embed_metrics_slots, &entry->server,
                     sizeof(entry->server), entry);
    }
    rai_embed_metrics_table = table;
    return OK;
}

/* --- counting ----------------------------------------------------------- */

/* The server's slot in the table, or -1. */
static int rai_embed_metrics_slot(server_rec *s)
{
    rai_embed_metrics_slot_t *entry;

    if (!rai_embed_metrics_table || !s) {
        return -1;
    }
    entry = apr_hash_get(rai_embed_metrics_slots, &s, sizeof(s));
    return entry && entry->slot >= 0
           && (apr_uint32_t)entry->slot < rai_embed_metrics_table->used
           ? entry->slot : -1;
}

static rai_embed_metrics_block_t *rai_embed_metrics_block(server_rec *s)
{
    int slot = rai_embed_metrics_slot(s);

    return slot < 0 ? NULL : &rai_embed_metrics_table->blocks[slot];
}

void rai_embed_metrics_scanned(request_rec *r, const rai_rewrite_t *rewrite)
{
    rai_embed_metrics_block_t *block = rai_embed_metrics_block(r->server);
    rai_embed_metrics_rewrites_t *rewrites = NULL;

    if (block) {
        RAI_EMBED_COUNTER_ADD(block->scanned, 1);
    }
    /* the insertions are counted at the end, in the log_transaction hook;
     * an internal redirect keeps the pool */
    apr_pool_userdata_get((void **)&rewrites, RAI_EMBED_METRICS_REWRITE,
                          r->pool);
    if (!rewrites) {
        rewrites = apr_pcalloc(r->pool, sizeof(*rewrites));
        apr_pool_userdata_setn(rewrites, RAI_EMBED_METRICS_REWRITE, NULL,
                               r->pool);
    }
    else if (rewrites->rewrite) {
        rewrites->earlier += rai_rewrite_inserted(rewrites->rewrite);
    }
    rewrites->rewrite = rewrite;
}

static int rai_embed_metrics_outcome(const rai_token_error_t *err)
{
    switch (err->status) {
    case RAI_TOKEN_OK:
        return RAI_EMBED_API_OK;
    case RAI_TOKEN_E_TIMEOUT:
        return RAI_EMBED_API_TIMEOUT;
    case RAI_TOKEN_E_CONNECT:
        return RAI_EMBED_API_CONNECT;
    case RAI_TOKEN_E_STATUS:
        if (err->http_status >= 400 && err->http_status < 500) {
            return RAI_EMBED_API_HTTP_4XX;
        }
        if (err->http_status >= 500 && err->http_status < 600) {
            return RAI_EMBED_API_HTTP_5XX;
        }
        return RAI_EMBED_API_INVALID;   /* a redirect, say: not the contract */
    case RAI_TOKEN_E_INTERNAL:
        return RAI_EMBED_API_INTERNAL;
    default:
        return RAI_EMBED_API_INVALID;
    }
}

void rai_embed_metrics_api(server_rec *s, const rai_token_error_t *err,
                           apr_time_t begun)
{
    rai_embed_metrics_block_t *block = rai_embed_metrics_block(s);
    apr_interval_time_t took = apr_time_now() - begun;
    int i;

    if (!block) {
        return;
    }
    if (took < 0) {
        took = 0;
    }
    for (i = 0; i < RAI_EMBED_METRICS_BOUNDS; i++) {
        if (took <= rai_embed_metrics_bounds[i]) {
            break;
        }
    }
    RAI_EMBED_COUNTER_ADD(block->api[rai_embed_metrics_outcome(err)], 1);
    RAI_EMBED_COUNTER_ADD(block->duration[i], 1);
    RAI_EMBED_COUNTER_ADD(block->duration_usec, took);
}

void rai_embed_metrics_backoff_started(server_rec *s)
{
    rai_embed_metrics_block_t *block = rai_embed_metrics_block(s);

    if (block) {
        RAI_EMBED_COUNTER_ADD(block->backoff_starts, 1);
    }
}

void rai_embed_metrics_cache_error(server_rec *s, rai_embed_cache_error_e kind)
{
    rai_embed_metrics_block_t *block = rai_embed_metrics_block(s);

    if (block && kind >= 0 && kind < RAI_EMBED_CACHE_ERRORS) {
        RAI_EMBED_COUNTER_ADD(block->cache_errors[kind], 1);
    }
}

/* Once per response, at its end: the note of the request chain's last
 * request (the module's word on it), and the insertions of its rewrites. */
static int rai_embed_metrics_log_transaction(request_rec *r)
{
    rai_embed_metrics_rewrites_t *rewrites = NULL;
    rai_embed_metrics_block_t *block;
    request_rec *last = r;
    const char *note;
    int i;

    while (last->next) {
        last = last->next;
    }
    note = apr_table_get(last->notes, RAI_EMBED_NOTE);
    if (!note) {
        note = apr_table_get(r->notes, RAI_EMBED_NOTE);
    }
    apr_pool_userdata_get((void **)&rewrites, RAI_EMBED_METRICS_REWRITE,
                          r->pool);
    if ((!note && !rewrites) || !(block = rai_embed_metrics_block(last->server))) {
        return DECLINED;
    }
    for (i = 0; note && i < RAI_EMBED_METRICS_NOTES; i++) {
        if (!strcmp(note, rai_embed_metrics_notes[i])) {
            RAI_EMBED_COUNTER_ADD(block->notes[i], 1);
            break;
        }
    }
    if (rewrites && rewrites->rewrite) {
        RAI_EMBED_COUNTER_ADD(block->rewritten,
                              rewrites->earlier
                              + rai_rewrite_inserted(rewrites->rewrite));
    }
    return DECLINED;
}

/* --- reading ------------------------------------------------------------ */

/* A copy of one block, with what the back-off says now. */
typedef struct {
    const char *vhost;
    apr_uint64_t scanned, rewritten, duration_usec, backoff_starts, api_total;
    apr_uint64_t notes[RAI_EMBED_METRICS_NOTES];
    apr_uint64_t api[RAI_EMBED_API_OUTCOMES];
    apr_uint64_t duration[RAI_EMBED_METRICS_BOUNDS + 1];
    apr_uint64_t cache_errors[RAI_EMBED_CACHE_ERRORS];
    int backoff_now;
} rai_embed_metrics_view_t;

static void rai_embed_metrics_copy(const rai_embed_metrics_block_t *block,
                                   rai_embed_metrics_view_t *view)
{
    int i;

    view->vhost = block->vhost;
    view->scanned = RAI_EMBED_COUNTER_READ(block->scanned);
    view->rewritten = RAI_EMBED_COUNTER_READ(block->rewritten);
    for (i = 0; i < RAI_EMBED_METRICS_NOTES; i++) {
        view->notes[i] = RAI_EMBED_COUNTER_READ(block->notes[i]);
    }
    /* the buckets before the outcomes, which are counted first: a scrape
     * never shows more in the histogram than in api_requests_total */
    view->api_total = 0;
    for (i = 0; i <= RAI_EMBED_METRICS_BOUNDS; i++) {
        view->duration[i] = RAI_EMBED_COUNTER_READ(block->duration[i]);
    }
    view->duration_usec = RAI_EMBED_COUNTER_READ(block->duration_usec);
    for (i = 0; i < RAI_EMBED_API_OUTCOMES; i++) {
        view->api[i] = RAI_EMBED_COUNTER_READ(block->api[i]);
        view->api_total += view->api[i];
    }
    view->backoff_starts = RAI_EMBED_COUNTER_READ(block->backoff_starts);
    for (i = 0; i < RAI_EMBED_CACHE_ERRORS; i++) {
        view->cache_errors[i] = RAI_EMBED_COUNTER_READ(block->cache_errors[i]);
    }
}

/* One view per block, in the order of the configuration's servers. */
static apr_array_header_t *rai_embed_metrics_views(apr_pool_t *p)
{
    apr_array_header_t *views = apr_array_make(p, 4,
                                               sizeof(rai_embed_metrics_view_t));
    rai_embed_metrics_view_t **by_slot;
    apr_time_t now = apr_time_now();
    server_rec *s;

    if (!rai_embed_metrics_table) {
        return views;
    }
    by_slot = apr_pcalloc(p, sizeof(*by_slot)
                             * (rai_embed_metrics_table->used + 1));
    for (s = rai_embed_metrics_servers; s; s = s->next) {
        int slot = rai_embed_metrics_slot(s);
        rai_embed_metrics_block_t *block;
        rai_embed_metrics_view_t *view;
        rai_backoff_t backoff;

        if (slot < 0) {
            continue;
        }
        block = &rai_embed_metrics_table->blocks[slot];
        view = by_slot[slot];
        if (!view) {
            view = apr_array_push(views);
            memset(view, 0, sizeof(*view));
            rai_embed_metrics_copy(block, view);
            by_slot[slot] = view;
        }
        if (rai_embed_backoff_state(s, &backoff)
            && rai_backoff_in_force(&backoff, now)) {
            view->backoff_now = 1;
        }
    }
    return views;
}

/* A label value: backslash, quote and newline escaped. */
static const char *rai_embed_metrics_escape(apr_pool_t *p, const char *value)
{
    apr_size_t len = strlen(value);
    char *out, *o;

    if (!strpbrk(value, "\\\"\n")) {
        return value;
    }
    o = out = apr_palloc(p, 2 * len + 1);
    for (; *value; value++) {
        if (*value == '\\' || *value == '"' || *value == '\n') {
            *o++ = '\\';
            *o++ = *value == '\n' ? 'n' : *value;
        }
        else {
            *o++ = *value;
        }
    }
    *o = '\0';
    return out;
}

static void rai_embed_metrics_family(request_rec *r, const char *name,
                                     const char *type, const char *help)
{
    ap_rprintf(r, "# HELP mod_rai_embed_%s %s\n# TYPE mod_rai_embed_%s %s\n",
               name, help, name, type);
}

/* One counter per vhost, without further labels. */
#define RAI_EMBED_METRICS_EACH(views, v, i) \
    for ((i) = 0; (i) < (views)->nelts \
         && ((v) = &APR_ARRAY_IDX(views, i, rai_embed_metrics_view_t), 1); \
         (i)++)

static void rai_embed_metrics_prometheus(request_rec *r,
                                         apr_array_header_t *views)
{
    rai_embed_metrics_view_t *v;
    const char **labels = apr_palloc(r->pool, sizeof(*labels)
                                              * (views->nelts + 1));
    apr_uint64_t cumulative;
    int i, k;

    RAI_EMBED_METRICS_EACH(views, v, i) {
        labels[i] = rai_embed_metrics_escape(r->pool, v->vhost);
    }
    rai_embed_metrics_family(r, "metrics_since_seconds", "gauge",
                             "Unix time at which these counters started.");
    ap_rprintf(r, "mod_rai_embed_metrics_since_seconds %.3f\n",
               (double)rai_embed_metrics_table->since / APR_USEC_PER_SEC);

    rai_embed_metrics_family(r, "responses_scanned_total", "counter",
                             "Responses whose body was scanned for widgets.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "mod_rai_embed_responses_scanned_total{vhost=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", labels[i], v->scanned);
    }
    rai_embed_metrics_family(r, "widgets_rewritten_total", "counter",
                             "Elements that got a token or identity "
                             "attributes inserted.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "mod_rai_embed_widgets_rewritten_total{vhost=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", labels[i], v->rewritten);
    }
    rai_embed_metrics_family(r, "notes_total", "counter",
                             "Responses by their rai-embed note.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        for (k = 0; k < RAI_EMBED_METRICS_NOTES; k++) {
            ap_rprintf(r, "mod_rai_embed_notes_total{vhost=\"%s\",note=\"%s\"} %"
                       APR_UINT64_T_FMT "\n", labels[i],
                       rai_embed_metrics_notes[k], v->notes[k]);
        }
    }
    rai_embed_metrics_family(r, "api_requests_total", "counter",
                             "Token API requests by outcome.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        for (k = 0; k < RAI_EMBED_API_OUTCOMES; k++) {
            ap_rprintf(r, "mod_rai_embed_api_requests_total{vhost=\"%s\","
                       "outcome=\"%s\"} %" APR_UINT64_T_FMT "\n", labels[i],
                       rai_embed_metrics_outcomes[k], v->api[k]);
        }
    }
    rai_embed_metrics_family(r, "api_request_duration_seconds", "histogram",
                             "Time token API requests took, whatever their "
                             "outcome.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        cumulative = 0;
        for (k = 0; k <= RAI_EMBED_METRICS_BOUNDS; k++) {
            cumulative += v->duration[k];
            ap_rprintf(r, "mod_rai_embed_api_request_duration_seconds_bucket"
                       "{vhost=\"%s\",le=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       labels[i], k < RAI_EMBED_METRICS_BOUNDS
                                  ? rai_embed_metrics_le[k] : "+Inf",
                       cumulative);
        }
        ap_rprintf(r, "mod_rai_embed_api_request_duration_seconds_sum"
                   "{vhost=\"%s\"} %.6f\n", labels[i],
                   (double)v->duration_usec / APR_USEC_PER_SEC);
        ap_rprintf(r, "mod_rai_embed_api_request_duration_seconds_count"
                   "{vhost=\"%s\"} %" APR_UINT64_T_FMT "\n", labels[i],
                   cumulative);
    }
    rai_embed_metrics_family(r, "backoff_starts_total", "counter",
                             "Back-offs from the token API that requests of "
                             "this virtual host started.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "mod_rai_embed_backoff_starts_total{vhost=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", labels[i], v->backoff_starts);
    }
    rai_embed_metrics_family(r, "backoff_in_force", "gauge",
                             "1 while calls to this virtual host's token API "
                             "are held back.");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "mod_rai_embed_backoff_in_force{vhost=\"%s\"} %d\n",
                   labels[i], v->backoff_now);
    }
    rai_embed_metrics_family(r, "cache_errors_total", "counter",
                             "Token cache failures: get, put, seal (an entry "
                             "could not be sealed), open (an entry did not "
                             "open).");
    RAI_EMBED_METRICS_EACH(views, v, i) {
        for (k = 0; k < RAI_EMBED_CACHE_ERRORS; k++) {
            ap_rprintf(r, "mod_rai_embed_cache_errors_total{vhost=\"%s\","
                       "kind=\"%s\"} %" APR_UINT64_T_FMT "\n", labels[i],
                       rai_embed_metrics_cache_kinds[k], v->cache_errors[k]);
        }
    }
}

static int rai_embed_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, RAI_EMBED_METRICS_HANDLER)) {
        return DECLINED;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!rai_embed_metrics_table) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    rai_embed_metrics_prometheus(r, rai_embed_metrics_views(r->pool));
    return OK;
}

/* --- mod_status --------------------------------------------------------- */

static void rai_embed_metrics_auto(request_rec *r, apr_array_header_t *views)
{
    rai_embed_metrics_view_t total, *v;
    int i, k, backoff_now = 0;

    memset(&total, 0, sizeof(total));
    RAI_EMBED_METRICS_EACH(views, v, i) {
        total.scanned += v->scanned;
        total.rewritten += v->rewritten;
        total.api_total += v->api_total;
        total.duration_usec += v->duration_usec;
        total.backoff_starts += v->backoff_starts;
        backoff_now += v->backoff_now;
        for (k = 0; k < RAI_EMBED_METRICS_NOTES; k++) {
            total.notes[k] += v->notes[k];
        }
        for (k = 0; k < RAI_EMBED_API_OUTCOMES; k++) {
            total.api[k] += v->api[k];
        }
        for (k = 0; k < RAI_EMBED_CACHE_ERRORS; k++) {
            total.cache_errors[k] += v->cache_errors[k];
        }
    }
    ap_rprintf(r, "RaiEmbedSince: %" APR_TIME_T_FMT "\n",
               apr_time_sec(rai_embed_metrics_table->since));
    ap_rprintf(r, "RaiEmbedResponsesScanned: %" APR_UINT64_T_FMT "\n",
               total.scanned);
    ap_rprintf(r, "RaiEmbedWidgetsRewritten: %" APR_UINT64_T_FMT "\n",
               total.rewritten);
    for (k = 0; k < RAI_EMBED_METRICS_NOTES; k++) {
        ap_rprintf(r, "RaiEmbedNotes%s: %" APR_UINT64_T_FMT "\n",
                   rai_embed_metrics_notes_camel[k], total.notes[k]);
    }
    ap_rprintf(r, "RaiEmbedApiRequests: %" APR_UINT64_T_FMT "\n",
               total.api_total);
    for (k = 0; k < RAI_EMBED_API_OUTCOMES; k++) {
        ap_rprintf(r, "RaiEmbedApi%s: %" APR_UINT64_T_FMT "\n",
                   rai_embed_metrics_outcomes_camel[k], total.api[k]);
    }
    ap_rprintf(r, "RaiEmbedApiSeconds: %.6f\n",
               (double)total.duration_usec / APR_USEC_PER_SEC);
    ap_rprintf(r, "RaiEmbedBackoffStarts: %" APR_UINT64_T_FMT "\n",
               total.backoff_starts);
    ap_rprintf(r, "RaiEmbedBackoffInForce: %d\n", backoff_now);
    for (k = 0; k < RAI_EMBED_CACHE_ERRORS; k++) {
        ap_rprintf(r, "RaiEmbedCacheErrors%s: %" APR_UINT64_T_FMT "\n",
                   rai_embed_metrics_cache_camel[k], total.cache_errors[k]);
    }
}

static void rai_embed_metrics_html(request_rec *r, apr_array_header_t *views)
{
    rai_embed_metrics_view_t *v;
    char since[APR_RFC822_DATE_LEN];
    int i, k;

    apr_rfc822_date(since, rai_embed_metrics_table->since);
    ap_rprintf(r, "<hr />\n<h2>mod_rai_embed</h2>\n<p>Counted since %s, "
               "across all children.</p>\n", since);
    ap_rputs("<table border=\"1\">\n<tr><th>Virtual host</th>"
             "<th>Scanned</th><th>Rewritten</th>", r);
    for (k = 0; k < RAI_EMBED_METRICS_NOTES; k++) {
        ap_rprintf(r, "<th>%s</th>", rai_embed_metrics_notes[k]);
    }
    ap_rputs("<th>Back-off starts</th><th>Back-off now</th>", r);
    for (k = 0; k < RAI_EMBED_CACHE_ERRORS; k++) {
        ap_rprintf(r, "<th>Cache %s errors</th>",
                   rai_embed_metrics_cache_kinds[k]);
    }
    ap_rputs("</tr>\n", r);
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT "</td>", ap_escape_html(r->pool, v->vhost),
                   v->scanned, v->rewritten);
        for (k = 0; k < RAI_EMBED_METRICS_NOTES; k++) {
            ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", v->notes[k]);
        }
        ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td><td>%s</td>",
                   v->backoff_starts, v->backoff_now ? "yes" : "no");
        for (k = 0; k < RAI_EMBED_CACHE_ERRORS; k++) {
            ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", v->cache_errors[k]);
        }
        ap_rputs("</tr>\n", r);
    }
    ap_rputs("</table>\n<h3>Token API requests</h3>\n<table border=\"1\">\n"
             "<tr><th>Virtual host</th><th>All</th>", r);
    for (k = 0; k < RAI_EMBED_API_OUTCOMES; k++) {
        ap_rprintf(r, "<th>%s</th>", rai_embed_metrics_outcomes[k]);
    }
    ap_rputs("<th>Mean time (ms)</th></tr>\n", r);
    RAI_EMBED_METRICS_EACH(views, v, i) {
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td>",
                   ap_escape_html(r->pool, v->vhost), v->api_total);
        for (k = 0; k < RAI_EMBED_API_OUTCOMES; k++) {
            ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", v->api[k]);
        }
        ap_rprintf(r, "<td>%.1f</td></tr>\n", v->api_total
                   ? (double)v->duration_usec / 1000.0 / (double)v->api_total
                   : 0.0);
    }
    ap_rputs("</table>\n", r);
}

static int rai_embed_metrics_status(request_rec *r, int flags)
{
    apr_array_header_t *views;

    if (!rai_embed_metrics_table) {
        return OK;
    }
    views = rai_embed_metrics_views(r->pool);
    if (flags & AP_STATUS_SHORT) {
        rai_embed_metrics_auto(r, views);
    }
    else {
        rai_embed_metrics_html(r, views);
    }
    return OK;
}

void rai_embed_metrics_register(apr_pool_t *p)
{
    (void)p;
    /* after the other post_config hooks: every server's block is known
     * before the first child starts */
    ap_hook_post_config(rai_embed_metrics_post_config, NULL, NULL,
                        APR_HOOK_LAST);
    ap_hook_handler(rai_embed_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(rai_embed_metrics_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, rai_embed_metrics_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
