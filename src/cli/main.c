/*
 * main.c - certfleet: look the command up in the table, hand it argv.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *description;
} commands[] = {
    {"get", cmd_get, "list certificates (Get-ExchangeCertificate)"},
    {"import", cmd_import, "import certificates, keys and chains"},
    {"export", cmd_export, "export as PKCS#12 or PEM"},
    {"enable", cmd_enable, "assign a certificate to services"},
    {"disable", cmd_disable, "take services from a certificate"},
    {"remove", cmd_remove, "remove a certificate from the store"},
    {"services", cmd_services, "what each service serves, checked live"},
    {"test", cmd_test, "prove by handshakes what every server serves for a name"},
    {"request", cmd_request,
	"request new: a key and a CSR; request complete: the CA's answer"},
    {"renew", cmd_renew, "a renewal request for a certificate"},
    {"new", cmd_new, "new --self-signed: a self-signed certificate"},
    {"copy", cmd_copy,
	"copy a certificate with its key to other agents, and deploy it"},
    {"replace", cmd_replace,
	"move every service of one certificate to another, server by server"},
    {"log", cmd_log, "show the audit trail"},
    {"id", cmd_id, "create and show the admin identity agents authorize"},
    {"fleet", cmd_fleet, "add, list and remove the agents of the fleet"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: certfleet [--server NAME,...|all [--fingerprint FP]"
		   " | --store DIR]\n"
		   "         [--fleet FILE] [--json] <command> [options]\n"
		   "Without --server or --store: the local agent's socket.\n"
		   "\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name,
		    commands[i].description);
	fprintf(f, "\n'certfleet <command> --help' shows a command's "
		   "options.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTS,
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	umask(077); /* everything certfleet creates is the owner's alone */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'V') {
			printf("certfleet %s (%s)\n", CF_VERSION,
			    OpenSSL_version(OPENSSL_VERSION));
			return 0;
		}
		if (c == 'h') {
			show_usage(stdout);
			return 0;
		}
		if (!cli_common_opt(c, optarg))
			return cli_bad_option(NULL, c, argv);
	}
	if (optind >= argc) {
		show_usage(stderr);
		return 2;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 0; /* the command's getopt starts afresh */
			return commands[i].fn(sub_argc, sub_argv);
		}
	fprintf(stderr, "certfleet: %s: unknown command\n", argv[optind]);
	show_usage(stderr);
	return 2;
}
