/*
 * cmd_fleet.c - setting up remote management: `certfleet id` (the admin
 * identity the agents authorize) and `certfleet fleet add|list|remove`
 * (the agents, each pinned by its identity's fingerprint, as SSH pins
 * host keys), and `fleet group add|list|remove`, names for sets of
 * agents (`--server @web`).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "fleet.h"
#include "identity.h"
#include "output.h"
#include "password.h"
#include "pkcs12.h"

static const char id_usage[] =
    "Usage: certfleet id [--json]\n"
    "       certfleet id --export-p12 FILE [--password-file FILE|-]\n"
    "Creates (once) and shows the admin identity certfleet presents to\n"
    "agents: a key and certificate in $CERTFLEET_HOME (~/.config/certfleet)."
    "\n"
    "--export-p12 writes it as a PKCS#12 file (0600) that a browser\n"
    "imports, for the agents' web console; its password comes from\n"
    "--password-file, CERTFLEET_PASSWORD or the prompt.\n";

static const char fleet_usage[] =
    "Usage: certfleet fleet add NAME HOST:PORT [--fingerprint SHA256:...]\n"
    "       certfleet fleet list [--json] [--no-header] [--format tsv]\n"
    "       certfleet fleet remove NAME\n"
    "       certfleet fleet group add GROUP S1,S2,...\n"
    "       certfleet fleet group remove GROUP [S1,S2,...]\n"
    "       certfleet fleet group list [--json]\n"
    "       (any of them with --fleet FILE; default "
    "$CERTFLEET_HOME/fleet.json)\n"
    "Without --fingerprint, add shows the agent's fingerprint and asks.\n"
    "A group names servers for --server @GROUP; group add creates it or\n"
    "adds servers to it, group remove takes servers out or (without\n"
    "them) removes it.  A server, or a group, that a group or namespace\n"
    "still names is not removed: the error names them.\n";

/* "certfleet admin alice@ws1": the identity's common name, cut to the
 * 64 characters a CN may have. */
static char *
admin_cn(void)
{
	struct passwd *pw = getpwuid(getuid());
	char host[64] = "localhost";
	char *cn;

	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	cn = pw ? xasprintf("certfleet admin %s@%s", pw->pw_name, host)
		: xasprintf(
		      "certfleet admin uid%u@%s", (unsigned)getuid(), host);
	if (strlen(cn) > 64)
		cn[64] = '\0';
	return cn;
}

const struct option cli_id_opts[] = {
    CLI_COMMON_OPTS,
    {"export-p12", required_argument, NULL, 'x'},
    {"password-file", required_argument, NULL, 'p'},
    {NULL, 0, NULL, 0},
};

/*
 * Writes the identity (key, cert; its common name the friendly name a
 * browser lists it by) to path as a PKCS#12 under a password the user
 * gives: AES-256-CBC, PBKDF2 and a SHA-256 MAC (CF_P12_MODERN), which
 * Chromium's and Firefox's NSS and Windows 10+ import.  The file is
 * 0600: it holds the admin's key.
 */
static int
id_export_p12(EVP_PKEY *key, X509 *cert, const char *path, const char *pwfile,
    struct cf_error *err)
{
	struct cf_secret *pw = NULL;
	unsigned char *der = NULL;
	char cn[65] = "certfleet admin";
	size_t len = 0;
	int rc = -1;

	(void)X509_NAME_get_text_by_NID(
	    X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));

	if (cf_password(
		pwfile, 1, 1, "Password for the PKCS#12 file", &pw, err) == -1)
		goto out;
	if (pw == NULL) {
		cf_errorf(err, CF_E_USAGE,
		    "%s: a password is needed to protect the key: give "
		    "--password-file FILE, CERTFLEET_PASSWORD, or run on a "
		    "terminal",
		    path);
		goto out;
	}
	if (cf_pkcs12_build(cert, key, NULL, cn, pw->data, CF_P12_MODERN, &der,
		&len, err) == -1 ||
	    cf_write_file_atomic(path, der, len, 0600, err) == -1)
		goto out;
	rc = 0;
out:
	if (der != NULL)
		OPENSSL_cleanse(der, len);
	free(der);
	cf_secret_free(pw);
	return rc;
}

int
cmd_id(int argc, char **argv)
{
	char *keyfile = NULL, *certfile = NULL, *cn = admin_cn();
	const char *p12 = NULL, *pwfile = NULL;
	char fp[CF_FP_LEN + 1];
	struct cf_error err;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int c, created = 0, rc = 1;

	while ((c = getopt_long(argc, argv, ":h", cli_id_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'x') {
			p12 = optarg;
			continue;
		}
		if (c == 'p') {
			pwfile = optarg;
			continue;
		}
		if (c == 'h') {
			cli_help(id_usage);
			free(cn);
			return 0;
		}
		free(cn);
		return cli_bad_option("id", c, argv);
	}
	if (optind != argc) {
		free(cn);
		return cli_usage("id", "unexpected argument %s", argv[optind]);
	}
	if ((pwfile != NULL && p12 == NULL) ||
	    (p12 != NULL && (strcmp(p12, "-") == 0 || cli.json))) {
		free(cn);
		return cli_usage("id",
		    p12 == NULL ? "--password-file goes with --export-p12"
				: "--export-p12 takes a file name (not -), "
				  "without --json");
	}
	cf_error_clear(&err);
	if ((keyfile = client_home_file("id.key", 1, &err)) == NULL ||
	    (certfile = client_home_file("id.crt", 1, &err)) == NULL ||
	    cf_identity_load(
		keyfile, certfile, cn, 1, &key, &cert, &created, &err) == -1) {
		rc = cli_fail("id", &err);
		goto out;
	}
	cf_cert_fingerprint(cert, fp);
	if (p12 != NULL) {
		if (id_export_p12(key, cert, p12, pwfile, &err) == -1) {
			rc = cli_fail("id", &err);
			goto out;
		}
		printf("%s\n%s: written to %s (PKCS#12, 0600)\n", fp, cn, p12);
	} else if (cli.json)
		out_json(
		    json_pack("{s:s, s:s, s:s, s:b}", "Fingerprint", fp, "Key",
			keyfile, "Certificate", certfile, "Created", created));
	else
		printf("%s\n"
		       "%s: %s, %s%s\n"
		       "Authorize it on each server, as root:\n"
		       "  certfleetd authorize %s --role admin\n",
		    fp, cn, keyfile, certfile, created ? " (created now)" : "",
		    fp);
	rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	free(keyfile);
	free(certfile);
	free(cn);
	return rc;
}

/* Asks the terminal until the answer is yes, no or the fingerprint. */
static int
confirm_pin(const char *name, const char *address, const char *fp)
{
	char line[128], typed[CF_FP_LEN + 1];
	struct cf_error err;
	size_t len;

	fprintf(stderr,
	    "The agent at %s presents the identity\n  %s\n"
	    "Compare it with what `certfleetd fingerprint` prints on that "
	    "server.\nPin it as %s (yes/no/[fingerprint])? ",
	    address, fp, name);
	for (;;) {
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 0;
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (strcmp(line, "yes") == 0)
			return 1;
		if (strcmp(line, "no") == 0)
			return 0;
		if (cf_fingerprint_parse(line, typed, &err) == 0) {
			if (strcmp(typed, fp) == 0)
				return 1;
			fprintf(stderr, "That is not the fingerprint the "
					"agent presents.\n");
			return 0;
		}
		fprintf(stderr, "Please type 'yes', 'no' or the fingerprint: ");
	}
}

/*
 * The fingerprint of the agent at address, seen in a TLS handshake that
 * stops right there: no certificate of ours and no request is sent.
 */
static int
probe(const char *address, char fp[CF_FP_LEN + 1], struct cf_error *err)
{
	struct client_target t;
	struct client_answer ans;
	struct client *c = client_new();

	memset(&t, 0, sizeof(t));
	memset(&ans, 0, sizeof(ans));
	t.name = (char *)address;
	t.address = (char *)address;
	client_request(c, &t, "GET", "/v1/whoami", NULL, 0, &ans);
	client_run(c);
	client_free(c);
	if (ans.fingerprint[0] == '\0' && ans.err.code == CF_OK)
		cf_errorf(
		    &ans.err, CF_E_IO, "%s: no certificate seen", address);
	if (ans.err.code != CF_OK) {
		*err = ans.err;
		client_answer_clear(&ans);
		return -1;
	}
	memcpy(fp, ans.fingerprint, CF_FP_LEN + 1);
	client_answer_clear(&ans);
	return 0;
}

static int
fleet_cmd_add(struct fleet *f, char **args, int nargs, struct cf_error *err)
{
	char fp[CF_FP_LEN + 1];

	if (nargs != 2)
		return cf_errorf(err, CF_E_USAGE,
		    "usage: certfleet fleet add NAME HOST:PORT "
		    "[--fingerprint SHA256:...]");
	if (fleet_check(f, args[0], args[1], err) == -1)
		return -1;
	if (cli.fingerprint != NULL) {
		if (cf_fingerprint_parse(cli.fingerprint, fp, err) == -1)
			return -1;
	} else if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: no terminal to confirm the agent's fingerprint: give "
		    "--fingerprint SHA256:... (`certfleetd fingerprint` prints "
		    "it on that server)",
		    args[0]);
	else if (probe(args[1], fp, err) == -1)
		return -1;
	else if (!confirm_pin(args[0], args[1], fp))
		return cf_errorf(err, CF_E_DENIED,
		    "%s: not added (the fingerprint was not confirmed)",
		    args[0]);
	if (fleet_add(f, args[0], args[1], fp, err) == -1 ||
	    fleet_save(f, err) == -1)
		return -1;
	if (cli.json)
		out_json(json_pack("{s:s, s:s, s:s, s:s}", "Name", args[0],
		    "Address", args[1], "Fingerprint", fp, "Result", "added"));
	else
		printf("%s: %s pinned to %s\n", args[0], args[1], fp);
	return 0;
}

static int
fleet_cmd_list(struct fleet *f, char **args, int nargs, struct cf_error *err)
{
	static const char *const headers[] = {"Name", "Address", "Fingerprint"};
	size_t n = fleet_count(f), i;
	char **cells;

	(void)args;
	if (nargs != 0)
		return cf_errorf(
		    err, CF_E_USAGE, "usage: certfleet fleet list [--json]");
	if (cli.json) {
		json_t *a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s}", "Name",
				   fleet_get(f, i)->name, "Address",
				   fleet_get(f, i)->address, "Fingerprint",
				   fleet_get(f, i)->fingerprint));
		out_json_items(a);
		return 0;
	}
	if (n == 0)
		return 0;
	cells = xcalloc(n * 3, sizeof(*cells));
	for (i = 0; i < n; i++) {
		cells[i * 3] = fleet_get(f, i)->name;
		cells[i * 3 + 1] = fleet_get(f, i)->address;
		cells[i * 3 + 2] = (char *)fleet_get(f, i)->fingerprint;
	}
	out_table(headers, 3, cells, n);
	free(cells);
	return 0;
}

static int
fleet_cmd_remove(struct fleet *f, char **args, int nargs, struct cf_error *err)
{
	if (nargs != 1)
		return cf_errorf(
		    err, CF_E_USAGE, "usage: certfleet fleet remove NAME");
	if (fleet_remove(f, args[0], err) == -1 || fleet_save(f, err) == -1)
		return -1;
	if (cli.json)
		out_json(json_pack(
		    "{s:s, s:s}", "Name", args[0], "Result", "removed"));
	else
		printf("%s: removed from the fleet\n", args[0]);
	return 0;
}

/* fleet group list: Name and Members. */
static int
group_list(struct fleet *f)
{
	static const char *const headers[] = {"Group", "Members"};
	size_t n = fleet_group_count(f), i;
	char **cells;

	if (cli.json) {
		json_t *a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(
			    a, json_pack("{s:s, s:o}", "Name",
				   fleet_group_get(f, i)->name, "Members",
				   fleet_list_json(
				       fleet_group_get(f, i)->members)));
		out_json_items(a);
		return 0;
	}
	if (n == 0)
		return 0;
	cells = xcalloc(n * 2, sizeof(*cells));
	for (i = 0; i < n; i++) {
		cells[i * 2] = fleet_group_get(f, i)->name;
		cells[i * 2 + 1] = fleet_group_get(f, i)->members;
	}
	out_table(headers, 2, cells, n);
	free(cells);
	return 0;
}

/* What group add or remove did to name, said. */
static void
group_said(struct fleet *f, const char *name, const char *result)
{
	const struct fleet_group *g = fleet_group_find(f, name);

	if (cli.json)
		out_json(json_pack("{s:s, s:o*, s:s}", "Name", name, "Members",
		    g ? fleet_list_json(g->members) : NULL, "Result", result));
	else if (g != NULL)
		printf("group %s: %s (%s)\n", name, g->members, result);
	else
		printf("group %s: removed\n", name);
}

static int
fleet_cmd_group(struct fleet *f, char **args, int nargs, struct cf_error *err)
{
	int created;

	if (nargs == 1 && strcmp(args[0], "list") == 0)
		return group_list(f);
	if (nargs == 3 && strcmp(args[0], "add") == 0) {
		if (fleet_group_add(f, args[1], args[2], &created, err) == -1 ||
		    fleet_save(f, err) == -1)
			return -1;
		group_said(f, args[1], created ? "added" : "changed");
		return 0;
	}
	if ((nargs == 2 || nargs == 3) && strcmp(args[0], "remove") == 0) {
		if (fleet_group_remove(
			f, args[1], nargs == 3 ? args[2] : NULL, err) == -1 ||
		    fleet_save(f, err) == -1)
			return -1;
		group_said(f, args[1], nargs == 3 ? "changed" : "removed");
		return 0;
	}
	return cf_errorf(err, CF_E_USAGE,
	    "usage: certfleet fleet group add GROUP S1,S2,... | group remove "
	    "GROUP [S1,...] | group list");
}

static const struct {
	const char *name;
	int (*fn)(struct fleet *, char **, int, struct cf_error *);
} subcommands[] = {
    {"add", fleet_cmd_add},
    {"group", fleet_cmd_group},
    {"list", fleet_cmd_list},
    {"remove", fleet_cmd_remove},
};

const struct option cli_fleet_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

int
cmd_fleet(int argc, char **argv)
{
	struct fleet *f = NULL;
	struct cf_error err;
	char *path = NULL;
	size_t i;
	int c, rc;

	while (
	    (c = getopt_long(argc, argv, ":h", cli_fleet_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(fleet_usage);
			return 0;
		}
		return cli_bad_option("fleet", c, argv);
	}
	if (optind >= argc)
		return cli_usage("fleet", "add, list, remove or group?");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[optind], subcommands[i].name) == 0)
			break;
	if (i == sizeof(subcommands) / sizeof(subcommands[0]))
		return cli_unknown_sub("fleet", argv[optind]);
	if (cli.fingerprint != NULL && strcmp(argv[optind], "add") != 0)
		return cli_usage("fleet", "--fingerprint goes with fleet add");
	cf_error_clear(&err);
	if ((path = fleet_path(1, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL) {
		free(path);
		return cli_fail("fleet", &err);
	}
	rc = subcommands[i].fn(f, argv + optind + 1, argc - optind - 1, &err);
	if (rc == -1)
		rc = cli_fail("fleet", &err);
	fleet_free(f);
	free(path);
	return rc;
}
