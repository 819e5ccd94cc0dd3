/*
 * fleet_group.c - the groups of the fleet file: names for sets of
 * servers, for --server @GROUP and a namespace's servers.  See fleet.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"
#include "util.h"

/*
 * The servers of list ("ex1, ex2") as a canonical "ex1,ex2" in *out
 * (new), each in the fleet, for group name.  CF_E_USAGE naming what is
 * wrong.
 */
static int
members_check(const struct fleet *f, const char *name, const char *list,
    char **out, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL;
	int bad = 0;

	*out = NULL;
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	     item = strtok_r(NULL, ", ", &save)) {
		if (fleet_find(f, item) != NULL) {
			fleet_list_add(out, item);
			continue;
		}
		cf_errorf(err, CF_E_USAGE, "group %s: %s: %s", name, item,
		    item[0] == '@' || fleet_group_find(f, item) != NULL
			? "a group holds servers, not groups: name its servers"
			: "not a server in the fleet (`certfleet fleet list` "
			  "shows them; `certfleet fleet add` adds one)");
		free(*out);
		*out = NULL;
		bad = 1;
		break;
	}
	free(copy);
	if (*out == NULL && !bad)
		cf_errorf(err, CF_E_USAGE,
		    "group %s: no server named (a group is one server or "
		    "more: S1,S2,...)",
		    name);
	return *out == NULL ? -1 : 0;
}

/* Whether name may be a new group: well formed, neither a server's
 * name nor a group's. */
static int
group_name_check(const struct fleet *f, const char *name, struct cf_error *err)
{
	if (fleet_name_check(name, err) == -1)
		return -1;
	if (fleet_find(f, name) != NULL)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: a server's name; a group needs a name of its own",
		    name);
	if (fleet_group_find(f, name) != NULL)
		return cf_errorf(
		    err, CF_E_CONFLICT, "%s: a group already", name);
	return 0;
}

int
fleet_group_load(struct fleet *f, size_t i, json_t *o, struct cf_error *err)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	char *list = NULL, *members = NULL;
	struct cf_error why;

	cf_error_clear(&why);
	if (name == NULL ||
	    fleet_list_from_json(
		json_object_get(o, "members"), "members", &list, &why) == -1 ||
	    group_name_check(f, name, &why) == -1 ||
	    members_check(f, name, list, &members, &why) == -1) {
		free(list);
		return cf_errorf(err, CF_E_PARSE, "%s: groups[%zu]: %s",
		    f->path, i, name == NULL ? "needs a name string" : why.msg);
	}
	free(list);
	f->g = xrealloc(f->g, (f->ng + 1) * sizeof(*f->g));
	f->g[f->ng].name = xstrdup(name);
	f->g[f->ng++].members = members;
	return 0;
}

/* ---- groups ---------------------------------------------------------- */

size_t
fleet_group_count(const struct fleet *f)
{
	return f->ng;
}

const struct fleet_group *
fleet_group_get(const struct fleet *f, size_t i)
{
	return i < f->ng ? &f->g[i] : NULL;
}

const struct fleet_group *
fleet_group_find(const struct fleet *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->ng; i++)
		if (strcmp(f->g[i].name, name) == 0)
			return &f->g[i];
	return NULL;
}

int
fleet_group_add(struct fleet *f, const char *name, const char *list,
    int *created, struct cf_error *err)
{
	struct fleet_group *g = (struct fleet_group *)fleet_group_find(f, name);
	char *members = NULL, *item, *save = NULL;

	*created = g == NULL;
	if (g == NULL && group_name_check(f, name, err) == -1)
		return -1;
	if (members_check(f, name, list, &members, err) == -1)
		return -1;
	if (g == NULL) {
		f->g = xrealloc(f->g, (f->ng + 1) * sizeof(*f->g));
		f->g[f->ng].name = xstrdup(name);
		f->g[f->ng++].members = members;
		return 0;
	}
	for (item = strtok_r(members, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save))
		fleet_list_add(&g->members, item);
	free(members);
	return 0;
}

/* group's members without those of list (new); CF_E_USAGE for a name
 * that is not a member. */
static char *
members_without(
    const struct fleet_group *g, const char *list, struct cf_error *err)
{
	char *copy = xstrdup(g->members), *item, *save = NULL, *left = NULL;
	char *drop = xstrdup(list);
	int bad = 1;

	for (item = strtok_r(drop, ", ", &save); item != NULL;
	     item = strtok_r(NULL, ", ", &save))
		if (!fleet_list_has(g->members, item)) {
			cf_errorf(err, CF_E_USAGE,
			    "group %s: %s is not a member (members: %s)",
			    g->name, item, g->members);
			goto out;
		}
	save = NULL;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save))
		if (!fleet_list_has(list, item))
			fleet_list_add(&left, item);
	if (left == NULL)
		cf_errorf(err, CF_E_CONFLICT,
		    "group %s: would be left empty; `certfleet fleet group "
		    "remove %s` removes the group",
		    g->name, g->name);
	bad = left == NULL;
out:
	free(copy);
	free(drop);
	return bad ? NULL : left;
}

int
fleet_group_remove(
    struct fleet *f, const char *name, const char *list, struct cf_error *err)
{
	struct fleet_group *g = (struct fleet_group *)fleet_group_find(f, name);
	char *at = xasprintf("@%s", name), *spaces = NULL, *left;
	size_t i;
	int rc = -1;

	if (g == NULL) {
		cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such group (`certfleet fleet group list` shows "
		    "them)",
		    name);
		goto out;
	}
	if (list != NULL) {
		if ((left = members_without(g, list, err)) == NULL)
			goto out;
		free(g->members);
		g->members = left;
		rc = 0;
		goto out;
	}
	if ((spaces = fleet_ns_naming(f, at)) != NULL) {
		cf_errorf(err, CF_E_CONFLICT,
		    "group %s: namespace %s names it; `certfleet namespace set "
		    "NS --servers ...` first",
		    name, spaces);
		goto out;
	}
	i = (size_t)(g - f->g);
	free(g->name);
	free(g->members);
	memmove(&f->g[i], &f->g[i + 1], (f->ng - i - 1) * sizeof(f->g[0]));
	f->ng--;
	rc = 0;
out:
	free(at);
	free(spaces);
	return rc;
}
