/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* mod_rai_embed_config.c: the directives.  Create and merge, every
 * set_* function, the key file reader and the command table. */

#include <stdlib.h>

#include "http_core.h"


#include "mod_rai_embed.h"
#include "rai_libs.h"

void *rai_embed_create_server_conf(apr_pool_t *p, server_rec *s)
{
    rai_embed_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->connect_timeout = apr_time_from_sec(1);
    conf->total_timeout = apr_time_from_sec(3);
    conf->token_reuse = apr_time_from_sec(300);
    conf->scan_cache_entries = 1000;
    conf->scan_cache_bytes = 4 * 1024 * 1024;
    conf->token_memo = apr_time_from_sec(10);
    conf->cache = apr_pcalloc(p, sizeof(*conf->cache));
    return conf;
}

void *rai_embed_merge_server_conf(apr_pool_t *p, void *basev,
                                  void *addv)
{
    rai_embed_server_conf *base = basev, *add = addv;
    rai_embed_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->access_id = add->access_id ? add->access_id : base->access_id;
    if (add->access_key) {
        conf->access_key = add->access_key;
        conf->access_key_source = add->access_key_source;
    }
    else {
        conf->access_key = base->access_key;
        conf->access_key_source = base->access_key_source;
    }
    conf->token_url = add->token_url ? add->token_url : base->token_url;
    conf->ca_file = add->ca_file ? add->ca_file : base->ca_file;
    if (add->proxy) {
        conf->proxy = add->proxy;
        conf->proxy_user = add->proxy_user;
        conf->proxy_password = add->proxy_password;
        conf->proxy_userinfo = add->proxy_userinfo;
    }
    else {
        conf->proxy = base->proxy;
        conf->proxy_user = base->proxy_user;
        conf->proxy_password = base->proxy_password;
        conf->proxy_userinfo = base->proxy_userinfo;
    }
    conf->timeout_set = add->timeout_set || base->timeout_set;
    conf->connect_timeout = add->timeout_set ? add->connect_timeout
                                             : base->connect_timeout;
    conf->total_timeout = add->timeout_set ? add->total_timeout
                                           : base->total_timeout;
    conf->token_reuse_set = add->token_reuse_set || base->token_reuse_set;
    conf->token_reuse = add->token_reuse_set ? add->token_reuse
                                             : base->token_reuse;
    conf->cache = base->cache;      /* RaiEmbedCache is server-wide */
    conf->scan_cache_entries = base->scan_cache_entries;    /* and so is */
    conf->scan_cache_bytes = base->scan_cache_bytes;        /* the scan cache */
    conf->token_memo = base->token_memo;                    /* and the memo */
    /* the main server's <Directory> sections apply to every vhost */
    conf->embed_on = add->embed_on || base->embed_on;
    conf->token_named = add->token_named || base->token_named;
    if (add->on_scopes && base->on_scopes) {
        conf->on_scopes = apr_array_append(p, base->on_scopes, add->on_scopes);
    }
    else {
        conf->on_scopes = add->on_scopes ? add->on_scopes : base->on_scopes;
    }
    return conf;
}

void *rai_embed_create_dir_conf(apr_pool_t *p, char *dir)
{
    rai_embed_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->enabled = -1;
    conf->mode = -1;
    conf->fallback = -1;
    return conf;
}

void *rai_embed_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    rai_embed_dir_conf *base = basev, *add = addv;
    rai_embed_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->enabled = add->enabled != -1 ? add->enabled : base->enabled;
    /* lists are replaced, never appended: a scope that names one owns it */
    conf->identifiers = add->identifiers ? add->identifiers
                                         : base->identifiers;
    if (add->patterns) {
        conf->patterns = add->patterns;
        conf->elements = add->elements;
    }
    else {
        conf->patterns = base->patterns;
        conf->elements = base->elements;
    }
    conf->content_types = add->content_types ? add->content_types
                                             : base->content_types;
    conf->refresh_script = add->refresh_script ? add->refresh_script
                                               : base->refresh_script;
    conf->mode = add->mode != -1 ? add->mode : base->mode;
    conf->fallback = add->fallback != -1 ? add->fallback : base->fallback;
    if (add->trusted) {
        conf->trusted = add->trusted;
        conf->hosts = add->hosts;
    }
    else {
        conf->trusted = base->trusted;
        conf->hosts = base->hosts;
    }
    conf->scripts = add->scripts ? add->scripts : base->scripts;
    rai_embed_app_headers_merge(p, conf, base, add);
    return conf;
}

static const char *rai_embed_set_enabled(cmd_parms *cmd, void *dconf, int on)
{
    rai_embed_dir_conf *conf = dconf;

    conf->enabled = on;
    /* at start-up only: .htaccess files are read while serving, and the
     * server's configuration is shared by every thread by then */
    if (on && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM) {
        rai_embed_server_conf *sconf =
            ap_get_module_config(cmd->server->module_config,
                                 &rai_embed_module);
        sconf->embed_on = 1;
        if (!sconf->on_scopes) {
            sconf->on_scopes = apr_array_make(cmd->pool, 2,
                                              sizeof(rai_embed_dir_conf *));
        }
        APR_ARRAY_PUSH(sconf->on_scopes, rai_embed_dir_conf *) = conf;
    }
    return NULL;
}

static rai_embed_server_conf *rai_embed_sconf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &rai_embed_module);
}

static const char *rai_embed_set_access_id(cmd_parms *cmd, void *dconf,
                                           const char *arg)
{
    (void)dconf;
    if (!*arg) {
        return "RaiEmbedAccessId must not be empty";
    }
    rai_embed_sconf(cmd)->access_id = arg;
    return NULL;
}

static const char *rai_embed_key_conflict(cmd_parms *cmd,
                                          rai_embed_server_conf *sconf)
{
    if (sconf->access_key_source
        && strcmp(sconf->access_key_source, cmd->cmd->name)) {
        return apr_psprintf(cmd->pool, "%s: the access key is already set "
                            "by %s in this scope; use one of the two",
                            cmd->cmd->name, sconf->access_key_source);
    }
    return NULL;
}

static const char *rai_embed_set_access_key(cmd_parms *cmd, void *dconf,
                                            const char *arg)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    const char *err = rai_embed_key_conflict(cmd, sconf);
    (void)dconf;
    if (err) {
        return err;
    }
    /* httpd leaves ${NAME} in place when NAME is not defined (and says
     * which above); quoting the value here could quote a key */
    if (strstr(arg, "${")) {
        return "RaiEmbedAccessKey: its ${...} variable is not defined in "
               "httpd's environment";
    }
    if (!*arg) {
        return "RaiEmbedAccessKey must not be empty";
    }
    sconf->access_key = arg;
    sconf->access_key_source = cmd->cmd->name;
    /* mod_info shows the configuration tree: not this line's argument */
    if (cmd->directive) {
        ((ap_directive_t *)cmd->directive)->args = "(hidden)";
    }
    return NULL;
}

static const char *rai_embed_set_access_key_file(cmd_parms *cmd, void *dconf,
                                                 const char *arg)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    const char *err = rai_embed_key_conflict(cmd, sconf);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    char buf[4096];
    char errbuf[120];
    apr_file_t *file;
    apr_finfo_t finfo;
    apr_size_t len = sizeof(buf) - 1;
    apr_status_t rv;

    (void)dconf;
    if (err) {
        return err;
    }
    if (!path) {
        return apr_psprintf(cmd->pool, "RaiEmbedAccessKeyFile: invalid path "
                            "'%s'", arg);
    }
    rv = apr_file_open(&file, path, APR_FOPEN_READ, APR_OS_DEFAULT,
                       cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_PROT | APR_FINFO_TYPE, file);
        if (rv == APR_SUCCESS && finfo.filetype != APR_REG) {
            rv = APR_EBADF;
        }
        if (rv == APR_SUCCESS) {
            rv = apr_file_read_full(file, buf, len, &len);
            if (rv == APR_EOF) {
                rv = APR_SUCCESS;
            }
        }
        apr_file_close(file);
    }
    if (rv != APR_SUCCESS) {
        rai_cleanse(buf, sizeof(buf));
        return apr_psprintf(cmd->pool, "RaiEmbedAccessKeyFile: cannot read "
                            "'%s': %s", path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    /* the key is the first line; a trailing newline is not part of it */
    buf[len] = '\0';
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    while (len && apr_isspace(buf[len - 1])) {
        buf[--len] = '\0';
    }
    if (!buf[0]) {
        rai_cleanse(buf, sizeof(buf));
        return apr_psprintf(cmd->pool, "RaiEmbedAccessKeyFile: '%s' holds no "
                            "key", path);
    }
    if (finfo.protection & (APR_GREAD | APR_WREAD)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                     "RAI0002: RaiEmbedAccessKeyFile '%s' is readable by its "
                     "group or by others; chmod 600 it", path);
    }
    sconf->access_key = apr_pstrdup(cmd->pool, buf);
    sconf->access_key_source = cmd->cmd->name;
    /* memset() of a dead buffer may be optimised away; this is not */
    rai_cleanse(buf, sizeof(buf));
    return NULL;
}

static const char *rai_embed_set_token_url(cmd_parms *cmd, void *dconf,
                                           const char *arg)
{
    const char *why = rai_token_url_check(cmd->temp_pool, arg);

    (void)dconf;
    if (why) {
        /* a URL with user information is not echoed: it may hold a password */
        return strchr(arg, '@')
               ? apr_pstrcat(cmd->pool, "RaiEmbedTokenURL: the URL ", why, NULL)
               : apr_psprintf(cmd->pool, "RaiEmbedTokenURL: '%s' %s", arg, why);
    }
    rai_embed_sconf(cmd)->token_url = arg;
    return NULL;
}

static const char *rai_embed_set_ca_file(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;

    (void)dconf;
    if (!path || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool)
                 != APR_SUCCESS || finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "RaiEmbedCACertificateFile: '%s' does "
                            "not exist or is not a file", arg);
    }
    rai_embed_sconf(cmd)->ca_file = path;
    return NULL;
}

static const char *rai_embed_set_proxy(cmd_parms *cmd, void *dconf,
                                       const char *arg)
{
    static const char *const schemes[] = {
        "http", "https", "socks4", "socks4a", "socks5", "socks5h"
    };
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    apr_size_t i;
    apr_uri_t uri;

    (void)dconf;
    /* the URL may carry a proxy password: no message echoes it */
    if (apr_uri_parse(cmd->temp_pool, arg, &uri) != APR_SUCCESS
        || !uri.scheme || !uri.hostname || !*uri.hostname) {
        return "RaiEmbedProxy: the proxy must be an absolute URL such as "
               "http://proxy.example.com:3128";
    }
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (!strcasecmp(uri.scheme, schemes[i])) {
            break;
        }
    }
    if (i == sizeof(schemes) / sizeof(schemes[0])) {
        return "RaiEmbedProxy: the proxy URL's scheme must be http, https, "
               "socks4, socks4a, socks5 or socks5h";
    }
    sconf->proxy_user = NULL;
    sconf->proxy_password = NULL;
    sconf->proxy_userinfo = NULL;
    if (uri.user) {
        char *user = apr_pstrdup(cmd->pool, uri.user);
        char *password = apr_pstrdup(cmd->pool,
                                     uri.password ? uri.password : "");
        /* %XX only: a '+' in user information is a '+' (RFC 3986) */
        if (ap_unescape_url_keep2f(user, 1) != OK
            || ap_unescape_url_keep2f(password, 1) != OK) {
            return "RaiEmbedProxy: the proxy URL's user information is not "
                   "well percent-encoded";
        }
        sconf->proxy_user = user;
        sconf->proxy_password = password;
        /* as written, still percent-encoded: what ${VAR} held */
        sconf->proxy_userinfo = apr_pstrcat(cmd->pool, uri.user, ":",
                                            uri.password ? uri.password : "",
                                            "@", NULL);
        /* mod_info shows the configuration tree: not the password */
        if (cmd->directive) {
            ((ap_directive_t *)cmd->directive)->args = "(hidden)";
        }
    }
    sconf->proxy = apr_uri_unparse(cmd->pool, &uri, APR_URI_UNP_OMITUSERINFO);
    return NULL;
}

static const char *rai_embed_parse_seconds(const char *arg,
                                           apr_interval_time_t *out)
{
    char *end;
    double seconds = strtod(arg, &end);

    if (end == arg || *end || !(seconds > 0) || seconds > 300) {
        return "must be a number of seconds above 0 and at most 300";
    }
    *out = (apr_interval_time_t)(seconds * APR_USEC_PER_SEC);
    if (*out < 1000) {
        return "must be at least 0.001 s";
    }
    return NULL;
}

static const char *rai_embed_set_timeout(cmd_parms *cmd, void *dconf,
                                         const char *connect,
                                         const char *total)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    apr_interval_time_t c, t;
    const char *why;

    (void)dconf;
    if ((why = rai_embed_parse_seconds(connect, &c)) != NULL) {
        return apr_psprintf(cmd->pool, "RaiEmbedTimeout: CONNECT '%s' %s",
                            connect, why);
    }
    if ((why = rai_embed_parse_seconds(total, &t)) != NULL) {
        return apr_psprintf(cmd->pool, "RaiEmbedTimeout: TOTAL '%s' %s",
                            total, why);
    }
    if (c > t) {
        return "RaiEmbedTimeout: CONNECT must not be longer than TOTAL";
    }
    sconf->connect_timeout = c;
    sconf->total_timeout = t;
    sconf->timeout_set = 1;
    return NULL;
}

static const char *rai_embed_set_token_reuse(cmd_parms *cmd, void *dconf,
                                             const char *arg)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    char *end;
    apr_int64_t seconds = apr_strtoi64(arg, &end, 10);

    (void)dconf;
    if (end == arg || *end || seconds < 0 || seconds > 86400) {
        return apr_psprintf(cmd->pool, "RaiEmbedTokenReuse: '%s' must be a "
                            "whole number of seconds from 0 to 86400", arg);
    }
    sconf->token_reuse = apr_time_from_sec(seconds);
    sconf->token_reuse_set = 1;
    return NULL;
}

static const char *rai_embed_set_cache(cmd_parms *cmd, void *dconf,
                                       const char *arg)
{
    (void)dconf;
    return rai_embed_cache_configure(cmd, rai_embed_sconf(cmd)->cache, arg);
}

static const char *rai_embed_add_identifier(cmd_parms *cmd, void *dconf,
                                            const char *key,
                                            const char *source)
{
    rai_embed_dir_conf *conf = dconf;
    const rai_embed_identifier_t *id;
    const char *err;

    if (!conf->identifiers) {
        conf->identifiers = apr_array_make(cmd->pool, 2,
                                           sizeof(rai_embed_identifier_t));
    }
    err = rai_embed_identifier_parse(cmd, (apr_array_header_t *)conf->identifiers,
                                     key, source);
    if (err) {
        return err;
    }
    id = &APR_ARRAY_IDX(conf->identifiers, conf->identifiers->nelts - 1,
                        rai_embed_identifier_t);
    if (id->source == RAI_EMBED_SOURCE_HEADER) {
        if (!conf->app_headers) {
            conf->app_headers = apr_array_make(cmd->pool, 1,
                                               sizeof(const char *));
        }
        APR_ARRAY_PUSH(conf->app_headers, const char *) = id->name;
    }
    return NULL;
}

static const char *rai_embed_add_element(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    rai_embed_dir_conf *conf = dconf;
    char *name = apr_pstrdup(cmd->pool, arg);
    const char *why;

    ap_str_tolower(name);
    if ((why = rai_scan_pattern_check(name)) != NULL) {
        return apr_psprintf(cmd->pool, "RaiEmbedElements: '%s': %s", arg, why);
    }
    if (!conf->patterns) {
        conf->patterns = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->patterns, const char *) = name;
    conf->elements.patterns = (const char *const *)conf->patterns->elts;
    conf->elements.count = conf->patterns->nelts;
    return NULL;
}

static const char *rai_embed_add_content_type(cmd_parms *cmd, void *dconf,
                                              const char *arg)
{
    rai_embed_dir_conf *conf = dconf;
    char *type = apr_pstrdup(cmd->pool, arg);

    if (!strchr(type, '/') || strchr(type, ';')) {
        return apr_psprintf(cmd->pool, "RaiEmbedContentTypes: '%s' is not a "
                            "media type such as text/html", arg);
    }
    ap_str_tolower(type);
    if (!conf->content_types) {
        conf->content_types = apr_array_make(cmd->pool, 2,
                                             sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->content_types, const char *) = type;
    return NULL;
}

static const char *rai_embed_set_refresh_script(cmd_parms *cmd, void *dconf,
                                                const char *arg)
{
    rai_embed_dir_conf *conf = dconf;
    const char *p;

    if (!strcasecmp(arg, "none")) {
        conf->refresh_script = "";
        return NULL;
    }
    /* it goes into a script as a string: only plain URL characters, and
     * a path on this site ("//host/..." would be another one) */
    if (arg[0] != '/' || arg[1] == '/') {
        return "RaiEmbedRefreshScript: the URL path must start with a "
               "single '/' (or be none)";
    }
    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && !strchr("/._~%-+=&?,;:@!$*()", *p)) {
            return apr_psprintf(cmd->pool, "RaiEmbedRefreshScript: '%c' is "
                                "not allowed in the URL path", *p);
        }
    }
    conf->refresh_script = rai_embed_refresh_script_element(cmd->pool, arg);
    return NULL;
}

static const char *rai_embed_set_token_memo(cmd_parms *cmd, void *dconf,
                                            const char *arg)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    apr_int64_t seconds;

    (void)dconf;
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        sconf->token_memo = 0;
        return NULL;
    }
    seconds = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end || seconds < 0 || seconds > 60) {
        return apr_psprintf(cmd->pool, "RaiEmbedTokenMemo: '%s' must be off "
                            "or a whole number of seconds from 0 to 60", arg);
    }
    sconf->token_memo = apr_time_from_sec(seconds);
    return NULL;
}

static const char *rai_embed_set_scan_cache(cmd_parms *cmd, void *dconf,
                                            const char *entries,
                                            const char *bytes)
{
    rai_embed_server_conf *sconf = rai_embed_sconf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t n, size = 4 * 1024 * 1024;
    char *end;

    (void)dconf;
    if (err) {
        return err;
    }
    if (!strcasecmp(entries, "off") && !bytes) {
        sconf->scan_cache_entries = 0;
        return NULL;
    }
    n = apr_strtoi64(entries, &end, 10);
    if (end == entries || *end || n < 1 || n > 1000000) {
        return apr_psprintf(cmd->pool, "RaiEmbedScanCache: '%s' must be off "
                            "or a number of files from 1 to 1000000",
                            entries);
    }
    if (bytes) {
        size = apr_strtoi64(bytes, &end, 10);
        if (end == bytes || *end || size < 4096 || size > APR_INT32_MAX) {
            return apr_psprintf(cmd->pool, "RaiEmbedScanCache: BYTES '%s' "
                                "must be a number from 4096 to 2147483647",
                                bytes);
        }
    }
    sconf->scan_cache_entries = (apr_size_t)n;
    sconf->scan_cache_bytes = (apr_size_t)size;
    return NULL;
}

static const char *rai_embed_set_mode(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    rai_embed_dir_conf *conf = dconf;

    if (!strcasecmp(arg, "token")) {
        conf->mode = RAI_EMBED_MODE_TOKEN;
        /* token mode named anywhere needs credentials (check_config) */
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM) {
            rai_embed_sconf(cmd)->token_named = 1;
        }
    }
    else if (!strcasecmp(arg, "attributes")) {
        conf->mode = RAI_EMBED_MODE_ATTRIBUTES;
    }
    else {
        return apr_psprintf(cmd->pool, "RaiEmbedMode: '%s' is neither token "
                            "nor attributes", arg);
    }
    return NULL;
}

static const char *rai_embed_set_fallback(cmd_parms *cmd, void *dconf,
                                          const char *arg)
{
    rai_embed_dir_conf *conf = dconf;

    if (!strcasecmp(arg, "none")) {
        conf->fallback = RAI_EMBED_FALLBACK_NONE;
    }
    else if (!strcasecmp(arg, "attributes")) {
        conf->fallback = RAI_EMBED_MODE_ATTRIBUTES;
    }
    else {
        return apr_psprintf(cmd->pool, "RaiEmbedFallback: '%s' is neither "
                            "none nor attributes", arg);
    }
    return NULL;
}

static const char *rai_embed_add_trusted_host(cmd_parms *cmd, void *dconf,
                                              const char *arg)
{
    rai_embed_dir_conf *conf = dconf;
    const char *why = rai_hosts_pattern_check(arg);

    if (why) {
        return apr_psprintf(cmd->pool, "RaiEmbedTrustedHosts: '%s': %s", arg,
                            why);
    }
    if (!conf->trusted) {
        conf->trusted = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->trusted, const char *) = arg;
    conf->hosts.patterns = (const char *const *)conf->trusted->elts;
    conf->hosts.count = conf->trusted->nelts;
    return NULL;
}

static const char *rai_embed_add_script(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    rai_embed_dir_conf *conf = dconf;
    const char *why = rai_scripts_pattern_check(arg);

    if (why) {
        return apr_psprintf(cmd->pool, "RaiEmbedScripts: '%s': %s", arg, why);
    }
    if (!conf->scripts) {
        conf->scripts = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->scripts, const char *) = arg;
    return NULL;
}

/* Whether an environment value holds a secret.  Long secrets count
 * anywhere in it (a proxy URL in ${VAR}), short ones only whole. */
static int rai_embed_holds_secret(const char *value, const char *secret)
{
    if (!secret || !*secret) {
        return 0;
    }
    return strlen(secret) >= 8 ? strstr(value, secret) != NULL
                               : !strcmp(value, secret);
}

void rai_embed_config_hide_secrets(apr_pool_t *pchild, server_rec *main_server)
{
    extern char **environ;
    apr_array_header_t *names = apr_array_make(pchild, 2, sizeof(char *));
    char **env;
    int i;

    for (env = environ; env && *env; env++) {
        const char *value = strchr(*env, '=');
        server_rec *s;

        if (!value) {
            continue;
        }
        for (s = main_server; s; s = s->next) {
            rai_embed_server_conf *sconf =
                ap_get_module_config(s->module_config, &rai_embed_module);
            if (rai_embed_holds_secret(value + 1, sconf->access_key)
                || rai_embed_holds_secret(value + 1, sconf->proxy_password)
                || (sconf->proxy_userinfo
                    && strstr(value + 1, sconf->proxy_userinfo))) {
                APR_ARRAY_PUSH(names, char *) =
                    apr_pstrmemdup(pchild, *env, (apr_size_t)(value - *env));
                break;
            }
        }
    }
    /* names first: unsetenv() changes environ */
    for (i = 0; i < names->nelts; i++) {
        unsetenv(APR_ARRAY_IDX(names, i, char *));
    }
}

const command_rec rai_embed_cmds[] = {
    AP_INIT_FLAG("RaiEmbed", rai_embed_set_enabled, NULL,
                 RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                 "On to write embed tokens into widget elements of HTML "
                 "responses in this scope"),
    AP_INIT_TAKE1("RaiEmbedAccessId", rai_embed_set_access_id, NULL,
                  RSRC_CONF, "The Returning.AI access id"),
    AP_INIT_TAKE1("RaiEmbedAccessKey", rai_embed_set_access_key, NULL,
                  RSRC_CONF, "The Returning.AI access key; ${VAR} takes it "
                  "from httpd's environment"),
    AP_INIT_TAKE1("RaiEmbedAccessKeyFile", rai_embed_set_access_key_file,
                  NULL, RSRC_CONF, "A file holding the access key, read at "
                  "start-up"),
    AP_INIT_TAKE1("RaiEmbedTokenURL", rai_embed_set_token_url, NULL,
                  RSRC_CONF, "The token API URL"),
    AP_INIT_TAKE2("RaiEmbedIdentifier", rai_embed_add_identifier, NULL,
                  RSRC_CONF | ACCESS_CONF, "KEY SOURCE: a userIdentifiers "
                  "key (data-...) and where its value comes from: user, "
                  "note:NAME, env:NAME, header:NAME or expr=STRING"),
    AP_INIT_ITERATE("RaiEmbedElements", rai_embed_add_element, NULL,
                    RSRC_CONF | ACCESS_CONF, "Widget element names; '*' "
                    "matches a run of name characters"),
    AP_INIT_ITERATE("RaiEmbedContentTypes", rai_embed_add_content_type, NULL,
                    RSRC_CONF | ACCESS_CONF, "Media types whose responses "
                    "are scanned for widgets"),
    AP_INIT_TAKE2("RaiEmbedTimeout", rai_embed_set_timeout, NULL, RSRC_CONF,
                   "CONNECT TOTAL: seconds to connect to the token API and "
                   "for the whole request"),
    AP_INIT_TAKE1("RaiEmbedRefreshScript", rai_embed_set_refresh_script, NULL,
                  RSRC_CONF | ACCESS_CONF, "URL-PATH of a rai-embed-token "
                  "handler: pages with widgets get a script that renews "
                  "their token from it; none for no script"),
    AP_INIT_TAKE12("RaiEmbedScanCache", rai_embed_set_scan_cache, NULL,
                   RSRC_CONF, "ENTRIES [BYTES] | off: static files whose "
                   "widgets each process remembers, so that they are not "
                   "read again (default 1000 files, 4194304 bytes)"),
    AP_INIT_TAKE1("RaiEmbedMode", rai_embed_set_mode, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO, "token (default): "
                  "write an embed token into widgets; attributes: write the "
                  "user's data-* identifiers instead (Attribute Auth)"),
    AP_INIT_TAKE1("RaiEmbedFallback", rai_embed_set_fallback, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO, "none (default) or "
                  "attributes: what widgets get when no token can be had"),
    AP_INIT_ITERATE("RaiEmbedTrustedHosts", rai_embed_add_trusted_host, NULL,
                    RSRC_CONF | ACCESS_CONF, "Hosts a widget's URL attributes "
                    "may name and still get a token; *.example.com matches "
                    "its subdomains (default returning.ai *.returning.ai)"),
    AP_INIT_ITERATE("RaiEmbedScripts", rai_embed_add_script, NULL,
                    RSRC_CONF | ACCESS_CONF, "src patterns of Attribute Auth "
                    "embed scripts ('*' matches any run; default "
                    "*/widget-loader.js)"),
    AP_INIT_TAKE1("RaiEmbedCache", rai_embed_set_cache, NULL, RSRC_CONF,
                  "The shared object cache for tokens: shmcb (default), "
                  "PROVIDER:ARGS such as memcache:host:port, or none"),
    AP_INIT_TAKE1("RaiEmbedTokenReuse", rai_embed_set_token_reuse, NULL,
                  RSRC_CONF, "Seconds after its issue that a cached token "
                  "may still be used (default 300)"),
    AP_INIT_TAKE1("RaiEmbedTokenMemo", rai_embed_set_token_memo, NULL,
                  RSRC_CONF, "Seconds each child serves a token it took from "
                  "the token cache without asking the cache again (default "
                  "10; off or 0: ask every time)"),
    AP_INIT_TAKE1("RaiEmbedCACertificateFile", rai_embed_set_ca_file, NULL,
                  RSRC_CONF, "CA certificates to verify the token API with"),
    AP_INIT_TAKE1("RaiEmbedProxy", rai_embed_set_proxy, NULL, RSRC_CONF,
                  "A proxy URL for requests to the token API"),
    {NULL}
};
