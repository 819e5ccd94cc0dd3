/* bundle.c - parsing any input format into certificates and keys. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "bundle.h"
#include "pkcs12.h"
#include "util.h"

struct cf_bundle *
cf_bundle_new(void)
{
	struct cf_bundle *b = xcalloc(1, sizeof(*b));

	if ((b->certs = sk_X509_new_null()) == NULL)
		abort();
	return b;
}

void
cf_bundle_free(struct cf_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	sk_X509_pop_free(
	    b->certs, X509_free); /* OSSL_STACK_OF_X509_free is 3.2+ */
	for (i = 0; i < b->nkeys; i++)
		EVP_PKEY_free(b->keys[i]);
	free(b->keys);
	free(b);
}

int
cf_bundle_add_cert(struct cf_bundle *b, X509 *cert, struct cf_error *err)
{
	if (sk_X509_num(b->certs) >= CF_MAX_CERTS) {
		X509_free(cert);
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d certificates in one file", CF_MAX_CERTS);
	}
	if (!sk_X509_push(b->certs, cert))
		abort();
	return 0;
}

int
cf_bundle_add_key(struct cf_bundle *b, EVP_PKEY *key, struct cf_error *err)
{
	if (b->nkeys >= CF_MAX_KEYS) {
		EVP_PKEY_free(key);
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d private keys in one file", CF_MAX_KEYS);
	}
	b->keys = xrealloc(b->keys, (b->nkeys + 1) * sizeof(*b->keys));
	b->keys[b->nkeys++] = key;
	return 0;
}

/* ---- cf_bundle_parse: format detection -------------------------------- */

#define MAX_PEM_BLOCKS 1024 /* certificates, keys and anything skipped */

int
cf_bundle_move(const char *name, struct cf_bundle *src, struct cf_bundle *dst,
    struct cf_error *err)
{
	size_t i;

	if (sk_X509_num(dst->certs) + sk_X509_num(src->certs) > CF_MAX_CERTS)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: more than %d certificates in one file", name,
		    CF_MAX_CERTS);
	if (dst->nkeys + src->nkeys > CF_MAX_KEYS)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: more than %d private keys in one file", name,
		    CF_MAX_KEYS);
	while (sk_X509_num(src->certs) > 0)
		if (cf_bundle_add_cert(dst, sk_X509_shift(src->certs), err))
			abort(); /* checked above */
	for (i = 0; i < src->nkeys; i++)
		if (cf_bundle_add_key(dst, src->keys[i], err))
			abort();
	src->nkeys = 0;
	dst->was_pkcs12 |= src->was_pkcs12;
	return 0;
}

static int
add_cert(
    const char *name, struct cf_bundle *b, X509 *cert, struct cf_error *err)
{
	if (cf_bundle_add_cert(b, cert, err) == -1)
		return cf_error_prefix(err, "%s: ", name);
	return 0;
}

static int
add_key(
    const char *name, struct cf_bundle *b, EVP_PKEY *key, struct cf_error *err)
{
	if (cf_bundle_add_key(b, key, err) == -1)
		return cf_error_prefix(err, "%s: ", name);
	return 0;
}

/*
 * The certificates of a PKCS#7 (a .p7b chain).  Only signedData carries
 * certificates; a signedData without any is reported as such.
 */
static int
add_pkcs7(const char *name, const unsigned char *der, long len,
    struct cf_bundle *b, struct cf_error *err)
{
	const unsigned char *p = der;
	PKCS7 *p7;
	STACK_OF(X509) *certs = NULL;
	int i, rc = -1;

	if ((p7 = d2i_PKCS7(NULL, &p, len)) == NULL)
		return cf_errorf_ossl(
		    err, CF_E_PARSE, "%s: malformed PKCS#7 data", name);
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	if (sk_X509_num(certs) <= 0) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: the PKCS#7 data holds no certificates", name);
		goto out;
	}
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (!X509_up_ref(x))
			abort();
		if (add_cert(name, b, x, err) == -1)
			goto out;
	}
	rc = 0;
out:
	PKCS7_free(p7);
	return rc;
}

/*
 * A PKCS#8 PrivateKeyInfo, or a traditional RSA/EC/DSA key when type is
 * set.  An algorithm no provider knows (GOST) is CF_E_UNSUPPORTED.
 */
static int
add_plain_key(const char *name, int type, const unsigned char *der, long len,
    struct cf_bundle *b, struct cf_error *err)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const ASN1_OBJECT *obj = NULL;
	EVP_KEYMGMT *km = NULL;
	EVP_PKEY *key = NULL;
	char nm[128], num[128];

	if (type != EVP_PKEY_NONE)
		key = d2i_PrivateKey_ex(type, NULL, &p, len, NULL, NULL);
	else if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len)) != NULL)
		key = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
	ERR_clear_error();
	if (key == NULL && p8 != NULL &&
	    PKCS8_pkey_get0(&obj, NULL, NULL, NULL, p8) && obj != NULL &&
	    OBJ_obj2txt(num, sizeof(num), obj, 1) > 0 &&
	    (km = EVP_KEYMGMT_fetch(NULL, num, NULL)) == NULL) {
		ERR_clear_error();
		if (OBJ_obj2txt(nm, sizeof(nm), obj, 0) <= 0)
			snprintf(nm, sizeof(nm), "(unknown)");
		PKCS8_PRIV_KEY_INFO_free(p8);
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported private key algorithm %s (%s)", name, nm,
		    num);
	}
	EVP_KEYMGMT_free(km);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (key == NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: malformed private key", name);
	return add_key(name, b, key, err);
}

/* PEM_do_header's password callback; u is the password. */
static int
pem_password(char *buf, int size, int rwflag, void *u)
{
	size_t n = strlen(u);

	(void)rwflag;
	if (n > (size_t)size)
		return -1;
	memcpy(buf, u, n);
	return (int)n;
}

/* A traditional key ("RSA PRIVATE KEY"), maybe with Proc-Type ENCRYPTED. */
static int
add_traditional_key(const char *name, int type, const char *header,
    unsigned char *body, long len, const char *password, struct cf_bundle *b,
    struct cf_error *err)
{
	EVP_CIPHER_INFO ci;

	if (!PEM_get_EVP_CIPHER_INFO((char *)header, &ci))
		return cf_errorf_ossl(err, CF_E_UNSUPPORTED,
		    "%s: cannot read the encryption of the private key", name);
	if (ci.cipher != NULL) {
		if (password == NULL || password[0] == '\0')
			return cf_errorf(err, CF_E_PASSWORD,
			    "%s: the private key is encrypted: a password is "
			    "needed",
			    name);
		if (!PEM_do_header(
			&ci, body, &len, pem_password, (void *)password)) {
			ERR_clear_error();
			return cf_errorf(err, CF_E_PASSWORD,
			    "%s: cannot decrypt the private key (wrong "
			    "password?)",
			    name);
		}
	}
	return add_plain_key(name, type, body, len, b, err);
}

/* One PEM block, dispatched by its name; unknown names are skipped. */
static int
pem_block(const char *name, const char *type, const char *header,
    unsigned char *body, long len, const char *password, struct cf_bundle *b,
    struct cf_error *err)
{
	const unsigned char *p = body;
	EVP_PKEY *key = NULL;
	X509 *x;

	if (strcmp(type, PEM_STRING_X509) == 0 ||
	    strcmp(type, PEM_STRING_X509_OLD) == 0) {
		if ((x = d2i_X509(NULL, &p, len)) == NULL)
			return cf_errorf_ossl(
			    err, CF_E_PARSE, "%s: malformed certificate", name);
		return add_cert(name, b, x, err);
	}
	if (strcmp(type, PEM_STRING_PKCS7) == 0 ||
	    strcmp(type, PEM_STRING_PKCS7_SIGNED) == 0)
		return add_pkcs7(name, body, len, b, err);
	if (strcmp(type, PEM_STRING_PKCS8INF) == 0)
		return add_plain_key(name, EVP_PKEY_NONE, body, len, b, err);
	if (strcmp(type, PEM_STRING_RSA) == 0)
		return add_traditional_key(
		    name, EVP_PKEY_RSA, header, body, len, password, b, err);
	if (strcmp(type, PEM_STRING_ECPRIVATEKEY) == 0)
		return add_traditional_key(
		    name, EVP_PKEY_EC, header, body, len, password, b, err);
	if (strcmp(type, PEM_STRING_DSA) == 0)
		return add_traditional_key(
		    name, EVP_PKEY_DSA, header, body, len, password, b, err);
	if (strcmp(type, PEM_STRING_PKCS8) == 0) {
		if (cf_pkcs12_decrypt_pkcs8(
			name, body, (size_t)len, password, &key, err) == -1)
			return -1;
		return add_key(name, b, key, err);
	}
	return 0;
}

/*
 * PEM blocks that are not what an import wants, with what to tell the
 * user when the file holds nothing else.
 */
static const struct {
	const char *type, *msg;
} not_wanted[] = {
    {PEM_STRING_X509_REQ, "no certificate, only a certificate signing "
			  "request (CSR): import the certificate the CA "
			  "issued for it"},
    {PEM_STRING_X509_REQ_OLD, "no certificate, only a certificate "
			      "signing request (CSR): import the "
			      "certificate the CA issued for it"},
    {PEM_STRING_PUBLIC, "no certificate or private key, only a public "
			"key"},
    {PEM_STRING_RSA_PUBLIC, "no certificate or private key, only a "
			    "public key"},
    {PEM_STRING_X509_CRL, "no certificate, only a certificate "
			  "revocation list (CRL)"},
    {PEM_STRING_X509_TRUSTED, "no plain certificate, only an OpenSSL "
			      "TRUSTED CERTIFICATE, which is not read: "
			      "convert it with openssl x509 -in FILE -out "
			      "plain.pem"},
};

static const char *
not_wanted_msg(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(not_wanted) / sizeof(not_wanted[0]); i++)
		if (strcmp(type, not_wanted[i].type) == 0)
			return not_wanted[i].msg;
	return NULL;
}

/*
 * PEM text: every block in turn, in any order.  PEM_read_bio_ex skips
 * text between blocks; it failing for any reason but "no more blocks"
 * means a damaged or cut-off block.
 */
static int
parse_pem(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *b, const char **what,
    struct cf_error *err)
{
	BIO *bio;
	int n, rc = -1;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		abort();
	for (n = 0;; n++) {
		char *type = NULL, *header = NULL;
		unsigned char *body = NULL;
		long blen = 0;
		unsigned long e;
		int r;

		ERR_clear_error();
		if (!PEM_read_bio_ex(bio, &type, &header, &body, &blen,
			PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;
			cf_errorf_ossl(err, CF_E_PARSE,
			    "%s: PEM block %d is damaged or cut off", name,
			    n + 1);
			goto out;
		}
		if (n >= MAX_PEM_BLOCKS)
			r = cf_errorf(err, CF_E_LIMIT,
			    "%s: more than %d PEM blocks", name,
			    MAX_PEM_BLOCKS);
		else {
			if (*what == NULL)
				*what = not_wanted_msg(type);
			r = pem_block(
			    name, type, header, body, blen, password, b, err);
		}
		OPENSSL_secure_free(type);
		OPENSSL_secure_free(header);
		OPENSSL_secure_clear_free(body, (size_t)blen);
		if (r == -1)
			goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static int
is_b64_char(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
}

static int
is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * Base64 text of DER (Exchange's default export): only Base64 characters
 * and white space, starting as the Base64 of every DER SEQUENCE does.  Decoded
 * with OpenSSL's EVP_Decode*, which takes the line breaks.  Returns 1 with *out
 * (malloc'd) set, 0 when data is not such text, -1 when it is but does not
 * decode (cut off).
 */
static int
b64_decode(
    const unsigned char *data, size_t len, unsigned char **out, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = NULL;
	unsigned char *buf;
	size_t i, nb64 = 0;
	int n = 0, m = 0, ok;

	*out = NULL;
	for (i = 0; i < len; i++) {
		if (is_b64_char(data[i])) {
			/* 0x30 then a length byte: "M" then one of "A".."I" */
			if ((nb64 == 0 && data[i] != 'M') ||
			    (nb64 == 1 && (data[i] < 'A' || data[i] > 'I')))
				return 0;
			nb64++;
		} else if (!is_space(data[i]))
			return 0;
	}
	if (nb64 < 8 || len > INT_MAX)
		return 0;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		abort();
	buf = xmalloc(len / 4 * 3 + 3);
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, buf, &n, data, (int)len) >= 0 &&
	     EVP_DecodeFinal(ctx, buf + n, &m) == 1 && n + m > 0;
	EVP_ENCODE_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = (size_t)(n + m);
	return 1;
}

static int
no_content(const char *name, struct cf_error *err)
{
	return cf_errorf(err, CF_E_PARSE,
	    "%s: no certificate or private key found (expected PEM, DER, "
	    "PKCS#7 or PKCS#12)",
	    name);
}

/* DER that no parser took: say so if its outer length runs past the end. */
static int
bad_der(const char *name, const unsigned char *data, size_t len,
    struct cf_error *err)
{
	const unsigned char *p = data;
	long plen = 0;
	int tag, xclass, r;

	r = ASN1_get_object(&p, &plen, &tag, &xclass, (long)len);
	ERR_clear_error();
	if (r & 0x80)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: truncated or damaged DER data (not a certificate, "
		    "PKCS#7 or PKCS#12)",
		    name);
	return no_content(name, err);
}

static int
is_java_keystore(const char *name, const unsigned char *data, size_t len,
    struct cf_error *err)
{
	static const unsigned char jks[4] = {0xfe, 0xed, 0xfe, 0xed};
	static const unsigned char jceks[4] = {0xce, 0xce, 0xce, 0xce};

	if (len >= 4 && memcmp(data, jks, 4) == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: a Java KeyStore (JKS), not PKCS#12: convert it with "
		    "keytool -importkeystore -deststoretype pkcs12",
		    name);
	if (len >= 4 && memcmp(data, jceks, 4) == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: a Java JCEKS keystore, not PKCS#12: convert it with "
		    "keytool -importkeystore -deststoretype pkcs12",
		    name);
	return 0;
}

/*
 * DER: PKCS#12, then one or more certificates, then PKCS#7.  Returns 1
 * when one of them took the data, 0 when none did, -1 on error.
 */
static int
parse_der(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *b, struct cf_error *err)
{
	const unsigned char *p = data, *end = data + len;
	PKCS7 *p7;
	X509 *x;

	if (cf_pkcs12_sniff(data, len))
		return cf_pkcs12_parse(name, data, len, password, b, err) == 0
			   ? 1
			   : -1;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		do {
			if (add_cert(name, b, x, err) == -1)
				return -1;
		} while (p < end && *p == 0x30 &&
			 (x = d2i_X509(NULL, &p, (long)(end - p))) != NULL);
		ERR_clear_error();
		return 1;
	}
	p = data;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) != NULL) {
		PKCS7_free(p7);
		return add_pkcs7(name, data, (long)len, b, err) == 0 ? 1 : -1;
	}
	ERR_clear_error();
	return 0;
}

/*
 * Detects the format and parses into b.  decoded is set for the bytes
 * of a Base64 text, which may not be text again.  *what is set to a
 * message when the PEM held a block an import does not want (a CSR).
 */
static int
parse_any(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *b, int decoded, const char **what,
    struct cf_error *err)
{
	unsigned char *bin = NULL;
	size_t binlen = 0;
	int r;

	if (is_java_keystore(name, data, len, err) == -1)
		return -1;
	if (len > 0 && data[0] == 0x30) {
		if ((r = parse_der(name, data, len, password, b, err)) != 0)
			return r == 1 ? 0 : -1;
	}
	if (!decoded && memmem(data, len, "-----BEGIN ", 11) != NULL)
		return parse_pem(name, data, len, password, b, what, err);
	if (!decoded && (r = b64_decode(data, len, &bin, &binlen)) != 0) {
		if (r == -1)
			return cf_errorf(err, CF_E_PARSE,
			    "%s: damaged or cut-off Base64 text", name);
		r = parse_any(name, bin, binlen, password, b, 1, what, err);
		free(bin);
		return r;
	}
	if (len > 0 && data[0] == 0x30)
		return bad_der(name, data, len, err);
	return no_content(name, err);
}

/*
 * Windows PowerShell 5's Out-File writes UTF-16LE with a byte-order
 * mark; Base64 or PEM saved that way is ASCII once the zero bytes go.
 * Returns 1 with *out (malloc'd) set, 0 when data is not such text.
 */
static int
from_utf16le(
    const unsigned char *data, size_t len, unsigned char **out, size_t *outlen)
{
	size_t i;

	if (len < 4 || data[0] != 0xff || data[1] != 0xfe || len % 2 != 0)
		return 0;
	for (i = 2; i < len; i += 2)
		if (data[i + 1] != 0 || data[i] == 0 || data[i] >= 0x80)
			return 0;
	*out = xmalloc(len / 2);
	for (i = 2; i < len; i += 2)
		(*out)[i / 2 - 1] = data[i];
	*outlen = len / 2 - 1;
	return 1;
}

/* Set once before any thread starts; read-only afterwards. */
static int (*outside_parser)(const char *, const unsigned char *, size_t,
    const char *, struct cf_bundle *, struct cf_error *);

void
cf_bundle_set_parser(
    int (*parse)(const char *name, const unsigned char *data, size_t len,
	const char *password, struct cf_bundle *out, struct cf_error *err))
{
	outside_parser = parse;
}

int
cf_bundle_parse(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err)
{
	struct cf_bundle *tmp = NULL;
	struct cf_error dummy;
	unsigned char *text = NULL;
	const char *what = NULL;
	int rc = -1;

	if (outside_parser != NULL)
		return outside_parser(name, data, len, password, out, err);
	if (err == NULL)
		err = &dummy; /* the helpers read the message back */
	if (len > CF_MAX_INPUT_BYTES)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: larger than %u bytes; not a certificate file", name,
		    CF_MAX_INPUT_BYTES);
	if (data == NULL || len == 0)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: the file is empty", name);
	ERR_clear_error();
	if (from_utf16le(data, len, &text, &len))
		data = text;
	else if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3; /* UTF-8 byte-order mark */
		len -= 3;
	}
	tmp = cf_bundle_new();
	if (parse_any(name, data, len, password, tmp, 0, &what, err) == -1)
		goto out;
	if (sk_X509_num(tmp->certs) == 0 && tmp->nkeys == 0) {
		if (tmp->was_pkcs12)
			cf_errorf(err, CF_E_PARSE,
			    "%s: the PKCS#12 file holds no certificate and no "
			    "private key",
			    name);
		else if (what != NULL)
			cf_errorf(err, CF_E_PARSE, "%s: %s", name, what);
		else
			no_content(name, err);
		goto out;
	}
	if (cf_bundle_move(name, tmp, out, err) == -1)
		goto out;
	rc = 0;
out:
	cf_bundle_free(tmp);
	free(text);
	ERR_clear_error();
	return rc;
}
