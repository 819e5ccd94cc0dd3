/* identity.c - keys and self-signed certificates made here: see identity.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "identity.h"
#include "util.h"

static const struct {
	const char *name;
	const char *type; /* EVP_PKEY_Q_keygen type */
	int bits;         /* RSA size */
	const char *curve;
} kinds[] = {
    {"rsa2048", "RSA", 2048, NULL},
    {"rsa3072", "RSA", 3072, NULL},
    {"rsa4096", "RSA", 4096, NULL},
    {"p256", "EC", 0, "P-256"},
    {"p384", "EC", 0, "P-384"},
};

EVP_PKEY *
cf_key_generate(const char *kind, struct cf_error *err)
{
	EVP_PKEY *key = NULL;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!cf_strieq(kind, kinds[i].name))
			continue;
		if (kinds[i].curve != NULL)
			key =
			    EVP_PKEY_Q_keygen(NULL, NULL, "EC", kinds[i].curve);
		else
			key = EVP_PKEY_Q_keygen(
			    NULL, NULL, "RSA", (size_t)kinds[i].bits);
		if (key == NULL)
			cf_errorf_ossl(err, CF_E_CRYPTO,
			    "%s: key generation failed", kind);
		return key;
	}
	cf_errorf(err, CF_E_USAGE,
	    "%s: unknown key type; the types are rsa2048, rsa3072, rsa4096, "
	    "p256 and p384",
	    kind);
	return NULL;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* "DNS:a,DNS:b" from "a,b". */
static char *
san_new(const char *domains)
{
	char *out = xstrdup(""), *copy = xstrdup(domains), *d, *save = NULL;

	for (d = strtok_r(copy, ", ", &save); d != NULL;
	     d = strtok_r(NULL, ", ", &save)) {
		char *next = xasprintf("%s%sDNS:%s", out, out[0] ? "," : "", d);
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

X509 *
cf_selfsigned_new(EVP_PKEY *key, const char *subject, const char *domains,
    int days, int client, struct cf_error *err)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char *san = NULL, *names = NULL;
	int ok = 0;

	if (x == NULL || cf_names_check(domains, &names, err) == -1 ||
	    (name = cf_dn_parse(subject, err)) == NULL)
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto crypto;
	serial[0] &= 0x7f; /* positive */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) || !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_set_pubkey(x, key) ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage,
		EVP_PKEY_is_a(key, "RSA")
		    ? "critical,digitalSignature,keyEncipherment"
		    : "critical,digitalSignature") ||
	    !add_ext(
		x, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") ||
	    !add_ext(x, NID_subject_key_identifier, "hash"))
		goto crypto;
	if (names[0] != '\0') {
		san = san_new(names);
		if (!add_ext(x, NID_subject_alt_name, san)) {
			cf_errorf_ossl(
			    err, CF_E_USAGE, "%s: not DNS names", names);
			goto out;
		}
	}
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto crypto;
	ok = 1;
	goto out;
crypto:
	cf_errorf_ossl(
	    err, CF_E_CRYPTO, "%s: cannot make the certificate", subject);
out:
	free(names);
	free(san);
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

void
cf_cert_fingerprint(X509 *cert, char out[CF_FP_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	memcpy(out, "SHA256:", 7);
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32) {
		memset(out + 7, '0', 64);
		out[CF_FP_LEN] = '\0';
		ERR_clear_error();
		return;
	}
	cf_hex_upper(md, 32, out + 7);
}

int
cf_fingerprint_parse(
    const char *s, char out[CF_FP_LEN + 1], struct cf_error *err)
{
	const char *p = s;
	size_t n = 0;

	if (strncasecmp(p, "SHA256:", 7) == 0)
		p += 7;
	memcpy(out, "SHA256:", 7);
	for (; *p != '\0'; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return cf_errorf(err, CF_E_USAGE,
			    "%s: not a SHA-256 fingerprint (64 hex digits)", s);
		out[7 + n++] = (char)toupper((unsigned char)*p);
	}
	if (n != 64)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: not a SHA-256 fingerprint (64 hex digits)", s);
	out[CF_FP_LEN] = '\0';
	return 0;
}

static int
load_pair(const char *keyfile, const char *certfile, EVP_PKEY **key,
    X509 **cert, struct cf_error *err)
{
	struct stat st;
	FILE *f;

	if (stat(keyfile, &st) == -1)
		return cf_errorf(
		    err, CF_E_IO, "%s: %s", keyfile, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return cf_errorf(err, CF_E_DENIED,
		    "%s: private key readable by group or others (mode %03o); "
		    "fix with chmod 600",
		    keyfile, (unsigned)(st.st_mode & 0777));
	if ((f = fopen(keyfile, "r")) == NULL)
		return cf_errorf(
		    err, CF_E_IO, "%s: %s", keyfile, strerror(errno));
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (*key == NULL)
		return cf_errorf_ossl(
		    err, CF_E_PARSE, "%s: not a private key", keyfile);
	if ((f = fopen(certfile, "r")) == NULL)
		return cf_errorf(
		    err, CF_E_IO, "%s: %s", certfile, strerror(errno));
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*cert == NULL)
		return cf_errorf_ossl(
		    err, CF_E_PARSE, "%s: not a certificate", certfile);
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		return cf_errorf(err, CF_E_MISMATCH,
		    "%s and %s do not belong together", keyfile, certfile);
	}
	return 0;
}

/* Writes PEM text made by fn into path with mode, atomically. */
static int
write_pem(const char *path, unsigned mode, EVP_PKEY *key, X509 *cert,
    struct cf_error *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long n;
	int rc;

	if (bio == NULL)
		abort();
	if (key != NULL
		? !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
		: !PEM_write_bio_X509(bio, cert)) {
		BIO_free(bio);
		return cf_errorf_ossl(
		    err, CF_E_CRYPTO, "%s: cannot encode", path);
	}
	n = BIO_get_mem_data(bio, &data);
	rc = cf_write_file_atomic(path, data, (size_t)n, mode, err);
	BIO_free(bio);
	return rc;
}

int
cf_identity_load(const char *keyfile, const char *certfile, const char *cn,
    int client, EVP_PKEY **key, X509 **cert, int *created, struct cf_error *err)
{
	*key = NULL;
	*cert = NULL;
	*created = 0;
	if (access(keyfile, F_OK) == 0 || access(certfile, F_OK) == 0) {
		if (load_pair(keyfile, certfile, key, cert, err) == 0)
			return 0;
		goto fail;
	}
	if ((*key = cf_key_generate("p256", err)) == NULL ||
	    (*cert = cf_selfsigned_new(*key, cn, NULL, 3650, client, err)) ==
		NULL ||
	    write_pem(keyfile, 0600, *key, NULL, err) == -1 ||
	    write_pem(certfile, 0644, NULL, *cert, err) == -1) {
		unlink(keyfile);
		goto fail;
	}
	*created = 1;
	return 0;
fail:
	EVP_PKEY_free(*key);
	X509_free(*cert);
	*key = NULL;
	*cert = NULL;
	return -1;
}
