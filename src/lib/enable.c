/*
 * enable.c - assigning services to a certificate, and deploying it to
 * those this host configures (Enable-ExchangeCertificate).
 *
 * The order matters: every check that can refuse runs before anything
 * changes (the store or a service's files); then the store records the
 * assignment inside the caller's transaction; then each configured
 * service gets the certificate (deploy.h).  A deployment that fails has
 * already put its service back; the ones before it are undone here, and
 * the caller's transaction rolls the store back.
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
	joined = *text && **text ? xasprintf("%s\n%s", *text, line)
				 : xstrdup(line);
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
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(
				      m->chain, i)),
		    name, sizeof(name));
		cf_errorf(err, CF_E_DENIED,
		    "%.8s (%s): its issuer %s is out of its dates; import the "
		    "CA's current certificate",
		    row->f.thumbprint, who(row), name);
	} else if (strcmp(status, "Valid") != 0 && !cf_cert_self_signed(top)) {
		X509_NAME_oneline(X509_get_issuer_name(top), name, sizeof(name));
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
		    row->f.thumbprint, row->f.domains[0] ? row->f.domains : "none",
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
	char *deployed;		     /* what its deployment did, or NULL */
};

/*
 * Deploys to every configured service of the n changes (their deployed
 * is what it did), or undoes them all; the store records each that got
 * it.
 */
static int
deploy_all(struct cf_store *s, struct cf_deploy *d,
    const struct cf_services *conf,
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
		} else if (cf_store_service_deployed(s, c[i].name, err) == -1) {
			cf_deploy_abort(d, err);
			goto out;
		}
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
			taken = xasprintf("assigned, taken from %.8s",
			    c[i].prev);
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

/* The services of the canonical list as changes, their owners read. */
static int
changes_new(struct cf_store *s, const char *list, struct change **out,
    size_t *n, struct cf_error *err)
{
	char *copy = xstrdup(list), *svc, *save = NULL;
	struct change *c = xcalloc(strlen(list) / 2 + 2, sizeof(*c));
	int rc = -1;

	*n = 0;
	for (svc = strtok_r(copy, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save)) {
		snprintf(c[*n].name, sizeof(c[*n].name), "%s", svc);
		if (cf_store_service_owner(s, svc, c[*n].prev, err) == -1)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	*out = c;
	free(copy);
	return rc;
}

static void
changes_free(struct change *c, size_t n)
{
	size_t i;

	for (i = 0; c != NULL && i < n; i++)
		free(c[i].deployed);
	free(c);
}

int
cf_services_assign(struct cf_store *s, const struct cf_assign *a,
    char **outcome, struct cf_error *err)
{
	const struct cf_services *conf = cf_store_services(s);
	struct cf_material m = {0};
	struct change *c = NULL;
	struct cf_row row;
	size_t n = 0, i;
	int rc = -1, found;

	memset(&row, 0, sizeof(row));
	if ((found = cf_store_fetch(s, a->thumb, &row, err)) != 1) {
		if (found == 0)
			cf_errorf(err, CF_E_NOTFOUND, "%.8s: no such "
						      "certificate", a->thumb);
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
	for (i = 0; i < n; i++)
		if (cf_store_service_set(s, c[i].name, a->thumb, err) == -1)
			goto out;
	if (a->d != NULL &&
	    deploy_all(s, a->d, conf, &row, &m, c, n, err) == -1)
		goto out;
	if (audit_changes(s, a->actor, a->thumb, c, n, err) == -1) {
		cf_deploy_abort(a->d, err);
		goto out;
	}
	if (outcome != NULL)
		*outcome = outcome_lines(c, n);
	rc = 0;
out:
	changes_free(c, n);
	cf_material_clear(&m);
	cf_row_clear(&row);
	return rc;
}
