/*
 * dns01.h - the DNS-01 challenge (RFC 8555 8.4) of issue 14: the TXT
 * record _acme-challenge.NAME set and cleared, then a wait until every
 * authoritative server answers it, before the CA is told to validate
 * (a CA asks several of them from several places).
 *
 * Two ways to change the zone:
 *   - an RFC 2136 dynamic update signed with TSIG, through BIND's
 *     nsupdate (-k KEYFILE, the key file tsig-keygen writes: the secret
 *     stays in that file, never in argv);
 *   - a hook command for any other DNS provider, run as
 *     `HOOK set NAME VALUE` and `HOOK clear NAME VALUE` (acme.sh's dnsapi
 *     convention), with no environment but PATH and LANG.
 * The wait asks each server of `check` (default: the update server)
 * directly, without recursion, through ldns, until it answers the TXT
 * with the value: a secondary that has not transferred the zone yet is
 * waited for, and named when the deadline passes.
 *
 * NAME is the record's owner (_acme-challenge.mail.example.com); VALUE
 * the base64url digest of the key authorization (acme_dns01_value).
 * Both are checked before anything runs: a DNS name of letters, digits,
 * '-', '_' and dots, a value of the base64url alphabet.
 */
#ifndef CF_DNS01_H
#define CF_DNS01_H

#include <stddef.h>

#include "error.h"

#define DNS01_CHECK_MAX 16

struct dns01_config {
	const char *server;   /* nsupdate's server, HOST or HOST:PORT */
	const char *key_file; /* its TSIG key file (nsupdate -k) */
	const char *hook;     /* or a hook command (absolute path) */
	const char *check[DNS01_CHECK_MAX]; /* HOST:PORT to wait on */
	size_t ncheck;                      /* 0: the update server */
	long ttl;                           /* of the TXT; 0: 60 s */
	long timeout_ms;                    /* of one update or query */
};

/* The record's owner for a domain: "_acme-challenge." + domain (a
 * wildcard's "*." dropped), new; NULL and err for a name that is not
 * one. */
char *dns01_owner(const char *domain, struct cf_error *err);

int dns01_set(const struct dns01_config *c, const char *name, const char *value,
    struct cf_error *err);
int dns01_clear(const struct dns01_config *c, const char *name,
    const char *value, struct cf_error *err);

/*
 * Waits until every server of c's check list answers name's TXT with
 * value, polling each every 500 ms, until deadline_ms (cf_now_ms's
 * clock).  -1 naming the servers that did not, and what they answered.
 */
int dns01_wait(const struct dns01_config *c, const char *name,
    const char *value, long long deadline_ms, struct cf_error *err);

#endif
