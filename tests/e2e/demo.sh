#!/usr/bin/env bash
# demo.sh - `make demo` as a test, as the README has a user run it: in a
# fresh clone of this repository that sits in a directory only root may
# enter (root's home is 0700 on Debian), so the unprivileged farm cannot
# use the clone itself.  scripts/demo.sh plays the article on a farm of
# two agents with nginx behind haproxy; each step's output and exit status
# is kept (DEMO_RESULTS) and checked here.  Before the copy, users behind
# the balancer get two certificates and a name mismatch from ex2, and
# `test` fails; after it every connection gets the third-party certificate
# and `test` passes.  Nothing the demo started survives it.  Then two
# early stops, one of them silent by nature, must each say why.
#
# The clone is of the committed HEAD of $E2E_ROOT: commit before running.
. "$(dirname "$0")/lib.sh"

# Stubs that the farm (nobody) runs live under $T: searchable, not
# readable, by others.  The clone's parent stays 0700.
chmod 711 "$T"
PRIV=$T/private
mkdir -m 700 "$PRIV"
C=$PRIV/certfleet
if git -C "$E2E_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	if [ -n "$(git -C "$E2E_ROOT" status --porcelain --untracked-files=no)" ]; then
		echo "# note: $E2E_ROOT has uncommitted changes; the clone has HEAD only"
	fi
	run git clone -q "$E2E_ROOT" "$C"
else # a tree without git (a release tarball): a copy of it, build aside
	run tar -C "$E2E_ROOT" --exclude=./build -cf "$T/tree.tar" . &&
		mkdir -p "$C" && run tar -C "$C" -xf "$T/tree.tar"
fi
if [ "$RC" -ne 0 ] || [ ! -x "$C/scripts/demo.sh" ]; then
	fail "demo: a clone of $E2E_ROOT" "exit $RC"
	show "$ERR"
	e2e_done
fi
expect_eq "demo: the clone's parent admits only root" "$(stat -c %a "$PRIV")" 700

# demo_run RESULTS CMD... - CMD with the certfleet of the clone, not of
# the caller, under a timeout; the demo's outputs kept in RESULTS.
demo_run() {
	local r=$1
	shift
	mkdir -p "$r"
	run env -u CERTFLEET -u CERTFLEETD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		DEMO_RESULTS="$r" timeout -k 10 400 "$@"
}
# gone NAME RESULTS - the demo's directory is removed and no process of
# its farm is left.
gone() {
	local w left
	w=$(cat "$2/workdir" 2>/dev/null) || {
		fail "$1: the demo made its directory" "no $2/workdir"
		return
	}
	left=$(ps -eo args | grep -F "$w/" | grep -v grep || true)
	if [ -z "$left" ] && [ ! -e "$w" ]; then
		pass "$1: nothing it started is left, its directory is removed"
	else
		fail "$1: nothing it started is left, its directory is removed" \
			"left running: ${left:-none}" "directory: $(ls -d "$w" 2>/dev/null || echo gone)"
	fi
}

R=$T/results
demo_run "$R" make -C "$C" --no-print-directory demo
if [ "$RC" -eq 0 ]; then
	pass "demo: make demo runs to the end in a clone under a 0700 directory"
else
	fail "demo: make demo runs to the end in a clone under a 0700 directory" "exit $RC"
	show "$ERR" 30
	tail -n 30 "$OUT" | sed 's/^/    | /'
fi
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	expect_eq "demo: as root, the agents, nginx and haproxy run as nobody" \
		"$(cat "$R/farm-users" 2>/dev/null)" nobody
	if grep -q "the farm runs as root instead" "$OUT" "$ERR"; then
		fail "demo: no fallback to root was needed"
	else
		pass "demo: no fallback to root was needed"
	fi
fi
rc() { cat "$R/$1.rc" 2>/dev/null || echo missing; }
has() { grep -qE -- "$2" "$R/$1.out" 2>/dev/null; }
TP=$(grep -o '^[0-9A-F]\{40\}: completed' "$R/complete.out" 2>/dev/null | cut -c1-40)

expect_eq "demo: ex1 completes its request" "$(rc complete)" 0
expect_eq "demo: before: test --via exits 1" "$(rc via-before)" 1
if [ -n "$TP" ] && has via-before "2 distinct certificates in 20 connections" &&
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
if [ -n "$TP" ] && has copy "^ex2: imported; services https" &&
	has copy "https: deployed: .*serves ${TP:0:8}"; then
	pass "demo: copy imports on ex2 and deploys to its nginx"
else
	fail "demo: copy imports on ex2 and deploys to its nginx"
	show "$R/copy.out"
fi
expect_eq "demo: after: test --via exits 0" "$(rc via-after)" 0
if [ -n "$TP" ] && has via-after "^${TP:0:8} .* 20/20 100% valid$" &&
	has via-after "1 distinct certificate in 20 connections; all valid"; then
	pass "demo: after: all 20 connections get the third-party certificate"
else
	fail "demo: after: all 20 connections get the third-party certificate"
	show "$R/via-after.out"
fi
expect_eq "demo: after: test of every endpoint exits 0" "$(rc test-after)" 0
expect_eq "demo: after: services match everywhere" "$(rc services)" 0
gone "demo" "$R"

# Early stops, on the clone's build: each must name what went wrong.
STUB=$T/stub
mkdir -m 755 "$STUB"
# An agent that fails without a word: the demo names the command.
printf '#!/bin/sh\nexit 3\n' >"$STUB/certfleetd"
chmod 755 "$STUB/certfleetd"
demo_run "$T/r-agent" env CERTFLEETD="$STUB/certfleetd" "$C/scripts/demo.sh"
# shellcheck disable=SC2016 # the backquotes are the demo's, literally
if [ "$RC" -ne 0 ] &&
	grep -qE '^demo: stopped during "Two servers.*": `.*init --config.*` failed with exit status 3' "$ERR"; then
	pass "demo: a silent agent failure stops it, naming the step and the command"
else
	fail "demo: a silent agent failure stops it, naming the step and the command" "exit $RC"
	show "$ERR" 20
fi
gone "demo: after that stop" "$T/r-agent"

# haproxy refusing its configuration (the failure a 0700 clone caused):
# its own message is shown.
mkdir -p "$STUB/path"
chmod 755 "$STUB/path"
printf '#!/bin/sh\necho "[ALERT] stub haproxy: refusing %s" >&2\nexit 1\n' '$*' >"$STUB/path/haproxy"
chmod 755 "$STUB/path/haproxy"
demo_run "$T/r-lb" env PATH="$STUB/path:$PATH" "$C/scripts/demo.sh"
if [ "$RC" -eq 1 ] && grep -q '^demo: stopped: haproxy did not start' "$ERR" &&
	grep -q 'stub haproxy: refusing -f .*haproxy.cfg' "$ERR"; then
	pass "demo: haproxy failing to start stops it, with haproxy's message"
else
	fail "demo: haproxy failing to start stops it, with haproxy's message" "exit $RC"
	show "$ERR" 20
fi
gone "demo: after haproxy's stop" "$T/r-lb"

e2e_done
