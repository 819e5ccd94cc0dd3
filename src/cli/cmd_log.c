/*
 * cmd_log.c - certfleet log [--since T] [--limit N] [--json]: the audit
 * trail, who did what to which certificate and how it ended, every
 * server's merged into one timeline.
 *
 * An agent answers the log a page at a time (docs/api.md): each server's
 * records are read page after page, on from the last record's id, until
 * a page comes back empty; with --limit N, back from the newest until N
 * are read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "cli.h"
#include "fleet.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet log [--since YYYY-MM-DD[THH:MM:SSZ]] [--limit N]\n"
    "         [--json] [--no-header] [--format table|tsv]\n"
    "         [--server NAME,...|all] [--store DIR]\n"
    "Several servers' records merge into one timeline, with a Server\n"
    "column.  --limit N shows the newest N of it.  The table shows an\n"
    "actor by its fleet name (or the first 8 digits of its fingerprint);\n"
    "--json and --format tsv show it whole.\n";

/* Records asked for in one page: what an agent answers at most. */
#define LOG_PAGE 1000
#define LIMIT_MAX 100000000L

/* Parses an ISO 8601 UTC date or date-time; -1 when malformed. */
static time_t
parse_since(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0))
		return (time_t)-1;
	return timegm(&tm);
}

/* One record of one server: a row of the timeline. */
struct row {
	size_t server;
	const struct cf_audit *rec;
};

/* By time, then in server order, then as each server wrote them. */
static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->rec->time != y->rec->time)
		return x->rec->time < y->rec->time ? -1 : 1;
	if (x->server != y->server)
		return x->server < y->server ? -1 : 1;
	return x->rec->id < y->rec->id ? -1 : x->rec->id > y->rec->id;
}

/* Every server's records in one timeline (*n rows, new array). */
static struct row *
timeline_new(const struct backend *b, const struct backend_reply *r, size_t *n)
{
	struct row *rows;
	size_t i, j, max = 0;

	for (i = 0; i < backend_count(b); i++)
		max += r[i].naudit;
	rows = xcalloc(max + 1, sizeof(*rows));
	*n = 0;
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].naudit; j++) {
			rows[*n].server = i;
			rows[(*n)++].rec = &r[i].audit[j];
		}
	qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

/*
 * An actor as a person reads it in the table: "tls:SHA256:HEX (CN)"
 * becomes the agent's fleet name when the fleet pins that fingerprint,
 * else "tls:" and its first 8 digits; the CN stays, without the
 * "certfleet admin " that `certfleet id` puts before user@host.  Others
 * ("local:alice", "unix:uid0") are short already.  New string.
 */
static char *
actor_brief(const char *actor, const struct fleet *f)
{
	static const char tls[] = "tls:SHA256:", id_cn[] = " (certfleet admin ";
	size_t n = strlen(tls), fp_len, i;
	const char *hint;
	char *name = NULL, *out;

	if (strncmp(actor, tls, n) != 0)
		return xstrdup(actor);
	fp_len = strcspn(actor + 4, " ");
	hint = actor + 4 + fp_len;
	for (i = 0; f != NULL && i < fleet_count(f) && name == NULL; i++)
		if (strlen(fleet_get(f, i)->fingerprint) == fp_len &&
		    strncmp(fleet_get(f, i)->fingerprint, actor + 4, fp_len) ==
			0)
			name = xstrdup(fleet_get(f, i)->name);
	if (name == NULL)
		name = xasprintf("tls:%.8s", actor + n);
	if (strncmp(hint, id_cn, sizeof(id_cn) - 1) == 0)
		out = xasprintf("%s (%s", name, hint + sizeof(id_cn) - 1);
	else
		out = xasprintf("%s%s", name, hint);
	free(name);
	return out;
}

/* The fleet whose names stand for fingerprints; NULL when there is
 * none to read (then fingerprints are shown short). */
static struct fleet *
names_fleet(void)
{
	struct cf_error err;
	struct fleet *f = NULL;
	char *path;

	if ((path = fleet_path(0, &err)) != NULL)
		f = fleet_load(path, &err);
	free(path);
	return f;
}

static json_t *
record_json(const char *server, const struct cf_audit *rec)
{
	char t[21];

	cf_time_iso(rec->time, t);
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "Server", server,
	    "Time", t, "Actor", cf_json_string(rec->actor), "Operation",
	    cf_json_string(rec->op), "Thumbprint", cf_json_string(rec->thumb),
	    "Outcome", cf_json_string(rec->outcome));
}

/* A record's cells; brief ones (time to the minute, short actor and
 * thumbprint) for a person's table. */
static void
record_cells(
    const struct cf_audit *rec, const struct fleet *f, int brief, char **cell)
{
	char t[21];

	cf_time_iso(rec->time, t);
	if (brief) {
		t[10] = ' ';
		t[16] = '\0'; /* 2026-12-03 14:05 */
	}
	cell[0] = xstrdup(t);
	cell[1] = brief ? actor_brief(rec->actor, f) : xstrdup(rec->actor);
	cell[2] = xstrdup(rec->op);
	cell[3] = brief ? xasprintf("%.8s", rec->thumb) : xstrdup(rec->thumb);
	cell[4] = xstrdup(rec->outcome);
}

/* The records of every server that answered, in one timeline; a Server
 * column when several did. */
static void
print_log(const struct backend *b, const struct backend_reply *r, size_t limit)
{
	static const char *const names[] = {
	    "Server", "Time", "Actor", "Operation", "Thumbprint", "Outcome"};
	int several = backend_count(b) > 1, brief = !out_tsv();
	const char *const *headers = several ? names : names + 1;
	size_t nc = several ? 6 : 5, n, i;
	struct row *all = timeline_new(b, r, &n), *rows = all;
	struct fleet *f = NULL;
	char **cells, **cell;

	if (limit > 0 && n > limit) { /* the newest of the timeline */
		rows += n - limit;
		n = limit;
	}

	if (cli.json) {
		out_json_open();
		for (i = 0; i < n; i++)
			out_json_item(record_json(
			    backend_server(b, rows[i].server), rows[i].rec));
		out_json_close();
		free(all);
		return;
	}
	if (brief)
		f = names_fleet();
	cells = xcalloc(n * nc + 1, sizeof(*cells));
	for (i = 0; i < n; i++) {
		cell = cells + i * nc;
		if (several)
			*cell++ = xstrdup(backend_server(b, rows[i].server));
		record_cells(rows[i].rec, f, brief, cell);
	}
	if (n > 0)
		out_table(headers, nc, cells, n);
	for (i = 0; i < n * nc; i++)
		free(cells[i]);
	free(cells);
	free(all);
	fleet_free(f);
}

/* Appends the n records of page to *all (which then owns their text). */
static void
take_page(struct backend_reply *all, struct cf_audit *page, size_t n)
{
	all->audit =
	    xrealloc(all->audit, (all->naudit + n + 1) * sizeof(*all->audit));
	memcpy(all->audit + all->naudit, page, n * sizeof(*page));
	all->naudit += n;
	free(page);
}

/*
 * Reads server i's records page by page into r[i]: on from the oldest,
 * or, with want > 0, back from the newest until want are read.  A page
 * that fails leaves its error in r[i] and no records.  A page whose
 * cursor does not move (an agent that does not page) ends the reading.
 */
static void
log_pages(struct backend *b, size_t i, struct backend_req *req,
    struct backend_reply *r, size_t want)
{
	struct backend_reply all;
	long long cursor = 0, next;
	size_t j, n;

	memset(&all, 0, sizeof(all));
	for (;;) {
		for (j = 0; j < backend_count(b); j++)
			r[j].todo = j == i;
		req->log.newest = want > 0;
		req->log.after = want > 0 ? 0 : cursor;
		req->log.before = want > 0 ? cursor : 0;
		req->log.limit = want > 0 && want - all.naudit < LOG_PAGE
				     ? want - all.naudit
				     : LOG_PAGE;
		backend_run(b, BACKEND_LOG, req, r);
		if (r[i].err.code != CF_OK || (n = r[i].naudit) == 0)
			break;
		next = want > 0 ? r[i].audit[0].id : r[i].audit[n - 1].id;
		take_page(&all, r[i].audit, n);
		r[i].audit = NULL;
		r[i].naudit = 0;
		if ((want > 0 && all.naudit >= want) || next == cursor ||
		    (want > 0 && next <= 1))
			break;
		cursor = next;
	}
	if (r[i].err.code != CF_OK) {
		cf_audit_free(all.audit, all.naudit);
		return;
	}
	cf_audit_free(r[i].audit, r[i].naudit);
	r[i].audit = all.audit;
	r[i].naudit = all.naudit;
}

const struct option cli_log_opts[] = {
    CLI_COMMON_OPTS,
    {"since", required_argument, NULL, 's'},
    {"limit", required_argument, NULL, 'n'},
    {NULL, 0, NULL, 0},
};

int
cmd_log(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *b;
	size_t failed = 0, limit = 0, i;
	char *end;
	long n;
	int c, rc;

	memset(&req, 0, sizeof(req));
	while (
	    (c = getopt_long(argc, argv, ":hs:n:", cli_log_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		}
		if (c == 's' &&
		    (req.log.since = parse_since(optarg)) != (time_t)-1)
			continue;
		if (c == 'n') {
			n = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || n < 1 ||
			    n > LIMIT_MAX)
				return cli_usage("log",
				    "--limit %s: give a number of records from "
				    "1 to %ld",
				    optarg, LIMIT_MAX);
			limit = (size_t)n;
			continue;
		}
		if (c == 's')
			return cli_usage("log",
			    "--since %s: not a date "
			    "(YYYY-MM-DD or "
			    "YYYY-MM-DDTHH:MM:SSZ)",
			    optarg);
		return cli_bad_option("log", c, argv);
	}
	if (optind != argc)
		return cli_usage("log", "unexpected argument %s", argv[optind]);
	if ((rc = backend_open("log", &b)) != 0)
		return rc;
	r = backend_replies_new(b);
	for (i = 0; i < backend_count(b); i++)
		log_pages(b, i, &req, r, limit);
	rc = backend_fail_all(b, "log", r, &failed);
	if (failed < backend_count(b))
		print_log(b, r, limit);
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}
