#!/usr/bin/env bash
# demo.sh - `make demo` as a test: scripts/demo.sh plays the article on a
# farm of two agents with nginx behind haproxy; each step's output and
# exit status is kept (DEMO_RESULTS) and checked here.  Before the copy,
# users behind the balancer get two certificates and a name mismatch from
# ex2, and `test` fails; after it every connection gets the third-party
# certificate and `test` passes.  Nothing the demo started survives it.
. "$(dirname "$0")/lib.sh"
require_certfleet

R=$T/results
mkdir -p "$R"
run env DEMO_RESULTS="$R" "$E2E_ROOT/scripts/demo.sh"
if [ "$RC" -eq 0 ]; then
	pass "demo: runs to the end"
else
	fail "demo: runs to the end" "exit $RC"
	show "$ERR" 20
	show "$OUT" 40
fi
rc() { cat "$R/$1.rc" 2>/dev/null || echo missing; }
has() { grep -qE -- "$2" "$R/$1.out" 2>/dev/null; }
TP=$(grep -o '^[0-9A-F]\{40\}: completed' "$R/complete.out" | cut -c1-40)

expect_eq "demo: ex1 completes its request" "$(rc complete)" 0
expect_eq "demo: before: test --via exits 1" "$(rc via-before)" 1
if has via-before "2 distinct certificates in 20 connections" &&
	has via-before "^${TP:0:8} .* (9|10|11)/20 .* valid$" &&
	has via-before "CN=ex2 .* untrusted: self-signed certificate, name mismatch"; then
	pass "demo: before: two certificates through the balancer, ex2's a name mismatch"
else
	fail "demo: before: two certificates through the balancer, ex2's a name mismatch"
	show "$R/via-before.out"
fi
expect_eq "demo: before: test of every endpoint exits 1" "$(rc test-before)" 1
if has test-before "^ex2 +https .* CRITICAL"; then
	pass "demo: before: ex2's https endpoint is critical"
else
	fail "demo: before: ex2's https endpoint is critical"
	show "$R/test-before.out"
fi
expect_eq "demo: copy exits 0" "$(rc copy)" 0
if has copy "^ex2: imported; services https" && has copy "https: deployed: .*serves ${TP:0:8}"; then
	pass "demo: copy imports on ex2 and deploys to its nginx"
else
	fail "demo: copy imports on ex2 and deploys to its nginx"
	show "$R/copy.out"
fi
expect_eq "demo: after: test --via exits 0" "$(rc via-after)" 0
if has via-after "^${TP:0:8} .* 20/20 100% valid$" &&
	has via-after "1 distinct certificate in 20 connections; all valid"; then
	pass "demo: after: all 20 connections get the third-party certificate"
else
	fail "demo: after: all 20 connections get the third-party certificate"
	show "$R/via-after.out"
fi
expect_eq "demo: after: test of every endpoint exits 0" "$(rc test-after)" 0
expect_eq "demo: after: services match everywhere" "$(rc services)" 0
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	expect_eq "demo: as root, the agents, nginx and haproxy run as nobody" \
		"$(cat "$R/farm-users" 2>/dev/null)" nobody
fi
left=$(ps -eo args | grep -E '/tmp/certfleet-demo\.' | grep -v grep || true)
expect_eq "demo: nothing it started is left running" "$left" ""

e2e_done
