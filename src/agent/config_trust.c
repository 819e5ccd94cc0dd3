/*
 * config_trust.c - whether the agent may believe its configuration file:
 * its [service] commands run as the agent's user, root, so a file that
 * another user could have written, or replaced through a directory above
 * it, is refused, as sshd refuses its own.
 */
#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/*
 * Whether st, of what name is, may be trusted by whoever runs the agent:
 * owned by root or by that user, and writable by no one else (a sticky
 * directory, as /tmp, excepted: no one else can replace what is in it).
 */
static int
path_trusted(const char *name, const struct stat *st, struct cf_error *err)
{
	uid_t me = geteuid();
	struct passwd *pw;
	const char *runs = me == 0 ? "root" : "this user";
	char owner[64];

	if (st->st_uid != 0 && st->st_uid != me) {
		if ((pw = getpwuid(st->st_uid)) != NULL)
			snprintf(owner, sizeof(owner), "%s", pw->pw_name);
		else
			snprintf(owner, sizeof(owner), "uid %u",
			    (unsigned)st->st_uid);
		return cf_errorf(err, CF_E_DENIED,
		    "%s: owned by %s, who could change the commands the "
		    "agent runs as %s: refused; fix with chown root %s",
		    name, owner, runs, name);
	}
	if ((st->st_mode & 022) != 0 &&
	    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0))
		return cf_errorf(err, CF_E_DENIED,
		    "%s: writable by group or others (mode %04o), who could "
		    "change the commands the agent runs as %s: refused; fix "
		    "with chmod go-w %s",
		    name, (unsigned)(st->st_mode & 07777), runs, name);
	return 0;
}

/*
 * The [service] commands run as the agent's user, root: as sshd does
 * with its configuration, refuse a file that another user could have
 * written, or could replace through a directory above it.
 */
int
agent_config_trusted(FILE *f, const char *file, struct cf_error *err)
{
	struct stat st;
	char *dir = NULL, *up;
	int rc = -1;

	if (fstat(fileno(f), &st) == -1)
		return cf_errorf(err, CF_E_IO, "%s: %s", file, strerror(errno));
	if (path_trusted(file, &st, err) == -1)
		return -1;
	dir = xstrdup(file);
	for (;;) {
		up = xstrdup(dirname(dir));
		free(dir);
		dir = up;
		if (stat(dir, &st) == -1) {
			cf_errorf(err, CF_E_IO, "%s: %s", dir, strerror(errno));
			goto out;
		}
		if (path_trusted(dir, &st, err) == -1)
			goto out;
		if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
			break;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}
