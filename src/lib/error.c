/* error.c - the error convention: see error.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "error.h"

static const struct {
	const char *name;
} codes[CF_E_COUNT] = {
    [CF_OK] = {"ok"},
    [CF_E_INTERNAL] = {"internal"},
    [CF_E_USAGE] = {"usage"},
    [CF_E_IO] = {"io"},
    [CF_E_PARSE] = {"parse"},
    [CF_E_PASSWORD] = {"password"},
    [CF_E_UNSUPPORTED] = {"unsupported"},
    [CF_E_LIMIT] = {"limit"},
    [CF_E_NOTFOUND] = {"not-found"},
    [CF_E_AMBIGUOUS] = {"ambiguous"},
    [CF_E_CONFLICT] = {"conflict"},
    [CF_E_DENIED] = {"denied"},
    [CF_E_MISMATCH] = {"mismatch"},
    [CF_E_STORE] = {"store"},
    [CF_E_CRYPTO] = {"crypto"},
};

/*
 * Cuts msg, which snprintf may have cut inside a multibyte character,
 * back to the last whole one: a message goes into JSON, and jansson
 * refuses a string that ends in half a character.  Only the tail is
 * looked at; invalid bytes elsewhere are the JSON encoder's business.
 */
static void
cut_whole(char *msg)
{
	size_t n = strlen(msg), lead = n, need;

	while (lead > 0 && ((unsigned char)msg[lead - 1] & 0xc0) == 0x80 &&
	       n - lead < 3)
		lead--;
	if (lead == 0 || (unsigned char)msg[lead - 1] < 0xc0)
		return;
	lead--; /* the lead byte of the last character */
	need = (unsigned char)msg[lead] >= 0xf0   ? 4
	       : (unsigned char)msg[lead] >= 0xe0 ? 3
						  : 2;
	if (n - lead < need)
		msg[lead] = '\0';
}

static void
verrorf(struct cf_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) >=
	    (int)sizeof(err->msg))
		cut_whole(err->msg);
}

int
cf_errorf(struct cf_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	verrorf(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The reason string of the earliest queued OpenSSL error is the most
 * telling ("bad decrypt", "unsupported"); the function names and file
 * positions that ERR_print_errors adds mean nothing to a user.
 */
int
cf_errorf_ossl(struct cf_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (err != NULL) {
		va_start(ap, fmt);
		verrorf(err, code, fmt, ap);
		va_end(ap);
		if (reason != NULL)
			cf_error_append(err, ": %s", reason);
	}
	ERR_clear_error();
	return -1;
}

int
cf_error_prefix(struct cf_error *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	verrorf(err, err->code, fmt, ap);
	va_end(ap);
	return cf_error_append(err, "%s", old);
}

int
cf_error_append(struct cf_error *err, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;

	if (err == NULL)
		return -1;
	n = strlen(err->msg);
	va_start(ap, fmt);
	w = vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	if (w >= (int)(sizeof(err->msg) - n))
		cut_whole(err->msg);
	return -1;
}

void
cf_error_clear(struct cf_error *err)
{
	if (err == NULL)
		return;
	err->code = CF_OK;
	err->msg[0] = '\0';
}

const char *
cf_code_name(int code)
{
	if (code < 0 || code >= CF_E_COUNT)
		return "internal";
	return codes[code].name;
}
