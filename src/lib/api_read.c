/*
 * api_read.c - the endpoints a reader may call (GET): whoami, the
 * certificates, the audit log and the services.  Nothing here changes
 * the store.  See api_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "api_int.h"
#include "msg.h"
#include "ops.h"
#include "transfer.h"
#include "view.h"

int
api_h_whoami(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	BIO *b = NULL;
	char *pem = NULL;

	(void)s;
	(void)q;
	(void)body;
	(void)err;
	if (c->transfer != NULL && c->transfer->cert != NULL) {
		/* The identity certificate is public; copy seals to it. */
		b = BIO_new(BIO_s_mem());
		if (b == NULL || !PEM_write_bio_X509(b, c->transfer->cert))
			abort();
		pem = cf_bio_text(b, NULL);
		BIO_free(b);
	}
	*resp = cf_msg_whoami_encode(c->agent, cf_role_name(c->role), c->client,
	    pem, c->transfer != NULL && c->transfer->npeers > 0);
	free(pem);
	return 0;
}

/*
 * get: one certificate, all of them, or (after=, limit=) a page of them;
 * a page is what a client should ask for when the store is large, so
 * that neither side builds the whole listing at once.
 */
int
api_h_certificates(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_get_query gq;
	struct cf_view *v = NULL;
	char *thumb = NULL, *after = NULL;
	size_t n = 0;
	int rc = -1;

	(void)c;
	(void)body;
	if (cf_msg_get_query_decode(q, &gq, &thumb, &after, err) == -1 ||
	    cf_op_get_page(s, &gq, &v, &n, err) == -1)
		goto out;
	*resp =
	    gq.rows ? cf_msg_view_rows_encode(v, n) : cf_msg_views_encode(v, n);
	rc = 0;
out:
	cf_views_free(v, n);
	free(thumb);
	free(after);
	return rc;
}

int
api_t_certificates(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, char **text, struct cf_error *err)
{
	struct cf_text t = {0};
	struct cf_get_query gq;
	struct cf_view *v = NULL;
	char *thumb = NULL, *after = NULL;
	size_t n = 0;
	int rc = -1;

	(void)c;
	(void)body;
	*text = NULL;
	if (cf_msg_get_query_decode(q, &gq, &thumb, &after, err) == -1 ||
	    cf_op_get_page(s, &gq, &v, &n, err) == -1)
		goto out;
	/* The views go as the page is written: the page is held as views
	 * and as text, never also as a tree. */
	if (gq.rows)
		cf_views_rows_text(&t, v, n);
	else {
		cf_text_put(&t, "[");
		cf_views_json_text(&t, v, n, NULL);
		cf_text_put(&t, "]");
	}
	*text = t.data;
	rc = 0;
out:
	cf_views_free(v, n);
	free(thumb);
	free(after);
	return rc;
}

/* About what rec takes in the reply, for the page's byte bound. */
static size_t
record_size(const struct cf_audit *rec)
{
	return strlen(rec->actor) + strlen(rec->op) + strlen(rec->thumb) +
	       strlen(rec->outcome) + 128;
}

/*
 * A page of the audit.  A reply is bounded (CF_LOG_PAGE_MAX records, about
 * CF_LOG_PAGE_BYTES), whatever the table holds, so that clients who ask and
 * do not read hold little each; the client pages on with after=ID (the
 * last Id it got) until a page comes back empty, or back with
 * newest=1&before=ID.
 */
int
api_h_log(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_audit_page pg;
	struct cf_audit *recs = NULL;
	size_t n = 0, first = 0, last, bytes = 0;

	(void)c;
	(void)body;
	if (cf_msg_log_query_decode(q, &pg, err) == -1 ||
	    cf_store_audit_page(s, &pg, &recs, &n, err) == -1)
		return -1;
	/* The byte bound cuts the far end: the newest when paging on, the
	 * oldest when paging back. */
	last = n;
	if (pg.newest)
		for (first = n; first > 0 && bytes < CF_LOG_PAGE_BYTES; first--)
			bytes += record_size(&recs[first - 1]);
	else
		for (last = 0; last < n && bytes < CF_LOG_PAGE_BYTES; last++)
			bytes += record_size(&recs[last]);
	*resp = cf_msg_audit_encode(recs + first, last - first);
	cf_audit_free(recs, n);
	return 0;
}

int
api_h_services(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_service_view *v = NULL;
	size_t n = 0;

	(void)c;
	(void)body;
	if (cf_op_services(s, cf_msg_services_query_decode(q), &v, &n, err) ==
	    -1)
		return -1;
	*resp = cf_msg_services_encode(v, n);
	cf_service_views_free(v, n);
	return 0;
}
