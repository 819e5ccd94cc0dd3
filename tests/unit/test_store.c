/* test_store.c - the SQLite store: schema, rows, keys, services, audit. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cert.h"
#include "check.h"
#include "store.h"
#include "testpki.h"

static struct cf_row
row_of(X509 *x, enum cf_table t)
{
	struct cf_row r;
	struct cf_error err;

	memset(&r, 0, sizeof(r));
	cf_certfacts_read(x, &r.f, &err);
	cf_cert_to_der(x, &r.der, &r.der_len);
	r.table = t;
	r.friendly_name = xstrdup("");
	return r;
}

static int
user_version(const char *dir)
{
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A store is opened only where one is (cf_store_open_existing), and the
 * owner lock is held by one at a time and seen by the others. */
static void
test_existing_and_lock(void)
{
	char dir[512], path[600], pid[32];
	struct cf_store_lock *lock, *again;
	struct cf_store *s;
	struct cf_error err;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/typo", check_tmpdir());
	cf_error_clear(&err);
	s = cf_store_open_existing(dir, &err);
	CHECK(s == NULL && err.code == CF_E_NOTFOUND &&
		  strstr(err.msg, "no certfleet store in") != NULL,
	    "existing: a missing store is not found");
	CHECK(stat(dir, &st) == -1, "existing: and nothing is created");
	CHECK(!cf_store_exists(dir), "existing: cf_store_exists says no");

	snprintf(dir, sizeof(dir), "%s/owned", check_tmpdir());
	cf_store_free(cf_store_open(dir, &err));
	CHECK(cf_store_exists(dir), "existing: cf_store_exists says yes");
	s = cf_store_open_existing(dir, &err);
	CHECK(s != NULL, "existing: a store that is there opens");
	cf_store_free(s);

	CHECK(cf_store_lock_check(dir, &err) == 0,
	    "lock: never taken: nobody owns the store");
	lock = cf_store_lock_take(dir, &err);
	CHECK(lock != NULL, "lock: taken");
	snprintf(path, sizeof(path), "%s/%s", dir, CF_STORE_LOCKFILE);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "lock: its file is 0600");
	snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
	cf_error_clear(&err);
	CHECK(cf_store_lock_check(dir, &err) == -1 &&
		  err.code == CF_E_CONFLICT && strstr(err.msg, pid) != NULL &&
		  strstr(err.msg, "owned by a running certfleetd") != NULL,
	    "lock: held: the check names the holder's pid");
	cf_error_clear(&err);
	again = cf_store_lock_take(dir, &err);
	CHECK(again == NULL && err.code == CF_E_CONFLICT,
	    "lock: a second owner is refused");
	s = cf_store_open_existing(dir, &err);
	CHECK(s != NULL && cf_store_begin(s, &err) == 0 &&
		  cf_store_commit(s, &err) == 0,
	    "lock: the database itself is not locked by it");
	cf_store_free(s);
	cf_store_lock_release(lock);
	CHECK(cf_store_lock_check(dir, &err) == 0 && stat(path, &st) == 0,
	    "lock: released: the file stays, nobody owns the store");
	lock = cf_store_lock_take(dir, &err);
	CHECK(lock != NULL, "lock: taken again after the release");
	cf_store_lock_release(lock);
	cf_store_lock_release(NULL);
}

/* 1 when another open file description may not lock path now. */
static int
locked(const char *path)
{
	struct flock fl;
	int fd = open(path, O_RDONLY | O_CLOEXEC), held;

	if (fd == -1)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

/* Deployments under way: their records, and the lock that serializes
 * them without touching the database. */
static void
test_deploys(void)
{
	char dir[512], *lockpath;
	struct cf_store *s, *other;
	struct cf_store_lock *l;
	struct cf_intent *v = NULL;
	struct cf_error err;
	size_t n = 0;

	cf_error_clear(&err);
	snprintf(dir, sizeof(dir), "%s/deploys", check_tmpdir());
	s = cf_store_open(dir, &err);
	other = cf_store_open(dir, &err);
	lockpath = xasprintf("%s/deploy.lock", dir);
	CHECK(s != NULL && cf_store_begin(s, &err) == 0 &&
		  cf_store_deploy_intent(s, "smtp", "BB", "me", &err) == 0 &&
		  cf_store_deploy_intent(s, "https", "AA", "you", &err) == 0 &&
		  cf_store_commit(s, &err) == 0,
	    "deploys: intents recorded");
	CHECK(cf_store_deploy_list(other, &v, &n, &err) == 0 && n == 2 &&
		  strcmp(v[0].service, "https") == 0 &&
		  strcmp(v[0].thumb, "AA") == 0 &&
		  strcmp(v[0].actor, "you") == 0 && v[0].started > 0 &&
		  strcmp(v[1].service, "smtp") == 0,
	    "deploys: another connection lists them, sorted by service");
	cf_intents_free(v, n);
	if (cf_store_begin(s, &err) == 0)
		cf_store_deploy_intent(s, "imap", "CC", "me", &err);
	cf_store_rollback(s);
	CHECK(cf_store_deploy_done(s, "smtp", &err) == 0 &&
		  cf_store_deploy_done(s, "pop", &err) == 0 &&
		  cf_store_deploy_list(s, &v, &n, &err) == 0 && n == 1 &&
		  strcmp(v[0].service, "https") == 0,
	    "deploys: a rolled back intent is gone, done ends one (an absent "
	    "one is no error)");
	cf_intents_free(v, n);

	CHECK(!locked(lockpath), "deploy lock: free before anyone takes it");
	l = cf_store_deploy_lock(s, &err);
	CHECK(l != NULL && locked(lockpath),
	    "deploy lock: held, another taker would wait");
	CHECK(cf_store_begin(other, &err) == 0 &&
		  cf_store_deploy_done(other, "https", &err) == 0 &&
		  cf_store_commit(other, &err) == 0,
	    "deploy lock: writers of the store do not wait for it");
	cf_store_lock_release(l);
	CHECK(!locked(lockpath), "deploy lock: free after the release");
	l = cf_store_deploy_lock(other, &err);
	CHECK(l != NULL, "deploy lock: taken again after the release");
	cf_store_lock_release(l);
	free(lockpath);
	cf_store_free(other);
	cf_store_free(s);
}

/* The audit read a page at a time, amended, and pruned by age and by the
 * number of refusals, which leaves changes alone. */
static void
test_audit_pages(void)
{
	char dir[512], p[600], sql[160];
	struct cf_audit_page q = {.limit = 7};
	struct cf_audit *recs = NULL;
	struct cf_store *s;
	struct cf_error err;
	long long removed = -1, last;
	sqlite3 *db;
	size_t n = 0;
	int i;

	snprintf(dir, sizeof(dir), "%s/audit", check_tmpdir());
	cf_error_clear(&err);
	CHECK((s = cf_store_open(dir, &err)) != NULL, "audit: store");
	for (i = 0; i < 30; i++)
		cf_store_audit(s, "a", i % 3 == 2 ? "import" : "connect", "",
		    i % 3 == 2 ? "imported" : "refused: x", &err);
	last = cf_store_audit_last(s);
	CHECK(last == 30, "audit: the last record's id");
	CHECK(cf_store_audit_page(s, &q, &recs, &n, &err) == 0 && n == 7 &&
		  recs[0].id == 1 && recs[6].id == 7,
	    "audit: the first page, oldest first");
	cf_audit_free(recs, n);
	q.after = 28;
	CHECK(cf_store_audit_page(s, &q, &recs, &n, &err) == 0 && n == 2 &&
		  recs[0].id == 29,
	    "audit: on from after=");
	cf_audit_free(recs, n);
	q.after = 30;
	CHECK(cf_store_audit_page(s, &q, &recs, &n, &err) == 0 && n == 0,
	    "audit: past the last, an empty page");
	cf_audit_free(recs, n);
	q.after = 0;
	q.newest = 1;
	q.limit = 5;
	CHECK(cf_store_audit_page(s, &q, &recs, &n, &err) == 0 && n == 5 &&
		  recs[0].id == 26 && recs[4].id == 30,
	    "audit: newest=1, the newest, oldest first");
	cf_audit_free(recs, n);
	q.before = 26;
	CHECK(cf_store_audit_page(s, &q, &recs, &n, &err) == 0 && n == 5 &&
		  recs[0].id == 21 && recs[4].id == 25,
	    "audit: back from before=");
	cf_audit_free(recs, n);
	CHECK(cf_store_audit_amend(s, 30, "refused: x; 9 more", &err) == 0 &&
		  cf_store_audit_page(s, &(struct cf_audit_page){.after = 29},
		      &recs, &n, &err) == 0 &&
		  n == 1 && strcmp(recs[0].outcome, "refused: x; 9 more") == 0,
	    "audit: a record amended");
	cf_audit_free(recs, n);

	CHECK(
	    cf_store_audit_prune(s, 0, 0, &removed, &err) == 0 && removed == 0,
	    "audit: no retention, nothing removed");
	CHECK(
	    cf_store_audit_prune(s, 0, 5, &removed, &err) == 0 && removed == 15,
	    "audit: refusals beyond audit_max_rows removed");
	CHECK(cf_store_audit_page(
		  s, &(struct cf_audit_page){0}, &recs, &n, &err) == 0 &&
		  n == 15 && recs[0].id == 3 && recs[14].id == 30,
	    "audit: the changes and the newest refusals kept");
	cf_audit_free(recs, n);
	snprintf(p, sizeof(p), "%s/store.db", dir);
	snprintf(sql, sizeof(sql),
	    "UPDATE audit SET time = %lld WHERE id IN (3, 6)",
	    (long long)time(NULL) - 40 * 86400);
	sqlite3_open(p, &db);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK(
	    cf_store_audit_prune(s, 41, 0, &removed, &err) == 0 && removed == 0,
	    "audit: nothing older than audit_keep_days, nothing removed");
	CHECK(
	    cf_store_audit_prune(s, 30, 0, &removed, &err) == 0 && removed == 2,
	    "audit: records older than audit_keep_days removed");
	cf_store_free(s);
}

/* The certificates the tests store: a CA and a leaf it issued. */
struct pki {
	EVP_PKEY *k;
	X509 *ca, *leaf;
};

/* A new store in the scratch directory's subdirectory name (path into
 * dir), NULL when it cannot be opened. */
static struct cf_store *
fresh(const char *name, char *dir, size_t len)
{
	struct cf_error err;

	snprintf(dir, len, "%s/%s", check_tmpdir(), name);
	return cf_store_open(dir, &err);
}

/* Inserts x as an end certificate, its thumbprint into thumb: 0 or -1. */
static int
insert(struct cf_store *s, X509 *x, char thumb[CF_THUMB_LEN + 1])
{
	struct cf_row r = row_of(x, CF_END);
	struct cf_error err;
	int rc = -1;

	if (cf_store_begin(s, &err) == 0 && cf_store_insert(s, &r, &err) == 0 &&
	    cf_store_commit(s, &err) == 0)
		rc = 0;
	snprintf(thumb, CF_THUMB_LEN + 1, "%s", r.f.thumbprint);
	cf_row_clear(&r);
	return rc;
}

static void
test_create(void)
{
	char dir[512], p[600];
	struct cf_store *s = fresh("create", dir, sizeof(dir));
	struct stat st;

	CHECK(s != NULL, "store: created on first use");
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "store: directory is 0700");
	snprintf(p, sizeof(p), "%s/store.db", dir);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 077) == 0,
	    "store: database file is 0600");
	CHECK(user_version(dir) >= 1, "store: schema version recorded");
	cf_store_free(s);
}

static void
test_rows(const struct pki *k)
{
	char dir[512], thumb[CF_THUMB_LEN + 1];
	struct cf_store *s = fresh("rows", dir, sizeof(dir));
	struct cf_row r, *rows = NULL;
	struct cf_error err;
	size_t n = 0;

	r = row_of(k->leaf, CF_END);
	CHECK(s != NULL && cf_store_begin(s, &err) == 0 &&
		  cf_store_insert(s, &r, &err) == 0 &&
		  cf_store_commit(s, &err) == 0,
	    "store: insert an end certificate");
	snprintf(thumb, sizeof(thumb), "%s", r.f.thumbprint);
	CHECK(cf_store_begin(s, &err) == 0 &&
		  cf_store_insert(s, &r, &err) == -1 && err.code == CF_E_STORE,
	    "store: the same thumbprint twice is refused");
	cf_store_rollback(s);
	cf_row_clear(&r);

	CHECK(cf_store_list(s, CF_END, NULL, 0, &rows, &n, &err) == 0 &&
		  n == 1 && strcmp(rows[0].f.thumbprint, thumb) == 0 &&
		  strcmp(rows[0].f.domains, "mail.example.com") == 0,
	    "store: list returns the row with its facts");
	cf_rows_free(rows, n);
	cf_store_free(s);
}

/* Two thumbprints sharing a prefix (rows made up for the test), inside
 * a transaction that is rolled back. */
static void
ambiguous(struct cf_store *s, const struct pki *k)
{
	struct cf_row a = row_of(k->leaf, CF_END), b = row_of(k->ca, CF_END);
	char owner[CF_THUMB_LEN + 1];
	struct cf_error err;

	snprintf(a.f.thumbprint, sizeof(a.f.thumbprint), "%s",
	    "ABCDEF010000000000000000000000000000000A");
	snprintf(b.f.thumbprint, sizeof(b.f.thumbprint), "%s",
	    "ABCDEF011000000000000000000000000000000B");
	cf_store_begin(s, &err);
	cf_store_insert(s, &a, &err);
	cf_store_insert(s, &b, &err);
	CHECK(cf_store_resolve(s, "abcdef01", owner, &err) == -1 &&
		  err.code == CF_E_AMBIGUOUS &&
		  strstr(err.msg, a.f.thumbprint) != NULL &&
		  strstr(err.msg, b.f.thumbprint) != NULL,
	    "store: an ambiguous prefix lists the candidates");
	CHECK(cf_store_resolve(s, "ABCDEF0110", owner, &err) == 0 &&
		  strcmp(owner, b.f.thumbprint) == 0,
	    "store: a longer prefix resolves the ambiguity");
	cf_store_rollback(s);
	cf_row_clear(&a);
	cf_row_clear(&b);
}

/* Prefix resolution, any case. */
static void
test_resolve(const struct pki *k)
{
	char dir[512], thumb[CF_THUMB_LEN + 1], owner[CF_THUMB_LEN + 1];
	char prefix[16];
	struct cf_store *s = fresh("resolve", dir, sizeof(dir));
	struct cf_error err;

	CHECK(s != NULL && insert(s, k->leaf, thumb) == 0,
	    "resolve: set-up: one certificate");
	snprintf(prefix, sizeof(prefix), "%.8s", thumb);
	for (char *p = prefix; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	CHECK(cf_store_resolve(s, prefix, owner, &err) == 0 &&
		  strcmp(owner, thumb) == 0,
	    "store: a lower-case 8-digit prefix resolves");
	CHECK(cf_store_resolve(s, "1234567", owner, &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "store: a 7-digit prefix is a usage error");
	CHECK(cf_store_resolve(s, thumb[0] == 'F' ? "00000000" : "FFFFFFFF",
		  owner, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "store: an unknown thumbprint is not found");
	CHECK(cf_store_resolve(s, "not-hex!", owner, &err) == -1 &&
		  err.code == CF_E_USAGE,
	    "store: a non-hex argument is a usage error");
	ambiguous(s, k);
	cf_store_free(s);
}

/* Keys: sealed, bound to their row. */
static void
test_keys(const struct pki *k)
{
	char dir[512], p[600], sql[400];
	char thumb[CF_THUMB_LEN + 1], other[CF_THUMB_LEN + 1];
	struct cf_store *s = fresh("keys", dir, sizeof(dir));
	struct cf_secret *key = NULL;
	struct cf_error err;
	sqlite3 *db;

	CHECK(s != NULL && insert(s, k->leaf, thumb) == 0 &&
		  insert(s, k->ca, other) == 0,
	    "keys: set-up: two certificates");
	CHECK(cf_store_begin(s, &err) == 0 &&
		  cf_store_key_put(s, thumb, (const unsigned char *)"KEYDER", 6,
		      &err) == 0 &&
		  cf_store_commit(s, &err) == 0,
	    "store: a key is stored");
	CHECK(cf_store_key_get(s, thumb, &key, &err) == 0 && key->len == 6 &&
		  memcmp(key->data, "KEYDER", 6) == 0,
	    "store: the key unseals");
	cf_secret_free(key);
	key = NULL;
	snprintf(p, sizeof(p), "%s/store.db", dir);
	sqlite3_open(p, &db);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO keys SELECT '%s', sealed FROM keys WHERE "
	    "thumbprint = '%s'",
	    other, thumb);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK(cf_store_key_get(s, other, &key, &err) == -1 &&
		  err.code == CF_E_CRYPTO,
	    "store: a sealed key copied onto another row does not open");
	cf_secret_free(key);
	cf_store_free(s);
}

/* Services belong to one certificate. */
static void
test_services(const struct pki *k)
{
	char dir[512], thumb[CF_THUMB_LEN + 1], owner[CF_THUMB_LEN + 1];
	struct cf_store *s = fresh("services", dir, sizeof(dir));
	struct cf_error err;
	int dep = -1;

	CHECK(s != NULL && insert(s, k->leaf, thumb) == 0,
	    "services: set-up: one certificate");
	CHECK(cf_store_service_set(s, "https", thumb, &err) == 0 &&
		  cf_store_service_owner(s, "https", owner, &err) == 0 &&
		  strcmp(owner, thumb) == 0,
	    "store: a service is assigned");
	CHECK(cf_store_service_owner(s, "pop", owner, &err) == 0 &&
		  owner[0] == '\0',
	    "store: an unassigned service has no owner");
	CHECK(cf_store_service_is_deployed(s, "https", &dep, &err) == 0 &&
		  dep == 0,
	    "store: a new assignment is not deployed yet");
	CHECK(cf_store_service_deployed(s, "https", &err) == 0 &&
		  cf_store_service_is_deployed(s, "https", &dep, &err) == 0 &&
		  dep == 1,
	    "store: recorded as deployed");
	CHECK(cf_store_service_set(s, "https", thumb, &err) == 0 &&
		  cf_store_service_is_deployed(s, "https", &dep, &err) == 0 &&
		  dep == 0,
	    "store: assigned again: not deployed until it is");
	CHECK(
	    cf_store_service_is_deployed(s, "pop", &dep, &err) == 0 && dep == 0,
	    "store: an unassigned service is not deployed");
	cf_store_free(s);
}

/* Rollback leaves nothing behind; delete takes the services along. */
static void
test_delete(const struct pki *k)
{
	char dir[512], thumb[CF_THUMB_LEN + 1], owner[CF_THUMB_LEN + 1];
	struct cf_store *s = fresh("delete", dir, sizeof(dir));
	struct cf_row *rows = NULL;
	struct cf_error err;
	size_t n = 0;

	CHECK(s != NULL && insert(s, k->leaf, thumb) == 0 &&
		  cf_store_service_set(s, "https", thumb, &err) == 0,
	    "delete: set-up: one certificate serving https");
	cf_store_begin(s, &err);
	cf_store_delete(s, thumb, &err);
	cf_store_rollback(s);
	CHECK(cf_store_list(s, CF_END, thumb, 0, &rows, &n, &err) == 0 &&
		  n == 1 && strcmp(rows[0].services, "https") == 0,
	    "store: a rolled-back delete leaves the row and its services");
	cf_rows_free(rows, n);
	cf_store_begin(s, &err);
	CHECK(cf_store_delete(s, thumb, &err) == 0 &&
		  cf_store_commit(s, &err) == 0 &&
		  cf_store_list(s, CF_END, thumb, 0, &rows, &n, &err) == 0 &&
		  n == 0,
	    "store: delete removes the row");
	cf_rows_free(rows, n);
	CHECK(cf_store_service_owner(s, "https", owner, &err) == 0 &&
		  owner[0] == '\0',
	    "store: delete releases the services");
	cf_store_free(s);
}

static void
test_audit(void)
{
	char dir[512];
	struct cf_store *s = fresh("audit-kept", dir, sizeof(dir));
	struct cf_audit *recs = NULL;
	struct cf_error err;
	size_t n = 0;

	CHECK(s != NULL &&
		  cf_store_audit(s, "local:test", "import", "ABCD", "imported",
		      &err) == 0 &&
		  cf_store_audit_list(s, 0, &recs, &n, &err) == 0 && n == 1 &&
		  strcmp(recs[0].actor, "local:test") == 0,
	    "store: audit records are kept");
	cf_audit_free(recs, n);
	CHECK(cf_store_audit_list(s, time(NULL) + 3600, &recs, &n, &err) == 0 &&
		  n == 0,
	    "store: --since filters the audit");
	cf_audit_free(recs, n);
	cf_store_free(s);
}

/* Reopen: migrations run once; a newer schema is refused. */
static void
test_schema(void)
{
	char dir[512], p[600];
	struct cf_store *s = fresh("schema", dir, sizeof(dir));
	struct cf_error err;
	sqlite3 *db;

	cf_store_free(s);
	s = cf_store_open(dir, &err);
	CHECK(s != NULL && user_version(dir) >= 1, "store: reopens");
	cf_store_free(s);
	snprintf(p, sizeof(p), "%s/store.db", dir);
	sqlite3_open(p, &db);
	sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
	sqlite3_close(db);
	s = cf_store_open(dir, &err);
	CHECK(s == NULL && strstr(err.msg, "newer") != NULL,
	    "store: a schema from a newer certfleet is refused");
	s = cf_store_open("/proc/certfleet-cannot-be-here", &err);
	CHECK(s == NULL && err.code == CF_E_IO,
	    "store: an impossible directory is an I/O error");
}

int
main(int argc, char **argv)
{
	struct pki k;

	check_init(argc, argv);
	k.k = tp_key(0);
	k.ca = tp_cert("Test CA", NULL, k.k, NULL, NULL, -1, 365, 1);
	k.leaf = tp_cert(
	    "mail.example.com", "mail.example.com", k.k, k.ca, k.k, -1, 90, 0);
	if (check_test("create"))
		test_create();
	if (check_test("rows"))
		test_rows(&k);
	if (check_test("resolve"))
		test_resolve(&k);
	if (check_test("keys"))
		test_keys(&k);
	if (check_test("services"))
		test_services(&k);
	if (check_test("delete"))
		test_delete(&k);
	if (check_test("audit"))
		test_audit();
	if (check_test("schema"))
		test_schema();
	if (check_test("existing_and_lock"))
		test_existing_and_lock();
	if (check_test("deploys"))
		test_deploys();
	if (check_test("audit_pages"))
		test_audit_pages();
	X509_free(k.leaf);
	X509_free(k.ca);
	EVP_PKEY_free(k.k);
	return check_done();
}
