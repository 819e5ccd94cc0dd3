/*
 * complete.c - shell completion.  `certfleet completion bash|zsh` prints
 * a script made from the command table: the commands, each one's
 * subcommands and options (those that take a value marked), and what its
 * positional words are.  For what only a store or the fleet file knows,
 * the script calls back into the hidden `certfleet __complete
 * fleet|namespaces|thumbprints`, which prints one candidate a line, stays quiet
 * on any error and gives up after COMPLETE_TIMEOUT_S, so that a dead agent
 * never hangs the shell.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "fleet.h"

#define COMPLETE_TIMEOUT_S 3

static const char completion_usage[] =
    "Usage: certfleet completion bash|zsh\n"
    "Prints the completion script for the shell: commands, options, fleet\n"
    "names and thumbprints.  Load it with\n"
    "  source <(certfleet completion bash)     (in ~/.bashrc)\n"
    "  source <(certfleet completion zsh)      (in ~/.zshrc, after "
    "compinit)\n"
    "make install puts both where the shells look for them.\n";

/* What an option's value is, for the scripts; the rest complete nothing. */
static const struct {
	const char *name;
	char shortname; /* its one-letter form, or 0 */
	const char *kind;
} option_values[] = {
    {"server", 0, "fleet"},
    {"from", 0, "fleet"},
    {"to", 0, "fleet"},
    {"certificate", 0, "thumbprint"}, /* rollout's, on --from */
    {"store", 0, "dir"},
    {"fleet", 0, "file"},
    {"output", 'o', "file"},
    {"password-file", 0, "file"},
    {"ca-file", 0, "file"},
    {"acme-ca-file", 0, "file"},
};
#define NVALUES (sizeof(option_values) / sizeof(option_values[0]))

static const char *const arg_kinds[] = {
    [CLI_ARG_NONE] = "",
    [CLI_ARG_THUMBPRINT] = "thumbprint",
    [CLI_ARG_FILE] = "file",
    [CLI_ARG_FLEET] = "fleet",
    [CLI_ARG_COMMAND] = "command",
    [CLI_ARG_NAMESPACE] = "namespace",
};

/*
 * The part both shells share.  _certfleet_walk CWORD WORD... reads the
 * words before the cursor and sets: cmd and sub, the first positional
 * word and how many there are (npos), opt when the cursor is on that
 * option's value, srv, sto and flt from --server (or --from), --store
 * and --fleet on the line, cur (the word at the cursor, after any
 * OPTION= and list commas, which go to pre) and kind, what to offer.
 */
static const char walker[] =
    "_certfleet_keep() {\n"
    "\tcase $1 in\n"
    "\t--server) srv=$2 ;;\n"
    "\t--store) sto=$2 ;;\n"
    "\t--fleet) flt=$2 ;;\n"
    "\t--from) from=$2 ;;\n"
    "\tesac\n"
    "}\n"
    "\n"
    "_certfleet_walk() {\n"
    "\tlocal n=$1 i=1 w\n"
    "\tprog=$2\n"
    "\tshift 2\n"
    "\tcmd='' sub='' first='' npos=0 opt='' srv='' sto='' flt='' from=''\n"
    "\tpre='' kind=none\n"
    "\t_certfleet_spec ''\n"
    "\twhile [ \"$i\" -lt \"$n\" ] && [ $# -gt 0 ]; do\n"
    "\t\tw=$1\n"
    "\t\tshift\n"
    "\t\ti=$((i + 1))\n"
    "\t\tcase $w in\n"
    "\t\t--*=*) _certfleet_keep \"${w%%=*}\" \"${w#*=}\" ;;\n"
    "\t\t-?*)\n"
    "\t\t\tcase \" $opts $sopts \" in\n"
    "\t\t\t*\" $w= \"*)\n"
    "\t\t\t\t# its value: the next word (after a lone = from bash)\n"
    "\t\t\t\tif [ \"$i\" -lt \"$n\" ] && [ \"${1-}\" = = ]; then\n"
    "\t\t\t\t\tshift\n"
    "\t\t\t\t\ti=$((i + 1))\n"
    "\t\t\t\tfi\n"
    "\t\t\t\tif [ \"$i\" -ge \"$n\" ]; then\n"
    "\t\t\t\t\topt=$w\n"
    "\t\t\t\telse\n"
    "\t\t\t\t\t_certfleet_keep \"$w\" \"${1-}\"\n"
    "\t\t\t\t\tshift\n"
    "\t\t\t\t\ti=$((i + 1))\n"
    "\t\t\t\tfi ;;\n"
    "\t\t\tesac ;;\n"
    "\t\t*)\n"
    "\t\t\tif [ -z \"$cmd\" ]; then\n"
    "\t\t\t\tcmd=$w\n"
    "\t\t\t\t_certfleet_spec \"$cmd\"\n"
    "\t\t\telif [ -z \"$sub\" ] && [ -n \"$subs\" ]; then\n"
    "\t\t\t\tsub=$w\n"
    "\t\t\t\t_certfleet_spec \"$cmd $sub\"\n"
    "\t\t\telse\n"
    "\t\t\t\t[ \"$npos\" -eq 0 ] && first=$w\n"
    "\t\t\t\tnpos=$((npos + 1))\n"
    "\t\t\tfi ;;\n"
    "\t\tesac\n"
    "\tdone\n"
    "\tcur=${1-}\n"
    "\t# where the certificates are may be said after the cursor too\n"
    "\twhile [ $# -gt 1 ]; do\n"
    "\t\tshift\n"
    "\t\tw=$1\n"
    "\t\tcase $w in\n"
    "\t\t--*=*) _certfleet_keep \"${w%%=*}\" \"${w#*=}\" ;;\n"
    "\t\t*)\n"
    "\t\t\t[ \"${2-}\" = = ] && [ $# -gt 2 ] && shift\n"
    "\t\t\t_certfleet_keep \"$w\" \"${2-}\" ;;\n"
    "\t\tesac\n"
    "\tdone\n"
    "\t[ \"$cur\" = = ] && cur=''\n"
    "\tif [ -z \"$opt\" ]; then\n"
    "\t\tcase $cur in\n"
    "\t\t--*=*)\n"
    "\t\t\topt=${cur%%=*}\n"
    "\t\t\tpre=$opt=\n"
    "\t\t\tcur=${cur#*=} ;;\n"
    "\t\tesac\n"
    "\tfi\n"
    "\t# a copy's certificate is on --from\n"
    "\t[ -n \"$from\" ] && srv=$from\n"
    "\tif [ -n \"$opt\" ]; then\n"
    "\t\t_certfleet_value \"$opt\"\n"
    "\telif [ \"${cur#-}\" != \"$cur\" ]; then\n"
    "\t\tkind=options\n"
    "\telif [ -z \"$cmd\" ]; then\n"
    "\t\tkind=commands\n"
    "\telif [ -n \"$subs\" ] && [ -z \"$sub\" ]; then\n"
    "\t\tkind=subs\n"
    "\telif [ \"$nargs\" -eq 0 ] || [ \"$npos\" -lt \"$nargs\" ]; then\n"
    "\t\tkind=${arg:-none}\n"
    "\tfi\n"
    "\tif [ \"$kind\" = command ] && [ \"$npos\" -eq 1 ]; then\n"
    "\t\t_certfleet_spec \"$first\"\n"
    "\t\tkind=subs\n"
    "\telif [ \"$kind\" = command ]; then\n"
    "\t\tkind=commands\n"
    "\tfi\n"
    "\tif [ \"$kind\" = fleet ]; then\n"
    "\t\tcase $cur in\n"
    "\t\t*,*)\n"
    "\t\t\tpre=$pre${cur%,*},\n"
    "\t\t\tcur=${cur##*,} ;;\n"
    "\t\tesac\n"
    "\tfi\n"
    "}\n"
    "\n"
    "# _certfleet_ask fleet|thumbprints [-- PREFIX]: certfleet's answer\n"
    "_certfleet_ask() {\n"
    "\tlocal p=$prog s=$sto f=$flt\n"
    "\tcase $p in \"~/\"*) p=$HOME/${p#\"~/\"} ;; esac\n"
    "\tcase $s in \"~/\"*) s=$HOME/${s#\"~/\"} ;; esac\n"
    "\tcase $f in \"~/\"*) f=$HOME/${f#\"~/\"} ;; esac\n"
    "\t\"$p\" ${f:+\"--fleet=$f\"} ${srv:+\"--server=$srv\"} "
    "${s:+\"--store=$s\"} \\\n"
    "\t    __complete \"$@\" 2>/dev/null </dev/null\n"
    "}\n";

static const char bash_tail[] =
    "\n"
    "_certfleet() {\n"
    "\tlocal opts sopts subs arg nargs cmd sub first npos opt srv sto flt\n"
    "\tlocal from pre cur kind prog\n"
    "\t_certfleet_walk \"$COMP_CWORD\" \"${COMP_WORDS[@]}\"\n"
    "\tCOMPREPLY=()\n"
    "\tcase $kind in\n"
    "\tcommands) COMPREPLY=($(compgen -W \"$_certfleet_commands\" -- "
    "\"$cur\")) ;;\n"
    "\tsubs) COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\")) ;;\n"
    "\toptions) COMPREPLY=($(compgen -W \"${opts//=/}\" -- \"$cur\")) ;;\n"
    "\tfleet)\n"
    "\t\tCOMPREPLY=($(compgen -P \"$pre\" -W \"all $(_certfleet_ask "
    "fleet)\" \\\n"
    "\t\t    -- \"$cur\")) ;;\n"
    "\tthumbprint) COMPREPLY=($(_certfleet_ask thumbprints -- \"$cur\")) ;;\n"
    "\tnamespace) COMPREPLY=($(_certfleet_ask namespaces -- \"$cur\")) ;;\n"
    "\tfile) compopt -o default 2>/dev/null ;;\n"
    "\tdir) compopt -o dirnames 2>/dev/null ;;\n"
    "\tesac\n"
    "\treturn 0\n"
    "}\n"
    "complete -F _certfleet certfleet\n";

static const char zsh_tail[] =
    "\n"
    "_certfleet() {\n"
    "\tlocal opts sopts subs arg nargs cmd sub first npos opt srv sto flt\n"
    "\tlocal from pre cur kind prog o\n"
    "\t_certfleet_walk $((CURRENT - 1)) \"${words[@]}\"\n"
    "\tcase $kind in\n"
    "\tcommands) compadd -- ${=_certfleet_commands} ;;\n"
    "\tsubs) compadd -- ${=subs} ;;\n"
    "\toptions)\n"
    "\t\to=${opts//=/}\n"
    "\t\tcompadd -- ${=o} ;;\n"
    "\tfleet)\n"
    "\t\tcompset -P '*='\n"
    "\t\tcompset -P '*,'\n"
    "\t\tcompadd -- all ${(f)\"$(_certfleet_ask fleet)\"} ;;\n"
    "\tthumbprint)\n"
    "\t\tcompadd -U -- ${(f)\"$(_certfleet_ask thumbprints -- \"$cur\")\"} ;;\n"
    "\tnamespace) compadd -- ${(f)\"$(_certfleet_ask namespaces)\"} ;;\n"
    "\tfile) _files ;;\n"
    "\tdir) _files -/ ;;\n"
    "\tesac\n"
    "\treturn 0\n"
    "}\n"
    "\n"
    "if [ \"$funcstack[1]\" = _certfleet ]; then\n"
    "\t_certfleet \"$@\"\n"
    "else\n"
    "\tcompdef _certfleet certfleet\n"
    "fi\n";

/* Whether c's options include the long option name. */
static int
has_option(const struct option *opts, const char *name)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return 1;
	return 0;
}

/*
 * One case of _certfleet_spec: the options of opts ("=" after those that
 * take a value), the one-letter ones that take a value, the
 * subcommands, and what the positional words are and how many.
 */
static void
print_spec(const char *key, const struct option *opts,
    const struct cli_command *subs, enum cli_arg arg, int nargs)
{
	const struct option *o;
	const char *sep = "";
	size_t i;

	printf("\t'%s')\n\t\topts='", key);
	for (o = opts; o != NULL && o->name != NULL; o++) {
		if (cli_option_hidden(o))
			continue;
		printf("%s--%s%s", sep, o->name,
		    o->has_arg == required_argument ? "=" : "");
		sep = " ";
	}
	printf("'\n\t\tsopts='");
	sep = "";
	for (i = 0; i < NVALUES; i++)
		if (option_values[i].shortname != 0 &&
		    has_option(opts, option_values[i].name)) {
			printf("%s-%c=", sep, option_values[i].shortname);
			sep = " ";
		}
	printf("'\n\t\tsubs='");
	sep = "";
	for (; subs != NULL && subs->name != NULL; subs++) {
		printf("%s%s", sep, subs->name);
		sep = " ";
	}
	printf("'\n\t\targ='%s' nargs=%d ;;\n", arg_kinds[arg], nargs);
}

/* The data of the table, as shell functions both scripts read. */
static void
print_table(void)
{
	const struct cli_command *c, *s;
	size_t i;

	printf("_certfleet_commands='");
	for (c = cli_commands; c->name != NULL; c++)
		if (!c->hidden)
			printf("%s%s", c == cli_commands ? "" : " ", c->name);
	printf("'\n\n# _certfleet_spec 'COMMAND [SUBCOMMAND]': sets opts, "
	       "sopts, subs, arg, nargs\n_certfleet_spec() {\n\tcase $1 in\n");
	print_spec("", cli_main_opts, NULL, CLI_ARG_NONE, 0);
	for (c = cli_commands; c->name != NULL; c++) {
		if (c->hidden)
			continue;
		print_spec(c->name, c->opts, c->subs, c->arg, c->nargs);
		for (s = c->subs; s != NULL && s->name != NULL; s++) {
			char *key = xasprintf("%s %s", c->name, s->name);
			print_spec(key, s->opts, NULL, s->arg, s->nargs);
			free(key);
		}
	}
	printf(
	    "\t*) opts='' sopts='' subs='' arg='' nargs=0 ;;\n\tesac\n}\n\n");
	printf("# _certfleet_value OPTION: sets kind, what its value is\n"
	       "_certfleet_value() {\n\tcase $1 in\n");
	for (i = 0; i < NVALUES; i++) {
		printf("\t--%s", option_values[i].name);
		if (option_values[i].shortname != 0)
			printf("|-%c", option_values[i].shortname);
		printf(") kind='%s' ;;\n", option_values[i].kind);
	}
	printf("\t*) kind=none ;;\n\tesac\n}\n\n");
}

int
cmd_completion(int argc, char **argv)
{
	int c, zsh;

	while (
	    (c = getopt_long(argc, argv, ":h", cli_common_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(completion_usage);
			return 0;
		}
		return cli_bad_option("completion", c, argv);
	}
	if (optind == argc)
		return cli_usage("completion", "which shell? bash or zsh");
	if (strcmp(argv[optind], "bash") != 0 && strcmp(argv[optind], "zsh"))
		return cli_unknown_sub("completion", argv[optind]);
	if (optind + 1 < argc)
		return cli_usage(
		    "completion", "unexpected argument %s", argv[optind + 1]);
	zsh = strcmp(argv[optind], "zsh") == 0;
	printf("%s# certfleet completion for %s, made by `certfleet completion "
	       "%s` from\n# certfleet's command table: make it again after an "
	       "upgrade.\n\n",
	    zsh ? "#compdef certfleet\n" : "", argv[optind], argv[optind]);
	if (!zsh) /* "~/" is taken literally; compgen's words are split */
		printf("# shellcheck disable=SC2088,SC2207\n");
	print_table();
	fputs(walker, stdout);
	fputs(zsh ? zsh_tail : bash_tail, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- __complete: the callbacks of the scripts ------------------------ */

/* A completion that takes too long is no completion. */
static void
on_alarm(int sig)
{
	(void)sig;
	_exit(0);
}

/* Whether word starts with prefix, case aside. */
static int
starts(const char *word, const char *prefix)
{
	return strncasecmp(word, prefix, strlen(prefix)) == 0;
}

/* The names in the fleet file that start with prefix: its servers and
 * @GROUPs, or (spaces) its namespaces. */
static void
complete_fleet(const char *prefix, int spaces)
{
	struct cf_error err;
	struct fleet *f = NULL;
	char *path;
	size_t i;

	cf_error_clear(&err);
	if ((path = fleet_path(0, &err)) == NULL ||
	    (f = fleet_load_file(path, &err)) == NULL)
		goto out;
	for (i = 0; !spaces && i < fleet_count(f); i++)
		if (starts(fleet_get(f, i)->name, prefix))
			printf("%s\n", fleet_get(f, i)->name);
	for (i = 0; !spaces && i < fleet_group_count(f); i++)
		if (starts(fleet_group_get(f, i)->name,
			prefix[0] == '@' ? prefix + 1 : prefix))
			printf("@%s\n", fleet_group_get(f, i)->name);
	for (i = 0; spaces && i < fleet_ns_count(f); i++)
		if (starts(fleet_ns_get(f, i)->name, prefix))
			printf("%s\n", fleet_ns_get(f, i)->name);
out:
	fleet_free(f);
	free(path);
}

static int
compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether the store certfleet would open exists: completion must not
 * create one where a --store was mistyped.
 */
static int
store_exists(void)
{
	const char *dir = cli.store ? cli.store : getenv("CERTFLEET_STORE");
	char *db;
	int yes;

	if (cli.server != NULL || dir == NULL || dir[0] == '\0')
		return 1; /* not a local store */
	db = xasprintf("%s/store.db", dir);
	yes = access(db, R_OK) == 0;
	free(db);
	return yes;
}

/* The thumbprints on the targets that start with prefix, each once. */
static void
complete_thumbprints(const char *prefix)
{
	struct backend_reply *r = NULL;
	struct backend_req req;
	struct backend *b = NULL;
	const char **t = NULL;
	size_t i, j, n = 0;

	memset(&req, 0, sizeof(req));
	if (!store_exists() || backend_open("get", &b) != 0)
		goto out;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_GET, &req, r);
	for (i = 0; i < backend_count(b); i++)
		for (j = 0; j < r[i].nviews; j++)
			if (starts(r[i].views[j].thumbprint, prefix)) {
				t = xrealloc(t, (n + 1) * sizeof(*t));
				t[n++] = r[i].views[j].thumbprint;
			}
	if (n > 0)
		qsort(t, n, sizeof(*t), compare_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(t[i], t[i - 1]) != 0)
			printf("%s\n", t[i]);
out:
	free(t);
	if (b != NULL)
		backend_replies_free(r, backend_count(b));
	backend_free(b);
}

/*
 * certfleet [--server S|--store D] [--fleet F] __complete fleet|thumbprints
 * [--] [PREFIX]: candidates a line each; exit 0 with nothing on any
 * error, which goes nowhere (the shell's line is no place for it).
 */
int
cmd_complete(int argc, char **argv)
{
	const char *prefix = "";
	int c, null;

	if ((null = open("/dev/null", O_WRONLY)) != -1) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	signal(SIGALRM, on_alarm);
	alarm(COMPLETE_TIMEOUT_S);
	while ((c = getopt_long(argc, argv, ":h", cli_common_opts, NULL)) != -1)
		if (!cli_common_opt(c, optarg))
			return 2;
	if (optind == argc || argc - optind > 2)
		return 2;
	if (optind + 1 < argc)
		prefix = argv[optind + 1];
	if (strcmp(argv[optind], "fleet") == 0)
		complete_fleet(prefix, 0);
	else if (strcmp(argv[optind], "namespaces") == 0)
		complete_fleet(prefix, 1);
	else if (strcmp(argv[optind], "thumbprints") == 0)
		complete_thumbprints(prefix);
	else
		return 2;
	return fflush(stdout) == 0 ? 0 : 1;
}
