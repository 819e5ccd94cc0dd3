/*
 * pkcs12.c - reading PKCS#12 (PFX) files: see pkcs12.h.  Writing lives
 * in pkcs12_write.c, password-based encryption (encodings, caps, the
 * legacy provider) in pbe.c.
 *
 * Reading is done in two passes over OpenSSL's own ASN.1 structures.
 * The first pass derives nothing: it checks the MAC algorithm, every
 * encryption algorithm and every iteration count against the caps and
 * counts the bags.  Only then is the MAC verified and are the safes and
 * keys decrypted, with what the first pass learned of each algorithm; a
 * shrouded key inside an encrypted safe is checked after its safe is
 * decrypted and before it is itself decrypted.
 *
 * Messages are made bare; the entry points put the file's name first.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "pbe.h"
#include "pkcs12.h"
#include "util.h"

#define MAX_NESTING 4 /* safeContents bags inside safeContents */

/* An algorithm the check pass inspected, kept for the take pass. */
struct inspected {
	const X509_ALGOR *in; /* where it stands in the file */
	struct pbe p;
};

/* State of one parse. */
struct p12 {
	struct pbe_ctx *pbe;
	long long mac_iter;
	int nbags;
	struct inspected *seen; /* one per encrypted safe or key, so as */
	int nseen;              /* many as the bag and safe caps allow */
	struct cf_bundle *got;  /* what has been found so far */
};

static int
count_bag(struct p12 *c, struct cf_error *err)
{
	if (++c->nbags > CF_P12_MAX_BAGS)
		return cf_errorf(
		    err, CF_E_LIMIT, "more than %d bags", CF_P12_MAX_BAGS);
	return 0;
}

/* ---- algorithms, inspected once ----------------------------------------- */

/*
 * The check pass: inspects alg, declares its iterations, and keeps what
 * it learned for the take pass.
 */
static int
inspect(struct p12 *c, const X509_ALGOR *alg, const char *what,
    struct cf_error *err)
{
	struct pbe p;

	if (pbe_inspect(c->pbe, alg, what, &p, err) == -1)
		return -1;
	c->seen = xrealloc(c->seen, ((size_t)c->nseen + 1) * sizeof(*c->seen));
	c->seen[c->nseen].in = alg;
	c->seen[c->nseen].p = p;
	c->nseen++;
	return pbe_declare(c->pbe, p.iter, err);
}

/* The take pass: what the check pass learned of alg. */
static const struct pbe *
inspected(const struct p12 *c, const X509_ALGOR *alg, struct cf_error *err)
{
	int i;

	for (i = 0; alg != NULL && i < c->nseen; i++)
		if (c->seen[i].in == alg)
			return &c->seen[i].p;
	cf_errorf(err, CF_E_INTERNAL,
	    "an encryption algorithm was not checked before use");
	return NULL;
}

/* Forgets the inspections from mark on, before their bags are freed. */
static void
forget(struct p12 *c, int mark)
{
	while (c->nseen > mark)
		pbe_clear(&c->seen[--c->nseen].p);
}

/* ---- bags ------------------------------------------------------------------
 */

/* Decodes a PKCS#8 key, telling an unknown algorithm from damage. */
static int
p8_to_key(const PKCS8_PRIV_KEY_INFO *p8, EVP_PKEY **key, struct cf_error *err)
{
	const ASN1_OBJECT *obj = NULL;
	EVP_KEYMGMT *km;
	char num[128], d[PBE_OID_DESC];

	*key = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
	if (*key != NULL)
		return 0;
	ERR_clear_error();
	if (PKCS8_pkey_get0(&obj, NULL, NULL, NULL, p8) && obj != NULL &&
	    OBJ_obj2txt(num, sizeof(num), obj, 1) > 0) {
		ERR_set_mark();
		km = EVP_KEYMGMT_fetch(NULL, num, NULL);
		ERR_pop_to_mark();
		if (km == NULL)
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "unsupported private key algorithm %s",
			    pbe_oid_desc(obj, d));
		EVP_KEYMGMT_free(km);
	}
	return cf_errorf(err, CF_E_PARSE, "a private key is malformed");
}

static int
take_key(struct p12 *c, const PKCS8_PRIV_KEY_INFO *p8, struct cf_error *err)
{
	EVP_PKEY *key;

	if (p8 == NULL)
		return cf_errorf(err, CF_E_PARSE, "a key bag is empty");
	if (p8_to_key(p8, &key, err) == -1)
		return -1;
	return cf_bundle_add_key(c->got, key, err);
}

static int
take_cert(struct p12 *c, PKCS12_SAFEBAG *bag, struct cf_error *err)
{
	X509 *x;
	char *fn;

	if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
		return 0; /* SDSI certificates: not ours */
	if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL)
		return cf_errorf_ossl(
		    err, CF_E_PARSE, "a certificate is malformed");
	if ((fn = PKCS12_get_friendlyname(bag)) != NULL) {
		/* Copying a string fails only when memory is out, and
		 * that aborts here as in xmalloc. */
		if (fn[0] != '\0' &&
		    !X509_alias_set1(x, (unsigned char *)fn, (int)strlen(fn)))
			abort();
		OPENSSL_free(fn);
	}
	ERR_clear_error();
	return cf_bundle_add_cert(c->got, x, err);
}

/* The algorithm and encrypted key of a shrouded key bag. */
static int
shrouded_parts(PKCS12_SAFEBAG *bag, const X509_ALGOR **alg,
    const ASN1_OCTET_STRING **oct, struct cf_error *err)
{
	const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);

	*alg = NULL;
	*oct = NULL;
	if (sig == NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "a shrouded key bag is empty");
	X509_SIG_get0(sig, alg, oct);
	return 0;
}

static int
take_shrouded(struct p12 *c, PKCS12_SAFEBAG *bag, struct cf_error *err)
{
	const X509_ALGOR *alg;
	const ASN1_OCTET_STRING *oct;
	const struct pbe *p;
	PKCS8_PRIV_KEY_INFO *p8;
	int rc;

	if (shrouded_parts(bag, &alg, &oct, err) == -1 ||
	    (p = inspected(c, alg, err)) == NULL)
		return -1;
	p8 = pbe_decrypt(c->pbe, p, oct, ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO),
	    "private key", err);
	if (p8 == NULL)
		return -1;
	rc = take_key(c, p8, err);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

static int
check_shrouded(struct p12 *c, PKCS12_SAFEBAG *bag, struct cf_error *err)
{
	const X509_ALGOR *alg;
	const ASN1_OCTET_STRING *oct;

	if (shrouded_parts(bag, &alg, &oct, err) == -1)
		return -1;
	return inspect(c, alg, "private key", err);
}

enum walk { WALK_CHECK, WALK_TAKE };

/*
 * The check pass counts the bags and inspects every shrouded key's
 * algorithm; the take pass decrypts and collects.  Unknown bag types
 * (CRLs, secrets) and unknown attributes are skipped.
 */
static int
walk_bags(struct p12 *c, const STACK_OF(PKCS12_SAFEBAG) * bags, int depth,
    enum walk mode, struct cf_error *err)
{
	int i, take = mode == WALK_TAKE;

	if (depth > MAX_NESTING)
		return cf_errorf(err, CF_E_LIMIT,
		    "safe contents nested more than %d deep", MAX_NESTING);
	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		int rc = 0;

		if (!take && count_bag(c, err) == -1)
			return -1;
		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_certBag:
			if (take)
				rc = take_cert(c, bag, err);
			break;
		case NID_keyBag:
			if (take)
				rc = take_key(
				    c, PKCS12_SAFEBAG_get0_p8inf(bag), err);
			break;
		case NID_pkcs8ShroudedKeyBag:
			rc = take ? take_shrouded(c, bag, err)
				  : check_shrouded(c, bag, err);
			break;
		case NID_safeContentsBag:
			rc = walk_bags(c, PKCS12_SAFEBAG_get0_safes(bag),
			    depth + 1, mode, err);
			break;
		default:
			break;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* ---- the file
 * ---------------------------------------------------------------- */

static int
not_pkcs12(struct cf_error *err)
{
	unsigned long e = ERR_peek_error();
	int r = ERR_GET_REASON(e);

	ERR_clear_error();
	if (ERR_GET_LIB(e) == ERR_LIB_ASN1 &&
	    (r == ASN1_R_TOO_LONG || r == ASN1_R_HEADER_TOO_LONG ||
		r == ASN1_R_NOT_ENOUGH_DATA))
		return cf_errorf(
		    err, CF_E_PARSE, "not a valid PKCS#12 file (truncated)");
	return cf_errorf(
	    err, CF_E_PARSE, "not a valid PKCS#12 file (malformed structure)");
}

/* PBMAC1 parameters have PBES2's shape: {keyDerivationFunc, scheme}. */
static int
check_pbmac1(struct p12 *c, const X509_ALGOR *macalg, struct cf_error *err)
{
	PBE2PARAM *prm = NULL;
	PBKDF2PARAM *kdf = NULL;
	int rc = -1;

	if (OPENSSL_version_major() == 3 && OPENSSL_version_minor() < 4)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "PBMAC1 integrity (RFC 9579) needs OpenSSL 3.4 or later");
	prm = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(PBE2PARAM), macalg->parameter);
	if (prm != NULL && prm->keyfunc != NULL &&
	    OBJ_obj2nid(prm->keyfunc->algorithm) == NID_id_pbkdf2)
		kdf = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBKDF2PARAM), prm->keyfunc->parameter);
	if (kdf == NULL || kdf->iter == NULL)
		cf_errorf(err, CF_E_PARSE, "malformed PBMAC1 parameters");
	else if (pbe_check_iter(kdf->iter, "MAC", &c->mac_iter, err) == 0)
		rc = pbe_declare(c->pbe, c->mac_iter, err);
	PBE2PARAM_free(prm);
	PBKDF2PARAM_free(kdf);
	ERR_clear_error();
	return rc;
}

/* Checks the MAC's algorithm and iteration count; derives nothing. */
static int
check_mac(struct p12 *c, const PKCS12 *p12, struct cf_error *err)
{
	const ASN1_OCTET_STRING *mac = NULL, *salt = NULL;
	const X509_ALGOR *macalg = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj = NULL;
	char d[PBE_OID_DESC];
	int nid;

	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	if (mac == NULL || macalg == NULL || salt == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "not a valid PKCS#12 file (malformed MAC)");
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_pbmac1)
		return check_pbmac1(c, macalg, err);
	if (pbe_check_iter(iter, "MAC", &c->mac_iter, err) == -1 ||
	    pbe_declare(c->pbe, c->mac_iter, err) == -1)
		return -1;
	if (nid == NID_undef || !pbe_fetchable(NULL, NULL, OBJ_nid2sn(nid)))
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "unsupported MAC algorithm %s", pbe_oid_desc(obj, d));
	return 0;
}

/* The encrypted content of an EncryptedData safe, checked for NULLs. */
static const X509_ALGOR *
encdata_parts(PKCS7 *p7, const ASN1_OCTET_STRING **oct)
{
	*oct = NULL;
	if (p7->d.encrypted == NULL || p7->d.encrypted->enc_data == NULL)
		return NULL;
	*oct = p7->d.encrypted->enc_data->enc_data;
	return p7->d.encrypted->enc_data->algorithm;
}

/*
 * The check pass over the authenticated safes: plain safes are unpacked
 * (into plain[i]) and walked; encrypted ones have their algorithm and
 * iteration count checked.
 */
static int
check_safes(struct p12 *c, STACK_OF(PKCS7) * safes,
    STACK_OF(PKCS12_SAFEBAG) * *plain, struct cf_error *err)
{
	const ASN1_OCTET_STRING *oct;
	const X509_ALGOR *alg;
	char d[PBE_OID_DESC];
	int i;

	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			if ((plain[i] = PKCS12_unpack_p7data(p7)) == NULL)
				return not_pkcs12(err);
			if (walk_bags(c, plain[i], 0, WALK_CHECK, err) == -1)
				return -1;
			break;
		case NID_pkcs7_encrypted:
			if ((alg = encdata_parts(p7, &oct)) == NULL ||
			    oct == NULL)
				return not_pkcs12(err);
			if (inspect(c, alg, "certificate safe", err) == -1)
				return -1;
			break;
		case NID_pkcs7_enveloped:
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "public-key privacy mode (enveloped safe) is not "
			    "supported");
		default:
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "unsupported safe content type %s",
			    pbe_oid_desc(p7->type, d));
		}
	}
	return 0;
}

/*
 * The take pass: decrypt what is encrypted, collect everything.  The
 * bags of an encrypted safe get their own check pass once decrypted.
 */
static int
take_safes(struct p12 *c, STACK_OF(PKCS7) * safes,
    STACK_OF(PKCS12_SAFEBAG) * *plain, struct cf_error *err)
{
	const ASN1_OCTET_STRING *oct;
	STACK_OF(PKCS12_SAFEBAG) * bags;
	const struct pbe *p;
	int i, mark, rc;

	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (plain[i] != NULL) {
			if (walk_bags(c, plain[i], 0, WALK_TAKE, err) == -1)
				return -1;
			continue;
		}
		if ((p = inspected(c, encdata_parts(p7, &oct), err)) == NULL)
			return -1;
		bags = pbe_decrypt(c->pbe, p, oct,
		    ASN1_ITEM_rptr(PKCS12_SAFEBAGS), "certificate safe", err);
		if (bags == NULL)
			return -1;
		mark = c->nseen;
		rc = walk_bags(c, bags, 0, WALK_CHECK, err);
		if (rc == 0)
			rc = walk_bags(c, bags, 0, WALK_TAKE, err);
		forget(c, mark);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
cf_pkcs12_sniff(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	PKCS12 *p12;

	if (data == NULL || len < 2 || data[0] != 0x30 ||
	    len > CF_MAX_INPUT_BYTES)
		return 0;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	ERR_clear_error();
	if (p12 == NULL)
		return 0;
	PKCS12_free(p12);
	return 1;
}

/*
 * Both passes over the DER der into c->got, with c->pbe made here for
 * password; the caller frees c's parts.  Messages are bare.
 */
static int
parse(struct p12 *c, const unsigned char *der, size_t len, const char *password,
    struct cf_error *err)
{
	const unsigned char *p = der;
	PKCS12 *p12 = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) **plain = NULL;
	int i, nsafes = 0, rc = -1;

	if (len > CF_MAX_INPUT_BYTES)
		return cf_errorf(err, CF_E_LIMIT,
		    "larger than %u bytes; not a certificate file",
		    CF_MAX_INPUT_BYTES);
	if (der == NULL || len == 0)
		return cf_errorf(err, CF_E_PARSE, "the file is empty");
	if ((c->pbe = pbe_ctx_new(password, err)) == NULL)
		goto out;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		not_pkcs12(err);
		goto out;
	}
	if (PKCS12_mac_present(p12) && check_mac(c, p12, err) == -1)
		goto out;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		not_pkcs12(err);
		goto out;
	}
	if ((nsafes = sk_PKCS7_num(safes)) > CF_P12_MAX_BAGS) {
		cf_errorf(
		    err, CF_E_LIMIT, "more than %d safes", CF_P12_MAX_BAGS);
		goto out;
	}
	plain = xcalloc((size_t)nsafes + 1, sizeof(*plain));
	if (check_safes(c, safes, plain, err) == -1)
		goto out;
	/* Everything is checked: key derivation may start. */
	if (PKCS12_mac_present(p12) &&
	    pbe_verify_mac(c->pbe, p12, c->mac_iter, err) == -1)
		goto out;
	rc = take_safes(c, safes, plain, err);
out:
	for (i = 0; plain != NULL && i < nsafes; i++)
		sk_PKCS12_SAFEBAG_pop_free(plain[i], PKCS12_SAFEBAG_free);
	free(plain);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	return rc;
}

int
cf_pkcs12_parse(const char *name, const unsigned char *der, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err)
{
	struct p12 c = {0};
	int rc = -1;

	ERR_clear_error();
	c.got = cf_bundle_new();
	if (parse(&c, der, len, password, err) == -1) {
		cf_error_prefix(err, "%s: ", name);
		goto out;
	}
	if (cf_bundle_move(name, c.got, out, err) == -1)
		goto out;
	out->was_pkcs12 = 1;
	rc = 0;
out:
	forget(&c, 0);
	free(c.seen);
	cf_bundle_free(c.got);
	pbe_ctx_free(c.pbe);
	ERR_clear_error();
	return rc;
}

/* An EncryptedPrivateKeyInfo der into *key; messages bare. */
static int
decrypt_pkcs8(const unsigned char *der, size_t len, const char *password,
    EVP_PKEY **key, struct cf_error *err)
{
	struct pbe_ctx *pc = NULL;
	const unsigned char *p = der;
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *oct = NULL;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	struct pbe pb = {0};
	int rc = -1;

	if ((pc = pbe_ctx_new(password, err)) == NULL)
		goto out;
	if (len > CF_MAX_INPUT_BYTES ||
	    (sig = d2i_X509_SIG(NULL, &p, (long)len)) == NULL) {
		cf_errorf(err, CF_E_PARSE, "malformed encrypted private key");
		goto out;
	}
	X509_SIG_get0(sig, &alg, &oct);
	if (pbe_inspect(pc, alg, "private key", &pb, err) == -1 ||
	    pbe_declare(pc, pb.iter, err) == -1)
		goto out;
	p8 = pbe_decrypt(pc, &pb, oct, ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO),
	    "private key", err);
	if (p8 == NULL || p8_to_key(p8, key, err) == -1)
		goto out;
	rc = 0;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	pbe_clear(&pb);
	X509_SIG_free(sig);
	pbe_ctx_free(pc);
	return rc;
}

int
cf_pkcs12_decrypt_pkcs8(const char *name, const unsigned char *der, size_t len,
    const char *password, EVP_PKEY **key, struct cf_error *err)
{
	int rc;

	*key = NULL;
	ERR_clear_error();
	rc = decrypt_pkcs8(der, len, password, key, err);
	ERR_clear_error();
	if (rc == -1)
		cf_error_prefix(err, "%s: ", name);
	return rc;
}
