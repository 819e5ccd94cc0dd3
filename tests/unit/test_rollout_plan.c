/*
 * test_rollout_plan.c - a rollout's waves over a namespace's members:
 * every member in exactly one wave, in order, counts capped, shares
 * rounded up, waves that add no one dropped, bad lists refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rollout_plan.h"

/* The plan of n members as "spec:first+count ..." ("error" on -1). */
static char *
plan_text(size_t n, const char *list)
{
	static char text[256];
	struct cf_wave *w = NULL;
	struct cf_error err;
	size_t nw = 0, i, len = 0;

	if (cf_rollout_plan(n, list, &w, &nw, &err) == -1) {
		CHECK(err.code == CF_E_USAGE && w == NULL && nw == 0,
		    "a refused list: CF_E_USAGE, no waves");
		return strcpy(text, "error");
	}
	text[0] = '\0';
	for (i = 0; i < nw; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s%s:%zu+%zu", i ? " " : "", w[i].spec, w[i].first,
		    w[i].count);
	free(w);
	return text;
}

static void
test_canary_then_rest(void)
{
	CHECK_STR(plan_text(3, "1,100%"), "1:0+1 100%:1+2", "1,100% of 3");
	CHECK_STR(plan_text(1, "1,100%"), "1:0+1", "1,100% of 1: one wave");
	CHECK_STR(plan_text(2, "1,100%"), "1:0+1 100%:1+1", "1,100% of 2");
}

static void
test_shares(void)
{
	CHECK_STR(plan_text(4, "1,50%,100%"), "1:0+1 50%:1+1 100%:2+2",
	    "1,50%,100% of 4");
	CHECK_STR(plan_text(2, "1,50%,100%"), "1:0+1 100%:1+1",
	    "1,50%,100% of 2: 50% adds no one, dropped");
	CHECK_STR(plan_text(3, "1,50%,100%"), "1:0+1 50%:1+1 100%:2+1",
	    "1,50%,100% of 3: 50% rounds up to 2");
	CHECK_STR(plan_text(3, "100%"), "100%:0+3", "100%: one wave");
	CHECK_STR(
	    plan_text(200, "1%,100%"), "1%:0+2 100%:2+198", "1% of 200 is 2");
	CHECK_STR(plan_text(3, "1%,100%"), "1%:0+1 100%:1+2",
	    "1% of 3 rounds up to 1");
}

static void
test_counts_capped(void)
{
	CHECK_STR(plan_text(1, "2,100%"), "2:0+1",
	    "2,100% of 1: capped, the 100% wave adds no one");
	CHECK_STR(plan_text(3, "1,10,100%"), "1:0+1 10:1+2",
	    "1,10,100% of 3: 10 capped at 3");
	CHECK_STR(plan_text(5, "1, 2 ,100%"), "1:0+1 2:1+1 100%:2+3",
	    "spaces in the list");
}

static void
test_refused(void)
{
	CHECK_STR(plan_text(0, "1,100%"), "error", "no members");
	CHECK_STR(plan_text(3, "1,50%"), "error", "not ending at 100%");
	CHECK_STR(
	    plan_text(1, "1"), "error", "a count last, even if it covers");
	CHECK_STR(plan_text(3, "x,100%"), "error", "not a wave");
	CHECK_STR(plan_text(3, "0,100%"), "error", "a count of 0");
	CHECK_STR(plan_text(3, "1,101%"), "error", "over 100%");
	CHECK_STR(plan_text(3, ""), "error", "an empty list");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("canary_then_rest"))
		test_canary_then_rest();
	if (check_test("shares"))
		test_shares();
	if (check_test("counts_capped"))
		test_counts_capped();
	if (check_test("refused"))
		test_refused();
	return check_done();
}
