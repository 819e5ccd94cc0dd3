/*
 * etcd_msg.c - the etcd v3 gateway's messages: each request's JSON
 * beside the decoder of its reply.  Keys and values travel as Base64;
 * int64 fields as decimal strings (lease IDs exceed 2^53, so never
 * through a double); zero values are left out of replies, so a missing
 * field reads as zero.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

struct etcd_req *
etcd_req_new(const char *op, const char *path)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	r->op = op;
	r->path = path;
	r->body = json_object();
	return r;
}

void
etcd_req_free(struct etcd_req *r)
{
	if (r == NULL)
		return;
	json_decref(r->body);
	cf_secret_free(r->secret_body);
	free(r);
}

void
etcd_json_b64(json_t *o, const char *name, const void *p, size_t len)
{
	char *s = cf_base64_new(p, len);

	json_object_set_new(o, name, json_string(s));
	free(s);
}

void
etcd_json_i64(json_t *o, const char *name, int64_t n)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, n);
	json_object_set_new(o, name, json_string(s));
}

unsigned char *
etcd_prefix_end(const void *prefix, size_t len, size_t *out)
{
	unsigned char *end = xmalloc(len + 1);
	size_t n = len;

	memcpy(end, prefix, len);
	while (n > 0 && end[n - 1] == 0xff)
		n--;
	if (n == 0) { /* all 0xff or empty: to the end of the key space */
		end[0] = 0;
		*out = 1;
		return end;
	}
	end[n - 1]++;
	*out = n;
	return end;
}

/* key, and range_end when flags ask for a prefix, into o. */
static void
set_range(json_t *o, const void *key, size_t key_len, int flags)
{
	unsigned char *end;
	size_t end_len;

	etcd_json_b64(o, "key", key, key_len);
	if (!(flags & ETCD_RANGE_PREFIX))
		return;
	end = etcd_prefix_end(key, key_len, &end_len);
	etcd_json_b64(o, "range_end", end, end_len);
	free(end);
}

struct etcd_req *
etcd_req_range(
    const void *key, size_t key_len, int flags, int64_t revision, int64_t limit)
{
	struct etcd_req *r = etcd_req_new("range", "/v3/kv/range");

	set_range(r->body, key, key_len, flags);
	if (flags & ETCD_RANGE_KEYS_ONLY)
		json_object_set_new(r->body, "keys_only", json_true());
	if (flags & ETCD_RANGE_COUNT_ONLY)
		json_object_set_new(r->body, "count_only", json_true());
	if (flags & ETCD_RANGE_SERIALIZABLE)
		json_object_set_new(r->body, "serializable", json_true());
	if (revision > 0)
		etcd_json_i64(r->body, "revision", revision);
	if (limit > 0)
		etcd_json_i64(r->body, "limit", limit);
	return r;
}

struct etcd_req *
etcd_req_range_end(const void *key, size_t key_len, const void *end,
    size_t end_len, int64_t revision, int64_t limit)
{
	struct etcd_req *r = etcd_req_range(key, key_len, 0, revision, limit);

	etcd_json_b64(r->body, "range_end", end, end_len);
	return r;
}

struct etcd_req *
etcd_req_put(const void *key, size_t key_len, const void *value,
    size_t value_len, int64_t lease, int prev_kv)
{
	struct etcd_req *r = etcd_req_new("put", "/v3/kv/put");

	etcd_json_b64(r->body, "key", key, key_len);
	etcd_json_b64(r->body, "value", value, value_len);
	if (lease != 0)
		etcd_json_i64(r->body, "lease", lease);
	if (prev_kv)
		json_object_set_new(r->body, "prev_kv", json_true());
	return r;
}

struct etcd_req *
etcd_req_delete(const void *key, size_t key_len, int flags, int prev_kv)
{
	struct etcd_req *r = etcd_req_new("delete", "/v3/kv/deleterange");

	set_range(r->body, key, key_len, flags);
	if (prev_kv)
		json_object_set_new(r->body, "prev_kv", json_true());
	return r;
}

struct etcd_req *
etcd_req_lease_grant(int64_t ttl_s)
{
	struct etcd_req *r = etcd_req_new("lease grant", "/v3/lease/grant");

	etcd_json_i64(r->body, "TTL", ttl_s);
	return r;
}

struct etcd_req *
etcd_req_lease_keepalive(int64_t id)
{
	struct etcd_req *r =
	    etcd_req_new("lease keepalive", "/v3/lease/keepalive");

	etcd_json_i64(r->body, "ID", id);
	return r;
}

struct etcd_req *
etcd_req_lease_revoke(int64_t id)
{
	struct etcd_req *r = etcd_req_new("lease revoke", "/v3/lease/revoke");

	etcd_json_i64(r->body, "ID", id);
	return r;
}

struct etcd_req *
etcd_req_txn(void)
{
	struct etcd_req *r = etcd_req_new("txn", "/v3/kv/txn");

	json_object_set_new(r->body, "compare", json_array());
	json_object_set_new(r->body, "success", json_array());
	json_object_set_new(r->body, "failure", json_array());
	return r;
}

void
etcd_txn_compare(struct etcd_req *txn, const void *key, size_t key_len,
    enum etcd_target target, enum etcd_result result, int64_t number,
    const void *value, size_t value_len)
{
	static const char *targets[] = {"MOD", "CREATE", "VERSION", "VALUE"};
	static const char *fields[] = {
	    "mod_revision", "create_revision", "version", "value"};
	static const char *results[] = {
	    "EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
	json_t *c = json_object();

	etcd_json_b64(c, "key", key, key_len);
	json_object_set_new(c, "target", json_string(targets[target]));
	json_object_set_new(c, "result", json_string(results[result]));
	if (target == ETCD_VALUE)
		etcd_json_b64(c, "value", value, value_len);
	else
		etcd_json_i64(c, fields[target], number);
	json_array_append_new(json_object_get(txn->body, "compare"), c);
}

void
etcd_txn_op(struct etcd_req *txn, int success, struct etcd_req *op)
{
	const char *name = strcmp(op->op, "put") == 0 ? "request_put"
			   : strcmp(op->op, "delete") == 0
			       ? "request_delete_range"
			       : "request_range";
	json_t *o = json_object();

	json_object_set(o, name, op->body);
	json_array_append_new(
	    json_object_get(txn->body, success ? "success" : "failure"), o);
	etcd_req_free(op);
}

/* --- Authentication --- */

/* Appends s as the inside of a JSON string to out at *n. */
static void
json_escape_into(char *out, size_t *n, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[(*n)++] = '\\';
			out[(*n)++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + *n, "\\u00", 4);
			*n += 4;
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 15];
		} else
			out[(*n)++] = (char)c;
	}
}

/*
 * {"name": user, "password": password} written by hand into r's secret
 * body rather than through jansson, whose strings are freed without
 * being wiped.
 */
static void
secret_name_password(
    struct etcd_req *r, const char *user, const struct cf_secret *password)
{
	size_t ulen = strlen(user), n = 0;
	char *out;

	r->secret_body = cf_secret_alloc(32 + 6 * (ulen + password->len));
	out = r->secret_body->data;
	memcpy(out + n, "{\"name\":\"", 9);
	n += 9;
	json_escape_into(out, &n, user, ulen);
	memcpy(out + n, "\",\"password\":\"", 14);
	n += 14;
	json_escape_into(out, &n, password->data, password->len);
	memcpy(out + n, "\"}", 3);
	n += 2;
	r->secret_body->len = n;
}

struct etcd_req *
etcd_req_auth(const struct etcd *e)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	r->op = "authenticate";
	r->path = "/v3/auth/authenticate";
	r->is_auth = 1;
	secret_name_password(r, e->user, e->password);
	return r;
}

/* --- Users and roles (root only) --- */

struct etcd_req *
etcd_req_user_add(const char *user, const struct cf_secret *password)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	r->op = "user add";
	r->path = "/v3/auth/user/add";
	secret_name_password(r, user, password);
	return r;
}

struct etcd_req *
etcd_req_user_delete(const char *user)
{
	struct etcd_req *r =
	    etcd_req_new("user delete", "/v3/auth/user/delete");

	json_object_set_new(r->body, "name", json_string(user));
	return r;
}

struct etcd_req *
etcd_req_role_add(const char *role)
{
	struct etcd_req *r = etcd_req_new("role add", "/v3/auth/role/add");

	json_object_set_new(r->body, "name", json_string(role));
	return r;
}

struct etcd_req *
etcd_req_role_delete(const char *role)
{
	struct etcd_req *r =
	    etcd_req_new("role delete", "/v3/auth/role/delete");

	json_object_set_new(r->body, "role", json_string(role));
	return r;
}

struct etcd_req *
etcd_req_role_grant(const char *role, enum etcd_perm perm, const void *key,
    size_t key_len, const void *range_end, size_t range_end_len)
{
	static const char *const names[] = {[ETCD_PERM_READ] = "READ",
	    [ETCD_PERM_WRITE] = "WRITE",
	    [ETCD_PERM_READWRITE] = "READWRITE"};
	struct etcd_req *r =
	    etcd_req_new("role grant-permission", "/v3/auth/role/grant");
	json_t *p = json_object();

	json_object_set_new(p, "permType", json_string(names[perm]));
	etcd_json_b64(p, "key", key, key_len);
	if (range_end != NULL)
		etcd_json_b64(p, "range_end", range_end, range_end_len);
	json_object_set_new(r->body, "name", json_string(role));
	json_object_set_new(r->body, "perm", p);
	return r;
}

struct etcd_req *
etcd_req_user_grant(const char *user, const char *role)
{
	struct etcd_req *r =
	    etcd_req_new("user grant-role", "/v3/auth/user/grant");

	json_object_set_new(r->body, "user", json_string(user));
	json_object_set_new(r->body, "role", json_string(role));
	return r;
}

struct etcd_req *
etcd_req_role_get(const char *role)
{
	struct etcd_req *r = etcd_req_new("role get", "/v3/auth/role/get");

	json_object_set_new(r->body, "role", json_string(role));
	return r;
}

struct etcd_req *
etcd_req_role_revoke(const char *role, const void *key, size_t key_len,
    const void *range_end, size_t range_end_len)
{
	struct etcd_req *r =
	    etcd_req_new("role revoke-permission", "/v3/auth/role/revoke");

	json_object_set_new(r->body, "role", json_string(role));
	etcd_json_b64(r->body, "key", key, key_len);
	if (range_end != NULL)
		etcd_json_b64(r->body, "range_end", range_end, range_end_len);
	return r;
}

/* --- Replies --- */

int
etcd_get_i64(const json_t *o, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

void
etcd_kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* o[name], Base64, decoded into *p and *len (NUL after); missing = empty
 * when may_miss, else NULL. */
static int
get_b64(const json_t *o, const char *name, int may_miss, unsigned char **p,
    size_t *len, struct cf_error *err)
{
	const json_t *v = json_object_get(o, name);
	struct cf_buf b;

	*p = NULL;
	*len = 0;
	if (v == NULL) {
		if (may_miss)
			*p = (unsigned char *)xstrdup("");
		return 0;
	}
	if (!json_is_string(v))
		return cf_errorf(
		    err, CF_E_PARSE, "etcd reply: %s: not a string", name);
	if (cf_base64_decode(json_string_value(v), json_string_length(v),
		"etcd reply", &b, err) == -1)
		return -1;
	b.data[b.len] = '\0';
	*p = b.data;
	*len = b.len;
	return 0;
}

int
etcd_kv_parse(const json_t *o, struct etcd_kv *kv, struct cf_error *err)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return cf_errorf(
		    err, CF_E_PARSE, "etcd reply: kv: not an object");
	if (get_b64(o, "key", 1, &kv->key, &kv->key_len, err) == -1 ||
	    get_b64(o, "value", 1, &kv->value, &kv->value_len, err) == -1)
		goto bad;
	if (etcd_get_i64(o, "create_revision", &kv->create_revision) == -1 ||
	    etcd_get_i64(o, "mod_revision", &kv->mod_revision) == -1 ||
	    etcd_get_i64(o, "version", &kv->version) == -1 ||
	    etcd_get_i64(o, "lease", &kv->lease) == -1) {
		cf_errorf(err, CF_E_PARSE, "etcd reply: kv: a bad number");
		goto bad;
	}
	return 0;
bad:
	etcd_kv_clear(kv);
	return -1;
}

/* Appends the kv objects of array a to *kvs. */
static int
add_kvs(const json_t *a, struct etcd_kv **kvs, size_t *n, struct cf_error *err)
{
	const json_t *o;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return cf_errorf(err, CF_E_PARSE, "etcd reply: not an array");
	*kvs = xrealloc(*kvs, (*n + json_array_size(a) + 1) * sizeof(**kvs));
	json_array_foreach(a, i, o) {
		if (etcd_kv_parse(o, &(*kvs)[*n], err) == -1)
			return -1;
		(*n)++;
	}
	return 0;
}

/* The permission type of o: the gateway names it, or leaves out the
 * zero value (READ); -1 for another. */
static int
perm_of(const json_t *o, enum etcd_perm *out)
{
	static const char *const names[] = {"READ", "WRITE", "READWRITE"};
	const json_t *v = json_object_get(o, "permType");
	size_t i;

	*out = ETCD_PERM_READ;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= ETCD_PERM_READWRITE) {
		*out = (enum etcd_perm)json_integer_value(v);
		return 0;
	}
	for (i = 0; i < 3; i++)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), names[i]) == 0) {
			*out = (enum etcd_perm)i;
			return 0;
		}
	return -1;
}

/* A role's "perm" array, when there is one, into r->grants. */
static int
add_grants(const json_t *a, struct etcd_reply *r, struct cf_error *err)
{
	struct etcd_grant *g;
	const json_t *o;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return cf_errorf(
		    err, CF_E_PARSE, "etcd reply: perm: not an array");
	r->grants = xrealloc(
	    r->grants, (r->n_grants + json_array_size(a) + 1) * sizeof(*g));
	json_array_foreach(a, i, o) {
		g = &r->grants[r->n_grants];
		memset(g, 0, sizeof(*g));
		r->n_grants++;
		if (perm_of(o, &g->perm) == -1)
			return cf_errorf(
			    err, CF_E_PARSE, "etcd reply: perm: a bad type");
		if (get_b64(o, "key", 1, &g->key, &g->key_len, err) == -1 ||
		    get_b64(o, "range_end", 1, &g->range_end, &g->range_end_len,
			err) == -1)
			return -1;
	}
	return 0;
}

/* The fields of one response (range, put, delete or lease) into r. */
static int
parse_one(const json_t *o, struct etcd_reply *r, struct cf_error *err)
{
	const json_t *prev = json_object_get(o, "prev_kv");
	int64_t count, deleted, id, ttl;

	if (add_kvs(json_object_get(o, "kvs"), &r->kvs, &r->n_kvs, err) == -1 ||
	    add_kvs(json_object_get(o, "prev_kvs"), &r->prev_kvs,
		&r->n_prev_kvs, err) == -1 ||
	    add_grants(json_object_get(o, "perm"), r, err) == -1)
		return -1;
	if (prev != NULL) {
		r->prev_kvs = xrealloc(
		    r->prev_kvs, (r->n_prev_kvs + 1) * sizeof(*r->prev_kvs));
		if (etcd_kv_parse(prev, &r->prev_kvs[r->n_prev_kvs], err) == -1)
			return -1;
		r->n_prev_kvs++;
	}
	if (etcd_get_i64(o, "count", &count) == -1 ||
	    etcd_get_i64(o, "deleted", &deleted) == -1 ||
	    etcd_get_i64(o, "ID", &id) == -1 ||
	    etcd_get_i64(o, "TTL", &ttl) == -1)
		return cf_errorf(err, CF_E_PARSE, "etcd reply: a bad number");
	r->count += count;
	r->deleted += deleted;
	if (id != 0)
		r->lease_id = id;
	if (ttl != 0)
		r->ttl = ttl;
	r->more = r->more || json_is_true(json_object_get(o, "more"));
	return 0;
}

int
etcd_reply_parse(const json_t *root, const struct etcd_req *req,
    struct etcd_reply *r, struct cf_error *err)
{
	const json_t *o = root, *resp, *one;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(root))
		return cf_errorf(err, CF_E_PARSE,
		    "etcd %s: the reply is not "
		    "a JSON object",
		    req->op);
	/* keepalive is a stream message: {"result":{...}} */
	if (json_is_object(json_object_get(root, "result")))
		o = json_object_get(root, "result");
	if (etcd_get_i64(
		json_object_get(o, "header"), "revision", &r->revision) == -1)
		return cf_errorf(
		    err, CF_E_PARSE, "etcd %s: a bad revision", req->op);
	r->succeeded = json_is_true(json_object_get(o, "succeeded"));
	if (parse_one(o, r, err) == -1)
		return -1;
	resp = json_object_get(o, "responses");
	json_array_foreach(resp, i, one) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)one, k, v)
			if (json_is_object(v) && parse_one(v, r, err) == -1)
				return -1;
	}
	return 0;
}

void
etcd_reply_free(struct etcd_reply *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_kvs; i++)
		etcd_kv_clear(&r->kvs[i]);
	for (i = 0; i < r->n_prev_kvs; i++)
		etcd_kv_clear(&r->prev_kvs[i]);
	for (i = 0; i < r->n_grants; i++) {
		free(r->grants[i].key);
		free(r->grants[i].range_end);
	}
	free(r->kvs);
	free(r->prev_kvs);
	free(r->grants);
	free(r);
}

/* gRPC codes (google.golang.org/grpc/codes) to certfleet's. */
static int
code_of(int grpc)
{
	switch (grpc) {
	case 3: /* InvalidArgument: also a wrong password in 3.4 */
		return CF_E_USAGE;
	case 5: /* NotFound */
		return CF_E_NOTFOUND;
	case 7: /* PermissionDenied */
		return CF_E_DENIED;
	case 8: /* ResourceExhausted */
		return CF_E_LIMIT;
	case 9:  /* FailedPrecondition: compacted, future revision */
	case 11: /* OutOfRange */
		return CF_E_CONFLICT;
	case 16: /* Unauthenticated */
		return CF_E_PASSWORD;
	default:
		return CF_E_IO;
	}
}

int
etcd_reply_error(const json_t *root, int http_status, const char *op,
    const char *url, int *grpc_code, struct cf_error *err)
{
	const json_t *o = root;
	const char *msg;
	int64_t code = 0;

	*grpc_code = 0;
	/* a stream's error: {"error":{"grpc_code":..,"message":..}} */
	if (json_is_object(json_object_get(root, "error")))
		o = json_object_get(root, "error");
	if (json_object_get(o, "code") == NULL &&
	    json_object_get(o, "grpc_code") == NULL && http_status == 200)
		return 0;
	if (etcd_get_i64(o, "code", &code) == -1 || code == 0)
		(void)etcd_get_i64(o, "grpc_code", &code);
	msg = json_string_value(json_object_get(o, "message"));
	if (msg == NULL)
		msg = json_string_value(json_object_get(o, "error"));
	*grpc_code = (int)code;
	if (code == 0 && http_status == 200)
		return 0;
	cf_errorf(err, code_of((int)code), "etcd %s: %s: %s", op, url,
	    msg != NULL ? msg : "an error without a message");
	if ((int)code == 3 && msg != NULL &&
	    strstr(msg, "authentication failed") != NULL)
		err->code = CF_E_PASSWORD;
	return -1;
}

const char *
etcd_error_reason(const struct cf_error *err)
{
	const char *p = strstr(err->msg, ": ");

	/* "etcd OP: URL: reason"; a URL has "://", never ": " */
	if (p != NULL)
		p = strstr(p + 2, ": ");
	return p != NULL ? p + 2 : err->msg;
}
