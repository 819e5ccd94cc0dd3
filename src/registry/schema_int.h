/*
 * schema_int.h - what schema.c and schema_agents.c share and nothing
 * else uses: the JSON reading and writing every value goes through, and
 * the shapes of a thumbprint and a rollout id.
 */
#ifndef CF_SCHEMA_INT_H
#define CF_SCHEMA_INT_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* o as compact JSON text with sorted keys (new); takes o's reference. */
char *schema_json_dump(json_t *o);
/* value (len bytes, at most SCHEMA_VALUE_MAX) as a JSON object (new)
 * into *o; CF_E_PARSE naming key. */
int schema_json_load(const char *key, const void *value, size_t len, json_t **o,
    struct cf_error *err);
/* Whether s is a full thumbprint (40 upper-case hex digits). */
int schema_is_thumb(const char *s);
/* Whether s is a rollout id (32 lower-case hex digits). */
int schema_is_id(const char *s);
/* The index of name in names (n of them); -1 for NULL or none. */
int schema_name_index(const char *const *names, size_t n, const char *name);

#endif
