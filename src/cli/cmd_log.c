/*
 * cmd_log.c - certfleet log [--since T] [--json]: the audit trail, who
 * did what to which certificate and how it ended.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet log [--since YYYY-MM-DD[THH:MM:SSZ]] [--json]\n";

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

int
cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"since", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"Time", "Actor", "Operation",
	    "Thumbprint", "Outcome"};
	struct cf_audit *recs = NULL;
	struct cf_store *s;
	struct cf_error err;
	time_t since = 0;
	size_t n = 0, i;
	int c;

	while ((c = getopt_long(argc, argv, ":hs:", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (c == 's' && (since = parse_since(optarg)) != (time_t)-1)
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
	if ((s = cli_open_store("log")) == NULL)
		return 1;
	cf_error_clear(&err);
	if (cf_store_audit_list(s, since, &recs, &n, &err) == -1) {
		cf_store_free(s);
		return cli_fail("log", &err);
	}
	if (cli.json) {
		json_t *a = json_array();
		for (i = 0; i < n; i++) {
			char t[21];
			cf_time_iso(recs[i].time, t);
			json_array_append_new(a,
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Time", t,
				"Actor", recs[i].actor, "Operation",
				recs[i].op, "Thumbprint", recs[i].thumb,
				"Outcome", recs[i].outcome));
		}
		out_json(a);
	} else if (n > 0) {
		char **cells = xcalloc(n * 5, sizeof(*cells));
		for (i = 0; i < n; i++) {
			char t[21];
			cf_time_iso(recs[i].time, t);
			cells[i * 5] = xstrdup(t);
			cells[i * 5 + 1] = xstrdup(recs[i].actor);
			cells[i * 5 + 2] = xstrdup(recs[i].op);
			cells[i * 5 + 3] = xstrdup(recs[i].thumb);
			cells[i * 5 + 4] = xstrdup(recs[i].outcome);
		}
		out_table(headers, 5, cells, n);
		for (i = 0; i < n * 5; i++)
			free(cells[i]);
		free(cells);
	}
	cf_audit_free(recs, n);
	cf_store_free(s);
	return 0;
}
