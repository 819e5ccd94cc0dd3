/*
 * tool_bench.c - cf-etcd bench: sequential puts of SIZE bytes under a
 * prefix, each timed to its reply and to its event on a watch of the
 * prefix, on one event loop (the client as the agent uses it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "tool.h"

struct bench {
	struct etcd *e;
	struct event_base *base;
	char *prefix;
	unsigned char *value;
	size_t size;
	long n, sent, put_done, seen;
	double *t0, *put_ms, *watch_ms;
	int rc;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void bench_put(struct bench *b);

static void
bench_check_end(struct bench *b)
{
	if (b->put_done == b->n && b->seen == b->n) {
		b->rc = 0;
		event_base_loopbreak(b->base);
	}
}

static void
bench_put_done(
    const struct etcd_reply *r, const struct cf_error *err, void *arg)
{
	struct bench *b = arg;

	(void)r;
	if (err != NULL) {
		b->rc = fail(err);
		event_base_loopbreak(b->base);
		return;
	}
	b->put_ms[b->put_done] = now_ms() - b->t0[b->put_done];
	b->put_done++;
	if (b->sent < b->n)
		bench_put(b);
	bench_check_end(b);
}

static void
bench_put(struct bench *b)
{
	char *key = xasprintf("%s%ld", b->prefix, b->sent);

	b->t0[b->sent] = now_ms();
	b->sent++;
	etcd_call(b->e, etcd_req_put(key, strlen(key), b->value, b->size, 0, 0),
	    bench_put_done, b, NULL);
	free(key);
}

static void
bench_watch(const struct etcd_watch_msg *m, void *arg)
{
	struct bench *b = arg;
	size_t i, plen = strlen(b->prefix);
	long idx;

	if (m->err != NULL) {
		b->rc = fail(m->err);
		event_base_loopbreak(b->base);
		return;
	}
	if (m->created && b->sent == 0)
		bench_put(b);
	for (i = 0; i < m->n_events; i++) {
		idx =
		    strtol((const char *)m->events[i].kv.key + plen, NULL, 10);
		if (idx >= 0 && idx < b->n) {
			b->watch_ms[idx] = now_ms() - b->t0[idx];
			b->seen++;
		}
	}
	bench_check_end(b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
set_pct(json_t *o, const char *name, double *v, long n, double pct)
{
	char key[32];

	snprintf(key, sizeof(key), "%sP%.0fUs", name, pct);
	json_object_set_new(o, key,
	    json_integer(
		(json_int_t)(1000 * v[(long)((double)(n - 1) * pct / 100.0)])));
}

int
cmd_bench(struct etcd *e, struct opts *o, int argc, char **argv)
{
	struct bench b = {.e = e, .base = o->base, .rc = 1};
	struct etcd_watch *w;
	json_t *out;

	if (argc != 4)
		usage_exit("usage: bench PREFIX N SIZE");
	b.prefix = argv[1];
	b.n = (long)arg_i64(argv[2], "N");
	b.size = (size_t)arg_i64(argv[3], "SIZE");
	if (b.n < 1 || b.n > 100000 || b.size > (1u << 20))
		usage_exit("bench: N from 1 to 100000, SIZE to 1 MiB");
	b.value = xmalloc(b.size + 1);
	memset(b.value, 'v', b.size);
	b.t0 = xcalloc((size_t)b.n, sizeof(double));
	b.put_ms = xcalloc((size_t)b.n, sizeof(double));
	b.watch_ms = xcalloc((size_t)b.n, sizeof(double));
	w = etcd_watch_new(
	    e, b.prefix, strlen(b.prefix), 0, bench_watch, &b, NULL);
	event_base_dispatch(o->base);
	etcd_watch_free(w);
	if (b.rc == 0) {
		qsort(b.put_ms, (size_t)b.n, sizeof(double), cmp_double);
		qsort(b.watch_ms, (size_t)b.n, sizeof(double), cmp_double);
		out = json_object();
		json_object_set_new(out, "N", json_integer(b.n));
		json_object_set_new(
		    out, "Size", json_integer((json_int_t)b.size));
		set_pct(out, "Put", b.put_ms, b.n, 50);
		set_pct(out, "Put", b.put_ms, b.n, 99);
		set_pct(out, "Watch", b.watch_ms, b.n, 50);
		set_pct(out, "Watch", b.watch_ms, b.n, 99);
		print_json(out);
	}
	free(b.value);
	free(b.t0);
	free(b.put_ms);
	free(b.watch_ms);
	return b.rc;
}
