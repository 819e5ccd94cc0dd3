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
#define ID "0123456789abcdef0123456789abcdef"
#define PEM "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n"

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
	    "/certfleet", SCHEMA_STATUS, "mail.example.com", "ex2", &err);
	CHECK_STR(
	    key, "/certfleet/agents/ex2/status/mail.example.com", "status key");
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
		k.kind == SCHEMA_UNKNOWN && k.ns[0] == '\0',
	    "an old namespace leaf is unknown, not an error");
	CHECK(parses("/certfleet", "/certfleet/later/x", &k) &&
		  k.kind == SCHEMA_UNKNOWN,
	    "a key of no known shape is unknown, not an error");
	CHECK(!parses("/certfleet", "/certfleet/agents/../x", &k),
	    "an agent key with .. refused");
	CHECK(parses("/certfleet", "/certfleet/agents/a/b", &k) &&
		  k.kind == SCHEMA_UNKNOWN && k.name[0] == '\0',
	    "an agent's leaf of no known shape is unknown");
	CHECK(schema_key_parse("/certfleet", "/certfleet/agents/a b/live", 26,
		  &k, &err) == -1 &&
		  strstr(err.msg, "/certfleet/agents/a b/live") != NULL,
	    "an agent key with a bad name refused, naming the key");
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
	    "ex1,@web", "https,smtp", "10.0.0.9:443", "1,50%,100%", 30, NULL};
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
		  out.via == NULL && strcmp(out.servers, "all") == 0 &&
		  out.issuer == NULL,
	    "spec without via, servers all, no issuer");
	schema_spec_clear(&out);
	free(v);
	in.issuer = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "acme",
	    "account", "le", "challenge", "dns-01", "key", "rsa2048",
	    "renew_at", "30d");
	v = schema_spec_value(&in);
	CHECK(schema_spec_parse("K", v, strlen(v), &out, &err) == 0 &&
		  json_equal(out.issuer, in.issuer),
	    "spec with an issuer: round trip");
	schema_spec_clear(&out);
	free(v);
	json_object_set_new(in.issuer, "challenge", json_string("tls-alpn-01"));
	v = schema_spec_value(&in);
	CHECK(schema_spec_parse("/k/spec", v, strlen(v), &out, &err) == -1 &&
		  strstr(err.msg, "/k/spec: issuer: challenge") != NULL,
	    "an issuer with an unknown challenge refused, naming it");
	free(v);
	json_decref(in.issuer);
	in.issuer = NULL;
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
	v = schema_desired_value_agents(T_NEW, rollout, ID);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  strcmp(d.id, ID) == 0 && d.agents == 1 &&
		  strcmp(d.thumbprint, T_NEW) == 0,
	    "desired of the agents round trip, id and agents kept");
	schema_desired_clear(&d);
	free(v);
	v = schema_desired_value(T_NEW, rollout);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  d.id[0] == '\0' && d.agents == 0,
	    "desired of the CLI: no id, not the agents'");
	schema_desired_clear(&d);
	free(v);
	json_object_set_new(rollout, "members", json_array());
	v = schema_desired_value_agents(T_NEW, rollout, ID);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == 0 &&
		  d.agents == 1 &&
		  json_array_size(json_object_get(d.rollout, "members")) == 0,
	    "an agents' rollout without members read");
	schema_desired_clear(&d);
	free(v);
	v = schema_desired_value(T_NEW, rollout);
	CHECK(schema_desired_parse("K", v, strlen(v), &d, &err) == -1,
	    "a rollout the CLI drives without members refused");
	free(v);
	bad = "{\"thumbprint\":\"" T_NEW "\",\"id\":\"0123456789ABCDEF"
	      "0123456789ABCDEF\"}";
	CHECK(schema_desired_parse("/k/d", bad, strlen(bad), &d, &err) == -1 &&
		  strstr(err.msg, "/k/d: ") == err.msg,
	    "an id in upper case refused, naming the key");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"id\":\"0123\"}";
	CHECK(schema_desired_parse("K", bad, strlen(bad), &d, &err) == -1,
	    "a short id refused");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"agents\":\"yes\"}";
	CHECK(schema_desired_parse("K", bad, strlen(bad), &d, &err) == -1,
	    "agents that is not a boolean refused");
	json_decref(rollout);
}

/* Each key an agent writes, built and read back as its kind. */
static void
test_agent_keys(void)
{
	static const struct {
		enum schema_kind kind;
		const char *ns, *key;
	} cases[] = {
	    {SCHEMA_AGENT_LIVE, NULL, "/certfleet/agents/ex1/live"},
	    {SCHEMA_AGENT_IDENTITY, NULL, "/certfleet/agents/ex1/identity"},
	    {SCHEMA_STATUS, "m.example",
		"/certfleet/agents/ex1/status/m.example"},
	    {SCHEMA_ELECT, "m.example", "/certfleet/elect/ex1/m.example"},
	    {SCHEMA_PROGRESS, "m.example", "/certfleet/progress/ex1/m.example"},
	    {SCHEMA_SEALED, "m.example", "/certfleet/sealed/ex1/m.example"},
	};
	struct cf_error err;
	struct schema_key k;
	char *key, *from, *to, name[96];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key = schema_key(
		    "/certfleet", cases[i].kind, cases[i].ns, "ex1", &err);
		snprintf(name, sizeof(name), "key %zu built", i);
		CHECK_STR(key, cases[i].key, name);
		free(key);
		snprintf(name, sizeof(name), "key %zu parsed", i);
		CHECK(
		    parses("/certfleet", cases[i].key, &k) &&
			k.kind == cases[i].kind && strcmp(k.name, "ex1") == 0 &&
			strcmp(k.ns, cases[i].ns != NULL ? cases[i].ns : "") ==
			    0,
		    name);
		snprintf(name, sizeof(name), "key %zu without a name", i);
		CHECK(schema_key("/certfleet", cases[i].kind, cases[i].ns, "..",
			  &err) == NULL,
		    name);
	}
	CHECK(schema_key(
		  "/certfleet", SCHEMA_ELECT, "A.example", "ex1", &err) == NULL,
	    "an elect key for a namespace in upper case refused");
	CHECK(schema_kind_agent_written(SCHEMA_AGENT_LIVE) &&
		  schema_kind_agent_written(SCHEMA_AGENT_IDENTITY) &&
		  schema_kind_agent_written(SCHEMA_STATUS) &&
		  schema_kind_agent_written(SCHEMA_ELECT) &&
		  schema_kind_agent_written(SCHEMA_PROGRESS),
	    "live, identity, status, elect and progress are the agents'");
	CHECK(!schema_kind_agent_written(SCHEMA_AGENT) &&
		  !schema_kind_agent_written(SCHEMA_SEALED) &&
		  !schema_kind_agent_written(SCHEMA_NS_DESIRED) &&
		  !schema_kind_agent_written(SCHEMA_UNKNOWN),
	    "pins, sealed material and desired are the CLI's");

	CHECK(!parses("/certfleet", "/certfleet/elect/ex1/Bad.Example", &k),
	    "an elect key with a bad namespace refused");
	CHECK(!parses("/certfleet", "/certfleet/progress/../m.example", &k),
	    "a progress key with a bad name refused");
	CHECK(!parses("/certfleet", "/certfleet/sealed/ex1/m.example/x", &k),
	    "a sealed key with a '/' in the namespace refused");
	CHECK(!parses("/certfleet", "/certfleet/agents/ex1/status/a*b", &k),
	    "a status key with a bad namespace refused");
	CHECK(!parses("/certfleet", "/certfleet/agents/ex1/status/", &k),
	    "a status key without a namespace refused");
	CHECK(parses("/certfleet", "/certfleet/elect/ex1", &k) &&
		  k.kind == SCHEMA_UNKNOWN,
	    "an elect key without a namespace is unknown");
	CHECK(parses("/certfleet", "/certfleet/agents/ex1/later", &k) &&
		  k.kind == SCHEMA_UNKNOWN,
	    "an agent's later leaf is unknown");

	schema_agent_range("/certfleet", &from, &to);
	CHECK_STR(from, "/certfleet/agents/", "the agents' range starts");
	CHECK_STR(to, "/certfleet/sealed/", "the agents' range ends");
	CHECK(strcmp(from, "/certfleet/elect/x") < 0 &&
		  strcmp("/certfleet/progress/x", to) < 0 &&
		  strcmp("/certfleet/ns/m.example/desired", to) < 0 &&
		  strcmp("/certfleet/sealed/x/m.example", to) >= 0,
	    "the range holds elect, ns and progress, not sealed");
	free(from);
	free(to);
}

static void
test_live_identity(void)
{
	struct schema_live in = {"10.0.0.5:8443", 1700000000, "0.13"}, out;
	struct cf_error err;
	char *v = schema_live_value(&in), *pem = NULL;
	const char *bad;

	CHECK(schema_live_parse("K", v, strlen(v), &out, &err) == 0 &&
		  strcmp(out.address, in.address) == 0 &&
		  out.started == in.started && strcmp(out.version, "0.13") == 0,
	    "live round trip");
	schema_live_clear(&out);
	free(v);
	bad = "{\"address\":\"h:1\",\"started\":-1,\"version\":\"1\"}";
	CHECK(
	    schema_live_parse("/k/live", bad, strlen(bad), &out, &err) == -1 &&
		strstr(err.msg, "/k/live: ") == err.msg && out.address == NULL,
	    "live with a negative start refused, naming the key");
	bad = "{\"address\":\"\",\"started\":1,\"version\":\"1\"}";
	CHECK(schema_live_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "live without an address refused");

	v = schema_identity_value(PEM);
	CHECK(schema_identity_parse("K", v, strlen(v), &pem, &err) == 0 &&
		  pem != NULL && strcmp(pem, PEM) == 0,
	    "identity round trip");
	free(pem);
	free(v);
	v = schema_identity_value(PEM PEM);
	CHECK(schema_identity_parse("/k/identity", v, strlen(v), &pem, &err) ==
		      -1 &&
		  pem == NULL && strstr(err.msg, "/k/identity: ") == err.msg,
	    "identity with two certificates refused");
	free(v);
	v = schema_identity_value("-----BEGIN PRIVATE KEY-----\nAA\n"
				  "-----END PRIVATE KEY-----\n");
	CHECK(schema_identity_parse("K", v, strlen(v), &pem, &err) == -1,
	    "identity that is a key, not a certificate, refused");
	free(v);
}

static void
test_status(void)
{
	struct schema_svc svc[] = {{"https", T_NEW}, {"smtp", ""}};
	struct schema_svc before[] = {{"https", T_OLD}, {"smtp", ""}};
	struct schema_status in = {.desired_rev = 42,
	    .rollout = ID,
	    .target = T_NEW,
	    .state = SCHEMA_ST_CONVERGED,
	    .at = 99,
	    .services = svc,
	    .nservices = 2,
	    .before = before,
	    .nbefore = 2};
	struct schema_status out;
	struct cf_error err;
	char *v = schema_status_value(&in);
	const char *bad;

	CHECK(schema_status_parse("K", v, strlen(v), &out, &err) == 0 &&
		  out.desired_rev == 42 && strcmp(out.rollout, ID) == 0 &&
		  strcmp(out.target, T_NEW) == 0 && !out.to_before &&
		  out.state == SCHEMA_ST_CONVERGED && out.at == 99 &&
		  out.nservices == 2 &&
		  strcmp(out.services[0].thumb, T_NEW) == 0 &&
		  out.services[1].thumb[0] == '\0' && out.nbefore == 2 &&
		  strcmp(out.before[0].thumb, T_OLD) == 0 &&
		  strcmp(out.before[1].service, "smtp") == 0 &&
		  out.step == NULL && out.error == NULL,
	    "status round trip");
	schema_status_clear(&out);
	free(v);
	in.state = SCHEMA_ST_FAILED;
	in.target[0] = '\0';
	in.to_before = 1;
	in.step = "deploy";
	in.error = "no space left";
	in.nbefore = 0;
	v = schema_status_value(&in);
	CHECK(schema_status_parse("K", v, strlen(v), &out, &err) == 0 &&
		  out.state == SCHEMA_ST_FAILED && out.to_before &&
		  out.target[0] == '\0' && strcmp(out.step, "deploy") == 0 &&
		  strcmp(out.error, "no space left") == 0 && out.nbefore == 0,
	    "failed status back to before round trip");
	schema_status_clear(&out);
	free(v);
	CHECK_STR(schema_status_state_name(SCHEMA_ST_WORKING), "working",
	    "state name");

	bad = "{\"desired_rev\":1,\"at\":1,\"state\":\"failed\"}";
	CHECK(schema_status_parse("/k/s", bad, strlen(bad), &out, &err) == -1 &&
		  strstr(err.msg, "/k/s: ") == err.msg,
	    "a failed status without an error refused, naming the key");
	bad = "{\"desired_rev\":1,\"at\":1,\"state\":\"odd\"}";
	CHECK(schema_status_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "an unknown state refused");
	bad = "{\"desired_rev\":1,\"at\":1,\"state\":\"working\","
	      "\"rollout\":\"ABC\"}";
	CHECK(schema_status_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "a rollout id that is not 32 lower-case hex refused");
	bad = "{\"desired_rev\":1,\"at\":1,\"state\":\"working\","
	      "\"services\":[{\"service\":\"a/b\",\"thumbprint\":null}]}";
	CHECK(schema_status_parse("K", bad, strlen(bad), &out, &err) == -1 &&
		  out.services == NULL,
	    "a service that is not a name refused, nothing kept");
	bad = "{\"desired_rev\":1,\"at\":1,\"state\":\"converged\","
	      "\"to_before\":true,\"target\":\"" T_NEW "\"}";
	CHECK(schema_status_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "a target beside to_before refused");
	bad = "{\"desired_rev\":-3,\"at\":1,\"state\":\"working\"}";
	CHECK(schema_status_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "a negative desired_rev refused");
}

static void
test_progress(void)
{
	char *pending[] = {"ex4", "ex5"};
	struct schema_progress in = {.desired_rev = 7,
	    .rollout = ID,
	    .wave = 2,
	    .phase = SCHEMA_PH_REVERTING,
	    .since = 1000,
	    .member = "ex3",
	    .step = "handshake",
	    .error = "wrong certificate served",
	    .pending = pending,
	    .npending = 2};
	struct schema_progress out;
	struct cf_error err;
	char *v = schema_progress_value(&in);
	const char *bad;

	CHECK(schema_progress_parse("K", v, strlen(v), &out, &err) == 0 &&
		  out.desired_rev == 7 && strcmp(out.rollout, ID) == 0 &&
		  out.wave == 2 && out.phase == SCHEMA_PH_REVERTING &&
		  out.since == 1000 && strcmp(out.member, "ex3") == 0 &&
		  strcmp(out.step, "handshake") == 0 &&
		  strcmp(out.error, "wrong certificate served") == 0 &&
		  out.npending == 2 && strcmp(out.pending[1], "ex5") == 0,
	    "progress round trip");
	schema_progress_clear(&out);
	free(v);
	CHECK_STR(schema_phase_name(SCHEMA_PH_SOAK), "soak", "phase name");

	bad = "{\"desired_rev\":1,\"since\":1,\"wave\":0,"
	      "\"phase\":\"moving\"}";
	CHECK(
	    schema_progress_parse("/k/p", bad, strlen(bad), &out, &err) == -1 &&
		strstr(err.msg, "/k/p: ") == err.msg,
	    "wave 0 refused, naming the key");
	bad = "{\"desired_rev\":1,\"since\":1,\"wave\":1,"
	      "\"phase\":\"later\"}";
	CHECK(schema_progress_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "an unknown phase refused");
	bad = "{\"desired_rev\":1,\"since\":1,\"wave\":1,"
	      "\"phase\":\"moving\",\"pending\":[\"ok\",\"../x\"]}";
	CHECK(schema_progress_parse("K", bad, strlen(bad), &out, &err) == -1 &&
		  out.pending == NULL,
	    "a pending member that is not a name refused, nothing kept");
	bad = "{\"desired_rev\":1,\"since\":1,\"wave\":1,"
	      "\"phase\":\"moving\",\"member\":\"a/b\"}";
	CHECK(schema_progress_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "a failed member that is not a name refused");
}

static void
test_sealed(void)
{
	unsigned char blob[] = {0, 1, 2, 250, 251, 252, 'x'};
	struct schema_sealed in = {.thumbprint = T_NEW,
				 .rollout = ID,
				 .wave = 3,
				 .blob = {blob, sizeof(blob)}},
			     out;
	struct cf_error err;
	char *v = schema_sealed_value(&in);
	const char *bad;

	CHECK(schema_sealed_parse("K", v, strlen(v), &out, &err) == 0 &&
		  strcmp(out.thumbprint, T_NEW) == 0 &&
		  strcmp(out.rollout, ID) == 0 && out.wave == 3 &&
		  out.blob.len == sizeof(blob) &&
		  memcmp(out.blob.data, blob, sizeof(blob)) == 0,
	    "sealed round trip, binary blob and wave");
	schema_sealed_clear(&out);
	CHECK(out.blob.data == NULL, "sealed cleared");
	free(v);
	in.blob.data = NULL;
	in.blob.len = 0;
	in.wave = 1;
	v = schema_sealed_value(&in);
	CHECK(strstr(v, "\"sealed\"") == NULL &&
		  schema_sealed_parse("K", v, strlen(v), &out, &err) == 0 &&
		  out.wave == 1 && out.blob.len == 0 && out.blob.data == NULL,
	    "sealed without a blob (the source) written and read back");
	schema_sealed_clear(&out);
	free(v);
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":\"" ID "\","
	      "\"wave\":1,\"sealed\":\"!!not base64!!\"}";
	CHECK(schema_sealed_parse("/k/sealed", bad, strlen(bad), &out, &err) ==
		      -1 &&
		  strstr(err.msg, "/k/sealed: ") == err.msg &&
		  out.blob.data == NULL,
	    "sealed that is not Base64 refused, naming the key");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":\"" ID "\","
	      "\"wave\":1,\"sealed\":\"\"}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "an empty sealed blob refused (absent means none)");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"wave\":1,\"sealed\":\"AAAA\"}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "sealed without a rollout id refused");
	bad = "{\"thumbprint\":\"abc\",\"rollout\":\"" ID "\","
	      "\"wave\":1,\"sealed\":\"AAAA\"}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "sealed with a short thumbprint refused");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":\"" ID "\","
	      "\"sealed\":\"AAAA\"}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1 &&
		  strstr(err.msg, "wave") != NULL,
	    "sealed without a wave refused");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":\"" ID "\","
	      "\"wave\":0}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "sealed with wave 0 refused");
	bad = "{\"thumbprint\":\"" T_NEW "\",\"rollout\":\"" ID "\","
	      "\"wave\":\"1\"}";
	CHECK(schema_sealed_parse("K", bad, strlen(bad), &out, &err) == -1,
	    "sealed with a wave that is not a number refused");
}

static int
plan_parses(const char *v, struct schema_plan *out)
{
	struct cf_error err;

	return schema_plan_parse("K", v, strlen(v), out, &err) == 0;
}

static void
test_plan(void)
{
	struct schema_plan_member m[] = {{"ex1", 1}, {"ex2", 2}, {"ex3", 2}};
	struct schema_plan in = {ID, m, 3}, out;
	struct schema_key k;
	struct cf_error err;
	char *v, *key;

	key = schema_key("/certfleet", SCHEMA_PLAN, "m.example", NULL, &err);
	CHECK_STR(key, "/certfleet/waves/m.example", "plan key built");
	free(key);
	CHECK(parses("/certfleet", "/certfleet/waves/m.example", &k) &&
		  k.kind == SCHEMA_PLAN && strcmp(k.ns, "m.example") == 0 &&
		  k.name[0] == '\0',
	    "plan key parsed");
	CHECK(!parses("/certfleet", "/certfleet/waves/M.example", &k),
	    "a plan key with a bad namespace refused");
	CHECK(!schema_kind_agent_written(SCHEMA_PLAN), "the plan is the CLI's");

	v = schema_plan_value(&in);
	CHECK(plan_parses(v, &out) && strcmp(out.rollout, ID) == 0 &&
		  out.n == 3 && strcmp(out.m[0].name, "ex1") == 0 &&
		  out.m[0].wave == 1 && strcmp(out.m[2].name, "ex3") == 0 &&
		  out.m[2].wave == 2,
	    "plan round trip, in order");
	schema_plan_clear(&out);
	CHECK(out.m == NULL && out.n == 0, "plan cleared");
	free(v);
	CHECK(plan_parses("{\"rollout\":\"" ID "\",\"members\":[]}", &out) &&
		  out.n == 0,
	    "a plan with no members read");
	schema_plan_clear(&out);

	CHECK(!plan_parses("{\"rollout\":\"0123\",\"members\":[]}", &out) &&
		  out.m == NULL,
	    "a plan with a short id refused");
	CHECK(!plan_parses("{\"members\":[]}", &out),
	    "a plan without id refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\"}", &out),
	    "a plan without members refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			   "[{\"name\":\"../x\",\"wave\":1}]}",
		  &out),
	    "a member that is not a fleet name refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			   "[{\"name\":\"all\",\"wave\":1}]}",
		  &out),
	    "a member named all refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			   "[{\"name\":\"ex1\",\"wave\":0}]}",
		  &out),
	    "a member in wave 0 refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			   "[{\"name\":\"ex1\"}]}",
		  &out),
	    "a member without a wave refused");
	CHECK(!plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			   "[{\"name\":\"ex1\",\"wave\":1},"
			   "{\"name\":\"ex2\",\"wave\":1},"
			   "{\"name\":\"ex1\",\"wave\":2}]}",
		  &out) &&
		  out.m == NULL,
	    "a member twice refused, nothing kept");
	CHECK(plan_parses("{\"rollout\":\"" ID "\",\"members\":"
			  "[{\"name\":\"ex1\",\"wave\":1},{\"name\":\"ex2\","
			  "\"wave\":1}]}",
		  &out),
	    "two members in one wave read");
	schema_plan_clear(&out);
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
	if (check_test("agent-keys"))
		test_agent_keys();
	if (check_test("live-identity"))
		test_live_identity();
	if (check_test("status"))
		test_status();
	if (check_test("progress"))
		test_progress();
	if (check_test("sealed"))
		test_sealed();
	if (check_test("plan"))
		test_plan();
	return check_done();
}
