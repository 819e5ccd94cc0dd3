/*
 * rollout_check.c - what a rollout (and status) proves by handshakes:
 * each of the namespace's services on each member serves a given
 * certificate, and connections through the namespace's balancer see
 * only the new certificate or one the members had before.  The probes
 * are `test NAMESPACE`'s (test_collect, test_judge): from here, SNI the
 * namespace, the chain judged against --ca-file or the system's roots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "rollout.h"

int
rollout_probe_run(struct rollout_probe *p, struct backend *b,
    const struct fleet_ns *ns, const char *ca_file, int timeout_s,
    struct cf_error *err)
{
	struct backend_req req;

	memset(p, 0, sizeof(*p));
	p->o.ns = ns->name;
	p->o.services = (char *)ns->services; /* only read */
	p->o.ca_file = ca_file;
	p->o.timeout_s = timeout_s;
	/* No warning thresholds: a rollout asks valid or not (0 days). */
	p->o.warn = p->o.crit = (struct lifetime_limit){0, 0, 0};
	if ((p->ctx = cf_probe_ctx_new(ca_file, 1, err)) == NULL)
		return -1;
	memset(&req, 0, sizeof(req));
	req.no_probe = 1; /* the agents name endpoints; this host probes */
	p->nr = backend_count(b);
	p->r = backend_replies_new(b);
	backend_run(b, BACKEND_SERVICES, &req, p->r);
	p->n = test_collect(b, p->r, &p->o, p->ctx, &p->eps, &p->jobs);
	probe_pool_run(p->jobs, p->n, 0, 0);
	return 0;
}

void
rollout_probe_free(struct rollout_probe *p)
{
	test_endpoints_free(p->eps, p->n);
	probe_jobs_clear(p->jobs, p->n);
	free(p->jobs);
	if (p->r != NULL)
		backend_replies_free(p->r, p->nr);
	cf_probe_ctx_free(p->ctx);
	memset(p, 0, sizeof(*p));
}

const struct cf_service_view *
rollout_probe_service(const struct rollout_probe *p, size_t i, const char *svc)
{
	size_t k;

	if (i >= p->nr || p->r[i].err.code != CF_OK)
		return NULL;
	for (k = 0; k < p->r[i].nsvcs; k++)
		if (strcmp(p->r[i].svcs[k].name, svc) == 0)
			return &p->r[i].svcs[k];
	return NULL;
}

const struct probe_job *
rollout_probe_job(const struct rollout_probe *p, size_t i, const char *svc,
    const char **where)
{
	size_t k;

	for (k = 0; k < p->n; k++)
		if (p->eps[k].target == i &&
		    strcmp(p->eps[k].svc->name, svc) == 0) {
			if (where != NULL)
				*where = p->eps[k].where;
			return &p->jobs[k];
		}
	return NULL;
}

/*
 * Without a check endpoint nothing can be proved by handshake: the
 * service serves thumb when it is assigned it and, when configured
 * here, its files hold it (the agent's deployment checked the rest).
 */
static int
serves_by_files(const struct cf_service_view *v, const char *svc,
    const char *thumb, struct cf_error *why)
{
	if (v == NULL)
		return cf_errorf(
		    why, CF_E_NOTFOUND, "%s: no such service", svc);
	if (strcmp(v->assigned, thumb) != 0)
		return cf_errorf(why, CF_E_MISMATCH,
		    "%s: assigned %.8s, not %.8s", svc,
		    v->assigned[0] ? v->assigned : "nothing", thumb);
	if (v->kind[0] != '\0' && strcmp(v->on_disk, thumb) != 0)
		return cf_errorf(why, CF_E_MISMATCH,
		    "%s: its files hold %.8s, not %.8s", svc,
		    v->on_disk[0] ? v->on_disk : "nothing", thumb);
	return 0;
}

int
rollout_probe_serves(const struct rollout_probe *p, size_t i, const char *svc,
    const char *thumb, int valid, struct cf_error *why)
{
	const struct probe_job *j;
	const char *where = "";
	struct verdict v;
	char *reasons;
	int rc = 0;

	if (i >= p->nr || p->r[i].err.code != CF_OK)
		return cf_errorf(why, CF_E_IO, "%s",
		    i < p->nr ? p->r[i].err.msg : "not asked");
	if ((j = rollout_probe_job(p, i, svc, &where)) == NULL)
		return serves_by_files(
		    rollout_probe_service(p, i, svc), svc, thumb, why);
	if (j->rc != 0)
		return cf_errorf(why, CF_E_IO, "%s at %s: handshake failed: %s",
		    svc, where, j->err.msg);
	if (strcmp(j->result.thumbprint, thumb) != 0)
		return cf_errorf(why, CF_E_MISMATCH,
		    "%s at %s serves %.8s, not %.8s", svc, where,
		    j->result.thumbprint, thumb);
	if (!valid)
		return 0;
	test_judge(j, &p->o, time(NULL), &v);
	if (!v.valid) {
		reasons = test_reasons_text(&v);
		rc = cf_errorf(why, CF_E_MISMATCH,
		    "%s at %s serves %.8s, not valid for %s: %s", svc, where,
		    thumb, p->o.ns, reasons);
		free(reasons);
	}
	test_verdict_clear(&v);
	return rc;
}

/* Whether thumb is one a member had before the rollout. */
static int
is_old(const struct cf_rstate *st, const char *thumb)
{
	size_t i, k;

	if (strcmp(st->previous, thumb) == 0)
		return 1;
	for (i = 0; i < st->n; i++)
		for (k = 0; k < st->m[i].nprev; k++)
			if (strcmp(st->m[i].prev[k].thumb, thumb) == 0)
				return 1;
	return 0;
}

/* The protocol of the balancer: that of the namespace's first service. */
static enum cf_probe_proto
via_proto(const char *services)
{
	enum cf_probe_proto proto = CF_PROBE_TLS;
	struct cf_error err;
	char first[32];

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(services, ","),
	    services);
	if (strcmp(first, "https") != 0 &&
	    cf_probe_proto_parse(first, &proto, &err) == -1)
		proto = CF_PROBE_TLS;
	return proto;
}

/* Counts job j into users ([{Thumbprint, Count, Is}, {Error, Count}]). */
static void
users_count(json_t *users, const struct probe_job *j, const char *is)
{
	const char *key = j->rc == 0 ? "Thumbprint" : "Error";
	const char *val = j->rc == 0 ? j->result.thumbprint : j->err.msg;
	json_t *o;
	size_t i;

	json_array_foreach(users, i, o) {
		const char *have = json_string_value(json_object_get(o, key));
		if (have != NULL && strcmp(have, val) == 0) {
			json_object_set_new(o, "Count",
			    json_integer(json_integer_value(
					     json_object_get(o, "Count")) +
					 1));
			return;
		}
	}
	o = json_pack("{s:s, s:i}", key, val, "Count", 1);
	if (is != NULL)
		json_object_set_new(o, "Is", json_string(is));
	json_array_append_new(users, o);
}

/* Judges sample j into users and, for the first bad one, why; 0 or -1. */
static int
via_judge(const struct rollout *ro, const struct test_opts *o,
    const struct probe_job *j, json_t *users, struct cf_error *why)
{
	const char *is = NULL;
	struct verdict v;
	char *reasons;
	int rc = 0;

	if (j->rc != 0) {
		users_count(users, j, NULL);
		return cf_errorf(why, CF_E_IO,
		    "through %s: a handshake failed: %s", ro->ns->via,
		    j->err.msg);
	}
	if (strcmp(j->result.thumbprint, ro->st.certificate) == 0)
		is = "new";
	else if (is_old(&ro->st, j->result.thumbprint))
		is = "old";
	else
		is = "other";
	users_count(users, j, is);
	if (strcmp(is, "other") == 0)
		return cf_errorf(why, CF_E_MISMATCH,
		    "through %s: %.8s served, neither the new certificate nor "
		    "one the members had",
		    ro->ns->via, j->result.thumbprint);
	if (strcmp(is, "new") != 0)
		return 0; /* an old one is what users had */
	test_judge(j, o, time(NULL), &v);
	if (!v.valid) {
		reasons = test_reasons_text(&v);
		rc = cf_errorf(why, CF_E_MISMATCH,
		    "through %s: the new certificate is not valid for %s: %s",
		    ro->ns->via, ro->ns->name, reasons);
		free(reasons);
	}
	test_verdict_clear(&v);
	return rc;
}

int
rollout_via_sample(
    const struct rollout *ro, json_t **users, struct cf_error *why)
{
	struct probe_job jobs[ROLLOUT_VIA_SAMPLES];
	struct cf_probe_ctx *ctx = NULL;
	struct test_opts o;
	struct cf_error first;
	char *host = NULL, *port = NULL;
	json_t *got = json_array();
	size_t i;
	int iport, rc = -1;

	memset(jobs, 0, sizeof(jobs));
	memset(&o, 0, sizeof(o));
	o.ns = ro->ns->name;
	cf_error_clear(&first);
	if (client_address_parse(ro->ns->via, &host, &iport, why) == -1 ||
	    (ctx = cf_probe_ctx_new(ro->ca_file, 1, why)) == NULL)
		goto out;
	port = xasprintf("%d", iport);
	for (i = 0; i < ROLLOUT_VIA_SAMPLES; i++) {
		jobs[i].opts.host = host;
		jobs[i].opts.port = port;
		jobs[i].opts.sni = ro->ns->name;
		jobs[i].opts.proto = via_proto(ro->ns->services);
		jobs[i].opts.timeout_ms = ro->timeout_s * 1000;
		jobs[i].opts.ctx = ctx;
	}
	probe_pool_run(jobs, ROLLOUT_VIA_SAMPLES, 0, 0);
	rc = 0;
	for (i = 0; i < ROLLOUT_VIA_SAMPLES; i++)
		if (via_judge(ro, &o, &jobs[i], got, &first) == -1 && rc == 0) {
			rc = -1;
			*why = first;
		}
out:
	probe_jobs_clear(jobs, ROLLOUT_VIA_SAMPLES);
	cf_probe_ctx_free(ctx);
	free(host);
	free(port);
	if (users != NULL)
		*users = got;
	else
		json_decref(got);
	return rc;
}

char *
rollout_users_text(const json_t *users)
{
	char *text = xstrdup(""), *next;
	const json_t *o;
	size_t i, total = 0;

	json_array_foreach(users, i, o) {
		total +=
		    (size_t)json_integer_value(json_object_get(o, "Count"));
	}
	json_array_foreach(users, i, o) {
		const char *t =
		    json_string_value(json_object_get(o, "Thumbprint"));
		const char *is = json_string_value(json_object_get(o, "Is"));
		long long c = json_integer_value(json_object_get(o, "Count"));
		if (t != NULL)
			next = xasprintf("%s%s%.8s (%s) %lld/%zu", text,
			    text[0] ? ", " : "", t, is ? is : "?", c, total);
		else
			next = xasprintf("%s%shandshake failed (%s) %lld/%zu",
			    text, text[0] ? ", " : "",
			    json_string_value(json_object_get(o, "Error")), c,
			    total);
		free(text);
		text = next;
	}
	return text;
}
