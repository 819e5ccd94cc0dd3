/*
 * cmd_test.c - certfleet test NAMESPACE: proves by real handshakes what
 * is served for a name.
 *
 * Without --via, every server's agent names its services' check
 * endpoints (GET /v1/services?probe=0: the agents do not probe), and
 * certfleet connects to each one from here, as a client of the namespace
 * would: SNI = NAMESPACE, STARTTLS for smtp, imap and pop, the chain
 * verified against --ca-file or the system's roots, the name and the
 * dates checked (cmd_test_agents.c).  With --via HOST:PORT it asks no agent
 * and connects N times through the load balancer, counting what users
 * get (cmd_test_via.c).
 *
 * Every handshake runs in a bounded pool of threads (probe_pool.h) with
 * its own timeout; one that fails is a result, not a fatal error.  Exit 0
 * only when every answer is valid for the namespace (OK or WARNING) and
 * all of them serve one and the same certificate.
 *
 * This file parses the options and judges handshakes for both modes.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fleet.h"
#include "renew.h"
#include "test.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet test NAMESPACE [--server NAME,...|all] [--store DIR]\n"
    "         [--ca-file FILE] [--warn-days N|N%] [--crit-days N|N%]\n"
    "         [--timeout SECONDS] [--json | --plugin]\n"
    "       certfleet test NAMESPACE --via HOST:PORT [--count 20]\n"
    "         [--protocol tls|smtp|imap|pop] [--ca-file FILE] ...\n"
    "Connects to every service endpoint each server's agent names (or, with\n"
    "--via, N times through a load balancer) with SNI = NAMESPACE, and\n"
    "shows per endpoint the certificate served, whether its chain is\n"
    "trusted (--ca-file, else the system's roots), whether it names\n"
    "NAMESPACE, the days left and whether it is the one assigned.  Status\n"
    "WARNING under --warn-days, CRITICAL under --crit-days or when not\n"
    "valid; each in days (30, 30d) or a share of the certificate's\n"
    "lifetime (33%), by default a third and a sixth of it.  Exit status 0\n"
    "only when every endpoint is valid and all serve the same certificate.\n"
    "--plugin (or the name check_certfleet) speaks as a monitoring plugin\n"
    "for Nagios, Icinga and Checkmk: one status line with performance data\n"
    "and exit 0 OK, 1 WARNING, 2 CRITICAL (also: not the assigned one),\n"
    "3 UNKNOWN (an agent not reached, a usage error).\n"
    "When NAMESPACE is defined (certfleet namespace add), its servers and\n"
    "services are tested (--server, --store or --via override them), and\n"
    "--count or --protocol without --via go through its --via.\n";

#define MAX_COUNT 10000 /* --count */
#define MAX_TIMEOUT 300 /* --timeout, seconds */

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

/* "renewal failing since ... (2 attempts): ERROR" when the autopilot's
 * last word on ns is a failure (new), else NULL. */
static char *
renewal_text(const struct fleet_ns *ns)
{
	struct cf_renew_state st;
	struct cf_error err;
	char iso[21];

	if (ns->renewal == NULL ||
	    cf_renew_state_parse(ns->renewal, &st, &err) == -1 ||
	    !cf_renew_state_failing(&st))
		return NULL;
	cf_time_iso(st.last_failure, iso);
	return xasprintf("renewal failing since %s (%d attempt%s in a row): "
			 "%s",
	    iso, st.failures, st.failures == 1 ? "" : "s",
	    st.last_error[0] ? st.last_error : "no error kept");
}

/*
 * The defaults a namespace of the fleet file gives: its services; its
 * servers unless --server, --store or --via say where; its balancer
 * when --count or --protocol ask for one.  Nothing for a name the file
 * does not define.  0, or the exit status of an error.
 */
static int
namespace_defaults(struct test_opts *o)
{
	const struct fleet_ns *ns;
	struct fleet *f = NULL;
	struct cf_error err;
	char *path = NULL;
	int rc = 0;

	cf_error_clear(&err);
	if ((path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL) {
		rc = cli_fail("test", &err);
		goto out;
	}
	if ((ns = fleet_ns_find(f, o->ns)) == NULL)
		goto out;
	o->services = xstrdup(ns->services);
	o->renewal = renewal_text(ns);
	if (o->via != NULL || cli.server != NULL || cli.store != NULL)
		goto out;
	if ((o->count != 0 || o->protocol != NULL) && ns->via != NULL)
		o->via = o->via_owned = xstrdup(ns->via);
	else if (o->count == 0 && o->protocol == NULL)
		cli.server = o->servers = xstrdup(ns->servers);
out:
	fleet_free(f);
	free(path);
	return rc;
}

int
test_wants(const struct test_opts *o, const char *service)
{
	return o->services == NULL || fleet_list_has(o->services, service);
}

/* --warn-days or --crit-days (name) into *l; 0, or the usage error. */
static int
limit_option(const char *name, const char *arg, struct lifetime_limit *l)
{
	if (lifetime_limit_parse(arg, l) == -1)
		return cli_usage("test",
		    "--%s %s: give days (30, 30d, at most %ld) or a share of "
		    "the lifetime (33%%)",
		    name, arg, LIFETIME_MAX_DAYS);
	return 0;
}

/* Checks what the options say together; 0 or the usage error. */
static int
check_options(const struct test_opts *o)
{
	char warn[32], crit[32];
	int comparable;

	lifetime_limit_text(&o->warn, warn, sizeof(warn));
	lifetime_limit_text(&o->crit, crit, sizeof(crit));
	if (!lifetime_limit_above(&o->warn, &o->crit, &comparable))
		return cli_usage("test",
		    "--warn-days %s must be larger than --crit-days %s "
		    "(a warning comes before the critical state)",
		    warn, crit);
	if (o->plugin && (cli.json || cli.tsv || cli.no_header))
		return cli_usage("test", "--plugin prints a status line: "
					 "--json, --format and --no-header "
					 "do not go with it");
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

const struct option cli_test_opts[] = {
    CLI_COMMON_OPTS,
    {"via", required_argument, NULL, 'v'},
    {"count", required_argument, NULL, 'n'},
    {"protocol", required_argument, NULL, 'p'},
    {"ca-file", required_argument, NULL, 'c'},
    {"warn-days", required_argument, NULL, 'w'},
    {"crit-days", required_argument, NULL, 'C'},
    {"timeout", required_argument, NULL, 't'},
    {"plugin", no_argument, NULL, 'P'},
    {NULL, 0, NULL, 0},
};

/*
 * argv into *o; 0, -1 when --help was shown, or the exit status of a
 * usage error.
 */
static int
parse_options(int argc, char **argv, struct test_opts *o)
{
	struct cf_error err;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->warn = lifetime_share(1.0 / 3);
	o->crit = lifetime_share(1.0 / 6);
	o->timeout_s = 5;
	o->plugin = test_plugin_named(argv[0]);
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, ":h", cli_test_opts, NULL)) != -1) {
		if (c == 'O' && o->plugin) /* which would exit(2) */
			return cli_usage("test", "--plugin prints a status "
						 "line: --format does not go "
						 "with it");
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
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
			rc = limit_option("warn-days", optarg, &o->warn);
			break;
		case 'C':
			rc = limit_option("crit-days", optarg, &o->crit);
			break;
		case 'P':
			o->plugin = 1;
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
	if (o->ns[0] != '\0' && (rc = namespace_defaults(o)) != 0)
		return rc;
	return check_options(o);
}

/* ---- verdicts ------------------------------------------------------- */

char *
test_where_new(const char *host, const char *port)
{
	return xasprintf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
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

void
test_verdict_clear(struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->nreasons; i++)
		free(v->reasons[i]);
	memset(v, 0, sizeof(*v));
}

/*
 * Judges one handshake: CRITICAL when it failed, the chain is not
 * trusted, the name does not match, the leaf is out of its dates or has
 * less than --crit-days left; WARNING under --warn-days; OK otherwise.
 * Expiry is named as such rather than as OpenSSL's "untrusted" reason
 * for it.
 */
void
test_judge(const struct probe_job *j, const struct test_opts *o, time_t now,
    struct verdict *v)
{
	const struct cf_probe *p = &j->result;
	int expired, early;

	memset(v, 0, sizeof(*v));
	if (j->rc != 0) {
		/* the endpoint is shown beside the reason */
		add_reason(v, "handshake failed: %s", j->err.msg);
		v->status = "CRITICAL";
		return;
	}
	v->days = cf_days_left(p->not_after, now);
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
	if (!expired &&
	    lifetime_limit_under(&o->crit, p->not_before, p->not_after, now))
		add_reason(v, "expires in %lld days", v->days);
	if (v->nreasons > 0)
		v->status = "CRITICAL";
	else if (lifetime_limit_under(
		     &o->warn, p->not_before, p->not_after, now)) {
		add_reason(v, "expires in %lld days", v->days);
		v->status = "WARNING";
		v->valid = 1;
	} else {
		v->status = "OK";
		v->valid = 1;
	}
}

/* The reasons joined by ", " (new); "" when there are none. */
char *
test_reasons_text(const struct verdict *v)
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
void
test_tally(struct seen *seen, size_t *nseen, const struct probe_job *j)
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
int
test_seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->job < y->job ? -1 : x->job > y->job;
}

json_t *
test_distinct_json(const struct seen *seen, size_t nseen)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; i < nseen; i++) {
		o = json_object();
		json_object_set_new(o, "Thumbprint",
		    json_string(seen[i].job->result.thumbprint));
		json_object_set_new(
		    o, "Subject", cf_json_string(seen[i].job->result.subject));
		json_object_set_new(
		    o, "Count", json_integer((json_int_t)seen[i].count));
		json_array_append_new(a, o);
	}
	return a;
}

/* The facts of a served leaf into o; nulls for a failed handshake. */
void
test_served_json(json_t *o, const struct probe_job *j, const struct verdict *v)
{
	const struct cf_probe *p = &j->result;
	char iso[21] = "";
	int ok = j->rc == 0;

	if (ok)
		cf_time_iso(p->not_after, iso);
	json_object_update_new(o,
	    json_pack("{s:s?, s:o?, s:o?, s:s?, s:o?, s:o?, s:o?, s:s?, s:s, "
		      "s:b, s:o}",
		"Thumbprint", ok ? p->thumbprint : NULL, "Subject",
		ok ? cf_json_string(p->subject) : NULL, "Issuer",
		ok ? cf_json_string(p->issuer) : NULL, "NotAfter",
		ok ? iso : NULL, "DaysLeft",
		ok ? json_integer((json_int_t)v->days) : NULL, "Trusted",
		ok ? json_boolean(p->trusted) : NULL, "NameMatches",
		ok ? json_boolean(p->name_ok == 1) : NULL, "TlsVersion",
		ok ? p->version : NULL, "Status", v->status, "Valid", v->valid,
		"Reasons", reasons_json(v)));
}

/* The roots every probe shares: --ca-file, else the system's. */
struct cf_probe_ctx *
test_roots_new(const struct test_opts *o)
{
	struct cf_probe_ctx *ctx;
	struct cf_error err;

	if ((ctx = cf_probe_ctx_new(o->ca_file, 1, &err)) == NULL)
		cli_fail("test", &err);
	return ctx;
}

int
cmd_test(int argc, char **argv)
{
	struct test_opts o;
	int plugin = test_plugin_wanted(argc, argv), rc;

	if (plugin)
		test_plugin_begin();
	rc = parse_options(argc, argv, &o);
	if (rc == 0)
		rc = o.via != NULL ? test_via(&o) : test_agents(&o);
	free(o.services);
	free(o.servers);
	free(o.via_owned);
	free(o.renewal);
	if (plugin || o.plugin)
		return test_plugin_end(rc);
	return rc == -1 ? 0 : rc;
}
