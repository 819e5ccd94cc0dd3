/*
 * test_requests.c - request new, complete and renew on a real store, with
 * a CA made here (testpki's keys, OpenSSL signing the requests): the
 * request is pending in get, the answer completes it with its key and
 * chain, renew keeps or replaces the key, and every refusal leaves the
 * store as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "ops.h"
#include "testpki.h"

static struct cf_store *st;
static struct cf_error err;
static EVP_PKEY *ca_key;
static X509 *ca;

/* The CA's answer to the PEM request: a certificate with its subject,
 * its public key and its SANs, as PEM with the CA after it. */
static char *
sign(const char *pem, int days)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	X509 *x = X509_new();
	X509 *chain[2];
	char *out;
	int i;

	ASN1_INTEGER_set(X509_get_serialNumber(x), rand() & 0x7fffffff);
	X509_set_version(x, 2);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
	X509_sign(x, ca_key, EVP_sha256());
	chain[0] = x;
	chain[1] = ca;
	out = tp_pem(chain, 2, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	X509_free(x);
	BIO_free(b);
	return out;
}

static struct cf_view *
view_of(const char *thumb)
{
	static struct cf_view v;
	struct cf_view *all = NULL;
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	if (cf_op_get(st, thumb, &all, &n, &err) == 0 && n == 1) {
		v = all[0];
		free(all);
		return &v;
	}
	cf_views_free(all, n);
	return NULL;
}

/* Frees the strings of a view view_of lent. */
static void
view_drop(struct cf_view *v)
{
	if (v != NULL)
		cf_view_clear(v);
}

/* Whether thumb is listed at all. */
static int
listed(const char *thumb)
{
	struct cf_view *v = view_of(thumb);
	int yes = v != NULL;

	view_drop(v);
	return yes;
}

static size_t
count(void)
{
	struct cf_view *v = NULL;
	size_t n = 0;

	cf_op_get(st, NULL, &v, &n, &err);
	cf_views_free(v, n);
	return n;
}

static int
complete(const char *name, const char *pem, char *thumb, char **detail)
{
	struct cf_input in = {name, (const unsigned char *)pem, strlen(pem)};

	*detail = NULL;
	cf_error_clear(&err);
	return cf_op_request_complete(st, "test", &in, thumb, detail, &err);
}

/* The SHA-256 SPKI hash of the key in a PEM request. */
static void
req_spki(const char *pem, char out[65])
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);

	out[0] = '\0';
	if (req != NULL)
		cf_key_spki(X509_REQ_get0_pubkey(req), out);
	X509_REQ_free(req);
	BIO_free(b);
}

/* Opens the store called name, st, with the CA imported. */
static void
store_with_ca(const char *name)
{
	char dir[600];
	char *ca_pem = tp_pem(&ca, 1, NULL);
	struct cf_input in = {
	    "ca.pem", (unsigned char *)ca_pem, strlen(ca_pem)};
	struct cf_import_opts io = {0};
	struct cf_import_result *res = NULL;
	size_t nres = 0;

	snprintf(dir, sizeof(dir), "%s/%s", check_tmpdir(), name);
	st = cf_store_open(dir, &err);
	io.actor = "test";
	CHECK(
	    st != NULL && cf_op_import(st, &in, 1, &io, &res, &nres, &err) == 0,
	    "set-up: the CA is in the store");
	cf_import_results_free(res, nres);
	free(ca_pem);
}

static void
store_close(void)
{
	cf_store_free(st);
	st = NULL;
}

/* The request every test starts from: mail.example.com, P-256. */
static void
mail_opts(struct cf_request_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->actor = "test";
	o->subject = "CN=mail.example.com,O=Example Ltd";
	o->domains = "autodiscover.example.com,AUTODISCOVER.example.com";
	o->key = "p256";
	o->exportable = 1;
	o->friendly_name = "mail 2027";
}

/* A new request is pending, listed, exported again; refused ones leave
 * nothing behind. */
static void
test_new(void)
{
	struct cf_request_opts o;
	struct cf_export_opts eo;
	struct cf_buf out = {0};
	struct cf_view *v;
	char req_t[41], again_t[41];
	char *pem = NULL, *rpem = NULL;

	store_with_ca("new");
	mail_opts(&o);
	CHECK(cf_op_request_new(st, &o, &pem, req_t, &err) == 0 && pem &&
		  strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----", 35) == 0,
	    "request new: a PEM PKCS#10");
	v = view_of(req_t);
	CHECK(v && strcmp(v->status, "PendingRequest") == 0 && v->has_key &&
		  v->exportable &&
		  strcmp(v->domains,
		      "mail.example.com,autodiscover.example.com") == 0 &&
		  strcmp(v->key_type, "EC-P256") == 0,
	    "request new: get shows it pending, CN first among the names");
	view_drop(v);

	memset(&eo, 0, sizeof(eo));
	eo.actor = "test";
	eo.format = CF_EXPORT_P12_B64;
	CHECK(pem && cf_op_export(st, req_t, &eo, &out, &err) == 0 &&
		  out.len == strlen(pem) && memcmp(out.data, pem, out.len) == 0,
	    "export: a pending request gives its PKCS#10 again");
	cf_buf_clear(&out);

	o.domains = "mail_1.example.com";
	CHECK(cf_op_request_new(st, &o, &rpem, again_t, &err) == -1 &&
		  err.code == CF_E_USAGE && strstr(err.msg, "mail_1") &&
		  count() == 2,
	    "request new: a bad name is refused before any key is made");
	o.domains = NULL;
	o.key = "dsa1024";
	CHECK(cf_op_request_new(st, &o, &rpem, again_t, &err) == -1 &&
		  err.code == CF_E_USAGE && strstr(err.msg, "rsa2048") &&
		  count() == 2,
	    "request new: an unknown key type names the valid ones");
	free(pem);
	free(rpem);
	store_close();
}

/* An answer signed elsewhere for another key is refused. */
static void
complete_other_key(char *cert_t)
{
	EVP_PKEY *k = tp_key(0);
	X509 *x = tp_cert(
	    "mail.example.com", "mail.example.com", k, ca, ca_key, -1, 30, 0);
	char *other = tp_pem(&x, 1, NULL), *detail = NULL;

	CHECK(complete("other.pem", other, cert_t, &detail) == -1 &&
		  err.code == CF_E_MISMATCH &&
		  strstr(err.msg, "no pending request") && count() == 2,
	    "complete: an answer for another key is refused");
	free(detail);
	free(other);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The CA's answer completes the pending request, once; other answers
 * are refused and leave it pending. */
static void
test_complete(void)
{
	struct cf_request_opts o;
	struct cf_view *v;
	char req_t[41], cert_t[41], again_t[41];
	char *pem = NULL, *answer = NULL, *detail = NULL;

	store_with_ca("complete");
	mail_opts(&o);
	if (cf_op_request_new(st, &o, &pem, req_t, &err) != 0) {
		CHECK(0, "complete: set-up: a pending request");
		goto out;
	}
	complete_other_key(cert_t);
	CHECK(complete("junk.pem", "not a certificate\n", cert_t, &detail) ==
		      -1 &&
		  count() == 2,
	    "complete: garbage is refused");

	answer = sign(pem, 90);
	CHECK(complete("answer.pem", answer, cert_t, &detail) == 0,
	    "complete: the CA's answer completes the request");
	v = view_of(cert_t);
	CHECK(v && strcmp(v->status, "Valid") == 0 && v->has_key &&
		  v->exportable && strcmp(v->friendly_name, "mail 2027") == 0 &&
		  strlen(v->chain) == CF_THUMB_LEN,
	    "complete: Valid, with its key, exportable as asked, the chain");
	view_drop(v);
	CHECK(count() == 2 && !listed(req_t),
	    "complete: the pending request is gone");
	free(detail);
	CHECK(complete("answer.pem", answer, again_t, &detail) == -1 &&
		  err.code == CF_E_CONFLICT && strstr(err.msg, "before"),
	    "complete: twice is refused, saying it was completed");
out:
	free(detail);
	free(answer);
	free(pem);
	store_close();
}

/* Renew and renew --keep-key of the completed certificate (its PEM
 * request in *pem): what they keep, and what they refuse. */
static void
renew_checks(const char *pem, const char *cert_t)
{
	struct cf_export_opts eo;
	struct cf_buf out = {0};
	struct cf_view *v;
	char renew_t[41], keep_t[41], again_t[41], a[65], b[65], c[65];
	char *rpem = NULL, *kpem = NULL, *x_pem = NULL;

	CHECK(cf_op_renew(st, "test", cert_t, 0, &rpem, renew_t, &err) == 0,
	    "renew: a new request");
	CHECK(cf_op_renew(st, "test", cert_t, 1, &kpem, keep_t, &err) == 0,
	    "renew --keep-key: a request with the same key");
	req_spki(pem, a);
	req_spki(rpem, b);
	req_spki(kpem, c);
	CHECK(a[0] && strcmp(a, b) != 0, "renew: a new key by default");
	CHECK(a[0] && strcmp(a, c) == 0, "renew --keep-key: the same key");
	v = view_of(renew_t);
	CHECK(
	    v && strcmp(v->subject, "CN=mail.example.com,O=Example Ltd") == 0 &&
		strcmp(v->domains,
		    "mail.example.com,autodiscover.example.com") == 0 &&
		strcmp(v->key_type, "EC-P256") == 0 && v->exportable,
	    "renew: subject, names, key type and flags kept");
	view_drop(v);
	CHECK(cf_op_renew(st, "test", cert_t, 1, &x_pem, again_t, &err) == -1 &&
		  err.code == CF_E_CONFLICT,
	    "renew --keep-key twice: a request for the key is pending");
	CHECK(
	    cf_op_renew(st, "test", renew_t, 0, &x_pem, again_t, &err) == -1 &&
		err.code == CF_E_NOTFOUND,
	    "renew: a pending request cannot be renewed");
	CHECK(cf_op_remove(st, "test", keep_t, 0, NULL, &err) == 0 &&
		  !listed(keep_t),
	    "remove: a pending request goes");
	memset(&eo, 0, sizeof(eo));
	eo.actor = "test";
	eo.format = CF_EXPORT_P12_B64;
	CHECK(cf_op_export(st, keep_t, &eo, &out, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "export: a removed request is not found");
	cf_buf_clear(&out);
	free(rpem);
	free(kpem);
	free(x_pem);
}

static void
test_renew(void)
{
	struct cf_request_opts o;
	char req_t[41], cert_t[41];
	char *pem = NULL, *answer = NULL, *detail = NULL;

	store_with_ca("renew");
	mail_opts(&o);
	if (cf_op_request_new(st, &o, &pem, req_t, &err) != 0 ||
	    (answer = sign(pem, 90)) == NULL ||
	    complete("answer.pem", answer, cert_t, &detail) != 0) {
		CHECK(0, "renew: set-up: a completed request");
		goto out;
	}
	renew_checks(pem, cert_t);
out:
	free(detail);
	free(answer);
	free(pem);
	store_close();
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	ca_key = tp_key(0);
	ca = tp_cert("Requests CA", NULL, ca_key, NULL, NULL, -1, 3650, 1);
	if (check_test("new"))
		test_new();
	if (check_test("complete"))
		test_complete();
	if (check_test("renew"))
		test_renew();
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return check_done();
}
