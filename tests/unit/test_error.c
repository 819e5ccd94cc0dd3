/*
 * test_error.c - error.c: cf_errorf and cf_errorf_ossl (code, message,
 * truncation, the OpenSSL queue drained), cf_error_prefix and
 * cf_error_append, code names and HTTP statuses.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <jansson.h>

#include "check.h"
#include "error.h"
#include "util.h"

static void
test_errorf(void)
{
	struct cf_error err = {CF_OK, ""};
	/* Exactly sized on the heap, so ASan sees any write past msg. */
	struct cf_error *heap = xmalloc(sizeof(*heap));
	char *long_text = xmalloc(2000);

	CHECK(cf_errorf(&err, CF_E_PARSE, "%s: not a PKCS#12 file (%d)",
		  "mail.pfx", 7) == -1,
	    "errorf: returns -1");
	CHECK(err.code == CF_E_PARSE, "errorf: sets the code");
	CHECK_STR(err.msg, "mail.pfx: not a PKCS#12 file (7)",
	    "errorf: formats the message");
	CHECK(cf_errorf(NULL, CF_E_IO, "%s", "nobody listens") == -1,
	    "errorf: NULL err is safe and still -1");
	cf_error_clear(&err);
	CHECK(err.code == CF_OK && err.msg[0] == '\0',
	    "clear: code CF_OK, empty message");
	cf_error_clear(NULL);
	CHECK(1, "clear: NULL is safe");

	memset(long_text, 'a', 1999);
	long_text[1999] = '\0';
	long_text[0] = 'B';
	CHECK(cf_errorf(heap, CF_E_LIMIT, "%s", long_text) == -1 &&
		  heap->code == CF_E_LIMIT,
	    "errorf: a long message still sets the code");
	CHECK(strlen(heap->msg) == sizeof(heap->msg) - 1 &&
		  heap->msg[0] == 'B' &&
		  strspn(heap->msg + 1, "a") == sizeof(heap->msg) - 2,
	    "errorf: a long message is truncated to the buffer, NUL-ended");
	CHECK(cf_errorf(heap, CF_E_IO, "short") == -1 &&
		  strcmp(heap->msg, "short") == 0,
	    "errorf: a short message after a long one is whole");

	ERR_raise(ERR_LIB_ASN1, ASN1_R_HEADER_TOO_LONG);
	CHECK(cf_errorf_ossl(heap, CF_E_PARSE, "%s", long_text) == -1 &&
		  strlen(heap->msg) == sizeof(heap->msg) - 1,
	    "errorf_ossl: a long message plus reason is truncated");
	CHECK(
	    ERR_peek_error() == 0, "errorf_ossl: queue empty after a long one");
	free(long_text);
	free(heap);
}

static void
test_errorf_ossl(void)
{
	struct cf_error err;
	const unsigned char junk[] = {0x30, 0x82, 0xff, 0xff, 0x01};
	const unsigned char *p = junk;
	const char *reason;
	char want[600];
	X509 *x;

	ERR_clear_error();
	ERR_raise(ERR_LIB_ASN1, ASN1_R_HEADER_TOO_LONG);
	ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
	CHECK(cf_errorf_ossl(&err, CF_E_CRYPTO, "reading %s", "a.pem") == -1,
	    "errorf_ossl: returns -1");
	CHECK(err.code == CF_E_CRYPTO, "errorf_ossl: sets the code");
	CHECK_STR(err.msg, "reading a.pem: header too long",
	    "errorf_ossl: appends the first queued reason only");
	CHECK(strstr(err.msg, "no start line") == NULL,
	    "errorf_ossl: later errors left out");
	CHECK(ERR_peek_error() == 0, "errorf_ossl: the queue is left empty");

	/* A real failure: the reason OpenSSL queued first, and nothing of
	 * its error:XXXX:library:function: decoration. */
	x = d2i_X509(NULL, &p, (long)sizeof(junk));
	CHECK(
	    x == NULL && ERR_peek_error() != 0, "errorf_ossl: d2i_X509 failed");
	reason = ERR_reason_error_string(ERR_peek_error());
	snprintf(want, sizeof(want), "import x.der: %s", reason ? reason : "");
	cf_errorf_ossl(&err, CF_E_PARSE, "import x.der");
	CHECK(reason != NULL && strcmp(err.msg, want) == 0,
	    "errorf_ossl: a real failure's first reason");
	CHECK(strstr(err.msg, "error:") == NULL &&
		  strstr(err.msg, "routines") == NULL,
	    "errorf_ossl: no library or function names");
	CHECK(ERR_peek_error() == 0, "errorf_ossl: real failure drained");

	cf_errorf_ossl(&err, CF_E_INTERNAL, "nothing queued");
	CHECK_STR(err.msg, "nothing queued",
	    "errorf_ossl: empty queue, message alone without \": \"");
	CHECK(err.code == CF_E_INTERNAL,
	    "errorf_ossl: empty queue sets the code");

	/* A reason with no string: no "(null)" and no dangling ": ". */
	ERR_raise(ERR_LIB_USER, 4093);
	cf_errorf_ossl(&err, CF_E_CRYPTO, "odd");
	CHECK(strstr(err.msg, "(null)") == NULL &&
		  strncmp(err.msg, "odd", 3) == 0,
	    "errorf_ossl: a reason without a string is not (null)");
	CHECK(ERR_peek_error() == 0, "errorf_ossl: that queue drained too");

	ERR_raise(ERR_LIB_ASN1, ASN1_R_HEADER_TOO_LONG);
	CHECK(cf_errorf_ossl(NULL, CF_E_CRYPTO, "x") == -1,
	    "errorf_ossl: NULL err is safe and still -1");
	CHECK(ERR_peek_error() == 0,
	    "errorf_ossl: NULL err still drains the queue");
}

static void
test_codes(void)
{
	static const struct {
		int code;
		const char *name;
	} want[] = {
	    {CF_OK, "ok"},
	    {CF_E_INTERNAL, "internal"},
	    {CF_E_USAGE, "usage"},
	    {CF_E_IO, "io"},
	    {CF_E_PARSE, "parse"},
	    {CF_E_PASSWORD, "password"},
	    {CF_E_UNSUPPORTED, "unsupported"},
	    {CF_E_LIMIT, "limit"},
	    {CF_E_NOTFOUND, "not-found"},
	    {CF_E_AMBIGUOUS, "ambiguous"},
	    {CF_E_CONFLICT, "conflict"},
	    {CF_E_DENIED, "denied"},
	    {CF_E_MISMATCH, "mismatch"},
	    {CF_E_STORE, "store"},
	    {CF_E_CRYPTO, "crypto"},
	};
	const int bad[] = {-1, CF_E_COUNT, CF_E_COUNT + 1, INT_MAX, INT_MIN};
	char msg[96];
	size_t i, j;
	int c, unique = 1, filled = 1;

	CHECK(sizeof(want) / sizeof(want[0]) == CF_E_COUNT,
	    "codes: the table below covers every code");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(msg, sizeof(msg), "codes: %d is %s", want[i].code,
		    want[i].name);
		CHECK(
		    strcmp(cf_code_name(want[i].code), want[i].name) == 0, msg);
	}
	for (c = 0; c < CF_E_COUNT; c++) {
		const char *n = cf_code_name(c);
		filled &= n != NULL && n[0] != '\0';
		for (j = 0; n != NULL && j < (size_t)c; j++)
			unique &= strcmp(n, cf_code_name((int)j)) != 0;
	}
	CHECK(filled, "codes: every code has a name");
	CHECK(unique, "codes: names are distinct");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "codes: out of range %d is internal",
		    bad[i]);
		CHECK(cf_code_name(bad[i]) != NULL &&
			  strcmp(cf_code_name(bad[i]), "internal") == 0,
		    msg);
	}
}

/* 1 when s is wholly valid UTF-8 (jansson takes it as a string). */
static int
utf8_whole(const char *s)
{
	json_t *j = json_string(s);
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

/* A message cut at the end of msg must not end inside a character:
 * the agent puts messages in JSON, and half a character is refused. */
static void
test_cut_utf8(void)
{
	static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x92"}; /* é, €, a lock: 2, 3 and 4 bytes */
	struct cf_error err;
	char text[1200], label[80];
	size_t i, shift, len;

	for (i = 0; i < 3; i++)
		for (shift = 0; shift < 4; shift++) {
			len = strlen(chars[i]);
			memset(text, 'x', shift);
			text[shift] = '\0';
			while (strlen(text) + len < sizeof(text))
				strcat(text, chars[i]);
			cf_errorf(&err, CF_E_IO, "%s", text);
			snprintf(label, sizeof(label),
			    "errorf: %zu-byte characters after %zu ASCII: cut "
			    "whole",
			    len, shift);
			CHECK(utf8_whole(err.msg) &&
				  strlen(err.msg) > sizeof(err.msg) - 1 - len,
			    label);
			ERR_raise(ERR_LIB_ASN1, ASN1_R_HEADER_TOO_LONG);
			/* 500 bytes or a little less, whole characters:
			 * the reason then overflows the buffer. */
			cf_errorf_ossl(&err, CF_E_PARSE, "%.*s",
			    (int)(shift + (500 - shift) / len * len), text);
			snprintf(label, sizeof(label),
			    "errorf_ossl: %zu-byte characters, reason "
			    "appended: whole",
			    len);
			CHECK(utf8_whole(err.msg), label);
		}
	/* The negative: a message that fits keeps every byte. */
	cf_errorf(&err, CF_E_IO, "%s", "caf\xc3\xa9 \xe2\x82\xac");
	CHECK_STR(err.msg, "caf\xc3\xa9 \xe2\x82\xac",
	    "errorf: a short UTF-8 message is whole");
}

static void
test_prefix_append(void)
{
	struct cf_error err;
	char text[600];

	cf_errorf(&err, CF_E_PASSWORD, "a password is needed");
	CHECK(cf_error_prefix(&err, "%s: ", "mail.pfx") == -1,
	    "prefix: returns -1");
	CHECK_STR(err.msg, "mail.pfx: a password is needed",
	    "prefix: the text goes first, as given");
	CHECK(err.code == CF_E_PASSWORD, "prefix: the code is kept");
	CHECK(cf_error_append(&err, "; undone: %s", "web back") == -1 &&
		  err.code == CF_E_PASSWORD,
	    "append: returns -1, the code is kept");
	CHECK_STR(err.msg, "mail.pfx: a password is needed; undone: web back",
	    "append: the text goes last");
	cf_errorf(&err, CF_E_IO, "100%% done");
	cf_error_prefix(&err, "write ");
	CHECK_STR(err.msg, "write 100% done",
	    "prefix: the old message is not taken as a format");
	CHECK(cf_error_prefix(NULL, "x: ") == -1 &&
		  cf_error_append(NULL, "x") == -1,
	    "prefix, append: NULL err is safe and still -1");

	/* Too long: the old message's tail (prefix) or the new text
	 * (append) is cut, on a character boundary. */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cf_errorf(&err, CF_E_LIMIT, "%.506s\xe2\x82\xac", text);
	cf_error_prefix(&err, "xyz");
	CHECK(strlen(err.msg) == 509 && utf8_whole(err.msg) &&
		  strncmp(err.msg, "xyzaaa", 6) == 0 && err.code == CF_E_LIMIT,
	    "prefix: a message pushed past the end loses its tail, whole");
	cf_errorf(&err, CF_E_LIMIT, "%.509s", text);
	cf_error_append(&err, "%s", "\xe2\x82\xac");
	CHECK(strlen(err.msg) == 509 && utf8_whole(err.msg),
	    "append: a character that does not fit is left out whole");
	cf_errorf(&err, CF_E_LIMIT, "%.508s", text);
	cf_error_append(&err, "%s", "\xe2\x82\xac");
	CHECK(strlen(err.msg) == 511 && utf8_whole(err.msg),
	    "append: a character that just fits is kept");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("cut_utf8"))
		test_cut_utf8();
	if (check_test("errorf"))
		test_errorf();
	if (check_test("errorf_ossl"))
		test_errorf_ossl();
	if (check_test("prefix_append"))
		test_prefix_append();
	if (check_test("codes"))
		test_codes();
	return check_done();
}
