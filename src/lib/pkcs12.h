/*
 * pkcs12.h - PKCS#12 in both directions, interoperable and bounded.
 *
 * Reading walks the structure and checks every iteration count (MAC and
 * each encrypted bag) against the caps before any key derivation runs;
 * tries the password-less encodings (NULL and the empty BMPString) when
 * no password is given; and loads OpenSSL's legacy provider (RC2-40, as
 * Windows CryptoAPI writes) only for a file that needs it, unloading it
 * afterwards: it is never used for export.
 */
#ifndef CF_PKCS12_H
#define CF_PKCS12_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "error.h"

#define CF_P12_MAX_ITER 1000000        /* one key derivation */
#define CF_P12_MAX_ITER_TOTAL 10000000 /* all derivations of one file */
#define CF_P12_MAX_BAGS 128

/* Export iteration count for a password a person chose. */
#define CF_P12_EXPORT_ITER 300000

enum cf_p12_profile {
	CF_P12_MODERN,   /* AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC */
	CF_P12_LEGACY,   /* pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC */
	CF_P12_TRANSFER, /* as MODERN, low iteration count: random passwords */
};

/* True when data looks like a DER PKCS#12 (PFX) structure. */
int cf_pkcs12_sniff(const unsigned char *data, size_t len);

/*
 * Parses the DER PKCS#12 der (len bytes; name used in messages) with
 * password (NULL: none given), appending every certificate (friendlyName
 * set as its alias) and every private key to out.
 * Errors: CF_E_PARSE (malformed), CF_E_PASSWORD (password needed or MAC
 * verification failed), CF_E_UNSUPPORTED (e.g. GOST, PBMAC1 on OpenSSL
 * before 3.4), CF_E_LIMIT (iteration counts, bag counts).  On failure
 * out is left as it was.
 */
int cf_pkcs12_parse(const char *name, const unsigned char *der, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err);

/*
 * Decrypts the DER EncryptedPrivateKeyInfo (PKCS#8) der of len bytes
 * (name used in messages) under password (NULL: none given) with the
 * same iteration caps, password encodings and legacy-provider rule as
 * cf_pkcs12_parse.  *key (caller frees) is set only on success.
 */
int cf_pkcs12_decrypt_pkcs8(const char *name, const unsigned char *der,
    size_t len, const char *password, EVP_PKEY **key, struct cf_error *err);

/*
 * Builds a DER PKCS#12 holding cert, key (may be NULL: certificates
 * only) and chain (may be NULL), with friendly_name (may be NULL) on the
 * certificate and key, encrypted under password with profile.  password
 * may be NULL only when key is: the certificates are then stored
 * unencrypted under a MAC made with no password (as OpenSSL and pyca
 * write password-less files).  Uses only the default provider.  *der
 * (caller frees with free()) and *len set on success.
 */
int cf_pkcs12_build(X509 *cert, EVP_PKEY *key, STACK_OF(X509) * chain,
    const char *friendly_name, const char *password,
    enum cf_p12_profile profile, unsigned char **der, size_t *len,
    struct cf_error *err);

#endif
