/*
 * renew_state.c - a namespace's renewal state as the fleet file keeps
 * it (renew.h): decoded and checked when the file is read, encoded when
 * it is written, in one place.
 */
#include <stdio.h>
#include <string.h>

#include "renew.h"

/* A time member: absent or a non-negative integer; -1 otherwise. */
static int
time_of(const json_t *o, const char *key, time_t *t)
{
	const json_t *v = json_object_get(o, key);

	*t = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*t = (time_t)json_integer_value(v);
	return 0;
}

/* A string member into buf (n bytes): absent, or a string that fits;
 * -1 otherwise. */
static int
text_of(const json_t *o, const char *key, char *buf, size_t n)
{
	const json_t *v = json_object_get(o, key);

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= n)
		return -1;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
cf_renew_state_parse(
    const json_t *o, struct cf_renew_state *s, struct cf_error *err)
{
	static const char *const times[] = {
	    "last_failure", "last_success", "next_due", "ari_start", "ari_end"};
	time_t *const at[] = {&s->last_failure, &s->last_success, &s->next_due,
	    &s->ari_start, &s->ari_end};
	const json_t *f, *p;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (o == NULL || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return cf_errorf(err, CF_E_PARSE, "renewal: not an object");
	f = json_object_get(o, "failures");
	if (f != NULL && (!json_is_integer(f) || json_integer_value(f) < 0 ||
			     json_integer_value(f) > 1000000))
		return cf_errorf(
		    err, CF_E_PARSE, "renewal: failures: a count (0 or more)");
	s->failures = f != NULL ? (int)json_integer_value(f) : 0;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (time_of(o, times[i], at[i]) == -1)
			return cf_errorf(err, CF_E_PARSE,
			    "renewal: %s: a time (seconds since 1970)",
			    times[i]);
	p = json_object_get(o, "ari_pick");
	if (p != NULL && (!json_is_number(p) || json_number_value(p) < 0 ||
			     json_number_value(p) > 1))
		return cf_errorf(
		    err, CF_E_PARSE, "renewal: ari_pick: a number from 0 to 1");
	s->have_pick = p != NULL;
	s->pick = p != NULL ? json_number_value(p) : 0;
	if (text_of(o, "last_error", s->last_error, sizeof(s->last_error)) ||
	    text_of(o, "next_why", s->next_why, sizeof(s->next_why)) ||
	    text_of(o, "ari_id", s->ari_id, sizeof(s->ari_id)))
		return cf_errorf(err, CF_E_PARSE,
		    "renewal: last_error, next_why, ari_id: strings, not too "
		    "long");
	if (text_of(o, "certificate", s->certificate, sizeof(s->certificate)) ==
		-1 ||
	    (s->certificate[0] != '\0' &&
		(strlen(s->certificate) != CF_THUMB_LEN ||
		    strspn(s->certificate, "0123456789ABCDEF") !=
			CF_THUMB_LEN)))
		return cf_errorf(err, CF_E_PARSE,
		    "renewal: certificate: a thumbprint (40 upper-case hex "
		    "digits)");
	return 0;
}

int
cf_renew_state_failing(const struct cf_renew_state *s)
{
	return s->last_failure != 0 && s->last_failure >= s->last_success;
}

/* Sets key to t in o unless t is 0. */
static void
put_time(json_t *o, const char *key, time_t t)
{
	if (t != 0)
		json_object_set_new(o, key, json_integer((json_int_t)t));
}

/* Sets key to v in o unless v is "". */
static void
put_text(json_t *o, const char *key, const char *v)
{
	if (v[0] != '\0')
		json_object_set_new(o, key, json_string(v));
}

json_t *
cf_renew_state_json(const struct cf_renew_state *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "failures", json_integer(s->failures));
	put_time(o, "last_failure", s->last_failure);
	put_text(o, "last_error", s->last_error);
	put_time(o, "last_success", s->last_success);
	put_time(o, "next_due", s->next_due);
	put_text(o, "next_why", s->next_why);
	if (s->have_pick)
		json_object_set_new(o, "ari_pick", json_real(s->pick));
	put_text(o, "certificate", s->certificate);
	put_text(o, "ari_id", s->ari_id);
	put_time(o, "ari_start", s->ari_start);
	put_time(o, "ari_end", s->ari_end);
	return o;
}
