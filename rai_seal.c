/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

#include <string.h>

#include "rai_libs.h"

#include "rai_seal.h"

/* Changing the label (or the format) makes every old entry a miss. */
#define RAI_SEAL_LABEL "mod_rai_embed cache v1"

/* The algorithms, looked up once (rai_seal_global_init): OpenSSL 3 looks
 * an implicitly named one up in its provider store, under a lock, at
 * every SHA256() or EVP_aes_256_gcm() init - on every cache lookup. */
static const EVP_MD *rai_seal_md;
static const EVP_CIPHER *rai_seal_cipher;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static apr_status_t rai_seal_global_cleanup(void *unused)
{
    (void)unused;
    EVP_MD_free((EVP_MD *)rai_seal_md);
    EVP_CIPHER_free((EVP_CIPHER *)rai_seal_cipher);
    rai_seal_md = NULL;
    rai_seal_cipher = NULL;
    return APR_SUCCESS;
}
#endif

void rai_seal_global_init(apr_pool_t *p)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (!rai_seal_md && !rai_seal_cipher) {
        rai_seal_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
        rai_seal_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
        apr_pool_cleanup_register(p, NULL, rai_seal_global_cleanup,
                                  apr_pool_cleanup_null);
    }
#else
    (void)p;
#endif
}

static const EVP_CIPHER *rai_seal_aes_gcm(void)
{
    return rai_seal_cipher ? rai_seal_cipher : EVP_aes_256_gcm();
}

void rai_seal_sha256(const void *data, apr_size_t len,
                     unsigned char md[RAI_SEAL_SHA256_LEN])
{
    if (!rai_seal_md
        || !EVP_Digest(data, len, md, NULL, rai_seal_md, NULL)) {
        SHA256(data, len, md);
    }
}

apr_status_t rai_seal_key_derive(rai_seal_key_t *key, const char *access_key,
                                 const char *token_url)
{
    unsigned char info[sizeof(RAI_SEAL_LABEL) + SHA256_DIGEST_LENGTH];
    size_t out_len = sizeof(key->key);
    EVP_PKEY_CTX *ctx;
    int ok;

    if (!access_key || !*access_key || !token_url || !*token_url) {
        return APR_EINVAL;
    }
    /* the URL hashed: HKDF info is bounded in OpenSSL, URLs are not;
     * sizeof(RAI_SEAL_LABEL) keeps the NUL that ends the label */
    memcpy(info, RAI_SEAL_LABEL, sizeof(RAI_SEAL_LABEL));
    SHA256((const unsigned char *)token_url, strlen(token_url),
           info + sizeof(RAI_SEAL_LABEL));

    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    ok = ctx
         && EVP_PKEY_derive_init(ctx) > 0
         && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0
         && EVP_PKEY_CTX_set1_hkdf_key(ctx,
                                       (const unsigned char *)access_key,
                                       (int)strlen(access_key)) > 0
         && EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)sizeof(info)) > 0
         && EVP_PKEY_derive(ctx, key->key, &out_len) > 0
         && out_len == sizeof(key->key);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        rai_seal_key_wipe(key);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void rai_seal_key_wipe(rai_seal_key_t *key)
{
    rai_cleanse(key->key, sizeof(key->key));
}

int rai_seal_times_ok(apr_time_t issued, apr_time_t expires, apr_time_t now)
{
    /* arranged so that nothing overflows, whatever the stored bytes */
    return issued > 0
           && issued - RAI_SEAL_CLOCK_SKEW <= now
           && expires > issued
           && expires - issued <= RAI_SEAL_LIFETIME_MAX;
}

static void rai_seal_put_time(unsigned char *at, apr_time_t t)
{
    apr_uint64_t v = (apr_uint64_t)t;
    int i;

    for (i = 7; i >= 0; i--) {
        at[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_time_t rai_seal_get_time(const unsigned char *at)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | at[i];
    }
    return (apr_time_t)v;
}

/* The version byte and the cache key: what the tag binds the entry to. */
static int rai_seal_aad(EVP_CIPHER_CTX *ctx, const char *cache_key, int enc)
{
    const unsigned char version = RAI_SEAL_VERSION;
    int n;

    if (enc) {
        return EVP_EncryptUpdate(ctx, NULL, &n, &version, 1) > 0
               && EVP_EncryptUpdate(ctx, NULL, &n,
                                    (const unsigned char *)cache_key,
                                    (int)strlen(cache_key)) > 0;
    }
    return EVP_DecryptUpdate(ctx, NULL, &n, &version, 1) > 0
           && EVP_DecryptUpdate(ctx, NULL, &n,
                                (const unsigned char *)cache_key,
                                (int)strlen(cache_key)) > 0;
}

static int rai_seal_encrypt(const rai_seal_key_t *key, const char *cache_key,
                            const rai_token_t *token, unsigned char *out)
{
    unsigned char times[RAI_SEAL_TIMES_LEN];
    unsigned char *nonce = out + 1;
    unsigned char *cipher = nonce + RAI_SEAL_NONCE_LEN;
    unsigned char *tag = cipher + RAI_SEAL_TIMES_LEN + token->token_len;
    EVP_CIPHER_CTX *ctx;
    int n, ok;

    out[0] = RAI_SEAL_VERSION;
    rai_seal_put_time(times, token->issued);
    rai_seal_put_time(times + 8, token->expires);
    if (RAND_bytes(nonce, RAI_SEAL_NONCE_LEN) != 1
        || !(ctx = EVP_CIPHER_CTX_new())) {
        return 0;
    }
    /* GCM is a stream mode: each update writes as many bytes as it reads */
    ok = EVP_EncryptInit_ex(ctx, rai_seal_aes_gcm(), NULL, NULL, NULL) > 0
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                RAI_SEAL_NONCE_LEN, NULL) > 0
         && EVP_EncryptInit_ex(ctx, NULL, NULL, key->key, nonce) > 0
         && rai_seal_aad(ctx, cache_key, 1)
         && EVP_EncryptUpdate(ctx, cipher, &n, times, sizeof(times)) > 0
         && EVP_EncryptUpdate(ctx, cipher + RAI_SEAL_TIMES_LEN, &n,
                              (const unsigned char *)token->token,
                              (int)token->token_len) > 0
         && EVP_EncryptFinal_ex(ctx, tag, &n) > 0
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, RAI_SEAL_TAG_LEN,
                                tag) > 0;
    EVP_CIPHER_CTX_free(ctx);
    rai_cleanse(times, sizeof(times));
    return ok;
}

apr_status_t rai_seal_token(apr_pool_t *p, const rai_seal_key_t *key,
                            const char *cache_key, const rai_token_t *token,
                            unsigned char **out, apr_size_t *out_len)
{
    apr_size_t len;
    unsigned char *sealed;

    if (!token->token || !rai_token_shape_ok(token->token, token->token_len)) {
        return APR_EINVAL;
    }
    len = RAI_SEAL_OVERHEAD + token->token_len;
    sealed = apr_palloc(p, len);
    if (!rai_seal_encrypt(key, cache_key, token, sealed)) {
        return APR_EGENERAL;
    }
    *out = sealed;
    *out_len = len;
    return APR_SUCCESS;
}

/* Decrypts in into plain (in_len - RAI_SEAL_OVERHEAD + RAI_SEAL_TIMES_LEN
 * bytes); 1 when the tag is good. */
static int rai_seal_decrypt(const rai_seal_key_t *key, const char *cache_key,
                            const unsigned char *in, apr_size_t in_len,
                            unsigned char *plain)
{
    const unsigned char *nonce = in + 1;
    const unsigned char *cipher = nonce + RAI_SEAL_NONCE_LEN;
    apr_size_t cipher_len = in_len - 1 - RAI_SEAL_NONCE_LEN - RAI_SEAL_TAG_LEN;
    unsigned char tag[RAI_SEAL_TAG_LEN];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, ok;

    if (!ctx) {
        return 0;
    }
    /* a copy: OpenSSL's SET_TAG takes a non-const pointer */
    memcpy(tag, cipher + cipher_len, sizeof(tag));
    ok = EVP_DecryptInit_ex(ctx, rai_seal_aes_gcm(), NULL, NULL, NULL) > 0
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                RAI_SEAL_NONCE_LEN, NULL) > 0
         && EVP_DecryptInit_ex(ctx, NULL, NULL, key->key, nonce) > 0
         && rai_seal_aad(ctx, cache_key, 0)
         && EVP_DecryptUpdate(ctx, plain, &n, cipher, (int)cipher_len) > 0
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, RAI_SEAL_TAG_LEN,
                                tag) > 0
         && EVP_DecryptFinal_ex(ctx, plain + cipher_len, &n) > 0;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t rai_seal_open_token(apr_pool_t *p, const rai_seal_key_t *key,
                                 const char *cache_key,
                                 const unsigned char *in, apr_size_t in_len,
                                 apr_time_t now, rai_token_t *token)
{
    apr_size_t plain_len, token_len;
    unsigned char *plain;
    apr_time_t issued, expires;

    if (!in || in_len < RAI_SEAL_MIN || in_len > RAI_SEAL_MAX
        || in[0] != RAI_SEAL_VERSION) {
        return APR_NOTFOUND;
    }
    plain_len = in_len - RAI_SEAL_OVERHEAD + RAI_SEAL_TIMES_LEN;
    token_len = plain_len - RAI_SEAL_TIMES_LEN;
    /* one byte more: the token's NUL */
    plain = apr_palloc(p, plain_len + 1);
    if (!rai_seal_decrypt(key, cache_key, in, in_len, plain)) {
        /* unauthenticated bytes: leave nothing of them in the pool */
        rai_cleanse(plain, plain_len);
        return APR_NOTFOUND;
    }
    issued = rai_seal_get_time(plain);
    expires = rai_seal_get_time(plain + 8);
    /* even an authentic entry is checked: the sealer may have had a bad
     * clock, and no page gets a token of the wrong shape */
    if (!rai_seal_times_ok(issued, expires, now)
        || !rai_token_shape_ok((const char *)plain + RAI_SEAL_TIMES_LEN,
                               token_len)) {
        rai_cleanse(plain, plain_len);
        return APR_NOTFOUND;
    }
    plain[plain_len] = '\0';
    token->token = (const char *)plain + RAI_SEAL_TIMES_LEN;
    token->token_len = token_len;
    token->issued = issued;
    token->expires = expires;
    return APR_SUCCESS;
}
