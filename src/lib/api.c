/*
 * api.c - the JSON face of the operations: see api.h and docs/api.md.
 * A table of routes; each handler turns a JSON body into an operation's
 * arguments and its result into JSON, and nothing more.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "api.h"
#include "ops.h"
#include "transfer.h"
#include "version.h"
#include "view.h"

#define MAX_FILES 1000

typedef int (*handler)(struct cf_store *, const struct cf_api_caller *,
    const char *query, json_t *body, json_t **resp, struct cf_error *);

static int h_whoami(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_certificates(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_import(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_export(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_enable(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_disable(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_remove(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_new_self_signed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_log(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_services(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_export_sealed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_import_sealed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_request_new(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
static int h_request_complete(struct cf_store *,
    const struct cf_api_caller *, const char *, json_t *, json_t **,
    struct cf_error *);
static int h_renew(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);

static const struct route {
	const char *method, *path, *op;
	enum cf_role need;
	int slow;
	handler fn;
} routes[] = {
    {"GET", "/v1/whoami", "whoami", CF_ROLE_READER, 0, h_whoami},
    {"GET", "/v1/certificates", "get", CF_ROLE_READER, 0, h_certificates},
    {"GET", "/v1/log", "log", CF_ROLE_READER, 0, h_log},
    {"GET", "/v1/services", "services", CF_ROLE_READER, 1, h_services},
    {"POST", "/v1/import", "import", CF_ROLE_ADMIN, 1, h_import},
    {"POST", "/v1/export", "export", CF_ROLE_ADMIN, 1, h_export},
    {"POST", "/v1/enable", "enable", CF_ROLE_ADMIN, 1, h_enable},
    {"POST", "/v1/disable", "disable", CF_ROLE_ADMIN, 0, h_disable},
    {"POST", "/v1/remove", "remove", CF_ROLE_ADMIN, 0, h_remove},
    {"POST", "/v1/new-self-signed", "new-self-signed", CF_ROLE_ADMIN, 1,
	h_new_self_signed},
    {"POST", "/v1/request/new", "request new", CF_ROLE_ADMIN, 1,
	h_request_new},
    {"POST", "/v1/request/complete", "request complete", CF_ROLE_ADMIN, 1,
	h_request_complete},
    {"POST", "/v1/renew", "renew", CF_ROLE_ADMIN, 1, h_renew},
    {"POST", "/v1/export-sealed", "export", CF_ROLE_ADMIN, 1,
	h_export_sealed},
    {"POST", "/v1/import-sealed", "import-sealed", CF_ROLE_ADMIN, 1,
	h_import_sealed},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const char *
cf_role_name(enum cf_role role)
{
	return role == CF_ROLE_ADMIN	? "admin"
	       : role == CF_ROLE_READER ? "reader"
					: "none";
}

enum cf_role
cf_role_parse(const char *name)
{
	if (name != NULL && strcmp(name, "admin") == 0)
		return CF_ROLE_ADMIN;
	if (name != NULL && strcmp(name, "reader") == 0)
		return CF_ROLE_READER;
	return CF_ROLE_NONE;
}

int
cf_json_depth(const json_t *j)
{
	int max = 0, d;
	size_t i;
	const char *k;
	json_t *v;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		if ((d = cf_json_depth(v)) > max)
			max = d;
		return max + 1;
	}
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
		if ((d = cf_json_depth(v)) > max)
			max = d;
		return max + 1;
	}
	return 1;
}

int
cf_api_is_slow(const char *path)
{
	size_t i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(path, routes[i].path) == 0)
			return routes[i].slow;
	return 0;
}

/* ---- reading a request's fields ---------------------------------- */

/* The string field key of body, NULL when absent or null. */
static int
field_str(json_t *body, const char *key, const char **out,
    struct cf_error *err)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cf_errorf(err, CF_E_USAGE, "%s: must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static int
field_bool(json_t *body, const char *key, int *out, struct cf_error *err)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cf_errorf(err, CF_E_USAGE, "%s: must be true or false",
		    key);
	*out = json_is_true(v);
	return 0;
}

static int
field_required(json_t *body, const char *key, const char **out,
    struct cf_error *err)
{
	if (field_str(body, key, out, err) == -1)
		return -1;
	if (*out == NULL)
		return cf_errorf(err, CF_E_USAGE, "%s: required", key);
	return 0;
}

/* Wipes a secret string held by the request's JSON once it is used. */
static void
wipe_field(json_t *body, const char *key)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	if (v != NULL && json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v),
		    json_string_length(v));
}

/* The value of name in a query string "a=1&b=2", new, or NULL. */
static char *
query_get(const char *query, const char *name)
{
	size_t n = strlen(name);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *end = strchr(p + n + 1, '&');
			return end ? strndup(p + n + 1, (size_t)(end - p - n - 1))
				   : xstrdup(p + n + 1);
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static json_t *
results_json(const struct cf_import_result *r, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:s}", "Thumbprint",
			r[i].thumbprint, "Services", r[i].services, "Result",
			r[i].what, "Detail", r[i].detail ? r[i].detail : ""));
	return json_pack("{s:o}", "results", a);
}

/* ---- handlers ------------------------------------------------------ */

static int
h_whoami(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	(void)s;
	(void)q;
	(void)body;
	(void)err;
	*resp = json_pack("{s:s, s:s, s:s, s:s}", "agent",
	    c->agent ? c->agent : "", "role", cf_role_name(c->role), "client",
	    c->client ? c->client : "", "version", CF_VERSION);
	if (c->transfer != NULL && c->transfer->cert != NULL) {
		/* The identity certificate is public; copy seals to it. */
		BIO *b = BIO_new(BIO_s_mem());
		char *pem;
		long n;
		if (b == NULL || !PEM_write_bio_X509(b, c->transfer->cert))
			abort();
		n = BIO_get_mem_data(b, &pem);
		json_object_set_new(*resp, "certificate",
		    json_stringn(pem, (size_t)n));
		json_object_set_new(*resp, "transfer",
		    json_boolean(c->transfer->npeers > 0));
		BIO_free(b);
	}
	return 0;
}

static int
h_certificates(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_view *v = NULL;
	char *thumb = query_get(q, "thumbprint");
	size_t n = 0, i;
	int rc;

	(void)c;
	(void)body;
	rc = cf_op_get(s, thumb, &v, &n, err);
	free(thumb);
	if (rc == -1)
		return -1;
	*resp = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(*resp, cf_view_json(&v[i]));
	cf_views_free(v, n);
	return 0;
}

static void
free_files(struct cf_input *in, struct cf_buf *bufs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (bufs[i].data != NULL)
			OPENSSL_cleanse(bufs[i].data, bufs[i].len);
		cf_buf_clear(&bufs[i]);
	}
	free(bufs);
	free(in);
}

/* The files of an import request, decoded. */
static int
read_files(json_t *body, struct cf_input **in, struct cf_buf **bufs,
    size_t *n, struct cf_error *err)
{
	json_t *files = json_object_get(body, "files"), *f;
	size_t i;

	*in = NULL;
	*bufs = NULL;
	*n = 0;
	if (!json_is_array(files) || json_array_size(files) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "files: required, an array of {name, data}");
	if (json_array_size(files) > MAX_FILES)
		return cf_errorf(err, CF_E_LIMIT, "more than %d files in one "
						  "import", MAX_FILES);
	*in = xcalloc(json_array_size(files), sizeof(**in));
	*bufs = xcalloc(json_array_size(files), sizeof(**bufs));
	json_array_foreach(files, i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *data = json_object_get(f, "data");
		(*n)++;
		if (name == NULL || !json_is_string(data))
			return cf_errorf(err, CF_E_USAGE,
			    "files[%zu]: needs a name and Base64 data", i);
		if (cf_base64_decode(json_string_value(data),
			json_string_length(data), name, &(*bufs)[i], err) == -1)
			return -1;
		(*in)[i].name = name;
		(*in)[i].data = (*bufs)[i].data;
		(*in)[i].len = (*bufs)[i].len;
	}
	return 0;
}

static int
h_import(struct cf_store *s, const struct cf_api_caller *c, const char *q,
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
	if (field_str(body, "password", &io.password, err) == -1 ||
	    field_bool(body, "exportable", &io.exportable, err) == -1 ||
	    field_str(body, "friendly_name", &io.friendly_name, err) == -1 ||
	    field_str(body, "services", &io.services, err) == -1 ||
	    field_bool(body, "force", &io.force, err) == -1 ||
	    read_files(body, &in, &bufs, &n, err) == -1 ||
	    cf_op_import(s, in, n, &io, &res, &nres, err) == -1)
		goto out;
	*resp = results_json(res, nres);
	rc = 0;
out:
	wipe_field(body, "password");
	cf_import_results_free(res, nres);
	free_files(in, bufs, n);
	return rc;
}

static int
h_export(struct cf_store *s, const struct cf_api_caller *c, const char *q,
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
	char *data = NULL, full[CF_THUMB_LEN + 1];
	size_t i;
	int rc = -1;

	(void)q;
	memset(&eo, 0, sizeof(eo));
	eo.actor = c->actor;
	eo.format = CF_EXPORT_P12;
	if (field_required(body, "thumbprint", &thumb, err) == -1 ||
	    field_str(body, "format", &format, err) == -1 ||
	    field_bool(body, "legacy", &eo.legacy, err) == -1 ||
	    field_bool(body, "transfer", &eo.transfer, err) == -1 ||
	    field_bool(body, "no_key", &eo.no_key, err) == -1 ||
	    field_str(body, "password", &eo.password, err) == -1)
		goto out;
	for (i = 0; format != NULL && i < 3; i++)
		if (strcmp(format, formats[i].name) == 0)
			break;
	if (format != NULL && i == 3) {
		cf_errorf(err, CF_E_USAGE,
		    "format %s: the formats are p12, p12-base64 and pem", format);
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
	wipe_field(body, "password");
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

static int
h_enable(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb, *services;
	char full[CF_THUMB_LEN + 1] = "", *detail = NULL;
	int force;

	(void)q;
	if (field_required(body, "thumbprint", &thumb, err) == -1 ||
	    field_required(body, "services", &services, err) == -1 ||
	    field_bool(body, "force", &force, err) == -1 ||
	    cf_op_enable(s, c->actor, thumb, services, force, full, &detail,
		err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:s}", "thumbprint", full, "detail",
	    detail ? detail : "");
	free(detail);
	return 0;
}

static int
h_disable(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb, *services;
	char full[CF_THUMB_LEN + 1] = "";

	(void)q;
	if (field_required(body, "thumbprint", &thumb, err) == -1 ||
	    field_required(body, "services", &services, err) == -1)
		return -1;
	return thumb_reply(
	    cf_op_disable(s, c->actor, thumb, services, full, err), full,
	    resp);
}

static int
h_remove(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *thumb;
	char full[CF_THUMB_LEN + 1] = "";
	int force;

	(void)q;
	if (field_required(body, "thumbprint", &thumb, err) == -1 ||
	    field_bool(body, "force", &force, err) == -1)
		return -1;
	return thumb_reply(cf_op_remove(s, c->actor, thumb, force, full, err),
	    full, resp);
}

static int
h_new_self_signed(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_selfsigned_opts so;
	struct cf_import_result *res = NULL;
	json_t *days = body ? json_object_get(body, "days") : NULL;
	size_t nres = 0;
	int rc = -1;

	(void)q;
	memset(&so, 0, sizeof(so));
	so.actor = c->actor;
	if (field_required(body, "subject", &so.subject, err) == -1 ||
	    field_str(body, "domains", &so.domains, err) == -1 ||
	    field_str(body, "key", &so.key, err) == -1 ||
	    field_str(body, "services", &so.services, err) == -1 ||
	    field_str(body, "friendly_name", &so.friendly_name, err) == -1 ||
	    field_bool(body, "exportable", &so.exportable, err) == -1 ||
	    field_bool(body, "force", &so.force, err) == -1)
		return -1;
	if (days != NULL && !json_is_null(days)) {
		if (!json_is_integer(days) || json_integer_value(days) < 1 ||
		    json_integer_value(days) > 36500)
			return cf_errorf(err, CF_E_USAGE,
			    "days: must be a whole number from 1 to 36500");
		so.days = (int)json_integer_value(days);
	}
	if (cf_op_new_self_signed(s, &so, &res, &nres, err) == 0) {
		*resp = results_json(res, nres);
		rc = 0;
	}
	cf_import_results_free(res, nres);
	return rc;
}

static int
h_request_new(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_request_opts o;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;

	(void)q;
	memset(&o, 0, sizeof(o));
	o.actor = c->actor;
	if (field_required(body, "subject", &o.subject, err) == -1 ||
	    field_str(body, "domains", &o.domains, err) == -1 ||
	    field_str(body, "key", &o.key, err) == -1 ||
	    field_str(body, "friendly_name", &o.friendly_name, err) == -1 ||
	    field_bool(body, "exportable", &o.exportable, err) == -1 ||
	    cf_op_request_new(s, &o, &pem, thumb, err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "csr", pem);
	free(pem);
	return 0;
}

static int
h_request_complete(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_input *in = NULL;
	struct cf_buf *bufs = NULL;
	char thumb[CF_THUMB_LEN + 1], *detail = NULL;
	size_t n = 0;
	int rc = -1;

	(void)q;
	if (read_files(body, &in, &bufs, &n, err) == -1)
		goto out;
	if (n != 1) {
		cf_errorf(err, CF_E_USAGE, "files: one answer at a time");
		goto out;
	}
	if (cf_op_request_complete(s, c->actor, &in[0], thumb, &detail, err) ==
	    -1)
		goto out;
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "detail",
	    detail ? detail : "");
	rc = 0;
out:
	free(detail);
	free_files(in, bufs, n);
	return rc;
}

static int
h_renew(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	const char *arg;
	char thumb[CF_THUMB_LEN + 1], *pem = NULL;
	int keep;

	(void)q;
	if (field_required(body, "thumbprint", &arg, err) == -1 ||
	    field_bool(body, "keep_key", &keep, err) == -1 ||
	    cf_op_renew(s, c->actor, arg, keep, &pem, thumb, err) == -1)
		return -1;
	*resp = json_pack("{s:s, s:s}", "thumbprint", thumb, "csr", pem);
	free(pem);
	return 0;
}

static int
h_log(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_audit *recs = NULL;
	char *since = query_get(q, "since"), *end = NULL;
	long long t = 0;
	size_t n = 0, i;

	(void)c;
	(void)body;
	if (since != NULL) {
		t = strtoll(since, &end, 10);
		if (end == since || *end != '\0' || t < 0) {
			free(since);
			return cf_errorf(err, CF_E_USAGE,
			    "since: seconds since 1970, a whole number");
		}
	}
	free(since);
	if (cf_store_audit_list(s, (time_t)t, &recs, &n, err) == -1)
		return -1;
	*resp = json_array();
	for (i = 0; i < n; i++) {
		char iso[21];
		cf_time_iso(recs[i].time, iso);
		json_array_append_new(*resp,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Time", iso, "Actor",
			recs[i].actor, "Operation", recs[i].op, "Thumbprint",
			recs[i].thumb, "Outcome", recs[i].outcome));
	}
	cf_audit_free(recs, n);
	return 0;
}

static int
h_export_sealed(struct cf_store *s, const struct cf_api_caller *c,
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
	if (field_required(body, "thumbprint", &arg, err) == -1)
		return -1;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "recipients: required, the PEM certificates of the target "
		    "agents");
	pems = xcalloc(json_array_size(a), sizeof(*pems));
	json_array_foreach(a, i, x)
	{
		if ((pems[i] = json_string_value(x)) == NULL) {
			cf_errorf(err, CF_E_USAGE, "recipients[%zu]: a PEM "
						   "string", i);
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

static int
h_import_sealed(struct cf_store *s, const struct cf_api_caller *c,
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
	if (field_required(body, "sealed", &sealed, err) == -1 ||
	    field_str(body, "services", &io.services, err) == -1 ||
	    field_bool(body, "force", &io.force, err) == -1 ||
	    cf_base64_decode(sealed, strlen(sealed), "sealed", &blob, err) ==
		-1 ||
	    cf_op_import_sealed(s, c->transfer, &io, blob.data, blob.len, &res,
		&nres, err) == -1)
		goto out;
	*resp = results_json(res, nres);
	rc = 0;
out:
	cf_import_results_free(res, nres);
	cf_buf_clear(&blob);
	return rc;
}

/* A thumbprint, or null when there is none. */
static json_t *
thumb_or_null(const char *t)
{
	return t[0] ? json_string(t) : json_null();
}

static int
h_services(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_service_view *v = NULL;
	size_t n = 0, i;

	char *probe = query_get(q, "probe");
	int live = probe == NULL || strcmp(probe, "0") != 0;

	(void)c;
	(void)body;
	free(probe);
	if (cf_op_services(s, live, &v, &n, err) == -1)
		return -1;
	*resp = json_array();
	for (i = 0; i < n; i++) {
		char iso[21] = "";
		if (v[i].not_after != 0)
			cf_time_iso(v[i].not_after, iso);
		json_t *o = json_pack(
		    "{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "Service",
		    v[i].name, "Kind", v[i].kind, "Assigned",
		    thumb_or_null(v[i].assigned), "OnDisk",
		    thumb_or_null(v[i].on_disk), "Served",
		    thumb_or_null(v[i].served), "Match",
		    v[i].match < 0 ? json_null() : json_boolean(v[i].match),
		    "NotAfter", iso, "Endpoint", v[i].endpoint, "Problem",
		    v[i].problem);
		json_object_set_new(o, "CheckHost", json_string(v[i].check_host));
		json_object_set_new(o, "CheckPort", json_string(v[i].check_port));
		json_object_set_new(o, "Protocol", json_string(v[i].proto));
		json_object_set_new(o, "Name", json_string(v[i].sni));
		json_array_append_new(*resp, o);
	}
	cf_service_views_free(v, n);
	return 0;
}

/* ---- dispatch ------------------------------------------------------ */

static json_t *
error_json(const struct cf_error *err)
{
	return json_pack("{s:s, s:s}", "code", cf_code_name(err->code),
	    "message", err->msg);
}

int
cf_api_render(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    char **text)
{
	int listing = strcmp(method, "GET") == 0 &&
	    strcmp(path, "/v1/certificates") == 0 &&
	    (query == NULL || query[0] == '\0') &&
	    caller->role >= CF_ROLE_READER;
	const char *cached = listing ? cf_store_cached(s) : NULL;
	json_t *resp = NULL;
	int status;

	if (cached != NULL) {
		*text = xstrdup(cached);
		return 200;
	}
	if (listing)
		cf_store_cache_mark(s);
	status = cf_api_handle(s, caller, method, path, query, body, &resp);
	if ((*text = json_dumps(resp, JSON_COMPACT)) == NULL)
		abort(); /* jansson fails only to allocate */
	json_decref(resp);
	if (listing && status == 200)
		cf_store_cache(s, xstrdup(*text));
	return status;
}

int
cf_api_handle(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    json_t **response)
{
	const struct route *r = NULL;
	struct cf_error err;
	int path_known = 0;
	size_t i;

	cf_error_clear(&err);
	*response = NULL;
	for (i = 0; i < NROUTES; i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(method, routes[i].method) == 0)
			r = &routes[i];
	}
	if (r == NULL) {
		cf_errorf(&err, path_known ? CF_E_USAGE : CF_E_NOTFOUND,
		    "%s %s: %s", method, path,
		    path_known ? "method not allowed" : "no such endpoint");
		*response = error_json(&err);
		return path_known ? 405 : 404;
	}
	if (caller->role < r->need) {
		char *outcome;
		cf_errorf(&err, CF_E_DENIED, "the %s role may not %s; an admin "
					     "must",
		    cf_role_name(caller->role), r->op);
		outcome = xasprintf("refused: %s", err.msg);
		cf_store_audit(s, caller->actor, r->op, "", outcome, NULL);
		free(outcome);
		*response = error_json(&err);
		return 403;
	}
	if (body != NULL && !json_is_object(body)) {
		cf_errorf(&err, CF_E_PARSE, "the request body must be a JSON "
					    "object");
		*response = error_json(&err);
		return 400;
	}
	if (r->fn(s, caller, query, body, response, &err) == -1) {
		json_decref(*response);
		*response = error_json(&err);
		return cf_code_http_status(err.code);
	}
	if (*response == NULL)
		*response = json_object();
	return 200;
}
