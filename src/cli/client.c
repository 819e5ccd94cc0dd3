/*
 * client.c - requests to agents: see client.h.  The client object, its
 * one event loop for every request of a command, and what an answer
 * means; the transports are client_tls.c (evhttp over
 * bufferevent_openssl, agents pinned by fingerprint) and client_unix.c
 * (the local agent's socket).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "client_impl.h"
#include "msg.h"
#include "util.h"
#include "view.h"

#define DEFAULT_TIMEOUT 120 /* seconds without progress; CERTFLEET_TIMEOUT */

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
	cf_views_free(a->views, a->nviews);
	free(a->raw);
	memset(a, 0, sizeof(*a));
}

void
client_answer_read(struct client_answer *a, const char *address)
{
	if (a->raw == NULL)
		return;
	/* A listing's page read straight into views: jansson's tree of it
	 * was two thirds of a remote get (view_parse.c). */
	if (!cf_views_rows_parse(a->raw, a->raw_len, &a->views, &a->nviews) &&
	    (a->json = json_loadb(a->raw, a->raw_len, 0, NULL)) == NULL)
		cf_errorf(&a->err, CF_E_PARSE,
		    "%s answered with something that is not JSON", address);
	free(a->raw);
	a->raw = NULL;
	a->raw_len = 0;
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
			cf_errorf(err, CF_E_IO,
			    "no home directory: set "
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
		cf_errorf(
		    err, CF_E_IO, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, file);
	free(dir);
	return path;
}

/* The code that fits an HTTP status, for an answer without a JSON body. */
static int
code_of_status(int status)
{
	static const struct {
		int status, code;
	} map[] = {{400, CF_E_USAGE}, {403, CF_E_DENIED}, {404, CF_E_NOTFOUND},
	    {405, CF_E_USAGE}, {409, CF_E_CONFLICT}, {413, CF_E_LIMIT}};
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
		if (k->watchdog != NULL)
			event_free(k->watchdog);
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

void
client_keep_alive(struct client *c)
{
	c->keep_alive = 1;
}

/* Marks k answered; the progress line says how many are. */
void
client_finish(struct call *k)
{
	struct client *c = k->c;

	if (k->done)
		return;
	k->done = 1;
	if (--c->pending == 0)
		event_base_loopbreak(c->base);
	if (c->progress && c->pending > 0)
		fprintf(stderr, "\r%zu of %zu agents answered",
		    c->total - c->pending, c->total);
	else if (c->progress)
		fputs("\r\033[K", stderr);
}

/*
 * Takes the answer's status and body: a 2xx answer's JSON is kept; any
 * other answer's {"code", "message"} becomes the error.  The body is
 * wiped once parsed: an export's answer carries a key.
 */
void
client_take_answer(struct call *k, int status, struct evbuffer *body)
{
	size_t len = evbuffer_get_length(body);
	json_t *j = NULL;
	char *p;

	/* A listing's page, read later (client_answer_read): its agent may
	 * be at the next page meanwhile.  Copied out once, not made whole
	 * in the buffer first. */
	if (len > 0 && k->ans->want_raw && status >= 200 && status < 300) {
		k->ans->raw = xmalloc(len);
		k->ans->raw_len =
		    (size_t)evbuffer_remove(body, k->ans->raw, len);
		k->ans->status = status;
		return;
	}
	p = len ? (char *)evbuffer_pullup(body, -1) : NULL;
	j = p ? json_loadb(p, len, 0, NULL) : NULL;
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
	else if (cf_msg_error_decode(j, code_of_status(status), &k->ans->err) ==
		 -1)
		cf_errorf(&k->ans->err, code_of_status(status),
		    "%s answered HTTP %d without an explanation "
		    "(is it a certfleetd agent?)",
		    k->t->address, status);
	json_decref(j);
}

/* Starts every call not started yet, each counted pending first. */
static void
launch(struct client *c)
{
	static void (*const start[])(struct call *) = {
	    client_tls_start, client_unix_start};
	struct call *k;

	for (k = c->calls; k != NULL; k = k->next)
		if (!k->done && !k->launched)
			c->pending++;
	c->total = c->pending;
	c->progress = c->total > 1 && isatty(STDERR_FILENO);
	for (k = c->calls; k != NULL; k = k->next) {
		if (k->done || k->launched)
			continue;
		k->launched = 1;
		start[k->t->unix_socket ? 1 : 0](k);
	}
}

void
client_start(struct client *c)
{
	launch(c);
	/* One turn of the loop writes what can be written now. */
	if (c->pending > 0)
		event_base_loop(c->base, EVLOOP_NONBLOCK);
}

void
client_run(struct client *c)
{
	launch(c);
	if (c->pending > 0)
		event_base_dispatch(c->base);
}
