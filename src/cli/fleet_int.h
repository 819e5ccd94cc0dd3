/*
 * fleet_int.h - what fleet.c (servers, groups, the file) and fleet_ns.c
 * (namespaces) share; no command includes it.
 */
#ifndef CF_FLEET_INT_H
#define CF_FLEET_INT_H

#include "fleet.h"

struct fleet {
	char *path;
	struct client_target *e; /* servers */
	size_t n;
	struct fleet_group *g;
	size_t ng;
	struct fleet_ns *ns;
	size_t nns;
	struct fleet_registry reg;
	struct registry_sync *sync; /* read from etcd: registry_sync.c */
};

/* registry_sync.c: on an etcd registry, the agents, groups and
 * namespaces from etcd into f (its own replaced), what was read kept in
 * f->sync; and back, only what changed, fenced on what was read. */
int fleet_registry_pull(struct fleet *f, struct cf_error *err);
int fleet_registry_push(struct fleet *f, struct cf_error *err);
void fleet_registry_sync_free(struct registry_sync *s); /* NULL-safe */
/* Moves nf's agents, groups and namespaces into f (f's own are freed)
 * and frees nf. */
void fleet_adopt(struct fleet *f, struct fleet *nf);

/* Appends item to *list (a new string; *list may be NULL) unless there. */
void fleet_list_add(char **list, const char *item);
/*
 * The JSON array a of strings (none empty, none with a comma) as a new
 * comma-separated list in *out; CF_E_PARSE naming what otherwise.
 */
int fleet_list_from_json(
    const json_t *a, const char *what, char **out, struct cf_error *err);

/* A name is what --server and the Server column show: short, plain;
 * CF_E_USAGE saying what a name is otherwise. */
int fleet_name_check(const char *name, struct cf_error *err);
/* Loads entry i of "groups" into f; CF_E_PARSE naming it. */
int fleet_group_load(
    struct fleet *f, size_t i, json_t *o, struct cf_error *err);
/* Loads entry i of "namespaces" into f; CF_E_PARSE naming it. */
int fleet_ns_load(struct fleet *f, size_t i, json_t *o, struct cf_error *err);
/* Namespace ns as the file holds it (new). */
json_t *fleet_ns_file_json(const struct fleet_ns *ns);
/* Frees what ns holds and zeroes it. */
void fleet_ns_clear(struct fleet_ns *ns);
/* The namespaces that name item ("ex1" or "@web") in their servers,
 * joined by ", " (new), or NULL when none. */
char *fleet_ns_naming(const struct fleet *f, const char *item);

/* The "registry" object of root (may be absent) into f; CF_E_PARSE. */
int fleet_registry_load(struct fleet *f, json_t *root, struct cf_error *err);
/* f's registry settings as the file holds them (new), or NULL when
 * there are none to write (the file registry, nothing set). */
json_t *fleet_registry_json(const struct fleet *f);

#endif
