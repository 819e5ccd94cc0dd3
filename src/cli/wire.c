/*
 * wire.c - the client's half of the agent's API: see wire.h.  A table
 * of the operations, each with its route, its body and its decoder; the
 * bodies and replies themselves are the library's messages (msg.h,
 * view.h), which the agent decodes and encodes the other way.
 */
#include <stdlib.h>

#include <event2/http.h>

#include "msg.h"
#include "util.h"
#include "wire.h"

/* ---- reading answers: the decoders are msg.h's ---------------------- */

static int
reply_get(json_t *a, struct backend_reply *r)
{
	return cf_msg_views_decode(a, &r->views, &r->nviews, &r->err);
}

static int
reply_import(json_t *o, struct backend_reply *r)
{
	return cf_msg_results_decode(o, &r->results, &r->nresults, &r->err);
}

static int
reply_thumb(json_t *o, struct backend_reply *r)
{
	return cf_msg_thumb_decode(o, r->thumb, &r->err);
}

static int
reply_enable(json_t *o, struct backend_reply *r)
{
	return cf_msg_detail_decode(o, r->thumb, &r->detail, &r->err);
}

static int
reply_replace(json_t *o, struct backend_reply *r)
{
	return cf_msg_moved_decode(o, r->thumb, &r->moved, &r->detail, &r->err);
}

static int
reply_services(json_t *a, struct backend_reply *r)
{
	return cf_msg_services_decode(a, &r->svcs, &r->nsvcs, &r->err);
}

static int
reply_csr(json_t *o, struct backend_reply *r)
{
	return cf_msg_csr_decode(o, r->thumb, &r->data, &r->err);
}

static int
reply_whoami(json_t *o, struct backend_reply *r)
{
	return cf_msg_whoami_decode(o, &r->data, &r->transfer, &r->err);
}

static int
reply_sealed(json_t *o, struct backend_reply *r)
{
	return cf_msg_sealed_decode(o, r->thumb, &r->data, &r->err);
}

static int
reply_export(json_t *o, struct backend_reply *r)
{
	return cf_msg_data_decode(o, r->thumb, &r->data, &r->err);
}

static int
reply_log(json_t *a, struct backend_reply *r)
{
	return cf_msg_audit_decode(a, &r->audit, &r->naudit, &r->err);
}

/* ---- writing requests: the encoders are msg.h's --------------------- */

static int
body_import(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	return cf_msg_import_encode(q->in, q->nin, &q->import, body, err);
}

static int
body_export(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	return cf_msg_export_encode(q->arg, &q->export, body, err);
}

static int
body_enable(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_enable_encode(q->arg, q->services, q->force);
	return 0;
}

static int
body_replace(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_replace_encode(q->old, q->arg, q->force);
	return 0;
}

static int
body_disable(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_disable_encode(q->arg, q->services);
	return 0;
}

static int
body_remove(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_remove_encode(q->arg, q->force);
	return 0;
}

static int
body_request_new(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_request_new_encode(&q->request);
	return 0;
}

static int
body_request_complete(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_request_complete_encode(q->in, q->nin);
	return 0;
}

static int
body_renew(const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_renew_encode(q->arg, q->keep_key);
	return 0;
}

static int
body_new_self_signed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_new_self_signed_encode(&q->selfsigned);
	return 0;
}

static int
body_export_sealed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body =
	    cf_msg_export_sealed_encode(q->arg, q->recipients, q->nrecipients);
	return 0;
}

static int
body_import_sealed(
    const struct backend_req *q, json_t **body, struct cf_error *err)
{
	(void)err;
	*body = cf_msg_import_sealed_encode(q->sealed, &q->import);
	return 0;
}

/* path?query, or path alone when query is NULL (new). */
static char *
with_query(const char *path, const char *query)
{
	return query ? xasprintf("%s?%s", path, query) : xstrdup(path);
}

static char *
path_get(const struct backend_req *q)
{
	char *enc = NULL, *query, *path;

	if (q->arg != NULL && (enc = evhttp_encode_uri(q->arg)) == NULL)
		abort();
	query = cf_msg_get_query(enc, &q->get);
	path = with_query("/v1/certificates", query);
	free(query);
	free(enc);
	return path;
}

static char *
path_services(const struct backend_req *q)
{
	return with_query("/v1/services", cf_msg_services_query(!q->no_probe));
}

static char *
path_log(const struct backend_req *q)
{
	char *query = cf_msg_log_query(&q->log), *path;

	path = with_query("/v1/log", query);
	free(query);
	return path;
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
    [BACKEND_ENABLE] = {"POST", "/v1/enable", NULL, body_enable, reply_enable},
    [BACKEND_DISABLE] = {"POST", "/v1/disable", NULL, body_disable,
	reply_thumb},
    [BACKEND_REMOVE] = {"POST", "/v1/remove", NULL, body_remove, reply_thumb},
    [BACKEND_LOG] = {"GET", NULL, path_log, NULL, reply_log},
    [BACKEND_SERVICES] = {"GET", NULL, path_services, NULL, reply_services},
    [BACKEND_REQUEST_NEW] = {"POST", "/v1/request/new", NULL, body_request_new,
	reply_csr},
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

/* The body's secrets are the message's to know (msg.h). */
void
wire_body_wipe(json_t *body)
{
	cf_msg_body_wipe(body);
}

int
wire_reply(enum backend_op op, json_t *answer, struct backend_reply *r)
{
	r->json = answer;
	return routes[op].reply(answer, r);
}
