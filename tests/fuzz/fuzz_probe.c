/*
 * fuzz_probe.c - libFuzzer harness for the bytes a server sends a probe:
 * the STARTTLS dialogues (smtp, imap, pop) and the start of a TLS
 * handshake.  A thread plays the server on a loopback socket: it accepts
 * the probe's connection, sends the input (after its first byte, which
 * picks the protocol), and closes.  The probe must fail or succeed
 * cleanly, within its timeout, whatever the server says.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

struct server {
	int fd;
	const uint8_t *data;
	size_t len;
};

static void *
serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);

	if (c >= 0) {
		(void)!write(c, s->data, s->len);
		shutdown(c, SHUT_WR);
		/* Read what the probe says until it gives up. */
		char buf[512];
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct server s;
	struct cf_probe_opts o;
	struct cf_probe out;
	struct cf_error err;
	pthread_t t;
	char port[16];

	if (size < 1 || size > 16384)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s.fd < 0 || bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(s.fd, 1) != 0 ||
	    getsockname(s.fd, (struct sockaddr *)&sa, &sl) != 0) {
		if (s.fd >= 0)
			close(s.fd);
		return 0;
	}
	s.data = data + 1;
	s.len = size - 1;
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	pthread_create(&t, NULL, serve, &s);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = port;
	o.sni = "mail.example.com";
	o.proto = (enum cf_probe_proto)(data[0] % 4);
	o.timeout_ms = 500;
	o.verify = data[0] & 4;
	if (cf_probe_run(&o, &out, &err) == 0)
		cf_probe_clear(&out);
	pthread_join(t, NULL);
	close(s.fd);
	return 0;
}
