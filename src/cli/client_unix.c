/*
 * client_unix.c - a request to the local agent on its Unix socket, plain
 * HTTP.  libevent 2.1's evhttp connects only to TCP addresses, so the
 * request is written on a bufferevent by hand (with Connection: close)
 * and the answer read with Content-Length or chunked framing, or to the
 * end of the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "client_impl.h"
#include "util.h"

/* Reads the status line and the framing headers once they are all in. */
static int
unix_head(struct call *k, struct evbuffer *in)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char *head, *line, *save = NULL;
	int status = 0;

	if (end.pos < 0)
		return evbuffer_get_length(in) > MAX_ANSWER_HEADERS ? -1 : 0;
	k->head_len = (size_t)end.pos + 4;
	head = xmalloc(k->head_len + 1);
	evbuffer_copyout(in, head, k->head_len);
	head[k->head_len] = '\0';
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		free(head);
		return -1;
	}
	k->ans->status = status;
	for (line = strtok_r(head, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			k->content_length = strtoll(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
			 strstr(line + 18, "chunked") != NULL)
			k->chunked = 1;
	}
	free(head);
	return 1;
}

/* The chunks of a chunked body at p (n bytes) into body; -1 when cut. */
static int
unchunk(const char *p, size_t n, struct evbuffer *body)
{
	const char *end = p + n, *crlf;
	unsigned long long size;
	char *stop;

	for (;;) {
		if ((crlf = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return -1;
		size = strtoull(p, &stop, 16);
		if (stop == p)
			return -1;
		p = crlf + 2;
		if (size == 0)
			return 0;
		if (size > (unsigned long long)(end - p) ||
		    (size_t)(end - p) - size < 2)
			return -1;
		evbuffer_add(body, p, size);
		p += size + 2;
	}
}

/*
 * Takes the answer when it is whole: the head read, then Content-Length
 * bytes, or (chunked, or unframed) everything up to the end of the
 * connection.  0 while more is to come, -1 when malformed.
 */
static int
unix_take(struct call *k, struct evbuffer *in, int eof)
{
	struct evbuffer *body;
	size_t avail;
	int rc;

	if (k->head_len == 0) {
		rc = unix_head(k, in);
		if (rc != 1)
			return rc == 0 && eof ? -1 : rc;
	}
	avail = evbuffer_get_length(in) - k->head_len;
	if (k->content_length >= 0 && !k->chunked) {
		if (avail < (unsigned long long)k->content_length)
			return eof ? -1 : 0;
		avail = (size_t)k->content_length;
	} else if (!eof)
		return 0;
	body = evbuffer_new();
	evbuffer_drain(in, k->head_len);
	if (k->chunked)
		rc =
		    unchunk((const char *)evbuffer_pullup(in, -1), avail, body);
	else
		rc = evbuffer_remove_buffer(in, body, avail) == (int)avail ? 0
									   : -1;
	if (rc == 0)
		client_take_answer(k, k->ans->status, body);
	evbuffer_free(body);
	return rc == 0 ? 1 : -1;
}

static void
unix_read(struct bufferevent *bev, void *arg)
{
	struct call *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	if (k->done)
		return;
	if (evbuffer_get_length(in) > MAX_ANSWER)
		rc = -1;
	else if ((rc = unix_take(k, in, 0)) == 0)
		return;
	if (rc == -1)
		cf_errorf(&k->ans->err, CF_E_PARSE,
		    "the local agent (%s) gave an answer that is not HTTP",
		    k->t->address);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	client_finish(k);
}

static void
unix_event(struct bufferevent *bev, short what, void *arg)
{
	struct call *k = arg;
	int saved_errno = EVUTIL_SOCKET_ERROR();

	if (k->done)
		return;
	if (what & BEV_EVENT_EOF) {
		if (unix_take(k, bufferevent_get_input(bev), 1) != 1 &&
		    k->ans->err.code == CF_OK)
			cf_errorf(&k->ans->err, CF_E_IO,
			    "the local agent (%s) closed the connection "
			    "without answering",
			    k->t->address);
	} else if (what & BEV_EVENT_TIMEOUT)
		cf_errorf(&k->ans->err, CF_E_IO,
		    "no answer from the local agent (%s) within %d s",
		    k->t->address, k->c->timeout);
	else
		cf_errorf(&k->ans->err, CF_E_IO, "the local agent (%s): %s",
		    k->t->address, strerror(saved_errno));
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	client_finish(k);
}

void
client_unix_start(struct call *k)
{
	struct sockaddr_un sun;
	struct timeval tv = {k->c->timeout, 0};
	struct evbuffer *out;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(k->t->address) >= sizeof(sun.sun_path)) {
		cf_errorf(&k->ans->err, CF_E_USAGE, "%s: socket path too long",
		    k->t->address);
		client_finish(k);
		return;
	}
	strcpy(sun.sun_path, k->t->address);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;
		cf_errorf(&k->ans->err, CF_E_IO,
		    "cannot reach the local agent at %s: %s (%s give --store "
		    "DIR, or --server NAME)",
		    k->t->address, strerror(e),
		    e == EACCES ? "its socket admits root only;"
				: "is certfleetd running here?  Otherwise");
		if (fd != -1)
			close(fd);
		client_finish(k);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	if ((k->bev = bufferevent_socket_new(
		 k->c->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	out = bufferevent_get_output(k->bev);
	evbuffer_add_printf(out,
	    "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: certfleet/%s\r\n"
	    "Accept: application/json\r\nX-Certfleet-Actor: %s\r\n"
	    "Connection: close\r\n",
	    k->method, k->path, CF_VERSION, k->c->actor);
	if (k->body != NULL)
		evbuffer_add_printf(out,
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n",
		    k->len);
	evbuffer_add(out, "\r\n", 2);
	if (k->body != NULL)
		evbuffer_add_reference(out, k->body, k->len, NULL, NULL);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
	bufferevent_setcb(k->bev, unix_read, NULL, unix_event, k);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}
