/*
 * client.c - the ACME client's flows (RFC 8555 7): the directory, the
 * account (with external account binding), orders, authorizations and
 * their challenges, finalization, the certificate chain and revocation.
 *
 * Every signed request goes through post(): a fresh nonce (newNonce when
 * none is kept), the JWS, and a retry with the CA's new nonce when it
 * answers badNonce, at most BADNONCE_RETRIES times.  An error from the
 * CA is its problem document as it is, after the step's name.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme.h"

#define BADNONCE_RETRIES 3
#define BADNONCE "urn:ietf:params:acme:error:badNonce"
#define DEFAULT_RETRY_MAX_MS 60000L
#define POLL_DEFAULT_MS 500L
#define CHAIN_MAX 10

struct acme_client {
	struct acme_http *http;
	struct acme_directory *dir;
	const struct acme_signer *signer;
	char *kid;
	long retry_max_ms;
	long badnonce_retries; /* over the client's life */
};

/*
 * The error of a response with an HTTP error status: its problem
 * document rendered after step, or the bare status.  *type (when not
 * NULL) gets the problem's type (new) or NULL.
 */
static int
resp_error(const struct acme_resp *r, const char *step, char **type,
    struct cf_error *err)
{
	struct acme_problem *p = NULL;
	char text[sizeof(err->msg)];

	if (type != NULL)
		*type = NULL;
	if (r->body.len > 0 && acme_problem_parse((const char *)r->body.data,
				   r->body.len, &p, NULL) == 0) {
		acme_problem_render(p, text, sizeof(text));
		if (type != NULL)
			*type = xstrdup(p->type);
		acme_problem_free(p);
		return cf_errorf(err, CF_E_DENIED, "%s: %s", step, text);
	}
	return cf_errorf(
	    err, CF_E_DENIED, "%s: HTTP %ld from the CA", step, r->status);
}

struct acme_client *
acme_client_new(const struct acme_client_config *cfg,
    const struct acme_signer *s, struct cf_error *err)
{
	struct acme_client *c = NULL;
	struct acme_resp r = {0};

	if (cfg->directory == NULL || acme_url_check(cfg->directory) != 0) {
		cf_errorf(err, CF_E_USAGE, "directory: not an https URL");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->signer = s;
	c->retry_max_ms = cfg->retry_after_max_ms > 0 ? cfg->retry_after_max_ms
						      : DEFAULT_RETRY_MAX_MS;
	if ((c->http = acme_http_new(cfg->ca_file, cfg->timeout_ms, err)) ==
		NULL ||
	    acme_http_request(c->http, "GET", cfg->directory, NULL, &r, err) !=
		0) {
		cf_error_prefix(err, "directory: ");
		goto fail;
	}
	if (r.status != 200) {
		resp_error(&r, "directory", NULL, err);
		goto fail;
	}
	if (acme_directory_parse(
		(const char *)r.body.data, r.body.len, &c->dir, err) != 0)
		goto fail;
	acme_resp_clear(&r);
	return c;
fail:
	acme_resp_clear(&r);
	acme_client_free(c);
	return NULL;
}

void
acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	acme_http_free(c->http);
	acme_directory_free(c->dir);
	free(c->kid);
	free(c);
}

const struct acme_directory *
acme_client_directory(const struct acme_client *c)
{
	return c->dir;
}

const char *
acme_client_kid(const struct acme_client *c)
{
	return c->kid;
}

long
acme_client_badnonce_retries(const struct acme_client *c)
{
	return c->badnonce_retries;
}

void
acme_client_set_kid(struct acme_client *c, const char *kid)
{
	free(c->kid);
	c->kid = kid != NULL ? xstrdup(kid) : NULL;
}

/* A nonce for the next request: the one kept, else newNonce's (new). */
static char *
nonce_get(struct acme_client *c, struct cf_error *err)
{
	struct acme_resp r;
	char *n = acme_http_nonce_take(c->http);

	if (n != NULL)
		return n;
	if (acme_http_request(
		c->http, "HEAD", c->dir->new_nonce, NULL, &r, err) != 0) {
		cf_error_prefix(err, "newNonce: ");
		return NULL;
	}
	acme_resp_clear(&r);
	if ((n = acme_http_nonce_take(c->http)) == NULL)
		cf_errorf(err, CF_E_PARSE, "newNonce: no Replay-Nonce");
	return n;
}

/*
 * POSTs payload (a JSON text; "" for POST-as-GET) to url, signed with
 * the account's kid (or its JWK when jwk is set), retrying on badNonce.
 * r gets a response with a status below 400; else -1, the CA's problem
 * after step.
 */
static int
post(struct acme_client *c, const char *step, const char *url,
    const char *payload, int jwk, struct acme_resp *r, struct cf_error *err)
{
	char *nonce = NULL, *body = NULL, *type = NULL;
	json_t *jws;
	int attempt, rc = -1;

	if (!jwk && c->kid == NULL)
		return cf_errorf(err, CF_E_USAGE, "%s: no account", step);
	for (attempt = 0; attempt <= BADNONCE_RETRIES; attempt++) {
		if ((nonce = nonce_get(c, err)) == NULL)
			return cf_error_prefix(err, "%s: ", step);
		jws = acme_jws_new(
		    c->signer, url, nonce, jwk ? NULL : c->kid, payload, err);
		free(nonce);
		if (jws == NULL)
			return cf_error_prefix(err, "%s: ", step);
		body = json_dumps(jws, JSON_COMPACT);
		json_decref(jws);
		rc = acme_http_request(c->http, "POST", url, body, r, err);
		free(body);
		if (rc != 0)
			return cf_error_prefix(err, "%s: ", step);
		if (r->status < 400)
			return 0;
		resp_error(r, step, &type, err);
		rc = type != NULL && strcmp(type, BADNONCE) == 0;
		free(type);
		acme_resp_clear(r);
		if (!rc)
			return -1;
		if (attempt < BADNONCE_RETRIES)
			c->badnonce_retries++;
	}
	/* badNonce each time: err has the CA's last problem. */
	return cf_error_append(err, " (after %d retries)", BADNONCE_RETRIES);
}

/* POST-as-GET of url; the body parsed by the caller. */
static int
post_get(struct acme_client *c, const char *step, const char *url,
    struct acme_resp *r, struct cf_error *err)
{
	return post(c, step, url, "", 0, r, err);
}

/* The contacts of req as a JSON array (new). */
static json_t *
contacts(const struct acme_account_req *req)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < req->n_contact; i++)
		json_array_append_new(a, json_string(req->contact[i]));
	return a;
}

int
acme_account_new(struct acme_client *c, const struct acme_account_req *req,
    struct cf_error *err)
{
	const char *step = "newAccount";
	json_t *p = json_object(), *eab;
	struct acme_account *a = NULL;
	struct acme_resp r = {0};
	char *text = NULL;
	int rc = -1;

	if (req->agree_tos)
		json_object_set_new(p, "termsOfServiceAgreed", json_true());
	if (req->n_contact > 0)
		json_object_set_new(p, "contact", contacts(req));
	if (req->only_existing)
		json_object_set_new(p, "onlyReturnExisting", json_true());
	if (req->eab_kid != NULL) {
		eab = acme_eab_new(req->eab_kid, req->eab_key, req->eab_keylen,
		    c->signer->jwk, c->dir->new_account, err);
		if (eab == NULL)
			goto out;
		json_object_set_new(p, "externalAccountBinding", eab);
	}
	text = json_dumps(p, JSON_COMPACT);
	if (post(c, step, c->dir->new_account, text, 1, &r, err) != 0)
		goto out;
	if (r.location == NULL || acme_url_check(r.location) != 0) {
		cf_errorf(err, CF_E_PARSE, "%s: no https Location", step);
		goto out;
	}
	if (acme_account_parse(
		(const char *)r.body.data, r.body.len, &a, err) != 0) {
		cf_error_prefix(err, "%s: ", step);
		goto out;
	}
	if (a->status != ACME_S_VALID) {
		cf_errorf(err, CF_E_DENIED, "%s: account is %s", step,
		    acme_status_name(a->status));
		goto out;
	}
	acme_client_set_kid(c, r.location);
	rc = 0;
out:
	acme_account_free(a);
	acme_resp_clear(&r);
	json_decref(p);
	free(text);
	return rc;
}

int
acme_account_deactivate(struct acme_client *c, struct cf_error *err)
{
	const char *step = "deactivate account";
	struct acme_account *a = NULL;
	struct acme_resp r = {0};
	int rc = -1;

	if (post(c, step, c->kid ? c->kid : "", "{\"status\":\"deactivated\"}",
		0, &r, err) != 0)
		goto out;
	if (acme_account_parse(
		(const char *)r.body.data, r.body.len, &a, err) != 0) {
		cf_error_prefix(err, "%s: ", step);
		goto out;
	}
	if (a->status != ACME_S_DEACTIVATED) {
		cf_errorf(err, CF_E_PARSE, "%s: the account is %s", step,
		    acme_status_name(a->status));
		goto out;
	}
	rc = 0;
out:
	acme_account_free(a);
	acme_resp_clear(&r);
	return rc;
}

int
acme_authz_deactivate(
    struct acme_client *c, const char *url, struct cf_error *err)
{
	const char *step = "deactivate authorization";
	struct acme_authz *a = NULL;
	struct acme_resp r = {0};
	int rc = -1;

	if (post(c, step, url, "{\"status\":\"deactivated\"}", 0, &r, err) != 0)
		goto out;
	if (acme_authz_parse((const char *)r.body.data, r.body.len, &a, err) !=
	    0) {
		cf_error_prefix(err, "%s: ", step);
		goto out;
	}
	if (a->status != ACME_S_DEACTIVATED) {
		cf_errorf(err, CF_E_PARSE, "%s: %s is %s", step, a->identifier,
		    acme_status_name(a->status));
		goto out;
	}
	rc = 0;
out:
	acme_authz_free(a);
	acme_resp_clear(&r);
	return rc;
}

int
acme_order_new(struct acme_client *c, const char *const *names, size_t n,
    const char *profile, struct acme_order **out, char **url,
    struct cf_error *err)
{
	json_t *ids, *p;
	struct acme_resp r = {0};
	char *text;
	size_t i;
	int rc = -1;

	*out = NULL;
	*url = NULL;
	for (i = 0; profile != NULL && i < c->dir->n_profiles; i++)
		if (strcmp(c->dir->profiles[i], profile) == 0)
			break;
	if (profile != NULL && i == c->dir->n_profiles)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "newOrder: profile %.64s: the CA's directory does not "
		    "offer it (%s%zu profiles offered)",
		    profile, c->dir->n_profiles ? "" : "no profiles: ",
		    c->dir->n_profiles);
	ids = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ids,
		    json_pack("{s:s, s:s}", "type", "dns", "value", names[i]));
	p = json_pack("{s:o}", "identifiers", ids);
	if (profile != NULL)
		json_object_set_new(p, "profile", json_string(profile));
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (post(c, "newOrder", c->dir->new_order, text, 0, &r, err) != 0)
		goto out;
	if (r.location == NULL || acme_url_check(r.location) != 0) {
		cf_errorf(err, CF_E_PARSE, "newOrder: no https Location");
		goto out;
	}
	if (acme_order_parse((const char *)r.body.data, r.body.len, out, err) !=
	    0) {
		cf_error_prefix(err, "newOrder: ");
		goto out;
	}
	*url = xstrdup(r.location);
	rc = 0;
out:
	acme_resp_clear(&r);
	free(text);
	return rc;
}

/* POST-as-GET of an order; the response's Retry-After into *retry. */
static int
order_fetch(struct acme_client *c, const char *url, struct acme_order **out,
    long *retry, struct cf_error *err)
{
	struct acme_resp r;
	int rc;

	*out = NULL;
	if (post_get(c, "order", url, &r, err) != 0)
		return -1;
	rc = acme_order_parse((const char *)r.body.data, r.body.len, out, err);
	if (retry != NULL)
		*retry = r.retry_after;
	acme_resp_clear(&r);
	return rc;
}

int
acme_order_get(struct acme_client *c, const char *url, struct acme_order **out,
    struct cf_error *err)
{
	return order_fetch(c, url, out, NULL, err);
}

static int
authz_fetch(struct acme_client *c, const char *url, struct acme_authz **out,
    long *retry, struct cf_error *err)
{
	struct acme_resp r;
	int rc;

	*out = NULL;
	if (post_get(c, "authorization", url, &r, err) != 0)
		return -1;
	rc = acme_authz_parse((const char *)r.body.data, r.body.len, out, err);
	if (retry != NULL)
		*retry = r.retry_after;
	acme_resp_clear(&r);
	return rc;
}

int
acme_authz_get(struct acme_client *c, const char *url, struct acme_authz **out,
    struct cf_error *err)
{
	return authz_fetch(c, url, out, NULL, err);
}

int
acme_challenge_respond(
    struct acme_client *c, const char *url, struct cf_error *err)
{
	struct acme_resp r;

	if (post(c, "challenge", url, "{}", 0, &r, err) != 0)
		return -1;
	acme_resp_clear(&r);
	return 0;
}

/*
 * Sleeps before the next poll: Retry-After (seconds, -1 none) capped,
 * else POLL_DEFAULT_MS; never past deadline.  -1 when it has passed.
 */
static int
poll_sleep(const struct acme_client *c, long retry, long long deadline_ms)
{
	long long ms = retry >= 0 ? (long long)retry * 1000 : POLL_DEFAULT_MS;
	long long left = deadline_ms - cf_now_ms();

	if (ms > c->retry_max_ms)
		ms = c->retry_max_ms;
	if (left <= 0)
		return -1;
	cf_sleep_ms(ms < left ? ms : left);
	return 0;
}

/* The error of an authorization that ended other than valid. */
static int
authz_failed(const struct acme_authz *a, struct cf_error *err)
{
	char text[sizeof(err->msg)] = "no problem given";
	size_t i;

	for (i = 0; i < a->n_challenges; i++)
		if (a->challenges[i].error != NULL) {
			acme_problem_render(
			    a->challenges[i].error, text, sizeof(text));
			break;
		}
	return cf_errorf(err, CF_E_DENIED, "authorization %s: %s: %s",
	    a->identifier, acme_status_name(a->status), text);
}

int
acme_authz_wait(struct acme_client *c, const char *url, long long deadline_ms,
    struct acme_authz **out, struct cf_error *err)
{
	struct acme_authz *a = NULL;
	long retry = -1;

	*out = NULL;
	for (;;) {
		acme_authz_free(a);
		if (authz_fetch(c, url, &a, &retry, err) != 0)
			return -1;
		if (a->status != ACME_S_PENDING)
			break;
		if (poll_sleep(c, retry, deadline_ms) != 0) {
			*out = a;
			return cf_errorf(err, CF_E_LIMIT,
			    "authorization %s: still pending at the deadline",
			    a->identifier);
		}
	}
	*out = a;
	return a->status == ACME_S_VALID ? 0 : authz_failed(a, err);
}

int
acme_order_wait(struct acme_client *c, const char *url, enum acme_status want,
    long long deadline_ms, struct acme_order **out, struct cf_error *err)
{
	struct acme_order *o = NULL;
	char text[sizeof(err->msg)] = "no problem given";
	long retry = -1;

	*out = NULL;
	for (;;) {
		acme_order_free(o);
		if (order_fetch(c, url, &o, &retry, err) != 0)
			return -1;
		*out = o;
		if (o->status == want)
			return 0;
		if (o->status != ACME_S_PENDING &&
		    o->status != ACME_S_PROCESSING &&
		    !(o->status == ACME_S_READY && want == ACME_S_VALID))
			break;
		if (poll_sleep(c, retry, deadline_ms) != 0)
			return cf_errorf(err, CF_E_LIMIT,
			    "order: still %s at the deadline",
			    acme_status_name(o->status));
	}
	if (o->error != NULL)
		acme_problem_render(o->error, text, sizeof(text));
	return cf_errorf(err, CF_E_DENIED, "order: %s: %s",
	    acme_status_name(o->status), text);
}

int
acme_order_finalize(struct acme_client *c, const struct acme_order *o,
    const unsigned char *csr, size_t csrlen, struct cf_error *err)
{
	struct acme_resp r = {0};
	char *b = acme_b64u_new(csr, csrlen), *text;
	json_t *p = json_pack("{s:s}", "csr", b);
	int rc;

	text = json_dumps(p, JSON_COMPACT);
	rc = post(c, "finalize", o->finalize, text, 0, &r, err);
	acme_resp_clear(&r);
	json_decref(p);
	free(text);
	free(b);
	return rc;
}

/* 0 when pem is 1..CHAIN_MAX PEM certificates that OpenSSL reads. */
static int
chain_check(const char *pem, size_t len, struct cf_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int n = 0;

	while (bio != NULL && n <= CHAIN_MAX &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (n == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "certificate: no PEM certificate in the response");
	if (n > CHAIN_MAX)
		return cf_errorf(err, CF_E_LIMIT,
		    "certificate: more than %d certificates", CHAIN_MAX);
	return 0;
}

int
acme_cert_download(struct acme_client *c, const char *url, int alternate,
    char **pem, size_t *len, struct cf_error *err)
{
	struct acme_resp r = {0};
	char *alt = NULL;
	int rc = -1;

	*pem = NULL;
	*len = 0;
	if (post_get(c, "certificate", url, &r, err) != 0)
		return -1;
	if (alternate > 0) {
		if ((size_t)alternate > r.n_alternates ||
		    acme_url_check(r.alternates[alternate - 1]) != 0) {
			cf_errorf(err, CF_E_NOTFOUND,
			    "certificate: no alternate chain %d (the CA offers "
			    "%zu)",
			    alternate, r.n_alternates);
			goto out;
		}
		alt = xstrdup(r.alternates[alternate - 1]);
		acme_resp_clear(&r);
		if (post_get(c, "alternate certificate", alt, &r, err) != 0)
			goto out;
	}
	if (r.content_type == NULL ||
	    strcmp(r.content_type, "application/pem-certificate-chain") != 0) {
		cf_errorf(err, CF_E_PARSE,
		    "certificate: not application/pem-certificate-chain");
		goto out;
	}
	if (chain_check((const char *)r.body.data, r.body.len, err) != 0)
		goto out;
	*pem = (char *)r.body.data;
	*len = r.body.len;
	r.body.data = NULL;
	r.body.len = 0;
	rc = 0;
out:
	free(alt);
	acme_resp_clear(&r);
	return rc;
}

int
acme_ari_get(struct acme_client *c, const char *cert_id, struct acme_ari *out,
    struct cf_error *err)
{
	const char *base = c->dir->renewal_info;
	struct acme_resp r = {0};
	char *url;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (base == NULL)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "ari: the CA's directory offers no renewalInfo");
	/* base64url, a dot, base64url: nothing else goes into the URL */
	if (strlen(cert_id) > 512 || strchr(cert_id, '.') == NULL ||
	    strchr(cert_id, '.') != strrchr(cert_id, '.') ||
	    cert_id[0] == '.' || cert_id[strlen(cert_id) - 1] == '.' ||
	    strspn(cert_id,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_.") != strlen(cert_id))
		return cf_errorf(err, CF_E_USAGE, "ari: not a certificate ID");
	url = xasprintf("%s%s%s", base,
	    base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/",
	    cert_id);
	if (acme_http_request(c->http, "GET", url, NULL, &r, err) == 0) {
		if (r.status != 200)
			resp_error(&r, "ari", NULL, err);
		else if (acme_ari_parse((const char *)r.body.data, r.body.len,
			     out, err) == 0) {
			out->retry_after = r.retry_after;
			rc = 0;
		}
	}
	acme_resp_clear(&r);
	free(url);
	return rc;
}

int
acme_cert_revoke(struct acme_client *c, const unsigned char *cert,
    size_t certlen, int reason, struct cf_error *err)
{
	struct acme_resp r = {0};
	char *b = acme_b64u_new(cert, certlen), *text;
	json_t *p = json_pack("{s:s}", "certificate", b);
	int rc;

	if (reason >= 0)
		json_object_set_new(p, "reason", json_integer(reason));
	text = json_dumps(p, JSON_COMPACT);
	rc = post(c, "revokeCert", c->dir->revoke_cert, text, 0, &r, err);
	acme_resp_clear(&r);
	json_decref(p);
	free(text);
	free(b);
	return rc;
}
