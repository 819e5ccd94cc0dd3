/* check.c - see check.h. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

static int failed;
static char tmpdir[256];

/* The names asked for on the command line; which of them a test knew. */
static char **wanted;
static int nwanted;
static int *known;
static int listing;

void
check_report(int ok, const char *name, const char *file, int line)
{
	/* `-l` prints the test names alone, whatever checks main makes
	 * while setting up. */
	if (listing)
		return;
	if (ok)
		printf("PASS %s\n", name);
	else {
		printf("FAIL %s (%s:%d)\n", name, file, line);
		failed++;
	}
	fflush(stdout);
}

void
check_str(
    const char *a, const char *b, const char *name, const char *file, int line)
{
	check_report(
	    a != NULL && b != NULL && strcmp(a, b) == 0, name, file, line);
}

void
check_init(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		listing = 1;
		return;
	}
	wanted = argv + 1;
	nwanted = argc > 1 ? argc - 1 : 0;
	known = calloc((size_t)nwanted + 1, sizeof(*known));
	if (known == NULL)
		abort();
}

int
check_test(const char *name)
{
	int i, run = nwanted == 0 && !listing;

	if (listing)
		printf("%s\n", name);
	for (i = 0; i < nwanted; i++) {
		if (strcmp(wanted[i], name) == 0) {
			known[i] = 1;
			run = 1;
		}
	}
	return run;
}

int
check_done(void)
{
	int i, rc = failed ? 1 : 0;

	if (tmpdir[0] != '\0') {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	for (i = 0; i < nwanted; i++) {
		if (!known[i]) {
			fprintf(stderr, "%s: no test named (-l lists them)\n",
			    wanted[i]);
			rc = 2;
		}
	}
	free(known);
	return rc;
}

const char *
check_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/cf-unit-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

long
check_sql(const char *dir, const char *sql)
{
	char path[4096];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	const char *tail = sql;
	long v = 0;
	int rc = SQLITE_OK;

	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		v = -1;
	while (
	    v != -1 && *tail != '\0' &&
	    (rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail)) == SQLITE_OK &&
	    st != NULL) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		if (rc != SQLITE_DONE)
			v = -1;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		v = -1;
	sqlite3_close(db);
	return v;
}
