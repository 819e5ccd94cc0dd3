/*
 * test_acme_jws.c - JWS for ACME (src/acme/jws.c): ES256 and RS256
 * signatures that OpenSSL verifies, and that fail once changed; the RFC
 * 7638 example thumbprint; HMAC-SHA256 on RFC 4231's vector and the
 * external account binding built on it; keys ACME does not take refused.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme.h"
#include "check.h"

/* RFC 7638 3.1: the RSA key and its thumbprint. */
#define RFC7638_N                                                              \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R" \
	"K"                                                                    \
	"7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9y" \
	"BXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgn" \
	"Yb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZ" \
	"u0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"                  \
	"kEgU8awapJzKnqDKgw"
#define RFC7638_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static EVP_PKEY *
key_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static EVP_PKEY *
key_rsa(size_t bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

/* A JWS member decoded from base64url, as a new NUL-terminated string. */
static char *
member_text(const json_t *jws, const char *name)
{
	struct cf_buf b;
	char *s;

	if (acme_b64u_decode(json_string_value(json_object_get(jws, name)),
		name, &b, NULL) != 0)
		return NULL;
	s = xmalloc(b.len + 1);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cf_buf_clear(&b);
	return s;
}

/* 1 when the JWS's signature verifies under pk (ES256: r||s made DER). */
static int
verify(const json_t *jws, EVP_PKEY *pk)
{
	const char *p = json_string_value(json_object_get(jws, "protected"));
	const char *y = json_string_value(json_object_get(jws, "payload"));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	struct cf_buf sig = {0};
	char *input = NULL;
	int ok = 0, n = 0;

	if (p == NULL || y == NULL ||
	    acme_b64u_decode(
		json_string_value(json_object_get(jws, "signature")),
		"signature", &sig, NULL) != 0)
		goto out;
	input = xasprintf("%s.%s", p, y);
	if (EVP_PKEY_is_a(pk, "EC")) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		if (sig.len != 64)
			goto out;
		ECDSA_SIG_set0(es, BN_bin2bn(sig.data, 32, NULL),
		    BN_bin2bn(sig.data + 32, 32, NULL));
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (n <= 0)
			goto out;
	}
	ok = EVP_DigestVerifyInit_ex(
		 md, NULL, "SHA256", NULL, NULL, pk, NULL) == 1 &&
	     EVP_DigestVerify(md, der != NULL ? der : sig.data,
		 der != NULL ? (size_t)n : sig.len, (unsigned char *)input,
		 strlen(input)) == 1;
out:
	OPENSSL_free(der);
	cf_buf_clear(&sig);
	EVP_MD_CTX_free(md);
	free(input);
	return ok;
}

/* Signs a request with pk and checks what a CA checks. */
static void
sign_and_verify(EVP_PKEY *pk, const char *alg)
{
	struct acme_signer s;
	struct cf_error err;
	json_t *jws, *hdr;
	char *h, *name, thumb[ACME_THUMB_LEN + 1];
	const char *pv;

	CHECK(acme_signer_from_pkey(pk, &s, &err) == 0, alg);
	CHECK_STR(s.alg, alg, "signer: algorithm");
	jws = acme_jws_new(&s, "https://ca.test/new-acct", "nonce1", NULL,
	    "{\"termsOfServiceAgreed\":true}", &err);
	CHECK(jws != NULL, "jws: made");
	name = xasprintf("%s: signature verifies with OpenSSL", alg);
	CHECK(verify(jws, pk), name);
	free(name);
	h = member_text(jws, "protected");
	hdr = json_loads(h, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(hdr, "alg")), alg,
	    "jws: protected alg");
	CHECK_STR(json_string_value(json_object_get(hdr, "nonce")), "nonce1",
	    "jws: protected nonce");
	CHECK_STR(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.test/new-acct", "jws: protected url");
	CHECK(json_equal(json_object_get(hdr, "jwk"), s.jwk),
	    "jws: no kid, the public jwk in the header");
	CHECK(json_object_get(json_object_get(hdr, "jwk"), "d") == NULL,
	    "jws: no private member in the jwk");
	CHECK(acme_jwk_thumbprint(s.jwk, thumb, &err) == 0 &&
		  strlen(thumb) == ACME_THUMB_LEN,
	    "jwk: thumbprint of 43 characters");
	json_decref(hdr);
	free(h);

	/* The payload changed: the signature no longer matches. */
	pv = json_string_value(json_object_get(jws, "payload"));
	name = xasprintf("%sx", pv);
	json_object_set_new(jws, "payload", json_string(name));
	free(name);
	name = xasprintf("%s: a changed payload fails", alg);
	CHECK(!verify(jws, pk), name);
	free(name);
	json_decref(jws);

	/* POST-as-GET with a kid: empty payload, kid, no jwk. */
	jws = acme_jws_new(&s, "https://ca.test/order/1", "n2",
	    "https://ca.test/acct/7", "", &err);
	CHECK_STR(json_string_value(json_object_get(jws, "payload")), "",
	    "jws: POST-as-GET payload is empty");
	CHECK(verify(jws, pk), "jws: POST-as-GET verifies");
	h = member_text(jws, "protected");
	hdr = json_loads(h, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(hdr, "kid")),
	    "https://ca.test/acct/7", "jws: kid in the header");
	CHECK(json_object_get(hdr, "jwk") == NULL, "jws: kid, no jwk");
	json_decref(hdr);
	free(h);
	json_decref(jws);
	acme_signer_clear(&s);
}

static void
test_es256(void)
{
	EVP_PKEY *pk = key_ec("P-256");
	struct acme_signer s;
	int i, ok = 1;

	sign_and_verify(pk, "ES256");
	/* Short r or s values are padded: many signatures all verify. */
	acme_signer_from_pkey(pk, &s, NULL);
	for (i = 0; i < 200 && ok; i++) {
		json_t *j =
		    acme_jws_new(&s, "https://ca.test/x", "n", "k", "{}", NULL);

		ok = j != NULL && verify(j, pk);
		json_decref(j);
	}
	CHECK(ok, "ES256: 200 signatures, each 64 bytes, all verify");
	CHECK_STR(json_string_value(json_object_get(s.jwk, "crv")), "P-256",
	    "ES256: jwk crv");
	CHECK(strlen(json_string_value(json_object_get(s.jwk, "x"))) == 43,
	    "ES256: jwk x is 32 bytes");
	acme_signer_clear(&s);
	EVP_PKEY_free(pk);
}

static void
test_rs256(void)
{
	EVP_PKEY *pk = key_rsa(2048);

	sign_and_verify(pk, "RS256");
	EVP_PKEY_free(pk);
}

/* A signer elsewhere (the store process, later): counts its calls. */
struct remote {
	EVP_PKEY *pk;
	int calls;
	int fail;
};

static int
remote_sign(void *arg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen)
{
	struct remote *r = arg;

	r->calls++;
	if (r->fail)
		return -1;
	return acme_pkey_sign(r->pk, in, inlen, sig, siglen);
}

static void
test_callback(void)
{
	struct remote r = {.pk = key_ec("P-256")};
	struct acme_signer s = {.sign = remote_sign, .arg = &r};
	struct cf_error err;
	json_t *jws;

	snprintf(s.alg, sizeof(s.alg), "ES256");
	s.jwk = acme_jwk_new(r.pk, &err);
	jws = acme_jws_new(&s, "https://ca.test/x", "n", "k", "{}", &err);
	CHECK(jws != NULL && r.calls == 1,
	    "callback: the JWS is signed through the callback, once");
	CHECK(verify(jws, r.pk), "callback: its signature verifies");
	json_decref(jws);
	r.fail = 1;
	jws = acme_jws_new(&s, "https://ca.test/x", "n", "k", "{}", &err);
	CHECK(jws == NULL && err.code == CF_E_CRYPTO,
	    "callback: a failing signer fails the JWS");
	json_decref(s.jwk);
	EVP_PKEY_free(r.pk);
}

static void
test_refused(void)
{
	EVP_PKEY *small = key_rsa(1024), *p384 = key_ec("P-384");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct acme_signer s;
	struct cf_error err;

	CHECK(acme_signer_from_pkey(small, &s, &err) == -1 &&
		  err.code == CF_E_UNSUPPORTED,
	    "refused: RSA 1024");
	CHECK(acme_signer_from_pkey(p384, &s, &err) == -1,
	    "refused: EC P-384 (only ES256)");
	CHECK(acme_signer_from_pkey(ed, &s, &err) == -1, "refused: Ed25519");
	EVP_PKEY_free(small);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);
}

static void
test_thumbprint(void)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
	    RFC7638_N, "e", "AQAB", "alg", "RS256");
	char thumb[ACME_THUMB_LEN + 1];
	struct cf_error err;

	CHECK(acme_jwk_thumbprint(jwk, thumb, &err) == 0, "thumbprint: made");
	CHECK_STR(thumb, RFC7638_THUMB, "thumbprint: RFC 7638 3.1 example");
	json_object_del(jwk, "e");
	CHECK(acme_jwk_thumbprint(jwk, thumb, &err) == -1,
	    "thumbprint: a member missing is refused");
	json_decref(jwk);
	jwk = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
	CHECK(acme_jwk_thumbprint(jwk, thumb, &err) == -1,
	    "thumbprint: kty oct is refused");
	json_decref(jwk);
}

static void
test_hs256(void)
{
	/* RFC 4231 test case 2. */
	static const char expect[] = "5bdcc146bf60754e6a042426089575c75a003f08"
				     "9d2739839dec58b964ec3843";
	const char *data = "what do ya want for nothing?";
	unsigned char mac[32];
	char hex[65];
	int i;

	CHECK(acme_hs256((const unsigned char *)"Jefe", 4,
		  (const unsigned char *)data, strlen(data), mac, NULL) == 0,
	    "hs256: made");
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, expect, "hs256: RFC 4231 test case 2");
	data = "what do ya want for nothing!";
	acme_hs256((const unsigned char *)"Jefe", 4,
	    (const unsigned char *)data, strlen(data), mac, NULL);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK(strcmp(hex, expect) != 0, "hs256: other data, other MAC");
}

static void
test_eab(void)
{
	static const unsigned char key[] = "a secret HMAC key of 32 bytes!!";
	EVP_PKEY *pk = key_ec("P-256");
	struct acme_signer s;
	json_t *eab, *hdr, *payload;
	unsigned char mac[32];
	struct cf_buf sig;
	char *h, *p, *input;

	acme_signer_from_pkey(pk, &s, NULL);
	eab = acme_eab_new(
	    "kid-1", key, sizeof(key) - 1, s.jwk, "https://ca.test/na", NULL);
	CHECK(eab != NULL, "eab: made");
	h = member_text(eab, "protected");
	hdr = json_loads(h, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(hdr, "alg")), "HS256",
	    "eab: alg HS256");
	CHECK_STR(json_string_value(json_object_get(hdr, "kid")), "kid-1",
	    "eab: kid");
	CHECK_STR(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.test/na", "eab: url of newAccount");
	CHECK(json_object_get(hdr, "nonce") == NULL, "eab: no nonce");
	p = member_text(eab, "payload");
	payload = json_loads(p, 0, NULL);
	CHECK(json_equal(payload, s.jwk), "eab: payload is the account jwk");
	input = xasprintf("%s.%s",
	    json_string_value(json_object_get(eab, "protected")),
	    json_string_value(json_object_get(eab, "payload")));
	acme_hs256(key, sizeof(key) - 1, (unsigned char *)input, strlen(input),
	    mac, NULL);
	CHECK(acme_b64u_decode(
		  json_string_value(json_object_get(eab, "signature")), "sig",
		  &sig, NULL) == 0 &&
		  sig.len == 32 && memcmp(sig.data, mac, 32) == 0,
	    "eab: HMAC over protected.payload");
	cf_buf_clear(&sig);
	acme_hs256((const unsigned char *)"other", 5, (unsigned char *)input,
	    strlen(input), mac, NULL);
	acme_b64u_decode(json_string_value(json_object_get(eab, "signature")),
	    "sig", &sig, NULL);
	CHECK(memcmp(sig.data, mac, 32) != 0, "eab: another key, another MAC");
	CHECK(acme_eab_new(
		  "kid-1", key, 0, s.jwk, "https://ca.test/na", NULL) == NULL,
	    "eab: an empty key is refused");
	cf_buf_clear(&sig);
	free(input);
	json_decref(payload);
	free(p);
	json_decref(hdr);
	free(h);
	json_decref(eab);
	acme_signer_clear(&s);
	EVP_PKEY_free(pk);
}

static void
test_b64u_keyauth(void)
{
	struct cf_buf b;
	char *s, *ka, *v;

	s = acme_b64u_new((const unsigned char *)"\xfb\xff\xfe", 3);
	CHECK_STR(s, "-__-", "b64u: url-safe alphabet");
	free(s);
	s = acme_b64u_new((const unsigned char *)"ab", 2);
	CHECK_STR(s, "YWI", "b64u: no padding");
	free(s);
	CHECK(acme_b64u_decode("YWI", "x", &b, NULL) == 0 && b.len == 2 &&
		  memcmp(b.data, "ab", 2) == 0,
	    "b64u: decodes without padding");
	cf_buf_clear(&b);
	CHECK(acme_b64u_decode("YW+I", "x", &b, NULL) == -1,
	    "b64u: '+' is refused");
	CHECK(acme_b64u_decode("YWI=", "x", &b, NULL) == -1,
	    "b64u: padding is refused");
	ka = acme_key_authorization_new("tok", RFC7638_THUMB);
	CHECK_STR(ka, "tok." RFC7638_THUMB, "keyauth: token.thumbprint");
	/* SHA-256("abc") = ba7816bf..., base64url below. */
	v = acme_dns01_value_new("abc");
	CHECK_STR(v, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
	    "dns-01: b64u(SHA-256(keyauth))");
	free(v);
	free(ka);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("es256"))
		test_es256();
	if (check_test("rs256"))
		test_rs256();
	if (check_test("callback"))
		test_callback();
	if (check_test("refused"))
		test_refused();
	if (check_test("thumbprint"))
		test_thumbprint();
	if (check_test("hs256"))
		test_hs256();
	if (check_test("eab"))
		test_eab();
	if (check_test("b64u"))
		test_b64u_keyauth();
	return check_done();
}
