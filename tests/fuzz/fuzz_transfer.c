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
 */
#include "harness.h"
#include "transfer.h"

static struct cf_store *store;
static struct cf_transfer me;
static char peer_fp[CF_FP_LEN + 1];
static const char *peers[1] = {peer_fp};
static unsigned long runs;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *akey;
	X509 *acert;

	(void)argc;
	(void)argv;
	fz_identity("b", &me.key, &me.cert);
	fz_identity("a", &akey, &acert);
	cf_cert_fingerprint(acert, peer_fp);
	EVP_PKEY_free(akey);
	X509_free(acert);
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
	int rc;

	if (size > 262144)
		return 0;
	if (store == NULL || ++runs % FZ_RESET == 0) {
		cf_store_free(store);
		store = fz_store_new("store", NULL);
	}
	memset(&io, 0, sizeof(io));
	io.actor = "fuzz";
	cf_error_clear(&err);
	rc = cf_op_import_sealed(store, &me, &io, data, size, &res, &nres,
	    &err);
	if (rc == -1 && (err.code == CF_OK || err.msg[0] == '\0'))
		abort(); /* a refusal says why */
	if (rc == 0 && nres == 0)
		abort(); /* an import imports */
	cf_import_results_free(res, nres);
	if (rc == 0) { /* back to a store without it */
		cf_store_free(store);
		store = NULL;
	}
	ERR_clear_error();
	return 0;
}
