/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_token: the token API client.  One POST per call through libcurl, the
 * answer checked with json-c; a per-process stack of curl handles keeps
 * connections to the API alive.  No httpd types: APR and libcurl only. */
#ifndef RAI_TOKEN_H
#define RAI_TOKEN_H

#include "apr_pools.h"
#include "apr_tables.h"
#include "apr_time.h"

#include "rai_identity.h"

#define RAI_TOKEN_DEFAULT_URL \
    "https://api-v2.returning.ai/v2/api/widget-access-keys/token"
#define RAI_TOKEN_BODY_MAX   (64 * 1024)   /* larger answers are failures */
#define RAI_TOKEN_MAX        (8 * 1024)    /* longest token we accept */
#define RAI_TOKEN_LIFETIME   900           /* seconds, when nothing says */

/* Where and how to ask for tokens: one per virtual host. */
typedef struct {
    const char *url;
    const char *access_id;
    const char *access_key;         /* the secret: never logged */
    const char *ca_file;            /* NULL: the system trust store */
    const char *proxy;              /* NULL: no proxy, whatever the env;
                                       never with user information */
    const char *proxy_user;         /* NULL or the proxy's user name */
    const char *proxy_password;     /* NULL or its password: never logged */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t total_timeout;
} rai_token_endpoint_t;

typedef struct {
    const char *token;
    apr_size_t token_len;
    apr_time_t issued;              /* when we received it */
    apr_time_t expires;
} rai_token_t;

typedef enum {
    RAI_TOKEN_OK = 0,
    RAI_TOKEN_E_CONNECT,            /* no connection or TLS handshake */
    RAI_TOKEN_E_TIMEOUT,
    RAI_TOKEN_E_STATUS,             /* an answer other than 2xx */
    RAI_TOKEN_E_TOO_LARGE,          /* body over RAI_TOKEN_BODY_MAX */
    RAI_TOKEN_E_NOT_JSON,
    RAI_TOKEN_E_NO_TOKEN,           /* no data.embedToken string */
    RAI_TOKEN_E_BAD_TOKEN,          /* fails the compact JWS shape check */
    RAI_TOKEN_E_INTERNAL
} rai_token_status_e;

typedef struct {
    rai_token_status_e status;
    long http_status;               /* 0 when no answer came */
    apr_interval_time_t retry_after;/* Retry-After of a 429/503, else 0 */
    const char *reason;             /* for the log; never holds the key */
} rai_token_error_t;

typedef struct rai_token_client rai_token_client_t;

/* "libcurl 7.88.1, json-c 0.16" (libcurl: the version built against), for
 * the start-up line. */
const char *rai_token_library_versions(apr_pool_t *p);

/* Whether url may be a token URL: https, or http to a loopback host;
 * no user info.  NULL or the reason. */
const char *rai_token_url_check(apr_pool_t *p, const char *url);

/* The JSON request body.  It holds the access key: never log it. */
char *rai_token_request_body(apr_pool_t *p, const char *access_id,
                             const char *access_key,
                             const apr_array_header_t *identity);

/* Whether token is a compact JWS of at most RAI_TOKEN_MAX bytes. */
int rai_token_shape_ok(const char *token, apr_size_t len);

/* The "exp" claim of a JWT's payload, or 0. */
apr_time_t rai_token_jwt_exp(apr_pool_t *p, const char *token,
                             apr_size_t len);

/* Checks an answer of the token API and fills token (copied into p).
 * now is when the answer arrived. */
rai_token_status_e rai_token_parse_response(apr_pool_t *p, long http_status,
                                            const char *body, apr_size_t len,
                                            apr_time_t now, rai_token_t *token,
                                            const char **reason);

/* A per-process client; its handles are released with pool. */
rai_token_client_t *rai_token_client_create(apr_pool_t *pool);

/* Why libcurl could not be loaded for client (every fetch then fails), or
 * NULL. */
const char *rai_token_client_load_error(const rai_token_client_t *client);

/* One token request for identity. */
rai_token_status_e rai_token_fetch(rai_token_client_t *client, apr_pool_t *p,
                                   const rai_token_endpoint_t *endpoint,
                                   const apr_array_header_t *identity,
                                   rai_token_t *token, rai_token_error_t *err);

/* How many connections the client has opened (for the debug log). */
long rai_token_client_connects(rai_token_client_t *client);

#endif
