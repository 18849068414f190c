/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/*
 * mod_rai_embed: writes a Returning.AI embed token into every widget
 * element of outgoing HTML.
 *
 * This file holds the hooks and the module record.  The other glue files
 * (mod_rai_embed_*.c) hold one concern each; the pure parts (rai_*.c)
 * know nothing of httpd.  README.md lists them all.
 */

#include "apr_atomic.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"


#include "mod_rai_embed.h"
#include "rai_curl.h"
#include "rai_libs.h"

static const char *const rai_embed_default_patterns[] = {
    "rai-widget", "rai-*-widget"
};
const rai_scan_elements_t rai_embed_default_elements = {
    rai_embed_default_patterns, 2
};
const char *const rai_embed_default_types[] = {
    "text/html", "application/xhtml+xml"
};

const apr_array_header_t *rai_embed_default_identifiers;
rai_token_client_t *rai_embed_client;
int rai_embed_child_ready;
rai_flight_table_t *rai_embed_flights;
rai_scancache_t *rai_embed_scan_cache;
rai_memo_t *rai_embed_memo;
static volatile apr_uint32_t rai_embed_warned_at[RAI_WARN_KINDS];

int rai_embed_warn_level(int kind)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&rai_embed_warned_at[kind]);

    if (last && now - last < RAI_EMBED_WARN_INTERVAL) {
        return APLOG_DEBUG;
    }
    return apr_atomic_cas32(&rai_embed_warned_at[kind], now, last) == last
           ? APLOG_WARNING : APLOG_DEBUG;
}

/* --- start-up ----------------------------------------------------------- */

/* Whether token mode can apply where RaiEmbed On is given in server s: the
 * credentials are needed only then (docs/configuration.md: Attribute Auth needs
 * no access id or key).  A scope that does not name its mode has the
 * server's (or token). */
static int rai_embed_token_possible(server_rec *s,
                                    const rai_embed_server_conf *sconf)
{
    const rai_embed_dir_conf *defaults =
        ap_get_module_config(s->lookup_defaults, &rai_embed_module);
    int inherited = defaults && defaults->mode != -1 ? defaults->mode
                                                     : RAI_EMBED_MODE_TOKEN;
    int i;

    if (sconf->token_named || !sconf->on_scopes) {
        return 1;
    }
    for (i = 0; i < sconf->on_scopes->nelts; i++) {
        const rai_embed_dir_conf *scope =
            APR_ARRAY_IDX(sconf->on_scopes, i, rai_embed_dir_conf *);
        int mode = scope->mode != -1 ? scope->mode : inherited;

        if (mode != RAI_EMBED_MODE_ATTRIBUTES) {
            return 1;
        }
    }
    return 0;
}

static int rai_embed_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *main_server)
{
    server_rec *s;
    int failed = 0;

    (void)pconf;
    (void)plog;
    for (s = main_server; s; s = s->next) {
        rai_embed_server_conf *sconf =
            ap_get_module_config(s->module_config, &rai_embed_module);
        if (sconf->embed_on && rai_embed_token_possible(s, sconf)
            && (!sconf->access_id || !sconf->access_key)) {
            /* the main server and each vhost: where it was defined */
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         "RAI0003: RaiEmbed On (token mode) in %s needs "
                         "RaiEmbedAccessId and RaiEmbedAccessKey (or "
                         "RaiEmbedAccessKeyFile), or RaiEmbedMode attributes",
                         s->is_virtual
                         ? apr_psprintf(ptemp, "the virtual host %s defined "
                                        "at %s:%d", s->server_hostname
                                        ? s->server_hostname : "*",
                                        s->defn_name ? s->defn_name : "?",
                                        s->defn_line_number)
                         : "the main server");
            failed = 1;
        }
    }
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

static int rai_embed_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    rai_embed_cache_pre_config(pconf);
    rai_embed_backoff_pre_config(pconf);
    return OK;
}

static int rai_embed_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    rai_embed_server_conf *sconf =
        ap_get_module_config(s->module_config, &rai_embed_module);

    (void)plog;
    /* nothing here calls libcrypto or json-c: the parent does not load
     * them (rai_libs.h); the children derive the seal keys */
    if (rai_embed_cache_post_config(sconf->cache, pconf, ptemp, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rai_embed_backoff_post_config(pconf, ptemp, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rai_embed_default_identifiers = rai_embed_identifier_defaults(pconf);
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "RAI0001: " RAI_EMBED_USER_AGENT " (%s, scanner %s) configured",
                     rai_token_library_versions(ptemp),
                     rai_scan_impl_name(rai_scan_impl_in_use()));
    }
    return OK;
}

static void rai_embed_child_init(apr_pool_t *pchild, server_rec *s)
{
    rai_embed_server_conf *sconf =
        ap_get_module_config(s->module_config, &rai_embed_module);

    const char *why;

    /* first: the seal keys are derived from the access keys, which
     * rai_embed_config_hide_secrets() below wipes */
    if ((why = rai_libs_load()) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "RAI0044: cannot load "
                     "%s; no token can be fetched in this child (pages are "
                     "served without)", why);
    }
    else {
        rai_seal_global_init(pchild);
        rai_embed_child_ready = rai_embed_cache_seal_keys(pchild, s)
                                == APR_SUCCESS;
    }
    rai_embed_cache_child_init(sconf->cache, pchild, s);
    /* created after fork: no handle or connection crosses processes */
    rai_embed_client = rai_token_client_create(pchild);
    if (rai_token_client_load_error(rai_embed_client)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "RAI0043: cannot load "
                     "libcurl (" RAI_CURL_SONAME "): %s; no token can be "
                     "fetched in this child (pages are served without)",
                     rai_token_client_load_error(rai_embed_client));
    }
    rai_embed_flights = rai_flight_table_create(pchild);
    rai_embed_scan_cache = rai_scancache_create(pchild,
                                                sconf->scan_cache_entries,
                                                sconf->scan_cache_bytes);
    /* tokens are remembered only where they are shared: with the cache
     * off, every page asks the API (docs/configuration.md) */
    rai_embed_memo = rai_embed_cache_enabled(sconf->cache)
                     ? rai_memo_create(pchild, sconf->token_memo) : NULL;
    rai_embed_backoff_child_init(pchild, s);
    rai_embed_config_hide_secrets(pchild, s);
}

static void rai_embed_register_hooks(apr_pool_t *p)
{
    /* header: sources are removed after mod_headers has set headers */
    static const char *const after_headers[] = { "mod_headers.c", NULL };

    ap_hook_pre_config(rai_embed_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(rai_embed_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(rai_embed_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(rai_embed_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* last: RESOURCE filters run in the order they were added, and those
     * that pull in content (INCLUDES) must come before us */
    ap_hook_insert_error_filter(rai_embed_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_insert_filter(rai_embed_insert_filter, NULL, NULL,
                          APR_HOOK_LAST);
    ap_hook_insert_filter(rai_embed_app_headers_insert, after_headers, NULL,
                          APR_HOOK_LAST);
    ap_hook_insert_error_filter(rai_embed_app_headers_insert, after_headers,
                                NULL, APR_HOOK_LAST);
    ap_hook_handler(rai_embed_token_handler, NULL, NULL, APR_HOOK_MIDDLE);
    rai_embed_filter_register(p);
    rai_embed_app_headers_register(p);
    rai_embed_metrics_register(p);
}

module AP_MODULE_DECLARE_DATA rai_embed_module = {
    STANDARD20_MODULE_STUFF,
    rai_embed_create_dir_conf,
    rai_embed_merge_dir_conf,
    rai_embed_create_server_conf,
    rai_embed_merge_server_conf,
    rai_embed_cmds,
    rai_embed_register_hooks,
    AP_MODULE_FLAG_NONE
};
