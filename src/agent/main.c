/*
 * main.c - certfleetd: look the command up in the table, hand it argv.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "agent.h"
#include "parser.h"
#include "storeproc.h"
#include "util.h"

/* Bytes of OpenSSL's secure heap: a few keys' BIGNUMs, with room. */
#define CFD_SECURE_HEAP (256 * 1024)

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *description;
} commands[] = {
    {"init", cmd_init,
	"create the state, store, identity and host "
	"certificate"},
    {"run", cmd_run, "serve the API (foreground)"},
    {"authorize", cmd_authorize,
	"let a client certificate in, as admin "
	"or reader"},
    {"revoke", cmd_revoke, "take a client certificate's access away"},
    {"clients", cmd_clients, "list the authorized clients and their roles"},
    {"check-config", cmd_check_config,
	"check the configuration, as run would read "
	"it"},
    {"backup", cmd_backup,
	"write a consistent backup of the store and "
	"identity"},
    {"restore", cmd_restore, "restore a backup into an empty state"},
    {"fingerprint", cmd_fingerprint,
	"print the agent's SHA-256 "
	"fingerprint"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: certfleetd <command> [--config FILE] "
		   "[options]\n\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s  %s\n", commands[i].name,
		    commands[i].description);
	fprintf(f, "\nThe configuration is --config FILE, else "
		   "$" AGENT_CONFIG_ENV ", else " AGENT_CONFIG_DEFAULT ".\n"
		   "'certfleetd <command> --help' shows a command's options; "
		   "man certfleetd has the rest.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	/* Before OpenSSL allocates anything: see cf_process_harden. */
	if (cf_process_harden() == -1)
		fprintf(stderr,
		    "certfleetd: warning: core dumps could not be "
		    "turned off: %s\n",
		    strerror(errno));
	umask(077); /* state, keys and the store are the agent's alone */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	/* OpenSSL's secure heap: private scalars and exponents (the agent
	 * identity's, which both processes hold for as long as they run)
	 * live in locked pages marked MADV_DONTDUMP, out of a gcore.  Not
	 * having it (a low RLIMIT_MEMLOCK) costs only that. */
	if (CRYPTO_secure_malloc_init(CFD_SECURE_HEAP, 16) == 0)
		fprintf(stderr,
		    "certfleetd: warning: no secure heap for private keys "
		    "(mlock refused?): a debugger's dump could hold them\n");
	if (argc < 2) {
		show_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		show_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("certfleetd %s (%s)\n", CFD_VERSION,
		    OpenSSL_version(OPENSSL_VERSION));
		return 0;
	}
	/* The agent's parser and store processes (parser.h, storeproc.h):
	 * not for people, so not in the table that usage lists. */
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc - 1, argv + 1);
	if (strcmp(argv[1], "store") == 0)
		return cmd_store(argc - 1, argv + 1);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "certfleetd: %s: unknown command\n", argv[1]);
	show_usage(stderr);
	return 2;
}
