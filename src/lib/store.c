/* store.c - the SQLite store: see store.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_int.h"

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
	version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
						 : 0;
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
	if (exec(s, sql, err) == -1)
		goto fail;
	return cf_store_commit(s, err);
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
		return cf_errorf(err, CF_E_IO, "store %s: %s", dir,
		    strerror(errno));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return cf_errorf(err, CF_E_IO, "store %s: not a directory",
		    dir);
	return 0;
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
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		store_db_error(s, err, "open");
		goto fail;
	}
	/* A writer waits for another: an enable holds the write lock while
	 * its services reload and are checked (seconds, rolled back within
	 * a minute at worst).  Readers never wait (WAL). */
	sqlite3_busy_timeout(s->db, 60000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
		    "PRAGMA mmap_size=268435456;"
		    "PRAGMA synchronous=FULL;",
		err) == -1 ||
	    migrate(s, err) == -1)
		goto fail;
	free(path);
	return s;
fail:
	free(path);
	cf_store_free(s);
	return NULL;
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
	free(s->rendered.text);
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

int
cf_store_begin(struct cf_store *s, struct cf_error *err)
{
	return begin(s, "BEGIN IMMEDIATE", err);
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
	return 0;
}

void
cf_store_rollback(struct cf_store *s)
{
	if (!s->in_tx)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

void
cf_row_clear(struct cf_row *r)
{
	if (r == NULL)
		return;
	cf_certfacts_clear(&r->f);
	free(r->friendly_name);
	free(r->services);
	free(r->der);
	memset(r, 0, sizeof(*r));
}

void
cf_rows_free(struct cf_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		cf_row_clear(&rows[i]);
	free(rows);
}

char *
store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

static void
col_thumb(sqlite3_stmt *st, int i, char out[CF_THUMB_LEN + 1])
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, CF_THUMB_LEN + 1, "%s", t ? (const char *)t : "");
}

/* The columns both tables share, then the end table's own. */
#define COMMON_COLS                                                            \
	"thumbprint, subject, issuer, serial, not_before, not_after, domains, " \
	"key_type, spki, self_signed, signed_by, sig_state, created"
#define END_COLS                                                               \
	COMMON_COLS ", friendly_name, exportable, modified, "                  \
		    "EXISTS(SELECT 1 FROM keys k WHERE k.thumbprint = c.thumbprint)"

#define DER_COL "(SELECT d.der FROM der d WHERE d.thumbprint = c.thumbprint)"

static void
read_row(sqlite3_stmt *st, enum cf_table table, int with_der,
    struct cf_row *r)
{
	int i = 0;

	memset(r, 0, sizeof(*r));
	r->table = table;
	col_thumb(st, i++, r->f.thumbprint);
	r->f.subject = store_col_text(st, i++);
	r->f.issuer = store_col_text(st, i++);
	r->f.serial = store_col_text(st, i++);
	r->f.not_before = (time_t)sqlite3_column_int64(st, i++);
	r->f.not_after = (time_t)sqlite3_column_int64(st, i++);
	r->f.domains = store_col_text(st, i++);
	r->f.key_type = store_col_text(st, i++);
	snprintf(r->f.spki, sizeof(r->f.spki), "%s",
	    (const char *)sqlite3_column_text(st, i++));
	r->f.self_signed = sqlite3_column_int(st, i++);
	col_thumb(st, i++, r->signed_by);
	r->sig_state = sqlite3_column_int(st, i++);
	r->created = (time_t)sqlite3_column_int64(st, i++);
	if (table == CF_END) {
		r->friendly_name = store_col_text(st, i++);
		r->exportable = sqlite3_column_int(st, i++);
		r->modified = (time_t)sqlite3_column_int64(st, i++);
		r->has_key = sqlite3_column_int(st, i++);
	} else {
		r->friendly_name = xstrdup("");
		r->modified = r->created;
	}
	r->services = xstrdup("");
	if (with_der) {
		const void *blob = sqlite3_column_blob(st, i);
		r->der_len = (size_t)sqlite3_column_bytes(st, i);
		r->der = xmalloc(r->der_len ? r->der_len : 1);
		if (r->der_len)
			memcpy(r->der, blob, r->der_len);
	}
}

/* Steps st to the end, appending rows; finalizes st. */
static int
collect(struct cf_store *s, sqlite3_stmt *st, enum cf_table table,
    int with_der, struct cf_row **rows, size_t *n, struct cf_error *err)
{
	size_t cap = *n;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*rows = xrealloc(*rows, cap * sizeof(**rows));
		}
		read_row(st, table, with_der, &(*rows)[(*n)++]);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "read");
	return 0;
}

static int
cmp_row_thumb(const void *a, const void *b)
{
	return strcmp(((const struct cf_row *)a)->f.thumbprint,
	    ((const struct cf_row *)b)->f.thumbprint);
}

/* Fills the services column of end rows (sorted by thumbprint). */
static int
attach_services(struct cf_store *s, struct cf_row *rows, size_t n,
    struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	st = store_prepare(s, "SELECT service, thumbprint FROM services "
			"ORDER BY service", err);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_row key, *r;
		const char *svc = (const char *)sqlite3_column_text(st, 0);
		memset(&key, 0, sizeof(key));
		col_thumb(st, 1, key.f.thumbprint);
		r = bsearch(&key, rows, n, sizeof(*rows), cmp_row_thumb);
		if (r == NULL)
			continue;
		if (r->services[0] == '\0') {
			free(r->services);
			r->services = xstrdup(svc);
		} else {
			char *joined = xasprintf("%s,%s", r->services, svc);
			free(r->services);
			r->services = joined;
		}
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "read services");
	return 0;
}

int
cf_store_list(struct cf_store *s, enum cf_table table, const char *thumb,
    int with_der, struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	char *sql;

	*rows = NULL;
	*n = 0;
	sql = xasprintf("SELECT %s%s FROM %s c %s ORDER BY thumbprint",
	    table == CF_END ? END_COLS : COMMON_COLS,
	    with_der ? ", " DER_COL : "",
	    table == CF_END ? "certificates" : "chain_certs",
	    thumb ? "WHERE thumbprint = ?1" : "");
	st = store_prepare(s, sql, err);
	free(sql);
	if (st == NULL)
		return -1;
	if (thumb)
		sqlite3_bind_text(st, 1, thumb, -1, SQLITE_TRANSIENT);
	if (collect(s, st, table, with_der, rows, n, err) == -1 ||
	    (table == CF_END && attach_services(s, *rows, *n, err) == -1)) {
		cf_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
cf_store_fetch(struct cf_store *s, const char *thumb, struct cf_row *out,
    struct cf_error *err)
{
	struct cf_row *rows = NULL;
	size_t n = 0;
	enum cf_table t;

	memset(out, 0, sizeof(*out));
	for (t = CF_END; t <= CF_CHAIN; t++) {
		if (cf_store_list(s, t, thumb, 1, &rows, &n, err) == -1)
			return -1;
		if (n == 1) {
			*out = rows[0];
			free(rows);
			return 1;
		}
		cf_rows_free(rows, n);
	}
	return 0;
}

int
cf_store_where(struct cf_store *s, const char *thumb, int *in_end,
    int *in_chain, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT EXISTS(SELECT 1 FROM certificates WHERE "
			"thumbprint = ?1), EXISTS(SELECT 1 FROM chain_certs "
			"WHERE thumbprint = ?1)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*in_end = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	*in_chain = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
	store_release(s, st);
	if (rc != SQLITE_ROW)
		return store_db_error(s, err, "read");
	return 0;
}

/* Rows of both tables matching "col = value", with DER. */
static int
select_both(struct cf_store *s, const char *where, const char *value,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	enum cf_table t;
	char *sql;

	*rows = NULL;
	*n = 0;
	for (t = CF_END; t <= CF_CHAIN; t++) {
		sql = xasprintf("SELECT %s, " DER_COL " FROM %s c WHERE %s",
		    t == CF_END ? END_COLS : COMMON_COLS,
		    t == CF_END ? "certificates" : "chain_certs", where);
		st = store_prepare(s, sql, err);
		free(sql);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
		if (collect(s, st, t, 1, rows, n, err) == -1)
			goto fail;
	}
	return 0;
fail:
	cf_rows_free(*rows, *n);
	*rows = NULL;
	*n = 0;
	return -1;
}

int
cf_store_by_subject(struct cf_store *s, const char *subject,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	return select_both(s, "subject = ?1", subject, rows, n, err);
}

int
cf_store_unlinked_by_issuer(struct cf_store *s, const char *issuer,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	return select_both(s,
	    "issuer = ?1 AND self_signed = 0 AND (signed_by = '' OR "
	    "sig_state = 2)",
	    issuer,
	    rows, n, err);
}

int
cf_store_resolve(struct cf_store *s, const char *arg,
    char out[CF_THUMB_LEN + 1], struct cf_error *err)
{
	char prefix[CF_THUMB_LEN + 1], hi[CF_THUMB_LEN + 2];
	char list[300] = "";
	sqlite3_stmt *st;
	int rc, count = 0;

	out[0] = '\0';
	if (!cf_thumb_prefix_ok(arg, prefix))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: not a thumbprint (8 to 40 hexadecimal digits)", arg);
	/* Range scan on the primary key: prefix <= t < prefix + 'G'. */
	snprintf(hi, sizeof(hi), "%sG", prefix);
	st = store_prepare(s,
	    "SELECT thumbprint FROM certificates WHERE thumbprint >= ?1 AND "
	    "thumbprint < ?2 UNION ALL SELECT thumbprint FROM requests WHERE "
	    "thumbprint >= ?1 AND thumbprint < ?2 ORDER BY thumbprint LIMIT 6",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (count++ == 0)
			snprintf(out, CF_THUMB_LEN + 1, "%s", t);
		if (count <= 5) {
			size_t len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    len ? ", " : "", t);
		}
	}
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "resolve");
	if (count == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such certificate in the store", arg);
	if (count > 1) {
		out[0] = '\0';
		return cf_errorf(err, CF_E_AMBIGUOUS,
		    "%s: ambiguous thumbprint prefix; it matches %s%s; give "
		    "more digits",
		    arg, list, count > 5 ? ", ..." : "");
	}
	return 0;
}

int
cf_store_insert(struct cf_store *s, const struct cf_row *r,
    struct cf_error *err)
{
	sqlite3_stmt *st;
	time_t now = time(NULL);
	int i = 1, rc;

	if (r->table == CF_END)
		st = store_prepare(s,
		    "INSERT INTO certificates (thumbprint, subject, issuer,"
		    " serial, not_before, not_after, domains, key_type, spki,"
		    " self_signed, signed_by, sig_state, friendly_name,"
		    " exportable, created, modified) VALUES (?1, ?3, ?4,"
		    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		    " ?16)",
		    err);
	else
		st = store_prepare(s,
		    "INSERT INTO chain_certs (thumbprint, subject, issuer,"
		    " serial, not_before, not_after, domains, key_type, spki,"
		    " self_signed, signed_by, sig_state, created) VALUES (?1,"
		    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?16)",
		    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, i++, r->f.thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, i++, r->der, (int)r->der_len, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)r->f.not_before);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)r->f.not_after);
	sqlite3_bind_text(st, i++, r->f.domains, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->f.spki, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, r->f.self_signed);
	sqlite3_bind_text(st, i++, r->signed_by, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, r->sig_state);
	if (r->table == CF_END) {
		sqlite3_bind_text(st, i++, r->friendly_name ? r->friendly_name
							    : "",
		    -1, SQLITE_STATIC);
		sqlite3_bind_int(st, i++, r->exportable);
	}
	sqlite3_bind_int64(st, 16, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "insert certificate");
	st = store_prepare(s, "INSERT OR IGNORE INTO der (thumbprint, der) "
			"VALUES (?1, ?2)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->f.thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->der, (int)r->der_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "insert certificate");
	return 0;
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

int
cf_store_link(struct cf_store *s, enum cf_table table, const char *thumb,
    const char *signed_by, int state, struct cf_error *err)
{
	char st[4];

	snprintf(st, sizeof(st), "%d", state);
	return store_run(s,
	    table == CF_END
		? "UPDATE certificates SET signed_by = ?2, sig_state = ?3 "
		  "WHERE thumbprint = ?1"
		: "UPDATE chain_certs SET signed_by = ?2, sig_state = ?3 "
		  "WHERE thumbprint = ?1",
	    thumb, signed_by, st, err);
}

int
cf_store_set_flags(struct cf_store *s, const char *thumb,
    const char *friendly_name, int exportable, struct cf_error *err)
{
	char now[32];

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (store_run(s,
		"UPDATE certificates SET friendly_name = ?2, modified = ?3 "
		"WHERE thumbprint = ?1",
		thumb, friendly_name, now, err) == -1)
		return -1;
	return store_run(s,
	    exportable ? "UPDATE certificates SET exportable = 1 "
			 "WHERE thumbprint = ?1"
		       : "UPDATE certificates SET exportable = 0 "
			 "WHERE thumbprint = ?1",
	    thumb, NULL, NULL, err);
}

int
cf_store_delete(struct cf_store *s, const char *thumb, struct cf_error *err)
{
	if (store_run(s, "DELETE FROM services WHERE thumbprint = ?1", thumb, NULL,
		NULL, err) == -1 ||
	    store_run(s, "DELETE FROM keys WHERE thumbprint = ?1", thumb, NULL, NULL,
		err) == -1 ||
	    store_run(s, "DELETE FROM certificates WHERE thumbprint = ?1", thumb,
		NULL, NULL, err) == -1)
		return -1;
	/* Chain certificates are kept while anything links to them. */
	for (;;) {
		if (store_run(s,
			"DELETE FROM chain_certs WHERE thumbprint NOT IN "
			"(SELECT signed_by FROM certificates UNION "
			" SELECT signed_by FROM chain_certs "
			" WHERE signed_by <> thumbprint)",
			NULL, NULL, NULL, err) == -1)
			return -1;
		if (sqlite3_changes(s->db) == 0)
			break;
	}
	return store_run(s,
	    "DELETE FROM der WHERE thumbprint NOT IN (SELECT thumbprint FROM "
	    "certificates UNION SELECT thumbprint FROM chain_certs)",
	    NULL, NULL, NULL, err);
}

static char *
aad_new(const char *thumb)
{
	return xasprintf("certfleet-key-v1:%s", thumb);
}

int
cf_store_key_put(struct cf_store *s, const char *thumb,
    const unsigned char *pkcs8, size_t len, struct cf_error *err)
{
	struct cf_buf sealed = {0};
	sqlite3_stmt *st = NULL;
	char *aad = aad_new(thumb);
	int rc = -1;

	if (cf_seal(s->seal, aad, pkcs8, len, &sealed, err) == -1)
		goto out;
	st = store_prepare(s, "INSERT OR REPLACE INTO keys (thumbprint, sealed) "
			"VALUES (?1, ?2)", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sealed.data, (int)sealed.len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_error(s, err, "store key");
		goto out;
	}
	rc = 0;
out:
	store_release(s, st);
	cf_buf_clear(&sealed);
	free(aad);
	return rc;
}

int
cf_store_key_get(struct cf_store *s, const char *thumb,
    struct cf_secret **pkcs8, struct cf_error *err)
{
	sqlite3_stmt *st;
	char *aad = NULL;
	int rc = -1, step;

	*pkcs8 = NULL;
	st = store_prepare(s, "SELECT sealed FROM keys WHERE thumbprint = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, thumb, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: the store has no private key for this certificate",
		    thumb);
		goto out;
	}
	if (step != SQLITE_ROW) {
		store_db_error(s, err, "read key");
		goto out;
	}
	aad = aad_new(thumb);
	if (cf_unseal(s->seal, aad, sqlite3_column_blob(st, 0),
		(size_t)sqlite3_column_bytes(st, 0), pkcs8, err) == -1) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		cf_errorf(err, CF_E_CRYPTO, "%s: %s", thumb, msg);
		goto out;
	}
	rc = 0;
out:
	store_release(s, st);
	free(aad);
	return rc;
}

/* The first column of the first row sql gives for key, into out ("" for
 * no row); what names the read in an error. */
static int
lookup_one(struct cf_store *s, const char *sql, const char *key, char *out,
    size_t size, const char *what, struct cf_error *err)
{
	sqlite3_stmt *st;
	int step;

	out[0] = '\0';
	if ((st = store_prepare(s, sql, err)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(out, size, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	store_release(s, st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_db_error(s, err, what);
	return 0;
}

int
cf_store_service_owner(struct cf_store *s, const char *service,
    char owner[CF_THUMB_LEN + 1], struct cf_error *err)
{
	return lookup_one(s, "SELECT thumbprint FROM services WHERE service = ?1",
	    service, owner, CF_THUMB_LEN + 1, "read services", err);
}

int
cf_store_by_spki(struct cf_store *s, const char *spki,
    char out[CF_THUMB_LEN + 1], struct cf_error *err)
{
	return lookup_one(s,
	    "SELECT thumbprint FROM certificates WHERE spki = ?1 "
	    "ORDER BY not_after DESC LIMIT 1",
	    spki, out, CF_THUMB_LEN + 1, "read", err);
}

int
cf_store_service_set(struct cf_store *s, const char *service,
    const char *thumb, struct cf_error *err)
{
	return store_run(s,
	    "INSERT OR REPLACE INTO services (service, thumbprint) "
	    "VALUES (?1, ?2)",
	    service, thumb, NULL, err);
}

int
cf_store_service_clear(struct cf_store *s, const char *service,
    struct cf_error *err)
{
	return store_run(s, "DELETE FROM services WHERE service = ?1", service, NULL,
	    NULL, err);
}

int
cf_store_service_list(struct cf_store *s, char ***names, size_t *n,
    struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*names = NULL;
	*n = 0;
	if ((st = store_prepare(s, "SELECT service FROM services ORDER BY service",
		 err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*names = xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = store_col_text(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		while (*n > 0)
			free((*names)[--*n]);
		free(*names);
		*names = NULL;
		return store_db_error(s, err, "read services");
	}
	return 0;
}

int
cf_store_client_set(struct cf_store *s, const char *fingerprint,
    const char *role, struct cf_error *err)
{
	char now[32];

	if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: unknown role; the roles are admin and reader", role);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return store_run(s,
	    "INSERT INTO clients (fingerprint, role, created) VALUES "
	    "(?1, ?2, ?3) ON CONFLICT (fingerprint) DO UPDATE SET role = ?2",
	    fingerprint, role, now, err);
}

int
cf_store_client_remove(struct cf_store *s, const char *fingerprint,
    struct cf_error *err)
{
	if (store_run(s, "DELETE FROM clients WHERE fingerprint = ?1", fingerprint,
		NULL, NULL, err) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: not an authorized client", fingerprint);
	return 0;
}

int
cf_store_client_role(struct cf_store *s, const char *fingerprint,
    char role[16], struct cf_error *err)
{
	return lookup_one(s, "SELECT role FROM clients WHERE fingerprint = ?1",
	    fingerprint, role, 16, "read clients", err);
}

/* What identifies the store's contents now: PRAGMA data_version moves
 * when other connections commit, total_changes when this one writes. */
static void
contents_version(struct cf_store *s, long long *data_version,
    long long *changes)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA data_version", NULL);

	*data_version = -1;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		*data_version = sqlite3_column_int64(st, 0);
	if (st != NULL)
		store_release(s, st);
	*changes = (long long)sqlite3_total_changes64(s->db);
}

const char *
cf_store_cached(struct cf_store *s)
{
	long long dv, ch;

	if (s->rendered.text == NULL || s->rendered.second != time(NULL))
		return NULL;
	contents_version(s, &dv, &ch);
	if (dv != s->rendered.data_version || ch != s->rendered.changes ||
	    dv == -1)
		return NULL;
	return s->rendered.text;
}

void
cf_store_cache_mark(struct cf_store *s)
{
	free(s->rendered.text);
	s->rendered.text = NULL;
	s->rendered.second = time(NULL);
	contents_version(s, &s->rendered.data_version, &s->rendered.changes);
}

void
cf_store_cache(struct cf_store *s, char *text)
{
	free(s->rendered.text);
	s->rendered.text = text;
}

int
cf_store_audit(struct cf_store *s, const char *actor, const char *op,
    const char *thumb, const char *outcome, struct cf_error *err)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "INSERT INTO audit (time, actor, operation, "
			"thumbprint, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, thumb ? thumb : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, outcome, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "audit");
	return 0;
}

int
cf_store_audit_list(struct cf_store *s, time_t since, struct cf_audit **recs,
    size_t *n, struct cf_error *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*recs = NULL;
	*n = 0;
	st = store_prepare(s, "SELECT id, time, actor, operation, thumbprint, "
			"outcome FROM audit WHERE time >= ?1 ORDER BY id", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cf_audit *a;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*recs = xrealloc(*recs, cap * sizeof(**recs));
		}
		a = &(*recs)[(*n)++];
		a->id = sqlite3_column_int64(st, 0);
		a->time = (time_t)sqlite3_column_int64(st, 1);
		a->actor = store_col_text(st, 2);
		a->op = store_col_text(st, 3);
		a->thumb = store_col_text(st, 4);
		a->outcome = store_col_text(st, 5);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		cf_audit_free(*recs, *n);
		*recs = NULL;
		*n = 0;
		return store_db_error(s, err, "read audit");
	}
	return 0;
}

void
cf_audit_free(struct cf_audit *recs, size_t n)
{
	size_t i;

	for (i = 0; recs != NULL && i < n; i++) {
		free(recs[i].actor);
		free(recs[i].op);
		free(recs[i].thumb);
		free(recs[i].outcome);
	}
	free(recs);
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
