/*
 * api.h - the JSON face of the operations (docs/api.md): one request in,
 * one status and JSON body out.  certfleetd calls nothing else to serve a
 * request; it adds transport, authentication and threads.
 */
#ifndef CF_API_H
#define CF_API_H

#include <jansson.h>

#include "store.h"

struct cf_transfer;

enum cf_role {
	CF_ROLE_NONE = 0, /* not authorized: every request is refused */
	CF_ROLE_READER,	  /* may list */
	CF_ROLE_ADMIN,	  /* may change and export */
};

/* "admin", "reader", "none". */
const char *cf_role_name(enum cf_role role);
/* The role named name; CF_ROLE_NONE when unknown. */
enum cf_role cf_role_parse(const char *name);

/* Who asks: for authorization and the audit trail. */
struct cf_api_caller {
	const char *actor;  /* "tls:SHA256:…" or "unix:uid0" (+ hint) */
	const char *client; /* "SHA256:…" or "" */
	enum cf_role role;
	const char *agent;  /* the agent's name, for whoami */
	/* The agent's identity and transfer peers; NULL without an agent. */
	const struct cf_transfer *transfer;
};

/*
 * Serves one request: method ("GET"/"POST"), path ("/v1/import"), query
 * (after '?', may be NULL) and body (the parsed JSON, may be NULL).
 * Returns the HTTP status and sets *response (new reference, never NULL).
 * A refused request is audited here.
 */
int cf_api_handle(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    json_t **response);

/*
 * As cf_api_handle, with the response rendered as compact JSON text into
 * *text (caller frees).  The full listing (GET /v1/certificates with no
 * query) is rendered once per store version and second, so a busy agent
 * answers repeated listings without building them again.
 */
int cf_api_render(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    char **text);

/* The reply when a response cannot be rendered as JSON (status 500). */
#define CF_API_RENDER_FAILED                                                 \
	"{\"code\":\"internal\",\"message\":\"the reply could not be "      \
	"encoded as JSON; this is a bug in certfleetd\"}"

/* True when path runs key derivation or generation (off the event loop). */
int cf_api_is_slow(const char *path);

/* Limits on what a request may carry (docs/api.md). */
#define CF_API_MAX_BODY (8u * 1024 * 1024)
/* GET /v1/log: records in one reply, and about how many bytes. */
#define CF_LOG_PAGE_MAX 1000
#define CF_LOG_PAGE_BYTES (128u * 1024)
#define CF_API_MAX_HEADERS (16u * 1024)
#define CF_API_MAX_DEPTH 8

/* The depth of j (a scalar is 1); for checking CF_API_MAX_DEPTH. */
int cf_json_depth(const json_t *j);

#endif
