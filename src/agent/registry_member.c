/*
 * registry_member.c - what the agent does as a member of a namespace
 * (registry.h): its services moved to the namespace's certificate, or
 * put back on what they had, through the store process, as `certfleet
 * rollout` does on the file registry (rollout_run.c, rollout_revert.c):
 *
 *   read     GET /v1/services?probe=0: what each of the namespace's
 *            services has now (the first time for a rollout, what a
 *            revert puts back: status.before)
 *   import   when the store lacks the certificate: POST
 *            /v1/import-sealed of sealed/<me>/<ns>, no services
 *   deploy   POST /v1/enable of the certificate on the namespace's
 *            services, force (they are the old one's): the agent
 *            deploys, reloads and checks by handshake
 *   revert   each service back on what it had (enable, or disable for a
 *            service that had none)
 *   test     GET /v1/services with handshakes: every service assigned
 *            and served what it should be
 *
 * The requests go as a local root caller, actor "registry", over the
 * registry's own channel, so the store process audits and refuses them
 * as any admin's.  They run on a worker thread of their own, so that a
 * deployment never holds up the lease's keepalives; the loop thread
 * writes the outcome as agents/<me>/status/<ns>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "msg.h"
#include "registry_int.h"
#include "util.h"

/* --- One API request to the store process --- */

/*
 * method path?query with body (taken; NULL none) as the local root
 * caller "registry"; *out the reply's JSON (new) when it is a 2xx, else
 * -1 and err from the reply's error.
 */
static int
store_req(struct registry *r, const char *method, const char *path,
    const char *query, json_t *body, json_t **out, struct cf_error *err)
{
	struct chan_msg m, a;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *o = NULL;
	long long status;
	int rc = -1;

	*out = NULL;
	memset(&m, 0, sizeof(m));
	chan_add(&m, "req");
	chan_add(&m, "1"); /* local */
	chan_add(&m, "0"); /* uid: root */
	chan_add(&m, "");  /* fingerprint */
	chan_add(&m, "0"); /* admin by CA */
	chan_add(&m, method);
	chan_add(&m, path);
	chan_add(&m, query);
	chan_add(&m, "registry"); /* peer */
	chan_add(&m, r->agent_name);
	chan_add(&m, "registry"); /* actor */
	chan_add(&m, text);
	chan_add(&m, "0"); /* not the metrics listener */
	if (storeproc_call(r->ch, &m, &a, err) == -1)
		goto out;
	status = chan_long(&a, 0, 500);
	o = json_loadb(chan_str(&a, 1), a.n > 1 ? a.len[1] : 0, 0, NULL);
	if (status >= 200 && status < 300) {
		*out = o;
		o = NULL;
		rc = 0;
	} else if (o == NULL ||
		   cf_msg_error_decode(o, CF_E_INTERNAL, err) == -1)
		cf_errorf(err, CF_E_INTERNAL, "%s %s: status %lld", method,
		    path, status);
	chan_clear(&a);
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(body);
	json_decref(o);
	return rc;
}

/* --- The steps --- */

/* A failure at step: the job's status says so. */
static int
job_fail(struct reg_job *j, const char *step, const struct cf_error *e)
{
	j->st.state = SCHEMA_ST_FAILED;
	free(j->st.step);
	free(j->st.error);
	j->st.step = xstrdup(step);
	j->st.error = xstrdup(e->msg);
	return -1;
}

/* The namespace's services as the agent has them now into *svc (new, one
 * per service of j), with handshakes when probe; with probe, a service
 * that serves something else than it is assigned fails at "test". */
static int
services_now(struct registry *r, struct reg_job *j, int probe,
    struct schema_svc **svc, size_t *n, struct cf_error *err)
{
	struct cf_service_view *v = NULL;
	char *copy = xstrdup(j->services), *name, *save = NULL;
	json_t *o = NULL;
	size_t nv = 0, i;
	int rc = -1;

	*svc = NULL;
	*n = 0;
	if (store_req(r, "GET", "/v1/services", cf_msg_services_query(probe),
		NULL, &o, err) == -1 ||
	    cf_msg_services_decode(o, &v, &nv, err) == -1)
		goto out;
	for (name = strtok_r(copy, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		*svc = xrealloc(*svc, (*n + 1) * sizeof(**svc));
		memset(&(*svc)[*n], 0, sizeof(**svc));
		snprintf(
		    (*svc)[*n].service, sizeof((*svc)[*n].service), "%s", name);
		for (i = 0; i < nv; i++)
			if (strcmp(v[i].name, name) == 0)
				break;
		if (i < nv) {
			memcpy((*svc)[*n].thumb, v[i].assigned,
			    sizeof((*svc)[*n].thumb));
			if (probe && v[i].match == 0) {
				cf_errorf(err, CF_E_IO,
				    "%s: assigned %.8s but serves %.8s%s%s",
				    name, v[i].assigned,
				    v[i].served[0] ? v[i].served : "nothing",
				    v[i].problem[0] ? ": " : "", v[i].problem);
				goto out;
			}
		}
		(*n)++;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*svc);
		*svc = NULL;
		*n = 0;
	}
	cf_service_views_free(v, nv);
	json_decref(o);
	free(copy);
	return rc;
}

/* Whether the store holds thumb with its key. */
static int
store_holds(
    struct registry *r, const char *thumb, int *held, struct cf_error *err)
{
	struct cf_view *v = NULL;
	json_t *o = NULL;
	char *q = xasprintf("thumbprint=%s", thumb);
	size_t n = 0;
	int rc = -1;

	*held = 0;
	if (store_req(r, "GET", "/v1/certificates", q, NULL, &o, err) == -1) {
		if (err->code == CF_E_NOTFOUND)
			rc = 0;
		goto out;
	}
	if (cf_msg_views_decode(o, &v, &n, err) == -1)
		goto out;
	*held = n == 1 && strcmp(v[0].thumbprint, thumb) == 0 && v[0].has_key;
	rc = 0;
out:
	cf_views_free(v, n);
	json_decref(o);
	free(q);
	return rc;
}

/* import-sealed of the job's blob, without services; the certificate it
 * held must be the job's. */
static int
import_sealed(struct registry *r, struct reg_job *j, struct cf_error *err)
{
	struct cf_import_opts o;
	struct cf_import_result *res = NULL;
	json_t *out = NULL;
	size_t n = 0;
	int rc = -1;

	if (j->sealed.len == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "no sealed copy of %.8s for this agent at sealed/%s/%s: "
		    "certfleet rollout writes it",
		    j->thumb, r->me, j->ns);
	if (strcmp(j->sealed_for, j->thumb) != 0)
		return cf_errorf(err, CF_E_MISMATCH,
		    "the sealed copy for this agent holds %.8s, not %.8s",
		    j->sealed_for, j->thumb);
	memset(&o, 0, sizeof(o));
	if (store_req(r, "POST", "/v1/import-sealed", NULL,
		cf_msg_import_sealed_encode(&j->sealed, &o), &out, err) == -1 ||
	    cf_msg_results_decode(out, &res, &n, err) == -1)
		goto out;
	if (n != 1 || strcmp(res[0].thumbprint, j->thumb) != 0) {
		cf_errorf(err, CF_E_MISMATCH,
		    "the sealed copy held %.8s, not %.8s",
		    n ? res[0].thumbprint : "nothing", j->thumb);
		goto out;
	}
	reg_log(r, "%s: import: %.8s from its sealed copy (%s)", j->ns,
	    j->thumb, res[0].what);
	rc = 0;
out:
	cf_import_results_free(res, n);
	json_decref(out);
	return rc;
}

/* Logs "NS: STEP: LINE" for each line of what enable says it did. */
static void
log_detail(struct registry *r, const struct reg_job *j, const char *step,
    const char *thumb, json_t *out)
{
	char t[CF_THUMB_LEN + 1], *detail = NULL, *line, *save = NULL;
	struct cf_error e;

	if (cf_msg_detail_decode(out, t, &detail, &e) == -1 || detail == NULL) {
		reg_log(r, "%s: %s: %.8s assigned", j->ns, step, thumb);
		free(detail);
		return;
	}
	for (line = strtok_r(detail, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		reg_log(r, "%s: %s: %s", j->ns, step, line);
	free(detail);
}

/* enable (thumb) or disable (the current thumbprint) on the comma list
 * services, at step (for the log). */
static int
assign(struct registry *r, const struct reg_job *j, const char *step,
    const char *thumb, const char *cur, const char *services,
    struct cf_error *err)
{
	json_t *out = NULL;
	int rc = 0;

	if (thumb[0] != '\0') {
		rc = store_req(r, "POST", "/v1/enable", NULL,
		    cf_msg_enable_encode(thumb, services, 1), &out, err);
		if (rc == 0)
			log_detail(r, j, step, thumb, out);
	} else if (cur[0] != '\0') {
		rc = store_req(r, "POST", "/v1/disable", NULL,
		    cf_msg_disable_encode(cur, services), &out, err);
		if (rc == 0)
			reg_log(r,
			    "%s: %s: %s had nothing before: %.8s taken "
			    "off it",
			    j->ns, step, services, cur);
	} /* else had none, has none */
	json_decref(out);
	return rc;
}

/* Each service back on what before says, one request per certificate;
 * cur is what they have now. */
static int
revert(struct registry *r, struct reg_job *j, const struct schema_svc *cur,
    size_t ncur, struct cf_error *err)
{
	size_t i, k;
	char *list;
	const char *now;
	int rc = 0;

	for (i = 0; i < j->nbefore && rc == 0; i++) {
		for (k = 0; k < i; k++)
			if (strcmp(j->before[k].thumb, j->before[i].thumb) == 0)
				break;
		if (k < i && j->before[i].thumb[0] != '\0')
			continue; /* done with the first of its certificate */
		list = xstrdup(j->before[i].service);
		for (k = i + 1; j->before[i].thumb[0] && k < j->nbefore; k++)
			if (strcmp(j->before[k].thumb, j->before[i].thumb) ==
			    0) {
				char *next = xasprintf(
				    "%s,%s", list, j->before[k].service);
				free(list);
				list = next;
			}
		for (now = "", k = 0; k < ncur; k++)
			if (strcmp(cur[k].service, j->before[i].service) == 0)
				now = cur[k].thumb;
		rc = assign(r, j, "revert", j->before[i].thumb, now, list, err);
		free(list);
	}
	return rc;
}

/* The job's status fields that do not depend on its outcome. */
static void
job_status_init(struct reg_job *j)
{
	struct schema_status *st = &j->st;

	st->desired_rev = j->desired_rev;
	memcpy(st->rollout, j->rollout, sizeof(st->rollout));
	st->to_before = j->target == RC_BEFORE;
	if (!st->to_before)
		memcpy(st->target, j->thumb, sizeof(st->target));
	st->state = SCHEMA_ST_CONVERGED;
}

/* Moves the services as j says; the outcome in j->st (registry_int.h). */
static void
job_run(struct registry *r, struct reg_job *j)
{
	struct schema_svc *cur = NULL;
	size_t ncur = 0;
	struct cf_error e;
	int held = 0;

	cf_error_clear(&e);
	job_status_init(j);
	if (services_now(r, j, 0, &cur, &ncur, &e) == -1) {
		job_fail(j, "read", &e);
		goto out;
	}
	if (j->before == NULL) { /* the first time in this rollout */
		j->before = xcalloc(ncur + 1, sizeof(*j->before));
		memcpy(j->before, cur, ncur * sizeof(*cur));
		j->nbefore = ncur;
	}
	if (j->target == RC_NEW) {
		if (store_holds(r, j->thumb, &held, &e) == -1) {
			job_fail(j, "read", &e);
			goto out;
		}
		if (!held && import_sealed(r, j, &e) == -1) {
			job_fail(j, "import", &e);
			goto out;
		}
		if (assign(r, j, "deploy", j->thumb, "", j->services, &e) ==
		    -1) {
			job_fail(j, "deploy", &e);
			goto out;
		}
	} else if (revert(r, j, cur, ncur, &e) == -1) {
		job_fail(j, "revert", &e);
		goto out;
	}
	free(cur);
	cur = NULL;
	if (services_now(r, j, 1, &cur, &ncur, &e) == -1)
		job_fail(j, "test", &e);
out:
	j->st.at = (long long)time(NULL);
	j->st.before = j->before;
	j->st.nbefore = j->nbefore;
	j->before = NULL; /* the status owns them now */
	j->nbefore = 0;
	if (cur != NULL) {
		j->st.services = cur;
		j->st.nservices = ncur;
	}
}

/* --- The worker thread --- */

static void *
worker_main(void *arg)
{
	struct registry *r = arg;
	struct reg_job *j;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (!r->job_end && !r->job_ready)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->job_end) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		j = r->job;
		pthread_mutex_unlock(&r->mu);
		job_run(r, j);
		pthread_mutex_lock(&r->mu);
		r->job_ready = 0;
		pthread_mutex_unlock(&r->mu);
		event_active(r->ev_job_done, 0, 0);
	}
	return NULL;
}

int
reg_worker_start(struct registry *r, struct cf_error *err)
{
	int e = pthread_create(&r->worker, NULL, worker_main, r);

	if (e != 0)
		return cf_errorf(err, CF_E_INTERNAL,
		    "registry: cannot start its worker: %s", strerror(e));
	r->worker_started = 1;
	return 0;
}

void
reg_worker_stop(struct registry *r)
{
	if (!r->worker_started)
		return;
	pthread_mutex_lock(&r->mu);
	r->job_end = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->worker, NULL);
	r->worker_started = 0;
}

void
reg_job_post(struct registry *r, struct reg_job *job)
{
	if (job->target == RC_NEW)
		reg_log(r, "%s: moving to %.8s (desired revision %lld%s%s)",
		    job->ns, job->thumb, job->desired_rev,
		    job->rollout[0] ? ", rollout " : "", job->rollout);
	else
		reg_log(r,
		    "%s: putting back what the services had (desired "
		    "revision %lld, rollout %s)",
		    job->ns, job->desired_rev, job->rollout);
	pthread_mutex_lock(&r->mu);
	r->job = job;
	r->job_ready = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
reg_job_free(struct reg_job *job)
{
	if (job == NULL)
		return;
	free(job->services);
	if (job->sealed.data != NULL)
		OPENSSL_cleanse(job->sealed.data, job->sealed.len);
	cf_buf_clear(&job->sealed);
	free(job->before);
	schema_status_clear(&job->st);
	free(job);
}

/* The status is written (or could not be): the next decision. */
static void
status_done(
    const struct etcd_reply *reply, const struct cf_error *err, void *arg)
{
	struct registry *r = arg;
	struct reg_job *j = r->job;
	char *key = schema_key(r->prefix, SCHEMA_STATUS, j->ns, r->me, NULL);
	char *val = schema_status_value(&j->st);

	r->job_writing = 0;
	if (err != NULL) {
		reg_failed(r, "put status", err);
	} else {
		/* The watch brings it too; cached now so that the next
		 * decision does not run the job again. */
		reg_cache_put(r, key, val, strlen(val), 0, reply->revision);
		reg_log(r, "%s: wrote status %s", j->ns,
		    schema_status_state_name(j->st.state));
	}
	r->job = NULL;
	reg_job_free(j);
	free(key);
	free(val);
	reg_poke(r);
}

void
reg_job_fail(struct registry *r, const char *step, const struct cf_error *e)
{
	job_status_init(r->job);
	job_fail(r->job, step, e);
	r->job->st.at = (long long)time(NULL);
	reg_job_finish(r);
}

void
reg_job_finish(struct registry *r)
{
	struct reg_job *j = r->job;
	char *key, *val;
	struct cf_error e;
	size_t i;

	if (j == NULL)
		return;
	if (j->st.state == SCHEMA_ST_FAILED)
		reg_log(
		    r, "%s: failed at %s: %s", j->ns, j->st.step, j->st.error);
	else
		for (i = 0; i < j->st.nservices; i++)
			reg_log(r, "%s: %s serves %.8s, proven", j->ns,
			    j->st.services[i].service,
			    j->st.services[i].thumb[0] ? j->st.services[i].thumb
						       : "nothing");
	key = schema_key(r->prefix, SCHEMA_STATUS, j->ns, r->me, NULL);
	val = schema_status_value(&j->st);
	r->job_writing = 1;
	etcd_call(r->etcd,
	    etcd_req_put(key, strlen(key), val, strlen(val), 0, 0), status_done,
	    r, &e);
	free(key);
	free(val);
}
