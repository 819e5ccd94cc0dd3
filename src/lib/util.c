/* util.c - allocation, secrets, files: see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

static void
oom(void)
{
	fputs("certfleet: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}

void
cf_buf_clear(struct cf_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/*
 * Secret bytes live in an anonymous mapping of their own, marked
 * MADV_DONTDUMP, so that no core dump (gcore included) holds them.  The
 * mapping's size leads it, so freeing never trusts len, which callers
 * shorten (a password's newline).
 */
#define SECRET_HEAD 16

void *
cf_dontdump_alloc(size_t n)
{
	size_t size = SECRET_HEAD + n;
	unsigned char *m;

	if (size < n)
		oom();
	m = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		oom();
	/* Best effort: a kernel without it still gets no core (see
	 * cf_process_harden), only gcore would see the bytes. */
	(void)madvise(m, size, MADV_DONTDUMP);
	memcpy(m, &size, sizeof(size));
	return m + SECRET_HEAD;
}

void
cf_dontdump_free(void *p)
{
	unsigned char *m;
	size_t size;

	if (p == NULL)
		return;
	m = (unsigned char *)p - SECRET_HEAD;
	memcpy(&size, m, sizeof(size));
	OPENSSL_cleanse(m, size);
	munmap(m, size);
}

struct cf_secret *
cf_secret_alloc(size_t len)
{
	struct cf_secret *s = xmalloc(sizeof(*s));

	if (len == SIZE_MAX)
		oom();
	s->data = cf_dontdump_alloc(len + 1); /* zeroed, as mmap gives it */
	s->len = len;
	return s;
}

struct cf_secret *
cf_secret_new(const void *p, size_t len)
{
	struct cf_secret *s = cf_secret_alloc(len);

	if (len > 0)
		memcpy(s->data, p, len);
	return s;
}

void
cf_secret_free(struct cf_secret *s)
{
	if (s == NULL)
		return;
	cf_dontdump_free(s->data);
	free(s);
}

/*
 * OpenSSL's allocations, wiped when freed.  OpenSSL clears what it knows
 * to be a key, but not every copy it makes on the way: its DER decoder
 * reads a private key's PrivateKeyInfo into a buffer it frees as any
 * other (an import left one copy in the agent, an export another), and a
 * growing buffer leaves its old block to realloc.
 * So every block OpenSSL frees is wiped first, whatever it held.
 */
static void *
wiping_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void
wiping_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p == NULL)
		return;
	/* glibc's explicit_bzero, not OPENSSL_cleanse: this runs for every
	 * free, PBKDF2's thousands per key included, and costs less. */
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* realloc would free the old block unwiped: move it by hand instead. */
static void *
wiping_realloc(void *p, size_t n, const char *file, int line)
{
	size_t old;
	void *q;

	if (p == NULL)
		return wiping_malloc(n, file, line);
	if (n == 0) {
		wiping_free(p, file, line);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	wiping_free(p, file, line);
	return q;
}

int
cf_process_harden(void)
{
	struct rlimit none = {0, 0};
	int rc = 0;

	if (setrlimit(RLIMIT_CORE, &none) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		rc = -1;
	if (CRYPTO_set_mem_functions(
		wiping_malloc, wiping_realloc, wiping_free) != 1)
		rc = -1;
	return rc;
}

int
cf_read_file(
    const char *path, size_t max, struct cf_buf *out, struct cf_error *err)
{
	int fd = -1, rc = -1;
	unsigned char *data = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	out->data = NULL;
	out->len = 0;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8192;
			if (max < SIZE_MAX && cap > max + 1)
				cap = max + 1;
			data = xrealloc(data, cap);
		}
		if ((n = cf_read_all(fd, data + len, cap - len)) == -1) {
			cf_errorf(
			    err, CF_E_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
		if (len > max) {
			cf_errorf(err, CF_E_LIMIT,
			    "%s: larger than %zu bytes; not a certificate file",
			    path, max);
			goto out;
		}
		if (len < cap) /* the end of the file */
			break;
	}
	out->data = data;
	out->len = len;
	data = NULL;
	rc = 0;
out:
	free(data);
	if (fd != STDIN_FILENO && fd != -1)
		close(fd);
	return rc;
}

ssize_t
cf_read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
cf_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long long
cf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cf_sleep_ms(long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Creates a new temporary file beside name in dfd, ".<name>.certfleet-"
 * and six random letters (a dot name, which a service's "*.pem" glob
 * does not pick up), with O_EXCL and O_NOFOLLOW: never an inode or a link
 * someone else put there.  Created 0600 (less under a stricter umask):
 * nobody else can open it before set_owner_mode.  The fd, with its name
 * in tmp; -1 with errno.
 */
static int
temp_create(int dfd, const char *name, char *tmp, size_t size)
{
	static const char abc[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char r[6];
	char suffix[sizeof(r) + 1];
	int fd, tries;
	size_t i;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		for (i = 0; i < sizeof(r); i++)
			suffix[i] = abc[r[i] % (sizeof(abc) - 1)];
		suffix[sizeof(r)] = '\0';
		snprintf(tmp, size, ".%s.certfleet-%s", name, suffix);
		fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/*
 * Gives the temporary file fd its owner and mode before any byte is
 * written, so a key is never readable by more than it should be.  fchown
 * only when the owner differs: an agent that is not root can still write
 * files it owns.  fchmod after fchown, which may clear set-id bits.
 */
static int
set_owner_mode(int fd, unsigned mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((uid != (uid_t)-1 && uid != st.st_uid) ||
	    (gid != (gid_t)-1 && gid != st.st_gid))
		if (fchown(fd, uid, gid) == -1)
			return -1;
	return fchmod(fd, (mode_t)mode);
}

int
cf_write_file_at(int dfd, const char *name, const char *path, const void *data,
    size_t len, unsigned mode, uid_t uid, gid_t gid, struct cf_error *err)
{
	char tmp[NAME_MAX + 1];
	int fd = -1, named = 0, rc = -1;

	if (name[0] == '\0' || strlen(name) > NAME_MAX - 20 ||
	    strchr(name, '/') != NULL)
		return cf_errorf(err, CF_E_USAGE, "%s: not a file name", path);
	if ((fd = temp_create(dfd, name, tmp, sizeof(tmp))) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	named = 1;
	if (set_owner_mode(fd, mode, uid, gid) == -1 ||
	    cf_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	named = 0;
	/* The rename is durable only once the directory is. */
	if (fsync(dfd) == -1) {
		cf_errorf(err, CF_E_IO, "%s: sync its directory: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (named)
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

/*
 * The directory is opened by its name, links and all: the CLI's and the
 * agent's own files are where their users say.  Service files, which a
 * user other than root may control, go through deploy_files.c instead.
 */
int
cf_write_file_atomic(const char *path, const void *data, size_t len,
    unsigned mode, struct cf_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd, rc;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xasprintf("%.*s", (int)(slash - path), path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd == -1)
		return cf_errorf(err, CF_E_IO, "%s: %s", path, strerror(errno));
	rc = cf_write_file_at(dfd, slash ? slash + 1 : path, path, data, len,
	    mode, (uid_t)-1, (gid_t)-1, err);
	close(dfd);
	return rc;
}

char *
cf_base64_new(const unsigned char *p, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

int
cf_base64_decode(const char *s, size_t len, const char *what,
    struct cf_buf *out, struct cf_error *err)
{
	int n, pad = 0;

	out->data = NULL;
	out->len = 0;
	if (len % 4 != 0 || len > INT_MAX)
		return cf_errorf(err, CF_E_PARSE, "%s: not Base64", what);
	out->data = xmalloc(len / 4 * 3 + 1);
	if ((n = EVP_DecodeBlock(
		 out->data, (const unsigned char *)s, (int)len)) < 0) {
		cf_buf_clear(out);
		return cf_errorf(err, CF_E_PARSE, "%s: not Base64", what);
	}
	/* EVP_DecodeBlock counts the padding as data: take it off. */
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	out->len = (size_t)n - (size_t)pad;
	return 0;
}

void
cf_hex_upper(const unsigned char *p, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* n as d digits, zero-padded, at out. */
static void
digits(char *out, long n, int d)
{
	while (d-- > 0) {
		out[d] = (char)('0' + n % 10);
		n /= 10;
	}
}

/*
 * The civil date of t by days-from-civil arithmetic (H. Hinnant's
 * algorithm), for years 1000 to 9999, where it writes what strftime
 * would; 0 outside them.  gmtime_r and strftime cost 1,400 instructions
 * a date, a fifth of a 10,000-row table.
 */
static int
time_iso_fast(time_t t, char out[21])
{
	long long days = t / 86400, secs = t % 86400, era, doe, yoe, doy, mp;
	long long y, m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y < 1000 || y > 9999)
		return 0;
	digits(out, (long)y, 4);
	out[4] = '-';
	digits(out + 5, (long)m, 2);
	out[7] = '-';
	digits(out + 8, (long)d, 2);
	out[10] = 'T';
	digits(out + 11, (long)(secs / 3600), 2);
	out[13] = ':';
	digits(out + 14, (long)(secs / 60 % 60), 2);
	out[16] = ':';
	digits(out + 17, (long)(secs % 60), 2);
	out[19] = 'Z';
	out[20] = '\0';
	return 1;
}

void
cf_time_iso(time_t t, char out[21])
{
	struct tm tm;

	if (time_iso_fast(t, out))
		return;

	/* Years past 9999 do not fit; no certificate can name them. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 21, "%s", "9999-12-31T23:59:59Z");
}

void
cf_local_actor(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		snprintf(out, size, "local:%s", pw->pw_name);
	else
		snprintf(out, size, "local:uid%u", (unsigned)getuid());
}

int
cf_strieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

size_t
cf_utf8_char_len(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * Escaped rather than replaced: the audit trail keeps what a client
 * sent (a bad byte in a path or a certificate name is evidence), and
 * "\xNN" cannot be mistaken for text a client could have sent as UTF-8
 * without the backslash showing.
 */
char *
cf_utf8_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t n;

	out = xmalloc(4 * strlen(s) + 1);
	o = out;
	while (*p != '\0') {
		if ((n = cf_utf8_char_len(p)) == 0) {
			o += sprintf(o, "\\x%02X", (unsigned)*p);
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}
