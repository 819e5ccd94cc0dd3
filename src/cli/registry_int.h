/*
 * registry_int.h - what registry_move.c (export, import) and
 * registry_sync.c (commands on an etcd registry) share; no command
 * includes it.
 */
#ifndef CF_REGISTRY_INT_H
#define CF_REGISTRY_INT_H

#include <stddef.h>

#include "error.h"
#include "etcd.h"
#include "fleet.h"
#include "schema.h"

/* The registry's prefix: its own, else SCHEMA_PREFIX_DEFAULT. */
const char *registry_prefix(const struct fleet_registry *r);
/* A blocking etcd client for r's settings (new); NULL with err. */
struct etcd *registry_etcd_open(
    const struct fleet_registry *r, struct cf_error *err);
/* Appends to err "; nothing changed" and a hint for its code; -1. */
int registry_hint(struct cf_error *err);
/* Every key under the prefix (values too unless keys_only). */
int registry_read(struct etcd *e, const char *prefix, int keys_only,
    struct etcd_reply **reply, struct cf_error *err);

/* What a fleet is under the prefix: keys and values, and how many of
 * each kind. */
struct registry_plan {
	char **keys, **values;
	size_t n;
	size_t agents, groups, spaces;
};
int registry_plan_build(const struct fleet *f, const char *prefix,
    struct registry_plan *p, struct cf_error *err);
void registry_plan_clear(struct registry_plan *p);

/* Whether the key k, which f no longer holds, goes: agents, groups and
 * namespaces f does not hold, with the state of those namespaces. */
int registry_stale(const struct fleet *f, const struct schema_key *k);

/* Whether kind is written by the agents or is sealed material: the
 * fleet neither loads, exports, imports nor deletes those keys. */
int registry_agents_key(enum schema_kind kind);
/* schema_key_parse, but a key that does not parse under elect/,
 * progress/, sealed/ or agents/<name>/ is taken as one of those
 * (k->kind SCHEMA_SEALED: not the fleet's) instead of an error. */
int registry_parse_key(const char *prefix, const void *key, size_t len,
    struct schema_key *k, struct cf_error *err);

/* The agents, groups and namespaces of reply (under prefix) into the
 * empty fleet nf, by the fleet's own checks; CF_E_PARSE naming the key. */
int registry_fleet_from(const char *prefix, const struct etcd_reply *reply,
    struct fleet *nf, struct cf_error *err);

#endif
