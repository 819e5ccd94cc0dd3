/*
 * view_parse.c - the rows form of get's reply read straight into views:
 * see cf_views_rows_parse in view.h.
 *
 * Why not jansson here: json_loadb of a 10,000-certificate listing (11
 * pages, 6 MB) cost 670 million instructions, two thirds of a remote
 * `get`, and the tree was then copied into views and freed.  This reader
 * takes only the text an agent writes (cf_views_rows_text) in its
 * plainest shape: strings of printable ASCII without escapes, no
 * objects inside rows, integers only.  Anything else says "not taken"
 * and the caller parses with jansson, whose reading
 * (cf_msg_views_decode) is the one this must match field for field.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "view.h"

#define MAX_COLUMNS 64

struct reader {
	const char *p, *end;
};

/* A value of a row: what the decoder distinguishes. */
enum kind { V_NONE, V_STRING, V_LIST, V_TRUE, V_OTHER };

struct value {
	enum kind kind;
	const char *s; /* V_STRING: the text, len bytes */
	size_t len;
	char *list; /* V_LIST: the strings joined by commas (new) */
};

/* The bytes that end a plain string's run: its closing quote, and what
 * this reader leaves to jansson (escapes, controls, non-ASCII).  One
 * load a byte, where four comparisons were a sixth of reading a page. */
static unsigned char stop[256];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void
stop_init(void)
{
	int c;

	for (c = 0; c < 256; c++)
		stop[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

static void
ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Skips whitespace, then c; 0 when c is not next. */
static int
eat(struct reader *r, char c)
{
	ws(r);
	if (r->p >= r->end || *r->p != c)
		return 0;
	r->p++;
	return 1;
}

/* A string without escapes, of printable ASCII, into *s and *len; 0 for
 * anything else (jansson's, then). */
static int
string(struct reader *r, const char **s, size_t *len)
{
	const char *q;

	pthread_once(&stop_once, stop_init);
	if (!eat(r, '"'))
		return 0;
	for (q = r->p; q < r->end && !stop[(unsigned char)*q]; q++)
		;
	if (q >= r->end || *q != '"')
		return 0;
	*s = r->p;
	*len = (size_t)(q - r->p);
	r->p = q + 1;
	return 1;
}

/* Whether the literal word is next (after whitespace). */
static int
word(struct reader *r, const char *w)
{
	size_t n = strlen(w);

	ws(r);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return 0;
	r->p += n;
	return 1;
}

/* An integer (DaysLeft) as JSON writes one, -?(0|[1-9][0-9]*), of at
 * most 18 digits (jansson refuses one too big for its integers). */
static int
integer(struct reader *r)
{
	const char *start;

	ws(r);
	if (r->p < r->end && *r->p == '-')
		r->p++;
	for (start = r->p; r->p < r->end && *r->p >= '0' && *r->p <= '9';)
		r->p++;
	return r->p > start && r->p - start <= 18 &&
	       (*start != '0' || r->p - start == 1);
}

/* An array of strings joined by commas into v->list (new). */
static int
list(struct reader *r, struct value *v)
{
	struct cf_text t = {0};
	const char *s;
	size_t len;

	v->kind = V_LIST;
	if (eat(r, ']')) {
		v->list = xstrdup("");
		return 1;
	}
	do {
		if (!string(r, &s, &len)) {
			cf_text_clear(&t);
			return 0;
		}
		if (t.len > 0)
			cf_text_putn(&t, ",", 1);
		cf_text_putn(&t, s, len);
	} while (eat(r, ','));
	if (!eat(r, ']')) {
		cf_text_clear(&t);
		return 0;
	}
	v->list = t.data != NULL ? t.data : xstrdup("");
	return 1;
}

/* One value of a row into v. */
static int
value(struct reader *r, struct value *v)
{
	memset(v, 0, sizeof(*v));
	ws(r);
	if (r->p >= r->end)
		return 0;
	switch (*r->p) {
	case '"':
		v->kind = V_STRING;
		return string(r, &v->s, &v->len);
	case '[':
		r->p++;
		return list(r, v);
	case 't':
		v->kind = V_TRUE;
		return word(r, "true");
	case 'f':
		v->kind = V_OTHER;
		return word(r, "false");
	case 'n':
		v->kind = V_OTHER;
		return word(r, "null");
	default:
		v->kind = V_OTHER;
		return integer(r);
	}
}

/* A string field as the decoder's field(): the string, else "" (new). */
static char *
text_of(const struct value *v)
{
	char *s;

	if (v->kind != V_STRING)
		return xstrdup("");
	s = xmalloc(v->len + 1);
	memcpy(s, v->s, v->len);
	s[v->len] = '\0';
	return s;
}

/* A list field as cf_json_joined: the array joined, or the string. */
static char *
list_of(struct value *v)
{
	char *s;

	if (v->kind == V_LIST) {
		s = v->list;
		v->list = NULL;
		return s;
	}
	return text_of(v);
}

/* A date field as cf_json_time of the decoder's field(). */
static time_t
date_of(const struct value *v)
{
	char iso[32];

	if (v->kind != V_STRING || v->len >= sizeof(iso))
		return 0;
	memcpy(iso, v->s, v->len);
	iso[v->len] = '\0';
	return cf_json_time(iso);
}

/* The static name of a status, NULL for one this reader leaves to
 * jansson (its decoder lends the reply's own string). */
static const char *
status_of(const struct value *v)
{
	static const char *const names[] = {"Valid", "DateInvalid", "Untrusted",
	    "Invalid", "Revoked", "PendingRequest"};
	size_t i;

	for (i = 0; v->kind == V_STRING && i < sizeof(names) / sizeof(*names);
	     i++)
		if (strlen(names[i]) == v->len &&
		    memcmp(names[i], v->s, v->len) == 0)
			return names[i];
	return NULL;
}

/* A row's values, by field, into out; 0 when a thumbprint or status
 * is not one this reader takes. */
static int
view_of(struct value *by_field, struct cf_view *out)
{
	struct value *t = &by_field[CF_F_THUMBPRINT];
	struct cf_view v;

	memset(&v, 0, sizeof(v));
	if (t->kind != V_STRING || t->len != CF_THUMB_LEN ||
	    (v.status = status_of(&by_field[CF_F_STATUS])) == NULL)
		return 0;
	memcpy(v.thumbprint, t->s, CF_THUMB_LEN);
	v.thumbprint[CF_THUMB_LEN] = '\0';
	v.subject = text_of(&by_field[CF_F_SUBJECT]);
	v.issuer = text_of(&by_field[CF_F_ISSUER]);
	v.friendly_name = text_of(&by_field[CF_F_FRIENDLYNAME]);
	v.serial = text_of(&by_field[CF_F_SERIAL]);
	v.key_type = text_of(&by_field[CF_F_KEYTYPE]);
	v.services = list_of(&by_field[CF_F_SERVICES]);
	v.domains = list_of(&by_field[CF_F_DOMAINS]);
	v.chain = list_of(&by_field[CF_F_CHAIN]);
	v.exportable = by_field[CF_F_EXPORTABLE].kind == V_TRUE;
	v.has_key = by_field[CF_F_HASKEY].kind == V_TRUE;
	v.self_signed = by_field[CF_F_SELFSIGNED].kind == V_TRUE;
	v.not_before = date_of(&by_field[CF_F_NOTBEFORE]);
	v.not_after = date_of(&by_field[CF_F_NOTAFTER]);
	*out = v;
	return 1;
}

/* "Fields": [names] into at[i], the field of column i (-1: none), as
 * the decoder's row_positions (the last column of a name wins). */
static int
fields(struct reader *r, int at[MAX_COLUMNS], size_t *ncols)
{
	int pos[CF_F_COUNT], f;
	const char *s;
	char name[32];
	size_t len, i;

	for (f = 0; f < CF_F_COUNT; f++)
		pos[f] = -1;
	*ncols = 0;
	if (!eat(r, '['))
		return 0;
	if (!eat(r, ']')) {
		do {
			if (*ncols == MAX_COLUMNS || !string(r, &s, &len))
				return 0;
			snprintf(name, sizeof(name), "%.*s", (int)len, s);
			if (len < sizeof(name) &&
			    (f = cf_field_lookup(name)) >= 0)
				pos[f] = (int)*ncols;
			(*ncols)++;
		} while (eat(r, ','));
		if (!eat(r, ']'))
			return 0;
	}
	for (i = 0; i < *ncols; i++)
		at[i] = -1;
	for (f = 0; f < CF_F_COUNT; f++)
		if (pos[f] >= 0)
			at[pos[f]] = f;
	return 1;
}

/* One row ('[' already read) into v. */
static int
row(struct reader *r, const int *at, size_t ncols, struct cf_view *v)
{
	struct value by_field[CF_F_COUNT], one;
	size_t i = 0;
	int ok = 1, f;

	memset(by_field, 0, sizeof(by_field));
	if (!eat(r, ']')) {
		do {
			if (!value(r, &one)) {
				free(one.list);
				ok = 0;
				break;
			}
			if (i < ncols && at[i] >= 0) {
				free(by_field[at[i]].list);
				by_field[at[i]] = one;
			} else
				free(one.list);
			i++;
		} while (eat(r, ','));
		ok = ok && eat(r, ']');
	}
	ok = ok && view_of(by_field, v);
	for (f = 0; f < CF_F_COUNT; f++)
		free(by_field[f].list);
	return ok;
}

/* The head of the rows form, {"Fields": [names], "Rows": [, with the
 * field of each column into at (fields()). */
static int
head(struct reader *r, int at[MAX_COLUMNS], size_t *ncols)
{
	const char *key;
	size_t klen;

	return eat(r, '{') && string(r, &key, &klen) && klen == 6 &&
	       memcmp(key, "Fields", 6) == 0 && eat(r, ':') &&
	       fields(r, at, ncols) && eat(r, ',') && string(r, &key, &klen) &&
	       klen == 4 && memcmp(key, "Rows", 4) == 0 && eat(r, ':') &&
	       eat(r, '[');
}

/* Skips one value of a row as value() reads it, keeping nothing. */
static int
skip(struct reader *r)
{
	const char *s;
	size_t len;

	ws(r);
	if (r->p >= r->end)
		return 0;
	switch (*r->p) {
	case '"':
		return string(r, &s, &len);
	case '[':
		r->p++;
		if (eat(r, ']'))
			return 1;
		do
			if (!string(r, &s, &len))
				return 0;
		while (eat(r, ','));
		return eat(r, ']');
	case 't':
		return word(r, "true");
	case 'f':
		return word(r, "false");
	case 'n':
		return word(r, "null");
	default:
		return integer(r);
	}
}

int
cf_views_rows_last(
    const char *text, size_t len, char thumb[CF_THUMB_LEN + 1], size_t *n)
{
	struct reader r = {text, text + len};
	const char *last = NULL;
	size_t ncols, got = 0, i, tlen = 0;
	int at[MAX_COLUMNS], col = -1;

	thumb[0] = '\0';
	*n = 0;
	if (!head(&r, at, &ncols))
		return 0;
	for (i = 0; i < ncols; i++)
		if (at[i] == CF_F_THUMBPRINT)
			col = (int)i;
	if (col < 0)
		return 0;
	if (!eat(&r, ']')) {
		do {
			if (!eat(&r, '['))
				return 0;
			for (i = 0; !eat(&r, ']'); i++) {
				if (i > 0 && !eat(&r, ','))
					return 0;
				ws(&r);
				if ((int)i == col && !string(&r, &last, &tlen))
					return 0;
				if ((int)i != col && !skip(&r))
					return 0;
			}
			got++;
		} while (eat(&r, ','));
		if (!eat(&r, ']'))
			return 0;
	}
	if (!eat(&r, '}'))
		return 0;
	ws(&r);
	if (r.p != r.end || (got > 0 && (last == NULL || tlen != CF_THUMB_LEN)))
		return 0;
	if (got > 0) {
		memcpy(thumb, last, CF_THUMB_LEN);
		thumb[CF_THUMB_LEN] = '\0';
	}
	*n = got;
	return 1;
}

int
cf_views_rows_parse(
    const char *text, size_t len, struct cf_view **views, size_t *n)
{
	struct reader r = {text, text + len};
	struct cf_view *v = NULL;
	int at[MAX_COLUMNS];
	size_t ncols, got = 0, cap = 0;

	*views = NULL;
	*n = 0;
	if (!head(&r, at, &ncols))
		return 0;
	if (!eat(&r, ']')) {
		do {
			if (got == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, (cap + 1) * sizeof(*v));
			}
			if (!eat(&r, '[') || !row(&r, at, ncols, &v[got]))
				goto fail;
			got++;
		} while (eat(&r, ','));
		if (!eat(&r, ']'))
			goto fail;
	}
	if (!eat(&r, '}'))
		goto fail;
	ws(&r);
	if (r.p != r.end)
		goto fail;
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	*views = v;
	*n = got;
	return 1;
fail:
	cf_views_free(v, got);
	return 0;
}
