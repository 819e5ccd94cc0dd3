/*
 * server.h - the running agent (certfleetd run): one event loop that
 * owns every connection, a pool of workers that hand the store work to
 * the store process (storeproc.h).
 *
 *   server.c   start, signals, reload, drain and stop
 *   conn.c     one TLS connection: handshake refusals, slow-client cut-off
 *   request.c  one request: who asks, the job for the pool, the reply
 *   errpage.c  evhttp's own error replies, made JSON
 *   accept.c   connections within the descriptor limit; accept errors
 *   audit.c    refusals coalesced, audit retention
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
#include "storeproc.h"

/* docs/api.md: idle connections close after 60 s; a request (and the
 * TLS handshake before the first) must arrive whole within 30 s. */
#define SERVER_IDLE_TIMEOUT 60
#define SERVER_REQUEST_DEADLINE 30
/* On SIGTERM, replies in progress get this long to finish. */
#define SERVER_DRAIN_TIMEOUT 10

/* Conditions an attacker can repeat at will: logged once a minute. */
enum server_note { NOTE_CAP, NOTE_ACCEPT, NOTE_AUDIT, SERVER_NOTES };
#define SERVER_NOTE_INTERVAL 60

struct refusals;
struct registry;

/* Loop thread only, except where a field says otherwise. */
struct server {
	struct event_base *base;
	struct agent_config *cfg; /* SIGHUP replaces name and admin_ca */
	const char *cfg_path;
	int cfg_explicit;
	SSL_CTX *ssl;
	char fp[CF_FP_LEN + 1];     /* the agent's own */
	struct storeproc *store;    /* the store process (storeproc.h) */
	struct storeproc_chan *ctl; /* its channel for the loop thread */
	int failed;                 /* it ended unasked: exit 1 */
	int lock_fd;                /* the store's owner lock, for it */
	X509_STORE *admin_ca;       /* NULL when unset; jobs hold references */
	struct pool *pool;
	struct evhttp *https, *local, *metrics, *acme;
	struct evhttp_bound_socket *https_sock, *local_sock, *metrics_sock;
	struct evhttp_bound_socket *acme_sock;
	ino_t sock_ino;
	struct event *ev_term, *ev_int, *ev_hup, *ev_chld, *ev_drain;
	int draining;           /* SIGTERM: no new work, finish what runs */
	size_t writing;         /* replies handed to libevent, not yet sent */
	char bound[80];         /* HOST:PORT actually listened on */
	char metrics_bound[80]; /* the same, of metrics_listen */
	char acme_bound[80];    /* the same, of acme_listen */
	/* Connections (conn.c, accept.c). */
	struct conn *conn_head, *conn_tail; /* admitted, oldest first */
	size_t nconns;           /* HTTPS connections open, admitted or not */
	size_t nadmitted;        /* of which admitted */
	size_t conn_max;         /* max_connections, within the fd limit */
	int accept_full;         /* accept paused: too many connections */
	struct event *ev_accept; /* accept paused: EMFILE, resume */
	time_t note_last[SERVER_NOTES];
	unsigned long note_quiet[SERVER_NOTES]; /* not logged since */
	struct refusals *refusals;
	struct event *ev_audit;    /* refusals and retention, periodic */
	struct registry *registry; /* [registry]: its thread; NULL none */
};

/* Runs the agent until SIGTERM/SIGINT, holding the store's owner lock
 * lock_fd; returns the exit status. */
int server_run(struct agent_config *cfg, const char *cfg_path, int cfg_explicit,
    int lock_fd);

/* Ends the loop when draining and nothing is left to finish. */
void server_drain_check(struct server *srv);

/* Logs "certfleetd: NAME: <fmt>" unless kind was logged less than
 * SERVER_NOTE_INTERVAL seconds ago; then counts it, and the next message
 * says how many were not logged. */
void server_note(struct server *srv, enum server_note kind, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* accept.c */
/* Limits and the listeners' error callbacks; after server_listen. */
void accept_setup(struct server *srv);
void accept_free(struct server *srv); /* the timer */
/* max_connections of srv->cfg, within the descriptor limit (SIGHUP). */
void accept_limits(struct server *srv);
/* A connection was made, or went away: pauses or resumes accepting. */
void accept_opened(struct server *srv);
void accept_closed(struct server *srv);

/* audit.c */
/* The coalescing table and its timer; refusal_free writes what is
 * pending. */
void refusals_setup(struct server *srv);
void refusals_free(struct server *srv);
/*
 * A refused attempt from host (an address, no port) by actor: audited at
 * once when it is the first from host and actor in the interval, else
 * counted and audited as one record when the interval ends.  Loop thread.
 */
void refusal_note(struct server *srv, const char *host, const char *actor,
    const char *outcome);

/* conn.c */
/* Closes up to n idle connections, oldest first; how many it closed. */
size_t conn_evict_idle(struct server *srv, size_t n);
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
/* ... and for the plain-HTTP metrics listener (GET /metrics only). */
void request_serve_metrics(struct evhttp_request *req, void *arg);
/* ... and for the ACME responder (GET /.well-known/acme-challenge/T). */
void request_serve_acme(struct evhttp_request *req, void *arg);

#endif
