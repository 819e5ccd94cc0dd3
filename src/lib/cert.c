/* cert.c - facts read off an X.509 certificate: see cert.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "util.h"

char *
cf_bio_text(BIO *b, size_t *len)
{
	char *p = NULL, *s;
	long n = BIO_get_mem_data(b, &p);

	if (n < 0)
		n = 0;
	s = xmalloc((size_t)n + 1);
	if (n > 0)
		memcpy(s, p, (size_t)n);
	s[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

char *
cf_name_new(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s;

	if (bio == NULL)
		abort();
	/* RFC 2253/4514 order (most significant last reversed) without escapes
	 * of UTF-8 so names read as people wrote them. */
	X509_NAME_print_ex(
	    bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	s = cf_bio_text(bio, NULL);
	BIO_free(bio);
	return s;
}

void
cf_cert_thumbprint(X509 *cert, char out[CF_THUMB_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(cert, EVP_sha1(), md, &n) != 1 || n != 20) {
		memset(out, '0', CF_THUMB_LEN);
		out[CF_THUMB_LEN] = '\0';
		ERR_clear_error();
		return;
	}
	cf_hex_upper(md, 20, out);
}

int
cf_key_spki(EVP_PKEY *key, char out[65])
{
	unsigned char *der = NULL, md[32];
	int n = i2d_PUBKEY(key, &der);

	out[0] = '\0';
	if (n <= 0) {
		ERR_clear_error();
		return -1;
	}
	if (EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		ERR_clear_error();
		return -1;
	}
	OPENSSL_free(der);
	cf_hex_upper(md, 32, out);
	return 0;
}

/*
 * As cf_key_spki, from the certificate's own encoded SubjectPublicKeyInfo:
 * re-encoding the key through OpenSSL's encoders costs more than the rest
 * of reading a certificate.
 */
static void
cert_spki(X509 *cert, char out[65])
{
	unsigned char *der = NULL, md[32];
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

	out[0] = '\0';
	if (n > 0 &&
	    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) == 1)
		cf_hex_upper(md, 32, out);
	OPENSSL_free(der);
	ERR_clear_error();
}

char *
cf_key_type_new(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(key);

	if (EVP_PKEY_is_a(key, "RSA"))
		return xasprintf("RSA-%d", bits);
	if (EVP_PKEY_is_a(key, "RSA-PSS"))
		return xasprintf("RSA-PSS-%d", bits);
	if (EVP_PKEY_is_a(key, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(key,
			OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			&glen) == 1) {
			if (strcmp(group, "prime256v1") == 0)
				return xstrdup("EC-P256");
			if (strcmp(group, "secp384r1") == 0)
				return xstrdup("EC-P384");
			if (strcmp(group, "secp521r1") == 0)
				return xstrdup("EC-P521");
			return xasprintf("EC-%s", group);
		}
		ERR_clear_error();
		return xasprintf("EC-%d", bits);
	}
	if (EVP_PKEY_is_a(key, "ED25519"))
		return xstrdup("Ed25519");
	if (EVP_PKEY_is_a(key, "ED448"))
		return xstrdup("Ed448");
	if (EVP_PKEY_is_a(key, "DSA"))
		return xasprintf("DSA-%d", bits);
	return xasprintf("%s-%d",
	    EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
					 : "unknown",
	    bits);
}

/* A DNS name as certificates carry them: letters, digits, '-', '.', '*'. */
static int
is_dns_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || strchr(s, '.') == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' &&
		    *s != '*')
			return 0;
	return 1;
}

/* Appends d to the comma-separated list unless it is there already, in
 * any case: DNS names are case-insensitive (RFC 4343). */
static void
add_domain(char **list, const char *d)
{
	char *old = *list;
	const char *p = old;
	size_t n = strlen(d);

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncasecmp(p, d, n) == 0)
			return;
		p += len + (comma ? 1 : 0);
	}
	*list = old[0] ? xasprintf("%s,%s", old, d) : xstrdup(d);
	free(old);
}

/* The CN first when it is a DNS name, then the SAN DNS names, no repeats. */
static char *
domains_new(X509 *cert)
{
	char *list = xstrdup("");
	const X509_NAME *subj = X509_get_subject_name(cert);
	GENERAL_NAMES *sans;
	int i, idx;

	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (idx >= 0) {
		ASN1_STRING *cn =
		    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		unsigned char *utf8 = NULL;
		if (ASN1_STRING_to_UTF8(&utf8, cn) >= 0) {
			if (is_dns_name((char *)utf8))
				add_domain(&list, (char *)utf8);
			OPENSSL_free(utf8);
		}
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *dns;
		char *s;
		if (gn->type != GEN_DNS)
			continue;
		dns = gn->d.dNSName;
		if (dns->length <= 0 || dns->length > 255 ||
		    memchr(dns->data, '\0', (size_t)dns->length) != NULL ||
		    memchr(dns->data, ',', (size_t)dns->length) != NULL)
			continue;
		s = xmalloc((size_t)dns->length + 1);
		memcpy(s, dns->data, (size_t)dns->length);
		s[dns->length] = '\0';
		add_domain(&list, s);
		free(s);
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	return list;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int
cf_cert_issued_by(X509 *cert, X509 *issuer)
{
	EVP_PKEY *pk;
	int ok;

	if (X509_check_issued(issuer, cert) != X509_V_OK)
		return 0;
	if ((pk = X509_get0_pubkey(issuer)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	ok = X509_verify(cert, pk) == 1;
	ERR_clear_error();
	return ok;
}

int
cf_cert_self_signed(X509 *cert)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	int ok;

	/* Names and the signature only: a server's self-signed certificate
	 * rarely has keyCertSign, which X509_check_issued would demand. */
	if (pk == NULL || X509_NAME_cmp(X509_get_subject_name(cert),
			      X509_get_issuer_name(cert)) != 0) {
		ERR_clear_error();
		return 0;
	}
	ok = X509_verify(cert, pk) == 1;
	ERR_clear_error();
	return ok;
}

int
cf_certfacts_read_light(X509 *cert, struct cf_certfacts *f)
{
	memset(f, 0, sizeof(*f));
	cf_cert_thumbprint(cert, f->thumbprint);
	f->subject = cf_name_new(X509_get_subject_name(cert));
	f->issuer = cf_name_new(X509_get_issuer_name(cert));
	f->not_before = asn1_time(X509_get0_notBefore(cert));
	f->not_after = asn1_time(X509_get0_notAfter(cert));
	ERR_clear_error();
	return 0;
}

int
cf_certfacts_read(X509 *cert, struct cf_certfacts *f, struct cf_error *err)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);

	memset(f, 0, sizeof(*f));
	cf_cert_thumbprint(cert, f->thumbprint);
	if (pk == NULL)
		return cf_errorf_ossl(err, CF_E_UNSUPPORTED,
		    "certificate %.8s: public key algorithm not supported",
		    f->thumbprint);
	f->subject = cf_name_new(X509_get_subject_name(cert));
	f->issuer = cf_name_new(X509_get_issuer_name(cert));
	f->serial = xstrdup("");
	if (sn != NULL && sn->length > 0 && sn->length <= 64) {
		free(f->serial);
		f->serial = xmalloc((size_t)sn->length * 2 + 1);
		cf_hex_upper(sn->data, (size_t)sn->length, f->serial);
	}
	f->domains = domains_new(cert);
	f->key_type = cf_key_type_new(pk);
	cert_spki(cert, f->spki);
	f->not_before = asn1_time(X509_get0_notBefore(cert));
	f->not_after = asn1_time(X509_get0_notAfter(cert));
	f->self_signed = cf_cert_self_signed(cert);
	ERR_clear_error();
	return 0;
}

void
cf_certfacts_clear(struct cf_certfacts *f)
{
	if (f == NULL)
		return;
	free(f->subject);
	free(f->issuer);
	free(f->serial);
	free(f->domains);
	free(f->key_type);
	memset(f, 0, sizeof(*f));
}

X509 *
cf_cert_from_der(const unsigned char *der, size_t len, struct cf_error *err)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (x == NULL || p != der + len) {
		X509_free(x);
		cf_errorf_ossl(err, CF_E_PARSE, "not a DER certificate");
		return NULL;
	}
	return x;
}

int
cf_cert_to_der(X509 *cert, unsigned char **der, size_t *len)
{
	unsigned char *p = NULL;
	int n = i2d_X509(cert, &p);

	*der = NULL;
	*len = 0;
	if (n <= 0) {
		ERR_clear_error();
		return -1;
	}
	*der = xmalloc((size_t)n);
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	return 0;
}

int
cf_thumb_prefix_ok(const char *s, char out[CF_THUMB_LEN + 1])
{
	size_t i, n = strlen(s);

	if (n < 8 || n > CF_THUMB_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		out[i] = (char)toupper((unsigned char)s[i]);
	}
	out[n] = '\0';
	return 1;
}
