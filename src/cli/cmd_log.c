/*
 * cmd_log.c - certfleet log [--since T] [--json]: the audit trail, who
 * did what to which certificate and how it ended.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "cli.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet log [--since YYYY-MM-DD[THH:MM:SSZ]] [--json]\n"
    "         [--server NAME,...|all] [--store DIR]\n";

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

/* The records of every server that answered; Server first when several
 * did. */
static void
print_log(const struct backend *b, const struct backend_reply *r)
{
	static const char *const names[] = {"Server", "Time", "Actor",
	    "Operation", "Thumbprint", "Outcome"};
	int several = backend_count(b) > 1;
	const char *const *headers = several ? names : names + 1;
	size_t nc = several ? 6 : 5, rows = 0, row = 0, i, j, k;
	json_t *a = json_array();
	char **cells;

	for (i = 0; i < backend_count(b); i++)
		rows += r[i].naudit;
	cells = xcalloc(rows * nc + 1, sizeof(*cells));
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].naudit; j++, row++) {
			const struct cf_audit *rec = &r[i].audit[j];
			char t[21], **cell = cells + row * nc;
			json_t *o = json_object();
			cf_time_iso(rec->time, t);
			if (several)
				*cell++ = xstrdup(backend_server(b, i));
			cell[0] = xstrdup(t);
			cell[1] = xstrdup(rec->actor);
			cell[2] = xstrdup(rec->op);
			cell[3] = xstrdup(rec->thumb);
			cell[4] = xstrdup(rec->outcome);
			for (k = 0; k < nc; k++)
				json_object_set_new(o, headers[k],
				    json_string(cells[row * nc + k]));
			json_array_append_new(a, o);
		}
	if (cli.json)
		out_json(a);
	else {
		json_decref(a);
		if (rows > 0)
			out_table(headers, nc, cells, rows);
	}
	for (i = 0; i < rows * nc; i++)
		free(cells[i]);
	free(cells);
}

const struct option cli_log_opts[] = {
    CLI_COMMON_OPTS,
    {"since", required_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};

int
cmd_log(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *b;
	size_t failed = 0;
	int c, rc;

	memset(&req, 0, sizeof(req));
	while (
	    (c = getopt_long(argc, argv, ":hs:", cli_log_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		}
		if (c == 's' &&
		    (req.since = parse_since(optarg)) != (time_t)-1)
			continue;
		if (c == 's')
			return cli_usage("log", "--since %s: not a date "
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
	backend_run(b, BACKEND_LOG, &req, r);
	rc = backend_fail_all(b, "log", r, &failed);
	if (failed < backend_count(b))
		print_log(b, r);
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}
