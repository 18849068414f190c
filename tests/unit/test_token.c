/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_token, the token API client: the request body, the
 * token shape check, the JWT exp claim, the answer checks, the URL check,
 * and rai_token_fetch() against a small HTTP server that runs in a thread
 * of this test (loopback only, port chosen by the kernel).
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_token.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_token.bin
 *
 * Every test runs in this one process (CK_NOFORK): ASan and fork() do not
 * mix well, and the server thread must outlive nothing but its test.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "apr_base64.h"
#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_tables.h"
#include "apr_time.h"

#include "rai_libs.h"
#include "rai_token.h"
#include "rai_version.h"
#include "unit_run.h"

#define ACCESS_ID  "test-access-id"
/* A key with JSON-special characters, so the body must escape it. */
#define ACCESS_KEY "s3cr3t-KEY/\"q\"\\x"

/* A fixed "now" for the answer checks: 2023-11-14T22:13:20Z. */
#define NOW_SEC ((apr_int64_t)1700000000)
#define NOW     apr_time_from_sec(NOW_SEC)

static apr_pool_t *root;    /* the process's pool: curl_global_cleanup */
static apr_pool_t *pool;    /* one per test */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */


/* Parses text as exactly one JSON value, strictly, with nothing after it. */
static json_object *json_parse_exact(const char *text)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;
    size_t len = strlen(text);

    ck_assert_ptr_nonnull(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    ck_assert_msg(obj != NULL
                  && json_tokener_get_error(tok) == json_tokener_success,
                  "not strict JSON: %s", text);
    ck_assert_msg((size_t)json_tokener_get_parse_end(tok) == len,
                  "JSON followed by more bytes: %s", text);
    json_tokener_free(tok);
    return obj;
}

/* base64url without padding, as in a JWT. */
static char *b64url(apr_pool_t *p, const char *data, size_t len)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));
    char *c;

    apr_base64_encode(out, data, (int)len);
    for (c = out; *c; c++) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
        else if (*c == '=') {
            *c = '\0';
            break;
        }
    }
    return out;
}

/* A JWT-shaped token whose payload is the given bytes (not signed). */
static char *make_jwt(apr_pool_t *p, const char *payload)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

    return apr_pstrcat(p, b64url(p, header, sizeof(header) - 1), ".",
                       b64url(p, payload, strlen(payload)), ".",
                       "c2lnbmF0dXJlLWJ5dGVz", NULL);
}

static char *make_jwt_exp(apr_pool_t *p, apr_int64_t exp)
{
    return make_jwt(p, apr_psprintf(p, "{\"sub\":\"alice\",\"exp\":%"
                                    APR_INT64_T_FMT "}", exp));
}

static char *repeat(apr_pool_t *p, char c, size_t n)
{
    char *s = apr_palloc(p, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* A token of exactly len bytes, a.b.c shaped. */
static char *token_of_len(apr_pool_t *p, size_t len)
{
    char *s = repeat(p, 'A', len);

    ck_assert_uint_ge(len, 5);
    s[10 < len - 3 ? 10 : 1] = '.';
    s[len - 2] = '.';
    return s;
}

static rai_token_status_e parse(long http_status, const char *body,
                                rai_token_t *token, const char **reason)
{
    memset(token, 0, sizeof(*token));
    *reason = NULL;
    return rai_token_parse_response(pool, http_status, body, strlen(body),
                                    NOW, token, reason);
}

static const char *ok_body(apr_pool_t *p, const char *token)
{
    return apr_psprintf(p, "{\"data\":{\"embedToken\":\"%s\","
                        "\"expiresIn\":900}}", token);
}

/* ------------------------------------------------------------------ */
/* A tiny HTTP/1.1 server in a thread: records raw requests, answers   */
/* request i with answers[min(i, n - 1)].                              */

#define SRV_MAX_CONNS    8
#define SRV_MAX_REQUESTS 16

typedef struct {
    const char *text;   /* the raw answer; NULL: never answer */
    size_t len;         /* 0: strlen(text) */
    int close_after;    /* close the connection (silently) after it */
} canned_t;

typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    int hung;
} conn_t;

typedef struct {
    int listen_fd, port, wake[2];
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    int accepts, requests;
    char *request[SRV_MAX_REQUESTS];
    size_t request_len[SRV_MAX_REQUESTS];
    const canned_t *answers;
    int nanswers;
    int close_on_accept;
} server_t;

static server_t srv;

static size_t request_complete(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4), *line;
    size_t head, body = 0;

    if (!end) {
        return 0;
    }
    head = (size_t)(end - buf) + 4;
    for (line = buf; line < end;) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (!eol) {
            break;
        }
        if (eol - line > 15 && !strncasecmp(line, "Content-Length:", 15)) {
            body = strtoul(line + 15, NULL, 10);
        }
        line = eol + 2;
    }
    return len >= head + body ? head + body : 0;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Reads what is there; answers complete requests.  0: close it. */
static int conn_read(server_t *s, conn_t *c)
{
    ssize_t n;
    size_t used;

    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf) {
            return 0;
        }
    }
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n <= 0) {
        return 0;
    }
    c->len += (size_t)n;
    if (c->hung) {
        c->len = 0;
        return 1;
    }
    while ((used = request_complete(c->buf, c->len)) > 0) {
        const canned_t *answer;
        int index;

        pthread_mutex_lock(&s->lock);
        index = s->requests++;
        if (index < SRV_MAX_REQUESTS) {
            s->request[index] = malloc(used + 1);
            if (s->request[index]) {
                memcpy(s->request[index], c->buf, used);
                s->request[index][used] = '\0';
                s->request_len[index] = used;
            }
        }
        pthread_mutex_unlock(&s->lock);

        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;

        answer = &s->answers[index < s->nanswers ? index : s->nanswers - 1];
        if (!answer->text) {
            c->hung = 1;
            c->len = 0;
            return 1;
        }
        send_all(c->fd, answer->text,
                 answer->len ? answer->len : strlen(answer->text));
        if (answer->close_after) {
            return 0;
        }
    }
    return 1;
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    conn_t conns[SRV_MAX_CONNS];
    int nconns = 0, i;

    memset(conns, 0, sizeof(conns));
    for (;;) {
        struct pollfd pfd[2 + SRV_MAX_CONNS];
        int n = 0, polled;

        pfd[n].fd = s->wake[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = s->listen_fd;
        pfd[n++].events = POLLIN;
        for (i = 0; i < nconns; i++) {
            pfd[n].fd = conns[i].fd;
            pfd[n++].events = POLLIN;
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[0].revents) {
            break;
        }
        polled = nconns;
        if (pfd[1].revents & POLLIN) {
            int fd = accept(s->listen_fd, NULL, NULL);
            if (fd >= 0) {
                pthread_mutex_lock(&s->lock);
                s->accepts++;
                pthread_mutex_unlock(&s->lock);
                if (s->close_on_accept || nconns == SRV_MAX_CONNS) {
                    close(fd);
                }
                else {
                    memset(&conns[nconns], 0, sizeof(conns[nconns]));
                    conns[nconns++].fd = fd;
                }
            }
        }
        for (i = 0; i < polled; i++) {
            if ((pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
                && !conn_read(s, &conns[i])) {
                close(conns[i].fd);
                conns[i].fd = -1;
            }
        }
        for (i = 0; i < nconns;) {
            if (conns[i].fd < 0) {
                free(conns[i].buf);
                conns[i] = conns[--nconns];
            }
            else {
                i++;
            }
        }
    }
    for (i = 0; i < nconns; i++) {
        close(conns[i].fd);
        free(conns[i].buf);
    }
    return NULL;
}

static void server_start_ex(const canned_t *answers, int nanswers,
                            int close_on_accept)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof(addr);
    int one = 1;

    ck_assert(!srv.running);
    memset(&srv, 0, sizeof(srv));
    srv.answers = answers;
    srv.nanswers = nanswers;
    srv.close_on_accept = close_on_accept;
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv.listen_fd, 0);
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ck_assert_int_eq(bind(srv.listen_fd, (struct sockaddr *)&addr,
                          sizeof(addr)), 0);
    ck_assert_int_eq(listen(srv.listen_fd, 16), 0);
    ck_assert_int_eq(getsockname(srv.listen_fd, (struct sockaddr *)&addr,
                                 &addr_len), 0);
    srv.port = ntohs(addr.sin_port);
    ck_assert_int_eq(pipe(srv.wake), 0);
    pthread_mutex_init(&srv.lock, NULL);
    ck_assert_int_eq(pthread_create(&srv.thread, NULL, server_main, &srv), 0);
    srv.running = 1;
}

static void server_start(const canned_t *answers, int nanswers)
{
    server_start_ex(answers, nanswers, 0);
}

/* Stops the thread; what it recorded stays until server_free(). */
static void server_stop(void)
{
    if (!srv.running) {
        return;
    }
    if (write(srv.wake[1], "x", 1) != 1) {
        perror("write");
    }
    pthread_join(srv.thread, NULL);
    close(srv.listen_fd);
    close(srv.wake[0]);
    close(srv.wake[1]);
    pthread_mutex_destroy(&srv.lock);
    srv.running = 0;
}

static void server_free(void)
{
    int i;

    server_stop();
    for (i = 0; i < SRV_MAX_REQUESTS; i++) {
        free(srv.request[i]);
    }
    memset(&srv, 0, sizeof(srv));
}

static int server_count(const int *what)
{
    int n;

    if (!srv.running) {
        return *what;
    }
    pthread_mutex_lock(&srv.lock);
    n = *what;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static const char *server_url(apr_pool_t *p, const char *scheme)
{
    return apr_psprintf(p, "%s://127.0.0.1:%d/v2/api/widget-access-keys/token",
                        scheme, srv.port);
}

/* A loopback port on which nothing listens (just closed). */
static int closed_port(void)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

static const char *http_answer(apr_pool_t *p, const char *status_line,
                               const char *headers, const char *body)
{
    return apr_psprintf(p, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %" APR_SIZE_T_FMT "\r\n%s\r\n%s",
                        status_line, strlen(body), headers ? headers : "",
                        body);
}

#define TOKEN1 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnMQ"
#define TOKEN2 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnMg"

static const char *const default_ids[] = {
    "data-customer-id", "alice", "data-email", "alice@example.com", NULL
};

static rai_token_status_e fetch(rai_token_client_t *client, const char *url,
                                double connect_s, double total_s,
                                rai_token_t *token, rai_token_error_t *err)
{
    rai_token_endpoint_t endpoint;
    rai_token_status_e status;

    memset(&endpoint, 0, sizeof(endpoint));
    endpoint.url = url;
    endpoint.access_id = ACCESS_ID;
    endpoint.access_key = ACCESS_KEY;
    endpoint.connect_timeout = (apr_interval_time_t)(connect_s * APR_USEC_PER_SEC);
    endpoint.total_timeout = (apr_interval_time_t)(total_s * APR_USEC_PER_SEC);
    memset(token, 0, sizeof(*token));
    status = rai_token_fetch(client, pool, &endpoint,
                             unit_identity(pool, default_ids), token, err);
    ck_assert_int_eq(err->status, status);
    if (status != RAI_TOKEN_OK) {
        ck_assert_ptr_nonnull(err->reason);
        ck_assert_msg(*err->reason, "empty reason");
        ck_assert_msg(!strstr(err->reason, ACCESS_KEY),
                      "the reason holds the access key: %s", err->reason);
    }
    return status;
}

/* Value of the only header name in a raw request; NULL if absent; fails if
 * it appears more than once. */
static const char *request_header(apr_pool_t *p, const char *request,
                                  const char *name)
{
    const char *end = strstr(request, "\r\n\r\n"), *line, *found = NULL;
    size_t name_len = strlen(name);
    int count = 0;

    ck_assert_ptr_nonnull(end);
    line = strstr(request, "\r\n") + 2;     /* after the request line */
    while (line < end + 2) {
        const char *eol = strstr(line, "\r\n");
        if (!strncasecmp(line, name, name_len) && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            found = apr_pstrmemdup(p, v, (apr_size_t)(eol - v));
            count++;
        }
        line = eol + 2;
    }
    ck_assert_msg(count <= 1, "header %s sent %d times", name, count);
    return found;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, root), APR_SUCCESS);
}

static void teardown(void)
{
    server_free();
    apr_pool_destroy(pool);
    pool = NULL;
}

/* ------------------------------------------------------------------ */
/* 1. rai_token_request_body                                          */

static void check_body(const char *access_id, const char *access_key,
                       const char *const *ids)
{
    apr_array_header_t *identity = unit_identity(pool, ids);
    char *body = rai_token_request_body(pool, access_id, access_key, identity);
    json_object *obj, *v, *uids;
    int i, n = 0;

    ck_assert_ptr_nonnull(body);
    obj = json_parse_exact(body);
    ck_assert(json_object_is_type(obj, json_type_object));
    ck_assert_int_eq(json_object_object_length(obj), 3);

    ck_assert(json_object_object_get_ex(obj, "accessId", &v));
    ck_assert(json_object_is_type(v, json_type_string));
    ck_assert_str_eq(json_object_get_string(v), access_id);

    ck_assert(json_object_object_get_ex(obj, "accessKey", &v));
    ck_assert(json_object_is_type(v, json_type_string));
    ck_assert_str_eq(json_object_get_string(v), access_key);

    ck_assert(json_object_object_get_ex(obj, "userIdentifiers", &uids));
    ck_assert(json_object_is_type(uids, json_type_object));
    ck_assert_int_eq(json_object_object_length(uids), identity->nelts);
    {
        json_object_object_foreach(uids, key, val) {
            const rai_identity_item_t *item;
            ck_assert_int_lt(n, identity->nelts);
            item = &APR_ARRAY_IDX(identity, n, rai_identity_item_t);
            ck_assert_str_eq(key, item->key);
            ck_assert(json_object_is_type(val, json_type_string));
            ck_assert_str_eq(json_object_get_string(val), item->value);
            ck_assert_uint_eq((size_t)json_object_get_string_len(val),
                              strlen(item->value));
            n++;
        }
    }
    ck_assert_int_eq(n, identity->nelts);
    for (i = 0; body[i]; i++) {
        ck_assert_msg((unsigned char)body[i] >= 0x20,
                      "raw control byte 0x%02x in the body", body[i]);
    }
    json_object_put(obj);
}

START_TEST(body_basic)
{
    static const char *const ids[] = {
        "data-customer-id", "alice",
        "data-email", "alice@example.com",
        "data-custom-tier", "gold",
        NULL
    };
    check_body(ACCESS_ID, ACCESS_KEY, ids);
}
END_TEST

START_TEST(body_key_order)
{
    static const char *const ids[] = { "data-customer-id", "alice", NULL };
    char *body = rai_token_request_body(pool, "id", "key",
                                        unit_identity(pool, ids));
    /* No need for this exact spacing, but the key order and names are the
     * contract; parse rather than compare text. */
    json_object *obj = json_parse_exact(body);
    int i = 0;
    static const char *const order[] = {
        "accessId", "accessKey", "userIdentifiers"
    };

    json_object_object_foreach(obj, key, val) {
        (void)val;
        ck_assert_int_lt(i, 3);
        ck_assert_str_eq(key, order[i]);
        i++;
    }
    ck_assert_int_eq(i, 3);
    json_object_put(obj);
    check_body("id", "key", ids);
}
END_TEST

START_TEST(body_escaping)
{
    static const char *const ids[] = {
        "data-customer-id", "he said \"hi\"",
        "data-user-id", "back\\slash\\\\double",
        "data-email", "\xc3\xbc" "nic\xc3\xb8" "de \xe6\x97\xa5\xe6\x9c\xac "
                      "\xf0\x9f\x98\x80 caf\xc3\xa9",
        "data-custom-path", "a/b</script><!-- x -->",
        "data-custom-mix", "'single' & <tag> {\"json\":[1,2]} \\u0041",
        "data-custom-space", "  leading and trailing  ",
        NULL
    };
    char *body;

    check_body("id-\"q\"-\\", "key/\"\\\xc3\xa9", ids);
    body = rai_token_request_body(pool, "id", "key", unit_identity(pool, ids));
    /* quotes and backslashes escaped in the raw text */
    ck_assert_ptr_nonnull(strstr(body, "he said \\\"hi\\\""));
    ck_assert_ptr_nonnull(strstr(body, "back\\\\slash\\\\\\\\double"));
    ck_assert_ptr_nonnull(strstr(body, "\\\\u0041"));
}
END_TEST

START_TEST(body_control_characters_stay_valid_json)
{
    /* rai_identity refuses these, but the body must stay JSON regardless */
    static const char *const ids[] = {
        "data-customer-id", "tab\tnew\nline\rcr\x01\x1f\x7f",
        NULL
    };
    check_body(ACCESS_ID, ACCESS_KEY, ids);
}
END_TEST

START_TEST(body_empty_identity)
{
    check_body(ACCESS_ID, ACCESS_KEY, NULL);
}
END_TEST

START_TEST(body_long_values)
{
    const char *ids[] = {
        "data-customer-id", repeat(pool, 'x', 512),
        "data-email", repeat(pool, '"', 512),
        NULL
    };
    check_body(ACCESS_ID, ACCESS_KEY, ids);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. rai_token_shape_ok                                               */

static int shape(const char *s)
{
    return rai_token_shape_ok(s, strlen(s));
}

START_TEST(shape_accepts)
{
    ck_assert(shape("a.b.c"));
    ck_assert(shape("a.b."));
    ck_assert(shape("A-Z_az09.-_.x-_"));
    ck_assert(shape(TOKEN1));
    ck_assert(shape(make_jwt_exp(pool, NOW_SEC)));
    ck_assert(shape(token_of_len(pool, 5)));
    ck_assert(shape(token_of_len(pool, 4096)));
    ck_assert(shape(token_of_len(pool, RAI_TOKEN_MAX)));
    ck_assert_int_eq(RAI_TOKEN_MAX, 8192);
    /* only len bytes count */
    ck_assert(rai_token_shape_ok("a.b.c<script>", 5));
}
END_TEST

START_TEST(shape_rejects)
{
    static const char *const bad[] = {
        "", ".", "..", "...", "a", "a.b", "a..c", ".b.c", "a..", "..c",
        "a.b.c.d", "a.b.c.", "a.b..", ".a.b",
        "a b.c.d", "a.b.c d", " a.b.c", "a.b.c ", "a.b.c\n", "a.b.c\r\n",
        "a\".b.c", "a.b.\"c", "\"><script>alert(1)</script>",
        "a<.b.c", "a.b>.c", "a=.b.c", "a.b.c=", "a.b.c==",
        "a+.b.c", "a/.b.c", "a.b.c/", "a.b.c\\", "a.b.c'", "a.b.c&",
        "a.b.c%", "a.b.c:", "a.b.c;", "a.b.c,",
        "a.b.c\xc3\xa9", "\xff.b.c", "a.b.c\x7f", "a.\tb.c",
        NULL
    };
    int i;

    for (i = 0; bad[i]; i++) {
        ck_assert_msg(!shape(bad[i]), "accepted \"%s\"", bad[i]);
    }
    ck_assert(!rai_token_shape_ok("a.b.c", 0));
    ck_assert(!rai_token_shape_ok("a.b\0.c", 6));
    ck_assert(!rai_token_shape_ok("a.\0b.c", 6));
    ck_assert(!rai_token_shape_ok("a.b.c\0", 6));
    ck_assert(!shape(token_of_len(pool, RAI_TOKEN_MAX + 1)));
    ck_assert(!shape(token_of_len(pool, 9000)));
    ck_assert(!shape(token_of_len(pool, 100000)));
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. rai_token_jwt_exp                                                */

static apr_time_t jwt_exp(const char *token)
{
    return rai_token_jwt_exp(pool, token, strlen(token));
}

START_TEST(jwt_exp_valid)
{
    ck_assert_int_eq(jwt_exp(make_jwt_exp(pool, NOW_SEC + 600)),
                     apr_time_from_sec(NOW_SEC + 600));
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":1}")),
                     apr_time_from_sec(1));
    /* exp among other claims, whitespace, an empty signature */
    ck_assert_int_eq(jwt_exp(apr_pstrcat(pool, "eyJhbGciOiJub25lIn0.",
                     b64url(pool, "{ \"iat\" : 5, \"exp\" : 1700000600 , "
                            "\"x\": [1] }", 44), ".", NULL)),
                     apr_time_from_sec(1700000600));
    /* only the len first bytes count */
    {
        char *t = apr_pstrcat(pool, make_jwt_exp(pool, NOW_SEC), "garbage",
                              NULL);
        ck_assert_int_eq(rai_token_jwt_exp(pool, t, strlen(t) - 7),
                         apr_time_from_sec(NOW_SEC));
    }
}
END_TEST

START_TEST(jwt_exp_payload_lengths)
{
    /* payload lengths that leave 0, 1 and 2 padding characters */
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":1700000600}")),
                     apr_time_from_sec(1700000600));
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":1700000600} ")),
                     apr_time_from_sec(1700000600));
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":1700000600}  ")),
                     apr_time_from_sec(1700000600));
    /* payload characters that base64url writes as '-' and '_' */
    {
        const char *payload = "{\"n\":\"\xfb\xff\xbf\",\"exp\":1700000600}";
        char *t = make_jwt(pool, payload);
        ck_assert(strchr(t, '-') || strchr(t, '_'));
        ck_assert_int_eq(jwt_exp(t), apr_time_from_sec(1700000600));
    }
}
END_TEST

START_TEST(jwt_exp_missing)
{
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"sub\":\"alice\"}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":null}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":\"1700000600\"}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":true}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":[1700000600]}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":0}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":-5}")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"a\":{\"exp\":1700000600}}")),
                     0);
    /* exp in the header, not the payload */
    ck_assert_int_eq(jwt_exp(apr_pstrcat(pool,
                     b64url(pool, "{\"exp\":1700000600}", 18), ".",
                     b64url(pool, "{}", 2), ".sig", NULL)), 0);
}
END_TEST

START_TEST(jwt_exp_bad_base64)
{
    ck_assert_int_eq(jwt_exp("a.!!!!.c"), 0);
    ck_assert_int_eq(jwt_exp("a.a.c"), 0);
    ck_assert_int_eq(jwt_exp("a..c"), 0);
    ck_assert_int_eq(jwt_exp("a.*%$#.c"), 0);
    ck_assert_int_eq(jwt_exp("a.===.c"), 0);
    ck_assert_int_eq(jwt_exp(""), 0);
    ck_assert_int_eq(jwt_exp("no-dots-at-all"), 0);
    ck_assert_int_eq(jwt_exp(apr_pstrcat(pool, "a.",
                     b64url(pool, "{\"exp\":1700000600}", 18), NULL)), 0);
    ck_assert_int_eq(rai_token_jwt_exp(pool, "a.b.c", 0), 0);
}
END_TEST

START_TEST(jwt_exp_not_json)
{
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "hello world")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "[1700000600]")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "1700000600")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "\"exp\"")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "{\"exp\":1700000600")), 0);
    ck_assert_int_eq(jwt_exp(make_jwt(pool, "\x01\x02\x03\xff")), 0);
}
END_TEST

START_TEST(jwt_exp_float)
{
    /* NumericDate may be non-integer (RFC 7519 §2): whole seconds count */
    apr_time_t t = jwt_exp(make_jwt(pool, "{\"exp\":1700000600.75}"));
    ck_assert_int_ge(t, apr_time_from_sec(1700000600));
    ck_assert_int_le(t, apr_time_from_sec(1700000601));
    t = jwt_exp(make_jwt(pool, "{\"exp\":1.7000006e9}"));
    ck_assert_int_eq(t, apr_time_from_sec(1700000600));
}
END_TEST

START_TEST(jwt_exp_absurd)
{
    /* No overflow into a negative or past time: 0 (unusable) or later
     * than any real date is fine.  (Built with -fsanitize=undefined, an
     * overflow also prints a "runtime error" line.) */
    static const char *const payloads[] = {
        "{\"exp\":9223372036854775807}",
        "{\"exp\":99999999999999999999}",
        "{\"exp\":1e300}",
        "{\"exp\":10000000000000}",
        NULL
    };
    int i;

    for (i = 0; payloads[i]; i++) {
        apr_time_t t = jwt_exp(make_jwt(pool, payloads[i]));
        ck_assert_msg(t == 0 || t > NOW, "%s gives exp %" APR_TIME_T_FMT,
                      payloads[i], t);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. rai_token_parse_response                                         */

START_TEST(parse_ok)
{
    rai_token_t token;
    const char *reason;
    char *body = apr_pstrdup(pool, ok_body(pool, TOKEN1));

    ck_assert_int_eq(rai_token_parse_response(pool, 200, body, strlen(body),
                                              NOW, &token, &reason),
                     RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
    ck_assert_uint_eq(token.token_len, strlen(TOKEN1));
    ck_assert_int_eq(token.issued, NOW);
    ck_assert_int_eq(token.expires, NOW + apr_time_from_sec(900));
    /* a copy, not a pointer into the body */
    memset(body, 'X', strlen(body));
    ck_assert_str_eq(token.token, TOKEN1);

    ck_assert_int_eq(parse(201, ok_body(pool, TOKEN2), &token, &reason),
                     RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN2);
    ck_assert_int_eq(parse(299, ok_body(pool, "a.b."), &token, &reason),
                     RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, "a.b.");
}
END_TEST

START_TEST(parse_ok_variants)
{
    rai_token_t token;
    const char *reason;

    /* other expiresIn, other members, whitespace, member order */
    ck_assert_int_eq(parse(200, "{\"data\":{\"expiresIn\":60,\"embedToken\":\""
                           TOKEN1 "\",\"x\":null},\"meta\":{\"a\":[1]}}",
                           &token, &reason), RAI_TOKEN_OK);
    ck_assert_int_eq(token.expires, NOW + apr_time_from_sec(60));
    ck_assert_int_eq(parse(200, " \r\n\t{ \"data\" : { \"embedToken\" : \""
                           TOKEN1 "\" , \"expiresIn\" : 900 } }",
                           &token, &reason), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
    /* trailing white space is still one JSON text */
    ck_assert_int_eq(parse(200, apr_pstrcat(pool, ok_body(pool, TOKEN1),
                                            "\r\n", NULL), &token, &reason),
                     RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
    /* an escaped character in the token string is the same token */
    ck_assert_int_eq(parse(200, "{\"data\":{\"embedToken\":\"a\\u002eb.c\"}}",
                           &token, &reason), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, "a.b.c");
}
END_TEST

START_TEST(parse_expires_from_jwt)
{
    rai_token_t token;
    const char *reason;
    const char *jwt = make_jwt_exp(pool, NOW_SEC + 600);

    ck_assert_int_eq(parse(200, apr_psprintf(pool, "{\"data\":{\"embedToken\""
                           ":\"%s\"}}", jwt), &token, &reason), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, jwt);
    ck_assert_int_eq(token.issued, NOW);
    ck_assert_int_eq(token.expires, apr_time_from_sec(NOW_SEC + 600));

    /* expiresIn wins over exp */
    ck_assert_int_eq(parse(200, apr_psprintf(pool, "{\"data\":{\"embedToken\""
                           ":\"%s\",\"expiresIn\":120}}", jwt), &token,
                           &reason), RAI_TOKEN_OK);
    ck_assert_int_eq(token.expires, NOW + apr_time_from_sec(120));
}
END_TEST

START_TEST(parse_expires_default)
{
    rai_token_t token;
    const char *reason;
    const char *fmt = "{\"data\":{\"embedToken\":\"%s\"}}";
    const char *tokens[5];
    int i;

    tokens[0] = make_jwt_exp(pool, NOW_SEC - 600);      /* exp in the past */
    tokens[1] = make_jwt_exp(pool, NOW_SEC);            /* exp is now */
    tokens[2] = make_jwt(pool, "not json");
    tokens[3] = make_jwt(pool, "{\"sub\":\"alice\"}");
    tokens[4] = "a.b.c";
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(parse(200, apr_psprintf(pool, fmt, tokens[i]),
                               &token, &reason), RAI_TOKEN_OK);
        ck_assert_str_eq(token.token, tokens[i]);
        ck_assert_int_eq(token.issued, NOW);
        ck_assert_msg(token.expires == NOW + apr_time_from_sec(900),
                      "token %d: expires %" APR_TIME_T_FMT, i, token.expires);
    }
}
END_TEST

START_TEST(parse_expires_in_not_integer)
{
    rai_token_t token;
    const char *reason;
    const char *jwt = make_jwt_exp(pool, NOW_SEC + 600);
    static const char *const values[] = {
        "\"900\"", "\"120\"", "null", "true", "[900]", "{\"s\":900}", NULL
    };
    int i;

    for (i = 0; values[i]; i++) {
        /* as if missing: the JWT's exp ... */
        ck_assert_int_eq(parse(200, apr_psprintf(pool, "{\"data\":{"
                               "\"embedToken\":\"%s\",\"expiresIn\":%s}}",
                               jwt, values[i]), &token, &reason),
                         RAI_TOKEN_OK);
        ck_assert_msg(token.expires == apr_time_from_sec(NOW_SEC + 600),
                      "expiresIn %s: expires %" APR_TIME_T_FMT, values[i],
                      token.expires);
        /* ... else 900 s */
        ck_assert_int_eq(parse(200, apr_psprintf(pool, "{\"data\":{"
                               "\"embedToken\":\"a.b.c\",\"expiresIn\":%s}}",
                               values[i]), &token, &reason), RAI_TOKEN_OK);
        ck_assert_int_eq(token.expires, NOW + apr_time_from_sec(900));
    }
}
END_TEST

START_TEST(parse_expires_in_absurd)
{
    /* A hostile expiresIn must not overflow into a past (or negative)
     * expiry time. */
    rai_token_t token;
    const char *reason;
    static const char *const values[] = {
        "9223372036854775807", "10000000000000", "9223372036855", NULL
    };
    int i;

    for (i = 0; values[i]; i++) {
        ck_assert_int_eq(parse(200, apr_psprintf(pool, "{\"data\":{"
                               "\"embedToken\":\"a.b.c\",\"expiresIn\":%s}}",
                               values[i]), &token, &reason), RAI_TOKEN_OK);
        ck_assert_msg(token.expires > NOW, "expiresIn %s: expires %"
                      APR_TIME_T_FMT " <= now", values[i], token.expires);
    }
}
END_TEST

START_TEST(parse_status)
{
    static const long statuses[] = {
        0, 100, 199, 300, 301, 302, 304, 307, 308, 400, 401, 403, 404, 429,
        500, 502, 503, 504, 600, -1
    };
    rai_token_t token;
    const char *reason;
    size_t i;

    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        ck_assert_msg(parse(statuses[i], ok_body(pool, TOKEN1), &token,
                            &reason) == RAI_TOKEN_E_STATUS,
                      "HTTP %ld", statuses[i]);
        ck_assert_ptr_nonnull(reason);
        ck_assert(*reason);
        ck_assert_ptr_null(token.token);
    }
}
END_TEST

START_TEST(parse_not_json)
{
    static const char *const bodies[] = {
        "", " ", "hello", "<html><body>Bad gateway</body></html>",
        "null", "true", "900", "\"" TOKEN1 "\"",
        "[{\"data\":{\"embedToken\":\"" TOKEN1 "\"}}]", "[]",
        "{\"data\":{\"embedToken\":\"" TOKEN1 "\"}",
        "{\"data\":{\"embedToken\":\"" TOKEN1,
        "{\"data\":",
        "{",
        NULL
    };
    rai_token_t token;
    const char *reason;
    int i;

    for (i = 0; bodies[i]; i++) {
        ck_assert_msg(parse(200, bodies[i], &token, &reason)
                      == RAI_TOKEN_E_NOT_JSON, "accepted as JSON: %s",
                      bodies[i]);
        ck_assert_ptr_nonnull(reason);
        ck_assert(*reason);
        ck_assert_ptr_null(token.token);
    }
}
END_TEST

START_TEST(parse_trailing_garbage)
{
    /* A JSON object followed by anything but white space is not JSON. */
    static const char *const tails[] = {
        "garbage", "}", "{}", " {\"data\":{\"embedToken\":\"" TOKEN2 "\"}}",
        "<script>", "\x01", NULL
    };
    rai_token_t token;
    const char *reason;
    int i;

    for (i = 0; tails[i]; i++) {
        const char *body = apr_pstrcat(pool, ok_body(pool, TOKEN1), tails[i],
                                       NULL);
        rai_token_status_e status = parse(200, body, &token, &reason);
        ck_assert_msg(status == RAI_TOKEN_E_NOT_JSON,
                      "%s: status %d, not RAI_TOKEN_E_NOT_JSON", body,
                      (int)status);
    }
}
END_TEST

START_TEST(parse_lenient_json)
{
    /* json-c's default, non-strict parser takes things no JSON parser
     * should: these answers are "not JSON" (RFC 8259).  JSON_TOKENER_STRICT
     * refuses them.  (json-c 0.16 takes NaN even when strict; a NaN
     * expiresIn is no integer and is ignored anyway.) */
    static const char *const bodies[] = {
        "{'data':{'embedToken':'" TOKEN1 "'}}",
        "{\"data\":{\"embedToken\":\"" TOKEN1 "\",},}",
        NULL
    };
    rai_token_t token;
    const char *reason;
    int i;

    for (i = 0; bodies[i]; i++) {
        rai_token_status_e status = parse(200, bodies[i], &token, &reason);
        ck_assert_msg(status == RAI_TOKEN_E_NOT_JSON,
                      "%s: status %d, not RAI_TOKEN_E_NOT_JSON", bodies[i],
                      (int)status);
    }
}
END_TEST

START_TEST(parse_nul_then_garbage)
{
    /* len counts past a NUL: the bytes after it are still garbage */
    static const char body[] = "{\"data\":{\"embedToken\":\"" TOKEN1
                               "\"}}\0garbage";
    rai_token_t token;
    const char *reason = NULL;

    memset(&token, 0, sizeof(token));
    ck_assert_int_eq(rai_token_parse_response(pool, 200, body,
                                              sizeof(body) - 1, NOW, &token,
                                              &reason),
                     RAI_TOKEN_E_NOT_JSON);
}
END_TEST

START_TEST(parse_no_token)
{
    static const char *const bodies[] = {
        "{}",
        "{\"data\":null}",
        "{\"data\":\"" TOKEN1 "\"}",
        "{\"data\":[\"" TOKEN1 "\"]}",
        "{\"data\":{}}",
        "{\"data\":{\"token\":\"" TOKEN1 "\"}}",
        "{\"data\":{\"embedToken\":123}}",
        "{\"data\":{\"embedToken\":null}}",
        "{\"data\":{\"embedToken\":true}}",
        "{\"data\":{\"embedToken\":[\"" TOKEN1 "\"]}}",
        "{\"data\":{\"embedToken\":{\"t\":\"" TOKEN1 "\"}}}",
        "{\"embedToken\":\"" TOKEN1 "\"}",
        "{\"error\":{\"embedToken\":\"" TOKEN1 "\"}}",
        "{\"Data\":{\"embedToken\":\"" TOKEN1 "\"}}",
        "{\"data\":{\"EmbedToken\":\"" TOKEN1 "\"}}",
        NULL
    };
    rai_token_t token;
    const char *reason;
    int i;

    for (i = 0; bodies[i]; i++) {
        ck_assert_msg(parse(200, bodies[i], &token, &reason)
                      == RAI_TOKEN_E_NO_TOKEN, "not NO_TOKEN: %s", bodies[i]);
        ck_assert_ptr_nonnull(reason);
        ck_assert(*reason);
        ck_assert_ptr_null(token.token);
    }
}
END_TEST

START_TEST(parse_bad_token)
{
    const char *tokens[] = {
        "\\\"><script>alert(1)</script>",
        "\\\"><img src=x onerror=alert(1)>.b.c",
        "a.b\\\".c",
        "a.b.c\\\" onload=\\\"x",
        "a b.c.d",
        "a.b.c ",
        " a.b.c",
        "a.b.c\\n",
        "a.b\\u0000.c",
        "a.b.c\\u0000",
        "a.b.c\\u00e9",
        "a.b.c.d",
        "a.b",
        "",
        "...",
        "a+b.c/d.e=",
        token_of_len(pool, 9000),
        token_of_len(pool, RAI_TOKEN_MAX + 1),
        NULL
    };
    rai_token_t token;
    const char *reason;
    int i;

    for (i = 0; tokens[i]; i++) {
        const char *body = apr_psprintf(pool, "{\"data\":{\"embedToken\":"
                                        "\"%s\",\"expiresIn\":900}}",
                                        tokens[i]);
        ck_assert_msg(parse(200, body, &token, &reason)
                      == RAI_TOKEN_E_BAD_TOKEN, "not BAD_TOKEN: %.200s", body);
        ck_assert_ptr_nonnull(reason);
        ck_assert(*reason);
        ck_assert_ptr_null(token.token);    /* never handed out */
        ck_assert_ptr_null(strstr(reason, "<script"));
    }
    /* the longest accepted token is accepted */
    ck_assert_int_eq(parse(200, ok_body(pool, token_of_len(pool,
                           RAI_TOKEN_MAX)), &token, &reason), RAI_TOKEN_OK);
    ck_assert_uint_eq(token.token_len, RAI_TOKEN_MAX);
}
END_TEST

static const char *body_of_len(apr_pool_t *p, size_t len)
{
    const char *head = apr_pstrcat(p, "{\"data\":{\"embedToken\":\"", TOKEN1,
                                   "\",\"expiresIn\":900},\"pad\":\"", NULL);
    size_t fixed = strlen(head) + 2;

    ck_assert_uint_gt(len, fixed);
    return apr_pstrcat(p, head, repeat(p, 'p', len - fixed), "\"}", NULL);
}

START_TEST(parse_too_large)
{
    rai_token_t token;
    const char *reason;
    const char *body;

    body = body_of_len(pool, RAI_TOKEN_BODY_MAX);
    ck_assert_uint_eq(strlen(body), 65536);
    ck_assert_int_eq(parse(200, body, &token, &reason), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);

    body = body_of_len(pool, RAI_TOKEN_BODY_MAX + 1);
    ck_assert_int_eq(parse(200, body, &token, &reason), RAI_TOKEN_E_TOO_LARGE);
    ck_assert(*reason);
    ck_assert_ptr_null(token.token);
    body = body_of_len(pool, 1024 * 1024);
    ck_assert_int_eq(parse(200, body, &token, &reason), RAI_TOKEN_E_TOO_LARGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. rai_token_url_check                                              */

START_TEST(url_accepted)
{
    static const char *const good[] = {
        RAI_TOKEN_DEFAULT_URL,
        "https://api-v2.returning.ai/v2/api/widget-access-keys/token",
        "https://api-v2.returning.ai:8443/x?y=1",
        "HTTPS://api-v2.returning.ai/x",
        "https://10.0.0.1/x",
        "https://[2001:db8::1]/x",
        "http://127.0.0.1:8080/x",
        "http://127.0.0.1/",
        "http://127.1.2.3:9/x",
        "http://localhost/x",
        "http://LOCALHOST:8080/x",
        "http://[::1]:9/x",
        "http://[::1]/x",
        NULL
    };
    int i;

    for (i = 0; good[i]; i++) {
        const char *why = rai_token_url_check(pool, good[i]);
        ck_assert_msg(why == NULL, "%s rejected: %s", good[i], why);
    }
}
END_TEST

START_TEST(url_rejected)
{
    static const char *const bad[] = {
        "http://example.com/x",
        "http://api-v2.returning.ai/v2/api/widget-access-keys/token",
        "http://10.0.0.1/x",
        "http://0.0.0.0/x",
        "http://[::2]/x",
        "http://localhost.evil.com/x",
        "http://evil-localhost/x",
        "ftp://api-v2.returning.ai/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1/x",
        "ws://127.0.0.1/x",
        "javascript:alert(1)",
        "not a url",
        "",
        "/v2/api/widget-access-keys/token",
        "api-v2.returning.ai/v2/api",
        "https://",
        "https:///x",
        "https://user:pw@host/",
        "https://user@host/",
        "https://:pw@host/",
        "http://127.0.0.1@evil.com/x",
        "http://user:pw@127.0.0.1/x",
        NULL
    };
    int i;

    for (i = 0; bad[i]; i++) {
        const char *why = rai_token_url_check(pool, bad[i]);
        ck_assert_msg(why != NULL, "%s accepted", bad[i]);
        ck_assert(*why);
    }
}
END_TEST

START_TEST(url_loopback_lookalikes_rejected)
{
    /* Host names that begin with "127." but are DNS names, not loopback
     * addresses: plain http to them would send the access key in clear
     * text to whoever owns the name. */
    static const char *const bad[] = {
        "http://127.0.0.1.evil.com/",
        "http://127.0.0.1.nip.io/x",
        "http://127.evil.com/x",
        "http://127.attacker.example:8080/v2/api/widget-access-keys/token",
        NULL
    };
    int i;

    for (i = 0; bad[i]; i++) {
        const char *why = rai_token_url_check(pool, bad[i]);
        ck_assert_msg(why != NULL, "%s accepted as a loopback host", bad[i]);
    }
}
END_TEST

START_TEST(library_versions)
{
    const char *v = rai_token_library_versions(pool);

    ck_assert_ptr_nonnull(strstr(v, "libcurl"));
    ck_assert_ptr_nonnull(strstr(v, "json-c"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* 6. rai_token_fetch against the server above                         */

START_TEST(fetch_request_shape)
{
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    const char *req, *body, *expected, *v;
    apr_time_t before;

    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    answers[0].len = 0;
    answers[0].close_after = 0;
    server_start(answers, 1);

    before = apr_time_now();
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
    ck_assert_uint_eq(token.token_len, strlen(TOKEN1));
    ck_assert_int_ge(token.issued, before);
    ck_assert_int_le(token.issued, apr_time_now());
    ck_assert_int_eq(token.expires, token.issued + apr_time_from_sec(900));
    server_stop();

    ck_assert_int_eq(srv.requests, 1);
    ck_assert_int_eq(srv.accepts, 1);
    req = srv.request[0];
    ck_assert_ptr_nonnull(req);

    {
        static const char line[] =
            "POST /v2/api/widget-access-keys/token HTTP/1.1\r\n";
        ck_assert_msg(!strncmp(req, line, sizeof(line) - 1),
                      "request line: %.80s", req);
    }
    v = request_header(pool, req, "Content-Type");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "application/json");
    v = request_header(pool, req, "Accept");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "application/json");
    v = request_header(pool, req, "User-Agent");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "mod_rai_embed/" RAI_EMBED_VERSION);
    v = request_header(pool, req, "Host");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, apr_psprintf(pool, "127.0.0.1:%d", srv.port));
    ck_assert_ptr_null(request_header(pool, req, "Authorization"));
    ck_assert_ptr_null(request_header(pool, req, "Proxy-Authorization"));
    ck_assert_ptr_null(request_header(pool, req, "Cookie"));
    ck_assert_ptr_null(request_header(pool, req, "Expect"));
    ck_assert_ptr_null(request_header(pool, req, "Transfer-Encoding"));

    body = strstr(req, "\r\n\r\n") + 4;
    expected = rai_token_request_body(pool, ACCESS_ID, ACCESS_KEY,
                                      unit_identity(pool, default_ids));
    ck_assert_str_eq(body, expected);
    v = request_header(pool, req, "Content-Length");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, apr_psprintf(pool, "%" APR_SIZE_T_FMT,
                                     strlen(expected)));
    ck_assert_uint_eq(srv.request_len[0], (size_t)(body - req) + strlen(body));
}
END_TEST

START_TEST(fetch_redirect_not_followed)
{
    static const char *const statuses[] = {
        "301 Moved Permanently", "302 Found", "303 See Other",
        "307 Temporary Redirect", "308 Permanent Redirect", NULL
    };
    int i;

    for (i = 0; statuses[i]; i++) {
        canned_t answers[2];
        rai_token_client_t *client = rai_token_client_create(pool);
        rai_token_t token;
        rai_token_error_t err;

        memset(answers, 0, sizeof(answers));
        /* a relative Location: the same server, so a followed redirect
         * would show as a second request */
        answers[0].text = http_answer(pool, statuses[i],
                                      "Location: /elsewhere\r\n", "");
        answers[1].text = http_answer(pool, "200 OK", NULL,
                                      ok_body(pool, TOKEN1));
        server_start(answers, 2);
        ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                               &err), RAI_TOKEN_E_STATUS);
        ck_assert_int_eq(err.http_status, atoi(statuses[i]));
        ck_assert_ptr_null(token.token);
        server_stop();
        ck_assert_msg(srv.requests == 1, "%s: %d requests", statuses[i],
                      srv.requests);
        server_free();
    }
}
END_TEST

START_TEST(fetch_retry_after)
{
    canned_t answers[4];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "429 Too Many Requests",
                                  "Retry-After: 30\r\n", "{}");
    answers[1].text = http_answer(pool, "429 Too Many Requests", NULL, "");
    answers[2].text = http_answer(pool, "500 Internal Server Error",
                                  "Retry-After: 30\r\n", "");
    answers[3].text = http_answer(pool, "503 Service Unavailable",
                                  "retry-after:  7 \r\n", "");
    server_start(answers, 4);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 429);
    ck_assert_int_eq(err.retry_after, apr_time_from_sec(30));

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 429);
    ck_assert_int_eq(err.retry_after, 0);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 500);
    ck_assert_int_eq(err.retry_after, 0);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_int_eq(err.retry_after, apr_time_from_sec(7));
}
END_TEST

START_TEST(fetch_retry_after_http_date)
{
    /* Retry-After = HTTP-date / delay-seconds (RFC 9110 §10.2.3) */
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    char date[APR_RFC822_DATE_LEN];

    memset(answers, 0, sizeof(answers));
    ck_assert_int_eq(apr_rfc822_date(date, apr_time_now()
                                     + apr_time_from_sec(120)), APR_SUCCESS);
    answers[0].text = http_answer(pool, "503 Service Unavailable",
                                  apr_psprintf(pool, "Retry-After: %s\r\n",
                                               date), "");
    server_start(answers, 1);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_msg(err.retry_after >= apr_time_from_sec(115)
                  && err.retry_after <= apr_time_from_sec(121),
                  "Retry-After: %s gives retry_after %" APR_TIME_T_FMT " us",
                  date, err.retry_after);
}
END_TEST

START_TEST(fetch_timeout)
{
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    apr_time_t start, took;

    memset(answers, 0, sizeof(answers));    /* accept, read, never answer */
    server_start(answers, 1);
    start = apr_time_now();
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 0.2, 0.5, &token,
                           &err), RAI_TOKEN_E_TIMEOUT);
    took = apr_time_now() - start;
    ck_assert_msg(took < apr_time_from_sec(2), "took %" APR_TIME_T_FMT " us",
                  took);
    ck_assert_msg(took >= apr_time_from_msec(400), "gave up after only %"
                  APR_TIME_T_FMT " us", took);
    ck_assert_int_eq(err.http_status, 0);
    ck_assert_ptr_null(token.token);
    ck_assert_int_eq(server_count(&srv.requests), 1);
}
END_TEST

START_TEST(fetch_timeout_mid_body)
{
    /* headers and half a body, then silence */
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    apr_time_t start;

    memset(answers, 0, sizeof(answers));
    answers[0].text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 500\r\n\r\n{\"data\":{\"embedToken\":";
    server_start(answers, 1);
    start = apr_time_now();
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 0.2, 0.5, &token,
                           &err), RAI_TOKEN_E_TIMEOUT);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_sec(2));
    ck_assert_ptr_null(token.token);
}
END_TEST

START_TEST(fetch_connect_refused)
{
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    apr_time_t start = apr_time_now();
    const char *url = apr_psprintf(pool, "http://127.0.0.1:%d/x",
                                   closed_port());

    ck_assert_int_eq(fetch(client, url, 0.2, 0.5, &token, &err),
                     RAI_TOKEN_E_CONNECT);
    ck_assert_int_eq(err.http_status, 0);
    ck_assert_int_eq(err.retry_after, 0);
    ck_assert_ptr_null(token.token);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_sec(2));
}
END_TEST

START_TEST(fetch_closed_without_answer)
{
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    rai_token_status_e status;

    memset(answers, 0, sizeof(answers));
    answers[0].text = "";
    answers[0].close_after = 1;         /* read the request, hang up */
    server_start(answers, 1);
    status = fetch(client, server_url(pool, "http"), 1, 3, &token, &err);
    ck_assert_int_ne(status, RAI_TOKEN_OK);
    ck_assert_int_ne(status, RAI_TOKEN_E_TIMEOUT);
    ck_assert_int_eq(err.http_status, 0);
    ck_assert_ptr_null(token.token);
}
END_TEST

START_TEST(fetch_tls_to_plain_server)
{
    /* https to something that is not a TLS server: a failure, fast */
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = "HTTP/1.1 200 OK\r\n\r\n";
    server_start_ex(answers, 1, 1);
    ck_assert_int_eq(fetch(client, server_url(pool, "https"), 1, 3, &token,
                           &err), RAI_TOKEN_E_CONNECT);
    ck_assert_ptr_null(token.token);
}
END_TEST

START_TEST(fetch_too_large)
{
    canned_t answers[3];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    const char *big = body_of_len(pool, 70000);
    const char *chunk = repeat(pool, ' ', 8000);
    const char *chunked = "HTTP/1.1 200 OK\r\nContent-Type: application/json"
                          "\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "1\r\n{\r\n";
    int i;

    for (i = 0; i < 10; i++) {
        chunked = apr_pstrcat(pool, chunked, "1f40\r\n", chunk, "\r\n", NULL);
    }
    chunked = apr_pstrcat(pool, chunked, "1\r\n}\r\n0\r\n\r\n", NULL);

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, big);
    answers[1].text = chunked;
    answers[2].text = http_answer(pool, "200 OK", NULL,
                                  body_of_len(pool, RAI_TOKEN_BODY_MAX));
    server_start(answers, 3);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_TOO_LARGE);
    ck_assert_ptr_null(token.token);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_TOO_LARGE);
    ck_assert_ptr_null(token.token);
    /* exactly 64 KiB is still fine */
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
}
END_TEST

START_TEST(fetch_bad_answers)
{
    canned_t answers[4];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, "<html>oops</html>");
    answers[1].text = http_answer(pool, "200 OK", NULL, "{\"data\":{}}");
    answers[2].text = http_answer(pool, "200 OK", NULL,
                                  ok_body(pool, "\\\"><script>x</script>"));
    answers[3].text = http_answer(pool, "401 Unauthorized", NULL,
                                  "{\"error\":\"bad key\"}");
    server_start(answers, 4);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_NOT_JSON);
    ck_assert_int_eq(err.http_status, 200);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_NO_TOKEN);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_BAD_TOKEN);
    ck_assert_ptr_null(token.token);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(err.http_status, 401);
}
END_TEST

START_TEST(fetch_keepalive_reuse)
{
    canned_t answers[3];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    answers[1].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN2));
    answers[2].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    server_start(answers, 3);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN1);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN2);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_int_eq(server_count(&srv.requests), 3);
    ck_assert_int_eq(server_count(&srv.accepts), 1);
    ck_assert_int_eq(rai_token_client_connects(client), 1);
}
END_TEST

START_TEST(fetch_failure_discards_handle)
{
    canned_t answers[5];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    answers[1].text = http_answer(pool, "500 Internal Server Error", NULL,
                                  "{}");
    answers[2].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN2));
    answers[3].text = http_answer(pool, "200 OK", NULL, "not json");
    answers[4].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    server_start(answers, 5);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_STATUS);
    ck_assert_int_eq(server_count(&srv.accepts), 1);    /* same connection */
    ck_assert_int_eq(rai_token_client_connects(client), 1);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN2);
    ck_assert_int_eq(server_count(&srv.accepts), 2);    /* a new one */
    ck_assert_int_eq(rai_token_client_connects(client), 2);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_E_NOT_JSON);
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_int_eq(server_count(&srv.accepts), 3);
    ck_assert_int_eq(rai_token_client_connects(client), 3);
    ck_assert_int_eq(server_count(&srv.requests), 5);
}
END_TEST

START_TEST(fetch_stale_keepalive_connection)
{
    /* the server drops an idle keep-alive connection without a word: the
     * next fetch still works, on a new connection */
    canned_t answers[2];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    answers[0].close_after = 1;
    answers[1].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN2));
    server_start(answers, 2);

    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    apr_sleep(apr_time_from_msec(50));
    ck_assert_int_eq(fetch(client, server_url(pool, "http"), 1, 3, &token,
                           &err), RAI_TOKEN_OK);
    ck_assert_str_eq(token.token, TOKEN2);
    ck_assert_int_eq(server_count(&srv.accepts), 2);
}
END_TEST

START_TEST(fetch_two_clients)
{
    /* each client has its own handles */
    canned_t answers[1];
    rai_token_client_t *a = rai_token_client_create(pool);
    rai_token_client_t *b = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    server_start(answers, 1);
    ck_assert_int_eq(fetch(a, server_url(pool, "http"), 1, 3, &token, &err),
                     RAI_TOKEN_OK);
    ck_assert_int_eq(fetch(b, server_url(pool, "http"), 1, 3, &token, &err),
                     RAI_TOKEN_OK);
    ck_assert_int_eq(fetch(a, server_url(pool, "http"), 1, 3, &token, &err),
                     RAI_TOKEN_OK);
    ck_assert_int_eq(rai_token_client_connects(a), 1);
    ck_assert_int_eq(rai_token_client_connects(b), 1);
    ck_assert_int_eq(server_count(&srv.accepts), 2);
}
END_TEST

static void env_save(apr_pool_t *p, const char *const *names, const char **saved)
{
    for (; *names; names++, saved++) {
        const char *v = getenv(*names);
        *saved = v ? apr_pstrdup(p, v) : NULL;
    }
}

static void env_restore(const char *const *names, const char **saved)
{
    for (; *names; names++, saved++) {
        if (*saved) {
            setenv(*names, *saved, 1);
        }
        else {
            unsetenv(*names);
        }
    }
}

START_TEST(fetch_ignores_proxy_environment)
{
    /* http_proxy & co. of httpd's environment must not divert the access
     * key through a proxy nobody configured */
    static const char *const names[] = {
        "http_proxy", "https_proxy", "all_proxy", "ALL_PROXY", "no_proxy",
        "NO_PROXY", NULL
    };
    const char *saved[7];
    canned_t answers[1];
    rai_token_client_t *client = rai_token_client_create(pool);
    rai_token_t token;
    rai_token_error_t err;
    rai_token_status_e status;
    const char *proxy = apr_psprintf(pool, "http://127.0.0.1:%d",
                                     closed_port());

    memset(answers, 0, sizeof(answers));
    answers[0].text = http_answer(pool, "200 OK", NULL, ok_body(pool, TOKEN1));
    server_start(answers, 1);
    env_save(pool, names, saved);
    setenv("http_proxy", proxy, 1);
    setenv("https_proxy", proxy, 1);
    setenv("all_proxy", proxy, 1);
    setenv("ALL_PROXY", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    status = fetch(client, server_url(pool, "http"), 1, 3, &token, &err);
    env_restore(names, saved);
    ck_assert_int_eq(status, RAI_TOKEN_OK);
    ck_assert_int_eq(server_count(&srv.requests), 1);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *token_suite(void)
{
    Suite *s = suite_create("rai_token");
    TCase *tc;

    tc = tcase_create("request_body");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, body_basic);
    tcase_add_test(tc, body_key_order);
    tcase_add_test(tc, body_escaping);
    tcase_add_test(tc, body_control_characters_stay_valid_json);
    tcase_add_test(tc, body_empty_identity);
    tcase_add_test(tc, body_long_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("shape_ok");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, shape_accepts);
    tcase_add_test(tc, shape_rejects);
    suite_add_tcase(s, tc);

    tc = tcase_create("jwt_exp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, jwt_exp_valid);
    tcase_add_test(tc, jwt_exp_payload_lengths);
    tcase_add_test(tc, jwt_exp_missing);
    tcase_add_test(tc, jwt_exp_bad_base64);
    tcase_add_test(tc, jwt_exp_not_json);
    tcase_add_test(tc, jwt_exp_float);
    tcase_add_test(tc, jwt_exp_absurd);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse_response");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parse_ok);
    tcase_add_test(tc, parse_ok_variants);
    tcase_add_test(tc, parse_expires_from_jwt);
    tcase_add_test(tc, parse_expires_default);
    tcase_add_test(tc, parse_expires_in_not_integer);
    tcase_add_test(tc, parse_expires_in_absurd);
    tcase_add_test(tc, parse_status);
    tcase_add_test(tc, parse_not_json);
    tcase_add_test(tc, parse_trailing_garbage);
    tcase_add_test(tc, parse_lenient_json);
    tcase_add_test(tc, parse_nul_then_garbage);
    tcase_add_test(tc, parse_no_token);
    tcase_add_test(tc, parse_bad_token);
    tcase_add_test(tc, parse_too_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("url_check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, url_accepted);
    tcase_add_test(tc, url_rejected);
    tcase_add_test(tc, url_loopback_lookalikes_rejected);
    tcase_add_test(tc, library_versions);
    suite_add_tcase(s, tc);

    tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, fetch_request_shape);
    tcase_add_test(tc, fetch_redirect_not_followed);
    tcase_add_test(tc, fetch_retry_after);
    tcase_add_test(tc, fetch_retry_after_http_date);
    tcase_add_test(tc, fetch_timeout);
    tcase_add_test(tc, fetch_timeout_mid_body);
    tcase_add_test(tc, fetch_connect_refused);
    tcase_add_test(tc, fetch_closed_without_answer);
    tcase_add_test(tc, fetch_tls_to_plain_server);
    tcase_add_test(tc, fetch_too_large);
    tcase_add_test(tc, fetch_bad_answers);
    tcase_add_test(tc, fetch_keepalive_reuse);
    tcase_add_test(tc, fetch_failure_discards_handle);
    tcase_add_test(tc, fetch_stale_keepalive_connection);
    tcase_add_test(tc, fetch_two_clients);
    tcase_add_test(tc, fetch_ignores_proxy_environment);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        fprintf(stderr, "cannot initialise APR\n");
        return 2;
    }
    if (rai_libs_load()) {
        fprintf(stderr, "%s\n", rai_libs_load());
        return 2;
    }


    sr = srunner_create(token_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    apr_pool_destroy(root);     /* curl_global_cleanup */
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
