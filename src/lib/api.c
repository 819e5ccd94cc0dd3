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

#include "api_int.h"
#include "ops.h"

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
	api_text text; /* its reply straight as text, for cf_api_render */
} ops[] = {
    {"whoami", "whoami", CF_ROLE_READER, 0, api_h_whoami, NULL},
    {"get", "get", CF_ROLE_READER, 0, api_h_certificates, api_t_certificates},
    {"log", "log", CF_ROLE_READER, 0, api_h_log, NULL},
    {"services", "services", CF_ROLE_READER, 1, api_h_services, NULL},
    {"import", "import", CF_ROLE_ADMIN, 1, api_h_import, NULL},
    {"export", "export", CF_ROLE_ADMIN, 1, api_h_export, NULL},
    {"enable", "enable", CF_ROLE_ADMIN, 1, api_h_enable, NULL},
    {"replace", "replace", CF_ROLE_ADMIN, 1, api_h_replace, NULL},
    {"disable", "disable", CF_ROLE_ADMIN, 0, api_h_disable, NULL},
    {"remove", "remove", CF_ROLE_ADMIN, 0, api_h_remove, NULL},
    {"new-self-signed", "new-self-signed", CF_ROLE_ADMIN, 1,
	api_h_new_self_signed, NULL},
    {"request new", "request new", CF_ROLE_ADMIN, 1, api_h_request_new, NULL},
    {"request complete", "request complete", CF_ROLE_ADMIN, 1,
	api_h_request_complete, NULL},
    {"renew", "renew", CF_ROLE_ADMIN, 1, api_h_renew, NULL},
    {"export-sealed", "export", CF_ROLE_ADMIN, 1, api_h_export_sealed, NULL},
    {"import-sealed", "import-sealed", CF_ROLE_ADMIN, 1, api_h_import_sealed,
	NULL},
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
cf_api_is_slow(const char *op)
{
	const struct api_op *o = op_find(op);

	return o != NULL && o->slow;
}

/* ---- dispatch ------------------------------------------------------ */

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

/* Whether caller may run o with body: 0, or -1 with err (a refusal is
 * audited). */
static int
admit(struct cf_store *s, const struct cf_api_caller *caller,
    const struct api_op *o, const char *op, json_t *body, struct cf_error *err)
{
	if (o == NULL)
		return cf_errorf(err, CF_E_NOTFOUND, "%s: no such operation",
		    op ? op : "(none)");
	if (caller->role < o->need)
		return refuse(s, caller, o, err);
	if (body != NULL && !json_is_object(body))
		return cf_errorf(
		    err, CF_E_PARSE, "the request body must be a JSON object");
	return 0;
}

int
cf_api_render(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, char **text,
    struct cf_error *err)
{
	const struct api_op *o = op_find(op);
	json_t *resp = NULL;
	int rc = -1;

	*text = NULL;
	if (o != NULL && o->text != NULL)
		return admit(s, caller, o, op, body, err) == -1
			   ? -1
			   : o->text(s, caller, query, body, text, err);
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
	rc = 0;
out:
	json_decref(resp);
	return rc;
}

int
cf_api_handle(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, json_t **response,
    struct cf_error *err)
{
	const struct api_op *o = op_find(op);

	*response = NULL;
	if (admit(s, caller, o, op, body, err) == -1)
		return -1;
	if (o->fn(s, caller, query, body, response, err) == -1) {
		json_decref(*response);
		*response = NULL;
		return -1;
	}
	if (*response == NULL)
		*response = json_object();
	return 0;
}
