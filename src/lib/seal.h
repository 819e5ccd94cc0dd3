/*
 * seal.h - private keys sealed at rest: AES-256-GCM under a 32-byte
 * master key file, with associated data binding each sealed blob to its
 * row (the certificate's thumbprint), so a blob cannot be moved.
 *
 * Sealed format: "CFS1" | 12-byte nonce | ciphertext | 16-byte tag.
 */
#ifndef CF_SEAL_H
#define CF_SEAL_H

#include <stddef.h>

#include "error.h"
#include "util.h"

#define CF_SEAL_KEY_LEN 32

struct cf_seal;

/*
 * Loads the master key from path, creating it (0600, random) when absent:
 * written to a temporary file, fsynced and linked into place, so that no
 * process, however it races or dies, finds a part of a key there.  A key
 * file readable by group or others, or of the wrong size (an empty one
 * left by an older version that died making it), is refused, the error
 * saying how to get the key back.  NULL and err set on failure; caller
 * frees.  The key is kept out of core dumps (MADV_DONTDUMP).
 */
struct cf_seal *cf_seal_open(const char *path, struct cf_error *err);
/* Loads the master key from path as cf_seal_open does, but never makes
 * one: a missing file is CF_E_NOTFOUND. */
struct cf_seal *cf_seal_load(const char *path, struct cf_error *err);
void cf_seal_free(struct cf_seal *s); /* wipes the key; NULL-safe */

/* Writes the master key to path, a new file (0600, fsynced, linked into
 * place whole); an existing file is CF_E_CONFLICT and stays as it was. */
int cf_seal_save(
    const struct cf_seal *s, const char *path, struct cf_error *err);

/* len bytes for the purpose label, derived from the master key
 * (HKDF-SHA256), into out: a key that is not the master key itself. */
int cf_seal_derive(const struct cf_seal *s, const char *label,
    unsigned char *out, size_t len, struct cf_error *err);

/*
 * The master key encrypted under a passphrase, for a backup: scrypt
 * (N = 2^17, r = 8, p = 1, 16-byte random salt) derives an AES-256-GCM
 * key; aad binds the blob to where it is kept.  CF_SEAL_WRAP_LEN bytes:
 * "CFW1" | log2 N | r | p | 0 | salt[16] | nonce[12] | key[32] | tag[16].
 */
#define CF_SEAL_WRAP_LEN 84
int cf_seal_wrap(const struct cf_seal *s, const struct cf_secret *pass,
    const char *aad, unsigned char out[CF_SEAL_WRAP_LEN], struct cf_error *err);
/*
 * The master key cf_seal_wrap encrypted, under pass and aad; NULL and
 * CF_E_PASSWORD for a wrong passphrase or an altered blob, CF_E_PARSE for
 * one that is not such a blob or asks scrypt for more than 1 GiB.
 */
struct cf_seal *cf_seal_unwrap(const unsigned char *blob, size_t len,
    const struct cf_secret *pass, const char *aad, struct cf_error *err);

/* Seals len bytes of plain under aad into out (caller clears). */
int cf_seal(struct cf_seal *s, const char *aad, const unsigned char *plain,
    size_t len, struct cf_buf *out, struct cf_error *err);

/*
 * Opens a sealed blob; fails with CF_E_CRYPTO when it was altered, sealed
 * under another master key or another aad.  *out is a new secret.
 */
int cf_unseal(struct cf_seal *s, const char *aad, const unsigned char *blob,
    size_t len, struct cf_secret **out, struct cf_error *err);

#endif
