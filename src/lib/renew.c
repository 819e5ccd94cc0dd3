/* renew.c - when a namespace's certificate is renewed: see renew.h. */

#include "renew.h"

/* The wait before the attempt after `failures` failed ones, seconds. */
static double
retry_wait(double life, double left, int failures)
{
	double w = life / 512, cap = life / 32;
	int i;

	for (i = 1; i < failures && w < cap; i++)
		w *= 2;
	if (w > cap)
		w = cap;
	if (left > 0 && w > left / 4)
		w = left / 4;
	return w < CF_RENEW_RETRY_MIN ? CF_RENEW_RETRY_MIN : w;
}

int
cf_renew_when(const struct cf_renew_in *in, struct cf_renew_out *out)
{
	const struct lifetime_limit def =
	    lifetime_share(CF_RENEW_SHARE_DEFAULT);
	double life = difftime(in->not_after, in->not_before);
	double left = difftime(in->not_after, in->now), pick;
	time_t due;

	if (!(life > 0))
		return -1;
	out->why = CF_RENEW_LIMIT;
	due = in->not_after -
	      (time_t)lifetime_limit_seconds(in->at != NULL ? in->at : &def,
		  in->not_before, in->not_after);
	if (in->have_ari && in->ari_end > in->ari_start &&
	    in->ari_end <= in->not_after) {
		pick = in->pick < 0 ? 0 : in->pick > 1 ? 1 : in->pick;
		due = in->ari_start +
		      (time_t)(pick * difftime(in->ari_end, in->ari_start));
		out->why = CF_RENEW_ARI;
	}
	if (in->failures > 0) {
		time_t again = in->last_failure +
			       (time_t)retry_wait(life, left, in->failures);

		if (again > due) {
			due = again;
			out->why = CF_RENEW_RETRY;
		}
	}
	if (left <= 0 && in->failures == 0) {
		due = in->now;
		out->why = CF_RENEW_EXPIRED;
	}
	out->due = due;
	out->now = due <= in->now;
	return 0;
}

const char *
cf_renew_why_text(enum cf_renew_why why)
{
	switch (why) {
	case CF_RENEW_ARI:
		return "the CA's renewal window (ARI)";
	case CF_RENEW_RETRY:
		return "a retry after a failed attempt";
	case CF_RENEW_EXPIRED:
		return "the certificate has expired";
	default:
		return "the renew-at share of the lifetime";
	}
}
