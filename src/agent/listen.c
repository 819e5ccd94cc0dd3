/*
 * listen.c - the agent's two listening sockets: HTTPS on HOST:PORT and
 * plain HTTP on a Unix socket for root.  See agent.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

#define BACKLOG 511

/* Splits "host:port" or "[v6]:port" into new host and port strings. */
static void
split_hostport(const char *hp, char **host, char **port)
{
	const char *colon = strrchr(hp, ':');
	size_t hlen = (size_t)(colon - hp);

	if (hp[0] == '[' && hlen >= 2 && hp[hlen - 1] == ']')
		*host = xasprintf("%.*s", (int)(hlen - 2), hp + 1);
	else
		*host = xasprintf("%.*s", (int)hlen, hp);
	*port = xstrdup(colon + 1);
}

int
agent_hostport_loopback(const char *hostport)
{
	struct in6_addr a6;
	struct in_addr a4;
	char *host, *port;
	int yes = 0;

	if (strrchr(hostport, ':') == NULL)
		return 0;
	split_hostport(hostport, &host, &port);
	if (inet_pton(AF_INET, host, &a4) == 1)
		yes = (ntohl(a4.s_addr) >> 24) == 127;
	else if (hostport[0] == '[' && inet_pton(AF_INET6, host, &a6) == 1)
		yes = IN6_IS_ADDR_LOOPBACK(&a6);
	free(host);
	free(port);
	return yes;
}

/* The address fd is bound to, as HOST:PORT. */
static void
bound_address(evutil_socket_t fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(
			    AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(out, outlen, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, port);
}

struct evconnlistener *
agent_listen_tcp(struct event_base *base, const char *hostport, char *bound,
    size_t boundlen, struct cf_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct evconnlistener *lev = NULL;
	char *host, *port;
	int gai, saved = 0;

	split_hostport(hostport, &host, &port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		cf_errorf(err, CF_E_USAGE, "listen %s: %s", hostport,
		    gai_strerror(gai));
		goto out;
	}
	for (ai = res; ai != NULL && lev == NULL; ai = ai->ai_next) {
		lev = evconnlistener_new_bind(base, NULL, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
			LEV_OPT_REUSEABLE,
		    BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
		if (lev == NULL && saved == 0)
			saved = errno;
	}
	if (lev == NULL) {
		cf_errorf(err, CF_E_IO, "listen %s: %s", hostport,
		    strerror(saved ? saved : EADDRNOTAVAIL));
		goto out;
	}
	/* Replies go out in more than one segment (TLS records): without
	 * this, Nagle and the client's delayed ACK add 40 ms to each.
	 * Linux hands the option on to every accepted socket. */
	setsockopt(evconnlistener_get_fd(lev), IPPROTO_TCP, TCP_NODELAY,
	    &(int){1}, sizeof(int));
	bound_address(evconnlistener_get_fd(lev), bound, boundlen);
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	free(port);
	return lev;
}

/* Clears the way for a new socket at path: a stale socket is removed,
 * a live one or anything else is an error. */
static int
unix_clear(const char *path, const struct sockaddr_un *sa, struct cf_error *err)
{
	struct stat st;
	int fd, live;

	if (lstat(path, &st) == -1)
		return errno == ENOENT
			   ? 0
			   : cf_errorf(err, CF_E_IO, "socket %s: %s", path,
				 strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return cf_errorf(err, CF_E_CONFLICT,
		    "socket %s: exists and is not a socket; remove it or set "
		    "another path",
		    path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return cf_errorf(err, CF_E_IO, "socket: %s", strerror(errno));
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	if (live)
		return cf_errorf(err, CF_E_CONFLICT,
		    "socket %s: another agent is answering on it", path);
	if (unlink(path) == -1)
		return cf_errorf(
		    err, CF_E_IO, "socket %s: %s", path, strerror(errno));
	return 0;
}

/* Binds fd to path with mode 0660, owned by root when we are root. */
static int
unix_bind(int fd, const char *path, const struct sockaddr_un *sa,
    struct cf_error *err)
{
	char *dup = xstrdup(path);
	mode_t old;
	int rc = -1;

	/* The socket's directory, e.g. /run/certfleet, if it is missing. */
	if (mkdir(dirname(dup), 0755) == -1 && errno != EEXIST) {
		cf_errorf(err, CF_E_IO, "socket %s: %s", path, strerror(errno));
		goto out;
	}
	old = umask(0117);
	rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (rc == -1) {
		cf_errorf(err, CF_E_IO, "socket %s: %s", path, strerror(errno));
		goto out;
	}
	if (chmod(path, 0660) == -1 ||
	    (geteuid() == 0 && chown(path, 0, (gid_t)-1) == -1) ||
	    listen(fd, BACKLOG) == -1) {
		cf_errorf(err, CF_E_IO, "socket %s: %s", path, strerror(errno));
		unlink(path);
		rc = -1;
	}
out:
	free(dup);
	return rc;
}

struct evconnlistener *
agent_listen_unix(
    struct event_base *base, const char *path, ino_t *ino, struct cf_error *err)
{
	struct evconnlistener *lev = NULL;
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (unix_clear(path, &sa, err) == -1)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		cf_errorf(err, CF_E_IO, "socket: %s", strerror(errno));
		goto out;
	}
	if (unix_bind(fd, path, &sa, err) == -1)
		goto out;
	*ino = stat(path, &st) == 0 ? st.st_ino : 0;
	/* Backlog 0: the socket already listens. */
	lev = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL)
		abort();
	fd = -1;
out:
	if (fd != -1)
		close(fd);
	return lev;
}

void
agent_unlisten_unix(const char *path, ino_t ino)
{
	struct stat st;

	if (path != NULL && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_ino == ino)
		unlink(path);
}
