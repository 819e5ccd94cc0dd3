/*
 * cmd_revoke.c - certfleet revoke THUMBPRINT --server AGENT [--account
 * NAME] [--reason NAME] [--acme-ca-file FILE] (issue 14): asks the CA
 * that issued a certificate to revoke it (RFC 8555 7.6), the request
 * signed by the ACME account the agent keeps.  The certificate is read
 * from the agent without its key (export --no-key --pem: the key is
 * never unsealed); nothing in any store changes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme.h"
#include "acme_agent.h"
#include "backend.h"
#include "cert.h"
#include "cli.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet revoke THUMBPRINT --server AGENT [--account NAME]\n"
    "         [--reason REASON] [--acme-ca-file FILE] [--json]\n"
    "Asks the CA that issued the certificate to revoke it, signed by the\n"
    "ACME account AGENT keeps (--account: the agent's only one by\n"
    "default).  REASON (RFC 5280; what ACME CAs such as Let's Encrypt\n"
    "take from a subscriber): unspecified (0, the default), keyCompromise\n"
    "(1), affiliationChanged (3), superseded (4), cessationOfOperation (5).\n"
    "Refused here: cACompromise (2) and aACompromise (10), for a CA's own\n"
    "certificates; certificateHold (6), a suspension, which the CA/Browser\n"
    "Forum's rules forbid; removeFromCRL (8), which only lifts a hold;\n"
    "privilegeWithdrawn (9), the CA's to give.\n"
    "A refusal is shown as the CA sent it.  Nothing in the store changes:\n"
    "the certificate stays and is still served; put its successor in place\n"
    "with `certfleet issue` or `certfleet rollout`.\n"
    "--acme-ca-file trusts only FILE's CAs for the CA's HTTPS.\n";

const struct option cli_revoke_opts[] = {
    CLI_COMMON_OPTS,
    {"account", required_argument, NULL, 'a'},
    {"reason", required_argument, NULL, 'r'},
    {"acme-ca-file", required_argument, NULL, 'C'},
    {NULL, 0, NULL, 0},
};

/* The CRLReason codes of RFC 5280 5.3.1 (7 is unused); why is NULL for
 * those a subscriber may give an ACME CA, else why this command will
 * not send it. */
static const struct reason {
	const char *name;
	int code;
	const char *why;
} reasons[] = {
    {"unspecified", 0, NULL},
    {"keyCompromise", 1, NULL},
    {"cACompromise", 2, "it is for a CA's own certificate"},
    {"affiliationChanged", 3, NULL},
    {"superseded", 4, NULL},
    {"cessationOfOperation", 5, NULL},
    {"certificateHold", 6,
	"a suspension, which the CA/Browser Forum's rules forbid for TLS "
	"certificates: ACME CAs refuse it"},
    {"removeFromCRL", 8, "it only lifts a certificateHold"},
    {"privilegeWithdrawn", 9, "it is the CA's to give, not a subscriber's"},
    {"aACompromise", 10, "it is for an attribute authority's certificate"},
};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))
#define REASONS_OK                                                             \
	"unspecified, keyCompromise, affiliationChanged, superseded, "         \
	"cessationOfOperation"

struct opts {
	const char *account, *ca_file;
	const struct reason *reason; /* NULL: none sent (unspecified) */
	char thumb[CF_THUMB_LEN + 1];
};

/* The reason named s (case aside) into o; 0, or 2 after a usage error
 * that lists the names accepted. */
static int
reason_pick(const char *s, struct opts *o)
{
	size_t i;

	for (i = 0; i < N_REASONS; i++)
		if (strcasecmp(s, reasons[i].name) == 0)
			break;
	if (i == N_REASONS)
		return cli_usage("revoke",
		    "--reason %.40s: no such reason; give " REASONS_OK, s);
	if (reasons[i].why != NULL)
		return cli_usage("revoke",
		    "--reason %s (%d): not sent: %s; give " REASONS_OK,
		    reasons[i].name, reasons[i].code, reasons[i].why);
	o->reason = &reasons[i];
	return 0;
}

/* The command line into o: -1 when the revocation goes on, else the
 * exit status (0 after --help). */
static int
revoke_args(int argc, char **argv, struct opts *o)
{
	int c, rc;

	while ((c = getopt_long(
		    argc, argv, ":ha:r:C:", cli_revoke_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
			return 0;
		case 'a':
			o->account = optarg;
			break;
		case 'r':
			if ((rc = reason_pick(optarg, o)) != 0)
				return rc;
			break;
		case 'C':
			o->ca_file = optarg;
			break;
		default:
			return cli_bad_option("revoke", c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage(
		    "revoke", "name one certificate by thumbprint");
	if (!cf_thumb_prefix_ok(argv[optind], o->thumb))
		return cli_usage("revoke",
		    "%.60s: not a thumbprint (8 to 40 hex digits)",
		    argv[optind]);
	return -1;
}

/*
 * The account to sign with: o->account's view, or the agent's only
 * one; a new array of that one view into *out.  0, or the exit status
 * after a message (a usage error when the agent keeps several and none
 * was named).
 */
static int
account_pick(struct acme_agent *a, const struct opts *o, json_t **out)
{
	struct cf_error err;
	json_t *l, *v;
	const char *url;
	char *names = NULL, *t;
	size_t i;
	int rc = 1;

	*out = NULL;
	if ((l = acme_agent_accounts(a, o->account, &err)) == NULL)
		return backend_fail(a->b, 0, "revoke", &err);
	if (json_array_size(l) == 0) {
		cf_errorf(&err, CF_E_NOTFOUND,
		    "no ACME account on the agent: make one with `certfleet "
		    "acme account new`");
		rc = backend_fail(a->b, 0, "revoke", &err);
		goto out;
	}
	if (json_array_size(l) > 1) {
		json_array_foreach(l, i, v) {
			t = xasprintf("%s%s%s", names ? names : "",
			    names ? ", " : "",
			    json_string_value(json_object_get(v, "Name")));
			free(names);
			names = t;
		}
		rc = cli_usage("revoke",
		    "%s keeps several ACME accounts (%s): give --account NAME",
		    backend_server(a->b, 0), names);
		goto out;
	}
	v = json_array_get(l, 0);
	url = json_string_value(json_object_get(v, "Url"));
	if (url == NULL || url[0] == '\0') {
		cf_errorf(&err, CF_E_NOTFOUND,
		    "ACME account %s: not registered at its CA (no account "
		    "URL)",
		    json_string_value(json_object_get(v, "Name")));
		rc = backend_fail(a->b, 0, "revoke", &err);
		goto out;
	}
	*out = l;
	l = NULL;
	rc = 0;
out:
	json_decref(l);
	free(names);
	return rc;
}

/* The leaf of a PEM export (the certificate first, its chain after):
 * new, or NULL with err. */
static X509 *
leaf_of_pem(const struct cf_buf *pem, struct cf_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	if (x == NULL)
		cf_errorf(
		    err, CF_E_PARSE, "the agent's export holds no certificate");
	BIO_free(bio);
	return x;
}

/*
 * The certificate o->thumb names on the agent, as DER into *der (new,
 * free()), its full thumbprint into o->thumb and its serial number (hex)
 * into *serial (new); the key stays sealed.
 * 0, or the exit status after a message naming it.
 */
static int
cert_read(struct acme_agent *a, struct opts *o, char **serial,
    unsigned char **der, size_t *len)
{
	struct backend_req req;
	struct backend_reply *r = backend_replies_new(a->b);
	char thumb[CF_THUMB_LEN + 1];
	struct cf_error err;
	X509 *x = NULL;
	int rc = 1;

	*der = NULL;
	*serial = NULL;
	memset(&req, 0, sizeof(req));
	req.arg = o->thumb;
	backend_run(a->b, BACKEND_GET, &req, r);
	if (r[0].err.code != CF_OK) {
		rc = backend_fail(a->b, 0, "revoke", &r[0].err);
		goto out;
	}
	if (r[0].nviews != 1)
		cf_errorf(
		    &err, CF_E_NOTFOUND, "%s: no such certificate", o->thumb);
	else if (strcmp(r[0].views[0].status, "PendingRequest") == 0)
		cf_errorf(&err, CF_E_NOTFOUND,
		    "%s: a pending request, which no CA has issued yet",
		    r[0].views[0].thumbprint);
	else
		cf_error_clear(&err);
	if (err.code != CF_OK) {
		rc = backend_fail(a->b, 0, "revoke", &err);
		goto out;
	}
	memcpy(o->thumb, r[0].views[0].thumbprint, sizeof(o->thumb));
	*serial = xstrdup(r[0].views[0].serial);
	backend_replies_free(r, 1);
	r = backend_replies_new(a->b);
	req.arg = o->thumb;
	req.export.no_key = 1;
	req.export.format = CF_EXPORT_PEM;
	backend_run(a->b, BACKEND_EXPORT, &req, r);
	if (r[0].err.code != CF_OK) {
		rc = backend_fail(a->b, 0, "revoke", &r[0].err);
		goto out;
	}
	if ((x = leaf_of_pem(&r[0].data, &err)) == NULL)
		goto fail;
	cf_cert_thumbprint(x, thumb);
	if (strcmp(thumb, o->thumb) != 0) {
		cf_errorf(&err, CF_E_MISMATCH,
		    "%s: the agent exported %s instead", o->thumb, thumb);
		goto fail;
	}
	if (cf_cert_to_der(x, der, len) == -1) {
		cf_errorf(&err, CF_E_CRYPTO, "%s: no DER", o->thumb);
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	rc = backend_fail(a->b, 0, "revoke", &err);
out:
	X509_free(x);
	backend_replies_free(r, 1);
	return rc;
}

/* revokeCert at the directory of account view v, signed through a. */
static int
revoke_at_ca(struct acme_agent *a, json_t *v, const struct opts *o,
    const unsigned char *der, size_t len, struct cf_error *err)
{
	struct acme_client_config cfg = {0};
	struct acme_client *c = NULL;
	struct acme_signer s;
	int rc = -1;

	if (acme_agent_signer(v, a, &s, err) == -1)
		return -1;
	cfg.directory = json_string_value(json_object_get(v, "Directory"));
	cfg.ca_file = o->ca_file;
	if ((c = acme_client_new(&cfg, &s, err)) == NULL)
		goto out;
	acme_client_set_kid(c, json_string_value(json_object_get(v, "Url")));
	if (acme_cert_revoke(
		c, der, len, o->reason ? o->reason->code : -1, err) == -1)
		goto out;
	rc = 0;
out:
	acme_client_free(c);
	acme_signer_clear(&s);
	return rc;
}

/* What was done, as a line or as JSON. */
static void
revoke_print(const struct acme_agent *a, const struct opts *o,
    const char *account, const char *serial)
{
	const char *reason = o->reason ? o->reason->name : "unspecified";

	if (cli.json) {
		out_json_items(
		    json_pack("[{s:s, s:s, s:s, s:s, s:s, s:i, s:s}]", "Server",
			backend_server(a->b, 0), "Thumbprint", o->thumb,
			"SerialNumber", serial, "Account", account, "Reason",
			reason, "ReasonCode", o->reason ? o->reason->code : 0,
			"Result", "revoked"));
		return;
	}
	printf("%s: revoked by the CA of account %s (reason %s); the store "
	       "of %s is unchanged: replace the certificate with `certfleet "
	       "issue` or `certfleet rollout`\n",
	    o->thumb, account, reason, backend_server(a->b, 0));
}

int
cmd_revoke(int argc, char **argv)
{
	struct opts o;
	struct acme_agent a;
	struct cf_error err;
	json_t *l = NULL, *v;
	unsigned char *der = NULL;
	char *serial = NULL;
	size_t len = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = revoke_args(argc, argv, &o)) != -1)
		return rc;
	if ((rc = acme_agent_open("revoke", NULL, &a)) != 0)
		return rc;
	if ((rc = account_pick(&a, &o, &l)) != 0)
		goto out;
	v = json_array_get(l, 0);
	a.name = json_string_value(json_object_get(v, "Name"));
	if ((rc = cert_read(&a, &o, &serial, &der, &len)) != 0)
		goto out;
	rc = 1;
	if (revoke_at_ca(&a, v, &o, der, len, &err) == -1) {
		if (a.err.code != CF_OK) /* the agent refused to sign */
			rc = backend_fail(a.b, 0, "revoke", &a.err);
		else {
			/* the CA's refusal, as it sent it */
			cf_error_prefix(&err, "%s: ", o.thumb);
			rc = cli_fail("revoke", &err);
		}
		goto out;
	}
	revoke_print(&a, &o, a.name, serial);
	rc = 0;
out:
	free(serial);
	free(der);
	json_decref(l);
	acme_agent_close(&a);
	return rc;
}
