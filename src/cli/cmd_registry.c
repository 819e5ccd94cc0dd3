/*
 * cmd_registry.c - `certfleet registry show|set|export|import`: where
 * the fleet's shared truth lives (the fleet file, or etcd), and moving
 * agents, groups and namespaces (with their desired state and rollout)
 * between the two, so that an operator can go from the file to etcd and
 * back.  The keys are schema.h's; etcd is reached through its v3 JSON
 * gateway (etcd.h) with the settings of the fleet file's "registry".
 *
 * Both directions are all or nothing: export writes every key in one
 * etcd transaction, fenced on the revisions it read, and import replaces
 * the fleet file (atomically) only once every key read has parsed and
 * the fleet has taken every entry.  Neither writes over a registry that
 * holds agents or namespaces unless --force says to.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fleet.h"
#include "output.h"
#include "registry_move.h"
#include "schema.h"

static const char registry_usage[] =
    "Usage: certfleet registry show [--json]\n"
    "       certfleet registry set etcd --endpoints URL[,URL...] --ca FILE\n"
    "                 --cert FILE --key FILE [--user NAME --password-file "
    "FILE]\n"
    "                 [--prefix /certfleet]\n"
    "       certfleet registry set file\n"
    "       certfleet registry export --to etcd [--force] [--json]\n"
    "       certfleet registry import --from etcd [--force] [--json]\n"
    "       certfleet registry enroll AGENT [--password-file FILE] [--json]\n"
    "       certfleet registry unenroll AGENT [--json]\n"
    "       (any of them with --fleet FILE)\n"
    "The registry is where the fleet's agents, groups and namespaces live:\n"
    "the fleet file (file, the default) or etcd.  set etcd records how to\n"
    "reach etcd (its client URLs, the CA of its members, a client\n"
    "certificate without a CN, and with RBAC a user whose password is in a\n"
    "file of mode 0600); options not given keep their value.  export\n"
    "writes the fleet file's agents, groups and namespaces (with desired\n"
    "state and rollout) under the prefix in one transaction; import\n"
    "replaces the fleet file's with what etcd holds.  Each refuses to\n"
    "replace a registry that is not empty unless --force.  enroll makes\n"
    "the etcd user and role certfleet-agent-AGENT that agent's [registry]\n"
    "section logs in with (read on the fleet, write on its own keys; the\n"
    "password from the file, - for stdin, or asked); the fleet's etcd\n"
    "user must be root for it.  unenroll deletes them.\n";

const struct option cli_registry_opts[] = {
    CLI_COMMON_OPTS,
    {"endpoints", required_argument, NULL, 'e'},
    {"ca", required_argument, NULL, 'a'},
    {"cert", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, 'k'},
    {"user", required_argument, NULL, 'u'},
    {"password-file", required_argument, NULL, 'p'},
    {"prefix", required_argument, NULL, 'x'},
    {"to", required_argument, NULL, 't'},
    {"from", required_argument, NULL, 'f'},
    {"force", no_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

/* What the options said. */
struct opts {
	struct fleet_registry set; /* the options of registry set */
	const char *to, *from;
	int force;
};

/* path as an absolute path (new) into *out, so that the fleet file
 * works from any directory; CF_E_IO naming option when it is not
 * there. */
static int
abs_file(const char *option, const char *path, char **out, struct cf_error *err)
{
	char buf[PATH_MAX];

	if (path == NULL)
		return 0;
	if (realpath(path, buf) == NULL)
		return cf_errorf(
		    err, CF_E_IO, "%s %s: %s", option, path, strerror(errno));
	free(*out);
	*out = xstrdup(buf);
	return 0;
}

/* Takes over a given option into the settings kept (new copy). */
static void
take(char **kept, const char *given)
{
	if (given == NULL)
		return;
	free(*kept);
	*kept = xstrdup(given);
}

/* registry set etcd|file: the settings kept, changed by the options. */
static int
do_set(struct fleet *f, const char *type, const struct opts *o,
    struct cf_error *err)
{
	const struct fleet_registry *old = fleet_registry_get(f);
	struct fleet_registry r = {0};
	int rc = -1;

	if (strcmp(type, "etcd") != 0 && strcmp(type, "file") != 0) {
		cf_errorf(err, CF_E_USAGE,
		    "registry set %s: the registry is etcd or file", type);
		goto out;
	}
	r.etcd = strcmp(type, "etcd") == 0;
	take(&r.endpoints, old->endpoints);
	take(&r.ca, old->ca);
	take(&r.cert, old->cert);
	take(&r.key, old->key);
	take(&r.user, old->user);
	take(&r.password_file, old->password_file);
	take(&r.prefix, old->prefix);
	take(&r.endpoints, o->set.endpoints);
	take(&r.user, o->set.user);
	take(&r.prefix, o->set.prefix);
	if (abs_file("--ca", o->set.ca, &r.ca, err) == -1 ||
	    abs_file("--cert", o->set.cert, &r.cert, err) == -1 ||
	    abs_file("--key", o->set.key, &r.key, err) == -1 ||
	    abs_file("--password-file", o->set.password_file, &r.password_file,
		err) == -1)
		goto out;
	if (o->set.password_file != NULL &&
	    registry_password_file_check(r.password_file, err) == -1)
		goto out;
	if (fleet_registry_set(f, &r, err) == -1 || fleet_save(f, err) == -1)
		goto out;
	printf("registry: %s%s%s\n", type, r.etcd ? " at " : "",
	    r.etcd ? r.endpoints : "");
	rc = 0;
out:
	fleet_registry_clear(&r);
	return rc;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* registry show: the settings, the password file's path only. */
static int
do_show(const struct fleet *f)
{
	const struct fleet_registry *r = fleet_registry_get(f);
	const char *prefix = r->prefix ? r->prefix : SCHEMA_PREFIX_DEFAULT;
	json_t *o;

	if (cli.json) {
		o = json_object();
		json_object_set_new(
		    o, "Type", json_string(r->etcd ? "etcd" : "file"));
		json_object_set_new(
		    o, "Endpoints", fleet_list_json(r->endpoints));
		json_object_set_new(o, "Ca", str_or_null(r->ca));
		json_object_set_new(o, "Cert", str_or_null(r->cert));
		json_object_set_new(o, "Key", str_or_null(r->key));
		json_object_set_new(o, "User", str_or_null(r->user));
		json_object_set_new(
		    o, "PasswordFile", str_or_null(r->password_file));
		json_object_set_new(o, "Prefix", json_string(prefix));
		out_json(o);
		return 0;
	}
	printf("Registry:      %s\n", r->etcd ? "etcd" : "file");
	if (r->endpoints == NULL)
		return 0;
	printf("Endpoints:     %s\n"
	       "CA:            %s\n"
	       "Certificate:   %s\n"
	       "Key:           %s\n"
	       "User:          %s\n"
	       "Password file: %s\n"
	       "Prefix:        %s\n",
	    r->endpoints, r->ca, r->cert, r->key, r->user ? r->user : "(none)",
	    r->password_file ? r->password_file : "(none)", prefix);
	return 0;
}

/* Parses the options into *o and the common ones; 0, or the exit
 * status of a usage error or of --help (-1 then means help shown). */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, ":h", cli_registry_opts, NULL)) !=
	       -1) {
		if (cli_common_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			cli_help(registry_usage);
			return -1;
		case 'e':
			o->set.endpoints = optarg;
			break;
		case 'a':
			o->set.ca = optarg;
			break;
		case 'c':
			o->set.cert = optarg;
			break;
		case 'k':
			o->set.key = optarg;
			break;
		case 'u':
			o->set.user = optarg;
			break;
		case 'p':
			o->set.password_file = optarg;
			break;
		case 'x':
			o->set.prefix = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 'o':
			o->force = 1;
			break;
		default:
			return cli_bad_option("registry", c, argv);
		}
	}
	return 0;
}

/* Whether the options fit subcommand sub; a usage error otherwise. */
static int
opts_fit(const char *sub, const struct opts *o, int nargs)
{
	const struct fleet_registry *s = &o->set;
	int sets = s->endpoints || s->ca || s->cert || s->key || s->user ||
		   s->password_file || s->prefix;

	if (strcmp(sub, "enroll") == 0 || strcmp(sub, "unenroll") == 0) {
		if (nargs != 1)
			return cli_usage("registry", "%s AGENT", sub);
		if (o->to || o->from || o->force || s->endpoints || s->ca ||
		    s->cert || s->key || s->user || s->prefix ||
		    (s->password_file && strcmp(sub, "unenroll") == 0))
			return cli_usage("registry", "%s takes only AGENT%s",
			    sub,
			    strcmp(sub, "enroll") == 0 ? " and --password-file"
						       : "");
		return 0;
	}
	if (strcmp(sub, "set") == 0) {
		if (nargs != 1)
			return cli_usage("registry", "set etcd or set file?");
		if (o->to || o->from || o->force)
			return cli_usage("registry",
			    "--to, --from and --force go with export and "
			    "import");
		return 0;
	}
	if (sets)
		return cli_usage("registry",
		    "--endpoints, --ca, --cert, --key, --user, "
		    "--password-file and --prefix go with registry set etcd");
	if (nargs != 0)
		return cli_usage("registry", "%s: unexpected argument", sub);
	if (strcmp(sub, "export") == 0 &&
	    (o->from || o->to == NULL || strcmp(o->to, "etcd") != 0))
		return cli_usage("registry", "export --to etcd");
	if (strcmp(sub, "import") == 0 &&
	    (o->to || o->from == NULL || strcmp(o->from, "etcd") != 0))
		return cli_usage("registry", "import --from etcd");
	if (strcmp(sub, "show") == 0 && o->force)
		return cli_usage("registry", "--force goes with export and "
					     "import");
	return 0;
}

int
cmd_registry(int argc, char **argv)
{
	struct opts o = {0};
	struct fleet *f = NULL;
	struct cf_error err;
	const char *sub;
	char *path = NULL, *op = NULL;
	int rc, nargs;

	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc == -1 ? 0 : rc;
	if (optind >= argc)
		return cli_usage("registry",
		    "show, set, export, import, enroll or unenroll?");
	sub = argv[optind];
	nargs = argc - optind - 1;
	if (strcmp(sub, "show") != 0 && strcmp(sub, "set") != 0 &&
	    strcmp(sub, "export") != 0 && strcmp(sub, "import") != 0 &&
	    strcmp(sub, "enroll") != 0 && strcmp(sub, "unenroll") != 0)
		return cli_unknown_sub("registry", sub);
	if ((rc = opts_fit(sub, &o, nargs)) != 0)
		return rc;
	if (strcmp(sub, "set") == 0 &&
	    (rc = cli_no_json("registry set", "set prints one line")) != 0)
		return rc;
	op = xasprintf("registry %s", sub);
	cf_error_clear(&err);
	if ((path = fleet_path(1, &err)) == NULL ||
	    (f = fleet_load_file(path, &err)) == NULL) {
		rc = cli_fail(op, &err);
		goto out;
	}
	if (strcmp(sub, "show") == 0)
		rc = do_show(f);
	else if (strcmp(sub, "set") == 0)
		rc = do_set(f, argv[optind + 1], &o, &err);
	else if (strcmp(sub, "enroll") == 0)
		rc = registry_enroll(
		    f, argv[optind + 1], o.set.password_file, &err);
	else if (strcmp(sub, "unenroll") == 0)
		rc = registry_unenroll(f, argv[optind + 1], &err);
	else if (strcmp(sub, "export") == 0)
		rc = registry_export(f, o.force, &err);
	else
		rc = registry_import(f, o.force, &err);
	if (rc == -1)
		rc = cli_fail(op, &err);
out:
	fleet_free(f);
	free(path);
	free(op);
	return rc;
}
