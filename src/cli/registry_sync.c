/*
 * registry_sync.c - the commands on an etcd registry: when the fleet
 * file says `"registry": {"type": "etcd", ...}`, fleet_load reads the
 * agents, groups and namespaces (with their desired state and rollout)
 * from etcd, and fleet_save writes back what the command changed.
 *
 * What was read is kept: every key's value and the revision it was last
 * changed at.  A save writes only the keys whose value differs, and
 * deletes those of entries the command removed, in one transaction in
 * which each key must still be at the revision read (absent: still
 * absent).  Two admins who change different namespaces both succeed; two
 * who change the same one at once: the second is refused, nothing of it
 * written, and told to run the command again.  The fleet file keeps a
 * copy of what was last read or written, so `registry set file` goes on
 * from there, and `registry` itself reads only the file.
 */
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"
#include "registry_int.h"
#include "util.h"

/* What was read from etcd: key, value and mod revision each. */
struct registry_sync {
	char **keys, **values;
	int64_t *mods;
	size_t n;
};

void
fleet_registry_sync_free(struct registry_sync *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	free(s->mods);
	free(s);
}

static void
sync_add(struct registry_sync *s, const char *key, size_t klen,
    const char *value, size_t vlen, int64_t mod)
{
	s->keys = xrealloc(s->keys, (s->n + 1) * sizeof(*s->keys));
	s->values = xrealloc(s->values, (s->n + 1) * sizeof(*s->values));
	s->mods = xrealloc(s->mods, (s->n + 1) * sizeof(*s->mods));
	s->keys[s->n] = xasprintf("%.*s", (int)klen, key);
	s->values[s->n] = xasprintf("%.*s", (int)vlen, value);
	s->mods[s->n++] = mod;
}

/* The index of key in p, or p->n. */
static size_t
plan_index(const struct registry_plan *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n && strcmp(p->keys[i], key) != 0; i++)
		;
	return i;
}

/* The index of key in s, or s->n. */
static size_t
sync_find(const struct registry_sync *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n && strcmp(s->keys[i], key) != 0; i++)
		;
	return i;
}

int
fleet_registry_pull(struct fleet *f, struct cf_error *err)
{
	const char *prefix = registry_prefix(&f->reg);
	struct etcd_reply *reply = NULL;
	struct etcd *e = NULL;
	struct fleet *nf = NULL;
	struct registry_sync *s = NULL;
	struct schema_key k;
	size_t i;
	int rc = -1;

	if ((e = registry_etcd_open(&f->reg, err)) == NULL ||
	    registry_read(e, prefix, 0, &reply, err) == -1)
		goto out;
	nf = fleet_new_like(f);
	if (registry_fleet_from(prefix, reply, nf, err) == -1)
		goto out;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < reply->n_kvs; i++) {
		/* the agents' keys and the sealed material are not the
		 * fleet's: never compared, written or deleted by a save */
		if (registry_parse_key(prefix, reply->kvs[i].key,
			reply->kvs[i].key_len, &k, err) == -1)
			goto out;
		if (registry_agents_key(k.kind))
			continue;
		sync_add(s, (const char *)reply->kvs[i].key,
		    reply->kvs[i].key_len, (const char *)reply->kvs[i].value,
		    reply->kvs[i].value_len, reply->kvs[i].mod_revision);
	}
	fleet_adopt(f, nf);
	nf = NULL;
	fleet_registry_sync_free(f->sync);
	f->sync = s;
	s = NULL;
	rc = 0;
out:
	fleet_registry_sync_free(s);
	if (rc == -1)
		cf_error_prefix(err, "the etcd registry (`certfleet registry "
				     "show`): ");
	fleet_free(nf);
	etcd_reply_free(reply);
	etcd_free(e);
	return rc;
}

/*
 * Whether the desired state planned says what the one read says: the
 * same thumbprint and rollout.  The fleet keeps no rollout id nor
 * whether the agents drive it (rollout_etcd.c writes those), so a value
 * read with them is rebuilt without them: comparing the text would
 * rewrite it, and lose them, on every save of another change.
 */
static int
same_desired(const char *key, const char *read, const char *planned)
{
	struct schema_desired a, b;
	struct cf_error err;
	int same;

	if (schema_desired_parse(key, read, strlen(read), &a, &err) == -1)
		return 0;
	if (schema_desired_parse(key, planned, strlen(planned), &b, &err) ==
	    -1) {
		schema_desired_clear(&a);
		return 0;
	}
	/* an agents' rollout read without members: the fleet's has its
	 * plan's (registry_move.c), which desired never holds */
	if (a.agents && b.rollout != NULL &&
	    json_array_size(json_object_get(a.rollout, "members")) == 0)
		json_object_set_new(b.rollout, "members", json_array());
	same = strcmp(a.thumbprint, b.thumbprint) == 0 &&
	       (a.rollout == NULL) == (b.rollout == NULL) &&
	       (a.rollout == NULL || json_equal(a.rollout, b.rollout));
	schema_desired_clear(&a);
	schema_desired_clear(&b);
	return same;
}

/* Whether value planned for key is what was read (s->values[j]). */
static int
unchanged(const struct registry_sync *s, size_t j, const char *prefix,
    const char *key, const char *planned)
{
	struct schema_key k;
	struct cf_error err;

	if (strcmp(s->values[j], planned) == 0)
		return 1;
	return schema_key_parse(prefix, key, strlen(key), &k, &err) == 0 &&
	       k.kind == SCHEMA_NS_DESIRED &&
	       same_desired(key, s->values[j], planned);
}

/* Adds to txn the put of every key of p whose value differs from what
 * was read, fenced on its revision; the count. */
static size_t
txn_puts(struct etcd_req *txn, const struct registry_sync *s,
    const struct registry_plan *p, const char *prefix)
{
	size_t i, j, n = 0;

	for (i = 0; i < p->n; i++) {
		j = sync_find(s, p->keys[i]);
		if (j < s->n &&
		    unchanged(s, j, prefix, p->keys[i], p->values[i]))
			continue;
		etcd_txn_compare(txn, p->keys[i], strlen(p->keys[i]), ETCD_MOD,
		    ETCD_EQUAL, j < s->n ? s->mods[j] : 0, NULL, 0);
		etcd_txn_op(txn, 1,
		    etcd_req_put(p->keys[i], strlen(p->keys[i]), p->values[i],
			strlen(p->values[i]), 0, 0));
		n++;
	}
	return n;
}

/* Adds to txn the delete of every key read that f no longer holds (an
 * agent, group or namespace removed, with that namespace's other keys),
 * fenced on its revision; the count, or -1 with err. */
static long
txn_deletes(struct etcd_req *txn, const struct fleet *f, const char *prefix,
    const struct registry_sync *s, const struct registry_plan *p,
    struct cf_error *err)
{
	struct schema_key k;
	size_t i;
	long n = 0;

	for (i = 0; i < s->n; i++) {
		if (plan_index(p, s->keys[i]) < p->n)
			continue;
		if (schema_key_parse(prefix, (const unsigned char *)s->keys[i],
			strlen(s->keys[i]), &k, err) == -1)
			return -1;
		if (!registry_stale(f, &k))
			continue;
		etcd_txn_compare(txn, s->keys[i], strlen(s->keys[i]), ETCD_MOD,
		    ETCD_EQUAL, s->mods[i], NULL, 0);
		etcd_txn_op(txn, 1,
		    etcd_req_delete(s->keys[i], strlen(s->keys[i]), 0, 0));
		n++;
	}
	return n;
}

/* What was read, brought up to what the transaction at revision wrote. */
static void
sync_update(struct registry_sync *s, const struct registry_plan *p,
    int64_t revision, const struct fleet *f, const char *prefix)
{
	struct schema_key k;
	struct cf_error e;
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		j = sync_find(s, p->keys[i]);
		if (j == s->n)
			sync_add(s, p->keys[i], strlen(p->keys[i]),
			    p->values[i], strlen(p->values[i]), revision);
		else if (!unchanged(s, j, prefix, p->keys[i], p->values[i])) {
			free(s->values[j]);
			s->values[j] = xstrdup(p->values[i]);
			s->mods[j] = revision;
		}
	}
	for (i = 0; i < s->n;) {
		cf_error_clear(&e);
		if (plan_index(p, s->keys[i]) == p->n &&
		    schema_key_parse(prefix, (const unsigned char *)s->keys[i],
			strlen(s->keys[i]), &k, &e) == 0 &&
		    registry_stale(f, &k)) {
			free(s->keys[i]);
			free(s->values[i]);
			s->n--;
			s->keys[i] = s->keys[s->n];
			s->values[i] = s->values[s->n];
			s->mods[i] = s->mods[s->n];
		} else
			i++;
	}
}

int
fleet_registry_push(struct fleet *f, struct cf_error *err)
{
	const char *prefix = registry_prefix(&f->reg);
	struct registry_plan p = {0};
	struct etcd_reply *done = NULL;
	struct etcd_req *txn = NULL;
	struct etcd *e = NULL;
	long deletes;
	size_t puts;
	int rc = -1;

	if (registry_plan_build(f, prefix, &p, err) == -1)
		goto out;
	txn = etcd_req_txn();
	puts = txn_puts(txn, f->sync, &p, prefix);
	if ((deletes = txn_deletes(txn, f, prefix, f->sync, &p, err)) == -1)
		goto out;
	if (puts == 0 && deletes == 0) {
		rc = 0; /* nothing changed */
		goto out;
	}
	if ((e = registry_etcd_open(&f->reg, err)) == NULL)
		goto out;
	rc = etcd_call_wait(e, txn, &done, err);
	txn = NULL;
	if (rc == -1) {
		registry_hint(err);
		goto out;
	}
	rc = -1;
	if (!done->succeeded) {
		cf_errorf(err, CF_E_CONFLICT,
		    "etcd %s: what this command changed was changed in the "
		    "registry by someone else since it read it; nothing "
		    "written (run the command again)",
		    etcd_endpoint_get(e));
		goto out;
	}
	sync_update(f->sync, &p, done->revision, f, prefix);
	rc = 0;
out:
	etcd_req_free(txn);
	etcd_reply_free(done);
	etcd_free(e);
	registry_plan_clear(&p);
	return rc;
}
