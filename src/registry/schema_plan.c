/*
 * schema_plan.c - waves/<ns>: an agents' rollout's members and their
 * waves (schema.h), kept out of ns/<ns>/desired so that no member reads
 * the whole fleet at each move, and the rollout of such a desired, which
 * has no members.  Apart from schema.c for its length.
 */
#include <stdlib.h>
#include <string.h>

#include "rollout_state.h"
#include "schema.h"
#include "schema_int.h"
#include "util.h"

#define PLAN_MAX 100000 /* members of one rollout */

char *
schema_plan_value(const struct schema_plan *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < p->n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:I}", "name", p->m[i].name, "wave",
			   (json_int_t)p->m[i].wave));
	return schema_json_dump(
	    json_pack("{s:s, s:o}", "rollout", p->rollout, "members", a));
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct schema_plan_member *)a)->name,
	    ((const struct schema_plan_member *)b)->name);
}

/* The members array a into out; the reason in why. */
static int
members_load(const json_t *a, struct schema_plan *out, struct cf_error *why)
{
	struct schema_plan_member *sorted = NULL;
	const json_t *e, *w;
	const char *name;
	size_t i;
	int rc = -1;

	if (!json_is_array(a) || json_array_size(a) > PLAN_MAX) {
		cf_errorf(why, CF_E_PARSE,
		    "needs \"members\" (an array of at most %d)", PLAN_MAX);
		goto out;
	}
	out->n = json_array_size(a);
	out->m = xcalloc(out->n + 1, sizeof(*out->m));
	json_array_foreach(a, i, e) {
		name = json_string_value(json_object_get(e, "name"));
		w = json_object_get(e, "wave");
		if (name == NULL || schema_name_check(name, why) == -1) {
			cf_errorf(why, CF_E_PARSE,
			    "member %zu: needs \"name\" (a fleet name)", i + 1);
			goto out;
		}
		if (!json_is_integer(w) || json_integer_value(w) < 1) {
			cf_errorf(why, CF_E_PARSE,
			    "%s: needs \"wave\" (1 or more)", name);
			goto out;
		}
		memcpy(out->m[i].name, name, strlen(name) + 1);
		out->m[i].wave = (size_t)json_integer_value(w);
	}
	/* a name twice would give one agent two waves */
	sorted = xcalloc(out->n + 1, sizeof(*sorted));
	memcpy(sorted, out->m, out->n * sizeof(*sorted));
	qsort(sorted, out->n, sizeof(*sorted), by_name);
	for (i = 1; i < out->n; i++)
		if (strcmp(sorted[i - 1].name, sorted[i].name) == 0) {
			cf_errorf(why, CF_E_PARSE, "%s: a member twice",
			    sorted[i].name);
			goto out;
		}
	rc = 0;
out:
	free(sorted);
	return rc;
}

int
schema_plan_parse(const char *key, const void *value, size_t len,
    struct schema_plan *out, struct cf_error *err)
{
	json_t *o = NULL;
	const char *id;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	id = json_string_value(json_object_get(o, "rollout"));
	if (!schema_is_id(id)) {
		cf_errorf(&why, CF_E_PARSE,
		    "needs \"rollout\" (32 lower-case hex digits)");
		goto out;
	}
	memcpy(out->rollout, id, sizeof(out->rollout));
	if (members_load(json_object_get(o, "members"), out, &why) == -1)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc == -1) {
		schema_plan_clear(out);
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	}
	return rc;
}

void
schema_plan_clear(struct schema_plan *p)
{
	free(p->m);
	memset(p, 0, sizeof(*p));
}

int
schema_rollout_parse(
    const json_t *o, int agents, struct cf_rstate *r, struct cf_error *why)
{
	const json_t *members = json_object_get(o, "members");
	json_t *copy;
	int rc;

	/* cf_rstate_parse wants a member: a copy with a stand-in, taken
	 * out after */
	if (!agents || !json_is_object(o) ||
	    (members != NULL &&
		(!json_is_array(members) || json_array_size(members) > 0)))
		return cf_rstate_parse(o, r, why);
	copy = json_deep_copy(o);
	json_object_set_new(copy, "members",
	    json_pack("[{s:s, s:i, s:s}]", "name", "-", "wave", 1, "state",
		cf_rstate_member_name(CF_RM_WAITING)));
	rc = cf_rstate_parse(copy, r, why);
	json_decref(copy);
	if (rc == 0)
		cf_rstate_members_clear(r);
	return rc;
}
