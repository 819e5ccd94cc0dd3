/*
 * deploy.h - putting a certificate into a service and proving it is
 * served, or putting everything back as it was.
 *
 * One deployment of a certificate to a service:
 *   1. the files are rendered (cf_render); when every one of them already
 *      holds exactly those bytes, the outcome is "unchanged" and nothing
 *      is written, tested or reloaded;
 *   2. the files as they are now are saved in memory: bytes, mode, owner,
 *      or that they did not exist;
 *   3. each file is written atomically: a new temporary file (O_EXCL)
 *      in the same directory, fchown and fchmod, write, fsync, rename,
 *      fsync of the directory.  The directory is opened component by
 *      component without following a link, and refused (at step 2,
 *      before anything is written) when a user other than root and the
 *      section's owner could change it (deploy_files.h).  The files are
 *      owned by the section's owner and group, else by the agent's,
 *      never by whoever owned what was at the path;
 *   4. the service's config test runs (when it has one);
 *   5. the service is activated: its kind's own way (haproxy's runtime
 *      API) or its reload command;
 *   6. the check endpoint is asked by real handshakes, again until the
 *      new thumbprint is served or the timeout passes.
 * When a step fails the saved files are put back (byte-identical, same
 * mode and owner; a file that did not exist is removed), the service is
 * activated again if step 5 had been reached, and the check is repeated
 * for the previous certificate.  The error then names the step, its
 * reason, and what the service serves now.
 *
 * A cf_deploy collects the deployments of one operation, so a failure of
 * the third service can undo the first two.
 */
#ifndef CF_DEPLOY_H
#define CF_DEPLOY_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"
#include "service.h"

/* How long a command or a check may take when the section says nothing. */
#define CF_DEPLOY_TIMEOUT_MS 20000

/*
 * Renders the files of a certificate: leaf, then chain (issuer first;
 * a self-signed top is left out, as servers send it to nobody), then the
 * key as unencrypted PKCS#8.  key may be NULL (chain only).
 */
int cf_render(X509 *leaf, STACK_OF(X509) * chain, EVP_PKEY *key,
    struct cf_rendered *out, struct cf_error *err);

struct cf_deploy;

struct cf_deploy *cf_deploy_new(void);
/* Keeps what was deployed; wipes the saved copies.  NULL-safe. */
void cf_deploy_free(struct cf_deploy *d);

/*
 * Deploys r (the files of certificate thumb, whose first DNS name is
 * first_domain, may be NULL) to svc as above.  *outcome (new) says what
 * happened: "unchanged", or "deployed: files written, reloaded, serves
 * 1A2B3C4D on 127.0.0.1:443".  On failure svc is already back as it was
 * and err says so; the services deployed before stay for cf_deploy_undo.
 */
int cf_deploy_service(struct cf_deploy *d, const struct cf_service *svc,
    const struct cf_rendered *r, const char *thumb, const char *first_domain,
    char **outcome, struct cf_error *err);

/*
 * Sets fn to be told of every deploy and rollback in this process: kind
 * "deploy" with outcome "deployed", "unchanged" or "failed" (the
 * service put back, or not), and kind "rollback" with "ok" or "failed"
 * for each service put back (after a failed step, or by
 * cf_deploy_undo).  For certfleetd's counters (docs/metrics.md); set
 * once, before any thread deploys.  NULL: no one is told.
 */
void cf_deploy_set_observer(void (*fn)(const char *kind, const char *outcome));

/*
 * Puts back every service d changed, the last first, activating and
 * checking each again; *report (new) says per service what it serves
 * now ("https back on 1A2B3C4D"), or what failed while undoing.  d is
 * empty afterwards: a second call does nothing and reports "".
 */
void cf_deploy_undo(struct cf_deploy *d, char **report);

/*
 * For an operation that failed with err after deploying through d (may be
 * NULL): cf_deploy_undo, with "; undone: <report>" added to err's message
 * when anything was undone.
 */
void cf_deploy_abort(struct cf_deploy *d, struct cf_error *err);

/*
 * Runs cmd, a command of svc, with /bin/sh -c in /, stdin from /dev/null,
 * for at most timeout_ms (then its process group is killed).  Not with
 * the agent's environment: PATH and LANG (fixed, unless svc's env names
 * them) and svc's env; as svc's run_as user (its groups too) when set.
 * svc may be NULL: PATH and LANG, as the agent's user.  -1 with CF_E_IO
 * when it cannot run, times out or exits non-zero: "<what> failed (exit
 * status 1): <the last line or two of its output>".
 */
int cf_run_command(const char *what, const char *cmd,
    const struct cf_service *svc, int timeout_ms, struct cf_error *err);

/*
 * The thumbprint and notAfter of the first certificate in the PEM file
 * at path.  1 when found; 0 when the file is missing or holds no
 * certificate (thumb ""); -1 with err when it cannot be read.
 */
int cf_file_leaf(const char *path, char thumb[CF_THUMB_LEN + 1],
    time_t *not_after, struct cf_error *err);

/*
 * Handshakes with svc's check endpoint until it serves want (when want is
 * not NULL) or timeout_ms passes; the last probe into *out (cleared by
 * the caller).  -1 with err naming the endpoint and what was served
 * instead, or why no handshake succeeded.
 */
int cf_service_check(const struct cf_service *svc, const char *first_domain,
    const char *want, int timeout_ms, struct cf_probe *out,
    struct cf_error *err);

#endif
