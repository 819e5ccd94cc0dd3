/*
 * cmd_export.c - certfleet export THUMBPRINT [-o FILE] [--binary]
 * [--legacy] [--pem] [--no-key] [--password-file F]:
 * Export-ExchangeCertificate [-BinaryEncoded] -Password.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backend.h"
#include "cli.h"
#include "ops.h"

static const char usage[] =
    "Usage: certfleet export THUMBPRINT [-o|--output FILE] [--binary]\n"
    "         [--legacy] [--pem] [--no-key] [--password-file FILE|-]\n"
    "         [--server NAME] [--store DIR]\n"
    "Default: PKCS#12 as Base64 text; --binary: DER PKCS#12;\n"
    "--legacy: 3DES and SHA-1 MAC for Windows Server 2016 and older;\n"
    "--pem: full chain and encrypted PKCS#8 key; --no-key: no key.\n"
    "A pending request exports as its PKCS#10 (PEM; DER with --binary).\n";

/*
 * What the store says of req.arg before a password is asked for: 1 when
 * one is needed (a certificate whose key may go out); 0 when not: a
 * pending request (*request set: it exports as its PKCS#10), or a key
 * that is missing or not exportable, which the export itself then
 * refuses with its reason, and audits, instead of after a prompt in
 * vain.  -1 with err when it names nothing.
 */
static int
needs_password(struct backend *b, const struct backend_req *req, int *request,
    struct cf_error *err)
{
	struct backend_reply *r = backend_replies_new(b);
	const struct cf_view *v;
	int need = -1;

	*request = 0;
	backend_run(b, BACKEND_GET, req, r);
	v = r[0].nviews == 1 ? r[0].views : NULL;
	if (r[0].err.code != CF_OK)
		*err = r[0].err;
	else if (v != NULL && strcmp(v->status, "PendingRequest") == 0) {
		*request = 1;
		need = 0;
	} else
		need = v != NULL && v->has_key && v->exportable;
	backend_replies_free(r, 1);
	return need;
}

const struct option cli_export_opts[] = {
    CLI_COMMON_OPTS,
    {"output", required_argument, NULL, 'o'},
    {"binary", no_argument, NULL, 'b'},
    {"legacy", no_argument, NULL, 'l'},
    {"pem", no_argument, NULL, 'P'},
    {"no-key", no_argument, NULL, 'k'},
    {"password-file", required_argument, NULL, 'p'},
    {NULL, 0, NULL, 0},
};

/* The command line into req, *path and *pwfile: -1 when the export
 * goes on, else the exit status (0 after --help). */
static int
export_args(int argc, char **argv, struct backend_req *req, const char **path,
    const char **pwfile)
{
	struct cf_export_opts *eo = &req->export;
	int c, binary = 0, pem = 0, rc;

	while ((c = getopt_long(
		    argc, argv, ":ho:blPkp:", cli_export_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
			return 0;
		case 'o':
			*path = optarg;
			break;
		case 'b':
			binary = 1;
			break;
		case 'l':
			eo->legacy = 1;
			break;
		case 'P':
			pem = 1;
			break;
		case 'k':
			eo->no_key = 1;
			break;
		case 'p':
			*pwfile = optarg;
			break;
		default:
			return cli_bad_option("export", c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage(
		    "export", "name one certificate by thumbprint");
	if ((rc = cli_no_json("export", "export writes the file itself, "
					"which is not JSON")) != 0)
		return rc;
	if (pem && (binary || eo->legacy))
		return cli_usage("export",
		    "--pem cannot be combined with --binary or --legacy");
	eo->format = pem      ? CF_EXPORT_PEM
		     : binary ? CF_EXPORT_P12
			      : CF_EXPORT_P12_B64;
	if (binary && (*path == NULL || strcmp(*path, "-") == 0) &&
	    isatty(STDOUT_FILENO))
		return cli_usage("export", "refusing to write binary PKCS#12 "
					   "to a terminal; use -o FILE");
	req->arg = argv[optind];
	return -1;
}

/* The export's password into *pw (NULL when none is needed): -1 when it
 * goes on, else the exit status, the failure reported and audited. */
static int
export_password(struct backend *b, struct backend_req *req, const char *pwfile,
    struct cf_secret **pw)
{
	struct cf_export_opts *eo = &req->export;
	struct cf_error err;
	int ask = 1, pending;

	cf_error_clear(&err);
	/* Only when a password would have to be asked for: what can be
	 * checked is checked first (a pending request has no key, and the
	 * agent ignores a password given anyway). */
	if (!eo->no_key && !cf_password_given(pwfile)) {
		if ((ask = needs_password(b, req, &pending, &err)) == -1)
			return backend_fail(b, 0, "export", &err);
		eo->no_key = pending; /* a request exports as its PKCS#10 */
	}
	if (cf_password(pwfile, ask && !eo->no_key, 1,
		"Password for the exported key: ", pw, &err) == -1) {
		backend_audit_failure(b, "export", req->arg, &err);
		return cli_fail("export", &err);
	}
	if (*pw == NULL && !eo->no_key && ask)
		return cli_usage("export",
		    "a password is needed to protect the private key: give "
		    "--password-file FILE, CERTFLEET_PASSWORD, or run on a "
		    "terminal");
	eo->password = *pw ? (*pw)->data : NULL;
	return -1;
}

int
cmd_export(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_secret *pw = NULL;
	struct cf_error err;
	const char *path = NULL, *pwfile = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	if ((rc = export_args(argc, argv, &req, &path, &pwfile)) != -1)
		return rc;
	cf_error_clear(&err);
	if ((rc = backend_open("export", &b)) != 0)
		return rc;
	if (backend_count(b) != 1) {
		rc = cli_usage("export", "export from one server at a time");
		goto out;
	}
	if ((rc = export_password(b, &req, pwfile, &pw)) != -1)
		goto out;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_EXPORT, &req, r);
	if (r[0].err.code != CF_OK) {
		rc = backend_fail(b, 0, "export", &r[0].err);
		goto out;
	}
	if (cli_write_out(path, r[0].data.data, r[0].data.len, 0600, &err) ==
	    -1) {
		backend_audit_failure(b, "export", req.arg, &err);
		rc = cli_fail("export", &err);
		goto out;
	}
	rc = 0;
out:
	backend_replies_free(r, 1);
	cf_secret_free(pw);
	backend_free(b);
	return rc;
}
