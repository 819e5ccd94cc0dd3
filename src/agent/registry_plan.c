/*
 * registry_plan.c - what a member and a coordinator read once per
 * rollout rather than watch (registry_int.h): the member's own
 * sealed/<me>/<ns>, which says its wave (an agents' rollout keeps its
 * member list out of desired, schema.h), and, for the coordinator,
 * waves/<ns>, the rollout's members.  Both are written by the CLI before
 * desired names the rollout's id, or in the same transaction, so a read
 * made after desired was seen finds them; neither changes while the id
 * stands, so they are read again only when desired's id changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "util.h"

static void
sealed_read_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct reg_ns *n = arg;
	struct registry *r = n->r;
	struct cf_error e;

	n->sealed_busy = 0;
	if (err != NULL) {
		reg_failed(r, "read sealed", err);
		return;
	}
	schema_sealed_clear(&n->sealed);
	memset(&n->sealed, 0, sizeof(n->sealed));
	if (reply->n_kvs == 1 &&
	    schema_sealed_parse((const char *)reply->kvs[0].key,
		reply->kvs[0].value, reply->kvs[0].value_len, &n->sealed,
		&e) == -1) {
		reg_log(r, "%s: %s: taken as no sealed key", n->name, e.msg);
		schema_sealed_clear(&n->sealed);
		memset(&n->sealed, 0, sizeof(n->sealed));
	}
	/* another rollout's key: not a member of this one */
	if (strcmp(n->sealed.rollout, n->sealed_id) != 0)
		n->sealed.wave = 0;
	n->sealed_have = 1;
	reg_poke(r);
}

const struct schema_sealed *
reg_sealed_get(struct registry *r, struct reg_ns *n, const char *id)
{
	char *key;

	if (n->sealed_have && strcmp(n->sealed_id, id) == 0)
		return &n->sealed;
	if (n->sealed_busy)
		return NULL;
	n->sealed_have = 0;
	n->sealed_busy = 1;
	snprintf(n->sealed_id, sizeof(n->sealed_id), "%s", id);
	key = schema_key(r->prefix, SCHEMA_SEALED, n->name, r->me, NULL);
	etcd_call(r->etcd, etcd_req_range(key, strlen(key), 0, 0, 0),
	    sealed_read_done, n, NULL);
	free(key);
	return NULL;
}

static void
plan_read_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct reg_ns *n = arg;
	struct registry *r = n->r;
	struct cf_error e;

	n->plan_busy = 0;
	if (err != NULL) {
		reg_failed(r, "read plan", err);
		return;
	}
	schema_plan_clear(&n->plan);
	memset(&n->plan, 0, sizeof(n->plan));
	cf_error_clear(&e);
	if (reply->n_kvs != 1)
		cf_errorf(&e, CF_E_NOTFOUND, "waves/%s: no such key", n->name);
	else if (schema_plan_parse((const char *)reply->kvs[0].key,
		     reply->kvs[0].value, reply->kvs[0].value_len, &n->plan,
		     &e) == -1) {
		schema_plan_clear(&n->plan);
		memset(&n->plan, 0, sizeof(n->plan));
	} else if (strcmp(n->plan.rollout, n->plan_id) != 0)
		cf_errorf(&e, CF_E_CONFLICT,
		    "waves/%s: the plan of rollout %s, not %s", n->name,
		    n->plan.rollout, n->plan_id);
	if (e.code != CF_OK)
		reg_log(r,
		    "%s: coordinator: %s: the rollout's waves are not moved "
		    "(run the rollout again)",
		    n->name, e.msg);
	n->plan_said = e.code != CF_OK;
	n->plan_have = 1;
	reg_poke(r);
}

const struct schema_plan *
reg_plan_get(struct registry *r, struct reg_ns *n, const char *id)
{
	char *key;

	if (n->plan_have && strcmp(n->plan_id, id) == 0)
		return &n->plan;
	if (n->plan_busy)
		return NULL;
	n->plan_have = 0;
	n->plan_busy = 1;
	snprintf(n->plan_id, sizeof(n->plan_id), "%s", id);
	key = schema_key(r->prefix, SCHEMA_PLAN, n->name, NULL, NULL);
	etcd_call(r->etcd, etcd_req_range(key, strlen(key), 0, 0, 0),
	    plan_read_done, n, NULL);
	free(key);
	return NULL;
}

void
reg_ns_cache_clear(struct reg_ns *n)
{
	schema_sealed_clear(&n->sealed);
	schema_plan_clear(&n->plan);
	memset(&n->sealed, 0, sizeof(n->sealed));
	memset(&n->plan, 0, sizeof(n->plan));
	n->sealed_have = n->plan_have = 0;
}
