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
#include "ops.h"
#include "transfer.h"

int
api_h_export_sealed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	json_t *a = body ? json_object_get(body, "recipients") : NULL, *x;
	const char **pems = NULL;
	struct cf_buf out = {0};
	char thumb[CF_THUMB_LEN + 1], *b64;
	const char *arg;
	size_t i;
	int rc = -1;

	(void)q;
	if (api_field_required(body, "thumbprint", &arg, err) == -1)
		return -1;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "recipients: required, the PEM certificates of the target "
		    "agents");
	pems = xcalloc(json_array_size(a), sizeof(*pems));
	json_array_foreach(a, i, x)
	{
		if ((pems[i] = json_string_value(x)) == NULL) {
			cf_errorf(err, CF_E_USAGE,
			    "recipients[%zu]: a PEM "
			    "string",
			    i);
			goto out;
		}
	}
	if (cf_op_export_sealed(s, c->transfer, c->actor, arg, pems,
		json_array_size(a), thumb, &out, err) == -1)
		goto out;
	b64 = cf_base64_new(out.data, out.len);
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "sealed", b64);
	free(b64);
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
	const char *sealed;
	size_t nres = 0;
	int rc = -1;

	(void)q;
	memset(&io, 0, sizeof(io));
	io.actor = c->actor;
	if (api_field_required(body, "sealed", &sealed, err) == -1 ||
	    api_field_str(body, "services", &io.services, err) == -1 ||
	    api_field_bool(body, "force", &io.force, err) == -1 ||
	    api_field_bool(body, "skip_missing_services", &io.skip_missing,
		err) == -1 ||
	    cf_base64_decode(sealed, strlen(sealed), "sealed", &blob, err) ==
		-1 ||
	    cf_op_import_sealed(s, c->transfer, &io, blob.data, blob.len, &res,
		&nres, err) == -1)
		goto out;
	*resp = api_results_json(res, nres);
	rc = 0;
out:
	cf_import_results_free(res, nres);
	cf_buf_clear(&blob);
	return rc;
}
