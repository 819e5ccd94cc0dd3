/*
 * fuzz_bundle.c - libFuzzer harness over cf_bundle_parse, the entry
 * point for every certificate file from outside (PEM, DER, PKCS#7,
 * PKCS#12 in DER or Base64).  Each input is parsed with no password and
 * with one, so both the password-less and the decrypting paths run.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/lib \
 *       src/lib/error.c src/lib/util.c src/lib/bundle.c src/lib/pkcs12.c \
 *       src/lib/pbe.c \
 *       tests/fuzz/fuzz_bundle.c -lcrypto -o fuzz_bundle
 *   ./fuzz_bundle tests/vectors/fuzz-seeds/openssl-fuzz-corpora/asn1
 *
 * Iteration counts up to the caps (pkcs12.h) are legal and slow on
 * purpose; run with -timeout=30 or more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const uint8_t *data, size_t size, const char *password)
{
	struct cf_bundle *b = cf_bundle_new();
	struct cf_error err;

	cf_error_clear(&err);
	if (cf_bundle_parse("fuzz", data, size, password, b, &err) == 0) {
		if (sk_X509_num(b->certs) == 0 && b->nkeys == 0)
			abort(); /* success means something was found */
	} else if (err.code == CF_OK || err.msg[0] == '\0' ||
		   sk_X509_num(b->certs) != 0 || b->nkeys != 0)
		abort(); /* a failure explains itself and changes nothing */
	cf_bundle_free(b);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, NULL);
	one(data, size, "fuzz");
	return 0;
}
