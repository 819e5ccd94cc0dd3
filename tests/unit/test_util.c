/*
 * test_util.c - util.c: bounded file reads, atomic writes, secrets, hex,
 * ISO 8601 times and case-insensitive comparison.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "check.h"
#include "util.h"

static char dir[512];

/* dir/name into a static buffer of the caller's choosing. */
static void
path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void
put(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
}

/* The contents of path as a new NUL-terminated string (NULL: none). */
static char *
slurp(const char *path)
{
	struct cf_buf b;
	struct cf_error err;
	char *s;

	if (cf_read_file(path, 1 << 20, &b, &err) == -1)
		return NULL;
	s = xmalloc(b.len + 1);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cf_buf_clear(&b);
	return s;
}

/* Entries of d whose name holds prefix (temporary files are
 * ".NAME.certfleet-..."). */
static int
count_prefixed(const char *d, const char *prefix)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dp != NULL && (e = readdir(dp)) != NULL)
		if (strstr(e->d_name, prefix) != NULL)
			n++;
	if (dp != NULL)
		closedir(dp);
	return n;
}

static void
test_read(void)
{
	char path[600], big[600], missing[600];
	unsigned char *data = xmalloc(20000);
	struct cf_buf b = {NULL, 0};
	struct cf_error err;
	size_t i;
	int rc;

	path_of(path, sizeof(path), "small.txt");
	put(path, "hello\n", 6);
	rc = cf_read_file(path, 100, &b, &err);
	CHECK(rc == 0 && b.len == 6 && memcmp(b.data, "hello\n", 6) == 0,
	    "read: a small file");
	cf_buf_clear(&b);
	CHECK(b.data == NULL && b.len == 0, "read: cf_buf_clear empties");
	rc = cf_read_file(path, 6, &b, &err);
	CHECK(rc == 0 && b.len == 6, "read: a file of exactly max bytes");
	cf_buf_clear(&b);
	err.code = CF_OK;
	rc = cf_read_file(path, 5, &b, &err);
	CHECK(rc == -1 && err.code == CF_E_LIMIT,
	    "read: one byte over is CF_E_LIMIT");
	CHECK(strstr(err.msg, path) != NULL,
	    "read: the limit message names the path");
	CHECK(b.data == NULL && b.len == 0,
	    "read: nothing handed out over the limit");

	for (i = 0; i < 20000; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	path_of(big, sizeof(big), "big.bin");
	put(big, data, 20000);
	rc = cf_read_file(big, 100000, &b, &err);
	CHECK(rc == 0 && b.len == 20000 && memcmp(b.data, data, 20000) == 0,
	    "read: a file larger than one read, bytes intact");
	cf_buf_clear(&b);
	rc = cf_read_file(big, 16384, &b, &err);
	CHECK(rc == -1 && err.code == CF_E_LIMIT && b.data == NULL,
	    "read: a large file over the limit");
	/* "at most max bytes": no limit at all must read the whole file. */
	rc = cf_read_file(big, SIZE_MAX, &b, &err);
	CHECK(rc == 0 && b.len == 20000 && b.data != NULL &&
		  memcmp(b.data, data, 20000) == 0,
	    "read: max SIZE_MAX reads the whole file");
	cf_buf_clear(&b);

	path_of(missing, sizeof(missing), "no-such-file");
	err.code = CF_OK;
	rc = cf_read_file(missing, 100, &b, &err);
	CHECK(
	    rc == -1 && err.code == CF_E_IO, "read: a missing file is CF_E_IO");
	CHECK(strstr(err.msg, missing) != NULL &&
		  strstr(err.msg, strerror(ENOENT)),
	    "read: the message names the path and the reason");
	err.code = CF_OK;
	rc = cf_read_file(dir, 100, &b, &err);
	CHECK(rc == -1 && err.code == CF_E_IO && b.data == NULL,
	    "read: a directory is CF_E_IO");

	path_of(path, sizeof(path), "empty");
	put(path, "", 0);
	rc = cf_read_file(path, 100, &b, &err);
	CHECK(rc == 0 && b.len == 0,
	    "read: an empty file is empty, not an error");
	cf_buf_clear(&b);
	free(data);
}

/* cf_read_file("-") with stdin redirected from path. */
static void
test_read_stdin(void)
{
	char path[600];
	struct cf_buf b;
	struct cf_error err;
	int saved = dup(STDIN_FILENO), fd, rc;

	path_of(path, sizeof(path), "stdin.txt");
	put(path, "from stdin", 10);
	fd = open(path, O_RDONLY);
	dup2(fd, STDIN_FILENO);
	close(fd);
	rc = cf_read_file("-", 100, &b, &err);
	CHECK(rc == 0 && b.len == 10 && memcmp(b.data, "from stdin", 10) == 0,
	    "read: - is stdin");
	cf_buf_clear(&b);
	CHECK(fcntl(STDIN_FILENO, F_GETFD) != -1, "read: stdin left open");
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void
test_write(void)
{
	char path[600], sub[600], missing[640], inside[640];
	struct cf_error err;
	struct stat st, st2;
	char old[8] = "", *s;
	mode_t um;
	int fd, rc;

	path_of(path, sizeof(path), "target.pem");
	um = umask(0);
	rc = cf_write_file_atomic(path, "first", 5, 0600, &err);
	CHECK(rc == 0 && stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "write: mode 0600 even under umask 0");
	umask(um);
	s = slurp(path);
	CHECK_STR(s, "first", "write: the data written");
	free(s);

	/* Replace: a reader holding the old file keeps the old bytes. */
	fd = open(path, O_RDONLY);
	um = umask(077);
	rc = cf_write_file_atomic(path, "second!", 7, 0644, &err);
	umask(um);
	CHECK(rc == 0 && stat(path, &st2) == 0 && (st2.st_mode & 07777) == 0644,
	    "write: mode 0644 even under umask 077");
	CHECK(
	    st2.st_ino != st.st_ino, "write: replaced by rename, a new inode");
	CHECK(fd != -1 && read(fd, old, sizeof(old) - 1) == 5 &&
		  strcmp(old, "first") == 0,
	    "write: an open reader still sees the old file whole");
	if (fd != -1)
		close(fd);
	s = slurp(path);
	CHECK_STR(s, "second!", "write: the new data replaced the old");
	free(s);
	CHECK(count_prefixed(dir, "target.pem") == 1,
	    "write: no temporary file left beside it");

	rc = cf_write_file_atomic(path, "", 0, 0600, &err);
	CHECK(rc == 0 && stat(path, &st) == 0 && st.st_size == 0,
	    "write: zero bytes make an empty file");

	/* A missing directory: CF_E_IO naming the path, nothing created. */
	snprintf(missing, sizeof(missing), "%s/no-such-dir/x.pem", dir);
	err.code = CF_OK;
	rc = cf_write_file_atomic(missing, "x", 1, 0600, &err);
	CHECK(rc == -1 && err.code == CF_E_IO,
	    "write: missing directory is CF_E_IO");
	CHECK(strstr(err.msg, missing) != NULL,
	    "write: the message names the path");
	CHECK(stat(missing, &st) == -1, "write: nothing created");

	/* The rename fails (the target is a non-empty directory): the
	 * target is untouched and the temporary file removed. */
	path_of(sub, sizeof(sub), "occupied");
	mkdir(sub, 0700);
	snprintf(inside, sizeof(inside), "%s/keep", sub);
	put(inside, "keep", 4);
	err.code = CF_OK;
	rc = cf_write_file_atomic(sub, "x", 1, 0600, &err);
	CHECK(
	    rc == -1 && err.code == CF_E_IO, "write: failed rename is CF_E_IO");
	s = slurp(inside);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && s != NULL &&
		  strcmp(s, "keep") == 0,
	    "write: target untouched on failure");
	free(s);
	CHECK(count_prefixed(dir, "occupied") == 1,
	    "write: no temporary file left after a failure");
	unlink(inside);
	rmdir(sub);
}

/* 1 when the mapping holding p is marked dd (MADV_DONTDUMP) in
 * /proc/self/smaps, 0 when not, -1 when none holds it. */
static int
dontdump(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	uintptr_t a = (uintptr_t)p;
	unsigned long lo, hi;
	int in = 0, rc = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			rc = strstr(line, " dd") != NULL;
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	return rc;
}

static void
test_secret(void)
{
	const char src[] = "pa\0ss";
	struct cf_secret *s = cf_secret_new("hunter2", 7);

	CHECK(s != NULL && s->len == 7 && strcmp(s->data, "hunter2") == 0 &&
		  s->data[7] == '\0',
	    "secret: a copy, NUL-terminated, len without the NUL");
	cf_secret_free(s);
	s = cf_secret_new(src, 5);
	CHECK(s->len == 5 && memcmp(s->data, src, 5) == 0 &&
		  s->data[5] == '\0' && s->data != src,
	    "secret: embedded NUL kept, len counts it");
	CHECK(strlen(s->data) == 2, "secret: len, not strlen, is the size");
	cf_secret_free(s);
	s = cf_secret_new(NULL, 0);
	CHECK(s != NULL && s->len == 0 && s->data != NULL && s->data[0] == '\0',
	    "secret: empty secret is an empty string");
	cf_secret_free(s);
	cf_secret_free(NULL);
	CHECK(1, "secret: cf_secret_free(NULL) is safe");

	s = cf_secret_alloc(100000);
	CHECK(s->len == 100000 && s->data[0] == '\0' &&
		  s->data[99999] == '\0' && s->data[100000] == '\0',
	    "secret: alloc gives len zero bytes and the NUL");
	CHECK(dontdump(s->data) == 1 && dontdump(s->data + 99999) == 1,
	    "secret: its bytes are left out of core dumps (VmFlags dd)");
	s->len = 3; /* a caller shortens it, as chomp does */
	cf_secret_free(s);
	CHECK(1, "secret: freed after its len was lowered");
	{
		char *plain = xmalloc(64);
		CHECK(dontdump(plain) == 0,
		    "secret: a plain allocation is dumped (the check sees)");
		free(plain);
	}
}

/*
 * cf_process_harden, in a child of its own (it changes the process for
 * good, and must come before OpenSSL allocates): no core, not dumpable,
 * and OpenSSL's memory functions replaced.
 */
static void
test_harden(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		struct rlimit rl;
		int bits = 0;
		void *p;

		if (cf_process_harden() == 0)
			bits |= 1;
		if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
		    rl.rlim_max == 0)
			bits |= 2;
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
			bits |= 4;
		/* OpenSSL's realloc through the wrapper keeps the bytes. */
		p = OPENSSL_malloc(16);
		memcpy(p, "0123456789abcde", 16);
		p = OPENSSL_realloc(p, 5000);
		if (p != NULL && memcmp(p, "0123456789abcde", 16) == 0)
			bits |= 8;
		OPENSSL_free(p);
		_exit(bits);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) & 1),
	    "harden: every step succeeds");
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) & 2),
	    "harden: no core file (RLIMIT_CORE 0, soft and hard)");
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) & 4),
	    "harden: the process is not dumpable");
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) & 8),
	    "harden: OpenSSL's realloc through the wiping allocator");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1,
	    "harden: this process, not hardened, is dumpable (the check sees)");
}

/* Whether cf_time_iso writes what gmtime_r and strftime would, for a
 * spread of times from year 1000 to 9999 (its arithmetic's range). */
static int
time_iso_as_strftime(void)
{
	const long long first = -30610224000LL, last = 253402300799LL;
	char iso[21], want[21];
	long long t;
	struct tm tm;

	for (t = first; t < last; t += 86400LL * 37 + 3607) {
		time_t tt = (time_t)t;
		cf_time_iso(tt, iso);
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
			0 ||
		    strcmp(iso, want) != 0)
			return 0;
	}
	return 1;
}

static void
test_hex_time_str(void)
{
	static const unsigned char bytes[] = {0x00, 0x0f, 0xab, 0xff, 0x10};
	char hex[16], iso[32];
	int nul;

	memset(hex, 'x', sizeof(hex));
	cf_hex_upper(bytes, sizeof(bytes), hex);
	CHECK_STR(hex, "000FABFF10", "hex: upper case, leading zeros kept");
	CHECK(strpbrk(hex, "abcdef") == NULL, "hex: no lower case");
	memset(hex, 'x', sizeof(hex));
	cf_hex_upper(bytes, 0, hex);
	CHECK_STR(hex, "", "hex: zero bytes, empty string");

	cf_time_iso(0, iso);
	CHECK_STR(iso, "1970-01-01T00:00:00Z", "time: 0 is the epoch");
	cf_time_iso(1700000000, iso);
	CHECK_STR(iso, "2023-11-14T22:13:20Z", "time: a known timestamp");
	cf_time_iso(1700000001, iso);
	CHECK(strcmp(iso, "2023-11-14T22:13:20Z") != 0,
	    "time: one second later differs");
	cf_time_iso(-1, iso);
	CHECK_STR(iso, "1969-12-31T23:59:59Z", "time: before the epoch");
	cf_time_iso(253402300799, iso);
	CHECK_STR(iso, "9999-12-31T23:59:59Z",
	    "time: the last second a certificate can name");
	/* Year 10000 needs 22 bytes; the 21 must still end in a NUL. */
	memset(iso, 'x', sizeof(iso));
	cf_time_iso(253402300800, iso);
	nul = memchr(iso, '\0', 21) != NULL;
	CHECK(nul, "time: year 10000 still NUL-terminated within 21 bytes");
	cf_time_iso(951782400, iso);
	CHECK_STR(iso, "2000-02-29T00:00:00Z", "time: a leap day");
	cf_time_iso(4107542399, iso);
	CHECK_STR(iso, "2100-02-28T23:59:59Z", "time: 2100 has no leap day");
	CHECK(time_iso_as_strftime(), "time: as gmtime and strftime write it");

	CHECK(cf_strieq("Thumbprint", "tHUMBPRINT"), "strieq: case ignored");
	CHECK(cf_strieq("", ""), "strieq: empty equals empty");
	CHECK(
	    !cf_strieq("Subject", "Subjects"), "strieq: a prefix is not equal");
	CHECK(!cf_strieq("abc", "abd"), "strieq: different letters");
	CHECK(!cf_strieq("", "a"), "strieq: empty is not a");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	/* harden first: before this process uses OpenSSL */
	if (check_test("harden"))
		test_harden();
	snprintf(dir, sizeof(dir), "%s", check_tmpdir());
	if (check_test("read"))
		test_read();
	if (check_test("read_stdin"))
		test_read_stdin();
	if (check_test("write"))
		test_write();
	if (check_test("secret"))
		test_secret();
	if (check_test("hex_time_str"))
		test_hex_time_str();
	return check_done();
}
