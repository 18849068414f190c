/* Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 */

/* rai_libs: OpenSSL's libcrypto and json-c, loaded with dlopen() by each
 * process that fetches or caches tokens, not linked into the module, for
 * the reason rai_curl.h gives: linked, they are mapped into httpd's parent
 * and so into mod_cgid's daemon, which forks every CGI from its image; the
 * two make each fork and exec about 40 us dearer (docs/DESIGN-NOTES.md).
 * The worker children load them in child_init, before the keys that seal
 * cache entries are derived; the parent never calls them.
 *
 * Include this instead of the OpenSSL and json-c headers, and after any
 * other header that includes them: the calls of the file then go through
 * the table.  The table's members take their types from the libraries'
 * own prototypes (__typeof__), so a call is checked as a direct one is. */
#ifndef RAI_LIBS_H
#define RAI_LIBS_H

#include <stddef.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* The sonames of the ABIs the module was built against. */
#ifndef RAI_CRYPTO_SONAME
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define RAI_LIBS_STR2(x) #x
#define RAI_LIBS_STR(x) RAI_LIBS_STR2(x)
#define RAI_CRYPTO_SONAME "libcrypto.so." RAI_LIBS_STR(OPENSSL_VERSION_MAJOR)
#else
#define RAI_CRYPTO_SONAME "libcrypto.so.1.1"
#endif
#endif
#ifndef RAI_JSON_SONAME
/* json-c 0.14 and later: ABI 5 */
#define RAI_JSON_SONAME "libjson-c.so.5"
#endif

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define RAI_CRYPTO_FUNCS_3(X)                                             \
    X(EVP_CIPHER_fetch) X(EVP_CIPHER_free) X(EVP_MD_fetch) X(EVP_MD_free)
#else
#define RAI_CRYPTO_FUNCS_3(X)
#endif

/* Every function of the two libraries the module calls. */
#define RAI_CRYPTO_FUNCS(X)                                               \
    RAI_CRYPTO_FUNCS_3(X)                                                 \
    X(EVP_CIPHER_CTX_ctrl) X(EVP_CIPHER_CTX_free) X(EVP_CIPHER_CTX_new)   \
    X(EVP_DecryptFinal_ex) X(EVP_DecryptInit_ex) X(EVP_DecryptUpdate)     \
    X(EVP_Digest) X(EVP_EncryptFinal_ex) X(EVP_EncryptInit_ex)            \
    X(EVP_EncryptUpdate) X(EVP_PKEY_CTX_add1_hkdf_info)                   \
    X(EVP_PKEY_CTX_free) X(EVP_PKEY_CTX_new_id)                           \
    X(EVP_PKEY_CTX_set1_hkdf_key) X(EVP_PKEY_CTX_set_hkdf_md)             \
    X(EVP_PKEY_derive) X(EVP_PKEY_derive_init) X(EVP_aes_256_gcm)         \
    X(EVP_sha256) X(RAND_bytes) X(SHA256)

#define RAI_JSON_FUNCS(X)                                                 \
    X(json_object_get) X(json_object_get_int64) X(json_object_get_string) \
    X(json_object_get_string_len) X(json_object_is_type)                  \
    X(json_object_new_object) X(json_object_new_string)                   \
    X(json_object_object_add) X(json_object_object_get_ex)                \
    X(json_object_put) X(json_object_to_json_string_ext)                  \
    X(json_tokener_free) X(json_tokener_get_error)                        \
    X(json_tokener_get_parse_end) X(json_tokener_new) X(json_tokener_parse) \
    X(json_tokener_parse_ex) X(json_tokener_set_flags)

#define RAI_LIBS_MEMBER(name) __typeof__(name) *name;

typedef struct {
    RAI_CRYPTO_FUNCS(RAI_LIBS_MEMBER)
    RAI_JSON_FUNCS(RAI_LIBS_MEMBER)
} rai_libs_table_t;

extern rai_libs_table_t rai_libs;

/* Loads both libraries, once per process (not thread safe: call it before
 * threads start).  NULL, or which could not be loaded and why, as
 * "libcrypto (libcrypto.so.3): <dlerror>". */
const char *rai_libs_load(void);

/* Whether rai_libs_load() succeeded in this process. */
int rai_libs_loaded(void);

/* Wipes n bytes at p, in a way the compiler does not drop as a dead store
 * (OPENSSL_cleanse's job, where libcrypto may not be loaded: the
 * parent reads RaiEmbedAccessKeyFile). */
void rai_cleanse(void *p, size_t n);

#ifndef RAI_LIBS_TABLE
/* a name in its own expansion is not expanded again: X becomes rai_libs.X */
#define EVP_CIPHER_fetch rai_libs.EVP_CIPHER_fetch
#define EVP_CIPHER_free rai_libs.EVP_CIPHER_free
#define EVP_MD_fetch rai_libs.EVP_MD_fetch
#define EVP_MD_free rai_libs.EVP_MD_free
#define EVP_CIPHER_CTX_ctrl rai_libs.EVP_CIPHER_CTX_ctrl
#define EVP_CIPHER_CTX_free rai_libs.EVP_CIPHER_CTX_free
#define EVP_CIPHER_CTX_new rai_libs.EVP_CIPHER_CTX_new
#define EVP_DecryptFinal_ex rai_libs.EVP_DecryptFinal_ex
#define EVP_DecryptInit_ex rai_libs.EVP_DecryptInit_ex
#define EVP_DecryptUpdate rai_libs.EVP_DecryptUpdate
#define EVP_Digest rai_libs.EVP_Digest
#define EVP_EncryptFinal_ex rai_libs.EVP_EncryptFinal_ex
#define EVP_EncryptInit_ex rai_libs.EVP_EncryptInit_ex
#define EVP_EncryptUpdate rai_libs.EVP_EncryptUpdate
#define EVP_PKEY_CTX_add1_hkdf_info rai_libs.EVP_PKEY_CTX_add1_hkdf_info
#define EVP_PKEY_CTX_free rai_libs.EVP_PKEY_CTX_free
#define EVP_PKEY_CTX_new_id rai_libs.EVP_PKEY_CTX_new_id
#define EVP_PKEY_CTX_set1_hkdf_key rai_libs.EVP_PKEY_CTX_set1_hkdf_key
#define EVP_PKEY_CTX_set_hkdf_md rai_libs.EVP_PKEY_CTX_set_hkdf_md
#define EVP_PKEY_derive rai_libs.EVP_PKEY_derive
#define EVP_PKEY_derive_init rai_libs.EVP_PKEY_derive_init
#define EVP_aes_256_gcm rai_libs.EVP_aes_256_gcm
#define EVP_sha256 rai_libs.EVP_sha256
#define RAND_bytes rai_libs.RAND_bytes
#define SHA256 rai_libs.SHA256
#define json_object_get rai_libs.json_object_get
#define json_object_get_int64 rai_libs.json_object_get_int64
#define json_object_get_string rai_libs.json_object_get_string
#define json_object_get_string_len rai_libs.json_object_get_string_len
#define json_object_is_type rai_libs.json_object_is_type
#define json_object_new_object rai_libs.json_object_new_object
#define json_object_new_string rai_libs.json_object_new_string
#define json_object_object_add rai_libs.json_object_object_add
#define json_object_object_get_ex rai_libs.json_object_object_get_ex
#define json_object_put rai_libs.json_object_put
#define json_object_to_json_string_ext rai_libs.json_object_to_json_string_ext
#define json_tokener_free rai_libs.json_tokener_free
#define json_tokener_get_error rai_libs.json_tokener_get_error
#define json_tokener_get_parse_end rai_libs.json_tokener_get_parse_end
#define json_tokener_new rai_libs.json_tokener_new
#define json_tokener_parse rai_libs.json_tokener_parse
#define json_tokener_parse_ex rai_libs.json_tokener_parse_ex
#define json_tokener_set_flags rai_libs.json_tokener_set_flags
#endif

#endif
