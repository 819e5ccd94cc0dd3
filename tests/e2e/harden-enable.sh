#!/usr/bin/env bash
# harden-enable.sh - an enable whose reload takes long stalls nobody
# (issue 11, item 4): while a service's reload hangs and refused
# handshakes arrive, `get` and `log` answer at once and an import (a
# write) does not wait for it; the
# enable then completes, deployed and audited.  Two enables of one
# service never run their deployments at once.  An agent killed (-9)
# mid-reload resolves the deployment at its next start: the assignment
# and the files agree and the log says what happened.  A reload that
# fails still puts the files and the assignment back.
#
#   bash tests/e2e/harden-enable.sh      (CERTFLEETD=path to test another build)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=agent-lib.sh
. "$(dirname "$0")/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CERTFLEET_HOME=$T/home

P=$T/pki
make_pki "$P"
A=$(thumb "$P/leaf.pem")
B=$(thumb "$P/ec.pem")
F=$T/files
G=$T/gate # the reload hangs while this file exists
mkdir -p "$F"

# The reload: says it runs, holds while the gate is there (60 s at most),
# fails when $T/fail-reload exists, and notes any overlap with another
# reload of the same service.
cat >"$T/reload" <<EOF
#!/bin/sh
mkdir "$T/in-reload" 2>/dev/null || touch "$T/overlap"
touch "$T/reloading"
i=0
while [ -e "$G" ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done
rm -f "$T/reloading"
rmdir "$T/in-reload" 2>/dev/null
if [ -e "$T/fail-reload" ]; then echo "reload refused by the test" >&2; exit 1; fi
exit 0
EOF
chmod 755 "$T/reload"

check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
agent_conf ex1
cat >>"$T/ex1.conf" <<EOF

[service web]
kind = files
chain = $F/web.crt
key = $F/web.key
reload = $T/reload
timeout = 90
EOF
cfd init --config "$T/ex1.conf" >/dev/null
cfd authorize "$ID" --role admin --config "$T/ex1.conf" >/dev/null
agent_start ex1 || e2e_done
check "fleet: add ex1" cf fleet add ex1 "127.0.0.1:${APORT[ex1]}" \
	--fingerprint "$(cfd fingerprint --config "$T/ex1.conf")"
DB=$T/ex1/store/store.db
# Restarts come back on the same port, which the fleet file pins.
sed -i "s/^listen = .*/listen = 127.0.0.1:${APORT[ex1]}/" "$T/ex1.conf"

on() { cf "$@" --server ex1; }
# ms CMD... - runs CMD (output to $OUT/$ERR, RC set); prints its time in ms.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	run "$@"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
# wait_for CMD... - polls CMD (10 s at most); 1 when it never held.
wait_for() {
	for _ in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
svc() { on services --json 2>/dev/null | jq -r ".Items[] | select(.Service == \"web\") | .$1 // \"\""; }
enable_rows() {
	on log --json 2>/dev/null | jq --arg t "$1" --arg p "$2" \
		'[.Items[] | select(.Operation == "enable" and .Thumbprint == $t and (.Outcome | test($p)))] | length'
}
intents() { sqlite3 "$DB" 'SELECT count(*) FROM deploys' 2>/dev/null || echo '?'; }

check "set-up: ex1 trusts the test root" on import "$P/root.pem"
check "set-up: A with its key and chain" on import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem"
check "set-up: B with its key and chain" on import "$P/ec.pem" "$P/ec.key" "$P/chain.pem"

# ---- an enable whose reload hangs stalls nobody ------------------------------

# slowest N CMD... - SLOWEST: the slowest of N runs of CMD in ms (99999
# when one failed); TIMES: each.
slowest() {
	local n=$1 t
	shift
	SLOWEST=0
	TIMES=
	for _ in $(seq "$n"); do
		t=$(ms "$@")
		[ "$RC" -eq 0 ] || t=99999
		[ "$t" -gt "$SLOWEST" ] && SLOWEST=$t
		TIMES="$TIMES $t"
	done
}
# Refused handshakes (no client certificate) keep arriving, from before
# the enable to its end: each is an audit row, a write that must not
# queue behind the reload.
touch "$T/flood"
(for _ in $(seq 200); do
	[ -e "$T/flood" ] || break
	timeout 5 openssl s_client -connect "127.0.0.1:${APORT[ex1]}" </dev/null >/dev/null 2>&1
done) &
RPID=$!
# What a get costs here without an enable: on a machine so busy that
# this alone is near 100 ms, the bound is twice it.
slowest 6 cf get --server ex1
base=$SLOWEST
limit=$((base * 2 > 100 ? base * 2 : 100))

touch "$G"
cf enable "$A" --services web --server ex1 >"$T/enable1.out" 2>"$T/enable1.err" &
EPID=$!
if wait_for test -e "$T/reloading"; then
	pass "slow reload: the enable's reload is running"
else
	fail "slow reload: the enable's reload is running" "no reload within 10 s"
	show "$T/enable1.err"
fi
slowest 6 cf get --server ex1
max=$SLOWEST
if [ "$max" -lt "$limit" ]; then
	pass "slow reload: get answers in under $limit ms (the slowest of 6: $max ms)"
else
	fail "slow reload: get answers in under $limit ms" \
		"the slowest of 6 took $max ms:$TIMES (with no enable: $base ms)"
fi
slowest 3 cf log --server ex1
t=$SLOWEST
if [ "$t" -lt "$limit" ]; then
	pass "slow reload: log answers in under $limit ms ($t ms)"
else
	fail "slow reload: log answers in under $limit ms" "$t ms:$TIMES"
fi
t=$(CF_TIMEOUT=20 ms cf import "$P/int.pem" --server ex1)
if [ "$RC" -eq 0 ] && [ "$t" -lt 2000 ]; then
	pass "slow reload: an import (a write) does not wait for it ($t ms)"
else
	fail "slow reload: an import (a write) does not wait for it" "$t ms, exit $RC"
	show "$ERR"
fi
expect_eq "slow reload: the enable is still waiting on its reload" \
	"$(test -e "$T/reloading" && kill -0 $EPID 2>/dev/null && echo running)" running
expect_eq "slow reload: meanwhile readers see web as it was (not assigned)" "$(svc Assigned)" ""
expect_eq "slow reload: the intent is recorded" "$(intents)" 1
# The files already hold A while the store still says "nothing": not
# drift to report (exit 1) or to "fix", a deploy to wait for.
run cf services --server ex1 --json
expect_eq "slow reload: services says web is being deployed, exit 0, Match null" \
	"$RC $(jq -r '.Items[] | select(.Service == "web") | "\(.Match) \(.Problem | test("^deploying [0-9A-F]{8} now "))"' "$OUT")" \
	"0 null true"
refused=$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE outcome LIKE 'refused:%'" 2>/dev/null)
if [ "${refused:-0}" -gt 0 ]; then
	pass "slow reload: refused handshakes were audited meanwhile ($refused)"
else
	fail "slow reload: refused handshakes were audited meanwhile" "none in the audit"
fi
rm -f "$G" "$T/flood"
wait $RPID 2>/dev/null
rc=0
wait $EPID || rc=$?
expect_eq "slow reload: the enable then completes (exit 0)" "$rc" 0
expect_eq "slow reload: it says web was deployed" \
	"$(grep -c '^  web: deployed: files written, reloaded' "$T/enable1.out")" 1
expect_eq "slow reload: web assigned to A, its files hold A" "$(svc Assigned)/$(thumb "$F/web.crt")" "$A/$A"
expect_eq "slow reload: audited once, deployed" "$(enable_rows "$A" '^web: assigned; deployed: files written')" 1
expect_eq "slow reload: no intent left" "$(intents)" 0
expect_eq "slow reload: the import is there too" \
	"$(on get --json 2>/dev/null | jq -r --arg t "$(thumb "$P/int.pem")" '[.Items[] | select(.Thumbprint == $t)] | length')" 1

# ---- two enables of one service do not interleave ---------------------------

touch "$G"
cf enable "$B" --services web --force --server ex1 >"$T/e2.out" 2>"$T/e2.err" &
E2=$!
wait_for test -e "$T/reloading" || fail "two enables: the first reload runs"
cf enable "$A" --services web --force --server ex1 >"$T/e3.out" 2>"$T/e3.err" &
E3=$!
# The second must wait for the first's outcome, not deploy beside it:
# give it the time it would need to start its own reload.
for _ in $(seq 20); do
	[ -e "$T/overlap" ] && break
	sleep 0.05
done
rm -f "$G"
rc2=0 rc3=0
wait $E2 || rc2=$?
wait $E3 || rc3=$?
expect_eq "two enables: both succeed" "$rc2/$rc3" 0/0
if [ -e "$T/overlap" ]; then
	fail "two enables: their reloads never overlapped" "a reload started while the other ran"
else
	pass "two enables: their reloads never overlapped"
fi
expect_eq "two enables: the last one wins: web on A, its files hold A" \
	"$(svc Assigned)/$(thumb "$F/web.crt")" "$A/$A"
expect_eq "two enables: each audited" \
	"$(enable_rows "$B" '^web: assigned, taken from')/$(enable_rows "$A" '^web: assigned, taken from')" 1/1

# ---- a reload that fails still rolls back -----------------------------------

before=$(sha256sum "$F/web.crt" "$F/web.key")
touch "$T/fail-reload"
check_fails "failed reload: the enable fails naming the step" 1 "web: reload failed" \
	cf enable "$B" --services web --force --server ex1
rm -f "$T/fail-reload"
expect_eq "failed reload: the files are byte-identical" "$(sha256sum "$F/web.crt" "$F/web.key")" "$before"
expect_eq "failed reload: web still assigned to A" "$(svc Assigned)" "$A"
expect_eq "failed reload: the failure is audited" "$(enable_rows "$B" '^failed: web: reload failed')" 1
expect_eq "failed reload: no intent left" "$(intents)" 0

# ---- kill -9 mid-reload: the next start resolves it -------------------------

# web had A: the interrupted enable of B is undone, A deployed again.
touch "$G"
cf enable "$B" --services web --force --server ex1 >/dev/null 2>&1 &
E4=$!
wait_for test -e "$T/reloading" || fail "kill: the reload runs"
expect_eq "kill: mid-reload, the files already hold B" "$(thumb "$F/web.crt")" "$B"
agent_kill ex1
wait $E4 2>/dev/null
rm -f "$G"
wait_for test ! -e "$T/reloading" || fail "kill: the orphaned reload ends"
expect_eq "kill: the intent survived the agent" "$(intents)" 1
agent_start ex1 || e2e_done
expect_eq "kill: after the restart no intent is left" "$(intents)" 0
expect_eq "kill: web assigned to A, its files hold A again" \
	"$(svc Assigned)/$(thumb "$F/web.crt")" "$A/$A"
expect_eq "kill: the files agree with the assignment (Match)" "$(svc OnDisk)" "$A"
expect_eq "kill: the recovery is audited" \
	"$(enable_rows "$B" "^web: an enable of ${B:0:8} by .* was interrupted \\(the agent stopped\\); put back ${A:0:8}: deployed")" 1
if grep -q "web: an enable of ${B:0:8} .*interrupted" "$T/ex1.log"; then
	pass "kill: the agent logs the recovery"
else
	fail "kill: the agent logs the recovery"
	show "$T/ex1.log" 20
fi

# web had nothing: the interrupted enable of B is finished.
check "kill/new: web released" on disable "$A" --services web
rm -f "$F/web.crt" "$F/web.key"
touch "$G"
cf enable "$B" --services web --server ex1 >/dev/null 2>&1 &
E5=$!
wait_for test -e "$T/reloading" || fail "kill/new: the reload runs"
agent_kill ex1
wait $E5 2>/dev/null
rm -f "$G"
wait_for test ! -e "$T/reloading" || fail "kill/new: the orphaned reload ends"
agent_start ex1 || e2e_done
expect_eq "kill/new: web assigned to B, its files hold B" \
	"$(svc Assigned)/$(thumb "$F/web.crt")" "$B/$B"
expect_eq "kill/new: the recovery finished it, audited" \
	"$(enable_rows "$B" '^web: an enable of .* was interrupted .*; finished: ')" 1
expect_eq "kill/new: no intent left" "$(intents)" 0
check "kill/new: a get still lists both certificates" on get "$A"

agent_stop ex1
e2e_done
