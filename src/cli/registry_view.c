/*
 * registry_view.c - the namespaces of an etcd registry as the agents
 * have them: see registry_view.h.  The member states come from the same
 * reconciler the agents decide with (reconcile.h: rc_target_of,
 * rc_status_done), so that what status says a member must do is what
 * that member's agent does.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"
#include "registry_view.h"

int
rview_wanted(const struct fleet *f)
{
	return fleet_registry_get(f)->etcd;
}

int
rview_read(const struct fleet *f, struct rview *v, struct cf_error *err)
{
	const struct fleet_registry *r = fleet_registry_get(f);
	struct etcd *e = NULL;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	v->prefix = xstrdup(registry_prefix(r));
	if ((e = registry_etcd_open(r, err)) == NULL)
		goto out;
	/* the whole prefix: etcd.h reads by prefix only, and the sealed
	 * material that comes along is a few KiB a member */
	if (etcd_call_wait(e,
		etcd_req_range(
		    v->prefix, strlen(v->prefix), ETCD_RANGE_PREFIX, 0, 0),
		&v->reply, err) == -1) {
		registry_hint(err);
		goto out;
	}
	rc = 0;
out:
	etcd_free(e);
	if (rc == -1)
		rview_clear(v);
	return rc;
}

void
rview_clear(struct rview *v)
{
	free(v->prefix);
	etcd_reply_free(v->reply);
	memset(v, 0, sizeof(*v));
}

void
rview_ns_clear(struct rview_ns *n)
{
	size_t i;

	rc_desired_clear(&n->d);
	for (i = 0; i < n->nall; i++)
		schema_progress_clear(&n->all[i].p);
	free(n->all);
	cf_rstate_clear(&n->st);
	memset(n, 0, sizeof(*n));
}

const char *
rview_failing(const struct rview_ns *n)
{
	return n->cur != NULL ? n->cur->p.member : NULL;
}

const char *
rview_phase(const struct rview_ns *n)
{
	return n->cur != NULL ? schema_phase_name(n->cur->p.phase) : NULL;
}

/* The key of kv as text (new; keys never hold a NUL once parsed). */
static char *
key_text(const struct etcd_kv *kv)
{
	return xasprintf("%.*s", (int)kv->key_len, (const char *)kv->key);
}

/* The desired state, the progress records, the plan (*plan, whether
 * there is one: *has) and the coordinator of ns. */
static int
collect(const struct rview *v, const char *ns, struct rview_ns *out,
    struct schema_plan *plan, int *has, struct cf_error *err)
{
	const struct etcd_kv *kv;
	struct schema_desired sd;
	struct schema_key k;
	struct cf_error why;
	int64_t elect_rev = 0;
	char *key = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < v->reply->n_kvs && rc == 0; i++) {
		kv = &v->reply->kvs[i];
		if (schema_key_parse(
			v->prefix, kv->key, kv->key_len, &k, err) == -1 ||
		    strcmp(k.ns, ns) != 0)
			continue; /* not ns's, or not the agents' business */
		free(key);
		key = key_text(kv);
		if (k.kind == SCHEMA_NS_DESIRED) {
			if ((rc = schema_desired_parse(key, kv->value,
				 kv->value_len, &sd, err)) == 0) {
				rc = rc_desired_from(
				    key, &sd, kv->mod_revision, &out->d, err);
				schema_desired_clear(&sd);
			}
		} else if (k.kind == SCHEMA_PLAN && !*has) {
			if ((rc = schema_plan_parse(key, kv->value,
				 kv->value_len, plan, err)) == 0)
				*has = 1;
		} else if (k.kind == SCHEMA_PROGRESS) {
			out->all = xrealloc(
			    out->all, (out->nall + 1) * sizeof(*out->all));
			memset(&out->all[out->nall], 0, sizeof(*out->all));
			snprintf(out->all[out->nall].coordinator,
			    sizeof(out->all[out->nall].coordinator), "%s",
			    k.name);
			out->all[out->nall].mod_rev = kv->mod_revision;
			/* a record that does not parse counts for nothing:
			 * one agent must not blind status to the others */
			if (schema_progress_parse(key, kv->value, kv->value_len,
				&out->all[out->nall].p, &why) == 0)
				out->nall++;
		} else if (k.kind == SCHEMA_ELECT &&
			   (elect_rev == 0 ||
			       kv->create_revision < elect_rev)) {
			elect_rev = kv->create_revision;
			snprintf(out->coordinator, sizeof(out->coordinator),
			    "%s", k.name);
		}
	}
	free(key);
	return rc;
}

/* The value of agents/<name>/<leaf> in v (kind), lent, or NULL. */
static const struct etcd_kv *
agent_key(const struct rview *v, enum schema_kind kind, const char *ns,
    const char *name)
{
	struct cf_error err;
	char *key = schema_key(v->prefix, kind, ns, name, &err);
	const struct etcd_kv *kv = NULL;
	size_t i;

	for (i = 0; key != NULL && i < v->reply->n_kvs && kv == NULL; i++)
		if (v->reply->kvs[i].key_len == strlen(key) &&
		    memcmp(v->reply->kvs[i].key, key, strlen(key)) == 0)
			kv = &v->reply->kvs[i];
	free(key);
	return kv;
}

/* Whether name is among the progress's pending members. */
static int
is_pending(const struct rc_progress *p, const char *name)
{
	size_t i;

	for (i = 0; p != NULL && i < p->p.npending; i++)
		if (strcmp(p->p.pending[i], name) == 0)
			return 1;
	return 0;
}

static void
set_text(char **field, const char *text)
{
	free(*field);
	*field = text != NULL ? xstrdup(text) : NULL;
}

/* Member m's state from its status (st, NULL: none) and liveness. */
static void
member_merge(const struct rview_ns *n, struct cf_rstate_member *m,
    const struct schema_status *st, int live)
{
	enum rc_target t = rc_target_of(&n->d, n->cur, m->name);
	const struct rc_progress *p = n->cur;
	int mine = st != NULL && strcmp(st->rollout, n->d.id) == 0;

	set_text(&m->step, NULL);
	set_text(&m->error, NULL);
	m->at = m->seen = st != NULL ? st->at : 0;
	if (p != NULL && p->p.member != NULL &&
	    strcmp(p->p.member, m->name) == 0 &&
	    (p->p.phase == SCHEMA_PH_REVERTING ||
		p->p.phase == SCHEMA_PH_STOPPED)) {
		m->state = CF_RM_FAILED;
		set_text(&m->step, p->p.step);
		set_text(&m->error, p->p.error);
	} else if (mine && st->state == SCHEMA_ST_FAILED) {
		m->state = CF_RM_FAILED;
		set_text(&m->step, st->step);
		set_text(&m->error, st->error);
	} else if (t == RC_NEW && rc_status_done(&n->d, t, st))
		m->state = CF_RM_MOVED;
	else if (t == RC_BEFORE && rc_status_done(&n->d, t, st))
		m->state = CF_RM_REVERTED;
	else if (t != RC_HOLD && (!live || is_pending(p, m->name)))
		m->state = CF_RM_PENDING;
	else
		m->state = CF_RM_WAITING;
}

/* The rollout's own state from desired and the progress. */
static void
run_merge(struct rview_ns *n)
{
	const struct rc_progress *p = n->cur;

	if (n->st.state == CF_RS_ABORTED || p == NULL)
		return; /* as desired says: aborted, or running in its wave */
	n->st.wave = p->p.wave;
	n->st.state = p->p.phase == SCHEMA_PH_DONE      ? CF_RS_DONE
		      : p->p.phase == SCHEMA_PH_STOPPED ? CF_RS_STOPPED
							: CF_RS_RUNNING;
	n->st.updated = p->p.since;
	set_text(&n->st.step, p->p.step);
	set_text(&n->st.error, p->p.error);
}

int
rview_ns_get(const struct rview *v, const char *ns, struct rview_ns *out,
    struct cf_error *err)
{
	const struct etcd_kv *kv;
	struct schema_status st;
	struct cf_rstate_member *m;
	struct cf_error why;
	json_t *j = NULL;
	struct schema_plan plan;
	char *key = NULL;
	size_t i;
	int rc = -1, has, has_plan = 0;

	memset(out, 0, sizeof(*out));
	memset(&plan, 0, sizeof(plan));
	if (collect(v, ns, out, &plan, &has_plan, err) == -1)
		goto out;
	out->agents = out->d.rev > 0 && out->d.agents;
	if (!out->agents || out->d.r.state == CF_RS_NONE) {
		rc = 0;
		goto out;
	}
	/* desired has no members (but one written before plans): the
	 * plan names them */
	if (!has_plan && out->d.r.n == 0) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: the agents' rollout has no plan (waves/%s): start a "
		    "new rollout",
		    ns, ns);
		goto out;
	}
	if (has_plan && out->d.r.n == 0 &&
	    rc_desired_set_plan(&out->d, &plan, err) == -1)
		goto out;
	out->cur = rc_progress_current(&out->d, out->all, out->nall);
	/* a copy of desired's rollout to merge into */
	j = cf_rstate_json(&out->d.r);
	if (cf_rstate_parse(j, &out->st, err) == -1)
		goto out;
	run_merge(out);
	for (i = 0; i < out->st.n; i++) {
		m = &out->st.m[i];
		has = 0;
		cf_error_clear(&why);
		if ((kv = agent_key(v, SCHEMA_STATUS, ns, m->name)) != NULL) {
			free(key);
			key = key_text(kv);
			has = schema_status_parse(key, kv->value, kv->value_len,
				  &st, &why) == 0;
		}
		member_merge(out, m, has ? &st : NULL,
		    agent_key(v, SCHEMA_AGENT_LIVE, NULL, m->name) != NULL);
		if (has)
			schema_status_clear(&st);
		else if (kv != NULL) /* said on the member's row */
			set_text(&m->error, why.msg);
	}
	rc = 0;
out:
	schema_plan_clear(&plan);
	json_decref(j);
	free(key);
	if (rc == -1)
		rview_ns_clear(out);
	return rc;
}

/*
 * The view of the fleet f, read at the first call and kept for the rest
 * of the command (a listing asks once per namespace); NULL when it
 * cannot be read (the caller falls back to what desired says).
 */
static const struct rview *
view_cached(const struct fleet *f)
{
	static struct rview v;
	static int state; /* 0 unread, 1 read, -1 failed */
	struct cf_error err;

	if (state == 0)
		state = rview_read(f, &v, &err) == 0 ? 1 : -1;
	return state == 1 ? &v : NULL;
}

const char *
rview_run_name(const struct fleet *f, const char *ns)
{
	const struct rview *v;
	struct rview_ns n;
	struct cf_error err;
	const char *name = NULL;

	if (!rview_wanted(f) || (v = view_cached(f)) == NULL ||
	    rview_ns_get(v, ns, &n, &err) == -1)
		return NULL;
	if (n.agents && n.st.state != CF_RS_NONE)
		name = cf_rstate_run_name(n.st.state);
	rview_ns_clear(&n);
	return name;
}
