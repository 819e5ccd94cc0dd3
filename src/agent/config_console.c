/*
 * config_console.c - the console_peers key of agent.conf's [agent]
 * section (config.h; man 8 certfleetd): the other agents whose consoles
 * this agent's fleet page asks, each a name and an https origin.  The
 * browser asks them with the admin's own certificate; this agent only
 * names them (its Content-Security-Policy lets the page connect there,
 * and it answers their pages' reads: console.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util.h"

/* The host of an origin: a DNS name or IPv4 address (letters, digits,
 * '-', '.'), or an IPv6 address in brackets. */
static int
origin_host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (i = 1; i < n - 1; i++)
			if (strchr("0123456789abcdefABCDEF:.", h[i]) == NULL)
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
			(h[i] >= 'A' && h[i] <= 'Z') ||
			(h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
			h[i] == '.'))
			return 0;
	return 1;
}

/*
 * url ("https://HOST[:PORT]", no path) as a browser writes it in an
 * Origin header: the host in lower case, the port left out when it is
 * 443; new, or NULL after config_bad naming entry.
 */
static char *
peer_origin(struct parse *p, const char *entry, const char *url)
{
	const char *host = url + 8, *colon;
	char *out, *q, *end;
	long port = 443;
	size_t hn;

	if (strncmp(url, "https://", 8) != 0) {
		config_bad(p,
		    "console_peers: %s: the console's address starts with "
		    "https:// (NAME=https://HOST:PORT)",
		    entry);
		return NULL;
	}
	if (strpbrk(host, "/?#@") != NULL) {
		config_bad(p,
		    "console_peers: %s: give the origin only, "
		    "https://HOST:PORT, with no path, query or user",
		    entry);
		return NULL;
	}
	colon = host[0] == '[' ? strchr(host, ']') : host - 1;
	colon = colon == NULL ? NULL : strchr(colon + 1, ':');
	hn = colon != NULL ? (size_t)(colon - host) : strlen(host);
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
		    errno != 0 || port < 1 || port > 65535) {
			config_bad(p,
			    "console_peers: %s: the port is 1 to 65535", entry);
			return NULL;
		}
	}
	if (!origin_host_ok(host, hn)) {
		config_bad(p,
		    "console_peers: %s: the host is a name, an IPv4 address "
		    "or an IPv6 address in brackets ([::1])",
		    entry);
		return NULL;
	}
	if (port == 443)
		out = xasprintf("https://%.*s", (int)hn, host);
	else
		out = xasprintf("https://%.*s:%ld", (int)hn, host, port);
	for (q = out; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return out;
}

/* Adds entry, "NAME=https://HOST:PORT", to p->c; 1, or 0 after
 * config_bad. */
static int
peer_add(struct parse *p, const char *entry)
{
	struct agent_config *c = p->c;
	const char *eq = strchr(entry, '=');
	char *name, *origin;
	size_t i;

	if (eq == NULL || eq == entry)
		return config_bad(
		    p, "console_peers: %s: give NAME=https://HOST:PORT", entry);
	name = xasprintf("%.*s", (int)(eq - entry), entry);
	if (!config_name_ok(name)) {
		config_bad(p,
		    "console_peers: %s: the name %s: use letters, digits, "
		    "'-', '.' and '_', at most 63 (the agent's name)",
		    entry, name);
		free(name);
		return 0;
	}
	if ((origin = peer_origin(p, entry, eq + 1)) == NULL) {
		free(name);
		return 0;
	}
	for (i = 0; i < c->nconsole_peers; i++)
		if (strcmp(c->console_peers[i].name, name) == 0 ||
		    strcmp(c->console_peers[i].origin, origin) == 0) {
			config_bad(p,
			    "console_peers: %s: a second entry for %s; "
			    "name each agent once",
			    entry,
			    strcmp(c->console_peers[i].name, name) == 0
				? name
				: origin);
			free(name);
			free(origin);
			return 0;
		}
	if (c->nconsole_peers == AGENT_CONSOLE_PEERS_MAX) {
		free(name);
		free(origin);
		return config_bad(p,
		    "console_peers: %s: at most %d peers; the fleet page "
		    "asks each one",
		    entry, AGENT_CONSOLE_PEERS_MAX);
	}
	c->console_peers = xrealloc(c->console_peers,
	    (c->nconsole_peers + 1) * sizeof(*c->console_peers));
	c->console_peers[c->nconsole_peers].name = name;
	c->console_peers[c->nconsole_peers].origin = origin;
	c->nconsole_peers++;
	return 1;
}

int
config_console_peers(struct parse *p, const char *v)
{
	char *copy = xstrdup(v), *tok, *save = NULL;
	int rc = 1;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && rc == 1;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "none") == 0)
			continue;
		rc = peer_add(p, tok);
	}
	free(copy);
	return rc;
}

void
config_console_peers_free(struct agent_config *c)
{
	while (c->nconsole_peers > 0) {
		c->nconsole_peers--;
		free(c->console_peers[c->nconsole_peers].name);
		free(c->console_peers[c->nconsole_peers].origin);
	}
	free(c->console_peers);
	c->console_peers = NULL;
}
