/*
 * store_int.h - the inside of the store, shared by its files (store.c:
 * the database, statements, transactions; store_certs.c: certificate
 * rows; store_keys.c: sealed keys; store_admin.c: service assignments,
 * clients, audit; store_requests.c: pending requests).  Not for the rest
 * of the library.
 */
#ifndef CF_STORE_INT_H
#define CF_STORE_INT_H

#include <time.h>

#include <sqlite3.h>

#include "seal.h"
#include "store.h"

/* Prepared statements are kept for the life of the store: preparing the
 * same SQL again for every row of a 1,000-file import costs more than
 * running it. */
#define STMT_CACHE 48

struct cf_store {
	sqlite3 *db;
	const struct cf_services *services; /* lent */
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
	struct cf_seal *seal;
	char *dir;
	int in_tx;
	int writing; /* holds the process's write turn (store.c) */
	int busy_ms; /* SQLite's wait for another writer */
};

/* A held lock on the open file fd, which it now owns. */
struct cf_store_lock *store_lock_of_fd(int fd);

/* A write transaction if it can be had now: the process's write turn
 * free and no other process writing; -1 (nothing set) otherwise.  For
 * a cache's writes, which may be skipped (store_trust.c). */
int store_begin_now(struct cf_store *s);

/* The statement for sql, prepared once and cached; NULL with err. */
sqlite3_stmt *store_prepare(
    struct cf_store *s, const char *sql, struct cf_error *err);
/* Done with st: a cached statement is reset, any other finalized. */
void store_release(struct cf_store *s, sqlite3_stmt *st);
/* CF_E_STORE naming the store, what was done and SQLite's reason; -1. */
int store_db_error(struct cf_store *s, struct cf_error *err, const char *what);
/* Column i as a new string ("" for NULL). */
char *store_col_text(sqlite3_stmt *st, int i);
/* Runs a one-shot statement binding up to three text parameters. */
int store_run(struct cf_store *s, const char *sql, const char *a, const char *b,
    const char *c, struct cf_error *err);
/* The first column of the first row sql gives for key (bound as ?1),
 * into out ("" for no row); what names the read in an error.  0 or -1. */
int store_lookup_one(struct cf_store *s, const char *sql, const char *key,
    char *out, size_t size, const char *what, struct cf_error *err);
/*
 * Opens the sealed blob sql (binding thumb as ?1) selects, with the
 * associated data aad, into *out (cf_secret_free).  No row is
 * CF_E_NOTFOUND with the message missing; a blob that does not open is
 * CF_E_CRYPTO naming thumb.  For store_keys.c and store_requests.c.
 */
int store_unseal_row(struct cf_store *s, const char *sql, const char *thumb,
    const char *aad, const char *missing, struct cf_secret **out,
    struct cf_error *err);

#endif
