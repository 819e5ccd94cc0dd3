/*
 * ops_remove.c - cf_op_remove: a certificate with its key, or a pending
 * request with its key.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "ops_int.h"

static int
do_remove(struct cf_store *s, const struct cf_row *r, void *ctx, char **outcome,
    struct cf_error *err)
{
	int force = *(int *)ctx;

	if (r->services[0] != '\0' && !force)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%.8s: still assigned to %s; disable those services "
		    "first, or use --force",
		    r->f.thumbprint, r->services);
	*outcome =
	    xstrdup(r->services[0] ? "removed (services released)" : "removed");
	return cf_store_delete(s, r->f.thumbprint, err);
}

/*
 * Removes the pending request arg names, with its key: 1 when it was one,
 * 0 when arg names no request (then nothing happened), -1 on error.
 */
static int
remove_request(struct cf_store *s, const char *actor, const char *arg,
    char *thumb_out, struct cf_error *err)
{
	struct cf_request *r = NULL;
	char thumb[CF_THUMB_LEN + 1] = "";
	size_t n = 0;
	int rc = -1;

	if (cf_store_begin(s, err) == -1)
		return -1;
	if (cf_store_resolve(s, arg, thumb, err) == -1 ||
	    cf_store_request_list(s, thumb, 0, &r, &n, err) == -1)
		goto out;
	rc = 0;
	if (n == 1) {
		rc = -1;
		if (cf_store_request_delete(s, thumb, err) == -1 ||
		    cf_store_audit(s, actor, "remove", thumb,
			"removed the pending request and its key", err) == -1 ||
		    cf_store_commit(s, err) == -1)
			goto out;
		if (thumb_out != NULL)
			memcpy(thumb_out, thumb, sizeof(thumb));
		rc = 1;
	}
out:
	cf_store_rollback(s); /* no-op after the commit */
	if (rc == -1)
		cf_audit_failure(s, actor, "remove", thumb, err);
	cf_requests_free(r, n);
	return rc;
}

int
cf_op_remove(struct cf_store *s, const char *actor, const char *arg, int force,
    char *thumb, struct cf_error *err)
{
	int rc = remove_request(s, actor, arg, thumb, err);

	if (rc != 0)
		return rc == 1 ? 0 : -1;
	return cf_ops_with_cert(
	    s, actor, "remove", arg, thumb, do_remove, &force, err);
}
