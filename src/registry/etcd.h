/*
 * etcd.h - a client of etcd 3.4+'s v3 JSON gateway over HTTPS with mutual
 * TLS: the transport the etcd registry stands on.
 *
 * What it speaks.  POST /v3/... with JSON bodies (libevent's evhttp on a
 * bufferevent_openssl, jansson, Base64 through util.h): range, put,
 * delete range, txn (compare and put/delete/range ops: what a fenced
 * compare-and-swap needs), lease grant/keepalive/revoke, and watch on a
 * prefix from a revision (one long POST /v3/watch whose reply streams
 * newline-separated JSON objects).  The gateway sends int64 fields as
 * strings and omits zero values: every int64 is read with strtoll (never
 * through a double) and a missing field is zero.
 *
 * Requests are built by the etcd_req_* functions (one per etcd call),
 * then sent by etcd_call (asynchronous, on the client's event_base) or
 * etcd_call_wait (blocking, for a client made without a base: the CLI).
 *
 * Endpoints and failover.  A client holds one to a few endpoints
 * ("https://HOST:PORT").  A call goes to the current endpoint; when the
 * connection fails or no answer comes within the timeout, the next
 * endpoint becomes current and the call is sent again there, until each
 * endpoint has been tried once.  A put or txn whose answer was lost may
 * thus be applied twice; a txn fenced by revision then reports that its
 * compare failed, and the caller re-reads, which is the safe side.  One
 * keep-alive connection per endpoint carries the calls; a watch has a
 * connection of its own.
 *
 * Authentication.  With a user, the client authenticates (user and
 * password to a token) before its first call and again when etcd answers
 * Unauthenticated (gRPC code 16, an expired simple token), then sends the
 * call once more.  The token goes in the Authorization header.  The
 * password and the token are cf_secrets: wiped when freed, never in an
 * error message or a log.  etcd 3.4's gateway refuses client certificates
 * that carry a CN while RBAC is on: give the client a CN-less certificate.
 *
 * Errors.  struct cf_error naming the call, the endpoint and etcd's own
 * message: "etcd put: https://10.0.0.1:2379: etcdserver: permission
 * denied".  Codes: CF_E_IO (no endpoint answered, a connection or TLS
 * failure, a timeout), CF_E_DENIED (PermissionDenied), CF_E_PASSWORD
 * (authentication failed, or no valid token), CF_E_NOTFOUND (NotFound: a
 * lease), CF_E_CONFLICT (FailedPrecondition, compacted revision),
 * CF_E_LIMIT (a reply over the cap, ResourceExhausted), CF_E_USAGE
 * (InvalidArgument), CF_E_PARSE (a reply that is not what etcd sends).
 *
 * Ownership.  etcd_new's configuration is copied; a request is the
 * caller's until etcd_call/etcd_call_wait, which take it (freed whatever
 * happens).  A reply handed to a callback is lent for the callback's
 * duration; etcd_call_wait's reply is the caller's to etcd_reply_free.
 * Keys and values are bytes with a length (binary-safe), always followed
 * by a NUL that the length does not count.
 *
 * Threading.  None: a client and its watches belong to the thread that
 * runs their event_base.  Callbacks run from that loop and may start new
 * calls; they must not free the client.  Several clients may live in one
 * process.
 */
#ifndef CF_ETCD_H
#define CF_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

struct event_base;
struct etcd;
struct etcd_req;
struct etcd_watch;

#define ETCD_MAX_ENDPOINTS 8
#define ETCD_DEFAULT_TIMEOUT_MS 5000
#define ETCD_DEFAULT_MAX_REPLY (8u << 20) /* bytes of one reply or event */

struct etcd_config {
	const char *endpoints[ETCD_MAX_ENDPOINTS]; /* "https://HOST:PORT" */
	size_t n_endpoints;
	const char *ca_file;   /* verifies the members' certificates */
	const char *cert_file; /* client certificate (PEM, chain allowed) */
	const char *key_file;  /* its key (PEM) */
	const char *user;      /* NULL: etcd without authentication */
	const struct cf_secret *password; /* copied; with user */
	int timeout_ms;                   /* per attempt; 0: the default */
	size_t max_reply;                 /* 0: the default */
	int watch_idle_s; /* a watch silent this long is redialled;
			   * 0: one hour.  Keep it above etcd's
			   * progress-notify interval (10 min). */
};

/* One key-value pair as etcd holds it. */
struct etcd_kv {
	unsigned char *key;
	size_t key_len;
	unsigned char *value; /* never NULL: etcd omits an empty value,
			       * and every value with keys_only */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

enum etcd_perm { ETCD_PERM_READ, ETCD_PERM_WRITE, ETCD_PERM_READWRITE };

/* One permission of a role: perm on key, or on [key, range_end) when
 * range_end_len > 0. */
struct etcd_grant {
	enum etcd_perm perm;
	unsigned char *key;
	size_t key_len;
	unsigned char *range_end;
	size_t range_end_len;
};

/*
 * What a call answered.  Fields a call does not fill stay zero.  A txn's
 * responses are flattened in order: the kvs of every range op in kvs, the
 * prev_kvs of its puts and deletes in prev_kvs, deleted summed.
 */
struct etcd_reply {
	int64_t revision; /* header.revision: the store's, at the call */
	struct etcd_kv *kvs;
	size_t n_kvs;
	struct etcd_kv *prev_kvs; /* put/delete with prev_kv */
	size_t n_prev_kvs;
	int64_t count; /* range: keys in the range (over limit too) */
	int more;      /* range: limit cut the answer */
	int64_t deleted;
	int succeeded;    /* txn: the compares held */
	int64_t lease_id; /* lease grant and keepalive */
	int64_t ttl;      /* lease: seconds left; keepalive 0 = expired */
	struct etcd_grant *grants; /* role get: the role's permissions */
	size_t n_grants;
};

/*
 * Completion of etcd_call: reply (lent) on success, else NULL and err set.
 */
typedef void (*etcd_done_fn)(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg);

/*
 * A new client.  base NULL makes a private event_base (then only
 * etcd_call_wait may be used; the client frees the base).  Reads the
 * certificate files now: CF_E_USAGE/CF_E_CRYPTO naming the file.  No
 * connection is made until the first call.  NULL and *err on failure.
 */
struct etcd *etcd_new(struct event_base *base, const struct etcd_config *cfg,
    struct cf_error *err);
/* Ends every call in flight without its callback, and every watch;
 * wipes the password and token.  NULL-safe. */
void etcd_free(struct etcd *e);
/* The endpoint calls go to now (lent): the last that answered. */
const char *etcd_endpoint_get(const struct etcd *e);

/* --- Requests (each new; etcd_call/etcd_call_wait take them) --- */

enum etcd_range_flag {
	ETCD_RANGE_PREFIX = 1,    /* every key that starts with key */
	ETCD_RANGE_KEYS_ONLY = 2, /* no values */
	ETCD_RANGE_COUNT_ONLY = 4,
	ETCD_RANGE_SERIALIZABLE = 8 /* the member's own copy, no quorum */
};
/* Range over key (flags from etcd_range_flag); revision 0: the latest;
 * limit 0: no limit. */
struct etcd_req *etcd_req_range(const void *key, size_t key_len, int flags,
    int64_t revision, int64_t limit);
/* Range over the keys from key up to end, end excluded (the range an
 * agent may read: schema_agent_range). */
struct etcd_req *etcd_req_range_end(const void *key, size_t key_len,
    const void *end, size_t end_len, int64_t revision, int64_t limit);
/* Put; lease 0: none; prev_kv asks for the value it replaced. */
struct etcd_req *etcd_req_put(const void *key, size_t key_len,
    const void *value, size_t value_len, int64_t lease, int prev_kv);
/* Delete key, or every key under it with ETCD_RANGE_PREFIX in flags. */
struct etcd_req *etcd_req_delete(
    const void *key, size_t key_len, int flags, int prev_kv);
struct etcd_req *etcd_req_lease_grant(int64_t ttl_s);
struct etcd_req *etcd_req_lease_keepalive(int64_t id);
struct etcd_req *etcd_req_lease_revoke(int64_t id);

/* A transaction: if every compare holds, the success ops, else the
 * failure ops.  Compares and ops are added below, at most 128 in all. */
struct etcd_req *etcd_req_txn(void);
enum etcd_target { ETCD_MOD, ETCD_CREATE, ETCD_VERSION, ETCD_VALUE };
enum etcd_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_GREATER, ETCD_LESS };
/* Compares key's target with number (MOD/CREATE/VERSION; a revision of
 * 0 is "absent") or with value (VALUE). */
void etcd_txn_compare(struct etcd_req *txn, const void *key, size_t key_len,
    enum etcd_target target, enum etcd_result result, int64_t number,
    const void *value, size_t value_len);
/* Moves op (from etcd_req_put/_delete/_range) into the success branch
 * (success 1) or the failure branch (0); frees op. */
void etcd_txn_op(struct etcd_req *txn, int success, struct etcd_req *op);

/*
 * Users and roles: etcd's auth API, which only a root user may call
 * (CF_E_DENIED otherwise).  One that exists already is CF_E_CONFLICT
 * ("... already exists").  The password is copied into a body that is
 * wiped when the request is freed, never into a log or message.
 */
struct etcd_req *etcd_req_user_add(
    const char *user, const struct cf_secret *password);
struct etcd_req *etcd_req_user_delete(const char *user);
struct etcd_req *etcd_req_role_add(const char *role);
struct etcd_req *etcd_req_role_delete(const char *role);
/* Grants role perm on key, or on [key, range_end) when range_end is
 * not NULL (a prefix "P/" is the range ["P/", "P0")). */
struct etcd_req *etcd_req_role_grant(const char *role, enum etcd_perm perm,
    const void *key, size_t key_len, const void *range_end,
    size_t range_end_len);
struct etcd_req *etcd_req_user_grant(const char *user, const char *role);
/* The role's permissions (reply->grants). */
struct etcd_req *etcd_req_role_get(const char *role);
/* Takes the permission on [key, range_end) (range_end NULL: key) from
 * role. */
struct etcd_req *etcd_req_role_revoke(const char *role, const void *key,
    size_t key_len, const void *range_end, size_t range_end_len);

void etcd_req_free(struct etcd_req *r); /* NULL-safe */

/* --- Calls --- */

/* Sends req (taken) on the client's base; done runs exactly once, from
 * the loop, unless the client is freed first.  Returns 0.  (A client
 * made without a base runs its loop only inside etcd_call_wait.) */
int etcd_call(struct etcd *e, struct etcd_req *req, etcd_done_fn done,
    void *arg, struct cf_error *err);
/* Sends req (taken) and waits; *reply new (etcd_reply_free).  Only for a
 * client made without a base (CF_E_INTERNAL otherwise). */
int etcd_call_wait(struct etcd *e, struct etcd_req *req,
    struct etcd_reply **reply, struct cf_error *err);
void etcd_reply_free(struct etcd_reply *r); /* NULL-safe */

/* --- Watch --- */

enum etcd_event_type { ETCD_EV_PUT, ETCD_EV_DELETE };
struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv; /* a delete has only key and mod_revision */
};

/*
 * One message of a watch: events in revision order, or the end of the
 * watch.  compact_revision > 0: the start revision was compacted away,
 * the watch is over; re-list with a range and watch again from that
 * reply's revision + 1.  err set: the watch failed on every endpoint
 * (or was refused: PermissionDenied) and is over.  Either way the
 * caller still frees the watch.
 */
struct etcd_watch_msg {
	int64_t revision; /* header.revision */
	const struct etcd_event *events;
	size_t n_events;
	int created; /* the stream is up (first message, no events) */
	int64_t compact_revision;
	const struct cf_error *err;
};
typedef void (*etcd_watch_fn)(const struct etcd_watch_msg *msg, void *arg);

/*
 * Watches every key under prefix from start_revision (0: from now) on
 * the client's base (a client made with one: the watch runs while the
 * caller's loop does).  A broken stream is resumed on the next endpoint
 * from the revision after the last event seen; a stream that has not
 * said "created" within the timeout counts as broken.  Never NULL.
 */
struct etcd_watch *etcd_watch_new(struct etcd *e, const void *prefix,
    size_t prefix_len, int64_t start_revision, etcd_watch_fn fn, void *arg,
    struct cf_error *err);
/* The same over the keys in [from, to) (to_len 0: every key from
 * from on), as the agents watch their range (schema_agent_range). */
struct etcd_watch *etcd_watch_new_range(struct etcd *e, const void *from,
    size_t from_len, const void *to, size_t to_len, int64_t start_revision,
    etcd_watch_fn fn, void *arg, struct cf_error *err);
/* Stops the stream; no callback after this.  NULL-safe. */
void etcd_watch_free(struct etcd_watch *w);
/* The revision the watch would resume from now. */
int64_t etcd_watch_next_revision(const struct etcd_watch *w);

#endif
