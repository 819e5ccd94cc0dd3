/*
 * config_int.h - what config.c (the file, its lines and sections) and
 * config_keys.c (the [agent] keys) share while a file is read.
 */
#ifndef CFD_CONFIG_INT_H
#define CFD_CONFIG_INT_H

#include <stdio.h>

#include "config.h"

/* A key seen once: the bit of its entry in the table below. */
struct parse {
	const char *file;
	FILE *f;
	int line;        /* the physical line last read */
	int first;       /* the first physical line of the logical one */
	char *logical;   /* the logical line being handed to inih, with \n */
	size_t len, off; /* its length, and how much inih has had */
	int strict;      /* check-config: check files and addresses too */
	unsigned seen;
	struct agent_config *c;
	struct cf_service *svc; /* the [service NAME] being read, or NULL */
	int in_registry;        /* the [registry] section is being read */
	int registry_line;      /* where its header was, for its checks */
	unsigned rseen;         /* its keys seen, as seen */
	char *dir;              /* the file's directory, for relative paths */
	struct cf_error *err;
	int failed;
};

/* Records the first error, at the current line; returns 0 for inih. */
int config_bad(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A path from the file, new: relative ones are taken from the file's
 * directory. */
char *config_relative(const struct parse *p, const char *v);
/* 1 when v, the value of key, is HOST:PORT; 0 after config_bad(). */
int config_hostport_ok(struct parse *p, const char *key, const char *v);

/*
 * One key = value of the [agent] section into p->c: known, set once,
 * not empty, valid (and with p->strict, an address that resolves).
 * 1, or 0 after config_bad.
 */
int config_agent_key(struct parse *p, const char *key, const char *value);

/* 1 when name is an agent's name: letters, digits, '-', '.', '_', at
 * most 63 bytes. */
int config_name_ok(const char *name);
/* The value of console_peers into p->c (config_console.c); 1, or 0
 * after config_bad naming the entry. */
int config_console_peers(struct parse *p, const char *v);
/* c's console peers, freed. */
void config_console_peers_free(struct agent_config *c);

/* One key = value of the [registry] section (config_registry.c); 1, or
 * 0 after config_bad. */
int config_registry_key(struct parse *p, const char *key, const char *value);
/* The [registry] section has ended: what it must hold together (type,
 * endpoints, ca; cert with key; user with password_file), and with
 * p->strict its files.  1, or 0 after config_bad. */
int config_registry_finish(struct parse *p);
/* Once the file is read: the name the agent has in the registry (the
 * [agent] name unless [registry] gives one) is a fleet name.  1, or 0
 * after config_bad naming the [registry] header. */
int config_registry_check_name(struct parse *p);
/* The [registry] section's fields, freed; NULL-safe. */
void config_registry_free(struct agent_registry *r);

#endif
