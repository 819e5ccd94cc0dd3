/*
 * store_admin.c - what the agent is told to do and by whom: service
 * assignments (which certificate each service has), the authorized API
 * clients and their roles, and the audit trail.  See store.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

int
cf_store_service_owner(struct cf_store *s, const char *service,
    char owner[CF_THUMB_LEN + 1], struct cf_error *err)
{
	return store_lookup_one(s,
	    "SELECT thumbprint FROM services WHERE service = ?1", service,
	    owner, CF_THUMB_LEN + 1, "read services", err);
}

int
cf_store_service_set(struct cf_store *s, const char *service, const char *thumb,
    struct cf_error *err)
{
	return store_run(s,
	    "INSERT OR REPLACE INTO services (service, thumbprint, deployed) "
	    "VALUES (?1, ?2, 0)",
	    service, thumb, NULL, err);
}

int
cf_store_service_deployed(
    struct cf_store *s, const char *service, struct cf_error *err)
{
	return store_run(s,
	    "UPDATE services SET deployed = 1 WHERE service = ?1", service,
	    NULL, NULL, err);
}

int
cf_store_service_is_deployed(struct cf_store *s, const char *service,
    int *deployed, struct cf_error *err)
{
	char v[8];

	if (store_lookup_one(s,
		"SELECT deployed FROM services WHERE service = ?1", service, v,
		sizeof(v), "read services", err) == -1)
		return -1;
	*deployed = strcmp(v, "1") == 0;
	return 0;
}

int
cf_store_service_clear(
    struct cf_store *s, const char *service, struct cf_error *err)
{
	return store_run(s, "DELETE FROM services WHERE service = ?1", service,
	    NULL, NULL, err);
}

int
cf_store_service_list(
    struct cf_store *s, char ***names, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*names = NULL;
	*n = 0;
	if ((st = store_prepare(s,
		 "SELECT service FROM services ORDER BY service", err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*names = xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = store_col_text(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		while (*n > 0)
			free((*names)[--*n]);
		free(*names);
		*names = NULL;
		return store_db_error(s, err, "read services");
	}
	return 0;
}

int
cf_store_client_set(struct cf_store *s, const char *fingerprint,
    const char *role, struct cf_error *err)
{
	char now[32];

	if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: unknown role; the roles are admin and reader", role);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return store_run(s,
	    "INSERT INTO clients (fingerprint, role, created) VALUES "
	    "(?1, ?2, ?3) ON CONFLICT (fingerprint) DO UPDATE SET role = ?2",
	    fingerprint, role, now, err);
}

int
cf_store_client_remove(
    struct cf_store *s, const char *fingerprint, struct cf_error *err)
{
	if (store_run(s, "DELETE FROM clients WHERE fingerprint = ?1",
		fingerprint, NULL, NULL, err) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: not an authorized client", fingerprint);
	return 0;
}

int
cf_store_client_role(struct cf_store *s, const char *fingerprint, char role[16],
    struct cf_error *err)
{
	return store_lookup_one(s,
	    "SELECT role FROM clients WHERE fingerprint = ?1", fingerprint,
	    role, 16, "read clients", err);
}

/*
 * The audit trail says who authorized a client (client_change in the
 * agent writes "<fp> authorized as <role>"), so the client table needs no
 * column of its own for it.  No index on audit: a scan per client, and an
 * agent has a handful of clients.
 */
int
cf_store_client_list(
    struct cf_store *s, struct cf_client **out, size_t *n, struct cf_error *err)
{
	static const char *const sql =
	    "SELECT c.fingerprint, c.role, coalesce(a.time, c.created), "
	    " coalesce(a.actor, '') FROM clients c LEFT JOIN audit a ON a.id = "
	    " (SELECT max(id) FROM audit WHERE operation = 'authorize' AND "
	    "  outcome = c.fingerprint || ' authorized as ' || c.role) "
	    "ORDER BY c.fingerprint";
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((st = store_prepare(s, sql, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_client *c;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		c = &(*out)[(*n)++];
		snprintf(c->fingerprint, sizeof(c->fingerprint), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(c->role, sizeof(c->role), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		c->since = (time_t)sqlite3_column_int64(st, 2);
		c->by = store_col_text(st, 3);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_clients_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_db_error(s, err, "read clients");
	}
	return 0;
}

void
cf_clients_free(struct cf_client *c, size_t n)
{
	size_t i;

	for (i = 0; c != NULL && i < n; i++)
		free(c[i].by);
	free(c);
}

/*
 * Audit text comes from outside (a request path, a certificate name, a
 * file name) and is stored escaped (cf_utf8_escape): every reader of
 * the trail, the log route's JSON first, can then show every row.
 */
int
cf_store_audit(struct cf_store *s, const char *actor, const char *op,
    const char *thumb, const char *outcome, struct cf_error *err)
{
	const char *in[4] = {actor, op, thumb, outcome};
	char *text[4] = {NULL, NULL, NULL, NULL};
	sqlite3_stmt *st;
	int rc = -1, i;

	st = store_prepare(s,
	    "INSERT INTO audit (time, actor, operation, "
	    "thumbprint, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	for (i = 0; i < 4; i++) {
		text[i] = cf_utf8_escape(in[i] ? in[i] : "");
		sqlite3_bind_text(st, i + 2, text[i], -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	store_release(s, st);
	for (i = 0; i < 4; i++)
		free(text[i]);
	if (rc == -1)
		return store_db_error(s, err, "audit");
	return 0;
}

long long
cf_store_audit_last(struct cf_store *s)
{
	return (long long)sqlite3_last_insert_rowid(s->db);
}

int
cf_store_audit_amend(
    struct cf_store *s, long long id, const char *outcome, struct cf_error *err)
{
	char idtext[32];

	snprintf(idtext, sizeof(idtext), "%lld", id);
	return store_run(s, "UPDATE audit SET outcome = ?2 WHERE id = ?1",
	    idtext, outcome, NULL, err);
}

int
cf_store_audit_list(struct cf_store *s, time_t since, struct cf_audit **recs,
    size_t *n, struct cf_error *err)
{
	struct cf_audit_page q = {.since = since};

	return cf_store_audit_page(s, &q, recs, n, err);
}

/* Reverses recs[0..n). */
static void
audit_reverse(struct cf_audit *recs, size_t n)
{
	struct cf_audit t;
	size_t i;

	for (i = 0; i < n / 2; i++) {
		t = recs[i];
		recs[i] = recs[n - 1 - i];
		recs[n - 1 - i] = t;
	}
}

int
cf_store_audit_page(struct cf_store *s, const struct cf_audit_page *q,
    struct cf_audit **recs, size_t *n, struct cf_error *err)
{
	/* Paged by id (the rowid): a page reads only its own rows. */
	static const char *const sql[2] = {
	    "SELECT id, time, actor, operation, thumbprint, outcome FROM audit "
	    "WHERE id > ?2 AND id < ?3 AND time >= ?1 ORDER BY id LIMIT ?4",
	    "SELECT id, time, actor, operation, thumbprint, outcome FROM audit "
	    "WHERE id > ?2 AND id < ?3 AND time >= ?1 ORDER BY id DESC "
	    "LIMIT ?4",
	};
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*recs = NULL;
	*n = 0;
	if ((st = store_prepare(s, sql[q->newest != 0], err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->since);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)q->after);
	sqlite3_bind_int64(
	    st, 3, q->before > 0 ? (sqlite3_int64)q->before : INT64_MAX);
	sqlite3_bind_int64(st, 4, q->limit > 0 ? (sqlite3_int64)q->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_audit *a;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*recs = xrealloc(*recs, cap * sizeof(**recs));
		}
		a = &(*recs)[(*n)++];
		a->id = sqlite3_column_int64(st, 0);
		a->time = (time_t)sqlite3_column_int64(st, 1);
		a->actor = store_col_text(st, 2);
		a->op = store_col_text(st, 3);
		a->thumb = store_col_text(st, 4);
		a->outcome = store_col_text(st, 5);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_audit_free(*recs, *n);
		*recs = NULL;
		*n = 0;
		return store_db_error(s, err, "read audit");
	}
	if (q->newest)
		audit_reverse(*recs, *n);
	return 0;
}

int
cf_store_audit_prune(struct cf_store *s, long keep_days, long max_rows,
    long long *removed, struct cf_error *err)
{
	char cut[32], keep[32];

	*removed = 0;
	if (keep_days > 0) {
		snprintf(cut, sizeof(cut), "%lld",
		    (long long)time(NULL) - (long long)keep_days * 86400);
		if (store_run(s, "DELETE FROM audit WHERE time < ?1", cut, NULL,
			NULL, err) == -1)
			return -1;
		*removed += sqlite3_changes(s->db);
	}
	if (max_rows > 0) {
		snprintf(keep, sizeof(keep), "%ld", max_rows);
		if (store_run(s,
			"DELETE FROM audit WHERE operation = 'connect' AND "
			"id <= (SELECT id FROM audit WHERE operation = "
			"'connect' ORDER BY id DESC LIMIT 1 OFFSET ?1)",
			keep, NULL, NULL, err) == -1)
			return -1;
		*removed += sqlite3_changes(s->db);
	}
	return 0;
}

void
cf_audit_free(struct cf_audit *recs, size_t n)
{
	size_t i;

	for (i = 0; recs != NULL && i < n; i++) {
		free(recs[i].actor);
		free(recs[i].op);
		free(recs[i].thumb);
		free(recs[i].outcome);
	}
	free(recs);
}
