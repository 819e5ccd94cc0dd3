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
 * the same reconciler (reconcile.h) and as many etcd calls, on one
 * event_base shared by all: its own client (its own connections), its
 * own lease kept alive, its live key under it, one list of the range it
 * watches and a watch from there on.  Desired and the progress of NS
 * are cached from the list and the watch's events (as
 * src/agent/registry_watch.c does), never ranged again; on a new
 * rollout id it reads its sealed key once (its wave, and the blob the
 * real agent imports), decides with rc_target_wave and puts its status.
 * It imports nothing: no store, no services; what it measures is the
 * registry's side.  The default watch is the agents' range
 * (schema_agent_range); --watch narrow watches [elect/, sealed/) as a
 * real member does: the range without agents/, whose live keys and
 * statuses every agent would otherwise hear of (n agents, n^2 events).
 * There is no coordinator among them: sim desire writes the one
 * progress a coordinator would (tool_sim_desire.c).  At the end each
 * process prints its agents' etcd calls (keepalives apart).
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
	int have_d; /* d holds ns/NS/desired (cached) */
	struct rc_desired d;
	struct rc_progress *prog; /* progress/<c>/NS (cached) */
	size_t nprog;
	int have_sealed; /* sealed_* are for rollout sealed_id */
	char sealed_id[33], sealed_thumb[CF_THUMB_LEN + 1];
	char asked_id[33];         /* the rollout id its sealed read is for */
	size_t wave;               /* 0: not in that rollout */
	struct schema_status last; /* what it reported last */
	struct schema_status sending;    /* what it is putting */
	unsigned long calls, calls_live; /* all; since its watch began */
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
static void agent_call(struct agent *a, struct etcd_req *req, etcd_done_fn fn);

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
		agent_call(
		    &s->a[s->started], etcd_req_lease_grant(s->ttl), on_lease);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->lease == 0)
		agent_call(a, etcd_req_lease_grant(a->s->ttl), on_lease);
	else if (!a->is_live)
		put_live(a);
	else if (a->w == NULL)
		agent_list(a);
	else
		agent_run(a);
}

/* One etcd call of a's, counted. */
static void
agent_call(struct agent *a, struct etcd_req *req, etcd_done_fn fn)
{
	a->calls++;
	if (a->created)
		a->calls_live++;
	etcd_call(a->e, req, fn, a, NULL);
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
	a->busy = 0;
	evtimer_add(a->retry, &tv);
}

/* The reconcile pass is over; another runs when news came meanwhile. */
static void
agent_idle(struct agent *a)
{
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
	a->last = a->sending; /* only what etcd holds counts as reported */
	agent_idle(a);
}

/* Puts a's status: converged on d's thumbprint (or back to before), or
 * failed with error. */
static void
put_status(struct agent *a, int to_before, const char *error)
{
	struct schema_svc now = {"https", ""}, before = {"https", ""};
	struct schema_status *st = &a->sending;
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
	agent_call(a,
	    etcd_req_put(
		a->status_key, strlen(a->status_key), v, strlen(v), 0, 0),
	    on_status_put);
	free(v);
}

static void agent_decide(struct agent *a);

/* a's sealed key for the rollout of d, read once per rollout id: its
 * wave (0: no key, or one for another rollout: not a member) and the
 * certificate sealed in it. */
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
	/* desired moved on meanwhile: the answer may predate its key */
	if (strcmp(a->asked_id, a->d.id) != 0) {
		agent_decide(a);
		return;
	}
	a->have_sealed = 1;
	memcpy(a->sealed_id, a->d.id, sizeof(a->sealed_id));
	a->wave = 0;
	a->sealed_thumb[0] = '\0';
	if (r->n_kvs > 0 && schema_sealed_parse(a->sealed_key, r->kvs[0].value,
				r->kvs[0].value_len, &sealed, &perr) == -1)
		fprintf(stderr, "cf-etcd: sim: %s: %s\n", a->name, perr.msg);
	else if (r->n_kvs > 0) {
		/* the real agent imports the blob (if any) when it moves */
		if (strcmp(sealed.rollout, a->d.id) == 0) {
			a->wave = sealed.wave;
			memcpy(a->sealed_thumb, sealed.thumbprint,
			    sizeof(a->sealed_thumb));
		}
		schema_sealed_clear(&sealed);
	}
	agent_decide(a);
}

static void
read_sealed(struct agent *a)
{
	memcpy(a->asked_id, a->d.id, sizeof(a->asked_id));
	agent_call(a,
	    etcd_req_range(a->sealed_key, strlen(a->sealed_key), 0, 0, 0),
	    on_sealed);
}

/* What a must do for its cached desired and progress. */
static void
agent_decide(struct agent *a)
{
	enum rc_target t;

	if (!a->have_d) {
		agent_idle(a);
		return;
	}
	/* A rollout's wave is in the sealed key; with no rollout it is
	 * read only to move. */
	if ((!a->have_sealed || strcmp(a->sealed_id, a->d.id) != 0) &&
	    a->d.r.state != CF_RS_NONE) {
		read_sealed(a);
		return;
	}
	t = rc_target_wave(&a->d, rc_progress_current(&a->d, a->prog, a->nprog),
	    a->d.r.state != CF_RS_NONE ? a->wave : 0);
	if (rc_status_done(&a->d, t, &a->last)) {
		agent_idle(a);
		return;
	}
	if (t == RC_BEFORE) {
		put_status(a, 1, NULL);
		return;
	}
	if (!a->have_sealed || strcmp(a->sealed_id, a->d.id) != 0) {
		read_sealed(a);
		return;
	}
	put_status(a, 0,
	    a->sealed_thumb[0] == '\0' ? "no sealed material for this agent"
	    : strcmp(a->sealed_thumb, a->d.thumbprint) == 0
		? NULL
		: "the sealed material holds another certificate");
}

/* One reconcile pass on the cached state. */
static void
agent_run(struct agent *a)
{
	if (a->busy) {
		a->again = 1;
		return;
	}
	a->busy = 1;
	a->again = 0;
	agent_decide(a);
}

/* The cache of ns/NS/desired from kv (del: deleted). */
static void
cache_desired(struct agent *a, const struct etcd_kv *kv, int del)
{
	struct schema_desired v;
	struct cf_error perr;

	rc_desired_clear(&a->d);
	a->have_d = 0;
	if (del)
		return;
	if (schema_desired_parse(
		a->s->desired_key, kv->value, kv->value_len, &v, &perr) == -1 ||
	    rc_desired_from(
		a->s->desired_key, &v, kv->mod_revision, &a->d, &perr) == -1)
		fprintf(stderr, "cf-etcd: sim: %s: %s\n", a->name, perr.msg);
	else
		a->have_d = 1;
	schema_desired_clear(&v);
}

/* The cache of coordinator c's progress of NS from kv (del: deleted). */
static void
cache_progress(
    struct agent *a, const char *c, const struct etcd_kv *kv, int del)
{
	struct rc_progress p;
	struct cf_error perr;
	size_t i;

	for (i = 0; i < a->nprog; i++)
		if (strcmp(a->prog[i].coordinator, c) == 0)
			break;
	if (i < a->nprog) { /* replaced or gone: the old one out */
		schema_progress_clear(&a->prog[i].p);
		a->prog[i] = a->prog[--a->nprog];
	}
	if (del)
		return;
	memset(&p, 0, sizeof(p));
	if (schema_progress_parse((const char *)kv->key, kv->value,
		kv->value_len, &p.p, &perr) == -1) {
		fprintf(stderr, "cf-etcd: sim: %s: %s\n", a->name, perr.msg);
		return;
	}
	snprintf(p.coordinator, sizeof(p.coordinator), "%s", c);
	p.mod_rev = kv->mod_revision;
	a->prog = xrealloc(a->prog, (a->nprog + 1) * sizeof(*a->prog));
	a->prog[a->nprog++] = p;
}

/* kv (del: deleted) into a's cache; 1 when it was news of NS. */
static int
cache_kv(struct agent *a, const struct etcd_kv *kv, int del)
{
	struct schema_key k;
	struct cf_error perr;

	if (schema_key_parse(a->s->prefix, kv->key, kv->key_len, &k, &perr) ==
		-1 ||
	    strcmp(k.ns, a->s->ns) != 0)
		return 0;
	if (k.kind == SCHEMA_NS_DESIRED)
		cache_desired(a, kv, del);
	else if (k.kind == SCHEMA_PROGRESS)
		cache_progress(a, k.name, kv, del);
	else
		return 0;
	return 1;
}

static void
cache_clear(struct agent *a)
{
	size_t i;

	rc_desired_clear(&a->d);
	a->have_d = 0;
	for (i = 0; i < a->nprog; i++)
		schema_progress_clear(&a->prog[i].p);
	free(a->prog);
	a->prog = NULL;
	a->nprog = 0;
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
		news |= cache_kv(
		    a, &m->events[i].kv, m->events[i].type == ETCD_EV_DELETE);
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
	cache_clear(a);
	for (i = 0; i < r->n_kvs; i++)
		cache_kv(a, &r->kvs[i], 0);
	a->w = etcd_watch_new_range(a->e, s->from, strlen(s->from), s->to,
	    strlen(s->to), r->revision + 1, on_watch, a, NULL);
	agent_run(a);
}

/* Lists the range it watches (desired and progress cached from it),
 * then watches from there on. */
static void
agent_list(struct agent *a)
{
	agent_call(a,
	    etcd_req_range_end(a->s->from, strlen(a->s->from), a->s->to,
		strlen(a->s->to), 0, 0),
	    on_list);
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
	agent_call(a,
	    etcd_req_put(
		a->live_key, strlen(a->live_key), v, strlen(v), a->lease, 0),
	    on_live);
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
	cache_clear(a);
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
	struct sim s = {.o = o, .ttl = 30}; /* the agent's default lease */
	struct event *sig[2];
	struct cf_error err;
	const char *base, *watch = "range";
	unsigned long calls = 0, calls_live = 0;
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
	for (i = 0; i < (long)s.n; i++) {
		calls += s.a[i].calls;
		calls_live += s.a[i].calls_live;
	}
	/* what bench/converge.sh reports as the calls per agent */
	print_json(json_pack("{s:I, s:I, s:I}", "Agents", (json_int_t)s.n,
	    "Calls", (json_int_t)calls, "CallsLive", (json_int_t)calls_live));
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
