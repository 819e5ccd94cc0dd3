/*
 * fuzz_wire.c - libFuzzer harness over the CLI's decoding of agent
 * replies (src/cli/wire.c's wire_reply, over the library's reply
 * decoders in msg_reply.c): the first byte picks the operation (enum
 * backend_op), the rest is the 2xx answer's body.  An
 * agent may be anyone the admin pointed the CLI at; whatever it sends,
 * the decoder accepts a reply whole or rejects it with a reason.
 *
 * FUZZ-LINK: src/cli/wire.c src/cli/backend.c src/cli/fleet.c
 * src/cli/fleet_group.c src/cli/fleet_ns.c src/cli/client.c
 * src/cli/client_tls.c src/cli/client_unix.c src/cli/common.c src/cli/output.c
 * src/cli/fleet_registry.c src/cli/registry_sync.c src/cli/registry_move.c
 * src/registry/schema.c src/registry/schema_plan.c src/registry/schema_agents.c
 * src/registry/etcd.c src/registry/etcd_conn.c src/registry/etcd_msg.c
 * src/registry/etcd_watch.c
 */
#include <jansson.h>

#include "backend.h"
#include "harness.h"
#include "wire.h"

#define NOPS (BACKEND_REPLACE + 1)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backend_reply *r;
	json_t *answer;

	if (size < 1 || size > 262144)
		return 0;
	answer = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (answer == NULL)
		return 0; /* client.c refuses what is not JSON before */
	r = calloc(1, sizeof(*r));
	cf_error_clear(&r->err);
	if (wire_reply((enum backend_op)(data[0] % NOPS), answer, r) == -1 &&
	    (r->err.code == CF_OK || r->err.msg[0] == '\0'))
		abort(); /* a rejected reply says why */
	backend_replies_free(r, 1);
	return 0;
}
