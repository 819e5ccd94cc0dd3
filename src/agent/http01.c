/*
 * http01.c - the HTTP-01 key authorizations this agent serves: the
 * table, the webroot files and the responder's answers (http01.h).
 *
 * One table for the store process, behind a mutex: its threads (one
 * per channel) publish, withdraw and look up.  Files go through
 * cf_dfile_write, so every directory of a webroot passes the trust rule
 * that a service's certificate files pass, and no link is followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy_files.h"
#include "http01.h"
#include "routes.h"
#include "util.h"

#define TOKEN_MIN 22
#define TOKEN_MAX 128
#define THUMB_B64 43 /* SHA-256 in base64url, no padding */

struct entry {
	char token[TOKEN_MAX + 1];
	char keyauth[TOKEN_MAX + 1 + THUMB_B64 + 1];
	time_t expires;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[HTTP01_MAX];
static size_t used;

static int
b64url_ok(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return s[n] == '\0' && n >= min && n <= max;
}

int
http01_is_route(const char *path)
{
	size_t n = strlen(HTTP01_ROUTE);

	return strncmp(path, HTTP01_ROUTE, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

/* The token of a path under the route ("" for the route itself), or
 * NULL with err when it is not one. */
static const char *
path_token(const char *path, struct cf_error *err)
{
	const char *t = path + strlen(HTTP01_ROUTE);

	if (*t == '\0')
		return "";
	t++;
	if (!b64url_ok(t, TOKEN_MIN, TOKEN_MAX)) {
		cf_errorf(err, CF_E_USAGE,
		    "token %.40s%s: not an ACME token (base64url, %d to %d "
		    "characters)",
		    t, strlen(t) > 40 ? "..." : "", TOKEN_MIN, TOKEN_MAX);
		return NULL;
	}
	return t;
}

/* The services' distinct webroots, in configuration order. */
static size_t
webroots(const struct cf_services *services, const char **out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < cf_services_count(services) && n < max; i++) {
		const char *w = cf_services_at(services, i)->acme_webroot;

		if (w == NULL)
			continue;
		for (j = 0; j < n && strcmp(out[j], w) != 0; j++)
			;
		if (j == n)
			out[n++] = w;
	}
	return n;
}

/* dir (a path) exists as a directory, made 0755 when it did not; no
 * link followed at its last component. */
static int
dir_make(const char *dir, struct cf_error *err)
{
	int fd;

	if (mkdir(dir, 0755) == 0) {
		/* the agent runs under umask 077: the web server must
		 * traverse it */
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC)) == -1 ||
		    fchmod(fd, 0755) == -1) {
			if (fd != -1)
				close(fd);
			return cf_errorf(
			    err, CF_E_IO, "%s: %s", dir, strerror(errno));
		}
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return cf_errorf(err, CF_E_IO, "%s: cannot make it: %s", dir,
		    strerror(errno));
	return 0;
}

/* WEBROOT/.well-known/acme-challenge/TOKEN holds keyauth (0644). */
static int
file_put(const char *root, const char *token, const char *keyauth,
    struct cf_error *err)
{
	const struct cf_dfile_trust trust = {(uid_t)-1, (gid_t)-1};
	char *wk = xasprintf("%s/.well-known", root);
	char *ch = xasprintf("%s/acme-challenge", wk);
	char *f = xasprintf("%s/%s", ch, token);
	struct stat st;
	int rc = -1;

	if (stat(root, &st) == -1 || !S_ISDIR(st.st_mode))
		cf_errorf(err, CF_E_NOTFOUND,
		    "acme_webroot %s: not a directory (make it, or fix the "
		    "service's acme_webroot)",
		    root);
	else if (dir_make(wk, err) == 0 && dir_make(ch, err) == 0 &&
		 cf_dfile_write(f, &trust, keyauth, strlen(keyauth), 0644,
		     (uid_t)-1, (gid_t)-1, err) == 0)
		rc = 0;
	free(wk);
	free(ch);
	free(f);
	return rc;
}

/* WEBROOT/.well-known/acme-challenge/TOKEN removed, if there; no link
 * followed on the way. */
static void
file_del(const char *root, const char *token)
{
	int r, w = -1, c = -1;

	if ((r = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((w = openat(r, ".well-known",
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1 &&
	    (c = openat(w, "acme-challenge",
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1)
		(void)unlinkat(c, token, 0);
	if (c != -1)
		close(c);
	if (w != -1)
		close(w);
	close(r);
}

/* Entry i out of the table (lock held), its files removed. */
static void
drop(const struct cf_services *services, size_t i)
{
	const char *roots[HTTP01_MAX];
	size_t k, n = webroots(services, roots, HTTP01_MAX);

	for (k = 0; k < n; k++)
		file_del(roots[k], table[i].token);
	table[i] = table[--used];
}

/* Expired entries out (lock held). */
static void
expire(const struct cf_services *services)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < used;)
		if (table[i].expires <= now)
			drop(services, i);
		else
			i++;
}

static size_t
find(const char *token)
{
	size_t i;

	for (i = 0; i < used; i++)
		if (strcmp(table[i].token, token) == 0)
			break;
	return i;
}

static json_t *
webroot_list(const struct cf_services *services)
{
	const char *roots[HTTP01_MAX];
	size_t k, n = webroots(services, roots, HTTP01_MAX);
	json_t *a = json_array();

	for (k = 0; k < n; k++)
		json_array_append_new(a, json_string(roots[k]));
	return a;
}

static int
list(const struct cf_services *services, char **out)
{
	json_t *a = json_array();
	char at[21];
	size_t i;

	pthread_mutex_lock(&lock);
	expire(services);
	for (i = 0; i < used; i++) {
		cf_time_iso(table[i].expires, at);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:o}", "Token", table[i].token,
			   "Expires", at, "Webroots", webroot_list(services)));
	}
	pthread_mutex_unlock(&lock);
	*out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return route_status(ROUTE_BY_CODE, CF_OK);
}

/* The body's key authorization for token and its ttl, checked. */
static int
body_read(json_t *body, const char *token, const char **keyauth, long *ttl,
    struct cf_error *err)
{
	json_t *k = json_object_get(body, "KeyAuthorization");
	json_t *t = json_object_get(body, "Ttl");
	size_t n = strlen(token);
	const char *v;

	if (!json_is_object(body) || !json_is_string(k))
		return cf_errorf(err, CF_E_USAGE,
		    "request body: give {\"KeyAuthorization\": "
		    "\"TOKEN.THUMBPRINT\"} (and \"Ttl\": seconds, if not %d)",
		    HTTP01_TTL_DEFAULT);
	v = json_string_value(k);
	if (strncmp(v, token, n) != 0 || v[n] != '.' ||
	    !b64url_ok(v + n + 1, THUMB_B64, THUMB_B64))
		return cf_errorf(err, CF_E_USAGE,
		    "KeyAuthorization: not this token's (give TOKEN, a dot "
		    "and the account key's SHA-256 thumbprint in base64url, "
		    "%d characters)",
		    THUMB_B64);
	*keyauth = v;
	*ttl = HTTP01_TTL_DEFAULT;
	if (t != NULL && (!json_is_integer(t) || json_integer_value(t) < 1 ||
			     json_integer_value(t) > HTTP01_TTL_MAX))
		return cf_errorf(err, CF_E_USAGE,
		    "Ttl: give whole seconds from 1 to %d", HTTP01_TTL_MAX);
	if (t != NULL)
		*ttl = (long)json_integer_value(t);
	return 0;
}

static int
publish(const struct cf_services *services, const char *token, json_t *body,
    char **out, struct cf_error *err)
{
	const char *roots[HTTP01_MAX], *keyauth = NULL;
	size_t i, k, n;
	long ttl;
	char at[21];
	json_t *r;

	if (body_read(body, token, &keyauth, &ttl, err) == -1)
		return -1;
	pthread_mutex_lock(&lock);
	expire(services);
	i = find(token);
	if (i == used && used == HTTP01_MAX) {
		pthread_mutex_unlock(&lock);
		return cf_errorf(err, CF_E_LIMIT,
		    "%d challenges are published already; withdraw some "
		    "(DELETE %s/TOKEN) or wait until they expire",
		    HTTP01_MAX, HTTP01_ROUTE);
	}
	n = webroots(services, roots, HTTP01_MAX);
	for (k = 0; k < n; k++)
		if (file_put(roots[k], token, keyauth, err) == -1) {
			/* all or nothing: what was written goes */
			while (k-- > 0)
				file_del(roots[k], token);
			if (i < used) /* it held the old one there */
				drop(services, i);
			pthread_mutex_unlock(&lock);
			return -1;
		}
	if (i == used)
		used++;
	snprintf(table[i].token, sizeof(table[i].token), "%s", token);
	snprintf(table[i].keyauth, sizeof(table[i].keyauth), "%s", keyauth);
	table[i].expires = time(NULL) + ttl;
	cf_time_iso(table[i].expires, at);
	pthread_mutex_unlock(&lock);
	r = json_pack("{s:s, s:s, s:o}", "Token", token, "Expires", at,
	    "Webroots", webroot_list(services));
	*out = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return 0;
}

static int
withdraw(const struct cf_services *services, const char *token, char **out,
    struct cf_error *err)
{
	size_t i;

	pthread_mutex_lock(&lock);
	expire(services);
	i = find(token);
	if (i == used) {
		pthread_mutex_unlock(&lock);
		return cf_errorf(err, CF_E_NOTFOUND,
		    "token %s: not published here (GET %s lists what is)",
		    token, HTTP01_ROUTE);
	}
	drop(services, i);
	pthread_mutex_unlock(&lock);
	*out = xasprintf("{\"Token\":\"%s\",\"Withdrawn\":true}", token);
	return 0;
}

int
http01_serve(struct cf_store *store, const struct cf_services *services,
    enum cf_role role, const char *actor, const char *method, const char *path,
    json_t *body, char **out)
{
	struct cf_error err;
	const char *token;
	const char *op = strcmp(method, "PUT") == 0 ? "acme-challenge-publish"
						    : "acme-challenge-withdraw";
	char *outcome;
	int rc;

	cf_error_clear(&err);
	if ((token = path_token(path, &err)) == NULL)
		return route_fail(&err, out);
	if (token[0] == '\0') {
		if (strcmp(method, "GET") != 0)
			return route_answer(ROUTE_NO_METHOD, CF_E_USAGE,
			    "GET " HTTP01_ROUTE " lists; PUT or DELETE "
			    "/TOKEN publishes or withdraws one",
			    out);
		return list(services, out);
	}
	if (strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)
		return route_answer(ROUTE_NO_METHOD, CF_E_USAGE,
		    "PUT or DELETE " HTTP01_ROUTE "/TOKEN", out);
	if (role != CF_ROLE_ADMIN) {
		cf_errorf(&err, CF_E_DENIED,
		    "%s %s: needs the admin role; this client is a %s", method,
		    HTTP01_ROUTE "/TOKEN", cf_role_name(role));
		rc = -1;
	} else if (strcmp(method, "PUT") == 0)
		rc = publish(services, token, body, out, &err);
	else
		rc = withdraw(services, token, out, &err);
	if (store != NULL) {
		outcome = rc == 0 ? xasprintf("ok: token %s", token)
				  : xasprintf("refused: %s", err.msg);
		cf_store_audit(store, actor, op, "", outcome, NULL);
		free(outcome);
	}
	if (rc == -1)
		return route_fail(&err, out);
	return route_status(ROUTE_BY_CODE, CF_OK);
}

int
http01_answer(const struct cf_services *services, const char *method,
    const char *path, char **out, int *is_text)
{
	struct cf_error err;
	const char *token = path + strlen(HTTP01_PREFIX);
	size_t i;

	*is_text = 0;
	cf_error_clear(&err);
	if (strcmp(method, "GET") != 0 ||
	    strncmp(path, HTTP01_PREFIX, strlen(HTTP01_PREFIX)) != 0 ||
	    !b64url_ok(token, TOKEN_MIN, TOKEN_MAX)) {
		cf_errorf(&err, CF_E_NOTFOUND,
		    "%.16s %.80s: no such endpoint; this listener serves GET "
		    "%sTOKEN only",
		    method, path, HTTP01_PREFIX);
		return route_fail(&err, out);
	}
	pthread_mutex_lock(&lock);
	expire(services);
	i = find(token);
	if (i < used)
		*out = xstrdup(table[i].keyauth);
	pthread_mutex_unlock(&lock);
	if (i == used) {
		cf_errorf(
		    &err, CF_E_NOTFOUND, "token %s: not published here", token);
		return route_fail(&err, out);
	}
	*is_text = 1;
	return route_status(ROUTE_BY_CODE, CF_OK);
}

void
http01_clear(const struct cf_services *services)
{
	pthread_mutex_lock(&lock);
	while (used > 0)
		drop(services, used - 1);
	pthread_mutex_unlock(&lock);
}
