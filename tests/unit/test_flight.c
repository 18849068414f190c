/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* Unit tests of rai_flight, the single flight of token requests: one
 * leader per key, followers that wait for its answer, followers that give
 * up, and flights that end so the next miss leads again.
 *
 * Build and run (from the top of the tree):
 *   make tests/unit/test_flight.bin
 *   ASAN_OPTIONS=detect_leaks=1 ./tests/unit/test_flight.bin
 *
 * The threads are real APR threads.  No test sleeps to order them: a start
 * gate (mutex + condition variable) lets them race to board, and a leader
 * lands only once the flight's rider count says every follower is inside.
 * A follower counts itself in and starts waiting under the table's lock
 * without letting go of it in between, so "riders == n" seen under that
 * lock means all n - 1 followers wait on the condition variable.  The
 * rider count is private to rai_flight.c, so this file includes
 * rai_flight.c itself (white-box) instead of linking it.
 *
 * Threads never call ck_assert (Check's longjmp belongs to the main
 * thread): they record what they saw and the main thread checks it after
 * apr_thread_join().  Every test runs in this one process (CK_NOFORK).
 */

#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"
#include "apr_time.h"

#include "rai_flight.c"
#include "unit_run.h"

#define THREADS     16
/* Followers that must not time out wait this long: the tests never get
 * near it, it only bounds a hang if rai_flight is broken. */
#define LONG_WAIT   apr_time_from_sec(20)

static apr_pool_t *root;
static apr_pool_t *pool;    /* one per test */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* How many riders the flight for key has now, 0 when there is none. */
static int riders_of_key(rai_flight_table_t *table, const char *key)
{
    rai_flight_t *f;
    int n = 0;

    apr_thread_mutex_lock(table->lock);
    f = apr_hash_get(table->flights, key, APR_HASH_KEY_STRING);
    if (f) {
        n = f->riders;
    }
    apr_thread_mutex_unlock(table->lock);
    return n;
}

static int riders_of(rai_flight_table_t *table, rai_flight_t *flight)
{
    int n;

    apr_thread_mutex_lock(table->lock);
    n = flight->riders;
    apr_thread_mutex_unlock(table->lock);
    return n;
}

/* Spins (yielding) until flight has n riders: the leader and n - 1
 * followers waiting.  Bounded so that a broken flight fails the test
 * instead of hanging it. */
static int await_riders(rai_flight_table_t *table, rai_flight_t *flight,
                        int n)
{
    apr_time_t give_up = apr_time_now() + apr_time_from_sec(20);

    while (riders_of(table, flight) != n) {
        if (apr_time_now() > give_up) {
            return 0;
        }
        apr_thread_yield();
    }
    return 1;
}

/* A start gate: threads wait at it until the main thread opens it, so
 * that they board together. */
typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cond;
    int arrived;
    int open;
} gate_t;

static void gate_init(gate_t *g, apr_pool_t *p)
{
    memset(g, 0, sizeof(*g));
    ck_assert_int_eq(apr_thread_mutex_create(&g->lock,
                                             APR_THREAD_MUTEX_DEFAULT, p),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_thread_cond_create(&g->cond, p), APR_SUCCESS);
}

static void gate_pass(gate_t *g)
{
    apr_thread_mutex_lock(g->lock);
    g->arrived++;
    apr_thread_cond_broadcast(g->cond);
    while (!g->open) {
        apr_thread_cond_wait(g->cond, g->lock);
    }
    apr_thread_mutex_unlock(g->lock);
}

/* Waits for n threads at the gate, then lets them all through. */
static void gate_open(gate_t *g, int n)
{
    apr_thread_mutex_lock(g->lock);
    while (g->arrived < n) {
        apr_thread_cond_wait(g->cond, g->lock);
    }
    g->open = 1;
    apr_thread_cond_broadcast(g->cond);
    apr_thread_mutex_unlock(g->lock);
}

/* The token a leader lands: its bytes live in a buffer the leader wipes
 * right after landing, so followers must hold copies. */
#define TOKEN_TEXT "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDA5MDB9.c2ln"

static void token_fill(rai_token_t *t, char *buf, apr_size_t size,
                       const char *text, apr_time_t issued, apr_time_t expires)
{
    apr_cpystrn(buf, text, size);
    t->token = buf;
    t->token_len = strlen(text);
    t->issued = issued;
    t->expires = expires;
}

/* What a follower is given before boarding, to tell "untouched" apart. */
static void token_poison(rai_token_t *t)
{
    t->token = NULL;
    t->token_len = 12345;
    t->issued = -1;
    t->expires = -2;
}

static int token_poisoned(const rai_token_t *t)
{
    return t->token == NULL && t->token_len == 12345 && t->issued == -1
        && t->expires == -2;
}

/* One thread that boards. */
typedef struct {
    /* in */
    rai_flight_table_t *table;
    const char *key;
    apr_interval_time_t wait;
    gate_t *gate;               /* NULL: board at once */
    int followers;              /* leader waits for this many riders - 1 */
    const char *land_text;      /* what the leader lands; NULL: a failure */
    apr_time_t issued, expires;
    apr_pool_t *p;              /* this thread's own pool */
    /* out */
    int led;
    int landed_ok;              /* the leader saw every follower board */
    int relead;                 /* the leader led again right after landing */
    rai_token_status_e result;
    rai_token_t token;
    char leader_buf[256];
} rider_t;

static void *APR_THREAD_FUNC rider_main(apr_thread_t *thread, void *data)
{
    rider_t *r = data;
    rai_flight_t *flight = NULL;

    if (r->gate) {
        gate_pass(r->gate);
    }
    token_poison(&r->token);
    r->result = RAI_TOKEN_E_INTERNAL;
    r->led = rai_flight_board(r->table, r->key, r->wait, &flight, r->p,
                              &r->token, &r->result);
    if (r->led) {
        rai_token_t t;
        rai_flight_t *again = NULL;
        rai_token_t t2;
        rai_token_status_e res2;

        /* land only once every follower waits */
        r->landed_ok = flight != NULL
            && await_riders(r->table, flight, r->followers + 1);
        if (r->land_text) {
            token_fill(&t, r->leader_buf, sizeof(r->leader_buf),
                       r->land_text, r->issued, r->expires);
            rai_flight_land(r->table, flight, &t);
            memset(r->leader_buf, 'X', sizeof(r->leader_buf) - 1);
        }
        else {
            rai_flight_land(r->table, flight, NULL);
        }
        /* The followers may not even have woken yet: a miss now starts a
         * new flight all the same. */
        r->relead = rai_flight_board(r->table, r->key, 0, &again, r->p,
                                     &t2, &res2);
        if (r->relead) {
            rai_flight_land(r->table, again, NULL);
        }
    }
    /* return, not apr_thread_exit(): pthread_exit() leaves ASan's stack
     * redzones behind and ASan then trips over them at thread exit */
    (void)thread;
    return NULL;
}

static void riders_start(rider_t *riders, apr_thread_t **threads, int n)
{
    apr_threadattr_t *attr;
    int i;

    ck_assert_int_eq(apr_threadattr_create(&attr, pool), APR_SUCCESS);
    for (i = 0; i < n; i++) {
        /* each thread gets its own pool: pools are not thread-safe */
        ck_assert_int_eq(apr_pool_create(&riders[i].p, pool), APR_SUCCESS);
        ck_assert_int_eq(apr_thread_create(&threads[i], attr, rider_main,
                                           &riders[i], pool), APR_SUCCESS);
    }
}

static void riders_join(apr_thread_t **threads, int n)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < n; i++) {
        ck_assert_int_eq(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }
}

static void assert_token(const rai_token_t *t, const char *text,
                         apr_time_t issued, apr_time_t expires)
{
    ck_assert_ptr_nonnull(t->token);
    ck_assert_uint_eq(t->token_len, strlen(text));
    ck_assert(memcmp(t->token, text, t->token_len) == 0);
    ck_assert_int_eq(t->token[t->token_len], '\0');
    ck_assert_int_eq(t->issued, issued);
    ck_assert_int_eq(t->expires, expires);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, root), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

/* ------------------------------------------------------------------ */
/* 1. One key, many threads                                            */

/* THREADS threads race to board one key: exactly one leads, and every
 * follower gets the leader's token, byte for byte, with its times. */
START_TEST(one_leader_many_followers)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    apr_time_t issued = apr_time_from_sec(1700000000);
    apr_time_t expires = issued + apr_time_from_sec(900);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    gate_t gate;
    int i, leaders = 0, leader = -1;

    gate_init(&gate, pool);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = LONG_WAIT;
        riders[i].gate = &gate;
        riders[i].followers = THREADS - 1;
        riders[i].land_text = TOKEN_TEXT;
        riders[i].issued = issued;
        riders[i].expires = expires;
    }
    riders_start(riders, threads, THREADS);
    gate_open(&gate, THREADS);
    riders_join(threads, THREADS);

    for (i = 0; i < THREADS; i++) {
        if (riders[i].led) {
            leaders++;
            leader = i;
        }
    }
    ck_assert_int_eq(leaders, 1);
    ck_assert_msg(riders[leader].landed_ok,
                  "the leader never saw %d followers board", THREADS - 1);
    ck_assert_msg(riders[leader].relead,
                  "a board after landing did not lead");
    for (i = 0; i < THREADS; i++) {
        if (i == leader) {
            continue;
        }
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
        assert_token(&riders[i].token, TOKEN_TEXT, issued, expires);
        /* a copy in the follower's own pool, not the leader's buffer */
        ck_assert_ptr_ne(riders[i].token.token, riders[leader].leader_buf);
    }
    /* every flight is over: nothing is left in the table */
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* The leader is known (the main thread boards first); the followers are
 * threads.  The leader lands once all of them wait. */
START_TEST(main_thread_leads)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    rai_flight_t *flight = NULL;
    rai_token_t t, dummy;
    rai_token_status_e res = RAI_TOKEN_E_INTERNAL;
    char buf[256];
    int i;

    ck_assert_int_eq(rai_flight_board(table, "k", LONG_WAIT, &flight, pool,
                                      &dummy, &res), 1);
    ck_assert_ptr_nonnull(flight);

    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = LONG_WAIT;
    }
    riders_start(riders, threads, THREADS);
    ck_assert(await_riders(table, flight, THREADS + 1));

    token_fill(&t, buf, sizeof(buf), TOKEN_TEXT, 111, 222);
    rai_flight_land(table, flight, &t);
    memset(buf, 'X', sizeof(buf) - 1);
    riders_join(threads, THREADS);

    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(riders[i].led, 0);
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
        assert_token(&riders[i].token, TOKEN_TEXT, 111, 222);
    }
}
END_TEST

/* A token that is not a C string all the way: the flight copies
 * token_len bytes, NUL-terminates the copy and keeps an empty token. */
START_TEST(token_bytes_copied_by_length)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_flight_t *flight = NULL;
    rider_t r;
    apr_thread_t *thread;
    rai_token_t t;
    char buf[8] = { 'a', 'b', '\0', 'c', 'd', 'e', 'f', 'g' };
    rai_token_status_e res;
    rai_token_t dummy;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &dummy,
                                      &res), 1);
    memset(&r, 0, sizeof(r));
    r.table = table;
    r.key = "k";
    r.wait = LONG_WAIT;
    riders_start(&r, &thread, 1);
    ck_assert(await_riders(table, flight, 2));
    t.token = buf;
    t.token_len = 5;            /* "ab\0cd", not NUL-terminated at 5 */
    t.issued = 7;
    t.expires = 8;
    rai_flight_land(table, flight, &t);
    riders_join(&thread, 1);

    ck_assert_int_eq(r.result, RAI_TOKEN_OK);
    ck_assert_uint_eq(r.token.token_len, 5);
    ck_assert(memcmp(r.token.token, "ab\0cd", 5) == 0);
    ck_assert_int_eq(r.token.token[5], '\0');
    ck_assert_int_eq(r.token.issued, 7);
    ck_assert_int_eq(r.token.expires, 8);

    /* an empty token is still a token */
    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &dummy,
                                      &res), 1);
    memset(&r, 0, sizeof(r));
    r.table = table;
    r.key = "k";
    r.wait = LONG_WAIT;
    riders_start(&r, &thread, 1);
    ck_assert(await_riders(table, flight, 2));
    t.token = "";
    t.token_len = 0;
    rai_flight_land(table, flight, &t);
    riders_join(&thread, 1);
    ck_assert_int_eq(r.result, RAI_TOKEN_OK);
    ck_assert_ptr_nonnull(r.token.token);
    ck_assert_uint_eq(r.token.token_len, 0);
    ck_assert_int_eq(r.token.token[0], '\0');
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. A failed flight                                                  */

/* The leader lands NULL: every follower fails, and its token is left
 * alone. */
START_TEST(leader_fails)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    gate_t gate;
    int i, leaders = 0;

    gate_init(&gate, pool);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = LONG_WAIT;
        riders[i].gate = &gate;
        riders[i].followers = THREADS - 1;
        riders[i].land_text = NULL;
    }
    riders_start(riders, threads, THREADS);
    gate_open(&gate, THREADS);
    riders_join(threads, THREADS);

    for (i = 0; i < THREADS; i++) {
        if (riders[i].led) {
            leaders++;
            ck_assert(riders[i].landed_ok);
            ck_assert(riders[i].relead);
            continue;
        }
        ck_assert_int_ne(riders[i].result, RAI_TOKEN_OK);
        ck_assert_int_ne(riders[i].result, RAI_TOKEN_E_TIMEOUT);
        ck_assert_msg(token_poisoned(&riders[i].token),
                      "a failed flight wrote the follower's token");
    }
    ck_assert_int_eq(leaders, 1);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. Followers that give up                                           */

/* wait 0 and a tiny wait time out at once while the leader flies; the
 * leader lands afterwards on a flight no one else rides (ASan watches the
 * free), and the key leads again. */
START_TEST(follower_times_out)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_flight_t *flight = NULL, *f2 = NULL;
    rai_token_t t, got;
    rai_token_status_e res;
    char buf[256];
    apr_time_t start;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &got,
                                      &res), 1);
    ck_assert_ptr_nonnull(flight);

    token_poison(&got);
    res = RAI_TOKEN_OK;
    ck_assert_int_eq(rai_flight_board(table, "k", 0, &f2, pool, &got, &res),
                     0);
    ck_assert_int_eq(res, RAI_TOKEN_E_TIMEOUT);
    ck_assert(token_poisoned(&got));
    ck_assert_int_eq(riders_of(table, flight), 1);

    token_poison(&got);
    res = RAI_TOKEN_OK;
    start = apr_time_now();
    ck_assert_int_eq(rai_flight_board(table, "k", 1000, &f2, pool, &got,
                                      &res), 0);
    ck_assert_int_eq(res, RAI_TOKEN_E_TIMEOUT);
    ck_assert(token_poisoned(&got));
    ck_assert_int_ge(apr_time_now() - start, 1000);
    ck_assert_int_eq(riders_of(table, flight), 1);

    /* negative waits are "do not wait" too */
    token_poison(&got);
    res = RAI_TOKEN_OK;
    ck_assert_int_eq(rai_flight_board(table, "k", -1, &f2, pool, &got, &res),
                     0);
    ck_assert_int_eq(res, RAI_TOKEN_E_TIMEOUT);
    ck_assert(token_poisoned(&got));

    token_fill(&t, buf, sizeof(buf), TOKEN_TEXT, 1, 2);
    rai_flight_land(table, flight, &t);     /* frees the flight */
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &got,
                                      &res), 1);
    rai_flight_land(table, flight, NULL);
}
END_TEST

/* A follower thread with a tiny wait gives up while others keep waiting:
 * the leader waits for it to leave, then lands; those who stayed get the
 * token. */
START_TEST(timeout_among_waiting_followers)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    enum { STAY = THREADS - 1 };
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    rai_flight_t *flight = NULL;
    rai_token_t t, dummy;
    rai_token_status_e res;
    char buf[256];
    int i;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &dummy,
                                      &res), 1);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = i < STAY ? LONG_WAIT : 2000;
    }
    riders_start(riders, threads, STAY);
    ck_assert(await_riders(table, flight, 1 + STAY));
    /* the impatient one boards last and is gone before the landing */
    riders_start(riders + STAY, threads + STAY, 1);
    riders_join(threads + STAY, 1);
    ck_assert_int_eq(riders[STAY].led, 0);
    ck_assert_int_eq(riders[STAY].result, RAI_TOKEN_E_TIMEOUT);
    ck_assert(token_poisoned(&riders[STAY].token));
    ck_assert_int_eq(riders_of(table, flight), 1 + STAY);

    token_fill(&t, buf, sizeof(buf), TOKEN_TEXT, 5, 6);
    rai_flight_land(table, flight, &t);
    riders_join(threads, STAY);
    for (i = 0; i < STAY; i++) {
        ck_assert_int_eq(riders[i].led, 0);
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
        assert_token(&riders[i].token, TOKEN_TEXT, 5, 6);
    }
}
END_TEST

/* Every follower gives up before the leader lands: the leader is the
 * last rider and its landing frees the flight. */
START_TEST(all_followers_time_out)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    rai_flight_t *flight = NULL;
    rai_token_t t, dummy;
    rai_token_status_e res;
    char buf[256];
    gate_t gate;
    int i;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &dummy,
                                      &res), 1);
    gate_init(&gate, pool);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = i % 2 ? 0 : 1000;
        riders[i].gate = &gate;
    }
    riders_start(riders, threads, THREADS);
    gate_open(&gate, THREADS);
    riders_join(threads, THREADS);
    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(riders[i].led, 0);
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_E_TIMEOUT);
        ck_assert(token_poisoned(&riders[i].token));
    }
    ck_assert_int_eq(riders_of(table, flight), 1);
    token_fill(&t, buf, sizeof(buf), TOKEN_TEXT, 5, 6);
    rai_flight_land(table, flight, &t);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. Keys and the ends of flights                                     */

/* Different keys fly apart: each has its own leader. */
START_TEST(different_keys_different_leaders)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_flight_t *fa = NULL, *fb = NULL, *fab = NULL;
    rai_token_t dummy;
    rai_token_status_e res;

    ck_assert_int_eq(rai_flight_board(table, "a", 0, &fa, pool, &dummy,
                                      &res), 1);
    ck_assert_int_eq(rai_flight_board(table, "b", 0, &fb, pool, &dummy,
                                      &res), 1);
    /* a key that is a prefix or an extension of another is another key */
    ck_assert_int_eq(rai_flight_board(table, "ab", 0, &fab, pool, &dummy,
                                      &res), 1);
    ck_assert_ptr_nonnull(fa);
    ck_assert_ptr_nonnull(fb);
    ck_assert_ptr_nonnull(fab);
    ck_assert_ptr_ne(fa, fb);
    ck_assert_ptr_ne(fa, fab);
    ck_assert_ptr_ne(fb, fab);
    ck_assert_uint_eq(apr_hash_count(table->flights), 3);
    rai_flight_land(table, fb, NULL);
    rai_flight_land(table, fab, NULL);
    rai_flight_land(table, fa, NULL);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* Threads on four keys at once: one leader per key, and each follower
 * gets its own key's token. */
START_TEST(different_keys_threads)
{
    enum { KEYS = 4, PER_KEY = THREADS / KEYS };
    static const char *const keys[KEYS] = { "alice", "bob", "carol", "dave" };
    static const char *const texts[KEYS] = {
        "aaaa.bbbb.cccc", "dddd.eeee.ffff", "gggg.hhhh.iiii", "jjjj.kkkk.llll"
    };
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    gate_t gate;
    int i, k, leaders[KEYS] = { 0 };

    gate_init(&gate, pool);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        k = i % KEYS;
        riders[i].table = table;
        riders[i].key = keys[k];
        riders[i].wait = LONG_WAIT;
        riders[i].gate = &gate;
        riders[i].followers = PER_KEY - 1;
        riders[i].land_text = texts[k];
        riders[i].issued = k;
        riders[i].expires = 100 + k;
    }
    riders_start(riders, threads, THREADS);
    gate_open(&gate, THREADS);
    riders_join(threads, THREADS);

    for (i = 0; i < THREADS; i++) {
        k = i % KEYS;
        if (riders[i].led) {
            leaders[k]++;
            ck_assert(riders[i].landed_ok);
            continue;
        }
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
        assert_token(&riders[i].token, texts[k], k, 100 + k);
    }
    for (k = 0; k < KEYS; k++) {
        ck_assert_int_eq(leaders[k], 1);
    }
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* After a landing the next board on the key leads again, each time. */
START_TEST(board_after_landing_leads_again)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_flight_t *flight = NULL;
    rai_token_t t, got;
    rai_token_status_e res;
    char buf[64];
    int round;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &flight, pool, &got,
                                      &res), 1);
    token_fill(&t, buf, sizeof(buf), "x.y.z", 1, 2);
    rai_flight_land(table, flight, &t);
    for (round = 0; round < 100; round++) {
        flight = NULL;
        ck_assert_int_eq(rai_flight_board(table, "k", LONG_WAIT, &flight,
                                          pool, &got, &res), 1);
        ck_assert_ptr_nonnull(flight);
        rai_flight_land(table, flight, round % 2 ? &t : NULL);
    }
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* A new flight on the key starts while followers of the old one still
 * wait for their wake-up: they get the old answer, the new flight its
 * own. */
START_TEST(new_flight_while_old_followers_leave)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rider_t riders[THREADS];
    apr_thread_t *threads[THREADS];
    rai_flight_t *old = NULL, *fresh = NULL;
    rai_token_t t, dummy;
    rai_token_status_e res;
    char buf[64];
    int i;

    ck_assert_int_eq(rai_flight_board(table, "k", 0, &old, pool, &dummy,
                                      &res), 1);
    memset(riders, 0, sizeof(riders));
    for (i = 0; i < THREADS; i++) {
        riders[i].table = table;
        riders[i].key = "k";
        riders[i].wait = LONG_WAIT;
    }
    riders_start(riders, threads, THREADS);
    ck_assert(await_riders(table, old, THREADS + 1));

    /* land, then board at once: the followers may or may not have woken */
    token_fill(&t, buf, sizeof(buf), "old.old.old", 1, 2);
    rai_flight_land(table, old, &t);
    ck_assert_int_eq(rai_flight_board(table, "k", 0, &fresh, pool, &dummy,
                                      &res), 1);
    ck_assert_ptr_nonnull(fresh);
    riders_join(threads, THREADS);
    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
        assert_token(&riders[i].token, "old.old.old", 1, 2);
    }
    ck_assert_int_eq(riders_of(table, fresh), 1);
    rai_flight_land(table, fresh, NULL);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* The key is copied: the caller's buffer may change after boarding. */
START_TEST(key_is_copied)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_flight_t *flight = NULL, *other = NULL;
    rai_token_t dummy;
    rai_token_status_e res;
    char key[8];

    strcpy(key, "key1");
    ck_assert_int_eq(rai_flight_board(table, key, 0, &flight, pool, &dummy,
                                      &res), 1);
    strcpy(key, "key2");
    ck_assert_int_eq(riders_of_key(table, "key1"), 1);
    ck_assert_int_eq(riders_of_key(table, "key2"), 0);
    ck_assert_int_eq(rai_flight_board(table, key, 0, &other, pool, &dummy,
                                      &res), 1);
    rai_flight_land(table, flight, NULL);
    rai_flight_land(table, other, NULL);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* Landing the NULL flight (the out-of-memory leader flies alone) does
 * nothing. */
START_TEST(land_null_flight)
{
    rai_flight_table_t *table = rai_flight_table_create(pool);
    rai_token_t t = { "a.b.c", 5, 1, 2 };

    rai_flight_land(table, NULL, &t);
    rai_flight_land(table, NULL, NULL);
    ck_assert_uint_eq(apr_hash_count(table->flights), 0);
}
END_TEST

/* Many rounds of racing threads on one key, to shake out ordering
 * trouble (ASan and the asserts watch every round). */
START_TEST(many_rounds)
{
    int round;

    for (round = 0; round < 50; round++) {
        apr_pool_t *sub;
        rai_flight_table_t *table;
        rider_t riders[8];
        apr_thread_t *threads[8];
        apr_pool_t *saved = pool;
        gate_t gate;
        int i, leaders = 0;

        ck_assert_int_eq(apr_pool_create(&sub, saved), APR_SUCCESS);
        pool = sub;
        table = rai_flight_table_create(pool);
        gate_init(&gate, pool);
        memset(riders, 0, sizeof(riders));
        for (i = 0; i < 8; i++) {
            riders[i].table = table;
            riders[i].key = "k";
            riders[i].wait = LONG_WAIT;
            riders[i].gate = &gate;
            riders[i].followers = 7;
            riders[i].land_text = round % 3 ? TOKEN_TEXT : NULL;
            riders[i].issued = round;
            riders[i].expires = round + 1;
        }
        riders_start(riders, threads, 8);
        gate_open(&gate, 8);
        riders_join(threads, 8);
        for (i = 0; i < 8; i++) {
            if (riders[i].led) {
                leaders++;
                ck_assert(riders[i].landed_ok);
            }
            else if (round % 3) {
                ck_assert_int_eq(riders[i].result, RAI_TOKEN_OK);
                assert_token(&riders[i].token, TOKEN_TEXT, round, round + 1);
            }
            else {
                ck_assert_int_ne(riders[i].result, RAI_TOKEN_OK);
                ck_assert_int_ne(riders[i].result, RAI_TOKEN_E_TIMEOUT);
            }
        }
        ck_assert_int_eq(leaders, 1);
        ck_assert_uint_eq(apr_hash_count(table->flights), 0);
        pool = saved;
        apr_pool_destroy(sub);
    }
}
END_TEST

static Suite *flight_suite(void)
{
    Suite *s = suite_create("rai_flight");
    TCase *tc;

    tc = tcase_create("one_key");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, one_leader_many_followers);
    tcase_add_test(tc, main_thread_leads);
    tcase_add_test(tc, token_bytes_copied_by_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("failure");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, leader_fails);
    suite_add_tcase(s, tc);

    tc = tcase_create("timeout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, follower_times_out);
    tcase_add_test(tc, timeout_among_waiting_followers);
    tcase_add_test(tc, all_followers_time_out);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, different_keys_different_leaders);
    tcase_add_test(tc, different_keys_threads);
    tcase_add_test(tc, board_after_landing_leads_again);
    tcase_add_test(tc, new_flight_while_old_followers_leave);
    tcase_add_test(tc, key_is_copied);
    tcase_add_test(tc, land_null_flight);
    tcase_add_test(tc, many_rounds);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return unit_run(flight_suite(), &root);
}
