/*
 * cmd_store.c - certfleet store init [DIR]: create a local store.  A
 * store is only ever created on purpose, here or with --init: a
 * mistyped --store path must not look like an empty store.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static const char usage[] =
    "Usage: certfleet store init [DIR] [--json]\n"
    "Creates a certfleet store in DIR (default: --store DIR or\n"
    "$CERTFLEET_STORE): the directory (0700), its database and master key.\n"
    "A store that is there already is left as it is.\n";

/* Creates the store in dir, or finds it there; says which. */
static int
store_init(const char *dir)
{
	struct cf_store *s = NULL;
	struct cf_error err;
	json_t *o;
	int existed = cf_store_exists(dir), rc = 1;

	cf_error_clear(&err);
	if (existed)
		s = cf_store_open_existing(dir, &err);
	else
		s = cf_store_open(dir, &err);
	if (s == NULL ||
	    (!existed && cf_store_audit(s, cli_actor(), "store init", "",
			     "created", &err) == -1)) {
		rc = cli_fail("store init", &err);
		goto out;
	}
	if (cli.json) {
		o = json_object();
		json_object_set_new(o, "Store", json_string(dir));
		json_object_set_new(o, "Created", json_boolean(!existed));
		out_json(o);
	} else if (existed)
		printf("%s: already a certfleet store; nothing changed\n", dir);
	else
		printf("created a certfleet store in %s\n", dir);
	rc = 0;
out:
	cf_store_free(s);
	return rc;
}

const struct option cli_store_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

int
cmd_store(int argc, char **argv)
{
	const char *dir;
	int c;

	while (
	    (c = getopt_long(argc, argv, ":h", cli_store_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return 0;
		}
		return cli_bad_option("store", c, argv);
	}
	if (optind >= argc)
		return cli_usage("store", "the subcommand is init: certfleet "
					  "store init DIR");
	if (strcmp(argv[optind], "init") != 0)
		return cli_unknown_sub("store", argv[optind]);
	if (cli.server != NULL)
		return cli_usage("store init", "a store is created on this "
					       "host; agents make their own "
					       "(certfleetd init)");
	if (optind + 2 < argc)
		return cli_usage(
		    "store init", "unexpected argument %s", argv[optind + 2]);
	dir = optind + 1 < argc ? argv[optind + 1] : cli_store_dir();
	if (dir == NULL)
		return cli_usage("store init", "name the directory: certfleet "
					       "store init DIR");
	return store_init(dir);
}
