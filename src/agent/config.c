/*
 * config.c - the agent's INI file, read with inih: see config.h.
 *
 * inih hands us key = value pairs but not line numbers (Debian builds it
 * without INI_HANDLER_LINENO), and it never calls the handler for an
 * empty section.  So the file is fed through our own line reader, which
 * counts lines, joins continued lines and checks every section header;
 * the handler then knows the line it is looking at.
 *
 * Long lines: Debian's libinih is built with a 200-byte line buffer on
 * the stack (INI_MAX_LINE), but takes its options at run time as well
 * (ini_use_stack, ini_allow_realloc, ini_max_line: a Debian patch; the
 * INI_* macros in ini.h change nothing in a library already built).  With
 * the buffer on the heap and allowed to grow, inih asks the reader for
 * more of a line while the buffer is full, so the reader hands it one
 * logical line at a time, in as many pieces as it takes, up to
 * AGENT_CONFIG_MAX_LINE; a longer one is refused here rather than split by
 * inih into two lines.
 *
 * Continuation: a line that ends in a backslash goes on on the next line,
 * as in systemd's unit files and the shell; the backslash and the line
 * break become one space.  A comment line never goes on.  inih's own multi-line
 * values (an indented line continues the value above) stay off: there an
 * indented key would silently become part of the value before it.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

/* Records the first error, at the current line; returns 0 for inih. */
int
config_bad(struct parse *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		cf_errorf(
		    p->err, CF_E_USAGE, "%s:%d: %s", p->file, p->first, msg);
		p->failed = 1;
	}
	return 0;
}

/* The directory part of path (freed), as a new string. */
static char *
dirname_dup(char *path)
{
	char *dir = xstrdup(dirname(path));

	free(path);
	return dir;
}

/*
 * check-config only, per service: whether the directories of its files
 * and its runtime API socket exist (enable would find out at the first
 * deployment).
 */
static int
strict_service(struct parse *p, const char *key)
{
	const char *path = NULL;
	char *dir;
	struct stat st;
	int ok;

	if (strcmp(key, "runtime_api") == 0) {
		path = p->svc->runtime_api;
		if (stat(path, &st) == -1)
			return config_bad(
			    p, "runtime_api %s: %s", path, strerror(errno));
		if (!S_ISSOCK(st.st_mode))
			return config_bad(
			    p, "runtime_api %s: not a socket", path);
		return 1;
	}
	if (strcmp(key, "chain") == 0)
		path = p->svc->chain;
	else if (strcmp(key, "key") == 0)
		path = p->svc->key;
	else if (strcmp(key, "pem") == 0)
		path = p->svc->pem;
	if (path == NULL)
		return 1;
	dir = dirname_dup(xstrdup(path));
	ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	if (!ok)
		config_bad(p, "%s %s: the directory %s does not exist", key,
		    path, dir);
	free(dir);
	return ok;
}

/* The blanks inih skips before a section header or a comment (isspace):
 * a header it sees must be one check_section saw. */
#define INI_BLANKS " \t\n\v\f\r"

/* inih's handler: one key = value of section. */
static int
on_pair(void *user, const char *section, const char *key, const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 1; /* report the first error only */
	if (strncmp(section, "service ", 8) == 0) {
		struct cf_error e;
		if (p->svc == NULL) /* a header inih and we read apart */
			return config_bad(
			    p, "[%s]: section header not understood", section);
		if (cf_service_set(p->svc, key, value, p->dir, &e) == -1)
			return config_bad(p, "%s", e.msg);
		return p->strict ? strict_service(p, key) : 1;
	}
	if (strcmp(section, "registry") == 0)
		return config_registry_key(p, key, value);
	if (strcmp(section, "agent") != 0) /* keys before any section */
		return config_bad(
		    p, "%s: keys belong in the [agent] section", key);
	return config_agent_key(p, key, value);
}

/*
 * Checks a section header: [agent], or [service NAME], which starts a
 * service (so an empty one, which inih never reports, is still seen).
 */
static int
check_section(struct parse *p, const char *line)
{
	const char *s = line + strspn(line, INI_BLANKS), *end;
	char name[64];
	struct cf_error e;

	if (*s != '[')
		return 1;
	end = strchr(s, ']');
	if (end == NULL)
		return config_bad(p, "a section header needs its ']'");
	snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
	if (p->svc != NULL && cf_service_finish(p->svc, &e) == -1)
		return config_bad(p, "%s", e.msg);
	p->svc = NULL;
	if (p->in_registry && !config_registry_finish(p))
		return 0;
	if (strncmp(name, "service ", 8) == 0) {
		p->svc = cf_services_add(p->c->services, name + 8, &e);
		return p->svc != NULL ? 1 : config_bad(p, "%s", e.msg);
	}
	if (strcmp(name, "registry") == 0) {
		if (p->c->registry != NULL)
			return config_bad(p, "[registry] is there twice");
		p->c->registry = xcalloc(1, sizeof(*p->c->registry));
		p->in_registry = 1;
		p->registry_line = p->first;
		return 1;
	}
	if (strcmp(name, "agent") != 0)
		return config_bad(p,
		    "unknown section [%s] (the sections are [agent], "
		    "[service NAME] and [registry])",
		    name);
	return 1;
}

/* A line whose first non-blank character starts a comment. */
static int
is_comment(const char *line)
{
	line += strspn(line, INI_BLANKS);
	return *line == '#' || *line == ';';
}

/*
 * Reads the next logical line into p->logical: physical lines joined
 * where one ends in a backslash, ending in one '\n'.  0 at the end of the
 * file or after an error (p->failed).
 */
static int
next_logical(struct parse *p)
{
	char *buf = NULL;
	size_t cap = 0, n;
	ssize_t got;
	int more = 1;

	p->len = p->off = 0;
	p->first = p->line + 1;
	while (more && (got = getline(&buf, &cap, p->f)) != -1) {
		p->line++;
		n = (size_t)got;
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
		/* A comment never goes on: "# C:\" must not swallow the
		 * line after it. */
		more = n > 0 && buf[n - 1] == '\\' &&
		       !(p->len == 0 && is_comment(buf));
		if (more)
			buf[n - 1] = ' ';
		if (p->len + n > AGENT_CONFIG_MAX_LINE) {
			free(buf);
			return config_bad(p, "line longer than %d characters",
			    AGENT_CONFIG_MAX_LINE);
		}
		p->logical = xrealloc(p->logical, p->len + n + 2);
		memcpy(p->logical + p->len, buf, n);
		p->len += n;
	}
	free(buf);
	if (p->line < p->first) /* nothing more in the file */
		return 0;
	if (more && !ferror(p->f)) {
		/* The last line of the file ends in a backslash. */
		p->first = p->line;
		return config_bad(
		    p, "a line ends in '\\' but nothing follows it");
	}
	p->logical[p->len++] = '\n';
	p->logical[p->len] = '\0';
	return check_section(p, p->logical);
}

/*
 * inih's line reader: the logical lines, in pieces of at most size - 1
 * bytes (inih grows its buffer and asks again while a piece fills it).
 */
static char *
read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	size_t n;

	if (p->failed || size < 2)
		return NULL;
	if (p->off == p->len && !next_logical(p))
		return NULL;
	n = p->len - p->off;
	if (n > (size_t)size - 1)
		n = (size_t)size - 1;
	memcpy(buf, p->logical + p->off, n);
	buf[n] = '\0';
	p->off += n;
	return buf;
}

/* The defaults: every field set, name the host name. */
static struct agent_config *
config_defaults(void)
{
	struct agent_config *c = xcalloc(1, sizeof(*c));
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	c->name = xstrdup(host);
	c->listen = xstrdup(AGENT_LISTEN_DEFAULT);
	c->socket = xstrdup(AGENT_SOCKET_DEFAULT);
	c->state = xstrdup(AGENT_STATE_DEFAULT);
	c->workers = AGENT_WORKERS_DEFAULT;
	c->max_connections_per_address = AGENT_CONNS_PER_ADDRESS_DEFAULT;
	c->audit_max_rows = AGENT_AUDIT_MAX_ROWS_DEFAULT;
	c->probe_interval = AGENT_PROBE_INTERVAL_DEFAULT;
	c->services = cf_services_new();
	return c;
}

const char *
agent_config_path(const char *opt, int *explicit)
{
	const char *env = getenv(AGENT_CONFIG_ENV);

	*explicit = 1;
	if (opt != NULL)
		return opt;
	if (env != NULL && env[0] != '\0')
		return env;
	*explicit = 0;
	return AGENT_CONFIG_DEFAULT;
}

/* The configuration in f, the file path (resolved: relative paths in it
 * are relative to it); closes f. */
static struct agent_config *
config_parse(FILE *f, const char *path, int strict, struct cf_error *err)
{
	struct parse p;
	struct cf_error e;
	int rc;

	memset(&p, 0, sizeof(p));
	p.c = config_defaults();
	p.err = err;
	p.strict = strict;
	p.f = f;
	p.file = path;
	p.dir = xstrdup(p.file);
	p.dir = dirname_dup(p.dir);
	/* Debian's inih takes its options at run time (see the top). */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line =
	    AGENT_CONFIG_MAX_LINE + 3; /* with "\r\n\0": never split */
	ini_stop_on_first_error = true;
	rc = ini_parse_stream(read_line, &p, on_pair, &p);
	if (!p.failed && ferror(p.f))
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	else if (!p.failed && rc > 0)
		cf_errorf(err, CF_E_USAGE, "%s:%d: not a 'key = value' line",
		    p.file, p.first);
	else if (!p.failed && rc < 0)
		cf_errorf(err, CF_E_INTERNAL, "%s: cannot parse", path);
	else if (!p.failed && p.svc != NULL &&
		 cf_service_finish(p.svc, &e) == -1)
		cf_errorf(err, CF_E_USAGE, "%s: %s", p.file, e.msg);
	else if (!p.failed && p.in_registry && !config_registry_finish(&p))
		; /* err set */
	else if (!p.failed && !config_registry_check_name(&p))
		; /* err set */
	else if (!p.failed) {
		p.c->file = xstrdup(p.file);
		goto out;
	}
	agent_config_free(p.c);
	p.c = NULL;
out:
	fclose(p.f);
	free(p.dir);
	free(p.logical);
	return p.c;
}

/* Opens path as agent_config_load trusts it: *f NULL when it is missing
 * and !explicit; abs gets its resolved name. */
static int
config_open(const char *path, int explicit, FILE **f, char abs[PATH_MAX],
    struct cf_error *err)
{
	if ((*f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !explicit)
			return 0;
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	}
	/* Relative paths in the file are relative to the file itself. */
	if (realpath(path, abs) == NULL)
		snprintf(abs, PATH_MAX, "%s", path);
	if (agent_config_trusted(*f, abs, err) == 0)
		return 0;
	fclose(*f);
	*f = NULL;
	return -1;
}

/* agent_config_load, and with strict agent_config_check. */
static struct agent_config *
config_read(const char *path, int explicit, int strict, struct cf_error *err)
{
	char abs[PATH_MAX];
	FILE *f;

	if (config_open(path, explicit, &f, abs, err) == -1)
		return NULL;
	return f != NULL ? config_parse(f, abs, strict, err)
			 : config_defaults();
}

int
agent_config_text(const char *path, int explicit, struct cf_buf *text,
    int *present, struct cf_error *err)
{
	char abs[PATH_MAX], chunk[4096];
	FILE *f;
	size_t n;
	int rc = -1;

	memset(text, 0, sizeof(*text));
	*present = 0;
	if (config_open(path, explicit, &f, abs, err) == -1)
		return -1;
	if (f == NULL)
		return 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (text->len + n > AGENT_CONFIG_MAX_TEXT) {
			cf_errorf(err, CF_E_USAGE,
			    "%s: larger than %u bytes: not a configuration",
			    abs, AGENT_CONFIG_MAX_TEXT);
			goto out;
		}
		text->data = xrealloc(text->data, text->len + n + 1);
		memcpy(text->data + text->len, chunk, n);
		text->len += n;
	}
	if (ferror(f)) {
		cf_errorf(err, CF_E_IO, "%s: %s", abs, strerror(errno));
		goto out;
	}
	*present = 1;
	rc = 0;
out:
	fclose(f);
	if (rc == -1)
		cf_buf_clear(text);
	return rc;
}

struct agent_config *
agent_config_from_text(
    const char *path, const struct cf_buf *text, struct cf_error *err)
{
	char abs[PATH_MAX];
	FILE *f;

	if (text == NULL)
		return config_defaults();
	if (realpath(path, abs) == NULL)
		snprintf(abs, PATH_MAX, "%s", path);
	/* "r" on an empty buffer: glibc allows a size of 0 since 2.22. */
	if ((f = fmemopen(text->len ? text->data : (void *)"", text->len,
		 "r")) == NULL) {
		cf_errorf(err, CF_E_INTERNAL, "%s: %s", abs, strerror(errno));
		return NULL;
	}
	return config_parse(f, abs, 0, err);
}

struct agent_config *
agent_config_load(const char *path, int explicit, struct cf_error *err)
{
	return config_read(path, explicit, 0, err);
}

struct agent_config *
agent_config_check(const char *path, int explicit, struct cf_error *err)
{
	return config_read(path, explicit, 1, err);
}

void
agent_config_free(struct agent_config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->name);
	free(c->listen);
	free(c->metrics_listen);
	free(c->acme_listen);
	free(c->socket);
	free(c->state);
	free(c->admin_ca);
	cf_services_free(c->services);
	config_registry_free(c->registry);
	while (c->ntransfer_peers > 0)
		free(c->transfer_peers[--c->ntransfer_peers]);
	free(c->transfer_peers);
	config_console_peers_free(c);
	free(c);
}

char *
agent_state_path(const struct agent_config *c, const char *leaf)
{
	return xasprintf("%s/%s", c->state, leaf);
}
