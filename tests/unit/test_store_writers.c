/*
 * test_store_writers.c - writers of one process never fail on the
 * store's lock: eight threads, each with its own connection to one
 * store as the agent's workers and audit thread have, write at once
 * with SQLite's own wait cut to 1 ms.  Without the write turn in
 * store.c they fail with "database is locked" at once; with it every
 * write lands.  A store of another process still waits its busy time
 * and then fails with a clear error (the negative case).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "store.h"

#define WRITERS 8
#define WRITES 150

static char dir[512];
/* Every writer has opened its connection before any writes: opening a
 * WAL store rebuilds its shared index under a lock of SQLite's own,
 * which is not what this test is about (the agent opens its
 * connections before it serves). */
static pthread_barrier_t opened;

struct writer {
	int n;
	int ok;
	struct cf_error why;
};

static void *
write_many(void *arg)
{
	struct writer *w = arg;
	struct cf_error err;
	struct cf_store *s = cf_store_open_existing(dir, &err);
	char op[32];
	int i;

	pthread_barrier_wait(&opened);
	if (s == NULL) {
		w->why = err;
		return NULL;
	}
	cf_store_set_busy_wait(s, 1);
	snprintf(op, sizeof(op), "writer%d", w->n);
	for (i = 0; i < WRITES; i++) {
		if (cf_store_begin(s, &err) == -1 ||
		    cf_store_audit(s, "test", op, "", "", &err) == -1 ||
		    cf_store_commit(s, &err) == -1) {
			cf_store_rollback(s);
			w->why = err;
			break;
		}
		w->ok++;
	}
	cf_store_free(s);
	return NULL;
}

/* The audit holds exactly want rows of the writers. */
static void
audited(size_t want)
{
	struct cf_error err;
	struct cf_store *s = cf_store_open_existing(dir, &err);
	struct cf_audit *recs = NULL;
	size_t n = 0, i, mine = 0;

	if (s != NULL && cf_store_audit_list(s, 0, &recs, &n, &err) == 0)
		for (i = 0; i < n; i++)
			mine += strncmp(recs[i].op, "writer", 6) == 0;
	CHECK(mine == want, "writers: the audit holds every write, once");
	cf_audit_free(recs, n);
	cf_store_free(s);
}

/* A write held by another process: ours waits its busy time and fails,
 * naming the store; once the other commits, ours goes through. */
static void
other_process(void)
{
	struct cf_error err;
	struct cf_store *s = cf_store_open_existing(dir, &err);
	int up[2], down[2], st;
	char c = 0;
	pid_t pid;

	if (s == NULL || pipe(up) == -1 || pipe(down) == -1) {
		CHECK(0, "writers: set-up of the other process");
		return;
	}
	if ((pid = fork()) == 0) {
		struct cf_store *o = cf_store_open_existing(dir, &err);
		int held = o != NULL && cf_store_begin(o, &err) == 0;
		(void)!write(up[1], &c, 1);
		(void)!read(down[0], &c, 1);
		_exit(held && cf_store_commit(o, &err) == 0 ? 0 : 1);
	}
	(void)!read(up[0], &c, 1);
	cf_store_set_busy_wait(s, 200);
	CHECK(cf_store_begin(s, &err) == -1 && strstr(err.msg, dir) != NULL &&
		  strstr(err.msg, "locked") != NULL,
	    "writers: another process's write: ours fails after its wait, "
	    "naming the store");
	(void)!write(down[1], &c, 1);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "writers: the other process committed");
	CHECK(cf_store_begin(s, &err) == 0 && cf_store_commit(s, &err) == 0,
	    "writers: then ours goes through");
	cf_store_free(s);
}

/* One test, threads then the audit count: audited() counts the rows the
 * threads wrote. */
static void
test_threads(void)
{
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	int i, all = 1;

	memset(w, 0, sizeof(w));
	pthread_barrier_init(&opened, NULL, WRITERS);
	for (i = 0; i < WRITERS; i++) {
		w[i].n = i;
		pthread_create(&t[i], NULL, write_many, &w[i]);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].ok != WRITES) {
			fprintf(stderr, "writer %d: %d of %d: %s\n", i, w[i].ok,
			    WRITES, w[i].why.msg);
			all = 0;
		}
	}
	pthread_barrier_destroy(&opened);
	CHECK(
	    all, "writers: every write of 8 threads lands, SQLite's wait 1 ms");
	audited(WRITERS * WRITES);
}

int
main(int argc, char **argv)
{
	struct cf_error err;
	struct cf_store *s;

	check_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	s = cf_store_open(dir, &err);
	CHECK(s != NULL, "writers: store made");
	cf_store_free(s);
	if (check_test("threads"))
		test_threads();
	if (check_test("other_process"))
		other_process();
	return check_done();
}
