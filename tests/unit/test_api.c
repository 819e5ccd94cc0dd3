/*
 * test_api.c - the JSON face of the operations: the library's dispatch
 * by operation name, and the agent's routes and statuses over it
 * (src/agent/routes.c, linked in by the Makefile); roles, fields,
 * errors, and a round trip import -> enable -> export -> remove; what a
 * copy and a replace send; outside bytes that are not UTF-8 (issue 11).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/agent/routes.h"
#include "api.h"
#include "check.h"
#include "testpki.h"
#include "util.h"

static struct cf_store *s;

/* method path?query with body_text as role, through the agent's route
 * table as certfleetd serves it: the status, and the reply parsed back
 * into *resp (NULL when the text is not JSON). */
static int
call(enum cf_role role, const char *method, const char *path, const char *query,
    const char *body_text, json_t **resp)
{
	struct cf_api_caller c = {
	    "tls:SHA256:TEST", "SHA256:TEST", role, "ex1", NULL};
	json_t *body = body_text ? json_loads(body_text, 0, NULL) : NULL;
	char *text = NULL;
	int status;

	status = route_serve(s, &c, method, path, query, body, &text);
	*resp = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	json_decref(body);
	return status;
}

static const char *
code_of(json_t *r)
{
	const char *c = json_string_value(json_object_get(r, "code"));
	return c ? c : "";
}

static int
audit_has(const char *needle)
{
	struct cf_audit *a = NULL;
	size_t n = 0, i;
	int found = 0;
	struct cf_error err;

	cf_store_audit_list(s, 0, &a, &n, &err);
	for (i = 0; i < n; i++)
		if (strstr(a[i].outcome, needle) != NULL)
			found = 1;
	cf_audit_free(a, n);
	return found;
}

/* The first import result's field key of r, as text. */
static const char *
result_field(json_t *r, const char *key)
{
	json_t *v = json_object_get(
	    json_array_get(json_object_get(r, "results"), 0), key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/*
 * What copy and replace send: an export's targets (audited), an import
 * that skips the services this store lacks, and /v1/replace.  thumb
 * holds https, pop and smtp; b64 is its PEM with key.
 */
static void
copy_and_replace(const char *thumb, const char *b64)
{
	char *body, fresh[41];
	json_t *r = NULL, *sv;
	int st;

	body = xasprintf("{\"thumbprint\":\"%s\",\"format\":\"pem\","
			 "\"no_key\":true,\"targets\":[\"ex2\",\"ex3\"]}",
	    thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/export", NULL, body, &r);
	CHECK(st == 200 && audit_has("for copy to ex2, ex3"),
	    "api: an export's targets are audited");
	json_decref(r);
	free(body);
	body = xasprintf("{\"thumbprint\":\"%s\",\"format\":\"pem\","
			 "\"no_key\":true,\"targets\":[\"ex2\\nforged\"]}",
	    thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/export", NULL, body, &r);
	CHECK(st == 400 && strcmp(code_of(r), "usage") == 0,
	    "api: a target name with a control character is refused");
	json_decref(r);
	free(body);

	body = xasprintf("{\"files\":[{\"name\":\"m.pem\",\"data\":\"%s\"}],"
			 "\"services\":\"smtp,lb\",\"force\":true}",
	    b64);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/import", NULL, body, &r);
	CHECK(st == 404 && strcmp(code_of(r), "not-found") == 0,
	    "api: import with a service this agent lacks: 404, not a usage "
	    "error");
	json_decref(r);
	free(body);
	body = xasprintf("{\"files\":[{\"name\":\"m.pem\",\"data\":\"%s\"}],"
			 "\"services\":\"smtp,lb\",\"force\":true,"
			 "\"skip_missing_services\":true}",
	    b64);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/import", NULL, body, &r);
	sv = json_object_get(json_array_get(json_object_get(r, "results"), 0),
	    "SkippedServices");
	CHECK(st == 200 && json_array_size(sv) == 1 &&
		  strcmp(json_string_value(json_array_get(sv, 0)), "lb") == 0 &&
		  strcmp(result_field(r, "Services"), "https,pop,smtp") == 0,
	    "api: skip_missing_services: smtp assigned, lb in "
	    "SkippedServices");
	json_decref(r);
	free(body);

	st = call(CF_ROLE_ADMIN, "POST", "/v1/new-self-signed", NULL,
	    "{\"subject\":\"CN=mail.example.com\",\"key\":\"p256\"}", &r);
	snprintf(fresh, sizeof(fresh), "%s", result_field(r, "Thumbprint"));
	json_decref(r);
	body = xasprintf("{\"old\":\"%s\",\"new\":\"%s\"}", thumb, fresh);
	st = call(CF_ROLE_READER, "POST", "/v1/replace", NULL, body, &r);
	CHECK(st == 403, "api: a reader may not replace");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/replace", NULL, body, &r);
	sv = json_object_get(r, "services");
	CHECK(
	    st == 200 &&
		strcmp(json_string_value(json_object_get(r, "thumbprint")),
		    fresh) == 0 &&
		json_array_size(sv) == 3 &&
		strcmp(json_string_value(json_array_get(sv, 0)), "https") == 0,
	    "api: replace moves https, pop and smtp to the new certificate");
	json_decref(r);
	free(body);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/replace", NULL,
	    "{\"old\":\"0123456789\"}", &r);
	CHECK(st == 400 && strcmp(code_of(r), "usage") == 0,
	    "api: replace without new is a usage error");
	json_decref(r);
}

/* GET path?query as reader, as the agent serves it. */
static int
render(const char *path, const char *query, json_t **resp)
{
	return call(CF_ROLE_READER, "GET", path, query, NULL, resp);
}

/* Bytes that are not UTF-8, from a client or the store, still make a
 * JSON reply (issue 11, items 1 and 6). */
static void
outside_bytes(void)
{
	char path[1024] = "/v1/";
	const char *msg, *outcome;
	json_t *r = NULL, *row;
	struct cf_error err;
	size_t i;
	int st, found = 0;

	st = render("/v1/\xff", NULL, &r);
	msg = json_string_value(json_object_get(r, "message"));
	CHECK(st == 404 && msg != NULL && strstr(msg, "/v1/\\xFF") != NULL,
	    "api: a path with a byte that is not UTF-8: 404 in JSON, escaped");
	json_decref(r);
	st = render("/v1/certificates", "thumbprint=\xff\xfe", &r);
	CHECK(st >= 400 && st < 500 && r != NULL,
	    "api: a thumbprint query that is not UTF-8: an error in JSON");
	json_decref(r);
	for (i = 0; i < 300; i++)
		strcat(path, "\xc3\xa9");
	st = render(path, NULL, &r);
	msg = json_string_value(json_object_get(r, "message"));
	CHECK(st == 404 && msg != NULL && strstr(msg, "\xc3\xa9") != NULL,
	    "api: a message cut inside a character is still JSON");
	json_decref(r);

	st = render("/v1/log", "since=99999999999999999999", &r);
	CHECK(st == 400 && r != NULL, "api: since= past 2^63 is refused");
	json_decref(r);
	st = render("/v1/log", "since=1", &r);
	CHECK(st == 200 && json_is_array(r), "api: since=1 is a list");
	json_decref(r);

	cf_store_audit(s, "tls:x\xff", "connect", "", "refused: bad\xfe", &err);
	st = render("/v1/log", NULL, &r);
	json_array_foreach(r, i, row) {
		outcome = json_string_value(json_object_get(row, "Outcome"));
		if (outcome != NULL &&
		    strcmp(outcome, "refused: bad\\xFE") == 0 &&
		    strcmp(json_string_value(json_object_get(row, "Actor")),
			"tls:x\\xFF") == 0)
			found = 1;
	}
	CHECK(st == 200 && found,
	    "api: an audit row with bytes that are not UTF-8 is shown, "
	    "escaped");
	json_decref(r);

	st = call(CF_ROLE_ADMIN, "POST", "/v1/new-self-signed", NULL,
	    "{\"subject\":\"CN=x\",\"days\":0}", &r);
	CHECK(st == 400 && audit_has("failed: days"),
	    "api: a new-self-signed usage error is audited");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/new-self-signed", NULL,
	    "{\"subject\":\"CN=x\",\"key\":\"rsa123\"}", &r);
	CHECK(st == 400 && audit_has("rsa123"),
	    "api: a new-self-signed unknown key type is audited");
	json_decref(r);
}

/* The agent's one table of statuses: each code's, and the transport's
 * own answers with the code their body names. */
static void
statuses(void)
{
	static const struct {
		enum route_why why;
		int code, status;
		const char *name;
	} want[] = {
	    {ROUTE_BY_CODE, CF_OK, 200, "ok"},
	    {ROUTE_BY_CODE, CF_E_INTERNAL, 500, "internal"},
	    {ROUTE_BY_CODE, CF_E_USAGE, 400, "usage"},
	    {ROUTE_BY_CODE, CF_E_IO, 500, "io"},
	    {ROUTE_BY_CODE, CF_E_PARSE, 400, "parse"},
	    {ROUTE_BY_CODE, CF_E_PASSWORD, 400, "password"},
	    {ROUTE_BY_CODE, CF_E_UNSUPPORTED, 400, "unsupported"},
	    {ROUTE_BY_CODE, CF_E_LIMIT, 413, "limit"},
	    {ROUTE_BY_CODE, CF_E_NOTFOUND, 404, "not-found"},
	    {ROUTE_BY_CODE, CF_E_AMBIGUOUS, 409, "ambiguous"},
	    {ROUTE_BY_CODE, CF_E_CONFLICT, 409, "conflict"},
	    {ROUTE_BY_CODE, CF_E_DENIED, 403, "denied"},
	    {ROUTE_BY_CODE, CF_E_MISMATCH, 400, "mismatch"},
	    {ROUTE_BY_CODE, CF_E_STORE, 500, "store"},
	    {ROUTE_BY_CODE, CF_E_CRYPTO, 500, "crypto"},
	    {ROUTE_BY_CODE, -1, 500, "internal"},
	    {ROUTE_BY_CODE, CF_E_COUNT, 500, "internal"},
	    {ROUTE_NO_METHOD, CF_E_NOTFOUND, 405, "usage"},
	    {ROUTE_BUSY, CF_OK, 503, "limit"},
	    {ROUTE_DRAINING, CF_OK, 503, "internal"},
	    {ROUTE_HTTP_MALFORMED, CF_OK, 400, "parse"},
	    {ROUTE_HTTP_TOO_LARGE, CF_OK, 413, "limit"},
	    {ROUTE_HTTP_EXPECT, CF_OK, 417, "usage"},
	    {ROUTE_HTTP_METHOD, CF_OK, 501, "usage"},
	};
	char msg[96], *text;
	json_t *j;
	size_t i;
	int st;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		text = NULL;
		st = route_answer(want[i].why, want[i].code, "m\xff", &text);
		j = text ? json_loads(text, 0, NULL) : NULL;
		snprintf(msg, sizeof(msg), "routes: answer %d/%d is %d %s",
		    (int)want[i].why, want[i].code, want[i].status,
		    want[i].name);
		CHECK(
		    st == want[i].status &&
			route_status(want[i].why, want[i].code) == st &&
			strcmp(code_of(j), want[i].name) == 0 &&
			strcmp(json_string_value(json_object_get(j, "message")),
			    "m\\xFF") == 0,
		    msg);
		json_decref(j);
		free(text);
	}
	CHECK(strcmp(route_reason(404), "Not Found") == 0 &&
		  strcmp(route_reason(599), "Error") == 0,
	    "routes: a status's reason phrase, Error when unknown");
}

/* The library's dispatch knows operations by name, and nothing of
 * HTTP; each route names one of its operations. */
static void
dispatch(void)
{
	static const char *const served[][2] = {{"GET", "/v1/whoami"},
	    {"GET", "/v1/certificates"}, {"GET", "/v1/log"},
	    {"GET", "/v1/services"}, {"POST", "/v1/import"},
	    {"POST", "/v1/export"}, {"POST", "/v1/enable"},
	    {"POST", "/v1/replace"}, {"POST", "/v1/disable"},
	    {"POST", "/v1/remove"}, {"POST", "/v1/new-self-signed"},
	    {"POST", "/v1/request/new"}, {"POST", "/v1/request/complete"},
	    {"POST", "/v1/renew"}, {"POST", "/v1/export-sealed"},
	    {"POST", "/v1/import-sealed"}};
	struct cf_api_caller none = {
	    "tls:SHA256:TEST", "SHA256:TEST", CF_ROLE_NONE, "ex1", NULL};
	struct cf_api_caller reader = none;
	struct cf_error err;
	json_t *r = NULL;
	size_t i;
	int known = 1;

	reader.role = CF_ROLE_READER;
	for (i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
		const char *op = route_op(served[i][0], served[i][1]);
		cf_error_clear(&err);
		/* no role: refused for a known operation, never not-found */
		known &=
		    op != NULL &&
		    cf_api_handle(s, &none, op, NULL, NULL, &r, &err) == -1 &&
		    err.code == CF_E_DENIED && r == NULL;
	}
	CHECK(known, "api: every route names an operation of the library");
	CHECK(route_op("GET", "/v1/import") == NULL &&
		  route_op("POST", "/v1/certificates") == NULL &&
		  route_op("GET", "/v1/nothing") == NULL,
	    "routes: a path with the wrong method, or unknown, has no "
	    "operation");
	CHECK(cf_api_handle(s, &reader, "whoami", NULL, NULL, &r, &err) == 0 &&
		  strcmp(json_string_value(json_object_get(r, "role")),
		      "reader") == 0,
	    "api: an operation runs by its name");
	json_decref(r);
	CHECK(cf_api_handle(
		  s, &reader, "GET /v1/whoami", NULL, NULL, &r, &err) == -1 &&
		  err.code == CF_E_NOTFOUND && r == NULL,
	    "api: an unknown operation is not found");
	CHECK(cf_api_handle(s, &reader, "import", NULL, NULL, &r, &err) == -1 &&
		  err.code == CF_E_DENIED && strstr(err.msg, "reader") != NULL,
	    "api: a reader may not run an admin's operation");
	CHECK(cf_api_is_slow("import") && !cf_api_is_slow("get") &&
		  !cf_api_is_slow("nothing"),
	    "api: import is slow, get and unknown names are not");
}

/* Who may ask, and what is no route. */
static void
test_routes(void)
{
	json_t *r = NULL;
	int st;

	st = call(CF_ROLE_READER, "GET", "/v1/whoami", NULL, NULL, &r);
	CHECK(st == 200 && strcmp(json_string_value(json_object_get(r, "role")),
			       "reader") == 0,
	    "api: whoami names the role");
	json_decref(r);
	st = call(CF_ROLE_NONE, "GET", "/v1/whoami", NULL, NULL, &r);
	CHECK(st == 403 && strcmp(code_of(r), "denied") == 0,
	    "api: no role, no answer");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "GET", "/v1/nothing", NULL, NULL, &r);
	CHECK(st == 404 && strcmp(code_of(r), "not-found") == 0,
	    "api: an unknown path is 404");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "GET", "/v1/import", NULL, NULL, &r);
	CHECK(st == 405, "api: a wrong method is 405");
	json_decref(r);
}

/* A reader may not import, an admin may; the thumbprint into thumb. */
static void
test_import(const char *b64, char thumb[41])
{
	json_t *r = NULL;
	char *body;
	int st;

	body = xasprintf("{\"files\":[{\"name\":\"m.pem\",\"data\":\"%s\"}],"
			 "\"services\":\"https\"}",
	    b64);
	st = call(CF_ROLE_READER, "POST", "/v1/import", NULL, body, &r);
	CHECK(st == 403 && strcmp(code_of(r), "denied") == 0 &&
		  audit_has("refused"),
	    "api: a reader may not import, and the refusal is audited");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/import", NULL, body, &r);
	CHECK(st == 200 && json_array_size(json_object_get(r, "results")) == 1,
	    "api: an admin imports a Base64 file");
	snprintf(thumb, 41, "%s",
	    json_string_value(json_object_get(
		json_array_get(json_object_get(r, "results"), 0),
		"Thumbprint")));
	json_decref(r);
	free(body);
}

/* Request bodies that are wrong. */
static void
test_bodies(void)
{
	json_t *r = NULL;
	int st;

	st = call(CF_ROLE_ADMIN, "POST", "/v1/import", NULL,
	    "{\"files\":[{\"name\":\"x\",\"data\":\"not base64!\"}]}", &r);
	CHECK(st == 400 && strcmp(code_of(r), "parse") == 0,
	    "api: data that is not Base64 is a parse error");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/import", NULL,
	    "{\"files\":[], \"exportable\": \"yes\"}", &r);
	CHECK(st == 400 && strcmp(code_of(r), "usage") == 0,
	    "api: a field of the wrong type is a usage error");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/enable", NULL, "[1,2]", &r);
	CHECK(st == 400 && strcmp(code_of(r), "parse") == 0,
	    "api: a body that is not an object is refused");
	json_decref(r);
}

static void
test_certificates(const char *thumb)
{
	json_t *r = NULL;
	int st;

	st = call(
	    CF_ROLE_READER, "GET", "/v1/certificates", "thumbprint=", NULL, &r);
	CHECK(st == 400, "api: an empty thumbprint query is a usage error");
	json_decref(r);
	{
		char *q = xasprintf("thumbprint=%.10s", thumb);
		st = call(
		    CF_ROLE_READER, "GET", "/v1/certificates", q, NULL, &r);
		free(q);
	}
	CHECK(st == 200 && json_array_size(r) == 1 &&
		  strcmp(json_string_value(json_object_get(
			     json_array_get(r, 0), "Thumbprint")),
		      thumb) == 0,
	    "api: certificates by prefix");
	json_decref(r);
}

static void
test_export(const char *thumb)
{
	struct cf_buf raw = {0};
	struct cf_error err;
	json_t *r = NULL;
	char *body;
	int st;

	body = xasprintf("{\"thumbprint\":\"%s\",\"format\":\"p12\","
			 "\"password\":\"pw\"}",
	    thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/export", NULL, body, &r);
	CHECK(st == 403 && strcmp(code_of(r), "denied") == 0 &&
		  strstr(json_string_value(json_object_get(r, "message")),
		      "not exportable") != NULL,
	    "api: a non-exportable key is refused");
	json_decref(r);
	free(body);
	body = xasprintf("{\"thumbprint\":\"%s\",\"format\":\"pem\","
			 "\"no_key\":true}",
	    thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/export", NULL, body, &r);
	CHECK(
	    st == 200 &&
		cf_base64_decode(json_string_value(json_object_get(r, "data")),
		    json_string_length(json_object_get(r, "data")), "data",
		    &raw, &err) == 0 &&
		memmem(raw.data, raw.len, "BEGIN CERTIFICATE", 17) != NULL &&
		memmem(raw.data, raw.len, "PRIVATE", 7) == NULL,
	    "api: export --no-key as PEM, Base64 in JSON");
	cf_buf_clear(&raw);
	json_decref(r);
	free(body);
	body = xasprintf("{\"thumbprint\":\"%s\",\"format\":\"pfx\"}", thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/export", NULL, body, &r);
	CHECK(st == 400, "api: an unknown export format is refused");
	json_decref(r);
	free(body);
}

static void
test_enable(const char *thumb)
{
	json_t *r = NULL;
	char *body;
	int st;

	body =
	    xasprintf("{\"thumbprint\":\"%.8s\",\"services\":\"smtp\"}", thumb);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/enable", NULL, body, &r);
	CHECK(st == 200 &&
		  strcmp(json_string_value(json_object_get(r, "thumbprint")),
		      thumb) == 0,
	    "api: enable answers the full thumbprint");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/remove", NULL, body, &r);
	CHECK(st == 409 && strcmp(code_of(r), "conflict") == 0,
	    "api: remove with services is a conflict");
	json_decref(r);
	free(body);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/enable", NULL,
	    "{\"services\":\"smtp\"}", &r);
	CHECK(st == 400 && strcmp(code_of(r), "usage") == 0,
	    "api: a missing thumbprint is a usage error");
	json_decref(r);
}

static void
test_new_self_signed(void)
{
	json_t *r = NULL;
	int st;

	st = call(CF_ROLE_ADMIN, "POST", "/v1/new-self-signed", NULL,
	    "{\"subject\":\"CN=ex1.example.com\",\"domains\":\"ex1.example.com,"
	    "ex1\",\"key\":\"p256\",\"days\":30,\"services\":\"imap\"}",
	    &r);
	CHECK(st == 200 &&
		  strcmp(json_string_value(json_object_get(
			     json_array_get(json_object_get(r, "results"), 0),
			     "Services")),
		      "imap") == 0,
	    "api: new-self-signed makes a certificate and assigns it");
	json_decref(r);
	st = call(CF_ROLE_ADMIN, "POST", "/v1/new-self-signed", NULL,
	    "{\"subject\":\"CN=x\",\"key\":\"dsa1024\"}", &r);
	CHECK(st == 400 &&
		  strstr(json_string_value(json_object_get(r, "message")),
		      "rsa2048") != NULL,
	    "api: an unknown key type names the valid ones");
	json_decref(r);
}

/* The audit trail, which the tests before wrote. */
static void
test_log(void)
{
	json_t *r = NULL;
	int st;

	st = call(CF_ROLE_READER, "GET", "/v1/log", "since=0", NULL, &r);
	CHECK(st == 200 && json_array_size(r) >= 3, "api: the audit trail");
	json_decref(r);
	st =
	    call(CF_ROLE_READER, "GET", "/v1/log", "since=yesterday", NULL, &r);
	CHECK(st == 400, "api: since must be a number");
	json_decref(r);
	st = call(CF_ROLE_READER, "GET", "/v1/log",
	    "since=99999999999999999999999", NULL, &r);
	CHECK(st == 400 && strcmp(code_of(r), "usage") == 0,
	    "api: an overflowing since is refused");
	json_decref(r);
	st = call(CF_ROLE_READER, "GET", "/v1/log", "limit=2", NULL, &r);
	CHECK(st == 200 && json_array_size(r) == 2 &&
		  json_integer_value(
		      json_object_get(json_array_get(r, 0), "Id")) == 1,
	    "api: limit=2, the first two records with their Id");
	json_decref(r);
	st =
	    call(CF_ROLE_READER, "GET", "/v1/log", "limit=2&after=1", NULL, &r);
	CHECK(st == 200 && json_array_size(r) == 2 &&
		  json_integer_value(
		      json_object_get(json_array_get(r, 0), "Id")) == 2,
	    "api: after=1, the next page");
	json_decref(r);
	st = call(
	    CF_ROLE_READER, "GET", "/v1/log", "limit=1&newest=1", NULL, &r);
	CHECK(st == 200 && json_array_size(r) == 1 &&
		  json_integer_value(json_object_get(
		      json_array_get(r, 0), "Id")) == cf_store_audit_last(s),
	    "api: newest=1, the newest record");
	json_decref(r);
	st = call(CF_ROLE_READER, "GET", "/v1/log", "limit=1001", NULL, &r);
	CHECK(st == 400, "api: limit above a page is refused");
	json_decref(r);
	st = call(CF_ROLE_READER, "GET", "/v1/log", "after=-1", NULL, &r);
	CHECK(st == 400, "api: a negative cursor is refused");
	json_decref(r);
}

static void
test_render(const char *thumb)
{
	struct cf_error err;

	{
		struct cf_api_caller c = {"tls:SHA256:TEST", "SHA256:TEST",
		    CF_ROLE_READER, "ex1", NULL};
		char *t1 = NULL, *t2 = NULL, *t3 = NULL, *b2;
		cf_api_render(s, &c, "get", NULL, NULL, &t1, &err);
		cf_api_render(s, &c, "get", NULL, NULL, &t2, &err);
		CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) == 0 &&
			  strstr(t1, thumb) != NULL,
		    "api: a repeated listing renders the same text");
		b2 = xasprintf(
		    "{\"thumbprint\":\"%s\",\"services\":\"pop\"}", thumb);
		c.role = CF_ROLE_ADMIN;
		{
			json_t *jb = json_loads(b2, 0, NULL);
			cf_api_render(s, &c, "enable", NULL, jb, &t3, &err);
			json_decref(jb);
		}
		free(t3);
		t3 = NULL;
		cf_api_render(s, &c, "get", NULL, NULL, &t3, &err);
		CHECK(t3 != NULL && strcmp(t1, t3) != 0 &&
			  strstr(t3, "\"pop\"") != NULL,
		    "api: a change shows in the next listing at once");
		free(b2);
		free(t1);
		free(t2);
		free(t3);
	}
}

static void
test_depth(void)
{
	json_t *r;

	r = json_loads("[[[[[[[[[[1]]]]]]]]]]", 0, NULL);
	CHECK(cf_json_depth(r) == 11 &&
		  cf_json_depth(json_array_get(json_array_get(r, 0), 0)) == 9,
	    "api: JSON depth is measured");
	json_decref(r);
}

/*
 * The round trip, one piece because each step works on what the one
 * before left in the store: import, list, export, enable, make, the
 * audit trail of all that, rendering, then copy and replace.
 */
static void
round_trip(const char *b64)
{
	char thumb[41];

	test_import(b64, thumb);
	test_certificates(thumb);
	test_export(thumb);
	test_enable(thumb);
	test_new_self_signed();
	test_log();
	test_render(thumb);
	copy_and_replace(thumb, b64);
}

int
main(int argc, char **argv)
{
	EVP_PKEY *k = tp_key(0);
	X509 *x = tp_cert("mail.example.com", "mail.example.com,mail", k, NULL,
	    NULL, -1, 90, 0);
	char dir[512], *pem, *b64;
	struct cf_error err;

	check_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	s = cf_store_open(dir, &err);
	pem = tp_pem(&x, 1, k);
	b64 = cf_base64_new((unsigned char *)pem, strlen(pem));

	if (check_test("outside_bytes"))
		outside_bytes();
	if (check_test("routes"))
		test_routes();
	if (check_test("bodies"))
		test_bodies();
	if (check_test("round_trip"))
		round_trip(b64);
	/* after the checks of what is audited: these refusals are too */
	if (check_test("statuses"))
		statuses();
	if (check_test("dispatch"))
		dispatch();
	if (check_test("depth"))
		test_depth();

	free(pem);
	free(b64);
	X509_free(x);
	EVP_PKEY_free(k);
	cf_store_free(s);
	return check_done();
}
