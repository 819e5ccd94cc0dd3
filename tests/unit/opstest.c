/* opstest.c - see opstest.h. */
#include <stdio.h>
#include <string.h>

#include "opstest.h"
#include "store.h"

struct cf_store *s;
struct cf_error err;

int
import_pem(const char *name, const char *pem, int exportable,
    const char *services, struct cf_import_result **res, size_t *n)
{
	struct cf_input in = {name, (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o;

	memset(&o, 0, sizeof(o));
	o.actor = "test";
	o.exportable = exportable;
	o.services = services;
	cf_error_clear(&err);
	return cf_op_import(s, &in, 1, &o, res, n, &err);
}

const char *
status_of(const char *thumb)
{
	static char buf[32];
	struct cf_view *v = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (cf_op_get(s, thumb, &v, &n, &err) == 0 && n == 1)
		snprintf(buf, sizeof(buf), "%s", v[0].status);
	cf_views_free(v, n);
	return buf;
}

/* How many audit records of op on thumb (NULL: any) hold needle. */
int
audited(const char *op, const char *thumb, const char *needle)
{
	struct cf_audit *a = NULL;
	size_t n = 0, i;
	int hits = 0;

	if (cf_store_audit_list(s, 0, &a, &n, &err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		hits += strcmp(a[i].op, op) == 0 &&
			(thumb == NULL || strcmp(a[i].thumb, thumb) == 0) &&
			strstr(a[i].outcome, needle) != NULL;
	cf_audit_free(a, n);
	return hits;
}

/* The services of thumb, as get shows them ("?" when it is not there). */
const char *
services_of(const char *thumb)
{
	static char buf[128];
	struct cf_view *v = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "?");
	if (cf_op_get(s, thumb, &v, &n, &err) == 0 && n == 1)
		snprintf(buf, sizeof(buf), "%s", v[0].services);
	cf_views_free(v, n);
	return buf;
}

size_t
count(void)
{
	struct cf_view *v = NULL;
	size_t n = 0;

	cf_op_get(s, NULL, &v, &n, &err);
	cf_views_free(v, n);
	return n;
}
