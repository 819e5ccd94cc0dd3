/*
 * backend.h - where a command's operation runs: in-process on a local
 * store (--store DIR or $CERTFLEET_STORE), or on agents through their API
 * (--server NAME,..., else the local agent's socket).  A command fills
 * one request, runs it on every target at once and reads one reply per
 * target; its option parsing and its output are the same either way.
 */
#ifndef CF_BACKEND_H
#define CF_BACKEND_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "client.h"
#include "ops.h"
#include "store.h"

enum backend_op {
	BACKEND_GET,
	BACKEND_IMPORT,
	BACKEND_EXPORT,
	BACKEND_ENABLE,
	BACKEND_DISABLE,
	BACKEND_REMOVE,
	BACKEND_LOG,
	BACKEND_SERVICES,
	BACKEND_REQUEST_NEW,
	BACKEND_REQUEST_COMPLETE,
	BACKEND_RENEW,
	BACKEND_NEW_SELF_SIGNED,
	BACKEND_WHOAMI,
	BACKEND_EXPORT_SEALED,
	BACKEND_IMPORT_SEALED,
	BACKEND_REPLACE,
};

/* The arguments of one operation; each uses its own. */
struct backend_req {
	const char *arg;      /* thumbprint or prefix (get: NULL for all;
				 replace: the new certificate) */
	const char *old;      /* replace: the certificate whose services move */
	const char *services; /* enable, disable */
	int force;            /* enable, remove, replace */
	const struct cf_input *in; /* import: the files, read here */
	size_t nin;
	struct cf_import_opts import;   /* actor is filled in */
	struct cf_export_opts export;   /* actor is filled in */
	struct cf_audit_page log;       /* log: since, a page */
	struct cf_request_opts request; /* request new; actor filled in */
	int keep_key;                   /* renew */
	int no_probe;                   /* services: no live handshakes */
	const char *const *recipients;  /* export sealed: agents' PEM certs */
	size_t nrecipients;
	const struct cf_buf *sealed;          /* import sealed */
	struct cf_selfsigned_opts selfsigned; /* new; actor filled in */
	/* get without arg: expiring, days, percent; after and limit are
	 * the backend's own (it pages through an agent's listing). */
	struct cf_get_query get;
};

/* What one target answered: err, or the result of the operation. */
struct backend_reply {
	int todo; /* runs on the next backend_run; all set at first */
	struct cf_error err;
	struct cf_view *views; /* get */
	size_t nviews;
	struct cf_import_result *results; /* import */
	size_t nresults;
	struct cf_buf data; /* export: the file, wiped on free; request new,
			       renew: the PKCS#10 as PEM; whoami: the
			       agent's certificate (PEM); export sealed:
			       the sealed bytes */
	int transfer;       /* whoami: the agent allows sealed transfers */
	char thumb[CF_THUMB_LEN + 1]; /* export, enable, disable, remove,
					 replace */
	struct cf_audit *audit;       /* log */
	size_t naudit;
	char *detail; /* enable, replace: what each service did, a line
			 each; request complete: a note on a renewal */
	char *moved;  /* replace: the services moved, comma-separated */
	struct cf_service_view *svcs; /* services */
	size_t nsvcs;
	json_t *json; /* an agent's answer, which results may point into */
};

struct backend;

/*
 * The targets of the global options for command op: 0, or (after a
 * message on stderr) the exit status, 2 for a usage error.
 */
int backend_open(const char *op, struct backend **out);
void backend_free(struct backend *b); /* NULL-safe */

/* How many targets; replies come in this order. */
size_t backend_count(const struct backend *b);
/* The local store when it is the one target (lent), for a command that
 * reads it as it prints (get's listing); NULL otherwise. */
struct cf_store *backend_local_store(const struct backend *b);
/* Target i's name for the Server column: a fleet name, HOST:PORT, or
 * this host's name for a local store or the local agent. */
const char *backend_server(const struct backend *b, size_t i);
/* Target i's HOST:PORT (lent) for an agent reached over TLS; NULL for a
 * local store or the local agent's Unix socket. */
const char *backend_address(const struct backend *b, size_t i);

/* Target i as the client reaches it (lent), for the routes an agent
 * serves alone (acme); NULL for a local store. */
const struct client_target *backend_target(const struct backend *b, size_t i);

/* One reply per target, every one to do (backend_replies_free). */
struct backend_reply *backend_replies_new(const struct backend *b);
void backend_replies_free(struct backend_reply *r, size_t n);

/*
 * Runs op with req on every target whose reply is to do, concurrently,
 * and clears their todo.  Each reply gets its result or its error.
 */
void backend_run(struct backend *b, enum backend_op op,
    const struct backend_req *req, struct backend_reply *r);

/*
 * Prints target i's failure of op, "certfleet: [SERVER: ]op: message"
 * (the server named when it is an agent given by --server), and returns
 * the exit status: 2 for a usage error, 1 otherwise.
 */
int backend_fail(const struct backend *b, size_t i, const char *op,
    const struct cf_error *err);

/*
 * backend_fail for every target whose reply r[i] failed; the exit status
 * of the first (0 when none failed), and how many failed into *failed
 * (may be NULL).
 */
int backend_fail_all(const struct backend *b, const char *op,
    const struct backend_reply *r, size_t *failed);

/* Audits, on a local store, a failure met outside the operation (a file
 * that cannot be read or written); agents audit their own. */
void backend_audit_failure(struct backend *b, const char *op, const char *thumb,
    const struct cf_error *err);

#endif
