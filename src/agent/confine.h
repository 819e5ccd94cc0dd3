/*
 * confine.h - the network process of `certfleetd run` (the one that
 * parses what clients send: TLS, HTTP) gives up what it does not need
 * once it listens and the store process runs: every capability, and,
 * through Landlock, the file system except the directories a reload and
 * a stop need (docs/design.md, "Processes and privileges").
 */
#ifndef CFD_CONFINE_H
#define CFD_CONFINE_H

#include "error.h"

/*
 * What the network process may still touch: it reads the configuration
 * file and the admin CA again on SIGHUP (their directories, so that a
 * file an editor replaced is read too; the file alone when its directory
 * holds the state directory), and removes its Unix socket on stop.
 * Each may be NULL.
 */
struct confine_paths {
	const char *config;
	const char *admin_ca;
	const char *socket;
	const char *state;
};

/* Confines the calling process, for good; -1 with err when a step
 * failed (the caller must then not serve). */
int confine_network(const struct confine_paths *p, struct cf_error *err);

#endif
