/*
 * transfer.c - sealed agent-to-agent transfers: see transfer.h.
 *
 * The sealed message is CMS EnvelopedData (AES-256-CBC, one recipient
 * info per target agent) around CMS SignedData by the source agent
 * around the payload: a version line, a random one-time password, and a
 * PKCS#12 (the transfer profile) under that password.  The PKCS#12 and
 * the import path are the ones every other copy uses; CMS only adds who
 * may open it and who made it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "identity.h"
#include "material.h"
#include "pkcs12.h"
#include "transfer.h"

#define PAYLOAD_MAGIC "certfleet-transfer-v1\n"
#define PW_LEN 64
#define MAX_RECIPIENTS 256

/* Whether the certificate's fingerprint is one of t's peers; into fp. */
static int
is_peer(const struct cf_transfer *t, X509 *cert, char fp[CF_FP_LEN + 1])
{
	size_t i;

	cf_cert_fingerprint(cert, fp);
	for (i = 0; i < t->npeers; i++)
		if (strcmp(t->peers[i], fp) == 0)
			return 1;
	return 0;
}

static int
transfers_off(const struct cf_transfer *t, struct cf_error *err)
{
	if (t != NULL && t->npeers > 0 && t->key != NULL && t->cert != NULL)
		return 0;
	return cf_errorf(err, CF_E_DENIED,
	    "agent-to-agent transfer is off on this agent: list the peer "
	    "agents' fingerprints in transfer_peers in its [agent] section");
}

/* The recipients' certificates, each a peer; NULL with err otherwise. */
static STACK_OF(X509) * recipients_of(const struct cf_transfer *t,
			    const char *const *pem, size_t n, char **names,
			    struct cf_error *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	char fp[CF_FP_LEN + 1];
	size_t i;

	*names = xstrdup("");
	if (n == 0 || n > MAX_RECIPIENTS) {
		cf_errorf(err, CF_E_USAGE,
		    "recipients: 1 to %d agent "
		    "certificates",
		    MAX_RECIPIENTS);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		BIO *b = BIO_new_mem_buf(pem[i], -1);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		char *more;
		BIO_free(b);
		if (x == NULL) {
			cf_errorf_ossl(err, CF_E_PARSE,
			    "recipients[%zu]: not a PEM certificate", i);
			goto fail;
		}
		sk_X509_push(sk, x);
		if (!is_peer(t, x, fp)) {
			cf_errorf(err, CF_E_DENIED,
			    "agent %s is not a transfer peer of this agent: "
			    "add it to transfer_peers in its [agent] section "
			    "to allow sealed transfers to it",
			    fp);
			goto fail;
		}
		more = xasprintf("%s%s%s", *names, i ? ", " : "", fp);
		free(*names);
		*names = more;
	}
	return sk;
fail:
	sk_X509_pop_free(sk, X509_free);
	free(*names);
	*names = NULL;
	return NULL;
}

/* The payload: magic, the one-time password, then the PKCS#12. */
static struct cf_secret *
payload_new(struct cf_store *s, const struct cf_row *row, struct cf_error *err)
{
	struct cf_material m;
	unsigned char raw[PW_LEN / 2], *der = NULL;
	char pw[PW_LEN + 1];
	struct cf_secret *out = NULL;
	size_t len = 0, head = strlen(PAYLOAD_MAGIC) + PW_LEN + 1;
	char *buf;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	cf_hex_upper(raw, sizeof(raw), pw);
	if (cf_material_load(s, row, 1, &m, err) == 0 &&
	    cf_pkcs12_build(m.cert, m.key, m.chain,
		row->friendly_name[0] ? row->friendly_name : NULL, pw,
		CF_P12_TRANSFER, &der, &len, err) == 0) {
		buf = xmalloc(head + len);
		memcpy(buf, PAYLOAD_MAGIC, strlen(PAYLOAD_MAGIC));
		memcpy(buf + strlen(PAYLOAD_MAGIC), pw, PW_LEN);
		buf[head - 1] = '\n';
		memcpy(buf + head, der, len);
		out = cf_secret_new(buf, head + len);
		OPENSSL_clear_free(buf, head + len);
		OPENSSL_clear_free(der, len);
	}
	cf_material_clear(&m);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(pw, sizeof(pw));
	return out;
}

/* CMS: signed by t, enveloped for rcpts; DER into *out. */
static int
seal(const struct cf_transfer *t, STACK_OF(X509) * rcpts,
    const struct cf_secret *payload, struct cf_buf *out, struct cf_error *err)
{
	BIO *in = BIO_new_mem_buf(payload->data, (int)payload->len);
	BIO *mid = BIO_new(BIO_s_secmem());
	CMS_ContentInfo *signed_ci = NULL, *env = NULL;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (in == NULL || mid == NULL)
		abort();
	signed_ci = CMS_sign(t->cert, t->key, NULL, in, CMS_BINARY);
	if (signed_ci == NULL || i2d_CMS_bio(mid, signed_ci) <= 0 ||
	    (env = CMS_encrypt(rcpts, mid, EVP_aes_256_cbc(), CMS_BINARY)) ==
		NULL ||
	    (n = i2d_CMS_ContentInfo(env, &der)) <= 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot seal the transfer");
		goto out;
	}
	out->data = xmalloc((size_t)n);
	memcpy(out->data, der, (size_t)n);
	out->len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(signed_ci);
	CMS_ContentInfo_free(env);
	BIO_free(in);
	BIO_free(mid); /* secure memory: wiped */
	return rc;
}

int
cf_op_export_sealed(struct cf_store *s, const struct cf_transfer *t,
    const char *actor, const char *arg, const char *const *recipients, size_t n,
    char *thumb, struct cf_buf *out, struct cf_error *err)
{
	STACK_OF(X509) *rcpts = NULL;
	struct cf_secret *payload = NULL;
	struct cf_row row;
	char *names = NULL, *outcome;
	int rc = -1, found;

	memset(&row, 0, sizeof(row));
	out->data = NULL;
	out->len = 0;
	thumb[0] = '\0';
	if (transfers_off(t, err) == -1 ||
	    (rcpts = recipients_of(t, recipients, n, &names, err)) == NULL ||
	    cf_store_begin(s, err) == -1)
		goto audit;
	if (cf_store_resolve(s, arg, thumb, err) == -1 ||
	    (found = cf_store_fetch(s, thumb, &row, err)) == -1)
		goto out;
	if (found == 0 || !row.has_key) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%.8s: no certificate with a private key here", thumb);
		goto out;
	}
	outcome = xasprintf("sealed with its key for agent %s (agent-to-agent "
			    "transfer)",
	    names);
	if ((payload = payload_new(s, &row, err)) == NULL ||
	    seal(t, rcpts, payload, out, err) == -1 ||
	    cf_store_audit(s, actor, "export", thumb, outcome, err) == -1 ||
	    cf_store_commit(s, err) == -1) {
		free(outcome);
		goto out;
	}
	free(outcome);
	rc = 0;
out:
	cf_store_rollback(s);
audit:
	if (rc == -1) {
		char *failed =
		    xasprintf("failed: sealed transfer: %s", err->msg);
		cf_store_audit(s, actor, "export", thumb, failed, NULL);
		free(failed);
		if (out->data != NULL)
			OPENSSL_cleanse(out->data, out->len);
		cf_buf_clear(out);
	}
	cf_secret_free(payload);
	sk_X509_pop_free(rcpts, X509_free);
	cf_row_clear(&row);
	free(names);
	return rc;
}

/* The bytes written to b so far, as a secret. */
static struct cf_secret *
bio_secret(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	return cf_secret_new(data, n > 0 ? (size_t)n : 0);
}

/*
 * Opens the envelope with t's identity and checks the signature inside:
 * the payload into *payload, the signer's fingerprint into from.
 */
static int
open_sealed(const struct cf_transfer *t, const unsigned char *blob, size_t len,
    struct cf_secret **payload, char from[CF_FP_LEN + 1], struct cf_error *err)
{
	BIO *in = BIO_new_mem_buf(blob, (int)len);
	BIO *mid = BIO_new(BIO_s_secmem()), *plain = BIO_new(BIO_s_secmem());
	CMS_ContentInfo *env = NULL, *signed_ci = NULL;
	STACK_OF(X509) *signers = NULL;
	int rc = -1;

	*payload = NULL;
	if (in == NULL || mid == NULL || plain == NULL)
		abort();
	if ((env = d2i_CMS_bio(in, NULL)) == NULL ||
	    CMS_decrypt(env, t->key, t->cert, NULL, mid, CMS_BINARY) != 1) {
		cf_errorf_ossl(err, CF_E_DENIED,
		    "the sealed transfer is not for this agent, or damaged");
		goto out;
	}
	if ((signed_ci = d2i_CMS_bio(mid, NULL)) == NULL ||
	    CMS_verify(signed_ci, NULL, NULL, NULL, plain,
		CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1 ||
	    (signers = CMS_get0_signers(signed_ci)) == NULL ||
	    sk_X509_num(signers) != 1) {
		cf_errorf_ossl(err, CF_E_DENIED,
		    "the sealed transfer's signature does not verify");
		goto out;
	}
	if (!is_peer(t, sk_X509_value(signers, 0), from)) {
		cf_errorf(err, CF_E_DENIED,
		    "the transfer was sealed by agent %s, which is not a "
		    "transfer peer of this agent (transfer_peers)",
		    from);
		goto out;
	}
	*payload = bio_secret(plain);
	rc = 0;
out:
	sk_X509_free(signers);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(signed_ci);
	BIO_free(in);
	BIO_free(mid); /* secure memory: wiped */
	BIO_free(plain);
	return rc;
}

int
cf_op_import_sealed(struct cf_store *s, const struct cf_transfer *t,
    const struct cf_import_opts *opts, const unsigned char *blob, size_t len,
    struct cf_import_result **res, size_t *nres, struct cf_error *err)
{
	struct cf_secret *payload = NULL;
	struct cf_import_opts io = *opts;
	struct cf_input in;
	char from[CF_FP_LEN + 1] = "", pw[PW_LEN + 1], name[128], *note;
	size_t head = strlen(PAYLOAD_MAGIC) + PW_LEN + 1, i;
	int rc = -1;

	*res = NULL;
	*nres = 0;
	if (transfers_off(t, err) == -1 ||
	    open_sealed(t, blob, len, &payload, from, err) == -1)
		goto fail;
	if (payload->len <= head ||
	    memcmp(payload->data, PAYLOAD_MAGIC, strlen(PAYLOAD_MAGIC)) != 0 ||
	    payload->data[head - 1] != '\n') {
		cf_errorf(err, CF_E_PARSE,
		    "the sealed transfer from %s is not "
		    "certfleet's",
		    from);
		goto fail;
	}
	memcpy(pw, payload->data + strlen(PAYLOAD_MAGIC), PW_LEN);
	pw[PW_LEN] = '\0';
	snprintf(name, sizeof(name), "sealed transfer from agent %.23s…", from);
	in.name = name;
	in.data = (const unsigned char *)payload->data + head;
	in.len = payload->len - head;
	io.password = pw;
	io.exportable = 0; /* it was not exportable where it came from */
	io.op = "import-sealed";
	if ((rc = cf_op_import(s, &in, 1, &io, res, nres, err)) == 0)
		for (i = 0; i < *nres; i++) {
			note = xasprintf("received sealed from agent %s; the "
					 "key is not exportable",
			    from);
			cf_store_audit(s, opts->actor, "import-sealed",
			    (*res)[i].thumbprint, note, NULL);
			free(note);
		}
	OPENSSL_cleanse(pw, sizeof(pw));
	cf_secret_free(payload);
	return rc;
fail : {
	char *failed = xasprintf("failed: %s", err->msg);
	cf_store_audit(s, opts->actor, "import-sealed", "", failed, NULL);
	free(failed);
}
	cf_secret_free(payload);
	return -1;
}
