/*
 * cmd_test_agents.c - certfleet test NAMESPACE without --via: every server's
 * agent names its services' check endpoints (the agents do not probe),
 * and each one is probed from here as a client of the namespace would
 * reach it.  A service that checks on its agent's loopback is reached at
 * the agent's host.  One row per service, a summary, and a line on
 * stderr per endpoint that is not valid.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "client.h"
#include "output.h"
#include "test.h"

#define SUMMARY_NAMED 5 /* endpoints the summary names, at most */

/* Whether host names this machine's loopback: 127/8, ::1, localhost. */
static int
is_loopback(const char *host)
{
	unsigned char a[16];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0 ||
		       (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
			   a[12] == 127);
	return cf_strieq(host, "localhost") ||
	       (n > 10 && cf_strieq(host + n - 10, ".localhost"));
}

/*
 * The host of each target's agent reached over TLS (n entries, new; NULL
 * each for the local agent or store): a service that checks on the
 * agent's loopback is reached at the agent's host.
 */
static char **
agent_hosts(const struct backend *b)
{
	char **hosts = xcalloc(backend_count(b) + 1, sizeof(*hosts));
	struct cf_error err;
	const char *address;
	size_t i;
	int port;

	for (i = 0; i < backend_count(b); i++)
		if ((address = backend_address(b, i)) != NULL)
			client_address_parse(address, &hosts[i], &port, &err);
	return hosts;
}

size_t
test_collect(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct cf_probe_ctx *ctx,
    struct test_endpoint **eps, struct probe_job **jobs)
{
	char **hosts = agent_hosts(b);
	size_t i, k, n = 0, max = 0;
	const struct cf_service_view *v;
	enum cf_probe_proto proto;
	struct cf_error err;

	for (i = 0; i < backend_count(b); i++)
		max += r[i].nsvcs;
	*eps = xcalloc(max + 1, sizeof(**eps));
	*jobs = xcalloc(max + 1, sizeof(**jobs));
	for (i = 0; i < backend_count(b); i++)
		for (k = 0; k < r[i].nsvcs; k++) {
			v = &r[i].svcs[k];
			if (r[i].err.code != CF_OK || !test_wants(o, v->name) ||
			    v->check_host[0] == '\0' ||
			    v->check_port[0] == '\0')
				continue;
			if (cf_probe_proto_parse(v->proto, &proto, &err) == -1)
				proto = CF_PROBE_TLS;
			(*eps)[n].target = i;
			(*eps)[n].svc = v;
			(*eps)[n].host =
			    xstrdup(hosts[i] && is_loopback(v->check_host)
					? hosts[i]
					: v->check_host);
			(*eps)[n].where =
			    test_where_new((*eps)[n].host, v->check_port);
			(*jobs)[n].opts.host = (*eps)[n].host;
			(*jobs)[n].opts.port = v->check_port;
			(*jobs)[n].opts.sni = o->ns;
			(*jobs)[n].opts.proto = proto;
			(*jobs)[n].opts.timeout_ms = o->timeout_s * 1000;
			(*jobs)[n].opts.ctx = ctx;
			n++;
		}
	for (i = 0; i < backend_count(b); i++)
		free(hosts[i]);
	free(hosts);
	return n;
}

#define NCOLS 9

/* "yes", "NO" or "-": whether the endpoint serves the assigned one. */
static const char *
assigned_text(const struct cf_service_view *v, const struct probe_job *j)
{
	if (v->assigned[0] == '\0' || j->rc != 0)
		return "-";
	return cf_strieq(v->assigned, j->result.thumbprint) ? "yes" : "NO";
}

/* Row cell and JSON element of one probed endpoint. */
static void
endpoint_row(const struct backend *b, const struct test_endpoint *e,
    const struct probe_job *j, const struct verdict *v, char **cell, json_t *a)
{
	const struct cf_probe *p = &j->result;
	const char *as = assigned_text(e->svc, j);

	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o?}", "Server",
	    backend_server(b, e->target), "Service", e->svc->name, "Endpoint",
	    e->where, "Protocol", e->svc->proto, "Assigned",
	    e->svc->assigned[0] ? e->svc->assigned : NULL, "ServesAssigned",
	    as[0] == '-' ? NULL : json_boolean(as[0] == 'y'));

	test_served_json(o, j, v);
	json_array_append_new(a, o);
	cell[0] = xstrdup(backend_server(b, e->target));
	cell[1] = xstrdup(e->svc->name);
	cell[2] = xstrdup(e->where);
	cell[3] = j->rc != 0  ? xstrdup("-")
		  : out_tsv() ? xstrdup(p->thumbprint)
			      : xasprintf("%.8s", p->thumbprint);
	cell[4] = xstrdup(j->rc != 0 ? "-" : p->trusted ? "yes" : "NO");
	cell[5] = xstrdup(j->rc != 0 ? "-" : p->name_ok == 1 ? "yes" : "NO");
	cell[6] = j->rc == 0 ? xasprintf("%lld", v->days) : xstrdup("-");
	cell[7] = xstrdup(as);
	cell[8] = xstrdup(v->status);
}

/* Row cells of a service without a check endpoint. */
static void
unchecked_row(
    const char *server, const struct cf_service_view *v, char **cell, json_t *a)
{
	size_t c;

	json_array_append_new(
	    a, json_pack("{s:s, s:s}", "Server", server, "Service", v->name));
	cell[0] = xstrdup(server);
	cell[1] = xstrdup(v->name);
	for (c = 2; c < NCOLS - 1; c++)
		cell[c] = xstrdup("-");
	cell[NCOLS - 1] = xstrdup("no check endpoint");
}

/* "; N WARNING (under 60 days)", or "(under 33.3% of the lifetime)". */
static void
print_under(const struct test_opts *o, size_t warn)
{
	char limit[32];

	if (o->warn.is_share) {
		lifetime_limit_text(&o->warn, limit, sizeof(limit));
		printf("; %zu WARNING (under %s of the lifetime)", warn, limit);
	} else
		printf("; %zu WARNING (under %ld days)", warn, o->warn.days);
}

/*
 * The summary line: how many distinct certificates on how many
 * endpoints, and the first few that are not valid, named.
 */
static void
print_summary(const struct backend *b, const struct test_opts *o,
    const struct test_endpoint *eps, const struct verdict *v, size_t n,
    size_t nseen, size_t unreached)
{
	size_t i, bad = 0, warn = 0, named = 0;

	for (i = 0; i < n; i++) {
		bad += !v[i].valid;
		warn += v[i].status[0] == 'W';
	}
	printf("%s: %zu distinct certificate%s on %zu endpoint%s; ", o->ns,
	    nseen, nseen == 1 ? "" : "s", n, n == 1 ? "" : "s");
	if (bad == 0)
		fputs("all valid", stdout);
	else
		printf("%zu not valid (", bad);
	for (i = 0; i < n && bad > 0; i++) {
		char *r;
		if (v[i].valid)
			continue;
		if (named++ == SUMMARY_NAMED) {
			printf("; and %zu more", bad - SUMMARY_NAMED);
			break;
		}
		r = test_reasons_text(&v[i]);
		printf("%s%s %s: %s", named > 1 ? "; " : "",
		    backend_server(b, eps[i].target), eps[i].svc->name, r);
		free(r);
	}
	if (bad > 0)
		putchar(')');
	if (warn > 0)
		print_under(o, warn);
	if (unreached > 0)
		printf("; %zu server%s not asked", unreached,
		    unreached == 1 ? "" : "s");
	putchar('\n');
}

/* One line on stderr per endpoint that is not valid. */
static void
report_invalid(const struct backend *b, const struct test_endpoint *eps,
    const struct verdict *v, size_t n)
{
	size_t i;
	char *r;

	for (i = 0; i < n; i++) {
		if (v[i].valid)
			continue;
		r = test_reasons_text(&v[i]);
		fprintf(stderr, "certfleet: %s: %s: %s\n",
		    backend_server(b, eps[i].target), eps[i].svc->name, r);
		free(r);
	}
}

/* The rows of every service of every target that answered, in order;
 * how many. */
static size_t
agents_rows(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct test_endpoint *eps,
    const struct probe_job *jobs, const struct verdict *v, size_t n,
    char **cells, json_t *checked, json_t *unchecked)
{
	size_t i, k, e = 0, rows = 0;

	for (i = 0; i < backend_count(b); i++)
		for (k = 0; r[i].err.code == CF_OK && k < r[i].nsvcs; k++) {
			char **cell = cells + rows * NCOLS;
			if (!test_wants(o, r[i].svcs[k].name))
				continue;
			rows++;
			if (e < n && eps[e].svc == &r[i].svcs[k]) {
				endpoint_row(
				    b, &eps[e], &jobs[e], &v[e], cell, checked);
				e++;
			} else
				unchecked_row(backend_server(b, i),
				    &r[i].svcs[k], cell, unchecked);
		}
	return rows;
}

/* The table or JSON, the summary and the stderr lines; whether all is
 * well. */
static int
agents_report(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct test_endpoint *eps,
    const struct probe_job *jobs, size_t n)
{
	static const char *const headers[NCOLS] = {"Server", "Service",
	    "Endpoint", "Served", "Trusted", "Name", "DaysLeft", "Assigned",
	    "Status"};
	struct verdict *v = xcalloc(n + 1, sizeof(*v));
	struct seen *seen = xcalloc(n + 1, sizeof(*seen));
	json_t *checked = json_array(), *unchecked = json_array();
	json_t *errors = json_array();
	size_t i, rows = 0, nseen = 0, bad = 0, unreached = 0;
	char **cells;
	time_t now = time(NULL);
	int ok;

	for (i = 0; i < backend_count(b); i++) {
		rows += r[i].nsvcs;
		if (r[i].err.code != CF_OK) {
			unreached++;
			json_array_append_new(errors,
			    out_error_json(backend_server(b, i), r[i].err.msg));
		}
	}
	for (i = 0; i < n; i++) {
		test_judge(&jobs[i], o, now, &v[i]);
		bad += !v[i].valid;
		test_tally(seen, &nseen, &jobs[i]);
	}
	qsort(seen, nseen, sizeof(*seen), test_seen_cmp);
	cells = xcalloc(rows * NCOLS + 1, sizeof(*cells));
	rows = agents_rows(b, r, o, eps, jobs, v, n, cells, checked, unchecked);
	ok = n > 0 && bad == 0 && nseen == 1 && unreached == 0;
	if (cli.json)
		out_json(json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:s?}",
		    "Namespace", o->ns, "Endpoints", checked, "Unchecked",
		    unchecked, "Errors", errors, "Distinct",
		    test_distinct_json(seen, nseen), "Ok", ok, "Renewal",
		    o->renewal));
	else {
		json_decref(checked);
		json_decref(unchecked);
		json_decref(errors);
		if (rows > 0)
			out_table(headers, NCOLS, cells, rows);
		if (out_tsv())
			; /* rows only: the exit status is the verdict */
		else if (n > 0)
			print_summary(b, o, eps, v, n, nseen, unreached);
		else
			printf("%s: no endpoint to test: no service has a "
			       "check address ([service NAME] check = "
			       "HOST:PORT in the agent's configuration)\n",
			    o->ns);
		/* what users get is fine; that it will stay so is not */
		if (o->renewal != NULL && !out_tsv())
			printf("%s: %s\n", o->ns, o->renewal);
	}
	report_invalid(b, eps, v, n);
	for (i = 0; i < rows * NCOLS; i++)
		free(cells[i]);
	free(cells);
	for (i = 0; i < n; i++)
		test_verdict_clear(&v[i]);
	free(v);
	free(seen);
	return ok;
}

void
test_endpoints_free(struct test_endpoint *eps, size_t n)
{
	size_t i;

	for (i = 0; eps != NULL && i < n; i++) {
		free(eps[i].host);
		free(eps[i].where);
	}
	free(eps);
}

/* Without --via: every server's services, probed from here. */
int
test_agents(const struct test_opts *o)
{
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_probe_ctx *ctx = NULL;
	struct test_endpoint *eps = NULL;
	struct probe_job *jobs = NULL;
	size_t n = 0;
	int rc;

	if ((ctx = test_roots_new(o)) == NULL)
		return 1;
	if ((rc = backend_open("test", &b)) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.no_probe = 1; /* the agents name endpoints; this host probes */
	r = backend_replies_new(b);
	backend_run(b, BACKEND_SERVICES, &req, r);
	rc = backend_fail_all(b, "test", r, NULL);
	n = test_collect(b, r, o, ctx, &eps, &jobs);
	probe_pool_run(jobs, n, 0, isatty(STDERR_FILENO) && n > 1);
	if (o->plugin)
		rc = test_plugin_agents(b, r, o, eps, jobs, n);
	else if (!agents_report(b, r, o, eps, jobs, n) && rc == 0)
		rc = 1;
out:
	test_endpoints_free(eps, n);
	probe_jobs_clear(jobs, n);
	free(jobs);
	if (b != NULL)
		backend_replies_free(r, backend_count(b));
	backend_free(b);
	cf_probe_ctx_free(ctx);
	return rc;
}
