/*
 * msg.h - each JSON message of the API (docs/api.md) defined once: its
 * encoder beside its decoder, so that a field changes in one file.  The
 * CLI encodes requests and decodes replies (src/cli/wire.c, errors in
 * client.c); the agent's
 * operations (api_*.c) decode requests and encode replies, and its
 * routes (src/agent/routes.c) encode the error reply.  Request
 * bodies are in msg_request.c, the arguments a query carries in
 * msg_query.c, replies in msg_reply.c; the fields of a
 * certificate are view.h's (cf_view_json, cf_field_name).
 *
 * Encoders return a new reference.  Decoders lend strings from the JSON
 * they read (it must outlive them) unless a field says new; they set
 * only what the message carries, after zeroing the struct they fill.
 * A request decoder fails with CF_E_USAGE (a field of the wrong type, a
 * required one absent), CF_E_LIMIT or CF_E_PARSE (Base64); a reply
 * decoder with CF_E_PARSE, "the agent's answer is malformed: ...".
 */
#ifndef CF_MSG_H
#define CF_MSG_H

#include <stddef.h>

#include <jansson.h>

#include "ops.h"
#include "store.h"

/* ---- requests: the CLI encodes, the agent decodes ------------------ */

/* Files decoded from a request: in[i] lends its name from the body and
 * its data from bufs[i]. */
struct cf_msg_files {
	struct cf_input *in;
	struct cf_buf *bufs;
	size_t n;
};
/* Wipes and frees the decoded files; NULL-safe. */
void cf_msg_files_clear(struct cf_msg_files *f);

/* Wipes the secrets a request body holds in place: the password and the
 * files' data.  For a body, either side, once it is used. */
void cf_msg_body_wipe(json_t *body);

/* import: {files, password, exportable, friendly_name, services, force
 * [, skip_missing_services]}.  -1 (CF_E_USAGE) when the password is not
 * UTF-8: it must travel unaltered. */
int cf_msg_import_encode(const struct cf_input *in, size_t n,
    const struct cf_import_opts *o, json_t **body, struct cf_error *err);
int cf_msg_import_decode(json_t *body, struct cf_import_opts *o,
    struct cf_msg_files *files, struct cf_error *err);

/* export: {thumbprint, format, legacy, transfer, no_key, password
 * [, targets]}; the decoded o->targets is *targets (new, joined by
 * ", "). */
int cf_msg_export_encode(const char *thumb, const struct cf_export_opts *o,
    json_t **body, struct cf_error *err);
int cf_msg_export_decode(json_t *body, const char **thumb,
    struct cf_export_opts *o, char **targets, struct cf_error *err);

/* enable: {thumbprint, services, force}, the first two required. */
json_t *cf_msg_enable_encode(
    const char *thumb, const char *services, int force);
int cf_msg_enable_decode(json_t *body, const char **thumb,
    const char **services, int *force, struct cf_error *err);

/* disable: {thumbprint, services}, both required. */
json_t *cf_msg_disable_encode(const char *thumb, const char *services);
int cf_msg_disable_decode(json_t *body, const char **thumb,
    const char **services, struct cf_error *err);

/* remove: {thumbprint, force}. */
json_t *cf_msg_remove_encode(const char *thumb, int force);
int cf_msg_remove_decode(
    json_t *body, const char **thumb, int *force, struct cf_error *err);

/* replace: {old, new, force}: old's services move to new. */
json_t *cf_msg_replace_encode(const char *old, const char *to, int force);
int cf_msg_replace_decode(json_t *body, const char **old, const char **to,
    int *force, struct cf_error *err);

/* renew: {thumbprint, keep_key}. */
json_t *cf_msg_renew_encode(const char *thumb, int keep_key);
int cf_msg_renew_decode(
    json_t *body, const char **thumb, int *keep_key, struct cf_error *err);

/* request new: {subject, domains, key, exportable, friendly_name}. */
json_t *cf_msg_request_new_encode(const struct cf_request_opts *o);
int cf_msg_request_new_decode(
    json_t *body, struct cf_request_opts *o, struct cf_error *err);

/* request complete: {files}, one file: the CA's answer. */
json_t *cf_msg_request_complete_encode(const struct cf_input *in, size_t n);
int cf_msg_request_complete_decode(
    json_t *body, struct cf_msg_files *files, struct cf_error *err);

/* new-self-signed: {subject, domains, key, days, services, exportable,
 * friendly_name, force}; days null for the default. */
json_t *cf_msg_new_self_signed_encode(const struct cf_selfsigned_opts *o);
int cf_msg_new_self_signed_decode(
    json_t *body, struct cf_selfsigned_opts *o, struct cf_error *err);

/* export-sealed: {thumbprint, recipients: [PEM, ...]}; *pems new (the
 * strings lent by body), *n of them. */
json_t *cf_msg_export_sealed_encode(
    const char *thumb, const char *const *pems, size_t n);
int cf_msg_export_sealed_decode(json_t *body, const char **thumb,
    const char ***pems, size_t *n, struct cf_error *err);

/* import-sealed: {sealed (Base64), services, force
 * [, skip_missing_services]}; *sealed new (cf_buf_clear). */
json_t *cf_msg_import_sealed_encode(
    const struct cf_buf *sealed, const struct cf_import_opts *o);
int cf_msg_import_sealed_decode(json_t *body, struct cf_buf *sealed,
    struct cf_import_opts *o, struct cf_error *err);

/* ---- queries: get's, services' and log's arguments (msg_query.c) ---- */

/* get: "thumbprint=THUMB" (THUMB as given), or the page and filter of q:
 * "after=T&limit=N" and "expiring_days=N" or "expiring_percent=N" (new;
 * NULL when there is nothing to say).  The decoder fills *q (limit at
 * most CF_GET_PAGE_MAX, else CF_E_USAGE); q->arg is *thumb and
 * q->after *after, new strings (the caller frees them), NULL when
 * absent. */
char *cf_msg_get_query(const char *thumb, const struct cf_get_query *q);
int cf_msg_get_query_decode(const char *qs, struct cf_get_query *q,
    char **thumb, char **after, struct cf_error *err);

/* services: "probe=0" (static) without live handshakes, NULL with them;
 * the decoder says whether to probe. */
const char *cf_msg_services_query(int probe);
int cf_msg_services_query_decode(const char *q);

/* log: the page as "since=S&after=A&before=B&limit=N&newest=0|1" (new).
 * Decoded into *p: since, after and before from 0 up, limit up to
 * CF_LOG_PAGE_MAX (0 or absent: that), newest 0 or 1; -1 with CF_E_USAGE
 * naming a key out of range. */
char *cf_msg_log_query(const struct cf_audit_page *p);
int cf_msg_log_query_decode(
    const char *q, struct cf_audit_page *p, struct cf_error *err);

/* ---- replies: the agent encodes, the CLI decodes ------------------- */

/* Any failure: {code, message}, code cf_code_name's.  The decoder sets
 * *err from o: the code by its name (CF_E_INTERNAL for one it does not
 * know, fallback when there is none); -1 when o holds no message. */
json_t *cf_msg_error_encode(int code, const char *msg);
int cf_msg_error_decode(json_t *o, int fallback, struct cf_error *err);

/* import, new-self-signed, import-sealed: {results: [{Thumbprint,
 * Services, Result, Detail, SkippedServices}]}.  Decoded: *r new
 * (cf_import_results_free), what lent by o. */
json_t *cf_msg_results_encode(const struct cf_import_result *r, size_t n);
int cf_msg_results_decode(
    json_t *o, struct cf_import_result **r, size_t *n, struct cf_error *err);

/* get: [certificate, ...], each cf_view_json's object, or in the rows
 * form (rows=1) {"Fields": [names], "Rows": [[values], ...]}: a third
 * less text and half the parsing.  The decoder takes either.  Decoded:
 * *v new (cf_views_free), status lent by a. */
json_t *cf_msg_views_encode(const struct cf_view *v, size_t n);
json_t *cf_msg_view_rows_encode(const struct cf_view *v, size_t n);
int cf_msg_views_decode(
    json_t *a, struct cf_view **v, size_t *n, struct cf_error *err);

/* disable, remove: {thumbprint}, the full thumbprint. */
json_t *cf_msg_thumb_encode(const char *thumb);
int cf_msg_thumb_decode(
    json_t *o, char thumb[CF_THUMB_LEN + 1], struct cf_error *err);

/* enable, request complete: {thumbprint, detail}; *detail new, NULL when
 * empty. */
json_t *cf_msg_detail_encode(const char *thumb, const char *detail);
int cf_msg_detail_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], char **detail,
    struct cf_error *err);

/* replace: {thumbprint, services, detail}: the new certificate and the
 * services moved to it; *moved (comma-separated) and *detail new. */
json_t *cf_msg_moved_encode(
    const char *thumb, const char *moved, const char *detail);
int cf_msg_moved_decode(json_t *o, char thumb[CF_THUMB_LEN + 1], char **moved,
    char **detail, struct cf_error *err);

/* request new, renew: {thumbprint, csr}; the PEM into *pem (new). */
json_t *cf_msg_csr_encode(const char *thumb, const char *pem);
int cf_msg_csr_decode(json_t *o, char thumb[CF_THUMB_LEN + 1],
    struct cf_buf *pem, struct cf_error *err);

/* export: {thumbprint, data (Base64)}; the file into *data (new).  Both
 * sides wipe the Base64: it may hold a key. */
json_t *cf_msg_data_encode(const char *thumb, const struct cf_buf *data);
int cf_msg_data_decode(json_t *o, char thumb[CF_THUMB_LEN + 1],
    struct cf_buf *data, struct cf_error *err);

/* export-sealed: {thumbprint, sealed (Base64)}; the bytes into *sealed
 * (new). */
json_t *cf_msg_sealed_encode(const char *thumb, const struct cf_buf *sealed);
int cf_msg_sealed_decode(json_t *o, char thumb[CF_THUMB_LEN + 1],
    struct cf_buf *sealed, struct cf_error *err);

/* whoami: {agent, role, client, version[, certificate, transfer]}: the
 * identity certificate (PEM, NULL without one) and whether sealed
 * transfers are allowed.  Decoded: the PEM into *pem (new; empty without
 * one) and *transfer. */
json_t *cf_msg_whoami_encode(const char *agent, const char *role,
    const char *client, const char *pem, int transfer);
int cf_msg_whoami_decode(
    json_t *o, struct cf_buf *pem, int *transfer, struct cf_error *err);

/* log: [{Id, Time, Actor, Operation, Thumbprint, Outcome}] for n
 * records.  Decoded: *recs new (cf_audit_free). */
json_t *cf_msg_audit_encode(const struct cf_audit *recs, size_t n);
int cf_msg_audit_decode(
    json_t *a, struct cf_audit **recs, size_t *n, struct cf_error *err);

/* services: [{Service, Kind, Assigned, OnDisk, Served, Match, NotAfter,
 * Endpoint, Problem, CheckHost, CheckPort, Protocol, Name}].  Decoded:
 * *v new (cf_service_views_free). */
json_t *cf_msg_services_encode(const struct cf_service_view *v, size_t n);
int cf_msg_services_decode(
    json_t *a, struct cf_service_view **v, size_t *n, struct cf_error *err);

#endif
