/*
 * fuzz_rows.c - libFuzzer harness over cf_views_rows_parse
 * (src/lib/view_parse.c), the CLI's reader of a listing's pages without
 * jansson: the input is an agent's 2xx body.  Differential: whatever
 * the reader takes must be JSON that jansson and cf_msg_views_decode
 * read to the very same views; what it leaves sets nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "msg.h"
#include "view.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
same(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Whether views a and b (n each) hold the same fields. */
static int
views_same(const struct cf_view *a, const struct cf_view *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!same(a[i].thumbprint, b[i].thumbprint) ||
		    !same(a[i].subject, b[i].subject) ||
		    !same(a[i].issuer, b[i].issuer) ||
		    !same(a[i].friendly_name, b[i].friendly_name) ||
		    !same(a[i].serial, b[i].serial) ||
		    !same(a[i].key_type, b[i].key_type) ||
		    !same(a[i].services, b[i].services) ||
		    !same(a[i].domains, b[i].domains) ||
		    !same(a[i].chain, b[i].chain) ||
		    !same(a[i].status, b[i].status) ||
		    a[i].exportable != b[i].exportable ||
		    a[i].has_key != b[i].has_key ||
		    a[i].self_signed != b[i].self_signed ||
		    a[i].not_before != b[i].not_before ||
		    a[i].not_after != b[i].not_after)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_view *fast = NULL, *slow = NULL;
	size_t nfast = 7, nslow = 0;
	struct cf_error err;
	json_t *j;

	if (size > 262144)
		return 0;
	if (!cf_views_rows_parse((const char *)data, size, &fast, &nfast)) {
		if (fast != NULL || nfast != 0)
			abort(); /* left to jansson: nothing set */
		return 0;
	}
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j == NULL || cf_msg_views_decode(j, &slow, &nslow, &err) == -1 ||
	    nslow != nfast || !views_same(fast, slow, nfast))
		abort(); /* taken, so jansson's reading must be the same */
	cf_views_free(fast, nfast);
	cf_views_free(slow, nslow);
	json_decref(j);
	return 0;
}
