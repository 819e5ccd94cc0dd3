/*
 * config_keys.c - the keys of agent.conf's [agent] section, each checked
 * as it is read (config.h; man 8 certfleetd lists them).
 */
#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "config_int.h"
#include "identity.h"
#include "util.h"

static int set_name(struct parse *, const char *);
static int set_listen(struct parse *, const char *);
static int set_socket(struct parse *, const char *);
static int set_state(struct parse *, const char *);
static int set_admin_ca(struct parse *, const char *);
static int set_workers(struct parse *, const char *);
static int set_transfer_peers(struct parse *, const char *);
static int set_max_conns(struct parse *, const char *);
static int set_max_conns_addr(struct parse *, const char *);
static int set_audit_days(struct parse *, const char *);
static int set_audit_rows(struct parse *, const char *);
static int set_metrics_listen(struct parse *, const char *);
static int set_acme_listen(struct parse *, const char *);
static int set_probe_interval(struct parse *, const char *);

static const struct {
	const char *key;
	int (*set)(struct parse *, const char *);
} keys[] = {
    {"name", set_name},
    {"listen", set_listen},
    {"socket", set_socket},
    {"state", set_state},
    {"admin_ca", set_admin_ca},
    {"workers", set_workers},
    {"transfer_peers", set_transfer_peers},
    {"max_connections", set_max_conns},
    {"max_connections_per_address", set_max_conns_addr},
    {"audit_keep_days", set_audit_days},
    {"audit_max_rows", set_audit_rows},
    {"metrics_listen", set_metrics_listen},
    {"acme_listen", set_acme_listen},
    {"probe_interval", set_probe_interval},
    {"console_peers", config_console_peers},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

char *
config_relative(const struct parse *p, const char *v)
{
	char *dup, *dir, *out;

	if (v[0] == '/' || p->file == NULL)
		return xstrdup(v);
	dup = xstrdup(p->file);
	dir = dirname(dup);
	out = xasprintf("%s/%s", dir, v);
	free(dup);
	return out;
}

int
config_name_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= 'A' && v[i] <= 'Z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
			v[i] == '.' || v[i] == '_'))
			return 0;
	return 1;
}

static int
set_name(struct parse *p, const char *v)
{
	if (strlen(v) > 63)
		return config_bad(p, "name %s: longer than 63 characters", v);
	if (!config_name_ok(v))
		return config_bad(p,
		    "name %s: use letters, digits, '-', '.' "
		    "and '_' (a host name)",
		    v);
	free(p->c->name);
	p->c->name = xstrdup(v);
	return 1;
}

int
config_hostport_ok(struct parse *p, const char *key, const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (colon == NULL || colon == v || colon[1] == '\0')
		return config_bad(p,
		    "%s %s: give HOST:PORT, e.g. "
		    "127.0.0.1:8443 or [::1]:8443",
		    key, v);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 0 || port > 65535)
		return config_bad(p, "%s %s: the port is 0 to 65535", key, v);
	if (v[0] == '[' && colon[-1] != ']')
		return config_bad(p,
		    "%s %s: an IPv6 address goes in brackets, "
		    "[::1]:8443",
		    key, v);
	return 1;
}

static int
set_listen(struct parse *p, const char *v)
{
	if (!config_hostport_ok(p, "listen", v))
		return 0;
	free(p->c->listen);
	p->c->listen = xstrdup(v);
	return 1;
}

/* Plain HTTP and no authentication: loopback addresses only. */
static int
set_metrics_listen(struct parse *p, const char *v)
{
	if (!config_hostport_ok(p, "metrics_listen", v))
		return 0;
	if (!agent_hostport_loopback(v))
		return config_bad(p,
		    "metrics_listen %s: not a loopback address; this "
		    "listener has no TLS and no authentication, so it takes "
		    "127.0.0.1 or [::1] only (scrape GET /metrics on the "
		    "mutual-TLS listener from elsewhere)",
		    v);
	free(p->c->metrics_listen);
	p->c->metrics_listen = xstrdup(v);
	return 1;
}

/* The ACME HTTP-01 responder: plain HTTP, loopback only too; the web
 * server or balancer in front forwards /.well-known/acme-challenge/. */
static int
set_acme_listen(struct parse *p, const char *v)
{
	if (!config_hostport_ok(p, "acme_listen", v))
		return 0;
	if (!agent_hostport_loopback(v))
		return config_bad(p,
		    "acme_listen %s: not a loopback address; the ACME "
		    "responder is plain HTTP, so it takes 127.0.0.1 or [::1] "
		    "only (forward /.well-known/acme-challenge/ to it from the "
		    "web server or balancer)",
		    v);
	free(p->c->acme_listen);
	p->c->acme_listen = xstrdup(v);
	return 1;
}

static int
set_socket(struct parse *p, const char *v)
{
	char *path;

	free(p->c->socket);
	p->c->socket = NULL;
	if (strcmp(v, "none") == 0)
		return 1;
	path = config_relative(p, v);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		free(path);
		return config_bad(p,
		    "socket %s: a Unix socket path is at most 107 "
		    "bytes",
		    v);
	}
	p->c->socket = path;
	return 1;
}

static int
set_state(struct parse *p, const char *v)
{
	free(p->c->state);
	p->c->state = config_relative(p, v);
	return 1;
}

static int
set_admin_ca(struct parse *p, const char *v)
{
	free(p->c->admin_ca);
	p->c->admin_ca = config_relative(p, v);
	/* Checked here, not only when the agent loads it, so that the
	 * message can name the line. */
	if (access(p->c->admin_ca, R_OK) == -1)
		return config_bad(
		    p, "admin_ca %s: %s", p->c->admin_ca, strerror(errno));
	return 1;
}

static int
set_workers(struct parse *p, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*end != '\0' || errno != 0 || n < 1 || n > AGENT_WORKERS_MAX)
		return config_bad(
		    p, "workers %s: give a number from 1 to 64", v);
	p->c->workers = (int)n;
	return 1;
}

/* A whole number from min to max into *out; 0 after config_bad() otherwise. */
static int
set_count(struct parse *p, const char *key, const char *v, long min, long max,
    long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < min || n > max)
		return config_bad(p,
		    "%s %s: give a whole number from %ld to %ld", key, v, min,
		    max);
	*out = n;
	return 1;
}

static int
set_max_conns(struct parse *p, const char *v)
{
	return set_count(p, "max_connections", v, 1, AGENT_CONNS_MAX,
	    &p->c->max_connections);
}

static int
set_max_conns_addr(struct parse *p, const char *v)
{
	return set_count(p, "max_connections_per_address", v, 1,
	    AGENT_CONNS_MAX, &p->c->max_connections_per_address);
}

static int
set_audit_days(struct parse *p, const char *v)
{
	return set_count(
	    p, "audit_keep_days", v, 0, 36500, &p->c->audit_keep_days);
}

static int
set_audit_rows(struct parse *p, const char *v)
{
	return set_count(
	    p, "audit_max_rows", v, 0, 1000000000L, &p->c->audit_max_rows);
}

static int
set_probe_interval(struct parse *p, const char *v)
{
	return set_count(p, "probe_interval", v, 1, AGENT_PROBE_INTERVAL_MAX,
	    &p->c->probe_interval);
}

/*
 * The agents this one may seal keys to and accept sealed keys from:
 * comma-separated fingerprints of their identities (certfleetd
 * fingerprint on each), or "none".
 */
static int
set_transfer_peers(struct parse *p, const char *v)
{
	char *copy = xstrdup(v), *tok, *save = NULL;
	char fp[CF_FP_LEN + 1];
	struct cf_error e;
	int rc = 1;

	for (tok = strtok_r(copy, ", ", &save); tok != NULL && rc == 1;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		if (cf_fingerprint_parse(tok, fp, &e) == -1) {
			rc = config_bad(p, "transfer_peers: %s", e.msg);
			break;
		}
		p->c->transfer_peers = xrealloc(p->c->transfer_peers,
		    (p->c->ntransfer_peers + 2) * sizeof(char *));
		p->c->transfer_peers[p->c->ntransfer_peers++] = xstrdup(fp);
		p->c->transfer_peers[p->c->ntransfer_peers] = NULL;
	}
	free(copy);
	return rc;
}

/* check-config only: whether the listen address resolves (run would
 * find out when it binds). */
static int
strict_listen(struct parse *p)
{
	struct addrinfo hints, *ai = NULL;
	char *host = xstrdup(p->c->listen), *port = strrchr(host, ':');
	int rc;

	*port++ = '\0';
	if (host[0] == '[') { /* [v6] */
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (ai != NULL)
		freeaddrinfo(ai);
	if (rc != 0)
		config_bad(p, "listen %s: %s", p->c->listen, gai_strerror(rc));
	free(host);
	return rc == 0;
}

int
config_agent_key(struct parse *p, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(key, keys[i].key) == 0)
			break;
	if (i == NKEYS)
		return config_bad(p,
		    "unknown key %s in [agent] (known: name, listen, "
		    "socket, state, admin_ca, workers, transfer_peers, "
		    "max_connections, max_connections_per_address, "
		    "audit_keep_days, audit_max_rows, metrics_listen, "
		    "acme_listen, probe_interval, console_peers)",
		    key);
	if (p->seen & (1u << i))
		return config_bad(p, "%s is set twice", key);
	p->seen |= 1u << i;
	if (value[0] == '\0')
		return config_bad(p, "%s has no value", key);
	if (!keys[i].set(p, value))
		return 0;
	return p->strict && keys[i].set == set_listen ? strict_listen(p) : 1;
}
