/*
 * parser.c - the parser process (parser.h): the agent's side, which
 * starts `certfleetd parse` and turns its answer back into a bundle, and
 * the child's side, which parses one file and writes the answer.  The
 * encoder of each message is beside its decoder.
 *
 * Why exec and not fork: a forked child would start with a copy of the
 * agent's memory, master key, identity key and store pages included.
 * An exec'd one starts from nothing and reads only what it is sent.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "chan.h"
#include "parser.h"
#include "util.h"

#define MAGIC "CFP1"
#define MAX_NAME 4096
/* Longer than any password the PKCS#12 reader takes, so that its own
 * message says what is wrong with one. */
#define MAX_PASSWORD CF_MAX_INPUT_BYTES
/* A record is one certificate or key of a file of at most
 * CF_MAX_INPUT_BYTES; the aux data of a certificate adds little. */
#define MAX_RECORD (CF_MAX_INPUT_BYTES + 65536)

/* ---- both sides: bounded reads and writes -------------------------- */

/*
 * Waits for fd to be ready for events until deadline (cf_now_ms); 0
 * ready, -1 with errno ETIMEDOUT when the time is up.  deadline 0 waits
 * for ever (the child: the agent kills it).
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long left;
	int n;

	for (;;) {
		left = deadline == 0 ? -1 : deadline - cf_now_ms();
		if (deadline != 0 && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* Reads exactly len bytes; -1 with errno (0 at end of input). */
static int
read_full(int fd, void *buf, size_t len, long long deadline)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (deadline != 0 && wait_fd(fd, POLLIN, deadline) == -1)
			return -1;
		n = read(fd, p, len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes all len bytes, never raising SIGPIPE; -1 with errno. */
static int
send_full(int fd, const void *buf, size_t len, long long deadline)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (deadline != 0 && wait_fd(fd, POLLOUT, deadline) == -1)
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the request: agent -> parser ---------------------------------- */

/* Sends the request; the password is copied into one wiped buffer. */
static int
send_request(int fd, const char *name, const unsigned char *data, size_t len,
    const char *password, long long deadline)
{
	size_t nlen = strlen(name) > MAX_NAME ? MAX_NAME : strlen(name);
	size_t plen = password != NULL ? strlen(password) : 0;
	size_t hlen, off = 0;
	unsigned char *head;
	int rc;

	/* A name cut short is cut between characters: it goes into
	 * messages, which must stay UTF-8. */
	while (nlen > 0 && nlen < strlen(name) &&
	       ((unsigned char)name[nlen] & 0xc0) == 0x80)
		nlen--;
	hlen = 4 + 4 + nlen + 1 + 4 + plen + 4;
	head = xmalloc(hlen);
	memcpy(head, MAGIC, 4);
	chan_put_u32(head + 4, (uint32_t)nlen);
	memcpy(head + 8, name, nlen);
	off = 8 + nlen;
	head[off++] = password != NULL;
	chan_put_u32(head + off, (uint32_t)plen);
	off += 4;
	if (plen > 0)
		memcpy(head + off, password, plen);
	off += plen;
	chan_put_u32(head + off, (uint32_t)len);
	rc = send_full(fd, head, hlen, deadline) == -1 ||
		     send_full(fd, data, len, deadline) == -1
		 ? -1
		 : 0;
	OPENSSL_cleanse(head, hlen);
	free(head);
	return rc;
}

/* Reads a length and that many bytes (at most max) into a new buffer. */
static unsigned char *
read_chunk(int fd, size_t max, size_t *len)
{
	unsigned char n[4], *p;

	if (read_full(fd, n, 4, 0) == -1 || chan_get_u32(n) > max)
		return NULL;
	*len = chan_get_u32(n);
	p = xmalloc(*len + 1);
	if (read_full(fd, p, *len, 0) == -1) {
		free(p);
		return NULL;
	}
	p[*len] = '\0';
	return p;
}

/* ---- the answer: parser -> agent ----------------------------------- */

static int
send_record(int fd, char tag, const void *p, size_t len)
{
	unsigned char head[5];

	head[0] = (unsigned char)tag;
	chan_put_u32(head + 1, (uint32_t)len);
	return send_full(fd, head, 5, 0) == -1 || send_full(fd, p, len, 0) == -1
		   ? -1
		   : 0;
}

static int
send_error(int fd, const struct cf_error *e)
{
	unsigned char buf[4 + sizeof(e->msg)];
	size_t mlen = strnlen(e->msg, sizeof(e->msg));

	chan_put_u32(buf, (uint32_t)e->code);
	memcpy(buf + 4, e->msg, mlen);
	return send_record(fd, 'E', buf, 4 + mlen);
}

/* Sends every certificate and key of b, then 'Z'. */
static int
send_bundle(int fd, const struct cf_bundle *b)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int n = 0, j, rc = -1;
	size_t k;

	for (j = 0; j < sk_X509_num(b->certs); j++) {
		der = NULL;
		if ((n = i2d_X509_AUX(sk_X509_value(b->certs, j), &der)) <= 0)
			goto out;
		if (send_record(fd, 'C', der, (size_t)n) == -1)
			goto out;
		OPENSSL_free(der);
	}
	der = NULL;
	n = 0;
	for (k = 0; k < b->nkeys; k++) {
		if ((p8 = EVP_PKEY2PKCS8(b->keys[k])) == NULL ||
		    (n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
			goto out;
		if (send_record(fd, 'K', der, (size_t)n) == -1)
			goto out;
		OPENSSL_clear_free(der, (size_t)n);
		der = NULL;
		n = 0;
		PKCS8_PRIV_KEY_INFO_free(p8);
		p8 = NULL;
	}
	if ((b->was_pkcs12 && send_record(fd, 'P', "", 0) == -1) ||
	    send_record(fd, 'Z', "", 0) == -1)
		goto out;
	rc = 0;
out:
	if (der != NULL)
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

/* Adds one 'C' or 'K' record's DER to out. */
static int
take_record(const char *name, char tag, const unsigned char *p, size_t len,
    struct cf_bundle *out, struct cf_error *err)
{
	const unsigned char *q = p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert;

	if (tag == 'C') {
		if ((cert = d2i_X509_AUX(NULL, &q, (long)len)) == NULL)
			return cf_errorf_ossl(err, CF_E_INTERNAL,
			    "%s: the parser process sent a bad certificate",
			    name);
		return cf_bundle_add_cert(out, cert, err);
	}
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)len)) != NULL)
		key = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8); /* ASN1 frees clear key bytes */
	if (key == NULL)
		return cf_errorf_ossl(err, CF_E_INTERNAL,
		    "%s: the parser process sent a bad private key", name);
	return cf_bundle_add_key(out, key, err);
}

static int
malformed(const char *name, struct cf_error *err)
{
	return cf_errorf(err, CF_E_INTERNAL,
	    "the parser process sent a malformed answer reading %s; the "
	    "file was not imported",
	    name);
}

/*
 * Reads records into a new bundle until 'Z' (0, moved into out) or 'E'
 * (-1, its error); -1 too for a malformed answer.  -2 when the answer
 * stops, -3 when the deadline passed: the caller looks at how the child
 * ended.
 */
static int
read_answer(int fd, const char *name, struct cf_bundle *out, long long deadline,
    struct cf_error *err)
{
	struct cf_bundle *b = cf_bundle_new();
	unsigned char head[5], *p = NULL;
	size_t len = 0;
	int rc = -1;

	for (;;) {
		if (read_full(fd, head, 5, deadline) == -1) {
			rc = errno == ETIMEDOUT ? -3 : -2;
			goto out;
		}
		len = chan_get_u32(head + 1);
		if (len > MAX_RECORD) {
			rc = malformed(name, err);
			goto out;
		}
		p = xmalloc(len + 1);
		if (read_full(fd, p, len, deadline) == -1) {
			rc = errno == ETIMEDOUT ? -3 : -2;
			goto out;
		}
		if (head[0] == 'Z') {
			rc = cf_bundle_move(name, b, out, err) == -1 ? -1 : 0;
			goto out;
		} else if (head[0] == 'E' && len >= 4) {
			/* The code indexes tables: one out of range (a
			 * parser gone wrong) is the agent's failure. */
			uint32_t code = chan_get_u32(p);
			p[len] = '\0';
			cf_errorf(err,
			    code > CF_OK && code < CF_E_COUNT ? (int)code
							      : CF_E_INTERNAL,
			    "%s", (char *)p + 4);
			rc = -1;
			goto out;
		} else if (head[0] == 'P') {
			b->was_pkcs12 = 1;
		} else if (head[0] == 'C' || head[0] == 'K') {
			if (take_record(name, (char)head[0], p, len, b, err) ==
			    -1) {
				rc = -1;
				goto out;
			}
		} else {
			rc = malformed(name, err);
			goto out;
		}
		OPENSSL_clear_free(p, len + 1);
		p = NULL;
	}
out:
	if (p != NULL)
		OPENSSL_clear_free(p, len + 1);
	cf_bundle_free(b);
	return rc;
}

/* ---- the agent's side ---------------------------------------------- */

/* Starts `certfleetd parse` (this very binary) with fd as its fd 0, an
 * empty environment and default signal handling. */
static pid_t
spawn_parser(int fd, struct cf_error *err)
{
	char *argv[] = {"certfleetd", "parse", NULL}, *envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = -1;
	int e;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(
	    &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	e = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		cf_errorf(err, CF_E_INTERNAL,
		    "could not start the parser process: %s", strerror(e));
		return -1;
	}
	return pid;
}

/* What became of the child, for a failed answer. */
static int
child_failed(const char *name, pid_t pid, int timed_out, struct cf_error *err)
{
	int status = 0;

	/* One that is still running is stopped: a dead one's status stays
	 * the signal that ended it. */
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (timed_out)
		return cf_errorf(err, CF_E_INTERNAL,
		    "the parser process took longer than %d s reading %s "
		    "and was stopped; the file was not imported",
		    PARSER_TIMEOUT_MS / 1000, name);
	if (WIFSIGNALED(status))
		return cf_errorf(err, CF_E_INTERNAL,
		    "the parser process died (signal %d, %s) reading %s; "
		    "the file was not imported",
		    WTERMSIG(status), strsignal(WTERMSIG(status)), name);
	return cf_errorf(err, CF_E_INTERNAL,
	    "the parser process ended (status %d) without an answer "
	    "reading %s; the file was not imported",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, name);
}

int
parser_parse(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err)
{
	long long deadline = cf_now_ms() + PARSER_TIMEOUT_MS;
	struct cf_error dummy;
	int sv[2] = {-1, -1}, status, rc = -1;
	pid_t pid = -1;

	if (err == NULL)
		err = &dummy;
	if (len > CF_MAX_INPUT_BYTES)
		return cf_errorf(err, CF_E_LIMIT,
		    "%s: larger than %u bytes; not a certificate file", name,
		    CF_MAX_INPUT_BYTES);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "could not start the parser process: %s", strerror(errno));
	if ((pid = spawn_parser(sv[1], err)) == -1)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	if (send_request(sv[0], name, data, len, password, deadline) == 0)
		shutdown(sv[0], SHUT_WR);
	/* A child that died reading the request is seen by read_answer. */
	rc = read_answer(sv[0], name, out, deadline, err);
	if (rc <= -2) {
		rc = child_failed(name, pid, rc == -3, err);
		pid = -1;
	}
out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (pid > 0) {
		kill(pid, SIGKILL); /* it answered: nothing left to do */
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	return rc;
}

/* ---- the child's side ---------------------------------------------- */

/* Reads the request from fd 0, parses, answers; 0 when answered. */
static int
parse_one(void)
{
	unsigned char magic[4], has_pw = 0;
	unsigned char *name = NULL, *pw = NULL, *data = NULL;
	size_t nlen = 0, plen = 0, dlen = 0;
	struct cf_bundle *b = cf_bundle_new();
	struct cf_error err;
	int rc = -1;

	cf_error_clear(&err);
	if (read_full(0, magic, 4, 0) == -1 || memcmp(magic, MAGIC, 4) != 0 ||
	    (name = read_chunk(0, MAX_NAME, &nlen)) == NULL ||
	    read_full(0, &has_pw, 1, 0) == -1 ||
	    (pw = read_chunk(0, MAX_PASSWORD, &plen)) == NULL ||
	    (data = read_chunk(0, CF_MAX_INPUT_BYTES, &dlen)) == NULL)
		goto out;
	if (cf_bundle_parse((char *)name, data, dlen,
		has_pw ? (char *)pw : NULL, b, &err) == -1)
		rc = send_error(0, &err);
	else
		rc = send_bundle(0, b);
out:
	if (pw != NULL)
		OPENSSL_clear_free(pw, plen + 1);
	if (data != NULL)
		OPENSSL_clear_free(data, dlen + 1);
	free(name);
	cf_bundle_free(b);
	return rc;
}

int
cmd_parse(int argc, char **argv)
{
	struct cf_error err;

	(void)argv;
	cf_error_clear(&err);
	if (argc != 1) {
		fprintf(stderr, "certfleetd: parse: the agent's parser "
				"process takes no arguments\n");
		return 2;
	}
	if (parser_sandbox(&err) == -1) {
		send_error(0, &err);
		return 1;
	}
	return parse_one() == 0 ? 0 : 1;
}
