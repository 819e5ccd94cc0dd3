/*
 * fuzz_requests.c - libFuzzer harness over request complete
 * (src/lib/ops_request.c): the input is the CA's answer, matched against a
 * store holding one pending request.  The request renews the test
 * identity "a" keeping its key, so tests/fuzz/keys/answer.crt (another
 * certificate for that key) answers it and the seeds reach the import.
 * The store is rebuilt every FZ_RESET runs and after every completion.
 */
#include "harness.h"
#include "ops.h"

static struct cf_store *store;
static unsigned long runs;

/* A store with "a" and a pending request renewing it with its key. */
static struct cf_store *
pending(void)
{
	struct cf_store *s = fz_store_a("store", NULL);
	struct cf_row *rows = NULL;
	struct cf_error err;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;
	size_t n = 0;

	cf_error_clear(&err);
	if (cf_store_begin_read(s, &err) == -1 ||
	    cf_store_list(s, CF_END, NULL, 0, &rows, &n, &err) == -1 || n != 1)
		abort();
	cf_store_rollback(s);
	if (cf_op_renew(
		s, "fuzz", rows[0].f.thumbprint, 1, &pem, thumb, &err) == -1) {
		fprintf(stderr, "fuzz_requests: renew: %s\n", err.msg);
		abort();
	}
	free(pem);
	cf_rows_free(rows, n);
	return s;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_input in = {"answer.pem", data, size};
	struct cf_error err;
	char thumb[CF_THUMB_LEN + 1], *detail = NULL;
	int rc;

	if (size > 262144)
		return 0;
	if (store == NULL || ++runs % FZ_RESET == 0) {
		cf_store_free(store);
		store = pending();
	}
	cf_error_clear(&err);
	rc = cf_op_request_complete(store, "fuzz", &in, thumb, &detail, &err);
	if (rc == -1 && (err.code == CF_OK || err.msg[0] == '\0')) {
		fprintf(stderr, "refused without a reason: code %d \"%s\"\n",
		    (int)err.code, err.msg);
		abort(); /* a refusal says why */
	}
	free(detail);
	if (rc == 0) { /* completed: back to a pending request */
		cf_store_free(store);
		store = NULL;
	}
	ERR_clear_error();
	return 0;
}
