/*
 * ops_new.c - cf_op_new_self_signed: `certfleet new`, a key and a
 * self-signed certificate stored through import.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "identity.h"
#include "ops.h"

/*
 * New-ExchangeCertificate without -GenerateRequest: a key and a
 * self-signed certificate, stored by the import path so nothing about
 * storing them is written twice.
 */
int
cf_op_new_self_signed(struct cf_store *s, const struct cf_selfsigned_opts *opts,
    struct cf_import_result **res, size_t *nres, struct cf_error *err)
{
	struct cf_import_opts io;
	struct cf_input in;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long len;
	int rc = -1, imported = 0;

	*res = NULL;
	*nres = 0;
	if (opts->subject == NULL || opts->subject[0] == '\0') {
		cf_errorf(err, CF_E_USAGE,
		    "a subject is needed "
		    "(--subject CN=name)");
		goto out;
	}
	if (opts->days < 0 || opts->days > 36500) {
		cf_errorf(err, CF_E_USAGE, "%d days: give 1 to 36500 days",
		    opts->days);
		goto out;
	}
	key = cf_key_generate(opts->key ? opts->key : "rsa2048", err);
	if (key == NULL)
		goto out;
	cert = cf_selfsigned_new(key, opts->subject, opts->domains,
	    opts->days ? opts->days : 365, 0, err);
	if (cert == NULL)
		goto out;
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		abort();
	if (!PEM_write_bio_X509(bio, cert) ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the new key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &pem);
	memset(&io, 0, sizeof(io));
	io.actor = opts->actor;
	io.exportable = opts->exportable;
	io.friendly_name = opts->friendly_name;
	io.services = opts->services;
	io.force = opts->force;
	io.op = "new-self-signed";
	in.name = "new self-signed certificate";
	in.data = (const unsigned char *)pem;
	in.len = (size_t)len;
	imported = 1;
	rc = cf_op_import(s, &in, 1, &io, res, nres, err);
out:
	/* cf_op_import audits its own outcome; a refusal before it is
	 * audited here, as every failed command is. */
	if (rc == -1 && !imported && err != NULL)
		cf_audit_failure(s, opts->actor, "new-self-signed", "", err);
	BIO_free(bio); /* secure memory: wiped */
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}
