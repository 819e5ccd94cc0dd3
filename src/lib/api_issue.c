/*
 * api_issue.c - making certificates: new-self-signed, request new (a key
 * and a CSR), request complete (the CA's answer) and renew.  See
 * api_int.h.
 */
#include <stdlib.h>

#include "api_int.h"
#include "msg.h"
#include "ops.h"

int
api_h_new_self_signed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_selfsigned_opts so;
	struct cf_import_result *res = NULL;
	size_t nres = 0;

	(void)q;
	if (cf_msg_new_self_signed_decode(body, &so, err) == -1) {
		/* A bad request is a failed command: audited too.  From
		 * here on the operation audits its own outcome. */
		cf_audit_failure(s, c->actor, "new-self-signed", "", err);
		return -1;
	}
	so.actor = c->actor;
	if (cf_op_new_self_signed(s, &so, &res, &nres, err) == -1)
		return -1;
	*resp = cf_msg_results_encode(res, nres);
	cf_import_results_free(res, nres);
	return 0;
}

int
api_h_request_new(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_request_opts o;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;

	(void)q;
	if (cf_msg_request_new_decode(body, &o, err) == -1)
		return -1;
	o.actor = c->actor;
	if (cf_op_request_new(s, &o, &pem, thumb, err) == -1)
		return -1;
	*resp = cf_msg_csr_encode(thumb, pem);
	free(pem);
	return 0;
}

int
api_h_request_complete(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_msg_files files = {0};
	char thumb[CF_THUMB_LEN + 1], *detail = NULL;
	int rc = -1;

	(void)q;
	if (cf_msg_request_complete_decode(body, &files, err) == -1 ||
	    cf_op_request_complete(
		s, c->actor, &files.in[0], thumb, &detail, err) == -1)
		goto out;
	*resp = cf_msg_detail_encode(thumb, detail);
	rc = 0;
out:
	free(detail);
	cf_msg_files_clear(&files);
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
	if (cf_msg_renew_decode(body, &arg, &keep, err) == -1 ||
	    cf_op_renew(s, c->actor, arg, keep, &pem, thumb, err) == -1)
		return -1;
	*resp = cf_msg_csr_encode(thumb, pem);
	free(pem);
	return 0;
}
