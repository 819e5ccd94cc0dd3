/*
 * etcd.c - the client and its transport: endpoints, the TLS context,
 * failover to the next endpoint, authentication and its renewal, the
 * blocking wrapper.  Connections are etcd_conn.c's, messages
 * etcd_msg.c's, the watch stream etcd_watch.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>

#include "etcd_int.h"

/* One call in flight: the request, where it is, what is left to try. */
struct etcd_call {
	struct etcd *e;
	struct etcd_req *req;  /* the caller's */
	struct etcd_req *auth; /* authenticating first, or NULL */
	etcd_done_fn done;
	void *arg;
	size_t ep_index; /* the endpoint the request goes to */
	size_t tries;    /* endpoints tried for the request now sent */
	int reauthed;    /* a token was renewed for this call */
	int fresh_retry; /* a reused connection failed: one fresh try */
	int reused;      /* the connection had carried a call before */
	int http_error;  /* evhttp's reason, from the error callback */
	struct etcd_conn *conn;
	struct evhttp_request *hr;
	struct event *timer;
	struct etcd_reply **steal; /* etcd_call_wait's: takes the reply */
	struct etcd_call *next, *prev;
};

static void call_send(struct etcd_call *k);

/* --- TLS context and endpoints --- */

static int
ctx_new(struct etcd *e, const struct etcd_config *cfg, struct cf_error *err)
{
	if ((e->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	SSL_CTX_set_min_proto_version(e->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(e->ctx, SSL_VERIFY_PEER, NULL);
	if (cfg->ca_file == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "etcd: no CA file to verify the members with");
	if (SSL_CTX_load_verify_locations(e->ctx, cfg->ca_file, NULL) != 1)
		return cf_errorf_ossl(
		    err, CF_E_USAGE, "etcd: CA file %s", cfg->ca_file);
	if (cfg->cert_file == NULL && cfg->key_file == NULL)
		return 0;
	if (cfg->cert_file == NULL || cfg->key_file == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "etcd: a client certificate needs its key, and a key its "
		    "certificate");
	if (SSL_CTX_use_certificate_chain_file(e->ctx, cfg->cert_file) != 1)
		return cf_errorf_ossl(err, CF_E_USAGE,
		    "etcd: client certificate %s", cfg->cert_file);
	if (SSL_CTX_use_PrivateKey_file(
		e->ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(e->ctx) != 1)
		return cf_errorf_ossl(
		    err, CF_E_USAGE, "etcd: client key %s", cfg->key_file);
	return 0;
}

/* "https://HOST:PORT" into ep; evhttp's URI parser does the work. */
static int
endpoint_init(struct etcd_endpoint *ep, const char *url, struct cf_error *err)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u ? evhttp_uri_get_host(u) : NULL;
	size_t n;

	if (u == NULL || scheme == NULL || strcmp(scheme, "https") != 0 ||
	    host == NULL || host[0] == '\0' || evhttp_uri_get_port(u) <= 0) {
		evhttp_uri_free(u);
		return cf_errorf(err, CF_E_USAGE,
		    "etcd: endpoint %s: not https://HOST:PORT", url);
	}
	ep->url = xstrdup(url);
	n = strlen(host);
	if (host[0] == '[' && n > 2) /* [::1] */
		ep->host = strndup(host + 1, n - 2);
	else
		ep->host = xstrdup(host);
	ep->port = evhttp_uri_get_port(u);
	evhttp_uri_free(u);
	return 0;
}

struct etcd *
etcd_new(struct event_base *base, const struct etcd_config *cfg,
    struct cf_error *err)
{
	struct etcd *e = xcalloc(1, sizeof(*e));
	size_t i;

	e->base = base;
	if (base == NULL) {
		if ((e->base = event_base_new()) == NULL)
			abort();
		e->own_base = 1;
	}
	e->timeout_ms =
	    cfg->timeout_ms > 0 ? cfg->timeout_ms : ETCD_DEFAULT_TIMEOUT_MS;
	e->max_reply =
	    cfg->max_reply > 0 ? cfg->max_reply : ETCD_DEFAULT_MAX_REPLY;
	e->watch_idle_s = cfg->watch_idle_s > 0 ? cfg->watch_idle_s : 3600;
	if (cfg->n_endpoints == 0 || cfg->n_endpoints > ETCD_MAX_ENDPOINTS) {
		cf_errorf(err, CF_E_USAGE, "etcd: from 1 to %d endpoints",
		    ETCD_MAX_ENDPOINTS);
		goto fail;
	}
	for (i = 0; i < cfg->n_endpoints; i++) {
		if (endpoint_init(&e->ep[i], cfg->endpoints[i], err) == -1)
			goto fail;
		e->n_ep++;
	}
	if (ctx_new(e, cfg, err) == -1)
		goto fail;
	if (cfg->user != NULL) {
		if (cfg->password == NULL) {
			cf_errorf(err, CF_E_USAGE,
			    "etcd: user %s without a password", cfg->user);
			goto fail;
		}
		e->user = xstrdup(cfg->user);
		e->password =
		    cf_secret_new(cfg->password->data, cfg->password->len);
	}
	return e;
fail:
	etcd_free(e);
	return NULL;
}

static void
call_free(struct etcd_call *k)
{
	struct etcd *e = k->e;

	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		e->calls = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	if (k->timer != NULL)
		event_free(k->timer);
	etcd_req_free(k->req);
	etcd_req_free(k->auth);
	free(k);
}

void
etcd_free(struct etcd *e)
{
	struct etcd_conn *c;
	size_t i;

	if (e == NULL)
		return;
	while (e->watches != NULL)
		etcd_watch_free(e->watches);
	while (e->calls != NULL) {
		struct etcd_call *k = e->calls;
		if (k->hr != NULL)
			evhttp_cancel_request(k->hr);
		if (k->conn != NULL)
			etcd_conn_free(k->conn);
		call_free(k);
	}
	while ((c = e->discarded) != NULL) { /* their events never run */
		e->discarded = c->next;
		etcd_conn_free(c);
	}
	for (i = 0; i < e->n_ep; i++) {
		while ((c = e->ep[i].idle) != NULL) {
			e->ep[i].idle = c->next;
			etcd_conn_free(c);
		}
		free(e->ep[i].url);
		free(e->ep[i].host);
	}
	SSL_CTX_free(e->ctx);
	free(e->user);
	cf_secret_free(e->password);
	cf_secret_free(e->token);
	if (e->own_base)
		event_base_free(e->base);
	free(e);
}

const char *
etcd_endpoint_get(const struct etcd *e)
{
	return e->ep[e->cur].url;
}

/* --- Authentication --- */

/* Keeps the token of an authenticate reply, and wipes the copy jansson
 * holds. */
static int
take_token(struct etcd_call *k, json_t *root, struct cf_error *err)
{
	json_t *t = json_object_get(root, "token");
	struct etcd *e = k->e;

	if (!json_is_string(t) || json_string_length(t) == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "etcd authenticate: %s: no token in the reply (is "
		    "authentication enabled?)",
		    e->ep[k->ep_index].url);
	cf_secret_free(e->token);
	e->token = cf_secret_new(json_string_value(t), json_string_length(t));
	OPENSSL_cleanse((char *)json_string_value(t), json_string_length(t));
	return 0;
}

/* --- Calls --- */

static struct etcd_req *
call_req(const struct etcd_call *k)
{
	return k->auth != NULL ? k->auth : k->req;
}

/* Ends the call: done with the reply or the error, then freed. */
static void
call_finish(
    struct etcd_call *k, struct etcd_reply *reply, const struct cf_error *err)
{
	if (k->steal != NULL && reply != NULL) {
		*k->steal = reply;
		reply = NULL;
	}
	k->done(reply, err, k->arg);
	etcd_reply_free(reply);
	call_free(k);
}

/* The request got no answer from its endpoint: the next one, if any is
 * left untried. */
static void
call_retry(struct etcd_call *k, const char *reason)
{
	struct etcd *e = k->e;
	struct cf_error err;

	if (k->reused && !k->fresh_retry) {
		/* a keep-alive connection the member had closed */
		k->fresh_retry = 1;
		call_send(k);
		return;
	}
	k->fresh_retry = 0;
	if (++k->tries >= e->n_ep) {
		cf_errorf(&err, CF_E_IO, "etcd %s: %s: %s%s", call_req(k)->op,
		    e->ep[k->ep_index].url, reason,
		    e->n_ep > 1 ? " (and no other endpoint answered)" : "");
		call_finish(k, NULL, &err);
		return;
	}
	k->ep_index = (k->ep_index + 1) % e->n_ep;
	e->cur = k->ep_index;
	call_send(k);
}

static void
call_error(enum evhttp_request_error what, void *arg)
{
	struct etcd_call *k = arg;

	k->http_error = (int)what;
}

/* What came back: the token, the reply, or etcd's error. */
static void
call_answer(struct etcd_call *k, json_t *root, int status)
{
	struct etcd *e = k->e;
	struct etcd_req *r = call_req(k);
	const char *url = e->ep[k->ep_index].url;
	struct etcd_reply *reply = NULL;
	struct cf_error err;
	int grpc;

	if (etcd_reply_error(root, status, r->op, url, &grpc, &err) == -1) {
		if (grpc == 16 && e->user != NULL && !k->reauthed &&
		    !r->is_auth) {
			/* the token expired: a new one, and once more */
			cf_secret_free(e->token);
			e->token = NULL;
			k->reauthed = 1;
			k->auth = etcd_req_auth(e);
			call_send(k);
		} else if (grpc == 14) /* Unavailable: no leader here */
			call_retry(k, etcd_error_reason(&err));
		else
			call_finish(k, NULL, &err);
		return;
	}
	e->cur = k->ep_index;
	k->tries = 0;
	if (r->is_auth && take_token(k, root, &err) == -1) {
		call_finish(k, NULL, &err);
		return;
	}
	if (k->auth != NULL) { /* authenticated: now the call itself */
		etcd_req_free(k->auth);
		k->auth = NULL;
		call_send(k);
		return;
	}
	reply = xcalloc(1, sizeof(*reply));
	if (etcd_reply_parse(root, r, reply, &err) == -1) {
		etcd_reply_free(reply);
		call_finish(k, NULL, &err);
		return;
	}
	call_finish(k, reply, NULL);
}

static void
call_done(struct evhttp_request *hr, void *arg)
{
	struct etcd_call *k = arg;
	struct etcd *e = k->e;
	struct etcd_conn *c = k->conn;
	struct evbuffer *in;
	struct cf_error err;
	json_error_t jerr;
	json_t *root;
	int status = hr != NULL ? evhttp_request_get_response_code(hr) : 0;

	k->hr = NULL;
	k->conn = NULL;
	evtimer_del(k->timer);
	if (status == 0) {
		const char *tls = etcd_conn_tls_reason(c);
		etcd_conn_discard(e, c);
		if (k->http_error == EVREQ_HTTP_DATA_TOO_LONG) {
			cf_errorf(&err, CF_E_LIMIT,
			    "etcd %s: %s: the reply exceeds %zu bytes",
			    call_req(k)->op, e->ep[k->ep_index].url,
			    e->max_reply);
			call_finish(k, NULL, &err);
		} else
			call_retry(k, tls != NULL ? tls : "connection failed");
		return;
	}
	in = evhttp_request_get_input_buffer(hr);
	root = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), 0, &jerr);
	if (k->auth != NULL) /* the token is in there */
		OPENSSL_cleanse(
		    evbuffer_pullup(in, -1), evbuffer_get_length(in));
	etcd_conn_give_back(e, c);
	if (root == NULL) {
		cf_errorf(&err, CF_E_PARSE,
		    "etcd %s: %s: the reply (HTTP %d) is not JSON: %s",
		    call_req(k)->op, e->ep[k->ep_index].url, status, jerr.text);
		call_finish(k, NULL, &err);
		return;
	}
	call_answer(k, root, status);
	json_decref(root);
}

/* No answer in time, or the request could not even be sent. */
static void
call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_call *k = arg;
	struct evhttp_request *hr = k->hr;
	char reason[64];

	(void)fd;
	(void)what;
	k->hr = NULL;
	if (hr != NULL)
		evhttp_cancel_request(hr);
	etcd_conn_discard(k->e, k->conn);
	k->conn = NULL;
	if (hr == NULL) {
		call_retry(k, "cannot connect");
		return;
	}
	snprintf(
	    reason, sizeof(reason), "no answer within %d ms", k->e->timeout_ms);
	k->reused = 0; /* a silent member is not a stale connection */
	call_retry(k, reason);
}

/* Sends the call's request (the authentication first, if pending) to its
 * endpoint, with the timer armed. */
static void
call_send(struct etcd_call *k)
{
	struct etcd *e = k->e;
	struct etcd_req *r = call_req(k);
	struct etcd_endpoint *ep = &e->ep[k->ep_index];
	struct timeval tv = {e->timeout_ms / 1000, e->timeout_ms % 1000 * 1000};
	struct evbuffer *out;
	struct evhttp_request *hr;
	char *s;

	k->http_error = 0;
	k->conn = etcd_conn_take(e, ep, &k->reused);
	evhttp_connection_set_max_body_size(
	    k->conn->evcon, (ev_ssize_t)e->max_reply);
	hr = evhttp_request_new(call_done, k);
	evhttp_request_set_error_cb(hr, call_error);
	etcd_add_headers(e, hr, ep, !r->is_auth);
	out = evhttp_request_get_output_buffer(hr);
	if (r->secret_body != NULL) /* by reference: no unwiped copy */
		evbuffer_add_reference(
		    out, r->secret_body->data, r->secret_body->len, NULL, NULL);
	else {
		s = json_dumps(r->body, JSON_COMPACT);
		evbuffer_add(out, s, strlen(s));
		free(s);
	}
	if (evhttp_make_request(k->conn->evcon, hr, EVHTTP_REQ_POST, r->path) ==
	    -1) {
		evhttp_request_free(hr);
		tv.tv_sec = 0;
		tv.tv_usec = 0;
	} else {
		k->hr = hr;
		if (!k->reused)
			etcd_conn_nodelay(k->conn);
	}
	evtimer_add(k->timer, &tv);
}

int
etcd_call(struct etcd *e, struct etcd_req *req, etcd_done_fn done, void *arg,
    struct cf_error *err)
{
	struct etcd_call *k = xcalloc(1, sizeof(*k));

	(void)err;
	k->e = e;
	k->req = req;
	k->done = done;
	k->arg = arg;
	k->ep_index = e->cur;
	if ((k->timer = evtimer_new(e->base, call_timeout, k)) == NULL)
		abort();
	if (e->user != NULL && e->token == NULL && !req->is_auth)
		k->auth = etcd_req_auth(e);
	k->next = e->calls;
	if (e->calls != NULL)
		e->calls->prev = k;
	e->calls = k;
	call_send(k);
	return 0;
}

struct waiter {
	int done;
	struct cf_error err;
};

static void
wait_done(const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct waiter *w = arg;

	(void)reply; /* taken through the call's steal */
	w->done = 1;
	if (err != NULL)
		w->err = *err;
}

int
etcd_call_wait(struct etcd *e, struct etcd_req *req, struct etcd_reply **reply,
    struct cf_error *err)
{
	struct waiter w = {0};
	const char *op = req->op;

	*reply = NULL;
	if (!e->own_base) {
		etcd_req_free(req);
		return cf_errorf(err, CF_E_INTERNAL,
		    "etcd %s: a client on a caller's event loop cannot wait",
		    op);
	}
	cf_error_clear(&w.err);
	etcd_call(e, req, wait_done, &w, err);
	e->calls->steal = reply; /* the call just made heads the list */
	while (!w.done)
		if (event_base_loop(e->base, EVLOOP_ONCE) == -1)
			abort();
	if (*reply == NULL) {
		*err = w.err;
		return -1;
	}
	return 0;
}
