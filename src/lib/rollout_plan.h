/*
 * rollout_plan.h - which members a staged rollout moves in each wave.
 * A namespace's waves ("1,50%,100%") say how many members have moved by
 * the end of each wave: a count, or a share of the members rounded up
 * (so 1% of 3 is one server, never none).  Counts larger than the
 * members are capped.  The members move in the fleet file's order, each
 * in exactly one wave; a wave that would add no one (2,100% over one
 * member) is dropped, so every wave of a plan moves someone.
 */
#ifndef CF_ROLLOUT_PLAN_H
#define CF_ROLLOUT_PLAN_H

#include <stddef.h>

#include "error.h"

/* One wave: members [first, first + count) of the namespace's list. */
struct cf_wave {
	size_t first, count;
	char spec[8]; /* the item of the waves list that made it ("50%") */
};

/*
 * Splits n members (n >= 1) into the waves of list; *waves is new
 * (free), *nwaves >= 1.  -1 and CF_E_USAGE for a list that is not
 * increasing counts then shares ending at 100% (fleet_ns.c checks the
 * same when a namespace is stored), or for n == 0.
 */
int cf_rollout_plan(size_t n, const char *list, struct cf_wave **waves,
    size_t *nwaves, struct cf_error *err);

#endif
