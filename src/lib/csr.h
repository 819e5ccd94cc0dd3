/*
 * csr.h - PKCS#10 certificate requests made here (New-ExchangeCertificate
 * -GenerateRequest), and the names they carry: distinguished names as
 * people type them and DNS names checked before anything is generated.
 */
#ifndef CF_CSR_H
#define CF_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"

/*
 * Checks the comma-separated DNS names of list (may be NULL or "") and
 * puts them, lower-cased, duplicates folded, first-seen order kept,
 * comma-separated, into *out (new; "" for none).  A name is labels of
 * a-z, 0-9 and hyphens (1 to 63 characters, no hyphen first or last),
 * joined by dots, 255 characters at most, with at most one wildcard label
 * "*" and only as the first label ("*.example.com").  -1 with CF_E_USAGE
 * naming the first bad name and what is wrong with it.
 */
int cf_names_check(const char *list, char **out, struct cf_error *err);

/*
 * The distinguished name subject, "CN=mail.example.com,O=Example Ltd"
 * (RFC 4514 order: most specific first; attributes CN, O, OU, L, ST, C,
 * emailAddress, DC, serialNumber; "\," escapes a comma) or a bare common
 * name, as a new X509_NAME.  NULL with CF_E_USAGE naming what is wrong.
 */
X509_NAME *cf_dn_parse(const char *subject, struct cf_error *err);

/*
 * A PKCS#10 request signed by key with SHA-256: subject (cf_dn_parse);
 * a subjectAltName extension of the DNS names of domains (checked with
 * cf_names_check) with the CN first when not already among them;
 * keyUsage digitalSignature (+ keyEncipherment for RSA) and
 * extendedKeyUsage serverAuth.  The CN (the most specific one) is a host
 * name unless it has a space in it: then it must pass the rules of
 * cf_names_check (CF_E_USAGE naming it otherwise).  A CN with a space is
 * a label, left out of the SANs (cf_subject_cn_label tells which, to
 * warn: public CAs refuse such requests).  NULL with err on failure.
 */
X509_REQ *cf_csr_new(EVP_PKEY *key, const char *subject, const char *domains,
    struct cf_error *err);

/*
 * 1 when the CN of subject is a label, not a host name (it has a space:
 * "Example Mail Gateway"), with the CN into *label (new); else 0 and
 * *label NULL (also when subject does not parse: cf_csr_new says why).
 */
int cf_subject_cn_label(const char *subject, char **label);

/*
 * The request as PEM text ("-----BEGIN CERTIFICATE REQUEST-----") or,
 * when der, as DER, into *out (new, caller frees) and *len.
 */
int cf_csr_encode(X509_REQ *req, int der, unsigned char **out, size_t *len,
    struct cf_error *err);

/*
 * The request in der/len (DER) decoded; NULL with CF_E_PARSE otherwise.
 * Its subject one-line (RFC 4514) into *subject and its SAN DNS names
 * comma-separated into *domains (new strings) when those are not NULL.
 */
X509_REQ *cf_csr_decode(const unsigned char *der, size_t len, char **subject,
    char **domains, struct cf_error *err);

#endif
