/*
 * test_agent_registry_config.c - the [registry] section of certfleetd's
 * configuration (src/agent/config_registry.c): a whole section read with
 * its defaults, each bad value refused naming file:line, what the keys
 * must say together, and the password file: read without its line break,
 * refused when others may read it or when it is empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "config.h"
#include "util.h"

static char dir[512];

/* path of leaf in the scratch directory (static buffer, one at a time). */
static const char *
at(const char *leaf)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	return path;
}

static void
write_file(const char *leaf, const char *text, mode_t mode)
{
	FILE *f = fopen(at(leaf), "w");

	if (f == NULL) {
		perror(at(leaf));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	chmod(at(leaf), mode);
}

/* The configuration "[agent]\nname = ex1\n" + text, loaded. */
static struct agent_config *
load(const char *text, struct cf_error *err)
{
	char *all = xasprintf("[agent]\nname = ex1\n%s", text);

	write_file("agent.conf", all, 0600);
	free(all);
	cf_error_clear(err);
	return agent_config_load(at("agent.conf"), 1, err);
}

#define SECTION                                                                \
	"[registry]\ntype = etcd\nendpoints = "                                \
	"https://etcd1.example.com:2379, https://etcd2.example.com:2379\n"     \
	"ca = ca.pem\n"

static void
test_whole(void)
{
	struct agent_config *c;
	struct cf_error err;

	c = load(SECTION
	    "cert = c.pem\nkey = c.key\nuser = certfleet-agent-ex1\n"
	    "password_file = pw\nprefix = /fleet/prod\nname = mail1\n"
	    "lease_ttl = 45\nadvertise = mail1.example.com:8443\n",
	    &err);
	CHECK(c != NULL && c->registry != NULL, "whole: read");
	if (c == NULL || c->registry == NULL)
		return;
	CHECK(c->registry->nendpoints == 2 &&
		  strcmp(c->registry->endpoints[1],
		      "https://etcd2.example.com:2379") == 0,
	    "whole: two endpoints");
	CHECK_STR(c->registry->ca, at("ca.pem"),
	    "whole: a relative path is the file's directory's");
	CHECK_STR(c->registry->prefix, "/fleet/prod", "whole: prefix");
	CHECK_STR(agent_registry_name(c), "mail1", "whole: name");
	CHECK(c->registry->lease_ttl == 45, "whole: lease_ttl");
	CHECK_STR(c->registry->advertise, "mail1.example.com:8443",
	    "whole: advertise");
	agent_config_free(c);

	c = load(SECTION, &err);
	CHECK(c != NULL && c->registry != NULL &&
		  strcmp(c->registry->prefix, "/certfleet") == 0 &&
		  c->registry->lease_ttl == 30 &&
		  c->registry->advertise == NULL && c->registry->user == NULL,
	    "defaults: prefix /certfleet, lease 30 s, no user");
	CHECK(c != NULL && strcmp(agent_registry_name(c), "ex1") == 0,
	    "defaults: the [agent] name");
	agent_config_free(c);

	c = load("", &err);
	CHECK(c != NULL && c->registry == NULL, "no section: no registry");
	agent_config_free(c);
}

/* text must be refused with a message holding want. */
static void
refused(const char *text, const char *want, const char *name)
{
	struct agent_config *c;
	struct cf_error err;

	c = load(text, &err);
	CHECK(
	    c == NULL && err.code == CF_E_USAGE && strstr(err.msg, want), name);
	if (c == NULL && strstr(err.msg, want) == NULL)
		fprintf(stderr, "    got: %s\n", err.msg);
	agent_config_free(c);
}

static void
test_refused(void)
{
	refused(SECTION "lease_ttl = 1\n", "agent.conf:7: lease_ttl 1",
	    "lease_ttl under 2 s, naming file:line");
	refused(SECTION "lease_ttl = 10s\n", "lease_ttl 10s",
	    "lease_ttl not a number");
	refused(SECTION "colour = blue\n", "unknown key colour in [registry]",
	    "an unknown key");
	refused(SECTION "prefix = /a\nprefix = /b\n", "prefix is set twice",
	    "a key twice");
	refused(SECTION "prefix = certfleet\n", "prefix certfleet",
	    "a prefix without its slash");
	refused(SECTION "name = all\n", "name: all", "the name all");
	refused(SECTION "advertise = nowhere\n", "advertise nowhere",
	    "advertise without a port");
	refused("[registry]\ntype = consul\n", "type consul", "another type");
	refused("[registry]\ntype = etcd\nendpoints = http://e:2379\n",
	    "http://e:2379: give https://HOST:PORT", "a plain-HTTP endpoint");
	refused("[registry]\ntype = etcd\nca = ca.pem\n",
	    "agent.conf:3: [registry] needs endpoints",
	    "no endpoints, naming the header");
	refused("[registry]\nendpoints = https://e:2379\nca = ca.pem\n",
	    "needs type = etcd", "no type");
	refused("[registry]\ntype = etcd\nendpoints = https://e:2379\n",
	    "needs ca", "no ca");
	refused(SECTION "cert = c.pem\n", "cert and key go together",
	    "cert without key");
	refused(SECTION "user = u\n", "user and password_file go together",
	    "user without password_file");
	refused(SECTION "[registry]\n", "[registry] is there twice",
	    "the section twice");
	refused("[registry]\ntype = etcd\nendpoints = https://e:1,https://e:2,"
		"https://e:3,https://e:4,https://e:5,https://e:6,https://e:7,"
		"https://e:8,https://e:9\nca = ca.pem\n",
	    "endpoints: at most 8", "nine endpoints");
}

static void
test_name(void)
{
	struct agent_config *c;
	struct cf_error err;

	cf_error_clear(&err);
	write_file("agent.conf", SECTION "[agent]\nname = _ex1\n", 0600);
	c = agent_config_load(at("agent.conf"), 1, &err);
	CHECK(c == NULL && strstr(err.msg, "agent.conf:1: [registry]: the "
					   "agent's name _ex1 is not a fleet "
					   "name"),
	    "an [agent] name the fleet does not take, naming the section");
	agent_config_free(c);
	write_file(
	    "agent.conf", SECTION "name = ex1\n[agent]\nname = _ex1\n", 0600);
	c = agent_config_load(at("agent.conf"), 1, &err);
	CHECK(c != NULL, "... taken with a [registry] name");
	agent_config_free(c);
}

static void
test_equal(void)
{
	struct agent_config *a, *b;
	struct cf_error err;

	a = load(SECTION "lease_ttl = 5\n", &err);
	b = load(SECTION "lease_ttl = 5\n", &err);
	CHECK(a != NULL && b != NULL &&
		  config_registry_equal(a->registry, b->registry),
	    "equal: the same section");
	agent_config_free(b);
	b = load(SECTION "lease_ttl = 6\n", &err);
	CHECK(b != NULL && !config_registry_equal(a->registry, b->registry),
	    "equal: another lease_ttl differs");
	agent_config_free(b);
	b = load("", &err);
	CHECK(b != NULL && !config_registry_equal(a->registry, b->registry) &&
		  config_registry_equal(b->registry, NULL),
	    "equal: none differs from one; none is none");
	agent_config_free(a);
	agent_config_free(b);
}

static void
test_password(void)
{
	struct agent_registry r;
	struct cf_secret *pw = NULL;
	struct cf_error err;

	memset(&r, 0, sizeof(r));
	r.password_file = (char *)at("pw");
	write_file("pw", "s3cret\n", 0600);
	CHECK(agent_registry_password(&r, &pw, &err) == 0 && pw != NULL &&
		  pw->len == 6 && strcmp(pw->data, "s3cret") == 0,
	    "password: read, its line break left out");
	cf_secret_free(pw);
	pw = NULL;
	write_file("pw", "s3cret\r\n", 0600);
	CHECK(agent_registry_password(&r, &pw, &err) == 0 && pw != NULL &&
		  strcmp(pw->data, "s3cret") == 0,
	    "password: a CRLF left out too");
	cf_secret_free(pw);
	pw = NULL;
	write_file("pw", "s3cret\n", 0640);
	CHECK(agent_registry_password(&r, &pw, &err) == -1 &&
		  err.code == CF_E_DENIED && pw == NULL &&
		  strstr(err.msg, "chmod 600") != NULL &&
		  strstr(err.msg, "s3cret") == NULL,
	    "password: a file the group may read refused, the password not "
	    "in the message");
	write_file("pw", "\n", 0600);
	CHECK(agent_registry_password(&r, &pw, &err) == -1 &&
		  strstr(err.msg, "empty") != NULL,
	    "password: an empty file refused");
	r.password_file = (char *)at("missing.pw");
	CHECK(
	    agent_registry_password(&r, &pw, &err) == -1 && err.code == CF_E_IO,
	    "password: a missing file");
	r.password_file = NULL;
	CHECK(agent_registry_password(&r, &pw, &err) == 0 && pw == NULL,
	    "password: none without password_file");
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s", check_tmpdir());
	if (check_test("whole"))
		test_whole();
	if (check_test("refused"))
		test_refused();
	if (check_test("name"))
		test_name();
	if (check_test("equal"))
		test_equal();
	if (check_test("password"))
		test_password();
	return check_done();
}
