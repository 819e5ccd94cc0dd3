/*
 * ops_assign_recover.c - deployments the agent did not live to finish.
 *
 * An operation that deploys commits its intent, deploys with no
 * transaction held, then commits its outcome (ops_assign.c).  When the agent
 * dies in between, the store still holds the assignments as they were
 * and the intent; the service's files may hold either certificate, and
 * the saved copies of the old files died with the agent.  At the next
 * start, before anything is served, each intent is resolved so that the
 * assignment and the files agree again:
 *   - the service had a certificate still in the store: it is deployed
 *     again ("unchanged" when its files never changed), and stays
 *     assigned to it, deployed;
 *   - it had none, and its files hold the new one: the deployment is
 *     finished (reloaded and checked), and the service assigned to it,
 *     deployed when that worked, else assigned and not yet deployed;
 *   - otherwise (no files written, or no longer configured here) nothing
 *     changes.
 * Each is audited as an "enable" record saying so.
 */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "material.h"
#include "ops.h"
#include "service.h"

/*
 * Deploys the stored certificate thumb to svc as enable would (the files
 * rendered, written when they differ, tested, reloaded, checked); what
 * it did into *outcome (new).  Outside any transaction.
 */
static int
deploy_stored(struct cf_store *s, const struct cf_service *svc,
    const char *thumb, char **outcome, struct cf_error *err)
{
	struct cf_material m = {0};
	struct cf_rendered r = {0};
	struct cf_deploy *d = cf_deploy_new();
	struct cf_row row;
	char *first = NULL;
	int rc = -1, found;

	memset(&row, 0, sizeof(row));
	if ((found = cf_store_fetch(s, thumb, &row, err)) != 1) {
		if (found == 0)
			cf_errorf(err, CF_E_NOTFOUND,
			    "%.8s: no longer in the store", thumb);
		goto out;
	}
	if (cf_material_load(s, &row, 1, &m, err) == -1 ||
	    cf_render(m.cert, m.chain, m.key, &r, err) == -1)
		goto out;
	first = xstrdup(row.f.domains ? row.f.domains : "");
	first[strcspn(first, ",")] = '\0';
	rc = cf_deploy_service(d, svc, &r, row.f.thumbprint,
	    first[0] ? first : NULL, outcome, err);
out:
	free(first);
	cf_rendered_clear(&r);
	cf_material_clear(&m);
	cf_row_clear(&row);
	cf_deploy_free(d);
	return rc;
}

/* Whether thumb is an end certificate of the store with its key. */
static int
usable(struct cf_store *s, const char *thumb)
{
	struct cf_row *rows = NULL;
	size_t n = 0;
	int ok;

	if (thumb[0] == '\0' ||
	    cf_store_list(s, CF_END, thumb, 0, &rows, &n, NULL) == -1)
		return 0;
	ok = n == 1 && rows[0].has_key;
	cf_rows_free(rows, n);
	return ok;
}

/*
 * Resolves one intent: deploys, then commits the assignment, the audit
 * and the end of the intent in one transaction.  *line (new) says what
 * became of it.
 */
static int
resolve(struct cf_store *s, const struct cf_intent *in, char **line,
    struct cf_error *err)
{
	const struct cf_service *svc =
	    cf_services_find(cf_store_services(s), in->service);
	char prev[CF_THUMB_LEN + 1], on_disk[CF_THUMB_LEN + 1] = "";
	char *did = NULL, *what = NULL;
	const char *thumb = NULL; /* the certificate it ends on */
	struct cf_error why;
	int deployed = 0, rc = -1;
	time_t na;

	cf_error_clear(&why);
	if (cf_store_service_owner(s, in->service, prev, err) == -1)
		return -1;
	if (svc != NULL)
		cf_file_leaf(
		    svc->pem ? svc->pem : svc->chain, on_disk, &na, &why);
	if (svc == NULL)
		what = xstrdup("not configured here any more; nothing changed");
	else if (usable(s, prev)) {
		thumb = prev;
		if (deploy_stored(s, svc, prev, &did, &why) == 0) {
			deployed = 1;
			what = xasprintf("put back %.8s: %s", prev, did);
		} else
			what = xasprintf(
			    "putting %.8s back failed: %s", prev, why.msg);
	} else if (strcmp(on_disk, in->thumb) == 0 && usable(s, in->thumb)) {
		thumb = in->thumb;
		if (deploy_stored(s, svc, in->thumb, &did, &why) == 0) {
			deployed = 1;
			what = xasprintf("finished: %s", did);
		} else
			what = xasprintf("its files hold it, assigned, not "
					 "deployed: %s",
			    why.msg);
	} else
		what = xstrdup("its files were not changed; nothing changed");
	*line = xasprintf("%s: an enable of %.8s by %s was interrupted (the "
			  "agent stopped); %s",
	    in->service, in->thumb, in->actor, what);
	if (cf_store_begin(s, err) == -1)
		goto out;
	if ((thumb != NULL &&
		cf_store_service_set(s, in->service, thumb, err) == -1) ||
	    (deployed &&
		cf_store_service_deployed(s, in->service, err) == -1) ||
	    cf_store_deploy_done(s, in->service, err) == -1 ||
	    cf_store_audit(
		s, "certfleetd start", "enable", in->thumb, *line, err) == -1 ||
	    cf_store_commit(s, err) == -1)
		goto out;
	rc = 0;
out:
	cf_store_rollback(s);
	free(did);
	free(what);
	return rc;
}

int
cf_services_recover(struct cf_store *s, char **report, struct cf_error *err)
{
	struct cf_store_lock *lock = NULL;
	struct cf_intent *v = NULL;
	char *line = NULL, *joined;
	size_t n = 0, i;
	int rc = -1;

	*report = NULL;
	if ((lock = cf_store_deploy_lock(s, err)) == NULL ||
	    cf_store_deploy_list(s, &v, &n, err) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (resolve(s, &v[i], &line, err) == -1)
			goto out;
		joined = *report ? xasprintf("%s\n%s", *report, line)
				 : xstrdup(line);
		free(*report);
		*report = joined;
		free(line);
		line = NULL;
	}
	rc = 0;
out:
	free(line);
	cf_intents_free(v, n);
	cf_store_lock_release(lock);
	return rc;
}
