/*
 * api_copy.c - sealed copies between agents: export-sealed seals a
 * certificate and its key to the target agents' identities, and
 * import-sealed opens one sealed to this agent.  See api_int.h and
 * transfer.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api_int.h"
#include "msg.h"
#include "ops.h"
#include "transfer.h"

int
api_h_export_sealed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	const char **pems = NULL;
	struct cf_buf out = {0};
	char thumb[CF_THUMB_LEN + 1];
	const char *arg;
	size_t n = 0;
	int rc = -1;

	(void)q;
	if (cf_msg_export_sealed_decode(body, &arg, &pems, &n, err) == -1 ||
	    cf_op_export_sealed(
		s, c->transfer, c->actor, arg, pems, n, thumb, &out, err) == -1)
		goto out;
	*resp = cf_msg_sealed_encode(thumb, &out);
	rc = 0;
out:
	if (out.data != NULL)
		OPENSSL_cleanse(out.data, out.len);
	cf_buf_clear(&out);
	free(pems);
	return rc;
}

int
api_h_import_sealed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	struct cf_buf blob = {0};
	size_t nres = 0;
	int rc = -1;

	(void)q;
	if (cf_msg_import_sealed_decode(body, &blob, &io, err) == -1)
		goto out;
	io.actor = c->actor;
	if (cf_op_import_sealed(s, c->transfer, &io, blob.data, blob.len, &res,
		&nres, err) == -1)
		goto out;
	*resp = cf_msg_results_encode(res, nres);
	rc = 0;
out:
	cf_import_results_free(res, nres);
	cf_buf_clear(&blob);
	return rc;
}
