/*
 * main.c - certfleet: look the command up in the table, hand it argv.
 * The table also feeds help, "did you mean" and the shell completions
 * (help.c, complete.c), so a command or option added here shows in all.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "test.h"

const struct option cli_common_opts[] = {
    CLI_COMMON_OPTS,
    {NULL, 0, NULL, 0},
};

const struct option cli_main_opts[] = {
    CLI_COMMON_OPTS,
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Subcommands: their parent parses and runs them. */
static const struct cli_command request_subs[] = {
    {.name = "new",
	.opts = cli_request_new_opts,
	.description = "a key and a CSR for a CA"},
    {.name = "complete",
	.opts = cli_request_complete_opts,
	.arg = CLI_ARG_FILE,
	.nargs = 1,
	.description = "install the CA's answer"},
    {.name = NULL},
};
static const struct cli_command fleet_subs[] = {
    {.name = "add",
	.opts = cli_fleet_opts,
	.nargs = 2,
	.description = "pin an agent by name"},
    {.name = "list", .opts = cli_fleet_opts, .description = "the agents"},
    {.name = "remove",
	.opts = cli_fleet_opts,
	.arg = CLI_ARG_FLEET,
	.nargs = 1,
	.description = "forget an agent"},
    {.name = "group",
	.opts = cli_fleet_opts,
	.nargs = 3,
	.description = "group add|remove|list: names for sets of agents "
		       "(--server @GROUP)"},
    {.name = NULL},
};
static const struct cli_command namespace_subs[] = {
    {.name = "add",
	.opts = cli_namespace_opts,
	.nargs = 1,
	.description = "a name users connect to, and the servers behind it"},
    {.name = "set",
	.opts = cli_namespace_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "change a namespace's servers, services or waves"},
    {.name = "show",
	.opts = cli_namespace_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "one namespace, its members resolved"},
    {.name = "list", .opts = cli_namespace_opts, .description = "them all"},
    {.name = "remove",
	.opts = cli_namespace_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "forget a namespace"},
    {.name = NULL},
};
static const struct cli_command registry_subs[] = {
    {.name = "show",
	.opts = cli_registry_opts,
	.description = "where the fleet's agents and namespaces live"},
    {.name = "set",
	.opts = cli_registry_opts,
	.nargs = 1,
	.description = "set etcd (how to reach it) or set file"},
    {.name = "export",
	.opts = cli_registry_opts,
	.description = "--to etcd: the fleet file's agents, groups and "
		       "namespaces"},
    {.name = "import",
	.opts = cli_registry_opts,
	.description = "--from etcd: into the fleet file"},
    {.name = "enroll",
	.opts = cli_registry_opts,
	.arg = CLI_ARG_FLEET,
	.nargs = 1,
	.description = "an agent's etcd user and role"},
    {.name = "unenroll",
	.opts = cli_registry_opts,
	.arg = CLI_ARG_FLEET,
	.nargs = 1,
	.description = "delete an agent's etcd user and role"},
    {.name = NULL},
};
static const struct cli_command store_subs[] = {
    {.name = "init",
	.opts = cli_store_opts,
	.arg = CLI_ARG_FILE,
	.nargs = 1,
	.description = "create a local store in a directory"},
    {.name = NULL},
};
static const struct cli_command acme_subs[] = {
    {.name = "account",
	.opts = cli_acme_account_opts,
	.nargs = 2,
	.description = "new|show|deactivate: an ACME account whose key an "
		       "agent keeps"},
    {.name = NULL},
};
static const struct cli_command completion_subs[] = {
    {.name = "bash",
	.opts = cli_common_opts,
	.description = "the bash completion script"},
    {.name = "zsh",
	.opts = cli_common_opts,
	.description = "the zsh completion script"},
    {.name = NULL},
};

const struct cli_command cli_commands[] = {
    {.name = "get",
	.fn = cmd_get,
	.opts = cli_get_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "list certificates (Get-ExchangeCertificate)"},
    {.name = "import",
	.fn = cmd_import,
	.opts = cli_import_opts,
	.arg = CLI_ARG_FILE,
	.description = "import certificates, keys and chains"},
    {.name = "export",
	.fn = cmd_export,
	.opts = cli_export_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "export as PKCS#12 or PEM"},
    {.name = "enable",
	.fn = cmd_enable,
	.opts = cli_enable_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "assign a certificate to services"},
    {.name = "disable",
	.fn = cmd_disable,
	.opts = cli_disable_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "take services from a certificate"},
    {.name = "remove",
	.fn = cmd_remove,
	.opts = cli_remove_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "remove a certificate from the store"},
    {.name = "services",
	.fn = cmd_services,
	.opts = cli_services_opts,
	.description = "what each service serves, checked live"},
    {.name = "test",
	.fn = cmd_test,
	.opts = cli_test_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "prove by handshakes what every server serves for a "
		       "name"},
    {.name = "request",
	.fn = cmd_request,
	.opts = cli_common_opts,
	.subs = request_subs,
	.description = "request new: a key and a CSR; request complete: the "
		       "CA's answer"},
    {.name = "renew",
	.fn = cmd_renew,
	.opts = cli_renew_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "a renewal request for a certificate"},
    {.name = "new",
	.fn = cmd_new,
	.opts = cli_new_opts,
	.description = "new --self-signed: a self-signed certificate"},
    {.name = "copy",
	.fn = cmd_copy,
	.opts = cli_copy_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "copy a certificate with its key to other agents, and "
		       "deploy it"},
    {.name = "replace",
	.fn = cmd_replace,
	.opts = cli_replace_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 2,
	.description = "move every service of one certificate to another, "
		       "server by server"},
    {.name = "log",
	.fn = cmd_log,
	.opts = cli_log_opts,
	.description = "show the audit trail"},
    {.name = "id",
	.fn = cmd_id,
	.opts = cli_id_opts,
	.description = "create and show the admin identity agents "
		       "authorize"},
    {.name = "fleet",
	.fn = cmd_fleet,
	.opts = cli_fleet_opts,
	.subs = fleet_subs,
	.description = "add, list and remove the agents of the fleet"},
    {.name = "namespace",
	.fn = cmd_namespace,
	.opts = cli_namespace_opts,
	.subs = namespace_subs,
	.description = "the names users connect to and the servers behind "
		       "each"},
    {.name = "rollout",
	.fn = cmd_rollout,
	.opts = cli_rollout_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "move a namespace's servers to a certificate in "
		       "waves"},
    {.name = "status",
	.fn = cmd_status,
	.opts = cli_status_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "what each namespace's servers serve against the "
		       "desired certificate"},
    {.name = "registry",
	.fn = cmd_registry,
	.opts = cli_registry_opts,
	.subs = registry_subs,
	.description = "the file or etcd registry; export and import "
		       "between them; enroll agents"},
    {.name = "store",
	.fn = cmd_store,
	.opts = cli_store_opts,
	.subs = store_subs,
	.description = "store init DIR: create a local store"},
    {.name = "issue",
	.fn = cmd_issue,
	.opts = cli_issue_opts,
	.arg = CLI_ARG_NAMESPACE,
	.nargs = 1,
	.description = "a namespace's certificate from its ACME issuer, "
		       "answered by every server, rolled out"},
    {.name = "acme",
	.fn = cmd_acme,
	.opts = cli_common_opts,
	.subs = acme_subs,
	.description = "ACME accounts: the key made and kept on an agent"},
    {.name = "autopilot",
	.fn = cmd_autopilot,
	.opts = cli_autopilot_opts,
	.arg = CLI_ARG_NAMESPACE,
	.description = "renew every namespace's certificate when it is due "
		       "(a timer runs it)"},
    {.name = "revoke",
	.fn = cmd_revoke,
	.opts = cli_revoke_opts,
	.arg = CLI_ARG_THUMBPRINT,
	.nargs = 1,
	.description = "ask the CA to revoke a certificate, signed by the "
		       "agent's ACME account"},
    {.name = "help",
	.fn = cmd_help,
	.opts = cli_common_opts,
	.arg = CLI_ARG_COMMAND,
	.nargs = 2,
	.description = "a command's usage and options"},
    {.name = "completion",
	.fn = cmd_completion,
	.opts = cli_common_opts,
	.subs = completion_subs,
	.description = "print the bash or zsh completion script"},
    {.name = "__complete",
	.fn = cmd_complete,
	.opts = cli_common_opts,
	.hidden = 1,
	.description = "what the completion scripts ask certfleet for"},
    {.name = NULL},
};

const struct cli_command *
cli_command_find(const struct cli_command *table, const char *name)
{
	const struct cli_command *c;

	for (c = table; c != NULL && c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cli_command *cmd;
	int c, sub_argc;
	char **sub_argv;

	(void)cf_process_harden(); /* no core holds a password or key */
	cli_malloc_keep();
	umask(077); /* everything certfleet creates is the owner's alone */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	opterr = 0;
	/* Named check_certfleet (a link), it is `certfleet test --plugin`,
	 * for monitoring systems that run plugins by name. */
	if (test_plugin_named(argv[0]))
		return cmd_test(argc, argv);
	while (
	    (c = getopt_long(argc, argv, "+:h", cli_main_opts, NULL)) != -1) {
		if (c == 'V') {
			printf("certfleet %s (%s)\n", CF_VERSION,
			    OpenSSL_version(OPENSSL_VERSION));
			return 0;
		}
		if (c == 'h') {
			cli_show_usage(stdout);
			return 0;
		}
		if (!cli_common_opt(c, optarg))
			return cli_bad_option(NULL, c, argv);
	}
	if (optind >= argc) {
		cli_show_usage(stderr);
		return 2;
	}
	if ((cmd = cli_command_find(cli_commands, argv[optind])) == NULL)
		return cli_unknown_command(NULL, argv[optind]);
	sub_argc = argc - optind;
	sub_argv = argv + optind;
	optind = 0; /* the command's getopt starts afresh */
	return cmd->fn(sub_argc, sub_argv);
}
