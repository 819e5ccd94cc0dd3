/*
 * cmd_init.c - certfleetd init: the state directory, the store and its
 * master key, the agent's API identity, and the self-signed host
 * certificate a new server starts with (Exchange's out-of-the-box
 * certificate).  Whatever exists already is kept: a second run changes
 * nothing and says so.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "deploy.h"
#include "identity.h"
#include "ops.h"
#include "service.h"
#include "util.h"

#define HOST_CERT_DAYS 1826 /* 5 years */
#define HOST_CERT_KEY "rsa2048"
#define HOST_CERT_SERVICES "https,smtp,imap,pop"

/* True when s can be a DNS name in a certificate. */
static int
dns_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '.'))
			return 0;
	return i > 0 && i < 254;
}

/* The host's canonical name when the resolver knows one other than
 * name; NULL otherwise.  New. */
static char *
host_fqdn(const char *name)
{
	struct addrinfo hints, *ai = NULL;
	char *fqdn = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &ai) != 0 || ai == NULL)
		return NULL;
	if (ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.') &&
	    !cf_strieq(ai->ai_canonname, name) && dns_name_ok(ai->ai_canonname))
		fqdn = xstrdup(ai->ai_canonname);
	freeaddrinfo(ai);
	return fqdn;
}

/*
 * The thumbprint of the host certificate (self-signed, subject CN=name)
 * into thumb, "" when there is none.
 */
static int
find_host_cert(struct cf_store *s, const char *name,
    char thumb[CF_THUMB_LEN + 1], struct cf_error *err)
{
	struct cf_view *v = NULL;
	char *subject = xasprintf("CN=%s", name);
	size_t n = 0, i;
	int rc = -1;

	thumb[0] = '\0';
	if (cf_op_get(s, NULL, &v, &n, err) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (v[i].self_signed && strcmp(v[i].subject, subject) == 0) {
			snprintf(
			    thumb, CF_THUMB_LEN + 1, "%s", v[i].thumbprint);
			break;
		}
	rc = 0;
out:
	cf_views_free(v, n);
	free(subject);
	return rc;
}

/*
 * The services of HOST_CERT_SERVICES the host certificate takes, new:
 * each one but those configured here whose files already hold a
 * certificate.  Those serve something someone put there; init does not
 * take them over with a self-signed certificate (say so).
 */
static char *
host_services(const struct cf_services *conf)
{
	char *all = xstrdup(HOST_CERT_SERVICES), *name, *save = NULL;
	char *out = xstrdup(""), *next, leaf[CF_THUMB_LEN + 1];
	const struct cf_service *svc;
	struct cf_error ferr;
	time_t t;

	for (name = strtok_r(all, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		svc = cf_services_find(conf, name);
		if (svc != NULL && (svc->chain || svc->pem) &&
		    cf_file_leaf(svc->chain ? svc->chain : svc->pem, leaf, &t,
			&ferr) == 1) {
			printf(
			    "%s: left as it is: its files hold %.8s (certfleet "
			    "enable a certificate for %s to manage it)\n",
			    name, leaf, name);
			continue;
		}
		next = xasprintf("%s%s%s", out, out[0] ? "," : "", name);
		free(out);
		out = next;
	}
	free(all);
	return out;
}

/*
 * Deploys the host certificate thumb to those of list configured here
 * (their files hold none yet).  A service that does not take it (not
 * running, a failing reload) keeps the assignment, not deployed, which
 * `certfleet services` shows with the command to run: init goes on.
 */
static void
deploy_host_cert(struct cf_store *s, const struct cf_services *conf,
    const char *thumb, const char *list)
{
	char *copy = xstrdup(list), *name, *save = NULL, *detail = NULL;
	char done[CF_THUMB_LEN + 1];
	struct cf_error err;

	cf_store_set_services(s, conf);
	for (name = strtok_r(copy, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		if (cf_services_find(conf, name) == NULL)
			continue;
		cf_error_clear(&err);
		if (cf_op_enable(s, "certfleetd init", thumb, name, 1, done,
			&detail, &err) == 0)
			printf("%s\n", detail);
		else
			fprintf(stderr,
			    "certfleetd: init: %s: not deployed: %s; run "
			    "`certfleet enable %.8s --services %s` once it "
			    "can be\n",
			    name, err.msg, thumb, name);
		free(detail);
		detail = NULL;
	}
	cf_store_set_services(s, NULL);
	free(copy);
}

/* Makes the host certificate; its thumbprint into thumb. */
static int
make_host_cert(struct cf_store *s, const char *name,
    const struct cf_services *conf, char thumb[CF_THUMB_LEN + 1],
    struct cf_error *err)
{
	struct cf_selfsigned_opts o;
	struct cf_import_result *res = NULL;
	char *fqdn = host_fqdn(name), *subject, *domains;
	char *services = host_services(conf);
	size_t nres = 0;
	int rc;

	subject = xasprintf("CN=%s", name);
	domains = fqdn ? xasprintf("%s,%s", name, fqdn) : xstrdup(name);
	memset(&o, 0, sizeof(o));
	o.actor = "certfleetd init";
	o.subject = subject;
	o.domains = domains;
	o.key = HOST_CERT_KEY;
	o.days = HOST_CERT_DAYS;
	o.services = services[0] ? services : NULL;
	o.exportable = 0;
	rc = cf_op_new_self_signed(s, &o, &res, &nres, err);
	if (rc == 0 && nres > 0) {
		snprintf(thumb, CF_THUMB_LEN + 1, "%s", res[0].thumbprint);
		printf("host certificate %s: CN=%s, DNS %s, %s, 5 years, key "
		       "not exportable\n",
		    thumb, name, domains,
		    res[0].services[0] ? res[0].services : "no services");
		deploy_host_cert(s, conf, thumb, services);
	}
	cf_import_results_free(res, nres);
	free(services);
	free(subject);
	free(domains);
	free(fqdn);
	return rc;
}

/* The agent's API identity; its fingerprint into fp, *created set. */
static int
make_identity(const struct agent_config *c, char fp[CF_FP_LEN + 1],
    int *created, struct cf_error *err)
{
	char *keyfile = agent_state_path(c, AGENT_KEY_FILE);
	char *certfile = agent_state_path(c, AGENT_CERT_FILE);
	char *cn = xasprintf("certfleetd %s", c->name);
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc;

	rc = cf_identity_load(
	    keyfile, certfile, cn, 0, &key, &cert, created, err);
	if (rc == 0) {
		cf_cert_fingerprint(cert, fp);
		if (*created)
			printf("agent identity %s (ECDSA P-256, CN=%s)\n",
			    certfile, cn);
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	free(keyfile);
	free(certfile);
	free(cn);
	return rc;
}

static int
init_usage(FILE *f)
{
	fprintf(f, "Usage: certfleetd init [--config FILE]\n");
	return f == stdout ? 0 : 2;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS, {0}};
	struct agent_config *c = NULL;
	struct cf_store *s = NULL;
	struct cf_error err;
	const char *copt = NULL;
	char fp[CF_FP_LEN + 1], thumb[CF_THUMB_LEN + 1], *dir = NULL;
	int ch, created = 0, rc = 1;

	cf_error_clear(&err);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'h')
			return init_usage(stdout);
		else
			return agent_bad_option("init", ch, argv);
	}
	if (optind != argc)
		return agent_usage(
		    "init", "unexpected argument %s", argv[optind]);
	if ((c = agent_open_config("init", copt, NULL, NULL)) == NULL)
		return 1;
	dir = agent_state_path(c, AGENT_STORE_DIR);
	if (agent_make_state_dir(c->state, &err) == -1 ||
	    (s = cf_store_open(dir, &err)) == NULL ||
	    make_identity(c, fp, &created, &err) == -1 ||
	    find_host_cert(s, c->name, thumb, &err) == -1)
		goto fail;
	if (thumb[0] == '\0') {
		if (make_host_cert(s, c->name, c->services, thumb, &err) == -1)
			goto fail;
		created = 1;
	}
	if (!created)
		printf("already initialized: %s (agent identity %s/%s, host "
		       "certificate %s for CN=%s); nothing changed\n",
		    c->state, c->state, AGENT_CERT_FILE, thumb, c->name);
	printf("fingerprint %s\n", fp);
	rc = 0;
	goto out;
fail:
	rc = agent_fail("init", &err);
out:
	cf_store_free(s);
	agent_config_free(c);
	free(dir);
	return rc;
}
