/*
 * store_keys.c - the private keys of stored certificates: see store.h.
 * Each key is sealed (seal.h) under associated data naming its
 * certificate ("certfleet-key-v1:<thumbprint>"), so a sealed key moved
 * to another row does not open there.
 */
#include <stdlib.h>

#include "store_int.h"

static char *
aad_new(const char *thumb)
{
	return xasprintf("certfleet-key-v1:%s", thumb);
}

int
cf_store_key_put(struct cf_store *s, const char *thumb,
    const unsigned char *pkcs8, size_t len, struct cf_error *err)
{
	struct cf_buf sealed = {0};
	sqlite3_stmt *st = NULL;
	char *aad = aad_new(thumb);
	int rc = -1;

	if (cf_seal(s->seal, aad, pkcs8, len, &sealed, err) == -1)
		goto out;
	st = store_prepare(s,
	    "INSERT OR REPLACE INTO keys (thumbprint, sealed) "
	    "VALUES (?1, ?2)",
	    err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sealed.data, (int)sealed.len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_error(s, err, "store key");
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
store_unseal_row(struct cf_store *s, const char *sql, const char *thumb,
    const char *aad, const char *missing, struct cf_secret **out,
    struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	*out = NULL;
	if ((st = store_prepare(s, sql, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		cf_errorf(err, CF_E_NOTFOUND, "%s", missing);
	else if (step != SQLITE_ROW)
		store_db_error(s, err, "read a sealed key");
	else if (cf_unseal(s->seal, aad, sqlite3_column_blob(st, 0),
		     (size_t)sqlite3_column_bytes(st, 0), out, err) == -1)
		cf_error_prefix(err, "%s: ", thumb); /* keeps CF_E_CRYPTO */
	else
		rc = 0;
	store_release(s, st);
	return rc;
}

int
cf_store_key_get(struct cf_store *s, const char *thumb,
    struct cf_secret **pkcs8, struct cf_error *err)
{
	char *aad = aad_new(thumb);
	char *missing = xasprintf(
	    "%s: the store has no private key for this certificate", thumb);
	int rc =
	    store_unseal_row(s, "SELECT sealed FROM keys WHERE thumbprint = ?1",
		thumb, aad, missing, pkcs8, err);

	free(missing);
	free(aad);
	return rc;
}
