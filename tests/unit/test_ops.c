/*
 * test_ops.c - the operations end to end on a real store: import (chains,
 * keys, re-import), Status, export refusal, services, remove, replace,
 * and the audit trail of every service change and copy.  Deployments are
 * test_rollout.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "check.h"
#include "deploy.h"
#include "ops.h"
#include "opstest.h"
#include "testpki.h"

/*
 * Every service change is audited on the store where it happened, by
 * one path whichever operation made it: import --services (also when the
 * certificate was already present), and a refused change as a failed
 * enable.  leaf (key lk) is stored
 * with its chain; expired (key other) is out of its dates.
 */
static void
services_audited(X509 *leaf, EVP_PKEY *lk, X509 *expired, EVP_PKEY *other)
{
	char leaf_t[CF_THUMB_LEN + 1], exp_t[CF_THUMB_LEN + 1];
	char *pem = tp_pem(&leaf, 1, lk), *pem2 = tp_pem(&expired, 1, other);
	struct cf_import_result *res = NULL;
	struct cf_input in = {"leaf.pem", (unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;
	size_t n = 0;
	int imports, https, smtp;

	cf_cert_thumbprint(leaf, leaf_t);
	cf_cert_thumbprint(expired, exp_t);
	imports = audited("import", leaf_t, "already present");
	https = audited("enable", leaf_t, "https: assigned; recorded");
	smtp = audited("enable", leaf_t, "smtp: assigned; recorded");
	memset(&o, 0, sizeof(o));
	o.actor = "test";
	o.services = "https,smtp";
	o.force = 1;
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == 0 && n == 1 &&
		  strcmp(res[0].what, "already present") == 0,
	    "import --services: the certificate is already present");
	cf_import_results_free(res, n);
	CHECK(audited("import", leaf_t, "already present") == imports + 1 &&
		  audited("enable", leaf_t, "https: assigned; recorded") ==
		      https + 1 &&
		  audited("enable", leaf_t, "smtp: assigned; recorded") ==
		      smtp + 1,
	    "audit: the import, and an enable record per service it "
	    "assigned, although the certificate was already present");
	https = audited("enable", leaf_t, "https: already assigned");
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == 0 &&
		  audited("enable", leaf_t, "https: already assigned") ==
		      https + 1,
	    "audit: a service assigned again says so");
	cf_import_results_free(res, n);

	/* A target without one of the services: skipped when asked to. */
	o.services = "smtp,lb";
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == -1 &&
		  err.code == CF_E_NOTFOUND && strstr(err.msg, "lb") != NULL,
	    "import --services: a service this store does not have is not "
	    "found (exit 1), not a usage error");
	o.skip_missing = 1;
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == 0 && n == 1 &&
		  res[0].skipped != NULL && strcmp(res[0].skipped, "lb") == 0 &&
		  strstr(res[0].services, "smtp") != NULL,
	    "import, skipping missing services: smtp assigned, lb skipped "
	    "and said");
	cf_import_results_free(res, n);
	o.services = "lb";
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == 0 && n == 1 &&
		  strcmp(res[0].skipped, "lb") == 0,
	    "import, skipping missing services: none left is no error");
	cf_import_results_free(res, n);

	/* A refused service change: audited as a failed enable. */
	in.name = "expired.pem";
	in.data = (unsigned char *)pem2;
	in.len = strlen(pem2);
	o.services = "imap";
	o.skip_missing = 0;
	CHECK(cf_op_import(s, &in, 1, &o, &res, &n, &err) == -1 &&
		  audited("enable", exp_t, "failed: ") == 1 &&
		  audited("enable", exp_t, "expired on") == 1 &&
		  strcmp(services_of(exp_t), "") == 0,
	    "audit: a refused service change is a failed enable naming why; "
	    "imap was not assigned");

	free(pem);
	free(pem2);
}

/* A copy's export names its targets; a plain export does not. */
static void
export_audited(X509 *leaf)
{
	char leaf_t[CF_THUMB_LEN + 1];
	struct cf_export_opts eo;
	struct cf_buf out = {0};

	cf_cert_thumbprint(leaf, leaf_t);
	memset(&eo, 0, sizeof(eo));
	eo.actor = "test";
	eo.format = CF_EXPORT_PEM;
	eo.no_key = 1;
	eo.targets = "ex1, ex2";
	CHECK(cf_op_export(s, leaf_t, &eo, &out, &err) == 0 &&
		  audited("export", leaf_t, "for copy to ex1, ex2") == 1,
	    "audit: a copy's export names the targets");
	cf_buf_clear(&out);
	eo.targets = NULL;
	CHECK(cf_op_export(s, leaf_t, &eo, &out, &err) == 0 &&
		  audited("export", leaf_t, "for copy") == 1,
	    "audit: a plain export names none");
	cf_buf_clear(&out);
}

/*
 * Renewal rollout on one store: the services of the old certificate
 * move to the new one; the old one stays.
 */
static void
replace(X509 *leaf, X509 *inter, EVP_PKEY *ik)
{
	EVP_PKEY *k2 = tp_key(0);
	X509 *renewed = tp_cert(
	    "mail.example.com", "mail.example.com", k2, inter, ik, -1, 90, 0);
	char old_t[CF_THUMB_LEN + 1], new_t[CF_THUMB_LEN + 1], thumb[41];
	char *pem = tp_pem(&renewed, 1, k2), *moved = NULL, *before;
	char taken[32];
	struct cf_import_result *res = NULL;
	size_t n = 0, nbefore;

	cf_cert_thumbprint(leaf, old_t);
	cf_cert_thumbprint(renewed, new_t);
	before = xstrdup(services_of(old_t));
	CHECK(import_pem("renewed.pem", pem, 0, NULL, &res, &n) == 0,
	    "replace: the renewed certificate is imported");
	cf_import_results_free(res, n);
	nbefore = count();
	CHECK(cf_op_replace(s, "test", "0123456789AB", new_t, 0, thumb, &moved,
		  NULL, &err) == -1 &&
		  err.code == CF_E_NOTFOUND && moved == NULL &&
		  strcmp(services_of(old_t), before) == 0,
	    "replace: an unknown old certificate is not found; nothing moves");
	CHECK(cf_op_replace(s, "test", old_t, old_t, 0, thumb, &moved, NULL,
		  &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "replace: the same certificate twice is a usage error");
	CHECK(cf_op_replace(
		  s, "test", old_t, new_t, 0, thumb, &moved, NULL, &err) == 0 &&
		  strcmp(thumb, new_t) == 0 && strcmp(moved, before) == 0 &&
		  strcmp(services_of(new_t), before) == 0 &&
		  strcmp(services_of(old_t), "") == 0 && count() == nbefore,
	    "replace: every service of the old certificate moves to the new "
	    "one, without --force; the old one stays");
	free(moved);
	snprintf(taken, sizeof(taken), "taken from %.8s", old_t);
	CHECK(audited("enable", new_t, taken) == 3,
	    "audit: replace's service changes are enable records, one per "
	    "service (https, pop, smtp), saying where it came from");
	CHECK(cf_op_replace(
		  s, "test", old_t, new_t, 0, thumb, &moved, NULL, &err) == 0 &&
		  strcmp(moved, "") == 0,
	    "replace: again, nothing left to move");
	free(moved);
	free(before);
	free(pem);
	X509_free(renewed);
	EVP_PKEY_free(k2);
}

/* The PKI the tests import: a root, an intermediate, a leaf it issued
 * (key lk), an expired and a forged certificate (key other). */
struct pki {
	EVP_PKEY *rk, *ik, *lk, *other;
	X509 *root, *inter, *leaf, *expired, *forged;
	char leaf_t[CF_THUMB_LEN + 1], root_t[CF_THUMB_LEN + 1];
};

/* The tests' store s: a new one in the scratch directory's name. */
static void
fresh(const char *name)
{
	char dir[512];

	cf_store_free(s);
	snprintf(dir, sizeof(dir), "%s/%s", check_tmpdir(), name);
	s = cf_store_open(dir, &err);
}

/* The key-first PEM bundle: key, intermediate, leaf (to free). */
static char *
bundle_pem(const struct pki *k)
{
	X509 *pair[2] = {k->inter, k->leaf};
	char *key = tp_pem(NULL, 0, k->lk), *certs = tp_pem(pair, 2, NULL);
	char *pem = xasprintf("%s%s", key, certs);

	free(key);
	free(certs);
	return pem;
}

/* Where most tests start: a new store holding the root and the leaf with
 * its key and chain, assigned to services (NULL: none).  A CHECK, so
 * that a set-up that fails says so. */
static void
stock(const char *name, const struct pki *k, const char *services)
{
	char *root = tp_pem((X509 **)&k->root, 1, NULL), *pem = bundle_pem(k);
	struct cf_import_result *res = NULL;
	size_t n = 0;
	int ok;

	fresh(name);
	ok = s != NULL && import_pem("root.pem", root, 0, NULL, &res, &n) == 0;
	cf_import_results_free(res, n);
	ok = ok && import_pem("bundle.pem", pem, 0, services, &res, &n) == 0;
	cf_import_results_free(res, n);
	CHECK(ok, "set-up: root, leaf, key and chain imported");
	free(root);
	free(pem);
}

/* Imports the certificate x alone, with no services: 0 or -1. */
static int
import_one(const char *name, X509 *x)
{
	char *pem = tp_pem(&x, 1, NULL);
	struct cf_import_result *res = NULL;
	size_t n = 0;
	int rc = import_pem(name, pem, 0, NULL, &res, &n);

	cf_import_results_free(res, n);
	free(pem);
	return rc;
}

/* A PEM bundle in any order, and the chain completed later. */
static void
test_import(const struct pki *k)
{
	char *pem = bundle_pem(k), *pem2;
	struct cf_import_result *res = NULL;
	struct cf_view *v = NULL;
	size_t n = 0;

	fresh("import");
	CHECK(import_pem("bundle.pem", pem, 0, "https,SMTP", &res, &n) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "incomplete") != NULL && count() == 0,
	    "import --services: a chain that reaches no k->root cannot serve; "
	    "nothing imported");
	CHECK(import_pem("bundle.pem", pem, 0, NULL, &res, &n) == 0 && n == 1 &&
		  strcmp(res[0].thumbprint, k->leaf_t) == 0 &&
		  strcmp(res[0].what, "imported") == 0 &&
		  strcmp(res[0].services, "") == 0,
	    "import: the leaf of a key-first PEM bundle");
	cf_import_results_free(res, n);
	CHECK(count() == 1, "import: the intermediate is a chain certificate, "
			    "not listed");
	CHECK(cf_op_get(s, k->leaf_t, &v, &n, &err) == 0 && n == 1 &&
		  v[0].has_key && !v[0].exportable &&
		  strcmp(v[0].domains,
		      "mail.example.com,mail,autodiscover.example.com") == 0 &&
		  strcmp(v[0].key_type, "RSA-2048") == 0 &&
		  strlen(v[0].chain) == CF_THUMB_LEN,
	    "get: key held, not exportable by default, domains, key type, "
	    "chain");
	cf_views_free(v, n);
	CHECK(strcmp(status_of(k->leaf_t), "Untrusted") == 0,
	    "status: Untrusted while the k->root is unknown");

	pem2 = tp_pem(&k->root, 1, NULL);
	CHECK(import_pem("root.pem", pem2, 0, NULL, &res, &n) == 0 && n == 1,
	    "import: the k->root as a certificate of its own");
	cf_import_results_free(res, n);
	free(pem2);
	CHECK(import_pem("bundle.pem", pem, 0, "https,SMTP", &res, &n) == 0 &&
		  n == 1 && strcmp(res[0].what, "already present") == 0 &&
		  strcmp(res[0].services, "https,smtp") == 0,
	    "import: again says already present; --services now assigned");
	cf_import_results_free(res, n);
	free(pem);
	CHECK(strcmp(status_of(k->leaf_t), "Valid") == 0,
	    "status: Valid once the store holds the k->root (chain completed)");
	CHECK(cf_op_get(s, k->leaf_t, &v, &n, &err) == 0 && n == 1 &&
		  strstr(v[0].chain, k->root_t) != NULL,
	    "get: the chain reaches the root");
	cf_views_free(v, n);
}

static void
test_status(const struct pki *k)
{
	struct cf_import_result *res = NULL;
	size_t n = 0;
	char *pem, thumb[41];

	stock("status", k, NULL);
	pem = tp_pem(&k->expired, 1, NULL);
	import_pem("expired.pem", pem, 0, NULL, &res, &n);
	cf_cert_thumbprint(k->expired, thumb);
	CHECK(strcmp(status_of(thumb), "DateInvalid") == 0,
	    "status: an k->expired certificate is DateInvalid");
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&k->forged, 1, NULL);
	import_pem("forged.pem", pem, 0, NULL, &res, &n);
	cf_cert_thumbprint(k->forged, thumb);
	CHECK(strcmp(status_of(thumb), "Invalid") == 0,
	    "status: a signature the named issuer did not make is Invalid");
	cf_import_results_free(res, n);
	free(pem);
}

/* A key that does not match, or garbage: refused, nothing changed. */
static void
test_refusals(const struct pki *k)
{
	struct cf_import_result *res = NULL;
	size_t n = 0;
	char *pem;

	stock("refusals", k, NULL);
	{
		size_t before = count();
		X509 *x = tp_cert("mismatch.example.com", NULL, k->other, NULL,
		    NULL, -1, 30, 0);
		char *c = tp_pem(&x, 1, NULL), *kp = tp_pem(NULL, 0, k->lk);
		pem = xasprintf("%s%s", c, kp);
		CHECK(
		    import_pem("mismatch.pem", pem, 0, NULL, &res, &n) == -1 &&
			err.code == CF_E_MISMATCH &&
			strstr(err.msg, "mismatch.pem") != NULL,
		    "import: key and certificate that do not match are "
		    "refused");
		CHECK(count() == before, "import: a refused file changes "
					 "nothing");
		free(c);
		free(kp);
		free(pem);
		X509_free(x);
	}
	CHECK(
	    import_pem("garbage.pem", "hello world", 0, NULL, &res, &n) == -1 &&
		err.code == CF_E_PARSE,
	    "import: garbage is a parse error");
}

/* Export: refused for a key imported without --exportable. */
static void
test_export(const struct pki *k)
{
	struct cf_export_opts eo;
	struct cf_buf out = {0};

	stock("export", k, NULL);
	memset(&eo, 0, sizeof(eo));
	eo.actor = "test";
	eo.password = "pw";
	eo.format = CF_EXPORT_P12;
	CHECK(cf_op_export(s, k->leaf_t, &eo, &out, &err) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "not exportable") != NULL &&
		  strstr(err.msg, "--exportable") != NULL && out.data == NULL,
	    "export: a non-exportable key is refused, saying why and what to "
	    "do");
	eo.no_key = 1;
	eo.password = NULL;
	eo.format = CF_EXPORT_PEM;
	CHECK(cf_op_export(s, k->leaf_t, &eo, &out, &err) == 0 &&
		  memmem(out.data, out.len, "PRIVATE KEY", 11) == NULL &&
		  memmem(out.data, out.len, "BEGIN CERTIFICATE", 17) != NULL,
	    "export: --no-key is allowed and holds no key");
	{
		/* leaf + intermediate + k->root */
		int certs = 0;
		const unsigned char *p = out.data;
		while ((p = memmem(p, out.len - (size_t)(p - out.data),
			    "BEGIN CERTIFICATE", 17)) != NULL) {
			certs++;
			p += 17;
		}
		CHECK(certs == 3, "export: the whole chain comes along");
	}
	cf_buf_clear(&out);
}

static void
test_services(const struct pki *k)
{
	char thumb[41];
	size_t before;

	stock("services", k, "https,smtp");
	before = count();
	CHECK(cf_op_enable(
		  s, "test", k->root_t, "https", 0, NULL, NULL, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "enable: a certificate without a key cannot serve");
	CHECK(cf_op_enable(s, "test", k->leaf_t, "imap,IIS", 0, thumb, NULL,
		  &err) == 0 &&
		  strcmp(thumb, k->leaf_t) == 0,
	    "enable: IIS is https, imap added");
	CHECK(cf_op_enable(s, "test", k->leaf_t, "ftp", 0, NULL, NULL, &err) ==
		      -1 &&
		  err.code == CF_E_NOTFOUND &&
		  strstr(err.msg, "ftp: unknown service") != NULL,
	    "enable: an unknown service is not found here (another server "
	    "may have it), not a usage error");
	CHECK(cf_op_disable(s, "test", k->leaf_t, "pop", NULL, &err) == -1 &&
		  err.code == CF_E_CONFLICT,
	    "disable: a service the certificate does not hold is refused");
	CHECK(cf_op_disable(s, "test", k->leaf_t, "imap", NULL, &err) == 0,
	    "disable: takes imap away");
	CHECK(cf_op_remove(s, "test", k->leaf_t, 0, NULL, &err) == -1 &&
		  err.code == CF_E_CONFLICT && count() == before,
	    "remove: refused while services are assigned");
	CHECK(cf_op_remove(s, "test", k->leaf_t, 1, NULL, &err) == 0 &&
		  count() == before - 1,
	    "remove --force: gone");
	CHECK(cf_op_remove(s, "test", k->leaf_t, 1, NULL, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "remove: an unknown thumbprint is not found");
}

/* --services over several files goes to the one with the key. */
static void
test_services_by_key(const struct pki *k)
{
	struct cf_import_result *res = NULL;
	struct cf_view *v = NULL;
	size_t n = 0;
	X509 *leaf = k->leaf;

	fresh("services-by-key");
	{
		char *c1 = tp_pem(&leaf, 1, NULL), *k1 = tp_pem(NULL, 0, k->lk);
		char *c2 = tp_pem(&k->inter, 1, NULL);
		char *c3 = tp_pem(&k->root, 1, NULL);
		struct cf_input in[4] = {
		    {"leaf.pem", (unsigned char *)c1, strlen(c1)},
		    {"leaf.key", (unsigned char *)k1, strlen(k1)},
		    {"int.pem", (unsigned char *)c2, strlen(c2)},
		    {"root.pem", (unsigned char *)c3, strlen(c3)}};
		struct cf_import_opts o;
		memset(&o, 0, sizeof(o));
		o.actor = "test";
		o.services = "pop";
		CHECK(cf_op_import(s, &in[2], 2, &o, &res, &n, &err) == -1 &&
			  err.code == CF_E_DENIED,
		    "import --services: refused when no certificate has a key");
		size_t nres = 0;
		CHECK(cf_op_import(s, in, 4, &o, &res, &nres, &err) == 0 &&
			  cf_op_get(s, k->leaf_t, &v, &n, &err) == 0 &&
			  n == 1 && strcmp(v[0].services, "pop") == 0,
		    "import --services: the certificate with the key serves, "
		    "whatever the file order");
		cf_views_free(v, n);
		cf_import_results_free(res, nres);
		free(c1);
		free(k1);
		free(c2);
		free(c3);
	}
}

int
main(int argc, char **argv)
{
	struct pki k;

	check_init(argc, argv);
	k.rk = tp_key(0);
	k.ik = tp_key(0);
	k.lk = tp_key(2048);
	k.other = tp_key(0);
	k.root = tp_cert("Test Root", NULL, k.rk, NULL, NULL, -1, 3650, 1);
	k.inter =
	    tp_cert("Test Intermediate", NULL, k.ik, k.root, k.rk, -1, 1825, 1);
	k.leaf = tp_cert("mail.example.com",
	    "mail.example.com,mail,autodiscover.example.com", k.lk, k.inter,
	    k.ik, -1, 90, 0);
	k.expired = tp_cert(
	    "old.example.com", NULL, k.other, k.inter, k.ik, -400, -10, 0);
	/* names inter as issuer, signed by other */
	k.forged = tp_cert(
	    "forged.example.com", NULL, k.other, k.inter, k.other, -1, 90, 0);
	cf_cert_thumbprint(k.leaf, k.leaf_t);
	cf_cert_thumbprint(k.root, k.root_t);

	if (check_test("import"))
		test_import(&k);
	if (check_test("status"))
		test_status(&k);
	if (check_test("refusals"))
		test_refusals(&k);
	if (check_test("export"))
		test_export(&k);
	if (check_test("services"))
		test_services(&k);
	if (check_test("services_by_key"))
		test_services_by_key(&k);
	if (check_test("services_audited")) {
		stock("services-audited", &k, NULL);
		CHECK(import_one("expired.pem", k.expired) == 0,
		    "set-up: the expired certificate imported");
		services_audited(k.leaf, k.lk, k.expired, k.other);
	}
	if (check_test("export_audited")) {
		stock("export-audited", &k, NULL);
		export_audited(k.leaf);
	}
	if (check_test("replace")) {
		stock("replace", &k, "https,pop,smtp");
		replace(k.leaf, k.inter, k.ik);
	}

	cf_store_free(s);
	X509_free(k.root);
	X509_free(k.inter);
	X509_free(k.leaf);
	X509_free(k.expired);
	X509_free(k.forged);
	EVP_PKEY_free(k.rk);
	EVP_PKEY_free(k.ik);
	EVP_PKEY_free(k.lk);
	EVP_PKEY_free(k.other);
	return check_done();
}
