/*
 * backend.c - the front-end's backend (backend.h): one local store,
 * opened to read (cf_store_open_reader), and `get` only.  Whatever it
 * cannot answer as the full certfleet would, it hands to the full one
 * before a line is printed: an agent (--server, the socket), a store
 * to create or upgrade or not there, and a Status whose trust the
 * store's memo does not hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "fast.h"

struct backend {
	struct cf_store *store;
	char host[64]; /* this host's name, the Server of the rows */
};

int
backend_open(const char *op, struct backend **out)
{
	const char *dir = cli_store_dir();
	struct cf_error err;
	struct backend *b;

	*out = NULL;
	if (strcmp(op, "get") != 0 || dir == NULL || cli.server != NULL ||
	    cli.init || cli.fingerprint != NULL)
		exit(fast_exec_full());
	cf_error_clear(&err);
	b = xcalloc(1, sizeof(*b));
	if ((b->store = cf_store_open_reader(dir, &err)) == NULL) {
		free(b);
		exit(fast_exec_full()); /* its message, or it upgrades */
	}
	if (gethostname(b->host, sizeof(b->host) - 1) == -1)
		strcpy(b->host, "localhost");
	*out = b;
	return 0;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	cf_store_free(b->store);
	free(b);
}

size_t
backend_count(const struct backend *b)
{
	(void)b;
	return 1;
}

const char *
backend_server(const struct backend *b, size_t i)
{
	(void)i;
	return b->host;
}

struct backend_reply *
backend_replies_new(const struct backend *b)
{
	(void)b;
	return xcalloc(1, sizeof(struct backend_reply));
}

void
backend_replies_free(struct backend_reply *r, size_t n)
{
	if (r != NULL && n > 0)
		cf_views_free(r->views, r->nviews);
	free(r);
}

void
backend_run(struct backend *b, enum backend_op op,
    const struct backend_req *req, struct backend_reply *r)
{
	struct cf_get_query q = req->get;

	if (op != BACKEND_GET)
		exit(fast_exec_full());
	q.arg = req->arg;
	q.after = NULL;
	q.limit = 0;
	cf_views_free(r->views, r->nviews);
	r->views = NULL;
	r->nviews = 0;
	if (cf_op_get_page(b->store, &q, &r->views, &r->nviews, &r->err) == 0 &&
	    fast_trust_unknown()) {
		/* The store is let go first: SQLite's locks are the
		 * process's, and the full one opens it afresh. */
		cf_views_free(r->views, r->nviews);
		r->views = NULL;
		cf_store_free(b->store);
		b->store = NULL;
		exit(fast_exec_full());
	}
}

int
backend_fail_all(const struct backend *b, const char *op,
    const struct backend_reply *r, size_t *failed)
{
	(void)b;
	if (failed != NULL)
		*failed = r[0].err.code != CF_OK;
	return r[0].err.code != CF_OK ? cli_fail(op, &r[0].err) : 0;
}
