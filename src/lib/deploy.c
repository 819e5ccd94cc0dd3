/*
 * deploy.c - deploying a certificate's files to a service and undoing
 * it: see deploy.h.  Rendering the files (cf_render) is in
 * deploy_render.c, the file I/O (save, atomic write, restore) in
 * deploy_files.c, the commands (cf_run_command) in deploy_cmd.c, the
 * check that proves the files are served (cf_service_check) in
 * deploy_check.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cert.h"
#include "deploy.h"
#include "deploy_files.h"
#include "util.h"

/*
 * A service whose files already hold the certificate is asked this long
 * whether it serves it, before it is activated again: it either serves
 * it at once or missed its reload.
 */
#define REFRESH_LOOK_MS 5000

/* ---- what a file holds ----------------------------------------------- */

/*
 * The thumbprint and notAfter (may be NULL) of the first certificate in
 * the PEM text p: 1, or 0 when there is none.  p may hold a key: it is
 * read in place, not copied.
 */
static int
pem_leaf(
    const char *p, size_t len, char thumb[CF_THUMB_LEN + 1], time_t *not_after)
{
	BIO *b = NULL;
	X509 *x = NULL;
	struct tm tm;

	thumb[0] = '\0';
	if (len == 0 || len > INT_MAX ||
	    (b = BIO_new_mem_buf(p, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		BIO_free(b);
		return 0;
	}
	cf_cert_thumbprint(x, thumb);
	if (not_after != NULL)
		*not_after = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1
				 ? timegm(&tm)
				 : 0;
	X509_free(x);
	BIO_free(b);
	return 1;
}

/*
 * Read through deploy_files.c: a combined file holds a key to wipe, and
 * no link is followed (what a service has is what is at its path).
 */
int
cf_file_leaf(const char *path, char thumb[CF_THUMB_LEN + 1], time_t *not_after,
    struct cf_error *err)
{
	struct cf_secret *s = NULL;
	struct stat st;
	int r;

	thumb[0] = '\0';
	if (not_after != NULL)
		*not_after = 0;
	if ((r = cf_dfile_read(path, NULL, &s, &st, err)) != 1)
		return r;
	r = pem_leaf(s->data, s->len, thumb, not_after);
	cf_secret_free(s);
	return r;
}

/* ---- deploying ------------------------------------------------------ */

/* The files a service may take, in the order they are written. */
enum { F_CHAIN, F_KEY, F_PEM, F_COUNT };

/* One file to write: path NULL when the service does not use it. */
struct target {
	const char *path;
	const char *data;
	size_t len;
	unsigned mode;
};

/* One service a deployment changed, and what it had before. */
struct deployed {
	const struct cf_service *svc; /* lent */
	struct cf_dfile files[F_COUNT];
	char prev[CF_THUMB_LEN + 1]; /* served before; "" when unknown */
	char *first_domain;          /* for the check's SNI; may be NULL */
};

struct cf_deploy {
	struct deployed *v;
	size_t n;
};

/* How far steps 3-6 went, for the rollback and the outcome. */
struct progress {
	int written;    /* files[0..written) were replaced */
	int activating; /* step 5 was reached: activate again on rollback */
	int activated;  /* step 5 did something (1) or had nothing to do */
	struct cf_probe probe;
};

/* What a rollback achieved. */
struct rollback {
	int activated;                 /* the service was activated again */
	char served[CF_THUMB_LEN + 1]; /* what the check saw; "" no check */
	struct cf_error err;           /* why it failed */
};

static int
timeout_of(const struct cf_service *svc)
{
	return svc->timeout_ms > 0 ? svc->timeout_ms : CF_DEPLOY_TIMEOUT_MS;
}

static const char *
activate_verb(const struct cf_service *svc)
{
	return svc->kind != NULL && svc->kind->activate ? "activated"
							: "reloaded";
}

struct cf_deploy *
cf_deploy_new(void)
{
	return xcalloc(1, sizeof(struct cf_deploy));
}

static void
deployed_clear(struct deployed *dp)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		cf_dfile_clear(&dp->files[i]);
	free(dp->first_domain);
	memset(dp, 0, sizeof(*dp));
}

void
cf_deploy_free(struct cf_deploy *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		deployed_clear(&d->v[i]);
	free(d->v);
	free(d);
}

/*
 * Makes svc use the files r describes: its kind's own way, else its
 * reload command.  1 when done, 0 when the service has neither, -1.
 */
static int
activate(const struct cf_service *svc, const struct cf_rendered *r,
    struct cf_error *err)
{
	if (svc->kind != NULL && svc->kind->activate != NULL)
		return svc->kind->activate(svc, r, err) == -1 ? -1 : 1;
	if (svc->reload != NULL)
		return cf_run_command("reload", svc->reload, svc,
			   timeout_of(svc), err) == -1
			   ? -1
			   : 1;
	return 0;
}

/*
 * Which of r's files svc gets, with their modes.  A service that takes a
 * key (or a combined file) needs r to have one.
 */
static int
targets(const struct cf_service *svc, const struct cf_rendered *r,
    struct target t[F_COUNT], struct cf_error *err)
{
	t[F_CHAIN] = (struct target){
	    svc->chain, r->chain, r->chain_len, svc->chain_mode};
	t[F_KEY] = (struct target){svc->key, r->key, r->key_len, svc->mode};
	t[F_PEM] = (struct target){svc->pem, r->pem, r->pem_len, svc->mode};
	if ((svc->key != NULL || svc->pem != NULL) && r->key == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "%s: no private key to write to %s", svc->name,
		    svc->key ? svc->key : svc->pem);
	return 0;
}

/*
 * The owner and group svc's files get: the section's, else the agent's
 * (root), never those of a file found at the path, which a user who
 * controls the directory may have put there.
 */
static uid_t
owner_of(const struct cf_service *svc)
{
	return svc->uid != (uid_t)-1 ? svc->uid : geteuid();
}

static gid_t
group_of(const struct cf_service *svc)
{
	return svc->gid != (gid_t)-1 ? svc->gid : getegid();
}

/* Who may control the directories of svc's files, besides root. */
static struct cf_dfile_trust
trust_of(const struct cf_service *svc)
{
	return (struct cf_dfile_trust){.uid = svc->uid, .gid = svc->gid};
}

/*
 * 1 when the saved file f already is what t writes: the same bytes
 * (compared in constant time: it may be a key), mode, owner and group.
 * A difference in mode or owner alone counts as a change: the file is
 * written again, new, which also takes a key file away from an owner
 * who should not have it.
 */
static int
same_file(const struct target *t, const struct cf_dfile *f,
    const struct cf_service *svc)
{
	if (!f->existed || f->bytes->len != t->len || f->mode != t->mode)
		return 0;
	if (f->uid != owner_of(svc) || f->gid != group_of(svc))
		return 0;
	return t->len == 0 ||
	       CRYPTO_memcmp(f->bytes->data, t->data, t->len) == 0;
}

/* The thumbprint of the saved file f into dp->prev, unless known. */
static void
prev_from(struct deployed *dp, const struct cf_dfile *f)
{
	if (dp->prev[0] == '\0' && f->existed)
		(void)pem_leaf(f->bytes->data, f->bytes->len, dp->prev, NULL);
}

/*
 * Saves the files svc uses into dp and takes the previous thumbprint off
 * the saved chain (or combined) file.  1 when every file already is as
 * t says (nothing to do), 0 otherwise, -1.
 */
static int
save_files(
    struct deployed *dp, const struct target t[F_COUNT], struct cf_error *err)
{
	struct cf_dfile_trust trust = trust_of(dp->svc);
	int i, all = 1;

	/* Every file is read, every directory checked, before any write. */
	for (i = 0; i < F_COUNT; i++) {
		if (t[i].path == NULL)
			continue;
		if (cf_dfile_save(t[i].path, &trust, &dp->files[i], err) == -1)
			return -1;
		if (!same_file(&t[i], &dp->files[i], dp->svc))
			all = 0;
	}
	/* a key file holds no certificate */
	prev_from(dp, &dp->files[F_CHAIN]);
	prev_from(dp, &dp->files[F_PEM]);
	return all;
}

/*
 * Writes the targets in order, owned by owner_of and group_of.
 * pr->written counts the files that may have been replaced, for the
 * rollback.
 */
static int
write_files(const struct deployed *dp, const struct target t[F_COUNT],
    struct progress *pr, struct cf_error *err)
{
	const struct cf_service *svc = dp->svc;
	struct cf_dfile_trust trust = trust_of(svc);
	struct cf_error e;
	int i;

	for (i = 0; i < F_COUNT; i++) {
		if (t[i].path == NULL)
			continue;
		/* Counted before the write: it may fail after its rename. */
		pr->written = i + 1;
		if (cf_dfile_write(t[i].path, &trust, t[i].data, t[i].len,
			t[i].mode, owner_of(svc), group_of(svc), &e) == -1)
			return cf_errorf(err, e.code, "write %s", e.msg);
	}
	return 0;
}

/* Steps 3-6 of deploy.h; pr says how far they went. */
static int
run_steps(const struct deployed *dp, const struct cf_rendered *r,
    const struct target t[F_COUNT], const char *thumb, struct progress *pr,
    struct cf_error *err)
{
	const struct cf_service *svc = dp->svc;

	if (write_files(dp, t, pr, err) == -1)
		return -1;
	if (svc->test != NULL && cf_run_command("config test", svc->test, svc,
				     timeout_of(svc), err) == -1)
		return -1;
	pr->activating = 1;
	if ((pr->activated = activate(svc, r, err)) == -1)
		return -1;
	return cf_service_check(
	    svc, dp->first_domain, thumb, timeout_of(svc), &pr->probe, err);
}

/* dp's saved files as a cf_rendered; dp keeps the bytes. */
static struct cf_rendered
saved_files(const struct deployed *dp)
{
	const struct cf_secret *c = dp->files[F_CHAIN].bytes;
	const struct cf_secret *k = dp->files[F_KEY].bytes;
	const struct cf_secret *p = dp->files[F_PEM].bytes;

	return (struct cf_rendered){
	    .chain = c != NULL ? c->data : NULL,
	    .chain_len = c != NULL ? c->len : 0,
	    .key = k != NULL ? k->data : NULL,
	    .key_len = k != NULL ? k->len : 0,
	    .pem = p != NULL ? p->data : NULL,
	    .pem_len = p != NULL ? p->len : 0,
	};
}

/*
 * Puts dp's first n files back; when reactivate, activates the service
 * again with them and checks it: for the previous thumbprint when the
 * saved files held a certificate, for any handshake when they held none,
 * not at all when no file existed (nothing was served from them).
 */
static int
rollback(const struct deployed *dp, int n, int reactivate, struct rollback *rb)
{
	const struct cf_service *svc = dp->svc;
	struct cf_rendered old;
	struct cf_probe p;
	struct cf_error e;
	int i, existed = 0, rc = 0;

	memset(rb, 0, sizeof(*rb));
	for (i = 0; i < F_COUNT; i++) {
		/* Every file is tried; the first failure is the one told. */
		if (i < n && cf_dfile_restore(&dp->files[i], &e) == -1 &&
		    rc++ == 0)
			rb->err = e;
		existed |= dp->files[i].existed;
	}
	if (rc != 0)
		return -1;
	if (!reactivate)
		return 0;
	old = saved_files(dp);
	if ((rb->activated = activate(svc, &old, &rb->err)) == -1)
		return -1;
	if (svc->check_host == NULL || !existed)
		return 0;
	rc = cf_service_check(svc, dp->first_domain,
	    dp->prev[0] ? dp->prev : NULL, timeout_of(svc), &p, &rb->err);
	if (rc == 0)
		memcpy(rb->served, p.thumbprint, sizeof(rb->served));
	cf_probe_clear(&p);
	return rc;
}

/*
 * The error of a failed deployment: "NAME: <step's error>; <what the
 * rollback left>".  The step's part is shortened when needed so that the
 * rollback's part, above all a ROLLBACK FAILED, always fits.
 */
static int
fail_msg(const struct deployed *dp, const struct cf_error *why, int rbrc,
    const struct rollback *rb, int reactivated, struct cf_error *err)
{
	const char *name = dp->svc->name, *verb = activate_verb(dp->svc);
	const char *back = "the previous files are back";
	char after[320], served[64] = "";
	int i, room;

	for (i = 0; i < F_COUNT && !dp->files[i].existed; i++)
		;
	if (i == F_COUNT)
		back = "the new files are removed";
	if (rb->served[0] != '\0')
		snprintf(served, sizeof(served), ": it serves %.8s%s",
		    rb->served, dp->prev[0] ? " again" : "");
	if (rbrc == -1)
		snprintf(after, sizeof(after),
		    "; ROLLBACK FAILED: %.200s; check %s by hand", rb->err.msg,
		    name);
	else if (!reactivated)
		snprintf(after, sizeof(after), "; %s, %s was not %s", back,
		    name, verb);
	else if (rb->activated)
		snprintf(after, sizeof(after), "; %s and %s was %s%s", back,
		    name, verb, served);
	else
		snprintf(after, sizeof(after), "; %s%s", back, served);
	room =
	    (int)sizeof(err->msg) - 3 - (int)strlen(name) - (int)strlen(after);
	return cf_errorf(err, why->code ? why->code : CF_E_IO, "%s: %.*s%s",
	    name, room > 80 ? room : 80, why->msg, after);
}

/* "deployed: files written, config tested, reloaded, serves X on H:P". */
static char *
outcome_new(const struct cf_service *svc, const struct progress *pr)
{
	char *check = NULL, *s;

	if (svc->check_host != NULL)
		check = xasprintf(strchr(svc->check_host, ':')
				      ? ", serves %.8s on [%s]:%s"
				      : ", serves %.8s on %s:%s",
		    pr->probe.thumbprint, svc->check_host, svc->check_port);
	s = xasprintf("deployed: files written%s%s%s%s",
	    svc->test ? ", config tested" : "", pr->activated ? ", " : "",
	    pr->activated ? activate_verb(svc) : "", check ? check : "");
	free(check);
	return s;
}

/*
 * The files already hold the certificate.  A service that serves it is
 * left alone ("unchanged": no reload).  One that serves something else
 * missed its reload (drift `certfleet services` reports): it is activated
 * and checked again.  The files are not touched either way, so there is
 * nothing to roll back.
 */
static int
refresh(const struct cf_service *svc, const struct cf_rendered *r,
    const char *thumb, const char *first_domain, char **outcome,
    struct cf_error *err)
{
	struct cf_probe was, now;
	struct cf_error why;
	int t = timeout_of(svc) < REFRESH_LOOK_MS ? timeout_of(svc)
						  : REFRESH_LOOK_MS;
	int rc = -1;

	memset(&was, 0, sizeof(was));
	memset(&now, 0, sizeof(now));
	if (cf_service_check(svc, first_domain, thumb, t, &was, &why) == 0) {
		cf_probe_clear(&was);
		*outcome = xstrdup("unchanged");
		return 0;
	}
	if (activate(svc, r, &why) == -1 ||
	    cf_service_check(
		svc, first_domain, thumb, timeout_of(svc), &now, &why) == -1)
		cf_errorf(err, why.code ? why.code : CF_E_IO,
		    "%s: its files already hold %.8s but it served %.8s; %s "
		    "again: %.300s",
		    svc->name, thumb, was.thumbprint[0] ? was.thumbprint : "?",
		    activate_verb(svc), why.msg);
	else {
		*outcome = xasprintf("files unchanged, but it served %.8s: %s, "
				     "serves %.8s",
		    was.thumbprint[0] ? was.thumbprint : "nothing",
		    activate_verb(svc), now.thumbprint);
		rc = 0;
	}
	cf_probe_clear(&was);
	cf_probe_clear(&now);
	return rc;
}

/*
 * Steps 1 and 2 here (render is the caller's; save and compare), 3-6 in
 * run_steps; on failure the rollback, on success dp joins d.
 */
static void (*observer)(const char *kind, const char *outcome);

void
cf_deploy_set_observer(void (*fn)(const char *kind, const char *outcome))
{
	observer = fn;
}

/* Tells the observer, when there is one. */
static void
observe(const char *kind, const char *outcome)
{
	if (observer != NULL)
		observer(kind, outcome);
}

int
cf_deploy_service(struct cf_deploy *d, const struct cf_service *svc,
    const struct cf_rendered *r, const char *thumb, const char *first_domain,
    char **outcome, struct cf_error *err)
{
	struct target t[F_COUNT];
	struct deployed dp = {0};
	struct progress pr = {0};
	struct rollback rb;
	struct cf_error why;
	int same = 0, rbrc, rc = -1;

	*outcome = NULL;
	dp.svc = svc;
	if (targets(svc, r, t, err) == -1)
		goto out;
	if ((same = save_files(&dp, t, &why)) == -1) {
		cf_errorf(err, why.code, "%s: read %s", svc->name, why.msg);
		goto out;
	}
	if (same) {
		rc = refresh(svc, r, thumb, first_domain, outcome, err);
		goto out;
	}
	dp.first_domain = first_domain ? xstrdup(first_domain) : NULL;
	if (run_steps(&dp, r, t, thumb, &pr, &why) == -1) {
		rbrc = rollback(&dp, pr.written, pr.activating, &rb);
		observe("rollback", rbrc == -1 ? "failed" : "ok");
		fail_msg(&dp, &why, rbrc, &rb, pr.activating, err);
		goto out;
	}
	*outcome = outcome_new(svc, &pr);
	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n++] = dp;
	memset(&dp, 0, sizeof(dp));
	rc = 0;
out:
	observe("deploy", rc == -1 ? "failed"
			  : same   ? "unchanged"
				   : "deployed");
	cf_probe_clear(&pr.probe);
	deployed_clear(&dp);
	return rc;
}

/*
 * Rolls back every deployed service, the last first, and forgets them:
 * a second undo has nothing to do.  The report is "" when d changed
 * nothing.
 */
void
cf_deploy_undo(struct cf_deploy *d, char **report)
{
	char *s = xstrdup(""), *line, *joined;
	const char *name;
	struct rollback rb;
	size_t i;
	int rbrc;

	for (i = d ? d->n : 0; i-- > 0;) {
		name = d->v[i].svc->name;
		rbrc = rollback(&d->v[i], F_COUNT, 1, &rb);
		observe("rollback", rbrc == -1 ? "failed" : "ok");
		if (rbrc == -1)
			line = xasprintf("%s: ROLLBACK FAILED: %s; check %s by "
					 "hand",
			    name, rb.err.msg, name);
		else if (rb.served[0] != '\0')
			line = xasprintf("%s back on %.8s", name, rb.served);
		else
			line = xasprintf("%s back to its previous files", name);
		joined = xasprintf("%s%s%s", s, s[0] ? "; " : "", line);
		free(s);
		free(line);
		s = joined;
		deployed_clear(&d->v[i]);
	}
	if (d != NULL)
		d->n = 0;
	*report = s;
}

void
cf_deploy_abort(struct cf_deploy *d, struct cf_error *err)
{
	char *report = NULL;

	if (d == NULL)
		return;
	cf_deploy_undo(d, &report);
	if (report[0] != '\0')
		cf_error_append(err, "; undone: %s", report);
	free(report);
}
