/*
 * service_who.c - who a service's files belong to and who its commands
 * run as: the owner, group, run_as and env keys of a [service NAME]
 * section (service.c parses the rest).  Names are looked up in the
 * host's user and group databases when the section is read, so a
 * missing user is an error at start, not at the first deploy.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "service_int.h"
#include "util.h"

/* Frees a NULL-terminated "NAME=VALUE" list; NULL-safe. */
void
service_env_free(char **env)
{
	size_t i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

int
service_set_owner(struct cf_service *s, const char *v, struct cf_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long id;

	errno = 0;
	id = strtoul(v, &end, 10);
	if (*end == '\0' && errno == 0 && id < 0xFFFFFFFFul) {
		s->uid = (uid_t)id;
		return 0;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return cf_errorf(
		    err, CF_E_USAGE, "owner %s: no such user on this host", v);
	s->uid = pw.pw_uid;
	return 0;
}

int
service_set_group(struct cf_service *s, const char *v, struct cf_error *err)
{
	struct group gr, *res = NULL;
	char buf[8192], *end;
	unsigned long id;

	errno = 0;
	id = strtoul(v, &end, 10);
	if (*end == '\0' && errno == 0 && id < 0xFFFFFFFFul) {
		s->gid = (gid_t)id;
		return 0;
	}
	if (getgrnam_r(v, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return cf_errorf(
		    err, CF_E_USAGE, "group %s: no such group on this host", v);
	s->gid = gr.gr_gid;
	return 0;
}

/*
 * The user commands run as (run_as): a name, or a number with a name in
 * the password database, which initgroups needs.
 */
int
service_set_run_as(struct cf_service *s, const char *v, struct cf_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long id;
	int r;

	errno = 0;
	id = strtoul(v, &end, 10);
	if (*end == '\0' && errno == 0 && id < 0xFFFFFFFFul)
		r = getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res);
	else
		r = getpwnam_r(v, &pw, buf, sizeof(buf), &res);
	if (r != 0 || res == NULL)
		return cf_errorf(
		    err, CF_E_USAGE, "run_as %s: no such user on this host", v);
	s->run_as = xstrdup(pw.pw_name);
	s->run_uid = pw.pw_uid;
	s->run_gid = pw.pw_gid;
	return 0;
}

#define MAX_ENV 32

/* 1 when the n bytes at p are a variable name: [A-Za-z_][A-Za-z0-9_]*. */
static int
env_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || isdigit((unsigned char)p[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_')
			return 0;
	return 1;
}

/*
 * env = NAME=VALUE ...: entries separated by blanks; a value with blanks
 * in double quotes (NAME="a b"), no escapes.  A value may be a secret
 * (a token for a reload): messages name the entry, never its value.
 */
int
service_set_env(struct cf_service *s, const char *v, struct cf_error *err)
{
	const char *p = v, *eq, *val, *end;
	char **env = xcalloc(MAX_ENV + 1, sizeof(*env));
	size_t n = 0, i, vlen;
	int rc = -1;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		eq = p + strcspn(p, "= \t");
		if (*eq != '=' || !env_name_ok(p, (size_t)(eq - p))) {
			cf_errorf(err, CF_E_USAGE,
			    "env: entry %zu: give NAME=VALUE entries separated "
			    "by spaces (NAME: letters, digits and _)",
			    n + 1);
			goto out;
		}
		val = eq + 1;
		if (*val == '"') {
			if ((end = strchr(val + 1, '"')) == NULL) {
				cf_errorf(err, CF_E_USAGE,
				    "env: %.*s: the quote is not closed",
				    (int)(eq - p), p);
				goto out;
			}
			val++;
			vlen = (size_t)(end - val);
			end++;
		} else {
			vlen = strcspn(val, " \t");
			end = val + vlen;
		}
		for (i = 0; i < n; i++)
			if (strncmp(env[i], p, (size_t)(eq - p) + 1) == 0)
				break;
		if (i < n) {
			cf_errorf(err, CF_E_USAGE, "env: %.*s is given twice",
			    (int)(eq - p), p);
			goto out;
		}
		if (n == MAX_ENV) {
			cf_errorf(err, CF_E_USAGE, "env: more than %d entries",
			    MAX_ENV);
			goto out;
		}
		env[n++] =
		    xasprintf("%.*s%.*s", (int)(eq - p + 1), p, (int)vlen, val);
		p = end;
	}
	service_env_free(s->env);
	s->env = env;
	env = NULL;
	rc = 0;
out:
	service_env_free(env);
	return rc;
}
