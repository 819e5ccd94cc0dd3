/*
 * util.h - allocation that aborts on failure, secret buffers that are
 * wiped on free, bounded file reads and atomic file writes.
 */
#ifndef CF_UTIL_H
#define CF_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

/* Allocation failure aborts the process: callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bytes read from a file or the network; owned by whoever holds it. */
struct cf_buf {
	unsigned char *data;
	size_t len;
};
void cf_buf_clear(struct cf_buf *b); /* frees data, NULL-safe */

/*
 * Secret bytes: passwords, key material.  Always NUL-terminated (len does
 * not count the NUL).  They live in a mapping of their own, left out of
 * core dumps (MADV_DONTDUMP); cf_secret_free wipes and unmaps it.
 */
struct cf_secret {
	char *data;
	size_t len;
};
/* A new secret holding a copy of len bytes of p; caller frees. */
struct cf_secret *cf_secret_new(const void *p, size_t len);
/* A new secret of len zero bytes (and the NUL) to fill; caller frees.
 * len may be lowered later; data must never be realloc'd or freed. */
struct cf_secret *cf_secret_alloc(size_t len);
void cf_secret_free(struct cf_secret *s); /* wipes; NULL-safe */

/* n bytes, zeroed, page-aligned less 16, left out of core dumps; for a
 * key kept as long as the process runs.  Aborts when out of memory. */
void *cf_dontdump_alloc(size_t n);
void cf_dontdump_free(void *p); /* wipes and unmaps; NULL-safe */

/*
 * Keeps the process's secrets out of core dumps and other users' reach:
 * no core file (RLIMIT_CORE 0, soft and hard), not dumpable (no core,
 * no ptrace or /proc/PID/mem but by root), and every block OpenSSL frees
 * wiped first.  Call first thing in main, before anything uses OpenSSL.
 * -1 when a step failed (the others are done all the same).
 */
int cf_process_harden(void);

/*
 * Reads at most max bytes of path ("-" = stdin) into out.  A larger file
 * is CF_E_LIMIT; a missing or unreadable one CF_E_IO naming the path.
 */
int cf_read_file(
    const char *path, size_t max, struct cf_buf *out, struct cf_error *err);

/*
 * Writes data to path atomically: a new temporary file beside it (".<name>
 * .certfleet-XXXXXX", created O_EXCL) given mode, written, fsynced,
 * renamed over path, then the directory fsynced.  A failure before the
 * rename leaves path untouched; a directory that cannot be synced after
 * it is an error too (CF_E_IO), for the agent's and the CLI's files as
 * for service files, since the rename may not outlive a crash.  A link
 * at path is replaced, not written through.
 */
int cf_write_file_atomic(const char *path, const void *data, size_t len,
    unsigned mode, struct cf_error *err);

/*
 * The one atomic writer, cf_write_file_atomic's too: writes data to the
 * file name (no '/') in the open directory dfd as above, the temporary
 * file owned by uid and gid ((uid_t)-1 / (gid_t)-1: the caller's) and
 * given mode before any byte is written.  path names the file in
 * messages.  The directory is the caller's to open safely.
 */
int cf_write_file_at(int dfd, const char *name, const char *path,
    const void *data, size_t len, unsigned mode, uid_t uid, gid_t gid,
    struct cf_error *err);

/* Base64 (no line breaks) of len bytes of p, as a new string. */
char *cf_base64_new(const unsigned char *p, size_t len);
/*
 * Decodes Base64 text s (no line breaks) into out (caller clears);
 * CF_E_PARSE naming what when it is not Base64.
 */
int cf_base64_decode(const char *s, size_t len, const char *what,
    struct cf_buf *out, struct cf_error *err);

/* Upper-case hex of len bytes into out (2*len+1 bytes). */
void cf_hex_upper(const unsigned char *p, size_t len, char *out);

/* ISO 8601 UTC, "2026-11-25T14:48:12Z", into out (21 bytes). */
void cf_time_iso(time_t t, char out[21]);

/* "local:<user name>" (or "local:uid<N>") for the audit trail, into out. */
void cf_local_actor(char *out, size_t size);

/* Milliseconds on the monotonic clock; sleeping ms (through signals). */
long long cf_now_ms(void);
void cf_sleep_ms(long long ms);

/* Reads into buf until len bytes or the end of the file (through
 * EINTR): the count read, short only at the end; -1 with errno set. */
ssize_t cf_read_all(int fd, void *buf, size_t len);
/* Writes all len bytes of p to fd (through EINTR); -1 with errno set. */
int cf_write_all(int fd, const void *p, size_t len);

/*
 * The length (1 to 4) of the UTF-8 character at p, as jansson checks it
 * (no overlong forms, surrogates or code points past U+10FFFF), or 0
 * when the bytes at p are not one.  Reads at most up to p's NUL.
 */
size_t cf_utf8_char_len(const unsigned char *p);
/* s with each byte that is not part of valid UTF-8 written as "\xNN";
 * new (caller frees).  Valid text comes back unchanged. */
char *cf_utf8_escape(const char *s);

/* Case-insensitive ASCII comparison helpers. */
int cf_strieq(const char *a, const char *b);

#endif
