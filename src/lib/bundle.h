/*
 * bundle.h - what one input file holds once parsed: certificates and
 * private keys, in any format certfleet reads.
 *
 * Formats: PEM (certificates, PKCS#7, private keys, in any order), DER
 * certificate, DER PKCS#7, PKCS#12 in DER or as Base64 text.  Friendly
 * names from PKCS#12 travel as the certificates' aliases (X509_alias_*).
 */
#ifndef CF_BUNDLE_H
#define CF_BUNDLE_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"

/* Caps on outside input. */
#define CF_MAX_INPUT_BYTES (4u * 1024 * 1024) /* one file */
#define CF_MAX_CERTS 64                       /* certificates per file */
#define CF_MAX_KEYS 16                        /* private keys per file */

struct cf_bundle {
	STACK_OF(X509) * certs; /* every certificate, in file order */
	EVP_PKEY **keys;        /* every private key, in file order */
	size_t nkeys;
	int was_pkcs12; /* the input was PKCS#12 */
};

/* A new empty bundle; caller frees. */
struct cf_bundle *cf_bundle_new(void);
void cf_bundle_free(struct cf_bundle *b); /* NULL-safe; keys freed */

/* Adds cert (the bundle takes the reference) with CF_MAX_CERTS checked. */
int cf_bundle_add_cert(struct cf_bundle *b, X509 *cert, struct cf_error *err);
/* Adds key (the bundle takes the reference) with CF_MAX_KEYS checked. */
int cf_bundle_add_key(struct cf_bundle *b, EVP_PKEY *key, struct cf_error *err);

/*
 * Moves every certificate and key of src to dst, all or nothing: when
 * dst cannot take them all (CF_E_LIMIT, naming the file name) both are
 * left as they were.
 */
int cf_bundle_move(const char *name, struct cf_bundle *src,
    struct cf_bundle *dst, struct cf_error *err);

/*
 * Parses data (len bytes, from the file called name, used in messages)
 * in whichever format it is, appending to out.  password may be NULL
 * (none given): password-less PKCS#12 files still open.  A PKCS#12 that
 * needs a password when none was given, or whose MAC fails, is
 * CF_E_PASSWORD.  Data holding no certificate and no key is CF_E_PARSE.
 */
int cf_bundle_parse(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err);

/*
 * Where cf_bundle_parse does its work: with parse NULL (the default, the
 * CLI's and the tests') in this process; otherwise every call goes to
 * parse, which has cf_bundle_parse's contract.  certfleetd sets it once
 * at start, before any thread, to its parser process (src/agent/parser.c)
 * so that outside bytes are never parsed where the master key lives.
 */
void cf_bundle_set_parser(
    int (*parse)(const char *name, const unsigned char *data, size_t len,
	const char *password, struct cf_bundle *out, struct cf_error *err));

#endif
