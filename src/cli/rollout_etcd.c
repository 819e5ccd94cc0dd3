/*
 * rollout_etcd.c - a rollout handed to the agents of an etcd registry:
 * see rollout_etcd.h.  Everything that can be wrong with the input is
 * found before anything is written: the namespace and its members, the
 * source and the certificate, each member's registered identity against
 * the fleet's pin, and the seals themselves (the source refuses a
 * member that is not its transfer peer).  Only then the transactions
 * write every member's sealed key (its wave, and the sealed material
 * but for the source), the plan (waves/<ns>: the members, which desired
 * no longer carries, so that no agent reads the member list at each
 * change) and desired, each on condition that desired and the
 * namespace's spec are still at the revisions read: a second admin who
 * changed either meanwhile makes this one fail, and the reverse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "cli.h"
#include "copy.h"
#include "output.h"
#include "registry_int.h"
#include "registry_view.h"
#include "rollout_etcd.h"
#include "rollout_plan.h"

/* etcd's --max-txn-ops default, less the two compares. */
#define TXN_PUTS 126

/* What a new rollout found and made before it writes. */
struct plan {
	char *path;
	struct fleet *f;
	const struct fleet_ns *ns;
	struct rview v;
	struct rview_ns rn;
	struct client_target *t;
	size_t n;
	struct cf_wave *w;
	size_t nw;
	char *from;
	char thumb[CF_THUMB_LEN + 1];
	char **pems;   /* each member's identity certificate */
	char **sealed; /* each member's sealed/<m>/<ns> value */
	size_t *wave;  /* each member's wave, from 1 */
	char id[33];
};

static void
plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->pems ? p->pems[i] : NULL);
		free(p->sealed ? p->sealed[i] : NULL);
	}
	free(p->pems);
	free(p->sealed);
	free(p->wave);
	client_targets_free(p->t, p->n);
	free(p->w);
	free(p->from);
	rview_ns_clear(&p->rn);
	rview_clear(&p->v);
	fleet_free(p->f);
	free(p->path);
}

int
rollout_etcd_wanted(void)
{
	struct fleet *f = NULL;
	struct cf_error err;
	char *path = NULL;
	int rc;

	cf_error_clear(&err);
	if ((path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load_file(path, &err)) == NULL) {
		cli_fail("rollout", &err);
		rc = -1;
	} else
		rc = fleet_registry_get(f)->etcd;
	fleet_free(f);
	free(path);
	return rc;
}

/*
 * The registry's view, then the fleet, then the namespace with --waves
 * and --soak applied to the copy in memory (checked by fleet_ns_put as
 * namespace set would).  The view first: the transaction is fenced on
 * the revisions it saw, so a change to the spec or desired made before
 * the fleet was read refuses it too.
 */
static int
load(const struct rollout_etcd_args *a, struct plan *p, struct cf_error *err)
{
	struct fleet *file = NULL;
	struct fleet_ns in;
	int rc;

	if ((p->path = fleet_path(0, err)) == NULL ||
	    (file = fleet_load_file(p->path, err)) == NULL)
		return -1;
	rc = rview_read(file, &p->v, err);
	fleet_free(file);
	if (rc == -1 || (p->f = fleet_load(p->path, err)) == NULL)
		return -1;
	if ((p->ns = fleet_ns_find(p->f, a->ns)) == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (certfleet namespace list shows "
		    "them; namespace add creates one)",
		    a->ns);
	if (a->waves != NULL || a->soak != NULL) {
		in = *p->ns;
		if (a->soak != NULL &&
		    fleet_duration_parse(a->soak, &in.soak_s, err) == -1)
			return -1;
		if (a->waves != NULL)
			in.waves = (char *)a->waves;
		if (fleet_ns_put(p->f, &in, 0, err) == -1)
			return -1;
		p->ns = fleet_ns_find(p->f, a->ns);
	}
	return rview_ns_get(&p->v, p->ns->name, &p->rn, err);
}

/* Where the namespace's rollout stands (lent): merged when the agents
 * drive it, else as desired says. */
static const struct cf_rstate *
state_of(const struct plan *p)
{
	return p->rn.agents ? &p->rn.st : &p->rn.d.r;
}

/* Whether reply r holds one certificate with its key. */
static int
holds(const struct backend_reply *r)
{
	return r->err.code == CF_OK && r->nviews == 1 && r->views[0].has_key &&
	       strcmp(r->views[0].status, "PendingRequest") != 0;
}

/*
 * The source: --from (a server of the fleet), else the first member
 * that holds the certificate with its key; its full thumbprint into
 * p->thumb.  0 or -1 with err.
 */
static int
find_source(
    const struct rollout_etcd_args *a, struct plan *p, struct cf_error *err)
{
	const char *list = a->from != NULL ? a->from : p->ns->servers;
	struct backend_reply *r = NULL;
	struct backend *b = NULL;
	struct backend_req req;
	size_t i;
	int rc = -1;

	if (a->from != NULL && fleet_find(p->f, a->from) == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "--from %s: no such server in the fleet (certfleet fleet "
		    "list)",
		    a->from);
	if (copy_open_agents("rollout", list, &b) != 0)
		return cf_errorf(err, CF_E_IO,
		    "%s: not reached (above); nothing written", list);
	memset(&req, 0, sizeof(req));
	req.arg = a->thumb;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_GET, &req, r);
	for (i = 0; i < backend_count(b) && p->from == NULL; i++)
		if (holds(&r[i])) {
			p->from = xstrdup(backend_server(b, i));
			snprintf(p->thumb, sizeof(p->thumb), "%s",
			    r[i].views[0].thumbprint);
		}
	if (p->from != NULL)
		rc = 0;
	else if (a->from != NULL && r[0].err.code != CF_OK &&
		 r[0].err.code != CF_E_NOTFOUND)
		cf_errorf(
		    err, r[0].err.code, "--from %s: %s", a->from, r[0].err.msg);
	else
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: %s holds no such certificate with its key%s", a->thumb,
		    a->from != NULL ? a->from : "no server of the namespace",
		    a->from != NULL ? " (import it there first, or name the "
				      "server that holds it)"
				    : " (of those that answered; give --from "
				      "SERVER, the one that does)");
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}

/* Member name's registered identity (PEM, new into *pem), checked
 * against the fleet's pin; CF_E_NOTFOUND or CF_E_DENIED saying what to
 * do otherwise. */
static int
identity_of(const struct plan *p, const struct client_target *t, char **pem,
    struct cf_error *err)
{
	char *key =
	    schema_key(p->v.prefix, SCHEMA_AGENT_IDENTITY, NULL, t->name, err);
	char fp[CF_FP_LEN + 1];
	const struct etcd_kv *kv = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	size_t i;
	int rc = -1;

	*pem = NULL;
	for (i = 0; key != NULL && i < p->v.reply->n_kvs && kv == NULL; i++)
		if (p->v.reply->kvs[i].key_len == strlen(key) &&
		    memcmp(p->v.reply->kvs[i].key, key, strlen(key)) == 0)
			kv = &p->v.reply->kvs[i];
	if (key != NULL && kv == NULL)
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: never registered: start its agent with a [registry] "
		    "section (certfleetd.conf), then run the rollout again",
		    t->name);
	if (kv == NULL || schema_identity_parse(
			      key, kv->value, kv->value_len, pem, err) == -1)
		goto out;
	if ((b = BIO_new_mem_buf(*pem, -1)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		cf_errorf(err, CF_E_PARSE, "%s: not a PEM certificate", key);
		goto out;
	}
	cf_cert_fingerprint(x, fp);
	if (strcmp(fp, t->fingerprint) != 0) {
		cf_errorf(err, CF_E_DENIED,
		    "%s: the identity it registered is %s, not %s that the "
		    "fleet pins: if that agent was re-keyed, check and pin it "
		    "again (certfleet fleet remove, fleet add); else someone "
		    "else wrote %s",
		    t->name, fp, t->fingerprint, key);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*pem);
		*pem = NULL;
	}
	X509_free(x);
	BIO_free(b);
	free(key);
	return rc;
}

/* The members, their waves, the source and every identity. */
static int
check_new(
    const struct rollout_etcd_args *a, struct plan *p, struct cf_error *err)
{
	char *never = NULL, *next;
	size_t i, k;

	if (cf_rstate_check_start(state_of(p), p->ns->name, err) == -1 ||
	    fleet_resolve(p->f, p->ns->servers, NULL, &p->t, &p->n, err) == -1)
		return -1;
	if (p->n == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: the namespace has no servers (namespace set %s "
		    "--servers ...)",
		    p->ns->name, p->ns->name);
	if (cf_rollout_plan(p->n, p->ns->waves, &p->w, &p->nw, err) == -1)
		return -1;
	p->wave = xcalloc(p->n, sizeof(*p->wave));
	for (i = 0; i < p->nw; i++)
		for (k = p->w[i].first; k < p->w[i].first + p->w[i].count; k++)
			p->wave[k] = i + 1;
	p->pems = xcalloc(p->n, sizeof(*p->pems));
	for (i = 0; i < p->n; i++) {
		if (identity_of(p, &p->t[i], &p->pems[i], err) == 0)
			continue;
		if (err->code != CF_E_NOTFOUND)
			return -1;
		/* every member that never registered, in one message */
		next = xasprintf("%s%s%s", never ? never : "",
		    never ? ", " : "", p->t[i].name);
		free(never);
		never = next;
	}
	if (never != NULL) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: never registered: start %s agent with a [registry] "
		    "section (certfleetd.conf), then run the rollout again",
		    never, strchr(never, ',') != NULL ? "each one's" : "its");
		free(never);
		return -1;
	}
	return find_source(a, p, err);
}

/* Each member's sealed value: its wave, and what the source sealed to
 * that member alone (none for the source). */
static int
seal_all(struct plan *p, struct cf_error *err)
{
	struct schema_sealed s;
	struct backend_reply *r = NULL;
	struct backend *src = NULL;
	struct backend_req req;
	const char *one[1];
	size_t i;
	int rc = -1;

	if (copy_open_agents("rollout", p->from, &src) != 0)
		return cf_errorf(err, CF_E_IO,
		    "%s: not reached (above); nothing written", p->from);
	p->sealed = xcalloc(p->n, sizeof(*p->sealed));
	for (i = 0; i < p->n; i++) {
		memset(&s, 0, sizeof(s));
		memcpy(s.thumbprint, p->thumb, sizeof(s.thumbprint));
		memcpy(s.rollout, p->id, sizeof(s.rollout));
		s.wave = p->wave[i];
		/* the source holds it already: nothing to seal, and an
		 * agent is no transfer peer of its own */
		if (strcmp(p->t[i].name, p->from) == 0) {
			p->sealed[i] = schema_sealed_value(&s);
			continue;
		}
		memset(&req, 0, sizeof(req));
		one[0] = p->pems[i];
		req.arg = p->thumb;
		req.recipients = one;
		req.nrecipients = 1;
		r = backend_replies_new(src);
		backend_run(src, BACKEND_EXPORT_SEALED, &req, r);
		if (r[0].err.code != CF_OK) {
			cf_errorf(err, r[0].err.code, "%s: sealing for %s: %s",
			    p->from, p->t[i].name, r[0].err.msg);
			goto out;
		}
		s.blob = r[0].data; /* lent: freed with r */
		p->sealed[i] = schema_sealed_value(&s);
		backend_replies_free(r, 1);
		r = NULL;
	}
	rc = 0;
out:
	if (r != NULL)
		backend_replies_free(r, 1);
	backend_free(src);
	return rc;
}

/* The rollout's state: running from wave 1, every member waiting, into
 * *st (cf_rstate_clear). */
static void
state_new(const struct plan *p, struct cf_rstate *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->state = CF_RS_RUNNING;
	memcpy(st->certificate, p->thumb, sizeof(st->certificate));
	snprintf(st->previous, sizeof(st->previous), "%s", p->rn.d.thumbprint);
	st->from = xstrdup(p->from);
	st->waves = xstrdup(p->ns->waves);
	st->soak_s = p->ns->soak_s;
	st->wave = 1;
	st->nwaves = p->nw;
	st->started = st->updated = (long long)time(NULL);
	for (i = 0; i < p->n; i++)
		cf_rstate_add(st, p->t[i].name, p->wave[i]);
}

/* Desired's value for st: the rollout without its members (they are in
 * waves/<ns>); new. */
static char *
desired_of(const char *thumb, const struct cf_rstate *st, const char *id)
{
	json_t *j = cf_rstate_json(st);
	char *value;

	json_object_set_new(j, "members", json_array());
	value = schema_desired_value_agents(thumb, j, id);
	json_decref(j);
	return value;
}

/* waves/<ns>'s value: st's members and their waves under id; new. */
static char *
plan_of(const struct cf_rstate *st, const char *id)
{
	struct schema_plan plan;
	char *value;
	size_t i;

	memset(&plan, 0, sizeof(plan));
	snprintf(plan.rollout, sizeof(plan.rollout), "%s", id);
	plan.m = xcalloc(st->n ? st->n : 1, sizeof(*plan.m));
	for (i = 0; i < st->n; i++) {
		snprintf(plan.m[i].name, sizeof(plan.m[i].name), "%s",
		    st->m[i].name);
		plan.m[i].wave = st->m[i].wave;
	}
	plan.n = st->n;
	value = schema_plan_value(&plan);
	free(plan.m);
	return value;
}

/* The mod revision of the key of kind for ns in the view (0: none). */
static int64_t
mod_of(const struct plan *p, enum schema_kind kind)
{
	struct cf_error err;
	char *key = schema_key(p->v.prefix, kind, p->ns->name, NULL, &err);
	int64_t rev = 0;
	size_t i;

	for (i = 0; key != NULL && i < p->v.reply->n_kvs; i++)
		if (p->v.reply->kvs[i].key_len == strlen(key) &&
		    memcmp(p->v.reply->kvs[i].key, key, strlen(key)) == 0)
			rev = p->v.reply->kvs[i].mod_revision;
	free(key);
	return rev;
}

/* A transaction of puts keys[i..end) fenced on desired and the spec as
 * p read them. */
static struct etcd_req *
txn_fenced(const struct plan *p, char **keys, char **values, size_t i,
    size_t end, struct cf_error *err)
{
	struct etcd_req *txn = etcd_req_txn();
	char *key;

	key =
	    schema_key(p->v.prefix, SCHEMA_NS_DESIRED, p->ns->name, NULL, err);
	etcd_txn_compare(
	    txn, key, strlen(key), ETCD_MOD, ETCD_EQUAL, p->rn.d.rev, NULL, 0);
	free(key);
	key = schema_key(p->v.prefix, SCHEMA_NS_SPEC, p->ns->name, NULL, err);
	etcd_txn_compare(txn, key, strlen(key), ETCD_MOD, ETCD_EQUAL,
	    mod_of(p, SCHEMA_NS_SPEC), NULL, 0);
	free(key);
	for (; i < end; i++)
		etcd_txn_op(txn, 1,
		    etcd_req_put(keys[i], strlen(keys[i]), values[i],
			strlen(values[i]), 0, 0));
	return txn;
}

/*
 * Writes the puts (keys[i], values[i], n of them; the last two are the
 * plan and desired, which go together in the last transaction) fenced
 * on desired and the spec as read.  More than etcd takes in one
 * transaction goes first in as many more, each fenced alike: sealed
 * keys of a rollout id that desired never names are never opened, and
 * a change made meanwhile stops the writing at the next transaction.
 * *rev: the revision made.
 */
static int
write_fenced(const struct plan *p, char **keys, char **values, size_t n,
    int64_t *rev, struct cf_error *err)
{
	struct etcd_reply *done = NULL;
	struct etcd *e = NULL;
	size_t i = 0, end;
	int rc = -1;

	if ((e = registry_etcd_open(fleet_registry_get(p->f), err)) == NULL)
		return -1;
	for (; i < n; i = end) {
		end = n - i > TXN_PUTS ? i + TXN_PUTS : n;
		if (n - end < 2 && end < n)
			end = n - 2; /* the plan goes with desired */
		etcd_reply_free(done);
		done = NULL;
		if (etcd_call_wait(e, txn_fenced(p, keys, values, i, end, err),
			&done, err) == -1) {
			registry_hint(err);
			goto out;
		}
		if (!done->succeeded) {
			cf_errorf(err, CF_E_CONFLICT,
			    "%s: the namespace or its desired state changed "
			    "in the registry since this command read it; %s "
			    "(certfleet status %s, then run it again)",
			    p->ns->name,
			    i == 0 ? "nothing written"
				   : "desired not written: what was written "
				     "is never used",
			    p->ns->name);
			goto out;
		}
	}
	*rev = done->revision;
	rc = 0;
out:
	etcd_reply_free(done);
	etcd_free(e);
	return rc;
}

/* What was handed over, as text or JSON. */
static void
report(const struct plan *p, const struct cf_rstate *st, const char *id,
    const char *verb, int64_t rev)
{
	const char *ns = p->ns->name;

	if (cli.json) {
		out_json(json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I, "
				   "s:b, s:I}",
		    "Namespace", ns, "Action", verb, "Rollout", id, "State",
		    cf_rstate_run_name(st->state), "Certificate",
		    st->certificate[0] ? st->certificate : NULL, "Wave",
		    (json_int_t)st->wave, "Waves", (json_int_t)st->nwaves,
		    "Members", (json_int_t)st->n, "Agents", 1, "Revision",
		    (json_int_t)rev));
		return;
	}
	printf("rollout of %.8s to %s %s: %zu %s in %zu %s, rollout %s "
	       "(etcd revision %lld)\n",
	    st->certificate, ns, verb, st->n, st->n == 1 ? "server" : "servers",
	    st->nwaves, st->nwaves == 1 ? "wave" : "waves", id, (long long)rev);
	if (st->state == CF_RS_ABORTED)
		printf(
		    "the agents put back what each server had before; follow "
		    "it with `certfleet status %s`\n",
		    ns);
	else
		printf("the agents move it now, wave by wave; follow it with "
		       "`certfleet status %s`; `certfleet rollout %s --abort` "
		       "puts it back\n",
		    ns, ns);
}

/* A new rollout: checked, sealed, then written. */
static int
start(const struct rollout_etcd_args *a, struct plan *p, struct cf_error *err)
{
	unsigned char raw[16];
	char **keys = NULL, **values = NULL;
	struct cf_rstate st;
	size_t i, nkeys = 0;
	int64_t rev;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	if (check_new(a, p, err) == -1)
		return -1;
	if (a->dry_run)
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	for (i = 0; i < sizeof(raw); i++)
		snprintf(p->id + 2 * i, 3, "%02x", raw[i]);
	if (seal_all(p, err) == -1)
		return -1;
	keys = xcalloc(p->n + 2, sizeof(*keys));
	values = xcalloc(p->n + 2, sizeof(*values));
	for (i = 0; i < p->n; i++) {
		keys[nkeys] = schema_key(
		    p->v.prefix, SCHEMA_SEALED, p->ns->name, p->t[i].name, err);
		values[nkeys++] = xstrdup(p->sealed[i]);
	}
	state_new(p, &st);
	keys[nkeys] =
	    schema_key(p->v.prefix, SCHEMA_PLAN, p->ns->name, NULL, err);
	values[nkeys++] = plan_of(&st, p->id);
	keys[nkeys] =
	    schema_key(p->v.prefix, SCHEMA_NS_DESIRED, p->ns->name, NULL, err);
	values[nkeys++] = desired_of(p->thumb, &st, p->id);
	if (write_fenced(p, keys, values, nkeys, &rev, err) == -1)
		goto out;
	report(p, &st, p->id, "handed to the agents", rev);
	rc = 0;
out:
	for (i = 0; i < nkeys; i++) {
		free(keys[i]);
		free(values[i]);
	}
	free(keys);
	free(values);
	cf_rstate_clear(&st);
	return rc;
}

/*
 * --resume (a stopped rollout of the agents: running again from the
 * wave it stopped in) or --abort (back to the previous certificate):
 * desired rewritten, the same id.
 */
static int
again(const struct rollout_etcd_args *a, struct plan *p, struct cf_error *err)
{
	const struct cf_rstate *now = state_of(p);
	struct cf_rstate st;
	char *key = NULL, *value = NULL;
	json_t *j = NULL;
	int64_t rev;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	if ((a->resume ? cf_rstate_check_resume(now, p->ns->name, err)
		       : cf_rstate_check_abort(now, p->ns->name, err)) == -1)
		return -1;
	if (a->resume && (now->state != CF_RS_STOPPED || !p->rn.agents))
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: the rollout is %s, not stopped: the agents move it "
		    "(certfleet status %s)",
		    p->ns->name, cf_rstate_run_name(now->state), p->ns->name);
	if (a->thumb != NULL &&
	    strncmp(now->certificate, a->thumb, strlen(a->thumb)) != 0)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: the rollout under way is of %.8s, not %s", p->ns->name,
		    now->certificate, a->thumb);
	if (p->rn.d.r.n == 0)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: the rollout's plan (waves/%s) is missing or not for "
		    "rollout %s: start a new rollout",
		    p->ns->name, p->ns->name, p->rn.d.id);
	/* the plan stays as it is: the same id, the same members */
	j = cf_rstate_json(&p->rn.d.r);
	json_object_set_new(
	    j, "state", json_string(a->resume ? "running" : "aborted"));
	json_object_set_new(j, "updated", json_integer((json_int_t)time(NULL)));
	if (a->resume)
		json_object_set_new(
		    j, "wave", json_integer((json_int_t)now->wave));
	if (cf_rstate_parse(j, &st, err) == -1)
		goto out;
	json_object_set_new(j, "members", json_array());
	key =
	    schema_key(p->v.prefix, SCHEMA_NS_DESIRED, p->ns->name, NULL, err);
	value = schema_desired_value_agents(
	    a->resume ? p->rn.d.thumbprint
		      : (now->previous[0] ? now->previous : NULL),
	    j, p->rn.d.id[0] ? p->rn.d.id : NULL);
	if (write_fenced(p, &key, &value, 1, &rev, err) == -1)
		goto out;
	report(p, &st, p->rn.d.id, a->resume ? "resumed" : "aborted", rev);
	rc = 0;
out:
	free(key);
	free(value);
	json_decref(j);
	cf_rstate_clear(&st);
	return rc;
}

int
rollout_etcd(const struct rollout_etcd_args *a)
{
	struct plan p;
	struct cf_error err;
	int rc;

	memset(&p, 0, sizeof(p));
	cf_error_clear(&err);
	if (load(a, &p, &err) == -1)
		rc = -1;
	else if ((a->resume || a->abort) && !p.rn.agents &&
		 p.rn.d.r.state != CF_RS_NONE)
		rc = ROLLOUT_ETCD_CLI; /* a CLI's own rollout, driven on */
	else if (a->resume || a->abort)
		rc = again(a, &p, &err);
	else
		rc = start(a, &p, &err);
	if (rc == -1) {
		/* every failure comes before the one transaction, or is
		 * that transaction refused */
		if (strstr(err.msg, "nothing written") == NULL &&
		    strstr(err.msg, "nothing changed") == NULL)
			cf_error_append(&err, "; nothing written");
		rc = cli_fail("rollout", &err);
	}
	plan_free(&p);
	return rc;
}
