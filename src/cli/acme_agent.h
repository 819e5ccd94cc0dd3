/*
 * acme_agent.h - an ACME account kept on an agent, as the CLI uses it
 * (cmd_acme.c, cmd_issue.c): the agent keeps the key sealed and signs;
 * the CLI speaks to the CA.
 */
#ifndef CF_CLI_ACME_AGENT_H
#define CF_CLI_ACME_AGENT_H

#include <jansson.h>

#include "acme.h"
#include "backend.h"
#include "client.h"

/* The one agent the account lives on. */
struct acme_agent {
	struct backend *b;
	const struct client_target *t;
	struct client *c;
	const char *name;    /* the account */
	struct cf_error err; /* the agent's refusal to sign, if any */
};

/* a for account name on the agent t (lent); acme_agent_close. */
void acme_agent_init(
    struct acme_agent *a, const struct client_target *t, const char *name);
/* a for account name on the one agent --server names; 0 or an exit
 * status after a message naming op. */
int acme_agent_open(const char *op, const char *name, struct acme_agent *a);
void acme_agent_close(struct acme_agent *a);

/*
 * One JSON request to the agent at path: the 2xx body into *out (new;
 * may be NULL), else -1 with the agent's error.
 */
int acme_agent_call(struct acme_agent *a, const char *method, const char *path,
    json_t *body, json_t **out, struct cf_error *err);

/* The signer of account view v (Alg, Jwk) signing through a; clear it
 * with acme_signer_clear.  a->err holds the agent's refusal to sign. */
int acme_agent_signer(json_t *v, struct acme_agent *a, struct acme_signer *s,
    struct cf_error *err);

/* The agent's accounts (a JSON array of views), or only the one named
 * (CF_E_NOTFOUND when not there); new, NULL and err set. */
json_t *acme_agent_accounts(
    struct acme_agent *a, const char *name, struct cf_error *err);

#endif
