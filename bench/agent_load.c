/*
 * agent_load.c - load on one certfleetd: concurrent keep-alive mutual-TLS
 * clients doing GET /v1/certificates and POST /v1/import, optionally while
 * other clients keep the agent generating RSA-4096 keys.
 *
 *   agent_load --connect HOST:PORT --fingerprint SHA256:... \
 *       --cert CLIENT.crt --key CLIENT.key [--conns 32] [--duration 30]
 *       [--imports-per-conn 4] [--get-query QUERY] [--keygen N]
 *       [--tag NAME] [--verify] [--thumbs-out FILE]
 *
 * Plain blocking OpenSSL, one thread per connection: each thread opens one
 * TLS connection (TLS 1.2 or 1.3, the client certificate given, the agent
 * pinned by the SHA-256 fingerprint of its certificate, as certfleet
 * does), waits for the others at a barrier, then sends requests back to
 * back on that connection (HTTP/1.1 keep-alive) until the duration is
 * over: GET /v1/certificates[?QUERY], and --imports-per-conn times, spread
 * evenly over the duration, a POST /v1/import of a certificate of its own
 * (an EC P-256 self-signed certificate made in-process before the clock
 * starts, PEM, Base64 in the JSON body as docs/api.md says).  --keygen N
 * more threads, each on its own connection, POST /v1/new-self-signed with
 * "key": "rsa4096" back to back for the same duration.
 *
 * Counted: every request, its latency (send to last byte of the answer),
 * and every error: a status other than 200, an answer that is not the
 * expected one (an import not "imported"), a connection that fails or is
 * closed by the agent (the thread reconnects and counts one error).
 * Reported: per kind, count, errors, requests/s, p50, p90, p99, max.
 * With --verify, afterwards: one GET /v1/certificates, and every
 * certificate imported (by thumbprint, SHA-1 of its DER) must be listed.
 * --thumbs-out FILE: the thumbprints of the certificates the agent said it
 * imported, one a line, for a check by other means.  The client's own CPU
 * time (it shares the machine with the agent) is reported too.
 *
 * Output: a readable table on stdout, then "RESULT key=value" lines for
 * bench/agent_run.sh.  Exit 1 on any error or missing import, 2 on a
 * usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_ANSWER (64L * 1024 * 1024)

enum kind { K_GET, K_IMPORT, K_KEYGEN, K_N };
static const char *const kind_name[K_N] = {"get", "import", "keygen"};

/* Latencies in microseconds, grown as needed. */
struct lat {
	uint32_t *v;
	size_t n, cap;
};

struct stats {
	struct lat lat[K_N];
	unsigned long errors[K_N];
	unsigned long reconnects;
};

/* One imported certificate: its PEM, as Base64, and its thumbprint. */
struct imp {
	char *b64;
	char thumb[41];
	int done; /* the agent said "imported" */
};

struct worker {
	pthread_t th;
	int id;
	int keygen; /* a key generation client */
	struct imp *imps;
	int nimps;
	struct stats st;
	double finished; /* when its last request was answered */
	char firsterr[256];
};

static struct {
	const char *host, *port, *cert, *key, *fp, *query, *tag, *thumbs_out;
	int conns, duration, imports_per_conn, keygen, verify;
} opt = {NULL, NULL, NULL, NULL, NULL, NULL, "load", NULL, 32, 30, 4, 0, 0};

static SSL_CTX *ctx;
static pthread_barrier_t start_barrier;
static struct timespec t_start, t_end;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
ts_s(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agent_load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void
lat_add(struct lat *l, double seconds)
{
	double us = seconds * 1e6;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			die("out of memory");
	}
	l->v[l->n++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static void __attribute__((format(printf, 2, 3)))
note_error(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->firsterr[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(w->firsterr, sizeof(w->firsterr), fmt, ap);
	va_end(ap);
}

/* ---- the certificates to import ---------------------------------- */

static char *
base64(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* A distinct EC P-256 self-signed certificate: PEM in Base64, thumbprint. */
static void
make_cert(struct imp *im, EVP_PKEY *key, int w, int i)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char md[20], *der = NULL, serial[16];
	char cn[96];
	BIGNUM *bn;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long pemlen;
	int derlen, k;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	snprintf(cn, sizeof(cn), "bench %s c%d n%d %02x%02x%02x%02x", opt.tag,
	    w, i, serial[1], serial[2], serial[3], serial[4]);
	if (x == NULL || n == NULL || b == NULL || bn == NULL ||
	    !X509_set_version(x, 2) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		(unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()) ||
	    !PEM_write_bio_X509(b, x) ||
	    (derlen = i2d_X509(x, &der)) <= 0)
		die("cannot make a certificate");
	EVP_Digest(der, (size_t)derlen, md, NULL, EVP_sha1(), NULL);
	for (k = 0; k < 20; k++)
		snprintf(im->thumb + 2 * k, 3, "%02X", md[k]);
	pemlen = BIO_get_mem_data(b, &pem);
	im->b64 = base64((unsigned char *)pem, (size_t)pemlen);
	OPENSSL_free(der);
	BIO_free(b);
	BN_free(bn);
	X509_NAME_free(n);
	X509_free(x);
}

/* ---- one connection ------------------------------------------------ */

struct conn {
	int fd;
	SSL *ssl;
	char *buf; /* what was read past the last answer */
	size_t len, cap;
};

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->len = 0;
}

/* Connects, handshakes, checks the pin.  0, or -1 with the reason in w. */
static int
conn_open(struct conn *c, struct worker *w)
{
	struct addrinfo hints, *ai = NULL;
	unsigned char md[32];
	unsigned int mdlen;
	char hex[65];
	X509 *peer;
	int one = 1, k;

	c->fd = -1;
	c->ssl = NULL;
	c->len = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(opt.host, opt.port, &hints, &ai) != 0 || ai == NULL) {
		note_error(w, "cannot resolve %s", opt.host);
		return -1;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		note_error(w, "connect: %s", strerror(errno));
		freeaddrinfo(ai);
		conn_close(c);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(c->ssl, c->fd) ||
	    SSL_connect(c->ssl) != 1) {
		note_error(w, "TLS handshake failed: %s",
		    ERR_reason_error_string(ERR_peek_last_error()));
		ERR_clear_error();
		conn_close(c);
		return -1;
	}
	if ((peer = SSL_get0_peer_certificate(c->ssl)) == NULL ||
	    !X509_digest(peer, EVP_sha256(), md, &mdlen)) {
		note_error(w, "the agent showed no certificate");
		conn_close(c);
		return -1;
	}
	for (k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02X", md[k]);
	if (strcasecmp(hex, opt.fp) != 0) {
		note_error(w, "the agent presents SHA256:%s, not the pinned "
			      "SHA256:%s",
		    hex, opt.fp);
		conn_close(c);
		return -1;
	}
	return 0;
}

static int
write_all(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		int k = SSL_write(c->ssl, p, n > (1 << 30) ? 1 << 30 : (int)n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads more into c->buf; -1 on EOF or error. */
static int
read_more(struct conn *c)
{
	int k;

	if (c->cap - c->len < 16384) {
		c->cap = c->cap ? c->cap * 2 : 65536;
		if (c->cap > (size_t)MAX_ANSWER * 2)
			return -1;
		c->buf = realloc(c->buf, c->cap);
		if (c->buf == NULL)
			die("out of memory");
	}
	k = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len - 1));
	if (k <= 0)
		return -1;
	c->len += (size_t)k;
	c->buf[c->len] = '\0';
	return 0;
}

/*
 * One request on c; the answer's status into *status and its body (new,
 * NUL-terminated) into *body when body is not NULL.  *close_after when the
 * agent said Connection: close.  -1 when the connection failed.
 */
static int
request(struct conn *c, const char *method, const char *path,
    const char *json, int *status, char **body, int *close_after)
{
	char head[512], *end, *p;
	size_t blen = json ? strlen(json) : 0, hlen, need;
	long clen = -1;
	int n;

	n = snprintf(head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: certfleetd\r\nUser-Agent: agent_load\r\n"
	    "Accept: application/json\r\nX-Certfleet-Actor: bench@%s\r\n"
	    "%sContent-Length: %zu\r\n\r\n",
	    method, path, opt.tag,
	    json ? "Content-Type: application/json\r\n" : "", blen);
	if (n <= 0 || (size_t)n >= sizeof(head) ||
	    write_all(c, head, (size_t)n) == -1 ||
	    (json && write_all(c, json, blen) == -1))
		return -1;
	while ((end = memmem(c->buf ? c->buf : "", c->len, "\r\n\r\n", 4)) ==
	    NULL)
		if (read_more(c) == -1)
			return -1;
	hlen = (size_t)(end - c->buf) + 4;
	if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	*close_after = 0;
	for (p = strstr(c->buf, "\r\n"); p != NULL && p < end;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtol(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Connection: close", 17) == 0)
			*close_after = 1;
		else if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0)
			return -1; /* evhttp sets Content-Length for us */
	}
	if (clen < 0 || clen > MAX_ANSWER)
		return -1;
	need = hlen + (size_t)clen;
	while (c->len < need)
		if (read_more(c) == -1)
			return -1;
	if (body != NULL) {
		*body = xmalloc((size_t)clen + 1);
		memcpy(*body, c->buf + hlen, (size_t)clen);
		(*body)[clen] = '\0';
	}
	memmove(c->buf, c->buf + need, c->len - need);
	c->len -= need;
	return 0;
}

/* ---- the threads ------------------------------------------------- */

static char get_path[512];

/* Runs one request of kind k and records it; 0, or -1 when the
 * connection must be opened again. */
static int
one(struct worker *w, struct conn *c, enum kind k, struct imp *im, int seq)
{
	char *json = NULL, *body = NULL;
	const char *path = get_path, *method = "GET";
	int status = 0, closing = 0, rc, ok;
	double t0, t1;

	if (k == K_IMPORT) {
		size_t n = strlen(im->b64) + 256;
		json = xmalloc(n);
		snprintf(json, n,
		    "{\"files\":[{\"name\":\"bench-%d-%d.pem\",\"data\":\"%s\"}],"
		    "\"exportable\":false}",
		    w->id, seq, im->b64);
		path = "/v1/import";
		method = "POST";
	} else if (k == K_KEYGEN) {
		json = xmalloc(256);
		snprintf(json, 256,
		    "{\"subject\":\"CN=bench keygen %s %d-%d\",\"key\":"
		    "\"rsa4096\",\"days\":30}",
		    opt.tag, w->id, seq);
		path = "/v1/new-self-signed";
		method = "POST";
	}
	t0 = now_s();
	rc = request(c, method, path, json,
	    &status, k == K_GET ? NULL : &body, &closing);
	t1 = now_s();
	free(json);
	if (rc == -1) {
		w->st.errors[k]++;
		note_error(w, "%s: the connection failed or closed", kind_name[k]);
		return -1;
	}
	ok = status == 200;
	if (ok && k == K_IMPORT) {
		json_t *j = json_loads(body, 0, NULL);
		json_t *r = json_array_get(json_object_get(j, "results"), 0);
		const char *res = json_string_value(json_object_get(r, "Result"));
		const char *tp =
		    json_string_value(json_object_get(r, "Thumbprint"));
		ok = res != NULL && tp != NULL &&
		    strcmp(res, "imported") == 0 && strcmp(tp, im->thumb) == 0;
		im->done = ok;
		json_decref(j);
	}
	if (ok)
		lat_add(&w->st.lat[k], t1 - t0);
	else {
		w->st.errors[k]++;
		note_error(w, "%s: HTTP %d: %.160s", kind_name[k], status,
		    body ? body : "");
	}
	free(body);
	return closing ? -1 : 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn c;
	double start, end, next_import;
	int seq = 0, nextimp = 0, connected;

	memset(&c, 0, sizeof(c));
	connected = conn_open(&c, w) == 0;
	pthread_barrier_wait(&start_barrier);
	start = ts_s(&t_start);
	end = ts_s(&t_end);
	/* Imports evenly spread over the run, each thread offset. */
	next_import = w->nimps > 0
			  ? start + (opt.duration / (double)w->nimps) *
				(0.5 + (double)w->id / (opt.conns + 1))
			  : end + 1;
	while (now_s() < end) {
		enum kind k = K_GET;
		if (!connected) {
			w->st.reconnects++;
			if (!(connected = conn_open(&c, w) == 0)) {
				w->st.errors[w->keygen ? K_KEYGEN : K_GET]++;
				usleep(100000);
				continue;
			}
		}
		if (w->keygen)
			k = K_KEYGEN;
		else if (nextimp < w->nimps && now_s() >= next_import)
			k = K_IMPORT;
		if (one(w, &c, k, k == K_IMPORT ? &w->imps[nextimp] : NULL,
			seq++) == -1) {
			conn_close(&c);
			connected = 0;
		}
		if (k == K_IMPORT) {
			nextimp++;
			next_import += opt.duration / (double)w->nimps;
		}
	}
	/* Imports not yet sent (a slow run) are sent now, so that the
	 * count checked afterwards is the one planned. */
	while (nextimp < w->nimps) {
		if (!connected && !(connected = conn_open(&c, w) == 0)) {
			w->st.errors[K_IMPORT]++;
			nextimp++;
			continue;
		}
		if (one(w, &c, K_IMPORT, &w->imps[nextimp], seq++) == -1) {
			conn_close(&c);
			connected = 0;
		}
		nextimp++;
	}
	w->finished = now_s();
	conn_close(&c);
	free(c.buf);
	return NULL;
}

/* ---- results ------------------------------------------------------ */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct lat *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return l->v[i] / 1000.0; /* ms */
}

/* GET /v1/certificates; how many of the imported thumbprints it lists. */
static long
verify(struct worker *ws, int nw, long *planned)
{
	struct worker probe;
	struct conn c;
	char *body = NULL;
	json_t *list, *seen;
	int status = 0, closing, i, j;
	long found = 0;
	size_t k;

	memset(&probe, 0, sizeof(probe));
	memset(&c, 0, sizeof(c));
	*planned = 0;
	if (conn_open(&c, &probe) == -1)
		die("verify: %s", probe.firsterr);
	if (request(&c, "GET", "/v1/certificates", NULL, &status, &body,
		&closing) == -1 ||
	    status != 200)
		die("verify: GET /v1/certificates: HTTP %d", status);
	if ((list = json_loads(body, 0, NULL)) == NULL)
		die("verify: the list is not JSON");
	seen = json_object();
	for (k = 0; k < json_array_size(list); k++) {
		const char *t = json_string_value(
		    json_object_get(json_array_get(list, k), "Thumbprint"));
		if (t != NULL)
			json_object_set_new(seen, t, json_true());
	}
	for (i = 0; i < nw; i++)
		for (j = 0; j < ws[i].nimps; j++) {
			(*planned)++;
			if (json_object_get(seen, ws[i].imps[j].thumb) != NULL)
				found++;
		}
	printf("verify: the agent lists %zu certificates; %ld of the %ld "
	       "imported are among them\n",
	    json_array_size(list), found, *planned);
	json_decref(seen);
	json_decref(list);
	free(body);
	conn_close(&c);
	free(c.buf);
	return found;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agent_load --connect HOST:PORT --fingerprint SHA256:HEX "
	    "--cert FILE --key FILE\n"
	    "       [--conns 32] [--duration 30] [--imports-per-conn 4] "
	    "[--get-query QUERY]\n"
	    "       [--keygen N] [--tag NAME] [--verify] [--thumbs-out FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"fingerprint", required_argument, NULL, 'f'},
	    {"cert", required_argument, NULL, 'C'},
	    {"key", required_argument, NULL, 'K'},
	    {"conns", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"imports-per-conn", required_argument, NULL, 'i'},
	    {"get-query", required_argument, NULL, 'q'},
	    {"keygen", required_argument, NULL, 'g'},
	    {"tag", required_argument, NULL, 't'},
	    {"verify", no_argument, NULL, 'v'},
	    {"thumbs-out", required_argument, NULL, 'o'},
	    {0}};
	struct worker *ws;
	struct stats tot;
	EVP_PKEY *ckey = NULL;
	EVP_PKEY_CTX *kc;
	char *hostport = NULL, *colon;
	struct rusage ru;
	double elapsed, window, cpu, cpu0, secs;
	long planned = 0, found = 0;
	unsigned long errors = 0;
	int ch, i, nw, k;
	size_t j;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': hostport = optarg; break;
		case 'f': opt.fp = optarg; break;
		case 'C': opt.cert = optarg; break;
		case 'K': opt.key = optarg; break;
		case 'n': opt.conns = atoi(optarg); break;
		case 'd': opt.duration = atoi(optarg); break;
		case 'i': opt.imports_per_conn = atoi(optarg); break;
		case 'q': opt.query = optarg; break;
		case 'g': opt.keygen = atoi(optarg); break;
		case 't': opt.tag = optarg; break;
		case 'v': opt.verify = 1; break;
		case 'o': opt.thumbs_out = optarg; break;
		default: usage();
		}
	}
	if (hostport == NULL || opt.fp == NULL || opt.cert == NULL ||
	    opt.key == NULL || opt.conns < 1 || opt.duration < 1 ||
	    opt.imports_per_conn < 0 || opt.keygen < 0 ||
	    (colon = strrchr(hostport, ':')) == NULL)
		usage();
	*colon = '\0';
	opt.host = hostport;
	opt.port = colon + 1;
	if (strncasecmp(opt.fp, "SHA256:", 7) == 0)
		opt.fp += 7;
	if (strlen(opt.fp) != 64)
		usage();
	snprintf(get_path, sizeof(get_path), "/v1/certificates%s%s",
	    opt.query ? "?" : "", opt.query ? opt.query : "");

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_file(ctx, opt.cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)
		die("cannot set up TLS with %s and %s", opt.cert, opt.key);
	/* The agent is self-signed and pinned: checked after the handshake. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	nw = opt.conns + opt.keygen;
	ws = calloc((size_t)nw, sizeof(*ws));
	if (ws == NULL)
		die("out of memory");
	/* One key for every certificate: their DER still differs (serial,
	 * name), so each is a distinct certificate with its own thumbprint. */
	if ((kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(kc) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) <=
		0 ||
	    EVP_PKEY_keygen(kc, &ckey) <= 0)
		die("cannot make an EC key");
	EVP_PKEY_CTX_free(kc);
	for (i = 0; i < nw; i++) {
		ws[i].id = i;
		ws[i].keygen = i >= opt.conns;
		if (ws[i].keygen)
			continue;
		ws[i].nimps = opt.imports_per_conn;
		ws[i].imps = calloc((size_t)ws[i].nimps + 1, sizeof(struct imp));
		for (k = 0; k < ws[i].nimps; k++)
			make_cert(&ws[i].imps[k], ckey, i, k);
	}
	EVP_PKEY_free(ckey);

	getrusage(RUSAGE_SELF, &ru);
	cpu0 = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	pthread_barrier_init(&start_barrier, NULL, (unsigned)nw + 1);
	for (i = 0; i < nw; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
			die("pthread_create failed");
	/* Every thread has connected (or failed to): the clock starts. */
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	t_end = t_start;
	t_end.tv_sec += opt.duration;
	pthread_barrier_wait(&start_barrier);
	for (i = 0; i < nw; i++)
		pthread_join(ws[i].th, NULL);
	/* GETs and imports are counted over the time their threads ran; a
	 * key generation still running at the end only delays the exit. */
	elapsed = now_s() - ts_s(&t_start);
	window = opt.duration;
	for (i = 0; i < opt.conns; i++)
		if (ws[i].finished - ts_s(&t_start) > window)
			window = ws[i].finished - ts_s(&t_start);

	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < nw; i++) {
		for (k = 0; k < K_N; k++) {
			struct lat *l = &ws[i].st.lat[k];
			for (j = 0; j < l->n; j++)
				lat_add(&tot.lat[k], l->v[j] / 1e6);
			tot.errors[k] += ws[i].st.errors[k];
		}
		tot.reconnects += ws[i].st.reconnects;
		if (ws[i].firsterr[0] != '\0')
			fprintf(stderr, "agent_load: connection %d: %s\n", i,
			    ws[i].firsterr);
	}
	printf("%-7s %8s %7s %9s %8s %8s %8s %8s\n", "kind", "requests",
	    "errors", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms");
	for (k = 0; k < K_N; k++) {
		struct lat *l = &tot.lat[k];
		qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
		errors += tot.errors[k];
		if (l->n == 0 && tot.errors[k] == 0)
			continue;
		secs = k == K_KEYGEN ? elapsed : window;
		printf("%-7s %8zu %7lu %9.1f %8.2f %8.2f %8.2f %8.2f\n",
		    kind_name[k], l->n, tot.errors[k], l->n / secs,
		    pct(l, 50), pct(l, 90), pct(l, 99), pct(l, 100));
		printf("RESULT %s_%s_count=%zu\n", opt.tag, kind_name[k], l->n);
		printf("RESULT %s_%s_errors=%lu\n", opt.tag, kind_name[k],
		    tot.errors[k]);
		printf("RESULT %s_%s_rps=%.1f\n", opt.tag, kind_name[k],
		    l->n / secs);
		printf("RESULT %s_%s_p50_ms=%.2f\n", opt.tag, kind_name[k],
		    pct(l, 50));
		printf("RESULT %s_%s_p99_ms=%.2f\n", opt.tag, kind_name[k],
		    pct(l, 99));
		printf("RESULT %s_%s_max_ms=%.2f\n", opt.tag, kind_name[k],
		    pct(l, 100));
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6 - cpu0;
	printf("client CPU: %.1f s in %.1f s (%.0f%% of one core)\n", cpu,
	    elapsed, 100 * cpu / elapsed);
	printf("RESULT %s_client_cpu_s=%.2f\n", opt.tag, cpu);
	printf("RESULT %s_seconds=%.2f\n", opt.tag, elapsed);
	printf("RESULT %s_window_seconds=%.2f\n", opt.tag, window);
	printf("RESULT %s_reconnects=%lu\n", opt.tag, tot.reconnects);
	printf("RESULT %s_errors=%lu\n", opt.tag, errors);
	if (opt.verify) {
		found = verify(ws, opt.conns, &planned);
		printf("RESULT %s_imports_planned=%ld\n", opt.tag, planned);
		printf("RESULT %s_imports_present=%ld\n", opt.tag, found);
	}
	if (opt.thumbs_out != NULL) {
		FILE *f = fopen(opt.thumbs_out, "w");
		if (f == NULL)
			die("%s: %s", opt.thumbs_out, strerror(errno));
		for (i = 0; i < nw; i++)
			for (k = 0; k < ws[i].nimps; k++)
				if (ws[i].imps[k].done)
					fprintf(f, "%s\n", ws[i].imps[k].thumb);
		if (fclose(f) != 0)
			die("%s: %s", opt.thumbs_out, strerror(errno));
	}
	for (i = 0; i < nw; i++) {
		for (k = 0; k < ws[i].nimps; k++)
			free(ws[i].imps[k].b64);
		free(ws[i].imps);
		for (k = 0; k < K_N; k++)
			free(ws[i].st.lat[k].v);
	}
	for (k = 0; k < K_N; k++)
		free(tot.lat[k].v);
	free(ws);
	SSL_CTX_free(ctx);
	return errors == 0 && found == planned ? 0 : 1;
}
