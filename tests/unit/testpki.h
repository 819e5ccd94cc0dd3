/* testpki.h - throw-away keys and certificates for unit tests. */
#ifndef CF_TESTPKI_H
#define CF_TESTPKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A new RSA key of bits, or an EC P-256 key when bits is 0. */
EVP_PKEY *tp_key(int bits);

/*
 * A certificate for cn (and dns, comma-separated SANs, may be NULL) with
 * key's public half, signed by issuer/issuer_key (self-signed when NULL),
 * valid from now + from_days to now + to_days.  ca adds basicConstraints
 * CA:TRUE.
 */
X509 *tp_cert(const char *cn, const char *dns, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int from_days, int to_days, int ca);

/* PEM of cert (and key when not NULL, unencrypted) as a new string. */
char *tp_pem(X509 *const *certs, int ncerts, EVP_PKEY *key);

#endif
