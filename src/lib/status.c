/* status.c - Status computed when read: see status.h. */
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

#define MAX_DEPTH 16

struct memo {
	char thumb[CF_THUMB_LEN + 1];
	int trusted;
};

/* A stored certificate looked up by thumbprint, or the note that there
 * is none (found 0). */
struct seen {
	struct cf_row row;
	int found;
};

/*
 * The walk above a certificate: from its issuer (signed_by) up, as of
 * now.  Rows of a listing mostly share their issuer, so the walk of the
 * last is kept for the next (a walk a row was a tenth of a listing).
 */
struct walk {
	char signed_by[CF_THUMB_LEN + 1]; /* "": nothing kept */
	time_t now;
	char list[(CF_THUMB_LEN + 1) * MAX_DEPTH + 1]; /* the Chain */
	int bad;         /* a certificate above has a bad signature */
	int chain_dates; /* every certificate above is within its dates */
	int trusted;     /* the top is trusted; -1 not asked yet */
	const struct cf_row *top; /* where the walk ended (lent) */
};

/*
 * Everything is read when first needed, so a context costs what the
 * certificates asked about need: their issuers (a few rows, whatever
 * the size of the store), the system roots (once per process and file),
 * and the trust store only for a chain whose top is not self-signed.
 */
struct cf_status_ctx {
	struct cf_store *store;
	/* Sorted by thumbprint; each allocated on its own, so that a row
	 * lookup returned stays where it is while later lookups insert. */
	struct seen **seen;
	size_t nseen;
	struct cf_row *ends; /* cf_status_ctx_ends, when asked */
	size_t nends;
	X509_STORE *trust; /* loaded on first need */
	int trust_loaded;
	struct memo *memo;
	size_t nmemo;
	struct walk last; /* the walk above the last row, for the next */
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

static int
cmp_seen(const void *a, const void *b)
{
	return strcmp((*(const struct seen *const *)a)->row.f.thumbprint,
	    (*(const struct seen *const *)b)->row.f.thumbprint);
}

/*
 * The stored certificate thumb (end first, then chain), or NULL when the
 * store has none; remembered for the context's life.  An error reading
 * is taken as "not there": the status then says Untrusted, never more.
 */
static const struct cf_row *
lookup(struct cf_status_ctx *c, const char *thumb)
{
	size_t len = strnlen(thumb, CF_THUMB_LEN), i;
	struct seen key, *pkey = &key, **hit, *added;

	/* Only the thumbprint is compared: once a certificate of a large
	 * listing, so no clearing of the rest and no snprintf. */
	memcpy(key.row.f.thumbprint, thumb, len);
	key.row.f.thumbprint[len] = '\0';
	key.found = 0;
	hit = c->nseen ? bsearch(&pkey, c->seen, c->nseen, sizeof(*c->seen),
			     cmp_seen)
		       : NULL;
	if (hit != NULL)
		return (*hit)->found ? &(*hit)->row : NULL;
	if (cf_store_fetch(c->store, thumb, &key.row, NULL) == 1) {
		key.found = 1;
		free(key.row.der); /* links and dates are all status reads */
		key.row.der = NULL;
		key.row.der_len = 0;
	} else {
		memset(&key.row, 0, sizeof(key.row));
		snprintf(key.row.f.thumbprint, sizeof(key.row.f.thumbprint),
		    "%s", thumb);
	}
	added = xmalloc(sizeof(*added));
	*added = key;
	c->seen = xrealloc(c->seen, (c->nseen + 1) * sizeof(*c->seen));
	for (i = c->nseen; i > 0 && cmp_seen(&c->seen[i - 1], &added) > 0; i--)
		c->seen[i] = c->seen[i - 1];
	c->seen[i] = added;
	c->nseen++;
	return added->found ? &added->row : NULL;
}

struct cf_status_ctx *
cf_status_ctx_new(struct cf_store *s, struct cf_error *err)
{
	struct cf_status_ctx *c = xcalloc(1, sizeof(*c));

	(void)err; /* nothing is read yet */
	c->store = s;
	return c;
}

void
cf_status_ctx_free(struct cf_status_ctx *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nseen; i++) {
		cf_row_clear(&c->seen[i]->row);
		free(c->seen[i]);
	}
	free(c->seen);
	cf_rows_free(c->ends, c->nends);
	X509_STORE_free(c->trust);
	free(c->memo);
	free(c);
}

struct cf_row *
cf_status_ctx_ends(struct cf_status_ctx *c, size_t *n)
{
	if (c->ends == NULL && cf_store_list(c->store, CF_END, NULL, 0,
				   &c->ends, &c->nends, NULL) == -1) {
		c->ends = NULL;
		c->nends = 0;
	}
	*n = c->nends;
	return c->ends;
}

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

/* The memo of thumb, or -1 when there is none yet. */
static int
memo_get(const struct cf_status_ctx *c, const char *thumb)
{
	size_t i;

	for (i = 0; i < c->nmemo; i++)
		if (strcmp(c->memo[i].thumb, thumb) == 0)
			return c->memo[i].trusted;
	return -1;
}

static int
memo_put(struct cf_status_ctx *c, const char *thumb, int trusted)
{
	c->memo = xrealloc(c->memo, (c->nmemo + 1) * sizeof(*c->memo));
	snprintf(
	    c->memo[c->nmemo].thumb, sizeof(c->memo[0].thumb), "%s", thumb);
	c->memo[c->nmemo++].trusted = trusted;
	return trusted;
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
 * Whether stored certificate thumb is one of the system's roots;
 * memoized in the context, and in sys for the process while the file
 * stays the same (one stat a context and root).
 */
static int
is_system_root(struct cf_status_ctx *c, const char *thumb)
{
	const char *file = system_roots_file();
	struct cf_row r;
	struct stat st;
	int hit;

	if ((hit = memo_get(c, thumb)) != -1)
		return hit;
	memset(&st, 0, sizeof(st));
	if (stat(file, &st) == -1)
		memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&sys.lock);
	hit = sys_known(file, &st, thumb);
	pthread_mutex_unlock(&sys.lock);
	if (hit != -1)
		return memo_put(c, thumb, hit);
	hit = cf_store_fetch(c->store, thumb, &r, NULL) == 1 &&
	      file_has_der(file, r.der, r.der_len);
	cf_row_clear(&r); /* zeroed by cf_store_fetch when not found */
	pthread_mutex_lock(&sys.lock);
	if (sys_known(file, &st, thumb) == -1) {
		sys.known =
		    xrealloc(sys.known, (sys.nknown + 1) * sizeof(*sys.known));
		snprintf(sys.known[sys.nknown].thumb,
		    sizeof(sys.known[0].thumb), "%s", thumb);
		sys.known[sys.nknown++].trusted = hit;
	}
	pthread_mutex_unlock(&sys.lock);
	return memo_put(c, thumb, hit);
}

/*
 * The trust store for chains whose top is not self-signed: the system's
 * roots and the store's own self-signed certificates.  Loaded once, and
 * only when such a chain is met.
 */
static void
load_trust(struct cf_status_ctx *c)
{
	struct cf_row *own = NULL;
	size_t n = 0, i;
	X509 *x;

	c->trust_loaded = 1;
	if ((c->trust = X509_STORE_new()) == NULL)
		abort();
	if (X509_STORE_load_file(c->trust, system_roots_file()) != 1)
		ERR_clear_error(); /* no system roots: only our own */
	if (cf_store_self_signed(c->store, &own, &n, NULL) == -1)
		n = 0; /* then only the system's */
	for (i = 0; i < n; i++)
		if ((x = cf_cert_from_der(own[i].der, own[i].der_len, NULL)) !=
		    NULL) {
			X509_STORE_add_cert(c->trust, x);
			X509_free(x);
		}
	cf_rows_free(own, n);
	ERR_clear_error();
}

/* Verifies top (not self-signed) against the trust store; memoized. */
static int
top_trusted(struct cf_status_ctx *c, const struct cf_row *top)
{
	X509_STORE_CTX *ctx = NULL;
	struct cf_row r;
	X509 *x = NULL;
	int ok;

	if ((ok = memo_get(c, top->f.thumbprint)) != -1)
		return ok;
	ok = 0;
	if (!c->trust_loaded)
		load_trust(c);
	if (cf_store_fetch(c->store, top->f.thumbprint, &r, NULL) == 1) {
		x = cf_cert_from_der(r.der, r.der_len, NULL);
		cf_row_clear(&r);
	}
	if (x != NULL && (ctx = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(ctx, c->trust, x, NULL) == 1) {
		/* Dates are judged separately; here only the path counts. */
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	ERR_clear_error();
	return memo_put(c, top->f.thumbprint, ok);
}

/*
 * Walks from r up its links into w: the Chain, and whether all above r
 * is well signed and within its dates.  1 when w holds for any row of
 * r's issuer (the walk did not stop at r itself: a cycle through r).
 */
static int
walk_up(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, struct walk *w)
{
	const struct cf_row *cur = r, *next;
	size_t len = 0;
	int depth = 0, reusable = 1;

	w->signed_by[0] = w->list[0] = '\0'; /* not the whole list */
	w->bad = 0;
	w->chain_dates = 1;
	w->trusted = -1;
	w->now = now;
	while (!cur->f.self_signed && cur->signed_by[0] != '\0' &&
	       depth < MAX_DEPTH) {
		if ((next = lookup(c, cur->signed_by)) == NULL ||
		    strstr(w->list, next->f.thumbprint) != NULL)
			break; /* missing or a cycle */
		if (strcmp(next->f.thumbprint, r->f.thumbprint) == 0) {
			reusable = 0; /* a cycle through r */
			break;
		}
		if (len > 0)
			w->list[len++] = ',';
		memcpy(w->list + len, next->f.thumbprint, CF_THUMB_LEN + 1);
		len += strlen(next->f.thumbprint);
		if (now < next->f.not_before || now > next->f.not_after)
			w->chain_dates = 0;
		if (next->sig_state == CF_SIG_BAD)
			w->bad = 1;
		cur = next;
		depth++;
	}
	w->top = cur;
	if (reusable && cur != r)
		snprintf(
		    w->signed_by, sizeof(w->signed_by), "%s", r->signed_by);
	return reusable;
}

const char *
cf_status_of(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, char **chain)
{
	struct walk own, *w = &c->last;
	const struct cf_row *top;

	/* The last walk serves r when r hangs from the same issuer and is
	 * not itself in that chain (its own walk would stop at it). */
	if (r->f.self_signed || r->signed_by[0] == '\0' ||
	    strcmp(w->signed_by, r->signed_by) != 0 || w->now != now ||
	    strstr(w->list, r->f.thumbprint) != NULL)
		w = walk_up(c, r, now, &own) && own.signed_by[0] != '\0'
			? memcpy(&c->last, &own, sizeof(own))
			: &own;
	*chain = xstrdup(w->list);
	if (r->sig_state == CF_SIG_BAD || w->bad)
		return "Invalid";
	if (now < r->f.not_before || now > r->f.not_after)
		return "DateInvalid";
	if (w->trusted == -1) {
		top = w->top;
		w->trusted = top->f.self_signed
				 ? top->table == CF_END ||
				       is_system_root(c, top->f.thumbprint)
				 : top_trusted(c, top);
	}
	return w->trusted && w->chain_dates ? "Valid" : "Untrusted";
}

int
cf_status_chain(struct cf_store *s, const struct cf_row *leaf,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	char next[CF_THUMB_LEN + 1];
	int depth, found, cycle;
	size_t i;

	*rows = NULL;
	*n = 0;
	if (leaf->f.self_signed)
		return 0;
	snprintf(next, sizeof(next), "%s", leaf->signed_by);
	for (depth = 0; next[0] != '\0' && depth < MAX_DEPTH; depth++) {
		struct cf_row r;
		cycle = strcmp(next, leaf->f.thumbprint) == 0;
		for (i = 0; i < *n; i++)
			cycle |= strcmp((*rows)[i].f.thumbprint, next) == 0;
		if (cycle)
			break;
		if ((found = cf_store_fetch(s, next, &r, err)) == -1) {
			cf_rows_free(*rows, *n);
			*rows = NULL;
			*n = 0;
			return -1;
		}
		if (found == 0)
			break;
		*rows = xrealloc(*rows, (*n + 1) * sizeof(**rows));
		(*rows)[(*n)++] = r;
		if (r.f.self_signed || r.sig_state != CF_SIG_OK)
			break;
		snprintf(next, sizeof(next), "%s", r.signed_by);
	}
	return 0;
}
