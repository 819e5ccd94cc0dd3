/*
 * fleet_registry.c - the fleet file's "registry" object: whether the
 * fleet's shared truth lives in the file (the default) or in etcd, and
 * how to reach etcd.  Checked when set and again when loaded, so that
 * `registry export` and `import` never start on half a setting.  No
 * secret is held here: the password stays in its file.  See fleet.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"
#include "schema.h"
#include "util.h"

void
fleet_registry_clear(struct fleet_registry *r)
{
	free(r->endpoints);
	free(r->ca);
	free(r->cert);
	free(r->key);
	free(r->user);
	free(r->password_file);
	free(r->prefix);
	memset(r, 0, sizeof(*r));
}

const struct fleet_registry *
fleet_registry_get(const struct fleet *f)
{
	return &f->reg;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The endpoints of list: 1 to 8 https:// URLs (the gateway is spoken
 * over mutual TLS only; a plain http:// endpoint would send the token
 * in clear). */
static int
endpoints_check(const char *list, struct cf_error *err)
{
	const char *p;
	size_t len, n = 0;

	for (p = list; *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		if (len <= 8 || strncmp(p, "https://", 8) != 0)
			return cf_errorf(err, CF_E_USAGE,
			    "--endpoints %s: each endpoint is "
			    "https://HOST:PORT "
			    "(etcd's client URL, with TLS)",
			    list);
		n++;
	}
	if (n == 0 || n > FLEET_ETCD_MAX_ENDPOINTS)
		return cf_errorf(err, CF_E_USAGE,
		    "--endpoints: give 1 to %d etcd client URLs, "
		    "comma-separated",
		    FLEET_ETCD_MAX_ENDPOINTS);
	return 0;
}

/* Whether r is whole: see fleet_registry_set. */
static int
registry_check(const struct fleet_registry *r, struct cf_error *err)
{
	if (r->endpoints != NULL && endpoints_check(r->endpoints, err) == -1)
		return -1;
	if (r->etcd && (r->endpoints == NULL || r->ca == NULL ||
			   r->cert == NULL || r->key == NULL))
		return cf_errorf(err, CF_E_USAGE,
		    "etcd needs --endpoints, --ca, --cert and --key");
	if ((r->user != NULL) != (r->password_file != NULL))
		return cf_errorf(
		    err, CF_E_USAGE, "--user and --password-file go together");
	if (r->prefix != NULL && schema_prefix_check(r->prefix, err) == -1)
		return -1;
	return 0;
}

int
fleet_registry_set(
    struct fleet *f, const struct fleet_registry *r, struct cf_error *err)
{
	struct fleet_registry copy;

	if (registry_check(r, err) == -1)
		return -1;
	copy.etcd = r->etcd;
	copy.endpoints = dup_or_null(r->endpoints);
	copy.ca = dup_or_null(r->ca);
	copy.cert = dup_or_null(r->cert);
	copy.key = dup_or_null(r->key);
	copy.user = dup_or_null(r->user);
	copy.password_file = dup_or_null(r->password_file);
	copy.prefix = dup_or_null(r->prefix);
	fleet_registry_clear(&f->reg);
	f->reg = copy;
	return 0;
}

struct fleet *
fleet_new_like(const struct fleet *f)
{
	struct fleet *n = xcalloc(1, sizeof(*n));
	struct cf_error err;

	n->path = xstrdup(f->path);
	if (fleet_registry_set(n, &f->reg, &err) == -1)
		abort(); /* f's settings were checked when they came in */
	return n;
}

/* The string member name of o, or NULL; -1 when it is there and not a
 * string. */
static int
opt_string(const json_t *o, const char *name, char **out)
{
	const json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_value(v)[0] == '\0')
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

int
fleet_registry_load(struct fleet *f, json_t *root, struct cf_error *err)
{
	const json_t *o = json_object_get(root, "registry"), *v;
	const char *type;
	struct fleet_registry r = {0};
	struct cf_error why;
	size_t i;
	int rc = -1;

	cf_error_clear(&why);
	if (o == NULL)
		return 0;
	type = json_string_value(json_object_get(o, "type"));
	if (!json_is_object(o) || (type != NULL && strcmp(type, "file") != 0 &&
				      strcmp(type, "etcd") != 0)) {
		cf_errorf(&why, CF_E_PARSE,
		    "an object whose \"type\" is \"file\" or \"etcd\"");
		goto out;
	}
	r.etcd = type != NULL && strcmp(type, "etcd") == 0;
	if (opt_string(o, "ca", &r.ca) == -1 ||
	    opt_string(o, "cert", &r.cert) == -1 ||
	    opt_string(o, "key", &r.key) == -1 ||
	    opt_string(o, "user", &r.user) == -1 ||
	    opt_string(o, "password_file", &r.password_file) == -1 ||
	    opt_string(o, "prefix", &r.prefix) == -1) {
		cf_errorf(&why, CF_E_PARSE,
		    "ca, cert, key, user, password_file and prefix are "
		    "strings");
		goto out;
	}
	json_array_foreach(json_object_get(o, "endpoints"), i, v) {
		if (!json_is_string(v) ||
		    strchr(json_string_value(v), ',') != NULL) {
			cf_errorf(
			    &why, CF_E_PARSE, "endpoints[%zu]: not a URL", i);
			goto out;
		}
		fleet_list_add(&r.endpoints, json_string_value(v));
	}
	rc = fleet_registry_set(f, &r, &why);
out:
	if (rc == -1)
		cf_errorf(
		    err, CF_E_PARSE, "%s: registry: %s", f->path, why.msg);
	fleet_registry_clear(&r);
	return rc;
}

json_t *
fleet_registry_json(const struct fleet *f)
{
	const struct fleet_registry *r = &f->reg;

	if (!r->etcd && r->endpoints == NULL && r->prefix == NULL)
		return NULL;
	return json_pack("{s:s, s:o, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}",
	    "type", r->etcd ? "etcd" : "file", "endpoints",
	    fleet_list_json(r->endpoints), "ca", r->ca, "cert", r->cert, "key",
	    r->key, "user", r->user, "password_file", r->password_file,
	    "prefix", r->prefix);
}
