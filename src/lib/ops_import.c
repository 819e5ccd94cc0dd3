/*
 * ops_import.c - cf_op_import: every certificate of every input file, with
 * its private key and chain, in one transaction.
 *
 * A file's certificates sort into leaves (a certificate with its key, or
 * one that issued nothing else in the file) and chain certificates (the
 * issuers of others).  Keys pair with certificates by public key, never by
 * localKeyID or friendly name, which real files get wrong.  Each stored
 * certificate records which stored certificate's key verified its
 * signature, so Status never needs to verify it again.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "deploy.h"
#include "ops_import_parse.h"
#include "ops.h"
#include "service.h"
#include "store.h"
#include "util.h"

#define MAX_DEPTH 16

struct import {
	struct cf_store *store;
	const struct cf_import_opts *opts;
	const char *file;
	struct cf_bundle *b;
	char *services; /* canonical list, or NULL */
	char *skipped;  /* services this host has not (skip_missing) */
	struct cf_import_result *res;
	size_t nres;
	char keyed[CF_THUMB_LEN +
		   1]; /* the leaf with a key --services goes to */
	size_t nkeyed;
	struct cf_deploy *d;   /* deployments, with the deploy lock */
	struct cf_rollout *ro; /* to deploy once the import committed */
	char *detail;          /* what the services did */
	int assigning;         /* a failure now is the services' */
};

/* The PKCS#8 DER of key as a secret (wiped on free). */
static struct cf_secret *
key_der_new(EVP_PKEY *key, struct cf_error *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *der = NULL;
	struct cf_secret *s;
	int n;

	if (p8 == NULL || (n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		cf_errorf_ossl(err, CF_E_UNSUPPORTED,
		    "the private key cannot be encoded as PKCS#8");
		return NULL;
	}
	s = cf_secret_new(der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return s;
}

/*
 * What cand is to child: CF_SIG_OK when it issued it (names, key
 * identifiers and key usage fit and its key verifies the signature),
 * CF_SIG_BAD when it claims to (all fit) but the signature fails, and
 * CF_SIG_UNKNOWN when it is not child's issuer at all (a CA of the same
 * name with another key, as after a key rollover).
 */
static int
judge(X509 *child, X509 *cand)
{
	int named = X509_check_issued(cand, child) == X509_V_OK;

	ERR_clear_error();
	if (!named)
		return CF_SIG_UNKNOWN;
	return cf_cert_issued_by(child, cand) ? CF_SIG_OK : CF_SIG_BAD;
}

/*
 * Finds cert's issuer: first among the file's certificates, then the
 * store's.  *issuer_file gets the file's issuer (borrowed) when it came
 * from the file.  signed_by/state as cf_store_link takes them.
 */
static int
find_issuer(struct import *im, X509 *cert, const char *issuer_name,
    X509 **issuer_file, char signed_by[CF_THUMB_LEN + 1], int *state,
    struct cf_error *err)
{
	struct cf_row *rows = NULL;
	size_t n = 0, i;
	int j;

	*issuer_file = NULL;
	signed_by[0] = '\0';
	*state = CF_SIG_UNKNOWN;
	for (j = 0; j < sk_X509_num(im->b->certs); j++) {
		X509 *cand = sk_X509_value(im->b->certs, j);
		int v = cand == cert ? CF_SIG_UNKNOWN : judge(cert, cand);
		if (v == CF_SIG_UNKNOWN || (v == CF_SIG_BAD && *state != 0))
			continue;
		cf_cert_thumbprint(cand, signed_by);
		*state = v;
		if (v == CF_SIG_OK) {
			*issuer_file = cand;
			return 0;
		}
	}
	if (cf_store_by_subject(im->store, issuer_name, &rows, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		X509 *cand =
		    cf_cert_from_der(rows[i].der, rows[i].der_len, NULL);
		int v = cand != NULL ? judge(cert, cand) : CF_SIG_UNKNOWN;
		X509_free(cand);
		if (v == CF_SIG_UNKNOWN || (v == CF_SIG_BAD && *state != 0))
			continue;
		snprintf(
		    signed_by, CF_THUMB_LEN + 1, "%s", rows[i].f.thumbprint);
		*state = v;
		if (v == CF_SIG_OK)
			break;
	}
	cf_rows_free(rows, n);
	return 0;
}

/* Links stored certificates still waiting for an issuer to cert. */
static int
adopt_orphans(struct import *im, X509 *cert, const struct cf_certfacts *f,
    struct cf_error *err)
{
	struct cf_row *rows = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (cf_store_unlinked_by_issuer(
		im->store, f->subject, &rows, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		X509 *child =
		    cf_cert_from_der(rows[i].der, rows[i].der_len, NULL);
		int v = child != NULL ? judge(child, cert) : CF_SIG_UNKNOWN;
		X509_free(child);
		/* A verified link replaces a failed one; a failure is recorded
		 * only where nothing was known. */
		if (strcmp(rows[i].f.thumbprint, f->thumbprint) == 0 ||
		    v == CF_SIG_UNKNOWN ||
		    (v == CF_SIG_BAD && rows[i].sig_state != CF_SIG_UNKNOWN))
			continue;
		if (cf_store_link(im->store, rows[i].table,
			rows[i].f.thumbprint, f->thumbprint, v, err) == -1)
			goto out;
	}
	rc = 0;
out:
	cf_rows_free(rows, n);
	return rc;
}

/*
 * Stores cert in table (with its issuers from the file, as chain
 * certificates, recursively) unless it is already there.
 */
static int
store_cert(struct import *im, X509 *cert, enum cf_table table, int depth,
    struct cf_error *err)
{
	struct cf_row r;
	X509 *issuer = NULL;
	int in_end, in_chain, rc = -1;

	memset(&r, 0, sizeof(r));
	cf_cert_thumbprint(cert, r.f.thumbprint);
	if (cf_store_where(
		im->store, r.f.thumbprint, &in_end, &in_chain, err) == -1)
		return -1;
	/* A chain certificate is wanted once, in either table. */
	if (table == CF_END ? in_end : (in_end || in_chain))
		return 0;
	if (cf_certfacts_read(cert, &r.f, err) == -1)
		return -1;
	r.table = table;
	if (r.f.self_signed)
		r.sig_state = CF_SIG_OK;
	else if (X509_NAME_cmp(X509_get_subject_name(cert),
		     X509_get_issuer_name(cert)) == 0)
		r.sig_state =
		    CF_SIG_BAD; /* self-issued, self-signature fails */
	else if (find_issuer(im, cert, r.f.issuer, &issuer, r.signed_by,
		     &r.sig_state, err) == -1)
		goto out;
	if (cf_cert_to_der(cert, &r.der, &r.der_len) == -1) {
		cf_errorf(err, CF_E_PARSE, "%s: certificate cannot be encoded",
		    im->file);
		goto out;
	}
	r.friendly_name = xstrdup("");
	/* Stored before its issuer, so an issuer cycle in the file ends
	 * where the walk meets a certificate already stored. */
	if (cf_store_insert(im->store, &r, err) == -1)
		goto out;
	if (issuer != NULL && depth < MAX_DEPTH &&
	    store_cert(im, issuer, CF_CHAIN, depth + 1, err) == -1)
		goto out;
	if (adopt_orphans(im, cert, &r.f, err) == -1)
		goto out;
	rc = 0;
out:
	cf_row_clear(&r);
	return rc;
}

/*
 * --services goes to the one certificate of the import that holds a
 * private key (the one a service can present); with none, or several,
 * the import says so rather than guess.
 */
static int
assign_services(struct import *im, struct cf_error *err)
{
	struct cf_assign a = {
	    .actor = im->opts->actor,
	    .thumb = im->keyed,
	    .list = im->services,
	    .force = im->opts->force,
	    .d = im->d,
	};

	if (im->services == NULL)
		return 0;
	if (im->nkeyed == 0)
		return cf_errorf(err, CF_E_DENIED,
		    "--services %s: no certificate imported here has a private "
		    "key, so no service can present it",
		    im->services);
	if (im->nkeyed > 1)
		return cf_errorf(err, CF_E_USAGE,
		    "--services %s: %zu certificates with private keys are "
		    "imported; import them one at a time, or enable the one "
		    "that serves afterwards",
		    im->services, im->nkeyed);
	im->assigning = 1;
	return cf_services_assign(im->store, &a, &im->ro, &im->detail, err);
}

static void
add_result(struct import *im, const char *thumb, const char *what)
{
	struct cf_import_result *r;

	im->res = xrealloc(im->res, (im->nres + 1) * sizeof(*im->res));
	r = &im->res[im->nres++];
	memset(r, 0, sizeof(*r));
	snprintf(r->thumbprint, sizeof(r->thumbprint), "%s", thumb);
	r->what = what;
}

/*
 * Gives an already stored certificate the chain the file brings, when the
 * store did not know its issuer yet.
 */
static int
complete_chain(struct import *im, X509 *cert, const struct cf_row *row,
    struct cf_error *err)
{
	char signed_by[CF_THUMB_LEN + 1];
	X509 *issuer = NULL;
	int state;

	if (row->signed_by[0] != '\0' || row->f.self_signed)
		return 0;
	if (find_issuer(
		im, cert, row->f.issuer, &issuer, signed_by, &state, err) == -1)
		return -1;
	if (issuer != NULL && store_cert(im, issuer, CF_CHAIN, 1, err) == -1)
		return -1;
	if (state == CF_SIG_UNKNOWN)
		return 0;
	return cf_store_link(
	    im->store, CF_END, row->f.thumbprint, signed_by, state, err);
}

/* Imports one leaf certificate with key (may be NULL). */
static int
import_leaf(struct import *im, X509 *cert, EVP_PKEY *key, struct cf_error *err)
{
	struct cf_row *rows = NULL;
	struct cf_secret *der = NULL;
	char thumb[CF_THUMB_LEN + 1];
	const char *what = "imported", *alias;
	size_t n = 0;
	int rc = -1, had_key = 0, existed;

	cf_cert_thumbprint(cert, thumb);
	if (cf_store_list(im->store, CF_END, thumb, 0, &rows, &n, err) == -1)
		return -1;
	existed = n == 1;
	had_key = existed && rows[0].has_key;
	if (!existed && store_cert(im, cert, CF_END, 0, err) == -1)
		goto out;
	if (existed && complete_chain(im, cert, &rows[0], err) == -1)
		goto out;
	if (existed)
		what = key != NULL && !had_key ? "key attached"
					       : "already present";
	if (key != NULL && !had_key) {
		if ((der = key_der_new(key, err)) == NULL ||
		    cf_store_key_put(im->store, thumb,
			(unsigned char *)der->data, der->len, err) == -1)
			goto out;
	}
	if (!existed || (key != NULL && !had_key)) {
		alias = im->opts->friendly_name;
		if (alias == NULL && existed)
			alias = rows[0].friendly_name;
		if (alias == NULL)
			alias = (const char *)X509_alias_get0(cert, NULL);
		if (alias == NULL)
			alias = "";
		if (cf_store_set_flags(im->store, thumb, alias,
			key != NULL && im->opts->exportable, err) == -1)
			goto out;
	}
	if (key != NULL || had_key) {
		if (im->nkeyed == 0 || strcmp(im->keyed, thumb) != 0)
			im->nkeyed++;
		snprintf(im->keyed, sizeof(im->keyed), "%s", thumb);
	}
	add_result(im, thumb, what);
	rc = 0;
out:
	cf_secret_free(der);
	cf_rows_free(rows, n);
	return rc;
}

/* The index of the certificate key belongs to, or -1. */
static int
cert_for_key(struct cf_bundle *b, EVP_PKEY *key)
{
	int j;

	for (j = 0; j < sk_X509_num(b->certs); j++) {
		EVP_PKEY *pub = X509_get0_pubkey(sk_X509_value(b->certs, j));
		if (pub != NULL && EVP_PKEY_eq(pub, key) == 1)
			return j;
	}
	ERR_clear_error();
	return -1;
}

/* 1 when cert issued another certificate of the file. */
static int
issued_other(struct cf_bundle *b, X509 *cert)
{
	int j;

	for (j = 0; j < sk_X509_num(b->certs); j++) {
		X509 *other = sk_X509_value(b->certs, j);
		if (other != cert && X509_cmp(other, cert) != 0 &&
		    cf_cert_issued_by(other, cert))
			return 1;
	}
	return 0;
}

/* A key matching no certificate in the file: attach it to a stored one. */
static int
import_lone_key(struct import *im, EVP_PKEY *key, struct cf_error *err)
{
	struct cf_row *rows = NULL;
	char spki[65], thumb[CF_THUMB_LEN + 1];
	size_t n = 0;
	X509 *cert = NULL;
	int rc = -1;

	if (cf_key_spki(key, spki) == -1 ||
	    cf_store_by_spki(im->store, spki, thumb, err) == -1)
		return -1;
	if (thumb[0] == '\0')
		return cf_errorf(err, CF_E_MISMATCH,
		    "%s: the private key matches no certificate in the file "
		    "or the store; import it together with its certificate",
		    im->file);
	if (cf_store_list(im->store, CF_END, thumb, 1, &rows, &n, err) == -1)
		return -1;
	if (n == 1 && (cert = cf_cert_from_der(
			   rows[0].der, rows[0].der_len, err)) != NULL)
		rc = import_leaf(im, cert, key, err);
	X509_free(cert);
	cf_rows_free(rows, n);
	return rc;
}

static int
import_bundle(struct import *im, struct cf_error *err)
{
	struct cf_bundle *b = im->b;
	int *keyof, j, rc = -1, nleaves = 0;
	size_t k;

	keyof = xcalloc((size_t)sk_X509_num(b->certs) + 1, sizeof(int));
	for (j = 0; j < sk_X509_num(b->certs); j++)
		keyof[j] = -1;
	for (k = 0; k < b->nkeys; k++) {
		j = cert_for_key(b, b->keys[k]);
		if (j >= 0)
			keyof[j] = (int)k;
		else if (sk_X509_num(b->certs) > 0 && b->nkeys == 1 &&
			 !b->was_pkcs12) {
			cf_errorf(err, CF_E_MISMATCH,
			    "%s: the private key does not match the "
			    "certificate%s in the file",
			    im->file, sk_X509_num(b->certs) > 1 ? "s" : "");
			goto out;
		} else if (import_lone_key(im, b->keys[k], err) == -1)
			goto out;
	}
	for (j = 0; j < sk_X509_num(b->certs); j++) {
		X509 *cert = sk_X509_value(b->certs, j);
		if (keyof[j] < 0 && issued_other(b, cert))
			continue; /* a chain certificate */
		nleaves++;
		if (import_leaf(im, cert,
			keyof[j] >= 0 ? b->keys[keyof[j]] : NULL, err) == -1)
			goto out;
	}
	if (nleaves == 0 && b->nkeys == 0) {
		cf_errorf(
		    err, CF_E_PARSE, "%s: no certificate found", im->file);
		goto out;
	}
	rc = 0;
out:
	free(keyof);
	return rc;
}

/*
 * opts->services as a canonical list into *list (NULL when none is
 * left).  With skip_missing, the names this host has no service for go
 * into *skipped (as given, comma-separated; NULL when none) instead of
 * failing: a copy assigns the services a target has.
 */
static int
parse_services(struct cf_store *s, const struct cf_import_opts *opts,
    char **list, char **skipped, struct cf_error *err)
{
	const struct cf_services *conf = cf_store_services(s);
	char *copy, *tok, *save = NULL, *known = NULL, *joined;
	char canon[CF_SERVICE_NAME_MAX];
	struct cf_error why;
	int rc = -1;

	*list = NULL;
	*skipped = NULL;
	if (!opts->skip_missing)
		return cf_services_parse(conf, opts->services, list, err);
	copy = xstrdup(opts->services);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		char **to = &known;
		if (cf_service_canon(conf, tok, canon, &why) == -1) {
			if (why.code != CF_E_NOTFOUND) {
				*err = why;
				goto out;
			}
			to = skipped;
		}
		joined = *to ? xasprintf("%s,%s", *to, tok) : xstrdup(tok);
		free(*to);
		*to = joined;
	}
	rc = known ? cf_services_parse(conf, known, list, err) : 0;
out:
	free(known);
	free(copy);
	return rc;
}

void
cf_import_results_free(struct cf_import_result *r, size_t n)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++) {
		free(r[i].services);
		free(r[i].detail);
		free(r[i].skipped);
	}
	free(r);
}

/* Fills each result's services as they stand after the import. */
static int
result_services(struct import *im, struct cf_error *err)
{
	size_t i, n;
	struct cf_row *rows;

	for (i = 0; i < im->nres; i++) {
		if (cf_store_list(im->store, CF_END, im->res[i].thumbprint, 0,
			&rows, &n, err) == -1)
			return -1;
		im->res[i].services = xstrdup(n == 1 ? rows[0].services : "");
		if (im->detail != NULL &&
		    strcmp(im->res[i].thumbprint, im->keyed) == 0) {
			im->res[i].detail = im->detail;
			im->detail = NULL;
		}
		/* The skipped services go with the certificate they were
		 * asked for: the one with a key, else the first. */
		if (im->skipped != NULL &&
		    (strcmp(im->res[i].thumbprint, im->keyed) == 0 ||
			(i == im->nres - 1 && im->nkeyed == 0))) {
			im->res[i].skipped = im->skipped;
			im->skipped = NULL;
		}
		cf_rows_free(rows, n);
	}
	return 0;
}

/* The import stands: say so before why its services did not change. */
static void
rollout_failed(const struct import *im, struct cf_error *err)
{
	cf_error_prefix(err,
	    "%.8s is imported; its services were left as they were: ",
	    im->keyed);
}

/*
 * With services to deploy, the deploy lock is held from before the
 * import's transaction to the rollout's outcome (ops_assign.c): the
 * certificates are committed first, then deployed with no transaction
 * held.  A deployment that fails leaves them imported (audited so) and
 * the services where they were (the rollout audits that failure).
 */
int
cf_op_import(struct cf_store *s, const struct cf_input *in, size_t n,
    const struct cf_import_opts *opts, struct cf_import_result **res,
    size_t *nres, struct cf_error *err)
{
	struct cf_bundle **bundles = xcalloc(n + 1, sizeof(*bundles));
	const char *op = opts->op ? opts->op : "import";
	struct cf_store_lock *lock = NULL;
	struct import im;
	size_t i;
	int rc = -1, began = 0, committed = 0;

	*res = NULL;
	*nres = 0;
	memset(&im, 0, sizeof(im));
	im.store = s;
	im.opts = opts;
	if (opts->services != NULL &&
	    parse_services(s, opts, &im.services, &im.skipped, err) == -1)
		goto out;
	/* Parse everything first: a bad file fails before any change. */
	if (cf_import_parse_all(in, n, opts, bundles, err) == -1)
		goto out;
	if (im.services != NULL &&
	    cf_services_count(cf_store_services(s)) > 0) {
		if ((lock = cf_store_deploy_lock(s, err)) == NULL)
			goto out;
		im.d = cf_deploy_new();
	}
	if (cf_store_begin(s, err) == -1)
		goto out;
	began = 1;
	for (i = 0; i < n; i++) {
		im.file = in[i].name;
		im.b = bundles[i];
		if (import_bundle(&im, err) == -1)
			goto out;
	}
	/* The import's records first, then the services' (enable's). */
	for (i = 0; i < im.nres; i++)
		if (cf_store_audit(s, opts->actor, op, im.res[i].thumbprint,
			im.res[i].what, err) == -1)
			goto out;
	if (assign_services(&im, err) == -1 ||
	    (opts->before_commit != NULL &&
		opts->before_commit(s, opts->before_commit_ctx, err) == -1) ||
	    cf_store_commit(s, err) == -1)
		goto out;
	began = 0;
	committed = 1;
	if (im.ro != NULL && cf_rollout_run(s, im.ro, &im.detail, err) == -1) {
		rollout_failed(&im, err);
		goto out;
	}
	if (result_services(&im, err) == -1)
		goto out;
	*res = im.res;
	*nres = im.nres;
	im.res = NULL;
	im.nres = 0;
	rc = 0;
out:
	if (began)
		cf_store_rollback(s);
	cf_rollout_free(im.ro);
	cf_deploy_free(im.d);
	cf_store_lock_release(lock);
	if (rc == -1 && im.assigning && !committed) /* as enable audits */
		cf_audit_failure(s, opts->actor, "enable", im.keyed, err);
	if (rc == -1 && !committed)
		cf_audit_failure(s, opts->actor, op, "", err);
	for (i = 0; i < n; i++)
		cf_bundle_free(bundles[i]);
	free(bundles);
	free(im.services);
	free(im.skipped);
	free(im.detail);
	cf_import_results_free(im.res, im.nres);
	return rc;
}
