/*
 * ops_enable.c - enable, disable and replace: services assigned to a
 * certificate, released from it, or moved to it from another.  The
 * checks, the assignment and the deploy are ops_assign.c's; here each
 * operation finds its certificate and holds the deploy lock.
 */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "ops.h"
#include "ops_int.h"
#include "service.h"

struct svc_args {
	const char *actor;
	const char *services;
	int force;
	struct cf_deploy *d;
	struct cf_rollout *ro; /* what is to deploy once committed */
	char *detail;          /* what each service did, lines */
	const char *old;       /* replace: the certificate the services leave */
	char *moved;           /* replace: the services moved */
};

/* Services to the certificate r; cf_services_assign audits them. */
static int
do_enable(struct cf_store *s, const struct cf_row *r, void *ctx, char **outcome,
    struct cf_error *err)
{
	struct svc_args *a = ctx;
	struct cf_assign as = {
	    .actor = a->actor,
	    .thumb = r->f.thumbprint,
	    .force = a->force,
	    .d = a->d,
	};
	char *list = NULL;
	int rc;

	(void)outcome;
	if (cf_services_parse(cf_store_services(s), a->services, &list, err) ==
	    -1)
		return -1;
	as.list = list;
	rc = cf_services_assign(s, &as, &a->ro, &a->detail, err);
	free(list);
	return rc;
}

/* Every service of a->old to the certificate r, taken without force. */
static int
do_replace(struct cf_store *s, const struct cf_row *r, void *ctx,
    char **outcome, struct cf_error *err)
{
	struct svc_args *a = ctx;
	struct cf_row *rows = NULL;
	char old[CF_THUMB_LEN + 1];
	size_t n = 0;
	int rc = -1;

	(void)outcome;
	if (cf_store_resolve(s, a->old, old, err) == -1 ||
	    cf_store_list(s, CF_END, old, 0, &rows, &n, err) == -1)
		return -1;
	if (n != 1)
		cf_errorf(
		    err, CF_E_NOTFOUND, "%s: no such certificate", a->old);
	else if (strcmp(old, r->f.thumbprint) == 0)
		cf_errorf(err, CF_E_USAGE,
		    "%.8s: the old and the new certificate are the same", old);
	else {
		struct cf_assign as = {
		    .actor = a->actor,
		    .thumb = r->f.thumbprint,
		    .list = rows[0].services,
		    .from = old,
		    .force = a->force,
		    .d = a->d,
		};
		a->moved = xstrdup(rows[0].services);
		rc = as.list[0] == '\0'
			 ? 0 /* nothing to move */
			 : cf_services_assign(s, &as, &a->ro, &a->detail, err);
	}
	cf_rows_free(rows, n);
	return rc;
}

static int
do_disable(struct cf_store *s, const struct cf_row *r, void *ctx,
    char **outcome, struct cf_error *err)
{
	struct svc_args *a = ctx;
	char *list = NULL, *svc, *save = NULL;
	char owner[CF_THUMB_LEN + 1];
	int rc = -1;

	if (cf_services_parse(cf_store_services(s), a->services, &list, err) ==
	    -1)
		return -1;
	*outcome = xasprintf("disabled %s (the files stay as they are)", list);
	for (svc = strtok_r(list, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save)) {
		if (cf_store_service_owner(s, svc, owner, err) == -1)
			goto out;
		if (strcmp(owner, r->f.thumbprint) != 0) {
			cf_errorf(err, CF_E_CONFLICT,
			    "%.8s: service %s is not assigned to it (its "
			    "services: %s)",
			    r->f.thumbprint, svc,
			    r->services[0] ? r->services : "none");
			goto out;
		}
		if (cf_store_service_clear(s, svc, err) == -1)
			goto out;
	}
	rc = 0;
out:
	free(list);
	return rc;
}

/*
 * An operation on services (enable, replace): fn records the assignment,
 * or its intent, in cf_ops_with_cert's transaction; the rollout then deploys
 * with no transaction held and commits the outcome (ops_assign.c).  Where
 * services are configured the deploy lock is held throughout, so two
 * never interleave; readers and other writers never wait for it.
 */
static int
with_services(struct cf_store *s, const char *actor, const char *arg,
    char *thumb,
    int (*fn)(struct cf_store *, const struct cf_row *, void *, char **outcome,
	struct cf_error *),
    struct svc_args *a, struct cf_error *err)
{
	struct cf_store_lock *lock = NULL;
	int rc = -1;

	if (cf_services_count(cf_store_services(s)) > 0) {
		if ((lock = cf_store_deploy_lock(s, err)) == NULL) {
			cf_audit_failure(s, actor, "enable", "", err);
			return -1;
		}
		a->d = cf_deploy_new();
	}
	if (cf_ops_with_cert(s, actor, "enable", arg, thumb, fn, a, err) == 0 &&
	    (a->ro == NULL || cf_rollout_run(s, a->ro, &a->detail, err) == 0))
		rc = 0;
	cf_rollout_free(a->ro);
	a->ro = NULL;
	cf_deploy_free(a->d);
	a->d = NULL;
	cf_store_lock_release(lock);
	return rc;
}

int
cf_op_enable(struct cf_store *s, const char *actor, const char *arg,
    const char *svcs, int force, char *thumb, char **detail,
    struct cf_error *err)
{
	struct svc_args a = {.actor = actor, .services = svcs, .force = force};
	int rc;

	if (detail != NULL)
		*detail = NULL;
	rc = with_services(s, actor, arg, thumb, do_enable, &a, err);
	if (rc == 0 && detail != NULL)
		*detail = a.detail;
	else
		free(a.detail);
	return rc;
}

int
cf_op_disable(struct cf_store *s, const char *actor, const char *arg,
    const char *svcs, char *thumb, struct cf_error *err)
{
	struct svc_args a = {.actor = actor, .services = svcs};

	return cf_ops_with_cert(
	    s, actor, "disable", arg, thumb, do_disable, &a, err);
}

int
cf_op_replace(struct cf_store *s, const char *actor, const char *old,
    const char *arg, int force, char *thumb, char **moved, char **detail,
    struct cf_error *err)
{
	struct svc_args a = {.actor = actor, .force = force, .old = old};
	int rc;

	*moved = NULL;
	if (detail != NULL)
		*detail = NULL;
	rc = with_services(s, actor, arg, thumb, do_replace, &a, err);
	if (rc == 0) {
		*moved = a.moved;
		a.moved = NULL;
	}
	if (rc == 0 && detail != NULL)
		*detail = a.detail;
	else
		free(a.detail);
	free(a.moved);
	return rc;
}
