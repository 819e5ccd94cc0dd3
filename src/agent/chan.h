/*
 * chan.h - messages between the agent's two processes (storeproc.h):
 * the network process asks, the store process answers, each worker
 * over a socket pair of its own, one message each way at a time.
 *
 * A message is a list of fields, each bytes or absent (a NULL string).
 * On the wire, integers 4-byte big-endian: the length of the rest, the
 * number of fields, then per field its length (CHAN_ABSENT for none),
 * its bytes and a NUL, so that a received field is a C string too.
 *
 * Request bodies carry passwords and replies carry exports: every
 * buffer that held a message is wiped before it is freed.
 */
#ifndef CFD_CHAN_H
#define CFD_CHAN_H

#include <stddef.h>
#include <stdint.h>

#define CHAN_MAX_FIELDS 16
/* A request is at most an API body and a few names; a reply is one
 * JSON document, a listing of a large store included. */
#define CHAN_MAX_REQUEST (16u << 20)
#define CHAN_MAX_REPLY (512u << 20)

struct chan_msg {
	size_t n;
	const char *f[CHAN_MAX_FIELDS]; /* NULL: absent */
	size_t len[CHAN_MAX_FIELDS];
	char num[CHAN_MAX_FIELDS][24]; /* chan_add_long's text */
	unsigned char *buf;            /* received: holds every field */
	size_t size;
};

/* Appends s (NULL: absent) or len bytes at p; the message lends them. */
void chan_add(struct chan_msg *m, const char *s);
void chan_add_bytes(struct chan_msg *m, const void *p, size_t len);
void chan_add_long(struct chan_msg *m, long long v);

/* Writes m to fd, whole; -1 with errno set. */
int chan_send(int fd, const struct chan_msg *m);

/*
 * Reads one message of at most max bytes into *m (chan_clear it).  0;
 * -1 with errno set: EPIPE at end of stream, EPROTO for a malformed or
 * oversized message.
 */
int chan_recv(int fd, struct chan_msg *m, size_t max);

/* Field i as a number; def when absent or not one. */
long long chan_long(const struct chan_msg *m, size_t i, long long def);
/* Field i, "" when absent or missing. */
const char *chan_str(const struct chan_msg *m, size_t i);

/* 4-byte big-endian integers, as the agent's processes write them
 * (here and in parser.c's conversation). */
void chan_put_u32(unsigned char *p, uint32_t v);
uint32_t chan_get_u32(const unsigned char *p);

/* Wipes and frees what chan_recv read; the message is empty again. */
void chan_clear(struct chan_msg *m);

#endif
