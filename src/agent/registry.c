/*
 * registry.c - the registry thread (registry.h): its loop, the lease and
 * its keepalives, the agent's live and identity keys; the lists and
 * watches that keep its cache are registry_watch.c's, the decisions
 * registry_coord.c's.
 *
 * The way in: grant a lease, put live under it, list the range (one
 * revision), write identity when it is not what the list holds, then
 * watch from the list's revision + 1.  Any failure on the way, a lease
 * that expired or a watch that ended starts it again after a backoff (1
 * s doubling to 30 s); the failure is logged once per outage, and the
 * way back in once.  A compacted watch re-lists at once, and a watch
 * that failed after the backoff, both keeping the lease.  The agent's API never
 * waits on any of it: this is a thread of its own, with its own event_base and
 * store-process channel.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "registry_int.h"
#include "util.h"

#define REG_BACKOFF_MAX 30
#define REG_TIMEOUT_MS 3000

static void reg_connect(struct registry *r);

void
reg_log(const struct registry *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "certfleetd: %s: registry: %s\n", r->agent_name, msg);
}

void
reg_poke(struct registry *r)
{
	event_active(r->ev_decide, 0, 0);
}

/* --- Failures and the way back --- */

static void
revoke_quiet(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	(void)reply;
	(void)err;
	(void)arg;
}

/* Drops the session (watch, keepalive, the lease when etcd still takes
 * the revoke: its keys would linger until it expired) and tries again
 * after the backoff. */
static void
reg_restart(struct registry *r)
{
	struct timeval tv = {r->backoff_s, 0};

	if (r->lease != 0)
		etcd_call(r->etcd, etcd_req_lease_revoke(r->lease),
		    revoke_quiet, NULL, NULL);
	reg_watches_free(r);
	evtimer_del(r->ev_keepalive);
	evtimer_del(r->ev_relist);
	r->up = 0;
	r->lease = 0;
	evtimer_add(r->ev_retry, &tv);
	r->backoff_s = r->backoff_s * 2 > REG_BACKOFF_MAX ? REG_BACKOFF_MAX
							  : r->backoff_s * 2;
}

void
reg_failed(struct registry *r, const char *what, const struct cf_error *e)
{
	if (!r->outage)
		reg_log(r,
		    "%s: %s; the agent serves its API as ever and tries "
		    "again (backoff up to %d s, said once per outage)",
		    what, e->msg, REG_BACKOFF_MAX);
	r->outage = 1;
	if (evtimer_pending(r->ev_retry, NULL))
		return; /* already restarting */
	reg_restart(r);
}

/*
 * The watch ended on every endpoint while the lease may live on: list
 * and watch again after the backoff, keeping the lease (and with it the
 * candidacies' revisions, which say who coordinates).  A keepalive or a
 * list that fails then starts everything again.
 */
void
reg_watch_failed(struct registry *r, const struct cf_error *e)
{
	struct timeval tv = {r->backoff_s, 0};

	if (!r->outage)
		reg_log(r,
		    "watch: %s; listing again (backoff up to %d s, said "
		    "once per outage)",
		    e->msg, REG_BACKOFF_MAX);
	r->outage = 1;
	reg_watches_free(r);
	r->up = 0; /* no decisions on what may be stale */
	if (evtimer_pending(r->ev_retry, NULL))
		return; /* everything restarts anyway */
	evtimer_add(r->ev_relist, &tv);
	r->backoff_s = r->backoff_s * 2 > REG_BACKOFF_MAX ? REG_BACKOFF_MAX
							  : r->backoff_s * 2;
}

static void
on_relist(evutil_socket_t fd, short what, void *arg)
{
	struct registry *r = arg;

	(void)fd;
	(void)what;
	if (r->lease != 0 && r->watch == NULL)
		reg_list(r);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reg_connect(arg);
}

/* --- The lease --- */

static void
keepalive_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct cf_error e;

	if (r->lease == 0)
		return; /* an answer for a session already dropped */
	if (err != NULL) {
		reg_failed(r, "lease keepalive", err);
		return;
	}
	if (reply->lease_id != 0 && reply->lease_id != r->lease)
		return; /* for a lease of an earlier session */
	if (reply->ttl <= 0) {
		cf_errorf(&e, CF_E_NOTFOUND,
		    "lease %llx expired: the agent's live and candidacy "
		    "keys are gone; registering again",
		    (unsigned long long)r->lease);
		reg_failed(r, "lease keepalive", &e);
	}
}

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct registry *r = arg;
	struct cf_error e;

	(void)fd;
	(void)what;
	if (r->lease == 0)
		return;
	if (etcd_call(r->etcd, etcd_req_lease_keepalive(r->lease),
		keepalive_done, r, &e) == -1)
		reg_failed(r, "lease keepalive", &e);
}

static void
live_done(const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;

	(void)reply;
	if (r->lease == 0)
		return; /* the session was dropped meanwhile */
	if (err != NULL) {
		reg_failed(r, "put live", err);
		return;
	}
	reg_list(r);
}

/* agents/<me>/live under the lease. */
static void
put_live(struct registry *r)
{
	struct schema_live l = {.address = r->advertise,
	    .started = r->started_at,
	    .version = CFD_VERSION};
	char *key = schema_key(r->prefix, SCHEMA_AGENT_LIVE, NULL, r->me, NULL);
	char *val = schema_live_value(&l);
	struct cf_error e;

	if (etcd_call(r->etcd,
		etcd_req_put(key, strlen(key), val, strlen(val), r->lease, 0),
		live_done, r, &e) == -1)
		reg_failed(r, "put live", &e);
	free(key);
	free(val);
}

static void
grant_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct timeval tv = {r->ttl / 3 > 0 ? r->ttl / 3 : 1, 0};

	if (err != NULL) {
		reg_failed(r, "lease grant", err);
		return;
	}
	r->lease = reply->lease_id;
	evtimer_add(r->ev_keepalive, &tv);
	put_live(r);
}

static void
reg_connect(struct registry *r)
{
	struct cf_error e;

	if (etcd_call(
		r->etcd, etcd_req_lease_grant(r->ttl), grant_done, r, &e) == -1)
		reg_failed(r, "lease grant", &e);
}

/* --- The list and the watch --- */

static void
identity_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;

	(void)reply;
	if (err != NULL)
		reg_failed(r, "put identity", err);
}

/* agents/<me>/identity, when the list did not hold the same. */
static void
put_identity(struct registry *r)
{
	char *key =
	    schema_key(r->prefix, SCHEMA_AGENT_IDENTITY, NULL, r->me, NULL);
	char *val = schema_identity_value(r->identity_pem);
	const struct reg_kv *kv = reg_get(r, key);
	struct cf_error e;

	if (kv == NULL || kv->len != strlen(val) ||
	    memcmp(kv->value, val, kv->len) != 0) {
		if (etcd_call(r->etcd,
			etcd_req_put(key, strlen(key), val, strlen(val), 0, 0),
			identity_done, r, &e) == -1)
			reg_failed(r, "put identity", &e);
		else
			reg_log(r, "wrote %s", key);
	}
	free(key);
	free(val);
}

void
reg_session_up(struct registry *r, int64_t revision)
{
	if (!r->up)
		reg_log(r,
		    "registered as %s with %s (lease %llx, %lld s); "
		    "watching %zu keys from revision %lld",
		    r->me, etcd_endpoint_get(r->etcd),
		    (unsigned long long)r->lease, (long long)r->ttl, r->nkv,
		    (long long)revision + 1);
	r->up = 1;
	r->outage = 0;
	r->backoff_s = 1;
	put_identity(r);
	reg_poke(r);
}

/* --- The thread --- */

static void
on_decide(evutil_socket_t fd, short what, void *arg)
{
	struct registry *r = arg;

	(void)fd;
	(void)what;
	if (r->up)
		reg_decide(r);
}

static void
on_job_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reg_job_finish(arg);
}

static void
revoke_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;

	(void)reply;
	(void)err;
	event_base_loopbreak(r->base);
}

/* registry_free's request, in the loop: revoke the lease (its keys go at
 * once), for at most a second. */
static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct registry *r = arg;
	struct timeval tv = {1, 0};
	struct cf_error e;

	(void)fd;
	(void)what;
	if (r->lease == 0 || etcd_call(r->etcd, etcd_req_lease_revoke(r->lease),
				 revoke_done, r, &e) == -1) {
		event_base_loopbreak(r->base);
		return;
	}
	event_base_loopexit(r->base, &tv);
}

static void *
thread_main(void *arg)
{
	struct registry *r = arg;

	reg_connect(r);
	event_base_loop(r->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* The password, then the client; the password is wiped at once. */
static struct etcd *
client_new(struct event_base *base, const struct agent_registry *c,
    struct cf_error *err)
{
	struct etcd_config cfg;
	struct cf_secret *pw = NULL;
	struct etcd *e = NULL;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	if (agent_registry_password(c, &pw, err) == -1)
		return NULL;
	for (i = 0; i < c->nendpoints; i++)
		cfg.endpoints[i] = c->endpoints[i];
	cfg.n_endpoints = c->nendpoints;
	cfg.ca_file = c->ca;
	cfg.cert_file = c->cert;
	cfg.key_file = c->key;
	cfg.user = c->user;
	cfg.password = pw;
	cfg.timeout_ms = REG_TIMEOUT_MS;
	e = etcd_new(base, &cfg, err);
	cf_secret_free(pw);
	return e;
}

/* The events of the loop; aborts when libevent cannot make one. */
static void
events_new(struct registry *r)
{
	r->ev_retry = evtimer_new(r->base, on_retry, r);
	r->ev_relist = evtimer_new(r->base, on_relist, r);
	r->ev_keepalive = event_new(r->base, -1, EV_PERSIST, on_keepalive, r);
	r->ev_decide = event_new(r->base, -1, 0, on_decide, r);
	r->ev_wake = evtimer_new(r->base, on_decide, r);
	r->ev_job_done = event_new(r->base, -1, 0, on_job_done, r);
	r->ev_stop = event_new(r->base, -1, 0, on_stop, r);
	if (r->ev_retry == NULL || r->ev_relist == NULL ||
	    r->ev_keepalive == NULL || r->ev_decide == NULL ||
	    r->ev_wake == NULL || r->ev_job_done == NULL || r->ev_stop == NULL)
		abort();
}

struct registry *
registry_new(const struct agent_config *c, const char *advertise,
    struct storeproc_chan *ch, struct cf_error *err)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	char *crt = agent_state_path(c, AGENT_CERT_FILE);
	struct cf_buf pem;

	memset(&pem, 0, sizeof(pem));
	r->agent_name = xstrdup(c->name);
	r->me = xstrdup(agent_registry_name(c));
	r->prefix = xstrdup(c->registry->prefix);
	r->advertise = xstrdup(
	    c->registry->advertise ? c->registry->advertise : advertise);
	r->ttl = c->registry->lease_ttl;
	r->ch = ch;
	r->backoff_s = 1;
	r->started_at = (long long)time(NULL);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (schema_name_check(r->me, err) == -1) {
		cf_error_prefix(err,
		    "registry: the agent's fleet name (set [registry] name): ");
		goto fail;
	}
	if (cf_read_file(crt, 64 * 1024, &pem, err) == -1)
		goto fail;
	r->identity_pem = xasprintf("%.*s", (int)pem.len, (char *)pem.data);
	reg_ranges_new(r);
	if ((r->base = event_base_new()) == NULL)
		abort();
	if ((r->etcd = client_new(r->base, c->registry, err)) == NULL) {
		cf_error_prefix(err, "registry: ");
		goto fail;
	}
	events_new(r);
	cf_buf_clear(&pem);
	free(crt);
	return r;
fail:
	cf_buf_clear(&pem);
	free(crt);
	registry_free(r);
	return NULL;
}

int
registry_start(struct registry *r, struct cf_error *err)
{
	sigset_t all, old;
	int e;

	if (reg_worker_start(r, err) == -1)
		return -1;
	/* Signals are the loop thread's (server.c). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&r->thread, NULL, thread_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return cf_errorf(err, CF_E_INTERNAL,
		    "registry: cannot start its thread: %s", strerror(e));
	r->started = 1;
	reg_log(r, "joining etcd as %s (prefix %s, lease %ld s, live %s)",
	    r->me, r->prefix, r->ttl, r->advertise);
	return 0;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		event_active(r->ev_stop, 0, 0);
		pthread_join(r->thread, NULL);
	}
	reg_worker_stop(r);
	reg_job_free(r->job);
	reg_watches_free(r);
	etcd_free(r->etcd);
	if (r->ev_retry != NULL) {
		event_free(r->ev_retry);
		event_free(r->ev_relist);
		event_free(r->ev_keepalive);
		event_free(r->ev_decide);
		event_free(r->ev_wake);
		event_free(r->ev_job_done);
		event_free(r->ev_stop);
	}
	if (r->base != NULL)
		event_base_free(r->base);
	reg_cache_free(r);
	reg_ns_free_all(r);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	reg_ranges_free(r);
	free(r->me);
	free(r->agent_name);
	free(r->prefix);
	free(r->advertise);
	free(r->identity_pem);
	free(r);
}
