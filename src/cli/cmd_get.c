/*
 * cmd_get.c - certfleet get [THUMBPRINT] [--fields F,...] [--expiring
 * 30d|33%] [--json]: Get-ExchangeCertificate | Format-Table, and what
 * expires soon across the fleet.
 */
#include <getopt.h>
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
	return t->text.data != NULL ? t->text.data : "";
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
	const char *headers[MAX_FIELDS];
	struct table t = {.b = b,
	    .rows = rows,
	    .fields = fields,
	    .nf = nf,
	    .brief = brief,
	    .now = time(NULL)};
	size_t c;

	if (n == 0)
		return;
	for (c = 0; c < nf; c++)
		headers[c] = field_name(fields[c]);
	out_table_each(headers, nf, n, table_cell, &t);
	cf_text_clear(&t.text);
}

/*
 * Every row as JSON: all fields and its Server, or exactly the fields
 * --fields named.
 */
static void
print_json(const struct backend *b, const struct row *rows, size_t n,
    const int *fields, size_t nf, int given)
{
	struct cf_text text = {0};
	size_t i, c;
	json_t *o;

	out_json_open();
	for (i = 0; i < n; i++) {
		const char *server = backend_server(b, rows[i].server);
		if (!given && out_json_compact()) {
			/* Straight to text: a tree a row cost two thirds of
			 * a large listing. */
			text.len = 0;
			cf_views_json_text(&text, rows[i].view, 1, server);
			out_json_item_text(text.data);
			continue;
		}
		if (!given) {
			o = json_object();
			json_object_set_new(o, "Server", json_string(server));
			json_object_update_new(o, cf_view_json(rows[i].view));
		} else {
			o = json_object();
			for (c = 0; c < nf; c++)
				json_object_set_new(o, field_name(fields[c]),
				    fields[c] == FIELD_SERVER
					? json_string(server)
					: cf_view_field_json(rows[i].view,
					      (enum cf_field)fields[c]));
		}
		out_json_item(o);
	}
	out_json_close();
	cf_text_clear(&text);
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
