/*
 * test.h - what the parts of certfleet test NAMESPACE share: the options,
 * the verdict on one handshake, the tally of certificates served, and
 * their JSON.  cmd_test.c parses the options and holds these helpers;
 * cmd_test_via.c counts handshakes through a load balancer (--via) and
 * cmd_test_agents.c probes every endpoint the agents name;
 * test_plugin.c speaks for both as a monitoring plugin (--plugin).
 */
#ifndef CF_TEST_H
#define CF_TEST_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "lifetime.h"
#include "probe_pool.h"

struct backend;
struct backend_reply;
struct cf_service_view;

#define MAX_REASONS 4 /* of one verdict */

struct test_opts {
	const char *ns;
	const char *via;           /* HOST:PORT, or NULL: ask the agents */
	int count;                 /* --count; 0: not given */
	const char *protocol;      /* --protocol; NULL: not given */
	enum cf_probe_proto proto; /* --protocol's */
	const char *ca_file;
	struct lifetime_limit warn, crit; /* --warn-days, --crit-days */
	int plugin; /* --plugin, or called check_certfleet */
	int timeout_s;
	char *services;  /* the namespace's ("https,smtp"), or NULL: all */
	char *servers;   /* the namespace's, when no --server (owned) */
	char *via_owned; /* the namespace's --via, when via is it */
	char *renewal;   /* the autopilot's failing renewal, said (owned),
			    or NULL: none or not failing */
};

/* Whether service is one the test covers: the namespace's, or any. */
int test_wants(const struct test_opts *o, const char *service);

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

/* "HOST:PORT", "[ADDRESS]:PORT" for IPv6 (new). */
char *test_where_new(const char *host, const char *port);

/* Judges job j's handshake into *v (its reasons new:
 * test_verdict_clear). */
void test_judge(const struct probe_job *j, const struct test_opts *o,
    time_t now, struct verdict *v);
/* Frees v's reasons and zeroes it. */
void test_verdict_clear(struct verdict *v);
/* v's reasons joined by ", " (new); "" when there are none. */
char *test_reasons_text(const struct verdict *v);

/* Counts j's certificate into seen[0..*nseen), which holds room for every
 * job; seen lends j, nothing for a failed handshake. */
void test_tally(struct seen *seen, size_t *nseen, const struct probe_job *j);
/* qsort order of seen: most served first, ties in the order first seen. */
int test_seen_cmp(const void *a, const void *b);
/* The distinct certificates as a JSON array (new reference). */
json_t *test_distinct_json(const struct seen *seen, size_t nseen);
/* Adds the facts of j's served leaf and verdict v to o (nulls for a
 * failed handshake); o stays the caller's. */
void test_served_json(
    json_t *o, const struct probe_job *j, const struct verdict *v);
/* The roots every probe shares (cf_probe_ctx_free); NULL after a message
 * on stderr. */
struct cf_probe_ctx *test_roots_new(const struct test_opts *o);

/* One check endpoint of a server's service. */
struct test_endpoint {
	size_t target;                     /* the backend's index */
	const struct cf_service_view *svc; /* lent from the reply */
	char *host;                        /* connected to (owned) */
	char *where;                       /* "HOST:PORT" (owned) */
};
struct backend;
struct backend_reply;
/*
 * The endpoints of every service o wants that has a check address, on
 * every target of b that answered services (r), with a probe job each
 * (SNI o->ns, o->timeout_s, ctx): *eps and *jobs new, as many as
 * returned (test_endpoints_free, probe_jobs_clear and free).  A service
 * that checks on its agent's loopback is reached at the agent's host.
 * `rollout` and `status` prove what members serve with it too.
 */
size_t test_collect(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct cf_probe_ctx *ctx,
    struct test_endpoint **eps, struct probe_job **jobs);
void test_endpoints_free(struct test_endpoint *eps, size_t n); /* NULL-safe */

/* --via: counts handshakes through a load balancer; the exit status. */
int test_via(const struct test_opts *o);
/* Without --via: every server's services, probed from here; the exit
 * status. */
int test_agents(const struct test_opts *o);

/* ---- test_plugin.c: the Monitoring Plugins convention -------------- */

/* Whether argv asks for the plugin: named check_certfleet, or --plugin. */
int test_plugin_wanted(int argc, char **argv);
/* Whether name (argv[0]) is check_certfleet, whatever its directory. */
int test_plugin_named(const char *name);
/* Holds back stderr, so that a failure before the verdict still gives
 * the status line its message (test_plugin_end). */
void test_plugin_begin(void);
/* The plugin's exit status for cmd_test's rc (-1: --help was shown):
 * the verdict's when one was printed, else UNKNOWN (3) with the first
 * message held back; stderr is given back, with what was held. */
int test_plugin_end(int rc);
/* Without --via: the status line, the perfdata and a line per endpoint;
 * the plugin's exit status. */
int test_plugin_agents(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct test_endpoint *eps,
    const struct probe_job *jobs, size_t n);
/* --via: the same for the connections through a balancer. */
int test_plugin_via(const struct test_opts *o, const char *where,
    const struct probe_job *jobs, size_t n, const struct seen *seen,
    size_t nseen);

#endif
