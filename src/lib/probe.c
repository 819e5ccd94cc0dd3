/*
 * probe.c - one TLS handshake with a service: see probe.h.
 *
 * The socket is non-blocking from the start and every wait is a poll
 * bounded by one deadline for the whole probe: connect, each STARTTLS
 * reply, and each round of the handshake.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "probe.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 5000
#define REPLY_MAX 4096  /* bytes of one STARTTLS-dialogue reply */
#define REPLY_LINES 100 /* lines of one reply */
#define QUOTE_MAX 100   /* bytes of a reply quoted in a message */

/* How a reply ends: after one line, after an SMTP line without the "-"
 * continuation mark, or at the line carrying the IMAP command's tag. */
enum reply_kind { R_LINE, R_SMTP, R_TAGGED };

/* One command and reply of a STARTTLS dialogue. */
struct exchange {
	const char *step; /* named in messages */
	const char *send; /* NULL: the server speaks first */
	enum reply_kind kind;
	const char *expect;  /* the reply's last line starts so */
	const char *refused; /* the message when it does not */
};

static const struct exchange smtp_dialogue[] = {
    {"greeting", NULL, R_SMTP, "220", "greeting: unexpected reply"},
    {"EHLO", "EHLO certfleet.invalid\r\n", R_SMTP, "250", "EHLO refused"},
    {"STARTTLS", "STARTTLS\r\n", R_SMTP, "220", "STARTTLS refused"},
    {NULL, NULL, R_LINE, NULL, NULL},
};
static const struct exchange imap_dialogue[] = {
    {"greeting", NULL, R_LINE, "* OK", "greeting: unexpected reply"},
    {"STARTTLS", "a1 STARTTLS\r\n", R_TAGGED, "a1 OK", "STARTTLS refused"},
    {NULL, NULL, R_LINE, NULL, NULL},
};
static const struct exchange pop_dialogue[] = {
    {"greeting", NULL, R_LINE, "+OK", "greeting: unexpected reply"},
    {"STARTTLS", "STLS\r\n", R_LINE, "+OK", "STARTTLS refused"},
    {NULL, NULL, R_LINE, NULL, NULL},
};

static const struct {
	const char *name;
	const struct exchange *dialogue; /* NULL: TLS from the first byte */
} protos[] = {
    [CF_PROBE_TLS] = {"tls", NULL},
    [CF_PROBE_SMTP] = {"smtp", smtp_dialogue},
    [CF_PROBE_IMAP] = {"imap", imap_dialogue},
    [CF_PROBE_POP] = {"pop", pop_dialogue},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

/*
 * One probe in progress; lives on cf_probe_run's stack.  Its messages
 * give the step and the reason: the caller knows the endpoint and says
 * it as its own message needs.
 */
struct probe {
	int fd;
	int timeout_ms;
	long long deadline; /* CLOCK_MONOTONIC, ms */
	struct cf_error *err;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until the socket is ready for events or the probe's deadline
 * passes; the latter is the "timed out" error naming step.  Readiness
 * includes errors and hang-ups: the read or write that follows reports
 * them with their own reason.
 */
static int
wait_fd(struct probe *p, short events, const char *step)
{
	struct pollfd pfd = {.fd = p->fd, .events = events};
	long long left;
	int n;

	for (;;) {
		left = p->deadline - now_ms();
		n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (n > 0)
			return 0;
		if (n == 0)
			return cf_errorf(p->err, CF_E_IO,
			    "timed out after %d ms in %s", p->timeout_ms, step);
		if (errno != EINTR)
			return cf_errorf(p->err, CF_E_IO, "%s: poll: %s", step,
			    strerror(errno));
	}
}

/*
 * A non-blocking connect to one address, waited for until the deadline.
 * 0 with p->fd open; -1 with *e the reason, to try the next address; -2
 * when the deadline passed (err set), as no time is left for another.
 */
static int
connect_one(struct probe *p, const struct addrinfo *ai, int *e)
{
	socklen_t len = sizeof(*e);
	int rc = -1;

	p->fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (p->fd == -1) {
		*e = errno;
		return -1;
	}
	if (connect(p->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		*e = errno;
	else if (wait_fd(p, POLLOUT, "connect") == -1)
		rc = -2;
	else if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, e, &len) == -1)
		*e = errno;
	else if (*e == 0)
		return 0;
	close(p->fd);
	p->fd = -1;
	return rc;
}

/*
 * Resolves host and connects to each address in turn until one answers,
 * all within the probe's deadline.  The resolver itself is not bounded
 * by it: getaddrinfo has no timeout, only resolv.conf's own.
 */
static int
dial(struct probe *p, const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int e = ECONNREFUSED, n;

	n = getaddrinfo(host, port, &hints, &res);
	if (n != 0)
		return cf_errorf(p->err, CF_E_IO, "cannot resolve %s: %s", host,
		    n == EAI_SYSTEM ? strerror(errno) : gai_strerror(n));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		n = connect_one(p, ai, &e);
		if (n != -1)
			break;
	}
	freeaddrinfo(res);
	if (n == 0)
		return 0;
	if (n == -1)
		cf_errorf(p->err, CF_E_IO, "connect: %s", strerror(e));
	return -1;
}

/* A socket call that failed only for now: wait and call again. */
static int
again(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Sends all of s, waiting for room as needed; MSG_NOSIGNAL keeps a gone
 * server an error rather than a SIGPIPE. */
static int
send_all(struct probe *p, const char *step, const char *s)
{
	size_t off = 0, len = strlen(s);
	ssize_t n;

	while (off < len) {
		n = send(p->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n >= 0)
			off += (size_t)n;
		else if (!again(errno))
			return cf_errorf(
			    p->err, CF_E_IO, "%s: %s", step, strerror(errno));
		else if (wait_fd(p, POLLOUT, step) == -1)
			return -1;
	}
	return 0;
}

/*
 * One line of a reply into line, CR LF removed.  Bytes are peeked and
 * only those up to the LF consumed: what the server sends after its
 * reply belongs to the TLS handshake and must stay in the socket.
 * *budget (line holds *budget + 1 bytes) bounds the whole reply.
 */
static int
read_line(struct probe *p, const char *step, char *line, size_t *budget)
{
	size_t len = 0, take;
	ssize_t n;
	char *nl = NULL;

	while (nl == NULL) {
		if (len == *budget)
			return cf_errorf(p->err, CF_E_IO,
			    "%s: reply longer than %d bytes", step, REPLY_MAX);
		n = recv(p->fd, line + len, *budget - len, MSG_PEEK);
		if (n < 0 && again(errno)) {
			if (wait_fd(p, POLLIN, step) == -1)
				return -1;
			continue;
		}
		if (n <= 0)
			return cf_errorf(p->err, CF_E_IO, "%s: %s", step,
			    n == 0 ? "connection closed by the server"
				   : strerror(errno));
		nl = memchr(line + len, '\n', (size_t)n);
		take = nl ? (size_t)(nl - (line + len)) + 1 : (size_t)n;
		if (recv(p->fd, line + len, take, 0) != (ssize_t)take)
			return cf_errorf(
			    p->err, CF_E_IO, "%s: %s", step, strerror(errno));
		len += take;
	}
	*budget -= len;
	line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[len - 1] = '\0';
	return 0;
}

/*
 * Sends x's command, reads its reply to the end and checks the last
 * line.  A reply that is not the expected one is quoted in the message,
 * shortened and with unprintable bytes masked: it comes from anywhere.
 */
static int
exchange(struct probe *p, const struct exchange *x)
{
	char line[REPLY_MAX + 1];
	size_t budget = REPLY_MAX, i;
	int n;

	if (x->send != NULL && send_all(p, x->step, x->send) == -1)
		return -1;
	for (n = 0;; n++) {
		if (n == REPLY_LINES)
			return cf_errorf(p->err, CF_E_IO,
			    "%s: reply longer than %d lines", x->step,
			    REPLY_LINES);
		if (read_line(p, x->step, line, &budget) == -1)
			return -1;
		if (x->kind == R_LINE ||
		    (x->kind == R_SMTP &&
			(strlen(line) < 4 || line[3] != '-')) ||
		    (x->kind == R_TAGGED && strncmp(line, "a1 ", 3) == 0))
			break;
	}
	if (strncmp(line, x->expect, strlen(x->expect)) == 0)
		return 0;
	line[QUOTE_MAX] = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			line[i] = '?';
	return cf_errorf(p->err, CF_E_IO, "%s: %s", x->refused, line);
}

struct cf_probe_ctx {
	SSL_CTX *ssl;
	int verify; /* roots were loaded: probes report verification */
};

/*
 * The SSL_CTX of probes: TLS 1.2 or later, roots from ca_file when
 * given, else the system's when verify.  Verification never fails the
 * handshake: the probe reports what was served, and SSL_get_verify_result
 * says whether it verified.  No client session cache, so every probe is
 * a full handshake and sees the certificate.
 */
static SSL_CTX *
ssl_ctx_new(const char *ca_file, int verify, struct cf_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		cf_errorf_ossl(err, CF_E_INTERNAL, "TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (ca_file == NULL) {
		if (!verify || SSL_CTX_set_default_verify_paths(ctx) == 1)
			return ctx;
		cf_errorf_ossl(err, CF_E_IO, "the system's CA roots");
	}
	/* OpenSSL's reason for a missing file is a bare "system lib". */
	else if (access(ca_file, R_OK) != 0)
		cf_errorf(
		    err, CF_E_IO, "CA file %s: %s", ca_file, strerror(errno));
	else if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
		cf_errorf_ossl(err, CF_E_IO, "CA file %s", ca_file);
	else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * SSL_connect on the non-blocking socket, each WANT_READ / WANT_WRITE a
 * poll bounded by the deadline.  A bare EOF or reset has no OpenSSL
 * reason, so errno or "connection closed" stands in for it.
 */
static int
handshake(struct probe *p, SSL *ssl)
{
	int r, e;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(ssl);
		e = errno;
		if (r == 1)
			return 0;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			if (wait_fd(p, POLLIN, "TLS handshake") == -1)
				return -1;
			break;
		case SSL_ERROR_WANT_WRITE:
			if (wait_fd(p, POLLOUT, "TLS handshake") == -1)
				return -1;
			break;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0)
				return cf_errorf(p->err, CF_E_IO,
				    "TLS handshake: %s",
				    e ? strerror(e)
				      : "connection closed by the server");
			/* fall through */
		default:
			return cf_errorf_ossl(p->err, CF_E_IO, "TLS handshake");
		}
	}
}

/*
 * What the server presented, into out.  The names, thumbprint and dates
 * come from cf_certfacts_read_light so they read as everywhere else in
 * certfleet (and cost no signature check); the subject and issuer strings are
 * taken over from it. The chain was verified without the name (the handshake's
 * verify result is "trusted"), and the name is checked here on its own, so a
 * user learns both; verified needs the two, as SSL_set1_host would.
 */
static int
report(struct probe *p, SSL *ssl, int verify, const char *sni,
    struct cf_probe *out)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	struct cf_certfacts f;
	long v;

	if (leaf == NULL)
		return cf_errorf(
		    p->err, CF_E_IO, "TLS handshake: no certificate presented");
	cf_certfacts_read_light(leaf, &f);
	memcpy(out->thumbprint, f.thumbprint, sizeof(out->thumbprint));
	out->subject = f.subject;
	out->issuer = f.issuer;
	f.subject = f.issuer = NULL;
	out->not_before = f.not_before;
	out->not_after = f.not_after;
	cf_certfacts_clear(&f);
	out->chain_len = chain != NULL ? sk_X509_num(chain) : 1;
	snprintf(
	    out->version, sizeof(out->version), "%s", SSL_get_version(ssl));
	v = SSL_get_verify_result(ssl);
	out->name_ok =
	    sni == NULL ? -1 : X509_check_host(leaf, sni, 0, 0, NULL) == 1;
	out->trusted = verify && v == X509_V_OK;
	out->verified = out->trusted && out->name_ok != 0;
	snprintf(out->verify_error, sizeof(out->verify_error), "%s",
	    !verify          ? "not checked"
	    : v != X509_V_OK ? X509_verify_cert_error_string(v)
	    : out->name_ok == 0
		? X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH)
		: "");
	return 0;
}

/*
 * The TLS part of the probe on the connected socket: SNI, the name to
 * verify, the handshake, the report, then one close_notify without
 * waiting for the server's.
 */
static int
tls_probe(struct probe *p, const struct cf_probe_ctx *ctx,
    const struct cf_probe_opts *o, struct cf_probe *out)
{
	int sni = o->sni != NULL && o->sni[0] != '\0';
	SSL *ssl = SSL_new(ctx->ssl);
	int rc = -1;

	if (ssl == NULL || SSL_set_fd(ssl, p->fd) != 1 ||
	    (sni && SSL_set_tlsext_host_name(ssl, o->sni) != 1)) {
		cf_errorf_ossl(p->err, CF_E_IO, "TLS handshake: setup");
		goto out;
	}
	if (handshake(p, ssl) == -1)
		goto out;
	if (report(p, ssl, ctx->verify, sni ? o->sni : NULL, out) == -1)
		goto out;
	rc = 0;
out:
	if (ssl != NULL && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	return rc;
}

/*
 * OpenSSL writes to the socket with write(2), which raises SIGPIPE when
 * the server has gone.  A library must not change the process's signal
 * disposition, so SIGPIPE is blocked in this thread for the probe and one
 * raised meanwhile is consumed before the old mask returns (as libpq does).
 */
static void
sigpipe_block(sigset_t *old, int *was_pending)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
	sigpending(&pending);
	*was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void
sigpipe_restore(const sigset_t *old, int was_pending)
{
	sigset_t set, pending;
	struct timespec zero = {0, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int
cf_probe_proto_parse(
    const char *name, enum cf_probe_proto *out, struct cf_error *err)
{
	size_t i;

	for (i = 0; i < NPROTOS; i++)
		if (cf_strieq(name, protos[i].name)) {
			*out = (enum cf_probe_proto)i;
			return 0;
		}
	if (cf_strieq(name, "pop3")) {
		*out = CF_PROBE_POP;
		return 0;
	}
	return cf_errorf(err, CF_E_USAGE,
	    "unknown protocol %s: use tls, smtp, imap or pop", name);
}

const char *
cf_probe_proto_name(enum cf_probe_proto p)
{
	return (size_t)p < NPROTOS ? protos[p].name : "unknown";
}

struct cf_probe_ctx *
cf_probe_ctx_new(const char *ca_file, int verify, struct cf_error *err)
{
	struct cf_probe_ctx *c;
	SSL_CTX *ssl = ssl_ctx_new(ca_file, verify, err);

	if (ssl == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->ssl = ssl;
	c->verify = verify || ca_file != NULL;
	return c;
}

void
cf_probe_ctx_free(struct cf_probe_ctx *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

void
cf_probe_clear(struct cf_probe *p)
{
	if (p == NULL)
		return;
	free(p->subject);
	free(p->issuer);
	memset(p, 0, sizeof(*p));
}

/*
 * The probe's steps in order, each filling err on failure.  The result is
 * built aside and handed over only on success; *out is zeroed, not
 * cleared, on entry, so an uninitialised struct may be passed.
 */
int
cf_probe_run(
    const struct cf_probe_opts *o, struct cf_probe *out, struct cf_error *err)
{
	struct probe p = {.fd = -1, .err = err};
	const struct exchange *x;
	struct cf_probe got;
	struct cf_probe_ctx own = {NULL, 0};
	const struct cf_probe_ctx *ctx = o->ctx;
	sigset_t mask;
	int rc = -1, was_pending;

	memset(out, 0, sizeof(*out));
	memset(&got, 0, sizeof(got));
	if (o->host == NULL || o->host[0] == '\0' || o->port == NULL ||
	    (size_t)o->proto >= NPROTOS)
		return cf_errorf(err, CF_E_USAGE,
		    "probe: a host, a port and a known protocol are needed");
	p.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	p.deadline = now_ms() + p.timeout_ms;
	sigpipe_block(&mask, &was_pending);
	if (ctx == NULL) {
		own.verify = o->verify || o->ca_file != NULL;
		own.ssl = ssl_ctx_new(o->ca_file, o->verify, err);
		if (own.ssl == NULL)
			goto out;
		ctx = &own;
	}
	if (dial(&p, o->host, o->port) == -1)
		goto out;
	for (x = protos[o->proto].dialogue; x != NULL && x->step != NULL; x++)
		if (exchange(&p, x) == -1)
			goto out;
	if (tls_probe(&p, ctx, o, &got) == -1)
		goto out;
	*out = got;
	memset(&got, 0, sizeof(got));
	rc = 0;
out:
	cf_probe_clear(&got);
	if (p.fd != -1)
		close(p.fd);
	SSL_CTX_free(own.ssl);
	sigpipe_restore(&mask, was_pending);
	return rc;
}
