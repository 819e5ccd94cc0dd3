/*
 * test_reconcile.c - the one reconciler (src/registry/reconcile.c): what
 * each member serves for every rollout state and phase, when a status
 * says a member is done, which progress counts, and every step of the
 * coordinator from the first progress to done or stopped, including a
 * new coordinator that takes over and progress left from an older
 * desired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "reconcile.h"

#define T_OLD "1111111111111111111111111111111111111111"
#define T_NEW "2222222222222222222222222222222222222222"
#define ID "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"

/* A running rollout of the agents at desired revision rev to T_NEW:
 * ex1 in wave 1, ex2 and ex3 in wave 2, ex4 in wave 3. */
static void
desired(struct rc_desired *d, long long rev, long soak_s)
{
	memset(d, 0, sizeof(*d));
	d->rev = rev;
	memcpy(d->thumbprint, T_NEW, sizeof(d->thumbprint));
	memcpy(d->id, ID, sizeof(d->id));
	d->agents = 1;
	d->r.state = CF_RS_RUNNING;
	memcpy(d->r.certificate, T_NEW, sizeof(d->r.certificate));
	d->r.wave = 1;
	d->r.nwaves = 3;
	d->r.soak_s = soak_s;
	cf_rstate_add(&d->r, "ex1", 1);
	cf_rstate_add(&d->r, "ex2", 2);
	cf_rstate_add(&d->r, "ex3", 2);
	cf_rstate_add(&d->r, "ex4", 3);
}

/* A progress record by coordinator c. */
static void
progress(struct rc_progress *p, const char *c, long long mod_rev,
    long long desired_rev, size_t wave, enum schema_phase phase,
    long long since)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->coordinator, sizeof(p->coordinator), "%s", c);
	p->mod_rev = mod_rev;
	p->p.desired_rev = desired_rev;
	memcpy(p->p.rollout, ID, sizeof(p->p.rollout));
	p->p.wave = wave;
	p->p.phase = phase;
	p->p.since = since;
}

/* A status converged (or failed, error not NULL) on target (NULL: back
 * to before) for rollout id at desired revision rev. */
static void
status(struct schema_status *st, const char *id, long long rev,
    const char *target, const char *error)
{
	memset(st, 0, sizeof(*st));
	st->desired_rev = rev;
	snprintf(st->rollout, sizeof(st->rollout), "%s", id);
	if (target != NULL)
		snprintf(st->target, sizeof(st->target), "%s", target);
	st->to_before = target == NULL;
	st->state = error != NULL ? SCHEMA_ST_FAILED : SCHEMA_ST_CONVERGED;
	st->error = (char *)error;
	st->step = error != NULL ? "deploy" : NULL;
}

static void
test_target(void)
{
	struct rc_desired d;
	struct rc_progress p;

	desired(&d, 10, 0);
	CHECK(rc_target_of(&d, NULL, "ex1") == RC_NEW &&
		  rc_target_of(&d, NULL, "ex2") == RC_HOLD,
	    "running, no progress: the rollout's wave moves, later ones hold");
	progress(&p, "c", 20, 10, 2, SCHEMA_PH_MOVING, 0);
	CHECK(rc_target_of(&d, &p, "ex1") == RC_NEW &&
		  rc_target_of(&d, &p, "ex3") == RC_NEW &&
		  rc_target_of(&d, &p, "ex4") == RC_HOLD,
	    "moving wave 2: waves 1 and 2 new, wave 3 holds");
	p.p.phase = SCHEMA_PH_SOAK;
	CHECK(rc_target_of(&d, &p, "ex2") == RC_NEW &&
		  rc_target_of(&d, &p, "ex4") == RC_HOLD,
	    "soaking wave 2: as moving");
	p.p.phase = SCHEMA_PH_REVERTING;
	CHECK(rc_target_of(&d, &p, "ex1") == RC_NEW &&
		  rc_target_of(&d, &p, "ex2") == RC_BEFORE &&
		  rc_target_of(&d, &p, "ex4") == RC_HOLD,
	    "reverting wave 2: wave 1 keeps new, wave 2 goes back");
	p.p.phase = SCHEMA_PH_STOPPED;
	CHECK(rc_target_of(&d, &p, "ex3") == RC_BEFORE &&
		  rc_target_of(&d, &p, "ex1") == RC_NEW,
	    "stopped at wave 2: as reverting");
	p.p.phase = SCHEMA_PH_DONE;
	CHECK(rc_target_of(&d, &p, "ex4") == RC_NEW,
	    "progress done: every member new");
	CHECK(rc_target_of(&d, &p, "ex9") == RC_HOLD,
	    "not a member of the rollout: hold");

	d.r.state = CF_RS_ABORTED;
	CHECK(rc_target_of(&d, NULL, "ex4") == RC_BEFORE,
	    "aborted: every member back to before");
	CHECK(rc_target_of(&d, NULL, "ex9") == RC_HOLD,
	    "aborted, not a member: hold");
	d.r.state = CF_RS_DONE;
	CHECK(rc_target_of(&d, NULL, "ex4") == RC_NEW, "done: new");
	d.thumbprint[0] = '\0';
	CHECK(rc_target_of(&d, NULL, "ex4") == RC_HOLD,
	    "done without a thumbprint: hold");
	memcpy(d.thumbprint, T_NEW, sizeof(d.thumbprint));
	d.r.state = CF_RS_RUNNING;
	d.agents = 0;
	CHECK(rc_target_of(&d, NULL, "ex1") == RC_HOLD,
	    "a running rollout the CLI drives: the agents hold");
	rc_desired_clear(&d);

	memset(&d, 0, sizeof(d));
	d.rev = 3;
	memcpy(d.thumbprint, T_NEW, sizeof(d.thumbprint));
	CHECK(rc_target_of(&d, NULL, "ex7") == RC_NEW,
	    "no rollout: the namespace's member serves the thumbprint");
	d.thumbprint[0] = '\0';
	CHECK(rc_target_of(&d, NULL, "ex7") == RC_HOLD,
	    "no rollout, no thumbprint: hold");
}

static void
test_done(void)
{
	struct rc_desired d;
	struct schema_status st;

	desired(&d, 10, 0);
	CHECK(rc_status_done(&d, RC_HOLD, NULL), "hold is always done");
	CHECK(!rc_status_done(&d, RC_NEW, NULL), "no status: not done");
	status(&st, ID, 10, T_NEW, NULL);
	CHECK(rc_status_done(&d, RC_NEW, &st), "converged on new: done");
	CHECK(!rc_status_done(&d, RC_BEFORE, &st),
	    "converged on new is not back to before");
	st.desired_rev = 4;
	CHECK(rc_status_done(&d, RC_NEW, &st),
	    "an older desired of the same rollout (a --resume) still done");
	status(&st, ID2, 10, T_NEW, NULL);
	CHECK(!rc_status_done(&d, RC_NEW, &st),
	    "converged for another rollout: not done");
	status(&st, ID, 10, T_OLD, NULL);
	CHECK(!rc_status_done(&d, RC_NEW, &st),
	    "converged on another thumbprint: not done");
	status(&st, ID, 10, T_NEW, "disk full");
	CHECK(!rc_status_done(&d, RC_NEW, &st), "failed: not done");
	st.state = SCHEMA_ST_WORKING;
	st.error = NULL;
	CHECK(!rc_status_done(&d, RC_NEW, &st), "working: not done");
	status(&st, ID, 10, NULL, NULL);
	CHECK(rc_status_done(&d, RC_BEFORE, &st) &&
		  !rc_status_done(&d, RC_NEW, &st),
	    "back to before: done for before only");
	rc_desired_clear(&d);
}

static void
test_current(void)
{
	struct rc_desired d;
	struct rc_progress all[3];

	desired(&d, 10, 0);
	CHECK(rc_progress_current(&d, NULL, 0) == NULL, "no progress: none");
	progress(&all[0], "a", 30, 10, 1, SCHEMA_PH_MOVING, 0);
	progress(&all[1], "b", 35, 10, 2, SCHEMA_PH_MOVING, 0);
	progress(&all[2], "c", 50, 8, 3, SCHEMA_PH_MOVING, 0);
	CHECK(rc_progress_current(&d, all, 3) == &all[1],
	    "the highest mod revision for this desired counts");
	CHECK(rc_progress_current(&d, all + 2, 1) == NULL,
	    "progress for an older desired does not count");
	d.rev = 0;
	CHECK(rc_progress_current(&d, all, 3) == NULL,
	    "no desired key: no progress counts");
	rc_desired_clear(&d);
}

static int
step(const struct rc_desired *d, const struct rc_progress *cur,
    const struct rc_member *m, size_t n, long long now,
    struct schema_progress *next, long long *wake)
{
	struct rc_limits lim = {100, 50};

	return rc_coord_step(d, cur, m, n, now, &lim, next, wake);
}

/* The walk of a three-wave rollout with a soak: first progress, wave 1
 * moved, soak, wave 2 with a member away (pending), wave 3, done. */
static void
test_coord_walk(void)
{
	struct rc_desired d;
	struct rc_progress cur;
	struct schema_progress next;
	struct schema_status s1, s2, s4;
	struct rc_member m[] = {{"ex1", 1, NULL}, {"ex2", 1, NULL},
	    {"ex3", 0, NULL}, {"ex4", 1, NULL}};
	long long wake;

	desired(&d, 10, 30);
	CHECK(step(&d, NULL, m, 4, 1000, &next, &wake) == 1 && next.wave == 1 &&
		  next.phase == SCHEMA_PH_MOVING && next.desired_rev == 10 &&
		  strcmp(next.rollout, ID) == 0 && next.since == 1000,
	    "first progress: wave 1 moving");
	schema_progress_clear(&next);

	progress(&cur, "c", 11, 10, 1, SCHEMA_PH_MOVING, 1000);
	CHECK(step(&d, &cur, m, 4, 1010, &next, &wake) == 0 && wake == 1100,
	    "wave 1 not moved yet: nothing, wake at the move timeout");
	status(&s1, ID, 10, T_NEW, NULL);
	m[0].st = &s1;
	CHECK(step(&d, &cur, m, 4, 1020, &next, &wake) == 1 && next.wave == 1 &&
		  next.phase == SCHEMA_PH_SOAK && next.since == 1020,
	    "wave 1 moved: soak");
	schema_progress_clear(&next);

	progress(&cur, "c", 12, 10, 1, SCHEMA_PH_SOAK, 1020);
	CHECK(step(&d, &cur, m, 4, 1030, &next, &wake) == 0 && wake == 1050,
	    "soaking: nothing, wake at its end");
	CHECK(step(&d, &cur, m, 4, 1050, &next, &wake) == 1 && next.wave == 2 &&
		  next.phase == SCHEMA_PH_MOVING,
	    "soak over: wave 2 moving");
	schema_progress_clear(&next);

	progress(&cur, "c", 13, 10, 2, SCHEMA_PH_MOVING, 1050);
	CHECK(step(&d, &cur, m, 4, 1060, &next, &wake) == 0 && wake == 1150,
	    "wave 2: ex2 live and moving holds the wave");
	status(&s2, ID, 10, T_NEW, NULL);
	m[1].st = &s2;
	CHECK(step(&d, &cur, m, 4, 1070, &next, &wake) == 1 &&
		  next.phase == SCHEMA_PH_SOAK && next.wave == 2 &&
		  next.npending == 1 && strcmp(next.pending[0], "ex3") == 0,
	    "ex3 not live: pending, does not hold wave 2");
	schema_progress_clear(&next);

	progress(&cur, "c", 14, 10, 2, SCHEMA_PH_SOAK, 1070);
	cur.p.pending = (char *[]){"ex3"};
	cur.p.npending = 1;
	CHECK(step(&d, &cur, m, 4, 1100, &next, &wake) == 1 && next.wave == 3 &&
		  next.phase == SCHEMA_PH_MOVING && next.npending == 1,
	    "soak over: wave 3, ex3 still pending");
	schema_progress_clear(&next);

	progress(&cur, "c", 15, 10, 3, SCHEMA_PH_MOVING, 1100);
	status(&s4, ID, 10, T_NEW, NULL);
	m[3].st = &s4;
	CHECK(step(&d, &cur, m, 4, 1110, &next, &wake) == 1 && next.wave == 3 &&
		  next.phase == SCHEMA_PH_DONE,
	    "last wave moved: done, no soak after it");
	schema_progress_clear(&next);

	progress(&cur, "c", 16, 10, 3, SCHEMA_PH_DONE, 1110);
	CHECK(step(&d, &cur, m, 4, 1200, &next, &wake) == 0 && wake == 0,
	    "done: nothing more");
	rc_desired_clear(&d);
}

static void
test_coord_soak0(void)
{
	struct rc_desired d;
	struct rc_progress cur;
	struct schema_progress next;
	struct schema_status s1;
	struct rc_member m[] = {{"ex1", 1, &s1}};
	long long wake;

	desired(&d, 10, 0);
	status(&s1, ID, 10, T_NEW, NULL);
	progress(&cur, "c", 11, 10, 1, SCHEMA_PH_MOVING, 1000);
	CHECK(step(&d, &cur, m, 1, 1001, &next, &wake) == 1 && next.wave == 2 &&
		  next.phase == SCHEMA_PH_MOVING,
	    "soak 0: the next wave at once");
	schema_progress_clear(&next);
	rc_desired_clear(&d);
}

/* A failure in wave 2: reverting, naming the member; back, stopped. */
static void
test_coord_failure(void)
{
	struct rc_desired d;
	struct rc_progress cur;
	struct schema_progress next;
	struct schema_status s2, s3;
	struct rc_member m[] = {{"ex2", 1, &s2}, {"ex3", 1, &s3}};
	long long wake;

	desired(&d, 10, 0);
	status(&s2, ID, 10, T_NEW, NULL);
	status(&s3, ID, 10, T_NEW, "no space left");
	progress(&cur, "c", 11, 10, 2, SCHEMA_PH_MOVING, 1000);
	CHECK(step(&d, &cur, m, 2, 1005, &next, &wake) == 1 &&
		  next.phase == SCHEMA_PH_REVERTING && next.wave == 2 &&
		  strcmp(next.member, "ex3") == 0 &&
		  strcmp(next.step, "deploy") == 0 &&
		  strcmp(next.error, "no space left") == 0,
	    "a failure: the wave reverts, naming member, step and error");
	schema_progress_clear(&next);

	s3.desired_rev = 9;
	CHECK(step(&d, &cur, m, 2, 1005, &next, &wake) == 0,
	    "a failure from an older desired (before --resume) ignored");

	progress(&cur, "c", 12, 10, 2, SCHEMA_PH_REVERTING, 1005);
	cur.p.member = "ex3";
	cur.p.step = "deploy";
	cur.p.error = "no space left";
	CHECK(step(&d, &cur, m, 2, 1010, &next, &wake) == 0 && wake == 1055,
	    "reverting: live members not back yet, wake at the timeout");
	status(&s2, ID, 10, NULL, NULL);
	CHECK(step(&d, &cur, m, 2, 1020, &next, &wake) == 0,
	    "one member back is not the wave");
	status(&s3, ID, 10, NULL, NULL);
	CHECK(step(&d, &cur, m, 2, 1030, &next, &wake) == 1 &&
		  next.phase == SCHEMA_PH_STOPPED && next.wave == 2 &&
		  strcmp(next.member, "ex3") == 0 &&
		  strcmp(next.error, "no space left") == 0,
	    "the wave back: stopped, the failure kept");
	schema_progress_clear(&next);

	status(&s3, ID, 10, T_NEW, NULL);
	CHECK(step(&d, &cur, m, 2, 1055, &next, &wake) == 1 &&
		  next.phase == SCHEMA_PH_STOPPED,
	    "a revert past its timeout stops anyway");
	schema_progress_clear(&next);

	progress(&cur, "c", 13, 10, 2, SCHEMA_PH_STOPPED, 1055);
	CHECK(step(&d, &cur, m, 2, 2000, &next, &wake) == 0 && wake == 0,
	    "stopped: nothing until --resume");
	rc_desired_clear(&d);
}

static void
test_coord_timeout(void)
{
	struct rc_desired d;
	struct rc_progress cur;
	struct schema_progress next;
	struct rc_member m[] = {{"ex1", 1, NULL}};
	long long wake;

	desired(&d, 10, 0);
	progress(&cur, "c", 11, 10, 1, SCHEMA_PH_MOVING, 1000);
	CHECK(step(&d, &cur, m, 1, 1099, &next, &wake) == 0 && wake == 1100,
	    "a live member moving within the timeout holds the wave");
	CHECK(step(&d, &cur, m, 1, 1100, &next, &wake) == 1 &&
		  next.phase == SCHEMA_PH_REVERTING &&
		  strcmp(next.member, "ex1") == 0 &&
		  strcmp(next.step, "timeout") == 0 &&
		  strstr(next.error, "100 s") != NULL,
	    "past the move timeout: the wave fails on a timeout");
	schema_progress_clear(&next);
	rc_desired_clear(&d);
}

/* Coordinator b takes over from a's progress: it goes on from a's
 * wave, and progress from an older desired counts for nothing. */
static void
test_coord_takeover(void)
{
	struct rc_desired d;
	struct rc_progress all[2];
	const struct rc_progress *cur;
	struct schema_progress next;
	struct schema_status s2, s3;
	struct rc_member m[] = {
	    {"ex1", 0, NULL}, {"ex2", 1, &s2}, {"ex3", 1, &s3}};
	long long wake;

	desired(&d, 10, 0);
	progress(&all[0], "a", 14, 10, 2, SCHEMA_PH_MOVING, 1000);
	progress(&all[1], "b", 9, 7, 1, SCHEMA_PH_MOVING, 900);
	status(&s2, ID, 10, T_NEW, NULL);
	status(&s3, ID, 10, T_NEW, NULL);
	cur = rc_progress_current(&d, all, 2);
	CHECK(cur == &all[0], "a's progress counts for b");
	CHECK(step(&d, cur, m, 3, 1010, &next, &wake) == 1 && next.wave == 3 &&
		  next.phase == SCHEMA_PH_MOVING,
	    "b goes on to wave 3; wave 1 (ex1 away) not moved again");
	schema_progress_clear(&next);

	cur = rc_progress_current(&d, all + 1, 1);
	CHECK(cur == NULL && step(&d, cur, m, 3, 1010, &next, &wake) == 1 &&
		  next.wave == 1 && next.desired_rev == 10,
	    "only stale progress: a first progress for this desired");
	schema_progress_clear(&next);

	d.r.wave = 2;
	CHECK(step(&d, NULL, m, 3, 1010, &next, &wake) == 1 && next.wave == 2,
	    "a resumed rollout starts from its own wave");
	schema_progress_clear(&next);
	rc_desired_clear(&d);
}

static void
test_coord_nothing(void)
{
	struct rc_desired d;
	struct schema_progress next;
	struct rc_member m[] = {{"ex1", 1, NULL}};
	long long wake = 5;

	desired(&d, 10, 0);
	d.r.state = CF_RS_ABORTED;
	CHECK(step(&d, NULL, m, 1, 1000, &next, &wake) == 0 && wake == 0,
	    "aborted: nothing written");
	d.r.state = CF_RS_DONE;
	CHECK(step(&d, NULL, m, 1, 1000, &next, &wake) == 0,
	    "done: nothing written");
	d.r.state = CF_RS_RUNNING;
	d.agents = 0;
	CHECK(step(&d, NULL, m, 1, 1000, &next, &wake) == 0,
	    "the CLI's rollout: nothing written");
	d.agents = 1;
	CHECK(rc_coord_step(&d, NULL, m, 1, 1000, NULL, &next, &wake) == 1,
	    "running (default limits): first progress written");
	schema_progress_clear(&next);
	rc_desired_clear(&d);
	memset(&d, 0, sizeof(d));
	d.rev = 4;
	d.agents = 1;
	memcpy(d.thumbprint, T_NEW, sizeof(d.thumbprint));
	CHECK(step(&d, NULL, m, 1, 1000, &next, &wake) == 0,
	    "no rollout: nothing written");
}

static void
test_desired_from(void)
{
	struct schema_desired v;
	struct rc_desired d;
	struct cf_error err;
	json_error_t je;

	memset(&v, 0, sizeof(v));
	memcpy(v.thumbprint, T_NEW, sizeof(v.thumbprint));
	memcpy(v.id, ID, sizeof(v.id));
	v.agents = 1;
	v.rollout = json_loads(
	    "{\"state\":\"running\",\"certificate\":\"" T_NEW
	    "\",\"from\":\"ex0\","
	    "\"waves\":[\"1\",\"100%\"],\"soak\":5,\"wave\":1,\"nwaves\":2,"
	    "\"started\":1,\"updated\":2,\"members\":[{\"name\":\"ex1\","
	    "\"wave\":1,\"state\":\"waiting\",\"at\":2}]}",
	    0, &je);
	CHECK(rc_desired_from("K", &v, 77, &d, &err) == 0 && d.rev == 77 &&
		  d.agents && strcmp(d.id, ID) == 0 &&
		  d.r.state == CF_RS_RUNNING && d.r.soak_s == 5 && d.r.n == 1,
	    "desired from a parsed value");
	rc_desired_clear(&d);
	json_object_set_new(v.rollout, "state", json_string("odd"));
	CHECK(rc_desired_from("/k/desired", &v, 77, &d, &err) == -1 &&
		  strstr(err.msg, "/k/desired: ") == err.msg,
	    "a rollout that does not parse refused, naming the key");
	schema_desired_clear(&v);
}

/* rc_target_wave: what a member that knows only its wave decides. */
static void
test_target_wave(void)
{
	struct rc_desired d;
	struct rc_progress p;

	desired(&d, 10, 0);
	CHECK(rc_target_wave(&d, NULL, 1) == RC_NEW &&
		  rc_target_wave(&d, NULL, 2) == RC_HOLD,
	    "wave: running, no progress: wave 1 moves, wave 2 holds");
	CHECK(rc_target_wave(&d, NULL, 0) == RC_HOLD,
	    "wave 0 (no sealed key) is hold while running");
	progress(&p, "c", 20, 10, 2, SCHEMA_PH_MOVING, 0);
	CHECK(rc_target_wave(&d, &p, 2) == RC_NEW &&
		  rc_target_wave(&d, &p, 3) == RC_HOLD &&
		  rc_target_wave(&d, &p, 0) == RC_HOLD,
	    "wave: moving wave 2: 2 new, 3 and 0 hold");
	p.p.phase = SCHEMA_PH_REVERTING;
	CHECK(rc_target_wave(&d, &p, 1) == RC_NEW &&
		  rc_target_wave(&d, &p, 2) == RC_BEFORE &&
		  rc_target_wave(&d, &p, 3) == RC_HOLD,
	    "wave: reverting wave 2: 1 new, 2 before, 3 holds");
	d.r.state = CF_RS_ABORTED;
	CHECK(rc_target_wave(&d, NULL, 3) == RC_BEFORE &&
		  rc_target_wave(&d, NULL, 0) == RC_HOLD,
	    "wave: aborted: members before, wave 0 holds");
	d.r.state = CF_RS_RUNNING;
	p.p.phase = SCHEMA_PH_DONE;
	CHECK(rc_target_wave(&d, &p, 0) == RC_NEW &&
		  rc_target_wave(&d, &p, 3) == RC_NEW,
	    "wave 0 is new when the progress says done");
	d.r.state = CF_RS_DONE;
	CHECK(rc_target_wave(&d, NULL, 0) == RC_NEW, "wave 0 is new when done");
	CHECK(rc_target_of(&d, NULL, "ex4") == rc_target_wave(&d, NULL, 3),
	    "target of a member is the target of its wave");
	rc_desired_clear(&d);
	memset(&d, 0, sizeof(d));
	d.rev = 3;
	memcpy(d.thumbprint, T_NEW, sizeof(d.thumbprint));
	CHECK(rc_target_wave(&d, NULL, 0) == RC_NEW,
	    "wave 0 is new when there is no rollout");
}

/* An agents' desired without members, then its plan. */
static void
test_set_plan(void)
{
	struct schema_plan_member pm[] = {{"ex1", 1}, {"ex2", 2}, {"ex3", 2}};
	struct schema_plan plan = {ID, pm, 3};
	struct schema_desired v;
	struct rc_desired d;
	struct cf_error err;
	json_error_t je;

	memset(&v, 0, sizeof(v));
	memcpy(v.thumbprint, T_NEW, sizeof(v.thumbprint));
	memcpy(v.id, ID, sizeof(v.id));
	v.agents = 1;
	v.rollout = json_loads(
	    "{\"state\":\"running\",\"certificate\":\"" T_NEW
	    "\",\"from\":\"ex0\","
	    "\"waves\":[\"1\",\"100%\"],\"soak\":5,\"wave\":1,\"nwaves\":2,"
	    "\"started\":1,\"updated\":2,\"members\":[]}",
	    0, &je);
	CHECK(rc_desired_from("K", &v, 77, &d, &err) == 0 &&
		  d.r.state == CF_RS_RUNNING && d.r.nwaves == 2 && d.r.n == 0 &&
		  d.r.m == NULL,
	    "an agents' rollout without members read");
	CHECK(rc_target_of(&d, NULL, "ex1") == RC_HOLD,
	    "before its plan, nobody is a member");
	CHECK(rc_desired_set_plan(&d, &plan, &err) == 0 && d.r.n == 3 &&
		  rc_target_of(&d, NULL, "ex1") == RC_NEW &&
		  rc_target_of(&d, NULL, "ex2") == RC_HOLD &&
		  rc_target_of(&d, NULL, "ex9") == RC_HOLD,
	    "the plan fills the members and their waves");
	CHECK(rc_desired_set_plan(&d, &plan, &err) == 0 && d.r.n == 3,
	    "the plan again replaces, does not add");
	plan.rollout[0] = 'f';
	CHECK(rc_desired_set_plan(&d, &plan, &err) == -1 &&
		  err.code == CF_E_CONFLICT && d.r.n == 3,
	    "a plan for another rollout refused, members kept");
	plan.rollout[0] = '0';
	pm[2].wave = 3;
	CHECK(rc_desired_set_plan(&d, &plan, &err) == -1 &&
		  err.code == CF_E_CONFLICT && d.r.n == 3,
	    "a plan with a wave beyond nwaves refused");
	rc_desired_clear(&d);
	json_object_del(v.rollout, "members");
	CHECK(rc_desired_from("K", &v, 77, &d, &err) == 0 && d.r.n == 0,
	    "an agents' rollout with no members key read");
	rc_desired_clear(&d);
	v.agents = 0;
	json_object_set_new(v.rollout, "members", json_array());
	CHECK(rc_desired_from("K", &v, 77, &d, &err) == -1,
	    "a rollout the CLI drives still needs its members");
	schema_desired_clear(&v);
	memset(&d, 0, sizeof(d));
	CHECK(rc_desired_set_plan(&d, &plan, &err) == -1,
	    "a plan for a namespace with no rollout refused");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("target"))
		test_target();
	if (check_test("done"))
		test_done();
	if (check_test("current"))
		test_current();
	if (check_test("walk"))
		test_coord_walk();
	if (check_test("soak0"))
		test_coord_soak0();
	if (check_test("failure"))
		test_coord_failure();
	if (check_test("timeout"))
		test_coord_timeout();
	if (check_test("takeover"))
		test_coord_takeover();
	if (check_test("nothing"))
		test_coord_nothing();
	if (check_test("desired-from"))
		test_desired_from();
	if (check_test("target-wave"))
		test_target_wave();
	if (check_test("set-plan"))
		test_set_plan();
	return check_done();
}
