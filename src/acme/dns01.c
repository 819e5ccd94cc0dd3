/* dns01.c - the DNS-01 challenge's record: see dns01.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "deploy.h"
#include "dns01.h"
#include "util.h"

#define NAME_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
#define B64U_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
#define PATH_CHARS NAME_CHARS "/"
#define TTL_DEFAULT 60
#define TIMEOUT_DEFAULT 10000

static int
only(const char *s, const char *set, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max && strspn(s, set) == n;
}

/* name and value, checked: nothing of them can reach a shell or an
 * nsupdate script but what they say. */
static int
args_check(const char *name, const char *value, struct cf_error *err)
{
	if (!only(name, NAME_CHARS, 253) || name[0] == '.' || name[0] == '-' ||
	    strstr(name, "..") != NULL)
		return cf_errorf(
		    err, CF_E_USAGE, "dns-01: %.80s: not a DNS name", name);
	if (!only(value, B64U_CHARS, 255))
		return cf_errorf(
		    err, CF_E_USAGE, "dns-01: the TXT value is not base64url");
	return 0;
}

char *
dns01_owner(const char *domain, struct cf_error *err)
{
	const char *d = strncmp(domain, "*.", 2) == 0 ? domain + 2 : domain;
	char *o = xasprintf("_acme-challenge.%s", d);

	if (args_check(o, "x", err) == -1) {
		free(o);
		return NULL;
	}
	return o;
}

/* HOST:PORT (or [V6]:PORT, or HOST alone: port 53) into host and *port. */
static int
hostport(const char *hp, char *host, size_t hlen, int *port)
{
	const char *colon = strrchr(hp, ':');
	size_t n;
	char *end;
	long p = 53;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close == NULL)
			return -1;
		n = (size_t)(close - hp - 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		hp++;
	} else if (colon != NULL && strchr(hp, ':') != colon)
		colon = NULL, n = strlen(hp); /* a bare IPv6 address */
	else
		n = colon != NULL ? (size_t)(colon - hp) : strlen(hp);
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, hp, n);
	host[n] = '\0';
	if (colon != NULL) {
		p = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
			return -1;
	}
	*port = (int)p;
	return 0;
}

/* The update: nsupdate -k KEY_FILE fed its script, or the hook. */
static int
update(const struct dns01_config *c, const char *verb, const char *name,
    const char *value, struct cf_error *err)
{
	char host[256], *cmd, *what;
	int port, rc;
	long t = c->timeout_ms > 0 ? c->timeout_ms : TIMEOUT_DEFAULT;

	if (args_check(name, value, err) == -1)
		return -1;
	if (c->hook != NULL) {
		cmd = xasprintf("%s %s %s %s", c->hook, verb, name, value);
		what = xasprintf("dns-01 hook (%s %s)", verb, name);
	} else {
		if (c->server == NULL ||
		    hostport(c->server, host, sizeof(host), &port) == -1 ||
		    !only(host, NAME_CHARS ":", sizeof(host)))
			return cf_errorf(err, CF_E_USAGE,
			    "dns-01: the update server %s: give HOST or "
			    "HOST:PORT",
			    c->server ? c->server : "(none)");
		if (c->key_file == NULL || !only(c->key_file, PATH_CHARS, 1024))
			return cf_errorf(err, CF_E_USAGE,
			    "dns-01: the TSIG key file %s: give the path of "
			    "the key tsig-keygen wrote",
			    c->key_file ? c->key_file : "(none)");
		/* every word checked above: nothing for the shell to read */
		cmd = xasprintf("printf 'server %s %d\\nupdate %s %s %ld TXT "
				"\"%s\"\\nsend\\n' | nsupdate -t %ld -k '%s'",
		    host, port, strcmp(verb, "set") == 0 ? "add" : "delete",
		    name, c->ttl > 0 ? c->ttl : TTL_DEFAULT, value,
		    (t + 999) / 1000, c->key_file);
		what = xasprintf(
		    "dns-01: nsupdate (%s %s at %s)", verb, name, c->server);
	}
	rc = cf_run_command(what, cmd, NULL, (int)t, err);
	free(cmd);
	free(what);
	return rc;
}

int
dns01_set(const struct dns01_config *c, const char *name, const char *value,
    struct cf_error *err)
{
	return update(c, "set", name, value, err);
}

int
dns01_clear(const struct dns01_config *c, const char *name, const char *value,
    struct cf_error *err)
{
	return update(c, "clear", name, value, err);
}

/* What server hp answers for name's TXT into got: 1 when one of its
 * records is value, 0 when not (got says what it answered), -1 for a
 * bad address. */
static int
asked(const char *hp, const char *name, const char *value, long timeout_ms,
    char *got, size_t glen)
{
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns, *dname = NULL;
	ldns_pkt *p = NULL;
	ldns_rr_list *txt = NULL;
	char host[256], *want = xasprintf("\"%s\"", value), *s;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int port, found = 0;
	size_t i;

	snprintf(got, glen, "no answer");
	if (hostport(hp, host, sizeof(host), &port) == -1 ||
	    (ns = ldns_rdf_new_frm_str(
		 strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
		 host)) == NULL) {
		found = -1;
		goto out;
	}
	ldns_resolver_push_nameserver(r, ns);
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(r, (uint16_t)port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_timeout(r, tv);
	if ((dname = ldns_dname_new_frm_str(name)) == NULL ||
	    (p = ldns_resolver_query(
		 r, dname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0)) == NULL)
		goto out;
	snprintf(got, glen, "%s, no TXT",
	    ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN ? "NXDOMAIN"
							 : "an answer");
	txt =
	    ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER);
	for (i = 0; txt != NULL && i < ldns_rr_list_rr_count(txt) && !found;
	     i++) {
		s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(txt, i), 0));
		if (s != NULL && strcmp(s, want) == 0)
			found = 1;
		else if (s != NULL)
			snprintf(got, glen, "TXT %.60s", s);
		free(s);
	}
out:
	ldns_rr_list_deep_free(txt);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(dname);
	ldns_resolver_deep_free(r);
	free(want);
	return found;
}

int
dns01_wait(const struct dns01_config *c, const char *name, const char *value,
    long long deadline_ms, struct cf_error *err)
{
	const char *servers[DNS01_CHECK_MAX];
	char got[DNS01_CHECK_MAX][96];
	int done[DNS01_CHECK_MAX] = {0};
	size_t n = c->ncheck, i, left;
	long t = c->timeout_ms > 0 ? c->timeout_ms : TIMEOUT_DEFAULT;
	char *missing;

	if (args_check(name, value, err) == -1)
		return -1;
	if (n == 0 && c->server != NULL)
		servers[n++] = c->server;
	for (i = 0; i < c->ncheck && i < DNS01_CHECK_MAX; i++)
		servers[i] = c->check[i];
	if (n == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "dns-01: which servers answer for %s? give the "
		    "authoritative servers to wait on",
		    name);
	for (;;) {
		for (i = 0, left = 0; i < n; i++) {
			if (done[i])
				continue;
			switch (asked(servers[i], name, value,
			    t < 2000 ? t : 2000, got[i], sizeof(got[i]))) {
			case -1:
				return cf_errorf(err, CF_E_USAGE,
				    "dns-01: %s: give an IP address and "
				    "port (127.0.0.1:53, [::1]:53)",
				    servers[i]);
			case 1:
				done[i] = 1;
				break;
			default:
				left++;
			}
		}
		if (left == 0)
			return 0;
		if (cf_now_ms() + 500 > deadline_ms)
			break;
		usleep(500 * 1000);
	}
	missing = xstrdup("");
	for (i = 0; i < n; i++)
		if (!done[i]) {
			char *next = xasprintf("%s%s%s (%s)", missing,
			    missing[0] ? ", " : "", servers[i], got[i]);

			free(missing);
			missing = next;
		}
	cf_errorf(err, CF_E_IO,
	    "dns-01: %s: not every authoritative server answers the TXT "
	    "record yet: %s; the CA was not asked to validate",
	    name, missing);
	free(missing);
	return -1;
}
