/* test_seal.c - the master key and AES-256-GCM sealing. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "seal.h"

int
main(void)
{
	const unsigned char secret[] = "-----BEGIN PRIVATE KEY----- not really";
	char path[512], path2[512];
	struct cf_seal *s, *other;
	struct cf_buf blob = {0};
	struct cf_secret *out = NULL;
	struct cf_error err;
	struct stat st;

	snprintf(path, sizeof(path), "%s/master.key", check_tmpdir());
	snprintf(path2, sizeof(path2), "%s/other.key", check_tmpdir());
	s = cf_seal_open(path, &err);
	CHECK(s != NULL, "seal: master key created on first use");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
		  st.st_size == CF_SEAL_KEY_LEN,
	    "seal: master key file is 0600 and 32 bytes");

	CHECK(cf_seal(s, "AAD-1", secret, sizeof(secret), &blob, &err) == 0,
	    "seal: seals");
	CHECK(memmem(blob.data, blob.len, "PRIVATE", 7) == NULL,
	    "seal: plaintext does not appear in the sealed blob");
	CHECK(cf_unseal(s, "AAD-1", blob.data, blob.len, &out, &err) == 0 &&
		  out->len == sizeof(secret) &&
		  memcmp(out->data, secret, sizeof(secret)) == 0,
	    "seal: unseals to the same bytes");
	cf_secret_free(out);
	out = NULL;

	CHECK(cf_unseal(s, "AAD-2", blob.data, blob.len, &out, &err) == -1 &&
		  err.code == CF_E_CRYPTO && out == NULL,
	    "seal: another row's associated data does not open it");
	blob.data[blob.len / 2] ^= 1;
	CHECK(cf_unseal(s, "AAD-1", blob.data, blob.len, &out, &err) == -1,
	    "seal: a flipped bit is detected");
	blob.data[blob.len / 2] ^= 1;
	CHECK(cf_unseal(s, "AAD-1", blob.data, 10, &out, &err) == -1,
	    "seal: a truncated blob is refused");

	other = cf_seal_open(path2, &err);
	CHECK(other != NULL &&
		  cf_unseal(other, "AAD-1", blob.data, blob.len, &out,
		      &err) == -1,
	    "seal: another master key does not open it");
	cf_seal_free(other);

	cf_seal_free(s);
	s = cf_seal_open(path, &err);
	CHECK(s != NULL &&
		  cf_unseal(s, "AAD-1", blob.data, blob.len, &out, &err) == 0,
	    "seal: the reloaded master key opens it");
	cf_secret_free(out);
	cf_seal_free(s);

	chmod(path, 0644);
	s = cf_seal_open(path, &err);
	CHECK(s == NULL && err.code == CF_E_DENIED &&
		  strstr(err.msg, "chmod 600") != NULL,
	    "seal: a group/other-readable master key is refused");
	chmod(path, 0600);
	truncate(path, 16);
	s = cf_seal_open(path, &err);
	CHECK(s == NULL, "seal: a master key of the wrong size is refused");
	cf_buf_clear(&blob);
	return check_done();
}
