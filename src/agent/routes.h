/*
 * routes.h - where HTTP meets the operations: which method and path
 * reach which operation of the library (api.h, by name), and which
 * status and JSON error body answer what.  Every HTTP status certfleetd
 * sends is in one table in routes.c; request.c and errpage.c ask it.
 */
#ifndef CF_ROUTES_H
#define CF_ROUTES_H

#include <jansson.h>

#include "api.h"
#include "error.h"

/* What the request line and headers together may take (docs/api.md). */
#define ROUTE_MAX_HEADERS (16u * 1024)

/*
 * Why certfleetd answers with an error: most often an operation's (or
 * the dispatch's) cf_error, answered with the status that fits its code;
 * the others are the transport's own answers, each with a status and a
 * code of its own.
 */
enum route_why {
	ROUTE_BY_CODE = 0,    /* the status that fits the error's code */
	ROUTE_NO_METHOD,      /* the path is served, with another method */
	ROUTE_BUSY,           /* every worker busy and the queue full */
	ROUTE_DRAINING,       /* the agent is shutting down */
	ROUTE_HTTP_MALFORMED, /* unreadable request line, headers, framing */
	ROUTE_HTTP_TOO_LARGE, /* evhttp's: a body over CF_API_MAX_BODY */
	ROUTE_HTTP_EXPECT,    /* evhttp's: an Expect other than 100-continue */
	ROUTE_HTTP_METHOD,    /* evhttp's: a method it does not know */
};

/* The operation that serves method and path (a static name for
 * cf_api_handle), or NULL when none does. */
const char *route_op(const char *method, const char *path);

/* The table's own copy of path (static) when some route serves it,
 * with any method; NULL otherwise.  For counting by route. */
const char *route_path(const char *path);

/*
 * Serves one request on a worker: the operation route_op names, run by
 * cf_api_render.  Returns the HTTP status and sets *text (new, never
 * NULL): the reply, or the JSON error body.
 */
int route_serve(struct cf_store *s, const struct cf_api_caller *caller,
    const char *method, const char *path, const char *query, json_t *body,
    char **text);

/* The status that fits err's code; *text (new) the body
 * {"code", "message"}. */
int route_fail(const struct cf_error *err, char **text);

/* The status of why's answer (ROUTE_BY_CODE: of code); *text (new) its
 * body, with why's code and msg. */
int route_answer(enum route_why why, int code, const char *msg, char **text);

/* The status of why (ROUTE_BY_CODE: of code). */
int route_status(enum route_why why, int code);

/* The reason phrase of status ("Not Found"); "Error" when unknown. */
const char *route_reason(int status);

#endif
