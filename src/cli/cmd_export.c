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
    "Usage: certfleet export THUMBPRINT [-o FILE] [--binary] [--legacy]\n"
    "         [--pem] [--no-key] [--password-file FILE|-]\n"
    "         [--server NAME] [--store DIR]\n"
    "Default: PKCS#12 as Base64 text; --binary: DER PKCS#12;\n"
    "--legacy: 3DES and SHA-1 MAC for Windows Server 2016 and older;\n"
    "--pem: full chain and encrypted PKCS#8 key; --no-key: no key.\n"
    "A pending request exports as its PKCS#10 (PEM; DER with --binary).\n";

/*
 * Whether req.arg names a pending request, which has no key to protect:
 * 1 or 0; -1 with err when it names nothing (then no password is asked
 * for in vain).
 */
static int
is_request(struct backend *b, const struct backend_req *req,
    struct cf_error *err)
{
	struct backend_reply *r = backend_replies_new(b);
	int yes = -1;

	backend_run(b, BACKEND_GET, req, r);
	if (r[0].err.code != CF_OK)
		*err = r[0].err;
	else
		yes = r[0].nviews == 1 &&
		      strcmp(r[0].views[0].status, "PendingRequest") == 0;
	backend_replies_free(r, 1);
	return yes;
}

int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"output", required_argument, NULL, 'o'},
	    {"binary", no_argument, NULL, 'b'},
	    {"legacy", no_argument, NULL, 'l'},
	    {"pem", no_argument, NULL, 'P'},
	    {"no-key", no_argument, NULL, 'k'},
	    {"password-file", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_export_opts *eo = &req.export;
	struct cf_secret *pw = NULL;
	struct cf_error err;
	const char *path = NULL, *pwfile = NULL;
	int c, binary = 0, pem = 0, rc = 1;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, ":ho:blPkp:", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'o':
			path = optarg;
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
			pwfile = optarg;
			break;
		default:
			return cli_bad_option("export", c, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage("export", "name one certificate by thumbprint");
	if ((rc = cli_no_json("export", "export writes the file itself, "
					"which is not JSON")) != 0)
		return rc;
	if (pem && (binary || eo->legacy))
		return cli_usage("export",
		    "--pem cannot be combined with --binary or --legacy");
	eo->format = pem ? CF_EXPORT_PEM
			 : binary ? CF_EXPORT_P12 : CF_EXPORT_P12_B64;
	if (binary && (path == NULL || strcmp(path, "-") == 0) &&
	    isatty(STDOUT_FILENO))
		return cli_usage("export", "refusing to write binary PKCS#12 "
					   "to a terminal; use -o FILE");
	req.arg = argv[optind];
	cf_error_clear(&err);
	if ((rc = backend_open("export", &b)) != 0)
		return rc;
	if (backend_count(b) != 1) {
		rc = cli_usage("export", "export from one server at a time");
		goto out;
	}
	/* Only when a password would have to be asked for: a pending request
	 * has no key (the agent ignores a password given anyway). */
	if (!eo->no_key && !cli_password_given(pwfile)) {
		int pending = is_request(b, &req, &err);
		if (pending == -1) {
			rc = backend_fail(b, 0, "export", &err);
			goto out;
		}
		eo->no_key = pending; /* a request exports as its PKCS#10 */
	}
	if (cli_password(pwfile, !eo->no_key, 1,
		"Password for the exported key: ", &pw, &err) == -1) {
		backend_audit_failure(b, "export", req.arg, &err);
		rc = cli_fail("export", &err);
		goto out;
	}
	if (pw == NULL && !eo->no_key) {
		rc = cli_usage("export",
		    "a password is needed to protect the private key: give "
		    "--password-file FILE, CERTFLEET_PASSWORD, or run on a "
		    "terminal");
		goto out;
	}
	eo->password = pw ? pw->data : NULL;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_EXPORT, &req, r);
	if (r[0].err.code != CF_OK) {
		rc = backend_fail(b, 0, "export", &r[0].err);
		goto out;
	}
	if (cli_write_out(path, r[0].data.data, r[0].data.len, 0600, &err) == -1) {
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
