/*
 * test_plugin.c - certfleet test --plugin (or the name check_certfleet):
 * the verdict of cmd_test_agents.c or cmd_test_via.c said as a
 * Monitoring Plugin, so that Nagios, Icinga and Checkmk run it as it is:
 *
 *   CERTFLEET WARNING - mail.example.com: ex1 https: 11.9 days left (25.3%
 *   of its lifetime) | days=11.9;15.7:;7.8: lifetime_left=25.3%;33.3:;16.7:
 *   ex1 https 127.0.0.1:443: WARNING 1A2B3C4D, 11.9 days left (25.3% ...)
 *
 * One status line (its first problems named), the performance data after
 * "|", then a line per endpoint (the plugins' "long output").  Exit 0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN.  CRITICAL: an endpoint not valid
 * (handshake failed, untrusted, name mismatch, out of its dates, under
 * --crit-days), one that does not serve the certificate its agent
 * assigned, or more than one certificate served.  WARNING too: the
 * autopilot's renewal of the namespace failing (cmd_autopilot.c).  UNKNOWN: an
 * agent not reached, nothing to test, or certfleet test failing before any
 * verdict, usage errors included (the convention has no exit 2 for those).  A
 * CRITICAL outranks an UNKNOWN: what was seen to be wrong is wrong.
 *
 * Performance data, label=value[UOM];warn;crit: "days" and
 * "lifetime_left" (%) of the certificate that expires first, and with
 * several endpoints the same per endpoint, labelled SERVER_SERVICE_days
 * and SERVER_SERVICE_lifetime_left (SERVER_SERVICE as the plugin
 * guidelines allow: no blanks, quotes or "=").  Values are rounded down to
 * a tenth, so a value never looks better than it is.  Thresholds are in
 * the guidelines' range format: "30:" alerts below 30, which is what
 * "days left" needs (a bare 30 would alert above it); a share of the
 * lifetime is converted into days, and days into a share, per
 * certificate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "test.h"
#include "view.h"

enum plugin_state { P_OK, P_WARNING, P_CRITICAL, P_UNKNOWN };

static const char *const state_names[] = {
    "OK", "WARNING", "CRITICAL", "UNKNOWN"};
/* How bad each state is: CRITICAL over UNKNOWN over WARNING. */
static const int state_rank[] = {0, 1, 3, 2};

#define NAMED 3     /* problems the status line names, at most */
#define DAY 86400.0 /* seconds */

/* stderr held back while the plugin runs: see test_plugin_begin. */
static struct {
	int saved;   /* the real stderr; -1 when not held */
	FILE *held;  /* what was written to stderr meanwhile */
	int printed; /* the status line is out */
} plugin = {.saved = -1};

/* The problems found, by state, and a line per endpoint. */
struct report {
	int state;
	char *text[P_UNKNOWN + 1]; /* "; "-joined, the first NAMED */
	size_t count[P_UNKNOWN + 1];
	char *lines; /* the long output, each line ending in "\n" */
	char *perf;  /* the performance data, "" for none */
};

int
test_plugin_named(const char *name)
{
	const char *base = strrchr(name, '/');

	return strcmp(base != NULL ? base + 1 : name, "check_certfleet") == 0;
}

int
test_plugin_wanted(int argc, char **argv)
{
	size_t len;
	int i;

	if (test_plugin_named(argv[0]))
		return 1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		len = strlen(argv[i]);
		/* getopt_long takes an unambiguous prefix: --pl is --plugin */
		if (len >= 4 && strncmp(argv[i], "--plugin", len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Monitoring systems read the plugin's stdout, and only its first line
 * for the status: a failure reported on stderr (a usage error, a fleet
 * file that does not load, a server name the fleet lacks) would leave
 * them an empty status.  So stderr goes to a temporary file until
 * test_plugin_end, which puts its first message on the status line and
 * gives the rest back to stderr.  Messages never hold a secret.  When no
 * temporary file can be made, stderr stays as it is.
 */
void
test_plugin_begin(void)
{
	fflush(stderr);
	if ((plugin.held = tmpfile()) == NULL)
		return;
	if ((plugin.saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fileno(plugin.held), STDERR_FILENO) == -1) {
		if (plugin.saved != -1)
			close(plugin.saved);
		plugin.saved = -1;
		fclose(plugin.held);
		plugin.held = NULL;
	}
}

/* s on stdout with "|" (which starts the performance data) and line
 * ends (which end the status) made harmless. */
static void
put_text(const char *s)
{
	for (; *s != '\0'; s++)
		putchar(*s == '|' ? '/' : *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* Gives stderr back, with what was written to it meanwhile. */
static void
release_stderr(void)
{
	char buf[4096];
	size_t got;

	if (plugin.saved == -1)
		return;
	fflush(stderr);
	dup2(plugin.saved, STDERR_FILENO);
	close(plugin.saved);
	plugin.saved = -1;
	rewind(plugin.held);
	while ((got = fread(buf, 1, sizeof(buf), plugin.held)) > 0)
		fwrite(buf, 1, got, stderr);
	fclose(plugin.held);
	plugin.held = NULL;
}

int
test_plugin_end(int rc)
{
	char line[512] = "", *nl;
	const char *msg = line;

	fflush(stderr);
	if (plugin.held != NULL) {
		rewind(plugin.held);
		if (fgets(line, sizeof(line), plugin.held) == NULL)
			line[0] = '\0';
	}
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(line, "certfleet: ", 11) == 0)
		msg = line + 11;
	if (rc == -1)
		rc = 0; /* --help was shown */
	else if (!plugin.printed) {
		fputs("CERTFLEET UNKNOWN - ", stdout);
		if (msg[0] != '\0')
			put_text(msg);
		else
			printf("certfleet test failed (exit %d)", rc);
		putchar('\n');
		rc = P_UNKNOWN;
	}
	fflush(stdout);
	release_stderr();
	return rc;
}

/* ---- the report --------------------------------------------------------- */

static void report_add(struct report *rep, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A problem of the given state; the state of the whole if it is worse. */
static void
report_add(struct report *rep, int state, const char *fmt, ...)
{
	char buf[512], *t;
	va_list ap;

	if (state_rank[state] > state_rank[rep->state])
		rep->state = state;
	if (rep->count[state]++ >= NAMED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	t = xasprintf("%s%s%s", rep->text[state] ? rep->text[state] : "",
	    rep->text[state] ? "; " : "", buf);
	free(rep->text[state]);
	rep->text[state] = t;
}

/* One more line of the long output. */
static void
report_line(struct report *rep, const char *line)
{
	char *t = xasprintf("%s%s\n", rep->lines ? rep->lines : "", line);

	free(rep->lines);
	rep->lines = t;
}

/* x rounded down to a tenth (floor, without libm). */
static double
tenths_down(double x)
{
	long long t = (long long)(x * 10);

	if ((double)t > x * 10)
		t--;
	return (double)t / 10;
}

/* "11.9 days left (25.3% of its lifetime)" of j's leaf, into buf. */
static void
left_text(const struct probe_job *j, time_t now, char *buf, size_t n)
{
	const struct cf_probe *p = &j->result;
	double life = difftime(p->not_after, p->not_before);
	double left = difftime(p->not_after, now);
	char days[32], share[32];

	lifetime_number(tenths_down(left / DAY), days, sizeof(days));
	if (life <= 0) {
		snprintf(buf, n, "%s days left", days);
		return;
	}
	lifetime_number(tenths_down(left / life * 100), share, sizeof(share));
	snprintf(buf, n, "%s days left (%s%% of its lifetime)", days, share);
}

/*
 * The performance data of j's leaf, labelled prefix + "days" and prefix +
 * "lifetime_left", added to rep's: values rounded down, the thresholds
 * of o for this certificate in range format.
 */
static void
report_perf(struct report *rep, const char *prefix, const struct probe_job *j,
    const struct test_opts *o, time_t now)
{
	const struct cf_probe *p = &j->result;
	double life = difftime(p->not_after, p->not_before);
	double left = difftime(p->not_after, now);
	double warn =
	    lifetime_limit_seconds(&o->warn, p->not_before, p->not_after);
	double crit =
	    lifetime_limit_seconds(&o->crit, p->not_before, p->not_after);
	char v[32], w[32], c[32], *t;

	lifetime_number(tenths_down(left / DAY), v, sizeof(v));
	lifetime_number(warn / DAY, w, sizeof(w));
	lifetime_number(crit / DAY, c, sizeof(c));
	t = xasprintf("%s%s%sdays=%s;%s:;%s:", rep->perf,
	    rep->perf[0] ? " " : "", prefix, v, w, c);
	free(rep->perf);
	rep->perf = t;
	if (life <= 0)
		return;
	lifetime_number(tenths_down(left / life * 100), v, sizeof(v));
	lifetime_number(warn / life * 100, w, sizeof(w));
	lifetime_number(crit / life * 100, c, sizeof(c));
	t = xasprintf(
	    "%s %slifetime_left=%s%%;%s:;%s:", rep->perf, prefix, v, w, c);
	free(rep->perf);
	rep->perf = t;
}

/* "ex1 https" as a label prefix: "ex1_https_", only [A-Za-z0-9._-]. */
static char *
label_new(const char *a, const char *b)
{
	char *s = xasprintf("%s_%s_", a, b), *c;

	for (c = s; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
			*c = '_';
	return s;
}

/*
 * Judges one handshake, named label, reached at where: a problem in rep
 * unless OK, and its line of the long output.  assigned, when given and
 * not "", is the thumbprint it must serve.
 */
static void
report_judge(struct report *rep, const struct test_opts *o,
    const struct probe_job *j, const char *assigned, const char *label,
    const char *where, time_t now)
{
	struct verdict v;
	char left[96] = "", *why = xstrdup(""), *t;
	int state;
	size_t i;

	test_judge(j, o, now, &v);
	state = !v.valid ? P_CRITICAL : v.status[0] == 'W' ? P_WARNING : P_OK;
	if (j->rc == 0)
		left_text(j, now, left, sizeof(left));
	for (i = 0; i < v.nreasons; i++) {
		/* the judge's whole days, said as the perfdata says them */
		t = xasprintf("%s%s%s", why, i ? ", " : "",
		    strncmp(v.reasons[i], "expires in ", 11) == 0
			? left
			: v.reasons[i]);
		free(why);
		why = t;
	}
	if (j->rc == 0 && assigned != NULL && assigned[0] != '\0' &&
	    !cf_strieq(assigned, j->result.thumbprint)) {
		t = xasprintf("%s%sserves %.8s, not the assigned %.8s", why,
		    why[0] ? ", " : "", j->result.thumbprint, assigned);
		free(why);
		why = t;
		state = P_CRITICAL;
	}
	if (state != P_OK)
		report_add(rep, state, "%s: %s", label, why);
	if (j->rc == 0 && strcmp(why, left) == 0)
		why[0] = '\0'; /* a WARNING's why: the days left, said once */
	t = j->rc == 0 ? xasprintf("%s %s: %s %.8s, %s%s%s", label, where,
			     state_names[state], j->result.thumbprint, left,
			     why[0] ? "; " : "", why)
		       : xasprintf("%s %s: %s %s", label, where,
			     state_names[state], why);
	report_line(rep, t);
	free(t);
	free(why);
	test_verdict_clear(&v);
}

/* The status line, the performance data and the long output; the state.
 * ok is the status text when all is well. */
static int
report_print(struct report *rep, const struct test_opts *o, const char *ok)
{
	int s = rep->state;

	printf("CERTFLEET %s - ", state_names[s]);
	put_text(o->ns);
	fputs(": ", stdout);
	put_text(s == P_OK ? ok : rep->text[s]);
	if (rep->count[s] > NAMED)
		printf("; and %zu more", rep->count[s] - NAMED);
	if (rep->perf[0] != '\0')
		printf(" | %s", rep->perf);
	putchar('\n');
	if (rep->lines != NULL)
		fputs(rep->lines, stdout);
	plugin.printed = 1;
	return s;
}

static void
report_clear(struct report *rep)
{
	size_t i;

	for (i = 0; i <= P_UNKNOWN; i++)
		free(rep->text[i]);
	free(rep->lines);
	free(rep->perf);
	memset(rep, 0, sizeof(*rep));
}

/* Served well today, but the autopilot cannot renew it: a WARNING now,
 * before --crit-days makes it CRITICAL. */
static void
report_renewal(struct report *rep, const struct test_opts *o)
{
	if (o->renewal == NULL)
		return;
	report_add(rep, P_WARNING, "%s", o->renewal);
	report_line(rep, o->renewal);
}

/* The job that expires first among jobs[0..n) that got a certificate;
 * NULL for none. */
static const struct probe_job *
first_to_expire(const struct probe_job *jobs, size_t n)
{
	const struct probe_job *first = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (jobs[i].rc == 0 &&
		    (first == NULL ||
			jobs[i].result.not_after < first->result.not_after))
			first = &jobs[i];
	return first;
}

/* ---- the two modes ------------------------------------------------------ */

int
test_plugin_agents(const struct backend *b, const struct backend_reply *r,
    const struct test_opts *o, const struct test_endpoint *eps,
    const struct probe_job *jobs, size_t n)
{
	struct report rep = {.perf = xstrdup("")};
	struct seen *seen = xcalloc(n + 1, sizeof(*seen));
	const struct probe_job *first = first_to_expire(jobs, n);
	time_t now = time(NULL);
	size_t i, nseen = 0, unreached = 0;
	char *label, left[96] = "", *ok = NULL, *line;
	int state;

	for (i = 0; i < backend_count(b); i++) {
		if (r[i].err.code == CF_OK)
			continue;
		unreached++;
		report_add(&rep, P_UNKNOWN, "%s: %s", backend_server(b, i),
		    r[i].err.msg);
		line = xasprintf(
		    "%s: UNKNOWN %s", backend_server(b, i), r[i].err.msg);
		report_line(&rep, line);
		free(line);
	}
	for (i = 0; i < n; i++) {
		label = xasprintf("%s %s", backend_server(b, eps[i].target),
		    eps[i].svc->name);
		report_judge(&rep, o, &jobs[i], eps[i].svc->assigned, label,
		    eps[i].where, now);
		free(label);
		test_tally(seen, &nseen, &jobs[i]);
	}
	if (nseen > 1)
		report_add(&rep, P_CRITICAL,
		    "%zu distinct certificates on %zu endpoints", nseen, n);
	if (n == 0 && unreached == 0)
		report_add(&rep, P_UNKNOWN,
		    "no endpoint to test: no service has a check address");
	report_renewal(&rep, o);
	if (first != NULL) {
		report_perf(&rep, "", first, o, now);
		left_text(first, now, left, sizeof(left));
	}
	for (i = 0; i < n && n > 1; i++) {
		if (jobs[i].rc != 0)
			continue;
		label = label_new(
		    backend_server(b, eps[i].target), eps[i].svc->name);
		report_perf(&rep, label, &jobs[i], o, now);
		free(label);
	}
	if (rep.state == P_OK)
		ok = xasprintf("%zu certificate on %zu endpoint%s, %s", nseen,
		    n, n == 1 ? "" : "s", left);
	state = report_print(&rep, o, ok);
	free(ok);
	free(seen);
	report_clear(&rep);
	return state;
}

int
test_plugin_via(const struct test_opts *o, const char *where,
    const struct probe_job *jobs, size_t n, const struct seen *seen,
    size_t nseen)
{
	struct report rep = {.perf = xstrdup("")};
	const struct probe_job *first = first_to_expire(jobs, n);
	time_t now = time(NULL);
	size_t i, failed = n;
	char *label, left[96] = "", *ok = NULL, thumb[9];
	int state;

	for (i = 0; i < nseen; i++) {
		label = xasprintf("%.8s (%zu of %zu)",
		    seen[i].job->result.thumbprint, seen[i].count, n);
		report_judge(&rep, o, seen[i].job, NULL, label, where, now);
		free(label);
		failed -= seen[i].count;
	}
	for (i = 0; i < n && failed > 0; i++)
		if (jobs[i].rc != 0) {
			/* one reason named; the JSON of plain test has all */
			report_add(&rep, P_CRITICAL,
			    "%zu of %zu handshakes failed: %s", failed, n,
			    jobs[i].err.msg);
			break;
		}
	if (nseen > 1)
		report_add(&rep, P_CRITICAL,
		    "%zu distinct certificates in %zu connections", nseen, n);
	report_renewal(&rep, o);
	if (first != NULL) {
		report_perf(&rep, "", first, o, now);
		left_text(first, now, left, sizeof(left));
	}
	for (i = 0; i < nseen && nseen > 1; i++) {
		snprintf(thumb, sizeof(thumb), "%.8s",
		    seen[i].job->result.thumbprint);
		label = xasprintf("%s_", thumb);
		report_perf(&rep, label, seen[i].job, o, now);
		free(label);
	}
	if (rep.state == P_OK)
		ok = xasprintf("1 certificate in %zu connections via %s, %s", n,
		    where, left);
	state = report_print(&rep, o, ok);
	free(ok);
	report_clear(&rep);
	return state;
}
