/*
 * deploy_files.h - the files of one deployment (internal to deploy.c):
 * read without leaving copies of a key behind, saved as they were,
 * written atomically with mode and owner, and put back.
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

/* One file as it was before a deployment, to put it back. */
struct cf_dfile {
	const char *path;        /* lent (the service's); NULL: not used */
	int existed;             /* 0: restoring removes it */
	struct cf_secret *bytes; /* what it held; NULL when it did not exist */
	unsigned mode;           /* permission bits, 07777 */
	uid_t uid;
	gid_t gid;
};

/*
 * Reads the regular file path (at most CF_DFILE_MAX bytes) into a new
 * secret *out (caller frees) and its status into *st.  1 when read, 0
 * when it does not exist (*out NULL), -1 with err otherwise.
 */
int cf_dfile_read(const char *path, struct cf_secret **out, struct stat *st,
    struct cf_error *err);

/* Saves path as it is now into f (cleared first; f->path = path). */
int cf_dfile_save(const char *path, struct cf_dfile *f, struct cf_error *err);

/*
 * Writes len bytes of data to path atomically with mode, owned by uid and
 * gid ((uid_t)-1 / (gid_t)-1: the agent's).  On failure path is untouched.
 */
int cf_dfile_write(const char *path, const void *data, size_t len,
    unsigned mode, uid_t uid, gid_t gid, struct cf_error *err);

/*
 * Puts f back as saved: its bytes, mode and owner, or removes the file
 * when it did not exist.  A file without a path is left alone.
 */
int cf_dfile_restore(const struct cf_dfile *f, struct cf_error *err);

void cf_dfile_clear(struct cf_dfile *f); /* wipes the saved bytes */

#endif
