/*
 * view.h - the fields of a certificate as users name them (Subject,
 * Thumbprint, Status ...), for tables and JSON alike: the JSON of the
 * API's get and of `certfleet get --json` (docs/json.md).
 */
#ifndef CF_VIEW_H
#define CF_VIEW_H

#include <time.h>

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
	CF_F_DAYSLEFT,
	CF_F_COUNT
};

/* The field's display name ("PrivateKeyExportable"). */
const char *cf_field_name(enum cf_field f);
/* The field named name, case-insensitively; -1 when none. */
int cf_field_lookup(const char *name);
/* A text that grows: data (NUL-terminated) holds len bytes of cap. */
struct cf_text {
	char *data;
	size_t len, cap;
};
void cf_text_clear(struct cf_text *t); /* frees data; NULL-safe data */
void cf_text_put(struct cf_text *t, const char *s); /* appends s */
/* Appends n bytes of s to t (which may hold NULs: cells one after
 * another). */
void cf_text_putn(struct cf_text *t, const char *s, size_t n);

/* The field's value as table text, whole (new string). */
char *cf_view_text(const struct cf_view *v, enum cf_field f);
/*
 * The field's value as a person's table shows it by default (new
 * string): thumbprints (also in Chain) cut to their first 8 digits,
 * dates to the day; other fields as cf_view_text.
 */
char *cf_view_brief(const struct cf_view *v, enum cf_field f);
/*
 * The field's value in JSON (new reference): strings, booleans, arrays
 * of strings for lists, dates as ISO 8601 or null when there is none (a
 * pending request), DaysLeft an integer (null without dates).
 */
json_t *cf_view_field_json(const struct cf_view *v, enum cf_field f);
/* Appends the field's value to t as cf_view_brief (brief) or
 * cf_view_text writes it, without a string of its own. */
void cf_view_put(
    struct cf_text *t, const struct cf_view *v, enum cf_field f, int brief);
/* cf_view_put with DaysLeft counted from now, so that a table written
 * twice over (out_table_each) says the same both times. */
void cf_view_put_at(struct cf_text *t, const struct cf_view *v, enum cf_field f,
    int brief, time_t now);
/* Every field as a JSON object (new reference): the API's certificate. */
json_t *cf_view_json(const struct cf_view *v);

/*
 * Appends to t the n views as the compact JSON text of their cf_view_json
 * objects, comma-separated, each with "Server": server first when server
 * is not NULL: the same bytes as json_dumps(..., JSON_COMPACT), written
 * without a JSON tree (view_json.c says why).
 */
void cf_views_json_text(
    struct cf_text *t, const struct cf_view *v, size_t n, const char *server);
/* Appends the n views as the rows form of get's reply (docs/api.md):
 * {"Fields": [names], "Rows": [[values in that order], ...]}, the text
 * of cf_msg_view_rows_encode's tree. */
void cf_views_rows_text(struct cf_text *t, const struct cf_view *v, size_t n);

/*
 * The rows form of get's reply (cf_views_rows_text's text, len bytes)
 * read straight into *views (new, cf_views_free; Status static): 1 when
 * taken.  0 when the text is anything this reader leaves to jansson and
 * cf_msg_views_decode (another shape, escapes, non-ASCII text, a status
 * it does not know, a malformed reply): nothing is set then.
 */
int cf_views_rows_parse(
    const char *text, size_t len, struct cf_view **views, size_t *n);

/*
 * Of the same text, without reading it into views: how many rows (*n)
 * and the Thumbprint of the last (thumb, "" when none); 1 when read,
 * 0 for text cf_views_rows_parse would not take in its shape.  A few
 * times cheaper than the parse, so that a client can ask for the next
 * page before it reads this one.
 */
int cf_views_rows_last(
    const char *text, size_t len, char thumb[CF_THUMB_LEN + 1], size_t *n);

/* n in decimal into out, NUL-terminated, as printf's %lld; its length.
 * (snprintf was a twentieth of a 10,000-row listing.) */
size_t cf_number_text(long long n, char out[24]);

/* Whole days from now until t, rounded down: -1 the day after it. */
long long cf_days_left(time_t t, time_t now);

/* s as a JSON string (new reference; "" for NULL); bytes that are not
 * UTF-8 are written as "\xNN" (cf_utf8_escape), never dropped.  The one
 * way outside text goes into JSON. */
json_t *cf_json_string(const char *s);
/* A comma-separated list as a JSON array of such strings (new
 * reference); [] for "" and NULL. */
json_t *cf_json_list(const char *list);
/* The other way: a JSON array of strings (or one string) as one
 * comma-separated string (new); items that are not strings are left
 * out. */
char *cf_json_joined(const json_t *v);
/* A date as the JSON writes it ("2026-11-25T14:48:12Z") in seconds; 0
 * when it is not one. */
time_t cf_json_time(const char *iso);
/* Wipes the JSON string s in place (a password, a key's Base64) once it
 * is used; anything else is left alone.  The one string wiper. */
void cf_json_wipe(json_t *s);

#endif
