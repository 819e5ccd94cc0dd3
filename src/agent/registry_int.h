/*
 * registry_int.h - what registry.c, registry_member.c and registry_coord.c
 * share: the registry thread's state (registry.h).  Everything here
 * belongs to the registry's loop thread, except struct reg_job while the
 * member worker runs it.
 */
#ifndef CFD_REGISTRY_INT_H
#define CFD_REGISTRY_INT_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>

#include "etcd.h"
#include "reconcile.h"
#include "registry.h"
#include "schema.h"

/* One key of the watched range as the registry holds it. */
struct reg_kv {
	char *key;
	unsigned char *value; /* NUL-terminated */
	size_t len;
	int64_t create_rev, mod_rev;
};

/* What the registry keeps per namespace between decisions; the
 * argument of its candidacy's and its progress's calls (so that a call
 * the client drops at the end leaves nothing behind). */
struct reg_ns {
	struct registry *r;
	char name[SCHEMA_NS_MAX + 1];
	int elect_busy;   /* a candidacy put is in flight */
	int coord_busy;   /* a progress txn is in flight */
	int coordinating; /* its candidacy was the oldest last time */
	int moving;       /* ... and an agents' rollout is under way */
	long long wake_at;
	char *coord_line;              /* the progress in flight, for the log */
	char *coord_key, *coord_value; /* ... and for the cache */
	/* Read once per rollout id (registry_plan.c): this member's
	 * sealed/<me>/<ns> (its wave, wave 0 when it has none for the id)
	 * and, for the coordinator, waves/<ns>.  *_id: the id read, or
	 * being read while *_busy. */
	char sealed_id[33], plan_id[33];
	int sealed_busy, sealed_have, plan_busy, plan_have, plan_said;
	struct schema_sealed sealed;
	struct schema_plan plan;
};

/*
 * One convergence of the member's services, handed to the worker thread:
 * the inputs (what the loop decided), then the status it ends with.
 */
struct reg_job {
	char ns[SCHEMA_NS_MAX + 1];
	char *services; /* the namespace's, "https,smtp" */
	enum rc_target target;
	char thumb[CF_THUMB_LEN + 1]; /* desired's (RC_NEW) */
	char rollout[33];
	long long desired_rev;
	struct cf_buf sealed; /* sealed/<me>/<ns>'s blob; empty: none */
	char sealed_for[CF_THUMB_LEN + 1]; /* the thumbprint it holds */
	struct schema_svc *before;         /* from the last status of this
					      rollout; NULL: not known yet */
	size_t nbefore;
	struct schema_status st; /* the outcome */
};

struct registry {
	/* Configuration, copied. */
	char *me, *agent_name, *prefix, *advertise, *identity_pem;
	long ttl;
	struct etcd *etcd;
	struct storeproc_chan *ch;
	struct event_base *base;
	pthread_t thread;
	int started;
	long long started_at;
	/* Connection state. */
	int64_t lease;
	int up;          /* registered and watching */
	int outage;      /* the failure was logged; cleared when up */
	int backoff_s;   /* the next retry's wait */
	int identity_ok; /* identity written (or found) since the start */
	struct etcd_watch *watch;        /* of the shared range */
	char *range_from, *range_to;     /* [P/elect/, P/sealed/) */
	char *own_from, *own_to;         /* P/agents/<me>/ */
	char *agents_from, *agents_to;   /* [P/agents/, P/elect/) */
	struct etcd_watch *agents_watch; /* while it coordinates */
	int agents_want;                 /* it coordinates a namespace */
	int agents_listing;              /* the agents' list is in flight */
	int agents_synced;               /* listed, and watched since */
	struct event *ev_retry, *ev_relist, *ev_keepalive, *ev_decide, *ev_wake,
	    *ev_job_done, *ev_stop;
	/* The cached keys (registry_watch.c), sorted by key. */
	struct reg_kv *kv;
	size_t nkv, capkv;
	struct reg_ns **ns;
	size_t nns;
	/* The member worker: one job at a time. */
	pthread_t worker;
	int worker_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct reg_job *job;    /* the job the worker runs or ran */
	int job_ready, job_end; /* under mu */
	int job_writing;        /* its status put is in flight */
};

/* registry.c */
/* "certfleetd: NAME: registry: ..." on stderr. */
void reg_log(const struct registry *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The shared range and the member's own keys are in, as of revision:
 * registered, decide. */
void reg_session_up(struct registry *r, int64_t revision);
/* A watch ended on every endpoint: list again after the backoff. */
void reg_watch_failed(struct registry *r, const struct cf_error *e);

/* registry_watch.c */
/* The cached key, lent; NULL when absent. */
const struct reg_kv *reg_get(const struct registry *r, const char *key);
/* Sets key's value in the cache as a reply confirmed it. */
void reg_cache_put(struct registry *r, const char *key, const void *value,
    size_t len, int64_t create_rev, int64_t mod_rev);
void reg_cache_free(struct registry *r);
/* Lists the shared range, watches it, lists the member's own keys, then
 * reg_session_up. */
void reg_list(struct registry *r);
/* Whether the agent coordinates a namespace, so lists and watches the
 * agents' keys (want 1), or no longer (0: drops them from the cache but
 * its own). */
void reg_agents_want(struct registry *r, int want);
/* Ends both watches. */
void reg_watches_free(struct registry *r);
/* The ranges' bounds, made from r->prefix and r->me; freed. */
void reg_ranges_new(struct registry *r);
void reg_ranges_free(struct registry *r);
/* Something that decisions rest on changed: decide again soon. */
void reg_poke(struct registry *r);
/* An etcd call failed: the outage is logged and everything restarts
 * after the backoff. */
void reg_failed(struct registry *r, const char *what, const struct cf_error *e);

/* registry_coord.c */
/* The decisions after a change: candidacy, convergence, coordination. */
void reg_decide(struct registry *r);
/* The namespace's record, made when new (lent: it lives as long as r). */
struct reg_ns *reg_ns_get(struct registry *r, const char *ns);
/* Frees every namespace's record. */
void reg_ns_free_all(struct registry *r);

/* registry_plan.c */
/* This member's sealed key for n's rollout id: lent once read (wave 0
 * when it has none for id), NULL while it is read (a decision follows
 * the reply). */
const struct schema_sealed *reg_sealed_get(
    struct registry *r, struct reg_ns *n, const char *id);
/* waves/<ns> of rollout id, for the coordinator: lent once read (for
 * another id, or with no members, when missing: logged once), NULL
 * while it is read. */
const struct schema_plan *reg_plan_get(
    struct registry *r, struct reg_ns *n, const char *id);
/* Frees what n cached (the sealed copy wiped). */
void reg_ns_cache_clear(struct reg_ns *n);

/* registry_member.c */
/* Starts and stops the worker thread. */
int reg_worker_start(struct registry *r, struct cf_error *err);
void reg_worker_stop(struct registry *r);
/* Hands job to the worker (none may be running). */
void reg_job_post(struct registry *r, struct reg_job *job);
/* Frees job; NULL-safe. */
void reg_job_free(struct reg_job *job);
/* r->job failed at step before the worker ran it: the status says so
 * (as a job that ran), and is written. */
void reg_job_fail(
    struct registry *r, const char *step, const struct cf_error *e);
/* The worker finished r->job: its status is written, then decided
 * again. */
void reg_job_finish(struct registry *r);

#endif
