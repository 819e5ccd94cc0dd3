/*
 * rollout_run.c - a staged rollout on the file registry, driven from
 * here: each wave's members are reached (what their services have now
 * is recorded, once, as what they go back to), get the certificate from
 * the source (copy.c: a one-time password or sealed agent to agent; the
 * fleet file never holds key material), and have it assigned to the
 * namespace's services and deployed with the agent's own handshake
 * check.  Then every member of the wave is proved by handshakes from
 * here, the balancer sampled, and the soak time waited (and the wave
 * proved again) before the next wave.
 *
 * A failure reverts the wave's members (the previous certificate
 * assigned back, deployed and checked) and stops the rollout; a member
 * that does not answer is pending and stops it without a revert.  The
 * state is saved after every member's change (rollout_save), so that
 * `--resume` continues where any of these, or a killed CLI, left it.
 * The old certificate is never removed from any store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "copy.h"
#include "output.h"
#include "rollout.h"

long long
rollout_now(void)
{
	return (long long)time(NULL);
}

/* What the namespace's members must serve now the rollout is where it
 * is: the new certificate, or after an abort what they had. */
static const char *
desired_of(const struct cf_rstate *st)
{
	if (st->state == CF_RS_ABORTED)
		return st->previous[0] ? st->previous : NULL;
	return st->certificate;
}

int
rollout_save(struct rollout *ro, struct cf_error *err)
{
	struct fleet *f;
	int rc = -1;

	ro->st.updated = rollout_now();
	if ((f = fleet_load(ro->path, err)) == NULL)
		return -1;
	if (fleet_ns_set_state(f, ro->ns->name, desired_of(&ro->st),
		cf_rstate_json(&ro->st), err) == 0 &&
	    fleet_save(f, err) == 0)
		rc = 0;
	fleet_free(f);
	if (rc == -1)
		cf_error_prefix(err, "save the rollout's state: ");
	return rc;
}

void
rollout_progress(const char *fmt, ...)
{
	va_list ap;

	if (cli.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int
rollout_mark(struct rollout *ro, const char *name, enum cf_rstate_mstate to,
    const char *step, const char *error, struct cf_error *err)
{
	struct cf_rstate_member *m = cf_rstate_find(&ro->st, name);

	if (m == NULL)
		return cf_errorf(
		    err, CF_E_INTERNAL, "%s: not in the rollout", name);
	if (cf_rstate_member_set(m, to, step, error, rollout_now(), err) == -1)
		return -1;
	if (error != NULL)
		rollout_progress("  %s: %s at %s: %s", name,
		    cf_rstate_member_name(to), step, error);
	else
		rollout_progress("  %s: %s", name, cf_rstate_member_name(to));
	return rollout_save(ro, err);
}

char *
rollout_members_of(const struct cf_rstate *st, size_t wave,
    int (*pick)(const struct cf_rstate_member *))
{
	char *list = NULL, *next;
	size_t i;

	for (i = 0; i < st->n; i++) {
		if ((wave != 0 && st->m[i].wave != wave) || !pick(&st->m[i]))
			continue;
		next = list ? xasprintf("%s,%s", list, st->m[i].name)
			    : xstrdup(st->m[i].name);
		free(list);
		list = next;
	}
	return list;
}

static int
is_moved(const struct cf_rstate_member *m)
{
	return m->state == CF_RM_MOVED;
}

int
rollout_is_any(const struct cf_rstate_member *m)
{
	(void)m;
	return 1;
}

/* The namespace's previous certificate: the one most of what the
 * members recorded names (ties: the first seen). */
static void
previous_update(struct cf_rstate *st)
{
	size_t i, k, j, l, best = 0, count;

	for (i = 0; i < st->n; i++)
		for (k = 0; k < st->m[i].nprev; k++) {
			const char *t = st->m[i].prev[k].thumb;
			if (t[0] == '\0' || strcmp(t, st->certificate) == 0)
				continue;
			for (count = 0, j = 0; j < st->n; j++)
				for (l = 0; l < st->m[j].nprev; l++)
					count += strcmp(st->m[j].prev[l].thumb,
						     t) == 0;
			if (count > best) {
				best = count;
				memcpy(st->previous, t, sizeof(st->previous));
			}
		}
}

/* Whether reply r holds the certificate with its key. */
static int
holds(const struct backend_reply *r, const char *thumb)
{
	size_t i;

	for (i = 0; i < r->nviews; i++)
		if (strcmp(r->views[i].thumbprint, thumb) == 0)
			return r->views[i].has_key;
	return 0;
}

/* Records, the first time member m answers, what each of the
 * namespace's services has there. */
static void
record_previous(struct rollout *ro, struct cf_rstate_member *m,
    const struct backend_reply *r)
{
	char *copy, *svc, *save = NULL;
	const char *thumb;
	size_t i;

	m->seen = rollout_now();
	if (m->has_prev)
		return;
	copy = xstrdup(ro->ns->services);
	for (svc = strtok_r(copy, ",", &save); svc != NULL;
	     svc = strtok_r(NULL, ",", &save)) {
		thumb = "";
		for (i = 0; i < r->nviews; i++)
			if (fleet_list_has(r->views[i].services, svc))
				thumb = r->views[i].thumbprint;
		cf_rstate_prev_set(m, svc, thumb);
	}
	free(copy);
}

/*
 * A step's failure on target i: pending when the member did not answer,
 * else failed.  Before anything is deployed (may_pend 1) any transport
 * error is taken for that; at the deployment (may_pend 0) only a
 * connection that could not be made (the request never left), as an
 * agent's deployment failing is an I/O error too.
 */
static int
step_failed(struct rollout *ro, struct backend *b, size_t i, const char *step,
    const struct cf_error *why, int may_pend, struct cf_error *err)
{
	int unreached = why->code == CF_E_IO &&
			(may_pend || strncmp(why->msg, "cannot connect to ",
					 strlen("cannot connect to ")) == 0);

	return rollout_mark(ro, backend_server(b, i),
	    unreached ? CF_RM_PENDING : CF_RM_FAILED, step, why->msg, err);
}

/*
 * Reach and transfer: every target of b is asked what it holds; the
 * previous certificates are recorded; those that lack the certificate
 * get it from the source, without services.  ok[i] says who may go on.
 */
static int
wave_transfer(
    struct rollout *ro, struct backend *b, int *ok, struct cf_error *err)
{
	struct copy_job job = {.from = ro->st.from,
	    .v = ro->v,
	    .services = NULL,
	    .exportable = -1};
	struct backend_reply *r = backend_replies_new(b), *x = NULL;
	struct backend_req req;
	struct cf_error why;
	size_t i, n = backend_count(b), todo = 0;
	int rc = -1;

	cf_error_clear(&why);
	memset(&req, 0, sizeof(req));
	backend_run(b, BACKEND_GET, &req, r);
	x = backend_replies_new(b);
	for (i = 0; i < n; i++) {
		ok[i] = r[i].err.code == CF_OK;
		x[i].todo = ok[i] && !holds(&r[i], ro->st.certificate);
		todo += x[i].todo;
		if (!ok[i] &&
		    step_failed(ro, b, i, "reach", &r[i].err, 1, err) == -1)
			goto out;
		if (ok[i])
			record_previous(ro,
			    cf_rstate_find(&ro->st, backend_server(b, i)),
			    &r[i]);
	}
	previous_update(&ro->st); /* once a wave: it compares all pairs */
	if (todo > 0 && copy_run(ro->src, b, &job, x, NULL, &why) == -1) {
		cf_error_prefix(&why, "%s: ", ro->st.from);
		for (i = 0; i < n; i++)
			if (x[i].todo)
				x[i].err = why; /* the source refused */
	}
	for (i = 0; i < n; i++)
		if (ok[i] && x[i].err.code != CF_OK) {
			ok[i] = 0;
			if (step_failed(ro, b, i, "transfer", &x[i].err,
				why.code != CF_E_DENIED, err) == -1)
				goto out;
		}
	rc = rollout_save(ro, err);
out:
	backend_replies_free(r, n);
	backend_replies_free(x, n);
	return rc;
}

/* Assigns the certificate to the namespace's services on the targets
 * ok names, deployed and checked by each agent. */
static int
wave_deploy(
    struct rollout *ro, struct backend *b, const int *ok, struct cf_error *err)
{
	struct backend_reply *r = backend_replies_new(b);
	struct backend_req req;
	size_t i, n = backend_count(b);
	int rc = 0;

	memset(&req, 0, sizeof(req));
	req.arg = ro->st.certificate;
	req.services = ro->ns->services;
	req.force = 1; /* the services are the old certificate's */
	for (i = 0; i < n; i++)
		r[i].todo = ok[i];
	backend_run(b, BACKEND_ENABLE, &req, r);
	for (i = 0; i < n && rc == 0; i++) {
		if (!ok[i])
			continue;
		if (r[i].err.code != CF_OK)
			rc = step_failed(ro, b, i, "deploy", &r[i].err, 0, err);
		else
			rc = rollout_mark(ro, backend_server(b, i), CF_RM_MOVED,
			    "deploy", NULL, err);
	}
	backend_replies_free(r, n);
	return rc;
}

/* Moves the members of the current wave that have not moved. */
static int
wave_move(struct rollout *ro, struct cf_error *err)
{
	char *list =
	    rollout_members_of(&ro->st, ro->st.wave, cf_rstate_member_todo);
	struct backend *b = NULL;
	int *ok = NULL, rc = -1;

	if (list == NULL)
		return 0;
	if (copy_open_agents("rollout", list, &b) != 0) {
		cf_errorf(err, CF_E_USAGE, "%s: not all in the fleet", list);
		goto out;
	}
	ok = xcalloc(backend_count(b) + 1, sizeof(*ok));
	if (wave_transfer(ro, b, ok, err) == -1 ||
	    wave_deploy(ro, b, ok, err) == -1)
		goto out;
	rc = 0;
out:
	free(ok);
	free(list);
	backend_free(b);
	return rc;
}

/*
 * Proves the moved members of the current wave serve the certificate,
 * valid, on each service; a member that does not is failed at "test".
 * Then the balancer: ro->st's error when it shows anything else.
 */
static int
wave_check(struct rollout *ro, struct cf_error *err)
{
	char *list = rollout_members_of(&ro->st, ro->st.wave, is_moved), *svc,
	     *save;
	char *copy = NULL;
	struct rollout_probe p;
	struct backend *b = NULL;
	struct cf_error why;
	size_t i;
	int rc = -1, bad;

	memset(&p, 0, sizeof(p));
	if (list != NULL && copy_open_agents("rollout", list, &b) != 0) {
		cf_errorf(err, CF_E_USAGE, "%s: not all in the fleet", list);
		goto out;
	}
	if (b != NULL && rollout_probe_run(&p, b, ro->ns, ro->ca_file,
			     ro->timeout_s, err) == -1)
		goto out;
	for (i = 0; b != NULL && i < backend_count(b); i++) {
		copy = xstrdup(ro->ns->services);
		save = NULL;
		bad = 0;
		for (svc = strtok_r(copy, ",", &save); svc && !bad;
		     svc = strtok_r(NULL, ",", &save))
			bad = rollout_probe_serves(&p, i, svc,
				  ro->st.certificate, 1, &why) == -1;
		free(copy);
		if (bad && rollout_mark(ro, backend_server(b, i), CF_RM_FAILED,
			       "test", why.msg, err) == -1)
			goto out;
		if (!bad)
			rollout_progress(
			    "  %s: test: every service serves %.8s",
			    backend_server(b, i), ro->st.certificate);
	}
	if (ro->ns->via != NULL &&
	    cf_rstate_wave_outcome(&ro->st, ro->st.wave) != CF_RW_FAILED) {
		json_decref(ro->users);
		ro->users = NULL;
		if (rollout_via_sample(ro, &ro->users, &why) == -1) {
			free(ro->st.step);
			free(ro->st.error);
			ro->st.step = xstrdup("via");
			ro->st.error = xstrdup(why.msg);
		}
		svc = rollout_users_text(ro->users);
		rollout_progress("  via %s: %s", ro->ns->via, svc);
		free(svc);
	}
	rc = rollout_save(ro, err);
out:
	rollout_probe_free(&p);
	backend_free(b);
	free(list);
	return rc;
}

/* Stops the rollout: saved as stopped; 1, or the save's failure. */
static int
stop(struct rollout *ro, struct cf_error *err)
{
	ro->st.state = CF_RS_STOPPED;
	return rollout_save(ro, err) == -1 ? -1 : 1;
}

/* The soak time, then the wave proved again. */
static int
soak(struct rollout *ro, struct cf_error *err)
{
	if (ro->st.soak_s <= 0)
		return 0;
	rollout_progress("  soak %lds", ro->st.soak_s);
	cf_sleep_ms((long long)ro->st.soak_s * 1000);
	return wave_check(ro, err);
}

/*
 * The waves from ro->st.wave to the last.  0 when all moved, 1 when a
 * wave failed (reverted) or has pending members, -1 with err when the
 * state could not be saved or a member is no longer in the fleet.
 */
static int
run_waves(struct rollout *ro, struct cf_error *err)
{
	enum cf_rstate_wave outcome;
	char *list;
	size_t unreverted;

	for (;;) {
		list = rollout_members_of(&ro->st, ro->st.wave, rollout_is_any);
		rollout_progress("wave %zu of %zu: %s", ro->st.wave,
		    ro->st.nwaves, list ? list : "");
		free(list);
		if (wave_move(ro, err) == -1 || wave_check(ro, err) == -1)
			return -1;
		outcome = cf_rstate_wave_outcome(&ro->st, ro->st.wave);
		if (outcome == CF_RW_DONE && ro->st.wave < ro->st.nwaves) {
			if (soak(ro, err) == -1)
				return -1;
			outcome = cf_rstate_wave_outcome(&ro->st, ro->st.wave);
		}
		if (outcome == CF_RW_FAILED) {
			rollout_progress("  reverting wave %zu", ro->st.wave);
			unreverted =
			    rollout_revert(ro, ro->st.wave, "revert", err);
			rollout_report_failure(ro, unreverted);
			rollout_report_users(ro);
			return stop(ro, err);
		}
		if (outcome == CF_RW_PENDING) {
			rollout_report_pending(ro);
			return stop(ro, err);
		}
		if (ro->st.wave == ro->st.nwaves)
			break;
		ro->st.wave++;
		if (rollout_save(ro, err) == -1)
			return -1;
	}
	ro->st.state = CF_RS_DONE;
	rollout_progress("rollout of %.8s to %s: done, %zu server%s moved",
	    ro->st.certificate, ro->ns->name, ro->st.n,
	    ro->st.n == 1 ? "" : "s");
	return rollout_save(ro, err);
}

json_t *
rollout_members_json(const struct cf_rstate *st)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < st->n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:I, s:s, s:s?, s:s?}", "Server",
			   st->m[i].name, "Wave", (json_int_t)st->m[i].wave,
			   "State", cf_rstate_member_name(st->m[i].state),
			   "Step", st->m[i].step, "Error", st->m[i].error));
	return a;
}

/* The document of --json: where the rollout stands at the end. */
static void
print_json(const struct rollout *ro)
{
	out_json(json_pack("{s:s, s:s, s:s?, s:s, s:I, s:I, s:s?, s:s?, s:o, "
			   "s:O?}",
	    "Namespace", ro->ns->name, "Certificate", ro->st.certificate,
	    "Previous", ro->st.previous[0] ? ro->st.previous : NULL, "State",
	    cf_rstate_run_name(ro->st.state), "Wave", (json_int_t)ro->st.wave,
	    "Waves", (json_int_t)ro->st.nwaves, "Step", ro->st.step, "Error",
	    ro->st.error, "Members", rollout_members_json(&ro->st), "Users",
	    ro->users));
}

/* run_waves as an exit status, with the document of --json. */
static int
finish(struct rollout *ro, int rc, const struct cf_error *err)
{
	if (rc == -1)
		rc = cli_fail("rollout", err);
	if (cli.json)
		print_json(ro);
	return rc;
}

int
rollout_start(struct rollout *ro, const struct client_target *t, size_t n,
    const struct cf_wave *w, size_t nw)
{
	struct cf_error err;
	size_t i, k;
	int rc;

	cf_error_clear(&err);
	ro->st.state = CF_RS_RUNNING;
	memcpy(ro->st.certificate, ro->v->thumbprint, CF_THUMB_LEN + 1);
	ro->st.waves = xstrdup(ro->ns->waves);
	ro->st.soak_s = ro->ns->soak_s;
	ro->st.nwaves = nw;
	ro->st.wave = 1;
	ro->st.started = rollout_now();
	for (i = 0; i < nw; i++)
		for (k = w[i].first; k < w[i].first + w[i].count && k < n; k++)
			cf_rstate_add(&ro->st, t[k].name, i + 1);
	rollout_progress(
	    "rollout of %.8s (%s) to %s: %zu server%s in %zu wave%s, "
	    "from %s",
	    ro->v->thumbprint, ro->v->subject, ro->ns->name, n,
	    n == 1 ? "" : "s", nw, nw == 1 ? "" : "s", ro->st.from);
	rc = rollout_save(ro, &err) == -1 ? -1 : run_waves(ro, &err);
	return finish(ro, rc, &err);
}

int
rollout_resume(struct rollout *ro)
{
	struct cf_error err;
	int rc;

	cf_error_clear(&err);
	ro->st.state = CF_RS_RUNNING;
	free(ro->st.step);
	free(ro->st.error);
	ro->st.step = NULL;
	ro->st.error = NULL;
	rollout_progress("rollout of %.8s to %s: resumed in wave %zu of %zu",
	    ro->st.certificate, ro->ns->name, ro->st.wave, ro->st.nwaves);
	rc = rollout_save(ro, &err) == -1 ? -1 : run_waves(ro, &err);
	return finish(ro, rc, &err);
}

int
rollout_abort(struct rollout *ro)
{
	struct cf_error err;
	size_t failed;
	int rc = 0;

	cf_error_clear(&err);
	rollout_progress("rollout of %.8s to %s: aborting", ro->st.certificate,
	    ro->ns->name);
	failed = rollout_revert(ro, 0, "abort", &err);
	if (err.code != CF_OK)
		rc = -1;
	else if (failed > 0) {
		fprintf(stderr,
		    "certfleet: rollout: %s: %zu server%s could not be put "
		    "back (status %s shows them); run --abort again once "
		    "fixed\n",
		    ro->ns->name, failed, failed == 1 ? "" : "s", ro->ns->name);
		rc = stop(ro, &err);
	} else {
		ro->st.state = CF_RS_ABORTED;
		rc = rollout_save(ro, &err);
		rollout_progress(
		    "rollout of %.8s to %s: aborted; every server that "
		    "moved is back on what it had",
		    ro->st.certificate, ro->ns->name);
	}
	if (rc == 0 && ro->ns->via != NULL) {
		struct cf_error why;
		rollout_via_sample(ro, &ro->users, &why);
	}
	return finish(ro, rc, &err);
}
