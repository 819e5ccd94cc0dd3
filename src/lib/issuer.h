/*
 * issuer.h - who issues a namespace's certificate (issue 14): an ACME
 * account, the challenge every member answers, the key type made for
 * each order, the ACME profile asked for, and when it renews.
 *
 * Kept as one JSON object in the fleet file's namespace and in etcd's
 * ns/NS/spec (the same bytes both ways), checked by one function:
 *   {"type": "acme", "account": "le", "challenge": "http-01",
 *    "key": "p256", "profile": "tlsserver", "renew_at": "33%"}
 * type, account, challenge and key always there; profile and renew_at
 * only when set (renew_at absent: a third of the lifetime left,
 * renew.h).  HTTP-01 asks every member, and the balancer, on http_port
 * (an integer; absent: 80) before the CA validates.  DNS-01 changes the
 * zone through dns_server with dns_key_file (nsupdate) or through
 * dns_hook, and waits on dns_check (a list of IP:PORT; absent: the
 * update server): src/acme/dns01.h.  san (absent: none) lists more DNS
 * names for the certificate beyond the namespace's own, canonical
 * ("www.example.com,*.example.com"); a wildcard only with dns-01.
 */
#ifndef CF_ISSUER_H
#define CF_ISSUER_H

#include <jansson.h>

#include "error.h"

#define CF_ISSUER_NAME_MAX 63
#define CF_ISSUER_CHALLENGE_DEFAULT "http-01"
#define CF_ISSUER_KEY_DEFAULT "p256"

/* What `namespace add|set` was given; NULL where not given. */
struct cf_issuer_opts {
	const char *issuer;       /* "acme:ACCOUNT" or "none" */
	const char *challenge;    /* http-01, dns-01 */
	const char *key;          /* p256, p384, rsa2048, rsa3072, rsa4096 */
	const char *profile;      /* a profile name or "none" */
	const char *renew_at;     /* "30d", "33%" or "default" */
	const char *http_port;    /* the members' and balancer's plain HTTP
				     port for HTTP-01, or "default" (80) */
	const char *dns_server;   /* RFC 2136 update server, or "none" */
	const char *dns_key_file; /* its TSIG key file, or "none" */
	const char *dns_hook;     /* or a hook command, or "none" */
	const char *dns_check;    /* IP:PORT,... to wait on, or "none" */
	const char *san;          /* more DNS names, "a,*.b", or "none" */
};

/* Whether any issuer option is given. */
int cf_issuer_opts_any(const struct cf_issuer_opts *o);

/* The stored object, checked: CF_E_PARSE naming the member and what it
 * takes. */
int cf_issuer_check(const json_t *o, struct cf_error *err);

/*
 * The options over *io (the namespace's issuer, NULL: none), checked;
 * *io replaced by the new object (NULL after --issuer none).  CF_E_USAGE
 * naming the option and what it takes; *io unchanged then.
 */
int cf_issuer_apply(
    json_t **io, const struct cf_issuer_opts *o, struct cf_error *err);

/* As the CLI shows it: {"Type", "Account", "Challenge", "Key", "Profile"
 * (null: none), "RenewAt" (the default written out), "HttpPort",
 * "DnsServer", "DnsKeyFile", "DnsHook" (each null when none), "DnsCheck"
 * (a list), "San" (null: none)}, or JSON null. */
json_t *cf_issuer_view(const json_t *o);

/* "acme:le http-01 p256 renew at 33%" (new), or "-" for none. */
char *cf_issuer_text(const json_t *o);

#endif
