/*
 * deploy_render.c - a certificate's files as a service takes them: the
 * chain, the key and the combined file, in memory (cf_render, see
 * deploy.h).  The key is only ever in buffers wiped before free.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cert.h"
#include "deploy.h"
#include "util.h"

void
cf_rendered_clear(struct cf_rendered *r)
{
	if (r == NULL)
		return;
	if (r->key != NULL)
		OPENSSL_cleanse(r->key, r->key_len);
	if (r->pem != NULL)
		OPENSSL_cleanse(r->pem, r->pem_len);
	free(r->chain);
	free(r->key);
	free(r->pem);
	memset(r, 0, sizeof(*r));
}

/* Wipes what memory BIO b holds (a key), then frees it.  NULL-safe. */
static void
bio_free_wiped(BIO *b)
{
	char *p = NULL;
	long n;

	if (b == NULL)
		return;
	if ((n = BIO_get_mem_data(b, &p)) > 0 && p != NULL)
		OPENSSL_cleanse(p, (size_t)n);
	BIO_free(b);
}

/*
 * PEM of leaf and of every certificate of chain but the leaf again and
 * self-signed ones (roots: a client has them or does not trust them),
 * then of the key as PKCS#8, which PEM_write_bio_PrivateKey writes in
 * OpenSSL 3.  The key is only ever in memory BIOs wiped before free.
 */
int
cf_render(X509 *leaf, STACK_OF(X509) * chain, EVP_PKEY *key,
    struct cf_rendered *out, struct cf_error *err)
{
	BIO *cb = NULL, *kb = NULL;
	X509 *x;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL) {
		cf_errorf_ossl(err, CF_E_INTERNAL, "render the files");
		goto out;
	}
	if (!PEM_write_bio_X509(cb, leaf)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "render the certificate");
		goto out;
	}
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if (X509_cmp(x, leaf) == 0 || cf_cert_self_signed(x))
			continue;
		if (!PEM_write_bio_X509(cb, x)) {
			cf_errorf_ossl(err, CF_E_CRYPTO, "render the chain");
			goto out;
		}
	}
	if (key != NULL &&
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "render the private key");
		goto out;
	}
	out->chain = cf_bio_text(cb, &out->chain_len);
	if (key != NULL)
		out->key = cf_bio_text(kb, &out->key_len);
	out->pem_len = out->chain_len + out->key_len;
	out->pem = xmalloc(out->pem_len + 1);
	memcpy(out->pem, out->chain, out->chain_len);
	if (out->key_len > 0)
		memcpy(out->pem + out->chain_len, out->key, out->key_len);
	out->pem[out->pem_len] = '\0';
	rc = 0;
out:
	BIO_free(cb);
	bio_free_wiped(kb);
	return rc;
}
