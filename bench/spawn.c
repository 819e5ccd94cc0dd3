/*
 * spawn.c - time one run of a command the way a lean caller starts it.
 *
 *   spawn COMMAND [ARGS...]
 *
 * Starts COMMAND with posix_spawnp (a vfork: the caller's pages are not
 * copied), its standard output on /dev/null and its standard error
 * inherited, and waits for it.  Prints "WALL CPU" in milliseconds on its
 * own standard output: wall clock (CLOCK_MONOTONIC) from just before the
 * spawn to the reaping, CPU (user + system) of the command and of every
 * process it waited for, from wait4.  Exits with the command's status
 * (128 + the signal when one killed it) and prints no time then, so a
 * failing run cannot pass for a fast one.
 *
 * Why: bash forks a copy of itself before it execs a command, and on this
 * VM that fork alone costs more than the 5 ms some figures are held to;
 * /bin/true timed by bash's `time` takes 6 ms, by this 2 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double
ms_tv(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid;
	int rc, status;

	if (argc < 2) {
		fprintf(stderr, "usage: spawn COMMAND [ARGS...]\n");
		return 2;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(
		&fa, 1, "/dev/null", O_WRONLY, 0) != 0) {
		fprintf(stderr, "spawn: out of memory\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ);
	if (rc != 0) {
		fprintf(stderr, "spawn: %s: %s\n", argv[1], strerror(rc));
		return 127;
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "spawn: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	posix_spawn_file_actions_destroy(&fa);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WEXITSTATUS(status) != 0)
		return WEXITSTATUS(status);
	printf("%.1f %.1f\n",
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    ms_tv(ru.ru_utime) + ms_tv(ru.ru_stime));
	return 0;
}
