/*
 * store_certs.c - certificate rows in the store: see store.h.  End
 * certificates and chain certificates in their two tables, their DER in
 * a third, and the services column joined in for listings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

void
cf_row_clear(struct cf_row *r)
{
	if (r == NULL)
		return;
	cf_certfacts_clear(&r->f);
	free(r->friendly_name);
	free(r->services);
	free(r->der);
	memset(r, 0, sizeof(*r));
}

void
cf_rows_free(struct cf_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		cf_row_clear(&rows[i]);
	free(rows);
}

/* Column i into out (size bytes with the NUL), cut to fit; "" for NULL.
 * Not snprintf: three times a row of a 10,000-row listing. */
static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t len = t ? strnlen((const char *)t, size - 1) : 0;

	if (len > 0)
		memcpy(out, t, len);
	out[len] = '\0';
}

static void
col_thumb(sqlite3_stmt *st, int i, char out[CF_THUMB_LEN + 1])
{
	col_copy(st, i, out, CF_THUMB_LEN + 1);
}

/* The columns both tables share, then the end table's own. */
#define COMMON_COLS                                                            \
	"thumbprint, subject, issuer, serial, not_before, not_after, "         \
	"domains, "                                                            \
	"key_type, spki, self_signed, signed_by, sig_state, created"
#define END_COLS                                                               \
	COMMON_COLS                                                            \
	", friendly_name, exportable, modified, "                              \
	"EXISTS(SELECT 1 FROM keys k WHERE k.thumbprint = c.thumbprint)"

/*
 * What a listing reads, in read_row's order: the columns of the index
 * certificates_listing (store.c, migration 7), so that a page is read
 * from it alone; spki, created and modified, which no listing shows,
 * read as empty, and has_key from one read of the keys (attach_keys),
 * not a search a row.
 */
#define LIST_COLS                                                              \
	"thumbprint, subject, issuer, serial, not_before, not_after, "         \
	"domains, key_type, '', self_signed, signed_by, sig_state, 0, "        \
	"friendly_name, exportable, 0, 0"

#define DER_COL "(SELECT d.der FROM der d WHERE d.thumbprint = c.thumbprint)"

static void
read_row(sqlite3_stmt *st, enum cf_table table, int with_der, struct cf_row *r)
{
	int i = 0;

	memset(r, 0, sizeof(*r));
	r->table = table;
	col_thumb(st, i++, r->f.thumbprint);
	r->f.subject = store_col_text(st, i++);
	r->f.issuer = store_col_text(st, i++);
	r->f.serial = store_col_text(st, i++);
	r->f.not_before = (time_t)sqlite3_column_int64(st, i++);
	r->f.not_after = (time_t)sqlite3_column_int64(st, i++);
	r->f.domains = store_col_text(st, i++);
	r->f.key_type = store_col_text(st, i++);
	col_copy(st, i++, r->f.spki, sizeof(r->f.spki));
	r->f.self_signed = sqlite3_column_int(st, i++);
	col_thumb(st, i++, r->signed_by);
	r->sig_state = sqlite3_column_int(st, i++);
	r->created = (time_t)sqlite3_column_int64(st, i++);
	if (table == CF_END) {
		r->friendly_name = store_col_text(st, i++);
		r->exportable = sqlite3_column_int(st, i++);
		r->modified = (time_t)sqlite3_column_int64(st, i++);
		r->has_key = sqlite3_column_int(st, i++);
	} else {
		r->friendly_name = xstrdup("");
		r->modified = r->created;
	}
	r->services = xstrdup("");
	if (with_der) {
		const void *blob = sqlite3_column_blob(st, i);
		r->der_len = (size_t)sqlite3_column_bytes(st, i);
		r->der = xmalloc(r->der_len ? r->der_len : 1);
		if (r->der_len)
			memcpy(r->der, blob, r->der_len);
	}
}

/* Steps st to the end, appending rows; finalizes st. */
static int
collect(struct cf_store *s, sqlite3_stmt *st, enum cf_table table, int with_der,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	size_t cap = *n;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*rows = xrealloc(*rows, cap * sizeof(**rows));
		}
		read_row(st, table, with_der, &(*rows)[(*n)++]);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "read");
	return 0;
}

static int
cmp_row_thumb(const void *a, const void *b)
{
	return strcmp(((const struct cf_row *)a)->f.thumbprint,
	    ((const struct cf_row *)b)->f.thumbprint);
}

/* Fills the services column of end rows (sorted by thumbprint). */
static int
attach_services(
    struct cf_store *s, struct cf_row *rows, size_t n, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	st = store_prepare(s,
	    "SELECT service, thumbprint FROM services "
	    "ORDER BY service",
	    err);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_row key, *r;
		const char *svc = (const char *)sqlite3_column_text(st, 0);
		memset(&key, 0, sizeof(key));
		col_thumb(st, 1, key.f.thumbprint);
		r = bsearch(&key, rows, n, sizeof(*rows), cmp_row_thumb);
		if (r == NULL)
			continue;
		if (r->services[0] == '\0') {
			free(r->services);
			r->services = xstrdup(svc);
		} else {
			char *joined = xasprintf("%s,%s", r->services, svc);
			free(r->services);
			r->services = joined;
		}
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "read services");
	return 0;
}

/*
 * Sets has_key on the rows (sorted by thumbprint) whose key is stored:
 * one walk of the keys' index over the rows' range, instead of a search
 * of it a row (a tenth of a 10,000-row listing).
 */
static int
attach_keys(
    struct cf_store *s, struct cf_row *rows, size_t n, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	st = store_prepare(s,
	    "SELECT thumbprint FROM keys WHERE thumbprint BETWEEN ?1 AND ?2",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, rows[0].f.thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rows[n - 1].f.thumbprint, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_row key, *r;
		col_thumb(st, 0, key.f.thumbprint);
		r = bsearch(&key, rows, n, sizeof(*rows), cmp_row_thumb);
		if (r != NULL)
			r->has_key = 1;
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "read keys");
	return 0;
}

int
cf_store_list(struct cf_store *s, enum cf_table table, const char *thumb,
    int with_der, struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	char *sql;

	*rows = NULL;
	*n = 0;
	sql = xasprintf("SELECT %s%s FROM %s c %s ORDER BY thumbprint",
	    table == CF_END ? END_COLS : COMMON_COLS,
	    with_der ? ", " DER_COL : "",
	    table == CF_END ? "certificates" : "chain_certs",
	    thumb ? "WHERE thumbprint = ?1" : "");
	st = store_prepare(s, sql, err);
	free(sql);
	if (st == NULL)
		return -1;
	if (thumb)
		sqlite3_bind_text(st, 1, thumb, -1, SQLITE_TRANSIENT);
	if (collect(s, st, table, with_der, rows, n, err) == -1 ||
	    (table == CF_END && attach_services(s, *rows, *n, err) == -1)) {
		cf_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/*
 * A page of end certificates: thumbprint after q->after, by thumbprint.
 * Keyed on the thumbprint, so that a client paging on from the last one
 * it got sees each certificate at most once however the store changes
 * between pages, and every one that stayed throughout.  The expiry
 * filters are SQL: a listing of the few expiring reads only those (the
 * index on not_after serves the days filter).
 *
 * The rows are read from the listing's covering index in thumbprint
 * order: its pages one after the other, where the primary key's index
 * and a search of the table a row visited the table's pages out of
 * order (half of a 10,000-row listing, and a read() of a page for most
 * rows once the table outgrew SQLite's cache).
 */
int
cf_store_list_page(struct cf_store *s, const struct cf_list_page *q,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	char *sql;

	*rows = NULL;
	*n = 0;
	/* The few expiring are found faster by date, then sorted. */
	sql = xasprintf("SELECT " LIST_COLS " FROM certificates c INDEXED BY %s"
			" WHERE thumbprint > ?1%s%s ORDER BY thumbprint"
			" LIMIT ?4",
	    q->expires_before ? "certificates_not_after"
			      : "certificates_listing",
	    q->expires_before ? " AND not_after < ?2" : "",
	    q->percent ? " AND not_after > not_before AND (not_after - ?2)"
			 " * 100 < (not_after - not_before) * ?3"
		       : "");
	st = store_prepare(s, sql, err);
	free(sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(
	    st, 1, q->after ? q->after : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2,
	    q->percent ? (sqlite3_int64)q->now
		       : (sqlite3_int64)q->expires_before);
	sqlite3_bind_int64(st, 3, q->percent);
	sqlite3_bind_int64(st, 4, q->limit ? (sqlite3_int64)q->limit : -1);
	if (collect(s, st, CF_END, 0, rows, n, err) == -1)
		goto fail;
	if (attach_keys(s, *rows, *n, err) == -1 ||
	    attach_services(s, *rows, *n, err) == -1)
		goto fail;
	return 0;
fail:
	cf_rows_free(*rows, *n);
	*rows = NULL;
	*n = 0;
	return -1;
}

int
cf_store_self_signed(
    struct cf_store *s, struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;

	*rows = NULL;
	*n = 0;
	st = store_prepare(s,
	    "SELECT " END_COLS ", " DER_COL
	    " FROM certificates c WHERE self_signed = 1",
	    err);
	if (st == NULL)
		return -1;
	return collect(s, st, CF_END, 1, rows, n, err);
}

int
cf_store_walk_starts(struct cf_store *s, struct cf_walk_start **starts,
    size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int step;

	*starts = NULL;
	*n = 0;
	/* Both read from the index on signed_by alone. */
	st = store_prepare(s,
	    "SELECT DISTINCT signed_by, 0 FROM certificates"
	    " WHERE signed_by <> ''"
	    " UNION ALL SELECT thumbprint, 1 FROM certificates"
	    " WHERE signed_by = '' AND self_signed = 0",
	    err);
	if (st == NULL)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*starts = xrealloc(*starts, cap * sizeof(**starts));
		}
		col_copy(st, 0, (*starts)[*n].thumbprint,
		    sizeof((*starts)[*n].thumbprint));
		(*starts)[(*n)++].own = sqlite3_column_int(st, 1);
	}
	store_release(s, st);
	if (step != SQLITE_DONE) {
		free(*starts);
		*starts = NULL;
		*n = 0;
		return store_db_error(s, err, "read");
	}
	return 0;
}

int
cf_store_fetch(struct cf_store *s, const char *thumb, struct cf_row *out,
    struct cf_error *err)
{
	struct cf_row *rows = NULL;
	size_t n = 0;
	enum cf_table t;

	memset(out, 0, sizeof(*out));
	for (t = CF_END; t <= CF_CHAIN; t++) {
		if (cf_store_list(s, t, thumb, 1, &rows, &n, err) == -1)
			return -1;
		if (n == 1) {
			*out = rows[0];
			free(rows);
			return 1;
		}
		cf_rows_free(rows, n);
	}
	return 0;
}

int
cf_store_where(struct cf_store *s, const char *thumb, int *in_end,
    int *in_chain, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s,
	    "SELECT EXISTS(SELECT 1 FROM certificates WHERE "
	    "thumbprint = ?1), EXISTS(SELECT 1 FROM chain_certs "
	    "WHERE thumbprint = ?1)",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*in_end = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	*in_chain = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
	store_release(s, st);
	if (rc != SQLITE_ROW)
		return store_db_error(s, err, "read");
	return 0;
}

/* Rows of both tables matching "col = value", with DER. */
static int
select_both(struct cf_store *s, const char *where, const char *value,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	enum cf_table t;
	char *sql;

	*rows = NULL;
	*n = 0;
	for (t = CF_END; t <= CF_CHAIN; t++) {
		sql = xasprintf("SELECT %s, " DER_COL " FROM %s c WHERE %s",
		    t == CF_END ? END_COLS : COMMON_COLS,
		    t == CF_END ? "certificates" : "chain_certs", where);
		st = store_prepare(s, sql, err);
		free(sql);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
		if (collect(s, st, t, 1, rows, n, err) == -1)
			goto fail;
	}
	return 0;
fail:
	cf_rows_free(*rows, *n);
	*rows = NULL;
	*n = 0;
	return -1;
}

int
cf_store_by_subject(struct cf_store *s, const char *subject,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	return select_both(s, "subject = ?1", subject, rows, n, err);
}

int
cf_store_unlinked_by_issuer(struct cf_store *s, const char *issuer,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	return select_both(s,
	    "issuer = ?1 AND self_signed = 0 AND (signed_by = '' OR "
	    "sig_state = 2)",
	    issuer, rows, n, err);
}

int
cf_store_resolve(struct cf_store *s, const char *arg,
    char out[CF_THUMB_LEN + 1], struct cf_error *err)
{
	char prefix[CF_THUMB_LEN + 1], hi[CF_THUMB_LEN + 2];
	char list[300] = "";
	sqlite3_stmt *st;
	int rc, count = 0;

	out[0] = '\0';
	if (!cf_thumb_prefix_ok(arg, prefix))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: not a thumbprint (8 to 40 hexadecimal digits)", arg);
	/* Range scan on the primary key: prefix <= t < prefix + 'G'. */
	snprintf(hi, sizeof(hi), "%sG", prefix);
	st = store_prepare(s,
	    "SELECT thumbprint FROM certificates WHERE thumbprint >= ?1 AND "
	    "thumbprint < ?2 UNION ALL SELECT thumbprint FROM requests WHERE "
	    "thumbprint >= ?1 AND thumbprint < ?2 ORDER BY thumbprint LIMIT 6",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (count++ == 0)
			snprintf(out, CF_THUMB_LEN + 1, "%s", t);
		if (count <= 5) {
			size_t len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    len ? ", " : "", t);
		}
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "resolve");
	if (count == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such certificate in the store", arg);
	if (count > 1) {
		out[0] = '\0';
		return cf_errorf(err, CF_E_AMBIGUOUS,
		    "%s: ambiguous thumbprint prefix; it matches %s%s; give "
		    "more digits",
		    arg, list, count > 5 ? ", ..." : "");
	}
	return 0;
}

int
cf_store_insert(
    struct cf_store *s, const struct cf_row *r, struct cf_error *err)
{
	sqlite3_stmt *st;
	time_t now = time(NULL);
	int i = 1, rc;

	if (r->table == CF_END)
		st = store_prepare(s,
		    "INSERT INTO certificates (thumbprint, subject, issuer,"
		    " serial, not_before, not_after, domains, key_type, spki,"
		    " self_signed, signed_by, sig_state, friendly_name,"
		    " exportable, created, modified) VALUES (?1, ?3, ?4,"
		    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		    " ?16)",
		    err);
	else
		st = store_prepare(s,
		    "INSERT INTO chain_certs (thumbprint, subject, issuer,"
		    " serial, not_before, not_after, domains, key_type, spki,"
		    " self_signed, signed_by, sig_state, created) VALUES (?1,"
		    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?16)",
		    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, i++, r->f.thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, i++, r->der, (int)r->der_len, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)r->f.not_before);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)r->f.not_after);
	sqlite3_bind_text(st, i++, r->f.domains, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.spki, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, r->f.self_signed);
	sqlite3_bind_text(st, i++, r->signed_by, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, r->sig_state);
	if (r->table == CF_END) {
		sqlite3_bind_text(st, i++,
		    r->friendly_name ? r->friendly_name : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int(st, i++, r->exportable);
	}
	sqlite3_bind_int64(st, 16, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "insert certificate");
	st = store_prepare(s,
	    "INSERT OR IGNORE INTO der (thumbprint, der) "
	    "VALUES (?1, ?2)",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->f.thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->der, (int)r->der_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "insert certificate");
	return 0;
}

int
cf_store_link(struct cf_store *s, enum cf_table table, const char *thumb,
    const char *signed_by, int state, struct cf_error *err)
{
	char st[4];

	snprintf(st, sizeof(st), "%d", state);
	return store_run(s,
	    table == CF_END
		? "UPDATE certificates SET signed_by = ?2, sig_state = ?3 "
		  "WHERE thumbprint = ?1"
		: "UPDATE chain_certs SET signed_by = ?2, sig_state = ?3 "
		  "WHERE thumbprint = ?1",
	    thumb, signed_by, st, err);
}

int
cf_store_set_flags(struct cf_store *s, const char *thumb,
    const char *friendly_name, int exportable, struct cf_error *err)
{
	char now[32];

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (store_run(s,
		"UPDATE certificates SET friendly_name = ?2, modified = ?3 "
		"WHERE thumbprint = ?1",
		thumb, friendly_name, now, err) == -1)
		return -1;
	return store_run(s,
	    exportable ? "UPDATE certificates SET exportable = 1 "
			 "WHERE thumbprint = ?1"
		       : "UPDATE certificates SET exportable = 0 "
			 "WHERE thumbprint = ?1",
	    thumb, NULL, NULL, err);
}

int
cf_store_delete(struct cf_store *s, const char *thumb, struct cf_error *err)
{
	if (store_run(s, "DELETE FROM services WHERE thumbprint = ?1", thumb,
		NULL, NULL, err) == -1 ||
	    store_run(s, "DELETE FROM keys WHERE thumbprint = ?1", thumb, NULL,
		NULL, err) == -1 ||
	    store_run(s, "DELETE FROM certificates WHERE thumbprint = ?1",
		thumb, NULL, NULL, err) == -1)
		return -1;
	/* Chain certificates are kept while anything links to them. */
	for (;;) {
		if (store_run(s,
			"DELETE FROM chain_certs WHERE thumbprint NOT IN "
			"(SELECT signed_by FROM certificates UNION "
			" SELECT signed_by FROM chain_certs "
			" WHERE signed_by <> thumbprint)",
			NULL, NULL, NULL, err) == -1)
			return -1;
		if (sqlite3_changes(s->db) == 0)
			break;
	}
	return store_run(s,
	    "DELETE FROM der WHERE thumbprint NOT IN (SELECT thumbprint FROM "
	    "certificates UNION SELECT thumbprint FROM chain_certs)",
	    NULL, NULL, NULL, err);
}

int
cf_store_by_spki(struct cf_store *s, const char *spki,
    char out[CF_THUMB_LEN + 1], struct cf_error *err)
{
	return store_lookup_one(s,
	    "SELECT thumbprint FROM certificates WHERE spki = ?1 "
	    "ORDER BY not_after DESC LIMIT 1",
	    spki, out, CF_THUMB_LEN + 1, "read", err);
}
