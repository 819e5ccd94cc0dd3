/* schema.c - the etcd registry's keys and values: see schema.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "issuer.h"
#include "rollout_state.h"
#include "schema.h"
#include "schema_int.h"
#include "util.h"

/* The characters of a fleet name and of a prefix's segments. */
static int
name_char(int c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int
schema_name_check(const char *name, struct cf_error *err)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > SCHEMA_NAME_MAX || !isalnum((unsigned char)name[0]))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: a name is 1 to %d letters, digits, '.', '-' or '_', "
		    "starting with a letter or digit",
		    name, SCHEMA_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!name_char(name[i]))
			return cf_errorf(err, CF_E_USAGE,
			    "%s: a name is letters, digits, '.', '-' or '_'",
			    name);
	if (strcmp(name, "all") == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "all: reserved (--server all means every agent)");
	return 0;
}

int
schema_ns_check(const char *ns, struct cf_error *err)
{
	char *canon = NULL;
	int rc = -1;

	if (ns[0] == '\0' || strlen(ns) > SCHEMA_NS_MAX ||
	    strpbrk(ns, ",*/") != NULL) {
		cf_errorf(err, CF_E_USAGE,
		    "%s: a namespace is one DNS name, such as mail.example.com",
		    ns);
		goto out;
	}
	if (cf_names_check(ns, &canon, err) == -1)
		goto out;
	if (strcmp(canon, ns) != 0) {
		cf_errorf(err, CF_E_USAGE,
		    "%s: a namespace is written in lower case", ns);
		goto out;
	}
	rc = 0;
out:
	free(canon);
	return rc;
}

int
schema_prefix_check(const char *prefix, struct cf_error *err)
{
	size_t n = strlen(prefix), i, seg = 1;

	if (n < 2 || n > SCHEMA_PREFIX_MAX || prefix[0] != '/' ||
	    prefix[n - 1] == '/')
		goto bad;
	for (i = 1; i <= n; i++) {
		if (i < n && prefix[i] != '/') {
			if (!name_char(prefix[i]))
				goto bad;
			continue;
		}
		/* a segment ends at prefix[seg..i) */
		if (i == seg || (i - seg == 1 && prefix[seg] == '.') ||
		    (i - seg == 2 && strncmp(prefix + seg, "..", 2) == 0))
			goto bad;
		seg = i + 1;
	}
	return 0;
bad:
	return cf_errorf(err, CF_E_USAGE,
	    "--prefix %s: a key prefix is /NAME[/NAME...] (letters, digits, "
	    "'.', '-', '_'; at most %d characters), such as /certfleet",
	    prefix, SCHEMA_PREFIX_MAX);
}

char *
schema_dir(const char *prefix, const char *sub)
{
	return xasprintf("%s/%s", prefix, sub);
}

void
schema_agent_range(const char *prefix, char **from, char **to)
{
	*from = schema_dir(prefix, "agents/");
	*to = schema_dir(prefix, "sealed/");
}

int
schema_kind_agent_written(enum schema_kind kind)
{
	switch (kind) {
	case SCHEMA_AGENT_LIVE:
	case SCHEMA_AGENT_IDENTITY:
	case SCHEMA_STATUS:
	case SCHEMA_ELECT:
	case SCHEMA_PROGRESS:
		return 1;
	case SCHEMA_UNKNOWN:
	case SCHEMA_AGENT:
	case SCHEMA_GROUP:
	case SCHEMA_NS_SPEC:
	case SCHEMA_NS_DESIRED:
	case SCHEMA_SEALED:
	case SCHEMA_PLAN:
		break;
	}
	return 0;
}

char *
schema_key(const char *prefix, enum schema_kind kind, const char *ns,
    const char *name, struct cf_error *err)
{
	static const char *const leaf[] = {
	    [SCHEMA_NS_SPEC] = "spec", [SCHEMA_NS_DESIRED] = "desired"};

	if (schema_prefix_check(prefix, err) == -1)
		return NULL;
	if (kind != SCHEMA_AGENT && kind != SCHEMA_GROUP &&
	    kind != SCHEMA_AGENT_LIVE && kind != SCHEMA_AGENT_IDENTITY &&
	    schema_ns_check(ns, err) == -1)
		return NULL;
	if (kind != SCHEMA_NS_SPEC && kind != SCHEMA_NS_DESIRED &&
	    kind != SCHEMA_PLAN && schema_name_check(name, err) == -1)
		return NULL;
	switch (kind) {
	case SCHEMA_AGENT:
		return xasprintf("%s/agents/%s", prefix, name);
	case SCHEMA_GROUP:
		return xasprintf("%s/groups/%s", prefix, name);
	case SCHEMA_NS_SPEC:
	case SCHEMA_NS_DESIRED:
		return xasprintf("%s/ns/%s/%s", prefix, ns, leaf[kind]);
	case SCHEMA_AGENT_LIVE:
		return xasprintf("%s/agents/%s/live", prefix, name);
	case SCHEMA_AGENT_IDENTITY:
		return xasprintf("%s/agents/%s/identity", prefix, name);
	case SCHEMA_STATUS:
		return xasprintf("%s/agents/%s/status/%s", prefix, name, ns);
	case SCHEMA_ELECT:
		return xasprintf("%s/elect/%s/%s", prefix, name, ns);
	case SCHEMA_PLAN:
		return xasprintf("%s/waves/%s", prefix, ns);
	case SCHEMA_PROGRESS:
		return xasprintf("%s/progress/%s/%s", prefix, name, ns);
	case SCHEMA_SEALED:
		return xasprintf("%s/sealed/%s/%s", prefix, name, ns);
	case SCHEMA_UNKNOWN:
		break;
	}
	cf_errorf(err, CF_E_USAGE, "no key for an unknown kind");
	return NULL;
}

/* Copies the segment [p, p+len) into out (size bytes) checked by check;
 * -1 (err's message: why) when it does not fit or fails. */
static int
segment(const char *p, size_t len, char *out, size_t size,
    int (*check)(const char *, struct cf_error *), struct cf_error *err)
{
	if (len >= size) {
		cf_errorf(err, CF_E_PARSE, "a name of %zu characters", len);
		return -1;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return check(out, err);
}

/* The part of a key after "<prefix>/ns/": "<ns>/spec" or "<ns>/desired". */
static int
parse_ns(const char *rest, struct schema_key *out, struct cf_error *err)
{
	const char *slash = strchr(rest, '/');

	if (slash == NULL)
		return 0; /* unknown */
	if (segment(rest, (size_t)(slash - rest), out->ns, sizeof(out->ns),
		schema_ns_check, err) == -1)
		return -1;
	if (strcmp(slash + 1, "spec") == 0)
		out->kind = SCHEMA_NS_SPEC;
	else if (strcmp(slash + 1, "desired") == 0)
		out->kind = SCHEMA_NS_DESIRED;
	else
		out->ns[0] = '\0';
	return 0;
}

/* The part of a key after "<prefix>/agents/": "<a>", "<a>/live",
 * "<a>/identity" or "<a>/status/<ns>".  The name is checked whatever
 * follows it (every key there is some agent's); a leaf of no known
 * shape is unknown. */
static int
parse_agents(const char *rest, struct schema_key *out, struct cf_error *err)
{
	const char *slash = strchr(rest, '/'), *leaf;
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

	if (segment(rest, n, out->name, sizeof(out->name), schema_name_check,
		err) == -1)
		return -1;
	if (slash == NULL) {
		out->kind = SCHEMA_AGENT;
		return 0;
	}
	leaf = slash + 1;
	if (strcmp(leaf, "live") == 0)
		out->kind = SCHEMA_AGENT_LIVE;
	else if (strcmp(leaf, "identity") == 0)
		out->kind = SCHEMA_AGENT_IDENTITY;
	else if (strncmp(leaf, "status/", 7) == 0) {
		if (segment(leaf + 7, strlen(leaf + 7), out->ns,
			sizeof(out->ns), schema_ns_check, err) == -1)
			return -1;
		out->kind = SCHEMA_STATUS;
	} else
		out->name[0] = '\0';
	return 0;
}

/* The part of a key after "<prefix>/elect/" (progress/, sealed/):
 * "<a>/<ns>", as kind; "<a>" alone is of no known shape. */
static int
parse_pair(const char *rest, enum schema_kind kind, struct schema_key *out,
    struct cf_error *err)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

	if (segment(rest, n, out->name, sizeof(out->name), schema_name_check,
		err) == -1)
		return -1;
	if (slash == NULL) {
		out->name[0] = '\0';
		return 0;
	}
	if (segment(slash + 1, strlen(slash + 1), out->ns, sizeof(out->ns),
		schema_ns_check, err) == -1)
		return -1;
	out->kind = kind;
	return 0;
}

int
schema_key_parse(const char *prefix, const void *key, size_t len,
    struct schema_key *out, struct cf_error *err)
{
	size_t plen = strlen(prefix);
	char *text = NULL, *shown = NULL;
	const char *rest;
	struct cf_error why;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	text = xmalloc(len + 1);
	memcpy(text, key, len);
	text[len] = '\0';
	if (memchr(key, '\0', len) != NULL || len <= plen + 1 ||
	    strncmp(text, prefix, plen) != 0 || text[plen] != '/') {
		rc = cf_errorf(&why, CF_E_PARSE, "not under %s/", prefix);
		goto out;
	}
	rest = text + plen + 1;
	if (strncmp(rest, "agents/", 7) == 0)
		rc = parse_agents(rest + 7, out, &why);
	else if (strncmp(rest, "elect/", 6) == 0)
		rc = parse_pair(rest + 6, SCHEMA_ELECT, out, &why);
	else if (strncmp(rest, "progress/", 9) == 0)
		rc = parse_pair(rest + 9, SCHEMA_PROGRESS, out, &why);
	else if (strncmp(rest, "sealed/", 7) == 0)
		rc = parse_pair(rest + 7, SCHEMA_SEALED, out, &why);
	else if (strncmp(rest, "groups/", 7) == 0) {
		rc = segment(rest + 7, strlen(rest + 7), out->name,
		    sizeof(out->name), schema_name_check, &why);
		out->kind = SCHEMA_GROUP;
	} else if (strncmp(rest, "ns/", 3) == 0)
		rc = parse_ns(rest + 3, out, &why);
	else if (strncmp(rest, "waves/", 6) == 0) {
		rc = segment(rest + 6, strlen(rest + 6), out->ns,
		    sizeof(out->ns), schema_ns_check, &why);
		out->kind = SCHEMA_PLAN;
	}
out:
	if (rc == -1) {
		shown = memchr(key, '\0', len) != NULL ? xstrdup("(binary)")
						       : cf_utf8_escape(text);
		cf_errorf(err, CF_E_PARSE, "%s: %s", shown, why.msg);
		memset(out, 0, sizeof(*out));
	}
	free(shown);
	free(text);
	return rc;
}

/* --- values ------------------------------------------------------------ */

char *
schema_json_dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

int
schema_json_load(const char *key, const void *value, size_t len, json_t **o,
    struct cf_error *err)
{
	json_error_t je;

	*o = NULL;
	if (len > SCHEMA_VALUE_MAX)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: a value of %zu bytes (at most %u)", key, len,
		    SCHEMA_VALUE_MAX);
	*o = json_loadb(value, len, JSON_REJECT_DUPLICATES, &je);
	if (*o == NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: not JSON: %s", key, je.text);
	if (!json_is_object(*o)) {
		json_decref(*o);
		*o = NULL;
		return cf_errorf(err, CF_E_PARSE, "%s: not a JSON object", key);
	}
	return 0;
}

/* The array of strings a as "x,y" (new) into *out, each checked by
 * check (may be NULL); at least one; the message in err without key. */
static int
list_load(const json_t *a, const char *what,
    int (*check)(const char *, struct cf_error *), char **out,
    struct cf_error *err)
{
	const json_t *v;
	const char *s;
	char *joined;
	size_t i;

	*out = NULL;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return cf_errorf(err, CF_E_PARSE,
		    "\"%s\" is not a non-empty array of strings", what);
	json_array_foreach(a, i, v) {
		s = json_string_value(v);
		if (s == NULL || s[0] == '\0' || strchr(s, ',') != NULL ||
		    (check != NULL && check(s, err) == -1)) {
			if (s == NULL || s[0] == '\0' || strchr(s, ',') != NULL)
				cf_errorf(err, CF_E_PARSE,
				    "%s[%zu]: not a name", what, i);
			free(*out);
			*out = NULL;
			return -1;
		}
		joined =
		    *out == NULL ? xstrdup(s) : xasprintf("%s,%s", *out, s);
		free(*out);
		*out = joined;
	}
	return 0;
}

/* "x,y" as a JSON array of strings (new). */
static json_t *
list_json(const char *list)
{
	json_t *a = json_array();
	const char *p;
	size_t len;

	for (p = list; p != NULL && *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, len));
	}
	return a;
}

char *
schema_agent_value(const char *address, const char *fingerprint)
{
	return schema_json_dump(json_pack(
	    "{s:s, s:s}", "address", address, "fingerprint", fingerprint));
}

int
schema_agent_parse(const char *key, const void *value, size_t len,
    struct schema_agent *out, struct cf_error *err)
{
	json_t *o = NULL;
	const char *addr, *fp;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	addr = json_string_value(json_object_get(o, "address"));
	fp = json_string_value(json_object_get(o, "fingerprint"));
	if (addr == NULL || addr[0] == '\0' || fp == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: needs \"address\" and \"fingerprint\" strings", key);
		goto out;
	}
	if (cf_fingerprint_parse(fp, out->fingerprint, &why) == -1) {
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
		goto out;
	}
	out->address = xstrdup(addr);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void
schema_agent_clear(struct schema_agent *a)
{
	free(a->address);
	memset(a, 0, sizeof(*a));
}

char *
schema_group_value(const char *members)
{
	return schema_json_dump(
	    json_pack("{s:o}", "members", list_json(members)));
}

int
schema_group_parse(const char *key, const void *value, size_t len,
    char **members, struct cf_error *err)
{
	json_t *o = NULL;
	struct cf_error why;
	int rc;

	*members = NULL;
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	rc = list_load(json_object_get(o, "members"), "members",
	    schema_name_check, members, &why);
	json_decref(o);
	if (rc == -1)
		return cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	return 0;
}

/* A server of a namespace: a fleet name, @GROUP or all. */
static int
server_check(const char *s, struct cf_error *err)
{
	if (strcmp(s, "all") == 0)
		return 0;
	return schema_name_check(s[0] == '@' ? s + 1 : s, err);
}

char *
schema_spec_value(const struct schema_spec *s)
{
	return schema_json_dump(json_pack("{s:o, s:o, s:s*, s:o, s:I, s:O*}",
	    "servers", list_json(s->servers), "services",
	    list_json(s->services), "via", s->via, "waves", list_json(s->waves),
	    "soak", (json_int_t)s->soak_s, "issuer", s->issuer));
}

int
schema_spec_parse(const char *key, const void *value, size_t len,
    struct schema_spec *out, struct cf_error *err)
{
	json_t *o = NULL, *via, *soak, *issuer;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	via = json_object_get(o, "via");
	soak = json_object_get(o, "soak");
	issuer = json_object_get(o, "issuer");
	if (list_load(json_object_get(o, "servers"), "servers", server_check,
		&out->servers, &why) == -1 ||
	    list_load(json_object_get(o, "services"), "services", NULL,
		&out->services, &why) == -1 ||
	    list_load(json_object_get(o, "waves"), "waves", NULL, &out->waves,
		&why) == -1)
		goto out;
	if (via != NULL && !json_is_null(via) &&
	    (!json_is_string(via) || json_string_value(via)[0] == '\0')) {
		cf_errorf(&why, CF_E_PARSE, "\"via\" is not HOST:PORT");
		goto out;
	}
	if (!json_is_integer(soak) || json_integer_value(soak) < 0 ||
	    json_integer_value(soak) > 86400L * 365) {
		cf_errorf(&why, CF_E_PARSE, "\"soak\" is not seconds");
		goto out;
	}
	if (issuer != NULL && !json_is_null(issuer) &&
	    cf_issuer_check(issuer, &why) == -1)
		goto out;
	out->via = json_is_string(via) ? xstrdup(json_string_value(via)) : NULL;
	out->soak_s = (long)json_integer_value(soak);
	out->issuer = issuer != NULL && !json_is_null(issuer)
			  ? json_deep_copy(issuer)
			  : NULL;
	rc = 0;
out:
	json_decref(o);
	if (rc == -1) {
		schema_spec_clear(out);
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	}
	return rc;
}

void
schema_spec_clear(struct schema_spec *s)
{
	free(s->servers);
	free(s->services);
	free(s->via);
	free(s->waves);
	json_decref(s->issuer);
	memset(s, 0, sizeof(*s));
}

int
schema_is_thumb(const char *s)
{
	return s != NULL && strlen(s) == CF_THUMB_LEN &&
	       strspn(s, "0123456789ABCDEF") == CF_THUMB_LEN;
}

int
schema_name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
schema_is_id(const char *s)
{
	return s != NULL && strlen(s) == 32 &&
	       strspn(s, "0123456789abcdef") == 32;
}

/* The desired value's object (new). */
static json_t *
desired_json(const char *thumbprint, const json_t *rollout)
{
	const char *prev =
	    json_string_value(json_object_get(rollout, "previous"));
	json_t *o = json_object();

	json_object_set_new(o, "thumbprint",
	    thumbprint != NULL ? json_string(thumbprint) : json_null());
	if (schema_is_thumb(prev))
		json_object_set_new(o, "previous", json_string(prev));
	if (rollout != NULL)
		json_object_set_new(o, "rollout", json_deep_copy(rollout));
	return o;
}

char *
schema_desired_value(const char *thumbprint, const json_t *rollout)
{
	return schema_json_dump(desired_json(thumbprint, rollout));
}

char *
schema_desired_value_agents(
    const char *thumbprint, const json_t *rollout, const char *id)
{
	json_t *o = desired_json(thumbprint, rollout);

	if (id != NULL)
		json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "agents", json_true());
	return schema_json_dump(o);
}

int
schema_desired_parse(const char *key, const void *value, size_t len,
    struct schema_desired *out, struct cf_error *err)
{
	json_t *o = NULL, *thumb, *prev, *rollout, *id, *agents;
	struct cf_rstate st;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	thumb = json_object_get(o, "thumbprint");
	prev = json_object_get(o, "previous");
	rollout = json_object_get(o, "rollout");
	id = json_object_get(o, "id");
	agents = json_object_get(o, "agents");
	if (json_is_null(rollout))
		rollout = NULL;
	if ((id != NULL && !schema_is_id(json_string_value(id))) ||
	    (agents != NULL && !json_is_boolean(agents))) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: \"id\" is 32 lower-case hex digits and \"agents\" "
		    "true or false, when present",
		    key);
		goto out;
	}
	if ((thumb != NULL && !json_is_null(thumb) &&
		!schema_is_thumb(json_string_value(thumb))) ||
	    (prev != NULL && !json_is_null(prev) &&
		!schema_is_thumb(json_string_value(prev)))) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: \"thumbprint\" and \"previous\" are thumbprints (40 "
		    "upper-case hex digits) or null",
		    key);
		goto out;
	}
	if (!json_is_string(thumb) && rollout == NULL) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: needs a \"thumbprint\", a \"rollout\" or both", key);
		goto out;
	}
	if (rollout != NULL) {
		if (schema_rollout_parse(
			rollout, json_is_true(agents), &st, &why) == -1) {
			cf_errorf(
			    err, CF_E_PARSE, "%s: rollout: %s", key, why.msg);
			goto out;
		}
		cf_rstate_clear(&st);
		out->rollout = json_incref(rollout);
	}
	if (json_is_string(thumb))
		memcpy(out->thumbprint, json_string_value(thumb),
		    CF_THUMB_LEN + 1);
	if (json_is_string(prev))
		memcpy(
		    out->previous, json_string_value(prev), CF_THUMB_LEN + 1);
	if (id != NULL)
		memcpy(out->id, json_string_value(id), sizeof(out->id));
	out->agents = json_is_true(agents);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

void
schema_desired_clear(struct schema_desired *d)
{
	json_decref(d->rollout);
	memset(d, 0, sizeof(*d));
}
