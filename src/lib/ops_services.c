/*
 * ops_services.c - `certfleet services`: what each service is meant to serve
 * (the store's assignment), what its files hold, and what a live
 * handshake sees.  "Renewed but still serving the old one" is the
 * failure users report most; here it is one row with the reason.
 *
 * The store is read in short read transactions; the handshakes run after
 * them, on threads, so a slow endpoint never holds the store or the
 * others.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "ops.h"
#include "service.h"

/* How long `services` waits for one endpoint, and how many at once. */
#define PROBE_TIMEOUT_MS 5000
#define PROBE_THREADS 16

void
cf_service_views_free(struct cf_service_view *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].kind);
		free(v[i].endpoint);
		free(v[i].check_host);
		free(v[i].check_port);
		free(v[i].sni);
		free(v[i].problem);
	}
	free(v);
}

/* The view of name in *v (sorted by name), added when missing. */
static struct cf_service_view *
view_of(struct cf_service_view **v, size_t *n, const char *name)
{
	size_t i, at;

	for (at = 0; at < *n && strcmp((*v)[at].name, name) < 0; at++)
		;
	if (at < *n && strcmp((*v)[at].name, name) == 0)
		return &(*v)[at];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	for (i = *n; i > at; i--)
		(*v)[i] = (*v)[i - 1];
	memset(&(*v)[at], 0, sizeof(**v));
	snprintf((*v)[at].name, sizeof((*v)[at].name), "%s", name);
	(*n)++;
	return &(*v)[at];
}

/* Reads the assignments: every assigned service gets a view with its
 * certificate's thumbprint. */
static int
read_assigned(struct cf_store *s, struct cf_service_view **v, size_t *n,
    struct cf_error *err)
{
	char **names = NULL;
	size_t nnames = 0, i;
	int rc = -1;

	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (cf_store_service_list(s, &names, &nnames, err) == -1)
		goto out;
	for (i = 0; i < nnames; i++) {
		struct cf_service_view *sv = view_of(v, n, names[i]);
		if (cf_store_service_owner(s, names[i], sv->assigned, err) ==
		    -1)
			goto out;
	}
	rc = 0;
out:
	cf_store_rollback(s);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The assigned certificate's first domain and notAfter. */
static int
assigned_facts(struct cf_store *s, const char *thumb, char **first,
    time_t *not_after, struct cf_error *err)
{
	struct cf_row row;
	int found;

	*first = NULL;
	memset(&row, 0, sizeof(row));
	if (cf_store_begin_read(s, err) == -1)
		return -1;
	found = cf_store_fetch(s, thumb, &row, err);
	cf_store_rollback(s);
	if (found == -1)
		return -1;
	if (found == 1) {
		*first = xstrdup(row.f.domains ? row.f.domains : "");
		(*first)[strcspn(*first, ",")] = '\0';
		*not_after = row.f.not_after;
	}
	cf_row_clear(&row);
	return 0;
}

/* Whether the assignment of name was ever deployed here. */
static int
is_deployed(
    struct cf_store *s, const char *name, int *deployed, struct cf_error *err)
{
	int rc;

	if (cf_store_begin_read(s, err) == -1)
		return -1;
	rc = cf_store_service_is_deployed(s, name, deployed, err);
	cf_store_rollback(s);
	return rc;
}

/*
 * Compares what is meant, what is on disk and what is served.  Every
 * fix it suggests is a command in backticks, so that the CLI can name
 * the server it ran against in it.
 */
static void
judge(struct cf_service_view *v, const struct cf_service *svc, int deployed,
    const struct cf_intent *deploying, const char *disk_error, int probed,
    const char *probe_error)
{
	char when[21];

	if (svc == NULL) {
		v->match = -1;
		v->problem = xasprintf("recorded only: this server has no "
				       "[service %s], nothing is deployed",
		    v->name);
	} else if (deploying != NULL) {
		/* Deploys run outside the store's transactions: files,
		 * reload and handshake may be anywhere between the two
		 * certificates until the outcome is committed.  That is
		 * not drift, and not to be "fixed" by a second enable. */
		cf_time_iso(deploying->started, when);
		v->match = -1;
		v->problem = xasprintf("deploying %.8s now (since %s, by %s): "
				       "look again when it is done",
		    deploying->thumb, when, deploying->actor);
	} else if (v->assigned[0] == '\0') {
		v->match = -1;
		v->problem = xasprintf("no certificate assigned: run "
				       "`certfleet enable THUMBPRINT "
				       "--services %s`",
		    v->name);
	} else if (disk_error != NULL) {
		/* A link is not followed: what it points to is not what the
		 * service's path holds for certfleet, and enable refuses it. */
		v->match = 0;
		v->problem =
		    xasprintf("its files cannot be read: %s", disk_error);
	} else if (strcmp(v->on_disk, v->assigned) != 0 && !deployed) {
		/* Assigned where nothing deploys (certfleetd init, a store
		 * changed with --store): not drift, a step still to take. */
		v->match = -1;
		v->problem = xasprintf("assigned, not yet deployed: run "
				       "`certfleet enable %.8s --services %s`",
		    v->assigned, v->name);
	} else if (strcmp(v->on_disk, v->assigned) != 0) {
		v->match = 0;
		v->problem =
		    v->on_disk[0] == '\0'
			? xasprintf("the files are missing or hold no "
				    "certificate; `certfleet enable "
				    "%.8s --services %s` writes them",
			      v->assigned, v->name)
			: xasprintf("the files hold %.8s, not the "
				    "assigned %.8s: changed outside "
				    "certfleet; `certfleet enable %.8s "
				    "--services %s` puts it back",
			      v->on_disk, v->assigned, v->assigned, v->name);
	} else if (probe_error != NULL) {
		v->match = 0;
		v->problem = xasprintf("check failed: %s", probe_error);
	} else if (probed && svc->check_host != NULL &&
		   strcmp(v->served, v->on_disk) != 0) {
		v->match = 0;
		v->problem = xasprintf(
		    "serves %.8s, not the %.8s its files hold: the service "
		    "was not reloaded; `certfleet enable %.8s --services %s` "
		    "reloads it",
		    v->served, v->on_disk, v->assigned, v->name);
	} else {
		v->match = 1;
		v->problem = xstrdup("");
	}
}

/* One view's handshake, run on a thread of its own. */
struct look {
	struct cf_service_view *v;
	const struct cf_service *svc;
	char *first;  /* the assigned certificate's first domain, or NULL */
	int deployed; /* the assignment reached the files here once */
	const struct cf_intent *deploying; /* a deploy under way, or NULL */
	int unreadable; /* disk_err says why the files cannot be read */
	struct cf_error disk_err;
	int probed, failed;
	struct cf_error err;
};

/* Fills what the store and the files say of one view. */
static int
look_local(struct cf_store *s, struct look *l, struct cf_error *err)
{
	struct cf_service_view *v = l->v;
	const struct cf_service *svc = l->svc;
	time_t dummy;

	if (v->assigned[0] != '\0' &&
	    (assigned_facts(s, v->assigned, &l->first, &v->not_after, err) ==
		    -1 ||
		is_deployed(s, v->name, &l->deployed, err) == -1))
		return -1;
	v->kind = xstrdup(svc ? svc->kind->name : "");
	v->endpoint =
	    svc ? cf_service_endpoint(svc, l->first) : xstrdup("none");
	v->check_host = xstrdup(svc && svc->check_host ? svc->check_host : "");
	v->check_port = xstrdup(svc && svc->check_port ? svc->check_port : "");
	v->proto = cf_probe_proto_name(svc ? svc->proto : CF_PROBE_TLS);
	v->sni = xstrdup(svc && svc->check_name ? svc->check_name
			 : l->first             ? l->first
						: "");
	if (svc != NULL && svc->chain == NULL && svc->pem == NULL)
		/* only a key file: nothing to read a thumbprint from */
		memcpy(v->on_disk, v->assigned, sizeof(v->on_disk));
	else if (svc != NULL && cf_file_leaf(svc->chain ? svc->chain : svc->pem,
				    v->on_disk, &dummy, &l->disk_err) == -1) {
		v->on_disk[0] = '\0';
		l->unreadable = 1;
	}
	return 0;
}

/* The handshake of one view (a thread's body). */
static void *
look_live(void *arg)
{
	struct look *l = arg;
	const struct cf_service *svc = l->svc;
	int t = svc->timeout_ms < PROBE_TIMEOUT_MS ? svc->timeout_ms
						   : PROBE_TIMEOUT_MS;
	struct cf_probe probe;

	if (cf_service_check(svc, l->first && l->first[0] ? l->first : NULL,
		NULL, t, &probe, &l->err) == -1)
		l->failed = 1;
	else {
		memcpy(l->v->served, probe.thumbprint, sizeof(l->v->served));
		l->v->not_after = probe.not_after;
	}
	cf_probe_clear(&probe);
	return NULL;
}

/*
 * The handshakes of every view with a check endpoint, PROBE_THREADS at a
 * time: a service that does not answer costs its timeout once, not once
 * per service after it.
 */
static void
look_all_live(struct look *l, size_t n)
{
	pthread_t tid[PROBE_THREADS];
	size_t i = 0, k, started;

	while (i < n) {
		for (started = 0; i < n && started < PROBE_THREADS; i++) {
			if (l[i].svc == NULL || l[i].svc->check_host == NULL)
				continue;
			l[i].probed = 1;
			if (pthread_create(
				&tid[started], NULL, look_live, &l[i]) == 0)
				started++;
			else
				look_live(&l[i]);
		}
		for (k = 0; k < started; k++)
			pthread_join(tid[k], NULL);
	}
}

int
cf_op_services(struct cf_store *s, int probe, struct cf_service_view **out,
    size_t *n, struct cf_error *err)
{
	const struct cf_services *conf = cf_store_services(s);
	struct cf_service_view *v = NULL;
	struct cf_intent *intents = NULL;
	struct look *looks = NULL;
	size_t nv = 0, nl = 0, ni = 0, i, k;
	int rc = -1;

	*out = NULL;
	*n = 0;
	for (i = 0; i < cf_services_count(conf); i++)
		view_of(&v, &nv, cf_services_at(conf, i)->name);
	if (read_assigned(s, &v, &nv, err) == -1 ||
	    cf_store_deploy_list(s, &intents, &ni, err) == -1)
		goto out;
	nl = nv;
	looks = xcalloc(nl + 1, sizeof(*looks));
	for (i = 0; i < nv; i++) {
		looks[i].v = &v[i];
		looks[i].svc = cf_services_find(conf, v[i].name);
		for (k = 0; k < ni; k++)
			if (strcmp(intents[k].service, v[i].name) == 0)
				looks[i].deploying = &intents[k];
		if (look_local(s, &looks[i], err) == -1)
			goto out;
	}
	if (probe)
		look_all_live(looks, nv);
	for (i = 0; i < nv; i++)
		judge(&v[i], looks[i].svc, looks[i].deployed,
		    looks[i].deploying,
		    looks[i].unreadable ? looks[i].disk_err.msg : NULL,
		    looks[i].probed, looks[i].failed ? looks[i].err.msg : NULL);
	*out = v;
	*n = nv;
	v = NULL;
	nv = 0;
	rc = 0;
out:
	for (i = 0; i < nl; i++)
		free(looks[i].first);
	free(looks);
	cf_intents_free(intents, ni);
	cf_service_views_free(v, nv);
	return rc;
}
