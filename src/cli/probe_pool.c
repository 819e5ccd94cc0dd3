/*
 * probe_pool.c - a bounded pool of probing threads: see probe_pool.h.
 *
 * The jobs are an array the threads share; one mutex guards the index of
 * the next job to take and the count of those done.  Each job is written
 * by the one thread that took it, and read by the caller only after every
 * thread is joined, so the results need no lock of their own.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe_pool.h"
#include "util.h"

struct pool {
	struct probe_job *jobs;
	size_t n;
	size_t next; /* the next job to take */
	size_t done;
	int progress;
	pthread_mutex_t lock;
};

/* The next job to run, or NULL when none is left; counts the one done. */
static struct probe_job *
take(struct pool *p, int finished_one)
{
	struct probe_job *j = NULL;

	pthread_mutex_lock(&p->lock);
	if (finished_one) {
		p->done++;
		/* At each whole percent: 10000 jobs, 100 lines. */
		if (p->progress &&
		    p->done * 100 / p->n != (p->done - 1) * 100 / p->n)
			fprintf(stderr, "\rprobing: %zu/%zu", p->done, p->n);
	}
	if (p->next < p->n)
		j = &p->jobs[p->next++];
	pthread_mutex_unlock(&p->lock);
	return j;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	struct probe_job *j;

	for (j = take(p, 0); j != NULL; j = take(p, 1))
		j->rc = cf_probe_run(&j->opts, &j->result, &j->err);
	return NULL;
}

void
probe_pool_run(
    struct probe_job *jobs, size_t n, size_t max_threads, int progress)
{
	struct pool p = {.jobs = jobs, .n = n, .progress = progress};
	pthread_t *threads;
	size_t nthreads, started = 0, i;

	if (n == 0)
		return;
	if (max_threads == 0)
		max_threads = PROBE_POOL_MAX_THREADS;
	nthreads = n < max_threads ? n : max_threads;
	threads = xcalloc(nthreads, sizeof(*threads));
	pthread_mutex_init(&p.lock, NULL);
	/* A thread that cannot start leaves its share to the others. */
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[started], NULL, worker, &p) == 0)
			started++;
	if (started == 0)
		worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.lock);
	free(threads);
	if (progress)
		fputs("\r\033[K", stderr);
}

void
probe_jobs_clear(struct probe_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs != NULL && i < n; i++)
		cf_probe_clear(&jobs[i].result);
}
