/*
 * http.c - the HTTPS transport to an ACME CA over libcurl's easy
 * interface: blocking (the client runs in a process of its own), https
 * only, no redirects, bounded in time and in body size, and the headers
 * ACME uses captured.  The last Replay-Nonce received is kept for the
 * next signed request.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_dl.h"
#include <openssl/crypto.h>

#include "acme.h"
#include "version.h"

#define CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 30000L
#define NONCE_MAX 256
#define ALTERNATES_MAX 8

struct acme_http {
	CURL *curl;
	char *ca_file;
	long timeout_ms;
	char *nonce;
};

/* What one transfer collects: the body (capped) and the headers. */
struct transfer {
	struct acme_http *h;
	struct acme_resp *r;
	size_t room;
	int over; /* the body passed ACME_BODY_MAX */
};

void
acme_resp_clear(struct acme_resp *r)
{
	size_t i;

	if (r == NULL)
		return;
	cf_buf_clear(&r->body);
	free(r->content_type);
	free(r->location);
	free(r->nonce);
	free(r->link_up);
	for (i = 0; i < r->n_alternates; i++)
		free(r->alternates[i]);
	free(r->alternates);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

struct acme_http *
acme_http_new(const char *ca_file, long timeout_ms, struct cf_error *err)
{
	struct acme_http *h;

	if (acme_curl_load(err) == -1) /* and curl_global_init, once */
		return NULL;
	h = xcalloc(1, sizeof(*h));
	if ((h->curl = curl_easy_init()) == NULL) {
		free(h);
		cf_errorf(err, CF_E_INTERNAL, "libcurl: no handle");
		return NULL;
	}
	h->ca_file = ca_file != NULL ? xstrdup(ca_file) : NULL;
	h->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	return h;
}

void
acme_http_free(struct acme_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->nonce);
	free(h);
}

char *
acme_http_nonce_take(struct acme_http *h)
{
	char *n = h->nonce;

	h->nonce = NULL;
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	struct cf_buf *b = &t->r->body;
	size_t n = size * nmemb;

	if (b->len + n > ACME_BODY_MAX) {
		t->over = 1;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > t->room) {
		t->room = (b->len + n + 1) * 2;
		if (t->room > ACME_BODY_MAX + 1)
			t->room = ACME_BODY_MAX + 1;
		b->data = xrealloc(b->data, t->room);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The value of header line p (n bytes) when it is name, trimmed; new. */
static char *
header_value(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);
	char *v;

	if (n <= k || p[k] != ':' || strncasecmp(p, name, k) != 0)
		return NULL;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n > ACME_URL_MAX * 4)
		return NULL;
	v = strndup(p, n);
	if (v == NULL)
		abort();
	return v;
}

/* 1 when s is base64url of at most NONCE_MAX characters (RFC 8555 6.5.1). */
static int
nonce_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= NONCE_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_") == n;
}

/*
 * The links of a Link header value: "<url>;rel=\"up\", <url>;rel=...",
 * rel up kept as link_up, rel alternate appended to alternates.
 */
static void
parse_link(struct acme_resp *r, const char *v)
{
	const char *p = v, *lt, *gt, *next;
	char *url, *params;

	while (
	    (lt = strchr(p, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		next = strchr(gt, '<');
		url = strndup(lt + 1, (size_t)(gt - lt - 1));
		params = next != NULL ? strndup(gt + 1, (size_t)(next - gt - 1))
				      : strdup(gt + 1);
		if (url == NULL || params == NULL)
			abort();
		if (strstr(params, "rel=\"up\"") != NULL ||
		    strstr(params, "rel=up") != NULL) {
			free(r->link_up);
			r->link_up = url;
			url = NULL;
		} else if ((strstr(params, "rel=\"alternate\"") != NULL ||
			       strstr(params, "rel=alternate") != NULL) &&
			   r->n_alternates < ALTERNATES_MAX) {
			r->alternates = xrealloc(r->alternates,
			    (r->n_alternates + 1) * sizeof(char *));
			r->alternates[r->n_alternates++] = url;
			url = NULL;
		}
		free(url);
		free(params);
		if (next == NULL)
			break;
		p = next;
	}
}

/* A Retry-After value (seconds, or an HTTP date) as seconds from now. */
static long
retry_after(const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);
	time_t t;

	if (end != v && *end == '\0')
		return n < 0 ? 0 : n;
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	return t > time(NULL) ? (long)(t - time(NULL)) : 0;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	struct acme_resp *r = t->r;
	size_t n = size * nmemb;
	char *v;

	if ((v = header_value(p, n, "Replay-Nonce")) != NULL) {
		if (nonce_ok(v)) {
			free(t->h->nonce);
			t->h->nonce = xstrdup(v);
			free(r->nonce);
			r->nonce = v;
		} else
			free(v);
	} else if ((v = header_value(p, n, "Location")) != NULL) {
		free(r->location);
		r->location = v;
	} else if ((v = header_value(p, n, "Content-Type")) != NULL) {
		v[strcspn(v, "; ")] = '\0';
		free(r->content_type);
		r->content_type = v;
	} else if ((v = header_value(p, n, "Retry-After")) != NULL) {
		r->retry_after = retry_after(v);
		free(v);
	} else if ((v = header_value(p, n, "Link")) != NULL) {
		parse_link(r, v);
		free(v);
	}
	return n;
}

/* The options of one request, from a reset handle. */
static int
set_options(struct acme_http *h, const char *method, const char *url,
    const char *body, struct curl_slist *hdrs, struct transfer *t, char *errbuf)
{
	CURL *c = h->curl;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(c);
	rc |= curl_easy_setopt(c, CURLOPT_URL, url);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	rc |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    h->timeout_ms < CONNECT_TIMEOUT_MS ? h->timeout_ms
					       : CONNECT_TIMEOUT_MS);
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	rc |= curl_easy_setopt(c, CURLOPT_USERAGENT, "certfleet/" CF_VERSION);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file != NULL) {
		/* Only the CAs of the file: no system directory beside it. */
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		rc |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "HEAD") == 0)
		rc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		rc |= curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	return rc == CURLE_OK ? 0 : -1;
}

int
acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, struct acme_resp *r, struct cf_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct transfer t = {.h = h, .r = r};
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (acme_url_check(url) != 0)
		return cf_errorf(err, CF_E_USAGE, "%s: not an https URL", url);
	if (strcmp(method, "POST") == 0 && body == NULL)
		return cf_errorf(err, CF_E_INTERNAL, "POST without a body");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (strcmp(method, "POST") == 0)
		hdrs = curl_slist_append(
		    hdrs, "Content-Type: application/jose+json");
	if (hdrs == NULL)
		abort();
	if (set_options(h, method, url, body, hdrs, &t, errbuf) != 0) {
		cf_errorf(err, CF_E_INTERNAL, "libcurl: options refused");
		goto out;
	}
	cc = curl_easy_perform(h->curl);
	if (t.over) {
		cf_errorf(err, CF_E_LIMIT, "%s %s: response over %d bytes",
		    method, url, ACME_BODY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		cf_errorf(err, CF_E_IO, "%s %s: %s", method, url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	if (rc != 0)
		acme_resp_clear(r);
	return rc;
}
