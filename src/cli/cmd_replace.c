/*
 * cmd_replace.c - certfleet replace OLD NEW [--server S,...|all]
 * [--force]: the renewal rollout in one command.  On every server that
 * assigns services to OLD, NEW takes them over: copied there first when
 * it is missing (copy.c, the rules of copy), then every service of OLD
 * assigned to NEW, deployed and checked (enable's path on the agent,
 * POST /v1/replace), a line per server.  A server where a step fails
 * keeps OLD's services and files (enable's rollback); OLD is never
 * removed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "cli.h"
#include "copy.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet replace OLD NEW [--server NAME,...|all | --store "
    "DIR]\n"
    "         [--force] [--json]\n"
    "On every server that assigns services to OLD, moves them to NEW:\n"
    "copies NEW there first when it is missing (as copy does), then\n"
    "deploys and checks it as enable does.  OLD stays in the stores.\n"
    "--force passes a NEW whose names do not cover a service's name.\n";

/* Where one server stands. */
enum step {
	S_NO_OLD,  /* does not hold OLD */
	S_NOTHING, /* holds OLD without services */
	S_TODO,    /* to move: NEW is there */
	S_COPY,    /* to move: NEW must be copied there first */
	S_FAILED,  /* err says why */
	S_MOVED,
};

struct server {
	enum step step;
	int wanted; /* OLD had services here: a move was due */
	struct cf_error err;
	const char *copied_from; /* lent */
};

struct replace {
	const char *old, *new; /* as given */
	int force;
	struct backend *b;
	struct backend_reply *ro, *rn, *rm; /* get OLD, get NEW, replace */
	struct server *sv;
	char old_t[CF_THUMB_LEN + 1], new_t[CF_THUMB_LEN + 1];
	struct backend *all;      /* the fleet, when NEW's source is there */
	struct backend_reply *ra; /* get NEW on the fleet */
	const char *source;       /* the server NEW is copied from (lent) */
	const struct cf_view *nv; /* NEW as the source holds it */
};

const struct option cli_replace_opts[] = {
    CLI_COMMON_OPTS,
    {"force", no_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

static int
parse(int argc, char **argv, struct replace *x)
{
	int c;

	while ((c = getopt_long(argc, argv, ":hf", cli_replace_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		}
		if (c == 'f')
			x->force = 1;
		else
			return cli_bad_option("replace", c, argv);
	}
	if (optind != argc - 2)
		return cli_usage("replace", "name the old and the new "
					    "certificate by thumbprint");
	x->old = argv[optind];
	x->new = argv[optind + 1];
	if (strcasecmp(x->old, x->new) == 0)
		return cli_usage("replace", "the old and the new certificate "
					    "are the same");
	return 0;
}

/* 1 when the certificate r got can serve from there: key, no request. */
static int
holds_with_key(const struct backend_reply *r)
{
	return r->err.code == CF_OK && r->nviews == 1 && r->views[0].has_key &&
	       strcmp(r->views[0].status, "PendingRequest") != 0;
}

/*
 * Where server i stands, from get OLD and get NEW there; the full
 * thumbprints from the first server that holds each.
 */
static void
classify(struct replace *x, size_t i)
{
	const struct backend_reply *o = &x->ro[i], *n = &x->rn[i];
	struct server *sv = &x->sv[i];

	sv->step = S_FAILED;
	if (o->err.code == CF_E_NOTFOUND) {
		sv->step = S_NO_OLD;
		return;
	}
	if (o->err.code != CF_OK) {
		sv->err = o->err;
		return;
	}
	if (x->old_t[0] == '\0')
		memcpy(x->old_t, o->views[0].thumbprint, sizeof(x->old_t));
	if (n->err.code == CF_OK && x->new_t[0] == '\0')
		memcpy(x->new_t, n->views[0].thumbprint, sizeof(x->new_t));
	sv->wanted = o->views[0].services[0] != '\0';
	if (!sv->wanted)
		sv->step = S_NOTHING;
	else if (holds_with_key(n))
		sv->step = S_TODO;
	else if (n->err.code == CF_OK &&
		 strcmp(n->views[0].status, "PendingRequest") == 0)
		cf_errorf(&sv->err, CF_E_DENIED,
		    "%.8s is a pending request here; complete it first "
		    "(request complete)",
		    n->views[0].thumbprint);
	else if (n->err.code == CF_OK || n->err.code == CF_E_NOTFOUND)
		sv->step = S_COPY; /* absent, or there without its key */
	else
		sv->err = n->err;
}

/* The index of the best holder of NEW in r (n replies), or -1: one with
 * an exportable key first. */
static long
best_holder(const struct backend_reply *r, size_t n)
{
	long best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (holds_with_key(&r[i]) &&
		    (best < 0 || (!r[best].views[0].exportable &&
				     r[i].views[0].exportable)))
			best = (long)i;
	return best;
}

/*
 * The server to copy NEW from: one of the servers asked that holds it
 * with its key, else (on agents) one of the fleet's.  0, or -1 (err).
 */
static int
find_source(struct replace *x, struct cf_error *err)
{
	struct backend_req req;
	long best = best_holder(x->rn, backend_count(x->b));

	if (best >= 0) {
		x->source = backend_server(x->b, (size_t)best);
		x->nv = &x->rn[best].views[0];
		return 0;
	}
	if (cli.server == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: not in this store with its private key; import it "
		    "first (replace copies it only between agents)",
		    x->new);
	memset(&req, 0, sizeof(req));
	req.arg = x->new;
	if (copy_open_agents("replace", "all", &x->all) == 0) {
		x->ra = backend_replies_new(x->all);
		backend_run(x->all, BACKEND_GET, &req, x->ra);
		best = best_holder(x->ra, backend_count(x->all));
	}
	if (best < 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no server of the fleet holds it with its private "
		    "key; complete its request or import it on one first",
		    x->new);
	x->source = backend_server(x->all, (size_t)best);
	x->nv = &x->ra[best].views[0];
	return 0;
}

/* Server i could not get NEW: why, with what to do. */
static void
copy_failed(struct replace *x, size_t i, int sealed, const struct cf_error *why)
{
	struct server *sv = &x->sv[i];

	sv->step = S_FAILED;
	if (x->source == NULL) {
		sv->err = *why;
		return;
	}
	if (sealed && why->code == CF_E_DENIED)
		cf_errorf(&sv->err, why->code,
		    "%.8s could not be copied here from %s: its key is not "
		    "exportable there, and the sealed transfer was refused "
		    "(%.250s); import it here by hand, or complete a request "
		    "here",
		    x->nv->thumbprint, x->source, why->msg);
	else
		cf_errorf(&sv->err, why->code,
		    "%.8s could not be copied here from %s: %.300s",
		    x->nv->thumbprint, x->source, why->msg);
}

/* Copies NEW, as copy does, to every server that lacks it. */
static void
copy_new(struct replace *x)
{
	struct backend_reply *r = backend_replies_new(x->b);
	struct backend *src = NULL;
	struct copy_job job = {.exportable = -1};
	struct cf_error err;
	size_t i, n = 0;
	int sealed = 0, ok;

	for (i = 0; i < backend_count(x->b); i++) {
		r[i].todo = x->sv[i].step == S_COPY;
		n += r[i].todo;
	}
	if (n == 0)
		goto out;
	ok = find_source(x, &err) == 0;
	if (ok && copy_open_agents("replace", x->source, &src) != 0) {
		cf_errorf(&err, CF_E_IO,
		    "%s, the source of %.8s, cannot be "
		    "reached",
		    x->source, x->nv->thumbprint);
		ok = 0;
	}
	if (ok) {
		job.from = x->source;
		job.v = x->nv;
		memcpy(x->new_t, x->nv->thumbprint, sizeof(x->new_t));
		ok = copy_run(src, x->b, &job, r, &sealed, &err) == 0;
	}
	for (i = 0; i < backend_count(x->b); i++) {
		if (x->sv[i].step != S_COPY)
			continue;
		if (!ok && r[i].todo)
			copy_failed(x, i, sealed, &err);
		else if (r[i].err.code != CF_OK)
			copy_failed(x, i, sealed, &r[i].err);
		else {
			x->sv[i].step = S_TODO;
			x->sv[i].copied_from = x->source;
		}
	}
out:
	backend_free(src);
	backend_replies_free(r, backend_count(x->b));
}

/* Moves OLD's services to NEW wherever both are now. */
static void
move(struct replace *x)
{
	struct backend_req req;
	size_t i;

	x->rm = backend_replies_new(x->b);
	memset(&req, 0, sizeof(req));
	req.arg = x->new_t[0] ? x->new_t : x->new;
	req.old = x->old_t;
	req.force = x->force;
	for (i = 0; i < backend_count(x->b); i++)
		x->rm[i].todo = x->sv[i].step == S_TODO;
	backend_run(x->b, BACKEND_REPLACE, &req, x->rm);
	for (i = 0; i < backend_count(x->b); i++) {
		if (x->sv[i].step != S_TODO)
			continue;
		if (x->rm[i].err.code != CF_OK) {
			x->sv[i].step = S_FAILED;
			x->sv[i].err = x->rm[i].err;
		} else
			x->sv[i].step = S_MOVED;
	}
}

/* Result in --json; a server still to do when the run ends was not
 * reached (no server holds OLD). */
static const char *const results[] = {
    [S_NO_OLD] = "not held",
    [S_NOTHING] = "nothing to move",
    [S_TODO] = "not moved",
    [S_COPY] = "not moved",
    [S_FAILED] = "failed",
    [S_MOVED] = "moved",
};

/* Server i as JSON. */
static json_t *
server_json(const struct replace *x, size_t i)
{
	const struct server *sv = &x->sv[i];
	json_t *o = json_object();

	/* Full thumbprints, or null where no server asked resolved one. */
	json_object_set_new(o, "Server", json_string(backend_server(x->b, i)));
	json_object_set_new(o, "OldThumbprint",
	    x->old_t[0] ? json_string(x->old_t) : json_null());
	json_object_set_new(o, "NewThumbprint",
	    x->new_t[0] ? json_string(x->new_t) : json_null());
	json_object_set_new(o, "Result", json_string(results[sv->step]));

	json_object_set_new(o, "Services",
	    cf_json_list(sv->step == S_MOVED ? x->rm[i].moved : NULL));
	json_object_set_new(o, "CopiedFrom",
	    sv->copied_from ? json_string(sv->copied_from) : json_null());
	json_object_set_new(o, "Detail",
	    json_string(
		sv->step == S_MOVED && x->rm[i].detail ? x->rm[i].detail : ""));
	if (sv->step == S_FAILED)
		json_object_set_new(o, "Error", json_string(sv->err.msg));
	return o;
}

/* Server i as a line (and what its services did); failures on stderr. */
static void
print_server(const struct replace *x, size_t i)
{
	const struct server *sv = &x->sv[i];
	const char *name = backend_server(x->b, i);

	if (sv->step == S_MOVED) {
		printf("%s: %s moved from %.8s to %.8s", name, x->rm[i].moved,
		    x->old_t, x->new_t);
		if (sv->copied_from != NULL)
			printf(" (copied from %s first)", sv->copied_from);
		putchar('\n');
		if (x->rm[i].detail != NULL)
			cli_print_lines("  ", x->rm[i].detail);
	} else if (sv->step == S_NOTHING)
		printf("%s: nothing to move: %.8s has no services there\n",
		    name, x->old_t);
	else if (sv->step == S_NO_OLD)
		printf("%s: does not hold %.8s\n", name,
		    x->old_t[0] ? x->old_t : x->old);
	else if (sv->step == S_FAILED) {
		backend_fail(x->b, i, "replace", &sv->err);
		if (sv->wanted)
			printf("%s: not replaced; %.8s keeps its services "
			       "there\n",
			    name, x->old_t);
	}
}

/* Prints every server's outcome and the summary; the exit status. */
static int
report(const struct replace *x)
{
	size_t i, moved = 0, wanted = 0;
	json_t *a = json_array();
	int rc = 0;

	for (i = 0; i < backend_count(x->b); i++) {
		moved += x->sv[i].step == S_MOVED;
		wanted += x->sv[i].wanted;
		if (x->sv[i].step == S_FAILED)
			rc = 1;
		if (cli.json)
			json_array_append_new(a, server_json(x, i));
		else
			print_server(x, i);
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	if (x->old_t[0] == '\0' && rc == 0) {
		fprintf(stderr,
		    "certfleet: replace: %s: no server asked holds "
		    "it; nothing to replace (certfleet get "
		    "--server all finds it)\n",
		    x->old);
		rc = 1;
	} else if (!cli.json && x->old_t[0] != '\0')
		printf("replaced %.8s by %.8s on %zu of %zu server%s that "
		       "assigned it services\n",
		    x->old_t, x->new_t[0] ? x->new_t : x->new, moved, wanted,
		    wanted == 1 ? "" : "s");
	return rc;
}

int
cmd_replace(int argc, char **argv)
{
	struct replace x;
	struct backend_req req;
	size_t i, n = 0;
	int rc;

	memset(&x, 0, sizeof(x));
	if ((rc = parse(argc, argv, &x)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = backend_open("replace", &x.b)) != 0)
		return rc;
	n = backend_count(x.b);
	x.ro = backend_replies_new(x.b);
	x.rn = backend_replies_new(x.b);
	x.sv = xcalloc(n, sizeof(*x.sv));
	memset(&req, 0, sizeof(req));
	req.arg = x.old;
	backend_run(x.b, BACKEND_GET, &req, x.ro);
	req.arg = x.new;
	backend_run(x.b, BACKEND_GET, &req, x.rn);
	for (i = 0; i < n; i++)
		classify(&x, i);
	if (x.old_t[0] != '\0') {
		copy_new(&x);
		move(&x);
	}
	rc = report(&x);
	backend_replies_free(x.ro, n);
	backend_replies_free(x.rn, n);
	backend_replies_free(x.rm, x.rm ? n : 0);
	backend_replies_free(x.ra, x.ra ? backend_count(x.all) : 0);
	backend_free(x.all);
	backend_free(x.b);
	free(x.sv);
	return rc;
}
