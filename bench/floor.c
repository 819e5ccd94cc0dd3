/*
 * floor.c - the libcrypto floor for importing PKCS#12 files: what any
 * program must at least do to read them.  For each file, in one process:
 * read the bytes, d2i_PKCS12, PKCS12_parse with the password (MAC check,
 * both PBES2 decryptions, key decoding), free.  No database, no output.
 *
 *   floor PASSWORD_FILE FILE...
 *
 * Prints the in-process time on stderr; the benchmark times the whole
 * process from outside, as it does certfleet.  Exit 1 when any file fails
 * to parse, so a wrong corpus cannot pass for a fast one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#define MAX_FILE (4L * 1024 * 1024) /* as certfleet's CF_MAX_INPUT_BYTES */

/* The whole of path into a new buffer; NULL on failure. */
static unsigned char *
slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (*len = ftell(f)) < 0 ||
	    *len > MAX_FILE || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)*len + 1)) == NULL ||
	    fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* One file: 0 when it parsed to a key and a certificate. */
static int
parse_one(const char *path, const char *password)
{
	STACK_OF(X509) *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	PKCS12 *p12 = NULL;
	unsigned char *buf;
	const unsigned char *p;
	long len = 0;
	int rc = -1;

	if ((buf = slurp(path, &len)) == NULL)
		return -1;
	p = buf;
	if ((p12 = d2i_PKCS12(NULL, &p, len)) != NULL &&
	    PKCS12_parse(p12, password, &key, &cert, &ca) && key != NULL &&
	    cert != NULL)
		rc = 0;
	PKCS12_free(p12);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	OPENSSL_cleanse(buf, (size_t)len);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	unsigned char *pw;
	long pwlen = 0;
	int i, failed = 0;

	if (argc < 3) {
		fputs("Usage: floor PASSWORD_FILE FILE...\n", stderr);
		return 2;
	}
	if ((pw = slurp(argv[1], &pwlen)) == NULL) {
		perror(argv[1]);
		return 1;
	}
	pw[pwlen] = '\0';
	pw[strcspn((char *)pw, "\r\n")] = '\0'; /* one trailing newline */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 2; i < argc; i++)
		if (parse_one(argv[i], (const char *)pw) == -1) {
			fprintf(stderr, "floor: %s: ", argv[i]);
			ERR_print_errors_fp(stderr);
			fputc('\n', stderr);
			failed++;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "floor: %d files, %d failed, %.3f s in process\n",
	    argc - 2, failed,
	    (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	OPENSSL_cleanse(pw, (size_t)pwlen);
	free(pw);
	return failed ? 1 : 0;
}
