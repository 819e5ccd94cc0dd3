/*
 * backend.c - one operation, in-process or on agents: see backend.h.
 * Locally each operation is the library's function (a table below);
 * remotely it is the same request for every agent, sent to all at once
 * by the client and decoded by wire.c into the same structures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api.h"
#include "backend.h"
#include "cli.h"
#include "client.h"
#include "fleet.h"
#include "view.h"
#include "wire.h"

#define DEFAULT_SOCKET "/run/certfleet/agent.sock"

struct backend {
	struct cf_store *store;  /* a local store, or NULL */
	struct client_target *t; /* else the agents */
	size_t n;
	int named;     /* agents given by --server: messages name them */
	char host[64]; /* this host's name, the Server of local targets */
};

/* ---- the operations on a local store -------------------------------- */

static int
local_get(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	struct cf_get_query gq = q->get;

	gq.arg = q->arg;
	gq.after = NULL;
	gq.limit = 0; /* in-process: the views are all we hold */
	return cf_op_get_page(s, &gq, &r->views, &r->nviews, &r->err);
}

static int
local_import(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	struct cf_import_opts io = q->import;

	io.actor = cli_actor();
	return cf_op_import(
	    s, q->in, q->nin, &io, &r->results, &r->nresults, &r->err);
}

static int
local_export(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	struct cf_export_opts eo = q->export;

	eo.actor = cli_actor();
	return cf_op_export(s, q->arg, &eo, &r->data, &r->err);
}

static int
local_enable(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_enable(s, cli_actor(), q->arg, q->services, q->force,
	    r->thumb, &r->detail, &r->err);
}

static int
local_replace(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_replace(s, cli_actor(), q->old, q->arg, q->force, r->thumb,
	    &r->moved, &r->detail, &r->err);
}

static int
local_disable(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_disable(
	    s, cli_actor(), q->arg, q->services, r->thumb, &r->err);
}

static int
local_remove(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_remove(
	    s, cli_actor(), q->arg, q->force, r->thumb, &r->err);
}

static int
local_log(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_store_audit_page(s, &q->log, &r->audit, &r->naudit, &r->err);
}

static int
local_services(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_services(s, !q->no_probe, &r->svcs, &r->nsvcs, &r->err);
}

/* Text the library made, as the reply's data. */
static void
take_text(struct backend_reply *r, char *text)
{
	r->data.data = (unsigned char *)text;
	r->data.len = text ? strlen(text) : 0;
}

static int
local_request_new(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	struct cf_request_opts o = q->request;
	char *pem = NULL;
	int rc;

	o.actor = cli_actor();
	rc = cf_op_request_new(s, &o, &pem, r->thumb, &r->err);
	take_text(r, pem);
	return rc;
}

static int
local_request_complete(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	return cf_op_request_complete(
	    s, cli_actor(), &q->in[0], r->thumb, &r->detail, &r->err);
}

static int
local_renew(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	char *pem = NULL;
	int rc = cf_op_renew(
	    s, cli_actor(), q->arg, q->keep_key, &pem, r->thumb, &r->err);

	take_text(r, pem);
	return rc;
}

static int
local_new_self_signed(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	struct cf_selfsigned_opts o = q->selfsigned;

	o.actor = cli_actor();
	return cf_op_new_self_signed(s, &o, &r->results, &r->nresults, &r->err);
}

/* Agent-only operations, asked of a local store. */
static int
local_agent_only(
    struct cf_store *s, const struct backend_req *q, struct backend_reply *r)
{
	(void)s;
	(void)q;
	return cf_errorf(&r->err, CF_E_UNSUPPORTED,
	    "a local store has no agent identity: agent-to-agent transfers "
	    "go between agents (--server)");
}

static int (*const local[])(
    struct cf_store *, const struct backend_req *, struct backend_reply *) = {
    [BACKEND_GET] = local_get,
    [BACKEND_IMPORT] = local_import,
    [BACKEND_EXPORT] = local_export,
    [BACKEND_ENABLE] = local_enable,
    [BACKEND_DISABLE] = local_disable,
    [BACKEND_REMOVE] = local_remove,
    [BACKEND_LOG] = local_log,
    [BACKEND_SERVICES] = local_services,
    [BACKEND_REQUEST_NEW] = local_request_new,
    [BACKEND_REQUEST_COMPLETE] = local_request_complete,
    [BACKEND_RENEW] = local_renew,
    [BACKEND_NEW_SELF_SIGNED] = local_new_self_signed,
    [BACKEND_WHOAMI] = local_agent_only,
    [BACKEND_EXPORT_SEALED] = local_agent_only,
    [BACKEND_IMPORT_SEALED] = local_agent_only,
    [BACKEND_REPLACE] = local_replace,
};

/* ---- targets -------------------------------------------------------- */

static int
open_failed(struct backend *b, const char *op, const struct cf_error *err)
{
	backend_free(b);
	return cli_fail(op, err);
}

/* The local agent's socket: $CERTFLEET_SOCKET, else the default. */
static void
open_socket(struct backend *b)
{
	const char *path = getenv("CERTFLEET_SOCKET");

	b->t = xcalloc(1, sizeof(*b->t));
	b->n = 1;
	b->t->name = xstrdup("local");
	b->t->address = xstrdup(path && path[0] ? path : DEFAULT_SOCKET);
	b->t->unix_socket = 1;
}

int
backend_open(const char *op, struct backend **out)
{
	struct backend *b = xcalloc(1, sizeof(*b));
	const char *env = getenv("CERTFLEET_STORE");
	struct fleet *f = NULL;
	struct cf_error err;
	char *path;
	int rc;

	*out = NULL;
	cf_error_clear(&err);
	if (gethostname(b->host, sizeof(b->host) - 1) == -1)
		strcpy(b->host, "localhost");
	if (cli.server != NULL && cli.store != NULL) {
		backend_free(b);
		return cli_usage(op, "give --store DIR or --server NAME, not "
				     "both");
	}
	if (cli.init && (cli.server != NULL || cli_store_dir() == NULL)) {
		backend_free(b);
		return cli_usage(op, "--init creates the local store given by "
				     "--store DIR");
	}
	if (cli.fingerprint != NULL && cli.server == NULL) {
		backend_free(b);
		return cli_usage(op, "--fingerprint pins an agent given as "
				     "--server HOST:PORT");
	}
	if (cli.server != NULL) {
		if ((path = fleet_path(0, &err)) == NULL)
			return open_failed(b, op, &err);
		f = fleet_load(path, &err);
		free(path);
		rc = f ? fleet_resolve(
			     f, cli.server, cli.fingerprint, &b->t, &b->n, &err)
		       : -1;
		fleet_free(f);
		if (rc == -1)
			return open_failed(b, op, &err);
		b->named = 1;
	} else if (cli.store != NULL || (env != NULL && env[0] != '\0')) {
		if ((b->store = cli_open_store(op)) == NULL) {
			backend_free(b);
			return 1;
		}
		b->n = 1;
	} else
		open_socket(b);
	*out = b;
	return 0;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	cf_store_free(b->store);
	client_targets_free(b->t, b->n);
	free(b);
}

size_t
backend_count(const struct backend *b)
{
	return b->n;
}

struct cf_store *
backend_local_store(const struct backend *b)
{
	return b->store != NULL && b->n == 1 ? b->store : NULL;
}

const char *
backend_server(const struct backend *b, size_t i)
{
	return b->named ? b->t[i].name : b->host;
}

const char *
backend_address(const struct backend *b, size_t i)
{
	if (b->store != NULL || b->t[i].unix_socket)
		return NULL;
	return b->t[i].address;
}

const struct client_target *
backend_target(const struct backend *b, size_t i)
{
	return b->store != NULL ? NULL : &b->t[i];
}

/* ---- replies -------------------------------------------------------- */

/* Lets go of what a reply holds, for a fresh run or for good. */
static void
reply_clear(struct backend_reply *r)
{
	cf_views_free(r->views, r->nviews);
	cf_import_results_free(r->results, r->nresults);
	if (r->data.data != NULL)
		OPENSSL_cleanse(r->data.data, r->data.len);
	cf_buf_clear(&r->data);
	cf_audit_free(r->audit, r->naudit);
	free(r->detail);
	free(r->moved);
	cf_service_views_free(r->svcs, r->nsvcs);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

struct backend_reply *
backend_replies_new(const struct backend *b)
{
	struct backend_reply *r = xcalloc(b->n, sizeof(*r));
	size_t i;

	for (i = 0; i < b->n; i++)
		r[i].todo = 1;
	return r;
}

void
backend_replies_free(struct backend_reply *r, size_t n)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++)
		reply_clear(&r[i]);
	free(r);
}

/* ---- running -------------------------------------------------------- */

/* The request's body as text, its secrets wiped from the JSON tree. */
static int
body_text(enum backend_op op, const struct backend_req *req, char **text,
    size_t *len, struct cf_error *err)
{
	json_t *body = NULL;

	*text = NULL;
	*len = 0;
	if (wire_body(op, req, &body, err) == -1)
		return -1;
	if (body == NULL)
		return 0;
	*text = json_dumps(body, JSON_COMPACT);
	wire_body_wipe(body);
	json_decref(body);
	if (*text == NULL)
		abort();
	*len = strlen(*text);
	if (*len > CF_API_MAX_BODY) {
		OPENSSL_cleanse(*text, *len);
		free(*text);
		*text = NULL;
		return cf_errorf(err, CF_E_LIMIT,
		    "the request would be %zu KiB, and an agent takes %u KiB "
		    "at most: send fewer files at a time",
		    *len / 1024, CF_API_MAX_BODY / 1024);
	}
	return 0;
}

static void
remote_run(struct backend *b, enum backend_op op, const struct backend_req *req,
    struct backend_reply *r)
{
	struct client_answer *ans = xcalloc(b->n, sizeof(*ans));
	struct client *c = NULL;
	struct cf_error err;
	char *text = NULL, *path = NULL;
	size_t len = 0, i;

	cf_error_clear(&err);
	if (body_text(op, req, &text, &len, &err) == 0) {
		path = wire_path(op, req);
		c = client_new();
		for (i = 0; i < b->n; i++)
			if (r[i].todo)
				client_request(c, &b->t[i], wire_method(op),
				    path, text, len, &ans[i]);
		client_run(c);
	}
	for (i = 0; i < b->n; i++) {
		if (!r[i].todo)
			continue;
		reply_clear(&r[i]);
		if (c == NULL)
			r[i].err = err;
		else if (ans[i].err.code != CF_OK)
			r[i].err = ans[i].err;
		else {
			wire_reply(op, ans[i].json, &r[i]); /* sets r[i].err */
			ans[i].json = NULL; /* r[i] holds it now */
		}
		client_answer_clear(&ans[i]);
	}
	client_free(c);
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	free(path);
	free(ans);
}

/*
 * Asks target i of b, on client c, for the page of req after after: the
 * answer lands in *ans, its body kept unread (client_answer_read).
 */
static void
get_ask(struct backend *b, struct client *c, const struct backend_req *req,
    size_t i, const char *after, struct client_answer *ans)
{
	struct backend_req q = *req;
	char *path;

	q.get.limit = CF_GET_PAGE_MAX;
	q.get.rows = 1; /* half the parsing; an older agent answers objects */
	q.get.after = after;
	path = wire_path(BACKEND_GET, &q);
	client_request(c, &b->t[i], "GET", path, NULL, 0, ans);
	ans->want_raw = 1;
	free(path); /* the client keeps a copy */
}

/* The answer ans of a page into page (cleared first); ans is left
 * empty. */
static void
get_read(const struct backend *b, size_t i, struct client_answer *ans,
    struct backend_reply *page)
{
	reply_clear(page);
	if (ans->err.code == CF_OK)
		client_answer_read(ans, b->t[i].address);
	if (ans->err.code != CF_OK)
		page->err = ans->err;
	else if (ans->views != NULL) { /* read without a tree */
		page->views = ans->views;
		page->nviews = ans->nviews;
		ans->views = NULL;
		ans->nviews = 0;
	} else {
		wire_reply(BACKEND_GET, ans->json, page);
		ans->json = NULL; /* page holds it now */
	}
	client_answer_clear(ans);
}

/* The static name of status (a view's status is lent by its reply,
 * which goes with its page); "Unknown" for a name this CLI does not
 * know (an agent newer than it). */
static const char *
status_static(const char *status)
{
	static const char *const names[] = {"Valid", "DateInvalid", "Untrusted",
	    "Invalid", "Revoked", "PendingRequest"};
	size_t i;

	for (i = 0; status != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(status, names[i]) == 0)
			return names[i];
	return "Unknown";
}

/*
 * Moves the views of page p that sort after after into r, and says
 * whether to ask for the next page: not when the page is short, and not
 * when the agent answered views it was not asked for (an agent older
 * than paging sends its whole listing every time).
 */
static int
get_take(struct backend_reply *r, struct backend_reply *p,
    char after[CF_THUMB_LEN + 1], size_t *cap)
{
	int more = p->nviews == CF_GET_PAGE_MAX;
	size_t j;

	/* Room doubled, not grown by a page: moving the views taken so
	 * far at every page was a tenth of a remote listing. */
	if (r->nviews + p->nviews + 1 > *cap) {
		*cap = *cap * 2 > r->nviews + p->nviews + 1
			   ? *cap * 2
			   : r->nviews + p->nviews + 1;
		r->views = xrealloc(r->views, *cap * sizeof(*r->views));
	}
	for (j = 0; j < p->nviews; j++) {
		if (strcmp(p->views[j].thumbprint, after) <= 0) {
			more = 0;
			continue;
		}
		r->views[r->nviews] = p->views[j];
		r->views[r->nviews++].status =
		    status_static(p->views[j].status);
		memset(&p->views[j], 0, sizeof(p->views[j])); /* moved */
	}
	if (r->nviews > 0)
		snprintf(after, CF_THUMB_LEN + 1, "%s",
		    r->views[r->nviews - 1].thumbprint);
	return more;
}

/*
 * Every certificate of every agent to do, a page at a time (docs/api.md:
 * after=, limit=), so that neither the agent nor this process holds a
 * whole large listing as JSON: only the views are kept here, and one
 * page of JSON at a time.  Paged on the thumbprint, a listing taken
 * while the store changes shows each certificate at most once, and
 * every one that stayed throughout.
 *
 * The turns overlap: once a full page has come, the next is asked
 * (after the page's last thumbprint, read without parsing the page)
 * before this one is read, so that each agent is at its next page
 * while this process reads the last.  Each agent keeps its connection
 * (client_keep_alive).
 */
static void
remote_get_all(
    struct backend *b, const struct backend_req *req, struct backend_reply *r)
{
	struct client_answer *cur = xcalloc(b->n, sizeof(*cur)),
			     *next = xcalloc(b->n, sizeof(*next)), *swap;
	struct backend_reply page;
	char(*after)[CF_THUMB_LEN + 1] = xcalloc(b->n, sizeof(*after));
	char(*ahead)[CF_THUMB_LEN + 1] = xcalloc(b->n, sizeof(*ahead));
	int *ask = xcalloc(b->n, sizeof(*ask)),
	    *asked = xcalloc(b->n, sizeof(*asked));
	size_t *cap = xcalloc(b->n, sizeof(*cap));
	struct client *c = client_new();
	size_t i, rows, more;

	memset(&page, 0, sizeof(page));
	client_keep_alive(c);
	for (i = 0; i < b->n; i++)
		if ((ask[i] = r[i].todo)) {
			reply_clear(&r[i]);
			get_ask(b, c, req, i, "", &cur[i]);
		}
	do {
		client_run(c); /* every answer of cur */
		/* The next pages, asked before these are read. */
		for (i = 0; i < b->n; i++) {
			asked[i] = 0;
			if (ask[i] && cur[i].err.code == CF_OK &&
			    cur[i].raw != NULL &&
			    cf_views_rows_last(
				cur[i].raw, cur[i].raw_len, ahead[i], &rows) &&
			    rows == CF_GET_PAGE_MAX &&
			    strcmp(ahead[i], after[i]) > 0) {
				get_ask(b, c, req, i, ahead[i], &next[i]);
				asked[i] = 1;
			}
		}
		client_start(c);
		more = 0;
		for (i = 0; i < b->n; i++) {
			if (!ask[i])
				continue;
			get_read(b, i, &cur[i], &page);
			if (page.err.code != CF_OK) {
				reply_clear(&r[i]);
				r[i].err = page.err;
				ask[i] = 0;
			} else
				ask[i] =
				    get_take(&r[i], &page, after[i], &cap[i]);
			reply_clear(&page);
			/* What was asked ahead is the page after what was
			 * taken, or else not wanted: its answer is dropped,
			 * and (never seen: the page's views are its rows)
			 * the right page asked. */
			if (ask[i] && asked[i] &&
			    strcmp(ahead[i], after[i]) != 0) {
				client_run(c);
				client_answer_clear(&next[i]);
				asked[i] = 0;
			}
			if (ask[i] && !asked[i])
				get_ask(b, c, req, i, after[i], &next[i]);
			more += (size_t)ask[i];
		}
		swap = cur;
		cur = next;
		next = swap;
	} while (more > 0);
	client_run(c); /* any page asked ahead and not wanted */
	client_free(c);
	for (i = 0; i < b->n; i++) {
		client_answer_clear(&cur[i]);
		client_answer_clear(&next[i]);
	}
	free(cur);
	free(next);
	free(after);
	free(ahead);
	free(ask);
	free(asked);
	free(cap);
}

void
backend_run(struct backend *b, enum backend_op op,
    const struct backend_req *req, struct backend_reply *r)
{
	if (b->store == NULL && op == BACKEND_GET && req->arg == NULL) {
		remote_get_all(b, req, r);
		return;
	}
	if (b->store == NULL) {
		remote_run(b, op, req, r);
		return;
	}
	if (!r[0].todo)
		return;
	reply_clear(&r[0]);
	local[op](b->store, req, &r[0]);
}

int
backend_fail(const struct backend *b, size_t i, const char *op,
    const struct cf_error *err)
{
	char *msg;

	if (!b->named)
		return cli_fail(op, err);
	msg = cli_name_server(err->msg, b->t[i].name); /* its fixes too */
	fprintf(stderr, "certfleet: %s: %s: %s\n", b->t[i].name, op, msg);
	free(msg);
	return err->code == CF_E_USAGE ? 2 : 1;
}

int
backend_fail_all(const struct backend *b, const char *op,
    const struct backend_reply *r, size_t *failed)
{
	size_t i, n = 0;
	int rc = 0, status;

	for (i = 0; i < b->n; i++)
		if (r[i].err.code != CF_OK) {
			status = backend_fail(b, i, op, &r[i].err);
			rc = rc ? rc : status;
			n++;
		}
	if (failed != NULL)
		*failed = n;
	return rc;
}

void
backend_audit_failure(struct backend *b, const char *op, const char *thumb,
    const struct cf_error *err)
{
	if (b->store != NULL)
		cli_audit_failure(b->store, op, thumb, err);
}
