/*
 * cmd_test_via.c - certfleet test NAMESPACE --via HOST:PORT: asks no agent
 * and connects N times (--count) through a load balancer with SNI =
 * NAMESPACE, then counts what users get: each distinct certificate with
 * its share and verdict, and the failed handshakes grouped by reason.
 * Exit 0 only when every connection served one and the same valid
 * certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "output.h"
#include "test.h"

/* One row of the --via table and one element of its JSON; whether the
 * certificate is valid for the namespace. */
static int
via_cert(const struct seen *s, size_t total, const struct test_opts *o,
    char **cell, json_t *a)
{
	struct verdict v;
	json_t *j = json_object();
	char *r;
	int valid;

	test_judge(s->job, o, time(NULL), &v);
	test_served_json(j, s->job, &v);
	json_object_set_new(j, "Count", json_integer((json_int_t)s->count));
	json_object_set_new(
	    j, "Share", json_real((double)s->count / (double)total));
	json_array_append_new(a, j);
	r = test_reasons_text(&v);
	cell[0] = out_tsv() ? xstrdup(s->job->result.thumbprint)
			    : xasprintf("%.8s", s->job->result.thumbprint);
	cell[1] = xstrdup(s->job->result.subject);
	cell[2] = xasprintf("%zu/%zu %zu%%", s->count, total,
	    (s->count * 100 + total / 2) / total);
	cell[3] = v.nreasons == 0 ? xstrdup("valid")
		  : v.valid       ? xasprintf("valid, %s", r)
				  : xstrdup(r);
	free(r);
	valid = v.valid;
	test_verdict_clear(&v);
	return valid;
}

/* Whether failed jobs a and b failed for the same reason. */
static int
same_failure(const struct probe_job *a, const struct probe_job *b)
{
	return a->rc != 0 && b->rc != 0 && strcmp(a->err.msg, b->err.msg) == 0;
}

/*
 * The failed handshakes grouped by reason, into rows (from cell) and
 * JSON; how many rows.
 */
static size_t
via_failures(const struct probe_job *jobs, size_t n, char **cell, json_t *a)
{
	size_t i, k, rows = 0, count;
	const char *msg;

	for (i = 0; i < n; i++) {
		if (jobs[i].rc == 0)
			continue;
		for (k = 0; k < i && !same_failure(&jobs[k], &jobs[i]); k++)
			;
		if (k < i)
			continue; /* counted with the first of its kind */
		for (count = 0, k = i; k < n; k++)
			count += same_failure(&jobs[k], &jobs[i]);
		msg = jobs[i].err.msg;
		json_array_append_new(a, json_pack("{s:s, s:I}", "Error", msg,
					     "Count", (json_int_t)count));
		cell[0] = xstrdup("-");
		cell[1] = xstrdup("-");
		cell[2] = xasprintf(
		    "%zu/%zu %zu%%", count, n, (count * 100 + n / 2) / n);
		cell[3] = xasprintf("handshake failed: %s", msg);
		cell += 4;
		rows++;
	}
	return rows;
}

/* The table or the JSON of --via, then the summary; the exit status. */
static int
via_report(const struct test_opts *o, const char *where,
    const struct probe_job *jobs, size_t n, const struct seen *seen,
    size_t nseen)
{
	static const char *const headers[] = {
	    "Thumbprint", "Subject", "Share", "Result"};
	char **cells = xcalloc((nseen + n) * 4 + 1, sizeof(*cells));
	json_t *certs = json_array(), *fails = json_array();
	size_t i, rows, failed = n, invalid = 0;
	int ok;

	for (i = 0; i < nseen; i++) {
		if (!via_cert(&seen[i], n, o, cells + i * 4, certs))
			invalid += seen[i].count;
		failed -= seen[i].count;
	}
	rows = nseen + via_failures(jobs, n, cells + nseen * 4, fails);
	ok = nseen == 1 && failed == 0 && invalid == 0;
	if (cli.json)
		out_json(json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:b}",
		    "Namespace", o->ns, "Via", where, "Protocol",
		    cf_probe_proto_name(o->proto), "Connections", (json_int_t)n,
		    "Distinct", certs, "Failures", fails, "Ok", ok));
	else {
		json_decref(certs);
		json_decref(fails);
		out_table(headers, 4, cells, rows);
	}
	if (!cli.json && !out_tsv()) {
		printf("%s via %s: %zu distinct certificate%s in %zu "
		       "connections; ",
		    o->ns, where, nseen, nseen == 1 ? "" : "s", n);
		if (invalid + failed == 0)
			puts("all valid");
		else if (failed == 0)
			printf("%zu not valid\n", invalid);
		else
			printf("%zu not valid (%zu handshakes failed)\n",
			    invalid + failed, failed);
	}
	for (i = 0; i < rows * 4; i++)
		free(cells[i]);
	free(cells);
	return ok ? 0 : 1;
}

/* --via: count handshakes through a load balancer; the exit status. */
int
test_via(const struct test_opts *o)
{
	struct cf_probe_ctx *ctx = NULL;
	struct probe_job *jobs = NULL;
	struct seen *seen = NULL;
	struct cf_error err;
	size_t n = o->count ? (size_t)o->count : 20, nseen = 0, i;
	char *host = NULL, *port = NULL, *where = NULL;
	int iport, rc = 1;

	if (client_address_parse(o->via, &host, &iport, &err) == -1)
		return cli_fail("test", &err);
	if ((ctx = test_roots_new(o)) == NULL)
		goto out;
	port = xasprintf("%d", iport);
	where = test_where_new(host, port);
	jobs = xcalloc(n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		jobs[i].opts.host = host;
		jobs[i].opts.port = port;
		jobs[i].opts.sni = o->ns;
		jobs[i].opts.proto = o->proto;
		jobs[i].opts.timeout_ms = o->timeout_s * 1000;
		jobs[i].opts.ctx = ctx;
	}
	probe_pool_run(jobs, n, 0, isatty(STDERR_FILENO));
	seen = xcalloc(n, sizeof(*seen));
	for (i = 0; i < n; i++)
		test_tally(seen, &nseen, &jobs[i]);
	qsort(seen, nseen, sizeof(*seen), test_seen_cmp);
	rc = o->plugin ? test_plugin_via(o, where, jobs, n, seen, nseen)
		       : via_report(o, where, jobs, n, seen, nseen);
out:
	probe_jobs_clear(jobs, n);
	free(jobs);
	free(seen);
	cf_probe_ctx_free(ctx);
	free(host);
	free(port);
	free(where);
	return rc;
}
