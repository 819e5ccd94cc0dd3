/*
 * test_view.c - view.c: field names and their case-insensitive lookup,
 * table text, the JSON object of one certificate, and the rows form
 * read back without jansson.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check.h"
#include "msg.h"
#include "util.h"
#include "view.h"

/* A view as cf_op_get fills it; the strings are literals, never freed. */
static struct cf_view
sample(void)
{
	struct cf_view v;

	memset(&v, 0, sizeof(v));
	snprintf(v.thumbprint, sizeof(v.thumbprint), "%s",
	    "0123456789ABCDEF0123456789ABCDEF01234567");
	v.subject = "CN=mail.example.com,O=Example Ltd";
	v.issuer = "CN=Test CA,O=Example Ltd";
	v.friendly_name = "mail 2026";
	v.serial = "03E8";
	v.key_type = "EC-P256";
	v.services = "https,smtp";
	v.domains = "mail.example.com,autodiscover.example.com,example.com";
	v.chain = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,"
		  "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
	v.status = "Valid";
	v.exportable = 1;
	v.has_key = 0;
	v.self_signed = 1;
	v.not_before = 1700000000; /* 2023-11-14T22:13:20Z */
	v.not_after = 0;           /* 1970-01-01T00:00:00Z */
	return v;
}

static void
test_lookup(void)
{
	char lower[64], upper[64], msg[96];
	int f, ok_all = 1, distinct = 1;
	size_t i;

	for (f = 0; f < CF_F_COUNT; f++) {
		const char *name = cf_field_name((enum cf_field)f);
		for (i = 0; name[i] != '\0' && i < sizeof(lower) - 1; i++) {
			lower[i] = (char)tolower((unsigned char)name[i]);
			upper[i] = (char)toupper((unsigned char)name[i]);
		}
		lower[i] = upper[i] = '\0';
		snprintf(msg, sizeof(msg), "lookup: %s in any case", name);
		CHECK(name[0] != '\0' && cf_field_lookup(name) == f &&
			  cf_field_lookup(lower) == f &&
			  cf_field_lookup(upper) == f,
		    msg);
		ok_all &= cf_field_lookup(name) == f;
		for (i = 0; i < (size_t)f; i++)
			distinct &=
			    strcmp(name, cf_field_name((enum cf_field)i)) != 0;
	}
	CHECK(ok_all && distinct, "lookup: every field, names distinct");
	CHECK(cf_field_lookup("pRiVaTeKeYeXpOrTaBlE") == CF_F_EXPORTABLE,
	    "lookup: mixed case PrivateKeyExportable");
	CHECK(
	    cf_field_lookup("Exportable") == -1, "lookup: unknown name is -1");
	CHECK(cf_field_lookup("") == -1, "lookup: empty name is -1");
	CHECK(cf_field_lookup("Subjec") == -1 &&
		  cf_field_lookup("SubjectX") == -1,
	    "lookup: prefixes and extensions of a name are -1");
	CHECK(cf_field_lookup(" Subject") == -1, "lookup: no trimming");
	CHECK_STR(cf_field_name(CF_F_COUNT), "", "name: CF_F_COUNT is empty");
}

/* cf_view_text of field f compared with want; frees the text. */
static void
text_is(const struct cf_view *v, enum cf_field f, const char *want,
    const char *name)
{
	char *t = cf_view_text(v, f);

	CHECK_STR(t, want, name);
	free(t);
}

static void
test_text(void)
{
	struct cf_view v = sample();

	text_is(&v, CF_F_SUBJECT, v.subject, "text: Subject");
	text_is(&v, CF_F_ISSUER, v.issuer, "text: Issuer");
	text_is(&v, CF_F_THUMBPRINT, v.thumbprint, "text: Thumbprint");
	text_is(&v, CF_F_FRIENDLYNAME, "mail 2026", "text: FriendlyName");
	text_is(&v, CF_F_STATUS, "Valid", "text: Status");
	text_is(&v, CF_F_SERVICES, "https,smtp", "text: Services");
	text_is(&v, CF_F_EXPORTABLE, "True", "text: exportable is True");
	text_is(&v, CF_F_HASKEY, "False", "text: no key is False");
	text_is(&v, CF_F_SELFSIGNED, "True", "text: self-signed is True");
	text_is(&v, CF_F_NOTBEFORE, "2023-11-14T22:13:20Z",
	    "text: NotBefore ISO 8601");
	text_is(&v, CF_F_NOTAFTER, "",
	    "text: NotAfter 0 (a pending request has none) is empty");
	text_is(&v, CF_F_DOMAINS, v.domains, "text: CertificateDomains");
	text_is(&v, CF_F_KEYTYPE, "EC-P256", "text: KeyType");
	text_is(&v, CF_F_SERIAL, "03E8", "text: SerialNumber");
	text_is(&v, CF_F_CHAIN, v.chain, "text: Chain");
	text_is(
	    &v, CF_F_DAYSLEFT, "", "text: DaysLeft without NotAfter is empty");
	text_is(&v, CF_F_COUNT, "", "text: CF_F_COUNT is empty");

	v.exportable = 0;
	v.has_key = 1;
	v.self_signed = 0;
	v.services = "";
	text_is(&v, CF_F_EXPORTABLE, "False", "text: not exportable is False");
	text_is(&v, CF_F_HASKEY, "True", "text: key is True");
	text_is(&v, CF_F_SELFSIGNED, "False", "text: issued is False");
	text_is(&v, CF_F_SERVICES, "None", "text: no services is None");
}

/* cf_view_brief of field f compared with want; frees the text. */
static void
brief_is(const struct cf_view *v, enum cf_field f, const char *want,
    const char *name)
{
	char *t = cf_view_brief(v, f);

	CHECK_STR(t, want, name);
	free(t);
}

static void
test_brief_and_days(void)
{
	struct cf_view v = sample();
	time_t now = time(NULL);
	json_t *j;

	brief_is(&v, CF_F_THUMBPRINT, "01234567",
	    "brief: Thumbprint cut to 8 digits");
	brief_is(&v, CF_F_CHAIN, "AAAAAAAA,BBBBBBBB",
	    "brief: each thumbprint of Chain cut to 8 digits");
	brief_is(
	    &v, CF_F_NOTBEFORE, "2023-11-14", "brief: a date cut to the day");
	brief_is(&v, CF_F_SUBJECT, v.subject, "brief: Subject whole");
	CHECK(cf_days_left(now + 86400 * 3 + 5, now) == 3,
	    "days: 3 days and 5 seconds is 3");
	CHECK(cf_days_left(now, now) == 0, "days: now is 0");
	CHECK(cf_days_left(now - 1, now) == -1,
	    "days: a second past is -1, not 0");
	v.not_after = now + 86400 * 10 + 60;
	j = cf_view_field_json(&v, CF_F_DAYSLEFT);
	CHECK(json_is_integer(j) && json_integer_value(j) == 10,
	    "json: DaysLeft an integer");
	json_decref(j);
	v.not_after = 0;
	j = cf_view_field_json(&v, CF_F_DAYSLEFT);
	CHECK(json_is_null(j), "json: DaysLeft null without NotAfter");
	json_decref(j);
	j = cf_view_field_json(&v, CF_F_NOTAFTER);
	CHECK(json_is_null(j), "json: no NotAfter is null, not \"\"");
	json_decref(j);
}

static const char *
str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s != NULL ? s : "";
}

/* The strings of JSON array a joined with commas, as a new string. */
static char *
joined(const json_t *a)
{
	size_t i, len = 1;
	char *s;

	if (!json_is_array(a))
		return NULL;
	for (i = 0; i < json_array_size(a); i++)
		len += strlen(str_of(json_array_get(a, i))) + 1;
	s = calloc(1, len);
	for (i = 0; i < json_array_size(a); i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, str_of(json_array_get(a, i)));
	}
	return s;
}

/* 1 when s is valid UTF-8 as jansson sees it. */
static int
utf8_ok(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

static void
test_json_shape(void)
{
	struct cf_view v = sample();
	json_t *o = cf_view_json(&v), *a;
	const char *key;
	json_t *val;
	char *s;
	int f, all = 1, known = 1;

	CHECK(json_is_object(o) && json_object_size(o) == CF_F_COUNT &&
		  CF_F_COUNT == 16,
	    "json: exactly 16 keys");
	for (f = 0; f < CF_F_COUNT; f++)
		all &=
		    json_object_get(o, cf_field_name((enum cf_field)f)) != NULL;
	json_object_foreach(o, key, val)
		known &=
		    cf_field_lookup(key) >= 0 &&
		    strcmp(cf_field_name((enum cf_field)cf_field_lookup(key)),
			key) == 0;
	CHECK(all, "json: every field name is a key");
	CHECK(known, "json: no key that is not a field name");

	a = json_object_get(o, "Services");
	s = joined(a);
	CHECK(json_array_size(a) == 2 && s && strcmp(s, "https,smtp") == 0,
	    "json: Services an array split on commas");
	free(s);
	a = json_object_get(o, "CertificateDomains");
	s = joined(a);
	CHECK(json_array_size(a) == 3 && s && strcmp(s, v.domains) == 0,
	    "json: CertificateDomains an array");
	free(s);
	a = json_object_get(o, "Chain");
	s = joined(a);
	CHECK(json_array_size(a) == 2 && s && strcmp(s, v.chain) == 0,
	    "json: Chain an array");
	free(s);
	CHECK(json_is_true(json_object_get(o, "PrivateKeyExportable")) &&
		  json_is_false(json_object_get(o, "HasPrivateKey")) &&
		  json_is_true(json_object_get(o, "IsSelfSigned")),
	    "json: booleans are JSON booleans");
	CHECK(!json_is_string(json_object_get(o, "HasPrivateKey")),
	    "json: booleans are not the strings True/False");
	CHECK_STR(json_string_value(json_object_get(o, "NotBefore")),
	    "2023-11-14T22:13:20Z", "json: NotBefore ISO 8601");
	CHECK_STR(json_string_value(json_object_get(o, "Thumbprint")),
	    v.thumbprint, "json: Thumbprint");
	CHECK_STR(json_string_value(json_object_get(o, "Status")), "Valid",
	    "json: Status");
	CHECK_STR(json_string_value(json_object_get(o, "Subject")), v.subject,
	    "json: Subject");
	json_decref(o);

	v.services = "";
	v.chain = "";
	v.domains = "";
	v.exportable = 0;
	v.has_key = 1;
	o = cf_view_json(&v);
	a = json_object_get(o, "Services");
	CHECK(json_is_array(a) && json_array_size(a) == 0,
	    "json: empty Services is []");
	a = json_object_get(o, "Chain");
	CHECK(json_is_array(a) && json_array_size(a) == 0,
	    "json: empty Chain is []");
	a = json_object_get(o, "CertificateDomains");
	CHECK(json_is_array(a) && json_array_size(a) == 0,
	    "json: empty CertificateDomains is []");
	CHECK(json_is_false(json_object_get(o, "PrivateKeyExportable")) &&
		  json_is_true(json_object_get(o, "HasPrivateKey")),
	    "json: booleans flip with the view");
	v.services = "https";
	json_decref(o);
	o = cf_view_json(&v);
	a = json_object_get(o, "Services");
	CHECK(json_array_size(a) == 1 &&
		  strcmp(json_string_value(json_array_get(a, 0)), "https") == 0,
	    "json: one service, an array of one");
	json_decref(o);
}

static void
test_json_utf8(void)
{
	struct cf_view v = sample();
	json_t *o;
	const char *s;
	char *dump;

	v.subject = "CN=Grüße Straße,O=Zürich";
	o = cf_view_json(&v);
	CHECK_STR(json_string_value(json_object_get(o, "Subject")),
	    "CN=Grüße Straße,O=Zürich", "json: valid UTF-8 subject unchanged");
	json_decref(o);

	v.subject = "CN=Bad\xff\xfe Name,O=Latin1 \xe9t\xe9";
	v.friendly_name = "caf\xe9";
	v.domains = "ok.example.com,b\xe4"
		    "d.example.com";
	o = cf_view_json(&v);
	s = json_string_value(json_object_get(o, "Subject"));
	CHECK(s != NULL, "json: subject with invalid UTF-8 is still a string");
	CHECK(utf8_ok(s), "json: that string is valid UTF-8");
	CHECK_STR(s, "CN=Bad\\xFF\\xFE Name,O=Latin1 \\xE9t\\xE9",
	    "json: invalid bytes escaped as \\xNN, none dropped");
	s = json_string_value(json_object_get(o, "FriendlyName"));
	CHECK(s != NULL && utf8_ok(s), "json: invalid UTF-8 friendly name");
	CHECK(json_array_size(json_object_get(o, "CertificateDomains")) == 2 &&
		  utf8_ok(json_string_value(json_array_get(
		      json_object_get(o, "CertificateDomains"), 1))),
	    "json: invalid UTF-8 in a list item");
	dump = json_dumps(o, 0);
	CHECK(dump != NULL && json_object_size(o) == 16,
	    "json: the object still dumps with all 16 keys");
	free(dump);
	json_decref(o);

	/* Only bytes that are not UTF-8 are escaped; a valid "ü" next to a
	 * stray byte survives. */
	v.subject = "CN=M\xc3\xbcller \xff";
	o = cf_view_json(&v);
	CHECK_STR(json_string_value(json_object_get(o, "Subject")),
	    "CN=M\xc3\xbcller \\xFF",
	    "json: valid UTF-8 kept beside an escaped invalid byte");
	json_decref(o);
	/* Forms jansson refuses although each byte looks like UTF-8: an
	 * overlong "/", a surrogate, a code point past U+10FFFF. */
	v.subject = "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80";
	o = cf_view_json(&v);
	s = json_string_value(json_object_get(o, "Subject"));
	CHECK(s != NULL && utf8_ok(s) && s[0] == '\\',
	    "json: overlong, surrogate and past-U+10FFFF forms escaped");
	json_decref(o);
}

/* cf_views_json_text against jansson's dump of cf_view_json: the
 * same bytes for plain, escaped, non-UTF-8 and empty values. */
static void
test_json_text(void)
{
	struct cf_view v[3];
	struct cf_text t = {0};
	json_t *o, *withs;
	char *dump, *both;

	v[0] = sample();
	v[1] = sample();
	v[1].subject = "CN=\"quoted\" \\ back\tslash\n\x01\x1f\x7f/é 中";
	v[1].friendly_name = "bad \xff\xc3( utf-8";
	v[1].domains = "a.example,\xfe.example,,last,";
	v[1].services = "";
	v[1].chain = "";
	v[1].not_after = 1900000000;
	v[2] = sample();
	v[2].status = "PendingRequest";
	v[2].not_before = 0;
	v[2].issuer = "";
	cf_views_json_text(&t, v, 3, NULL);
	o = json_array();
	json_array_append_new(o, cf_view_json(&v[0]));
	json_array_append_new(o, cf_view_json(&v[1]));
	json_array_append_new(o, cf_view_json(&v[2]));
	dump = json_dumps(o, JSON_COMPACT);
	both = xasprintf("[%s]", t.data);
	CHECK(dump != NULL && strcmp(both, dump) == 0,
	    "json_text: the same bytes as jansson's dump of the objects");
	free(both);
	free(dump);
	json_decref(o);
	t.len = 0;
	cf_views_json_text(&t, &v[1], 1, "ex\"1");
	withs = json_object();
	json_object_set_new(withs, "Server", json_string("ex\"1"));
	json_object_update_new(withs, cf_view_json(&v[1]));
	dump = json_dumps(withs, JSON_COMPACT);
	CHECK(dump != NULL && strcmp(t.data, dump) == 0,
	    "json_text: Server first, as get --json prints it");
	CHECK(strstr(t.data, "\\xFF") != NULL,
	    "json_text: bytes that are not UTF-8 are written as \\xNN");
	free(dump);
	json_decref(withs);
	cf_text_clear(&t);
}

/* Whether the n views a and b hold the same fields. */
static int
views_same(const struct cf_view *a, const struct cf_view *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].thumbprint, b[i].thumbprint) != 0 ||
		    strcmp(a[i].subject, b[i].subject) != 0 ||
		    strcmp(a[i].issuer, b[i].issuer) != 0 ||
		    strcmp(a[i].friendly_name, b[i].friendly_name) != 0 ||
		    strcmp(a[i].serial, b[i].serial) != 0 ||
		    strcmp(a[i].key_type, b[i].key_type) != 0 ||
		    strcmp(a[i].services, b[i].services) != 0 ||
		    strcmp(a[i].domains, b[i].domains) != 0 ||
		    strcmp(a[i].chain, b[i].chain) != 0 ||
		    strcmp(a[i].status, b[i].status) != 0 ||
		    a[i].exportable != b[i].exportable ||
		    a[i].has_key != b[i].has_key ||
		    a[i].self_signed != b[i].self_signed ||
		    a[i].not_before != b[i].not_before ||
		    a[i].not_after != b[i].not_after)
			return 0;
	return 1;
}

/* Whether cf_views_rows_parse takes text, and reads what jansson and
 * cf_msg_views_decode read from it (want: how many views). */
static int
parse_as_decoder(const char *text, size_t want)
{
	struct cf_view *fast = NULL, *slow = NULL;
	size_t nfast = 0, nslow = 0;
	struct cf_error err;
	json_t *j = json_loads(text, 0, NULL);
	int same;

	same = cf_views_rows_parse(text, strlen(text), &fast, &nfast) == 1 &&
	       j != NULL && cf_msg_views_decode(j, &slow, &nslow, &err) == 0 &&
	       nfast == want && nslow == want && views_same(fast, slow, want);
	cf_views_free(fast, nfast);
	cf_views_free(slow, nslow);
	json_decref(j);
	return same;
}

/* Whether cf_views_rows_parse leaves text to jansson, setting nothing. */
static int
left_to_jansson(const char *text)
{
	struct cf_view *v = (struct cf_view *)1;
	size_t n = 7;

	return cf_views_rows_parse(text, strlen(text), &v, &n) == 0 &&
	       v == NULL && n == 0;
}

/* cf_views_rows_parse: the agent's rows text read as jansson and the
 * decoder read it, and everything else left to them. */
static void
test_rows_parse(void)
{
	static const char thumb[] = "0123456789ABCDEF0123456789ABCDEF01234567";
	struct cf_view v[3];
	struct cf_text t = {0};
	char *text;

	v[0] = sample();
	v[1] = sample();
	v[1].status = "PendingRequest";
	v[1].not_before = v[1].not_after = 0;
	v[1].services = v[1].chain = v[1].issuer = "";
	v[2] = sample();
	v[2].status = "Untrusted";
	v[2].domains = "one.example";
	v[2].not_after = 1900000000;
	cf_views_rows_text(&t, v, 3);
	CHECK(parse_as_decoder(t.data, 3),
	    "rows_parse: the agent's rows read as the decoder reads them");
	CHECK(parse_as_decoder("{\"Fields\": [], \"Rows\": []}", 0),
	    "rows_parse: no rows, no views");
	CHECK(left_to_jansson("{\"Fields\":[],\"Rows\":[[]]}"),
	    "rows_parse: a row without a thumbprint is left to the decoder");
	text = xasprintf(
	    " {\"Fields\":[\"Status\",\"Extra\",\"thumbprint\","
	    "\"NotAfter\",\"Domains\",\"CertificateDomains\"],\"Rows\":"
	    "[[\"Valid\",5,\"%s\",\"2026-01-02T03:04:05Z\",\"x\",\"d\"],"
	    "[\"Invalid\",null,\"%s\",\"2026-02-31T00:00:00Z\"],"
	    "[\"Valid\",-3,\"%s\",\"2026-1-2T3:4:5Z\",[],[\"a\",\"b\"],"
	    "true,false]] }\n",
	    thumb, thumb, thumb);
	CHECK(parse_as_decoder(text, 3),
	    "rows_parse: fields in any order, unknown, missing or extra");
	free(text);
	t.len = 0;
	v[0].subject = "CN=\"quoted\"";
	cf_views_rows_text(&t, v, 1);
	CHECK(left_to_jansson(t.data), "rows_parse: escapes left to jansson");
	t.len = 0;
	v[0].subject = "CN=caf\xc3\xa9";
	cf_views_rows_text(&t, v, 1);
	CHECK(left_to_jansson(t.data),
	    "rows_parse: text that is not ASCII left to jansson");
	t.len = 0;
	v[0] = sample();
	v[0].status = "Weird";
	cf_views_rows_text(&t, v, 1);
	CHECK(left_to_jansson(t.data),
	    "rows_parse: a status it does not know left to jansson");
	t.len = 0;
	cf_views_json_text(&t, v, 1, NULL);
	CHECK(left_to_jansson(t.data), "rows_parse: the objects form left");
	t.len = 0;
	v[0] = sample();
	cf_views_rows_text(&t, v, 1);
	cf_text_put(&t, "x");
	CHECK(left_to_jansson(t.data), "rows_parse: trailing bytes left");
	t.data[t.len - 3] = '\0';
	CHECK(left_to_jansson(t.data), "rows_parse: a cut text left");
	text = xasprintf("{\"Fields\":[\"Thumbprint\",\"Status\"],"
			 "\"Rows\":[[\"%.39s\",\"Valid\"]]}",
	    thumb);
	CHECK(left_to_jansson(text), "rows_parse: a short thumbprint left");
	free(text);
	text = xasprintf("{\"Fields\":[\"Thumbprint\",\"Status\",\"DaysLeft\"],"
			 "\"Rows\":[[\"%s\",\"Valid\",050]]}",
	    thumb);
	CHECK(left_to_jansson(text),
	    "rows_parse: a number JSON does not allow (050) left to jansson");
	free(text);
	cf_text_clear(&t);
}

/* Whether cf_views_rows_last reads text as n rows ending in last ("" for
 * none), and cf_views_rows_parse reads the same count and last row. */
static int
last_as_parse(const char *text, size_t n, const char *last)
{
	char thumb[CF_THUMB_LEN + 1];
	struct cf_view *v = NULL;
	size_t got = 99, parsed = 0;
	int same;

	same = cf_views_rows_last(text, strlen(text), thumb, &got) == 1 &&
	       got == n && strcmp(thumb, last) == 0 &&
	       cf_views_rows_parse(text, strlen(text), &v, &parsed) == 1 &&
	       parsed == n &&
	       (n == 0 || strcmp(v[n - 1].thumbprint, last) == 0);
	cf_views_free(v, parsed);
	return same;
}

/* Whether cf_views_rows_last does not read text, setting no rows. */
static int
last_not_read(const char *text)
{
	char thumb[CF_THUMB_LEN + 1] = "x";
	size_t n = 7;

	return cf_views_rows_last(text, strlen(text), thumb, &n) == 0 &&
	       n == 0 && thumb[0] == '\0';
}

/* cf_views_rows_last: the count and last thumbprint of the agent's rows
 * text, without views, where cf_views_rows_parse would take it. */
static void
test_rows_last(void)
{
	static const char thumb[] = "0123456789ABCDEF0123456789ABCDEF01234567";
	struct cf_view v[3];
	struct cf_text t = {0};
	char *text;
	int i;

	for (i = 0; i < 3; i++) {
		v[i] = sample();
		v[i].thumbprint[0] = (char)('A' + i);
	}
	v[1].domains = "";
	cf_views_rows_text(&t, v, 3);
	CHECK(last_as_parse(t.data, 3, v[2].thumbprint),
	    "rows_last: the agent's rows, their count and last thumbprint");
	CHECK(last_as_parse(
		  "{\"Fields\": [\"Thumbprint\"], \"Rows\": []}", 0, ""),
	    "rows_last: no rows, no thumbprint");
	text = xasprintf(" {\"Fields\":[\"Status\",\"Extra\",\"thumbprint\","
			 "\"NotAfter\",\"Domains\"],\"Rows\":"
			 "[[\"Valid\",5,\"%s\",\"2026-01-02T03:04:05Z\",\"x\"],"
			 "[\"Valid\",-3,\"%.39sF\",null,[],true]] }\n",
	    thumb, thumb);
	CHECK(
	    last_as_parse(text, 2, "0123456789ABCDEF0123456789ABCDEF0123456F"),
	    "rows_last: the thumbprint found by its field, in any column");
	free(text);
	t.len = 0;
	cf_views_json_text(&t, v, 1, NULL);
	CHECK(last_not_read(t.data), "rows_last: the objects form not read");
	t.len = 0;
	v[2].subject = "CN=\"quoted\"";
	cf_views_rows_text(&t, v, 3);
	CHECK(last_not_read(t.data), "rows_last: escapes not read");
	t.len = 0;
	v[2] = sample();
	cf_views_rows_text(&t, v, 3);
	t.data[t.len - 3] = '\0';
	CHECK(last_not_read(t.data), "rows_last: a cut text not read");
	CHECK(last_not_read("{\"Fields\":[\"Status\"],\"Rows\":[[\"Valid\"]]}"),
	    "rows_last: rows without a thumbprint not read");
	cf_text_clear(&t);
}

/* strptime and timegm, as cf_json_time read every date before. */
static time_t
json_time_slow(const char *iso)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end != NULL && *end == '\0' ? timegm(&tm) : 0;
}

/* cf_json_time reads what strptime and timegm read: every day of years
 * from 1 to 9999 at a stride, out-of-range fields, loose forms. */
static void
test_json_time(void)
{
	static const char *const odd[] = {"2026-02-31T00:00:00Z",
	    "2026-13-01T00:00:00Z", "2026-01-05T24:00:00Z",
	    "2026-01-05T10:00:60Z", "2026-1-5T1:2:3Z", " 2026-01-05T10:00:00Z",
	    "2026-01-05T10:00:00", "2026-01-05T10:00:00Zx", "", "0000-00-00"};
	char iso[80]; /* room for any int in each field, for the compiler */
	int y, m, d, ok = 1;
	size_t i;

	for (y = 1; y <= 9999; y += 7)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= 31; d += 3) {
				snprintf(iso, sizeof(iso),
				    "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
				    (y + d) % 24, (m * 7) % 60, (y * 3) % 60);
				ok &= cf_json_time(iso) == json_time_slow(iso);
			}
	CHECK(ok, "json_time: dates as strptime and timegm read them");
	CHECK(cf_json_time("2026-11-25T14:48:12Z") == 1795618092,
	    "json_time: a known date");
	for (i = 0, ok = 1; i < sizeof(odd) / sizeof(odd[0]); i++)
		ok &= cf_json_time(odd[i]) == json_time_slow(odd[i]);
	CHECK(ok, "json_time: other forms as strptime reads them");
	CHECK(cf_json_time("2026-11-25 14:48:12Z") == 0,
	    "json_time: not a date, 0");
}

/* cf_number_text writes what printf's %lld writes, and its length. */
static void
test_number_text(void)
{
	static const long long n[] = {0, 1, -1, 9, 10, -10, 364, -365,
	    1234567890123LL, LLONG_MAX, LLONG_MIN};
	char got[24], want[32];
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		snprintf(want, sizeof(want), "%lld", n[i]);
		ok &= cf_number_text(n[i], got) == strlen(want) &&
		      strcmp(got, want) == 0;
	}
	CHECK(ok, "number_text: as %lld, from LLONG_MIN to LLONG_MAX");
	CHECK(cf_number_text(-7, got) == 2 && strcmp(got, "-7") == 0 &&
		  strcmp(got, "7") != 0,
	    "number_text: the sign kept");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("lookup"))
		test_lookup();
	if (check_test("text"))
		test_text();
	if (check_test("json_shape"))
		test_json_shape();
	if (check_test("json_utf8"))
		test_json_utf8();
	if (check_test("brief_and_days"))
		test_brief_and_days();
	if (check_test("json_text"))
		test_json_text();
	if (check_test("rows_parse"))
		test_rows_parse();
	if (check_test("rows_last"))
		test_rows_last();
	if (check_test("json_time"))
		test_json_time();
	if (check_test("number_text"))
		test_number_text();
	return check_done();
}
