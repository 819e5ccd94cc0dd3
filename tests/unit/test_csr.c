/* test_csr.c - DNS name lists, subjects, PKCS#10 requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "check.h"
#include "csr.h"
#include "identity.h"

/* cf_names_check's result, or NULL; err as it left it. */
static char *names_out;
static struct cf_error names_err;

static int
names(const char *list)
{
	free(names_out);
	names_out = NULL;
	memset(&names_err, 0, sizeof(names_err));
	return cf_names_check(list, &names_out, &names_err);
}

/* 1 when list is accepted and normalised to want. */
static int
names_ok(const char *list, const char *want)
{
	return names(list) == 0 && names_out != NULL &&
	       strcmp(names_out, want) == 0;
}

/* 1 when list is refused with code and a message holding what. */
static int
names_bad(const char *list, int code, const char *what)
{
	return names(list) == -1 && names_out == NULL &&
	       names_err.code == code && strstr(names_err.msg, what) != NULL;
}

/* n copies of c, NUL-terminated, into buf. */
static char *
rep(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
test_names(void)
{
	char l63[64], l64[65], name[600], list[4000];
	int i;

	CHECK(names_ok(NULL, "") && names_ok("", "") && names_ok(" , ,", ""),
	    "names: none is the empty list");
	CHECK(names_ok(" Mail.Example.COM , www.example.com,mail.example.com",
		  "mail.example.com,www.example.com"),
	    "names: trimmed, lower-cased, duplicates folded in any case");
	CHECK(names_ok("b.example.com,,a.example.com,",
		  "b.example.com,a.example.com"),
	    "names: empty items ignored, first-seen order kept");
	CHECK(names_ok("mail", "mail") &&
		  names_ok("mail-1.ex-ample.com", "mail-1.ex-ample.com"),
	    "names: one label and inner hyphens are fine");
	CHECK(names_bad("ok.example.com,mail_1.example.com", CF_E_USAGE,
		  "mail_1.example.com: a DNS name has only letters, digits, "
		  "hyphens and dots"),
	    "names: an underscore is refused, naming the name");
	CHECK(names_bad("mail example.com", CF_E_USAGE, "only letters"),
	    "names: a space inside a name is refused");
	CHECK(names_ok("*.Example.com", "*.example.com"),
	    "names: a wildcard first label is accepted");
	CHECK(names_bad("*.*.example.com", CF_E_USAGE,
		  "*.*.example.com: only the first label may be the "
		  "wildcard *"),
	    "names: a second wildcard label is refused");
	CHECK(
	    names_bad("www.*.example.com", CF_E_USAGE, "only the first label"),
	    "names: a wildcard in a later label is refused");
	CHECK(names_bad("w*.example.com", CF_E_USAGE, "w*.example.com: "),
	    "names: a partial wildcard label is refused");
	CHECK(names_bad("*", CF_E_USAGE,
		  "*: a wildcard needs a domain after it (*.example.com)"),
	    "names: a bare wildcard is refused");
	CHECK(names_bad("-mail.example.com", CF_E_USAGE,
		  "-mail.example.com: a label may not start or end with a "
		  "hyphen"),
	    "names: a leading hyphen is refused");
	CHECK(names_bad("mail-.example.com", CF_E_USAGE, "start or end"),
	    "names: a trailing hyphen is refused");
	CHECK(names_bad("mail..example.com", CF_E_USAGE,
		  "mail..example.com: empty label"),
	    "names: an empty label is refused");
	CHECK(names_bad(".example.com", CF_E_USAGE, "empty label") &&
		  names_bad("example.com.", CF_E_USAGE, "empty label"),
	    "names: a leading or trailing dot is refused");

	rep(l63, 'a', 63);
	rep(l64, 'a', 64);
	snprintf(name, sizeof(name), "%s.example.com", l63);
	CHECK(names(name) == 0, "names: a 63-character label is accepted");
	snprintf(name, sizeof(name), "%s.example.com", l64);
	CHECK(names_bad(name, CF_E_USAGE, "label longer than 63 characters in"),
	    "names: a 64-character label is refused");
	snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, l63);
	CHECK(strlen(name) == 255 && names(name) == 0,
	    "names: a 255-character name is accepted");
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s.ab", l63, l63, l63, l63);
	CHECK(strlen(name) == 256 &&
		  names_bad(name, CF_E_USAGE, "longer than 255 characters"),
	    "names: a 256-character name is refused");

	list[0] = '\0';
	for (i = 0; i < 100; i++)
		sprintf(list + strlen(list), "h%d.example.com,", i);
	strcat(list, "H0.EXAMPLE.COM,h99.example.com");
	CHECK(names(list) == 0, "names: 100 names (and repeats) are accepted");
	strcat(list, ",h100.example.com");
	CHECK(names_bad(list, CF_E_LIMIT, "100"),
	    "names: the 101st name is CF_E_LIMIT");
	free(names_out);
}

/* X509_NAME_oneline of cf_dn_parse(s), or "" when it failed. */
static int
dn_is(const char *s, const char *want)
{
	struct cf_error err;
	X509_NAME *n = cf_dn_parse(s, &err);
	char buf[512] = "";
	int ok;

	if (n != NULL)
		X509_NAME_oneline(n, buf, sizeof(buf));
	ok = n != NULL && strcmp(buf, want) == 0;
	if (!ok)
		fprintf(
		    stderr, "dn %s: got %s (%s)\n", s, buf, n ? "" : err.msg);
	X509_NAME_free(n);
	return ok;
}

/* 1 when cf_dn_parse(s) fails with CF_E_USAGE and a message with what. */
static int
dn_bad(const char *s, const char *what)
{
	struct cf_error err;
	X509_NAME *n = cf_dn_parse(s, &err);

	if (n != NULL) {
		X509_NAME_free(n);
		return 0;
	}
	return err.code == CF_E_USAGE && strstr(err.msg, what) != NULL;
}

static void
test_dn(void)
{
	char s[200], want[200], l64[65], l65[66];

	CHECK(dn_is("CN=a,O=b", "/O=b/CN=a"),
	    "dn: RFC 4514 order, most specific first");
	CHECK(dn_is(" cn = mail.example.com , o = Example Ltd ,c=GB",
		  "/C=GB/O=Example Ltd/CN=mail.example.com"),
	    "dn: attribute names in any case, spaces trimmed");
	CHECK(dn_is("CN=a,O=Acme\\, Inc.", "/O=Acme, Inc./CN=a"),
	    "dn: \\, escapes a comma");
	CHECK(dn_is("CN=a\\=b", "/CN=a=b"), "dn: \\= escapes an equals sign");
	CHECK(dn_is("Example Mail", "/CN=Example Mail"),
	    "dn: a bare common name");
	CHECK(dn_is("serialNumber=42,DC=example,emailAddress=a@example.com,"
		    "C=GB,ST=Kent,L=Dover,O=Org,OU=Unit,CN=x",
		  "/CN=x/OU=Unit/O=Org/L=Dover/ST=Kent/C=GB/"
		  "emailAddress=a@example.com/DC=example/serialNumber=42"),
	    "dn: every attribute");
	CHECK(dn_bad("CN=a,Foo=b", "Foo=b: unknown attribute"),
	    "dn: an unknown attribute is refused, naming the part");
	CHECK(dn_bad("CN=a,C=GBR", "C=GBR: a country is 2 letters") &&
		  dn_bad("CN=a,C=1A", "2 letters") &&
		  dn_bad("CN=a,C=G", "2 letters"),
	    "dn: a country that is not 2 letters is refused");
	CHECK(dn_bad("CN=a,O=", "O=: empty value") &&
		  dn_bad("CN= ,O=b", "empty value"),
	    "dn: an empty value is refused");
	CHECK(dn_bad("CN=a,Example Ltd", "Example Ltd: not attribute=value"),
	    "dn: a part without '=' is refused");
	CHECK(dn_bad("CN=x,=broken", "=broken: no attribute"),
	    "dn: a part without an attribute is refused");
	CHECK(
	    dn_bad("CN=a,", "empty part") && dn_bad("CN=a,,O=b", "empty part"),
	    "dn: an empty part is refused");
	CHECK(dn_bad("CN=a\\", "at the end"), "dn: a trailing backslash");
	CHECK(dn_bad(NULL, "empty subject") && dn_bad("  ", "empty subject"),
	    "dn: an empty subject is refused");
	rep(l64, 'c', 64);
	rep(l65, 'c', 65);
	snprintf(s, sizeof(s), "CN=%s", l64);
	snprintf(want, sizeof(want), "/CN=%s", l64);
	CHECK(dn_is(s, want), "dn: a 64-character CN is accepted");
	snprintf(s, sizeof(s), "CN=%s,O=b", l65);
	CHECK(dn_bad(s, "CN longer than 64 characters") &&
		  dn_bad(l65, "CN longer than 64"),
	    "dn: a 65-character CN is refused, bare or not");
}

/* The SAN DNS names of req, read here independently, comma-separated. */
static void
req_sans(X509_REQ *req, char *out, size_t size, int *has_san)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens;
	int i;

	out[0] = '\0';
	*has_san = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) >= 0;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type == GEN_DNS)
			snprintf(out + strlen(out), size - strlen(out),
			    "%s%.*s", out[0] ? "," : "", gn->d.dNSName->length,
			    (char *)gn->d.dNSName->data);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* 1 when req asks for keyUsage (critical) ku bits only, and serverAuth. */
static int
req_usage_is(X509_REQ *req, int encipher)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	int crit = 0, ok, i;
	ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL);
	EXTENDED_KEY_USAGE *eku =
	    X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);

	ok = ku != NULL && crit == 1 && ASN1_BIT_STRING_get_bit(ku, 0) &&
	     ASN1_BIT_STRING_get_bit(ku, 2) == encipher &&
	     !ASN1_BIT_STRING_get_bit(ku, 5) && eku != NULL &&
	     sk_ASN1_OBJECT_num(eku) == 1;
	for (i = 0; ok && i < sk_ASN1_OBJECT_num(eku); i++)
		ok = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) ==
		     NID_server_auth;
	ASN1_BIT_STRING_free(ku);
	EXTENDED_KEY_USAGE_free(eku);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok;
}

/*
 * 1 when `openssl req -verify` accepts the request in path: it exits 0
 * and says "verify OK".  OpenSSL 3.0 prints "verify failure" and still
 * exits 0, so the exit status alone proves nothing.
 */
static int
openssl_verifies(const char *path, const char *inform)
{
	char cmd[700], line[256];
	int ok = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	    "openssl req -inform %s -verify -noout -in '%s' 2>&1", inform,
	    path);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL)
		if (strstr(line, "verify OK") != NULL)
			ok = 1;
	return pclose(p) == 0 && ok;
}

static void
write_file(const char *path, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		perror(path);
}

/* One key kind through new, the checks, encode, decode and openssl. */
static void
test_csr_kind(const char *kind)
{
	struct cf_error err;
	EVP_PKEY *k = cf_key_generate(kind, &err);
	int rsa = strcmp(kind, "rsa2048") == 0, has;
	X509_REQ *req, *back = NULL;
	unsigned char *pem = NULL, *der = NULL;
	size_t npem = 0, nder = 0;
	char sans[1000], path[600], name[100], *subj = NULL, *doms = NULL;

	req = cf_csr_new(k, "CN=Mail.Example.com,O=Example Ltd",
	    "autodiscover.example.com, WWW.example.com", &err);
	snprintf(name, sizeof(name), "csr %s: made", kind);
	CHECK(req != NULL, name);
	if (req == NULL) {
		EVP_PKEY_free(k);
		return;
	}
	snprintf(
	    name, sizeof(name), "csr %s: version 1, X509_REQ_verify", kind);
	CHECK(X509_REQ_get_version(req) == 0 && X509_REQ_verify(req, k) == 1,
	    name);
	snprintf(name, sizeof(name), "csr %s: signed with SHA-256", kind);
	CHECK(X509_REQ_get_signature_nid(req) ==
		  (rsa ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256),
	    name);
	snprintf(name, sizeof(name), "csr %s: the key type is kept", kind);
	CHECK(rsa ? EVP_PKEY_is_a(X509_REQ_get0_pubkey(req), "RSA") &&
			EVP_PKEY_get_bits(X509_REQ_get0_pubkey(req)) == 2048
		  : EVP_PKEY_is_a(X509_REQ_get0_pubkey(req), "EC") &&
			EVP_PKEY_get_bits(X509_REQ_get0_pubkey(req)) == 256,
	    name);
	req_sans(req, sans, sizeof(sans), &has);
	snprintf(
	    name, sizeof(name), "csr %s: SANs are the CN, then domains", kind);
	CHECK(has && strcmp(sans, "mail.example.com,autodiscover.example.com,"
				  "www.example.com") == 0,
	    name);
	snprintf(name, sizeof(name), "csr %s: keyUsage and serverAuth", kind);
	CHECK(req_usage_is(req, rsa), name);

	snprintf(name, sizeof(name), "csr %s: PEM", kind);
	CHECK(cf_csr_encode(req, 0, &pem, &npem, &err) == 0 && npem > 36 &&
		  strlen((char *)pem) == npem &&
		  strncmp((char *)pem, "-----BEGIN CERTIFICATE REQUEST-----",
		      35) == 0,
	    name);
	snprintf(path, sizeof(path), "%s/%s.csr", check_tmpdir(), kind);
	write_file(path, pem, npem);
	snprintf(
	    name, sizeof(name), "csr %s: openssl req -verify accepts it", kind);
	CHECK(openssl_verifies(path, "PEM"), name);

	snprintf(name, sizeof(name), "csr %s: DER decodes to the same", kind);
	CHECK(
	    cf_csr_encode(req, 1, &der, &nder, &err) == 0 &&
		(back = cf_csr_decode(der, nder, &subj, &doms, &err)) != NULL &&
		strcmp(subj, "CN=Mail.Example.com,O=Example Ltd") == 0 &&
		strcmp(doms, "mail.example.com,autodiscover.example.com,"
			     "www.example.com") == 0 &&
		X509_REQ_verify(back, k) == 1,
	    name);
	if (der != NULL && nder > 10) {
		der[nder - 1] ^= 0x01; /* in the signature */
		snprintf(
		    path, sizeof(path), "%s/%s-bad.der", check_tmpdir(), kind);
		write_file(path, der, nder);
		snprintf(name, sizeof(name),
		    "csr %s: openssl req -verify refuses a changed signature",
		    kind);
		CHECK(!openssl_verifies(path, "DER"), name);
	}
	free(subj);
	free(doms);
	free(pem);
	free(der);
	X509_REQ_free(back);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_csr_names(void)
{
	struct cf_error err;
	EVP_PKEY *k = cf_key_generate("p256", &err);
	X509_REQ *req;
	char sans[500];
	int has;

	req = cf_csr_new(k, "Example Mail", NULL, &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(req != NULL && !has && X509_REQ_verify(req, k) == 1,
	    "csr: a CN that is not a DNS name and no domains: no SAN");
	X509_REQ_free(req);
	req = cf_csr_new(k, "CN=Example Mail,O=Ex", "mail.example.com", &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(req != NULL && has && strcmp(sans, "mail.example.com") == 0,
	    "csr: a CN that is not a DNS name is left out of the SAN");
	X509_REQ_free(req);
	req = cf_csr_new(
	    k, "CN=mail.example.com", "a.example.com,MAIL.example.com", &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(
	    req != NULL && strcmp(sans, "a.example.com,mail.example.com") == 0,
	    "csr: a CN among the domains is not repeated or moved");
	X509_REQ_free(req);
	req = cf_csr_new(k, "CN=*.example.com", "", &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(req != NULL && strcmp(sans, "*.example.com") == 0,
	    "csr: a wildcard CN is its own SAN");
	X509_REQ_free(req);
	CHECK(cf_csr_new(k, "CN=a", "bad_name.example.com", &err) == NULL &&
		  err.code == CF_E_USAGE && strstr(err.msg, "bad_name") != NULL,
	    "csr: a bad domain is refused");
	CHECK(cf_csr_new(k, "CN=a,X=b", NULL, &err) == NULL &&
		  err.code == CF_E_USAGE,
	    "csr: a bad subject is refused");
	CHECK(cf_csr_new(NULL, "CN=a", NULL, &err) == NULL &&
		  err.code == CF_E_USAGE,
	    "csr: no key is refused");
	EVP_PKEY_free(k);
}

/* A CN meant as a host name is checked like --domains; a label (with a
 * space) is taken, outside the SANs, and cf_subject_cn_label says so. */
static void
test_csr_cn(void)
{
	struct cf_error err;
	EVP_PKEY *k = cf_key_generate("p256", &err);
	X509_REQ *req;
	char sans[500], *label = NULL;
	int has;

	cf_error_clear(&err);
	req = cf_csr_new(k, "CN=bad_name!.example.com", "ok.example.com", &err);
	CHECK(req == NULL && err.code == CF_E_USAGE &&
		  strcmp(err.msg,
		      "the CN bad_name!.example.com: a DNS name has only "
		      "letters, digits, hyphens and dots (a CN without spaces "
		      "is a host name, checked as --domains are)") == 0,
	    "cn: a host name with a bad character is refused, named");
	X509_REQ_free(req);
	req = cf_csr_new(k, "CN=*.*.example.com", NULL, &err);
	CHECK(req == NULL && err.code == CF_E_USAGE &&
		  strstr(err.msg, "only the first label may be the wildcard") !=
		      NULL,
	    "cn: a bad wildcard CN is refused like --domains");
	X509_REQ_free(req);
	req = cf_csr_new(k, "CN=bad_name", NULL, &err);
	CHECK(req == NULL && err.code == CF_E_USAGE,
	    "cn: one label without spaces is a host name too");
	X509_REQ_free(req);
	req = cf_csr_new(k, "O=Example,CN=Mail.Example.COM", NULL, &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(req != NULL && strcmp(sans, "mail.example.com") == 0,
	    "cn: a good host name goes into the SANs, lower-cased");
	X509_REQ_free(req);
	req =
	    cf_csr_new(k, "CN=Example Mail Gateway", "mail.example.com", &err);
	req_sans(req, sans, sizeof(sans), &has);
	CHECK(req != NULL && strcmp(sans, "mail.example.com") == 0,
	    "cn: a label is taken and left out of the SANs");
	X509_REQ_free(req);
	CHECK(
	    cf_subject_cn_label("CN=Example Mail Gateway,O=Ex", &label) == 1 &&
		label != NULL && strcmp(label, "Example Mail Gateway") == 0,
	    "cn: cf_subject_cn_label finds the label");
	free(label);
	CHECK(cf_subject_cn_label("CN=mail.example.com", &label) == 0 &&
		  label == NULL,
	    "cn: a host name is no label");
	CHECK(cf_subject_cn_label("CN=a,X=b", &label) == 0 && label == NULL,
	    "cn: a subject that does not parse is no label");
	EVP_PKEY_free(k);
}

static void
test_decode_bad(void)
{
	struct cf_error err;
	EVP_PKEY *k = cf_key_generate("p256", &err);
	X509_REQ *req = cf_csr_new(k, "CN=a,O=Acme\\, Inc.", NULL, &err);
	X509 *x = cf_selfsigned_new(k, "CN=a,O=Acme\\, Inc.", NULL, 1, 0, &err);
	struct cf_certfacts f;
	unsigned char *der = NULL, *pem = NULL, *longer;
	size_t nder = 0, npem = 0;
	char *subj = (char *)"x", *doms = (char *)"x";
	X509_REQ *back;

	CHECK(cf_csr_decode((const unsigned char *)"not a request", 13, &subj,
		  &doms, &err) == NULL &&
		  err.code == CF_E_PARSE && subj == NULL && doms == NULL,
	    "decode: garbage is CF_E_PARSE, outputs NULL");
	CHECK(cf_csr_decode(NULL, 0, NULL, NULL, &err) == NULL &&
		  err.code == CF_E_PARSE,
	    "decode: nothing is CF_E_PARSE");
	cf_csr_encode(req, 0, &pem, &npem, &err);
	CHECK(cf_csr_decode(pem, npem, NULL, NULL, &err) == NULL &&
		  err.code == CF_E_PARSE,
	    "decode: PEM is not DER");
	cf_csr_encode(req, 1, &der, &nder, &err);
	longer = malloc(nder + 1);
	memcpy(longer, der, nder);
	longer[nder] = 0;
	CHECK(cf_csr_decode(longer, nder + 1, NULL, NULL, &err) == NULL &&
		  err.code == CF_E_PARSE,
	    "decode: trailing bytes are CF_E_PARSE");
	CHECK(cf_csr_decode(der, nder / 2, NULL, NULL, &err) == NULL &&
		  err.code == CF_E_PARSE,
	    "decode: a truncated request is CF_E_PARSE");
	back = cf_csr_decode(der, nder, &subj, &doms, &err);
	CHECK(back != NULL && x != NULL &&
		  cf_certfacts_read(x, &f, &err) == 0 &&
		  strcmp(subj, f.subject) == 0 && strcmp(doms, "a") == 0,
	    "decode: the subject reads as certificates' subjects do");
	if (x != NULL)
		cf_certfacts_clear(&f);
	free(subj);
	free(doms);
	free(longer);
	free(der);
	free(pem);
	X509_REQ_free(back);
	X509_REQ_free(req);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* cf_selfsigned_new checks and normalises its domains like a request. */
static void
test_selfsigned_names(void)
{
	struct cf_error err;
	struct cf_certfacts f;
	EVP_PKEY *k = cf_key_generate("p256", &err);
	X509 *x = cf_selfsigned_new(k, "Example Mail",
	    " Mail.Example.com,,MAIL.example.com, www.example.com", 1, 0, &err);

	CHECK(x != NULL && cf_certfacts_read(x, &f, &err) == 0 &&
		  strcmp(f.domains, "mail.example.com,www.example.com") == 0,
	    "selfsigned: domains lower-cased and folded");
	if (x != NULL)
		cf_certfacts_clear(&f);
	X509_free(x);
	CHECK(cf_selfsigned_new(k, "CN=a", "*.*.example.com", 1, 0, &err) ==
		      NULL &&
		  err.code == CF_E_USAGE &&
		  strstr(err.msg, "only the first label") != NULL,
	    "selfsigned: a bad domain is refused");
	EVP_PKEY_free(k);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("names"))
		test_names();
	if (check_test("dn"))
		test_dn();
	if (check_test("csr_rsa2048"))
		test_csr_kind("rsa2048");
	if (check_test("csr_p256"))
		test_csr_kind("p256");
	if (check_test("csr_names"))
		test_csr_names();
	if (check_test("csr_cn"))
		test_csr_cn();
	if (check_test("decode_bad"))
		test_decode_bad();
	if (check_test("selfsigned_names"))
		test_selfsigned_names();
	return check_done();
}
