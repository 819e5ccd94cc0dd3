/*
 * cmd_namespace.c - certfleet namespace add|set|show|list|remove: the
 * names users connect to, kept in the fleet file with the servers
 * behind each (names and @GROUPs), the services that present it, the
 * balancer, and the waves and soak time a rollout takes.  The checks
 * live in fleet_ns.c, so a hand-edited file meets them too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fleet.h"
#include "issuer.h"
#include "output.h"
#include "registry_view.h"
#include "rollout_state.h"

static const char usage[] =
    "Usage: certfleet namespace add NAME --servers S1,S2,...|@GROUP\n"
    "         [--services https,smtp,imap,pop] [--via HOST:PORT]\n"
    "         [--waves 1,50%,100%] [--soak 30s]\n"
    "         [--issuer acme:ACCOUNT|none] [--challenge http-01|dns-01]\n"
    "         [--key p256|p384|rsa2048|rsa3072|rsa4096]\n"
    "         [--profile NAME|none] [--renew-at 33%|30d|default]\n"
    "         [--http-port 80] [--dns-server HOST:PORT --dns-key-file F\n"
    "         | --dns-hook CMD] [--dns-check IP:PORT,...]\n"
    "         [--san NAME,...|none]\n"
    "       certfleet namespace set NAME [the options of add; --via none]\n"
    "       certfleet namespace show NAME [--json]\n"
    "       certfleet namespace list [--json] [--no-header] [--format tsv]\n"
    "       certfleet namespace remove NAME\n"
    "A namespace is a DNS name users connect to (mail.example.com), the\n"
    "servers behind it, the services on each that present it (default\n"
    "https) and the load balancer's address (--via).  A rollout moves it\n"
    "in waves, each saying how many servers have moved by its end: a\n"
    "count or a share, increasing, the last 100% (default 1,100%: one\n"
    "canary, then the rest), with --soak waiting after each (default 0;\n"
    "30s, 5m, 2h).  `certfleet test NAME` tests its servers and services.\n"
    "--issuer names the ACME account that issues its certificate, with\n"
    "the challenge every member answers (default http-01), the key type\n"
    "(default p256), the CA's profile, and when it renews (default 33%:\n"
    "a third of the lifetime left).  HTTP-01 is checked on every member\n"
    "and the balancer on --http-port before the CA is asked; DNS-01\n"
    "updates the zone through --dns-server with a TSIG key file\n"
    "(nsupdate) or --dns-hook, and waits on --dns-check.  --san adds\n"
    "DNS names to the certificate (a wildcard with dns-01 only).\n"
    "Kept in the fleet file (--fleet FILE).\n";

const struct option cli_namespace_opts[] = {
    CLI_COMMON_OPTS,
    {"servers", required_argument, NULL, 's'},
    {"services", required_argument, NULL, 'v'},
    {"via", required_argument, NULL, 'V'},
    {"waves", required_argument, NULL, 'w'},
    {"soak", required_argument, NULL, 'k'},
    {"issuer", required_argument, NULL, 'i'},
    {"challenge", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, 'y'},
    {"profile", required_argument, NULL, 'p'},
    {"renew-at", required_argument, NULL, 'r'},
    {"http-port", required_argument, NULL, 1001},
    {"dns-server", required_argument, NULL, 1002},
    {"dns-key-file", required_argument, NULL, 1003},
    {"dns-hook", required_argument, NULL, 1004},
    {"dns-check", required_argument, NULL, 1005},
    {"san", required_argument, NULL, 1006},
    {NULL, 0, NULL, 0},
};

/* What the options said; NULL where not given. */
struct ns_opts {
	const char *servers, *services, *via, *waves, *soak;
	struct cf_issuer_opts issuer;
};

/* The servers ns's list reaches now, "ex1,ex2" (new; "" for none). */
static char *
members_new(const struct fleet *f, const struct fleet_ns *ns)
{
	struct client_target *t = NULL;
	struct cf_error err;
	char *list = xstrdup(""), *next;
	size_t n = 0, i;

	if (fleet_resolve(f, ns->servers, NULL, &t, &n, &err) == -1)
		return list;
	for (i = 0; i < n; i++) {
		next = xasprintf("%s%s%s", list, i ? "," : "", t[i].name);
		free(list);
		list = next;
	}
	client_targets_free(t, n);
	return list;
}

/* Where ns's rollout stands: "none" (never rolled out), "running",
 * "stopped", "done" or "aborted" (static); on etcd, as the agents have
 * it (registry_view.h). */
static const char *
ns_rollout(const struct fleet *f, const struct fleet_ns *ns)
{
	struct cf_rstate st;
	struct cf_error err;
	const char *name = rview_run_name(f, ns->name);

	if (name != NULL)
		return name;
	name = "none";
	cf_error_clear(&err);
	if (ns->rollout != NULL &&
	    cf_rstate_parse(ns->rollout, &st, &err) == 0) {
		name = cf_rstate_run_name(st.state);
		cf_rstate_clear(&st);
	}
	return name;
}

/* ns as a JSON object (new), with Result when result is not NULL. */
static json_t *
ns_json(const struct fleet *f, const struct fleet_ns *ns, const char *result)
{
	char *members = members_new(f, ns);
	json_t *o = json_pack(
	    "{s:s, s:o, s:o, s:o, s:s?, s:o, s:I, s:o, s:s?, s:s}", "Name",
	    ns->name, "Servers", fleet_list_json(ns->servers), "Members",
	    fleet_list_json(members), "Services", fleet_list_json(ns->services),
	    "Via", ns->via, "Waves", fleet_list_json(ns->waves), "SoakSeconds",
	    (json_int_t)ns->soak_s, "Issuer", cf_issuer_view(ns->issuer),
	    "Desired", ns->desired, "Rollout", ns_rollout(f, ns));

	if (result != NULL)
		json_object_set_new(o, "Result", json_string(result));
	free(members);
	return o;
}

/* The table of namespaces [from, to). */
#define NCOLS 10
static void
ns_table(const struct fleet *f, size_t from, size_t to)
{
	static const char *const headers[] = {"Namespace", "Servers", "Members",
	    "Services", "Via", "Waves", "Soak", "Issuer", "Desired", "Rollout"};
	char **cells = xcalloc((to - from) * NCOLS + 1, sizeof(*cells));
	const struct fleet_ns *ns;
	size_t i, r;

	for (i = from, r = 0; i < to; i++, r += NCOLS) {
		ns = fleet_ns_get(f, i);
		cells[r] = xstrdup(ns->name);
		cells[r + 1] = xstrdup(ns->servers);
		cells[r + 2] = members_new(f, ns);
		cells[r + 3] = xstrdup(ns->services);
		cells[r + 4] = xstrdup(ns->via ? ns->via : "-");
		cells[r + 5] = xstrdup(ns->waves);
		cells[r + 6] = xasprintf("%lds", ns->soak_s);
		cells[r + 7] = cf_issuer_text(ns->issuer);
		cells[r + 8] =
		    ns->desired ? xasprintf("%.8s", ns->desired) : xstrdup("-");
		cells[r + 9] = xstrdup(ns_rollout(f, ns));
	}
	if (to > from)
		out_table(headers, NCOLS, cells, to - from);
	for (i = 0; i < (to - from) * NCOLS; i++)
		free(cells[i]);
	free(cells);
}

/* add (create) or set: the options over the defaults or over what the
 * namespace holds. */
static int
ns_put(struct fleet *f, const char *name, const struct ns_opts *o, int create,
    struct cf_error *err)
{
	const struct fleet_ns *old = fleet_ns_find(f, name);
	struct fleet_ns in = {.name = (char *)name,
	    .services = FLEET_NS_SERVICES,
	    .waves = FLEET_NS_WAVES,
	    .soak_s = FLEET_NS_SOAK,
	    .servers = ""};
	json_t *issuer;
	int rc;

	if (!create && old != NULL)
		in = *old;
	if (create && o->servers == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: which servers? --servers S1,S2 or @GROUP", name);
	if (!create && old == NULL)
		return fleet_ns_put(f, &in, 0, err); /* the message */
	in.servers = o->servers ? (char *)o->servers : in.servers;
	in.services = o->services ? (char *)o->services : in.services;
	in.waves = o->waves ? (char *)o->waves : in.waves;
	if (o->via != NULL)
		in.via = strcmp(o->via, "none") == 0 ? NULL : (char *)o->via;
	if (o->soak != NULL &&
	    fleet_duration_parse(o->soak, &in.soak_s, err) == -1)
		return -1;
	/* the issuer as it was, with the options over it */
	issuer = json_incref(in.issuer);
	if (cf_issuer_apply(&issuer, &o->issuer, err) == -1) {
		json_decref(issuer);
		return -1;
	}
	in.issuer = issuer;
	rc = fleet_ns_put(f, &in, create, err);
	json_decref(issuer);
	if (rc == -1 || fleet_save(f, err) == -1)
		return -1;
	old = fleet_ns_find(f, name);
	if (cli.json)
		out_json(ns_json(f, old, create ? "added" : "changed"));
	else
		printf("namespace %s: %s\n", old->name,
		    create ? "added" : "changed");
	return 0;
}

/* show NAME, list and remove NAME. */
static int
ns_read(
    struct fleet *f, const char *sub, const char *name, struct cf_error *err)
{
	const struct fleet_ns *ns = name ? fleet_ns_find(f, name) : NULL;
	size_t i;

	if (strcmp(sub, "list") == 0 && cli.json) {
		out_json_open();
		for (i = 0; i < fleet_ns_count(f); i++)
			out_json_item(ns_json(f, fleet_ns_get(f, i), NULL));
		out_json_close();
	} else if (strcmp(sub, "list") == 0)
		ns_table(f, 0, fleet_ns_count(f));
	else if (strcmp(sub, "remove") == 0) {
		if (fleet_ns_remove(f, name, err) == -1 ||
		    fleet_save(f, err) == -1)
			return -1;
		if (cli.json)
			out_json(json_pack(
			    "{s:s, s:s}", "Name", name, "Result", "removed"));
		else
			printf("namespace %s: removed\n", name);
	} else if (ns == NULL)
		return fleet_ns_remove(f, name, err); /* the message */
	else if (cli.json)
		out_json(ns_json(f, ns, NULL));
	else
		ns_table(f, (size_t)(ns - fleet_ns_get(f, 0)),
		    (size_t)(ns - fleet_ns_get(f, 0)) + 1);
	return 0;
}

/* argv's options into *o; 0, -1 after --help, or a usage exit status. */
static int
parse_options(int argc, char **argv, struct ns_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, ":h", cli_namespace_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(usage);
			return -1;
		case 's':
			o->servers = optarg;
			break;
		case 'v':
			o->services = optarg;
			break;
		case 'V':
			o->via = optarg;
			break;
		case 'w':
			o->waves = optarg;
			break;
		case 'k':
			o->soak = optarg;
			break;
		case 'i':
			o->issuer.issuer = optarg;
			break;
		case 'c':
			o->issuer.challenge = optarg;
			break;
		case 'y':
			o->issuer.key = optarg;
			break;
		case 'p':
			o->issuer.profile = optarg;
			break;
		case 'r':
			o->issuer.renew_at = optarg;
			break;
		case 1001:
			o->issuer.http_port = optarg;
			break;
		case 1002:
			o->issuer.dns_server = optarg;
			break;
		case 1003:
			o->issuer.dns_key_file = optarg;
			break;
		case 1004:
			o->issuer.dns_hook = optarg;
			break;
		case 1005:
			o->issuer.dns_check = optarg;
			break;
		case 1006:
			o->issuer.san = optarg;
			break;
		default:
			return cli_bad_option("namespace", c, argv);
		}
	}
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("namespace", "namespaces live in the fleet "
					      "file: --fleet FILE, not "
					      "--server or --store");
	return 0;
}

int
cmd_namespace(int argc, char **argv)
{
	static const char *const subs[] = {
	    "add", "set", "show", "list", "remove"};
	struct ns_opts o;
	struct fleet *f = NULL;
	struct cf_error err;
	char *path = NULL;
	const char *sub;
	size_t i;
	int rc = parse_options(argc, argv, &o), nargs, given;

	if (rc != 0)
		return rc == -1 ? 0 : rc;
	if (optind >= argc)
		return cli_usage(
		    "namespace", "add, set, show, list or remove?");
	sub = argv[optind];
	nargs = argc - optind - 1;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(sub, subs[i]) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return cli_unknown_sub("namespace", sub);
	if (nargs != (strcmp(sub, "list") == 0 ? 0 : 1))
		return cli_usage("namespace",
		    nargs == 0 ? "%s: which NAME?" : "%s: unexpected %s", sub,
		    argv[argc - 1]);
	given = o.servers || o.services || o.via || o.waves || o.soak ||
		cf_issuer_opts_any(&o.issuer);
	if (i == 1 && !given)
		return cli_usage("namespace",
		    "set: nothing to change: give --servers, --services, "
		    "--via, --waves, --soak or the issuer's options");
	if (i > 1 && given)
		return cli_usage("namespace",
		    "%s takes no --servers, --services, --via, --waves, "
		    "--soak or issuer options",
		    sub);
	cf_error_clear(&err);
	if ((path = fleet_path(1, &err)) == NULL ||
	    (f = fleet_load(path, &err)) == NULL)
		rc = -1;
	else if (i <= 1)
		rc = ns_put(f, argv[optind + 1], &o, i == 0, &err);
	else
		rc = ns_read(f, sub, nargs ? argv[optind + 1] : NULL, &err);
	if (rc == -1)
		rc = cli_fail("namespace", &err);
	fleet_free(f);
	free(path);
	return rc;
}
