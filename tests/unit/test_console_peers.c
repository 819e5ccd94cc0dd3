/*
 * test_console_peers.c - the console_peers key of certfleetd's
 * configuration (src/agent/config_console.c): names and https origins
 * read in order and written as a browser's Origin header writes them;
 * each bad entry refused naming the entry and what to write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "config.h"
#include "util.h"

static char path[1024];

/* The configuration "[agent]\nname = ex1\nconsole_peers = " + v,
 * loaded. */
static struct agent_config *
load(const char *v, struct cf_error *err)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "[agent]\nname = ex1\nconsole_peers = %s\n", v);
	fclose(f);
	chmod(path, 0600);
	cf_error_clear(err);
	return agent_config_load(path, 1, err);
}

static void
test_read(void)
{
	struct agent_config *c;
	struct cf_error err;

	c = load("ex2=https://10.0.0.2:8443, ex3=https://Mail3.Example.COM:443,"
		 "v6=https://[::1]:9000",
	    &err);
	CHECK(c != NULL && c->nconsole_peers == 3, "read: three peers");
	if (c == NULL || c->nconsole_peers != 3) {
		fprintf(stderr, "    got: %s\n", err.msg);
		agent_config_free(c);
		return;
	}
	CHECK_STR(c->console_peers[0].name, "ex2", "read: the first name");
	CHECK_STR(c->console_peers[0].origin, "https://10.0.0.2:8443",
	    "read: the first origin");
	CHECK_STR(c->console_peers[1].origin, "https://mail3.example.com",
	    "read: an origin as a browser writes it (lower case, no :443)");
	CHECK_STR(c->console_peers[2].origin, "https://[::1]:9000",
	    "read: an IPv6 origin");
	agent_config_free(c);

	c = load("none", &err);
	CHECK(c != NULL && c->nconsole_peers == 0, "none: no peers");
	agent_config_free(c);
}

/* console_peers = v must be refused with a message holding want. */
static void
refused(const char *v, const char *want, const char *name)
{
	struct agent_config *c;
	struct cf_error err;

	c = load(v, &err);
	CHECK(
	    c == NULL && err.code == CF_E_USAGE && strstr(err.msg, want), name);
	if (c == NULL && strstr(err.msg, want) == NULL)
		fprintf(stderr, "    got: %s\n", err.msg);
	agent_config_free(c);
}

static void
test_refused(void)
{
	char *s, *next;
	int i;

	refused("ex2=http://x:1",
	    "agent.conf:3: console_peers: ex2=http://x:1: "
	    "the console's address starts with https://",
	    "plain http, naming file:line and the entry");
	refused("ex2=https://x:1/console",
	    "ex2=https://x:1/console: give the "
	    "origin only",
	    "a path");
	refused("ex2=https://x:1?a", "origin only", "a query");
	refused("ex2=https://u@x:1", "origin only", "a user");
	refused("https://x:1", "https://x:1: give NAME=https://HOST:PORT",
	    "no name");
	refused("=https://x:1", "give NAME=", "an empty name");
	refused("e x=https://x:1", "give NAME=", "a name split by a space");
	refused("e/x=https://x:1", "the name e/x", "a bad name");
	refused("ex2=https://x:0", "the port is 1 to 65535", "port 0");
	refused(
	    "ex2=https://x:99999", "the port is 1 to 65535", "port too big");
	refused("ex2=https://x:", "the port is 1 to 65535", "an empty port");
	refused("ex2=https://x:+1", "the port is 1 to 65535", "a signed port");
	refused("ex2=https://x_y:1", "the host is a name", "a bad host");
	refused("ex2=https://[::1:1", "the host is a name", "an open bracket");
	refused("ex2=https://", "the host is a name", "no host");
	refused("ex2=https://a:1, ex2=https://b:1", "a second entry for ex2",
	    "a name twice");
	refused("ex2=https://a:443, ex3=https://A",
	    "a second entry for https://a", "an origin twice, however written");
	s = xstrdup("");
	for (i = 0; i <= AGENT_CONSOLE_PEERS_MAX; i++) {
		next =
		    xasprintf("%s%sp%d=https://h%d:1", s, i ? "," : "", i, i);
		free(s);
		s = next;
	}
	refused(s, "at most 256 peers", "too many peers");
	free(s);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	snprintf(path, sizeof(path), "%s/agent.conf", check_tmpdir());
	if (check_test("read"))
		test_read();
	if (check_test("refused"))
		test_refused();
	return check_done();
}
