/*
 * client_tls.c - a request to an agent over HTTPS with mutual TLS:
 * libevent's evhttp client on a bufferevent_openssl, TLS 1.2 or 1.3, the
 * admin identity as client certificate.  The agent is verified by pinning
 * alone: the certificate callback compares the SHA-256 fingerprint of the
 * agent's certificate with the pinned one and fails the handshake
 * otherwise, before the client has sent its certificate or a byte of the
 * request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "cli.h"
#include "client_impl.h"
#include "util.h"

#define CONNECT_TIMEOUT 10 /* seconds until the agent's certificate is seen */

static int call_idx = -1; /* SSL ex_data slot of the call */

/*
 * Replaces certificate chain verification: the agent's certificate is
 * self-signed and trusted only because its fingerprint is the pinned
 * one.  A call without a pin (a probe) records the fingerprint and stops.
 */
static int
pin_check(X509_STORE_CTX *x, void *arg)
{
	SSL *ssl =
	    X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct call *k = ssl ? SSL_get_ex_data(ssl, call_idx) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);

	(void)arg;
	if (k == NULL || leaf == NULL)
		return 0;
	cf_cert_fingerprint(leaf, k->ans->fingerprint);
	if (k->t->fingerprint[0] != '\0' &&
	    strcmp(k->ans->fingerprint, k->t->fingerprint) == 0)
		return 1;
	X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
	return 0;
}

/* The SSL context with the admin identity, made once per client. */
static void
ctx_init(struct client *c)
{
	struct cf_error err;
	char *keyfile = NULL, *certfile = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int created;

	if (call_idx == -1)
		call_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(c->ctx, pin_check, NULL);
	cf_error_clear(&err);
	if ((keyfile = client_home_file("id.key", 0, &err)) == NULL ||
	    (certfile = client_home_file("id.crt", 0, &err)) == NULL)
		c->id_err = err;
	else if (access(keyfile, F_OK) != 0)
		cf_errorf(&c->id_err, CF_E_USAGE,
		    "no admin identity (%s): run `certfleet id`, then "
		    "authorize its fingerprint on the agents",
		    keyfile);
	else if (cf_identity_load(keyfile, certfile, "", 1, &key, &cert,
		     &created, &err) == -1)
		c->id_err = err;
	else if (SSL_CTX_use_certificate(c->ctx, cert) != 1 ||
		 SSL_CTX_use_PrivateKey(c->ctx, key) != 1)
		cf_errorf_ossl(&c->id_err, CF_E_CRYPTO,
		    "%s: cannot use the admin identity", keyfile);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(keyfile);
	free(certfile);
}

int
client_address_parse(
    const char *address, char **host, int *port, struct cf_error *err)
{
	const char *colon = strrchr(address, ':'), *h = address;
	size_t hlen;
	char *end;
	long p;

	*host = NULL;
	if (colon == NULL || colon == address)
		return cf_errorf(err, CF_E_USAGE, "%s: not HOST:PORT", address);
	hlen = (size_t)(colon - address);
	if (address[0] == '[' && colon[-1] == ']') { /* [::1]:7443 */
		h++;
		hlen -= 2;
	} else if (memchr(address, ':', hlen) != NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: an IPv6 address goes in brackets, [::1]:PORT",
		    address);
	p = strtol(colon + 1, &end, 10);
	if (hlen == 0 || end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: not HOST:PORT (a port from 1 to 65535)", address);
	*host = strndup(h, hlen);
	*port = (int)p;
	return 0;
}

/* host resolved to a numeric address (new), so that evhttp never has to
 * resolve and a failure is named plainly. */
static char *
resolve(const char *host, struct cf_error *err)
{
	struct addrinfo hints, *ai = NULL;
	char buf[INET6_ADDRSTRLEN];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) != 0) {
		cf_errorf(err, CF_E_IO, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return NULL;
	}
	rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL, 0,
	    NI_NUMERICHOST);
	freeaddrinfo(ai);
	if (rc != 0) {
		cf_errorf(err, CF_E_IO, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return NULL;
	}
	return xstrdup(buf);
}

/*
 * Why a TCP connection to the numeric address of k cannot be made, as an
 * errno (0 when it can).  evhttp loses the reason of a failed connect
 * (its reset clobbers errno), so it is asked again, briefly, after the
 * request failed without a handshake.
 */
static int
connect_errno(const struct call *k)
{
	struct addrinfo hints, *ai = NULL;
	struct pollfd p;
	char *host = NULL, port[8];
	socklen_t len = sizeof(int);
	int fd = -1, e = 0, n;

	if (client_address_parse(k->t->address, &host, &n, NULL) == -1)
		return 0;
	snprintf(port, sizeof(port), "%d", n);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 ||
	    (fd = socket(ai->ai_family,
		 ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto out;
	e = errno;
	if (e != EINPROGRESS)
		goto out;
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 2000) != 1) {
		e = ETIMEDOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
out:
	if (fd != -1)
		close(fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	free(host);
	return e;
}

static void
tls_error(enum evhttp_request_error e, void *arg)
{
	struct call *k = arg;

	k->timed_out = e == EVREQ_HTTP_TIMEOUT;
}

/* Why a TLS request got no answer, most telling reason first. */
static void
tls_failed(struct call *k)
{
	struct client_answer *a = k->ans;
	const char *addr = k->t->address, *reason = NULL;
	int adhoc = strcmp(k->t->name, addr) == 0;
	unsigned long e;

	if (k->t->fingerprint[0] == '\0' && a->fingerprint[0] != '\0')
		return; /* a probe: the fingerprint is what it came for */
	if (a->fingerprint[0] != '\0' &&
	    strcmp(a->fingerprint, k->t->fingerprint) != 0) {
		cf_errorf(&a->err, CF_E_DENIED,
		    "the agent's identity changed: %s presents %s, but %s is "
		    "pinned; someone may be intercepting the connection, and "
		    "nothing was sent.  If this is expected (the agent was "
		    "set up again), %s%s%s",
		    addr, a->fingerprint, k->t->fingerprint,
		    adhoc ? "give its new fingerprint" : "fleet remove ",
		    adhoc ? "" : k->t->name,
		    adhoc ? " with --fingerprint" : " and add it again");
		return;
	}
	/* The bufferevent keeps OpenSSL's errors and SSL_get_error codes
	 * alike; only the former have a reason worth showing. */
	while ((e = bufferevent_get_openssl_error(k->bev)) != 0)
		if (reason == NULL && ERR_GET_LIB(e) != 0)
			reason = ERR_reason_error_string(e);
	if (reason != NULL)
		cf_errorf(
		    &a->err, CF_E_IO, "TLS with %s failed: %s", addr, reason);
	else if (k->timed_out || time(NULL) - k->started >= k->c->timeout)
		/* evhttp reports a timeout before the handshake ends only as
		 * a failure, so the clock says which it was. */
		cf_errorf(&a->err, CF_E_IO, "no answer from %s within %d s",
		    addr, k->c->timeout);
	else if (a->fingerprint[0] == '\0' && (e = connect_errno(k)) != 0)
		cf_errorf(&a->err, CF_E_IO, "cannot connect to %s: %s", addr,
		    strerror((int)e));
	else
		cf_errorf(&a->err, CF_E_IO,
		    "%s closed the connection without answering", addr);
	ERR_clear_error();
}

/* Sends k again on a new connection (client_keep_alive): its request
 * got no answer on a kept one, which the agent may close when idle.
 * Run from the loop, once evhttp is done with the old connection. */
static void
tls_retry(evutil_socket_t fd, short what, void *arg)
{
	struct call *k = arg;

	(void)fd;
	(void)what;
	evhttp_connection_free(k->evcon); /* and its bufferevent */
	k->evcon = NULL;
	k->bev = NULL;
	k->reused = k->closed = 0;
	k->ans->fingerprint[0] = '\0';
	ERR_clear_error();
	client_tls_start(k);
}

static void
tls_done(struct evhttp_request *req, void *arg)
{
	static const struct timeval now = {0, 0};
	struct call *k = arg;

	k->req = NULL; /* evhttp frees it after this */
	if (k->done)
		return;
	if ((req == NULL || evhttp_request_get_response_code(req) == 0) &&
	    k->reused && !k->retried && !k->timed_out) {
		k->retried = 1;
		if (event_base_once(
			k->c->base, -1, EV_TIMEOUT, tls_retry, k, &now) == 0)
			return;
	}
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		tls_failed(k);
	else if (strcmp(k->ans->fingerprint, k->t->fingerprint) != 0)
		/* Cannot happen with pin_check in place; never trust an
		 * answer whose sender was not checked. */
		cf_errorf(&k->ans->err, CF_E_DENIED,
		    "%s: the agent's identity was not checked", k->t->address);
	else {
		k->pinned = 1;
		client_take_answer(k, evhttp_request_get_response_code(req),
		    evhttp_request_get_input_buffer(req));
	}
	client_finish(k);
}

/* evhttp saw the agent close k's connection: not one to send on. */
static void
tls_closed(struct evhttp_connection *evcon, void *arg)
{
	struct call *k = arg;

	(void)evcon;
	k->closed = 1;
}

/*
 * An earlier call of k's client to k's target whose connection k may
 * take (client_keep_alive): answered over a pinned handshake, and not
 * closed since.  NULL when there is none.
 */
static struct call *
kept_for(const struct call *k)
{
	struct call *o;

	if (!k->c->keep_alive || k->retried)
		return NULL;
	for (o = k->c->calls; o != NULL; o = o->next)
		if (o != k && o->done && o->t == k->t && o->evcon != NULL &&
		    o->pinned && !o->closed)
			return o;
	return NULL;
}

static void
add_headers(struct evkeyvalq *h, const struct call *k, const char *host)
{
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "User-Agent", "certfleet/" CF_VERSION);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "X-Certfleet-Actor", k->c->actor);
	if (!k->c->keep_alive)
		evhttp_add_header(h, "Connection", "close");
	if (k->body != NULL)
		evhttp_add_header(h, "Content-Type", "application/json");
}

/*
 * A host that drops the connection attempt would hold the whole command
 * for the answer timeout (evhttp 2.1 has no connect timeout of its own):
 * an agent that has not shown its certificate by now is given up.
 */
static void
tls_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct call *k = arg;
	struct evhttp_request *req = k->req;

	(void)fd;
	(void)what;
	if (k->done || req == NULL || k->ans->fingerprint[0] != '\0')
		return;
	cf_errorf(&k->ans->err, CF_E_IO,
	    "cannot connect to %s: no TLS handshake within %d s", k->t->address,
	    CONNECT_TIMEOUT);
	k->req = NULL;
	client_finish(k);
	evhttp_cancel_request(req); /* calls no callback but tls_error */
}

/* Queues k's request on k->evcon, connected or not; 0, or -1 with the
 * error in k's answer. */
static int
tls_send(struct call *k)
{
	struct evhttp_request *req = evhttp_request_new(tls_done, k);

	evhttp_request_set_error_cb(req, tls_error);
	add_headers(evhttp_request_get_output_headers(req), k, k->t->address);
	if (k->body != NULL)
		evbuffer_add_reference(evhttp_request_get_output_buffer(req),
		    k->body, k->len, NULL, NULL);
	if (evhttp_make_request(k->evcon, req,
		strcmp(k->method, "POST") == 0     ? EVHTTP_REQ_POST
		: strcmp(k->method, "PUT") == 0    ? EVHTTP_REQ_PUT
		: strcmp(k->method, "DELETE") == 0 ? EVHTTP_REQ_DELETE
						   : EVHTTP_REQ_GET,
		k->path) == -1) {
		cf_errorf(&k->ans->err, CF_E_IO, "cannot connect to %s: %s",
		    k->t->address, strerror(errno));
		evhttp_request_free(req);
		return -1;
	}
	k->req = req;
	return 0;
}

/* Puts k on the kept connection of o: no handshake, the agent's
 * identity as pinned when o's was checked. */
static void
tls_take(struct call *k, struct call *o)
{
	k->evcon = o->evcon;
	k->bev = o->bev;
	o->evcon = NULL;
	o->bev = NULL;
	k->reused = 1;
	SSL_set_ex_data(bufferevent_openssl_get_ssl(k->bev), call_idx, k);
	evhttp_connection_set_closecb(k->evcon, tls_closed, k);
	snprintf(k->ans->fingerprint, sizeof(k->ans->fingerprint), "%s",
	    k->t->fingerprint);
}

void
client_tls_start(struct call *k)
{
	struct client *c = k->c;
	struct in6_addr ip;
	struct call *o;
	char *host = NULL, *numeric = NULL;
	SSL *ssl;
	int port;

	k->started = time(NULL);
	if ((o = kept_for(k)) != NULL) {
		tls_take(k, o);
		if (tls_send(k) == -1)
			client_finish(k);
		return;
	}
	if (c->ctx == NULL)
		ctx_init(c);
	if (k->t->fingerprint[0] != '\0' && c->id_err.code != CF_OK) {
		k->ans->err = c->id_err;
		goto out;
	}
	if (client_address_parse(k->t->address, &host, &port, &k->ans->err) ==
		-1 ||
	    (numeric = resolve(host, &k->ans->err)) == NULL)
		goto out;
	if ((ssl = SSL_new(c->ctx)) == NULL)
		abort();
	SSL_set_ex_data(ssl, call_idx, k);
	if (inet_pton(AF_INET, host, &ip) != 1 &&
	    inet_pton(AF_INET6, host, &ip) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	k->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (k->bev == NULL)
		abort();
	bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
	k->evcon = evhttp_connection_base_bufferevent_new(
	    c->base, NULL, k->bev, numeric, (unsigned short)port);
	if (k->evcon == NULL)
		abort();
	evhttp_connection_set_timeout(k->evcon, c->timeout);
	evhttp_connection_set_max_body_size(k->evcon, MAX_ANSWER);
	evhttp_connection_set_max_headers_size(k->evcon, MAX_ANSWER_HEADERS);
	if (c->keep_alive)
		evhttp_connection_set_closecb(k->evcon, tls_closed, k);
	if (tls_send(k) == -1)
		goto out;
	if (c->timeout > CONNECT_TIMEOUT) { /* a retry has one already */
		struct timeval tv = {CONNECT_TIMEOUT, 0};
		if (k->watchdog == NULL && (k->watchdog = evtimer_new(c->base,
						tls_watchdog, k)) == NULL)
			abort();
		evtimer_add(k->watchdog, &tv);
	}
	free(host);
	free(numeric);
	return;
out:
	free(host);
	free(numeric);
	client_finish(k);
}
