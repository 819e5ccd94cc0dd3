/*
 * storeproc.h - the store process: `certfleetd run` keeps the network
 * (listeners, TLS, HTTP, the refusals) and starts `certfleetd store`,
 * a child exec'd afresh, which alone holds the master key and the
 * store, and runs the operations (cf_api_handle) and their deploys.
 * Each worker of the network process has a socket pair of its own to
 * the store process, where a thread of its own answers it: requests
 * run there with the concurrency they had in one process.
 *
 * Channel i is fd STOREPROC_FD0 + i in the child; the fd after the
 * last channel is the store's owner lock (store.h), which the child
 * inherits so that the store stays owned while either process lives (a
 * store process finishing a deploy after the network process was
 * killed still owns it).  The child answers
 * on channel 0, before anything else, "ready" or "error" and a
 * message.  Then each request (chan.h) is one of
 *   "req"    local, uid, fingerprint, admin (1 when the client's chain
 *            verified against admin_ca), method, path, query, peer,
 *            agent name, actor, body
 *            open (STOREPROC_OPEN_METRICS: from the plain-HTTP
 *            metrics listener, which may ask for GET /metrics only, with
 *            no client; STOREPROC_OPEN_ACME: from the ACME responder,
 *            GET /.well-known/acme-challenge/TOKEN only; 0: neither)
 *            -> status, reply (JSON unless a content type follows),
 *               refusal (a TLS client's refusal for audit.c to record,
 *               or absent), close (1: close the connection), content
 *               type (absent: application/json, and the reply gets a
 *               newline, as every JSON reply)
 *   "audit"  actor, outcome            -> the record's row
 *   "amend"  row, outcome              -> ""
 *   "prune"  keep days, max rows       -> ""
 *   "reload"                           -> "ok" or "error", the error,
 *            the configuration file's text (absent: no file), the
 *            admin_ca file's text (absent: none); the network process
 *            opens no file after it starts (confine.h)
 * The child ends when every channel is closed, after what it runs.
 */
#ifndef CFD_STOREPROC_H
#define CFD_STOREPROC_H

#include <sys/types.h>

#include "chan.h"
#include "error.h"

#define STOREPROC_FD0 3

/* The plain-HTTP listeners, for a request's "open" field. */
#define STOREPROC_OPEN_METRICS 1
#define STOREPROC_OPEN_ACME 2

struct storeproc;
struct storeproc_chan;

/*
 * Starts the store process for the configuration at cfg_path
 * (explicit: given by --config or the environment, so it must exist),
 * with nchan channels and the owner lock lock_fd, and waits for its
 * "ready".  NULL with err when
 * it could not start or said why not (the configuration, the store).
 */
struct storeproc *storeproc_start(const char *cfg_path, int cfg_explicit,
    int nchan, int lock_fd, struct cf_error *err);

pid_t storeproc_pid(const struct storeproc *sp);
/* Channel i, lent: one thread at a time uses it. */
struct storeproc_chan *storeproc_chan(struct storeproc *sp, int i);

/*
 * Sends req on ch and reads the answer into *reply (chan_clear it).
 * -1 with err when the store process is gone or answered nonsense.
 */
int storeproc_call(struct storeproc_chan *ch, const struct chan_msg *req,
    struct chan_msg *reply, struct cf_error *err);

/*
 * Closes every channel and waits up to ms for the child to finish
 * what it runs and end.  NULL-safe.
 */
void storeproc_stop(struct storeproc *sp, long long ms);

/* `certfleetd store`: the child's side; not for people (not listed). */
int cmd_store(int argc, char **argv);

#endif
