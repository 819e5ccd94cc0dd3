/*
 * store_trust.c - the trust memo of the store (migration 9): see
 * store.h.  Readers look a verdict up; the full certfleet keeps the
 * verdicts it worked out with OpenSSL after its read ends (status.c).
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

int
cf_store_trust_get(struct cf_store *s, const char *thumb, int *trusted,
    char *roots, size_t size)
{
	sqlite3_stmt *st;
	int step;

	*trusted = 0;
	roots[0] = '\0';
	if ((st = store_prepare(s,
		 "SELECT trusted, roots FROM trust_memo WHERE thumbprint = ?1",
		 NULL)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*trusted = sqlite3_column_int(st, 0) != 0;
		snprintf(roots, size, "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	store_release(s, st);
	return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

int
cf_store_trust_put(struct cf_store *s, const struct cf_trust_memo *m, size_t n,
    struct cf_error *err)
{
	sqlite3_stmt *st;
	size_t i;

	if (n == 0)
		return 0;
	/* No wait: a writer holding the store keeps it, and the verdicts
	 * are worked out again by the next reader. */
	if (store_begin_now(s) == -1)
		return cf_errorf(err, CF_E_STORE,
		    "store %s: busy: the trust memo is not kept this time",
		    s->dir);
	if ((st = store_prepare(s,
		 "INSERT OR REPLACE INTO trust_memo (thumbprint, roots, "
		 "trusted) VALUES (?1, ?2, ?3)",
		 err)) == NULL) {
		cf_store_rollback(s);
		return -1;
	}
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, m[i].thumbprint, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m[i].roots, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, m[i].trusted != 0);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_db_error(s, err, "keep the trust memo");
			store_release(s, st);
			cf_store_rollback(s);
			return -1;
		}
		sqlite3_reset(st);
	}
	store_release(s, st);
	return cf_store_commit(s, err);
}
