/*
 * cmd_test.c - certfleet test NAMESPACE: proves by real handshakes what
 * is served for a name.
 *
 * Without --via, every server's agent names its services' check
 * endpoints (GET /v1/services?probe=0: the agents do not probe), and
 * certfleet connects to each one from here, as a client of the namespace
 * would: SNI = NAMESPACE, STARTTLS for smtp, imap and pop, the chain
 * verified against --ca-file or the system's roots, the name and the
 * dates checked.  With --via HOST:PORT it asks no agent and connects N
 * times through the load balancer, counting what users get.
 *
 * Every handshake runs in a bounded pool of threads (probe_pool.h) with
 * its own timeout; one that fails is a result, not a fatal error.  Exit 0
 * only when every answer is valid for the namespace (OK or WARNING) and
 * all of them serve one and the same certificate.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "client.h"
#include "fleet.h"
#include "output.h"
#include "probe_pool.h"

static const char usage[] =
    "Usage: certfleet test NAMESPACE [--server NAME,...|all] [--store DIR]\n"
    "         [--ca-file FILE] [--warn-days 60] [--crit-days 30]\n"
    "         [--timeout SECONDS] [--json]\n"
    "       certfleet test NAMESPACE --via HOST:PORT [--count 20]\n"
    "         [--protocol tls|smtp|imap|pop] [--ca-file FILE] ...\n"
    "Connects to every service endpoint each server's agent names (or, with\n"
    "--via, N times through a load balancer) with SNI = NAMESPACE, and\n"
    "shows per endpoint the certificate served, whether its chain is\n"
    "trusted (--ca-file, else the system's roots), whether it names\n"
    "NAMESPACE, the days left and whether it is the one assigned.  Status\n"
    "WARNING under --warn-days, CRITICAL under --crit-days or when not\n"
    "valid.  Exit status 0 only when every endpoint is valid and all serve\n"
    "the same certificate.\n";

#define MAX_COUNT 10000 /* --count */
#define MAX_TIMEOUT 300 /* --timeout, seconds */
#define MAX_DAYS 36500  /* --warn-days, --crit-days */
#define MAX_REASONS 4   /* of one verdict */
#define SUMMARY_NAMED 5 /* endpoints the summary names, at most */

struct test_opts {
	const char *ns;
	const char *via;           /* HOST:PORT, or NULL: ask the agents */
	int count;                 /* --count; 0: not given */
	const char *protocol;      /* --protocol; NULL: not given */
	enum cf_probe_proto proto; /* --protocol's */
	const char *ca_file;
	int warn_days, crit_days;
	int timeout_s;
};

/* What one handshake's result means for the namespace. */
struct verdict {
	const char *status; /* "OK", "WARNING", "CRITICAL" */
	int valid;          /* OK or WARNING */
	long long days;     /* left on the served leaf */
	size_t nreasons;
	char *reasons[MAX_REASONS]; /* owned; none when OK */
};

/* A certificate served, the first job that saw it, and how often. */
struct seen {
	const struct probe_job *job;
	size_t count;
};

/* One check endpoint of a server's service. */
struct endpoint {
	size_t target;                     /* the backend's index */
	const struct cf_service_view *svc; /* lent from the reply */
	char *host;                        /* connected to (owned) */
	char *where;                       /* "HOST:PORT" (owned) */
};

/* ---- options -------------------------------------------------------- */

/* A whole number from lo to hi for option name; 0, or the usage error. */
static int
int_option(const char *name, const char *arg, long lo, long hi, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end != '\0' || v < lo || v > hi)
		return cli_usage("test",
		    "--%s %s: a whole number from %ld to %ld", name, arg, lo,
		    hi);
	*out = (int)v;
	return 0;
}

/* Checks what the options say together; 0 or the usage error. */
static int
check_options(const struct test_opts *o)
{
	if (o->via != NULL && (cli.server != NULL || cli.store != NULL))
		return cli_usage("test", "--via asks no agent: give --via or "
					 "--server/--store, not both");
	if (o->via == NULL && o->count != 0)
		return cli_usage("test", "--count goes with --via HOST:PORT");
	if (o->via == NULL && o->protocol != NULL)
		return cli_usage("test", "--protocol goes with --via HOST:PORT "
					 "(agents name each service's)");
	if (o->ns[0] == '\0')
		return cli_usage("test", "the NAMESPACE is empty");
	return 0;
}

/*
 * argv into *o; 0, -1 when --help was shown, or the exit status of a
 * usage error.
 */
static int
parse_options(int argc, char **argv, struct test_opts *o)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"via", required_argument, NULL, 'v'},
	    {"count", required_argument, NULL, 'n'},
	    {"protocol", required_argument, NULL, 'p'},
	    {"ca-file", required_argument, NULL, 'c'},
	    {"warn-days", required_argument, NULL, 'w'},
	    {"crit-days", required_argument, NULL, 'C'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	struct cf_error err;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->warn_days = 60;
	o->crit_days = 30;
	o->timeout_s = 5;
	while (
	    rc == 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'v':
			o->via = optarg;
			break;
		case 'n':
			rc = int_option(
			    "count", optarg, 1, MAX_COUNT, &o->count);
			break;
		case 'p':
			o->protocol = optarg;
			if (cf_probe_proto_parse(optarg, &o->proto, &err) == -1)
				return cli_fail("test", &err);
			break;
		case 'c':
			o->ca_file = optarg;
			break;
		case 'w':
			rc = int_option(
			    "warn-days", optarg, 0, MAX_DAYS, &o->warn_days);
			break;
		case 'C':
			rc = int_option(
			    "crit-days", optarg, 0, MAX_DAYS, &o->crit_days);
			break;
		case 't':
			rc = int_option(
			    "timeout", optarg, 1, MAX_TIMEOUT, &o->timeout_s);
			break;
		default:
			return cli_bad_option("test", c, argv);
		}
	}
	if (rc != 0)
		return rc;
	if (optind + 1 != argc)
		return optind == argc
			   ? cli_usage("test", "which NAMESPACE? (the name "
					       "clients ask for)")
			   : cli_usage("test", "unexpected argument %s",
				 argv[optind + 1]);
	o->ns = argv[optind];
	return check_options(o);
}

/* ---- verdicts ------------------------------------------------------- */

/* "HOST:PORT" as probe.c writes it first in its messages (new). */
static char *
where_new(const char *host, const char *port)
{
	return xasprintf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* msg without the "where: " that cf_probe_run puts first: the endpoint
 * is shown beside it already. */
static const char *
strip_where(const char *msg, const char *where)
{
	size_t n = strlen(where);

	if (strncmp(msg, where, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
		return msg + n + 2;
	return msg;
}

static void add_reason(struct verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_reason(struct verdict *v, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (v->nreasons == MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->reasons[v->nreasons++] = xstrdup(buf);
}

static void
verdict_clear(struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->nreasons; i++)
		free(v->reasons[i]);
	memset(v, 0, sizeof(*v));
}

/* Whole days from now to t, rounded down: -1 the day after expiry. */
static long long
days_until(time_t t, time_t now)
{
	long long s = (long long)t - (long long)now;

	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

/*
 * Judges one handshake: CRITICAL when it failed, the chain is not
 * trusted, the name does not match, the leaf is out of its dates or has
 * fewer than crit_days left; WARNING under warn_days; OK otherwise.
 * Expiry is named as such rather than as OpenSSL's "untrusted" reason
 * for it.
 */
static void
judge(const struct probe_job *j, const char *where, const struct test_opts *o,
    time_t now, struct verdict *v)
{
	const struct cf_probe *p = &j->result;
	int expired, early;

	memset(v, 0, sizeof(*v));
	if (j->rc != 0) {
		add_reason(
		    v, "handshake failed: %s", strip_where(j->err.msg, where));
		v->status = "CRITICAL";
		return;
	}
	v->days = days_until(p->not_after, now);
	expired = p->not_after <= now;
	early = p->not_before > now;
	if (expired)
		add_reason(v, "expired");
	if (early)
		add_reason(v, "not yet valid");
	if (!p->trusted &&
	    !(expired && strstr(p->verify_error, "expired") != NULL) &&
	    !(early && strstr(p->verify_error, "not yet valid") != NULL))
		add_reason(v, "untrusted: %s", p->verify_error);
	if (p->name_ok == 0)
		add_reason(v, "name mismatch");
	if (!expired && v->days < o->crit_days)
		add_reason(v, "expires in %lld days", v->days);
	if (v->nreasons > 0)
		v->status = "CRITICAL";
	else if (v->days < o->warn_days) {
		add_reason(v, "expires in %lld days", v->days);
		v->status = "WARNING";
		v->valid = 1;
	} else {
		v->status = "OK";
		v->valid = 1;
	}
}

/* The reasons joined by ", " (new); "" when there are none. */
static char *
reasons_text(const struct verdict *v)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < v->nreasons; i++) {
		t = xasprintf("%s%s%s", s, i ? ", " : "", v->reasons[i]);
		free(s);
		s = t;
	}
	return s;
}

static json_t *
reasons_json(const struct verdict *v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < v->nreasons; i++)
		json_array_append_new(a, json_string(v->reasons[i]));
	return a;
}

/* Counts job's certificate among the distinct ones seen (nothing for a
 * failed handshake); seen holds room for every job. */
static void
tally(struct seen *seen, size_t *nseen, const struct probe_job *j)
{
	size_t i;

	if (j->rc != 0)
		return;
	for (i = 0; i < *nseen; i++)
		if (strcmp(seen[i].job->result.thumbprint,
			j->result.thumbprint) == 0) {
			seen[i].count++;
			return;
		}
	seen[*nseen].job = j;
	seen[(*nseen)++].count = 1;
}

/* Most served first; ties in the order first seen. */
static int
seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->job < y->job ? -1 : x->job > y->job;
}

static json_t *
distinct_json(const struct seen *seen, size_t nseen)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; i < nseen; i++) {
		o = json_object();
		json_object_set_new(o, "thumbprint",
		    json_string(seen[i].job->result.thumbprint));
		json_object_set_new(
		    o, "subject", json_string(seen[i].job->result.subject));
		json_object_set_new(
		    o, "count", json_integer((json_int_t)seen[i].count));
		json_array_append_new(a, o);
	}
	return a;
}

/* The facts of a served leaf into o; nulls for a failed handshake. */
static void
served_json(json_t *o, const struct probe_job *j, const struct verdict *v)
{
	const struct cf_probe *p = &j->result;
	char iso[21] = "";
	int ok = j->rc == 0;

	if (ok)
		cf_time_iso(p->not_after, iso);
	json_object_update_new(o,
	    json_pack("{s:s?, s:s?, s:s?, s:s?, s:o?, s:o?, s:o?, s:s?, s:s, "
		      "s:b, s:o}",
		"thumbprint", ok ? p->thumbprint : NULL, "subject",
		ok ? p->subject : NULL, "issuer", ok ? p->issuer : NULL,
		"not_after", ok ? iso : NULL, "days_left",
		ok ? json_integer((json_int_t)v->days) : NULL, "trusted",
		ok ? json_boolean(p->trusted) : NULL, "name_matches",
		ok ? json_boolean(p->name_ok == 1) : NULL, "tls_version",
		ok ? p->version : NULL, "status", v->status, "valid", v->valid,
		"reasons", reasons_json(v)));
}

/* The roots every probe shares: --ca-file, else the system's. */
static struct cf_probe_ctx *
roots_new(const struct test_opts *o)
{
	struct cf_probe_ctx *ctx;
	struct cf_error err;

	if ((ctx = cf_probe_ctx_new(o->ca_file, 1, &err)) == NULL)
		cli_fail("test", &err);
	return ctx;
}

/* ---- through a load balancer: --via --------------------------------- */

/* One row of the --via table and one element of its JSON; whether the
 * certificate is valid for the namespace. */
static int
via_cert(const struct seen *s, size_t total, const struct test_opts *o,
    const char *where, char **cell, json_t *a)
{
	struct verdict v;
	json_t *j = json_object();
	char *r;
	int valid;

	judge(s->job, where, o, time(NULL), &v);
	served_json(j, s->job, &v);
	json_object_set_new(j, "count", json_integer((json_int_t)s->count));
	json_object_set_new(
	    j, "share", json_real((double)s->count / (double)total));
	json_array_append_new(a, j);
	r = reasons_text(&v);
	cell[0] = xstrdup(s->job->result.thumbprint);
	cell[1] = xstrdup(s->job->result.subject);
	cell[2] = xasprintf("%zu/%zu %zu%%", s->count, total,
	    (s->count * 100 + total / 2) / total);
	cell[3] = v.nreasons == 0 ? xstrdup("valid")
		  : v.valid       ? xasprintf("valid, %s", r)
				  : xstrdup(r);
	free(r);
	valid = v.valid;
	verdict_clear(&v);
	return valid;
}

/* Whether failed jobs a and b failed for the same reason. */
static int
same_failure(
    const struct probe_job *a, const struct probe_job *b, const char *where)
{
	return a->rc != 0 && b->rc != 0 &&
	       strcmp(strip_where(a->err.msg, where),
		   strip_where(b->err.msg, where)) == 0;
}

/*
 * The failed handshakes grouped by reason, into rows (from cell) and
 * JSON; how many rows.
 */
static size_t
via_failures(const struct probe_job *jobs, size_t n, const char *where,
    char **cell, json_t *a)
{
	size_t i, k, rows = 0, count;
	const char *msg;

	for (i = 0; i < n; i++) {
		if (jobs[i].rc == 0)
			continue;
		for (k = 0; k < i && !same_failure(&jobs[k], &jobs[i], where);
		     k++)
			;
		if (k < i)
			continue; /* counted with the first of its kind */
		for (count = 0, k = i; k < n; k++)
			count += same_failure(&jobs[k], &jobs[i], where);
		msg = strip_where(jobs[i].err.msg, where);
		json_array_append_new(a, json_pack("{s:s, s:I}", "error", msg,
					     "count", (json_int_t)count));
		cell[0] = xstrdup("-");
		cell[1] = xstrdup("-");
		cell[2] = xasprintf(
		    "%zu/%zu %zu%%", count, n, (count * 100 + n / 2) / n);
		cell[3] = xasprintf("handshake failed: %s", msg);
		cell += 4;
		rows++;
	}
	return rows;
}

/* The table or the JSON of --via, then the summary; the exit status. */
static int
via_report(const struct test_opts *o, const char *where,
    const struct probe_job *jobs, size_t n, const struct seen *seen,
    size_t nseen)
{
	static const char *const headers[] = {
	    "Thumbprint", "Subject", "Share", "Result"};
	char **cells = xcalloc((nseen + n) * 4 + 1, sizeof(*cells));
	json_t *certs = json_array(), *fails = json_array();
	size_t i, rows, failed = n, invalid = 0;
	int ok;

	for (i = 0; i < nseen; i++) {
		if (!via_cert(&seen[i], n, o, where, cells + i * 4, certs))
			invalid += seen[i].count;
		failed -= seen[i].count;
	}
	rows = nseen + via_failures(jobs, n, where, cells + nseen * 4, fails);
	ok = nseen == 1 && failed == 0 && invalid == 0;
	if (cli.json)
		out_json(json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:b}",
		    "namespace", o->ns, "via", where, "protocol",
		    cf_probe_proto_name(o->proto), "connections", (json_int_t)n,
		    "distinct", certs, "failures", fails, "ok", ok));
	else {
		json_decref(certs);
		json_decref(fails);
		out_table(headers, 4, cells, rows);
		printf("%s via %s: %zu distinct certificate%s in %zu "
		       "connections; ",
		    o->ns, where, nseen, nseen == 1 ? "" : "s", n);
		if (invalid + failed == 0)
			puts("all valid");
		else if (failed == 0)
			printf("%zu not valid\n", invalid);
		else
			printf("%zu not valid (%zu handshakes failed)\n",
			    invalid + failed, failed);
	}
	for (i = 0; i < rows * 4; i++)
		free(cells[i]);
	free(cells);
	return ok ? 0 : 1;
}

/* --via: count handshakes through a load balancer; the exit status. */
static int
test_via(const struct test_opts *o)
{
	struct cf_probe_ctx *ctx = NULL;
	struct probe_job *jobs = NULL;
	struct seen *seen = NULL;
	struct cf_error err;
	size_t n = o->count ? (size_t)o->count : 20, nseen = 0, i;
	char *host = NULL, *port = NULL, *where = NULL;
	int iport, rc = 1;

	if (client_address_parse(o->via, &host, &iport, &err) == -1)
		return cli_fail("test", &err);
	if ((ctx = roots_new(o)) == NULL)
		goto out;
	port = xasprintf("%d", iport);
	where = where_new(host, port);
	jobs = xcalloc(n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		jobs[i].opts.host = host;
		jobs[i].opts.port = port;
		jobs[i].opts.sni = o->ns;
		jobs[i].opts.proto = o->proto;
		jobs[i].opts.timeout_ms = o->timeout_s * 1000;
		jobs[i].opts.ctx = ctx;
	}
	probe_pool_run(jobs, n, 0, isatty(STDERR_FILENO));
	seen = xcalloc(n, sizeof(*seen));
	for (i = 0; i < n; i++)
		tally(seen, &nseen, &jobs[i]);
	qsort(seen, nseen, sizeof(*seen), seen_cmp);
	rc = via_report(o, where, jobs, n, seen, nseen);
out:
	probe_jobs_clear(jobs, n);
	free(jobs);
	free(seen);
	cf_probe_ctx_free(ctx);
	free(host);
	free(port);
	free(where);
	return rc;
}

/* ---- every server's services ---------------------------------------- */

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
 * The host of each target's agent when agents were named by --server
 * (n entries, new; NULL each for the local agent or store): a service
 * that checks on the agent's loopback is reached at the agent's host.
 * backend.h does not lend a target's address, so the --server list is
 * resolved again here, as backend_open did, and matched by name.
 */
static char **
agent_hosts(const struct backend *b)
{
	char **hosts = xcalloc(backend_count(b) + 1, sizeof(*hosts));
	struct client_target *t = NULL;
	struct fleet *f = NULL;
	struct cf_error err;
	char *path = NULL;
	size_t nt = 0, i, k;
	int port;

	if (cli.server == NULL || (path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL ||
	    fleet_resolve(f, cli.server, cli.fingerprint, &t, &nt, &err) == -1)
		nt = 0;
	for (i = 0; i < backend_count(b); i++)
		for (k = 0; k < nt; k++)
			if (!t[k].unix_socket &&
			    strcmp(t[k].name, backend_server(b, i)) == 0 &&
			    client_address_parse(
				t[k].address, &hosts[i], &port, &err) == 0)
				break;
	client_targets_free(t, nt);
	fleet_free(f);
	free(path);
	return hosts;
}

/*
 * The endpoints of every service that has a check address, on every
 * target that answered, with their jobs (*eps and *jobs new, as many as
 * returned).
 */
static size_t
collect(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct cf_probe_ctx *ctx,
    struct endpoint **eps, struct probe_job **jobs)
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
			if (r[i].err.code != CF_OK ||
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
			    where_new((*eps)[n].host, v->check_port);
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
endpoint_row(const struct backend *b, const struct endpoint *e,
    const struct probe_job *j, const struct verdict *v, char **cell, json_t *a)
{
	const struct cf_probe *p = &j->result;
	const char *as = assigned_text(e->svc, j);

	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o?}", "server",
	    backend_server(b, e->target), "service", e->svc->name, "endpoint",
	    e->where, "protocol", e->svc->proto, "assigned",
	    e->svc->assigned[0] ? e->svc->assigned : NULL, "serves_assigned",
	    as[0] == '-' ? NULL : json_boolean(as[0] == 'y'));

	served_json(o, j, v);
	json_array_append_new(a, o);
	cell[0] = xstrdup(backend_server(b, e->target));
	cell[1] = xstrdup(e->svc->name);
	cell[2] = xstrdup(e->where);
	cell[3] = j->rc == 0 ? xasprintf("%.8s", p->thumbprint) : xstrdup("-");
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
	    a, json_pack("{s:s, s:s}", "server", server, "service", v->name));
	cell[0] = xstrdup(server);
	cell[1] = xstrdup(v->name);
	for (c = 2; c < NCOLS - 1; c++)
		cell[c] = xstrdup("-");
	cell[NCOLS - 1] = xstrdup("no check endpoint");
}

/*
 * The summary line: how many distinct certificates on how many
 * endpoints, and the first few that are not valid, named.
 */
static void
print_summary(const struct backend *b, const struct test_opts *o,
    const struct endpoint *eps, const struct verdict *v, size_t n, size_t nseen,
    size_t unreached)
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
		r = reasons_text(&v[i]);
		printf("%s%s %s: %s", named > 1 ? "; " : "",
		    backend_server(b, eps[i].target), eps[i].svc->name, r);
		free(r);
	}
	if (bad > 0)
		putchar(')');
	if (warn > 0)
		printf("; %zu WARNING (under %d days)", warn, o->warn_days);
	if (unreached > 0)
		printf("; %zu server%s not asked", unreached,
		    unreached == 1 ? "" : "s");
	putchar('\n');
}

/* One line on stderr per endpoint that is not valid. */
static void
report_invalid(const struct backend *b, const struct endpoint *eps,
    const struct verdict *v, size_t n)
{
	size_t i;
	char *r;

	for (i = 0; i < n; i++) {
		if (v[i].valid)
			continue;
		r = reasons_text(&v[i]);
		fprintf(stderr, "certfleet: %s: %s: %s\n",
		    backend_server(b, eps[i].target), eps[i].svc->name, r);
		free(r);
	}
}

/* The rows of every service of every target that answered, in order;
 * how many. */
static size_t
agents_rows(const struct backend *b, const struct backend_reply *r,
    const struct endpoint *eps, const struct probe_job *jobs,
    const struct verdict *v, size_t n, char **cells, json_t *checked,
    json_t *unchecked)
{
	size_t i, k, e = 0, rows = 0;

	for (i = 0; i < backend_count(b); i++)
		for (k = 0; r[i].err.code == CF_OK && k < r[i].nsvcs; k++) {
			char **cell = cells + rows++ * NCOLS;
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
    const struct test_opts *o, const struct endpoint *eps,
    const struct probe_job *jobs, size_t n)
{
	static const char *const headers[NCOLS] = {"Server", "Service",
	    "Endpoint", "Served", "Trusted", "Name", "Days", "Assigned",
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
			    json_pack("{s:s, s:s}", "server",
				backend_server(b, i), "error", r[i].err.msg));
		}
	}
	for (i = 0; i < n; i++) {
		judge(&jobs[i], eps[i].where, o, now, &v[i]);
		bad += !v[i].valid;
		tally(seen, &nseen, &jobs[i]);
	}
	qsort(seen, nseen, sizeof(*seen), seen_cmp);
	cells = xcalloc(rows * NCOLS + 1, sizeof(*cells));
	rows = agents_rows(b, r, eps, jobs, v, n, cells, checked, unchecked);
	ok = n > 0 && bad == 0 && nseen == 1 && unreached == 0;
	if (cli.json)
		out_json(json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}",
		    "namespace", o->ns, "endpoints", checked, "unchecked",
		    unchecked, "errors", errors, "distinct",
		    distinct_json(seen, nseen), "ok", ok));
	else {
		json_decref(checked);
		json_decref(unchecked);
		json_decref(errors);
		if (rows > 0)
			out_table(headers, NCOLS, cells, rows);
		if (n > 0)
			print_summary(b, o, eps, v, n, nseen, unreached);
		else
			printf("%s: no endpoint to test: no service has a "
			       "check address ([service NAME] check = "
			       "HOST:PORT in the agent's configuration)\n",
			    o->ns);
	}
	report_invalid(b, eps, v, n);
	for (i = 0; i < rows * NCOLS; i++)
		free(cells[i]);
	free(cells);
	for (i = 0; i < n; i++)
		verdict_clear(&v[i]);
	free(v);
	free(seen);
	return ok;
}

/* Without --via: every server's services, probed from here. */
static int
test_agents(const struct test_opts *o)
{
	struct backend_req req;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct cf_probe_ctx *ctx = NULL;
	struct endpoint *eps = NULL;
	struct probe_job *jobs = NULL;
	size_t i, n = 0;
	int rc;

	if ((ctx = roots_new(o)) == NULL)
		return 1;
	if ((rc = backend_open("test", &b)) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.no_probe = 1; /* the agents name endpoints; this host probes */
	r = backend_replies_new(b);
	backend_run(b, BACKEND_SERVICES, &req, r);
	for (i = 0; i < backend_count(b); i++)
		if (r[i].err.code != CF_OK) {
			int status = backend_fail(b, i, "test", &r[i].err);
			rc = rc ? rc : status;
		}
	n = collect(b, r, o, ctx, &eps, &jobs);
	probe_pool_run(jobs, n, 0, isatty(STDERR_FILENO) && n > 1);
	if (!agents_report(b, r, o, eps, jobs, n) && rc == 0)
		rc = 1;
out:
	for (i = 0; i < n; i++) {
		free(eps[i].host);
		free(eps[i].where);
	}
	free(eps);
	probe_jobs_clear(jobs, n);
	free(jobs);
	if (b != NULL)
		backend_replies_free(r, backend_count(b));
	backend_free(b);
	cf_probe_ctx_free(ctx);
	return rc;
}

int
cmd_test(int argc, char **argv)
{
	struct test_opts o;
	int rc = parse_options(argc, argv, &o);

	if (rc != 0)
		return rc == -1 ? 0 : rc;
	return o.via != NULL ? test_via(&o) : test_agents(&o);
}
