/*
 * status_trust.c - the trust of a chain's top, with OpenSSL (status.h):
 * a self-signed top is trusted when it is one of the system's roots, any
 * other when it verifies to a system root or to one of the store's own
 * self-signed certificates.  Each verdict is kept in the store's trust
 * memo (cf_status_memo_flush, after the read), so that the next reader,
 * the front-end without OpenSSL too, finds it instead of loading the
 * system's roots again.  The front-end's own is src/fast/trust.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "status.h"
#include "util.h"

struct memo {
	char thumb[CF_THUMB_LEN + 1];
	int trusted;
};

struct cf_status_trust {
	X509_STORE *store; /* the system's roots and the store's own */
};

/*
 * What is known of the system roots' file, shared by every context of
 * the process (the agent's workers too): which stored certificates were
 * found in it, or not, while its name, time and size stay the same.  A
 * root is known by its bytes, compared in Base64 with the file's blocks
 * as it is read a few lines at a time (file_has): no digest, no
 * decoding and no copy of the file, so that a `get` of one certificate
 * needs no OpenSSL and touches a few pages of memory for it.
 */
static struct {
	pthread_mutex_t lock;
	char *file;
	struct timespec mtime;
	off_t size;
	struct memo *known;
	size_t nknown;
} sys = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *
system_roots_file(void)
{
	const char *file = getenv("SSL_CERT_FILE");

	return file != NULL ? file : X509_get_default_cert_file();
}

/* The longest piece of a line of the roots' file taken as one, as the
 * 512-byte line of fgets took it before (a longer line comes in pieces;
 * PEM lines are 64 characters). */
#define ROOTS_LINE 511

/* Where file_has is in the roots' file. */
struct roots_scan {
	const char *b; /* the Base64 looked for */
	size_t pos;    /* of b matched so far in the block */
	int in_block, match, hit;
};

/* One line of the roots' file (len bytes, not NUL-terminated). */
static void
roots_line(struct roots_scan *s, const char *line, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----",
			  end_tag[] = "-----END CERTIFICATE-----";
	const char *p, *end = line + len;

	if (!s->in_block) {
		s->in_block = len >= sizeof(begin) - 1 &&
			      memcmp(line, begin, sizeof(begin) - 1) == 0;
		s->match = 1;
		s->pos = 0;
	} else if (len >= sizeof(end_tag) - 1 &&
		   memcmp(line, end_tag, sizeof(end_tag) - 1) == 0) {
		s->hit = s->match && s->b[s->pos] == '\0';
		s->in_block = 0;
	} else
		for (p = line; s->match && p < end && *p != '\0'; p++) {
			if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
				continue;
			s->match = s->b[s->pos] != '\0' && *p == s->b[s->pos];
			s->pos++;
		}
}

/*
 * Whether Base64 text b (NUL-terminated) is the body of one of the
 * CERTIFICATE blocks of file, whose lines may break anywhere.  Read
 * through a small buffer and looked at in place, a line at a time: two
 * certificates differ within their first few dozen characters (their
 * serials), so most blocks are passed over after a line.  Not fgets:
 * its copy of each line was most of a `get` of one certificate's own
 * work (8% of its instructions), for 3,000 lines of system roots.
 */
static int
file_has(const char *file, const char *b)
{
	char buf[16384];
	struct roots_scan s = {.b = b};
	size_t start = 0, have = 0, avail, len;
	const char *nl;
	int fd, eof = 0;
	ssize_t n;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	while (!s.hit) {
		avail = have - start;
		nl = memchr(
		    buf + start, '\n', avail < ROOTS_LINE ? avail : ROOTS_LINE);
		if (nl != NULL)
			len = (size_t)(nl - (buf + start)) + 1;
		else if (avail >= ROOTS_LINE || (eof && avail > 0))
			len = avail < ROOTS_LINE ? avail : ROOTS_LINE;
		else if (eof)
			break;
		else { /* no whole line left: the rest to the front, more */
			memmove(buf, buf + start, avail);
			start = 0;
			have = avail;
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0)
				eof = 1;
			else
				have += (size_t)n;
			continue;
		}
		roots_line(&s, buf + start, len);
		start += len;
	}
	close(fd);
	return s.hit;
}

/* Whether der (len bytes) is a certificate of file. */
static int
file_has_der(const char *file, const unsigned char *der, size_t len)
{
	char *b64;
	int hit;

	if (len == 0 || len > INT_MAX / 2)
		return 0;
	b64 = xmalloc(len / 3 * 4 + 5);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	hit = file_has(file, b64);
	free(b64);
	return hit;
}

/*
 * What sys knows of thumb in file as of st: 1 or 0, -1 when it does not
 * know (sys.lock held).  What it knew of another file, or of this one
 * before it changed, is forgotten.
 */
static int
sys_known(const char *file, const struct stat *st, const char *thumb)
{
	size_t i;

	if (sys.file == NULL || strcmp(sys.file, file) != 0 ||
	    sys.mtime.tv_sec != st->st_mtim.tv_sec ||
	    sys.mtime.tv_nsec != st->st_mtim.tv_nsec ||
	    sys.size != st->st_size) {
		free(sys.file);
		sys.file = xstrdup(file);
		sys.mtime = st->st_mtim;
		sys.size = st->st_size;
		sys.nknown = 0;
	}
	for (i = 0; i < sys.nknown; i++)
		if (strcmp(sys.known[i].thumb, thumb) == 0)
			return sys.known[i].trusted;
	return -1;
}

/*
 * Whether stored certificate thumb is one of the system's roots in
 * file (as of st); known to sys for the process while the file stays
 * the same.
 */
static int
is_system_root(struct cf_store *store, const char *file, const struct stat *st,
    const char *thumb)
{
	struct cf_row r;
	int hit;

	pthread_mutex_lock(&sys.lock);
	hit = sys_known(file, st, thumb);
	pthread_mutex_unlock(&sys.lock);
	if (hit != -1)
		return hit;
	hit = cf_store_fetch(store, thumb, &r, NULL) == 1 &&
	      file_has_der(file, r.der, r.der_len);
	cf_row_clear(&r); /* zeroed by cf_store_fetch when not found */
	pthread_mutex_lock(&sys.lock);
	if (sys_known(file, st, thumb) == -1) {
		sys.known =
		    xrealloc(sys.known, (sys.nknown + 1) * sizeof(*sys.known));
		snprintf(sys.known[sys.nknown].thumb,
		    sizeof(sys.known[0].thumb), "%s", thumb);
		sys.known[sys.nknown++].trusted = hit;
	}
	pthread_mutex_unlock(&sys.lock);
	return hit;
}

/*
 * The trust store for chains whose top is not self-signed: the system's
 * roots and the store's own self-signed certificates.  Loaded once, and
 * only when such a chain is met.
 */
static X509_STORE *
load_trust(struct cf_store *store, const char *file)
{
	struct cf_row *own = NULL;
	X509_STORE *trust;
	size_t n = 0, i;
	X509 *x;

	if ((trust = X509_STORE_new()) == NULL)
		abort();
	if (X509_STORE_load_file(trust, file) != 1)
		ERR_clear_error(); /* no system roots: only our own */
	if (cf_store_self_signed(store, &own, &n, NULL) == -1)
		n = 0; /* then only the system's */
	for (i = 0; i < n; i++)
		if ((x = cf_cert_from_der(own[i].der, own[i].der_len, NULL)) !=
		    NULL) {
			X509_STORE_add_cert(trust, x);
			X509_free(x);
		}
	cf_rows_free(own, n);
	ERR_clear_error();
	return trust;
}

/* Verifies top (not self-signed) against the trust store, loaded into
 * *trust on first need. */
static int
verify_top(struct cf_store *store, const char *file, const struct cf_row *top,
    struct cf_status_trust **trust)
{
	X509_STORE_CTX *ctx = NULL;
	struct cf_row r;
	X509 *x = NULL;
	int ok = 0;

	if (*trust == NULL) {
		*trust = xcalloc(1, sizeof(**trust));
		(*trust)->store = load_trust(store, file);
	}
	if (cf_store_fetch(store, top->f.thumbprint, &r, NULL) == 1) {
		x = cf_cert_from_der(r.der, r.der_len, NULL);
		cf_row_clear(&r);
	}
	if (x != NULL && (ctx = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(ctx, (*trust)->store, x, NULL) == 1) {
		/* Dates are judged separately; here only the path counts. */
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* The verdicts worked out since the last flush, to keep in the memo. */
static struct {
	pthread_mutex_t lock;
	struct cf_trust_memo *m;
	size_t n;
} learned = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
learn(const char *thumb, const char *roots, int trusted)
{
	pthread_mutex_lock(&learned.lock);
	learned.m = xrealloc(learned.m, (learned.n + 1) * sizeof(*learned.m));
	snprintf(learned.m[learned.n].thumbprint,
	    sizeof(learned.m[0].thumbprint), "%s", thumb);
	learned.m[learned.n].roots = xstrdup(roots);
	learned.m[learned.n++].trusted = trusted;
	pthread_mutex_unlock(&learned.lock);
}

int
cf_status_trust_top(struct cf_store *s, const struct cf_row *top,
    struct cf_status_trust **trust)
{
	const char *file = system_roots_file();
	char roots[PATH_MAX + 64];
	struct stat st;
	int ok;

	cf_status_roots_id(
	    roots, sizeof(roots), file, getenv("SSL_CERT_FILE") != NULL);
	if ((ok = cf_status_memo_get(s, top->f.thumbprint, roots)) != -1)
		return ok;
	if (top->f.self_signed) {
		memset(&st, 0, sizeof(st));
		if (stat(file, &st) == -1)
			memset(&st, 0, sizeof(st));
		ok = is_system_root(s, file, &st, top->f.thumbprint);
	} else
		ok = verify_top(s, file, top, trust);
	learn(top->f.thumbprint, roots, ok);
	return ok;
}

void
cf_status_trust_free(struct cf_status_trust *trust)
{
	if (trust == NULL)
		return;
	X509_STORE_free(trust->store);
	free(trust);
}

void
cf_status_memo_flush(struct cf_store *s)
{
	struct cf_trust_memo *m;
	struct cf_error err;
	size_t n, i;

	pthread_mutex_lock(&learned.lock);
	m = learned.m;
	n = learned.n;
	learned.m = NULL;
	learned.n = 0;
	pthread_mutex_unlock(&learned.lock);
	cf_error_clear(&err);
	(void)cf_store_trust_put(s, m, n, &err); /* a cache: best effort */
	for (i = 0; i < n; i++)
		free(m[i].roots);
	free(m);
}
