/* view.c - certificate fields for tables and JSON: see view.h. */
#include <stdlib.h>
#include <string.h>

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
	case CF_F_COUNT:
		break;
	}
	return xstrdup("");
}

/* The length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 are replaced, never dropped. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	unsigned char *copy, *p;
	size_t n;

	if (j != NULL)
		return j;
	copy = (unsigned char *)xstrdup(s);
	for (p = copy; *p != '\0'; p += n)
		if ((n = utf8_len(p)) == 0) {
			*p = '?';
			n = 1;
		}
	j = json_string((char *)copy);
	if (j == NULL) /* overlong or surrogate forms jansson still refuses */
		j = json_string("?");
	free(copy);
	return j;
}

json_t *
cf_list_json(const char *list)
{
	json_t *a = json_array();
	const char *p = list, *comma;

	while (p != NULL && *p != '\0') {
		char *item;
		comma = strchr(p, ',');
		item = comma ? strndup(p, (size_t)(comma - p)) : xstrdup(p);
		json_array_append_new(a, jstr(item));
		free(item);
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

json_t *
cf_view_json(const struct cf_view *v)
{
	json_t *o = json_object();
	char nb[21] = "", na[21] = "";

	if (v->not_before != 0) /* a pending request has no dates */
		cf_time_iso(v->not_before, nb);
	if (v->not_after != 0)
		cf_time_iso(v->not_after, na);
	json_object_set_new_nocheck(o, "Subject", jstr(v->subject));
	json_object_set_new_nocheck(o, "Issuer", jstr(v->issuer));
	json_object_set_new_nocheck(o, "Thumbprint", json_string_nocheck(v->thumbprint));
	json_object_set_new_nocheck(o, "FriendlyName",
	    jstr(v->friendly_name));
	json_object_set_new_nocheck(o, "Status", json_string_nocheck(v->status));
	json_object_set_new_nocheck(o, "Services", cf_list_json(v->services));
	json_object_set_new_nocheck(o, "PrivateKeyExportable",
	    json_boolean(v->exportable));
	json_object_set_new_nocheck(o, "HasPrivateKey", json_boolean(v->has_key));
	json_object_set_new_nocheck(o, "NotBefore", json_string_nocheck(nb));
	json_object_set_new_nocheck(o, "NotAfter", json_string_nocheck(na));
	json_object_set_new_nocheck(o, "CertificateDomains", cf_list_json(v->domains));
	json_object_set_new_nocheck(o, "IsSelfSigned", json_boolean(v->self_signed));
	json_object_set_new_nocheck(o, "KeyType", jstr(v->key_type));
	json_object_set_new_nocheck(o, "SerialNumber", jstr(v->serial));
	json_object_set_new_nocheck(o, "Chain", cf_list_json(v->chain));
	return o;
}
