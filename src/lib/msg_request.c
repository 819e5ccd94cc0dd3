/*
 * msg_request.c - the request bodies of the API, each encoder beside its
 * decoder: see msg.h and docs/api.md.  Outside text goes into JSON
 * through cf_json_string (bytes that are not UTF-8 written \xNN); a
 * password never is altered, so one that is not UTF-8 cannot travel.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "msg.h"
#include "util.h"
#include "view.h"

#define MAX_FILES 1000
#define MAX_NAMES 1000
#define MAX_NAME_LEN 255

/* ---- reading fields -------------------------------------------------- */

/* The string field key of body into *out (lent; NULL when absent or
 * null); -1 when it is not a string. */
static int
field_str(json_t *body, const char *key, const char **out, struct cf_error *err)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cf_errorf(err, CF_E_USAGE, "%s: must be a string", key);
	*out = json_string_value(v);
	return 0;
}

/* As field_str, and -1 when absent. */
static int
field_required(
    json_t *body, const char *key, const char **out, struct cf_error *err)
{
	if (field_str(body, key, out, err) == -1)
		return -1;
	if (*out == NULL)
		return cf_errorf(err, CF_E_USAGE, "%s: required", key);
	return 0;
}

/* The boolean field key of body into *out (0 when absent or null). */
static int
field_bool(json_t *body, const char *key, int *out, struct cf_error *err)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cf_errorf(
		    err, CF_E_USAGE, "%s: must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* One name of a list: printable, so that the audit trail stays one
 * line per record whatever a client sends. */
static int
name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > MAX_NAME_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* The optional field key of body, an array of names (at most MAX_NAMES
 * of 1 to MAX_NAME_LEN printable characters), joined by ", " into *out
 * (new; NULL when absent or null). */
static int
field_names(json_t *body, const char *key, char **out, struct cf_error *err)
{
	json_t *a = body ? json_object_get(body, key) : NULL, *x;
	const char *name;
	char *joined;
	size_t i;

	*out = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return cf_errorf(err, CF_E_USAGE,
		    "%s: must be an array of "
		    "names",
		    key);
	if (json_array_size(a) > MAX_NAMES)
		return cf_errorf(
		    err, CF_E_LIMIT, "%s: more than %d names", key, MAX_NAMES);
	json_array_foreach(a, i, x) {
		name = json_string_value(x);
		if (name == NULL || !name_ok(name)) {
			free(*out);
			*out = NULL;
			return cf_errorf(err, CF_E_USAGE,
			    "%s[%zu]: a name of 1 to %d printable characters",
			    key, i, MAX_NAME_LEN);
		}
		joined = *out ? xasprintf("%s, %s", *out, name) : xstrdup(name);
		free(*out);
		*out = joined;
	}
	return 0;
}

/* ---- writing fields -------------------------------------------------- */

/* Text as JSON, json null for NULL: bytes that are not UTF-8 are written
 * \xNN by the one encoder of outside text (a name the agent then reports
 * as unknown, shown as it was). */
static json_t *
jtext(const char *s)
{
	return s == NULL ? json_null() : cf_json_string(s);
}

/* The password as JSON, never altered: it must be UTF-8 to travel. */
static int
jpassword(const char *pw, json_t **out, struct cf_error *err)
{
	if (pw == NULL)
		*out = json_null();
	else if ((*out = json_string(pw)) == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "the password is not UTF-8 text, so it cannot be sent "
		    "to an agent");
	return 0;
}

/* ---- files: [{name, data (Base64)}] ---------------------------------- */

static json_t *
files_encode(const struct cf_input *in, size_t n)
{
	json_t *files = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		char *data = cf_base64_new(in[i].data, in[i].len);
		json_array_append_new(
		    files, json_pack("{s:o, s:s}", "name", jtext(in[i].name),
			       "data", data));
		OPENSSL_cleanse(data, strlen(data));
		free(data);
	}
	return files;
}

void
cf_msg_files_clear(struct cf_msg_files *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		if (f->bufs[i].data != NULL)
			OPENSSL_cleanse(f->bufs[i].data, f->bufs[i].len);
		cf_buf_clear(&f->bufs[i]);
	}
	free(f->bufs);
	free(f->in);
	memset(f, 0, sizeof(*f));
}

/* The files of body, decoded into f, which holds what it made even on
 * failure (cf_msg_files_clear). */
static int
files_decode(json_t *body, struct cf_msg_files *f, struct cf_error *err)
{
	json_t *files = json_object_get(body, "files"), *x;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (!json_is_array(files) || json_array_size(files) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "files: required, an array of {name, data}");
	if (json_array_size(files) > MAX_FILES)
		return cf_errorf(err, CF_E_LIMIT,
		    "more than %d files in one import", MAX_FILES);
	f->in = xcalloc(json_array_size(files), sizeof(*f->in));
	f->bufs = xcalloc(json_array_size(files), sizeof(*f->bufs));
	json_array_foreach(files, i, x) {
		const char *name =
		    json_string_value(json_object_get(x, "name"));
		json_t *data = json_object_get(x, "data");
		f->n++;
		if (name == NULL || !json_is_string(data))
			return cf_errorf(err, CF_E_USAGE,
			    "files[%zu]: needs a name and Base64 data", i);
		if (cf_base64_decode(json_string_value(data),
			json_string_length(data), name, &f->bufs[i], err) == -1)
			return -1;
		f->in[i].name = name;
		f->in[i].data = f->bufs[i].data;
		f->in[i].len = f->bufs[i].len;
	}
	return 0;
}

void
cf_msg_body_wipe(json_t *body)
{
	json_t *files = json_object_get(body, "files"), *f;
	size_t i;

	cf_json_wipe(json_object_get(body, "password"));
	json_array_foreach(files, i, f) {
		cf_json_wipe(json_object_get(f, "data"));
	}
}

/* ---- import ------------------------------------------------------------ */

int
cf_msg_import_encode(const struct cf_input *in, size_t n,
    const struct cf_import_opts *o, json_t **body, struct cf_error *err)
{
	json_t *pw;

	if (jpassword(o->password, &pw, err) == -1)
		return -1;
	*body = json_pack("{s:o, s:o, s:b, s:o, s:o, s:b}", "files",
	    files_encode(in, n), "password", pw, "exportable", o->exportable,
	    "friendly_name", jtext(o->friendly_name), "services",
	    jtext(o->services), "force", o->force);
	if (o->skip_missing) /* older agents refuse no field */
		json_object_set_new(
		    *body, "skip_missing_services", json_true());
	return 0;
}

/* The fields import and import-sealed share. */
static int
import_opts_decode(json_t *body, struct cf_import_opts *o, struct cf_error *err)
{
	if (field_str(body, "services", &o->services, err) == -1 ||
	    field_bool(body, "force", &o->force, err) == -1 ||
	    field_bool(body, "skip_missing_services", &o->skip_missing, err) ==
		-1)
		return -1;
	return 0;
}

int
cf_msg_import_decode(json_t *body, struct cf_import_opts *o,
    struct cf_msg_files *files, struct cf_error *err)
{
	memset(o, 0, sizeof(*o));
	memset(files, 0, sizeof(*files));
	if (field_str(body, "password", &o->password, err) == -1 ||
	    field_bool(body, "exportable", &o->exportable, err) == -1 ||
	    field_str(body, "friendly_name", &o->friendly_name, err) == -1 ||
	    import_opts_decode(body, o, err) == -1 ||
	    files_decode(body, files, err) == -1)
		return -1;
	return 0;
}

/* ---- export ------------------------------------------------------------ */

static const char *const formats[] = {
    [CF_EXPORT_P12] = "p12",
    [CF_EXPORT_P12_B64] = "p12-base64",
    [CF_EXPORT_PEM] = "pem",
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

int
cf_msg_export_encode(const char *thumb, const struct cf_export_opts *o,
    json_t **body, struct cf_error *err)
{
	json_t *pw;

	if (jpassword(o->password, &pw, err) == -1)
		return -1;
	*body = json_pack("{s:o, s:s, s:b, s:b, s:b, s:o}", "thumbprint",
	    jtext(thumb), "format", formats[o->format], "legacy", o->legacy,
	    "transfer", o->transfer, "no_key", o->no_key, "password", pw);
	if (o->targets != NULL)
		json_object_set_new(*body, "targets", cf_json_list(o->targets));
	return 0;
}

int
cf_msg_export_decode(json_t *body, const char **thumb, struct cf_export_opts *o,
    char **targets, struct cf_error *err)
{
	const char *format;
	size_t i;

	memset(o, 0, sizeof(*o));
	*targets = NULL;
	if (field_required(body, "thumbprint", thumb, err) == -1 ||
	    field_str(body, "format", &format, err) == -1 ||
	    field_bool(body, "legacy", &o->legacy, err) == -1 ||
	    field_bool(body, "transfer", &o->transfer, err) == -1 ||
	    field_bool(body, "no_key", &o->no_key, err) == -1 ||
	    field_str(body, "password", &o->password, err) == -1 ||
	    field_names(body, "targets", targets, err) == -1)
		return -1;
	o->targets = *targets;
	o->format = CF_EXPORT_P12;
	for (i = 0; format != NULL && i < NFORMATS; i++)
		if (strcmp(format, formats[i]) == 0)
			break;
	if (format != NULL && i == NFORMATS)
		return cf_errorf(err, CF_E_USAGE,
		    "format %s: the formats are p12, p12-base64 and pem",
		    format);
	if (format != NULL)
		o->format = (enum cf_export_format)i;
	return 0;
}

/* ---- enable, disable, remove, replace, renew --------------------------- */

json_t *
cf_msg_enable_encode(const char *thumb, const char *services, int force)
{
	return json_pack("{s:o, s:o, s:b}", "thumbprint", jtext(thumb),
	    "services", jtext(services), "force", force);
}

int
cf_msg_enable_decode(json_t *body, const char **thumb, const char **services,
    int *force, struct cf_error *err)
{
	if (field_required(body, "thumbprint", thumb, err) == -1 ||
	    field_required(body, "services", services, err) == -1 ||
	    field_bool(body, "force", force, err) == -1)
		return -1;
	return 0;
}

json_t *
cf_msg_disable_encode(const char *thumb, const char *services)
{
	return json_pack("{s:o, s:o}", "thumbprint", jtext(thumb), "services",
	    jtext(services));
}

int
cf_msg_disable_decode(json_t *body, const char **thumb, const char **services,
    struct cf_error *err)
{
	if (field_required(body, "thumbprint", thumb, err) == -1 ||
	    field_required(body, "services", services, err) == -1)
		return -1;
	return 0;
}

json_t *
cf_msg_remove_encode(const char *thumb, int force)
{
	return json_pack(
	    "{s:o, s:b}", "thumbprint", jtext(thumb), "force", force);
}

int
cf_msg_remove_decode(
    json_t *body, const char **thumb, int *force, struct cf_error *err)
{
	if (field_required(body, "thumbprint", thumb, err) == -1 ||
	    field_bool(body, "force", force, err) == -1)
		return -1;
	return 0;
}

json_t *
cf_msg_replace_encode(const char *old, const char *to, int force)
{
	return json_pack("{s:o, s:o, s:b}", "old", jtext(old), "new", jtext(to),
	    "force", force);
}

int
cf_msg_replace_decode(json_t *body, const char **old, const char **to,
    int *force, struct cf_error *err)
{
	if (field_required(body, "old", old, err) == -1 ||
	    field_required(body, "new", to, err) == -1 ||
	    field_bool(body, "force", force, err) == -1)
		return -1;
	return 0;
}

json_t *
cf_msg_renew_encode(const char *thumb, int keep_key)
{
	return json_pack(
	    "{s:o, s:b}", "thumbprint", jtext(thumb), "keep_key", keep_key);
}

int
cf_msg_renew_decode(
    json_t *body, const char **thumb, int *keep_key, struct cf_error *err)
{
	if (field_required(body, "thumbprint", thumb, err) == -1 ||
	    field_bool(body, "keep_key", keep_key, err) == -1)
		return -1;
	return 0;
}

/* ---- request new, request complete, new-self-signed -------------------- */

json_t *
cf_msg_request_new_encode(const struct cf_request_opts *o)
{
	return json_pack("{s:o, s:o, s:o, s:b, s:o}", "subject",
	    jtext(o->subject), "domains", jtext(o->domains), "key",
	    jtext(o->key), "exportable", o->exportable, "friendly_name",
	    jtext(o->friendly_name));
}

int
cf_msg_request_new_decode(
    json_t *body, struct cf_request_opts *o, struct cf_error *err)
{
	memset(o, 0, sizeof(*o));
	if (field_required(body, "subject", &o->subject, err) == -1 ||
	    field_str(body, "domains", &o->domains, err) == -1 ||
	    field_str(body, "key", &o->key, err) == -1 ||
	    field_str(body, "friendly_name", &o->friendly_name, err) == -1 ||
	    field_bool(body, "exportable", &o->exportable, err) == -1)
		return -1;
	return 0;
}

json_t *
cf_msg_request_complete_encode(const struct cf_input *in, size_t n)
{
	return json_pack("{s:o}", "files", files_encode(in, n));
}

int
cf_msg_request_complete_decode(
    json_t *body, struct cf_msg_files *files, struct cf_error *err)
{
	if (files_decode(body, files, err) == -1)
		return -1;
	if (files->n != 1)
		return cf_errorf(
		    err, CF_E_USAGE, "files: one answer at a time");
	return 0;
}

json_t *
cf_msg_new_self_signed_encode(const struct cf_selfsigned_opts *o)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:b}", "subject",
	    jtext(o->subject), "domains", jtext(o->domains), "key",
	    jtext(o->key), "days",
	    o->days ? json_integer(o->days) : json_null(), "services",
	    jtext(o->services), "exportable", o->exportable, "friendly_name",
	    jtext(o->friendly_name), "force", o->force);
}

int
cf_msg_new_self_signed_decode(
    json_t *body, struct cf_selfsigned_opts *o, struct cf_error *err)
{
	json_t *days = body ? json_object_get(body, "days") : NULL;

	memset(o, 0, sizeof(*o));
	if (field_required(body, "subject", &o->subject, err) == -1 ||
	    field_str(body, "domains", &o->domains, err) == -1 ||
	    field_str(body, "key", &o->key, err) == -1 ||
	    field_str(body, "services", &o->services, err) == -1 ||
	    field_str(body, "friendly_name", &o->friendly_name, err) == -1 ||
	    field_bool(body, "exportable", &o->exportable, err) == -1 ||
	    field_bool(body, "force", &o->force, err) == -1)
		return -1;
	if (days == NULL || json_is_null(days))
		return 0;
	if (!json_is_integer(days) || json_integer_value(days) < 1 ||
	    json_integer_value(days) > 36500)
		return cf_errorf(err, CF_E_USAGE,
		    "days: must be a whole number from 1 to 36500");
	o->days = (int)json_integer_value(days);
	return 0;
}

/* ---- export-sealed, import-sealed -------------------------------------- */

json_t *
cf_msg_export_sealed_encode(
    const char *thumb, const char *const *pems, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, jtext(pems[i]));
	return json_pack(
	    "{s:o, s:o}", "thumbprint", jtext(thumb), "recipients", a);
}

int
cf_msg_export_sealed_decode(json_t *body, const char **thumb,
    const char ***pems, size_t *n, struct cf_error *err)
{
	json_t *a = body ? json_object_get(body, "recipients") : NULL, *x;
	const char **list;
	size_t i;

	*pems = NULL;
	*n = 0;
	if (field_required(body, "thumbprint", thumb, err) == -1)
		return -1;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return cf_errorf(err, CF_E_USAGE,
		    "recipients: required, the PEM certificates of the target "
		    "agents");
	list = xcalloc(json_array_size(a), sizeof(*list));
	json_array_foreach(a, i, x) {
		if ((list[i] = json_string_value(x)) == NULL) {
			free(list);
			return cf_errorf(err, CF_E_USAGE,
			    "recipients[%zu]: a PEM string", i);
		}
	}
	*pems = list;
	*n = json_array_size(a);
	return 0;
}

json_t *
cf_msg_import_sealed_encode(
    const struct cf_buf *sealed, const struct cf_import_opts *o)
{
	char *b64 = cf_base64_new(sealed->data, sealed->len);
	json_t *body = json_pack("{s:s, s:o, s:b}", "sealed", b64, "services",
	    jtext(o->services), "force", o->force);

	if (o->skip_missing)
		json_object_set_new(body, "skip_missing_services", json_true());
	free(b64);
	return body;
}

int
cf_msg_import_sealed_decode(json_t *body, struct cf_buf *sealed,
    struct cf_import_opts *o, struct cf_error *err)
{
	const char *b64;

	memset(o, 0, sizeof(*o));
	memset(sealed, 0, sizeof(*sealed));
	if (field_required(body, "sealed", &b64, err) == -1 ||
	    import_opts_decode(body, o, err) == -1 ||
	    cf_base64_decode(b64, strlen(b64), "sealed", sealed, err) == -1)
		return -1;
	return 0;
}
