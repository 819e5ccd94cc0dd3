/*
 * rollout_state.h - where a namespace's staged rollout stands, as the
 * file registry keeps it in the namespace's object of the fleet file, so
 * that a rollout stopped by a failure, an unreachable member or a killed
 * CLI can be resumed or aborted.  The rules of which state may follow
 * which live here, apart from the commands that move members, so that
 * they are written (and tested) once.  JSON, the file's form:
 *   {"state": "running|stopped|done|aborted", "certificate": THUMB,
 *    "previous": THUMB or null, "from": "ex1", "waves": ["1", "100%"],
 *    "soak": 0, "wave": 1, "nwaves": 2, "step": "via" (or absent),
 *    "error": "..." (or absent), "started": UNIXTIME, "updated": UNIXTIME,
 *    "members": [{"name": "ex1", "wave": 1,
 *                 "state": "waiting|moved|pending|failed|reverted",
 *                 "step": "deploy", "error": "...", "at": UNIXTIME,
 *                 "seen": UNIXTIME, "previous": {"https": THUMB or null}},
 *                …]}
 * "previous" of a member is what each of the namespace's services had
 * there before the rollout touched it (absent until it answered once);
 * "previous" of the rollout is the one most members had, what the
 * namespace's desired certificate goes back to on --abort.
 */
#ifndef CF_ROLLOUT_STATE_H
#define CF_ROLLOUT_STATE_H

#include <stddef.h>

#include <jansson.h>

#include "cert.h"
#include "error.h"
#include "util.h"

enum cf_rstate_run {
	CF_RS_NONE,    /* never rolled out */
	CF_RS_RUNNING, /* a CLI moves it, or one was killed doing so */
	CF_RS_STOPPED, /* a failure or an unreachable member stopped it */
	CF_RS_DONE,
	CF_RS_ABORTED,
};

enum cf_rstate_mstate {
	CF_RM_WAITING,  /* its wave has not reached it */
	CF_RM_MOVED,    /* serves the certificate, checked */
	CF_RM_PENDING,  /* did not answer; --resume moves it */
	CF_RM_FAILED,   /* a step failed (step, error); its wave reverted */
	CF_RM_REVERTED, /* moved, then put back on its previous certificate */
};

#define CF_RSTATE_SERVICE_MAX 32

/* What one of the namespace's services had on a member before. */
struct cf_rstate_prev {
	char service[CF_RSTATE_SERVICE_MAX];
	char thumb[CF_THUMB_LEN + 1]; /* "" none */
};

struct cf_rstate_member {
	char *name;
	size_t wave; /* from 1 */
	enum cf_rstate_mstate state;
	char *step, *error; /* of the last change; NULL none */
	long long at;       /* the last change, unix time */
	long long seen;     /* when it last answered; 0 never */
	int has_prev;
	struct cf_rstate_prev *prev;
	size_t nprev;
};

struct cf_rstate {
	enum cf_rstate_run state;
	char certificate[CF_THUMB_LEN + 1];
	char previous[CF_THUMB_LEN + 1]; /* "" none */
	char *from;                      /* the source agent */
	char *waves;                     /* "1,100%" */
	long soak_s;
	size_t wave, nwaves; /* the wave under way (1..nwaves) */
	char *step, *error;  /* a failure of the wave as a whole (via) */
	long long started, updated;
	struct cf_rstate_member *m;
	size_t n;
};

/* Frees what st holds and zeroes it (state CF_RS_NONE). */
void cf_rstate_clear(struct cf_rstate *st);
/* Frees st's members and leaves it with none (the rest kept): an
 * agents' rollout, whose members live apart (reconcile.h). */
void cf_rstate_members_clear(struct cf_rstate *st);

/* "running", ...; "waiting", ... (static). */
const char *cf_rstate_run_name(enum cf_rstate_run s);
const char *cf_rstate_member_name(enum cf_rstate_mstate s);

/* st in the file's form (new). */
json_t *cf_rstate_json(const struct cf_rstate *st);
/* The file's form o into *st (new: cf_rstate_clear); CF_E_PARSE naming
 * what is wrong, and *st cleared. */
int cf_rstate_parse(
    const json_t *o, struct cf_rstate *st, struct cf_error *err);

/*
 * Whether a command may act on the namespace ns's rollout st:
 * a new rollout (not while one is running or stopped: CF_E_CONFLICT
 * saying to --resume or --abort it), --resume (one running or stopped)
 * and --abort (one running, stopped or done).  CF_E_CONFLICT otherwise.
 */
int cf_rstate_check_start(
    const struct cf_rstate *st, const char *ns, struct cf_error *err);
int cf_rstate_check_resume(
    const struct cf_rstate *st, const char *ns, struct cf_error *err);
int cf_rstate_check_abort(
    const struct cf_rstate *st, const char *ns, struct cf_error *err);

/* Adds member name to wave; lent back. */
struct cf_rstate_member *cf_rstate_add(
    struct cf_rstate *st, const char *name, size_t wave);
/* The member named name, lent; NULL when the rollout has none. */
struct cf_rstate_member *cf_rstate_find(
    const struct cf_rstate *st, const char *name);

/*
 * Moves m to state to at time now, with the step and error of the change
 * (either may be NULL).  CF_E_INTERNAL when to may not follow m's state:
 * a member becomes moved or failed from any state; pending from any but
 * moved (a moved member answered: a failure of its checks is failed);
 * reverted only from moved, failed or reverted (what was touched); none
 * goes back to waiting.
 */
int cf_rstate_member_set(struct cf_rstate_member *m, enum cf_rstate_mstate to,
    const char *step, const char *error, long long now, struct cf_error *err);

/* Records what service had (thumb "" or NULL: none) before the rollout;
 * sets has_prev. */
void cf_rstate_prev_set(
    struct cf_rstate_member *m, const char *service, const char *thumb);
/* What service had before, lent: a thumbprint, "" for none, or NULL
 * when not known. */
const char *cf_rstate_prev_get(
    const struct cf_rstate_member *m, const char *service);

/* Whether a run of its wave moves m (every state but moved). */
int cf_rstate_member_todo(const struct cf_rstate_member *m);
/* Whether a revert puts m back: moved, or failed once it answered. */
int cf_rstate_member_reverts(const struct cf_rstate_member *m);

enum cf_rstate_wave {
	CF_RW_DONE,    /* every member moved */
	CF_RW_PENDING, /* none failed, some did not answer */
	CF_RW_FAILED,  /* one failed, or the wave as a whole (st->error) */
};
/* Where wave stands from its members' states. */
enum cf_rstate_wave cf_rstate_wave_outcome(
    const struct cf_rstate *st, size_t wave);

#endif
