/*
 * cmd_copy.c - certfleet copy THUMBPRINT --from S --to S,...|all
 * [--services S,...|same|none] [--exportable|--no-exportable]: the
 * article in one command.  Export from the source under a random
 * one-time password, import on every target at once with the same
 * services (deployed and checked as enable does), a line per server.
 *
 * The password is 256 random bits made here; it exists only in this
 * process and inside the mutual-TLS sessions, never on disk or screen,
 * and is wiped after use.  The PKCS#12 in between never touches the disk
 * either.  Targets that succeed stay done; running copy again is
 * harmless ("already present", "unchanged").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "backend.h"
#include "cli.h"
#include "ops.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet copy THUMBPRINT --from SERVER --to SERVER,...|all\n"
    "         [--services S,...|same|none] [--exportable|--no-exportable]\n"
    "Copies the certificate with its key and chain from one agent to "
    "others\n"
    "under a one-time password, assigns the same services (or those "
    "given)\n"
    "and deploys them.  The copies are exportable when the source's is,\n"
    "unless --exportable or --no-exportable says otherwise.\n";

struct copy_args {
	const char *arg, *from, *to;
	const char *services; /* NULL: same */
	int exportable;	      /* -1: as the source */
};

const struct option cli_copy_opts[] = {
    CLI_COMMON_OPTS,
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"services", required_argument, NULL, 's'},
    {"exportable", no_argument, NULL, 'e'},
    {"no-exportable", no_argument, NULL, 'E'},
    {NULL, 0, NULL, 0},
};

static int
parse(int argc, char **argv, struct copy_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->exportable = -1;
	while ((c = getopt_long(
		    argc, argv, ":hf:t:s:eE", cli_copy_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		} else if (c == 'f')
			a->from = optarg;
		else if (c == 't')
			a->to = optarg;
		else if (c == 's')
			a->services = strcmp(optarg, "same") ? optarg : NULL;
		else if (c == 'e' || c == 'E')
			a->exportable = c == 'e';
		else
			return cli_bad_option("copy", c, argv);
	}
	if (optind != argc - 1)
		return cli_usage("copy", "name one certificate by thumbprint");
	a->arg = argv[optind];
	if (a->from == NULL || a->to == NULL)
		return cli_usage("copy", "--from SERVER and --to SERVER,... "
					 "are required");
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("copy", "copy goes --from one agent --to "
					 "others, not --server or --store");
	if (strchr(a->from, ',') != NULL || strcmp(a->from, "all") == 0)
		return cli_usage("copy", "--from names one agent");
	return 0;
}

/* A backend for the agents of list (fleet names, "all"). */
static int
open_agents(const char *list, struct backend **b)
{
	int rc;

	cli.server = list;
	rc = backend_open("copy", b);
	cli.server = NULL;
	return rc;
}

/*
 * The key is not exportable where it is: the article's error.  Which
 * agents of the fleet hold an exportable copy (they are asked) goes into
 * the message.
 */
static int
refuse_unexportable(const struct copy_args *a, const struct cf_view *v)
{
	struct backend_req req;
	struct backend_reply *r;
	struct backend *all;
	char list[512] = "";
	size_t i, len;

	memset(&req, 0, sizeof(req));
	req.arg = v->thumbprint;
	if (open_agents("all", &all) == 0) {
		r = backend_replies_new(all);
		backend_run(all, BACKEND_GET, &req, r);
		for (i = 0; i < backend_count(all); i++) {
			if (r[i].err.code != CF_OK || r[i].nviews != 1 ||
			    !r[i].views[0].exportable)
				continue;
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
			    len ? ", " : "", backend_server(all, i));
		}
		backend_replies_free(r, backend_count(all));
		backend_free(all);
	}
	fprintf(stderr,
	    "certfleet: %s: copy: %.8s (%s): the private key is not "
	    "exportable: it was imported or created without --exportable, "
	    "so it cannot leave %s as PKCS#12.\n",
	    a->from, v->thumbprint, v->subject, a->from);
	if (list[0] != '\0')
		fprintf(stderr,
		    "certfleet: exportable copies are on: %s; copy from one "
		    "of them (--from %.*s ...)\n",
		    list, (int)strcspn(list, ","), list);
	else
		fprintf(stderr, "certfleet: no agent of the fleet holds an "
				"exportable copy; make a new request on each "
				"server, or renew and re-issue\n");
	return 1;
}

/* source_view's answer for a key that cannot leave as PKCS#12. */
#define NOT_EXPORTABLE (-3)

/*
 * Looks the certificate up on the source: 0, NOT_EXPORTABLE, or an exit
 * status.
 */
static int
source_view(struct backend *src, const struct copy_args *a,
    struct backend_reply **r, const struct cf_view **v)
{
	struct backend_req req;

	memset(&req, 0, sizeof(req));
	req.arg = a->arg;
	*r = backend_replies_new(src);
	backend_run(src, BACKEND_GET, &req, *r);
	if ((*r)[0].err.code != CF_OK)
		return backend_fail(src, 0, "copy", &(*r)[0].err);
	*v = &(*r)[0].views[0];
	if (strcmp((*v)->status, "PendingRequest") == 0) {
		fprintf(stderr,
		    "certfleet: %s: copy: %.8s is a pending request; complete "
		    "it first (request complete)\n",
		    a->from, (*v)->thumbprint);
		return 1;
	}
	if (!(*v)->has_key) {
		fprintf(stderr,
		    "certfleet: %s: copy: %.8s has no private key there; no "
		    "server could present a copy\n",
		    a->from, (*v)->thumbprint);
		return 1;
	}
	return (*v)->exportable ? 0 : NOT_EXPORTABLE;
}

/* A one-time password: 256 random bits as 64 hex digits. */
static struct cf_secret *
one_time_password(void)
{
	unsigned char raw[32];
	char hex[65];
	struct cf_secret *s;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	cf_hex_upper(raw, sizeof(raw), hex);
	s = cf_secret_new(hex, 64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	return s;
}

/* Prints one line per target (and what its services did), or, with
 * --json, one item per target. */
static int
report(struct backend *dst, struct backend_reply *r, const char *skip,
    size_t *ok)
{
	size_t i, j;
	int rc = 0;
	json_t *a = json_array();

	*ok = 0;
	for (i = 0; i < backend_count(dst); i++) {
		const char *name = backend_server(dst, i);
		if (skip != NULL && strcmp(name, skip) == 0)
			continue;
		if (r[i].err.code != CF_OK) {
			int status = backend_fail(dst, i, "copy", &r[i].err);
			rc = rc ? rc : status;
			json_array_append_new(
			    a, out_error_json(name, r[i].err.msg));
		}
		for (j = 0; j < r[i].nresults && r[i].err.code == CF_OK; j++) {
			const struct cf_import_result *x = &r[i].results[j];
			json_array_append_new(a, out_result_json(name, x));
			if (!cli.json) {
				printf("%s: %s%s%s\n", name, x->what,
				    x->services[0] ? "; services " : "",
				    x->services);
				if (x->detail != NULL)
					cli_print_lines("  ", x->detail);
			}
		}
		*ok += r[i].err.code == CF_OK;
	}
	if (cli.json)
		out_json_items(a);
	else
		json_decref(a);
	return rc;
}

/* The services the copies get: given, the source's (same), or none. */
static const char *
services_of(const struct copy_args *a, const struct cf_view *v)
{
	if (a->services == NULL)
		return v->services[0] ? v->services : NULL;
	return strcmp(a->services, "none") == 0 ? NULL : a->services;
}

/* Marks every target but the source to do; how many. */
static size_t
targets_todo(struct backend *dst, struct backend_reply *r, const char *from)
{
	size_t i, n = 0;

	for (i = 0; i < backend_count(dst); i++) {
		r[i].todo = strcmp(backend_server(dst, i), from) != 0;
		n += r[i].todo;
	}
	return n;
}

/* Imports data (the PKCS#12) on every target but the source. */
static int
import_all(struct backend *dst, const struct copy_args *a,
    const struct cf_view *v, const struct cf_buf *data, const char *pw)
{
	struct backend_req req;
	struct backend_reply *r = backend_replies_new(dst);
	struct cf_input in;
	char name[64];
	size_t n, ok = 0;
	int rc;

	snprintf(name, sizeof(name), "%.8s.p12 (copy from %s)", v->thumbprint,
	    a->from);
	in.name = name;
	in.data = data->data;
	in.len = data->len;
	memset(&req, 0, sizeof(req));
	req.in = &in;
	req.nin = 1;
	req.import.password = pw;
	req.import.exportable = a->exportable >= 0 ? a->exportable
						   : v->exportable;
	req.import.friendly_name = v->friendly_name[0] ? v->friendly_name
						       : NULL;
	req.import.services = services_of(a, v);
	req.import.force = req.import.services != NULL;
	n = targets_todo(dst, r, a->from);
	backend_run(dst, BACKEND_IMPORT, &req, r);
	rc = report(dst, r, a->from, &ok);
	if (!cli.json)
		printf("copied %.8s from %s to %zu of %zu server%s\n",
		    v->thumbprint, a->from, ok, n, n == 1 ? "" : "s");
	backend_replies_free(r, backend_count(dst));
	return rc ? rc : ok == n ? 0 : 1;
}

/*
 * The key is not exportable: when both sides allow it, the source seals
 * it to the targets' identities (whoami gives their certificates) and
 * the targets open it; the admin's client only carries sealed bytes.
 * When the source does not allow it, the article's refusal.
 */
static int
sealed_copy(struct backend *src, struct backend *dst,
    const struct copy_args *a, const struct cf_view *v)
{
	struct backend_reply *who = backend_replies_new(dst), *ex = NULL;
	struct backend_reply *r = NULL;
	struct backend_req req;
	const char **pems = xcalloc(backend_count(dst) + 1, sizeof(*pems));
	size_t i, n = 0, ok = 0, total;
	int rc = 1;

	memset(&req, 0, sizeof(req));
	total = targets_todo(dst, who, a->from);
	backend_run(dst, BACKEND_WHOAMI, &req, who);
	for (i = 0; i < backend_count(dst); i++)
		if (strcmp(backend_server(dst, i), a->from) != 0 &&
		    who[i].err.code == CF_OK && who[i].data.len > 0)
			pems[n++] = (const char *)who[i].data.data;
	req.arg = v->thumbprint;
	req.recipients = pems;
	req.nrecipients = n;
	ex = backend_replies_new(src);
	backend_run(src, BACKEND_EXPORT_SEALED, &req, ex);
	if (ex[0].err.code == CF_E_DENIED) {
		fprintf(stderr, "certfleet: %s: copy: %s\n", a->from,
		    ex[0].err.msg);
		rc = refuse_unexportable(a, v);
		goto out;
	}
	if (ex[0].err.code != CF_OK) {
		rc = backend_fail(src, 0, "copy", &ex[0].err);
		goto out;
	}
	req.sealed = &ex[0].data;
	req.import.services = services_of(a, v);
	req.import.force = req.import.services != NULL;
	r = backend_replies_new(dst);
	targets_todo(dst, r, a->from);
	for (i = 0; i < backend_count(dst); i++)
		if (who[i].err.code != CF_OK) { /* not reached: say why */
			r[i].todo = 0;
			r[i].err = who[i].err;
		}
	backend_run(dst, BACKEND_IMPORT_SEALED, &req, r);
	rc = report(dst, r, a->from, &ok);
	if (!cli.json)
		printf("copied %.8s from %s to %zu of %zu server%s, sealed "
		       "agent to agent (the key stays not exportable)\n",
		    v->thumbprint, a->from, ok, total, total == 1 ? "" : "s");
	rc = rc ? rc : ok == total ? 0 : 1;
out:
	backend_replies_free(r, r ? backend_count(dst) : 0);
	backend_replies_free(ex, ex ? 1 : 0);
	backend_replies_free(who, backend_count(dst));
	free(pems);
	return rc;
}

int
cmd_copy(int argc, char **argv)
{
	struct copy_args a;
	struct backend *src = NULL, *dst = NULL;
	struct backend_reply *sv = NULL, *ex = NULL;
	struct backend_req req;
	const struct cf_view *v = NULL;
	struct cf_secret *pw = NULL;
	int rc;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = open_agents(a.from, &src)) != 0 ||
	    (rc = open_agents(a.to, &dst)) != 0)
		goto out;
	if ((rc = source_view(src, &a, &sv, &v)) == NOT_EXPORTABLE) {
		rc = sealed_copy(src, dst, &a, v);
		goto out;
	}
	if (rc != 0)
		goto out;
	pw = one_time_password();
	memset(&req, 0, sizeof(req));
	req.arg = v->thumbprint;
	req.export.format = CF_EXPORT_P12;
	req.export.transfer = 1;
	req.export.password = pw->data;
	ex = backend_replies_new(src);
	backend_run(src, BACKEND_EXPORT, &req, ex);
	if (ex[0].err.code != CF_OK) {
		rc = backend_fail(src, 0, "copy", &ex[0].err);
		goto out;
	}
	rc = import_all(dst, &a, v, &ex[0].data, pw->data);
out:
	cf_secret_free(pw);
	backend_replies_free(ex, ex ? 1 : 0); /* the PKCS#12 is wiped */
	backend_replies_free(sv, sv ? 1 : 0);
	backend_free(src);
	backend_free(dst);
	return rc;
}
