/*
 * ops_int.h - what the operation files (ops_<name>.c) share beyond ops.h.
 * Not for the rest of the library.
 */
#ifndef CF_OPS_INT_H
#define CF_OPS_INT_H

#include "error.h"
#include "store.h"

/*
 * Runs fn on the certificate arg names (a thumbprint or unique prefix)
 * inside one transaction, then audits op on it with fn's *outcome (new,
 * its lines joined; NULL when fn audited its changes itself) and commits.
 * A failure, fn's or the store's, is rolled back and audited.  The
 * thumbprint goes to thumb_out (may be NULL) on success.
 */
int cf_ops_with_cert(struct cf_store *s, const char *actor, const char *op,
    const char *arg, char *thumb_out,
    int (*fn)(struct cf_store *, const struct cf_row *, void *, char **outcome,
	struct cf_error *),
    void *ctx, struct cf_error *err);

#endif
