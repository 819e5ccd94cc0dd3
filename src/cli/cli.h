/*
 * cli.h - what the commands of `certfleet` share: global options, the
 * store they run on, passwords, and how failures are reported.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include "error.h"
#include "store.h"
#include "util.h"
#include "version.h"


/* Global options, set in main and by every command's option parser. */
struct cli_global {
	const char *store;	 /* --store DIR */
	const char *server;	 /* --server NAME,... */
	const char *fleet;	 /* --fleet FILE */
	const char *fingerprint; /* --fingerprint SHA256 */
	int json;		 /* --json */
};
extern struct cli_global cli;

/* Options every command accepts, to splice into its getopt table. */
#define CLI_COMMON_OPTS                                                        \
	{"store", required_argument, NULL, 'S'},                               \
	    {"server", required_argument, NULL, 'R'},                          \
	    {"json", no_argument, NULL, 'J'},                                  \
	    {"fleet", required_argument, NULL, 'L'},                           \
	    {"fingerprint", required_argument, NULL, 'F'},                     \
	    {"password", required_argument, NULL, 'W'},                        \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}
/* Handles a common option; 1 when c was one, 0 otherwise. */
int cli_common_opt(int c, const char *arg);

/*
 * Reports an option getopt_long could not take (c is '?' or ':', or 'W'
 * for the refused --password) for command op; returns 2.
 */
int cli_bad_option(const char *op, int c, char **argv);

/* Opens the store of --store (or $CERTFLEET_STORE); NULL after an error
 * message on stderr. */
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
int cli_write_out(const char *path, const void *data, size_t len,
    unsigned mode, struct cf_error *err);

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

/*
 * A password: from --password-file FILE ("-" stdin), else
 * $CERTFLEET_PASSWORD, else (when ask) a no-echo prompt on the terminal,
 * asked twice when confirm.  *out is NULL when none is available.
 * An empty password is taken only when given explicitly, with a warning.
 */
int cli_password(const char *file, int ask, int confirm, const char *prompt,
    struct cf_secret **out, struct cf_error *err);
/* True when a password source other than the terminal was named. */
int cli_password_given(const char *file);

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

#endif
