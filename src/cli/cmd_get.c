/*
 * cmd_get.c - certfleet get [THUMBPRINT] [--fields F,...] [--json]:
 * Get-ExchangeCertificate | Format-Table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ops.h"
#include "output.h"
#include "view.h"

static const char usage[] =
    "Usage: certfleet get [THUMBPRINT] [--fields F,...] [--json]\n"
    "Fields: Subject, Issuer, Thumbprint, FriendlyName, Status, Services,\n"
    "  PrivateKeyExportable, HasPrivateKey, NotBefore, NotAfter,\n"
    "  CertificateDomains, IsSelfSigned, KeyType, SerialNumber, Chain\n";

/* The fields named in list into fields[]; -1 names the unknown one. */
static int
parse_fields(const char *list, int *fields, size_t *n)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	int rc = 0, f;

	*n = 0;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if ((f = cf_field_lookup(tok)) < 0) {
			rc = cli_usage("get", "%s: unknown field", tok);
			break;
		}
		if (*n < CF_F_COUNT)
			fields[(*n)++] = f;
	}
	free(copy);
	if (rc == 0 && *n == 0)
		rc = cli_usage("get", "--fields names no field");
	return rc;
}

static void
print_table(const struct cf_view *v, size_t n, const int *fields,
    size_t nf)
{
	const char *headers[CF_F_COUNT];
	char **cells = xcalloc(n * nf + 1, sizeof(*cells));
	size_t r, c;

	for (c = 0; c < nf; c++)
		headers[c] = cf_field_name((enum cf_field)fields[c]);
	for (r = 0; r < n; r++)
		for (c = 0; c < nf; c++)
			cells[r * nf + c] =
			    cf_view_text(&v[r], (enum cf_field)fields[c]);
	out_table(headers, nf, cells, n);
	for (r = 0; r < n * nf; r++)
		free(cells[r]);
	free(cells);
}

int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"fields", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int fields[CF_F_COUNT] = {CF_F_THUMBPRINT, CF_F_SERVICES, CF_F_STATUS,
	    CF_F_NOTAFTER, CF_F_SUBJECT};
	size_t nf = 5, n = 0, i;
	struct cf_view *views = NULL;
	struct cf_store *s = NULL;
	struct cf_error err;
	const char *arg = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (c == 'f') {
			if ((rc = parse_fields(optarg, fields, &nf)) != 0)
				return rc;
			continue;
		}
		return cli_bad_option("get", c, argv);
	}
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc)
		return cli_usage("get", "one thumbprint at most");
	if ((s = cli_open_store("get")) == NULL)
		return 1;
	cf_error_clear(&err);
	if (cf_op_get(s, arg, &views, &n, &err) == -1) {
		rc = cli_fail("get", &err);
		cf_store_free(s);
		return rc;
	}
	if (cli.json) {
		out_json_open();
		for (i = 0; i < n; i++)
			out_json_item(cf_view_json(&views[i]));
		out_json_close();
	} else if (n > 0)
		print_table(views, n, fields, nf);
	cf_views_free(views, n);
	cf_store_free(s);
	return 0;
}
