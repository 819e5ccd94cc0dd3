/*
 * routes.c - HTTP's side of the API: see routes.h and docs/api.md.  Two
 * tables: the routes (method and path to the library's operation name)
 * and every status certfleetd answers with.  The library returns 0 or a
 * cf_error; what that becomes on the wire is decided only here.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "routes.h"

static const struct route {
	const char *method, *path, *op;
} routes[] = {
    {"GET", "/v1/whoami", "whoami"},
    {"GET", "/v1/certificates", "get"},
    {"GET", "/v1/log", "log"},
    {"GET", "/v1/services", "services"},
    {"POST", "/v1/import", "import"},
    {"POST", "/v1/export", "export"},
    {"POST", "/v1/enable", "enable"},
    {"POST", "/v1/replace", "replace"},
    {"POST", "/v1/disable", "disable"},
    {"POST", "/v1/remove", "remove"},
    {"POST", "/v1/new-self-signed", "new-self-signed"},
    {"POST", "/v1/request/new", "request new"},
    {"POST", "/v1/request/complete", "request complete"},
    {"POST", "/v1/renew", "renew"},
    {"POST", "/v1/export-sealed", "export-sealed"},
    {"POST", "/v1/import-sealed", "import-sealed"},
    /* Served by the store process itself (store_metrics.h), not by an
     * operation of the library: listed for 405 and route_path. */
    {"GET", "/metrics", "metrics"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/*
 * Every status certfleetd sends.  An error answers with the first
 * ROUTE_BY_CODE row of its code; each other why has one row, whose code
 * its JSON body names.
 */
static const struct answer {
	enum route_why why;
	int code, status;
	const char *reason;
} answers[] = {
    {ROUTE_BY_CODE, CF_OK, 200, "OK"},
    {ROUTE_BY_CODE, CF_E_INTERNAL, 500, "Internal Server Error"},
    {ROUTE_BY_CODE, CF_E_USAGE, 400, "Bad Request"},
    {ROUTE_BY_CODE, CF_E_IO, 500, "Internal Server Error"},
    {ROUTE_BY_CODE, CF_E_PARSE, 400, "Bad Request"},
    {ROUTE_BY_CODE, CF_E_PASSWORD, 400, "Bad Request"},
    {ROUTE_BY_CODE, CF_E_UNSUPPORTED, 400, "Bad Request"},
    {ROUTE_BY_CODE, CF_E_LIMIT, 413, "Payload Too Large"},
    {ROUTE_BY_CODE, CF_E_NOTFOUND, 404, "Not Found"},
    {ROUTE_BY_CODE, CF_E_AMBIGUOUS, 409, "Conflict"},
    {ROUTE_BY_CODE, CF_E_CONFLICT, 409, "Conflict"},
    {ROUTE_BY_CODE, CF_E_DENIED, 403, "Forbidden"},
    {ROUTE_BY_CODE, CF_E_MISMATCH, 400, "Bad Request"},
    {ROUTE_BY_CODE, CF_E_STORE, 500, "Internal Server Error"},
    {ROUTE_BY_CODE, CF_E_CRYPTO, 500, "Internal Server Error"},
    {ROUTE_NO_METHOD, CF_E_USAGE, 405, "Method Not Allowed"},
    {ROUTE_BUSY, CF_E_LIMIT, 503, "Service Unavailable"},
    {ROUTE_DRAINING, CF_E_INTERNAL, 503, "Service Unavailable"},
    {ROUTE_HTTP_MALFORMED, CF_E_PARSE, 400, "Bad Request"},
    {ROUTE_HTTP_TOO_LARGE, CF_E_LIMIT, 413, "Payload Too Large"},
    {ROUTE_HTTP_EXPECT, CF_E_USAGE, 417, "Expectation Failed"},
    {ROUTE_HTTP_METHOD, CF_E_USAGE, 501, "Not Implemented"},
};
#define NANSWERS (sizeof(answers) / sizeof(answers[0]))

/* The row of why (ROUTE_BY_CODE: of code); an unknown code is
 * internal, whose row the table always has. */
static const struct answer *
answer_find(enum route_why why, int code)
{
	size_t i;

	for (i = 0; i < NANSWERS; i++)
		if (answers[i].why == why &&
		    (why != ROUTE_BY_CODE || answers[i].code == code))
			return &answers[i];
	return answer_find(ROUTE_BY_CODE, CF_E_INTERNAL);
}

int
route_status(enum route_why why, int code)
{
	return answer_find(why, code)->status;
}

const char *
route_reason(int status)
{
	size_t i;

	for (i = 0; i < NANSWERS; i++)
		if (answers[i].status == status)
			return answers[i].reason;
	return "Error";
}

/* The error body of every answer but a success (the library's error
 * message, msg.h). */
int
route_answer(enum route_why why, int code, const char *msg, char **text)
{
	const struct answer *a = answer_find(why, code);
	json_t *j = cf_msg_error_encode(a->code, msg);

	if ((*text = json_dumps(j, JSON_COMPACT)) == NULL)
		abort(); /* strings through cf_json_string: allocation */
	json_decref(j);
	return a->status;
}

int
route_fail(const struct cf_error *err, char **text)
{
	return route_answer(ROUTE_BY_CODE, err->code, err->msg, text);
}

const char *
route_op(const char *method, const char *path)
{
	size_t i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(path, routes[i].path) == 0 &&
		    strcmp(method, routes[i].method) == 0)
			return routes[i].op;
	return NULL;
}

const char *
route_path(const char *path)
{
	size_t i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(path, routes[i].path) == 0)
			return routes[i].path;
	return NULL;
}

/* Why no route serves method and path: 404 for a path not served, 405
 * for a path served with another method. */
static int
route_miss(const char *method, const char *path, char **text)
{
	struct cf_error err;
	size_t i;

	for (i = 0; i < NROUTES; i++)
		if (strcmp(path, routes[i].path) == 0) {
			cf_errorf(&err, CF_E_USAGE, "%s %s: method not allowed",
			    method, path);
			return route_answer(
			    ROUTE_NO_METHOD, err.code, err.msg, text);
		}
	cf_errorf(&err, CF_E_NOTFOUND, "%s %s: no such endpoint", method, path);
	return route_fail(&err, text);
}

int
route_serve(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    char **text)
{
	const char *op = route_op(method, path);
	struct cf_error err;

	cf_error_clear(&err);
	if (op == NULL)
		return route_miss(method, path, text);
	if (cf_api_render(s, caller, op, query, body, text, &err) == -1)
		return route_fail(&err, text);
	return route_status(ROUTE_BY_CODE, CF_OK);
}
