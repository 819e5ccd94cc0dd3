/* check.c - see check.h. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

static int failed;
static char tmpdir[256];

void
check_report(int ok, const char *name, const char *file, int line)
{
	if (ok)
		printf("PASS %s\n", name);
	else {
		printf("FAIL %s (%s:%d)\n", name, file, line);
		failed++;
	}
	fflush(stdout);
}

int
check_done(void)
{
	if (tmpdir[0] != '\0') {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return failed ? 1 : 0;
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
