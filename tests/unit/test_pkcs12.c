/*
 * test_pkcs12.c - PKCS#12 export profiles round-trip, their parameters
 * are what pkcs12.c promises, and the reader refuses what it must
 * (wrong password, iteration caps before any derivation, damage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "pkcs12.h"
#include "testpki.h"
#include "util.h"

static const char *pw = "correct horse battery staple";

static int
same_cert(X509 *a, X509 *b)
{
	unsigned char da[20], db[20];
	unsigned la = 0, lb = 0;

	return a != NULL && b != NULL && X509_digest(a, EVP_sha1(), da, &la) &&
	       X509_digest(b, EVP_sha1(), db, &lb) && la == lb &&
	       memcmp(da, db, la) == 0;
}

static int
parse(const unsigned char *der, size_t len, const char *pass,
    struct cf_bundle **b, struct cf_error *err)
{
	*b = cf_bundle_new();
	cf_error_clear(err);
	return cf_pkcs12_parse("t.p12", der, len, pass, *b, err);
}

/* ---- what a profile writes ------------------------------------------ */

struct algs {
	int pbe_nid;    /* outer OID */
	int cipher_nid; /* PBES2 cipher */
	int prf_nid;    /* PBES2 PRF */
	long iter;
	int salt_len;
};

static void
algs_of(const X509_ALGOR *alg, struct algs *a)
{
	memset(a, 0, sizeof(*a));
	a->pbe_nid = OBJ_obj2nid(alg->algorithm);
	if (a->pbe_nid == NID_pbes2) {
		PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		PBKDF2PARAM *k = p2 == NULL ? NULL
					    : ASN1_TYPE_unpack_sequence(
						  ASN1_ITEM_rptr(PBKDF2PARAM),
						  p2->keyfunc->parameter);
		if (k != NULL) {
			a->cipher_nid = OBJ_obj2nid(p2->encryption->algorithm);
			a->prf_nid = k->prf ? OBJ_obj2nid(k->prf->algorithm)
					    : NID_hmacWithSHA1;
			a->iter = ASN1_INTEGER_get(k->iter);
			a->salt_len = k->salt->value.octet_string->length;
		}
		PBE2PARAM_free(p2);
		PBKDF2PARAM_free(k);
	} else {
		PBEPARAM *p = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		if (p != NULL) {
			a->iter = ASN1_INTEGER_get(p->iter);
			a->salt_len = p->salt->length;
		}
		PBEPARAM_free(p);
	}
}

/*
 * Reads back the parameters of a file built by cf_pkcs12_build: MAC
 * digest, iteration and salt; certificate safe and key bag algorithms;
 * friendlyName and localKeyID on both.
 */
struct layout {
	int mac_nid;
	long mac_iter;
	int mac_salt;
	struct algs cert, key;
	int cert_fn, key_fn, cert_id, key_id, nsafes;
};

static int
layout_of(const unsigned char *der, size_t len, struct layout *l)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	STACK_OF(PKCS7) * safes;
	const ASN1_OCTET_STRING *mac, *salt;
	const X509_ALGOR *macalg, *alg;
	const ASN1_INTEGER *iter;
	const ASN1_OBJECT *obj;
	int i;

	memset(l, 0, sizeof(*l));
	if (p12 == NULL || (safes = PKCS12_unpack_authsafes(p12)) == NULL)
		return -1;
	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	l->mac_nid = OBJ_obj2nid(obj);
	l->mac_iter = iter ? ASN1_INTEGER_get(iter) : 1;
	l->mac_salt = salt->length;
	l->nsafes = sk_PKCS7_num(safes);
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) * bags;
		PKCS12_SAFEBAG *bag;

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
			algs_of(p7->d.encrypted->enc_data->algorithm, &l->cert);
			bags = PKCS12_unpack_p7encdata(p7, pw, -1);
		} else
			bags = PKCS12_unpack_p7data(p7);
		if (bags == NULL)
			continue;
		bag = sk_PKCS12_SAFEBAG_value(bags, 0);
		if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag) {
			X509_SIG_get0(
			    PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
			algs_of(alg, &l->key);
			l->key_fn = PKCS12_SAFEBAG_get0_attr(
					bag, NID_friendlyName) != NULL;
			l->key_id = PKCS12_SAFEBAG_get0_attr(
					bag, NID_localKeyID) != NULL;
		} else {
			l->cert_fn = PKCS12_SAFEBAG_get0_attr(
					 bag, NID_friendlyName) != NULL;
			l->cert_id = PKCS12_SAFEBAG_get0_attr(
					 bag, NID_localKeyID) != NULL;
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	ERR_clear_error();
	return 0;
}

/* ---- round trips ------------------------------------------------------- */

static void
test_profile(const char *label, enum cf_p12_profile prof, X509 *leaf,
    EVP_PKEY *key, STACK_OF(X509) * chain, long want_iter)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct cf_error err;
	struct cf_bundle *b = NULL;
	struct layout l;
	int aliaslen = 0;
	const unsigned char *alias;
	char name[160];
	int modern = prof != CF_P12_LEGACY;

#define N(s) (snprintf(name, sizeof(name), "%s: %s", label, s), name)
	CHECK(cf_pkcs12_build(leaf, key, chain, "mail.example.test (ünï)", pw,
		  prof, &der, &len, &err) == 0,
	    N("builds"));
	CHECK(cf_pkcs12_sniff(der, len), N("sniffed as PKCS#12"));
	CHECK(layout_of(der, len, &l) == 0 && l.nsafes == 2,
	    N("two safes: certificates, key"));
	CHECK(l.mac_nid == (modern ? NID_sha256 : NID_sha1),
	    N(modern ? "MAC is HMAC-SHA256" : "MAC is HMAC-SHA1"));
	CHECK(l.mac_iter == want_iter, N("MAC iteration count"));
	CHECK(l.mac_salt == (modern ? 16 : 20), N("MAC salt length"));
	if (modern) {
		CHECK(l.cert.pbe_nid == NID_pbes2 &&
			  l.cert.cipher_nid == NID_aes_256_cbc &&
			  l.cert.prf_nid == NID_hmacWithSHA256,
		    N("certificates: PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256"));
		CHECK(l.key.pbe_nid == NID_pbes2 &&
			  l.key.cipher_nid == NID_aes_256_cbc &&
			  l.key.prf_nid == NID_hmacWithSHA256,
		    N("key: PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256"));
		CHECK(l.cert.salt_len == 16 && l.key.salt_len == 16,
		    N("16-byte salts on both bags"));
	} else {
		CHECK(
		    l.cert.pbe_nid == NID_pbe_WithSHA1And3_Key_TripleDES_CBC &&
			l.key.pbe_nid == NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
		    N("certificates and key: "
		      "pbeWithSHA1And3-KeyTripleDES-CBC"));
		CHECK(l.cert.salt_len == 8 && l.key.salt_len == 8,
		    N("8-byte salts as Windows writes"));
	}
	CHECK(l.cert.iter == want_iter && l.key.iter == want_iter,
	    N("bag iteration counts"));
	CHECK(l.cert_fn && l.key_fn && l.cert_id && l.key_id,
	    N("friendlyName and localKeyID on certificate and key"));

	CHECK(parse(der, len, pw, &b, &err) == 0, N("parses back"));
	CHECK(sk_X509_num(b->certs) == 1 + sk_X509_num(chain) && b->nkeys == 1,
	    N("all certificates and the key"));
	CHECK(
	    same_cert(sk_X509_value(b->certs, 0), leaf), N("same thumbprint"));
	CHECK(
	    b->nkeys == 1 && EVP_PKEY_eq(b->keys[0], key) == 1, N("same key"));
	alias = X509_alias_get0(sk_X509_value(b->certs, 0), &aliaslen);
	CHECK(
	    alias != NULL &&
		(size_t)aliaslen == strlen("mail.example.test (ünï)") &&
		memcmp(alias, "mail.example.test (ünï)", (size_t)aliaslen) == 0,
	    N("friendlyName comes back as the UTF-8 alias"));
	CHECK(b->was_pkcs12, N("marked as PKCS#12"));
	cf_bundle_free(b);

	CHECK(parse(der, len, "wrong", &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD &&
		  strstr(err.msg, "MAC verification failed (wrong password?)"),
	    N("wrong password is CF_E_PASSWORD"));
	CHECK(sk_X509_num(b->certs) == 0 && b->nkeys == 0,
	    N("failure leaves the bundle empty"));
	cf_bundle_free(b);
	CHECK(parse(der, len, NULL, &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD &&
		  strstr(err.msg, "a password is needed"),
	    N("no password is 'a password is needed'"));
	cf_bundle_free(b);
	free(der);
#undef N
}

/* ---- hand-made files for the caps ------------------------------------- */

/*
 * A shrouded key bag whose algorithm claims iter iterations.  Its
 * content is junk: the caps must stop the parse before anything is
 * decrypted.  pbes2 selects PBES2/PBKDF2 instead of PKCS#12 3DES.
 */
static PKCS12_SAFEBAG *
fake_shrouded(long iter, int pbes2)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *digest;
	PBEPARAM *pbe = PBEPARAM_new();
	PBE2PARAM *p2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	ASN1_STRING *seq = NULL;
	unsigned char junk[32] = {1, 2, 3};

	X509_SIG_getm(sig, &alg, &digest);
	ASN1_OCTET_STRING_set(digest, junk, sizeof(junk));
	if (!pbes2) {
		ASN1_OCTET_STRING_set(pbe->salt, junk, 8);
		ASN1_INTEGER_set(pbe->iter, iter);
		seq = ASN1_item_pack(pbe, ASN1_ITEM_rptr(PBEPARAM), NULL);
		X509_ALGOR_set0(alg,
		    OBJ_nid2obj(NID_pbe_WithSHA1And3_Key_TripleDES_CBC),
		    V_ASN1_SEQUENCE, seq);
	} else {
		X509_ALGOR *a = PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 1000, NULL,
		    16, NULL, NID_hmacWithSHA256);

		p2 = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBE2PARAM), a->parameter);
		X509_ALGOR_free(a);
		kdf = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBKDF2PARAM), p2->keyfunc->parameter);
		ASN1_INTEGER_set(kdf->iter, iter);
		ASN1_TYPE_free(p2->keyfunc->parameter);
		p2->keyfunc->parameter = NULL;
		ASN1_TYPE_pack_sequence(
		    ASN1_ITEM_rptr(PBKDF2PARAM), kdf, &p2->keyfunc->parameter);
		seq = ASN1_item_pack(p2, ASN1_ITEM_rptr(PBE2PARAM), NULL);
		X509_ALGOR_set0(
		    alg, OBJ_nid2obj(NID_pbes2), V_ASN1_SEQUENCE, seq);
	}
	PBEPARAM_free(pbe);
	PBE2PARAM_free(p2);
	PBKDF2PARAM_free(kdf);
	return PKCS12_SAFEBAG_create0_pkcs8(sig);
}

/*
 * A PKCS#12 of nbags fake shrouded keys (iteration iter each) in one
 * plain safe, or inside an encrypted safe (1000 iterations) when
 * in_encrypted; MAC with 1 iteration.
 */
static void
fake_file(long iter, int nbags, int pbes2, int in_encrypted,
    unsigned char **der, size_t *len)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
	STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
	PKCS12 *p12;
	unsigned char *buf = NULL;
	int i, n;

	for (i = 0; i < nbags; i++)
		sk_PKCS12_SAFEBAG_push(bags, fake_shrouded(iter, pbes2));
	if (in_encrypted)
		sk_PKCS7_push(safes, PKCS12_pack_p7encdata(
					 NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
					 pw, -1, NULL, 8, 1000, bags));
	else
		sk_PKCS7_push(safes, PKCS12_pack_p7data(bags));
	p12 = PKCS12_add_safes(safes, 0);
	PKCS12_set_mac(p12, pw, -1, NULL, 8, 1, EVP_sha256());
	n = i2d_PKCS12(p12, &buf);
	*der = xmalloc((size_t)n);
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(buf);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
}

static double
seconds_since(clock_t t)
{
	return (double)(clock() - t) / CLOCKS_PER_SEC;
}

static unsigned char *
to_der(PKCS12 *p12, size_t *len)
{
	unsigned char *buf = NULL, *out;
	int n = i2d_PKCS12(p12, &buf);

	out = xmalloc((size_t)(n > 0 ? n : 1));
	memcpy(out, buf, (size_t)(n > 0 ? n : 0));
	*len = (size_t)(n > 0 ? n : 0);
	OPENSSL_free(buf);
	return out;
}

static void
test_caps(X509 *leaf, EVP_PKEY *key)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der;
	size_t len;
	PKCS12 *p12;
	clock_t t;

	/* what a hostile exporter writes: PKCS12_create_ex, huge counts */
	p12 = PKCS12_create_ex(pw, "x", key, leaf, NULL,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 2000000, 1, 0, NULL, NULL);
	der = to_der(p12, &len);
	t = clock();
	CHECK(
	    parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT &&
		strstr(err.msg, "iteration count 2000000 exceeds the limit of "
				"1000000; refusing to spend minutes deriving "
				"keys"),
	    "bag iteration 2000000: CF_E_LIMIT with the message");
	CHECK(seconds_since(t) < 0.5, "bag iteration cap: refused at once");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);

	p12 = PKCS12_create_ex(pw, "x", key, leaf, NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, 1000, 2000000, 0, NULL, NULL);
	der = to_der(p12, &len);
	t = clock();
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT &&
		  strstr(err.msg, "MAC iteration count 2000000"),
	    "MAC iteration 2000000: CF_E_LIMIT");
	CHECK(seconds_since(t) < 0.5, "MAC iteration cap: refused at once");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);

	p12 = PKCS12_create_ex(pw, "x", key, leaf, NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, 1000000, 1, 0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(parse(der, len, pw, &b, &err) == 0 && b->nkeys == 1,
	    "iteration 1000000 (the cap itself) is accepted");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);
}

/* The caps on files OpenSSL would not write (fake_file): the total over
 * many keys, PBKDF2's count, a key inside an encrypted safe, counts not
 * positive, and the number of bags. */
static void
test_caps_crafted(void)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der;
	size_t len;
	clock_t t;

	fake_file(1000000, 11, 0, 0, &der, &len);
	t = clock();
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT &&
		  strstr(err.msg, "over the limit of 10000000"),
	    "11 keys of 1000000 iterations: total over the cap");
	CHECK(seconds_since(t) < 0.5, "total cap: refused before deriving");
	cf_bundle_free(b);
	free(der);

	fake_file(2000000, 1, 1, 0, &der, &len);
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT,
	    "PBES2 key bag with PBKDF2 iteration 2000000: CF_E_LIMIT");
	cf_bundle_free(b);
	free(der);

	fake_file(2000000, 1, 0, 1, &der, &len);
	t = clock();
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT &&
		  strstr(err.msg, "private key iteration count 2000000"),
	    "key bag inside an encrypted safe: checked before decrypting");
	CHECK(seconds_since(t) < 0.5, "nested key cap: refused at once");
	cf_bundle_free(b);
	free(der);

	fake_file(0, 1, 0, 0, &der, &len);
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_PARSE &&
		  strstr(err.msg, "not positive"),
	    "iteration count 0: CF_E_PARSE");
	cf_bundle_free(b);
	free(der);

	fake_file(-5, 1, 1, 0, &der, &len);
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_PARSE,
	    "negative PBKDF2 iteration count: CF_E_PARSE");
	cf_bundle_free(b);
	free(der);

	fake_file(1000, CF_P12_MAX_BAGS + 1, 0, 0, &der, &len);
	CHECK(parse(der, len, pw, &b, &err) == -1 && err.code == CF_E_LIMIT &&
		  strstr(err.msg, "bags"),
	    "more bags than CF_P12_MAX_BAGS: CF_E_LIMIT");
	cf_bundle_free(b);
	free(der);
}

/*
 * Real shrouded keys inside two encrypted safes: each key's algorithm is
 * inspected once its safe is decrypted, and that inspection is what the
 * key is decrypted with (pkcs12.c forgets it before the safe's bags are
 * freed, so the second safe's cannot be mistaken for the first's).
 */
static void
test_nested_keys(X509 *leaf, EVP_PKEY *key, EVP_PKEY *other)
{
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) * bags;
	EVP_PKEY *keys[2] = {key, other};
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der;
	size_t len;
	PKCS12 *p12;
	int i;

	for (i = 0; i < 2; i++) {
		bags = NULL;
		PKCS12_add_key(&bags, keys[i], 0, 1000, NID_aes_256_cbc, pw);
		if (i == 0)
			PKCS12_add_cert(&bags, leaf);
		PKCS12_add_safe(&safes, bags,
		    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 1000, pw);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	p12 = PKCS12_add_safes(safes, 0);
	PKCS12_set_mac(p12, pw, -1, NULL, 8, 1000, EVP_sha256());
	der = to_der(p12, &len);
	CHECK(parse(der, len, pw, &b, &err) == 0 && b->nkeys == 2 &&
		  sk_X509_num(b->certs) == 1 &&
		  EVP_PKEY_eq(b->keys[0], key) == 1 &&
		  EVP_PKEY_eq(b->keys[1], other) == 1,
	    "keys inside two encrypted safes: each decrypts to its key");
	cf_bundle_free(b);
	CHECK(parse(der, len, "wrong", &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD &&
		  strcmp(err.msg,
		      "t.p12: MAC verification failed (wrong password?)") == 0,
	    "keys inside encrypted safes, wrong password: the file named "
	    "once, first");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

/* ---- passwords --------------------------------------------------------------
 */

static void
test_passwords(X509 *leaf, EVP_PKEY *key)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der;
	size_t len;
	PKCS12 *p12;

	/* made with no password (OpenSSL's NULL): opens with none or "" */
	p12 = PKCS12_create_ex(NULL, "x", key, leaf, NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, 1000, 1000, 0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(parse(der, len, NULL, &b, &err) == 0 && b->nkeys == 1,
	    "NULL-password file opens with no password");
	cf_bundle_free(b);
	CHECK(parse(der, len, "", &b, &err) == 0 && b->nkeys == 1,
	    "NULL-password file opens with \"\"");
	cf_bundle_free(b);
	CHECK(parse(der, len, "x", &b, &err) == -1 && err.code == CF_E_PASSWORD,
	    "NULL-password file with a password: MAC fails");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);

	/* RFC 7292 empty BMPString {0,0}: "" given to OpenSSL */
	p12 = PKCS12_create_ex("", "x", key, leaf, NULL,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 1000, 1000, 0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(parse(der, len, NULL, &b, &err) == 0 && b->nkeys == 1,
	    "empty-BMPString file opens with no password");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);

	/* no MacData at all: the password still decrypts the bags */
	p12 = PKCS12_create_ex(pw, "x", key, leaf, NULL, NID_aes_256_cbc,
	    NID_aes_256_cbc, 1000, -1, 0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(!PKCS12_mac_present(p12), "MAC-less file made");
	CHECK(parse(der, len, pw, &b, &err) == 0 && b->nkeys == 1 &&
		  sk_X509_num(b->certs) == 1,
	    "MAC-less file opens with its password");
	cf_bundle_free(b);
	CHECK(parse(der, len, "wrong", &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD &&
		  strstr(err.msg, "wrong password"),
	    "MAC-less file, wrong password: CF_E_PASSWORD");
	cf_bundle_free(b);
	CHECK(parse(der, len, NULL, &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD &&
		  strstr(err.msg, "a password is needed"),
	    "MAC-less file, no password: a password is needed");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);
}

/* Non-ASCII passwords, as OpenSSL 3 writes them and as OpenSSL before
 * 1.1.0 did. */
static void
test_passwords_utf8(X509 *leaf, EVP_PKEY *key)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der, *uni = NULL;
	char *oldform;
	size_t len;
	int unilen = 0;
	PKCS12 *p12;

	/* non-ASCII password, written as OpenSSL 3 does (UTF-8 -> BMP) */
	p12 = PKCS12_create_ex("pässwörd €", "x", key, leaf, NULL,
	    NID_aes_256_cbc, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 1000, 1000,
	    0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(parse(der, len, "pässwörd €", &b, &err) == 0 && b->nkeys == 1,
	    "UTF-8 password opens");
	cf_bundle_free(b);
	CHECK(parse(der, len, "passwoerd", &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD,
	    "UTF-8 password file, other password fails");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);

	/*
	 * Written by OpenSSL before 1.1.0, which took each byte of the
	 * password as one character: the UTF-8 string that OPENSSL_utf82uni
	 * turns into that BMPString is what apps/pkcs12.c calls "badpass".
	 */
	OPENSSL_asc2uni("pässwörd", -1, &uni, &unilen);
	oldform = OPENSSL_uni2utf8(uni, unilen);
	p12 = PKCS12_create_ex(oldform, "x", key, leaf, NULL,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 1000, 1000, 0, NULL, NULL);
	der = to_der(p12, &len);
	CHECK(parse(der, len, "pässwörd", &b, &err) == 0 && b->nkeys == 1,
	    "file from OpenSSL < 1.1.0 (password bytes as characters) opens");
	cf_bundle_free(b);
	CHECK(parse(der, len, "passwoerd", &b, &err) == -1 &&
		  err.code == CF_E_PASSWORD,
	    "old-OpenSSL file, other password fails");
	cf_bundle_free(b);
	free(der);
	PKCS12_free(p12);
	OPENSSL_free(uni);
	OPENSSL_free(oldform);
}

/* ---- damage, certificates only, mismatches
 * ------------------------------------ */

/* Files without a key, or without a password, and the keys refused. */
static void
test_certs_only(
    X509 *leaf, EVP_PKEY *key, STACK_OF(X509) * chain, EVP_PKEY *other)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der = NULL;
	size_t len = 0;

	CHECK(cf_pkcs12_build(leaf, NULL, chain, "certs only", pw,
		  CF_P12_TRANSFER, &der, &len, &err) == 0,
	    "certificates only (key NULL) builds");
	CHECK(parse(der, len, pw, &b, &err) == 0 && b->nkeys == 0 &&
		  sk_X509_num(b->certs) == 1 + sk_X509_num(chain),
	    "certificates only: parses back with no key");
	cf_bundle_free(b);
	free(der);

	CHECK(cf_pkcs12_build(leaf, other, NULL, NULL, pw, CF_P12_TRANSFER,
		  &der, &len, &err) == -1 &&
		  err.code == CF_E_MISMATCH && der == NULL,
	    "key of another certificate: CF_E_MISMATCH");
	CHECK(cf_pkcs12_build(leaf, key, NULL, NULL, NULL, CF_P12_TRANSFER,
		  &der, &len, &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "a key with no password: CF_E_USAGE");

	CHECK(cf_pkcs12_build(leaf, NULL, chain, NULL, NULL, CF_P12_TRANSFER,
		  &der, &len, &err) == 0,
	    "certificates only with no password builds");
	{
		struct layout l;

		CHECK(layout_of(der, len, &l) == 0 && l.nsafes == 1 &&
			  l.cert.pbe_nid == 0 && l.mac_nid == NID_sha256,
		    "no password: one plain certificate safe, SHA-256 MAC");
	}
	CHECK(parse(der, len, NULL, &b, &err) == 0 && b->nkeys == 0 &&
		  sk_X509_num(b->certs) == 1 + sk_X509_num(chain),
	    "no password: opens with none");
	cf_bundle_free(b);
	CHECK(
	    parse(der, len, "pw", &b, &err) == -1 && err.code == CF_E_PASSWORD,
	    "no password: a password fails its MAC, as with OpenSSL");
	cf_bundle_free(b);
	free(der);
}

/* Cut, flipped and junk input is refused, naming the file, and leaves
 * the caller's bundle as it was. */
static void
test_damage(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) * chain)
{
	struct cf_error err;
	struct cf_bundle *b;
	unsigned char *der = NULL, junk[600];
	size_t len = 0;
	int ok;

	CHECK(cf_pkcs12_build(leaf, key, chain, NULL, pw, CF_P12_TRANSFER, &der,
		  &len, &err) == 0,
	    "transfer file without friendly name builds");
	b = cf_bundle_new();
	cf_bundle_add_cert(b, X509_dup(leaf), &err);
	ok = cf_pkcs12_parse("cut.p12", der, len / 2, pw, b, &err) == -1 &&
	     err.code == CF_E_PARSE;
	CHECK(ok && strstr(err.msg, "cut.p12: not a valid PKCS#12 file") ==
			err.msg,
	    "truncated PKCS#12: CF_E_PARSE naming the file");
	CHECK(sk_X509_num(b->certs) == 1 && b->nkeys == 0,
	    "failure leaves the caller's bundle as it was");
	CHECK(cf_pkcs12_parse("ok.p12", der, len, pw, b, &err) == 0 &&
		  sk_X509_num(b->certs) == 3 && b->nkeys == 1,
	    "a good parse appends to the caller's bundle");
	cf_bundle_free(b);

	/* Inside the encrypted safe or the MAC; where the sizes of this
	 * run's key and signature put it in an algorithm's OID (about 1 run
	 * in 40), the damaged OID names an algorithm not read. */
	der[len / 2] ^= 0x55;
	CHECK(parse(der, len, pw, &b, &err) == -1 &&
		  (err.code == CF_E_PASSWORD || err.code == CF_E_PARSE ||
		      err.code == CF_E_UNSUPPORTED),
	    "flipped byte: refused");
	cf_bundle_free(b);
	free(der);

	RAND_bytes(junk, sizeof(junk));
	junk[0] = 0x30;
	CHECK(!cf_pkcs12_sniff(junk, sizeof(junk)), "junk is not sniffed");
	CHECK(parse(junk, sizeof(junk), pw, &b, &err) == -1 &&
		  err.code == CF_E_PARSE &&
		  strstr(err.msg, "not a valid PKCS#12 file"),
	    "junk: not a valid PKCS#12 file");
	cf_bundle_free(b);
	CHECK(parse(junk, 0, pw, &b, &err) == -1 && err.code == CF_E_PARSE,
	    "empty input: CF_E_PARSE");
	cf_bundle_free(b);
	{
		unsigned char *cder = NULL;
		int n = i2d_X509(leaf, &cder);

		CHECK(!cf_pkcs12_sniff(cder, (size_t)n),
		    "a DER certificate is not sniffed as PKCS#12");
		OPENSSL_free(cder);
	}
}

/* An encrypted PKCS#8 (PEM "ENCRYPTED PRIVATE KEY") through the helper. */
static void
test_pkcs8(EVP_PKEY *key)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	X509_SIG *sig =
	    PKCS8_encrypt(-1, EVP_aes_256_cbc(), pw, -1, NULL, 16, 10000, p8);
	unsigned char *der = NULL;
	int n = i2d_X509_SIG(sig, &der);
	struct cf_error err;
	EVP_PKEY *got = NULL;

	CHECK(cf_pkcs12_decrypt_pkcs8(
		  "k.pem", der, (size_t)n, pw, &got, &err) == 0 &&
		  EVP_PKEY_eq(got, key) == 1,
	    "encrypted PKCS#8 decrypts to the same key");
	EVP_PKEY_free(got);
	got = NULL;
	CHECK(cf_pkcs12_decrypt_pkcs8(
		  "k.pem", der, (size_t)n, "nope", &got, &err) == -1 &&
		  err.code == CF_E_PASSWORD && got == NULL &&
		  strcmp(err.msg, "k.pem: cannot decrypt the private key "
				  "(wrong password?)") == 0,
	    "encrypted PKCS#8, wrong password: CF_E_PASSWORD naming the "
	    "file once");
	CHECK(cf_pkcs12_decrypt_pkcs8(
		  "k.pem", der, (size_t)n / 2, pw, &got, &err) == -1 &&
		  err.code == CF_E_PARSE,
	    "encrypted PKCS#8, truncated: CF_E_PARSE");
	OPENSSL_free(der);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
}

/*
 * Files from the vector corpus that test reader details the synthetic
 * ones cannot: RC2-40 (legacy provider, then gone again), NSS's PBES2
 * quirks, PBMAC1 on OpenSSL 3.0, an empty store.
 */
static void
test_vectors(void)
{
	const char *dir =
	    getenv("CF_VECTORS") ? getenv("CF_VECTORS") : "tests/vectors";
	struct cf_error err;
	struct cf_buf f;
	struct cf_bundle *b;
	EVP_CIPHER *rc2;
	char path[512];

	snprintf(path, sizeof(path), "%s/pkcs12/openssl/v3-certs-RC2.p12", dir);
	if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == 0) {
		CHECK(parse(f.data, f.len, "v3-certs", &b, &err) == 0 &&
			  sk_X509_num(b->certs) == 2,
		    "RC2-40 certificate safe opens (legacy provider)");
		cf_bundle_free(b);
		cf_buf_clear(&f);
	} else
		CHECK(0, "vector v3-certs-RC2.p12 readable");
	ERR_set_mark();
	rc2 = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL);
	ERR_pop_to_mark();
	CHECK(rc2 == NULL,
	    "the default library context still has no RC2 afterwards");
	EVP_CIPHER_free(rc2);

	snprintf(path, sizeof(path), "%s/pkcs12/nss/TestOldAES128CA.p12", dir);
	if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == 0) {
		CHECK(parse(f.data, f.len, "nss", &b, &err) == 0 &&
			  b->nkeys == 1 && sk_X509_num(b->certs) == 1 &&
			  X509_check_private_key(
			      sk_X509_value(b->certs, 0), b->keys[0]) == 1,
		    "NSS 3.29.5 AES OID quirk: the key decrypts and matches");
		cf_bundle_free(b);
		cf_buf_clear(&f);
	} else
		CHECK(0, "vector TestOldAES128CA.p12 readable");

	snprintf(path, sizeof(path), "%s/pkcs12/bc-java/empty.p12", dir);
	if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == 0) {
		CHECK(parse(f.data, f.len, "Mötley Crüe", &b, &err) == 0 &&
			  sk_X509_num(b->certs) == 0 && b->nkeys == 0,
		    "empty store with an ISO-8859-1 PBES2 password opens");
		cf_bundle_free(b);
		CHECK(parse(f.data, f.len, "Motley Crue", &b, &err) == -1 &&
			  err.code == CF_E_PASSWORD,
		    "empty store, wrong password: CF_E_PASSWORD");
		cf_bundle_free(b);
		cf_buf_clear(&f);
	} else
		CHECK(0, "vector empty.p12 readable");

	snprintf(path, sizeof(path),
	    "%s/pkcs12/openssl/pbmac1_256_256.good.p12", dir);
	if (cf_read_file(path, CF_MAX_INPUT_BYTES, &f, &err) == 0) {
		int r = parse(f.data, f.len, "1234", &b, &err);

		if (OPENSSL_version_major() == 3 && OPENSSL_version_minor() < 4)
			CHECK(r == -1 && err.code == CF_E_UNSUPPORTED &&
				  strstr(err.msg, "PBMAC1 integrity (RFC 9579) "
						  "needs OpenSSL 3.4 or later"),
			    "PBMAC1 on OpenSSL < 3.4: CF_E_UNSUPPORTED");
		else
			CHECK(r == 0, "PBMAC1 opens on OpenSSL >= 3.4");
		cf_bundle_free(b);
		cf_buf_clear(&f);
	} else
		CHECK(0, "vector pbmac1_256_256.good.p12 readable");
}

int
main(int argc, char **argv)
{
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca = tp_cert("Test CA", NULL, ca_key, NULL, NULL, -1, 30, 1);
	X509 *leaf =
	    tp_cert("mail.example.test", NULL, key, ca, ca_key, -1, 30, 0);
	STACK_OF(X509) *chain = sk_X509_new_null();

	check_init(argc, argv);
	sk_X509_push(chain, ca);
	CHECK(key != NULL && leaf != NULL, "test key and certificate made");

	if (check_test("modern"))
		test_profile("modern", CF_P12_MODERN, leaf, key, chain,
		    CF_P12_EXPORT_ITER);
	if (check_test("legacy"))
		test_profile("legacy", CF_P12_LEGACY, leaf, key, chain, 2000);
	if (check_test("transfer"))
		test_profile(
		    "transfer", CF_P12_TRANSFER, leaf, key, chain, 1000);
	if (check_test("caps"))
		test_caps(leaf, key);
	if (check_test("caps_crafted"))
		test_caps_crafted();
	if (check_test("nested"))
		test_nested_keys(leaf, key, other);
	if (check_test("passwords"))
		test_passwords(leaf, key);
	if (check_test("passwords_utf8"))
		test_passwords_utf8(leaf, key);
	if (check_test("certs_only"))
		test_certs_only(leaf, key, chain, other);
	if (check_test("damage"))
		test_damage(leaf, key, chain);
	if (check_test("pkcs8"))
		test_pkcs8(key);
	if (check_test("vectors"))
		test_vectors();

	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other);
	return check_done();
}
