/*
 * acme_acct.h - the ACME accounts this agent keeps (issue 14): the
 * account key is made here, sealed in the store, and never leaves the
 * store process; the CLI drives the CA and asks the agent to sign.
 *
 * The API (store process, routes beside route_serve):
 *   GET    /v1/acme/accounts            reader: [{"Name", "Directory",
 *                                       "KeyType", "Url", "Contact",
 *                                       "Created", "Alg", "Jwk",
 *                                       "JwkThumbprint"}], public JWK only
 *   POST   /v1/acme/accounts            admin: {"Name", "Directory",
 *                                       "KeyType", "Contact"}: a new key
 *   POST   /v1/acme/accounts/NAME/sign  admin: {"Protected", "Payload"}
 *                                       (base64url) -> {"Signature"}
 *   PUT    /v1/acme/accounts/NAME/url   admin: {"Url"}: the account URL
 *                                       the CA gave, set once
 *   DELETE /v1/acme/accounts/NAME       admin: the account and its key
 * The sign route signs only a protected header that is this account's:
 * its algorithm, a nonce, a URL on the directory's origin, and either
 * its public JWK (before it is registered) or its account URL as kid.
 */
#ifndef CFD_ACME_ACCT_H
#define CFD_ACME_ACCT_H

#include <jansson.h>

#include "api.h"

#define ACME_ACCT_ROUTE "/v1/acme/accounts"

/* Whether path is ACME_ACCT_ROUTE or under it. */
int acme_acct_is_route(const char *path);

/* The route of path for the request counters (static:
 * "/v1/acme/accounts", ".../{name}", ".../{name}/sign", ".../{name}/url"),
 * or NULL when path is none of them; each signature is counted there. */
const char *acme_acct_route(const char *path);

/*
 * Serves the API above for a caller of role: the HTTP status, *out the
 * JSON reply (caller frees).  actor names the caller for the audit.
 */
int acme_acct_serve(struct cf_store *store, enum cf_role role,
    const char *actor, const char *method, const char *path, json_t *body,
    char **out);

#endif
