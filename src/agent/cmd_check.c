/*
 * cmd_check.c - certfleetd check-config, as nginx -t: reads the
 * configuration as run would, and checks besides what run and enable
 * would only find out later (the listen address resolves, the admin CA
 * file holds certificates, the services' directories exist, the state is
 * initialized).  One line and exit 0 when all is well; else the first
 * problem, as file:line: what is wrong, and exit 1.
 */
#include <getopt.h>
#include <stdio.h>

#include "agent.h"
#include "tls.h"

int
cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS, {0}};
	struct agent_config *c = NULL;
	struct cf_error err;
	X509_STORE *ca = NULL;
	const char *copt = NULL, *path;
	int ch, explicit, rc = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'h') {
			printf("Usage: certfleetd check-config [--config "
			       "FILE]\n");
			return 0;
		} else
			return agent_bad_option("check-config", ch, argv);
	}
	if (optind != argc)
		return agent_usage(
		    "check-config", "unexpected argument %s", argv[optind]);
	cf_error_clear(&err);
	path = agent_config_path(copt, &explicit);
	if ((c = agent_config_check(path, explicit, &err)) == NULL ||
	    tls_admin_ca_load(c->admin_ca, &ca, &err) == -1) {
		/* A bad file is what this command finds, not a usage
		 * error of its own: 1, whatever the code. */
		agent_fail("check-config", &err);
		goto out;
	}
	if (!agent_initialized("check-config", c))
		goto out;
	if (c->file != NULL)
		printf("%s: configuration OK\n", c->file);
	else
		printf("%s does not exist: configuration OK (the defaults)\n",
		    path);
	rc = 0;
out:
	X509_STORE_free(ca);
	agent_config_free(c);
	return rc;
}
