/*
 * schema.h - the etcd registry's keys and values: where each piece of
 * the fleet's shared truth lives under the key prefix, and what its
 * value says.  Pure (no I/O): it builds keys and JSON values and parses
 * them back, checking every name so that a key can never hold a path
 * separator or leave the prefix, and every value so that nothing half
 * read reaches the fleet.  Under PREFIX (default "/certfleet"):
 *
 *   agents/<name>             {"address": "HOST:PORT",
 *                              "fingerprint": "SHA256:..."}
 *   groups/<name>             {"members": ["ex1", "ex2"]}
 *   ns/<ns>/spec              {"servers": ["ex1", "@web"],
 *                              "services": ["https"], "via": "H:P",
 *                              "waves": ["1", "100%"], "soak": 0}
 *   ns/<ns>/desired           {"thumbprint": THUMB or null,
 *                              "previous": THUMB (optional),
 *                              "rollout": {...} (rollout_state.h)}
 *   ns/<ns>/material/<agent>  sealed to that agent (later)
 *   ns/<ns>/status/<agent>    written by that agent (later)
 *   ns/<ns>/coordinator       the namespace's coordinator (later)
 *
 * <name> and <agent> are fleet names (letters, digits, '.', '-', '_',
 * starting with a letter or digit; not "all"); <ns> is one DNS name in
 * lower case.  Neither can be "." or "..", nor hold '/'.
 *
 * Errors: CF_E_USAGE for a bad name or prefix given to a builder;
 * CF_E_PARSE for a key or value read back that is not what these
 * functions write, the message starting with the key.
 */
#ifndef CF_SCHEMA_H
#define CF_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "cert.h"
#include "error.h"
#include "identity.h"

#define SCHEMA_PREFIX_DEFAULT "/certfleet"
#define SCHEMA_PREFIX_MAX 128
#define SCHEMA_NAME_MAX 63
#define SCHEMA_NS_MAX 255
#define SCHEMA_VALUE_MAX (1u << 20) /* a value read back; etcd's is 1.5 MiB */

enum schema_kind {
	SCHEMA_UNKNOWN, /* under the prefix, of no shape known here */
	SCHEMA_AGENT,
	SCHEMA_GROUP,
	SCHEMA_NS_SPEC,
	SCHEMA_NS_DESIRED,
	SCHEMA_NS_MATERIAL,
	SCHEMA_NS_STATUS,
	SCHEMA_NS_COORDINATOR,
};

/* A prefix: '/' then segments of letters, digits, '.', '-', '_' joined
 * by '/', no "." or ".." segment, no '/' at the end; CF_E_USAGE. */
int schema_prefix_check(const char *prefix, struct cf_error *err);
/* A fleet name (agent or group), as fleet.h's checks; CF_E_USAGE. */
int schema_name_check(const char *name, struct cf_error *err);
/* A namespace: one DNS name, lower case, no wildcard; CF_E_USAGE. */
int schema_ns_check(const char *ns, struct cf_error *err);

/*
 * The key of kind (new): ns is used by the SCHEMA_NS_* kinds, name by
 * agents, groups, material and status.  NULL and CF_E_USAGE for a bad
 * prefix, name or namespace, or SCHEMA_UNKNOWN.
 */
char *schema_key(const char *prefix, enum schema_kind kind, const char *ns,
    const char *name, struct cf_error *err);
/* "<prefix>/<sub>" (new), e.g. sub "agents/" for the range of the
 * agents; the prefix is not checked here. */
char *schema_dir(const char *prefix, const char *sub);

/* What a key under the prefix is. */
struct schema_key {
	enum schema_kind kind;
	char ns[SCHEMA_NS_MAX + 1];     /* SCHEMA_NS_*; "" otherwise */
	char name[SCHEMA_NAME_MAX + 1]; /* agents, groups, material, status */
};
/*
 * Classifies key (len bytes, binary-safe) under prefix into *out.  A key
 * of a known shape whose names are bad, or a key outside the prefix, is
 * CF_E_PARSE naming the key; a key of no known shape is SCHEMA_UNKNOWN
 * (a later certfleet's), 0.
 */
int schema_key_parse(const char *prefix, const void *key, size_t len,
    struct schema_key *out, struct cf_error *err);

/* --- Values: builders return new JSON text (free), parsers take the
 * key (for the message) and the value's bytes. --- */

struct schema_agent {
	char *address;
	char fingerprint[CF_FP_LEN + 1];
};
char *schema_agent_value(const char *address, const char *fingerprint);
int schema_agent_parse(const char *key, const void *value, size_t len,
    struct schema_agent *out, struct cf_error *err);
void schema_agent_clear(struct schema_agent *a); /* NULL-safe fields */

/* A group's members, comma-separated ("ex1,ex2"). */
char *schema_group_value(const char *members);
/* *members new ("ex1,ex2"): at least one, each a fleet name. */
int schema_group_parse(const char *key, const void *value, size_t len,
    char **members, struct cf_error *err);

/* A namespace's spec; lists comma-separated as fleet.h keeps them. */
struct schema_spec {
	char *servers;  /* "ex1,@web" or "all" */
	char *services; /* "https,smtp" */
	char *via;      /* NULL: none */
	char *waves;    /* "1,100%" */
	long soak_s;
};
char *schema_spec_value(const struct schema_spec *s);
/* Shape only (the fleet checks the meaning when it takes the spec):
 * servers are fleet names, @GROUP or all; services and waves lists of
 * strings; soak a count of seconds 0 or more. */
int schema_spec_parse(const char *key, const void *value, size_t len,
    struct schema_spec *out, struct cf_error *err);
void schema_spec_clear(struct schema_spec *s);

/* A namespace's desired state. */
struct schema_desired {
	char thumbprint[CF_THUMB_LEN + 1]; /* "" none */
	char previous[CF_THUMB_LEN + 1];   /* "" none */
	json_t *rollout;                   /* NULL none; rollout_state.h */
};
/* thumbprint may be NULL (none: a first rollout aborted), rollout NULL
 * (never rolled out); "previous" is the rollout's. */
char *schema_desired_value(const char *thumbprint, const json_t *rollout);
/* A thumbprint, a rollout, or both; a rollout that cf_rstate_parse
 * takes. */
int schema_desired_parse(const char *key, const void *value, size_t len,
    struct schema_desired *out, struct cf_error *err);
void schema_desired_clear(struct schema_desired *d);

#endif
