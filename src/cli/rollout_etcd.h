/*
 * rollout_etcd.h - `certfleet rollout` when the fleet's registry is
 * etcd (rollout_etcd.c): the CLI does not move the members itself, it
 * hands the rollout to their agents.  It checks what it can (the
 * namespace and its members, the source holds the certificate with its
 * key, each member registered its identity and that identity is the one
 * the fleet pins), has the source seal the certificate to each member
 * alone (sealed/<m>/<ns>), then writes ns/<ns>/desired with a fresh
 * rollout id and "agents": true in one transaction fenced on what it
 * read, and returns: the agents move it (docs/farm-guide.md).
 */
#ifndef CF_CLI_ROLLOUT_ETCD_H
#define CF_CLI_ROLLOUT_ETCD_H

/* The options of `rollout`, as cmd_rollout.c parsed them. */
struct rollout_etcd_args {
	const char *ns, *thumb, *from, *waves, *soak;
	int dry_run, resume, abort;
};

/* Whether the fleet file names an etcd registry: 1, 0, or -1 after a
 * message on stderr (exit 1). */
int rollout_etcd_wanted(void);

/*
 * The rollout the options say, on the etcd registry; the exit status.
 * A new one: checks, seals, writes (nothing written on any failure
 * before the transaction, which writes all or nothing); --resume (a
 * stopped one) and --abort rewrite desired with the same id; --dry-run
 * checks and writes nothing (cmd_rollout.c then prints the plan).
 */
int rollout_etcd(const struct rollout_etcd_args *a);
/* What rollout_etcd returns for --resume or --abort of a rollout a CLI
 * ran itself (on the file registry, exported since): that CLI's way
 * goes on with it (rollout_run.c, saving to etcd). */
#define ROLLOUT_ETCD_CLI (-2)

#endif
