/*
 * http01_check.h - before the CA is told to validate an HTTP-01
 * challenge, ask every member (and the balancer) the way the CA will:
 * GET http://ADDR/.well-known/acme-challenge/TOKEN with the name as
 * Host: (issue 14).  A CA validates from several network perspectives
 * and a balancer sends each to any backend, so one member that does not
 * answer fails the order; finding that member first, by name, is what
 * this is for.
 *
 * Plain HTTP only, no redirect followed (a redirect is reported: the
 * token must be served where the CA first asks), body capped at 4 KiB,
 * each request bounded by timeout_ms.
 */
#ifndef CF_HTTP01_CHECK_H
#define CF_HTTP01_CHECK_H

#include "error.h"

/*
 * samples GETs of token at addr (HOST:PORT, or [V6]:PORT) with Host:
 * name; 0 when every answer is 200 with body keyauth (trailing
 * whitespace aside), -1 naming addr, the sample and what it answered
 * ("ADDR (Host: NAME), request 2 of 6: HTTP 404"), for the caller to
 * say what it was checking.
 */
int acme_http01_check(const char *addr, const char *name, const char *token,
    const char *keyauth, int samples, long timeout_ms, struct cf_error *err);

#endif
