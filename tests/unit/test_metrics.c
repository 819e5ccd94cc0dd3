/*
 * test_metrics.c - metrics.c: the Prometheus text format as certfleetd
 * serves it: label values escaped, empty labels left out, values as
 * Prometheus reads them, common names out of RFC 4514 names, and the
 * families of a store's certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "ops.h"
#include "testpki.h"

/* The label escapes of the format: backslash, double quote, newline;
 * nothing else changes (UTF-8 and tabs pass). */
static void
test_escape(void)
{
	char *e;

	e = cf_metrics_escape("a\\b\"c\nd");
	CHECK_STR(e, "a\\\\b\\\"c\\nd", "escape: \\, \" and newline escaped");
	free(e);
	e = cf_metrics_escape("plain.example.com\tÄ");
	CHECK_STR(e, "plain.example.com\tÄ", "escape: other bytes as they are");
	free(e);
	e = cf_metrics_escape("");
	CHECK_STR(e, "", "escape: the empty string stays empty");
	free(e);
}

/* Samples: labels in order, empty ones left out, values whole or not. */
static void
test_sample(void)
{
	struct cf_metrics *m = cf_metrics_new();
	const char *l1[] = {"service", "https", "server", "", "x", NULL, NULL};
	const char *l2[] = {"cn", "we\"ird\\\n", NULL};
	char *t;

	cf_metrics_family(m, "a_b", "gauge", "Help text.");
	cf_metrics_sample(m, "a_b", l1, 1780000000);
	cf_metrics_sample(m, "a_b", NULL, 0.25);
	cf_metrics_sample(m, "a_b", l2, -3);
	cf_metrics_sample(m, "a_b", NULL, 0.1 + 0.2);
	t = cf_metrics_text(m);
	CHECK_STR(t,
	    "# HELP a_b Help text.\n"
	    "# TYPE a_b gauge\n"
	    "a_b{service=\"https\"} 1780000000\n"
	    "a_b 0.25\n"
	    "a_b{cn=\"we\\\"ird\\\\\\n\"} -3\n"
	    "a_b 0.3\n",
	    "sample: HELP, TYPE, labels escaped, empty labels left out, "
	    "timestamps whole");
	free(t);
	t = cf_metrics_text(m);
	CHECK_STR(t, "", "sample: the text is taken, m is empty again");
	free(t);
	cf_metrics_free(m);
	cf_metrics_free(NULL);
}

/* Common names out of names as certfleet shows them. */
static void
test_cn(void)
{
	static const char *const cases[][2] = {
	    {"CN=mail.example.com,O=Example", "mail.example.com"},
	    {"O=Example,CN=mail.example.com", "mail.example.com"},
	    {"CN=a\\,b\\+c,O=x", "a,b+c"},
	    {"O=Ex\\,ample CN=x,OU=y", ""}, /* "CN=" inside a value */
	    {"O=Example,OU=Web", ""},
	    {"cn=lower", "lower"},
	    {"", ""},
	    {"CN=x+UID=1", "x"},
	};
	char *cn, name[80];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cn = cf_metrics_cn(cases[i][0]);
		snprintf(name, sizeof(name), "cn: \"%s\" -> \"%s\"",
		    cases[i][0], cases[i][1]);
		CHECK_STR(cn, cases[i][1], name);
		free(cn);
	}
}

/* A certificate whose CN needs escaping, imported into a new store. */
static int
import_odd(struct cf_store *s, char thumb[CF_THUMB_LEN + 1])
{
	EVP_PKEY *key = tp_key(0);
	X509 *c = tp_cert("we\"ird\\cn", NULL, key, NULL, NULL, -1, 30, 0);
	char *pem = tp_pem(&c, 1, key);
	struct cf_input in = {"odd.pem", (const unsigned char *)pem, 0};
	struct cf_import_opts o;
	struct cf_import_result *res = NULL;
	struct cf_error err;
	size_t n = 0;
	int rc;

	in.len = strlen(pem);
	memset(&o, 0, sizeof(o));
	o.actor = "test";
	rc = cf_op_import(s, &in, 1, &o, &res, &n, &err);
	if (rc == 0 && n == 1)
		memcpy(thumb, res[0].thumbprint, CF_THUMB_LEN + 1);
	cf_import_results_free(res, n);
	free(pem);
	X509_free(c);
	EVP_PKEY_free(key);
	return rc;
}

/* The store's families: one sample per certificate in each, labels
 * escaped, no key path or secret in sight. */
static void
test_certs(void)
{
	char dir[512], thumb[CF_THUMB_LEN + 1] = "", want[400], *t;
	struct cf_metrics *m = cf_metrics_new();
	struct cf_store *s;
	struct cf_error err;

	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	s = cf_store_open(dir, &err);
	CHECK(s != NULL && cf_metrics_certs(m, s, &err) == 0,
	    "certs: an empty store renders");
	t = cf_metrics_text(m);
	CHECK(t != NULL && strstr(t, "certfleet_store_certificates 0\n") &&
		  strstr(t, "# TYPE certfleet_cert_not_after_timestamp_seconds "
			    "gauge\n"),
	    "certs: an empty store: its families, no samples, size 0");
	free(t);
	CHECK(s != NULL && import_odd(s, thumb) == 0,
	    "certs: import a certificate whose CN has \" and \\");
	CHECK(s != NULL && cf_metrics_certs(m, s, &err) == 0,
	    "certs: a store of one renders");
	t = cf_metrics_text(m);
	snprintf(want, sizeof(want),
	    "certfleet_cert_not_after_timestamp_seconds{thumbprint=\"%s\","
	    "subject_cn=\"we\\\"ird\\\\cn\",issuer_cn=\"we\\\"ird\\\\cn\","
	    "exportable=\"false\"} ",
	    thumb);
	CHECK(t != NULL && strstr(t, want) != NULL &&
		  strstr(t, "certfleet_store_certificates 1\n") != NULL,
	    "certs: labels escaped, no services label when it has none");
	CHECK(t != NULL && strstr(t, dir) == NULL && strstr(t, "key") == NULL,
	    "certs: no path and no key in the text");
	free(t);
	cf_metrics_free(m);
	cf_store_free(s);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("escape"))
		test_escape();
	if (check_test("sample"))
		test_sample();
	if (check_test("cn"))
		test_cn();
	if (check_test("certs"))
		test_certs();
	return check_done();
}
