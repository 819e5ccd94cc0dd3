/*
 * check.h - the unit tests' few assertions.  Each CHECK prints one line,
 * "PASS name" or "FAIL name (file:line)", which scripts/run-tests.sh
 * counts; check_done() returns the exit status.
 *
 * Named tests: main calls check_init(argc, argv) and runs each test as
 *
 *	if (check_test("caps"))
 *		test_caps(leaf, key);
 *
 * so that `build/tests/test_pkcs12 caps` runs that test alone (several
 * names run several, none runs all, `-l` lists them).  A name that no
 * check_test() knew makes check_done() return 2.
 */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <string.h>

void check_report(int ok, const char *name, const char *file, int line);
/* Passes when a and b are both non-NULL and equal; each evaluated once. */
void check_str(
    const char *a, const char *b, const char *name, const char *file, int line);
int check_done(void); /* 0 when nothing failed, 2 for an unknown name */

/* Reads the test names from the command line (argv[1..]). */
void check_init(int argc, char **argv);
/* 1 when the test called name is to run (named, or no names given). */
int check_test(const char *name);

/* Path of a scratch directory for this test program (created). */
const char *check_tmpdir(void);

/* Runs sql on the database of the store in dir, outside certfleet; the
 * first column of its last row as a number (-1 on an error). */
long check_sql(const char *dir, const char *sql);

#define CHECK(cond, name) check_report(!!(cond), (name), __FILE__, __LINE__)
#define CHECK_STR(a, b, name) check_str((a), (b), (name), __FILE__, __LINE__)

#endif
