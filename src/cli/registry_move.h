/*
 * registry_move.h - `registry export --to etcd` and `registry import
 * --from etcd` (registry_move.c): the fleet file's agents, groups and
 * namespaces to etcd and back, each all or nothing.
 */
#ifndef CF_REGISTRY_MOVE_H
#define CF_REGISTRY_MOVE_H

#include "error.h"
#include "fleet.h"

/*
 * Writes f's agents, groups and namespaces (spec, desired state and
 * rollout) under the registry's prefix in one etcd transaction, fenced
 * on the revisions read first.  CF_E_CONFLICT, nothing written, when the
 * prefix holds agents, groups or namespaces already and not force (with
 * force they are replaced: those f does not hold are deleted), or when
 * the prefix changed meanwhile.  Prints what it wrote.
 */
int registry_export(const struct fleet *f, int force, struct cf_error *err);
/*
 * Replaces f's agents, groups and namespaces with those under the
 * prefix, and saves f: only once every key read parses and the fleet
 * takes every entry (else CF_E_PARSE naming the key, f's file as it
 * was).  CF_E_CONFLICT when f holds some already and not force;
 * CF_E_NOTFOUND when the prefix holds none.  Prints what it read.
 */
int registry_import(struct fleet *f, int force, struct cf_error *err);
/* Whether path is a regular file only its owner may read (0600), as a
 * password file must be; CF_E_DENIED saying to chmod otherwise. */
int registry_password_file_check(const char *path, struct cf_error *err);

/*
 * registry enroll AGENT (cmd_registry_enroll.c): etcd user and role
 * "certfleet-agent-AGENT" with the grants an agent needs (read on the
 * fleet but others' sealed material, readwrite on its own keys), its
 * password from pwfile ("-" stdin; NULL: a no-echo prompt).  Existing
 * ones are kept and granted again.  CF_E_DENIED saying a root user is
 * needed when etcd refuses.  Prints what it made.
 */
int registry_enroll(const struct fleet *f, const char *agent,
    const char *pwfile, struct cf_error *err);
/* Deletes AGENT's etcd user and role; CF_E_NOTFOUND when neither is. */
int registry_unenroll(
    const struct fleet *f, const char *agent, struct cf_error *err);

#endif
