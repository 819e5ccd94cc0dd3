/*
 * autopilot.h - what the parts of `certfleet autopilot` share:
 * cmd_autopilot.c makes the pass (dates, decision, attempt, state),
 * autopilot_ari.c asks the CA for its renewal window.
 */
#ifndef CF_CLI_AUTOPILOT_H
#define CF_CLI_AUTOPILOT_H

#include <stddef.h>

#include "backend.h"
#include "fleet.h"
#include "renew.h"

/*
 * The CA's renewal window for ns's desired certificate, held by target
 * i of b, into st (ari_start, ari_end; ari_id once) when the directory
 * of the issuer's account offers renewalInfo; both 0 when it does not.
 * acme_ca_file: the CA's HTTPS roots, NULL the system's.  0, or -1 with
 * err and st's window as it was: the window known before, or the
 * renew-at limit, decides then.
 */
int autopilot_ari(struct backend *b, size_t i, const struct fleet_ns *ns,
    const char *acme_ca_file, struct cf_renew_state *st, struct cf_error *err);

#endif
