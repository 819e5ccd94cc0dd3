/*
 * test_acme_msg.c - the parsers of what an ACME CA sends
 * (src/acme/msg.c): pebble-like messages taken, and beside each one the
 * same message made bad and refused (an http URL, a token with other
 * characters, too many entries, a status of another kind), and
 * problem documents rendered as the CA sent them, control characters
 * out.
 */
#include <stdio.h>
#include <string.h>

#include "acme.h"
#include "check.h"

#define DIR_OK                                                                 \
	"{\"keyChange\":\"https://ca.test/rollover-account-key\","             \
	"\"meta\":{\"externalAccountRequired\":true,"                          \
	"\"termsOfService\":\"data:text/plain,Do what thou wilt\","            \
	"\"profiles\":{\"classic\":\"x\",\"shortlived\":\"y\"}},"              \
	"\"newAccount\":\"https://ca.test/sign-me-up\","                       \
	"\"newNonce\":\"https://ca.test/nonce-plz\","                          \
	"\"newOrder\":\"https://ca.test/order-plz\","                          \
	"\"revokeCert\":\"https://ca.test/revoke-cert\"}"

#define TOKEN "DGyRejmCefe7v4NfDGDKfA"

static int
parse_dir(const char *s, struct acme_directory **d, struct cf_error *err)
{
	return acme_directory_parse(s, strlen(s), d, err);
}

static void
test_directory(void)
{
	struct acme_directory *d = NULL;
	struct cf_error err;
	char *s;

	CHECK(parse_dir(DIR_OK, &d, &err) == 0, "directory: pebble's taken");
	CHECK_STR(
	    d->new_nonce, "https://ca.test/nonce-plz", "directory: newNonce");
	CHECK_STR(
	    d->new_order, "https://ca.test/order-plz", "directory: newOrder");
	CHECK(d->eab_required, "directory: externalAccountRequired");
	CHECK(d->renewal_info == NULL, "directory: no renewalInfo");
	CHECK(d->n_profiles == 2, "directory: two profiles");
	acme_directory_free(d);

	s = xstrdup(DIR_OK);
	memcpy(strstr(s, "https://ca.test/nonce"), "http:/", 6);
	CHECK(parse_dir(s, &d, &err) == -1 && d == NULL &&
		  strstr(err.msg, "newNonce") != NULL,
	    "directory: an http newNonce is refused, named");
	free(s);
	CHECK(parse_dir("{\"newNonce\":\"https://ca.test/n\"}", &d, &err) == -1,
	    "directory: newAccount missing is refused");
	CHECK(
	    parse_dir("[1]", &d, &err) == -1, "directory: an array is refused");
	CHECK(parse_dir("{\"newNonce\":", &d, &err) == -1,
	    "directory: cut JSON is refused");
	s = xstrdup(DIR_OK);
	memcpy(strstr(s, "ca.test/sign"), "u@ca.te", 7);
	CHECK(parse_dir(s, &d, &err) == -1, "directory: userinfo is refused");
	free(s);
	s = xstrdup(DIR_OK);
	memcpy(strstr(s, "true"), "1234", 4);
	CHECK(parse_dir(s, &d, &err) == -1,
	    "directory: a number for externalAccountRequired is refused");
	free(s);
}

static void
test_urls_tokens(void)
{
	char big[ACME_URL_MAX + 16];

	CHECK(acme_url_check("https://ca.test:14000/dir") == 0, "url: https");
	CHECK(acme_url_check("HTTPS://ca.test/") == 0, "url: scheme any case");
	CHECK(acme_url_check("http://ca.test/dir") == -1, "url: http refused");
	CHECK(acme_url_check("https:///x") == -1, "url: no host refused");
	CHECK(acme_url_check("https://a:b@ca.test/") == -1,
	    "url: userinfo refused");
	CHECK(acme_url_check("https://ca.test/a b") == -1,
	    "url: a space refused");
	CHECK(acme_url_check("https://ca.test/a\nb") == -1,
	    "url: a newline refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://ca.test/", 16);
	CHECK(acme_url_check(big) == -1, "url: over 2048 bytes refused");
	big[ACME_URL_MAX] = '\0';
	CHECK(acme_url_check(big) == 0, "url: 2048 bytes taken");

	CHECK(acme_token_check(TOKEN) == 0, "token: 22 base64url taken");
	CHECK(acme_token_check("DGyRejmCefe7v4NfDGDKf") == -1,
	    "token: 21 characters refused");
	CHECK(acme_token_check("DGyRejmCefe7v4NfDGDK/../x") == -1,
	    "token: '/' and '.' refused");
	CHECK(acme_token_check("DGyRejmCefe7v4NfDGDKfA==") == -1,
	    "token: padding refused");
}

static const char *
order_json(const char *status, const char *authz_url, int n_authz)
{
	static char buf[16384];
	size_t at;
	int i;

	at = (size_t)snprintf(buf, sizeof(buf),
	    "{\"status\":\"%s\",\"expires\":\"2026-12-05T00:00:00Z\","
	    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}],"
	    "\"finalize\":\"https://ca.test/finalize/1\","
	    "\"authorizations\":[",
	    status);
	for (i = 0; i < n_authz; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s\"%s%d\"",
		    i ? "," : "", authz_url, i);
	snprintf(buf + at, sizeof(buf) - at, "]}");
	return buf;
}

static void
test_order(void)
{
	struct acme_order *o = NULL;
	struct cf_error err;
	const char *s;

	s = order_json("pending", "https://ca.test/authZ/", 1);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == 0, "order: taken");
	CHECK(o->status == ACME_S_PENDING, "order: pending");
	CHECK(o->n_authorizations == 1, "order: one authorization");
	CHECK_STR(o->identifiers[0], "a.example", "order: identifier");
	CHECK(o->certificate == NULL && o->error == NULL,
	    "order: no certificate yet");
	acme_order_free(o);

	s = order_json("pending", "https://ca.test/authZ/", 100);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == 0,
	    "order: 100 authorizations taken");
	acme_order_free(o);
	s = order_json("pending", "https://ca.test/authZ/", 101);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == -1 &&
		  err.code == CF_E_LIMIT,
	    "order: 101 authorizations refused");
	s = order_json("pending", "http://ca.test/authZ/", 1);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == -1,
	    "order: an http authorization URL refused");
	s = order_json("deactivated", "https://ca.test/authZ/", 1);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == -1 && o == NULL,
	    "order: an authorization's status refused");
	s = order_json("almost", "https://ca.test/authZ/", 1);
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == -1,
	    "order: an unknown status refused");
	s = "{\"status\":\"invalid\",\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.example\"}],\"authorizations\":[\"https://ca.test/"
	    "a\"],\"finalize\":\"https://ca.test/f\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\"}}";
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == 0 &&
		  o->error != NULL &&
		  strcmp(o->error->type,
		      "urn:ietf:params:acme:error:unauthorized") == 0,
	    "order: invalid, with its problem");
	acme_order_free(o);
	s = "{\"status\":\"valid\",\"identifiers\":[{\"type\":\"ip\","
	    "\"value\":\"10.0.0.1\"}],\"authorizations\":[\"https://ca.test/"
	    "a\"],\"finalize\":\"https://ca.test/f\"}";
	CHECK(acme_order_parse(s, strlen(s), &o, &err) == -1,
	    "order: an ip identifier refused");
}

#define AUTHZ_FMT                                                              \
	"{\"status\":\"%s\",\"identifier\":{\"type\":\"dns\","                 \
	"\"value\":\"a.example\"},\"challenges\":[{\"type\":\"http-01\","      \
	"\"url\":\"https://ca.test/chalZ/1\",\"token\":\"%s\","                \
	"\"status\":\"pending\"},{\"type\":\"dns-01\","                        \
	"\"url\":\"https://ca.test/chalZ/2\",\"token\":\"" TOKEN "\","         \
	"\"status\":\"pending\"}]}"

static int
parse_authz(const char *status, const char *token, struct acme_authz **a,
    struct cf_error *err)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), AUTHZ_FMT, status, token);
	return acme_authz_parse(buf, strlen(buf), a, err);
}

static void
test_authz(void)
{
	const struct acme_challenge *c;
	struct acme_authz *a = NULL;
	struct cf_error err;
	char buf[4096];
	size_t at;
	int i;

	CHECK(parse_authz("pending", TOKEN, &a, &err) == 0, "authz: taken");
	CHECK_STR(a->identifier, "a.example", "authz: identifier");
	c = acme_authz_challenge(a, "http-01");
	CHECK(c != NULL && strcmp(c->token, TOKEN) == 0,
	    "authz: http-01 challenge and token");
	CHECK(acme_authz_challenge(a, "tls-alpn-01") == NULL,
	    "authz: no tls-alpn-01");
	acme_authz_free(a);
	CHECK(parse_authz("expired", TOKEN, &a, &err) == 0 &&
		  a->status == ACME_S_EXPIRED,
	    "authz: expired taken");
	acme_authz_free(a);
	CHECK(parse_authz(
		  "pending", "../../etc/passwd-xxxxxxxxxxx", &a, &err) == -1 &&
		  strstr(err.msg, "token") != NULL,
	    "authz: a token with '/' and '.' refused");
	CHECK(parse_authz("pending", "short", &a, &err) == -1,
	    "authz: a short token refused");
	CHECK(parse_authz("ready", TOKEN, &a, &err) == -1,
	    "authz: an order's status refused");

	at = (size_t)snprintf(buf, sizeof(buf),
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"a.example\"},\"challenges\":[");
	for (i = 0; i <= ACME_CHALLENGES_MAX; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at,
		    "%s{\"type\":\"x-%d\",\"url\":\"https://c.test/%d\","
		    "\"status\":\"pending\"}",
		    i ? "," : "", i, i);
	snprintf(buf + at, sizeof(buf) - at, "]}");
	CHECK(acme_authz_parse(buf, strlen(buf), &a, &err) == -1 &&
		  err.code == CF_E_LIMIT,
	    "authz: 17 challenges refused");
}

static void
test_problem(void)
{
	struct acme_problem *p = NULL;
	struct cf_error err;
	char out[1024];
	const char *s;

	s = "{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
	    "\"detail\":\"Error creating new account :: \\u001b[31mno\\n\","
	    "\"status\":403}";
	CHECK(
	    acme_problem_parse(s, strlen(s), &p, &err) == 0, "problem: taken");
	acme_problem_render(p, out, sizeof(out));
	CHECK_STR(out,
	    "acme: urn:ietf:params:acme:error:unauthorized: Error creating new "
	    "account :: ?[31mno?",
	    "problem: rendered, control characters replaced");
	acme_problem_free(p);

	s = "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	    "\"detail\":\"some names\",\"subproblems\":[{\"type\":"
	    "\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"b.example\"}}]}";
	CHECK(acme_problem_parse(s, strlen(s), &p, &err) == 0 && p->n_sub == 1,
	    "problem: subproblems taken");
	acme_problem_render(p, out, sizeof(out));
	CHECK_STR(out,
	    "acme: urn:ietf:params:acme:error:rejectedIdentifier: some names; "
	    "urn:ietf:params:acme:error:caa (b.example): CAA forbids",
	    "problem: subproblems rendered with their names");
	acme_problem_render(p, out, 20);
	CHECK(strlen(out) == 19, "problem: rendering cut to the room given");
	acme_problem_free(p);

	s = "{\"detail\":\"no type\"}";
	CHECK(acme_problem_parse(s, strlen(s), &p, &err) == -1,
	    "problem: no type refused");
	s = "{\"type\":\"t\",\"subproblems\":[{\"type\":\"u\",\"subproblems\":"
	    "[{\"type\":\"v\"}]}]}";
	CHECK(acme_problem_parse(s, strlen(s), &p, &err) == -1,
	    "problem: nested subproblems refused");
}

static void
test_account(void)
{
	struct acme_account *a = NULL;
	struct cf_error err;
	const char *s;

	s = "{\"status\":\"valid\",\"contact\":[\"mailto:a@b.example\"],"
	    "\"orders\":\"https://ca.test/list-orderz/1\"}";
	CHECK(acme_account_parse(s, strlen(s), &a, &err) == 0 &&
		  a->status == ACME_S_VALID,
	    "account: valid taken");
	acme_account_free(a);
	s = "{\"status\":\"pending\"}";
	CHECK(acme_account_parse(s, strlen(s), &a, &err) == -1,
	    "account: pending refused");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("directory"))
		test_directory();
	if (check_test("urls"))
		test_urls_tokens();
	if (check_test("order"))
		test_order();
	if (check_test("authz"))
		test_authz();
	if (check_test("problem"))
		test_problem();
	if (check_test("account"))
		test_account();
	return check_done();
}
