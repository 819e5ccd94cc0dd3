/*
 * cmd_restore.c - certfleetd restore: a backup (backup.h) back into an
 * empty state directory, while no agent runs.
 *
 * Everything is checked before anything is written: the file parses, the
 * master key (carried under a passphrase, or given as a file) is the one
 * the backup was made under (its HMAC), the identity key opens and is
 * the certificate's.  Then the files go in; if one fails, every file
 * made is removed again, so a failed restore leaves the directory as it
 * found it.  The store keeps its flags, seals and audit trail as they
 * were: a restored key that was not exportable still is not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "agent.h"
#include "backup.h"
#include "identity.h"
#include "password.h"
#include "util.h"

struct restore_opts {
	const char *copt, *file, *pwfile, *master_key;
};

static int
restore_usage(FILE *f)
{
	fprintf(f, "Usage: certfleetd restore FILE [--master-key FILE] "
		   "[--password-file FILE] [--config FILE]\n");
	return f == stdout ? 0 : 2;
}

static int
restore_args(int argc, char **argv, struct restore_opts *o, int *status)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS,
	    {"master-key", required_argument, NULL, 'k'},
	    {"password-file", required_argument, NULL, 'W'}, {0}};
	int ch;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			o->copt = optarg;
		else if (ch == 'k')
			o->master_key = optarg;
		else if (ch == 'W')
			o->pwfile = optarg;
		else if (ch == 'h') {
			*status = restore_usage(stdout);
			return -1;
		} else {
			*status = agent_bad_option("restore", ch, argv);
			return -1;
		}
	}
	*status = 2;
	if (argc - optind != 1) {
		agent_usage("restore", "give one backup file");
		return -1;
	}
	o->file = argv[optind];
	return 0;
}

/* 1 when something accepts a connection at sa. */
static int
answers(int family, const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd == -1)
		return 0;
	live = connect(fd, sa, len) == 0;
	close(fd);
	return live;
}

/*
 * CF_E_CONFLICT when an agent runs with this configuration: its Unix
 * socket answers, or something answers on its (fixed) listen port.  The
 * socket is what the agent itself checks before it starts; an empty
 * state directory has no lock file to ask.
 */
static int
restore_check_idle(const struct agent_config *c, struct cf_error *err)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct sockaddr_un sun;
	char *host = xstrdup(c->listen), *port = strrchr(host, ':');
	int live = 0;

	if (c->socket != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->socket);
		if (answers(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun))) {
			free(host);
			return cf_errorf(err, CF_E_CONFLICT,
			    "an agent answers on %s: stop it first "
			    "(systemctl stop certfleetd)",
			    c->socket);
		}
	}
	*port++ = '\0';
	if (host[0] == '[') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (strcmp(port, "0") != 0 && getaddrinfo(host, port, &hints, &ai) == 0)
		for (a = ai; a != NULL && !live; a = a->ai_next)
			live = answers(a->ai_family, a->ai_addr, a->ai_addrlen);
	if (ai != NULL)
		freeaddrinfo(ai);
	free(host);
	if (live)
		return cf_errorf(err, CF_E_CONFLICT,
		    "something answers on %s, where this agent listens: stop "
		    "certfleetd first",
		    c->listen);
	return 0;
}

/* CF_E_CONFLICT unless dir is absent or empty; *exists says which. */
static int
restore_check_empty(const char *dir, int *exists, struct cf_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	*exists = d != NULL || errno != ENOENT;
	if (d == NULL)
		return errno == ENOENT ? 0
				       : cf_errorf(err, CF_E_IO, "state %s: %s",
					     dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			rc = cf_errorf(err, CF_E_CONFLICT,
			    "state %s is not empty (%s): a backup is restored "
			    "only into an empty state directory; move this one "
			    "aside first",
			    dir, e->d_name);
			break;
		}
	closedir(d);
	return rc;
}

/* The master key: --master-key FILE, else the backup's, under the
 * passphrase.  NULL after err. */
static struct cf_seal *
restore_master_key(const struct restore_opts *o, const struct cf_backup *b,
    struct cf_error *err)
{
	struct cf_secret *pass = NULL;
	struct cf_seal *seal = NULL;

	if (o->master_key != NULL)
		return cf_seal_load(o->master_key, err);
	if (b->wrapped.data == NULL) {
		cf_errorf(err, CF_E_DENIED,
		    "%s was made without --with-master-key: give the master "
		    "key of the agent it was made on (its store/%s) with "
		    "--master-key FILE; without it no private key in the "
		    "backup can be opened, so nothing is restored",
		    o->file, CF_STORE_KEYFILE);
		return NULL;
	}
	if (cf_password(o->pwfile, 1, 0,
		"Passphrase for the master key: ", &pass, err) == -1)
		return NULL;
	if (pass == NULL)
		cf_errorf(err, CF_E_PASSWORD,
		    "%s: the master key in it is under a passphrase: type it "
		    "at the prompt, or give --password-file FILE or "
		    "CERTFLEET_PASSWORD",
		    o->file);
	else
		seal = cf_backup_master_key(b, pass, err);
	cf_secret_free(pass);
	return seal;
}

/* The identity's key and certificate belong together; its fingerprint
 * into fp. */
static int
restore_check_identity(
    const struct cf_backup *b, char fp[CF_FP_LEN + 1], struct cf_error *err)
{
	BIO *cb = BIO_new_mem_buf(b->cert.data, (int)b->cert.len);
	BIO *kb = BIO_new_mem_buf(b->key->data, (int)b->key->len);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	int rc = 0;

	if (x == NULL || k == NULL || X509_check_private_key(x, k) != 1)
		rc = cf_errorf_ossl(err, CF_E_MISMATCH,
		    "the agent's identity in the backup is damaged (key and "
		    "certificate do not belong together)");
	else
		cf_cert_fingerprint(x, fp);
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

/* The files a restore makes, in the order made (removed in reverse). */
static const char *const made_files[] = {AGENT_CERT_FILE, AGENT_KEY_FILE,
    AGENT_STORE_DIR "/" CF_STORE_KEYFILE, AGENT_STORE_DIR "/" CF_STORE_DB,
    AGENT_STORE_DIR "/" CF_STORE_DB "-wal",
    AGENT_STORE_DIR "/" CF_STORE_DB "-shm"};
#define NMADE (sizeof(made_files) / sizeof(made_files[0]))

/* Removes what restore_write made under state (and state itself when
 * it did not exist before). */
static void
restore_undo(const char *state, int existed)
{
	char *p;
	size_t i;

	for (i = NMADE; i > 0; i--) {
		p = xasprintf("%s/%s", state, made_files[i - 1]);
		unlink(p);
		free(p);
	}
	p = xasprintf("%s/%s", state, AGENT_STORE_DIR);
	rmdir(p);
	free(p);
	if (!existed)
		rmdir(state);
}

/* Writes the identity, the master key and the store into state. */
static int
restore_write(const char *state, const struct cf_backup *b,
    const struct cf_seal *seal, struct cf_error *err)
{
	char *crt = xasprintf("%s/%s", state, AGENT_CERT_FILE);
	char *key = xasprintf("%s/%s", state, AGENT_KEY_FILE);
	char *dir = xasprintf("%s/%s", state, AGENT_STORE_DIR);
	char *mk = xasprintf("%s/%s", dir, CF_STORE_KEYFILE);
	char *db = xasprintf("%s/%s", dir, CF_STORE_DB);
	int rc = -1;

	if (cf_write_file_atomic(crt, b->cert.data, b->cert.len, 0644, err) ==
		-1 ||
	    cf_write_file_atomic(key, b->key->data, b->key->len, 0600, err) ==
		-1)
		goto out;
	if (mkdir(dir, 0700) == -1) {
		cf_errorf(err, CF_E_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (cf_seal_save(seal, mk, err) == -1 ||
	    cf_write_file_atomic(db, b->store.data, b->store.len, 0600, err) ==
		-1)
		goto out;
	rc = 0;
out:
	free(crt);
	free(key);
	free(dir);
	free(mk);
	free(db);
	return rc;
}

/* Opens the restored store (schema migrated if the backup is older),
 * records the restore, counts its certificates into *n. */
static int
restore_finish(
    const char *state, const char *file, size_t *n, struct cf_error *err)
{
	char *dir = xasprintf("%s/%s", state, AGENT_STORE_DIR);
	char *outcome = xasprintf("restored from %s", file);
	struct cf_store *s = NULL;
	struct cf_row *rows = NULL;
	int rc = -1;

	*n = 0;
	if ((s = cf_store_open(dir, err)) == NULL ||
	    cf_store_list(s, CF_END, NULL, 0, &rows, n, err) == -1 ||
	    cf_store_audit(
		s, agent_local_actor(), "restore", "", outcome, err) == -1)
		goto out;
	rc = 0;
out:
	cf_rows_free(rows, *n);
	cf_store_free(s);
	free(outcome);
	free(dir);
	return rc;
}

/* The agent's name in the backup's META, new; "" when absent. */
static char *
meta_agent(const char *meta)
{
	json_t *j = json_loads(meta, 0, NULL);
	const char *name = json_string_value(json_object_get(j, "Agent"));
	char *out = xstrdup(name ? name : "");

	json_decref(j);
	return out;
}

/* Checks and writes, with the state directory locked against a second
 * restore. */
static int
restore_into(const struct restore_opts *o, const struct agent_config *c,
    struct cf_backup *b, const struct cf_buf *data, struct cf_error *err)
{
	struct cf_seal *seal = NULL;
	char fp[CF_FP_LEN + 1], *from = meta_agent(b->meta);
	size_t n = 0;
	int existed, again, fd = -1, rc = -1;

	if (restore_check_idle(c, err) == -1 ||
	    restore_check_empty(c->state, &existed, err) == -1 ||
	    (seal = restore_master_key(o, b, err)) == NULL ||
	    cf_backup_open(b, data->data, seal, err) == -1 ||
	    restore_check_identity(b, fp, err) == -1 ||
	    agent_make_state_dir(c->state, err) == -1)
		goto out;
	if ((fd = open(c->state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(fd, LOCK_EX | LOCK_NB) == -1) {
		/* Not undone: the files there are the other's. */
		cf_errorf(err, CF_E_CONFLICT, "state %s: %s", c->state,
		    errno == EWOULDBLOCK ? "another process holds it"
					 : strerror(errno));
		goto out;
	}
	/* Checked again under the lock: another restore may have won. */
	if (restore_check_empty(c->state, &again, err) == -1)
		goto out;
	if (restore_write(c->state, b, seal, err) == -1 ||
	    restore_finish(c->state, o->file, &n, err) == -1)
		goto undo;
	printf("%s: restored into %s: agent %s, identity %s, "
	       "certificates: %zu\n",
	    o->file, c->state, from, fp, n);
	if (strcmp(from, c->name) != 0)
		printf("note: the backup is of agent %s; this configuration "
		       "names it %s\n",
		    from, c->name);
	rc = 0;
	goto out;
undo:
	restore_undo(c->state, existed);
out:
	if (fd != -1)
		close(fd);
	cf_seal_free(seal);
	free(from);
	return rc;
}

int
cmd_restore(int argc, char **argv)
{
	struct restore_opts o;
	struct agent_config *c = NULL;
	struct cf_backup b;
	struct cf_buf data = {0};
	struct cf_error err;
	int rc;

	memset(&b, 0, sizeof(b));
	if (restore_args(argc, argv, &o, &rc) == -1)
		return rc;
	rc = 1;
	cf_error_clear(&err);
	if ((c = agent_open_config("restore", o.copt, NULL, NULL)) == NULL)
		goto out;
	if (cf_read_file(o.file, CF_BACKUP_MAX, &data, &err) == -1)
		goto fail;
	if (cf_backup_read(data.data, data.len, &b, &err) == -1) {
		cf_error_prefix(&err, "%s: ", o.file);
		goto fail;
	}
	if (restore_into(&o, c, &b, &data, &err) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = agent_fail("restore", &err);
out:
	cf_backup_clear(&b);
	cf_buf_clear(&data);
	agent_config_free(c);
	return rc;
}
