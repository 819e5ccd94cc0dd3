/*
 * lifetime.h - "how soon" as certfleet's options say it: a number of
 * days ("30", "30d") or a share of a certificate's own lifetime ("33%"),
 * for get --expiring and test --warn-days / --crit-days.  A share scales
 * with the certificate, so that 47-day and 398-day ones are judged alike
 * (the alert rules of packaging/prometheus do the same).
 */
#ifndef CF_LIFETIME_H
#define CF_LIFETIME_H

#include <stddef.h>
#include <time.h>

#define LIFETIME_MAX_DAYS 36500L

struct lifetime_limit {
	int is_share;    /* given as a share of the lifetime */
	long days;       /* "30d": whole days, when not a share */
	double fraction; /* "33%": 0.33 of notAfter - notBefore */
};

/* A share of the lifetime, 0 to 1 (the defaults: 1.0 / 3, 1.0 / 6). */
struct lifetime_limit lifetime_share(double fraction);

/*
 * arg into *l: whole days ("30", "30d", at most LIFETIME_MAX_DAYS) or a
 * percentage of the lifetime ("33%", "12.5%", at most 100).  0, or -1
 * when arg is none of those; the caller words the usage error.
 */
int lifetime_limit_parse(const char *arg, struct lifetime_limit *l);

/* The seconds left at which l is reached for a certificate valid from
 * not_before to not_after; a share of a lifetime that is not positive is
 * 0. */
double lifetime_limit_seconds(
    const struct lifetime_limit *l, time_t not_before, time_t not_after);

/* Whether such a certificate has less than l left at now. */
int lifetime_limit_under(const struct lifetime_limit *l, time_t not_before,
    time_t not_after, time_t now);

/* Whether a lies further from expiry than b for every certificate: both
 * days or both shares, and a larger.  Limits of two kinds compare only
 * per certificate: *comparable is 0 then. */
int lifetime_limit_above(const struct lifetime_limit *a,
    const struct lifetime_limit *b, int *comparable);

/* l as the user writes it: "30d" or "33.3%", into buf. */
void lifetime_limit_text(const struct lifetime_limit *l, char *buf, size_t n);

/* v with one decimal, without a trailing ".0" ("12.3", "30", "-2.5"),
 * into buf: the numbers of the plugin's performance data. */
void lifetime_number(double v, char *buf, size_t n);

#endif
