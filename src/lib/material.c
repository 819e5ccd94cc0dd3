/*
 * material.c - a stored certificate as OpenSSL objects: see material.h.
 */
#include <string.h>

#include "material.h"
#include "status.h"

int
cf_material_load(struct cf_store *s, const struct cf_row *row, int with_key,
    struct cf_material *m, struct cf_error *err)
{
	struct cf_row *rows = NULL;
	struct cf_secret *der = NULL;
	const unsigned char *p;
	size_t n = 0, i;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	m->chain = sk_X509_new_null();
	if ((m->cert = cf_cert_from_der(row->der, row->der_len, err)) == NULL ||
	    cf_status_chain(s, row, &rows, &n, err) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		X509 *x = cf_cert_from_der(rows[i].der, rows[i].der_len, err);
		if (x == NULL)
			goto out;
		sk_X509_push(m->chain, x);
	}
	if (with_key) {
		if (cf_store_key_get(s, row->f.thumbprint, &der, err) == -1)
			goto out;
		p = (const unsigned char *)der->data;
		if ((m->key = d2i_AutoPrivateKey(NULL, &p, (long)der->len)) ==
		    NULL) {
			cf_errorf_ossl(err, CF_E_CRYPTO,
			    "%s: the stored private key does not decode",
			    row->f.thumbprint);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		cf_material_clear(m);
	cf_secret_free(der);
	cf_rows_free(rows, n);
	return rc;
}

void
cf_material_clear(struct cf_material *m)
{
	X509_free(m->cert);
	sk_X509_pop_free(m->chain, X509_free);
	EVP_PKEY_free(m->key); /* OpenSSL clears key material on free */
	memset(m, 0, sizeof(*m));
}
