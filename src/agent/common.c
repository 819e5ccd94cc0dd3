/* common.c - configuration, state and failures of the subcommands:
 * see agent.h. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

struct agent_config *
agent_open_config(
    const char *op, const char *opt, const char **path, int *explicit)
{
	struct agent_config *c;
	struct cf_error err;
	const char *file;
	int expl;

	cf_error_clear(&err);
	file = agent_config_path(opt, &expl);
	if (path != NULL)
		*path = file;
	if (explicit != NULL)
		*explicit = expl;
	if ((c = agent_config_load(file, expl, &err)) == NULL)
		agent_fail(op, &err);
	return c;
}

int
agent_initialized(const char *op, const struct agent_config *c)
{
	char *key = agent_state_path(c, AGENT_KEY_FILE);
	char *crt = agent_state_path(c, AGENT_CERT_FILE);
	char *db =
	    xasprintf("%s/%s/%s", c->state, AGENT_STORE_DIR, CF_STORE_DB);
	const char *missing = NULL;

	if (access(crt, F_OK) != 0)
		missing = crt;
	else if (access(key, F_OK) != 0)
		missing = key;
	else if (access(db, F_OK) != 0)
		missing = db;
	if (missing != NULL)
		fprintf(stderr,
		    "certfleetd: %s: %s is missing: the agent is not "
		    "initialized; run certfleetd init%s%s first\n",
		    op, missing, c->file ? " --config " : "",
		    c->file ? c->file : "");
	free(key);
	free(crt);
	free(db);
	return missing == NULL;
}

int
agent_make_state_dir(const char *dir, struct cf_error *err)
{
	char *p = xstrdup(dir), *s;
	struct stat st;
	int rc = -1;

	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			cf_errorf(err, CF_E_IO, "%s: %s", p, strerror(errno));
			goto out;
		}
		*s = '/';
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		cf_errorf(err, CF_E_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cf_errorf(err, CF_E_IO, "%s: not a directory", dir);
		goto out;
	}
	if ((st.st_mode & 077) != 0 && st.st_uid == geteuid() &&
	    chmod(dir, 0700) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

struct cf_store *
agent_open_store(const char *op, const struct agent_config *c)
{
	struct cf_error err;
	struct cf_store *s;
	char *dir;

	if (!agent_initialized(op, c))
		return NULL;
	cf_error_clear(&err);
	dir = agent_state_path(c, AGENT_STORE_DIR);
	if ((s = cf_store_open_existing(dir, &err)) == NULL)
		agent_fail(op, &err);
	free(dir);
	return s;
}

const char *
agent_local_actor(void)
{
	static char actor[128];

	if (actor[0] == '\0')
		cf_local_actor(actor, sizeof(actor));
	return actor;
}

int
agent_fail(const char *op, const struct cf_error *err)
{
	fprintf(stderr, "certfleetd: %s: %s\n", op, err->msg);
	return err->code == CF_E_USAGE ? 2 : 1;
}

int
agent_usage(const char *op, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "certfleetd: %s: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(certfleetd %s --help shows the usage)\n", op);
	return 2;
}

int
agent_bad_option(const char *op, int c, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return agent_usage(
		    op, "option %s is missing its argument", opt);
	if (strncmp(opt, "--", 2) == 0 || optopt == 0)
		return agent_usage(op, "unknown option %s", opt);
	return agent_usage(op, "unknown option -%c", optopt);
}
