/*
 * test_probe.c - probes against a real server on 127.0.0.1: a thread that
 * accepts, speaks the server side of a STARTTLS dialogue and handshakes
 * with a certificate chosen by SNI ("a.test" gets A, "old.test" an
 * expired one, anything else B).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "check.h"
#include "probe.h"
#include "testpki.h"

/* What the server does with a connection. */
enum mode {
	S_TLS,
	S_TLS_CHAIN,
	S_SMTP,
	S_SMTP_NO_TLS,
	S_IMAP,
	S_POP,
	S_SILENT,
	S_PLAIN
};

/*
 * Each mode's script, run before the handshake: a string is sent as is,
 * "<" reads one command line (recorded), "?" reads whatever bytes come.
 */
static const struct {
	const char *script[8];
	int tls;   /* then a TLS handshake; else read until the client goes */
	int chain; /* B goes with the intermediate */
} modes[] = {
    [S_TLS] = {{NULL}, 1},
    [S_TLS_CHAIN] = {{NULL}, 1, 1},
    [S_SMTP] = {{"220-mx.test ESMTP\r\n220 mx.test ready\r\n", "<",
		    "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "<",
		    "220 2.0.0 Ready to start TLS\r\n", NULL},
	1},
    [S_SMTP_NO_TLS] = {{"220 mx.test ESMTP\r\n", "<",
			   "250-mx.test\r\n250 SIZE 1000\r\n", "<",
			   "454 4.7.0 TLS not available\r\n", NULL},
	0},
    [S_IMAP] = {{"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", "<",
		    "* NOTE untagged\r\na1 OK Begin TLS now\r\n", NULL},
	1},
    [S_POP] = {{"+OK POP3 ready\r\n", "<", "+OK Begin TLS\r\n", NULL}, 1},
    [S_SILENT] = {{NULL}, 0},
    [S_PLAIN] = {{"?", "HTTP/1.0 400 Bad Request\r\n\r\n", NULL}, 0},
};

struct pki {
	EVP_PKEY *key;
	X509 *root, *inter, *a, *b, *other_root, *old;
	STACK_OF(X509) * chain; /* inter, sent with B when asked */
};

struct server {
	enum mode mode;
	int nconn; /* connections to serve */
	const struct pki *pki;
	SSL_CTX *ctx;
	int lfd;
	char port[8];
	pthread_t thread;
	char got[256]; /* the client's commands, '|'-separated */
	char sni[64];  /* the name the client sent, "-" for none */
	int handshakes;
};

/* The servername callback: A for "a.test", B (maybe with chain) else. */
static int
pick_cert(SSL *ssl, int *alert, void *arg)
{
	struct server *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int a = name != NULL && strcmp(name, "a.test") == 0;
	int old = name != NULL && strcmp(name, "old.test") == 0;

	(void)alert;
	snprintf(s->sni, sizeof(s->sni), "%s", name ? name : "-");
	if (SSL_use_cert_and_key(ssl,
		a     ? s->pki->a
		: old ? s->pki->old
		      : s->pki->b,
		s->pki->key, !a && modes[s->mode].chain ? s->pki->chain : NULL,
		1) != 1)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* One command line from the client, byte by byte, into s->got. */
static int
read_command(struct server *s, int fd)
{
	char line[128];
	size_t n = 0;

	while (n < sizeof(line) - 1 && recv(fd, line + n, 1, 0) == 1)
		if (line[n++] == '\n')
			break;
	if (n == 0 || line[n - 1] != '\n')
		return -1;
	n -= n > 1 && line[n - 2] == '\r' ? 2 : 1;
	line[n] = '\0';
	snprintf(s->got + strlen(s->got), sizeof(s->got) - strlen(s->got),
	    "%s%s", s->got[0] ? "|" : "", line);
	return 0;
}

/* One connection: the mode's script, then the handshake or a drain. */
static void
serve_one(struct server *s, int fd)
{
	struct timeval tv = {3, 0};
	const char *const *step;
	char buf[4096];
	SSL *ssl;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (step = modes[s->mode].script; *step != NULL; step++) {
		ssize_t n;
		if (strcmp(*step, "<") == 0)
			n = read_command(s, fd);
		else if (strcmp(*step, "?") == 0)
			n = recv(fd, buf, sizeof(buf), 0);
		else
			n = send(fd, *step, strlen(*step), MSG_NOSIGNAL);
		if (n < 0)
			return;
	}
	if (!modes[s->mode].tls) {
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		return;
	}
	ssl = SSL_new(s->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		s->handshakes++;
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
}

/* The server thread: nconn connections, each awaited at most 3 s. */
static void *
serve(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
	int i, fd;

	for (i = 0; i < s->nconn; i++) {
		if (poll(&pfd, 1, 3000) != 1 ||
		    (fd = accept(s->lfd, NULL, NULL)) == -1)
			break;
		serve_one(s, fd);
		close(fd);
	}
	return NULL;
}

/* A listening socket on 127.0.0.1 and a free port; its port into port. */
static int
listen_any(char port[8])
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("listen_any");
		exit(2);
	}
	snprintf(port, 8, "%u", ntohs(sin.sin_port));
	return fd;
}

static void
server_start(struct server *s, SSL_CTX *ctx, const struct pki *pki,
    enum mode mode, int nconn)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->nconn = nconn;
	s->pki = pki;
	s->ctx = ctx;
	s->lfd = listen_any(s->port);
	SSL_CTX_set_tlsext_servername_arg(ctx, s);
	pthread_create(&s->thread, NULL, serve, s);
}

static void
server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

/* Runs one probe of proto against s with sni and ca_file (may be NULL). */
static int
probe(struct server *s, enum cf_probe_proto proto, const char *sni,
    const char *ca_file, struct cf_probe *out, struct cf_error *err)
{
	struct cf_probe_opts o = {.host = "127.0.0.1",
	    .port = s->port,
	    .sni = sni,
	    .proto = proto,
	    .ca_file = ca_file};
	int rc = cf_probe_run(&o, out, err);

	server_stop(s);
	return rc;
}

static void
pki_make(struct pki *p)
{
	EVP_PKEY *k = tp_key(0);

	p->key = k;
	p->root = tp_cert("Test Root", NULL, k, NULL, NULL, -1, 30, 1);
	p->inter = tp_cert("Test Intermediate", NULL, k, p->root, k, -1, 30, 1);
	p->a = tp_cert("a.test", "a.test", k, p->root, k, -1, 30, 0);
	p->b = tp_cert("b.test", "b.test", k, p->inter, k, -1, 30, 0);
	p->other_root = tp_cert("Other Root", NULL, k, NULL, NULL, -1, 30, 1);
	p->old = tp_cert("old.test", "old.test", k, p->root, k, -30, -1, 0);
	p->chain = sk_X509_new_null();
	sk_X509_push(p->chain, p->inter);
}

static void
pki_free(struct pki *p)
{
	sk_X509_free(p->chain);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->a);
	X509_free(p->b);
	X509_free(p->other_root);
	X509_free(p->old);
	EVP_PKEY_free(p->key);
}

/* Writes cert as PEM to the scratch directory under name; path into out. */
static void
write_pem(X509 *cert, const char *name, char out[512])
{
	char *pem = tp_pem(&cert, 1, NULL);
	FILE *f;

	snprintf(out, 512, "%s/%s", check_tmpdir(), name);
	if ((f = fopen(out, "w")) == NULL || fputs(pem, f) == EOF ||
	    fclose(f) != 0) {
		perror(out);
		exit(2);
	}
	free(pem);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Plain TLS, SNI, chains and verification. */
static void
test_tls(SSL_CTX *ctx, const struct pki *pki)
{
	struct server s;
	struct cf_probe r;
	struct cf_error err;
	struct cf_certfacts fb;
	char ta[CF_THUMB_LEN + 1], root[512], other[512];

	cf_cert_thumbprint(pki->a, ta);
	cf_certfacts_read(pki->b, &fb, &err);
	write_pem(pki->root, "root.pem", root);
	write_pem(pki->other_root, "other.pem", other);

	server_start(&s, ctx, pki, S_TLS, 1);
	CHECK(probe(&s, CF_PROBE_TLS, NULL, NULL, &r, &err) == 0 &&
		  strcmp(r.thumbprint, fb.thumbprint) == 0 &&
		  strcmp(s.sni, "-") == 0,
	    "probe: plain TLS without SNI returns the default leaf");
	CHECK(r.subject != NULL && strcmp(r.subject, fb.subject) == 0 &&
		  strcmp(r.issuer, fb.issuer) == 0 &&
		  r.not_before == fb.not_before && r.not_after == fb.not_after,
	    "probe: subject, issuer and dates are the leaf's");
	CHECK(r.chain_len == 1 && strncmp(r.version, "TLSv1.", 6) == 0 &&
		  !r.verified && strcmp(r.verify_error, "not checked") == 0,
	    "probe: chain length 1, the version, verification not checked");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS, 1);
	CHECK(probe(&s, CF_PROBE_TLS, "a.test", NULL, &r, &err) == 0 &&
		  strcmp(r.thumbprint, ta) == 0 && strcmp(s.sni, "a.test") == 0,
	    "probe: SNI a.test selects the other certificate");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe(&s, CF_PROBE_TLS, "b.test", root, &r, &err) == 0 &&
		  r.chain_len == 2 && r.verified && r.verify_error[0] == '\0',
	    "probe: chain_len counts the intermediate; verified to the root");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe(&s, CF_PROBE_TLS, "b.test", other, &r, &err) == 0 &&
		  !r.verified && strstr(r.verify_error, "issuer") != NULL,
	    "probe: a wrong root is verified = 0 with the reason");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe(&s, CF_PROBE_TLS, "c.test", root, &r, &err) == 0 &&
		  strcmp(r.thumbprint, fb.thumbprint) == 0 && !r.verified &&
		  strstr(r.verify_error, "hostname") != NULL,
	    "probe: a name the certificate lacks is verified = 0");
	cf_probe_clear(&r);

	{
		struct cf_probe_opts o = {.host = "127.0.0.1",
		    .port = "1",
		    .ca_file = "/nonexistent/roots.pem"};
		CHECK(cf_probe_run(&o, &r, &err) == -1 && err.code == CF_E_IO &&
			  strstr(err.msg, "CA file") != NULL,
		    "probe: an unreadable CA file is an error");
	}
	cf_certfacts_clear(&fb);
}

/* Runs one probe of s with sni, through ctx or with verify set. */
static int
probe_verify(struct server *s, const char *sni, const struct cf_probe_ctx *ctx,
    int verify, struct cf_probe *out, struct cf_error *err)
{
	struct cf_probe_opts o = {.host = "127.0.0.1",
	    .port = s->port,
	    .sni = sni,
	    .verify = verify,
	    .ctx = ctx};
	int rc = cf_probe_run(&o, out, err);

	server_stop(s);
	return rc;
}

/*
 * verify: the system's roots when no CA file is named; trust and the
 * name reported apart; a shared context; an expired leaf.
 */
static void
test_verify(SSL_CTX *ctx, const struct pki *pki)
{
	struct server s;
	struct cf_probe r;
	struct cf_error err;
	struct cf_probe_ctx *roots, *sys;
	char root[512], tb[CF_THUMB_LEN + 1];
	FILE *f;

	cf_cert_thumbprint(pki->b, tb);
	write_pem(pki->root, "root.pem", root);

	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe_verify(&s, "b.test", NULL, 1, &r, &err) == 0 &&
		  strcmp(r.thumbprint, tb) == 0 && !r.trusted && !r.verified &&
		  r.name_ok == 1 && strstr(r.verify_error, "issuer") != NULL,
	    "probe: verify: a private CA is not trusted by the system's roots, "
	    "the thumbprint still known");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS, 1);
	CHECK(probe_verify(&s, "c.test", NULL, 0, &r, &err) == 0 &&
		  !r.trusted && !r.verified && r.name_ok == 0 &&
		  strcmp(r.verify_error, "not checked") == 0,
	    "probe: no verification: the name is checked all the same");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS, 1);
	CHECK(probe_verify(&s, NULL, NULL, 0, &r, &err) == 0 && r.name_ok == -1,
	    "probe: no SNI: name_ok -1");
	cf_probe_clear(&r);

	CHECK((sys = cf_probe_ctx_new(NULL, 1, &err)) != NULL,
	    "probe: a context with the system's roots");
	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe_verify(&s, "b.test", sys, 0, &r, &err) == 0 && !r.trusted &&
		  r.name_ok == 1 && r.verify_error[0] != '\0',
	    "probe: a shared system-roots context: not trusted");
	cf_probe_clear(&r);
	cf_probe_ctx_free(sys);

	CHECK((roots = cf_probe_ctx_new(root, 0, &err)) != NULL,
	    "probe: a context with a CA file");
	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe_verify(&s, "b.test", roots, 0, &r, &err) == 0 &&
		  r.trusted && r.name_ok == 1 && r.verified &&
		  r.verify_error[0] == '\0',
	    "probe: shared context: trusted, name matches, verified");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS_CHAIN, 1);
	CHECK(probe_verify(&s, "c.test", roots, 0, &r, &err) == 0 &&
		  r.trusted && r.name_ok == 0 && !r.verified &&
		  strstr(r.verify_error, "hostname") != NULL,
	    "probe: another name: trusted, but name_ok 0 and not verified");
	cf_probe_clear(&r);

	server_start(&s, ctx, pki, S_TLS, 1);
	CHECK(probe_verify(&s, "old.test", roots, 0, &r, &err) == 0 &&
		  !r.trusted && r.name_ok == 1 && r.not_after < time(NULL) &&
		  strstr(r.verify_error, "expired") != NULL,
	    "probe: an expired leaf is not trusted, the reason says so");
	cf_probe_clear(&r);
	cf_probe_ctx_free(roots);
	cf_probe_ctx_free(NULL);

	CHECK(cf_probe_ctx_new("/nonexistent/roots.pem", 1, &err) == NULL &&
		  err.code == CF_E_IO && strstr(err.msg, "CA file") != NULL &&
		  strstr(err.msg, "/nonexistent/roots.pem") != NULL,
	    "probe: a context with an unreadable CA file is an error");
	snprintf(root, sizeof(root), "%s/junk.pem", check_tmpdir());
	if ((f = fopen(root, "w")) == NULL || fputs("junk\n", f) == EOF ||
	    fclose(f) != 0) {
		perror(root);
		exit(2);
	}
	CHECK(cf_probe_ctx_new(root, 0, &err) == NULL && err.code == CF_E_IO &&
		  strstr(err.msg, "CA file") != NULL,
	    "probe: a context with a CA file holding no certificate is an "
	    "error");
}

/* The three STARTTLS dialogues and a refusal. */
static void
test_starttls(SSL_CTX *ctx, const struct pki *pki)
{
	static const struct {
		enum mode mode;
		enum cf_probe_proto proto;
		const char *got, *name;
	} cases[] = {
	    {S_SMTP, CF_PROBE_SMTP, "EHLO certfleet.invalid|STARTTLS",
		"probe: smtp: multi-line 220 and 250, then STARTTLS"},
	    {S_IMAP, CF_PROBE_IMAP, "a1 STARTTLS",
		"probe: imap: a1 STARTTLS past an untagged line"},
	    {S_POP, CF_PROBE_POP, "STLS", "probe: pop: STLS"},
	};
	struct server s;
	struct cf_probe r;
	struct cf_error err;
	char ta[CF_THUMB_LEN + 1];
	size_t i;

	cf_cert_thumbprint(pki->a, ta);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		server_start(&s, ctx, pki, cases[i].mode, 1);
		CHECK(
		    probe(&s, cases[i].proto, "a.test", NULL, &r, &err) == 0 &&
			strcmp(r.thumbprint, ta) == 0 &&
			strcmp(s.got, cases[i].got) == 0 && s.handshakes == 1,
		    cases[i].name);
		cf_probe_clear(&r);
	}

	server_start(&s, ctx, pki, S_SMTP_NO_TLS, 1);
	CHECK(probe(&s, CF_PROBE_SMTP, NULL, NULL, &r, &err) == -1 &&
		  err.code == CF_E_IO &&
		  strcmp(err.msg, "STARTTLS refused: 454 4.7.0 TLS not "
				  "available") == 0 &&
		  r.subject == NULL,
	    "probe: smtp: 454 to STARTTLS is an error quoting it, the "
	    "endpoint left to the caller");

	server_start(&s, ctx, pki, S_POP, 1);
	CHECK(probe(&s, CF_PROBE_IMAP, NULL, NULL, &r, &err) == -1 &&
		  strstr(err.msg, "greeting: unexpected reply: +OK") != NULL,
	    "probe: imap against a POP server fails at the greeting");
}

/* Refused, silent and plaintext servers. */
static void
test_failures(SSL_CTX *ctx, const struct pki *pki)
{
	struct server s;
	struct cf_probe r;
	struct cf_error err;
	struct cf_probe_opts o = {.host = "127.0.0.1", .timeout_ms = 300};
	char port[8];
	double t0;

	close(listen_any(port));
	o.port = port;
	CHECK(cf_probe_run(&o, &r, &err) == -1 && err.code == CF_E_IO &&
		  strncmp(err.msg, "connect: ", 9) == 0,
	    "probe: a closed port is a connect error");

	server_start(&s, ctx, pki, S_SILENT, 1);
	o.port = s.port;
	t0 = now_s();
	CHECK(cf_probe_run(&o, &r, &err) == -1 && now_s() - t0 < 2.0 &&
		  strstr(err.msg, "timed out after 300 ms in TLS handshake") !=
		      NULL,
	    "probe: a silent server times out in the handshake");
	server_stop(&s);

	server_start(&s, ctx, pki, S_SILENT, 1);
	o.port = s.port;
	o.proto = CF_PROBE_SMTP;
	t0 = now_s();
	CHECK(cf_probe_run(&o, &r, &err) == -1 && now_s() - t0 < 2.0 &&
		  strstr(err.msg, "timed out after 300 ms in greeting") != NULL,
	    "probe: a silent SMTP server times out in the greeting");
	server_stop(&s);

	server_start(&s, ctx, pki, S_PLAIN, 1);
	CHECK(probe(&s, CF_PROBE_TLS, NULL, NULL, &r, &err) == -1 &&
		  err.code == CF_E_IO &&
		  strstr(err.msg, "TLS handshake") != NULL,
	    "probe: a plaintext server fails the TLS handshake");
}

struct worker {
	struct server *s;
	const struct cf_probe_ctx *ctx;
	struct cf_probe r;
	int rc;
};

static void *
probe_thread(void *arg)
{
	struct worker *w = arg;
	struct cf_probe_opts o = {.host = "127.0.0.1",
	    .port = w->s->port,
	    .sni = "a.test",
	    .ctx = w->ctx};
	struct cf_error err;

	w->rc = cf_probe_run(&o, &w->r, &err);
	return NULL;
}

/* Four probes at once from four threads, with a context of their own
 * or one shared (roots may be NULL). */
static int
run_threads(
    SSL_CTX *ctx, const struct pki *pki, const struct cf_probe_ctx *roots)
{
	struct server s;
	struct worker w[4];
	char ta[CF_THUMB_LEN + 1];
	pthread_t t[4];
	int i, ok = 1;

	cf_cert_thumbprint(pki->a, ta);
	server_start(&s, ctx, pki, S_TLS, 4);
	for (i = 0; i < 4; i++) {
		w[i].s = &s;
		w[i].ctx = roots;
		pthread_create(&t[i], NULL, probe_thread, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok = ok && w[i].rc == 0 && strcmp(w[i].r.thumbprint, ta) == 0 &&
		     w[i].r.trusted == (roots != NULL);
		cf_probe_clear(&w[i].r);
	}
	server_stop(&s);
	return ok && s.handshakes == 4;
}

static void
test_threads(SSL_CTX *ctx, const struct pki *pki)
{
	struct cf_probe_ctx *roots;
	struct cf_error err;
	char root[512];

	CHECK(run_threads(ctx, pki, NULL), "probe: four threads probe at once");
	write_pem(pki->root, "root.pem", root);
	roots = cf_probe_ctx_new(root, 0, &err);
	CHECK(roots != NULL && run_threads(ctx, pki, roots),
	    "probe: four threads share one context, each trusted");
	cf_probe_ctx_free(roots);
}

static void
test_proto_names(void)
{
	struct cf_error err;
	enum cf_probe_proto p = CF_PROBE_TLS;

	CHECK(cf_probe_proto_parse("pop3", &p, &err) == 0 &&
		  p == CF_PROBE_POP &&
		  strcmp(cf_probe_proto_name(p), "pop") == 0 &&
		  cf_probe_proto_parse("smtp", &p, &err) == 0 &&
		  p == CF_PROBE_SMTP,
	    "probe: protocol names parse");
	CHECK(cf_probe_proto_parse("ftp", &p, &err) == -1 &&
		  err.code == CF_E_USAGE && strstr(err.msg, "tls") != NULL &&
		  strstr(err.msg, "smtp") != NULL &&
		  strstr(err.msg, "imap") != NULL &&
		  strstr(err.msg, "pop") != NULL,
	    "probe: an unknown protocol names the valid ones");
}

int
main(int argc, char **argv)
{
	struct pki pki;
	SSL_CTX *ctx;

	check_init(argc, argv);
	signal(SIGPIPE, SIG_IGN); /* the test server writes to gone clients */
	if (check_test("proto_names"))
		test_proto_names();

	pki_make(&pki);
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_tlsext_servername_callback(ctx, pick_cert);
	if (check_test("tls"))
		test_tls(ctx, &pki);
	if (check_test("verify"))
		test_verify(ctx, &pki);
	if (check_test("starttls"))
		test_starttls(ctx, &pki);
	if (check_test("failures"))
		test_failures(ctx, &pki);
	if (check_test("threads"))
		test_threads(ctx, &pki);
	SSL_CTX_free(ctx);
	pki_free(&pki);
	return check_done();
}
