/*
 * test_service.c - [service NAME] sections (service.h), and enable on a
 * real store deploying to services of kind files: refusals before any
 * change, files written, unchanged, a failed config test rolled back with
 * the store untouched, drift seen by cf_op_services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cert.h"
#include "check.h"
#include "ops.h"
#include "service.h"
#include "testpki.h"

static struct cf_error err;

/* A service of c from "key=value" pairs; NULL when one is refused. */
static struct cf_service *
section(
    struct cf_services *c, const char *name, const char *const *kv, int finish)
{
	struct cf_service *svc = cf_services_add(c, name, &err);
	char key[64];

	for (; svc != NULL && *kv != NULL; kv++) {
		const char *eq = strchr(*kv, '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - *kv), *kv);
		if (cf_service_set(svc, key, eq + 1, "/etc/x", &err) == -1)
			return NULL;
	}
	if (svc != NULL && finish && cf_service_finish(svc, &err) == -1)
		return NULL;
	return svc;
}

static int
refused(const char *name, const char *const *kv, const char *needle)
{
	struct cf_services *c = cf_services_new();
	int ok;

	cf_error_clear(&err);
	ok = section(c, name, kv, 1) == NULL && err.code == CF_E_USAGE &&
	     strstr(err.msg, needle) != NULL;
	if (!ok)
		fprintf(stderr, "  got: %s\n", err.msg);
	cf_services_free(c);
	return ok;
}

static void
test_sections(void)
{
	struct cf_services *c = cf_services_new();
	const struct cf_service *s;
	char canon[CF_SERVICE_NAME_MAX], *list = NULL, *ep;

	s = section(c, "IIS",
	    (const char *const[]){"kind=nginx", "chain=tls/a.crt",
		"key=/k/a.key", "check=127.0.0.1:8443", "name=mail.example.com",
		NULL},
	    1);
	CHECK(s != NULL && strcmp(s->name, "https") == 0,
	    "service: [service IIS] is https");
	CHECK(s != NULL && strcmp(s->test, "nginx -t -q") == 0 &&
		  strcmp(s->reload, "nginx -s reload") == 0,
	    "service: nginx's test and reload are the defaults");
	CHECK(s != NULL && strcmp(s->chain, "/etc/x/tls/a.crt") == 0 &&
		  strcmp(s->key, "/k/a.key") == 0,
	    "service: relative paths are taken from the file's directory");
	CHECK(s != NULL && s->mode == 0600 && s->chain_mode == 0644 &&
		  s->proto == CF_PROBE_TLS && s->timeout_ms == 20000,
	    "service: modes, protocol and timeout default");
	s = section(c, "smtp",
	    (const char *const[]){"kind=postfix", "pem=/p/all.pem", "test=none",
		"check=[::1]:25", NULL},
	    1);
	CHECK(s != NULL && s->proto == CF_PROBE_SMTP && s->test == NULL &&
		  strcmp(s->check_host, "::1") == 0,
	    "service: smtp speaks STARTTLS; test none; [v6]:port");
	s = section(c, "web2",
	    (const char *const[]){"kind=haproxy", "pem=/h/all.pem",
		"runtime_api=/run/h.sock", "protocol=tls", NULL},
	    1);
	CHECK(s != NULL && s->reload == NULL && s->kind->combined,
	    "service: haproxy with runtime_api has no reload command");
	CHECK(section(c, "https", (const char *const[]){NULL}, 0) == NULL &&
		  strstr(err.msg, "twice") != NULL,
	    "service: a second [service https] is refused");

	CHECK(cf_service_canon(c, "iis", canon, &err) == 0 &&
		  strcmp(canon, "https") == 0,
	    "canon: iis is https");
	CHECK(cf_service_canon(c, "WEB2", canon, &err) == 0 &&
		  strcmp(canon, "web2") == 0,
	    "canon: a configured name is a service");
	CHECK(cf_service_canon(NULL, "web2", canon, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "canon: not without its section");
	CHECK(cf_service_canon(c, "ftp", canon, &err) == -1 &&
		  strstr(err.msg, "web2") != NULL,
	    "canon: the error lists the configured names");
	CHECK(cf_services_parse(c, "smtp, IIS,web2,https", &list, &err) == 0 &&
		  strcmp(list, "https,smtp,web2") == 0,
	    "parse: canonical, sorted, deduplicated");
	free(list);
	ep = cf_service_endpoint(cf_services_find(c, "https"), "x.example");
	CHECK_STR(ep, "127.0.0.1:8443 (tls, SNI mail.example.com)",
	    "endpoint: host, port, protocol and the configured name");
	free(ep);
	cf_services_free(c);
}

/* Sections that are refused, each naming what is wrong. */
static void
test_section_refusals(void)
{
	CHECK(refused("a", (const char *const[]){"kind=iis", NULL},
		  "the kinds are"),
	    "service: an unknown kind is refused, naming the kinds");
	CHECK(refused("a", (const char *const[]){"port=1", NULL},
		  "unknown key port"),
	    "service: an unknown key is refused");
	CHECK(refused("a",
		  (const char *const[]){"kind=nginx", "kind=nginx", NULL},
		  "set twice"),
	    "service: a key set twice is refused");
	CHECK(refused(
		  "a", (const char *const[]){"mode=0644", NULL}, "every user"),
	    "service: a key file others can read is refused");
	CHECK(refused("a",
		  (const char *const[]){
		      "kind=haproxy", "chain=/c", "key=/k", NULL},
		  "set pem"),
	    "service: haproxy takes one pem file");
	CHECK(
	    refused("a", (const char *const[]){"kind=nginx", "chain=/c", NULL},
		"needs chain and key"),
	    "service: nginx without a key file is refused");
	CHECK(refused("a",
		  (const char *const[]){
		      "kind=nginx", "pem=/p", "runtime_api=/s", NULL},
		  "haproxy's"),
	    "service: runtime_api is only haproxy's");
	CHECK(refused("a", (const char *const[]){"check=localhost", NULL},
		  "HOST:PORT"),
	    "service: a check without a port is refused");
	CHECK(
	    refused("a", (const char *const[]){"timeout=0", NULL}, "1 to 600"),
	    "service: a zero timeout is refused");
	CHECK(refused("a", (const char *const[]){"protocol=ftp", NULL}, "smtp"),
	    "service: an unknown protocol is refused");
	CHECK(refused("a", (const char *const[]){"chain=/c", NULL}, "set kind"),
	    "service: a section without kind is refused");
	CHECK(refused("bad name!", (const char *const[]){NULL}, "letters"),
	    "service: a name with a space is refused");
}

/* env and run_as: what the service's commands run with. */
static void
test_env_run_as(void)
{
	struct cf_services *c = cf_services_new();
	const struct cf_service *s;

	s = section(c, "https",
	    (const char *const[]){"kind=files", "chain=/c",
		"env=FOO=bar  TOKEN=\"a b=c\" _X1=", "run_as=nobody", NULL},
	    1);
	CHECK(s != NULL && s->env != NULL &&
		  strcmp(s->env[0], "FOO=bar") == 0 &&
		  strcmp(s->env[1], "TOKEN=a b=c") == 0 &&
		  strcmp(s->env[2], "_X1=") == 0 && s->env[3] == NULL,
	    "env: NAME=VALUE entries, a quoted value with blanks, an empty "
	    "one");
	CHECK(s != NULL && s->run_as != NULL &&
		  strcmp(s->run_as, "nobody") == 0 && s->run_uid == 65534,
	    "run_as: a user name, resolved");
	s = section(c, "smtp",
	    (const char *const[]){
		"kind=files", "chain=/c", "run_as=65534", NULL},
	    1);
	CHECK(s != NULL && s->run_as != NULL &&
		  strcmp(s->run_as, "nobody") == 0 && s->env == NULL,
	    "run_as: a uid is taken with its user's name; no env: none");
	s = section(c, "imap",
	    (const char *const[]){"kind=files", "chain=/c", NULL}, 1);
	CHECK(s != NULL && s->run_as == NULL && s->uid == (uid_t)-1,
	    "run_as: none by default; owner: none (the agent's, root)");
	cf_services_free(c);

	CHECK(
	    refused("a", (const char *const[]){"env=FOO", NULL}, "NAME=VALUE"),
	    "env: an entry without = is refused");
	CHECK(refused("a", (const char *const[]){"env=1A=x", NULL}, "entry 1"),
	    "env: a name starting with a digit is refused");
	CHECK(refused("a",
		  (const char *const[]){"env=A=1 B=secretvalue A=2", NULL},
		  "A is given twice"),
	    "env: a name given twice is refused");
	CHECK(refused("a", (const char *const[]){"env=T=\"secretvalue", NULL},
		  "T: the quote is not closed") &&
		  strstr(err.msg, "secretvalue") == NULL,
	    "env: an open quote is refused, the value not shown");
	CHECK(refused("a",
		  (const char *const[]){"run_as=no-such-user-here", NULL},
		  "no such user"),
	    "run_as: an unknown user is refused");
}

/* ---- enable on a store ---------------------------------------------- */

static struct cf_store *st;
static char dir[512];

static int
import(const char *name, X509 *const *certs, int n, EVP_PKEY *key)
{
	char *pem = tp_pem(certs, n, key);
	struct cf_input in = {name, (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;
	struct cf_import_result *res = NULL;
	size_t nres = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	o.actor = "test";
	rc = cf_op_import(st, &in, 1, &o, &res, &nres, &err);
	cf_import_results_free(res, nres);
	free(pem);
	return rc;
}

static char *
slurp(const char *path)
{
	struct cf_buf b = {0};
	char *s;

	if (cf_read_file(path, 1 << 20, &b, &err) == -1)
		return NULL;
	s = xmalloc(b.len + 1);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cf_buf_clear(&b);
	return s;
}

static int
count_certs(const char *text)
{
	int n = 0;

	while (text && (text = strstr(text, "BEGIN CERTIFICATE")) != NULL) {
		n++;
		text++;
	}
	return n;
}

/* The services view of name. */
static int
view(const char *name, struct cf_service_view *out)
{
	struct cf_service_view *v = NULL;
	size_t n = 0, i;
	int found = 0;

	if (cf_op_services(st, 1, &v, &n, &err) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			*out = v[i];
			out->kind = xstrdup(v[i].kind);
			out->endpoint = xstrdup(v[i].endpoint);
			out->problem = xstrdup(v[i].problem);
			found = 1;
		}
	cf_service_views_free(v, n);
	return found;
}

static void
view_clear(struct cf_service_view *v)
{
	free(v->kind);
	free(v->endpoint);
	free(v->problem);
	memset(v, 0, sizeof(*v));
}

/*
 * What the enable tests start from: a store of their own (dir/svc-NAME)
 * with three files services (https; smtp, whose config test fails; web,
 * whose names the certificates do not cover) and four certificates:
 * leaf (with its chain and key), old (expired), orphan (its chain reaches
 * no root) and nokey (no key).
 */
struct fixture {
	EVP_PKEY *rk, *ik, *lk, *ok, *xk, *zk;
	X509 *root, *inter, *leaf, *old, *stray_ca, *orphan, *nokey;
	struct cf_services *c;
	char leaf_t[41], old_t[41], orphan_t[41], stray_t[41];
	char chain[600], key[600], smtp_chain[600];
};

static void
fixture_certs(struct fixture *fx)
{
	fx->rk = tp_key(0);
	fx->ik = tp_key(0);
	fx->lk = tp_key(0);
	fx->ok = tp_key(0);
	fx->xk = tp_key(0);
	fx->zk = tp_key(0);
	fx->root = tp_cert("Svc Root", NULL, fx->rk, NULL, NULL, -1, 3650, 1);
	fx->inter =
	    tp_cert("Svc CA", NULL, fx->ik, fx->root, fx->rk, -1, 1825, 1);
	fx->leaf = tp_cert("mail.example.com", "mail.example.com", fx->lk,
	    fx->inter, fx->ik, -1, 90, 0);
	fx->old = tp_cert("mail.example.com", "mail.example.com", fx->ok,
	    fx->inter, fx->ik, -400, -10, 0);
	fx->stray_ca = tp_cert("Stray CA", NULL, fx->xk, NULL, NULL, -1, 90, 1);
	fx->orphan = tp_cert("orphan.example.com", "orphan.example.com", fx->zk,
	    fx->stray_ca, fx->xk, -1, 90, 0);
	fx->nokey = tp_cert("nokey.example.com", "nokey.example.com", fx->xk,
	    fx->inter, fx->ik, -1, 90, 0);
	cf_cert_thumbprint(fx->leaf, fx->leaf_t);
	cf_cert_thumbprint(fx->old, fx->old_t);
	cf_cert_thumbprint(fx->orphan, fx->orphan_t);
	cf_cert_thumbprint(fx->nokey, fx->stray_t);
}

/* Makes fx and its store, st, in dir/svc-name. */
static void
fixture_make(struct fixture *fx, const char *name)
{
	char path[600];
	X509 *certs[3];

	memset(fx, 0, sizeof(*fx));
	fixture_certs(fx);
	certs[0] = fx->leaf;
	certs[1] = fx->inter;
	certs[2] = fx->root;
	snprintf(dir, sizeof(dir), "%s/svc-%s", check_tmpdir(), name);
	snprintf(path, sizeof(path), "%s/store", dir);
	mkdir(dir, 0700);
	snprintf(fx->chain, sizeof(fx->chain), "chain=%s/https.crt", dir);
	snprintf(fx->key, sizeof(fx->key), "key=%s/https.key", dir);
	snprintf(
	    fx->smtp_chain, sizeof(fx->smtp_chain), "pem=%s/smtp.pem", dir);
	fx->c = cf_services_new();
	section(fx->c, "https",
	    (const char *const[]){"kind=files", fx->chain, fx->key, NULL}, 1);
	section(fx->c, "smtp",
	    (const char *const[]){
		"kind=files", fx->smtp_chain, "test=false", NULL},
	    1);
	section(fx->c, "web",
	    (const char *const[]){"kind=files", fx->smtp_chain,
		"check=127.0.0.1:1", "name=www.example.org", "timeout=1", NULL},
	    1);
	st = cf_store_open(path, &err);
	cf_store_set_services(st, fx->c);
	CHECK(import("chain.pem", certs, 3, fx->lk) == 0 &&
		  import("old.pem", &fx->old, 1, fx->ok) == 0 &&
		  import("orphan.pem", &fx->orphan, 1, fx->zk) == 0 &&
		  import("nokey.pem", &fx->nokey, 1, NULL) == 0,
	    "enable: set-up");
}

static void
fixture_free(struct fixture *fx)
{
	cf_store_free(st);
	st = NULL;
	cf_services_free(fx->c);
	X509_free(fx->root);
	X509_free(fx->inter);
	X509_free(fx->leaf);
	X509_free(fx->old);
	X509_free(fx->stray_ca);
	X509_free(fx->orphan);
	X509_free(fx->nokey);
	EVP_PKEY_free(fx->rk);
	EVP_PKEY_free(fx->ik);
	EVP_PKEY_free(fx->lk);
	EVP_PKEY_free(fx->ok);
	EVP_PKEY_free(fx->xk);
	EVP_PKEY_free(fx->zk);
}

/* Enables the leaf on https, for the tests that start from it there. */
static int
https_enabled(const struct fixture *fx)
{
	if (cf_op_enable(
		st, "test", fx->leaf_t, "https", 0, NULL, NULL, &err) == 0)
		return 0;
	CHECK(0, "enable: set-up: the leaf on https");
	return -1;
}

/* Certificates that cannot serve are refused before anything is
 * written. */
static void
test_enable_refusals(void)
{
	struct fixture fx;

	fixture_make(&fx, "refusals");
	CHECK(cf_op_enable(
		  st, "test", fx.old_t, "https", 0, NULL, NULL, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "expired") &&
		  access(fx.chain + 6, F_OK) == -1,
	    "enable: an expired certificate is refused, nothing written");
	CHECK(cf_op_enable(
		  st, "test", fx.stray_t, "https", 0, NULL, NULL, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "private key"),
	    "enable: a certificate without its key is refused");
	CHECK(cf_op_enable(st, "test", fx.orphan_t, "https", 0, NULL, NULL,
		  &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "incomplete"),
	    "enable: a chain that reaches no root is refused");
	CHECK(cf_op_enable(st, "test", fx.leaf_t, "web", 0, NULL, NULL, &err) ==
		      -1 &&
		  err.code == CF_E_DENIED &&
		  strstr(err.msg, "www.example.org") &&
		  access(fx.smtp_chain + 4, F_OK) == -1,
	    "enable: names that do not cover the service's are refused");
	fixture_free(&fx);
}

/* Enabled, the files hold the chain and the key; again, unchanged. */
static void
test_enable_deploy(void)
{
	struct fixture fx;
	struct cf_service_view v = {0};
	struct stat sb;
	char *detail = NULL, *text;

	fixture_make(&fx, "deploy");
	CHECK(cf_op_enable(
		  st, "test", fx.leaf_t, "IIS", 0, NULL, &detail, &err) == 0 &&
		  detail && strstr(detail, "https: deployed") != NULL,
	    "enable: https deployed to its files");
	free(detail);
	detail = NULL;
	text = slurp(fx.chain + 6);
	CHECK(count_certs(text) == 2 && text &&
		  strstr(text, "PRIVATE KEY") == NULL,
	    "enable: the chain file holds leaf and intermediate, no root");
	free(text);
	text = slurp(fx.key + 4);
	CHECK(text && strstr(text, "BEGIN PRIVATE KEY") != NULL &&
		  stat(fx.key + 4, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "enable: the key file is PKCS#8, mode 0600");
	if (text)
		memset(text, 0, strlen(text));
	free(text);
	CHECK(cf_op_enable(st, "test", fx.leaf_t, "https", 0, NULL, &detail,
		  &err) == 0 &&
		  detail && strstr(detail, "unchanged") != NULL,
	    "enable: the same certificate again is unchanged");
	free(detail);
	CHECK(view("https", &v) && v.match == 1 &&
		  strcmp(v.assigned, fx.leaf_t) == 0 &&
		  strcmp(v.on_disk, fx.leaf_t) == 0,
	    "services: https's files hold what is assigned");
	view_clear(&v);
	fixture_free(&fx);
}

/* With https enabled, a failed config test on smtp is rolled back. */
static void
test_enable_rollback(void)
{
	struct fixture fx;
	struct cf_service_view v = {0};

	fixture_make(&fx, "rollback");
	if (https_enabled(&fx) == 0) {
		CHECK(cf_op_enable(st, "test", fx.leaf_t, "https,smtp", 0, NULL,
			  NULL, &err) == -1 &&
			  strstr(err.msg, "config test") != NULL &&
			  access(fx.smtp_chain + 4, F_OK) == -1,
		    "enable: a failed config test removes the file it wrote");
		CHECK(
		    view("smtp", &v) && v.assigned[0] == '\0' && v.match == -1,
		    "enable: after the failure smtp is not assigned");
		view_clear(&v);
	}
	fixture_free(&fx);
}

/* With https enabled, its chain file changed behind certfleet's back is
 * drift, and enabling again repairs it. */
static void
test_enable_drift(void)
{
	struct fixture fx;
	struct cf_service_view v = {0};
	char *detail = NULL, *text;

	fixture_make(&fx, "drift");
	if (https_enabled(&fx) != 0)
		goto out;
	text = tp_pem(&fx.root, 1, NULL);
	cf_write_file_atomic(fx.chain + 6, text, strlen(text), 0644, &err);
	free(text);
	CHECK(view("https", &v) && v.match == 0 &&
		  strstr(v.problem, "changed outside certfleet") != NULL,
	    "services: a file changed behind certfleet's back is drift");
	view_clear(&v);
	CHECK(cf_op_enable(st, "test", fx.leaf_t, "https", 0, NULL, &detail,
		  &err) == 0 &&
		  detail && strstr(detail, "deployed") != NULL,
	    "enable: enabling again repairs the drift");
	free(detail);
	CHECK(view("https", &v) && v.match == 1, "services: match again");
	view_clear(&v);
out:
	fixture_free(&fx);
}

/* With https enabled, the same chain behind a link: not followed, and
 * said so. */
static void
test_enable_link(void)
{
	struct fixture fx;
	struct cf_service_view v = {0};
	char real[640];

	fixture_make(&fx, "link");
	if (https_enabled(&fx) != 0)
		goto out;
	snprintf(real, sizeof(real), "%.600s.real", fx.chain + 6);
	rename(fx.chain + 6, real);
	if (symlink(real, fx.chain + 6) == -1)
		perror("symlink");
	CHECK(
	    view("https", &v) && v.match == 0 &&
		strstr(v.problem, "its files cannot be read: ") == v.problem &&
		strstr(v.problem, "is a symbolic link") != NULL,
	    "services: a linked chain file is not followed, and named");
	view_clear(&v);
	unlink(fx.chain + 6);
	rename(real, fx.chain + 6);
	CHECK(view("https", &v) && v.match == 1,
	    "services: the real file again: match");
	view_clear(&v);
out:
	fixture_free(&fx);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("sections"))
		test_sections();
	if (check_test("section_refusals"))
		test_section_refusals();
	if (check_test("env_run_as"))
		test_env_run_as();
	if (check_test("enable_refusals"))
		test_enable_refusals();
	if (check_test("enable_deploy"))
		test_enable_deploy();
	if (check_test("enable_rollback"))
		test_enable_rollback();
	if (check_test("enable_drift"))
		test_enable_drift();
	if (check_test("enable_link"))
		test_enable_link();
	return check_done();
}
