/*
 * test_renew.c - src/lib/renew.c: when a namespace's certificate is
 * renewed, as shares of its lifetime, with ACME Renewal Information and
 * after failures; and src/lib/renew_state.c, the state autopilot keeps.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "renew.h"

#define DAY 86400L
#define T0 1767225600L /* 2026-01-01 */

/* A certificate of days days issued at T0, seen at now. */
static struct cf_renew_in
cert(long days, time_t now)
{
	struct cf_renew_in in;

	memset(&in, 0, sizeof(in));
	in.not_before = T0;
	in.not_after = T0 + days * DAY;
	in.now = now;
	return in;
}

static void
test_limit(void)
{
	struct cf_renew_in in = cert(45, T0 + 29 * DAY);
	struct cf_renew_out out;
	struct lifetime_limit l;

	CHECK(cf_renew_when(&in, &out) == 0 && out.due == T0 + 30 * DAY &&
		  !out.now && out.why == CF_RENEW_LIMIT,
	    "45 days: due when 15 are left (two thirds passed), not before");
	in.now = T0 + 30 * DAY;
	CHECK(cf_renew_when(&in, &out) == 0 && out.now,
	    "45 days: due at two thirds");
	in = cert(200, T0 + 133 * DAY);
	CHECK(cf_renew_when(&in, &out) == 0 && !out.now &&
		  out.due == T0 + 200 * DAY - (time_t)(200 * DAY / 3),
	    "200 days: two thirds too, the same share");
	in = cert(47, T0);
	CHECK(lifetime_limit_parse("10d", &l) == 0, "parse 10d");
	in.at = &l;
	CHECK(cf_renew_when(&in, &out) == 0 && out.due == T0 + 37 * DAY,
	    "renew-at 10d: when 10 days are left");
	CHECK(lifetime_limit_parse("50%", &l) == 0, "parse 50%");
	CHECK(cf_renew_when(&in, &out) == 0 &&
		  out.due == T0 + 47 * DAY - 47 * DAY / 2,
	    "renew-at 50%: half way");
	in = cert(90, T0 + 91 * DAY);
	CHECK(cf_renew_when(&in, &out) == 0 && out.now &&
		  out.why == CF_RENEW_EXPIRED,
	    "expired: now, saying so");
	in = cert(0, T0);
	CHECK(cf_renew_when(&in, &out) == -1, "no lifetime: refused");
	in.not_after = T0 - DAY;
	CHECK(cf_renew_when(&in, &out) == -1,
	    "notAfter before notBefore: refused");
}

static void
test_ari(void)
{
	struct cf_renew_in in = cert(90, T0 + 10 * DAY);
	struct cf_renew_out out;

	in.have_ari = 1;
	in.ari_start = T0 + 40 * DAY;
	in.ari_end = T0 + 42 * DAY;
	in.pick = 0.5;
	CHECK(cf_renew_when(&in, &out) == 0 && out.why == CF_RENEW_ARI &&
		  out.due == T0 + 41 * DAY && !out.now,
	    "ARI: the point picked in the window, earlier than two thirds");
	in.now = T0 + 41 * DAY;
	CHECK(cf_renew_when(&in, &out) == 0 && out.now, "ARI: due at it");
	in.pick = 0;
	in.now = T0 + 40 * DAY - 1;
	CHECK(cf_renew_when(&in, &out) == 0 && !out.now,
	    "ARI: not before the window begins");
	in.pick = 7;
	CHECK(cf_renew_when(&in, &out) == 0 && out.due == in.ari_end,
	    "ARI: a pick above 1 is the window's end");
	in.ari_end = T0 + 91 * DAY;
	in.pick = 0.5;
	CHECK(cf_renew_when(&in, &out) == 0 && out.why == CF_RENEW_LIMIT,
	    "ARI: a window ending after notAfter is ignored");
	in.ari_start = T0 + 42 * DAY;
	in.ari_end = T0 + 40 * DAY;
	CHECK(cf_renew_when(&in, &out) == 0 && out.why == CF_RENEW_LIMIT,
	    "ARI: an inverted window is ignored");
}

static void
test_retry(void)
{
	struct cf_renew_in in = cert(45, T0 + 31 * DAY);
	struct cf_renew_out out;
	time_t first, second;

	in.failures = 1;
	in.last_failure = T0 + 31 * DAY;
	CHECK(cf_renew_when(&in, &out) == 0 && out.why == CF_RENEW_RETRY &&
		  !out.now,
	    "after a failure: not at once");
	first = out.due - in.last_failure;
	CHECK(first == 45 * DAY / 512, "45 days: first retry after life/512");
	in.failures = 2;
	CHECK(cf_renew_when(&in, &out) == 0, "two failures");
	second = out.due - in.last_failure;
	CHECK(
	    second >= 2 * first && second <= 2 * first + 1, "the wait doubles");
	in.failures = 30;
	CHECK(cf_renew_when(&in, &out) == 0 &&
		  out.due - in.last_failure == 45 * DAY / 32,
	    "the wait stops at life/32");
	in.now = in.last_failure = T0 + 44 * DAY;
	CHECK(cf_renew_when(&in, &out) == 0 &&
		  out.due - in.last_failure == DAY / 4,
	    "a day before expiry: at most a quarter of what is left");
	in = cert(6, T0 + 5 * DAY);
	in.failures = 1;
	in.last_failure = in.now;
	CHECK(cf_renew_when(&in, &out) == 0 &&
		  out.due - in.last_failure == 6 * DAY / 512,
	    "a 6-day certificate retries after about 17 minutes");
	in = cert(45, T0 + 44 * DAY + DAY - 10);
	in.failures = 1;
	in.last_failure = in.now;
	CHECK(cf_renew_when(&in, &out) == 0 && out.due - in.last_failure == 10,
	    "never sooner than 10 s");
	in.not_before = T0;
	in.not_after = T0 + 90;
	in.now = in.last_failure = T0 + 70; /* due since T0 + 60 */
	CHECK(cf_renew_when(&in, &out) == 0 && out.why == CF_RENEW_RETRY &&
		  out.due == T0 + 80 && !out.now,
	    "a test CA's 90-second certificate: a retry 10 s on, not at once");
	in = cert(45, T0 + 46 * DAY);
	in.failures = 3;
	in.last_failure = in.now - 10;
	CHECK(cf_renew_when(&in, &out) == 0 && !out.now &&
		  out.why == CF_RENEW_RETRY,
	    "expired and failing: still waits between attempts");
	CHECK(strstr(cf_renew_why_text(CF_RENEW_ARI), "ARI") != NULL,
	    "why: the ARI window says so");
}

/* The state parsed from text; 0 or -1 with err. */
static int
state_of(const char *text, struct cf_renew_state *s, struct cf_error *err)
{
	json_t *o = json_loads(text, 0, NULL);
	int rc = cf_renew_state_parse(o, s, err);

	json_decref(o);
	return rc;
}

static void
test_state(void)
{
	struct cf_renew_state s, back;
	struct cf_error err;
	json_t *o;

	CHECK(state_of("{\"failures\": 2, \"last_failure\": 1767225600, "
		       "\"last_error\": \"acme: urn:x: no\", \"next_due\": "
		       "1767229200, \"ari_pick\": 0.25, \"certificate\": "
		       "\"B26C3C9B0E1A6D5F6C1E2D63B8F0C1A2D3E4F5A6\", "
		       "\"ari_start\": 1767225000, \"ari_end\": 1767226000}",
		  &s, &err) == 0 &&
		  s.failures == 2 && s.last_failure == T0 &&
		  strcmp(s.last_error, "acme: urn:x: no") == 0 && s.have_pick &&
		  s.pick == 0.25 && s.last_success == 0 &&
		  s.ari_end == 1767226000,
	    "state: the file's members read");
	o = cf_renew_state_json(&s);
	CHECK(cf_renew_state_parse(o, &back, &err) == 0 &&
		  memcmp(&s, &back, sizeof(s)) == 0 &&
		  json_object_get(o, "last_success") == NULL,
	    "state: written and read back the same; never is left out");
	json_decref(o);
	CHECK(cf_renew_state_parse(NULL, &s, &err) == 0 && s.failures == 0 &&
		  !s.have_pick,
	    "state: none is a namespace never renewed");
	CHECK(state_of("{\"failures\": -1}", &s, &err) == -1 &&
		  strstr(err.msg, "failures") != NULL,
	    "state: a negative count refused, named");
	CHECK(state_of("{\"next_due\": \"tomorrow\"}", &s, &err) == -1 &&
		  strstr(err.msg, "next_due") != NULL,
	    "state: a time that is no number refused");
	CHECK(state_of("{\"ari_pick\": 1.5}", &s, &err) == -1,
	    "state: a pick outside 0 to 1 refused");
	CHECK(state_of("{\"certificate\": \"b26c\"}", &s, &err) == -1,
	    "state: a certificate that is no thumbprint refused");
	CHECK(state_of("[]", &s, &err) == -1, "state: not an object refused");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("limit"))
		test_limit();
	if (check_test("ari"))
		test_ari();
	if (check_test("retry"))
		test_retry();
	if (check_test("state"))
		test_state();
	return check_done();
}
