/*
 * msg.c - the checked parsers of what an ACME CA sends (RFC 8555 7.1):
 * the directory, accounts, orders, authorizations with their
 * challenges, and problem documents (RFC 7807).
 *
 * Everything here is outside bytes.  A message is taken whole or
 * refused with the field named: strings and lists capped, URLs https
 * only, statuses from the RFC's list for the object's kind, tokens of
 * base64url characters.  Members the client does not use are ignored.
 */
#include <string.h>
#include <strings.h>

#include "acme.h"

/* JSON nesting a message may have (subproblems sit at depth 3). */
#define JSON_DEPTH_MAX 8
#define DNS_NAME_MAX 253
#define PROFILE_NAME_MAX 64

static const char *const status_names[] = {
    [ACME_S_UNKNOWN] = "unknown",
    [ACME_S_PENDING] = "pending",
    [ACME_S_READY] = "ready",
    [ACME_S_PROCESSING] = "processing",
    [ACME_S_VALID] = "valid",
    [ACME_S_INVALID] = "invalid",
    [ACME_S_DEACTIVATED] = "deactivated",
    [ACME_S_EXPIRED] = "expired",
    [ACME_S_REVOKED] = "revoked",
};

/* The statuses each kind of object may have (RFC 8555 7.1.6), as bits. */
#define BIT(s) (1u << (s))
#define ACCOUNT_STATUSES                                                       \
	(BIT(ACME_S_VALID) | BIT(ACME_S_DEACTIVATED) | BIT(ACME_S_REVOKED))
#define ORDER_STATUSES                                                         \
	(BIT(ACME_S_PENDING) | BIT(ACME_S_READY) | BIT(ACME_S_PROCESSING) |    \
	    BIT(ACME_S_VALID) | BIT(ACME_S_INVALID))
#define AUTHZ_STATUSES                                                         \
	(BIT(ACME_S_PENDING) | BIT(ACME_S_VALID) | BIT(ACME_S_INVALID) |       \
	    BIT(ACME_S_DEACTIVATED) | BIT(ACME_S_EXPIRED) |                    \
	    BIT(ACME_S_REVOKED))
#define CHALLENGE_STATUSES                                                     \
	(BIT(ACME_S_PENDING) | BIT(ACME_S_PROCESSING) | BIT(ACME_S_VALID) |    \
	    BIT(ACME_S_INVALID))

const char *
acme_status_name(enum acme_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int
acme_url_check(const char *s)
{
	const char *host, *end;
	size_t i, n = strlen(s);

	if (n > ACME_URL_MAX || strncasecmp(s, "https://", 8) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return -1;
	host = s + 8;
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return -1;
	return 0;
}

static int
b64u_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
acme_token_check(const char *s)
{
	size_t n = strlen(s), i;

	if (n < ACME_TOKEN_MIN || n > ACME_TOKEN_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!b64u_char(s[i]))
			return -1;
	return 0;
}

/* 1 when j nests deeper than JSON_DEPTH_MAX, else 0. */
static int
too_deep(const json_t *j, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (depth > JSON_DEPTH_MAX)
		return 1;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v) {
			if (too_deep(v, depth + 1))
				return 1;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (too_deep(v, depth + 1))
				return 1;
		}
	}
	return 0;
}

/* The body as a JSON object, nesting bounded; what names it in errors. */
static json_t *
load(const char *body, size_t len, const char *what, struct cf_error *err)
{
	json_error_t je;
	json_t *o;

	if (len > ACME_BODY_MAX) {
		cf_errorf(
		    err, CF_E_LIMIT, "%s: over %d bytes", what, ACME_BODY_MAX);
		return NULL;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		cf_errorf(err, CF_E_PARSE, "%s: not a JSON object", what);
		return NULL;
	}
	if (too_deep(o, 0)) {
		json_decref(o);
		cf_errorf(err, CF_E_LIMIT, "%s: nested too deep", what);
		return NULL;
	}
	return o;
}

/*
 * The string member name of o, copied into *out (new), checked as a URL
 * when url is set.  Absent: 0 and *out NULL unless need, then -1.
 */
static int
get_str(const json_t *o, const char *name, int need, int url, char **out,
    const char *what, struct cf_error *err)
{
	json_t *v = json_object_get(o, name);
	const char *s;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!need)
			return 0;
		return cf_errorf(err, CF_E_PARSE, "%s: no %s", what, name);
	}
	if (!json_is_string(v))
		return cf_errorf(
		    err, CF_E_PARSE, "%s: %s: not a string", what, name);
	s = json_string_value(v);
	if (json_string_length(v) != strlen(s))
		return cf_errorf(err, CF_E_PARSE, "%s: %s: a NUL", what, name);
	if (json_string_length(v) > (url ? ACME_URL_MAX : ACME_STRING_MAX))
		return cf_errorf(
		    err, CF_E_LIMIT, "%s: %s: too long", what, name);
	if (url && acme_url_check(s) != 0)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: %s: not an https URL", what, name);
	*out = xstrdup(s);
	return 0;
}

static int
get_status(const json_t *o, unsigned allowed, enum acme_status *out,
    const char *what, struct cf_error *err)
{
	const char *s = json_string_value(json_object_get(o, "status"));
	size_t i;

	if (s == NULL)
		return cf_errorf(err, CF_E_PARSE, "%s: no status", what);
	for (i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0 && (allowed & BIT(i))) {
			*out = (enum acme_status)i;
			return 0;
		}
	return cf_errorf(
	    err, CF_E_PARSE, "%s: status: not one of a %s's", what, what);
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* 0 when s is a DNS name as an identifier (or a wildcard) may be. */
static int
dns_name_check(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > DNS_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' ||
			c == '*'))
			return -1;
	}
	return 0;
}

/* A dns identifier object {"type":"dns","value":NAME}: NAME, new. */
static int
get_identifier(
    const json_t *id, char **out, const char *what, struct cf_error *err)
{
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *v = json_string_value(json_object_get(id, "value"));

	*out = NULL;
	if (type == NULL || strcmp(type, "dns") != 0)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: identifier: not of type dns", what);
	if (v == NULL || dns_name_check(v) != 0)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: identifier: not a DNS name", what);
	*out = xstrdup(v);
	return 0;
}

/*
 * The array member name of o as strings (new, *n set): URLs checked when
 * url, else dns identifier objects.  At most ACME_LIST_MAX.
 */
static int
get_list(const json_t *o, const char *name, int url, char ***out, size_t *n,
    const char *what, struct cf_error *err)
{
	json_t *a = json_object_get(o, name), *v;
	char **list;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: %s: not a list of entries", what, name);
	if (json_array_size(a) > ACME_LIST_MAX)
		return cf_errorf(err, CF_E_LIMIT, "%s: %s: more than %d", what,
		    name, ACME_LIST_MAX);
	list = xcalloc(json_array_size(a), sizeof(*list));
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (url && (s == NULL || acme_url_check(s) != 0)) {
			strv_free(list, i);
			return cf_errorf(err, CF_E_PARSE,
			    "%s: %s: not an https URL", what, name);
		}
		if (url)
			list[i] = xstrdup(s);
		else if (get_identifier(v, &list[i], what, err) != 0) {
			strv_free(list, i);
			return -1;
		}
	}
	*out = list;
	*n = json_array_size(a);
	return 0;
}

/* ---- problem documents ---------------------------------------------- */

static int problem_from(const json_t *o, int depth, struct acme_problem **out,
    struct cf_error *err);

static int
subproblems(
    const json_t *o, int depth, struct acme_problem *p, struct cf_error *err)
{
	json_t *a = json_object_get(o, "subproblems"), *v;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || depth > 0)
		return cf_errorf(err, CF_E_PARSE, "problem: subproblems");
	if (json_array_size(a) > ACME_LIST_MAX)
		return cf_errorf(err, CF_E_LIMIT,
		    "problem: subproblems: more "
		    "than %d",
		    ACME_LIST_MAX);
	p->sub = xcalloc(json_array_size(a) + 1, sizeof(*p->sub));
	json_array_foreach(a, i, v) {
		struct acme_problem *s;

		if (problem_from(v, depth + 1, &s, err) != 0)
			return -1;
		p->sub[i] = *s;
		free(s);
		p->n_sub++;
	}
	return 0;
}

static int
problem_from(
    const json_t *o, int depth, struct acme_problem **out, struct cf_error *err)
{
	struct acme_problem *p = xcalloc(1, sizeof(*p));
	const json_t *id = json_object_get(o, "identifier");

	*out = NULL;
	if (!json_is_object(o)) {
		free(p);
		return cf_errorf(err, CF_E_PARSE, "problem: not an object");
	}
	if (get_str(o, "type", 1, 0, &p->type, "problem", err) != 0 ||
	    get_str(o, "detail", 0, 0, &p->detail, "problem", err) != 0 ||
	    (id != NULL &&
		get_identifier(id, &p->ident, "problem", err) != 0) ||
	    subproblems(o, depth, p, err) != 0) {
		acme_problem_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int
acme_problem_parse(const char *body, size_t len, struct acme_problem **out,
    struct cf_error *err)
{
	json_t *o = load(body, len, "problem", err);
	int rc;

	*out = NULL;
	if (o == NULL)
		return -1;
	rc = problem_from(o, 0, out, err);
	json_decref(o);
	return rc;
}

static void
problem_clear(struct acme_problem *p)
{
	size_t i;

	for (i = 0; i < p->n_sub; i++)
		problem_clear(&p->sub[i]);
	free(p->sub);
	free(p->type);
	free(p->detail);
	free(p->ident);
}

void
acme_problem_free(struct acme_problem *p)
{
	if (p == NULL)
		return;
	problem_clear(p);
	free(p);
}

/* Appends s to out (used bytes *at), control characters as '?', at most
 * max bytes of s. */
static void
put_clean(char *out, size_t size, size_t *at, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max && *at + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[(*at)++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[*at] = '\0';
}

void
acme_problem_render(const struct acme_problem *p, char *out, size_t size)
{
	size_t at = 0, i;

	if (size == 0)
		return;
	out[0] = '\0';
	put_clean(out, size, &at, "acme: ", 6);
	put_clean(out, size, &at, p->type, ACME_DETAIL_MAX);
	if (p->detail != NULL) {
		put_clean(out, size, &at, ": ", 2);
		put_clean(out, size, &at, p->detail, ACME_DETAIL_MAX);
	}
	for (i = 0; i < p->n_sub; i++) {
		const struct acme_problem *s = &p->sub[i];

		put_clean(out, size, &at, "; ", 2);
		put_clean(out, size, &at, s->type, ACME_DETAIL_MAX);
		if (s->ident != NULL) {
			put_clean(out, size, &at, " (", 2);
			put_clean(out, size, &at, s->ident, DNS_NAME_MAX);
			put_clean(out, size, &at, ")", 1);
		}
		if (s->detail != NULL) {
			put_clean(out, size, &at, ": ", 2);
			put_clean(out, size, &at, s->detail, ACME_DETAIL_MAX);
		}
	}
}

/* The optional "error" member of o as a problem (*out NULL if none). */
static int
get_problem(const json_t *o, struct acme_problem **out, struct cf_error *err)
{
	const json_t *e = json_object_get(o, "error");

	*out = NULL;
	if (e == NULL || json_is_null(e))
		return 0;
	return problem_from(e, 0, out, err);
}

/* ---- directory ------------------------------------------------------ */

static int
directory_meta(const json_t *o, struct acme_directory *d, struct cf_error *err)
{
	const json_t *meta = json_object_get(o, "meta"), *eab, *prof, *v;
	const char *k;
	size_t i = 0;

	if (meta == NULL)
		return 0;
	if (!json_is_object(meta))
		return cf_errorf(err, CF_E_PARSE,
		    "directory: meta: not an "
		    "object");
	if (get_str(meta, "termsOfService", 0, 0, &d->terms_of_service,
		"directory", err) != 0)
		return -1;
	eab = json_object_get(meta, "externalAccountRequired");
	if (eab != NULL && !json_is_boolean(eab))
		return cf_errorf(err, CF_E_PARSE,
		    "directory: externalAccountRequired: not a boolean");
	d->eab_required = json_is_true(eab);
	prof = json_object_get(meta, "profiles");
	if (prof == NULL)
		return 0;
	if (!json_is_object(prof) || json_object_size(prof) > ACME_LIST_MAX)
		return cf_errorf(err, CF_E_PARSE, "directory: profiles");
	d->profiles = xcalloc(json_object_size(prof) + 1, sizeof(char *));
	json_object_foreach((json_t *)prof, k, v) {
		if (strlen(k) == 0 || strlen(k) > PROFILE_NAME_MAX ||
		    strspn(k,
			"abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(k))
			return cf_errorf(
			    err, CF_E_PARSE, "directory: profiles: a bad name");
		d->profiles[i++] = xstrdup(k);
		d->n_profiles = i;
	}
	return 0;
}

int
acme_directory_parse(const char *body, size_t len, struct acme_directory **out,
    struct cf_error *err)
{
	struct acme_directory *d = xcalloc(1, sizeof(*d));
	const char *w = "directory";
	json_t *o = load(body, len, w, err);
	int rc = -1;

	*out = NULL;
	if (o == NULL)
		goto out;
	if (get_str(o, "newNonce", 1, 1, &d->new_nonce, w, err) != 0 ||
	    get_str(o, "newAccount", 1, 1, &d->new_account, w, err) != 0 ||
	    get_str(o, "newOrder", 1, 1, &d->new_order, w, err) != 0 ||
	    get_str(o, "revokeCert", 1, 1, &d->revoke_cert, w, err) != 0 ||
	    get_str(o, "keyChange", 0, 1, &d->key_change, w, err) != 0 ||
	    get_str(o, "renewalInfo", 0, 1, &d->renewal_info, w, err) != 0 ||
	    directory_meta(o, d, err) != 0)
		goto out;
	*out = d;
	d = NULL;
	rc = 0;
out:
	acme_directory_free(d);
	json_decref(o);
	return rc;
}

void
acme_directory_free(struct acme_directory *d)
{
	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	strv_free(d->profiles, d->n_profiles);
	free(d);
}

/* ---- account -------------------------------------------------------- */

int
acme_account_parse(const char *body, size_t len, struct acme_account **out,
    struct cf_error *err)
{
	struct acme_account *a = xcalloc(1, sizeof(*a));
	json_t *o = load(body, len, "account", err);
	int rc = -1;

	*out = NULL;
	if (o == NULL)
		goto out;
	if (get_status(o, ACCOUNT_STATUSES, &a->status, "account", err) != 0 ||
	    get_str(o, "orders", 0, 1, &a->orders, "account", err) != 0)
		goto out;
	*out = a;
	a = NULL;
	rc = 0;
out:
	acme_account_free(a);
	json_decref(o);
	return rc;
}

void
acme_account_free(struct acme_account *a)
{
	if (a == NULL)
		return;
	free(a->orders);
	free(a);
}

/* ---- order ---------------------------------------------------------- */

int
acme_order_parse(
    const char *body, size_t len, struct acme_order **out, struct cf_error *err)
{
	struct acme_order *r = xcalloc(1, sizeof(*r));
	const char *w = "order";
	json_t *o = load(body, len, w, err);
	int rc = -1;

	*out = NULL;
	if (o == NULL)
		goto out;
	if (get_status(o, ORDER_STATUSES, &r->status, w, err) != 0 ||
	    get_list(o, "identifiers", 0, &r->identifiers, &r->n_identifiers, w,
		err) != 0 ||
	    get_list(o, "authorizations", 1, &r->authorizations,
		&r->n_authorizations, w, err) != 0 ||
	    get_str(o, "finalize", 1, 1, &r->finalize, w, err) != 0 ||
	    get_str(o, "certificate", 0, 1, &r->certificate, w, err) != 0 ||
	    get_problem(o, &r->error, err) != 0)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	acme_order_free(r);
	json_decref(o);
	return rc;
}

void
acme_order_free(struct acme_order *o)
{
	if (o == NULL)
		return;
	strv_free(o->identifiers, o->n_identifiers);
	strv_free(o->authorizations, o->n_authorizations);
	free(o->finalize);
	free(o->certificate);
	acme_problem_free(o->error);
	free(o);
}

/* ---- authorization -------------------------------------------------- */

static int
challenge_from(const json_t *o, struct acme_challenge *c, struct cf_error *err)
{
	const char *w = "challenge";

	if (!json_is_object(o))
		return cf_errorf(err, CF_E_PARSE, "%s: not an object", w);
	if (get_str(o, "type", 1, 0, &c->type, w, err) != 0 ||
	    get_str(o, "url", 1, 1, &c->url, w, err) != 0 ||
	    get_status(o, CHALLENGE_STATUSES, &c->status, w, err) != 0 ||
	    get_str(o, "token", 0, 0, &c->token, w, err) != 0 ||
	    get_problem(o, &c->error, err) != 0)
		return -1;
	if (c->token != NULL && acme_token_check(c->token) != 0)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: token: not %d to %d base64url characters", w,
		    ACME_TOKEN_MIN, ACME_TOKEN_MAX);
	if (c->token == NULL &&
	    (strcmp(c->type, "http-01") == 0 || strcmp(c->type, "dns-01") == 0))
		return cf_errorf(
		    err, CF_E_PARSE, "%s: %s without a token", w, c->type);
	return 0;
}

int
acme_authz_parse(
    const char *body, size_t len, struct acme_authz **out, struct cf_error *err)
{
	struct acme_authz *a = xcalloc(1, sizeof(*a));
	const char *w = "authorization";
	json_t *o = load(body, len, w, err), *ch, *v, *wild;
	int rc = -1;
	size_t i;

	*out = NULL;
	if (o == NULL)
		goto out;
	if (get_status(o, AUTHZ_STATUSES, &a->status, w, err) != 0 ||
	    get_identifier(
		json_object_get(o, "identifier"), &a->identifier, w, err) != 0)
		goto out;
	wild = json_object_get(o, "wildcard");
	if (wild != NULL && !json_is_boolean(wild)) {
		cf_errorf(err, CF_E_PARSE, "%s: wildcard: not a boolean", w);
		goto out;
	}
	a->wildcard = json_is_true(wild);
	ch = json_object_get(o, "challenges");
	if (!json_is_array(ch)) {
		cf_errorf(err, CF_E_PARSE, "%s: no challenges", w);
		goto out;
	}
	if (json_array_size(ch) > ACME_CHALLENGES_MAX) {
		cf_errorf(err, CF_E_LIMIT, "%s: more than %d challenges", w,
		    ACME_CHALLENGES_MAX);
		goto out;
	}
	a->challenges =
	    xcalloc(json_array_size(ch) + 1, sizeof(*a->challenges));
	json_array_foreach(ch, i, v) {
		a->n_challenges = i + 1;
		if (challenge_from(v, &a->challenges[i], err) != 0)
			goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	acme_authz_free(a);
	json_decref(o);
	return rc;
}

void
acme_authz_free(struct acme_authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_challenges; i++) {
		free(a->challenges[i].type);
		free(a->challenges[i].url);
		free(a->challenges[i].token);
		acme_problem_free(a->challenges[i].error);
	}
	free(a->challenges);
	free(a->identifier);
	free(a);
}

const struct acme_challenge *
acme_authz_challenge(const struct acme_authz *a, const char *type)
{
	size_t i;

	for (i = 0; i < a->n_challenges; i++)
		if (strcmp(a->challenges[i].type, type) == 0)
			return &a->challenges[i];
	return NULL;
}
