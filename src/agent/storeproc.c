/*
 * storeproc.c - the network process's side of the store process: start
 * it, talk to it, stop it.  See storeproc.h; the child is
 * store_serve.c.
 *
 * Exec, not fork, as for the parser: a forked child would share
 * nothing useful and the network process's memory (its TLS key) would
 * be copied into the one that holds the master key, and the other way
 * round later.  /proc/self/exe is the binary the agent runs, even after
 * an upgrade replaced the file, so both ends speak the same messages.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storeproc.h"
#include "util.h"

extern char **environ;

struct storeproc_chan {
	int fd;
};

struct storeproc {
	pid_t pid;
	int n;
	struct storeproc_chan *ch;
};

pid_t
storeproc_pid(const struct storeproc *sp)
{
	return sp->pid;
}

struct storeproc_chan *
storeproc_chan(struct storeproc *sp, int i)
{
	return &sp->ch[i];
}

/* posix_spawn of `certfleetd store` with the n fds of keep at fds
 * STOREPROC_FD0.., default signals and the agent's environment. */
static int
spawn_store(struct storeproc *sp, const int *keep, int n, const char *cfg_path,
    int cfg_explicit, struct cf_error *err)
{
	char chans[16];
	char *argv[] = {"certfleetd", "store", "--channels", chans,
	    cfg_explicit ? "--config" : NULL, (char *)cfg_path, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int i, e, tmp = STOREPROC_FD0 + n;

	snprintf(chans, sizeof(chans), "%d", sp->n);
	for (i = 0; i < n; i++)
		if (keep[i] >= tmp)
			tmp = keep[i] + 1;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	/* Two steps, through fds above every one of keep and every target,
	 * so that none is overwritten before it moved. */
	for (i = 0; i < n; i++)
		posix_spawn_file_actions_adddup2(&fa, keep[i], tmp + i);
	for (i = 0; i < n; i++)
		posix_spawn_file_actions_adddup2(
		    &fa, tmp + i, STOREPROC_FD0 + i);
	for (i = 0; i < n; i++)
		posix_spawn_file_actions_addclose(&fa, tmp + i);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(
	    &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	e = posix_spawn(&sp->pid, "/proc/self/exe", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e == 0)
		return 0;
	sp->pid = -1;
	return cf_errorf(err, CF_E_INTERNAL,
	    "could not start the store process: %s", strerror(e));
}

/* The child's first word: "ready", or "error" and why. */
static int
await_ready(struct storeproc *sp, struct cf_error *err)
{
	struct chan_msg m;
	int rc = -1;

	if (chan_recv(sp->ch[0].fd, &m, CHAN_MAX_REPLY) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "the store process ended before it was ready (see "
		    "its message above)");
	if (strcmp(chan_str(&m, 0), "ready") == 0)
		rc = 0;
	else
		cf_errorf(err, CF_E_INTERNAL, "%s", chan_str(&m, 1));
	chan_clear(&m);
	return rc;
}

struct storeproc *
storeproc_start(const char *cfg_path, int cfg_explicit, int nchan, int lock_fd,
    struct cf_error *err)
{
	struct storeproc *sp = xcalloc(1, sizeof(*sp));
	int *child = xcalloc((size_t)nchan + 1, sizeof(int)), sv[2], i, rc = -1;

	sp->pid = -1;
	sp->n = nchan;
	sp->ch = xcalloc((size_t)nchan, sizeof(*sp->ch));
	for (i = 0; i < nchan; i++)
		sp->ch[i].fd = child[i] = -1;
	for (i = 0; i < nchan; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ==
		    -1) {
			cf_errorf(err, CF_E_INTERNAL,
			    "socketpair for the store process: %s",
			    strerror(errno));
			goto out;
		}
		sp->ch[i].fd = sv[0];
		child[i] = sv[1];
	}
	child[nchan] = lock_fd;
	if (spawn_store(sp, child, nchan + 1, cfg_path, cfg_explicit, err) ==
	    -1)
		goto out;
	for (i = 0; i < nchan; i++) {
		close(child[i]);
		child[i] = -1;
	}
	rc = await_ready(sp, err);
out:
	for (i = 0; i < nchan; i++)
		if (child[i] != -1)
			close(child[i]);
	free(child);
	if (rc == -1) {
		storeproc_stop(sp, 10000);
		sp = NULL;
	}
	return sp;
}

int
storeproc_call(struct storeproc_chan *ch, const struct chan_msg *req,
    struct chan_msg *reply, struct cf_error *err)
{
	memset(reply, 0, sizeof(*reply));
	if (chan_send(ch->fd, req) == 0 &&
	    chan_recv(ch->fd, reply, CHAN_MAX_REPLY) == 0)
		return 0;
	return cf_errorf(err, CF_E_INTERNAL,
	    "the store process %s during this request (%s); certfleetd "
	    "stops, and its service manager starts it again: check with "
	    "certfleet log whether the change was made",
	    errno == EPROTO ? "answered nonsense" : "ended", strerror(errno));
}

void
storeproc_stop(struct storeproc *sp, long long ms)
{
	long long deadline = cf_now_ms() + ms;
	int i, status;
	pid_t r = 0;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->n; i++)
		if (sp->ch[i].fd != -1)
			close(sp->ch[i].fd);
	while (sp->pid > 0 && (r = waitpid(sp->pid, &status, WNOHANG)) == 0 &&
	       cf_now_ms() < deadline)
		cf_sleep_ms(20);
	if (sp->pid > 0 && r == 0)
		fprintf(stderr,
		    "certfleetd: the store process (pid %ld) still runs "
		    "after %lld s; leaving it to finish\n",
		    (long)sp->pid, ms / 1000);
	free(sp->ch);
	free(sp);
}
