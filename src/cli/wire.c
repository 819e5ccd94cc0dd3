/*
 * wire.c - the client's half of the agent's JSON: see wire.h.  A table
 * of the operations, each with its route, its body and its decoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "util.h"
#include "probe.h"
#include "view.h"
#include "wire.h"

/* ---- reading answers ----------------------------------------------- */

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A JSON array of strings (or a string) as one comma-separated string. */
static char *
joined(json_t *v)
{
	size_t i, len = 1;
	json_t *item;
	char *out;

	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	json_array_foreach(v, i, item)
	{
		len += json_string_length(item) + 1;
	}
	out = xcalloc(1, len);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			continue;
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, json_string_value(item));
	}
	return out;
}

/* "2026-11-25T14:48:12Z" as seconds; 0 when malformed. */
static time_t
iso_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end != NULL && *end == '\0' ? timegm(&tm) : 0;
}

static int
malformed(struct backend_reply *r, const char *what)
{
	return cf_errorf(
	    &r->err, CF_E_PARSE, "the agent's answer is malformed: %s", what);
}

static int
view_from_json(json_t *o, struct cf_view *v)
{
	const char *thumb = str(o, "Thumbprint");

	if (!json_is_object(o) || strlen(thumb) != CF_THUMB_LEN)
		return -1;
	memcpy(v->thumbprint, thumb, CF_THUMB_LEN + 1);
	v->subject = xstrdup(str(o, "Subject"));
	v->issuer = xstrdup(str(o, "Issuer"));
	v->friendly_name = xstrdup(str(o, "FriendlyName"));
	v->serial = xstrdup(str(o, "SerialNumber"));
	v->key_type = xstrdup(str(o, "KeyType"));
	v->services = joined(json_object_get(o, "Services"));
	v->domains = joined(json_object_get(o, "CertificateDomains"));
	v->chain = joined(json_object_get(o, "Chain"));
	v->status = str(o, "Status"); /* lent by the answer r->json holds */
	v->exportable =
	    json_is_true(json_object_get(o, "PrivateKeyExportable"));
	v->has_key = json_is_true(json_object_get(o, "HasPrivateKey"));
	v->self_signed = json_is_true(json_object_get(o, "IsSelfSigned"));
	v->not_before = iso_time(str(o, "NotBefore"));
	v->not_after = iso_time(str(o, "NotAfter"));
	return 0;
}

static int
reply_get(json_t *a, struct backend_reply *r)
{
	size_t i;
	json_t *o;

	if (!json_is_array(a))
		return malformed(r, "not a list of certificates");
	r->views = xcalloc(json_array_size(a) + 1, sizeof(*r->views));
	json_array_foreach(a, i, o)
	{
		if (view_from_json(o, &r->views[r->nviews++]) == -1)
			return malformed(r, "a certificate without a "
					    "thumbprint");
	}
	return 0;
}

static int
reply_import(json_t *o, struct backend_reply *r)
{
	json_t *a = json_object_get(o, "results"), *item;
	size_t i;

	if (!json_is_array(a))
		return malformed(r, "no results");
	r->results = xcalloc(json_array_size(a) + 1, sizeof(*r->results));
	json_array_foreach(a, i, item)
	{
		struct cf_import_result *res = &r->results[r->nresults++];
		if (strlen(str(item, "Thumbprint")) != CF_THUMB_LEN)
			return malformed(r, "a result without a thumbprint");
		memcpy(
		    res->thumbprint, str(item, "Thumbprint"), CF_THUMB_LEN + 1);
		res->services = xstrdup(str(item, "Services"));
		res->what = str(item, "Result");
		if (str(item, "Detail")[0] != '\0')
			res->detail = xstrdup(str(item, "Detail"));
		if (json_array_size(json_object_get(item, "SkippedServices")))
			res->skipped =
			    joined(json_object_get(item, "SkippedServices"));
	}
	return 0;
}

static int
reply_thumb(json_t *o, struct backend_reply *r)
{
	if (strlen(str(o, "thumbprint")) != CF_THUMB_LEN)
		return malformed(r, "no thumbprint");
	memcpy(r->thumb, str(o, "thumbprint"), CF_THUMB_LEN + 1);
	return 0;
}

static int
reply_enable(json_t *o, struct backend_reply *r)
{
	if (reply_thumb(o, r) == -1)
		return -1;
	if (str(o, "detail")[0] != '\0')
		r->detail = xstrdup(str(o, "detail"));
	return 0;
}

static int
reply_replace(json_t *o, struct backend_reply *r)
{
	if (reply_enable(o, r) == -1)
		return -1;
	r->moved = joined(json_object_get(o, "services"));
	return 0;
}

/* A thumbprint field: 40 hex digits, or "" for null. */
static void
thumb_field(json_t *o, const char *key, char out[CF_THUMB_LEN + 1])
{
	const char *t = str(o, key);

	snprintf(out, CF_THUMB_LEN + 1, "%s",
	    strlen(t) == CF_THUMB_LEN ? t : "");
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

static int
reply_services(json_t *a, struct backend_reply *r)
{
	size_t i;
	json_t *o, *match;

	if (!json_is_array(a))
		return malformed(r, "not a list of services");
	r->svcs = xcalloc(json_array_size(a) + 1, sizeof(*r->svcs));
	json_array_foreach(a, i, o)
	{
		struct cf_service_view *v = &r->svcs[r->nsvcs++];
		snprintf(v->name, sizeof(v->name), "%s", str(o, "Service"));
		v->kind = xstrdup(str(o, "Kind"));
		thumb_field(o, "Assigned", v->assigned);
		thumb_field(o, "OnDisk", v->on_disk);
		thumb_field(o, "Served", v->served);
		match = json_object_get(o, "Match");
		v->match = json_is_boolean(match) ? json_is_true(match) : -1;
		v->not_after = iso_time(str(o, "NotAfter"));
		v->endpoint = xstrdup(str(o, "Endpoint"));
		v->problem = xstrdup(str(o, "Problem"));
		v->check_host = xstrdup(str(o, "CheckHost"));
		v->check_port = xstrdup(str(o, "CheckPort"));
		v->proto = proto_name(str(o, "Protocol"));
		v->sni = xstrdup(str(o, "Name"));
	}
	return 0;
}

/* A request made: its thumbprint and its PKCS#10 as PEM. */
static int
reply_csr(json_t *o, struct backend_reply *r)
{
	if (reply_thumb(o, r) == -1)
		return -1;
	if (str(o, "csr")[0] == '\0')
		return malformed(r, "no csr");
	r->data.data = (unsigned char *)xstrdup(str(o, "csr"));
	r->data.len = strlen((char *)r->data.data);
	return 0;
}

/* The agent's identity certificate and whether it allows transfers. */
static int
reply_whoami(json_t *o, struct backend_reply *r)
{
	const char *pem = str(o, "certificate");

	r->data.data = (unsigned char *)xstrdup(pem);
	r->data.len = strlen(pem);
	r->transfer = json_is_true(json_object_get(o, "transfer"));
	return 0;
}

/* The sealed transfer: its thumbprint and the CMS bytes. */
static int
reply_sealed(json_t *o, struct backend_reply *r)
{
	json_t *data = json_object_get(o, "sealed");

	if (reply_thumb(o, r) == -1)
		return -1;
	if (!json_is_string(data))
		return malformed(r, "no sealed data");
	return cf_base64_decode(json_string_value(data),
	    json_string_length(data), "the sealed transfer", &r->data,
	    &r->err);
}

/* The exported file; its Base64 in the answer is wiped once decoded. */
static int
reply_export(json_t *o, struct backend_reply *r)
{
	json_t *data = json_object_get(o, "data");
	int rc;

	if (reply_thumb(o, r) == -1)
		return -1;
	if (!json_is_string(data))
		return malformed(r, "no data");
	rc = cf_base64_decode(json_string_value(data), json_string_length(data),
	    "the exported data", &r->data, &r->err);
	OPENSSL_cleanse(
	    (char *)json_string_value(data), json_string_length(data));
	return rc;
}

static int
reply_log(json_t *a, struct backend_reply *r)
{
	size_t i;
	json_t *o;

	if (!json_is_array(a))
		return malformed(r, "not a list of audit records");
	r->audit = xcalloc(json_array_size(a) + 1, sizeof(*r->audit));
	json_array_foreach(a, i, o)
	{
		struct cf_audit *rec = &r->audit[r->naudit++];
		/* The agent's record id, the cursor of the next page. */
		rec->id = json_integer_value(json_object_get(o, "Id"));
		rec->time = iso_time(str(o, "Time"));
		rec->actor = xstrdup(str(o, "Actor"));
		rec->op = xstrdup(str(o, "Operation"));
		rec->thumb = xstrdup(str(o, "Thumbprint"));
		rec->outcome = xstrdup(str(o, "Outcome"));
	}
	return 0;
}

/* ---- writing requests ---------------------------------------------- */

/* Text as JSON, json null for NULL: bytes that are not UTF-8 are written
 * \xNN by the one encoder of outside text (a name the agent then reports
 * as unknown, shown as it was). */
static json_t *
jtext(const char *s)
{
	return s == NULL ? json_null() : cf_json_string(s);
}

/* The password as JSON, never altered: it must be UTF-8 to travel. */
static int
jpassword(const char *pw, json_t **out, struct cf_error *err)
{
	if (pw == NULL)
		*out = json_null();
	else if ((*out = json_string(pw)) == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "the password is not UTF-8 text, so it cannot be sent "
		    "to an agent");
	return 0;
}

/* The request's files as [{name, data (Base64)}]. */
static json_t *
jfiles(const struct backend_req *q)
{
	json_t *files = json_array();
	size_t i;

	for (i = 0; i < q->nin; i++) {
		char *data = cf_base64_new(q->in[i].data, q->in[i].len);
		json_array_append_new(
		    files, json_pack("{s:o, s:s}", "name", jtext(q->in[i].name),
			       "data", data));
		OPENSSL_cleanse(data, strlen(data));
		free(data);
	}
	return files;
}

static int
body_import(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	json_t *files, *pw;

	if (jpassword(q->import.password, &pw, err) == -1)
		return -1;
	files = jfiles(q);
	*body = json_pack("{s:o, s:o, s:b, s:o, s:o, s:b}", "files", files,
	    "password", pw, "exportable", q->import.exportable, "friendly_name",
	    jtext(q->import.friendly_name), "services",
	    jtext(q->import.services), "force", q->import.force);
	if (q->import.skip_missing) /* older agents refuse no field */
		json_object_set_new(*body, "skip_missing_services",
		    json_true());
	return 0;
}

static int
body_export(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	static const char *const formats[] = {[CF_EXPORT_P12] = "p12",
	    [CF_EXPORT_P12_B64] = "p12-base64",
	    [CF_EXPORT_PEM] = "pem"};
	json_t *pw;

	if (jpassword(q->export.password, &pw, err) == -1)
		return -1;
	*body = json_pack("{s:o, s:s, s:b, s:b, s:b, s:o}", "thumbprint",
	    jtext(q->arg), "format", formats[q->export.format], "legacy",
	    q->export.legacy, "transfer", q->export.transfer, "no_key",
	    q->export.no_key, "password", pw);
	if (q->export.targets != NULL)
		json_object_set_new(*body, "targets",
		    cf_json_list(q->export.targets));
	return 0;
}

static int
body_enable(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack("{s:o, s:o, s:b}", "thumbprint", jtext(q->arg),
	    "services", jtext(q->services), "force", q->force);
	return 0;
}

static int
body_replace(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack("{s:o, s:o, s:b}", "old", jtext(q->old), "new",
	    jtext(q->arg), "force", q->force);
	return 0;
}

static int
body_disable(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack("{s:o, s:o}", "thumbprint", jtext(q->arg), "services",
	    jtext(q->services));
	return 0;
}

static int
body_remove(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack(
	    "{s:o, s:b}", "thumbprint", jtext(q->arg), "force", q->force);
	return 0;
}

static int
body_request_new(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	const struct cf_request_opts *o = &q->request;

	(void)err;
	*body = json_pack("{s:o, s:o, s:o, s:b, s:o}", "subject",
	    jtext(o->subject), "domains", jtext(o->domains), "key",
	    jtext(o->key), "exportable", o->exportable, "friendly_name",
	    jtext(o->friendly_name));
	return 0;
}

static int
body_request_complete(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack("{s:o}", "files", jfiles(q));
	return 0;
}

static int
body_renew(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = json_pack("{s:o, s:b}", "thumbprint", jtext(q->arg),
	    "keep_key", q->keep_key);
	return 0;
}

static int
body_new_self_signed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	const struct cf_selfsigned_opts *o = &q->selfsigned;

	(void)err;
	*body = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:b}",
	    "subject", jtext(o->subject), "domains", jtext(o->domains), "key",
	    jtext(o->key), "days",
	    o->days ? json_integer(o->days) : json_null(), "services",
	    jtext(o->services), "exportable", o->exportable, "friendly_name",
	    jtext(o->friendly_name), "force", o->force);
	return 0;
}

static int
body_export_sealed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	json_t *a = json_array();
	size_t i;

	(void)err;
	for (i = 0; i < q->nrecipients; i++)
		json_array_append_new(a, jtext(q->recipients[i]));
	*body = json_pack("{s:o, s:o}", "thumbprint", jtext(q->arg),
	    "recipients", a);
	return 0;
}

static int
body_import_sealed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	char *b64 = cf_base64_new(q->sealed->data, q->sealed->len);

	(void)err;
	*body = json_pack("{s:s, s:o, s:b}", "sealed", b64, "services",
	    jtext(q->import.services), "force", q->import.force);
	if (q->import.skip_missing)
		json_object_set_new(*body, "skip_missing_services",
		    json_true());
	free(b64);
	return 0;
}

static char *
path_get(const struct backend_req *q)
{
	char *enc, *path;

	if (q->arg == NULL)
		return xstrdup("/v1/certificates");
	if ((enc = evhttp_encode_uri(q->arg)) == NULL)
		abort();
	path = xasprintf("/v1/certificates?thumbprint=%s", enc);
	free(enc);
	return path;
}

static char *
path_services(const struct backend_req *q)
{
	return xstrdup(q->no_probe ? "/v1/services?probe=0" : "/v1/services");
}

static char *
path_log(const struct backend_req *q)
{
	const struct cf_audit_page *p = &q->log;

	return xasprintf("/v1/log?since=%lld&after=%lld&before=%lld"
			 "&limit=%zu&newest=%d",
	    (long long)p->since, p->after, p->before, p->limit,
	    p->newest != 0);
}

static const struct route {
	const char *method, *path;
	char *(*path_fn)(const struct backend_req *);
	int (*body)(const struct backend_req *, json_t **, struct cf_error *);
	int (*reply)(json_t *, struct backend_reply *);
} routes[] = {
    [BACKEND_GET] = {"GET", NULL, path_get, NULL, reply_get},
    [BACKEND_IMPORT] = {"POST", "/v1/import", NULL, body_import, reply_import},
    [BACKEND_EXPORT] = {"POST", "/v1/export", NULL, body_export, reply_export},
    [BACKEND_ENABLE] = {"POST", "/v1/enable", NULL, body_enable,
	reply_enable},
    [BACKEND_DISABLE] = {"POST", "/v1/disable", NULL, body_disable,
	reply_thumb},
    [BACKEND_REMOVE] = {"POST", "/v1/remove", NULL, body_remove, reply_thumb},
    [BACKEND_LOG] = {"GET", NULL, path_log, NULL, reply_log},
    [BACKEND_SERVICES] = {"GET", NULL, path_services, NULL, reply_services},
    [BACKEND_REQUEST_NEW] = {"POST", "/v1/request/new", NULL,
	body_request_new, reply_csr},
    [BACKEND_REQUEST_COMPLETE] = {"POST", "/v1/request/complete", NULL,
	body_request_complete, reply_enable},
    [BACKEND_RENEW] = {"POST", "/v1/renew", NULL, body_renew, reply_csr},
    [BACKEND_NEW_SELF_SIGNED] = {"POST", "/v1/new-self-signed", NULL,
	body_new_self_signed, reply_import},
    [BACKEND_WHOAMI] = {"GET", "/v1/whoami", NULL, NULL, reply_whoami},
    [BACKEND_EXPORT_SEALED] = {"POST", "/v1/export-sealed", NULL,
	body_export_sealed, reply_sealed},
    [BACKEND_IMPORT_SEALED] = {"POST", "/v1/import-sealed", NULL,
	body_import_sealed, reply_import},
    [BACKEND_REPLACE] = {"POST", "/v1/replace", NULL, body_replace,
	reply_replace},
};

const char *
wire_method(enum backend_op op)
{
	return routes[op].method;
}

char *
wire_path(enum backend_op op, const struct backend_req *req)
{
	return routes[op].path_fn ? routes[op].path_fn(req)
				  : xstrdup(routes[op].path);
}

int
wire_body(enum backend_op op, const struct backend_req *req, json_t **body,
    struct cf_error *err)
{
	*body = NULL;
	if (routes[op].body == NULL)
		return 0;
	return routes[op].body(req, body, err);
}

static void
wipe_string(json_t *s)
{
	if (json_is_string(s))
		OPENSSL_cleanse(
		    (char *)json_string_value(s), json_string_length(s));
}

void
wire_body_wipe(json_t *body)
{
	json_t *files = json_object_get(body, "files"), *f;
	size_t i;

	wipe_string(json_object_get(body, "password"));
	json_array_foreach(files, i, f)
	{
		wipe_string(json_object_get(f, "data"));
	}
}

int
wire_reply(enum backend_op op, json_t *answer, struct backend_reply *r)
{
	r->json = answer;
	return routes[op].reply(answer, r);
}
