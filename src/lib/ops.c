/*
 * ops.c - get, new self-signed, enable, disable, replace and remove.
 * Import lives in import.c, export in export.c.  Each operation is one
 * transaction and audits its outcome, failures included.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "deploy.h"
#include "identity.h"
#include "ops.h"
#include "service.h"
#include "status.h"
#include "util.h"

void
cf_views_free(struct cf_view *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].subject);
		free(v[i].issuer);
		free(v[i].friendly_name);
		free(v[i].serial);
		free(v[i].key_type);
		free(v[i].services);
		free(v[i].domains);
		free(v[i].chain);
	}
	free(v);
}

/* Moves the strings of row r into view v (r is cleared after). */
static void
view_from_row(struct cf_view *v, struct cf_row *r)
{
	memcpy(v->thumbprint, r->f.thumbprint, sizeof(v->thumbprint));
	v->subject = r->f.subject;
	v->issuer = r->f.issuer;
	v->serial = r->f.serial;
	v->key_type = r->f.key_type;
	v->domains = r->f.domains;
	v->friendly_name = r->friendly_name;
	v->services = r->services;
	r->f.subject = r->f.issuer = r->f.serial = r->f.key_type = NULL;
	r->f.domains = r->friendly_name = r->services = NULL;
	v->exportable = r->exportable;
	v->has_key = r->has_key;
	v->self_signed = r->f.self_signed;
	v->not_before = r->f.not_before;
	v->not_after = r->f.not_after;
}

/* A pending request as `get` shows it: Status PendingRequest. */
static void
view_from_request(struct cf_view *v, struct cf_request *r)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->thumbprint, r->thumbprint, sizeof(v->thumbprint));
	v->subject = r->subject;
	v->key_type = r->key_type;
	v->domains = r->domains;
	v->friendly_name = r->friendly_name;
	r->subject = r->key_type = r->domains = r->friendly_name = NULL;
	v->issuer = xstrdup("");
	v->serial = xstrdup("");
	v->services = xstrdup("");
	v->chain = xstrdup("");
	v->status = "PendingRequest";
	v->exportable = r->exportable;
	v->has_key = 1;
}

static int
cmp_view(const void *a, const void *b)
{
	return strcmp(((const struct cf_view *)a)->thumbprint,
	    ((const struct cf_view *)b)->thumbprint);
}

/*
 * Adds the pending requests (thumb NULL: all, sorted in among the
 * certificates) to *views.
 */
static int
add_requests(struct cf_store *s, const char *thumb, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_request *r = NULL;
	size_t nr = 0, i;

	if (cf_store_request_list(s, thumb, 0, &r, &nr, err) == -1)
		return -1;
	if (nr > 0) {
		*views = xrealloc(*views, (*n + nr + 1) * sizeof(**views));
		for (i = 0; i < nr; i++)
			view_from_request(&(*views)[(*n)++], &r[i]);
		qsort(*views, *n, sizeof(**views), cmp_view);
	}
	cf_requests_free(r, nr);
	return 0;
}

int
cf_op_get(struct cf_store *s, const char *arg, struct cf_view **views,
    size_t *n, struct cf_error *err)
{
	struct cf_status_ctx *ctx = NULL;
	struct cf_row *rows = NULL, *list = NULL;
	char thumb[CF_THUMB_LEN + 1];
	size_t nrows = 0, nlist = 0, i;
	time_t now = time(NULL);
	int rc = -1;

	*views = NULL;
	*n = 0;
	/* One read transaction: rows and links seen as of one moment. */
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (arg != NULL && cf_store_resolve(s, arg, thumb, err) == -1)
		goto out;
	if ((ctx = cf_status_ctx_new(s, err)) == NULL)
		goto out;
	if (arg != NULL) {
		if (cf_store_list(s, CF_END, thumb, 0, &rows, &nrows, err) ==
		    -1)
			goto out;
		list = rows;
	} else
		list = cf_status_ctx_ends(ctx, &nlist); /* read once, not twice */
	if (arg != NULL)
		nlist = nrows;
	*views = xcalloc(nlist + 1, sizeof(**views));
	/* A row's status is computed before its strings move to the view;
	 * status needs only thumbprints, links and dates of other rows. */
	for (i = 0; i < nlist; i++) {
		(*views)[i].status =
		    cf_status_of(ctx, &list[i], now, &(*views)[i].chain);
		view_from_row(&(*views)[i], &list[i]);
	}
	*n = nlist;
	if ((arg == NULL || nlist == 0) &&
	    add_requests(s, arg ? thumb : NULL, views, n, err) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		cf_views_free(*views, *n);
		*views = NULL;
		*n = 0;
	}
	cf_store_rollback(s);
	cf_status_ctx_free(ctx);
	cf_rows_free(rows, nrows);
	return rc;
}

/*
 * New-ExchangeCertificate without -GenerateRequest: a key and a
 * self-signed certificate, stored by the import path so nothing about
 * storing them is written twice.
 */
int
cf_op_new_self_signed(struct cf_store *s,
    const struct cf_selfsigned_opts *opts, struct cf_import_result **res,
    size_t *nres, struct cf_error *err)
{
	struct cf_import_opts io;
	struct cf_input in;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long len;
	int rc = -1, imported = 0;

	*res = NULL;
	*nres = 0;
	if (opts->subject == NULL || opts->subject[0] == '\0') {
		cf_errorf(err, CF_E_USAGE, "a subject is needed "
					   "(--subject CN=name)");
		goto out;
	}
	if (opts->days < 0 || opts->days > 36500) {
		cf_errorf(err, CF_E_USAGE, "%d days: give 1 to 36500 days",
		    opts->days);
		goto out;
	}
	if ((key = cf_key_generate(opts->key ? opts->key : "rsa2048", err)) ==
		NULL ||
	    (cert = cf_selfsigned_new(key, opts->subject, opts->domains,
		 opts->days ? opts->days : 365, 0, err)) == NULL)
		goto out;
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		abort();
	if (!PEM_write_bio_X509(bio, cert) ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot encode the new key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &pem);
	memset(&io, 0, sizeof(io));
	io.actor = opts->actor;
	io.exportable = opts->exportable;
	io.friendly_name = opts->friendly_name;
	io.services = opts->services;
	io.force = opts->force;
	io.op = "new-self-signed";
	in.name = "new self-signed certificate";
	in.data = (const unsigned char *)pem;
	in.len = (size_t)len;
	imported = 1;
	rc = cf_op_import(s, &in, 1, &io, res, nres, err);
out:
	/* cf_op_import audits its own outcome; a refusal before it is
	 * audited here, as every failed command is. */
	if (rc == -1 && !imported && err != NULL)
		cf_audit_failure(s, opts->actor, "new-self-signed", "", err);
	BIO_free(bio); /* secure memory: wiped */
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

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

/*
 * Runs fn inside a transaction on the certificate arg names; a failure is
 * rolled back and audited.
 */
static int
with_cert(struct cf_store *s, const char *actor, const char *op,
    const char *arg, char *thumb_out,
    int (*fn)(struct cf_store *, const struct cf_row *, void *,
	char **outcome, struct cf_error *),
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

struct svc_args {
	const char *actor;
	const char *services;
	int force;
	struct cf_deploy *d;
	struct cf_rollout *ro; /* what is to deploy once committed */
	char *detail; /* what each service did, lines */
	const char *old; /* replace: the certificate the services leave */
	char *moved;	 /* replace: the services moved */
};

/* Services to the certificate r; cf_services_assign audits them. */
static int
do_enable(struct cf_store *s, const struct cf_row *r, void *ctx,
    char **outcome, struct cf_error *err)
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
		cf_errorf(err, CF_E_NOTFOUND, "%s: no such certificate",
		    a->old);
	else if (strcmp(old, r->f.thumbprint) == 0)
		cf_errorf(err, CF_E_USAGE,
		    "%.8s: the old and the new certificate are the same",
		    old);
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
			 : cf_services_assign(s, &as, &a->ro, &a->detail,
			       err);
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

static int
do_remove(struct cf_store *s, const struct cf_row *r, void *ctx,
    char **outcome, struct cf_error *err)
{
	int force = *(int *)ctx;

	if (r->services[0] != '\0' && !force)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%.8s: still assigned to %s; disable those services "
		    "first, or use --force",
		    r->f.thumbprint, r->services);
	*outcome = xstrdup(r->services[0] ? "removed (services released)"
					  : "removed");
	return cf_store_delete(s, r->f.thumbprint, err);
}

/*
 * An operation on services (enable, replace): fn records the assignment,
 * or its intent, in with_cert's transaction; the rollout then deploys
 * with no transaction held and commits the outcome (enable.c).  Where
 * services are configured the deploy lock is held throughout, so two
 * never interleave; readers and other writers never wait for it.
 */
static int
with_services(struct cf_store *s, const char *actor, const char *arg,
    char *thumb,
    int (*fn)(struct cf_store *, const struct cf_row *, void *,
	char **outcome, struct cf_error *),
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
	if (with_cert(s, actor, "enable", arg, thumb, fn, a, err) == 0 &&
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

	return with_cert(s, actor, "disable", arg, thumb, do_disable, &a, err);
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
cf_op_remove(struct cf_store *s, const char *actor, const char *arg,
    int force, char *thumb, struct cf_error *err)
{
	int rc = remove_request(s, actor, arg, thumb, err);

	if (rc != 0)
		return rc == 1 ? 0 : -1;
	return with_cert(s, actor, "remove", arg, thumb, do_remove, &force,
	    err);
}
