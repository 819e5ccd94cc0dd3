/* test_seal.c - the master key and AES-256-GCM sealing. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "seal.h"

#define CREATORS 8
#define ROUNDS 25

/* Files in dir whose name starts with prefix. */
static int
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

/*
 * CREATORS processes open (and so create) the same new master key at
 * the same moment, ROUNDS times: each must get a key, the same one
 * (what HKDF derives from it), and no temporary file may stay behind.
 * Before link(2), a creator could find the file made but not yet
 * written, and failed on an empty key.
 */
static void
test_concurrent_create(void)
{
	char path[512], name[32];
	int r, i, failed = 0, differ = 0;

	for (r = 0; r < ROUNDS; r++) {
		int go[2], res[2];
		unsigned char first[32], got[33];
		pid_t pids[CREATORS];

		snprintf(name, sizeof(name), "race%d.key", r);
		snprintf(path, sizeof(path), "%s/%s", check_tmpdir(), name);
		if (pipe(go) == -1 || pipe(res) == -1)
			abort();
		for (i = 0; i < CREATORS; i++) {
			if ((pids[i] = fork()) == 0) {
				struct cf_error err;
				struct cf_seal *s;
				unsigned char out[33] = {'F'};
				char c;

				close(go[1]);
				(void)!read(
				    go[0], &c, 1); /* all start at once */
				s = cf_seal_open(path, &err);
				if (s != NULL && cf_seal_derive(s, "race",
						     out + 1, 32, &err) == 0)
					out[0] = 'K';
				(void)!write(res[1], out, sizeof(out));
				cf_seal_free(s);
				_exit(0);
			}
		}
		close(go[0]);
		close(res[1]);
		close(go[1]); /* the start */
		for (i = 0; i < CREATORS; i++) {
			if (read(res[0], got, sizeof(got)) != sizeof(got) ||
			    got[0] != 'K') {
				failed++;
				continue;
			}
			if (i == 0)
				memcpy(first, got + 1, 32);
			else if (memcmp(first, got + 1, 32) != 0)
				differ++;
		}
		close(res[0]);
		for (i = 0; i < CREATORS; i++)
			waitpid(pids[i], NULL, 0);
	}
	CHECK(failed == 0, "seal: concurrent creators all get a master key");
	CHECK(differ == 0, "seal: concurrent creators all get the same key");
	CHECK(count_files(check_tmpdir(), "race") == ROUNDS,
	    "seal: no temporary file stays beside a created key");
}

/*
 * An empty master.key, as an older version left when it died between
 * creating and writing it, is refused (never replaced by a new key,
 * which would lose every sealed key for good), and the error says how
 * to get the key back.
 */
static void
test_empty_key(void)
{
	char path[512];
	struct cf_error err;
	struct cf_seal *s;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/empty.key", check_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(fd);
	s = cf_seal_open(path, &err);
	CHECK(s == NULL && err.code == CF_E_IO,
	    "seal: an empty master key is refused");
	CHECK(strstr(err.msg, "found 0") != NULL &&
		  strstr(err.msg, "certfleetd restore") != NULL &&
		  strstr(err.msg, "docs/backup.md") != NULL,
	    "seal: the refusal says how to restore the key from a backup");
	CHECK(stat(path, &st) == 0 && st.st_size == 0,
	    "seal: an empty master key is left as it is, not replaced");
	cf_seal_free(s);
}

/* A key made on first use seals and unseals, bound to its associated
 * data and key, whole, and again after a reload. */
static void
test_roundtrip(void)
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

	CHECK(s != NULL &&
		  cf_seal(s, "AAD-1", secret, sizeof(secret), &blob, &err) == 0,
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
	CHECK(other != NULL && cf_unseal(other, "AAD-1", blob.data, blob.len,
				   &out, &err) == -1,
	    "seal: another master key does not open it");
	cf_seal_free(other);

	cf_seal_free(s);
	s = cf_seal_open(path, &err);
	CHECK(s != NULL &&
		  cf_unseal(s, "AAD-1", blob.data, blob.len, &out, &err) == 0,
	    "seal: the reloaded master key opens it");
	cf_secret_free(out);
	cf_seal_free(s);
	cf_buf_clear(&blob);
}

/* A master key others can read, or of the wrong size, is refused. */
static void
test_refusals(void)
{
	char path[512];
	struct cf_seal *s;
	struct cf_error err;

	snprintf(path, sizeof(path), "%s/refused.key", check_tmpdir());
	cf_seal_free(cf_seal_open(path, &err));
	chmod(path, 0644);
	s = cf_seal_open(path, &err);
	CHECK(s == NULL && err.code == CF_E_DENIED &&
		  strstr(err.msg, "chmod 600") != NULL,
	    "seal: a group/other-readable master key is refused");
	cf_seal_free(s);
	chmod(path, 0600);
	CHECK(truncate(path, 16) == 0, "seal: set-up: a 16-byte master key");
	s = cf_seal_open(path, &err);
	CHECK(s == NULL, "seal: a master key of the wrong size is refused");
	CHECK(s == NULL && strstr(err.msg, "found 16") != NULL &&
		  strstr(err.msg, "certfleetd restore") != NULL,
	    "seal: a short master key is refused, recovery named");
	cf_seal_free(s);
}

/* save: a new file, never over an existing key. */
static void
test_save(void)
{
	char path[512], source[512];
	struct cf_seal *s;
	struct cf_error err;
	struct stat st;

	snprintf(source, sizeof(source), "%s/source.key", check_tmpdir());
	snprintf(path, sizeof(path), "%s/saved.key", check_tmpdir());
	s = cf_seal_open(source, &err);
	CHECK(s != NULL && cf_seal_save(s, path, &err) == 0 &&
		  stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
		  st.st_size == CF_SEAL_KEY_LEN,
	    "seal: save writes a new 0600 key file");
	CHECK(s != NULL && cf_seal_save(s, source, &err) == -1 &&
		  err.code == CF_E_CONFLICT,
	    "seal: save refuses to replace an existing key");
	CHECK(count_files(check_tmpdir(), "saved.key.") == 0 &&
		  count_files(check_tmpdir(), "source.key.") == 0,
	    "seal: save leaves no temporary file");
	cf_seal_free(s);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("roundtrip"))
		test_roundtrip();
	if (check_test("refusals"))
		test_refusals();
	if (check_test("save"))
		test_save();
	if (check_test("empty_key"))
		test_empty_key();
	if (check_test("concurrent_create"))
		test_concurrent_create();
	return check_done();
}
