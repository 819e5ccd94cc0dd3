/*
 * cmd_clients.c - who may use the API: certfleetd authorize, revoke,
 * clients (the list), and fingerprint (what clients pin).  The client
 * list lives in the store, so a running agent sees a change at its next
 * request.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "agent.h"
#include "api.h"
#include "identity.h"
#include "util.h"
#include "view.h"

#define CLIENTS_RULE                                                           \
	"-------------------------------------------------------------------"  \
	"-----"

/* Changes the client list in one transaction with its audit record. */
static int
client_change(struct cf_store *s, const char *op, const char *fp,
    const char *role, struct cf_error *err)
{
	char *outcome;
	int rc = -1;

	outcome = role ? xasprintf("%s authorized as %s", fp, role)
		       : xasprintf("%s revoked", fp);
	if (cf_store_begin(s, err) == -1)
		goto out;
	if ((role ? cf_store_client_set(s, fp, role, err)
		  : cf_store_client_remove(s, fp, err)) == -1 ||
	    cf_store_audit(s, agent_local_actor(), op, "", outcome, err) ==
		-1 ||
	    cf_store_commit(s, err) == -1) {
		cf_store_rollback(s);
		goto out;
	}
	rc = 0;
out:
	free(outcome);
	return rc;
}

/*
 * The options of authorize and revoke: --config, and --role when role
 * is not NULL.  The fingerprint argument into fp.  -1 after printing a
 * usage error (*status is the exit status), 0 when --help was shown.
 */
static int
client_args(const char *op, int argc, char **argv, const char **copt,
    const char **role, char fp[CF_FP_LEN + 1], int *status)
{
	static const struct option opts[] = {
	    AGENT_COMMON_OPTS, {"role", required_argument, NULL, 'r'}, {0}};
	const char *usage =
	    role ? "FINGERPRINT --role admin|reader" : "FINGERPRINT";
	struct cf_error err;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			*copt = optarg;
		else if (ch == 'r' && role != NULL)
			*role = optarg;
		else if (ch == 'h') {
			printf("Usage: certfleetd %s %s [--config FILE]\n", op,
			    usage);
			*status = 0;
			return -1;
		} else {
			*status = agent_bad_option(op, ch, argv);
			return -1;
		}
	}
	*status = 2;
	if (argc - optind != 1) {
		*status =
		    agent_usage(op, "give one fingerprint (%s %s)", op, usage);
		return -1;
	}
	if (role != NULL &&
	    (*role == NULL || cf_role_parse(*role) == CF_ROLE_NONE)) {
		*status = agent_usage(op, "give --role admin or --role reader");
		return -1;
	}
	cf_error_clear(&err);
	if (cf_fingerprint_parse(argv[optind], fp, &err) == -1) {
		*status = agent_fail(op, &err);
		return -1;
	}
	return 0;
}

/* authorize and revoke: role NULL revokes. */
static int
client_cmd(const char *op, int argc, char **argv, int with_role)
{
	struct agent_config *c = NULL;
	struct cf_store *s = NULL;
	struct cf_error err;
	const char *copt = NULL, *role = NULL;
	char fp[CF_FP_LEN + 1];
	int rc;

	if (client_args(
		op, argc, argv, &copt, with_role ? &role : NULL, fp, &rc) == -1)
		return rc;
	rc = 1;
	cf_error_clear(&err);
	if ((c = agent_open_config(op, copt, NULL, NULL)) == NULL ||
	    (s = agent_open_store(op, c)) == NULL)
		goto out;
	if (client_change(s, op, fp, role, &err) == -1) {
		rc = agent_fail(op, &err);
		goto out;
	}
	if (role != NULL)
		printf("%s may use %s as %s\n", fp, c->name, role);
	else
		printf("%s may no longer use %s\n", fp, c->name);
	rc = 0;
out:
	cf_store_free(s);
	agent_config_free(c);
	return rc;
}

int
cmd_authorize(int argc, char **argv)
{
	return client_cmd("authorize", argc, argv, 1);
}

int
cmd_revoke(int argc, char **argv)
{
	return client_cmd("revoke", argc, argv, 0);
}

/*
 * The client list as JSON: the envelope certfleet's own JSON uses
 * (docs/json.md), {"SchemaVersion": 1, "Items": [...]}, one object per
 * client with PascalCase keys.  -1 when it cannot be encoded.
 */
static int
clients_json(const struct cf_client *cl, size_t n)
{
	json_t *doc = json_object(), *a = json_array();
	char when[21], *text;
	size_t i;

	json_object_set_new(doc, "SchemaVersion", json_integer(1));
	for (i = 0; i < n; i++) {
		json_t *o = json_object();
		cf_time_iso(cl[i].since, when);
		json_object_set_new(
		    o, "Fingerprint", cf_json_string(cl[i].fingerprint));
		json_object_set_new(o, "Role", cf_json_string(cl[i].role));
		json_object_set_new(o, "Since", json_string(when));
		json_object_set_new(o, "By", cf_json_string(cl[i].by));
		json_array_append_new(a, o);
	}
	json_object_set_new(doc, "Items", a);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* The client list as a table; who else gets in, below it. */
static void
clients_table(
    const struct agent_config *c, const struct cf_client *cl, size_t n)
{
	char when[21];
	size_t i;

	if (n > 0)
		printf("%-71s %-6s %-20s %s\n%.71s %.6s %.20s %.2s\n",
		    "Fingerprint", "Role", "Since", "By", CLIENTS_RULE,
		    CLIENTS_RULE, CLIENTS_RULE, CLIENTS_RULE);
	for (i = 0; i < n; i++) {
		cf_time_iso(cl[i].since, when);
		printf("%-71s %-6s %-20s %s\n", cl[i].fingerprint, cl[i].role,
		    when, cl[i].by[0] ? cl[i].by : "-");
	}
	if (n == 0)
		printf("no client is authorized on %s (certfleetd authorize "
		       "FINGERPRINT --role admin)\n",
		    c->name);
	if (c->admin_ca != NULL)
		printf("and any client certificate issued under %s, as admin\n",
		    c->admin_ca);
	if (c->socket != NULL)
		printf("and root on %s, as admin\n", c->socket);
}

/* certfleetd clients [--json]: who may use the API, as what, since when
 * and by whose word. */
int
cmd_clients(int argc, char **argv)
{
	static const struct option opts[] = {
	    AGENT_COMMON_OPTS, {"json", no_argument, NULL, 'j'}, {0}};
	struct agent_config *c = NULL;
	struct cf_store *s = NULL;
	struct cf_client *cl = NULL;
	struct cf_error err;
	const char *copt = NULL;
	size_t n = 0;
	int ch, json = 0, rc = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'j')
			json = 1;
		else if (ch == 'h') {
			printf("Usage: certfleetd clients [--json] [--config "
			       "FILE]\n");
			return 0;
		} else
			return agent_bad_option("clients", ch, argv);
	}
	if (optind != argc)
		return agent_usage(
		    "clients", "unexpected argument %s", argv[optind]);
	cf_error_clear(&err);
	if ((c = agent_open_config("clients", copt, NULL, NULL)) == NULL ||
	    (s = agent_open_store("clients", c)) == NULL)
		goto out;
	if (cf_store_client_list(s, &cl, &n, &err) == -1) {
		rc = agent_fail("clients", &err);
		goto out;
	}
	if (json && clients_json(cl, n) == -1) {
		cf_errorf(&err, CF_E_INTERNAL,
		    "the client list could not be "
		    "encoded as JSON");
		rc = agent_fail("clients", &err);
		goto out;
	}
	if (!json)
		clients_table(c, cl, n);
	rc = 0;
out:
	cf_clients_free(cl, n);
	cf_store_free(s);
	agent_config_free(c);
	return rc;
}

/* Reads only the certificate: anyone who may read it may print this. */
int
cmd_fingerprint(int argc, char **argv)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS, {0}};
	struct agent_config *c = NULL;
	const char *copt = NULL;
	char fp[CF_FP_LEN + 1], *path = NULL;
	X509 *cert = NULL;
	FILE *f = NULL;
	int ch, rc = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'h') {
			printf("Usage: certfleetd fingerprint [--config "
			       "FILE]\n");
			return 0;
		} else
			return agent_bad_option("fingerprint", ch, argv);
	}
	if (optind != argc)
		return agent_usage(
		    "fingerprint", "unexpected argument %s", argv[optind]);
	if ((c = agent_open_config("fingerprint", copt, NULL, NULL)) == NULL)
		return 1;
	path = agent_state_path(c, AGENT_CERT_FILE);
	if ((f = fopen(path, "r")) == NULL ||
	    (cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr,
		    "certfleetd: fingerprint: %s: %s; run certfleetd init "
		    "first\n",
		    path, f ? "not a PEM certificate" : "cannot read it");
		goto out;
	}
	cf_cert_fingerprint(cert, fp);
	printf("%s\n", fp);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_free(cert);
	free(path);
	agent_config_free(c);
	return rc;
}
