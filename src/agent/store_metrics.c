/*
 * store_metrics.c - the store process's counters and background probes
 * for GET /metrics; see store_metrics.h and docs/metrics.md.
 *
 * Each service with a check endpoint has a thread that makes one
 * handshake an interval (cf_probe_run, as `certfleet services` does),
 * bounded by the service's timeout (5 s at most), and keeps the result
 * under a lock that a scrape takes only to copy it: a service that does
 * not answer delays neither a scrape nor the other services' probes.
 * One more thread reads what each service is assigned from the store
 * (cf_op_services, without its handshakes) each interval, and at once
 * after a request that may have moved one (enable, replace ...) was
 * answered; then every service is probed at once too.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metrics.h"
#include "ops.h"
#include "probe.h"
#include "routes.h"
#include "service.h"
#include "acme_acct.h"
#include "store_metrics.h"
#include "util.h"
#include "version.h"

#define PROBE_TIMEOUT_MS 5000
/* Routes times statuses: a few dozen; a bound all the same. */
#define MAX_REQUEST_SERIES 256

/* One service's last probe. */
struct probed {
	char name[32];
	int success, match;
	time_t served_not_after;
	double seconds;
};

/* A service with a check endpoint and its thread.  assigned, sni,
 * last and done under M.lock. */
struct target {
	const struct cf_service *svc;
	pthread_t thread;
	int started;
	char assigned[CF_THUMB_LEN + 1];
	char sni[256];
	struct probed last;
	int done; /* last holds a probe */
};

static const char *const deploy_outcomes[] = {
    "deployed", "unchanged", "failed"};
static const char *const rollback_outcomes[] = {"ok", "failed"};

static struct {
	pthread_mutex_t lock;
	struct {
		const char *route; /* a route's static path, or "other" */
		int status;
		unsigned long long n;
	} req[MAX_REQUEST_SERIES];
	size_t nreq;
	unsigned long long deploys[3], rollbacks[2];
	/* The probes: one thread per target, and one that reads what each
	 * service is assigned from the store. */
	struct target *targets;
	size_t ntargets;
	pthread_t refresher;
	int running, refreshing, stop;
	pthread_cond_t wake;
	/* A change was answered (asked), and the assignments read again
	 * after it (refreshed): each wakes the threads waiting on it. */
	unsigned long asked, refreshed;
	long interval;
	struct cf_store *store; /* the refresher's */
} M = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Whether a request of route may move a service to another
 * certificate (not: exports, renew and request/new, which make a
 * request only). */
static int
moves(const char *route)
{
	static const char *const routes[] = {"/v1/enable", "/v1/disable",
	    "/v1/replace", "/v1/import", "/v1/import-sealed", "/v1/remove",
	    "/v1/new-self-signed", "/v1/request/complete"};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(route, routes[i]) == 0)
			return 1;
	return 0;
}

void
store_metrics_request(const char *method, const char *path, int status)
{
	const char *route = route_path(path);
	size_t i;

	if (route == NULL)
		route = acme_acct_route(path); /* served beside the table */
	if (route == NULL)
		route = "other"; /* any path: not a label of its own */
	pthread_mutex_lock(&M.lock);
	for (i = 0; i < M.nreq; i++)
		if (M.req[i].route == route && M.req[i].status == status)
			break;
	if (i == M.nreq && M.nreq < MAX_REQUEST_SERIES) {
		M.req[i].route = route;
		M.req[i].status = status;
		M.nreq++;
	}
	if (i < M.nreq)
		M.req[i].n++;
	/* An assignment may have moved: read them again now. */
	if (strcmp(method, "POST") == 0 && status == 200 && moves(route)) {
		M.asked++;
		pthread_cond_broadcast(&M.wake);
	}
	pthread_mutex_unlock(&M.lock);
}

void
store_metrics_deploy(const char *kind, const char *outcome)
{
	int rollback = strcmp(kind, "rollback") == 0;
	const char *const *names =
	    rollback ? rollback_outcomes : deploy_outcomes;
	size_t n = rollback ? 2 : 3, i;

	pthread_mutex_lock(&M.lock);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], outcome) == 0)
			(rollback ? M.rollbacks : M.deploys)[i]++;
	pthread_mutex_unlock(&M.lock);
}

/* Waits an interval, or until *gen changes or stop; 0 when stopping.
 * Holds M.lock. */
static int
nap(const unsigned long *gen)
{
	struct timespec until;
	unsigned long was = *gen;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += M.interval;
	while (!M.stop && *gen == was &&
	       pthread_cond_timedwait(&M.wake, &M.lock, &until) == 0)
		;
	return !M.stop;
}

/* One handshake with t's service, timed, into *p (not under M.lock). */
static void
probe_one(const struct target *t, const char *assigned, const char *sni,
    struct probed *p)
{
	const struct cf_service *svc = t->svc;
	struct cf_probe_opts o = {0};
	struct cf_probe got;
	struct cf_error err;
	long long t0 = cf_now_ms();

	o.host = svc->check_host;
	o.port = svc->check_port;
	o.sni = sni[0] ? sni : NULL;
	o.proto = svc->proto;
	o.timeout_ms = svc->timeout_ms > 0 && svc->timeout_ms < PROBE_TIMEOUT_MS
			   ? svc->timeout_ms
			   : PROBE_TIMEOUT_MS;
	cf_error_clear(&err);
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", svc->name);
	if (cf_probe_run(&o, &got, &err) == 0) {
		p->success = 1;
		p->served_not_after = got.not_after;
		p->match = assigned[0] != '\0' &&
			   strcasecmp(got.thumbprint, assigned) == 0;
	}
	p->seconds = (double)(cf_now_ms() - t0) / 1000.0;
	cf_probe_clear(&got);
}

/* A target's thread: a probe each interval, on a schedule of its own,
 * so that a service that does not answer delays no other. */
static void *
target_main(void *arg)
{
	struct target *t = arg;
	char assigned[CF_THUMB_LEN + 1], sni[256];
	struct probed p;
	unsigned long seen;

	pthread_mutex_lock(&M.lock);
	do {
		seen = M.refreshed;
		memcpy(assigned, t->assigned, sizeof(assigned));
		memcpy(sni, t->sni, sizeof(sni));
		pthread_mutex_unlock(&M.lock);
		probe_one(t, assigned, sni, &p);
		pthread_mutex_lock(&M.lock);
		t->last = p;
		t->done = 1;
		/* Assignments read again during the probe: probe again. */
	} while (!M.stop && (M.refreshed != seen || nap(&M.refreshed)));
	pthread_mutex_unlock(&M.lock);
	return NULL;
}

/* What each target is assigned now, and the name its probe asks for
 * (cf_op_services, without its handshakes). */
static void
refresh(void)
{
	struct cf_service_view *v = NULL;
	struct cf_error err;
	size_t n = 0, i, k;

	cf_error_clear(&err);
	if (cf_op_services(M.store, 0, &v, &n, &err) == -1) {
		fprintf(stderr, "certfleetd: metrics: probes: %s\n", err.msg);
		return; /* what was read last stays */
	}
	pthread_mutex_lock(&M.lock);
	for (i = 0; i < n; i++)
		for (k = 0; k < M.ntargets; k++)
			if (strcmp(v[i].name, M.targets[k].svc->name) == 0) {
				memcpy(M.targets[k].assigned, v[i].assigned,
				    sizeof(M.targets[k].assigned));
				snprintf(M.targets[k].sni,
				    sizeof(M.targets[k].sni), "%s", v[i].sni);
			}
	pthread_mutex_unlock(&M.lock);
	cf_service_views_free(v, n);
}

/*
 * Reads the assignments each interval, and at once when a change was
 * answered (then the probes go at once too, rather than at the end of
 * their interval: what is served is news now).  A change answered while
 * it reads is read again.
 */
static void *
refresher_main(void *arg)
{
	unsigned long seen;
	int poked;

	(void)arg;
	pthread_mutex_lock(&M.lock);
	seen = M.asked;
	while (!M.stop && (M.asked != seen || nap(&M.asked))) {
		poked = M.asked != seen;
		seen = M.asked;
		pthread_mutex_unlock(&M.lock);
		refresh();
		pthread_mutex_lock(&M.lock);
		if (poked) {
			M.refreshed++;
			pthread_cond_broadcast(&M.wake);
		}
	}
	pthread_mutex_unlock(&M.lock);
	return NULL;
}

/* The refresher and one thread per target; they take no signals. */
static int
start_threads(struct cf_error *err)
{
	sigset_t all, old;
	size_t i;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	M.refreshing =
	    pthread_create(&M.refresher, NULL, refresher_main, NULL) == 0;
	for (i = 0; i < M.ntargets; i++)
		M.targets[i].started =
		    pthread_create(&M.targets[i].thread, NULL, target_main,
			&M.targets[i]) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < M.ntargets; i++)
		if (!M.targets[i].started)
			rc = -1;
	if (!M.refreshing || rc == -1)
		return cf_errorf(
		    err, CF_E_INTERNAL, "cannot start the probe threads");
	return 0;
}

int
store_metrics_start(
    const struct agent_config *c, const char *dir, struct cf_error *err)
{
	const struct cf_service *svc;
	size_t i, n = cf_services_count(c->services);

	M.targets = xcalloc(n + 1, sizeof(*M.targets));
	for (i = 0; i < n; i++)
		if ((svc = cf_services_at(c->services, i))->check_host != NULL)
			M.targets[M.ntargets++].svc = svc;
	if (M.ntargets == 0)
		return 0; /* nothing to probe */
	if ((M.store = cf_store_open(dir, err)) == NULL)
		return -1;
	cf_store_set_services(M.store, c->services);
	M.interval = c->probe_interval;
	M.stop = 0;
	refresh(); /* the first probes know what to compare with */
	M.running = 1;
	return start_threads(err);
}

void
store_metrics_stop(void)
{
	size_t i;

	if (M.running) {
		pthread_mutex_lock(&M.lock);
		M.stop = 1;
		pthread_cond_broadcast(&M.wake);
		pthread_mutex_unlock(&M.lock);
		if (M.refreshing)
			pthread_join(M.refresher, NULL);
		for (i = 0; i < M.ntargets; i++)
			if (M.targets[i].started)
				pthread_join(M.targets[i].thread, NULL);
		M.running = 0;
	}
	cf_store_free(M.store);
	M.store = NULL;
	free(M.targets);
	M.targets = NULL;
	M.ntargets = 0;
}

/* The four families of the services' last probes, from a copy. */
static void
render_probes(
    struct cf_metrics *m, const struct probed *p, size_t n, const char *agent)
{
	static const struct {
		const char *name, *help;
	} fam[] = {
	    {"certfleet_service_served_match",
		"1 when the last probe's handshake served the assigned "
		"certificate, else 0."},
	    {"certfleet_service_served_not_after_timestamp_seconds",
		"notAfter of the leaf the last successful probe was served, "
		"as a Unix time."},
	    {"certfleet_service_probe_success",
		"1 when the last probe completed a handshake, else 0."},
	    {"certfleet_service_probe_duration_seconds",
		"How long the last probe took."},
	};
	const char *labels[] = {"service", NULL, "server", agent, NULL};
	size_t f, i;
	double v;

	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		cf_metrics_family(m, fam[f].name, "gauge", fam[f].help);
		for (i = 0; i < n; i++) {
			if (f == 1 && !p[i].success)
				continue; /* nothing was served */
			v = f == 0   ? p[i].match
			    : f == 1 ? (double)p[i].served_not_after
			    : f == 2 ? p[i].success
				     : p[i].seconds;
			labels[1] = p[i].name;
			cf_metrics_sample(m, fam[f].name, labels, v);
		}
	}
}

/* The counters' families, from a copy taken under the lock. */
static void
render_counters(struct cf_metrics *m, const unsigned long long *deploys,
    const unsigned long long *rollbacks)
{
	const char *labels[] = {"outcome", NULL, NULL};
	size_t i;

	cf_metrics_family(m, "certfleet_deploys_total", "counter",
	    "Deploys of a certificate to a service, by outcome.");
	for (i = 0; i < 3; i++) {
		labels[1] = deploy_outcomes[i];
		cf_metrics_sample(
		    m, "certfleet_deploys_total", labels, (double)deploys[i]);
	}
	cf_metrics_family(m, "certfleet_rollbacks_total", "counter",
	    "Services put back after a failed deploy, by outcome.");
	for (i = 0; i < 2; i++) {
		labels[1] = rollback_outcomes[i];
		cf_metrics_sample(m, "certfleet_rollbacks_total", labels,
		    (double)rollbacks[i]);
	}
}

/* API replies by route and status (under the lock: a short walk). */
static void
render_requests(struct cf_metrics *m)
{
	const char *labels[] = {"route", NULL, "status", NULL, NULL};
	char status[16];
	size_t i;

	cf_metrics_family(m, "certfleet_api_requests_total", "counter",
	    "API requests the agent answered, by route and status.");
	for (i = 0; i < M.nreq; i++) {
		snprintf(status, sizeof(status), "%d", M.req[i].status);
		labels[1] = M.req[i].route;
		labels[3] = status;
		cf_metrics_sample(m, "certfleet_api_requests_total", labels,
		    (double)M.req[i].n);
	}
}

int
store_metrics_render(
    struct cf_store *s, const char *agent, char **text, struct cf_error *err)
{
	struct cf_metrics *m = cf_metrics_new();
	const char *build[] = {"version", CF_VERSION, NULL};
	unsigned long long deploys[3], rollbacks[2];
	struct probed *p;
	size_t n, i;
	int rc = -1;

	*text = NULL;
	cf_metrics_family(m, "certfleet_build_info", "gauge",
	    "Always 1; the version of certfleetd in its label.");
	cf_metrics_sample(m, "certfleet_build_info", build, 1);
	if (cf_metrics_certs(m, s, err) == -1)
		goto out;
	pthread_mutex_lock(&M.lock);
	p = xcalloc(M.ntargets + 1, sizeof(*p));
	for (i = n = 0; i < M.ntargets; i++)
		if (M.targets[i].done)
			p[n++] = M.targets[i].last;
	memcpy(deploys, M.deploys, sizeof(deploys));
	memcpy(rollbacks, M.rollbacks, sizeof(rollbacks));
	render_requests(m);
	pthread_mutex_unlock(&M.lock);
	render_probes(m, p, n, agent);
	render_counters(m, deploys, rollbacks);
	free(p);
	*text = cf_metrics_text(m);
	rc = 0;
out:
	cf_metrics_free(m);
	return rc;
}
