/*
 * error.h - the one error convention of libcertfleet.
 *
 * Every fallible function returns 0 or -1 and fills a caller-provided
 * struct cf_error.  cf_errorf() returns -1 so a failure is one line.
 * The OpenSSL error queue is drained into the message, never printed raw.
 */
#ifndef CF_ERROR_H
#define CF_ERROR_H

enum cf_code {
	CF_OK = 0,
	CF_E_INTERNAL,    /* a bug or an exhausted resource */
	CF_E_USAGE,       /* bad arguments from the caller */
	CF_E_IO,          /* file system or device */
	CF_E_PARSE,       /* input is not what it claims to be */
	CF_E_PASSWORD,    /* password needed, or wrong (MAC failed) */
	CF_E_UNSUPPORTED, /* an algorithm or format we do not read */
	CF_E_LIMIT,       /* input exceeds a cap */
	CF_E_NOTFOUND,    /* no such certificate */
	CF_E_AMBIGUOUS,   /* a thumbprint prefix matches several */
	CF_E_CONFLICT,    /* a service is taken, a certificate in use */
	CF_E_DENIED,      /* not exportable, not authorized */
	CF_E_MISMATCH,    /* key and certificate do not belong together */
	CF_E_STORE,       /* the database failed */
	CF_E_CRYPTO,      /* a cryptographic operation failed */
	CF_E_COUNT
};

struct cf_error {
	int code;
	char msg[512];
};

/* Sets err (may be NULL) to code and the formatted message; returns -1. */
int cf_errorf(struct cf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * As cf_errorf, then appends ": " and the reason of the first OpenSSL
 * error on the queue (library-internal function names left out), and
 * clears the queue.  Returns -1.
 */
int cf_errorf_ossl(struct cf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Puts the formatted text before err's message, keeping its code, so a
 * helper's bare reason gets the name of what it was about:
 * cf_error_prefix(err, "%s: ", name).  The text is taken as it is (the
 * caller writes its own separator); when the whole does not fit, the old
 * message's tail is cut on a character boundary.  The arguments must not
 * point into err.  err may be NULL.  Returns -1.
 */
int cf_error_prefix(struct cf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * As cf_error_prefix, the formatted text going after err's message: the
 * text is what is cut when the whole does not fit.  Returns -1.
 */
int cf_error_append(struct cf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to CF_OK and an empty message. */
void cf_error_clear(struct cf_error *err);

/* A short stable name for code ("parse", "not-found", ...); never NULL. */
const char *cf_code_name(int code);

#endif
