/*
 * api_read.c - the endpoints a reader may call (GET): whoami, the
 * certificates, the audit log and the services.  Nothing here changes
 * the store.  See api_int.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "api_int.h"
#include "ops.h"
#include "transfer.h"
#include "version.h"
#include "view.h"

int
api_h_whoami(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	(void)s;
	(void)q;
	(void)body;
	(void)err;
	*resp = json_pack("{s:o, s:s, s:o, s:s}", "agent",
	    cf_json_string(c->agent), "role", cf_role_name(c->role), "client",
	    cf_json_string(c->client), "version", CF_VERSION);
	if (c->transfer != NULL && c->transfer->cert != NULL) {
		/* The identity certificate is public; copy seals to it. */
		BIO *b = BIO_new(BIO_s_mem());
		char *pem;
		long n;
		if (b == NULL || !PEM_write_bio_X509(b, c->transfer->cert))
			abort();
		n = BIO_get_mem_data(b, &pem);
		json_object_set_new(
		    *resp, "certificate", json_stringn(pem, (size_t)n));
		json_object_set_new(
		    *resp, "transfer", json_boolean(c->transfer->npeers > 0));
		BIO_free(b);
	}
	return 0;
}

int
api_h_certificates(struct cf_store *s, const struct cf_api_caller *c,
    const char *q, json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_view *v = NULL;
	char *thumb = api_query_get(q, "thumbprint");
	size_t n = 0, i;
	int rc;

	(void)c;
	(void)body;
	rc = cf_op_get(s, thumb, &v, &n, err);
	free(thumb);
	if (rc == -1)
		return -1;
	*resp = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(*resp, cf_view_json(&v[i]));
	cf_views_free(v, n);
	return 0;
}

/* The query's key as a whole number from 0 to max into *v (left alone
 * when absent); -1 and err set when it is not one. */
static int
query_number(const char *q, const char *key, long long max, long long *v,
    struct cf_error *err)
{
	char *text = api_query_get(q, key), *end = NULL;
	long long n;
	int rc = 0;

	if (text == NULL)
		return 0;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || n < 0 || n > max)
		rc = cf_errorf(err, CF_E_USAGE,
		    "%s: a whole number from 0 to %lld", key, max);
	else
		*v = n;
	free(text);
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
	struct cf_audit_page pg = {.limit = CF_LOG_PAGE_MAX};
	struct cf_audit *recs = NULL;
	long long since = 0, after = 0, before = 0, limit = CF_LOG_PAGE_MAX;
	long long newest = 0;
	size_t n = 0, i, first = 0, last, bytes = 0;

	(void)c;
	(void)body;
	if (query_number(q, "since", INT64_MAX / 2, &since, err) == -1 ||
	    query_number(q, "after", INT64_MAX, &after, err) == -1 ||
	    query_number(q, "before", INT64_MAX, &before, err) == -1 ||
	    query_number(q, "limit", CF_LOG_PAGE_MAX, &limit, err) == -1 ||
	    query_number(q, "newest", 1, &newest, err) == -1)
		return -1;
	pg.since = (time_t)since;
	pg.after = after;
	pg.before = before;
	pg.limit = limit > 0 ? (size_t)limit : CF_LOG_PAGE_MAX;
	pg.newest = (int)newest;
	if (cf_store_audit_page(s, &pg, &recs, &n, err) == -1)
		return -1;
	/* The byte bound cuts the far end: the newest when paging on, the
	 * oldest when paging back. */
	last = n;
	if (newest)
		for (first = n; first > 0 && bytes < CF_LOG_PAGE_BYTES; first--)
			bytes += record_size(&recs[first - 1]);
	else
		for (last = 0; last < n && bytes < CF_LOG_PAGE_BYTES; last++)
			bytes += record_size(&recs[last]);
	*resp = json_array();
	for (i = first; i < last; i++) {
		char iso[21];
		cf_time_iso(recs[i].time, iso);
		json_array_append_new(*resp,
		    json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "Id",
			(json_int_t)recs[i].id, "Time", iso, "Actor",
			cf_json_string(recs[i].actor), "Operation",
			cf_json_string(recs[i].op), "Thumbprint",
			cf_json_string(recs[i].thumb), "Outcome",
			cf_json_string(recs[i].outcome)));
	}
	cf_audit_free(recs, n);
	return 0;
}

/* A thumbprint, or null when there is none. */
static json_t *
thumb_or_null(const char *t)
{
	return t[0] ? cf_json_string(t) : json_null();
}

int
api_h_services(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_service_view *v = NULL;
	size_t n = 0, i;

	char *probe = api_query_get(q, "probe");
	int live = probe == NULL || strcmp(probe, "0") != 0;

	(void)c;
	(void)body;
	free(probe);
	if (cf_op_services(s, live, &v, &n, err) == -1)
		return -1;
	*resp = json_array();
	for (i = 0; i < n; i++) {
		char iso[21] = "";
		if (v[i].not_after != 0)
			cf_time_iso(v[i].not_after, iso);
		json_t *o =
		    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}",
			"Service", cf_json_string(v[i].name), "Kind",
			cf_json_string(v[i].kind), "Assigned",
			thumb_or_null(v[i].assigned), "OnDisk",
			thumb_or_null(v[i].on_disk), "Served",
			thumb_or_null(v[i].served), "Match",
			v[i].match < 0 ? json_null() : json_boolean(v[i].match),
			"NotAfter", iso, "Endpoint",
			cf_json_string(v[i].endpoint), "Problem",
			cf_json_string(v[i].problem));
		json_object_set_new(
		    o, "CheckHost", cf_json_string(v[i].check_host));
		json_object_set_new(
		    o, "CheckPort", cf_json_string(v[i].check_port));
		json_object_set_new(o, "Protocol", cf_json_string(v[i].proto));
		json_object_set_new(o, "Name", cf_json_string(v[i].sni));
		json_array_append_new(*resp, o);
	}
	cf_service_views_free(v, n);
	return 0;
}
