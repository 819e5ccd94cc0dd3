/*
 * test_get_page.c - a listing a page at a time (cf_op_get_page, get's
 * after= and limit=, and its text reply): every certificate once and in
 * order whatever the page size, none repeated or lost while the store
 * changes between pages, the expiry filter, the text the agent writes
 * being the text of the JSON tree, and a store of the schema before the
 * listing's index upgraded in place; the listing handed out a view at
 * a time (cf_op_get_each) being the page's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "check.h"
#include "msg.h"
#include "ops.h"
#include "testpki.h"
#include "util.h"
#include "view.h"

#define NCERTS 40

static struct cf_store *s;
static struct cf_error err;

/* Imports a self-signed EC certificate for cn, valid from now + from
 * to now + to days; its thumbprint into thumb. */
static void
import_one(const char *cn, int from, int to, char thumb[CF_THUMB_LEN + 1])
{
	EVP_PKEY *k = tp_key(0);
	X509 *x = tp_cert(cn, cn, k, NULL, NULL, from, to, 0);
	char *pem = tp_pem(&x, 1, NULL);
	struct cf_input in = {cn, (const unsigned char *)pem, strlen(pem)};
	struct cf_import_opts o = {.actor = "test"};
	struct cf_import_result *res = NULL;
	size_t n = 0;

	thumb[0] = '\0';
	if (cf_op_import(s, &in, 1, &o, &res, &n, &err) == 0 && n == 1)
		snprintf(thumb, CF_THUMB_LEN + 1, "%s", res[0].thumbprint);
	cf_import_results_free(res, n);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Every thumbprint a whole listing shows, in order, into *out (n). */
static char (*listing(size_t *n))[CF_THUMB_LEN + 1]
{
	char(*out)[CF_THUMB_LEN + 1];
	struct cf_view *v = NULL;
	size_t i;

	*n = 0;
	if (cf_op_get(s, NULL, &v, n, &err) == -1)
		return NULL;
	out = xcalloc(*n + 1, sizeof(*out));
	for (i = 0; i < *n; i++)
		memcpy(out[i], v[i].thumbprint, sizeof(out[i]));
	cf_views_free(v, *n);
	return out;
}

/*
 * Pages through the store limit at a time, as a client does (after the
 * last thumbprint it got, until a short page), calling between(page)
 * after each page; every thumbprint seen, in order, into *out (n).
 */
static char (
    *paged(size_t limit, void (*between)(int), size_t *n))[CF_THUMB_LEN + 1]
{
	char(*out)[CF_THUMB_LEN + 1] = NULL, after[CF_THUMB_LEN + 1] = "";
	struct cf_get_query q = {.after = after, .limit = limit};
	struct cf_view *v = NULL;
	size_t got = 0, i;
	int page;

	*n = 0;
	for (page = 0; page < 1000; page++) {
		if (cf_op_get_page(s, &q, &v, &got, &err) == -1)
			break;
		out = xrealloc(out, (*n + got + 1) * sizeof(*out));
		for (i = 0; i < got; i++)
			memcpy(out[(*n)++], v[i].thumbprint, sizeof(out[0]));
		if (got > 0)
			snprintf(
			    after, sizeof(after), "%s", v[got - 1].thumbprint);
		cf_views_free(v, got);
		if (got < limit)
			break;
		if (between != NULL)
			between(page);
	}
	return out;
}

/* How many times thumb is in list (n). */
static int
times(char (*list)[CF_THUMB_LEN + 1], size_t n, const char *thumb)
{
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++)
		k += strcmp(list[i], thumb) == 0;
	return k;
}

static void
test_sizes(void)
{
	static const size_t limits[] = {1, 7, NCERTS, CF_GET_PAGE_MAX};
	char(*all)[CF_THUMB_LEN + 1], (*p)[CF_THUMB_LEN + 1];
	size_t n, np, i;

	all = listing(&n);
	CHECK(all != NULL && n == NCERTS, "pages: the store lists them all");
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		p = paged(limits[i], NULL, &np);
		CHECK(np == n && memcmp(p, all, n * sizeof(*all)) == 0,
		    "pages: every page size lists what one listing does, "
		    "in order");
		free(p);
	}
	p = paged(5, NULL, &np);
	CHECK(np == n && strcmp(p[0], all[0]) == 0 &&
		  strcmp(p[np - 1], all[n - 1]) == 0,
	    "pages: the first and the last certificate are listed");
	free(p);
	{
		struct cf_get_query q = {.after = all[n - 1], .limit = 5};
		struct cf_view *v = NULL;
		size_t got = 99;
		CHECK(cf_op_get_page(s, &q, &v, &got, &err) == 0 && got == 0,
		    "pages: nothing after the last thumbprint");
		cf_views_free(v, got);
	}
	free(all);
}

/* What changes between pages: after the first page, the first listed
 * and the last certificate go, and three new ones come. */
static char gone_seen[CF_THUMB_LEN + 1], gone_unseen[CF_THUMB_LEN + 1];
static char fresh[3][CF_THUMB_LEN + 1];

static void
churn(int page)
{
	char full[CF_THUMB_LEN + 1], cn[64];
	int i;

	if (page != 0)
		return;
	cf_op_remove(s, "test", gone_seen, 1, full, &err);
	cf_op_remove(s, "test", gone_unseen, 1, full, &err);
	for (i = 0; i < 3; i++) {
		snprintf(cn, sizeof(cn), "fresh%d.example.com", i);
		import_one(cn, 0, 365, fresh[i]);
	}
}

static void
test_changes(void)
{
	char(*all)[CF_THUMB_LEN + 1], (*p)[CF_THUMB_LEN + 1];
	size_t n, np, i, once = 0, twice = 0;

	all = listing(&n);
	memcpy(gone_seen, all[0], sizeof(gone_seen));
	memcpy(gone_unseen, all[n - 1], sizeof(gone_unseen));
	p = paged(7, churn, &np);
	for (i = 1; i + 1 < n; i++)
		once += times(p, np, all[i]) == 1;
	for (i = 0; i < np; i++)
		twice += times(p, np, p[i]) > 1;
	CHECK(once == n - 2,
	    "pages: every certificate that stayed is listed exactly once "
	    "while others go and come");
	CHECK(twice == 0, "pages: none is listed twice");
	CHECK(times(p, np, gone_seen) == 1,
	    "pages: one removed after it was listed was listed once");
	CHECK(times(p, np, gone_unseen) == 0,
	    "pages: one removed before its page came is not listed");
	CHECK(times(p, np, fresh[0]) <= 1 && times(p, np, fresh[1]) <= 1 &&
		  times(p, np, fresh[2]) <= 1,
	    "pages: one imported meanwhile is listed at most once");
	free(p);
	free(all);
}

/* How many certificates q lists (-1 on error). */
static long
count(const struct cf_get_query *q)
{
	struct cf_view *v = NULL;
	size_t n = 0;
	long k = -1;

	if (cf_op_get_page(s, q, &v, &n, &err) == 0)
		k = (long)n;
	cf_views_free(v, n);
	return k;
}

static void
test_expiring(void)
{
	struct cf_get_query q = {.expiring = 1, .days = 30};
	char thumb[CF_THUMB_LEN + 1];

	/* NCERTS / 4 certificates live 10 days (made in main); these
	 * two have lived most of their lives. */
	import_one("old1.example.com", -300, 29, thumb);
	import_one("old2.example.com", -300, 29, thumb);
	CHECK(count(&q) == NCERTS / 4 + 2,
	    "expiring: 30d lists those that end within 30 days");
	q.days = 5;
	CHECK(count(&q) == 0, "expiring: 5d lists none of them");
	q.days = 0;
	q.percent = 10;
	CHECK(count(&q) == 2,
	    "expiring: 10% lists those with a tenth of their lives left");
	q.percent = 5;
	CHECK(count(&q) == 0, "expiring: 5% lists none");
	q.percent = 0;
	q.days = 30;
	q.limit = 3;
	CHECK(count(&q) == 3, "expiring: a page of them is a page");
}

/* The rows form decodes to the views the objects decode to. */
static void
test_rows_decode(const struct cf_api_caller *c)
{
	json_t *objs = NULL, *rows = NULL, *bad;
	struct cf_view *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i;
	int same;

	cf_api_handle(s, c, "get", NULL, NULL, &objs, &err);
	cf_api_handle(s, c, "get", "rows=1", NULL, &rows, &err);
	same = cf_msg_views_decode(objs, &a, &na, &err) == 0 &&
	       cf_msg_views_decode(rows, &b, &nb, &err) == 0 && na == nb &&
	       na > 0;
	for (i = 0; same && i < na; i++)
		same = strcmp(a[i].thumbprint, b[i].thumbprint) == 0 &&
		       strcmp(a[i].subject, b[i].subject) == 0 &&
		       strcmp(a[i].domains, b[i].domains) == 0 &&
		       strcmp(a[i].status, b[i].status) == 0 &&
		       a[i].not_after == b[i].not_after &&
		       a[i].has_key == b[i].has_key;
	CHECK(same, "rows: decode to the views the objects decode to");
	cf_views_free(a, na);
	cf_views_free(b, nb);
	bad = json_pack("{s:[]}", "Rows");
	CHECK(cf_msg_views_decode(bad, &a, &na, &err) == -1 &&
		  err.code == CF_E_PARSE,
	    "rows: rows without their fields are malformed");
	json_decref(bad);
	json_decref(objs);
	json_decref(rows);
}

/* The agent's text reply against the tree cf_api_handle answers. */
static void
test_text(void)
{
	static const char *const queries[] = {NULL, "after=&limit=5",
	    "expiring_days=30", "after=&limit=5&rows=1", "rows=1"};
	struct cf_api_caller c = {
	    "tls:SHA256:TEST", "SHA256:TEST", CF_ROLE_READER, "ex1", NULL};
	json_t *tree = NULL;
	char *text = NULL, *dump;
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		cf_api_handle(s, &c, "get", queries[i], NULL, &tree, &err);
		cf_api_render(s, &c, "get", queries[i], NULL, &text, &err);
		dump = tree ? json_dumps(tree, JSON_COMPACT) : NULL;
		CHECK(dump != NULL && text != NULL && strcmp(dump, text) == 0,
		    "text: get's text is the dump of its tree");
		free(dump);
		free(text);
		json_decref(tree);
		text = NULL;
		tree = NULL;
	}
	test_rows_decode(&c);
	c.role = CF_ROLE_NONE;
	CHECK(cf_api_render(s, &c, "get", NULL, NULL, &text, &err) == -1 &&
		  err.code == CF_E_DENIED && text == NULL,
	    "text: a caller without a role is refused");
	c.role = CF_ROLE_READER;
	CHECK(cf_api_render(s, &c, "get", "limit=1001", NULL, &text, &err) ==
		      -1 &&
		  err.code == CF_E_USAGE,
	    "text: a page above CF_GET_PAGE_MAX is refused");
}

/* The whole listing as get --json's items, text (new). */
/*
 * text without the values of its DaysLeft members: they count from now,
 * so two listings a second apart may differ there (a certificate made
 * for 30 days has 29 left a second later) while the store is the same.
 */
static char *
days_dropped(char *text)
{
	const char *key = "\"DaysLeft\":";
	char *p = text, *end;

	while ((p = strstr(p, key)) != NULL) {
		p += strlen(key);
		end = p + strspn(p, " -0123456789");
		memmove(p, end, strlen(end) + 1);
	}
	return text;
}

static char *
listing_text(void)
{
	struct cf_text t = {0};
	struct cf_view *v = NULL;
	size_t n = 0;

	if (cf_op_get(s, NULL, &v, &n, &err) == -1)
		return xstrdup("failed");
	cf_views_json_text(&t, v, n, NULL);
	cf_views_free(v, n);
	return days_dropped(t.data ? t.data : xstrdup(""));
}

/*
 * A store of schema 6 (before the listing's covering index) opens,
 * upgrades in one transaction and lists the same; a migration that
 * fails leaves the store as it was.
 */
static void
test_upgrade(const char *dir)
{
	char *before = listing_text(), *after;
	const char *indexed =
	    "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'certificates_listing' AND type = 'index'";

	long certs = check_sql(dir, "SELECT count(*) FROM certificates");

	cf_store_free(s);
	s = NULL;
	CHECK(
	    certs > 0 &&
		check_sql(dir, "DROP INDEX certificates_listing;"
			       "DROP TABLE acme_accounts;"
			       "DROP TRIGGER trust_memo_anchor_in;"
			       "DROP TRIGGER trust_memo_anchor_out;"
			       "DROP TABLE trust_memo;"
			       "PRAGMA user_version = 6;"
			       "CREATE TABLE certificates_listing (x);") == 0 &&
		check_sql(dir, "PRAGMA user_version") == 6,
	    "upgrade: a store of schema 6 made");
	s = cf_store_open(dir, &err);
	CHECK(
	    s == NULL && check_sql(dir, "PRAGMA user_version") == 6 &&
		check_sql(dir, "SELECT count(*) FROM certificates") == certs &&
		check_sql(dir, "SELECT count(*) FROM certificates_listing") ==
		    0,
	    "upgrade: a migration that fails leaves the store as it was");
	cf_store_free(s);
	check_sql(dir, "DROP TABLE certificates_listing");
	s = cf_store_open(dir, &err);
	/* (7 and every migration after it: 8, the ACME accounts; 9, the
	 * trust memo) */
	CHECK(s != NULL && check_sql(dir, "PRAGMA user_version") >= 7 &&
		  check_sql(dir, indexed) == 1,
	    "upgrade: schema 6 opened, upgraded to 7 with the index");
	after = s ? listing_text() : xstrdup("");
	CHECK(strcmp(before, after) == 0,
	    "upgrade: the upgraded store lists the same, byte for byte");
	free(before);
	free(after);
}

/* What cf_op_get_each handed out: each view as get --json's text, a
 * line each, DaysLeft left out; stop after that many (0: never). */
struct seen {
	struct cf_text t;
	size_t n, stop;
};

static int
see(const struct cf_view *v, void *arg)
{
	struct seen *k = arg;

	cf_views_json_text(&k->t, v, 1, NULL);
	cf_text_put(&k->t, "\n");
	k->n++;
	return k->stop != 0 && k->n >= k->stop ? -1 : 0;
}

/* The text of q's listing handed out one view at a time (new). */
static char *
each_text(const struct cf_get_query *q, size_t stop, int *rc, size_t *n)
{
	struct seen k = {.stop = stop};

	*rc = cf_op_get_each(s, q, see, &k, &err);
	*n = k.n;
	return days_dropped(k.t.data ? k.t.data : xstrdup(""));
}

/* The text of q's listing as cf_op_get_page keeps it (new). */
static char *
page_text(const struct cf_get_query *q, size_t *n)
{
	struct cf_text t = {0};
	struct cf_view *v = NULL;
	size_t i;

	*n = 0;
	if (cf_op_get_page(s, q, &v, n, &err) == -1)
		return xstrdup("failed");
	for (i = 0; i < *n; i++) {
		cf_views_json_text(&t, &v[i], 1, NULL);
		cf_text_put(&t, "\n");
	}
	cf_views_free(v, *n);
	return days_dropped(t.data ? t.data : xstrdup(""));
}

/* Whether q's listing handed out is the page's, byte for byte. */
static int
each_is_page(const struct cf_get_query *q)
{
	size_t ne = 0, np = 0;
	char *a, *b;
	int rc, same;

	a = each_text(q, 0, &rc, &ne);
	b = page_text(q, &np);
	same = rc == 0 && ne == np && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

/* Pending requests for n names (reqN.example.com), their thumbprints
 * into thumbs. */
static void
requests_made(size_t n, char (*thumbs)[CF_THUMB_LEN + 1])
{
	struct cf_request_opts o = {.actor = "test", .key = "p256"};
	char cn[64], *pem;
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(cn, sizeof(cn), "req%zu.example.com", i);
		o.subject = cn;
		pem = NULL;
		thumbs[i][0] = '\0';
		cf_op_request_new(s, &o, &pem, thumbs[i], &err);
		free(pem);
	}
}

/*
 * cf_op_get_each hands out what cf_op_get_page keeps, in its order: the
 * pending requests in their place among the certificates, a page after
 * a thumbprint, the expiring, one certificate or request by name; fn's
 * -1 stops it at once; a name that is nowhere hands out nothing.
 */
static void
test_each(void)
{
	char req[4][CF_THUMB_LEN + 1], (*all)[CF_THUMB_LEN + 1];
	struct cf_get_query q = {0};
	size_t n = 0, i, got = 0, once = 0, unsorted = 0;
	char *text;
	int rc;

	requests_made(4, req);
	all = listing(&n);
	for (i = 1; all != NULL && i < n; i++)
		unsorted += strcmp(all[i - 1], all[i]) >= 0;
	for (i = 0; all != NULL && i < 4; i++)
		once += times(all, n, req[i]) == 1;
	CHECK(req[3][0] != '\0' && all != NULL && once == 4 && unsorted == 0,
	    "each: set-up: pending requests sorted in among certificates");
	CHECK(each_is_page(&q),
	    "each: the whole listing is cf_op_get_page's, in its order");
	q.after = req[0];
	q.limit = 7;
	CHECK(each_is_page(&q), "each: a page after a request is the same");
	q.after = all ? all[n - 3] : NULL;
	q.limit = 0;
	CHECK(each_is_page(&q), "each: the end of the listing is the same");
	q.after = NULL;
	q.limit = 1;
	CHECK(each_is_page(&q), "each: a page of one is the same");
	q.limit = 0;
	q.expiring = 1;
	q.days = 30;
	CHECK(each_is_page(&q), "each: the expiring are the same");
	q.expiring = 0;
	q.arg = req[2];
	CHECK(each_is_page(&q), "each: one request by name is the same");
	q.arg = all ? all[n / 2] : NULL;
	CHECK(each_is_page(&q), "each: one certificate by name is the same");
	q.arg = NULL;
	text = each_text(&q, 3, &rc, &got);
	CHECK(rc == -1 && got == 3, "each: fn's -1 stops the listing at once");
	free(text);
	CHECK(each_is_page(&q), "each: a stopped listing ended its reading");
	q.arg = "0000000000000000000000000000000000000000";
	text = each_text(&q, 0, &rc, &got);
	CHECK(rc == -1 && got == 0 && err.code == CF_E_NOTFOUND,
	    "each: a thumbprint that is nowhere hands out nothing");
	free(text);
	free(all);
}

int
main(int argc, char **argv)
{
	char dir[512], cn[64], thumb[CF_THUMB_LEN + 1];
	int i;

	check_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/store", check_tmpdir());
	s = cf_store_open(dir, &err);
	for (i = 0; i < NCERTS; i++) {
		snprintf(cn, sizeof(cn), "host%02d.example.com", i);
		import_one(cn, 0, i % 4 == 0 ? 10 : 365, thumb);
	}
	if (check_test("sizes"))
		test_sizes();
	if (check_test("text"))
		test_text();
	if (check_test("expiring"))
		test_expiring();
	if (check_test("changes"))
		test_changes();
	if (check_test("upgrade"))
		test_upgrade(dir);
	if (check_test("each"))
		test_each();
	cf_store_free(s);
	return check_done();
}
