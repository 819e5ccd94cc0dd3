/*
 * test_msg.c - msg_request.c, msg_reply.c and view.c's certificate
 * message: what one side encodes the other decodes to the same values,
 * the wire's field names stay docs/api.md's, and a bad field is refused
 * with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "check.h"
#include "msg.h"
#include "util.h"
#include "view.h"

#define THUMB "0123456789ABCDEF0123456789ABCDEF01234567"

/* body as compact JSON text, new. */
static char *
text_of(json_t *body)
{
	char *t = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	return t ? t : xstrdup("");
}

/* A JSON body from literal text. */
static json_t *
parse(const char *text)
{
	return json_loads(text, 0, NULL);
}

static void
test_import(void)
{
	static const unsigned char key[] = "-----BEGIN PRIVATE KEY-----";
	struct cf_input in = {"m.pem", key, sizeof(key) - 1};
	struct cf_import_opts o = {.password = "pw",
	    .exportable = 1,
	    .services = "smtp,lb",
	    .force = 1,
	    .skip_missing = 1};
	struct cf_import_opts back;
	struct cf_msg_files files = {0};
	struct cf_error err;
	json_t *body = NULL;
	const char *pw;

	CHECK(cf_msg_import_encode(&in, 1, &o, &body, &err) == 0 &&
		  cf_msg_import_decode(body, &back, &files, &err) == 0 &&
		  strcmp(back.password, "pw") == 0 && back.exportable &&
		  back.friendly_name == NULL &&
		  strcmp(back.services, "smtp,lb") == 0 && back.force &&
		  back.skip_missing && files.n == 1 &&
		  strcmp(files.in[0].name, "m.pem") == 0 &&
		  files.in[0].len == in.len &&
		  memcmp(files.in[0].data, key, in.len) == 0,
	    "msg: import round trip: options and files");
	pw = json_string_value(json_object_get(body, "password"));
	cf_msg_body_wipe(body);
	CHECK(pw != NULL && pw[0] == '\0' &&
		  json_string_value(json_object_get(
		      json_array_get(json_object_get(body, "files"), 0),
		      "data"))[0] == '\0',
	    "msg: a request body's password and files are wiped");
	cf_msg_files_clear(&files);
	json_decref(body);

	o.password = "caf\xe9";
	body = NULL;
	CHECK(cf_msg_import_encode(&in, 1, &o, &body, &err) == -1 &&
		  err.code == CF_E_USAGE && body == NULL,
	    "msg: a password that is not UTF-8 cannot travel");
	o.password = NULL;
	o.skip_missing = 0;
	cf_msg_import_encode(&in, 1, &o, &body, &err);
	CHECK(json_is_null(json_object_get(body, "password")) &&
		  json_object_get(body, "skip_missing_services") == NULL,
	    "msg: no password is null; skip_missing_services only when set");
	json_decref(body);

	body = parse("{\"files\":[],\"exportable\":\"yes\"}");
	CHECK(cf_msg_import_decode(body, &back, &files, &err) == -1 &&
		  err.code == CF_E_USAGE && strstr(err.msg, "exportable"),
	    "msg: a field of the wrong type is a usage error naming it");
	cf_msg_files_clear(&files);
	json_decref(body);
	body = parse("{\"files\":[{\"name\":\"x\",\"data\":\"not base64!\"}]}");
	CHECK(cf_msg_import_decode(body, &back, &files, &err) == -1 &&
		  err.code == CF_E_PARSE,
	    "msg: file data that is not Base64 is a parse error");
	cf_msg_files_clear(&files);
	json_decref(body);
}

static void
test_export(void)
{
	struct cf_export_opts o = {.format = CF_EXPORT_PEM,
				  .no_key = 1,
				  .targets = "ex2,ex3"},
			      back;
	struct cf_error err;
	const char *thumb;
	char *targets = NULL, *t;
	json_t *body = NULL;

	cf_msg_export_encode("ABCD1234", &o, &body, &err);
	t = text_of(body);
	CHECK_STR(t,
	    "{\"format\":\"pem\",\"legacy\":false,\"no_key\":true,"
	    "\"password\":null,\"targets\":[\"ex2\",\"ex3\"],"
	    "\"thumbprint\":\"ABCD1234\",\"transfer\":false}",
	    "msg: export's body as docs/api.md names it");
	free(t);
	CHECK(cf_msg_export_decode(body, &thumb, &back, &targets, &err) == 0 &&
		  strcmp(thumb, "ABCD1234") == 0 &&
		  back.format == CF_EXPORT_PEM && back.no_key &&
		  back.password == NULL &&
		  strcmp(back.targets, "ex2, ex3") == 0,
	    "msg: export round trip; targets joined for the audit");
	free(targets);
	json_decref(body);
	body = parse("{\"thumbprint\":\"AB\",\"format\":\"pfx\"}");
	CHECK(cf_msg_export_decode(body, &thumb, &back, &targets, &err) == -1 &&
		  strstr(err.msg, "p12-base64") != NULL,
	    "msg: an unknown export format names the valid ones");
	free(targets);
	json_decref(body);
	body = parse("{\"thumbprint\":\"AB\",\"targets\":[\"ex2\\nforged\"]}");
	CHECK(cf_msg_export_decode(body, &thumb, &back, &targets, &err) == -1 &&
		  err.code == CF_E_USAGE && targets == NULL,
	    "msg: a target with a control character is refused");
	json_decref(body);
}

/* The small bodies: each field back as it went, and a required one
 * missing refused. */
static void
test_small(void)
{
	const char *a, *b;
	int flag = 0, ok;
	struct cf_error err;
	json_t *body;

	body = cf_msg_enable_encode("AB12", "smtp,imap", 1);
	ok = cf_msg_enable_decode(body, &a, &b, &flag, &err) == 0 &&
	     strcmp(a, "AB12") == 0 && strcmp(b, "smtp,imap") == 0 && flag;
	json_decref(body);
	body = cf_msg_disable_encode("AB12", "pop");
	ok &= cf_msg_disable_decode(body, &a, &b, &err) == 0 &&
	      strcmp(b, "pop") == 0 && json_object_get(body, "force") == NULL;
	json_decref(body);
	body = cf_msg_remove_encode("AB12", 1);
	ok &= cf_msg_remove_decode(body, &a, &flag, &err) == 0 && flag;
	json_decref(body);
	body = cf_msg_replace_encode("OLD1", "NEW2", 0);
	ok &= cf_msg_replace_decode(body, &a, &b, &flag, &err) == 0 &&
	      strcmp(a, "OLD1") == 0 && strcmp(b, "NEW2") == 0 && !flag;
	json_decref(body);
	body = cf_msg_renew_encode("AB12", 1);
	ok &= cf_msg_renew_decode(body, &a, &flag, &err) == 0 && flag;
	json_decref(body);
	CHECK(ok, "msg: enable, disable, remove, replace, renew round trip");

	body = parse("{\"services\":\"smtp\"}");
	CHECK(cf_msg_enable_decode(body, &a, &b, &flag, &err) == -1 &&
		  strcmp(err.msg, "thumbprint: required") == 0,
	    "msg: a missing thumbprint is refused by name");
	json_decref(body);
	body = parse("{\"old\":\"0123456789\"}");
	CHECK(cf_msg_replace_decode(body, &a, &b, &flag, &err) == -1 &&
		  strcmp(err.msg, "new: required") == 0,
	    "msg: replace without new is refused");
	json_decref(body);
}

static void
test_issue(void)
{
	struct cf_selfsigned_opts so = {.subject = "CN=x",
				      .key = "p256",
				      .days = 30,
				      .services = "imap"},
				  sb;
	struct cf_request_opts ro = {.subject = "CN=y",
				   .domains = "y,z",
				   .exportable = 1},
			       rb;
	const char *pems[] = {"PEM1", "PEM2"}, **pb = NULL, *thumb;
	struct cf_import_opts io = {.services = "https"}, ib;
	struct cf_buf blob = {(unsigned char *)"\x01\x02\x03", 3}, bb = {0};
	struct cf_error err;
	size_t n = 0;
	json_t *body;

	body = cf_msg_new_self_signed_encode(&so);
	CHECK(cf_msg_new_self_signed_decode(body, &sb, &err) == 0 &&
		  sb.days == 30 && strcmp(sb.key, "p256") == 0 &&
		  strcmp(sb.services, "imap") == 0 && sb.domains == NULL,
	    "msg: new-self-signed round trip");
	json_decref(body);
	so.days = 0;
	body = cf_msg_new_self_signed_encode(&so);
	CHECK(json_is_null(json_object_get(body, "days")) &&
		  cf_msg_new_self_signed_decode(body, &sb, &err) == 0 &&
		  sb.days == 0,
	    "msg: the default days travel as null");
	json_decref(body);
	body = parse("{\"subject\":\"CN=x\",\"days\":0}");
	CHECK(cf_msg_new_self_signed_decode(body, &sb, &err) == -1 &&
		  strstr(err.msg, "days") != NULL,
	    "msg: days 0 is refused");
	json_decref(body);

	body = cf_msg_request_new_encode(&ro);
	CHECK(cf_msg_request_new_decode(body, &rb, &err) == 0 &&
		  strcmp(rb.subject, "CN=y") == 0 &&
		  strcmp(rb.domains, "y,z") == 0 && rb.exportable,
	    "msg: request new round trip");
	json_decref(body);

	body = cf_msg_export_sealed_encode("AB12", pems, 2);
	CHECK(cf_msg_export_sealed_decode(body, &thumb, &pb, &n, &err) == 0 &&
		  n == 2 && strcmp(pb[1], "PEM2") == 0,
	    "msg: export-sealed round trip");
	free(pb);
	json_decref(body);
	body = parse("{\"thumbprint\":\"AB\",\"recipients\":[]}");
	CHECK(cf_msg_export_sealed_decode(body, &thumb, &pb, &n, &err) == -1 &&
		  pb == NULL && n == 0,
	    "msg: export-sealed without recipients is refused");
	json_decref(body);

	body = cf_msg_import_sealed_encode(&blob, &io);
	CHECK(cf_msg_import_sealed_decode(body, &bb, &ib, &err) == 0 &&
		  bb.len == 3 && memcmp(bb.data, blob.data, 3) == 0 &&
		  strcmp(ib.services, "https") == 0,
	    "msg: import-sealed round trip");
	cf_buf_clear(&bb);
	json_decref(body);
}

/* The error reply: code and message, its bytes escaped. */
static void
test_errors(void)
{
	struct cf_error err;
	json_t *o;

	o = cf_msg_error_encode(CF_E_NOTFOUND, "x\xff: no such thing");
	CHECK(cf_msg_error_decode(o, CF_E_USAGE, &err) == 0 &&
		  err.code == CF_E_NOTFOUND &&
		  strcmp(err.msg, "x\\xFF: no such thing") == 0,
	    "msg: an error round trip, its bytes escaped");
	json_decref(o);
	o = parse("{\"code\":\"bogus\",\"message\":\"m\"}");
	CHECK(cf_msg_error_decode(o, CF_E_USAGE, &err) == 0 &&
		  err.code == CF_E_INTERNAL,
	    "msg: an error code it does not know is internal");
	json_decref(o);
	o = parse("{\"message\":\"m\"}");
	CHECK(cf_msg_error_decode(o, CF_E_DENIED, &err) == 0 &&
		  err.code == CF_E_DENIED,
	    "msg: an error without a code takes the fallback");
	json_decref(o);
	o = parse("{\"code\":\"usage\"}");
	CHECK(cf_msg_error_decode(o, CF_E_USAGE, &err) == -1,
	    "msg: an error without a message is not one");
	json_decref(o);
}

/* Import results, replace's reply, a detail and a thumbprint. */
static void
test_replies(void)
{
	struct cf_import_result r = {
	    THUMB, "https,smtp", "imported", NULL, "lb"};
	struct cf_import_result *rb = NULL;
	char thumb[CF_THUMB_LEN + 1], *detail = NULL, *moved = NULL;
	struct cf_error err;
	size_t n = 0;
	json_t *o;

	o = cf_msg_results_encode(&r, 1);
	CHECK(cf_msg_results_decode(o, &rb, &n, &err) == 0 && n == 1 &&
		  strcmp(rb[0].thumbprint, THUMB) == 0 &&
		  strcmp(rb[0].services, "https,smtp") == 0 &&
		  strcmp(rb[0].what, "imported") == 0 && rb[0].detail == NULL &&
		  strcmp(rb[0].skipped, "lb") == 0,
	    "msg: import results round trip");
	cf_import_results_free(rb, n);
	json_decref(o);
	o = parse("{\"results\":[{\"Thumbprint\":\"AB\"}]}");
	CHECK(cf_msg_results_decode(o, &rb, &n, &err) == -1 && rb == NULL &&
		  strstr(err.msg, "malformed") != NULL,
	    "msg: a result without a thumbprint is malformed");
	json_decref(o);

	o = cf_msg_moved_encode(THUMB, "https,pop", "https: reloaded");
	CHECK(cf_msg_moved_decode(o, thumb, &moved, &detail, &err) == 0 &&
		  strcmp(thumb, THUMB) == 0 &&
		  strcmp(moved, "https,pop") == 0 &&
		  strcmp(detail, "https: reloaded") == 0,
	    "msg: replace's reply round trip");
	free(moved);
	free(detail);
	json_decref(o);
	o = cf_msg_detail_encode(THUMB, NULL);
	CHECK(cf_msg_detail_decode(o, thumb, &detail, &err) == 0 &&
		  detail == NULL,
	    "msg: an empty detail decodes as none");
	json_decref(o);
	o = cf_msg_thumb_encode("ABCD");
	CHECK(
	    cf_msg_thumb_decode(o, thumb, &err) == -1 && err.code == CF_E_PARSE,
	    "msg: a short thumbprint is malformed");
	json_decref(o);
}

/* get's query: a thumbprint, or a page and a filter, and back. */
static void
test_get_query(void)
{
	struct cf_get_query gq = {.after = "AB12", .limit = 500}, back;
	struct cf_error err;
	char *q, *t = NULL, *a = NULL;

	q = cf_msg_get_query("AB12CD34", NULL);
	CHECK(cf_msg_get_query_decode(q, &back, &t, &a, &err) == 0 &&
		  back.arg != NULL && strcmp(back.arg, "AB12CD34") == 0 &&
		  back.after == NULL && back.limit == 0 && !back.expiring,
	    "msg: get's thumbprint round trip");
	free(q);
	free(t);
	free(a);
	CHECK(
	    cf_msg_get_query(NULL, NULL) == NULL &&
		cf_msg_get_query_decode("since=1", &back, &t, &a, &err) == 0 &&
		t == NULL && back.limit == 0,
	    "msg: get without a thumbprint or a page has no query");
	gq.expiring = 1;
	gq.days = 30;
	q = cf_msg_get_query(NULL, &gq);
	CHECK(cf_msg_get_query_decode(q, &back, &t, &a, &err) == 0 &&
		  t == NULL && a != NULL && strcmp(a, "AB12") == 0 &&
		  back.limit == 500 && back.expiring && back.days == 30 &&
		  back.percent == 0,
	    "msg: get's page and --expiring 30d round trip");
	free(q);
	free(a);
	gq.days = 0;
	gq.percent = 33;
	q = cf_msg_get_query(NULL, &gq);
	CHECK(cf_msg_get_query_decode(q, &back, &t, &a, &err) == 0 &&
		  back.expiring && back.percent == 33,
	    "msg: get's --expiring 33% round trip");
	free(q);
	free(a);
	CHECK(cf_msg_get_query_decode(
		  "after=A&limit=1001", &back, &t, &a, &err) == -1 &&
		  strstr(err.msg, "limit") != NULL,
	    "msg: a get page above CF_GET_PAGE_MAX is refused by name");
	CHECK(cf_msg_get_query_decode(
		  "expiring_percent=101", &back, &t, &a, &err) == -1,
	    "msg: --expiring above 100% is refused");
}

/* Replies that carry bytes: export's data, a CSR, whoami's CA. */
static void
test_data_replies(void)
{
	struct cf_buf data = {(unsigned char *)"secret", 6}, back = {0};
	char thumb[CF_THUMB_LEN + 1];
	struct cf_error err;
	int transfer = 0;
	json_t *o;

	o = cf_msg_data_encode(THUMB, &data);
	CHECK(cf_msg_data_decode(o, thumb, &back, &err) == 0 && back.len == 6 &&
		  memcmp(back.data, "secret", 6) == 0 &&
		  json_string_value(json_object_get(o, "data"))[0] == '\0',
	    "msg: export's data round trip, its Base64 wiped once read");
	cf_buf_clear(&back);
	json_decref(o);
	o = cf_msg_csr_encode(THUMB, "-----BEGIN CERTIFICATE REQUEST-----");
	CHECK(cf_msg_csr_decode(o, thumb, &back, &err) == 0 &&
		  strstr((char *)back.data, "REQUEST") != NULL,
	    "msg: a request's CSR round trip");
	cf_buf_clear(&back);
	json_decref(o);
	o = cf_msg_whoami_encode("ex1", "reader", "", "PEM", 1);
	CHECK(cf_msg_whoami_decode(o, &back, &transfer, &err) == 0 &&
		  strcmp((char *)back.data, "PEM") == 0 && transfer &&
		  strcmp(json_string_value(json_object_get(o, "role")),
		      "reader") == 0,
	    "msg: whoami round trip");
	cf_buf_clear(&back);
	json_decref(o);
}

static void
test_lists(void)
{
	struct cf_audit rec = {7, 1700000000, "unix:uid0", "import", THUMB,
			    "ok"},
			*rb = NULL;
	struct cf_service_view sv = {.name = "https",
				   .kind = "nginx",
				   .assigned = THUMB,
				   .endpoint = "127.0.0.1:443",
				   .check_host = "",
				   .check_port = "",
				   .proto = "smtp",
				   .sni = "mail",
				   .match = -1,
				   .problem = "",
				   .not_after = 1700000000},
			       *vb = NULL;
	struct cf_view v = {.thumbprint = THUMB,
			   .subject = "CN=a",
			   .issuer = "CN=b",
			   .friendly_name = "",
			   .serial = "01",
			   .key_type = "EC-P256",
			   .services = "https,smtp",
			   .domains = "a,b",
			   .chain = "",
			   .status = "Valid",
			   .exportable = 1,
			   .not_before = 1700000000},
		       *cb = NULL;
	struct cf_error err;
	size_t n = 0;
	json_t *a;

	a = cf_msg_audit_encode(&rec, 1);
	CHECK(cf_msg_audit_decode(a, &rb, &n, &err) == 0 && n == 1 &&
		  rb[0].id == 7 && rb[0].time == 1700000000 &&
		  strcmp(rb[0].op, "import") == 0,
	    "msg: audit records round trip");
	cf_audit_free(rb, n);
	json_decref(a);
	a = cf_msg_services_encode(&sv, 1);
	CHECK(cf_msg_services_decode(a, &vb, &n, &err) == 0 && n == 1 &&
		  strcmp(vb[0].assigned, THUMB) == 0 &&
		  vb[0].on_disk[0] == '\0' && vb[0].match == -1 &&
		  strcmp(vb[0].proto, "smtp") == 0 &&
		  vb[0].not_after == 1700000000,
	    "msg: service states round trip");
	cf_service_views_free(vb, n);
	json_decref(a);
	a = cf_msg_views_encode(&v, 1);
	CHECK(cf_msg_views_decode(a, &cb, &n, &err) == 0 && n == 1 &&
		  strcmp(cb[0].services, "https,smtp") == 0 &&
		  strcmp(cb[0].status, "Valid") == 0 && cb[0].exportable &&
		  cb[0].not_before == 1700000000 && cb[0].not_after == 0,
	    "msg: a certificate's view round trip");
	cf_views_free(cb, n);
	json_decref(a);
	a = parse("[{\"Subject\":\"CN=a\"}]");
	CHECK(cf_msg_views_decode(a, &cb, &n, &err) == -1 && cb == NULL &&
		  strstr(err.msg, "without a thumbprint") != NULL,
	    "msg: a certificate without a thumbprint is malformed");
	json_decref(a);
	a = parse("{}");
	CHECK(cf_msg_audit_decode(a, &rb, &n, &err) == -1 &&
		  cf_msg_services_decode(a, &vb, &n, &err) == -1,
	    "msg: a list that is not an array is malformed");
	json_decref(a);
}

static void
test_queries(void)
{
	struct cf_audit_page p = {.since = 5,
				 .after = 7,
				 .limit = 20,
				 .newest = 1},
			     back;
	struct cf_error err;
	char *q = cf_msg_log_query(&p);

	CHECK(cf_msg_log_query_decode(q, &back, &err) == 0 && back.since == 5 &&
		  back.after == 7 && back.before == 0 && back.limit == 20 &&
		  back.newest == 1,
	    "msg: log's page round trip");
	free(q);
	CHECK(cf_msg_log_query_decode(NULL, &back, &err) == 0 &&
		  back.limit == CF_LOG_PAGE_MAX && back.since == 0,
	    "msg: no query is the first full page");
	CHECK(
	    cf_msg_log_query_decode("since=1&limit=1001", &back, &err) == -1 &&
		strstr(err.msg, "limit") != NULL,
	    "msg: a limit above a page is refused by name");
	CHECK(cf_msg_log_query_decode("after=-1", &back, &err) == -1,
	    "msg: a negative cursor is refused");
	CHECK(cf_msg_services_query_decode(cf_msg_services_query(0)) == 0 &&
		  cf_msg_services_query_decode(cf_msg_services_query(1)) == 1,
	    "msg: services' probe round trip");
	test_get_query();
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("import"))
		test_import();
	if (check_test("export"))
		test_export();
	if (check_test("small"))
		test_small();
	if (check_test("issue"))
		test_issue();
	if (check_test("errors"))
		test_errors();
	if (check_test("replies"))
		test_replies();
	if (check_test("data_replies"))
		test_data_replies();
	if (check_test("lists"))
		test_lists();
	if (check_test("queries"))
		test_queries();
	return check_done();
}
