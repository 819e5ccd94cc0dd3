/* common.c - global options, the store, failures: see cli.h. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct cli_global cli;

#define CLI_MMAP_THRESHOLD (32 * 1024 * 1024)
#define CLI_TRIM_THRESHOLD (64 * 1024 * 1024)

void
cli_malloc_keep(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, CLI_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, CLI_TRIM_THRESHOLD);
}

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
	case 'L':
		cli.fleet = arg;
		return 1;
	case 'F':
		cli.fingerprint = arg;
		return 1;
	case 'I':
		cli.init = 1;
		return 1;
	case 'H':
		cli.no_header = 1;
		return 1;
	case 'O':
		if (strcmp(arg, "table") != 0 && strcmp(arg, "tsv") != 0) {
			/* Exits here, before anything is opened, rather than
			 * give every command's parser one more branch. */
			fprintf(stderr,
			    "certfleet: --format %s: give table or "
			    "tsv\n",
			    arg);
			exit(2);
		}
		cli.tsv = strcmp(arg, "tsv") == 0;
		return 1;
	}
	return 0;
}

int
cli_no_json(const char *op, const char *why)
{
	if (!cli.json)
		return 0;
	return cli_usage(op, "--json: %s", why);
}

int
cli_bad_option(const char *op, int c, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";
	const char *sep = op ? ": " : "";

	if (op == NULL)
		op = "";

	if (c == 'W')
		fprintf(stderr,
		    "certfleet: %s%s--password: passwords are never taken "
		    "from the command line; use --password-file FILE, "
		    "CERTFLEET_PASSWORD or the prompt\n",
		    op, sep);
	else if (c == ':')
		fprintf(stderr,
		    "certfleet: %s%soption %s is missing its argument\n", op,
		    sep, opt);
	else
		fprintf(stderr, "certfleet: %s%sunknown option %s\n", op, sep,
		    strncmp(opt, "--", 2) == 0 || optopt == 0
			? opt
			: (char[]){'-', (char)optopt, '\0'});
	fprintf(stderr, "(certfleet %s%s--help shows the usage)\n", op,
	    op[0] ? " " : "");
	return 2;
}

const char *
cli_store_dir(void)
{
	const char *dir = cli.store ? cli.store : getenv("CERTFLEET_STORE");

	return dir != NULL && dir[0] != '\0' ? dir : NULL;
}

/* Whether command op only reads the store: those may look at a store a
 * running agent owns.  Export writes an audit record, nothing else. */
static int
reads_only(const char *op)
{
	static const char *const readers[] = {
	    "get", "log", "services", "test", "export"};
	size_t i;

	for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (strcmp(op, readers[i]) == 0)
			return 1;
	return 0;
}

struct cf_store *
cli_open_store(const char *op)
{
	struct cf_error err;
	struct cf_store *s = NULL;
	const char *dir = cli_store_dir();
	int there;

	cf_error_clear(&err);
	if (dir == NULL) {
		fprintf(stderr,
		    "certfleet: %s: no store: give --store DIR "
		    "(or set CERTFLEET_STORE)\n",
		    op);
		return NULL;
	}
	there = cf_store_exists(dir);
	if (!there && !cli.init) {
		fprintf(stderr,
		    "certfleet: %s: no certfleet store in %s: check the path, "
		    "or create one with certfleet store init %s (or --init)\n",
		    op, dir, dir);
		return NULL;
	}
	/* The agent's lock file lives in the store directory: no store
	 * there, no agent owning it. */
	if (there && !reads_only(op) && cf_store_lock_check(dir, &err) == -1) {
		if (err.code == CF_E_CONFLICT)
			fprintf(stderr,
			    "certfleet: %s: %s; use --server or run without "
			    "--store to go through its socket\n",
			    op, err.msg);
		else
			cli_fail(op, &err);
		return NULL;
	}
	if (there)
		s = cf_store_open_existing(dir, &err);
	else
		s = cf_store_open(dir, &err);
	if (s != NULL)
		cf_store_map(s); /* one connection, one command */
	if (s == NULL)
		cli_fail(op, &err);
	else if (!there)
		fprintf(stderr, "certfleet: %s: created a new store in %s\n",
		    op, dir);
	return s;
}

void
cli_audit_failure(struct cf_store *s, const char *op, const char *thumb,
    const struct cf_error *err)
{
	char *outcome = xasprintf("failed: %s", err->msg);

	cf_store_audit(s, cli_actor(), op, thumb ? thumb : "", outcome, NULL);
	free(outcome);
}

const char *
cli_actor(void)
{
	static char actor[128];

	if (actor[0] == '\0')
		cf_local_actor(actor, sizeof(actor));
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

void
cli_print_lines(const char *prefix, const char *text)
{
	const char *p = text, *nl;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		printf("%s%.*s\n", prefix, (int)(nl - p), p);
	}
}

int
cli_write_out(const char *path, const void *data, size_t len, unsigned mode,
    struct cf_error *err)
{
	if (path != NULL && strcmp(path, "-") != 0)
		return cf_write_file_atomic(path, data, len, mode, err);
	if (fflush(stdout) != 0 || cf_write_all(STDOUT_FILENO, data, len) == -1)
		return cf_errorf(err, CF_E_IO,
		    "cannot write to standard output: "
		    "%s",
		    strerror(errno));
	return 0;
}

char *
cli_name_server(const char *text, const char *server)
{
	const char *p = text, *open, *close;
	char *out = xstrdup(""), *next;

	if (server == NULL)
		return xstrdup(text);
	/* Each `certfleet ...` gets --server before its closing backtick. */
	while ((open = strstr(p, "`certfleet ")) != NULL &&
	       (close = strchr(open + 1, '`')) != NULL) {
		next = xasprintf(
		    "%s%.*s --server %s`", out, (int)(close - p), p, server);
		free(out);
		out = next;
		p = close + 1;
	}
	next = xasprintf("%s%s", out, p);
	free(out);
	return next;
}
