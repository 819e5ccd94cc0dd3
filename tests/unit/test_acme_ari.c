/*
 * test_acme_ari.c - src/acme/ari.c: a certificate's ARI identifier (the
 * example of RFC 9773 section 4.1) and the renewal window parsed from
 * what a CA sends, with what is refused; and that window, from a
 * directory that offers renewalInfo, deciding when cf_renew_when
 * (renew.h) renews, or two thirds of the lifetime without it.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "acme.h"
#include "check.h"
#include "renew.h"

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

/*
 * A directory in the form Let's Encrypt's staging CA publishes (its
 * members, the random one included, and its URLs; written out by hand,
 * not fetched: the tests have no network), with renewalInfo; and one in
 * pebble 2.4's form, which has none.
 */
static const char le_directory[] =
    "{\n"
    "  \"eEXw3yS3tYk\": \"https://community.letsencrypt.org/t/"
    "adding-random-entries-to-the-directory/33417\",\n"
    "  \"keyChange\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/key-change\",\n"
    "  \"meta\": {\n"
    "    \"caaIdentities\": [\"letsencrypt.org\"],\n"
    "    \"profiles\": {\"classic\": \"https://letsencrypt.org/docs/"
    "profiles#classic\", \"shortlived\": \"https://letsencrypt.org/"
    "docs/profiles#shortlived\", \"tlsserver\": \"https://"
    "letsencrypt.org/docs/profiles#tlsserver\"},\n"
    "    \"termsOfService\": \"https://letsencrypt.org/documents/"
    "LE-SA-v1.5-February-24-2025.pdf\",\n"
    "    \"website\": \"https://letsencrypt.org/docs/"
    "staging-environment/\"\n"
    "  },\n"
    "  \"newAccount\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/new-acct\",\n"
    "  \"newNonce\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/new-nonce\",\n"
    "  \"newOrder\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/new-order\",\n"
    "  \"renewalInfo\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/renewal-info\",\n"
    "  \"revokeCert\": "
    "\"https://acme-staging-v02.api.letsencrypt.org/acme/revoke-cert\"\n"
    "}\n";
static const char pebble_directory[] =
    "{\n"
    "   \"keyChange\": \"https://127.0.0.1:14000/rollover-account-key\",\n"
    "   \"meta\": {\n"
    "      \"externalAccountRequired\": false,\n"
    "      \"termsOfService\": \"data:text/plain,Do%20what%20thou%20wilt\"\n"
    "   },\n"
    "   \"newAccount\": \"https://127.0.0.1:14000/sign-me-up\",\n"
    "   \"newNonce\": \"https://127.0.0.1:14000/nonce-plz\",\n"
    "   \"newOrder\": \"https://127.0.0.1:14000/order-plz\",\n"
    "   \"revokeCert\": \"https://127.0.0.1:14000/revoke-cert\"\n"
    "}";
/* Its renewalInfo answer for a 90-day certificate issued 2025-01-01
 * (notAfter 2025-04-01): a window before two thirds (2025-03-02), as a
 * CA asks when it will revoke, with the explanation it links. */
static const char le_window[] =
    "{\n"
    "  \"suggestedWindow\": {\n"
    "    \"start\": \"2025-02-20T12:00:00Z\",\n"
    "    \"end\": \"2025-02-22T12:00:00Z\"\n"
    "  },\n"
    "  \"explanationURL\": \"https://community.letsencrypt.org/t/"
    "revoking-certain-certificates\"\n"
    "}";

#define NB 1735689600L /* 2025-01-01T00:00:00Z */
#define NA 1743465600L /* 2025-04-01T00:00:00Z */
#define W0 1740052800L /* 2025-02-20T12:00:00Z */
#define W1 1740225600L /* 2025-02-22T12:00:00Z */
#define DAY 86400L

/*
 * What autopilot does with a directory: the window when it offers
 * renewalInfo (the answer parsed), then cf_renew_when at now with pick.
 */
static int
due_with(const char *dir, double pick, time_t now, struct cf_renew_out *out)
{
	struct acme_directory *d = NULL;
	struct acme_ari a;
	struct cf_renew_in in;
	struct cf_error err;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	memset(&a, 0, sizeof(a));
	in.not_before = NB;
	in.not_after = NA;
	in.now = now;
	in.pick = pick;
	if (acme_directory_parse(dir, strlen(dir), &d, &err) == -1)
		return -1;
	if (d->renewal_info != NULL) {
		if (acme_ari_parse(le_window, strlen(le_window), &a, &err) ==
		    -1)
			goto out;
		in.have_ari = 1;
		in.ari_start = a.start;
		in.ari_end = a.end;
	}
	rc = cf_renew_when(&in, out);
out:
	acme_ari_clear(&a);
	acme_directory_free(d);
	return rc;
}

static void
test_renew_window(void)
{
	struct cf_renew_out out;
	const double picks[] = {0, 0.37, 0.999};
	size_t i;
	int inside = 1;

	for (i = 0; i < sizeof(picks) / sizeof(picks[0]); i++)
		inside = inside &&
			 due_with(le_directory, picks[i], NB, &out) == 0 &&
			 out.why == CF_RENEW_ARI && out.due >= W0 &&
			 out.due <= W1 && !out.now;
	CHECK(inside, "renewalInfo offered: due inside the CA's window, "
		      "wherever the pick falls");
	CHECK(due_with(le_directory, 0.5, W0 + DAY, &out) == 0 &&
		  out.due == W0 + DAY && out.now,
	    "renewalInfo: due at the picked point, before two thirds");
	CHECK(due_with(le_directory, 0.5, W0 + DAY - 1, &out) == 0 && !out.now,
	    "renewalInfo: not a second before it");
	CHECK(due_with(pebble_directory, 0.5, NB, &out) == 0 &&
		  out.why == CF_RENEW_LIMIT && out.due == NA - (NA - NB) / 3 &&
		  !out.now,
	    "no renewalInfo: two thirds of the lifetime");
	CHECK(due_with(pebble_directory, 0.5, W0 + DAY, &out) == 0 && !out.now,
	    "no renewalInfo: not due in the window it does not offer");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("cert_id"))
		test_cert_id();
	if (check_test("parse"))
		test_parse();
	if (check_test("renew_window"))
		test_renew_window();
	return check_done();
}
