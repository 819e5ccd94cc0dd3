/*
 * cmd_services.c - certfleet services [--json]: per service, the
 * certificate assigned to it, the one its files hold and the one a live
 * handshake sees, and whether they agree.  "Renewed but still serving the
 * old one" shows here: the table, then one line on stderr per service
 * that does not serve what it should, and exit status 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "cli.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet services [--json] [--no-header] [--format table|tsv]\n"
    "         [--server NAME,...|all] [--store DIR]\n"
    "Per service: the assigned certificate, the one its files hold, the\n"
    "one a live handshake sees (Served), and whether they match.  Exit\n"
    "status 1 when a service does not serve its assigned certificate.\n";

#define NCOLS 9

/* A thumbprint for the table: its first 8 digits (whole for --format
 * tsv), "-" for none. */
static char *
table_thumb(const char *t)
{
	if (t[0] == '\0')
		return xstrdup("-");
	return out_tsv() ? xstrdup(t) : xasprintf("%.8s", t);
}

/* Whole days from now until t, or "-" when unknown. */
static char *
days_text(time_t t)
{
	if (t == 0)
		return xstrdup("-");
	return xasprintf("%lld", cf_days_left(t, time(NULL)));
}

/* A thumbprint, or null for none. */
static json_t *
thumb_json(const char *t)
{
	return t[0] ? json_string(t) : json_null();
}

/* The JSON of one service of server. */
static json_t *
view_json(const char *server, const struct cf_service_view *v)
{
	char iso[21] = "";
	json_t *o = json_object();

	if (v->not_after != 0)
		cf_time_iso(v->not_after, iso);
	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Service", json_string(v->name));
	json_object_set_new(o, "Kind", json_string(v->kind));
	json_object_set_new(o, "Assigned", thumb_json(v->assigned));
	json_object_set_new(o, "OnDisk", thumb_json(v->on_disk));
	json_object_set_new(o, "Served", thumb_json(v->served));
	json_object_set_new(
	    o, "Match", v->match < 0 ? json_null() : json_boolean(v->match));
	json_object_set_new(
	    o, "NotAfter", v->not_after ? json_string(iso) : json_null());
	json_object_set_new(o, "DaysLeft",
	    v->not_after ? json_integer((json_int_t)cf_days_left(
			       v->not_after, time(NULL)))
			 : json_null());
	json_object_set_new(o, "Endpoint", cf_json_string(v->endpoint));
	json_object_set_new(o, "Problem", cf_json_string(v->problem));
	return o;
}

/* The table (or JSON) of every server's services. */
static void
print_services(const struct backend *b, const struct backend_reply *r)
{
	static const char *const names[NCOLS + 1] = {"Server", "Service",
	    "Kind", "Assigned", "OnDisk", "Served", "Match", "DaysLeft",
	    "Endpoint"};
	int several = backend_count(b) > 1;
	size_t nc = several ? NCOLS : NCOLS - 1, rows = 0, row = 0, i, j;
	const char *const *headers = several ? names : names + 1;
	char **cells;
	json_t *a = json_array();

	for (i = 0; i < backend_count(b); i++)
		rows += r[i].nsvcs;
	cells = xcalloc(rows * nc + 1, sizeof(*cells));
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nsvcs; j++, row++) {
			const struct cf_service_view *v = &r[i].svcs[j];
			char **cell = cells + row * nc;
			json_array_append_new(
			    a, view_json(backend_server(b, i), v));
			if (several)
				*cell++ = xstrdup(backend_server(b, i));
			cell[0] = xstrdup(v->name);
			cell[1] = xstrdup(v->kind[0] ? v->kind : "-");
			cell[2] = table_thumb(v->assigned);
			cell[3] = table_thumb(v->on_disk);
			cell[4] = table_thumb(v->served);
			cell[5] = xstrdup(v->match < 0 ? "-"
					  : v->match   ? "yes"
						       : "NO");
			cell[6] = days_text(v->not_after);
			cell[7] = xstrdup(v->endpoint);
		}
	if (cli.json)
		out_json_items(a);
	else {
		json_decref(a);
		if (rows > 0)
			out_table(headers, nc, cells, rows);
		else if (!out_tsv())
			puts("No services: none is configured ([service NAME] "
			     "in the agent's configuration) or assigned.");
	}
	for (i = 0; i < rows * nc; i++)
		free(cells[i]);
	free(cells);
}

/* The fixes suggested name the server when the command went to one. */
static void
name_servers(const struct backend *b, struct backend_reply *r)
{
	struct cf_service_view *v;
	size_t i, j;
	char *named;

	for (i = 0; cli.server != NULL && i < backend_count(b); i++)
		for (j = 0; j < r[i].nsvcs; j++) {
			v = &r[i].svcs[j];
			named =
			    cli_name_server(v->problem, backend_server(b, i));
			free(v->problem);
			v->problem = named;
		}
}

/* Assigned, configured, yet nothing to compare: not deployed yet. */
static int
pending(const struct cf_service_view *v)
{
	return v->match < 0 && v->kind[0] != '\0' && v->assigned[0] != '\0';
}

/* One line on stderr per service that does not serve what it should (or
 * was never deployed); how many do not serve it (the second kind is a
 * step to take, not a failure). */
static size_t
report_mismatches(const struct backend *b, const struct backend_reply *r)
{
	size_t i, j, bad = 0;

	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nsvcs; j++) {
			if (pending(&r[i].svcs[j]))
				fprintf(stderr, "certfleet: %s: %s: %s\n",
				    backend_server(b, i), r[i].svcs[j].name,
				    r[i].svcs[j].problem);
			if (r[i].svcs[j].match != 0)
				continue;
			fprintf(stderr, "certfleet: %s: %s: %s\n",
			    backend_server(b, i), r[i].svcs[j].name,
			    r[i].svcs[j].problem);
			bad++;
		}
	return bad;
}

const struct option cli_services_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

int
cmd_services(int argc, char **argv)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *b;
	size_t failed = 0;
	int c, rc;

	memset(&req, 0, sizeof(req));
	while ((c = getopt_long(argc, argv, ":h", cli_services_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		}
		return cli_bad_option("services", c, argv);
	}
	if (optind != argc)
		return cli_usage(
		    "services", "unexpected argument %s", argv[optind]);
	if ((rc = backend_open("services", &b)) != 0)
		return rc;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_SERVICES, &req, r);
	rc = backend_fail_all(b, "services", r, &failed);
	name_servers(b, r);
	if (failed < backend_count(b)) {
		print_services(b, r);
		if (report_mismatches(b, r) > 0 && rc == 0)
			rc = 1;
	}
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}
