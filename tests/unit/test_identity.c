/* test_identity.c - keys, self-signed certificates, fingerprints, identities.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "identity.h"

/* Keys of the named types, and self-signed certificates as asked. */
static void
test_selfsigned(void)
{
	struct cf_error err;
	struct cf_certfacts f;
	EVP_PKEY *k;
	X509 *x;

	memset(&f, 0, sizeof(f));
	k = cf_key_generate("p384", &err);
	CHECK(k != NULL && EVP_PKEY_get_bits(k) == 384, "identity: p384 key");
	CHECK(cf_key_generate("rsa1024", &err) == NULL &&
		  err.code == CF_E_USAGE && strstr(err.msg, "rsa2048") != NULL,
	    "identity: an unknown key type names the valid ones");

	x = cf_selfsigned_new(k, "CN=mail.example.com,O=Example Ltd",
	    "mail.example.com,mail", 30, 0, &err);
	CHECK(x != NULL && cf_certfacts_read(x, &f, &err) == 0 &&
		  strcmp(f.subject, "CN=mail.example.com,O=Example Ltd") == 0 &&
		  strcmp(f.domains, "mail.example.com,mail") == 0 &&
		  f.self_signed && strcmp(f.key_type, "EC-P384") == 0,
	    "identity: a self-signed certificate reads back as asked");
	CHECK(
	    x != NULL && (X509_get_extended_key_usage(x) & XKU_SSL_SERVER) != 0,
	    "identity: a server certificate has serverAuth");
	cf_certfacts_clear(&f);
	CHECK(cf_selfsigned_new(k, "CN=x,=broken", NULL, 30, 0, &err) == NULL &&
		  err.code == CF_E_USAGE,
	    "identity: a malformed subject is refused");
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Fingerprints print one way and parse from the usual spellings. */
static void
test_fingerprint(void)
{
	struct cf_error err;
	char fp[CF_FP_LEN + 1], fp2[CF_FP_LEN + 1];
	char colons[200] = "", *p = colons;
	EVP_PKEY *k = cf_key_generate("p256", &err);
	X509 *x = k == NULL ? NULL
			    : cf_selfsigned_new(
				  k, "CN=fp.example.com", NULL, 30, 0, &err);
	int i;

	if (x == NULL) {
		CHECK(0, "identity: a certificate to fingerprint");
		goto out;
	}
	cf_cert_fingerprint(x, fp);
	CHECK(strlen(fp) == CF_FP_LEN && strncmp(fp, "SHA256:", 7) == 0,
	    "identity: fingerprint is SHA256: and 64 hex digits");
	for (i = 0; i < 64; i += 2)
		p += sprintf(p, "%s%c%c", i ? ":" : "", fp[7 + i] | 0x20,
		    fp[8 + i] | 0x20);
	CHECK(cf_fingerprint_parse(colons, fp2, &err) == 0 &&
		  strcmp(fp, fp2) == 0,
	    "identity: a lower-case, colon-separated fingerprint "
	    "normalises");
	CHECK(cf_fingerprint_parse("SHA256:ABCD", fp2, &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "identity: a short fingerprint is refused");
	CHECK(cf_fingerprint_parse("zz", fp2, &err) == -1,
	    "identity: a non-hex fingerprint is refused");
out:
	X509_free(x);
	EVP_PKEY_free(k);
}

/* An identity is made once, kept 0600, reloaded, and refused when
 * others can read its key. */
static void
test_files(void)
{
	struct cf_error err;
	EVP_PKEY *k = NULL, *k2 = NULL;
	X509 *x = NULL, *x2 = NULL;
	char fp[CF_FP_LEN + 1] = "", fp2[CF_FP_LEN + 1] = "", kf[512], cf[512];
	struct stat st;
	int created = 0;

	snprintf(kf, sizeof(kf), "%s/id.key", check_tmpdir());
	snprintf(cf, sizeof(cf), "%s/id.crt", check_tmpdir());
	CHECK(cf_identity_load(kf, cf, "certfleet admin test", 1, &k, &x,
		  &created, &err) == 0 &&
		  created,
	    "identity: created on first use");
	CHECK(stat(kf, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "identity: the key file is 0600");
	CHECK(
	    x != NULL && (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0,
	    "identity: a client identity has clientAuth");
	if (x != NULL)
		cf_cert_fingerprint(x, fp);
	CHECK(cf_identity_load(
		  kf, cf, "ignored", 1, &k2, &x2, &created, &err) == 0 &&
		  !created,
	    "identity: loaded, not made again");
	if (x2 != NULL)
		cf_cert_fingerprint(x2, fp2);
	CHECK(fp[0] != '\0' && strcmp(fp, fp2) == 0,
	    "identity: the same identity reloads");
	EVP_PKEY_free(k2);
	X509_free(x2);
	k2 = NULL;
	x2 = NULL;
	chmod(kf, 0644);
	CHECK(
	    cf_identity_load(kf, cf, "x", 1, &k2, &x2, &created, &err) == -1 &&
		err.code == CF_E_DENIED,
	    "identity: a key file others can read is refused");
	EVP_PKEY_free(k2);
	X509_free(x2);
	EVP_PKEY_free(k);
	X509_free(x);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("selfsigned"))
		test_selfsigned();
	if (check_test("fingerprint"))
		test_fingerprint();
	if (check_test("files"))
		test_files();
	return check_done();
}
