/*
 * ops_get.c - cf_op_get: the certificates `get` shows, with Status, and
 * the pending requests among them; a page of them at a time for large
 * stores (cf_op_get_page).  The status context reads only the issuers
 * of the rows shown (status.c), so a page or one certificate costs
 * what it shows, not what the store holds.
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
 * Row r into view v, with chain: the strings copied into one block (r
 * keeps its own, freed with it).  Eight strings a view, each a block of
 * its own, were half the memory of a 10,000-row listing (most of them
 * short, two of them empty, each with malloc's header and rounding)
 * and 80,000 frees at its end.
 */
static void
view_from_row(struct cf_view *v, const struct cf_row *r, const char *chain)
{
	const char *const from[] = {r->f.subject, r->f.issuer, r->friendly_name,
	    r->f.serial, r->f.key_type, r->services, r->f.domains, chain};
	char **const to[] = {&v->subject, &v->issuer, &v->friendly_name,
	    &v->serial, &v->key_type, &v->services, &v->domains, &v->chain};
	size_t size = 0, i;
	char *at;

	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		size += strlen(from[i]) + 1;
	v->strings = at = xmalloc(size);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		*to[i] = block_put(&at, from[i]);
	memcpy(v->thumbprint, r->f.thumbprint, sizeof(v->thumbprint));
	v->exportable = r->exportable;
	v->has_key = r->has_key;
	v->self_signed = r->f.self_signed;
	v->not_before = r->f.not_before;
	v->not_after = r->f.not_after;
}

/* A pending request as `get` shows it: Status PendingRequest. */
static void
view_from_request(struct cf_view *v, struct cf_request *r)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->thumbprint, r->thumbprint, sizeof(v->thumbprint));
	v->subject = r->subject;
	v->key_type = r->key_type;
	v->domains = r->domains;
	v->friendly_name = r->friendly_name;
	r->subject = r->key_type = r->domains = r->friendly_name = NULL;
	v->issuer = xstrdup("");
	v->serial = xstrdup("");
	v->services = xstrdup("");
	v->chain = xstrdup("");
	v->status = "PendingRequest";
	v->exportable = r->exportable;
	v->has_key = 1;
}

static int
cmp_view(const void *a, const void *b)
{
	return strcmp(((const struct cf_view *)a)->thumbprint,
	    ((const struct cf_view *)b)->thumbprint);
}

/*
 * Adds the pending requests that sort after after (thumb NULL: all of
 * them; else the one thumb names) to *views and sorts them in among the
 * certificates.
 */
static int
add_requests(struct cf_store *s, const char *thumb, const char *after,
    struct cf_view **views, size_t *n, struct cf_error *err)
{
	struct cf_request *r = NULL;
	size_t nr = 0, i;

	if (cf_store_request_list(s, thumb, 0, &r, &nr, err) == -1)
		return -1;
	*views = xrealloc(*views, (*n + nr + 1) * sizeof(**views));
	for (i = 0; i < nr; i++)
		if (after == NULL || strcmp(r[i].thumbprint, after) > 0)
			view_from_request(&(*views)[(*n)++], &r[i]);
	if (nr > 0)
		qsort(*views, *n, sizeof(**views), cmp_view);
	cf_requests_free(r, nr);
	return 0;
}

/* Rows read at once for a listing of every certificate: the rows are
 * three times the size of the views they become, and read whole they
 * were 3 MB a 10,000-row listing, grown by copying. */
#define ROWS_AT_ONCE 1024

/* Rows into views (from *n on, *cap grown) with their status. */
static void
rows_to_views(struct cf_status_ctx *ctx, struct cf_row *rows, size_t nrows,
    time_t now, struct cf_view **views, size_t *n, size_t *cap)
{
	char *chain;
	size_t i;

	if (*n + nrows + 1 > *cap) {
		*cap = (*n + nrows + 1) * 2;
		*views = xrealloc(*views, *cap * sizeof(**views));
	}
	for (i = 0; i < nrows; i++, (*n)++) {
		memset(&(*views)[*n], 0, sizeof(**views));
		(*views)[*n].status = cf_status_of(ctx, &rows[i], now, &chain);
		view_from_row(&(*views)[*n], &rows[i], chain);
		free(chain);
	}
	memset(&(*views)[*n], 0, sizeof(**views));
}

/*
 * The rows q shows, with their status, into *views (*n so far): the
 * one thumb names, or the page q asks for, read ROWS_AT_ONCE at a time
 * when it is not an expiry filter (whose few rows come at once).  All in
 * the caller's read transaction: one moment of the store.
 */
static int
add_certificates(struct cf_store *s, const struct cf_get_query *q,
    const char *thumb, struct cf_view **views, size_t *n, struct cf_error *err)
{
	struct cf_list_page page = {.after = q->after, .limit = q->limit};
	struct cf_status_ctx *ctx = cf_status_ctx_new(s, err);
	char after[CF_THUMB_LEN + 1];
	struct cf_row *rows = NULL;
	time_t now = time(NULL);
	size_t nrows = 0, cap = 0;
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
			rows_to_views(ctx, rows, nrows, now, views, n, &cap);
	}
	while (more && rc == 0) {
		if (!q->expiring)
			page.limit =
			    q->limit == 0 || q->limit - *n > ROWS_AT_ONCE
				? ROWS_AT_ONCE
				: q->limit - *n;
		cf_rows_free(rows, nrows);
		rows = NULL;
		nrows = 0;
		if ((rc = cf_store_list_page(s, &page, &rows, &nrows, err)) ==
		    -1)
			break;
		rows_to_views(ctx, rows, nrows, now, views, n, &cap);
		more = !q->expiring && nrows == page.limit &&
		       (q->limit == 0 || *n < q->limit);
		if (more) {
			memcpy(
			    after, (*views)[*n - 1].thumbprint, sizeof(after));
			page.after = after;
		}
	}
	if (rc == 0 && *views == NULL)
		*views = xcalloc(1, sizeof(**views));
	cf_status_ctx_free(ctx);
	cf_rows_free(rows, nrows);
	return rc;
}

/* Drops the views past limit (0: none). */
static void
cut(struct cf_view *v, size_t *n, size_t limit)
{
	if (limit == 0 || *n <= limit)
		return;
	for (; *n > limit; (*n)--)
		cf_view_clear(&v[*n - 1]);
}

int
cf_op_get_page(struct cf_store *s, const struct cf_get_query *q,
    struct cf_view **views, size_t *n, struct cf_error *err)
{
	char thumb[CF_THUMB_LEN + 1];
	int rc = -1;

	*views = NULL;
	*n = 0;
	/* One read transaction: rows and links seen as of one moment. */
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (q->arg != NULL && cf_store_resolve(s, q->arg, thumb, err) == -1)
		goto out;
	if (add_certificates(s, q, q->arg ? thumb : NULL, views, n, err) == -1)
		goto out;
	/* A thumbprint names a certificate or else a request; requests
	 * never expire. */
	if (!q->expiring && (q->arg == NULL || *n == 0) &&
	    add_requests(s, q->arg ? thumb : NULL, q->arg ? NULL : q->after,
		views, n, err) == -1)
		goto out;
	if (q->arg == NULL)
		cut(*views, n, q->limit);
	rc = 0;
out:
	if (rc == -1) {
		cf_views_free(*views, *n);
		*views = NULL;
		*n = 0;
	}
	cf_store_rollback(s);
	cf_status_memo_flush(s); /* what the read learned of trust */
	return rc;
}

int
cf_op_get(struct cf_store *s, const char *arg, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_get_query q = {.arg = arg};

	return cf_op_get_page(s, &q, views, n, err);
}
