/*
 * password.h - passwords never come from argv: a file (or stdin), the
 * CERTFLEET_PASSWORD variable, or a no-echo prompt on the terminal.
 * Shared by certfleet (PKCS#12 passwords) and certfleetd (the passphrase
 * of a backup's master key).
 */
#ifndef CF_PASSWORD_H
#define CF_PASSWORD_H

#include "error.h"
#include "util.h"

/*
 * A password: from file ("-" stdin) when not NULL, else
 * $CERTFLEET_PASSWORD (then wiped from the environment), else (when ask
 * and stdin is a terminal) a no-echo prompt on /dev/tty, asked twice
 * when confirm.  *out (a new secret) is NULL when none is available.
 * An empty password is taken only when given explicitly, with a warning
 * on stderr.
 */
int cf_password(const char *file, int ask, int confirm, const char *prompt,
    struct cf_secret **out, struct cf_error *err);
/* True when a password source other than the terminal was named. */
int cf_password_given(const char *file);

#endif
