/*
 * issue_int.h - what the parts of issue_run share: cmd_issue.c runs
 * the order, issue_challenge.c answers its authorizations on every
 * member (HTTP-01) or in the zone (DNS-01) and takes them back.
 */
#ifndef CF_CLI_ISSUE_INT_H
#define CF_CLI_ISSUE_INT_H

#include <stddef.h>

#include <jansson.h>

#include "acme.h"
#include "acme_agent.h"
#include "backend.h"
#include "dns01.h"
#include "fleet.h"

#define ISSUE_TOKEN_TTL 900 /* s: a published key authorization's life */
#define ISSUE_CHECK_MS 5000 /* each check request's bound */

/* A key authorization published on a member, or a TXT record set. */
struct issue_pub {
	size_t member; /* http-01: the member it is on */
	char *token;   /* http-01 */
	char *owner;   /* dns-01: _acme-challenge.NAME */
	char *value;   /* dns-01: the TXT value */
};

struct issue {
	const char *op;            /* "issue" or "autopilot" */
	const struct fleet_ns *ns; /* lent */
	const json_t *issuer;      /* ns's, lent */
	struct backend *members;   /* the namespace's servers */
	size_t src;                /* the issuing member */
	struct acme_agent agent;   /* the account on it */
	struct acme_client *c;
	char thumb[ACME_THUMB_LEN + 1]; /* the account key's JWK thumbprint */
	struct dns01_config dns;
	struct issue_pub *pub;
	size_t npub;
	long long deadline_ms;
};

/*
 * Prepares the answer to authorization az (pending) of the order:
 * HTTP-01 published on every member and checked there and through the
 * balancer, or DNS-01 set and waited for.  *url (lent from az) is the
 * challenge to respond to once every authorization is ready; the CA is
 * not told anything here.  Whatever was published is kept in is->pub
 * for issue_withdraw.  -1 with err naming the member or server that
 * failed.
 */
int issue_answer(struct issue *is, const struct acme_authz *az,
    const char **url, struct cf_error *err);

/* Takes back everything published, on every member and in the zone;
 * a failure is said on stderr and does not stop the rest. */
void issue_withdraw(struct issue *is);

#endif
