/* issuer.c - who issues a namespace's certificate: see issuer.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "issuer.h"
#include "lifetime.h"
#include "util.h"

static const char *const challenges[] = {"http-01", "dns-01", NULL};
static const char *const keys[] = {
    "p256", "p384", "rsa2048", "rsa3072", "rsa4096", NULL};
static const char *const members[] = {"type", "account", "challenge", "key",
    "profile", "renew_at", "dns_server", "dns_key_file", "dns_hook", "san",
    NULL};

#define HOST_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:[]"
#define PATH_CHARS                                                             \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"
#define CHECK_MAX 16

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

static int
chars_ok(const char *v, const char *set, size_t max)
{
	size_t n = v != NULL ? strlen(v) : 0;

	return n >= 1 && n <= max && strspn(v, set) == n;
}

/* A DNS update server (HOST, HOST:PORT, [V6]:PORT) or a server to wait
 * on; an absolute path of a TSIG key file; a hook: an absolute path,
 * then arguments, printable. */
static int
server_ok(const char *v)
{
	return chars_ok(v, HOST_CHARS, 255);
}

static int
path_ok(const char *v)
{
	return chars_ok(v, PATH_CHARS, 1024) && v[0] == '/';
}

static int
hook_ok(const char *v)
{
	size_t i;

	if (v == NULL || v[0] != '/' || strlen(v) > 1024)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

/* The servers to wait on: at most CHECK_MAX, each a server. */
static int
check_ok(const json_t *a)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > CHECK_MAX)
		return 0;
	json_array_foreach(a, i, v)
		if (!server_ok(json_string_value(v)))
			return 0;
	return 1;
}

/* A renew-at limit: days above 0 or a share above 0 and below 100%. */
static int
renew_at_ok(const char *v)
{
	struct lifetime_limit l;

	return lifetime_limit_parse(v, &l) == 0 &&
	       (l.is_share ? l.fraction > 0 && l.fraction < 1 : l.days > 0);
}

/* Member m of o as a string, or NULL (absent or not a string). */
static const char *
str(const json_t *o, const char *m)
{
	return json_string_value(json_object_get(o, m));
}

/*
 * The extra names' member, when there: canonical DNS names
 * (cf_names_check's), a wildcard only with dns-01 (a CA validates a
 * wildcard by DNS alone).  -1 with code naming what is wrong.
 */
static int
san_check(const json_t *o, enum cf_code code, struct cf_error *err)
{
	const char *v = str(o, "san"), *ch = str(o, "challenge");
	struct cf_error e;
	char *canon = NULL;
	int same;

	if (json_object_get(o, "san") == NULL)
		return 0;
	if (v == NULL || v[0] == '\0' || cf_names_check(v, &canon, &e) == -1) {
		free(canon);
		return cf_errorf(err, code,
		    "issuer: san: DNS names, comma-separated (%s)",
		    v == NULL || v[0] == '\0' ? "none given" : e.msg);
	}
	same = strcmp(canon, v) == 0;
	free(canon);
	if (!same)
		return cf_errorf(
		    err, code, "issuer: san: %.80s: not in canonical form", v);
	if ((v[0] == '*' || strstr(v, ",*") != NULL) && ch != NULL &&
	    strcmp(ch, "dns-01") != 0)
		return cf_errorf(err, code,
		    "issuer: san: %.80s: a wildcard name is validated by "
		    "dns-01 only (--challenge dns-01)",
		    v);
	return 0;
}

int
cf_issuer_opts_any(const struct cf_issuer_opts *o)
{
	return o->issuer || o->challenge || o->key || o->profile ||
	       o->renew_at || o->http_port || o->dns_server ||
	       o->dns_key_file || o->dns_hook || o->dns_check || o->san;
}

int
cf_issuer_check(const json_t *o, struct cf_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return cf_errorf(err, CF_E_PARSE, "issuer: not an object");
	json_object_foreach((json_t *)o, k, v)
		if (strcmp(k, "http_port") == 0 || strcmp(k, "dns_check") == 0)
			continue;
		else if (!one_of(k, members) || !json_is_string(v))
			return cf_errorf(err, CF_E_PARSE, "issuer: %.40s: %s",
			    k,
			    one_of(k, members) ? "not a string"
					       : "unknown member");
	v = json_object_get(o, "http_port");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
			     json_integer_value(v) > 65535))
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: http_port: a port, 1 to 65535");
	if (json_object_get(o, "dns_check") != NULL &&
	    !check_ok(json_object_get(o, "dns_check")))
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: dns_check: 1 to %d servers, IP:PORT", CHECK_MAX);
	if (json_object_get(o, "dns_server") != NULL &&
	    !server_ok(str(o, "dns_server")))
		return cf_errorf(
		    err, CF_E_PARSE, "issuer: dns_server: not HOST:PORT");
	if (json_object_get(o, "dns_key_file") != NULL &&
	    !path_ok(str(o, "dns_key_file")))
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: dns_key_file: not an absolute path");
	if (json_object_get(o, "dns_hook") != NULL &&
	    !hook_ok(str(o, "dns_hook")))
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: dns_hook: not an absolute path and arguments");
	if (json_object_get(o, "dns_hook") != NULL &&
	    json_object_get(o, "dns_server") != NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "issuer: dns_hook and dns_server: one or the other");
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
	return san_check(o, CF_E_PARSE, err);
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

/* Member m of n set to v, or removed when v is unset ("none"). */
static void
set_or_del(json_t *n, const char *m, const char *v, const char *unset)
{
	if (v == NULL)
		return;
	if (strcmp(v, unset) == 0)
		json_object_del(n, m);
	else
		json_object_set_new(n, m, json_string(v));
}

/* --dns-check's list into n ("none": removed); -1 when it is not one. */
static int
apply_check(json_t *n, const char *v, struct cf_error *err)
{
	json_t *check;
	char *list, *tok, *save;

	if (strcmp(v, "none") == 0) {
		json_object_del(n, "dns_check");
		return 0;
	}
	check = json_array();
	list = xstrdup(v);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		json_array_append_new(check, json_string(tok));
	free(list);
	if (!check_ok(check)) {
		json_decref(check);
		return cf_errorf(err, CF_E_USAGE,
		    "--dns-check %.80s: 1 to %d authoritative servers, "
		    "IP:PORT,IP:PORT, or none",
		    v, CHECK_MAX);
	}
	json_object_set_new(n, "dns_check", check);
	return 0;
}

/* --http-port and the DNS options into n: -1 with CF_E_USAGE naming
 * the option. */
static int
apply_transport(json_t *n, const struct cf_issuer_opts *o, struct cf_error *err)
{
	long port;
	char *end;

	if (o->http_port != NULL && strcmp(o->http_port, "default") != 0) {
		port = strtol(o->http_port, &end, 10);
		if (end == o->http_port || *end != '\0' || port < 1 ||
		    port > 65535)
			return cf_errorf(err, CF_E_USAGE,
			    "--http-port %s: a port, 1 to 65535, or default "
			    "(80)",
			    o->http_port);
		json_object_set_new(n, "http_port", json_integer(port));
	} else if (o->http_port != NULL)
		json_object_del(n, "http_port");
	if (o->dns_server && strcmp(o->dns_server, "none") &&
	    !server_ok(o->dns_server))
		return cf_errorf(err, CF_E_USAGE,
		    "--dns-server %.80s: HOST or HOST:PORT of the primary "
		    "that takes updates, or none",
		    o->dns_server);
	if (o->dns_key_file && strcmp(o->dns_key_file, "none") &&
	    !path_ok(o->dns_key_file))
		return cf_errorf(err, CF_E_USAGE,
		    "--dns-key-file %.80s: the absolute path of the TSIG key "
		    "tsig-keygen wrote, or none",
		    o->dns_key_file);
	if (o->dns_hook && strcmp(o->dns_hook, "none") && !hook_ok(o->dns_hook))
		return cf_errorf(err, CF_E_USAGE,
		    "--dns-hook: an absolute path (and arguments), printable, "
		    "or none");
	if (o->dns_check != NULL && apply_check(n, o->dns_check, err) == -1)
		return -1;
	set_or_del(n, "dns_server", o->dns_server, "none");
	set_or_del(n, "dns_key_file", o->dns_key_file, "none");
	set_or_del(n, "dns_hook", o->dns_hook, "none");
	if (json_object_get(n, "dns_hook") && json_object_get(n, "dns_server"))
		return cf_errorf(err, CF_E_USAGE,
		    "--dns-hook and --dns-server: one or the other "
		    "(--dns-server "
		    "none or --dns-hook none drops one)");
	return 0;
}

/* --san into n ("none": removed), then the names checked against the
 * challenge; CF_E_USAGE naming the option. */
static int
apply_san(json_t *n, const char *v, struct cf_error *err)
{
	struct cf_error e;
	char *canon = NULL;

	if (v != NULL && strcmp(v, "none") == 0)
		json_object_del(n, "san");
	else if (v != NULL) {
		if (cf_names_check(v, &canon, &e) == -1 || canon[0] == '\0') {
			free(canon);
			return cf_errorf(err, CF_E_USAGE,
			    "--san %.80s: more DNS names for the certificate, "
			    "comma-separated, or none (%s)",
			    v, canon == NULL ? e.msg : "none given");
		}
		json_object_set_new(n, "san", json_string(canon));
		free(canon);
	}
	if (san_check(n, CF_E_USAGE, err) == -1) {
		snprintf(err->msg, sizeof(err->msg), "%s",
		    "--san: a wildcard name is validated by dns-01 only: give "
		    "--challenge dns-01 with it");
		return -1;
	}
	return 0;
}

int
cf_issuer_apply(
    json_t **io, const struct cf_issuer_opts *o, struct cf_error *err)
{
	json_t *n = *io != NULL ? json_deep_copy(*io) : NULL;

	if (o->issuer != NULL && apply_issuer(&n, o->issuer, err) == -1)
		goto fail;
	if (n == NULL && o->issuer == NULL && cf_issuer_opts_any(o)) {
		cf_errorf(err, CF_E_USAGE,
		    "--challenge, --key, --profile, --renew-at, --http-port "
		    "and "
		    "the --dns options say how an issuer issues: give --issuer "
		    "acme:ACCOUNT too (this namespace has none)");
		goto fail;
	}
	if (n != NULL &&
	    (apply_rest(n, o, err) == -1 || apply_transport(n, o, err) == -1 ||
		apply_san(n, o->san, err) == -1))
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
	json_t *port = json_object_get(o, "http_port");
	json_t *check = json_object_get(o, "dns_check");

	if (o == NULL)
		return json_null();
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:I, s:s?, s:s?, "
			 "s:s?, s:o, s:s?}",
	    "Type", str(o, "type"), "Account", str(o, "account"), "Challenge",
	    str(o, "challenge"), "Key", str(o, "key"), "Profile",
	    str(o, "profile"), "RenewAt",
	    str(o, "renew_at") ? str(o, "renew_at") : "33%", "HttpPort",
	    (json_int_t)(port ? json_integer_value(port) : 80), "DnsServer",
	    str(o, "dns_server"), "DnsKeyFile", str(o, "dns_key_file"),
	    "DnsHook", str(o, "dns_hook"), "DnsCheck",
	    check ? json_deep_copy(check) : json_array(), "San", str(o, "san"));
}

char *
cf_issuer_text(const json_t *o)
{
	json_t *port = json_object_get(o, "http_port");
	char extra[64] = "";

	if (o == NULL)
		return xstrdup("-");
	if (port != NULL)
		snprintf(extra, sizeof(extra), " http port %lld",
		    (long long)json_integer_value(port));
	if (str(o, "dns_hook") != NULL)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    " dns by hook");
	else if (str(o, "dns_server") != NULL)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    " dns %.40s", str(o, "dns_server"));
	return xasprintf("%s:%s %s %s%s%s renew at %s%s%s%s", str(o, "type"),
	    str(o, "account"), str(o, "challenge"), str(o, "key"),
	    str(o, "profile") ? " profile " : "",
	    str(o, "profile") ? str(o, "profile") : "",
	    str(o, "renew_at") ? str(o, "renew_at") : "33%", extra,
	    str(o, "san") ? " san " : "", str(o, "san") ? str(o, "san") : "");
}
