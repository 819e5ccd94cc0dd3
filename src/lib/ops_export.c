/*
 * ops_export.c - cf_op_export: a certificate with its chain, and its key
 * when it may leave, as PKCS#12 (DER or Base64 text) or PEM; a pending
 * request as its PKCS#10.  Every export is audited, a copy's with its
 * targets.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"
#include "material.h"
#include "ops.h"
#include "pkcs12.h"
#include "util.h"

/* PEM: the certificate, its chain, then the key as encrypted PKCS#8. */
static int
write_pem(X509 *cert, EVP_PKEY *key, STACK_OF(X509) * chain,
    const char *password, struct cf_buf *out, struct cf_error *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long len;
	int i, ok;

	if (bio == NULL)
		abort();
	ok = PEM_write_bio_X509(bio, cert);
	for (i = 0; ok && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(bio, sk_X509_value(chain, i));
	if (ok && key != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(),
		    NULL, 0, NULL, (void *)password);
	if (!ok) {
		BIO_free(bio);
		return cf_errorf_ossl(err, CF_E_CRYPTO, "PEM encoding failed");
	}
	len = BIO_get_mem_data(bio, &data);
	out->data = xmalloc((size_t)len + 1);
	memcpy(out->data, data, (size_t)len);
	out->len = (size_t)len;
	BIO_free(bio);
	return 0;
}

/* Base64 of der, in lines of 64 characters. */
static void
base64_lines(const unsigned char *der, size_t len, struct cf_buf *out)
{
	size_t enc = 4 * ((len + 2) / 3), i, o = 0;
	unsigned char *tmp = xmalloc(enc + 1);

	EVP_EncodeBlock(tmp, der, (int)len);
	out->data = xmalloc(enc + enc / 64 + 2);
	for (i = 0; i < enc; i += 64) {
		size_t k = enc - i < 64 ? enc - i : 64;
		memcpy(out->data + o, tmp + i, k);
		o += k;
		out->data[o++] = '\n';
	}
	out->len = o;
	free(tmp);
}

/*
 * A pending request exports as its PKCS#10, to send to a CA again: DER
 * for --binary, else PEM.  No key, so no password.
 */
static int
export_request(struct cf_store *s, const char *thumb,
    const struct cf_export_opts *opts, struct cf_buf *out, struct cf_error *err)
{
	struct cf_request *r = NULL;
	X509_REQ *req = NULL;
	size_t n = 0;
	int rc = -1;

	if (cf_store_request_list(s, thumb, 1, &r, &n, err) == -1)
		return -1;
	if (n != 1) {
		cf_errorf(
		    err, CF_E_NOTFOUND, "%.8s: no such certificate", thumb);
		goto out;
	}
	if ((req = cf_csr_decode(r->csr, r->csr_len, NULL, NULL, err)) ==
		NULL ||
	    cf_csr_encode(req, opts->format == CF_EXPORT_P12, &out->data,
		&out->len, err) == -1)
		goto out;
	rc = 0;
out:
	X509_REQ_free(req);
	cf_requests_free(r, n);
	return rc;
}

static int
export_locked(struct cf_store *s, const char *thumb,
    const struct cf_export_opts *opts, struct cf_buf *out, const char **what,
    struct cf_error *err)
{
	struct cf_row row;
	struct cf_material m = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = -1, found;

	memset(&row, 0, sizeof(row));
	if ((found = cf_store_fetch(s, thumb, &row, err)) == 0) {
		*what = "exported the pending request (PKCS#10)";
		rc = export_request(s, thumb, opts, out, err);
		goto out;
	}
	if (found == -1)
		goto out;
	if (!opts->no_key && !row.has_key) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%.8s: the store has no private key for this certificate; "
		    "use --no-key to export the certificate and its chain",
		    thumb);
		goto out;
	}
	if (!opts->no_key && !row.exportable) {
		cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): the private key is not exportable: it was "
		    "imported or created without --exportable; export it from "
		    "a server where it is exportable, or rekey with a new "
		    "request (or use --no-key for the certificate alone)",
		    thumb, row.f.subject);
		goto out;
	}
	if (!opts->no_key && opts->password == NULL) {
		cf_errorf(err, CF_E_USAGE,
		    "%.8s: a password is needed to "
		    "export a private key",
		    thumb);
		goto out;
	}
	if (cf_material_load(s, &row, !opts->no_key, &m, err) == -1)
		goto out;
	if (opts->format == CF_EXPORT_PEM) {
		if (write_pem(
			m.cert, m.key, m.chain, opts->password, out, err) == -1)
			goto out;
	} else {
		if (cf_pkcs12_build(m.cert, m.key, m.chain,
			row.friendly_name[0] ? row.friendly_name : NULL,
			opts->password,
			opts->legacy     ? CF_P12_LEGACY
			: opts->transfer ? CF_P12_TRANSFER
					 : CF_P12_MODERN,
			&der, &len, err) == -1)
			goto out;
		if (opts->format == CF_EXPORT_P12_B64)
			base64_lines(der, len, out);
		else {
			out->data = der;
			out->len = len;
			der = NULL;
		}
	}
	rc = 0;
out:
	if (der != NULL) {
		OPENSSL_cleanse(der, len);
		free(der);
	}
	cf_material_clear(&m);
	cf_row_clear(&row);
	return rc;
}

int
cf_op_export(struct cf_store *s, const char *arg,
    const struct cf_export_opts *opts, struct cf_buf *out, struct cf_error *err)
{
	char thumb[CF_THUMB_LEN + 1] = "", *audited = NULL;
	const char *what = opts->no_key ? "exported certificate and chain"
					: "exported with private key";
	int rc = -1;

	out->data = NULL;
	out->len = 0;
	if (cf_store_begin(s, err) == -1)
		return -1;
	if (cf_store_resolve(s, arg, thumb, err) == -1 ||
	    export_locked(s, thumb, opts, out, &what, err) == -1)
		goto out;
	/* A copy says where the file goes: the source's trail names the
	 * targets (as the client names them; the agent cannot check). */
	audited = opts->targets && opts->targets[0]
		      ? xasprintf("%s, for copy to %s", what, opts->targets)
		      : xstrdup(what);
	if (cf_store_audit(s, opts->actor, "export", thumb, audited, err) ==
		-1 ||
	    cf_store_commit(s, err) == -1)
		goto out;
	rc = 0;
out:
	free(audited);
	if (rc == -1) {
		cf_store_rollback(s);
		if (out->data != NULL)
			OPENSSL_cleanse(out->data, out->len);
		cf_buf_clear(out);
		cf_audit_failure(s, opts->actor, "export", thumb, err);
	}
	return rc;
}
