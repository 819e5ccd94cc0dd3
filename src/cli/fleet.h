/*
 * fleet.h - the admin's fleet file: the agents known by name, each with
 * its address and the pinned SHA-256 fingerprint of its identity, as
 * SSH's known_hosts pins host keys; the groups of servers (`--server
 * @web`); and the namespaces, the names users connect to with the
 * servers, services and balancer behind each.  JSON:
 *   {"servers": [{"name": "ex1", "address": "10.0.0.5:8443",
 *                 "fingerprint": "SHA256:…"}, …],
 *    "groups": [{"name": "web", "members": ["ex1", "ex2"]}],
 *    "namespaces": [{"name": "mail.example.com", "servers": ["@web"],
 *                    "services": ["https"], "via": "10.0.0.9:443",
 *                    "waves": ["1", "100%"], "soak": 0,
 *                    "desired": THUMB, "rollout": {...}}]}
 * A file without groups or namespaces (the first format) loads as is.
 * "desired" is the certificate a namespace's members must serve (set by
 * `rollout`; absent before the first), "rollout" where the last rollout
 * stands: its state, wave, source, waves and soak, and per member its
 * wave, state, last step and error, when it last answered and what each
 * service had before (rollout_state.h has the schema).  "renewal" is
 * where `certfleet autopilot` stands for the namespace: failures, the
 * last error and success, when it is next due (renew.h has the
 * schema).  All three are kept when the namespace is changed with
 * `namespace set`.
 *
 * "registry" (optional) says where the fleet's shared truth lives: the
 * fleet file itself ("type": "file", the default and what a file
 * without it means) or etcd, with how to reach it:
 *   {"type": "etcd", "endpoints": ["https://etcd1.example:2379", …],
 *    "ca": FILE, "cert": FILE, "key": FILE, "user": NAME,
 *    "password_file": FILE, "prefix": "/certfleet"}
 * (fleet_registry.c; the keys under the prefix are schema.h's).
 */
#ifndef CF_FLEET_H
#define CF_FLEET_H

#include <stddef.h>

#include <jansson.h>

#include "client.h"
#include "error.h"

struct fleet;

/* The fleet file's path: --fleet, else $CERTFLEET_HOME/fleet.json (new;
 * the directory created 0700 when create). */
char *fleet_path(int create, struct cf_error *err);

/* Loads the fleet in path; a missing file is an empty fleet.  NULL and
 * *err set when the file cannot be read or is malformed. */
struct fleet *fleet_load(const char *path, struct cf_error *err);
void fleet_free(struct fleet *f); /* NULL-safe */

/* Writes the fleet back, atomically, mode 0600; on an etcd registry,
 * what changed to etcd first (registry_sync.c: CF_E_CONFLICT, nothing
 * written, when someone changed it since it was read). */
int fleet_save(struct fleet *f, struct cf_error *err);
/* fleet_load of the file alone, even when it names an etcd registry:
 * its settings, and the copy of what was last read (registry, complete). */
struct fleet *fleet_load_file(const char *path, struct cf_error *err);

size_t fleet_count(const struct fleet *f);
/* Entry i, lent: its name, address and fingerprint. */
const struct client_target *fleet_get(const struct fleet *f, size_t i);
/* The entry named name, lent; NULL when none. */
const struct client_target *fleet_find(const struct fleet *f, const char *name);

/* Whether name at address may be added: CF_E_USAGE for a malformed name
 * or address, CF_E_CONFLICT when name is taken. */
int fleet_check(const struct fleet *f, const char *name, const char *address,
    struct cf_error *err);
/*
 * Adds name at address pinned to fingerprint ("SHA256:HEX"); CF_E_USAGE
 * for a malformed name or address, CF_E_CONFLICT when name is taken or
 * another name has the same address and fingerprint.
 */
int fleet_add(struct fleet *f, const char *name, const char *address,
    const char *fingerprint, struct cf_error *err);
/* Removes name; CF_E_NOTFOUND when the fleet has no such entry,
 * CF_E_CONFLICT naming the groups and namespaces that still name it. */
int fleet_remove(struct fleet *f, const char *name, struct cf_error *err);

/*
 * The targets --server list names: fleet names, @GROUP (its members),
 * "all" (every entry), or HOST:PORT, pinned by fingerprint (may be NULL: then
 * the fleet must know the address).  Duplicates are dropped.  *t is new
 * (client_targets_free).
 */
int fleet_resolve(const struct fleet *f, const char *list,
    const char *fingerprint, struct client_target **t, size_t *n,
    struct cf_error *err);

/* A group of servers; members is "ex1,ex2" (never empty). */
struct fleet_group {
	char *name;
	char *members;
};
size_t fleet_group_count(const struct fleet *f);
/* Group i, or the group named name, lent; NULL when none. */
const struct fleet_group *fleet_group_get(const struct fleet *f, size_t i);
const struct fleet_group *fleet_group_find(
    const struct fleet *f, const char *name);
/*
 * Creates group name of the servers in list ("ex1,ex2"), or adds them to
 * the group when it exists; *created says which.  CF_E_USAGE for a bad
 * name, an unknown server or an empty list; CF_E_CONFLICT for a server's
 * name.  Nothing changes on error.
 */
int fleet_group_add(struct fleet *f, const char *name, const char *list,
    int *created, struct cf_error *err);
/*
 * Removes the servers of list from group name, or (list NULL) the whole
 * group.  CF_E_NOTFOUND for no such group; CF_E_CONFLICT when a
 * namespace names the group, or when the group would be left empty.
 */
int fleet_group_remove(
    struct fleet *f, const char *name, const char *list, struct cf_error *err);

/*
 * A namespace: the DNS name users connect to; the servers behind it
 * (fleet names, @GROUP or all: "ex1,@web"); the services that present
 * it ("https,smtp"); the balancer's HOST:PORT or NULL; the waves of a
 * rollout ("1,50%,100%": how many members have moved by the end of each
 * wave) and the soak time after each wave, in seconds.
 */
struct fleet_ns {
	char *name;
	char *servers;
	char *services;
	char *via;
	char *waves;
	long soak_s;
	char *desired;   /* full thumbprint, or NULL: never rolled out */
	json_t *rollout; /* the file's "rollout" (rollout_state.h), or NULL */
	json_t *issuer;  /* who issues its certificate (issuer.h), or NULL */
	json_t *renewal; /* the autopilot's renewal state (renew.h), or NULL */
};
#define FLEET_NS_SERVICES "https"
#define FLEET_NS_WAVES "1,100%"
#define FLEET_NS_SOAK 0
size_t fleet_ns_count(const struct fleet *f);
/* Namespace i, or the one named name (any case), lent; NULL when none. */
const struct fleet_ns *fleet_ns_get(const struct fleet *f, size_t i);
const struct fleet_ns *fleet_ns_find(const struct fleet *f, const char *name);
/*
 * Checks ns and stores a copy in its canonical form: the name
 * lower-cased, services canonical, waves without spaces.  create: a new
 * namespace (CF_E_CONFLICT when there is one), else a change of one that
 * exists (CF_E_NOTFOUND when none).  CF_E_USAGE naming what is wrong.
 */
int fleet_ns_put(struct fleet *f, const struct fleet_ns *ns, int create,
    struct cf_error *err);
/*
 * Sets namespace name's desired certificate (NULL: none) and rollout
 * state (stolen; NULL: none).  CF_E_NOTFOUND when there is no such
 * namespace (then rollout is freed).
 */
int fleet_ns_set_state(struct fleet *f, const char *name, const char *desired,
    json_t *rollout, struct cf_error *err);
/*
 * Sets namespace name's renewal state (stolen; NULL: none), checked as
 * the file's is (cf_renew_state_parse).  CF_E_NOTFOUND when there is no
 * such namespace, CF_E_PARSE for a state that does not read; renewal is
 * freed then.
 */
int fleet_ns_set_renewal(
    struct fleet *f, const char *name, json_t *renewal, struct cf_error *err);
/* Removes namespace name; CF_E_NOTFOUND when none. */
int fleet_ns_remove(struct fleet *f, const char *name, struct cf_error *err);

/*
 * The registry settings of the fleet file.  Every string may be NULL
 * (not set); etcd's are kept when the type goes back to file, so that
 * `registry import` can still read from etcd.
 */
struct fleet_registry {
	int etcd;            /* type: 0 "file" (the default), 1 "etcd" */
	char *endpoints;     /* "https://H:P,https://H:P" */
	char *ca;            /* the CA that signed the members' certificates */
	char *cert, *key;    /* the client certificate (CN-less) and its key */
	char *user;          /* NULL: etcd without authentication */
	char *password_file; /* the user's password, mode 0600 */
	char *prefix;        /* NULL: SCHEMA_PREFIX_DEFAULT */
};
#define FLEET_ETCD_MAX_ENDPOINTS 8
/* f's registry settings, lent; never NULL (all zero: the file). */
const struct fleet_registry *fleet_registry_get(const struct fleet *f);
/*
 * Replaces f's registry settings with a copy of r, checked: with etcd,
 * endpoints (1 to 8 https:// URLs), ca, cert and key; a password file
 * with a user and only with one; a prefix schema_prefix_check takes.
 * CF_E_USAGE naming what is wrong; nothing changes then.
 */
int fleet_registry_set(
    struct fleet *f, const struct fleet_registry *r, struct cf_error *err);
/* Frees what r holds and zeroes it. */
void fleet_registry_clear(struct fleet_registry *r);
/* A new fleet with f's path and registry settings and nothing else:
 * what `registry import` fills before it replaces f's file. */
struct fleet *fleet_new_like(const struct fleet *f);

/* Helpers the commands share, for their options. */
/* "30s", "5m", "2h", "1d" or bare seconds into *s; CF_E_USAGE. */
int fleet_duration_parse(const char *text, long *s, struct cf_error *err);
/* Whether the comma-separated list (may be NULL) holds item. */
int fleet_list_has(const char *list, const char *item);
/* The comma-separated list as a JSON array of strings (new). */
json_t *fleet_list_json(const char *list);

#endif
