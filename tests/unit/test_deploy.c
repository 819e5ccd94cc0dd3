/*
 * test_deploy.c - rendering, commands, and deployments to a real TLS
 * server (openssl s_server on loopback, restarted by the service's reload
 * command) with every kind of failure and its rollback.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "check.h"
#include "deploy.h"
#include "testpki.h"
#include "util.h"

/* A certificate signed by the test intermediate, and its files. */
struct kit {
	EVP_PKEY *key;
	X509 *leaf;
	char thumb[CF_THUMB_LEN + 1];
	struct cf_rendered r;
};

static EVP_PKEY *root_key, *inter_key;
static X509 *root, *inter;
static char dir[256], port[16], chain_path[320], key_path[320];
static char reload_cmd[2048];

static void
kit_make(struct kit *k, const char *cn)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct cf_error err;

	k->key = tp_key(0);
	k->leaf = tp_cert(
	    cn, "mail.example.com", k->key, inter, inter_key, -1, 30, 0);
	cf_cert_thumbprint(k->leaf, k->thumb);
	sk_X509_push(chain, inter);
	sk_X509_push(chain, root);
	if (cf_render(k->leaf, chain, k->key, &k->r, &err) == -1)
		fprintf(stderr, "render: %s\n", err.msg);
	sk_X509_free(chain);
}

static void
kit_free(struct kit *k)
{
	cf_rendered_clear(&k->r);
	X509_free(k->leaf);
	EVP_PKEY_free(k->key);
}

/* A TCP port on 127.0.0.1 that nothing listens on just now. */
static void
free_port(char out[16])
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s == -1 || bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &len) == -1)
		snprintf(out, 16, "%d", 20000 + getpid() % 20000);
	else
		snprintf(out, 16, "%d", ntohs(a.sin_port));
	if (s != -1)
		close(s);
}

/* 1 when path holds exactly len bytes of data. */
static int
file_is(const char *path, const char *data, size_t len)
{
	struct cf_buf b;
	struct cf_error err;
	int same;

	if (cf_read_file(path, 1 << 20, &b, &err) == -1)
		return 0;
	same = b.len == len && memcmp(b.data, data, len) == 0;
	cf_buf_clear(&b);
	return same;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* How many times the real reload command ran. */
static int
reloads(void)
{
	char path[320], line[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/count", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* 1 when svc's endpoint serves thumb now (after a short wait at most). */
static int
serves(const struct cf_service *svc, const char *thumb)
{
	struct cf_probe p;
	struct cf_error err;
	int ok =
	    cf_service_check(svc, "mail.example.com", thumb, 3000, &p, &err);

	cf_probe_clear(&p);
	return ok == 0;
}

static void
svc_init(struct cf_service *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = &cf_kind_files;
	s->uid = (uid_t)-1;
	s->gid = (gid_t)-1;
	s->mode = 0600;
	s->chain_mode = 0644;
	s->proto = CF_PROBE_TLS;
	s->timeout_ms = 5000;
}

/* 1 when process pid is gone (or a zombie nobody reaped yet). */
static int
gone(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	int dead = 1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')))
		dead = p[2] == 'Z' || p[2] == 'X';
	else
		dead = 0;
	fclose(f);
	return dead;
}

static long
read_pid(const char *name)
{
	char path[320];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_render(void)
{
	struct kit k;
	struct cf_rendered r;
	struct cf_error err;
	EVP_PKEY *back;
	BIO *b;
	const char *p;
	int n = 0;

	kit_make(&k, "render.example.com");
	for (p = k.r.chain; (p = strstr(p, "BEGIN CERTIFICATE")) != NULL; p++)
		n++;
	CHECK(n == 2, "render: leaf and intermediate, the self-signed root "
		      "left out");
	b = BIO_new_mem_buf(k.r.key, (int)k.r.key_len);
	back = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	CHECK(back != NULL && EVP_PKEY_eq(back, k.key) == 1 &&
		  strstr(k.r.key, "BEGIN PRIVATE KEY") != NULL,
	    "render: the key is unencrypted PKCS#8 and parses back the same");
	EVP_PKEY_free(back);
	BIO_free(b);
	CHECK(k.r.pem_len == k.r.chain_len + k.r.key_len &&
		  memcmp(k.r.pem, k.r.chain, k.r.chain_len) == 0 &&
		  memcmp(k.r.pem + k.r.chain_len, k.r.key, k.r.key_len) == 0,
	    "render: pem is the chain then the key");
	CHECK(cf_render(k.leaf, NULL, NULL, &r, &err) == 0 && r.key == NULL &&
		  r.pem_len == r.chain_len && strstr(r.chain, "BEGIN") != NULL,
	    "render: without a key, chain only");
	cf_rendered_clear(&r);
	CHECK(r.chain == NULL && r.pem == NULL, "render: clear empties it");
	kit_free(&k);
}

static void
test_commands(void)
{
	struct cf_error err;
	char cmd[512];
	double t0;
	long bg;

	CHECK(cf_run_command("config test", "exit 0", NULL, 2000, &err) == 0,
	    "command: exit 0 succeeds");
	CHECK(cf_run_command("config test",
		  "echo one; echo; echo two >&2; echo '  '; exit 4", NULL, 2000,
		  &err) == -1 &&
		  err.code == CF_E_IO &&
		  strcmp(err.msg,
		      "config test failed (exit status 4): one / two") == 0,
	    "command: exit status and the last two lines of its output");
	CHECK(cf_run_command(
		  "reload", "seq 1 5000; exit 1", NULL, 2000, &err) == -1 &&
		  strstr(err.msg, ": 4999 / 5000") != NULL,
	    "command: the end of a long output is kept");
	CHECK(cf_run_command("reload", "kill -9 $$", NULL, 2000, &err) == -1 &&
		  strstr(err.msg, "reload killed by signal 9") != NULL,
	    "command: killed by a signal");
	snprintf(cmd, sizeof(cmd), "sleep 5 & echo $! > %s/bg; sleep 5", dir);
	t0 = now_s();
	CHECK(cf_run_command("reload", cmd, NULL, 300, &err) == -1 &&
		  strcmp(err.msg, "reload timed out after 300 ms") == 0 &&
		  now_s() - t0 < 2,
	    "command: a timeout returns in time");
	bg = read_pid("bg");
	usleep(100 * 1000);
	CHECK(bg > 0 && gone(bg),
	    "command: a timeout kills what the command started");
	/* A daemon that keeps the output pipe open does not hold us up. */
	snprintf(cmd, sizeof(cmd), "sleep 3 & echo $! > %s/bg", dir);
	t0 = now_s();
	CHECK(cf_run_command("reload", cmd, NULL, 2000, &err) == 0 &&
		  now_s() - t0 < 1,
	    "command: a background child holding the pipe does not block");
	if ((bg = read_pid("bg")) > 0)
		kill((pid_t)bg, SIGKILL);
}

static void
test_file_leaf(const struct kit *a)
{
	char thumb[CF_THUMB_LEN + 1], path[320];
	struct cf_error err;
	time_t na = 0;
	FILE *f;

	CHECK(cf_file_leaf(chain_path, thumb, &na, &err) == 1 &&
		  strcmp(thumb, a->thumb) == 0 && na > time(NULL),
	    "file leaf: the first certificate of the chain file");
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	CHECK(cf_file_leaf(path, thumb, &na, &err) == 0 && thumb[0] == '\0',
	    "file leaf: a missing file is 0");
	CHECK(cf_file_leaf(key_path, thumb, NULL, &err) == 0,
	    "file leaf: a file without a certificate is 0");
	CHECK(cf_file_leaf(dir, thumb, NULL, &err) == -1 &&
		  strstr(err.msg, dir) != NULL,
	    "file leaf: an unreadable file is -1 naming it");
	snprintf(path, sizeof(path), "%s/empty.pem", dir);
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	CHECK(cf_file_leaf(path, thumb, NULL, &err) == 0,
	    "file leaf: an empty file is 0");
}

/* Deploys k to svc in a new cf_deploy; *msg holds outcome or error. */
static int
deploy(
    const struct cf_service *svc, const struct kit *k, char *msg, size_t size)
{
	struct cf_deploy *d = cf_deploy_new();
	struct cf_error err;
	char *outcome = NULL;
	int rc = cf_deploy_service(
	    d, svc, &k->r, k->thumb, "mail.example.com", &outcome, &err);

	snprintf(msg, size, "%s", rc == 0 ? outcome : err.msg);
	free(outcome);
	cf_deploy_free(d);
	return rc;
}

/* The files hold a's and the server serves a. */
static int
still_a(const struct cf_service *svc, const struct kit *a)
{
	return file_is(chain_path, a->r.chain, a->r.chain_len) &&
	       file_is(key_path, a->r.key, a->r.key_len) &&
	       serves(svc, a->thumb);
}

static void
test_deploy_ok(struct cf_service *svc, const struct kit *a, const struct kit *b)
{
	char msg[600], want[128];
	int n;

	CHECK(deploy(svc, a, msg, sizeof(msg)) == 0 &&
		  strstr(msg, "deployed: files written, reloaded") == msg &&
		  serves(svc, a->thumb),
	    "deploy: new files, the server started, A served");
	if (!serves(svc, a->thumb))
		fprintf(stderr, "first deploy: %s\n", msg);
	n = reloads();
	snprintf(want, sizeof(want),
	    "deployed: files written, reloaded, serves %.8s on 127.0.0.1:%s",
	    b->thumb, port);
	CHECK(deploy(svc, b, msg, sizeof(msg)) == 0 && strcmp(msg, want) == 0,
	    "deploy: B deployed, the outcome says so");
	CHECK(file_is(chain_path, b->r.chain, b->r.chain_len) &&
		  file_is(key_path, b->r.key, b->r.key_len),
	    "deploy: the files are what cf_render made");
	CHECK(mode_of(chain_path) == 0644 && mode_of(key_path) == 0600,
	    "deploy: chain 0644, key 0600");
	CHECK(serves(svc, b->thumb) && reloads() == n + 1,
	    "deploy: B is served after one reload");
	CHECK(deploy(svc, b, msg, sizeof(msg)) == 0 &&
		  strcmp(msg, "unchanged") == 0 && reloads() == n + 1,
	    "deploy: the same files again are unchanged, no reload");
	chmod(key_path, 0644);
	CHECK(deploy(svc, b, msg, sizeof(msg)) == 0 &&
		  strstr(msg, "deployed") == msg && mode_of(key_path) == 0600,
	    "deploy: a wrong mode alone is a change, and fixed");
	CHECK(deploy(svc, a, msg, sizeof(msg)) == 0 && still_a(svc, a),
	    "deploy: A back");
}

static void
test_deploy_fail(
    struct cf_service *svc, const struct kit *a, const struct kit *b)
{
	char msg[600], want[2800], pem[320];
	int n = reloads();

	svc->test = "echo 'nginx: [emerg] bad'; false";
	CHECK(deploy(svc, b, msg, sizeof(msg)) == -1 &&
		  strcmp(msg, "https: config test failed (exit status 1): "
			      "nginx: [emerg] bad; the previous files are "
			      "back, https was not reloaded") == 0,
	    "deploy: a failing config test is named, nothing reloaded");
	CHECK(reloads() == n && still_a(svc, a),
	    "deploy: after the config test, A's files and A served");

	snprintf(pem, sizeof(pem), "%s/combined.pem", dir);
	svc->pem = pem;
	CHECK(deploy(svc, b, msg, sizeof(msg)) == -1 &&
		  access(pem, F_OK) == -1 && still_a(svc, a),
	    "deploy: a file that did not exist is removed again");
	svc->test = NULL;
	snprintf(pem, sizeof(pem), "%s/no/such/dir/combined.pem", dir);
	CHECK(deploy(svc, b, msg, sizeof(msg)) == -1 &&
		  strstr(msg, "https: write ") == msg &&
		  strstr(msg, "no/such/dir") != NULL &&
		  strstr(msg, "; the previous files are back, https was not "
			      "reloaded") != NULL &&
		  reloads() == n && still_a(svc, a),
	    "deploy: a failed write puts back the files written before it");
	svc->pem = NULL;

	svc->reload = "exit 3";
	CHECK(
	    deploy(svc, b, msg, sizeof(msg)) == -1 &&
		strstr(msg, "https: reload failed (exit status 3); ") == msg &&
		strstr(msg, "ROLLBACK FAILED: reload failed") != NULL &&
		strstr(msg, "check https by hand") != NULL,
	    "deploy: a failed reload whose rollback fails too says so");
	CHECK(still_a(svc, a), "deploy: after a failed reload, A's files");

	snprintf(want, sizeof(want),
	    "%s; if [ ! -e %s/failed ]; then touch "
	    "%s/failed; echo cannot; exit 3; fi",
	    reload_cmd, dir, dir);
	svc->reload = want;
	snprintf(pem, sizeof(pem),
	    "https: reload failed (exit status 3): cannot; the previous files "
	    "are back and https was reloaded: it serves %.8s again",
	    a->thumb);
	CHECK(deploy(svc, b, msg, sizeof(msg)) == -1 && strcmp(msg, pem) == 0,
	    "deploy: a failed reload is rolled back and reloaded");
	CHECK(still_a(svc, a), "deploy: after the rollback, A served");

	svc->reload = "true";
	svc->timeout_ms = 1500;
	snprintf(want, sizeof(want),
	    "https: check 127.0.0.1:%s (tls, SNI mail.example.com): serves "
	    "%.8s, not %.8s after 1500 ms; the previous files are back and "
	    "https was reloaded: it serves %.8s again",
	    port, a->thumb, b->thumb, a->thumb);
	CHECK(deploy(svc, b, msg, sizeof(msg)) == -1 && strcmp(msg, want) == 0,
	    "deploy: a reload that changes nothing fails the check");
	if (strcmp(msg, want) != 0)
		fprintf(stderr, "got  %s\nwant %s\n", msg, want);
	CHECK(still_a(svc, a), "deploy: after the failed check, A's files");
	svc->reload = reload_cmd;
	svc->timeout_ms = 5000;
}

/* What the deploy observer was told, "kind outcome;" each. */
static char observed[256];
static void
observe(const char *kind, const char *outcome)
{
	size_t n = strlen(observed);

	snprintf(observed + n, sizeof(observed) - n, "%s %s;", kind, outcome);
}

static void
test_undo(struct cf_service *svc, const struct kit *a, const struct kit *b)
{
	struct cf_service smtp;
	struct cf_deploy *d = cf_deploy_new();
	struct cf_error err;
	char *out = NULL, c2[320], k2[320], want[64];

	svc_init(&smtp, "smtp");
	snprintf(c2, sizeof(c2), "%s/smtp-chain.pem", dir);
	snprintf(k2, sizeof(k2), "%s/smtp-key.pem", dir);
	smtp.chain = c2;
	smtp.key = k2;
	smtp.test = "exit 1";
	observed[0] = '\0';
	cf_deploy_set_observer(observe);
	CHECK(cf_deploy_service(d, svc, &b->r, b->thumb, "mail.example.com",
		  &out, &err) == 0 &&
		  serves(svc, b->thumb),
	    "undo: the first service takes B");
	free(out);
	out = NULL;
	CHECK(cf_deploy_service(d, &smtp, &b->r, b->thumb, "mail.example.com",
		  &out, &err) == -1 &&
		  strstr(err.msg, "smtp: config test failed") == err.msg &&
		  strstr(err.msg, "the new files are removed") != NULL &&
		  out == NULL && access(c2, F_OK) == -1,
	    "undo: the second service fails and is back itself");
	cf_deploy_undo(d, &out);
	snprintf(want, sizeof(want), "https back on %.8s", a->thumb);
	CHECK(out != NULL && strcmp(out, want) == 0,
	    "undo: the report says the first service is back on A");
	CHECK(still_a(svc, a), "undo: A's files and A served again");
	free(out);
	cf_deploy_undo(d, &out);
	CHECK(out != NULL && out[0] == '\0', "undo: a second undo is empty");
	CHECK(strcmp(observed, "deploy deployed;rollback ok;deploy failed;"
			       "rollback ok;") == 0,
	    "undo: the observer counts a deploy, a failed one put back, and "
	    "the undo of the first");
	cf_deploy_set_observer(NULL);
	free(out);
	cf_deploy_free(d);
}

static void
test_check(const struct cf_service *svc)
{
	struct cf_service c = *svc;
	struct cf_probe p;
	struct cf_error err;
	char closed[16], want[128];

	c.check_host = NULL;
	CHECK(cf_service_check(&c, NULL, "00", 100, &p, &err) == 0,
	    "check: a service without a check endpoint passes");
	free_port(closed);
	c.check_host = "127.0.0.1";
	c.check_port = closed;
	snprintf(want, sizeof(want),
	    "check 127.0.0.1:%s (tls, SNI mail.example.com): connect: ",
	    closed);
	CHECK(cf_service_check(&c, NULL, NULL, 500, &p, &err) == -1 &&
		  strncmp(err.msg, want, strlen(want)) == 0,
	    "check: nothing listening is the probe's error, once named");
	cf_probe_clear(&p);
}

/* The lines of file path, sorted, joined by '|' ("" when unreadable). */
static void
lines_of(const char *path, char *out, size_t size)
{
	char cmd[800];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "sort %s | tr '\\n' '|'", path);
	out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	pclose(f);
}

#define ENV_PATH                                                               \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * A command sees PATH, LANG, the section's env and nothing of the
 * agent's (PWD is /bin/sh's own, in /).
 */
static void
test_command_env(void)
{
	char *env[] = {"FOO=bar", "BAZ=two words", NULL};
	char *path_env[] = {"PATH=/opt/x/bin:/usr/bin:/bin", NULL};
	struct cf_service s;
	struct cf_error err;
	char cmd[600], out[2048], path[320];

	snprintf(path, sizeof(path), "%s/env.out", dir);
	snprintf(cmd, sizeof(cmd), "env > %s", path);
	setenv("CERTFLEET_PASSWORD", "secret", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "also-secret", 1);
	svc_init(&s, "https");
	s.env = env;
	CHECK(cf_run_command("reload", cmd, &s, 2000, &err) == 0,
	    "env: the command runs");
	lines_of(path, out, sizeof(out));
	CHECK_STR(out, "BAZ=two words|FOO=bar|LANG=C.UTF-8|" ENV_PATH "|PWD=/|",
	    "env: only PATH, LANG and the section's env (and sh's PWD, in /)");
	CHECK(strstr(out, "secret") == NULL,
	    "env: the agent's CERTFLEET_PASSWORD does not reach it");
	CHECK(cf_run_command("reload", cmd, NULL, 2000, &err) == 0,
	    "env: without a section too");
	lines_of(path, out, sizeof(out));
	CHECK_STR(out, "LANG=C.UTF-8|" ENV_PATH "|PWD=/|",
	    "env: without a section, PATH and LANG");
	s.env = path_env;
	CHECK(cf_run_command("reload", cmd, &s, 2000, &err) == 0,
	    "env: PATH named by the section");
	lines_of(path, out, sizeof(out));
	CHECK_STR(out, "LANG=C.UTF-8|PATH=/opt/x/bin:/usr/bin:/bin|PWD=/|",
	    "env: the section's PATH replaces the fixed one");
	unsetenv("CERTFLEET_PASSWORD");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unlink(path);
}

/* run_as: the command runs as that user, with its groups (root only). */
static void
test_command_run_as(void)
{
	struct cf_service s;
	struct cf_error err;

	if (geteuid() != 0) {
		printf("# run_as: not root, skipped\n");
		return;
	}
	svc_init(&s, "https");
	CHECK(cf_run_command("reload", "id -u; exit 1", &s, 2000, &err) == -1 &&
		  strcmp(err.msg, "reload failed (exit status 1): 0") == 0,
	    "run_as: without it, as the agent (root)");
	s.run_as = "nobody";
	s.run_uid = 65534;
	s.run_gid = 65534;
	CHECK(
	    cf_run_command("reload", "echo $(id -u) $(id -g) $(id -G); exit 1",
		&s, 2000, &err) == -1 &&
		strcmp(err.msg,
		    "reload failed (exit status 1): 65534 65534 65534") == 0,
	    "run_as nobody: uid, gid and groups are nobody's, root's gone");
	if (strcmp(err.msg, "reload failed (exit status 1): 65534 65534 65534"))
		fprintf(stderr, "  got: %s\n", err.msg);
}

/* ---- files a user other than root controls -------------------------- */

static const char *
hpath(const char *name)
{
	static char p[4][300];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/hostile/%s", dir, name);
	return p[i];
}

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* A files service writing chain.pem and key.pem in dir/hostile/<sub>. */
static void
hostile_svc(struct cf_service *s, const char *sub, char *chain, char *key)
{
	svc_init(s, "https");
	snprintf(chain, 400, "%s/hostile/%s/chain.pem", dir, sub);
	snprintf(key, 400, "%s/hostile/%s/key.pem", dir, sub);
	s->chain = chain;
	s->key = key;
}

static void
test_links(const struct kit *a)
{
	struct cf_service s;
	char chain[400], key[400], msg[600], want[1200];
	char thumb[CF_THUMB_LEN + 1];
	time_t na;
	struct cf_error err;

	mkdir(hpath("d"), 0755);
	put_file(hpath("elsewhere"), "untouched\n");
	CHECK(symlink(hpath("elsewhere"), hpath("d/key.pem")) == 0,
	    "link: set-up: a link at the key path");
	hostile_svc(&s, "d", chain, key);
	snprintf(want, sizeof(want),
	    "https: read %s: refused: %s is a symbolic link; certfleet "
	    "follows no link in a service's paths: name the real file "
	    "(readlink -f)",
	    key, key);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == -1 && strcmp(msg, want) == 0,
	    "link: a symbolic link at the key path is refused, named");
	if (strcmp(msg, want) != 0)
		fprintf(stderr, "  got  %s\n  want %s\n", msg, want);
	CHECK(file_is(hpath("elsewhere"), "untouched\n", 10) &&
		  access(chain, F_OK) == -1,
	    "link: nothing written through it, nor beside it");

	mkdir(hpath("real"), 0755);
	CHECK(symlink(hpath("real"), hpath("link")) == 0,
	    "link: set-up: a link to a directory");
	hostile_svc(&s, "link", chain, key);
	snprintf(want, sizeof(want), "refused: %s is a symbolic link",
	    hpath("link"));
	CHECK(
	    deploy(&s, a, msg, sizeof(msg)) == -1 && strstr(msg, want) != NULL,
	    "link: a symbolic link to a directory on the way is refused");
	CHECK(access(hpath("real/chain.pem"), F_OK) == -1 &&
		  access(hpath("real/key.pem"), F_OK) == -1,
	    "link: nothing written in the directory it points to");
	hostile_svc(&s, "real", chain, key);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0 &&
		  file_is(key, a->r.key, a->r.key_len),
	    "link: the real directory, named, takes the files");

	CHECK(symlink(chain, hpath("d/chain.pem")) == 0,
	    "link: set-up: a link at the chain path");
	CHECK(cf_file_leaf(hpath("d/chain.pem"), thumb, &na, &err) == -1 &&
		  strstr(err.msg, "is a symbolic link") != NULL &&
		  thumb[0] == '\0',
	    "link: reading what is on disk does not follow a linked chain");
	CHECK(cf_file_leaf(chain, thumb, &na, &err) == 1 &&
		  strcmp(thumb, a->thumb) == 0,
	    "link: the real chain file is read");
}

static void
test_open_dirs(const struct kit *a)
{
	struct cf_service s;
	char chain[400], key[400], msg[600], want[1200];
	struct stat st;

	mkdir(hpath("open"), 0755);
	chmod(hpath("open"), 0777);
	hostile_svc(&s, "open", chain, key);
	snprintf(want, sizeof(want),
	    "https: read %s: refused: every user may write in %s and could "
	    "swap the files; chmod o-w %s",
	    chain, hpath("open"), hpath("open"));
	CHECK(deploy(&s, a, msg, sizeof(msg)) == -1 && strcmp(msg, want) == 0,
	    "dirs: a directory every user may write is refused, with the fix");
	CHECK(access(chain, F_OK) == -1 && access(key, F_OK) == -1,
	    "dirs: refused before anything is written");
	chmod(hpath("open"), 01777);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == -1 &&
		  strstr(msg, "every user may write") != NULL,
	    "dirs: sticky is not enough for the files' own directory");

	/* A sticky, open directory above one of root's, as /tmp. */
	mkdir(hpath("open/inner"), 0755);
	hostile_svc(&s, "open/inner", chain, key);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0,
	    "dirs: a sticky open directory above a safe one, as /tmp");
	if (geteuid() != 0) {
		printf("# owners: not root, skipped\n");
		return;
	}
	chmod(hpath("open"), 0777);
	snprintf(want, sizeof(want), "every user may write in %s and",
	    hpath("open"));
	CHECK(
	    deploy(&s, a, msg, sizeof(msg)) == -1 && strstr(msg, want) != NULL,
	    "dirs: an ancestor every user may write, not sticky, is refused");
	chmod(hpath("open"), 0755);

	mkdir(hpath("grp"), 0775);
	chmod(hpath("grp"), 0775);
	(void)!chown(hpath("grp"), 0, 65534);
	hostile_svc(&s, "grp", chain, key);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == -1 &&
		  strstr(msg, "refused: group 65534 may write in ") != NULL &&
		  strstr(msg, "set group = to that group") != NULL,
	    "dirs: a directory another group may write is refused");
	s.gid = 65534;
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0 && stat(key, &st) == 0 &&
		  st.st_gid == 65534 && st.st_uid == 0,
	    "dirs: the section's group may write it; the files get it");

	mkdir(hpath("nobody"), 0755);
	(void)!chown(hpath("nobody"), 65534, 65534);
	hostile_svc(&s, "nobody", chain, key);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == -1 &&
		  strstr(msg, " belongs to nobody (uid 65534), who could swap "
			      "the files; chown root ") != NULL &&
		  access(chain, F_OK) == -1,
	    "dirs: a directory nobody owns is refused, nothing written");
	s.uid = 65534;
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0 && stat(key, &st) == 0 &&
		  st.st_uid == 65534 && (st.st_mode & 07777) == 0600,
	    "dirs: owner = nobody: its directory is trusted, its key 0600");
}

/*
 * A key.pem nobody put there, and keeps open: the new key is a new file
 * (another inode), root's, 0600; nobody's descriptor still reads theirs.
 */
static void
test_planted(const struct kit *a)
{
	struct cf_service s;
	char chain[400], key[400], msg[600], old[32] = "";
	struct stat before, after;
	int fd;

	if (geteuid() != 0) {
		printf("# planted: not root, skipped\n");
		return;
	}
	mkdir(hpath("planted"), 0755);
	hostile_svc(&s, "planted", chain, key);
	put_file(key, "planted\n");
	(void)!chown(key, 65534, 65534);
	chmod(key, 0644);
	stat(key, &before);
	fd = open(key, O_RDONLY);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0 && stat(key, &after) == 0,
	    "planted: the deployment goes through");
	CHECK(after.st_uid == 0 && after.st_gid == 0 &&
		  (after.st_mode & 07777) == 0600,
	    "planted: the key is root's and 0600, not the planted file's "
	    "owner");
	CHECK(after.st_ino != before.st_ino,
	    "planted: a new inode, never the planted one reused");
	CHECK(fd != -1 && read(fd, old, sizeof(old) - 1) == 8 &&
		  strcmp(old, "planted\n") == 0,
	    "planted: nobody's open descriptor reads only what they wrote");
	CHECK(file_is(key, a->r.key, a->r.key_len),
	    "planted: the key is in the new file");
	if (fd != -1)
		close(fd);

	/* The same bytes, but nobody's: still written again, as root's. */
	(void)!chown(key, 65534, 65534);
	stat(key, &before);
	CHECK(deploy(&s, a, msg, sizeof(msg)) == 0 &&
		  strstr(msg, "deployed") == msg && stat(key, &after) == 0 &&
		  after.st_uid == 0 && after.st_ino != before.st_ino,
	    "planted: right bytes, wrong owner is a change, written anew");
}

/* 1 when dir holds no temporary file of an atomic write. */
static int
no_temp_files(void)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int none = 1;

	while (dp != NULL && (e = readdir(dp)) != NULL)
		if (strstr(e->d_name, ".certfleet-") != NULL)
			none = 0;
	if (dp != NULL)
		closedir(dp);
	return dp != NULL && none;
}

/* Stops every s_server the reload command started. */
static void
stop_servers(void)
{
	char path[320];
	long pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/allpids", dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fscanf(f, "%ld", &pid) == 1)
		kill((pid_t)pid, SIGKILL);
	fclose(f);
}

/*
 * One named test, not four: each step starts from what the one before
 * left, the files deployed and the server that serves them (A, after
 * the first), and test_file_leaf reads the chain file deployed.
 */
static void
test_deploying(struct cf_service *svc, const struct kit *a, const struct kit *b)
{
	test_deploy_ok(svc, a, b);
	test_file_leaf(a);
	test_deploy_fail(svc, a, b);
	test_undo(svc, a, b);
}

/* The https service whose reload command (re)starts an s_server on a
 * free port serving the files deployed. */
static void
https_svc(struct cf_service *svc)
{
	free_port(port);
	snprintf(chain_path, sizeof(chain_path), "%s/chain.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(reload_cmd, sizeof(reload_cmd),
	    "echo r >> %s/count; p=$(cat %s/pid 2>/dev/null); "
	    "[ -n \"$p\" ] && kill $p 2>/dev/null && sleep 0.2; "
	    "openssl s_server -accept 127.0.0.1:%s -cert %s -key %s -www "
	    "-quiet </dev/null >/dev/null 2>&1 & "
	    "echo $! > %s/pid; echo $! >> %s/allpids",
	    dir, dir, port, chain_path, key_path, dir, dir);
	svc_init(svc, "https");
	svc->chain = chain_path;
	svc->key = key_path;
	svc->reload = reload_cmd;
	svc->check_host = "127.0.0.1";
	svc->check_port = port;
	svc->check_name = "mail.example.com";
}

int
main(int argc, char **argv)
{
	struct cf_service svc;
	struct kit a, b;
	char hostile[300];

	check_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s", check_tmpdir());
	snprintf(hostile, sizeof(hostile), "%s/hostile", dir);
	mkdir(hostile, 0755);
	root_key = tp_key(0);
	inter_key = tp_key(0);
	root = tp_cert("Test Root", NULL, root_key, NULL, NULL, -1, 60, 1);
	inter = tp_cert(
	    "Test Intermediate", NULL, inter_key, root, root_key, -1, 60, 1);
	kit_make(&a, "a.example.com");
	kit_make(&b, "b.example.com");
	https_svc(&svc);

	if (check_test("render"))
		test_render();
	if (check_test("commands"))
		test_commands();
	if (check_test("deploying"))
		test_deploying(&svc, &a, &b);
	if (check_test("check"))
		test_check(&svc);
	if (check_test("command_env"))
		test_command_env();
	if (check_test("command_run_as"))
		test_command_run_as();
	if (check_test("links"))
		test_links(&a);
	if (check_test("open_dirs"))
		test_open_dirs(&a);
	if (check_test("planted"))
		test_planted(&a);
	CHECK(no_temp_files(), "deploy: no temporary file is left behind");

	stop_servers();
	kit_free(&a);
	kit_free(&b);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(root_key);
	return check_done();
}
