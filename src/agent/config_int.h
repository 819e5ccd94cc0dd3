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
	char *dir;              /* the file's directory, for relative paths */
	struct cf_error *err;
	int failed;
};

/* Records the first error, at the current line; returns 0 for inih. */
int config_bad(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * One key = value of the [agent] section into p->c: known, set once,
 * not empty, valid (and with p->strict, an address that resolves).
 * 1, or 0 after config_bad.
 */
int config_agent_key(struct parse *p, const char *key, const char *value);

#endif
