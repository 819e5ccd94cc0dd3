/*
 * tool_sim.c - cf-etcd sim: the convergence benchmark's simulated agents
 * (bench/converge.sh); tool_sim_desire.c has the sealed keys and the
 * observer.
 *
 *   sim agents NS BASE FIRST COUNT   agents BASE<FIRST>.. in one process
 *   sim seal NS THUMB ID BASE FIRST COUNT   their sealed/<a>/<NS> keys
 *   sim desire NS THUMB ID COUNT     writes ns/NS/desired, times COUNT
 *                                    statuses converged on THUMB
 *
 * Each simulated agent does what the real one does on the registry, with
 * the same reconciler (reconcile.h), on one event_base shared by all:
 * its own client (its own connections), its own lease kept alive, its
 * live key under it, a watch on the agents' range (schema_agent_range)
 * and, on each event for ns/NS/desired or a progress of NS: desired and
 * the progress read again, rc_target_of, and for RC_NEW its sealed key
 * read and a converged status put.  It imports nothing: no store, no
 * services; what it measures is the registry's side.  Unlike the real
 * agent it lists only ns/ at start (what it decides from), not the whole
 * range.  With --watch narrow an agent watches [elect/, sealed/) instead:
 * the range without agents/, whose live keys and statuses every agent
 * would otherwise hear of (n agents, n^2 events), to measure what that
 * costs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "reconcile.h"
#include "schema.h"
#include "tool.h"

struct sim;

struct agent {
	struct sim *s;
	char name[SCHEMA_NAME_MAX + 1];
	struct etcd *e;
	int64_t lease;
	struct etcd_watch *w;
	struct event *ka, *retry;
	int is_live, created, busy, again;
	struct rc_desired d;
	struct schema_status last; /* what it reported last */
	char *live_key, *status_key, *sealed_key;
};

struct sim {
	struct opts *o;
	const char *prefix, *ns;
	char *desired_key, *progress_dir, *from, *to;
	struct agent *a;
	size_t n, live, started;
	long ttl;
	long long t0;
	int rc;
};

static void agent_run(struct agent *a);
static void agent_list(struct agent *a);
static void on_lease(
    const struct etcd_reply *r, const struct cf_error *err, void *arg);
static void put_live(struct agent *a);

/* Starts the next SIM_STEP agents: a fleet does not start in one
 * second, and a thousand TLS handshakes, leases and watches at once
 * only measure a storm the agents would not make. */
#define SIM_STEP 50
static void
sim_start_step(struct sim *s)
{
	size_t end =
	    s->started + SIM_STEP < s->n ? s->started + SIM_STEP : s->n;

	for (; s->started < end; s->started++)
		etcd_call(s->a[s->started].e, etcd_req_lease_grant(s->ttl),
		    on_lease, &s->a[s->started], NULL);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->lease == 0)
		etcd_call(
		    a->e, etcd_req_lease_grant(a->s->ttl), on_lease, a, NULL);
	else if (!a->is_live)
		put_live(a);
	else if (a->w == NULL)
		agent_list(a);
	else
		agent_run(a);
}

/* A call of the pass failed (an etcd too busy to answer in time): the
 * pass again in a second, as the real agent retries, rather than the
 * whole process and its agents gone. */
static void
agent_retry(struct agent *a, const struct cf_error *err)
{
	struct timeval tv = {1, 0};

	fprintf(
	    stderr, "cf-etcd: sim: %s: %s (again in 1 s)\n", a->name, err->msg);
	rc_desired_clear(&a->d);
	a->busy = 0;
	evtimer_add(a->retry, &tv);
}

/* The reconcile pass is over; another runs when news came meanwhile. */
static void
agent_idle(struct agent *a)
{
	rc_desired_clear(&a->d);
	a->busy = 0;
	if (a->again)
		agent_run(a);
}

static void
on_status_put(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;

	(void)r;
	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	agent_idle(a);
}

/* Puts a's status: converged on d's thumbprint (or back to before), or
 * failed with error. */
static void
put_status(struct agent *a, int to_before, const char *error)
{
	struct schema_svc now = {"https", ""}, before = {"https", ""};
	struct schema_status *st = &a->last;
	char *v;

	memset(st, 0, sizeof(*st));
	st->desired_rev = a->d.rev;
	memcpy(st->rollout, a->d.id, sizeof(st->rollout));
	st->to_before = to_before;
	if (!to_before)
		memcpy(st->target, a->d.thumbprint, sizeof(st->target));
	st->state = error != NULL ? SCHEMA_ST_FAILED : SCHEMA_ST_CONVERGED;
	st->step = error != NULL ? "import" : NULL;
	st->error = (char *)error;
	st->at = (long long)time(NULL);
	memcpy(now.thumb, st->target, sizeof(now.thumb));
	st->services = &now;
	st->nservices = 1;
	st->before = &before;
	st->nbefore = 1;
	v = schema_status_value(st);
	st->services = st->before = NULL;
	st->step = st->error = NULL; /* lent, not kept */
	etcd_call(a->e,
	    etcd_req_put(
		a->status_key, strlen(a->status_key), v, strlen(v), 0, 0),
	    on_status_put, a, NULL);
	free(v);
}

static void
on_sealed(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;
	struct schema_sealed sealed;
	struct cf_error perr;

	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	if (r->n_kvs == 0) {
		put_status(a, 0, "no sealed material for this agent");
		return;
	}
	if (schema_sealed_parse(a->sealed_key, r->kvs[0].value,
		r->kvs[0].value_len, &sealed, &perr) == -1) {
		put_status(a, 0, perr.msg);
		return;
	}
	/* the real agent imports the blob here */
	put_status(a, 0,
	    strcmp(sealed.thumbprint, a->d.thumbprint) == 0
		? NULL
		: "the sealed material holds another certificate");
	schema_sealed_clear(&sealed);
}

/* What a must do for d and the progress that counts (cur). */
static void
agent_decide(struct agent *a, const struct rc_progress *cur)
{
	enum rc_target t = rc_target_of(&a->d, cur, a->name);

	if (rc_status_done(&a->d, t, &a->last)) {
		agent_idle(a);
		return;
	}
	if (t == RC_BEFORE) {
		put_status(a, 1, NULL);
		return;
	}
	etcd_call(a->e,
	    etcd_req_range(a->sealed_key, strlen(a->sealed_key), 0, 0, 0),
	    on_sealed, a, NULL);
}

static void
on_progress(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;
	struct rc_progress *all;
	struct schema_key k;
	struct cf_error perr;
	size_t i, n = 0;

	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	all = xcalloc(r->n_kvs + 1, sizeof(*all));
	for (i = 0; i < r->n_kvs; i++) {
		if (schema_key_parse(a->s->prefix, r->kvs[i].key,
			r->kvs[i].key_len, &k, &perr) == -1 ||
		    k.kind != SCHEMA_PROGRESS || strcmp(k.ns, a->s->ns) != 0 ||
		    schema_progress_parse((const char *)r->kvs[i].key,
			r->kvs[i].value, r->kvs[i].value_len, &all[n].p,
			&perr) == -1)
			continue;
		memcpy(all[n].coordinator, k.name, sizeof(k.name));
		all[n].mod_rev = r->kvs[i].mod_revision;
		n++;
	}
	agent_decide(a, rc_progress_current(&a->d, all, n));
	for (i = 0; i < n; i++)
		schema_progress_clear(&all[i].p);
	free(all);
}

static void
on_desired(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;
	struct schema_desired v;
	struct cf_error perr;
	int bad;

	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	if (r->n_kvs == 0) {
		agent_idle(a);
		return;
	}
	bad = schema_desired_parse(a->s->desired_key, r->kvs[0].value,
		  r->kvs[0].value_len, &v, &perr) == -1 ||
	      rc_desired_from(a->s->desired_key, &v, r->kvs[0].mod_revision,
		  &a->d, &perr) == -1;
	if (bad)
		fprintf(stderr, "cf-etcd: sim: %s: %s\n", a->name, perr.msg);
	schema_desired_clear(&v);
	if (bad)
		agent_idle(a);
	else if (a->d.r.state == CF_RS_NONE)
		agent_decide(a, NULL);
	else
		etcd_call(a->e,
		    etcd_req_range(a->s->progress_dir,
			strlen(a->s->progress_dir), ETCD_RANGE_PREFIX, 0, 0),
		    on_progress, a, NULL);
}

/* One reconcile pass: desired (and progress) read afresh. */
static void
agent_run(struct agent *a)
{
	if (a->busy) {
		a->again = 1;
		return;
	}
	a->busy = 1;
	a->again = 0;
	etcd_call(a->e,
	    etcd_req_range(
		a->s->desired_key, strlen(a->s->desired_key), 0, 0, 0),
	    on_desired, a, NULL);
}

/* Whether key is ns/NS/desired or progress/<c>/NS. */
static int
is_news(const struct sim *s, const struct etcd_kv *kv)
{
	size_t plen = strlen(s->progress_dir), nlen = strlen(s->ns);
	const char *k = (const char *)kv->key;

	if (kv->key_len == strlen(s->desired_key))
		return memcmp(k, s->desired_key, kv->key_len) == 0;
	return kv->key_len > plen + nlen + 1 &&
	       memcmp(k, s->progress_dir, plen) == 0 &&
	       k[kv->key_len - nlen - 1] == '/' &&
	       memcmp(k + kv->key_len - nlen, s->ns, nlen) == 0;
}

static void
on_watch(const struct etcd_watch_msg *m, void *arg)
{
	struct agent *a = arg;
	size_t i;
	int news = 0;

	if (m->err != NULL) { /* over: listed and watched again */
		etcd_watch_free(a->w);
		a->w = NULL;
		agent_retry(a, m->err);
		return;
	}
	if (m->compact_revision > 0) {
		etcd_watch_free(a->w);
		a->w = NULL;
		agent_list(a);
		return;
	}
	if (m->created && !a->created) {
		a->created = 1;
		if (++a->s->live == a->s->started)
			sim_start_step(a->s);
		if (a->s->live == a->s->n) {
			print_json(
			    json_pack("{s:I, s:I}", "Live", (json_int_t)a->s->n,
				"Ms", (json_int_t)(cf_now_ms() - a->s->t0)));
		}
	}
	for (i = 0; i < m->n_events; i++)
		news |= is_news(a->s, &m->events[i].kv);
	if (news)
		agent_run(a);
}

static void
on_list(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;
	struct sim *s = a->s;
	size_t i;

	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	a->w = etcd_watch_new_range(a->e, s->from, strlen(s->from), s->to,
	    strlen(s->to), r->revision + 1, on_watch, a, NULL);
	for (i = 0; i < r->n_kvs; i++)
		if (is_news(s, &r->kvs[i])) {
			agent_run(a);
			break;
		}
}

/* Lists ns/ (what a decides from), then watches from there on. */
static void
agent_list(struct agent *a)
{
	char *ns_dir = schema_dir(a->s->prefix, "ns/");

	etcd_call(a->e,
	    etcd_req_range(ns_dir, strlen(ns_dir), ETCD_RANGE_PREFIX, 0, 0),
	    on_list, a, NULL);
	free(ns_dir);
}

static void
on_live(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;

	(void)r;
	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	a->is_live = 1;
	agent_list(a);
}

static void
on_keepalive(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;

	/* the next keepalive may still come in time: not fatal */
	if (err != NULL)
		fprintf(stderr, "cf-etcd: sim: %s: %s\n", a->name, err->msg);
	else if (r->ttl == 0)
		fprintf(stderr, "cf-etcd: sim: %s: lease expired\n", a->name);
}

static void
keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	etcd_call(
	    a->e, etcd_req_lease_keepalive(a->lease), on_keepalive, a, NULL);
}

static void
put_live(struct agent *a)
{
	struct schema_live l = {"127.0.0.1:1", 0, "sim"};
	char *v;

	l.started = (long long)time(NULL);
	v = schema_live_value(&l);
	etcd_call(a->e,
	    etcd_req_put(
		a->live_key, strlen(a->live_key), v, strlen(v), a->lease, 0),
	    on_live, a, NULL);
	free(v);
}

static void
on_lease(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct agent *a = arg;
	struct timeval tv = {a->s->ttl / 3 > 0 ? a->s->ttl / 3 : 1, 0};

	if (err != NULL) {
		agent_retry(a, err);
		return;
	}
	a->lease = r->lease_id;
	a->ka = event_new(a->s->o->base, -1, EV_PERSIST, keepalive, a);
	event_add(a->ka, &tv);
	put_live(a);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* The keys and client of agent i (named BASE<first + i>).  Its client
 * starts at endpoint index mod n: a client always starts at its first
 * endpoint, and a fleet configured alike would all load one member. */
static int
agent_init(struct sim *s, struct agent *a, const char *base, long index,
    struct cf_error *err)
{
	struct etcd_config cfg = s->o->cfg;
	size_t i, n = cfg.n_endpoints;

	for (i = 0; i < n; i++)
		cfg.endpoints[i] = s->o->cfg.endpoints[(i + (size_t)index) % n];
	a->s = s;
	snprintf(a->name, sizeof(a->name), "%s%ld", base, index);
	if ((a->live_key = schema_key(
		 s->prefix, SCHEMA_AGENT_LIVE, NULL, a->name, err)) == NULL ||
	    (a->status_key = schema_key(
		 s->prefix, SCHEMA_STATUS, s->ns, a->name, err)) == NULL ||
	    (a->sealed_key = schema_key(
		 s->prefix, SCHEMA_SEALED, s->ns, a->name, err)) == NULL ||
	    (a->e = etcd_new(s->o->base, &cfg, err)) == NULL)
		return -1;
	if ((a->retry = evtimer_new(s->o->base, retry_cb, a)) == NULL)
		abort();
	return 0;
}

static void
agent_clear(struct agent *a)
{
	etcd_watch_free(a->w);
	if (a->ka != NULL)
		event_free(a->ka);
	if (a->retry != NULL)
		event_free(a->retry);
	etcd_free(a->e);
	rc_desired_clear(&a->d);
	free(a->live_key);
	free(a->status_key);
	free(a->sealed_key);
}

/* --prefix P (and --watch W where watch is not NULL) and the
 * positional arguments (want of them) of argv. */
const char *
sim_args(int argc, char **argv, int want, const char *usage, const char **watch)
{
	static const struct option lo[] = {
	    {"prefix", 1, NULL, 'p'}, {"watch", 1, NULL, 'w'}, {0}};
	const char *prefix = SCHEMA_PREFIX_DEFAULT;
	struct cf_error err;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'w' && watch != NULL)
			*watch = optarg;
		else if (c == 'p')
			prefix = optarg;
		else
			usage_exit(usage);
	}
	if (argc - optind != want)
		usage_exit(usage);
	if (schema_prefix_check(prefix, &err) == -1 ||
	    schema_ns_check(argv[optind], &err) == -1)
		usage_exit(err.msg);
	return prefix;
}

static int
sim_agents(struct opts *o, int argc, char **argv)
{
	struct sim s = {.o = o, .ttl = 10};
	struct event *sig[2];
	struct cf_error err;
	const char *base, *watch = "range";
	long first, i;

	s.prefix = sim_args(argc, argv, 4,
	    "usage: sim agents [--prefix P] [--watch range|narrow] NS BASE "
	    "FIRST COUNT",
	    &watch);
	s.ns = argv[optind];
	base = argv[optind + 1];
	first = (long)arg_i64(argv[optind + 2], "FIRST");
	s.n = (size_t)arg_i64(argv[optind + 3], "COUNT");
	if (first < 0 || s.n < 1 || s.n > 5000)
		usage_exit("sim agents: FIRST from 0, COUNT from 1 to 5000");
	s.desired_key =
	    schema_key(s.prefix, SCHEMA_NS_DESIRED, s.ns, NULL, &err);
	s.progress_dir = schema_dir(s.prefix, "progress/");
	schema_agent_range(s.prefix, &s.from, &s.to);
	if (strcmp(watch, "narrow") == 0) {
		free(s.from);
		s.from = schema_dir(s.prefix, "elect/");
	} else if (strcmp(watch, "range") != 0)
		usage_exit("sim agents: --watch range or narrow");
	s.a = xcalloc(s.n, sizeof(*s.a));
	s.t0 = cf_now_ms();
	for (i = 0; i < (long)s.n; i++)
		if (agent_init(&s, &s.a[i], base, first + i, &err) == -1) {
			s.rc = fail(&err);
			goto out;
		}
	sim_start_step(&s);
	sig[0] = evsignal_new(o->base, SIGTERM, on_signal, o->base);
	sig[1] = evsignal_new(o->base, SIGINT, on_signal, o->base);
	event_add(sig[0], NULL);
	event_add(sig[1], NULL);
	event_base_dispatch(o->base);
	event_free(sig[0]);
	event_free(sig[1]);
out:
	for (i = 0; i < (long)s.n; i++)
		agent_clear(&s.a[i]);
	free(s.a);
	free(s.desired_key);
	free(s.progress_dir);
	free(s.from);
	free(s.to);
	return s.rc;
}

int
cmd_sim(struct etcd *e, struct opts *o, int argc, char **argv)
{
	o->e = e;
	if (argc < 2)
		usage_exit("usage: sim agents|seal|desire ...");
	if (strcmp(argv[1], "agents") == 0)
		return sim_agents(o, argc - 1, argv + 1);
	if (strcmp(argv[1], "seal") == 0)
		return sim_seal(o, argc - 1, argv + 1);
	if (strcmp(argv[1], "desire") == 0)
		return sim_desire(o, argc - 1, argv + 1);
	usage_exit("usage: sim agents|seal|desire ...");
}
