/*
 * conn.c - one HTTPS connection: its TLS session, the deadline that cuts
 * off slow clients, and the audit of handshakes refused.
 *
 * evhttp owns the connection and its bufferevent and tells us nothing
 * about either's lifetime in libevent 2.1.  What we keep per connection
 * therefore hangs off the SSL object as ex_data, and OpenSSL frees it
 * when the bufferevent frees the SSL (BEV_OPT_CLOSE_ON_FREE).
 *
 * Timeouts: evhttp's own (evhttp_set_timeout) is an idle timeout per
 * read or write, which a client trickling one byte a minute never
 * trips.  So a deadline starts at the first byte of a request (at
 * accept, for the handshake and the first request) and stops when
 * evhttp hands us the whole request; when it fires, the socket is shut
 * down and evhttp, reading EOF, frees the connection.  Between requests
 * only the idle timeout applies.
 *
 * Admission: evhttp accepts, then asks us for the bufferevent before it
 * has given it the socket, so a connection is admitted on the next turn
 * of the loop, when its peer can be read.  One address may hold
 * max_connections_per_address connections, and all of them together
 * max_connections: past either, the oldest idle connection (from that
 * address, or from any) makes room, one that never began a handshake
 * first, then one with no request with us; when none is idle, the new one is
 * closed.  So idle connections cannot lock out a client that comes to
 * ask something, even from the same address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "server.h"
#include "tls.h"
#include "util.h"

struct conn {
	struct server *srv;
	struct conn *prev, *next; /* the server's admitted ones */
	struct bufferevent *bev;
	struct evbuffer_cb_entry *input_cb;
	struct event *deadline;
	struct event *admit;
	char host[INET6_ADDRSTRLEN]; /* the peer's address, once admitted */
	unsigned port;
	int admitted;
	int hello;   /* a ClientHello was read */
	int closing; /* we closed it (limits, deadline): no refusal */
	int busy;    /* a whole request is with us */
	int writing; /* its reply is not yet sent */
	int refused; /* a refused handshake was audited */
};

static int conn_idx = -1;

/* Takes c off the server's list of admitted connections. */
static void
conn_unlink(struct conn *c)
{
	struct server *srv = c->srv;

	if (!c->admitted)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conn_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		srv->conn_tail = c->prev;
	c->prev = c->next = NULL;
	c->admitted = 0;
	srv->nadmitted--;
}

/* Closes c's socket; evhttp reads EOF and frees the connection. */
static void
conn_close(struct conn *c)
{
	evutil_socket_t s = bufferevent_getfd(c->bev);

	conn_unlink(c);
	c->closing = 1;
	if (s >= 0)
		shutdown(s, SHUT_RDWR);
}

/* OpenSSL's ex_data destructor: the SSL, so the connection, is gone. */
static void
conn_free(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	if (c->input_cb != NULL)
		evbuffer_remove_cb_entry(
		    bufferevent_get_input(c->bev), c->input_cb);
	event_free(c->deadline);
	event_free(c->admit);
	conn_unlink(c);
	c->srv->nconns--;
	accept_closed(c->srv);
	if (c->writing) {
		c->srv->writing--;
		server_drain_check(c->srv);
	}
	free(c);
}

void
conn_setup(void)
{
	if (conn_idx == -1)
		conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

static void
deadline_arm(struct conn *c)
{
	struct timeval tv = {SERVER_REQUEST_DEADLINE, 0};

	evtimer_add(c->deadline, &tv);
}

/* Too slow: shut the socket; evhttp reads EOF and frees everything. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_close(arg);
}

/* Bytes of a request arrived: its deadline starts if it has not. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added > 0 && !c->busy &&
	    !evtimer_pending(c->deadline, NULL))
		deadline_arm(c);
}

/* The address of the peer of fd into host ("?" when unknown), its port
 * into *port. */
static void
peer_of(int fd, char host[INET6_ADDRSTRLEN], unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(host, INET6_ADDRSTRLEN, "?");
	*port = 0;
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(
			    AF_INET, &in->sin_addr, host, INET6_ADDRSTRLEN);
			*port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(
			    AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
			*port = ntohs(in6->sin6_port);
		}
	}
}

/* Connections admitted from host. */
static size_t
conns_from(const struct server *srv, const char *host)
{
	const struct conn *c;
	size_t n = 0;

	for (c = srv->conn_head; c != NULL; c = c->next)
		n += strcmp(c->host, host) == 0;
	return n;
}

/* The oldest idle connection (from host, unless NULL): one that never
 * began a handshake first; NULL when every one is busy. */
static struct conn *
oldest_idle(struct server *srv, const char *host)
{
	struct conn *c, *idle = NULL;

	for (c = srv->conn_head; c != NULL; c = c->next) {
		if (c->busy || c->writing ||
		    (host != NULL && strcmp(c->host, host) != 0))
			continue;
		if (!c->hello)
			return c;
		if (idle == NULL)
			idle = c;
	}
	return idle;
}

size_t
conn_evict_idle(struct server *srv, size_t n)
{
	struct conn *c;
	size_t done = 0;

	for (; done < n && (c = oldest_idle(srv, NULL)) != NULL; done++)
		conn_close(c);
	return done;
}

/* The loop's next turn after accept: the socket is set; admit c, or
 * close it when its address has too many or none can make room. */
static void
on_admit(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg, *old = NULL;
	struct server *srv = c->srv;
	evutil_socket_t s = bufferevent_getfd(c->bev);
	long per = srv->cfg->max_connections_per_address;

	(void)fd;
	(void)what;
	if (s < 0)
		return;
	peer_of(s, c->host, &c->port);
	if (conns_from(srv, c->host) >= (size_t)per &&
	    (old = oldest_idle(srv, c->host)) == NULL) {
		server_note(srv, NOTE_CAP,
		    "%ld connections from %s, none idle: closing new ones "
		    "(max_connections_per_address)",
		    per, c->host);
		conn_close(c);
		return;
	}
	if (old == NULL && srv->nadmitted >= srv->conn_max &&
	    (old = oldest_idle(srv, NULL)) == NULL) {
		server_note(srv, NOTE_CAP,
		    "%zu connections, none idle: closing new ones "
		    "(max_connections)",
		    srv->nadmitted);
		conn_close(c);
		return;
	}
	if (old != NULL) {
		server_note(srv, NOTE_CAP,
		    "connection limit reached (%zu open, %zu from %s): closing "
		    "the oldest idle ones to admit new ones "
		    "(max_connections, max_connections_per_address)",
		    srv->nadmitted, conns_from(srv, c->host), c->host);
		conn_close(old);
	}
	c->admitted = 1;
	c->prev = srv->conn_tail;
	if (srv->conn_tail != NULL)
		srv->conn_tail->next = c;
	else
		srv->conn_head = c;
	srv->conn_tail = c;
	srv->nadmitted++;
}

/*
 * OpenSSL's info callback: a fatal alert we send before the handshake
 * completes is a refused attempt (most often: no client certificate,
 * which TLS 1.3 answers with certificate_required and TLS 1.2 with
 * handshake_failure).  Audited once per connection, and not for a
 * connection that sent no ClientHello OpenSSL could read (a port scan,
 * an idle connection, bytes that are not TLS) or that we closed
 * ourselves: those are no attempt at the API.
 */
static void
on_info(const SSL *ssl, int where, int ret)
{
	char host[INET6_ADDRSTRLEN], *actor, *outcome;
	struct conn *c;
	unsigned port;
	const char *alert;
	X509 *peer;
	int desc = ret & 0xff;

	if ((c = SSL_get_ex_data(ssl, conn_idx)) == NULL)
		return;
	/* The first loop is in state "before": no message read yet. */
	if ((where & SSL_CB_LOOP) && SSL_get_state(ssl) != TLS_ST_BEFORE)
		c->hello = 1;
	if ((where & SSL_CB_WRITE_ALERT) != SSL_CB_WRITE_ALERT ||
	    (ret >> 8) != SSL3_AL_FATAL || SSL_is_init_finished(ssl))
		return;
	if (c->refused || c->closing || !c->hello)
		return;
	/* A client that hung up mid-handshake (browsers drop the spare
	 * connections they opened): OpenSSL answers the EOF with
	 * decode_error, but nothing was refused. */
	if (desc == SSL_AD_DECODE_ERROR &&
	    ERR_GET_REASON(ERR_peek_last_error()) ==
		SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return;
	c->refused = 1;
	if (c->admitted) {
		snprintf(host, sizeof(host), "%s", c->host);
		port = c->port;
	} else
		peer_of(SSL_get_fd(ssl), host, &port);
	peer = SSL_get0_peer_certificate(ssl);
	actor = tls_actor_new(peer);
	/* OpenSSL 3.0 has no name for TLS 1.3's certificate_required. */
	alert = desc == SSL_AD_CERTIFICATE_REQUIRED
		    ? "certificate required"
		    : SSL_alert_desc_string_long(ret);
	if (peer == NULL && (desc == SSL_AD_CERTIFICATE_REQUIRED ||
				desc == SSL_AD_HANDSHAKE_FAILURE))
		outcome = xasprintf("refused: no client certificate (TLS "
				    "alert %s, from %s:%u)",
		    alert, host, port);
	else
		outcome = xasprintf("refused: TLS handshake failed (alert %s, "
				    "from %s:%u)",
		    alert, host, port);
	refusal_note(c->srv, host, actor, outcome);
	free(actor);
	free(outcome);
}

struct bufferevent *
conn_new_bev(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval now = {0, 0};
	SSL *ssl;

	/* A NULL return would make evhttp fall back to plain HTTP. */
	if ((ssl = SSL_new(srv->ssl)) == NULL ||
	    (c->deadline = evtimer_new(base, on_deadline, c)) == NULL ||
	    (c->admit = evtimer_new(base, on_admit, c)) == NULL)
		abort();
	c->srv = srv;
	srv->nconns++;
	SSL_set_ex_data(ssl, conn_idx, c); /* SSL_free frees c from now */
	SSL_set_info_callback(ssl, on_info);
	c->bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		abort();
	/* A client that closes without close_notify has still finished. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->input_cb =
	    evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	errpage_watch(c->bev);
	deadline_arm(c); /* the handshake and the first request */
	evtimer_add(c->admit, &now);
	accept_opened(srv);
	return c->bev;
}

/* The connection state of req; NULL on the Unix socket or when the
 * client has gone. */
static struct conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, conn_idx);
}

void
conn_request_begin(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);

	if (c != NULL) {
		c->busy = 1;
		evtimer_del(c->deadline);
	}
}

static void
on_sent_tls(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	c->busy = 0;
	c->writing = 0;
	c->srv->writing--;
	/* A pipelined request may be waiting already. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		deadline_arm(c);
	server_drain_check(c->srv);
}

static void
on_sent_local(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;

	(void)req;
	srv->writing--;
	server_drain_check(srv);
}

void
conn_reply_begin(struct server *srv, struct evhttp_request *req)
{
	struct conn *c;

	/* A request whose client left is freed by evhttp_send_reply. */
	if (evhttp_request_get_connection(req) == NULL)
		return;
	srv->writing++;
	if ((c = conn_of(req)) != NULL) {
		c->writing = 1;
		evhttp_request_set_on_complete_cb(req, on_sent_tls, c);
	} else
		evhttp_request_set_on_complete_cb(req, on_sent_local, srv);
}
