/*
 * server.h - the running agent (certfleetd run): one event loop that
 * owns every connection, a pool of workers that owns the store work.
 *
 *   server.c   start, signals, reload, drain and stop
 *   conn.c     one TLS connection: handshake refusals, slow-client cut-off
 *   request.c  one request: who asks, the job for the pool, the reply
 *   errpage.c  evhttp's own error replies, made JSON
 */
#ifndef CFD_SERVER_H
#define CFD_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "config.h"
#include "identity.h"
#include "pool.h"
#include "transfer.h"

/* docs/api.md: idle connections close after 60 s; a request (and the
 * TLS handshake before the first) must arrive whole within 30 s. */
#define SERVER_IDLE_TIMEOUT 60
#define SERVER_REQUEST_DEADLINE 30
/* On SIGTERM, replies in progress get this long to finish. */
#define SERVER_DRAIN_TIMEOUT 10

/* Loop thread only, except where a field says otherwise. */
struct server {
	struct event_base *base;
	struct agent_config *cfg; /* SIGHUP replaces name and admin_ca */
	const char *cfg_path;
	int cfg_explicit;
	SSL_CTX *ssl;
	char fp[CF_FP_LEN + 1]; /* the agent's own */
	/* Identity and peers for sealed transfers: fixed from the start,
	 * read by workers. */
	struct cf_transfer transfer;
	X509_STORE *admin_ca;   /* NULL when unset; jobs hold references */
	struct pool *pool;
	struct evhttp *https, *local;
	struct evhttp_bound_socket *https_sock, *local_sock;
	ino_t sock_ino;
	struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
	int draining;   /* SIGTERM: no new work, finish what runs */
	size_t writing; /* replies handed to libevent, not yet sent */
	char bound[80]; /* HOST:PORT actually listened on */
};

/* Runs the agent until SIGTERM/SIGINT; returns the exit status. */
int server_run(
    struct agent_config *cfg, const char *cfg_path, int cfg_explicit);

/* Ends the loop when draining and nothing is left to finish. */
void server_drain_check(struct server *srv);

/* conn.c */
/* Once per process, before the first connection. */
void conn_setup(void);
/* evhttp's bufferevent callback: a new TLS connection (arg: server). */
struct bufferevent *conn_new_bev(struct event_base *base, void *arg);
/* A whole request arrived on req's connection: stop its deadline. */
void conn_request_begin(struct evhttp_request *req);
/* A reply is handed to libevent: count it until it is sent. */
void conn_reply_begin(struct server *srv, struct evhttp_request *req);

/* errpage.c */
/* Makes evhttp's own HTML error pages on bev JSON errors. */
void errpage_watch(struct bufferevent *bev);

/* request.c */
/* evhttp's request callbacks for HTTPS and for the Unix socket. */
void request_serve_tls(struct evhttp_request *req, void *arg);
void request_serve_local(struct evhttp_request *req, void *arg);
/* Audits, on a worker, an attempt refused before any request. */
void request_audit(
    struct server *srv, const char *actor, const char *op, const char *outcome);

#endif
