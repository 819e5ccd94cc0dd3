/*
 * tool_order.c - cf-acme's order and revoke: a certificate for DNS
 * names through HTTP-01 answered from a webroot, and its revocation.
 *
 * Each key authorization goes to WEBROOT/.well-known/acme-challenge/TOKEN
 * (mode 0644, the web server reads it) before the CA is told to
 * validate, and is removed afterwards, on failure too.  Tokens are
 * file names only because the parser took nothing but base64url.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"
#include "tool.h"

#define CHALLENGE_DIR ".well-known/acme-challenge"
#define DEFAULT_DEADLINE_MS 120000L
#define CERT_FILE_MAX 65536

struct order_args {
	const char *key, *cert_key, *webroot, *out;
	const char *names[NAMES_MAX];
	size_t n_names;
	int alternate;
	long deadline_ms;
};

/* The token files written, to remove. */
struct tokens {
	char *path[ACME_LIST_MAX];
	size_t n;
};

static void
tokens_remove(struct tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (unlink(t->path[i]) != 0 && errno != ENOENT)
			fprintf(stderr, "cf-acme: %s: not removed: %s\n",
			    t->path[i], strerror(errno));
		free(t->path[i]);
	}
	t->n = 0;
}

/* mkdir -p of WEBROOT/.well-known/acme-challenge (0755). */
static int
challenge_dir(const char *webroot, struct cf_error *err)
{
	char *d = xasprintf("%s/.well-known", webroot);
	int rc = 0;

	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		rc = cf_errorf(err, CF_E_IO, "%s: %s", d, strerror(errno));
	free(d);
	d = xasprintf("%s/" CHALLENGE_DIR, webroot);
	if (rc == 0 && mkdir(d, 0755) != 0 && errno != EEXIST)
		rc = cf_errorf(err, CF_E_IO, "%s: %s", d, strerror(errno));
	free(d);
	return rc;
}

/* Writes keyauth to the token's file (new, 0644), recorded in t. */
static int
token_write(const char *webroot, const char *token, const char *keyauth,
    struct tokens *t, struct cf_error *err)
{
	char *path;
	int fd, rc = -1;

	if (t->n == ACME_LIST_MAX)
		return cf_errorf(err, CF_E_LIMIT, "too many tokens");
	path = xasprintf("%s/" CHALLENGE_DIR "/%s", webroot, token);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	t->path[t->n++] = path;
	if (fchmod(fd, 0644) == 0 &&
	    cf_write_all(fd, keyauth, strlen(keyauth)) == 0)
		rc = 0;
	else
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/*
 * Answers the order's authorizations by HTTP-01: every token written
 * first, then each challenge responded to and its authorization waited
 * for.  Tokens stay in t for the caller to remove.
 */
static int
authorize(struct acme_client *c, const struct acme_order *o,
    const struct order_args *a, const char *thumb, struct tokens *t,
    struct cf_error *err)
{
	struct acme_authz *az[ACME_LIST_MAX] = {0};
	const char *urls[ACME_LIST_MAX];
	size_t i, n = 0;
	int rc = -1;

	if (challenge_dir(a->webroot, err) != 0)
		return -1;
	for (i = 0; i < o->n_authorizations; i++) {
		const struct acme_challenge *ch;
		char *ka;

		if (acme_authz_get(c, o->authorizations[i], &az[i], err) != 0)
			goto out;
		if (az[i]->status == ACME_S_VALID)
			continue;
		if ((ch = acme_authz_challenge(az[i], "http-01")) == NULL) {
			cf_errorf(err, CF_E_UNSUPPORTED,
			    "authorization %s: no http-01 challenge",
			    az[i]->identifier);
			goto out;
		}
		ka = acme_key_authorization_new(ch->token, thumb);
		rc = token_write(a->webroot, ch->token, ka, t, err);
		free(ka);
		if (rc != 0)
			goto out;
		rc = -1;
		if (acme_challenge_respond(c, ch->url, err) != 0)
			goto out;
		urls[n++] = o->authorizations[i];
	}
	for (i = 0; i < n; i++) {
		struct acme_authz *done = NULL;
		int r = acme_authz_wait(
		    c, urls[i], cf_now_ms() + a->deadline_ms, &done, err);

		acme_authz_free(done);
		if (r != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < o->n_authorizations; i++)
		acme_authz_free(az[i]);
	return rc;
}

/* The CSR (DER, new) for the names, signed by the key in path. */
static int
csr_make(const struct order_args *a, unsigned char **der, size_t *len,
    struct cf_error *err)
{
	EVP_PKEY *pk = key_load(a->cert_key, err);
	X509_REQ *req = NULL;
	char *subject = NULL, *names = NULL, *tmp;
	size_t i;
	int rc = -1;

	if (pk == NULL)
		return -1;
	subject = xasprintf("CN=%s", a->names[0]);
	names = xstrdup(a->names[0]);
	for (i = 1; i < a->n_names; i++) {
		tmp = xasprintf("%s,%s", names, a->names[i]);
		free(names);
		names = tmp;
	}
	if ((req = cf_csr_new(pk, subject, names, err)) != NULL &&
	    cf_csr_encode(req, 1, der, len, err) == 0)
		rc = 0;
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	free(subject);
	free(names);
	return rc;
}

/* The order's flow after the account: order, authorize, finalize, get. */
static int
order_run(struct acme_client *c, const struct acme_signer *s,
    const struct order_args *a, struct tokens *t, struct cf_error *err)
{
	struct acme_order *o = NULL, *done = NULL;
	unsigned char *csr = NULL;
	char *url = NULL, *pem = NULL, thumb[ACME_THUMB_LEN + 1];
	long long deadline = cf_now_ms() + a->deadline_ms;
	size_t csrlen = 0, pemlen = 0;
	int rc = -1;

	if (acme_jwk_thumbprint(s->jwk, thumb, err) != 0 ||
	    csr_make(a, &csr, &csrlen, err) != 0 ||
	    acme_order_new(c, a->names, a->n_names, NULL, &o, &url, err) != 0 ||
	    authorize(c, o, a, thumb, t, err) != 0 ||
	    acme_order_wait(c, url, ACME_S_READY, deadline, &done, err) != 0)
		goto out;
	acme_order_free(done);
	done = NULL;
	if (acme_order_finalize(c, o, csr, csrlen, err) != 0 ||
	    acme_order_wait(c, url, ACME_S_VALID, deadline, &done, err) != 0)
		goto out;
	if (done->certificate == NULL) {
		cf_errorf(err, CF_E_PARSE, "order: valid, no certificate URL");
		goto out;
	}
	if (acme_cert_download(
		c, done->certificate, a->alternate, &pem, &pemlen, err) != 0 ||
	    cf_write_file_atomic(a->out, pem, pemlen, 0644, err) != 0)
		goto out;
	print_json(json_pack("{s:s, s:s, s:s, s:I}", "order", url,
	    "certificate", done->certificate, "out", a->out, "badNonceRetries",
	    (json_int_t)acme_client_badnonce_retries(c)));
	rc = 0;
out:
	acme_order_free(o);
	acme_order_free(done);
	free(url);
	free(pem);
	free(csr);
	return rc;
}

static void
order_args(int argc, char **argv, struct order_args *a)
{
	static const struct option lo[] = {{"key", 1, NULL, 'k'},
	    {"cert-key", 1, NULL, 'c'}, {"domain", 1, NULL, 'd'},
	    {"webroot", 1, NULL, 'w'}, {"out", 1, NULL, 'o'},
	    {"alternate", 1, NULL, 'a'}, {"deadline-ms", 1, NULL, 't'}, {0}};
	char *end;
	int ch;

	a->deadline_ms = DEFAULT_DEADLINE_MS;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (ch) {
		case 'k':
			a->key = optarg;
			break;
		case 'c':
			a->cert_key = optarg;
			break;
		case 'd':
			if (a->n_names == NAMES_MAX)
				usage_exit("--domain: too many");
			a->names[a->n_names++] = optarg;
			break;
		case 'w':
			a->webroot = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'a':
			a->alternate = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->alternate < 0)
				usage_exit("--alternate: not a number");
			break;
		case 't':
			a->deadline_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || a->deadline_ms <= 0)
				usage_exit("--deadline-ms: not a number");
			break;
		default:
			exit(2);
		}
	if (a->key == NULL || a->cert_key == NULL || a->n_names == 0 ||
	    a->webroot == NULL || a->out == NULL || optind != argc)
		usage_exit("usage: order --key F --cert-key F --domain NAME... "
			   "--webroot DIR --out CHAIN.pem [--alternate N] "
			   "[--deadline-ms N]");
}

int
cmd_order(struct opts *o, int argc, char **argv)
{
	struct acme_account_req req = {.only_existing = 1};
	struct order_args a = {0};
	struct tokens t = {0};
	struct acme_client *c = NULL;
	struct acme_signer s = {0};
	EVP_PKEY *pk = NULL;
	struct cf_error err;
	int rc = 1;

	order_args(argc, argv, &a);
	if ((c = client_open(o, a.key, &pk, &s, &err)) == NULL ||
	    acme_account_new(c, &req, &err) != 0 ||
	    order_run(c, &s, &a, &t, &err) != 0)
		fail(&err);
	else
		rc = 0;
	tokens_remove(&t);
	acme_client_free(c);
	acme_signer_clear(&s);
	EVP_PKEY_free(pk);
	return rc;
}

/* The first certificate in PEM file path as DER (new). */
static int
cert_der(
    const char *path, unsigned char **der, size_t *len, struct cf_error *err)
{
	struct cf_buf b = {0};
	X509 *x = NULL;
	BIO *bio;
	int n;

	*der = NULL;
	if (cf_read_file(path, CERT_FILE_MAX, &b, err) != 0)
		return -1;
	bio = BIO_new_mem_buf(b.data, (int)b.len);
	if (bio != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	cf_buf_clear(&b);
	if (x == NULL)
		return cf_errorf_ossl(
		    err, CF_E_PARSE, "%s: not a PEM certificate", path);
	n = i2d_X509(x, der);
	X509_free(x);
	if (n <= 0)
		return cf_errorf_ossl(err, CF_E_CRYPTO, "%s: DER", path);
	*len = (size_t)n;
	return 0;
}

/* revoke --key F --cert CERT.pem [--reason CODE] */
int
cmd_revoke(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"key", 1, NULL, 'k'},
	    {"cert", 1, NULL, 'c'}, {"reason", 1, NULL, 'r'}, {0}};
	struct acme_account_req req = {.only_existing = 1};
	const char *key = NULL, *cert = NULL;
	struct acme_client *c = NULL;
	struct acme_signer s = {0};
	unsigned char *der = NULL;
	EVP_PKEY *pk = NULL;
	struct cf_error err;
	int ch, reason = -1, rc = 1;
	size_t len = 0;
	char *end;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'r':
			reason = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || reason < 0 || reason > 10)
				usage_exit("--reason: an RFC 5280 code, 0..10");
			break;
		default:
			return 2;
		}
	if (key == NULL || cert == NULL || optind != argc)
		usage_exit("usage: revoke --key F --cert CERT.pem "
			   "[--reason CODE]");
	if (cert_der(cert, &der, &len, &err) != 0 ||
	    (c = client_open(o, key, &pk, &s, &err)) == NULL ||
	    acme_account_new(c, &req, &err) != 0 ||
	    acme_cert_revoke(c, der, len, reason, &err) != 0)
		fail(&err);
	else {
		print_json(
		    json_pack("{s:s, s:i}", "revoked", cert, "reason", reason));
		rc = 0;
	}
	OPENSSL_free(der);
	acme_client_free(c);
	acme_signer_clear(&s);
	EVP_PKEY_free(pk);
	return rc;
}
