/*
 * api_certs.c - certificates into and out of the store, and onto
 * services: import, export, enable, disable and remove.  See api_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api_int.h"
#include "msg.h"
#include "ops.h"

int
api_h_import(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	struct cf_msg_files files = {0};
	size_t nres = 0;
	int rc = -1;

	(void)q;
	if (cf_msg_import_decode(body, &io, &files, err) == -1)
		goto out;
	io.actor = c->actor;
	if (cf_op_import(s, files.in, files.n, &io, &res, &nres, err) == -1)
		goto out;
	*resp = cf_msg_results_encode(res, nres);
	rc = 0;
out:
	cf_msg_body_wipe(body);
	cf_import_results_free(res, nres);
	cf_msg_files_clear(&files);
	return rc;
}

int
api_h_export(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_export_opts eo;
	struct cf_buf out = {0};
	const char *thumb;
	char *targets = NULL, full[CF_THUMB_LEN + 1];
	int rc = -1;

	(void)q;
	if (cf_msg_export_decode(body, &thumb, &eo, &targets, err) == -1)
		goto out;
	eo.actor = c->actor;
	if (cf_op_export(s, thumb, &eo, &out, err) == -1 ||
	    cf_store_resolve(s, thumb, full, err) == -1)
		goto out;
	*resp = cf_msg_data_encode(full, &out);
	rc = 0;
out:
	free(targets);
	cf_msg_body_wipe(body);
	if (out.data != NULL)
		OPENSSL_cleanse(out.data, out.len);
	cf_buf_clear(&out);
	return rc;
}

int
api_h_enable(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb, *services;
	char full[CF_THUMB_LEN + 1] = "", *detail = NULL;
	int force;

	(void)q;
	if (cf_msg_enable_decode(body, &thumb, &services, &force, err) == -1 ||
	    cf_op_enable(
		s, c->actor, thumb, services, force, full, &detail, err) == -1)
		return -1;
	*resp = cf_msg_detail_encode(full, detail);
	free(detail);
	return 0;
}

int
api_h_replace(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *old, *arg;
	char full[CF_THUMB_LEN + 1] = "", *moved = NULL, *detail = NULL;
	int force;

	(void)q;
	if (cf_msg_replace_decode(body, &old, &arg, &force, err) == -1 ||
	    cf_op_replace(
		s, c->actor, old, arg, force, full, &moved, &detail, err) == -1)
		return -1;
	*resp = cf_msg_moved_encode(full, moved, detail);
	free(moved);
	free(detail);
	return 0;
}

int
api_h_disable(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb, *services;
	char full[CF_THUMB_LEN + 1] = "";

	(void)q;
	if (cf_msg_disable_decode(body, &thumb, &services, err) == -1 ||
	    cf_op_disable(s, c->actor, thumb, services, full, err) == -1)
		return -1;
	*resp = cf_msg_thumb_encode(full);
	return 0;
}

int
api_h_remove(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb;
	char full[CF_THUMB_LEN + 1] = "";
	int force;

	(void)q;
	if (cf_msg_remove_decode(body, &thumb, &force, err) == -1 ||
	    cf_op_remove(s, c->actor, thumb, force, full, err) == -1)
		return -1;
	*resp = cf_msg_thumb_encode(full);
	return 0;
}
