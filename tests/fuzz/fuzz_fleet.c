/*
 * fuzz_fleet.c - libFuzzer harness over the admin's fleet file
 * (src/cli/fleet.c): the input is written as fleet.json and loaded; a
 * fleet that loads is then resolved as --server all, by each name, by
 * each @GROUP and by each namespace's servers, checked for a new entry,
 * and its namespaces put back as they are, as the commands do; a
 * namespace's rollout state that loads is read and written back the
 * same (rollout_state.c).
 *
 * FUZZ-LINK: src/cli/fleet.c src/cli/fleet_group.c src/cli/fleet_ns.c
 * src/cli/common.c src/cli/client.c src/cli/client_tls.c
 * src/cli/client_unix.c src/cli/fleet_registry.c src/cli/registry_sync.c
 * src/cli/registry_move.c src/cli/output.c src/registry/schema.c
 * src/registry/schema_plan.c src/registry/schema_agents.c src/registry/etcd.c
 * src/registry/etcd_conn.c src/registry/etcd_msg.c src/registry/etcd_watch.c
 */
#include "fleet.h"
#include "harness.h"
#include "rollout_state.h"

static char file[128];

/* A rollout state that loaded reads, and writes back as it read. */
static void
rollout_again(const json_t *o)
{
	struct cf_rstate st, back;
	struct cf_error err;
	json_t *a, *b;

	if (cf_rstate_parse(o, &st, &err) != 0)
		abort(); /* fleet_load read it */
	a = cf_rstate_json(&st);
	if (cf_rstate_parse(a, &back, &err) != 0)
		abort(); /* what is written reads */
	b = cf_rstate_json(&back);
	if (!json_equal(a, b))
		abort();
	json_decref(a);
	json_decref(b);
	cf_rstate_clear(&st);
	cf_rstate_clear(&back);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(file, sizeof(file), "fleet.json");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_target *t = NULL;
	struct fleet *f;
	struct cf_error err;
	size_t i, n = 0;

	if (size > 262144)
		return 0;
	fz_write(file, data, size);
	cf_error_clear(&err);
	/* The file alone: one that names an etcd registry would otherwise
	 * be read from etcd, over the network. */
	if ((f = fleet_load_file(file, &err)) == NULL) {
		if (err.code == CF_OK || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (fleet_count(f) > 0 &&
	    fleet_resolve(f, "all", NULL, &t, &n, &err) == 0) {
		client_targets_free(t, n);
		t = NULL;
	}
	for (i = 0; i < fleet_count(f); i++) {
		const struct client_target *e = fleet_get(f, i);
		if (fleet_find(f, e->name) == NULL)
			abort(); /* every entry is found by its name */
		if (fleet_resolve(f, e->name, NULL, &t, &n, &err) == 0) {
			client_targets_free(t, n);
			t = NULL;
		}
	}
	for (i = 0; i < fleet_group_count(f); i++) {
		char *at = xasprintf("@%s", fleet_group_get(f, i)->name);
		if (fleet_resolve(f, at, NULL, &t, &n, &err) != 0)
			abort(); /* a group that loads has members */
		client_targets_free(t, n);
		t = NULL;
		free(at);
	}
	for (i = 0; i < fleet_ns_count(f); i++) {
		const struct fleet_ns *ns = fleet_ns_get(f, i);
		if (ns->rollout != NULL)
			rollout_again(ns->rollout);
		if (fleet_resolve(f, ns->servers, NULL, &t, &n, &err) == 0) {
			client_targets_free(t, n);
			t = NULL;
		}
		cf_error_clear(&err);
		if (fleet_ns_put(f, ns, 0, &err) != 0)
			abort(); /* a namespace that loads is valid as it is */
	}
	cf_error_clear(&err);
	fleet_check(f, "new", "127.0.0.1:8443", &err);
	fleet_free(f);
	return 0;
}
