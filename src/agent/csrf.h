/*
 * csrf.h - the console's defence against cross-site request forgery.
 *
 * A browser that holds the admin's client certificate presents it to
 * any page that makes it POST to the agent, so the certificate alone
 * does not show that the console asked.  Every POST the console makes
 * carries a token (header X-Certfleet-CSRF) from GET /v1/csrf, which a
 * page of another origin cannot read: an HMAC-SHA256, under a key
 * drawn at random when the process starts, of the client certificate's
 * fingerprint and the time it was issued.  It is good for that
 * certificate, in this process (a restart voids it), for
 * CSRF_LIFETIME seconds.
 *
 * Which requests must carry it: any request other than GET or HEAD that
 * shows a browser's marks (Origin, Sec-Fetch-Site, Sec-Fetch-Mode,
 * Referer or Cookie, or the console's own X-Certfleet-Console).
 * Browsers send Origin and Sec-Fetch-Site with every POST, same-origin
 * or not; the CLI and other API clients send none of them, and need no
 * token, as before.
 */
#ifndef CFD_CSRF_H
#define CFD_CSRF_H

#include <time.h>

#include <event2/keyvalq_struct.h>

#define CSRF_HEADER "X-Certfleet-CSRF"
#define CSRF_LIFETIME (12 * 3600)
/* "ISSUED.HEX": decimal seconds, a dot, 64 hex digits. */
#define CSRF_TOKEN_MAX 96

/* The token for the client fingerprint fp at now, into out. */
void csrf_token(const char *fp, time_t now, char out[CSRF_TOKEN_MAX]);

/* 1 when token (may be NULL) is one csrf_token made for fp, issued at
 * most CSRF_LIFETIME seconds before now; 0 otherwise. */
int csrf_valid(const char *token, const char *fp, time_t now);

/* 1 when headers h show that a browser sent the request. */
int csrf_from_browser(const struct evkeyvalq *h);

#endif
