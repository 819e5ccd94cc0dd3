/*
 * reconcile.h - the one reconciler: what a member of a namespace must do,
 * and what the namespace's coordinator must write next, decided from what
 * the etcd registry holds (schema.h).  Pure: no I/O, no clock (callers
 * pass now), so that the agent (src/agent/registry*.c), the benchmark's
 * simulated agents (cf-etcd sim) and the CLI's `status` decide with the
 * same code, and the unit tests can walk every case.
 *
 * The model.  The CLI writes ns/<ns>/desired: the thumbprint, the
 * rollout (rollout_state.h: members with their waves, state running or
 * aborted, the wave to start from) and the rollout's id, each write a
 * new mod revision (desired_rev).  Coordinators write progress/<c>/<ns>
 * for that desired_rev; the progress that counts is the one for the
 * current desired_rev with the highest mod revision (a coordinator that
 * lost its lease can write no more: its writes are fenced on its
 * candidacy).  Each member decides its target from desired and that
 * progress alone; it writes its status, which the coordinator reads to
 * move the waves.
 */
#ifndef CF_RECONCILE_H
#define CF_RECONCILE_H

#include <stddef.h>

#include "rollout_state.h"
#include "schema.h"

/* The namespace as the registry holds it, parsed. */
struct rc_desired {
	long long rev; /* mod revision of ns/<ns>/desired; 0: no key */
	char thumbprint[CF_THUMB_LEN + 1];
	char id[33];
	int agents;         /* the agents drive the rollout */
	struct cf_rstate r; /* CF_RS_NONE: no rollout */
};
/* d from a parsed value and its revision (r parsed by cf_rstate_parse);
 * CF_E_PARSE naming key.  rc_desired_clear frees.  An agents' rollout
 * (d->agents) comes with no members in desired (schema.h): d->r.n is 0
 * until rc_desired_set_plan. */
int rc_desired_from(const char *key, const struct schema_desired *v,
    long long rev, struct rc_desired *d, struct cf_error *err);
void rc_desired_clear(struct rc_desired *d);
/* The members and waves of d's rollout from its plan (waves/<ns>), for
 * the coordinator and the CLI: d->r's members replaced.  CF_E_CONFLICT
 * when plan is for another rollout id, or names a wave beyond d's
 * nwaves. */
int rc_desired_set_plan(
    struct rc_desired *d, const struct schema_plan *plan, struct cf_error *err);

/* One progress record, as read, with its key's mod revision. */
struct rc_progress {
	char coordinator[SCHEMA_NAME_MAX + 1];
	long long mod_rev;
	struct schema_progress p;
};
/* The record that counts for d among n (NULL when none is for d->rev),
 * lent. */
const struct rc_progress *rc_progress_current(
    const struct rc_desired *d, const struct rc_progress *all, size_t n);

enum rc_target {
	RC_HOLD,   /* nothing to do: leave the services as they are */
	RC_NEW,    /* serve d->thumbprint on the namespace's services */
	RC_BEFORE, /* put back what the services had before the rollout */
};

/*
 * What member must serve, from d and the progress that counts (p, may
 * be NULL):
 *   no rollout, or it is done (or p says done): RC_NEW (RC_HOLD when d
 *     has no thumbprint);
 *   aborted: RC_BEFORE;
 *   running, with p moving or soaking wave w (no p: the rollout's own
 *     wave): RC_NEW for members of waves <= w, RC_HOLD after;
 *   running, with p reverting or stopped at wave w: RC_NEW before w,
 *     RC_BEFORE in w, RC_HOLD after.
 * A name that is not a member of the rollout: RC_HOLD (RC_NEW when there
 * is no rollout and the caller is a member of the namespace).
 */
enum rc_target rc_target_of(const struct rc_desired *d,
    const struct rc_progress *p, const char *member);
/*
 * The same for a member that knows its wave (from its sealed key; 0:
 * not in the rollout, which is RC_HOLD while it runs): what a member
 * decides with, since an agents' rollout has no members in desired.
 * rc_target_of(d, p, m) is rc_target_wave(d, p, m's wave in d->r).
 * Wave 0 when the rollout is done (or p says done) is RC_NEW, as with no
 * rollout: a member with no sealed key for a finished rollout serves the
 * namespace's thumbprint; rc_target_of still holds a name it does not
 * find among d->r's members.
 */
enum rc_target rc_target_wave(
    const struct rc_desired *d, const struct rc_progress *p, size_t wave);

/*
 * Whether status st (NULL: none yet) already says member did what
 * target asks for this desired: converged, for the same rollout id,
 * on d->thumbprint (RC_NEW) or on what it had before (RC_BEFORE).
 * RC_HOLD is always done.
 */
int rc_status_done(const struct rc_desired *d, enum rc_target target,
    const struct schema_status *st);

/* What the coordinator knows of one member. */
struct rc_member {
	const char *name;
	int live;                       /* agents/<name>/live exists */
	const struct schema_status *st; /* NULL: none */
};

/* Limits the coordinator waits within (seconds). */
struct rc_limits {
	long move_timeout_s;   /* a live member that has not converged
				  after this fails its wave ("timeout") */
	long revert_timeout_s; /* a wave still reverting after this
				  stops anyway */
};
#define RC_MOVE_TIMEOUT_DEFAULT 300
#define RC_REVERT_TIMEOUT_DEFAULT 300

/*
 * The coordinator's next step for d, with cur the progress that counts
 * (NULL: none for d->rev), the members' states (n), now and lim:
 *   returns 1 and fills *next (new: schema_progress_clear) when a new
 *   progress must be written: the first one for a running rollout
 *   (moving its wave), a wave moved (soak, or the next wave, or done),
 *   a soak over, a failure (reverting, naming member, step, error), a
 *   revert finished (stopped);
 *   returns 0 when there is nothing to write now; *wake_at is then the
 *   unix time at which to decide again without news (0: only on news).
 * A member that is not live when its wave moves is pending: it does not
 * hold the wave back and converges when it returns.  Nothing is written
 * for a rollout that is aborted, done or not the agents'.
 */
int rc_coord_step(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    const struct rc_limits *lim, struct schema_progress *next,
    long long *wake_at);

#endif
