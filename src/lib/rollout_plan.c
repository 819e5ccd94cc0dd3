/*
 * rollout_plan.c - a staged rollout's waves over a namespace's members:
 * see rollout_plan.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rollout_plan.h"
#include "util.h"

/* How many of n members have moved by the end of the wave item says
 * ("2" or "50%"); -1 when item is neither. */
static long
wave_reach(const char *item, size_t n)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)item[0]))
		return -1;
	v = strtol(item, &end, 10);
	if (v < 1 || (*end != '\0' && strcmp(end, "%") != 0) ||
	    (*end == '%' && v > 100))
		return -1;
	if (*end == '%') /* rounded up: 1% of 3 moves one */
		return (long)(((size_t)v * n + 99) / 100);
	return (size_t)v > n ? (long)n : v;
}

int
cf_rollout_plan(size_t n, const char *list, struct cf_wave **waves,
    size_t *nwaves, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL;
	size_t moved = 0;
	long reach;
	int rc = -1, all = 0;

	*waves = xcalloc(strlen(list) / 2 + 2, sizeof(**waves));
	*nwaves = 0;
	if (n == 0) {
		cf_errorf(err, CF_E_USAGE, "rollout: no members to move");
		goto out;
	}
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	     item = strtok_r(NULL, ", ", &save)) {
		if ((reach = wave_reach(item, n)) == -1 ||
		    strlen(item) >= sizeof((*waves)->spec)) {
			cf_errorf(err, CF_E_USAGE,
			    "--waves %s: %s: a wave is a count of servers (1 "
			    "or more) or a share of them (1%% to 100%%)",
			    list, item);
			goto out;
		}
		all = strcmp(item, "100%") == 0;
		if ((size_t)reach <= moved)
			continue; /* adds no one: dropped */
		(*waves)[*nwaves].first = moved;
		(*waves)[*nwaves].count = (size_t)reach - moved;
		strcpy((*waves)[*nwaves].spec, item);
		(*nwaves)++;
		moved = (size_t)reach;
	}
	if (!all || moved != n) {
		cf_errorf(err, CF_E_USAGE,
		    "--waves %s: the last wave is 100%% (every server), as in "
		    "1,100%%",
		    list);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*waves);
		*waves = NULL;
		*nwaves = 0;
	}
	free(copy);
	return rc;
}
