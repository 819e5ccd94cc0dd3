/*
 * help.c - certfleet help [COMMAND [SUBCOMMAND]], every command's --help
 * footer, and "did you mean" for a misspelt command or subcommand, all
 * read from the command table (main.c).  `help CMD` runs `CMD --help`,
 * so the two cannot differ.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define MAX_WORD 64       /* longer words get no suggestion */
#define MAX_SUGGESTIONS 4 /* more than that is no suggestion */

static const char help_usage[] =
    "Usage: certfleet help [COMMAND [SUBCOMMAND]]\n"
    "The list of commands, or a command's usage and options: the same as\n"
    "certfleet COMMAND [SUBCOMMAND] --help.\n";

void
cli_show_usage(FILE *f)
{
	const struct cli_command *c;

	fprintf(f, "Usage: certfleet [--server NAME,...|all [--fingerprint FP]"
		   " | --store DIR [--init]]\n"
		   "         [--fleet FILE] [--json] [--no-header] [--format "
		   "table|tsv]\n"
		   "         <command> [options]\n"
		   "Without --server or --store: the local agent's socket.\n"
		   "\nCommands:\n");
	for (c = cli_commands; c->name != NULL; c++)
		if (!c->hidden)
			fprintf(f, "  %-10s  %s\n", c->name, c->description);
	fprintf(f, "\n'certfleet help <command>' shows a command's "
		   "options.\n"
		   "Run as check_certfleet (a link), it is certfleet test "
		   "--plugin.\n");
}

void
cli_help(const char *usage)
{
	fputs(usage, stdout);
	fputs("Every command takes: --server NAME,...|all [--fingerprint "
	      "SHA256:...]\n"
	      "  or --store DIR [--init], and --fleet FILE, --json, "
	      "--no-header,\n"
	      "  --format table|tsv, --help.\n",
	    stdout);
}

int
cli_option_hidden(const struct option *opt)
{
	return strcmp(opt->name, "password") == 0;
}

/* A letter without its case, for the comparison below. */
static int
fold(char c)
{
	return tolower((unsigned char)c);
}

/*
 * The optimal string alignment distance of a and b, case aside: edits,
 * an adjacent swap ("exprot") counting as one.  Both at most MAX_WORD.
 */
static size_t
distance(const char *a, const char *b)
{
	size_t d[MAX_WORD + 1][MAX_WORD + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;

	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t cost = fold(a[i - 1]) != fold(b[j - 1]);
			size_t best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 &&
			    fold(a[i - 1]) == fold(b[j - 2]) &&
			    fold(a[i - 2]) == fold(b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* Whether word may be a misspelling of name: its start, or one edit in
 * three letters away (at least one). */
static int
is_close(const char *word, const char *name)
{
	size_t len = strlen(word), most = len / 3 ? len / 3 : 1;

	if (len == 0 || len > MAX_WORD || strlen(name) > MAX_WORD)
		return 0;
	return strncasecmp(word, name, len) == 0 ||
	       distance(word, name) <= most;
}

/*
 * The rows of table that word is close to, into out (at most
 * MAX_SUGGESTIONS); their number, 0 when there are more.
 */
static size_t
suggest(const struct cli_command *table, const char *word,
    const char *out[MAX_SUGGESTIONS])
{
	const struct cli_command *c;
	size_t n = 0;

	for (c = table; c->name != NULL; c++) {
		if (c->hidden || !is_close(word, c->name))
			continue;
		if (n == MAX_SUGGESTIONS)
			return 0;
		out[n++] = c->name;
	}
	return n;
}

/* Prints names[0..n) as "a, b or c" (last is " or "), each after cmd
 * and a space when cmd is not NULL. */
static void
print_names(
    const char *cmd, const char *const *names, size_t n, const char *last)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s%s%s",
		    i == 0       ? ""
		    : i + 1 == n ? last
				 : ", ",
		    cmd ? cmd : "", cmd ? " " : "", names[i]);
}

int
cli_unknown_command(const char *op, const char *word)
{
	const char *close[MAX_SUGGESTIONS];
	size_t n = suggest(cli_commands, word, close);

	fprintf(stderr, "certfleet: %s%s%s: unknown command", op ? op : "",
	    op ? ": " : "", word);
	if (n > 0) {
		fputs("; did you mean ", stderr);
		print_names(NULL, close, n, " or ");
		fputs("?\n", stderr);
	} else
		fputs(" (certfleet help lists the commands)\n", stderr);
	return 2;
}

int
cli_unknown_sub(const char *cmd, const char *word)
{
	const struct cli_command *c = cli_command_find(cli_commands, cmd);
	const char *names[MAX_SUGGESTIONS];
	size_t n = 0;

	fprintf(stderr, "certfleet: %s: %s: unknown subcommand", cmd, word);
	if (c != NULL && c->subs != NULL &&
	    (n = suggest(c->subs, word, names)) > 0) {
		fputs("; did you mean ", stderr);
		print_names(cmd, names, n, " or ");
		fputs("?\n", stderr);
		return 2;
	}
	for (n = 0; c != NULL && c->subs != NULL && c->subs[n].name != NULL &&
		    n < MAX_SUGGESTIONS;
	     n++)
		names[n] = c->subs[n].name;
	fputs(" (", stderr);
	print_names(cmd, names, n, ", ");
	fputs(")\n", stderr);
	return 2;
}

int
cmd_help(int argc, char **argv)
{
	const struct cli_command *cmd, *sub = NULL;
	char *args[4];
	int c, n = 0;

	while (
	    (c = getopt_long(argc, argv, ":h", cli_common_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(help_usage);
			return 0;
		}
		return cli_bad_option("help", c, argv);
	}
	if (optind == argc) {
		cli_show_usage(stdout);
		return 0;
	}
	if (argc - optind > 2)
		return cli_usage(
		    "help", "unexpected argument %s", argv[optind + 2]);
	if ((cmd = cli_command_find(cli_commands, argv[optind])) == NULL ||
	    cmd->hidden)
		return cli_unknown_command("help", argv[optind]);
	if (optind + 1 < argc && cmd->subs == NULL)
		return cli_usage("help", "%s has no subcommands", cmd->name);
	if (optind + 1 < argc &&
	    (sub = cli_command_find(cmd->subs, argv[optind + 1])) == NULL)
		return cli_unknown_sub(cmd->name, argv[optind + 1]);
	/* The command's own --help, as if typed: one text, one place. */
	args[n++] = (char *)cmd->name;
	if (sub != NULL)
		args[n++] = (char *)sub->name;
	args[n++] = (char *)"--help";
	args[n] = NULL;
	optind = 0;
	return cmd->fn(n, args);
}
