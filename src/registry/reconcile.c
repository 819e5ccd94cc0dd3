/* reconcile.c - the one reconciler: see reconcile.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"
#include "util.h"

int
rc_desired_from(const char *key, const struct schema_desired *v, long long rev,
    struct rc_desired *d, struct cf_error *err)
{
	struct cf_error why;

	memset(d, 0, sizeof(*d));
	cf_error_clear(&why);
	if (v->rollout != NULL &&
	    schema_rollout_parse(v->rollout, v->agents, &d->r, &why) == -1)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: rollout: %s", key, why.msg);
	d->rev = rev;
	memcpy(d->thumbprint, v->thumbprint, sizeof(d->thumbprint));
	memcpy(d->id, v->id, sizeof(d->id));
	d->agents = v->agents;
	return 0;
}

int
rc_desired_set_plan(
    struct rc_desired *d, const struct schema_plan *plan, struct cf_error *err)
{
	size_t i;

	if (d->r.state == CF_RS_NONE || strcmp(plan->rollout, d->id) != 0)
		return cf_errorf(err, CF_E_CONFLICT,
		    "the plan is for rollout %.8s, the desired state's is %.8s",
		    plan->rollout, d->id[0] != '\0' ? d->id : "(none)");
	for (i = 0; i < plan->n; i++)
		if (plan->m[i].wave > d->r.nwaves)
			return cf_errorf(err, CF_E_CONFLICT,
			    "%s: wave %zu of a rollout of %zu waves",
			    plan->m[i].name, plan->m[i].wave, d->r.nwaves);
	cf_rstate_members_clear(&d->r);
	for (i = 0; i < plan->n; i++)
		cf_rstate_add(&d->r, plan->m[i].name, plan->m[i].wave);
	return 0;
}

void
rc_desired_clear(struct rc_desired *d)
{
	cf_rstate_clear(&d->r);
	memset(d, 0, sizeof(*d));
}

const struct rc_progress *
rc_progress_current(
    const struct rc_desired *d, const struct rc_progress *all, size_t n)
{
	const struct rc_progress *best = NULL;
	size_t i;

	if (d->rev == 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (all[i].p.desired_rev == d->rev &&
		    (best == NULL || all[i].mod_rev > best->mod_rev))
			best = &all[i];
	return best;
}

/* The wave the rollout's own state starts from (1 when unset). */
static size_t
start_wave(const struct rc_desired *d)
{
	return d->r.wave > 0 ? d->r.wave : 1;
}

enum rc_target
rc_target_of(
    const struct rc_desired *d, const struct rc_progress *p, const char *member)
{
	const struct cf_rstate_member *m;

	if (d->r.state == CF_RS_NONE)
		return rc_target_wave(d, p, 0);
	/* not a member: held even when done (reconcile.h) */
	m = cf_rstate_find(&d->r, member);
	return m != NULL ? rc_target_wave(d, p, m->wave) : RC_HOLD;
}

enum rc_target
rc_target_wave(
    const struct rc_desired *d, const struct rc_progress *p, size_t mwave)
{
	enum schema_phase phase;
	size_t wave;

	if (d->r.state == CF_RS_NONE || d->r.state == CF_RS_DONE ||
	    (p != NULL && p->p.phase == SCHEMA_PH_DONE))
		return d->thumbprint[0] != '\0' ? RC_NEW : RC_HOLD;
	/* Not in the rollout (no sealed key for this id) while it runs; a
	 * rollout the CLI drives itself (not the agents') is the CLI's to
	 * move and to put back. */
	if (mwave == 0 || !d->agents)
		return RC_HOLD;
	if (d->r.state == CF_RS_ABORTED)
		return RC_BEFORE;
	/* running (or stopped, which the CLI does not write for the
	 * agents: read as stopped at its wave) */
	wave = p != NULL ? p->p.wave : start_wave(d);
	phase = p != NULL ? p->p.phase
			  : (d->r.state == CF_RS_STOPPED ? SCHEMA_PH_STOPPED
							 : SCHEMA_PH_MOVING);
	if (phase == SCHEMA_PH_MOVING || phase == SCHEMA_PH_SOAK)
		return mwave <= wave ? RC_NEW : RC_HOLD;
	if (mwave < wave)
		return RC_NEW;
	return mwave == wave ? RC_BEFORE : RC_HOLD;
}

int
rc_status_done(const struct rc_desired *d, enum rc_target target,
    const struct schema_status *st)
{
	if (target == RC_HOLD)
		return 1;
	if (st == NULL || st->state != SCHEMA_ST_CONVERGED ||
	    strcmp(st->rollout, d->id) != 0)
		return 0;
	if (target == RC_BEFORE)
		return st->to_before;
	return !st->to_before && strcmp(st->target, d->thumbprint) == 0;
}

/* The state of member name among m[0..n), or NULL when the coordinator
 * knows nothing of it (not live, no status). */
static const struct rc_member *
member_of(const struct rc_member *m, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

/* Whether st is a failure to move to d's certificate reported for d
 * itself: a failure from before a --resume (an older desired_rev) is
 * the last attempt's, not this one's. */
static int
failed_now(const struct rc_desired *d, const struct schema_status *st)
{
	return st != NULL && st->state == SCHEMA_ST_FAILED &&
	       st->desired_rev == d->rev && !st->to_before &&
	       strcmp(st->rollout, d->id) == 0;
}

/* A new progress for d at wave in phase since now (fields new). */
static void
progress_new(const struct rc_desired *d, size_t wave, enum schema_phase phase,
    long long now, struct schema_progress *next)
{
	memset(next, 0, sizeof(*next));
	next->desired_rev = d->rev;
	memcpy(next->rollout, d->id, sizeof(next->rollout));
	next->wave = wave;
	next->phase = phase;
	next->since = now;
}

/* Adds name to next's pending members unless it is there. */
static void
pending_add(struct schema_progress *next, const char *name)
{
	size_t i;

	for (i = 0; i < next->npending; i++)
		if (strcmp(next->pending[i], name) == 0)
			return;
	next->pending = xrealloc(
	    next->pending, (next->npending + 1) * sizeof(*next->pending));
	next->pending[next->npending++] = xstrdup(name);
}

/* next's failure and pending members carried from cur. */
static void
carry(const struct rc_progress *cur, struct schema_progress *next)
{
	size_t i;

	for (i = 0; i < cur->p.npending; i++)
		pending_add(next, cur->p.pending[i]);
	if (cur->p.member != NULL)
		next->member = xstrdup(cur->p.member);
	if (cur->p.step != NULL)
		next->step = xstrdup(cur->p.step);
	if (cur->p.error != NULL)
		next->error = xstrdup(cur->p.error);
}

/* Where wave stands while it moves (or soaks): the first member that
 * failed (*failed, with *step and *error lent or for a timeout set
 * here), else how many live members still move (*waiting). */
struct wave_look {
	const char *failed, *step, *error;
	size_t waiting;
};

static void
wave_look(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    const struct rc_limits *lim, struct wave_look *w)
{
	const struct cf_rstate_member *rm;
	const struct rc_member *mm;
	size_t i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < d->r.n && w->failed == NULL; i++) {
		rm = &d->r.m[i];
		if (rm->wave != cur->p.wave)
			continue;
		mm = member_of(m, n, rm->name);
		if (mm != NULL && failed_now(d, mm->st)) {
			w->failed = rm->name;
			w->step = mm->st->step != NULL ? mm->st->step : "move";
			w->error = mm->st->error;
		} else if (mm != NULL && mm->live &&
			   !rc_status_done(d, RC_NEW, mm->st)) {
			w->waiting++;
			if (cur->p.phase == SCHEMA_PH_MOVING &&
			    now - cur->p.since >= lim->move_timeout_s) {
				w->failed = rm->name;
				w->step = "timeout";
			}
		}
	}
}

/* The members of cur's wave that neither live nor converged: pending. */
static void
wave_pending(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, struct schema_progress *next)
{
	const struct rc_member *mm;
	size_t i;

	for (i = 0; i < d->r.n; i++) {
		if (d->r.m[i].wave != cur->p.wave)
			continue;
		mm = member_of(m, n, d->r.m[i].name);
		if ((mm == NULL || !mm->live) &&
		    !rc_status_done(d, RC_NEW, mm != NULL ? mm->st : NULL))
			pending_add(next, d->r.m[i].name);
	}
}

/* The step from a wave moving or soaking. */
static int
step_moving(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    const struct rc_limits *lim, struct schema_progress *next,
    long long *wake_at)
{
	struct wave_look w;
	size_t wave = cur->p.wave;

	wave_look(d, cur, m, n, now, lim, &w);
	if (w.failed != NULL) {
		progress_new(d, wave, SCHEMA_PH_REVERTING, now, next);
		carry(cur, next);
		free(next->member);
		free(next->step);
		free(next->error);
		next->member = xstrdup(w.failed);
		next->step = xstrdup(w.step);
		next->error = w.error != NULL
				  ? xstrdup(w.error)
				  : xasprintf("did not converge within %ld s",
					lim->move_timeout_s);
		return 1;
	}
	if (cur->p.phase == SCHEMA_PH_SOAK) {
		if (now < cur->p.since + d->r.soak_s) {
			*wake_at = cur->p.since + d->r.soak_s;
			return 0;
		}
		progress_new(d, wave + 1, SCHEMA_PH_MOVING, now, next);
		carry(cur, next);
		return 1;
	}
	if (w.waiting > 0) {
		*wake_at = cur->p.since + lim->move_timeout_s;
		return 0;
	}
	/* the wave moved */
	if (wave >= d->r.nwaves)
		progress_new(d, wave, SCHEMA_PH_DONE, now, next);
	else if (d->r.soak_s > 0)
		progress_new(d, wave, SCHEMA_PH_SOAK, now, next);
	else
		progress_new(d, wave + 1, SCHEMA_PH_MOVING, now, next);
	carry(cur, next);
	wave_pending(d, cur, m, n, next);
	return 1;
}

/* The step from a wave reverting: stopped once every live member of it
 * is back, or when the revert timed out. */
static int
step_reverting(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    const struct rc_limits *lim, struct schema_progress *next,
    long long *wake_at)
{
	const struct rc_member *mm;
	size_t i, waiting = 0;

	for (i = 0; i < d->r.n; i++) {
		if (d->r.m[i].wave != cur->p.wave)
			continue;
		mm = member_of(m, n, d->r.m[i].name);
		if (mm != NULL && mm->live &&
		    !rc_status_done(d, RC_BEFORE, mm->st))
			waiting++;
	}
	if (waiting > 0 && now < cur->p.since + lim->revert_timeout_s) {
		*wake_at = cur->p.since + lim->revert_timeout_s;
		return 0;
	}
	progress_new(d, cur->p.wave, SCHEMA_PH_STOPPED, now, next);
	carry(cur, next);
	return 1;
}

int
rc_coord_step(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    const struct rc_limits *lim, struct schema_progress *next,
    long long *wake_at)
{
	static const struct rc_limits defaults = {
	    RC_MOVE_TIMEOUT_DEFAULT, RC_REVERT_TIMEOUT_DEFAULT};

	*wake_at = 0;
	memset(next, 0, sizeof(*next));
	if (lim == NULL)
		lim = &defaults;
	if (d->rev == 0 || !d->agents || d->r.state != CF_RS_RUNNING)
		return 0;
	if (cur == NULL) {
		progress_new(d, start_wave(d), SCHEMA_PH_MOVING, now, next);
		return 1;
	}
	switch (cur->p.phase) {
	case SCHEMA_PH_MOVING:
	case SCHEMA_PH_SOAK:
		return step_moving(d, cur, m, n, now, lim, next, wake_at);
	case SCHEMA_PH_REVERTING:
		return step_reverting(d, cur, m, n, now, lim, next, wake_at);
	case SCHEMA_PH_STOPPED:
	case SCHEMA_PH_DONE:
		break;
	}
	return 0;
}
