/* lifetime.c - days or a share of the lifetime: see lifetime.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifetime.h"

#define DAY 86400.0

struct lifetime_limit
lifetime_share(double fraction)
{
	return (struct lifetime_limit){.is_share = 1, .fraction = fraction};
}

int
lifetime_limit_parse(const char *arg, struct lifetime_limit *l)
{
	char *end;
	double pct;
	long days;

	memset(l, 0, sizeof(*l));
	if (strchr(arg, '%') != NULL) {
		pct = strtod(arg, &end);
		if (end == arg || strcmp(end, "%") != 0 || !isfinite(pct) ||
		    pct < 0 || pct > 100 || arg[0] == '+' || arg[0] == ' ')
			return -1;
		*l = lifetime_share(pct / 100);
		return 0;
	}
	days = strtol(arg, &end, 10);
	if (end == arg || (*end != '\0' && strcmp(end, "d") != 0) || days < 0 ||
	    days > LIFETIME_MAX_DAYS || arg[0] == '+' || arg[0] == ' ')
		return -1;
	l->days = days;
	return 0;
}

double
lifetime_limit_seconds(
    const struct lifetime_limit *l, time_t not_before, time_t not_after)
{
	double life = difftime(not_after, not_before);

	if (!l->is_share)
		return (double)l->days * DAY;
	return life > 0 ? l->fraction * life : 0;
}

int
lifetime_limit_under(const struct lifetime_limit *l, time_t not_before,
    time_t not_after, time_t now)
{
	return difftime(not_after, now) <
	       lifetime_limit_seconds(l, not_before, not_after);
}

int
lifetime_limit_above(const struct lifetime_limit *a,
    const struct lifetime_limit *b, int *comparable)
{
	*comparable = a->is_share == b->is_share;
	if (!*comparable)
		return 1;
	return a->is_share ? a->fraction > b->fraction : a->days > b->days;
}

void
lifetime_limit_text(const struct lifetime_limit *l, char *buf, size_t n)
{
	char num[32];

	if (!l->is_share) {
		snprintf(buf, n, "%ldd", l->days);
		return;
	}
	lifetime_number(l->fraction * 100, num, sizeof(num));
	snprintf(buf, n, "%s%%", num);
}

void
lifetime_number(double v, char *buf, size_t n)
{
	size_t len;

	snprintf(buf, n, "%.1f", v);
	len = strlen(buf);
	if (len > 2 && strcmp(buf + len - 2, ".0") == 0)
		buf[len - 2] = '\0';
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
}
