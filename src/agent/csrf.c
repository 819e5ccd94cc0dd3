/*
 * csrf.c - the console's CSRF tokens and who must show one: see csrf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "csrf.h"
#include "util.h"

#define CSRF_KEY_LEN 32

/* Drawn on first use, on the loop thread (the only caller). */
static unsigned char csrf_key[CSRF_KEY_LEN];
static int csrf_keyed;

/* The 64 hex digits of the HMAC of fp and issued into hex. */
static void
csrf_mac(const char *fp, long long issued, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char msg[160];
	int n;

	if (!csrf_keyed) {
		if (RAND_bytes(csrf_key, sizeof(csrf_key)) != 1)
			abort(); /* no randomness: nothing safe to do */
		csrf_keyed = 1;
	}
	n = snprintf(msg, sizeof(msg), "certfleet-csrf-v1|%s|%lld", fp, issued);
	if (HMAC(EVP_sha256(), csrf_key, sizeof(csrf_key), (unsigned char *)msg,
		(size_t)n, md, &mdlen) == NULL)
		abort();
	for (i = 0; i < 32 && i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

void
csrf_token(const char *fp, time_t now, char out[CSRF_TOKEN_MAX])
{
	char hex[65];

	csrf_mac(fp, (long long)now, hex);
	snprintf(out, CSRF_TOKEN_MAX, "%lld.%s", (long long)now, hex);
}

int
csrf_valid(const char *token, const char *fp, time_t now)
{
	char hex[65], *end = NULL;
	long long issued;

	if (token == NULL || fp == NULL || fp[0] == '\0' ||
	    strlen(token) >= CSRF_TOKEN_MAX)
		return 0;
	issued = strtoll(token, &end, 10);
	if (end == token || *end != '.' || strlen(end + 1) != 64)
		return 0;
	if (issued > (long long)now || (long long)now - issued > CSRF_LIFETIME)
		return 0;
	csrf_mac(fp, issued, hex);
	return CRYPTO_memcmp(hex, end + 1, 64) == 0;
}

int
csrf_from_browser(const struct evkeyvalq *h)
{
	static const char *const marks[] = {"Origin", "Sec-Fetch-Site",
	    "Sec-Fetch-Mode", "Referer", "Cookie", "X-Certfleet-Console"};
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (evhttp_find_header(h, marks[i]) != NULL)
			return 1;
	return 0;
}
