/*
 * request.c - one API request, from evhttp to a worker and back.
 *
 * On the loop thread: note who is asking (the client certificate's
 * fingerprint, or the Unix peer's uid), copy the method, path, query,
 * and body, and queue a job.  On a worker: hand it to the store process
 * over the worker's channel (storeproc.h), where the role is decided,
 * an unknown client refused, the body parsed and bounded, and the
 * request served through the route table (store_serve.c); wait for the
 * reply.  Back on the loop thread: send it.  This process holds no
 * store and no master key: it moves bytes and does TLS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "console.h"
#include "csrf.h"
#include "http01.h"
#include "routes.h"
#include "server.h"
#include "tls.h"
#include "util.h"
#include "view.h"

struct job {
	struct pool_job pj; /* first: the pool sees this */
	struct server *srv; /* loop thread only */
	struct evhttp_request *req;
	int local; /* the Unix socket */
	const char *method;
	char *path, *query, *peer, *agent;
	char *tls_actor;        /* tls_actor_new of the client's certificate */
	char *host;             /* the TLS peer's address */
	char *refusal;          /* an unknown client's refusal, for audit.c */
	char fp[CF_FP_LEN + 1]; /* TLS client; "" when none */
	X509 *cert;             /* with chain and admin_ca: only when */
	STACK_OF(X509) * chain; /* admin_ca is set */
	X509_STORE *admin_ca;
	long uid; /* Unix peer; -1 unknown */
	unsigned char *body;
	size_t body_len;
	int metrics; /* from a plain-HTTP listener: STOREPROC_OPEN_* */
	int status;  /* the reply */
	char *out;
	char *ctype; /* its content type; NULL: JSON */
	int close;
	int console_peers; /* GET CONSOLE_PEERS_PATH, asked as whoami */
};

static void
job_free(struct job *j)
{
	if (j->body != NULL)
		OPENSSL_cleanse(j->body, j->body_len); /* passwords */
	free(j->body);
	free(j->path);
	free(j->query);
	free(j->peer);
	free(j->host);
	free(j->refusal);
	free(j->agent);
	free(j->tls_actor);
	if (j->out != NULL)
		OPENSSL_cleanse(j->out, strlen(j->out)); /* exports */
	free(j->out);
	free(j->ctype);
	X509_free(j->cert);
	sk_X509_pop_free(j->chain, X509_free);
	X509_STORE_free(j->admin_ca);
	free(j);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

/* Sends status and body on req (loop thread): JSON text, ended with a
 * newline, unless ctype names another type (the body as it is). */
static void
reply(struct server *srv, struct evhttp_request *req, int status,
    const char *body, const char *ctype, int close)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(
	    h, "Content-Type", ctype ? ctype : "application/json");
	/* Replies hold keys (export) and are read by browsers (console.h). */
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (close)
		evhttp_add_header(h, "Connection", "close");
	evbuffer_add(out, body, strlen(body));
	if (ctype == NULL)
		evbuffer_add(out, "\n", 1);
	conn_reply_begin(srv, req);
	evhttp_send_reply(req, status, NULL, NULL);
}

/* Replies with the transport's own answer why, made on the loop
 * thread. */
static void
reply_error(struct server *srv, struct evhttp_request *req, enum route_why why,
    const char *msg, int close)
{
	char *text = NULL;
	int status = route_answer(why, CF_OK, msg, &text);

	reply(srv, req, status, text, NULL, close);
	free(text);
}

/* ---- on a worker ------------------------------------------------- */

/* "tls:SHA256:… (CN)" or "unix:uidN": only what the agent verified, so
 * the same for one client in every record; new. */
static char *
job_actor(const struct job *j)
{
	if (j->local)
		return xasprintf("unix:uid%ld", j->uid);
	return xstrdup(j->tls_actor ? j->tls_actor : "tls:no-certificate");
}

/*
 * The request, to the store process (storeproc.h), which decides the
 * role, refuses or serves, and renders the reply.  What only the
 * network process can know goes with it: the Unix peer's uid, the TLS
 * client's fingerprint and whether its chain verifies against admin_ca.
 */
static void
job_run(struct pool_job *pj, struct storeproc_chan *ch)
{
	struct job *j = (struct job *)pj;
	struct chan_msg m, r;
	struct cf_error err;
	char *actor = job_actor(j);
	int admin = !j->local && j->admin_ca != NULL &&
		    tls_admin_verify(j->admin_ca, j->cert, j->chain);

	cf_error_clear(&err);
	memset(&m, 0, sizeof(m));
	chan_add(&m, "req");
	chan_add_long(&m, j->local);
	chan_add_long(&m, j->uid);
	chan_add(&m, j->fp);
	chan_add_long(&m, admin);
	chan_add(&m, j->method);
	chan_add(&m, j->path);
	chan_add(&m, j->query);
	chan_add(&m, j->peer);
	chan_add(&m, j->agent);
	chan_add(&m, actor);
	chan_add_bytes(&m, j->body ? (const char *)j->body : "", j->body_len);
	chan_add_long(&m, j->metrics);
	if (storeproc_call(ch, &m, &r, &err) == -1) {
		j->status = route_fail(&err, &j->out);
	} else {
		j->status = (int)chan_long(&r, 0, 500);
		j->out = xstrdup(chan_str(&r, 1));
		j->refusal = r.n > 2 && r.f[2] ? xstrdup(r.f[2]) : NULL;
		j->close = chan_long(&r, 3, 0) == 1;
		j->ctype = r.n > 4 && r.f[4] ? xstrdup(r.f[4]) : NULL;
	}
	chan_clear(&r);
	if (j->body != NULL) {
		OPENSSL_cleanse(j->body, j->body_len);
		j->body_len = 0;
	}
	free(actor);
}

/* ---- back on the loop thread ------------------------------------- */

static void
job_done(struct pool_job *pj)
{
	struct job *j = (struct job *)pj;
	char *actor;

	if (j->refusal != NULL) {
		actor = job_actor(j);
		refusal_note(j->srv, j->host, actor, j->refusal);
		free(actor);
	}
	if (j->console_peers && j->status == 200) {
		free(j->out);
		j->out = console_peers_json(j->srv->cfg);
	}
	reply(j->srv, j->req, j->status, j->out, j->ctype, j->close);
	job_free(j);
}

static void
job_discard(struct pool_job *pj)
{
	job_free((struct job *)pj);
}

/* A job for req with what every request carries; the caller adds who. */
static struct job *
job_new(struct server *srv, struct evhttp_request *req)
{
	struct job *j = xcalloc(1, sizeof(*j));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *op;

	j->pj.run = job_run;
	j->pj.done = job_done;
	j->pj.discard = job_discard;
	j->srv = srv;
	j->req = req;
	j->uid = -1;
	j->method = method_name(evhttp_request_get_command(req));
	j->path = xstrdup(path && path[0] ? path : "/");
	j->query = query ? xstrdup(query) : NULL;
	j->agent = xstrdup(srv->cfg->name);
	op = route_op(j->method, j->path);
	j->pj.slow = op != NULL && cf_api_is_slow(op);
	if ((j->body_len = evbuffer_get_length(in)) > 0) {
		j->body = xmalloc(j->body_len);
		evbuffer_remove(in, j->body, j->body_len);
	}
	return j;
}

/* Who is at the other end of a TLS connection. */
static void
identify_tls(struct server *srv, struct job *j)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	STACK_OF(X509) * chain;
	X509 *peer;
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evcon, &addr, &port);
	j->peer = xasprintf("%s:%u", addr ? addr : "?", (unsigned)port);
	j->host = xstrdup(addr ? addr : "?");
	if (ssl == NULL || (peer = SSL_get0_peer_certificate(ssl)) == NULL)
		return; /* refused: the handshake should not have let it in */
	cf_cert_fingerprint(peer, j->fp);
	j->tls_actor = tls_actor_new(peer);
	if (srv->admin_ca == NULL)
		return;
	X509_up_ref(peer);
	j->cert = peer;
	if ((chain = SSL_get_peer_cert_chain(ssl)) != NULL)
		j->chain = X509_chain_up_ref(chain);
	X509_STORE_up_ref(srv->admin_ca);
	j->admin_ca = srv->admin_ca;
}

/* Who is at the other end of the Unix socket: SO_PEERCRED. */
static void
identify_local(struct job *j)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = bufferevent_getfd(bev);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (fd >= 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		j->uid = (long)cred.uid;
		j->peer = xasprintf("unix pid %ld", (long)cred.pid);
	} else
		j->peer = xstrdup("unix");
}

/* Queues j, or answers 503 when the pool is full. */
static void
submit(struct server *srv, struct job *j)
{
	char msg[160];

	if (pool_submit(srv->pool, &j->pj) == 0)
		return;
	snprintf(msg, sizeof(msg),
	    "%s is busy: too many requests are waiting; try again shortly",
	    srv->cfg->name);
	reply_error(srv, j->req, ROUTE_BUSY, msg, 0);
	job_free(j);
}

/*
 * What is wrong with how req frames its body, or NULL.  evhttp reads
 * the first of two Content-Length headers, and chunks when a
 * Transfer-Encoding comes with one; a proxy in front may read the other
 * and see a second request in the body (request smuggling, RFC 9112
 * section 6.3).  Refused, and the connection closed.
 */
static const char *
framing_problem(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	int lengths = 0, encoded = 0;

	TAILQ_FOREACH(kv, h, next) {
		if (cf_strieq(kv->key, "Content-Length"))
			lengths++;
		else if (cf_strieq(kv->key, "Transfer-Encoding"))
			encoded = 1;
	}
	if (lengths > 1)
		return "request: more than one Content-Length header; send one";
	if (lengths == 1 && encoded)
		return "request: Content-Length and Transfer-Encoding "
		       "together; send one of them";
	return NULL;
}

/* What every request goes through first; 0 when it may proceed. */
static int
request_start(struct server *srv, struct evhttp_request *req)
{
	const char *problem;
	char msg[160];

	conn_request_begin(req);
	if ((problem = framing_problem(req)) != NULL) {
		reply_error(srv, req, ROUTE_HTTP_MALFORMED, problem, 1);
		return -1;
	}
	if (!srv->draining)
		return 0;
	snprintf(msg, sizeof(msg), "%s is shutting down", srv->cfg->name);
	reply_error(srv, req, ROUTE_DRAINING, msg, 1);
	return -1;
}

/*
 * A browser's request that would change something, without the
 * console's token for this client (csrf.h): refused with 403 before the
 * store process sees it, and audited as a refusal.  1 when refused.
 */
static int
csrf_refused(struct server *srv, struct job *j)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(j->req);
	char msg[200], *actor;

	if (strcmp(j->method, "GET") == 0 || strcmp(j->method, "HEAD") == 0 ||
	    !csrf_from_browser(h) ||
	    csrf_valid(evhttp_find_header(h, CSRF_HEADER), j->fp, time(NULL)))
		return 0;
	snprintf(msg, sizeof(msg),
	    "refused: %s %.80s from a browser without a valid console token "
	    "(" CSRF_HEADER "); reload the console",
	    j->method, j->path);
	actor = job_actor(j);
	refusal_note(srv, j->host, actor, msg);
	free(actor);
	j->status = route_answer(ROUTE_BY_CODE, CF_E_DENIED, msg, &j->out);
	reply(srv, j->req, j->status, j->out, NULL, 0);
	return 1;
}

void
request_serve_tls(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct job *j;

	if (request_start(srv, req) == -1)
		return;
	j = job_new(srv, req);
	identify_tls(srv, j);
	if (console_serve(srv, req, j->method, j->path, j->fp) ||
	    csrf_refused(srv, j)) {
		job_free(j);
		return;
	}
	console_cors(srv, req, j->method, j->path);
	/* The console's peers are this process's configuration (reloaded
	 * here); who may read them, the store decides as for whoami. */
	if (strcmp(j->method, "GET") == 0 &&
	    strcmp(j->path, CONSOLE_PEERS_PATH) == 0) {
		free(j->path);
		j->path = xstrdup("/v1/whoami");
		j->console_peers = 1;
	}
	submit(srv, j);
}

void
request_serve_local(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct job *j;

	if (request_start(srv, req) == -1)
		return;
	j = job_new(srv, req);
	j->local = 1;
	identify_local(j);
	submit(srv, j);
}

/*
 * A request of a plain-HTTP listener, for anyone who can connect, with
 * no identity: to the store process when it is GET of path (prefix: of
 * a path under it), as actor and kind (storeproc.h); 404 for anything
 * else, answered here.
 */
static void
serve_open(struct server *srv, struct evhttp_request *req, const char *path,
    int prefix, const char *actor, int kind)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct job *j;
	char *addr = NULL, *text = NULL, msg[200];
	ev_uint16_t port = 0;
	int status;

	if (request_start(srv, req) == -1)
		return;
	j = job_new(srv, req);
	if (strcmp(j->method, "GET") != 0 ||
	    (prefix ? strncmp(j->path, path, strlen(path))
		    : strcmp(j->path, path)) != 0) {
		snprintf(msg, sizeof(msg),
		    "%s %.80s: no such endpoint; this listener serves GET "
		    "%s%s only",
		    j->method, j->path, path, prefix ? "TOKEN" : "");
		status = route_answer(ROUTE_BY_CODE, CF_E_NOTFOUND, msg, &text);
		reply(srv, req, status, text, NULL, 0);
		free(text);
		job_free(j);
		return;
	}
	evhttp_connection_get_peer(evcon, &addr, &port);
	j->peer = xasprintf("%s:%u", addr ? addr : "?", (unsigned)port);
	j->host = xstrdup(addr ? addr : "?");
	j->tls_actor = xstrdup(actor);
	j->metrics = kind;
	submit(srv, j);
}

/* The plain-HTTP metrics listener (metrics_listen, loopback only): GET
 * /metrics. */
void
request_serve_metrics(struct evhttp_request *req, void *arg)
{
	serve_open(
	    arg, req, "/metrics", 0, "http:metrics", STOREPROC_OPEN_METRICS);
}

/* The ACME HTTP-01 responder (acme_listen, loopback only): GET
 * /.well-known/acme-challenge/TOKEN, which the store process answers
 * from its table (http01.h). */
void
request_serve_acme(struct evhttp_request *req, void *arg)
{
	serve_open(
	    arg, req, HTTP01_PREFIX, 1, "http:acme", STOREPROC_OPEN_ACME);
}
