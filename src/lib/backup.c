/*
 * backup.c - the backup file and the store's snapshot: see backup.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "backup.h"

#define MAGIC "CFBACKUP"
#define MAGIC_LEN 8
#define VERSION 1
#define HEAD_LEN (MAGIC_LEN + 4)
#define REC_HEAD 12 /* tag and length */
#define MAC_LEN 32
#define AAD_KEY "certfleet backup agent.key"
#define AAD_MASTER "certfleet backup master.key"
#define MAC_LABEL "certfleet backup v1 HMAC-SHA256"
#define SMALL_MAX (1024 * 1024) /* META, CERT, IKEY */
#define SNAPSHOT_BUSY_MS 60000

/* Runs sql, which returns one integer, on db; -1 on failure. */
static long long
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* 1 when PRAGMA quick_check on db says "ok". */
static int
quick_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok =
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return ok;
}

int
cf_backup_snapshot(
    const char *db_path, struct cf_buf *out, int *schema, struct cf_error *err)
{
	sqlite3 *src = NULL, *mem = NULL;
	sqlite3_backup *b = NULL;
	unsigned char *bytes = NULL;
	sqlite3_int64 size = 0;
	long long waited = 0;
	int step, rc = -1;

	out->data = NULL;
	out->len = 0;
	if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		cf_errorf(err, CF_E_STORE, "store %s: %s", db_path,
		    sqlite3_errmsg(src));
		goto out;
	}
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK ||
	    (b = sqlite3_backup_init(mem, "main", src, "main")) == NULL) {
		cf_errorf(err, CF_E_STORE, "store %s: snapshot: %s", db_path,
		    sqlite3_errmsg(mem));
		goto out;
	}
	/* All pages in one step: one read transaction, so one commit's
	 * state.  Busy only while another connection checkpoints or
	 * recovers the WAL: wait for it as the agent's writers do. */
	while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	       step == SQLITE_LOCKED) {
		if (waited >= SNAPSHOT_BUSY_MS)
			break;
		sqlite3_sleep(50);
		waited += 50;
	}
	sqlite3_backup_finish(b);
	if (step != SQLITE_DONE) {
		cf_errorf(err, CF_E_STORE, "store %s: snapshot: %s", db_path,
		    sqlite3_errstr(step));
		goto out;
	}
	if (!quick_check(mem)) {
		cf_errorf(err, CF_E_STORE,
		    "store %s: the snapshot fails SQLite's quick_check; the "
		    "store is damaged",
		    db_path);
		goto out;
	}
	*schema = (int)pragma_int(mem, "PRAGMA user_version");
	if ((bytes = sqlite3_serialize(mem, "main", &size, 0)) == NULL) {
		cf_errorf(err, CF_E_STORE, "store %s: snapshot: out of memory",
		    db_path);
		goto out;
	}
	out->data = xmalloc((size_t)size);
	memcpy(out->data, bytes, (size_t)size);
	out->len = (size_t)size;
	rc = 0;
out:
	sqlite3_free(bytes);
	sqlite3_close(mem);
	sqlite3_close(src);
	return rc;
}

void
cf_backup_clear(struct cf_backup *b)
{
	if (b == NULL)
		return;
	free(b->meta);
	cf_buf_clear(&b->cert);
	cf_secret_free(b->key);
	cf_buf_clear(&b->store);
	cf_buf_clear(&b->wrapped);
	cf_buf_clear(&b->sealed_key);
	memset(b, 0, sizeof(*b));
}

/* Appends len bytes of p to out (grown as needed). */
static void
put(struct cf_buf *out, const void *p, size_t len)
{
	out->data = xrealloc(out->data, out->len + len);
	memcpy(out->data + out->len, p, len);
	out->len += len;
}

static void
put_be(struct cf_buf *out, uint64_t v, int bytes)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	put(out, b, (size_t)bytes);
}

static void
put_record(struct cf_buf *out, const char *tag, const void *p, size_t len)
{
	put(out, tag, 4);
	put_be(out, len, 8);
	put(out, p, len);
}

/* HMAC-SHA256 of len bytes of data under the key derived from seal. */
static int
backup_mac(const struct cf_seal *seal, const unsigned char *data, size_t len,
    unsigned char mac[MAC_LEN], struct cf_error *err)
{
	unsigned char key[32];
	size_t n = 0;
	int rc = -1;

	if (cf_seal_derive(seal, MAC_LABEL, key, sizeof(key), err) == -1)
		goto out;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key),
		data, len, mac, MAC_LEN, &n) == NULL ||
	    n != MAC_LEN) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "backup: HMAC failed");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
cf_backup_write(const struct cf_backup *b, const struct cf_seal *seal,
    const struct cf_secret *pass, struct cf_buf *out, struct cf_error *err)
{
	struct cf_buf f = {0}, sealed = {0};
	unsigned char wrapped[CF_SEAL_WRAP_LEN], mac[MAC_LEN];
	int rc = -1;

	out->data = NULL;
	out->len = 0;
	if (cf_seal((struct cf_seal *)seal, AAD_KEY,
		(const unsigned char *)b->key->data, b->key->len, &sealed,
		err) == -1)
		goto out;
	if (pass != NULL &&
	    cf_seal_wrap(seal, pass, AAD_MASTER, wrapped, err) == -1)
		goto out;
	put(&f, MAGIC, MAGIC_LEN);
	put_be(&f, VERSION, 4);
	put_record(&f, "META", b->meta, strlen(b->meta));
	put_record(&f, "CERT", b->cert.data, b->cert.len);
	put_record(&f, "IKEY", sealed.data, sealed.len);
	put_record(&f, "STOR", b->store.data, b->store.len);
	if (pass != NULL)
		put_record(&f, "MKEY", wrapped, sizeof(wrapped));
	if (backup_mac(seal, f.data, f.len, mac, err) == -1)
		goto out;
	put_record(&f, "HMAC", mac, sizeof(mac));
	*out = f;
	f.data = NULL;
	rc = 0;
out:
	cf_buf_clear(&f);
	cf_buf_clear(&sealed);
	return rc;
}

static uint64_t
get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* The buffer for a record's tag in b, with its cap; NULL: unknown. */
static struct cf_buf *
record_slot(struct cf_backup *b, const unsigned char *tag, size_t *max)
{
	*max = SMALL_MAX;
	if (memcmp(tag, "CERT", 4) == 0)
		return &b->cert;
	if (memcmp(tag, "IKEY", 4) == 0)
		return &b->sealed_key;
	if (memcmp(tag, "MKEY", 4) == 0)
		return &b->wrapped;
	*max = CF_BACKUP_MAX;
	if (memcmp(tag, "STOR", 4) == 0)
		return &b->store;
	return NULL;
}

/* One record at data[*off] into b; 1 at the HMAC (the end). */
static int
read_record(const unsigned char *data, size_t len, size_t *off,
    struct cf_backup *b, struct cf_error *err)
{
	const unsigned char *tag = data + *off;
	struct cf_buf *slot;
	uint64_t n;
	size_t max;

	if (len - *off < REC_HEAD)
		return cf_errorf(err, CF_E_PARSE,
		    "truncated (no HMAC at the "
		    "end)");
	n = get_be(tag + 4, 8);
	if (n > len - *off - REC_HEAD)
		return cf_errorf(err, CF_E_PARSE, "truncated in record %.4s",
		    (const char *)tag);
	if (memcmp(tag, "HMAC", 4) == 0) {
		if (n != MAC_LEN || *off + REC_HEAD + n != len)
			return cf_errorf(
			    err, CF_E_PARSE, "the HMAC is not the last record");
		b->mac_len = *off;
		memcpy(b->mac, tag + REC_HEAD, MAC_LEN);
		return 1;
	}
	if (memcmp(tag, "META", 4) == 0) {
		if (b->meta != NULL || n > SMALL_MAX)
			return cf_errorf(err, CF_E_PARSE, "bad META record");
		b->meta = xmalloc((size_t)n + 1);
		memcpy(b->meta, tag + REC_HEAD, (size_t)n);
		b->meta[n] = '\0';
	} else if ((slot = record_slot(b, tag, &max)) != NULL) {
		if (slot->data != NULL || n > max || n == 0)
			return cf_errorf(err, CF_E_PARSE, "bad %.4s record",
			    (const char *)tag);
		slot->data = xmalloc((size_t)n);
		memcpy(slot->data, tag + REC_HEAD, (size_t)n);
		slot->len = (size_t)n;
	} else
		return cf_errorf(err, CF_E_PARSE,
		    "unknown record %.4s (made by a newer certfleetd?)",
		    (const char *)tag);
	*off += REC_HEAD + (size_t)n;
	return 0;
}

int
cf_backup_read(const unsigned char *data, size_t len, struct cf_backup *b,
    struct cf_error *err)
{
	size_t off = HEAD_LEN;
	int r;

	memset(b, 0, sizeof(*b));
	if (len < HEAD_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0)
		return cf_errorf(err, CF_E_PARSE, "not a certfleetd backup");
	if (get_be(data + MAGIC_LEN, 4) != VERSION)
		return cf_errorf(err, CF_E_PARSE,
		    "backup format version %llu; this certfleetd reads "
		    "version %d",
		    (unsigned long long)get_be(data + MAGIC_LEN, 4), VERSION);
	while ((r = read_record(data, len, &off, b, err)) == 0)
		;
	if (r == 1 && (b->meta == NULL || b->cert.data == NULL ||
			  b->sealed_key.data == NULL || b->store.data == NULL))
		r = cf_errorf(err, CF_E_PARSE,
		    "a record is missing (META, CERT, IKEY and STOR are "
		    "required)");
	if (r == -1) {
		cf_backup_clear(b);
		return -1;
	}
	return 0;
}

struct cf_seal *
cf_backup_master_key(const struct cf_backup *b, const struct cf_secret *pass,
    struct cf_error *err)
{
	if (b->wrapped.data == NULL) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "the backup does not hold the master key");
		return NULL;
	}
	return cf_seal_unwrap(
	    b->wrapped.data, b->wrapped.len, pass, AAD_MASTER, err);
}

int
cf_backup_open(struct cf_backup *b, const unsigned char *data,
    const struct cf_seal *seal, struct cf_error *err)
{
	unsigned char mac[MAC_LEN];

	if (backup_mac(seal, data, b->mac_len, mac, err) == -1)
		return -1;
	if (CRYPTO_memcmp(mac, b->mac, MAC_LEN) != 0)
		return cf_errorf(err, CF_E_CRYPTO,
		    "the master key given is not the one this backup was "
		    "made under, or the file was altered");
	return cf_unseal((struct cf_seal *)seal, AAD_KEY, b->sealed_key.data,
	    b->sealed_key.len, &b->key, err);
}
