/*
 * etcd_int.h - what etcd.c (calls), etcd_conn.c (connections),
 * etcd_msg.c (request encoders and reply decoders) and etcd_watch.c (the
 * watch stream) share.  Not for
 * users of the client: they include etcd.h.
 */
#ifndef CF_ETCD_INT_H
#define CF_ETCD_INT_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "etcd.h"

struct evhttp_connection;
struct evhttp_request;
struct bufferevent;
struct event;

/* A request: the call's name for messages, its path and its JSON body.
 * The authentication request carries its body as a secret instead. */
struct etcd_req {
	const char *op;   /* "put", "range" ... */
	const char *path; /* "/v3/kv/put" ... */
	json_t *body;
	struct cf_secret *secret_body; /* authenticate only */
	int is_auth;
};

/* One TLS connection to an endpoint, used by one call at a time. */
struct etcd_conn {
	struct etcd *e;
	struct etcd_endpoint *ep;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	int dead;               /* closed or failed: never used again */
	struct etcd_conn *next; /* in the endpoint's idle list, or in
				 * the client's discarded list */
	struct event *free_ev;  /* discarded: frees it from the loop */
};

#define ETCD_IDLE_MAX 4 /* idle keep-alive connections kept per endpoint */

struct etcd_endpoint {
	char *url;  /* as configured, for messages */
	char *host; /* from the URL, brackets taken off */
	int port;
	struct etcd_conn *idle;
	size_t n_idle;
};

struct etcd_call;

struct etcd {
	struct event_base *base;
	int own_base;
	SSL_CTX *ctx;
	struct etcd_endpoint ep[ETCD_MAX_ENDPOINTS];
	size_t n_ep;
	size_t cur; /* the endpoint calls go to now */
	char *user;
	struct cf_secret *password;
	struct cf_secret *token; /* NULL until authenticated */
	int timeout_ms;
	size_t max_reply;
	int watch_idle_s;
	struct etcd_call *calls;     /* in flight, for etcd_free */
	struct etcd_watch *watches;  /* open, for etcd_free */
	struct etcd_conn *discarded; /* to free from the loop */
};

/* A new connection to ep on e's base; aborts when out of memory. */
struct etcd_conn *etcd_conn_new(struct etcd *e, struct etcd_endpoint *ep);
/* Sends each write at once (TCP_NODELAY), once c is connecting. */
void etcd_conn_nodelay(struct etcd_conn *c);
/* An idle connection to ep, or a new one; *reused says which. */
struct etcd_conn *etcd_conn_take(
    struct etcd *e, struct etcd_endpoint *ep, int *reused);
/* Keeps c for the next call to its endpoint, or discards it (closed, or
 * enough are idle). */
void etcd_conn_give_back(struct etcd *e, struct etcd_conn *c);
/* Frees c now: never from inside its own evhttp callbacks.  NULL-safe. */
void etcd_conn_free(struct etcd_conn *c);
/* Frees c from the event loop soon (never inside evhttp's callbacks). */
void etcd_conn_discard(struct etcd *e, struct etcd_conn *c);
/* The OpenSSL reason a connection's TLS failed with, or NULL. */
const char *etcd_conn_tls_reason(struct etcd_conn *c);
/* Adds Host, Content-Type and (when authenticated) Authorization. */
void etcd_add_headers(struct etcd *e, struct evhttp_request *hr,
    const struct etcd_endpoint *ep, int with_token);
/* The authentication request for e's user (new). */
struct etcd_req *etcd_req_auth(const struct etcd *e);

/* A new request with an empty body. */
struct etcd_req *etcd_req_new(const char *op, const char *path);
/* Sets body[name] to the Base64 of len bytes of p. */
void etcd_json_b64(json_t *o, const char *name, const void *p, size_t len);
/* Sets body[name] to n as a decimal string (etcd's int64 form). */
void etcd_json_i64(json_t *o, const char *name, int64_t n);
/* The end of the range of keys that start with prefix (new, *len set):
 * the prefix with its last byte below 0xff incremented; "\0" (every key)
 * when there is none. */
unsigned char *etcd_prefix_end(const void *prefix, size_t len, size_t *out);

/* o[name] as an int64: a decimal string or an integer; missing = 0.
 * -1 when it is something else. */
int etcd_get_i64(const json_t *o, const char *name, int64_t *out);
/* Reads a kv object; kv zeroed first; CF_E_PARSE on a bad field. */
int etcd_kv_parse(const json_t *o, struct etcd_kv *kv, struct cf_error *err);
void etcd_kv_clear(struct etcd_kv *kv);
/* Fills r (zeroed first) from a reply of req's kind. */
int etcd_reply_parse(const json_t *root, const struct etcd_req *req,
    struct etcd_reply *r, struct cf_error *err);
/* The reply's gRPC error as a cf_error ("etcd OP: URL: message"), or 0
 * when root is no error; *grpc_code set (0 when none). */
int etcd_reply_error(const json_t *root, int http_status, const char *op,
    const char *url, int *grpc_code, struct cf_error *err);
/* The reason in an error etcd_reply_error made, without its "etcd OP:
 * URL: " (lent, inside err). */
const char *etcd_error_reason(const struct cf_error *err);

#endif
