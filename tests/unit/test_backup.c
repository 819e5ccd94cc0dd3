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

int
main(void)
{
	char dir[512], dir2[512], db[600];
	struct cf_seal *seal = NULL, *other = NULL, *mk;
	struct cf_secret *pass = cf_secret_new("passphrase", 10);
	struct cf_backup in, out;
	struct cf_buf file = {0}, snap = {0};
	struct cf_error err;
	int schema = 0;

	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	snprintf(dir2, sizeof(dir2), "%s/other", check_tmpdir());
	snprintf(db, sizeof(db), "%s/%s", dir, CF_STORE_DB);
	CHECK(make_store(dir, &seal) && make_store(dir2, &other),
	    "setup: two stores");
	test_wrap(seal, other);

	CHECK(cf_backup_snapshot(db, &snap, &schema, &err) == 0 &&
		  snap.len > 0 &&
		  memcmp(snap.data, "SQLite format 3", 15) == 0 && schema > 0,
	    "snapshot: an SQLite database with its schema version");
	CHECK(cf_backup_snapshot(
		  "/nonexistent/store.db", &file, &schema, &err) == -1 &&
		  err.code == CF_E_STORE,
	    "snapshot: a missing store is an error");

	memset(&in, 0, sizeof(in));
	in.meta = "{\"Agent\":\"t\"}";
	in.cert.data = (unsigned char *)"CERT";
	in.cert.len = 4;
	in.key = cf_secret_new("-----BEGIN PRIVATE KEY-----", 27);
	in.store = snap;
	CHECK(cf_backup_write(&in, seal, pass, &file, &err) == 0,
	    "write: with the master key");
	CHECK(memmem(file.data, file.len, "PRIVATE KEY", 11) == NULL,
	    "write: the identity key is sealed");
	CHECK(cf_backup_read(file.data, file.len, &out, &err) == 0 &&
		  strcmp(out.meta, in.meta) == 0 && out.key == NULL &&
		  out.store.len == snap.len && out.wrapped.len > 0,
	    "read: parses, identity key still sealed");
	mk = cf_backup_master_key(&out, pass, &err);
	CHECK(mk != NULL && cf_backup_open(&out, file.data, mk, &err) == 0 &&
		  out.key->len == 27 &&
		  memcmp(out.key->data, in.key->data, 27) == 0,
	    "open: the carried master key opens the identity key");
	CHECK(cf_backup_open(&out, file.data, other, &err) == -1 &&
		  err.code == CF_E_CRYPTO,
	    "open: another master key is refused");
	file.data[file.len / 2] ^= 1;
	CHECK(cf_backup_open(&out, file.data, mk, &err) == -1,
	    "open: a flipped bit is detected");
	file.data[file.len / 2] ^= 1;
	cf_seal_free(mk);
	cf_backup_clear(&out);

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

	CHECK(cf_backup_write(&in, seal, NULL, &file, &err) == 0 &&
		  cf_backup_read(file.data, file.len, &out, &err) == 0 &&
		  out.wrapped.data == NULL,
	    "write: without the master key, no MKEY");
	CHECK(cf_backup_master_key(&out, pass, &err) == NULL &&
		  err.code == CF_E_NOTFOUND,
	    "read: no master key to open");
	CHECK(cf_backup_open(&out, file.data, seal, &err) == 0,
	    "open: the store's own master key opens it");
	cf_backup_clear(&out);
	cf_buf_clear(&file);
	cf_secret_free(in.key);
	cf_buf_clear(&snap);
	cf_secret_free(pass);
	cf_seal_free(seal);
	cf_seal_free(other);
	return check_done();
}
