/*
 * console.c - the web console's files, from memory: see console.h.
 *
 * The network process is confined (confine.h): it opens no file after
 * it starts, so the files are built in.  They hold nothing secret and
 * go to any client the TLS handshake let in; what the pages show comes
 * from the API, where the store process decides the role.  Each answer
 * carries a strict Content-Security-Policy (scripts and styles from
 * this origin only, no inline script or style, no framing) and is never
 * cached.
 *
 * The fleet page also asks the agents of console_peers (config.h) from
 * the browser, with the admin's own certificate: the policy lets it
 * connect to their origins, and this agent answers their pages' reads
 * of the few routes the fleet page needs (CORS, console_cors).  No
 * agent asks another or gains any authority over it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "config.h"
#include "console.h"
#include "csrf.h"
#include "server.h"
#include "util.h"

#define CONSOLE_CSP_REST                                                       \
	"object-src 'none'; base-uri 'none'; form-action 'self'; "             \
	"frame-ancestors 'none'"

/* The routes another agent's fleet page reads from this one. */
static const char *const cors_paths[] = {
    "/v1/whoami",
    "/v1/certificates",
    "/v1/services",
};

/* The Content-Security-Policy of the console under c: this origin
 * only, and connections to its peers' origins; new. */
static char *
console_csp(const struct agent_config *c)
{
	struct evbuffer *b = evbuffer_new();
	size_t i, len;
	char *out;

	if (b == NULL)
		abort(); /* allocation */
	evbuffer_add_printf(b, "default-src 'self'; ");
	if (c->nconsole_peers > 0) {
		evbuffer_add_printf(b, "connect-src 'self'");
		for (i = 0; i < c->nconsole_peers; i++)
			evbuffer_add_printf(
			    b, " %s", c->console_peers[i].origin);
		evbuffer_add_printf(b, "; ");
	}
	evbuffer_add_printf(b, "%s", CONSOLE_CSP_REST);
	len = evbuffer_get_length(b);
	out = xmalloc(len + 1);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	return out;
}

const struct console_asset *
console_find(const char *path)
{
	size_t i;

	for (i = 0; i < console_nassets; i++)
		if (strcmp(path, console_assets[i].path) == 0)
			return &console_assets[i];
	return NULL;
}

/* Sends len bytes of data as ctype on req, with the headers every
 * console answer has. */
static void
console_send(struct server *srv, struct evhttp_request *req, const char *ctype,
    const void *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char *csp = console_csp(srv->cfg);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Content-Security-Policy", csp);
	free(csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(out, data, len);
	conn_reply_begin(srv, req);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* GET /v1/csrf: {"token": "…", "header": "X-Certfleet-CSRF",
 * "expires_in": seconds}, for the certificate fp. */
static void
console_csrf(struct server *srv, struct evhttp_request *req, const char *fp)
{
	char token[CSRF_TOKEN_MAX], *text, *body;
	json_t *j;

	csrf_token(fp, time(NULL), token);
	j = json_pack("{s:s, s:s, s:i}", "token", token, "header", CSRF_HEADER,
	    "expires_in", CSRF_LIFETIME);
	if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL)
		abort(); /* ASCII strings: allocation */
	json_decref(j);
	body = xasprintf("%s\n", text); /* as every JSON reply */
	console_send(srv, req, "application/json", body, strlen(body));
	free(body);
	free(text);
}

int
console_serve(struct server *srv, struct evhttp_request *req,
    const char *method, const char *path, const char *fp)
{
	const struct console_asset *a;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 0;
	if (strcmp(path, "/v1/csrf") == 0 && fp != NULL && fp[0] != '\0') {
		console_csrf(srv, req, fp);
		return 1;
	}
	if ((a = console_find(path)) == NULL)
		return 0;
	console_send(srv, req, a->ctype, a->data, a->len);
	return 1;
}

char *
console_peers_json(const struct agent_config *c)
{
	json_t *a = json_array(), *o;
	char *text;
	size_t i;

	if (a == NULL)
		abort(); /* allocation */
	for (i = 0; i < c->nconsole_peers; i++) {
		o = json_pack("{s:s, s:s}", "Name", c->console_peers[i].name,
		    "Url", c->console_peers[i].origin);
		if (o == NULL || json_array_append_new(a, o) == -1)
			abort(); /* checked ASCII strings: allocation */
	}
	if ((text = json_dumps(a, JSON_COMPACT)) == NULL)
		abort();
	json_decref(a);
	return text;
}

void
console_cors(struct server *srv, struct evhttp_request *req, const char *method,
    const char *path)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const struct agent_config *c = srv->cfg;
	const char *origin = evhttp_find_header(in, "Origin");
	size_t i;

	if (origin == NULL || strcmp(method, "GET") != 0)
		return;
	for (i = 0; i < sizeof(cors_paths) / sizeof(cors_paths[0]); i++)
		if (strcmp(path, cors_paths[i]) == 0)
			break;
	if (i == sizeof(cors_paths) / sizeof(cors_paths[0]))
		return;
	for (i = 0; i < c->nconsole_peers; i++)
		if (strcmp(origin, c->console_peers[i].origin) == 0)
			break;
	if (i == c->nconsole_peers)
		return;
	evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
	evhttp_add_header(h, "Access-Control-Allow-Credentials", "true");
	evhttp_add_header(h, "Vary", "Origin");
}
