/*
 * test_rollout_state.c - a rollout's state: which member state may
 * follow which, what a wave's members make of it, which commands the
 * state allows, what a revert touches, and the file's JSON read back
 * as written (and refused when it is not whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rollout_state.h"

#define T_OLD "1111111111111111111111111111111111111111"
#define T_NEW "2222222222222222222222222222222222222222"

/* A rollout of T_NEW over ex1 (wave 1), ex2 and ex3 (wave 2). */
static void
three(struct cf_rstate *st)
{
	memset(st, 0, sizeof(*st));
	st->state = CF_RS_RUNNING;
	memcpy(st->certificate, T_NEW, sizeof(st->certificate));
	st->from = strdup("ex1");
	st->waves = strdup("1,100%");
	st->nwaves = 2;
	st->wave = 1;
	cf_rstate_add(st, "ex1", 1);
	cf_rstate_add(st, "ex2", 2);
	cf_rstate_add(st, "ex3", 2);
}

/* Whether member m may go to state to (and goes there when it may). */
static int
go(struct cf_rstate_member *m, enum cf_rstate_mstate to)
{
	struct cf_error err;

	return cf_rstate_member_set(m, to, "step", NULL, 1, &err) == 0;
}

static void
test_transitions(void)
{
	struct cf_rstate st;
	struct cf_rstate_member *m;
	struct cf_error err;

	three(&st);
	m = cf_rstate_find(&st, "ex2");
	CHECK(
	    m != NULL && m->state == CF_RM_WAITING, "a member starts waiting");
	CHECK(!go(m, CF_RM_REVERTED), "waiting: never touched, not reverted");
	CHECK(go(m, CF_RM_PENDING), "waiting -> pending");
	CHECK(!go(m, CF_RM_REVERTED), "pending: never touched, not reverted");
	CHECK(go(m, CF_RM_MOVED), "pending -> moved (resumed)");
	CHECK(!go(m, CF_RM_PENDING), "moved -> pending refused: it answered");
	CHECK(go(m, CF_RM_FAILED), "moved -> failed (its test)");
	CHECK(go(m, CF_RM_REVERTED), "failed -> reverted (abort)");
	CHECK(go(m, CF_RM_PENDING), "reverted -> pending (down at resume)");
	CHECK(go(m, CF_RM_MOVED), "pending -> moved (resumed)");
	CHECK(!go(m, CF_RM_WAITING), "none goes back to waiting");
	CHECK(
	    cf_rstate_member_set(m, CF_RM_WAITING, NULL, NULL, 5, &err) == -1 &&
		err.code == CF_E_INTERNAL && strstr(err.msg, "ex2") != NULL,
	    "a refused change: CF_E_INTERNAL naming the member");
	CHECK(m->state == CF_RM_MOVED, "a refused change changes nothing");
	CHECK(cf_rstate_member_set(
		  m, CF_RM_FAILED, "deploy", "reload failed", 42, &err) == 0 &&
		  strcmp(m->step, "deploy") == 0 &&
		  strcmp(m->error, "reload failed") == 0 && m->at == 42,
	    "a change records its step, error and time");
	CHECK(go(m, CF_RM_MOVED) && m->error == NULL,
	    "the next change clears the error");
	cf_rstate_clear(&st);
}

static void
test_waves(void)
{
	struct cf_rstate st;

	three(&st);
	CHECK(cf_rstate_wave_outcome(&st, 2) == CF_RW_PENDING,
	    "a wave not run yet: not done");
	go(cf_rstate_find(&st, "ex1"), CF_RM_MOVED);
	CHECK(cf_rstate_wave_outcome(&st, 1) == CF_RW_DONE,
	    "wave 1: its one member moved: done");
	go(cf_rstate_find(&st, "ex2"), CF_RM_MOVED);
	go(cf_rstate_find(&st, "ex3"), CF_RM_PENDING);
	CHECK(cf_rstate_wave_outcome(&st, 2) == CF_RW_PENDING,
	    "one moved, one pending: pending");
	go(cf_rstate_find(&st, "ex3"), CF_RM_FAILED);
	CHECK(cf_rstate_wave_outcome(&st, 2) == CF_RW_FAILED,
	    "one failed: failed");
	CHECK(cf_rstate_wave_outcome(&st, 1) == CF_RW_DONE,
	    "another wave's failure is not wave 1's");
	go(cf_rstate_find(&st, "ex3"), CF_RM_MOVED);
	CHECK(cf_rstate_wave_outcome(&st, 2) == CF_RW_DONE, "both moved: done");
	st.error = strdup("through the balancer: another certificate");
	CHECK(cf_rstate_wave_outcome(&st, 2) == CF_RW_FAILED,
	    "the balancer's failure fails the wave");
	cf_rstate_clear(&st);
}

static void
test_reverts(void)
{
	struct cf_rstate st;
	struct cf_rstate_member *m;

	three(&st);
	m = cf_rstate_find(&st, "ex1");
	CHECK(!cf_rstate_member_reverts(m), "waiting: nothing to put back");
	go(m, CF_RM_MOVED);
	CHECK(!cf_rstate_member_reverts(m),
	    "moved, but what it had is not known: not put back");
	cf_rstate_prev_set(m, "https", T_OLD);
	cf_rstate_prev_set(m, "smtp", "");
	CHECK(cf_rstate_member_reverts(m), "moved, with what it had: put back");
	CHECK_STR(cf_rstate_prev_get(m, "https"), T_OLD, "https had T_OLD");
	CHECK_STR(cf_rstate_prev_get(m, "smtp"), "", "smtp had none");
	CHECK(cf_rstate_prev_get(m, "imap") == NULL, "imap: not known");
	cf_rstate_prev_set(m, "https", T_NEW);
	CHECK(
	    m->nprev == 2 && strcmp(cf_rstate_prev_get(m, "https"), T_NEW) == 0,
	    "set again: replaced, not added");
	go(m, CF_RM_FAILED);
	CHECK(cf_rstate_member_reverts(m), "failed: put back");
	go(m, CF_RM_REVERTED);
	CHECK(!cf_rstate_member_reverts(m), "reverted: not again");
	CHECK(cf_rstate_member_todo(m), "reverted: a resume moves it");
	go(m, CF_RM_MOVED);
	CHECK(!cf_rstate_member_todo(m), "moved: a resume leaves it");
	cf_rstate_clear(&st);
}

static void
test_commands(void)
{
	struct cf_rstate st;
	struct cf_error err;

	memset(&st, 0, sizeof(st));
	CHECK(cf_rstate_check_start(&st, "ns", &err) == 0,
	    "never rolled out: start");
	CHECK(cf_rstate_check_resume(&st, "ns", &err) == -1 &&
		  strstr(err.msg, "no rollout to resume") != NULL,
	    "never rolled out: nothing to resume");
	CHECK(cf_rstate_check_abort(&st, "ns", &err) == -1,
	    "never rolled out: nothing to abort");
	three(&st);
	CHECK(cf_rstate_check_start(&st, "ns", &err) == -1 &&
		  err.code == CF_E_CONFLICT && strstr(err.msg, "--resume"),
	    "running: a new rollout is refused, naming --resume");
	CHECK(cf_rstate_check_resume(&st, "ns", &err) == 0 &&
		  cf_rstate_check_abort(&st, "ns", &err) == 0,
	    "running (a killed CLI): resume and abort");
	st.state = CF_RS_STOPPED;
	CHECK(cf_rstate_check_start(&st, "ns", &err) == -1,
	    "stopped: a new rollout is refused");
	CHECK(cf_rstate_check_resume(&st, "ns", &err) == 0, "stopped: resume");
	st.state = CF_RS_DONE;
	CHECK(
	    cf_rstate_check_start(&st, "ns", &err) == 0, "done: a new rollout");
	CHECK(cf_rstate_check_resume(&st, "ns", &err) == -1,
	    "done: nothing to resume");
	CHECK(cf_rstate_check_abort(&st, "ns", &err) == 0,
	    "done: abort puts it back");
	st.state = CF_RS_ABORTED;
	CHECK(cf_rstate_check_abort(&st, "ns", &err) == -1 &&
		  strstr(err.msg, "aborted already") != NULL,
	    "aborted: not twice");
	CHECK(cf_rstate_check_start(&st, "ns", &err) == 0,
	    "aborted: a new rollout");
	cf_rstate_clear(&st);
}

/* st written and read back, written again, as text (new). */
static char *
round_trip(const struct cf_rstate *st, int *ok)
{
	struct cf_rstate back;
	struct cf_error err;
	json_t *a = cf_rstate_json(st), *b;
	char *text = json_dumps(a, JSON_SORT_KEYS), *again;

	*ok = cf_rstate_parse(a, &back, &err) == 0;
	b = cf_rstate_json(&back);
	again = json_dumps(b, JSON_SORT_KEYS);
	*ok = *ok && strcmp(text, again) == 0;
	free(again);
	json_decref(a);
	json_decref(b);
	cf_rstate_clear(&back);
	return text;
}

static void
test_json(void)
{
	struct cf_rstate st, back;
	struct cf_error err;
	json_t *o;
	char *text;
	int ok;

	three(&st);
	st.state = CF_RS_STOPPED;
	st.wave = 2;
	memcpy(st.previous, T_OLD, sizeof(st.previous));
	cf_rstate_prev_set(cf_rstate_find(&st, "ex1"), "https", T_OLD);
	cf_rstate_member_set(cf_rstate_find(&st, "ex3"), CF_RM_FAILED, "deploy",
	    "reload failed", 7, &err);
	text = round_trip(&st, &ok);
	CHECK(ok, "written, read back, written again: the same");
	CHECK(strstr(text, "\"state\": \"stopped\"") != NULL &&
		  strstr(text, "\"error\": \"reload failed\"") != NULL &&
		  strstr(text, "\"https\": \"" T_OLD "\"") != NULL &&
		  strstr(text, "\"waves\": [\"1\", \"100%\"]") != NULL,
	    "the file's form: state, member errors, previous, waves");
	free(text);

	o = cf_rstate_json(&st);
	json_object_set_new(o, "wave", json_integer(3));
	CHECK(cf_rstate_parse(o, &back, &err) == -1 && err.code == CF_E_PARSE,
	    "a wave past nwaves is refused");
	json_object_set_new(o, "wave", json_integer(2));
	json_object_set_new(o, "certificate", json_string("abc"));
	CHECK(cf_rstate_parse(o, &back, &err) == -1, "a bad thumbprint");
	json_object_set_new(o, "certificate", json_string(T_NEW));
	json_object_set_new(json_array_get(json_object_get(o, "members"), 1),
	    "state", json_string("lost"));
	CHECK(cf_rstate_parse(o, &back, &err) == -1 &&
		  strstr(err.msg, "members[1]") != NULL,
	    "an unknown member state, named by its index");
	json_object_set_new(json_array_get(json_object_get(o, "members"), 1),
	    "state", json_string("moved"));
	json_object_set_new(json_array_get(json_object_get(o, "members"), 1),
	    "name", json_string("ex1"));
	CHECK(cf_rstate_parse(o, &back, &err) == -1, "a member named twice");
	json_object_set_new(json_array_get(json_object_get(o, "members"), 1),
	    "name", json_string("ex2"));
	CHECK(cf_rstate_parse(o, &back, &err) == 0 && back.n == 3 &&
		  back.m[1].state == CF_RM_MOVED,
	    "whole again: read");
	cf_rstate_clear(&back);
	json_decref(o);
	cf_rstate_clear(&st);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("transitions"))
		test_transitions();
	if (check_test("waves"))
		test_waves();
	if (check_test("reverts"))
		test_reverts();
	if (check_test("commands"))
		test_commands();
	if (check_test("json"))
		test_json();
	return check_done();
}
