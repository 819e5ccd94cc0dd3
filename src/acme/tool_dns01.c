/*
 * tool_dns01.c - the cf-acme commands that need no account key:
 *   dns01 set|clear NAME VALUE (--server HOST:PORT --key-file F | --hook CMD)
 *   dns01 wait NAME VALUE [--server HOST:PORT] [--check IP:PORT]...
 *         [--deadline-ms N]               the DNS-01 record (dns01.h;
 *                                         tests/e2e/acme-dns01.sh)
 *   http01-check ADDR NAME TOKEN KEYAUTH  the HTTP-01 pre-check
 *                                         (http01_check.h; acme-http01.sh)
 *   ari --cert CERT.pem                   the CA's renewal window
 *                                         (ari.c; acme-core.sh)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "dns01.h"
#include "http01_check.h"
#include "tool.h"

int
cmd_dns01(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"server", 1, NULL, 's'},
	    {"key-file", 1, NULL, 'k'}, {"hook", 1, NULL, 'H'},
	    {"check", 1, NULL, 'c'}, {"deadline-ms", 1, NULL, 'd'},
	    {"ttl", 1, NULL, 't'}, {0}};
	struct dns01_config c = {0};
	struct cf_error err;
	long long deadline = 10000;
	const char *verb;
	int ch, rc;

	c.timeout_ms = o->cfg.timeout_ms;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (ch) {
		case 's':
			c.server = optarg;
			break;
		case 'k':
			c.key_file = optarg;
			break;
		case 'H':
			c.hook = optarg;
			break;
		case 'c':
			if (c.ncheck == DNS01_CHECK_MAX)
				usage_exit("--check: too many");
			c.check[c.ncheck++] = optarg;
			break;
		case 'd':
			deadline = atoll(optarg);
			break;
		case 't':
			c.ttl = atol(optarg);
			break;
		default:
			usage_exit(
			    "usage: dns01 set|clear|wait NAME VALUE ...");
		}
	if (argc - optind != 3)
		usage_exit("usage: dns01 set|clear|wait NAME VALUE ...");
	verb = argv[optind];
	cf_error_clear(&err);
	if (strcmp(verb, "set") == 0)
		rc = dns01_set(&c, argv[optind + 1], argv[optind + 2], &err);
	else if (strcmp(verb, "clear") == 0)
		rc = dns01_clear(&c, argv[optind + 1], argv[optind + 2], &err);
	else if (strcmp(verb, "wait") == 0)
		rc = dns01_wait(&c, argv[optind + 1], argv[optind + 2],
		    cf_now_ms() + deadline, &err);
	else
		usage_exit("dns01: set, clear or wait");
	if (rc == -1)
		return fail(&err);
	print_json(
	    json_pack("{s:s, s:s}", "Dns01", verb, "Name", argv[optind + 1]));
	return 0;
}

/* http01-check ADDR NAME TOKEN KEYAUTH [--samples N]: the pre-check. */
int
cmd_http01_check(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"samples", 1, NULL, 's'}, {0}};
	struct cf_error err;
	int ch, samples = 1;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (ch == 's')
			samples = atoi(optarg);
		else
			usage_exit(
			    "usage: http01-check ADDR NAME TOKEN KEYAUTH "
			    "[--samples N]");
	if (argc - optind != 4)
		usage_exit("usage: http01-check ADDR NAME TOKEN KEYAUTH "
			   "[--samples N]");
	cf_error_clear(&err);
	if (acme_http01_check(argv[optind], argv[optind + 1], argv[optind + 2],
		argv[optind + 3], samples,
		o->cfg.timeout_ms > 0 ? o->cfg.timeout_ms : 5000, &err) == -1) {
		cf_error_prefix(&err, "http-01: ");
		cf_error_append(&err, "; the CA was not asked to validate");
		return fail(&err);
	}
	print_json(json_pack(
	    "{s:s, s:i}", "Http01", argv[optind], "Samples", samples));
	return 0;
}

/* ari --cert CERT.pem: its ARI identifier and the CA's window. */
int
cmd_ari(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"cert", 1, NULL, 'c'}, {0}};
	struct acme_client *c = NULL;
	struct acme_ari a = {0};
	struct cf_error err;
	const char *path = NULL;
	char *id = NULL, start[21], end[21];
	X509 *x = NULL;
	FILE *f;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (ch == 'c')
			path = optarg;
		else
			usage_exit("usage: ari --cert CERT.pem");
	if (path == NULL || optind != argc)
		usage_exit("usage: ari --cert CERT.pem");
	cf_error_clear(&err);
	if ((f = fopen(path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		cf_errorf(&err, CF_E_IO, "%s: no certificate", path);
	else if ((id = acme_ari_cert_id(x, &err)) != NULL &&
		 (c = acme_client_new(&o->cfg, NULL, &err)) != NULL &&
		 acme_ari_get(c, id, &a, &err) == 0) {
		cf_time_iso(a.start, start);
		cf_time_iso(a.end, end);
		print_json(json_pack("{s:s, s:s, s:s, s:s?, s:I}", "CertId", id,
		    "Start", start, "End", end, "Explanation", a.explanation,
		    "RetryAfter", (json_int_t)a.retry_after));
		rc = 0;
	}
	if (f != NULL)
		fclose(f);
	if (rc != 0)
		fail(&err);
	acme_ari_clear(&a);
	acme_client_free(c);
	X509_free(x);
	free(id);
	return rc;
}
