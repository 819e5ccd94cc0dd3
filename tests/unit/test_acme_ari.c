/*
 * test_acme_ari.c - src/acme/ari.c: a certificate's ARI identifier (the
 * example of RFC 9773 section 4.1) and the renewal window parsed from
 * what a CA sends, with what is refused.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "check.h"

/* A self-signed certificate with the given AKI key identifier and
 * serial (big-endian bytes), or with no AKI when aki is NULL. */
static X509 *
cert_with(const unsigned char *aki, size_t akilen, const unsigned char *sn,
    size_t snlen)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	AUTHORITY_KEYID *ak;
	BIGNUM *bn = BN_bin2bn(sn, (int)snlen, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);

	X509_set_version(x, 2);
	X509_set_serialNumber(x, ai);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	if (aki != NULL) {
		ak = AUTHORITY_KEYID_new();
		ak->keyid = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(ak->keyid, aki, (int)akilen);
		X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, 0);
		AUTHORITY_KEYID_free(ak);
	}
	X509_sign(x, pk, EVP_sha256());
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	EVP_PKEY_free(pk);
	return x;
}

static void
test_cert_id(void)
{
	static const unsigned char aki[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46,
	    0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE,
	    0x01, 0xC8, 0xD4};
	static const unsigned char sn[] = {0x87, 0x65, 0x43, 0x21};
	static const unsigned char low[] = {0x12, 0x34};
	struct cf_error err;
	X509 *x = cert_with(aki, sizeof(aki), sn, sizeof(sn));
	char *id = acme_ari_cert_id(x, &err);

	CHECK_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
	    "RFC 9773's example: a 0x00 before a serial whose top bit is set");
	free(id);
	X509_free(x);
	x = cert_with(aki, sizeof(aki), low, sizeof(low));
	id = acme_ari_cert_id(x, &err);
	CHECK_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ",
	    "a serial whose top bit is clear: as it is");
	free(id);
	X509_free(x);
	x = cert_with(NULL, 0, sn, sizeof(sn));
	CHECK(acme_ari_cert_id(x, &err) == NULL &&
		  strstr(err.msg, "no authority key identifier") != NULL,
	    "no AKI: refused, saying so");
	X509_free(x);
}

static int
parse(const char *body, struct acme_ari *a, struct cf_error *err)
{
	return acme_ari_parse(body, strlen(body), a, err);
}

static void
test_parse(void)
{
	struct acme_ari a;
	struct cf_error err;

	CHECK(
	    parse("{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\","
		  " \"end\": \"2025-01-03T04:00:00Z\"}}",
		&a, &err) == 0 &&
		a.start == 1735790400 && a.end == 1735876800 &&
		a.explanation == NULL,
	    "a window, UTC");
	acme_ari_clear(&a);
	CHECK(parse("{\"suggestedWindow\": {\"start\": "
		    "\"2025-01-02T06:00:00.123+02:00\", \"end\": "
		    "\"2025-01-03T04:00:00Z\"}, \"explanationURL\": "
		    "\"https://ca.example/why\"}",
		  &a, &err) == 0 &&
		  a.start == 1735790400 &&
		  strcmp(a.explanation, "https://ca.example/why") == 0,
	    "fractions and an offset; the explanation kept");
	acme_ari_clear(&a);
	CHECK(
	    parse("{\"suggestedWindow\": {\"start\": \"2025-01-03T04:00:00Z\","
		  " \"end\": \"2025-01-02T04:00:00Z\"}}",
		&a, &err) == -1 &&
		strstr(err.msg, "end is not after its start") != NULL,
	    "an inverted window refused");
	CHECK(parse("{\"suggestedWindow\": {\"start\": \"yesterday\", "
		    "\"end\": \"2025-01-02T04:00:00Z\"}}",
		  &a, &err) == -1,
	    "a start that is no time refused");
	CHECK(
	    parse("{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\","
		  " \"end\": \"2025-01-03T04:00:00Z\"}, \"explanationURL\": "
		  "\"http://ca.example/why\"}",
		&a, &err) == -1 &&
		strstr(err.msg, "explanationURL") != NULL,
	    "an http explanation refused");
	CHECK(parse("{}", &a, &err) == -1, "no window refused");
	CHECK(parse("[1]", &a, &err) == -1, "not an object refused");
	CHECK(
	    parse("{\"suggestedWindow\": {\"start\": \"2025-01-02T04:00:00Z\","
		  " \"start\": \"2025-01-02T04:00:00Z\", \"end\": "
		  "\"2025-01-03T04:00:00Z\"}}",
		&a, &err) == -1,
	    "a duplicate member refused");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("cert_id"))
		test_cert_id();
	if (check_test("parse"))
		test_parse();
	return check_done();
}
