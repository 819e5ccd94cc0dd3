/*
 * fast.h - the certfleet front-end (src/fast/): the `certfleet` users
 * run.  It answers `get` on a local store (--store, CERTFLEET_STORE)
 * by itself, linked statically with SQLite and jansson and without
 * OpenSSL, libevent or the rest, so that such a `get` costs a few
 * milliseconds from exec to exit rather than the 8 ms that loading and
 * relocating ten shared libraries took before any work (issue 16).
 * Everything else, and any `get` it cannot answer alone, it hands to
 * the full certfleet (certfleet-full) by exec, with the same arguments
 * and environment: the same code answers either way.
 */
#ifndef CF_FAST_H
#define CF_FAST_H

/* Replaces the process with the full certfleet and the arguments main
 * got; returns only when that cannot be done, with the exit status
 * (127) after saying why. */
int fast_exec_full(void);

/* Whether a Status needed a trust verdict the store's memo does not
 * hold (trust.c): the answer is then the full certfleet's to give. */
int fast_trust_unknown(void);

/* From now on a verdict the memo lacks ends the process with an error:
 * a listing printed as it is read checked them all first. */
void fast_trust_promised(void);

#endif
