/*
 * tool.h - what the files of cf-etcd (tool.c: options, the calls;
 * tool_bench.c: the latency bench; tool_sim.c: the simulated agents
 * of bench/converge.sh) share.  A developer's tool, not part
 * of the registry library.
 */
#ifndef CF_ETCD_TOOL_H
#define CF_ETCD_TOOL_H

#include <jansson.h>

#include "etcd.h"

struct opts {
	struct etcd_config cfg;
	int hex;
	long repeat;      /* runs of the command, one client */
	long interval_ms; /* between them */
	struct cf_secret *password;
	struct event_base *base; /* for watch, bench and sim */
	struct etcd *e;          /* the client made from the options */
};

/* "cf-etcd: msg" on stderr, exit 2 (a usage error). */
void usage_exit(const char *msg) __attribute__((noreturn));
/* s as a decimal int64, or a usage error naming what. */
int64_t arg_i64(const char *s, const char *what);
/* One JSON line on stdout (flushed); takes o. */
void print_json(json_t *o);
/* err's message on stderr; returns 1 (the exit status). */
int fail(const struct cf_error *err);

/* bench PREFIX N SIZE */
int cmd_bench(struct etcd *e, struct opts *o, int argc, char **argv);
/* sim agents|seal|desire ... (tool_sim.c) */
int cmd_sim(struct etcd *e, struct opts *o, int argc, char **argv);
/* The options of a sim command (--prefix P, and --watch W where watch
 * is not NULL) and its want positional arguments, checked (the first a
 * namespace); returns the prefix.  A usage error otherwise. */
const char *sim_args(
    int argc, char **argv, int want, const char *usage, const char **watch);
/* sim seal, sim desire (tool_sim_desire.c), argv from "seal"/"desire". */
int sim_seal(struct opts *o, int argc, char **argv);
int sim_desire(struct opts *o, int argc, char **argv);

#endif
