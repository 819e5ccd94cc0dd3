/*
 * pbe.c - password-based encryption: see pbe.h.
 *
 * Every decryption tries the encodings a password has been written
 * with, best first (struct pbe_ctx below), and asks for OpenSSL's legacy
 * provider only when an algorithm (RC2-40, DES) is missing from the
 * default one.  The legacy provider is loaded into a library context of
 * its own, with the default provider beside it, so the process-wide
 * default context never sees it and it is gone with the pbe_ctx.
 *
 * Iterations are counted twice: declared when an algorithm is inspected,
 * before any derivation (a file whose counts add up past the cap is
 * refused at once), and spent as derivations run, retries with other
 * encodings included.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "pbe.h"
#include "pkcs12.h"
#include "util.h"

#define MAX_PASSWORD 4096 /* bytes; longer is no password a person typed */
#define MAX_VARIANTS 3

/* One encoding of the password: bytes and length (p NULL: none at all). */
struct pw {
	const char *p;
	int len;
};

struct pbe_ctx {
	int no_password;  /* none given (NULL or "") */
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
	char *asc;          /* OpenSSL's "broken" form of the password */
	char *latin1;       /* ISO-8859-1 form, when there is one */
	unsigned char *bmp; /* BMPString form */
	int bmplen;
	size_t asclen, latin1len;

	long long declared; /* iteration counts seen, before deriving */
	long long spent;    /* iterations actually derived, retries included */

	OSSL_LIB_CTX *lctx; /* default + legacy, loaded on demand */
	OSSL_PROVIDER *pdefault, *plegacy;
	int legacy_failed;
};

const char *
pbe_oid_desc(const ASN1_OBJECT *obj, char buf[PBE_OID_DESC])
{
	char nm[128], num[128];

	if (obj == NULL || OBJ_obj2txt(num, sizeof(num), obj, 1) <= 0)
		snprintf(buf, PBE_OID_DESC, "(unknown)");
	else if (OBJ_obj2txt(nm, sizeof(nm), obj, 0) <= 0 ||
		 strcmp(nm, num) == 0)
		snprintf(buf, PBE_OID_DESC, "%s", num);
	else
		snprintf(buf, PBE_OID_DESC, "%s (%s)", nm, num);
	return buf;
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
pw_setup(struct pbe_ctx *c, const char *password, struct cf_error *err)
{
	size_t n;
	unsigned char *asc_uni = NULL;
	int asc_unilen = 0, i;

	if (password == NULL || password[0] == '\0') {
		c->no_password = 1;
		c->v12[0] = (struct pw){NULL, 0};
		c->v12[1] = (struct pw){"", 0};
		c->n12 = 2;
		/* PBKDF2 sees NULL and "" alike; HMAC zero-pads, so {0,0} too
		 */
		c->vraw[0] = (struct pw){NULL, 0};
		c->nraw = 1;
		return 0;
	}
	n = strlen(password);
	if (n > MAX_PASSWORD)
		return cf_errorf(err, CF_E_PASSWORD,
		    "the password is longer than %d bytes", MAX_PASSWORD);
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

/* Moves variant i of v to the front: later decryptions try it first. */
static void
pw_prefer(struct pw *v, int i)
{
	struct pw t = v[i];

	memmove(v + 1, v, (size_t)i * sizeof(*v));
	v[0] = t;
}

/* ---- limits ------------------------------------------------------------ */

int
pbe_check_iter(const ASN1_INTEGER *ai, const char *what, long long *iter,
    struct cf_error *err)
{
	int64_t v = 1;

	if (ai != NULL && !ASN1_INTEGER_get_int64(&v, ai)) {
		ERR_clear_error();
		/* beyond 64 bits: negative ones are malformed all the same */
		v = ai->type == V_ASN1_NEG_INTEGER ? -1 : INT64_MAX;
	}
	if (v <= 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s iteration count %lld is not positive (malformed file)",
		    what, (long long)v);
	if (v > CF_P12_MAX_ITER)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s iteration count %lld exceeds the limit of %d; "
		    "refusing to spend minutes deriving keys",
		    what, (long long)v, CF_P12_MAX_ITER);
	*iter = v;
	return 0;
}

int
pbe_declare(struct pbe_ctx *c, long long iter, struct cf_error *err)
{
	c->declared += iter;
	if (c->declared > CF_P12_MAX_ITER_TOTAL)
		return cf_errorf(err, CF_E_LIMIT,
		    "iteration counts add up to %lld, over the limit of %d for "
		    "one file; refusing to spend minutes deriving keys",
		    c->declared, CF_P12_MAX_ITER_TOTAL);
	return 0;
}

/* Charges one key derivation of iter iterations about to run. */
static int
charge(struct pbe_ctx *c, long long iter, struct cf_error *err)
{
	c->spent += iter;
	if (c->spent > CF_P12_MAX_ITER_TOTAL)
		return cf_errorf(err, CF_E_LIMIT,
		    "trying the password took over %d iterations; refusing to "
		    "spend minutes deriving keys",
		    CF_P12_MAX_ITER_TOTAL);
	return 0;
}

/* ---- algorithms ---------------------------------------------------------- */

int
pbe_fetchable(OSSL_LIB_CTX *lc, const char *cipher, const char *md)
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
legacy_unload(struct pbe_ctx *c)
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
legacy_ctx(struct pbe_ctx *c)
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

/* ---- the state --------------------------------------------------------- */

struct pbe_ctx *
pbe_ctx_new(const char *password, struct cf_error *err)
{
	struct pbe_ctx *c = xcalloc(1, sizeof(*c));

	if (pw_setup(c, password, err) == -1) {
		pbe_ctx_free(c);
		return NULL;
	}
	return c;
}

void
pbe_ctx_free(struct pbe_ctx *c)
{
	if (c == NULL)
		return;
	legacy_unload(c);
	if (c->asc != NULL)
		OPENSSL_clear_free(c->asc, c->asclen);
	if (c->latin1 != NULL) {
		OPENSSL_cleanse(c->latin1, c->latin1len);
		free(c->latin1);
	}
	if (c->bmp != NULL)
		OPENSSL_clear_free(c->bmp, (size_t)c->bmplen);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/*
 * Picks the context that has cipher and md: the default one, else the
 * legacy one.  alg names the algorithm in the error.
 */
static int
pick_ctx(struct pbe_ctx *c, const ASN1_OBJECT *alg, const char *cipher,
    const char *md, const char *what, OSSL_LIB_CTX **lc, struct cf_error *err)
{
	char d[PBE_OID_DESC];

	*lc = NULL;
	if (pbe_fetchable(NULL, cipher, md))
		return 0;
	if ((*lc = legacy_ctx(c)) != NULL && pbe_fetchable(*lc, cipher, md))
		return 0;
	if (c->legacy_failed)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "the %s is encrypted with %s, which needs OpenSSL's "
		    "legacy provider, and it could not be loaded",
		    what, pbe_oid_desc(alg, d));
	return cf_errorf(err, CF_E_UNSUPPORTED,
	    "unsupported encryption algorithm %s for the %s",
	    pbe_oid_desc(alg, d), what);
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
	if (!X509_ALGOR_set0(
		pbe2->encryption, OBJ_nid2obj(want), V_ASN1_EOC, NULL) ||
	    (seq = ASN1_item_pack(pbe2, ASN1_ITEM_rptr(PBE2PARAM), NULL)) ==
		NULL ||
	    (fixed = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(
		fixed, OBJ_nid2obj(NID_pbes2), V_ASN1_SEQUENCE, seq)) {
		ASN1_STRING_free(seq);
		X509_ALGOR_free(fixed);
		ERR_clear_error();
		return NULL;
	}
	return fixed;
}

/* PBES2: PBKDF2 parameters, PRF and cipher (RFC 8018). */
static int
inspect_pbes2(struct pbe_ctx *c, const X509_ALGOR *alg, const char *what,
    struct pbe *out, struct cf_error *err)
{
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	char d[PBE_OID_DESC];
	int prf_nid, md_nid, cipher_nid, rc = -1;

	pbe2 = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	if (pbe2 == NULL || pbe2->keyfunc == NULL || pbe2->encryption == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "malformed PBES2 parameters for the %s", what);
		goto out;
	}
	if (OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "unsupported key derivation %s for the %s",
		    pbe_oid_desc(pbe2->keyfunc->algorithm, d), what);
		goto out;
	}
	kdf = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
	if (kdf == NULL || kdf->salt == NULL ||
	    kdf->salt->type != V_ASN1_OCTET_STRING || kdf->iter == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "malformed PBKDF2 parameters for the %s", what);
		goto out;
	}
	if (pbe_check_iter(kdf->iter, what, &out->iter, err) == -1)
		goto out;
	prf_nid = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm)
				   : NID_hmacWithSHA1;
	if (!EVP_PBE_find_ex(
		EVP_PBE_TYPE_PRF, prf_nid, NULL, &md_nid, NULL, NULL)) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "unsupported PBKDF2 PRF %s for the %s",
		    pbe_oid_desc(kdf->prf->algorithm, d), what);
		goto out;
	}
	cipher_nid = OBJ_obj2nid(pbe2->encryption->algorithm);
	if (cipher_nid == NID_undef) {
		cf_errorf(err, CF_E_UNSUPPORTED,
		    "unsupported cipher %s for the %s",
		    pbe_oid_desc(pbe2->encryption->algorithm, d), what);
		goto out;
	}
	if (pick_ctx(c, pbe2->encryption->algorithm, OBJ_nid2sn(cipher_nid),
		OBJ_nid2sn(md_nid), what, &out->libctx, err) == -1)
		goto out;
	out->kdf = PBE_KDF_RAW;
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
 * PBES1 and the PKCS#12 PBEs: OpenSSL's table gives the cipher and
 * digest of the OID; PBES2 has its own parameters.
 */
int
pbe_inspect(struct pbe_ctx *c, const X509_ALGOR *alg, const char *what,
    struct pbe *out, struct cf_error *err)
{
	PBEPARAM *pbe = NULL;
	char d[PBE_OID_DESC];
	int nid, cipher_nid = -1, md_nid = -1, rc = -1;

	memset(out, 0, sizeof(*out));
	if (alg == NULL || alg->algorithm == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "the %s has no encryption algorithm", what);
	nid = OBJ_obj2nid(alg->algorithm);
	if (nid == NID_pbes2)
		return inspect_pbes2(c, alg, what, out, err);
	if (nid == NID_undef ||
	    !EVP_PBE_find_ex(
		EVP_PBE_TYPE_OUTER, nid, &cipher_nid, &md_nid, NULL, NULL) ||
	    cipher_nid == -1 || md_nid == -1) {
		ERR_clear_error();
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "unsupported encryption algorithm %s for the %s",
		    pbe_oid_desc(alg->algorithm, d), what);
	}
	pbe =
	    ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
	if (pbe == NULL || pbe->salt == NULL || pbe->iter == NULL) {
		cf_errorf(err, CF_E_PARSE, "malformed %s parameters for the %s",
		    pbe_oid_desc(alg->algorithm, d), what);
		goto out;
	}
	if (pbe_check_iter(pbe->iter, what, &out->iter, err) == -1)
		goto out;
	if (pick_ctx(c, alg->algorithm, OBJ_nid2sn(cipher_nid),
		OBJ_nid2sn(md_nid), what, &out->libctx, err) == -1)
		goto out;
	out->kdf = is_pkcs12_pbe(nid) ? PBE_KDF_PKCS12 : PBE_KDF_RAW;
	out->alg = alg;
	rc = 0;
out:
	PBEPARAM_free(pbe);
	ERR_clear_error();
	return rc;
}

void
pbe_clear(struct pbe *p)
{
	if (p == NULL)
		return;
	X509_ALGOR_free(p->fixed);
	memset(p, 0, sizeof(*p));
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

/* The encodings of p's kind of derivation are tried in turn. */
void *
pbe_decrypt(struct pbe_ctx *c, const struct pbe *p,
    const ASN1_OCTET_STRING *oct, const ASN1_ITEM *it, const char *what,
    struct cf_error *err)
{
	struct pw *v = p->kdf == PBE_KDF_PKCS12 ? c->v12 : c->vraw;
	int n = p->kdf == PBE_KDF_PKCS12 ? c->n12 : c->nraw, i;
	void *res;

	if (oct == NULL) {
		cf_errorf(
		    err, CF_E_PARSE, "the %s has no encrypted content", what);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (charge(c, p->iter, err) == -1)
			return NULL;
		ERR_clear_error();
		res = PKCS12_item_decrypt_d2i_ex(
		    p->alg, it, v[i].p, v[i].len, oct, 1, p->libctx, NULL);
		if (res != NULL) {
			pw_prefer(v, i);
			ERR_clear_error();
			return res;
		}
		if (!bad_password_error()) {
			cf_errorf_ossl(
			    err, CF_E_PARSE, "cannot decrypt the %s", what);
			return NULL;
		}
	}
	ERR_clear_error();
	if (c->mac_verified)
		cf_errorf(err, CF_E_PARSE,
		    "the %s does not decrypt although the MAC password is "
		    "right (damaged file, or a separate encryption password)",
		    what);
	else if (c->no_password)
		cf_errorf(err, CF_E_PASSWORD, "a password is needed");
	else
		cf_errorf(err, CF_E_PASSWORD,
		    "cannot decrypt the %s (wrong password?)", what);
	return NULL;
}

/* The MAC uses the PKCS#12 KDF, so the PKCS#12 encodings are tried. */
int
pbe_verify_mac(
    struct pbe_ctx *c, PKCS12 *p12, long long iter, struct cf_error *err)
{
	int i;

	for (i = 0; i < c->n12; i++) {
		if (charge(c, iter, err) == -1)
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
			    "not a valid PKCS#12 file (the MAC cannot be "
			    "computed)");
	}
	if (c->no_password)
		return cf_errorf(err, CF_E_PASSWORD, "a password is needed");
	return cf_errorf(
	    err, CF_E_PASSWORD, "MAC verification failed (wrong password?)");
}
