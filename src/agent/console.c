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
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "console.h"
#include "csrf.h"
#include "server.h"
#include "util.h"

#define CONSOLE_CSP                                                            \
	"default-src 'self'; object-src 'none'; base-uri 'none'; "             \
	"form-action 'self'; frame-ancestors 'none'"

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

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Content-Security-Policy", CONSOLE_CSP);
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
