/*
 * fleet.h - the admin's fleet file: the agents known by name, each with
 * its address and the pinned SHA-256 fingerprint of its identity, as
 * SSH's known_hosts pins host keys.  JSON:
 *   {"servers": [{"name": "ex1", "address": "10.0.0.5:8443",
 *                 "fingerprint": "SHA256:…"}, …]}
 */
#ifndef CF_FLEET_H
#define CF_FLEET_H

#include <stddef.h>

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

/* Writes the fleet back, atomically, mode 0600. */
int fleet_save(const struct fleet *f, struct cf_error *err);

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
/* Removes name; CF_E_NOTFOUND when the fleet has no such entry. */
int fleet_remove(struct fleet *f, const char *name, struct cf_error *err);

/*
 * The targets --server list names: fleet names, "all" (every entry), or
 * HOST:PORT, pinned by fingerprint (may be NULL: then the fleet must know
 * the address).  Duplicates are dropped.  *t is new (client_targets_free).
 */
int fleet_resolve(const struct fleet *f, const char *list,
    const char *fingerprint, struct client_target **t, size_t *n,
    struct cf_error *err);

#endif
