/* fleet.c - the fleet file and --server: see fleet.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "fleet.h"
#include "util.h"

#define MAX_FLEET_FILE (1u * 1024 * 1024)
#define MAX_NAME 63

struct fleet {
	char *path;
	struct client_target *e;
	size_t n;
};

char *
fleet_path(int create, struct cf_error *err)
{
	if (cli.fleet != NULL)
		return xstrdup(cli.fleet);
	return client_home_file("fleet.json", create, err);
}

/* A name is what --server and the Server column show: short, plain. */
static int
name_check(const char *name, struct cf_error *err)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > MAX_NAME || !isalnum((unsigned char)name[0]))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: a name is 1 to %d letters, digits, '.', '-' or '_', "
		    "starting with a letter or digit",
		    name, MAX_NAME);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '-' && name[i] != '_')
			return cf_errorf(err, CF_E_USAGE,
			    "%s: a name is letters, digits, '.', '-' or '_'",
			    name);
	if (strcmp(name, "all") == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "all: reserved (--server all means every agent)");
	return 0;
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
	if (name_check(name, &why) == -1 || address_check(addr, &why) == -1 ||
	    cf_fingerprint_parse(fp, pin, &why) == -1)
		return cf_errorf(err, CF_E_PARSE, "%s: servers[%zu]: %s",
		    f->path, i, why.msg);
	if (fleet_find(f, name) != NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "%s: %s is named twice", f->path, name);
	append(&f->e, &f->n, name, addr, pin);
	return 0;
}

struct fleet *
fleet_load(const char *path, struct cf_error *err)
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
	if (f == NULL)
		return;
	client_targets_free(f->e, f->n);
	free(f->path);
	free(f);
}

int
fleet_save(const struct fleet *f, struct cf_error *err)
{
	json_t *servers = json_array(), *root;
	char *text;
	size_t i;
	int rc;

	for (i = 0; i < f->n; i++)
		json_array_append_new(
		    servers, json_pack("{s:s, s:s, s:s}", "name", f->e[i].name,
				 "address", f->e[i].address, "fingerprint",
				 f->e[i].fingerprint));
	root = json_pack("{s:i, s:o}", "version", 1, "servers", servers);
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
	if (name_check(name, err) == -1 || address_check(address, err) == -1)
		return -1;
	if (fleet_find(f, name) != NULL)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: in the fleet already, at %s (fleet remove %s first)",
		    name, fleet_find(f, name)->address, name);
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
