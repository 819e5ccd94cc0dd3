/*
 * backup.h - a certfleetd backup: one file holding a consistent snapshot
 * of the store, the agent's identity, and, only when asked, the master
 * key encrypted under a passphrase.  docs/backup.md says why it is made
 * this way.
 *
 * The file: "CFBACKUP", a 4-byte big-endian version (1), then records,
 * each a 4-byte tag, an 8-byte big-endian length and that many bytes:
 *   META  JSON: Agent, Fingerprint, Created, SchemaVersion, Certfleet,
 *         MasterKey (whether MKEY is there)
 *   CERT  the identity's certificate (agent.crt, PEM)
 *   IKEY  the identity's private key (agent.key), sealed under the
 *         master key (seal.h), associated data "certfleet backup agent.key"
 *   STOR  the SQLite database (store.db) as of one read transaction; its
 *         private keys stay sealed under the master key, as in the store
 *   MKEY  optional: the master key under a passphrase (cf_seal_wrap)
 *   HMAC  HMAC-SHA256 of every byte before this record, under a key
 *         derived from the master key: the last record
 * Nothing in the file is readable or can be changed unnoticed without
 * the master key, whether the file carries it or not.
 */
#ifndef CF_BACKUP_H
#define CF_BACKUP_H

#include <stddef.h>

#include "error.h"
#include "seal.h"
#include "util.h"

#define CF_BACKUP_MAX (1024UL * 1024 * 1024) /* the file, at most */

/*
 * A consistent copy of the SQLite database at db_path, taken through a
 * read-only connection with SQLite's online backup API in one step (one
 * read transaction: writers go on meanwhile, WAL), checked with
 * PRAGMA quick_check.  The bytes into *out (caller clears), its
 * PRAGMA user_version into *schema.
 */
int cf_backup_snapshot(
    const char *db_path, struct cf_buf *out, int *schema, struct cf_error *err);

/* What a backup holds; every field lent to cf_backup_write, owned
 * (cf_backup_clear) after cf_backup_read. */
struct cf_backup {
	char *meta;               /* JSON text */
	struct cf_buf cert;       /* agent.crt */
	struct cf_secret *key;    /* agent.key, PEM */
	struct cf_buf store;      /* store.db */
	struct cf_buf wrapped;    /* MKEY; len 0 when absent */
	struct cf_buf sealed_key; /* IKEY as read; for cf_backup_open */
	unsigned char mac[32];    /* HMAC as read */
	size_t mac_len;           /* bytes of the file the HMAC covers */
};
void cf_backup_clear(struct cf_backup *b); /* wipes key; NULL-safe */

/*
 * The backup file of b into *out (caller clears): the identity key
 * sealed and everything authenticated under seal; with pass (may be
 * NULL) the master key too, encrypted under it.
 */
int cf_backup_write(const struct cf_backup *b, const struct cf_seal *seal,
    const struct cf_secret *pass, struct cf_buf *out, struct cf_error *err);

/*
 * Parses the len bytes of a backup file into b, whose identity key stays
 * sealed (b->key NULL) until cf_backup_open.  CF_E_PARSE for a file that
 * is not a backup of this version, truncated, or out of order.
 */
int cf_backup_read(const unsigned char *data, size_t len, struct cf_backup *b,
    struct cf_error *err);

/*
 * The master key the backup carries (MKEY), opened with pass: NULL and
 * CF_E_NOTFOUND when it carries none, CF_E_PASSWORD for a wrong
 * passphrase.
 */
struct cf_seal *cf_backup_master_key(const struct cf_backup *b,
    const struct cf_secret *pass, struct cf_error *err);

/*
 * Checks the HMAC under seal and opens the identity key into b->key.
 * CF_E_CRYPTO when seal is not the master key the backup was made under,
 * or the file was altered.
 */
int cf_backup_open(struct cf_backup *b, const unsigned char *data,
    const struct cf_seal *seal, struct cf_error *err);

#endif
