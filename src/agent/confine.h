/*
 * confine.h - the network process of `certfleetd run` (the one that
 * parses what clients send: TLS, HTTP) gives up what it does not need
 * once it listens and the store process runs: every capability, and,
 * through Landlock, the file system (docs/design.md, "Processes and
 * privileges").
 */
#ifndef CFD_CONFINE_H
#define CFD_CONFINE_H

#include "error.h"

/*
 * Confines the calling process, for good: it may still remove a file in
 * the directory of socket (its Unix socket, may be NULL) and, with
 * resolve (an etcd registry is configured: its endpoints are resolved
 * at each connection), read the resolver's files (/etc/hosts,
 * /etc/resolv.conf, /etc/nsswitch.conf, /etc/host.conf, /etc/gai.conf),
 * and nothing else on the file system.  -1 with err when a step failed
 * (the caller must then not serve).
 */
int confine_network(const char *socket, int resolve, struct cf_error *err);

#endif
