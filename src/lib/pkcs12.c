/*
 * pkcs12.c - reading PKCS#12 (PFX) files: see pkcs12.h.  Writing
 * lives in pkcs12_write.c.
 *
 * Reading is done in two passes over OpenSSL's own ASN.1 structures.
 * The first pass derives nothing: it checks the MAC algorithm, every
 * encryption algorithm and every iteration count against the caps and
 * counts the bags.  Only then is the MAC verified and are the safes and
 * keys decrypted; a shrouded key inside an encrypted safe is checked
 * after its safe is decrypted and before it is itself decrypted.
 *
 * Every decryption tries the encodings a password has been written
 * with, best first (struct p12 below), and asks for OpenSSL's legacy
 * provider only when an algorithm (RC2-40, DES) is missing from the
 * default one.  The legacy provider is loaded into a library context of
 * its own, with the default provider beside it, so the process-wide
 * default context never sees it and it is gone when the parse returns.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "pkcs12.h"
#include "util.h"

#define MAX_NESTING 4	     /* safeContents bags inside safeContents */
#define MAX_PASSWORD 4096    /* bytes; longer is no password a person typed */
#define MAX_VARIANTS 3

/* One encoding of the password: bytes and length (p NULL: none at all). */
struct pw {
	const char *p;
	int len;
};

/* How an algorithm turns the password into a key. */
enum kdf_kind {
	KDF_PKCS12, /* RFC 7292 appendix B: OpenSSL converts UTF-8 to BMPString */
	KDF_RAW,    /* PBKDF2 / PBKDF1: the password bytes as they are */
};

/* State of one parse. */
struct p12 {
	const char *name;
	int no_password;  /* none given (NULL or "") */
	long long mac_iter;
	int mac_verified; /* the MAC held under one of the encodings */

	/*
	 * Encodings to try for each kind of key derivation, best first.
	 * PKCS#12 KDF: the password as UTF-8 (OpenSSL makes it a BMPString),
	 * then each byte taken as one character (what OpenSSL before 1.1.0
	 * wrote, PKCS12_key_gen_asc); with no password, the zero-length
	 * encoding and then the empty BMPString {0,0}.
	 * Raw KDF: the UTF-8 bytes, then ISO-8859-1 bytes (RSA BSAFE), then
	 * the BMPString bytes (NSS before 3.31 fed PBKDF2 those).
	 */
	struct pw v12[MAX_VARIANTS];
	int n12;
	struct pw vraw[MAX_VARIANTS];
	int nraw;
	char *asc;	    /* OpenSSL's "broken" form of the password */
	char *latin1;	    /* ISO-8859-1 form, when there is one */
	unsigned char *bmp; /* BMPString form */
	int bmplen;
	size_t asclen, latin1len;

	long long declared; /* iteration counts seen, before deriving */
	long long spent;    /* iterations actually derived, retries included */
	int nbags;

	OSSL_LIB_CTX *lctx; /* default + legacy, loaded on demand */
	OSSL_PROVIDER *pdefault, *plegacy;
	int legacy_failed;

	struct cf_bundle *got; /* what has been found so far */
};

/* What pbe_inspect learned about one encryption AlgorithmIdentifier. */
struct pbe {
	const X509_ALGOR *alg;	 /* to decrypt with: the file's, or fixed */
	X509_ALGOR *fixed;	 /* owned: NSS AES OID repaired (see below) */
	enum kdf_kind kind;
	long long iter;
	OSSL_LIB_CTX *libctx;	 /* NULL: the default context */
};

static const char *
oid_name(const ASN1_OBJECT *obj, char *buf, size_t n)
{
	if (obj == NULL || OBJ_obj2txt(buf, (int)n, obj, 0) <= 0)
		snprintf(buf, n, "(unknown)");
	return buf;
}

static const char *
oid_num(const ASN1_OBJECT *obj, char *buf, size_t n)
{
	if (obj == NULL || OBJ_obj2txt(buf, (int)n, obj, 1) <= 0)
		snprintf(buf, n, "?");
	return buf;
}

/* Prefixes err's message with "name: " after a helper set it bare. */
static int
prefix_error(struct cf_error *err, const char *name)
{
	char tmp[sizeof(err->msg)];

	if (err == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s", err->msg);
	return cf_errorf(err, err->code, "%s: %s", name, tmp);
}

/* ---- password encodings ---------------------------------------------- */

static int
has_high_bytes(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * Fills the variant lists from password.  The alternative encodings are
 * made by OpenSSL's own converters (OPENSSL_utf82uni, OPENSSL_asc2uni,
 * OPENSSL_uni2utf8) - the trick apps/pkcs12.c uses for files written by
 * OpenSSL before 1.1.0 - never by a KDF of our own.
 */
static int
pw_setup(struct p12 *c, const char *password, struct cf_error *err)
{
	size_t n;
	unsigned char *asc_uni = NULL;
	int asc_unilen = 0, i;

	if (password == NULL || password[0] == '\0') {
		c->no_password = 1;
		c->v12[0] = (struct pw){NULL, 0};
		c->v12[1] = (struct pw){"", 0};
		c->n12 = 2;
		/* PBKDF2 sees NULL and "" alike; HMAC zero-pads, so {0,0} too */
		c->vraw[0] = (struct pw){NULL, 0};
		c->nraw = 1;
		return 0;
	}
	n = strlen(password);
	if (n > MAX_PASSWORD)
		return cf_errorf(err, CF_E_PASSWORD,
		    "%s: the password is longer than %d bytes", c->name,
		    MAX_PASSWORD);
	c->v12[c->n12++] = (struct pw){password, (int)n};
	c->vraw[c->nraw++] = (struct pw){password, (int)n};
	if (OPENSSL_utf82uni(password, (int)n, &c->bmp, &c->bmplen) == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (has_high_bytes(password) &&
	    OPENSSL_asc2uni(password, (int)n, &asc_uni, &asc_unilen) != NULL &&
	    (c->bmplen != asc_unilen ||
		memcmp(c->bmp, asc_uni, (size_t)asc_unilen) != 0)) {
		/* valid UTF-8 beyond ASCII: the byte-per-character form */
		c->asc = OPENSSL_uni2utf8(asc_uni, asc_unilen);
		if (c->asc != NULL) {
			c->asclen = strlen(c->asc);
			c->v12[c->n12++] = (struct pw){c->asc, (int)c->asclen};
		}
		/* ISO-8859-1 exists when every character is below U+0100 */
		c->latin1 = xmalloc((size_t)c->bmplen / 2 + 1);
		for (i = 0; i + 1 < c->bmplen && c->bmp[i] == 0; i += 2)
			c->latin1[c->latin1len++] = (char)c->bmp[i + 1];
		/* all of it, minus the {0,0} that ends a BMPString */
		if (i + 1 >= c->bmplen && c->latin1len > 0) {
			c->latin1len--;
			c->vraw[c->nraw++] =
			    (struct pw){c->latin1, (int)c->latin1len};
		}
	}
	ERR_clear_error();
	c->vraw[c->nraw++] = (struct pw){(const char *)c->bmp, c->bmplen};
	OPENSSL_clear_free(asc_uni, (size_t)asc_unilen);
	return 0;
}

static void
pw_clear(struct p12 *c)
{
	if (c->asc != NULL)
		OPENSSL_clear_free(c->asc, c->asclen);
	if (c->latin1 != NULL) {
		OPENSSL_cleanse(c->latin1, c->latin1len);
		free(c->latin1);
	}
	if (c->bmp != NULL)
		OPENSSL_clear_free(c->bmp, (size_t)c->bmplen);
}

/* Moves variant i of v to the front: later decryptions try it first. */
static void
pw_prefer(struct pw *v, int i)
{
	struct pw t = v[i];

	memmove(v + 1, v, (size_t)i * sizeof(*v));
	v[0] = t;
}

/* ---- limits ------------------------------------------------------------ */

/*
 * Checks one iteration count (NULL: absent, which RFC 7292 makes 1 for
 * the MAC) against the cap for one derivation; what names it.
 */
static int
check_iter(struct p12 *c, const ASN1_INTEGER *ai, const char *what,
    long long *iter, struct cf_error *err)
{
	int64_t v = 1;

	if (ai != NULL && !ASN1_INTEGER_get_int64(&v, ai)) {
		ERR_clear_error();
		/* beyond 64 bits: negative ones are malformed all the same */
		v = ai->type == V_ASN1_NEG_INTEGER ? -1 : INT64_MAX;
	}
	if (v <= 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: %s iteration count %lld is not positive (malformed "
		    "file)", c->name, what, (long long)v);
	if (v > CF_P12_MAX_ITER)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: %s iteration count %lld exceeds the limit of %d; "
		    "refusing to spend minutes deriving keys", c->name, what,
		    (long long)v, CF_P12_MAX_ITER);
	*iter = v;
	return 0;
}

/* Adds a checked iteration count to the file's total, before deriving. */
static int
declare(struct p12 *c, long long iter, struct cf_error *err)
{
	c->declared += iter;
	if (c->declared > CF_P12_MAX_ITER_TOTAL)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: iteration counts add up to %lld, over the limit of "
		    "%d for one file; refusing to spend minutes deriving keys",
		    c->name, c->declared, CF_P12_MAX_ITER_TOTAL);
	return 0;
}

/* Charges one key derivation of iter iterations about to run. */
static int
charge(struct p12 *c, long long iter, struct cf_error *err)
{
	c->spent += iter;
	if (c->spent > CF_P12_MAX_ITER_TOTAL)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: trying the password took over %d iterations; "
		    "refusing to spend minutes deriving keys", c->name,
		    CF_P12_MAX_ITER_TOTAL);
	return 0;
}

static int
count_bag(struct p12 *c, struct cf_error *err)
{
	if (++c->nbags > CF_P12_MAX_BAGS)
		return cf_errorf(err, CF_E_LIMIT, "%s: more than %d bags",
		    c->name, CF_P12_MAX_BAGS);
	return 0;
}

/* ---- algorithms ---------------------------------------------------------- */

static int
fetchable(OSSL_LIB_CTX *lc, const char *cipher, const char *md)
{
	EVP_CIPHER *ci = NULL;
	EVP_MD *m = NULL;
	int ok;

	ERR_set_mark();
	if (cipher != NULL)
		ci = EVP_CIPHER_fetch(lc, cipher, NULL);
	if (md != NULL)
		m = EVP_MD_fetch(lc, md, NULL);
	ok = (cipher == NULL || ci != NULL) && (md == NULL || m != NULL);
	EVP_CIPHER_free(ci);
	EVP_MD_free(m);
	ERR_pop_to_mark();
	return ok;
}

static void
legacy_unload(struct p12 *c)
{
	if (c->plegacy != NULL)
		OSSL_PROVIDER_unload(c->plegacy);
	if (c->pdefault != NULL)
		OSSL_PROVIDER_unload(c->pdefault);
	OSSL_LIB_CTX_free(c->lctx);
	c->plegacy = c->pdefault = NULL;
	c->lctx = NULL;
}

/* The context with the legacy provider, loaded on first need. */
static OSSL_LIB_CTX *
legacy_ctx(struct p12 *c)
{
	if (c->lctx != NULL || c->legacy_failed)
		return c->lctx;
	ERR_set_mark();
	if ((c->lctx = OSSL_LIB_CTX_new()) != NULL &&
	    (c->pdefault = OSSL_PROVIDER_load(c->lctx, "default")) != NULL &&
	    (c->plegacy = OSSL_PROVIDER_load(c->lctx, "legacy")) != NULL) {
		ERR_pop_to_mark();
		return c->lctx;
	}
	ERR_pop_to_mark();
	legacy_unload(c);
	c->legacy_failed = 1;
	return NULL;
}

/*
 * Picks the context that has cipher and md: the default one, else the
 * legacy one.  alg names the algorithm in the error.
 */
static int
pick_ctx(struct p12 *c, const ASN1_OBJECT *alg, const char *cipher,
    const char *md, const char *what, OSSL_LIB_CTX **lc, struct cf_error *err)
{
	char nm[128], num[128];

	*lc = NULL;
	if (fetchable(NULL, cipher, md))
		return 0;
	if ((*lc = legacy_ctx(c)) != NULL && fetchable(*lc, cipher, md))
		return 0;
	if (c->legacy_failed)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: the %s is encrypted with %s, which needs OpenSSL's "
		    "legacy provider, and it could not be loaded", c->name,
		    what, oid_name(alg, nm, sizeof(nm)));
	return cf_errorf(err, CF_E_UNSUPPORTED,
	    "%s: unsupported encryption algorithm %s (%s) for the %s", c->name,
	    oid_name(alg, nm, sizeof(nm)), oid_num(alg, num, sizeof(num)),
	    what);
}

static int
is_pkcs12_pbe(int nid)
{
	switch (nid) {
	case NID_pbe_WithSHA1And128BitRC4:
	case NID_pbe_WithSHA1And40BitRC4:
	case NID_pbe_WithSHA1And3_Key_TripleDES_CBC:
	case NID_pbe_WithSHA1And2_Key_TripleDES_CBC:
	case NID_pbe_WithSHA1And128BitRC2_CBC:
	case NID_pbe_WithSHA1And40BitRC2_CBC:
		return 1;
	}
	return 0;
}

static int
aes_cbc_nid(int keylen)
{
	switch (keylen) {
	case 16:
		return NID_aes_128_cbc;
	case 24:
		return NID_aes_192_cbc;
	case 32:
		return NID_aes_256_cbc;
	}
	return NID_undef;
}

/*
 * NSS 3.29.5 wrote AES-256 encrypted keys under the AES-128-CBC OID
 * while giving the right key length (32) in the PBKDF2 parameters;
 * OpenSSL refuses the mismatch.  The key length is the truth (NSS reads
 * its files that way): build a copy of alg naming the AES-CBC cipher
 * of that length.  Any other mismatch is left for OpenSSL to refuse.
 */
static X509_ALGOR *
nss_aes_fix(PBE2PARAM *pbe2, int cipher_nid, const PBKDF2PARAM *kdf)
{
	X509_ALGOR *fixed = NULL;
	ASN1_STRING *seq = NULL;
	int64_t kl;
	int want;

	if (kdf->keylength == NULL ||
	    !ASN1_INTEGER_get_int64(&kl, kdf->keylength) || kl > 64) {
		ERR_clear_error();
		return NULL;
	}
	if (cipher_nid != NID_aes_128_cbc && cipher_nid != NID_aes_192_cbc &&
	    cipher_nid != NID_aes_256_cbc)
		return NULL;
	want = aes_cbc_nid((int)kl);
	if (want == NID_undef || want == cipher_nid)
		return NULL;
	/* V_ASN1_EOC: replace the OID, keep the IV parameter */
	if (!X509_ALGOR_set0(pbe2->encryption, OBJ_nid2obj(want), V_ASN1_EOC,
		NULL) ||
	    (seq = ASN1_item_pack(pbe2, ASN1_ITEM_rptr(PBE2PARAM), NULL)) ==
		NULL ||
	    (fixed = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(fixed, OBJ_nid2obj(NID_pbes2), V_ASN1_SEQUENCE,
		seq)) {
		ASN1_STRING_free(seq);
		X509_ALGOR_free(fixed);
		ERR_clear_error();
		return NULL;
	}
	return fixed;
}

/* PBES2: PBKDF2 parameters, PRF and cipher (RFC 8018). */
static int
inspect_pbes2(struct p12 *c, const X509_ALGOR *alg, const char *what,
    struct pbe *out, struct cf_error *err)
{
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	char nm[128], num[128];
	int prf_nid, md_nid, cipher_nid, rc = -1;

	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    alg->parameter);
	if (pbe2 == NULL || pbe2->keyfunc == NULL || pbe2->encryption == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: malformed PBES2 parameters for the %s", c->name, what);
		goto out;
	}
	if (OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported key derivation %s (%s) for the %s",
		    c->name, oid_name(pbe2->keyfunc->algorithm, nm, sizeof(nm)),
		    oid_num(pbe2->keyfunc->algorithm, num, sizeof(num)), what);
		goto out;
	}
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
	    pbe2->keyfunc->parameter);
	if (kdf == NULL || kdf->salt == NULL ||
	    kdf->salt->type != V_ASN1_OCTET_STRING || kdf->iter == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: malformed PBKDF2 parameters for the %s", c->name, what);
		goto out;
	}
	if (check_iter(c, kdf->iter, what, &out->iter, err) == -1)
		goto out;
	prf_nid = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm)
				   : NID_hmacWithSHA1;
	if (!EVP_PBE_find_ex(EVP_PBE_TYPE_PRF, prf_nid, NULL, &md_nid, NULL,
		NULL)) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported PBKDF2 PRF %s (%s) for the %s", c->name,
		    oid_name(kdf->prf->algorithm, nm, sizeof(nm)),
		    oid_num(kdf->prf->algorithm, num, sizeof(num)), what);
		goto out;
	}
	cipher_nid = OBJ_obj2nid(pbe2->encryption->algorithm);
	if (cipher_nid == NID_undef) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported cipher %s for the %s", c->name,
		    oid_num(pbe2->encryption->algorithm, num, sizeof(num)),
		    what);
		goto out;
	}
	if (pick_ctx(c, pbe2->encryption->algorithm, OBJ_nid2sn(cipher_nid),
		OBJ_nid2sn(md_nid), what, &out->libctx, err) == -1)
		goto out;
	out->kind = KDF_RAW;
	out->alg = alg;
	if ((out->fixed = nss_aes_fix(pbe2, cipher_nid, kdf)) != NULL)
		out->alg = out->fixed;
	rc = 0;
out:
	PBE2PARAM_free(pbe2);
	PBKDF2PARAM_free(kdf);
	return rc;
}

/*
 * Checks an encryption AlgorithmIdentifier before anything is derived
 * with it: known scheme, iteration count within the caps, cipher and
 * digest available (from the legacy provider if need be).  what names
 * the encrypted thing in messages.
 */
static int
pbe_inspect(struct p12 *c, const X509_ALGOR *alg, const char *what,
    struct pbe *out, struct cf_error *err)
{
	PBEPARAM *pbe = NULL;
	char nm[128], num[128];
	int nid, cipher_nid = -1, md_nid = -1, rc = -1;

	memset(out, 0, sizeof(*out));
	if (alg == NULL || alg->algorithm == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: the %s has no encryption algorithm", c->name, what);
	nid = OBJ_obj2nid(alg->algorithm);
	if (nid == NID_pbes2)
		return inspect_pbes2(c, alg, what, out, err);
	if (nid == NID_undef ||
	    !EVP_PBE_find_ex(EVP_PBE_TYPE_OUTER, nid, &cipher_nid, &md_nid,
		NULL, NULL) ||
	    cipher_nid == -1 || md_nid == -1) {
		ERR_clear_error();
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported encryption algorithm %s (%s) for the %s",
		    c->name, oid_name(alg->algorithm, nm, sizeof(nm)),
		    oid_num(alg->algorithm, num, sizeof(num)), what);
	}
	pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM),
	    alg->parameter);
	if (pbe == NULL || pbe->salt == NULL || pbe->iter == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: malformed %s parameters for the %s", c->name,
		    oid_name(alg->algorithm, nm, sizeof(nm)), what);
		goto out;
	}
	if (check_iter(c, pbe->iter, what, &out->iter, err) == -1)
		goto out;
	if (pick_ctx(c, alg->algorithm, OBJ_nid2sn(cipher_nid),
		OBJ_nid2sn(md_nid), what, &out->libctx, err) == -1)
		goto out;
	out->kind = is_pkcs12_pbe(nid) ? KDF_PKCS12 : KDF_RAW;
	out->alg = alg;
	rc = 0;
out:
	PBEPARAM_free(pbe);
	ERR_clear_error();
	return rc;
}

/* A failure that another password encoding could cure. */
static int
bad_password_error(void)
{
	unsigned long e = ERR_peek_last_error();

	if (ERR_GET_LIB(e) != ERR_LIB_PKCS12)
		return 0;
	return ERR_GET_REASON(e) == PKCS12_R_PKCS12_CIPHERFINAL_ERROR ||
	    ERR_GET_REASON(e) == PKCS12_R_DECODE_ERROR;
}

/*
 * Decrypts oct under the inspected algorithm p into an it, trying each
 * password encoding of p's kind; the one that works goes to the front.
 */
static void *
pbe_decrypt(struct p12 *c, const struct pbe *p, const ASN1_OCTET_STRING *oct,
    const ASN1_ITEM *it, const char *what, struct cf_error *err)
{
	struct pw *v = p->kind == KDF_PKCS12 ? c->v12 : c->vraw;
	int n = p->kind == KDF_PKCS12 ? c->n12 : c->nraw, i;
	void *res;

	if (oct == NULL) {
		cf_errorf(err, CF_E_PARSE, "%s: the %s has no encrypted content",
		    c->name, what);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (charge(c, p->iter, err) == -1)
			return NULL;
		ERR_clear_error();
		res = PKCS12_item_decrypt_d2i_ex(p->alg, it, v[i].p, v[i].len,
		    oct, 1, p->libctx, NULL);
		if (res != NULL) {
			pw_prefer(v, i);
			ERR_clear_error();
			return res;
		}
		if (!bad_password_error()) {
			cf_errorf_ossl(err, CF_E_PARSE,
			    "%s: cannot decrypt the %s", c->name, what);
			return NULL;
		}
	}
	ERR_clear_error();
	if (c->mac_verified)
		cf_errorf(err, CF_E_PARSE,
		    "%s: the %s does not decrypt although the MAC password "
		    "is right (damaged file, or a separate encryption "
		    "password)", c->name, what);
	else if (c->no_password)
		cf_errorf(err, CF_E_PASSWORD, "%s: a password is needed",
		    c->name);
	else
		cf_errorf(err, CF_E_PASSWORD,
		    "%s: cannot decrypt the %s (wrong password?)", c->name,
		    what);
	return NULL;
}

/* ---- bags ------------------------------------------------------------------ */

/* Decodes a PKCS#8 key, telling an unknown algorithm from damage. */
static int
p8_to_key(const char *name, const PKCS8_PRIV_KEY_INFO *p8, EVP_PKEY **key,
    struct cf_error *err)
{
	const ASN1_OBJECT *obj = NULL;
	const X509_ALGOR *palg = NULL;
	EVP_KEYMGMT *km;
	char nm[128], num[128];

	*key = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
	if (*key != NULL)
		return 0;
	ERR_clear_error();
	if (PKCS8_pkey_get0(&obj, NULL, NULL, &palg, p8) && obj != NULL) {
		ERR_set_mark();
		km = EVP_KEYMGMT_fetch(NULL, oid_num(obj, num, sizeof(num)),
		    NULL);
		ERR_pop_to_mark();
		if (km == NULL)
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "%s: unsupported private key algorithm %s (%s)",
			    name, oid_name(obj, nm, sizeof(nm)), num);
		EVP_KEYMGMT_free(km);
	}
	return cf_errorf(err, CF_E_PARSE, "%s: a private key is malformed",
	    name);
}

static int
take_key(struct p12 *c, const PKCS8_PRIV_KEY_INFO *p8, struct cf_error *err)
{
	EVP_PKEY *key;

	if (p8 == NULL)
		return cf_errorf(err, CF_E_PARSE, "%s: a key bag is empty",
		    c->name);
	if (p8_to_key(c->name, p8, &key, err) == -1)
		return -1;
	if (cf_bundle_add_key(c->got, key, err) == -1)
		return prefix_error(err, c->name);
	return 0;
}

static int
take_cert(struct p12 *c, PKCS12_SAFEBAG *bag, struct cf_error *err)
{
	X509 *x;
	char *fn;

	if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
		return 0; /* SDSI certificates: not ours */
	if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL)
		return cf_errorf_ossl(err, CF_E_PARSE,
		    "%s: a certificate is malformed", c->name);
	if ((fn = PKCS12_get_friendlyname(bag)) != NULL) {
		if (fn[0] != '\0' &&
		    !X509_alias_set1(x, (unsigned char *)fn, (int)strlen(fn)))
			abort();
		OPENSSL_free(fn);
	}
	ERR_clear_error();
	if (cf_bundle_add_cert(c->got, x, err) == -1)
		return prefix_error(err, c->name);
	return 0;
}

static int
take_shrouded(struct p12 *c, PKCS12_SAFEBAG *bag, struct cf_error *err)
{
	const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *oct = NULL;
	PKCS8_PRIV_KEY_INFO *p8;
	struct pbe p;
	int rc;

	if (sig == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: a shrouded key bag is empty", c->name);
	X509_SIG_get0(sig, &alg, &oct);
	/* declared in the check pass; inspected again for its context */
	if (pbe_inspect(c, alg, "private key", &p, err) == -1)
		return -1;
	p8 = pbe_decrypt(c, &p, oct, ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO),
	    "private key", err);
	X509_ALGOR_free(p.fixed);
	if (p8 == NULL)
		return -1;
	rc = take_key(c, p8, err);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

enum walk { WALK_CHECK, WALK_TAKE };

/*
 * The check pass counts the bags and inspects every shrouded key's
 * algorithm; the take pass decrypts and collects.  Unknown bag types
 * (CRLs, secrets) and unknown attributes are skipped.
 */
static int
walk_bags(struct p12 *c, const STACK_OF(PKCS12_SAFEBAG) *bags, int depth,
    enum walk mode, struct cf_error *err)
{
	int i;

	if (depth > MAX_NESTING)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: safe contents nested more than %d deep", c->name,
		    MAX_NESTING);
	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		const X509_SIG *sig;
		const X509_ALGOR *alg = NULL;
		struct pbe p;
		int rc = 0;

		if (mode == WALK_CHECK && count_bag(c, err) == -1)
			return -1;
		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_certBag:
			if (mode == WALK_TAKE)
				rc = take_cert(c, bag, err);
			break;
		case NID_keyBag:
			if (mode == WALK_TAKE)
				rc = take_key(c, PKCS12_SAFEBAG_get0_p8inf(bag),
				    err);
			break;
		case NID_pkcs8ShroudedKeyBag:
			if (mode == WALK_TAKE) {
				rc = take_shrouded(c, bag, err);
				break;
			}
			if ((sig = PKCS12_SAFEBAG_get0_pkcs8(bag)) == NULL)
				return cf_errorf(err, CF_E_PARSE,
				    "%s: a shrouded key bag is empty", c->name);
			X509_SIG_get0(sig, &alg, NULL);
			rc = pbe_inspect(c, alg, "private key", &p, err);
			X509_ALGOR_free(p.fixed);
			if (rc == 0)
				rc = declare(c, p.iter, err);
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

/* ---- the file ---------------------------------------------------------------- */

static int
not_pkcs12(const char *name, struct cf_error *err)
{
	unsigned long e = ERR_peek_error();
	int r = ERR_GET_REASON(e);

	ERR_clear_error();
	if (ERR_GET_LIB(e) == ERR_LIB_ASN1 &&
	    (r == ASN1_R_TOO_LONG || r == ASN1_R_HEADER_TOO_LONG ||
		r == ASN1_R_NOT_ENOUGH_DATA))
		return cf_errorf(err, CF_E_PARSE,
		    "%s: not a valid PKCS#12 file (truncated)", name);
	return cf_errorf(err, CF_E_PARSE,
	    "%s: not a valid PKCS#12 file (malformed structure)", name);
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
		    "%s: PBMAC1 integrity (RFC 9579) needs OpenSSL 3.4 or "
		    "later", c->name);
	prm = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    macalg->parameter);
	if (prm != NULL && prm->keyfunc != NULL &&
	    OBJ_obj2nid(prm->keyfunc->algorithm) == NID_id_pbkdf2)
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
		    prm->keyfunc->parameter);
	if (kdf == NULL || kdf->iter == NULL)
		cf_errorf(err, CF_E_PARSE, "%s: malformed PBMAC1 parameters",
		    c->name);
	else if (check_iter(c, kdf->iter, "MAC", &c->mac_iter, err) == 0)
		rc = declare(c, c->mac_iter, err);
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
	char nm[128], num[128];
	int nid;

	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	if (mac == NULL || macalg == NULL || salt == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: not a valid PKCS#12 file (malformed MAC)", c->name);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_pbmac1)
		return check_pbmac1(c, macalg, err);
	if (check_iter(c, iter, "MAC", &c->mac_iter, err) == -1 ||
	    declare(c, c->mac_iter, err) == -1)
		return -1;
	if (nid == NID_undef || !fetchable(NULL, NULL, OBJ_nid2sn(nid)))
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s: unsupported MAC algorithm %s (%s)", c->name,
		    oid_name(obj, nm, sizeof(nm)), oid_num(obj, num, sizeof(num)));
	return 0;
}

/* Verifies the MAC under each no-/given-password encoding in turn. */
static int
verify_mac(struct p12 *c, PKCS12 *p12, struct cf_error *err)
{
	int i;

	for (i = 0; i < c->n12; i++) {
		if (charge(c, c->mac_iter, err) == -1)
			return -1;
		ERR_clear_error();
		if (PKCS12_verify_mac(p12, c->v12[i].p, c->v12[i].len)) {
			pw_prefer(c->v12, i);
			c->mac_verified = 1;
			ERR_clear_error();
			return 0;
		}
		/* a wrong password leaves no error; anything else is damage */
		if (ERR_peek_error() != 0)
			return cf_errorf_ossl(err, CF_E_PARSE,
			    "%s: not a valid PKCS#12 file (the MAC cannot be "
			    "computed)", c->name);
	}
	if (c->no_password)
		return cf_errorf(err, CF_E_PASSWORD, "%s: a password is needed",
		    c->name);
	return cf_errorf(err, CF_E_PASSWORD,
	    "%s: MAC verification failed (wrong password?)", c->name);
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
check_safes(struct p12 *c, STACK_OF(PKCS7) *safes,
    STACK_OF(PKCS12_SAFEBAG) **plain, struct cf_error *err)
{
	const ASN1_OCTET_STRING *oct;
	const X509_ALGOR *alg;
	char nm[128];
	struct pbe p;
	int i;

	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			if ((plain[i] = PKCS12_unpack_p7data(p7)) == NULL)
				return not_pkcs12(c->name, err);
			if (walk_bags(c, plain[i], 0, WALK_CHECK, err) == -1)
				return -1;
			break;
		case NID_pkcs7_encrypted:
			if ((alg = encdata_parts(p7, &oct)) == NULL ||
			    oct == NULL)
				return not_pkcs12(c->name, err);
			if (pbe_inspect(c, alg, "certificate safe", &p, err) ==
			    -1)
				return -1;
			X509_ALGOR_free(p.fixed);
			if (declare(c, p.iter, err) == -1)
				return -1;
			break;
		case NID_pkcs7_enveloped:
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "%s: public-key privacy mode (enveloped safe) is "
			    "not supported", c->name);
		default:
			return cf_errorf(err, CF_E_UNSUPPORTED,
			    "%s: unsupported safe content type %s", c->name,
			    oid_name(p7->type, nm, sizeof(nm)));
		}
	}
	return 0;
}

/* The take pass: decrypt what is encrypted, collect everything. */
static int
take_safes(struct p12 *c, STACK_OF(PKCS7) *safes,
    STACK_OF(PKCS12_SAFEBAG) **plain, struct cf_error *err)
{
	const ASN1_OCTET_STRING *oct;
	STACK_OF(PKCS12_SAFEBAG) *bags;
	struct pbe p;
	int i, rc;

	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (plain[i] != NULL) {
			if (walk_bags(c, plain[i], 0, WALK_TAKE, err) == -1)
				return -1;
			continue;
		}
		/* declared in the check pass; inspected again for its context */
		if (pbe_inspect(c, encdata_parts(p7, &oct), "certificate safe",
			&p, err) == -1)
			return -1;
		bags = pbe_decrypt(c, &p, oct, ASN1_ITEM_rptr(PKCS12_SAFEBAGS),
		    "certificate safe", err);
		X509_ALGOR_free(p.fixed);
		if (bags == NULL)
			return -1;
		rc = walk_bags(c, bags, 0, WALK_CHECK, err);
		if (rc == 0)
			rc = walk_bags(c, bags, 0, WALK_TAKE, err);
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

int
cf_pkcs12_parse(const char *name, const unsigned char *der, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err)
{
	struct p12 c = {.name = name};
	const unsigned char *p = der;
	PKCS12 *p12 = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) **plain = NULL;
	int i, nsafes = 0, rc = -1;

	ERR_clear_error();
	if (len > CF_MAX_INPUT_BYTES)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: larger than %u bytes; not a certificate file", name,
		    CF_MAX_INPUT_BYTES);
	if (der == NULL || len == 0)
		return cf_errorf(err, CF_E_PARSE, "%s: the file is empty",
		    name);
	if (pw_setup(&c, password, err) == -1)
		goto out;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		not_pkcs12(name, err);
		goto out;
	}
	if (PKCS12_mac_present(p12) && check_mac(&c, p12, err) == -1)
		goto out;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		not_pkcs12(name, err);
		goto out;
	}
	nsafes = sk_PKCS7_num(safes);
	if (nsafes > CF_P12_MAX_BAGS) {
		cf_errorf(err, CF_E_LIMIT, "%s: more than %d safes", name,
		    CF_P12_MAX_BAGS);
		goto out;
	}
	plain = xcalloc((size_t)nsafes + 1, sizeof(*plain));
	c.got = cf_bundle_new();
	if (check_safes(&c, safes, plain, err) == -1)
		goto out;
	/* Everything is checked: key derivation may start. */
	if (PKCS12_mac_present(p12) && verify_mac(&c, p12, err) == -1)
		goto out;
	if (take_safes(&c, safes, plain, err) == -1 ||
	    cf_bundle_move(name, c.got, out, err) == -1)
		goto out;
	out->was_pkcs12 = 1;
	rc = 0;
out:
	for (i = 0; plain != NULL && i < nsafes; i++)
		sk_PKCS12_SAFEBAG_pop_free(plain[i], PKCS12_SAFEBAG_free);
	free(plain);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	cf_bundle_free(c.got);
	legacy_unload(&c);
	pw_clear(&c);
	ERR_clear_error();
	return rc;
}

int
cf_pkcs12_decrypt_pkcs8(const char *name, const unsigned char *der,
    size_t len, const char *password, EVP_PKEY **key, struct cf_error *err)
{
	struct p12 c = {.name = name};
	const unsigned char *p = der;
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *oct = NULL;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	struct pbe pb = {0};
	int rc = -1;

	*key = NULL;
	ERR_clear_error();
	if (pw_setup(&c, password, err) == -1)
		goto out;
	if (len > CF_MAX_INPUT_BYTES ||
	    (sig = d2i_X509_SIG(NULL, &p, (long)len)) == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: malformed encrypted private key", name);
		goto out;
	}
	X509_SIG_get0(sig, &alg, &oct);
	if (pbe_inspect(&c, alg, "private key", &pb, err) == -1 ||
	    declare(&c, pb.iter, err) == -1)
		goto out;
	p8 = pbe_decrypt(&c, &pb, oct, ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO),
	    "private key", err);
	if (p8 == NULL || p8_to_key(name, p8, key, err) == -1)
		goto out;
	rc = 0;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_ALGOR_free(pb.fixed);
	X509_SIG_free(sig);
	legacy_unload(&c);
	pw_clear(&c);
	ERR_clear_error();
	return rc;
}
