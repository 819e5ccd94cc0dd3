/*
 * cmd_acme.c - ACME accounts (issue 14), kept on an agent:
 *   certfleet acme account new NAME --directory URL ...
 *   certfleet acme account show [NAME]
 *   certfleet acme account deactivate NAME
 * The agent makes the account key and keeps it sealed; this command
 * speaks to the CA (src/acme's client) and has every JWS signed by the
 * agent (POST /v1/acme/accounts/NAME/sign), which checks what it signs.
 * The EAB MAC key is read from a file or stdin, never argv, and wiped.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acme.h"
#include "acme_agent.h"
#include "backend.h"
#include "cli.h"
#include "client.h"
#include "output.h"
#include "password.h"

#define ACCOUNTS "/v1/acme/accounts"

static const char usage[] =
    "Usage: certfleet acme account new NAME --directory URL --server AGENT\n"
    "         [--key p256|rsa2048|rsa3072|rsa4096] [--contact mailto:ADDR]\n"
    "         [--agree-tos] [--eab-kid KID --eab-hmac-key-file FILE|-]\n"
    "         [--ca-file FILE]\n"
    "       certfleet acme account show [NAME] --server AGENT [--json]\n"
    "       certfleet acme account deactivate NAME --server AGENT\n"
    "         [--ca-file FILE]\n"
    "The account key is made and kept sealed on AGENT, which signs every\n"
    "request to the CA; --ca-file trusts only FILE's CAs for the "
    "directory.\n"
    "The EAB MAC key (base64url, as the CA gives it) is read from FILE or\n"
    "stdin (-), never from the command line.\n";

const struct option cli_acme_account_opts[] = {
    CLI_COMMON_OPTS,
    {"directory", required_argument, NULL, 'd'},
    {"key", required_argument, NULL, 'k'},
    {"contact", required_argument, NULL, 'c'},
    {"agree-tos", no_argument, NULL, 'a'},
    {"eab-kid", required_argument, NULL, 'e'},
    {"eab-hmac-key-file", required_argument, NULL, 'f'},
    {"ca-file", required_argument, NULL, 'C'},
    {NULL, 0, NULL, 0},
};

struct opts {
	const char *directory, *key, *contact, *eab_kid, *eab_file, *ca_file;
	int agree_tos;
};

/* The EAB MAC key of file ("-": stdin), base64url decoded into key. */
static int
eab_key_read(const char *file, struct cf_buf *key, struct cf_error *err)
{
	struct cf_secret *text = NULL;
	char *s;
	int rc;

	if (cf_password(file, 0, 0, NULL, &text, err) == -1)
		return -1;
	if (text == NULL || text->len == 0) {
		cf_secret_free(text);
		return cf_errorf(err, CF_E_USAGE,
		    "--eab-hmac-key-file %s: no key in it", file);
	}
	s = xmalloc(text->len + 1);
	memcpy(s, text->data, text->len);
	s[text->len] = '\0';
	s[strcspn(s, " \t\r\n")] = '\0';
	rc = acme_b64u_decode(s, "the EAB MAC key", key, err);
	OPENSSL_cleanse(s, text->len);
	free(s);
	cf_secret_free(text);
	return rc;
}

/* Prints accounts (a JSON array of the agent's views) of server. */
static void
show_accounts(const char *server, json_t *accounts)
{
	static const char *const headers[] = {
	    "Name", "Directory", "Url", "KeyType", "Contact", "Created"};
	static const char *const keys[] = {
	    "Name", "Directory", "Url", "KeyType", "Contact", "Created"};
	size_t n = json_array_size(accounts), i, k;
	const char *s;
	char **cells;
	json_t *v;

	if (cli.json) {
		json_array_foreach(accounts, i, v)
			json_object_set_new(v, "Server", json_string(server));
		out_json_items(json_incref(accounts));
		return;
	}
	cells = xcalloc(n * 6 + 1, sizeof(*cells));
	for (i = 0; i < n; i++)
		for (k = 0; k < 6; k++) {
			s = json_string_value(json_object_get(
			    json_array_get(accounts, i), keys[k]));
			cells[i * 6 + k] = xstrdup(s ? s : "");
		}
	out_table(headers, 6, cells, n);
	for (i = 0; i < n * 6; i++)
		free(cells[i]);
	free(cells);
}

/* newAccount at the CA for the agent's account view v; its URL into
 * *url (new). */
static int
register_at_ca(struct acme_agent *a, json_t *v, const struct opts *o,
    const struct cf_buf *eab, char **url, struct cf_error *err)
{
	struct acme_client_config cfg = {0};
	struct acme_account_req req = {0};
	struct acme_signer s;
	struct acme_client *c = NULL;
	const char *contact[1];
	int rc = -1;

	*url = NULL;
	if (acme_agent_signer(v, a, &s, err) == -1)
		return -1;
	cfg.directory = o->directory;
	cfg.ca_file = o->ca_file;
	if (o->contact != NULL) {
		contact[0] = o->contact;
		req.contact = contact;
		req.n_contact = 1;
	}
	req.agree_tos = o->agree_tos;
	req.eab_kid = o->eab_kid;
	req.eab_key = eab->data;
	req.eab_keylen = eab->len;
	if ((c = acme_client_new(&cfg, &s, err)) == NULL ||
	    acme_account_new(c, &req, err) == -1) {
		if (a->err.code != CF_OK) /* the agent refused to sign */
			*err = a->err;
		goto out;
	}
	*url = xstrdup(acme_client_kid(c));
	rc = 0;
out:
	acme_client_free(c);
	acme_signer_clear(&s);
	return rc;
}

static int
account_new(const char *name, const struct opts *o)
{
	const char *op = "acme account new";
	struct cf_buf eab = {0};
	struct cf_error err;
	struct acme_agent a;
	json_t *body = NULL, *v = NULL, *done = NULL, *one;
	char *path = NULL, *url = NULL;
	int rc, made = 0;

	cf_error_clear(&err);
	if (o->directory == NULL)
		return cli_usage(op, "--directory URL is required");
	if (acme_url_check(o->directory) != 0)
		return cli_usage(op,
		    "--directory %.200s: not an https URL (no user name or "
		    "password in it)",
		    o->directory);
	if (o->key != NULL && strcmp(o->key, "p256") != 0 &&
	    strcmp(o->key, "rsa2048") != 0 && strcmp(o->key, "rsa3072") != 0 &&
	    strcmp(o->key, "rsa4096") != 0)
		return cli_usage(op,
		    "--key %.16s: give p256, rsa2048, rsa3072 or rsa4096",
		    o->key);
	if ((o->eab_kid == NULL) != (o->eab_file == NULL))
		return cli_usage(
		    op, "--eab-kid and --eab-hmac-key-file go together");
	if (o->eab_file != NULL && eab_key_read(o->eab_file, &eab, &err) == -1)
		return cli_fail(op, &err);
	if ((rc = acme_agent_open(op, name, &a)) != 0)
		goto out;
	rc = 1;
	body = json_pack("{s:s, s:s, s:s}", "Name", name, "Directory",
	    o->directory, "KeyType", o->key ? o->key : "p256");
	if (o->contact != NULL)
		json_object_set_new(body, "Contact", json_string(o->contact));
	if (acme_agent_call(&a, "POST", ACCOUNTS, body, &v, &err) == -1)
		goto fail;
	made = 1;
	json_decref(body);
	body = NULL;
	path = xasprintf("%s/%s/url", ACCOUNTS, name);
	if (register_at_ca(&a, v, o, &eab, &url, &err) == -1)
		goto fail;
	body = json_pack("{s:s}", "Url", url);
	if (acme_agent_call(&a, "PUT", path, body, &done, &err) == -1)
		goto fail;
	one = json_pack("[O]", done);
	show_accounts(backend_server(a.b, 0), one);
	json_decref(one);
	rc = 0;
	goto out;
fail:
	rc = backend_fail(a.b, 0, op, &err);
	if (made) { /* nothing left behind on the agent */
		free(path);
		path = xasprintf("%s/%s", ACCOUNTS, name);
		cf_error_clear(&err);
		if (acme_agent_call(&a, "DELETE", path, NULL, NULL, &err) == -1)
			backend_fail(a.b, 0, op, &err);
	}
out:
	if (a.b != NULL)
		acme_agent_close(&a);
	json_decref(body);
	json_decref(v);
	json_decref(done);
	free(path);
	free(url);
	cf_buf_clear(&eab); /* wipes */
	return rc;
}

static int
account_show(const char *name)
{
	const char *op = "acme account show";
	struct cf_error err;
	struct acme_agent a;
	json_t *l;
	int rc;

	if ((rc = acme_agent_open(op, name, &a)) != 0)
		return rc;
	if ((l = acme_agent_accounts(&a, name, &err)) == NULL)
		rc = backend_fail(a.b, 0, op, &err);
	else
		show_accounts(backend_server(a.b, 0), l);
	json_decref(l);
	acme_agent_close(&a);
	return rc;
}

static int
account_deactivate(const char *name, const struct opts *o)
{
	const char *op = "acme account deactivate";
	struct acme_client_config cfg = {0};
	struct acme_signer s;
	struct acme_client *c = NULL;
	struct cf_error err;
	struct acme_agent a;
	json_t *l = NULL, *v;
	const char *url;
	char *path = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = acme_agent_open(op, name, &a)) != 0)
		return rc;
	rc = 1;
	if ((l = acme_agent_accounts(&a, name, &err)) == NULL)
		goto fail;
	v = json_array_get(l, 0);
	url = json_string_value(json_object_get(v, "Url"));
	cfg.directory = json_string_value(json_object_get(v, "Directory"));
	cfg.ca_file = o->ca_file;
	if (url != NULL && url[0] != '\0') {
		if (acme_agent_signer(v, &a, &s, &err) == -1 ||
		    (c = acme_client_new(&cfg, &s, &err)) == NULL)
			goto fail;
		acme_client_set_kid(c, url);
		if (acme_account_deactivate(c, &err) == -1) {
			if (a.err.code != CF_OK)
				err = a.err;
			goto fail;
		}
	}
	path = xasprintf("%s/%s", ACCOUNTS, name);
	if (acme_agent_call(&a, "DELETE", path, NULL, NULL, &err) == -1)
		goto fail;
	if (!cli.json)
		printf("%s: deactivated at the CA and removed from %s\n", name,
		    backend_server(a.b, 0));
	else
		out_json_items(json_pack("[{s:s, s:s, s:s}]", "Server",
		    backend_server(a.b, 0), "Name", name, "Result",
		    "deactivated"));
	rc = 0;
	goto out;
fail:
	rc = backend_fail(a.b, 0, op, &err);
out:
	acme_client_free(c);
	acme_signer_clear(&s);
	json_decref(l);
	free(path);
	acme_agent_close(&a);
	return rc;
}

/* acme account ACTION [NAME] [options] */
static int
account(int argc, char **argv)
{
	struct opts o;
	const char *action, *name;
	char *op;
	int c, rc;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv,
		    ":hd:k:c:ae:f:C:", cli_acme_account_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
			return 0;
		case 'd':
			o.directory = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'c':
			o.contact = optarg;
			break;
		case 'a':
			o.agree_tos = 1;
			break;
		case 'e':
			o.eab_kid = optarg;
			break;
		case 'f':
			o.eab_file = optarg;
			break;
		case 'C':
			o.ca_file = optarg;
			break;
		default:
			return cli_bad_option("acme account", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(
		    "acme account", "give new, show or deactivate");
	action = argv[optind];
	name = optind + 1 < argc ? argv[optind + 1] : NULL;
	op = xasprintf("acme account %s", action);
	if (optind + 2 < argc)
		rc = cli_usage(op, "unexpected argument %s", argv[optind + 2]);
	else if (strcmp(action, "show") == 0)
		rc = account_show(name);
	else if (strcmp(action, "new") != 0 &&
		 strcmp(action, "deactivate") != 0)
		rc = cli_usage(
		    "acme account", "%s: give new, show or deactivate", action);
	else if (name == NULL)
		rc = cli_usage(op, "give the account's NAME");
	else if (strcmp(action, "new") == 0)
		rc = account_new(name, &o);
	else
		rc = account_deactivate(name, &o);
	free(op);
	return rc;
}

int
cmd_acme(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "account") == 0)
		return account(argc - 1, argv + 1);
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cli_help(usage);
		return 0;
	}
	if (argc >= 2 && argv[1][0] != '-')
		return cli_unknown_sub("acme", argv[1]);
	fputs(usage, stderr);
	return cli_usage("acme", "give account");
}
