/*
 * etcd_conn.c - TLS connections to the members: one evhttp connection on
 * a bufferevent_openssl each, the member's certificate checked against
 * the CA and the endpoint's host, kept alive and reused by one call at a
 * time.  A connection that failed or closed is never reused: evhttp would
 * reconnect it on the same SSL object, which cannot be.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>

#include "etcd_int.h"

void
etcd_conn_free(struct etcd_conn *c)
{
	if (c == NULL)
		return;
	if (c->evcon != NULL)
		evhttp_connection_free(c->evcon); /* frees the bufferevent */
	if (c->free_ev != NULL)
		event_free(c->free_ev);
	free(c);
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct etcd_conn *c = arg;

	(void)evcon;
	c->dead = 1;
}

struct etcd_conn *
etcd_conn_new(struct etcd *e, struct etcd_endpoint *ep)
{
	struct etcd_conn *c = xcalloc(1, sizeof(*c));
	struct in6_addr ip;
	SSL *ssl;

	c->ep = ep;
	c->e = e;
	if ((ssl = SSL_new(e->ctx)) == NULL)
		abort();
	/* the member's certificate must name the host of the endpoint */
	if (inet_pton(AF_INET, ep->host, &ip) == 1 ||
	    inet_pton(AF_INET6, ep->host, &ip) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep->host);
	else {
		SSL_set_tlsext_host_name(ssl, ep->host);
		SSL_set1_host(ssl, ep->host);
	}
	c->bev = bufferevent_openssl_socket_new(e->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL)
		abort();
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->evcon = evhttp_connection_base_bufferevent_new(
	    e->base, NULL, c->bev, ep->host, (unsigned short)ep->port);
	if (c->evcon == NULL)
		abort();
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	return c;
}

/*
 * TLS writes a request as several records; with Nagle's algorithm the
 * later ones wait for the member's delayed ACK (40 ms a call).  The
 * socket exists once evhttp has started connecting (numeric hosts connect
 * at once), so this comes right after the first request is made.
 */
void
etcd_conn_nodelay(struct etcd_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	int one = 1;

	if (fd != -1)
		(void)setsockopt(
		    fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
discard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_conn *c = arg, **p;

	(void)fd;
	(void)what;
	for (p = &c->e->discarded; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	etcd_conn_free(c);
}

void
etcd_conn_discard(struct etcd *e, struct etcd_conn *c)
{
	if (c == NULL)
		return;
	/* evhttp still touches the connection after its callbacks return;
	 * etcd_free frees what is still on the list */
	if ((c->free_ev = evtimer_new(e->base, discard_cb, c)) == NULL)
		abort();
	c->next = e->discarded;
	e->discarded = c;
	event_active(c->free_ev, EV_TIMEOUT, 0);
}

const char *
etcd_conn_tls_reason(struct etcd_conn *c)
{
	const char *reason = NULL;
	unsigned long l;

	while ((l = bufferevent_get_openssl_error(c->bev)) != 0)
		if (reason == NULL && ERR_GET_LIB(l) != 0)
			reason = ERR_reason_error_string(l);
	ERR_clear_error();
	return reason;
}

/* An idle connection to ep, or a new one; *reused says which. */
struct etcd_conn *
etcd_conn_take(struct etcd *e, struct etcd_endpoint *ep, int *reused)
{
	struct etcd_conn *c;

	while ((c = ep->idle) != NULL) {
		ep->idle = c->next;
		ep->n_idle--;
		c->next = NULL;
		if (!c->dead) {
			*reused = 1;
			return c;
		}
		etcd_conn_discard(e, c);
	}
	*reused = 0;
	return etcd_conn_new(e, ep);
}

void
etcd_conn_give_back(struct etcd *e, struct etcd_conn *c)
{
	struct etcd_endpoint *ep = c->ep;

	if (c->dead || ep->n_idle >= ETCD_IDLE_MAX) {
		etcd_conn_discard(e, c);
		return;
	}
	c->next = ep->idle;
	ep->idle = c;
	ep->n_idle++;
}

void
etcd_add_headers(struct etcd *e, struct evhttp_request *hr,
    const struct etcd_endpoint *ep, int with_token)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(hr);

	evhttp_add_header(h, "Host", ep->host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Accept", "application/json");
	/* the raw token: "Bearer <token>" is refused as invalid */
	if (with_token && e->token != NULL)
		evhttp_add_header(h, "Authorization", e->token->data);
}
