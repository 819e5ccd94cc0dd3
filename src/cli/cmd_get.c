/*
 * cmd_get.c - certfleet get [THUMBPRINT] [--fields F,...] [--expiring
 * 30d|33%] [--json]: Get-ExchangeCertificate | Format-Table, and what
 * expires soon across the fleet.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "cli.h"
#include "lifetime.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet get [THUMBPRINT] [--fields F,...] [--expiring 30d|33%]\n"
    "         [--json] [--no-header] [--format table|tsv]\n"
    "         [--server NAME,...|all] [--store DIR]\n"
    "Fields: Subject, Issuer, Thumbprint, FriendlyName, Status, Services,\n"
    "  PrivateKeyExportable, HasPrivateKey, NotBefore, NotAfter,\n"
    "  CertificateDomains, IsSelfSigned, KeyType, SerialNumber, Chain,\n"
    "  DaysLeft, Server (first by default when several servers answer)\n"
    "--expiring 30d: only those that expire within 30 days (or have);\n"
    "--expiring 33%: only those with less than a third of their lifetime\n"
    "left; either way sorted by NotAfter across every server.\n";

/* Server is no field of a certificate: the CLI's own, after the rest. */
#define FIELD_SERVER CF_F_COUNT
#define MAX_FIELDS (CF_F_COUNT + 1)

static int
field_lookup(const char *name)
{
	return cf_strieq(name, "Server") ? FIELD_SERVER : cf_field_lookup(name);
}

static const char *
field_name(int f)
{
	return f == FIELD_SERVER ? "Server" : cf_field_name((enum cf_field)f);
}

/* The fields named in list into fields[]; -1 names the unknown one. */
static int
parse_fields(const char *list, int *fields, size_t *n)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	int rc = 0, f;

	*n = 0;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if ((f = field_lookup(tok)) < 0) {
			rc = cli_usage("get", "%s: unknown field", tok);
			break;
		}
		if (*n < MAX_FIELDS)
			fields[(*n)++] = f;
	}
	free(copy);
	if (rc == 0 && *n == 0)
		rc = cli_usage("get", "--fields names no field");
	return rc;
}

/* --expiring: within days, or under a share of the lifetime left. */
struct expiring {
	int given;
	struct lifetime_limit limit;
};

/* "30d", "30" or "33%" into *e; 0 or the usage error. */
static int
parse_expiring(const char *arg, struct expiring *e)
{
	if (lifetime_limit_parse(arg, &e->limit) == -1)
		return cli_usage("get",
		    "--expiring %s: give days (30d) or a "
		    "share of the lifetime left (33%%)",
		    arg);
	e->given = 1;
	return 0;
}

/* A share (0.167) as whole percents, rounded up (17). */
static long
whole_percent_up(double fraction)
{
	double p = fraction * 100;
	long whole = (long)p;

	return (double)whole < p - 1e-9 ? whole + 1 : whole;
}

/* Whether v expires within what e says; a pending request never does. */
static int
is_expiring(const struct cf_view *v, const struct expiring *e, time_t now)
{
	if (v->not_after == 0)
		return 0;
	if (e->limit.is_share && v->not_after <= v->not_before)
		return 0;
	return lifetime_limit_under(
	    &e->limit, v->not_before, v->not_after, now);
}

/* One certificate of one server: a row of the table or an item. */
struct row {
	size_t server;
	const struct cf_view *view;
};

/* By NotAfter, then in server order (qsort is not stable). */
static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->view->not_after != y->view->not_after)
		return x->view->not_after < y->view->not_after ? -1 : 1;
	if (x->server != y->server)
		return x->server < y->server ? -1 : 1;
	return x->view < y->view ? -1 : x->view > y->view;
}

/* The rows to show: every view of every server, or (--expiring) those
 * expiring, by NotAfter.  *n rows (new array). */
static struct row *
rows_new(const struct backend *b, const struct backend_reply *r,
    const struct expiring *e, size_t *n)
{
	struct row *rows;
	size_t i, j, max = 0;
	time_t now = time(NULL);

	for (i = 0; i < backend_count(b); i++)
		max += r[i].nviews;
	rows = xcalloc(max + 1, sizeof(*rows));
	*n = 0;
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nviews; j++) {
			if (e->given && !is_expiring(&r[i].views[j], e, now))
				continue;
			rows[*n].server = i;
			rows[(*n)++].view = &r[i].views[j];
		}
	if (e->given)
		qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

/* What a cell of the table is made from (print_table). */
struct table {
	const struct backend *b;
	const struct row *rows;
	const int *fields;
	size_t nf;
	int brief;
	time_t now;
	struct cf_text text; /* the cell last asked for */
};

static const char *
table_cell(void *arg, size_t r, size_t c)
{
	struct table *t = arg;

	if (t->fields[c] == FIELD_SERVER)
		return backend_server(t->b, t->rows[r].server);
	t->text.len = 0;
	cf_view_put_at(&t->text, t->rows[r].view, (enum cf_field)t->fields[c],
	    t->brief, t->now);
	/* A field with nothing to say (a request's NotAfter) appends
	 * nothing: the text still holds the cell before it. */
	return t->text.len > 0 ? t->text.data : "";
}

/* The table of nrows rows whose cells cell gives (out_table_each);
 * nothing at all when there are none. */
static void
table_out(const int *fields, size_t nf, size_t nrows,
    const char *(*cell)(void *arg, size_t r, size_t c), void *arg)
{
	const char *headers[MAX_FIELDS];
	size_t c;

	if (nrows == 0)
		return;
	for (c = 0; c < nf; c++)
		headers[c] = field_name(fields[c]);
	out_table_each(headers, nf, nrows, cell, arg);
}

/*
 * One table for every row.  Brief values (8-digit thumbprints, dates to
 * the day) in the default table for a person; whole ones when the
 * fields were named or for --format tsv.  Each cell is written when
 * asked for, into one small text, twice (widths, then the rows): held
 * at once, the 60,000 cells of 10,000 certificates and their pointers
 * were 3 MB, whose page faults cost more than writing them twice.
 * DaysLeft is counted from one moment, so both passes agree.
 */
static void
print_table(const struct backend *b, const struct row *rows, size_t n,
    const int *fields, size_t nf, int brief)
{
	struct table t = {.b = b,
	    .rows = rows,
	    .fields = fields,
	    .nf = nf,
	    .brief = brief,
	    .now = time(NULL)};

	table_out(fields, nf, n, table_cell, &t);
	cf_text_clear(&t.text);
}

/*
 * One item of the JSON listing: all fields and its Server, or exactly
 * the fields --fields named (given).  text is scratch.
 */
static void
json_item_out(const struct cf_view *v, const char *server, const int *fields,
    size_t nf, int given, struct cf_text *text)
{
	size_t c;
	json_t *o;

	if (!given && out_json_compact()) {
		/* Straight to text: a tree a row cost two thirds of a large
		 * listing. */
		text->len = 0;
		cf_views_json_text(text, v, 1, server);
		out_json_item_text(text->data);
		return;
	}
	o = json_object();
	if (!given) {
		json_object_set_new(o, "Server", json_string(server));
		json_object_update_new(o, cf_view_json(v));
	} else
		for (c = 0; c < nf; c++)
			json_object_set_new(o, field_name(fields[c]),
			    fields[c] == FIELD_SERVER
				? json_string(server)
				: cf_view_field_json(
				      v, (enum cf_field)fields[c]));
	out_json_item(o);
}

/* Every row as JSON (json_item_out). */
static void
print_json(const struct backend *b, const struct row *rows, size_t n,
    const int *fields, size_t nf, int given)
{
	struct cf_text text = {0};
	size_t i;

	out_json_open();
	for (i = 0; i < n; i++)
		json_item_out(rows[i].view, backend_server(b, rows[i].server),
		    fields, nf, given, &text);
	out_json_close();
	cf_text_clear(&text);
}

/* ---- one local store, printed as it is read ------------------------ */

/*
 * A table of a listing handed out a view at a time (cf_op_get_each):
 * the widths need every row before the first is printed, so each row's
 * cells are written as its view comes, a NUL after each cell, into
 * blocks that never move, and where each row starts is kept.  About 120
 * bytes a row where the views were 500, and no view outlives its page.
 * Blocks, not one text grown by realloc: its copies touched twice the
 * pages the cells need (page faults, a third of a table's cost here).
 */
#define PACK_BLOCK (256 * 1024)

struct packed {
	const int *fields;
	size_t nf;
	int brief;
	time_t now; /* DaysLeft's, one for the whole table */
	const char *server;
	struct cf_text row; /* the row being written */
	char **blocks;      /* the rows written, each whole in one */
	size_t nblocks;
	char *next;          /* where the last has room, */
	size_t left;         /* this many bytes */
	const char **starts; /* of each row */
	size_t n, cap;
	size_t at_r, at_c; /* the cell last given, */
	const char *at;    /* at: the next is found from it */
};

/* Room for len bytes of a row, in the last block or a new one. */
static char *
pack_room(struct packed *p, size_t len)
{
	char *at;

	if (p->nblocks == 0 || p->left < len) {
		p->left = len > PACK_BLOCK ? len : PACK_BLOCK;
		p->blocks =
		    xrealloc(p->blocks, (p->nblocks + 1) * sizeof(*p->blocks));
		p->blocks[p->nblocks++] = p->next = xmalloc(p->left);
	}
	at = p->next;
	p->next += len;
	p->left -= len;
	return at;
}

static int
pack_row(const struct cf_view *v, void *arg)
{
	struct packed *p = arg;
	char *at;
	size_t c;

	if (p->n == p->cap) {
		p->cap = p->cap == 0 ? 1024 : p->cap * 2;
		p->starts = xrealloc(p->starts, p->cap * sizeof(*p->starts));
	}
	p->row.len = 0;
	for (c = 0; c < p->nf; c++) {
		if (p->fields[c] == FIELD_SERVER)
			cf_text_put(&p->row, p->server);
		else
			cf_view_put_at(&p->row, v, (enum cf_field)p->fields[c],
			    p->brief, p->now);
		cf_text_putn(&p->row, "", 1);
	}
	at = pack_room(p, p->row.len);
	memcpy(at, p->row.data, p->row.len);
	p->starts[p->n++] = at;
	return 0;
}

/* Cell (r, c) of the packed table: the one after the last given, or
 * counted from its row's start. */
static const char *
packed_cell(void *arg, size_t r, size_t c)
{
	struct packed *p = arg;
	size_t k;

	if (p->at != NULL && r == p->at_r && c == p->at_c + 1)
		p->at += strlen(p->at) + 1;
	else {
		p->at = p->starts[r];
		for (k = 0; k < c; k++)
			p->at += strlen(p->at) + 1;
	}
	p->at_r = r;
	p->at_c = c;
	return p->at;
}

/*
 * The table of the listing q of store s, read as it is packed; on a
 * failure, nothing printed and the failure said as a reply's would be.
 */
static int
table_streamed(const struct backend *b, struct cf_store *s,
    const struct cf_get_query *q, const int *fields, size_t nf, int brief)
{
	struct packed p = {.fields = fields,
	    .nf = nf,
	    .brief = brief,
	    .now = time(NULL),
	    .server = backend_server(b, 0)};
	struct cf_error err = {0};
	int rc = 0;
	size_t i;

	if (cf_op_get_each(s, q, pack_row, &p, &err) == -1)
		rc = backend_fail(b, 0, "get", &err);
	else
		table_out(fields, nf, p.n, packed_cell, &p);
	cf_text_clear(&p.row);
	for (i = 0; i < p.nblocks; i++)
		free(p.blocks[i]);
	free(p.blocks);
	free(p.starts);
	return rc;
}

/* The JSON of a listing handed out a view at a time: each item printed
 * as its view comes, the document opened with the first. */
struct streamed {
	const char *server;
	const int *fields;
	size_t nf;
	int given, open;
	struct cf_text text;
};

static int
json_row(const struct cf_view *v, void *arg)
{
	struct streamed *j = arg;

	if (!j->open)
		out_json_open();
	j->open = 1;
	json_item_out(v, j->server, j->fields, j->nf, j->given, &j->text);
	return 0;
}

/*
 * The JSON of the listing q of store s, written as it is read.  A
 * failure before the first item prints nothing; one after it leaves the
 * document unclosed (no valid JSON for a script to take as the whole
 * listing) beside the message and the exit status.
 */
static int
json_streamed(const struct backend *b, struct cf_store *s,
    const struct cf_get_query *q, const int *fields, size_t nf, int given)
{
	struct streamed j = {.server = backend_server(b, 0),
	    .fields = fields,
	    .nf = nf,
	    .given = given};
	struct cf_error err = {0};
	int rc = 0;

	if (cf_op_get_each(s, q, json_row, &j, &err) == -1)
		rc = backend_fail(b, 0, "get", &err);
	else {
		if (!j.open)
			out_json_open();
		out_json_close();
	}
	cf_text_clear(&j.text);
	return rc;
}

/*
 * The whole listing of q, when b is one local store: printed as it is
 * read, never held as views (one certificate, or the few expiring
 * sorted by NotAfter, are read whole by the caller).  The exit status,
 * or -1 when b is not one local store.
 */
static int
get_streamed(const struct backend *b, const struct cf_get_query *q,
    const int *fields, size_t nf, int given)
{
	struct cf_store *s = backend_local_store(b);

	if (s == NULL)
		return -1;
	if (cli.json)
		return json_streamed(b, s, q, fields, nf, given);
	return table_streamed(b, s, q, fields, nf, !given && !out_tsv());
}

const struct option cli_get_opts[] = {
    CLI_COMMON_OPTS,
    {"fields", required_argument, NULL, 'f'},
    {"expiring", required_argument, NULL, 'e'},
    {NULL, 0, NULL, 0},
};

int
cmd_get(int argc, char **argv)
{
	int fields[MAX_FIELDS] = {CF_F_THUMBPRINT, CF_F_SERVICES, CF_F_STATUS,
	    CF_F_NOTAFTER, CF_F_DAYSLEFT, CF_F_SUBJECT};
	size_t nf = 6, failed = 0, nrows = 0, ntargets;
	struct expiring expiring = {0};
	struct backend_reply *r;
	struct row *rows;
	struct backend_req req;
	struct backend *b;
	int c, rc, given = 0;

	memset(&req, 0, sizeof(req));
	while (
	    (c = getopt_long(argc, argv, ":hf:e:", cli_get_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		}
		if (c == 'f') {
			if ((rc = parse_fields(optarg, fields, &nf)) != 0)
				return rc;
			given = 1;
			continue;
		}
		if (c == 'e') {
			if ((rc = parse_expiring(optarg, &expiring)) != 0)
				return rc;
			continue;
		}
		return cli_bad_option("get", c, argv);
	}
	if (optind < argc)
		req.arg = argv[optind++];
	/* Where the listing is read, only the expiring are read (an agent
	 * that cannot filter sends all: rows_new filters again). */
	req.get.expiring = expiring.given;
	req.get.days = expiring.limit.is_share ? 0 : expiring.limit.days;
	/* The API takes whole percents: rounded up, the agent sends a few
	 * more, never fewer, and rows_new keeps the exact share. */
	req.get.percent = expiring.limit.is_share
			      ? whole_percent_up(expiring.limit.fraction)
			      : 0;
	if (optind < argc)
		return cli_usage("get", "one thumbprint at most");
	if ((rc = backend_open("get", &b)) != 0)
		return rc;
	if (!given && backend_count(b) > 1) {
		memmove(fields + 1, fields, nf * sizeof(fields[0]));
		fields[0] = FIELD_SERVER;
		nf++;
	}
	if (req.arg == NULL && !expiring.given &&
	    (rc = get_streamed(b, &req.get, fields, nf, given)) != -1) {
		backend_free(b);
		return rc;
	}
	r = backend_replies_new(b);
	backend_run(b, BACKEND_GET, &req, r);
	rc = backend_fail_all(b, "get", r, &failed);
	rows = rows_new(b, r, &expiring, &nrows);
	if (failed == backend_count(b))
		; /* nothing to show: stdout stays empty */
	else if (cli.json)
		print_json(b, rows, nrows, fields, nf, given);
	else
		print_table(b, rows, nrows, fields, nf, !given && !out_tsv());
	free(rows);
	/* The store first: freeing its page cache (one large block) after
	 * the 100,000 small strings of the views made malloc consolidate
	 * them all, 5% of a 10,000-row listing. */
	ntargets = backend_count(b);
	backend_free(b);
	backend_replies_free(r, ntargets);
	return rc;
}
