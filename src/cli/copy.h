/*
 * copy.h - one certificate, with its key and chain, from one agent to
 * others: the transfer that `copy` and `replace` share, so the rules on
 * what may leave an agent are written once.
 */
#ifndef CF_CLI_COPY_H
#define CF_CLI_COPY_H

#include "backend.h"

/* What to copy, and how the copies are made. */
struct copy_job {
	const char *from;        /* the source's name, for messages */
	const struct cf_view *v; /* the certificate there (get) */
	const char *services;    /* for the copies, or NULL; a target that
				    lacks one skips it and says so */
	int exportable;          /* the copies' flag; -1: as the source's */
};

/*
 * Copies job->v from src (one agent) to every target of dst whose reply
 * in r is to do: PKCS#12 under a one-time password (256 random bits made
 * here, never on disk or screen) when the key is exportable there, else
 * sealed by the source to the targets' identities (transfer.h), when
 * both sides allow it.  The source's audit names the targets.  Each
 * reply to do gets its import's results or its error.  *sealed (may be
 * NULL) says which way went.  0; or -1 when the source would not or
 * could not export (err; CF_E_DENIED for a key that may not leave it),
 * and then no target was touched: the replies still to do are as they
 * were.
 */
int copy_run(struct backend *src, struct backend *dst,
    const struct copy_job *job, struct backend_reply *r, int *sealed,
    struct cf_error *err);

/*
 * A backend for the agents of list (fleet names, "all"), whatever the
 * global --server says: 0 or an exit status (after a message naming
 * op).
 */
int copy_open_agents(const char *op, const char *list, struct backend **b);

#endif
