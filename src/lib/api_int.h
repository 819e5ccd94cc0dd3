/*
 * api_int.h - the inside of the API, shared by its files (api.c: the
 * table of operations, dispatch and roles;
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

/*
 * One operation's handler: reads body and query ("a=1&b=2", may be NULL),
 * runs the operation as the caller and sets *resp (a new reference; the
 * dispatcher answers {} when it stays NULL).  0, or -1 with err.
 */
typedef int (*api_handler)(struct cf_store *, const struct cf_api_caller *,
    const char *query, json_t *body, json_t **resp, struct cf_error *);

/*
 * An operation's reply written straight as JSON text into *text (new),
 * for the replies that are large: the same text as json_dumps of what
 * its api_handler answers, without building the tree.  0, or -1 with
 * err.
 */
typedef int (*api_text)(struct cf_store *, const struct cf_api_caller *,
    const char *query, json_t *body, char **text, struct cf_error *);

/* ---- the handlers, by file (each an api_handler) ----------------- */

/* api_read.c */
/* whoami: agent, role, client, version, identity certificate. */
int api_h_whoami(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
/* get [thumbprint= | after= limit= expiring_days= expiring_percent=]:
 * an array of certificate views (a page of them with limit). */
int api_h_certificates(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, json_t **, struct cf_error *);
/* get's api_text. */
int api_t_certificates(struct cf_store *, const struct cf_api_caller *,
    const char *, json_t *, char **, struct cf_error *);
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
int api_h_replace(struct cf_store *, const struct cf_api_caller *, const char *,
    json_t *, json_t **, struct cf_error *);
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

#endif
