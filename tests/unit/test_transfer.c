/*
 * test_transfer.c - sealed agent-to-agent transfers between two real
 * stores: a key that is not exportable goes from A to B sealed for B's
 * identity and signed by A's, and arrives not exportable; every way of
 * getting it to someone else is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cert.h"
#include "check.h"
#include "identity.h"
#include "ops.h"
#include "testpki.h"
#include "transfer.h"

static struct cf_error err;

/* An agent: an identity (P-256, self-signed) and its fingerprint. */
struct agent {
	EVP_PKEY *key;
	X509 *cert;
	char fp[CF_FP_LEN + 1];
	char *pem;
	struct cf_store *store;
};

static void
agent_make(struct agent *a, const char *name)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/%s", check_tmpdir(), name);
	a->key = cf_key_generate("p256", &err);
	a->cert = cf_selfsigned_new(a->key, name, NULL, 30, 0, &err);
	cf_cert_fingerprint(a->cert, a->fp);
	a->pem = tp_pem(&a->cert, 1, NULL);
	a->store = cf_store_open(dir, &err);
}

static void
agent_free(struct agent *a)
{
	cf_store_free(a->store);
	EVP_PKEY_free(a->key);
	X509_free(a->cert);
	free(a->pem);
}

/* The view of thumb in s, into *v (cf_views_free); 1 when found. */
static int
lookup(struct cf_store *s, const char *thumb, struct cf_view **v)
{
	size_t n = 0;

	*v = NULL;
	if (cf_op_get(s, thumb, v, &n, &err) == 0 && n == 1)
		return 1;
	cf_views_free(*v, n);
	*v = NULL;
	return 0;
}

int
main(void)
{
	struct agent a, b, c;
	EVP_PKEY *rk = tp_key(0), *lk = tp_key(0);
	X509 *root =
	    tp_cert("Transfer Root", NULL, rk, NULL, NULL, -1, 3650, 1);
	X509 *leaf = tp_cert(
	    "mail.example.com", "mail.example.com", lk, root, rk, -1, 90, 0);
	X509 *both[2] = {leaf, root};
	char *pem = tp_pem(both, 2, lk), thumb[41], leaf_t[41];
	struct cf_input in = {"leaf.pem", (unsigned char *)pem, strlen(pem)};
	struct cf_import_opts io = {0};
	struct cf_import_result *res = NULL;
	struct cf_buf sealed = {0};
	struct cf_view *v = NULL;
	size_t nres = 0;
	const char *a_peers[] = {NULL, NULL}, *b_peers[] = {NULL};
	struct cf_transfer ta, tb, tc, off;
	const char *to_b[1];

	agent_make(&a, "a");
	agent_make(&b, "b");
	agent_make(&c, "c");
	a_peers[0] = b.fp;
	a_peers[1] = c.fp;
	b_peers[0] = a.fp;
	ta = (struct cf_transfer){a.key, a.cert, a_peers, 2};
	tb = (struct cf_transfer){b.key, b.cert, b_peers, 1};
	tc = (struct cf_transfer){c.key, c.cert, b_peers, 0}; /* c: off */
	off = (struct cf_transfer){a.key, a.cert, a_peers, 0};
	to_b[0] = b.pem;
	cf_cert_thumbprint(leaf, leaf_t);
	io.actor = "test";
	CHECK(cf_op_import(a.store, &in, 1, &io, &res, &nres, &err) == 0,
	    "set-up: A holds the certificate, its key not exportable");
	cf_import_results_free(res, nres);

	CHECK(cf_op_export_sealed(a.store, &off, "test", leaf_t, to_b, 1, thumb,
		  &sealed, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "off"),
	    "seal: refused while transfers are off on A");
	{
		const char *to_admin[1] = {c.pem};
		struct cf_transfer only_b = {a.key, a.cert, b_peers, 1};
		b_peers[0] = b.fp;
		CHECK(cf_op_export_sealed(a.store, &only_b, "test", leaf_t,
			  to_admin, 1, thumb, &sealed, &err) == -1 &&
			  err.code == CF_E_DENIED &&
			  strstr(err.msg, "not a transfer peer"),
		    "seal: refused for a certificate that is not a peer (the "
		    "admin's, say)");
		b_peers[0] = a.fp;
	}
	CHECK(cf_op_export_sealed(a.store, &ta, "test", leaf_t, to_b, 1, thumb,
		  &sealed, &err) == 0 &&
		  strcmp(thumb, leaf_t) == 0 && sealed.len > 0,
	    "seal: A seals its key for B");
	CHECK(memmem(sealed.data, sealed.len, "PRIVATE KEY", 11) == NULL &&
		  memmem(sealed.data, sealed.len, "certfleet-transfer", 18) ==
		      NULL,
	    "seal: nothing of the payload shows in the sealed bytes");

	CHECK(cf_op_import_sealed(c.store, &tc, &io, sealed.data, sealed.len,
		  &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "open: refused where transfers are off");
	tc.npeers = 1; /* c trusts a, but the message is not for c */
	CHECK(cf_op_import_sealed(c.store, &tc, &io, sealed.data, sealed.len,
		  &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "not for this"),
	    "open: a transfer sealed for B does not open on C");
	{
		const char *other[1] = {c.fp};
		struct cf_transfer b_trusts_c = {b.key, b.cert, other, 1};
		CHECK(cf_op_import_sealed(b.store, &b_trusts_c, &io,
			  sealed.data, sealed.len, &res, &nres, &err) == -1 &&
			  err.code == CF_E_DENIED &&
			  strstr(err.msg, "not a transfer peer"),
		    "open: B refuses what a non-peer signed");
	}
	sealed.data[sealed.len / 2] ^= 0x55;
	CHECK(cf_op_import_sealed(b.store, &tb, &io, sealed.data, sealed.len,
		  &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "open: damaged bytes are refused");
	sealed.data[sealed.len / 2] ^= 0x55;
	CHECK(!lookup(b.store, leaf_t, &v), "open: B unchanged by refusals");

	CHECK(cf_op_import_sealed(b.store, &tb, &io, sealed.data, sealed.len,
		  &res, &nres, &err) == 0 &&
		  nres >= 1,
	    "open: B imports what A sealed for it");
	cf_import_results_free(res, nres);
	CHECK(lookup(b.store, leaf_t, &v) && v->has_key && !v->exportable,
	    "open: on B with its key, still not exportable");
	cf_views_free(v, 1);

	OPENSSL_cleanse(sealed.data, sealed.len);
	cf_buf_clear(&sealed);
	agent_free(&a);
	agent_free(&b);
	agent_free(&c);
	free(pem);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
	return check_done();
}
