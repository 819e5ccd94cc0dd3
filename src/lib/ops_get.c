/*
 * ops_get.c - cf_op_get: the certificates `get` shows, with Status, and
 * the pending requests among them; a page of them at a time for large
 * stores (cf_op_get_page), or each handed out as it is read
 * (cf_op_get_each, which the others keep).  The status context reads
 * only the issuers of the rows shown (status.c), so a page or one
 * certificate costs what it shows, not what the store holds.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "status.h"
#include "util.h"

void
cf_view_clear(struct cf_view *v)
{
	if (v->strings != NULL)
		free(v->strings);
	else {
		free(v->subject);
		free(v->issuer);
		free(v->friendly_name);
		free(v->serial);
		free(v->key_type);
		free(v->services);
		free(v->domains);
		free(v->chain);
	}
	memset(v, 0, sizeof(*v));
}

void
cf_views_free(struct cf_view *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		cf_view_clear(&v[i]);
	free(v);
}

/* Copies s (with its NUL) to *at, which moves past it; s's copy. */
static char *
block_put(char **at, const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = *at;

	memcpy(copy, s, len);
	*at += len;
	return copy;
}

/*
 * A copy of view w (its strings lent) into v, the strings in one block.
 * Eight strings a view, each a block of its own, were half the memory
 * of a 10,000-row listing (most of them short, two of them empty, each
 * with malloc's header and rounding) and 80,000 frees at its end.
 */
static void
view_copy(struct cf_view *v, const struct cf_view *w)
{
	const char *const from[] = {w->subject, w->issuer, w->friendly_name,
	    w->serial, w->key_type, w->services, w->domains, w->chain};
	char **const to[] = {&v->subject, &v->issuer, &v->friendly_name,
	    &v->serial, &v->key_type, &v->services, &v->domains, &v->chain};
	size_t size = 0, i;
	char *at;

	*v = *w;
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		size += strlen(from[i]) + 1;
	v->strings = at = xmalloc(size);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		*to[i] = block_put(&at, from[i]);
}

/* What a lent view of a pending request shows where it has nothing. */
static char nothing[] = "";

/* Row r as a view v whose strings are r's and chain (lent). */
static void
view_of_row(
    struct cf_view *v, const struct cf_row *r, const char *status, char *chain)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->thumbprint, r->f.thumbprint, sizeof(v->thumbprint));
	v->subject = r->f.subject;
	v->issuer = r->f.issuer;
	v->friendly_name = r->friendly_name;
	v->serial = r->f.serial;
	v->key_type = r->f.key_type;
	v->services = r->services;
	v->domains = r->f.domains;
	v->chain = chain;
	v->status = status;
	v->exportable = r->exportable;
	v->has_key = r->has_key;
	v->self_signed = r->f.self_signed;
	v->not_before = r->f.not_before;
	v->not_after = r->f.not_after;
}

/* A pending request as `get` shows it, Status PendingRequest, as a view
 * v whose strings are r's (lent). */
static void
view_of_request(struct cf_view *v, const struct cf_request *r)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->thumbprint, r->thumbprint, sizeof(v->thumbprint));
	v->subject = r->subject;
	v->key_type = r->key_type;
	v->domains = r->domains;
	v->friendly_name = r->friendly_name;
	v->issuer = v->serial = v->services = v->chain = nothing;
	v->status = "PendingRequest";
	v->exportable = r->exportable;
	v->has_key = 1;
}

/*
 * A listing as it is handed out, one view at a time: the pending
 * requests (sorted, as the store gives them) merged in their place
 * among the certificates, which come sorted too, until limit (0: no
 * bound).  The view is one on the stack, its strings the rows': nothing
 * of the listing is held past its page.
 */
struct each {
	int (*fn)(const struct cf_view *v, void *arg);
	void *arg;
	size_t limit, n; /* handed out so far */
	int stop;        /* 1: the limit reached; -1: fn said stop */
	struct cf_request *req;
	size_t nreq, next; /* the requests; the first not handed out */
};

/* Hands v to the caller's function, unless the listing has stopped. */
static void
hand(struct each *e, const struct cf_view *v)
{
	if (e->stop != 0)
		return;
	if (e->limit != 0 && e->n >= e->limit) {
		e->stop = 1;
		return;
	}
	e->n++;
	if (e->fn(v, e->arg) == -1)
		e->stop = -1;
}

/* Hands out the pending requests that sort before thumb (NULL: all
 * that are left). */
static void
hand_requests(struct each *e, const char *thumb)
{
	struct cf_view v;

	for (; e->next < e->nreq && e->stop == 0; e->next++) {
		if (thumb != NULL &&
		    strcmp(e->req[e->next].thumbprint, thumb) > 0)
			break;
		view_of_request(&v, &e->req[e->next]);
		hand(e, &v);
	}
}

/* Hands out the n rows with their status, each after the requests
 * that sort before it. */
static void
hand_rows(struct each *e, struct cf_status_ctx *ctx, const struct cf_row *rows,
    size_t n, time_t now)
{
	const char *status;
	struct cf_view v;
	char *chain;
	size_t i;

	for (i = 0; i < n && e->stop == 0; i++) {
		hand_requests(e, rows[i].f.thumbprint);
		if (e->stop != 0)
			break;
		status = cf_status_of(ctx, &rows[i], now, &chain);
		view_of_row(&v, &rows[i], status, chain);
		hand(e, &v);
		free(chain);
	}
}

/* Rows read at once for a listing of every certificate: the rows are
 * three times the size of the views they become, and read whole they
 * were 3 MB a 10,000-row listing, grown by copying.  A page of rows is
 * all a listing handed out holds: 1024 at once touched 115 more pages
 * (page faults) of a 10,000-row listing than 256, and 40 queries cost
 * no more than 10. */
#define ROWS_AT_ONCE 256

/*
 * The certificates q shows, with their status, handed out: the one
 * thumb names, or the page q asks for, read ROWS_AT_ONCE at a time when
 * it is not an expiry filter (whose few rows come at once).  All in the
 * caller's read transaction: one moment of the store.
 */
static int
hand_certificates(struct cf_store *s, const struct cf_get_query *q,
    const char *thumb, struct each *e, struct cf_error *err)
{
	struct cf_list_page page = {.after = q->after, .limit = q->limit};
	struct cf_status_ctx *ctx = cf_status_ctx_new(s, err);
	char after[CF_THUMB_LEN + 1];
	struct cf_row *rows = NULL;
	time_t now = time(NULL);
	size_t nrows = 0;
	int rc = 0, more = 1;

	if (q->expiring && q->percent > 0) {
		page.percent = q->percent;
		page.now = now;
	} else if (q->expiring)
		page.expires_before = now + (time_t)q->days * 86400;
	if (thumb != NULL) {
		more = 0;
		rc = cf_store_list(s, CF_END, thumb, 0, &rows, &nrows, err);
		if (rc == 0)
			hand_rows(e, ctx, rows, nrows, now);
	}
	while (more && rc == 0) {
		if (!q->expiring)
			page.limit =
			    e->limit == 0 || e->limit - e->n > ROWS_AT_ONCE
				? ROWS_AT_ONCE
				: e->limit - e->n;
		cf_rows_free(rows, nrows);
		rows = NULL;
		nrows = 0;
		if ((rc = cf_store_list_page(s, &page, &rows, &nrows, err)) ==
		    -1)
			break;
		hand_rows(e, ctx, rows, nrows, now);
		more = !q->expiring && nrows == page.limit && e->stop == 0 &&
		       (e->limit == 0 || e->n < e->limit);
		if (more) {
			memcpy(
			    after, rows[nrows - 1].f.thumbprint, sizeof(after));
			page.after = after;
		}
	}
	cf_status_ctx_free(ctx);
	cf_rows_free(rows, nrows);
	return rc;
}

/*
 * The listing handed out: with arg, the certificate it names or else
 * the request; without, the certificates and (unless expiring: requests
 * never expire) the requests after q->after, merged by thumbprint.
 */
static int
hand_listing(struct cf_store *s, const struct cf_get_query *q, struct each *e,
    struct cf_error *err)
{
	char thumb[CF_THUMB_LEN + 1];

	if (q->arg != NULL) {
		if (cf_store_resolve(s, q->arg, thumb, err) == -1 ||
		    hand_certificates(s, q, thumb, e, err) == -1)
			return -1;
		/* A thumbprint names a certificate or else a request. */
		if (q->expiring || e->n > 0)
			return 0;
		if (cf_store_request_list(
			s, thumb, 0, &e->req, &e->nreq, err) == -1)
			return -1;
		hand_requests(e, NULL);
		return 0;
	}
	if (!q->expiring) {
		if (cf_store_request_list(s, NULL, 0, &e->req, &e->nreq, err) ==
		    -1)
			return -1;
		while (q->after != NULL && e->next < e->nreq &&
		       strcmp(e->req[e->next].thumbprint, q->after) <= 0)
			e->next++;
	}
	if (hand_certificates(s, q, NULL, e, err) == -1)
		return -1;
	hand_requests(e, NULL);
	return 0;
}

int
cf_op_get_each(struct cf_store *s, const struct cf_get_query *q,
    int (*fn)(const struct cf_view *v, void *arg), void *arg,
    struct cf_error *err)
{
	struct each e = {.fn = fn, .arg = arg};
	int rc = -1;

	/* A page bounds a listing; one certificate is one at most. */
	e.limit = q->arg == NULL ? q->limit : 0;
	/* One read transaction: rows and links seen as of one moment. */
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (hand_listing(s, q, &e, err) == 0 && e.stop != -1)
		rc = 0;
	cf_requests_free(e.req, e.nreq);
	cf_store_rollback(s);
	cf_status_memo_flush(s); /* what the read learned of trust */
	return rc;
}

/* The views of a listing, kept (cf_op_get_page). */
struct kept {
	struct cf_view *v;
	size_t n, cap;
};

static int
keep(const struct cf_view *v, void *arg)
{
	struct kept *k = arg;

	/* Grown as the pages come (a page more, doubled): grown from a few
	 * views by doubling, the copies left the heap in holes, 200 more
	 * page faults a 10,000-row listing. */
	if (k->n + 1 >= k->cap) {
		k->cap = (k->n + ROWS_AT_ONCE + 1) * 2;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	view_copy(&k->v[k->n++], v);
	return 0;
}

int
cf_op_get_page(struct cf_store *s, const struct cf_get_query *q,
    struct cf_view **views, size_t *n, struct cf_error *err)
{
	struct kept k = {0};

	*views = NULL;
	*n = 0;
	if (cf_op_get_each(s, q, keep, &k, err) == -1) {
		cf_views_free(k.v, k.n);
		return -1;
	}
	if (k.v == NULL)
		k.v = xmalloc(sizeof(*k.v));
	memset(&k.v[k.n], 0, sizeof(*k.v)); /* one zeroed past the last */
	*views = k.v;
	*n = k.n;
	return 0;
}

int
cf_op_get(struct cf_store *s, const char *arg, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_get_query q = {.arg = arg};

	return cf_op_get_page(s, &q, views, n, err);
}
