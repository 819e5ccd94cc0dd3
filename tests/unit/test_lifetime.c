/*
 * test_lifetime.c - src/lib/lifetime.c: the days or share of the
 * lifetime that get --expiring and test --warn-days / --crit-days take,
 * when a certificate is under one, and how they compare and print.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "lifetime.h"

#define DAY 86400

static void
test_parse(void)
{
	struct lifetime_limit l;

	CHECK(
	    lifetime_limit_parse("30", &l) == 0 && !l.is_share && l.days == 30,
	    "parse: 30 is days");
	CHECK(
	    lifetime_limit_parse("30d", &l) == 0 && !l.is_share && l.days == 30,
	    "parse: 30d is days");
	CHECK(
	    lifetime_limit_parse("0", &l) == 0 && l.days == 0, "parse: 0 days");
	CHECK(lifetime_limit_parse("36500d", &l) == 0, "parse: 36500 days");
	CHECK(lifetime_limit_parse("36501", &l) == -1,
	    "parse: 36501 days is too many");
	CHECK(lifetime_limit_parse("33%", &l) == 0 && l.is_share &&
		  l.fraction > 0.3299 && l.fraction < 0.3301,
	    "parse: 33% is a share");
	CHECK(lifetime_limit_parse("16.7%", &l) == 0 && l.is_share &&
		  l.fraction > 0.1669 && l.fraction < 0.1671,
	    "parse: 16.7% has a decimal");
	CHECK(lifetime_limit_parse("100%", &l) == 0, "parse: 100%");
	CHECK(lifetime_limit_parse("101%", &l) == -1, "parse: 101% is refused");
	CHECK(lifetime_limit_parse("-1", &l) == -1, "parse: -1 is refused");
	CHECK(lifetime_limit_parse("-5%", &l) == -1, "parse: -5% is refused");
	CHECK(lifetime_limit_parse("", &l) == -1, "parse: empty is refused");
	CHECK(lifetime_limit_parse("30w", &l) == -1, "parse: 30w is refused");
	CHECK(lifetime_limit_parse("3.5d", &l) == -1, "parse: days are whole");
	CHECK(lifetime_limit_parse("33%%", &l) == -1, "parse: 33%% is refused");
	CHECK(lifetime_limit_parse("%", &l) == -1, "parse: % alone is refused");
	CHECK(lifetime_limit_parse("nan%", &l) == -1, "parse: nan% is refused");
	CHECK(lifetime_limit_parse(" 30", &l) == -1,
	    "parse: a leading blank is refused");
}

/* A 47-day certificate, 12 days left at now: a third of 47 is 15.7 days,
 * a sixth 7.8. */
static void
test_under(void)
{
	time_t now = 1700000000, nb = now - 35 * DAY, na = now + 12 * DAY;
	struct lifetime_limit third = lifetime_share(1.0 / 3);
	struct lifetime_limit sixth = lifetime_share(1.0 / 6);
	struct lifetime_limit d;

	CHECK(lifetime_limit_under(&third, nb, na, now),
	    "under: 12 of 47 days is under a third");
	CHECK(!lifetime_limit_under(&sixth, nb, na, now),
	    "under: 12 of 47 days is not under a sixth");
	lifetime_limit_parse("12", &d);
	CHECK(!lifetime_limit_under(&d, nb, na, now),
	    "under: exactly 12 days left is not under 12");
	CHECK(lifetime_limit_under(&d, nb, na, now + 1),
	    "under: a second later it is");
	lifetime_limit_parse("30", &d);
	CHECK(!lifetime_limit_under(&d, now - 368 * DAY, now + 30 * DAY, now),
	    "under: 398 days, 30 left is not under 30 days");
	CHECK(
	    lifetime_limit_under(&third, now - 368 * DAY, now + 30 * DAY, now),
	    "under: but under a third of 398 days");
	CHECK(lifetime_limit_under(&sixth, now - 40 * DAY, now - DAY, now),
	    "under: expired is under any share");
	CHECK(lifetime_limit_seconds(&third, na, na) == 0 &&
		  !lifetime_limit_under(&third, na, na, now),
	    "under: no lifetime, no share of it");
	CHECK(lifetime_limit_seconds(&d, nb, na) == 30.0 * DAY,
	    "seconds: 30 days");
}

static void
test_compare_and_text(void)
{
	struct lifetime_limit a, b;
	char buf[32];
	int comparable;

	lifetime_limit_parse("30", &a);
	lifetime_limit_parse("10d", &b);
	CHECK(lifetime_limit_above(&a, &b, &comparable) && comparable,
	    "above: 30 days over 10");
	CHECK(!lifetime_limit_above(&b, &a, &comparable) && comparable,
	    "above: 10 days not over 30");
	CHECK(!lifetime_limit_above(&a, &a, &comparable),
	    "above: equal is not above");
	lifetime_limit_parse("20%", &b);
	CHECK(lifetime_limit_above(&a, &b, &comparable) && !comparable,
	    "above: days and a share compare per certificate only");
	lifetime_limit_parse("10%", &a);
	CHECK(!lifetime_limit_above(&a, &b, &comparable) && comparable,
	    "above: 10% not over 20%");

	lifetime_limit_text(&b, buf, sizeof(buf));
	CHECK_STR(buf, "20%", "text: 20%");
	a = lifetime_share(1.0 / 3);
	lifetime_limit_text(&a, buf, sizeof(buf));
	CHECK_STR(buf, "33.3%", "text: a third");
	lifetime_limit_parse("30", &a);
	lifetime_limit_text(&a, buf, sizeof(buf));
	CHECK_STR(buf, "30d", "text: 30d");

	lifetime_number(30.0, buf, sizeof(buf));
	CHECK_STR(buf, "30", "number: no .0");
	lifetime_number(15.666, buf, sizeof(buf));
	CHECK_STR(buf, "15.7", "number: a tenth, rounded");
	lifetime_number(-1.1, buf, sizeof(buf));
	CHECK_STR(buf, "-1.1", "number: below zero");
	lifetime_number(-0.01, buf, sizeof(buf));
	CHECK_STR(buf, "0", "number: no -0");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("parse"))
		test_parse();
	if (check_test("under"))
		test_under();
	if (check_test("compare"))
		test_compare_and_text();
	return check_done();
}
