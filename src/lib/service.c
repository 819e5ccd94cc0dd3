/*
 * service.c - the services of a host: names, [service NAME] sections and
 * the table of kinds.  See service.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "service_int.h"
#include "util.h"

/* The kinds; a new kind is a svc_<kind>.c file and one line here. */
static const struct cf_service_kind *const kinds[] = {
    &cf_kind_nginx,
    &cf_kind_haproxy,
    &cf_kind_postfix,
    &cf_kind_dovecot,
    &cf_kind_files,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The names that always exist, and their aliases. */
static const struct {
	const char *name, *canon;
	enum cf_probe_proto proto;
} builtin[] = {
    {"https", "https", CF_PROBE_TLS},
    {"iis", "https", CF_PROBE_TLS},
    {"smtp", "smtp", CF_PROBE_SMTP},
    {"imap", "imap", CF_PROBE_IMAP},
    {"pop", "pop", CF_PROBE_POP},
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

#define MAX_SERVICES 512
#define TIMEOUT_DEFAULT_MS 20000

struct cf_services {
	struct cf_service **v;
	size_t n;
};

/* Bits of struct svc_state.seen, one per key of keys[] below. */
struct svc_state {
	struct cf_service svc; /* first: the public part */
	unsigned seen;
};

struct cf_services *
cf_services_new(void)
{
	return xcalloc(1, sizeof(struct cf_services));
}

static void
service_free(struct cf_service *s)
{
	free(s->chain);
	free(s->key);
	free(s->pem);
	free(s->test);
	free(s->reload);
	service_env_free(s->env);
	free(s->run_as);
	free(s->runtime_api);
	free(s->check_host);
	free(s->check_port);
	free(s->check_name);
	free(s->acme_webroot);
	free(s);
}

void
cf_services_free(struct cf_services *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		service_free(c->v[i]);
	free(c->v);
	free(c);
}

/* The built-in entry for name, or NULL. */
static int
builtin_find(const char *name)
{
	size_t i;

	for (i = 0; i < NBUILTIN; i++)
		if (cf_strieq(name, builtin[i].name))
			return (int)i;
	return -1;
}

/* A service name: 1 to 31 letters, digits, '-', '_' or '.'. */
static int
name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= CF_SERVICE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return 0;
	return 1;
}

const struct cf_service *
cf_services_find(const struct cf_services *c, const char *name)
{
	char canon[CF_SERVICE_NAME_MAX];
	int b = builtin_find(name);
	size_t i;

	if (c == NULL)
		return NULL;
	snprintf(canon, sizeof(canon), "%s", b >= 0 ? builtin[b].canon : name);
	for (i = 0; i < c->n; i++)
		if (cf_strieq(c->v[i]->name, canon))
			return c->v[i];
	return NULL;
}

size_t
cf_services_count(const struct cf_services *c)
{
	return c == NULL ? 0 : c->n;
}

const struct cf_service *
cf_services_at(const struct cf_services *c, size_t i)
{
	return c != NULL && i < c->n ? c->v[i] : NULL;
}

struct cf_service *
cf_services_add(struct cf_services *c, const char *name, struct cf_error *err)
{
	struct svc_state *st;
	int b = builtin_find(name);
	size_t i;

	if (!name_ok(name)) {
		cf_errorf(err, CF_E_USAGE,
		    "[service %s]: a service name is 1 to 31 letters, digits, "
		    "'-', '_' or '.'",
		    name);
		return NULL;
	}
	if (cf_services_find(c, name) != NULL) {
		cf_errorf(err, CF_E_USAGE, "[service %s]: described twice%s",
		    name, b >= 0 ? " (IIS is another name of https)" : "");
		return NULL;
	}
	if (c->n == MAX_SERVICES) {
		cf_errorf(err, CF_E_LIMIT,
		    "[service %s]: more than %d services", name, MAX_SERVICES);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	snprintf(st->svc.name, sizeof(st->svc.name), "%s",
	    b >= 0 ? builtin[b].canon : name);
	for (i = 0; st->svc.name[i] != '\0'; i++)
		st->svc.name[i] = (char)tolower((unsigned char)st->svc.name[i]);
	st->svc.uid = (uid_t)-1;
	st->svc.gid = (gid_t)-1;
	st->svc.mode = 0600;
	st->svc.chain_mode = 0644;
	st->svc.proto = b >= 0 ? builtin[b].proto : CF_PROBE_TLS;
	st->svc.timeout_ms = TIMEOUT_DEFAULT_MS;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = &st->svc;
	return &st->svc;
}

/* An absolute path: relative ones are taken from base. */
static char *
path_of(const char *v, const char *base)
{
	if (v[0] == '/' || base == NULL)
		return xstrdup(v);
	return xasprintf("%s/%s", base, v);
}

static int
set_kind(struct cf_service *s, const char *v, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(v, kinds[i]->name) == 0) {
			s->kind = kinds[i];
			return 0;
		}
	return cf_errorf(err, CF_E_USAGE,
	    "kind %s: the kinds are nginx, haproxy, postfix, dovecot and "
	    "files",
	    v);
}

/* An octal mode; a key file others may read or write is refused. */
static int
set_mode(unsigned *out, const char *key, const char *v, int secret,
    struct cf_error *err)
{
	char *end;
	unsigned long m;

	errno = 0;
	m = strtoul(v, &end, 8);
	if (*end != '\0' || errno != 0 || v[0] == '\0' || m > 0777)
		return cf_errorf(err, CF_E_USAGE,
		    "%s %s: give an octal mode such as 0600", key, v);
	if (secret && (m & 007) != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "%s %s: the key file would be open to every user; use "
		    "0600, or 0640 with a group",
		    key, v);
	if (secret && (m & 0400) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "%s %s: the owner could not read the key", key, v);
	*out = (unsigned)m;
	return 0;
}

/* HOST:PORT ("[v6]:port"), or "none". */
static int
set_check(struct cf_service *s, const char *v, struct cf_error *err)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	free(s->check_host);
	free(s->check_port);
	s->check_host = s->check_port = NULL;
	if (strcmp(v, "none") == 0)
		return 0;
	errno = 0;
	port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == v || colon[1] == '\0' || *end != '\0' ||
	    errno != 0 || port < 1 || port > 65535)
		return cf_errorf(err, CF_E_USAGE,
		    "check %s: give HOST:PORT where the service answers, e.g. "
		    "127.0.0.1:443, or none",
		    v);
	if (v[0] == '[' && colon[-1] == ']')
		s->check_host = xasprintf("%.*s", (int)(colon - v - 2), v + 1);
	else
		s->check_host = xasprintf("%.*s", (int)(colon - v), v);
	s->check_port = xstrdup(colon + 1);
	return 0;
}

static int
set_timeout(struct cf_service *s, const char *v, struct cf_error *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*end != '\0' || errno != 0 || n < 1 || n > 600)
		return cf_errorf(
		    err, CF_E_USAGE, "timeout %s: give seconds, 1 to 600", v);
	s->timeout_ms = (int)n * 1000;
	return 0;
}

/* A command, or NULL for "none". */
static char *
command_of(const char *v)
{
	return strcmp(v, "none") == 0 ? NULL : xstrdup(v);
}

enum {
	K_KIND,
	K_CHAIN,
	K_KEY,
	K_PEM,
	K_OWNER,
	K_GROUP,
	K_MODE,
	K_CHAIN_MODE,
	K_TEST,
	K_RELOAD,
	K_ENV,
	K_RUN_AS,
	K_RUNTIME_API,
	K_CHECK,
	K_NAME,
	K_PROTOCOL,
	K_TIMEOUT,
	K_ACME_WEBROOT,
};

static const char *const keys[] = {
    [K_KIND] = "kind",
    [K_CHAIN] = "chain",
    [K_KEY] = "key",
    [K_PEM] = "pem",
    [K_OWNER] = "owner",
    [K_GROUP] = "group",
    [K_MODE] = "mode",
    [K_CHAIN_MODE] = "chain_mode",
    [K_TEST] = "test",
    [K_RELOAD] = "reload",
    [K_ENV] = "env",
    [K_RUN_AS] = "run_as",
    [K_RUNTIME_API] = "runtime_api",
    [K_CHECK] = "check",
    [K_NAME] = "name",
    [K_PROTOCOL] = "protocol",
    [K_TIMEOUT] = "timeout",
    [K_ACME_WEBROOT] = "acme_webroot",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Sets the key numbered k; the value is not empty. */
static int
set_one(struct cf_service *s, int k, const char *v, const char *base,
    struct cf_error *err)
{
	switch (k) {
	case K_KIND:
		return set_kind(s, v, err);
	case K_CHAIN:
		s->chain = path_of(v, base);
		return 0;
	case K_KEY:
		s->key = path_of(v, base);
		return 0;
	case K_PEM:
		s->pem = path_of(v, base);
		return 0;
	case K_OWNER:
		return service_set_owner(s, v, err);
	case K_GROUP:
		return service_set_group(s, v, err);
	case K_MODE:
		return set_mode(&s->mode, "mode", v, 1, err);
	case K_CHAIN_MODE:
		return set_mode(&s->chain_mode, "chain_mode", v, 0, err);
	case K_TEST:
		s->test = command_of(v);
		return 0;
	case K_RELOAD:
		s->reload = command_of(v);
		return 0;
	case K_ENV:
		return service_set_env(s, v, err);
	case K_RUN_AS:
		return service_set_run_as(s, v, err);
	case K_RUNTIME_API:
		s->runtime_api = path_of(v, base);
		return 0;
	case K_CHECK:
		return set_check(s, v, err);
	case K_NAME:
		s->check_name = xstrdup(v);
		return 0;
	case K_PROTOCOL:
		return cf_probe_proto_parse(v, &s->proto, err);
	case K_ACME_WEBROOT:
		s->acme_webroot = path_of(v, base);
		return 0;
	default:
		return set_timeout(s, v, err);
	}
}

int
cf_service_set(struct cf_service *svc, const char *key, const char *value,
    const char *base_dir, struct cf_error *err)
{
	struct svc_state *st = (struct svc_state *)svc;
	size_t k;

	for (k = 0; k < NKEYS; k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == NKEYS)
		return cf_errorf(err, CF_E_USAGE,
		    "unknown key %s in [service %s] (known: kind, chain, key, "
		    "pem, owner, group, mode, chain_mode, test, reload, "
		    "env, run_as, runtime_api, check, name, protocol, timeout, "
		    "acme_webroot)",
		    key, svc->name);
	if (st->seen & (1u << k))
		return cf_errorf(err, CF_E_USAGE, "%s is set twice", key);
	st->seen |= 1u << k;
	if (value[0] == '\0')
		return cf_errorf(err, CF_E_USAGE, "%s has no value", key);
	return set_one(svc, (int)k, value, base_dir, err);
}

/* The files the kind reads: chain and key, or (haproxy) one PEM file. */
static int
check_files(const struct cf_service *s, struct cf_error *err)
{
	if (s->kind->combined && (s->pem == NULL || s->chain || s->key))
		return cf_errorf(err, CF_E_USAGE,
		    "[service %s]: %s reads one file with chain and key: set "
		    "pem, not chain or key",
		    s->name, s->kind->name);
	if (s->kind == &cf_kind_files) {
		if (s->chain == NULL && s->key == NULL && s->pem == NULL)
			return cf_errorf(err, CF_E_USAGE,
			    "[service %s]: set chain, key or pem: the files "
			    "to write",
			    s->name);
		return 0;
	}
	if (!s->kind->combined && s->pem == NULL &&
	    (s->chain == NULL || s->key == NULL))
		return cf_errorf(err, CF_E_USAGE,
		    "[service %s]: %s needs chain and key (or pem, one file "
		    "with both)",
		    s->name, s->kind->name);
	return 0;
}

int
cf_service_finish(struct cf_service *svc, struct cf_error *err)
{
	struct svc_state *st = (struct svc_state *)svc;

	if (svc->kind == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "[service %s]: set kind (nginx, haproxy, postfix, "
		    "dovecot or files)",
		    svc->name);
	if (check_files(svc, err) == -1)
		return -1;
	if (svc->runtime_api != NULL && svc->kind != &cf_kind_haproxy)
		return cf_errorf(err, CF_E_USAGE,
		    "[service %s]: runtime_api is haproxy's; %s has none",
		    svc->name, svc->kind->name);
	if (!(st->seen & (1u << K_TEST)) && svc->kind->test != NULL)
		svc->test = xstrdup(svc->kind->test);
	if (!(st->seen & (1u << K_RELOAD)) && svc->kind->reload != NULL &&
	    svc->runtime_api == NULL)
		svc->reload = xstrdup(svc->kind->reload);
	if (svc->check_name != NULL && svc->check_host == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "[service %s]: name is the name asked for at check; set "
		    "check = HOST:PORT too",
		    svc->name);
	return 0;
}

int
cf_service_canon(const struct cf_services *c, const char *name,
    char out[CF_SERVICE_NAME_MAX], struct cf_error *err)
{
	const struct cf_service *s;
	char *names;
	size_t i;
	int b = builtin_find(name);

	if (b >= 0) {
		snprintf(out, CF_SERVICE_NAME_MAX, "%s", builtin[b].canon);
		return 0;
	}
	if ((s = cf_services_find(c, name)) != NULL) {
		snprintf(out, CF_SERVICE_NAME_MAX, "%s", s->name);
		return 0;
	}
	names = xstrdup("https (alias IIS), smtp, imap, pop");
	for (i = 0; c != NULL && i < c->n; i++)
		if (builtin_find(c->v[i]->name) < 0) {
			char *more = xasprintf("%s, %s", names, c->v[i]->name);
			free(names);
			names = more;
		}
	cf_errorf(err, CF_E_NOTFOUND,
	    "%s: unknown service on this server; its services are %s", name,
	    names);
	free(names);
	return -1;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cf_services_parse(const struct cf_services *c, const char *list, char **out,
    struct cf_error *err)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	char *names[MAX_SERVICES + NBUILTIN], canon[CF_SERVICE_NAME_MAX];
	size_t n = 0, i, j;
	int rc = -1;

	*out = NULL;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (cf_service_canon(c, tok, canon, err) == -1)
			goto out;
		for (j = 0; j < n && strcmp(names[j], canon) != 0; j++)
			;
		if (j == n && n < sizeof(names) / sizeof(names[0]))
			names[n++] = xstrdup(canon);
	}
	if (n == 0) {
		cf_errorf(err, CF_E_USAGE,
		    "no service named; give https, smtp, imap or pop");
		goto out;
	}
	qsort(names, n, sizeof(names[0]), cmp_strp);
	*out = xstrdup(names[0]);
	for (i = 1; i < n; i++) {
		char *joined = xasprintf("%s,%s", *out, names[i]);
		free(*out);
		*out = joined;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(copy);
	return rc;
}

char *
cf_service_endpoint(const struct cf_service *svc, const char *first_domain)
{
	const char *sni = svc->check_name ? svc->check_name : first_domain;

	if (svc->check_host == NULL)
		return xstrdup("none");
	return xasprintf(strchr(svc->check_host, ':') ? "[%s]:%s (%s%s%s)"
						      : "%s:%s (%s%s%s)",
	    svc->check_host, svc->check_port, cf_probe_proto_name(svc->proto),
	    sni && sni[0] ? ", SNI " : "", sni && sni[0] ? sni : "");
}
