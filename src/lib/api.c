/*
 * api.c - the JSON face of the operations: see api.h and docs/api.md.
 * A table of operations by name; each handler turns a JSON body into an
 * operation's arguments and its result into JSON, and nothing more.
 * Here: the table, dispatch, roles and the helpers every handler uses;
 * the handlers live in api_read.c, api_certs.c, api_issue.c and
 * api_copy.c (api_int.h).  No HTTP: certfleetd maps its methods and
 * paths to these names and the errors to statuses (src/agent/routes.c).
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

/*
 * The operations by name: the role each needs, whether it is slow (key
 * derivation or generation, handshakes: a worker of the slow lane) and
 * its handler.  verb is what a refusal says the role may not do and the
 * audit trail records; an export, sealed or not, is an export.
 */
static const struct api_op {
	const char *name, *verb;
	enum cf_role need;
	int slow;
	api_handler fn;
} ops[] = {
    {"whoami", "whoami", CF_ROLE_READER, 0, api_h_whoami},
    {"get", "get", CF_ROLE_READER, 0, api_h_certificates},
    {"log", "log", CF_ROLE_READER, 0, api_h_log},
    {"services", "services", CF_ROLE_READER, 1, api_h_services},
    {"import", "import", CF_ROLE_ADMIN, 1, api_h_import},
    {"export", "export", CF_ROLE_ADMIN, 1, api_h_export},
    {"enable", "enable", CF_ROLE_ADMIN, 1, api_h_enable},
    {"replace", "replace", CF_ROLE_ADMIN, 1, api_h_replace},
    {"disable", "disable", CF_ROLE_ADMIN, 0, api_h_disable},
    {"remove", "remove", CF_ROLE_ADMIN, 0, api_h_remove},
    {"new-self-signed", "new-self-signed", CF_ROLE_ADMIN, 1,
	api_h_new_self_signed},
    {"request new", "request new", CF_ROLE_ADMIN, 1, api_h_request_new},
    {"request complete", "request complete", CF_ROLE_ADMIN, 1,
	api_h_request_complete},
    {"renew", "renew", CF_ROLE_ADMIN, 1, api_h_renew},
    {"export-sealed", "export", CF_ROLE_ADMIN, 1, api_h_export_sealed},
    {"import-sealed", "import-sealed", CF_ROLE_ADMIN, 1,
	api_h_import_sealed},
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* The operation named name, or NULL. */
static const struct api_op *
op_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NOPS; i++)
		if (strcmp(name, ops[i].name) == 0)
			return &ops[i];
	return NULL;
}

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
cf_api_is_slow(const char *op)
{
	const struct api_op *o = op_find(op);

	return o != NULL && o->slow;
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

int
cf_api_render(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, char **text,
    struct cf_error *err)
{
	int listing = strcmp(op, "get") == 0 &&
		      (query == NULL || query[0] == '\0') &&
		      caller->role >= CF_ROLE_READER;
	const char *cached = listing ? cf_store_cached(s) : NULL;
	json_t *resp = NULL;
	int rc = -1;

	*text = NULL;
	if (cached != NULL) {
		*text = xstrdup(cached);
		return 0;
	}
	if (listing)
		cf_store_cache_mark(s);
	if (cf_api_handle(s, caller, op, query, body, &resp, err) == -1)
		goto out;
	/* Not reached while every string goes through cf_json_string; a
	 * bug here costs one request, not the agent. */
	if ((*text = json_dumps(resp, JSON_COMPACT)) == NULL) {
		cf_errorf(err, CF_E_INTERNAL,
		    "the reply could not be encoded as JSON; this is a bug in "
		    "certfleetd");
		goto out;
	}
	if (listing)
		cf_store_cache(s, xstrdup(*text));
	rc = 0;
out:
	json_decref(resp);
	return rc;
}

/* The refusal of a caller whose role falls short of o's, audited. */
static int
refuse(struct cf_store *s, const struct cf_api_caller *caller,
    const struct api_op *o, struct cf_error *err)
{
	char *outcome;

	cf_errorf(err, CF_E_DENIED, "the %s role may not %s; an admin must",
	    cf_role_name(caller->role), o->verb);
	outcome = xasprintf("refused: %s", err->msg);
	cf_store_audit(s, caller->actor, o->verb, "", outcome, NULL);
	free(outcome);
	return -1;
}

int
cf_api_handle(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, json_t **response,
    struct cf_error *err)
{
	const struct api_op *o = op_find(op);

	*response = NULL;
	if (o == NULL)
		return cf_errorf(err, CF_E_NOTFOUND, "%s: no such operation",
		    op ? op : "(none)");
	if (caller->role < o->need)
		return refuse(s, caller, o, err);
	if (body != NULL && !json_is_object(body))
		return cf_errorf(err, CF_E_PARSE,
		    "the request body must be a JSON object");
	if (o->fn(s, caller, query, body, response, err) == -1) {
		json_decref(*response);
		*response = NULL;
		return -1;
	}
	if (*response == NULL)
		*response = json_object();
	return 0;
}
