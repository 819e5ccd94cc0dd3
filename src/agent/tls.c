/*
 * tls.c - the server context and the admin CA: see tls.h.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "util.h"

/*
 * Any certificate completes the handshake: clients are self-signed and
 * known by fingerprint, so the chain verdict OpenSSL reached is
 * irrelevant here.  Whether the certificate is authorized is decided per
 * request, where a refusal can be answered and audited.
 */
static int
accept_any(int preverify, X509_STORE_CTX *ctx)
{
	(void)preverify;
	(void)ctx;
	return 1;
}

/* Protocol versions, ciphers and options of the agent's listener. */
static int
tls_settings(SSL_CTX *ctx, struct cf_error *err)
{
	static const unsigned char sid[] = "certfleetd";

	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    /* TLS 1.2: forward secrecy and AEAD only. */
	    !SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") ||
	    /* Resumed sessions need a context once peers are verified. */
	    !SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1))
		return cf_errorf_ossl(
		    err, CF_E_CRYPTO, "cannot set up the TLS context");
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(
	    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	return 0;
}

SSL_CTX *
tls_server_new(const char *keyfile, const char *certfile, const char *cn,
    char fp[CF_FP_LEN + 1], struct cf_error *err)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	SSL_CTX *ctx = NULL;
	int created;

	if (cf_identity_load(
		keyfile, certfile, cn, 0, &key, &cert, &created, err) == -1)
		goto fail;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot make a TLS context");
		goto fail;
	}
	if (tls_settings(ctx, err) == -1)
		goto fail;
	if (!SSL_CTX_use_certificate(ctx, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx, key) ||
	    !SSL_CTX_check_private_key(ctx)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "%s, %s: cannot use them",
		    keyfile, certfile);
		goto fail;
	}
	cf_cert_fingerprint(cert, fp);
	EVP_PKEY_free(key);
	X509_free(cert);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	EVP_PKEY_free(key);
	X509_free(cert);
	return NULL;
}

/* The certificates PEM-encoded in bio (named file in messages) into a
 * new store. */
static int
admin_ca_read(
    BIO *bio, const char *file, X509_STORE **out, struct cf_error *err)
{
	STACK_OF(X509_INFO) *infos = NULL;
	X509_STORE *st = NULL;
	int i, n = 0, rc = -1;

	if ((infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		cf_errorf_ossl(err, CF_E_PARSE, "admin_ca %s: not PEM", file);
		goto out;
	}
	if ((st = X509_STORE_new()) == NULL)
		abort();
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 == NULL)
			continue;
		if (!X509_STORE_add_cert(st, xi->x509)) {
			cf_errorf_ossl(err, CF_E_PARSE,
			    "admin_ca %s: certificate %d", file, n + 1);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		cf_errorf(
		    err, CF_E_PARSE, "admin_ca %s: no certificate in it", file);
		goto out;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	X509_STORE_free(st);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	return rc;
}

int
tls_admin_ca_load(const char *file, X509_STORE **out, struct cf_error *err)
{
	BIO *bio;
	int rc;

	*out = NULL;
	if (file == NULL)
		return 0;
	if ((bio = BIO_new_file(file, "r")) == NULL)
		return cf_errorf_ossl(err, CF_E_IO,
		    "admin_ca %s: cannot read (%s)", file, strerror(errno));
	rc = admin_ca_read(bio, file, out, err);
	BIO_free(bio);
	return rc;
}

int
tls_admin_ca_from_pem(const char *file, const char *pem, size_t len,
    X509_STORE **out, struct cf_error *err)
{
	BIO *bio;
	int rc;

	*out = NULL;
	if (file == NULL)
		return 0;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		abort();
	rc = admin_ca_read(bio, file, out, err);
	BIO_free(bio);
	return rc;
}

int
tls_admin_verify(X509_STORE *store, X509 *cert, STACK_OF(X509) * chain)
{
	X509_STORE_CTX *ctx;
	int ok = 0;

	if (store == NULL || cert == NULL)
		return 0;
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		abort();
	if (X509_STORE_CTX_init(ctx, store, cert, chain) &&
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT))
		ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	ERR_clear_error(); /* this thread's queue: nothing to report */
	return ok;
}

char *
tls_actor_new(X509 *cert)
{
	char fp[CF_FP_LEN + 1], cn[TLS_CN_MAX + 1];
	const X509_NAME *subj;
	unsigned char *utf8 = NULL;
	int idx, len, i;
	size_t n = 0;

	if (cert == NULL)
		return xstrdup("tls:no-certificate");
	cf_cert_fingerprint(cert, fp);
	subj = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (idx >= 0 &&
	    (len = ASN1_STRING_to_UTF8(&utf8,
		 X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)))) > 0)
		for (i = 0; i < len && n < TLS_CN_MAX; i++)
			if (utf8[i] >= 0x20 && utf8[i] < 0x7f)
				cn[n++] = (char)utf8[i];
	OPENSSL_free(utf8);
	cn[n] = '\0';
	return n > 0 ? xasprintf("tls:%s (%s)", fp, cn)
		     : xasprintf("tls:%s", fp);
}
