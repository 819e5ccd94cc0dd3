/*
 * check.h - the unit tests' few assertions.  Each CHECK prints one line,
 * "PASS name" or "FAIL name (file:line)", which scripts/run-tests.sh
 * counts; check_done() returns the exit status.
 */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <string.h>

void check_report(int ok, const char *name, const char *file, int line);
int check_done(void); /* 0 when nothing failed */

/* Path of a scratch directory for this test program (created). */
const char *check_tmpdir(void);

#define CHECK(cond, name) check_report(!!(cond), (name), __FILE__, __LINE__)
#define CHECK_STR(a, b, name)                                                  \
	check_report((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0,      \
	    (name), __FILE__, __LINE__)

#endif
