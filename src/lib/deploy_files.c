/* deploy_files.c - a deployment's files: see deploy_files.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_files.h"

/*
 * Reads with open and fstat rather than cf_read_file: one buffer sized
 * from fstat, so no realloc leaves a copy of a key in freed memory.
 */
int
cf_dfile_read(const char *path, struct cf_secret **out, struct stat *st,
    struct cf_error *err)
{
	struct cf_secret *s = NULL;
	size_t cap;
	ssize_t n;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, st) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		cf_errorf(err, CF_E_IO, "%s: not a regular file", path);
		goto out;
	}
	if (st->st_size > CF_DFILE_MAX) {
		cf_errorf(err, CF_E_LIMIT, "%s: larger than %d bytes", path,
		    CF_DFILE_MAX);
		goto out;
	}
	/* One byte more than fstat said, to notice a file that grows. */
	cap = (size_t)st->st_size + 1;
	s = cf_secret_alloc(cap);
	s->len = 0;
	while (s->len < cap) {
		n = read(fd, s->data + s->len, cap - s->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cf_errorf(
			    err, CF_E_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		s->len += (size_t)n;
	}
	s->data[s->len] = '\0';
	if (s->len == cap) {
		cf_errorf(err, CF_E_IO, "%s: changed while it was read", path);
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 1;
out:
	cf_secret_free(s);
	close(fd);
	return rc;
}

int
cf_dfile_save(const char *path, struct cf_dfile *f, struct cf_error *err)
{
	struct stat st;
	int r;

	memset(f, 0, sizeof(*f));
	f->path = path;
	if ((r = cf_dfile_read(path, &f->bytes, &st, err)) == -1)
		return -1;
	f->existed = r;
	if (r == 1) {
		f->mode = (unsigned)st.st_mode & 07777;
		f->uid = st.st_uid;
		f->gid = st.st_gid;
	}
	return 0;
}

void
cf_dfile_clear(struct cf_dfile *f)
{
	if (f == NULL)
		return;
	cf_secret_free(f->bytes);
	memset(f, 0, sizeof(*f));
}

/* The directory part of the absolute or relative path, as a new string. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

/*
 * fsyncs directory dir, so that a rename or unlink in it survives a
 * crash.  Failing here is an error too: the change may not be durable.
 */
static int
sync_dir(const char *dir, const char *path, struct cf_error *err)
{
	int dfd, rc = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cf_errorf(err, CF_E_IO, "%s: sync %s: %s", path, dir,
		    strerror(errno));
	if (fsync(dfd) == -1)
		rc = cf_errorf(err, CF_E_IO, "%s: sync %s: %s", path, dir,
		    strerror(errno));
	close(dfd);
	return rc;
}


/*
 * Gives the temporary file fd its owner and mode before any byte is
 * written, so a key is never readable by more than it should be.  fchown
 * only when the owner differs: an agent that is not root can still write
 * files it owns.  fchmod after fchown, which may clear set-id bits.
 */
static int
set_owner_mode(int fd, unsigned mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((uid != (uid_t)-1 && uid != st.st_uid) ||
	    (gid != (gid_t)-1 && gid != st.st_gid))
		if (fchown(fd, uid, gid) == -1)
			return -1;
	return fchmod(fd, (mode_t)mode);
}

/*
 * The temporary file is ".<base>.certfleet-XXXXXX" beside path: the same
 * file system, so rename replaces path in one step, and a dot name that
 * a service's "*.pem" glob does not pick up.  A symbolic link at path is
 * replaced by the file, as with every rename-based writer.
 */
int
cf_dfile_write(const char *path, const void *data, size_t len, unsigned mode,
    uid_t uid, gid_t gid, struct cf_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = dir_of(path), *tmp = NULL;
	int fd = -1, rc = -1;

	tmp =
	    xasprintf("%s/.%s.certfleet-XXXXXX", dir, slash ? slash + 1 : path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (set_owner_mode(fd, mode, uid, gid) == -1 ||
	    cf_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (sync_dir(dir, path, err) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

/* A file that did not exist is removed; the directory is synced then too. */
int
cf_dfile_restore(const struct cf_dfile *f, struct cf_error *err)
{
	char *dir = NULL;
	int rc = -1;

	if (f->path == NULL)
		return 0;
	if (f->existed)
		return cf_dfile_write(f->path, f->bytes->data, f->bytes->len,
		    f->mode, f->uid, f->gid, err);
	if (unlink(f->path) == -1) {
		if (errno == ENOENT) /* never written: nothing to sync */
			return 0;
		cf_errorf(
		    err, CF_E_IO, "%s: remove: %s", f->path, strerror(errno));
		goto out;
	}
	dir = dir_of(f->path);
	if (sync_dir(dir, f->path, err) == -1)
		goto out;
	rc = 0;
out:
	free(dir);
	return rc;
}
