/*
 * api_int.h - the inside of the API, shared by its files (api.c: the
 * table of operations, dispatch, roles and the request helpers below;
 * api_read.c: whoami, certificates, log, services; api_certs.c: import,
 * export, enable, disable, remove; api_issue.c: new-self-signed, request
 * new and complete, renew; api_copy.c: export-sealed, import-sealed).
 * Not for the rest of the library.
 */
#ifndef CF_API_INT_H
#define CF_API_INT_H

#include <stddef.h>

#include <jansson.h>

#include "api.h"

struct cf_buf;
struct cf_import_result;
struct cf_input;

/*
 * One operation's handler: reads body and query ("a=1&b=2", may be NULL),
 * runs the operation as the caller and sets *resp (a new reference; the
 * dispatcher answers {} when it stays NULL).  0, or -1 with err.
 */
typedef int (*api_handler)(struct cf_store *, const struct cf_api_caller *,
    const char *query, json_t *body, json_t **resp, struct cf_error *);

/* ---- the handlers, by file (each an api_handler) ----------------- */

/* api_read.c */
/* whoami: agent, role, client, version, identity certificate. */
int api_h_whoami(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* get [thumbprint=]: an array of certificate views. */
int api_h_certificates(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* log [since= after= before= limit= newest=]: an array of audit records. */
int api_h_log(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* services [probe=0]: an array of service states. */
int api_h_services(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);

/* api_certs.c */
/* import: {results} of importing the request's files. */
int api_h_import(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* export: {thumbprint, data} with data in Base64. */
int api_h_export(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* enable: {thumbprint, detail} once the services are deployed. */
int api_h_enable(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* replace: {thumbprint, services, detail} once old's services
 * are on the new certificate. */
int api_h_replace(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* disable: {thumbprint}. */
int api_h_disable(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* remove: {thumbprint}. */
int api_h_remove(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);

/* api_issue.c */
/* new-self-signed: {results} as import. */
int api_h_new_self_signed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* request new: {thumbprint, csr} of the pending request. */
int api_h_request_new(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* request complete: {thumbprint, detail} of the certificate. */
int api_h_request_complete(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* renew: {thumbprint, csr} of the renewal request. */
int api_h_renew(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);

/* api_copy.c */
/* export-sealed: {thumbprint, sealed} with sealed in Base64. */
int api_h_export_sealed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* import-sealed: {results} as import. */
int api_h_import_sealed(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);

/* ---- reading a request (api.c) ----------------------------------- */

/* The string field key of body into *out (lent by body; NULL when absent
 * or null).  0, or -1 with CF_E_USAGE when not a string. */
int api_field_str(
    json_t *body, const char *key, const char **out, struct cf_error *err);
/* The boolean field key of body into *out (0 when absent or null).  0, or
 * -1 with CF_E_USAGE when not true or false. */
int api_field_bool(
    json_t *body, const char *key, int *out, struct cf_error *err);
/* As api_field_str, and -1 with CF_E_USAGE when absent. */
int api_field_required(
    json_t *body, const char *key, const char **out, struct cf_error *err);
/* The optional field key of body, an array of names (agent names, at
 * most 1,000 of 1 to 255 printable characters each), joined by ", "
 * into *out (new; NULL when absent or null).  0, or -1 with CF_E_USAGE
 * or CF_E_LIMIT. */
int api_field_names(
    json_t *body, const char *key, char **out, struct cf_error *err);
/* Wipes the secret string field key of body once it is used. */
void api_wipe_field(json_t *body, const char *key);
/* The value of name in a query string "a=1&b=2", new (caller frees), or
 * NULL. */
char *api_query_get(const char *query, const char *name);
/* The files of an import request, decoded: *in (names lent by body, data
 * by *bufs) and *bufs, n of each, new even on failure: the caller frees
 * them with api_free_files.  0, or -1 with err. */
int api_read_files(json_t *body, struct cf_input **in, struct cf_buf **bufs,
    size_t *n, struct cf_error *err);
/* Wipes and frees what api_read_files made; NULL-safe. */
void api_free_files(struct cf_input *in, struct cf_buf *bufs, size_t n);

/* ---- answering (api.c) ------------------------------------------- */

/* {"results": [...]} for n import results; a new reference. */
json_t *api_results_json(const struct cf_import_result *r, size_t n);

#endif
