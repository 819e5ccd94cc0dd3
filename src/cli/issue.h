/*
 * issue.h - a namespace's certificate from its ACME issuer (issue 14),
 * on the file registry: `certfleet issue NAMESPACE` and `certfleet
 * autopilot` both call issue_run.
 *
 * The issuing agent is the first member of the namespace that keeps
 * the issuer's account.  It makes the key and the CSR (request new) and
 * signs every JWS; this process speaks to the CA.  HTTP-01: the key
 * authorization is published on every member, then fetched from each
 * member's own address and through the balancer (--via's host) on the
 * issuer's http_port, with the name as Host:, before the CA is told to
 * validate; one that does not answer stops the order, named.  DNS-01:
 * the TXT record set (nsupdate or the hook) and waited for on every
 * server to check.  Tokens and records are withdrawn afterwards, on
 * failure too.  Then finalize, download, request complete on the
 * issuing agent and the namespace's staged rollout from it.
 */
#ifndef CF_CLI_ISSUE_H
#define CF_CLI_ISSUE_H

#include "cert.h"

struct issue_opts {
	const char *acme_ca_file; /* trusted for the CA's HTTPS; NULL: system */
	const char *ca_file;      /* the rollout's roots; NULL: system */
	int alternate;   /* the chain: 0 the default, N the Nth alternate */
	long deadline_s; /* the whole order; 0: 300 s */
	const char *op;  /* "issue" or "autopilot", for messages */
};

/*
 * Issues ns's certificate and rolls it out.  Messages on stderr as
 * "certfleet: OP: NS: ..."; the exit status: 0 when every member serves
 * the new certificate, 2 for a usage error (no such namespace, no
 * issuer), 1 otherwise.  thumb (may be NULL) gets the new certificate's
 * thumbprint once it is issued ("" before), so a failed rollout can be
 * told from a failed order.
 */
int issue_run(
    const char *ns, const struct issue_opts *o, char thumb[CF_THUMB_LEN + 1]);

#endif
