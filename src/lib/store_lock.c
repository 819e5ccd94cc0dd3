/*
 * store_lock.c - who owns a store: the running agent holds an exclusive
 * lock on a file of its own in the store directory for its lifetime, so
 * that `certfleet --store` can tell that changes to this store must go
 * through the agent (which deploys them) and not behind its back.
 *
 * The lock is an open file description lock (F_OFD_SETLK), not a POSIX
 * record lock: closing any other descriptor of the file, as SQLite does
 * with its own, does not drop it, and it belongs to the agent's open
 * file, not to whichever thread took it.  It is kept apart from the
 * database: readers (get, services, a backup through SQLite's online
 * backup API) never wait for it.  The holder's pid is written in the file
 * for messages; the lock, not the file's existence, says whether an
 * agent runs (a crashed agent leaves the file, and no lock).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

struct cf_store_lock {
	int fd;
};

int
cf_store_lock_fd(const struct cf_store_lock *l)
{
	return l->fd;
}

/* The whole file, write-locked (l_pid must be 0 for OFD locks). */
static struct flock
whole_file(void)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fl;
}

/* The pid written in the lock file fd, 0 when unreadable. */
static long
pid_in(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int
owned_error(const char *dir, long pid, struct cf_error *err)
{
	return cf_errorf(err, CF_E_CONFLICT,
	    "%s: the store is owned by a running certfleetd (pid %ld)", dir,
	    pid);
}

struct cf_store_lock *
cf_store_lock_take(const char *dir, struct cf_error *err)
{
	struct cf_store_lock *l = NULL;
	char *path = xasprintf("%s/%s", dir, CF_STORE_LOCKFILE);
	struct flock fl = whole_file();
	char pid[24];
	int fd, len;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			owned_error(dir, pid_in(fd), err);
		else
			cf_errorf(err, CF_E_IO, "%s: cannot lock: %s", path,
			    strerror(errno));
		close(fd);
		goto out;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)len, 0) != len) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
out:
	free(path);
	return l;
}

struct cf_store_lock *
store_lock_of_fd(int fd)
{
	struct cf_store_lock *l = xcalloc(1, sizeof(*l));

	l->fd = fd;
	return l;
}

void
cf_store_lock_release(struct cf_store_lock *l)
{
	if (l == NULL)
		return;
	close(l->fd); /* drops the lock; the file stays for the next one */
	free(l);
}

int
cf_store_lock_check(const char *dir, struct cf_error *err)
{
	char *path = xasprintf("%s/%s", dir, CF_STORE_LOCKFILE);
	struct flock fl = whole_file();
	int fd, rc = -1;

	/* Read-only: a reader may look at a store it may not lock. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			rc = 0; /* no agent ever ran on it */
		else
			cf_errorf(
			    err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		cf_errorf(err, CF_E_IO, "%s: cannot test the lock: %s", path,
		    strerror(errno));
	else if (fl.l_type != F_UNLCK)
		owned_error(dir, pid_in(fd), err);
	else
		rc = 0;
	close(fd);
out:
	free(path);
	return rc;
}
