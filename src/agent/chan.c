/*
 * chan.c - messages between the agent's processes: see chan.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chan.h"
#include "util.h"

#define CHAN_ABSENT UINT32_MAX

void
chan_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
chan_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
chan_add_bytes(struct chan_msg *m, const void *p, size_t len)
{
	if (m->n == CHAN_MAX_FIELDS)
		abort(); /* a message of ours is fixed at compile time */
	m->f[m->n] = p;
	m->len[m->n] = p != NULL ? len : 0;
	m->n++;
}

void
chan_add(struct chan_msg *m, const char *s)
{
	chan_add_bytes(m, s, s != NULL ? strlen(s) : 0);
}

void
chan_add_long(struct chan_msg *m, long long v)
{
	if (m->n == CHAN_MAX_FIELDS)
		abort();
	snprintf(m->num[m->n], sizeof(m->num[m->n]), "%lld", v);
	chan_add(m, m->num[m->n]);
}

int
chan_send(int fd, const struct chan_msg *m)
{
	size_t i, total = 4, at;
	unsigned char *buf;
	int rc;

	for (i = 0; i < m->n; i++) {
		if (m->len[i] > CHAN_MAX_REPLY) {
			errno = EMSGSIZE;
			return -1;
		}
		total += 4 + (m->f[i] != NULL ? m->len[i] + 1 : 0);
	}
	if (total > CHAN_MAX_REPLY) {
		errno = EMSGSIZE;
		return -1;
	}
	buf = xmalloc(4 + total);
	chan_put_u32(buf, (uint32_t)total);
	chan_put_u32(buf + 4, (uint32_t)m->n);
	for (i = 0, at = 8; i < m->n; i++) {
		chan_put_u32(
		    buf + at, m->f[i] ? (uint32_t)m->len[i] : CHAN_ABSENT);
		at += 4;
		if (m->f[i] == NULL)
			continue;
		memcpy(buf + at, m->f[i], m->len[i]);
		buf[at + m->len[i]] = '\0';
		at += m->len[i] + 1;
	}
	rc = cf_write_all(fd, buf, at);
	OPENSSL_clear_free(buf, 4 + total);
	return rc;
}

/* The fields of the m->size bytes in m->buf into m; -1 when they do
 * not add up. */
static int
chan_split(struct chan_msg *m)
{
	size_t at = 4, i, n;
	uint32_t len;

	if (m->size < 4 || (n = chan_get_u32(m->buf)) > CHAN_MAX_FIELDS)
		return -1;
	for (i = 0; i < n; i++) {
		if (m->size - at < 4)
			return -1;
		len = chan_get_u32(m->buf + at);
		at += 4;
		if (len == CHAN_ABSENT) {
			m->f[i] = NULL;
			m->len[i] = 0;
			continue;
		}
		if (m->size - at < (size_t)len + 1 || m->buf[at + len] != '\0')
			return -1;
		m->f[i] = (const char *)m->buf + at;
		m->len[i] = len;
		at += (size_t)len + 1;
	}
	m->n = n;
	return at == m->size ? 0 : -1;
}

int
chan_recv(int fd, struct chan_msg *m, size_t max)
{
	unsigned char head[4];
	ssize_t got;

	memset(m, 0, sizeof(*m));
	if ((got = cf_read_all(fd, head, 4)) != 4) {
		if (got >= 0)
			errno = EPIPE;
		return -1;
	}
	m->size = chan_get_u32(head);
	if (m->size > max) {
		m->size = 0;
		errno = EPROTO;
		return -1;
	}
	m->buf = xmalloc(m->size + 1);
	if ((got = cf_read_all(fd, m->buf, m->size)) != (ssize_t)m->size) {
		chan_clear(m);
		if (got >= 0)
			errno = EPIPE;
		return -1;
	}
	if (chan_split(m) == -1) {
		chan_clear(m);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

long long
chan_long(const struct chan_msg *m, size_t i, long long def)
{
	char *end;
	long long v;

	if (i >= m->n || m->f[i] == NULL || m->f[i][0] == '\0')
		return def;
	errno = 0;
	v = strtoll(m->f[i], &end, 10);
	return *end == '\0' && errno == 0 ? v : def;
}

const char *
chan_str(const struct chan_msg *m, size_t i)
{
	return i < m->n && m->f[i] != NULL ? m->f[i] : "";
}

void
chan_clear(struct chan_msg *m)
{
	if (m->buf != NULL)
		OPENSSL_clear_free(m->buf, m->size + 1);
	memset(m, 0, sizeof(*m));
}
