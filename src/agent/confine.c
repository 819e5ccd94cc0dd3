/*
 * confine.c - what the network process of `certfleetd run` gives up
 * once it listens: see confine.h.
 *
 * Two layers, each useful without the other.  Capabilities: the bounding
 * set, the ambient, permitted, effective and inheritable sets emptied,
 * and no_new_privs, so that the process keeps uid 0's ownership of
 * root's files and nothing more: no DAC override, no chown, no kill or
 * ptrace of another user's processes, no raw sockets, no binding below
 * 1024 again.  Landlock (Linux 5.13 and later, when the kernel has it
 * enabled): the file system becomes read-only and invisible except what
 * a reload and a stop need, so uid 0's ownership of the state directory
 * no longer opens the master key, the store or the identity key.
 * A kernel without Landlock leaves the first layer only, said once in
 * the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "util.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* The rights Landlock ABI abi knows, all of them handled (denied unless
 * a rule allows). */
static unsigned long long
fs_rights(long abi)
{
	unsigned long long r = (1ULL << 13) - 1; /* ABI 1: bits 0 to 12 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Allows rights beneath path (a path that does not exist is skipped:
 * nothing to allow). */
static int
allow(int ruleset, const char *path, unsigned long long rights,
    struct cf_error *err)
{
	struct landlock_path_beneath_attr pb;
	int rc = 0;

	if (path == NULL)
		return 0;
	if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return 0;
	pb.allowed_access = rights;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		&pb, 0) == -1)
		rc = cf_errorf(err, CF_E_INTERNAL, "landlock rule for %s: %s",
		    path, strerror(errno));
	close(pb.parent_fd);
	return rc;
}

/* The directory of path, new; NULL for NULL. */
static char *
dir_of(const char *path)
{
	char *d, *slash;

	if (path == NULL)
		return NULL;
	d = xstrdup(path);
	if ((slash = strrchr(d, '/')) == NULL) {
		free(d);
		return xstrdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* What getaddrinfo reads to resolve a name (glibc's files and dns
 * modules are part of libc: no module to load). */
static const char *const resolver_files[] = {"/etc/hosts", "/etc/resolv.conf",
    "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"};

/* Landlock, when the kernel has it: 1 when in force, 0 when the kernel
 * has none, -1 with err. */
static int
landlock(const char *socket, int resolve, struct cf_error *err)
{
	size_t i;
	struct landlock_ruleset_attr attr;
	char *sock = dir_of(socket);
	long abi;
	int fd = -1, rc = -1;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		rc = 0;
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = fs_rights(abi);
	if ((fd = (int)syscall(
		 SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) == -1) {
		cf_errorf(err, CF_E_INTERNAL, "landlock: %s", strerror(errno));
		goto out;
	}
	if (allow(fd, sock, LANDLOCK_ACCESS_FS_REMOVE_FILE, err) == -1)
		goto out;
	/* Files take file rights only; a symbolic link (resolv.conf often
	 * is one) is followed to what it names. */
	for (i = 0; resolve && i < sizeof(resolver_files) / sizeof(char *); i++)
		if (allow(fd, resolver_files[i], LANDLOCK_ACCESS_FS_READ_FILE,
			err) == -1)
			goto out;
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		cf_errorf(err, CF_E_INTERNAL, "landlock: %s", strerror(errno));
		goto out;
	}
	rc = 1;
out:
	if (fd != -1)
		close(fd);
	free(sock);
	return rc;
}

/* Every capability gone, for good.  The bounding set needs CAP_SETPCAP
 * to shrink: an agent started without it (not as root) has none to
 * drop from its other sets either. */
static int
drop_capabilities(struct cf_error *err)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	int cap, setpcap;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == -1)
		return cf_errorf(err, CF_E_INTERNAL, "reading capabilities: %s",
		    strerror(errno));
	setpcap = (d[0].effective & (1u << CAP_SETPCAP)) != 0;
	for (cap = 0; setpcap && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0;
	     cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			return cf_errorf(err, CF_E_INTERNAL,
			    "dropping capability %d from the bounding set: %s",
			    cap, strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "dropping capabilities: %s", strerror(errno));
	return 0;
}

int
confine_network(const char *socket, int resolve, struct cf_error *err)
{
	int ll;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return cf_errorf(
		    err, CF_E_INTERNAL, "no_new_privs: %s", strerror(errno));
	if ((ll = landlock(socket, resolve, err)) == -1 ||
	    drop_capabilities(err) == -1)
		return -1;
	if (ll == 0)
		fprintf(stderr,
		    "certfleetd: this kernel has no Landlock: the network "
		    "process keeps no capability, but root's files stay "
		    "open to it\n");
	return 0;
}
