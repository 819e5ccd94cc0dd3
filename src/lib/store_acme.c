/*
 * store_acme.c - ACME accounts in the store: see store.h.  An account's
 * key is sealed like a request's, under associated data of its own
 * ("certfleet-acme-account-v1:<name>"), so that a sealed account key
 * copied into another row, of this table or another, does not open.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

static char *
aad_new(const char *name)
{
	return xasprintf("certfleet-acme-account-v1:%s", name);
}

void
cf_acme_accounts_free(struct cf_acme_account *a, size_t n)
{
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		free(a[i].name);
		free(a[i].directory);
		free(a[i].key_type);
		free(a[i].url);
		free(a[i].contact);
	}
	free(a);
}

int
cf_store_acme_put(struct cf_store *s, const struct cf_acme_account *a,
    const unsigned char *pkcs8, size_t len, struct cf_error *err)
{
	struct cf_buf sealed = {0};
	sqlite3_stmt *st = NULL;
	char *aad = aad_new(a->name);
	int rc = -1, step;

	if (cf_seal(s->seal, aad, pkcs8, len, &sealed, err) == -1)
		goto out;
	st = store_prepare(s,
	    "INSERT INTO acme_accounts (name, directory, key_type, url, "
	    "contact, sealed, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->directory, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->url ? a->url : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 5, a->contact ? a->contact : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, sealed.data, (int)sealed.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	step = sqlite3_step(st);
	if ((step & 0xff) == SQLITE_CONSTRAINT) {
		cf_errorf(err, CF_E_CONFLICT,
		    "ACME account %s: the name is taken (acme account show "
		    "lists the accounts)",
		    a->name);
		goto out;
	}
	if (step != SQLITE_DONE) {
		store_db_error(s, err, "store an ACME account");
		goto out;
	}
	rc = 0;
out:
	store_release(s, st);
	cf_buf_clear(&sealed);
	free(aad);
	return rc;
}

int
cf_store_acme_list(struct cf_store *s, const char *name,
    struct cf_acme_account **out, size_t *n, struct cf_error *err)
{
	struct cf_acme_account *a;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	st = store_prepare(s,
	    name ? "SELECT name, directory, key_type, url, contact, created "
		   "FROM acme_accounts WHERE name = ?1"
		 : "SELECT name, directory, key_type, url, contact, created "
		   "FROM acme_accounts ORDER BY name",
	    err);
	if (st == NULL)
		return -1;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		a = &(*out)[(*n)++];
		a->name = store_col_text(st, 0);
		a->directory = store_col_text(st, 1);
		a->key_type = store_col_text(st, 2);
		a->url = store_col_text(st, 3);
		a->contact = store_col_text(st, 4);
		a->created = (time_t)sqlite3_column_int64(st, 5);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_acme_accounts_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_db_error(s, err, "read ACME accounts");
	}
	return 0;
}

int
cf_store_acme_key(struct cf_store *s, const char *name,
    struct cf_secret **pkcs8, struct cf_error *err)
{
	char *aad = aad_new(name);
	char *missing = xasprintf("ACME account %s: no such account", name);
	int rc = store_unseal_row(s,
	    "SELECT sealed FROM acme_accounts WHERE name = ?1", name, aad,
	    missing, pkcs8, err);

	free(missing);
	free(aad);
	return rc;
}

/* Runs sql (?1 the name, ?2 a value) on account name: CF_E_NOTFOUND
 * when no row changed. */
static int
change(struct cf_store *s, const char *sql, const char *name, const char *value,
    struct cf_error *err)
{
	if (store_run(s, sql, name, value, NULL, err) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "ACME account %s: no such account", name);
	return 0;
}

int
cf_store_acme_set_url(
    struct cf_store *s, const char *name, const char *url, struct cf_error *err)
{
	return change(s, "UPDATE acme_accounts SET url = ?2 WHERE name = ?1",
	    name, url, err);
}

int
cf_store_acme_remove(struct cf_store *s, const char *name, struct cf_error *err)
{
	return change(
	    s, "DELETE FROM acme_accounts WHERE name = ?1", name, NULL, err);
}
