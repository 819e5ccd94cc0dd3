/*
 * metrics.c - the Prometheus text exposition format; see metrics.h.
 *
 * The text grows in one buffer; a scrape of a store of 10,000
 * certificates is some 5 MB, built once per scrape with no parse.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

struct cf_metrics {
	char *text;
	size_t len, cap;
};

struct cf_metrics *
cf_metrics_new(void)
{
	return xcalloc(1, sizeof(struct cf_metrics));
}

void
cf_metrics_free(struct cf_metrics *m)
{
	if (m == NULL)
		return;
	free(m->text);
	free(m);
}

/* Room for n more bytes (and the NUL). */
static void
reserve(struct cf_metrics *m, size_t n)
{
	if (m->len + n + 1 > m->cap) {
		m->cap = (m->len + n + 1) * 2;
		m->text = xrealloc(m->text, m->cap);
	}
}

/* Appends n bytes at p. */
static void
put(struct cf_metrics *m, const char *p, size_t n)
{
	reserve(m, n);
	memcpy(m->text + m->len, p, n);
	m->len += n;
	m->text[m->len] = '\0';
}

static void
puts_(struct cf_metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

void
cf_metrics_family(
    struct cf_metrics *m, const char *name, const char *type, const char *help)
{
	puts_(m, "# HELP ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, help);
	puts_(m, "\n# TYPE ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, type);
	puts_(m, "\n");
}

/* Appends v escaped as a label value. */
static void
put_escaped(struct cf_metrics *m, const char *v)
{
	const char *run = v;

	for (; *v != '\0'; v++) {
		if (*v != '\\' && *v != '"' && *v != '\n')
			continue;
		put(m, run, (size_t)(v - run));
		puts_(m, *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : "\\n");
		run = v + 1;
	}
	put(m, run, (size_t)(v - run));
}

/*
 * A value as Prometheus reads it: whole numbers (timestamps, counts)
 * in full, fractions with nine significant digits.
 */
static void
put_value(struct cf_metrics *m, double value)
{
	char num[40];

	if (value != value)
		snprintf(num, sizeof(num), "NaN");
	else if (value > -1e15 && value < 1e15 &&
		 value == (double)(long long)value)
		snprintf(num, sizeof(num), "%lld", (long long)value);
	else
		snprintf(num, sizeof(num), "%.9g", value);
	puts_(m, num);
}

void
cf_metrics_sample(struct cf_metrics *m, const char *name,
    const char *const *labels, double value)
{
	int first = 1;

	puts_(m, name);
	for (; labels != NULL && labels[0] != NULL; labels += 2) {
		if (labels[1] == NULL || labels[1][0] == '\0')
			continue;
		puts_(m, first ? "{" : ",");
		puts_(m, labels[0]);
		puts_(m, "=\"");
		put_escaped(m, labels[1]);
		puts_(m, "\"");
		first = 0;
	}
	puts_(m, first ? " " : "} ");
	put_value(m, value);
	puts_(m, "\n");
}

char *
cf_metrics_text(struct cf_metrics *m)
{
	char *text = m->text ? m->text : xstrdup("");

	m->text = NULL;
	m->len = m->cap = 0;
	return text;
}

char *
cf_metrics_escape(const char *v)
{
	struct cf_metrics m = {0};

	put_escaped(&m, v);
	return cf_metrics_text(&m);
}

char *
cf_metrics_cn(const char *name)
{
	const char *p = name;
	char *out = xmalloc(strlen(name) + 1);
	size_t n = 0;
	int in_cn;

	/* Attribute by attribute: a ',' or '+' ends one unless escaped. */
	while (*p != '\0') {
		in_cn = (p[0] == 'C' || p[0] == 'c') &&
			(p[1] == 'N' || p[1] == 'n') && p[2] == '=';
		if (in_cn)
			p += 3;
		for (; *p != '\0' && *p != ',' && *p != '+'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (in_cn)
				out[n++] = *p;
		}
		if (in_cn)
			break;
		if (*p != '\0')
			p++;
		while (*p == ' ')
			p++;
	}
	out[n] = '\0';
	return out;
}

/* One family of the certificates: notAfter (after) or notBefore. */
static void
certs_family(struct cf_metrics *m, const struct cf_row *rows, size_t n,
    const char *const *cns, int after)
{
	const char *name = after
			       ? "certfleet_cert_not_after_timestamp_seconds"
			       : "certfleet_cert_not_before_timestamp_seconds";
	const char *labels[13];
	size_t i;

	cf_metrics_family(m, name, "gauge",
	    after ? "The certificate's notAfter, as a Unix time."
		  : "The certificate's notBefore, as a Unix time.");
	for (i = 0; i < n; i++) {
		labels[0] = "thumbprint";
		labels[1] = rows[i].f.thumbprint;
		labels[2] = "subject_cn";
		labels[3] = cns[2 * i];
		labels[4] = "issuer_cn";
		labels[5] = cns[2 * i + 1];
		labels[6] = "services";
		labels[7] = rows[i].services;
		labels[8] = "exportable";
		labels[9] = rows[i].exportable ? "true" : "false";
		labels[10] = NULL;
		cf_metrics_sample(m, name, labels,
		    (double)(after ? rows[i].f.not_after
				   : rows[i].f.not_before));
	}
}

int
cf_metrics_certs(struct cf_metrics *m, struct cf_store *s, struct cf_error *err)
{
	struct cf_row *rows = NULL;
	char **cns = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (cf_store_begin_read(s, err) == -1)
		return -1;
	if (cf_store_list(s, CF_END, NULL, 0, &rows, &n, err) == -1)
		goto out;
	cns = xcalloc(2 * n + 1, sizeof(*cns));
	/* Some 220 bytes a sample, two samples a certificate: one
	 * allocation instead of a dozen copies of a growing text. */
	reserve(m, n * 512);
	for (i = 0; i < n; i++) {
		cns[2 * i] = cf_metrics_cn(rows[i].f.subject);
		cns[2 * i + 1] = cf_metrics_cn(rows[i].f.issuer);
	}
	certs_family(m, rows, n, (const char *const *)cns, 1);
	certs_family(m, rows, n, (const char *const *)cns, 0);
	cf_metrics_family(m, "certfleet_store_certificates", "gauge",
	    "End certificates in the agent's store.");
	cf_metrics_sample(m, "certfleet_store_certificates", NULL, (double)n);
	rc = 0;
out:
	cf_store_rollback(s);
	for (i = 0; cns != NULL && i < 2 * n; i++)
		free(cns[i]);
	free(cns);
	cf_rows_free(rows, n);
	return rc;
}
