/*
 * copy.c - one certificate from one agent to others: see copy.h.
 *
 * The password is 256 random bits made here; it exists only in this
 * process and inside the mutual-TLS sessions, never on disk or screen,
 * and is wiped after use.  The PKCS#12 in between never touches the disk
 * either.  A key that is not exportable goes sealed agent to agent, the
 * admin's client only carrying sealed bytes, or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"
#include "copy.h"

int
copy_open_agents(const char *op, const char *list, struct backend **b)
{
	const char *server = cli.server, *store = cli.store;
	int rc;

	cli.server = list;
	cli.store = NULL;
	rc = backend_open(op, b);
	cli.server = server;
	cli.store = store;
	return rc;
}

/* A one-time password: 256 random bits as 64 hex digits. */
static struct cf_secret *
one_time_password(void)
{
	unsigned char raw[32];
	char hex[65];
	struct cf_secret *s;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	cf_hex_upper(raw, sizeof(raw), hex);
	s = cf_secret_new(hex, 64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	return s;
}

/* The names of the targets to do, comma-separated (new): the export's
 * audit on the source names them. */
static char *
target_names(struct backend *dst, const struct backend_reply *r)
{
	char *names = xstrdup(""), *joined;
	size_t i;

	for (i = 0; i < backend_count(dst); i++) {
		if (!r[i].todo)
			continue;
		joined = xasprintf("%s%s%s", names, names[0] ? "," : "",
		    backend_server(dst, i));
		free(names);
		names = joined;
	}
	return names;
}

/* Exports under a one-time password, imports on the targets to do. */
static int
plain_copy(struct backend *src, struct backend *dst, const struct copy_job *job,
    struct backend_reply *r, struct cf_error *err)
{
	struct cf_secret *pw = one_time_password();
	struct backend_reply *ex = backend_replies_new(src);
	struct backend_req req;
	struct cf_input in;
	char name[64], *targets = target_names(dst, r);
	int rc = -1;

	memset(&req, 0, sizeof(req));
	req.arg = job->v->thumbprint;
	req.export.format = CF_EXPORT_P12;
	req.export.transfer = 1;
	req.export.password = pw->data;
	req.export.targets = targets;
	backend_run(src, BACKEND_EXPORT, &req, ex);
	if (ex[0].err.code != CF_OK) {
		*err = ex[0].err;
		goto out;
	}
	snprintf(name, sizeof(name), "%.8s.p12 (copy from %s)",
	    job->v->thumbprint, job->from);
	in.name = name;
	in.data = ex[0].data.data;
	in.len = ex[0].data.len;
	memset(&req, 0, sizeof(req));
	req.in = &in;
	req.nin = 1;
	req.import.password = pw->data;
	req.import.exportable =
	    job->exportable >= 0 ? job->exportable : job->v->exportable;
	req.import.friendly_name =
	    job->v->friendly_name[0] ? job->v->friendly_name : NULL;
	req.import.services = job->services;
	req.import.force = job->services != NULL;
	req.import.skip_missing = 1;
	backend_run(dst, BACKEND_IMPORT, &req, r);
	rc = 0;
out:
	free(targets);
	cf_secret_free(pw);
	backend_replies_free(ex, 1); /* the PKCS#12 is wiped */
	return rc;
}

/*
 * The key is not exportable: the source seals it to the targets'
 * identities (whoami gives their certificates) and the targets open it.
 * A target that did not answer whoami fails with its error.
 */
static int
sealed_copy(struct backend *src, struct backend *dst,
    const struct copy_job *job, struct backend_reply *r, struct cf_error *err)
{
	struct backend_reply *who = backend_replies_new(dst), *ex = NULL;
	struct backend_req req;
	const char **pems = xcalloc(backend_count(dst) + 1, sizeof(*pems));
	size_t i, n = 0;
	int rc = -1;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < backend_count(dst); i++)
		who[i].todo = r[i].todo;
	backend_run(dst, BACKEND_WHOAMI, &req, who);
	for (i = 0; i < backend_count(dst); i++) {
		if (!r[i].todo)
			continue;
		if (who[i].err.code != CF_OK) { /* not reached: say why */
			r[i].todo = 0;
			r[i].err = who[i].err;
		} else if (who[i].data.len > 0)
			pems[n++] = (const char *)who[i].data.data;
	}
	req.arg = job->v->thumbprint;
	req.recipients = pems;
	req.nrecipients = n;
	ex = backend_replies_new(src);
	if (n > 0)
		backend_run(src, BACKEND_EXPORT_SEALED, &req, ex);
	if (n > 0 && ex[0].err.code != CF_OK) {
		*err = ex[0].err;
		goto out;
	}
	req.sealed = &ex[0].data;
	req.import.services = job->services;
	req.import.force = job->services != NULL;
	req.import.skip_missing = 1;
	if (n > 0)
		backend_run(dst, BACKEND_IMPORT_SEALED, &req, r);
	rc = 0;
out:
	backend_replies_free(ex, 1);
	backend_replies_free(who, backend_count(dst));
	free(pems);
	return rc;
}

int
copy_run(struct backend *src, struct backend *dst, const struct copy_job *job,
    struct backend_reply *r, int *sealed, struct cf_error *err)
{
	cf_error_clear(err);
	if (sealed != NULL)
		*sealed = !job->v->exportable;
	if (job->v->exportable)
		return plain_copy(src, dst, job, r, err);
	return sealed_copy(src, dst, job, r, err);
}
