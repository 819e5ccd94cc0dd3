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
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "fast.h"
#include "status.h"

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

/*
 * Whether the trust of every chain top a listing of s can meet is in
 * the store's memo: the walk from each place a chain starts, each asked
 * as a certificate would be, with dates that never lapse.
 */
static int
tops_known(struct cf_store *s)
{
	struct cf_status_ctx *ctx = NULL;
	struct cf_walk_start *starts = NULL;
	struct cf_error err;
	struct cf_row r;
	size_t n = 0, i;
	char *chain;

	cf_error_clear(&err);
	if (cf_store_walk_starts(s, &starts, &n, &err) == -1)
		return 0;
	ctx = cf_status_ctx_new(s, &err);
	for (i = 0; i < n && !fast_trust_unknown(); i++) {
		/* A certificate of that issuer, or that certificate. */
		memset(&r, 0, sizeof(r));
		r.table = CF_END;
		r.f.not_after = (time_t)1 << 40;
		if (starts[i].own)
			memcpy(r.f.thumbprint, starts[i].thumbprint,
			    sizeof(r.f.thumbprint));
		else
			memcpy(r.signed_by, starts[i].thumbprint,
			    sizeof(r.signed_by));
		(void)cf_status_of(ctx, &r, time(NULL), &chain);
		free(chain);
	}
	cf_status_ctx_free(ctx);
	free(starts);
	return !fast_trust_unknown();
}

struct cf_store *
backend_local_store(const struct backend *b)
{
	/* A listing is printed as it is read: every Status must be the
	 * front-end's to tell before the first line. */
	if (!tops_known(b->store))
		exit(fast_exec_full());
	fast_trust_promised();
	/* Read through a memory map, as the full one reads: a listing
	 * touches most of the index it reads.  Not for one certificate or
	 * the few expiring: mapping and unmapping 20 MB cost more than the
	 * few pages they read. */
	cf_store_map(b->store);
	return b->store;
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
backend_fail(const struct backend *b, size_t i, const char *op,
    const struct cf_error *err)
{
	(void)b;
	(void)i;
	return cli_fail(op, err); /* one local store: named by nothing */
}

int
backend_fail_all(const struct backend *b, const char *op,
    const struct backend_reply *r, size_t *failed)
{
	if (failed != NULL)
		*failed = r[0].err.code != CF_OK;
	return r[0].err.code != CF_OK ? backend_fail(b, 0, op, &r[0].err) : 0;
}
