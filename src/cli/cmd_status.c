/*
 * cmd_status.c - certfleet status [NAMESPACE] [--json] [--ca-file FILE]:
 * the whole truth of a farm, per namespace and member: the desired
 * certificate (set by rollout), whether the member holds it with its
 * key, what each of the namespace's services serves now (a handshake
 * from here, rollout_check.c; without a check endpoint, what is assigned
 * and on disk), where the rollout stands for the member (wave, state,
 * last step and error) and when it last answered (now, or when a
 * rollout last heard from it).  status only reads: agents and the fleet
 * file are left as they are.
 *
 * Exit 0 only when every member of every namespace shown answers and
 * serves the desired certificate on every service.  A namespace never
 * rolled out has no desired certificate: it is converged when every
 * member answers and all its services serve one and the same
 * certificate, so that a farm set up by hand is judged too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "copy.h"
#include "output.h"
#include "registry_view.h"
#include "renew.h"
#include "rollout.h"

static const char usage[] =
    "Usage: certfleet status [NAMESPACE] [--ca-file FILE] [--json]\n"
    "Per namespace (all of them, or the one named) and server: the desired\n"
    "certificate, whether the server holds it, what each of the\n"
    "namespace's services serves now (a handshake from here), the\n"
    "rollout's wave and the server's state in it, its last error and when\n"
    "it last answered.  Exit status 0 only when every server serves the\n"
    "desired certificate on every service; before any rollout, when all\n"
    "serve one and the same.\n";

const struct option cli_status_opts[] = {
    CLI_COMMON_OPTS,
    {"ca-file", required_argument, NULL, 'C'},
    {NULL, 0, NULL, 0},
};

#define STATUS_TIMEOUT_S 5

/* What one namespace's members answered. */
struct ns_status {
	const struct fleet_ns *ns;
	const struct rview *v; /* on an etcd registry, else NULL */
	struct rview_ns rn;    /* the agents' view of ns, with v */
	struct cf_rstate st;
	struct backend *b;
	struct backend_reply *r; /* get: what each member holds */
	struct rollout_probe p;
	char ref[CF_THUMB_LEN + 1]; /* what all must serve: the desired one,
				       or the first served */
};

/* What target i's service svc serves: the handshake's certificate, or
 * without a check endpoint the one assigned; "" when nothing. */
static const char *
effective(const struct ns_status *s, size_t i, const char *svc)
{
	const struct probe_job *j = rollout_probe_job(&s->p, i, svc, NULL);
	const struct cf_service_view *v = rollout_probe_service(&s->p, i, svc);

	if (j != NULL)
		return j->rc == 0 ? j->result.thumbprint : "";
	return v != NULL ? v->assigned : "";
}

/* The certificate every service must serve: the desired one, else the
 * first any member serves. */
static void
reference(struct ns_status *s)
{
	char *copy, *svc, *save;
	size_t i;

	if (s->ns->desired != NULL) {
		snprintf(s->ref, sizeof(s->ref), "%s", s->ns->desired);
		return;
	}
	for (i = 0; i < backend_count(s->b) && s->ref[0] == '\0'; i++) {
		copy = xstrdup(s->ns->services);
		save = NULL;
		for (svc = strtok_r(copy, ",", &save);
		     svc != NULL && s->ref[0] == '\0';
		     svc = strtok_r(NULL, ",", &save))
			snprintf(
			    s->ref, sizeof(s->ref), "%s", effective(s, i, svc));
		free(copy);
	}
}

/* Whether member i answers and serves the reference on service svc;
 * why when not. */
static int
service_ok(
    const struct ns_status *s, size_t i, const char *svc, struct cf_error *why)
{
	if (s->ref[0] == '\0')
		return cf_errorf(why, CF_E_NOTFOUND, "nothing served") + 1;
	return rollout_probe_serves(&s->p, i, svc, s->ref, 0, why) == 0;
}

/* Member i's services as JSON; *ok whether all serve the reference. */
static json_t *
services_json(const struct ns_status *s, size_t i, int *ok)
{
	char *copy = xstrdup(s->ns->services), *svc, *save = NULL;
	const struct cf_service_view *v;
	const struct probe_job *j;
	const char *where = NULL;
	struct cf_error why;
	json_t *a = json_array();
	int good;

	*ok = s->r[i].err.code == CF_OK;
	for (svc = strtok_r(copy, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save)) {
		cf_error_clear(&why);
		j = rollout_probe_job(&s->p, i, svc, &where);
		v = rollout_probe_service(&s->p, i, svc);
		good = service_ok(s, i, svc, &why);
		*ok = *ok && good;
		json_array_append_new(
		    a, json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:b, s:s?}",
			   "Service", svc, "Assigned",
			   v && v->assigned[0] ? v->assigned : NULL, "Served",
			   j && j->rc == 0 ? j->result.thumbprint : NULL,
			   "Endpoint", j ? where : NULL, "Checked", j != NULL,
			   "Ok", good, "Error", good ? NULL : why.msg));
	}
	free(copy);
	return a;
}

/* Whether reply r holds thumb with its key: true, false, or null when
 * it did not answer or there is no desired certificate. */
static json_t *
holds_json(const struct backend_reply *r, const char *thumb)
{
	size_t i;

	if (r->err.code != CF_OK || thumb == NULL)
		return json_null();
	for (i = 0; i < r->nviews; i++)
		if (strcmp(r->views[i].thumbprint, thumb) == 0)
			return json_boolean(r->views[i].has_key);
	return json_false();
}

/* When member name last answered (ISO 8601), or null. */
static json_t *
seen_json(const struct ns_status *s, size_t i)
{
	const struct cf_rstate_member *m =
	    cf_rstate_find(&s->st, backend_server(s->b, i));
	char iso[21];

	if (s->r[i].err.code == CF_OK)
		cf_time_iso(time(NULL), iso);
	else if (m != NULL && m->seen > 0)
		cf_time_iso((time_t)m->seen, iso);
	else
		return json_null();
	return json_string(iso);
}

/* Member i as JSON; *ok whether it is converged. */
static json_t *
member_json(const struct ns_status *s, size_t i, int *ok)
{
	const struct cf_rstate_member *m =
	    cf_rstate_find(&s->st, backend_server(s->b, i));
	json_t *services = services_json(s, i, ok);
	const char *error = m != NULL ? m->error : NULL;

	if (s->r[i].err.code != CF_OK)
		error = s->r[i].err.msg;
	/* the agents said it failed or could not be reached: whatever
	 * it serves, its part of the rollout is not done */
	if (s->rn.agents && m != NULL &&
	    (m->state == CF_RM_FAILED || m->state == CF_RM_PENDING))
		*ok = 0;
	return json_pack("{s:s, s:b, s:o, s:o?, s:s?, s:s?, s:s?, s:o, s:b, "
			 "s:o}",
	    "Server", backend_server(s->b, i), "Answered",
	    s->r[i].err.code == CF_OK, "Holds",
	    holds_json(&s->r[i], s->ns->desired), "Wave",
	    m ? json_integer((json_int_t)m->wave) : NULL, "State",
	    m ? cf_rstate_member_name(m->state) : NULL, "Step",
	    m ? m->step : NULL, "Error", error, "LastSeen", seen_json(s, i),
	    "Converged", *ok, "Services", services);
}

/* Where the autopilot stands for ns (renew.h), or null when it never
 * ran for it.  A failure is shown while it is the last word: one after
 * the last success. */
static json_t *
renewal_json(const struct fleet_ns *ns)
{
	struct cf_renew_state st;
	struct cf_error err;
	int failing;

	if (ns->renewal == NULL ||
	    cf_renew_state_parse(ns->renewal, &st, &err) == -1)
		return json_null();
	failing = cf_renew_state_failing(&st);
	return json_pack("{s:o, s:s?, s:o, s:i, s:o, s:s?}", "NextDue",
	    out_time_json(st.next_due), "Why",
	    st.next_why[0] ? st.next_why : NULL, "LastSuccess",
	    out_time_json(st.last_success), "Failures", st.failures,
	    "LastFailure", out_time_json(failing ? st.last_failure : 0),
	    "LastError", failing && st.last_error[0] ? st.last_error : NULL);
}

/* The namespace as its item of --json; *ok whether it is converged. */
static json_t *
ns_json(const struct ns_status *s, int *ok)
{
	json_t *members = json_array(), *rollout = json_null();
	size_t i;
	int one;

	*ok = backend_count(s->b) > 0;
	for (i = 0; i < backend_count(s->b); i++) {
		json_array_append_new(members, member_json(s, i, &one));
		*ok = *ok && one;
	}
	if (s->st.state != CF_RS_NONE)
		rollout = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:s?, s:s?}",
		    "State", cf_rstate_run_name(s->st.state), "Certificate",
		    s->st.certificate, "Previous",
		    s->st.previous[0] ? s->st.previous : NULL, "Wave",
		    (json_int_t)s->st.wave, "Waves", (json_int_t)s->st.nwaves,
		    "Step", s->st.step, "Error", s->st.error);
	if (s->rn.agents && json_is_object(rollout))
		json_object_update_new(rollout,
		    json_pack("{s:b, s:s, s:s?, s:s?, s:s?}", "Agents", 1, "Id",
			s->rn.d.id, "Phase", rview_phase(&s->rn), "Coordinator",
			s->rn.coordinator[0] ? s->rn.coordinator : NULL,
			"Member", rview_failing(&s->rn)));
	return json_pack("{s:s, s:s?, s:o, s:o, s:o, s:b, s:o}", "Namespace",
	    s->ns->name, "Desired", s->ns->desired, "Services",
	    fleet_list_json(s->ns->services), "Rollout", rollout, "Renewal",
	    renewal_json(s->ns), "Converged", *ok, "Members", members);
}

/* Asks the namespace's members; 0, or -1 after a message. */
static int
ask(struct ns_status *s, const char *ca_file)
{
	struct backend_req req;
	struct cf_error err;

	cf_error_clear(&err);
	if (s->v != NULL &&
	    rview_ns_get(s->v, s->ns->name, &s->rn, &err) == -1) {
		cli_fail("status", &err);
		return -1;
	}
	if (s->rn.agents) { /* merged: taken over */
		s->st = s->rn.st;
		memset(&s->rn.st, 0, sizeof(s->rn.st));
	} else if (s->ns->rollout != NULL &&
		   cf_rstate_parse(s->ns->rollout, &s->st, &err) == -1) {
		cf_error_prefix(&err, "%s: ", s->ns->name);
		cli_fail("status", &err);
		return -1;
	}
	if (copy_open_agents("status", s->ns->servers, &s->b) != 0)
		return -1;
	memset(&req, 0, sizeof(req));
	s->r = backend_replies_new(s->b);
	backend_run(s->b, BACKEND_GET, &req, s->r);
	backend_fail_all(s->b, "status", s->r, NULL);
	if (rollout_probe_run(
		&s->p, s->b, s->ns, ca_file, STATUS_TIMEOUT_S, &err) == -1) {
		cli_fail("status", &err);
		return -1;
	}
	reference(s);
	return 0;
}

static void
ns_status_free(struct ns_status *s)
{
	rollout_probe_free(&s->p);
	if (s->r != NULL)
		backend_replies_free(s->r, backend_count(s->b));
	backend_free(s->b);
	cf_rstate_clear(&s->st);
	rview_ns_clear(&s->rn);
}

/* A member's services as text: "https 1234ABCD ok, smtp - NO". */
static char *
services_text(const json_t *services)
{
	char *text = xstrdup(""), *next;
	const json_t *o;
	size_t i;

	json_array_foreach(services, i, o) {
		const char *t = json_string_value(json_object_get(o, "Served"));
		if (t == NULL)
			t = json_string_value(json_object_get(o, "Assigned"));
		next = xasprintf("%s%s%s %.8s %s", text, i ? ", " : "",
		    json_string_value(json_object_get(o, "Service")),
		    t ? t : "-",
		    json_is_true(json_object_get(o, "Ok")) ? "ok" : "NO");
		free(text);
		text = next;
	}
	return text;
}

#define NCOLS 8

/* The string key of o (new), or "-" when it has none. */
static char *
cell_text(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return xstrdup(v != NULL ? v : "-");
}

/* The cells of member m's row. */
static void
member_row(const json_t *m, char **c)
{
	const json_t *h = json_object_get(m, "Holds");
	const json_t *wave = json_object_get(m, "Wave");
	const char *seen = json_string_value(json_object_get(m, "LastSeen"));

	c[0] = cell_text(m, "Server");
	c[1] = json_is_integer(wave)
		   ? xasprintf("%lld", (long long)json_integer_value(wave))
		   : xstrdup("-");
	c[2] = cell_text(m, "State");
	c[3] = cell_text(m, "Step");
	c[4] = xstrdup(json_is_null(h) ? "-" : json_is_true(h) ? "yes" : "no");
	c[5] = services_text(json_object_get(m, "Services"));
	c[6] = xstrdup(seen ? seen : "never");
	c[7] = cell_text(m, "Error");
}

/* The renewal's line: "renewal: next due ... (why); last success ...;
 * FAILED at ... (2 in a row): ERROR"; nothing when it never ran. */
static void
print_renewal(const json_t *r)
{
	const char *due = json_string_value(json_object_get(r, "NextDue"));
	const char *why = json_string_value(json_object_get(r, "Why"));
	const char *ok = json_string_value(json_object_get(r, "LastSuccess"));
	const char *bad = json_string_value(json_object_get(r, "LastFailure"));
	const char *error = json_string_value(json_object_get(r, "LastError"));
	long long n = json_integer_value(json_object_get(r, "Failures"));

	if (!json_is_object(r))
		return;
	printf("renewal: next due %s", due ? due : "unknown");
	if (due != NULL && why != NULL)
		printf(" (%s)", why);
	printf("; last success %s", ok ? ok : "never");
	if (bad != NULL && n > 0)
		printf("; FAILED at %s (%lld attempt%s in a row): %s", bad, n,
		    n == 1 ? "" : "s", error ? error : "no error kept");
	else if (bad != NULL) /* the pass could not tell whether it is due */
		printf(
		    "; FAILED at %s: %s", bad, error ? error : "no error kept");
	putchar('\n');
}

/* The namespace as text: a line, then a row per member. */
static void
print_text(const json_t *item)
{
	static const char *const headers[NCOLS] = {"Server", "Wave", "State",
	    "Step", "Holds", "Services", "LastSeen", "Error"};
	const json_t *members = json_object_get(item, "Members"), *m;
	const json_t *ro = json_object_get(item, "Rollout");
	const char *desired =
	    json_string_value(json_object_get(item, "Desired"));
	size_t i, n = json_array_size(members);
	char **cells = xcalloc(n * NCOLS + 1, sizeof(*cells));

	printf("%s: desired %.8s%s",
	    json_string_value(json_object_get(item, "Namespace")),
	    desired ? desired : "",
	    desired ? "" : "none (never rolled out; the servers must agree)");
	if (json_is_object(ro))
		printf("; rollout %s in wave %lld of %lld",
		    json_string_value(json_object_get(ro, "State")),
		    (long long)json_integer_value(json_object_get(ro, "Wave")),
		    (long long)json_integer_value(
			json_object_get(ro, "Waves")));
	if (json_is_true(json_object_get(ro, "Agents")))
		printf(" (the agents move it; coordinator %s)",
		    json_string_value(json_object_get(ro, "Coordinator"))
			? json_string_value(json_object_get(ro, "Coordinator"))
			: "none");
	printf("; %s\n", json_is_true(json_object_get(item, "Converged"))
			     ? "converged"
			     : "NOT converged");
	print_renewal(json_object_get(item, "Renewal"));
	json_array_foreach(members, i, m) {
		member_row(m, cells + i * NCOLS);
	}
	out_table(headers, NCOLS, cells, n);
	for (i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
}

static int
parse(int argc, char **argv, const char **ns, const char **ca_file)
{
	int c;

	*ns = NULL;
	*ca_file = NULL;
	while ((c = getopt_long(argc, argv, ":hC:", cli_status_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		} else if (c == 'C')
			*ca_file = optarg;
		else
			return cli_bad_option("status", c, argv);
	}
	if (argc - optind > 1)
		return cli_usage("status", "name at most one NAMESPACE");
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("status", "status asks each namespace's "
					   "servers, not --server or --store");
	*ns = optind < argc ? argv[optind] : NULL;
	return 0;
}

/* Every namespace of f, or the one named ns; the exit status. */
static int
status_all(const struct fleet *f, const char *name, const char *ca_file)
{
	struct ns_status s;
	struct rview v = {0};
	struct cf_error err;
	json_t *items = json_array(), *item;
	size_t i;
	int rc = 0, ok;

	cf_error_clear(&err);
	if (rview_wanted(f) && rview_read(f, &v, &err) == -1) {
		json_decref(items);
		return cli_fail("status", &err);
	}

	for (i = 0; i < fleet_ns_count(f); i++) {
		memset(&s, 0, sizeof(s));
		s.ns = fleet_ns_get(f, i);
		s.v = rview_wanted(f) ? &v : NULL;
		if (name != NULL && !cf_strieq(s.ns->name, name))
			continue;
		if (ask(&s, ca_file) == -1) {
			rc = 1;
			ns_status_free(&s);
			continue;
		}
		item = ns_json(&s, &ok);
		rc = ok ? rc : 1;
		if (!cli.json)
			print_text(item);
		json_array_append_new(items, item);
		ns_status_free(&s);
	}
	if (cli.json)
		out_json_items(items);
	else
		json_decref(items);
	rview_clear(&v);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	struct fleet *f = NULL;
	struct cf_error err;
	const char *ns, *ca_file;
	char *path = NULL;
	int rc;

	if ((rc = parse(argc, argv, &ns, &ca_file)) != 0)
		return rc < 0 ? 0 : rc;
	cf_error_clear(&err);
	if ((path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL) {
		rc = cli_fail("status", &err);
		goto out;
	}
	if (ns != NULL && fleet_ns_find(f, ns) == NULL) {
		cf_errorf(&err, CF_E_NOTFOUND,
		    "%s: no such namespace (certfleet namespace list shows "
		    "them)",
		    ns);
		rc = cli_fail("status", &err);
		goto out;
	}
	if (fleet_ns_count(f) == 0)
		fprintf(stderr,
		    "certfleet: status: no namespace in %s "
		    "(certfleet namespace add makes one)\n",
		    path);
	rc = status_all(f, ns, ca_file);
out:
	fleet_free(f);
	free(path);
	return rc;
}
