/*
 * store.h - the store: one SQLite database (WAL) and one master key in a
 * directory.  Holds end certificates (what `get` lists), chain
 * certificates (deduplicated by thumbprint), the links between them
 * (signed_by: the thumbprint whose key verified the signature), private
 * keys sealed under the master key with the thumbprint as associated
 * data, service assignments and the audit trail.
 *
 * Every operation runs between cf_store_begin and cf_store_commit; any
 * failure before the commit is undone by cf_store_rollback.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stddef.h>
#include <time.h>

#include "cert.h"
#include "error.h"
#include "identity.h"
#include "util.h"

#define CF_STORE_DB "store.db"
#define CF_STORE_KEYFILE "master.key"
#define CF_STORE_LOCKFILE "owner.lock"

enum cf_sig_state {
	CF_SIG_UNKNOWN = 0, /* no issuer known yet */
	CF_SIG_OK = 1,      /* signed_by's key verified the signature */
	CF_SIG_BAD = 2,     /* the named issuer is known; signature fails */
};

enum cf_table { CF_END = 0, CF_CHAIN = 1 };

/* One stored certificate; strings owned, cleared by cf_row_clear. */
struct cf_row {
	struct cf_certfacts f;
	enum cf_table table;
	char signed_by[CF_THUMB_LEN + 1]; /* "" when unknown */
	int sig_state;
	char *friendly_name; /* end certificates */
	int exportable;
	int has_key;
	char *services; /* comma-separated, sorted; "" for none */
	time_t created, modified;
	unsigned char *der; /* only when asked for */
	size_t der_len;
};
void cf_row_clear(struct cf_row *r);
void cf_rows_free(struct cf_row *rows, size_t n); /* NULL-safe */

struct cf_store;

/*
 * Opens the store in dir, creating dir (0700), the database (0600) and
 * the master key (0600) on first use, and migrating the schema to the
 * current version.  NULL and err set on failure; caller frees.  A
 * cf_store is used by one thread at a time.
 */
struct cf_store *cf_store_open(const char *dir, struct cf_error *err);
/*
 * cf_store_open of a store that is there: nothing is created, and a
 * directory without the database is CF_E_NOTFOUND ("no certfleet store
 * in DIR"), one with the database but not the master key CF_E_STORE.
 */
struct cf_store *cf_store_open_existing(const char *dir, struct cf_error *err);
/*
 * The store in dir opened to read what `get` shows, and nothing sealed:
 * no master key is read, nothing is created or upgraded.  A store of
 * another schema version is CF_E_STORE (the full certfleet upgrades
 * it).  For the front-end that links no OpenSSL (src/fast).
 */
struct cf_store *cf_store_open_reader(const char *dir, struct cf_error *err);

/*
 * The trust memo (store_trust.c): whether the chain top thumb was
 * trusted (a system root, or verified to one) as of the roots' file
 * that roots names (status.c's own form).  cf_store_trust_get: 1 with
 * *trusted and roots (size bytes) filled, 0 when none is kept, -1 on a
 * read error.  cf_store_trust_put keeps n verdicts in a transaction of
 * its own, without waiting for another writer: it is a cache, and a
 * verdict not kept is worked out again next time.  0 or -1.
 */
struct cf_trust_memo {
	char thumbprint[CF_THUMB_LEN + 1];
	char *roots;
	int trusted;
};
int cf_store_trust_get(struct cf_store *s, const char *thumb, int *trusted,
    char *roots, size_t size);
int cf_store_trust_put(struct cf_store *s, const struct cf_trust_memo *m,
    size_t n, struct cf_error *err);
/* 1 when dir holds a store's database, else 0. */
int cf_store_exists(const char *dir);
void cf_store_free(struct cf_store *s); /* NULL-safe */

/*
 * The owner lock: the running agent holds it on its store for its
 * lifetime (a file of its own in dir, apart from the database, so
 * readers and backups never wait for it).  cf_store_lock_take returns
 * the held lock (release it with cf_store_lock_release), or NULL with
 * CF_E_CONFLICT naming the holder's pid when another process holds it.
 */
struct cf_store_lock;
struct cf_store_lock *cf_store_lock_take(const char *dir, struct cf_error *err);
void cf_store_lock_release(struct cf_store_lock *l); /* NULL-safe */
/* The lock's descriptor: a process that inherits it shares the lock,
 * which then lasts until every holder has closed it. */
int cf_store_lock_fd(const struct cf_store_lock *l);
/* 0 when no running process holds dir's owner lock; -1 with
 * CF_E_CONFLICT "DIR: the store is owned by a running certfleetd (pid
 * N)" when one does (or CF_E_IO when the lock cannot be tested). */
int cf_store_lock_check(const char *dir, struct cf_error *err);

/*
 * Reads the database through a memory map from now on: a 10,000-row
 * listing costs a quarter less CPU.  For a process with one connection
 * that lives for one command (the CLI): the pages mapped count in the
 * resident size of every connection that maps them, and an agent keeps
 * several open for days (a 17 MB store showed as 17 MB a worker).
 */
void cf_store_map(struct cf_store *s);

/* A write transaction.  Writers in one process take turns (store.c), so
 * only another process's write makes it wait on SQLite's lock, for at
 * most the busy wait (10 s unless cf_store_set_busy_wait changed it). */
int cf_store_begin(struct cf_store *s, struct cf_error *err);
void cf_store_set_busy_wait(struct cf_store *s, int ms);
/* A read transaction: one consistent view, no write lock (WAL readers
 * never wait for writers); end it with cf_store_rollback. */
int cf_store_begin_read(struct cf_store *s, struct cf_error *err);
int cf_store_commit(struct cf_store *s, struct cf_error *err);
void cf_store_rollback(struct cf_store *s); /* no-op outside a transaction */

/*
 * Resolves a thumbprint or unique prefix (8+ hex digits, any case) among
 * the end certificates and the pending requests into out.  CF_E_NOTFOUND, or
 * CF_E_AMBIGUOUS with the candidates listed in the message; CF_E_USAGE for a
 * malformed arg.
 */
int cf_store_resolve(struct cf_store *s, const char *arg,
    char out[CF_THUMB_LEN + 1], struct cf_error *err);

/*
 * Lists the rows of table, sorted by thumbprint; only thumbprint thumb
 * when not NULL.  with_der adds the DER.  *rows (caller frees with
 * cf_rows_free) and *n set on success.
 */
int cf_store_list(struct cf_store *s, enum cf_table table, const char *thumb,
    int with_der, struct cf_row **rows, size_t *n, struct cf_error *err);

/*
 * Which end certificates cf_store_list_page reads: those whose
 * thumbprint sorts after after (NULL: from the first), at most limit
 * (0: no bound), and, when asked, only those that expire before
 * expires_before, or (percent 1-100) have less than percent of their
 * lifetime left at now.
 */
struct cf_list_page {
	const char *after;
	size_t limit;
	time_t expires_before; /* 0: any */
	long percent;          /* 0: any */
	time_t now;            /* with percent */
};
/* A page of end certificates, by thumbprint, as cf_store_list gives
 * them (services too, no DER). */
int cf_store_list_page(struct cf_store *s, const struct cf_list_page *q,
    struct cf_row **rows, size_t *n, struct cf_error *err);
/* The self-signed end certificates, with DER (the store's own trust
 * anchors). */
int cf_store_self_signed(
    struct cf_store *s, struct cf_row **rows, size_t *n, struct cf_error *err);

/*
 * Fetches one row with its DER, from the end table first, then the
 * chain table.  Returns 1 found, 0 not there, -1 on error.
 */
int cf_store_fetch(struct cf_store *s, const char *thumb, struct cf_row *out,
    struct cf_error *err);

/* Whether thumb is stored as an end and/or a chain certificate. */
int cf_store_where(struct cf_store *s, const char *thumb, int *in_end,
    int *in_chain, struct cf_error *err);

/*
 * Where the walks up from every end certificate start: each distinct
 * issuer (signed_by), and (own) each end certificate with none that is
 * not self-signed, its own top.  *starts (n of them) is the caller's.
 */
struct cf_walk_start {
	char thumbprint[CF_THUMB_LEN + 1];
	int own;
};
int cf_store_walk_starts(struct cf_store *s, struct cf_walk_start **starts,
    size_t *n, struct cf_error *err);

/* Rows of both tables whose subject is subject (with DER). */
int cf_store_by_subject(struct cf_store *s, const char *subject,
    struct cf_row **rows, size_t *n, struct cf_error *err);
/* Rows of both tables issued in the name issuer whose issuer is not
 * known yet, or whose named issuer did not verify them. */
int cf_store_unlinked_by_issuer(struct cf_store *s, const char *issuer,
    struct cf_row **rows, size_t *n, struct cf_error *err);

/* The end certificate whose public key hash is spki, into out ("" none). */
int cf_store_by_spki(struct cf_store *s, const char *spki,
    char out[CF_THUMB_LEN + 1], struct cf_error *err);

/* Inserts r (r->der required) into r->table. */
int cf_store_insert(
    struct cf_store *s, const struct cf_row *r, struct cf_error *err);
/* Records that thumb (in table) was signed by signed_by, in state. */
int cf_store_link(struct cf_store *s, enum cf_table table, const char *thumb,
    const char *signed_by, int state, struct cf_error *err);
/* Sets friendly name and exportable flag of an end certificate. */
int cf_store_set_flags(struct cf_store *s, const char *thumb,
    const char *friendly_name, int exportable, struct cf_error *err);

/*
 * Deletes the end certificate thumb, its key and service assignments,
 * and chain certificates nothing links to any more.
 */
int cf_store_delete(
    struct cf_store *s, const char *thumb, struct cf_error *err);

/* Seals the PKCS#8 DER key of thumb and stores it (replacing any). */
int cf_store_key_put(struct cf_store *s, const char *thumb,
    const unsigned char *pkcs8, size_t len, struct cf_error *err);
/* Unseals the key of thumb: CF_E_NOTFOUND when it has none. */
int cf_store_key_get(struct cf_store *s, const char *thumb,
    struct cf_secret **pkcs8, struct cf_error *err);

/*
 * The certificate service is assigned to, into owner ("" when none).
 */
int cf_store_service_owner(struct cf_store *s, const char *service,
    char owner[CF_THUMB_LEN + 1], struct cf_error *err);
/* Assigns service to thumb (taking it from any other), not yet
 * deployed. */
int cf_store_service_set(struct cf_store *s, const char *service,
    const char *thumb, struct cf_error *err);
/* Records that service's files now hold its assigned certificate: the
 * deployment happened here (or found them so). */
int cf_store_service_deployed(
    struct cf_store *s, const char *service, struct cf_error *err);
/* Whether service's assignment was ever deployed into *deployed (0 also
 * when it has none).  Assignments older than this record count as
 * deployed. */
int cf_store_service_is_deployed(struct cf_store *s, const char *service,
    int *deployed, struct cf_error *err);
/* The names of every assigned service, sorted, into *names (caller
 * frees each and the array). */
int cf_store_service_list(
    struct cf_store *s, char ***names, size_t *n, struct cf_error *err);
/* Removes the assignment of service, whoever holds it. */
int cf_store_service_clear(
    struct cf_store *s, const char *service, struct cf_error *err);

/*
 * Deployments under way.  An operation that deploys records its intent
 * (service, the certificate it goes to, who asked) in a short
 * transaction, deploys outside any, and ends the record in the
 * transaction that commits the outcome.  A record found when the agent
 * starts is a deployment interrupted (cf_services_recover).
 */
struct cf_intent {
	char *service;
	char thumb[CF_THUMB_LEN + 1];
	char *actor;
	time_t started;
};
void cf_intents_free(struct cf_intent *v, size_t n); /* NULL-safe */
int cf_store_deploy_intent(struct cf_store *s, const char *service,
    const char *thumb, const char *actor, struct cf_error *err);
/* Ends the record of service's deployment (none is no error). */
int cf_store_deploy_done(
    struct cf_store *s, const char *service, struct cf_error *err);
/* Every record, sorted by service, into *out (cf_intents_free). */
int cf_store_deploy_list(struct cf_store *s, struct cf_intent **out, size_t *n,
    struct cf_error *err);
/*
 * Waits for, then holds, the store's deploy lock: one deployment at a
 * time, across threads and processes, from its intent to its outcome.
 * Apart from the database: no reader or writer waits for it.  Release
 * with cf_store_lock_release; NULL with err when it cannot be taken.
 */
struct cf_store_lock *cf_store_deploy_lock(
    struct cf_store *s, struct cf_error *err);

/*
 * Lends the store the services of this host (service.h; NULL: none).  The
 * operations that assign services deploy to those configured here.  The
 * caller keeps conf alive as long as the store.
 */
struct cf_services;
void cf_store_set_services(struct cf_store *s, const struct cf_services *conf);
const struct cf_services *cf_store_services(const struct cf_store *s);

/*
 * Authorized API clients, by certificate fingerprint ("SHA256:HEX"):
 * role "admin" or "reader".
 */
int cf_store_client_set(struct cf_store *s, const char *fingerprint,
    const char *role, struct cf_error *err);
/* Removes a client: CF_E_NOTFOUND when it was not authorized. */
int cf_store_client_remove(
    struct cf_store *s, const char *fingerprint, struct cf_error *err);
/* The role of fingerprint into role ("" when not authorized). */
int cf_store_client_role(struct cf_store *s, const char *fingerprint,
    char role[16], struct cf_error *err);

/* An authorized client, as cf_store_client_list gives it. */
struct cf_client {
	char fingerprint[CF_FP_LEN + 1];
	char role[16];
	time_t since; /* when its role was given (authorize) */
	char *by;     /* who gave it: the audit's actor; "" when unknown */
};
/*
 * Every authorized client, sorted by fingerprint, into *out (caller
 * frees with cf_clients_free).  since and by come from the latest
 * authorize record of the audit trail for that fingerprint and role;
 * without one, since is when it was first authorized.
 */
int cf_store_client_list(struct cf_store *s, struct cf_client **out, size_t *n,
    struct cf_error *err);
void cf_clients_free(struct cf_client *c, size_t n); /* NULL-safe */

/* Appends an audit record (time now).  thumb and outcome may be "". */
int cf_store_audit(struct cf_store *s, const char *actor, const char *op,
    const char *thumb, const char *outcome, struct cf_error *err);

/* The id of the record cf_store_audit last appended on s; 0 if none. */
long long cf_store_audit_last(struct cf_store *s);
/* Replaces the outcome of record id: a coalesced refusal's count. */
int cf_store_audit_amend(struct cf_store *s, long long id, const char *outcome,
    struct cf_error *err);

struct cf_audit {
	long long id;
	time_t time;
	char *actor, *op, *thumb, *outcome;
};
/* Audit records at or after since (0: all), oldest first. */
int cf_store_audit_list(struct cf_store *s, time_t since,
    struct cf_audit **recs, size_t *n, struct cf_error *err);
/* A page of the audit: records at or after since, with after < id <
 * before (0: no bound), at most limit (0: no bound); the oldest of them,
 * or with newest the newest.  Oldest first either way. */
struct cf_audit_page {
	time_t since;
	long long after, before;
	size_t limit;
	int newest;
};
int cf_store_audit_page(struct cf_store *s, const struct cf_audit_page *q,
    struct cf_audit **recs, size_t *n, struct cf_error *err);
void cf_audit_free(struct cf_audit *recs, size_t n);
/*
 * Retention: removes records older than keep_days (0: none), and the
 * oldest refused attempts (operation "connect") beyond max_rows of them
 * (0: no bound), which leaves every change and export to the time bound
 * alone.  How many went into *removed.
 */
int cf_store_audit_prune(struct cf_store *s, long keep_days, long max_rows,
    long long *removed, struct cf_error *err);

/*
 * A pending request (request new, renew): what `get` shows of it, its
 * PKCS#10 and, stored apart and sealed, its key.  Its thumbprint is the
 * SHA-1 of the request's DER, so it is named like a certificate.
 */
struct cf_request {
	char thumbprint[CF_THUMB_LEN + 1];
	char *subject, *domains, *key_type, *friendly_name; /* owned */
	char spki[65];                 /* SHA-256 of the public key */
	int exportable;                /* the certificate will be */
	char renews[CF_THUMB_LEN + 1]; /* "" unless a renewal */
	time_t created;
	unsigned char *csr; /* DER, when asked for */
	size_t csr_len;
};
void cf_requests_free(struct cf_request *r, size_t n); /* NULL-safe */

/* Stores request r (csr required) with its PKCS#8 DER key, sealed. */
int cf_store_request_put(struct cf_store *s, const struct cf_request *r,
    const unsigned char *pkcs8, size_t len, struct cf_error *err);
/*
 * Every pending request (thumb NULL) or the one thumb names, sorted by
 * thumbprint, with the DER when with_csr.  *out (cf_requests_free).
 */
int cf_store_request_list(struct cf_store *s, const char *thumb, int with_csr,
    struct cf_request **out, size_t *n, struct cf_error *err);
/* The pending request whose key's SPKI hash is spki, into out ("" none). */
int cf_store_request_by_spki(struct cf_store *s, const char *spki,
    char out[CF_THUMB_LEN + 1], struct cf_error *err);
/* Unseals the key of request thumb. */
int cf_store_request_key(struct cf_store *s, const char *thumb,
    struct cf_secret **pkcs8, struct cf_error *err);
/* Deletes request thumb and its key. */
int cf_store_request_delete(
    struct cf_store *s, const char *thumb, struct cf_error *err);

/*
 * An ACME account (store_acme.c): its name, the CA's directory, the key
 * type ("p256", "rsa2048", ...), the account URL ("" until registered)
 * and the contact ("" for none).  The key is kept sealed under
 * "certfleet-acme-account-v1:<name>".
 */
struct cf_acme_account {
	char *name, *directory, *key_type, *url, *contact;
	time_t created;
};
void cf_acme_accounts_free(struct cf_acme_account *a, size_t n); /* NULL-safe */

/* Stores account a with its PKCS#8 DER key, sealed; CF_E_CONFLICT when
 * the name is taken. */
int cf_store_acme_put(struct cf_store *s, const struct cf_acme_account *a,
    const unsigned char *pkcs8, size_t len, struct cf_error *err);
/* Every account (name NULL) or the one named, by name; *out
 * (cf_acme_accounts_free), none: *n 0. */
int cf_store_acme_list(struct cf_store *s, const char *name,
    struct cf_acme_account **out, size_t *n, struct cf_error *err);
/* Unseals account name's key (PKCS#8 DER) into *pkcs8 (new, wiped on
 * free); CF_E_NOTFOUND when there is no such account. */
int cf_store_acme_key(struct cf_store *s, const char *name,
    struct cf_secret **pkcs8, struct cf_error *err);
/* Sets account name's URL; CF_E_NOTFOUND when there is none. */
int cf_store_acme_set_url(struct cf_store *s, const char *name, const char *url,
    struct cf_error *err);
/* Deletes account name with its sealed key; CF_E_NOTFOUND when none. */
int cf_store_acme_remove(
    struct cf_store *s, const char *name, struct cf_error *err);

#endif
