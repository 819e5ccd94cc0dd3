/*
 * service_int.h - what service.c and service_who.c share: the setters
 * of the keys about users.  Each sets its field of s from the value v
 * (not empty) and returns 0, or -1 with CF_E_USAGE naming the key and
 * what to give; env's messages name the entry, never its value.
 */
#ifndef CF_SERVICE_INT_H
#define CF_SERVICE_INT_H

#include "service.h"

int service_set_owner(
    struct cf_service *s, const char *v, struct cf_error *err);
int service_set_group(
    struct cf_service *s, const char *v, struct cf_error *err);
int service_set_run_as(
    struct cf_service *s, const char *v, struct cf_error *err);
int service_set_env(struct cf_service *s, const char *v, struct cf_error *err);
/* Frees a NULL-terminated "NAME=VALUE" list; NULL-safe. */
void service_env_free(char **env);

#endif
