/*
 * registry.h - the agent's side of the etcd registry ([registry] in
 * agent.conf, man 8 certfleetd): a thread of the network process that
 * registers the agent (agents/<a>/live under a lease, agents/<a>/identity),
 * watches the fleet, moves the agent's own services to what each of its
 * namespaces wants (through the store process, as a local root caller
 * with the actor "registry"), says so in agents/<a>/status/<ns>, and,
 * where it is the namespace's coordinator, moves the rollout's waves
 * (progress/<a>/<ns>).  The keys and values are schema.h's; every
 * decision is reconcile.h's.
 *
 *   registry.c         the thread, the lease, the list and the watch
 *   registry_member.c  what a member does: the store process's operations
 *   registry_coord.c   membership, candidacy, the coordinator, the
 *                      decisions after every change
 *
 * When etcd cannot be reached the agent serves its API as ever; the
 * thread retries with backoff and says so once per outage in the log.
 */
#ifndef CFD_REGISTRY_H
#define CFD_REGISTRY_H

#include "config.h"
#include "error.h"
#include "storeproc.h"

struct registry;

/*
 * A registry for c (c->registry set), to be started by registry_start:
 * reads the password, the etcd TLS files and the agent's identity
 * certificate now, so that it can be called before the process confines
 * itself.  advertise: the address for the live key when c does not say
 * (the bound listener).  ch: the store process's channel it alone uses.
 * NULL with err (naming the file).
 */
struct registry *registry_new(const struct agent_config *c,
    const char *advertise, struct storeproc_chan *ch, struct cf_error *err);
/* Starts the thread; -1 with err. */
int registry_start(struct registry *r, struct cf_error *err);
/* Stops the thread (the lease is revoked when etcd answers within a
 * second) and frees r; NULL-safe. */
void registry_free(struct registry *r);

#endif
