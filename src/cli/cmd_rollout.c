/*
 * cmd_rollout.c - certfleet rollout NAMESPACE --certificate THUMB
 * [--from SERVER] [--waves ...] [--soak ...] [--dry-run], and rollout
 * NAMESPACE --resume | --abort: a staged rollout on the file registry.
 * This file resolves the namespace's members, asks the source whether
 * it holds the certificate with its key and splits the members into
 * waves (rollout_plan.c); with --dry-run it prints that plan (asking
 * agents only to read), otherwise rollout_run.c moves the members and
 * keeps the state in the namespace's object of the fleet file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "copy.h"
#include "fleet.h"
#include "output.h"
#include "rollout.h"
#include "rollout_etcd.h"
#include "rollout_plan.h"

static const char usage[] =
    "Usage: certfleet rollout NAMESPACE --certificate THUMBPRINT\n"
    "         [--from SERVER] [--waves 1,50%,100%] [--soak 30s]\n"
    "         [--ca-file FILE] [--dry-run] [--json]\n"
    "       certfleet rollout NAMESPACE --resume | --abort [--ca-file FILE]\n"
    "Moves the namespace's servers to the certificate in waves (the\n"
    "namespace's, or --waves): each server gets it from the source (--from,\n"
    "default the first server of the namespace that holds it with its key)\n"
    "as copy does, has it assigned to the namespace's services, deployed\n"
    "and checked.  After each wave every server of it must serve it on\n"
    "every service (handshakes from here, judged against --ca-file or the\n"
    "system's roots), connections through the balancer (--via) must show\n"
    "only the new or the old certificate, and the soak time passes.\n"
    "A failure puts the wave back on the previous certificate and stops\n"
    "(exit 1); a server that does not answer is pending.  --resume goes\n"
    "on where it stopped, --abort puts every server that moved back.  The\n"
    "old certificate stays in every store.  certfleet status shows where\n"
    "it stands.  --dry-run prints the plan and changes nothing.\n"
    "On an etcd registry the agents move it: the rollout checks every\n"
    "member's registered identity, has the source seal the certificate to\n"
    "each, hands it over in one transaction and returns (exit 0); status\n"
    "follows it, --resume (once stopped) and --abort rewrite it.\n";

const struct option cli_rollout_opts[] = {
    CLI_COMMON_OPTS,
    {"certificate", required_argument, NULL, 'c'},
    {"from", required_argument, NULL, 'f'},
    {"waves", required_argument, NULL, 'w'},
    {"soak", required_argument, NULL, 'k'},
    {"dry-run", no_argument, NULL, 'n'},
    {"resume", no_argument, NULL, 'r'},
    {"abort", no_argument, NULL, 'a'},
    {"ca-file", required_argument, NULL, 'C'},
    {NULL, 0, NULL, 0},
};

struct rollout_args {
	const char *ns, *thumb, *from, *waves, *soak, *ca_file;
	int dry_run, resume, abort;
};

/* What the plan found: the namespace (with the overrides), its members,
 * the waves, the source and what every member answered. */
struct plan {
	char *path;
	struct fleet *f;
	const struct fleet_ns *ns;
	struct client_target *t;
	size_t n;
	struct cf_wave *w;
	size_t nw;
	char *from;
	const struct cf_view *v; /* the certificate on the source */
	struct backend *members, *src;
	struct backend_reply *r, *sr; /* get on the members, the source */
	struct backend_reply *now;    /* get of everything on the members */
};

static int
parse(int argc, char **argv, struct rollout_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, ":hc:f:w:k:nraC:", cli_rollout_opts,
		    NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		} else if (c == 'c')
			a->thumb = optarg;
		else if (c == 'f')
			a->from = optarg;
		else if (c == 'w')
			a->waves = optarg;
		else if (c == 'k')
			a->soak = optarg;
		else if (c == 'n')
			a->dry_run = 1;
		else if (c == 'r')
			a->resume = 1;
		else if (c == 'a')
			a->abort = 1;
		else if (c == 'C')
			a->ca_file = optarg;
		else
			return cli_bad_option("rollout", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage("rollout", "name one NAMESPACE");
	a->ns = argv[optind];
	if (a->resume + a->abort + a->dry_run > 1)
		return cli_usage("rollout", "give one of --resume, --abort and "
					    "--dry-run");
	if ((a->resume || a->abort) &&
	    (a->from != NULL || a->waves != NULL || a->soak != NULL))
		return cli_usage("rollout", "--resume and --abort go on with "
					    "the rollout's own source, waves "
					    "and soak");
	if (a->thumb == NULL && !a->resume && !a->abort)
		return cli_usage("rollout", "--certificate THUMBPRINT is "
					    "required");
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("rollout", "a rollout moves the namespace's "
					    "servers, not --server or --store");
	if (a->from != NULL &&
	    (strchr(a->from, ',') != NULL || strcmp(a->from, "all") == 0))
		return cli_usage("rollout", "--from names one agent");
	return 0;
}

/*
 * Finds the namespace and applies --waves and --soak to the copy in
 * memory (fleet_ns_put checks them as namespace set would; the file is
 * never written).  0 or -1 with err.
 */
static int
load_namespace(
    const struct rollout_args *a, struct plan *p, struct cf_error *err)
{
	struct fleet_ns in;

	if ((p->path = fleet_path(0, err)) == NULL ||
	    (p->f = fleet_load(p->path, err)) == NULL)
		return -1;
	if ((p->ns = fleet_ns_find(p->f, a->ns)) == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (certfleet namespace list shows "
		    "them; namespace add creates one)",
		    a->ns);
	if (a->waves == NULL && a->soak == NULL)
		return 0;
	in = *p->ns;
	if (a->soak != NULL && fleet_duration_parse(a->soak, &in.soak_s, err))
		return -1;
	if (a->waves != NULL)
		in.waves = (char *)a->waves;
	if (fleet_ns_put(p->f, &in, 0, err) == -1)
		return -1;
	p->ns = fleet_ns_find(p->f, a->ns);
	return 0;
}

/* The members and their waves; 0 or -1 with err. */
static int
plan_waves(struct plan *p, struct cf_error *err)
{
	if (fleet_resolve(p->f, p->ns->servers, NULL, &p->t, &p->n, err) == -1)
		return -1;
	if (p->n == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: the namespace has no servers (namespace set %s "
		    "--servers ...)",
		    p->ns->name, p->ns->name);
	return cf_rollout_plan(p->n, p->ns->waves, &p->w, &p->nw, err);
}

/* Whether reply r holds the certificate (with its key); thumb, when
 * not NULL, the full thumbprint it must be (a prefix may name another
 * certificate on another server). */
static int
holds(const struct backend_reply *r, const char *thumb)
{
	return r->err.code == CF_OK && r->nviews == 1 && r->views[0].has_key &&
	       strcmp(r->views[0].status, "PendingRequest") != 0 &&
	       (thumb == NULL || strcmp(r->views[0].thumbprint, thumb) == 0);
}

/*
 * Asks every member for the certificate; without --from, the first
 * that holds it is the source.  0 or an exit status.
 */
static int
ask_members(const struct rollout_args *a, struct plan *p)
{
	struct backend_req req;
	size_t i;
	int rc;

	if ((rc = copy_open_agents("rollout", p->ns->servers, &p->members)))
		return rc;
	memset(&req, 0, sizeof(req));
	req.arg = a->thumb;
	p->r = backend_replies_new(p->members);
	backend_run(p->members, BACKEND_GET, &req, p->r);
	/* and everything they hold: which certificate each service has */
	req.arg = NULL;
	p->now = backend_replies_new(p->members);
	for (i = 0; i < backend_count(p->members); i++)
		p->now[i].todo = p->r[i].err.code == CF_OK ||
				 p->r[i].err.code == CF_E_NOTFOUND;
	backend_run(p->members, BACKEND_GET, &req, p->now);
	for (i = 0; i < backend_count(p->members); i++)
		if (p->r[i].err.code != CF_OK &&
		    p->r[i].err.code != CF_E_NOTFOUND)
			p->now[i].err = p->r[i].err; /* not asked again */
	if (backend_count(p->members) != p->n) /* one list, resolved twice */
		abort();
	for (i = 0; a->from == NULL && i < backend_count(p->members); i++)
		if (holds(&p->r[i], NULL)) {
			p->from = xstrdup(backend_server(p->members, i));
			p->v = &p->r[i].views[0];
			return 0;
		}
	if (a->from != NULL)
		return 0;
	for (i = 0; i < backend_count(p->members); i++)
		if (p->r[i].err.code != CF_OK &&
		    p->r[i].err.code != CF_E_NOTFOUND)
			backend_fail(p->members, i, "rollout", &p->r[i].err);
	fprintf(stderr,
	    "certfleet: rollout: %s: no server of %s holds %s with its key "
	    "(of those that answered); give --from SERVER, the one that "
	    "does\n",
	    a->thumb, p->ns->name, a->thumb);
	return 1;
}

/* --from: asks it for the certificate.  0 or an exit status. */
static int
ask_source(const struct rollout_args *a, struct plan *p)
{
	struct backend_req req;
	int rc;

	if ((rc = copy_open_agents("rollout", a->from, &p->src)) != 0)
		return rc;
	memset(&req, 0, sizeof(req));
	req.arg = a->thumb;
	p->sr = backend_replies_new(p->src);
	backend_run(p->src, BACKEND_GET, &req, p->sr);
	if (p->sr[0].err.code == CF_E_NOTFOUND) {
		fprintf(stderr,
		    "certfleet: rollout: %s: %s: not held there; import it "
		    "there first, or name the server that holds it (--from)\n",
		    a->from, a->thumb);
		return 1;
	}
	if (p->sr[0].err.code != CF_OK)
		return backend_fail(p->src, 0, "rollout", &p->sr[0].err);
	if (!holds(&p->sr[0], NULL)) {
		fprintf(stderr,
		    "certfleet: rollout: %s: %s: held there without its "
		    "private key (or a pending request); no server could "
		    "present a copy\n",
		    a->from, a->thumb);
		return 1;
	}
	p->from = xstrdup(a->from);
	p->v = &p->sr[0].views[0];
	return 0;
}

/* What member i holds: "yes", "no" or "no answer" (its error is said
 * on stderr: the rollout would find it pending). */
static const char *
member_holds(const struct plan *p, size_t i)
{
	const struct backend_reply *r = &p->r[i];

	if (r->err.code == CF_E_NOTFOUND ||
	    (r->err.code == CF_OK && !holds(r, p->v->thumbprint)))
		return "no";
	if (r->err.code == CF_OK)
		return "yes";
	backend_fail(p->members, i, "rollout", &r->err);
	return "no answer";
}

/* The certificate member k assigns service svc to, lent; NULL for none
 * or when it did not answer. */
static const char *
member_now(const struct plan *p, size_t k, const char *svc)
{
	const struct backend_reply *r = &p->now[k];
	size_t i;

	for (i = 0; r->err.code == CF_OK && i < r->nviews; i++)
		if (fleet_list_has(r->views[i].services, svc))
			return r->views[i].thumbprint;
	return NULL;
}

/* What member k's services of the namespace have now: JSON (new) of
 * {"Service": s, "Thumbprint": t or null}, or text (new) "https
 * 1234ABCD, smtp -" when json is 0 ("-" when it did not answer). */
static void *
member_services(const struct plan *p, size_t k, int json)
{
	char *copy = xstrdup(p->ns->services), *svc, *save = NULL, *text, *next;
	const char *t;
	json_t *a = json_array();

	text = xstrdup("");
	for (svc = strtok_r(copy, ",", &save);
	     svc != NULL && p->now[k].err.code == CF_OK;
	     svc = strtok_r(NULL, ",", &save)) {
		t = member_now(p, k, svc);
		json_array_append_new(a,
		    json_pack("{s:s, s:s?}", "Service", svc, "Thumbprint", t));
		next = xasprintf(
		    "%s%s%s %.8s", text, text[0] ? ", " : "", svc, t ? t : "-");
		free(text);
		text = next;
	}
	free(copy);
	if (json) {
		free(text);
		return a;
	}
	json_decref(a);
	if (text[0] == '\0') { /* it did not answer */
		free(text);
		text = xstrdup("-");
	}
	return text;
}

/* Member k as a JSON object: Server, Holds (null and Error when it
 * did not answer). */
static json_t *
member_json(const struct plan *p, size_t k)
{
	const struct backend_reply *r = &p->r[k];
	json_t *o = json_pack("{s:s, s:o}", "Server", p->t[k].name, "Now",
	    (json_t *)member_services(p, k, 1));

	if (r->err.code == CF_OK || r->err.code == CF_E_NOTFOUND)
		json_object_set_new(
		    o, "Holds", json_boolean(holds(r, p->v->thumbprint)));
	else {
		json_object_set_new(o, "Holds", json_null());
		json_object_set_new(o, "Error", json_string(r->err.msg));
	}
	return o;
}

static void
print_json(const struct plan *p)
{
	json_t *waves = json_array(), *members;
	size_t i, k;

	for (i = 0; i < p->nw; i++) {
		members = json_array();
		for (k = p->w[i].first; k < p->w[i].first + p->w[i].count; k++)
			json_array_append_new(members, member_json(p, k));
		json_array_append_new(waves,
		    json_pack("{s:I, s:s, s:o}", "Wave", (json_int_t)i + 1,
			"Reach", p->w[i].spec, "Members", members));
	}
	out_json(json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:s?, s:I, s:b, s:o}", "Namespace",
	    p->ns->name, "Certificate", p->v->thumbprint, "Subject",
	    p->v->subject, "From", p->from, "Transfer",
	    p->v->exportable ? "password" : "sealed", "Services",
	    fleet_list_json(p->ns->services), "Via", p->ns->via, "SoakSeconds",
	    (json_int_t)p->ns->soak_s, "DryRun", 1, "Waves", waves));
}

/* The plan as text: a summary, then a row per member. */
static void
print_table(const struct plan *p)
{
	static const char *const headers[] = {
	    "Wave", "Reach", "Server", "Holds", "Now"};
	char **cells = xcalloc(p->n * 5 + 1, sizeof(*cells));
	size_t i, k, r = 0;

	printf("rollout of %.8s (%s) to %s: dry run, nothing changed\n",
	    p->v->thumbprint, p->v->subject, p->ns->name);
	printf("from %s, %s\n", p->from,
	    p->v->exportable
		? "under a one-time password (the key is exportable)"
		: "sealed agent to agent (the key is not exportable)");
	printf("services: %s; after each wave: test of its servers%s%s, "
	       "then soak %lds\n",
	    p->ns->services, p->ns->via ? " and connections through " : "",
	    p->ns->via ? p->ns->via : "", p->ns->soak_s);
	for (i = 0; i < p->nw; i++)
		for (k = p->w[i].first; k < p->w[i].first + p->w[i].count;
		     k++, r += 5) {
			cells[r] = xasprintf("%zu", i + 1);
			cells[r + 1] = xstrdup(p->w[i].spec);
			cells[r + 2] = xstrdup(p->t[k].name);
			cells[r + 3] = xstrdup(member_holds(p, k));
			cells[r + 4] = member_services(p, k, 0);
		}
	out_table(headers, 5, cells, p->n);
	for (i = 0; i < p->n * 5; i++)
		free(cells[i]);
	free(cells);
}

static void
plan_free(struct plan *p)
{
	if (p->r != NULL)
		backend_replies_free(p->r, backend_count(p->members));
	if (p->now != NULL)
		backend_replies_free(p->now, backend_count(p->members));
	if (p->sr != NULL)
		backend_replies_free(p->sr, 1);
	backend_free(p->members);
	backend_free(p->src);
	client_targets_free(p->t, p->n);
	free(p->w);
	free(p->from);
	fleet_free(p->f);
	free(p->path);
}

/* The namespace's rollout state from the fleet file into *st (none:
 * CF_RS_NONE); 0 or -1 with err. */
static int
load_state(const struct plan *p, struct cf_rstate *st, struct cf_error *err)
{
	memset(st, 0, sizeof(*st));
	if (p->ns->rollout == NULL)
		return 0;
	if (cf_rstate_parse(p->ns->rollout, st, err) == -1)
		return cf_error_prefix(err, "%s: ", p->ns->name);
	return 0;
}

/*
 * --resume and --abort: the rollout of the state; a --certificate given
 * must name its certificate.  --resume asks its source for it again.
 * 0 or an exit status.
 */
static int
prepare_again(struct rollout_args *a, struct plan *p, struct cf_rstate *st)
{
	struct cf_error err;

	cf_error_clear(&err);
	if ((a->resume ? cf_rstate_check_resume(st, p->ns->name, &err)
		       : cf_rstate_check_abort(st, p->ns->name, &err)) == -1)
		return cli_fail("rollout", &err);
	if (a->thumb != NULL &&
	    strncmp(st->certificate, a->thumb, strlen(a->thumb)) != 0)
		return cli_usage("rollout",
		    "%s: the rollout under way is of %.8s, not %s", p->ns->name,
		    st->certificate, a->thumb);
	a->thumb = st->certificate;
	a->from = st->from;
	return a->resume ? ask_source(a, p) : 0;
}

/*
 * A new rollout: refused while another is running or stopped; the
 * source found (ask_members, ask_source) before anything changes.
 * 0 or an exit status.
 */
static int
prepare_new(struct rollout_args *a, struct plan *p, const struct cf_rstate *st)
{
	struct cf_error err;
	int rc;

	cf_error_clear(&err);
	if (cf_rstate_check_start(st, p->ns->name, &err) == -1)
		return cli_fail("rollout", &err);
	if ((rc = ask_members(a, p)) != 0 ||
	    (a->from != NULL && (rc = ask_source(a, p)) != 0))
		return rc;
	return 0;
}

/* Runs the rollout the options say on the plan's namespace. */
static int
run(struct rollout_args *a, struct plan *p)
{
	struct rollout ro;
	struct cf_error err;
	int rc;

	memset(&ro, 0, sizeof(ro));
	cf_error_clear(&err);
	if (load_state(p, &ro.st, &err) == -1) {
		rc = cli_fail("rollout", &err);
		goto out;
	}
	rc = a->resume || a->abort ? prepare_again(a, p, &ro.st)
				   : prepare_new(a, p, &ro.st);
	if (rc != 0)
		goto out;
	if (!a->abort && p->src == NULL &&
	    (rc = copy_open_agents("rollout", p->from, &p->src)) != 0)
		goto out;
	ro.path = p->path;
	ro.ns = p->ns;
	ro.src = p->src;
	ro.v = p->v;
	ro.ca_file = a->ca_file;
	ro.timeout_s = 5;
	if (a->abort)
		rc = rollout_abort(&ro);
	else if (a->resume)
		rc = rollout_resume(&ro);
	else {
		cf_rstate_clear(&ro.st);
		ro.st.from = xstrdup(p->from);
		rc = rollout_start(&ro, p->t, p->n, p->w, p->nw);
	}
out:
	json_decref(ro.users);
	cf_rstate_clear(&ro.st);
	return rc;
}

/*
 * One rollout at a time from this fleet file: a second CLI that would
 * --resume the rollout a first one still moves (its state says running,
 * as a killed one's does) is refused.  The lock (FLEET.rollout.lock,
 * flock) goes with the process, however it ends.  The descriptor, or -1
 * with err.
 */
static int
lock_fleet(const char *path, struct cf_error *err)
{
	char *lock = xasprintf("%s.rollout.lock", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd == -1)
		cf_errorf(err, CF_E_IO, "%s: %s", lock, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		cf_errorf(err, CF_E_CONFLICT,
		    "another certfleet rollout runs on %s now; wait for it "
		    "(certfleet status shows where it stands)",
		    path);
		close(fd);
		fd = -1;
	}
	free(lock);
	return fd;
}

int
cmd_rollout(int argc, char **argv)
{
	struct rollout_args a;
	struct rollout_etcd_args ea;
	struct plan p;
	struct cf_error err;
	char *path = NULL;
	int rc, lock = -1;

	memset(&p, 0, sizeof(p));
	if ((rc = parse(argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	ea = (struct rollout_etcd_args){a.ns, a.thumb, a.from, a.waves, a.soak,
	    a.dry_run, a.resume, a.abort};
	/* on etcd the agents move it: handed over (a dry run checks what
	 * the handing over would, then prints the plan below) */
	if ((rc = rollout_etcd_wanted()) != 0) {
		rc = rc == -1 ? 1 : rollout_etcd(&ea);
		if (rc != ROLLOUT_ETCD_CLI && (rc != 0 || !a.dry_run))
			return rc;
	}
	cf_error_clear(&err);
	if (!a.dry_run && ((path = fleet_path(0, &err)) == NULL ||
			      (lock = lock_fleet(path, &err)) == -1)) {
		rc = cli_fail("rollout", &err);
		goto out;
	}
	if (load_namespace(&a, &p, &err) == -1 ||
	    (!a.resume && !a.abort && plan_waves(&p, &err) == -1)) {
		rc = cli_fail("rollout", &err);
		goto out;
	}
	if (!a.dry_run) {
		rc = run(&a, &p);
		goto out;
	}
	if ((rc = ask_members(&a, &p)) != 0 ||
	    (a.from != NULL && (rc = ask_source(&a, &p)) != 0))
		goto out;
	if (cli.json)
		print_json(&p);
	else
		print_table(&p);
out:
	plan_free(&p);
	if (lock != -1)
		close(lock);
	free(path);
	return rc;
}
