/*
 * identity.h - keys and self-signed certificates made here: the agent's
 * API identity, the admin's client identity, the host certificate every
 * new server starts with, and `new --self-signed`.
 */
#ifndef CF_IDENTITY_H
#define CF_IDENTITY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"

/* "SHA256:" and 64 upper-case hex digits, NUL. */
#define CF_FP_LEN (7 + 64)

/*
 * A new private key of kind: rsa2048, rsa3072, rsa4096, p256, p384.
 * An unknown kind is CF_E_USAGE naming the valid ones.  Slow for RSA-4096:
 * callers that serve others run it off their event loop.
 */
EVP_PKEY *cf_key_generate(const char *kind, struct cf_error *err);

/*
 * A self-signed X.509 v3 certificate for key: subject as "CN=a,O=b"
 * (RFC 4514, most specific first) or a bare common name; SANs the
 * comma-separated DNS names in domains (may be NULL); valid from now for
 * days; extended key usage serverAuth, or clientAuth when client.
 */
X509 *cf_selfsigned_new(EVP_PKEY *key, const char *subject, const char *domains,
    int days, int client, struct cf_error *err);

/* The SHA-256 fingerprint of cert's DER as "SHA256:HEX" into out. */
void cf_cert_fingerprint(X509 *cert, char out[CF_FP_LEN + 1]);

/*
 * Normalises a fingerprint a person typed ("sha256:ab…", "AB:CD:…",
 * bare hex) into "SHA256:HEX"; -1 (CF_E_USAGE) when it is not 64 hex
 * digits.
 */
int cf_fingerprint_parse(
    const char *s, char out[CF_FP_LEN + 1], struct cf_error *err);

/*
 * Loads the identity in keyfile/certfile, or creates it (an EC P-256 key,
 * 0600, and a self-signed certificate for cn, 10 years; clientAuth when
 * client) when neither exists.  *created says which.  Refuses a key file
 * readable by group or others.
 */
int cf_identity_load(const char *keyfile, const char *certfile, const char *cn,
    int client, EVP_PKEY **key, X509 **cert, int *created,
    struct cf_error *err);

#endif
