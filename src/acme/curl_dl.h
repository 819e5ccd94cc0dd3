/*
 * curl_dl.h - libcurl, loaded when first needed (dlopen) rather than
 * linked: linked, it and the 27 libraries it needs (GnuTLS, Kerberos,
 * LDAP, ...) were mapped and relocated at the start of every certfleet
 * command, some 300 page faults and 15 ms on a slow machine, for the
 * few commands that speak to a CA.  Include it instead of <curl/curl.h>
 * (http.c, http01_check.c): the curl_* names used there then call
 * through acme_curl_fn, which acme_curl_load fills once.
 */
#ifndef CF_CURL_DL_H
#define CF_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1 /* its macros would wrap the names */
#include <curl/curl.h>

#include "error.h"

/* The soname Debian's libcurl4 (OpenSSL flavour) installs. */
#define ACME_CURL_SONAME "libcurl.so.4"

struct acme_curl_fn {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	time_t (*getdate)(const char *, const time_t *);
};
extern struct acme_curl_fn acme_curl_fn;

/* Loads libcurl and its functions once (thread-safe); -1 with err
 * naming the library when it cannot. */
int acme_curl_load(struct cf_error *err);

/* curl.h wraps these two in macros of its own: undone first */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (acme_curl_fn.global_init)
#define curl_easy_init (acme_curl_fn.easy_init)
#define curl_easy_setopt (acme_curl_fn.easy_setopt)
#define curl_easy_perform (acme_curl_fn.easy_perform)
#define curl_easy_getinfo (acme_curl_fn.easy_getinfo)
#define curl_easy_cleanup (acme_curl_fn.easy_cleanup)
#define curl_easy_reset (acme_curl_fn.easy_reset)
#define curl_easy_strerror (acme_curl_fn.easy_strerror)
#define curl_slist_append (acme_curl_fn.slist_append)
#define curl_slist_free_all (acme_curl_fn.slist_free_all)
#define curl_getdate (acme_curl_fn.getdate)

#endif
