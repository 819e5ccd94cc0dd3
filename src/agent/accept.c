/*
 * accept.c - keeping the listeners within the process's file descriptors.
 *
 * Every connection costs a descriptor, and so do the store, the log and
 * each deploy.  max_connections (by default what RLIMIT_NOFILE leaves
 * after a reserve for those) bounds the connections conn.c admits; the
 * connections accepted but not yet admitted get a little slack beyond
 * it, and past that the HTTPS listener stops accepting until some close.
 *
 * Should accept() fail all the same (EMFILE, ENFILE, ENOBUFS, ENOMEM:
 * descriptors used elsewhere, a limit lowered under us), libevent would
 * call it again at once, for ever, logging each failure: instead the
 * listener pauses for ACCEPT_PAUSE_MS, idle connections are closed to
 * free descriptors, the cap comes down to what was open when it failed
 * (so that admission, not accept(), keeps to the real limit from then
 * on; SIGHUP works it out again), and the condition is logged once a
 * minute.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/listener.h>

#include "server.h"

#define ACCEPT_PAUSE_MS 100
/* Descriptors kept for the store, the log, listeners and deploys. */
#define FD_RESERVE 64
#define FD_RESERVE_PER_WORKER 8
/* Connections accepted and waiting for admission, beyond the cap. */
#define ADMIT_SLACK 32
/* Idle connections closed when accept() runs out of descriptors. */
#define EMFILE_EVICT 16

/* The listeners' callbacks get evhttp's argument, not ours: the one
 * server of this process. */
static struct server *accept_srv;

void
server_note(struct server *srv, enum server_note kind, const char *fmt, ...)
{
	time_t now = time(NULL);
	char msg[512];
	va_list ap;

	if (srv->note_last[kind] != 0 &&
	    now - srv->note_last[kind] < SERVER_NOTE_INTERVAL) {
		srv->note_quiet[kind]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (srv->note_quiet[kind] > 0)
		fprintf(stderr,
		    "certfleetd: %s: %s (%lu more times in the last %d s)\n",
		    srv->cfg->name, msg, srv->note_quiet[kind],
		    SERVER_NOTE_INTERVAL);
	else
		fprintf(stderr, "certfleetd: %s: %s\n", srv->cfg->name, msg);
	srv->note_last[kind] = now;
	srv->note_quiet[kind] = 0;
}

static struct evconnlistener *
https_listener(struct server *srv)
{
	return srv->https_sock != NULL
		   ? evhttp_bound_socket_get_listener(srv->https_sock)
		   : NULL;
}

/* Accepts again unless a pause is still on. */
static void
accept_resume(struct server *srv)
{
	struct evconnlistener *lev = https_listener(srv);

	if (lev != NULL && !srv->accept_full &&
	    !evtimer_pending(srv->ev_accept, NULL))
		evconnlistener_enable(lev);
}

static void
on_accept_pause_end(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct evconnlistener *lev;

	(void)fd;
	(void)what;
	accept_resume(srv);
	if (srv->local_sock != NULL &&
	    (lev = evhttp_bound_socket_get_listener(srv->local_sock)) != NULL)
		evconnlistener_enable(lev);
	if (srv->metrics_sock != NULL &&
	    (lev = evhttp_bound_socket_get_listener(srv->metrics_sock)) != NULL)
		evconnlistener_enable(lev);
}

/*
 * libevent's listener error callback: accept() failed.  Running out of
 * descriptors or memory pauses the listener (and closes idle
 * connections); anything else (a peer that reset before accept) is the
 * peer's business.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct server *srv = accept_srv;
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();
	size_t closed;

	(void)arg;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	evconnlistener_disable(lev);
	evtimer_add(srv->ev_accept, &tv);
	closed = conn_evict_idle(srv, EMFILE_EVICT);
	if (srv->nconns > ADMIT_SLACK + EMFILE_EVICT + 16 &&
	    srv->nconns - ADMIT_SLACK - EMFILE_EVICT < srv->conn_max)
		srv->conn_max = srv->nconns - ADMIT_SLACK - EMFILE_EVICT;
	server_note(srv, NOTE_ACCEPT,
	    "accept: %s: pausing %d ms, closed %zu idle connections, "
	    "max_connections now %zu (%zu open; raise LimitNOFILE or lower "
	    "max_connections)",
	    strerror(e), ACCEPT_PAUSE_MS, closed, srv->conn_max, srv->nconns);
}

/* max_connections, or what the descriptor limit leaves; never more. */
static size_t
conn_limit(struct server *srv)
{
	struct rlimit rl;
	long reserve = FD_RESERVE + FD_RESERVE_PER_WORKER * srv->cfg->workers;
	long room = 1024 - reserve, want = srv->cfg->max_connections;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		room = (long)rl.rlim_cur - reserve - ADMIT_SLACK;
	else if (rl.rlim_cur == RLIM_INFINITY)
		room = AGENT_CONNS_MAX;
	if (room < 16)
		room = 16;
	if (want > room) {
		fprintf(stderr,
		    "certfleetd: %s: max_connections %ld: the descriptor limit "
		    "leaves room for %ld; using %ld\n",
		    srv->cfg->name, want, room, room);
		want = room;
	}
	return (size_t)(want > 0 ? want : room);
}

void
accept_limits(struct server *srv)
{
	srv->conn_max = conn_limit(srv);
}

void
accept_setup(struct server *srv)
{
	struct evconnlistener *lev;

	if ((srv->ev_accept =
		    evtimer_new(srv->base, on_accept_pause_end, srv)) == NULL)
		abort();
	accept_srv = srv;
	accept_limits(srv);
	if ((lev = https_listener(srv)) != NULL)
		evconnlistener_set_error_cb(lev, on_accept_error);
	if (srv->local_sock != NULL &&
	    (lev = evhttp_bound_socket_get_listener(srv->local_sock)) != NULL)
		evconnlistener_set_error_cb(lev, on_accept_error);
	if (srv->metrics_sock != NULL &&
	    (lev = evhttp_bound_socket_get_listener(srv->metrics_sock)) != NULL)
		evconnlistener_set_error_cb(lev, on_accept_error);
}

void
accept_free(struct server *srv)
{
	if (srv->ev_accept != NULL)
		event_free(srv->ev_accept);
	srv->ev_accept = NULL;
	accept_srv = NULL;
}

void
accept_opened(struct server *srv)
{
	struct evconnlistener *lev = https_listener(srv);

	if (srv->nconns < srv->conn_max + ADMIT_SLACK || lev == NULL)
		return;
	srv->accept_full = 1;
	evconnlistener_disable(lev);
}

void
accept_closed(struct server *srv)
{
	if (!srv->accept_full || srv->nconns >= srv->conn_max + ADMIT_SLACK)
		return;
	srv->accept_full = 0;
	if (srv->ev_accept != NULL)
		accept_resume(srv);
}
