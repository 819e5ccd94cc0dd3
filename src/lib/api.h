/*
 * api.h - the JSON face of the operations (docs/api.md): an operation's
 * name and its JSON arguments in, a JSON reply or a cf_error out.
 * certfleetd calls nothing else to serve a request; it adds HTTP (its
 * routes and statuses, src/agent/routes.c), authentication and threads.
 */
#ifndef CF_API_H
#define CF_API_H

#include <jansson.h>

#include "store.h"

struct cf_transfer;

enum cf_role {
	CF_ROLE_NONE = 0, /* not authorized: every request is refused */
	CF_ROLE_READER,   /* may list */
	CF_ROLE_ADMIN,    /* may change and export */
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
	const char *agent; /* the agent's name, for whoami */
	/* The agent's identity and transfer peers; NULL without an agent. */
	const struct cf_transfer *transfer;
};

/*
 * Runs the operation named op ("get", "import", "request new" ...; the
 * names of docs/api.md's table) as caller: query (its "a=1&b=2" text,
 * may be NULL) and body (the parsed JSON, may be NULL) are its
 * arguments.  0 and *response set (a new reference, {} when the
 * operation answers nothing), or -1 with err: CF_E_NOTFOUND for an
 * unknown op, CF_E_DENIED when the caller's role falls short (audited
 * here), CF_E_PARSE for a body that is not an object, else the
 * operation's own error.  Which request reaches which operation, and
 * what status answers which error, is certfleetd's business.
 */
int cf_api_handle(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, json_t **response,
    struct cf_error *err);

/*
 * As cf_api_handle, with the response rendered as compact JSON text into
 * *text (new, caller frees; NULL on failure).  Nothing is cached: a
 * large listing is read a page at a time (get's after= and limit=), and
 * a page costs what it shows, so there is no whole listing to keep.
 */
int cf_api_render(struct cf_store *s, const struct cf_api_caller *caller,
    const char *op, const char *query, json_t *body, char **text,
    struct cf_error *err);

/* True when op runs key derivation, generation or handshakes: it wants a
 * worker of the slow lane.  0 for an unknown op. */
int cf_api_is_slow(const char *op);

/* Limits on what a request may carry (docs/api.md). */
#define CF_API_MAX_BODY (8u * 1024 * 1024)
/* log: records in one reply, and about how many bytes. */
#define CF_LOG_PAGE_MAX 1000
#define CF_LOG_PAGE_BYTES (128u * 1024)
/* get: the most certificates one page (limit=) may ask for. */
#define CF_GET_PAGE_MAX 1000
#define CF_API_MAX_DEPTH 8

/* The depth of j (a scalar is 1); for checking CF_API_MAX_DEPTH. */
int cf_json_depth(const json_t *j);

#endif
