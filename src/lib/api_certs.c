/*
 * api_certs.c - certificates into and out of the store, and onto
 * services: import, export, enable, disable and remove.  See api_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api_int.h"
#include "ops.h"
#include "view.h"

int
api_h_import(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	struct cf_input *in = NULL;
	struct cf_buf *bufs = NULL;
	size_t n = 0, nres = 0;
	int rc = -1;

	(void)q;
	memset(&io, 0, sizeof(io));
	io.actor = c->actor;
	if (api_field_str(body, "password", &io.password, err) == -1 ||
	    api_field_bool(body, "exportable", &io.exportable, err) == -1 ||
	    api_field_str(body, "friendly_name", &io.friendly_name, err) ==
		-1 ||
	    api_field_str(body, "services", &io.services, err) == -1 ||
	    api_field_bool(body, "force", &io.force, err) == -1 ||
	    api_field_bool(body, "skip_missing_services", &io.skip_missing,
		err) == -1 ||
	    api_read_files(body, &in, &bufs, &n, err) == -1 ||
	    cf_op_import(s, in, n, &io, &res, &nres, err) == -1)
		goto out;
	*resp = api_results_json(res, nres);
	rc = 0;
out:
	api_wipe_field(body, "password");
	cf_import_results_free(res, nres);
	api_free_files(in, bufs, n);
	return rc;
}

int
api_h_export(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	static const struct {
		const char *name;
		enum cf_export_format format;
	} formats[] = {{"p12", CF_EXPORT_P12},
	    {"p12-base64", CF_EXPORT_P12_B64}, {"pem", CF_EXPORT_PEM}};
	struct cf_export_opts eo;
	struct cf_buf out = {0};
	const char *thumb, *format;
	char *data = NULL, *targets = NULL, full[CF_THUMB_LEN + 1];
	size_t i;
	int rc = -1;

	(void)q;
	memset(&eo, 0, sizeof(eo));
	eo.actor = c->actor;
	eo.format = CF_EXPORT_P12;
	if (api_field_required(body, "thumbprint", &thumb, err) == -1 ||
	    api_field_str(body, "format", &format, err) == -1 ||
	    api_field_bool(body, "legacy", &eo.legacy, err) == -1 ||
	    api_field_bool(body, "transfer", &eo.transfer, err) == -1 ||
	    api_field_bool(body, "no_key", &eo.no_key, err) == -1 ||
	    api_field_str(body, "password", &eo.password, err) == -1 ||
	    api_field_names(body, "targets", &targets, err) == -1)
		goto out;
	eo.targets = targets;
	for (i = 0; format != NULL && i < 3; i++)
		if (strcmp(format, formats[i].name) == 0)
			break;
	if (format != NULL && i == 3) {
		cf_errorf(err, CF_E_USAGE,
		    "format %s: the formats are p12, p12-base64 and pem",
		    format);
		goto out;
	}
	if (format != NULL)
		eo.format = formats[i].format;
	if (cf_op_export(s, thumb, &eo, &out, err) == -1 ||
	    cf_store_resolve(s, thumb, full, err) == -1)
		goto out;
	data = cf_base64_new(out.data, out.len);
	*resp = json_pack("{s:s, s:s}", "thumbprint", full, "data", data);
	rc = 0;
out:
	free(targets);
	api_wipe_field(body, "password");
	if (data != NULL) {
		OPENSSL_cleanse(data, strlen(data));
		free(data);
	}
	if (out.data != NULL)
		OPENSSL_cleanse(out.data, out.len);
	cf_buf_clear(&out);
	return rc;
}

/* enable, disable and remove answer with the full thumbprint. */
static int
thumb_reply(int rc, const char *thumb, json_t **resp)
{
	if (rc == 0)
		*resp = json_pack("{s:s}", "thumbprint", thumb);
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
	if (api_field_required(body, "thumbprint", &thumb, err) == -1 ||
	    api_field_required(body, "services", &services, err) == -1 ||
	    api_field_bool(body, "force", &force, err) == -1 ||
	    cf_op_enable(
		s, c->actor, thumb, services, force, full, &detail, err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:o}", "thumbprint", full, "detail",
	    cf_json_string(detail));
	free(detail);
	return 0;
}

int
api_h_replace(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	const char *old, *arg;
	char full[CF_THUMB_LEN + 1] = "", *moved = NULL, *detail = NULL;
	int force;

	(void)q;
	if (api_field_required(body, "old", &old, err) == -1 ||
	    api_field_required(body, "new", &arg, err) == -1 ||
	    api_field_bool(body, "force", &force, err) == -1 ||
	    cf_op_replace(s, c->actor, old, arg, force, full, &moved, &detail,
		err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:o, s:o}", "thumbprint", full, "services",
	    cf_json_list(moved), "detail", cf_json_string(detail));
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
	if (api_field_required(body, "thumbprint", &thumb, err) == -1 ||
	    api_field_required(body, "services", &services, err) == -1)
		return -1;
	return thumb_reply(
	    cf_op_disable(s, c->actor, thumb, services, full, err), full, resp);
}

int
api_h_remove(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb;
	char full[CF_THUMB_LEN + 1] = "";
	int force;

	(void)q;
	if (api_field_required(body, "thumbprint", &thumb, err) == -1 ||
	    api_field_bool(body, "force", &force, err) == -1)
		return -1;
	return thumb_reply(
	    cf_op_remove(s, c->actor, thumb, force, full, err), full, resp);
}
