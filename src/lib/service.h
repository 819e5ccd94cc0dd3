/*
 * service.h - the services of one host: the real programs that present a
 * certificate (nginx, haproxy, postfix, dovecot, or any program that reads
 * certificate files), as [service NAME] sections of the agent's
 * configuration describe them.  `enable` deploys to them (deploy.h).
 *
 * The names https (alias IIS), smtp, imap and pop always exist, like
 * Exchange's IIS, SMTP, IMAP and POP; a section may describe one of them
 * or add a name of its own.  A name without a section can still be
 * assigned: the store records it and nothing is deployed.
 *
 * Kinds are an ops table, one file per kind (svc_<kind>.c); adding one is
 * a new file and one line in service.c.
 */
#ifndef CF_SERVICE_H
#define CF_SERVICE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "probe.h"

#define CF_SERVICE_NAME_MAX 32 /* with the NUL */

struct cf_service;

/* The files of one deployment, as rendered from a certificate. */
struct cf_rendered {
	char *chain; /* leaf then intermediates, PEM */
	size_t chain_len;
	char *key; /* unencrypted PKCS#8 PEM (secret: wiped on clear) */
	size_t key_len;
	char *pem; /* chain then key, for a single combined file */
	size_t pem_len;
};
void cf_rendered_clear(struct cf_rendered *r); /* wipes key and pem */

/* One kind of service: its defaults and how it takes new files. */
struct cf_service_kind {
	const char *name;   /* "nginx" */
	const char *test;   /* default config test command, or NULL */
	const char *reload; /* default reload command, or NULL */
	int combined;       /* reads one PEM file (key `pem`), not chain+key */
	/*
	 * Makes the running service use the files just written (r is what
	 * they hold).  NULL: run the service's reload command.
	 */
	int (*activate)(const struct cf_service *svc,
	    const struct cf_rendered *r, struct cf_error *err);
};

extern const struct cf_service_kind cf_kind_nginx, cf_kind_haproxy,
    cf_kind_postfix, cf_kind_dovecot, cf_kind_files;

/* One [service NAME] section; every path absolute. */
struct cf_service {
	char name[CF_SERVICE_NAME_MAX]; /* canonical ("https" for IIS) */
	const struct cf_service_kind *kind;
	char *chain, *key, *pem; /* files to write; NULL when not used */
	uid_t uid;               /* owner; (uid_t)-1: the agent's (root) */
	gid_t gid;               /* group; (gid_t)-1: the agent's (root) */
	unsigned mode;           /* of key and pem: default 0600 */
	unsigned chain_mode;     /* of chain: default 0644 */
	char *test;              /* config test command, or NULL: none */
	char *reload;            /* reload command, or NULL: none */
	char **env;              /* "NAME=VALUE" its commands get beside PATH
				    and LANG, NULL-terminated; NULL: none */
	char *run_as;            /* user its commands run as; NULL: the
				    agent's */
	uid_t run_uid;           /* run_as's uid and primary group */
	gid_t run_gid;
	char *runtime_api;             /* haproxy's admin socket, or NULL */
	char *check_host, *check_port; /* NULL: no handshake check */
	char *check_name; /* SNI; NULL: the certificate's first domain */
	enum cf_probe_proto proto; /* default by name: smtp, imap, pop, tls */
	int timeout_ms;            /* each command, and the check: 20000 */
	char *acme_webroot;        /* where the web server serves
				    * /.well-known/acme-challenge/ from (as
				    * WEBROOT/.well-known/acme-challenge/TOKEN);
				    * NULL: none */
};

/* The services of a host, in the order configured. */
struct cf_services;

struct cf_services *cf_services_new(void);
void cf_services_free(struct cf_services *c); /* NULL-safe */

/*
 * Starts the section of service name (canonicalized); NULL with
 * CF_E_USAGE for a bad name or one given twice.  Lent: c owns it.
 */
struct cf_service *cf_services_add(
    struct cf_services *c, const char *name, struct cf_error *err);

/*
 * Sets key of a section to value: kind, chain, key, pem, owner, group,
 * mode, chain_mode, test, reload, env, run_as, runtime_api, check, name,
 * protocol, timeout, acme_webroot.  Relative paths are taken from base_dir (may
 * be NULL).  -1 with CF_E_USAGE naming the key and what is accepted.
 */
int cf_service_set(struct cf_service *svc, const char *key, const char *value,
    const char *base_dir, struct cf_error *err);

/*
 * Completes a section once all its keys are set: kind given, the files
 * the kind needs, defaults filled in (test and reload commands from the
 * kind unless set; "none" clears one).  -1 with CF_E_USAGE.
 */
int cf_service_finish(struct cf_service *svc, struct cf_error *err);

/* The service called name (canonical or alias), or NULL (lent). */
const struct cf_service *cf_services_find(
    const struct cf_services *c, const char *name);
size_t cf_services_count(const struct cf_services *c); /* NULL: 0 */
const struct cf_service *cf_services_at(const struct cf_services *c, size_t i);

/*
 * The canonical name of a service ("IIS" -> "https") into out: one of
 * the four default names or one configured in c (may be NULL).  -1 with
 * CF_E_NOTFOUND naming the valid ones otherwise: a name one server lacks
 * may be another's, so it is no usage error.
 */
int cf_service_canon(const struct cf_services *c, const char *name,
    char out[CF_SERVICE_NAME_MAX], struct cf_error *err);

/*
 * Canonical, sorted, deduplicated comma-separated list of the services
 * in list into *out (caller frees).
 */
int cf_services_parse(const struct cf_services *c, const char *list, char **out,
    struct cf_error *err);

/*
 * "HOST:PORT (PROTO, SNI NAME)" of svc's check for a certificate whose
 * first domain is first_domain (may be NULL), as a new string; "none"
 * when svc has no check.
 */
char *cf_service_endpoint(
    const struct cf_service *svc, const char *first_domain);

#endif
