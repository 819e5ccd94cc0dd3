/*
 * api_issue.c - making certificates: new-self-signed, request new (a key
 * and a CSR), request complete (the CA's answer) and renew.  See
 * api_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "ops.h"
#include "view.h"

int
api_h_new_self_signed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_selfsigned_opts so;
	struct cf_import_result *res = NULL;
	json_t *days = body ? json_object_get(body, "days") : NULL;
	size_t nres = 0;
	int rc = -1, asked = 0;

	(void)q;
	memset(&so, 0, sizeof(so));
	so.actor = c->actor;
	if (api_field_required(body, "subject", &so.subject, err) == -1 ||
	    api_field_str(body, "domains", &so.domains, err) == -1 ||
	    api_field_str(body, "key", &so.key, err) == -1 ||
	    api_field_str(body, "services", &so.services, err) == -1 ||
	    api_field_str(body, "friendly_name", &so.friendly_name, err) ==
		-1 ||
	    api_field_bool(body, "exportable", &so.exportable, err) == -1 ||
	    api_field_bool(body, "force", &so.force, err) == -1)
		goto out;
	if (days != NULL && !json_is_null(days)) {
		if (!json_is_integer(days) || json_integer_value(days) < 1 ||
		    json_integer_value(days) > 36500) {
			cf_errorf(err, CF_E_USAGE,
			    "days: must be a whole number from 1 to 36500");
			goto out;
		}
		so.days = (int)json_integer_value(days);
	}
	asked = 1; /* from here the operation audits its own outcome */
	if (cf_op_new_self_signed(s, &so, &res, &nres, err) == 0) {
		*resp = api_results_json(res, nres);
		rc = 0;
	}
out:
	/* A bad request is a failed command: audited too. */
	if (rc == -1 && !asked)
		cf_audit_failure(s, c->actor, "new-self-signed", "", err);
	cf_import_results_free(res, nres);
	return rc;
}

int
api_h_request_new(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_request_opts o;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;

	(void)q;
	memset(&o, 0, sizeof(o));
	o.actor = c->actor;
	if (api_field_required(body, "subject", &o.subject, err) == -1 ||
	    api_field_str(body, "domains", &o.domains, err) == -1 ||
	    api_field_str(body, "key", &o.key, err) == -1 ||
	    api_field_str(body, "friendly_name", &o.friendly_name, err) == -1 ||
	    api_field_bool(body, "exportable", &o.exportable, err) == -1 ||
	    cf_op_request_new(s, &o, &pem, thumb, err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "csr", pem);
	free(pem);
	return 0;
}

int
api_h_request_complete(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_input *in = NULL;
	struct cf_buf *bufs = NULL;
	char thumb[CF_THUMB_LEN + 1], *detail = NULL;
	size_t n = 0;
	int rc = -1;

	(void)q;
	if (api_read_files(body, &in, &bufs, &n, err) == -1)
		goto out;
	if (n != 1) {
		cf_errorf(err, CF_E_USAGE, "files: one answer at a time");
		goto out;
	}
	if (cf_op_request_complete(s, c->actor, &in[0], thumb, &detail, err) ==
	    -1)
		goto out;
	*resp = json_pack("{s:s, s:o}", "thumbprint", thumb, "detail",
	    cf_json_string(detail));
	rc = 0;
out:
	free(detail);
	api_free_files(in, bufs, n);
	return rc;
}

int
api_h_renew(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *arg;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;
	int keep;

	(void)q;
	if (api_field_required(body, "thumbprint", &arg, err) == -1 ||
	    api_field_bool(body, "keep_key", &keep, err) == -1 ||
	    cf_op_renew(s, c->actor, arg, keep, &pem, thumb, err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "csr", pem);
	free(pem);
	return 0;
}
