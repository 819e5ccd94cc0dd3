/*
 * rollout_revert.c - the way back of a rollout: a member is put back on
 * what each of the namespace's services had before it moved (recorded
 * by rollout_run.c the first time it answered), assigned, deployed and
 * checked by its agent, then proved by handshake from here; and what a
 * stopped rollout tells: who failed at which step, who is pending, and
 * what users get now through the balancer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "copy.h"
#include "rollout.h"

/* enable (or, for services that had none, disable) thumb on the
 * services list of agent b: one request. */
static int
assign_back(struct backend *b, const char *thumb, const char *list,
    const char *new, struct cf_error *why)
{
	struct backend_reply *r = backend_replies_new(b);
	struct backend_req req;
	int rc = 0;

	memset(&req, 0, sizeof(req));
	req.arg = thumb[0] ? thumb : new;
	req.services = list;
	req.force = 1;
	backend_run(b, thumb[0] ? BACKEND_ENABLE : BACKEND_DISABLE, &req, r);
	if (r[0].err.code != CF_OK &&
	    !(thumb[0] == '\0' && r[0].err.code == CF_E_NOTFOUND)) {
		*why = r[0].err;
		rc = -1;
	}
	backend_replies_free(r, 1);
	return rc;
}

/*
 * Puts member m back on what each of the namespace's services had:
 * each previous certificate assigned back (deployed and checked by the
 * agent), then proved by handshake from here.  0, or -1 with why.
 */
static int
revert_one(
    struct rollout *ro, const struct cf_rstate_member *m, struct cf_error *why)
{
	struct backend *b = NULL;
	struct rollout_probe p;
	char *list;
	size_t i, k;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	if (copy_open_agents("rollout", m->name, &b) != 0)
		return cf_errorf(why, CF_E_USAGE, "not in the fleet");
	for (i = 0; i < m->nprev; i++) {
		for (k = 0; k < i; k++)
			if (strcmp(m->prev[k].thumb, m->prev[i].thumb) == 0)
				break;
		if (k < i)
			continue; /* done with the first of its certificate */
		list = xstrdup(m->prev[i].service);
		for (k = i + 1; k < m->nprev; k++)
			if (strcmp(m->prev[k].thumb, m->prev[i].thumb) == 0) {
				char *next = xasprintf(
				    "%s,%s", list, m->prev[k].service);
				free(list);
				list = next;
			}
		rc = assign_back(
		    b, m->prev[i].thumb, list, ro->st.certificate, why);
		free(list);
		if (rc == -1)
			goto out;
	}
	if (rollout_probe_run(&p, b, ro->ns, ro->ca_file, ro->timeout_s, why) ==
	    -1)
		goto out;
	for (i = 0; i < m->nprev; i++)
		if (m->prev[i].thumb[0] != '\0' &&
		    rollout_probe_serves(&p, 0, m->prev[i].service,
			m->prev[i].thumb, 0, why) == -1)
			goto out;
	rc = 0;
out:
	rollout_probe_free(&p);
	backend_free(b);
	return rc;
}

/*
 * Reverts the members of wave (0: all) that moved or failed: moved ones
 * become reverted (step what: "revert" or "abort"); a failed one keeps
 * its failure, or with abort becomes reverted.  A revert that fails
 * leaves the member failed (at "revert", or at the step that failed
 * before, the revert's reason added).  How many could not be put back.
 */
size_t
rollout_revert(
    struct rollout *ro, size_t wave, const char *what, struct cf_error *err)
{
	struct cf_rstate_member *m;
	struct cf_error why;
	size_t i, failed = 0;
	char *msg, *step;
	int rc;

	for (i = 0; i < ro->st.n; i++) {
		m = &ro->st.m[i];
		if ((wave != 0 && m->wave != wave) ||
		    !cf_rstate_member_reverts(m))
			continue;
		if (revert_one(ro, m, &why) == -1) {
			/* a failed member keeps the step that failed */
			failed++;
			msg = m->state == CF_RM_FAILED
				  ? xasprintf("%s; and it could not be put "
					      "back: %s",
					m->error ? m->error : "", why.msg)
				  : xasprintf(
					"could not be put back: %s", why.msg);
			step = m->state == CF_RM_FAILED && m->step
				   ? xstrdup(m->step)
				   : xstrdup("revert");
			rc = rollout_mark(
			    ro, m->name, CF_RM_FAILED, step, msg, err);
			free(msg);
			free(step);
		} else if (m->state == CF_RM_MOVED ||
			   strcmp(what, "abort") == 0)
			rc = rollout_mark(
			    ro, m->name, CF_RM_REVERTED, what, NULL, err);
		else
			rc = rollout_save(ro, err);
		if (rc == -1)
			failed++;
	}
	return failed;
}

/* What the current wave's members serve on each of the namespace's
 * services now, on stderr: users without a balancer reach them. */
static void
report_members(const struct rollout *ro)
{
	char *list = rollout_members_of(&ro->st, ro->st.wave, rollout_is_any);
	char *copy, *svc, *save;
	const struct probe_job *j;
	struct rollout_probe p;
	struct backend *b = NULL;
	struct cf_error err;
	size_t i;

	memset(&p, 0, sizeof(p));
	if (list == NULL || copy_open_agents("rollout", list, &b) != 0 ||
	    rollout_probe_run(
		&p, b, ro->ns, ro->ca_file, ro->timeout_s, &err) == -1)
		goto out;
	for (i = 0; i < backend_count(b); i++) {
		copy = xstrdup(ro->ns->services);
		save = NULL;
		for (svc = strtok_r(copy, ",", &save); svc != NULL;
		     svc = strtok_r(NULL, ",", &save)) {
			j = rollout_probe_job(&p, i, svc, NULL);
			fprintf(stderr,
			    "certfleet: rollout: %s: %s %s serves now: "
			    "%.8s%s\n",
			    ro->ns->name, backend_server(b, i), svc,
			    j == NULL    ? "(no check endpoint)"
			    : j->rc == 0 ? j->result.thumbprint
					 : "(handshake failed)",
			    j != NULL && j->rc == 0 &&
				    strcmp(j->result.thumbprint,
					ro->st.certificate) == 0
				? " (new)"
				: "");
		}
		free(copy);
	}
out:
	rollout_probe_free(&p);
	backend_free(b);
	free(list);
}

/* What users get now, through the balancer (ro->users), or from the
 * current wave's members without one, on stderr. */
void
rollout_report_users(struct rollout *ro)
{
	struct cf_error why;
	char *text;

	if (ro->ns->via == NULL) {
		report_members(ro);
		return;
	}
	json_decref(ro->users);
	ro->users = NULL;
	rollout_via_sample(ro, &ro->users, &why);
	text = rollout_users_text(ro->users);
	fprintf(stderr,
	    "certfleet: rollout: %s: users through %s get now: %s\n",
	    ro->ns->name, ro->ns->via, text);
	free(text);
}

/* The failure of the current wave on stderr: who, at which step, why. */
void
rollout_report_failure(const struct rollout *ro, size_t unreverted)
{
	const struct cf_rstate_member *m;
	char *list = rollout_members_of(&ro->st, ro->st.wave, rollout_is_any);
	size_t i;

	if (ro->st.error != NULL)
		fprintf(stderr, "certfleet: rollout: %s: wave %zu: %s: %s\n",
		    ro->ns->name, ro->st.wave, ro->st.step, ro->st.error);
	for (i = 0; i < ro->st.n; i++) {
		m = &ro->st.m[i];
		if (m->wave == ro->st.wave && m->state == CF_RM_FAILED)
			fprintf(stderr,
			    "certfleet: rollout: %s: %s: failed at %s: %s\n",
			    ro->ns->name, m->name, m->step ? m->step : "-",
			    m->error ? m->error : "-");
	}
	fprintf(stderr,
	    "certfleet: rollout: %s: wave %zu (%s) %s; rollout stopped: fix "
	    "it, then `certfleet rollout %s --resume` (or --abort)\n",
	    ro->ns->name, ro->st.wave, list ? list : "",
	    unreverted ? "could not all be put back on their previous "
			 "certificate"
		       : "put back on the previous certificate",
	    ro->ns->name);
	free(list);
}

/* Members that did not answer, on stderr. */
void
rollout_report_pending(const struct rollout *ro)
{
	const struct cf_rstate_member *m;
	size_t i;

	for (i = 0; i < ro->st.n; i++) {
		m = &ro->st.m[i];
		if (m->wave == ro->st.wave && m->state == CF_RM_PENDING)
			fprintf(stderr,
			    "certfleet: rollout: %s: %s: pending (did not "
			    "answer at %s: %s); `certfleet rollout %s "
			    "--resume` moves it when it is back\n",
			    ro->ns->name, m->name, m->step ? m->step : "-",
			    m->error ? m->error : "-", ro->ns->name);
	}
}
