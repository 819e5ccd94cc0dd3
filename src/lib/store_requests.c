/*
 * store_requests.c - pending requests in the store: see store.h.  The
 * key of a request is sealed like a certificate's, under its own
 * associated data ("certfleet-request-v1:<thumbprint>"), so a sealed
 * request key copied into the keys table does not open there.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

static char *
aad_new(const char *thumb)
{
	return xasprintf("certfleet-request-v1:%s", thumb);
}

void
cf_requests_free(struct cf_request *r, size_t n)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++) {
		free(r[i].subject);
		free(r[i].domains);
		free(r[i].key_type);
		free(r[i].friendly_name);
		free(r[i].csr);
	}
	free(r);
}

int
cf_store_request_put(struct cf_store *s, const struct cf_request *r,
    const unsigned char *pkcs8, size_t len, struct cf_error *err)
{
	struct cf_buf sealed = {0};
	sqlite3_stmt *st = NULL;
	char *aad = aad_new(r->thumbprint);
	int rc = -1;

	if (cf_seal(s->seal, aad, pkcs8, len, &sealed, err) == -1)
		goto out;
	st = store_prepare(s,
	    "INSERT INTO requests (thumbprint, subject, domains, key_type, "
	    "spki, exportable, friendly_name, renews, csr, sealed, created) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	    err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, r->thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 3, r->domains ? r->domains : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->spki, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->exportable);
	sqlite3_bind_text(
	    st, 7, r->friendly_name ? r->friendly_name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->renews, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, r->csr, (int)r->csr_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, sealed.data, (int)sealed.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_error(s, err, "store request");
		goto out;
	}
	rc = 0;
out:
	store_release(s, st);
	cf_buf_clear(&sealed);
	free(aad);
	return rc;
}

/* One row of the SELECT in cf_store_request_list into r. */
static void
row_of(sqlite3_stmt *st, int with_csr, struct cf_request *r)
{
	char *t;

	memset(r, 0, sizeof(*r));
	t = store_col_text(st, 0);
	snprintf(r->thumbprint, sizeof(r->thumbprint), "%s", t);
	free(t);
	r->subject = store_col_text(st, 1);
	r->domains = store_col_text(st, 2);
	r->key_type = store_col_text(st, 3);
	t = store_col_text(st, 4);
	snprintf(r->spki, sizeof(r->spki), "%s", t);
	free(t);
	r->exportable = sqlite3_column_int(st, 5);
	r->friendly_name = store_col_text(st, 6);
	t = store_col_text(st, 7);
	snprintf(r->renews, sizeof(r->renews), "%s", t);
	free(t);
	r->created = (time_t)sqlite3_column_int64(st, 8);
	if (with_csr && sqlite3_column_bytes(st, 9) > 0) {
		r->csr_len = (size_t)sqlite3_column_bytes(st, 9);
		r->csr = xmalloc(r->csr_len);
		memcpy(r->csr, sqlite3_column_blob(st, 9), r->csr_len);
	}
}

int
cf_store_request_list(struct cf_store *s, const char *thumb, int with_csr,
    struct cf_request **out, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	st = store_prepare(s,
	    thumb ? "SELECT thumbprint, subject, domains, key_type, spki, "
		    "exportable, friendly_name, renews, created, csr FROM "
		    "requests WHERE thumbprint = ?1"
		  : "SELECT thumbprint, subject, domains, key_type, spki, "
		    "exportable, friendly_name, renews, created, csr FROM "
		    "requests ORDER BY thumbprint",
	    err);
	if (st == NULL)
		return -1;
	if (thumb != NULL)
		sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		row_of(st, with_csr, &(*out)[(*n)++]);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_requests_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_db_error(s, err, "read requests");
	}
	return 0;
}

int
cf_store_request_by_spki(struct cf_store *s, const char *spki,
    char out[CF_THUMB_LEN + 1], struct cf_error *err)
{
	sqlite3_stmt *st;
	int step;

	out[0] = '\0';
	st = store_prepare(s,
	    "SELECT thumbprint FROM requests WHERE spki = ?1 "
	    "ORDER BY created DESC LIMIT 1",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spki, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(out, CF_THUMB_LEN + 1, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	store_release(s, st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_db_error(s, err, "read requests");
	return 0;
}

int
cf_store_request_key(struct cf_store *s, const char *thumb,
    struct cf_secret **pkcs8, struct cf_error *err)
{
	char *aad = aad_new(thumb);
	char *missing = xasprintf("%.8s: no such pending request", thumb);
	int rc = store_unseal_row(s,
	    "SELECT sealed FROM requests WHERE thumbprint = ?1", thumb, aad,
	    missing, pkcs8, err);

	free(missing);
	free(aad);
	return rc;
}

int
cf_store_request_delete(
    struct cf_store *s, const char *thumb, struct cf_error *err)
{
	return store_run(s, "DELETE FROM requests WHERE thumbprint = ?1", thumb,
	    NULL, NULL, err);
}
