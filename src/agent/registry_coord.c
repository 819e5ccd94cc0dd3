/*
 * registry_coord.c - the registry thread's decisions (registry.h), made
 * again after every change the watch brings, every write of its own and
 * every timer: for each namespace whose spec names this agent (by name,
 * as @group or all) it stands as candidate (elect/<me>/<ns> under the
 * lease), converges its own services on what reconcile.h's
 * rc_target_wave says (its wave from its sealed key, registry_plan.c;
 * registry_member.c), and, when its candidacy is the
 * oldest, coordinates: rc_coord_step's progress written in a txn fenced
 * on its candidacy and on the desired state it read.  Candidacies of
 * namespaces that no longer name it are withdrawn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry_int.h"
#include "util.h"

struct reg_ns *
reg_ns_get(struct registry *r, const char *ns)
{
	size_t i;

	struct reg_ns *n;

	for (i = 0; i < r->nns; i++)
		if (strcmp(r->ns[i]->name, ns) == 0)
			return r->ns[i];
	n = xcalloc(1, sizeof(*n));
	n->r = r;
	snprintf(n->name, sizeof(n->name), "%s", ns);
	r->ns = xrealloc(r->ns, (r->nns + 1) * sizeof(*r->ns));
	r->ns[r->nns++] = n;
	return n;
}

/* The progress write of n, done with. */
static void
coord_clear(struct reg_ns *n)
{
	free(n->coord_line);
	free(n->coord_key);
	free(n->coord_value);
	n->coord_line = n->coord_key = n->coord_value = NULL;
	n->coord_busy = 0;
}

void
reg_ns_free_all(struct registry *r)
{
	while (r->nns > 0) {
		coord_clear(r->ns[--r->nns]);
		reg_ns_cache_clear(r->ns[r->nns]);
		free(r->ns[r->nns]);
	}
	free(r->ns);
	r->ns = NULL;
}

/* The cached value of kind's key for ns and name, lent; NULL absent. */
static const struct reg_kv *
get_key(const struct registry *r, enum schema_kind kind, const char *ns,
    const char *name)
{
	const struct reg_kv *kv;
	char *key = schema_key(r->prefix, kind, ns, name, NULL);

	kv = key != NULL ? reg_get(r, key) : NULL;
	free(key);
	return kv;
}

/* Whether list (comma-separated fleet names) holds name. */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* Whether the spec's servers (names, @group, all) name this agent. */
static int
is_member(const struct registry *r, const char *servers)
{
	char *copy = xstrdup(servers), *tok, *save = NULL, *members;
	const struct reg_kv *kv;
	struct cf_error e;
	int in = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL && !in;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0 || strcmp(tok, r->me) == 0) {
			in = 1;
		} else if (tok[0] == '@' &&
			   (kv = get_key(r, SCHEMA_GROUP, NULL, tok + 1)) !=
			       NULL &&
			   schema_group_parse(kv->key, kv->value, kv->len,
			       &members, &e) == 0) {
			in = list_has(members, r->me);
			free(members);
		}
	}
	free(copy);
	return in;
}

/* --- Candidacy --- */

static void
elect_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct reg_ns *n = arg;
	struct registry *r = n->r;
	char *key;

	n->elect_busy = 0;
	if (err != NULL) {
		reg_failed(r, "put candidacy", err);
	} else if (reply->succeeded) {
		key = schema_key(r->prefix, SCHEMA_ELECT, n->name, r->me, NULL);
		reg_cache_put(r, key, "", 0, reply->revision, reply->revision);
		reg_log(r, "%s: stands as coordinator (revision %lld)", n->name,
		    (long long)reply->revision);
		free(key);
		reg_poke(r);
	}
}

/* elect/<me>/<ns> under the lease, created when absent. */
static void
stand(struct registry *r, const char *ns)
{
	struct reg_ns *n = reg_ns_get(r, ns);
	struct etcd_req *txn;
	char *key;

	if (n->elect_busy || get_key(r, SCHEMA_ELECT, ns, r->me) != NULL ||
	    r->lease == 0)
		return;
	key = schema_key(r->prefix, SCHEMA_ELECT, ns, r->me, NULL);
	txn = etcd_req_txn();
	etcd_txn_compare(
	    txn, key, strlen(key), ETCD_CREATE, ETCD_EQUAL, 0, NULL, 0);
	etcd_txn_op(txn, 1, etcd_req_put(key, strlen(key), "", 0, r->lease, 0));
	n->elect_busy = 1;
	etcd_call(r->etcd, txn, elect_done, n, NULL);
	free(key);
}

static void
withdraw_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	(void)reply;
	if (err != NULL)
		reg_failed(arg, "withdraw candidacy", err);
}

/* Candidacies of namespaces whose spec is gone or no longer names this
 * agent. */
static void
withdraw(struct registry *r)
{
	const struct reg_kv *spec;
	struct schema_spec sp;
	struct schema_key k;
	struct cf_error e;
	size_t i;
	int keep;

	for (i = 0; i < r->nkv; i++) {
		if (schema_key_parse(r->prefix, r->kv[i].key,
			strlen(r->kv[i].key), &k, &e) == -1 ||
		    k.kind != SCHEMA_ELECT || strcmp(k.name, r->me) != 0)
			continue;
		memset(&sp, 0, sizeof(sp));
		spec = get_key(r, SCHEMA_NS_SPEC, k.ns, NULL);
		keep = spec != NULL &&
		       schema_spec_parse(
			   spec->key, spec->value, spec->len, &sp, &e) == 0 &&
		       is_member(r, sp.servers);
		schema_spec_clear(&sp);
		if (keep)
			continue;
		reg_log(
		    r, "%s: no longer a member: withdraws its candidacy", k.ns);
		etcd_call(r->etcd,
		    etcd_req_delete(r->kv[i].key, strlen(r->kv[i].key), 0, 0),
		    withdraw_done, r, NULL);
	}
}

/* --- What the registry holds of one namespace --- */

struct ns_view {
	const char *ns;
	struct schema_spec spec;
	struct rc_desired d;
	const struct reg_kv *desired;
	struct rc_progress *prog;
	size_t nprog;
	const struct rc_progress *cur;
};

static void
ns_view_clear(struct ns_view *v)
{
	size_t i;

	schema_spec_clear(&v->spec);
	rc_desired_clear(&v->d);
	for (i = 0; i < v->nprog; i++)
		schema_progress_clear(&v->prog[i].p);
	free(v->prog);
}

/* Every progress/<c>/<ns> of v->ns, parsed (bad ones left out). */
static void
read_progress(const struct registry *r, struct ns_view *v)
{
	struct schema_key k;
	struct cf_error e;
	struct rc_progress *p;
	size_t i;

	for (i = 0; i < r->nkv; i++) {
		if (schema_key_parse(r->prefix, r->kv[i].key,
			strlen(r->kv[i].key), &k, &e) == -1 ||
		    k.kind != SCHEMA_PROGRESS || strcmp(k.ns, v->ns) != 0)
			continue;
		v->prog = xrealloc(v->prog, (v->nprog + 1) * sizeof(*v->prog));
		p = &v->prog[v->nprog];
		memset(p, 0, sizeof(*p));
		snprintf(p->coordinator, sizeof(p->coordinator), "%s", k.name);
		p->mod_rev = r->kv[i].mod_rev;
		if (schema_progress_parse(r->kv[i].key, r->kv[i].value,
			r->kv[i].len, &p->p, &e) == 0)
			v->nprog++;
	}
	v->cur = rc_progress_current(&v->d, v->prog, v->nprog);
}

/* The desired state of v->ns: 0 when there is one to act on.  One that
 * does not parse is logged once (wake_at -1 marks it), until it
 * changes. */
static int
read_desired(struct registry *r, struct ns_view *v)
{
	struct schema_desired sd;
	struct reg_ns *n;
	struct cf_error e;
	int rc = -1;

	memset(&sd, 0, sizeof(sd));
	v->desired = get_key(r, SCHEMA_NS_DESIRED, v->ns, NULL);
	if (v->desired == NULL)
		return -1;
	if (schema_desired_parse(v->desired->key, v->desired->value,
		v->desired->len, &sd, &e) == -1 ||
	    rc_desired_from(
		v->desired->key, &sd, v->desired->mod_rev, &v->d, &e) == -1) {
		n = reg_ns_get(r, v->ns);
		if (n->wake_at != -1)
			reg_log(r, "%s: %s", v->ns, e.msg);
		n->wake_at = -1;
		goto out;
	}
	rc = 0;
out:
	schema_desired_clear(&sd);
	return rc;
}

/* A's status in ns, parsed into *st; 0 when there is one. */
static int
read_status(const struct registry *r, const char *ns, const char *a,
    struct schema_status *st)
{
	const struct reg_kv *kv = get_key(r, SCHEMA_STATUS, ns, a);
	struct cf_error e;

	memset(st, 0, sizeof(*st));
	return kv != NULL && schema_status_parse(
				 kv->key, kv->value, kv->len, st, &e) == 0
		   ? 0
		   : -1;
}

/* --- The member --- */

/* Whether st says the job for target already failed on this desired
 * state: it is not run again until the desired state changes. */
static int
failed_already(const struct rc_desired *d, enum rc_target target,
    const struct schema_status *st)
{
	return st->state == SCHEMA_ST_FAILED && st->desired_rev == d->rev &&
	       strcmp(st->rollout, d->id) == 0 &&
	       st->to_before == (target == RC_BEFORE) &&
	       (target == RC_BEFORE || strcmp(st->target, d->thumbprint) == 0);
}

static void
sealed_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct reg_job *j = r->job;
	struct schema_sealed s;
	struct cf_error e;

	if (err != NULL) {
		r->job = NULL;
		reg_job_free(j);
		reg_failed(r, "read sealed", err);
		return;
	}
	memset(&s, 0, sizeof(s));
	if (reply->n_kvs == 1) {
		if (schema_sealed_parse((const char *)reply->kvs[0].key,
			reply->kvs[0].value, reply->kvs[0].value_len, &s,
			&e) == -1) {
			reg_job_fail(r, "import", &e);
			return;
		}
		j->sealed = s.blob;
		s.blob.data = NULL;
		s.blob.len = 0;
		memcpy(j->sealed_for, s.thumbprint, sizeof(j->sealed_for));
		schema_sealed_clear(&s);
	}
	reg_job_post(r, j);
}

/* What this member must do in v: an agents' rollout names no members
 * in desired, so its wave comes from its sealed key (read once per
 * rollout id); NULL *ok while that is read. */
static enum rc_target
member_target(struct registry *r, struct ns_view *v,
    const struct schema_sealed **sealed, int *ok)
{
	*sealed = NULL;
	*ok = 1;
	if (!v->d.agents || v->d.r.n > 0) /* a desired made before plans */
		return rc_target_of(&v->d, v->cur, r->me);
	if ((*sealed = reg_sealed_get(r, reg_ns_get(r, v->ns), v->d.id)) ==
	    NULL) {
		*ok = 0;
		return RC_HOLD;
	}
	return rc_target_wave(&v->d, v->cur, (*sealed)->wave);
}

/* What this member must do in v, and the job that does it when its
 * status does not say it is done. */
static void
member_step(struct registry *r, struct ns_view *v)
{
	const struct schema_sealed *sealed;
	struct schema_status st;
	struct reg_job *j;
	char *key;
	int ok;
	enum rc_target target = member_target(r, v, &sealed, &ok);
	int have = read_status(r, v->ns, r->me, &st) == 0;

	if (!ok || rc_status_done(&v->d, target, have ? &st : NULL) ||
	    (have && failed_already(&v->d, target, &st)))
		goto out;
	j = xcalloc(1, sizeof(*j));
	snprintf(j->ns, sizeof(j->ns), "%s", v->ns);
	j->services = xstrdup(v->spec.services);
	j->target = target;
	memcpy(j->thumb, v->d.thumbprint, sizeof(j->thumb));
	memcpy(j->rollout, v->d.id, sizeof(j->rollout));
	j->desired_rev = v->d.rev;
	if (have && v->d.id[0] != '\0' && strcmp(st.rollout, v->d.id) == 0 &&
	    st.nbefore > 0) {
		j->before = xcalloc(st.nbefore, sizeof(*j->before));
		memcpy(j->before, st.before, st.nbefore * sizeof(*st.before));
		j->nbefore = st.nbefore;
	}
	r->job = j;
	if (target != RC_NEW || sealed != NULL) {
		/* the sealed copy read with the wave: no second read */
		if (target == RC_NEW && sealed->blob.len > 0) {
			j->sealed.data = xmalloc(sealed->blob.len);
			memcpy(j->sealed.data, sealed->blob.data,
			    sealed->blob.len);
			j->sealed.len = sealed->blob.len;
			memcpy(j->sealed_for, sealed->thumbprint,
			    sizeof(j->sealed_for));
		}
		reg_job_post(r, j);
		goto out;
	}
	key = schema_key(r->prefix, SCHEMA_SEALED, v->ns, r->me, NULL);
	etcd_call(r->etcd, etcd_req_range(key, strlen(key), 0, 0, 0),
	    sealed_done, r, NULL);
	free(key);
out:
	schema_status_clear(&st);
}

/* --- The coordinator --- */

static void
coord_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct reg_ns *n = arg;
	struct registry *r = n->r;

	if (err != NULL)
		reg_failed(r, "put progress", err);
	else if (!reply->succeeded)
		reg_log(r,
		    "%s: coordinator: the desired state or its candidacy "
		    "changed under it; reading again",
		    n->name);
	else {
		/* The watch brings it too; cached now so that the next
		 * decision starts from it, not from the one before. */
		reg_cache_put(r, n->coord_key, n->coord_value,
		    strlen(n->coord_value), 0, reply->revision);
		reg_log(r, "%s: coordinator: %s (revision %lld)", n->name,
		    n->coord_line, (long long)reply->revision);
	}
	coord_clear(n);
	reg_poke(r);
}

/* What a progress write says, for the log (new): "wave 2 of 3 moving",
 * with " (ex2 failed)" and " (pending: ex3, ex4)" when it names them. */
static char *
coord_line(const struct ns_view *v, const struct schema_progress *p)
{
	char *line = xasprintf("wave %zu of %zu %s", p->wave, v->d.r.nwaves,
		 schema_phase_name(p->phase)),
	     *next;
	size_t i;

	if (p->member != NULL) {
		next = xasprintf("%s (%s failed)", line, p->member);
		free(line);
		line = next;
	}
	for (i = 0; i < p->npending; i++) {
		next = xasprintf("%s%s%s", line, i == 0 ? " (pending: " : ", ",
		    p->pending[i]);
		free(line);
		line = next;
	}
	if (p->npending > 0) {
		next = xasprintf("%s)", line);
		free(line);
		line = next;
	}
	return line;
}

/* progress/<me>/<ns> = p, fenced on the candidacy's create revision
 * and desired's mod revision. */
static void
coord_write(struct registry *r, struct ns_view *v, int64_t elect_rev,
    const struct schema_progress *p)
{
	char *ekey = schema_key(r->prefix, SCHEMA_ELECT, v->ns, r->me, NULL);
	char *pkey = schema_key(r->prefix, SCHEMA_PROGRESS, v->ns, r->me, NULL);
	char *val = schema_progress_value(p);
	struct reg_ns *n = reg_ns_get(r, v->ns);
	struct etcd_req *txn = etcd_req_txn();

	etcd_txn_compare(txn, ekey, strlen(ekey), ETCD_CREATE, ETCD_EQUAL,
	    elect_rev, NULL, 0);
	etcd_txn_compare(txn, v->desired->key, strlen(v->desired->key),
	    ETCD_MOD, ETCD_EQUAL, v->d.rev, NULL, 0);
	etcd_txn_op(
	    txn, 1, etcd_req_put(pkey, strlen(pkey), val, strlen(val), 0, 0));
	n->coord_line = coord_line(v, p);
	n->coord_key = pkey;
	n->coord_value = val;
	n->coord_busy = 1;
	etcd_call(r->etcd, txn, coord_done, n, NULL);
	free(ekey);
}

/* The create revision of this agent's candidacy when it is the oldest
 * of v->ns's; 0 when another coordinates. */
static int64_t
coordinates(const struct registry *r, const char *ns)
{
	struct schema_key k;
	struct cf_error e;
	int64_t best = 0;
	int mine = 0;
	size_t i;

	for (i = 0; i < r->nkv; i++) {
		if (schema_key_parse(r->prefix, r->kv[i].key,
			strlen(r->kv[i].key), &k, &e) == -1 ||
		    k.kind != SCHEMA_ELECT || strcmp(k.ns, ns) != 0)
			continue;
		if (best == 0 || r->kv[i].create_rev < best) {
			best = r->kv[i].create_rev;
			mine = strcmp(k.name, r->me) == 0;
		}
	}
	return mine ? best : 0;
}

static void
coord_step(struct registry *r, struct ns_view *v, long long now)
{
	struct reg_ns *n = reg_ns_get(r, v->ns);
	struct rc_limits lim = {
	    RC_MOVE_TIMEOUT_DEFAULT, RC_REVERT_TIMEOUT_DEFAULT};
	struct rc_member *m = NULL;
	struct schema_status *st = NULL;
	struct schema_progress next;
	const struct schema_plan *plan;
	struct cf_error e;
	long long wake = 0;
	int64_t elect_rev;
	size_t i;

	n->wake_at = 0;
	elect_rev = coordinates(r, v->ns);
	if ((elect_rev != 0) != n->coordinating)
		reg_log(r, "%s: %s", v->ns,
		    elect_rev != 0 ? "coordinates (its candidacy is the oldest)"
				   : "no longer coordinates");
	n->coordinating = elect_rev != 0;
	n->moving =
	    elect_rev != 0 && v->d.agents && v->d.r.state == CF_RS_RUNNING &&
	    (v->cur == NULL || (v->cur->p.phase != SCHEMA_PH_DONE &&
				   v->cur->p.phase != SCHEMA_PH_STOPPED));
	if (!v->d.agents || n->coord_busy || elect_rev == 0)
		return;
	/* the members and their waves: from the plan, read once per id */
	if (v->d.r.state != CF_RS_NONE && v->d.r.n == 0) {
		if ((plan = reg_plan_get(r, n, v->d.id)) == NULL)
			return;
		if (rc_desired_set_plan(&v->d, plan, &e) == -1) {
			if (!n->plan_said)
				reg_log(r, "%s: coordinator: %s", v->ns, e.msg);
			n->plan_said = 1;
			return;
		}
	}
	if (!r->agents_synced) { /* members unheard of are not absent */
		reg_agents_want(r, 1);
		return;
	}
	m = xcalloc(v->d.r.n + 1, sizeof(*m));
	st = xcalloc(v->d.r.n + 1, sizeof(*st));
	for (i = 0; i < v->d.r.n; i++) {
		m[i].name = v->d.r.m[i].name;
		m[i].live =
		    get_key(r, SCHEMA_AGENT_LIVE, NULL, m[i].name) != NULL;
		m[i].st = read_status(r, v->ns, m[i].name, &st[i]) == 0 ? &st[i]
									: NULL;
	}
	memset(&next, 0, sizeof(next));
	if (rc_coord_step(
		&v->d, v->cur, m, v->d.r.n, now, &lim, &next, &wake) == 1)
		coord_write(r, v, elect_rev, &next);
	else
		n->wake_at = wake;
	schema_progress_clear(&next);
	for (i = 0; i < v->d.r.n; i++)
		schema_status_clear(&st[i]);
	free(st);
	free(m);
}

/* Whether the agent coordinates a rollout under way now. */
static int
coordinates_any(const struct registry *r)
{
	size_t i;

	for (i = 0; i < r->nns; i++)
		if (r->ns[i]->coordinating && r->ns[i]->moving)
			return 1;
	return 0;
}

/* --- Every namespace --- */

static void
decide_ns(struct registry *r, const struct reg_kv *spec, const char *ns,
    long long now)
{
	struct ns_view v;
	struct cf_error e;

	memset(&v, 0, sizeof(v));
	v.ns = ns;
	if (schema_spec_parse(spec->key, spec->value, spec->len, &v.spec, &e) ==
		-1 ||
	    !is_member(r, v.spec.servers))
		goto out;
	stand(r, ns);
	if (read_desired(r, &v) == -1)
		goto out;
	reg_ns_get(r, ns)->wake_at = 0;
	read_progress(r, &v);
	if (r->job == NULL)
		member_step(r, &v);
	coord_step(r, &v, now);
out:
	ns_view_clear(&v);
}

/* The timer for the earliest wake_at of the namespaces. */
static void
set_wake(struct registry *r, long long now)
{
	struct timeval tv = {0, 0};
	long long at = 0;
	size_t i;

	for (i = 0; i < r->nns; i++)
		if (r->ns[i]->wake_at > 0 &&
		    (at == 0 || r->ns[i]->wake_at < at))
			at = r->ns[i]->wake_at;
	evtimer_del(r->ev_wake);
	if (at == 0)
		return;
	tv.tv_sec = at > now ? (time_t)(at - now) : 0;
	tv.tv_usec = 100000; /* just after the second it names */
	evtimer_add(r->ev_wake, &tv);
}

void
reg_decide(struct registry *r)
{
	long long now = (long long)time(NULL);
	struct schema_key k;
	struct cf_error e;
	size_t i;

	for (i = 0; i < r->nkv; i++) {
		if (schema_key_parse(r->prefix, r->kv[i].key,
			strlen(r->kv[i].key), &k, &e) == 0 &&
		    k.kind == SCHEMA_NS_SPEC)
			decide_ns(r, &r->kv[i], k.ns, now);
	}
	withdraw(r);
	set_wake(r, now);
	reg_agents_want(r, coordinates_any(r));
}
