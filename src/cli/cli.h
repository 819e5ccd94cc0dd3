/*
 * cli.h - what the commands of `certfleet` share: global options, the
 * store they run on, passwords, and how failures are reported.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "error.h"
#include "password.h"
#include "store.h"
#include "util.h"
#include "version.h"

/* Global options, set in main and by every command's option parser. */
struct cli_global {
	const char *store;       /* --store DIR */
	const char *server;      /* --server NAME,... */
	const char *fleet;       /* --fleet FILE */
	const char *fingerprint; /* --fingerprint SHA256 */
	int json;                /* --json */
	int init;                /* --init: create the --store when missing */
	int no_header;           /* --no-header: tables without header lines */
	int tsv;                 /* --format tsv: tab-separated, full values */
};
extern struct cli_global cli;

/*
 * A command lives for a moment: what it frees is better kept for its
 * next allocation than given back to the system.  By default glibc maps
 * each block past 128 KB apart and unmaps it when freed, and trims the
 * heap's top: a 10,000-row listing, which reads its rows a page of 1,024
 * at a time into such blocks, paid a mremap or munmap and fresh page
 * faults a page (a tenth of its CPU on a VM).  Blocks up to 32 MB now
 * come from the heap, which keeps up to 64 MB free.  Secrets are apart
 * (cf_dontdump_alloc maps its own).  First thing in main (common.c).
 */
void cli_malloc_keep(void);

/* Options every command accepts, to splice into its getopt table. */
#define CLI_COMMON_OPTS                                                        \
	{"store", required_argument, NULL, 'S'},                               \
	    {"server", required_argument, NULL, 'R'},                          \
	    {"json", no_argument, NULL, 'J'},                                  \
	    {"fleet", required_argument, NULL, 'L'},                           \
	    {"fingerprint", required_argument, NULL, 'F'},                     \
	    {"init", no_argument, NULL, 'I'},                                  \
	    {"password", required_argument, NULL, 'W'},                        \
	    {"no-header", no_argument, NULL, 'H'},                             \
	    {"format", required_argument, NULL, 'O'},                          \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}
/*
 * Handles a common option; 1 when c was one, 0 otherwise.  A --format
 * other than table or tsv ends the process with a usage error (exit 2).
 */
int cli_common_opt(int c, const char *arg);

/* Refuses --json for command op, which has nothing to say in JSON (its
 * output is a file's bytes): 0 when --json was not given, else 2 after a
 * usage message. */
int cli_no_json(const char *op, const char *why);

/*
 * Reports an option getopt_long could not take (c is '?' or ':', or 'W'
 * for the refused --password) for command op; returns 2.
 */
int cli_bad_option(const char *op, int c, char **argv);

/* The store directory of --store, else $CERTFLEET_STORE; NULL for none. */
const char *cli_store_dir(void);
/*
 * Opens the store of --store (or $CERTFLEET_STORE) for command op: one
 * that is there, or a new one with --init (said on stderr).  A store a
 * running agent owns is refused unless op only reads (get, log,
 * services, test, export): the agent deploys what changes, so changes go
 * through it.  NULL after an error message on stderr.
 */
struct cf_store *cli_open_store(const char *op);

/* Audits a failure the command met outside an operation (a file that
 * cannot be read or written). */
void cli_audit_failure(struct cf_store *s, const char *op, const char *thumb,
    const struct cf_error *err);

/* The audit actor for this process: "local:<user>". */
const char *cli_actor(void);

/*
 * Writes len bytes of data to path atomically with mode, or to standard
 * output when path is NULL or "-".  -1 with err naming what failed.
 */
int cli_write_out(const char *path, const void *data, size_t len, unsigned mode,
    struct cf_error *err);

/*
 * text with " --server server" added to each command it suggests in
 * backticks (`certfleet enable ...`), so that the fix runs where the
 * problem is; a plain copy when server is NULL (a local target).  New.
 */
char *cli_name_server(const char *text, const char *server);

/* Prints each line of text (lines split at '\n') after prefix. */
void cli_print_lines(const char *prefix, const char *text);

/*
 * Prints "certfleet: <op>: <message>" and returns the exit status that
 * fits: 2 for usage errors, 1 otherwise.
 */
int cli_fail(const char *op, const struct cf_error *err);
/* Prints a usage error for op and returns 2. */
int cli_usage(const char *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int cmd_get(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_services(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_request(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_new(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_replace(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_namespace(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_complete(int argc, char **argv);

/*
 * The command table (main.c), which dispatch, help, "did you mean" and the
 * shell completions all read, so that a new command or option shows up in
 * each of them.  What a command's positional words are, for completion:
 */
enum cli_arg {
	CLI_ARG_NONE,       /* nothing to complete */
	CLI_ARG_THUMBPRINT, /* a certificate on the targets */
	CLI_ARG_FILE,
	CLI_ARG_FLEET,     /* a name in the fleet file */
	CLI_ARG_COMMAND,   /* help: a command, then its subcommand */
	CLI_ARG_NAMESPACE, /* a namespace in the fleet file */
};
struct cli_command {
	const char *name;
	int (*fn)(int, char **); /* NULL for a subcommand: the parent runs it */
	const struct option *opts; /* what getopt_long takes, {NULL}-ended */
	const struct cli_command *subs; /* {NULL}-ended, or NULL for none */
	enum cli_arg arg;
	int nargs; /* how many positional words (0: any number) */
	const char *description;
	int hidden; /* not listed, offered nor suggested */
};
extern const struct cli_command cli_commands[]; /* {NULL}-ended */
/* The global options main takes before the command. */
extern const struct option cli_main_opts[];

/* The command (or, in parent's subs, the subcommand) named name; NULL. */
const struct cli_command *cli_command_find(
    const struct cli_command *table, const char *name);
/* Whether opt is one no user should be offered (--password, which is
 * there only to be refused). */
int cli_option_hidden(const struct option *opt);
/* The list of commands, `certfleet help`. */
void cli_show_usage(FILE *f);
/*
 * Prints a command's usage text and the global options to stdout; the
 * --help of every command.
 */
void cli_help(const char *usage);
/*
 * "certfleet: [op: ]word: unknown command", with "did you mean export?"
 * when word is close to one; returns 2.
 */
int cli_unknown_command(const char *op, const char *word);
/*
 * "certfleet: request: bogus: unknown subcommand (request new, request
 * complete)", or "; did you mean request new?" when word is close to one;
 * returns 2.  cmd names a row of cli_commands with subs.
 */
int cli_unknown_sub(const char *cmd, const char *word);

/* The option tables of the commands, for the table above. */
extern const struct option cli_get_opts[], cli_import_opts[], cli_export_opts[],
    cli_enable_opts[], cli_disable_opts[], cli_remove_opts[],
    cli_services_opts[], cli_test_opts[], cli_request_new_opts[],
    cli_request_complete_opts[], cli_renew_opts[], cli_new_opts[],
    cli_copy_opts[], cli_log_opts[], cli_id_opts[], cli_fleet_opts[],
    cli_namespace_opts[], cli_rollout_opts[], cli_status_opts[],
    cli_store_opts[], cli_replace_opts[], cli_registry_opts[],
    cli_acme_account_opts[], cli_issue_opts[], cli_autopilot_opts[],
    cli_revoke_opts[], cli_common_opts[];
int cmd_store(int argc, char **argv);
int cmd_acme(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_autopilot(int argc, char **argv);
int cmd_revoke(int argc, char **argv);

#endif
