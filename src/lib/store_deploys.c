/*
 * store_deploys.c - deployments under way: the record an operation
 * writes before it changes a service's files (the intent), and the lock
 * that lets one deployment run at a time.  See store.h.
 *
 * A deployment runs outside any transaction (its config test, reload and
 * handshake check take seconds), so its intent is committed first and
 * its outcome after; a record still there when the agent starts is a
 * deployment the agent did not live to finish (cf_services_recover).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define DEPLOY_LOCKFILE "deploy.lock"

int
cf_store_deploy_intent(struct cf_store *s, const char *service,
    const char *thumb, const char *actor, struct cf_error *err)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT OR REPLACE INTO deploys (service, thumbprint, actor, "
	    "started) VALUES (?1, ?2, ?3, ?4)",
	    err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, thumb, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_error(s, err, "write deploys");
}

int
cf_store_deploy_done(
    struct cf_store *s, const char *service, struct cf_error *err)
{
	return store_run(s, "DELETE FROM deploys WHERE service = ?1", service,
	    NULL, NULL, err);
}

void
cf_intents_free(struct cf_intent *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].service);
		free(v[i].actor);
	}
	free(v);
}

int
cf_store_deploy_list(
    struct cf_store *s, struct cf_intent **out, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	struct cf_intent *v;
	int rc;

	*out = NULL;
	*n = 0;
	if ((st = store_prepare(s,
		 "SELECT service, thumbprint, actor, started FROM deploys "
		 "ORDER BY service",
		 err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		v = &(*out)[(*n)++];
		v->service = store_col_text(st, 0);
		snprintf(v->thumb, sizeof(v->thumb), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		v->actor = store_col_text(st, 2);
		v->started = (time_t)sqlite3_column_int64(st, 3);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_intents_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_db_error(s, err, "read deploys");
	}
	return 0;
}

/*
 * An open file description lock (see store_lock.c) on a file of its own:
 * each call opens the file anew, so two threads of the agent exclude
 * each other as two processes do.  Apart from the database, so that no
 * reader or writer of the store waits for it.
 */
struct cf_store_lock *
cf_store_deploy_lock(struct cf_store *s, struct cf_error *err)
{
	char *path = xasprintf("%s/%s", s->dir, DEPLOY_LOCKFILE);
	struct cf_store_lock *l = NULL;
	struct flock fl;
	int fd, r;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		 0600)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) == -1 && errno == EINTR)
		;
	if (r == -1) {
		cf_errorf(
		    err, CF_E_IO, "%s: cannot lock: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	l = store_lock_of_fd(fd);
out:
	free(path);
	return l;
}
