/*
 * cmd_autopilot.c - certfleet autopilot [NAMESPACE...]: one pass of
 * renewal with no one watching, on the file registry, as a timer runs
 * it (packaging/systemd/certfleet-autopilot.timer).  For every
 * namespace with an issuer (or those named): the certificate it serves
 * is its desired one; its dates come from the first member that holds
 * it, the CA's renewal window (RFC 9773) from the account's directory
 * when it offers renewalInfo, and cf_renew_when (renew.h) says whether
 * it is due.  Due: issue_run (issue.h) orders, imports and rolls out a
 * new one.  Not due: when it will be, and why.
 *
 * Where each namespace stands is kept in its object of the fleet file,
 * "renewal" (renew.h): failures in a row, the last error and success,
 * when it is next due, the point of the CA's window drawn once.  A
 * failed attempt counts, so that the next waits longer (renew.c); a
 * success starts the count again.  `status` and `test` show it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "autopilot.h"
#include "cli.h"
#include "copy.h"
#include "fleet.h"
#include "issue.h"
#include "output.h"
#include "renew.h"

static const char usage[] =
    "Usage: certfleet autopilot [NAMESPACE...] [--acme-ca-file FILE]\n"
    "         [--ca-file FILE] [--dry-run] [--json]\n"
    "One pass of renewal over every namespace with an issuer (or those\n"
    "named), as a timer runs it: a namespace whose certificate is due\n"
    "(two thirds of its lifetime passed, the issuer's --renew-at, or\n"
    "inside the CA's renewal window when its directory offers\n"
    "renewalInfo) gets a new one, ordered and rolled out as certfleet\n"
    "issue does; one without a certificate yet gets its first.  Others\n"
    "say when they are due and why.  A failed attempt is kept in the\n"
    "fleet file with its error (certfleet status shows it) and the next\n"
    "waits longer.  --acme-ca-file: the CA's HTTPS roots; --ca-file: the\n"
    "rollout's.  --dry-run says what it would do and changes nothing.\n"
    "Exit status 0 when every namespace is renewed or not due, 1 when an\n"
    "attempt failed.\n";

const struct option cli_autopilot_opts[] = {
    CLI_COMMON_OPTS,
    {"acme-ca-file", required_argument, NULL, 'A'},
    {"ca-file", required_argument, NULL, 'C'},
    {"dry-run", no_argument, NULL, 'n'},
    {NULL, 0, NULL, 0},
};

struct ap_opts {
	char **names; /* the namespaces named, or none: all with an issuer */
	int nnames;
	const char *acme_ca_file, *ca_file;
	int dry_run;
	char *path; /* the fleet file */
};

/* What the pass found for one namespace. */
struct ap_ns {
	const struct fleet_ns *ns;
	struct cf_renew_state st;
	int first;     /* no certificate yet */
	int have_out;  /* out holds a decision */
	time_t nb, na; /* the desired certificate's dates */
	struct cf_renew_out out;
	char why[128];                /* why it is due, or when */
	char fresh[CF_THUMB_LEN + 1]; /* the new certificate, once issued */
	const char *action;           /* "renewed", "not-due", ... */
	struct cf_error err;          /* a failure of the pass */
};

/* ---- the certificate's facts ---------------------------------------- */

/*
 * The desired certificate's dates from the first member that holds it,
 * and the CA's window (a warning on stderr when it cannot be had).
 * 0, or -1 with s->err.
 */
static int
facts(struct ap_ns *s, const struct ap_opts *o)
{
	struct backend *b = NULL;
	struct backend_reply *r = NULL;
	struct backend_req req;
	struct cf_error warn, err;
	size_t i, k = 0;
	int rc = -1;

	cf_errorf(&err, CF_E_NOTFOUND,
	    "no server of the namespace answered with %.8s", s->ns->desired);
	if (copy_open_agents("autopilot", s->ns->servers, &b) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.arg = s->ns->desired;
	r = backend_replies_new(b);
	backend_run(b, BACKEND_GET, &req, r);
	for (i = 0; i < backend_count(b) && rc == -1; i++)
		if (r[i].err.code == CF_OK && r[i].nviews == 1) {
			s->nb = r[i].views[0].not_before;
			s->na = r[i].views[0].not_after;
			k = i;
			rc = 0;
		} else if (r[i].err.code != CF_E_NOTFOUND)
			cf_errorf(&err, r[i].err.code, "%s: %s",
			    backend_server(b, i), r[i].err.msg);
	cf_error_clear(&warn);
	if (rc == 0 &&
	    autopilot_ari(b, k, s->ns, o->acme_ca_file, &s->st, &warn) == -1)
		fprintf(stderr, "certfleet: autopilot: %s: %s; %s\n",
		    s->ns->name, warn.msg,
		    s->st.ari_end > 0 ? "the window known before decides"
				      : "the renew-at limit decides");
out:
	if (rc == -1)
		s->err = err;
	if (r != NULL)
		backend_replies_free(r, backend_count(b));
	backend_free(b);
	return rc;
}

/* ---- the decision --------------------------------------------------- */

/*
 * Whether s's namespace is due, into s->out (s->first: no certificate
 * yet).  0, or -1 with s->err when it cannot be known.
 */
static int
decide(struct ap_ns *s, const struct ap_opts *o)
{
	const char *at =
	    json_string_value(json_object_get(s->ns->issuer, "renew_at"));
	struct lifetime_limit limit;
	struct cf_renew_in in;
	unsigned char raw[4];

	s->have_out = 0;
	if (!s->st.have_pick && RAND_bytes(raw, sizeof(raw)) == 1) {
		s->st.pick = (double)(((unsigned long)raw[0] << 24) |
				      ((unsigned long)raw[1] << 16) |
				      ((unsigned long)raw[2] << 8) | raw[3]) /
			     4294967296.0;
		s->st.have_pick = 1;
	}
	if (s->ns->desired == NULL) {
		s->first = 1;
		snprintf(s->why, sizeof(s->why), "first certificate");
		return 0;
	}
	if (strcmp(s->st.certificate, s->ns->desired) != 0) {
		/* another certificate: what was known is of the old one */
		snprintf(s->st.certificate, sizeof(s->st.certificate), "%s",
		    s->ns->desired);
		s->st.ari_id[0] = '\0';
		s->st.ari_start = s->st.ari_end = 0;
	}
	if (facts(s, o) == -1)
		return -1;
	memset(&in, 0, sizeof(in));
	in.not_before = s->nb;
	in.not_after = s->na;
	in.now = time(NULL);
	in.at =
	    at != NULL && lifetime_limit_parse(at, &limit) == 0 ? &limit : NULL;
	in.have_ari = s->st.ari_end > s->st.ari_start;
	in.ari_start = s->st.ari_start;
	in.ari_end = s->st.ari_end;
	in.pick = s->st.pick;
	in.failures = s->st.failures;
	in.last_failure = s->st.last_failure;
	if (cf_renew_when(&in, &s->out) == -1)
		return cf_errorf(&s->err, CF_E_PARSE,
		    "%.8s: its dates make no lifetime", s->ns->desired);
	s->have_out = 1;
	s->st.next_due = s->out.due;
	snprintf(s->st.next_why, sizeof(s->st.next_why), "%s",
	    cf_renew_why_text(s->out.why));
	snprintf(s->why, sizeof(s->why), "%s", s->st.next_why);
	return 0;
}

/* ---- the attempt ---------------------------------------------------- */

/* line (one of stderr's) without "certfleet: ", "autopilot: " and the
 * namespace's name, and without its newline, into buf. */
static void
error_text(const char *line, const char *ns, char *buf, size_t n)
{
	size_t len = strlen(ns);
	char *esc, *nl;

	if (strncmp(line, "certfleet: ", 11) == 0)
		line += 11;
	if (strncmp(line, "autopilot: ", 11) == 0)
		line += 11;
	if (strncasecmp(line, ns, len) == 0 &&
	    strncmp(line + len, ": ", 2) == 0)
		line += len + 2;
	esc = cf_utf8_escape(line); /* the file is JSON: valid UTF-8 */
	if ((nl = strchr(esc, '\n')) != NULL)
		*nl = '\0';
	snprintf(buf, n, "%s", esc);
	free(esc);
}

/* What issue_run wrote to stderr (held), written to stderr now; its
 * first error kept in s->err. */
static void
replay(FILE *held, struct ap_ns *s)
{
	char *line = NULL;
	size_t cap = 0;

	rewind(held);
	while (getline(&line, &cap, held) > 0) {
		fputs(line, stderr);
		if (s->err.code == CF_OK &&
		    strncmp(line, "certfleet: ", 11) == 0) {
			s->err.code = CF_E_IO;
			error_text(
			    line, s->ns->name, s->err.msg, sizeof(s->err.msg));
		}
	}
	free(line);
	fclose(held);
}

/*
 * issue_run for s's namespace with what it says on stderr also read
 * back, so that the first error can be kept: it still goes to stderr,
 * after the attempt.  With --json, stdout holds this pass's one
 * document: what issue and its rollout say goes to stderr, as text.
 * The exit status of issue_run.
 */
static int
attempt(struct ap_ns *s, const struct ap_opts *o)
{
	struct issue_opts io = {.acme_ca_file = o->acme_ca_file,
	    .ca_file = o->ca_file,
	    .op = "autopilot"};
	FILE *held = tmpfile();
	int rc, saved = -1, out = -1, json = cli.json;

	s->fresh[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	if (json && (out = dup(STDOUT_FILENO)) != -1)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	if (held != NULL && (saved = dup(STDERR_FILENO)) != -1)
		dup2(fileno(held), STDERR_FILENO);
	cli.json = 0;
	rc = issue_run(s->ns->name, &io, s->fresh);
	cli.json = json;
	fflush(stdout);
	fflush(stderr);
	if (saved != -1) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	if (out != -1) {
		dup2(out, STDOUT_FILENO);
		close(out);
	}
	if (held != NULL)
		replay(held, s);
	if (rc != 0 && s->err.code == CF_OK)
		cf_errorf(&s->err, CF_E_IO, "the order failed (exit %d)", rc);
	if (rc != 0 && s->fresh[0] != '\0')
		cf_error_prefix(
		    &s->err, "issued %.8s, not rolled out: ", s->fresh);
	return rc;
}

/* ---- the state, the output ------------------------------------------ */

/* s->st into the namespace's object of the fleet file, read again so
 * that what issue_run wrote is kept.  0, or -1 after a message. */
static int
save(const struct ap_ns *s, const struct ap_opts *o)
{
	struct fleet *f;
	struct cf_error err;
	int rc = -1;

	cf_error_clear(&err);
	if ((f = fleet_load(o->path, &err)) != NULL &&
	    fleet_ns_set_renewal(
		f, s->ns->name, cf_renew_state_json(&s->st), &err) == 0 &&
	    fleet_save(f, &err) == 0)
		rc = 0;
	else {
		cf_error_prefix(
		    &err, "%s: keeping the renewal state: ", s->ns->name);
		cli_fail("autopilot", &err);
	}
	fleet_free(f);
	return rc;
}

/* The namespace's item of --json (new). */
static json_t *
item_json(const struct ap_ns *s)
{
	json_t *window = json_null();

	if (s->st.ari_end > s->st.ari_start)
		window = json_pack("{s:o, s:o}", "Start",
		    out_time_json(s->st.ari_start), "End",
		    out_time_json(s->st.ari_end));
	return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:s?, s:i, "
			 "s:s?}",
	    "Namespace", s->ns->name, "Action", s->action, "Why", s->why,
	    "Certificate", s->ns->desired, "NotAfter",
	    out_time_json(s->first ? 0 : s->na), "Due",
	    out_time_json(s->have_out ? s->out.due : 0), "Window", window,
	    "NewCertificate", s->fresh[0] ? s->fresh : NULL, "Failures",
	    s->st.failures, "Error", s->err.code != CF_OK ? s->err.msg : NULL);
}

/* The namespace's line of text. */
static void
print_line(const struct ap_ns *s)
{
	char due[21] = "", next[21] = "";

	if (s->have_out)
		cf_time_iso(s->out.due, due);
	if (s->st.next_due != 0)
		cf_time_iso(s->st.next_due, next);
	if (strcmp(s->action, "not-due") == 0)
		printf("%s: not due: %.8s renews at %s (%s)\n", s->ns->name,
		    s->ns->desired, due, s->why);
	else if (strncmp(s->action, "would-", 6) == 0)
		printf("%s: would %s now (%s)\n", s->ns->name, s->action + 6,
		    s->why);
	else if (strcmp(s->action, "failed") == 0)
		printf("%s: FAILED (%d in a row): %s%s%s\n", s->ns->name,
		    s->st.failures, s->err.msg,
		    next[0] ? "; next attempt at " : "", next);
	else
		printf("%s: %s %.8s (%s)%s%s\n", s->ns->name, s->action,
		    s->fresh, s->why, next[0] ? "; next due at " : "", next);
}

/* ---- one namespace -------------------------------------------------- */

/* msg as st's last error: the file is JSON, so valid UTF-8. */
static void
keep_error(struct cf_renew_state *st, const char *msg)
{
	char *esc = cf_utf8_escape(msg);

	snprintf(st->last_error, sizeof(st->last_error), "%s", esc);
	free(esc);
}

/* After an attempt: the state of a success or of a failure, and when
 * the namespace is next due (for the certificate now desired). */
static void
after(struct ap_ns *s, const struct ap_opts *o, int ok)
{
	struct fleet *f = NULL;
	struct cf_error err;
	struct ap_ns again;
	time_t now = time(NULL);

	if (!ok) {
		s->st.failures++;
		s->st.last_failure = now;
		keep_error(&s->st, s->err.msg);
		s->action = "failed";
	} else {
		s->st.failures = 0;
		s->st.last_success = now;
		s->st.last_error[0] = '\0';
		s->action = s->first ? "issued" : "renewed";
	}
	s->st.next_due = 0;
	cf_error_clear(&err);
	/* the namespace as issue_run left it: its desired certificate */
	if ((f = fleet_load(o->path, &err)) == NULL)
		return;
	memset(&again, 0, sizeof(again));
	again.ns = fleet_ns_find(f, s->ns->name);
	again.st = s->st;
	cf_error_clear(&again.err);
	if (again.ns != NULL && decide(&again, o) == 0 && !again.first)
		s->st = again.st; /* its next_due: the retry's, on failure */
	fleet_free(f);
}

/* One pass over namespace ns; whether all is well. */
static int
pass(const struct fleet_ns *ns, const struct ap_opts *o, json_t *items)
{
	struct ap_ns s;
	struct cf_error err;
	int ok = 1;

	memset(&s, 0, sizeof(s));
	s.ns = ns;
	cf_error_clear(&s.err);
	if (cf_renew_state_parse(ns->renewal, &s.st, &err) == -1)
		memset(&s.st, 0, sizeof(s.st)); /* fleet_load checked it */
	if (decide(&s, o) == -1) {
		/* not an attempt: recorded, but the count stays */
		fprintf(stderr, "certfleet: autopilot: %s: %s\n", ns->name,
		    s.err.msg);
		s.st.last_failure = time(NULL);
		keep_error(&s.st, s.err.msg);
		s.action = "failed";
		ok = 0;
	} else if (!s.first && !s.out.now)
		s.action = "not-due";
	else if (o->dry_run)
		s.action = s.first ? "would-issue" : "would-renew";
	else {
		ok = attempt(&s, o) == 0;
		after(&s, o, ok);
	}
	if (!o->dry_run && save(&s, o) == -1)
		ok = 0;
	if (cli.json)
		json_array_append_new(items, item_json(&s));
	else
		print_line(&s);
	return ok;
}

/* ---- the command ---------------------------------------------------- */

static int
parse(int argc, char **argv, struct ap_opts *o)
{
	int c;

	while ((c = getopt_long(
		    argc, argv, ":hA:C:n", cli_autopilot_opts, NULL)) != -1) {
		if (cli_common_opt(c, optarg))
			continue;
		if (c == 'h') {
			cli_help(usage);
			return -1;
		} else if (c == 'A')
			o->acme_ca_file = optarg;
		else if (c == 'C')
			o->ca_file = optarg;
		else if (c == 'n')
			o->dry_run = 1;
		else
			return cli_bad_option("autopilot", c, argv);
	}
	if (cli.server != NULL || cli.store != NULL)
		return cli_usage("autopilot", "the autopilot renews the "
					      "namespaces' certificates, "
					      "not --server or --store");
	o->names = argv + optind;
	o->nnames = argc - optind;
	return 0;
}

/* Whether ns is one the pass covers; a name given must have an issuer
 * (2 after a usage message otherwise). */
static int
wanted(const struct fleet *f, const struct ap_opts *o, int *rc)
{
	int i;

	*rc = 0;
	for (i = 0; i < o->nnames; i++) {
		const struct fleet_ns *ns = fleet_ns_find(f, o->names[i]);
		if (ns == NULL)
			*rc = cli_usage("autopilot",
			    "%s: no such namespace (certfleet namespace list "
			    "shows them)",
			    o->names[i]);
		else if (ns->issuer == NULL)
			*rc = cli_usage("autopilot",
			    "%s: the namespace has no issuer (certfleet "
			    "namespace set %s --issuer acme:ACCOUNT)",
			    o->names[i], ns->name);
		if (*rc != 0)
			return 0;
	}
	return 1;
}

/* Whether the pass covers namespace ns. */
static int
covers(const struct ap_opts *o, const struct fleet_ns *ns)
{
	int i;

	if (ns->issuer == NULL)
		return 0;
	for (i = 0; i < o->nnames; i++)
		if (cf_strieq(o->names[i], ns->name))
			return 1;
	return o->nnames == 0;
}

/*
 * One autopilot at a time on a fleet file (FLEET.autopilot.lock, flock,
 * gone with the process): a pass started by hand while the timer's runs
 * would order the same certificate twice.  The descriptor, or -1 with
 * err.
 */
static int
lock_autopilot(const char *path, struct cf_error *err)
{
	char *lock = xasprintf("%s.autopilot.lock", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd == -1)
		cf_errorf(err, CF_E_IO, "%s: %s", lock, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		cf_errorf(err, CF_E_CONFLICT,
		    "another certfleet autopilot runs on %s now", path);
		close(fd);
		fd = -1;
	}
	free(lock);
	return fd;
}

int
cmd_autopilot(int argc, char **argv)
{
	struct ap_opts o;
	struct fleet *f = NULL;
	struct cf_error err;
	json_t *items = json_array();
	size_t i, n = 0;
	int rc, lock = -1;

	memset(&o, 0, sizeof(o));
	cf_error_clear(&err);
	if ((rc = parse(argc, argv, &o)) != 0) {
		json_decref(items);
		return rc < 0 ? 0 : rc;
	}
	/* locked before the fleet is read: a pass that ended meanwhile
	 * has changed what this one must start from */
	if ((o.path = fleet_path(1, &err)) == NULL ||
	    (!o.dry_run && (lock = lock_autopilot(o.path, &err)) == -1) ||
	    (f = fleet_load(o.path, &err)) == NULL) {
		rc = cli_fail("autopilot", &err);
		goto out;
	}
	if (fleet_registry_get(f)->etcd) {
		rc = cli_usage("autopilot",
		    "on an etcd registry the agents' coordinator renews; the "
		    "autopilot is for the fleet file");
		goto out;
	}
	if (!wanted(f, &o, &rc))
		goto out;
	for (i = 0; i < fleet_ns_count(f); i++) {
		if (!covers(&o, fleet_ns_get(f, i)))
			continue;
		n++;
		if (!pass(fleet_ns_get(f, i), &o, items))
			rc = 1;
	}
	if (cli.json)
		out_json_items(json_incref(items));
	else if (n == 0)
		printf("no namespace with an issuer in %s (certfleet "
		       "namespace set NAME --issuer acme:ACCOUNT)\n",
		    o.path);
out:
	json_decref(items);
	if (lock != -1)
		close(lock);
	fleet_free(f);
	free(o.path);
	return rc;
}
