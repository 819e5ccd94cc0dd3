/*
 * opstest.h - what the operation tests (test_ops.c, test_rollout.c)
 * share: the store under test and a few reads of it.
 */
#ifndef CF_OPSTEST_H
#define CF_OPSTEST_H

#include <stddef.h>

#include "ops.h"

extern struct cf_store *s;  /* the store under test, the tests' to open */
extern struct cf_error err; /* the last operation's error */

/* cf_op_import of one PEM text by the actor "test": 0 or -1 (err). */
int import_pem(const char *name, const char *pem, int exportable,
    const char *services, struct cf_import_result **res, size_t *n);
/* thumb's Status as get shows it ("" when it is not there); static. */
const char *status_of(const char *thumb);
/* How many audit records of op on thumb (NULL: any) hold needle. */
int audited(const char *op, const char *thumb, const char *needle);
/* The services of thumb, as get shows them ("?" when it is not there);
 * static. */
const char *services_of(const char *thumb);
/* How many certificates get lists. */
size_t count(void);

#endif
