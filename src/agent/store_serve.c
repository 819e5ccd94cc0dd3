/*
 * store_serve.c - `certfleetd store`, the store process: the master
 * key, the store and the operations, away from the network.  See
 * storeproc.h for the conversation.
 *
 * It starts as `certfleetd run` did before the split: the deployments
 * an earlier run left unfinished are resolved, the identity for sealed
 * transfers is loaded, and one store connection and one thread are
 * made per channel, so each worker of the network process has a thread
 * here with its own connection, as it had in one process.  Outside
 * bytes are parsed by parser processes this one starts (parser.h).
 *
 * A request arrives with who asks as the network process saw it (the
 * verified fingerprint or Unix uid, and whether the client's chain
 * verified against admin_ca); the role comes from the client list here.
 * Nothing else the network process says is trusted further than the
 * API's own checks trust a request.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "agent.h"
#include "api.h"
#include "deploy.h"
#include "acme_acct.h"
#include "http01.h"
#include "identity.h"
#include "metrics.h"
#include "parser.h"
#include "routes.h"
#include "service.h"
#include "store_metrics.h"
#include "storeproc.h"
#include "transfer.h"
#include "util.h"

#define STORE_MAX_CHANNELS 256

/* Fields of a "req" (storeproc.h). */
enum {
	RQ_KIND,
	RQ_LOCAL,
	RQ_UID,
	RQ_FP,
	RQ_ADMIN,
	RQ_METHOD,
	RQ_PATH,
	RQ_QUERY,
	RQ_PEER,
	RQ_AGENT,
	RQ_ACTOR,
	RQ_BODY,
	RQ_METRICS,
	RQ_FIELDS
};

/* What every thread is started with. */
struct store_ctx {
	const struct agent_config *cfg;
	const char *cfg_path; /* for reloads */
	int cfg_explicit;
	struct cf_transfer transfer;
};

struct store_thread {
	pthread_t thread;
	int fd;
	struct cf_store *store;
	const struct store_ctx *ctx;
	int started;
};

/* The role of the request's client into *role; -1 when the store fails. */
static int
req_role(const struct chan_msg *m, struct cf_store *s, enum cf_role *role,
    struct cf_error *err)
{
	char name[16];

	*role = CF_ROLE_NONE;
	if (chan_long(m, RQ_LOCAL, 0)) {
		if (chan_long(m, RQ_UID, -1) == 0)
			*role = CF_ROLE_ADMIN;
		return 0;
	}
	if (chan_str(m, RQ_FP)[0] == '\0')
		return 0;
	if (cf_store_client_role(s, chan_str(m, RQ_FP), name, err) == -1)
		return -1;
	/* The client list first: it may hold a CA-issued one as reader. */
	if (name[0] != '\0')
		*role = cf_role_parse(name);
	else if (chan_long(m, RQ_ADMIN, 0) == 1)
		*role = CF_ROLE_ADMIN;
	return 0;
}

/* The refusal of a client with no role into err, audited here for the
 * Unix socket; a TLS client's goes back in *refusal for audit.c, which
 * coalesces a flood (anyone can be a TLS client). */
static void
req_refuse(const struct chan_msg *m, struct cf_store *s, char **refusal,
    struct cf_error *err)
{
	const char *agent = chan_str(m, RQ_AGENT), *fp = chan_str(m, RQ_FP);
	char *outcome;

	if (chan_long(m, RQ_LOCAL, 0))
		cf_errorf(err, CF_E_DENIED,
		    "uid %lld may not use the socket of %s: it admits root "
		    "only (or use HTTPS with an authorized client "
		    "certificate)",
		    chan_long(m, RQ_UID, -1), agent);
	else
		cf_errorf(err, CF_E_DENIED,
		    "client certificate %s is not authorized on %s; run "
		    "certfleetd authorize %s --role admin|reader there",
		    fp, agent, fp);
	outcome = xasprintf("refused: not authorized (%s %s from %s)",
	    chan_str(m, RQ_METHOD), chan_str(m, RQ_PATH), chan_str(m, RQ_PEER));
	if (chan_long(m, RQ_LOCAL, 0)) {
		cf_store_audit(
		    s, chan_str(m, RQ_ACTOR), "connect", "", outcome, NULL);
		free(outcome);
	} else
		*refusal = outcome;
}

/* The body as JSON (NULL when empty), or -1 with err. */
static int
req_body(const struct chan_msg *m, json_t **body, struct cf_error *err)
{
	json_error_t je;

	*body = NULL;
	if (RQ_BODY >= m->n || m->f[RQ_BODY] == NULL || m->len[RQ_BODY] == 0)
		return 0;
	*body = json_loadb(
	    m->f[RQ_BODY], m->len[RQ_BODY], JSON_REJECT_DUPLICATES, &je);
	if (*body == NULL)
		cf_errorf(err, CF_E_PARSE,
		    "request body: not JSON: %s (line %d, column %d)", je.text,
		    je.line, je.column);
	else if (cf_json_depth(*body) > CF_API_MAX_DEPTH)
		cf_errorf(err, CF_E_PARSE,
		    "request body: JSON nested deeper than %d levels",
		    CF_API_MAX_DEPTH);
	else
		return 0;
	json_decref(*body);
	*body = NULL;
	return -1;
}

/* GET /metrics: the scrape in *out and its content type in *ctype,
 * or the JSON error (*ctype NULL). */
static int
serve_metrics(struct store_thread *t, const struct chan_msg *m, char **out,
    const char **ctype)
{
	struct cf_error err;

	cf_error_clear(&err);
	if (store_metrics_render(t->store, chan_str(m, RQ_AGENT), out, &err) ==
	    -1)
		return route_fail(&err, out);
	*ctype = CF_METRICS_CONTENT_TYPE;
	return route_status(ROUTE_BY_CODE, CF_OK);
}

/* Whether m asks for GET /metrics. */
static int
is_metrics(const struct chan_msg *m)
{
	return strcmp(chan_str(m, RQ_METHOD), "GET") == 0 &&
	       strcmp(chan_str(m, RQ_PATH), "/metrics") == 0;
}

/* The ACME responder's answer: the key authorization as text, or the
 * JSON error. */
static int
serve_http01(struct store_thread *t, const struct chan_msg *m, char **out,
    const char **ctype)
{
	int status, is_text;

	status = http01_answer(t->ctx->cfg->services, chan_str(m, RQ_METHOD),
	    chan_str(m, RQ_PATH), out, &is_text);
	if (is_text)
		*ctype = "text/plain";
	return status;
}

/* A request of a plain-HTTP listener: of the metrics listener, GET
 * /metrics; of the ACME responder (kind 2), GET
 * /.well-known/acme-challenge/TOKEN; nothing else (the network process
 * lets nothing else through either). */
static int
serve_open(struct store_thread *t, const struct chan_msg *m, long kind,
    char **out, const char **ctype)
{
	struct cf_error err;

	if (kind == STOREPROC_OPEN_ACME)
		return serve_http01(t, m, out, ctype);
	if (is_metrics(m))
		return serve_metrics(t, m, out, ctype);
	cf_errorf(&err, CF_E_NOTFOUND,
	    "%s %s: no such endpoint on the metrics listener",
	    chan_str(m, RQ_METHOD), chan_str(m, RQ_PATH));
	return route_fail(&err, out);
}

/* The answer: status, reply, refusal, close and content type. */
static int
answer(struct store_thread *t, int status, const char *out, const char *refusal,
    int close, const char *ctype)
{
	struct chan_msg r;

	memset(&r, 0, sizeof(r));
	chan_add_long(&r, status);
	chan_add(&r, out);
	chan_add(&r, refusal);
	chan_add_long(&r, close);
	chan_add(&r, ctype);
	return chan_send(t->fd, &r);
}

/* One API request: decide the role, refuse or serve, and answer. */
static int
serve_request(struct store_thread *t, const struct chan_msg *m)
{
	struct cf_api_caller caller;
	struct cf_error err;
	json_t *body = NULL;
	enum cf_role role;
	const char *ctype = NULL;
	char *out = NULL, *refusal = NULL;
	int status, close = 0, rc;

	cf_error_clear(&err);
	if (m->n != RQ_FIELDS) {
		cf_errorf(&err, CF_E_INTERNAL,
		    "the network process sent a request of %zu fields", m->n);
		status = route_fail(&err, &out);
	} else if (chan_long(m, RQ_METRICS, 0) != 0) {
		status =
		    serve_open(t, m, chan_long(m, RQ_METRICS, 0), &out, &ctype);
	} else if (req_role(m, t->store, &role, &err) == -1) {
		status = route_fail(&err, &out);
	} else if (role == CF_ROLE_NONE) {
		req_refuse(m, t->store, &refusal, &err);
		status = route_fail(&err, &out);
		close = 1;
	} else if (req_body(m, &body, &err) == -1) {
		status = route_fail(&err, &out);
	} else if (is_metrics(m)) {
		status = serve_metrics(t, m, &out, &ctype);
	} else if (http01_is_route(chan_str(m, RQ_PATH))) {
		status = http01_serve(t->store, t->ctx->cfg->services, role,
		    chan_str(m, RQ_ACTOR), chan_str(m, RQ_METHOD),
		    chan_str(m, RQ_PATH), body, &out);
	} else if (acme_acct_is_route(chan_str(m, RQ_PATH))) {
		status = acme_acct_serve(t->store, role, chan_str(m, RQ_ACTOR),
		    chan_str(m, RQ_METHOD), chan_str(m, RQ_PATH), body, &out);
	} else {
		caller.actor = chan_str(m, RQ_ACTOR);
		caller.client =
		    chan_long(m, RQ_LOCAL, 0) ? "" : chan_str(m, RQ_FP);
		caller.role = role;
		caller.agent = chan_str(m, RQ_AGENT);
		caller.transfer = &t->ctx->transfer;
		status = route_serve(t->store, &caller, chan_str(m, RQ_METHOD),
		    chan_str(m, RQ_PATH), m->f[RQ_QUERY], body, &out);
	}
	json_decref(body);
	store_metrics_request(
	    chan_str(m, RQ_METHOD), chan_str(m, RQ_PATH), status);
	rc = answer(t, status, out, refusal, close, ctype);
	if (out != NULL)
		OPENSSL_cleanse(out, strlen(out)); /* exports */
	free(out);
	free(refusal);
	return rc;
}

/* An audit record for audit.c: appended ("audit"), amended ("amend")
 * or the retention run ("prune"); answered with the row or "". */
static int
serve_audit(struct store_thread *t, const struct chan_msg *m)
{
	const char *kind = chan_str(m, 0);
	struct chan_msg r;
	struct cf_error err;
	long long row = 0, n = 0;
	long keep, max;
	int rc = 0;

	cf_error_clear(&err);
	memset(&r, 0, sizeof(r));
	if (strcmp(kind, "audit") == 0) {
		rc = cf_store_audit(t->store, chan_str(m, 1), "connect", "",
		    chan_str(m, 2), &err);
		row = rc == 0 ? cf_store_audit_last(t->store) : 0;
	} else if (strcmp(kind, "amend") == 0) {
		rc = cf_store_audit_amend(
		    t->store, chan_long(m, 1, 0), chan_str(m, 2), &err);
	} else {
		keep = (long)chan_long(m, 1, 0);
		max = (long)chan_long(m, 2, 0);
		if (cf_store_audit_prune(t->store, keep, max, &n, &err) == -1)
			fprintf(stderr, "certfleetd: audit retention: %s\n",
			    err.msg);
		else if (n > 0)
			fprintf(stderr,
			    "certfleetd: audit retention: %lld records "
			    "removed (audit_keep_days %ld, audit_max_rows "
			    "%ld)\n",
			    n, keep, max);
	}
	if (rc == -1)
		fprintf(stderr, "certfleetd: audit %s: %s\n", chan_str(m, 2),
		    err.msg);
	chan_add_long(&r, row);
	return chan_send(t->fd, &r);
}

/*
 * A reload for the network process, which may not open files
 * (confine.c): the configuration's text, trusted and checked as
 * agent_config_load would, and its admin_ca's text.  Only those two
 * files: the network process names neither.
 */
static int
serve_reload(struct store_thread *t)
{
	struct cf_buf text, ca;
	struct agent_config *c = NULL;
	struct chan_msg r;
	struct cf_error err, e;
	int present = 0, ok = 0, rc;

	cf_error_clear(&err);
	memset(&ca, 0, sizeof(ca));
	if (agent_config_text(t->ctx->cfg_path, t->ctx->cfg_explicit, &text,
		&present, &err) == 0 &&
	    (c = agent_config_from_text(
		 t->ctx->cfg_path, present ? &text : NULL, &err)) != NULL) {
		cf_error_clear(&e);
		if (c->admin_ca == NULL ||
		    cf_read_file(c->admin_ca, AGENT_CONFIG_MAX_TEXT, &ca, &e) ==
			0)
			ok = 1;
		else
			cf_errorf(&err, CF_E_IO,
			    "admin_ca %s: cannot read (%s)", c->admin_ca,
			    e.msg);
	}
	memset(&r, 0, sizeof(r));
	chan_add(&r, ok ? "ok" : "error");
	chan_add(&r, ok ? NULL : err.msg);
	chan_add_bytes(&r,
	    present ? (text.data ? (char *)text.data : "") : NULL, text.len);
	chan_add_bytes(&r,
	    ok && c->admin_ca ? (ca.data ? (char *)ca.data : "") : NULL,
	    ca.len);
	rc = chan_send(t->fd, &r);
	agent_config_free(c);
	cf_buf_clear(&text);
	cf_buf_clear(&ca);
	return rc;
}

/* A channel's thread: requests in, answers out, until the network
 * process closes its end. */
static void *
store_thread_main(void *arg)
{
	struct store_thread *t = arg;
	struct chan_msg m;
	const char *kind;
	int rc;

	while (chan_recv(t->fd, &m, CHAN_MAX_REQUEST) == 0) {
		kind = chan_str(&m, 0);
		if (strcmp(kind, "req") == 0)
			rc = serve_request(t, &m);
		else if (strcmp(kind, "reload") == 0)
			rc = serve_reload(t);
		else if (strcmp(kind, "audit") == 0 ||
			 strcmp(kind, "amend") == 0 ||
			 strcmp(kind, "prune") == 0)
			rc = serve_audit(t, &m);
		else
			rc = -1; /* not ours: stop talking */
		chan_clear(&m);
		if (rc == -1)
			break;
	}
	return NULL;
}

/*
 * Deployments an earlier run did not live to finish are resolved before
 * anything is served (cf_services_recover); what became of each is
 * logged.  A failure is logged too and the agent starts: the intents
 * stay for the next start, and the assignments never changed.
 */
static void
recover_deploys(const struct agent_config *c, const char *dir)
{
	struct cf_store *s;
	struct cf_error err;
	char *report = NULL, *line, *save = NULL;

	cf_error_clear(&err);
	if ((s = cf_store_open_existing(dir, &err)) != NULL) {
		cf_store_set_services(s, c->services);
		cf_services_recover(s, &report, &err);
	}
	for (line = report ? strtok_r(report, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "certfleetd: %s\n", line);
	if (err.msg[0] != '\0')
		fprintf(stderr, "certfleetd: recovering deployments: %s\n",
		    err.msg);
	free(report);
	cf_store_free(s);
}

/* The identity sealed transfers are made and opened with. */
static int
load_transfer(
    const struct agent_config *c, struct cf_transfer *t, struct cf_error *err)
{
	char *key = agent_state_path(c, AGENT_KEY_FILE);
	char *crt = agent_state_path(c, AGENT_CERT_FILE);
	char *cn = xasprintf("certfleetd %s", c->name);
	int rc, created;

	rc =
	    cf_identity_load(key, crt, cn, 0, &t->key, &t->cert, &created, err);
	t->peers = (const char *const *)c->transfer_peers;
	t->npeers = c->ntransfer_peers;
	free(key);
	free(crt);
	free(cn);
	return rc;
}

/* One store and one thread per channel; threads take no signals. */
static int
start_threads(const struct store_ctx *ctx, const char *dir,
    struct store_thread *t, int n, struct cf_error *err)
{
	sigset_t all, old;
	int i, e = 0;

	for (i = 0; i < n; i++) {
		t[i].fd = STOREPROC_FD0 + i;
		t[i].ctx = ctx;
		if ((t[i].store = cf_store_open(dir, err)) == NULL)
			return -1;
		cf_store_set_services(t[i].store, ctx->cfg->services);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n && e == 0; i++) {
		e = pthread_create(
		    &t[i].thread, NULL, store_thread_main, &t[i]);
		t[i].started = e == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return cf_errorf(
		    err, CF_E_INTERNAL, "cannot start store thread %d", i);
	return 0;
}

/* "ready", or "error" and why, on channel 0. */
static void
say(const char *word, const struct cf_error *err)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	chan_add(&m, word);
	chan_add(&m, err != NULL ? err->msg : NULL);
	chan_send(STOREPROC_FD0, &m);
}

/* Serves until the network process closes every channel. */
static int
store_serve(struct store_ctx *ctx, int n)
{
	struct store_thread *t = xcalloc((size_t)n, sizeof(*t));
	struct cf_error err;
	char *dir = agent_state_path(ctx->cfg, AGENT_STORE_DIR);
	int i, rc = 1;

	cf_error_clear(&err);
	recover_deploys(ctx->cfg, dir);
	if (load_transfer(ctx->cfg, &ctx->transfer, &err) == -1 ||
	    start_threads(ctx, dir, t, n, &err) == -1 ||
	    store_metrics_start(ctx->cfg, dir, &err) == -1) {
		say("error", &err);
		for (i = 0; i < n; i++)
			close(STOREPROC_FD0 + i);
	} else {
		say("ready", NULL);
		rc = 0;
	}
	for (i = 0; i < n; i++)
		if (t[i].started)
			pthread_join(t[i].thread, NULL);
	store_metrics_stop();
	http01_clear(ctx->cfg->services);
	for (i = 0; i < n; i++)
		cf_store_free(t[i].store);
	EVP_PKEY_free(ctx->transfer.key);
	X509_free(ctx->transfer.cert);
	free(t);
	free(dir);
	return rc;
}

int
cmd_store(int argc, char **argv)
{
	static const struct option opts[] = {
	    AGENT_COMMON_OPTS, {"channels", required_argument, NULL, 'n'}, {0}};
	struct store_ctx ctx;
	struct agent_config *c;
	const char *copt = NULL, *path;
	int ch, n = 0, rc, explicit;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'n')
			n = atoi(optarg);
		else
			return agent_bad_option("store", ch, argv);
	}
	if (n < 1 || n > STORE_MAX_CHANNELS || optind != argc)
		return agent_usage("store", "run by certfleetd run only");
	/* The network process decides when to stop: it closes the
	 * channels after draining, and this process ends after them. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((c = agent_open_config("store", copt, &path, &explicit)) == NULL)
		return 1;
	/* Outside bytes are parsed in a process of their own (parser.h). */
	cf_bundle_set_parser(parser_parse);
	/* Deploys run here: counted here, for GET /metrics. */
	cf_deploy_set_observer(store_metrics_deploy);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = c;
	ctx.cfg_path = path;
	ctx.cfg_explicit = explicit;
	rc = store_serve(&ctx, n);
	agent_config_free(c);
	return rc;
}
