/*
 * audit.c - the audit records nobody asked for: refused attempts, and
 * the retention that keeps the table bounded.
 *
 * Anyone who can reach the port can be refused, as often as they like,
 * and each refusal was a row written while the store's write lock may be
 * held by a deploy.  So refusals are coalesced here, on the loop thread,
 * per source address and actor: the first of an interval is recorded at
 * once, with its detail; those that follow within REFUSAL_INTERVAL
 * seconds are counted into that same record ("; 499 more from ADDR in
 * the minute after"), amended every REFUSAL_TICK seconds while the count
 * grows.  One row per source and actor a minute, and none that turns up
 * a minute later.  An address gets at most REFUSAL_ACTORS entries; more
 * certificates from it share one, so a client minting a certificate per
 * attempt still adds a bounded number of rows.  The rows go to the
 * pool's audit lane: one thread with its own channel to the store
 * process, a bounded queue, no worker held.
 *
 * Retention (audit_keep_days, audit_max_rows) runs on the same lane at
 * start and every hour.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "util.h"

#define REFUSAL_INTERVAL 60
#define REFUSAL_TICK 5
#define REFUSAL_SOURCES 1024 /* (address, actor) pairs followed at once */
#define REFUSAL_ACTORS 4     /* actors followed per address */
#define REFUSAL_VARIOUS "tls:various certificates"
#define RETENTION_EVERY 3600

struct refusal {
	char *host, *actor;
	char *first;   /* the first refusal's outcome, as recorded */
	long long row; /* its record; 0 until the writer says */
	time_t start;
	unsigned long count; /* refusals after the first */
	unsigned long shown; /* count as the record says it */
};

struct refusals {
	struct refusal r[REFUSAL_SOURCES];
	size_t n;
	time_t pruned; /* retention last ran */
};

/* A record to append or amend, or a pruning, on the audit lane. */
enum audit_kind { AUDIT_APPEND, AUDIT_AMEND, AUDIT_PRUNE };
struct audit_job {
	struct pool_job pj;
	enum audit_kind kind;
	struct server *srv; /* loop thread only */
	char *host, *actor; /* append: the refusal to tell its row */
	char *outcome;
	long long row; /* append: the new row; amend: the row */
	long keep_days, max_rows;
};

static void
audit_job_free(struct audit_job *a)
{
	free(a->host);
	free(a->actor);
	free(a->outcome);
	free(a);
}

static void
audit_job_discard(struct pool_job *pj)
{
	audit_job_free((struct audit_job *)pj);
}

/* The record, to the store process's audit thread (storeproc.h). */
static void
audit_job_run(struct pool_job *pj, struct storeproc_chan *ch)
{
	static const char *const kinds[] = {"audit", "amend", "prune"};
	struct audit_job *a = (struct audit_job *)pj;
	struct chan_msg m, r;
	struct cf_error err;

	cf_error_clear(&err);
	memset(&m, 0, sizeof(m));
	chan_add(&m, kinds[a->kind]);
	switch (a->kind) {
	case AUDIT_APPEND:
		chan_add(&m, a->actor);
		chan_add(&m, a->outcome);
		break;
	case AUDIT_AMEND:
		chan_add_long(&m, a->row);
		chan_add(&m, a->outcome);
		break;
	case AUDIT_PRUNE:
		chan_add_long(&m, a->keep_days);
		chan_add_long(&m, a->max_rows);
		break;
	}
	if (storeproc_call(ch, &m, &r, &err) == -1)
		fprintf(stderr, "certfleetd: audit: %s\n", err.msg);
	else if (a->kind == AUDIT_APPEND)
		a->row = chan_long(&r, 0, 0);
	chan_clear(&r);
}

static struct refusal *refusal_find(
    struct refusals *t, const char *host, const char *actor, size_t *from_host);

/* Back on the loop thread: the refusal learns its row. */
static void
audit_job_done(struct pool_job *pj)
{
	struct audit_job *a = (struct audit_job *)pj;
	struct refusal *r;
	size_t n;

	if (a->kind == AUDIT_APPEND && a->srv->refusals != NULL &&
	    (r = refusal_find(a->srv->refusals, a->host, a->actor, &n)) !=
		NULL &&
	    r->row == 0)
		r->row = a->row;
	audit_job_free(a);
}

/* Queues a, or drops it with a note when the lane is full. */
static void
audit_submit(struct server *srv, struct audit_job *a)
{
	a->srv = srv;
	a->pj.audit = 1;
	a->pj.run = audit_job_run;
	a->pj.done = audit_job_done;
	a->pj.discard = audit_job_discard;
	if (pool_submit(srv->pool, &a->pj) == 0)
		return;
	server_note(srv, NOTE_AUDIT, "audit queue full: not recorded: %s %s",
	    a->actor ? a->actor : "", a->outcome ? a->outcome : "retention");
	audit_job_free(a);
}

/* Brings r's record up to its count. */
static void
refusal_amend(struct server *srv, struct refusal *r)
{
	struct audit_job *a;

	if (r->row == 0 || r->count == r->shown)
		return;
	a = xcalloc(1, sizeof(*a));
	a->kind = AUDIT_AMEND;
	a->row = r->row;
	a->outcome = xasprintf("%s; %lu more from %s in the minute after",
	    r->first, r->count, r->host);
	r->shown = r->count;
	audit_submit(srv, a);
}

static void
refusal_drop(struct refusals *t, size_t i)
{
	free(t->r[i].host);
	free(t->r[i].actor);
	free(t->r[i].first);
	t->r[i] = t->r[--t->n];
}

static struct refusal *
refusal_find(
    struct refusals *t, const char *host, const char *actor, size_t *from_host)
{
	size_t i;

	*from_host = 0;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->r[i].host, host) != 0)
			continue;
		(*from_host)++;
		if (strcmp(t->r[i].actor, actor) == 0)
			return &t->r[i];
	}
	return NULL;
}

void
refusal_note(struct server *srv, const char *host, const char *actor,
    const char *outcome)
{
	struct refusals *t = srv->refusals;
	struct audit_job *a;
	struct refusal *r;
	size_t from_host;

	if (t == NULL)
		return;
	r = refusal_find(t, host, actor, &from_host);
	if (r == NULL && from_host >= REFUSAL_ACTORS) {
		actor = REFUSAL_VARIOUS;
		r = refusal_find(t, host, actor, &from_host);
	}
	if (r != NULL) {
		r->count++;
		return;
	}
	if (t->n == REFUSAL_SOURCES) {
		server_note(srv, NOTE_AUDIT,
		    "refused attempts from more than %d sources at once: not "
		    "recorded: %s %s",
		    REFUSAL_SOURCES, actor, outcome);
		return;
	}
	r = &t->r[t->n++];
	memset(r, 0, sizeof(*r));
	r->host = xstrdup(host);
	r->actor = xstrdup(actor);
	r->first = xstrdup(outcome);
	r->start = time(NULL);
	a = xcalloc(1, sizeof(*a));
	a->kind = AUDIT_APPEND;
	a->host = xstrdup(host);
	a->actor = xstrdup(actor);
	a->outcome = xstrdup(outcome);
	audit_submit(srv, a);
}

/* Queues a pruning by the configured retention, when one is set. */
static void
retention_run(struct server *srv)
{
	struct audit_job *a;

	if (srv->cfg->audit_keep_days == 0 && srv->cfg->audit_max_rows == 0)
		return;
	a = xcalloc(1, sizeof(*a));
	a->kind = AUDIT_PRUNE;
	a->keep_days = srv->cfg->audit_keep_days;
	a->max_rows = srv->cfg->audit_max_rows;
	audit_submit(srv, a);
}

/* Every REFUSAL_TICK s: amend the counts, end the intervals that ended
 * (a row not yet written waits for its writer); prune hourly. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct refusals *t = srv->refusals;
	time_t now = time(NULL);
	size_t i = 0;

	(void)fd;
	(void)what;
	while (i < t->n) {
		struct refusal *r = &t->r[i];
		refusal_amend(srv, r);
		if (now - r->start < REFUSAL_INTERVAL ||
		    (r->count != r->shown &&
			now - r->start < 2 * REFUSAL_INTERVAL))
			i++;
		else
			refusal_drop(t, i);
	}
	if (now - t->pruned >= RETENTION_EVERY) {
		t->pruned = now;
		retention_run(srv);
	}
}

void
refusals_setup(struct server *srv)
{
	struct timeval tv = {REFUSAL_TICK, 0};

	srv->refusals = xcalloc(1, sizeof(*srv->refusals));
	srv->refusals->pruned = time(NULL);
	srv->ev_audit = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
	if (srv->ev_audit == NULL || event_add(srv->ev_audit, &tv) == -1)
		abort();
	retention_run(srv);
}

void
refusals_free(struct server *srv)
{
	struct refusals *t = srv->refusals;

	if (srv->ev_audit != NULL)
		event_free(srv->ev_audit);
	srv->ev_audit = NULL;
	if (t == NULL)
		return;
	srv->refusals = NULL; /* appends still queued find no entry */
	while (t->n > 0) {
		refusal_amend(srv, &t->r[0]);
		refusal_drop(t, 0);
	}
	free(t);
}
