/*
 * deploy_files.h - the files of one deployment (internal to deploy.c and
 * the readers of what is on disk): read without leaving copies of a key
 * behind, saved as they were, written atomically with mode and owner,
 * and put back.
 *
 * A service's directory may belong to a user other than root (the
 * service's own), who must not be able to make the agent write a key
 * where they can read it, or write anywhere else.  So every path is
 * walked from "/" one component at a time, each opened relative to the
 * one before with O_NOFOLLOW: a symbolic link anywhere in it, the file
 * itself included, is refused, never followed.  Writing also checks
 * every directory on the way (the trust rule): owned by root, the
 * agent's user or the section's owner; not writable by any other user,
 * except a sticky directory such as /tmp above one that is.  Files are
 * created new (O_EXCL) in the directory fd and renamed into place:
 * neither an inode nor an owner is taken over from what was there.
 */
#ifndef CF_DEPLOY_FILES_H
#define CF_DEPLOY_FILES_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "util.h"

/* Certificate and key files are small: a larger one is refused. */
#define CF_DFILE_MAX (1024 * 1024)

/*
 * Who besides root and the agent's own user may own or write the
 * directories of a service's files: the section's owner and group.
 */
struct cf_dfile_trust {
	uid_t uid; /* (uid_t)-1: nobody else */
	gid_t gid; /* (gid_t)-1: no group but root's */
};

/* One file as it was before a deployment, to put it back. */
struct cf_dfile {
	const char *path;            /* lent (the service's); NULL: not used */
	struct cf_dfile_trust trust; /* what the directories were checked by */
	int existed;                 /* 0: restoring removes it */
	struct cf_secret *bytes; /* what it held; NULL when it did not exist */
	unsigned mode;           /* permission bits, 07777 */
	uid_t uid;
	gid_t gid;
};

/*
 * Reads the regular file path (at most CF_DFILE_MAX bytes) into a new
 * secret *out (caller frees) and its status into *st, following no link.
 * trust NULL: the directories are not checked (reading what a service
 * has, for `services`).  1 when read, 0 when it does not exist (*out
 * NULL), -1 with err otherwise (a link: "... is a symbolic link").
 */
int cf_dfile_read(const char *path, const struct cf_dfile_trust *trust,
    struct cf_secret **out, struct stat *st, struct cf_error *err);

/*
 * Saves path as it is now into f (cleared first; f->path = path),
 * checking its directories by trust: before anything is written, a
 * directory that breaks the rule is refused with what to fix.
 */
int cf_dfile_save(const char *path, const struct cf_dfile_trust *trust,
    struct cf_dfile *f, struct cf_error *err);

/*
 * Writes len bytes of data to path atomically with mode, owned by uid and
 * gid ((uid_t)-1 / (gid_t)-1: the agent's), never through a link, into
 * directories that pass trust.  On failure path is untouched.
 */
int cf_dfile_write(const char *path, const struct cf_dfile_trust *trust,
    const void *data, size_t len, unsigned mode, uid_t uid, gid_t gid,
    struct cf_error *err);

/*
 * Puts f back as saved: its bytes, mode and owner, or removes the file
 * when it did not exist.  A file without a path is left alone.
 */
int cf_dfile_restore(const struct cf_dfile *f, struct cf_error *err);

void cf_dfile_clear(struct cf_dfile *f); /* wipes the saved bytes */

#endif
