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
#include "cli.h"
#include "ops.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet import FILE... [--exportable] [--friendly-name N]\n"
    "         [--services S,...] [--force] [--password-file FILE|-]\n"
    "Reads PEM, DER, PKCS#7 (.p7b) and PKCS#12 (.pfx/.p12, DER or Base64)."
    "\nThe private key is not exportable unless --exportable.\n";

static void
progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	fprintf(stderr, "\rreading %zu/%zu%s", done, total,
	    done == total ? "\n" : "");
}

static void
print_results(const struct cf_import_result *r, size_t n)
{
	size_t i;

	if (cli.json) {
		json_t *a = json_array();
		for (i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "Thumbprint",
			    json_string(r[i].thumbprint));
			json_object_set_new(o, "Services",
			    json_string(r[i].services));
			json_object_set_new(o, "Result", json_string(r[i].what));
			json_array_append_new(a, o);
		}
		out_json(a);
		return;
	}
	for (i = 0; i < n; i++)
		printf("%s  %s  %s\n", r[i].thumbprint,
		    r[i].services[0] ? r[i].services : "-", r[i].what);
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

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"exportable", no_argument, NULL, 'x'},
	    {"friendly-name", required_argument, NULL, 'n'},
	    {"services", required_argument, NULL, 's'},
	    {"force", no_argument, NULL, 'f'},
	    {"password-file", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	struct cf_input *in = NULL;
	struct cf_buf *bufs = NULL;
	struct cf_secret *pw = NULL;
	struct cf_store *s = NULL;
	struct cf_error err;
	const char *pwfile = NULL;
	size_t n, nres = 0, i;
	int c, rc = 1;

	memset(&io, 0, sizeof(io));
	while ((c = getopt_long(argc, argv, ":hxn:s:fp:", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'x':
			io.exportable = 1;
			break;
		case 'n':
			io.friendly_name = optarg;
			break;
		case 's':
			io.services = optarg;
			break;
		case 'f':
			io.force = 1;
			break;
		case 'p':
			pwfile = optarg;
			break;
		default:
			return cli_bad_option("import", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("import", "no file named");
	cf_error_clear(&err);
	n = (size_t)(argc - optind);
	in = xcalloc(n, sizeof(*in));
	bufs = xcalloc(n, sizeof(*bufs));
	if ((s = cli_open_store("import")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		in[i].name = argv[optind + (int)i];
		if (cf_read_file(in[i].name, CF_MAX_INPUT_BYTES, &bufs[i],
			&err) == -1)
			goto failed;
		in[i].data = bufs[i].data;
		in[i].len = bufs[i].len;
	}
	if (cli_password(pwfile, 0, 0, NULL, &pw, &err) == -1)
		goto failed;
	io.actor = cli_actor();
	io.password = pw ? pw->data : NULL;
	if (n >= 10 && isatty(STDERR_FILENO))
		io.progress = progress;
	if (cf_op_import(s, in, n, &io, &res, &nres, &err) == -1 &&
	    err.code == CF_E_PASSWORD && pw == NULL &&
	    !cli_password_given(pwfile) && isatty(STDIN_FILENO)) {
		/* A file needs a password nobody gave: ask, then retry. */
		fprintf(stderr, "certfleet: import: %s\n", err.msg);
		if (cli_password(NULL, 1, 0, "Password: ", &pw, &err) == -1 ||
		    pw == NULL) {
			rc = cli_fail("import", &err);
			goto out;
		}
		io.password = pw->data;
		cf_error_clear(&err);
		cf_op_import(s, in, n, &io, &res, &nres, &err);
	}
	if (err.code != CF_OK) {
		if (err.code == CF_E_PASSWORD && pw == NULL)
			fprintf(stderr, "certfleet: import: %s (give it with "
					"--password-file FILE or "
					"CERTFLEET_PASSWORD)\n",
			    err.msg);
		else
			cli_fail("import", &err);
		rc = err.code == CF_E_USAGE ? 2 : 1;
		goto out;
	}
	print_results(res, nres);
	rc = 0;
	goto out;
failed:
	cli_audit_failure(s, "import", "", &err);
	rc = cli_fail("import", &err);
out:
	cf_import_results_free(res, nres);
	cf_secret_free(pw);
	cf_store_free(s);
	free_inputs(in, bufs, n);
	return rc;
}
