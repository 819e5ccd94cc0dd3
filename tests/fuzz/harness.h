/*
 * harness.h - what the libFuzzer harnesses share: a temporary directory
 * removed at exit, files written from the input, the fixed test
 * identities in tests/fuzz/keys (so seeds made once stay valid), and a
 * store rebuilt every FZ_RESET runs so state stays bounded.
 *
 * Header-only: each harness is one program (tests/fuzz/run.sh links
 * each with the library).  The first line of each harness that reads
 * "FUZZ-LINK:" names the object files beyond the library it needs.
 */
#ifndef CF_FUZZ_HARNESS_H
#define CF_FUZZ_HARNESS_H

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ops.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Runs between store rebuilds: enough to explore a store with history,
 * few enough that the audit table and the database stay small. */
#define FZ_RESET 2000

static char fz_dir[64];

static inline int
fz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Removes path and everything under it. */
static inline void
fz_rmrf(const char *path)
{
	nftw(path, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void
fz_cleanup(void)
{
	if (fz_dir[0] != '\0')
		fz_rmrf(fz_dir);
}

/* The harness's own temporary directory, made once, removed at exit. */
static inline const char *
fz_tmpdir(void)
{
	if (fz_dir[0] == '\0') {
		snprintf(fz_dir, sizeof(fz_dir), "/tmp/cf-fuzz.XXXXXX");
		if (mkdtemp(fz_dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(fz_cleanup);
	}
	return fz_dir;
}

/* "<tmpdir>/<leaf>" into out. */
static inline void
fz_path(char *out, size_t n, const char *leaf)
{
	snprintf(out, n, "%s/%s", fz_tmpdir(), leaf);
}

/* Writes data to path (0600), replacing it; aborts on failure. */
static inline void
fz_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1 || (len > 0 && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		abort();
	}
	close(fd);
}

/* The directory of the fixed test keys: $CF_FUZZ_KEYS, else the one in
 * the tree (the harnesses run from the top directory). */
static inline const char *
fz_keys(void)
{
	const char *d = getenv("CF_FUZZ_KEYS");

	return d != NULL ? d : "tests/fuzz/keys";
}

/* Reads tests/fuzz/keys/<name> whole into a new NUL-ended buffer. */
static inline char *
fz_key_text(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = malloc(65536);

	snprintf(path, sizeof(path), "%s/%s", fz_keys(), name);
	if (buf == NULL || (f = fopen(path, "rb")) == NULL) {
		perror(path);
		abort();
	}
	*len = fread(buf, 1, 65535, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The test identity name ("a" or "b"): its key and certificate. */
static inline void
fz_identity(const char *name, EVP_PKEY **key, X509 **cert)
{
	char leaf[32];
	size_t len;
	char *text;
	BIO *b;

	snprintf(leaf, sizeof(leaf), "%s.key", name);
	text = fz_key_text(leaf, &len);
	b = BIO_new_mem_buf(text, (int)len);
	*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	free(text);
	snprintf(leaf, sizeof(leaf), "%s.crt", name);
	text = fz_key_text(leaf, &len);
	b = BIO_new_mem_buf(text, (int)len);
	*cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(text);
	if (*key == NULL || *cert == NULL) {
		fprintf(
		    stderr, "fuzz: cannot read the test identity %s\n", name);
		abort();
	}
}

/* A new, empty store in <tmpdir>/<leaf> (whatever was there removed),
 * using services (may be NULL). */
static inline struct cf_store *
fz_store_new(const char *leaf, const struct cf_services *services)
{
	char dir[128];
	struct cf_error err;
	struct cf_store *s;

	fz_path(dir, sizeof(dir), leaf);
	fz_rmrf(dir);
	cf_error_clear(&err);
	if ((s = cf_store_open(dir, &err)) == NULL) {
		fprintf(stderr, "fuzz: store: %s\n", err.msg);
		abort();
	}
	cf_store_set_services(s, services);
	return s;
}

/* fz_store_new holding the test identity "a"'s certificate with its
 * key, exportable. */
static inline struct cf_store *
fz_store_a(const char *leaf, const struct cf_services *services)
{
	size_t klen, clen;
	char *key = fz_key_text("a.key", &klen);
	char *crt = fz_key_text("a.crt", &clen);
	struct cf_input in[2] = {
	    {"a.crt", (const unsigned char *)crt, clen},
	    {"a.key", (const unsigned char *)key, klen},
	};
	struct cf_import_opts io;
	struct cf_import_result *res = NULL;
	size_t nres = 0;
	struct cf_error err;
	struct cf_store *s = fz_store_new(leaf, services);

	memset(&io, 0, sizeof(io));
	io.actor = "fuzz";
	io.exportable = 1;
	cf_error_clear(&err);
	if (cf_op_import(s, in, 2, &io, &res, &nres, &err) == -1) {
		fprintf(stderr, "fuzz: import: %s\n", err.msg);
		abort();
	}
	cf_import_results_free(res, nres);
	free(key);
	free(crt);
	return s;
}

#endif
