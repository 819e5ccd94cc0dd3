/* http01_check.c - ask a member for an HTTP-01 token: see http01_check.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_dl.h"

#include "http01_check.h"
#include "util.h"

#define BODY_MAX 4096
#define TOKEN_CHARS                                                            \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
#define ADDR_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:[]"

struct body {
	char b[BODY_MAX + 1];
	size_t n;
	int over;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (b->n + len > BODY_MAX) {
		b->over = 1;
		return 0;
	}
	memcpy(b->b + b->n, p, len);
	b->n += len;
	b->b[b->n] = '\0';
	return len;
}

static int
only(const char *s, const char *set)
{
	return s[0] != '\0' && strspn(s, set) == strlen(s);
}

/* One GET; 0 when it answered keyauth, else -1 with what it did. */
static int
ask(CURL *c, const char *keyauth, struct cf_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body b = {0};
	long status = 0;
	char *loc = NULL;
	CURLcode rc;
	size_t i;

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		return cf_errorf(err, CF_E_IO, "%s",
		    b.over      ? "an answer over 4 KiB"
		    : errbuf[0] ? errbuf
				: curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300 && status < 400) {
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		return cf_errorf(err, CF_E_IO,
		    "HTTP %ld, a redirect to %.100s (serve the token where "
		    "the CA asks first)",
		    status, loc ? loc : "?");
	}
	while (b.n > 0 && strchr(" \t\r\n", b.b[b.n - 1]) != NULL)
		b.b[--b.n] = '\0';
	if (status != 200)
		return cf_errorf(err, CF_E_IO, "HTTP %ld", status);
	if (strcmp(b.b, keyauth) == 0)
		return 0;
	for (i = 0; i < b.n; i++) /* outside bytes: printable only */
		if ((unsigned char)b.b[i] < 0x20 ||
		    (unsigned char)b.b[i] > 0x7e)
			b.b[i] = '?';
	return cf_errorf(err, CF_E_IO, "HTTP 200 with another body (%.40s%s)",
	    b.b, b.n > 40 ? "..." : "");
}

int
acme_http01_check(const char *addr, const char *name, const char *token,
    const char *keyauth, int samples, long timeout_ms, struct cf_error *err)
{
	struct curl_slist *hdrs = NULL;
	struct cf_error why;
	char *url, *host;
	CURL *c;
	int i, rc = 0;

	if (!only(addr, ADDR_CHARS) || !only(token, TOKEN_CHARS) ||
	    !only(name, ADDR_CHARS "_"))
		return cf_errorf(err, CF_E_USAGE,
		    "http-01 check: %.80s, %.80s: not an address and a name",
		    addr, name);
	if (acme_curl_load(err) == -1)
		return -1;
	if ((c = curl_easy_init()) == NULL)
		return cf_errorf(err, CF_E_INTERNAL, "curl_easy_init failed");
	url = xasprintf("http://%s/.well-known/acme-challenge/%s", addr, token);
	host = xasprintf("Host: %s", name);
	hdrs = curl_slist_append(hdrs, host);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE,
	    1L); /* each its own connection, as a balancer sees them */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	for (i = 0; i < (samples > 0 ? samples : 1) && rc == 0; i++) {
		cf_error_clear(&why);
		if (ask(c, keyauth, &why) == -1) {
			cf_errorf(err, CF_E_IO,
			    "%s (Host: %s), request %d of %d: %s", addr, name,
			    i + 1, samples > 0 ? samples : 1, why.msg);
			rc = -1;
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(url);
	free(host);
	return rc;
}
