/*
 * pool.c - worker threads in two lanes: see pool.h.
 *
 * Fast jobs (listing, enabling, refusals) and slow ones (PBKDF2, key
 * generation) wait in separate queues.  With two workers or more, about
 * half the threads take fast jobs only, so a burst of RSA-4096 key
 * generation never leaves a `get` waiting for a thread; the other half
 * take slow jobs first, then fast ones, and run at a lower scheduling
 * priority (nice 10) so that, on a machine with fewer cores than
 * threads, the CPU goes to the short requests first.  One worker does
 * everything.  One more thread writes audit records only (refusals,
 * queued by the loop): a record waiting behind a long write transaction
 * then holds up no request.
 *
 * Finished jobs go on a done list; the worker then activates one event
 * on the loop's base (thread-safe once evthread_use_pthreads() ran), and
 * the loop thread delivers every finished job in one callback.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pool.h"
#include "util.h"

#define FAST_QUEUE_MAX 1024  /* waiting fast jobs before 503s */
#define SLOW_QUEUE_MAX 128   /* waiting key generations/derivations */
#define AUDIT_QUEUE_MAX 1024 /* records waiting for the store */
#define SLOW_NICE 10

enum { LANE_FAST = 1, LANE_SLOW = 2, LANE_AUDIT = 4 };

struct queue {
	struct pool_job *head, *tail;
	size_t n;
};

struct worker {
	struct pool *p;
	pthread_t thread;
	struct storeproc_chan *ch;
	int lanes;
	int nice;
	int started;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct queue fast, slow, audit, done; /* under lock */
	int stopping;                         /* under lock */
	struct event *done_ev;
	struct worker *w;
	int nw;
	size_t outstanding; /* loop thread only */
	void (*idle_cb)(void *);
	void *idle_arg;
};

static void
queue_push(struct queue *q, struct pool_job *job)
{
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->n++;
}

static struct pool_job *
queue_pop(struct queue *q)
{
	struct pool_job *job = q->head;

	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		job->next = NULL;
	}
	return job;
}

static void
queue_discard(struct queue *q)
{
	struct pool_job *job;

	while ((job = queue_pop(q)) != NULL)
		job->discard(job);
}

/* The next job for a worker of lanes, slow ones first; under lock. */
static struct pool_job *
take(struct pool *p, int lanes)
{
	if ((lanes & LANE_AUDIT) && p->audit.head != NULL)
		return queue_pop(&p->audit);
	if ((lanes & LANE_SLOW) && p->slow.head != NULL)
		return queue_pop(&p->slow);
	if ((lanes & LANE_FAST) && p->fast.head != NULL)
		return queue_pop(&p->fast);
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->p;
	struct pool_job *job;

	/* Linux: a thread's nice value is its own (setpriority on a tid). */
	if (w->nice != 0)
		setpriority(PRIO_PROCESS, (id_t)gettid(), w->nice);
	pthread_mutex_lock(&p->lock);
	/* Stopping, the audit writer still writes what is queued. */
	while (!p->stopping ||
	       ((w->lanes & LANE_AUDIT) && p->audit.head != NULL)) {
		if ((job = take(p, w->lanes)) == NULL) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		job->run(job, w->ch);
		pthread_mutex_lock(&p->lock);
		queue_push(&p->done, job);
		pthread_mutex_unlock(&p->lock);
		event_active(p->done_ev, EV_READ, 0);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The loop thread's side: deliver every finished job. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	struct queue done;
	struct pool_job *job;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&p->lock);
	done = p->done;
	p->done.head = p->done.tail = NULL;
	p->done.n = 0;
	pthread_mutex_unlock(&p->lock);
	while ((job = queue_pop(&done)) != NULL) {
		p->outstanding--;
		job->done(job);
	}
	if (p->outstanding == 0 && p->idle_cb != NULL)
		p->idle_cb(p->idle_arg);
}

/* Starts the threads with every signal blocked: the loop takes them. */
static int
pool_start(struct pool *p, struct cf_error *err)
{
	sigset_t all, old;
	int i, e = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < p->nw && e == 0; i++) {
		e = pthread_create(
		    &p->w[i].thread, NULL, worker_main, &p->w[i]);
		p->w[i].started = e == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return cf_errorf(
		    err, CF_E_INTERNAL, "cannot start worker thread %d", i);
	return 0;
}

struct pool *
pool_new(struct event_base *base, struct storeproc *sp, int workers,
    struct cf_error *err)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	int i, nfast = workers > 1 ? (workers + 1) / 2 : 1;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if ((p->done_ev = event_new(base, -1, 0, on_done, p)) == NULL)
		abort();
	p->nw = workers + 1; /* the last one writes audit records */
	p->w = xcalloc((size_t)p->nw, sizeof(*p->w));
	for (i = 0; i < p->nw; i++) {
		p->w[i].p = p;
		p->w[i].lanes = i == workers   ? LANE_AUDIT
				: workers == 1 ? LANE_FAST | LANE_SLOW
				: i < nfast    ? LANE_FAST
					       : LANE_SLOW | LANE_FAST;
		p->w[i].nice =
		    p->w[i].lanes == LANE_FAST || workers == 1 ? 0 : SLOW_NICE;
		p->w[i].ch = storeproc_chan(sp, i);
	}
	if (pool_start(p, err) == 0)
		return p;
	pool_free(p);
	return NULL;
}

int
pool_submit(struct pool *p, struct pool_job *job)
{
	struct queue *q = job->audit  ? &p->audit
			  : job->slow ? &p->slow
				      : &p->fast;
	size_t max = job->audit  ? AUDIT_QUEUE_MAX
		     : job->slow ? SLOW_QUEUE_MAX
				 : FAST_QUEUE_MAX;
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if (!p->stopping && q->n < max) {
		queue_push(q, job);
		pthread_cond_broadcast(&p->wake);
		p->outstanding++;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

size_t
pool_outstanding(const struct pool *p)
{
	return p->outstanding;
}

void
pool_set_idle_cb(struct pool *p, void (*cb)(void *), void *arg)
{
	p->idle_cb = cb;
	p->idle_arg = arg;
}

void
pool_free(struct pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nw; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
	queue_discard(&p->fast);
	queue_discard(&p->slow);
	queue_discard(&p->audit);
	queue_discard(&p->done);
	free(p->w);
	event_free(p->done_ev);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
