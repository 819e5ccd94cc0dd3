/*
 * tool_sim_desire.c - cf-etcd sim seal and sim desire: the sealed keys
 * the simulated agents read (each in wave 1) and the plan waves/<NS>,
 * and the observer that writes desired (an agents' rollout without
 * members, as the CLI does), plays the coordinator's one write (the
 * progress that moves wave 1: a one-wave rollout needs no other until
 * done) and times the statuses (see tool_sim.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "rollout_state.h"
#include "schema.h"
#include "tool.h"

/* --- sim seal: the sealed keys, in transactions of SEAL_BATCH puts --- */

#define SEAL_BATCH 64
#define SEAL_BLOB 2048 /* about what export-sealed makes of a key+chain */

struct seal {
	struct opts *o;
	struct schema_sealed v;
	const char *prefix, *ns, *base;
	long first, next, end;
	int planned, rc;
};

static void seal_next(struct seal *sl);
static void seal_plan(struct seal *sl);

static void
on_sealed_put(const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct seal *sl = arg;

	(void)r;
	if (err != NULL) {
		fprintf(stderr, "cf-etcd: sim seal: %s\n", err->msg);
		event_base_loopbreak(sl->o->base);
		return;
	}
	seal_next(sl);
}

/* waves/<NS>: every sealed agent in wave 1, for the coordinator. */
static void
seal_plan(struct seal *sl)
{
	struct schema_plan plan;
	struct cf_error err;
	char *key, *v;
	long i;

	memset(&plan, 0, sizeof(plan));
	memcpy(plan.rollout, sl->v.rollout, sizeof(plan.rollout));
	plan.n = (size_t)(sl->end - sl->first);
	plan.m = xcalloc(plan.n, sizeof(*plan.m));
	for (i = 0; i < (long)plan.n; i++) {
		snprintf(plan.m[i].name, sizeof(plan.m[i].name), "%s%ld",
		    sl->base, sl->first + i);
		plan.m[i].wave = 1;
	}
	key = schema_key(sl->prefix, SCHEMA_PLAN, sl->ns, NULL, &err);
	if (key == NULL)
		usage_exit(err.msg);
	v = schema_plan_value(&plan);
	sl->planned = 1;
	etcd_call(sl->o->e, etcd_req_put(key, strlen(key), v, strlen(v), 0, 0),
	    on_sealed_put, sl, NULL);
	free(v);
	free(key);
	schema_plan_clear(&plan);
}

static void
seal_next(struct seal *sl)
{
	struct etcd_req *txn;
	struct cf_error err;
	char name[SCHEMA_NAME_MAX + 1], *key, *v;
	long i;

	if (sl->next >= sl->end && sl->planned) {
		sl->rc = 0;
		event_base_loopbreak(sl->o->base);
		return;
	}
	if (sl->next >= sl->end) {
		seal_plan(sl);
		return;
	}
	txn = etcd_req_txn();
	v = schema_sealed_value(&sl->v);
	for (i = 0; i < SEAL_BATCH && sl->next < sl->end; i++, sl->next++) {
		snprintf(name, sizeof(name), "%s%ld", sl->base, sl->next);
		key = schema_key(sl->prefix, SCHEMA_SEALED, sl->ns, name, &err);
		if (key == NULL)
			usage_exit(err.msg);
		etcd_txn_op(
		    txn, 1, etcd_req_put(key, strlen(key), v, strlen(v), 0, 0));
		free(key);
	}
	free(v);
	etcd_call(sl->o->e, txn, on_sealed_put, sl, NULL);
}

int
sim_seal(struct opts *o, int argc, char **argv)
{
	static unsigned char blob[SEAL_BLOB];
	struct seal sl = {.o = o, .rc = 1};
	long count;

	sl.prefix = sim_args(argc, argv, 6,
	    "usage: sim seal [--prefix P] NS THUMB ID BASE FIRST COUNT", NULL);
	sl.ns = argv[optind];
	snprintf(
	    sl.v.thumbprint, sizeof(sl.v.thumbprint), "%s", argv[optind + 1]);
	snprintf(sl.v.rollout, sizeof(sl.v.rollout), "%s", argv[optind + 2]);
	sl.base = argv[optind + 3];
	sl.first = sl.next = (long)arg_i64(argv[optind + 4], "FIRST");
	count = (long)arg_i64(argv[optind + 5], "COUNT");
	if (sl.next < 0 || count < 1 || strlen(argv[optind + 1]) != 40 ||
	    strlen(argv[optind + 2]) != 32)
		usage_exit(
		    "sim seal: THUMB 40 hex digits, ID 32, COUNT from 1");
	sl.end = sl.next + count;
	RAND_bytes(blob, sizeof(blob)); /* ciphertext looks random */
	sl.v.blob.data = blob;
	sl.v.blob.len = sizeof(blob);
	sl.v.wave = 1;
	seal_next(&sl);
	event_base_dispatch(o->base);
	if (sl.rc == 0)
		print_json(json_pack("{s:I}", "Sealed", (json_int_t)count));
	return sl.rc;
}

/* --- sim desire: ns/NS/desired written, COUNT statuses timed --- */

struct desire {
	struct opts *o;
	const char *prefix, *ns, *thumb, *id;
	char *desired_key;
	json_t *rollout, *seen;
	size_t count;
	long long t0, put_ms;
	int put, rc;
};

static void
on_progress_put(
    const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct desire *de = arg;

	(void)r;
	if (err != NULL) {
		fprintf(stderr, "cf-etcd: sim desire: %s\n", err->msg);
		event_base_loopbreak(de->o->base);
	}
}

/* The coordinator's first write for desired at rev: wave 1 moves.  The
 * agents already move on desired alone (no progress: the rollout's own
 * wave); this is the second event each of them hears, as with a real
 * coordinator. */
static void
desire_progress(struct desire *de, long long rev)
{
	struct schema_progress p;
	struct cf_error err;
	char *key, *v;

	memset(&p, 0, sizeof(p));
	p.desired_rev = rev;
	snprintf(p.rollout, sizeof(p.rollout), "%s", de->id);
	p.wave = 1;
	p.phase = SCHEMA_PH_MOVING;
	p.since = (long long)time(NULL);
	key = schema_key(de->prefix, SCHEMA_PROGRESS, de->ns, "bench", &err);
	if (key == NULL)
		usage_exit(err.msg);
	v = schema_progress_value(&p);
	etcd_call(de->o->e, etcd_req_put(key, strlen(key), v, strlen(v), 0, 0),
	    on_progress_put, de, NULL);
	free(v);
	free(key);
}

static void
on_desired_put(
    const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct desire *de = arg;

	(void)r;
	if (err != NULL) {
		fprintf(stderr, "cf-etcd: sim desire: %s\n", err->msg);
		event_base_loopbreak(de->o->base);
		return;
	}
	de->put_ms = cf_now_ms() - de->t0;
	if (de->rollout != NULL)
		desire_progress(de, r->revision);
}

/* Counts the status in ev when it says converged on the thumbprint for
 * this rollout. */
static void
desire_count(struct desire *de, const struct etcd_event *ev)
{
	struct schema_key k;
	struct schema_status st;
	struct cf_error err;

	if (ev->type != ETCD_EV_PUT ||
	    schema_key_parse(
		de->prefix, ev->kv.key, ev->kv.key_len, &k, &err) == -1 ||
	    k.kind != SCHEMA_STATUS || strcmp(k.ns, de->ns) != 0 ||
	    schema_status_parse((const char *)ev->kv.key, ev->kv.value,
		ev->kv.value_len, &st, &err) == -1)
		return;
	if (st.state == SCHEMA_ST_CONVERGED &&
	    strcmp(st.target, de->thumb) == 0 &&
	    strcmp(st.rollout, de->id) == 0)
		json_object_set_new(de->seen, k.name, json_true());
	else if (st.state == SCHEMA_ST_FAILED)
		fprintf(stderr, "cf-etcd: sim desire: %s failed: %s\n", k.name,
		    st.error);
	schema_status_clear(&st);
}

static void
desire_watch(const struct etcd_watch_msg *m, void *arg)
{
	struct desire *de = arg;
	char *v;
	size_t i;

	if (m->err != NULL) {
		fprintf(stderr, "cf-etcd: sim desire: %s\n", m->err->msg);
		event_base_loopbreak(de->o->base);
		return;
	}
	if (m->created && !de->put) {
		de->put = 1;
		v = schema_desired_value_agents(de->thumb, de->rollout, de->id);
		de->t0 = cf_now_ms();
		etcd_call(de->o->e,
		    etcd_req_put(de->desired_key, strlen(de->desired_key), v,
			strlen(v), 0, 0),
		    on_desired_put, de, NULL);
		free(v);
	}
	for (i = 0; i < m->n_events; i++)
		desire_count(de, &m->events[i]);
	if (json_object_size(de->seen) >= de->count) {
		print_json(json_pack("{s:I, s:I, s:I}", "Agents",
		    (json_int_t)de->count, "Ms",
		    (json_int_t)(cf_now_ms() - de->t0), "PutMs",
		    (json_int_t)de->put_ms));
		de->rc = 0;
		event_base_loopbreak(de->o->base);
	}
}

/* A running rollout of the agents of one wave (100%): no members, which
 * are in the sealed keys and waves/<NS> (schema.h). */
static json_t *
one_wave(const char *thumb)
{
	struct cf_rstate st = {.state = CF_RS_RUNNING};
	json_t *o;

	snprintf(st.certificate, sizeof(st.certificate), "%s", thumb);
	st.from = xstrdup("bench");
	st.waves = xstrdup("100%");
	st.wave = st.nwaves = 1;
	st.started = st.updated = (long long)time(NULL);
	o = cf_rstate_json(&st);
	cf_rstate_clear(&st);
	return o;
}

static void
desire_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct desire *de = arg;

	(void)fd;
	(void)what;
	fprintf(stderr,
	    "cf-etcd: sim desire: %zu of %zu statuses within the time\n",
	    json_object_size(de->seen), de->count);
	event_base_loopbreak(de->o->base);
}

int
sim_desire(struct opts *o, int argc, char **argv)
{
	struct desire de = {.o = o, .rc = 1};
	struct timeval tv = {120, 0};
	struct etcd_watch *w;
	struct event *timer;
	struct cf_error err;
	char *dir;
	const char *rollout_base;

	de.prefix = sim_args(argc, argv, 5,
	    "usage: sim desire [--prefix P] NS THUMB ID COUNT "
	    "ROLLOUT-BASE|-",
	    NULL);
	de.ns = argv[optind];
	de.thumb = argv[optind + 1];
	de.id = argv[optind + 2];
	de.count = (size_t)arg_i64(argv[optind + 3], "COUNT");
	rollout_base = argv[optind + 4];
	if (strlen(de.thumb) != 40 || strlen(de.id) != 32 || de.count < 1)
		usage_exit("sim desire: THUMB 40 hex digits, ID 32, COUNT 1+");
	if (strcmp(rollout_base, "-") != 0)
		de.rollout = one_wave(de.thumb);
	de.desired_key =
	    schema_key(de.prefix, SCHEMA_NS_DESIRED, de.ns, NULL, &err);
	de.seen = json_object();
	dir = schema_dir(de.prefix, "agents/");
	w = etcd_watch_new(o->e, dir, strlen(dir), 0, desire_watch, &de, NULL);
	timer = evtimer_new(o->base, desire_timeout, &de);
	evtimer_add(timer, &tv);
	event_base_dispatch(o->base);
	event_free(timer);
	etcd_watch_free(w);
	free(dir);
	free(de.desired_key);
	json_decref(de.seen);
	json_decref(de.rollout);
	return de.rc;
}
