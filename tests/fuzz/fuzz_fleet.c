/*
 * fuzz_fleet.c - libFuzzer harness over the admin's fleet file
 * (src/cli/fleet.c): the input is written as fleet.json and loaded; a
 * fleet that loads is then resolved as --server all and by each name,
 * and checked for a new entry, as the fleet commands do.
 *
 * FUZZ-LINK: src/cli/fleet.c src/cli/common.c src/cli/client.c
 * src/cli/client_tls.c src/cli/client_unix.c
 */
#include "fleet.h"
#include "harness.h"

static char file[128];

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
	if ((f = fleet_load(file, &err)) == NULL) {
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
	cf_error_clear(&err);
	fleet_check(f, "new", "127.0.0.1:8443", &err);
	fleet_free(f);
	return 0;
}
