/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_seal: sealed token cache entries (docs/configuration.md).
 *
 * A shared cache (memcached, redis) may be read and written by others, so
 * every entry is AES-256-GCM encrypted and authenticated, under a key that
 * HKDF-SHA256 derives from the access key and the token URL, and bound to
 * the cache key it is stored under.  An entry that does not open - forged,
 * truncated, swapped from another identity, sealed under an old access
 * key - is a miss.  Plain C, APR and OpenSSL libcrypto; no httpd types.
 *
 * Sealed entry, version 1:
 *
 *   byte 0        RAI_SEAL_VERSION (1)
 *   bytes 1..12   nonce, random per entry
 *   then          ciphertext of the plaintext below
 *   last 16       GCM tag
 *
 *   AAD           the version byte, then the cache key's bytes
 *   plaintext     issued (8 bytes), expires (8 bytes): apr_time_t,
 *                 big-endian two's complement; then the token's bytes
 *
 * Key: HKDF-SHA256 with IKM = the access key, no salt, and
 * info = "mod_rai_embed cache v1" NUL SHA-256(token URL).
 */
#ifndef RAI_SEAL_H
#define RAI_SEAL_H

#include "apr_pools.h"
#include "apr_time.h"

#include "rai_token.h"

#define RAI_SEAL_VERSION   1
#define RAI_SEAL_NONCE_LEN 12
#define RAI_SEAL_TAG_LEN   16
#define RAI_SEAL_TIMES_LEN 16
/* Bytes a seal adds to the token. */
#define RAI_SEAL_OVERHEAD  (1 + RAI_SEAL_NONCE_LEN + RAI_SEAL_TIMES_LEN \
                            + RAI_SEAL_TAG_LEN)
/* The largest sealed entry: one of RAI_TOKEN_MAX bytes. */
#define RAI_SEAL_MAX       (RAI_SEAL_OVERHEAD + RAI_TOKEN_MAX)
/* The smallest: a token of "a.b." (the shortest compact JWS). */
#define RAI_SEAL_MIN       (RAI_SEAL_OVERHEAD + 4)

/* A token issued this much "in the future" by another server of a web farm
 * is still believed. */
#define RAI_SEAL_CLOCK_SKEW apr_time_from_sec(60)
/* No token lives longer than a day. */
#define RAI_SEAL_LIFETIME_MAX apr_time_from_sec(86400)

typedef struct {
    unsigned char key[32];
} rai_seal_key_t;

/* Derives the sealing key of one token endpoint.  APR_EINVAL for a NULL or
 * empty access key or token URL, APR_EGENERAL when libcrypto fails (key
 * then wiped). */
apr_status_t rai_seal_key_derive(rai_seal_key_t *key, const char *access_key,
                                 const char *token_url);

/* Seals token under cache_key; *out (of *out_len bytes, at most
 * RAI_SEAL_MAX) is allocated in p.  APR_EINVAL for a token that fails
 * rai_token_shape_ok(), APR_EGENERAL when libcrypto fails. */
apr_status_t rai_seal_token(apr_pool_t *p, const rai_seal_key_t *key,
                            const char *cache_key, const rai_token_t *token,
                            unsigned char **out, apr_size_t *out_len);

/* Opens an entry read from the cache under cache_key.  APR_SUCCESS and
 * *token (its string NUL-terminated, in p), or APR_NOTFOUND for anything
 * that does not open or decode: other version, wrong length, bad tag,
 * another cache key or key, times that make no sense at now (issued not
 * positive or over RAI_SEAL_CLOCK_SKEW ahead, expires not after issued,
 * a lifetime over RAI_SEAL_LIFETIME_MAX), or a token failing
 * rai_token_shape_ok().  *token is untouched unless APR_SUCCESS. */
apr_status_t rai_seal_open_token(apr_pool_t *p, const rai_seal_key_t *key,
                                 const char *cache_key,
                                 const unsigned char *in, apr_size_t in_len,
                                 apr_time_t now, rai_token_t *token);

/* Whether issued and expires would pass rai_seal_open_token() at now. */
int rai_seal_times_ok(apr_time_t issued, apr_time_t expires, apr_time_t now);

/* Looks the algorithms up once, for the functions below and the cache
 * key's SHA-256, until p is cleared; call it before threads use them.
 * Without it they work the same, looking the algorithms up at each use. */
void rai_seal_global_init(apr_pool_t *p);

#define RAI_SEAL_SHA256_LEN 32

/* SHA-256 of data into md. */
void rai_seal_sha256(const void *data, apr_size_t len,
                     unsigned char md[RAI_SEAL_SHA256_LEN]);

/* Wipes the key (rai_cleanse). */
void rai_seal_key_wipe(rai_seal_key_t *key);

#endif
