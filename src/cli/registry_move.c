/*
 * registry_move.c - the fleet file's agents, groups and namespaces to
 * etcd (`registry export --to etcd`) and back (`registry import --from
 * etcd`).  See registry_move.h.  The keys and values are schema.h's; the
 * etcd client is made without an event base and used blocking, as
 * etcd.h allows a CLI to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "etcd.h"
#include "output.h"
#include "password.h"
#include "registry_int.h"
#include "registry_move.h"
#include "rollout_state.h"
#include "schema.h"

/* etcd's --max-txn-ops default: export is one transaction. */
#define MAX_TXN_OPS 128

int
registry_password_file_check(const char *path, struct cf_error *err)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return cf_errorf(err, CF_E_IO, "password file %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cf_errorf(err, CF_E_USAGE,
		    "password file %s: not a regular file", path);
	if ((st.st_mode & 077) != 0)
		return cf_errorf(err, CF_E_DENIED,
		    "password file %s: readable by group or others (mode "
		    "%03o); fix with chmod 600",
		    path, (unsigned)(st.st_mode & 0777));
	return 0;
}

const char *
registry_prefix(const struct fleet_registry *r)
{
	return r->prefix != NULL ? r->prefix : SCHEMA_PREFIX_DEFAULT;
}

/* A blocking etcd client for r's settings (new); the password read
 * from its file, handed to the client (which copies it) and wiped. */
struct etcd *
registry_etcd_open(const struct fleet_registry *r, struct cf_error *err)
{
	struct etcd_config cfg = {0};
	struct cf_secret *pw = NULL;
	char *list = NULL, *item, *save = NULL;
	struct etcd *e = NULL;

	if (r->endpoints == NULL) {
		cf_errorf(err, CF_E_USAGE,
		    "no etcd is set in the fleet file: `certfleet registry set "
		    "etcd --endpoints URL --ca FILE --cert FILE --key FILE` "
		    "first");
		return NULL;
	}
	if (r->user != NULL &&
	    (registry_password_file_check(r->password_file, err) == -1 ||
		cf_password(r->password_file, 0, 0, NULL, &pw, err) == -1))
		goto out;
	list = xstrdup(r->endpoints);
	for (item = strtok_r(list, ",", &save);
	     item != NULL && cfg.n_endpoints < ETCD_MAX_ENDPOINTS;
	     item = strtok_r(NULL, ",", &save))
		cfg.endpoints[cfg.n_endpoints++] = item;
	cfg.ca_file = r->ca;
	cfg.cert_file = r->cert;
	cfg.key_file = r->key;
	cfg.user = r->user;
	cfg.password = pw;
	/* A file of the settings that is not what it should be is the
	 * fleet file's fault, not this command line's: exit 1, not 2. */
	if ((e = etcd_new(NULL, &cfg, err)) == NULL) {
		err->code = err->code == CF_E_USAGE ? CF_E_IO : err->code;
		cf_error_append(err, "; nothing changed (`certfleet registry "
				     "set etcd` sets the files)");
	}
out:
	cf_secret_free(pw);
	free(list);
	return e;
}

/* Adds to an etcd failure what the operator can do about it. */
int
registry_hint(struct cf_error *err)
{
	const char *hint =
	    err->code == CF_E_IO ? "is etcd up? `certfleet registry show` "
				   "lists the endpoints"
	    : err->code == CF_E_PASSWORD
		? "check the user and its password file (`certfleet "
		  "registry show`)"
	    : err->code == CF_E_DENIED
		? "the user needs readwrite on the prefix (etcdctl role "
		  "grant-permission ROLE --prefix=true readwrite PREFIX/)"
		: NULL;

	return cf_error_append(err, "; nothing changed%s%s%s", hint ? " (" : "",
	    hint ? hint : "", hint ? ")" : "");
}

/* Every key under the prefix (values too unless keys_only). */
int
registry_read(struct etcd *e, const char *prefix, int keys_only,
    struct etcd_reply **reply, struct cf_error *err)
{
	char *dir = schema_dir(prefix, "");
	int rc = etcd_call_wait(e,
	    etcd_req_range(dir, strlen(dir),
		ETCD_RANGE_PREFIX | (keys_only ? ETCD_RANGE_KEYS_ONLY : 0), 0,
		0),
	    reply, err);

	free(dir);
	return rc == -1 ? registry_hint(err) : 0;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
plan_add(struct registry_plan *p, char *key, char *value)
{
	p->keys = xrealloc(p->keys, (p->n + 1) * sizeof(*p->keys));
	p->values = xrealloc(p->values, (p->n + 1) * sizeof(*p->values));
	p->keys[p->n] = key;
	p->values[p->n++] = value;
}

void
registry_plan_clear(struct registry_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->values[i]);
	}
	free(p->keys);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

/* The keys and values of f's agents, groups and namespaces. */
int
registry_plan_build(const struct fleet *f, const char *prefix,
    struct registry_plan *p, struct cf_error *err)
{
	const struct client_target *t;
	const struct fleet_group *g;
	const struct fleet_ns *ns;
	struct schema_spec spec;
	char *key;
	size_t i;

	for (i = 0; (t = fleet_get(f, i)) != NULL; i++, p->agents++) {
		if ((key = schema_key(
			 prefix, SCHEMA_AGENT, NULL, t->name, err)) == NULL)
			return -1;
		plan_add(
		    p, key, schema_agent_value(t->address, t->fingerprint));
	}
	for (i = 0; (g = fleet_group_get(f, i)) != NULL; i++, p->groups++) {
		if ((key = schema_key(
			 prefix, SCHEMA_GROUP, NULL, g->name, err)) == NULL)
			return -1;
		plan_add(p, key, schema_group_value(g->members));
	}
	for (i = 0; (ns = fleet_ns_get(f, i)) != NULL; i++, p->spaces++) {
		spec = (struct schema_spec){ns->servers, ns->services, ns->via,
		    ns->waves, ns->soak_s, ns->issuer};
		if ((key = schema_key(
			 prefix, SCHEMA_NS_SPEC, ns->name, NULL, err)) == NULL)
			return -1;
		plan_add(p, key, schema_spec_value(&spec));
		if (ns->desired == NULL && ns->rollout == NULL)
			continue;
		if ((key = schema_key(prefix, SCHEMA_NS_DESIRED, ns->name, NULL,
			 err)) == NULL)
			return -1;
		plan_add(
		    p, key, schema_desired_value(ns->desired, ns->rollout));
	}
	return 0;
}

/* The index of key in the plan, or p->n. */
static size_t
plan_find(const struct registry_plan *p, const struct etcd_kv *kv)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strlen(p->keys[i]) == kv->key_len &&
		    memcmp(p->keys[i], kv->key, kv->key_len) == 0)
			break;
	return i;
}

/*
 * Whether the existing key k (not in the plan) goes with --force:
 * agents, groups and namespaces the fleet does not hold, with the state
 * of those namespaces; keys of no known shape stay.
 */
int
registry_stale(const struct fleet *f, const struct schema_key *k)
{
	/* The agents' own keys are theirs to write, and the sealed
	 * material and the plan go with a rollout, not with the fleet's
	 * entries. */
	if (k->kind == SCHEMA_UNKNOWN || registry_agents_key(k->kind))
		return 0;
	if (k->kind == SCHEMA_AGENT || k->kind == SCHEMA_GROUP ||
	    k->kind == SCHEMA_NS_SPEC || k->kind == SCHEMA_NS_DESIRED)
		return 1;
	return fleet_ns_find(f, k->ns) == NULL;
}

/*
 * The transaction: each key of the plan put if its revision is still the
 * one read (0: absent), and with force each stale key deleted on the same
 * condition.  *held counts the agents, groups and namespaces there.
 */
static int
txn_build(const struct fleet *f, const char *prefix,
    const struct registry_plan *p, const struct etcd_reply *now, int force,
    struct etcd_req **txn, size_t *held, size_t *deleted, struct cf_error *err)
{
	struct schema_key k;
	int64_t *mod = xcalloc(p->n + 1, sizeof(*mod));
	size_t i, j;
	int rc = -1;

	*txn = etcd_req_txn();
	*held = *deleted = 0;
	for (i = 0; i < now->n_kvs; i++) {
		const struct etcd_kv *kv = &now->kvs[i];

		if (registry_parse_key(prefix, kv->key, kv->key_len, &k, err) ==
		    -1) {
			cf_error_append(err, "; nothing written (delete or fix "
					     "that key by hand)");
			goto out;
		}
		*held += k.kind == SCHEMA_AGENT || k.kind == SCHEMA_GROUP ||
			 k.kind == SCHEMA_NS_SPEC;
		if ((j = plan_find(p, kv)) < p->n)
			mod[j] = kv->mod_revision;
		else if (force && registry_stale(f, &k)) {
			etcd_txn_compare(*txn, kv->key, kv->key_len, ETCD_MOD,
			    ETCD_EQUAL, kv->mod_revision, NULL, 0);
			etcd_txn_op(*txn, 1,
			    etcd_req_delete(kv->key, kv->key_len, 0, 0));
			(*deleted)++;
		}
	}
	if (p->n + *deleted > MAX_TXN_OPS) {
		cf_errorf(err, CF_E_LIMIT,
		    "%zu keys to write or delete: more than the %d operations "
		    "etcd takes in one transaction (--max-txn-ops); nothing "
		    "written",
		    p->n + *deleted, MAX_TXN_OPS);
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		etcd_txn_compare(*txn, p->keys[i], strlen(p->keys[i]), ETCD_MOD,
		    ETCD_EQUAL, mod[i], NULL, 0);
		etcd_txn_op(*txn, 1,
		    etcd_req_put(p->keys[i], strlen(p->keys[i]), p->values[i],
			strlen(p->values[i]), 0, 0));
	}
	rc = 0;
out:
	free(mod);
	if (rc == -1) {
		etcd_req_free(*txn);
		*txn = NULL;
	}
	return rc;
}

static void
report(const char *verb, const char *endpoint, const char *prefix,
    size_t agents, size_t groups, size_t spaces, size_t deleted,
    int64_t revision)
{
	if (cli.json) {
		out_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
		    "Endpoint", endpoint, "Prefix", prefix, "Agents",
		    (json_int_t)agents, "Groups", (json_int_t)groups,
		    "Namespaces", (json_int_t)spaces, "Deleted",
		    (json_int_t)deleted, "Revision", (json_int_t)revision));
		return;
	}
	printf("%s etcd %s, %s/: %zu %s, %zu %s, %zu %s", verb, endpoint,
	    prefix, agents, plural(agents, "agent", "agents"), groups,
	    plural(groups, "group", "groups"), spaces,
	    plural(spaces, "namespace", "namespaces"));
	if (deleted > 0)
		printf(", %zu stale %s deleted", deleted,
		    plural(deleted, "key", "keys"));
	printf(" (revision %lld)\n", (long long)revision);
}

int
registry_export(const struct fleet *f, int force, struct cf_error *err)
{
	const struct fleet_registry *r = fleet_registry_get(f);
	const char *prefix = registry_prefix(r);
	struct etcd *e = NULL;
	struct etcd_reply *now = NULL, *done = NULL;
	struct etcd_req *txn = NULL;
	struct registry_plan p = {0};
	size_t held, deleted;
	int rc = -1;

	if (registry_plan_build(f, prefix, &p, err) == -1 ||
	    (e = registry_etcd_open(r, err)) == NULL ||
	    registry_read(e, prefix, 1, &now, err) == -1 ||
	    txn_build(f, prefix, &p, now, force, &txn, &held, &deleted, err) ==
		-1)
		goto out;
	if (held > 0 && !force) {
		cf_errorf(err, CF_E_CONFLICT,
		    "etcd %s: %s/ holds agents, groups or namespaces already "
		    "(%zu); nothing written (`certfleet registry import --from "
		    "etcd` reads them; --force replaces them with the fleet "
		    "file's)",
		    etcd_endpoint_get(e), prefix, held);
		goto out;
	}
	if (etcd_call_wait(e, txn, &done, err) == -1) {
		txn = NULL;
		registry_hint(err);
		goto out;
	}
	txn = NULL;
	if (!done->succeeded) {
		cf_errorf(err, CF_E_CONFLICT,
		    "etcd %s: %s/ changed while the export read it; nothing "
		    "written (run it again)",
		    etcd_endpoint_get(e), prefix);
		goto out;
	}
	report("exported to", etcd_endpoint_get(e), prefix, p.agents, p.groups,
	    p.spaces, deleted, done->revision);
	rc = 0;
out:
	etcd_req_free(txn);
	etcd_reply_free(now);
	etcd_reply_free(done);
	etcd_free(e);
	registry_plan_clear(&p);
	return rc;
}

int
registry_agents_key(enum schema_kind kind)
{
	return schema_kind_agent_written(kind) || kind == SCHEMA_SEALED ||
	       kind == SCHEMA_PLAN;
}

int
registry_parse_key(const char *prefix, const void *key, size_t len,
    struct schema_key *k, struct cf_error *err)
{
	static const char *const areas[] = {
	    "elect/", "progress/", "sealed/", "waves/"};
	size_t plen = strlen(prefix), i;
	const char *rest = (const char *)key + plen + 1, *slash;
	struct cf_error why;

	cf_error_clear(&why);
	if (schema_key_parse(prefix, key, len, k, &why) == 0)
		return 0;
	/* a bad key where only an agent (or a rollout) writes: not the
	 * fleet's, and no agent may make every command fail */
	if (len > plen + 1 && memcmp(key, prefix, plen) == 0) {
		for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
			if (strncmp(rest, areas[i], strlen(areas[i])) == 0) {
				k->kind = SCHEMA_SEALED;
				return 0;
			}
		if (strncmp(rest, "agents/", 7) == 0 &&
		    (slash = memchr(rest + 7, '/', len - plen - 1 - 7)) !=
			NULL &&
		    slash > rest + 7) {
			k->kind = SCHEMA_SEALED;
			return 0;
		}
	}
	*err = why;
	return -1;
}

/* ---- import ------------------------------------------------------------ */

/* One key read, its value parsed. */
struct got {
	struct schema_key k;
	char *key; /* for messages */
	struct schema_agent agent;
	char *members;
	struct schema_spec spec;
	struct schema_desired desired;
	struct schema_plan plan;
};

static void
got_clear(struct got *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(g[i].key);
		schema_agent_clear(&g[i].agent);
		free(g[i].members);
		schema_spec_clear(&g[i].spec);
		schema_desired_clear(&g[i].desired);
		schema_plan_clear(&g[i].plan);
	}
	free(g);
}

/* Every key of reply under prefix, its value parsed, into *out (new;
 * keys of no known shape, the agents' own keys and the sealed material
 * left out: import never writes them into the fleet file). */
static int
parse_all(const char *prefix, const struct etcd_reply *reply, struct got **out,
    size_t *n, struct cf_error *err)
{
	struct got *g = xcalloc(reply->n_kvs + 1, sizeof(*g)), *x;
	const struct etcd_kv *kv;
	size_t i;
	int rc = 0;

	*n = 0;
	for (i = 0; i < reply->n_kvs && rc == 0; i++) {
		kv = &reply->kvs[i];
		x = &g[*n];
		if (registry_parse_key(
			prefix, kv->key, kv->key_len, &x->k, err) == -1) {
			rc = -1;
			break;
		}
		/* no NUL in it: schema_key_parse refuses one */
		x->key = xasprintf("%.*s", (int)kv->key_len, kv->key);
		switch (x->k.kind) {
		case SCHEMA_AGENT:
			rc = schema_agent_parse(
			    x->key, kv->value, kv->value_len, &x->agent, err);
			break;
		case SCHEMA_GROUP:
			rc = schema_group_parse(
			    x->key, kv->value, kv->value_len, &x->members, err);
			break;
		case SCHEMA_NS_SPEC:
			rc = schema_spec_parse(
			    x->key, kv->value, kv->value_len, &x->spec, err);
			break;
		case SCHEMA_NS_DESIRED:
			rc = schema_desired_parse(
			    x->key, kv->value, kv->value_len, &x->desired, err);
			break;
		case SCHEMA_PLAN: /* the members of an agents' rollout */
			rc = schema_plan_parse(
			    x->key, kv->value, kv->value_len, &x->plan, err);
			break;
		default:
			free(x->key);
			x->key = NULL;
			continue;
		}
		(*n)++;
	}
	if (rc == -1) {
		got_clear(g, *n);
		*n = 0;
		return -1;
	}
	*out = g;
	return 0;
}

/* The spec of namespace ns among g, or NULL. */
static const struct got *
spec_of(const struct got *g, size_t n, const char *ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].k.kind == SCHEMA_NS_SPEC && strcmp(g[i].k.ns, ns) == 0)
			return &g[i];
	return NULL;
}

/*
 * Desired's rollout as the fleet holds it (new reference): an agents'
 * rollout has no members in desired (schema.h), so they come from its
 * plan (waves/<ns>) among g, each waiting (status merges their state);
 * registry_sync.c leaves them out again when it compares.
 */
static json_t *
rollout_of(const struct got *x, const struct got *g, size_t n)
{
	const json_t *members = json_object_get(x->desired.rollout, "members");
	json_t *r, *list;
	size_t i, k;

	if (x->desired.rollout == NULL || !x->desired.agents ||
	    !json_is_array(members) || json_array_size(members) > 0)
		return json_incref(x->desired.rollout);
	for (i = 0; i < n; i++)
		if (g[i].k.kind == SCHEMA_PLAN &&
		    strcmp(g[i].k.ns, x->k.ns) == 0 &&
		    strcmp(g[i].plan.rollout, x->desired.id) == 0)
			break;
	if (i == n)
		return json_incref(x->desired.rollout);
	r = json_deep_copy(x->desired.rollout);
	list = json_array();
	for (k = 0; k < g[i].plan.n; k++)
		json_array_append_new(list,
		    json_pack("{s:s, s:I, s:s}", "name", g[i].plan.m[k].name,
			"wave", (json_int_t)g[i].plan.m[k].wave, "state",
			cf_rstate_member_name(CF_RM_WAITING)));
	json_object_set_new(r, "members", list);
	return r;
}

/* One entry of x into the new fleet nf, by the fleet's own checks. */
static int
apply_one(struct fleet *nf, const struct got *x, const struct got *g, size_t n,
    struct cf_error *why)
{
	struct fleet_ns ns;
	int created;

	switch (x->k.kind) {
	case SCHEMA_AGENT:
		return fleet_add(
		    nf, x->k.name, x->agent.address, x->agent.fingerprint, why);
	case SCHEMA_GROUP:
		return fleet_group_add(
		    nf, x->k.name, x->members, &created, why);
	case SCHEMA_NS_SPEC:
		ns = (struct fleet_ns){.name = (char *)x->k.ns,
		    .servers = x->spec.servers,
		    .services = x->spec.services,
		    .via = x->spec.via,
		    .waves = x->spec.waves,
		    .soak_s = x->spec.soak_s,
		    .issuer = x->spec.issuer};
		return fleet_ns_put(nf, &ns, 1, why);
	case SCHEMA_NS_DESIRED:
		if (spec_of(g, n, x->k.ns) == NULL)
			return cf_errorf(why, CF_E_PARSE,
			    "a desired state without its namespace's spec");
		return fleet_ns_set_state(nf, x->k.ns,
		    x->desired.thumbprint[0] ? x->desired.thumbprint : NULL,
		    rollout_of(x, g, n), why);
	default:
		return 0;
	}
}

/* Agents, then groups (of agents), then namespaces (of both), then
 * their desired state, each named by its key when the fleet refuses
 * it. */
static int
apply_all(struct fleet *nf, const struct got *g, size_t n, struct cf_error *err)
{
	static const enum schema_kind order[] = {
	    SCHEMA_AGENT, SCHEMA_GROUP, SCHEMA_NS_SPEC, SCHEMA_NS_DESIRED};
	struct cf_error why;
	size_t i, j;

	cf_error_clear(&why);
	for (j = 0; j < sizeof(order) / sizeof(order[0]); j++)
		for (i = 0; i < n; i++)
			if (g[i].k.kind == order[j] &&
			    apply_one(nf, &g[i], g, n, &why) == -1)
				return cf_errorf(err, CF_E_PARSE,
				    "%s: %s; the fleet file is unchanged",
				    g[i].key, why.msg);
	return 0;
}

int
registry_import(struct fleet *f, int force, struct cf_error *err)
{
	const struct fleet_registry *r = fleet_registry_get(f);
	const char *prefix = registry_prefix(r);
	struct etcd *e = NULL;
	struct etcd_reply *reply = NULL;
	struct fleet *nf = NULL;
	struct got *g = NULL;
	size_t n = 0,
	       held = fleet_count(f) + fleet_group_count(f) + fleet_ns_count(f);
	int rc = -1;

	if (held > 0 && !force) {
		cf_errorf(err, CF_E_CONFLICT,
		    "the fleet file holds agents, groups or namespaces "
		    "already (%zu); nothing changed (--force replaces them "
		    "with etcd's)",
		    held);
		goto out;
	}
	if ((e = registry_etcd_open(r, err)) == NULL ||
	    registry_read(e, prefix, 0, &reply, err) == -1)
		goto out;
	if (parse_all(prefix, reply, &g, &n, err) == -1) {
		cf_error_append(err, "; the fleet file is unchanged");
		goto out;
	}
	nf = fleet_new_like(f);
	if (apply_all(nf, g, n, err) == -1)
		goto out;
	if (fleet_count(nf) + fleet_group_count(nf) + fleet_ns_count(nf) == 0) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "etcd %s: nothing under %s/ (is the prefix right? "
		    "`certfleet registry export --to etcd` puts a fleet "
		    "there); the fleet file is unchanged",
		    etcd_endpoint_get(e), prefix);
		goto out;
	}
	if (fleet_save(nf, err) == -1)
		goto out;
	report("imported from", etcd_endpoint_get(e), prefix, fleet_count(nf),
	    fleet_group_count(nf), fleet_ns_count(nf), 0, reply->revision);
	rc = 0;
out:
	got_clear(g, n);
	fleet_free(nf);
	etcd_reply_free(reply);
	etcd_free(e);
	return rc;
}

int
registry_fleet_from(const char *prefix, const struct etcd_reply *reply,
    struct fleet *nf, struct cf_error *err)
{
	struct got *g = NULL;
	size_t n = 0;
	int rc;

	if (parse_all(prefix, reply, &g, &n, err) == -1)
		return -1;
	rc = apply_all(nf, g, n, err);
	got_clear(g, n);
	return rc;
}
