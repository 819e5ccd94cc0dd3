/*
 * store_metrics.h - what the store process counts and probes for GET
 * /metrics (docs/metrics.md): API replies by route and status, deploys
 * and rollbacks by outcome, and a background thread that handshakes
 * with every service's check endpoint each probe_interval, so that a
 * scrape reads cached results and never waits for a handshake.
 * Process-wide: one store process, one set of counters.
 */
#ifndef CFD_STORE_METRICS_H
#define CFD_STORE_METRICS_H

#include "config.h"
#include "error.h"
#include "store.h"

/* Counts one reply of the API (any thread); after an enable, replace
 * or import ... answered 200, has the assignments read and every
 * service probed again at once. */
void store_metrics_request(const char *method, const char *path, int status);

/* The deploy observer (deploy.h): counts deploys and rollbacks. */
void store_metrics_deploy(const char *kind, const char *outcome);

/*
 * Starts the probe thread on a store connection of its own in dir, for
 * c's services every c->probe_interval seconds (c is lent until
 * store_metrics_stop).  -1 with err when it cannot.
 */
int store_metrics_start(
    const struct agent_config *c, const char *dir, struct cf_error *err);
/* Stops and joins the probe thread; a no-op when none runs. */
void store_metrics_stop(void);

/*
 * The whole scrape, for the agent called agent with store s: build
 * info, the certificates, the services' last probes and the counters.
 * 0 and *text (new); -1 with err.
 */
int store_metrics_render(
    struct cf_store *s, const char *agent, char **text, struct cf_error *err);

#endif
