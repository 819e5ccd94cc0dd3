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

/*
 * Three agents: A holds the certificate (its key not exportable) and
 * takes B and C as peers; B takes A; C has transfers off.
 */
struct world {
	struct agent a, b, c;
	const char *a_peers[2], *b_peers[1];
	struct cf_transfer ta, tb, tc;
	char leaf_t[41];
};

static void
world_make(struct world *w, X509 *leaf, const char *pem)
{
	struct cf_input in = {
	    "leaf.pem", (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts io = {0};
	struct cf_import_result *res = NULL;
	size_t nres = 0;

	agent_make(&w->a, "a");
	agent_make(&w->b, "b");
	agent_make(&w->c, "c");
	w->a_peers[0] = w->b.fp;
	w->a_peers[1] = w->c.fp;
	w->b_peers[0] = w->a.fp;
	w->ta = (struct cf_transfer){w->a.key, w->a.cert, w->a_peers, 2};
	w->tb = (struct cf_transfer){w->b.key, w->b.cert, w->b_peers, 1};
	w->tc = (struct cf_transfer){w->c.key, w->c.cert, w->b_peers, 0};
	cf_cert_thumbprint(leaf, w->leaf_t);
	io.actor = "test";
	CHECK(cf_op_import(w->a.store, &in, 1, &io, &res, &nres, &err) == 0,
	    "set-up: A holds the certificate, its key not exportable");
	cf_import_results_free(res, nres);
}

static void
world_free(struct world *w)
{
	agent_free(&w->a);
	agent_free(&w->b);
	agent_free(&w->c);
}

/* A seals for a peer only, with transfers on, and nothing shows. */
static void
test_seal(const struct world *w)
{
	const char *to_b[1] = {w->b.pem}, *to_admin[1] = {w->c.pem};
	const char *only_b_peers[1] = {w->b.fp};
	struct cf_transfer off = {w->a.key, w->a.cert, w->a_peers, 0};
	struct cf_transfer only_b = {w->a.key, w->a.cert, only_b_peers, 1};
	struct cf_buf sealed = {0};
	char thumb[41];

	CHECK(cf_op_export_sealed(w->a.store, &off, "test", w->leaf_t, to_b, 1,
		  thumb, &sealed, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "off"),
	    "seal: refused while transfers are off on A");
	CHECK(cf_op_export_sealed(w->a.store, &only_b, "test", w->leaf_t,
		  to_admin, 1, thumb, &sealed, &err) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "not a transfer peer"),
	    "seal: refused for a certificate that is not a peer (the "
	    "admin's, say)");
	CHECK(cf_op_export_sealed(w->a.store, &w->ta, "test", w->leaf_t, to_b,
		  1, thumb, &sealed, &err) == 0 &&
		  strcmp(thumb, w->leaf_t) == 0 && sealed.len > 0,
	    "seal: A seals its key for B");
	CHECK(memmem(sealed.data, sealed.len, "PRIVATE KEY", 11) == NULL &&
		  memmem(sealed.data, sealed.len, "certfleet-transfer", 18) ==
		      NULL,
	    "seal: nothing of the payload shows in the sealed bytes");
	OPENSSL_cleanse(sealed.data, sealed.len);
	cf_buf_clear(&sealed);
}

/* What A sealed for B is refused anywhere else, from anyone else, and
 * damaged; B is unchanged by the refusals. */
static void
open_refusals(struct world *w, struct cf_buf *sealed)
{
	const char *other[1] = {w->c.fp};
	struct cf_transfer b_trusts_c = {w->b.key, w->b.cert, other, 1};
	struct cf_transfer tc = w->tc;
	struct cf_import_opts io = {.actor = "test"};
	struct cf_import_result *res = NULL;
	struct cf_view *v = NULL;
	size_t nres = 0;

	CHECK(cf_op_import_sealed(w->c.store, &tc, &io, sealed->data,
		  sealed->len, &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "open: refused where transfers are off");
	tc.npeers = 1; /* c trusts a, but the message is not for c */
	CHECK(cf_op_import_sealed(w->c.store, &tc, &io, sealed->data,
		  sealed->len, &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "not for this"),
	    "open: a transfer sealed for B does not open on C");
	CHECK(cf_op_import_sealed(w->b.store, &b_trusts_c, &io, sealed->data,
		  sealed->len, &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "not a transfer peer"),
	    "open: B refuses what a non-peer signed");
	sealed->data[sealed->len / 2] ^= 0x55;
	CHECK(cf_op_import_sealed(w->b.store, &w->tb, &io, sealed->data,
		  sealed->len, &res, &nres, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "open: damaged bytes are refused");
	sealed->data[sealed->len / 2] ^= 0x55;
	CHECK(!lookup(w->b.store, w->leaf_t, &v),
	    "open: B unchanged by refusals");
	cf_views_free(v, v != NULL);
}

/* One test, refusals then the import: "B unchanged by refusals" holds
 * only before B imports. */
static void
test_open(struct world *w)
{
	const char *to_b[1] = {w->b.pem};
	struct cf_import_opts io = {.actor = "test"};
	struct cf_import_result *res = NULL;
	struct cf_buf sealed = {0};
	struct cf_view *v = NULL;
	size_t nres = 0;
	char thumb[41];

	if (cf_op_export_sealed(w->a.store, &w->ta, "test", w->leaf_t, to_b, 1,
		thumb, &sealed, &err) != 0) {
		CHECK(0, "open: set-up: A seals its key for B");
		return;
	}
	open_refusals(w, &sealed);
	CHECK(cf_op_import_sealed(w->b.store, &w->tb, &io, sealed.data,
		  sealed.len, &res, &nres, &err) == 0 &&
		  nres >= 1,
	    "open: B imports what A sealed for it");
	cf_import_results_free(res, nres);
	CHECK(lookup(w->b.store, w->leaf_t, &v) && v->has_key && !v->exportable,
	    "open: on B with its key, still not exportable");
	cf_views_free(v, v != NULL);
	OPENSSL_cleanse(sealed.data, sealed.len);
	cf_buf_clear(&sealed);
}

int
main(int argc, char **argv)
{
	struct world w;
	EVP_PKEY *rk = tp_key(0), *lk = tp_key(0);
	X509 *root =
	    tp_cert("Transfer Root", NULL, rk, NULL, NULL, -1, 3650, 1);
	X509 *leaf = tp_cert(
	    "mail.example.com", "mail.example.com", lk, root, rk, -1, 90, 0);
	X509 *both[2] = {leaf, root};
	char *pem = tp_pem(both, 2, lk);

	check_init(argc, argv);
	world_make(&w, leaf, pem);
	if (check_test("seal"))
		test_seal(&w);
	if (check_test("open"))
		test_open(&w);
	world_free(&w);
	free(pem);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
	return check_done();
}
