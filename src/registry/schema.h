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
 *
 * Written by the agents (issue 13's agent side), each only under its own
 * name, so that one etcd role per agent, granted once at enrolment, can
 * say what it may write (docs/farm-guide.md, "Enrolling agents"):
 *
 *   agents/<a>/live           under a's lease: {"address": "H:P",
 *                              "started": UNIXTIME, "version": "x.y"}
 *   agents/<a>/identity       {"certificate": PEM}: a's identity
 *                              certificate, which the CLI checks against
 *                              the pinned fingerprint of agents/<a>
 *   agents/<a>/status/<ns>    a's state in namespace ns (schema_status)
 *   elect/<a>/<ns>            under a's lease: a stands as coordinator
 *                              of ns; the candidate whose key has the
 *                              lowest create revision coordinates
 *   progress/<a>/<ns>         the waves of ns as coordinator a moved
 *                              them (schema_progress)
 *   sealed/<a>/<ns>           written by the CLI: a's wave in the
 *                              rollout, and the namespace's certificate
 *                              and key sealed to a's identity
 *                              (schema_sealed)
 *   waves/<ns>                written by the CLI: the rollout's members
 *                              and their waves (schema_plan), read by
 *                              the coordinator and the CLI only
 *
 * The order of the directories is chosen: agents < elect < groups < ns <
 * progress < sealed < waves, so that one range [<prefix>/agents/,
 * <prefix>/sealed/) holds everything an agent may read except the sealed
 * material and the plans, and every agent's role grants read on that
 * range, on waves/ and on sealed/<a>/ alone.  A member watches only
 * [elect/, sealed/): nothing there grows with the fleet on every move
 * (bench/converge.sh): the desired state of an agents' rollout carries no
 * member list (each member finds its wave in its sealed key, the
 * coordinator reads waves/<ns>), and statuses live under agents/.
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

#include <jansson.h>

#include "cert.h"
#include "error.h"
#include "identity.h"
#include "util.h"

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
	SCHEMA_AGENT_LIVE,     /* agents/<a>/live: name */
	SCHEMA_AGENT_IDENTITY, /* agents/<a>/identity: name */
	SCHEMA_STATUS,         /* agents/<a>/status/<ns>: name, ns */
	SCHEMA_ELECT,          /* elect/<a>/<ns>: name, ns */
	SCHEMA_PROGRESS,       /* progress/<a>/<ns>: name, ns */
	SCHEMA_SEALED,         /* sealed/<a>/<ns>: name, ns */
	SCHEMA_PLAN,           /* waves/<ns>: ns */
};

/* Whether kind is written by the agents (live, identity, status, elect,
 * progress) rather than by the CLI: registry export leaves those out. */
int schema_kind_agent_written(enum schema_kind kind);

/* A prefix: '/' then segments of letters, digits, '.', '-', '_' joined
 * by '/', no "." or ".." segment, no '/' at the end; CF_E_USAGE. */
int schema_prefix_check(const char *prefix, struct cf_error *err);
/* A fleet name (agent or group), as fleet.h's checks; CF_E_USAGE. */
int schema_name_check(const char *name, struct cf_error *err);
/* A namespace: one DNS name, lower case, no wildcard; CF_E_USAGE. */
int schema_ns_check(const char *ns, struct cf_error *err);

/*
 * The key of kind (new): ns is used by the SCHEMA_NS_* kinds and by
 * status, elect, progress and sealed; name by every kind but the
 * SCHEMA_NS_* ones.  NULL and CF_E_USAGE for a bad
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
	char ns[SCHEMA_NS_MAX + 1];     /* where schema_key uses one; else "" */
	char name[SCHEMA_NAME_MAX + 1]; /* where schema_key uses one; else "" */
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
	json_t *issuer; /* issuer.h's object; NULL: none (lent to
			   schema_spec_value, owned after schema_spec_parse) */
};
char *schema_spec_value(const struct schema_spec *s);
/* Shape only (the fleet checks the meaning when it takes the spec):
 * servers are fleet names, @GROUP or all; services and waves lists of
 * strings; soak a count of seconds 0 or more; an issuer, when there,
 * whole (cf_issuer_check). */
int schema_spec_parse(const char *key, const void *value, size_t len,
    struct schema_spec *out, struct cf_error *err);
void schema_spec_clear(struct schema_spec *s);

/* A namespace's desired state. */
struct schema_desired {
	char thumbprint[CF_THUMB_LEN + 1]; /* "" none */
	char previous[CF_THUMB_LEN + 1];   /* "" none */
	json_t *rollout;                   /* NULL none; rollout_state.h */
	char id[33]; /* the rollout's id: 32 hex digits the CLI draws when
			it starts one and keeps through --resume and
			--abort; "" none (a file-registry rollout) */
	int agents;  /* 1: the agents drive it (etcd registry) */
};
/* thumbprint may be NULL (none: a first rollout aborted), rollout NULL
 * (never rolled out); "previous" is the rollout's. */
char *schema_desired_value(const char *thumbprint, const json_t *rollout);
struct cf_rstate;
/* The rollout JSON o into *r (cf_rstate_parse), where an agents'
 * rollout (agents) may have no members: they are in waves/<ns> and the
 * sealed keys, and *r then has none (n 0). */
int schema_rollout_parse(
    const json_t *o, int agents, struct cf_rstate *r, struct cf_error *why);
/* The same with the rollout's id and "agents": true (etcd registry). */
char *schema_desired_value_agents(
    const char *thumbprint, const json_t *rollout, const char *id);
/* A thumbprint, a rollout, or both; a rollout that cf_rstate_parse
 * takes. */
int schema_desired_parse(const char *key, const void *value, size_t len,
    struct schema_desired *out, struct cf_error *err);
void schema_desired_clear(struct schema_desired *d);

/* The range every agent watches and may read (see the top): [*from,
 * *to), both new. */
void schema_agent_range(const char *prefix, char **from, char **to);

/* --- What the agents write --- */

/* agents/<a>/live. */
struct schema_live {
	char *address; /* "HOST:PORT" the agent listens on */
	long long started;
	char *version;
};
char *schema_live_value(const struct schema_live *l);
int schema_live_parse(const char *key, const void *value, size_t len,
    struct schema_live *out, struct cf_error *err);
void schema_live_clear(struct schema_live *l);

/* agents/<a>/identity: the PEM of one certificate (at most 16 KiB);
 * *pem new. */
char *schema_identity_value(const char *pem);
int schema_identity_parse(const char *key, const void *value, size_t len,
    char **pem, struct cf_error *err);

/* What one of the namespace's services had, has or should have. */
struct schema_svc {
	char service[32];
	char thumb[CF_THUMB_LEN + 1]; /* "" none */
};

enum schema_status_state {
	SCHEMA_ST_CONVERGED, /* services serve the target, proven */
	SCHEMA_ST_WORKING,   /* moving now */
	SCHEMA_ST_FAILED,    /* a step failed: step, error */
};

/*
 * agents/<a>/status/<ns>: what a did last for the namespace.  desired_rev
 * is the mod revision of ns/<ns>/desired it acted on; rollout the
 * rollout's id ("" none); target the thumbprint it moved to, or "" when
 * it put back what its services had before; services what each of the
 * namespace's services has now; before what they had before rollout
 * `rollout` first touched them (what a revert puts back; nbefore 0 until
 * then).
 */
struct schema_status {
	long long desired_rev;
	char rollout[33];
	char target[CF_THUMB_LEN + 1];
	int to_before; /* target is "what they had before" */
	enum schema_status_state state;
	char *step, *error; /* NULL none */
	long long at;       /* unix time of the last change */
	struct schema_svc *services;
	size_t nservices;
	struct schema_svc *before;
	size_t nbefore;
};
char *schema_status_value(const struct schema_status *s);
int schema_status_parse(const char *key, const void *value, size_t len,
    struct schema_status *out, struct cf_error *err);
void schema_status_clear(struct schema_status *s);
const char *schema_status_state_name(enum schema_status_state s);

enum schema_phase {
	SCHEMA_PH_MOVING,    /* wave's members move to the certificate */
	SCHEMA_PH_SOAK,      /* the wave moved; waiting soak seconds */
	SCHEMA_PH_REVERTING, /* a member of the wave failed: the wave goes
				back */
	SCHEMA_PH_STOPPED,   /* reverted; `rollout --resume` goes on */
	SCHEMA_PH_DONE,      /* every wave moved */
};

/*
 * progress/<c>/<ns>: where coordinator c has the rollout.  desired_rev
 * as in the status; wave from 1; since the phase's start (unix time);
 * member, step and error: the failure that made it revert (NULL none);
 * pending: members that were not registered when their wave moved.
 */
struct schema_progress {
	long long desired_rev;
	char rollout[33];
	size_t wave;
	enum schema_phase phase;
	long long since;
	char *member, *step, *error;
	char **pending;
	size_t npending;
};
char *schema_progress_value(const struct schema_progress *p);
int schema_progress_parse(const char *key, const void *value, size_t len,
    struct schema_progress *out, struct cf_error *err);
void schema_progress_clear(struct schema_progress *p);
const char *schema_phase_name(enum schema_phase p);

/* sealed/<a>/<ns>: {"thumbprint": T, "rollout": ID, "wave": N,
 * "sealed": BASE64} where sealed is what export-sealed made for a alone
 * (transfer.h), absent for a member that holds the certificate already
 * (the source); wave is a's wave in the rollout (from 1).  The blob is
 * ciphertext; it is still wiped when cleared. */
struct schema_sealed {
	char thumbprint[CF_THUMB_LEN + 1];
	char rollout[33];
	size_t wave;
	struct cf_buf blob; /* len 0: none (the member holds it) */
};
char *schema_sealed_value(const struct schema_sealed *s);
int schema_sealed_parse(const char *key, const void *value, size_t len,
    struct schema_sealed *out, struct cf_error *err);
void schema_sealed_clear(struct schema_sealed *s);

/* waves/<ns>: {"rollout": ID, "members": [{"name": "ex1", "wave": 1},
 * ...]}: at most 100,000 members, each a fleet name once, waves from 1. */
struct schema_plan_member {
	char name[SCHEMA_NAME_MAX + 1];
	size_t wave;
};
struct schema_plan {
	char rollout[33];
	struct schema_plan_member *m;
	size_t n;
};
char *schema_plan_value(const struct schema_plan *p);
int schema_plan_parse(const char *key, const void *value, size_t len,
    struct schema_plan *out, struct cf_error *err);
void schema_plan_clear(struct schema_plan *p);

#endif
