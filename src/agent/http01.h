/*
 * http01.h - the ACME HTTP-01 key authorizations this agent serves
 * (issue 14): the store process keeps them in memory, writes each to
 * every service's acme_webroot (WEBROOT/.well-known/acme-challenge/
 * TOKEN, mode 0644, for the web server to serve) and answers them on
 * the plain-HTTP responder (acme_listen) for services that serve no
 * files (haproxy forwards /.well-known/acme-challenge/ to it).
 *
 * The API (store process, routes beside route_serve):
 *   GET    /v1/acme/challenges         reader: [{"Token", "Expires",
 *                                      "Webroots"}], no key authorization
 *   PUT    /v1/acme/challenges/TOKEN   admin: {"KeyAuthorization":
 *                                      "TOKEN.THUMBPRINT", "Ttl": s}
 *   DELETE /v1/acme/challenges/TOKEN   admin: withdrawn, files removed
 * A key authorization is not a secret (the CA fetches it in the clear),
 * but a token is a file name: only RFC 8555's base64url alphabet, 22 to
 * 128 characters; the thumbprint is a SHA-256 in base64url (43
 * characters).  An entry lives Ttl seconds (default 3600, at most
 * 86400), then is withdrawn as if deleted; at most HTTP01_MAX at once.
 * Entries are not kept across restarts; files an agent that died left
 * behind are public key authorizations of an order long over.
 */
#ifndef CFD_HTTP01_H
#define CFD_HTTP01_H

#include <jansson.h>

#include "api.h"
#include "service.h"

#define HTTP01_MAX 256
#define HTTP01_TTL_DEFAULT 3600
#define HTTP01_TTL_MAX 86400
#define HTTP01_PREFIX "/.well-known/acme-challenge/"
#define HTTP01_ROUTE "/v1/acme/challenges"

/* Whether path is HTTP01_ROUTE or under it. */
int http01_is_route(const char *path);

/*
 * Serves the API above for a caller of role, with services' webroots;
 * the HTTP status, *out the JSON reply (caller frees).  actor names the
 * caller for the audit (store NULL: not audited).
 */
int http01_serve(struct cf_store *store, const struct cf_services *services,
    enum cf_role role, const char *actor, const char *method, const char *path,
    json_t *body, char **out);

/*
 * The responder: GET /.well-known/acme-challenge/TOKEN.  200 with the
 * key authorization in *out (text/plain), or 404 with the JSON error in
 * *out; *is_text says which.  Expired entries go first (their files in
 * services' webroots with them).
 */
int http01_answer(const struct cf_services *services, const char *method,
    const char *path, char **out, int *is_text);

/* Every entry withdrawn and its files removed (the store process ends). */
void http01_clear(const struct cf_services *services);

#endif
