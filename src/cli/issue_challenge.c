/*
 * issue_challenge.c - an authorization of the namespace's order
 * answered where the CA will look (issue_int.h).
 *
 * HTTP-01: a CA validates from several network perspectives and the
 * balancer sends each to any member, so the key authorization goes on
 * every member first, and each member is then asked the way the CA will
 * ask: its own address on the issuer's HTTP port, the name as Host:.
 * Through the balancer (--via's host, same port) twice as many times as
 * there are members, so that round-robin reaches each.  One that does
 * not answer stops the order, named, before the CA hears of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "http01_check.h"
#include "issue_int.h"

#define CHALLENGES "/v1/acme/challenges/"

static struct issue_pub *
pub_add(struct issue *is)
{
	is->pub = xrealloc(is->pub, (is->npub + 1) * sizeof(*is->pub));
	memset(&is->pub[is->npub], 0, sizeof(*is->pub));
	return &is->pub[is->npub++];
}

/* One JSON call to member i. */
static int
member_call(struct issue *is, size_t i, const char *method, const char *path,
    json_t *body, struct cf_error *err)
{
	struct acme_agent a;
	int rc;

	acme_agent_init(&a, backend_target(is->members, i), NULL);
	rc = acme_agent_call(&a, method, path, body, NULL, err);
	acme_agent_close(&a);
	return rc;
}

/* HOST:PORT of host (of addr, HOST:PORT) and port (new), or NULL. */
static char *
http_addr(const char *addr, long port, struct cf_error *err)
{
	char *host = NULL, *out;
	int p;

	if (addr == NULL || client_address_parse(addr, &host, &p, err) == -1) {
		if (addr == NULL)
			cf_errorf(err, CF_E_USAGE,
			    "not reached over the network (a fleet address "
			    "is needed to check it)");
		return NULL;
	}
	out = strchr(host, ':') != NULL ? xasprintf("[%s]:%ld", host, port)
					: xasprintf("%s:%ld", host, port);
	free(host);
	return out;
}

static long
http_port(const struct issue *is)
{
	json_t *p = json_object_get(is->issuer, "http_port");

	return p != NULL ? (long)json_integer_value(p) : 80;
}

/* Publishes keyauth for token on every member: all, or -1 naming the
 * one that refused (those that took it are in is->pub). */
static int
http_publish(struct issue *is, const char *token, const char *keyauth,
    struct cf_error *err)
{
	size_t i, n = backend_count(is->members);
	char *path = xasprintf(CHALLENGES "%s", token);
	json_t *body = json_pack(
	    "{s:s, s:i}", "KeyAuthorization", keyauth, "Ttl", ISSUE_TOKEN_TTL);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (member_call(is, i, "PUT", path, body, err) == -1) {
			cf_error_prefix(err,
			    "http-01: %s: publishing the key "
			    "authorization: ",
			    backend_server(is->members, i));
			rc = -1;
			break;
		}
		pub_add(is)->member = i;
		is->pub[is->npub - 1].token = xstrdup(token);
	}
	json_decref(body);
	free(path);
	return rc;
}

/* Asks every member, then the balancer, for token as the CA will. */
static int
http_check(struct issue *is, const char *name, const char *token,
    const char *keyauth, struct cf_error *err)
{
	size_t i, n = backend_count(is->members);
	char *addr, why[sizeof(err->msg)];
	int rc;

	for (i = 0; i < n; i++) {
		if ((addr = http_addr(backend_address(is->members, i),
			 http_port(is), err)) == NULL)
			return cf_error_prefix(err,
			    "http-01: %s: ", backend_server(is->members, i));
		rc = acme_http01_check(
		    addr, name, token, keyauth, 1, ISSUE_CHECK_MS, err);
		if (rc == -1 && snprintf(why, sizeof(why), "%s", err->msg) >= 0)
			cf_errorf(err, CF_E_IO,
			    "http-01: %s does not serve the token, so a CA's "
			    "request balanced to it would fail; the CA was "
			    "not asked to validate: %s",
			    backend_server(is->members, i), why);
		free(addr);
		if (rc == -1)
			return -1;
	}
	if (is->ns->via == NULL)
		return 0;
	if ((addr = http_addr(is->ns->via, http_port(is), err)) == NULL)
		return cf_error_prefix(err, "http-01: the balancer: ");
	rc = acme_http01_check(
	    addr, name, token, keyauth, (int)(2 * n), ISSUE_CHECK_MS, err);
	if (rc == -1 && snprintf(why, sizeof(why), "%s", err->msg) >= 0)
		cf_errorf(err, CF_E_IO,
		    "http-01: the balancer does not serve the token to every "
		    "request; the CA was not asked to validate: %s",
		    why);
	free(addr);
	return rc;
}

static int
http_answer(struct issue *is, const struct acme_authz *az,
    const struct acme_challenge *ch, struct cf_error *err)
{
	char *ka = acme_key_authorization_new(ch->token, is->thumb);
	int rc;

	rc = http_publish(is, ch->token, ka, err) == 0 &&
		     http_check(is, az->identifier, ch->token, ka, err) == 0
		 ? 0
		 : -1;
	free(ka);
	return rc;
}

static int
dns_answer(struct issue *is, const struct acme_authz *az,
    const struct acme_challenge *ch, struct cf_error *err)
{
	char *ka = acme_key_authorization_new(ch->token, is->thumb);
	char *value = acme_dns01_value_new(ka), *owner;
	struct issue_pub *p;
	int rc = -1;

	free(ka);
	if ((owner = dns01_owner(az->identifier, err)) == NULL) {
		free(value);
		return -1;
	}
	if (dns01_set(&is->dns, owner, value, err) == -1) {
		free(owner);
		free(value);
		return -1;
	}
	p = pub_add(is);
	p->owner = owner;
	p->value = value;
	if (dns01_wait(&is->dns, owner, value, is->deadline_ms, err) == 0)
		rc = 0;
	else
		cf_error_prefix(err, "the CA was not asked to validate: ");
	return rc;
}

int
issue_answer(struct issue *is, const struct acme_authz *az, const char **url,
    struct cf_error *err)
{
	const char *type =
	    json_string_value(json_object_get(is->issuer, "challenge"));
	const struct acme_challenge *ch = acme_authz_challenge(az, type);
	int rc;

	*url = NULL;
	if (ch == NULL || ch->token == NULL || acme_token_check(ch->token) != 0)
		return cf_errorf(err, CF_E_UNSUPPORTED,
		    "%s%s: the CA offers no %s challenge for it%s",
		    az->wildcard ? "*." : "", az->identifier, type,
		    az->wildcard && strcmp(type, "http-01") == 0
			? " (a wildcard needs dns-01)"
			: "");
	if (strcmp(type, "dns-01") == 0)
		rc = dns_answer(is, az, ch, err);
	else
		rc = http_answer(is, az, ch, err);
	if (rc == 0)
		*url = ch->url;
	return rc;
}

void
issue_withdraw(struct issue *is)
{
	struct cf_error err;
	struct issue_pub *p;
	char *path;
	size_t i;

	for (i = 0; i < is->npub; i++) {
		p = &is->pub[i];
		if (p->token != NULL) {
			path = xasprintf(CHALLENGES "%s", p->token);
			if (member_call(is, p->member, "DELETE", path, NULL,
				&err) == -1 &&
			    err.code != CF_E_NOTFOUND)
				fprintf(stderr,
				    "certfleet: %s: %s: %s: the key "
				    "authorization not withdrawn (it expires "
				    "within %d s): %s\n",
				    is->op, is->ns->name,
				    backend_server(is->members, p->member),
				    ISSUE_TOKEN_TTL, err.msg);
			free(path);
		} else if (p->owner != NULL && dns01_clear(&is->dns, p->owner,
						   p->value, &err) == -1)
			fprintf(stderr,
			    "certfleet: %s: %s: %s: the TXT record not "
			    "removed: %s\n",
			    is->op, is->ns->name, p->owner, err.msg);
		free(p->token);
		free(p->owner);
		free(p->value);
	}
	free(is->pub);
	is->pub = NULL;
	is->npub = 0;
}
