/* seal.c - AES-256-GCM sealing under the master key: see seal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

#define MAGIC "CFS1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16

struct cf_seal {
	unsigned char key[CF_SEAL_KEY_LEN];
};

static int
create_key(const char *path, struct cf_error *err)
{
	unsigned char key[CF_SEAL_KEY_LEN];
	int fd, rc = -1;

	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return cf_errorf_ossl(err, CF_E_CRYPTO, "%s: no randomness",
		    path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			rc = 0; /* another process won the race; load it */
		else
			cf_errorf(err, CF_E_IO, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) ||
	    fsync(fd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

struct cf_seal *
cf_seal_open(const char *path, struct cf_error *err)
{
	struct cf_seal *s = NULL;
	struct stat st;
	int fd = -1;

	if (access(path, F_OK) == -1 && create_key(path, err) == -1)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
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
	if (st.st_size != CF_SEAL_KEY_LEN) {
		cf_errorf(err, CF_E_IO,
		    "%s: master key must be %d bytes, found %lld", path,
		    CF_SEAL_KEY_LEN, (long long)st.st_size);
		goto fail;
	}
	s = xcalloc(1, sizeof(*s));
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
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
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
		return cf_errorf(err, CF_E_LIMIT, "seal: key material too large");
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
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
		p + NONCE_LEN + len) != 1) {
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
		return cf_errorf(err, CF_E_CRYPTO,
		    "sealed key is damaged (unknown format)");
	nonce = blob + MAGIC_LEN;
	ct = nonce + NONCE_LEN;
	ctlen = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
	tag = ct + ctlen;
	plain = xcalloc(1, sizeof(*plain));
	plain->data = xmalloc(ctlen + 1);
	plain->len = ctlen;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), s->key, nonce, NULL) !=
		1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
		(int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)plain->data, &n, ct,
		(int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
		(void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)plain->data + n, &n) !=
		1) {
		cf_errorf(err, CF_E_CRYPTO,
		    "sealed key does not open: altered, moved from another "
		    "certificate, or sealed under another master key");
		ERR_clear_error();
		goto out;
	}
	plain->data[ctlen] = '\0';
	*out = plain;
	plain = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	cf_secret_free(plain);
	return rc;
}
