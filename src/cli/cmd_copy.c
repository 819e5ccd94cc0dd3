/*
 * cmd_copy.c - certfleet copy THUMBPRINT --from S --to S,...|all
 * [--services S,...|same|none] [--exportable|--no-exportable]: the
 * article in one command.  Export from the source, import on every
 * target at once with the same services (deployed and checked as enable
 * does), a line per server; the transfer itself is copy.c's.
 *
 * A target that lacks one of the services (say the source has lb, the
 * target no [service lb]) gets the others and says which it skipped;
 * that fails the copy only when the service was asked for by name and
 * no target has it.  Targets that succeed stay done; running copy again
 * is harmless ("already present", "unchanged").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "copy.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet copy THUMBPRINT --from SERVER --to SERVER,...|all\n"
    "         [--services S,...|same|none] [--exportable|--no-exportable]\n"
    "Copies the certificate with its key and chain from one agent to "
    "others\n"
    "under a one-time password, assigns the same services (or those "
    "given)\n"
    "and deploys them; a target without one of them skips it and says "
    "so.\n"
    "The copies are exportable when the source's is, unless --exportable\n"
    "or --no-exportable says otherwise.\n";

struct copy_args {
	const char *arg, *from, *to;
	const char *services; /* NULL: same */
	int exportable;       /* -1: as the source */
};

const struct option cli_copy_opts[] = {
    CLI_COMMON_OPTS,
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"services", required_argument, NULL, 's'},
    {"exportable", no_argument, NULL, 'e'},
    {"no-exportable", no_argument, NULL, 'E'},
    {NULL, 0, NULL, 0},
};

static int
parse(int argc, char **argv, struct copy_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->exportable = -1;
	while ((c = getopt_long(
		    argc, argv, ":hf:t:s:eE", cli_copy_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		} else if (c == 'f')
			a->from = optarg;
		else if (c == 't')
			a->to = optarg;
		else if (c == 's')
			a->services = strcmp(optarg, "same") ? optarg : NULL;
		else if (c == 'e' || c == 'E')
			a->exportable = c == 'e';
		else
			return cli_bad_option("copy", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage("copy", "name one certificate by thumbprint");
	a->arg = argv[optind];
	if (a->from == NULL || a->to == NULL)
		return cli_usage("copy", "--from SERVER and --to SERVER,... "
					 "are required");
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("copy", "copy goes --from one agent --to "
					 "others, not --server or --store");
	if (strchr(a->from, ',') != NULL || strcmp(a->from, "all") == 0)
		return cli_usage("copy", "--from names one agent");
	return 0;
}

/*
 * The key is not exportable where it is: the article's error.  Which
 * agents of the fleet hold an exportable copy (they are asked) goes into
 * the message.
 */
static int
refuse_unexportable(const struct copy_args *a, const struct cf_view *v)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *all;
	char list[512] = "";
	size_t i, len;

	memset(&req, 0, sizeof(req));
	req.arg = v->thumbprint;
	if (copy_open_agents("copy", "all", &all) == 0) {
		r = backend_replies_new(all);
		backend_run(all, BACKEND_GET, &req, r);
		for (i = 0; i < backend_count(all); i++) {
			if (r[i].err.code != CF_OK || r[i].nviews != 1 ||
			    !r[i].views[0].exportable)
				continue;
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    len ? ", " : "", backend_server(all, i));
		}
		backend_replies_free(r, backend_count(all));
		backend_free(all);
	}
	fprintf(stderr,
	    "certfleet: %s: copy: %.8s (%s): the private key is not "
	    "exportable: it was imported or created without --exportable, "
	    "so it cannot leave %s as PKCS#12.\n",
	    a->from, v->thumbprint, v->subject, a->from);
	if (list[0] != '\0')
		fprintf(stderr,
		    "certfleet: exportable copies are on: %s; copy from one "
		    "of them (--from %.*s ...)\n",
		    list, (int)strcspn(list, ","), list);
	else
		fprintf(stderr, "certfleet: no agent of the fleet holds an "
				"exportable copy; make a new request on each "
				"server, or renew and re-issue\n");
	return 1;
}

/*
 * Looks the certificate up on the source: 0 or an exit status.
 */
static int
source_view(struct backend *src, const struct copy_args *a,
    struct backend_reply **r, const struct cf_view **v)
{
	struct backend_req req;

	memset(&req, 0, sizeof(req));
	req.arg = a->arg;
	*r = backend_replies_new(src);
	backend_run(src, BACKEND_GET, &req, *r);
	if ((*r)[0].err.code != CF_OK)
		return backend_fail(src, 0, "copy", &(*r)[0].err);
	*v = &(*r)[0].views[0];
	if (strcmp((*v)->status, "PendingRequest") == 0) {
		fprintf(stderr,
		    "certfleet: %s: copy: %.8s is a pending request; complete "
		    "it first (request complete)\n",
		    a->from, (*v)->thumbprint);
		return 1;
	}
	if (!(*v)->has_key) {
		fprintf(stderr,
		    "certfleet: %s: copy: %.8s has no private key there; no "
		    "server could present a copy\n",
		    a->from, (*v)->thumbprint);
		return 1;
	}
	return 0;
}

/* One target's line, what its services did, and what it skipped. */
static void
print_target(const char *name, const struct cf_import_result *x)
{
	char *copy, *svc, *save = NULL;

	printf("%s: %s%s%s\n", name, x->what,
	    x->services[0] ? "; services " : "", x->services);
	if (x->detail != NULL)
		cli_print_lines("  ", x->detail);
	if (x->skipped == NULL)
		return;
	copy = xstrdup(x->skipped);
	for (svc = strtok_r(copy, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save))
		printf("%s: %s: no such service on this server, skipped\n",
		    name, svc);
	free(copy);
}

/* Prints one line per target (and what its services did), or, with
 * --json, one item per target. */
static int
report(
    struct backend *dst, struct backend_reply *r, const char *skip, size_t *ok)
{
	size_t i, j;
	int rc = 0;
	json_t *a = json_array();

	*ok = 0;
	for (i = 0; i < backend_count(dst); i++) {
		const char *name = backend_server(dst, i);
		if (skip != NULL && strcmp(name, skip) == 0)
			continue;
		if (r[i].err.code != CF_OK) {
			int status = backend_fail(dst, i, "copy", &r[i].err);
			rc = rc ? rc : status;
			json_array_append_new(
			    a, out_error_json(name, r[i].err.msg));
		}
		for (j = 0; j < r[i].nresults && r[i].err.code == CF_OK; j++) {
			const struct cf_import_result *x = &r[i].results[j];
			json_array_append_new(a, out_result_json(name, x));
			if (!cli.json)
				print_target(name, x);
		}
		*ok += r[i].err.code == CF_OK;
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	return rc;
}

/* 1 when every target that took the copy skipped service svc. */
static int
skipped_everywhere(
    struct backend *dst, const struct backend_reply *r, const char *svc)
{
	size_t i, j, took = 0, skipped = 0;
	char *copy, *tok, *save;

	for (i = 0; i < backend_count(dst); i++) {
		if (r[i].todo || r[i].err.code != CF_OK)
			continue;
		took++;
		for (j = 0; j < r[i].nresults; j++) {
			if (r[i].results[j].skipped == NULL)
				continue;
			copy = xstrdup(r[i].results[j].skipped);
			save = NULL;
			for (tok = strtok_r(copy, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, svc) == 0) {
					skipped++;
					break;
				}
			free(copy);
		}
	}
	return took > 0 && skipped == took;
}

/*
 * Services asked for by name (--services) that no target has: nothing
 * could be deployed for them, so the copy failed at what was asked.
 * Those implied by `same` are only reported.  0, or 1 after a message.
 */
static int
check_asked(struct backend *dst, const struct backend_reply *r,
    const struct copy_args *a)
{
	char *copy, *svc, *save = NULL;
	int rc = 0;

	if (a->services == NULL || strcmp(a->services, "none") == 0)
		return 0;
	copy = xstrdup(a->services);
	for (svc = strtok_r(copy, ", ", &save); svc != NULL;
	     svc = strtok_r(NULL, ", ", &save))
		if (skipped_everywhere(dst, r, svc)) {
			fprintf(stderr,
			    "certfleet: copy: %s: no target has this service, "
			    "so nothing was deployed for it; check the name, "
			    "or configure [service %s] on the targets\n",
			    svc, svc);
			rc = 1;
		}
	free(copy);
	return rc;
}

/* The services the copies get: given, the source's (same), or none. */
static const char *
services_of(const struct copy_args *a, const struct cf_view *v)
{
	if (a->services == NULL)
		return v->services[0] ? v->services : NULL;
	return strcmp(a->services, "none") == 0 ? NULL : a->services;
}

/* Marks every target but the source to do; how many. */
static size_t
targets_todo(struct backend *dst, struct backend_reply *r, const char *from)
{
	size_t i, n = 0;

	for (i = 0; i < backend_count(dst); i++) {
		r[i].todo = strcmp(backend_server(dst, i), from) != 0;
		n += r[i].todo;
	}
	return n;
}

/* copy_run, then a line per target and the summary; an exit status. */
static int
copy_all(struct backend *src, struct backend *dst, const struct copy_args *a,
    const struct cf_view *v)
{
	struct copy_job job = {
	    .from = a->from,
	    .v = v,
	    .services = services_of(a, v),
	    .exportable = a->exportable,
	};
	struct backend_reply *r = backend_replies_new(dst);
	struct cf_error err;
	size_t n = targets_todo(dst, r, a->from), ok = 0;
	int rc, sealed;

	if (copy_run(src, dst, &job, r, &sealed, &err) == -1) {
		if (sealed && err.code == CF_E_DENIED) {
			fprintf(stderr, "certfleet: %s: copy: %s\n", a->from,
			    err.msg);
			rc = refuse_unexportable(a, v);
		} else
			rc = backend_fail(src, 0, "copy", &err);
		goto out;
	}
	rc = report(dst, r, a->from, &ok);
	if (!cli.json)
		printf("copied %.8s from %s to %zu of %zu server%s%s\n",
		    v->thumbprint, a->from, ok, n, n == 1 ? "" : "s",
		    sealed ? ", sealed agent to agent (the key stays not "
			     "exportable)"
			   : "");
	rc = rc ? rc : ok == n ? 0 : 1;
	if (check_asked(dst, r, a) != 0)
		rc = 1;
out:
	backend_replies_free(r, backend_count(dst));
	return rc;
}

int
cmd_copy(int argc, char **argv)
{
	struct copy_args a;
	struct backend *src = NULL, *dst = NULL;
	struct backend_reply *sv = NULL;
	const struct cf_view *v = NULL;
	int rc;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = copy_open_agents("copy", a.from, &src)) != 0 ||
	    (rc = copy_open_agents("copy", a.to, &dst)) != 0 ||
	    (rc = source_view(src, &a, &sv, &v)) != 0)
		goto out;
	rc = copy_all(src, dst, &a, v);
out:
	backend_replies_free(sv, sv ? 1 : 0);
	backend_free(src);
	backend_free(dst);
	return rc;
}
