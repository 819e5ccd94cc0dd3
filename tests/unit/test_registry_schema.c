/*
 * test_registry_schema.c - the etcd registry's keys and values: keys
 * built and classified back, names that would leave the prefix refused,
 * every value read back as written, and a value that is not whole
 * refused with its key named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "schema.h"

#define T_OLD "1111111111111111111111111111111111111111"
#define T_NEW "2222222222222222222222222222222222222222"
#define FP                                                                     \
	"SHA256:"                                                              \
	"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"

static int
parses(const char *prefix, const char *key, struct schema_key *k)
{
	struct cf_error err;

	return schema_key_parse(prefix, key, strlen(key), k, &err) == 0;
}

static void
test_keys(void)
{
	struct cf_error err;
	struct schema_key k;
	char *key;

	key = schema_key("/certfleet", SCHEMA_AGENT, NULL, "ex1", &err);
	CHECK_STR(key, "/certfleet/agents/ex1", "agent key");
	free(key);
	key = schema_key("/cf/a", SCHEMA_GROUP, NULL, "web", &err);
	CHECK_STR(key, "/cf/a/groups/web", "group key under a deeper prefix");
	free(key);
	key = schema_key(
	    "/certfleet", SCHEMA_NS_DESIRED, "mail.example.com", NULL, &err);
	CHECK_STR(key, "/certfleet/ns/mail.example.com/desired", "desired key");
	free(key);
	key = schema_key(
	    "/certfleet", SCHEMA_NS_STATUS, "mail.example.com", "ex2", &err);
	CHECK_STR(
	    key, "/certfleet/ns/mail.example.com/status/ex2", "status key");
	free(key);

	CHECK(
	    schema_key("/certfleet", SCHEMA_AGENT, NULL, "../x", &err) == NULL,
	    "an agent named ../x has no key");
	CHECK(schema_key("/certfleet", SCHEMA_AGENT, NULL, "a/b", &err) == NULL,
	    "an agent name with '/' has no key");
	CHECK(schema_key("/certfleet", SCHEMA_GROUP, NULL, "..", &err) == NULL,
	    "a group named .. has no key");
	CHECK(schema_key("/certfleet", SCHEMA_NS_SPEC, "a/b.example", NULL,
		  &err) == NULL,
	    "a namespace with '/' has no key");
	CHECK(schema_key("/certfleet", SCHEMA_NS_SPEC, "Mail.Example.com", NULL,
		  &err) == NULL,
	    "a namespace not in lower case has no key");
	CHECK(schema_key("/certfleet", SCHEMA_NS_SPEC, "*.example.com", NULL,
		  &err) == NULL,
	    "a wildcard namespace has no key");
	CHECK(schema_key("/certfleet", SCHEMA_AGENT, NULL, "all", &err) == NULL,
	    "all is reserved");

	CHECK(schema_prefix_check("/certfleet", &err) == 0, "default prefix");
	CHECK(schema_prefix_check("/a/b-c_d.e", &err) == 0, "deeper prefix");
	CHECK(schema_prefix_check("certfleet", &err) == -1,
	    "a prefix without a leading / refused");
	CHECK(schema_prefix_check("/certfleet/", &err) == -1,
	    "a prefix ending in / refused");
	CHECK(schema_prefix_check("/a//b", &err) == -1, "an empty segment");
	CHECK(schema_prefix_check("/a/../b", &err) == -1, "a .. segment");
	CHECK(schema_prefix_check("/a/./b", &err) == -1, "a . segment");
	CHECK(schema_prefix_check("/a b", &err) == -1, "a space");
	CHECK(strstr(err.msg, "/certfleet") != NULL,
	    "the prefix error shows an example");

	CHECK(parses("/certfleet", "/certfleet/agents/ex1", &k) &&
		  k.kind == SCHEMA_AGENT && strcmp(k.name, "ex1") == 0,
	    "agent key parsed");
	CHECK(parses("/certfleet", "/certfleet/ns/mail.example.com/spec", &k) &&
		  k.kind == SCHEMA_NS_SPEC &&
		  strcmp(k.ns, "mail.example.com") == 0,
	    "spec key parsed");
	CHECK(
	    parses("/certfleet", "/certfleet/ns/m.example/material/ex3", &k) &&
		k.kind == SCHEMA_NS_MATERIAL && strcmp(k.name, "ex3") == 0 &&
		strcmp(k.ns, "m.example") == 0,
	    "material key parsed");
	CHECK(parses("/certfleet", "/certfleet/ns/m.example/coordinator", &k) &&
		  k.kind == SCHEMA_NS_COORDINATOR,
	    "coordinator key parsed");
	CHECK(parses("/certfleet", "/certfleet/later/x", &k) &&
		  k.kind == SCHEMA_UNKNOWN,
	    "a key of no known shape is unknown, not an error");
	CHECK(!parses("/certfleet", "/certfleet/agents/../x", &k),
	    "an agent key with .. refused");
	CHECK(schema_key_parse(
		  "/certfleet", "/certfleet/agents/a/b", 21, &k, &err) == -1 &&
		  strstr(err.msg, "/certfleet/agents/a/b") != NULL,
	    "an agent key with a / refused, naming the key");
	CHECK(!parses("/certfleet", "/certfleetx/agents/ex1", &k),
	    "a key beside the prefix is not under it");
	CHECK(!parses("/certfleet", "/other/agents/ex1", &k),
	    "a key outside the prefix refused");
	CHECK(schema_key_parse(
		  "/certfleet", "/certfleet/agents/e\0x", 21, &k, &err) == -1,
	    "a key with a NUL refused");
}

static void
test_agent(void)
{
	struct schema_agent a;
	struct cf_error err;
	char *v = schema_agent_value("10.0.0.5:8443", FP);

	CHECK(schema_agent_parse("K", v, strlen(v), &a, &err) == 0 &&
		  strcmp(a.address, "10.0.0.5:8443") == 0 &&
		  strcmp(a.fingerprint, FP) == 0,
	    "agent value round trip");
	schema_agent_clear(&a);
	free(v);
	v = "{\"address\":\"h:1\"}";
	CHECK(
	    schema_agent_parse("/cf/agents/x", v, strlen(v), &a, &err) == -1 &&
		strncmp(err.msg, "/cf/agents/x: ", 14) == 0,
	    "agent without fingerprint refused, naming the key");
	v = "{\"address\":\"h:1\",\"fingerprint\":\"SHA256:zz\"}";
	CHECK(schema_agent_parse("K", v, strlen(v), &a, &err) == -1,
	    "agent with a bad fingerprint refused");
	v = "{\"address\":";
	CHECK(
	    schema_agent_parse("/cf/agents/y", v, strlen(v), &a, &err) == -1 &&
		strstr(err.msg, "/cf/agents/y: not JSON") != NULL,
	    "a value that is not JSON refused, naming the key");
	v = "[1]";
	CHECK(schema_agent_parse("K", v, strlen(v), &a, &err) == -1,
	    "a value that is not an object refused");
}

static void
test_group(void)
{
	struct cf_error err;
	char *members = NULL, *v = schema_group_value("ex1,ex2");

	CHECK(schema_group_parse("K", v, strlen(v), &members, &err) == 0,
	    "group parsed");
	CHECK_STR(members, "ex1,ex2", "group members round trip");
	free(members);
	free(v);
	v = "{\"members\":[]}";
	CHECK(schema_group_parse("K", v, strlen(v), &members, &err) == -1,
	    "an empty group refused");
	v = "{\"members\":[\"../etc\"]}";
	CHECK(schema_group_parse("K", v, strlen(v), &members, &err) == -1 &&
		  members == NULL,
	    "a member that is not a name refused");
	v = "{\"members\":[\"a,b\"]}";
	CHECK(schema_group_parse("K", v, strlen(v), &members, &err) == -1,
	    "a member with a comma refused");
}

static void
test_spec(void)
{
	struct schema_spec in = {
	    "ex1,@web", "https,smtp", "10.0.0.9:443", "1,50%,100%", 30};
	struct schema_spec out;
	struct cf_error err;
	char *v = schema_spec_value(&in);

	CHECK(schema_spec_parse("K", v, strlen(v), &out, &err) == 0 &&
		  strcmp(out.servers, in.servers) == 0 &&
		  strcmp(out.services, in.services) == 0 &&
		  strcmp(out.via, in.via) == 0 &&
		  strcmp(out.waves, in.waves) == 0 && out.soak_s == 30,
	    "spec round trip");
	schema_spec_clear(&out);
	free(v);
	in.via = NULL;
	in.servers = "all";
	v = schema_spec_value(&in);
	CHECK(schema_spec_parse("K", v, strlen(v), &out, &err) == 0 &&
		  out.via == NULL && strcmp(out.servers, "all") == 0,
	    "spec without via, servers all");
	schema_spec_clear(&out);
	free(v);
	v = "{\"servers\":[\"ex1\"],\"services\":[\"https\"],"
	    "\"waves\":[\"100%\"],\"soak\":-1}";
	CHECK(schema_spec_parse("/k/spec", v, strlen(v), &out, &err) == -1 &&
		  strstr(err.msg, "/k/spec: \"soak\"") != NULL,
	    "negative soak refused, naming the key");
	v = "{\"servers\":[\"@../x\"],\"services\":[\"https\"],"
	    "\"waves\":[\"100%\"],\"soak\":0}";
	CHECK(schema_spec_parse("K", v, strlen(v), &out, &err) == -1,
	    "a server that is not a name refused");
	v = "{\"servers\":[\"ex1\"],\"waves\":[\"100%\"],\"soak\":0}";
	CHECK(schema_spec_parse("K", v, strlen(v), &out, &err) == -1 &&
		  out.servers == NULL,
	    "spec without services refused, nothing kept");
}

static void
test_desired(void)
{
	struct schema_desired d;
	struct cf_error err;
	json_error_t je;
	json_t *rollout = json_loads(
	    "{\"state\":\"done\",\"certificate\":\"" T_NEW "\","
	    "\"previous\":\"" T_OLD "\",\"from\":\"ex1\","
	    "\"waves\":[\"1\",\"100%\"],\"soak\":0,\"wave\":2,\"nwaves\":2,"
	    "\"started\":1,\"updated\":2,\"members\":[{\"name\":\"ex1\","
	    "\"wave\":1,\"state\":\"moved\",\"at\":2}]}",
	    0, &je);
	char *v;
	const char *bad;

	CHECK(rollout != NULL, "test rollout state parses");
	v = schema_desired_value(T_NEW, rollout);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  strcmp(d.thumbprint, T_NEW) == 0 &&
		  strcmp(d.previous, T_OLD) == 0 &&
		  json_equal(d.rollout, rollout),
	    "desired round trip, previous from the rollout");
	schema_desired_clear(&d);
	free(v);
	v = schema_desired_value(NULL, rollout);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  d.thumbprint[0] == '\0' && d.rollout != NULL,
	    "desired without a thumbprint (an aborted first rollout)");
	schema_desired_clear(&d);
	free(v);
	v = schema_desired_value(T_OLD, NULL);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  d.rollout == NULL && d.previous[0] == '\0',
	    "desired without a rollout");
	schema_desired_clear(&d);
	free(v);
	bad = "{\"thumbprint\":\"abc\"}";
	CHECK(schema_desired_parse("/k/desired", bad, strlen(bad), &d, &err) ==
		      -1 &&
		  strstr(err.msg, "/k/desired: ") == err.msg,
	    "a short thumbprint refused, naming the key");
	bad = "{\"thumbprint\":null}";
	CHECK(schema_desired_parse("K", bad, strlen(bad), &d, &err) == -1,
	    "desired with neither thumbprint nor rollout refused");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":{\"state\":\"odd\"}}";
	CHECK(schema_desired_parse("K", bad, strlen(bad), &d, &err) == -1 &&
		  strstr(err.msg, "rollout") != NULL && d.rollout == NULL,
	    "a rollout state that does not parse refused");
	json_decref(rollout);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("keys"))
		test_keys();
	if (check_test("agent"))
		test_agent();
	if (check_test("group"))
		test_group();
	if (check_test("spec"))
		test_spec();
	if (check_test("desired"))
		test_desired();
	return check_done();
}
