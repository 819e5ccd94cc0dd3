/*
 * fuzz_haproxy.c - libFuzzer harness over what haproxy's runtime API
 * answers (src/lib/svc_haproxy.c): the kind's activate step talks to a
 * Unix socket the harness serves from a thread.  The input, split at
 * each form feed (\f), is the answer to each command in turn ("set ssl
 * cert", "commit ssl cert", "abort ssl cert"); the reading, trimming and
 * matching of those answers must accept or refuse cleanly, with a
 * message, whatever haproxy (or whoever holds its socket) sends.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "service.h"

static int lfd = -1;
static char sock[128];

struct answers {
	const uint8_t *data;
	size_t len;
	volatile int done; /* set once activate returned */
};

/* Answers each command activate sends with the next piece of the input
 * (nothing once it runs out), until done: the connection that finds done
 * set is the harness waking it up. */
static void *
serve(void *arg)
{
	struct answers *a = arg;
	const uint8_t *p = a->data, *end = a->data + a->len;
	char buf[8192];

	for (;;) {
		const uint8_t *ff = memchr(p, '\f', (size_t)(end - p));
		size_t n = ff != NULL ? (size_t)(ff - p) : (size_t)(end - p);
		int c = accept(lfd, NULL, NULL);
		if (c == -1 || a->done) {
			if (c != -1)
				close(c);
			break;
		}
		/* The command first, as haproxy reads it before answering. */
		while (read(c, buf, sizeof(buf)) > 0)
			;
		if (n > 0)
			(void)!send(c, p, n, MSG_NOSIGNAL);
		close(c);
		p = ff != NULL ? ff + 1 : end;
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa;

	(void)argc;
	(void)argv;
	fz_path(sock, sizeof(sock), "admin.sock");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 8) == -1) {
		perror(sock);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pem[] = "/tmp/none/site.pem";
	static char body[] = "-----BEGIN CERTIFICATE-----\nMIIB\n"
			     "-----END CERTIFICATE-----\n";
	struct cf_service svc;
	struct cf_rendered r;
	struct cf_error err;
	struct answers a = {data, size, 0};
	pthread_t t;
	int rc, fd;

	if (size > 16384)
		return 0;
	memset(&svc, 0, sizeof(svc));
	snprintf(svc.name, sizeof(svc.name), "haproxy");
	svc.kind = &cf_kind_haproxy;
	svc.pem = pem;
	svc.runtime_api = sock;
	svc.timeout_ms = 2000;
	memset(&r, 0, sizeof(r));
	r.pem = body;
	r.pem_len = strlen(body);
	cf_error_clear(&err);
	pthread_create(&t, NULL, serve, &a);
	rc = cf_kind_haproxy.activate(&svc, &r, &err);
	if (rc == -1 && (err.code == CF_OK || err.msg[0] == '\0'))
		abort(); /* a refusal says why */
	/* Wake the server up to end. */
	a.done = 1;
	{
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
			abort();
		close(fd);
	}
	pthread_join(t, NULL);
	return 0;
}
