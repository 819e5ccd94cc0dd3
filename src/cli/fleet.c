/* fleet.c - the fleet file, its servers, and --server: see fleet.h.
 * Groups are in fleet_group.c, namespaces in fleet_ns.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "fleet_int.h"
#include "schema.h"
#include "util.h"

#define MAX_FLEET_FILE (1u * 1024 * 1024)
#define MAX_NAME 63

char *
fleet_path(int create, struct cf_error *err)
{
	if (cli.fleet != NULL)
		return xstrdup(cli.fleet);
	return client_home_file("fleet.json", create, err);
}

/* The registry's rule (schema.h), so that every name in the fleet file
 * is one the etcd registry can hold as a key. */
int
fleet_name_check(const char *name, struct cf_error *err)
{
	return schema_name_check(name, err);
}

static int
address_check(const char *address, struct cf_error *err)
{
	char *host = NULL;
	int port;

	if (client_address_parse(address, &host, &port, err) == -1)
		return -1;
	free(host);
	return 0;
}

int
fleet_list_has(const char *list, const char *item)
{
	size_t n = strlen(item), len;
	const char *p;

	for (p = list; p != NULL && *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		if (len == n && strncmp(p, item, n) == 0)
			return 1;
	}
	return 0;
}

void
fleet_list_add(char **list, const char *item)
{
	char *joined;

	if (fleet_list_has(*list, item))
		return;
	joined = *list == NULL || **list == '\0'
		     ? xstrdup(item)
		     : xasprintf("%s,%s", *list, item);
	free(*list);
	*list = joined;
}

int
fleet_list_from_json(
    const json_t *a, const char *what, char **out, struct cf_error *err)
{
	const json_t *v;
	const char *s;
	size_t i;

	*out = NULL;
	if (!json_is_array(a))
		return cf_errorf(
		    err, CF_E_PARSE, "%s: not an array of strings", what);
	json_array_foreach(a, i, v) {
		s = json_string_value(v);
		if (s == NULL || s[0] == '\0' || strchr(s, ',') != NULL) {
			free(*out);
			*out = NULL;
			return cf_errorf(err, CF_E_PARSE,
			    "%s[%zu]: not a name (a string without commas)",
			    what, i);
		}
		fleet_list_add(out, s);
	}
	if (*out == NULL)
		*out = xstrdup("");
	return 0;
}

json_t *
fleet_list_json(const char *list)
{
	json_t *a = json_array();
	const char *p;
	size_t len;

	for (p = list; p != NULL && *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, len));
	}
	return a;
}

static void
append(struct client_target **t, size_t *n, const char *name,
    const char *address, const char *fingerprint)
{
	struct client_target *e;

	*t = xrealloc(*t, (*n + 1) * sizeof(**t));
	e = &(*t)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->address = xstrdup(address);
	snprintf(e->fingerprint, sizeof(e->fingerprint), "%s", fingerprint);
}

/* Entry i of the file's "servers", checked, into f. */
static int
load_entry(struct fleet *f, size_t i, json_t *o, struct cf_error *err)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *addr = json_string_value(json_object_get(o, "address"));
	const char *fp = json_string_value(json_object_get(o, "fingerprint"));
	char pin[CF_FP_LEN + 1];
	struct cf_error why;

	if (name == NULL || addr == NULL || fp == NULL)
		return cf_errorf(err, CF_E_PARSE,
		    "%s: servers[%zu]: needs name, address and fingerprint "
		    "strings",
		    f->path, i);
	if (fleet_name_check(name, &why) == -1 ||
	    address_check(addr, &why) == -1 ||
	    cf_fingerprint_parse(fp, pin, &why) == -1)
		return cf_errorf(err, CF_E_PARSE, "%s: servers[%zu]: %s",
		    f->path, i, why.msg);
	if (fleet_find(f, name) != NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: %s is named twice", f->path, name);
	append(&f->e, &f->n, name, addr, pin);
	return 0;
}

/* The groups and namespaces of root, which may have none. */
static int
load_rest(struct fleet *f, json_t *root, struct cf_error *err)
{
	json_t *groups = json_object_get(root, "groups");
	json_t *spaces = json_object_get(root, "namespaces");
	json_t *o;
	size_t i;

	if ((groups != NULL && !json_is_array(groups)) ||
	    (spaces != NULL && !json_is_array(spaces)))
		return cf_errorf(err, CF_E_PARSE,
		    "%s: \"groups\" and \"namespaces\" are arrays", f->path);
	json_array_foreach(groups, i, o) {
		if (fleet_group_load(f, i, o, err) == -1)
			return -1;
	}
	json_array_foreach(spaces, i, o) {
		if (fleet_ns_load(f, i, o, err) == -1)
			return -1;
	}
	return fleet_registry_load(f, root, err);
}

struct fleet *
fleet_load(const char *path, struct cf_error *err)
{
	struct fleet *f = fleet_load_file(path, err);

	if (f != NULL && f->reg.etcd && fleet_registry_pull(f, err) == -1) {
		fleet_free(f);
		f = NULL;
	}
	return f;
}

void
fleet_adopt(struct fleet *f, struct fleet *nf)
{
	struct fleet old = *f;

	f->e = nf->e;
	f->n = nf->n;
	f->g = nf->g;
	f->ng = nf->ng;
	f->ns = nf->ns;
	f->nns = nf->nns;
	nf->e = old.e;
	nf->n = old.n;
	nf->g = old.g;
	nf->ng = old.ng;
	nf->ns = old.ns;
	nf->nns = old.nns;
	fleet_free(nf);
}

struct fleet *
fleet_load_file(const char *path, struct cf_error *err)
{
	struct fleet *f = xcalloc(1, sizeof(*f));
	struct cf_buf b = {0};
	json_error_t je;
	json_t *root = NULL, *servers, *o;
	size_t i;

	f->path = xstrdup(path);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return f;
	if (cf_read_file(path, MAX_FLEET_FILE, &b, err) == -1)
		goto fail;
	if ((root = json_loadb((const char *)b.data, b.len, 0, &je)) == NULL) {
		cf_errorf(
		    err, CF_E_PARSE, "%s: line %d: %s", path, je.line, je.text);
		goto fail;
	}
	servers = json_object_get(root, "servers");
	if (!json_is_array(servers)) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: not a fleet file (no \"servers\" array)", path);
		goto fail;
	}
	json_array_foreach(servers, i, o) {
		if (load_entry(f, i, o, err) == -1)
			goto fail;
	}
	if (load_rest(f, root, err) == -1)
		goto fail;
	json_decref(root);
	cf_buf_clear(&b);
	return f;
fail:
	json_decref(root);
	cf_buf_clear(&b);
	fleet_free(f);
	return NULL;
}

void
fleet_free(struct fleet *f)
{
	size_t i;

	if (f == NULL)
		return;
	client_targets_free(f->e, f->n);
	for (i = 0; i < f->ng; i++) {
		free(f->g[i].name);
		free(f->g[i].members);
	}
	free(f->g);
	for (i = 0; i < f->nns; i++)
		fleet_ns_clear(&f->ns[i]);
	free(f->ns);
	fleet_registry_clear(&f->reg);
	fleet_registry_sync_free(f->sync);
	free(f->path);
	free(f);
}

int
fleet_save(struct fleet *f, struct cf_error *err)
{
	json_t *servers, *groups, *spaces, *root, *reg;
	char *text;
	size_t i;
	int rc;

	if (f->sync != NULL && fleet_registry_push(f, err) == -1)
		return -1;
	servers = json_array();
	groups = json_array();
	spaces = json_array();
	reg = fleet_registry_json(f);
	for (i = 0; i < f->n; i++)
		json_array_append_new(
		    servers, json_pack("{s:s, s:s, s:s}", "name", f->e[i].name,
				 "address", f->e[i].address, "fingerprint",
				 f->e[i].fingerprint));
	for (i = 0; i < f->ng; i++)
		json_array_append_new(
		    groups, json_pack("{s:s, s:o}", "name", f->g[i].name,
				"members", fleet_list_json(f->g[i].members)));
	for (i = 0; i < f->nns; i++)
		json_array_append_new(spaces, fleet_ns_file_json(&f->ns[i]));
	/* Still version 1: what the first format holds is unchanged, and
	 * an older certfleet reads the servers and ignores the rest. */
	root = json_pack("{s:i, s:o, s:o, s:o}", "version", 1, "servers",
	    servers, "groups", groups, "namespaces", spaces);
	if (reg != NULL)
		json_object_set_new(root, "registry", reg);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL)
		abort();
	text = xrealloc(text, strlen(text) + 2);
	strcat(text, "\n");
	rc = cf_write_file_atomic(f->path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

size_t
fleet_count(const struct fleet *f)
{
	return f->n;
}

const struct client_target *
fleet_get(const struct fleet *f, size_t i)
{
	return i < f->n ? &f->e[i] : NULL;
}

const struct client_target *
fleet_find(const struct fleet *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->e[i].name, name) == 0)
			return &f->e[i];
	return NULL;
}

int
fleet_check(const struct fleet *f, const char *name, const char *address,
    struct cf_error *err)
{
	if (fleet_name_check(name, err) == -1 ||
	    address_check(address, err) == -1)
		return -1;
	if (fleet_find(f, name) != NULL)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: in the fleet already, at %s (fleet remove %s first)",
		    name, fleet_find(f, name)->address, name);
	if (fleet_group_find(f, name) != NULL)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: the name of a group (`certfleet fleet group list`); "
		    "give the server a name of its own",
		    name);
	return 0;
}

int
fleet_add(struct fleet *f, const char *name, const char *address,
    const char *fingerprint, struct cf_error *err)
{
	size_t i;

	if (fleet_check(f, name, address, err) == -1)
		return -1;
	/* Two names for one agent would make `--server all` reach it
	 * twice and copy or test it as two servers. */
	for (i = 0; i < f->n; i++)
		if (cf_strieq(f->e[i].address, address) &&
		    strcmp(f->e[i].fingerprint, fingerprint) == 0)
			return cf_errorf(err, CF_E_CONFLICT,
			    "%s: %s with fingerprint %s is in the fleet "
			    "already, as %s (use that name, or fleet remove "
			    "%s first)",
			    name, address, fingerprint, f->e[i].name,
			    f->e[i].name);
	append(&f->e, &f->n, name, address, fingerprint);
	return 0;
}

/*
 * Refuses to forget server name while a group or namespace names it:
 * the message names each and the command that drops it there.  A
 * namespace that reaches it only through a group is the group's.
 */
static int
dependents_check(const struct fleet *f, const char *name, struct cf_error *err)
{
	char *groups = NULL, *spaces = fleet_ns_naming(f, name);
	size_t i;
	int rc = 0;

	for (i = 0; i < f->ng; i++)
		if (fleet_list_has(f->g[i].members, name))
			fleet_list_add(&groups, f->g[i].name);
	if (groups != NULL || spaces != NULL)
		rc = cf_errorf(err, CF_E_CONFLICT,
		    "%s: still named by%s%s%s%s%s; take it out first%s%s%s%s",
		    name, groups ? " group " : "", groups ? groups : "",
		    groups && spaces ? " and" : "", spaces ? " namespace " : "",
		    spaces ? spaces : "",
		    groups ? " (`certfleet fleet group remove GROUP " : "",
		    groups ? name : "", groups ? "`)" : "",
		    spaces ? " (`certfleet namespace set NS --servers ...`)"
			   : "");
	free(groups);
	free(spaces);
	return rc;
}

int
fleet_remove(struct fleet *f, const char *name, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->e[i].name, name) == 0)
			break;
	if (i == f->n)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: not in the fleet (%s)", name, f->path);
	if (dependents_check(f, name, err) == -1)
		return -1;
	free(f->e[i].name);
	free(f->e[i].address);
	memmove(&f->e[i], &f->e[i + 1], (f->n - i - 1) * sizeof(f->e[0]));
	f->n--;
	return 0;
}

/* The pin of an address given to --server: --fingerprint, else the
 * fleet's entry at that address. */
static int
address_pin(const struct fleet *f, const char *address, const char *fingerprint,
    char pin[CF_FP_LEN + 1], struct cf_error *err)
{
	size_t i;

	if (fingerprint != NULL)
		return cf_fingerprint_parse(fingerprint, pin, err);
	for (i = 0; i < f->n; i++)
		if (strcmp(f->e[i].address, address) == 0) {
			memcpy(pin, f->e[i].fingerprint, CF_FP_LEN + 1);
			return 0;
		}
	return cf_errorf(err, CF_E_USAGE,
	    "%s: not in the fleet, so its identity is not known: give "
	    "--fingerprint SHA256:... (`certfleetd fingerprint` on that server "
	    "prints it), or `certfleet fleet add NAME %s`",
	    address, address);
}

static int
has_target(const struct client_target *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return 1;
	return 0;
}

/* Appends the members of group name to t, each once. */
static int
add_group(const struct fleet *f, const char *name, struct client_target **t,
    size_t *n, struct cf_error *err)
{
	const struct fleet_group *g = fleet_group_find(f, name);
	const struct client_target *e;
	const char *p;
	char one[MAX_NAME + 1];
	size_t len;

	if (g == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "--server @%s: no such group in %s (`certfleet fleet group "
		    "list` shows them; `certfleet fleet group add %s S1,S2` "
		    "makes it)",
		    name, f->path, name);
	for (p = g->members; *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		if ((e = fleet_find(f, one)) != NULL &&
		    !has_target(*t, *n, e->name))
			append(t, n, e->name, e->address, e->fingerprint);
	}
	return 0;
}

int
fleet_resolve(const struct fleet *f, const char *list, const char *fingerprint,
    struct client_target **t, size_t *n, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL;
	char pin[CF_FP_LEN + 1];
	const struct client_target *e;
	size_t i, adhoc = 0;

	*t = NULL;
	*n = 0;
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	     item = strtok_r(NULL, ", ", &save)) {
		if (strcmp(item, "all") == 0) {
			if (f->n == 0) {
				cf_errorf(err, CF_E_USAGE,
				    "--server all: the fleet is empty (%s); "
				    "add agents with `certfleet fleet add`",
				    f->path);
				goto fail;
			}
			for (i = 0; i < f->n; i++)
				if (!has_target(*t, *n, f->e[i].name))
					append(t, n, f->e[i].name,
					    f->e[i].address,
					    f->e[i].fingerprint);
		} else if (item[0] == '@') {
			if (add_group(f, item + 1, t, n, err) == -1)
				goto fail;
		} else if ((e = fleet_find(f, item)) != NULL) {
			if (!has_target(*t, *n, e->name))
				append(
				    t, n, e->name, e->address, e->fingerprint);
		} else if (strchr(item, ':') != NULL) {
			if (address_check(item, err) == -1 ||
			    address_pin(f, item, fingerprint, pin, err) == -1)
				goto fail;
			adhoc++;
			if (!has_target(*t, *n, item))
				append(t, n, item, item, pin);
		} else if (fleet_group_find(f, item) != NULL) {
			cf_errorf(err, CF_E_USAGE,
			    "--server %s: a group: write @%s for its servers",
			    item, item);
			goto fail;
		} else {
			cf_errorf(err, CF_E_USAGE,
			    "--server %s: not in the fleet (%s); `certfleet "
			    "fleet list` shows the names",
			    item, f->path);
			goto fail;
		}
	}
	if (*n == 0) {
		cf_errorf(err, CF_E_USAGE, "--server names no agent");
		goto fail;
	}
	if (fingerprint != NULL && adhoc != 1) {
		cf_errorf(err, CF_E_USAGE,
		    "--fingerprint pins one agent given to --server as "
		    "HOST:PORT");
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	client_targets_free(*t, *n);
	*t = NULL;
	*n = 0;
	return -1;
}
