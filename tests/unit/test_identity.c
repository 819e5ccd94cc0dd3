/* test_identity.c - keys, self-signed certificates, fingerprints, identities.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "identity.h"

int
main(void)
{
	struct cf_error err;
	struct cf_certfacts f;
	EVP_PKEY *k, *k2 = NULL;
	X509 *x, *x2 = NULL;
	char fp[CF_FP_LEN + 1], fp2[CF_FP_LEN + 1], kf[512], cf[512];
	struct stat st;
	int created = 0;

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
	CHECK((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) != 0,
	    "identity: a server certificate has serverAuth");
	cf_certfacts_clear(&f);
	CHECK(cf_selfsigned_new(k, "CN=x,=broken", NULL, 30, 0, &err) == NULL &&
		  err.code == CF_E_USAGE,
	    "identity: a malformed subject is refused");

	cf_cert_fingerprint(x, fp);
	CHECK(strlen(fp) == CF_FP_LEN && strncmp(fp, "SHA256:", 7) == 0,
	    "identity: fingerprint is SHA256: and 64 hex digits");
	{
		char colons[200] = "", *p = colons;
		int i;
		for (i = 0; i < 64; i += 2)
			p += sprintf(p, "%s%c%c", i ? ":" : "",
			    fp[7 + i] | 0x20, fp[8 + i] | 0x20);
		CHECK(cf_fingerprint_parse(colons, fp2, &err) == 0 &&
			  strcmp(fp, fp2) == 0,
		    "identity: a lower-case, colon-separated fingerprint "
		    "normalises");
	}
	CHECK(cf_fingerprint_parse("SHA256:ABCD", fp2, &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "identity: a short fingerprint is refused");
	CHECK(cf_fingerprint_parse("zz", fp2, &err) == -1,
	    "identity: a non-hex fingerprint is refused");

	snprintf(kf, sizeof(kf), "%s/id.key", check_tmpdir());
	snprintf(cf, sizeof(cf), "%s/id.crt", check_tmpdir());
	X509_free(x);
	EVP_PKEY_free(k);
	CHECK(cf_identity_load(kf, cf, "certfleet admin test", 1, &k, &x,
		  &created, &err) == 0 &&
		  created,
	    "identity: created on first use");
	CHECK(stat(kf, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "identity: the key file is 0600");
	CHECK((X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0,
	    "identity: a client identity has clientAuth");
	cf_cert_fingerprint(x, fp);
	CHECK(cf_identity_load(
		  kf, cf, "ignored", 1, &k2, &x2, &created, &err) == 0 &&
		  !created,
	    "identity: loaded, not made again");
	cf_cert_fingerprint(x2, fp2);
	CHECK(strcmp(fp, fp2) == 0, "identity: the same identity reloads");
	EVP_PKEY_free(k2);
	X509_free(x2);
	chmod(kf, 0644);
	CHECK(
	    cf_identity_load(kf, cf, "x", 1, &k2, &x2, &created, &err) == -1 &&
		err.code == CF_E_DENIED,
	    "identity: a key file others can read is refused");
	EVP_PKEY_free(k);
	X509_free(x);
	return check_done();
}
