/* curl_dl.c - libcurl loaded at first use: see curl_dl.h. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>

#include "curl_dl.h"

struct acme_curl_fn acme_curl_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[200];

/* Each function by its name into its slot; the message when one is
 * missing. */
static void
load(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
	    {"curl_global_init", offsetof(struct acme_curl_fn, global_init)},
	    {"curl_easy_init", offsetof(struct acme_curl_fn, easy_init)},
	    {"curl_easy_setopt", offsetof(struct acme_curl_fn, easy_setopt)},
	    {"curl_easy_perform", offsetof(struct acme_curl_fn, easy_perform)},
	    {"curl_easy_getinfo", offsetof(struct acme_curl_fn, easy_getinfo)},
	    {"curl_easy_cleanup", offsetof(struct acme_curl_fn, easy_cleanup)},
	    {"curl_easy_reset", offsetof(struct acme_curl_fn, easy_reset)},
	    {"curl_easy_strerror",
		offsetof(struct acme_curl_fn, easy_strerror)},
	    {"curl_slist_append", offsetof(struct acme_curl_fn, slist_append)},
	    {"curl_slist_free_all",
		offsetof(struct acme_curl_fn, slist_free_all)},
	    {"curl_getdate", offsetof(struct acme_curl_fn, getdate)},
	};
	struct acme_curl_fn fn;
	void *lib = dlopen(ACME_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *p;
	size_t i;

	if (lib == NULL) {
		snprintf(why, sizeof(why),
		    "%s: cannot load it (install libcurl4)", ACME_CURL_SONAME);
		return;
	}
	memset(&fn, 0, sizeof(fn));
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((p = dlsym(lib, syms[i].name)) == NULL) {
			snprintf(why, sizeof(why), "%s: no %s in it",
			    ACME_CURL_SONAME, syms[i].name);
			return;
		}
		memcpy((char *)&fn + syms[i].off, &p, sizeof(p));
	}
	if (fn.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, sizeof(why), "libcurl: cannot start");
		return;
	}
	acme_curl_fn = fn;
}

int
acme_curl_load(struct cf_error *err)
{
	pthread_once(&once, load);
	if (acme_curl_fn.easy_init == NULL)
		return cf_errorf(err, CF_E_INTERNAL, "%s",
		    why[0] ? why : "libcurl: not loaded");
	return 0;
}
