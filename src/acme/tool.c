/*
 * tool.c - cf-acme, a developer's tool that drives the ACME core
 * (acme.h) against a CA from tests: one subcommand per flow, one JSON
 * object on stdout, errors on stderr as "cf-acme: ...".
 *
 *   cf-acme --directory URL [--ca FILE] [--timeout-ms N]
 *           [--retry-after-max-ms N] COMMAND ARGS...
 *
 * Development only: keys are read from unencrypted PEM files (the
 * agent will keep the account key sealed in its store and sign through
 * acme_signer's callback).  The EAB HMAC key comes from a file (or "-",
 * stdin), never argv.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tool.h"

#define KEY_FILE_MAX 65536
#define EAB_FILE_MAX 4096

struct cmd {
	const char *name;
	int (*fn)(struct opts *, int, char **);
	const char *usage;
};

void
usage_exit(const char *msg)
{
	fprintf(stderr, "cf-acme: %s\n", msg);
	exit(2);
}

int
fail(const struct cf_error *err)
{
	fprintf(stderr, "cf-acme: %s\n", err->msg);
	return 1;
}

void
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	puts(s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

/* No passphrase prompt: an encrypted key file is refused. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

EVP_PKEY *
key_load(const char *path, struct cf_error *err)
{
	struct cf_buf b = {0};
	EVP_PKEY *pk = NULL;
	BIO *bio;

	if (cf_read_file(path, KEY_FILE_MAX, &b, err) != 0)
		return NULL;
	bio = BIO_new_mem_buf(b.data, (int)b.len);
	if (bio != NULL)
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(b.data, b.len);
	cf_buf_clear(&b);
	if (pk == NULL)
		cf_errorf_ossl(err, CF_E_PARSE,
		    "%s: not an unencrypted PEM "
		    "private key",
		    path);
	return pk;
}

struct acme_client *
client_open(struct opts *o, const char *key_path, EVP_PKEY **pk,
    struct acme_signer *s, struct cf_error *err)
{
	struct acme_client *c;

	memset(s, 0, sizeof(*s));
	if ((*pk = key_load(key_path, err)) == NULL)
		return NULL;
	if (acme_signer_from_pkey(*pk, s, err) != 0)
		return NULL;
	if ((c = acme_client_new(&o->cfg, s, err)) == NULL)
		return NULL;
	return c;
}

/* The EAB HMAC key: base64url text in path (trailing space cut). */
static struct cf_secret *
eab_key_load(const char *path, struct cf_error *err)
{
	struct cf_buf b = {0}, raw = {0};
	struct cf_secret *text, *key = NULL;

	if (cf_read_file(path, EAB_FILE_MAX, &b, err) != 0)
		return NULL;
	text = cf_secret_new(b.data, b.len);
	OPENSSL_cleanse(b.data, b.len);
	cf_buf_clear(&b);
	while (text->len > 0 &&
	       strchr(" \t\r\n", text->data[text->len - 1]) != NULL)
		text->data[--text->len] = '\0';
	if (acme_b64u_decode(text->data, "EAB HMAC key", &raw, err) == 0) {
		key = cf_secret_new(raw.data, raw.len);
		OPENSSL_cleanse(raw.data, raw.len);
	}
	cf_buf_clear(&raw);
	cf_secret_free(text);
	return key;
}

/*
 * account-new --key F [--contact URL]... [--agree-tos]
 *             [--eab-kid KID --eab-hmac-key-file F|-]
 */
static int
cmd_account_new(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"key", 1, NULL, 'k'},
	    {"contact", 1, NULL, 'c'}, {"agree-tos", 0, NULL, 'a'},
	    {"eab-kid", 1, NULL, 'e'}, {"eab-hmac-key-file", 1, NULL, 'h'},
	    {"only-existing", 0, NULL, 'x'}, {0}};
	struct acme_account_req req = {0};
	const char *key = NULL, *eab_file = NULL, *contact[NAMES_MAX];
	struct cf_secret *eab = NULL;
	struct acme_client *c = NULL;
	struct acme_signer s = {0};
	EVP_PKEY *pk = NULL;
	struct cf_error err;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			if (req.n_contact == NAMES_MAX)
				usage_exit("--contact: too many");
			contact[req.n_contact++] = optarg;
			break;
		case 'a':
			req.agree_tos = 1;
			break;
		case 'e':
			req.eab_kid = optarg;
			break;
		case 'h':
			eab_file = optarg;
			break;
		case 'x':
			req.only_existing = 1;
			break;
		default:
			return 2;
		}
	if (key == NULL || optind != argc ||
	    (req.eab_kid == NULL) != (eab_file == NULL))
		usage_exit(
		    "usage: account-new --key F [--contact URL] "
		    "[--agree-tos] [--eab-kid KID --eab-hmac-key-file F]");
	req.contact = contact;
	if (eab_file != NULL) {
		if ((eab = eab_key_load(eab_file, &err)) == NULL)
			goto out;
		req.eab_key = (const unsigned char *)eab->data;
		req.eab_keylen = eab->len;
	}
	if ((c = client_open(o, key, &pk, &s, &err)) == NULL ||
	    acme_account_new(c, &req, &err) != 0)
		goto out;
	print_json(json_pack("{s:s, s:I}", "account", acme_client_kid(c),
	    "badNonceRetries", (json_int_t)acme_client_badnonce_retries(c)));
	rc = 0;
out:
	if (rc != 0)
		fail(&err);
	acme_client_free(c);
	acme_signer_clear(&s);
	EVP_PKEY_free(pk);
	cf_secret_free(eab);
	return rc;
}

static const struct cmd cmds[] = {
    {"account-new", cmd_account_new,
	"account-new --key F [--contact URL]... [--agree-tos] "
	"[--eab-kid KID --eab-hmac-key-file F|-] [--only-existing]"},
    {"order", cmd_order,
	"order --key F --cert-key F --domain NAME... --webroot DIR "
	"--out CHAIN.pem [--alternate N] [--deadline-ms N]"},
    {"revoke", cmd_revoke, "revoke --key F --cert CERT.pem [--reason CODE]"},
    {"dns01", cmd_dns01,
	"dns01 set|clear|wait NAME VALUE [--server HOST:PORT --key-file F | "
	"--hook CMD] [--check IP:PORT]... [--deadline-ms N] (no --directory)"},
    {"ari", cmd_ari, "ari --cert CERT.pem"},
    {"http01-check", cmd_http01_check,
	"http01-check ADDR NAME TOKEN KEYAUTH [--samples N] (no --directory)"},
};

static void
help(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: cf-acme --directory URL [--ca FILE] "
	    "[--timeout-ms N] [--retry-after-max-ms N] COMMAND ARGS...\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
}

/* The global options; returns the index of the command. */
static int
parse_global(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"directory", 1, NULL, 'd'},
	    {"ca", 1, NULL, 'c'}, {"timeout-ms", 1, NULL, 't'},
	    {"retry-after-max-ms", 1, NULL, 'r'}, {"help", 0, NULL, 'h'}, {0}};
	char *end;
	int c;

	/* "+": stop at the command, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1)
		switch (c) {
		case 'd':
			o->cfg.directory = optarg;
			break;
		case 'c':
			o->cfg.ca_file = optarg;
			break;
		case 't':
			o->cfg.timeout_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || o->cfg.timeout_ms <= 0)
				usage_exit("--timeout-ms: not a number");
			break;
		case 'r':
			o->cfg.retry_after_max_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || o->cfg.retry_after_max_ms <= 0)
				usage_exit(
				    "--retry-after-max-ms: not a number");
			break;
		case 'h':
			help(stdout);
			exit(0);
		default:
			help(stderr);
			exit(2);
		}
	/* dns01 and http01-check speak to no CA */
	if (optind >= argc ||
	    (o->cfg.directory == NULL && strcmp(argv[optind], "dns01") != 0 &&
		strcmp(argv[optind], "http01-check") != 0)) {
		help(stderr);
		exit(2);
	}
	return optind;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	const struct cmd *cmd = NULL;
	int first;
	size_t i;

	cf_process_harden();
	first = parse_global(argc, argv, &o);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, argv[first]) == 0)
			cmd = &cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "cf-acme: %s: no such command\n", argv[first]);
		help(stderr);
		exit(2);
	}
	optind = 0; /* GNU getopt: afresh on the command's argv */
	return cmd->fn(&o, argc - first, argv + first);
}
