/*
 * deploy_check.c - proving a service serves a certificate: handshakes
 * with its check endpoint until the thumbprint wanted is served, see
 * cf_service_check in deploy.h.  Step 6 of a deployment, and what
 * `certfleet services` asks of each service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deploy.h"
#include "util.h"

/* A duration as messages give it: "20 s", or "1500 ms". */
static void
fmt_duration(int ms, char out[32])
{
	if (ms >= 1000 && ms % 1000 == 0)
		snprintf(out, 32, "%d s", ms / 1000);
	else
		snprintf(out, 32, "%d ms", ms);
}

/*
 * The error of a check that did not see want: what was served last, or
 * the last probe's error after the endpoint.
 */
static int
check_failed(const struct cf_service *svc, const char *first_domain,
    const char *want, int timeout_ms, const struct cf_probe *served,
    const struct cf_error *last, struct cf_error *err)
{
	char *ep = cf_service_endpoint(svc, first_domain);
	char d[32];

	fmt_duration(timeout_ms, d);
	if (served != NULL)
		cf_errorf(err, CF_E_IO,
		    "check %s: serves %.8s, not %.8s after %s", ep,
		    served->thumbprint, want, d);
	else
		cf_errorf(err, last->code ? last->code : CF_E_IO,
		    "check %s: %s", ep, last->msg);
	free(ep);
	return -1;
}

/*
 * Probes every ~200 ms, each probe bounded by what is left (at most 2 s,
 * so a server that hangs once is asked again), until want is served by
 * three handshakes in a row or the time is up.  The latest successful
 * probe is kept in *out.
 */
#define SETTLE_PROBES 3

int
cf_service_check(const struct cf_service *svc, const char *first_domain,
    const char *want, int timeout_ms, struct cf_probe *out,
    struct cf_error *err)
{
	struct cf_probe_opts o = {0};
	struct cf_probe p;
	struct cf_error last;
	long long deadline, left;
	int served_last = 0, matched = 0;

	memset(out, 0, sizeof(*out));
	if (svc->check_host == NULL)
		return 0;
	if (timeout_ms <= 0)
		timeout_ms = CF_DEPLOY_TIMEOUT_MS;
	o.host = svc->check_host;
	o.port = svc->check_port;
	o.sni = svc->check_name ? svc->check_name : first_domain;
	o.proto = svc->proto;
	cf_error_clear(&last);
	deadline = cf_now_ms() + timeout_ms;
	do {
		left = deadline - cf_now_ms();
		o.timeout_ms = left > 2000 ? 2000 : left > 0 ? (int)left : 1;
		served_last = cf_probe_run(&o, &p, &last) == 0;
		if (served_last) {
			cf_probe_clear(out);
			*out = p;
			if (want == NULL)
				return 0;
			/* Three in a row, 100 ms apart: just after a reload
			 * an old worker (nginx) may still take a connection
			 * or two with the old certificate. */
			if (strcasecmp(p.thumbprint, want) != 0)
				matched = 0;
			else if (++matched == SETTLE_PROBES)
				return 0;
			else {
				cf_sleep_ms(100);
				continue;
			}
		} else {
			cf_probe_clear(&p);
			matched = 0;
		}
		left = deadline - cf_now_ms();
		if (left > 0)
			cf_sleep_ms(left < 200 ? left : 200);
	} while (cf_now_ms() < deadline);
	return check_failed(svc, first_domain, want, timeout_ms,
	    served_last ? out : NULL, &last, err);
}
