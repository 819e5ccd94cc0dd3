/*
 * msg_query.c - the arguments that travel in a query string ("a=1&b=2")
 * rather than a body: get's thumbprint, services' probe and log's page,
 * each encoder beside its decoder; see msg.h.  The values go as given:
 * making them fit a URI is the HTTP side's business (the CLI encodes
 * them; thumbprints and numbers need nothing).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "msg.h"
#include "util.h"

/* The value of name in query (may be NULL), new, or NULL. */
static char *
query_get(const char *query, const char *name)
{
	size_t n = strlen(name);
	const char *p = query, *end;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			end = strchr(p + n + 1, '&');
			if (end == NULL)
				return xstrdup(p + n + 1);
			return xasprintf(
			    "%.*s", (int)(end - p - n - 1), p + n + 1);
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/* The query's key as a whole number from 0 to max into *v (left alone
 * when absent); -1 and err set when it is not one. */
static int
query_number(const char *q, const char *key, long long max, long long *v,
    struct cf_error *err)
{
	char *text = query_get(q, key), *end = NULL;
	long long n;
	int rc = 0;

	if (text == NULL)
		return 0;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || n < 0 || n > max)
		rc = cf_errorf(err, CF_E_USAGE,
		    "%s: a whole number from 0 to %lld", key, max);
	else
		*v = n;
	free(text);
	return rc;
}

char *
cf_msg_get_query(const char *thumb, const struct cf_get_query *q)
{
	char *page = NULL, *text;

	if (thumb != NULL)
		return xasprintf("thumbprint=%s", thumb);
	if (q == NULL)
		return NULL;
	if (q->limit > 0)
		page =
		    xasprintf("after=%s&limit=%zu%s", q->after ? q->after : "",
			q->limit, q->rows ? "&rows=1" : "");
	if (!q->expiring)
		return page;
	text = xasprintf("%s%sexpiring_%s=%ld", page ? page : "",
	    page ? "&" : "", q->percent > 0 ? "percent" : "days",
	    q->percent > 0 ? q->percent : q->days);
	free(page);
	return text;
}

int
cf_msg_get_query_decode(const char *qs, struct cf_get_query *q, char **thumb,
    char **after, struct cf_error *err)
{
	long long limit = 0, days = -1, percent = -1, rows = 0;

	memset(q, 0, sizeof(*q));
	*thumb = NULL;
	*after = NULL;
	if (query_number(qs, "limit", CF_GET_PAGE_MAX, &limit, err) == -1 ||
	    query_number(qs, "expiring_days", 36500, &days, err) == -1 ||
	    query_number(qs, "expiring_percent", 100, &percent, err) == -1 ||
	    query_number(qs, "rows", 1, &rows, err) == -1)
		return -1;
	q->arg = *thumb = query_get(qs, "thumbprint");
	q->after = *after = query_get(qs, "after");
	q->limit = (size_t)limit;
	q->expiring = days >= 0 || percent >= 0;
	q->days = days >= 0 ? (long)days : 0;
	q->percent = percent >= 0 ? (long)percent : 0;
	q->rows = rows == 1;
	return 0;
}

const char *
cf_msg_services_query(int probe)
{
	return probe ? NULL : "probe=0";
}

int
cf_msg_services_query_decode(const char *q)
{
	char *probe = query_get(q, "probe");
	int live = probe == NULL || strcmp(probe, "0") != 0;

	free(probe);
	return live;
}

char *
cf_msg_log_query(const struct cf_audit_page *p)
{
	return xasprintf(
	    "since=%lld&after=%lld&before=%lld&limit=%zu&newest=%d",
	    (long long)p->since, p->after, p->before, p->limit, p->newest != 0);
}

int
cf_msg_log_query_decode(
    const char *q, struct cf_audit_page *p, struct cf_error *err)
{
	long long since = 0, after = 0, before = 0, limit = CF_LOG_PAGE_MAX;
	long long newest = 0;

	memset(p, 0, sizeof(*p));
	if (query_number(q, "since", INT64_MAX / 2, &since, err) == -1 ||
	    query_number(q, "after", INT64_MAX, &after, err) == -1 ||
	    query_number(q, "before", INT64_MAX, &before, err) == -1 ||
	    query_number(q, "limit", CF_LOG_PAGE_MAX, &limit, err) == -1 ||
	    query_number(q, "newest", 1, &newest, err) == -1)
		return -1;
	p->since = (time_t)since;
	p->after = after;
	p->before = before;
	p->limit = limit > 0 ? (size_t)limit : CF_LOG_PAGE_MAX;
	p->newest = (int)newest;
	return 0;
}
