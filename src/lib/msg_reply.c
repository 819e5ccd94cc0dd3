/*
 * msg_reply.c - the replies of the API, each encoder beside its decoder:
 * see msg.h and docs/api.md.  The agent's text goes into JSON through
 * cf_json_string; the CLI reads a reply from any agent it was pointed
 * at, so a decoder takes nothing for granted: a field absent or of the
 * wrong type reads as empty, and only what the CLI cannot do without (a
 * thumbprint, the data) makes the reply malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "msg.h"
#include "probe.h"
#include "util.h"
#include "version.h"
#include "view.h"

/* ---- reading ------------------------------------------------------------ */

/* The string field key of o, "" when absent or not a string. */
static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int
malformed(struct cf_error *err, const char *what)
{
	return cf_errorf(
	    err, CF_E_PARSE, "the agent's answer is malformed: %s", what);
}

/* The field key of o, a thumbprint of 40 digits, into thumb. */
static int
thumb_get(json_t *o, const char *key, char thumb[CF_THUMB_LEN + 1])
{
	const char *t = str(o, key);

	if (strlen(t) != CF_THUMB_LEN)
		return -1;
	memcpy(thumb, t, CF_THUMB_LEN + 1);
	return 0;
}

/* The text field key of o, new; NULL when empty. */
static char *
text_or_null(json_t *o, const char *key)
{
	return str(o, key)[0] != '\0' ? xstrdup(str(o, key)) : NULL;
}

/* The Base64 string data decoded into *out; what names it in an
 * error, missing says what is wrong when it is not a string. */
static int
base64_get(json_t *data, const char *what, const char *missing,
    struct cf_buf *out, struct cf_error *err)
{
	if (!json_is_string(data))
		return malformed(err, missing);
	return cf_base64_decode(
	    json_string_value(data), json_string_length(data), what, out, err);
}

/* A new array for the elements of the JSON array a, one spare, zeroed;
 * NULL and err set when a is not an array. */
static void *
list_new(json_t *a, size_t size, const char *what, struct cf_error *err)
{
	if (!json_is_array(a)) {
		malformed(err, what);
		return NULL;
	}
	return xcalloc(json_array_size(a) + 1, size);
}

/* A thumbprint, or null when there is none. */
static json_t *
thumb_or_null(const char *t)
{
	return t[0] ? cf_json_string(t) : json_null();
}

/* A thumbprint field of a service: 40 hex digits, or "" for null. */
static void
thumb_field(json_t *o, const char *key, char out[CF_THUMB_LEN + 1])
{
	if (thumb_get(o, key, out) == -1)
		out[0] = '\0';
}

/* ---- errors ------------------------------------------------------------ */

/* msg may quote what a client sent (a path, a query, a file name):
 * cf_json_string keeps the reply JSON whatever its bytes. */
json_t *
cf_msg_error_encode(int code, const char *msg)
{
	return json_pack("{s:s, s:o}", "code", cf_code_name(code), "message",
	    cf_json_string(msg));
}

/* The error code named name ("not-found"); CF_E_INTERNAL when unknown. */
static int
code_parse(const char *name)
{
	int code;

	for (code = CF_OK + 1; code < CF_E_COUNT; code++)
		if (strcmp(name, cf_code_name(code)) == 0)
			return code;
	return CF_E_INTERNAL;
}

int
cf_msg_error_decode(json_t *o, int fallback, struct cf_error *err)
{
	const char *name = json_string_value(json_object_get(o, "code"));
	const char *msg = json_string_value(json_object_get(o, "message"));

	if (msg == NULL)
		return -1;
	cf_errorf(err, name ? code_parse(name) : fallback, "%s", msg);
	return 0;
}

/* ---- import results ---------------------------------------------------- */

json_t *
cf_msg_results_encode(const struct cf_import_result *r, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(
		    a, json_pack("{s:o, s:o, s:o, s:o, s:o}", "Thumbprint",
			   cf_json_string(r[i].thumbprint), "Services",
			   cf_json_string(r[i].services), "Result",
			   cf_json_string(r[i].what), "Detail",
			   cf_json_string(r[i].detail), "SkippedServices",
			   cf_json_list(r[i].skipped)));
	return json_pack("{s:o}", "results", a);
}

int
cf_msg_results_decode(
    json_t *o, struct cf_import_result **r, size_t *n, struct cf_error *err)
{
	json_t *a = json_object_get(o, "results"), *item;
	struct cf_import_result *res;
	size_t i, got = 0;

	*r = NULL;
	*n = 0;
	if (!json_is_array(a))
		return malformed(err, "no results");
	res = xcalloc(json_array_size(a) + 1, sizeof(*res));
	json_array_foreach(a, i, item) {
		if (thumb_get(item, "Thumbprint", res[i].thumbprint) == -1) {
			cf_import_results_free(res, got);
			return malformed(err, "a result without a thumbprint");
		}
		got++;
		res[i].services = xstrdup(str(item, "Services"));
		res[i].what = str(item, "Result");
		res[i].detail = text_or_null(item, "Detail");
		if (json_array_size(json_object_get(item, "SkippedServices")))
			res[i].skipped = cf_json_joined(
			    json_object_get(item, "SkippedServices"));
	}
	*r = res;
	*n = got;
	return 0;
}

/* ---- certificates ------------------------------------------------------ */

json_t *
cf_msg_views_encode(const struct cf_view *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, cf_view_json(&v[i]));
	return a;
}

json_t *
cf_msg_view_rows_encode(const struct cf_view *v, size_t n)
{
	json_t *o = json_object(), *fields = json_array(), *rows = json_array();
	json_t *row;
	size_t i;
	int f;

	for (f = 0; f < CF_F_COUNT; f++)
		json_array_append_new(
		    fields, json_string(cf_field_name((enum cf_field)f)));
	for (i = 0; i < n; i++) {
		row = json_array();
		for (f = 0; f < CF_F_COUNT; f++)
			json_array_append_new(
			    row, cf_view_field_json(&v[i], (enum cf_field)f));
		json_array_append_new(rows, row);
	}
	json_object_set_new(o, "Fields", fields);
	json_object_set_new(o, "Rows", rows);
	return o;
}

/*
 * Where a certificate's fields are: in an object by name (pos NULL), or
 * in a row at pos[f] (-1: the row has no such field).
 */
static json_t *
value(json_t *o, const int *pos, enum cf_field f)
{
	if (pos == NULL)
		return json_object_get(o, cf_field_name(f));
	return pos[f] < 0 ? NULL : json_array_get(o, (size_t)pos[f]);
}

/* The string field f of certificate o, "" when absent or not a string. */
static const char *
field(json_t *o, const int *pos, enum cf_field f)
{
	const char *s = json_string_value(value(o, pos, f));

	return s ? s : "";
}

/* The list field f of certificate o, comma-separated (new). */
static char *
field_list(json_t *o, const int *pos, enum cf_field f)
{
	return cf_json_joined(value(o, pos, f));
}

/* The boolean field f of certificate o. */
static int
field_true(json_t *o, const int *pos, enum cf_field f)
{
	return json_is_true(value(o, pos, f));
}

/* One certificate of a reply into v, an object by cf_view_json's names
 * or a row (pos); -1 without a thumbprint. */
static int
view_decode(json_t *o, const int *pos, struct cf_view *v)
{
	const char *thumb = field(o, pos, CF_F_THUMBPRINT);

	if ((pos ? !json_is_array(o) : !json_is_object(o)) ||
	    strlen(thumb) != CF_THUMB_LEN)
		return -1;
	memcpy(v->thumbprint, thumb, CF_THUMB_LEN + 1);
	v->subject = xstrdup(field(o, pos, CF_F_SUBJECT));
	v->issuer = xstrdup(field(o, pos, CF_F_ISSUER));
	v->friendly_name = xstrdup(field(o, pos, CF_F_FRIENDLYNAME));
	v->serial = xstrdup(field(o, pos, CF_F_SERIAL));
	v->key_type = xstrdup(field(o, pos, CF_F_KEYTYPE));
	v->services = field_list(o, pos, CF_F_SERVICES);
	v->domains = field_list(o, pos, CF_F_DOMAINS);
	v->chain = field_list(o, pos, CF_F_CHAIN);
	v->status = field(o, pos, CF_F_STATUS); /* lent by the reply */
	v->exportable = field_true(o, pos, CF_F_EXPORTABLE);
	v->has_key = field_true(o, pos, CF_F_HASKEY);
	v->self_signed = field_true(o, pos, CF_F_SELFSIGNED);
	v->not_before = cf_json_time(field(o, pos, CF_F_NOTBEFORE));
	v->not_after = cf_json_time(field(o, pos, CF_F_NOTAFTER));
	return 0;
}

/* The position of each field in the rows form's Fields into pos (-1
 * for one it lacks: an agent of another version); -1 when Fields is not
 * an array. */
static int
row_positions(json_t *fields, int pos[CF_F_COUNT])
{
	const char *name;
	json_t *item;
	size_t i;
	int f;

	if (!json_is_array(fields))
		return -1;
	for (f = 0; f < CF_F_COUNT; f++)
		pos[f] = -1;
	json_array_foreach(fields, i, item) {
		name = json_string_value(item);
		if (name != NULL && (f = cf_field_lookup(name)) >= 0)
			pos[f] = (int)i;
	}
	return 0;
}

int
cf_msg_views_decode(
    json_t *a, struct cf_view **v, size_t *n, struct cf_error *err)
{
	struct cf_view *views;
	int pos[CF_F_COUNT], *p = NULL;
	json_t *o;
	size_t i;

	*v = NULL;
	*n = 0;
	if (json_is_object(a)) { /* the rows form */
		if (row_positions(json_object_get(a, "Fields"), pos) == -1)
			return malformed(err, "rows without their fields");
		p = pos;
		a = json_object_get(a, "Rows");
	}
	views = list_new(a, sizeof(*views), "not a list of certificates", err);
	if (views == NULL)
		return -1;
	json_array_foreach(a, i, o) {
		if (view_decode(o, p, &views[i]) == -1) {
			cf_views_free(views, i);
			return malformed(err, "a certificate without a "
					      "thumbprint");
		}
	}
	*v = views;
	*n = json_array_size(a);
	return 0;
}

/* ---- one certificate's answers ---------------------------------------- */

json_t *
cf_msg_thumb_encode(const char *thumb)
{
	return json_pack("{s:s}", "thumbprint", thumb);
}

int
cf_msg_thumb_decode(
    json_t *o, char thumb[CF_THUMB_LEN + 1], struct cf_error *err)
{
	if (thumb_get(o, "thumbprint", thumb) == -1)
		return malformed(err, "no thumbprint");
	return 0;
}

json_t *
cf_msg_detail_encode(const char *thumb, const char *detail)
{
	return json_pack("{s:s, s:o}", "thumbprint", thumb, "detail",
	    cf_json_string(detail));
}

int
cf_msg_detail_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], char **detail,
    struct cf_error *err)
{
	*detail = NULL;
	if (cf_msg_thumb_decode(o, thumb, err) == -1)
		return -1;
	*detail = text_or_null(o, "detail");
	return 0;
}

json_t *
cf_msg_moved_encode(const char *thumb, const char *moved, const char *detail)
{
	return json_pack("{s:s, s:o, s:o}", "thumbprint", thumb, "services",
	    cf_json_list(moved), "detail", cf_json_string(detail));
}

int
cf_msg_moved_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], char **moved,
    char **detail, struct cf_error *err)
{
	*moved = NULL;
	if (cf_msg_detail_decode(o, thumb, detail, err) == -1)
		return -1;
	*moved = cf_json_joined(json_object_get(o, "services"));
	return 0;
}

json_t *
cf_msg_csr_encode(const char *thumb, const char *pem)
{
	return json_pack("{s:s, s:s}", "thumbprint", thumb, "csr", pem);
}

int
cf_msg_csr_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], struct cf_buf *pem,
    struct cf_error *err)
{
	memset(pem, 0, sizeof(*pem));
	if (cf_msg_thumb_decode(o, thumb, err) == -1)
		return -1;
	if (str(o, "csr")[0] == '\0')
		return malformed(err, "no csr");
	pem->data = (unsigned char *)xstrdup(str(o, "csr"));
	pem->len = strlen((char *)pem->data);
	return 0;
}

json_t *
cf_msg_data_encode(const char *thumb, const struct cf_buf *data)
{
	char *b64 = cf_base64_new(data->data, data->len);
	json_t *o = json_pack("{s:s, s:s}", "thumbprint", thumb, "data", b64);

	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return o;
}

int
cf_msg_data_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], struct cf_buf *data,
    struct cf_error *err)
{
	json_t *b64 = json_object_get(o, "data");
	int rc;

	memset(data, 0, sizeof(*data));
	if (cf_msg_thumb_decode(o, thumb, err) == -1)
		return -1;
	rc = base64_get(b64, "the exported data", "no data", data, err);
	cf_json_wipe(b64); /* it may hold a key */
	return rc;
}

json_t *
cf_msg_sealed_encode(const char *thumb, const struct cf_buf *sealed)
{
	char *b64 = cf_base64_new(sealed->data, sealed->len);
	json_t *o = json_pack("{s:s, s:s}", "thumbprint", thumb, "sealed", b64);

	free(b64);
	return o;
}

int
cf_msg_sealed_decode(json_t *o, char thumb[CF_THUMB_LEN + 1],
    struct cf_buf *sealed, struct cf_error *err)
{
	memset(sealed, 0, sizeof(*sealed));
	if (cf_msg_thumb_decode(o, thumb, err) == -1)
		return -1;
	return base64_get(json_object_get(o, "sealed"), "the sealed transfer",
	    "no sealed data", sealed, err);
}

/* ---- whoami ------------------------------------------------------------ */

json_t *
cf_msg_whoami_encode(const char *agent, const char *role, const char *client,
    const char *pem, int transfer)
{
	json_t *o = json_pack("{s:o, s:s, s:o, s:s}", "agent",
	    cf_json_string(agent), "role", role, "client",
	    cf_json_string(client), "version", CF_VERSION);

	if (pem != NULL) {
		json_object_set_new(o, "certificate", json_string(pem));
		json_object_set_new(o, "transfer", json_boolean(transfer));
	}
	return o;
}

int
cf_msg_whoami_decode(
    json_t *o, struct cf_buf *pem, int *transfer, struct cf_error *err)
{
	(void)err; /* every field may be absent: an older agent */
	pem->data = (unsigned char *)xstrdup(str(o, "certificate"));
	pem->len = strlen((char *)pem->data);
	*transfer = json_is_true(json_object_get(o, "transfer"));
	return 0;
}

/* ---- log --------------------------------------------------------------- */

json_t *
cf_msg_audit_encode(const struct cf_audit *recs, size_t n)
{
	json_t *a = json_array();
	char iso[21];
	size_t i;

	for (i = 0; i < n; i++) {
		cf_time_iso(recs[i].time, iso);
		json_array_append_new(
		    a, json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "Id",
			   (json_int_t)recs[i].id, "Time", iso, "Actor",
			   cf_json_string(recs[i].actor), "Operation",
			   cf_json_string(recs[i].op), "Thumbprint",
			   cf_json_string(recs[i].thumb), "Outcome",
			   cf_json_string(recs[i].outcome)));
	}
	return a;
}

int
cf_msg_audit_decode(
    json_t *a, struct cf_audit **recs, size_t *n, struct cf_error *err)
{
	struct cf_audit *r;
	json_t *o;
	size_t i;

	*recs = NULL;
	*n = 0;
	r = list_new(a, sizeof(*r), "not a list of audit records", err);
	if (r == NULL)
		return -1;
	json_array_foreach(a, i, o) {
		/* The agent's record id, the cursor of the next page. */
		r[i].id = json_integer_value(json_object_get(o, "Id"));
		r[i].time = cf_json_time(str(o, "Time"));
		r[i].actor = xstrdup(str(o, "Actor"));
		r[i].op = xstrdup(str(o, "Operation"));
		r[i].thumb = xstrdup(str(o, "Thumbprint"));
		r[i].outcome = xstrdup(str(o, "Outcome"));
	}
	*recs = r;
	*n = json_array_size(a);
	return 0;
}

/* ---- services ---------------------------------------------------------- */

/* One service's state. */
static json_t *
service_encode(const struct cf_service_view *v)
{
	char iso[21] = "";
	json_t *o;

	if (v->not_after != 0)
		cf_time_iso(v->not_after, iso);
	o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}",
	    "Service", cf_json_string(v->name), "Kind", cf_json_string(v->kind),
	    "Assigned", thumb_or_null(v->assigned), "OnDisk",
	    thumb_or_null(v->on_disk), "Served", thumb_or_null(v->served),
	    "Match", v->match < 0 ? json_null() : json_boolean(v->match),
	    "NotAfter", iso, "Endpoint", cf_json_string(v->endpoint), "Problem",
	    cf_json_string(v->problem));
	json_object_set_new(o, "CheckHost", cf_json_string(v->check_host));
	json_object_set_new(o, "CheckPort", cf_json_string(v->check_port));
	json_object_set_new(o, "Protocol", cf_json_string(v->proto));
	json_object_set_new(o, "Name", cf_json_string(v->sni));
	return o;
}

json_t *
cf_msg_services_encode(const struct cf_service_view *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, service_encode(&v[i]));
	return a;
}

/* The static name of protocol p ("tls" for anything unknown). */
static const char *
proto_name(const char *p)
{
	enum cf_probe_proto proto;
	struct cf_error err;

	if (cf_probe_proto_parse(p, &proto, &err) == -1)
		proto = CF_PROBE_TLS;
	return cf_probe_proto_name(proto);
}

/* One service's state from o into v. */
static void
service_decode(json_t *o, struct cf_service_view *v)
{
	json_t *match = json_object_get(o, "Match");

	snprintf(v->name, sizeof(v->name), "%s", str(o, "Service"));
	v->kind = xstrdup(str(o, "Kind"));
	thumb_field(o, "Assigned", v->assigned);
	thumb_field(o, "OnDisk", v->on_disk);
	thumb_field(o, "Served", v->served);
	v->match = json_is_boolean(match) ? json_is_true(match) : -1;
	v->not_after = cf_json_time(str(o, "NotAfter"));
	v->endpoint = xstrdup(str(o, "Endpoint"));
	v->problem = xstrdup(str(o, "Problem"));
	v->check_host = xstrdup(str(o, "CheckHost"));
	v->check_port = xstrdup(str(o, "CheckPort"));
	v->proto = proto_name(str(o, "Protocol"));
	v->sni = xstrdup(str(o, "Name"));
}

int
cf_msg_services_decode(
    json_t *a, struct cf_service_view **v, size_t *n, struct cf_error *err)
{
	struct cf_service_view *s;
	json_t *o;
	size_t i;

	*v = NULL;
	*n = 0;
	if ((s = list_new(a, sizeof(*s), "not a list of services", err)) ==
	    NULL)
		return -1;
	json_array_foreach(a, i, o) {
		service_decode(o, &s[i]);
	}
	*v = s;
	*n = json_array_size(a);
	return 0;
}
