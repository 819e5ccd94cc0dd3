/*
 * renew.h - when a namespace's certificate is renewed (issue 14): one
 * pure function that the etcd coordinator (in certfleetd) and `certfleet
 * autopilot` (the file registry) both ask, so both renew alike.
 *
 * Every figure is a share of the certificate's own lifetime, so a
 * 47-day certificate and a 200-day one are treated alike:
 *   - due when the renew-at limit is reached: by default a third of the
 *     lifetime left (two thirds passed, as Let's Encrypt advises); or
 *     the limit given as for `get --expiring` ("30d" left, "25%" left);
 *   - when the CA offers ACME Renewal Information (RFC 9773) and its
 *     suggested window is known, due at a point of that window chosen
 *     once (pick, 0 to 1, drawn at random by the caller and kept) and
 *     now when the window has begun and that point is past; a window
 *     that ends after the certificate does is ignored;
 *   - after failures, the next attempt waits lifetime / 512, doubled
 *     for each further failure, at most lifetime / 32 and at most a
 *     quarter of what is left, at least 10 s: a 45-day certificate's
 *     first retry comes after about 2 hours, a 6-day one's after 17
 *     minutes, and retries quicken as expiry nears.  The floor only
 *     holds back certificates of under about 1.5 hours (life / 512 <
 *     10 s), which only test CAs issue (Let's Encrypt's shortest is 6
 *     days): it keeps a failing CA from being asked in a tight loop,
 *     while a test of a 90-second certificate need not wait a minute.
 */
#ifndef CF_RENEW_H
#define CF_RENEW_H

#include <time.h>

#include <jansson.h>

#include "cert.h"
#include "lifetime.h"

#define CF_RENEW_SHARE_DEFAULT (1.0 / 3) /* of the lifetime left */
#define CF_RENEW_RETRY_MIN 10            /* seconds */

struct cf_renew_in {
	time_t not_before, not_after; /* the certificate served now */
	time_t now;
	const struct lifetime_limit *at; /* NULL: a third of it left */
	int have_ari;                    /* the CA's window is known */
	time_t ari_start, ari_end;
	double pick;         /* 0 to 1: where in the window, kept */
	int failures;        /* consecutive failed attempts */
	time_t last_failure; /* when the last of them ended */
};

enum cf_renew_why {
	CF_RENEW_LIMIT,  /* the renew-at limit of the lifetime */
	CF_RENEW_ARI,    /* the CA's suggested window */
	CF_RENEW_RETRY,  /* again after a failure */
	CF_RENEW_EXPIRED /* past notAfter already: now */
};

struct cf_renew_out {
	time_t due; /* when to renew (<= now: now) */
	int now;    /* due <= now */
	enum cf_renew_why why;
};

/* When to renew; -1 when the dates make no lifetime (not_after <=
 * not_before). */
int cf_renew_when(const struct cf_renew_in *in, struct cf_renew_out *out);

/* "the renew-at limit", "the CA's renewal window", ... for messages. */
const char *cf_renew_why_text(enum cf_renew_why why);

/*
 * A namespace's renewal state as the fleet file keeps it, under
 * "renewal" (renew_state.c; `certfleet autopilot` writes it, status and
 * test read it):
 *   {"failures": 2, "last_failure": UNIXTIME, "last_error": "...",
 *    "last_success": UNIXTIME, "next_due": UNIXTIME, "next_why": "...",
 *    "ari_pick": 0.37, "certificate": THUMB, "ari_id": "AKI.SERIAL",
 *    "ari_start": UNIXTIME, "ari_end": UNIXTIME}
 * Every member optional (0, "" or absent: never, none).  ari_pick is
 * drawn once and kept, so that where a window's renewal falls does not
 * move from pass to pass; certificate names the one ari_id and the
 * window are of (both dropped when another is desired).
 */
#define CF_RENEW_ERROR_MAX 512 /* a cf_error's message */

struct cf_renew_state {
	int failures;
	time_t last_failure, last_success, next_due;
	char last_error[CF_RENEW_ERROR_MAX];
	char next_why[64];
	int have_pick;
	double pick;
	char certificate[CF_THUMB_LEN + 1];
	char ari_id[160];
	time_t ari_start, ari_end; /* 0: not known */
};

/* o (NULL: none) into *s (zeroed first), checked: CF_E_PARSE naming the
 * member. */
int cf_renew_state_parse(
    const json_t *o, struct cf_renew_state *s, struct cf_error *err);
/* Whether the renewal is failing: a failure since the last success. */
int cf_renew_state_failing(const struct cf_renew_state *s);
/* s as the file keeps it (new); members that say nothing left out. */
json_t *cf_renew_state_json(const struct cf_renew_state *s);

#endif
