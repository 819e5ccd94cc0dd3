/*
 * onerow.c - the floor for reading one certificate of a store: what any
 * program that does it with SQLite must at least do.  Opens the store's
 * database read-only, reads the row of one thumbprint, prints its
 * subject, closes.  No status, no chain, no formatting.
 *
 *   onerow STORE.DB THUMBPRINT
 *
 * Built as certfleet's front-end is (static PIE, the same SQLite), and
 * timed from outside as certfleet is.  Exit 1 when the row is not there,
 * so a wrong store cannot pass for a fast one.
 */
#include <sqlite3.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: onerow STORE.DB THUMBPRINT\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"SELECT subject FROM certificates WHERE thumbprint = ?", -1,
		&st, NULL) != SQLITE_OK) {
		fprintf(
		    stderr, "onerow: %s: %s\n", argv[1], sqlite3_errmsg(db));
		sqlite3_close(db);
		return 2;
	}
	sqlite3_bind_text(st, 1, argv[2], -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		printf("%s\n", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found ? 0 : 1;
}
