/*
 * config_registry.c - agent.conf's [registry] section: the etcd registry
 * the agent registers with and whose namespaces it serves (config.h;
 * man 8 certfleetd lists the keys).  Each key is checked as it is read,
 * what the keys must say together when the section ends; the files it
 * names are opened when the agent starts (before it confines itself),
 * or by check-config.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "schema.h"
#include "util.h"

/* The longest password read from password_file. */
#define REGISTRY_PASSWORD_MAX 4096

static int set_type(struct parse *, const char *);
static int set_endpoints(struct parse *, const char *);
static int set_ca(struct parse *, const char *);
static int set_cert(struct parse *, const char *);
static int set_key(struct parse *, const char *);
static int set_user(struct parse *, const char *);
static int set_password_file(struct parse *, const char *);
static int set_prefix(struct parse *, const char *);
static int set_name(struct parse *, const char *);
static int set_lease_ttl(struct parse *, const char *);
static int set_advertise(struct parse *, const char *);

static const struct {
	const char *key;
	int (*set)(struct parse *, const char *);
} keys[] = {
    {"type", set_type},
    {"endpoints", set_endpoints},
    {"ca", set_ca},
    {"cert", set_cert},
    {"key", set_key},
    {"user", set_user},
    {"password_file", set_password_file},
    {"prefix", set_prefix},
    {"name", set_name},
    {"lease_ttl", set_lease_ttl},
    {"advertise", set_advertise},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define SEEN(i) (1u << (i))
#define KEY_TYPE 0

static int
set_type(struct parse *p, const char *v)
{
	if (strcmp(v, "etcd") != 0)
		return config_bad(p,
		    "type %s: the one registry an agent joins is etcd "
		    "(type = etcd)",
		    v);
	return 1;
}

/* "https://HOST:PORT", comma-separated, at most eight. */
static int
set_endpoints(struct parse *p, const char *v)
{
	struct agent_registry *r = p->c->registry;
	char *copy = xstrdup(v), *tok, *save = NULL;
	int rc = 1;

	for (tok = strtok_r(copy, ", ", &save); tok != NULL && rc == 1;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (strncmp(tok, "https://", 8) != 0 || strchr(tok + 8, '/')) {
			rc = config_bad(p,
			    "endpoints: %s: give https://HOST:PORT (etcd's "
			    "client URL; the registry is spoken to over TLS "
			    "only)",
			    tok);
			break;
		}
		if (!config_hostport_ok(p, "endpoints", tok + 8)) {
			rc = 0;
			break;
		}
		if (r->nendpoints == AGENT_REGISTRY_MAX_ENDPOINTS) {
			rc = config_bad(p, "endpoints: at most %d",
			    AGENT_REGISTRY_MAX_ENDPOINTS);
			break;
		}
		r->endpoints[r->nendpoints++] = xstrdup(tok);
	}
	free(copy);
	return rc;
}

/* A file the agent reads at its start: readable is checked by
 * check-config (config_registry_finish), not here, as for services. */
static int
set_file(struct parse *p, char **field, const char *v)
{
	free(*field);
	*field = config_relative(p, v);
	return 1;
}

static int
set_ca(struct parse *p, const char *v)
{
	return set_file(p, &p->c->registry->ca, v);
}

static int
set_cert(struct parse *p, const char *v)
{
	return set_file(p, &p->c->registry->cert, v);
}

static int
set_key(struct parse *p, const char *v)
{
	return set_file(p, &p->c->registry->key, v);
}

static int
set_password_file(struct parse *p, const char *v)
{
	return set_file(p, &p->c->registry->password_file, v);
}

/* etcd user names are free text; the one enrol makes is
 * certfleet-agent-NAME: printable, no blank. */
static int
set_user(struct parse *p, const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (v[i] <= ' ' || v[i] == 0x7f)
			return config_bad(
			    p, "user: no blanks or control characters");
	if (i > 128)
		return config_bad(p, "user: at most 128 characters");
	p->c->registry->user = xstrdup(v);
	return 1;
}

static int
set_prefix(struct parse *p, const char *v)
{
	struct cf_error e;

	if (schema_prefix_check(v, &e) == -1)
		return config_bad(p,
		    "prefix %s: a key prefix is /NAME[/NAME...] "
		    "(letters, digits, '.', '-', '_'), such "
		    "as /certfleet",
		    v);
	p->c->registry->prefix = xstrdup(v);
	return 1;
}

static int
set_name(struct parse *p, const char *v)
{
	struct cf_error e;

	if (schema_name_check(v, &e) == -1)
		return config_bad(p, "name: %s", e.msg);
	p->c->registry->name = xstrdup(v);
	return 1;
}

static int
set_lease_ttl(struct parse *p, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < 2 ||
	    n > AGENT_REGISTRY_TTL_MAX)
		return config_bad(p,
		    "lease_ttl %s: give whole seconds from 2 to %d", v,
		    AGENT_REGISTRY_TTL_MAX);
	p->c->registry->lease_ttl = n;
	return 1;
}

static int
set_advertise(struct parse *p, const char *v)
{
	if (!config_hostport_ok(p, "advertise", v))
		return 0;
	p->c->registry->advertise = xstrdup(v);
	return 1;
}

int
config_registry_key(struct parse *p, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(key, keys[i].key) == 0)
			break;
	if (i == NKEYS)
		return config_bad(p,
		    "unknown key %s in [registry] (known: type, endpoints, "
		    "ca, cert, key, user, password_file, prefix, name, "
		    "lease_ttl, advertise)",
		    key);
	if (p->rseen & SEEN(i))
		return config_bad(p, "%s is set twice", key);
	p->rseen |= SEEN(i);
	if (value[0] == '\0')
		return config_bad(p, "%s has no value", key);
	return keys[i].set(p, value);
}

/* check-config: path of key is readable by the agent. */
static int
strict_file(struct parse *p, const char *key, const char *path)
{
	if (path != NULL && access(path, R_OK) == -1)
		return config_bad(p, "%s %s: %s", key, path, strerror(errno));
	return 1;
}

/* check-config: the files, and the password as run would read it. */
static int
strict_registry(struct parse *p)
{
	struct agent_registry *r = p->c->registry;
	struct cf_secret *pw = NULL;
	struct cf_error e;

	if (!strict_file(p, "ca", r->ca) || !strict_file(p, "cert", r->cert) ||
	    !strict_file(p, "key", r->key))
		return 0;
	if (r->password_file == NULL)
		return 1;
	if (agent_registry_password(r, &pw, &e) == -1)
		return config_bad(p, "password_file: %s", e.msg);
	cf_secret_free(pw);
	return 1;
}

int
config_registry_finish(struct parse *p)
{
	struct agent_registry *r = p->c->registry;
	int line = p->first, ok = 0;

	p->in_registry = 0;
	p->first = p->registry_line; /* the messages name the header */
	if (!(p->rseen & SEEN(KEY_TYPE)))
		config_bad(p, "[registry] needs type = etcd");
	else if (r->nendpoints == 0)
		config_bad(p, "[registry] needs endpoints = "
			      "https://HOST:PORT[,...]");
	else if (r->ca == NULL)
		config_bad(p, "[registry] needs ca = FILE (the CA that "
			      "issued etcd's certificates)");
	else if ((r->cert == NULL) != (r->key == NULL))
		config_bad(p, "[registry]: cert and key go together");
	else if ((r->user == NULL) != (r->password_file == NULL))
		config_bad(p, "[registry]: user and password_file go together");
	else
		ok = !p->strict || strict_registry(p);
	if (r->prefix == NULL)
		r->prefix = xstrdup(SCHEMA_PREFIX_DEFAULT);
	if (r->lease_ttl == 0)
		r->lease_ttl = AGENT_REGISTRY_TTL_DEFAULT;
	if (!p->failed)
		p->first = line;
	return ok;
}

int
config_registry_check_name(struct parse *p)
{
	struct cf_error e;

	if (p->c->registry == NULL || p->c->registry->name != NULL ||
	    schema_name_check(p->c->name, &e) == 0)
		return 1;
	p->first = p->registry_line;
	return config_bad(p,
	    "[registry]: the agent's name %s is not a fleet name (%s); set "
	    "[registry] name",
	    p->c->name, e.msg);
}

void
config_registry_free(struct agent_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nendpoints; i++)
		free(r->endpoints[i]);
	free(r->ca);
	free(r->cert);
	free(r->key);
	free(r->user);
	free(r->password_file);
	free(r->prefix);
	free(r->name);
	free(r->advertise);
	free(r);
}

/* Both NULL or both the same string. */
static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
config_registry_equal(
    const struct agent_registry *a, const struct agent_registry *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->nendpoints != b->nendpoints || a->lease_ttl != b->lease_ttl)
		return 0;
	for (i = 0; i < a->nendpoints; i++)
		if (!same(a->endpoints[i], b->endpoints[i]))
			return 0;
	return same(a->ca, b->ca) && same(a->cert, b->cert) &&
	       same(a->key, b->key) && same(a->user, b->user) &&
	       same(a->password_file, b->password_file) &&
	       same(a->prefix, b->prefix) && same(a->name, b->name) &&
	       same(a->advertise, b->advertise);
}

void
config_registry_swap(struct agent_config *a, struct agent_config *b)
{
	struct agent_registry *t = a->registry;

	a->registry = b->registry;
	b->registry = t;
}

const char *
agent_registry_name(const struct agent_config *c)
{
	return c->registry != NULL && c->registry->name != NULL
		   ? c->registry->name
		   : c->name;
}

/* The bytes of f (at most REGISTRY_PASSWORD_MAX), the trailing line
 * break left out, into a new secret. */
static int
read_password(
    FILE *f, const char *file, struct cf_secret **pw, struct cf_error *err)
{
	struct cf_secret *s = cf_secret_alloc(REGISTRY_PASSWORD_MAX + 1);
	size_t n;

	n = fread(s->data, 1, REGISTRY_PASSWORD_MAX + 1, f);
	if (ferror(f) || n > REGISTRY_PASSWORD_MAX) {
		cf_secret_free(s);
		return cf_errorf(err, ferror(f) ? CF_E_IO : CF_E_USAGE,
		    "%s: %s", file,
		    ferror(f) ? strerror(errno)
			      : "longer than 4096 bytes: not a password");
	}
	if (n > 0 && s->data[n - 1] == '\n')
		n--;
	if (n > 0 && s->data[n - 1] == '\r')
		n--;
	s->data[n] = '\0';
	s->len = n;
	if (n == 0) {
		cf_secret_free(s);
		return cf_errorf(err, CF_E_USAGE,
		    "%s: empty; write the etcd user's password in it", file);
	}
	*pw = s;
	return 0;
}

int
agent_registry_password(
    const struct agent_registry *r, struct cf_secret **pw, struct cf_error *err)
{
	const char *file = r->password_file;
	struct stat st;
	FILE *f;
	int rc = -1;

	*pw = NULL;
	if (file == NULL)
		return 0;
	if ((f = fopen(file, "re")) == NULL)
		return cf_errorf(err, CF_E_IO, "%s: %s", file, strerror(errno));
	if (fstat(fileno(f), &st) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		cf_errorf(err, CF_E_DENIED,
		    "%s: %s (mode %04o): refused; a password file is readable "
		    "by its owner alone: chmod 600 %s",
		    file, S_ISREG(st.st_mode) ? "open to others" : "not a file",
		    (unsigned)(st.st_mode & 07777), file);
		goto out;
	}
	if (agent_config_trusted(f, file, err) == -1 ||
	    read_password(f, file, pw, err) == -1)
		goto out;
	rc = 0;
out:
	fclose(f);
	return rc;
}
