/*
 * tls.h - the agent's side of mutual TLS: the server context, and who a
 * client certificate is.  Authorization itself (the client list, the
 * admin CA) is decided after the handshake, per request.
 */
#ifndef CFD_TLS_H
#define CFD_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "identity.h"

/*
 * A server context for TLS 1.2 and 1.3 with the key and certificate in
 * keyfile/certfile (cn names the identity should it be missing: it is
 * not created here; the caller checks).  Asks every client for a
 * certificate and completes no handshake without one, whatever issued
 * it.  The agent's fingerprint goes into fp.  Caller frees.
 */
SSL_CTX *tls_server_new(const char *keyfile, const char *certfile,
    const char *cn, char fp[CF_FP_LEN + 1], struct cf_error *err);

/*
 * The CA certificates in file as a store for tls_admin_verify; NULL
 * file gives NULL and 0.  A file with no certificate is CF_E_PARSE.
 */
int tls_admin_ca_load(const char *file, X509_STORE **out, struct cf_error *err);
/* tls_admin_ca_load of the len bytes at pem, read from file by another
 * process (the store process, on reload). */
int tls_admin_ca_from_pem(const char *file, const char *pem, size_t len,
    X509_STORE **out, struct cf_error *err);

/*
 * 1 when cert (with the untrusted chain the client sent, may be NULL)
 * verifies up to a certificate of store for client authentication;
 * else 0.  Thread-safe for concurrent callers on one store.
 */
int tls_admin_verify(X509_STORE *store, X509 *cert, STACK_OF(X509) * chain);

/*
 * The audit actor of a TLS client: "tls:SHA256:<fingerprint> (<CN>)",
 * the CN cut to printable ASCII and TLS_CN_MAX characters (left out when
 * there is none), or "tls:no-certificate" for NULL cert.  Everything in
 * it comes from the certificate, so every record of one client reads
 * the same, whichever request or handshake wrote it.  New string.
 */
#define TLS_CN_MAX 64
char *tls_actor_new(X509 *cert);

#endif
