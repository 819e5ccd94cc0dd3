/*
 * seal.c - AES-256-GCM sealing under the master key, and what a backup
 * needs of that key (saved without being made, derived, wrapped under a
 * passphrase): see seal.h.  The key's bytes never leave this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdint.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "seal.h"

#define MAGIC "CFS1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16

/* Allocated with cf_dontdump_alloc: the key stays out of core dumps. */
struct cf_seal {
	unsigned char key[CF_SEAL_KEY_LEN];
};

static struct cf_seal *
seal_new(void)
{
	return cf_dontdump_alloc(sizeof(struct cf_seal));
}

/* fsyncs the directory path is in, so that a link into it lasts. */
static void
sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(copy);
}

/*
 * Writes key to path, which must not exist: to a temporary file beside
 * it first (0600, written, fsynced), then link(2)ed into place, so that
 * path is either absent or whole, whoever looks and whenever the process
 * dies, and an existing key is never replaced (link fails with EEXIST
 * where rename would overwrite).  CF_E_CONFLICT when path exists.
 */
static int
write_key_new(const char *path, const unsigned char *key, struct cf_error *err)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd, rc = -1;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, 0600) == -1 ||
	    cf_write_all(fd, key, CF_SEAL_KEY_LEN) == -1 || fsync(fd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1) {
		cf_errorf(err, errno == EEXIST ? CF_E_CONFLICT : CF_E_IO,
		    "%s: %s", path, strerror(errno));
		goto out;
	}
	sync_dir(path);
	rc = 0;
out:
	close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

static int
create_key(const char *path, struct cf_error *err)
{
	unsigned char key[CF_SEAL_KEY_LEN];
	struct cf_error e;
	int rc = 0;

	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return cf_errorf_ossl(
		    err, CF_E_CRYPTO, "%s: no randomness", path);
	/* A conflict is another process that won the race: load its key. */
	if (write_key_new(path, key, &e) == -1 && e.code != CF_E_CONFLICT)
		rc = cf_errorf(err, e.code, "%s", e.msg);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

struct cf_seal *
cf_seal_open(const char *path, struct cf_error *err)
{
	if (access(path, F_OK) == -1 && create_key(path, err) == -1)
		return NULL;
	return cf_seal_load(path, err);
}

struct cf_seal *
cf_seal_load(const char *path, struct cf_error *err)
{
	struct cf_seal *s = NULL;
	struct stat st;
	int fd = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		cf_errorf(err, errno == ENOENT ? CF_E_NOTFOUND : CF_E_IO,
		    "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cf_errorf(err, CF_E_IO, "%s: not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		cf_errorf(err, CF_E_DENIED,
		    "%s: master key is accessible by group or others "
		    "(mode %03o); fix with chmod 600",
		    path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	/* An older certfleet could die between creating the file and
	 * writing it; nothing here can tell a cut key from another. */
	if (st.st_size != CF_SEAL_KEY_LEN) {
		cf_errorf(err, CF_E_IO,
		    "%s: the master key must be %d bytes, found %lld (cut "
		    "short while it was made, or not a master key); put back "
		    "the copy kept apart, or restore the state from a backup "
		    "made --with-master-key (certfleetd restore, see "
		    "docs/backup.md); do not delete it",
		    path, CF_SEAL_KEY_LEN, (long long)st.st_size);
		goto fail;
	}
	s = seal_new();
	if (read(fd, s->key, sizeof(s->key)) != (ssize_t)sizeof(s->key)) {
		cf_errorf(err, CF_E_IO, "%s: short read", path);
		goto fail;
	}
	close(fd);
	return s;
fail:
	close(fd);
	cf_seal_free(s);
	return NULL;
}

void
cf_seal_free(struct cf_seal *s)
{
	if (s == NULL)
		return;
	cf_dontdump_free(s); /* wipes */
}

int
cf_seal(struct cf_seal *s, const char *aad, const unsigned char *plain,
    size_t len, struct cf_buf *out, struct cf_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *blob = NULL, *p;
	int n, rc = -1;

	out->data = NULL;
	out->len = 0;
	if (len > 1024 * 1024)
		return cf_errorf(
		    err, CF_E_LIMIT, "seal: key material too large");
	blob = xmalloc(MAGIC_LEN + NONCE_LEN + len + TAG_LEN);
	memcpy(blob, MAGIC, MAGIC_LEN);
	p = blob + MAGIC_LEN;
	if (RAND_bytes(p, NONCE_LEN) != 1) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "seal: no randomness");
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), s->key, p, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
		(int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, p + NONCE_LEN, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, p + NONCE_LEN + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, p + NONCE_LEN + len) != 1) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "seal: AES-256-GCM failed");
		goto out;
	}
	out->data = blob;
	out->len = MAGIC_LEN + NONCE_LEN + len + TAG_LEN;
	blob = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (blob != NULL)
		OPENSSL_clear_free(blob, MAGIC_LEN + NONCE_LEN + len + TAG_LEN);
	return rc;
}

int
cf_unseal(struct cf_seal *s, const char *aad, const unsigned char *blob,
    size_t len, struct cf_secret **out, struct cf_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	struct cf_secret *plain = NULL;
	const unsigned char *nonce, *ct, *tag;
	size_t ctlen;
	int n, rc = -1;

	*out = NULL;
	if (len < MAGIC_LEN + NONCE_LEN + TAG_LEN ||
	    memcmp(blob, MAGIC, MAGIC_LEN) != 0)
		return cf_errorf(
		    err, CF_E_CRYPTO, "sealed key is damaged (unknown format)");
	nonce = blob + MAGIC_LEN;
	ct = nonce + NONCE_LEN;
	ctlen = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
	tag = ct + ctlen;
	plain = cf_secret_alloc(ctlen);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), s->key, nonce, NULL) !=
		1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
		(int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(
		ctx, (unsigned char *)plain->data, &n, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)plain->data + n, &n) !=
		1) {
		cf_errorf(err, CF_E_CRYPTO,
		    "sealed key does not open: altered, moved from another "
		    "certificate, or sealed under another master key");
		ERR_clear_error();
		goto out;
	}
	*out = plain;
	plain = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	cf_secret_free(plain);
	return rc;
}

int
cf_seal_save(const struct cf_seal *s, const char *path, struct cf_error *err)
{
	return write_key_new(path, s->key, err);
}

int
cf_seal_derive(const struct cf_seal *s, const char *label, unsigned char *out,
    size_t len, struct cf_error *err)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
				   OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_KEY, (void *)s->key, sizeof(s->key)),
	    OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_INFO, (void *)label, strlen(label)),
	    OSSL_PARAM_construct_end()};
	int rc = 0;

	if (ctx == NULL || EVP_KDF_derive(ctx, out, len, params) != 1)
		rc = cf_errorf_ossl(err, CF_E_CRYPTO, "HKDF failed");
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* The wrapped master key: its layout (seal.h). */
#define WRAP_MAGIC "CFW1"
#define WRAP_SALT 8 /* offset of the salt */
#define WRAP_SALT_LEN 16
#define WRAP_NONCE (WRAP_SALT + WRAP_SALT_LEN)
#define WRAP_KEY (WRAP_NONCE + NONCE_LEN)
#define WRAP_TAG (WRAP_KEY + CF_SEAL_KEY_LEN)
#define WRAP_LOG2N 17 /* 128 MiB with r = 8: what OWASP asks of scrypt */
#define WRAP_R 8
#define WRAP_P 1
#define WRAP_MAXMEM (1024ULL * 1024 * 1024) /* what a backup may ask for */

/* The AES-256 key for blob's parameters and salt, from pass. */
static int
wrap_kek(const unsigned char *blob, const struct cf_secret *pass,
    unsigned char kek[32], struct cf_error *err)
{
	uint64_t n = 1ULL << blob[4], r = blob[5], p = blob[6];

	if (blob[4] < 10 || blob[4] > 22 || r == 0 || p == 0 || p > 4 ||
	    128 * r * (n + p) > WRAP_MAXMEM)
		return cf_errorf(err, CF_E_PARSE,
		    "the master key's scrypt parameters (N = 2^%d, r = %u, "
		    "p = %u) are out of bounds",
		    blob[4], (unsigned)r, (unsigned)p);
	if (EVP_PBE_scrypt(pass->data, pass->len, blob + WRAP_SALT,
		WRAP_SALT_LEN, n, r, p, WRAP_MAXMEM + 1024 * 1024, kek,
		32) != 1)
		return cf_errorf_ossl(err, CF_E_CRYPTO, "scrypt failed");
	return 0;
}

/* AES-256-GCM over the key bytes of blob, with the header and aad as
 * associated data; enc 1 fills the tag, 0 checks it. */
static int
wrap_gcm(int enc, const unsigned char kek[32], unsigned char *blob,
    const unsigned char *in, unsigned char *out, const char *aad)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = ctx != NULL &&
	     EVP_CipherInit_ex2(ctx, EVP_aes_256_gcm(), kek, blob + WRAP_NONCE,
		 enc, NULL) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, blob, WRAP_NONCE) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
		 (int)strlen(aad)) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, CF_SEAL_KEY_LEN) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
			 blob + WRAP_TAG) == 1) &&
	     EVP_CipherFinal_ex(ctx, out + n, &n) == 1 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
			  blob + WRAP_TAG) == 1);
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int
cf_seal_wrap(const struct cf_seal *s, const struct cf_secret *pass,
    const char *aad, unsigned char out[CF_SEAL_WRAP_LEN], struct cf_error *err)
{
	unsigned char kek[32];
	int rc = -1;

	memset(out, 0, CF_SEAL_WRAP_LEN);
	memcpy(out, WRAP_MAGIC, MAGIC_LEN);
	out[4] = WRAP_LOG2N;
	out[5] = WRAP_R;
	out[6] = WRAP_P;
	if (RAND_bytes(out + WRAP_SALT, WRAP_SALT_LEN + NONCE_LEN) != 1) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "wrap: no randomness");
		goto out;
	}
	if (wrap_kek(out, pass, kek, err) == -1)
		goto out;
	if (!wrap_gcm(1, kek, out, s->key, out + WRAP_KEY, aad)) {
		cf_errorf(err, CF_E_CRYPTO, "wrap: AES-256-GCM failed");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

struct cf_seal *
cf_seal_unwrap(const unsigned char *blob, size_t len,
    const struct cf_secret *pass, const char *aad, struct cf_error *err)
{
	unsigned char copy[CF_SEAL_WRAP_LEN], kek[32];
	struct cf_seal *s = seal_new();

	if (len != CF_SEAL_WRAP_LEN ||
	    memcmp(blob, WRAP_MAGIC, MAGIC_LEN) != 0) {
		cf_errorf(err, CF_E_PARSE, "not an encrypted master key");
		goto fail;
	}
	memcpy(copy, blob, sizeof(copy));
	if (wrap_kek(copy, pass, kek, err) == -1)
		goto fail;
	if (!wrap_gcm(0, kek, copy, copy + WRAP_KEY, s->key, aad)) {
		cf_errorf(err, CF_E_PASSWORD,
		    "the passphrase does not open the master key (wrong "
		    "passphrase, or the file was altered)");
		goto fail;
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	return s;
fail:
	OPENSSL_cleanse(kek, sizeof(kek));
	cf_seal_free(s);
	return NULL;
}
