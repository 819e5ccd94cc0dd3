/*
 * cmd_get.c - certfleet get [THUMBPRINT] [--fields F,...] [--json]:
 * Get-ExchangeCertificate | Format-Table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet get [THUMBPRINT] [--fields F,...] [--json]\n"
    "         [--server NAME,...|all] [--store DIR]\n"
    "Fields: Subject, Issuer, Thumbprint, FriendlyName, Status, Services,\n"
    "  PrivateKeyExportable, HasPrivateKey, NotBefore, NotAfter,\n"
    "  CertificateDomains, IsSelfSigned, KeyType, SerialNumber, Chain,\n"
    "  Server (first by default when several servers answer)\n";

/* Server is no field of a certificate: the CLI's own, after the rest. */
#define FIELD_SERVER CF_F_COUNT
#define MAX_FIELDS (CF_F_COUNT + 1)

static int
field_lookup(const char *name)
{
	return cf_strieq(name, "Server") ? FIELD_SERVER
					 : cf_field_lookup(name);
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

/* One table for every server that answered, rows in server order. */
static void
print_table(const struct backend *b, const struct backend_reply *r,
    const int *fields, size_t nf)
{
	const char *headers[MAX_FIELDS];
	char **cells;
	size_t i, j, c, rows = 0, row = 0;

	for (i = 0; i < backend_count(b); i++)
		rows += r[i].nviews;
	if (rows == 0)
		return;
	cells = xcalloc(rows * nf + 1, sizeof(*cells));
	for (c = 0; c < nf; c++)
		headers[c] = field_name(fields[c]);
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nviews; j++, row++)
			for (c = 0; c < nf; c++)
				cells[row * nf + c] =
				    fields[c] == FIELD_SERVER
					? xstrdup(backend_server(b, i))
					: cf_view_text(&r[i].views[j],
					      (enum cf_field)fields[c]);
	out_table(headers, nf, cells, rows);
	for (i = 0; i < rows * nf; i++)
		free(cells[i]);
	free(cells);
}

/* Every certificate as JSON, with its Server when several answer. */
static void
print_json(const struct backend *b, const struct backend_reply *r)
{
	size_t i, j;

	out_json_open();
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nviews; j++) {
			json_t *o = cf_view_json(&r[i].views[j]);
			if (backend_count(b) > 1)
				json_object_set_new(o, "Server",
				    json_string(backend_server(b, i)));
			out_json_item(o);
		}
	out_json_close();
}

const struct option cli_get_opts[] = {
    CLI_COMMON_OPTS,
    {"fields", required_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

int
cmd_get(int argc, char **argv)
{
	int fields[MAX_FIELDS] = {CF_F_THUMBPRINT, CF_F_SERVICES, CF_F_STATUS,
	    CF_F_NOTAFTER, CF_F_SUBJECT};
	size_t nf = 5, failed = 0;
	struct backend_reply *r;
	struct backend_req req;
	struct backend *b;
	int c, rc, given = 0;

	memset(&req, 0, sizeof(req));
	while (
	    (c = getopt_long(argc, argv, ":hf:", cli_get_opts, NULL)) != -1) {
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
		return cli_bad_option("get", c, argv);
	}
	if (optind < argc)
		req.arg = argv[optind++];
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
	if (failed == backend_count(b))
		; /* nothing to show: stdout stays empty */
	else if (cli.json)
		print_json(b, r);
	else
		print_table(b, r, fields, nf);
	backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}
