/*
 * fleet_ns.c - the namespaces of the fleet file: a DNS name users
 * connect to, the servers behind it, the services that present it, the
 * balancer, and how a rollout moves it (waves, soak).  Everything is
 * checked when set and again when the file is loaded, so a namespace in
 * memory is always whole.  See fleet.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "fleet_int.h"
#include "issuer.h"
#include "renew.h"
#include "rollout_state.h"
#include "service.h"
#include "util.h"

#define MAX_SOAK_S (7L * 86400) /* a week: longer is a mistake */
#define MAX_WAVES 32

void
fleet_ns_clear(struct fleet_ns *ns)
{
	free(ns->name);
	free(ns->servers);
	free(ns->services);
	free(ns->via);
	free(ns->waves);
	free(ns->desired);
	json_decref(ns->rollout);
	json_decref(ns->issuer);
	json_decref(ns->renewal);
	memset(ns, 0, sizeof(*ns));
}

int
fleet_duration_parse(const char *text, long *s, struct cf_error *err)
{
	static const struct {
		const char *suffix;
		long seconds;
	} units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
	char *end;
	long v;
	size_t i;

	v = strtol(text, &end, 10);
	for (i = 0; end != text && isdigit((unsigned char)text[0]) &&
		    i < sizeof(units) / sizeof(units[0]);
	     i++)
		if (strcmp(end, units[i].suffix) == 0 &&
		    v <= MAX_SOAK_S / units[i].seconds) {
			*s = v * units[i].seconds;
			return 0;
		}
	return cf_errorf(err, CF_E_USAGE,
	    "--soak %s: give a duration up to 7d: seconds (30 or 30s), "
	    "minutes (5m), hours (2h) or days (1d)",
	    text);
}

/*
 * The waves of list in canonical form (new) into *out: each wave a count
 * of members (1 or more) or a share of them (1% to 100%), how many have
 * moved by its end, so they increase; counts come before shares (a count
 * after a share cannot be compared until the members are known), and
 * the last is 100% so that a rollout covers every member, however many
 * the namespace's groups come to hold.
 */
static int
waves_check(const char *list, char **out, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL, *end;
	long v, last_count = 0, last_share = 0;
	int share = 0, n = 0;

	*out = NULL;
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	     item = strtok_r(NULL, ", ", &save)) {
		v = isdigit((unsigned char)item[0]) ? strtol(item, &end, 10)
						    : -1;
		share = v >= 0 && strcmp(end, "%") == 0;
		if (v < 1 || (!share && *end != '\0') || (share && v > 100)) {
			cf_errorf(err, CF_E_USAGE,
			    "--waves %s: %s: a wave is a count of servers (1 "
			    "or more) or a share of them (1%% to 100%%)",
			    list, item);
			goto fail;
		}
		if ((share && v <= last_share) ||
		    (!share && (last_share > 0 || v <= last_count)) ||
		    ++n > MAX_WAVES) {
			cf_errorf(err, CF_E_USAGE,
			    "--waves %s: each wave says how many servers have "
			    "moved by its end, so they increase: counts first, "
			    "then shares (1,10,50%%,100%%), at most %d",
			    list, MAX_WAVES);
			goto fail;
		}
		if (share)
			last_share = v;
		else
			last_count = v;
		fleet_list_add(out, item);
	}
	if (last_share != 100) {
		cf_errorf(err, CF_E_USAGE,
		    "--waves %s: the last wave is 100%% (every server), as in "
		    "1,100%%",
		    list);
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	free(*out);
	*out = NULL;
	return -1;
}

/* The services of list, canonical ("https,smtp"): the four that exist
 * on every server, for a namespace spans servers. */
static int
services_check(const char *list, char **out, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL;
	char canon[CF_SERVICE_NAME_MAX];
	struct cf_error why;
	int rc = 0;

	*out = NULL;
	for (item = strtok_r(copy, ", ", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ", ", &save))
		if (cf_service_canon(NULL, item, canon, &why) == -1)
			rc = cf_errorf(err, CF_E_USAGE,
			    "--services %s: not a service every server has; "
			    "give https (or IIS), smtp, imap or pop",
			    item);
		else
			fleet_list_add(out, canon);
	free(copy);
	if (rc == 0 && *out == NULL)
		rc = cf_errorf(err, CF_E_USAGE,
		    "--services names no service; give https, smtp, imap or "
		    "pop");
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The servers of list ("ex1, @web"), each in the fleet, into *out. */
static int
servers_check(const struct fleet *f, const char *ns, const char *list,
    char **out, struct cf_error *err)
{
	char *copy = xstrdup(list), *item, *save = NULL;
	int rc = 0;

	*out = NULL;
	for (item = strtok_r(copy, ", ", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ", ", &save)) {
		if (strcmp(item, "all") == 0 || fleet_find(f, item) != NULL ||
		    (item[0] == '@' && fleet_group_find(f, item + 1) != NULL))
			fleet_list_add(out, item);
		else if (item[0] == '@')
			rc = cf_errorf(err, CF_E_USAGE,
			    "%s: --servers %s: no such group (`certfleet fleet "
			    "group add %s S1,S2` makes it)",
			    ns, item, item + 1);
		else if (fleet_group_find(f, item) != NULL)
			rc = cf_errorf(err, CF_E_USAGE,
			    "%s: --servers %s: a group: write @%s", ns, item,
			    item);
		else
			rc = cf_errorf(err, CF_E_USAGE,
			    "%s: --servers %s: not a server in the fleet "
			    "(`certfleet fleet add %s HOST:PORT` first)",
			    ns, item, strchr(item, ':') ? "NAME" : item);
	}
	free(copy);
	if (rc == 0 && *out == NULL)
		rc = cf_errorf(err, CF_E_USAGE,
		    "%s: no servers: a namespace needs --servers S1,S2 or "
		    "@GROUP",
		    ns);
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The DNS name users connect to, lower-cased, into *out: no list, no
 * wildcard (a namespace is one name a client asks for). */
static int
name_check(const char *name, char **out, struct cf_error *err)
{
	*out = NULL;
	if (name[0] == '\0' || strchr(name, ',') != NULL ||
	    strchr(name, '*') != NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: a namespace is one DNS name clients connect to, such "
		    "as mail.example.com",
		    name);
	return cf_names_check(name, out, err);
}

/*
 * in, checked against f, as a new canonical namespace in *out.  Every
 * field of in must be set but via and issuer (NULL: none).
 */
static int
ns_check(const struct fleet *f, const struct fleet_ns *in, struct fleet_ns *out,
    struct cf_error *err)
{
	char *host = NULL;
	int port;

	memset(out, 0, sizeof(*out));
	if (name_check(in->name, &out->name, err) == -1 ||
	    servers_check(f, out->name, in->servers, &out->servers, err) ==
		-1 ||
	    services_check(in->services, &out->services, err) == -1 ||
	    waves_check(in->waves, &out->waves, err) == -1)
		goto fail;
	if (in->via != NULL &&
	    client_address_parse(in->via, &host, &port, err) == -1)
		goto fail;
	free(host);
	if (in->soak_s < 0 || in->soak_s > MAX_SOAK_S) {
		cf_errorf(
		    err, CF_E_USAGE, "soak: 0 to %ld seconds", MAX_SOAK_S);
		goto fail;
	}
	if (in->issuer != NULL && cf_issuer_check(in->issuer, err) == -1)
		goto fail;
	out->via = in->via ? xstrdup(in->via) : NULL;
	out->soak_s = in->soak_s;
	out->issuer = in->issuer ? json_deep_copy(in->issuer) : NULL;
	return 0;
fail:
	fleet_ns_clear(out);
	return -1;
}

size_t
fleet_ns_count(const struct fleet *f)
{
	return f->nns;
}

const struct fleet_ns *
fleet_ns_get(const struct fleet *f, size_t i)
{
	return i < f->nns ? &f->ns[i] : NULL;
}

const struct fleet_ns *
fleet_ns_find(const struct fleet *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nns; i++)
		if (cf_strieq(f->ns[i].name, name))
			return &f->ns[i];
	return NULL;
}

int
fleet_ns_put(struct fleet *f, const struct fleet_ns *ns, int create,
    struct cf_error *err)
{
	struct fleet_ns *old = (struct fleet_ns *)fleet_ns_find(f, ns->name);
	struct fleet_ns next;

	if (create && old != NULL)
		return cf_errorf(err, CF_E_CONFLICT,
		    "%s: a namespace already (`certfleet namespace set %s` "
		    "changes it)",
		    ns->name, ns->name);
	if (!create && old == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (`certfleet namespace list` shows "
		    "them; `namespace add` makes one)",
		    ns->name);
	if (ns_check(f, ns, &next, err) == -1)
		return -1;
	if (old != NULL) {
		/* a change of the namespace keeps where it stands */
		next.desired = old->desired;
		next.rollout = old->rollout;
		next.renewal = old->renewal;
		old->desired = NULL;
		old->rollout = NULL;
		old->renewal = NULL;
		fleet_ns_clear(old);
		*old = next;
		return 0;
	}
	f->ns = xrealloc(f->ns, (f->nns + 1) * sizeof(*f->ns));
	f->ns[f->nns++] = next;
	return 0;
}

/* Whether ns has a rollout running or stopped half-way: then it may not
 * go (CF_E_CONFLICT in err saying to --resume or --abort it first). */
static int
ns_rollout_busy(const struct fleet_ns *ns, struct cf_error *err)
{
	struct cf_rstate st;
	struct cf_error e;
	int busy = 0;

	cf_error_clear(&e);
	if (ns->rollout == NULL || cf_rstate_parse(ns->rollout, &st, &e) == -1)
		return 0;
	if (cf_rstate_check_start(&st, ns->name, err) == -1)
		busy = 1;
	cf_rstate_clear(&st);
	return busy;
}

int
fleet_ns_remove(struct fleet *f, const char *name, struct cf_error *err)
{
	struct fleet_ns *ns = (struct fleet_ns *)fleet_ns_find(f, name);
	size_t i;

	if (ns == NULL)
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (`certfleet namespace list` shows "
		    "them)",
		    name);
	if (ns_rollout_busy(ns, err))
		return -1;
	i = (size_t)(ns - f->ns);
	fleet_ns_clear(ns);
	memmove(&f->ns[i], &f->ns[i + 1], (f->nns - i - 1) * sizeof(f->ns[0]));
	f->nns--;
	return 0;
}

char *
fleet_ns_naming(const struct fleet *f, const char *item)
{
	char *names = NULL;
	size_t i;

	for (i = 0; i < f->nns; i++)
		if (fleet_list_has(f->ns[i].servers, item))
			fleet_list_add(&names, f->ns[i].name);
	return names;
}

int
fleet_ns_set_state(struct fleet *f, const char *name, const char *desired,
    json_t *rollout, struct cf_error *err)
{
	struct fleet_ns *ns = (struct fleet_ns *)fleet_ns_find(f, name);

	if (ns == NULL) {
		json_decref(rollout);
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (removed meanwhile?)", name);
	}
	free(ns->desired);
	ns->desired = desired != NULL ? xstrdup(desired) : NULL;
	json_decref(ns->rollout);
	ns->rollout = rollout;
	return 0;
}

int
fleet_ns_set_renewal(
    struct fleet *f, const char *name, json_t *renewal, struct cf_error *err)
{
	struct fleet_ns *ns = (struct fleet_ns *)fleet_ns_find(f, name);
	struct cf_renew_state st;

	if (ns == NULL) {
		json_decref(renewal);
		return cf_errorf(err, CF_E_NOTFOUND,
		    "%s: no such namespace (removed meanwhile?)", name);
	}
	if (cf_renew_state_parse(renewal, &st, err) == -1) {
		json_decref(renewal);
		return -1;
	}
	json_decref(ns->renewal);
	ns->renewal = json_is_null(renewal) ? NULL : renewal;
	if (ns->renewal == NULL)
		json_decref(renewal);
	return 0;
}

json_t *
fleet_ns_file_json(const struct fleet_ns *ns)
{
	return json_pack("{s:s, s:o, s:o, s:s?, s:o, s:I, s:O*, s:s*, s:O*, "
			 "s:O*}",
	    "name", ns->name, "servers", fleet_list_json(ns->servers),
	    "services", fleet_list_json(ns->services), "via", ns->via, "waves",
	    fleet_list_json(ns->waves), "soak", (json_int_t)ns->soak_s,
	    "issuer", ns->issuer, "desired", ns->desired, "rollout",
	    ns->rollout, "renewal", ns->renewal);
}

/* The "desired", "rollout" and "renewal" of o into the namespace just
 * loaded, each checked; the message in why. */
static int
state_load(struct fleet *f, const char *name, json_t *o, struct cf_error *why)
{
	json_t *desired = json_object_get(o, "desired");
	json_t *rollout = json_object_get(o, "rollout");
	struct cf_rstate st;

	if (desired != NULL && !json_is_null(desired) &&
	    (!json_is_string(desired) ||
		strlen(json_string_value(desired)) != CF_THUMB_LEN ||
		strspn(json_string_value(desired), "0123456789ABCDEF") !=
		    CF_THUMB_LEN))
		return cf_errorf(why, CF_E_PARSE,
		    "desired: not a thumbprint (40 upper-case hex digits)");
	if (rollout != NULL && !json_is_null(rollout)) {
		if (cf_rstate_parse(rollout, &st, why) == -1)
			return -1;
		cf_rstate_clear(&st);
	} else
		rollout = NULL;
	if (fleet_ns_set_state(f, name, json_string_value(desired),
		json_incref(rollout), why) == -1)
		return -1;
	return fleet_ns_set_renewal(
	    f, name, json_incref(json_object_get(o, "renewal")), why);
}

/* Entry i of the file's "namespaces": the same checks as when it was
 * set; services, waves and soak may be missing (their defaults). */
int
fleet_ns_load(struct fleet *f, size_t i, json_t *o, struct cf_error *err)
{
	struct fleet_ns in = {0};
	json_t *soak = json_object_get(o, "soak");
	struct cf_error why;
	int rc = -1;

	cf_error_clear(&why);
	in.name = xstrdup(json_string_value(json_object_get(o, "name"))
			      ? json_string_value(json_object_get(o, "name"))
			      : "");
	if (fleet_list_from_json(json_object_get(o, "servers"), "servers",
		&in.servers, &why) == -1)
		goto out;
	if (json_object_get(o, "services") == NULL)
		in.services = xstrdup(FLEET_NS_SERVICES);
	else if (fleet_list_from_json(json_object_get(o, "services"),
		     "services", &in.services, &why) == -1)
		goto out;
	if (json_object_get(o, "waves") == NULL)
		in.waves = xstrdup(FLEET_NS_WAVES);
	else if (fleet_list_from_json(json_object_get(o, "waves"), "waves",
		     &in.waves, &why) == -1)
		goto out;
	if (json_string_value(json_object_get(o, "via")) != NULL)
		in.via = xstrdup(json_string_value(json_object_get(o, "via")));
	in.soak_s = soak == NULL            ? FLEET_NS_SOAK
		    : json_is_integer(soak) ? (long)json_integer_value(soak)
					    : -1;
	if (!json_is_null(json_object_get(o, "issuer")))
		in.issuer = json_incref(json_object_get(o, "issuer"));
	if (fleet_ns_find(f, in.name) != NULL)
		cf_errorf(&why, CF_E_PARSE, "%s is named twice", in.name);
	else if ((rc = fleet_ns_put(f, &in, 1, &why)) == 0)
		rc = state_load(f, in.name, o, &why);
out:
	if (rc == -1)
		cf_errorf(err, CF_E_PARSE, "%s: namespaces[%zu]: %s", f->path,
		    i, why.msg);
	fleet_ns_clear(&in);
	return rc;
}
