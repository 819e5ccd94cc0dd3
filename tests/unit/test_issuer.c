/*
 * test_issuer.c - src/lib/issuer.c: a namespace's issuer as `namespace
 * add|set` sets it and as the fleet file and etcd keep it.
 */
#include <string.h>

#include "check.h"
#include "issuer.h"

static void
test_apply(void)
{
	struct cf_issuer_opts o = {0};
	struct cf_error err;
	json_t *i = NULL;
	char *t;

	o.issuer = "acme:le";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 && i != NULL &&
		  cf_issuer_check(i, &err) == 0,
	    "acme:le: an issuer, checked");
	t = cf_issuer_text(i);
	CHECK_STR(t, "acme:le http-01 p256 renew at 33%", "the defaults");
	free(t);
	memset(&o, 0, sizeof(o));
	o.challenge = "dns-01";
	o.key = "rsa3072";
	o.profile = "tlsserver";
	o.renew_at = "25%";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0, "options over it");
	t = cf_issuer_text(i);
	CHECK_STR(t, "acme:le dns-01 rsa3072 profile tlsserver renew at 25%",
	    "the options taken");
	free(t);
	memset(&o, 0, sizeof(o));
	o.profile = "none";
	o.renew_at = "default";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  json_object_get(i, "profile") == NULL &&
		  json_object_get(i, "renew_at") == NULL,
	    "profile none and renew-at default clear them");
	memset(&o, 0, sizeof(o));
	o.key = "rsa1024";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "--key rsa1024: p256") != NULL &&
		  strcmp(json_string_value(json_object_get(i, "key")),
		      "rsa3072") == 0,
	    "a weak key refused, naming it; the issuer unchanged");
	o.key = NULL;
	o.renew_at = "100%";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "--renew-at 100%") != NULL,
	    "renew-at 100% refused");
	o.renew_at = "0d";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1, "renew-at 0d refused");
	memset(&o, 0, sizeof(o));
	o.issuer = "letsencrypt";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "give acme:ACCOUNT") != NULL,
	    "an issuer without acme: refused");
	o.issuer = "acme:../x";
	CHECK(
	    cf_issuer_apply(&i, &o, &err) == -1, "a bad account name refused");
	o.issuer = "none";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 && i == NULL,
	    "--issuer none removes it");
	memset(&o, 0, sizeof(o));
	o.challenge = "http-01";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "give --issuer acme:ACCOUNT too") != NULL,
	    "--challenge without an issuer: refused, saying why");
}

static void
test_transport(void)
{
	struct cf_issuer_opts o = {0};
	struct cf_error err;
	json_t *i = NULL, *v;
	char *t;

	o.issuer = "acme:le";
	o.challenge = "dns-01";
	o.dns_server = "127.0.0.1:5353";
	o.dns_key_file = "/etc/certfleet/acme.key";
	o.dns_check = "127.0.0.1:5353,127.0.0.2:53";
	o.http_port = "8080";
	CHECK(
	    cf_issuer_apply(&i, &o, &err) == 0 && cf_issuer_check(i, &err) == 0,
	    "dns server, key file, checks and an http port: taken");
	t = cf_issuer_text(i);
	CHECK_STR(t,
	    "acme:le dns-01 p256 renew at 33% http port 8080 dns "
	    "127.0.0.1:5353",
	    "the text says them");
	free(t);
	v = cf_issuer_view(i);
	CHECK(json_integer_value(json_object_get(v, "HttpPort")) == 8080 &&
		  json_array_size(json_object_get(v, "DnsCheck")) == 2,
	    "the view: HttpPort, DnsCheck");
	json_decref(v);
	memset(&o, 0, sizeof(o));
	o.dns_hook = "/usr/local/bin/dns-provider --zone example.com";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "one or the other") != NULL &&
		  json_object_get(i, "dns_hook") == NULL,
	    "a hook beside an update server: refused, nothing changed");
	o.dns_server = "none";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  json_object_get(i, "dns_server") == NULL &&
		  json_object_get(i, "dns_hook") != NULL,
	    "the server dropped, the hook taken");
	memset(&o, 0, sizeof(o));
	o.dns_hook = "relative/hook";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "--dns-hook: an absolute path") != NULL,
	    "a relative hook refused");
	memset(&o, 0, sizeof(o));
	o.dns_key_file = "/etc/key file";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1,
	    "a key file with a space refused");
	memset(&o, 0, sizeof(o));
	o.http_port = "70000";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "--http-port 70000") != NULL,
	    "port 70000 refused");
	o.http_port = "default";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  json_object_get(i, "http_port") == NULL,
	    "http port default: back to 80");
	memset(&o, 0, sizeof(o));
	o.dns_check = "127.0.0.1:53;rm -rf /";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1,
	    "a check list with a ; refused");
	json_object_set_new(i, "http_port", json_string("80"));
	CHECK(cf_issuer_check(i, &err) == -1 &&
		  strstr(err.msg, "http_port: a port") != NULL,
	    "stored: an http_port that is no integer refused");
	json_decref(i);
}

static void
test_check(void)
{
	struct cf_error err;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", "acme", "account",
	    "le", "challenge", "http-01", "key", "p384");
	json_t *v;

	CHECK(cf_issuer_check(o, &err) == 0, "a whole issuer");
	v = cf_issuer_view(o);
	CHECK(strcmp(json_string_value(json_object_get(v, "RenewAt")), "33%") ==
		      0 &&
		  json_is_null(json_object_get(v, "Profile")),
	    "the view writes the default renew-at, profile null");
	json_decref(v);
	CHECK(json_is_null(v = cf_issuer_view(NULL)), "no issuer: null");
	json_decref(v);
	json_object_set_new(o, "extra", json_string("x"));
	CHECK(cf_issuer_check(o, &err) == -1 &&
		  strstr(err.msg, "extra: unknown member") != NULL,
	    "an unknown member refused");
	json_object_del(o, "extra");
	json_object_set_new(o, "type", json_string("scep"));
	CHECK(cf_issuer_check(o, &err) == -1, "a type but acme refused");
	json_object_set_new(o, "type", json_string("acme"));
	json_object_set_new(o, "key", json_integer(256));
	CHECK(cf_issuer_check(o, &err) == -1 &&
		  strstr(err.msg, "key: not a string") != NULL,
	    "a key that is no string refused");
	json_object_del(o, "key");
	CHECK(cf_issuer_check(o, &err) == -1, "no key: refused");
	json_decref(o);
	CHECK(cf_issuer_check(NULL, &err) == -1, "NULL: refused");
}

static void
test_san(void)
{
	struct cf_issuer_opts o = {0};
	struct cf_error err;
	json_t *i = NULL, *v;
	char *t;

	o.issuer = "acme:le";
	o.san = "WWW.example.com, example.com";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  strcmp(json_string_value(json_object_get(i, "san")),
		      "www.example.com,example.com") == 0 &&
		  cf_issuer_check(i, &err) == 0,
	    "--san: kept canonical, and the stored issuer checks");
	t = cf_issuer_text(i);
	CHECK(strstr(t, " san www.example.com,example.com") != NULL,
	    "the text says the extra names");
	free(t);
	v = cf_issuer_view(i);
	CHECK_STR(json_string_value(json_object_get(v, "San")),
	    "www.example.com,example.com", "the view has San");
	json_decref(v);
	memset(&o, 0, sizeof(o));
	o.san = "*.example.com";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "dns-01 only") != NULL &&
		  strcmp(json_string_value(json_object_get(i, "san")),
		      "www.example.com,example.com") == 0,
	    "a wildcard with http-01: refused, saying why; unchanged");
	o.challenge = "dns-01";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  strcmp(json_string_value(json_object_get(i, "san")),
		      "*.example.com") == 0,
	    "a wildcard with dns-01: taken");
	memset(&o, 0, sizeof(o));
	o.challenge = "http-01";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1,
	    "back to http-01 while a wildcard is there: refused");
	json_object_set_new(i, "challenge", json_string("http-01"));
	CHECK(cf_issuer_check(i, &err) == -1 && strstr(err.msg, "san") != NULL,
	    "a stored wildcard with http-01: refused by the check");
	json_object_set_new(i, "challenge", json_string("dns-01"));
	memset(&o, 0, sizeof(o));
	o.san = "bad..name";
	CHECK(cf_issuer_apply(&i, &o, &err) == -1 &&
		  strstr(err.msg, "--san bad..name") != NULL,
	    "a malformed name refused, naming it");
	o.san = "none";
	CHECK(cf_issuer_apply(&i, &o, &err) == 0 &&
		  json_object_get(i, "san") == NULL,
	    "--san none removes them");
	json_object_set_new(i, "san", json_string("B.example.com"));
	CHECK(cf_issuer_check(i, &err) == -1,
	    "a stored san not canonical: refused");
	json_decref(i);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("apply"))
		test_apply();
	if (check_test("check"))
		test_check();
	if (check_test("transport"))
		test_transport();
	if (check_test("san"))
		test_san();
	return check_done();
}
