/*
 * cmd_assign.c - enable, disable and remove: the commands that change a
 * certificate's place (Enable-ExchangeCertificate, Remove-...).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ops.h"

/* Asks a yes/no question on the terminal; 1 for yes. */
static int
confirm(const char *question)
{
	char line[16];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 0;
	fprintf(stderr, "%s [y/N] ", question);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

struct assign_args {
	const char *arg, *services;
	int force;
};

/* Parses THUMBPRINT [--services S,...] [--force]; 0 or an exit status. */
static int
parse(const char *op, const char *usage, int need_services, int argc,
    char **argv, struct assign_args *a)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"services", required_argument, NULL, 's'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, ":hs:f", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		if (c == 's' && need_services)
			a->services = optarg;
		else if (c == 'f')
			a->force = 1;
		else
			return cli_bad_option(op, c, argv);
	}
	if (optind != argc - 1)
		return cli_usage(op, "name one certificate by thumbprint");
	a->arg = argv[optind];
	if (need_services && a->services == NULL)
		return cli_usage(op, "--services S,... is required");
	return 0;
}

static int
finish(const char *op, struct cf_store *s, int rc, const char *thumb,
    const struct cf_error *err)
{
	if (rc == -1)
		rc = cli_fail(op, err);
	else {
		printf("%s: %sd\n", thumb, op);
		rc = 0;
	}
	cf_store_free(s);
	return rc;
}

int
cmd_enable(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet enable THUMBPRINT "
				    "--services S,... [--force]\n"
				    "Services: https (alias IIS), smtp, imap, "
				    "pop.\n";
	struct assign_args a;
	struct cf_store *s;
	struct cf_error err;
	char thumb[CF_THUMB_LEN + 1] = "";
	int rc;

	if ((rc = parse("enable", usage, 1, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((s = cli_open_store("enable")) == NULL)
		return 1;
	cf_error_clear(&err);
	rc = cf_op_enable(s, cli_actor(), a.arg, a.services, a.force, thumb,
	    &err);
	if (rc == -1 && err.code == CF_E_CONFLICT && !a.force) {
		char *q = xasprintf("%s. Move it?", err.msg);
		int yes = confirm(q);
		free(q);
		if (yes) {
			cf_error_clear(&err);
			rc = cf_op_enable(s, cli_actor(), a.arg, a.services, 1,
			    thumb, &err);
		}
	}
	return finish("enable", s, rc, thumb, &err);
}

int
cmd_disable(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet disable THUMBPRINT "
				    "--services S,...\n";
	struct assign_args a;
	struct cf_store *s;
	struct cf_error err;
	char thumb[CF_THUMB_LEN + 1] = "";
	int rc;

	if ((rc = parse("disable", usage, 1, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((s = cli_open_store("disable")) == NULL)
		return 1;
	cf_error_clear(&err);
	rc = cf_op_disable(s, cli_actor(), a.arg, a.services, thumb, &err);
	return finish("disable", s, rc, thumb, &err);
}

int
cmd_remove(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet remove THUMBPRINT "
				    "[--force]\n";
	struct assign_args a;
	struct cf_store *s;
	struct cf_error err;
	char thumb[CF_THUMB_LEN + 1] = "";
	int rc;

	if ((rc = parse("remove", usage, 0, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((s = cli_open_store("remove")) == NULL)
		return 1;
	cf_error_clear(&err);
	rc = cf_op_remove(s, cli_actor(), a.arg, a.force, thumb, &err);
	return finish("remove", s, rc, thumb, &err);
}
