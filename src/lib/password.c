/* password.c - passwords from a file, the environment or the terminal:
 * see password.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "password.h"

#define MAX_PASSWORD 1024

/* Strips one trailing newline (LF or CRLF): files end with one. */
static void
chomp(struct cf_secret *s)
{
	if (s->len > 0 && s->data[s->len - 1] == '\n')
		s->data[--s->len] = '\0';
	if (s->len > 0 && s->data[s->len - 1] == '\r')
		s->data[--s->len] = '\0';
}

static int
from_file(const char *file, struct cf_secret **out, struct cf_error *err)
{
	struct cf_buf b;

	if (cf_read_file(file, MAX_PASSWORD, &b, err) == -1)
		return cf_error_prefix(err, "password file ");
	*out = cf_secret_new(b.data, b.len);
	OPENSSL_cleanse(b.data, b.len);
	cf_buf_clear(&b);
	chomp(*out);
	if (memchr((*out)->data, '\0', (*out)->len) != NULL) {
		cf_secret_free(*out);
		*out = NULL;
		return cf_errorf(
		    err, CF_E_USAGE, "password file %s holds a NUL byte", file);
	}
	return 0;
}

/* Reads one line from the terminal with echo off. */
static struct cf_secret *
prompt_tty(const char *prompt)
{
	struct termios old, quiet;
	char buf[MAX_PASSWORD + 2];
	struct cf_secret *s = NULL;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), echo_off = 0;
	ssize_t n;
	size_t len = 0;

	if (fd == -1)
		return NULL;
	/* Echo goes off before the prompt shows, and without flushing:
	 * a password typed the moment the prompt appears is kept, unseen. */
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(fd, TCSANOW, &quiet) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
		goto restore;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, 1)) == 1 &&
	       buf[len] != '\n')
		len++;
	s = cf_secret_new(buf, len);
	chomp(s);
restore:
	if (echo_off)
		tcsetattr(fd, TCSANOW, &old);
	(void)!write(fd, "\n", 1); /* cosmetic: the typed line had no echo */
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return s;
}

int
cf_password_given(const char *file)
{
	return file != NULL || getenv("CERTFLEET_PASSWORD") != NULL;
}

int
cf_password(const char *file, int ask, int confirm, const char *prompt,
    struct cf_secret **out, struct cf_error *err)
{
	const char *env = getenv("CERTFLEET_PASSWORD");
	struct cf_secret *again = NULL;

	*out = NULL;
	if (file != NULL) {
		if (from_file(file, out, err) == -1)
			return -1;
	} else if (env != NULL) {
		/* Copied, then wiped from this process's environment. */
		*out = cf_secret_new(env, strlen(env));
		OPENSSL_cleanse((char *)env, strlen(env));
		unsetenv("CERTFLEET_PASSWORD");
	} else if (ask && isatty(STDIN_FILENO)) {
		if ((*out = prompt_tty(prompt)) == NULL)
			return cf_errorf(err, CF_E_IO,
			    "cannot read a password from the terminal");
		if (confirm) {
			again = prompt_tty("Repeat the password: ");
			if (again == NULL || again->len != (*out)->len ||
			    CRYPTO_memcmp(
				again->data, (*out)->data, again->len) != 0) {
				cf_secret_free(again);
				cf_secret_free(*out);
				*out = NULL;
				return cf_errorf(err, CF_E_USAGE,
				    "the two passwords differ; nothing done");
			}
			cf_secret_free(again);
		}
		if ((*out)->len == 0) {
			cf_secret_free(*out);
			*out = NULL;
			return cf_errorf(err, CF_E_USAGE,
			    "empty password typed; give an empty password "
			    "explicitly with an empty --password-file");
		}
	}
	if (*out != NULL && (*out)->len == 0)
		fprintf(stderr, "%s: warning: using an empty password\n",
		    program_invocation_short_name);
	return 0;
}
