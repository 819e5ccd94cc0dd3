/*
 * status.h - Status, computed when read: Valid, DateInvalid, Untrusted,
 * Invalid.  Never stored.
 *
 * The store records immutable facts of the bytes at import time: which
 * stored certificate's key verified each signature (signed_by), or that
 * a named issuer's key did not (CF_SIG_BAD).  Reading then walks those
 * links and needs no signature check per certificate; only a chain whose
 * top is not self-signed is verified with OpenSSL against the system
 * trust store, once per distinct top.  Trust anchors: the system trust
 * store plus the store's own self-signed certificates (as Exchange trusts
 * its own).  Each top's verdict is kept in the store's trust memo, so
 * that later readers (the front-end without OpenSSL, src/fast)
 * find it.
 */
#ifndef CF_STATUS_H
#define CF_STATUS_H

#include <time.h>

#include "store.h"

struct cf_status_ctx;

/* A context over the store's rows as they are now; caller frees. */
struct cf_status_ctx *cf_status_ctx_new(
    struct cf_store *s, struct cf_error *err);
void cf_status_ctx_free(struct cf_status_ctx *c);

/* The context's end certificates, sorted by thumbprint (lent). */
struct cf_row *cf_status_ctx_ends(struct cf_status_ctx *c, size_t *n);

/*
 * The status of end certificate r at time now ("Valid" ...), and its
 * chain as comma-separated thumbprints (issuer first) into *chain (new).
 */
const char *cf_status_of(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, char **chain);

/*
 * The chain of thumb as stored rows with DER, issuer first, into *rows
 * (caller frees with cf_rows_free); the walk stops at a self-signed
 * certificate, a missing link or a cycle.
 */
int cf_status_chain(struct cf_store *s, const struct cf_row *leaf,
    struct cf_row **rows, size_t *n, struct cf_error *err);

/*
 * The trust of top, where a chain's walk ended (not one of the store's
 * own self-signed certificates): 1 trusted, 0 not, -1 when the build
 * cannot tell.  *trust is the build's own state, made on first need and
 * freed with cf_status_trust_free.  status_trust.c (OpenSSL) always
 * tells; the front-end's (src/fast/trust.c) only from the memo.
 */
struct cf_status_trust;
int cf_status_trust_top(struct cf_store *s, const struct cf_row *top,
    struct cf_status_trust **trust);
void cf_status_trust_free(struct cf_status_trust *trust); /* NULL-safe */

/* Keeps the verdicts worked out since the last call in s's trust memo;
 * after the read that needed them (a write cannot join it). */
void cf_status_memo_flush(struct cf_store *s);

/* The roots' file as the memo names it: whether SSL_CERT_FILE gave it,
 * its path, time and size (size bytes into out). */
void cf_status_roots_id(char *out, size_t size, const char *file, int from_env);

/*
 * The memo's verdict on thumb, if kept as of roots want (as
 * cf_status_roots_id names them); want NULL: as of the roots' file the
 * memo names, which must be SSL_CERT_FILE's when that is set and the
 * default file when not, and unchanged since.  1, 0, or -1 for none.
 */
int cf_status_memo_get(struct cf_store *s, const char *thumb, const char *want);

#endif
