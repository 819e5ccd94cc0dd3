/*
 * etcd_watch.c - a watch on a key prefix: one long POST /v3/watch whose
 * reply streams one JSON object per line ({"result":{...}}).  Lines are
 * read as chunks arrive (evhttp's chunked callback), parsed, and queued;
 * the caller's callback runs from an event of our own, never inside
 * evhttp's callbacks, so it may free the watch.  A stream that breaks is
 * dialled again on the next endpoint from the revision after the last
 * event seen; a compacted start revision or a refusal ends the watch.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "etcd_int.h"

#define REDIAL_MS 100 /* times the failures in a row before a redial */

struct etcd_watch {
	struct etcd *e;
	unsigned char *prefix;
	size_t prefix_len;
	unsigned char *end; /* range end; NULL: every key under prefix */
	size_t end_len;
	int64_t next_rev; /* where a new stream starts; 0: from now */
	etcd_watch_fn fn;
	void *arg;
	size_t ep_index;
	int failures; /* streams in a row that broke before being created */
	int created;  /* the current stream said so */
	int ended;    /* over: nothing more is dialled or read */
	int stop_stream;
	int in_cb;
	int freed;
	struct etcd_conn *conn;
	struct evhttp_request *hr;
	struct evbuffer *line; /* the partial line */
	json_t *queue;         /* messages parsed, not delivered yet */
	struct cf_error end_err;
	int has_end_err;
	struct event *timer; /* redial, or the deadline of "created" */
	struct event *deliver;
	struct etcd_auth_wait *auth;
	struct etcd_watch *next, *prev;
};

/* An authentication in flight for a watch; outlives the watch if need
 * be (the call's argument). */
struct etcd_auth_wait {
	struct etcd_watch *w;
};

static void dial(struct etcd_watch *w);

/* Stops the current stream, from outside its evhttp callbacks only. */
static void
stream_stop(struct etcd_watch *w)
{
	if (w->hr != NULL)
		evhttp_cancel_request(w->hr);
	w->hr = NULL;
	etcd_conn_free(w->conn);
	w->conn = NULL;
	evbuffer_drain(w->line, evbuffer_get_length(w->line));
}

/* Ends the watch with err (NULL: compacted, queued already). */
static void
watch_end(struct etcd_watch *w, const struct cf_error *err)
{
	if (w->ended)
		return;
	w->ended = 1;
	w->stop_stream = 1;
	if (err != NULL) {
		w->end_err = *err;
		w->has_end_err = 1;
	}
	event_active(w->deliver, EV_WRITE, 0);
}

static void
real_free(struct etcd_watch *w)
{
	struct etcd *e = w->e;

	stream_stop(w);
	if (w->auth != NULL)
		w->auth->w = NULL;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		e->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	event_free(w->timer);
	event_free(w->deliver);
	evbuffer_free(w->line);
	json_decref(w->queue);
	free(w->prefix);
	free(w->end);
	free(w);
}

void
etcd_watch_free(struct etcd_watch *w)
{
	if (w == NULL)
		return;
	if (w->in_cb) {
		w->freed = 1; /* deliver frees it when the callback returns */
		return;
	}
	real_free(w);
}

int64_t
etcd_watch_next_revision(const struct etcd_watch *w)
{
	return w->next_rev;
}

/* The stream broke, or never came up: the next endpoint, a little later;
 * the end when every endpoint failed twice in a row. */
static void
failover(struct etcd_watch *w, const char *reason)
{
	struct etcd *e = w->e;
	struct timeval tv;
	struct cf_error err;

	if (w->ended)
		return;
	if (w->created)
		w->failures = 0;
	w->created = 0;
	if (++w->failures >= 2 * (int)e->n_ep) {
		cf_errorf(&err, CF_E_IO, "etcd watch: %s: %s%s",
		    e->ep[w->ep_index].url, reason,
		    e->n_ep > 1 ? " (and no other endpoint answered)" : "");
		watch_end(w, &err);
		return;
	}
	w->ep_index = (w->ep_index + 1) % e->n_ep;
	tv.tv_sec = 0;
	tv.tv_usec = REDIAL_MS * 1000 * w->failures;
	evtimer_add(w->timer, &tv);
}

/* One stream message's result: progress of next_rev, the end of the
 * watch, or a message for the caller. */
static void
take_result(struct etcd_watch *w, json_t *root, json_t *res)
{
	const json_t *events = json_object_get(res, "events");
	int64_t rev = 0, compact = 0, last = 0;
	const char *reason;
	struct cf_error err;

	(void)etcd_get_i64(json_object_get(res, "header"), "revision", &rev);
	(void)etcd_get_i64(res, "compact_revision", &compact);
	if (json_is_true(json_object_get(res, "canceled"))) {
		if (compact > 0) {
			json_array_append(w->queue, root);
			watch_end(w, NULL);
			return;
		}
		reason =
		    json_string_value(json_object_get(res, "cancel_reason"));
		cf_errorf(&err, CF_E_IO, "etcd watch: %s: canceled: %s",
		    w->e->ep[w->ep_index].url, reason ? reason : "no reason");
		if (reason != NULL &&
		    strstr(reason, "PermissionDenied") != NULL)
			err.code = CF_E_DENIED;
		watch_end(w, &err);
		return;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		w->created = 1;
		evtimer_del(w->timer);
		if (w->next_rev == 0)
			w->next_rev = rev + 1;
	}
	if (json_array_size(events) > 0) {
		const json_t *ev =
		    json_array_get(events, json_array_size(events) - 1);
		(void)etcd_get_i64(
		    json_object_get(ev, "kv"), "mod_revision", &last);
		if (last + 1 > w->next_rev)
			w->next_rev = last + 1;
	} else if (!json_is_true(json_object_get(res, "created")) && rev > 0 &&
		   rev + 1 > w->next_rev)
		w->next_rev = rev + 1; /* a progress notification */
	json_array_append(w->queue, root);
	event_active(w->deliver, EV_WRITE, 0);
}

/* One line of the stream. */
static void
take_line(struct etcd_watch *w, const char *line, size_t len)
{
	struct etcd *e = w->e;
	struct cf_error err;
	json_error_t jerr;
	json_t *root, *res;
	int grpc;

	if ((root = json_loadb(line, len, 0, &jerr)) == NULL) {
		cf_errorf(&err, CF_E_PARSE, "etcd watch: %s: not JSON: %s",
		    e->ep[w->ep_index].url, jerr.text);
		watch_end(w, &err);
		return;
	}
	res = json_object_get(root, "result");
	if (!json_is_object(res) &&
	    etcd_reply_error(
		root, 0, "watch", e->ep[w->ep_index].url, &grpc, &err) == -1) {
		w->stop_stream = 1;
		event_active(w->deliver, EV_WRITE, 0);
		if (grpc == 16 && e->user != NULL) {
			cf_secret_free(e->token); /* expired: a new one */
			e->token = NULL;
			failover(w, etcd_error_reason(&err));
		} else if (grpc == 14)
			failover(w, etcd_error_reason(&err));
		else
			watch_end(w, &err);
	} else if (json_is_object(res))
		take_result(w, root, res);
	json_decref(root);
}

static void
on_chunk(struct evhttp_request *hr, void *arg)
{
	struct etcd_watch *w = arg;
	struct cf_error err;
	char *line;
	size_t n;

	if (w->ended || w->stop_stream)
		return; /* evhttp drains what is left */
	evbuffer_add_buffer(w->line, evhttp_request_get_input_buffer(hr));
	while (!w->ended && !w->stop_stream &&
	       (line = evbuffer_readln(w->line, &n, EVBUFFER_EOL_LF)) != NULL) {
		take_line(w, line, n);
		free(line);
	}
	if (evbuffer_get_length(w->line) > w->e->max_reply) {
		cf_errorf(&err, CF_E_LIMIT,
		    "etcd watch: %s: a message exceeds %zu bytes",
		    w->e->ep[w->ep_index].url, w->e->max_reply);
		watch_end(w, &err);
	}
}

static void
on_error(enum evhttp_request_error what, void *arg)
{
	(void)what;
	(void)arg;
}

/* The stream ended: an error reply, a member that went away, or etcd
 * closing it. */
static void
on_done(struct evhttp_request *hr, void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = evbuffer_get_length(w->line);
	const char *tls =
	    w->conn != NULL ? etcd_conn_tls_reason(w->conn) : NULL;

	if (n > 0 && !w->ended && !w->stop_stream) /* an error reply */
		take_line(w, (const char *)evbuffer_pullup(w->line, -1), n);
	(void)hr;
	w->hr = NULL;
	etcd_conn_discard(w->e, w->conn);
	w->conn = NULL;
	evbuffer_drain(w->line, evbuffer_get_length(w->line));
	if (w->stop_stream) /* already handled by the line */
		return;
	failover(w, tls != NULL ? tls : "the stream broke");
}

/* One queued message, decoded, to the caller. */
static void
deliver_one(struct etcd_watch *w, json_t *root)
{
	const json_t *res = json_object_get(root, "result"), *ev;
	struct etcd_event *events = NULL;
	struct etcd_watch_msg m;
	struct cf_error err;
	const char *type;
	size_t i, n = 0;

	memset(&m, 0, sizeof(m));
	(void)etcd_get_i64(
	    json_object_get(res, "header"), "revision", &m.revision);
	(void)etcd_get_i64(res, "compact_revision", &m.compact_revision);
	m.created = json_is_true(json_object_get(res, "created"));
	ev = json_object_get(res, "events");
	events = xcalloc(json_array_size(ev) + 1, sizeof(*events));
	for (i = 0; i < json_array_size(ev); i++) {
		const json_t *one = json_array_get(ev, i);
		type = json_string_value(json_object_get(one, "type"));
		events[n].type = type != NULL && strcmp(type, "DELETE") == 0
				     ? ETCD_EV_DELETE
				     : ETCD_EV_PUT;
		if (etcd_kv_parse(json_object_get(one, "kv"), &events[n].kv,
			&err) == -1) {
			m.err = &err;
			break;
		}
		n++;
	}
	m.events = events;
	m.n_events = n;
	if (m.err != NULL) { /* a bad event ends the watch */
		m.events = NULL;
		m.n_events = 0;
		w->ended = 1;
		w->stop_stream = 1;
		event_active(w->deliver, EV_WRITE, 0);
	}
	w->fn(&m, w->arg);
	for (i = 0; i < n; i++)
		etcd_kv_clear(&events[i].kv);
	free(events);
}

/* Runs the caller's callback for each queued message, then the end. */
static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_watch *w = arg;
	struct etcd_watch_msg m;
	json_t *root;

	(void)fd;
	(void)what;
	if (w->stop_stream) {
		stream_stop(w);
		w->stop_stream = 0;
		if (!w->ended && !evtimer_pending(w->timer, NULL))
			failover(w, "the stream ended");
	}
	while (json_array_size(w->queue) > 0) {
		root = json_incref(json_array_get(w->queue, 0));
		json_array_remove(w->queue, 0);
		w->in_cb = 1;
		deliver_one(w, root);
		w->in_cb = 0;
		json_decref(root);
		if (w->freed) {
			real_free(w);
			return;
		}
	}
	if (w->has_end_err) {
		memset(&m, 0, sizeof(m));
		m.err = &w->end_err;
		w->has_end_err = 0;
		w->in_cb = 1;
		w->fn(&m, w->arg);
		w->in_cb = 0;
		if (w->freed)
			real_free(w);
	}
}

/* The redial timer, or no "created" in time on the current stream. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_watch *w = arg;
	char reason[64];

	(void)fd;
	(void)what;
	if (w->ended)
		return;
	if (w->hr == NULL) {
		dial(w);
		return;
	}
	snprintf(
	    reason, sizeof(reason), "no answer within %d ms", w->e->timeout_ms);
	stream_stop(w);
	failover(w, reason);
}

static void
auth_done(const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct etcd_auth_wait *a = arg;
	struct etcd_watch *w = a->w;

	(void)reply;
	free(a);
	if (w == NULL) /* freed meanwhile */
		return;
	w->auth = NULL;
	if (err == NULL)
		dial(w);
	else if (err->code == CF_E_IO)
		failover(w, err->msg);
	else
		watch_end(w, err);
}

/* A new stream from next_rev on the watch's endpoint (after getting a
 * token when the client has a user and none). */
static void
dial(struct etcd_watch *w)
{
	struct etcd *e = w->e;
	struct etcd_endpoint *ep = &e->ep[w->ep_index];
	struct timeval tv = {e->timeout_ms / 1000, e->timeout_ms % 1000 * 1000};
	json_t *body = json_object(), *create = json_object();
	unsigned char *end;
	size_t end_len;
	char *s;

	stream_stop(w);
	w->stop_stream = 0;
	w->created = 0;
	if (e->user != NULL && e->token == NULL) {
		w->auth = xcalloc(1, sizeof(*w->auth));
		w->auth->w = w;
		e->cur = w->ep_index;
		etcd_call(e, etcd_req_auth(e), auth_done, w->auth, NULL);
		json_decref(body);
		json_decref(create);
		return;
	}
	etcd_json_b64(create, "key", w->prefix, w->prefix_len);
	if (w->end != NULL)
		etcd_json_b64(create, "range_end", w->end, w->end_len);
	else {
		end = etcd_prefix_end(w->prefix, w->prefix_len, &end_len);
		etcd_json_b64(create, "range_end", end, end_len);
		free(end);
	}
	if (w->next_rev > 0)
		etcd_json_i64(create, "start_revision", w->next_rev);
	json_object_set_new(create, "progress_notify", json_true());
	json_object_set_new(body, "create_request", create);
	w->conn = etcd_conn_new(e, ep);
	evhttp_connection_set_timeout(w->conn->evcon, e->watch_idle_s);
	w->hr = evhttp_request_new(on_done, w);
	evhttp_request_set_chunked_cb(w->hr, on_chunk);
	evhttp_request_set_error_cb(w->hr, on_error);
	etcd_add_headers(e, w->hr, ep, 1);
	s = json_dumps(body, JSON_COMPACT);
	evbuffer_add(evhttp_request_get_output_buffer(w->hr), s, strlen(s));
	free(s);
	json_decref(body);
	if (evhttp_make_request(
		w->conn->evcon, w->hr, EVHTTP_REQ_POST, "/v3/watch") == -1) {
		evhttp_request_free(w->hr);
		w->hr = NULL;
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		failover(w, "cannot connect");
		return;
	}
	etcd_conn_nodelay(w->conn);
	evtimer_add(w->timer, &tv); /* until "created" */
}

/* A watch of the keys from key on (the stream not dialled yet). */
static struct etcd_watch *
watch_alloc(struct etcd *e, const void *key, size_t key_len,
    int64_t start_revision, etcd_watch_fn fn, void *arg)
{
	struct etcd_watch *w = xcalloc(1, sizeof(*w));

	w->e = e;
	w->prefix = xmalloc(key_len + 1);
	memcpy(w->prefix, key, key_len);
	w->prefix_len = key_len;
	w->next_rev = start_revision;
	w->fn = fn;
	w->arg = arg;
	w->ep_index = e->cur;
	w->line = evbuffer_new();
	w->queue = json_array();
	if (w->line == NULL ||
	    (w->timer = evtimer_new(e->base, on_timer, w)) == NULL ||
	    (w->deliver = event_new(e->base, -1, 0, deliver, w)) == NULL)
		abort();
	w->next = e->watches;
	if (e->watches != NULL)
		e->watches->prev = w;
	e->watches = w;
	return w;
}

struct etcd_watch *
etcd_watch_new(struct etcd *e, const void *prefix, size_t prefix_len,
    int64_t start_revision, etcd_watch_fn fn, void *arg, struct cf_error *err)
{
	struct etcd_watch *w =
	    watch_alloc(e, prefix, prefix_len, start_revision, fn, arg);

	(void)err;
	dial(w);
	return w;
}

struct etcd_watch *
etcd_watch_new_range(struct etcd *e, const void *from, size_t from_len,
    const void *to, size_t to_len, int64_t start_revision, etcd_watch_fn fn,
    void *arg, struct cf_error *err)
{
	struct etcd_watch *w =
	    watch_alloc(e, from, from_len, start_revision, fn, arg);

	/* etcd's "\0" as range end: every key from from on */
	w->end = xcalloc(1, to_len + 1);
	memcpy(w->end, to_len > 0 ? to : "", to_len);
	w->end_len = to_len > 0 ? to_len : 1;
	(void)err;
	dial(w);
	return w;
}
