/*
 * rollout_state.c - a staged rollout's state, its JSON and the rules of
 * its changes: see rollout_state.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout_state.h"

#define MAX_MEMBERS 100000 /* of one rollout, from a file */

static const char *const run_names[] = {
    [CF_RS_NONE] = "none",
    [CF_RS_RUNNING] = "running",
    [CF_RS_STOPPED] = "stopped",
    [CF_RS_DONE] = "done",
    [CF_RS_ABORTED] = "aborted",
};
static const char *const member_names[] = {
    [CF_RM_WAITING] = "waiting",
    [CF_RM_MOVED] = "moved",
    [CF_RM_PENDING] = "pending",
    [CF_RM_FAILED] = "failed",
    [CF_RM_REVERTED] = "reverted",
};
#define NRUN (sizeof(run_names) / sizeof(run_names[0]))
#define NMEMBER (sizeof(member_names) / sizeof(member_names[0]))

const char *
cf_rstate_run_name(enum cf_rstate_run s)
{
	return (size_t)s < NRUN ? run_names[s] : "none";
}

const char *
cf_rstate_member_name(enum cf_rstate_mstate s)
{
	return (size_t)s < NMEMBER ? member_names[s] : "waiting";
}

static void
member_clear(struct cf_rstate_member *m)
{
	free(m->name);
	free(m->step);
	free(m->error);
	free(m->prev);
	memset(m, 0, sizeof(*m));
}

void
cf_rstate_clear(struct cf_rstate *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		member_clear(&st->m[i]);
	free(st->m);
	free(st->from);
	free(st->waves);
	free(st->step);
	free(st->error);
	memset(st, 0, sizeof(*st));
}

void
cf_rstate_members_clear(struct cf_rstate *st)
{
	struct cf_rstate gone;

	memset(&gone, 0, sizeof(gone));
	gone.m = st->m;
	gone.n = st->n;
	cf_rstate_clear(&gone);
	st->m = NULL;
	st->n = 0;
}

struct cf_rstate_member *
cf_rstate_add(struct cf_rstate *st, const char *name, size_t wave)
{
	struct cf_rstate_member *m;

	st->m = xrealloc(st->m, (st->n + 1) * sizeof(*st->m));
	m = &st->m[st->n++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->wave = wave;
	return m;
}

struct cf_rstate_member *
cf_rstate_find(const struct cf_rstate *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->m[i].name, name) == 0)
			return &st->m[i];
	return NULL;
}

/* Replaces *field by a copy of text (NULL: none). */
static void
set_text(char **field, const char *text)
{
	char *copy = text != NULL ? xstrdup(text) : NULL;

	free(*field);
	*field = copy;
}

/*
 * The rules: none goes back to waiting; a moved member answered, so a
 * later failure of its checks is failed, not pending; reverted follows
 * only what touched the member (moved, failed).
 */
static int
allowed(enum cf_rstate_mstate from, enum cf_rstate_mstate to)
{
	switch (to) {
	case CF_RM_WAITING:
		return 0;
	case CF_RM_MOVED:
	case CF_RM_FAILED:
		return 1;
	case CF_RM_PENDING:
		return from != CF_RM_MOVED;
	case CF_RM_REVERTED:
		return from == CF_RM_MOVED || from == CF_RM_FAILED ||
		       from == CF_RM_REVERTED;
	}
	return 0;
}

int
cf_rstate_member_set(struct cf_rstate_member *m, enum cf_rstate_mstate to,
    const char *step, const char *error, long long now, struct cf_error *err)
{
	if (!allowed(m->state, to))
		return cf_errorf(err, CF_E_INTERNAL,
		    "%s: a rollout member does not go from %s to %s", m->name,
		    cf_rstate_member_name(m->state), cf_rstate_member_name(to));
	m->state = to;
	set_text(&m->step, step);
	set_text(&m->error, error);
	m->at = now;
	return 0;
}

void
cf_rstate_prev_set(
    struct cf_rstate_member *m, const char *service, const char *thumb)
{
	struct cf_rstate_prev *p = NULL;
	size_t i;

	for (i = 0; i < m->nprev && p == NULL; i++)
		if (strcmp(m->prev[i].service, service) == 0)
			p = &m->prev[i];
	if (p == NULL) {
		m->prev = xrealloc(m->prev, (m->nprev + 1) * sizeof(*m->prev));
		p = &m->prev[m->nprev++];
		snprintf(p->service, sizeof(p->service), "%s", service);
	}
	snprintf(p->thumb, sizeof(p->thumb), "%s", thumb ? thumb : "");
	m->has_prev = 1;
}

const char *
cf_rstate_prev_get(const struct cf_rstate_member *m, const char *service)
{
	size_t i;

	for (i = 0; i < m->nprev; i++)
		if (strcmp(m->prev[i].service, service) == 0)
			return m->prev[i].thumb;
	return NULL;
}

int
cf_rstate_member_todo(const struct cf_rstate_member *m)
{
	return m->state != CF_RM_MOVED;
}

int
cf_rstate_member_reverts(const struct cf_rstate_member *m)
{
	return m->has_prev &&
	       (m->state == CF_RM_MOVED || m->state == CF_RM_FAILED);
}

enum cf_rstate_wave
cf_rstate_wave_outcome(const struct cf_rstate *st, size_t wave)
{
	size_t i, waiting = 0;

	if (st->error != NULL)
		return CF_RW_FAILED;
	for (i = 0; i < st->n; i++) {
		if (st->m[i].wave != wave)
			continue;
		if (st->m[i].state == CF_RM_FAILED)
			return CF_RW_FAILED;
		waiting += st->m[i].state != CF_RM_MOVED;
	}
	return waiting > 0 ? CF_RW_PENDING : CF_RW_DONE;
}

/* ---- the checks of a command ----------------------------------------- */

int
cf_rstate_check_start(
    const struct cf_rstate *st, const char *ns, struct cf_error *err)
{
	if (st->state != CF_RS_RUNNING && st->state != CF_RS_STOPPED)
		return 0;
	return cf_errorf(err, CF_E_CONFLICT,
	    "%s: a rollout of %.8s is %s in wave %zu of %zu; finish it with "
	    "`certfleet rollout %s --resume` or undo it with `--abort` first",
	    ns, st->certificate, cf_rstate_run_name(st->state), st->wave,
	    st->nwaves, ns);
}

int
cf_rstate_check_resume(
    const struct cf_rstate *st, const char *ns, struct cf_error *err)
{
	if (st->state == CF_RS_RUNNING || st->state == CF_RS_STOPPED)
		return 0;
	if (st->state == CF_RS_NONE)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: no rollout to resume (`certfleet rollout %s "
		    "--certificate THUMBPRINT` starts one)",
		    ns, ns);
	return cf_errorf(err, CF_E_CONFLICT,
	    "%s: the rollout of %.8s is %s: nothing to resume", ns,
	    st->certificate, cf_rstate_run_name(st->state));
}

int
cf_rstate_check_abort(
    const struct cf_rstate *st, const char *ns, struct cf_error *err)
{
	if (st->state == CF_RS_RUNNING || st->state == CF_RS_STOPPED ||
	    st->state == CF_RS_DONE)
		return 0;
	if (st->state == CF_RS_NONE)
		return cf_errorf(
		    err, CF_E_CONFLICT, "%s: no rollout to abort", ns);
	return cf_errorf(err, CF_E_CONFLICT,
	    "%s: the rollout of %.8s is aborted already", ns, st->certificate);
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *
text_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
member_json(const struct cf_rstate_member *m)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o, s:I, s:I}", "name",
	    m->name, "wave", (json_int_t)m->wave, "state",
	    cf_rstate_member_name(m->state), "step", text_json(m->step),
	    "error", text_json(m->error), "at", (json_int_t)m->at, "seen",
	    (json_int_t)m->seen);
	json_t *prev;
	size_t i;

	if (!m->has_prev)
		return o;
	prev = json_object();
	for (i = 0; i < m->nprev; i++)
		json_object_set_new(prev, m->prev[i].service,
		    text_json(m->prev[i].thumb[0] ? m->prev[i].thumb : NULL));
	json_object_set_new(o, "previous", prev);
	return o;
}

json_t *
cf_rstate_json(const struct cf_rstate *st)
{
	json_t *members = json_array(), *waves = json_array();
	const char *p;
	size_t i, len;

	for (i = 0; i < st->n; i++)
		json_array_append_new(members, member_json(&st->m[i]));
	for (p = st->waves; p != NULL && *p != '\0';
	     p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		json_array_append_new(waves, json_stringn(p, len));
	}
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:o, s:o, "
			 "s:I, s:I, s:o}",
	    "state", cf_rstate_run_name(st->state), "certificate",
	    st->certificate, "previous",
	    text_json(st->previous[0] ? st->previous : NULL), "from",
	    st->from ? st->from : "", "waves", waves, "soak",
	    (json_int_t)st->soak_s, "wave", (json_int_t)st->wave, "nwaves",
	    (json_int_t)st->nwaves, "step", text_json(st->step), "error",
	    text_json(st->error), "started", (json_int_t)st->started, "updated",
	    (json_int_t)st->updated, "members", members);
}

/* Whether s is a full thumbprint: 40 upper-case hex digits. */
static int
is_thumb(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < CF_THUMB_LEN; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    islower((unsigned char)s[i]))
			return 0;
	return s != NULL && s[CF_THUMB_LEN] == '\0';
}

/* The name among names[0..n) that text is, as its index; -1 none. */
static int
name_index(const char *text, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; text != NULL && i < n; i++)
		if (strcmp(text, names[i]) == 0)
			return (int)i;
	return -1;
}

/* A string or null field of o into *out (new or NULL); -1 for another
 * type. */
static int
opt_text(const json_t *o, const char *key, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An integer field (missing: 0) into *out; -1 for another type or a
 * negative one. */
static int
opt_int(const json_t *o, const char *key, long long *out)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (long long)json_integer_value(v);
	return 0;
}

static int
prev_parse(const json_t *o, struct cf_rstate_member *m)
{
	const char *service;
	const json_t *v;

	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return -1;
	m->has_prev = 1;
	json_object_foreach((json_t *)o, service, v) {
		if (strlen(service) >= CF_RSTATE_SERVICE_MAX ||
		    (!json_is_null(v) && !is_thumb(json_string_value(v))))
			return -1;
		cf_rstate_prev_set(m, service, json_string_value(v));
	}
	return 0;
}

/* Member i of o's "members" into st; -1 when it is not whole. */
static int
member_parse(const json_t *o, struct cf_rstate *st, size_t nwaves)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	int state = name_index(json_string_value(json_object_get(o, "state")),
	    member_names, NMEMBER);
	struct cf_rstate_member *m;
	long long wave;

	if (name == NULL || name[0] == '\0' || state < 0 ||
	    cf_rstate_find(st, name) != NULL ||
	    opt_int(o, "wave", &wave) == -1 || wave < 1 ||
	    (size_t)wave > nwaves)
		return -1;
	m = cf_rstate_add(st, name, (size_t)wave);
	m->state = (enum cf_rstate_mstate)state;
	if (opt_text(o, "step", &m->step) == -1 ||
	    opt_text(o, "error", &m->error) == -1 ||
	    opt_int(o, "at", &m->at) == -1 ||
	    opt_int(o, "seen", &m->seen) == -1 ||
	    prev_parse(json_object_get(o, "previous"), m) == -1)
		return -1;
	return 0;
}

/* The fields of o but the members into st; -1 when one is wrong. */
static int
head_parse(const json_t *o, struct cf_rstate *st)
{
	const char *cert = json_string_value(json_object_get(o, "certificate"));
	const json_t *prev = json_object_get(o, "previous");
	const json_t *waves = json_object_get(o, "waves"), *v;
	int state = name_index(
	    json_string_value(json_object_get(o, "state")), run_names, NRUN);
	long long n;
	size_t i;

	if (state <= CF_RS_NONE || !is_thumb(cert) ||
	    (prev != NULL && !json_is_null(prev) &&
		!is_thumb(json_string_value(prev))) ||
	    !json_is_array(waves) || json_array_size(waves) == 0)
		return -1;
	st->state = (enum cf_rstate_run)state;
	memcpy(st->certificate, cert, CF_THUMB_LEN + 1);
	if (json_is_string(prev))
		memcpy(st->previous, json_string_value(prev), CF_THUMB_LEN + 1);
	json_array_foreach(waves, i, v) {
		char *joined;
		if (!json_is_string(v) || strchr(json_string_value(v), ','))
			return -1;
		joined = st->waves == NULL ? xstrdup(json_string_value(v))
					   : xasprintf("%s,%s", st->waves,
						 json_string_value(v));
		free(st->waves);
		st->waves = joined;
	}
	if (opt_text(o, "from", &st->from) == -1 || st->from == NULL ||
	    opt_text(o, "step", &st->step) == -1 ||
	    opt_text(o, "error", &st->error) == -1 ||
	    opt_int(o, "started", &st->started) == -1 ||
	    opt_int(o, "updated", &st->updated) == -1 ||
	    opt_int(o, "soak", &n) == -1)
		return -1;
	st->soak_s = (long)n;
	if (opt_int(o, "nwaves", &n) == -1 || n < 1 || n > 1000)
		return -1;
	st->nwaves = (size_t)n;
	if (opt_int(o, "wave", &n) == -1 || n < 1 || (size_t)n > st->nwaves)
		return -1;
	st->wave = (size_t)n;
	return 0;
}

int
cf_rstate_parse(const json_t *o, struct cf_rstate *st, struct cf_error *err)
{
	const json_t *members = json_object_get(o, "members"), *v;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(o) || head_parse(o, st) == -1) {
		cf_rstate_clear(st);
		return cf_errorf(err, CF_E_PARSE,
		    "rollout: needs state, certificate, from, waves, wave and "
		    "nwaves, each of its type");
	}
	if (!json_is_array(members) || json_array_size(members) == 0 ||
	    json_array_size(members) > MAX_MEMBERS) {
		cf_rstate_clear(st);
		return cf_errorf(err, CF_E_PARSE,
		    "rollout: members: an array of 1 to %d", MAX_MEMBERS);
	}
	json_array_foreach(members, i, v) {
		if (member_parse(v, st, st->nwaves) == -1) {
			cf_rstate_clear(st);
			return cf_errorf(err, CF_E_PARSE,
			    "rollout: members[%zu]: needs a name of its own, a "
			    "wave and a state, each of its type",
			    i);
		}
	}
	return 0;
}
