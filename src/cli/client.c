/*
 * client.c - requests to agents: see client.h.
 *
 * Over TLS: libevent's evhttp client on a bufferevent_openssl, TLS 1.2 or
 * 1.3, the admin identity as client certificate.  The agent is verified
 * by pinning alone: the certificate callback compares the SHA-256
 * fingerprint of the agent's certificate with the pinned one and fails
 * the handshake otherwise, before the client has sent its certificate or
 * a byte of the request.
 *
 * Over the local agent's Unix socket: libevent 2.1's evhttp connects only
 * to TCP addresses, so the request is written on a bufferevent by hand
 * (with Connection: close) and the answer read with Content-Length or
 * chunked framing, or to the end of the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "client.h"
#include "util.h"

#define DEFAULT_TIMEOUT 60 /* seconds without progress; CERTFLEET_TIMEOUT */
#define MAX_ANSWER (256u * 1024 * 1024)
#define MAX_ANSWER_HEADERS (64u * 1024)

struct call {
	struct client *c;
	const struct client_target *t;
	struct client_answer *ans;
	const char *method, *body;
	char *path;
	size_t len;
	struct evhttp_connection *evcon; /* TLS; owns bev */
	struct bufferevent *bev;	 /* TLS or the Unix socket */
	int timed_out, done;
	time_t started;
	/* Unix socket: what the head of the answer said, once read. */
	size_t head_len;
	long long content_length; /* -1: not given */
	int chunked;
	struct call *next;
};

struct client {
	struct event_base *base;
	SSL_CTX *ctx;
	struct cf_error id_err; /* why there is no admin identity */
	struct call *calls;
	size_t pending, total;
	int progress; /* a line on stderr while several agents answer */
	int timeout;
	char actor[160];
};

static int call_idx = -1; /* SSL ex_data slot of the call */

void
client_targets_free(struct client_target *t, size_t n)
{
	size_t i;

	for (i = 0; t != NULL && i < n; i++) {
		free(t[i].name);
		free(t[i].address);
	}
	free(t);
}

void
client_answer_clear(struct client_answer *a)
{
	if (a == NULL)
		return;
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

char *
client_home_file(const char *file, int create, struct cf_error *err)
{
	const char *env = getenv("CERTFLEET_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	char *dir, *path;

	if (env != NULL && env[0] != '\0')
		dir = xstrdup(env);
	else {
		if ((home == NULL || home[0] == '\0') &&
		    (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || home[0] == '\0') {
			cf_errorf(err, CF_E_IO, "no home directory: set "
						"CERTFLEET_HOME");
			return NULL;
		}
		dir = xasprintf("%s/.config", home);
		if (create)
			(void)mkdir(dir, 0700);
		free(dir);
		dir = xasprintf("%s/.config/certfleet", home);
	}
	if (create && mkdir(dir, 0700) == -1 && errno != EEXIST) {
		cf_errorf(err, CF_E_IO, "cannot create %s: %s", dir,
		    strerror(errno));
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, file);
	free(dir);
	return path;
}

/* The error code named name ("not-found"); CF_E_INTERNAL when unknown. */
static int
code_parse(const char *name)
{
	int code;

	for (code = CF_OK + 1; code < CF_E_COUNT; code++)
		if (strcmp(name, cf_code_name(code)) == 0)
			return code;
	return CF_E_INTERNAL;
}

/* The code that fits an HTTP status, for an answer without a JSON body. */
static int
code_of_status(int status)
{
	static const struct {
		int status, code;
	} map[] = {{400, CF_E_USAGE}, {403, CF_E_DENIED},
	    {404, CF_E_NOTFOUND}, {405, CF_E_USAGE}, {409, CF_E_CONFLICT},
	    {413, CF_E_LIMIT}};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].status == status)
			return map[i].code;
	return CF_E_INTERNAL;
}

/* "user@host", printable ASCII only: it travels in a header. */
static void
actor_init(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	char host[64] = "localhost", *dot, *p;

	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL)
		*dot = '\0';
	if (pw != NULL)
		snprintf(out, size, "%s@%s", pw->pw_name, host);
	else
		snprintf(out, size, "uid%u@%s", (unsigned)getuid(), host);
	for (p = out; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			*p = '?';
}

static int
timeout_init(void)
{
	const char *env = getenv("CERTFLEET_TIMEOUT");
	long t;
	char *end;

	if (env == NULL)
		return DEFAULT_TIMEOUT;
	t = strtol(env, &end, 10);
	return end != env && *end == '\0' && t > 0 && t <= 86400
		   ? (int)t
		   : DEFAULT_TIMEOUT;
}

struct client *
client_new(void)
{
	struct client *c = xcalloc(1, sizeof(*c));

	if ((c->base = event_base_new()) == NULL)
		abort();
	if (call_idx == -1)
		call_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	c->timeout = timeout_init();
	actor_init(c->actor, sizeof(c->actor));
	return c;
}

void
client_free(struct client *c)
{
	struct call *k, *next;

	if (c == NULL)
		return;
	for (k = c->calls; k != NULL; k = next) {
		next = k->next;
		if (k->evcon != NULL)
			evhttp_connection_free(k->evcon);
		else if (k->bev != NULL)
			bufferevent_free(k->bev);
		free(k->path);
		free(k);
	}
	SSL_CTX_free(c->ctx);
	event_base_free(c->base);
	free(c);
}

void
client_request(struct client *c, const struct client_target *t,
    const char *method, const char *path, const char *body, size_t len,
    struct client_answer *ans)
{
	struct call *k = xcalloc(1, sizeof(*k));

	client_answer_clear(ans);
	k->c = c;
	k->t = t;
	k->ans = ans;
	k->method = method;
	k->path = xstrdup(path);
	k->body = body;
	k->len = len;
	k->content_length = -1;
	k->next = c->calls;
	c->calls = k;
}

/* Marks k answered; the progress line says how many are. */
static void
finish(struct call *k)
{
	struct client *c = k->c;

	if (k->done)
		return;
	k->done = 1;
	if (--c->pending == 0)
		event_base_loopbreak(c->base);
	if (c->progress && c->pending > 0)
		fprintf(stderr, "\r%zu of %zu agents answered", c->total -
		    c->pending, c->total);
	else if (c->progress)
		fputs("\r\033[K", stderr);
}

/*
 * Takes the answer's status and body: a 2xx answer's JSON is kept; any
 * other answer's {"code", "message"} becomes the error.  The body is
 * wiped once parsed: an export's answer carries a key.
 */
static void
take_answer(struct call *k, int status, struct evbuffer *body)
{
	size_t len = evbuffer_get_length(body);
	char *p = len ? (char *)evbuffer_pullup(body, -1) : NULL;
	json_t *j = p ? json_loadb(p, len, 0, NULL) : NULL;
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	if (p != NULL)
		OPENSSL_cleanse(p, len);
	k->ans->status = status;
	if (status >= 200 && status < 300 && j != NULL) {
		k->ans->json = j;
		return;
	}
	if (status >= 200 && status < 300)
		cf_errorf(&k->ans->err, CF_E_PARSE,
		    "%s answered with something that is not JSON",
		    k->t->address);
	else if (msg != NULL)
		cf_errorf(&k->ans->err, code ? code_parse(code)
					     : code_of_status(status),
		    "%s", msg);
	else
		cf_errorf(&k->ans->err, code_of_status(status),
		    "%s answered HTTP %d without an explanation "
		    "(is it a certfleetd agent?)",
		    k->t->address, status);
	json_decref(j);
}

/* ---- TLS ----------------------------------------------------------- */

/*
 * Replaces certificate chain verification: the agent's certificate is
 * self-signed and trusted only because its fingerprint is the pinned
 * one.  A call without a pin (a probe) records the fingerprint and stops.
 */
static int
pin_check(X509_STORE_CTX *x, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
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
client_address_parse(const char *address, char **host, int *port,
    struct cf_error *err)
{
	const char *colon = strrchr(address, ':'), *h = address;
	size_t hlen;
	char *end;
	long p;

	*host = NULL;
	if (colon == NULL || colon == address)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: not HOST:PORT", address);
	hlen = (size_t)(colon - address);
	if (address[0] == '[' && colon[-1] == ']') { /* [::1]:7443 */
		h++;
		hlen -= 2;
	} else if (memchr(address, ':', hlen) != NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: an IPv6 address goes in brackets, [::1]:PORT",
		    address);
	p = strtol(colon + 1, &end, 10);
	if (hlen == 0 || end == colon + 1 || *end != '\0' || p < 1 ||
	    p > 65535)
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
	rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL,
	    0, NI_NUMERICHOST);
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
	    (fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		     SOCK_CLOEXEC, 0)) == -1)
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
		cf_errorf(&a->err, CF_E_IO, "TLS with %s failed: %s", addr,
		    reason);
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

static void
tls_done(struct evhttp_request *req, void *arg)
{
	struct call *k = arg;

	if (k->done)
		return;
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		tls_failed(k);
	else if (strcmp(k->ans->fingerprint, k->t->fingerprint) != 0)
		/* Cannot happen with pin_check in place; never trust an
		 * answer whose sender was not checked. */
		cf_errorf(&k->ans->err, CF_E_DENIED,
		    "%s: the agent's identity was not checked", k->t->address);
	else
		take_answer(k, evhttp_request_get_response_code(req),
		    evhttp_request_get_input_buffer(req));
	finish(k);
}

static void
add_headers(struct evkeyvalq *h, const struct call *k, const char *host)
{
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "User-Agent", "certfleet/" CF_VERSION);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "X-Certfleet-Actor", k->c->actor);
	evhttp_add_header(h, "Connection", "close");
	if (k->body != NULL)
		evhttp_add_header(h, "Content-Type", "application/json");
}

static void
tls_start(struct call *k)
{
	struct client *c = k->c;
	struct evhttp_request *req;
	struct in6_addr ip;
	char *host = NULL, *numeric = NULL;
	SSL *ssl;
	int port;

	k->started = time(NULL);
	if (c->ctx == NULL)
		ctx_init(c);
	if (k->t->fingerprint[0] != '\0' && c->id_err.code != CF_OK) {
		k->ans->err = c->id_err;
		goto out;
	}
	if (client_address_parse(k->t->address, &host, &port,
		&k->ans->err) == -1 ||
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
	k->evcon = evhttp_connection_base_bufferevent_new(c->base, NULL,
	    k->bev, numeric, (unsigned short)port);
	if (k->evcon == NULL)
		abort();
	evhttp_connection_set_timeout(k->evcon, c->timeout);
	evhttp_connection_set_max_body_size(k->evcon, MAX_ANSWER);
	evhttp_connection_set_max_headers_size(k->evcon, MAX_ANSWER_HEADERS);
	req = evhttp_request_new(tls_done, k);
	evhttp_request_set_error_cb(req, tls_error);
	add_headers(evhttp_request_get_output_headers(req), k,
	    k->t->address);
	if (k->body != NULL)
		evbuffer_add_reference(evhttp_request_get_output_buffer(req),
		    k->body, k->len, NULL, NULL);
	if (evhttp_make_request(k->evcon, req,
		strcmp(k->method, "POST") == 0 ? EVHTTP_REQ_POST
					       : EVHTTP_REQ_GET,
		k->path) == -1) {
		cf_errorf(&k->ans->err, CF_E_IO, "cannot connect to %s: %s",
		    k->t->address, strerror(errno));
		evhttp_request_free(req);
		goto out;
	}
	free(host);
	free(numeric);
	return;
out:
	free(host);
	free(numeric);
	finish(k);
}

/* ---- the Unix socket ------------------------------------------------ */

/* Reads the status line and the framing headers once they are all in. */
static int
unix_head(struct call *k, struct evbuffer *in)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char *head, *line, *save = NULL;
	int status = 0;

	if (end.pos < 0)
		return evbuffer_get_length(in) > MAX_ANSWER_HEADERS ? -1 : 0;
	k->head_len = (size_t)end.pos + 4;
	head = xmalloc(k->head_len + 1);
	evbuffer_copyout(in, head, k->head_len);
	head[k->head_len] = '\0';
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		free(head);
		return -1;
	}
	k->ans->status = status;
	for (line = strtok_r(head, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			k->content_length = strtoll(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strstr(line + 18, "chunked") != NULL)
			k->chunked = 1;
	}
	free(head);
	return 1;
}

/* The chunks of a chunked body at p (n bytes) into body; -1 when cut. */
static int
unchunk(const char *p, size_t n, struct evbuffer *body)
{
	const char *end = p + n, *crlf;
	unsigned long long size;
	char *stop;

	for (;;) {
		if ((crlf = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return -1;
		size = strtoull(p, &stop, 16);
		if (stop == p)
			return -1;
		p = crlf + 2;
		if (size == 0)
			return 0;
		if (size > (unsigned long long)(end - p) ||
		    (size_t)(end - p) - size < 2)
			return -1;
		evbuffer_add(body, p, size);
		p += size + 2;
	}
}

/*
 * Takes the answer when it is whole: the head read, then Content-Length
 * bytes, or (chunked, or unframed) everything up to the end of the
 * connection.  0 while more is to come, -1 when malformed.
 */
static int
unix_take(struct call *k, struct evbuffer *in, int eof)
{
	struct evbuffer *body;
	size_t avail;
	int rc;

	if (k->head_len == 0 && (rc = unix_head(k, in)) != 1)
		return rc == 0 && eof ? -1 : rc;
	avail = evbuffer_get_length(in) - k->head_len;
	if (k->content_length >= 0 && !k->chunked) {
		if (avail < (unsigned long long)k->content_length)
			return eof ? -1 : 0;
		avail = (size_t)k->content_length;
	} else if (!eof)
		return 0;
	body = evbuffer_new();
	evbuffer_drain(in, k->head_len);
	if (k->chunked)
		rc = unchunk((const char *)evbuffer_pullup(in, -1), avail,
		    body);
	else
		rc = evbuffer_remove_buffer(in, body, avail) == (int)avail ? 0
									   : -1;
	if (rc == 0)
		take_answer(k, k->ans->status, body);
	evbuffer_free(body);
	return rc == 0 ? 1 : -1;
}

static void
unix_read(struct bufferevent *bev, void *arg)
{
	struct call *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	if (k->done)
		return;
	if (evbuffer_get_length(in) > MAX_ANSWER)
		rc = -1;
	else if ((rc = unix_take(k, in, 0)) == 0)
		return;
	if (rc == -1)
		cf_errorf(&k->ans->err, CF_E_PARSE,
		    "the local agent (%s) gave an answer that is not HTTP",
		    k->t->address);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	finish(k);
}

static void
unix_event(struct bufferevent *bev, short what, void *arg)
{
	struct call *k = arg;
	int saved_errno = EVUTIL_SOCKET_ERROR();

	if (k->done)
		return;
	if (what & BEV_EVENT_EOF) {
		if (unix_take(k, bufferevent_get_input(bev), 1) != 1 &&
		    k->ans->err.code == CF_OK)
			cf_errorf(&k->ans->err, CF_E_IO,
			    "the local agent (%s) closed the connection "
			    "without answering",
			    k->t->address);
	} else if (what & BEV_EVENT_TIMEOUT)
		cf_errorf(&k->ans->err, CF_E_IO,
		    "no answer from the local agent (%s) within %d s",
		    k->t->address, k->c->timeout);
	else
		cf_errorf(&k->ans->err, CF_E_IO,
		    "the local agent (%s): %s", k->t->address,
		    strerror(saved_errno));
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	finish(k);
}

static void
unix_start(struct call *k)
{
	struct sockaddr_un sun;
	struct timeval tv = {k->c->timeout, 0};
	struct evbuffer *out;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(k->t->address) >= sizeof(sun.sun_path)) {
		cf_errorf(&k->ans->err, CF_E_USAGE,
		    "%s: socket path too long", k->t->address);
		finish(k);
		return;
	}
	strcpy(sun.sun_path, k->t->address);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		cf_errorf(&k->ans->err, CF_E_IO,
		    "cannot reach the local agent at %s: %s (is certfleetd "
		    "running here?  Otherwise give --store DIR, or --server "
		    "NAME)",
		    k->t->address, strerror(errno));
		if (fd != -1)
			close(fd);
		finish(k);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	if ((k->bev = bufferevent_socket_new(k->c->base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	out = bufferevent_get_output(k->bev);
	evbuffer_add_printf(out,
	    "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: certfleet/%s\r\n"
	    "Accept: application/json\r\nX-Certfleet-Actor: %s\r\n"
	    "Connection: close\r\n",
	    k->method, k->path, CF_VERSION, k->c->actor);
	if (k->body != NULL)
		evbuffer_add_printf(out, "Content-Type: application/json\r\n"
					 "Content-Length: %zu\r\n",
		    k->len);
	evbuffer_add(out, "\r\n", 2);
	if (k->body != NULL)
		evbuffer_add_reference(out, k->body, k->len, NULL, NULL);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
	bufferevent_setcb(k->bev, unix_read, NULL, unix_event, k);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

void
client_run(struct client *c)
{
	struct call *k;

	for (k = c->calls; k != NULL; k = k->next)
		if (!k->done)
			c->pending++;
	c->total = c->pending;
	c->progress = c->total > 1 && isatty(STDERR_FILENO);
	for (k = c->calls; k != NULL; k = k->next) {
		if (k->done || k->bev != NULL)
			continue;
		if (k->t->unix_socket)
			unix_start(k);
		else
			tls_start(k);
	}
	if (c->pending > 0)
		event_base_dispatch(c->base);
}
