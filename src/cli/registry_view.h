/*
 * registry_view.h - what the agents have made of the namespaces of an
 * etcd registry, as `status`, `namespace show|list` and `rollout` show
 * it: ns/<ns>/desired merged with the progress that counts
 * (reconcile.h), every agents/<a>/status/<ns> and agents/<a>/live, into
 * the rollout state of rollout_state.h (the file registry's), so that
 * both registries print the same columns.  Read once per command: one
 * range over the prefix.
 */
#ifndef CF_CLI_REGISTRY_VIEW_H
#define CF_CLI_REGISTRY_VIEW_H

#include "etcd.h"
#include "fleet.h"
#include "reconcile.h"

/* The range read. */
struct rview {
	char *prefix;
	struct etcd_reply *reply;
};

/* One namespace as the agents have it. */
struct rview_ns {
	struct rc_desired d;     /* d.rev 0: no desired key */
	struct rc_progress *all; /* every progress/<c>/<ns> */
	size_t nall;
	const struct rc_progress *cur; /* the one that counts, or NULL */
	struct cf_rstate st; /* merged; CF_RS_NONE without a rollout */
	char coordinator[SCHEMA_NAME_MAX + 1]; /* "" none stands */
	int agents; /* the agents drive its rollout */
};

/* Whether f's registry is etcd. */
int rview_wanted(const struct fleet *f);
/* Reads the range for f's registry into *v; -1 with err (and the
 * registry's hint). */
int rview_read(const struct fleet *f, struct rview *v, struct cf_error *err);
void rview_clear(struct rview *v); /* zeroes it */

/*
 * Namespace ns of v, merged into *out (rview_ns_clear); CF_E_PARSE
 * naming ns's desired state when it does not parse.  What an agent
 * wrote that does not parse counts for nothing (a status: the member's
 * error says why), so that one agent cannot blind status to the rest.
 * Members: moved (converged on the certificate for this rollout),
 * failed (its status, or the progress's failure), reverted (back on
 * what it had), pending (its wave reached it and it is not live, or
 * the coordinator found it so), waiting (otherwise); seen and at from
 * its status's time.  The rollout: aborted (desired says so), done or
 * stopped (the progress says so), else running in the progress's wave.
 */
int rview_ns_get(const struct rview *v, const char *ns, struct rview_ns *out,
    struct cf_error *err);
void rview_ns_clear(struct rview_ns *n);

/* The failing member of n's current progress, lent, or NULL. */
const char *rview_failing(const struct rview_ns *n);
/* The current progress's phase name, or NULL. */
const char *rview_phase(const struct rview_ns *n);

/* The merged state name of ns's rollout ("running" ...; static) when
 * f's registry is etcd and the agents drive it, else NULL (then desired
 * or the fleet file says).  Reads the registry once per process. */
const char *rview_run_name(const struct fleet *f, const char *ns);

#endif
