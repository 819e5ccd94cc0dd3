/*
 * deploy_cmd.c - running a service's config test or reload command, with
 * a timeout, keeping the end of its output for the message: see
 * cf_run_command in deploy.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deploy.h"
#include "util.h"

#define TAIL_KEEP 2048 /* bytes of a command's output kept for messages */

/* The last bytes a command wrote. */
struct tail {
	char buf[2 * TAIL_KEEP];
	size_t len;
};

/* Reads what fd has into t, keeping the last TAIL_KEEP bytes; 0 at EOF. */
static int
tail_read(int fd, struct tail *t)
{
	ssize_t n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);

	if (n == -1)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	t->len += (size_t)n;
	if (t->len > TAIL_KEEP) {
		memmove(t->buf, t->buf + t->len - TAIL_KEEP, TAIL_KEEP);
		t->len = TAIL_KEEP;
	}
	return 1;
}

/*
 * The last one or two non-blank lines of t, "earlier / last", control
 * characters made spaces, into out ("" when there are none).  The
 * earlier line is cut short first: the last one usually says why.
 */
static void
tail_summary(const struct tail *t, char *out, size_t size)
{
	const char *line[2] = {NULL, NULL};
	int llen[2] = {0, 0}, n = 0;
	size_t end = t->len, start, a, b;
	char *p;

	while (end > 0 && n < 2) {
		for (start = end; start > 0 && t->buf[start - 1] != '\n';)
			start--;
		for (a = start, b = end;
		     a < b && isspace((unsigned char)t->buf[a]);)
			a++;
		while (b > a && isspace((unsigned char)t->buf[b - 1]))
			b--;
		if (b > a) {
			line[n] = t->buf + a;
			llen[n++] = (int)(b - a);
		}
		end = start > 0 ? start - 1 : 0;
	}
	if (n == 2)
		snprintf(out, size, "%.*s / %.*s",
		    llen[1] < 120 ? llen[1] : 120, line[1], llen[0], line[0]);
	else
		snprintf(out, size, "%.*s", llen[0], n ? line[0] : "");
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/*
 * fd moved to 3 or above (close-on-exec), so the child's dup2 onto 0-2
 * cannot overwrite one of its own sources when the agent runs with a
 * standard descriptor closed.
 */
static int
high_fd(int fd)
{
	int h;

	if (fd == -1 || fd > STDERR_FILENO)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return h;
}

/*
 * What a command runs as: its environment and, with run_as, the user,
 * group and supplementary groups it drops to.  Made before the fork,
 * where the agent may allocate and read the group database.
 */
struct runas {
	char **envp; /* NULL-terminated; the strings are lent */
	int drop;    /* 1: become uid/gid with groups */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* The fixed part of every command's environment. */
#define CMD_PATH                                                               \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CMD_LANG "LANG=C.UTF-8"

/* 1 when svc's env names the variable of entry ("NAME=..."). */
static int
env_names(const struct cf_service *svc, const char *entry)
{
	size_t i, n = strcspn(entry, "=") + 1;

	for (i = 0; svc != NULL && svc->env != NULL && svc->env[i]; i++)
		if (strncmp(svc->env[i], entry, n) == 0)
			return 1;
	return 0;
}

/*
 * A clean environment, not the agent's (which may hold a password or a
 * cloud credential): PATH and LANG, unless the section names them, and
 * the section's env.  With run_as, the user's groups as initgroups would
 * set them (getgrouplist: the child may not read files).
 */
static int
runas_make(const struct cf_service *svc, const char *what, struct runas *ra,
    struct cf_error *err)
{
	size_t n = 0, i;
	gid_t one;
	int ng;

	memset(ra, 0, sizeof(*ra));
	for (i = 0; svc != NULL && svc->env != NULL && svc->env[i]; i++)
		;
	ra->envp = xcalloc(i + 3, sizeof(*ra->envp));
	if (!env_names(svc, CMD_PATH))
		ra->envp[n++] = (char *)CMD_PATH;
	if (!env_names(svc, CMD_LANG))
		ra->envp[n++] = (char *)CMD_LANG;
	for (i = 0; svc != NULL && svc->env != NULL && svc->env[i]; i++)
		ra->envp[n++] = svc->env[i];
	if (svc == NULL || svc->run_as == NULL)
		return 0;
	if (geteuid() != 0 && svc->run_uid != geteuid())
		return cf_errorf(err, CF_E_DENIED,
		    "%s: run_as %s: the agent does not run as root, so it "
		    "cannot run commands as another user",
		    what, svc->run_as);
	ra->drop = 1;
	ra->uid = svc->run_uid;
	ra->gid = svc->run_gid;
	/* The first call, with room for one, tells how many there are. */
	ng = 1;
	(void)getgrouplist(svc->run_as, svc->run_gid, &one, &ng);
	ra->groups = xcalloc((size_t)ng + 1, sizeof(*ra->groups));
	ra->ngroups = ng + 1;
	if (getgrouplist(svc->run_as, svc->run_gid, ra->groups, &ra->ngroups) ==
	    -1)
		return cf_errorf(err, CF_E_IO,
		    "%s: run_as %s: cannot read its groups", what, svc->run_as);
	return 0;
}

static void
runas_clear(struct runas *ra)
{
	free(ra->envp);
	free(ra->groups);
	memset(ra, 0, sizeof(*ra));
}

/* Writes msg to the command's output (the pipe) and exits 126. */
static void
child_fail(const char *msg)
{
	(void)!write(STDERR_FILENO, msg, strlen(msg));
	_exit(126);
}

/*
 * The child between fork and exec: async-signal-safe calls only, as
 * another thread of the agent may have held a lock at the fork.  Its own
 * process group, so a timeout kills whatever the command started; the
 * agent's blocked signals and ignored SIGPIPE are not passed on.  It runs
 * in /, with ra's environment, as ra's user when it drops: groups first,
 * then the group, then the user, after which it cannot come back.
 */
static void
exec_child(int in, int out, char *const argv[], const sigset_t *none,
    const struct runas *ra)
{
	(void)setpgid(0, 0);
	(void)signal(SIGPIPE, SIG_DFL);
	(void)sigprocmask(SIG_SETMASK, none, NULL);
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1)
		_exit(126);
	(void)close_range(STDERR_FILENO + 1, ~0U, 0);
	if (chdir("/") == -1)
		child_fail("certfleet: cannot change to /\n");
	if (ra->drop && (setgroups((size_t)ra->ngroups, ra->groups) == -1 ||
			    setgid(ra->gid) == -1 || setuid(ra->uid) == -1))
		child_fail("certfleet: run_as: cannot become the user\n");
	execve("/bin/sh", argv, ra->envp);
	_exit(127);
}

/*
 * Collects the child's output until it exits or the deadline passes.  It
 * asks waitpid between short polls rather than waiting for EOF: a daemon
 * the command started may hold the pipe open for ever.  1 when the child
 * exited (*status set), 0 at the deadline, -1 when it cannot wait.
 */
static int
collect(pid_t pid, int fd, long long deadline, struct tail *t, int *status)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	long long left;
	int reading = 1, i;
	pid_t w;

	for (;;) {
		if ((w = waitpid(pid, status, WNOHANG)) == pid) {
			for (i = 0; reading && i < 64 && poll(&p, 1, 0) > 0;
			     i++)
				reading = tail_read(fd, t);
			return 1;
		}
		if (w == -1 && errno != EINTR)
			return -1;
		if ((left = deadline - cf_now_ms()) <= 0)
			return 0;
		if (!reading)
			cf_sleep_ms(left < 5 ? left : 5);
		else if (poll(&p, 1, left < 20 ? (int)left : 20) > 0)
			reading = tail_read(fd, t);
	}
}

/* The message for a command that ended with status: -1, or 0 on exit 0. */
static int
command_status(
    const char *what, int status, const struct tail *t, struct cf_error *err)
{
	char out[320];

	tail_summary(t, out, sizeof(out));
	if (WIFSIGNALED(status))
		return cf_errorf(err, CF_E_IO, "%s killed by signal %d%s%s",
		    what, WTERMSIG(status), out[0] ? ": " : "", out);
	if (WEXITSTATUS(status) != 0)
		return cf_errorf(err, CF_E_IO, "%s failed (exit status %d)%s%s",
		    what, WEXITSTATUS(status), out[0] ? ": " : "", out);
	return 0;
}

/*
 * Runs cmd as deploy.h says.  Thread-safe: no global state, descriptors
 * close-on-exec so a concurrent fork elsewhere does not inherit them,
 * and the child waited for by its pid (an agent must not reap children
 * with waitpid(-1) or ignore SIGCHLD).
 */
int
cf_run_command(const char *what, const char *cmd, const struct cf_service *svc,
    int timeout_ms, struct cf_error *err)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	struct tail *t = xcalloc(1, sizeof(*t));
	int fds[2] = {-1, -1}, in = -1, status = 0, r, rc = -1;
	struct runas ra;
	sigset_t none;
	pid_t pid;

	if (timeout_ms <= 0)
		timeout_ms = CF_DEPLOY_TIMEOUT_MS;
	sigemptyset(&none);
	if (runas_make(svc, what, &ra, err) == -1)
		goto out;
	if (pipe2(fds, O_CLOEXEC) == -1 ||
	    (in = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (in = high_fd(in)) == -1 || (fds[1] = high_fd(fds[1])) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", what, strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		cf_errorf(err, CF_E_IO, "%s: fork: %s", what, strerror(errno));
		goto out;
	}
	if (pid == 0)
		exec_child(in, fds[1], argv, &none, &ra);
	(void)setpgid(pid, pid); /* as the child does: whichever runs first */
	close(fds[1]);
	fds[1] = -1;
	r = collect(pid, fds[0], cf_now_ms() + timeout_ms, t, &status);
	if (r == 0) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		cf_errorf(
		    err, CF_E_IO, "%s timed out after %d ms", what, timeout_ms);
		goto out;
	}
	if (r == -1) {
		cf_errorf(err, CF_E_IO, "%s: wait: %s", what, strerror(errno));
		goto out;
	}
	rc = command_status(what, status, t, err);
out:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	if (in != -1)
		close(in);
	runas_clear(&ra);
	free(t);
	return rc;
}
