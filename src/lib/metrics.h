/*
 * metrics.h - the Prometheus text exposition format (version 0.0.4)
 * as certfleetd serves it on GET /metrics (docs/metrics.md names every
 * series): a text built family by family, each a # HELP and a # TYPE
 * line and its samples, label values escaped; and the families of the
 * certificates in a store.
 */
#ifndef CF_METRICS_H
#define CF_METRICS_H

#include <stddef.h>

#include "error.h"
#include "store.h"

/* What GET /metrics answers with. */
#define CF_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct cf_metrics;

struct cf_metrics *cf_metrics_new(void);
void cf_metrics_free(struct cf_metrics *m); /* NULL-safe */

/*
 * Starts the family name: its # HELP (help, one line) and # TYPE
 * (type: "gauge", "counter") lines.  Its samples follow, before the
 * next family starts: the format wants a family in one piece.
 */
void cf_metrics_family(
    struct cf_metrics *m, const char *name, const char *type, const char *help);

/*
 * One sample of name: labels is NULL or a NULL-ended list of name,
 * value pairs; a pair whose value is NULL or "" is left out (Prometheus
 * reads an empty label as none).  Values are escaped.
 */
void cf_metrics_sample(struct cf_metrics *m, const char *name,
    const char *const *labels, double value);

/* The text so far (new, caller frees); m is empty again. */
char *cf_metrics_text(struct cf_metrics *m);

/* v escaped as a label value: \\, \" and \n (new). */
char *cf_metrics_escape(const char *v);

/*
 * The common name in an RFC 4514 name as certfleet shows names
 * ("CN=a\,b,O=c"), unescaped (new); "" when it has none.
 */
char *cf_metrics_cn(const char *name);

/*
 * Appends the families of the end certificates in s:
 * certfleet_cert_not_after_timestamp_seconds and _not_before_, labelled
 * thumbprint, subject_cn, issuer_cn, services, exportable; and
 * certfleet_store_certificates, their number.  -1 with err when the
 * store cannot be read (m then holds what came before).
 */
int cf_metrics_certs(
    struct cf_metrics *m, struct cf_store *s, struct cf_error *err);

#endif
