/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* libFuzzer target for rai_token_parse_response(), the check of the token
 * API's answer: whatever the status and body, it must never crash, accept
 * only a 2xx, and never accept a token that fails rai_token_shape_ok() or
 * times that rai_seal would refuse.
 *
 * Input: byte 0 picks the status (0-199: 200 + byte % 100, a 2xx; else a
 * status from a short list of others), the rest is the body, copied to a
 * buffer of its own size (not NUL-terminated) so ASan sees any overread.
 *
 * Build and run (from the top of the tree): make fuzz-replay (the seed
 * corpus once), make fuzz (FUZZ_SECONDS of new inputs).  Reproduce a
 * crash: ./tests/fuzz/fuzz_token_response.bin crash-...
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

#include "rai_libs.h"
#include "rai_seal.h"
#include "rai_token.h"

#define FUZZ_NOW apr_time_from_sec(1700000000)

static apr_pool_t *fuzz_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&fuzz_pool, NULL) != APR_SUCCESS
        || rai_libs_load() != NULL) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long others[] = {
        0, 100, 199, 300, 301, 302, 304, 400, 401, 403, 404, 429, 500, 502,
        503, 504, 999, -1
    };
    rai_token_t token;
    rai_token_status_e status;
    const char *reason = NULL;
    char *body;
    long http_status;

    if (size < 1) {
        return 0;
    }
    http_status = data[0] < 200 ? 200 + data[0] % 100
                  : others[data[0] % (sizeof(others) / sizeof(*others))];
    body = malloc(size - 1 ? size - 1 : 1);
    if (!body) {
        abort();
    }
    memcpy(body, data + 1, size - 1);
    memset(&token, 0, sizeof(token));
    status = rai_token_parse_response(fuzz_pool, http_status, body, size - 1,
                                      FUZZ_NOW, &token, &reason);
    if (status == RAI_TOKEN_OK) {
        if (http_status < 200 || http_status > 299
            || !token.token
            || !rai_token_shape_ok(token.token, token.token_len)
            || strlen(token.token) != token.token_len
            || token.issued != FUZZ_NOW
            || !rai_seal_times_ok(token.issued, token.expires, FUZZ_NOW)) {
            abort();
        }
    }
    else if (!reason) {
        abort();    /* every failure says why, for the log */
    }
    free(body);
    apr_pool_clear(fuzz_pool);
    return 0;
}
