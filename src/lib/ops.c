/*
 * ops.c - what the operations share: the failure audit, and the
 * transaction around an operation on one certificate.  Each operation
 * lives in ops_<name>.c (ops.h lists them); each is one transaction and
 * audits its outcome, failures included.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "ops_int.h"
#include "util.h"

void
cf_audit_failure(struct cf_store *s, const char *actor, const char *op,
    const char *thumb, const struct cf_error *err)
{
	char *outcome = xasprintf("failed: %s", err->msg);

	cf_store_audit(s, actor, op, thumb, outcome, NULL);
	free(outcome);
}

/* outcome with its lines joined by "; ", for the audit trail. */
static char *
one_line(const char *outcome)
{
	char *flat = xmalloc(2 * strlen(outcome) + 1), *o = flat;

	for (; *outcome != '\0'; outcome++)
		if (*outcome == '\n') {
			*o++ = ';';
			*o++ = ' ';
		} else
			*o++ = *outcome;
	*o = '\0';
	return flat;
}

/* See ops_int.h. */
int
cf_ops_with_cert(struct cf_store *s, const char *actor, const char *op,
    const char *arg, char *thumb_out,
    int (*fn)(struct cf_store *, const struct cf_row *, void *, char **outcome,
	struct cf_error *),
    void *ctx, struct cf_error *err)
{
	struct cf_row *rows = NULL;
	char thumb[CF_THUMB_LEN + 1] = "";
	char *outcome = NULL, *flat = NULL;
	size_t n = 0;
	int rc = -1;

	if (cf_store_begin(s, err) == -1)
		return -1;
	if (cf_store_resolve(s, arg, thumb, err) == -1 ||
	    cf_store_list(s, CF_END, thumb, 0, &rows, &n, err) == -1)
		goto out;
	if (n != 1) {
		cf_errorf(err, CF_E_NOTFOUND, "%s: no such certificate", arg);
		goto out;
	}
	if (fn(s, &rows[0], ctx, &outcome, err) == -1)
		goto out;
	/* No outcome: fn audited its changes itself (services). */
	flat = outcome ? one_line(outcome) : NULL;
	if ((flat != NULL &&
		cf_store_audit(s, actor, op, thumb, flat, err) == -1) ||
	    cf_store_commit(s, err) == -1)
		goto out;
	if (thumb_out != NULL)
		memcpy(thumb_out, thumb, sizeof(thumb));
	rc = 0;
out:
	if (rc == -1) {
		cf_store_rollback(s);
		cf_audit_failure(s, actor, op, thumb, err);
	}
	free(flat);
	free(outcome);
	cf_rows_free(rows, n);
	return rc;
}
