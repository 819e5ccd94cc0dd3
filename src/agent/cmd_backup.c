/*
 * cmd_backup.c - certfleetd backup: the store, as of one moment, and the
 * agent's identity, in one file (backup.h), taken while the agent runs.
 *
 * The store is read through SQLite alone (a read-only connection and the
 * online backup API), so the backup neither needs nor disturbs whatever
 * lock a running agent holds, and sees one committed state of it.  The
 * master key goes in only with --with-master-key, encrypted under a
 * passphrase read as any password (never argv).  docs/backup.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "agent.h"
#include "backup.h"
#include "identity.h"
#include "password.h"
#include "util.h"
#include "view.h"

#define IDENTITY_MAX (64 * 1024)

struct backup_opts {
	const char *copt, *out, *pwfile;
	int with_master;
};

static int
backup_usage(FILE *f)
{
	fprintf(f, "Usage: certfleetd backup -o FILE [--with-master-key "
		   "[--password-file FILE]] [--config FILE]\n");
	return f == stdout ? 0 : 2;
}

/* The options into o; -1 after usage or --help, with *status set. */
static int
backup_args(int argc, char **argv, struct backup_opts *o, int *status)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS,
	    {"output", required_argument, NULL, 'o'},
	    {"with-master-key", no_argument, NULL, 'm'},
	    {"password-file", required_argument, NULL, 'W'}, {0}};
	int ch;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		if (ch == 'c')
			o->copt = optarg;
		else if (ch == 'o')
			o->out = optarg;
		else if (ch == 'm')
			o->with_master = 1;
		else if (ch == 'W')
			o->pwfile = optarg;
		else if (ch == 'h') {
			*status = backup_usage(stdout);
			return -1;
		} else {
			*status = agent_bad_option("backup", ch, argv);
			return -1;
		}
	}
	*status = 2;
	if (optind != argc) {
		agent_usage("backup", "unexpected argument %s", argv[optind]);
		return -1;
	}
	if (o->out == NULL) {
		agent_usage("backup", "give the file to write: -o FILE");
		return -1;
	}
	if (o->pwfile != NULL && !o->with_master) {
		agent_usage("backup",
		    "--password-file is the passphrase of "
		    "--with-master-key; give both or neither");
		return -1;
	}
	return 0;
}

/* The passphrase for the master key: asked twice on a terminal; never
 * empty. */
static int
backup_passphrase(
    const char *pwfile, struct cf_secret **pass, struct cf_error *err)
{
	if (cf_password(pwfile, 1, 1, "Passphrase for the master key: ", pass,
		err) == -1)
		return -1;
	if (*pass == NULL)
		return cf_errorf(err, CF_E_PASSWORD,
		    "--with-master-key needs a passphrase: type it at the "
		    "prompt, or give --password-file FILE or "
		    "CERTFLEET_PASSWORD");
	if ((*pass)->len == 0) {
		cf_secret_free(*pass);
		*pass = NULL;
		return cf_errorf(err, CF_E_USAGE,
		    "an empty passphrase would leave the master key open; "
		    "choose one");
	}
	return 0;
}

/* agent.crt and agent.key into b, the identity's fingerprint into fp. */
static int
backup_identity(const struct agent_config *c, struct cf_backup *b,
    char fp[CF_FP_LEN + 1], struct cf_error *err)
{
	char *crt = agent_state_path(c, AGENT_CERT_FILE);
	char *key = agent_state_path(c, AGENT_KEY_FILE);
	struct cf_buf k = {0};
	X509 *x = NULL;
	BIO *bio;
	int rc = -1;

	if (cf_read_file(crt, IDENTITY_MAX, &b->cert, err) == -1 ||
	    cf_read_file(key, IDENTITY_MAX, &k, err) == -1)
		goto out;
	b->key = cf_secret_new(k.data, k.len);
	if ((bio = BIO_new_mem_buf(b->cert.data, (int)b->cert.len)) == NULL)
		abort();
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL) {
		cf_errorf_ossl(
		    err, CF_E_PARSE, "%s: not a PEM certificate", crt);
		goto out;
	}
	cf_cert_fingerprint(x, fp);
	rc = 0;
out:
	X509_free(x);
	if (k.data != NULL)
		OPENSSL_cleanse(k.data, k.len);
	cf_buf_clear(&k);
	free(crt);
	free(key);
	return rc;
}

/* The META record: what the backup is of, as JSON text (new); NULL
 * when it cannot be encoded.  The name comes from agent.conf: any
 * bytes, hence cf_json_string. */
static char *
backup_meta(
    const struct agent_config *c, const char *fp, int schema, int with_master)
{
	char now[21], *text;
	json_t *j;

	cf_time_iso(time(NULL), now);
	j = json_pack("{s:o, s:s, s:s, s:i, s:s, s:b}", "Agent",
	    cf_json_string(c->name), "Fingerprint", fp, "Created", now,
	    "SchemaVersion", schema, "Certfleet", CFD_VERSION, "MasterKey",
	    with_master);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

/* Records the backup in the store's audit trail.  The backup stands
 * whether or not this works: it only says so. */
static void
backup_audit(const struct agent_config *c, const char *file, int with_master)
{
	char *dir = agent_state_path(c, AGENT_STORE_DIR);
	char *outcome = xasprintf("written to %s, master key %s", file,
	    with_master ? "included (under a passphrase)" : "not included");
	struct cf_store *s;
	struct cf_error err;

	cf_error_clear(&err);
	if ((s = cf_store_open(dir, &err)) == NULL ||
	    cf_store_audit(
		s, agent_local_actor(), "backup", "", outcome, &err) == -1)
		fprintf(stderr,
		    "certfleetd: backup: warning: not recorded in the audit "
		    "trail: %s\n",
		    err.msg);
	cf_store_free(s);
	free(outcome);
	free(dir);
}

int
cmd_backup(int argc, char **argv)
{
	struct backup_opts o;
	struct agent_config *c = NULL;
	struct cf_seal *seal = NULL;
	struct cf_secret *pass = NULL;
	struct cf_backup b;
	struct cf_buf file = {0};
	struct cf_error err;
	char fp[CF_FP_LEN + 1], *path = NULL;
	int schema = 0, rc;

	memset(&b, 0, sizeof(b));
	if (backup_args(argc, argv, &o, &rc) == -1)
		return rc;
	rc = 1;
	cf_error_clear(&err);
	if ((c = agent_open_config("backup", o.copt, NULL, NULL)) == NULL ||
	    !agent_initialized("backup", c))
		goto out;
	path =
	    xasprintf("%s/%s/%s", c->state, AGENT_STORE_DIR, CF_STORE_KEYFILE);
	if ((seal = cf_seal_load(path, &err)) == NULL ||
	    backup_identity(c, &b, fp, &err) == -1 ||
	    (o.with_master && backup_passphrase(o.pwfile, &pass, &err) == -1))
		goto fail;
	free(path);
	path = xasprintf("%s/%s/%s", c->state, AGENT_STORE_DIR, CF_STORE_DB);
	if (cf_backup_snapshot(path, &b.store, &schema, &err) == -1)
		goto fail;
	if ((b.meta = backup_meta(c, fp, schema, o.with_master)) == NULL) {
		cf_errorf(&err, CF_E_INTERNAL,
		    "the backup's description could not be encoded as JSON");
		goto fail;
	}
	if (cf_backup_write(&b, seal, pass, &file, &err) == -1 ||
	    cf_write_file_atomic(o.out, file.data, file.len, 0600, &err) == -1)
		goto fail;
	backup_audit(c, o.out, o.with_master);
	printf("%s: backup of %s (store %zu bytes, identity %s)\n", o.out,
	    c->name, b.store.len, fp);
	if (o.with_master)
		printf("master key included, under the passphrase\n");
	else
		printf("master key not included: restoring needs "
		       "%s/%s/%s; keep a copy of it apart from the backups\n",
		    c->state, AGENT_STORE_DIR, CF_STORE_KEYFILE);
	rc = 0;
	goto out;
fail:
	rc = agent_fail("backup", &err);
out:
	cf_buf_clear(&file);
	cf_backup_clear(&b);
	cf_secret_free(pass);
	cf_seal_free(seal);
	free(path);
	agent_config_free(c);
	return rc;
}
