/* common.c - global options, the store, failures: see cli.h. */
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

struct cli_global cli;

int
cli_common_opt(int c, const char *arg)
{
	switch (c) {
	case 'S':
		cli.store = arg;
		return 1;
	case 'R':
		cli.server = arg;
		return 1;
	case 'J':
		cli.json = 1;
		return 1;
	}
	return 0;
}

struct cf_store *
cli_open_store(const char *op)
{
	struct cf_error err;
	struct cf_store *s;
	const char *dir = cli.store;

	if (cli.server != NULL) {
		fprintf(stderr,
		    "certfleet: %s: --server %s: remote agents are not "
		    "available in this version; use --store DIR\n",
		    op, cli.server);
		return NULL;
	}
	if (dir == NULL)
		dir = getenv("CERTFLEET_STORE");
	if (dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "certfleet: %s: no store: give --store DIR "
				"(or set CERTFLEET_STORE)\n",
		    op);
		return NULL;
	}
	cf_error_clear(&err);
	if ((s = cf_store_open(dir, &err)) == NULL)
		cli_fail(op, &err);
	return s;
}

const char *
cli_actor(void)
{
	static char actor[128];
	struct passwd *pw;

	if (actor[0] == '\0') {
		pw = getpwuid(getuid());
		if (pw != NULL)
			snprintf(actor, sizeof(actor), "local:%s", pw->pw_name);
		else
			snprintf(actor, sizeof(actor), "local:uid%u",
			    (unsigned)getuid());
	}
	return actor;
}

int
cli_fail(const char *op, const struct cf_error *err)
{
	fprintf(stderr, "certfleet: %s: %s\n", op, err->msg);
	return err->code == CF_E_USAGE ? 2 : 1;
}

int
cli_usage(const char *op, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "certfleet: %s: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(certfleet %s --help shows the usage)\n", op);
	return 2;
}
