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

/* s, or "" for NULL. */
static void
put_str(struct cf_text *t, const char *s)
{
	if (s != NULL)
		cf_text_putn(t, s, strlen(s));
}

/* A date as ISO 8601, cut to the day when brief; nothing for none (a
 * pending request has no dates). */
static void
put_date(struct cf_text *t, time_t when, int brief)
{
	char iso[21];

	if (when == 0)
		return;
	cf_time_iso(when, iso);
	cf_text_putn(t, iso, brief ? strcspn(iso, "T") : strlen(iso));
}

/* Each comma-separated thumbprint of list cut to 8 digits. */
static void
put_brief_list(struct cf_text *t, const char *list)
{
	const char *p = list;
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, ",");
		cf_text_putn(t, p, n < 8 ? n : 8);
		p += n;
		if (*p == ',')
			cf_text_putn(t, p++, 1);
	}
}

void
cf_view_put(
    struct cf_text *t, const struct cf_view *v, enum cf_field f, int brief)
{
	cf_view_put_at(t, v, f, brief, time(NULL));
}

void
cf_view_put_at(struct cf_text *t, const struct cf_view *v, enum cf_field f,
    int brief, time_t now)
{
	char days[24];

	switch (f) {
	case CF_F_SUBJECT:
		put_str(t, v->subject);
		break;
	case CF_F_ISSUER:
		put_str(t, v->issuer);
		break;
	case CF_F_THUMBPRINT: /* brief: the first 8 digits */
		cf_text_putn(t, v->thumbprint,
		    strnlen(v->thumbprint, brief ? 8 : sizeof(v->thumbprint)));
		break;
	case CF_F_FRIENDLYNAME:
		put_str(t, v->friendly_name);
		break;
	case CF_F_STATUS:
		put_str(t, v->status);
		break;
	case CF_F_SERVICES:
		put_str(
		    t, v->services && v->services[0] ? v->services : "None");
		break;
	case CF_F_EXPORTABLE:
		put_str(t, v->exportable ? "True" : "False");
		break;
	case CF_F_HASKEY:
		put_str(t, v->has_key ? "True" : "False");
		break;
	case CF_F_NOTBEFORE:
		put_date(t, v->not_before, brief);
		break;
	case CF_F_NOTAFTER:
		put_date(t, v->not_after, brief);
		break;
	case CF_F_DOMAINS:
		put_str(t, v->domains);
		break;
	case CF_F_SELFSIGNED:
		put_str(t, v->self_signed ? "True" : "False");
		break;
	case CF_F_KEYTYPE:
		put_str(t, v->key_type);
		break;
	case CF_F_SERIAL:
		put_str(t, v->serial);
		break;
	case CF_F_CHAIN:
		if (brief)
			put_brief_list(t, v->chain);
		else
			put_str(t, v->chain);
		break;
	case CF_F_DAYSLEFT:
		if (v->not_after == 0)
			break;
		cf_text_putn(t, days,
		    cf_number_text(cf_days_left(v->not_after, now), days));
		break;
	case CF_F_COUNT:
		break;
	}
}

/* The field as cf_view_put writes it (new string). */
static char *
field_new(const struct cf_view *v, enum cf_field f, int brief)
{
	struct cf_text t = {0};

	cf_view_put(&t, v, f, brief);
	return t.data != NULL ? t.data : xstrdup("");
}

char *
cf_view_text(const struct cf_view *v, enum cf_field f)
{
	return field_new(v, f, 0);
}

size_t
cf_number_text(long long n, char out[24])
{
	unsigned long long u =
	    n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	char rev[24];
	size_t len = 0, i = 0;

	do {
		rev[len++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (n < 0)
		out[i++] = '-';
	while (len > 0)
		out[i++] = rev[--len];
	out[i] = '\0';
	return i;
}

long long
cf_days_left(time_t t, time_t now)
{
	long long s = (long long)t - (long long)now;

	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

char *
cf_view_brief(const struct cf_view *v, enum cf_field f)
{
	return field_new(v, f, 1);
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

/* The n digits at s as a number, or -1 when one is not a digit. */
static long
number(const char *s, int n)
{
	long v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * iso in exactly the form the JSON writes ("2026-11-25T14:48:12Z") into
 * *t by days-from-civil arithmetic (linear in the day, as timegm is);
 * 0 for any other text, which strptime reads.  strptime and timegm cost
 * 1,500 instructions a date: a tenth of reading a remote listing.
 */
static int
json_time_fast(const char *iso, time_t *t)
{
	long y, m, d, hh, mm, ss, era, yoe, doy, doe;

	if (strlen(iso) != 20 || iso[4] != '-' || iso[7] != '-' ||
	    iso[10] != 'T' || iso[13] != ':' || iso[16] != ':' ||
	    iso[19] != 'Z' || (y = number(iso, 4)) < 0 ||
	    (m = number(iso + 5, 2)) < 1 || m > 12 ||
	    (d = number(iso + 8, 2)) < 1 || d > 31 ||
	    (hh = number(iso + 11, 2)) < 0 || hh > 23 ||
	    (mm = number(iso + 14, 2)) < 0 || mm > 59 ||
	    (ss = number(iso + 17, 2)) < 0 || ss > 59)
		return 0;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*t = (time_t)((long long)(era * 146097 + doe - 719468) * 86400 +
		      hh * 3600 + mm * 60 + ss);
	return 1;
}

time_t
cf_json_time(const char *iso)
{
	struct tm tm;
	const char *end;
	time_t t;

	if (json_time_fast(iso, &t))
		return t;
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
