/*
 * wire.h - the client's half of the agent's JSON (docs/api.md): a
 * backend_req becomes a method, a path and a body; an answer becomes a
 * backend_reply holding the same structures a local operation returns.
 */
#ifndef CF_WIRE_H
#define CF_WIRE_H

#include <jansson.h>

#include "backend.h"

/* "GET" or "POST". */
const char *wire_method(enum backend_op op);

/* The path of op with its query (new string). */
char *wire_path(enum backend_op op, const struct backend_req *req);

/*
 * The body of op (new reference), NULL for a GET.  It may hold the
 * password and the files: wire_body_wipe it before letting it go.
 * -1 in err (CF_E_USAGE) when something cannot travel as JSON text.
 */
int wire_body(enum backend_op op, const struct backend_req *req, json_t **body,
    struct cf_error *err);
/* Wipes the secrets a body holds (the password, the files' data). */
void wire_body_wipe(json_t *body);

/*
 * Decodes the 2xx answer of op into r; the answer is stolen into
 * r->json.  -1 with r->err set when the answer is not what docs/api.md
 * says.
 */
int wire_reply(enum backend_op op, json_t *answer, struct backend_reply *r);

#endif
