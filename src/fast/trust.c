/*
 * trust.c - the front-end's trust of a chain's top (status.h): only what
 * the store's trust memo says, as of the roots' file it names.  A top
 * the memo does not answer for needs OpenSSL: the listing is then
 * handed to the full certfleet (fast.h), which works it out and keeps
 * it for the next time.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fast.h"
#include "status.h"

static int unknown;  /* a top the memo did not answer for */
static int promised; /* every top was known before the listing */

int
cf_status_trust_top(struct cf_store *s, const struct cf_row *top,
    struct cf_status_trust **trust)
{
	int ok = cf_status_memo_get(s, top->f.thumbprint, NULL);

	(void)trust;
	if (ok == -1 && promised) {
		/* A self-signed certificate came or went since the check
		 * (its triggers empty the memo): what was printed stands
		 * for nothing. */
		fflush(stdout);
		fprintf(stderr, "certfleet: get: the store's trust anchors "
				"changed while it was listed; run get again\n");
		exit(1);
	}
	if (ok == -1)
		unknown = 1;
	return ok;
}

void
cf_status_trust_free(struct cf_status_trust *trust)
{
	(void)trust; /* the front-end keeps none */
}

void
cf_status_memo_flush(struct cf_store *s)
{
	(void)s; /* it learns nothing to keep */
}

void
fast_trust_promised(void)
{
	promised = 1;
}

int
fast_trust_unknown(void)
{
	return unknown;
}
