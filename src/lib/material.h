/*
 * material.h - a stored certificate as OpenSSL objects: the certificate,
 * its chain as far as the store knows it (issuer first) and, when asked
 * for, its private key unsealed.  What export and deploy both start from.
 */
#ifndef CF_MATERIAL_H
#define CF_MATERIAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store.h"

struct cf_material {
	X509 *cert;
	STACK_OF(X509) * chain; /* issuer first; may end at a self-signed top */
	EVP_PKEY *key;          /* NULL unless asked for */
};

/*
 * Loads row (fetched with its DER) into *m; the key too when with_key.
 * Inside the caller's transaction.  Clear *m with cf_material_clear.
 */
int cf_material_load(struct cf_store *s, const struct cf_row *row, int with_key,
    struct cf_material *m, struct cf_error *err);
void cf_material_clear(struct cf_material *m); /* frees; the key wiped */

#endif
