/*
 * registry_watch.c - what the registry thread knows of etcd: one cache of
 * keys, sorted, filled by the lists and kept by the watches of three
 * ranges (registry_int.h).
 *
 * Why three.  Every agent must see the namespaces, the groups, the
 * candidacies and the coordinators' progress: the shared range [P/elect/,
 * P/sealed/), written rarely (by the CLI, and by coordinators once a
 * wave).  The statuses and live keys under P/agents/ change with every
 * member's move; if every agent watched them, a fleet of n agents would
 * carry n * n events a rollout (bench/converge.sh measured it).  So a
 * member reads its own keys (P/agents/ME/) once per session, and keeps
 * them as it writes them; only a coordinator lists and watches the whole
 * of P/agents/, and only while it coordinates, and it decides nothing
 * until that list is in (agents_synced), so that members it has not
 * heard of yet are never taken for absent.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "util.h"

/* --- The cache, sorted by key --- */

/* Where key is, or would go, in r->kv. */
static size_t
cache_find(const struct registry *r, const char *key, int *found)
{
	size_t lo = 0, hi = r->nkv, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(r->kv[mid].key, key);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct reg_kv *
reg_get(const struct registry *r, const char *key)
{
	int found;
	size_t i = cache_find(r, key, &found);

	return found ? &r->kv[i] : NULL;
}

void
reg_cache_put(struct registry *r, const char *key, const void *value,
    size_t len, int64_t create_rev, int64_t mod_rev)
{
	int found;
	size_t i = cache_find(r, key, &found);
	struct reg_kv *kv;

	if (!found) {
		if (r->nkv == r->capkv) {
			r->capkv = r->capkv ? r->capkv * 2 : 64;
			r->kv = xrealloc(r->kv, r->capkv * sizeof(*r->kv));
		}
		memmove(
		    &r->kv[i + 1], &r->kv[i], (r->nkv - i) * sizeof(*r->kv));
		r->nkv++;
		memset(&r->kv[i], 0, sizeof(r->kv[i]));
		r->kv[i].key = xstrdup(key);
	}
	kv = &r->kv[i];
	free(kv->value);
	kv->value = xmalloc(len + 1);
	memcpy(kv->value, value, len);
	kv->value[len] = '\0';
	kv->len = len;
	if (create_rev > 0 || !found)
		kv->create_rev = create_rev;
	kv->mod_rev = mod_rev;
}

static void
cache_del(struct registry *r, const char *key)
{
	int found;
	size_t i = cache_find(r, key, &found);

	if (!found)
		return;
	free(r->kv[i].key);
	free(r->kv[i].value);
	memmove(&r->kv[i], &r->kv[i + 1], (r->nkv - i - 1) * sizeof(*r->kv));
	r->nkv--;
}

/* Drops every cached key in [from, to), but those in [keep_from,
 * keep_to) when keep_from is not NULL. */
static void
cache_clear_range(struct registry *r, const char *from, const char *to,
    const char *keep_from, const char *keep_to)
{
	int found;
	size_t i = cache_find(r, from, &found), j = i, k;

	while (j < r->nkv && strcmp(r->kv[j].key, to) < 0)
		j++;
	for (k = i; k < j; k++) {
		if (keep_from != NULL && strcmp(r->kv[k].key, keep_from) >= 0 &&
		    strcmp(r->kv[k].key, keep_to) < 0) {
			r->kv[i++] = r->kv[k];
			continue;
		}
		free(r->kv[k].key);
		free(r->kv[k].value);
	}
	memmove(&r->kv[i], &r->kv[j], (r->nkv - j) * sizeof(*r->kv));
	r->nkv -= j - i;
}

void
reg_cache_free(struct registry *r)
{
	while (r->nkv > 0) {
		r->nkv--;
		free(r->kv[r->nkv].key);
		free(r->kv[r->nkv].value);
	}
	free(r->kv);
	r->kv = NULL;
	r->capkv = 0;
}

/* etcd's key as a C string (keys are text here); NULL for one with a
 * NUL inside, which no certfleet writes. */
static char *
kv_key(const struct etcd_kv *kv)
{
	if (memchr(kv->key, '\0', kv->key_len) != NULL)
		return NULL;
	return xstrdup((const char *)kv->key);
}

/* Replaces [from, to) of the cache by what a list answered. */
static void
cache_fill(struct registry *r, const char *from, const char *to,
    const struct etcd_reply *reply)
{
	char *key;
	size_t i;

	cache_clear_range(r, from, to, NULL, NULL);
	for (i = 0; i < reply->n_kvs; i++) {
		if ((key = kv_key(&reply->kvs[i])) == NULL)
			continue;
		reg_cache_put(r, key, reply->kvs[i].value,
		    reply->kvs[i].value_len, reply->kvs[i].create_revision,
		    reply->kvs[i].mod_revision);
		free(key);
	}
}

/* A watch's events into the cache; 1 when there were any. */
static int
cache_events(struct registry *r, const struct etcd_watch_msg *m)
{
	char *key;
	size_t i;

	for (i = 0; i < m->n_events; i++) {
		const struct etcd_kv *kv = &m->events[i].kv;
		if ((key = kv_key(kv)) == NULL)
			continue;
		if (m->events[i].type == ETCD_EV_DELETE)
			cache_del(r, key);
		else
			reg_cache_put(r, key, kv->value, kv->value_len,
			    kv->create_revision, kv->mod_revision);
		free(key);
	}
	return m->n_events > 0;
}

/* --- The shared range, then the member's own keys --- */

static void
on_watch(const struct etcd_watch_msg *m, void *arg)
{
	struct registry *r = arg;

	if (m->err != NULL) {
		reg_watch_failed(r, m->err);
		return;
	}
	if (m->compact_revision > 0) {
		reg_log(r,
		    "watch: revision compacted away (%lld); listing again",
		    (long long)m->compact_revision);
		reg_watches_free(r);
		reg_list(r);
		return;
	}
	if (cache_events(r, m))
		reg_poke(r);
}

static void
own_done(const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;

	if (r->lease == 0 || r->watch == NULL)
		return; /* the session was dropped meanwhile */
	if (err != NULL) {
		reg_failed(r, "list its own keys", err);
		return;
	}
	cache_fill(r, r->own_from, r->own_to, reply);
	reg_session_up(r, reply->revision);
}

static void
list_done(const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct cf_error e;

	if (r->lease == 0)
		return; /* the session was dropped meanwhile */
	if (err != NULL) {
		reg_failed(r, "list", err);
		return;
	}
	reg_watches_free(r); /* one watch of each, whatever came before */
	cache_fill(r, r->range_from, r->range_to, reply);
	cf_error_clear(&e);
	r->watch = etcd_watch_new_range(r->etcd, r->range_from,
	    strlen(r->range_from), r->range_to, strlen(r->range_to),
	    reply->revision + 1, on_watch, r, &e);
	if (etcd_call(r->etcd,
		etcd_req_range_end(r->own_from, strlen(r->own_from), r->own_to,
		    strlen(r->own_to), 0, 0),
		own_done, r, &e) == -1)
		reg_failed(r, "list its own keys", &e);
}

void
reg_list(struct registry *r)
{
	struct cf_error e;

	if (etcd_call(r->etcd,
		etcd_req_range_end(r->range_from, strlen(r->range_from),
		    r->range_to, strlen(r->range_to), 0, 0),
		list_done, r, &e) == -1)
		reg_failed(r, "list", &e);
}

/* --- P/agents/, while the agent coordinates --- */

static void agents_list(struct registry *r);

static void
on_agents_watch(const struct etcd_watch_msg *m, void *arg)
{
	struct registry *r = arg;

	if (m->err != NULL) {
		reg_watch_failed(r, m->err);
		return;
	}
	if (m->compact_revision > 0) {
		etcd_watch_free(r->agents_watch);
		r->agents_watch = NULL;
		r->agents_synced = 0;
		agents_list(r);
		return;
	}
	if (cache_events(r, m))
		reg_poke(r);
}

static void
agents_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct cf_error e;

	r->agents_listing = 0;
	if (r->lease == 0 || r->watch == NULL || !r->agents_want)
		return; /* dropped, or no longer wanted, meanwhile */
	if (err != NULL) {
		reg_failed(r, "list the agents", err);
		return;
	}
	cache_fill(r, r->agents_from, r->agents_to, reply);
	cf_error_clear(&e);
	r->agents_watch = etcd_watch_new_range(r->etcd, r->agents_from,
	    strlen(r->agents_from), r->agents_to, strlen(r->agents_to),
	    reply->revision + 1, on_agents_watch, r, &e);
	r->agents_synced = 1;
	reg_log(r,
	    "coordinator: watching the agents' %zu keys from revision "
	    "%lld",
	    reply->n_kvs, (long long)reply->revision + 1);
	reg_poke(r);
}

static void
agents_list(struct registry *r)
{
	struct cf_error e;

	if (r->agents_listing)
		return;
	r->agents_listing = 1;
	if (etcd_call(r->etcd,
		etcd_req_range_end(r->agents_from, strlen(r->agents_from),
		    r->agents_to, strlen(r->agents_to), 0, 0),
		agents_done, r, &e) == -1) {
		r->agents_listing = 0;
		reg_failed(r, "list the agents", &e);
	}
}

void
reg_agents_want(struct registry *r, int want)
{
	r->agents_want = want;
	if (want && !r->agents_synced && r->watch != NULL)
		agents_list(r);
	if (!want && (r->agents_synced || r->agents_watch != NULL)) {
		etcd_watch_free(r->agents_watch);
		r->agents_watch = NULL;
		r->agents_synced = 0;
		cache_clear_range(
		    r, r->agents_from, r->agents_to, r->own_from, r->own_to);
		reg_log(r, "coordinator: no longer watching the agents");
	}
}

void
reg_watches_free(struct registry *r)
{
	etcd_watch_free(r->watch);
	r->watch = NULL;
	etcd_watch_free(r->agents_watch);
	r->agents_watch = NULL;
	r->agents_synced = 0;
}

void
reg_ranges_new(struct registry *r)
{
	char *all_from, *all_to;

	/* [P/agents/, P/sealed/): agents < elect < groups < ns < progress
	 * < sealed (schema.h) */
	schema_agent_range(r->prefix, &all_from, &all_to);
	r->agents_from = all_from;
	r->agents_to = schema_dir(r->prefix, "elect/");
	r->range_from = schema_dir(r->prefix, "elect/");
	r->range_to = all_to;
	r->own_from = xasprintf("%s/agents/%s/", r->prefix, r->me);
	r->own_to = xasprintf("%s/agents/%s0", r->prefix, r->me);
}

void
reg_ranges_free(struct registry *r)
{
	free(r->range_from);
	free(r->range_to);
	free(r->agents_from);
	free(r->agents_to);
	free(r->own_from);
	free(r->own_to);
}
