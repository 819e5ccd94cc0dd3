/*
 * view.h - the fields of a certificate as users name them (Subject,
 * Thumbprint, Status ...), for tables and JSON alike.
 */
#ifndef CF_VIEW_H
#define CF_VIEW_H

#include <jansson.h>

#include "ops.h"

enum cf_field {
	CF_F_SUBJECT,
	CF_F_ISSUER,
	CF_F_THUMBPRINT,
	CF_F_FRIENDLYNAME,
	CF_F_STATUS,
	CF_F_SERVICES,
	CF_F_EXPORTABLE,
	CF_F_HASKEY,
	CF_F_NOTBEFORE,
	CF_F_NOTAFTER,
	CF_F_DOMAINS,
	CF_F_SELFSIGNED,
	CF_F_KEYTYPE,
	CF_F_SERIAL,
	CF_F_CHAIN,
	CF_F_COUNT
};

/* The field's display name ("PrivateKeyExportable"). */
const char *cf_field_name(enum cf_field f);
/* The field named name, case-insensitively; -1 when none. */
int cf_field_lookup(const char *name);
/* The field's value as table text (new string). */
char *cf_view_text(const struct cf_view *v, enum cf_field f);
/* A comma-separated list (may be NULL) as a JSON array of strings, bytes
 * that are not UTF-8 replaced (new reference). */
json_t *cf_list_json(const char *list);
/* Every field as a JSON object (new reference). */
json_t *cf_view_json(const struct cf_view *v);

#endif
