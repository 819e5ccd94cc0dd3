/*
 * main.c - the certfleet front-end: see fast.h.  `get` on a local store
 * runs here, through the full certfleet's own cmd_get (src/cli) over the
 * front-end's backend (backend.c); anything else goes to certfleet-full.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fast.h"

/* Where the full certfleet is: beside the front-end in the build tree,
 * where make install put it (FULLDIR), or that place relative to the
 * front-end's own directory, for a tree moved whole. */
#ifndef CF_FULL_PATH
#define CF_FULL_PATH "/usr/local/lib/certfleet/certfleet-full"
#endif
static const char *const full_paths[] = {
    "certfleet-full",
    CF_FULL_PATH,
    "../lib/certfleet/certfleet-full",
};

static char **main_argv;

int cmd_get(int argc, char **argv);

/* The options before the command, as the full certfleet's main takes
 * them; --version and anything unknown are the full one's to answer. */
static const struct option front_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

int
fast_exec_full(void)
{
	char self[PATH_MAX], path[PATH_MAX + 64], *slash;
	ssize_t len;
	size_t i;

	fflush(NULL);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		fprintf(stderr,
		    "certfleet: cannot find itself (/proc/self/exe): "
		    "%s\n",
		    strerror(errno));
		return 127;
	}
	self[len] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < sizeof(full_paths) / sizeof(full_paths[0]); i++) {
		if (full_paths[i][0] == '/')
			snprintf(path, sizeof(path), "%s", full_paths[i]);
		else
			snprintf(
			    path, sizeof(path), "%s/%s", self, full_paths[i]);
		execv(path, main_argv);
		if (errno != ENOENT)
			break;
	}
	fprintf(stderr,
	    "certfleet: %s: %s: the full certfleet belongs beside this one or "
	    "in %s; reinstall certfleet\n",
	    path, strerror(errno), CF_FULL_PATH);
	return 127;
}

/* Runs `get` here when that is what argv asks of a local store; any
 * other command is the full certfleet's. */
static int
front(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	int c;

	/* Named check_certfleet, it is the monitoring plugin (the full
	 * one's test_plugin_named). */
	if (strcmp(base != NULL ? base + 1 : argv[0], "check_certfleet") == 0)
		return fast_exec_full();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", front_opts, NULL)) != -1)
		if (c == 'h' || !cli_common_opt(c, optarg))
			return fast_exec_full();
	if (optind >= argc || strcmp(argv[optind], "get") != 0)
		return fast_exec_full();
	argv += optind;
	argc -= optind;
	optind = 0; /* the command's getopt starts afresh */
	return cmd_get(argc, argv);
}

int
main(int argc, char **argv)
{
	struct rlimit none = {0, 0};

	main_argv = argv;
	/* No core dump, as the full one (cf_process_harden, whose OpenSSL
	 * half has nothing to do here: nothing secret is read). */
	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	cli_malloc_keep();
	umask(077);
	return front(argc, argv);
}
