/*
 * fuzz_chan.c - libFuzzer harness over the messages between the
 * agent's two processes (src/agent/chan.c): the store process, which
 * holds the master key, reads what the network process sends, and the
 * network process may be the one an attacker took over.  Whatever bytes
 * arrive, chan_recv takes a message whole or refuses it (EPROTO, EPIPE),
 * and a message it took has every field inside its buffer and
 * NUL-terminated.
 *
 * FUZZ-LINK: src/agent/chan.c
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "harness.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Every field of m lies in m's buffer and ends in a NUL. */
static void
check_fields(const struct chan_msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (m->f[i] == NULL)
			continue;
		if ((const unsigned char *)m->f[i] < m->buf ||
		    (const unsigned char *)m->f[i] + m->len[i] >=
			m->buf + m->size + 1 ||
		    m->f[i][m->len[i]] != '\0')
			abort();
		(void)chan_long(m, i, 0);
	}
	(void)chan_str(m, m->n); /* past the end: "" */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_msg m;
	int sv[2];

	if (size > 65536 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return 0;
	/* The whole input fits the socket's buffer: write, then close, so
	 * that a short message reads as the end of the stream. */
	if (write(sv[0], data, size) != (ssize_t)size)
		abort();
	close(sv[0]);
	while (chan_recv(sv[1], &m, 1u << 20) == 0) {
		check_fields(&m);
		chan_clear(&m);
	}
	if (errno != EPIPE && errno != EPROTO)
		abort();
	close(sv[1]);
	return 0;
}
