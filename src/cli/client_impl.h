/*
 * client_impl.h - what the client (client.c) shares with its two
 * transports, TLS (client_tls.c) and the local agent's Unix socket
 * (client_unix.c).  Not for the commands: they use client.h.
 */
#ifndef CF_CLIENT_IMPL_H
#define CF_CLIENT_IMPL_H

#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "client.h"

#define MAX_ANSWER (256u * 1024 * 1024)
#define MAX_ANSWER_HEADERS (64u * 1024)

/* One request to one agent. */
struct call {
	struct client *c;
	const struct client_target *t;
	struct client_answer *ans;
	const char *method, *body;
	char *path;
	size_t len;
	struct evhttp_connection *evcon; /* TLS; owns bev */
	struct evhttp_request *req;      /* TLS, until answered */
	struct event *watchdog;          /* TLS: the connect timeout */
	struct bufferevent *bev;         /* TLS or the Unix socket */
	int timed_out, done;
	/* client_keep_alive: pinned (answered over a checked handshake),
	 * reused (sent on an earlier call's connection), closed (by the
	 * agent, as evhttp saw), retried (once, on a new connection). */
	int pinned, reused, closed, retried;
	int launched; /* started by client_start or client_run */
	time_t started;
	/* Unix socket: what the head of the answer said, once read. */
	size_t head_len;
	long long content_length; /* -1: not given */
	int chunked;
	struct call *next;
};

struct client {
	struct event_base *base;
	SSL_CTX *ctx;           /* made for the first TLS call */
	struct cf_error id_err; /* why there is no admin identity */
	struct call *calls;
	size_t pending, total;
	int progress;   /* a line on stderr while several agents answer */
	int keep_alive; /* client_keep_alive */
	int timeout;    /* seconds an agent may stay silent */
	char actor[160];
};

/* Starts k on its transport; finish(k) once it has its answer. */
void client_tls_start(struct call *k);
void client_unix_start(struct call *k);

/* Marks k answered (or failed); the loop ends with the last one. */
void client_finish(struct call *k);

/*
 * Takes an answer's status and body into k->ans: a 2xx answer's JSON,
 * or any other's {"code", "message"} as the error.  Wipes the body.
 */
void client_take_answer(struct call *k, int status, struct evbuffer *body);

#endif
