/* deploy_files.c - a deployment's files: see deploy_files.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_files.h"

/* "nobody (uid 65534)", or "uid 65534" for a user without a name. */
static void
user_name(uid_t uid, char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, size, "%s (uid %u)", pw.pw_name, (unsigned)uid);
	else
		snprintf(out, size, "uid %u", (unsigned)uid);
}

/*
 * Checks directory dir (its status st) by the trust rule of
 * deploy_files.h.  A directory others may write is let through only
 * when it is sticky and not the files' own (last): in /tmp another user
 * can make names of their own, but not rename or remove the directory
 * under it, whose owner is checked next.
 */
static int
dir_trusted(const char *path, const char *dir, const struct stat *st, int last,
    const struct cf_dfile_trust *t, struct cf_error *err)
{
	int group_ok =
	    st->st_gid == 0 || (t->gid != (gid_t)-1 && st->st_gid == t->gid);
	char who[96];

	if (st->st_uid != 0 && st->st_uid != geteuid() &&
	    (t->uid == (uid_t)-1 || st->st_uid != t->uid)) {
		user_name(st->st_uid, who, sizeof(who));
		return cf_errorf(err, CF_E_DENIED,
		    "%s: refused: %s belongs to %s, who could swap the files; "
		    "chown root %s, or set owner = to that user if the "
		    "service runs as it",
		    path, dir, who, dir);
	}
	if (!last && (st->st_mode & S_ISVTX))
		return 0;
	if (st->st_mode & S_IWOTH)
		return cf_errorf(err, CF_E_DENIED,
		    "%s: refused: every user may write in %s and could swap "
		    "the files; chmod o-w %s",
		    path, dir, dir);
	if ((st->st_mode & S_IWGRP) && !group_ok)
		return cf_errorf(err, CF_E_DENIED,
		    "%s: refused: group %u may write in %s and could swap "
		    "the files; chmod g-w %s, or set group = to that group",
		    path, (unsigned)st->st_gid, dir, dir);
	return 0;
}

/* The refusal of a link at prefix (the first len bytes of path). */
static int
link_refused(const char *path, size_t len, struct cf_error *err)
{
	return cf_errorf(err, CF_E_DENIED,
	    "%s: refused: %.*s is a symbolic link; certfleet follows no "
	    "link in a service's paths: name the real file (readlink -f)",
	    path, (int)len, path);
}

/*
 * Opens the directory of path one component at a time from "/" (or "."
 * for a relative path), each with O_NOFOLLOW relative to the one before,
 * checking each by trust when trust is not NULL.  The directory fd
 * (read-only, for fsync and openat), its file name in *name (lent, in
 * path); -2 with err when a directory does not exist, -1 otherwise.
 */
static int
open_dir(const char *path, const struct cf_dfile_trust *trust,
    const char **name, struct cf_error *err)
{
	const char *p = path, *q, *end, *slash = strrchr(path, '/');
	char *comp = NULL, *dir = NULL;
	struct stat st;
	int fd, next, last, e, missing = 0, dfd = -1;

	*name = slash ? slash + 1 : path;
	if (**name == '\0' || strcmp(*name, ".") == 0 ||
	    strcmp(*name, "..") == 0)
		return cf_errorf(err, CF_E_USAGE, "%s: not a file", path);
	if ((fd = open(path[0] == '/' ? "/" : ".",
		 O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	for (;;) { /* fd is the directory path[0, p) */
		for (q = p; *q == '/'; q++)
			;
		last = q >= *name;
		if (trust != NULL) {
			free(dir);
			dir = p == path
				  ? xstrdup(path[0] == '/' ? "/" : ".")
				  : xasprintf("%.*s", (int)(p - path), path);
			if (fstat(fd, &st) == -1) {
				cf_errorf(err, CF_E_IO, "%s: %s: %s", path, dir,
				    strerror(errno));
				goto out;
			}
			if (dir_trusted(path, dir, &st, last, trust, err) == -1)
				goto out;
		}
		if (last)
			break;
		end = strchr(q, '/'); /* not NULL: q is before the name */
		free(comp);
		comp = xasprintf("%.*s", (int)(end - q), q);
		next = openat(
		    fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1) {
			e = errno;
			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				link_refused(path, (size_t)(end - path), err);
			else
				cf_errorf(
				    err, CF_E_IO, "%s: %s", path, strerror(e));
			missing = e == ENOENT;
			goto out;
		}
		close(fd);
		fd = next;
		p = end;
	}
	/* Read-only, not O_PATH: fsync needs it. */
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
out:
	close(fd);
	free(comp);
	free(dir);
	return missing ? -2 : dfd;
}

/*
 * Reads name in dfd with O_NOFOLLOW (a link is refused) and O_NONBLOCK
 * (a FIFO put there must not hang the agent), then one buffer sized from
 * fstat: no realloc leaves a copy of a key in freed memory.
 */
static int
read_at(int dfd, const char *name, const char *path, struct cf_secret **out,
    struct stat *st, struct cf_error *err)
{
	struct cf_secret *s = NULL;
	size_t cap;
	ssize_t n;
	int fd = -1, rc = -1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1 && errno == ELOOP)
		return link_refused(path, strlen(path), err);
	if (fd == -1)
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
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
	if ((n = cf_read_all(fd, s->data, cap)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	s->len = (size_t)n;
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
cf_dfile_read(const char *path, const struct cf_dfile_trust *trust,
    struct cf_secret **out, struct stat *st, struct cf_error *err)
{
	const char *name;
	int dfd, rc;

	*out = NULL;
	if ((dfd = open_dir(path, trust, &name, err)) < 0)
		return dfd == -2 ? 0 : -1; /* no directory: no file either */
	rc = read_at(dfd, name, path, out, st, err);
	close(dfd);
	return rc;
}

int
cf_dfile_save(const char *path, const struct cf_dfile_trust *trust,
    struct cf_dfile *f, struct cf_error *err)
{
	struct stat st;
	int r;

	memset(f, 0, sizeof(*f));
	f->path = path;
	f->trust = *trust;
	if ((r = cf_dfile_read(path, trust, &f->bytes, &st, err)) == -1)
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

/*
 * The directory is opened again for every write: what was checked when
 * the files were saved may have changed since, and is checked again.
 */
int
cf_dfile_write(const char *path, const struct cf_dfile_trust *trust,
    const void *data, size_t len, unsigned mode, uid_t uid, gid_t gid,
    struct cf_error *err)
{
	const char *name;
	int dfd, rc;

	if ((dfd = open_dir(path, trust, &name, err)) < 0)
		return -1;
	rc = cf_write_file_at(dfd, name, path, data, len, mode, uid, gid, err);
	close(dfd);
	return rc;
}

/*
 * A file that existed gets its bytes, mode and owner back: what it was,
 * so nothing is given to its owner that they did not have.  One that did
 * not is removed (unlinkat removes a link put there, not its target);
 * the directory is synced then too.
 */
int
cf_dfile_restore(const struct cf_dfile *f, struct cf_error *err)
{
	const char *name;
	int dfd, rc = -1;

	if (f->path == NULL)
		return 0;
	if (f->existed)
		return cf_dfile_write(f->path, &f->trust, f->bytes->data,
		    f->bytes->len, f->mode, f->uid, f->gid, err);
	if ((dfd = open_dir(f->path, &f->trust, &name, err)) < 0)
		return dfd == -2 ? 0 : -1; /* nothing there to remove */
	if (unlinkat(dfd, name, 0) == -1) {
		if (errno == ENOENT) /* never written: nothing to sync */
			rc = 0;
		else
			cf_errorf(err, CF_E_IO, "%s: remove: %s", f->path,
			    strerror(errno));
		goto out;
	}
	if (fsync(dfd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: sync its directory: %s", f->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}
