/*
 * test_csrf.c - the console's CSRF tokens (src/agent/csrf.c): a token
 * is good for the certificate it was made for, within its lifetime, and
 * nothing else passes; and which requests count as a browser's.
 */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "check.h"
#include "csrf.h"

#define FP_A                                                                   \
	"SHA256:0000000000000000000000000000000000000000000000000000000000000" \
	"00A"
#define FP_B                                                                   \
	"SHA256:0000000000000000000000000000000000000000000000000000000000000" \
	"00B"

static void
test_tokens(void)
{
	char tok[CSRF_TOKEN_MAX], bad[CSRF_TOKEN_MAX + 8];
	time_t now = 1800000000;
	size_t n;

	csrf_token(FP_A, now, tok);
	CHECK(csrf_valid(tok, FP_A, now), "token: valid for its certificate");
	CHECK(csrf_valid(tok, FP_A, now + CSRF_LIFETIME),
	    "token: valid to the end of its lifetime");
	CHECK(
	    !csrf_valid(tok, FP_B, now), "token: not for another certificate");
	CHECK(!csrf_valid(tok, FP_A, now + CSRF_LIFETIME + 1),
	    "token: not after its lifetime");
	CHECK(!csrf_valid(tok, FP_A, now - 1), "token: not before it was made");
	CHECK(!csrf_valid(NULL, FP_A, now), "token: none is not valid");
	CHECK(!csrf_valid("", FP_A, now), "token: empty is not valid");
	CHECK(!csrf_valid(tok, "", now), "token: no certificate, no token");

	/* One hex digit changed. */
	snprintf(bad, sizeof(bad), "%s", tok);
	n = strlen(bad) - 1;
	bad[n] = bad[n] == '0' ? '1' : '0';
	CHECK(!csrf_valid(bad, FP_A, now), "token: a changed MAC fails");
	/* The issue time moved, to stretch its life: the MAC covers it. */
	snprintf(
	    bad, sizeof(bad), "%lld%s", (long long)now + 100, strchr(tok, '.'));
	CHECK(!csrf_valid(bad, FP_A, now + 100), "token: a moved time fails");
	snprintf(bad, sizeof(bad), "%s0", tok);
	CHECK(!csrf_valid(bad, FP_A, now), "token: one digit too many fails");
}

static void
test_browser(void)
{
	static const char *const marks[] = {"Origin", "Sec-Fetch-Site",
	    "Referer", "Cookie", "X-Certfleet-Console", "sec-fetch-mode"};
	struct evkeyvalq h;
	size_t i;
	char name[80];

	TAILQ_INIT(&h);
	evhttp_add_header(&h, "Host", "127.0.0.1:8443");
	evhttp_add_header(&h, "User-Agent", "certfleet/0.1.0");
	evhttp_add_header(&h, "X-Certfleet-Actor", "alice");
	evhttp_add_header(&h, "Content-Type", "application/json");
	CHECK(!csrf_from_browser(&h), "browser: the CLI's headers are not");
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		evhttp_add_header(&h, marks[i], "x");
		snprintf(name, sizeof(name), "browser: %s marks one", marks[i]);
		CHECK(csrf_from_browser(&h), name);
		evhttp_remove_header(&h, marks[i]);
	}
	evhttp_clear_headers(&h);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("tokens"))
		test_tokens();
	if (check_test("browser"))
		test_browser();
	return check_done();
}
