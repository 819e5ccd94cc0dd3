/*
 * fuzz_config.c - libFuzzer harness over the agent's configuration
 * parser (src/agent/config.c, inih underneath): the input is written to a
 * file in a temporary directory and loaded as `certfleetd --config FILE`
 * loads it.  Loading either succeeds with a whole configuration or fails
 * with a message naming the file; anything else is a finding.
 *
 * FUZZ-LINK: src/agent/config.c src/agent/config_trust.c
 * src/agent/config_keys.c src/agent/listen.c
 * src/agent/config_registry.c src/registry/schema.c src/registry/schema_plan.c
 * src/registry/schema_agents.c src/agent/config_console.c
 */
#include "config.h"
#include "harness.h"

static char file[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(file, sizeof(file), "agent.conf");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config *c;
	struct cf_error err;

	if (size > 262144)
		return 0;
	fz_write(file, data, size);
	cf_error_clear(&err);
	c = agent_config_load(file, 1, &err);
	if (c == NULL) {
		if (err.code == CF_OK || err.msg[0] == '\0')
			abort(); /* a refusal explains itself */
	} else if (c->name == NULL || c->listen == NULL || c->state == NULL ||
		   c->services == NULL || c->workers < 1 ||
		   c->workers > AGENT_WORKERS_MAX)
		abort(); /* a loaded configuration is complete */
	agent_config_free(c);
	return 0;
}
