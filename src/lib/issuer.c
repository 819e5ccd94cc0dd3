/* issuer.c - who issues a namespace's certificate: see issuer.h. */
#include <stdio.h>
#include <string.h>

#include "issuer.h"
#include "lifetime.h"
#include "util.h"

static const char *const challenges[] = {"http-01", "dns-01", NULL};
static const char *const keys[] = {
    "p256", "p384", "rsa2048", "rsa3072", "rsa4096", NULL};
static const char *const members[] = {
    "type", "account", "challenge", "key", "profile", "renew_at", NULL};

static int
one_of(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/* An account or profile name: letters, digits, . _ -, first a letter or
 * digit, 1 to CF_ISSUER_NAME_MAX. */
static int
name_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= CF_ISSUER_NAME_MAX &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n &&
	       strchr("._-", v[0]) == NULL;
}

/* A renew-at limit: days above 0 or a share above 0 and below 100%. */
static int
renew_at_ok(const char *v)
{
	struct lifetime_limit l;

	return lifetime_limit_parse(v, &l) == 0 &&
	       (l.is_share ? l.fraction > 0 && l.fraction < 1 : l.days > 0);
}

int
cf_issuer_opts_any(const struct cf_issuer_opts *o)
{
	return o->issuer || o->challenge || o->key || o->profile || o->renew_at;
}

/* Member m of o as a string, or NULL (absent or not a string). */
static const char *
str(const json_t *o, const char *m)
{
	return json_string_value(json_object_get(o, m));
}

int
cf_issuer_check(const json_t *o, struct cf_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return cf_errorf(err, CF_E_PARSE, "issuer: not an object");
	json_object_foreach((json_t *)o, k, v)
		if (!one_of(k, members) || !json_is_string(v))
			return cf_errorf(err, CF_E_PARSE, "issuer: %.40s: %s",
			    k,
			    one_of(k, members) ? "not a string"
					       : "unknown member");
	if (str(o, "type") == NULL || strcmp(str(o, "type"), "acme") != 0)
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: type: only \"acme\" is known");
	if (str(o, "account") == NULL || !name_ok(str(o, "account")))
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: account: not an account name");
	if (str(o, "challenge") == NULL ||
	    !one_of(str(o, "challenge"), challenges))
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: challenge: http-01 or dns-01");
	if (str(o, "key") == NULL || !one_of(str(o, "key"), keys))
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: key: p256, p384, rsa2048, rsa3072 or rsa4096");
	if (json_object_get(o, "profile") != NULL &&
	    !name_ok(str(o, "profile")))
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: profile: not a profile name");
	if (json_object_get(o, "renew_at") != NULL &&
	    !renew_at_ok(str(o, "renew_at")))
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: renew_at: days left (30d) or a share of the "
		    "lifetime left (33%%)");
	return 0;
}

/* The --issuer value into *n; NULL: none.  CF_E_USAGE otherwise. */
static int
apply_issuer(json_t **n, const char *v, struct cf_error *err)
{
	if (strcmp(v, "none") == 0) {
		json_decref(*n);
		*n = NULL;
		return 0;
	}
	if (strncmp(v, "acme:", 5) != 0 || !name_ok(v + 5))
		return cf_errorf(err, CF_E_USAGE,
		    "--issuer %s: give acme:ACCOUNT (an account of `certfleet "
		    "acme account new`: letters, digits, . _ -, at most %d) or "
		    "none",
		    v, CF_ISSUER_NAME_MAX);
	if (*n == NULL)
		*n = json_pack("{s:s, s:s, s:s}", "type", "acme", "challenge",
		    CF_ISSUER_CHALLENGE_DEFAULT, "key", CF_ISSUER_KEY_DEFAULT);
	json_object_set_new(*n, "account", json_string(v + 5));
	return 0;
}

/* The options but --issuer into n (not NULL). */
static int
apply_rest(json_t *n, const struct cf_issuer_opts *o, struct cf_error *err)
{
	if (o->challenge != NULL && !one_of(o->challenge, challenges))
		return cf_errorf(err, CF_E_USAGE,
		    "--challenge %s: http-01 or dns-01", o->challenge);
	if (o->key != NULL && !one_of(o->key, keys))
		return cf_errorf(err, CF_E_USAGE,
		    "--key %s: p256, p384, rsa2048, rsa3072 or rsa4096",
		    o->key);
	if (o->profile != NULL && strcmp(o->profile, "none") != 0 &&
	    !name_ok(o->profile))
		return cf_errorf(err, CF_E_USAGE,
		    "--profile %s: a profile name the CA's directory "
		    "advertises, or none",
		    o->profile);
	if (o->renew_at != NULL && strcmp(o->renew_at, "default") != 0 &&
	    !renew_at_ok(o->renew_at))
		return cf_errorf(err, CF_E_USAGE,
		    "--renew-at %s: days left before expiry (30d) or a share "
		    "of the lifetime left (33%%, above 0 and below 100), or "
		    "default (33%%)",
		    o->renew_at);
	if (o->challenge != NULL)
		json_object_set_new(n, "challenge", json_string(o->challenge));
	if (o->key != NULL)
		json_object_set_new(n, "key", json_string(o->key));
	if (o->profile != NULL && strcmp(o->profile, "none") == 0)
		json_object_del(n, "profile");
	else if (o->profile != NULL)
		json_object_set_new(n, "profile", json_string(o->profile));
	if (o->renew_at != NULL && strcmp(o->renew_at, "default") == 0)
		json_object_del(n, "renew_at");
	else if (o->renew_at != NULL)
		json_object_set_new(n, "renew_at", json_string(o->renew_at));
	return 0;
}

int
cf_issuer_apply(
    json_t **io, const struct cf_issuer_opts *o, struct cf_error *err)
{
	json_t *n = *io != NULL ? json_deep_copy(*io) : NULL;

	if (o->issuer != NULL && apply_issuer(&n, o->issuer, err) == -1)
		goto fail;
	if (n == NULL &&
	    (o->challenge || o->key || o->profile || o->renew_at)) {
		cf_errorf(err, CF_E_USAGE,
		    "--challenge, --key, --profile and --renew-at say how an "
		    "issuer issues: give --issuer acme:ACCOUNT too (this "
		    "namespace has none)");
		goto fail;
	}
	if (n != NULL && apply_rest(n, o, err) == -1)
		goto fail;
	json_decref(*io);
	*io = n;
	return 0;
fail:
	json_decref(n);
	return -1;
}

json_t *
cf_issuer_view(const json_t *o)
{
	if (o == NULL)
		return json_null();
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s}", "Type",
	    str(o, "type"), "Account", str(o, "account"), "Challenge",
	    str(o, "challenge"), "Key", str(o, "key"), "Profile",
	    str(o, "profile"), "RenewAt",
	    str(o, "renew_at") ? str(o, "renew_at") : "33%");
}

char *
cf_issuer_text(const json_t *o)
{
	if (o == NULL)
		return xstrdup("-");
	return xasprintf("%s:%s %s %s%s%s renew at %s", str(o, "type"),
	    str(o, "account"), str(o, "challenge"), str(o, "key"),
	    str(o, "profile") ? " profile " : "",
	    str(o, "profile") ? str(o, "profile") : "",
	    str(o, "renew_at") ? str(o, "renew_at") : "33%");
}
