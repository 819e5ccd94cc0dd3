/* bundle.c - parsing any input format into certificates and keys. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "bundle.h"
#include "pkcs12.h"
#include "util.h"

struct cf_bundle *
cf_bundle_new(void)
{
	struct cf_bundle *b = xcalloc(1, sizeof(*b));

	if ((b->certs = sk_X509_new_null()) == NULL)
		abort();
	return b;
}

void
cf_bundle_free(struct cf_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	sk_X509_pop_free(b->certs, X509_free); /* OSSL_STACK_OF_X509_free is 3.2+ */
	for (i = 0; i < b->nkeys; i++)
		EVP_PKEY_free(b->keys[i]);
	free(b->keys);
	free(b);
}

int
cf_bundle_add_cert(struct cf_bundle *b, X509 *cert, struct cf_error *err)
{
	if (sk_X509_num(b->certs) >= CF_MAX_CERTS) {
		X509_free(cert);
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d certificates in one file", CF_MAX_CERTS);
	}
	if (!sk_X509_push(b->certs, cert))
		abort();
	return 0;
}

int
cf_bundle_add_key(struct cf_bundle *b, EVP_PKEY *key, struct cf_error *err)
{
	if (b->nkeys >= CF_MAX_KEYS) {
		EVP_PKEY_free(key);
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d private keys in one file", CF_MAX_KEYS);
	}
	b->keys = xrealloc(b->keys, (b->nkeys + 1) * sizeof(*b->keys));
	b->keys[b->nkeys++] = key;
	return 0;
}
