/*
 * fuzz_schema.c - libFuzzer harness over the etcd registry's keys and
 * values as an agent and the CLI read them (src/registry/schema.c,
 * schema_agents.c; the desired state then into the reconciler,
 * reconcile.c).  Whoever may write under the prefix (any enrolled agent,
 * for its own keys) can put any bytes there, and every other agent and
 * the CLI parse them: a value is taken whole or refused with a reason.
 * The first byte picks the parser, the rest is the key's value (or, for
 * 0, the key itself).
 *
 * FUZZ-LINK: src/registry/schema.c src/registry/schema_agents.c
 * src/registry/schema_plan.c src/registry/reconcile.c
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/registry/reconcile.h"
#include "../../src/registry/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "/certfleet/x"

/* desired, then the reconciler's view of it, as the agent decides. */
static void
desired(const uint8_t *v, size_t n)
{
	struct schema_desired d;
	struct rc_desired rd;
	struct cf_error err;

	if (schema_desired_parse(KEY, v, n, &d, &err) == -1)
		return;
	memset(&rd, 0, sizeof(rd));
	if (rc_desired_from(KEY, &d, 7, &rd, &err) == 0) {
		(void)rc_target_of(&rd, NULL, "ex1");
		(void)rc_target_wave(&rd, NULL, 1);
		rc_desired_clear(&rd);
	}
	schema_desired_clear(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *v = data + 1;
	size_t n = size - 1;
	struct cf_error err;
	struct schema_key k;
	struct schema_agent a;
	struct schema_spec sp;
	struct schema_live l;
	struct schema_status st;
	struct schema_progress p;
	struct schema_sealed se;
	struct schema_plan pl;
	char *s = NULL;

	if (size < 1 || size > 65536)
		return 0;
	switch (data[0] % 11) {
	case 0:
		(void)schema_key_parse("/certfleet", v, n, &k, &err);
		break;
	case 1:
		if (schema_agent_parse(KEY, v, n, &a, &err) == 0)
			schema_agent_clear(&a);
		break;
	case 2:
		if (schema_group_parse(KEY, v, n, &s, &err) == 0)
			free(s);
		break;
	case 3:
		if (schema_spec_parse(KEY, v, n, &sp, &err) == 0)
			schema_spec_clear(&sp);
		break;
	case 4:
		desired(v, n);
		break;
	case 5:
		if (schema_live_parse(KEY, v, n, &l, &err) == 0)
			schema_live_clear(&l);
		break;
	case 6:
		if (schema_identity_parse(KEY, v, n, &s, &err) == 0)
			free(s);
		break;
	case 7:
		if (schema_status_parse(KEY, v, n, &st, &err) == 0)
			schema_status_clear(&st);
		break;
	case 8:
		if (schema_progress_parse(KEY, v, n, &p, &err) == 0)
			schema_progress_clear(&p);
		break;
	case 9:
		if (schema_sealed_parse(KEY, v, n, &se, &err) == 0)
			schema_sealed_clear(&se);
		break;
	default: /* the plan: what the coordinator reads */
		if (schema_plan_parse(KEY, v, n, &pl, &err) == 0)
			schema_plan_clear(&pl);
		break;
	}
	return 0;
}
