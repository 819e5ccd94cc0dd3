/*
 * jws.c - JWS for ACME (RFC 7515, RFC 8555 6.2) over OpenSSL 3: ES256
 * and RS256 for account keys, HS256 for the external account binding
 * only, the flattened JSON serialization, public JWKs and their RFC 7638
 * thumbprints.
 *
 * In-house rather than libjose so that the account key stays an
 * EVP_PKEY in the process that holds it (signing goes through a
 * callback), never a private JWK in jansson's heap.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme.h"

#define ES256_HALF 32
#define RSA_MIN_BITS 2048

char *
acme_b64u_new(const unsigned char *p, size_t len)
{
	char *s = cf_base64_new(p, len);
	size_t i, n = strlen(s);

	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return s;
}

int
acme_b64u_decode(
    const char *s, const char *what, struct cf_buf *out, struct cf_error *err)
{
	size_t n = strlen(s), i;
	char *t;
	int rc;

	out->data = NULL;
	out->len = 0;
	if (n % 4 == 1)
		return cf_errorf(err, CF_E_PARSE, "%s: not base64url", what);
	t = xmalloc(n + 4);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9'))) {
			free(t);
			return cf_errorf(
			    err, CF_E_PARSE, "%s: not base64url", what);
		}
		t[i] = c;
	}
	while (i % 4 != 0)
		t[i++] = '=';
	rc = cf_base64_decode(t, i, what, out, err);
	free(t);
	return rc;
}

/* 1 when pk is an EC key on P-256, 0 when RSA of enough bits, else -1. */
static int
key_kind(EVP_PKEY *pk)
{
	char group[64];

	if (EVP_PKEY_is_a(pk, "RSA"))
		return EVP_PKEY_get_bits(pk) >= RSA_MIN_BITS ? 0 : -1;
	if (!EVP_PKEY_is_a(pk, "EC"))
		return -1;
	if (!EVP_PKEY_get_utf8_string_param(
		pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
		return -1;
	if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
		return -1;
	return 1;
}

/* The BIGNUM parameter name of pk as base64url, padded to pad bytes
 * (0: its minimal length); new, or NULL. */
static char *
bn_b64u(EVP_PKEY *pk, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *s = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(pk, name, &bn))
		return NULL;
	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n > 0 && (size_t)n <= sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
		s = acme_b64u_new(buf, (size_t)n);
	BN_free(bn);
	return s;
}

json_t *
acme_jwk_new(EVP_PKEY *pk, struct cf_error *err)
{
	int kind = key_kind(pk);
	char *a = NULL, *b = NULL;
	json_t *jwk = NULL;

	if (kind < 0) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "account key: not EC P-256 or RSA of %d bits or more",
		    RSA_MIN_BITS);
		return NULL;
	}
	if (kind == 1) {
		a = bn_b64u(pk, OSSL_PKEY_PARAM_EC_PUB_X, ES256_HALF);
		b = bn_b64u(pk, OSSL_PKEY_PARAM_EC_PUB_Y, ES256_HALF);
	} else {
		a = bn_b64u(pk, OSSL_PKEY_PARAM_RSA_E, 0);
		b = bn_b64u(pk, OSSL_PKEY_PARAM_RSA_N, 0);
	}
	if (a == NULL || b == NULL) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "account key: public JWK");
		goto out;
	}
	if (kind == 1)
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty",
		    "EC", "x", a, "y", b);
	else
		jwk =
		    json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
out:
	free(a);
	free(b);
	return jwk;
}

/* The members RFC 7638 3.2 requires of each key type. */
static const char *const ec_members[] = {"crv", "kty", "x", "y", NULL};
static const char *const rsa_members[] = {"e", "kty", "n", NULL};

int
acme_jwk_thumbprint(
    const json_t *jwk, char out[ACME_THUMB_LEN + 1], struct cf_error *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *m;
	unsigned char md[32];
	json_t *req;
	char *text, *b;
	int rc = -1;

	if (kty != NULL && strcmp(kty, "EC") == 0)
		m = ec_members;
	else if (kty != NULL && strcmp(kty, "RSA") == 0)
		m = rsa_members;
	else
		return cf_errorf(
		    err, CF_E_UNSUPPORTED, "JWK: no kty EC or RSA");
	req = json_object();
	for (; *m != NULL; m++) {
		json_t *v = json_object_get(jwk, *m);

		if (!json_is_string(v)) {
			json_decref(req);
			return cf_errorf(err, CF_E_PARSE, "JWK: no %s", *m);
		}
		json_object_set(req, *m, v);
	}
	/* Lexicographic order, no white space (RFC 7638 3.3). */
	text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(req);
	if (text == NULL)
		return cf_errorf(err, CF_E_INTERNAL, "JWK: cannot serialize");
	if (EVP_Q_digest(NULL, "SHA256", NULL, text, strlen(text), md, NULL)) {
		b = acme_b64u_new(md, sizeof(md));
		memcpy(out, b, ACME_THUMB_LEN + 1);
		free(b);
		rc = 0;
	} else
		cf_errorf_ossl(err, CF_E_CRYPTO, "JWK thumbprint");
	free(text);
	return rc;
}

/* A DER ECDSA-Sig-Value into r||s, each left-padded to 32 bytes. */
static int
ecdsa_raw(
    const unsigned char *der, size_t len, unsigned char *sig, size_t *siglen)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (es == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	ok = *siglen >= 2 * ES256_HALF &&
	     BN_bn2binpad(r, sig, ES256_HALF) == ES256_HALF &&
	     BN_bn2binpad(s, sig + ES256_HALF, ES256_HALF) == ES256_HALF;
	ECDSA_SIG_free(es);
	if (!ok)
		return -1;
	*siglen = 2 * ES256_HALF;
	return 0;
}

int
acme_pkey_sign(void *arg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen)
{
	EVP_PKEY *pk = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[ACME_SIG_MAX];
	size_t n = sizeof(der);
	int kind = key_kind(pk), rc = -1;

	if (md == NULL || kind < 0)
		goto out;
	/* RSA keys default to PKCS#1 v1.5 padding: RS256. */
	if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pk, NULL) !=
		1 ||
	    EVP_DigestSign(md, der, &n, in, inlen) != 1)
		goto out;
	if (kind == 1)
		rc = ecdsa_raw(der, n, sig, siglen);
	else if (n <= *siglen) {
		memcpy(sig, der, n);
		*siglen = n;
		rc = 0;
	}
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
acme_signer_from_pkey(EVP_PKEY *pk, struct acme_signer *s, struct cf_error *err)
{
	memset(s, 0, sizeof(*s));
	if ((s->jwk = acme_jwk_new(pk, err)) == NULL)
		return -1;
	snprintf(s->alg, sizeof(s->alg), "%s",
	    key_kind(pk) == 1 ? "ES256" : "RS256");
	s->sign = acme_pkey_sign;
	s->arg = pk;
	return 0;
}

void
acme_signer_clear(struct acme_signer *s)
{
	if (s == NULL)
		return;
	json_decref(s->jwk);
	memset(s, 0, sizeof(*s));
}

/*
 * The flattened JWS of protected header hdr and payload text: the
 * signing input b64u(hdr) "." b64u(payload) goes to sign (with arg).
 */
static json_t *
jws_flatten(const json_t *hdr, const char *payload, acme_sign_fn sign,
    void *arg, struct cf_error *err)
{
	char *h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	char *hb = NULL, *pb = NULL, *input = NULL, *sb = NULL;
	unsigned char sig[ACME_SIG_MAX];
	size_t siglen = sizeof(sig);
	json_t *jws = NULL;

	if (h == NULL) {
		cf_errorf(err, CF_E_INTERNAL, "JWS: cannot serialize header");
		goto out;
	}
	hb = acme_b64u_new((const unsigned char *)h, strlen(h));
	pb = acme_b64u_new((const unsigned char *)payload, strlen(payload));
	input = xasprintf("%s.%s", hb, pb);
	if (sign(arg, (const unsigned char *)input, strlen(input), sig,
		&siglen) != 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "JWS: signing failed");
		goto out;
	}
	sb = acme_b64u_new(sig, siglen);
	jws = json_pack(
	    "{s:s, s:s, s:s}", "protected", hb, "payload", pb, "signature", sb);
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	free(h);
	free(hb);
	free(pb);
	free(input);
	free(sb);
	return jws;
}

json_t *
acme_jws_new(const struct acme_signer *s, const char *url, const char *nonce,
    const char *kid, const char *payload, struct cf_error *err)
{
	json_t *hdr, *jws;

	hdr = json_pack(
	    "{s:s, s:s, s:s}", "alg", s->alg, "nonce", nonce, "url", url);
	if (hdr == NULL) {
		cf_errorf(err, CF_E_INTERNAL, "JWS: bad header values");
		return NULL;
	}
	if (kid != NULL)
		json_object_set_new(hdr, "kid", json_string(kid));
	else
		json_object_set(hdr, "jwk", s->jwk);
	jws = jws_flatten(hdr, payload, s->sign, s->arg, err);
	json_decref(hdr);
	return jws;
}

int
acme_hs256(const unsigned char *key, size_t keylen, const unsigned char *in,
    size_t inlen, unsigned char out[32], struct cf_error *err)
{
	size_t n = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, in,
		inlen, out, 32, &n) == NULL ||
	    n != 32)
		return cf_errorf_ossl(err, CF_E_CRYPTO, "HMAC-SHA256");
	return 0;
}

/* The HMAC key for the HS256 signer. */
struct hmac_key {
	const unsigned char *key;
	size_t len;
};

static int
hs256_sign(void *arg, const unsigned char *in, size_t inlen, unsigned char *sig,
    size_t *siglen)
{
	const struct hmac_key *k = arg;

	if (*siglen < 32 || acme_hs256(k->key, k->len, in, inlen, sig, NULL))
		return -1;
	*siglen = 32;
	return 0;
}

json_t *
acme_eab_new(const char *kid, const unsigned char *hmac_key, size_t keylen,
    const json_t *jwk, const char *url, struct cf_error *err)
{
	struct hmac_key k = {.key = hmac_key, .len = keylen};
	json_t *hdr, *jws = NULL;
	char *payload;

	if (keylen == 0) {
		cf_errorf(err, CF_E_USAGE, "EAB: empty HMAC key");
		return NULL;
	}
	hdr = json_pack(
	    "{s:s, s:s, s:s}", "alg", "HS256", "kid", kid, "url", url);
	payload = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (hdr == NULL || payload == NULL)
		cf_errorf(err, CF_E_INTERNAL, "EAB: bad values");
	else
		jws = jws_flatten(hdr, payload, hs256_sign, &k, err);
	json_decref(hdr);
	free(payload);
	return jws;
}

char *
acme_key_authorization_new(const char *token, const char *thumbprint)
{
	return xasprintf("%s.%s", token, thumbprint);
}

char *
acme_dns01_value_new(const char *keyauth)
{
	unsigned char md[32];

	if (!EVP_Q_digest(
		NULL, "SHA256", NULL, keyauth, strlen(keyauth), md, NULL))
		return NULL;
	return acme_b64u_new(md, sizeof(md));
}
