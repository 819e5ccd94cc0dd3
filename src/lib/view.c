/*
 * view.c - certificate fields for tables and JSON (the API's certificate
 * is cf_view_json; msg_reply.c decodes it by the same field names), and
 * the JSON text helpers every message uses: see view.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"
#include "view.h"

static const char *const names[CF_F_COUNT] = {
    [CF_F_SUBJECT] = "Subject",
    [CF_F_ISSUER] = "Issuer",
    [CF_F_THUMBPRINT] = "Thumbprint",
    [CF_F_FRIENDLYNAME] = "FriendlyName",
    [CF_F_STATUS] = "Status",
    [CF_F_SERVICES] = "Services",
    [CF_F_EXPORTABLE] = "PrivateKeyExportable",
    [CF_F_HASKEY] = "HasPrivateKey",
    [CF_F_NOTBEFORE] = "NotBefore",
    [CF_F_NOTAFTER] = "NotAfter",
    [CF_F_DOMAINS] = "CertificateDomains",
    [CF_F_SELFSIGNED] = "IsSelfSigned",
    [CF_F_KEYTYPE] = "KeyType",
    [CF_F_SERIAL] = "SerialNumber",
    [CF_F_CHAIN] = "Chain",
    [CF_F_DAYSLEFT] = "DaysLeft",
};

const char *
cf_field_name(enum cf_field f)
{
	return f < CF_F_COUNT ? names[f] : "";
}

int
cf_field_lookup(const char *name)
{
	int f;

	for (f = 0; f < CF_F_COUNT; f++)
		if (cf_strieq(name, names[f]))
			return f;
	return -1;
}

static char *
iso_new(time_t t)
{
	char buf[21] = "";

	if (t != 0) /* a pending request has no dates */
		cf_time_iso(t, buf);
	return xstrdup(buf);
}

char *
cf_view_text(const struct cf_view *v, enum cf_field f)
{
	char days[24];

	switch (f) {
	case CF_F_SUBJECT:
		return xstrdup(v->subject);
	case CF_F_ISSUER:
		return xstrdup(v->issuer);
	case CF_F_THUMBPRINT:
		return xstrdup(v->thumbprint);
	case CF_F_FRIENDLYNAME:
		return xstrdup(v->friendly_name);
	case CF_F_STATUS:
		return xstrdup(v->status);
	case CF_F_SERVICES:
		return xstrdup(v->services[0] ? v->services : "None");
	case CF_F_EXPORTABLE:
		return xstrdup(v->exportable ? "True" : "False");
	case CF_F_HASKEY:
		return xstrdup(v->has_key ? "True" : "False");
	case CF_F_NOTBEFORE:
		return iso_new(v->not_before);
	case CF_F_NOTAFTER:
		return iso_new(v->not_after);
	case CF_F_DOMAINS:
		return xstrdup(v->domains);
	case CF_F_SELFSIGNED:
		return xstrdup(v->self_signed ? "True" : "False");
	case CF_F_KEYTYPE:
		return xstrdup(v->key_type);
	case CF_F_SERIAL:
		return xstrdup(v->serial);
	case CF_F_CHAIN:
		return xstrdup(v->chain);
	case CF_F_DAYSLEFT:
		if (v->not_after == 0)
			return xstrdup("");
		snprintf(days, sizeof(days), "%lld",
		    cf_days_left(v->not_after, time(NULL)));
		return xstrdup(days);
	case CF_F_COUNT:
		break;
	}
	return xstrdup("");
}

long long
cf_days_left(time_t t, time_t now)
{
	long long s = (long long)t - (long long)now;

	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

/* Each comma-separated thumbprint of list cut to 8 digits (new). */
static char *
brief_list(const char *list)
{
	char *out = xcalloc(strlen(list) + 1, 1), *o = out;
	const char *p = list;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		memcpy(o, p, n < 8 ? n : 8);
		o += n < 8 ? n : 8;
		p += n;
		if (*p == ',')
			*o++ = *p++;
	}
	return out;
}

char *
cf_view_brief(const struct cf_view *v, enum cf_field f)
{
	char *t, eight[9];

	switch (f) {
	case CF_F_THUMBPRINT: /* the first 8 digits; no printf a row */
		memcpy(eight, v->thumbprint, 8);
		eight[strnlen(v->thumbprint, 8)] = '\0';
		return xstrdup(eight);
	case CF_F_CHAIN:
		return brief_list(v->chain);
	case CF_F_NOTBEFORE:
	case CF_F_NOTAFTER:
		t = cf_view_text(v, f);
		t[strcspn(t, "T")] = '\0'; /* the day: 2027-11-25 */
		return t;
	default:
		return cf_view_text(v, f);
	}
}

/*
 * Every piece of outside text that goes into JSON (a path, a query, a
 * name from a certificate, an error message quoting any of them) goes
 * through here: jansson refuses invalid UTF-8, and a refused string
 * would drop a field, a row or the whole reply.
 */
json_t *
cf_json_string(const char *s)
{
	json_t *j;
	char *clean;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	clean = cf_utf8_escape(s);
	j = json_string(clean);
	free(clean);
	if (j == NULL) /* cf_utf8_escape's output is UTF-8: allocation */
		abort();
	return j;
}

json_t *
cf_json_list(const char *list)
{
	json_t *a = json_array();
	const char *p = list, *comma;

	while (p != NULL && *p != '\0') {
		char *item;
		comma = strchr(p, ',');
		item = comma ? strndup(p, (size_t)(comma - p)) : xstrdup(p);
		json_array_append_new(a, cf_json_string(item));
		free(item);
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

char *
cf_json_joined(const json_t *v)
{
	size_t i, len = 1;
	json_t *item;
	char *out;

	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	json_array_foreach(v, i, item) {
		len += json_string_length(item) + 1;
	}
	out = xcalloc(1, len);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			continue;
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, json_string_value(item));
	}
	return out;
}

void
cf_json_wipe(json_t *s)
{
	if (json_is_string(s))
		OPENSSL_cleanse(
		    (char *)json_string_value(s), json_string_length(s));
}

time_t
cf_json_time(const char *iso)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end != NULL && *end == '\0' ? timegm(&tm) : 0;
}

/* A date as ISO 8601, or null when there is none. */
static json_t *
date_json(time_t t)
{
	char iso[21];

	if (t == 0)
		return json_null();
	cf_time_iso(t, iso);
	return json_string(iso);
}

json_t *
cf_view_field_json(const struct cf_view *v, enum cf_field f)
{
	char *text;
	json_t *j;

	switch (f) {
	case CF_F_SERVICES:
		return cf_json_list(v->services);
	case CF_F_DOMAINS:
		return cf_json_list(v->domains);
	case CF_F_CHAIN:
		return cf_json_list(v->chain);
	case CF_F_EXPORTABLE:
		return json_boolean(v->exportable);
	case CF_F_HASKEY:
		return json_boolean(v->has_key);
	case CF_F_SELFSIGNED:
		return json_boolean(v->self_signed);
	case CF_F_NOTBEFORE:
		return date_json(v->not_before);
	case CF_F_NOTAFTER:
		return date_json(v->not_after);
	case CF_F_DAYSLEFT:
		if (v->not_after == 0)
			return json_null();
		return json_integer(
		    (json_int_t)cf_days_left(v->not_after, time(NULL)));
	default:
		break;
	}
	text = cf_view_text(v, f);
	j = cf_json_string(text);
	free(text);
	return j;
}

json_t *
cf_view_json(const struct cf_view *v)
{
	json_t *o = json_object();
	int f;

	for (f = 0; f < CF_F_COUNT; f++)
		json_object_set_new_nocheck(
		    o, names[f], cf_view_field_json(v, (enum cf_field)f));
	return o;
}
