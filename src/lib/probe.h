/*
 * probe.h - one real TLS handshake with a service, as its users make it:
 * connect to HOST:PORT, speak the protocol's STARTTLS dialogue when the
 * service is smtp, imap or pop, send SNI, and report what the server
 * presented.  Used by `enable` (is the new certificate served?), by
 * `certfleet services` (what is served now?) and by `certfleet test`.
 *
 * Blocking, one connection per call, every wait bounded by the timeout;
 * safe to call from several threads at once.
 */
#ifndef CF_PROBE_H
#define CF_PROBE_H

#include <time.h>

#include "cert.h"
#include "error.h"

enum cf_probe_proto {
	CF_PROBE_TLS = 0, /* TLS from the first byte (https, imaps, smtps) */
	CF_PROBE_SMTP,    /* 220 greeting, EHLO, STARTTLS (RFC 3207) */
	CF_PROBE_IMAP,    /* "* OK" greeting, a STARTTLS (RFC 2595) */
	CF_PROBE_POP,     /* "+OK" greeting, STLS (RFC 2595) */
};

/*
 * The protocol named name ("tls", "smtp", "imap", "pop"; "pop3" too) into
 * *out; -1 with CF_E_USAGE naming the valid ones otherwise.
 */
int cf_probe_proto_parse(
    const char *name, enum cf_probe_proto *out, struct cf_error *err);
/* "tls", "smtp", "imap", "pop". */
const char *cf_probe_proto_name(enum cf_probe_proto p);

/*
 * What a probe verifies the served chain against, made once and shared
 * by any number of probes in any number of threads: loading the system's
 * roots costs some 20 ms, more than a handshake on a LAN.
 */
struct cf_probe_ctx;

/*
 * The roots of ca_file (PEM) when given, else, when verify, the system's
 * default roots (OpenSSL's default paths); with neither, probes verify
 * nothing.  NULL and *err set (CF_E_IO, naming the file) on failure.
 */
struct cf_probe_ctx *cf_probe_ctx_new(
    const char *ca_file, int verify, struct cf_error *err);
void cf_probe_ctx_free(struct cf_probe_ctx *c); /* NULL-safe */

struct cf_probe_opts {
	const char *host; /* name or address to connect to */
	const char *port; /* decimal */
	const char *sni;  /* server name to send; NULL or "": none */
	enum cf_probe_proto proto;
	int timeout_ms;                 /* for the whole probe; 0: 5000 */
	const char *ca_file;            /* PEM roots to verify against; NULL:
					   none (the system's, with verify) */
	int verify;                     /* verify even without ca_file: against
					   the system's roots */
	const struct cf_probe_ctx *ctx; /* lent; when set, its roots apply
					   and ca_file and verify are unused */
};

/* What the server presented; strings owned, cleared by cf_probe_clear. */
struct cf_probe {
	char thumbprint[CF_THUMB_LEN + 1]; /* the leaf's SHA-1, upper hex */
	char *subject;                     /* of the leaf, one line */
	char *issuer;
	time_t not_before, not_after;
	int chain_len;          /* certificates presented, leaf included */
	char version[16];       /* "TLSv1.3" */
	int verified;           /* verification ran (ca_file or verify), the
				   chain verified and the name matches sni */
	char verify_error[160]; /* why not: the chain's reason first, else
				   "hostname mismatch"; "not checked" */
	int trusted;            /* verification ran and the chain verified to a
				   root, dates included, the name aside */
	int name_ok;            /* the leaf names sni (X509_check_host), checked
				   with or without verification; -1: no sni */
};
void cf_probe_clear(struct cf_probe *p); /* NULL-safe */

/*
 * Connects and handshakes as o says; fills *out (cleared first).  -1 on
 * failure with CF_E_IO and a message naming the step and the reason,
 * not the endpoint, which the caller puts where its message needs it:
 * "connect: Connection refused", "STARTTLS refused: 454 TLS not
 * available", "TLS handshake: <OpenSSL reason>", "timed out after 5000
 * ms in <step>".  A failed verification is not an error: it is
 * out->verified = 0 with the reason, so the served thumbprint is known
 * whatever the chain.
 */
int cf_probe_run(
    const struct cf_probe_opts *o, struct cf_probe *out, struct cf_error *err);

#endif
