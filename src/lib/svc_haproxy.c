/*
 * svc_haproxy.c - haproxy: one PEM file with chain and key (`crt`).
 * `haproxy -c` checks the configuration with the file just written; then,
 * with runtime_api set, the new certificate goes in through haproxy's
 * admin socket (`set ssl cert FILE <<` with the PEM, then `commit ssl cert
 * FILE`): no restart, no connection dropped.  The file on disk is written
 * too, so a restart serves the same certificate.  Without runtime_api the
 * reload command runs instead.
 *
 * FILE must be the path the configuration names on its `crt` line, which
 * is the service's pem.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "deploy.h"
#include "service.h"
#include "util.h"

#define REPLY_MAX 4096

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Waits for events on fd until deadline; 0, or -1 on timeout. */
static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;

	do
		rc = poll(&p, 1, left_ms(deadline));
	while (rc == -1 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

/* Sends the whole of len bytes of p on fd before deadline. */
static int
send_all(int fd, const char *p, size_t len, const struct timespec *deadline)
{
	ssize_t n;

	while (len > 0) {
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One command on the admin socket: connect, send cmd, read the reply
 * until haproxy closes (it does after each command when not in
 * interactive mode) into reply, NUL-terminated and trimmed.
 */
static int
runtime_cmd(const struct cf_service *svc, const char *cmd, size_t len,
    char reply[REPLY_MAX], struct cf_error *err)
{
	struct sockaddr_un sa;
	struct timespec deadline;
	size_t got = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	reply[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += svc->timeout_ms / 1000;
	deadline.tv_nsec += (long)(svc->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(svc->runtime_api) >= sizeof(sa.sun_path)) {
		cf_errorf(err, CF_E_USAGE, "runtime_api %s: path too long",
		    svc->runtime_api);
		goto out;
	}
	memcpy(sa.sun_path, svc->runtime_api, strlen(svc->runtime_api));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
		errno != EINPROGRESS)) {
		cf_errorf(err, CF_E_IO, "runtime API %s: %s", svc->runtime_api,
		    strerror(errno));
		goto out;
	}
	if (send_all(fd, cmd, len, &deadline) == -1) {
		cf_errorf(err, CF_E_IO, "runtime API %s: cannot send: %s",
		    svc->runtime_api, errno ? strerror(errno) : "timed out");
		goto out;
	}
	shutdown(fd, SHUT_WR);
	while (got < REPLY_MAX - 1) {
		if (wait_fd(fd, POLLIN, &deadline) == -1) {
			cf_errorf(err, CF_E_IO,
			    "runtime API %s: no answer within %d ms",
			    svc->runtime_api, svc->timeout_ms);
			goto out;
		}
		n = recv(fd, reply + got, REPLY_MAX - 1 - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	while (got > 0 && (reply[got - 1] == '\n' || reply[got - 1] == ' '))
		got--;
	reply[got] = '\0';
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* The reply's lines joined with "; ", for a message. */
static void
one_line(char *reply)
{
	char *p;

	while ((p = strchr(reply, '\n')) != NULL)
		*p = ';';
}

/*
 * set ssl cert + commit ssl cert.  haproxy answers "Transaction created"
 * (or "updated") to the first and "Success!" at the end of the second;
 * anything else is its reason, and the transaction is aborted.
 */
static int
runtime_activate(const struct cf_service *svc, const struct cf_rendered *r,
    struct cf_error *err)
{
	char reply[REPLY_MAX], *cmd;
	size_t len;
	int rc;

	if (r->pem == NULL) /* a rollback to a file that did not exist */
		return cf_errorf(err, CF_E_IO,
		    "runtime API: no previous certificate to give haproxy for "
		    "%s",
		    svc->pem);
	/* The payload ends at the first empty line: PEM text has none. */
	cmd = xasprintf(
	    "set ssl cert %s <<\n%.*s\n", svc->pem, (int)r->pem_len, r->pem);
	len = strlen(cmd);
	rc = runtime_cmd(svc, cmd, len, reply, err);
	OPENSSL_cleanse(cmd, len);
	free(cmd);
	if (rc == -1)
		return -1;
	if (strstr(reply, "Transaction created") == NULL &&
	    strstr(reply, "Transaction updated") == NULL) {
		one_line(reply);
		return cf_errorf(err, CF_E_IO,
		    "runtime API: set ssl cert %s: %.300s", svc->pem, reply);
	}
	cmd = xasprintf("commit ssl cert %s\n", svc->pem);
	rc = runtime_cmd(svc, cmd, strlen(cmd), reply, err);
	free(cmd);
	if (rc == 0 && strstr(reply, "Success!") == NULL) {
		char abort_reply[REPLY_MAX];
		struct cf_error ignored;
		one_line(reply);
		cf_errorf(err, CF_E_IO,
		    "runtime API: commit ssl cert %s: %.300s", svc->pem, reply);
		cmd = xasprintf("abort ssl cert %s\n", svc->pem);
		runtime_cmd(svc, cmd, strlen(cmd), abort_reply, &ignored);
		free(cmd);
		return -1;
	}
	return rc;
}

static int
haproxy_activate(const struct cf_service *svc, const struct cf_rendered *r,
    struct cf_error *err)
{
	if (svc->runtime_api != NULL)
		return runtime_activate(svc, r, err);
	if (svc->reload != NULL)
		return cf_run_command(
		    "reload", svc->reload, svc, svc->timeout_ms, err);
	return 0;
}

const struct cf_service_kind cf_kind_haproxy = {
    .name = "haproxy",
    .test = "haproxy -c -q -f /etc/haproxy/haproxy.cfg",
    .reload = "systemctl reload haproxy",
    .combined = 1,
    .activate = haproxy_activate,
};
