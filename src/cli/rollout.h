/*
 * rollout.h - what the parts of a real rollout share: cmd_rollout.c
 * parses the options, finds the namespace and the source and prints a
 * dry run's plan; rollout_run.c moves the members wave by wave, reverts
 * a failed wave and aborts; rollout_check.c proves by handshakes what
 * the members and the balancer serve (status uses it too).  The state
 * is the namespace's in the fleet file (rollout_state.h), saved after
 * every change, so a killed CLI can be resumed.
 */
#ifndef CF_CLI_ROLLOUT_H
#define CF_CLI_ROLLOUT_H

#include <stddef.h>

#include <jansson.h>

#include "backend.h"
#include "fleet.h"
#include "probe_pool.h"
#include "rollout_plan.h"
#include "rollout_state.h"
#include "test.h"

/* How many handshakes through the balancer prove a wave. */
#define ROLLOUT_VIA_SAMPLES 20

/* A rollout under way. */
struct rollout {
	char *path;                /* the fleet file */
	const struct fleet_ns *ns; /* lent: the namespace, with the overrides */
	struct cf_rstate st;       /* saved after every change */
	struct backend *src;       /* the source agent, lent */
	const struct cf_view *v;   /* the certificate there, lent */
	const char *ca_file;       /* the roots of the checks; NULL: system */
	int timeout_s;             /* of each handshake */
	json_t *users;             /* what users got at the end, or NULL */
};

/* rollout_run.c */
/*
 * A new rollout of ro->v over the n members t (in waves w[0..nw)):
 * st made, saved as running, then every wave moved.  The exit status: 0
 * when every member moved, 1 when a failure stopped it (its wave
 * reverted) or a member did not answer (pending).
 */
int rollout_start(struct rollout *ro, const struct client_target *t, size_t n,
    const struct cf_wave *w, size_t nw);
/* Continues ro->st (loaded) from its wave; as rollout_start. */
int rollout_resume(struct rollout *ro);
/* Puts every member that moved back on what it had; the exit status. */
int rollout_abort(struct rollout *ro);
/* Writes ro->st (and the namespace's desired certificate) into the
 * fleet file, read again so that other changes to it are kept. */
int rollout_save(struct rollout *ro, struct cf_error *err);
/* The members of st as the JSON of rollout and status (new). */
json_t *rollout_members_json(const struct cf_rstate *st);

/* What rollout_run.c and rollout_revert.c share. */
long long rollout_now(void);
/* Prints a line of progress on stdout (not with --json). */
void rollout_progress(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Moves member name to state to (its step and error, either NULL) and
 * saves; -1 with err when the change or the save failed. */
int rollout_mark(struct rollout *ro, const char *name, enum cf_rstate_mstate to,
    const char *step, const char *error, struct cf_error *err);
/* The members of wave (0: every wave) that pick says, comma-separated
 * (new), or NULL when none; rollout_is_any picks all. */
char *rollout_members_of(const struct cf_rstate *st, size_t wave,
    int (*pick)(const struct cf_rstate_member *));
int rollout_is_any(const struct cf_rstate_member *m);

/* rollout_revert.c */
/*
 * Puts back the members of wave (0: all) that moved or failed: moved
 * ones become reverted (step what: "revert" or "abort"); a failed one
 * keeps its failure, or with abort becomes reverted.  One whose revert
 * fails becomes failed at "revert".  How many could not be put back;
 * err set when the state could not be saved.
 */
size_t rollout_revert(
    struct rollout *ro, size_t wave, const char *what, struct cf_error *err);
/* On stderr: the current wave's failure (who, which step, why); its
 * pending members; what users get now through the balancer (ro->users
 * set to it). */
void rollout_report_failure(const struct rollout *ro, size_t unreverted);
void rollout_report_pending(const struct rollout *ro);
void rollout_report_users(struct rollout *ro);

/* rollout_check.c */
/* The namespace's services probed on the members of a backend. */
struct rollout_probe {
	struct test_opts o;
	struct cf_probe_ctx *ctx;
	struct backend_reply *r; /* services, per target */
	size_t nr;
	struct test_endpoint *eps;
	struct probe_job *jobs;
	size_t n;
};
/*
 * Asks every target of b for its services and probes, from here, each
 * of the namespace's services that has a check endpoint (SNI the
 * namespace), as `test NAMESPACE` does.  -1 with err only when no probe
 * could be made (the roots); a target that does not answer has its
 * error in p->r.
 */
int rollout_probe_run(struct rollout_probe *p, struct backend *b,
    const struct fleet_ns *ns, const char *ca_file, int timeout_s,
    struct cf_error *err);
/* Target i's service svc: its view (NULL when it did not answer or has
 * none) and its probe (NULL when it has no check endpoint). */
const struct cf_service_view *rollout_probe_service(
    const struct rollout_probe *p, size_t i, const char *svc);
const struct probe_job *rollout_probe_job(const struct rollout_probe *p,
    size_t i, const char *svc, const char **where);
void rollout_probe_free(struct rollout_probe *p); /* zeroes it */

/*
 * Whether target i's service svc serves thumb, proved by its handshake
 * (valid for the namespace when valid is set) or, without a check
 * endpoint, by its assignment and files.  0, or -1 with why (what it
 * serves instead, or the handshake's failure).
 */
int rollout_probe_serves(const struct rollout_probe *p, size_t i,
    const char *svc, const char *thumb, int valid, struct cf_error *why);

/*
 * ROLLOUT_VIA_SAMPLES handshakes through the namespace's balancer: 0
 * when each one succeeded and showed the new certificate (valid) or one
 * the members had before; -1 with why otherwise.  *users (new; may be
 * NULL) gets what was served: [{"Thumbprint", "Count", "Is": "new",
 * "old" or "other"}], failed handshakes as {"Error", "Count"}.
 */
int rollout_via_sample(
    const struct rollout *ro, json_t **users, struct cf_error *why);
/* users as text: "A1B2C3D4 (new) 12/20, 5E6F7A8B (old) 8/20" (new). */
char *rollout_users_text(const json_t *users);

#endif
