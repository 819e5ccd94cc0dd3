/*
 * wipe.c - OpenSSL's wipe for the front-end, which links no OpenSSL:
 * the store's free reaches cf_seal_free (a reader never opens a seal,
 * so it has nothing to wipe), and that wipes through OPENSSL_cleanse.
 * glibc's explicit_bzero is the same promise: the bytes are cleared even
 * where the compiler sees no later read.
 */
#include <stddef.h>
#include <string.h>

void OPENSSL_cleanse(void *ptr, size_t len);

void
OPENSSL_cleanse(void *ptr, size_t len)
{
	explicit_bzero(ptr, len);
}
