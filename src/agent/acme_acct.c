/*
 * acme_acct.c - the ACME accounts of this agent: made, listed, signed
 * for, registered and removed in the store process (acme_acct.h).
 *
 * The key is unsealed only to sign or to show its public JWK, held as
 * an EVP_PKEY for that one request, and its PKCS#8 wiped right after
 * (cf_secret).  The sign route is the one way the key is used: it signs
 * a JWS whose protected header it has read and found to be this
 * account's, for this account's CA, and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "acme.h"
#include "acme_acct.h"
#include "cert.h"
#include "routes.h"
#include "store.h"
#include "util.h"

#define NAME_MAX_LEN 63
#define CONTACT_MAX 320
#define PROTECTED_MAX 8192    /* base64url of the protected header */
#define PAYLOAD_MAX (1 << 16) /* base64url of the payload */
#define NONCE_MAX 256

static const char *const key_types[] = {
    "p256", "rsa2048", "rsa3072", "rsa4096", NULL};

int
acme_acct_is_route(const char *path)
{
	size_t n = strlen(ACME_ACCT_ROUTE);

	return strncmp(path, ACME_ACCT_ROUTE, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

const char *
acme_acct_route(const char *path)
{
	const char *p = path + strlen(ACME_ACCT_ROUTE), *slash;

	if (!acme_acct_is_route(path))
		return NULL;
	if (*p == '\0')
		return ACME_ACCT_ROUTE;
	slash = strchr(p + 1, '/');
	if (slash == NULL)
		return ACME_ACCT_ROUTE "/{name}";
	if (strcmp(slash, "/sign") == 0)
		return ACME_ACCT_ROUTE "/{name}/sign";
	if (strcmp(slash, "/url") == 0)
		return ACME_ACCT_ROUTE "/{name}/url";
	return NULL;
}

/* The rule of issuer names (issuer.c): letters, digits, . _ -, not
 * starting with punctuation, at most 63. */
static int
name_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= NAME_MAX_LEN &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n &&
	       strchr("._-", v[0]) == NULL;
}

static int
b64u_ok(const char *s)
{
	size_t n = strlen(s);

	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == n;
}

/*
 * The origin of the https URL url as "host:port" (lower case, port 443
 * when none is given) into out; -1 when url is not an https URL.
 */
static int
origin_of(const char *url, char *out, size_t size)
{
	const char *host, *end, *colon;
	size_t i, n;

	if (acme_url_check(url) != 0)
		return -1;
	host = url + 8;
	end = host + strcspn(host, "/?#");
	n = (size_t)(end - host);
	colon = host[0] == '[' ? memchr(host, ']', n) : host;
	if (colon == NULL)
		return -1;
	colon = memchr(colon, ':', (size_t)(end - colon));
	if (colon == NULL)
		snprintf(out, size, "%.*s:443", (int)n, host);
	else
		snprintf(out, size, "%.*s", (int)n, host);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return 0;
}

static int
same_origin(const char *a, const char *b)
{
	char oa[ACME_URL_MAX + 8], ob[ACME_URL_MAX + 8];

	return origin_of(a, oa, sizeof(oa)) == 0 &&
	       origin_of(b, ob, sizeof(ob)) == 0 && strcmp(oa, ob) == 0;
}

/* The path's account name into name ("" for the collection) and what
 * follows it into *rest ("", "sign" or "url"). */
static int
path_parts(const char *path, char *name, size_t size, const char **rest,
    struct cf_error *err)
{
	const char *p = path + strlen(ACME_ACCT_ROUTE), *slash;
	size_t n;

	*rest = "";
	name[0] = '\0';
	if (*p == '\0')
		return 0;
	p++;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n < size)
		snprintf(name, size, "%.*s", (int)n, p);
	if (n >= size || !name_ok(name)) {
		name[0] = '\0';
		return cf_errorf(err, CF_E_USAGE,
		    "%.64s: not an account name (letters, digits, . _ -, up "
		    "to %d, not starting with punctuation)",
		    p, NAME_MAX_LEN);
	}
	if (slash != NULL)
		*rest = slash + 1;
	return 0;
}

/* Account name's row into *a (cf_acme_accounts_free) and its key into
 * *pk (new). */
static int
account_load(struct cf_store *s, const char *name, struct cf_acme_account **a,
    EVP_PKEY **pk, struct cf_error *err)
{
	struct cf_secret *p8 = NULL;
	const unsigned char *p;
	size_t n = 0;

	*a = NULL;
	*pk = NULL;
	if (cf_store_acme_list(s, name, a, &n, err) == -1)
		return -1;
	if (n == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "ACME account %s: no such account here (GET %s lists them)",
		    name, ACME_ACCT_ROUTE);
	if (cf_store_acme_key(s, name, &p8, err) == 0) {
		p = (const unsigned char *)p8->data;
		*pk = d2i_AutoPrivateKey(NULL, &p, (long)p8->len);
		if (*pk == NULL)
			cf_errorf_ossl(err, CF_E_CRYPTO,
			    "ACME account %s: its key does not read", name);
	}
	cf_secret_free(p8);
	if (*pk == NULL) {
		cf_acme_accounts_free(*a, 1);
		*a = NULL;
		return -1;
	}
	return 0;
}

/* The view of account a with key pk (new): its public JWK only. */
static json_t *
view_new(const struct cf_acme_account *a, EVP_PKEY *pk, struct cf_error *err)
{
	struct acme_signer sg;
	char thumb[ACME_THUMB_LEN + 1], at[21];
	json_t *v = NULL;

	memset(&sg, 0, sizeof(sg));
	if (acme_signer_from_pkey(pk, &sg, err) == -1 ||
	    acme_jwk_thumbprint(sg.jwk, thumb, err) == -1)
		goto out;
	cf_time_iso(a->created, at);
	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s}", "Name",
	    a->name, "Directory", a->directory, "KeyType", a->key_type, "Url",
	    a->url, "Contact", a->contact, "Created", at, "Alg", sg.alg, "Jwk",
	    sg.jwk, "JwkThumbprint", thumb);
out:
	acme_signer_clear(&sg);
	return v;
}

/* The view of account name into *out (a JSON text, new). */
static int
answer_view(
    struct cf_store *s, const char *name, char **out, struct cf_error *err)
{
	struct cf_acme_account *a = NULL;
	EVP_PKEY *pk = NULL;
	json_t *v = NULL;

	if (account_load(s, name, &a, &pk, err) == 0 &&
	    (v = view_new(a, pk, err)) != NULL)
		*out = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	EVP_PKEY_free(pk);
	cf_acme_accounts_free(a, a ? 1 : 0);
	return *out != NULL ? 0 : -1;
}

static int
list(struct cf_store *s, char **out, struct cf_error *err)
{
	struct cf_acme_account *a = NULL, *one = NULL;
	EVP_PKEY *pk = NULL;
	json_t *arr = json_array(), *v;
	size_t n = 0, i;
	int rc = -1;

	if (cf_store_acme_list(s, NULL, &a, &n, err) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (account_load(s, a[i].name, &one, &pk, err) == -1)
			goto out;
		v = view_new(one, pk, err);
		EVP_PKEY_free(pk);
		cf_acme_accounts_free(one, 1);
		if (v == NULL)
			goto out;
		json_array_append_new(arr, v);
	}
	*out = json_dumps(arr, JSON_COMPACT);
	rc = 0;
out:
	cf_acme_accounts_free(a, n);
	json_decref(arr);
	return rc;
}

static const char *
str_of(json_t *body, const char *key)
{
	return json_string_value(json_object_get(body, key));
}

/* POST: a new account of a new key, sealed here. */
static int
create(struct cf_store *s, json_t *body, char *name, size_t size, char **out,
    struct cf_error *err)
{
	struct cf_acme_account a;
	struct cf_secret *p8 = NULL;
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	const char *dir = str_of(body, "Directory");
	const char *kt = str_of(body, "KeyType");
	const char *contact = str_of(body, "Contact");
	size_t i;
	int rc = -1, n;

	memset(&a, 0, sizeof(a));
	if (!json_is_object(body) || str_of(body, "Name") == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "request body: give {\"Name\", \"Directory\"} (and "
		    "\"KeyType\", \"Contact\")");
	snprintf(name, size, "%s", str_of(body, "Name"));
	if (!name_ok(str_of(body, "Name")))
		return cf_errorf(err, CF_E_USAGE,
		    "Name: not an account name (letters, digits, . _ -, up "
		    "to %d, not starting with punctuation)",
		    NAME_MAX_LEN);
	if (dir == NULL || acme_url_check(dir) != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "Directory: not an https URL (at most %d bytes, no user "
		    "name or password in it)",
		    ACME_URL_MAX);
	if (kt == NULL)
		kt = "p256";
	for (i = 0; key_types[i] != NULL && strcmp(key_types[i], kt); i++)
		;
	if (key_types[i] == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "KeyType %.16s: give p256, rsa2048, rsa3072 or rsa4096",
		    kt);
	if (contact != NULL &&
	    (strncmp(contact, "mailto:", 7) != 0 || contact[7] == '\0' ||
		strlen(contact) > CONTACT_MAX ||
		strcspn(contact, " \t\r\n,") != strlen(contact)))
		return cf_errorf(err, CF_E_USAGE,
		    "Contact: give one mailto: URL (mailto:ops@example.com)");
	if ((pk = cf_key_generate(kt, err)) == NULL)
		goto out;
	if ((n = i2d_PrivateKey(pk, &der)) <= 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the new key");
		goto out;
	}
	p8 = cf_secret_new(der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	a.name = name;
	a.directory = (char *)dir;
	a.key_type = (char *)kt;
	a.contact = (char *)(contact ? contact : "");
	if (cf_store_acme_put(
		s, &a, (const unsigned char *)p8->data, p8->len, err) == -1 ||
	    answer_view(s, name, out, err) == -1)
		goto out;
	rc = 0;
out:
	cf_secret_free(p8);
	EVP_PKEY_free(pk);
	return rc;
}

/*
 * Whether the protected header hdr (decoded) is one this account may
 * sign: its alg, a nonce, a URL on its directory's origin, and exactly
 * one of its JWK (only before it is registered) or its URL as kid.
 */
static int
header_check(const struct cf_acme_account *a, const struct acme_signer *sg,
    json_t *hdr, struct cf_error *err)
{
	json_t *jwk = json_object_get(hdr, "jwk");
	json_t *kid = json_object_get(hdr, "kid");
	const char *alg = str_of(hdr, "alg"), *nonce = str_of(hdr, "nonce");
	const char *url = str_of(hdr, "url");

	if (!json_is_object(hdr))
		return cf_errorf(
		    err, CF_E_USAGE, "Protected: not a JSON object");
	if (alg == NULL || strcmp(alg, sg->alg) != 0)
		return cf_errorf(err, CF_E_DENIED,
		    "Protected: alg is not this account's (%s)", sg->alg);
	if (nonce == NULL || nonce[0] == '\0' || strlen(nonce) > NONCE_MAX)
		return cf_errorf(
		    err, CF_E_USAGE, "Protected: nonce: give the CA's nonce");
	if (url == NULL || acme_url_check(url) != 0)
		return cf_errorf(
		    err, CF_E_USAGE, "Protected: url: not an https URL");
	if (!same_origin(url, a->directory))
		return cf_errorf(err, CF_E_DENIED,
		    "Protected: url: not on the origin of the account's "
		    "directory (%s)",
		    a->directory);
	if ((jwk == NULL) == (kid == NULL))
		return cf_errorf(err, CF_E_USAGE,
		    "Protected: give exactly one of jwk and kid");
	if (jwk != NULL && !json_equal(jwk, sg->jwk))
		return cf_errorf(err, CF_E_DENIED,
		    "Protected: jwk: not this account's public key");
	if (jwk != NULL && a->url[0] != '\0')
		return cf_errorf(err, CF_E_DENIED,
		    "Protected: jwk: the account is registered (%s); sign "
		    "with its URL as kid",
		    a->url);
	if (kid != NULL && (!json_is_string(kid) || a->url[0] == '\0' ||
			       strcmp(json_string_value(kid), a->url) != 0))
		return cf_errorf(err, CF_E_DENIED,
		    "Protected: kid: not this account's URL (%s)",
		    a->url[0] ? a->url : "none yet: register it first");
	return 0;
}

/* POST NAME/sign: the signature over Protected.Payload, once checked. */
static int
sign(struct cf_store *s, const char *name, json_t *body, char **out,
    struct cf_error *err)
{
	struct cf_acme_account *a = NULL;
	struct acme_signer sg;
	struct cf_buf hb = {0};
	EVP_PKEY *pk = NULL;
	json_t *hdr = NULL;
	const char *prot = str_of(body, "Protected");
	const char *pay = str_of(body, "Payload");
	unsigned char sig[ACME_SIG_MAX];
	size_t siglen = sizeof(sig);
	char *in = NULL, *b64 = NULL;
	int rc = -1;

	memset(&sg, 0, sizeof(sg));
	if (prot == NULL || pay == NULL || strlen(prot) > PROTECTED_MAX ||
	    strlen(pay) > PAYLOAD_MAX || !b64u_ok(pay))
		return cf_errorf(err, CF_E_USAGE,
		    "request body: give {\"Protected\", \"Payload\"}, each "
		    "base64url (at most %d and %d characters)",
		    PROTECTED_MAX, PAYLOAD_MAX);
	if (acme_b64u_decode(prot, "Protected", &hb, err) == -1)
		goto out;
	if ((hdr = json_loadb((const char *)hb.data, hb.len,
		 JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		cf_errorf(err, CF_E_USAGE, "Protected: not JSON");
		goto out;
	}
	if (account_load(s, name, &a, &pk, err) == -1 ||
	    acme_signer_from_pkey(pk, &sg, err) == -1 ||
	    header_check(a, &sg, hdr, err) == -1)
		goto out;
	in = xasprintf("%s.%s", prot, pay);
	if (sg.sign(sg.arg, (const unsigned char *)in, strlen(in), sig,
		&siglen) == -1) {
		cf_errorf_ossl(
		    err, CF_E_CRYPTO, "ACME account %s: cannot sign", name);
		goto out;
	}
	b64 = acme_b64u_new(sig, siglen);
	*out = xasprintf("{\"Signature\":\"%s\"}", b64);
	rc = 0;
out:
	free(b64);
	free(in);
	json_decref(hdr);
	cf_buf_clear(&hb);
	acme_signer_clear(&sg);
	EVP_PKEY_free(pk);
	cf_acme_accounts_free(a, a ? 1 : 0);
	return rc;
}

/* PUT NAME/url: the account URL, set once, on the directory's origin. */
static int
set_url(struct cf_store *s, const char *name, json_t *body, char **out,
    struct cf_error *err)
{
	struct cf_acme_account *a = NULL;
	const char *url = str_of(body, "Url");
	size_t n = 0;
	int rc = -1;

	if (url == NULL || acme_url_check(url) != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "request body: give {\"Url\": the https URL of the "
		    "account}");
	if (cf_store_acme_list(s, name, &a, &n, err) == -1)
		return -1;
	if (n == 0)
		cf_errorf(err, CF_E_NOTFOUND,
		    "ACME account %s: no such account here", name);
	else if (!same_origin(url, a->directory))
		cf_errorf(err, CF_E_DENIED,
		    "Url: not on the origin of the account's directory (%s)",
		    a->directory);
	else if (a->url[0] != '\0' && strcmp(a->url, url) != 0)
		cf_errorf(err, CF_E_CONFLICT,
		    "ACME account %s: registered already as %s", name, a->url);
	else if (cf_store_acme_set_url(s, name, url, err) == 0 &&
		 answer_view(s, name, out, err) == 0)
		rc = 0;
	cf_acme_accounts_free(a, n);
	return rc;
}

static int
remove_account(
    struct cf_store *s, const char *name, char **out, struct cf_error *err)
{
	if (cf_store_acme_remove(s, name, err) == -1)
		return -1;
	*out = xasprintf("{\"Name\":\"%s\",\"Removed\":true}", name);
	return 0;
}

/*
 * When pay (a JWS payload, base64url) is a revokeCert's (RFC 8555 7.6),
 * its certificate's thumbprint (SHA-1 of the DER, as the store names
 * certificates) into thumb and its reason into *reason (-1: none); 0,
 * or -1 for any other payload.  The DER is hashed, never parsed: the
 * store process parses no certificate a client sends.
 */
static int
revocation_of(const char *pay, char thumb[CF_THUMB_LEN + 1], long *reason)
{
	struct cf_buf pb = {0}, der = {0};
	struct cf_error e;
	unsigned char md[20];
	json_t *p = NULL, *r;
	const char *c;
	int rc = -1;

	if (pay == NULL || pay[0] == '\0' ||
	    acme_b64u_decode(pay, "Payload", &pb, &e) == -1)
		goto out;
	p = json_loadb(
	    (const char *)pb.data, pb.len, JSON_REJECT_DUPLICATES, NULL);
	c = json_string_value(json_object_get(p, "certificate"));
	if (c == NULL || acme_b64u_decode(c, "certificate", &der, &e) == -1 ||
	    der.len == 0 ||
	    EVP_Digest(der.data, der.len, md, NULL, EVP_sha1(), NULL) != 1)
		goto out;
	cf_hex_upper(md, sizeof(md), thumb);
	r = json_object_get(p, "reason");
	*reason = json_is_integer(r) ? (long)json_integer_value(r) : -1;
	rc = 0;
out:
	json_decref(p);
	cf_buf_clear(&pb);
	cf_buf_clear(&der);
	return rc;
}

/*
 * Signatures are not audited (a CA's polls make dozens), but for a
 * revocation's, which cannot be undone: acme-revoke, the certificate's
 * thumbprint, the account and the reason.  Whether the CA then revoked
 * it is the client's to say; the agent never hears the CA.
 */
static void
revocation_audit(struct cf_store *store, const char *actor, const char *name,
    json_t *body, int rc, const struct cf_error *err)
{
	char thumb[CF_THUMB_LEN + 1], *outcome;
	long reason = -1;

	if (revocation_of(str_of(body, "Payload"), thumb, &reason) == -1)
		return;
	if (rc != 0)
		outcome = xasprintf("refused: %s", err->msg);
	else if (reason >= 0)
		outcome =
		    xasprintf("signed: account %s, reason %ld", name, reason);
	else
		outcome = xasprintf("signed: account %s, no reason", name);
	cf_store_audit(store, actor, "acme-revoke", thumb, outcome, NULL);
	free(outcome);
}

/* Which operation method and rest name, its audit name (NULL: not
 * audited) and whether it needs the admin role; -1 when none. */
static int
op_of(const char *method, const char *name, const char *rest,
    const char **audit, struct cf_error *err)
{
	*audit = NULL;
	if (name[0] == '\0' && strcmp(method, "GET") == 0)
		return 0;
	if (name[0] == '\0' && strcmp(method, "POST") == 0)
		*audit = "acme-account-new";
	else if (rest[0] == '\0' && strcmp(method, "DELETE") == 0)
		*audit = "acme-account-remove";
	else if (strcmp(rest, "url") == 0 && strcmp(method, "PUT") == 0)
		*audit = "acme-account-register";
	else if (!(strcmp(rest, "sign") == 0 && strcmp(method, "POST") == 0))
		return cf_errorf(err, CF_E_USAGE,
		    "%.16s %.200s: GET or POST " ACME_ACCT_ROUTE
		    "; POST .../NAME/sign; PUT .../NAME/url; DELETE .../NAME",
		    method, ACME_ACCT_ROUTE);
	return 1;
}

int
acme_acct_serve(struct cf_store *store, enum cf_role role, const char *actor,
    const char *method, const char *path, json_t *body, char **out)
{
	struct cf_error err;
	char name[NAME_MAX_LEN + 2], *outcome;
	const char *rest = "", *audit = NULL;
	int admin, rc;

	cf_error_clear(&err);
	*out = NULL;
	if (path_parts(path, name, sizeof(name), &rest, &err) == -1)
		return route_fail(&err, out);
	if ((admin = op_of(method, name, rest, &audit, &err)) == -1)
		return route_answer(ROUTE_NO_METHOD, CF_E_USAGE, err.msg, out);
	if (admin && role != CF_ROLE_ADMIN) {
		cf_errorf(&err, CF_E_DENIED,
		    "%s %s: needs the admin role; this client is a %s", method,
		    path, cf_role_name(role));
		rc = -1;
	} else if (!admin)
		rc = list(store, out, &err);
	else if (name[0] == '\0')
		rc = create(store, body, name, sizeof(name), out, &err);
	else if (strcmp(rest, "sign") == 0) {
		rc = sign(store, name, body, out, &err);
		revocation_audit(store, actor, name, body, rc, &err);
	} else if (strcmp(rest, "url") == 0)
		rc = set_url(store, name, body, out, &err);
	else
		rc = remove_account(store, name, out, &err);
	if (audit != NULL) {
		outcome = rc == 0 ? xasprintf("ok: account %s", name)
				  : xasprintf("refused: %s", err.msg);
		cf_store_audit(store, actor, audit, "", outcome, NULL);
		free(outcome);
	}
	if (rc == -1) {
		free(*out);
		*out = NULL;
		return route_fail(&err, out);
	}
	return route_status(ROUTE_BY_CODE, CF_OK);
}
