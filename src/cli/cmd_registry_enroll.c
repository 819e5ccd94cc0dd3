/*
 * cmd_registry_enroll.c - `certfleet registry enroll AGENT
 * [--password-file F]` and `registry unenroll AGENT`: the etcd user
 * and role an agent's [registry] section logs in with, made through
 * etcd's auth API (which only a root user may call) so that the agent
 * may read the whole fleet but the other agents' sealed material, and
 * write only its own keys (schema.h, "Written by the agents").
 *
 * Enroll can be run again: a user or role that exists is kept (the
 * user's password too), the role loses any permission that is not the
 * agent's and gets the agent's again; unenroll then enroll starts the
 * agent afresh.  The password comes from a file, stdin
 * or a no-echo prompt, never argv, and is wiped once sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "password.h"
#include "registry_int.h"
#include "registry_move.h"

/* What an agent's role may do, under the prefix. */
struct grant {
	enum etcd_perm perm;
	char *key, *end; /* [key, end) */
};
#define NGRANTS 6

static const char *
perm_name(enum etcd_perm p)
{
	return p == ETCD_PERM_READ    ? "read"
	       : p == ETCD_PERM_WRITE ? "write"
				      : "readwrite";
}

/* The end of the range of keys under dir ("P/x/": "P/x0"), new. */
static char *
dir_end(const char *dir)
{
	char *end = xstrdup(dir);

	end[strlen(end) - 1]++; /* '/' + 1 = '0' */
	return end;
}

/* The grants of agent a under prefix into g[NGRANTS]: read on
 * [P/agents/, P/sealed/), readwrite on P/agents/a/, P/elect/a/ and
 * P/progress/a/, read on P/sealed/a/ and on P/waves/ (the rollouts'
 * plans, which coordinators read). */
static void
grants_make(const char *prefix, const char *a, struct grant *g)
{
	static const struct {
		const char *dir;
		enum etcd_perm perm;
	} own[] = {{"agents", ETCD_PERM_READWRITE},
	    {"elect", ETCD_PERM_READWRITE}, {"progress", ETCD_PERM_READWRITE},
	    {"sealed", ETCD_PERM_READ}};
	char *sub;
	size_t i;

	g[0].perm = ETCD_PERM_READ;
	schema_agent_range(prefix, &g[0].key, &g[0].end);
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		sub = xasprintf("%s/%s/", own[i].dir, a);
		g[i + 1].perm = own[i].perm;
		g[i + 1].key = schema_dir(prefix, sub);
		g[i + 1].end = dir_end(g[i + 1].key);
		free(sub);
	}
	g[i + 1].perm = ETCD_PERM_READ;
	g[i + 1].key = schema_dir(prefix, "waves/");
	g[i + 1].end = dir_end(g[i + 1].key);
}

static void
grants_clear(struct grant *g)
{
	size_t i;

	for (i = 0; i < NGRANTS; i++) {
		free(g[i].key);
		free(g[i].end);
	}
}

/* Whether err says that what was to be made exists already. */
static int
exists(const struct cf_error *err)
{
	return err->code == CF_E_CONFLICT &&
	       strstr(err->msg, "already exists") != NULL;
}

/* Adds to an auth API failure what to do about it; -1. */
static int
auth_hint(struct cf_error *err)
{
	if (err->code == CF_E_DENIED || err->code == CF_E_USAGE)
		return cf_error_append(err,
		    " (enrolling calls etcd's auth API, which only an etcd "
		    "root user may: give the fleet's registry an etcd user "
		    "with the root role, `certfleet registry set etcd --user "
		    "root --password-file FILE`)");
	return registry_hint(err);
}

/* Sends req; 0, 1 when etcd says it exists already, -1 with err. */
static int
call(struct etcd *e, struct etcd_req *req, struct cf_error *err)
{
	struct etcd_reply *reply = NULL;
	int rc = etcd_call_wait(e, req, &reply, err);

	etcd_reply_free(reply);
	if (rc == -1 && exists(err)) {
		cf_error_clear(err);
		return 1;
	}
	return rc == -1 ? auth_hint(err) : 0;
}

/* Whether g, one of the role's permissions, is among the n wanted. */
static int
wanted(const struct etcd_grant *g, const struct grant *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g->perm == w[i].perm && g->key_len == strlen(w[i].key) &&
		    memcmp(g->key, w[i].key, g->key_len) == 0 &&
		    g->range_end_len == strlen(w[i].end) &&
		    memcmp(g->range_end, w[i].end, g->range_end_len) == 0)
			return 1;
	return 0;
}

/*
 * Takes from an existing role every permission that is not one of g, so
 * that a rerun (after a prefix changed, or a grant added by hand) leaves
 * exactly the agent's grants.
 */
static int
prune(struct etcd *e, const char *role, const struct grant *g,
    struct cf_error *err)
{
	struct etcd_reply *reply = NULL;
	const struct etcd_grant *x;
	size_t i;
	int rc = -1;

	if (etcd_call_wait(e, etcd_req_role_get(role), &reply, err) == -1) {
		auth_hint(err);
		goto out;
	}
	for (i = 0; i < reply->n_grants; i++) {
		x = &reply->grants[i];
		if (!wanted(x, g, NGRANTS) &&
		    call(e,
			etcd_req_role_revoke(role, x->key, x->key_len,
			    x->range_end_len > 0 ? x->range_end : NULL,
			    x->range_end_len),
			err) == -1)
			goto out;
	}
	rc = 0;
out:
	etcd_reply_free(reply);
	return rc;
}

/* The enrolment as text or JSON. */
static void
report(const char *agent, const char *user, int existed, const struct grant *g)
{
	json_t *a;
	size_t i;

	if (cli.json) {
		a = json_array();
		for (i = 0; i < NGRANTS; i++)
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s}", "Permission",
				   perm_name(g[i].perm), "Key", g[i].key,
				   "RangeEnd", g[i].end));
		out_json(json_pack("{s:s, s:s, s:s, s:b, s:o}", "Agent", agent,
		    "User", user, "Role", user, "Existed", existed, "Grants",
		    a));
		return;
	}
	printf("enrolled %s: etcd user and role %s%s\n", agent, user,
	    existed ? " (the user existed: its password is unchanged; "
		      "unenroll, then enroll, to set a new one)"
		    : "");
	for (i = 0; i < NGRANTS; i++)
		printf("  %-9s [%s, %s)\n", perm_name(g[i].perm), g[i].key,
		    g[i].end);
	printf("its certfleetd.conf [registry] section logs in as %s with "
	       "that password\n",
	    user);
}

int
registry_enroll(const struct fleet *f, const char *agent, const char *pwfile,
    struct cf_error *err)
{
	const struct fleet_registry *r = fleet_registry_get(f);
	struct grant g[NGRANTS] = {{0}};
	struct cf_secret *pw = NULL;
	struct etcd *e = NULL;
	char *user = NULL;
	size_t i;
	int rc = -1, existed, role_existed;

	if (schema_name_check(agent, err) == -1)
		return -1;
	user = xasprintf("certfleet-agent-%s", agent);
	if (cf_password(
		pwfile, 1, 1, "etcd password for the agent: ", &pw, err) == -1)
		goto out;
	if (pw == NULL || pw->len == 0) {
		cf_errorf(err, CF_E_USAGE,
		    "%s: no password for its etcd user (--password-file "
		    "FILE, - for stdin, or a terminal to ask on)",
		    agent);
		goto out;
	}
	if ((e = registry_etcd_open(r, err)) == NULL)
		goto out;
	grants_make(registry_prefix(r), agent, g);
	if ((existed = call(e, etcd_req_user_add(user, pw), err)) == -1 ||
	    (role_existed = call(e, etcd_req_role_add(user), err)) == -1 ||
	    (role_existed && prune(e, user, g, err) == -1))
		goto out;
	for (i = 0; i < NGRANTS; i++)
		if (call(e,
			etcd_req_role_grant(user, g[i].perm, g[i].key,
			    strlen(g[i].key), g[i].end, strlen(g[i].end)),
			err) == -1)
			goto out;
	if (call(e, etcd_req_user_grant(user, user), err) == -1)
		goto out;
	report(agent, user, existed, g);
	rc = 0;
out:
	if (rc == -1)
		cf_error_prefix(err, "%s: ", agent);
	grants_clear(g);
	cf_secret_free(pw);
	etcd_free(e);
	free(user);
	return rc;
}

/* Whether err says what was to be deleted is not there. */
static int
absent(const struct cf_error *err)
{
	return strstr(err->msg, "not found") != NULL;
}

int
registry_unenroll(
    const struct fleet *f, const char *agent, struct cf_error *err)
{
	struct etcd_reply *reply = NULL;
	struct etcd *e = NULL;
	char *user = NULL;
	int rc = -1, gone = 0;

	if (schema_name_check(agent, err) == -1)
		return -1;
	user = xasprintf("certfleet-agent-%s", agent);
	if ((e = registry_etcd_open(fleet_registry_get(f), err)) == NULL)
		goto out;
	if (etcd_call_wait(e, etcd_req_user_delete(user), &reply, err) == -1) {
		if (!absent(err)) {
			auth_hint(err);
			goto out;
		}
		cf_error_clear(err);
		gone++;
	}
	etcd_reply_free(reply);
	reply = NULL;
	if (etcd_call_wait(e, etcd_req_role_delete(user), &reply, err) == -1) {
		if (!absent(err)) {
			auth_hint(err);
			goto out;
		}
		cf_error_clear(err);
		gone++;
	}
	if (gone == 2) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "not enrolled: etcd has no user or role %s", user);
		goto out;
	}
	if (cli.json)
		out_json(json_pack("{s:s, s:s, s:s}", "Agent", agent, "User",
		    user, "Role", user));
	else
		printf("unenrolled %s: etcd user and role %s deleted (its "
		       "agent can no longer reach the registry)\n",
		    agent, user);
	rc = 0;
out:
	if (rc == -1)
		cf_error_prefix(err, "%s: ", agent);
	etcd_reply_free(reply);
	etcd_free(e);
	free(user);
	return rc;
}
