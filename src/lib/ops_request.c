/*
 * ops_request.c - the life of a third-party certificate: request new
 * (New-ExchangeCertificate -GenerateRequest), request complete (the CA's
 * answer, Import-ExchangeCertificate on the server holding the key),
 * renew, and pending requests in get, export and remove.
 *
 * A pending request is a row of its own (store.h) with its key sealed;
 * completing it goes through import, in import's one transaction, which
 * also deletes the request: the certificate arrives with its key and its
 * chain, or nothing changes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "cert.h"
#include "csr.h"
#include "identity.h"
#include "material.h"
#include "ops.h"

/* The PKCS#8 DER of key as a secret. */
static struct cf_secret *
pkcs8_of(EVP_PKEY *key, struct cf_error *err)
{
	unsigned char *der = NULL;
	struct cf_secret *s;
	int n = i2d_PrivateKey(key, &der);

	if (n <= 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the new key");
		return NULL;
	}
	s = cf_secret_new(der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return s;
}

/* The request's PEM text as a new string. */
static char *
pem_of(X509_REQ *req, struct cf_error *err)
{
	unsigned char *text = NULL;
	size_t len = 0;
	char *s;

	if (cf_csr_encode(req, 0, &text, &len, err) == -1)
		return NULL;
	s = xmalloc(len + 1);
	memcpy(s, text, len);
	s[len] = '\0';
	free(text);
	return s;
}

/*
 * Stores req (made with key) as a pending request described by r (the
 * thumbprint, SPKI and DER are filled in here), inside the caller's
 * transaction.  *pem gets the request as PEM.
 */
static int
store_request(struct cf_store *s, struct cf_request *r, X509_REQ *req,
    EVP_PKEY *key, char **pem, struct cf_error *err)
{
	struct cf_secret *p8 = NULL;
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	char same[CF_THUMB_LEN + 1], *names = NULL;
	const char *asked = r->domains;
	X509_REQ *back = NULL;
	unsigned int mdlen = 0;
	int len, rc = -1;

	if ((len = i2d_X509_REQ(req, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the request");
		goto out;
	}
	cf_hex_upper(md, mdlen, r->thumbprint);
	r->csr = der;
	r->csr_len = (size_t)len;
	if (cf_key_spki(key, r->spki) == -1 ||
	    cf_store_request_by_spki(s, r->spki, same, err) == -1)
		goto out;
	if (same[0] != '\0') {
		/* One pending request per key (renew --keep-key twice). */
		cf_errorf(err, CF_E_CONFLICT,
		    "a request for this key is already pending as %.8s; export "
		    "it again (`certfleet export %.8s`) or remove it",
		    same, same);
		goto out;
	}
	if ((back = cf_csr_decode(der, (size_t)len, NULL, &names, err)) == NULL)
		goto out;
	r->domains = names; /* as the request has them: the CN joined */
	if ((p8 = pkcs8_of(key, err)) == NULL ||
	    cf_store_request_put(
		s, r, (unsigned char *)p8->data, p8->len, err) == -1 ||
	    (*pem = pem_of(req, err)) == NULL)
		goto out;
	rc = 0;
out:
	r->csr = NULL;
	OPENSSL_free(der);
	cf_secret_free(p8);
	r->domains = (char *)asked;
	free(names);
	X509_REQ_free(back);
	return rc;
}

/*
 * Makes and stores one request: a new key of kind (or key, lent, when
 * not NULL), the PKCS#10 for subject (a string, or the X509_NAME name
 * when not NULL) and domains, in one transaction with its audit.
 */
static int
new_request(struct cf_store *s, const char *actor, const char *op,
    const struct cf_request_opts *o, EVP_PKEY *key, const X509_NAME *name,
    const char *renews, char **pem, char *thumb, struct cf_error *err)
{
	struct cf_request r;
	EVP_PKEY *made = NULL;
	X509_REQ *req = NULL;
	char *domains = NULL, *outcome = NULL;
	int rc = -1, began = 0;

	memset(&r, 0, sizeof(r));
	*pem = NULL;
	if (cf_names_check(o->domains, &domains, err) == -1)
		goto out;
	if (key == NULL && (key = made = cf_key_generate(
				o->key ? o->key : "rsa2048", err)) == NULL)
		goto out;
	if ((req = cf_csr_new(key, o->subject, domains, err)) == NULL)
		goto out;
	if (name != NULL && (!X509_REQ_set_subject_name(req, name) ||
				!X509_REQ_sign(req, key, EVP_sha256()))) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot sign the request");
		goto out;
	}
	r.subject = cf_name_new(X509_REQ_get_subject_name(req));
	r.domains = domains;
	r.key_type = cf_key_type_new(key);
	r.friendly_name = (char *)(o->friendly_name ? o->friendly_name : "");
	r.exportable = o->exportable;
	snprintf(r.renews, sizeof(r.renews), "%s", renews ? renews : "");
	if (cf_store_begin(s, err) == -1)
		goto out;
	began = 1;
	outcome = renews
		      ? xasprintf("request for %s (%s), renews %.8s", r.subject,
			    r.key_type, renews)
		      : xasprintf("request for %s (%s)", r.subject, r.key_type);
	if (store_request(s, &r, req, key, pem, err) == -1 ||
	    cf_store_audit(s, actor, op, r.thumbprint, outcome, err) == -1 ||
	    cf_store_commit(s, err) == -1)
		goto out;
	began = 0;
	memcpy(thumb, r.thumbprint, CF_THUMB_LEN + 1);
	rc = 0;
out:
	if (began)
		cf_store_rollback(s);
	if (rc == -1) {
		char *failed = xasprintf("failed: %s", err->msg);
		cf_store_audit(s, actor, op, "", failed, NULL);
		free(failed);
		free(*pem);
		*pem = NULL;
	}
	free(outcome);
	free(r.subject);
	free(r.key_type);
	free(domains);
	X509_REQ_free(req);
	EVP_PKEY_free(made);
	return rc;
}

int
cf_op_request_new(struct cf_store *s, const struct cf_request_opts *o,
    char **pem, char *thumb, struct cf_error *err)
{
	*pem = NULL;
	if (o->subject == NULL || o->subject[0] == '\0')
		return cf_errorf(err, CF_E_USAGE,
		    "a subject is needed (--subject CN=mail.example.com)");
	return new_request(
	    s, o->actor, "request new", o, NULL, NULL, NULL, pem, thumb, err);
}

/* The cf_key_generate kind that makes a key like the one of type. */
static const char *
kind_of(const char *type, struct cf_error *err)
{
	static const struct {
		const char *type, *kind;
	} map[] = {
	    {"RSA-3072", "rsa3072"},
	    {"RSA-4096", "rsa4096"},
	    {"EC-P256", "p256"},
	    {"EC-P384", "p384"},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(type, map[i].type) == 0)
			return map[i].kind;
	if (strncmp(type, "RSA-", 4) == 0 && atoi(type + 4) <= 2048)
		return "rsa2048"; /* and RSA-1024 grows to 2048 */
	cf_errorf(err, CF_E_UNSUPPORTED,
	    "%s: certfleet makes no such key; use request new --key with "
	    "rsa2048, rsa3072, rsa4096, p256 or p384",
	    type);
	return NULL;
}

/* The certificate arg names, its key when keep_key, read in one go. */
static int
load_renewed(struct cf_store *s, const char *arg, int keep_key,
    struct cf_row *row, struct cf_material *m, struct cf_error *err)
{
	char thumb[CF_THUMB_LEN + 1];
	int found, rc = -1;

	memset(row, 0, sizeof(*row));
	memset(m, 0, sizeof(*m));
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (cf_store_resolve(s, arg, thumb, err) == -1 ||
	    (found = cf_store_fetch(s, thumb, row, err)) == -1)
		goto out;
	if (found == 0 || row->table != CF_END) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: a pending request, not a certificate; complete it "
		    "with the CA's answer (request complete)",
		    arg);
		goto out;
	}
	if (keep_key && !row->has_key) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%.8s: the store has no private key for it, so --keep-key "
		    "cannot keep one; renew without --keep-key for a new key",
		    thumb);
		goto out;
	}
	rc = cf_material_load(s, row, keep_key, m, err);
out:
	cf_store_rollback(s);
	return rc;
}

int
cf_op_renew(struct cf_store *s, const char *actor, const char *arg,
    int keep_key, char **pem, char *thumb, struct cf_error *err)
{
	struct cf_request_opts o;
	struct cf_material m;
	struct cf_row row;
	char *first = NULL;
	int rc = -1, reached = 0;

	*pem = NULL;
	if (load_renewed(s, arg, keep_key, &row, &m, err) == -1)
		goto out;
	memset(&o, 0, sizeof(o));
	o.domains = row.f.domains;
	/* The subject is the certificate's own X509_NAME; the string only
	 * names the CN cf_csr_new adds to the SANs, which the certificate's
	 * domains already hold. */
	/* No DNS names (a CA's certificate, say): a placeholder that is no
	 * DNS name, so the request gets no SAN either. */
	first = xstrdup(row.f.domains[0] ? row.f.domains : "certfleet renewal");
	first[strcspn(first, ",")] = '\0';
	o.subject = first;
	o.exportable = row.exportable;
	o.friendly_name = row.friendly_name;
	if (!keep_key && (o.key = kind_of(row.f.key_type, err)) == NULL)
		goto out;
	reached = 1; /* new_request audits from here */
	rc = new_request(s, actor, "renew", &o, m.key,
	    X509_get_subject_name(m.cert), row.f.thumbprint, pem, thumb, err);
out:
	if (rc == -1 && !reached) {
		char *failed = xasprintf("failed: %s", err->msg);
		cf_store_audit(
		    s, actor, "renew", row.f.thumbprint, failed, NULL);
		free(failed);
	}
	free(first);
	cf_material_clear(&m);
	cf_row_clear(&row);
	return rc;
}

/* The pending request one certificate of the answer is for: its index
 * into *at and the request into id; -1 with a clear error when none. */
static int
match_answer(struct cf_store *s, const char *file, struct cf_bundle *b, int *at,
    char id[CF_THUMB_LEN + 1], struct cf_error *err)
{
	char spki[65] = "", thumb[CF_THUMB_LEN + 1],
	     held[CF_THUMB_LEN + 1] = "";
	char *subject = NULL;
	int i, in_end = 0, in_chain = 0, rc = -1;

	id[0] = '\0';
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	for (i = 0; i < sk_X509_num(b->certs) && id[0] == '\0'; i++) {
		X509 *x = sk_X509_value(b->certs, i);
		cf_cert_thumbprint(x, thumb);
		if (cf_store_where(s, thumb, &in_end, &in_chain, err) == -1)
			goto out;
		if (in_end) { /* this very certificate is in the store */
			snprintf(held, sizeof(held), "%s", thumb);
			continue;
		}
		if (cf_key_spki(X509_get0_pubkey(x), spki) == -1) {
			cf_errorf(err, CF_E_PARSE,
			    "%s: certificate %.8s: its public key does not "
			    "decode; give the answer as the CA sent it",
			    file, thumb);
			goto out;
		}
		if (cf_store_request_by_spki(s, spki, id, err) == -1)
			goto out;
		*at = i;
		if (subject == NULL)
			subject = cf_name_new(X509_get_subject_name(x));
	}
	if (id[0] != '\0')
		rc = 0;
	else if (sk_X509_num(b->certs) == 0)
		cf_errorf(err, CF_E_PARSE,
		    "%s: no certificate in it; give the CA's answer (PEM, DER "
		    "or PKCS#7)",
		    file);
	else if (subject == NULL)
		cf_errorf(err, CF_E_CONFLICT,
		    "%s: certificate %.8s is already in the store: the request "
		    "was completed before, or it was imported",
		    file, held);
	else
		cf_errorf(err, CF_E_MISMATCH,
		    "%s: %s (key SHA-256 %.16s…) answers no pending request "
		    "here: it is for a key made elsewhere; complete it on the "
		    "server that made the request (certfleet get shows "
		    "PendingRequest)",
		    file, subject, spki);
out:
	cf_store_rollback(s);
	free(subject);
	return rc;
}

/* Deletes the completed request inside import's transaction. */
static int
drop_request(struct cf_store *s, void *ctx, struct cf_error *err)
{
	struct cf_request *r = NULL;
	size_t n = 0;
	int rc;

	if (cf_store_request_list(s, ctx, 0, &r, &n, err) == -1)
		return -1;
	cf_requests_free(r, n);
	if (n == 0)
		return cf_errorf(err, CF_E_CONFLICT,
		    "request %.8s was completed meanwhile", (const char *)ctx);
	rc = cf_store_request_delete(s, ctx, err);
	return rc;
}

/* The request's key as unencrypted PEM text in secure memory. */
static struct cf_secret *
key_pem(struct cf_store *s, const char *id, struct cf_error *err)
{
	struct cf_secret *p8 = NULL, *pem = NULL;
	const unsigned char *p;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *data;
	long len;

	if (cf_store_begin_read(s, err) == -1)
		return NULL;
	if (cf_store_request_key(s, id, &p8, err) == -1)
		goto out;
	p = (const unsigned char *)p8->data;
	if ((key = d2i_AutoPrivateKey(NULL, &p, (long)p8->len)) == NULL) {
		cf_errorf_ossl(err, CF_E_CRYPTO,
		    "request %.8s: the stored key does not decode", id);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		abort();
	if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	pem = cf_secret_new(data, (size_t)len);
out:
	cf_store_rollback(s);
	BIO_free(bio); /* secure memory: wiped */
	EVP_PKEY_free(key);
	cf_secret_free(p8);
	return pem;
}

int
cf_op_request_complete(struct cf_store *s, const char *actor,
    const struct cf_input *answer, char *thumb, char **detail,
    struct cf_error *err)
{
	struct cf_bundle *b = cf_bundle_new();
	struct cf_request *req = NULL;
	struct cf_import_result *res = NULL;
	struct cf_secret *pem = NULL;
	struct cf_import_opts io;
	struct cf_input in[2];
	char id[CF_THUMB_LEN + 1] = "";
	size_t nreq = 0, nres = 0;
	int at = 0, rc = -1;

	*detail = NULL;
	if (cf_bundle_parse(
		answer->name, answer->data, answer->len, NULL, b, err) == -1 ||
	    match_answer(s, answer->name, b, &at, id, err) == -1)
		goto fail;
	if (cf_store_begin_read(s, err) == -1)
		goto fail;
	rc = cf_store_request_list(s, id, 0, &req, &nreq, err);
	cf_store_rollback(s);
	if (rc == -1 || nreq != 1 || (pem = key_pem(s, id, err)) == NULL) {
		rc = -1;
		goto fail;
	}
	memset(&io, 0, sizeof(io));
	io.actor = actor;
	io.exportable = req->exportable;
	io.friendly_name = req->friendly_name[0] ? req->friendly_name : NULL;
	io.op = "request complete";
	io.before_commit = drop_request;
	io.before_commit_ctx = id;
	in[0] = *answer;
	in[1].name = "the request's key";
	in[1].data = (const unsigned char *)pem->data;
	in[1].len = pem->len;
	if ((rc = cf_op_import(s, in, 2, &io, &res, &nres, err)) == -1)
		goto out;
	cf_cert_thumbprint(sk_X509_value(b->certs, at), thumb);
	if (req->renews[0] != '\0')
		*detail = xasprintf("renews %.8s; services move to the new "
				    "certificate only when you enable it",
		    req->renews);
	goto out;
fail : {
	char *failed = xasprintf("failed: %s", err->msg);
	cf_store_audit(s, actor, "request complete", id, failed, NULL);
	free(failed);
}
out:
	cf_import_results_free(res, nres);
	cf_requests_free(req, nreq);
	cf_secret_free(pem);
	cf_bundle_free(b);
	return rc;
}
