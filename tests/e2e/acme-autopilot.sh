#!/usr/bin/env bash
# acme-autopilot.sh - `certfleet autopilot` (issue 14) as a timer runs
# it, against a real CA: Debian's pebble with validation on, issuing
# certificates valid for VALIDITY (90) seconds, three members (ex1..ex3:
# a certfleetd and an nginx each) behind haproxy (acme-farm-lib.sh).  A
# background loop runs `certfleet autopilot` every 3 seconds, as the
# hourly timer would over a 47-day lifetime, until the test stops it:
#   - refused first: an unknown namespace, one without an issuer (exit
#     2); --dry-run says it would issue the first certificate and
#     changes nothing;
#   - the first pass issues: every member serves a certificate that
#     verifies against pebble's root (openssl s_client);
#   - passes before two thirds of its lifetime do nothing (negative):
#     "not due", the same certificate, next_due at two thirds;
#   - after two thirds the loop renews, with no command typed by the
#     test in between: every member serves the new certificate before
#     the old one expires;
#   - a renewal that fails (ex2's nginx serves the challenges from
#     another directory) is kept in the fleet file with its error naming
#     ex2, the next attempt due 10 s on (the retry's shortest wait);
#     the loop stops there, so that what follows sees one failure:
#     status shows it, test says it and test --plugin is WARNING;
#     once ex2 is fixed, passes by hand renew no sooner than the retry's
#     wait and then do, the failures count starts again and status says
#     nothing failed.
#
#   bash tests/e2e/acme-autopilot.sh   (CERTFLEET, CERTFLEETD: other builds)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"
# shellcheck source=acme-farm-lib.sh
. "$HERE/acme-farm-lib.sh"

require_certfleet
require_tools flock jq
export CF_TIMEOUT=150
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEETD_CONFIG NOTIFY_SOCKET
export CERTFLEET_SOCKET=$T/no-agent.sock
VALIDITY=90

# pebble as the farm starts it, with certificateValidityPeriod added to
# its configuration: a wrapper first in PATH, so acme-farm-lib.sh is
# used as it is.
mkdir -p "$T/bin"
cat >"$T/bin/pebble" <<EOF
#!/bin/sh
# pebble -config FILE ...: FILE with certificateValidityPeriod $VALIDITY
[ "\$1" = -config ] && jq '.pebble.certificateValidityPeriod = $VALIDITY' "\$2" >"\$2.v" &&
	mv "\$2.v" "\$2"
exec $(command -v pebble) "\$@"
EOF
chmod 755 "$T/bin/pebble"
export PATH=$T/bin:$PATH

LOOP=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	loop_stop
	farm_cleanup
}
trap cleanup EXIT
farm_start
NS=$FARM_NS
ROOT=$FARM_ROOT

# ap [OPTION...] - certfleet autopilot with pebble's TLS CA and root.
# shellcheck disable=SC2120,SC2317 # called through check_fails and run
ap() { cf autopilot --acme-ca-file "$FARM_ACME_CA" --ca-file "$ROOT" "$@"; }
# ns_json FILTER - FILTER of the namespace's object in the fleet file.
ns_json() {
	jq -r --arg ns "$NS" ".namespaces[] | select(.name == \$ns) | $1" "$FARM_FLEET"
}
desired() { ns_json '.desired // ""'; }
# serve_all THUMB - every member serves THUMB, its chain verified
# against pebble's root.
serve_all() {
	local n
	for n in "${FARM_MEMBERS[@]}"; do
		[ "$(farm_served "$n" "$ROOT")" = "$1" ] || return 1
	done
}
# new_served OLD - the namespace desires a certificate other than OLD
# and every member serves it.
# shellcheck disable=SC2317 # called through wait_until
new_served() {
	local d
	d=$(desired)
	[ -n "$d" ] && [ "$d" != "${1:-}" ] && serve_all "$d"
}
# not_after THUMB / not_before THUMB - its dates, seconds since 1970.
cert_date() {
	date -d "$(cf get "$2" --server ex1 --json | jq -r ".Items[0].$1")" +%s
}
# loop_log_count PATTERN - the loop's lines matching PATTERN.
loop_log_count() { grep -cE -- "$1" "$T/loop.log"; }
# under_lock CMD... - CMD while no autopilot pass runs: the autopilot's
# own lock, so that a change of the fleet file is not lost to a pass
# that read it before.
# valid NAME SCHEMA - the last output is valid against SCHEMA of
# docs/json.md.
valid() {
	if python3 "$HERE/json-schema.py" "$E2E_ROOT/docs/json.md" "$2" "$OUT" 2>"$T/why"; then
		pass "$1"
	else
		fail "$1" "not valid against schema $2 of docs/json.md"
		show "$T/why" 10
	fi
}
under_lock() {
	{ flock -w 120 9 && "$@"; } 9>>"$FARM_FLEET.autopilot.lock"
}

# The timer: a pass every 3 seconds until $T/stop exists.
loop_start() {
	rm -f "$T/stop"
	: >"$T/loop.log"
	(
		while [ ! -e "$T/stop" ]; do
			cf autopilot --acme-ca-file "$FARM_ACME_CA" --ca-file "$ROOT" \
				>>"$T/loop.log" 2>&1
			echo "pass exit $?" >>"$T/loop.log"
			sleep 3
		done
	) &
	LOOP=$!
}
# loop_stop - asks the loop to end after its pass, waits for it (a pass
# is bounded by CF_TIMEOUT).
loop_stop() {
	[ -n "$LOOP" ] || return 0
	touch "$T/stop"
	wait_until 160 bash -c "! kill -0 $LOOP 2>/dev/null" || kill "$LOOP" 2>/dev/null
	wait "$LOOP" 2>/dev/null
	LOOP=
}

# ---- refused, and a dry run ----------------------------------------------------
check_fails "autopilot: an unknown namespace is a usage error" 2 \
	"nosuch.example.com: no such namespace" ap nosuch.example.com
cf namespace add plain.example.com --servers ex1 --services https >/dev/null
check_fails "autopilot: a namespace without an issuer, named, is a usage error" 2 \
	"plain.example.com: the namespace has no issuer .*--issuer acme:ACCOUNT" \
	ap plain.example.com
before=$(cat "$FARM_FLEET")
run ap --dry-run --json
expect_eq "autopilot --dry-run: would issue the first certificate, only for the namespace with an issuer" \
	"$(jq -c '[.Items[] | [.Namespace, .Action, .Why]]' "$OUT" 2>/dev/null) exit $RC" \
	"[[\"$NS\",\"would-issue\",\"first certificate\"]] exit 0"
valid "autopilot --dry-run --json: its JSON is docs/json.md's" autopilot
expect_eq "autopilot --dry-run: the fleet file unchanged, every member serving what it did" \
	"$([ "$(cat "$FARM_FLEET")" = "$before" ] && echo same) $(farm_served_all)" \
	"same ex1=$FARM_OLD ex2=$FARM_OLD ex3=$FARM_OLD"

# ---- the first pass issues -------------------------------------------------------
loop_start
if wait_until 120 new_served ""; then
	C1=$(desired)
	pass "loop: the first pass issued $C1: every member serves it, verified against pebble's root"
else
	fail "loop: the first pass issued a certificate every member serves" "$(farm_served_all)"
	show "$T/loop.log" 30
	e2e_done
fi
wait_until 60 grep -qE "^$NS: issued ${C1:0:8} \(first certificate\)" "$T/loop.log" ||
	fail "loop: the first pass said it issued, and why" "$(tail -n 5 "$T/loop.log")"
NB1=$(cert_date NotBefore "$C1")
NA1=$(cert_date NotAfter "$C1")
# pebble's notAfter is notBefore + the period, less its last second
if [ $((NA1 - NB1)) -ge $((VALIDITY - 1)) ] && [ $((NA1 - NB1)) -le "$VALIDITY" ]; then
	pass "pebble: the certificate is valid for $VALIDITY seconds"
else
	fail "pebble: the certificate is valid for $VALIDITY seconds" "$NB1 to $NA1"
fi
expect_eq "renewal state: a first success, no failure" \
	"$(ns_json '"\(.renewal.failures) \(.renewal.last_success > 0) \(.renewal.last_error // "none")"')" \
	"0 true none"
# two thirds passed: a third of the lifetime left, in whole seconds
TWO_THIRDS=$((NA1 - (NA1 - NB1) / 3))

# ---- before two thirds: nothing (negative) -----------------------------------------
n0=$(loop_log_count "^$NS: not due: ${C1:0:8} renews at")
if wait_until 40 bash -c "[ \$(grep -cE -- '^$NS: not due: ${C1:0:8} renews at' '$T/loop.log') -ge $((n0 + 2)) ]"; then
	now=$(date +%s)
	if [ "$now" -lt "$TWO_THIRDS" ] && [ "$(desired)" = "$C1" ] && serve_all "$C1"; then
		pass "loop: passes before two thirds of the lifetime say not due and change nothing"
	else
		fail "loop: passes before two thirds of the lifetime say not due and change nothing" \
			"now $now, two thirds $TWO_THIRDS, desired $(desired)"
	fi
else
	fail "loop: passes before two thirds say not due" "$(tail -n 5 "$T/loop.log")"
fi
expect_eq "renewal state: next due at two thirds of the lifetime, and why" \
	"$(ns_json '"\(.renewal.next_due) \(.renewal.next_why)"')" \
	"$TWO_THIRDS the renew-at share of the lifetime"

# ---- after two thirds: renewed by the loop, before the old one expires -------------
if wait_until $((NA1 - $(date +%s) + 30)) new_served "$C1"; then
	served_at=$(date +%s)
	C2=$(desired)
	pass "loop: after two thirds the autopilot renewed: every member serves $C2"
	if [ "$served_at" -lt "$NA1" ]; then
		pass "loop: the new certificate was served everywhere $((NA1 - served_at)) s before the old expired"
	else
		fail "loop: the new certificate was served everywhere before the old expired" \
			"served at $served_at, the old expired at $NA1"
	fi
else
	fail "loop: after two thirds the autopilot renewed" "$(farm_served_all)"
	show "$T/loop.log" 30
	e2e_done
fi
# the pass's line comes once it has kept the renewal state, after the
# rollout that made every member serve the certificate
if wait_until 60 grep -qE "^$NS: renewed ${C2:0:8} \(the renew-at share of the lifetime\)" "$T/loop.log"; then
	pass "loop: the pass said it renewed, and why"
else
	fail "loop: the pass said it renewed, and why"
	show "$T/loop.log" 10
fi
expect_eq "loop: no pass failed so far" "$(loop_log_count '^pass exit [^0]')" 0

# ---- a failed renewal is kept and shown, a later pass succeeds -------------------
# ex2's nginx serves the challenges from a directory its agent does not
# write; the issuer renews at once (99% of the lifetime left).
if ! farm_webroot ex2 "$FARM_WEB/decoy"; then
	fail "set-up: ex2's nginx serves the decoy webroot"
	e2e_done
fi
before=$(ns_json '.renewal.last_success')
under_lock cf namespace set "$NS" --renew-at 99% >/dev/null
expect_eq "namespace set: the renewal state is kept, as desired and rollout are" \
	"$(ns_json '.renewal.last_success') $(ns_json .issuer.renew_at)" \
	"$before 99%"
if wait_until 90 bash -c "[ \"\$(jq -r --arg ns '$NS' '.namespaces[] | select(.name == \$ns) | .renewal.failures' '$FARM_FLEET')\" -ge 1 ]"; then
	pass "renewal state: the failed attempt counted"
else
	fail "renewal state: the failed attempt counted" "$(ns_json .renewal)"
	show "$T/loop.log" 20
fi
# The loop stops here: a retry is due 10 s after the failure, and what
# follows reads one failure, not as many as a busy machine lets pass.
loop_stop
pass "loop: stopped"
RETRY_AT=$(($(ns_json '.renewal.last_failure') + 10))
expect_eq "renewal state: the next attempt 10 s after the failure (the retry's shortest wait), and why" \
	"$(ns_json '"\(.renewal.failures) \(.renewal.next_due) \(.renewal.next_why)"')" \
	"1 $RETRY_AT a retry after a failed attempt"
err=$(ns_json '.renewal.last_error // ""')
if [[ "$err" == *ex2* ]] && [ "$(ns_json '.renewal.last_failure > .renewal.last_success')" = true ]; then
	pass "renewal state: the error kept names ex2: $err"
else
	fail "renewal state: the error kept names ex2" "$(ns_json .renewal)"
fi
expect_eq "failed renewal: every member still serves $C2" "$(farm_served_all)" \
	"ex1=$C2 ex2=$C2 ex3=$C2"
run cf status "$NS" --ca-file "$ROOT"
if grep -qE '^renewal: next due .*; FAILED at .* \(1 attempt in a row\): .*ex2' "$OUT"; then
	pass "status: the renewal line shows the failure and its error"
else
	fail "status: the renewal line shows the failure and its error"
	show "$OUT" 8
fi
run cf status "$NS" --ca-file "$ROOT" --json
expect_eq "status --json: Renewal with Failures and LastError" \
	"$(jq -r '.Items[0].Renewal | "\(.Failures) \(.LastError | test("ex2"))"' "$OUT")" "1 true"
valid "status --json: its JSON, Renewal included, is docs/json.md's" status
run cf test "$NS" --ca-file "$ROOT"
if grep -qE "^$NS: renewal failing since .*ex2" "$OUT"; then
	pass "test: a line says the renewal is failing"
else
	fail "test: a line says the renewal is failing"
	show "$OUT" 8
fi
# thresholds under what is left of a 90-second certificate: the
# WARNING is the renewal's, not the days'
run cf test "$NS" --ca-file "$ROOT" --plugin --warn-days 10% --crit-days 5%
if [ "$RC" = 1 ] && head -n 1 "$OUT" | grep -q '^CERTFLEET WARNING - .*renewal failing'; then
	pass "test --plugin: WARNING while the renewal fails (exit 1)"
else
	fail "test --plugin: WARNING while the renewal fails (exit 1)" "exit $RC"
	show "$OUT" 4
fi

# ex2 fixed, the issuer still at 99%: due but for the retry's wait.  A
# pass by hand renews no sooner than RETRY_AT (one begun before it says
# not due, when and why), and one after it does.
if ! farm_webroot ex2 "${FARM_WWW[ex2]}"; then
	fail "set-up: ex2's nginx serves its agent's webroot again"
	e2e_done
fi
RETRY_ISO=$(date -u -d "@$RETRY_AT" +%Y-%m-%dT%H:%M:%SZ)
started=$(date +%s)
run ap --json
got=$(jq -r '.Items[0] | "\(.Action) \(.Why) \(.Due)"' "$OUT" 2>/dev/null)
if [ "$started" -ge "$RETRY_AT" ]; then
	pass "retry: the first pass by hand began after the retry's wait (a busy machine): $got"
elif [ "$got" = "not-due a retry after a failed attempt $RETRY_ISO" ]; then
	pass "retry: a pass before the retry's wait is not due, says when ($RETRY_ISO) and why"
else
	fail "retry: a pass before the retry's wait is not due, says when and why" \
		"got '$got' exit $RC, expected 'not-due a retry after a failed attempt $RETRY_ISO'"
fi
if [ "$(jq -r '.Items[0].Action' "$OUT" 2>/dev/null)" != renewed ]; then
	wait_until 30 bash -c "[ \$(date +%s) -ge $RETRY_AT ]"
	run ap --json
	got=$(jq -r '.Items[0] | "\(.Action) \(.Why) \(.Due)"' "$OUT" 2>/dev/null)
fi
if [ "$RC" = 0 ] && [[ "$got" == "renewed a retry after a failed attempt "* ]] &&
	wait_until 60 new_served "$C2"; then
	C3=$(desired)
	pass "retry: a pass after the retry's wait renewed, and said why: every member serves $C3"
else
	fail "retry: a pass after the retry's wait renewed, and said why" \
		"got '$got' exit $RC; $(farm_served_all)"
	show "$ERR" 20
	e2e_done
fi
cf namespace set "$NS" --renew-at default >/dev/null
expect_eq "renewal state: a success starts the count again" \
	"$(ns_json '"\(.renewal.failures) \(.renewal.last_success >= .renewal.last_failure) \(.renewal.last_error // "none")"')" \
	"0 true none"
run cf status "$NS" --ca-file "$ROOT"
if grep -q '^renewal: next due ' "$OUT" && ! grep -q 'FAILED' "$OUT"; then
	pass "status: after the success no failure is shown"
else
	fail "status: after the success no failure is shown"
	show "$OUT" 8
fi

# A pass by hand now: not due, when and why, in JSON.
NB3=$(cert_date NotBefore "$C3")
NA3=$(cert_date NotAfter "$C3")
run ap --json
valid "autopilot --json: its JSON is docs/json.md's" autopilot
expect_eq "autopilot --json: not due, at two thirds of the new certificate's lifetime" \
	"$(jq -r '.Items[0] | "\(.Action) \(.Certificate) \(.Due) \(.Failures) \(.Error)"' "$OUT") exit $RC" \
	"not-due $C3 $(date -u -d "@$((NA3 - (NA3 - NB3) / 3))" +%Y-%m-%dT%H:%M:%SZ) 0 null exit 0"
# And one that renews, in JSON: stdout is its one document (what issue
# and the rollout say goes to stderr).
cf namespace set "$NS" --renew-at 99% >/dev/null
run ap --json
valid "autopilot --json, renewing: its JSON is docs/json.md's" autopilot
C4=$(desired)
expect_eq "autopilot --json, renewing: one document, renewed from $C3 to the new desired one" \
	"$(jq -s -r 'length' "$OUT") $(jq -r '.Items[0] | "\(.Action) \(.Certificate) \(.NewCertificate) \(.Error)"' "$OUT") exit $RC" \
	"1 renewed $C3 $C4 null exit 0"
if [ "$C4" != "$C3" ] && serve_all "$C4" && grep -q "$NS: issued $C4" "$ERR"; then
	pass "autopilot --json, renewing: every member serves it; issue's lines on stderr"
else
	fail "autopilot --json, renewing: every member serves it; issue's lines on stderr" "$(farm_served_all)"
	show "$ERR" 10
fi

e2e_done
