/*
 * test_ops.c - the operations end to end on a real store: import (chains,
 * keys, re-import), Status, export refusal, services, remove, replace,
 * and the audit trail of every service change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "check.h"
#include "deploy.h"
#include "ops.h"
#include "testpki.h"

static struct cf_store *s;
static struct cf_error err;

static int
import_pem(const char *name, const char *pem, int exportable,
    const char *services, struct cf_import_result **res, size_t *n)
{
	struct cf_input in = {name, (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;

	memset(&o, 0, sizeof(o));
	o.actor = "test";
	o.exportable = exportable;
	o.services = services;
	cf_error_clear(&err);
	return cf_op_import(s, &in, 1, &o, res, n, &err);
}

static const char *
status_of(const char *thumb)
{
	static char buf[32];
	struct cf_view *v = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (cf_op_get(s, thumb, &v, &n, &err) == 0 && n == 1)
		snprintf(buf, sizeof(buf), "%s", v[0].status);
	cf_views_free(v, n);
	return buf;
}

/* How many audit records of op on thumb (NULL: any) hold needle. */
static int
audited(const char *op, const char *thumb, const char *needle)
{
	struct cf_audit *a = NULL;
	size_t n = 0, i;
	int hits = 0;

	if (cf_store_audit_list(s, 0, &a, &n, &err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		hits += strcmp(a[i].op, op) == 0 &&
			(thumb == NULL || strcmp(a[i].thumb, thumb) == 0) &&
			strstr(a[i].outcome, needle) != NULL;
	cf_audit_free(a, n);
	return hits;
}

/* The services of thumb, as get shows them ("?" when it is not there). */
static const char *
services_of(const char *thumb)
{
	static char buf[128];
	struct cf_view *v = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "?");
	if (cf_op_get(s, thumb, &v, &n, &err) == 0 && n == 1)
		snprintf(buf, sizeof(buf), "%s", v[0].services);
	cf_views_free(v, n);
	return buf;
}

static size_t
count(void)
{
	struct cf_view *v = NULL;
	size_t n = 0;

	cf_op_get(s, NULL, &v, &n, &err);
	cf_views_free(v, n);
	return n;
}

/*
 * Every service change is audited on the store where it happened, by
 * one path whichever operation made it: import --services (also when the
 * certificate was already present), and a refused change as a failed
 * enable.  A copy's export names its targets.  leaf (key lk) is stored
 * with its chain; expired (key other) is out of its dates.
 */
static void
services_audited(X509 *leaf, EVP_PKEY *lk, X509 *expired, EVP_PKEY *other)
{
	char leaf_t[CF_THUMB_LEN + 1], exp_t[CF_THUMB_LEN + 1];
	char *pem = tp_pem(&leaf, 1, lk), *pem2 = tp_pem(&expired, 1, other);
	struct cf_import_result *res = NULL;
	struct cf_export_opts eo;
	struct cf_input in = {"leaf.pem", (unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;
	struct cf_buf out = {0};
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
		  res[0].skipped != NULL &&
		  strcmp(res[0].skipped, "lb") == 0 &&
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

	/* A copy's export names its targets; a plain export does not. */
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
	free(pem);
	free(pem2);
}

/*
 * Renewal rollout on one store: the services of the old certificate
 * move to the new one; the old one stays.
 */
static void
replace(X509 *leaf, X509 *inter, EVP_PKEY *ik)
{
	EVP_PKEY *k2 = tp_key(0);
	X509 *renewed = tp_cert("mail.example.com", "mail.example.com", k2,
	    inter, ik, -1, 90, 0);
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
	CHECK(cf_op_replace(s, "test", "0123456789AB", new_t, 0, thumb,
		  &moved, NULL, &err) == -1 &&
		  err.code == CF_E_NOTFOUND && moved == NULL &&
		  strcmp(services_of(old_t), before) == 0,
	    "replace: an unknown old certificate is not found; nothing moves");
	CHECK(cf_op_replace(s, "test", old_t, old_t, 0, thumb, &moved, NULL,
		  &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "replace: the same certificate twice is a usage error");
	CHECK(cf_op_replace(s, "test", old_t, new_t, 0, thumb, &moved, NULL,
		  &err) == 0 &&
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
	CHECK(cf_op_replace(s, "test", old_t, new_t, 0, thumb, &moved, NULL,
		  &err) == 0 &&
		  strcmp(moved, "") == 0,
	    "replace: again, nothing left to move");
	free(moved);
	free(before);
	free(pem);
	X509_free(renewed);
	EVP_PKEY_free(k2);
}

/* Writes the PEM of cert (and key) to path. */
static void
write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	char *pem = tp_pem(cert ? &cert : NULL, cert ? 1 : 0, key);
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(pem, f);
		fclose(f);
	}
	free(pem);
}

/* The leaf of the web service's chain file ("" none). */
static const char *
on_disk(const char *dir)
{
	static char t[CF_THUMB_LEN + 1];
	char *path = xasprintf("%s/web.crt", dir);
	time_t na;

	cf_file_leaf(path, t, &na, NULL);
	free(path);
	return t;
}

/* Records an intent of web to thumb, as an operation would before the
 * agent died. */
static int
intent(const char *thumb)
{
	cf_error_clear(&err);
	return cf_store_begin(s, &err) == 0 &&
	       cf_store_deploy_intent(s, "web", thumb, "test", &err) == 0 &&
	       cf_store_commit(s, &err) == 0;
}

static int
intents(void)
{
	struct cf_intent *v = NULL;
	size_t n = 0;

	cf_store_deploy_list(s, &v, &n, &err);
	cf_intents_free(v, n);
	return (int)n;
}

/*
 * A deployment runs outside the store's write transaction: while the
 * service reloads, another writer gets the write lock at once and a
 * reader sees the assignment as it was, the intent recorded.  A failed
 * deployment leaves files and assignment as they were.  An intent left
 * by an agent that died is resolved at the next start.
 */
static void
deploying(X509 *root, X509 *inter, X509 *leaf, EVP_PKEY *lk,
    X509 *other_cert, EVP_PKEY *ok, X509 *third)
{
	struct cf_store *was = s;
	struct cf_services *conf = cf_services_new();
	struct cf_service *web;
	char dir[512], *db, *cmd, *seen = NULL, *report = NULL, *path;
	char leaf_t[CF_THUMB_LEN + 1], b_t[CF_THUMB_LEN + 1], owner[41];
	char c_t[CF_THUMB_LEN + 1];
	struct cf_import_result *res = NULL;
	size_t n = 0;
	FILE *f;
	int deployed = 0, rc;
	char *pem;

	snprintf(dir, sizeof(dir), "%s/deploying", check_tmpdir());
	s = cf_store_open(dir, &err);
	cf_cert_thumbprint(leaf, leaf_t);
	cf_cert_thumbprint(other_cert, b_t);
	cf_cert_thumbprint(third, c_t);
	db = xasprintf("%s/store.db", dir);
	/* The reload: a writer that must not wait, then what readers see. */
	cmd = xasprintf("sqlite3 -cmd '.timeout 0' %s 'BEGIN IMMEDIATE; "
			"COMMIT;' && sqlite3 %s 'SELECT count(*) FROM services; "
			"SELECT count(*) FROM deploys;' > %s/seen",
	    db, db, dir);
	web = cf_services_add(conf, "web", &err);
	cf_service_set(web, "kind", "files", dir, &err);
	web->chain = xasprintf("%s/web.crt", dir);
	web->key = xasprintf("%s/web.key", dir);
	web->reload = cmd;
	cf_service_finish(web, &err);

	pem = tp_pem((X509 *[]){inter, root}, 2, NULL);
	import_pem("chain.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&leaf, 1, lk);
	import_pem("a.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&other_cert, 1, ok);
	import_pem("b.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	cf_store_set_services(s, conf);

	cf_error_clear(&err);
	CHECK(cf_op_enable(s, "test", leaf_t, "web", 0, NULL, NULL, &err) == 0,
	    "deploy: while web reloads, another writer gets the write lock "
	    "(the enable holds no transaction)");
	if (err.msg[0])
		fprintf(stderr, "    %s\n", err.msg);
	path = xasprintf("%s/seen", dir);
	if ((f = fopen(path, "r")) != NULL) {
		char buf[64] = "";
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		buf[len] = '\0';
		seen = xstrdup(buf);
		fclose(f);
	}
	CHECK(seen != NULL && strcmp(seen, "0\n1\n") == 0,
	    "deploy: meanwhile readers see web unassigned, the intent "
	    "recorded");
	cf_store_service_owner(s, "web", owner, &err);
	cf_store_service_is_deployed(s, "web", &deployed, &err);
	CHECK(strcmp(owner, leaf_t) == 0 && deployed &&
		  strcmp(on_disk(dir), leaf_t) == 0 && intents() == 0 &&
		  audited("enable", leaf_t, "web: assigned; deployed") == 1,
	    "deploy: then web is assigned, deployed, audited; no intent left");

	free(web->reload);
	web->reload = xstrdup("false");
	CHECK(cf_op_enable(s, "test", b_t, "web", 1, NULL, NULL, &err) == -1 &&
		  strstr(err.msg, "reload failed") != NULL,
	    "deploy: a failing reload fails the enable");
	cf_store_service_owner(s, "web", owner, &err);
	CHECK(strcmp(owner, leaf_t) == 0 && strcmp(on_disk(dir), leaf_t) == 0 &&
		  intents() == 0 &&
		  audited("enable", b_t, "failed: web: reload failed") == 1,
	    "deploy: ... files and assignment as they were, the failure "
	    "audited, no intent left");

	pem = tp_pem(&third, 1, lk);
	{
		struct cf_input in = {"c.pem", (const unsigned char *)pem,
		    strlen(pem)};
		struct cf_import_opts o = {.actor = "test",
		    .services = "web",
		    .force = 1};
		cf_error_clear(&err);
		rc = cf_op_import(s, &in, 1, &o, &res, &n, &err);
	}
	CHECK(rc == -1 &&
		  strstr(err.msg, "is imported; its services were left as "
				  "they were") != NULL &&
		  strstr(err.msg, "web: reload failed") != NULL,
	    "deploy: import --services whose reload fails says the import "
	    "stands and the services did not change");
	free(pem);
	cf_store_service_owner(s, "web", owner, &err);
	CHECK(strcmp(owner, leaf_t) == 0 && strcmp(on_disk(dir), leaf_t) == 0 &&
		  status_of(c_t)[0] != '\0' && intents() == 0 &&
		  audited("import", c_t, "imported") == 1 &&
		  audited("enable", c_t, "failed: web: reload failed") == 1,
	    "deploy: ... it is imported and audited so, web as it was, the "
	    "failure audited");

	/* The agent died with B's files written: A is put back. */
	free(web->reload);
	web->reload = xstrdup("true");
	write_pem(web->chain, other_cert, NULL);
	write_pem(web->key, NULL, ok);
	CHECK(intent(b_t) && cf_services_recover(s, &report, &err) == 0 &&
		  report != NULL && strstr(report, "interrupted") != NULL,
	    "recover: an intent left behind is resolved and reported");
	cf_store_service_owner(s, "web", owner, &err);
	CHECK(strcmp(owner, leaf_t) == 0 && strcmp(on_disk(dir), leaf_t) == 0 &&
		  intents() == 0 &&
		  audited("enable", b_t, "interrupted (the agent stopped); put "
					 "back") == 1,
	    "recover: web had A: A is deployed again, still assigned, audited");
	free(report);
	report = NULL;

	/* Nothing assigned before, files hold B: the enable is finished. */
	cf_op_disable(s, "test", leaf_t, "web", NULL, &err);
	write_pem(web->chain, other_cert, NULL);
	write_pem(web->key, NULL, ok);
	CHECK(intent(b_t) && cf_services_recover(s, &report, &err) == 0,
	    "recover: a second interrupted enable");
	cf_store_service_owner(s, "web", owner, &err);
	cf_store_service_is_deployed(s, "web", &deployed, &err);
	CHECK(strcmp(owner, b_t) == 0 && deployed && intents() == 0 &&
		  audited("enable", b_t, "; finished: ") == 1,
	    "recover: web had nothing, its files hold B: finished, B "
	    "assigned and deployed, audited");
	free(report);
	report = NULL;

	/* Nothing assigned, files never written: nothing changes. */
	cf_op_disable(s, "test", b_t, "web", NULL, &err);
	CHECK(intent(leaf_t) && cf_services_recover(s, &report, &err) == 0,
	    "recover: an intent whose files were never written");
	cf_store_service_owner(s, "web", owner, &err);
	CHECK(owner[0] == '\0' && intents() == 0 &&
		  audited("enable", leaf_t, "its files were not changed") == 1,
	    "recover: ... leaves web unassigned, audited");
	free(report);
	report = NULL;
	CHECK(cf_services_recover(s, &report, &err) == 0 && report == NULL,
	    "recover: nothing to do is no error and no report");

	cf_store_free(s);
	s = was;
	cf_services_free(conf);
	free(seen);
	free(path);
	free(db);
}

int
main(void)
{
	EVP_PKEY *rk = tp_key(0), *ik = tp_key(0), *lk = tp_key(2048),
		 *other = tp_key(0);
	X509 *root = tp_cert("Test Root", NULL, rk, NULL, NULL, -1, 3650, 1);
	X509 *inter = tp_cert("Test Intermediate", NULL, ik, root, rk, -1,
	    1825, 1);
	X509 *leaf = tp_cert("mail.example.com",
	    "mail.example.com,mail,autodiscover.example.com", lk, inter, ik,
	    -1, 90, 0);
	X509 *expired = tp_cert("old.example.com", NULL, other, inter, ik,
	    -400, -10, 0);
	X509 *forged = tp_cert("forged.example.com", NULL, other, inter,
	    other, -1, 90, 0); /* names inter as issuer, signed by other */
	X509 *pair[2] = {inter, leaf};
	char leaf_t[CF_THUMB_LEN + 1], root_t[CF_THUMB_LEN + 1], thumb[41];
	struct cf_import_result *res = NULL;
	struct cf_view *v = NULL;
	struct cf_buf out = {0};
	struct cf_export_opts eo;
	size_t n = 0;
	char *pem, *pem2, dir[512];

	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	s = cf_store_open(dir, &err);
	cf_cert_thumbprint(leaf, leaf_t);
	cf_cert_thumbprint(root, root_t);

	/* A PEM bundle in any order: key, intermediate, leaf. */
	{
		char *k = tp_pem(NULL, 0, lk), *c = tp_pem(pair, 2, NULL);
		pem = xasprintf("%s%s", k, c);
		free(k);
		free(c);
	}
	CHECK(import_pem("bundle.pem", pem, 0, "https,SMTP", &res, &n) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "incomplete") != NULL && count() == 0,
	    "import --services: a chain that reaches no root cannot serve; "
	    "nothing imported");
	CHECK(import_pem("bundle.pem", pem, 0, NULL, &res, &n) == 0 &&
		  n == 1 && strcmp(res[0].thumbprint, leaf_t) == 0 &&
		  strcmp(res[0].what, "imported") == 0 &&
		  strcmp(res[0].services, "") == 0,
	    "import: the leaf of a key-first PEM bundle");
	cf_import_results_free(res, n);
	CHECK(count() == 1, "import: the intermediate is a chain certificate, "
			    "not listed");
	CHECK(cf_op_get(s, leaf_t, &v, &n, &err) == 0 && n == 1 &&
		  v[0].has_key && !v[0].exportable &&
		  strcmp(v[0].domains,
		      "mail.example.com,mail,autodiscover.example.com") == 0 &&
		  strcmp(v[0].key_type, "RSA-2048") == 0 &&
		  strlen(v[0].chain) == CF_THUMB_LEN,
	    "get: key held, not exportable by default, domains, key type, "
	    "chain");
	cf_views_free(v, n);
	CHECK(strcmp(status_of(leaf_t), "Untrusted") == 0,
	    "status: Untrusted while the root is unknown");

	pem2 = tp_pem(&root, 1, NULL);
	CHECK(import_pem("root.pem", pem2, 0, NULL, &res, &n) == 0 && n == 1,
	    "import: the root as a certificate of its own");
	cf_import_results_free(res, n);
	free(pem2);
	CHECK(import_pem("bundle.pem", pem, 0, "https,SMTP", &res, &n) == 0 &&
		  n == 1 && strcmp(res[0].what, "already present") == 0 &&
		  strcmp(res[0].services, "https,smtp") == 0,
	    "import: again says already present; --services now assigned");
	cf_import_results_free(res, n);
	free(pem);
	CHECK(strcmp(status_of(leaf_t), "Valid") == 0,
	    "status: Valid once the store holds the root (chain completed)");
	CHECK(cf_op_get(s, leaf_t, &v, &n, &err) == 0 && n == 1 &&
		  strstr(v[0].chain, root_t) != NULL,
	    "get: the chain reaches the root");
	cf_views_free(v, n);

	pem = tp_pem(&expired, 1, NULL);
	import_pem("expired.pem", pem, 0, NULL, &res, &n);
	cf_cert_thumbprint(expired, thumb);
	CHECK(strcmp(status_of(thumb), "DateInvalid") == 0,
	    "status: an expired certificate is DateInvalid");
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&forged, 1, NULL);
	import_pem("forged.pem", pem, 0, NULL, &res, &n);
	cf_cert_thumbprint(forged, thumb);
	CHECK(strcmp(status_of(thumb), "Invalid") == 0,
	    "status: a signature the named issuer did not make is Invalid");
	cf_import_results_free(res, n);
	free(pem);

	/* A key that does not match: refused, nothing changed. */
	{
		size_t before = count();
		X509 *x = tp_cert("mismatch.example.com", NULL, other, NULL,
		    NULL, -1, 30, 0);
		char *c = tp_pem(&x, 1, NULL), *k = tp_pem(NULL, 0, lk);
		pem = xasprintf("%s%s", c, k);
		CHECK(import_pem("mismatch.pem", pem, 0, NULL, &res, &n) ==
			      -1 &&
			  err.code == CF_E_MISMATCH &&
			  strstr(err.msg, "mismatch.pem") != NULL,
		    "import: key and certificate that do not match are refused");
		CHECK(count() == before, "import: a refused file changes "
					 "nothing");
		free(c);
		free(k);
		free(pem);
		X509_free(x);
	}
	CHECK(import_pem("garbage.pem", "hello world", 0, NULL, &res, &n) ==
		      -1 &&
		  err.code == CF_E_PARSE,
	    "import: garbage is a parse error");

	/* Export: refused for a key imported without --exportable. */
	memset(&eo, 0, sizeof(eo));
	eo.actor = "test";
	eo.password = "pw";
	eo.format = CF_EXPORT_P12;
	CHECK(cf_op_export(s, leaf_t, &eo, &out, &err) == -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "not exportable") != NULL &&
		  strstr(err.msg, "--exportable") != NULL && out.data == NULL,
	    "export: a non-exportable key is refused, saying why and what to "
	    "do");
	eo.no_key = 1;
	eo.password = NULL;
	eo.format = CF_EXPORT_PEM;
	CHECK(cf_op_export(s, leaf_t, &eo, &out, &err) == 0 &&
		  memmem(out.data, out.len, "PRIVATE KEY", 11) == NULL &&
		  memmem(out.data, out.len, "BEGIN CERTIFICATE", 17) != NULL,
	    "export: --no-key is allowed and holds no key");
	{
		/* leaf + intermediate + root */
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

	/* Services. */
	CHECK(cf_op_enable(s, "test", root_t, "https", 0, NULL, NULL, &err) == -1 &&
		  err.code == CF_E_DENIED,
	    "enable: a certificate without a key cannot serve");
	CHECK(cf_op_enable(s, "test", leaf_t, "imap,IIS", 0, thumb, NULL, &err) ==
		      0 &&
		  strcmp(thumb, leaf_t) == 0,
	    "enable: IIS is https, imap added");
	CHECK(cf_op_enable(s, "test", leaf_t, "ftp", 0, NULL, NULL, &err) == -1 &&
		  err.code == CF_E_NOTFOUND &&
		  strstr(err.msg, "ftp: unknown service") != NULL,
	    "enable: an unknown service is not found here (another server "
	    "may have it), not a usage error");
	CHECK(cf_op_disable(s, "test", leaf_t, "pop", NULL, &err) == -1 &&
		  err.code == CF_E_CONFLICT,
	    "disable: a service the certificate does not hold is refused");
	CHECK(cf_op_disable(s, "test", leaf_t, "imap", NULL, &err) == 0,
	    "disable: takes imap away");
	CHECK(cf_op_remove(s, "test", leaf_t, 0, NULL, &err) == -1 &&
		  err.code == CF_E_CONFLICT && count() == 4,
	    "remove: refused while services are assigned");
	CHECK(cf_op_remove(s, "test", leaf_t, 1, NULL, &err) == 0 &&
		  count() == 3,
	    "remove --force: gone");
	CHECK(cf_op_remove(s, "test", leaf_t, 1, NULL, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "remove: an unknown thumbprint is not found");

	/* --services over several files goes to the one with the key. */
	{
		char *c1 = tp_pem(&leaf, 1, NULL), *k1 = tp_pem(NULL, 0, lk);
		char *c2 = tp_pem(&inter, 1, NULL), *c3 = tp_pem(&root, 1, NULL);
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
			  cf_op_get(s, leaf_t, &v, &n, &err) == 0 && n == 1 &&
			  strcmp(v[0].services, "pop") == 0,
		    "import --services: the certificate with the key serves, "
		    "whatever the file order");
		cf_views_free(v, n);
		cf_import_results_free(res, nres);
		free(c1);
		free(k1);
		free(c2);
		free(c3);
	}

	services_audited(leaf, lk, expired, other);
	replace(leaf, inter, ik);
	{
		X509 *b = tp_cert("b.example.com", NULL, other, inter, ik, -1,
		    90, 0);
		X509 *c = tp_cert("c.example.com", NULL, lk, inter, ik, -1,
		    90, 0);
		deploying(root, inter, leaf, lk, b, other, c);
		X509_free(b);
		X509_free(c);
	}

	cf_store_free(s);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(expired);
	X509_free(forged);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(other);
	return check_done();
}
