/* test_backup.c - the backup file, the store's snapshot, and the master
 * key wrapped under a passphrase. */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "check.h"
#include "store.h"

/* A store in dir with one audit record; its master key into *seal. */
static int
make_store(const char *dir, struct cf_seal **seal)
{
	struct cf_error err;
	struct cf_store *s = cf_store_open(dir, &err);
	char *mk = NULL;
	int ok;

	ok = s != NULL && cf_store_begin(s, &err) == 0 &&
	     cf_store_audit(s, "test", "import", "", "one", &err) == 0 &&
	     cf_store_commit(s, &err) == 0;
	cf_store_free(s);
	mk = xasprintf("%s/%s", dir, CF_STORE_KEYFILE);
	*seal = ok ? cf_seal_load(mk, &err) : NULL;
	free(mk);
	return *seal != NULL;
}

static void
test_wrap(const struct cf_seal *seal, const struct cf_seal *other)
{
	struct cf_secret *pass = cf_secret_new("passphrase", 10);
	struct cf_secret *wrong = cf_secret_new("passphrasf", 10);
	unsigned char blob[CF_SEAL_WRAP_LEN], a[32], b[32];
	struct cf_seal *back;
	struct cf_error err;

	CHECK(cf_seal_wrap(seal, pass, "aad", blob, &err) == 0,
	    "wrap: wraps the master key");
	back = cf_seal_unwrap(blob, sizeof(blob), pass, "aad", &err);
	CHECK(back != NULL && cf_seal_derive(back, "x", a, 32, &err) == 0 &&
		  cf_seal_derive(seal, "x", b, 32, &err) == 0 &&
		  memcmp(a, b, 32) == 0,
	    "wrap: unwraps to the same key");
	cf_seal_free(back);
	CHECK(cf_seal_derive(other, "x", b, 32, &err) == 0 &&
		  memcmp(a, b, 32) != 0,
	    "derive: another master key derives another key");
	CHECK(cf_seal_derive(seal, "y", b, 32, &err) == 0 &&
		  memcmp(a, b, 32) != 0,
	    "derive: another label derives another key");
	CHECK(cf_seal_unwrap(blob, sizeof(blob), wrong, "aad", &err) == NULL &&
		  err.code == CF_E_PASSWORD,
	    "wrap: a wrong passphrase is CF_E_PASSWORD");
	CHECK(cf_seal_unwrap(blob, sizeof(blob), pass, "other", &err) == NULL,
	    "wrap: another aad does not open it");
	blob[4] = 30; /* N = 2^30: a gigantic scrypt */
	CHECK(cf_seal_unwrap(blob, sizeof(blob), pass, "aad", &err) == NULL &&
		  err.code == CF_E_PARSE,
	    "wrap: scrypt parameters out of bounds are refused unrun");
	cf_secret_free(pass);
	cf_secret_free(wrong);
}

/* What the backup tests share: two stores' master keys, the passphrase,
 * and a backup's contents (a snapshot of the first store). */
struct fixture {
	struct cf_seal *seal, *other;
	struct cf_secret *pass;
	struct cf_backup in;
};

static void
test_snapshot(const char *db)
{
	struct cf_buf snap = {0}, none = {0};
	struct cf_error err;
	int schema = 0;

	CHECK(cf_backup_snapshot(db, &snap, &schema, &err) == 0 &&
		  snap.len > 0 &&
		  memcmp(snap.data, "SQLite format 3", 15) == 0 && schema > 0,
	    "snapshot: an SQLite database with its schema version");
	CHECK(cf_backup_snapshot(
		  "/nonexistent/store.db", &none, &schema, &err) == -1 &&
		  err.code == CF_E_STORE,
	    "snapshot: a missing store is an error");
	cf_buf_clear(&snap);
	cf_buf_clear(&none);
}

/* A backup carrying the master key: written sealed, read, opened by the
 * key it carries and by no other, and a flipped bit is caught. */
static void
test_open(const struct fixture *fx)
{
	struct cf_buf file = {0};
	struct cf_backup out;
	struct cf_seal *mk;
	struct cf_error err;

	CHECK(cf_backup_write(&fx->in, fx->seal, fx->pass, &file, &err) == 0,
	    "write: with the master key");
	CHECK(memmem(file.data, file.len, "PRIVATE KEY", 11) == NULL,
	    "write: the identity key is sealed");
	CHECK(cf_backup_read(file.data, file.len, &out, &err) == 0 &&
		  strcmp(out.meta, fx->in.meta) == 0 && out.key == NULL &&
		  out.store.len == fx->in.store.len && out.wrapped.len > 0,
	    "read: parses, identity key still sealed");
	mk = cf_backup_master_key(&out, fx->pass, &err);
	CHECK(mk != NULL && cf_backup_open(&out, file.data, mk, &err) == 0 &&
		  out.key->len == 27 &&
		  memcmp(out.key->data, fx->in.key->data, 27) == 0,
	    "open: the carried master key opens the identity key");
	CHECK(cf_backup_open(&out, file.data, fx->other, &err) == -1 &&
		  err.code == CF_E_CRYPTO,
	    "open: another master key is refused");
	file.data[file.len / 2] ^= 1;
	CHECK(cf_backup_open(&out, file.data, mk, &err) == -1,
	    "open: a flipped bit is detected");
	cf_seal_free(mk);
	cf_backup_clear(&out);
	cf_buf_clear(&file);
}

/* Files that are not a whole backup of this format are refused. */
static void
test_read_errors(const struct fixture *fx)
{
	struct cf_buf file = {0};
	struct cf_backup out;
	struct cf_error err;

	if (cf_backup_write(&fx->in, fx->seal, fx->pass, &file, &err) != 0) {
		CHECK(0, "read: a backup to spoil");
		return;
	}
	CHECK(cf_backup_read(file.data, file.len - 1, &out, &err) == -1 &&
		  err.code == CF_E_PARSE,
	    "read: a truncated file is refused");
	CHECK(cf_backup_read((const unsigned char *)"SQLite format 3", 15, &out,
		  &err) == -1,
	    "read: not a backup is refused");
	file.data[11] = 2;
	CHECK(cf_backup_read(file.data, file.len, &out, &err) == -1 &&
		  strstr(err.msg, "version 2") != NULL,
	    "read: another format version is refused, named");
	cf_buf_clear(&file);
}

/* Without the master key the backup opens only with the store's own. */
static void
test_no_master(const struct fixture *fx)
{
	struct cf_buf file = {0};
	struct cf_backup out;
	struct cf_error err;

	CHECK(cf_backup_write(&fx->in, fx->seal, NULL, &file, &err) == 0 &&
		  cf_backup_read(file.data, file.len, &out, &err) == 0 &&
		  out.wrapped.data == NULL,
	    "write: without the master key, no MKEY");
	CHECK(cf_backup_master_key(&out, fx->pass, &err) == NULL &&
		  err.code == CF_E_NOTFOUND,
	    "read: no master key to open");
	CHECK(cf_backup_open(&out, file.data, fx->seal, &err) == 0,
	    "open: the store's own master key opens it");
	cf_backup_clear(&out);
	cf_buf_clear(&file);
}

int
main(int argc, char **argv)
{
	char dir[512], dir2[512], db[600];
	struct fixture fx;
	struct cf_error err;
	int schema = 0;

	check_init(argc, argv);
	memset(&fx, 0, sizeof(fx));
	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	snprintf(dir2, sizeof(dir2), "%s/other", check_tmpdir());
	snprintf(db, sizeof(db), "%s/%s", dir, CF_STORE_DB);
	CHECK(make_store(dir, &fx.seal) && make_store(dir2, &fx.other),
	    "setup: two stores");
	fx.pass = cf_secret_new("passphrase", 10);
	fx.in.meta = "{\"Agent\":\"t\"}";
	fx.in.cert.data = (unsigned char *)"CERT";
	fx.in.cert.len = 4;
	fx.in.key = cf_secret_new("-----BEGIN PRIVATE KEY-----", 27);
	if (cf_backup_snapshot(db, &fx.in.store, &schema, &err) != 0)
		CHECK(0, "setup: a snapshot to back up");

	if (check_test("wrap"))
		test_wrap(fx.seal, fx.other);
	if (check_test("snapshot"))
		test_snapshot(db);
	if (check_test("open"))
		test_open(&fx);
	if (check_test("read_errors"))
		test_read_errors(&fx);
	if (check_test("no_master"))
		test_no_master(&fx);

	cf_secret_free(fx.in.key);
	cf_buf_clear(&fx.in.store);
	cf_secret_free(fx.pass);
	cf_seal_free(fx.seal);
	cf_seal_free(fx.other);
	return check_done();
}
