/*
 * ops.h - the operations of certfleet, one function each, whichever way
 * they are reached (the command line on a local store, or the agent).
 * Each runs as one store transaction: on failure the store is as it was,
 * and the failure is audited.  No argv, no terminal, no HTTP in here.
 */
#ifndef CF_OPS_H
#define CF_OPS_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "store.h"
#include "util.h"

/* One certificate as `get` shows it; strings owned. */
struct cf_view {
	char thumbprint[CF_THUMB_LEN + 1];
	char *subject, *issuer, *friendly_name, *serial, *key_type;
	char *services;     /* comma-separated */
	char *domains;      /* comma-separated */
	char *chain;        /* comma-separated thumbprints, the issuer first */
	const char *status; /* static: "Valid", "DateInvalid", ... */
	int exportable, has_key, self_signed;
	time_t not_before, not_after;
	char *strings; /* when set, the one block the strings above lie in */
};
void cf_views_free(struct cf_view *v, size_t n); /* NULL-safe */
/* Frees the strings of one view (they may share a block: never free
 * them one by one) and zeroes it. */
void cf_view_clear(struct cf_view *v);

/*
 * Every end certificate (arg NULL), or the one arg names (a thumbprint or
 * unique prefix), with Status computed now.
 */
int cf_op_get(struct cf_store *s, const char *arg, struct cf_view **views,
    size_t *n, struct cf_error *err);

/*
 * What a listing shows: arg as cf_op_get's, or (arg NULL) a page of the
 * certificates and pending requests whose thumbprints sort after after
 * (NULL: from the first), at most limit (0: no bound), sorted by
 * thumbprint; with expiring, only the certificates that expire within
 * days (or have), or with less than percent (1-100) of their lifetime
 * left (a pending request never does).  A client pages on with after =
 * the last thumbprint it got, until a page holds fewer than limit.
 */
struct cf_get_query {
	const char *arg;
	const char *after;
	size_t limit;
	int expiring;
	long days, percent;
	int rows; /* the API's reply in the rows form (msg.h) */
};
int cf_op_get_page(struct cf_store *s, const struct cf_get_query *q,
    struct cf_view **views, size_t *n, struct cf_error *err);
/*
 * cf_op_get_page's views, in the same order and the same one read
 * transaction, handed to fn(v, arg) one at a time instead of kept: v and
 * its strings are lent until fn returns, then their memory serves the
 * next, so that a listing of any size holds about a page of rows.  fn
 * returning -1 stops the listing: then -1, err left as it was (fn's
 * caller knows why).  A failure of the store after some views were
 * handed out is -1 with err.
 */
int cf_op_get_each(struct cf_store *s, const struct cf_get_query *q,
    int (*fn)(const struct cf_view *v, void *arg), void *arg,
    struct cf_error *err);

/* One input file. */
struct cf_input {
	const char *name;
	const unsigned char *data;
	size_t len;
};

struct cf_import_opts {
	const char *actor;         /* who, for the audit trail */
	const char *password;      /* NULL: none given */
	int exportable;            /* keys may be exported again */
	const char *friendly_name; /* NULL: the file's, if any */
	const char *services;      /* comma-separated, or NULL */
	int force;                 /* take services from other certificates */
	int skip_missing; /* services this host does not have are skipped
			     (listed in the result), not refused */
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
	const char *op; /* the audit's operation; NULL: "import" */
	/* Runs inside the transaction just before the commit (may be NULL):
	 * request complete deletes the request it completes. */
	int (*before_commit)(
	    struct cf_store *s, void *ctx, struct cf_error *err);
	void *before_commit_ctx;
};

struct cf_import_result {
	char thumbprint[CF_THUMB_LEN + 1];
	char *services;   /* after the import */
	const char *what; /* "imported", "already present", "key attached" */
	char *detail;     /* what the services did (--services), or NULL */
	char *skipped;    /* services skip_missing left out, or NULL */
};
void cf_import_results_free(struct cf_import_result *r, size_t n);

/*
 * Imports every certificate (and matching private key) of the n inputs,
 * all or nothing.  A file needing a password that was not given fails
 * with CF_E_PASSWORD naming the file.
 */
int cf_op_import(struct cf_store *s, const struct cf_input *in, size_t n,
    const struct cf_import_opts *opts, struct cf_import_result **res,
    size_t *nres, struct cf_error *err);

enum cf_export_format {
	CF_EXPORT_P12,     /* DER PKCS#12 */
	CF_EXPORT_P12_B64, /* PKCS#12 as Base64 text (Exchange's default) */
	CF_EXPORT_PEM,     /* full chain, then the encrypted PKCS#8 key */
};

struct cf_export_opts {
	const char *actor;
	const char *password; /* NULL only with no_key */
	enum cf_export_format format;
	int legacy;   /* 3DES + SHA-1 MAC for Windows Server 2016 and older */
	int transfer; /* a random one-time password: a low iteration count */
	int no_key;   /* certificate and chain only */
	const char *targets; /* the agents a copy goes to, comma-separated,
				as the client names them (audited); NULL */
};

/* Exports the certificate arg names into *out (caller clears). */
int cf_op_export(struct cf_store *s, const char *arg,
    const struct cf_export_opts *opts, struct cf_buf *out,
    struct cf_error *err);

struct cf_selfsigned_opts {
	const char *actor;
	const char *subject; /* "CN=…,O=…" or a bare common name */
	const char *domains; /* comma-separated DNS names, or NULL */
	const char *key; /* rsa2048 (default), rsa3072, rsa4096, p256, p384 */
	int days;        /* 0: 365 */
	const char *services; /* or NULL */
	int exportable;
	const char *friendly_name; /* or NULL */
	int force;
};

/*
 * Makes a key and a self-signed certificate and stores them as an import
 * would (New-ExchangeCertificate without -GenerateRequest).
 */
int cf_op_new_self_signed(struct cf_store *s,
    const struct cf_selfsigned_opts *opts, struct cf_import_result **res,
    size_t *nres, struct cf_error *err);

struct cf_request_opts {
	const char *actor;
	const char *subject; /* "CN=…,O=…" or a bare common name */
	const char *domains; /* comma-separated DNS names, or NULL */
	const char *key; /* rsa2048 (default), rsa3072, rsa4096, p256, p384 */
	int exportable;  /* the certificate's key will be */
	const char *friendly_name; /* or NULL */
};

/*
 * New-ExchangeCertificate -GenerateRequest: checks the names, makes the
 * key here, stores the pending request with the key sealed, and gives
 * the PKCS#10 as PEM in *pem (new) and its thumbprint (the SHA-1 of its
 * DER, 41 bytes) in thumb.  get lists it as PendingRequest.
 */
int cf_op_request_new(struct cf_store *s, const struct cf_request_opts *o,
    char **pem, char *thumb, struct cf_error *err);

/*
 * Completes the pending request whose key the CA's answer (a
 * certificate as PEM or DER, a PEM bundle or PKCS#7 with the chain) is
 * for: the certificate, its chain and the request's key become an
 * ordinary certificate, exportable as the request said, and the request
 * is gone, in one transaction.  thumb gets the certificate's thumbprint;
 * *detail (new, or NULL) a note for a renewal.  An answer for no pending
 * request is CF_E_MISMATCH naming its subject and key; one completed
 * before is CF_E_CONFLICT.
 */
int cf_op_request_complete(struct cf_store *s, const char *actor,
    const struct cf_input *answer, char *thumb, char **detail,
    struct cf_error *err);

/*
 * A new request renewing the certificate arg names: its subject, domains,
 * key type, exportable flag and friendly name; a new key, or its own with
 * keep_key.  As cf_op_request_new otherwise.  Services stay where they
 * are until the renewed certificate is enabled.
 */
int cf_op_renew(struct cf_store *s, const char *actor, const char *arg,
    int keep_key, char **pem, char *thumb, struct cf_error *err);

/*
 * Assigns the comma-separated services to the certificate arg names and
 * deploys it to those this host configures (cf_store_set_services).  A
 * service held by another certificate is CF_E_CONFLICT unless force;
 * force also passes a certificate whose names do not cover a service's.
 * *thumb (41 bytes, may be NULL) receives the full thumbprint, *detail
 * (may be NULL; new, or NULL when nothing to say) what each service did,
 * a line each.
 */
int cf_op_enable(struct cf_store *s, const char *actor, const char *arg,
    const char *services, int force, char *thumb, char **detail,
    struct cf_error *err);
/* Takes the services from the certificate arg names; files stay. */
int cf_op_disable(struct cf_store *s, const char *actor, const char *arg,
    const char *services, char *thumb, struct cf_error *err);
/* Removes a certificate; one still assigned to services needs force. */
int cf_op_remove(struct cf_store *s, const char *actor, const char *arg,
    int force, char *thumb, struct cf_error *err);

/* One service as `certfleet services` shows it; strings owned. */
struct cf_service_view {
	char name[32];
	char *kind;                      /* "nginx"; "" when not configured */
	char assigned[CF_THUMB_LEN + 1]; /* "" when none */
	char on_disk[CF_THUMB_LEN + 1];  /* leaf of the chain/pem file */
	char served[CF_THUMB_LEN + 1];   /* "" when not checked or failed */
	char *endpoint;                  /* "127.0.0.1:443 (tls, SNI …)" */
	char *check_host, *check_port;   /* "" when no check */
	const char *proto;               /* "tls", "smtp", "imap", "pop" */
	char *sni;                       /* the name asked for; "" none */
	time_t not_after; /* of the served certificate, else the assigned */
	int match;     /* 1 all agree; 0 they differ; -1 nothing to compare */
	char *problem; /* "" when all is well; else what and what to do */
};
void cf_service_views_free(struct cf_service_view *v, size_t n);

/*
 * Every service configured here or assigned in the store, sorted by name:
 * its assigned certificate, the one its files hold and, when probe, the
 * one a live handshake sees (without probe, Served is "" and Match
 * compares the files only).  Drift (files changed behind certfleet's back, a
 * reload that never happened) shows as match 0 with the reason.
 */
int cf_op_services(struct cf_store *s, int probe, struct cf_service_view **out,
    size_t *n, struct cf_error *err);

struct cf_deploy;
/* One assignment of services to a certificate (cf_services_assign). */
struct cf_assign {
	const char *actor;   /* who, for the audit trail */
	const char *thumb;   /* the certificate that gets the services */
	const char *list;    /* canonical services (cf_services_parse) */
	const char *from;    /* services held by this certificate move to thumb
				without force (replace); NULL: none */
	int force;           /* take services from any certificate, and pass
				names that do not cover a service's */
	struct cf_deploy *d; /* NULL: record only */
};

/*
 * Assigns each service of a->list to a->thumb, deploys a->thumb to each
 * one configured through a->d, and audits an "enable" record per
 * service: what it was assigned (and taken from) and what its deployment
 * did.  Refuses before any change when the certificate cannot serve: no
 * key, a key not its own, out of its dates, an incomplete or broken
 * chain, or (unless force) names that do not cover a configured
 * service's name; a service held by another certificate (not a->from) is
 * CF_E_CONFLICT unless force.  On a refusal the caller rolls back and
 * audits the failure (cf_audit_failure).
 *
 * Inside the caller's transaction.  With a->d NULL (nothing is deployed
 * here) the assignment and its audit happen there, *ro is NULL and
 * *outcome (may be NULL; new, or NULL) gets a line per service.  With
 * a->d only the intent is recorded there and *ro gets the rollout: the
 * caller runs it with cf_rollout_run once its transaction committed
 * (frees it with cf_rollout_free either way), holding the store's deploy
 * lock (cf_store_deploy_lock) from before its transaction to the end of
 * the rollout.
 */
struct cf_rollout;
int cf_services_assign(struct cf_store *s, const struct cf_assign *a,
    struct cf_rollout **ro, char **outcome, struct cf_error *err);
/*
 * Deploys the rollout, outside any transaction, then commits its outcome
 * in a short one: the assignments, the deployed flags, the audit, the
 * intent ended.  A failed deployment has undone the others; then the
 * intent is ended and the failure audited ("enable", "failed: ...")
 * here, the assignments unchanged, and -1 with err.  *outcome as
 * cf_services_assign's.
 */
int cf_rollout_run(struct cf_store *s, struct cf_rollout *ro, char **outcome,
    struct cf_error *err);
void cf_rollout_free(struct cf_rollout *ro); /* NULL-safe */
/*
 * At the agent's start, before it serves: resolves each deployment the
 * store records as under way (an agent that died mid-deployment), with
 * the deploy lock held.  The assignments never changed (they change with
 * the outcome), but the service's files may hold the new certificate:
 * when the service had a certificate that is still in the store, it is
 * deployed again (files, test, reload, check; "unchanged" when they
 * already hold it); when it had none and its files hold the new one, the
 * deployment is finished (assigned, deployed when it serves it, else not
 * yet).  Each is audited ("enable", naming the interruption) and its
 * intent ended.  *report (new, or NULL when there was nothing) has a line
 * per service for the log.
 */
int cf_services_recover(
    struct cf_store *s, char **report, struct cf_error *err);

/*
 * Audits op on thumb (may be "") as "failed: <err's message>", outside
 * any transaction: for an operation whose changes were rolled back.
 */
void cf_audit_failure(struct cf_store *s, const char *actor, const char *op,
    const char *thumb, const struct cf_error *err);

/*
 * Renewal rollout on one store: moves every service of the certificate
 * old names to the one arg names, deployed and checked as cf_op_enable
 * does (the same audit, the same rollback).  The services are taken from
 * old without force; force passes names of arg that do not cover a
 * service's (and takes a service that moved to a third certificate
 * meanwhile).  old keeps its place in the store.  *moved (new) gets the
 * services moved, "" when old had none (then nothing changed); thumb
 * (41 bytes, may be NULL) arg's full thumbprint; *detail (may be NULL)
 * as cf_op_enable's.  The same certificate twice is CF_E_USAGE.
 */
int cf_op_replace(struct cf_store *s, const char *actor, const char *old,
    const char *arg, int force, char *thumb, char **moved, char **detail,
    struct cf_error *err);

#endif
