/*
 * test_cert.c - cert.c: thumbprints, RFC 4514 names, CertificateDomains,
 * key types, dates, the self-signature, issuer checks, DER parsing and
 * thumbprint prefixes.  Each positive case has its negative beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "testpki.h"
#include "util.h"

#define DAY 86400

/* A name with its entries added in the order C, O, CN (NULL: left out). */
static X509_NAME *
mkname(const char *c, const char *o, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (c != NULL)
		X509_NAME_add_entry_by_txt(
		    n, "C", MBSTRING_UTF8, (const unsigned char *)c, -1, -1, 0);
	if (o != NULL)
		X509_NAME_add_entry_by_txt(
		    n, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL) {
		fprintf(stderr, "bad extension %s\n", value);
		abort();
	}
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

/* What build() makes; NULL/0 fields get a default. */
struct spec {
	X509_NAME *subject, *issuer; /* issuer NULL: subject */
	EVP_PKEY *key, *signer;      /* signer NULL: key */
	const char *san, *ku;        /* extension values, may be NULL */
	const char *serial_hex;      /* NULL: 1 */
	int ca;
	time_t not_before, not_after; /* 0: now - 1 day, now + 90 days */
};

/* A certificate made exactly as sp says (not via testpki). */
static X509 *
build(const struct spec *sp)
{
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	EVP_PKEY *signer = sp->signer ? sp->signer : sp->key;
	time_t now = time(NULL);

	X509_set_version(x, 2);
	BN_hex2bn(&bn, sp->serial_hex ? sp->serial_hex : "1");
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_subject_name(x, sp->subject);
	X509_set_issuer_name(x, sp->issuer ? sp->issuer : sp->subject);
	ASN1_TIME_set(X509_getm_notBefore(x),
	    sp->not_before ? sp->not_before : now - DAY);
	ASN1_TIME_set(X509_getm_notAfter(x),
	    sp->not_after ? sp->not_after : now + 90 * DAY);
	X509_set_pubkey(x, sp->key);
	if (sp->ca)
		add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	if (sp->ku != NULL)
		add_ext(x, NID_key_usage, sp->ku);
	if (sp->san != NULL)
		add_ext(x, NID_subject_alt_name, sp->san);
	X509_sign(
	    x, signer, EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256());
	return x;
}

/* SHA-1 of i2d_X509, upper-case hex, computed without cert.c. */
static void
sha1_hex(X509 *x, char out[CF_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[20];
	int n = i2d_X509(x, &der), i;

	EVP_Digest(der, (size_t)n, md, NULL, EVP_sha1(), NULL);
	OPENSSL_free(der);
	for (i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
}

/* The facts of x; the struct is zeroed first so a failed read is clear. */
static int
facts(X509 *x, struct cf_certfacts *f)
{
	struct cf_error err;

	memset(f, 0, sizeof(*f));
	return cf_certfacts_read(x, f, &err);
}

static void
test_thumbprint(EVP_PKEY *k)
{
	X509 *a = tp_cert("a.example.com", NULL, k, NULL, NULL, -1, 30, 0);
	X509 *b = tp_cert("b.example.com", NULL, k, NULL, NULL, -1, 30, 0);
	char want[CF_THUMB_LEN + 1], got[CF_THUMB_LEN + 1], other[41];
	struct cf_certfacts f;
	const char *p;
	int upper = 1;

	sha1_hex(a, want);
	cf_cert_thumbprint(a, got);
	CHECK_STR(got, want, "thumbprint: SHA-1 of i2d_X509, upper-case hex");
	for (p = got; *p; p++)
		upper &= (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F');
	CHECK(strlen(got) == CF_THUMB_LEN && upper,
	    "thumbprint: 40 digits 0-9A-F, no lower case");
	cf_cert_thumbprint(b, other);
	CHECK(strcmp(got, other) != 0,
	    "thumbprint: another certificate, another thumbprint");
	CHECK(facts(a, &f) == 0 && strcmp(f.thumbprint, want) == 0,
	    "certfacts: thumbprint as cf_cert_thumbprint");
	cf_certfacts_clear(&f);
	X509_free(a);
	X509_free(b);
}

static void
test_names(EVP_PKEY *k)
{
	X509_NAME *s1 = mkname("DE", "Acme, Inc.", "www.example.com");
	X509_NAME *i1 = mkname("US", "Example Trust", "Example Issuing CA 1");
	X509_NAME *s2 = mkname("CH", "Zürich Büro AG", "Grüße Straße");
	X509_NAME *s3 = X509_NAME_new();
	struct spec sp = {.subject = s1, .issuer = i1, .key = k};
	struct cf_certfacts f;
	X509 *x = build(&sp);

	CHECK(facts(x, &f) == 0, "names: facts read");
	CHECK_STR(f.subject, "CN=www.example.com,O=Acme\\, Inc.,C=DE",
	    "names: subject most specific first, comma in O escaped");
	CHECK_STR(f.issuer, "CN=Example Issuing CA 1,O=Example Trust,C=US",
	    "names: issuer most specific first");
	CHECK(f.subject && strncmp(f.subject, "C=", 2) != 0,
	    "names: not in encoding order (C first)");
	CHECK(f.subject && strstr(f.subject, "Acme, Inc.") == NULL,
	    "names: a comma in a value is never bare");
	cf_certfacts_clear(&f);
	X509_free(x);

	sp.subject = s2;
	sp.issuer = NULL;
	x = build(&sp);
	CHECK(
	    facts(x, &f) == 0 && f.subject != NULL &&
		strcmp(f.subject, "CN=Grüße Straße,O=Zürich Büro AG,C=CH") == 0,
	    "names: UTF-8 subject kept as UTF-8");
	CHECK(f.subject && strchr(f.subject, '\\') == NULL,
	    "names: UTF-8 bytes not escaped as \\C3\\BC");
	cf_certfacts_clear(&f);
	X509_free(x);

	/* A BMPString ("Müller", UCS-2 big-endian) is shown as UTF-8 too. */
	X509_NAME_add_entry_by_NID(s3, NID_commonName, V_ASN1_BMPSTRING,
	    (unsigned char *)"\0M\0\xfc\0l\0l\0e\0r", 12, -1, 0);
	sp.subject = s3;
	x = build(&sp);
	CHECK(facts(x, &f) == 0 && f.subject != NULL &&
		  strcmp(f.subject, "CN=Müller") == 0,
	    "names: BMPString subject converted to UTF-8");
	cf_certfacts_clear(&f);
	X509_free(x);
	X509_NAME_free(s1);
	X509_NAME_free(i1);
	X509_NAME_free(s2);
	X509_NAME_free(s3);
}

static void
test_serial(EVP_PKEY *k)
{
	X509_NAME *n = mkname(NULL, NULL, "serial.example.com");
	struct spec sp = {.subject = n, .key = k, .serial_hex = "0123abcd"};
	struct cf_certfacts f;
	X509 *x = build(&sp);

	CHECK(
	    facts(x, &f) == 0 && f.serial && strcmp(f.serial, "0123ABCD") == 0,
	    "serial: upper-case hex of the integer's bytes");
	cf_certfacts_clear(&f);
	X509_free(x);
	sp.serial_hex = "7F3C5A0B9D1E2F40516273849AABBCCDDEEFF011";
	x = build(&sp);
	CHECK(facts(x, &f) == 0 && f.serial &&
		  strcmp(f.serial,
		      "7F3C5A0B9D1E2F40516273849AABBCCDDEEFF011") == 0,
	    "serial: a 20-byte serial in full");
	CHECK(f.serial && strpbrk(f.serial, "abcdef") == NULL,
	    "serial: no lower-case hex");
	cf_certfacts_clear(&f);
	X509_free(x);
	X509_NAME_free(n);
}

/* The CertificateDomains of a certificate with cn and SAN value san. */
static char *
domains_of(EVP_PKEY *k, const char *cn, const char *san)
{
	X509_NAME *n = mkname("US", "Example", cn);
	struct spec sp = {.subject = n, .key = k, .san = san};
	struct cf_certfacts f;
	X509 *x = build(&sp);
	char *d = NULL;

	if (facts(x, &f) == 0)
		d = xstrdup(f.domains);
	cf_certfacts_clear(&f);
	X509_free(x);
	X509_NAME_free(n);
	return d;
}

static void
test_domains(EVP_PKEY *k)
{
	char *d;

	d = domains_of(k, "www.example.com",
	    "DNS:mail.example.com,IP:192.0.2.7,DNS:www.example.com,"
	    "DNS:autodiscover.example.com,DNS:mail.example.com,"
	    "IP:2001:db8::1");
	CHECK_STR(d,
	    "www.example.com,mail.example.com,autodiscover.example.com",
	    "domains: CN first, SAN DNS names after, duplicates folded, IPs "
	    "out");
	CHECK(d && strstr(d, "192.0.2.7") == NULL && strstr(d, "2001") == NULL,
	    "domains: IP SANs ignored");
	free(d);

	d = domains_of(k, "Test CA", "DNS:ca.example.com");
	CHECK_STR(
	    d, "ca.example.com", "domains: a CN that is no DNS name left out");
	free(d);
	d = domains_of(k, "Test CA", NULL);
	CHECK_STR(d, "", "domains: no DNS name at all: empty");
	free(d);
	d = domains_of(k, "only.example.com", "IP:192.0.2.1");
	CHECK_STR(d, "only.example.com", "domains: CN alone when SANs are IPs");
	free(d);
	d = domains_of(k, "www.example.com",
	    "DNS:example.com,DNS:*.example.com,DNS:mail.example.co");
	CHECK_STR(d,
	    "www.example.com,example.com,*.example.com,mail.example.co",
	    "domains: a name inside another is no duplicate; wildcards kept");
	free(d);
	/* DNS names are case-insensitive (RFC 4343): WWW.Example.com in the
	 * CN and www.example.com in the SAN are one domain. */
	d = domains_of(k, "WWW.Example.com",
	    "DNS:www.example.com,DNS:MAIL.example.com,DNS:mail.example.com");
	CHECK(
	    d != NULL && strcasecmp(d, "www.example.com,mail.example.com") == 0,
	    "domains: duplicates differing only in case folded");
	free(d);
}

/* The key type of a self-signed certificate for key, and that its SPKI
 * hash pairs with cf_key_spki(key). */
static void
key_case(EVP_PKEY *key, EVP_PKEY *other, const char *want, const char *name)
{
	X509_NAME *n = mkname(NULL, NULL, "kt.example.com");
	struct spec sp = {.subject = n, .key = key};
	X509 *x = build(&sp); /* testpki signs with SHA-256: not Ed25519 */
	struct cf_certfacts f;
	char spki[65], ospki[65], msg[128];
	char *direct = cf_key_type_new(key);

	CHECK(facts(x, &f) == 0, name);
	snprintf(msg, sizeof(msg), "keytype: %s", want);
	CHECK(f.key_type && strcmp(f.key_type, want) == 0 &&
		  strcmp(direct, want) == 0,
	    msg);
	snprintf(msg, sizeof(msg), "keytype: %s self-signature verifies", want);
	CHECK(f.self_signed == 1, msg);
	snprintf(
	    msg, sizeof(msg), "spki: %s certificate pairs with its key", want);
	CHECK(cf_key_spki(key, spki) == 0 && strcmp(spki, f.spki) == 0 &&
		  strlen(spki) == 64,
	    msg);
	snprintf(msg, sizeof(msg), "spki: %s certificate not with another key",
	    want);
	CHECK(
	    cf_key_spki(other, ospki) == 0 && strcmp(ospki, f.spki) != 0, msg);
	free(direct);
	cf_certfacts_clear(&f);
	X509_free(x);
	X509_NAME_free(n);
}

static void
test_key_types(EVP_PKEY *rsa2048, EVP_PKEY *ec256)
{
	EVP_PKEY *rsa3072 = tp_key(3072);
	EVP_PKEY *ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	char *t;

	key_case(rsa2048, ec256, "RSA-2048", "keytype: RSA-2048 read");
	key_case(rsa3072, rsa2048, "RSA-3072", "keytype: RSA-3072 read");
	key_case(ec256, ec384, "EC-P256", "keytype: EC-P256 read");
	key_case(ec384, ec256, "EC-P384", "keytype: EC-P384 read");
	key_case(ed, ec256, "Ed25519", "keytype: Ed25519 read");
	t = cf_key_type_new(k1);
	CHECK(t && strcmp(t, "EC-secp256k1") == 0 && strcmp(t, "EC-P256") != 0,
	    "keytype: a curve without a short name keeps its own name");
	free(t);
	EVP_PKEY_free(rsa3072);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k1);
}

/* An RSA certificate whose SPKI algorithm OID was changed to one nobody
 * knows: OpenSSL parses it but yields no public key. */
static void
test_unknown_key(EVP_PKEY *rsa)
{
	static const unsigned char oid[] = {
	    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
	X509 *x = tp_cert("rsa.example.com", NULL, rsa, NULL, NULL, -1, 30, 0);
	unsigned char *der = NULL, *p;
	struct cf_certfacts f;
	struct cf_error err;
	int n = i2d_X509(x, &der), i, rc;
	X509 *y = NULL;

	for (p = NULL, i = 0; i + (int)sizeof(oid) <= n; i++)
		if (memcmp(der + i, oid, sizeof(oid)) == 0) {
			p = der + i;
			break;
		}
	CHECK(p != NULL, "unknown key: rsaEncryption OID found in the DER");
	if (p != NULL) {
		p[sizeof(oid) - 1] = 0x7f; /* 1.2.840.113549.1.1.127 */
		y = cf_cert_from_der(der, (size_t)n, &err);
	}
	/* What the test is about needs both: a certificate OpenSSL keeps,
	 * without a key.  Either missing is a failure, not a pass. */
	CHECK(y != NULL, "unknown key: OpenSSL still parses the certificate");
	CHECK(y != NULL && X509_get0_pubkey(y) == NULL,
	    "unknown key: OpenSSL yields no key");
	memset(&f, 0, sizeof(f));
	err.code = CF_OK;
	rc = y != NULL ? cf_certfacts_read(y, &f, &err) : 0;
	CHECK(y != NULL && rc == -1 && err.code == CF_E_UNSUPPORTED,
	    "certfacts: unknown public key algorithm is CF_E_UNSUPPORTED");
	CHECK(y != NULL && ERR_peek_error() == 0,
	    "certfacts: failure leaves the OpenSSL queue empty");
	cf_certfacts_clear(&f);
	ERR_clear_error();
	X509_free(y);
	X509_free(x);
	OPENSSL_free(der);
}

static void
test_dates(EVP_PKEY *k)
{
	X509_NAME *n = mkname(NULL, NULL, "dates.example.com");
	/* 2023-11-14T22:13:20Z (UTCTime) to 2051-01-01T00:00:00Z
	 * (GeneralizedTime), and 1950-01-01 (UTCTime, before the epoch). */
	struct spec sp = {.subject = n,
	    .key = k,
	    .not_before = 1700000000,
	    .not_after = 2556144000};
	struct cf_certfacts f;
	X509 *x = build(&sp);

	CHECK(facts(x, &f) == 0 && f.not_before == 1700000000,
	    "dates: not_before as time_t (UTCTime)");
	CHECK(f.not_after == 2556144000,
	    "dates: not_after as time_t (GeneralizedTime, after 2049)");
	CHECK(f.not_before != f.not_after, "dates: the two not confused");
	cf_certfacts_clear(&f);
	X509_free(x);
	sp.not_before = -631152000;
	x = build(&sp);
	CHECK(facts(x, &f) == 0 && f.not_before == -631152000,
	    "dates: 1950 (UTCTime 50) before the epoch");
	cf_certfacts_clear(&f);
	X509_free(x);
	X509_NAME_free(n);
}

/* A copy of x with the last byte of its DER (inside the signature)
 * flipped, re-parsed. */
static X509 *
corrupt_signature(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_X509(x, &der);
	X509 *y;

	der[n - 1] ^= 0x01;
	p = der;
	y = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	return y;
}

static void
test_self_signed(EVP_PKEY *k, EVP_PKEY *k2)
{
	X509_NAME *n = mkname("US", "Example", "server.example.com");
	struct spec sp = {.subject = n,
	    .key = k,
	    .ku = "critical,digitalSignature",
	    .san = "DNS:server.example.com"};
	X509 *server = build(&sp), *ca, *leaf, *bad, *forged;
	struct cf_certfacts f;
	char want[41];

	CHECK(facts(server, &f) == 0 && f.self_signed == 1,
	    "self-signed: server certificate with keyUsage digitalSignature "
	    "only");
	CHECK(cf_cert_self_signed(server) == 1,
	    "self-signed: cf_cert_self_signed agrees");
	cf_certfacts_clear(&f);

	ca = tp_cert("Test CA", NULL, k, NULL, NULL, -1, 365, 1);
	leaf = tp_cert("leaf.example.com", NULL, k2, ca, k, -1, 30, 0);
	CHECK(facts(ca, &f) == 0 && f.self_signed == 1, "self-signed: a CA");
	cf_certfacts_clear(&f);
	CHECK(facts(leaf, &f) == 0 && f.self_signed == 0,
	    "self-signed: not an issued certificate");
	cf_certfacts_clear(&f);

	bad = corrupt_signature(server);
	CHECK(bad != NULL, "self-signed: corrupted DER still parses");
	if (bad != NULL) {
		sha1_hex(bad, want);
		CHECK(facts(bad, &f) == 0 && f.self_signed == 0,
		    "self-signed: not when the self-signature is corrupted");
		CHECK(cf_cert_self_signed(bad) == 0,
		    "self-signed: cf_cert_self_signed refuses it too");
		CHECK(strcmp(f.thumbprint, want) == 0,
		    "self-signed: corrupted copy has its own thumbprint");
		cf_certfacts_clear(&f);
	}

	/* Subject = issuer, but signed by another key. */
	sp.signer = k2;
	forged = build(&sp);
	CHECK(cf_cert_self_signed(forged) == 0,
	    "self-signed: not when names match but another key signed");
	X509_free(forged);
	X509_free(bad);
	X509_free(leaf);
	X509_free(ca);
	X509_free(server);
	X509_NAME_free(n);
}

static void
test_issued_by(EVP_PKEY *k, EVP_PKEY *k2)
{
	X509 *ca = tp_cert("Issuing CA", NULL, k, NULL, NULL, -1, 365, 1);
	X509 *other = tp_cert("Other CA", NULL, k, NULL, NULL, -1, 365, 1);
	X509 *leaf = tp_cert("leaf.example.com", NULL, k2, ca, k, -1, 30, 0);
	/* Names ca as issuer, signed by k2: the wrong key. */
	X509 *wrong_key =
	    tp_cert("wk.example.com", NULL, k2, ca, k2, -1, 30, 0);
	/* Signed by ca's key k, but names "Other CA": the wrong name. */
	X509 *wrong_name =
	    tp_cert("wn.example.com", NULL, k2, other, k, -1, 30, 0);

	CHECK(cf_cert_issued_by(leaf, ca) == 1, "issued-by: leaf by its CA");
	CHECK(cf_cert_issued_by(ca, leaf) == 0, "issued-by: not the other way");
	CHECK(cf_cert_issued_by(wrong_key, ca) == 0,
	    "issued-by: not when another key signed");
	CHECK(cf_cert_issued_by(wrong_name, ca) == 0,
	    "issued-by: not when the issuer name differs");
	CHECK(cf_cert_issued_by(wrong_name, other) == 1,
	    "issued-by: the CA it names, with the same key, issued it");
	CHECK(cf_cert_issued_by(ca, ca) == 1, "issued-by: a CA issued itself");
	CHECK(ERR_peek_error() == 0, "issued-by: OpenSSL queue left empty");
	X509_free(ca);
	X509_free(other);
	X509_free(leaf);
	X509_free(wrong_key);
	X509_free(wrong_name);
}

static void
test_der(EVP_PKEY *k)
{
	X509 *x = tp_cert("der.example.com", NULL, k, NULL, NULL, -1, 30, 0);
	unsigned char *der = NULL, *longer;
	size_t len = 0;
	struct cf_error err;
	char a[41], b[41];
	X509 *y;

	CHECK(cf_cert_to_der(x, &der, &len) == 0 && len > 0,
	    "der: cf_cert_to_der");
	y = cf_cert_from_der(der, len, &err);
	cf_cert_thumbprint(x, a);
	if (y != NULL)
		cf_cert_thumbprint(y, b);
	CHECK(
	    y != NULL && strcmp(a, b) == 0, "der: round trip, same thumbprint");
	X509_free(y);

	longer = xmalloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0x00;
	err.code = CF_OK;
	y = cf_cert_from_der(longer, len + 1, &err);
	CHECK(y == NULL && err.code == CF_E_PARSE,
	    "der: trailing garbage refused (CF_E_PARSE)");
	X509_free(y);
	err.code = CF_OK;
	y = cf_cert_from_der(der, len - 1, &err);
	CHECK(y == NULL && err.code == CF_E_PARSE,
	    "der: truncation refused (CF_E_PARSE)");
	CHECK(err.msg[0] != '\0', "der: the refusal has a message");
	CHECK(ERR_peek_error() == 0, "der: OpenSSL queue left empty");
	X509_free(y);
	err.code = CF_OK;
	y = cf_cert_from_der(der, 0, &err);
	CHECK(y == NULL && err.code == CF_E_PARSE, "der: zero bytes refused");
	X509_free(y);
	free(longer);
	free(der);
	X509_free(x);
}

static void
test_prefix(void)
{
	char out[CF_THUMB_LEN + 1];
	const char *full = "0123456789abcdefABCDEF0123456789abcdef01";

	CHECK(cf_thumb_prefix_ok("abcdef12", out) == 1 &&
		  strcmp(out, "ABCDEF12") == 0,
	    "prefix: 8 hex digits, lower case normalised to upper");
	CHECK(cf_thumb_prefix_ok("aBcD0123", out) == 1 &&
		  strcmp(out, "ABCD0123") == 0,
	    "prefix: mixed case normalised");
	CHECK(cf_thumb_prefix_ok(full, out) == 1 &&
		  strcmp(out, "0123456789ABCDEFABCDEF0123456789ABCDEF01") == 0,
	    "prefix: 40 hex digits");
	CHECK(cf_thumb_prefix_ok("abcdef1", out) == 0,
	    "prefix: 7 digits refused");
	CHECK(cf_thumb_prefix_ok(
		  "0123456789abcdefABCDEF0123456789abcdef012", out) == 0,
	    "prefix: 41 digits refused");
	CHECK(cf_thumb_prefix_ok("abcdefg1", out) == 0,
	    "prefix: non-hex refused");
	CHECK(cf_thumb_prefix_ok("0x123456", out) == 0, "prefix: 0x refused");
	CHECK(
	    cf_thumb_prefix_ok("abcd ef12", out) == 0, "prefix: space refused");
	CHECK(cf_thumb_prefix_ok("", out) == 0, "prefix: empty refused");
}

int
main(int argc, char **argv)
{
	EVP_PKEY *ec = tp_key(0), *ec2 = tp_key(0), *rsa = tp_key(2048);

	check_init(argc, argv);
	if (check_test("thumbprint"))
		test_thumbprint(ec);
	if (check_test("names"))
		test_names(ec);
	if (check_test("serial"))
		test_serial(ec);
	if (check_test("domains"))
		test_domains(ec);
	if (check_test("key_types"))
		test_key_types(rsa, ec);
	if (check_test("unknown_key"))
		test_unknown_key(rsa);
	if (check_test("dates"))
		test_dates(ec);
	if (check_test("self_signed"))
		test_self_signed(ec, ec2);
	if (check_test("issued_by"))
		test_issued_by(ec, ec2);
	if (check_test("der"))
		test_der(ec);
	if (check_test("prefix"))
		test_prefix();
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
	return check_done();
}
