/*
 * probe_pool.h - many TLS probes at once: a bounded pool of threads, each
 * taking the next job and running cf_probe_run on it, so that a hundred
 * endpoints take about as long as the slowest few, and one that never
 * answers costs its own timeout and nothing more.
 */
#ifndef CF_PROBE_POOL_H
#define CF_PROBE_POOL_H

#include <stddef.h>

#include "probe.h"

/* One probe: opts in; rc, and result or err, out. */
struct probe_job {
	struct cf_probe_opts opts; /* its strings are lent, and must outlive
				      probe_pool_run */
	int rc;                    /* cf_probe_run's: 0, or -1 with err */
	struct cf_probe result;    /* owned: cf_probe_clear each */
	struct cf_error err;
};

/* The default bound on threads. */
#define PROBE_POOL_MAX_THREADS 32

/*
 * Runs every job of jobs[0..n) on at most max_threads threads (0: the
 * default bound; never more than n) and returns when all are done.
 * When progress, a "probing: done/n" line is kept up to date on stderr
 * (for a terminal) and erased at the end.  Should no thread start, the
 * jobs run one by one in the calling thread.
 */
void probe_pool_run(
    struct probe_job *jobs, size_t n, size_t max_threads, int progress);

/* Clears every job's result; jobs itself is the caller's to free. */
void probe_jobs_clear(struct probe_job *jobs, size_t n);

#endif
