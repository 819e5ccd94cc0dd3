/*
 * cmd_import.c - certfleet import FILE... [--exportable]
 * [--friendly-name N] [--services S,...] [--force] [--password-file F]:
 * Import-ExchangeCertificate, for any number of files, all or nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bundle.h"
#include "backend.h"
#include "cli.h"
#include "ops.h"
#include "output.h"

/* Tries of a password typed at the terminal before the import fails. */
#define PASSWORD_TRIES 3

static const char usage[] =
    "Usage: certfleet import FILE... [--exportable] [--friendly-name N]\n"
    "         [--services S,...] [--force] [--password-file FILE|-]\n"
    "         [--server NAME,...|all] [--store DIR]\n"
    "Reads PEM, DER, PKCS#7 (.p7b) and PKCS#12 (.pfx/.p12, DER or Base64)."
    "\nThe private key is not exportable unless --exportable.\n";

static void
progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	fprintf(stderr, "\rreading %zu/%zu%s", done, total,
	    done == total ? "\n" : "");
}

/* The results of every server that imported (and, in JSON, the error
 * of every one that did not); Server named in the table when several
 * did the work. */
static void
print_results(const struct backend *b, const struct backend_reply *r)
{
	int several = backend_count(b) > 1;
	json_t *a = json_array();
	size_t i, j;

	for (i = 0; i < backend_count(b); i++) {
		if (r[i].err.code != CF_OK)
			json_array_append_new(a,
			    out_error_json(backend_server(b, i), r[i].err.msg));
		for (j = 0; r[i].err.code == CF_OK && j < r[i].nresults; j++) {
			const struct cf_import_result *x = &r[i].results[j];
			json_array_append_new(
			    a, out_result_json(backend_server(b, i), x));
			if (cli.json)
				continue;
			if (several)
				printf("%s  ", backend_server(b, i));
			printf("%s  %s  %s\n", x->thumbprint,
			    x->services[0] ? x->services : "-", x->what);
			if (x->detail != NULL)
				cli_print_lines("  ", x->detail);
		}
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
}

/* True when a server wants a password: then one is asked and only those
 * servers are asked again. */
static int
wants_password(const struct backend *b, struct backend_reply *r)
{
	size_t i;
	int any = 0;

	for (i = 0; i < backend_count(b); i++) {
		r[i].todo = r[i].err.code == CF_E_PASSWORD;
		any |= r[i].todo;
	}
	return any;
}

/* The first reply that wants a password: its error. */
static const struct cf_error *
password_error(
    const struct backend *b, const struct backend_reply *r, size_t *at)
{
	size_t i;

	for (i = 0; i < backend_count(b); i++)
		if (r[i].err.code == CF_E_PASSWORD) {
			*at = i;
			return &r[i].err;
		}
	return NULL;
}

/* The input a password error names ("NAME: ..."), NULL when none. */
static const char *
file_of(const struct cf_error *e, const struct cf_input *in, size_t n)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strlen(in[i].name);
		if (strncmp(e->msg, in[i].name, len) == 0 &&
		    strncmp(e->msg + len, ": ", 2) == 0)
			return in[i].name;
	}
	return NULL;
}

/*
 * At a terminal, a file needs a password nobody gave: ask for it, naming
 * the file, and run the import again on the servers that wanted it; a
 * wrong password is said and asked again, three tries in all.  -1 (with
 * err) only when no password could be read.
 */
static int
ask_and_retry(struct backend *b, struct backend_req *req,
    struct backend_reply *r, struct cf_secret **pw, struct cf_error *err)
{
	const struct cf_error *e;
	const char *file;
	char *prompt;
	size_t at = 0;
	int tries, said = 0;

	for (tries = 0; tries < PASSWORD_TRIES && wants_password(b, r);
	     tries++) {
		e = password_error(b, r, &at);
		if (tries > 0 && !said)
			backend_fail(b, at, "import", e); /* wrong: say so */
		said = 0;
		file = file_of(e, req->in, req->nin);
		prompt = file ? xasprintf("Password for %s: ", file)
			      : xstrdup("Password: ");
		cf_secret_free(*pw);
		*pw = NULL;
		if (cf_password(NULL, 1, 0, prompt, pw, err) == -1 &&
		    err->code != CF_E_USAGE) {
			free(prompt);
			return -1; /* the terminal is gone */
		}
		free(prompt);
		if (*pw == NULL) { /* an empty line: a try, said */
			cli_fail("import", err);
			said = 1;
			continue;
		}
		req->import.password = (*pw)->data;
		backend_run(b, BACKEND_IMPORT, req, r);
	}
	return 0;
}

/* Reports every failure; the exit status of the first, 0 when none. */
static int
report(const struct backend *b, const struct backend_reply *r, int pw_given)
{
	struct cf_error e;
	size_t i;
	int rc = 0, status;

	for (i = 0; i < backend_count(b); i++) {
		if (r[i].err.code == CF_OK)
			continue;
		e = r[i].err;
		if (e.code == CF_E_PASSWORD && !pw_given) {
			size_t len = strlen(e.msg);
			snprintf(e.msg + len, sizeof(e.msg) - len,
			    " (give it with --password-file FILE or "
			    "CERTFLEET_PASSWORD)");
		}
		status = backend_fail(b, i, "import", &e);
		rc = rc ? rc : status;
	}
	return rc;
}

static void
free_inputs(struct cf_input *in, struct cf_buf *bufs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (bufs[i].data != NULL)
			OPENSSL_cleanse(bufs[i].data, bufs[i].len);
		cf_buf_clear(&bufs[i]);
	}
	free(bufs);
	free(in);
}

const struct option cli_import_opts[] = {
    CLI_COMMON_OPTS,
    {"exportable", no_argument, NULL, 'x'},
    {"friendly-name", required_argument, NULL, 'n'},
    {"services", required_argument, NULL, 's'},
    {"force", no_argument, NULL, 'f'},
    {"password-file", required_argument, NULL, 'p'},
    {NULL, 0, NULL, 0},
};

/* The command line into req and *pwfile: -1 when the import goes on,
 * else the exit status (0 after --help). */
static int
import_args(int argc, char **argv, struct backend_req *req, const char **pwfile)
{
	int c;

	while ((c = getopt_long(
		    argc, argv, ":hxn:s:fp:", cli_import_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
			return 0;
		case 'x':
			req->import.exportable = 1;
			break;
		case 'n':
			req->import.friendly_name = optarg;
			break;
		case 's':
			req->import.services = optarg;
			break;
		case 'f':
			req->import.force = 1;
			break;
		case 'p':
			*pwfile = optarg;
			break;
		default:
			return cli_bad_option("import", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("import", "no file named");
	return -1;
}

int
cmd_import(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_input *in = NULL;
	struct cf_buf *bufs = NULL;
	struct cf_secret *pw = NULL;
	struct cf_error err;
	const char *pwfile = NULL;
	size_t n, i;
	int rc = 1;

	memset(&req, 0, sizeof(req));
	if ((rc = import_args(argc, argv, &req, &pwfile)) != -1)
		return rc;
	cf_error_clear(&err);
	n = (size_t)(argc - optind);
	in = xcalloc(n, sizeof(*in));
	bufs = xcalloc(n, sizeof(*bufs));
	if ((rc = backend_open("import", &b)) != 0)
		goto out;
	rc = 1;
	for (i = 0; i < n; i++) {
		in[i].name = argv[optind + (int)i];
		if (cf_read_file(
			in[i].name, CF_MAX_INPUT_BYTES, &bufs[i], &err) == -1)
			goto failed;
		in[i].data = bufs[i].data;
		in[i].len = bufs[i].len;
	}
	if (cf_password(pwfile, 0, 0, NULL, &pw, &err) == -1)
		goto failed;
	req.in = in;
	req.nin = n;
	req.import.password = pw ? pw->data : NULL;
	if (n >= 10 && isatty(STDERR_FILENO))
		req.import.progress = progress;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_IMPORT, &req, r);
	if (pw == NULL && !cf_password_given(pwfile) && isatty(STDIN_FILENO) &&
	    ask_and_retry(b, &req, r, &pw, &err) == -1) {
		rc = cli_fail("import", &err);
		goto out;
	}
	rc = report(b, r, pw != NULL || isatty(STDIN_FILENO));
	for (i = 0; i < backend_count(b); i++)
		if (r[i].err.code == CF_OK) {
			print_results(b, r); /* nothing when all failed */
			break;
		}
	goto out;
failed:
	backend_audit_failure(b, "import", "", &err);
	rc = cli_fail("import", &err);
out:
	backend_replies_free(r, b ? backend_count(b) : 0);
	cf_secret_free(pw);
	backend_free(b);
	free_inputs(in, bufs, n);
	return rc;
}
