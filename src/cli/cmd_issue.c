/*
 * cmd_issue.c - certfleet issue NAMESPACE: the namespace's certificate
 * from its ACME issuer, answered by every member, then rolled out
 * (issue.h).  The issuing agent makes the key and the CSR and signs
 * every JWS; this process speaks to the CA and holds no key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "copy.h"
#include "issue.h"
#include "issue_int.h"
#include "util.h"

#define ISSUE_DEADLINE_S 300

static const char usage[] =
    "Usage: certfleet issue NAMESPACE [--acme-ca-file FILE] [--ca-file FILE]\n"
    "         [--alternate N] [--deadline 5m] [--json]\n"
    "Gets the namespace's certificate from its issuer (namespace set\n"
    "--issuer acme:ACCOUNT) and rolls it out to its servers.  The first\n"
    "server of the namespace that keeps the account makes the key (it\n"
    "never leaves that agent) and the request, and signs for the account.\n"
    "HTTP-01: the key authorization is put on every server and fetched\n"
    "from each one's own address and through the balancer (--via) on the\n"
    "issuer's HTTP port before the CA is asked to validate; a server that\n"
    "does not answer stops it, named.  DNS-01: the TXT record is set and\n"
    "waited for on every server to check.  Both are taken back afterwards,\n"
    "on failure too.  Then the chain (or alternate chain N) is completed\n"
    "on the issuing server and `certfleet rollout` moves every server to\n"
    "it.  --acme-ca-file trusts only FILE's CAs for the CA's HTTPS;\n"
    "--ca-file the roots the rollout's handshakes are judged against.\n"
    "--deadline bounds the order (default 5m).\n";

const struct option cli_issue_opts[] = {
    CLI_COMMON_OPTS,
    {"acme-ca-file", required_argument, NULL, 'A'},
    {"ca-file", required_argument, NULL, 'C'},
    {"alternate", required_argument, NULL, 'a'},
    {"deadline", required_argument, NULL, 'd'},
    {NULL, 0, NULL, 0},
};

/* The issuer's string member m, or NULL. */
static const char *
iss(const struct issue *is, const char *m)
{
	return json_string_value(json_object_get(is->issuer, m));
}

/* The first member that keeps the issuer's account: is->src, is->agent
 * and its account view *acct (new). */
static int
find_account(struct issue *is, json_t **acct, struct cf_error *err)
{
	const char *name = iss(is, "account");
	size_t i, n = backend_count(is->members);
	struct cf_error first;
	json_t *l;

	cf_error_clear(&first);
	for (i = 0; i < n; i++) {
		acme_agent_init(
		    &is->agent, backend_target(is->members, i), name);
		if ((l = acme_agent_accounts(&is->agent, name, err)) != NULL) {
			is->src = i;
			*acct = json_incref(json_array_get(l, 0));
			json_decref(l);
			return 0;
		}
		acme_agent_close(&is->agent);
		memset(&is->agent, 0, sizeof(is->agent));
		if (err->code != CF_E_NOTFOUND && first.code == CF_OK) {
			first = *err;
			cf_error_prefix(
			    &first, "%s: ", backend_server(is->members, i));
		}
	}
	if (first.code != CF_OK) {
		*err = first;
		return cf_error_append(err,
		    "; and no other server of the namespace keeps ACME "
		    "account %s",
		    name);
	}
	return cf_errorf(err, CF_E_NOTFOUND,
	    "no server of the namespace keeps ACME account %s (certfleet "
	    "--server SERVER acme account new %s --directory URL makes it "
	    "on one of %s)",
	    name, name, is->ns->servers);
}

/* The certificate's names: the namespace's, then the issuer's san. */
static char *
names_of(const struct issue *is)
{
	const char *san = iss(is, "san");

	return san != NULL ? xasprintf("%s,%s", is->ns->name, san)
			   : xstrdup(is->ns->name);
}

/* request new on the issuing agent: its thumbprint into req, the CSR
 * as DER (new). */
static int
request_new(struct issue *is, const char *names, char req[CF_THUMB_LEN + 1],
    unsigned char **der, size_t *len, struct cf_error *err)
{
	char *subject = xasprintf("CN=%s", is->ns->name);
	json_t *body = json_pack("{s:s, s:s, s:s}", "subject", subject,
		   "domains", names, "key", iss(is, "key")),
	       *ans = NULL;
	const char *t, *csr;
	X509_REQ *x = NULL;
	BIO *bio = NULL;
	int n, rc = -1;

	free(subject);
	*der = NULL;
	if (acme_agent_call(
		&is->agent, "POST", "/v1/request/new", body, &ans, err) == -1) {
		cf_error_prefix(err,
		    "%s: request new: ", backend_server(is->members, is->src));
		goto out;
	}
	t = json_string_value(json_object_get(ans, "thumbprint"));
	csr = json_string_value(json_object_get(ans, "csr"));
	if (t == NULL || strlen(t) != CF_THUMB_LEN || csr == NULL ||
	    (bio = BIO_new_mem_buf(csr, -1)) == NULL ||
	    (x = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509_REQ(x, der)) <= 0) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: request new: the answer does "
		    "not read",
		    backend_server(is->members, is->src));
		goto out;
	}
	memcpy(req, t, CF_THUMB_LEN + 1);
	*len = (size_t)n;
	rc = 0;
out:
	X509_REQ_free(x);
	BIO_free(bio);
	json_decref(body);
	json_decref(ans);
	return rc;
}

/* Removes the pending request req again (an order that failed). */
static void
request_drop(struct issue *is, const char *req)
{
	json_t *body = json_pack("{s:s}", "thumbprint", req);
	struct cf_error err;

	if (acme_agent_call(
		&is->agent, "POST", "/v1/remove", body, NULL, &err) == -1)
		fprintf(stderr,
		    "certfleet: %s: %s: %s: the pending request %.8s not "
		    "removed: %s\n",
		    is->op, is->ns->name, backend_server(is->members, is->src),
		    req, err.msg);
	json_decref(body);
}

/* Every authorization answered, then the CA told, then each waited on. */
static int
authorize(struct issue *is, const struct acme_order *o, struct cf_error *err)
{
	struct acme_authz *az[ACME_LIST_MAX] = {0}, *done;
	const char *urls[ACME_LIST_MAX], *authz[ACME_LIST_MAX];
	struct cf_error e;
	size_t i, n = 0;
	int rc = -1, asked = 0;

	for (i = 0; i < o->n_authorizations && i < ACME_LIST_MAX; i++) {
		if (acme_authz_get(is->c, o->authorizations[i], &az[i], err))
			goto out;
		if (az[i]->status == ACME_S_VALID)
			continue; /* the CA still knows this one */
		if (az[i]->status != ACME_S_PENDING) {
			cf_errorf(err, CF_E_CONFLICT,
			    "%s: the authorization is %s at the CA",
			    az[i]->identifier, acme_status_name(az[i]->status));
			goto out;
		}
		if (issue_answer(is, az[i], &urls[n], err) == -1)
			goto out;
		authz[n++] = o->authorizations[i];
	}
	for (i = 0; i < n; i++)
		if (acme_challenge_respond(is->c, urls[i], err) == -1)
			goto out;
	asked = 1;
	for (i = 0; i < n; i++) {
		done = NULL;
		rc = acme_authz_wait(
		    is->c, authz[i], is->deadline_ms, &done, err);
		if (rc == -1 && done != NULL)
			cf_error_prefix(err, "%s: ", done->identifier);
		acme_authz_free(done);
		if (rc == -1)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < ACME_LIST_MAX; i++) {
		/* given up before the CA was asked: leave nothing pending */
		if (rc == -1 && !asked && az[i] != NULL &&
		    az[i]->status == ACME_S_PENDING &&
		    acme_authz_deactivate(is->c, o->authorizations[i], &e) ==
			-1)
			fprintf(stderr,
			    "certfleet: %s: %s: %s: the authorization stays "
			    "pending at the CA: %s\n",
			    is->op, is->ns->name, az[i]->identifier, e.msg);
		acme_authz_free(az[i]);
	}
	return rc;
}

/* The order for names, answered, finalized with csr; the chain (PEM,
 * new) into *pem. */
static int
order(struct issue *is, const char *names, const unsigned char *csr,
    size_t csrlen, int alternate, char **pem, size_t *pemlen,
    struct cf_error *err)
{
	const char *list[ACME_LIST_MAX];
	char *copy = xstrdup(names), *tok, *save = NULL, *url = NULL;
	struct acme_order *o = NULL, *done = NULL;
	size_t n = 0;
	int rc = -1;

	for (tok = strtok_r(copy, ",", &save); tok && n < ACME_LIST_MAX;
	     tok = strtok_r(NULL, ",", &save))
		list[n++] = tok;
	if (acme_order_new(is->c, list, n, iss(is, "profile"), &o, &url, err) ||
	    authorize(is, o, err) == -1)
		goto out;
	issue_withdraw(is); /* validated: nothing more to answer */
	if (acme_order_wait(
		is->c, url, ACME_S_READY, is->deadline_ms, &done, err) == -1)
		goto out;
	acme_order_free(done);
	done = NULL;
	if (acme_order_finalize(is->c, o, csr, csrlen, err) == -1 ||
	    acme_order_wait(
		is->c, url, ACME_S_VALID, is->deadline_ms, &done, err) == -1)
		goto out;
	if (done->certificate == NULL) {
		cf_errorf(err, CF_E_PARSE, "order: valid, no certificate URL");
		goto out;
	}
	if (acme_cert_download(
		is->c, done->certificate, alternate, pem, pemlen, err) == -1)
		goto out;
	rc = 0;
out:
	acme_order_free(o);
	acme_order_free(done);
	free(url);
	free(copy);
	return rc;
}

/* request complete on the issuing agent with the chain: the new
 * certificate's thumbprint into thumb. */
static int
complete(struct issue *is, const char *pem, size_t len,
    char thumb[CF_THUMB_LEN + 1], struct cf_error *err)
{
	char *data = cf_base64_new((const unsigned char *)pem, len);
	json_t *body = json_pack("{s:[{s:s, s:s}]}", "files", "name",
		   "acme-chain.pem", "data", data),
	       *ans = NULL;
	const char *t;
	int rc = -1;

	free(data);
	if (acme_agent_call(&is->agent, "POST", "/v1/request/complete", body,
		&ans, err) == -1)
		cf_error_prefix(err, "%s: request complete: ",
		    backend_server(is->members, is->src));
	else if ((t = json_string_value(json_object_get(ans, "thumbprint"))) ==
		     NULL ||
		 strlen(t) != CF_THUMB_LEN)
		cf_errorf(err, CF_E_PARSE,
		    "%s: request complete: the answer does not read",
		    backend_server(is->members, is->src));
	else {
		memcpy(thumb, t, CF_THUMB_LEN + 1);
		rc = 0;
	}
	json_decref(body);
	json_decref(ans);
	return rc;
}

/* The DNS-01 settings of the issuer into is->dns. */
static void
dns_config(struct issue *is)
{
	json_t *check = json_object_get(is->issuer, "dns_check"), *v;
	size_t i;

	memset(&is->dns, 0, sizeof(is->dns));
	is->dns.server = iss(is, "dns_server");
	is->dns.key_file = iss(is, "dns_key_file");
	is->dns.hook = iss(is, "dns_hook");
	json_array_foreach(check, i, v)
		if (is->dns.ncheck < DNS01_CHECK_MAX)
			is->dns.check[is->dns.ncheck++] = json_string_value(v);
	is->dns.timeout_ms = ISSUE_CHECK_MS * 2;
}

/* The ACME client of account view acct, signing through the agent. */
static int
client_open(struct issue *is, json_t *acct, const struct issue_opts *o,
    struct acme_signer *s, struct cf_error *err)
{
	struct acme_client_config cfg = {0};
	const char *url = json_string_value(json_object_get(acct, "Url"));

	if (url == NULL || url[0] == '\0')
		return cf_errorf(err, CF_E_CONFLICT,
		    "ACME account %s: not registered at its CA (certfleet "
		    "acme account new did not finish)",
		    iss(is, "account"));
	cfg.directory = json_string_value(json_object_get(acct, "Directory"));
	cfg.ca_file = o->acme_ca_file;
	if (acme_agent_signer(acct, &is->agent, s, err) == -1 ||
	    (is->c = acme_client_new(&cfg, s, err)) == NULL ||
	    acme_jwk_thumbprint(s->jwk, is->thumb, err) == -1)
		return -1;
	acme_client_set_kid(is->c, url);
	return 0;
}

/*
 * Whether the issuing agent can complete thumb's chain to a root it
 * trusts: every member would refuse to deploy one it cannot, so a CA
 * whose root the servers lack stops here, before any rollout, saying
 * what to do.  -1 with err.
 */
static int
chain_trusted(struct issue *is, const char *thumb, struct cf_error *err)
{
	char *path = xasprintf("/v1/certificates?thumbprint=%s", thumb);
	json_t *ans = NULL, *v;
	const char *st, *top;
	int rc = -1;

	if (acme_agent_call(&is->agent, "GET", path, NULL, &ans, err) == -1)
		cf_error_prefix(
		    err, "%s: ", backend_server(is->members, is->src));
	else if ((st = json_string_value(json_object_get(
		      v = json_array_get(ans, 0), "Status"))) == NULL)
		cf_errorf(err, CF_E_PARSE, "%s: %.8s: the view does not read",
		    backend_server(is->members, is->src), thumb);
	else if (strcmp(st, "Valid") != 0) {
		top = json_string_value(json_object_get(v, "Issuer"));
		cf_errorf(err, CF_E_CONFLICT,
		    "%s was issued and completed on %s, but it is %s there "
		    "(issuer %s): no server would deploy it.  Import the CA's "
		    "root on every server (certfleet import ROOT.pem --server "
		    "%s), then certfleet rollout %s --certificate %s",
		    thumb, backend_server(is->members, is->src), st,
		    top ? top : "?", is->ns->servers, is->ns->name, thumb);
	} else
		rc = 0;
	json_decref(ans);
	free(path);
	return rc;
}

/* The namespace's rollout to thumb from the issuing agent. */
static int
roll_out(struct issue *is, const struct issue_opts *o, const char *thumb)
{
	char *argv[9];
	int argc = 0;

	argv[argc++] = (char *)"rollout";
	argv[argc++] = (char *)is->ns->name;
	argv[argc++] = (char *)"--certificate";
	argv[argc++] = (char *)thumb;
	argv[argc++] = (char *)"--from";
	argv[argc++] = (char *)backend_server(is->members, is->src);
	if (o->ca_file != NULL) {
		argv[argc++] = (char *)"--ca-file";
		argv[argc++] = (char *)o->ca_file;
	}
	argv[argc] = NULL;
	optind = 0;
	return cmd_rollout(argc, argv);
}

/* The order, from request new to request complete; new into thumb. */
static int
obtain(struct issue *is, const struct issue_opts *o, json_t *acct,
    char thumb[CF_THUMB_LEN + 1], struct cf_error *err)
{
	struct acme_signer s;
	char req[CF_THUMB_LEN + 1] = "", *names = names_of(is), *pem = NULL;
	unsigned char *csr = NULL;
	size_t csrlen = 0, pemlen = 0;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	dns_config(is);
	if (client_open(is, acct, o, &s, err) == -1 ||
	    request_new(is, names, req, &csr, &csrlen, err) == -1)
		goto out;
	if (order(is, names, csr, csrlen, o->alternate, &pem, &pemlen, err) ==
		-1 ||
	    complete(is, pem, pemlen, thumb, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1 && is->agent.err.code != CF_OK)
		*err = is->agent.err; /* the agent refused to sign */
	issue_withdraw(is);
	if (rc == -1 && req[0] != '\0')
		request_drop(is, req);
	acme_client_free(is->c);
	is->c = NULL;
	acme_signer_clear(&s);
	OPENSSL_free(csr);
	free(pem);
	free(names);
	return rc;
}

int
issue_run(
    const char *name, const struct issue_opts *o, char thumb[CF_THUMB_LEN + 1])
{
	char got[CF_THUMB_LEN + 1] = "", *path = NULL;
	struct issue is;
	struct fleet *f = NULL;
	struct cf_error err;
	json_t *acct = NULL;
	long deadline = o->deadline_s > 0 ? o->deadline_s : ISSUE_DEADLINE_S;
	int rc = 1;

	memset(&is, 0, sizeof(is));
	is.op = o->op != NULL ? o->op : "issue";
	is.deadline_ms = cf_now_ms() + deadline * 1000;
	if (thumb != NULL)
		thumb[0] = '\0';
	if ((path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL) {
		rc = cli_fail(is.op, &err);
		goto out;
	}
	if ((is.ns = fleet_ns_find(f, name)) == NULL) {
		rc = cli_usage(is.op,
		    "%s: no such namespace (certfleet namespace list shows "
		    "them)",
		    name);
		goto out;
	}
	if ((is.issuer = is.ns->issuer) == NULL) {
		rc = cli_usage(is.op,
		    "%s: the namespace has no issuer (certfleet namespace "
		    "set %s --issuer acme:ACCOUNT)",
		    is.ns->name, is.ns->name);
		goto out;
	}
	if (fleet_registry_get(f)->etcd) {
		rc = cli_usage(is.op,
		    "%s: on an etcd registry the namespace's coordinator "
		    "issues; certfleet issue drives the file registry only",
		    is.ns->name);
		goto out;
	}
	if ((rc = copy_open_agents(is.op, is.ns->servers, &is.members)) != 0)
		goto out;
	rc = 1;
	if (find_account(&is, &acct, &err) == -1 ||
	    obtain(&is, o, acct, got, &err) == -1) {
		fprintf(stderr, "certfleet: %s: %s: %s%s\n", is.op, is.ns->name,
		    err.msg,
		    strstr(err.msg, "SSL certificate problem") != NULL &&
			    o->acme_ca_file == NULL
			? " (a CA whose HTTPS a private root signs: "
			  "--acme-ca-file ROOT.pem)"
			: "");
		goto out;
	}
	if (thumb != NULL)
		memcpy(thumb, got, sizeof(got));
	if (!cli.json)
		printf("%s: issued %s by ACME account %s, completed on %s\n",
		    is.ns->name, got, iss(&is, "account"),
		    backend_server(is.members, is.src));
	fflush(stdout);
	if (chain_trusted(&is, got, &err) == -1) {
		fprintf(stderr, "certfleet: %s: %s: %s\n", is.op, is.ns->name,
		    err.msg);
		goto out;
	}
	rc = roll_out(&is, o, got);
out:
	if (is.agent.c != NULL)
		acme_agent_close(&is.agent);
	json_decref(acct);
	backend_free(is.members);
	fleet_free(f);
	free(path);
	return rc;
}

int
cmd_issue(int argc, char **argv)
{
	struct issue_opts o;
	char *end;
	int c;

	memset(&o, 0, sizeof(o));
	o.op = "issue";
	while ((c = getopt_long(
		    argc, argv, ":hA:C:a:d:", cli_issue_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		} else if (c == 'A')
			o.acme_ca_file = optarg;
		else if (c == 'C')
			o.ca_file = optarg;
		else if (c == 'a') {
			o.alternate = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || o.alternate < 0 ||
			    o.alternate > 16)
				return cli_usage("issue",
				    "--alternate %s: the alternate chain's "
				    "number, 1 to 16 (0: the default chain)",
				    optarg);
		} else if (c == 'd') {
			struct cf_error err;

			if (fleet_duration_parse(optarg, &o.deadline_s, &err) ==
				-1 ||
			    o.deadline_s < 10)
				return cli_usage("issue",
				    "--deadline %s: a duration of at least 10s "
				    "(30s, 5m, 1h)",
				    optarg);
		} else
			return cli_bad_option("issue", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage("issue", "name one NAMESPACE");
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("issue", "the namespace's servers are asked, "
					  "not --server or --store");
	return issue_run(argv[optind], &o, NULL);
}
