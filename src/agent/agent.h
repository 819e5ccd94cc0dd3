/*
 * agent.h - what the subcommands of certfleetd share: the table's
 * functions, the configuration and state they start from, how failures
 * are reported, readiness notification and listening sockets.
 */
#ifndef CFD_AGENT_H
#define CFD_AGENT_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/listener.h>

#include "config.h"
#include "error.h"
#include "store.h"
#include "version.h"

#define CFD_VERSION CF_VERSION

/* Files in the state directory. */
#define AGENT_KEY_FILE "agent.key"
#define AGENT_CERT_FILE "agent.crt"
#define AGENT_STORE_DIR "store"

int cmd_init(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_authorize(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_fingerprint(int argc, char **argv);
int cmd_clients(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* Options every command takes, to splice into its getopt table. */
#define AGENT_COMMON_OPTS                                                      \
	{"config", required_argument, NULL, 'c'},                              \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

/*
 * Reads the configuration (--config opt, $CERTFLEETD_CONFIG or the
 * default); NULL after a message on stderr.  *explicit (may be NULL)
 * says whether the file was named.
 */
struct agent_config *agent_open_config(
    const char *op, const char *opt, const char **path, int *explicit);

/* 1 when `certfleetd init` ran in c's state directory; else a message
 * on stderr and 0. */
int agent_initialized(const char *op, const struct agent_config *c);

/* mkdir -p dir: parents 0755, dir itself 0700 (tightened if it exists
 * and is ours). */
int agent_make_state_dir(const char *dir, struct cf_error *err);

/* Opens the store of an initialized state directory; NULL after a
 * message on stderr. */
struct cf_store *agent_open_store(const char *op, const struct agent_config *c);

/* The audit actor of a local command: "local:<user>". */
const char *agent_local_actor(void);

/* "certfleetd: <op>: <message>" on stderr; 2 for usage errors, else 1. */
int agent_fail(const char *op, const struct cf_error *err);
/* A usage error for op; returns 2. */
int agent_usage(const char *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reports an option getopt_long could not take; returns 2. */
int agent_bad_option(const char *op, int c, char **argv);

/*
 * Tells the service manager about state ("READY=1", "STOPPING=1"...)
 * on the datagram socket $NOTIFY_SOCKET names (a path, or '@' for the
 * abstract namespace).  0 when sent or when no manager listens.
 */
int agent_notify(const char *state);

/*
 * A listener on HOST:PORT (names resolved; "[v6]:port"), not yet
 * accepting.  The address actually bound, as HOST:PORT, into bound.
 */
struct evconnlistener *agent_listen_tcp(struct event_base *base,
    const char *hostport, char *bound, size_t boundlen, struct cf_error *err);

/*
 * A listener on the Unix socket path, mode 0660 (root-owned when run as
 * root).  A stale socket is replaced; one a running agent answers on is
 * CF_E_CONFLICT.  The socket's inode into *ino, for agent_unlisten_unix.
 */
struct evconnlistener *agent_listen_unix(struct event_base *base,
    const char *path, ino_t *ino, struct cf_error *err);
/* 1 when hostport ("127.0.0.1:9793", "[::1]:9793") names a loopback
 * address literally (127.0.0.0/8 or ::1); 0 otherwise, names included. */
int agent_hostport_loopback(const char *hostport);
/* Removes path if it is still the socket agent_listen_unix made. */
void agent_unlisten_unix(const char *path, ino_t ino);

#endif
