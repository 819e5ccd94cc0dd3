/*
 * ops_import_parse.c - the parsing half of an import: every input file into
 * a bundle, a few files at a time on threads.  See ops_import_parse.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_import_parse.h"
#include "util.h"

/*
 * Parsing is where an import spends its time (key derivation, key
 * decoding) and each file is independent: the files are parsed by a few
 * threads, one file at a time each, before the one transaction.
 */
#define MAX_PARSERS 8

struct parse_pool {
	const struct cf_input *in;
	size_t n;
	const struct cf_import_opts *opts;
	struct cf_bundle **bundles;
	struct cf_error *errs;
	pthread_mutex_t mu;
	size_t next, done;
};

static void *
parse_worker(void *arg)
{
	struct parse_pool *p = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			break;
		cf_error_clear(&p->errs[i]);
		p->bundles[i] = cf_bundle_new();
		cf_bundle_parse(p->in[i].name, p->in[i].data, p->in[i].len,
		    p->opts->password, p->bundles[i], &p->errs[i]);
		pthread_mutex_lock(&p->mu);
		p->done++;
		if (p->opts->progress != NULL)
			p->opts->progress(p->opts->progress_ctx, p->done, p->n);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

int
cf_import_parse_all(const struct cf_input *in, size_t n,
    const struct cf_import_opts *opts, struct cf_bundle **bundles,
    struct cf_error *err)
{
	struct parse_pool p;
	pthread_t tid[MAX_PARSERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cpus > 0 ? (size_t)cpus : 1, started = 0, i;
	int rc = 0;

	if (nthreads > MAX_PARSERS)
		nthreads = MAX_PARSERS;
	if (nthreads > n)
		nthreads = n;
	memset(&p, 0, sizeof(p));
	p.in = in;
	p.n = n;
	p.opts = opts;
	p.bundles = bundles;
	p.errs = xcalloc(n + 1, sizeof(*p.errs));
	pthread_mutex_init(&p.mu, NULL);
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&tid[started], NULL, parse_worker, &p) == 0)
			started++;
	parse_worker(&p); /* this thread works too */
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p.mu);
	for (i = 0; i < n; i++)
		if (p.errs[i].code != CF_OK) {
			*err = p.errs[i];
			rc = -1;
			break;
		}
	free(p.errs);
	return rc;
}
