/*
 * api.c - the JSON face of the operations: see api.h and docs/api.md.
 * A table of routes; each handler turns a JSON body into an operation's
 * arguments and its result into JSON, and nothing more.  Here: the table,
 * dispatch, roles and the helpers every handler uses; the handlers live
 * in api_read.c, api_certs.c, api_issue.c and api_copy.c (api_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api_int.h"
#include "ops.h"
#include "view.h"

#define MAX_FILES 1000
#define MAX_NAMES 1000
#define MAX_NAME_LEN 255

static const struct route {
	const char *method, *path, *op;
	enum cf_role need;
	int slow;
	api_handler fn;
} routes[] = {
    {"GET", "/v1/whoami", "whoami", CF_ROLE_READER, 0, api_h_whoami},
    {"GET", "/v1/certificates", "get", CF_ROLE_READER, 0, api_h_certificates},
    {"GET", "/v1/log", "log", CF_ROLE_READER, 0, api_h_log},
    {"GET", "/v1/services", "services", CF_ROLE_READER, 1, api_h_services},
    {"POST", "/v1/import", "import", CF_ROLE_ADMIN, 1, api_h_import},
    {"POST", "/v1/export", "export", CF_ROLE_ADMIN, 1, api_h_export},
    {"POST", "/v1/enable", "enable", CF_ROLE_ADMIN, 1, api_h_enable},
    {"POST", "/v1/replace", "replace", CF_ROLE_ADMIN, 1, api_h_replace},
    {"POST", "/v1/disable", "disable", CF_ROLE_ADMIN, 0, api_h_disable},
    {"POST", "/v1/remove", "remove", CF_ROLE_ADMIN, 0, api_h_remove},
    {"POST", "/v1/new-self-signed", "new-self-signed", CF_ROLE_ADMIN, 1,
	api_h_new_self_signed},
    {"POST", "/v1/request/new", "request new", CF_ROLE_ADMIN, 1,
	api_h_request_new},
    {"POST", "/v1/request/complete", "request complete", CF_ROLE_ADMIN, 1,
	api_h_request_complete},
    {"POST", "/v1/renew", "renew", CF_ROLE_ADMIN, 1, api_h_renew},
    {"POST", "/v1/export-sealed", "export", CF_ROLE_ADMIN, 1,
	api_h_export_sealed},
    {"POST", "/v1/import-sealed", "import-sealed", CF_ROLE_ADMIN, 1,
	api_h_import_sealed},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const char *
cf_role_name(enum cf_role role)
{
	return role == CF_ROLE_ADMIN    ? "admin"
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
		json_array_foreach(j, i, v) if ((d = cf_json_depth(v)) > max)
		    max = d;
		return max + 1;
	}
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k,
		    v) if ((d = cf_json_depth(v)) > max) max = d;
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
int
api_field_str(
    json_t *body, const char *key, const char **out, struct cf_error *err)
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

int
api_field_bool(json_t *body, const char *key, int *out, struct cf_error *err)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cf_errorf(
		    err, CF_E_USAGE, "%s: must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int
api_field_required(
    json_t *body, const char *key, const char **out, struct cf_error *err)
{
	if (api_field_str(body, key, out, err) == -1)
		return -1;
	if (*out == NULL)
		return cf_errorf(err, CF_E_USAGE, "%s: required", key);
	return 0;
}

/* One name of a list: printable, so that the audit trail stays one
 * line per record whatever a client sends. */
static int
name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > MAX_NAME_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

int
api_field_names(json_t *body, const char *key, char **out,
    struct cf_error *err)
{
	json_t *a = body ? json_object_get(body, key) : NULL, *x;
	const char *name;
	char *joined;
	size_t i;

	*out = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return cf_errorf(err, CF_E_USAGE, "%s: must be an array of "
						  "names", key);
	if (json_array_size(a) > MAX_NAMES)
		return cf_errorf(err, CF_E_LIMIT, "%s: more than %d names", key,
		    MAX_NAMES);
	json_array_foreach(a, i, x)
	{
		name = json_string_value(x);
		if (name == NULL || !name_ok(name)) {
			free(*out);
			*out = NULL;
			return cf_errorf(err, CF_E_USAGE,
			    "%s[%zu]: a name of 1 to %d printable characters",
			    key, i, MAX_NAME_LEN);
		}
		joined = *out ? xasprintf("%s, %s", *out, name)
			      : xstrdup(name);
		free(*out);
		*out = joined;
	}
	return 0;
}

/* Wipes a secret string held by the request's JSON once it is used. */
void
api_wipe_field(json_t *body, const char *key)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	if (v != NULL && json_is_string(v))
		OPENSSL_cleanse(
		    (char *)json_string_value(v), json_string_length(v));
}

/* The value of name in a query string "a=1&b=2", new, or NULL. */
char *
api_query_get(const char *query, const char *name)
{
	size_t n = strlen(name);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *end = strchr(p + n + 1, '&');
			return end ? strndup(
					 p + n + 1, (size_t)(end - p - n - 1))
				   : xstrdup(p + n + 1);
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

void
api_free_files(struct cf_input *in, struct cf_buf *bufs, size_t n)
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
int
api_read_files(json_t *body, struct cf_input **in, struct cf_buf **bufs,
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
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d files in one "
		    "import",
		    MAX_FILES);
	*in = xcalloc(json_array_size(files), sizeof(**in));
	*bufs = xcalloc(json_array_size(files), sizeof(**bufs));
	json_array_foreach(files, i, f)
	{
		const char *name =
		    json_string_value(json_object_get(f, "name"));
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

json_t *
api_results_json(const struct cf_import_result *r, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a,
		    json_pack("{s:o, s:o, s:o, s:o, s:o}", "Thumbprint",
			cf_json_string(r[i].thumbprint), "Services",
			cf_json_string(r[i].services), "Result",
			cf_json_string(r[i].what), "Detail",
			cf_json_string(r[i].detail), "SkippedServices",
			cf_json_list(r[i].skipped)));
	return json_pack("{s:o}", "results", a);
}

/* ---- dispatch ------------------------------------------------------ */

/* An error message quotes what the client sent (a path, a query, a
 * file name): cf_json_string keeps the reply JSON whatever its bytes. */
static json_t *
error_json(const struct cf_error *err)
{
	return json_pack("{s:s, s:o}", "code", cf_code_name(err->code),
	    "message", cf_json_string(err->msg));
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
	if ((*text = json_dumps(resp, JSON_COMPACT)) == NULL) {
		/* Not reached while every string goes through
		 * cf_json_string; a bug here costs one request, not the
		 * agent. */
		*text = xstrdup(CF_API_RENDER_FAILED);
		status = 500;
	}
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
		cf_errorf(&err, CF_E_DENIED,
		    "the %s role may not %s; an admin "
		    "must",
		    cf_role_name(caller->role), r->op);
		outcome = xasprintf("refused: %s", err.msg);
		cf_store_audit(s, caller->actor, r->op, "", outcome, NULL);
		free(outcome);
		*response = error_json(&err);
		return 403;
	}
	if (body != NULL && !json_is_object(body)) {
		cf_errorf(&err, CF_E_PARSE,
		    "the request body must be a JSON "
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
