/*
 * client.h - the certfleet side of the agent's API (docs/api.md): JSON
 * requests to any number of agents at once, on one event loop.  Agents
 * are reached over mutual TLS, pinned by their certificate's SHA-256
 * fingerprint, or on the local agent's Unix socket (plain HTTP).
 */
#ifndef CF_CLIENT_H
#define CF_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "identity.h"

/* One agent, as the fleet file or the command line names it. */
struct client_target {
	char *name;    /* "ex1", "10.0.0.5:7443", or "local" */
	char *address; /* HOST:PORT, or the socket's path */
	int unix_socket;
	/* The pinned identity "SHA256:HEX"; "" only to probe (fleet add):
	 * the handshake then stops once the agent's certificate is seen. */
	char fingerprint[CF_FP_LEN + 1];
};
void client_targets_free(struct client_target *t, size_t n); /* NULL-safe */

/* What one request came back with. */
struct client_answer {
	int status;          /* the HTTP status; 0 when no answer came */
	json_t *json;        /* the body of a 2xx answer (owned) */
	struct cf_error err; /* CF_OK, or why the request failed */
	/* The certificate the agent presented, "" before a handshake. */
	char fingerprint[CF_FP_LEN + 1];
	/* Set by the caller after client_request for a get in the rows
	 * form: a 2xx body is kept as it came, in raw (owned, raw_len
	 * bytes), for client_answer_read; any other answer as usual. */
	int want_raw;
	char *raw;
	size_t raw_len;
	/* What client_answer_read made of raw: the views when
	 * cf_views_rows_parse took it (owned; json stays NULL). */
	struct cf_view *views;
	size_t nviews;
};
void client_answer_clear(struct client_answer *a); /* NULL-safe */

/*
 * Reads a kept raw body (want_raw) into views, or else (another shape:
 * an older agent's objects) into json, and frees it; a body that is not
 * JSON becomes a's error, naming address.  Nothing to do without one.
 */
void client_answer_read(struct client_answer *a, const char *address);

struct client;

/* A client for one command; the admin identity is loaded on first use. */
struct client *client_new(void);
void client_free(struct client *c); /* NULL-safe */

/*
 * Queues a request: method "GET", "POST", "PUT" or "DELETE", path with
 * its query, and a
 * JSON body (len bytes, or NULL) that is lent, not copied: it must live
 * until client_run returns.  The answer lands in *ans, cleared first.
 */
void client_request(struct client *c, const struct client_target *t,
    const char *method, const char *path, const char *body, size_t len,
    struct client_answer *ans);

/*
 * Sends every queued request at once and returns when each has its
 * answer or its failure (refused, timed out, TLS failure, an agent whose
 * identity is not the pinned one: then nothing was sent).
 */
void client_run(struct client *c);

/*
 * Starts the queued requests and returns without waiting for answers:
 * one that goes on a kept connection (client_keep_alive) is on its way
 * when this returns, so its agent works while the caller does.
 * client_run then waits for them.
 */
void client_start(struct client *c);

/*
 * Keeps each agent's TLS connection open between client_run rounds (a
 * paged listing: a handshake a page was most of its time).  A later
 * request to the same target (the same struct) goes on the connection
 * an earlier one was answered on, without a new handshake; one that
 * fails there before any answer (the agent closed it meanwhile) is sent
 * again, once, on a new connection: only for requests that may be sent
 * twice (GET).  The connections close with client_free.
 */
void client_keep_alive(struct client *c);

/*
 * Splits "HOST:PORT" or "[V6]:PORT" into *host (new) and *port;
 * CF_E_USAGE when it is neither.
 */
int client_address_parse(
    const char *address, char **host, int *port, struct cf_error *err);

/* The admin's directory, $CERTFLEET_HOME or ~/.config/certfleet, with
 * file appended (new string); created 0700 when create. */
char *client_home_file(const char *file, int create, struct cf_error *err);

#endif
