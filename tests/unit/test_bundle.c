/*
 * test_bundle.c - cf_bundle_parse over every format it reads, every
 * file of the PKCS#12 interop corpus (tests/vectors/pkcs12, expectations
 * below), and OpenSSL's fuzz seeds (error or success, never a crash).
 * Run from the repository root; CF_VECTORS overrides "tests/vectors".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "check.h"
#include "pkcs12.h"
#include "testpki.h"
#include "util.h"

#define EXPECT_PBMAC1 (-2) /* CF_E_UNSUPPORTED before OpenSSL 3.4 */

/*
 * Every file of tests/vectors/pkcs12 with the password its MANIFEST.tsv
 * gives ("(empty string)" -> "", "(none ...)" -> NULL, the ISO-8859-1
 * rows as the UTF-8 string) and what cf_bundle_parse must do: CF_OK
 * with that many certificates and keys, or that error code.
 *
 * Decisions where the manifest leaves room (see also pkcs12.c):
 * - bc-java/empty.p12 is a valid PKCS#12 with no bags; cf_pkcs12_parse
 *   opens it (test_pkcs12), but a bundle with nothing in it is
 *   CF_E_PARSE by bundle.h's contract, with its own message.
 * - openssl/nomac_parse.p12 keeps its content in an enveloped safe
 *   (public-key privacy mode).  OpenSSL skips such safes and reports an
 *   empty file; we say CF_E_UNSUPPORTED rather than import nothing.
 * - nss/TestOldCA.p12 (NSS 3.21: PBKDF2 fed the BMPString password) and
 *   nss/TestOldAES128CA.p12 (NSS 3.29.5: AES-256 under the AES-128 OID,
 *   keyLength 32) open with their key, as NSS itself reads them; the
 *   manifest's "0 key(s)" is only what `openssl pkcs12` could decrypt.
 * - PBMAC1 files need OpenSSL 3.4: CF_E_UNSUPPORTED before that.
 *
 * One vector a line, however long, so that the table reads as a table.
 */
/* clang-format off */
static const struct vector {
	const char *path;
	const char *password;
	int code;
	int certs, keys;
} vectors[] = {
	{"bc-java/JKS_Store.jks", "jkstest", CF_E_PARSE, 0, 0}, /* JKS: not PKCS#12 */
	{"bc-java/certChainCycle.p12", "test", CF_OK, 3, 1},
	{"bc-java/certsOnly.p12", NULL, CF_OK, 1, 0},
	{"bc-java/empty.p12", "Mötley Crüe", CF_E_PARSE, 0, 0}, /* valid but empty: nothing to import */
	{"bc-java/gostOpenSSLIntegerDPfx.p12", "password", CF_E_UNSUPPORTED, 0, 0}, /* GOST key */
	{"bc-java/gostPfx.p12", "1", CF_E_UNSUPPORTED, 0, 0}, /* GOST MAC and PBE */
	{"bc-java/johndoe.p12", "", CF_OK, 1, 1},
	{"bc-java/pkcs12.p12", "hello world", CF_OK, 3, 1},
	{"bc-java/pkcs12StorageIssue.p12", "pass", CF_OK, 2, 1},
	{"bc-java/pkcs12noFriendly.p12", "sschette12", CF_OK, 1, 1},
	{"bc-java/pkcs12nopass.p12", "", CF_OK, 2, 1},
	{"bc-java/rawKeyBagStore.p12", NULL, CF_OK, 1, 1},
	{"bc-java/repeatedLocalKeyIdPfx.p12", "", CF_OK, 1, 1},
	{"bc-java/sample_cacerts.p12", NULL, CF_OK, 7, 0},
	{"bc-java/self-testcase-A.p12", "", CF_OK, 1, 1},
	{"bc-java/storeBytes.p12", "Axw9eE51lKEx0IuqHbzlJ+sx", CF_OK, 1, 1},
	{"bc-java/with-key-entry.p12", "Mötley Crüe", CF_OK, 1, 1},
	{"dotnet-runtime-assets/net-3des/contoso.com.pfx", "PLACEHOLDER", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-3des/testclient1_at_contoso.com.pfx", "PLACEHOLDER", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-3des/testclienteku.contoso.com.pfx", "PLACEHOLDER", CF_OK, 2, 2},
	{"dotnet-runtime-assets/net-3des/testnoeku.contoso.com.pfx", "PLACEHOLDER", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-3des/testselfsignedclienteku.contoso.com.pfx", "PLACEHOLDER", CF_OK, 1, 1},
	{"dotnet-runtime-assets/net-3des/testselfsignedservereku.contoso.com.pfx", "PLACEHOLDER", CF_OK, 1, 1},
	{"dotnet-runtime-assets/net-3des/testservereku.contoso.com.pfx", "PLACEHOLDER", CF_OK, 2, 2},
	{"dotnet-runtime-assets/net-legacy/contoso.com.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testclient1_at_contoso.com.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testclienteku.contoso.com.noRC2.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testclienteku.contoso.com.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testnoeku.contoso.com.noRC2.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testnoeku.contoso.com.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testselfsignedclienteku.contoso.com.pfx", "testcertificate", CF_OK, 1, 1},
	{"dotnet-runtime-assets/net-legacy/testselfsignedservereku.contoso.com.pfx", "testcertificate", CF_OK, 1, 1},
	{"dotnet-runtime-assets/net-legacy/testservereku.contoso.com.noRC2.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/net-legacy/testservereku.contoso.com.pfx", "testcertificate", CF_OK, 2, 1},
	{"dotnet-runtime-assets/x509/DummyTcpServer.noRC2.pfx", "", CF_OK, 2, 1},
	{"dotnet-runtime-assets/x509/DummyTcpServer.pfx", "", CF_OK, 2, 1},
	{"dotnet-runtime-assets/x509/My.noRC2.pfx", "12345", CF_OK, 1, 1},
	{"dotnet-runtime-assets/x509/My.pfx", "12345", CF_OK, 1, 1},
	{"dotnet-runtime-assets/x509/test.noRC2.pfx", "test", CF_OK, 3, 1},
	{"dotnet-runtime-assets/x509/test.pfx", "test", CF_OK, 3, 1},
	{"forge/p12certonly.p12", NULL, CF_OK, 1, 0},
	{"forge/p12ecdsa.p12", "123321", CF_OK, 1, 1},
	{"forge/p12enckeyonly.p12", "nopass", CF_OK, 0, 1},
	{"forge/p12encmixed.p12", "123456", CF_OK, 6, 2},
	{"forge/p12keyonly.p12", NULL, CF_OK, 0, 1},
	{"generated-debian12/chain.pem", NULL, CF_OK, 2, 0},
	{"generated-debian12/gnutls-3des.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/gnutls.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/keytool-genkey.p12", "Interop-Test-1!", CF_OK, 1, 1},
	{"generated-debian12/keytool-truststore.p12", "Interop-Test-1!", CF_OK, 1, 0},
	{"generated-debian12/keytool.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/leaf.key", NULL, CF_OK, 0, 1},
	{"generated-debian12/leaf.pem", NULL, CF_OK, 1, 0},
	{"generated-debian12/nss-aes.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/nss.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/openssl-3des.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/openssl-legacy.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/openssl-modern.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/pyca-legacy.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"generated-debian12/pyca-modern.p12", "Interop-Test-1!", CF_OK, 3, 1},
	{"golang-x-crypto/testing-example-com.pfx", "", CF_OK, 1, 1},
	{"golang-x-crypto/windows-azure-tools.pfx", "", CF_OK, 1, 1},
	{"golang-x-crypto/windows-ias-peap-ldaps.pfx", "", CF_OK, 1, 1},
	{"nss/OCSPCA1.p12", "nssnss", CF_OK, 1, 1},
	{"nss/OCSPCA2.p12", "nssnss", CF_OK, 1, 1},
	{"nss/OCSPCA3.p12", "nssnss", CF_OK, 1, 1},
	{"nss/OCSPRoot.p12", "nssnss", CF_OK, 1, 1},
	{"nss/TestOldAES128CA.p12", "nss", CF_OK, 1, 1}, /* NSS PBES2 quirks: the key opens */
	{"nss/TestOldCA.p12", "nss", CF_OK, 1, 1}, /* NSS PBES2 quirks: the key opens */
	{"nss/TestRSAPSS.p12", "", CF_OK, 1, 1},
	{"nss/TestUser-rsa-pss-interop.p12", "nss", CF_OK, 1, 1},
	{"openssl/bad1.p12", "", CF_E_PARSE, 0, 0}, /* CVE-2024-0727 */
	{"openssl/bad2.p12", "", CF_E_PARSE, 0, 0}, /* CVE-2024-0727 */
	{"openssl/bad3.p12", "", CF_E_PARSE, 0, 0}, /* CVE-2024-0727 */
	{"openssl/cmp-mock-signer.p12", "12345", CF_OK, 4, 1},
	{"openssl/garbage-pkcs12.p12", "", CF_E_PARSE, 0, 0},
	{"openssl/nomac_parse.p12", "testpassword", CF_E_UNSUPPORTED, 0, 0}, /* enveloped safe */
	{"openssl/pbmac1_256_256.bad-iter.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.bad-key-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.bad-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.bad-salt-type.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.bad-salt.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.good-shorter-key-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.good.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.negative-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.no-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.no-salt.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.very-big-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_256_256.zero-len.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_512_256.good.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_512_512.good.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/pbmac1_sha1_hmac_and_prf.p12", "1234", EXPECT_PBMAC1, 0, 0},
	{"openssl/shibboleth.pfx", "σύνθημα γνώρισμα", CF_OK, 1, 1},
	{"openssl/test-BER.p12", "12345", CF_OK, 3, 1},
	{"openssl/v3-certs-RC2.p12", "v3-certs", CF_OK, 2, 0},
	{"openssl/v3-certs-TDES.p12", "v3-certs", CF_OK, 2, 0},
	{"pyca-cryptography/ca.pem", NULL, CF_OK, 1, 0},
	{"pyca-cryptography/ca_key.pem", NULL, CF_OK, 0, 1},
	{"pyca-cryptography/cert-aes256cbc-no-key.p12", "cryptography", CF_OK, 1, 0},
	{"pyca-cryptography/cert-key-aes256cbc.p12", "cryptography", CF_OK, 1, 1},
	{"pyca-cryptography/cert-none-key-none.p12", "cryptography", CF_OK, 1, 1},
	{"pyca-cryptography/cert-rc2-key-3des.p12", "cryptography", CF_OK, 1, 1},
	{"pyca-cryptography/name-1-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-1-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/name-2-3-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-2-3-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/name-2-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-2-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/name-3-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-3-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/name-all-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-all-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/name-unicode-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/name-unicode-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/no-cert-key-aes256cbc.p12", "cryptography", CF_OK, 0, 1},
	{"pyca-cryptography/no-cert-name-2-no-pwd.p12", NULL, CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-2-pwd.p12", "password", CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-3-no-pwd.p12", NULL, CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-3-pwd.p12", "password", CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-all-no-pwd.p12", NULL, CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-all-pwd.p12", "password", CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-unicode-no-pwd.p12", NULL, CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-name-unicode-pwd.p12", "password", CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-no-name-no-pwd.p12", NULL, CF_OK, 2, 0},
	{"pyca-cryptography/no-cert-no-name-pwd.p12", "password", CF_OK, 2, 0},
	{"pyca-cryptography/no-name-no-pwd.p12", NULL, CF_OK, 3, 1},
	{"pyca-cryptography/no-name-pwd.p12", "password", CF_OK, 3, 1},
	{"pyca-cryptography/no-password.p12", NULL, CF_OK, 1, 1},
	{"pyca-cryptography/PKITS/BadSignedCACert.p12", "password", CF_OK, 1, 1},
	{"pyca-cryptography/PKITS/GoodCACert.p12", "password", CF_OK, 1, 1},
	{"pyca-cryptography/PKITS/ValidCertificatePathTest1EE.p12", "password", CF_OK, 1, 1},
	{"sslmate-go-pkcs12/pbes2-aes128cbc-sha256.pfx", "rHyQTJsubhfxcpH5JttyilHE6BBsNoZp", CF_OK, 1, 1},
	{"sslmate-go-pkcs12/pbes2-aes192cbc-sha256.pfx", "password", CF_OK, 1, 1},
	{"sslmate-go-pkcs12/pbes2-aes256cbc-sha256.pfx", "password", CF_OK, 1, 1},
	{"sslmate-go-pkcs12/pbmac1-short-key-bypass.p12", "realpassword", EXPECT_PBMAC1, 0, 0},
};
/* clang-format on */

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static const char *
vector_dir(void)
{
	const char *d = getenv("CF_VECTORS");

	return d != NULL && d[0] != '\0' ? d : "tests/vectors";
}

/* Parses data into a fresh bundle (*b) with err cleared first. */
static int
parse(const char *name, const void *data, size_t len, const char *pass,
    struct cf_bundle **b, struct cf_error *err)
{
	*b = cf_bundle_new();
	cf_error_clear(err);
	return cf_bundle_parse(name, data, len, pass, *b, err);
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the PKCS#12 corpus ------------------------------------------------- */

static int
outcome_ok(const struct vector *v, int rc, const struct cf_bundle *b,
    const struct cf_error *err)
{
	int code = v->code;

	if (code == EXPECT_PBMAC1) {
		if (OPENSSL_version_major() > 3 || OPENSSL_version_minor() >= 4)
			return rc == 0 || (rc == -1 && err->msg[0] != '\0');
		code = CF_E_UNSUPPORTED;
	}
	if (code == CF_OK)
		return rc == 0 && sk_X509_num(b->certs) == v->certs &&
		       (int)b->nkeys == v->keys;
	return rc == -1 && err->code == code &&
	       starts_with(err->msg, v->path) && sk_X509_num(b->certs) == 0 &&
	       b->nkeys == 0;
}

static void
test_vectors(void)
{
	struct cf_error err;
	struct cf_buf f;
	struct cf_bundle *b;
	char path[1024], name[1800];
	size_t i;
	int rc;

	for (i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];

		snprintf(
		    path, sizeof(path), "%s/pkcs12/%s", vector_dir(), v->path);
		if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == -1) {
			snprintf(
			    name, sizeof(name), "vector %s readable", v->path);
			CHECK(0, name);
			continue;
		}
		/* messages name the file as the caller does: its path here */
		rc = parse(v->path, f.data, f.len, v->password, &b, &err);
		snprintf(name, sizeof(name), "vector %s: %s", v->path,
		    rc == 0 ? "parsed" : err.msg);
		CHECK(outcome_ok(v, rc, b, &err), name);
		cf_bundle_free(b);
		cf_buf_clear(&f);
	}
}

/* Wrong passwords and the messages of a few rejected files. */
static void
test_vector_negatives(void)
{
	static const struct {
		const char *path, *password;
		int code;
		const char *msg;
	} neg[] = {
	    {"generated-debian12/openssl-modern.p12", "Interop-Test-1",
		CF_E_PASSWORD, "MAC verification failed (wrong password?)"},
	    {"generated-debian12/openssl-modern.p12", NULL, CF_E_PASSWORD,
		"a password is needed"},
	    {"bc-java/johndoe.p12", "wrong", CF_E_PASSWORD,
		"MAC verification failed"},
	    {"dotnet-runtime-assets/net-legacy/contoso.com.pfx", "PLACEHOLDER",
		CF_E_PASSWORD, "wrong password"},
	    {"forge/p12enckeyonly.p12", "wrong", CF_E_PASSWORD,
		"wrong password"},
	    {"forge/p12enckeyonly.p12", NULL, CF_E_PASSWORD,
		"a password is needed"},
	    {"nss/TestOldCA.p12", "NSS", CF_E_PASSWORD, "wrong password"},
	    {"openssl/shibboleth.pfx", "synthima gnorisma", CF_E_PASSWORD,
		"wrong password"},
	    {"bc-java/with-key-entry.p12", "Motley Crue", CF_E_PASSWORD,
		"wrong password"},
	    {"bc-java/JKS_Store.jks", "jkstest", CF_E_PARSE,
		"a Java KeyStore (JKS), not PKCS#12: convert it with keytool "
		"-importkeystore -deststoretype pkcs12"},
	    {"bc-java/gostPfx.p12", "1", CF_E_UNSUPPORTED, "GOST"},
	    {"bc-java/gostOpenSSLIntegerDPfx.p12", "password", CF_E_UNSUPPORTED,
		"GOST"},
	    {"openssl/bad1.p12", "", CF_E_PARSE,
		"not a valid PKCS#12 file (malformed structure)"},
	    {"bc-java/empty.p12", "Mötley Crüe", CF_E_PARSE,
		"holds no certificate and no private key"},
	};
	struct cf_error err;
	struct cf_buf f;
	struct cf_bundle *b;
	char path[1024], name[1200];
	size_t i;

	for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		snprintf(path, sizeof(path), "%s/pkcs12/%s", vector_dir(),
		    neg[i].path);
		snprintf(name, sizeof(name), "vector %s with %s%s%s: %s",
		    neg[i].path, neg[i].password ? "\"" : "",
		    neg[i].password ? neg[i].password : "no password",
		    neg[i].password ? "\"" : "", neg[i].msg);
		if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == -1) {
			CHECK(0, name);
			continue;
		}
		CHECK(parse(neg[i].path, f.data, f.len, neg[i].password, &b,
			  &err) == -1 &&
			  err.code == neg[i].code &&
			  strstr(err.msg, neg[i].msg),
		    name);
		cf_bundle_free(b);
		cf_buf_clear(&f);
	}
	/* no MAC, plain bags: any password or none */
	snprintf(path, sizeof(path), "%s/pkcs12/bc-java/certsOnly.p12",
	    vector_dir());
	if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == 0) {
		CHECK(parse("certsOnly.p12", f.data, f.len, "anything", &b,
			  &err) == 0 &&
			  sk_X509_num(b->certs) == 1,
		    "MAC-less certificates-only file opens with any password");
		cf_bundle_free(b);
		cf_buf_clear(&f);
	}
}

/* Every file in the tree has a row, and every row a file. */
static size_t seen;
static int unlisted;

static void
walk_tree(const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[1024], sub[1024];
	size_t i;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "",
		    e->d_name);
		if (stat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_tree(path, sub);
			continue;
		}
		if (strcmp(sub, "MANIFEST.tsv") == 0 ||
		    strcmp(sub, "README.md") == 0)
			continue;
		for (i = 0; i < NVECTORS; i++)
			if (strcmp(vectors[i].path, sub) == 0)
				break;
		if (i == NVECTORS) {
			fprintf(stderr, "not in the table: %s\n", sub);
			unlisted++;
		} else
			seen++;
	}
	closedir(d);
}

static void
test_table_complete(void)
{
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/pkcs12", vector_dir());
	walk_tree(dir, "");
	CHECK(unlisted == 0, "every vector file has an expectation");
	CHECK(seen == NVECTORS, "every expectation has a vector file");
}

/* ---- fuzz seeds: any answer but a crash ---------------------------------- */

static int
survives(
    const char *name, const unsigned char *data, size_t len, const char *pass)
{
	struct cf_error err;
	struct cf_bundle *b;
	int rc = parse(name, data, len, pass, &b, &err), ok;

	if (rc == 0)
		ok = sk_X509_num(b->certs) > 0 || b->nkeys > 0;
	else
		ok = rc == -1 && err.code != CF_OK && err.msg[0] != '\0' &&
		     starts_with(err.msg, name) && sk_X509_num(b->certs) == 0 &&
		     b->nkeys == 0;
	if (!ok)
		fprintf(stderr, "%s (password %s): rc %d, code %d, \"%s\"\n",
		    name, pass ? pass : "NULL", rc, err.code, err.msg);
	cf_bundle_free(b);
	return ok;
}

static void
test_fuzz_seeds(void)
{
	static const char *dirs[] = {"x509", "asn1", "decoder", "pem"};
	struct cf_error err;
	struct cf_buf f;
	char dir[1024], path[1400], name[256];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d;
		struct dirent *e;
		int files = 0, bad = 0;

		snprintf(dir, sizeof(dir),
		    "%s/fuzz-seeds/openssl-fuzz-corpora/%s", vector_dir(),
		    dirs[i]);
		if ((d = opendir(dir)) == NULL) {
			snprintf(name, sizeof(name), "fuzz seeds %s readable",
			    dirs[i]);
			CHECK(0, name);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (cf_read_file(
				path, CF_MAX_INPUT_BYTES + 1, &f, &err) == -1)
				continue;
			files++;
			if (!survives(e->d_name, f.data, f.len, NULL) ||
			    !survives(e->d_name, f.data, f.len, "x"))
				bad++;
			cf_buf_clear(&f);
		}
		closedir(d);
		snprintf(name, sizeof(name),
		    "fuzz seeds %s: %d files, each parsed or refused cleanly",
		    dirs[i], files);
		CHECK(files > 0 && bad == 0, name);
	}
}

/* ---- formats, made here ----------------------------------------------------
 */

static const char *pw = "s3cret pass";

/* The bytes written to a memory BIO, as a malloc'd buffer. */
static unsigned char *
drain(BIO *bio, size_t *len)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	unsigned char *out = xmalloc((size_t)n + 1);

	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static int
same_cert(X509 *a, X509 *b)
{
	return a != NULL && b != NULL && X509_cmp(a, b) == 0;
}

/* Parses and checks counts; names the check. */
static void
expect_ok(const char *label, const void *data, size_t len, const char *pass,
    int certs, int keys)
{
	struct cf_error err;
	struct cf_bundle *b;
	char name[900];
	int rc = parse("in.pem", data, len, pass, &b, &err);

	snprintf(name, sizeof(name), "%s: %d certificate(s), %d key(s)%s%s",
	    label, certs, keys, rc == 0 ? "" : " - ", rc == 0 ? "" : err.msg);
	CHECK(
	    rc == 0 && sk_X509_num(b->certs) == certs && (int)b->nkeys == keys,
	    name);
	cf_bundle_free(b);
}

/* Parses and checks the error code and a piece of the message. */
static void
expect_err(const char *label, const void *data, size_t len, const char *pass,
    int code, const char *msg)
{
	struct cf_error err;
	struct cf_bundle *b;
	char name[900];
	int rc = parse("in.pem", data, len, pass, &b, &err);

	snprintf(name, sizeof(name), "%s: %s (got: %s)", label,
	    cf_code_name(code), rc == 0 ? "success" : err.msg);
	CHECK(rc == -1 && err.code == code &&
		  starts_with(err.msg, "in.pem: ") &&
		  strstr(err.msg, msg) != NULL && sk_X509_num(b->certs) == 0 &&
		  b->nkeys == 0,
	    name);
	cf_bundle_free(b);
}

struct kit {
	EVP_PKEY *ca_key, *key, *rsa;
	X509 *ca, *leaf;
};

static void
test_pem(const struct kit *k)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *data;
	size_t len;
	BIO *bio;

	/* key first, then the chain, then the leaf, with text between */
	bio = BIO_new(BIO_s_mem());
	BIO_puts(bio, "Bag Attributes\n    friendlyName: mail\n");
	PEM_write_bio_PrivateKey(bio, k->key, NULL, NULL, 0, NULL, NULL);
	BIO_puts(bio, "subject=CN = Test CA\n\n");
	PEM_write_bio_X509(bio, k->ca);
	PEM_write_bio_X509(bio, k->leaf);
	BIO_puts(bio, "trailing words\n");
	data = drain(bio, &len);
	CHECK(parse("in.pem", data, len, NULL, &b, &err) == 0 &&
		  sk_X509_num(b->certs) == 2 && b->nkeys == 1,
	    "PEM key, chain, leaf in that order: 2 certificates, 1 key");
	CHECK(sk_X509_num(b->certs) == 2 &&
		  same_cert(sk_X509_value(b->certs, 0), k->ca) &&
		  same_cert(sk_X509_value(b->certs, 1), k->leaf),
	    "PEM certificates kept in file order");
	CHECK(b->nkeys == 1 && EVP_PKEY_eq(b->keys[0], k->key) == 1 &&
		  !b->was_pkcs12,
	    "PEM key is the key; not marked PKCS#12");
	cf_bundle_free(b);

	/* cut in the middle of the last block */
	expect_err("PEM cut in the middle of a block", data, len * 3 / 4, NULL,
	    CF_E_PARSE, "damaged or cut off");
	free(data);

	/* a base64 body that decodes to no certificate */
	bio = BIO_new(BIO_s_mem());
	BIO_puts(bio, "-----BEGIN CERTIFICATE-----\nTUlJQmFkRGF0YQ==\n"
		      "-----END CERTIFICATE-----\n");
	data = drain(bio, &len);
	expect_err("PEM CERTIFICATE block holding junk", data, len, NULL,
	    CF_E_PARSE, "malformed certificate");
	free(data);
}

/* Keys in PEM: traditional (EC with its EC PARAMETERS block first, RSA),
 * encrypted traditional and encrypted PKCS#8, with and without the
 * password. */
static void
test_pem_keys(const struct kit *k)
{
	unsigned char *data;
	size_t len;
	BIO *bio;

	/* traditional keys, EC with its EC PARAMETERS block first */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_Parameters(bio, k->key);
	PEM_write_bio_PrivateKey_traditional(
	    bio, k->key, NULL, NULL, 0, NULL, NULL);
	data = drain(bio, &len);
	CHECK(strstr((char *)data, "BEGIN EC PRIVATE KEY") != NULL,
	    "made an EC PRIVATE KEY block");
	expect_ok("EC PARAMETERS + EC PRIVATE KEY", data, len, NULL, 0, 1);
	free(data);

	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(
	    bio, k->rsa, NULL, NULL, 0, NULL, NULL);
	data = drain(bio, &len);
	expect_ok("RSA PRIVATE KEY", data, len, NULL, 0, 1);
	free(data);

	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(bio, k->rsa, EVP_aes_128_cbc(),
	    (unsigned char *)pw, (int)strlen(pw), NULL, NULL);
	data = drain(bio, &len);
	CHECK(strstr((char *)data, "Proc-Type: 4,ENCRYPTED") != NULL,
	    "made an encrypted RSA PRIVATE KEY block");
	expect_ok(
	    "encrypted RSA PRIVATE KEY with its password", data, len, pw, 0, 1);
	expect_err("encrypted RSA PRIVATE KEY, wrong password", data, len,
	    "nope", CF_E_PASSWORD, "wrong password");
	expect_err("encrypted RSA PRIVATE KEY, no password", data, len, NULL,
	    CF_E_PASSWORD, "a password is needed");
	free(data);

	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PKCS8PrivateKey(
	    bio, k->key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pw);
	PEM_write_bio_X509(bio, k->leaf);
	data = drain(bio, &len);
	expect_ok("ENCRYPTED PRIVATE KEY + leaf with the password", data, len,
	    pw, 1, 1);
	expect_err("ENCRYPTED PRIVATE KEY, wrong password", data, len, "nope",
	    CF_E_PASSWORD, "wrong password");
	expect_err("ENCRYPTED PRIVATE KEY, no password", data, len, NULL,
	    CF_E_PASSWORD, "a password is needed");
	free(data);
}

/* PEM blocks that are not what certfleet reads are refused, named: a
 * CSR, a public key, a TRUSTED CERTIFICATE. */
static void
test_pem_others(const struct kit *k)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *data;
	size_t len;
	BIO *bio;

	X509_REQ_set_pubkey(req, k->key);
	X509_REQ_sign(req, k->key, EVP_sha256());
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_REQ(bio, req);
	data = drain(bio, &len);
	expect_err("PEM holding only a CSR", data, len, NULL, CF_E_PARSE,
	    "no certificate, only a certificate signing request (CSR)");
	free(data);
	X509_REQ_free(req);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k->key);
	data = drain(bio, &len);
	expect_err("PEM holding only a public key", data, len, NULL, CF_E_PARSE,
	    "no certificate or private key, only a public key");
	free(data);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_AUX(bio, k->leaf);
	data = drain(bio, &len);
	expect_err("PEM TRUSTED CERTIFICATE", data, len, NULL, CF_E_PARSE,
	    "TRUSTED CERTIFICATE, which is not read");
	free(data);
}

static void
test_der_and_pkcs7(const struct kit *k)
{
	unsigned char *der = NULL, *two, *p;
	int n, m;
	PKCS7 *p7;
	BIO *bio;
	unsigned char *data;
	size_t len;

	n = i2d_X509(k->leaf, &der);
	expect_ok("DER certificate", der, (size_t)n, NULL, 1, 0);
	expect_err("DER certificate cut short", der, (size_t)n - 40, NULL,
	    CF_E_PARSE, "truncated");
	m = i2d_X509(k->ca, NULL);
	two = xmalloc((size_t)(n + m));
	memcpy(two, der, (size_t)n);
	p = two + n;
	i2d_X509(k->ca, &p);
	expect_ok("two DER certificates back to back", two, (size_t)(n + m),
	    NULL, 2, 0);
	free(two);
	OPENSSL_free(der);
	der = NULL;

	/* a .p7b chain: signedData with certificates and no signers */
	p7 = PKCS7_new();
	PKCS7_set_type(p7, NID_pkcs7_signed);
	PKCS7_content_new(p7, NID_pkcs7_data);
	PKCS7_add_certificate(p7, k->leaf);
	PKCS7_add_certificate(p7, k->ca);
	n = i2d_PKCS7(p7, &der);
	expect_ok("DER PKCS#7 chain", der, (size_t)n, NULL, 2, 0);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PKCS7(bio, p7);
	data = drain(bio, &len);
	expect_ok("PEM PKCS7 chain", data, len, NULL, 2, 0);
	free(data);
	OPENSSL_free(der);
	der = NULL;
	PKCS7_free(p7);

	p7 = PKCS7_new();
	PKCS7_set_type(p7, NID_pkcs7_signed);
	PKCS7_content_new(p7, NID_pkcs7_data);
	n = i2d_PKCS7(p7, &der);
	expect_err("DER PKCS#7 without certificates", der, (size_t)n, NULL,
	    CF_E_PARSE, "holds no certificates");
	OPENSSL_free(der);
	PKCS7_free(p7);
}

/* Base64 of data with CRLF every 64 characters, as Exchange writes it. */
static char *
base64_crlf(const unsigned char *data, size_t len, size_t *outlen)
{
	unsigned char *b64 = xmalloc(len / 3 * 4 + 8);
	int n = EVP_EncodeBlock(b64, data, (int)len), i;
	char *out = xmalloc((size_t)n + (size_t)n / 32 + 8);
	size_t o = 0;

	for (i = 0; i < n; i++) {
		if (i > 0 && i % 64 == 0) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		out[o++] = (char)b64[i];
	}
	out[o++] = '\r';
	out[o++] = '\n';
	out[o] = '\0';
	*outlen = o;
	free(b64);
	return out;
}

static void
test_pkcs12_forms(const struct kit *k)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der = NULL, *u16;
	char *text;
	size_t len, tlen, i;

	sk_X509_push(chain, k->ca);
	CHECK(cf_pkcs12_build(k->leaf, k->key, chain, "mail", pw,
		  CF_P12_TRANSFER, &der, &len, &err) == 0,
	    "transfer PKCS#12 built for the bundle tests");
	sk_X509_free(chain);

	CHECK(parse("in.pfx", der, len, pw, &b, &err) == 0 &&
		  sk_X509_num(b->certs) == 2 && b->nkeys == 1 && b->was_pkcs12,
	    "DER PKCS#12: 2 certificates, 1 key, marked PKCS#12");
	cf_bundle_free(b);
	expect_err("DER PKCS#12, wrong password", der, len, "nope",
	    CF_E_PASSWORD, "MAC verification failed (wrong password?)");
	expect_err("DER PKCS#12 cut short", der, len - 100, pw, CF_E_PARSE,
	    "truncated");

	text = base64_crlf(der, len, &tlen);
	CHECK(strstr(text, "\r\n") != NULL, "Base64 text has CRLF breaks");
	CHECK(parse("in.pfx", text, tlen, pw, &b, &err) == 0 &&
		  sk_X509_num(b->certs) == 2 && b->nkeys == 1 && b->was_pkcs12,
	    "Base64 PKCS#12 with CRLF line breaks: 2 certificates, 1 key");
	cf_bundle_free(b);
	expect_err("Base64 PKCS#12, wrong password", text, tlen, "nope",
	    CF_E_PASSWORD, "wrong password");
	/* lines are 64 characters and CRLF: 10 lines are 640 of them */
	expect_err("Base64 PKCS#12 cut at a line end", text, 66 * 10, pw,
	    CF_E_PARSE, "truncated");
	expect_err("Base64 PKCS#12 cut inside a group of four", text,
	    66 * 10 + 3, pw, CF_E_PARSE, "damaged or cut-off Base64 text");

	/* the same text as Windows PowerShell 5 Out-File writes it */
	u16 = xmalloc(2 * tlen + 2);
	u16[0] = 0xff;
	u16[1] = 0xfe;
	for (i = 0; i < tlen; i++) {
		u16[2 + 2 * i] = (unsigned char)text[i];
		u16[3 + 2 * i] = 0;
	}
	expect_ok(
	    "Base64 PKCS#12 in UTF-16LE with BOM", u16, 2 * tlen + 2, pw, 2, 1);
	free(u16);
	free(text);
	free(der);
}

static void
test_garbage_and_limits(const struct kit *k)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char junk[2048], *big;
	const char *hello = "hello world\n";
	BIO *bio;
	unsigned char *data;
	size_t len;
	int i;

	expect_err("empty input", "", 0, NULL, CF_E_PARSE, "empty");
	expect_err("text without certificates", hello, strlen(hello), NULL,
	    CF_E_PARSE,
	    "no certificate or private key found (expected PEM, DER, PKCS#7 "
	    "or PKCS#12)");
	RAND_bytes(junk, sizeof(junk));
	junk[0] = 0x01;
	expect_err("random bytes", junk, sizeof(junk), NULL, CF_E_PARSE,
	    "no certificate or private key found");
	junk[0] = 0x30;
	expect_err("random bytes after a SEQUENCE tag", junk, sizeof(junk), pw,
	    CF_E_PARSE, "");
	memcpy(junk, "\xfe\xed\xfe\xed", 4);
	expect_err("JKS magic", junk, sizeof(junk), NULL, CF_E_PARSE,
	    "a Java KeyStore (JKS), not PKCS#12");
	expect_err("Base64 text of junk DER", "MIJDREVGR0hJSktMTU5PUA==\n", 25,
	    NULL, CF_E_PARSE, "damaged DER data");
	expect_err("plain words", "Mary had a little lamb", 22, NULL,
	    CF_E_PARSE, "no certificate or private key found");

	big = xcalloc(1, CF_MAX_INPUT_BYTES + 1);
	expect_err("one byte over CF_MAX_INPUT_BYTES", big,
	    CF_MAX_INPUT_BYTES + 1, NULL, CF_E_LIMIT, "larger than");
	free(big);

	bio = BIO_new(BIO_s_mem());
	for (i = 0; i <= CF_MAX_CERTS; i++)
		PEM_write_bio_X509(bio, k->leaf);
	data = drain(bio, &len);
	b = cf_bundle_new();
	cf_bundle_add_cert(b, X509_dup(k->ca), &err);
	CHECK(cf_bundle_parse("in.pem", data, len, NULL, b, &err) == -1 &&
		  err.code == CF_E_LIMIT && starts_with(err.msg, "in.pem: "),
	    "CF_MAX_CERTS + 1 certificates: CF_E_LIMIT naming the file");
	CHECK(sk_X509_num(b->certs) == 1 && b->nkeys == 0,
	    "a failed parse leaves the caller's bundle as it was");
	CHECK(cf_bundle_parse("in.pem", data, len, NULL, b, NULL) == -1 &&
		  sk_X509_num(b->certs) == 1,
	    "a NULL error pointer is allowed");
	free(data);

	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, k->leaf);
	data = drain(bio, &len);
	CHECK(cf_bundle_parse("in.pem", data, len, NULL, b, &err) == 0 &&
		  sk_X509_num(b->certs) == 2,
	    "a good parse appends to the caller's bundle");
	free(data);
	cf_bundle_free(b);

	bio = BIO_new(BIO_s_mem());
	for (i = 0; i <= CF_MAX_KEYS; i++)
		PEM_write_bio_PrivateKey(
		    bio, k->key, NULL, NULL, 0, NULL, NULL);
	data = drain(bio, &len);
	expect_err("CF_MAX_KEYS + 1 keys", data, len, NULL, CF_E_LIMIT,
	    "private keys");
	free(data);
}

/* The hook certfleetd sets (cf_bundle_set_parser): every parse goes to
 * it, with the caller's arguments; NULL parses in process again. */
static int hook_calls;
static const char *hook_password;

static int
hook_parser(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err)
{
	(void)data;
	(void)len;
	(void)out;
	hook_calls++;
	hook_password = password;
	return cf_errorf(err, CF_E_INTERNAL, "%s: handled elsewhere", name);
}

static void
test_parser_hook(const struct kit *k)
{
	struct cf_error err;
	struct cf_bundle *b = cf_bundle_new();
	unsigned char *der = NULL;
	int n = i2d_X509(k->leaf, &der);

	cf_bundle_set_parser(hook_parser);
	CHECK(cf_bundle_parse("a.der", der, (size_t)n, "pw", b, &err) == -1 &&
		  hook_calls == 1 && hook_password != NULL &&
		  strcmp(hook_password, "pw") == 0 &&
		  strstr(err.msg, "a.der: handled elsewhere") != NULL,
	    "parser hook: the parse goes to the hook, password and all");
	CHECK(sk_X509_num(b->certs) == 0,
	    "parser hook: nothing parsed in process while it is set");
	cf_bundle_set_parser(NULL);
	CHECK(cf_bundle_parse("a.der", der, (size_t)n, NULL, b, &err) == 0 &&
		  hook_calls == 1 && sk_X509_num(b->certs) == 1,
	    "parser hook: unset, the parse is in process again");
	OPENSSL_free(der);
	cf_bundle_free(b);
}

int
main(int argc, char **argv)
{
	struct kit k;

	check_init(argc, argv);
	k.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k.ca = tp_cert("Test CA", NULL, k.ca_key, NULL, NULL, -1, 30, 1);
	k.leaf = tp_cert(
	    "mail.example.test", NULL, k.key, k.ca, k.ca_key, -1, 30, 0);
	CHECK(k.leaf != NULL && k.rsa != NULL, "test keys and certificates");

	if (check_test("pem"))
		test_pem(&k);
	if (check_test("pem_keys"))
		test_pem_keys(&k);
	if (check_test("pem_others"))
		test_pem_others(&k);
	if (check_test("der_and_pkcs7"))
		test_der_and_pkcs7(&k);
	if (check_test("pkcs12_forms"))
		test_pkcs12_forms(&k);
	if (check_test("garbage_and_limits"))
		test_garbage_and_limits(&k);
	if (check_test("table_complete"))
		test_table_complete();
	if (check_test("vectors"))
		test_vectors();
	if (check_test("vector_negatives"))
		test_vector_negatives();
	if (check_test("fuzz_seeds"))
		test_fuzz_seeds();
	if (check_test("parser_hook"))
		test_parser_hook(&k);

	X509_free(k.leaf);
	X509_free(k.ca);
	EVP_PKEY_free(k.key);
	EVP_PKEY_free(k.rsa);
	EVP_PKEY_free(k.ca_key);
	return check_done();
}
