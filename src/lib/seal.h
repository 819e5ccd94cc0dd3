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
 * Loads the master key from path, creating it (0600, random) when absent.
 * A key file readable by group or others, or of the wrong size, is
 * refused.  NULL and err set on failure; caller frees.
 */
struct cf_seal *cf_seal_open(const char *path, struct cf_error *err);
void cf_seal_free(struct cf_seal *s); /* wipes the key; NULL-safe */

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
