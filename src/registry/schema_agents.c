/*
 * schema_agents.c - the values the agents write (live, identity, status,
 * progress) and the sealed material the CLI writes for each of them: see
 * schema.h.  Kept apart from schema.c, which holds the keys and the
 * CLI's own values.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "schema.h"
#include "schema_int.h"
#include "util.h"

#define TEXT_MAX 4096 /* a step, an error, an address, a version */
#define IDENTITY_MAX 16384
#define SVC_MAX 64 /* services of one namespace in a status */
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* Whether s is text of 1 to max bytes with no control character. */
static int
text_ok(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (iscntrl((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The optional text member name of o into *out (new; NULL when absent
 * or null); -1 with the reason in why when it is not text. */
static int
opt_text(const json_t *o, const char *name, char **out, struct cf_error *why)
{
	const json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!text_ok(json_string_value(v), TEXT_MAX))
		return cf_errorf(why, CF_E_PARSE,
		    "\"%s\" is not text of at most %d bytes", name, TEXT_MAX);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* The member name of o, a count 0 or more, into *out. */
static int
count(const json_t *o, const char *name, long long *out, struct cf_error *why)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cf_errorf(
		    why, CF_E_PARSE, "\"%s\" is not a count 0 or more", name);
	*out = (long long)json_integer_value(v);
	return 0;
}

/* The member name of o, absent, null or a string that ok takes, into out
 * (size bytes; "" for none). */
static int
opt_fixed(const json_t *o, const char *name, int (*ok)(const char *), char *out,
    size_t size, struct cf_error *why)
{
	const json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!ok(s) || strlen(s) >= size)
		return cf_errorf(why, CF_E_PARSE, "\"%s\" is not a %s", name,
		    ok == schema_is_id
			? "rollout id (32 lower-case hex digits)"
			: "thumbprint (40 upper-case hex digits)");
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* s as a JSON string, or null when s is "" or NULL. */
static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* --- agents/<a>/live --- */

char *
schema_live_value(const struct schema_live *l)
{
	return schema_json_dump(
	    json_pack("{s:s, s:I, s:s}", "address", l->address, "started",
		(json_int_t)l->started, "version", l->version));
}

int
schema_live_parse(const char *key, const void *value, size_t len,
    struct schema_live *out, struct cf_error *err)
{
	json_t *o = NULL;
	const char *addr, *version;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	addr = json_string_value(json_object_get(o, "address"));
	version = json_string_value(json_object_get(o, "version"));
	if (!text_ok(addr, 300) || !text_ok(version, 64)) {
		cf_errorf(&why, CF_E_PARSE,
		    "needs \"address\" (HOST:PORT) and \"version\" strings");
		goto out;
	}
	if (count(o, "started", &out->started, &why) == -1)
		goto out;
	out->address = xstrdup(addr);
	out->version = xstrdup(version);
	rc = 0;
out:
	json_decref(o);
	if (rc == -1)
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	return rc;
}

void
schema_live_clear(struct schema_live *l)
{
	free(l->address);
	free(l->version);
	memset(l, 0, sizeof(*l));
}

/* --- agents/<a>/identity --- */

char *
schema_identity_value(const char *pem)
{
	return schema_json_dump(json_pack("{s:s}", "certificate", pem));
}

/* Whether pem is one PEM certificate: one BEGIN line first, one END line
 * last (a newline may follow), at most IDENTITY_MAX bytes. */
static int
one_pem(const char *pem)
{
	size_t n = pem != NULL ? strlen(pem) : 0, end = strlen(PEM_END);
	const char *last;

	if (n == 0 || n > IDENTITY_MAX || strncmp(pem, PEM_BEGIN, 27) != 0 ||
	    strstr(pem + 1, PEM_BEGIN) != NULL)
		return 0;
	while (n > 0 && (pem[n - 1] == '\n' || pem[n - 1] == '\r'))
		n--;
	last = strstr(pem, PEM_END);
	return last != NULL && (size_t)(last - pem) + end == n;
}

int
schema_identity_parse(const char *key, const void *value, size_t len,
    char **pem, struct cf_error *err)
{
	json_t *o = NULL;
	const char *s;
	int rc = -1;

	*pem = NULL;
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	s = json_string_value(json_object_get(o, "certificate"));
	if (!one_pem(s)) {
		cf_errorf(err, CF_E_PARSE,
		    "%s: \"certificate\" is not one PEM certificate of at "
		    "most %d bytes",
		    key, IDENTITY_MAX);
		goto out;
	}
	*pem = xstrdup(s);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* --- agents/<a>/status/<ns> --- */

static const char *const status_names[] = {
    [SCHEMA_ST_CONVERGED] = "converged",
    [SCHEMA_ST_WORKING] = "working",
    [SCHEMA_ST_FAILED] = "failed",
};

const char *
schema_status_state_name(enum schema_status_state s)
{
	return status_names[s];
}

/* svc[0..n) as [{"service": S, "thumbprint": T or null}]. */
static json_t *
svcs_json(const struct schema_svc *svc, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:o}", "service", svc[i].service,
			   "thumbprint", str_or_null(svc[i].thumb)));
	return a;
}

/* A service's name: the characters of a fleet name, shorter than the
 * field. */
static int
service_ok(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n >= sizeof(((struct schema_svc *)0)->service))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(".-_", s[i]) == NULL)
			return 0;
	return 1;
}

/* The array member name of o (absent: none) into *svc, *n (new). */
static int
svcs_load(const json_t *o, const char *name, struct schema_svc **svc, size_t *n,
    struct cf_error *why)
{
	const json_t *a = json_object_get(o, name), *v;
	const char *service;
	size_t i;

	*svc = NULL;
	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SVC_MAX)
		return cf_errorf(why, CF_E_PARSE,
		    "\"%s\" is not an array of at most %d services", name,
		    SVC_MAX);
	*svc = xcalloc(json_array_size(a) + 1, sizeof(**svc));
	json_array_foreach(a, i, v) {
		service = json_string_value(json_object_get(v, "service"));
		if (!service_ok(service))
			return cf_errorf(why, CF_E_PARSE,
			    "%s[%zu]: \"service\" is not a name", name, i);
		memcpy((*svc)[i].service, service, strlen(service) + 1);
		if (opt_fixed(v, "thumbprint", schema_is_thumb, (*svc)[i].thumb,
			sizeof((*svc)[i].thumb), why) == -1)
			return -1;
		*n = i + 1;
	}
	return 0;
}

char *
schema_status_value(const struct schema_status *s)
{
	json_t *o = json_pack("{s:I, s:o, s:o, s:b, s:s, s:I, s:o, s:o}",
	    "desired_rev", (json_int_t)s->desired_rev, "rollout",
	    str_or_null(s->rollout), "target", str_or_null(s->target),
	    "to_before", s->to_before, "state",
	    schema_status_state_name(s->state), "at", (json_int_t)s->at,
	    "services", svcs_json(s->services, s->nservices), "before",
	    svcs_json(s->before, s->nbefore));

	if (s->step != NULL)
		json_object_set_new(o, "step", json_string(s->step));
	if (s->error != NULL)
		json_object_set_new(o, "error", json_string(s->error));
	return schema_json_dump(o);
}

int
schema_status_parse(const char *key, const void *value, size_t len,
    struct schema_status *out, struct cf_error *err)
{
	json_t *o = NULL, *tb;
	struct cf_error why;
	int rc = -1, state;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	tb = json_object_get(o, "to_before");
	if (count(o, "desired_rev", &out->desired_rev, &why) == -1 ||
	    count(o, "at", &out->at, &why) == -1 ||
	    opt_fixed(o, "rollout", schema_is_id, out->rollout,
		sizeof(out->rollout), &why) == -1 ||
	    opt_fixed(o, "target", schema_is_thumb, out->target,
		sizeof(out->target), &why) == -1 ||
	    opt_text(o, "step", &out->step, &why) == -1 ||
	    opt_text(o, "error", &out->error, &why) == -1 ||
	    svcs_load(o, "services", &out->services, &out->nservices, &why) ==
		-1 ||
	    svcs_load(o, "before", &out->before, &out->nbefore, &why) == -1)
		goto out;
	if ((state = schema_name_index(status_names,
		 sizeof(status_names) / sizeof(status_names[0]),
		 json_string_value(json_object_get(o, "state")))) < 0) {
		cf_errorf(&why, CF_E_PARSE,
		    "\"state\" is not converged, working or failed");
		goto out;
	}
	out->state = (enum schema_status_state)state;
	if (tb != NULL && !json_is_boolean(tb)) {
		cf_errorf(
		    &why, CF_E_PARSE, "\"to_before\" is not true or false");
		goto out;
	}
	out->to_before = json_is_true(tb);
	if (out->to_before && out->target[0] != '\0') {
		cf_errorf(&why, CF_E_PARSE,
		    "\"target\" is null when \"to_before\" is true");
		goto out;
	}
	if (out->state == SCHEMA_ST_FAILED && out->error == NULL) {
		cf_errorf(&why, CF_E_PARSE, "a failed status needs \"error\"");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	if (rc == -1) {
		schema_status_clear(out);
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	}
	return rc;
}

void
schema_status_clear(struct schema_status *s)
{
	free(s->step);
	free(s->error);
	free(s->services);
	free(s->before);
	memset(s, 0, sizeof(*s));
}

/* --- progress/<c>/<ns> --- */

static const char *const phase_names[] = {
    [SCHEMA_PH_MOVING] = "moving",
    [SCHEMA_PH_SOAK] = "soak",
    [SCHEMA_PH_REVERTING] = "reverting",
    [SCHEMA_PH_STOPPED] = "stopped",
    [SCHEMA_PH_DONE] = "done",
};

const char *
schema_phase_name(enum schema_phase p)
{
	return phase_names[p];
}

char *
schema_progress_value(const struct schema_progress *p)
{
	json_t *pending = json_array();
	json_t *o;
	size_t i;

	for (i = 0; i < p->npending; i++)
		json_array_append_new(pending, json_string(p->pending[i]));
	o = json_pack("{s:I, s:o, s:I, s:s, s:I, s:o}", "desired_rev",
	    (json_int_t)p->desired_rev, "rollout", str_or_null(p->rollout),
	    "wave", (json_int_t)p->wave, "phase", schema_phase_name(p->phase),
	    "since", (json_int_t)p->since, "pending", pending);
	if (p->member != NULL)
		json_object_set_new(o, "member", json_string(p->member));
	if (p->step != NULL)
		json_object_set_new(o, "step", json_string(p->step));
	if (p->error != NULL)
		json_object_set_new(o, "error", json_string(p->error));
	return schema_json_dump(o);
}

/* The array "pending" of o (absent: none): fleet names, into p. */
static int
pending_load(const json_t *o, struct schema_progress *p, struct cf_error *why)
{
	const json_t *a = json_object_get(o, "pending"), *v;
	const char *s;
	struct cf_error ignored;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return cf_errorf(
		    why, CF_E_PARSE, "\"pending\" is not an array of names");
	p->pending = xcalloc(json_array_size(a) + 1, sizeof(*p->pending));
	json_array_foreach(a, i, v) {
		s = json_string_value(v);
		if (s == NULL || schema_name_check(s, &ignored) == -1)
			return cf_errorf(
			    why, CF_E_PARSE, "pending[%zu]: not a name", i);
		p->pending[p->npending++] = xstrdup(s);
	}
	return 0;
}

int
schema_progress_parse(const char *key, const void *value, size_t len,
    struct schema_progress *out, struct cf_error *err)
{
	json_t *o = NULL;
	long long wave = 0;
	struct cf_error why, ignored;
	int rc = -1, phase;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	if (count(o, "desired_rev", &out->desired_rev, &why) == -1 ||
	    count(o, "since", &out->since, &why) == -1 ||
	    count(o, "wave", &wave, &why) == -1 ||
	    opt_fixed(o, "rollout", schema_is_id, out->rollout,
		sizeof(out->rollout), &why) == -1 ||
	    opt_text(o, "member", &out->member, &why) == -1 ||
	    opt_text(o, "step", &out->step, &why) == -1 ||
	    opt_text(o, "error", &out->error, &why) == -1 ||
	    pending_load(o, out, &why) == -1)
		goto out;
	if (wave < 1 || wave > 1000000) {
		cf_errorf(&why, CF_E_PARSE, "\"wave\" is not a wave from 1");
		goto out;
	}
	out->wave = (size_t)wave;
	if (out->member != NULL &&
	    schema_name_check(out->member, &ignored) == -1) {
		cf_errorf(&why, CF_E_PARSE, "\"member\" is not a name");
		goto out;
	}
	if ((phase = schema_name_index(phase_names,
		 sizeof(phase_names) / sizeof(phase_names[0]),
		 json_string_value(json_object_get(o, "phase")))) < 0) {
		cf_errorf(&why, CF_E_PARSE,
		    "\"phase\" is not moving, soak, reverting, stopped or "
		    "done");
		goto out;
	}
	out->phase = (enum schema_phase)phase;
	rc = 0;
out:
	json_decref(o);
	if (rc == -1) {
		schema_progress_clear(out);
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	}
	return rc;
}

void
schema_progress_clear(struct schema_progress *p)
{
	size_t i;

	free(p->member);
	free(p->step);
	free(p->error);
	for (i = 0; i < p->npending; i++)
		free(p->pending[i]);
	free(p->pending);
	memset(p, 0, sizeof(*p));
}

/* --- sealed/<a>/<ns> --- */

char *
schema_sealed_value(const struct schema_sealed *s)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "thumbprint", s->thumbprint,
	    "rollout", s->rollout, "wave", (json_int_t)s->wave);
	char *b64;

	if (s->blob.len > 0) {
		b64 = cf_base64_new(s->blob.data, s->blob.len);
		json_object_set_new(o, "sealed", json_string(b64));
		free(b64);
	}
	return schema_json_dump(o);
}

int
schema_sealed_parse(const char *key, const void *value, size_t len,
    struct schema_sealed *out, struct cf_error *err)
{
	json_t *o = NULL;
	const json_t *wave, *sealed;
	const char *thumb, *id, *b64;
	struct cf_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	cf_error_clear(&why);
	if (schema_json_load(key, value, len, &o, err) == -1)
		return -1;
	thumb = json_string_value(json_object_get(o, "thumbprint"));
	id = json_string_value(json_object_get(o, "rollout"));
	wave = json_object_get(o, "wave");
	sealed = json_object_get(o, "sealed");
	b64 = json_string_value(sealed);
	if (!schema_is_thumb(thumb) || !schema_is_id(id)) {
		cf_errorf(&why, CF_E_PARSE,
		    "needs \"thumbprint\" (40 upper-case hex digits) and "
		    "\"rollout\" (32 lower-case hex digits)");
		goto out;
	}
	if (!json_is_integer(wave) || json_integer_value(wave) < 1) {
		cf_errorf(&why, CF_E_PARSE, "needs \"wave\" (1 or more)");
		goto out;
	}
	/* absent: the member holds the certificate already (the source) */
	if (sealed != NULL && (b64 == NULL || b64[0] == '\0')) {
		cf_errorf(&why, CF_E_PARSE, "\"sealed\" is not Base64");
		goto out;
	}
	if (b64 != NULL && cf_base64_decode(b64, strlen(b64), "\"sealed\"",
			       &out->blob, &why) == -1)
		goto out;
	memcpy(out->thumbprint, thumb, CF_THUMB_LEN + 1);
	memcpy(out->rollout, id, sizeof(out->rollout));
	out->wave = (size_t)json_integer_value(wave);
	rc = 0;
out:
	json_decref(o);
	if (rc == -1) {
		schema_sealed_clear(out);
		cf_errorf(err, CF_E_PARSE, "%s: %s", key, why.msg);
	}
	return rc;
}

void
schema_sealed_clear(struct schema_sealed *s)
{
	if (s->blob.data != NULL)
		OPENSSL_cleanse(s->blob.data, s->blob.len);
	cf_buf_clear(&s->blob);
	memset(s, 0, sizeof(*s));
}
