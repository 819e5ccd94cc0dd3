/*
 * test_etcd_msg.c - etcd_msg.c, the etcd gateway's messages: the range
 * end of a prefix, int64 fields as strings (past 2^53), omitted zero
 * fields, the txn and keepalive reply shapes, gRPC errors to cf_error,
 * and the authentication body built by hand.  The client against a real
 * etcd is tests/e2e/etcd-client.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "etcd_int.h"

static void
test_prefix_end(void)
{
	unsigned char *end;
	size_t n;

	end = etcd_prefix_end("/a/", 3, &n);
	CHECK(n == 3 && memcmp(end, "/a0", 3) == 0,
	    "prefix end: last byte incremented");
	free(end);
	end = etcd_prefix_end("a\xff\xff", 3, &n);
	CHECK(n == 1 && end[0] == 'b', "prefix end: trailing 0xff dropped");
	free(end);
	end = etcd_prefix_end("\xff", 1, &n);
	CHECK(n == 1 && end[0] == 0, "prefix end: all 0xff is every key");
	free(end);
}

static void
test_i64(void)
{
	json_t *o = json_loads("{\"id\":\"9007199254740993\",\"n\":7,"
			       "\"bad\":\"7x\",\"f\":1.5}",
	    0, NULL);
	int64_t v = -1;

	CHECK(etcd_get_i64(o, "id", &v) == 0 && v == 9007199254740993LL,
	    "i64: a string past 2^53 read exactly");
	CHECK(etcd_get_i64(o, "n", &v) == 0 && v == 7, "i64: a JSON integer");
	CHECK(etcd_get_i64(o, "missing", &v) == 0 && v == 0,
	    "i64: a missing field is zero");
	CHECK(etcd_get_i64(o, "bad", &v) == -1, "i64: trailing junk refused");
	CHECK(etcd_get_i64(o, "f", &v) == -1, "i64: a real refused");
	json_decref(o);
}

/* reply of req's kind parsed from text into r; -1 on a parse error. */
static int
parse(const char *text, const char *op, struct etcd_reply *r)
{
	struct etcd_req req = {.op = op};
	struct cf_error err;
	json_t *root = json_loads(text, 0, NULL);
	int rc = etcd_reply_parse(root, &req, r, &err);

	json_decref(root);
	return rc;
}

static void
reply_clear(struct etcd_reply *r)
{
	struct etcd_reply *h = xmalloc(sizeof(*h));

	*h = *r;
	etcd_reply_free(h);
}

static void
test_replies(void)
{
	struct etcd_reply r;

	CHECK(parse("{\"header\":{\"revision\":\"5\"}}", "range", &r) == 0 &&
		  r.revision == 5 && r.n_kvs == 0 && r.count == 0,
	    "reply: a range without a match has no kvs and count 0");
	reply_clear(&r);
	CHECK(parse("{\"header\":{\"revision\":\"6\"},\"kvs\":[{\"key\":"
		    "\"L2E=\",\"mod_revision\":\"3\",\"value\":\"AP8=\"}],"
		    "\"count\":\"1\"}",
		  "range", &r) == 0 &&
		  r.n_kvs == 1 && r.kvs[0].key_len == 2 &&
		  memcmp(r.kvs[0].key, "/a", 3) == 0 &&
		  r.kvs[0].value_len == 2 && r.kvs[0].value[1] == 0xff &&
		  r.kvs[0].mod_revision == 3 && r.kvs[0].version == 0,
	    "reply: a kv, binary value, omitted version 0");
	reply_clear(&r);
	CHECK(parse("{\"header\":{\"revision\":\"6\"},\"responses\":[{"
		    "\"response_range\":{\"kvs\":[{\"key\":\"L2E=\",\"value\":"
		    "\"djI=\",\"mod_revision\":\"6\"}],\"count\":\"1\"}}]}",
		  "txn", &r) == 0 &&
		  !r.succeeded && r.n_kvs == 1 &&
		  strcmp((char *)r.kvs[0].value, "v2") == 0,
	    "reply: a lost txn (no succeeded) carries the failure's range");
	reply_clear(&r);
	CHECK(parse("{\"header\":{},\"succeeded\":true,\"responses\":[{"
		    "\"response_put\":{\"header\":{\"revision\":\"7\"}}}]}",
		  "txn", &r) == 0 &&
		  r.succeeded,
	    "reply: a won txn");
	reply_clear(&r);
	CHECK(parse("{\"result\":{\"header\":{\"revision\":\"2\"},\"ID\":"
		    "\"4111120237303352344\",\"TTL\":\"5\"}}",
		  "lease keepalive", &r) == 0 &&
		  r.lease_id == 4111120237303352344LL && r.ttl == 5,
	    "reply: keepalive inside result, ID exact");
	reply_clear(&r);
	CHECK(parse("{\"result\":{\"header\":{},\"ID\":\"42\"}}",
		  "lease keepalive", &r) == 0 &&
		  r.ttl == 0,
	    "reply: an expired lease's keepalive has TTL 0");
	reply_clear(&r);
	CHECK(parse("{\"header\":{},\"kvs\":[{\"key\":\"not base64!\"}]}",
		  "range", &r) == -1,
	    "reply: a key that is not Base64 is refused");
	reply_clear(&r);
	CHECK(parse("[1]", "range", &r) == -1, "reply: not an object refused");
}

static void
test_errors(void)
{
	struct cf_error err;
	json_t *root;
	int grpc;

	root = json_loads("{\"error\":\"etcdserver: permission denied\","
			  "\"message\":\"etcdserver: permission denied\","
			  "\"code\":7}",
	    0, NULL);
	CHECK(etcd_reply_error(root, 403, "put", "https://h:1", &grpc, &err) ==
		      -1 &&
		  grpc == 7 && err.code == CF_E_DENIED,
	    "error: PermissionDenied is CF_E_DENIED");
	CHECK_STR(err.msg,
	    "etcd put: https://h:1: etcdserver: permission denied",
	    "error: names the call, the endpoint and etcd's message");
	CHECK_STR(etcd_error_reason(&err), "etcdserver: permission denied",
	    "error: the reason alone, past the URL's colons");
	json_decref(root);
	root = json_loads("{\"message\":\"etcdserver: authentication failed, "
			  "invalid user ID or password\",\"code\":3}",
	    0, NULL);
	CHECK(etcd_reply_error(root, 400, "authenticate", "u", &grpc, &err) ==
		      -1 &&
		  err.code == CF_E_PASSWORD,
	    "error: a failed authentication is CF_E_PASSWORD");
	json_decref(root);
	root = json_loads("{\"header\":{}}", 0, NULL);
	CHECK(etcd_reply_error(root, 200, "put", "u", &grpc, &err) == 0 &&
		  grpc == 0,
	    "error: a reply without code is no error");
	json_decref(root);
}

static void
test_requests(void)
{
	struct etcd_req *txn = etcd_req_txn();
	struct etcd e = {0};
	struct etcd_req *auth;
	char *s;

	etcd_txn_compare(
	    txn, "k", 1, ETCD_MOD, ETCD_EQUAL, 9007199254740993LL, NULL, 0);
	etcd_txn_op(txn, 1, etcd_req_put("k", 1, "v", 1, 0, 0));
	etcd_txn_op(txn, 0, etcd_req_range("k", 1, 0, 0, 0));
	s = json_dumps(txn->body, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s,
	    "{\"compare\":[{\"key\":\"aw==\",\"mod_revision\":"
	    "\"9007199254740993\",\"result\":\"EQUAL\",\"target\":\"MOD\"}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"aw==\"}}],"
	    "\"success\":[{\"request_put\":{\"key\":\"aw==\",\"value\":"
	    "\"dg==\"}}]}",
	    "request: a fenced CAS txn, revision as a string");
	free(s);
	etcd_req_free(txn);
	/* The range an agent may read: [P/agents/, P/sealed/). */
	txn = etcd_req_range_end("/c/agents/", 10, "/c/sealed/", 10, 7, 0);
	s = json_dumps(txn->body, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s,
	    "{\"key\":\"L2MvYWdlbnRzLw==\",\"range_end\":"
	    "\"L2Mvc2VhbGVkLw==\",\"revision\":\"7\"}",
	    "request: a range with its own end, not a prefix's");
	free(s);
	etcd_req_free(txn);
	e.user = "ro\"ot";
	e.password = cf_secret_new("p\\w\n", 4);
	auth = etcd_req_auth(&e);
	CHECK_STR(auth->secret_body->data,
	    "{\"name\":\"ro\\\"ot\",\"password\":\"p\\\\w\\u000a\"}",
	    "request: the authentication body, escaped");
	CHECK(auth->body == NULL, "request: no jansson copy of the password");
	etcd_req_free(auth);
	cf_secret_free(e.password);
}

/* The auth API: bodies as the gateway takes them, the password never
 * in a jansson string, a role's permissions read back. */
static void
test_auth(void)
{
	struct cf_secret *pw = cf_secret_new("s\"3", 3);
	struct etcd_req *r;
	struct etcd_reply g;
	char *s;

	r = etcd_req_user_add("certfleet-agent-ex1", pw);
	CHECK_STR(r->secret_body->data,
	    "{\"name\":\"certfleet-agent-ex1\",\"password\":\"s\\\"3\"}",
	    "auth: user add: the body, escaped");
	CHECK(r->body == NULL && !r->is_auth &&
		  strcmp(r->path, "/v3/auth/user/add") == 0,
	    "auth: user add: no jansson copy of the password, a token sent");
	etcd_req_free(r);
	cf_secret_free(pw);
	r = etcd_req_role_grant("r", ETCD_PERM_READWRITE, "/a/", 3, "/a0", 3);
	s = json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s,
	    "{\"name\":\"r\",\"perm\":{\"key\":\"L2Ev\",\"permType\":"
	    "\"READWRITE\",\"range_end\":\"L2Ew\"}}",
	    "auth: role grant: a range, the type by name");
	free(s);
	etcd_req_free(r);
	r = etcd_req_role_grant("r", ETCD_PERM_READ, "/k", 2, NULL, 0);
	CHECK(json_object_get(json_object_get(r->body, "perm"), "range_end") ==
		  NULL,
	    "auth: role grant: one key has no range_end");
	etcd_req_free(r);
	r = etcd_req_user_grant("u", "r");
	s = json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(s, "{\"role\":\"r\",\"user\":\"u\"}", "auth: user grant");
	free(s);
	etcd_req_free(r);
	CHECK(parse("{\"header\":{},\"perm\":[{\"key\":\"L2Ev\","
		    "\"range_end\":\"L2Ew\"},{\"permType\":\"READWRITE\","
		    "\"key\":\"L2Iv\"}]}",
		  "role get", &g) == 0 &&
		  g.n_grants == 2 && g.grants[0].perm == ETCD_PERM_READ &&
		  g.grants[0].range_end_len == 3 &&
		  memcmp(g.grants[0].key, "/a/", 3) == 0 &&
		  g.grants[1].perm == ETCD_PERM_READWRITE &&
		  g.grants[1].range_end_len == 0,
	    "auth: role get: READ left out as the zero value, a named type");
	reply_clear(&g);
	CHECK(parse("{\"header\":{},\"perm\":[{\"permType\":\"ALL\"}]}",
		  "role get", &g) == -1,
	    "auth: role get: an unknown permission type refused");
	reply_clear(&g);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("prefix_end"))
		test_prefix_end();
	if (check_test("i64"))
		test_i64();
	if (check_test("replies"))
		test_replies();
	if (check_test("errors"))
		test_errors();
	if (check_test("requests"))
		test_requests();
	if (check_test("auth"))
		test_auth();
	return check_done();
}
