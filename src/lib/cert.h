/*
 * cert.h - the facts certfleet reads off one X.509 certificate, in the
 * forms users see: RFC 4514 names, SHA-1 thumbprints in upper-case hex,
 * ISO 8601 dates, "RSA-2048" / "EC-P256" key types.
 */
#ifndef CF_CERT_H
#define CF_CERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"

#define CF_THUMB_LEN 40

/* Everything the store keeps next to the DER; strings owned. */
struct cf_certfacts {
	char thumbprint[CF_THUMB_LEN + 1];
	char *subject;  /* RFC 4514 */
	char *issuer;   /* RFC 4514 */
	char *serial;   /* upper-case hex */
	char *domains;  /* comma-separated; the CN first when a DNS name */
	char *key_type; /* "RSA-2048", "EC-P256", "Ed25519" ... */
	char spki[65];  /* SHA-256 of the public key, hex: pairs key and cert */
	time_t not_before, not_after;
	int self_signed; /* issuer == subject and the self-signature verifies */
};

/* Fills f from cert; clear with cf_certfacts_clear. */
int cf_certfacts_read(X509 *cert, struct cf_certfacts *f, struct cf_error *err);
void cf_certfacts_clear(struct cf_certfacts *f);
/*
 * Only what a handshake report needs, fast: thumbprint, subject, issuer
 * and dates; no signature check, no key analysis (the rest stays empty).
 * Clear with cf_certfacts_clear.
 */
int cf_certfacts_read_light(X509 *cert, struct cf_certfacts *f);

/*
 * A name in the one-line RFC 4514 form certfleet shows everywhere (UTF-8
 * unescaped, so names read as people wrote them), as a new string.
 */
char *cf_name_new(const X509_NAME *name);
/* What memory BIO b holds, as a new NUL-terminated string; its length
 * into *len unless len is NULL. */
char *cf_bio_text(BIO *b, size_t *len);

/* SHA-1 of the DER encoding, 40 upper-case hex digits, into out. */
void cf_cert_thumbprint(X509 *cert, char out[CF_THUMB_LEN + 1]);

/* SHA-256 over the DER SubjectPublicKeyInfo of key, hex, into out. */
int cf_key_spki(EVP_PKEY *key, char out[65]);

/* "RSA-2048", "EC-P256", "EC-P384", "Ed25519", "RSA-PSS-2048" ...; new. */
char *cf_key_type_new(EVP_PKEY *key);

/* 1 when issuer's key verifies cert's signature and names match; else 0. */
int cf_cert_issued_by(X509 *cert, X509 *issuer);

/* 1 when cert names itself as issuer and its own key verifies it. */
int cf_cert_self_signed(X509 *cert);

/* A certificate from DER bytes; NULL (CF_E_PARSE) on failure. */
X509 *cf_cert_from_der(
    const unsigned char *der, size_t len, struct cf_error *err);

/* The DER encoding of cert into *der (caller frees with free()). */
int cf_cert_to_der(X509 *cert, unsigned char **der, size_t *len);

/*
 * True when s is a hex string usable as a thumbprint (prefix): 8..40
 * hex digits.  Normalises to upper case into out.
 */
int cf_thumb_prefix_ok(const char *s, char out[CF_THUMB_LEN + 1]);

#endif
