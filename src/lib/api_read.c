/*
 * api_read.c - the endpoints a reader may call (GET): whoami, the
 * certificates, the audit log and the services.  Nothing here changes
 * the store.  See api_int.h.
 */
#include <errno.h>
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

int
api_h_log(struct cf_store *s, const struct cf_api_caller *c, const char *q,
    json_t *body, json_t **resp, struct cf_error *err)
{
	struct cf_audit *recs = NULL;
	char *since = api_query_get(q, "since"), *end = NULL;
	long long t = 0;
	size_t n = 0, i;

	(void)c;
	(void)body;
	if (since != NULL) {
		errno = 0;
		t = strtoll(since, &end, 10);
		if (end == since || *end != '\0' || t < 0 || errno == ERANGE ||
		    (long long)(time_t)t != t) {
			free(since);
			return cf_errorf(err, CF_E_USAGE,
			    "since: seconds since 1970, a whole number");
		}
	}
	free(since);
	if (cf_store_audit_list(s, (time_t)t, &recs, &n, err) == -1)
		return -1;
	/* Rows written before audit text was escaped may hold any bytes:
	 * each string is made JSON, so that no row is dropped. */
	*resp = json_array();
	for (i = 0; i < n; i++) {
		char iso[21];
		cf_time_iso(recs[i].time, iso);
		json_array_append_new(*resp,
		    json_pack("{s:s, s:o, s:o, s:o, s:o}", "Time", iso, "Actor",
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
