/*
 * test_rollout.c - deployments on a real store: outside the write
 * transaction, rolled back on failure, intents resolved at the next
 * start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "check.h"
#include "deploy.h"
#include "opstest.h"
#include "testpki.h"

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

/* The store and the one service the deployment tests work on. */
struct rollout {
	char dir[512];
	struct cf_services *conf;
	struct cf_service *web;
	char leaf_t[CF_THUMB_LEN + 1], b_t[CF_THUMB_LEN + 1];
	char c_t[CF_THUMB_LEN + 1];
	X509 *other_cert, *third;
	EVP_PKEY *lk, *ok;
};

/*
 * Opens the store (s) in dir with the chain, A (leaf) and B (other_cert)
 * imported, and a files service "web" whose reload is a writer that
 * must not wait followed by what readers see (into dir/seen).
 */
static void
rollout_open(struct rollout *r, X509 *root, X509 *inter, X509 *leaf)
{
	const char *dir = r->dir;
	struct cf_import_result *res = NULL;
	struct cf_service *web;
	size_t n = 0;
	char *db, *cmd, *pem;

	snprintf(r->dir, sizeof(r->dir), "%s/deploying", check_tmpdir());
	s = cf_store_open(dir, &err);
	r->conf = cf_services_new();
	cf_cert_thumbprint(leaf, r->leaf_t);
	cf_cert_thumbprint(r->other_cert, r->b_t);
	cf_cert_thumbprint(r->third, r->c_t);
	db = xasprintf("%s/store.db", dir);
	cmd =
	    xasprintf("sqlite3 -cmd '.timeout 0' %s 'BEGIN IMMEDIATE; "
		      "COMMIT;' && sqlite3 %s 'SELECT count(*) FROM services; "
		      "SELECT count(*) FROM deploys;' > %s/seen",
		db, db, dir);
	web = cf_services_add(r->conf, "web", &err);
	cf_service_set(web, "kind", "files", dir, &err);
	web->chain = xasprintf("%s/web.crt", dir);
	web->key = xasprintf("%s/web.key", dir);
	web->reload = cmd;
	cf_service_finish(web, &err);
	r->web = web;

	pem = tp_pem((X509 *[]){inter, root}, 2, NULL);
	import_pem("chain.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&leaf, 1, r->lk);
	import_pem("a.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	pem = tp_pem(&r->other_cert, 1, r->ok);
	import_pem("b.pem", pem, 0, NULL, &res, &n);
	cf_import_results_free(res, n);
	free(pem);
	cf_store_set_services(s, r->conf);
	free(db);
}

/* While web reloads, the store is free: no transaction is held. */
static void
rollout_concurrent(struct rollout *r)
{
	const char *dir = r->dir, *leaf_t = r->leaf_t;
	char owner[41], *path, *seen = NULL;
	int deployed = 0;
	FILE *f;

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
	free(seen);
	free(path);
}

/* A failing reload leaves files and assignment as they were. */
static void
rollout_failing(struct rollout *r)
{
	const char *dir = r->dir, *leaf_t = r->leaf_t, *b_t = r->b_t;
	const char *c_t = r->c_t;
	struct cf_service *web = r->web;
	struct cf_import_result *res = NULL;
	X509 *third = r->third;
	char owner[41], *pem;
	size_t n = 0;
	int rc;

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

	pem = tp_pem(&third, 1, r->lk);
	{
		struct cf_input in = {
		    "c.pem", (const unsigned char *)pem, strlen(pem)};
		struct cf_import_opts o = {
		    .actor = "test", .services = "web", .force = 1};
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
}

/* An intent left by an agent that died is resolved at the next start. */
static void
rollout_recover(struct rollout *r)
{
	const char *dir = r->dir, *leaf_t = r->leaf_t, *b_t = r->b_t;
	struct cf_service *web = r->web;
	X509 *other_cert = r->other_cert;
	EVP_PKEY *ok = r->ok;
	char owner[41], *report = NULL;
	int deployed = 0;

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
		  audited("enable", b_t,
		      "interrupted (the agent stopped); put "
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
}

/*
 * A deployment runs outside the store's write transaction: while the
 * service reloads, another writer gets the write lock at once and a
 * reader sees the assignment as it was, the intent recorded.  A failed
 * deployment leaves files and assignment as they were.  An intent left
 * by an agent that died is resolved at the next start.  The steps run
 * in order on one store: each starts from what the one before left.
 */
static void
deploying(X509 *root, X509 *inter, X509 *leaf, EVP_PKEY *lk, X509 *other_cert,
    EVP_PKEY *ok, X509 *third)
{
	struct rollout r = {
	    .other_cert = other_cert, .third = third, .lk = lk, .ok = ok};

	rollout_open(&r, root, inter, leaf);
	rollout_concurrent(&r);
	rollout_failing(&r);
	rollout_recover(&r);
	cf_store_free(s);
	s = NULL;
	cf_services_free(r.conf);
}

int
main(int argc, char **argv)
{
	EVP_PKEY *rk = tp_key(0), *ik = tp_key(0), *lk = tp_key(2048),
		 *other = tp_key(0);
	X509 *root = tp_cert("Test Root", NULL, rk, NULL, NULL, -1, 3650, 1);
	X509 *inter =
	    tp_cert("Test Intermediate", NULL, ik, root, rk, -1, 1825, 1);
	X509 *leaf = tp_cert("mail.example.com",
	    "mail.example.com,mail,autodiscover.example.com", lk, inter, ik, -1,
	    90, 0);
	X509 *b = tp_cert("b.example.com", NULL, other, inter, ik, -1, 90, 0);
	X509 *c = tp_cert("c.example.com", NULL, lk, inter, ik, -1, 90, 0);

	check_init(argc, argv);
	if (check_test("deploying"))
		deploying(root, inter, leaf, lk, b, other, c);
	X509_free(b);
	X509_free(c);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(other);
	return check_done();
}
