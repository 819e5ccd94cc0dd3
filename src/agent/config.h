/*
 * config.h - the agent's configuration: one INI file with an [agent]
 * section and a [service NAME] section per service it deploys to
 * (docs/certfleetd.8 lists every key).
 */
#ifndef CFD_CONFIG_H
#define CFD_CONFIG_H

#include <stdio.h>

#include "error.h"
#include "util.h"
#include "service.h"

#define AGENT_CONFIG_DEFAULT "/etc/certfleet/agent.conf"
#define AGENT_CONFIG_ENV "CERTFLEETD_CONFIG"
#define AGENT_LISTEN_DEFAULT "127.0.0.1:8443"
#define AGENT_SOCKET_DEFAULT "/run/certfleet/agent.sock"
#define AGENT_STATE_DEFAULT "/var/lib/certfleet"
#define AGENT_WORKERS_DEFAULT 4
#define AGENT_WORKERS_MAX 64
/* Connections: max_connections defaults to what the fd limit leaves
 * (server.c); per address, enough for a fleet's parallel probes. */
#define AGENT_CONNS_MAX 1000000
#define AGENT_CONNS_PER_ADDRESS_DEFAULT 64
/* Refusal records kept at most (older ones pruned first); 0: no bound. */
#define AGENT_AUDIT_MAX_ROWS_DEFAULT 100000
/* Seconds between the background probes of GET /metrics. */
#define AGENT_PROBE_INTERVAL_DEFAULT 60
#define AGENT_PROBE_INTERVAL_MAX 86400
/* The longest logical line (continued lines joined), in bytes. */
#define AGENT_CONFIG_MAX_LINE 65536
/* A configuration file read whole (agent_config_text). */
#define AGENT_CONFIG_MAX_TEXT (4u << 20)

/* The [registry] section (docs/certfleetd.8): the etcd registry this
 * agent registers with and takes its namespaces' rollouts from. */
#define AGENT_REGISTRY_MAX_ENDPOINTS 8
#define AGENT_REGISTRY_TTL_DEFAULT 30
#define AGENT_REGISTRY_TTL_MAX 3600
struct agent_registry {
	char *endpoints[AGENT_REGISTRY_MAX_ENDPOINTS]; /* "https://H:P" */
	size_t nendpoints;
	char *ca, *cert, *key; /* cert and key: NULL when not set (both) */
	char *user;            /* NULL: etcd without authentication */
	char *password_file;   /* with user */
	char *prefix;          /* "/certfleet" unless set */
	char *name;            /* the agent's fleet name; NULL: [agent] name */
	long lease_ttl;        /* seconds */
	char *advertise;       /* HOST:PORT for live; NULL: the listener's */
};

/* The other agents the console's fleet page asks (console_peers):
 * the browser asks each with the admin's certificate. */
#define AGENT_CONSOLE_PEERS_MAX 256
struct agent_console_peer {
	char *name;   /* a fleet name, as the admin calls that agent */
	char *origin; /* "https://host[:port]", as a browser's Origin
			 header writes it (lower case, no :443) */
};

/* Every string owned; paths absolute once loaded. */
struct agent_config {
	char *file;     /* the file read; NULL when the defaults were used */
	char *name;     /* the agent's name: host certificate CN, whoami */
	char *listen;   /* HOST:PORT of the HTTPS listener */
	char *socket;   /* Unix socket path; NULL when "none" */
	char *state;    /* state directory */
	char *admin_ca; /* file of CA certificates; NULL when unset */
	int workers;    /* worker threads */
	long max_connections; /* HTTPS connections at once; 0: from the fd
				 limit */
	long max_connections_per_address;
	long audit_keep_days;  /* prune records older; 0: keep for ever */
	long audit_max_rows;   /* refusal records kept; 0: no bound */
	char *metrics_listen;  /* loopback HOST:PORT for plain-HTTP GET
				  /metrics; NULL when none */
	char *acme_listen;     /* loopback HOST:PORT for the ACME HTTP-01
				  responder (http01.h); NULL when none */
	long probe_interval;   /* seconds between the services' probes */
	char **transfer_peers; /* "SHA256:…" of peer agents; NULL-ended */
	size_t ntransfer_peers;
	struct agent_console_peer *console_peers; /* in the file's order */
	size_t nconsole_peers;
	struct cf_services *services; /* [service NAME] sections; never NULL */
	struct agent_registry *registry; /* [registry]; NULL when none */
};

/*
 * The configuration file to read: opt (--config) when given, else
 * $CERTFLEETD_CONFIG, else the default.  *explicit says whether the
 * caller named it (a missing named file is an error; a missing default
 * means the defaults).
 */
const char *agent_config_path(const char *opt, int *explicit);

/*
 * 0 when file (open as f) and every directory above it are owned by root
 * or this user and writable by no one else (sticky directories aside);
 * -1 with CF_E_DENIED naming the path and the chown or chmod that fixes
 * it (config_trust.c).
 */
int agent_config_trusted(FILE *f, const char *file, struct cf_error *err);

/*
 * Reads path into a new configuration (caller frees).  Unknown sections
 * and keys, repeated keys and bad values are CF_E_USAGE naming
 * file:line.  A missing file is CF_E_IO, or the defaults when !explicit.
 */
struct agent_config *agent_config_load(
    const char *path, int explicit, struct cf_error *err);
/*
 * agent_config_load, and what check-config checks besides: the listen
 * address resolves, and the directories of every service's files and
 * its runtime API socket exist (CF_E_USAGE naming file:line).
 */
struct agent_config *agent_config_check(
    const char *path, int explicit, struct cf_error *err);
void agent_config_free(struct agent_config *c); /* NULL-safe */

/*
 * The text of the configuration file path, as agent_config_load would
 * trust it, into *text (cf_buf_clear it): *present 0, and no text, when
 * the file is missing and !explicit.  For a process that cannot open the
 * file itself (the network process on reload, storeproc.h).
 */
int agent_config_text(const char *path, int explicit, struct cf_buf *text,
    int *present, struct cf_error *err);
/*
 * agent_config_load of text, read from path by agent_config_text (NULL:
 * the file was missing: the defaults).
 */
struct agent_config *agent_config_from_text(
    const char *path, const struct cf_buf *text, struct cf_error *err);

/*
 * The registry's password: password_file read as the configuration is
 * trusted (agent_config_trusted), and refused unless it is a regular file
 * of mode 0600 or tighter; *pw new (cf_secret_free), the trailing line
 * break left out.  CF_E_DENIED/CF_E_IO/CF_E_USAGE naming the file.
 */
int agent_registry_password(const struct agent_registry *r,
    struct cf_secret **pw, struct cf_error *err);
/* Whether two [registry] sections (NULL: none) say the same. */
int config_registry_equal(
    const struct agent_registry *a, const struct agent_registry *b);
/* Swaps the [registry] of a and b: a reload keeps the running one. */
void config_registry_swap(struct agent_config *a, struct agent_config *b);
/* The fleet name the agent has in the registry (lent). */
const char *agent_registry_name(const struct agent_config *c);

/* "<state>/<leaf>", new. */
char *agent_state_path(const struct agent_config *c, const char *leaf);

#endif
