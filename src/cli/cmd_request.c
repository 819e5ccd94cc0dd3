/*
 * cmd_request.c - the life of a certificate made for a CA:
 *   certfleet request new --subject DN ...   New-ExchangeCertificate
 *                                            -GenerateRequest
 *   certfleet request complete FILE          Import-ExchangeCertificate
 *                                            of the CA's answer
 *   certfleet renew THUMBPRINT [--keep-key]  a renewal request
 *   certfleet new --self-signed ...          New-ExchangeCertificate
 * Keys are made where the store is: on the agent, or in the local store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "bundle.h"
#include "cli.h"
#include <openssl/pem.h>

#include "csr.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage_new[] =
    "Usage: certfleet request new --subject DN [--domains D,...]\n"
    "         [--key rsa2048|rsa3072|rsa4096|p256|p384] [--exportable]\n"
    "         [--friendly-name N] [-o|--output FILE] [--binary]\n"
    "         [--server NAME] [--store DIR]\n"
    "Makes the key where the store is and prints the PKCS#10 request (PEM,\n"
    "or DER with --binary) to send to the CA; the CN joins the SANs.\n";
static const char usage_complete[] =
    "Usage: certfleet request complete FILE [--server NAME,...|all] "
    "[--store DIR]\n"
    "FILE: the CA's answer (certificate as PEM or DER, a PEM bundle, or\n"
    "PKCS#7 with the chain), completed on the server holding the key.\n";
static const char usage_renew[] =
    "Usage: certfleet renew THUMBPRINT [--keep-key] [-o|--output FILE]\n"
    "         [--binary] [--server NAME] [--store DIR]\n"
    "A request with the certificate's subject, domains, key type and "
    "flags;\n"
    "a new key unless --keep-key.  Services move only on enable.\n";
static const char usage_selfsigned[] =
    "Usage: certfleet new --self-signed --subject DN [--domains D,...]\n"
    "         [--key K] [--days N] [--services S,...] [--exportable]\n"
    "         [--friendly-name N] [--force] [--server NAME,...] [--store "
    "DIR]\n";

/*
 * The item of a request made on server: {"Server", "Thumbprint",
 * "Result": "pending request", "Output": path} when written to a file,
 * else the PEM itself as "Request" (new).
 */
static json_t *
csr_json(const char *server, const char *path, const struct backend_reply *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Thumbprint", json_string(r->thumb));
	json_object_set_new(o, "Result", json_string("pending request"));
	if (path != NULL)
		json_object_set_new(o, "Output", json_string(path));
	else
		json_object_set_new(o, "Request",
		    json_stringn((const char *)r->data.data, r->data.len));
	return o;
}

/* Writes the request made (PEM text in r->data) to path, or stdout; with
 * --json and no file, the PEM goes into the JSON instead. */
static int
write_csr(const char *op, const char *server, const char *path, int binary,
    struct backend_reply *r)
{
	struct cf_error err;
	unsigned char *out = r->data.data, *der = NULL;
	size_t len = r->data.len;
	X509_REQ *req = NULL;
	int rc = 1, to_file = path != NULL && strcmp(path, "-") != 0;

	cf_error_clear(&err);
	if (binary) {
		BIO *b = BIO_new_mem_buf(r->data.data, (int)r->data.len);
		if (b == NULL ||
		    (req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) ==
			NULL ||
		    cf_csr_encode(req, 1, &der, &len, &err) == -1) {
			BIO_free(b);
			cf_errorf(
			    &err, CF_E_PARSE, "the request made is not PEM");
			goto out;
		}
		BIO_free(b);
		out = der;
	}
	if ((to_file || !cli.json) &&
	    cli_write_out(path, out, len, 0644, &err) == -1)
		goto out;
	if (cli.json)
		out_json_items(json_pack(
		    "[o]", csr_json(server, to_file ? path : NULL, r)));
	else if (to_file)
		printf("%s: pending request written to %s\n", r->thumb, path);
	else
		fprintf(stderr, "certfleet: %s: pending request %s\n", op,
		    r->thumb);
	rc = 0;
out:
	if (rc != 0)
		rc = cli_fail(op, &err);
	X509_REQ_free(req);
	free(der);
	return rc;
}

/* Runs op (request new, renew) on the one target and writes the CSR. */
static int
run_csr(const char *op, enum backend_op bop, struct backend_req *req,
    const char *path, int binary)
{
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	int rc;

	if (binary && (path == NULL || strcmp(path, "-") == 0) &&
	    isatty(STDOUT_FILENO))
		return cli_usage(op, "refusing to write DER to a terminal; "
				     "use -o FILE");
	if (binary && (path == NULL || strcmp(path, "-") == 0) &&
	    (rc = cli_no_json(op, "DER cannot go into JSON; use -o FILE")) != 0)
		return rc;
	if ((rc = backend_open(op, &b)) != 0)
		return rc;
	if (backend_count(b) != 1) {
		rc = cli_usage(op, "the key is made on one server: name one");
		goto out;
	}
	r = backend_replies_new(b);
	backend_run(b, bop, req, r);
	rc = r[0].err.code != CF_OK
		 ? backend_fail(b, 0, op, &r[0].err)
		 : write_csr(op, backend_server(b, 0), path, binary, &r[0]);
out:
	backend_replies_free(r, r ? 1 : 0);
	backend_free(b);
	return rc;
}

const struct option cli_request_new_opts[] = {
    CLI_COMMON_OPTS,
    {"subject", required_argument, NULL, 's'},
    {"domains", required_argument, NULL, 'd'},
    {"key", required_argument, NULL, 'k'},
    {"exportable", no_argument, NULL, 'e'},
    {"friendly-name", required_argument, NULL, 'n'},
    {"output", required_argument, NULL, 'o'},
    {"binary", no_argument, NULL, 'b'},
    {NULL, 0, NULL, 0},
};

/* A CN that is not a host name is taken, but not silently: it is not
 * among the certificate's names, and public CAs refuse it. */
static void
warn_cn_label(const char *op, const char *subject)
{
	char *label = NULL;

	if (cf_subject_cn_label(subject, &label))
		fprintf(stderr,
		    "certfleet: %s: warning: the CN \"%s\" is not a host name: "
		    "it is not put among the DNS names, and public CAs will "
		    "refuse the request\n",
		    op, label);
	free(label);
}

static int
request_new(int argc, char **argv)
{
	struct backend_req req;
	struct cf_request_opts *o = &req.request;
	const char *path = NULL;
	int c, binary = 0;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, ":hs:d:k:en:o:b",
		    cli_request_new_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage_new);
			return 0;
		case 's':
			o->subject = optarg;
			break;
		case 'd':
			o->domains = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'e':
			o->exportable = 1;
			break;
		case 'n':
			o->friendly_name = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'b':
			binary = 1;
			break;
		default:
			return cli_bad_option("request new", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage(
		    "request new", "unexpected argument %s", argv[optind]);
	if (o->subject == NULL)
		return cli_usage("request new",
		    "--subject is required (--subject CN=mail.example.com)");
	warn_cn_label("request new", o->subject);
	return run_csr("request new", BACKEND_REQUEST_NEW, &req, path, binary);
}

/* The item of a request completed on server (new). */
static json_t *
completed_json(const char *server, const struct backend_reply *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Thumbprint", json_string(r->thumb));
	json_object_set_new(o, "Result", json_string("completed"));
	if (r->detail != NULL)
		json_object_set_new(o, "Detail", cf_json_string(r->detail));
	return o;
}

/* Prints each target's outcome of request complete (with --json, the
 * servers that completed it and those whose failure is reported). */
static int
report_complete(struct backend *b, struct backend_reply *r)
{
	size_t i, done = 0;
	json_t *a = json_array();
	int rc = 0;

	for (i = 0; i < backend_count(b); i++) {
		const char *who =
		    backend_count(b) > 1 ? backend_server(b, i) : NULL;
		if (r[i].err.code != CF_OK)
			continue;
		done++;
		json_array_append_new(
		    a, completed_json(backend_server(b, i), &r[i]));
		if (cli.json)
			continue;
		printf("%s%s%s: completed\n", who ? who : "", who ? ": " : "",
		    r[i].thumb);
		if (r[i].detail != NULL)
			printf("  %s\n", r[i].detail);
	}
	/* With several servers, the one holding the key answers; the others
	 * only say it is not theirs, which is not worth an error then. */
	for (i = 0; i < backend_count(b); i++)
		if (r[i].err.code != CF_OK &&
		    (done == 0 || r[i].err.code != CF_E_MISMATCH)) {
			int status =
			    backend_fail(b, i, "request complete", &r[i].err);
			rc = rc ? rc : status;
			json_array_append_new(a,
			    out_error_json(backend_server(b, i), r[i].err.msg));
		}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	return rc;
}

const struct option cli_request_complete_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

static int
request_complete(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_input in;
	struct cf_buf buf = {0};
	struct cf_error err;
	int c, rc;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(
		    argc, argv, ":h", cli_request_complete_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage_complete);
			return 0;
		}
		return cli_bad_option("request complete", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage(
		    "request complete", "name one file: the CA's answer");
	cf_error_clear(&err);
	if (cf_read_file(argv[optind], CF_MAX_INPUT_BYTES, &buf, &err) == -1)
		return cli_fail("request complete", &err);
	in.name = argv[optind];
	in.data = buf.data;
	in.len = buf.len;
	req.in = &in;
	req.nin = 1;
	if ((rc = backend_open("request complete", &b)) == 0) {
		r = backend_replies_new(b);
		backend_run(b, BACKEND_REQUEST_COMPLETE, &req, r);
		rc = report_complete(b, r);
		backend_replies_free(r, backend_count(b));
	}
	backend_free(b);
	cf_buf_clear(&buf);
	return rc;
}

int
cmd_request(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "new") == 0)
		return request_new(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "complete") == 0)
		return request_complete(argc - 1, argv + 1);
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_new, stdout);
		cli_help(usage_complete);
		return 0;
	}
	if (argc >= 2 && argv[1][0] != '-')
		return cli_unknown_sub("request", argv[1]);
	fputs(usage_new, stderr);
	fputs(usage_complete, stderr);
	return cli_usage("request", "give new or complete");
}

const struct option cli_renew_opts[] = {
    CLI_COMMON_OPTS,
    {"keep-key", no_argument, NULL, 'k'},
    {"output", required_argument, NULL, 'o'},
    {"binary", no_argument, NULL, 'b'},
    {NULL, 0, NULL, 0},
};

int
cmd_renew(int argc, char **argv)
{
	struct backend_req req;
	const char *path = NULL;
	int c, binary = 0;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, ":hko:b", cli_renew_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage_renew);
			return 0;
		} else if (c == 'k')
			req.keep_key = 1;
		else if (c == 'o')
			path = optarg;
		else if (c == 'b')
			binary = 1;
		else
			return cli_bad_option("renew", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage("renew", "name one certificate by thumbprint");
	req.arg = argv[optind];
	return run_csr("renew", BACKEND_RENEW, &req, path, binary);
}

const struct option cli_new_opts[] = {
    CLI_COMMON_OPTS,
    {"self-signed", no_argument, NULL, 'x'},
    {"subject", required_argument, NULL, 's'},
    {"domains", required_argument, NULL, 'd'},
    {"key", required_argument, NULL, 'k'},
    {"days", required_argument, NULL, 'D'},
    {"services", required_argument, NULL, 'v'},
    {"exportable", no_argument, NULL, 'e'},
    {"friendly-name", required_argument, NULL, 'n'},
    {"force", no_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

/* The options of new --self-signed into o; 0, or an exit status. */
static int
parse_selfsigned(int argc, char **argv, struct cf_selfsigned_opts *o)
{
	int c, self = 0;
	char *end;

	while ((c = getopt_long(argc, argv, ":hxs:d:k:D:v:en:f", cli_new_opts,
		    NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage_selfsigned);
			return -1;
		case 'x':
			self = 1;
			break;
		case 's':
			o->subject = optarg;
			break;
		case 'd':
			o->domains = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'D':
			o->days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->days < 1 || o->days > 36500)
				return cli_usage("new",
				    "--days %s: give 1 to 36500", optarg);
			break;
		case 'v':
			o->services = optarg;
			break;
		case 'e':
			o->exportable = 1;
			break;
		case 'n':
			o->friendly_name = optarg;
			break;
		case 'f':
			o->force = 1;
			break;
		default:
			return cli_bad_option("new", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage("new", "unexpected argument %s", argv[optind]);
	if (!self)
		return cli_usage("new", "--self-signed is required (for a CA, "
					"use request new)");
	if (o->subject == NULL)
		return cli_usage("new", "--subject is required");
	return 0;
}

int
cmd_new(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *b;
	json_t *a;
	size_t i, j;
	int rc;

	memset(&req, 0, sizeof(req));
	if ((rc = parse_selfsigned(argc, argv, &req.selfsigned)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = backend_open("new", &b)) != 0)
		return rc;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_NEW_SELF_SIGNED, &req, r);
	a = json_array();
	for (i = 0; i < backend_count(b); i++) {
		if (r[i].err.code != CF_OK) {
			int status = backend_fail(b, i, "new", &r[i].err);
			rc = rc ? rc : status;
			json_array_append_new(a,
			    out_error_json(backend_server(b, i), r[i].err.msg));
			continue;
		}
		for (j = 0; j < r[i].nresults; j++)
			json_array_append_new(
			    a, out_result_json(
				   backend_server(b, i), &r[i].results[j]));
		for (j = 0; !cli.json && j < r[i].nresults; j++)
			printf("%s%s%s: created (self-signed%s%s)\n",
			    backend_count(b) > 1 ? backend_server(b, i) : "",
			    backend_count(b) > 1 ? ": " : "",
			    r[i].results[j].thumbprint,
			    r[i].results[j].services[0] ? "; services " : "",
			    r[i].results[j].services);
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}
