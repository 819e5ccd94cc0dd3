/*
 * cmd_assign.c - enable, disable and remove: the commands that change a
 * certificate's place (Enable-ExchangeCertificate, Remove-...).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "ops.h"
#include "output.h"
#include "view.h"

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

/* Each command's own: disable has nothing to force, remove no services. */
const struct option cli_enable_opts[] = {
    CLI_COMMON_OPTS,
    {"services", required_argument, NULL, 's'},
    {"force", no_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};
const struct option cli_disable_opts[] = {
    CLI_COMMON_OPTS,
    {"services", required_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};
const struct option cli_remove_opts[] = {
    CLI_COMMON_OPTS,
    {"force", no_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

/* Parses THUMBPRINT and the options of opts; 0 or an exit status. */
static int
parse(const char *op, const char *usage, const struct option *opts,
    int need_services, int argc, char **argv, struct assign_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, ":hs:f", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
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

/* The item of what server did: {"Server", "Thumbprint", "Result":
 * "enabled", "Detail"?} (new). */
static json_t *
outcome_json(const char *op, const char *server, const struct backend_reply *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Thumbprint", json_string(r->thumb));
	json_object_set_new(o, "Result", json_sprintf("%sd", op));
	if (r->detail != NULL)
		json_object_set_new(o, "Detail", cf_json_string(r->detail));
	return o;
}

/*
 * Prints "THUMB: enabled" per server (after the server's name when there
 * are several) and what its services did, or with --json one item per
 * server; every failure on stderr.  The exit status of the first.
 */
static int
print_outcomes(
    const char *op, const struct backend *b, const struct backend_reply *r)
{
	json_t *a = json_array();
	size_t i;
	int rc = 0;

	for (i = 0; i < backend_count(b); i++) {
		if (r[i].err.code != CF_OK) {
			int status = backend_fail(b, i, op, &r[i].err);
			rc = rc ? rc : status;
			json_array_append_new(a,
			    out_error_json(backend_server(b, i), r[i].err.msg));
			continue;
		}
		json_array_append_new(
		    a, outcome_json(op, backend_server(b, i), &r[i]));
		if (cli.json)
			continue;
		if (backend_count(b) > 1)
			printf("%s: %s: %sd\n", backend_server(b, i),
			    r[i].thumb, op);
		else
			printf("%s: %sd\n", r[i].thumb, op);
		if (r[i].detail != NULL)
			cli_print_lines("  ", r[i].detail);
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	return rc;
}

/*
 * Runs op on every server, then, for enable without --force, asks on the
 * terminal whether to move each service another certificate holds, and
 * runs again where the answer was yes; then prints the outcomes.
 */
static int
run(const char *op, enum backend_op bop, const struct assign_args *a)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *b;
	size_t i;
	int rc, again = 0;

	if ((rc = backend_open(op, &b)) != 0)
		return rc;
	memset(&req, 0, sizeof(req));
	req.arg = a->arg;
	req.services = a->services;
	req.force = a->force;
	r = backend_replies_new(b);
	backend_run(b, bop, &req, r);
	for (i = 0; bop == BACKEND_ENABLE && !a->force && i < backend_count(b);
	     i++) {
		char *q;
		r[i].todo = 0;
		if (r[i].err.code != CF_E_CONFLICT)
			continue;
		q = backend_count(b) > 1
			? xasprintf("%s: %s. Move it?", backend_server(b, i),
			      r[i].err.msg)
			: xasprintf("%s. Move it?", r[i].err.msg);
		again |= r[i].todo = confirm(q);
		free(q);
	}
	if (again) {
		req.force = 1;
		backend_run(b, bop, &req, r);
	}
	rc = print_outcomes(op, b, r);
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}

int
cmd_enable(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet enable THUMBPRINT "
				    "--services S,... [--force]\n"
				    "         [--server NAME,...|all] [--store "
				    "DIR]\n"
				    "Services: https (alias IIS), smtp, imap, "
				    "pop, and those the agent's\n"
				    "configuration names.  On an agent, each "
				    "configured service gets the\n"
				    "files, its config test, a reload and a "
				    "handshake check; a failed step\n"
				    "puts the previous files back.  --force "
				    "moves services from another\n"
				    "certificate and passes names that do "
				    "not cover a service's name.\n";
	struct assign_args a;
	int rc;

	if ((rc = parse("enable", usage, cli_enable_opts, 1, argc, argv, &a)) !=
	    0)
		return rc < 0 ? 0 : rc;
	return run("enable", BACKEND_ENABLE, &a);
}

int
cmd_disable(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet disable THUMBPRINT "
				    "--services S,...\n"
				    "         [--server NAME,...|all] [--store "
				    "DIR]\n";
	struct assign_args a;
	int rc;

	if ((rc = parse(
		 "disable", usage, cli_disable_opts, 1, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	return run("disable", BACKEND_DISABLE, &a);
}

int
cmd_remove(int argc, char **argv)
{
	static const char usage[] = "Usage: certfleet remove THUMBPRINT "
				    "[--force]\n"
				    "         [--server NAME,...|all] [--store "
				    "DIR]\n";
	struct assign_args a;
	int rc;

	if ((rc = parse("remove", usage, cli_remove_opts, 0, argc, argv, &a)) !=
	    0)
		return rc < 0 ? 0 : rc;
	return run("remove", BACKEND_REMOVE, &a);
}
