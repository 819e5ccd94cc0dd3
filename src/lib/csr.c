/* csr.c - certificate requests and the names they carry: see csr.h. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "csr.h"
#include "util.h"

#define NAMES_MAX 100 /* DNS names in one list */
#define PARTS_MAX 32  /* attributes in one subject */

/*
 * The attributes a subject may name, with the X.520 upper bounds in
 * characters that OpenSSL enforces (checked here first so the message
 * names the part instead of quoting an ASN.1 error).
 */
static const struct {
	const char *name;
	int nid;
	size_t max;
} dn_attrs[] = {
    {"CN", NID_commonName, 64},
    {"O", NID_organizationName, 64},
    {"OU", NID_organizationalUnitName, 64},
    {"L", NID_localityName, 128},
    {"ST", NID_stateOrProvinceName, 128},
    {"C", NID_countryName, 2},
    {"emailAddress", NID_pkcs9_emailAddress, 128},
    {"DC", NID_domainComponent, 63},
    {"serialNumber", NID_serialNumber, 64},
};

/* s with leading and trailing white space cut off, in place. */
static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* 1 when name is one of the items of the comma-separated list. */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name), len;
	const char *comma;

	for (; *list != '\0'; list += len + (comma ? 1 : 0)) {
		comma = strchr(list, ',');
		len = comma ? (size_t)(comma - list) : strlen(list);
		if (len == n && memcmp(list, name, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Checks one DNS name, trimmed and lower-cased, against the rules of
 * csr.h; shown is the name as typed, for the message.  err may be NULL
 * (cf_errorf accepts it) when only the verdict matters.
 */
static int
name_check(const char *name, const char *shown, struct cf_error *err)
{
	size_t n = strlen(name), len;
	const char *label, *end, *why = NULL;
	int star;

	if (n > 255)
		return cf_errorf(err, CF_E_USAGE,
		    "%.40s...: longer than 255 characters", shown);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.*") != n)
		why = "a DNS name has only letters, digits, hyphens and dots";
	for (label = name; why == NULL; label = end + 1) {
		end = label + strcspn(label, ".");
		len = (size_t)(end - label);
		star = memchr(label, '*', len) != NULL;
		if (len == 0)
			why = "empty label";
		else if (star && label != name)
			why = "only the first label may be the wildcard *";
		else if (star && len != 1)
			why = "a wildcard label is * alone (*.example.com)";
		else if (star && *end == '\0')
			why = "a wildcard needs a domain after it "
			      "(*.example.com)";
		else if (len > 63)
			return cf_errorf(err, CF_E_USAGE,
			    "label longer than 63 characters in %s", shown);
		else if (label[0] == '-' || end[-1] == '-')
			why = "a label may not start or end with a hyphen";
		else if (*end == '\0')
			return 0;
	}
	return cf_errorf(err, CF_E_USAGE, "%s: %s", shown, why);
}

/* s lower-cased (ASCII), as a new string. */
static char *
lower_new(const char *s)
{
	char *low = xstrdup(s), *p;

	for (p = low; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return low;
}

int
cf_names_check(const char *list, char **out, struct cf_error *err)
{
	char *copy = xstrdup(list ? list : ""), *res = xstrdup(""), *low = NULL;
	char *item, *save = NULL, *next;
	int n = 0, rc = -1;

	*out = NULL;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (*(item = trim(item)) == '\0')
			continue; /* "a,,b" and "a, " are typing slips */
		free(low);
		low = lower_new(item);
		if (name_check(low, item, err) == -1)
			goto out;
		if (list_has(res, low))
			continue;
		if (++n > NAMES_MAX) {
			cf_errorf(err, CF_E_LIMIT,
			    "more than %d DNS names in one request", NAMES_MAX);
			goto out;
		}
		next = xasprintf("%s%s%s", res, res[0] ? "," : "", low);
		free(res);
		res = next;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	free(low);
	free(res);
	free(copy);
	return rc;
}

/* CF_E_USAGE naming the part raw/n (shortened when long) and why. */
static int
part_fail(struct cf_error *err, const char *raw, size_t n, const char *why)
{
	return cf_errorf(err, CF_E_USAGE, "%.*s%s: %s", n > 60 ? 60 : (int)n,
	    raw, n > 60 ? "..." : "", why);
}

/* Characters, not bytes, of the UTF-8 string s: what X.520 bounds count. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/*
 * Adds attribute attr = value (both trimmed here) to name as a new RDN in
 * front: RFC 4514 writes the most specific RDN first, X.509 stores it
 * last.  raw/n is the part as typed, for messages.
 */
static int
rdn_add(X509_NAME *name, char *attr, char *value, const char *raw, size_t n,
    struct cf_error *err)
{
	char why[200];
	size_t i, k = sizeof(dn_attrs) / sizeof(dn_attrs[0]);

	attr = trim(attr);
	value = trim(value);
	for (i = 0; i < k && !cf_strieq(attr, dn_attrs[i].name); i++)
		;
	if (attr[0] == '\0')
		return part_fail(err, raw, n, "no attribute before '='");
	if (i == k)
		return part_fail(err, raw, n,
		    "unknown attribute; the attributes are CN, O, OU, L, ST, "
		    "C, emailAddress, DC and serialNumber");
	if (value[0] == '\0')
		return part_fail(err, raw, n, "empty value");
	if (dn_attrs[i].nid == NID_countryName &&
	    (!isalpha((unsigned char)value[0]) ||
		!isalpha((unsigned char)value[1]) || value[2] != '\0'))
		return part_fail(
		    err, raw, n, "a country is 2 letters (C=GB, C=US)");
	if (utf8_chars(value) > dn_attrs[i].max) {
		snprintf(why, sizeof(why), "%s longer than %zu characters",
		    dn_attrs[i].name, dn_attrs[i].max);
		return part_fail(err, raw, n, why);
	}
	if (!X509_NAME_add_entry_by_NID(name, dn_attrs[i].nid, MBSTRING_UTF8,
		(const unsigned char *)value, -1, 0, 0))
		return cf_errorf_ossl(err, CF_E_USAGE,
		    "%.*s: not a valid value", n > 60 ? 60 : (int)n, raw);
	return 0;
}

/*
 * Reads the part of a subject at *p up to the next unescaped comma into
 * buf ("\x" taken as x), the attribute in buf and the value after the
 * first unescaped '=' in *value (NULL when there is none).  Moves *p past
 * the part and sets *more when a comma ended it.  -1 for a '\' at the end.
 */
static int
part_read(const char **p, char *buf, char **value, int *more)
{
	const char *s = *p;
	char *o = buf;
	int esc;

	*value = NULL;
	*more = 0;
	for (; *s != '\0' && *s != ','; s++) {
		esc = *s == '\\';
		if (esc) {
			s++; /* the escaped character, taken as it is */
			if (*s == '\0')
				return -1;
		}
		if (!esc && *s == '=' && *value == NULL) {
			*o++ = '\0';
			*value = o;
		} else
			*o++ = *s;
	}
	*o = '\0';
	*more = *s == ',';
	*p = s + *more;
	return 0;
}

X509_NAME *
cf_dn_parse(const char *subject, struct cf_error *err)
{
	X509_NAME *name = NULL, *ret = NULL;
	const char *p = subject, *start;
	char *buf = NULL, *value;
	int more = 1, parts = 0;
	size_t n;

	if (subject == NULL || subject[strspn(subject, " \t")] == '\0') {
		cf_errorf(err, CF_E_USAGE,
		    "an empty subject; write it as CN=name,O=org");
		goto out;
	}
	if ((name = X509_NAME_new()) == NULL)
		abort();
	buf = xmalloc(strlen(subject) + 4);
	if (strchr(subject, '=') == NULL) { /* a bare common name, as it is */
		memcpy(buf, "CN", 3);
		strcpy(buf + 3, subject);
		if (rdn_add(name, buf, buf + 3, subject, strlen(subject),
			err) == -1)
			goto out;
		more = 0;
	}
	while (more) {
		for (start = p; *start == ' '; start++)
			;
		if (part_read(&p, buf, &value, &more) == -1) {
			cf_errorf(
			    err, CF_E_USAGE, "%s: a '\\' at the end", subject);
			goto out;
		}
		if (++parts > PARTS_MAX) {
			cf_errorf(err, CF_E_LIMIT,
			    "more than %d attributes in a subject", PARTS_MAX);
			goto out;
		}
		for (n = (size_t)(p - start) - (size_t)more;
		     n > 0 && start[n - 1] == ' '; n--)
			;
		if (n == 0) {
			cf_errorf(err, CF_E_USAGE,
			    "%s: an empty part between commas", subject);
			goto out;
		}
		if (value == NULL) {
			part_fail(err, start, n,
			    "not attribute=value (write CN=name,O=org)");
			goto out;
		}
		if (rdn_add(name, buf, value, start, n, err) == -1)
			goto out;
	}
	ret = name;
	name = NULL;
out:
	free(buf);
	X509_NAME_free(name);
	return ret;
}

/* The most specific CN of name as UTF-8 (OPENSSL_free), NULL for none. */
static unsigned char *
cn_of(X509_NAME *name)
{
	unsigned char *cn = NULL;
	int i, last = -1;

	while (
	    (i = X509_NAME_get_index_by_NID(name, NID_commonName, last)) >= 0)
		last = i;
	if (last >= 0 &&
	    ASN1_STRING_to_UTF8(&cn,
		X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last))) < 0)
		cn = NULL;
	ERR_clear_error();
	return cn;
}

/* A CN with white space in it names something ("Example Mail
 * Gateway"); any other is meant as a host name. */
static int
cn_is_label(const char *cn)
{
	return strpbrk(cn, " \t") != NULL;
}

/*
 * The CN of name, lower-cased, as a DNS name for the SANs into *dns (new;
 * NULL when there is no CN or it is a label): a CN that is meant as a
 * host name is checked as --domains are, so a typo is refused instead of
 * silently left out of the names.
 */
static int
cn_dns(X509_NAME *name, char **dns, struct cf_error *err)
{
	unsigned char *cn = cn_of(name);
	struct cf_error why;
	char *low = NULL;
	int rc = -1;

	*dns = NULL;
	if (cn == NULL || cn_is_label((char *)cn)) {
		rc = 0;
		goto out;
	}
	low = lower_new((char *)cn);
	cf_error_clear(&why);
	if (name_check(low, (char *)cn, &why) == -1) {
		cf_errorf(err, CF_E_USAGE,
		    "the CN %s (a CN without spaces is a host name, checked "
		    "as --domains are)",
		    why.msg);
		goto out;
	}
	*dns = low;
	low = NULL;
	rc = 0;
out:
	free(low);
	OPENSSL_free(cn);
	return rc;
}

int
cf_subject_cn_label(const char *subject, char **label)
{
	X509_NAME *name = cf_dn_parse(subject, NULL);
	unsigned char *cn = name ? cn_of(name) : NULL;

	*label = NULL;
	if (cn != NULL && cn_is_label((char *)cn))
		*label = xstrdup((char *)cn);
	OPENSSL_free(cn);
	X509_NAME_free(name);
	ERR_clear_error();
	return *label != NULL;
}

/*
 * "DNS:cn,DNS:a,..." for the SAN of a request: cn (checked, may be NULL)
 * first when it is not among names (already checked and lower-cased),
 * then names.  "" for none.
 */
static char *
san_new(const char *cn, const char *names)
{
	char *out = xstrdup(""), *copy = xstrdup(names), *next;
	char *d, *save = NULL;

	if (cn != NULL && !list_has(names, cn)) {
		free(out);
		out = xasprintf("DNS:%s", cn);
	}
	for (d = strtok_r(copy, ",", &save); d != NULL;
	     d = strtok_r(NULL, ",", &save)) {
		next = xasprintf("%s%sDNS:%s", out, out[0] ? "," : "", d);
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

/* Appends the extension nid = value (OpenSSL config syntax) to exts. */
static int
ext_push(
    STACK_OF(X509_EXTENSION) * exts, X509_REQ *req, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	if (!sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		return -1;
	}
	return 0;
}

X509_REQ *
cf_csr_new(EVP_PKEY *key, const char *subject, const char *domains,
    struct cf_error *err)
{
	X509_REQ *req = NULL, *ret = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	char *names = NULL, *san = NULL, *cn = NULL;

	if (key == NULL) {
		cf_errorf(err, CF_E_USAGE, "a request needs a key");
		goto out;
	}
	if (cf_names_check(domains, &names, err) == -1 ||
	    (name = cf_dn_parse(subject, err)) == NULL ||
	    cn_dns(name, &cn, err) == -1)
		goto out;
	san = san_new(cn, names);
	if ((req = X509_REQ_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL)
		abort();
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    (san[0] != '\0' &&
		ext_push(exts, req, NID_subject_alt_name, san) == -1) ||
	    ext_push(exts, req, NID_key_usage,
		EVP_PKEY_is_a(key, "RSA")
		    ? "critical,digitalSignature,keyEncipherment"
		    : "critical,digitalSignature") == -1 ||
	    ext_push(exts, req, NID_ext_key_usage, "serverAuth") == -1 ||
	    !X509_REQ_add_extensions(req, exts) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO,
		    "%s: cannot make the certificate request", subject);
		goto out;
	}
	ret = req;
	req = NULL;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	X509_NAME_free(name);
	free(names);
	free(san);
	free(cn);
	return ret;
}

int
cf_csr_encode(X509_REQ *req, int der, unsigned char **out, size_t *len,
    struct cf_error *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (bio == NULL)
		abort();
	if (!(der ? i2d_X509_REQ_bio(bio, req)
		  : PEM_write_bio_X509_REQ(bio, req)) ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0) {
		cf_errorf_ossl(
		    err, CF_E_CRYPTO, "cannot encode the certificate request");
		goto out;
	}
	*out = xmalloc((size_t)n + 1); /* NUL-terminated: PEM is text */
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* The DNS names of req's subjectAltName, comma-separated; new, "" none. */
static char *
san_dns_new(X509_REQ *req)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens =
	    X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	char *out = xstrdup(""), *next;
	const ASN1_IA5STRING *dns;
	int i;

	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type != GEN_DNS)
			continue;
		dns = gn->d.dNSName;
		/* Names a comma or NUL would split or cut are left out. */
		if (dns->length <= 0 || dns->length > 255 ||
		    memchr(dns->data, '\0', (size_t)dns->length) != NULL ||
		    memchr(dns->data, ',', (size_t)dns->length) != NULL)
			continue;
		next = xasprintf("%s%s%.*s", out, out[0] ? "," : "",
		    dns->length, (const char *)dns->data);
		free(out);
		out = next;
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return out;
}

X509_REQ *
cf_csr_decode(const unsigned char *der, size_t len, char **subject,
    char **domains, struct cf_error *err)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL, *ret = NULL;

	if (subject != NULL)
		*subject = NULL;
	if (domains != NULL)
		*domains = NULL;
	if (der == NULL || len == 0 || len > LONG_MAX ||
	    (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL) {
		cf_errorf_ossl(err, CF_E_PARSE,
		    "not a certificate request (PKCS#10, DER)");
		goto out;
	}
	if (p != der + len) {
		cf_errorf(err, CF_E_PARSE,
		    "%zu bytes after the certificate request",
		    len - (size_t)(p - der));
		goto out;
	}
	if (subject != NULL)
		*subject = cf_name_new(X509_REQ_get_subject_name(req));
	if (domains != NULL)
		*domains = san_dns_new(req);
	ret = req;
	req = NULL;
out:
	X509_REQ_free(req);
	return ret;
}
