/*
 * errpage.c - evhttp's own error replies, in the API's JSON.
 *
 * evhttp answers some requests itself, before any callback of ours: a
 * request line or headers it cannot parse (400), a body over
 * evhttp_set_max_body_size (413), an Expect other than 100-continue
 * (417), a method it does not know (501).  libevent 2.1 writes an HTML
 * page then, and offers no hook to change it: evhttp_set_errorcb and
 * evhttp_set_newreqcb arrived in 2.2, and evhttp_request_set_header_cb
 * needs the request, which evhttp creates and fails without showing it
 * to us.  What we do own is each connection's bufferevent
 * (evhttp_set_bevcb), so the page is replaced where it is written: a
 * callback on the output buffer sees evhttp_send_error's page whole,
 * once its last byte is added and before the loop writes any of it to
 * the socket, and puts the same status with a JSON body in its place.
 *
 * The page is recognized by how evhttp_send_error ends it, behind a
 * status line and a text/html Content-Type; our own replies are JSON
 * and never end so.  evhttp closes the connection after such a page
 * (its request has no URI), and so does the reply that replaces it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "routes.h"
#include "server.h"

/* The last bytes of evhttp_send_error's page (libevent's ERR_FORMAT). */
#define PAGE_END "</BODY></HTML>\n"
#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define HEAD_MAX 1024 /* evhttp's head for a page is a few lines */

/* The answers that replace evhttp's pages; their statuses and codes are
 * routes.c's. */
static const struct {
	enum route_why why;
	const char *message;
} pages[] = {
    {ROUTE_HTTP_MALFORMED,
	"malformed HTTP request: the request line, a header or the "
	"body's framing (Content-Length, chunks) could not be read"},
    {ROUTE_HTTP_TOO_LARGE, "request too large: the body may be at most 8 MiB "
			   "(docs/api.md)"},
    {ROUTE_HTTP_EXPECT, "Expect: only 100-continue is understood"},
    {ROUTE_HTTP_METHOD, "method not implemented; the API uses GET and POST"},
};

/* Where the page starts in out (after a 100 Continue still queued),
 * and its status; -1 when out does not hold evhttp's error page. */
static int
page_status(struct evbuffer *out, size_t *start)
{
	char head[HEAD_MAX + 1], end[sizeof(PAGE_END) - 1];
	size_t len = evbuffer_get_length(out), n;
	struct evbuffer_ptr at;
	int status;
	char *blank;

	if (len < sizeof(end) ||
	    evbuffer_ptr_set(out, &at, len - sizeof(end), EVBUFFER_PTR_SET) ==
		-1 ||
	    evbuffer_copyout_from(out, &at, end, sizeof(end)) !=
		(ev_ssize_t)sizeof(end) ||
	    memcmp(end, PAGE_END, sizeof(end)) != 0)
		return -1;
	n = len < HEAD_MAX ? len : HEAD_MAX;
	if (evbuffer_copyout(out, head, n) != (ev_ssize_t)n)
		return -1;
	head[n] = '\0';
	*start = 0;
	if (strncmp(head, CONTINUE, strlen(CONTINUE)) == 0)
		*start = strlen(CONTINUE);
	if (sscanf(head + *start, "HTTP/1.%*1[01] %3d ", &status) != 1 ||
	    (blank = strstr(head + *start, "\r\n\r\n")) == NULL)
		return -1;
	*blank = '\0';
	if (strstr(head + *start, "\r\nContent-Type: text/html") == NULL)
		return -1;
	return status;
}

static void
on_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	char *body = NULL;
	size_t start, i;
	int status;

	(void)arg;
	if (info->n_added == 0 || (status = page_status(out, &start)) == -1)
		return;
	for (i = 0; body == NULL && i < sizeof(pages) / sizeof(pages[0]); i++)
		if (route_status(pages[i].why, CF_OK) == status)
			route_answer(
			    pages[i].why, CF_OK, pages[i].message, &body);
	if (body == NULL) /* a page of another status keeps it */
		route_answer(ROUTE_BY_CODE, CF_E_INTERNAL, "HTTP error", &body);
	/* This callback runs again for what it adds here, which no longer
	 * ends like a page.  Nothing of out is sent yet: drained whole, the
	 * 100 Continue put back. */
	evbuffer_drain(out, evbuffer_get_length(out));
	if (start > 0)
		evbuffer_add(out, CONTINUE, strlen(CONTINUE));
	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    status, route_reason(status), strlen(body) + 1, body);
	free(body);
}

void
errpage_watch(struct bufferevent *bev)
{
	if (evbuffer_add_cb(bufferevent_get_output(bev), on_output, NULL) ==
	    NULL)
		abort();
}
