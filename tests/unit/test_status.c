/*
 * test_status.c - status.c on real stores filled by cf_op_import: Valid,
 * Untrusted, DateInvalid, Invalid; roots trusted through SSL_CERT_FILE;
 * expired intermediates; the chain walk (issuer first, cycles); issuers
 * that arrive after their certificates.
 *
 * SSL_CERT_FILE is set before the first get, to a file holding only the
 * test root "Sys Root", so the host's own roots never decide a result.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "cert.h"
#include "check.h"
#include "ops.h"
#include "status.h"
#include "testpki.h"

#define DAY 86400

static struct cf_error err;
static char roots_file[600], empty_file[600];

static struct cf_store *
open_store(const char *name)
{
	char dir[600];
	struct cf_store *s;

	snprintf(dir, sizeof(dir), "%s/%s", check_tmpdir(), name);
	if ((s = cf_store_open(dir, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, err.msg);
		exit(2);
	}
	return s;
}

/* Imports the n certificates as one PEM file; 0 or -1. */
static int
import(struct cf_store *s, X509 *const *certs, int n)
{
	char *pem = tp_pem(certs, n, NULL);
	struct cf_input in = {
	    "test.pem", (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;
	struct cf_import_result *res = NULL;
	size_t nres = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	o.actor = "test";
	cf_error_clear(&err);
	rc = cf_op_import(s, &in, 1, &o, &res, &nres, &err);
	if (rc == -1)
		fprintf(stderr, "import: %s\n", err.msg);
	cf_import_results_free(res, nres);
	free(pem);
	return rc;
}

static int
import1(struct cf_store *s, X509 *x)
{
	return import(s, &x, 1);
}

static void
thumb(X509 *x, char out[CF_THUMB_LEN + 1])
{
	cf_cert_thumbprint(x, out);
}

/*
 * Status of x by cf_op_get (into a static buffer, "" when not listed)
 * and its Chain into *chain (new, NULL when not listed).  Called once
 * per check: CHECK_STR evaluates its arguments more than once.
 */
static const char *
status(struct cf_store *s, X509 *x, char **chain)
{
	static char buf[32];
	char t[CF_THUMB_LEN + 1];
	struct cf_view *v = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (chain != NULL)
		*chain = NULL;
	thumb(x, t);
	if (cf_op_get(s, t, &v, &n, &err) == 0 && n == 1) {
		snprintf(buf, sizeof(buf), "%s", v[0].status);
		if (chain != NULL)
			*chain = xstrdup(v[0].chain);
	}
	cf_views_free(v, n);
	return buf;
}

/*
 * Whether a whole listing (one status context over every row, most
 * under the same issuer) says of each certificate what a get of it
 * alone says; n rows at least, with more than one status among them.
 */
static int
listing_agrees(struct cf_store *s, size_t n)
{
	struct cf_view *all = NULL, *one = NULL;
	size_t nall = 0, none = 0, i;
	int ok, mixed = 0;

	ok = cf_op_get(s, NULL, &all, &nall, &err) == 0 && nall >= n;
	for (i = 0; ok && i < nall; i++) {
		ok = cf_op_get(s, all[i].thumbprint, &one, &none, &err) == 0 &&
		     none == 1 && strcmp(one[0].status, all[i].status) == 0 &&
		     strcmp(one[0].chain, all[i].chain) == 0;
		mixed |= strcmp(all[i].status, all[0].status) != 0;
		cf_views_free(one, none);
		one = NULL;
		none = 0;
	}
	cf_views_free(all, nall);
	return ok && mixed;
}

/* The thumbprints of a and b (b may be NULL) joined with a comma. */
static char *
chain_of(X509 *a, X509 *b)
{
	char ta[41], tb[41];

	thumb(a, ta);
	if (b == NULL)
		return xstrdup(ta);
	thumb(b, tb);
	return xasprintf("%s,%s", ta, tb);
}

static int
count(struct cf_store *s, enum cf_table t)
{
	struct cf_row *rows = NULL;
	size_t n = 0;

	if (cf_store_list(s, t, NULL, 0, &rows, &n, &err) == -1)
		return -1;
	cf_rows_free(rows, n);
	return (int)n;
}

/* A copy of x whose signature (the DER's last byte) is corrupted. */
static X509 *
corrupt(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_X509(x, &der);
	X509 *y;

	der[n - 1] ^= 0x01;
	p = der;
	y = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	return y;
}

/* Root, intermediate and leaf of one PKI; dates in days from now. */
struct pki {
	EVP_PKEY *rk, *ik, *lk;
	X509 *root, *inter, *leaf;
};

static void
pki_new(struct pki *p, const char *name, int inter_from, int inter_to)
{
	char cn[128], dns[128];

	p->rk = tp_key(0);
	p->ik = tp_key(0);
	p->lk = tp_key(0);
	snprintf(cn, sizeof(cn), "%s Root", name);
	p->root = tp_cert(cn, NULL, p->rk, NULL, NULL, -1, 3650, 1);
	snprintf(cn, sizeof(cn), "%s Intermediate", name);
	p->inter =
	    tp_cert(cn, NULL, p->ik, p->root, p->rk, inter_from, inter_to, 1);
	snprintf(dns, sizeof(dns), "www.%s.example", name);
	p->leaf = tp_cert(dns, dns, p->lk, p->inter, p->ik, -1, 90, 0);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
	EVP_PKEY_free(p->rk);
	EVP_PKEY_free(p->ik);
	EVP_PKEY_free(p->lk);
}

static void
write_pem(const char *path, X509 *x)
{
	char *pem = x ? tp_pem(&x, 1, NULL) : NULL;
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	if (pem != NULL)
		fputs(pem, fp);
	fclose(fp);
	free(pem);
}

/* Valid, DateInvalid, Invalid and Untrusted side by side in one store. */
static void
test_basic(void)
{
	struct cf_store *s = open_store("basic");
	struct pki p, q;
	EVP_PKEY *other = tp_key(0);
	X509 *expired, *future, *forged, *server, *bad_self, *pair[2];
	char *chain = NULL, *want;
	const char *st;

	pki_new(&p, "Basic", -1, 1825);
	pki_new(&q, "Stranger", -1, 1825);
	expired = tp_cert(
	    "old.basic.example", NULL, other, p.inter, p.ik, -400, -10, 0);
	future = tp_cert(
	    "new.basic.example", NULL, other, p.inter, p.ik, 10, 100, 0);
	forged = tp_cert("forged.basic.example", NULL, other, p.inter, other,
	    -1, 90, 0); /* names the intermediate, signed by other */
	server = tp_cert("self.basic.example", "self.basic.example", other,
	    NULL, NULL, -1, 90, 0);
	bad_self = corrupt(server);

	CHECK(import1(s, p.root) == 0, "basic: root imported");
	pair[0] = p.inter;
	pair[1] = p.leaf;
	CHECK(import(s, pair, 2) == 0, "basic: intermediate and leaf imported");
	st = status(s, p.leaf, &chain);
	CHECK_STR(st, "Valid", "Valid: leaf under a root the store holds");
	want = chain_of(p.inter, p.root);
	CHECK_STR(
	    chain, want, "Valid: Chain is intermediate, root (issuer first)");
	free(want);
	free(chain);
	CHECK_STR(
	    status(s, p.root, NULL), "Valid", "Valid: the store's own root");

	CHECK(import1(s, expired) == 0 && import1(s, future) == 0,
	    "basic: dated leaves imported");
	CHECK_STR(
	    status(s, expired, NULL), "DateInvalid", "DateInvalid: expired");
	CHECK_STR(status(s, future, NULL), "DateInvalid",
	    "DateInvalid: not yet valid");

	CHECK(import1(s, forged) == 0, "basic: forged imported");
	CHECK_STR(status(s, forged, NULL), "Invalid",
	    "Invalid: its named issuer did not sign it");
	CHECK(import1(s, server) == 0 && bad_self != NULL &&
		  import1(s, bad_self) == 0,
	    "basic: self-signed and corrupted self-signed imported");
	CHECK_STR(status(s, server, NULL), "Valid",
	    "Valid: a self-signed server certificate the store holds");
	CHECK_STR(status(s, bad_self, NULL), "Invalid",
	    "Invalid: a self-signature that does not verify");

	pair[0] = q.inter;
	pair[1] = q.leaf;
	CHECK(import(s, pair, 2) == 0, "basic: a stranger's chain imported");
	st = status(s, q.leaf, &chain);
	CHECK_STR(st, "Untrusted",
	    "Untrusted: root neither stored nor in SSL_CERT_FILE");
	want = chain_of(q.inter, NULL);
	CHECK_STR(chain, want, "Untrusted: Chain ends at the intermediate");
	free(want);
	free(chain);
	CHECK(listing_agrees(s, 8),
	    "listing: each row's Status and Chain as a get of it alone");

	X509_free(expired);
	X509_free(future);
	X509_free(forged);
	X509_free(server);
	X509_free(bad_self);
	EVP_PKEY_free(other);
	pki_free(&p);
	pki_free(&q);
	cf_store_free(s);
}

/* cf_status_of at another time than now, through a context. */
static void
test_status_at(void)
{
	struct cf_store *s = open_store("at");
	struct cf_status_ctx *c;
	struct cf_row *ends;
	struct pki p;
	char t[41], *chain = NULL;
	const char *st[3] = {"", "", ""};
	size_t n = 0, i;
	time_t now = time(NULL);
	X509 *all[3];

	pki_new(&p, "At", -1, 1825);
	all[0] = p.root;
	all[1] = p.inter;
	all[2] = p.leaf;
	CHECK(import1(s, p.root) == 0 && import(s, all + 1, 2) == 0,
	    "at: imported");
	thumb(p.leaf, t);
	CHECK(cf_store_begin(s, &err) == 0, "at: read transaction");
	c = cf_status_ctx_new(s, &err);
	CHECK(c != NULL, "at: context");
	ends = c ? cf_status_ctx_ends(c, &n) : NULL;
	for (i = 0; i < n; i++)
		if (strcmp(ends[i].f.thumbprint, t) == 0) {
			st[0] = cf_status_of(c, &ends[i], now, &chain);
			free(chain);
			st[1] =
			    cf_status_of(c, &ends[i], now + 200 * DAY, &chain);
			free(chain);
			st[2] =
			    cf_status_of(c, &ends[i], now - 10 * DAY, &chain);
			free(chain);
		}
	CHECK(n == 2, "at: the context lists root and leaf as ends");
	CHECK_STR(st[0], "Valid", "at: Valid now");
	CHECK_STR(st[1], "DateInvalid", "at: DateInvalid after not_after");
	CHECK_STR(st[2], "DateInvalid", "at: DateInvalid before not_before");
	cf_status_ctx_free(c);
	cf_store_rollback(s);
	pki_free(&p);
	cf_store_free(s);
}

/*
 * A root trusted only through SSL_CERT_FILE.  "leaf+inter": the store
 * holds only those two; "full": the root came in the bundle too, as a
 * chain certificate, which alone does not make it trusted.
 */
static void
test_system_roots(struct pki *sys)
{
	struct cf_store *s = open_store("sys"), *s2 = open_store("sys-full");
	X509 *pair[2] = {sys->inter, sys->leaf};
	X509 *three[3] = {sys->root, sys->inter, sys->leaf};
	char *chain = NULL, *want;
	const char *st;

	CHECK(import(s, pair, 2) == 0, "sys: intermediate and leaf imported");
	CHECK(count(s, CF_END) == 1 && count(s, CF_CHAIN) == 1,
	    "sys: the store holds only leaf and intermediate");
	st = status(s, sys->leaf, &chain);
	CHECK_STR(st, "Valid", "sys: Valid with the root in SSL_CERT_FILE");
	want = chain_of(sys->inter, NULL);
	CHECK_STR(chain, want, "sys: Chain is the intermediate alone");
	free(want);
	free(chain);
	CHECK(import(s2, three, 3) == 0, "sys: full chain imported elsewhere");
	CHECK_STR(status(s2, sys->leaf, NULL), "Valid",
	    "sys: Valid with a stored chain root that SSL_CERT_FILE holds");

	setenv("SSL_CERT_FILE", empty_file, 1);
	CHECK_STR(status(s, sys->leaf, NULL), "Untrusted",
	    "sys: Untrusted when SSL_CERT_FILE is empty");
	CHECK_STR(status(s2, sys->leaf, NULL), "Untrusted",
	    "sys: a chain root in the store alone is not trusted");
	setenv("SSL_CERT_FILE", roots_file, 1);
	CHECK_STR(status(s, sys->leaf, NULL), "Valid",
	    "sys: Valid again with the root file back");
	cf_store_free(s);
	cf_store_free(s2);
}

static void
test_expired_intermediate(void)
{
	struct cf_store *s = open_store("expired-inter");
	struct pki p;
	X509 *pair[2];

	pki_new(&p, "Lapsed", -400, -10);
	pair[0] = p.inter;
	pair[1] = p.leaf;
	CHECK(import1(s, p.root) == 0 && import(s, pair, 2) == 0,
	    "expired intermediate: imported");
	CHECK_STR(status(s, p.leaf, NULL), "Untrusted",
	    "expired intermediate: the leaf is Untrusted");
	CHECK(strcmp(status(s, p.leaf, NULL), "DateInvalid") != 0,
	    "expired intermediate: not DateInvalid (the leaf's own dates "
	    "hold)");
	pki_free(&p);
	cf_store_free(s);
}

/* The stored row of end certificate x (with cf_row_clear to free). */
static int
end_row(struct cf_store *s, X509 *x, struct cf_row *out)
{
	struct cf_row *rows = NULL;
	char t[41];
	size_t n = 0;

	thumb(x, t);
	memset(out, 0, sizeof(*out));
	if (cf_store_list(s, CF_END, t, 0, &rows, &n, &err) == -1 || n != 1) {
		cf_rows_free(rows, n);
		return -1;
	}
	*out = rows[0];
	free(rows);
	return 0;
}

static void
test_chain_walk(void)
{
	struct cf_store *s = open_store("chain");
	struct cf_row leaf, root, *rows = NULL;
	struct pki p;
	char ti[41], tr[41];
	size_t n = 0;
	X509 *pair[2];

	pki_new(&p, "Walk", -1, 1825);
	pair[0] = p.inter;
	pair[1] = p.leaf;
	CHECK(import1(s, p.root) == 0 && import(s, pair, 2) == 0,
	    "chain: imported");
	thumb(p.inter, ti);
	thumb(p.root, tr);
	CHECK(end_row(s, p.leaf, &leaf) == 0 &&
		  cf_status_chain(s, &leaf, &rows, &n, &err) == 0 && n == 2,
	    "chain: leaf has two issuers");
	CHECK(n == 2 && strcmp(rows[0].f.thumbprint, ti) == 0 &&
		  strcmp(rows[1].f.thumbprint, tr) == 0,
	    "chain: issuer first, root last");
	CHECK(n == 2 && rows[0].der != NULL && rows[0].der_len > 0 &&
		  rows[1].der != NULL,
	    "chain: rows carry their DER");
	cf_rows_free(rows, n);
	rows = NULL;
	CHECK(end_row(s, p.root, &root) == 0 &&
		  cf_status_chain(s, &root, &rows, &n, &err) == 0 && n == 0 &&
		  rows == NULL,
	    "chain: a self-signed root has no chain");
	cf_row_clear(&leaf);
	cf_row_clear(&root);
	pki_free(&p);
	cf_store_free(s);
}

/*
 * Three certificates issued in a ring: A by C, B by A, C by B.  A is
 * signed with C's key under C's name before C exists (c0 lends the name).
 */
static void
test_cycle(void)
{
	struct cf_store *s = open_store("cycle");
	EVP_PKEY *ka = tp_key(0), *kb = tp_key(0), *kc = tp_key(0);
	X509 *c0 = tp_cert("Ring C", NULL, kc, NULL, NULL, -1, 365, 1);
	X509 *a = tp_cert("Ring A", NULL, ka, c0, kc, -1, 365, 1);
	X509 *b = tp_cert("Ring B", NULL, kb, a, ka, -1, 365, 1);
	X509 *c = tp_cert("Ring C", NULL, kc, b, kb, -1, 365, 1);
	X509 *ring[3] = {a, b, c};
	struct cf_row row, *rows = NULL;
	struct cf_view *v = NULL;
	size_t n = 0, nv = 0, i;
	int k, ok = 1, bounded = 1;

	alarm(10); /* a hang is a failure, not a stuck test run */
	CHECK(cf_cert_issued_by(a, c) && cf_cert_issued_by(b, a) &&
		  cf_cert_issued_by(c, b),
	    "cycle: A by C, B by A, C by B");
	for (k = 0; k < 3; k++)
		ok &= import1(s, ring[k]) == 0;
	CHECK(ok, "cycle: the three imported one by one");
	for (k = 0; k < 3; k++) {
		char msg[64];
		rows = NULL;
		n = 99;
		snprintf(msg, sizeof(msg),
		    "cycle: chain of %c stops, length <= 2", "ABC"[k]);
		CHECK(end_row(s, ring[k], &row) == 0 &&
			  cf_status_chain(s, &row, &rows, &n, &err) == 0 &&
			  n <= 2,
		    msg);
		snprintf(msg, sizeof(msg), "cycle: chain of %c leaves out %c",
		    "ABC"[k], "ABC"[k]);
		for (i = 0; i < n && n != 99; i++)
			bounded &=
			    strcmp(rows[i].f.thumbprint, row.f.thumbprint) != 0;
		CHECK(bounded, msg);
		cf_rows_free(rows, n == 99 ? 0 : n);
		cf_row_clear(&row);
	}
	CHECK(cf_op_get(s, NULL, &v, &nv, &err) == 0 && nv == 3,
	    "cycle: get lists the three");
	for (i = 0, ok = 1; i < nv; i++)
		ok &= strlen(v[i].chain) <= 2 * CF_THUMB_LEN + 1 &&
		      strcmp(v[i].status, "Valid") != 0;
	CHECK(ok, "cycle: each Chain at most two long, none Valid");
	cf_views_free(v, nv);
	alarm(0);
	X509_free(a);
	X509_free(b);
	X509_free(c);
	X509_free(c0);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(kc);
	cf_store_free(s);
}

/* The leaf first, alone; its intermediate in a later import. */
static void
test_issuer_later(void)
{
	struct cf_store *s = open_store("later");
	struct pki p;
	char *chain = NULL, *want;
	const char *st;

	pki_new(&p, "Later", -1, 1825);
	CHECK(import1(s, p.root) == 0 && import1(s, p.leaf) == 0,
	    "later: root, then the leaf alone");
	st = status(s, p.leaf, &chain);
	CHECK_STR(
	    st, "Untrusted", "later: Untrusted while its issuer is missing");
	CHECK_STR(chain, "", "later: Chain empty while its issuer is missing");
	free(chain);
	CHECK(import1(s, p.inter) == 0, "later: the intermediate imported");
	st = status(s, p.leaf, &chain);
	CHECK_STR(st, "Valid", "later: Valid once the intermediate arrived");
	want = chain_of(p.inter, p.root);
	CHECK_STR(chain, want, "later: Chain gained the intermediate");
	free(want);
	free(chain);
	pki_free(&p);
	cf_store_free(s);
}

/*
 * A forgery imported before the issuer it names: once that issuer is
 * stored, the forgery is a certificate whose signature its named issuer
 * did not make - Invalid, as it is when imported in the other order.
 */
static void
test_forgery_first(void)
{
	struct cf_store *s = open_store("forgery-first");
	EVP_PKEY *other = tp_key(0);
	struct pki p;
	X509 *forged;

	pki_new(&p, "Forged", -1, 1825);
	forged =
	    tp_cert("x.forged.example", NULL, other, p.inter, other, -1, 90, 0);
	CHECK(import1(s, p.root) == 0 && import1(s, forged) == 0,
	    "forgery first: root, then the forgery");
	CHECK(strcmp(status(s, forged, NULL), "Valid") != 0,
	    "forgery first: not Valid without its issuer");
	CHECK(import1(s, p.inter) == 0,
	    "forgery first: the named issuer imported");
	CHECK_STR(status(s, forged, NULL), "Invalid",
	    "forgery first: Invalid once the named issuer is stored");
	X509_free(forged);
	EVP_PKEY_free(other);
	pki_free(&p);
	cf_store_free(s);
}

/* x re-signed by key after adding authorityKeyIdentifier from issuer. */
static void
add_akid(X509 *x, X509 *issuer, EVP_PKEY *key)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(
	    NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (ext != NULL) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, key, EVP_sha256());
}

/*
 * A CA renewed under the same name with a new key.  A leaf of the new CA
 * imported while only the old one is stored is judged against the old
 * one; once the new CA is imported, the leaf must link to it and be Valid.
 */
static void
test_rollover(void)
{
	struct cf_store *s = open_store("rollover");
	EVP_PKEY *rk = tp_key(0), *old_k = tp_key(0), *new_k = tp_key(0),
		 *lk = tp_key(0);
	X509 *root = tp_cert("Roll Root", NULL, rk, NULL, NULL, -1, 3650, 1);
	X509 *old_ca = tp_cert("Roll CA", NULL, old_k, root, rk, -400, 1000, 1);
	X509 *new_ca = tp_cert("Roll CA", NULL, new_k, root, rk, -1, 1825, 1);
	X509 *leaf = tp_cert("www.roll.example", "www.roll.example", lk, new_ca,
	    new_k, -1, 90, 0);
	char *chain = NULL, *want;
	const char *st;

	add_akid(leaf, new_ca, new_k);
	CHECK(cf_cert_issued_by(leaf, new_ca) == 1 &&
		  cf_cert_issued_by(leaf, old_ca) == 0,
	    "rollover: the leaf is the new CA's, not the old one's");
	CHECK(import1(s, root) == 0 && import1(s, old_ca) == 0 &&
		  import1(s, leaf) == 0,
	    "rollover: root, old CA, then the new CA's leaf");
	CHECK(strcmp(status(s, leaf, NULL), "Valid") != 0,
	    "rollover: not Valid while its issuer is missing");
	CHECK(import1(s, new_ca) == 0, "rollover: the new CA imported");
	st = status(s, leaf, &chain);
	CHECK_STR(st, "Valid", "rollover: Valid once the renewed CA is stored");
	want = chain_of(new_ca, root);
	CHECK_STR(chain, want, "rollover: Chain goes through the new CA");
	free(want);
	free(chain);
	X509_free(root);
	X509_free(old_ca);
	X509_free(new_ca);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(old_k);
	EVP_PKEY_free(new_k);
	EVP_PKEY_free(lk);
	cf_store_free(s);
}

/*
 * The trust memo (status_trust.c): a listing keeps the verdict on its
 * chain's top, as of the roots' file; a later read takes it from there
 * rather than from OpenSSL, but only while that file is the same; a
 * self-signed certificate coming or going forgets every verdict.
 */
static void
test_trust_memo(struct pki *sys)
{
	struct cf_store *s = open_store("memo");
	X509 *pair[2] = {sys->inter, sys->leaf};
	char dir[600], inter[CF_THUMB_LEN + 1], sql[200];
	struct timespec later[2] = {{0, UTIME_OMIT}, {0, 0}};
	struct pki own;

	snprintf(dir, sizeof(dir), "%s/memo", check_tmpdir());
	thumb(sys->inter, inter);
	CHECK(import(s, pair, 2) == 0, "memo: intermediate and leaf imported");
	CHECK(cf_status_memo_get(s, inter, NULL) == -1,
	    "memo: nothing kept before a read");
	CHECK_STR(status(s, sys->leaf, NULL), "Valid", "memo: Valid");
	CHECK(cf_status_memo_get(s, inter, NULL) == 1,
	    "memo: the read kept its top's verdict: trusted");
	setenv("SSL_CERT_FILE", empty_file, 1);
	CHECK(cf_status_memo_get(s, inter, NULL) == -1,
	    "memo: not taken as of another roots' file");
	setenv("SSL_CERT_FILE", roots_file, 1);

	/* Taken from the memo: a verdict changed there is what a read
	 * says (nothing else could make this Valid leaf Untrusted). */
	snprintf(sql, sizeof(sql),
	    "UPDATE trust_memo SET trusted = 0 WHERE thumbprint = '%s'", inter);
	CHECK(
	    check_sql(dir, sql) == 0 && cf_status_memo_get(s, inter, NULL) == 0,
	    "memo: a verdict changed outside certfleet");
	CHECK_STR(status(s, sys->leaf, NULL), "Untrusted",
	    "memo: a read takes the kept verdict, not OpenSSL's");

	/* The roots' file changed (its time): the memo no longer holds. */
	later[1].tv_sec = time(NULL) + 60;
	CHECK(utimensat(AT_FDCWD, roots_file, later, 0) == 0 &&
		  cf_status_memo_get(s, inter, NULL) == -1,
	    "memo: a changed roots' file drops the verdict");
	CHECK_STR(status(s, sys->leaf, NULL), "Valid",
	    "memo: worked out again with OpenSSL, Valid");
	CHECK(cf_status_memo_get(s, inter, NULL) == 1,
	    "memo: and kept again as of the file now");

	/* A self-signed certificate of the store's own is a trust anchor:
	 * its import forgets every verdict. */
	pki_new(&own, "Own", -1, 365);
	CHECK(check_sql(dir, "SELECT count(*) FROM trust_memo") == 1 &&
		  import1(s, own.root) == 0 &&
		  check_sql(dir, "SELECT count(*) FROM trust_memo") == 0,
	    "memo: a self-signed import forgets the verdicts");
	CHECK(import1(s, own.leaf) == 0 &&
		  check_sql(dir, "SELECT count(*) FROM trust_memo") == 0,
	    "memo: (an import of a leaf alone leaves it empty)");
	pki_free(&own);
	cf_store_free(s);
}

/* Another process writing: a read neither waits for it nor fails; the
 * memo is kept by a later read. */
static void
test_trust_memo_busy(struct pki *sys)
{
	struct cf_store *s = open_store("memo-busy");
	X509 *pair[2] = {sys->inter, sys->leaf};
	char path[700], inter[CF_THUMB_LEN + 1];
	sqlite3 *other = NULL;
	time_t t0;

	thumb(sys->inter, inter);
	CHECK(import(s, pair, 2) == 0, "memo busy: imported");
	snprintf(path, sizeof(path), "%s/memo-busy/store.db", check_tmpdir());
	CHECK(sqlite3_open(path, &other) == SQLITE_OK &&
		  sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
		      SQLITE_OK,
	    "memo busy: another connection holds the write lock");
	t0 = time(NULL);
	CHECK_STR(status(s, sys->leaf, NULL), "Valid",
	    "memo busy: the read says Valid all the same");
	CHECK(time(NULL) - t0 < 5 && cf_status_memo_get(s, inter, NULL) == -1,
	    "memo busy: without waiting, and nothing kept");
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	CHECK_STR(status(s, sys->leaf, NULL), "Valid", "memo busy: read again");
	CHECK(cf_status_memo_get(s, inter, NULL) == 1,
	    "memo busy: the writer gone, the next read keeps it");
	cf_store_free(s);
}

int
main(int argc, char **argv)
{
	struct pki sys;

	check_init(argc, argv);
	pki_new(&sys, "Sys", -1, 1825);
	snprintf(
	    roots_file, sizeof(roots_file), "%s/roots.pem", check_tmpdir());
	snprintf(
	    empty_file, sizeof(empty_file), "%s/empty.pem", check_tmpdir());
	write_pem(roots_file, sys.root);
	write_pem(empty_file, NULL);
	setenv("SSL_CERT_FILE", roots_file, 1); /* before the first get */

	if (check_test("basic"))
		test_basic();
	if (check_test("status_at"))
		test_status_at();
	if (check_test("system_roots"))
		test_system_roots(&sys);
	if (check_test("trust_memo"))
		test_trust_memo(&sys);
	if (check_test("trust_memo_busy"))
		test_trust_memo_busy(&sys);
	if (check_test("expired_intermediate"))
		test_expired_intermediate();
	if (check_test("chain_walk"))
		test_chain_walk();
	if (check_test("cycle"))
		test_cycle();
	if (check_test("issuer_later"))
		test_issuer_later();
	if (check_test("forgery_first"))
		test_forgery_first();
	if (check_test("rollover"))
		test_rollover();
	pki_free(&sys);
	return check_done();
}
