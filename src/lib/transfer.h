/*
 * transfer.h - agent-to-agent transfer of a key that is not exportable.
 *
 * The article's dead end ("The private key couldn't be exported as
 * PKCS-12") has a way out when both agents allow it: the source agent
 * seals the certificate, chain and key to the target agents' identities,
 * and the admin's client only carries the sealed bytes from one agent to
 * the other.  The admin never can read the key: it is encrypted (CMS
 * enveloped data) to the targets' identity keys, and signed by the
 * source's identity so the target knows where it came from.  A source
 * seals only to peers its configuration lists (transfer_peers), and a
 * target opens only what a listed peer signed; off by default.  The key
 * stays not exportable on the target.  Both agents audit it.
 */
#ifndef CF_TRANSFER_H
#define CF_TRANSFER_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ops.h"
#include "store.h"

/* An agent's identity and its transfer peers; everything lent. */
struct cf_transfer {
	EVP_PKEY *key;            /* the agent's identity key */
	X509 *cert;               /* and certificate */
	const char *const *peers; /* "SHA256:…" of peer agents' identities */
	size_t npeers;            /* 0: transfers are off */
};

/*
 * Seals the certificate arg names, with its chain and key (exportable or
 * not), to the agents whose identity certificates are the PEM texts
 * recipients[0..n): one CMS message any of them can open.  CF_E_DENIED
 * when transfers are off here or a recipient is not a peer.  *out (wipe
 * and clear) gets the DER; *thumb (41 bytes) the full thumbprint.
 * Audited.
 */
int cf_op_export_sealed(struct cf_store *s, const struct cf_transfer *t,
    const char *actor, const char *arg, const char *const *recipients, size_t n,
    char *thumb, struct cf_buf *out, struct cf_error *err);

/*
 * Opens a sealed transfer and imports it as import would with opts
 * (services, force, actor), the key never exportable.  CF_E_DENIED when
 * transfers are off here, the message is not for this agent, or its
 * signer is not a peer.  Audited with the source's fingerprint.
 */
int cf_op_import_sealed(struct cf_store *s, const struct cf_transfer *t,
    const struct cf_import_opts *opts, const unsigned char *blob, size_t len,
    struct cf_import_result **res, size_t *nres, struct cf_error *err);

#endif
