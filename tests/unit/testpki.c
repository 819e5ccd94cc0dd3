/* testpki.c - see testpki.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "testpki.h"

EVP_PKEY *
tp_key(int bits)
{
	if (bits == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext != NULL) {
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
	}
}

X509 *
tp_cert(const char *cn, const char *dns, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int from_days, int to_days, int ca)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example Ltd", -1, -1, 0);
	X509_NAME_add_entry_by_txt(
	    name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), (long)from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)to_days * 86400);
	X509_set_pubkey(x, key);
	if (ca)
		add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		    "critical,CA:TRUE");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (dns != NULL) {
		char *san = malloc(strlen(dns) * 5 + 8), *p;
		const char *d = dns;
		strcpy(san, "DNS:");
		p = san + 4;
		for (; *d; d++) {
			if (*d == ',') {
				strcpy(p, ",DNS:");
				p += 5;
			} else
				*p++ = *d;
		}
		*p = '\0';
		add_ext(x, issuer ? issuer : x, NID_subject_alt_name, san);
		free(san);
	}
	X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
	return x;
}

char *
tp_pem(X509 *const *certs, int ncerts, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;
	int i;

	for (i = 0; i < ncerts; i++)
		PEM_write_bio_X509(bio, certs[i]);
	if (key != NULL)
		PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	s = malloc((size_t)n + 1);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	return s;
}
