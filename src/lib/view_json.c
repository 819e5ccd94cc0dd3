/*
 * view_json.c - certificate views as compact JSON text, written
 * straight from the views: see cf_views_json_text in view.h.
 *
 * Why not jansson here: building a tree of 16 fields a view and dumping
 * it cost about 10 µs a view on the bench machine, two thirds of a
 * 10,000-certificate `get --json` and most of an agent's page.  The text
 * is the same, byte for byte, as json_dumps(cf_view_json(v),
 * JSON_COMPACT) (test_view checks it): the same fields in the same
 * order, the same escapes as jansson's dump, and text that is not UTF-8
 * written as "\xNN" as cf_json_string does.  Replies are still parsed
 * with jansson.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "view.h"

/* The keys as written after a value, ,"Subject": (a strlen and three
 * copies a field were a tenth of a listing), and the bytes a string
 * takes as they are (printable ASCII but '"' and '\\'): made once. */
static struct {
	char text[CF_F_COUNT][32];
	size_t len[CF_F_COUNT];
} keys;
static unsigned char plain[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void
tables_init(void)
{
	int f, c;

	for (f = 0; f < CF_F_COUNT; f++)
		keys.len[f] =
		    (size_t)snprintf(keys.text[f], sizeof(keys.text[f]),
			",\"%s\":", cf_field_name((enum cf_field)f));
	for (c = 0x20; c < 0x80; c++)
		plain[c] = c != '"' && c != '\\';
}

/* Room in t for n more bytes and the NUL. */
static void
reserve(struct cf_text *t, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->data = xrealloc(t->data, t->cap);
	}
}

static void
put(struct cf_text *t, const char *s, size_t n)
{
	reserve(t, n);
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void
puts0(struct cf_text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* s (n bytes, valid UTF-8) quoted as jansson's dump quotes it: '"', '\'
 * and control characters escaped, the rest as it is. */
static void
quote_valid(struct cf_text *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s, *end = s + n;
	char esc[7];

	put(t, "\"", 1);
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(t, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':
			put(t, "\\\"", 2);
			break;
		case '\\':
			put(t, "\\\\", 2);
			break;
		case '\b':
			put(t, "\\b", 2);
			break;
		case '\f':
			put(t, "\\f", 2);
			break;
		case '\n':
			put(t, "\\n", 2);
			break;
		case '\r':
			put(t, "\\r", 2);
			break;
		case '\t':
			put(t, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			put(t, esc, 6);
		}
	}
	put(t, run, (size_t)(end - run));
	put(t, "\"", 1);
}

/*
 * The plain bytes at the start of s (n bytes): printable ASCII but '"'
 * and '\\', which a JSON string holds as they are.  Eight at a time
 * (a byte at a time through plain[] was a seventh of a 10,000-row
 * listing): a word is plain when no byte is below 0x20, none is '"' or
 * '\\' (a zero byte after the XOR) and none has its high bit set.  The
 * tests may flag a plain byte above one that is not, never a word with
 * none, so a flagged word is looked at again a byte at a time.
 */
static size_t
plain_prefix(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL,
		       high = 0x8080808080808080ULL;
	uint64_t x, q, b;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		if ((((q - ones) & ~q) | ((b - ones) & ~b) |
			((x - ones * 0x20) & ~x) | x) &
		    high)
			break;
	}
	while (i < n && plain[(unsigned char)s[i]])
		i++;
	return i;
}

/* The first n bytes of s as a JSON string, as cf_json_string writes it. */
static void
quote(struct cf_text *t, const char *s, size_t n)
{
	size_t i, len;
	char *copy, *clean;

	if (s == NULL) {
		put(t, "\"\"", 2);
		return;
	}
	/* Printable ASCII without '"' and '\\' (nearly every name of a
	 * certificate) goes as it is, in one copy: the byte-by-byte checks
	 * below were a third of a 10,000-row listing. */
	pthread_once(&tables_once, tables_init);
	i = plain_prefix(s, n);
	if (i == n) {
		reserve(t, n + 2);
		t->data[t->len++] = '"';
		memcpy(t->data + t->len, s, n);
		t->len += n;
		t->data[t->len++] = '"';
		t->data[t->len] = '\0';
		return;
	}
	i = 0;
	while (i < n) {
		len = (unsigned char)s[i] < 0x80
			  ? 1
			  : cf_utf8_char_len((const unsigned char *)s + i);
		if (len == 0 || i + len > n)
			break;
		i += len;
	}
	if (i == n) {
		quote_valid(t, s, n);
		return;
	}
	copy = xasprintf("%.*s", (int)n, s); /* not UTF-8: rare */
	clean = cf_utf8_escape(copy);
	quote_valid(t, clean, strlen(clean));
	free(clean);
	free(copy);
}

static void
key(struct cf_text *t, int first, enum cf_field f)
{
	put(t, keys.text[f] + first, keys.len[f] - (size_t)first);
}

/* A comma-separated list as cf_json_list's array. */
static void
list(struct cf_text *t, const char *s)
{
	const char *comma;
	int first = 1;

	put(t, "[", 1);
	while (s != NULL && *s != '\0') {
		comma = strchr(s, ',');
		if (!first)
			put(t, ",", 1);
		quote(t, s, comma ? (size_t)(comma - s) : strlen(s));
		first = 0;
		s = comma ? comma + 1 : NULL;
	}
	put(t, "]", 1);
}

static void
date(struct cf_text *t, time_t when)
{
	char iso[21];

	if (when == 0) {
		puts0(t, "null");
		return;
	}
	cf_time_iso(when, iso); /* digits and "-:TZ": nothing to escape */
	reserve(t, 22);
	t->data[t->len++] = '"';
	memcpy(t->data + t->len, iso, 20);
	t->len += 20;
	t->data[t->len++] = '"';
	t->data[t->len] = '\0';
}

static void
string(struct cf_text *t, const char *s)
{
	quote(t, s, s ? strlen(s) : 0);
}

/* One view, as cf_view_json's object with Server first when given, or
 * (row) as the array of its values in field order. */
static void
view(struct cf_text *t, const struct cf_view *v, const char *server, int row,
    time_t now)
{
	char days[24];
	int f;

	put(t, row ? "[" : "{", 1);
	if (server != NULL && !row) {
		puts0(t, "\"Server\":");
		string(t, server);
	}
	for (f = 0; f < CF_F_COUNT; f++) {
		if (row && f > 0)
			put(t, ",", 1);
		else if (!row)
			key(t, f == 0 && server == NULL, (enum cf_field)f);
		switch ((enum cf_field)f) {
		case CF_F_SUBJECT:
			string(t, v->subject);
			break;
		case CF_F_ISSUER:
			string(t, v->issuer);
			break;
		case CF_F_THUMBPRINT:
			string(t, v->thumbprint);
			break;
		case CF_F_FRIENDLYNAME:
			string(t, v->friendly_name);
			break;
		case CF_F_STATUS:
			string(t, v->status);
			break;
		case CF_F_SERVICES:
			list(t, v->services);
			break;
		case CF_F_EXPORTABLE:
			puts0(t, v->exportable ? "true" : "false");
			break;
		case CF_F_HASKEY:
			puts0(t, v->has_key ? "true" : "false");
			break;
		case CF_F_NOTBEFORE:
			date(t, v->not_before);
			break;
		case CF_F_NOTAFTER:
			date(t, v->not_after);
			break;
		case CF_F_DOMAINS:
			list(t, v->domains);
			break;
		case CF_F_SELFSIGNED:
			puts0(t, v->self_signed ? "true" : "false");
			break;
		case CF_F_KEYTYPE:
			string(t, v->key_type);
			break;
		case CF_F_SERIAL:
			string(t, v->serial);
			break;
		case CF_F_CHAIN:
			list(t, v->chain);
			break;
		case CF_F_DAYSLEFT:
			if (v->not_after == 0) {
				puts0(t, "null");
				break;
			}
			put(t, days,
			    cf_number_text(
				cf_days_left(v->not_after, now), days));
			break;
		case CF_F_COUNT:
			break;
		}
	}
	put(t, row ? "]" : "}", 1);
}

void
cf_views_json_text(
    struct cf_text *t, const struct cf_view *v, size_t n, const char *server)
{
	time_t now = time(NULL);
	size_t i;

	pthread_once(&tables_once, tables_init);
	for (i = 0; i < n; i++) {
		if (i > 0)
			put(t, ",", 1);
		view(t, &v[i], server, 0, now);
	}
}

void
cf_views_rows_text(struct cf_text *t, const struct cf_view *v, size_t n)
{
	time_t now = time(NULL);
	size_t i;
	int f;

	puts0(t, "{\"Fields\":[");
	for (f = 0; f < CF_F_COUNT; f++) {
		if (f > 0)
			put(t, ",", 1);
		string(t, cf_field_name((enum cf_field)f));
	}
	puts0(t, "],\"Rows\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			put(t, ",", 1);
		view(t, &v[i], NULL, 1, now);
	}
	puts0(t, "]}");
}

void
cf_text_putn(struct cf_text *t, const char *s, size_t n)
{
	put(t, s, n);
}

void
cf_text_put(struct cf_text *t, const char *s)
{
	put(t, s, strlen(s));
}

void
cf_text_clear(struct cf_text *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}
