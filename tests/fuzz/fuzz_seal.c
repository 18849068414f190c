/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_seal.
 *
 * Byte 0 even: the rest is an entry read from a shared cache, opened under
 * a fixed key and cache key.  It must never crash, and may open only if it
 * is a real seal (the seed corpus holds some): then the token must pass
 * the shape check and the times the sanity checks.
 *
 * Byte 0 odd: a round trip.  Bytes 1-2: issued, seconds from "now"
 * (signed); bytes 3-5: the lifetime in seconds, minus 1000; bytes 6-7:
 * which byte of the seal to flip; the rest is the token.  Sealing must
 * succeed exactly when the token has the shape; opening must give the
 * token back exactly when the times make sense; the flipped seal, another
 * cache key and a truncated seal must never open.
 *
 * Build and run (from the top of the tree): make fuzz-replay (the seed
 * corpus once), make fuzz (FUZZ_SECONDS of new inputs).  Reproduce a
 * crash: ./tests/fuzz/fuzz_seal.bin crash-...
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "rai_libs.h"
#include "rai_seal.h"

#define FUZZ_ACCESS_KEY "fuzz-access-key"
#define FUZZ_TOKEN_URL  "https://api-v2.returning.ai/v2/api/widget-access-keys/token"
#define FUZZ_CACHE_KEY  \
    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
#define FUZZ_OTHER_KEY  \
    "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
#define FUZZ_NOW        apr_time_from_sec(1700000000)

static apr_pool_t *fuzz_pool;
static rai_seal_key_t fuzz_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&fuzz_pool, NULL) != APR_SUCCESS
        || rai_libs_load() != NULL
        || rai_seal_key_derive(&fuzz_key, FUZZ_ACCESS_KEY, FUZZ_TOKEN_URL)
           != APR_SUCCESS) {
        abort();
    }
    return 0;
}

static void fuzz_open(const uint8_t *in, size_t len)
{
    rai_token_t token;
    unsigned char *copy = malloc(len ? len : 1);

    if (!copy) {
        abort();
    }
    memcpy(copy, in, len);  /* exactly len bytes: ASan sees any overread */
    memset(&token, 0, sizeof(token));
    if (rai_seal_open_token(fuzz_pool, &fuzz_key, FUZZ_CACHE_KEY, copy, len,
                            FUZZ_NOW, &token) == APR_SUCCESS) {
        if (!rai_token_shape_ok(token.token, token.token_len)
            || strlen(token.token) != token.token_len
            || !rai_seal_times_ok(token.issued, token.expires, FUZZ_NOW)
            || len != RAI_SEAL_OVERHEAD + token.token_len) {
            abort();
        }
    }
    else if (token.token) {
        abort();    /* a miss leaves the token alone */
    }
    free(copy);
}

static void fuzz_round_trip(const uint8_t *in, size_t len)
{
    rai_token_t token, back;
    unsigned char *sealed;
    apr_size_t sealed_len;
    apr_status_t rv;
    size_t flip;
    int ok;

    if (len < 7) {
        return;
    }
    token.issued = FUZZ_NOW
                   + apr_time_from_sec((int16_t)(in[0] << 8 | in[1]));
    token.expires = token.issued
                    + apr_time_from_sec((apr_int64_t)(in[2] << 16 | in[3] << 8
                                                      | in[4]) - 1000);
    flip = (size_t)(in[5] << 8 | in[6]);
    token.token = (const char *)in + 7;
    token.token_len = len - 7;

    rv = rai_seal_token(fuzz_pool, &fuzz_key, FUZZ_CACHE_KEY, &token, &sealed,
                        &sealed_len);
    if ((rv == APR_SUCCESS)
        != rai_token_shape_ok(token.token, token.token_len)) {
        abort();
    }
    if (rv != APR_SUCCESS) {
        return;
    }
    if (sealed_len != RAI_SEAL_OVERHEAD + token.token_len
        || sealed_len > RAI_SEAL_MAX) {
        abort();
    }
    ok = rai_seal_times_ok(token.issued, token.expires, FUZZ_NOW);
    rv = rai_seal_open_token(fuzz_pool, &fuzz_key, FUZZ_CACHE_KEY, sealed,
                             sealed_len, FUZZ_NOW, &back);
    if ((rv == APR_SUCCESS) != ok) {
        abort();
    }
    if (ok && (back.token_len != token.token_len
               || memcmp(back.token, token.token, token.token_len)
               || back.issued != token.issued
               || back.expires != token.expires)) {
        abort();
    }
    if (rai_seal_open_token(fuzz_pool, &fuzz_key, FUZZ_OTHER_KEY, sealed,
                            sealed_len, FUZZ_NOW, &back) != APR_NOTFOUND
        || rai_seal_open_token(fuzz_pool, &fuzz_key, FUZZ_CACHE_KEY, sealed,
                               flip % sealed_len, FUZZ_NOW, &back)
           != APR_NOTFOUND) {
        abort();
    }
    sealed[flip % sealed_len] ^= (unsigned char)(1u << (flip >> 13));
    if (rai_seal_open_token(fuzz_pool, &fuzz_key, FUZZ_CACHE_KEY, sealed,
                            sealed_len, FUZZ_NOW, &back) != APR_NOTFOUND) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_round_trip(data + 1, size - 1);
    }
    else {
        fuzz_open(data + 1, size - 1);
    }
    apr_pool_clear(fuzz_pool);
    return 0;
}
