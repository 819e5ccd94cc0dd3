/*
 * ops_assign.c - assigning services to a certificate, and deploying it to
 * those this host configures (Enable-ExchangeCertificate).
 *
 * The order matters: every check that can refuse runs before anything
 * changes (the store or a service's files).  Where nothing is deployed
 * (no service configured here) the store records the assignment inside
 * the caller's transaction.  Where something is, no transaction is held
 * while services test, reload and answer handshakes (seconds; readers and
 * other writers must not wait for that): the caller's transaction records
 * the intent (cf_store_deploy_intent), and once it has committed, the
 * rollout deploys to each configured service (deploy.h) and commits the
 * outcome in a second short transaction: the assignments, the deployed
 * flags and the audit, or, when a deployment failed, the intent dropped
 * and the failure audited.  Until then readers see the assignments as
 * they were.  A deployment that fails has already put its service back;
 * the ones before it are undone here.  The caller holds the deploy lock
 * (cf_store_deploy_lock) from before its transaction to the outcome, so
 * two deployments never interleave; an agent that dies in between leaves
 * the intent, which cf_services_recover resolves at its next start.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "deploy.h"
#include "material.h"
#include "ops.h"
#include "service.h"
#include "status.h"

/* Appends line to *text, lines separated by '\n'. */
static void
add_line(char **text, const char *line)
{
	char *joined;

	if (text == NULL)
		return;
	joined =
	    *text && **text ? xasprintf("%s\n%s", *text, line) : xstrdup(line);
	free(*text);
	*text = joined;
}

/* The certificate's subject, or its thumbprint prefix, for messages. */
static const char *
who(const struct cf_row *row)
{
	return row->f.subject && row->f.subject[0] ? row->f.subject
						   : row->f.thumbprint;
}

/*
 * The chain must reach a self-signed certificate in the store or one the
 * system trusts, every signature must hold and every issuer be in its
 * dates.  Status (status.h) knows the first two; a private CA whose root
 * is in the store but not trusted here still serves, as its clients
 * trust it.
 */
static int
chain_ok(struct cf_store *s, const struct cf_row *row,
    const struct cf_material *m, struct cf_error *err)
{
	struct cf_status_ctx *ctx;
	int n = sk_X509_num(m->chain), i;
	X509 *top = n > 0 ? sk_X509_value(m->chain, n - 1) : m->cert;
	const char *status;
	char *chain = NULL, name[256];
	int rc = -1;

	if ((ctx = cf_status_ctx_new(s, err)) == NULL)
		return -1;
	status = cf_status_of(ctx, row, time(NULL), &chain);
	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(m->chain, i);
		if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ||
		    X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
			break;
	}
	if (strcmp(status, "Invalid") == 0)
		cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): a signature in its chain does not verify; the "
		    "certificate or an issuer is forged or damaged",
		    row->f.thumbprint, who(row));
	else if (i < n) {
		X509_NAME_oneline(
		    X509_get_subject_name(sk_X509_value(m->chain, i)), name,
		    sizeof(name));
		cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): its issuer %s is out of its dates; import the "
		    "CA's current certificate",
		    row->f.thumbprint, who(row), name);
	} else if (strcmp(status, "Valid") != 0 && !cf_cert_self_signed(top)) {
		X509_NAME_oneline(
		    X509_get_issuer_name(top), name, sizeof(name));
		cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): the chain is incomplete: the issuer %s is not "
		    "in the store and no system root vouches for it; import "
		    "that CA certificate first (clients would reject the "
		    "chain)",
		    row->f.thumbprint, who(row), name);
	} else
		rc = 0;
	free(chain);
	cf_status_ctx_free(ctx);
	return rc;
}

/*
 * Whether the certificate can serve at all: a key that is its own, in
 * its dates, a chain clients can build.
 */
static int
can_serve(struct cf_store *s, const struct cf_row *row,
    const struct cf_material *m, struct cf_error *err)
{
	time_t now = time(NULL);
	char when[21];

	if (X509_check_private_key(m->cert, m->key) != 1)
		return cf_errorf_ossl(err, CF_E_CRYPTO,
		    "%.8s (%s): the stored private key does not belong to the "
		    "certificate; import the certificate with its own key",
		    row->f.thumbprint, who(row));
	if (now > row->f.not_after) {
		cf_time_iso(row->f.not_after, when);
		return cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): expired on %s; renew it, or import the "
		    "renewed certificate",
		    row->f.thumbprint, who(row), when);
	}
	if (now < row->f.not_before) {
		cf_time_iso(row->f.not_before, when);
		return cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): not valid before %s; enable it then",
		    row->f.thumbprint, who(row), when);
	}
	return chain_ok(s, row, m, err);
}

/* Each configured service's name must be one of the certificate's. */
static int
names_ok(const struct cf_services *conf, const struct cf_row *row,
    const struct cf_material *m, const char *list, struct cf_error *err)
{
	char *copy = xstrdup(list), *name, *save = NULL;
	const struct cf_service *svc;
	int rc = 0;

	for (name = strtok_r(copy, ",", &save); name != NULL && rc == 0;
	     name = strtok_r(NULL, ",", &save)) {
		svc = cf_services_find(conf, name);
		if (svc == NULL || svc->check_name == NULL ||
		    X509_check_host(m->cert, svc->check_name, 0, 0, NULL) == 1)
			continue;
		rc = cf_errorf(err, CF_E_DENIED,
		    "%.8s: its names (%s) do not cover %s, the name %s answers "
		    "to; users would get a name mismatch (use --force to "
		    "enable it anyway)",
		    row->f.thumbprint,
		    row->f.domains[0] ? row->f.domains : "none",
		    svc->check_name, svc->name);
	}
	free(copy);
	return rc;
}

/*
 * Services held by another certificate: CF_E_CONFLICT unless force, or
 * unless that certificate is a->from (the one they move away from).
 */
static int
owners_ok(struct cf_store *s, const struct cf_assign *a, struct cf_error *err)
{
	char *copy = xstrdup(a->list), *svc, *save = NULL;
	char owner[CF_THUMB_LEN + 1];
	int rc = 0;

	for (svc = strtok_r(copy, ",", &save);
	     svc != NULL && rc == 0 && !a->force;
	     svc = strtok_r(NULL, ",", &save)) {
		if ((rc = cf_store_service_owner(s, svc, owner, err)) == -1)
			break;
		if (owner[0] != '\0' && strcmp(owner, a->thumb) != 0 &&
		    (a->from == NULL || strcmp(owner, a->from) != 0))
			rc = cf_errorf(err, CF_E_CONFLICT,
			    "%.8s: service %s is assigned to %s; use --force "
			    "to move it",
			    a->thumb, svc, owner);
	}
	free(copy);
	return rc;
}

/* What one service of an assignment became. */
struct change {
	char name[CF_SERVICE_NAME_MAX];
	char prev[CF_THUMB_LEN + 1]; /* its certificate before; "" none */
	char *deployed;              /* what its deployment did, or NULL */
	int here;                    /* deployed to a service configured here */
};

/* An assignment whose intent is recorded, its deployment to come. */
struct cf_rollout {
	char *actor;
	char thumb[CF_THUMB_LEN + 1];
	struct cf_row row;
	struct cf_material m;
	struct change *c;
	size_t n;
	struct cf_deploy *d; /* lent */
};

/*
 * Deploys to every configured service of the n changes (their deployed
 * is what it did, here is set), or undoes them all.  The store is not
 * touched: no transaction is held meanwhile.
 */
static int
deploy_all(struct cf_deploy *d, const struct cf_services *conf,
    const struct cf_row *row, const struct cf_material *m, struct change *c,
    size_t n, struct cf_error *err)
{
	char *first = xstrdup(row->f.domains ? row->f.domains : "");
	struct cf_rendered r = {0};
	const struct cf_service *svc;
	size_t i;
	int rc = -1;

	first[strcspn(first, ",")] = '\0';
	if (cf_render(m->cert, m->chain, m->key, &r, err) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if ((svc = cf_services_find(conf, c[i].name)) == NULL)
			c[i].deployed = xasprintf("recorded; this server has "
						  "no [service %s], nothing "
						  "deployed",
			    c[i].name);
		else if (cf_deploy_service(d, svc, &r, row->f.thumbprint,
			     first[0] ? first : NULL, &c[i].deployed,
			     err) == -1) {
			cf_deploy_abort(d, err);
			goto out;
		} else
			c[i].here = 1;
	}
	rc = 0;
out:
	cf_rendered_clear(&r);
	free(first);
	return rc;
}

/*
 * The one audit path of a service change, whichever operation made it
 * (enable, import or copy with services, replace): an "enable" record
 * per service saying what it was assigned and what its deployment did,
 * inside the caller's transaction.  A failed change is audited by the
 * caller once its transaction is rolled back (cf_audit_failure).
 */
static int
audit_changes(struct cf_store *s, const char *actor, const char *thumb,
    const struct change *c, size_t n, struct cf_error *err)
{
	char *what, *taken;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(c[i].prev, thumb) == 0)
			taken = xstrdup("already assigned");
		else if (c[i].prev[0] != '\0')
			taken =
			    xasprintf("assigned, taken from %.8s", c[i].prev);
		else
			taken = xstrdup("assigned");
		what = xasprintf("%s: %s; %s", c[i].name, taken,
		    c[i].deployed ? c[i].deployed
				  : "recorded; no service is configured "
				    "here, nothing deployed");
		rc = cf_store_audit(s, actor, "enable", thumb, what, err);
		free(what);
		free(taken);
	}
	return rc;
}

/* The changes' deployments as lines "NAME: what it did" (NULL: none). */
static char *
outcome_lines(const struct change *c, size_t n)
{
	char *text = NULL, *line;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i].deployed == NULL)
			continue;
		line = xasprintf("%s: %s", c[i].name, c[i].deployed);
		add_line(&text, line);
		free(line);
	}
	return text;
}

/* Reads each change's certificate before (prev). */
static int
prevs_read(struct cf_store *s, struct change *c, size_t n, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cf_store_service_owner(s, c[i].name, c[i].prev, err) == -1)
			return -1;
	return 0;
}

/* The services of the canonical list as changes, their owners read. */
static int
changes_new(struct cf_store *s, const char *list, struct change **out,
    size_t *n, struct cf_error *err)
{
	char *copy = xstrdup(list), *svc, *save = NULL;
	struct change *c = xcalloc(strlen(list) / 2 + 2, sizeof(*c));

	*n = 0;
	for (svc = strtok_r(copy, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save)) {
		snprintf(c[*n].name, sizeof(c[*n].name), "%s", svc);
		(*n)++;
	}
	*out = c;
	free(copy);
	return prevs_read(s, c, *n, err);
}

/*
 * The store's side of the changes, inside a transaction: each service
 * assigned to thumb (deployed where it was deployed here) and audited.
 */
static int
record_changes(struct cf_store *s, const char *actor, const char *thumb,
    const struct change *c, size_t n, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cf_store_service_set(s, c[i].name, thumb, err) == -1 ||
		    (c[i].here &&
			cf_store_service_deployed(s, c[i].name, err) == -1))
			return -1;
	return audit_changes(s, actor, thumb, c, n, err);
}

static void
changes_free(struct change *c, size_t n)
{
	size_t i;

	for (i = 0; c != NULL && i < n; i++)
		free(c[i].deployed);
	free(c);
}

/* The intent of each change, inside the caller's transaction. */
static int
intents_put(struct cf_store *s, const char *actor, const char *thumb,
    const struct change *c, size_t n, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cf_store_deploy_intent(s, c[i].name, thumb, actor, err) ==
		    -1)
			return -1;
	return 0;
}

int
cf_services_assign(struct cf_store *s, const struct cf_assign *a,
    struct cf_rollout **ro, char **outcome, struct cf_error *err)
{
	const struct cf_services *conf = cf_store_services(s);
	struct cf_material m = {0};
	struct cf_rollout *r;
	struct change *c = NULL;
	struct cf_row row;
	size_t n = 0;
	int rc = -1, found;

	*ro = NULL;
	memset(&row, 0, sizeof(row));
	if ((found = cf_store_fetch(s, a->thumb, &row, err)) != 1) {
		if (found == 0)
			cf_errorf(err, CF_E_NOTFOUND,
			    "%.8s: no such "
			    "certificate",
			    a->thumb);
		goto out;
	}
	if (!row.has_key) {
		cf_errorf(err, CF_E_DENIED,
		    "%.8s: the store has no private key for this certificate, "
		    "so no service can present it; import it with its key",
		    a->thumb);
		goto out;
	}
	if (owners_ok(s, a, err) == -1 ||
	    cf_material_load(s, &row, 1, &m, err) == -1 ||
	    can_serve(s, &row, &m, err) == -1 ||
	    (!a->force && names_ok(conf, &row, &m, a->list, err) == -1) ||
	    changes_new(s, a->list, &c, &n, err) == -1)
		goto out;
	if (a->d == NULL) {
		/* Nothing to deploy: all of it now, in the caller's
		 * transaction. */
		if (record_changes(s, a->actor, a->thumb, c, n, err) == -1)
			goto out;
		if (outcome != NULL)
			*outcome = outcome_lines(c, n);
		rc = 0;
		goto out;
	}
	if (intents_put(s, a->actor, a->thumb, c, n, err) == -1)
		goto out;
	r = xcalloc(1, sizeof(*r));
	r->actor = xstrdup(a->actor ? a->actor : "");
	memcpy(r->thumb, row.f.thumbprint, sizeof(r->thumb));
	r->row = row;
	r->m = m;
	r->c = c;
	r->n = n;
	r->d = a->d;
	memset(&row, 0, sizeof(row));
	memset(&m, 0, sizeof(m));
	c = NULL;
	n = 0;
	*ro = r;
	rc = 0;
out:
	changes_free(c, n);
	cf_material_clear(&m);
	cf_row_clear(&row);
	return rc;
}

/*
 * The deployment failed, or its outcome could not be committed: the
 * intents go and the failure is audited, in one transaction (outside
 * one, each on its own, when that cannot begin).
 */
static void
rollout_failed(
    struct cf_store *s, const struct cf_rollout *r, const struct cf_error *why)
{
	struct cf_error e;
	size_t i;
	int tx;

	cf_error_clear(&e);
	tx = cf_store_begin(s, &e) == 0;
	for (i = 0; i < r->n; i++)
		cf_store_deploy_done(s, r->c[i].name, &e);
	cf_audit_failure(s, r->actor, "enable", r->thumb, why);
	if (tx)
		cf_store_commit(s, &e);
}

/* The certificate is still there to be assigned (not removed meanwhile). */
static int
still_there(struct cf_store *s, const char *thumb, struct cf_error *err)
{
	int in_end = 0, in_chain = 0;

	if (cf_store_where(s, thumb, &in_end, &in_chain, err) == -1)
		return -1;
	if (!in_end)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%.8s: removed while it was being deployed", thumb);
	return 0;
}

int
cf_rollout_run(struct cf_store *s, struct cf_rollout *r, char **outcome,
    struct cf_error *err)
{
	size_t i;

	if (deploy_all(r->d, cf_store_services(s), &r->row, &r->m, r->c, r->n,
		err) == -1) {
		rollout_failed(s, r, err);
		return -1;
	}
	if (cf_store_begin(s, err) == -1 ||
	    still_there(s, r->thumb, err) == -1 ||
	    prevs_read(s, r->c, r->n, err) == -1 ||
	    record_changes(s, r->actor, r->thumb, r->c, r->n, err) == -1)
		goto fail;
	for (i = 0; i < r->n; i++)
		if (cf_store_deploy_done(s, r->c[i].name, err) == -1)
			goto fail;
	if (cf_store_commit(s, err) == -1)
		goto fail;
	if (outcome != NULL)
		*outcome = outcome_lines(r->c, r->n);
	return 0;
fail:
	cf_store_rollback(s);
	cf_deploy_abort(r->d, err);
	rollout_failed(s, r, err);
	return -1;
}

void
cf_rollout_free(struct cf_rollout *r)
{
	if (r == NULL)
		return;
	changes_free(r->c, r->n);
	cf_material_clear(&r->m);
	cf_row_clear(&r->row);
	free(r->actor);
	free(r);
}
