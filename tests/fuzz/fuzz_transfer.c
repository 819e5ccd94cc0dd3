/*
 * fuzz_transfer.c - libFuzzer harness over the opening of a sealed
 * transfer (src/lib/transfer.c: CMS enveloped data to this agent's
 * identity, holding CMS signed data by a peer, holding the payload), as
 * POST /v1/import-sealed runs it.  This agent is the test identity "b",
 * its one peer "a"; the store is rebuilt every FZ_RESET runs and after
 * every import that succeeds.
 *
 * tests/fuzz/corpus/transfer/sealed is a real transfer from "a" to "b":
 * the "sealed" of fuzz_api's answer to export-sealed (CF_FUZZ_REPLIES).
 *
 * Anyone can encrypt to an agent's identity certificate, which is no
 * secret, so the layer inside the envelope is outside bytes too; and the
 * payload inside a peer's signature is what a peer sends.  An input
 * starting with byte 1 is that inner layer, which the harness envelops
 * for "b"; with byte 2 it is the payload, which the harness signs as "a"
 * and envelops.  Any other input is the sealed transfer as it arrives.
 * The seeds inner and payload are the layers of sealed, so made:
 *   openssl cms -decrypt -binary -inform DER -in sealed -recip b.crt \
 *       -inkey b.key | (printf '\001'; cat) >inner
 *   tail -c +2 inner | openssl cms -verify -binary -inform DER \
 *       -noverify | (printf '\002'; cat) >payload
 */
#include <openssl/cms.h>

#include "harness.h"
#include "transfer.h"

static struct cf_store *store;
static struct cf_transfer me;
static char peer_fp[CF_FP_LEN + 1];
static const char *peers[1] = {peer_fp};
static unsigned long runs;
static EVP_PKEY *akey; /* the peer, who signs payloads */
static X509 *acert;
static STACK_OF(X509) * rcpts; /* b */

/* data as the transfer would carry it: signed by "a" when sign, then
 * enveloped for "b"; new DER into *der (OPENSSL_free). */
static int
wrap(const uint8_t *data, size_t size, int sign, unsigned char **der)
{
	BIO *in = BIO_new_mem_buf(data, (int)size), *mid = BIO_new(BIO_s_mem());
	CMS_ContentInfo *signed_ci = NULL, *env = NULL;
	int n = -1;

	if (in == NULL || mid == NULL)
		abort();
	if (sign) {
		signed_ci = CMS_sign(acert, akey, NULL, in, CMS_BINARY);
		if (signed_ci == NULL || i2d_CMS_bio(mid, signed_ci) <= 0)
			abort();
	} else if (size > 0 && BIO_write(mid, data, (int)size) != (int)size)
		abort();
	env = CMS_encrypt(rcpts, mid, EVP_aes_256_cbc(), CMS_BINARY);
	if (env == NULL || (n = i2d_CMS_ContentInfo(env, der)) <= 0)
		abort();
	CMS_ContentInfo_free(signed_ci);
	CMS_ContentInfo_free(env);
	BIO_free(in);
	BIO_free(mid);
	return n;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *bkey;
	X509 *bcert;

	(void)argc;
	(void)argv;
	fz_identity("b", &me.key, &me.cert);
	fz_identity("a", &akey, &acert);
	cf_cert_fingerprint(acert, peer_fp);
	fz_identity("b", &bkey, &bcert);
	rcpts = sk_X509_new_null();
	sk_X509_push(rcpts, bcert);
	EVP_PKEY_free(bkey);
	me.peers = peers;
	me.npeers = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	size_t nres = 0;
	struct cf_error err;
	unsigned char *der = NULL;
	int rc;

	if (size > 262144)
		return 0;
	if (size > 0 && (data[0] == 1 || data[0] == 2)) {
		size = (size_t)wrap(data + 1, size - 1, data[0] == 2, &der);
		data = der;
	}
	if (store == NULL || ++runs % FZ_RESET == 0) {
		cf_store_free(store);
		store = fz_store_new("store", NULL);
	}
	memset(&io, 0, sizeof(io));
	io.actor = "fuzz";
	cf_error_clear(&err);
	rc =
	    cf_op_import_sealed(store, &me, &io, data, size, &res, &nres, &err);
	if (rc == -1 && (err.code == CF_OK || err.msg[0] == '\0'))
		abort(); /* a refusal says why */
	if (rc == 0 && nres == 0)
		abort(); /* an import imports */
	cf_import_results_free(res, nres);
	OPENSSL_free(der);
	if (rc == 0) { /* back to a store without it */
		cf_store_free(store);
		store = NULL;
	}
	ERR_clear_error();
	return 0;
}
