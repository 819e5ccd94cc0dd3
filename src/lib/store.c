/*
 * store.c - the SQLite store: see store.h.  Here the database itself:
 * opening it, the schema and its migrations, prepared statements,
 * transactions.  The rows live in
 * store_certs.c, store_keys.c, store_admin.c and store_requests.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_int.h"

/* How long SQLite waits for another process's write (a writer's
 * transactions are short: a deployment runs outside them). */
#define STORE_BUSY_WAIT_MS 10000

/*
 * The DER of every certificate lives in a table of its own, once per
 * thumbprint whichever role the certificate has: listing 10,000
 * certificates then reads the facts, not 20 MB of certificates.
 *
 * Migrations, in order: schema version N is reached by running
 * migrations[0..N-1].  Never edit a shipped entry; append a new one.
 */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE der ("
    " thumbprint TEXT PRIMARY KEY, der BLOB NOT NULL);"
    "CREATE TABLE certificates ("
    " thumbprint TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL, issuer TEXT NOT NULL, serial TEXT NOT NULL,"
    " not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    " domains TEXT NOT NULL, key_type TEXT NOT NULL, spki TEXT NOT NULL,"
    " self_signed INTEGER NOT NULL,"
    " signed_by TEXT NOT NULL DEFAULT '', sig_state INTEGER NOT NULL DEFAULT 0,"
    " friendly_name TEXT NOT NULL DEFAULT '',"
    " exportable INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, modified INTEGER NOT NULL);"
    "CREATE INDEX certificates_subject ON certificates(subject);"
    "CREATE INDEX certificates_issuer ON certificates(issuer);"
    "CREATE INDEX certificates_spki ON certificates(spki);"
    "CREATE TABLE chain_certs ("
    " thumbprint TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL, issuer TEXT NOT NULL, serial TEXT NOT NULL,"
    " not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    " domains TEXT NOT NULL, key_type TEXT NOT NULL, spki TEXT NOT NULL,"
    " self_signed INTEGER NOT NULL,"
    " signed_by TEXT NOT NULL DEFAULT '', sig_state INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX chain_subject ON chain_certs(subject);"
    "CREATE INDEX chain_issuer ON chain_certs(issuer);"
    "CREATE INDEX certificates_signed_by ON certificates(signed_by);"
    "CREATE INDEX chain_signed_by ON chain_certs(signed_by);"
    "CREATE TABLE keys ("
    " thumbprint TEXT PRIMARY KEY"
    "  REFERENCES certificates(thumbprint) ON DELETE CASCADE,"
    " sealed BLOB NOT NULL);"
    "CREATE TABLE services ("
    " service TEXT PRIMARY KEY,"
    " thumbprint TEXT NOT NULL"
    "  REFERENCES certificates(thumbprint) ON DELETE CASCADE);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL,"
    " operation TEXT NOT NULL, thumbprint TEXT NOT NULL DEFAULT '',"
    " outcome TEXT NOT NULL);",
    /* 2: the agent's authorized API clients */
    "CREATE TABLE clients ("
    " fingerprint TEXT PRIMARY KEY,"
    " role TEXT NOT NULL CHECK (role IN ('admin', 'reader')),"
    " created INTEGER NOT NULL);",
    /* 3: pending requests (request new, renew), each with its sealed key */
    "CREATE TABLE requests ("
    " thumbprint TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL, domains TEXT NOT NULL, key_type TEXT NOT NULL,"
    " spki TEXT NOT NULL, exportable INTEGER NOT NULL,"
    " friendly_name TEXT NOT NULL DEFAULT '',"
    " renews TEXT NOT NULL DEFAULT '',"
    " csr BLOB NOT NULL, sealed BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX requests_spki ON requests(spki);",
    /* 4: whether an assignment reached the service's files here (those
     * made before were deployed by enable, or said nothing) */
    "ALTER TABLE services ADD COLUMN deployed INTEGER NOT NULL DEFAULT 1;",
    /* 5: deployments under way (store_deploys.c); no reference to the
     * certificate, so that a record outlives its removal */
    "CREATE TABLE deploys ("
    " service TEXT PRIMARY KEY, thumbprint TEXT NOT NULL,"
    " actor TEXT NOT NULL, started INTEGER NOT NULL);",
    /* 6: get --expiring reads only the certificates that expire soon */
    "CREATE INDEX certificates_not_after ON certificates(not_after);",
    /* 7: what a listing shows, in thumbprint order: a page is read from
     * this index alone, its pages in order, instead of a search of the
     * table a row through the primary key (store_certs.c, LIST_COLS) */
    "CREATE INDEX certificates_listing ON certificates(thumbprint,"
    " subject, issuer, serial, not_before, not_after, domains, key_type,"
    " self_signed, signed_by, sig_state, friendly_name, exportable);",
    /* 8: ACME accounts (store_acme.c): the account key sealed under
     * its own associated data, the URL the CA gave it once registered */
    "CREATE TABLE acme_accounts ("
    " name TEXT PRIMARY KEY, directory TEXT NOT NULL,"
    " key_type TEXT NOT NULL, url TEXT NOT NULL DEFAULT '',"
    " contact TEXT NOT NULL DEFAULT '', sealed BLOB NOT NULL,"
    " created INTEGER NOT NULL);",
    /* 9: what status.c learned of a chain's top that the rows do not
     * say: whether it is one of the system's roots, or verifies to one
     * (store_trust.c), as of the roots' file named in roots.  Kept so a
     * reader without OpenSSL (the certfleet front-end, src/fast)
     * tells a Status; forgotten whenever the store's own self-signed
     * certificates, trust anchors too, come or go. */
    "CREATE TABLE trust_memo ("
    " thumbprint TEXT PRIMARY KEY, roots TEXT NOT NULL,"
    " trusted INTEGER NOT NULL);"
    "CREATE TRIGGER trust_memo_anchor_in AFTER INSERT ON certificates"
    " WHEN NEW.self_signed BEGIN DELETE FROM trust_memo; END;"
    "CREATE TRIGGER trust_memo_anchor_out AFTER DELETE ON certificates"
    " WHEN OLD.self_signed BEGIN DELETE FROM trust_memo; END;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
store_db_error(struct cf_store *s, struct cf_error *err, const char *what)
{
	return cf_errorf(err, CF_E_STORE, "store %s: %s: %s", s->dir, what,
	    sqlite3_errmsg(s->db));
}

static int
exec(struct cf_store *s, const char *sql, struct cf_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		cf_errorf(err, CF_E_STORE, "store %s: %s", s->dir,
		    msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
store_prepare(struct cf_store *s, const char *sql, struct cf_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < s->ncache; i++)
		if (strcmp(s->cache[i].sql, sql) == 0)
			return s->cache[i].st;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
		NULL) != SQLITE_OK) {
		store_db_error(s, err, "prepare");
		return NULL;
	}
	if (s->ncache < STMT_CACHE) {
		s->cache[s->ncache].sql = xstrdup(sql);
		s->cache[s->ncache++].st = st;
	}
	return st;
}

/* Done with st: reset a cached statement, finalize any other. */
void
store_release(struct cf_store *s, sqlite3_stmt *st)
{
	size_t i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

static int
migrate(struct cf_store *s, struct cf_error *err)
{
	sqlite3_stmt *st;
	int version, i;
	char sql[64];

	if ((st = store_prepare(s, "PRAGMA user_version", err)) == NULL)
		return -1;
	version =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	store_release(s, st);
	if (version > SCHEMA_VERSION)
		return cf_errorf(err, CF_E_STORE,
		    "store %s: schema version %d is newer than this certfleet "
		    "understands (%d); upgrade certfleet",
		    s->dir, version, SCHEMA_VERSION);
	if (version == SCHEMA_VERSION)
		return 0;
	if (cf_store_begin(s, err) == -1)
		return -1;
	for (i = version; i < SCHEMA_VERSION; i++)
		if (exec(s, migrations[i], err) == -1)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec(s, sql, err) == -1 || cf_store_commit(s, err) == -1)
		goto fail;
	/* An index built (7) filled this connection's cache and sorter:
	 * given back to the system, not held for the agent's life (4 MB
	 * of its resident size). */
	sqlite3_db_release_memory(s->db);
	malloc_trim(0);
	return 0;
fail:
	cf_store_rollback(s);
	return -1;
}

/* The directory exists (created 0700) and is a directory. */
static int
ensure_dir(const char *dir, struct cf_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return cf_errorf(
		    err, CF_E_IO, "store %s: %s", dir, strerror(errno));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return cf_errorf(
		    err, CF_E_IO, "store %s: not a directory", dir);
	return 0;
}

/* The database at path into s (SQLITE_OPEN_READWRITE or _READONLY),
 * as every connection is set up. */
static int
open_db(struct cf_store *s, const char *path, int mode, struct cf_error *err)
{
	/* No mutex of SQLite's own a connection: a cf_store is used by one
	 * thread at a time (its statement cache requires it already; the
	 * agent opens one a worker), and the mutex taken at every column
	 * read cost a twentieth of a 10,000-row listing. */
	if (sqlite3_open_v2(path, &s->db, mode | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return store_db_error(s, err, "open");
	/* A writer waits for another, whose transactions are short: a
	 * deployment runs outside them (ops_assign.c).  Readers never wait
	 * (WAL). */
	cf_store_set_busy_wait(s, STORE_BUSY_WAIT_MS);
	return exec(s,
	    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=FULL;",
	    err);
}

struct cf_store *
cf_store_open(const char *dir, struct cf_error *err)
{
	struct cf_store *s = xcalloc(1, sizeof(*s));
	char *path = NULL;
	int fd;

	s->dir = xstrdup(dir);
	if (ensure_dir(dir, err) == -1)
		goto fail;
	path = xasprintf("%s/%s", dir, CF_STORE_KEYFILE);
	if ((s->seal = cf_seal_open(path, err)) == NULL)
		goto fail;
	free(path);
	path = xasprintf("%s/%s", dir, CF_STORE_DB);
	/*
	 * Create the database file 0600 before SQLite does (it would use
	 * the umask); its -wal and -shm files take the same mode.  Only a
	 * new file is opened here: closing any descriptor of a database
	 * drops the POSIX locks every connection of this process holds on
	 * it, and the agent keeps several open.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) !=
	    -1)
		close(fd);
	else if (errno != EEXIST) {
		cf_errorf(err, CF_E_IO, "store %s: %s", path, strerror(errno));
		goto fail;
	}
	if (open_db(s, path, SQLITE_OPEN_READWRITE, err) == -1 ||
	    migrate(s, err) == -1)
		goto fail;
	free(path);
	return s;
fail:
	free(path);
	cf_store_free(s);
	return NULL;
}

/* Whether file name of the store in dir is there. */
static int
file_there(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int there = access(path, F_OK) == 0;

	free(path);
	return there;
}

struct cf_store *
cf_store_open_reader(const char *dir, struct cf_error *err)
{
	struct cf_store *s = xcalloc(1, sizeof(*s));
	char *path = xasprintf("%s/%s", dir, CF_STORE_DB);
	sqlite3_stmt *st;
	int version = -1;

	s->dir = xstrdup(dir);
	/* As cf_store_open_existing: a store without its master key is
	 * broken, though a listing would not need the key. */
	if (!cf_store_exists(dir) || !file_there(dir, CF_STORE_KEYFILE)) {
		cf_errorf(
		    err, CF_E_NOTFOUND, "no whole certfleet store in %s", dir);
		goto fail;
	}
	/* Read-only: nor does its close checkpoint the WAL and delete it,
	 * which the next command would make again (a third of a `get` of
	 * one certificate's system calls, when no agent holds the store). */
	if (open_db(s, path, SQLITE_OPEN_READONLY, err) == -1 ||
	    (st = store_prepare(s, "PRAGMA user_version", err)) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	store_release(s, st);
	if (version != SCHEMA_VERSION) {
		cf_errorf(err, CF_E_STORE,
		    "store %s: schema version %d, not this reader's %d", dir,
		    version, SCHEMA_VERSION);
		goto fail;
	}
	free(path);
	return s;
fail:
	free(path);
	cf_store_free(s);
	return NULL;
}

int
cf_store_exists(const char *dir)
{
	return file_there(dir, CF_STORE_DB);
}

struct cf_store *
cf_store_open_existing(const char *dir, struct cf_error *err)
{
	char *key = xasprintf("%s/%s", dir, CF_STORE_KEYFILE);
	struct cf_store *s = NULL;

	/* A new master key beside an old database would open nothing
	 * sealed under the lost one: that is a broken store, not a new
	 * one. */
	if (!cf_store_exists(dir))
		cf_errorf(err, CF_E_NOTFOUND, "no certfleet store in %s", dir);
	else if (access(key, F_OK) != 0)
		cf_errorf(err, CF_E_STORE,
		    "store %s: %s is missing: the keys in the store cannot be "
		    "opened; restore it from a backup",
		    dir, key);
	else
		s = cf_store_open(dir, err);
	free(key);
	return s;
}

void
cf_store_free(struct cf_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_tx)
		cf_store_rollback(s);
	for (i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].st);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	cf_seal_free(s->seal);
	free(s->dir);
	free(s);
}

static int
begin(struct cf_store *s, const char *sql, struct cf_error *err)
{
	if (exec(s, sql, err) == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

/*
 * Writers in one process take turns on a mutex before BEGIN IMMEDIATE.
 * SQLite's own wait (sqlite3_busy_timeout) polls with sleeps that grow
 * to 100 ms, and a newcomer polling at 1 ms wins the lock from a writer
 * that has waited longest: under a steady stream of writes from the
 * agent's workers and its audit thread, one request starved past the
 * timeout and failed with "database is locked" (bench/soak.sh, 9 of
 * 30,000 commands on a loaded machine).  Waiters on a mutex sleep in the
 * kernel and are woken as it is released.  One mutex for every store
 * in the process, recursive, so a thread that writes two stores at once
 * (a copy between local stores) cannot deadlock against another that
 * does the same in the other order; the busy timeout still covers other
 * processes.
 */
#define WRITE_TURN_WAIT 60 /* seconds: past it, a writer is stuck */

void
cf_store_set_busy_wait(struct cf_store *s, int ms)
{
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}

static pthread_mutex_t write_turn;
static pthread_once_t write_turn_once = PTHREAD_ONCE_INIT;

static void
write_turn_init(void)
{
	pthread_mutexattr_t a;

	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(&write_turn, &a) != 0)
		abort(); /* only without memory at start: nothing to save */
	pthread_mutexattr_destroy(&a);
}

int
cf_store_begin(struct cf_store *s, struct cf_error *err)
{
	struct timespec until;
	int e;

	pthread_once(&write_turn_once, write_turn_init);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WRITE_TURN_WAIT;
	if ((e = pthread_mutex_timedlock(&write_turn, &until)) != 0)
		return cf_errorf(err, CF_E_STORE,
		    "store %s: another write of this process has held the "
		    "store for %d s (%s); try again, and if it persists, see "
		    "what the agent is doing (certfleet log)",
		    s->dir, WRITE_TURN_WAIT, strerror(e));
	if (begin(s, "BEGIN IMMEDIATE", err) == -1) {
		pthread_mutex_unlock(&write_turn);
		return -1;
	}
	s->writing = 1;
	return 0;
}

int
store_begin_now(struct cf_store *s)
{
	int rc;

	pthread_once(&write_turn_once, write_turn_init);
	if (pthread_mutex_trylock(&write_turn) != 0)
		return -1;
	sqlite3_busy_timeout(s->db, 0);
	rc = begin(s, "BEGIN IMMEDIATE", NULL);
	sqlite3_busy_timeout(s->db, s->busy_ms);
	if (rc == -1) {
		pthread_mutex_unlock(&write_turn);
		return -1;
	}
	s->writing = 1;
	return 0;
}

/* Gives the write turn back once the transaction has ended. */
static void
write_turn_end(struct cf_store *s)
{
	if (s->writing) {
		s->writing = 0;
		pthread_mutex_unlock(&write_turn);
	}
}

int
cf_store_begin_read(struct cf_store *s, struct cf_error *err)
{
	return begin(s, "BEGIN DEFERRED", err);
}

int
cf_store_commit(struct cf_store *s, struct cf_error *err)
{
	if (exec(s, "COMMIT", err) == -1) {
		cf_store_rollback(s);
		return -1;
	}
	s->in_tx = 0;
	write_turn_end(s);
	return 0;
}

void
cf_store_rollback(struct cf_store *s)
{
	if (!s->in_tx)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
	write_turn_end(s);
}

char *
store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

/* Runs a one-shot statement binding up to three text parameters. */
int
store_run(struct cf_store *s, const char *sql, const char *a, const char *b,
    const char *c, struct cf_error *err)
{
	sqlite3_stmt *st = store_prepare(s, sql, err);
	int rc;

	if (st == NULL)
		return -1;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "write");
	return 0;
}

/* The first column of the first row sql gives for key, into out ("" for
 * no row); what names the read in an error. */
int
store_lookup_one(struct cf_store *s, const char *sql, const char *key,
    char *out, size_t size, const char *what, struct cf_error *err)
{
	sqlite3_stmt *st;
	int step;

	out[0] = '\0';
	if ((st = store_prepare(s, sql, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(
		    out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	store_release(s, st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_db_error(s, err, what);
	return 0;
}

void
cf_store_map(struct cf_store *s)
{
	(void)exec(s, "PRAGMA mmap_size=268435456;", NULL);
}

void
cf_store_set_services(struct cf_store *s, const struct cf_services *conf)
{
	s->services = conf;
}

const struct cf_services *
cf_store_services(const struct cf_store *s)
{
	return s->services;
}
