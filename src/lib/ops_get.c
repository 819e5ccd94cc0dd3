/*
 * ops_get.c - cf_op_get: the certificates `get` shows, with Status, and
 * the pending requests among them.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "status.h"
#include "util.h"

void
cf_views_free(struct cf_view *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].subject);
		free(v[i].issuer);
		free(v[i].friendly_name);
		free(v[i].serial);
		free(v[i].key_type);
		free(v[i].services);
		free(v[i].domains);
		free(v[i].chain);
	}
	free(v);
}

/* Moves the strings of row r into view v (r is cleared after). */
static void
view_from_row(struct cf_view *v, struct cf_row *r)
{
	memcpy(v->thumbprint, r->f.thumbprint, sizeof(v->thumbprint));
	v->subject = r->f.subject;
	v->issuer = r->f.issuer;
	v->serial = r->f.serial;
	v->key_type = r->f.key_type;
	v->domains = r->f.domains;
	v->friendly_name = r->friendly_name;
	v->services = r->services;
	r->f.subject = r->f.issuer = r->f.serial = r->f.key_type = NULL;
	r->f.domains = r->friendly_name = r->services = NULL;
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
 * Adds the pending requests (thumb NULL: all, sorted in among the
 * certificates) to *views.
 */
static int
add_requests(struct cf_store *s, const char *thumb, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_request *r = NULL;
	size_t nr = 0, i;

	if (cf_store_request_list(s, thumb, 0, &r, &nr, err) == -1)
		return -1;
	if (nr > 0) {
		*views = xrealloc(*views, (*n + nr + 1) * sizeof(**views));
		for (i = 0; i < nr; i++)
			view_from_request(&(*views)[(*n)++], &r[i]);
		qsort(*views, *n, sizeof(**views), cmp_view);
	}
	cf_requests_free(r, nr);
	return 0;
}

int
cf_op_get(struct cf_store *s, const char *arg, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_status_ctx *ctx = NULL;
	struct cf_row *rows = NULL, *list = NULL;
	char thumb[CF_THUMB_LEN + 1];
	size_t nrows = 0, nlist = 0, i;
	time_t now = time(NULL);
	int rc = -1;

	*views = NULL;
	*n = 0;
	/* One read transaction: rows and links seen as of one moment. */
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (arg != NULL && cf_store_resolve(s, arg, thumb, err) == -1)
		goto out;
	if ((ctx = cf_status_ctx_new(s, err)) == NULL)
		goto out;
	if (arg != NULL) {
		if (cf_store_list(s, CF_END, thumb, 0, &rows, &nrows, err) ==
		    -1)
			goto out;
		list = rows;
	} else
		list =
		    cf_status_ctx_ends(ctx, &nlist); /* read once, not twice */
	if (arg != NULL)
		nlist = nrows;
	*views = xcalloc(nlist + 1, sizeof(**views));
	/* A row's status is computed before its strings move to the view;
	 * status needs only thumbprints, links and dates of other rows. */
	for (i = 0; i < nlist; i++) {
		(*views)[i].status =
		    cf_status_of(ctx, &list[i], now, &(*views)[i].chain);
		view_from_row(&(*views)[i], &list[i]);
	}
	*n = nlist;
	if ((arg == NULL || nlist == 0) &&
	    add_requests(s, arg ? thumb : NULL, views, n, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		cf_views_free(*views, *n);
		*views = NULL;
		*n = 0;
	}
	cf_store_rollback(s);
	cf_status_ctx_free(ctx);
	cf_rows_free(rows, nrows);
	return rc;
}
