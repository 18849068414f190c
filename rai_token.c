/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>


#include "apr_base64.h"
#include "apr_date.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_uri.h"

#include "rai_curl.h"
#include "rai_libs.h"
#include "rai_token.h"
#include "rai_version.h"

/* Idle handles kept per process; more concurrent requests than this open
 * handles of their own and close them afterwards. */
#define RAI_TOKEN_IDLE_MAX 16
/* Retry-After longer than this is taken as this. */
#define RAI_TOKEN_RETRY_AFTER_MAX 3600
/* Lifetimes beyond this (seconds) are taken as this: no token lives a day,
 * and larger numbers would overflow apr_time_t. */
#define RAI_TOKEN_LIFETIME_MAX 86400

struct rai_token_client {
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    CURL *idle[RAI_TOKEN_IDLE_MAX];
    int idle_count;
    const char *load_error;         /* libcurl could not be loaded */
    long connects;
};

const char *rai_token_library_versions(apr_pool_t *p)
{
    /* both are loaded by the children only (rai_curl.h, rai_libs.h): the
     * versions the module was built against */
    return apr_psprintf(p, "libcurl %s, json-c %s", LIBCURL_VERSION,
                        JSON_C_VERSION);
}

/* 127.0.0.0/8, ::1 or localhost: a name that merely starts with "127."
 * is a DNS name like any other. */
static int rai_token_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (!strcasecmp(host, "localhost")) {
        return 1;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return 0;
}

const char *rai_token_url_check(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme
        || !uri.hostname || !*uri.hostname) {
        return "is not an absolute http(s) URL";
    }
    if (uri.user || uri.password) {
        return "must not carry user information";
    }
    if (!strcasecmp(uri.scheme, "https")) {
        return NULL;
    }
    if (!strcasecmp(uri.scheme, "http")) {
        return rai_token_host_is_loopback(uri.hostname) ? NULL
               : "may use plain http only for a loopback host; use https";
    }
    return "must use https";
}

char *rai_token_request_body(apr_pool_t *p, const char *access_id,
                             const char *access_key,
                             const apr_array_header_t *identity)
{
    json_object *body = json_object_new_object();
    json_object *ids = json_object_new_object();
    json_object *key = json_object_new_string(access_key);
    char *json, *text;
    int i;

    for (i = 0; i < identity->nelts; i++) {
        const rai_identity_item_t *item =
            &APR_ARRAY_IDX(identity, i, rai_identity_item_t);
        json_object_object_add(ids, item->key,
                               json_object_new_string(item->value));
    }
    json_object_object_add(body, "accessId", json_object_new_string(access_id));
    json_object_object_add(body, "accessKey", json_object_get(key));
    json_object_object_add(body, "userIdentifiers", ids);
    json = (char *)json_object_to_json_string_ext(body,
                                                  JSON_C_TO_STRING_PLAIN
                                                  | JSON_C_TO_STRING_NOSLASHESCAPE);
    text = apr_pstrdup(p, json);
    /* json-c frees its copies of the key without clearing them */
    rai_cleanse(json, strlen(json));
    rai_cleanse((char *)json_object_get_string(key),
                    (size_t)json_object_get_string_len(key));
    json_object_put(key);
    json_object_put(body);
    return text;
}

static int rai_token_is_b64url(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '_';
}

int rai_token_shape_ok(const char *token, apr_size_t len)
{
    apr_size_t i, run = 0;
    int dots = 0;

    if (len == 0 || len > RAI_TOKEN_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c == '.') {
            if (run == 0 || ++dots > 2) {
                return 0;   /* header and payload must not be empty */
            }
            run = 0;
        }
        else if (rai_token_is_b64url(c)) {
            run++;
        }
        else {
            return 0;
        }
    }
    return dots == 2;       /* the signature may be empty */
}

apr_time_t rai_token_jwt_exp(apr_pool_t *p, const char *token,
                             apr_size_t len)
{
    const char *start = memchr(token, '.', len), *end;
    char *b64, *decoded;
    apr_size_t n, i;
    int dlen;
    json_object *payload, *exp;
    apr_time_t result = 0;

    if (!start) {
        return 0;
    }
    start++;
    end = memchr(start, '.', len - (apr_size_t)(start - token));
    if (!end) {
        return 0;
    }
    n = (apr_size_t)(end - start);
    /* base64url to base64, padded */
    b64 = apr_palloc(p, n + 4);
    for (i = 0; i < n; i++) {
        b64[i] = start[i] == '-' ? '+' : start[i] == '_' ? '/' : start[i];
    }
    while (i % 4) {
        b64[i++] = '=';
    }
    b64[i] = '\0';
    decoded = apr_palloc(p, apr_base64_decode_len(b64) + 1);
    dlen = apr_base64_decode(decoded, b64);
    if (dlen <= 0) {
        return 0;
    }
    decoded[dlen] = '\0';
    payload = json_tokener_parse(decoded);
    if (payload && json_object_object_get_ex(payload, "exp", &exp)
        && (json_object_is_type(exp, json_type_int)
            || json_object_is_type(exp, json_type_double))) {
        apr_int64_t seconds = json_object_get_int64(exp);
        /* beyond year 9999 is no date: ignore it rather than overflow */
        if (seconds > 0 && seconds < APR_INT64_C(253402300800)) {
            result = apr_time_from_sec(seconds);
        }
    }
    json_object_put(payload);
    return result;
}

static int rai_token_only_space(const char *p, apr_size_t len)
{
    while (len--) {
        if (!apr_isspace(*p++)) {
            return 0;
        }
    }
    return 1;
}

rai_token_status_e rai_token_parse_response(apr_pool_t *p, long http_status,
                                            const char *body, apr_size_t len,
                                            apr_time_t now, rai_token_t *token,
                                            const char **reason)
{
    json_tokener *tokener;
    json_object *answer, *data, *embed, *expires_in;
    rai_token_status_e status = RAI_TOKEN_OK;
    const char *value;
    apr_size_t value_len;

    if (http_status < 200 || http_status > 299) {
        *reason = apr_psprintf(p, "the token API answered HTTP %ld",
                               http_status);
        return RAI_TOKEN_E_STATUS;
    }
    if (len > RAI_TOKEN_BODY_MAX) {
        *reason = "the answer is larger than 64 KiB";
        return RAI_TOKEN_E_TOO_LARGE;
    }

    tokener = json_tokener_new();
    if (!tokener) {
        *reason = "out of memory";
        return RAI_TOKEN_E_INTERNAL;
    }
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
    answer = json_tokener_parse_ex(tokener, body, (int)len);
    if (!answer || json_tokener_get_error(tokener) != json_tokener_success
        || !json_object_is_type(answer, json_type_object)
        || !rai_token_only_space(body + json_tokener_get_parse_end(tokener),
                                 len - json_tokener_get_parse_end(tokener))) {
        *reason = "the answer is not a JSON object";
        status = RAI_TOKEN_E_NOT_JSON;
    }
    else if (!json_object_object_get_ex(answer, "data", &data)
             || !json_object_is_type(data, json_type_object)
             || !json_object_object_get_ex(data, "embedToken", &embed)
             || !json_object_is_type(embed, json_type_string)) {
        *reason = "the answer has no data.embedToken string";
        status = RAI_TOKEN_E_NO_TOKEN;
    }
    else {
        value = json_object_get_string(embed);
        value_len = (apr_size_t)json_object_get_string_len(embed);
        if (!rai_token_shape_ok(value, value_len)) {
            *reason = apr_psprintf(p, "data.embedToken (%" APR_SIZE_T_FMT
                                   " bytes) is not a compact JWS of at most "
                                   "8 KiB", value_len);
            status = RAI_TOKEN_E_BAD_TOKEN;
        }
        else {
            apr_time_t exp;
            token->token = apr_pstrmemdup(p, value, value_len);
            token->token_len = value_len;
            token->issued = now;
            if (json_object_object_get_ex(data, "expiresIn", &expires_in)
                && json_object_is_type(expires_in, json_type_int)
                && json_object_get_int64(expires_in) > 0) {
                apr_int64_t seconds = json_object_get_int64(expires_in);
                if (seconds > RAI_TOKEN_LIFETIME_MAX) {
                    seconds = RAI_TOKEN_LIFETIME_MAX;
                }
                token->expires = now + apr_time_from_sec(seconds);
            }
            else if ((exp = rai_token_jwt_exp(p, value, value_len)) > now) {
                token->expires = exp - now > apr_time_from_sec(
                                     RAI_TOKEN_LIFETIME_MAX)
                                 ? now + apr_time_from_sec(RAI_TOKEN_LIFETIME_MAX)
                                 : exp;
            }
            else {
                token->expires = now + apr_time_from_sec(RAI_TOKEN_LIFETIME);
            }
        }
    }
    json_object_put(answer);
    json_tokener_free(tokener);
    return status;
}

#if APR_HAS_THREADS
#define RAI_TOKEN_LOCK(c)   apr_thread_mutex_lock((c)->lock)
#define RAI_TOKEN_UNLOCK(c) apr_thread_mutex_unlock((c)->lock)
#else
#define RAI_TOKEN_LOCK(c)
#define RAI_TOKEN_UNLOCK(c)
#endif

static apr_status_t rai_token_client_cleanup(void *data)
{
    rai_token_client_t *client = data;

    while (client->idle_count > 0) {
        curl_easy_cleanup(client->idle[--client->idle_count]);
    }
    return APR_SUCCESS;
}

rai_token_client_t *rai_token_client_create(apr_pool_t *pool)
{
    rai_token_client_t *client = apr_pcalloc(pool, sizeof(*client));

    client->load_error = rai_curl_load();
#if APR_HAS_THREADS
    apr_thread_mutex_create(&client->lock, APR_THREAD_MUTEX_DEFAULT, pool);
#endif
    /* registered after the mutex, so it runs before the mutex goes */
    apr_pool_cleanup_register(pool, client, rai_token_client_cleanup,
                              apr_pool_cleanup_null);
    return client;
}

const char *rai_token_client_load_error(const rai_token_client_t *client)
{
    return client->load_error;
}

long rai_token_client_connects(rai_token_client_t *client)
{
    long n;

    RAI_TOKEN_LOCK(client);
    n = client->connects;
    RAI_TOKEN_UNLOCK(client);
    return n;
}

static CURL *rai_token_handle_get(rai_token_client_t *client)
{
    CURL *curl = NULL;

    RAI_TOKEN_LOCK(client);
    if (client->idle_count > 0) {
        curl = client->idle[--client->idle_count];
    }
    RAI_TOKEN_UNLOCK(client);
    if (curl) {
        curl_easy_reset(curl);  /* options go; live connections stay */
        return curl;
    }
    return curl_easy_init();
}

/* A handle goes back only after a clean exchange: one that failed may hold
 * a broken connection. */
static void rai_token_handle_put(rai_token_client_t *client, CURL *curl,
                                 int healthy, long connects)
{
    RAI_TOKEN_LOCK(client);
    client->connects += connects;
    if (healthy && client->idle_count < RAI_TOKEN_IDLE_MAX) {
        client->idle[client->idle_count++] = curl;
        curl = NULL;
    }
    RAI_TOKEN_UNLOCK(client);
    if (curl) {
        curl_easy_cleanup(curl);
    }
}

typedef struct {
    apr_pool_t *pool;
    char *body;
    apr_size_t len;
    apr_size_t size;
    int too_large;
    apr_interval_time_t retry_after;
} rai_token_answer_t;

static size_t rai_token_on_body(char *ptr, size_t size, size_t nmemb,
                                void *userdata)
{
    rai_token_answer_t *answer = userdata;
    apr_size_t n = size * nmemb;

    if (answer->len + n > RAI_TOKEN_BODY_MAX) {
        answer->too_large = 1;
        return 0;               /* aborts the transfer */
    }
    if (answer->len + n + 1 > answer->size) {
        apr_size_t size_new = answer->size ? answer->size : 4096;
        char *grown;
        while (size_new < answer->len + n + 1) {
            size_new *= 2;
        }
        grown = apr_palloc(answer->pool, size_new);
        if (answer->len) {
            memcpy(grown, answer->body, answer->len);
        }
        answer->body = grown;
        answer->size = size_new;
    }
    memcpy(answer->body + answer->len, ptr, n);
    answer->len += n;
    answer->body[answer->len] = '\0';
    return n;
}

static size_t rai_token_on_header(char *line, size_t size, size_t nitems,
                                  void *userdata)
{
    rai_token_answer_t *answer = userdata;
    apr_size_t n = size * nitems;

    if (n > 12 && !strncasecmp(line, "Retry-After:", 12)) {
        const char *start = line + 12, *stop = line + n;
        char *value, *end;
        apr_int64_t seconds;
        apr_time_t when;

        while (start < stop && apr_isspace(*start)) {
            start++;
        }
        while (stop > start && apr_isspace(stop[-1])) {
            stop--;
        }
        value = apr_pstrmemdup(answer->pool, start, (apr_size_t)(stop - start));
        seconds = apr_strtoi64(value, &end, 10);
        if (end != value && !*end) {
            if (seconds < 0) {
                seconds = 0;
            }
        }
        else if ((when = apr_date_parse_http(value)) != APR_DATE_BAD) {
            seconds = apr_time_sec(when - apr_time_now());
        }
        else {
            seconds = 0;
        }
        if (seconds > RAI_TOKEN_RETRY_AFTER_MAX) {
            seconds = RAI_TOKEN_RETRY_AFTER_MAX;
        }
        answer->retry_after = seconds > 0 ? apr_time_from_sec(seconds) : 0;
    }
    return n;
}

/* Every option of one token request on curl; the handle keeps pointers to
 * body, headers, answer and errbuf until they are unset. */
static void rai_token_set_options(CURL *curl,
                                  const rai_token_endpoint_t *endpoint,
                                  const char *body, struct curl_slist *headers,
                                  rai_token_answer_t *answer, char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_URL, endpoint->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);    /* threads: no alarms */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (endpoint->ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint->ca_file);
    }
    /* An empty proxy also keeps curl from reading http_proxy & co.  A
     * plain-http (loopback) URL never goes through one: the key would
     * cross the proxy in clear.  Its credentials are apart from its URL,
     * so that no curl message can carry them. */
    if (endpoint->proxy && !strncasecmp(endpoint->url, "https:", 6)) {
        curl_easy_setopt(curl, CURLOPT_PROXY, endpoint->proxy);
        curl_easy_setopt(curl, CURLOPT_PROXYUSERNAME,
                         endpoint->proxy_user ? endpoint->proxy_user : "");
        curl_easy_setopt(curl, CURLOPT_PROXYPASSWORD,
                         endpoint->proxy_password
                         ? endpoint->proxy_password : "");
    }
    else {
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)apr_time_as_msec(endpoint->connect_timeout));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long)apr_time_as_msec(endpoint->total_timeout));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, RAI_EMBED_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rai_token_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, rai_token_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
}

rai_token_status_e rai_token_fetch(rai_token_client_t *client, apr_pool_t *p,
                                   const rai_token_endpoint_t *endpoint,
                                   const apr_array_header_t *identity,
                                   rai_token_t *token, rai_token_error_t *err)
{
    char curl_error[CURL_ERROR_SIZE];
    rai_token_answer_t answer;
    struct curl_slist *headers = NULL;
    const char *body, *reason = NULL;
    CURL *curl;
    CURLcode rc;
    long http_status = 0, connects = 0;
    rai_token_status_e status;

    memset(&answer, 0, sizeof(answer));
    memset(err, 0, sizeof(*err));
    answer.pool = p;
    curl_error[0] = '\0';

    if (client->load_error) {
        err->status = RAI_TOKEN_E_INTERNAL;
        err->reason = apr_pstrcat(p, "libcurl is not loaded: ",
                                  client->load_error, NULL);
        return RAI_TOKEN_E_INTERNAL;
    }
    curl = rai_token_handle_get(client);
    if (!curl) {
        err->status = RAI_TOKEN_E_INTERNAL;
        err->reason = "cannot create a curl handle";
        return RAI_TOKEN_E_INTERNAL;
    }
    body = rai_token_request_body(p, endpoint->access_id,
                                  endpoint->access_key, identity);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");

    rai_token_set_options(curl, endpoint, body, headers, &answer,
                          curl_error);

    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    /* the handle keeps pointers to these: unset before they go */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_PROXYUSERNAME, NULL);
    curl_easy_setopt(curl, CURLOPT_PROXYPASSWORD, NULL);
    curl_slist_free_all(headers);
    /* the body held the access key */
    rai_cleanse((char *)body, strlen(body));

    if (rc != CURLE_OK) {
        const char *what = curl_error[0] ? curl_error : curl_easy_strerror(rc);
        if (answer.too_large) {
            status = RAI_TOKEN_E_TOO_LARGE;
            reason = "the answer is larger than 64 KiB";
        }
        else if (rc == CURLE_OPERATION_TIMEDOUT) {
            status = RAI_TOKEN_E_TIMEOUT;
            reason = apr_psprintf(p, "timed out: %s", what);
        }
        else {
            status = RAI_TOKEN_E_CONNECT;
            reason = apr_pstrdup(p, what);
        }
    }
    else {
        status = rai_token_parse_response(p, http_status,
                                          answer.body ? answer.body : "",
                                          answer.len, apr_time_now(), token,
                                          &reason);
    }
    rai_token_handle_put(client, curl, status == RAI_TOKEN_OK, connects);
    if (status != RAI_TOKEN_OK) {
        err->status = status;
        err->http_status = http_status;
        err->reason = reason;
        if (http_status == 429 || http_status == 503) {
            err->retry_after = answer.retry_after;
        }
    }
    return status;
}
