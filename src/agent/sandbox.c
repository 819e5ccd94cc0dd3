/*
 * sandbox.c - parser_sandbox (parser.h): what the parser process gives up
 * before it reads a byte of its input.
 *
 * Order matters.  What needs a file is done first, while files can still
 * be opened: OpenSSL's configuration, its legacy provider (dlopen'ed once
 * and kept, so the PKCS#12 reader's own load of it later finds it
 * already mapped and opens nothing), nobody's uid from the password
 * database.  Then the fds, the limits, the uid, no_new_privs, and last
 * the seccomp filter, which needs no privilege once no_new_privs is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <seccomp.h>

#include "parser.h"

#define NOBODY 65534     /* when the password database has no "nobody" */
#define PARSER_FILES 8   /* fd 0 and what the C library may need */
#define PARSER_CPU_S 120 /* the agent stops it at PARSER_TIMEOUT_MS */

/* The system calls parsing and answering make: memory, the socket on
 * fd 0, time, randomness, and leaving.  Nothing opens anything. */
static const int allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(readv),
    SCMP_SYS(recvfrom),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(sendto),
    SCMP_SYS(close),
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(getrandom),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(sched_yield),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

/* Loads what parsing would otherwise open later: the configuration and
 * the legacy provider (RC2-40 and DES PKCS#12 files).  The context and
 * provider are kept on purpose, for the life of the process. */
static void
preload_openssl(void)
{
	OSSL_LIB_CTX *lctx;
	EVP_CIPHER *c;

	OPENSSL_init_crypto(
	    OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS |
		OPENSSL_INIT_ADD_ALL_DIGESTS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
	    NULL);
	if ((lctx = OSSL_LIB_CTX_new()) == NULL ||
	    OSSL_PROVIDER_load(lctx, "legacy") == NULL)
		return; /* the PKCS#12 reader says so if it needs it */
	if ((c = EVP_CIPHER_fetch(lctx, "RC2-40-CBC", NULL)) != NULL)
		EVP_CIPHER_free(c);
}

/* nobody's uid and gid, looked up while files can be opened. */
static void
find_nobody(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	*uid = NOBODY;
	*gid = NOBODY;
	if ((pw = getpwnam("nobody")) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	endpwent();
}

/* Root becomes uid and gid, without supplementary groups. */
static int
drop_root(uid_t uid, gid_t gid, struct cf_error *err)
{
	if (geteuid() != 0)
		return 0; /* nothing to give up: the tests' agents */
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: cannot become uid %u: %s", (unsigned)uid,
		    strerror(errno));
	if (setuid(0) != -1 || geteuid() == 0)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: still root after giving it up");
	return 0;
}

/* The filter: the calls above, mmap and mprotect without PROT_EXEC,
 * open and openat answered EACCES (OpenSSL takes that as "no such
 * file"), and any other call ends the process. */
static int
load_filter(struct cf_error *err)
{
	scmp_filter_ctx sc;
	size_t i;
	int e = 0;

	if ((sc = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return cf_errorf(
		    err, CF_E_INTERNAL, "parser process: seccomp_init failed");
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && e == 0; i++)
		e = seccomp_rule_add(sc, SCMP_ACT_ALLOW, allowed[i], 0);
	if (e == 0)
		e = seccomp_rule_add(sc, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (e == 0)
		e = seccomp_rule_add(sc, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (e == 0)
		e = seccomp_rule_add(
		    sc, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (e == 0)
		e = seccomp_rule_add(
		    sc, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (e == 0)
		e = seccomp_load(sc);
	seccomp_release(sc);
	if (e != 0)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: seccomp filter: %s", strerror(-e));
	return 0;
}

int
parser_sandbox(struct cf_error *err)
{
	struct rlimit none = {0, 0}, files = {PARSER_FILES, PARSER_FILES};
	struct rlimit cpu = {PARSER_CPU_S, PARSER_CPU_S};
	uid_t uid;
	gid_t gid;

	preload_openssl();
	find_nobody(&uid, &gid);
	/* Whatever the spawner or the C library left open: only the
	 * socket to the agent stays. */
	if (close_range(1, ~0U, 0) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: close_range: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &none) == -1 ||
	    setrlimit(RLIMIT_NOFILE, &files) == -1 ||
	    setrlimit(RLIMIT_CPU, &cpu) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: limits: %s", strerror(errno));
	if (drop_root(uid, gid, err) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return cf_errorf(err, CF_E_INTERNAL,
		    "parser process: no_new_privs: %s", strerror(errno));
	return load_filter(err);
}
