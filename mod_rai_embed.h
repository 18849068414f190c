/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed.h: private to the module's glue (mod_rai_embed*.c).  The
 * configuration, the per-process state, and what each glue file offers
 * the others, grouped by file.  The pure parts (rai_*.c) have headers of
 * their own and never include this one. */
#ifndef MOD_RAI_EMBED_H
#define MOD_RAI_EMBED_H

#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_expr.h"

#include "rai_version.h"
#include "rai_scan.h"
#include "rai_identity.h"
#include "rai_token.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"
#include "rai_flight.h"
#include "rai_backoff.h"
#include "rai_claim.h"
#include "rai_seal.h"
#include "rai_tag.h"
#include "rai_rewrite.h"
#include "rai_memo.h"

/* every glue file logs under the module (LogLevel rai_embed:...) */
APLOG_USE_MODULE(rai_embed);

#define RAI_EMBED_FILTER "RAI_EMBED"
#define RAI_EMBED_NOTE   "rai-embed"
#define RAI_EMBED_HANDLER "rai-embed-token"
/* Seconds between two warnings of one kind in one process. */
#define RAI_EMBED_WARN_INTERVAL 30

/* --- mod_rai_embed_cache.c: tokens in an ap_socache --------------------- */

#define RAI_EMBED_CACHE_MUTEX_TYPE "rai-embed-cache"
#define RAI_EMBED_CACHE_KEY_LEN    64     /* hex SHA-256 */

typedef struct {
    const char *name;               /* provider name, for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;      /* only for providers that need one */
    server_rec *server;             /* for the provider's destroy */
    int configured;                 /* RaiEmbedCache given */
    int off;                        /* RaiEmbedCache none */
} rai_embed_cache_t;


typedef struct {
    const char *access_id;
    const char *access_key;         /* the secret: never logged */
    const char *access_key_source;  /* directive that set it */
    const char *token_url;
    const char *ca_file;
    const char *proxy;              /* without user information */
    const char *proxy_user;
    const char *proxy_password;     /* a secret, as the access key */
    const char *proxy_userinfo;     /* "user:password@" as written */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t total_timeout;
    int timeout_set;
    apr_interval_time_t token_reuse;
    int token_reuse_set;
    int embed_on;                   /* RaiEmbed On appears in this scope */
    /* start-up only, for check_config: the directory configurations that
     * say RaiEmbed On (their mode decides whether credentials are needed),
     * and whether RaiEmbedMode token appears in this scope */
    apr_array_header_t *on_scopes;
    int token_named;
    int backoff_slot;               /* its back-off state, -1: none */
    rai_seal_key_t *seal_key;       /* seals its cache entries */
    rai_embed_cache_t *cache;             /* the main server's, shared by all */
    apr_size_t scan_cache_entries;  /* RaiEmbedScanCache; 0: off */
    apr_size_t scan_cache_bytes;
    int scan_cache_set;
    apr_interval_time_t token_memo; /* RaiEmbedTokenMemo; 0: off */
} rai_embed_server_conf;

typedef struct {
    int enabled;                    /* -1: unset */
    const apr_array_header_t *identifiers;
    apr_array_header_t *patterns;
    rai_scan_elements_t elements;
    apr_array_header_t *content_types;
    const char *refresh_script;     /* the <script> element, "" for none */
    int mode;                       /* RAI_EMBED_MODE_*, -1: unset */
    int fallback;                   /* RAI_EMBED_MODE_*, -1: unset */
    apr_array_header_t *trusted;    /* RaiEmbedTrustedHosts, NULL: default */
    rai_hosts_t hosts;
    apr_array_header_t *scripts;    /* RaiEmbedScripts, NULL: default */
    apr_array_header_t *app_headers;/* names of header: sources here and in
                                       every scope above (a union: always
                                       removed from responses), or NULL */
} rai_embed_dir_conf;

/* RaiEmbedMode and RaiEmbedFallback. */
#define RAI_EMBED_MODE_TOKEN      0
#define RAI_EMBED_MODE_ATTRIBUTES 1
#define RAI_EMBED_FALLBACK_NONE   0

/* Per process, set in post_config and child_init. */
extern const rai_scan_elements_t rai_embed_default_elements;
extern const char *const rai_embed_default_types[];
extern const apr_array_header_t *rai_embed_default_identifiers;
extern rai_token_client_t *rai_embed_client;
/* Whether this child loaded libcrypto and json-c and derived the seal
 * keys (child_init): without, no token is looked up or fetched. */
extern int rai_embed_child_ready;
extern rai_flight_table_t *rai_embed_flights;
extern rai_scancache_t *rai_embed_scan_cache;
extern rai_memo_t *rai_embed_memo;

/* A cached token is never used with less than this much lifetime left. */
#define RAI_EMBED_MIN_LIFETIME apr_time_from_sec(60)

/* One warning per interval and kind, per process; the rest go to debug. */
enum {
    RAI_WARN_TOKEN, RAI_WARN_IDENTITY, RAI_WARN_CONFIG, RAI_WARN_CACHE,
    RAI_WARN_BACKOFF, RAI_WARN_SEAL, RAI_WARN_MARKUP,
    RAI_WARN_UNTRUSTED, RAI_WARN_KINDS
};
int rai_embed_warn_level(int kind);

/* ap_log_rerror() reads its level twice: decide it once, then log. */
#define rai_embed_log_limited(kind, ...)                                  \
    do {                                                                  \
        int rai_level_ = rai_embed_warn_level(kind);                      \
        ap_log_rerror(APLOG_MARK, rai_level_, __VA_ARGS__);               \
    } while (0)

/* --- mod_rai_embed_config.c --------------------------------------------- */

extern const command_rec rai_embed_cmds[];
void *rai_embed_create_server_conf(apr_pool_t *p, server_rec *s);
void *rai_embed_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void *rai_embed_create_dir_conf(apr_pool_t *p, char *dir);
void *rai_embed_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
/* child_init: removes every environment variable that holds an access key
 * or a proxy password from this child's environment, where an
 * application (mod_php's getenv(), phpinfo()) could read it.  The parent
 * keeps them: it reads ${VAR} again on a restart. */
void rai_embed_config_hide_secrets(apr_pool_t *pchild, server_rec *s);

/* --- mod_rai_embed_token.c ---------------------------------------------- */

/* Called before a request waits for the token API (not on a cache hit). */
typedef apr_status_t rai_embed_before_wait_t(void *baton);

/* What rai_embed_request_token() found for a request. */
typedef enum {
    RAI_EMBED_OUTCOME_CACHED,
    RAI_EMBED_OUTCOME_FETCHED,
    RAI_EMBED_OUTCOME_ANONYMOUS,    /* no identity, or a refused login */
    RAI_EMBED_OUTCOME_REFUSED,      /* an identity value was refused */
    RAI_EMBED_OUTCOME_UNCONFIGURED, /* no credentials for this server */
    RAI_EMBED_OUTCOME_FAILED        /* the API failed, or is held back */
} rai_embed_outcome_e;

typedef struct {
    rai_embed_outcome_e outcome;
    rai_token_t token;                      /* CACHED, FETCHED */
    const apr_array_header_t *identity;     /* rai_identity_item_t, or NULL */
    apr_interval_time_t retry;              /* FAILED: the API is held back
                                               this long, 0: not known */
} rai_embed_result_t;

#define RAI_EMBED_HAS_TOKEN(result) \
    ((result)->outcome == RAI_EMBED_OUTCOME_CACHED \
     || (result)->outcome == RAI_EMBED_OUTCOME_FETCHED)

void rai_embed_endpoint(const rai_embed_server_conf *sconf,
                        rai_token_endpoint_t *endpoint);
const char *rai_embed_endpoint_key(apr_pool_t *p,
                                   const rai_token_endpoint_t *endpoint);
apr_time_t rai_embed_reuse_until(const rai_token_t *token,
                                 apr_interval_time_t reuse);
const char *rai_embed_outcome_note(rai_embed_outcome_e outcome);
void rai_embed_request_token(request_rec *r,
                             rai_embed_before_wait_t *before_wait,
                             void *baton, rai_embed_result_t *result);
/* The identity httpd accepted for r: fills result->identity and returns
 * 1, or sets result->outcome (anonymous, refused) and returns 0. */
int rai_embed_identity_for(request_rec *r, rai_embed_result_t *result);

/* --- mod_rai_embed_refresh.c -------------------------------------------- */

int rai_embed_token_handler(request_rec *r);
/* The script element for a page whose widgets renew from path: <script
 * src="PATH?script=VERSION" defer data-endpoint="PATH"></script>. */
const char *rai_embed_refresh_script_element(apr_pool_t *p, const char *path);
/* The version of js/rai_refresh.js built in (16 hex digits). */
const char *rai_embed_script_version(apr_pool_t *p);

/* --- mod_rai_embed_filter.c --------------------------------------------- */

void rai_embed_insert_filter(request_rec *r);
void rai_embed_insert_error_filter(request_rec *r);
int rai_embed_media_type_is(const char *content_type, const char *type);
/* Registers RAI_EMBED and RAI_EMBED_HEADERS. */
void rai_embed_filter_register(apr_pool_t *p);

/* --- mod_rai_embed_cache.c --------------------------------------------- */

/* RaiEmbedCache PROVIDER[:ARGS] | none. */
const char *rai_embed_cache_configure(cmd_parms *cmd, rai_embed_cache_t *cache,
                                const char *arg);

/* pre_config: the mutex type, so that Mutex rai-embed-cache ... works. */
void rai_embed_cache_pre_config(apr_pool_t *pconf);

/* post_config: the default cache, the instance and its mutex. */
apr_status_t rai_embed_cache_post_config(rai_embed_cache_t *cache, apr_pool_t *pconf,
                                   apr_pool_t *ptemp, server_rec *s);

/* child_init: re-attaches the mutex. */
void rai_embed_cache_child_init(rai_embed_cache_t *cache, apr_pool_t *pchild,
                          server_rec *s);

/* Whether there is a cache to ask. */
int rai_embed_cache_enabled(const rai_embed_cache_t *cache);

/* The cache key for one identity at one endpoint: raw, the token URL,
 * the access id and the identity's canonical form (NUL separated), which
 * the process's token memo compares whole; hex, its SHA-256 in 64 hex
 * digits, the shared cache's key, made when first asked for
 * (rai_embed_cache_key_hex): a page served from the memo costs no hash. */
typedef struct {
    const char *raw;
    apr_size_t raw_len;
    const char *hex;
} rai_embed_cache_key_t;

void rai_embed_cache_key_init(apr_pool_t *p, const rai_token_endpoint_t *endpoint,
                              const apr_array_header_t *identity,
                              rai_embed_cache_key_t *key);
const char *rai_embed_cache_key_hex(apr_pool_t *p, rai_embed_cache_key_t *key);

/* APR_SUCCESS and *token, APR_NOTFOUND, APR_EINVAL for an entry that
 * does not open (forged, swapped, truncated, or sealed with another key),
 * or the cache's error. */
apr_status_t rai_embed_cache_get(rai_embed_cache_t *cache, server_rec *s,
                                 const rai_seal_key_t *seal, const char *key,
                                 apr_pool_t *p, rai_token_t *token);

/* Seals token and keeps it under key until the time until. */
apr_status_t rai_embed_cache_put(rai_embed_cache_t *cache, server_rec *s,
                                 const rai_seal_key_t *seal, const char *key,
                                 const rai_token_t *token, apr_time_t until,
                                 apr_pool_t *p);

/* child_init, with libcrypto loaded: every server's sealing key, wiped
 * with pchild.  Not APR_SUCCESS (logged) when one cannot be derived. */
apr_status_t rai_embed_cache_seal_keys(apr_pool_t *pchild, server_rec *s);

/* --- mod_rai_embed_identity.c: who a request is for --------------------- */

typedef enum {
    RAI_EMBED_SOURCE_USER,        /* r->user */
    RAI_EMBED_SOURCE_NOTE,        /* note:NAME, r->notes */
    RAI_EMBED_SOURCE_ENV,         /* env:NAME, r->subprocess_env */
    RAI_EMBED_SOURCE_EXPR,        /* expr=STRING */
    RAI_EMBED_SOURCE_HEADER       /* header:NAME, a response header the
                                     application sets; always removed */
} rai_embed_source_e;

typedef struct {
    const char *key;
    rai_embed_source_e source;
    const char *name;
    ap_expr_info_t *expr;
} rai_embed_identifier_t;

typedef enum {
    RAI_EMBED_IDENTITY_FOUND,
    RAI_EMBED_IDENTITY_ANONYMOUS,
    RAI_EMBED_IDENTITY_REFUSED
} rai_embed_identity_status_e;

/* Parses "KEY SOURCE" of RaiEmbedIdentifier into an identifier appended
 * to list.  Returns NULL or an error naming the directive. */
const char *rai_embed_identifier_parse(cmd_parms *cmd, apr_array_header_t *list,
                                 const char *key, const char *source);

/* The default list: data-customer-id from r->user. */
const apr_array_header_t *rai_embed_identifier_defaults(apr_pool_t *p);

/* Reads every identifier for r into *identity (rai_identity_item_t; only
 * those with a value).  REFUSED sets *why (no identity value in it) and
 * *key to the offending identifier. */
rai_embed_identity_status_e rai_embed_identity_read(request_rec *r,
                                        const apr_array_header_t *identifiers,
                                        apr_array_header_t **identity,
                                        const char **key, const char **why);

/* header: sources.  RAI_EMBED_APP_CAPTURE (CONTENT_SET-1, before
 * mod_headers) keeps the application's value and removes it;
 * RAI_EMBED_APP_HEADERS (CONTENT_SET, after mod_headers' filter, before
 * mod_cache's CACHE_SAVE and the protocol filters) removes what mod_headers
 * added.  insert_filter and insert_error_filter hooks; a scope's names are
 * in dconf->app_headers. */
void rai_embed_app_headers_insert(request_rec *r);
void rai_embed_app_headers_register(apr_pool_t *p);
/* RaiEmbedIdentifier's header: names, for the scope's dconf->app_headers. */
void rai_embed_app_headers_merge(apr_pool_t *p, rai_embed_dir_conf *conf,
                                 const rai_embed_dir_conf *base,
                                 const rai_embed_dir_conf *add);

/* --- mod_rai_embed_backoff.c: back-off state shared by all children ---- */

void rai_embed_backoff_pre_config(apr_pool_t *pconf);
apr_status_t rai_embed_backoff_post_config(apr_pool_t *pconf,
                                           apr_pool_t *ptemp, server_rec *s);
void rai_embed_backoff_child_init(apr_pool_t *pchild, server_rec *s);
rai_backoff_verdict_e rai_embed_backoff_check(server_rec *s,
                                              apr_interval_time_t probe_time,
                                              apr_interval_time_t *left);
apr_interval_time_t rai_embed_backoff_failure(server_rec *s,
                                              apr_interval_time_t retry_after);
int rai_embed_backoff_success(server_rec *s);
/* A copy of the server's back-off state; 0 when it has none. */
int rai_embed_backoff_state(server_rec *s, rai_backoff_t *copy);
/* Single flight across children (rai_claim.c): take, look, give up. */
int rai_embed_claim_take(apr_uint64_t id, apr_interval_time_t hold,
                         apr_time_t *owned);
rai_claim_state_e rai_embed_claim_state(apr_uint64_t id);
void rai_embed_claim_release(apr_uint64_t id, apr_time_t owned, int failed);

/* --- mod_rai_embed_metrics.c: counters shared by all children -------- */

/* Token cache failures, as counted. */
typedef enum {
    RAI_EMBED_CACHE_ERROR_GET,      /* the cache failed a lookup */
    RAI_EMBED_CACHE_ERROR_PUT,      /* the cache failed a store */
    RAI_EMBED_CACHE_ERROR_SEAL,     /* an entry could not be sealed */
    RAI_EMBED_CACHE_ERROR_OPEN,     /* an entry did not open */
    RAI_EMBED_CACHE_ERRORS
} rai_embed_cache_error_e;

/* Registers the post_config, handler, log_transaction and status hooks. */
void rai_embed_metrics_register(apr_pool_t *p);
/* The filter scans r's body with rewrite (its insertions are counted at
 * the end of the request). */
void rai_embed_metrics_scanned(request_rec *r, const rai_rewrite_t *rewrite);
/* A token API request begun at begun has ended as err says (status
 * RAI_TOKEN_OK for a success). */
void rai_embed_metrics_api(server_rec *s, const rai_token_error_t *err,
                           apr_time_t begun);
void rai_embed_metrics_backoff_started(server_rec *s);
void rai_embed_metrics_cache_error(server_rec *s, rai_embed_cache_error_e kind);

#endif
