/*
 * pool.h - the worker threads that run requests off the event loop.
 *
 * Each worker owns a channel of its own to the store process
 * (storeproc.h); one more thread, with its own too, sends the audit
 * records queued with audit set.  A job is queued by
 * the loop thread, run on a worker, and handed back to the loop thread, which
 * alone touches libevent's HTTP objects.
 */
#ifndef CFD_POOL_H
#define CFD_POOL_H

#include <stddef.h>

#include <event2/event.h>

#include "storeproc.h"

/* One job; embed it first in a larger struct. */
struct pool_job {
	struct pool_job *next; /* the pool's */
	int slow;              /* key generation or derivation */
	int audit; /* an audit record: its own thread, so that records
		      waiting for the store's write lock hold no worker */
	/* On a worker thread, with that worker's channel. */
	void (*run)(struct pool_job *job, struct storeproc_chan *ch);
	/* On the loop thread after run; frees the job. */
	void (*done)(struct pool_job *job);
	/* Frees a job that will not be delivered (shutdown). */
	void (*discard)(struct pool_job *job);
};

struct pool;

/*
 * Starts workers threads on base, and the audit writer: worker i
 * talks to the store process on channel i of sp (lent; outlives the
 * pool), which must have workers + 1 channels.  NULL and err set when a
 * thread cannot start.
 */
struct pool *pool_new(struct event_base *base, struct storeproc *sp,
    int workers, struct cf_error *err);

/*
 * Queues job (loop thread).  -1 when its lane's queue is full or the
 * pool is stopping: the caller still owns job.
 */
int pool_submit(struct pool *p, struct pool_job *job);

/* Jobs submitted and not yet delivered (loop thread). */
size_t pool_outstanding(const struct pool *p);

/* Called on the loop thread each time the pool becomes idle. */
void pool_set_idle_cb(struct pool *p, void (*cb)(void *), void *arg);

/*
 * Stops the pool: each worker finishes the job it is running; queued
 * and undelivered jobs are discarded.  Joins the threads.  NULL-safe; loop
 * thread, with the loop no longer running.
 */
void pool_free(struct pool *p);

#endif
