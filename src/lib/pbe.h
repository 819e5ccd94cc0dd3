/*
 * pbe.h - password-based encryption as PKCS#12 files and encrypted PEM
 * (PKCS#8) keys use it: the password in every encoding writers have used,
 * the iteration caps, OpenSSL's legacy provider on demand, and each
 * encryption algorithm inspected before anything is derived with it.
 * Internal to libcertfleet; pkcs12.c walks the files.
 *
 * Messages are bare ("the password is longer than 4096 bytes"): the
 * entry point that knows the file puts its name before them.
 */
#ifndef CF_PBE_H
#define CF_PBE_H

#include <openssl/asn1.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "error.h"

/*
 * One parse's password state: the encodings of one password, the
 * iterations declared and spent, and a library context with the legacy
 * provider, loaded on first need and gone when the state is freed (the
 * process-wide default context never sees it).
 */
struct pbe_ctx;

/*
 * The state for password (NULL or "": none given), which is lent: it
 * must outlive the state.  NULL and *err set (CF_E_PASSWORD) when the
 * password is too long to be one.
 */
struct pbe_ctx *pbe_ctx_new(const char *password, struct cf_error *err);
/* Wipes the encodings and unloads the legacy provider.  NULL-safe. */
void pbe_ctx_free(struct pbe_ctx *c);

/* How an algorithm turns the password into a key. */
enum pbe_kdf {
	PBE_KDF_PKCS12, /* RFC 7292 appendix B: OpenSSL makes it a BMPString */
	PBE_KDF_RAW,    /* PBKDF2 / PBKDF1: the password bytes as they are */
};

/* What pbe_inspect learned about one encryption AlgorithmIdentifier. */
struct pbe {
	const X509_ALGOR *alg; /* to decrypt with: the file's, or fixed */
	X509_ALGOR *fixed;     /* owned: NSS's AES OID repaired (pbe.c) */
	enum pbe_kdf kdf;
	long long iter;
	OSSL_LIB_CTX *libctx; /* lent from the pbe_ctx; NULL: the default */
};

/*
 * Checks alg before anything is derived with it: a known scheme, its
 * iteration count within CF_P12_MAX_ITER, cipher and digest available
 * (loading the legacy provider into c if need be).  what names the
 * encrypted thing in messages ("private key").  *out is set on success;
 * free it with pbe_clear once it has served every decryption.
 */
int pbe_inspect(struct pbe_ctx *c, const X509_ALGOR *alg, const char *what,
    struct pbe *out, struct cf_error *err);
/* Frees what pbe_inspect allocated and zeroes p.  NULL-safe. */
void pbe_clear(struct pbe *p);

/*
 * Adds one checked iteration count to c's total for the file, before any
 * derivation: CF_E_LIMIT past CF_P12_MAX_ITER_TOTAL.
 */
int pbe_declare(struct pbe_ctx *c, long long iter, struct cf_error *err);

/*
 * Checks the iteration count ai (NULL: absent, which RFC 7292 makes 1
 * for the MAC) against CF_P12_MAX_ITER, into *iter; what names it.
 */
int pbe_check_iter(const ASN1_INTEGER *ai, const char *what, long long *iter,
    struct cf_error *err);

/*
 * Decrypts oct under the inspected p into a new it (caller frees),
 * trying each encoding of the password; the one that works is tried
 * first from then on.  NULL and *err set on failure: CF_E_PASSWORD when
 * no encoding works, CF_E_LIMIT when the tries would spend too much.
 */
void *pbe_decrypt(struct pbe_ctx *c, const struct pbe *p,
    const ASN1_OCTET_STRING *oct, const ASN1_ITEM *it, const char *what,
    struct cf_error *err);

/*
 * Verifies the MAC of p12, whose iteration count iter was checked and
 * declared, under each encoding of the password in turn.  Once it holds,
 * a decryption that fails blames the file rather than the password.
 */
int pbe_verify_mac(
    struct pbe_ctx *c, PKCS12 *p12, long long iter, struct cf_error *err);

/* 1 when lc (NULL: the default context) has cipher and md (either may
 * be NULL). */
int pbe_fetchable(OSSL_LIB_CTX *lc, const char *cipher, const char *md);

/*
 * obj as messages name an algorithm: "name (dotted OID)", or the OID
 * alone when OpenSSL has no name for it.  Returns buf.
 */
#define PBE_OID_DESC 280
const char *pbe_oid_desc(const ASN1_OBJECT *obj, char buf[PBE_OID_DESC]);

#endif
