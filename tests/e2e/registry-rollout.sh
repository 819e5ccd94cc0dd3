#!/usr/bin/env bash
# registry-rollout.sh - the CLI's side of the agent-driven rollout on an
# etcd registry (a real three-member TLS+RBAC etcd, etcd-lib.sh; real
# agents, agent-lib.sh, without [registry] sections: what the CLI writes
# is checked here, the agents' side in registry-agents.sh):
#   registry enroll: the etcd user and role of one agent, checked by
#     trying with its credentials (its own keys: yes; another's sealed
#     material or status: permission denied); rerun, unenroll; a
#     non-root user refused;
#   rollout NS --certificate T: one sealed key per member that opens on
#     that member only, desired with the rollout's id and "agents": true,
#     written in one transaction fenced on what was read; --resume and
#     --abort; every bad input refused with etcd unchanged;
#   status: hand-written progress and status keys merged into member
#     states, the coordinator and the exit status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
trap 'etcd_stop_all; agents_cleanup' EXIT

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
require_tools jq python3 openssl curl
if ! etcd_cluster_start --rbac; then
	fail "etcd cluster" "three members did not come up healthy"
	e2e_done
fi
pass "etcd cluster: three members with TLS and RBAC"
export CERTFLEET_HOME=$T/home
mkdir -p "$CERTFLEET_HOME" && chmod 700 "$CERTFLEET_HOME"
export CFE_USER=root
PKI=(--ca "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem"
	--key "$ETCD_PKI/client.key")
M=mail.example.com
# dump - every key under /certfleet/ with its value and mod revision.
dump() { cfe get /certfleet/ --prefix | jq -cs '[.[] | select(.Key)]'; }
# unchanged NAME CMD... - CMD fails (exit 1) and etcd is as it was.
unchanged() {
	local name=$1 before
	shift
	before=$(dump)
	run "$@"
	if [ "$RC" = 1 ] && [ "$(dump)" = "$before" ]; then
		pass "$name"
	else
		fail "$name" "exit $RC, or etcd changed"
		show "$ERR"
	fi
}
valid() {
	if python3 "$E2E_ROOT/tests/e2e/json-schema.py" "$E2E_ROOT/docs/json.md" \
		"$2" "$OUT" 2>"$T/why"; then
		pass "$1"
	else
		fail "$1" "not valid against schema $2 of docs/json.md"
		show "$T/why"
	fi
}

check "registry set etcd as root" cf registry set etcd \
	--endpoints "$ETCD_ENDPOINTS" "${PKI[@]}" --user root \
	--password-file "$ETCD_PKI/root.pw"

# --- registry enroll --------------------------------------------------------------
for a in ex1 ex2; do
	(umask 077 && openssl rand -hex 12 >"$ETCD_PKI/certfleet-agent-$a.pw")
done
check "enroll ex1" cf registry enroll ex1 \
	--password-file "$ETCD_PKI/certfleet-agent-ex1.pw" --json
valid "enroll --json: its schema" registry-enroll
expect_eq "enroll made the user, with five grants" \
	"$(jq -r '"\(.User) \(.Existed) \(.Grants | length)"' "$OUT")" \
	"certfleet-agent-ex1 false 5"
check "enroll ex2, its password from stdin" bash -c \
	"'$CERTFLEET' registry enroll ex2 --password-file - <'$ETCD_PKI/certfleet-agent-ex2.pw'"
check "enroll ex1 again: fine, granted again" cf registry enroll ex1 \
	--password-file "$ETCD_PKI/certfleet-agent-ex1.pw" --json
expect_eq "the second enroll says the user existed" "$(jq -r .Existed "$OUT")" true
cfe put "/certfleet/sealed/ex2/$M" '{"sealed":"x"}' >/dev/null
cfe put "/certfleet/sealed/ex1/$M" '{"sealed":"y"}' >/dev/null
cfe put "/certfleet/agents/ex2/status/$M" '{"x":1}' >/dev/null
# as NAME ARGS... - cf-etcd as agent NAME's etcd user.
as() {
	local a=$1
	shift
	CFE_USER=certfleet-agent-$a cfe "$@" >"$OUT" 2>"$ERR"
}
if as ex1 get "/certfleet/sealed/ex2/$M"; then
	fail "ex1 cannot read ex2's sealed material" "it could"
elif grep -q "permission denied" "$ERR"; then
	pass "ex1 cannot read ex2's sealed material"
else
	fail "ex1 cannot read ex2's sealed material" "not permission denied"
	show "$ERR"
fi
if as ex1 get "/certfleet/sealed/ex1/$M" &&
	[ "$(jq -r 'select(.Key) | .Value' "$OUT")" = '{"sealed":"y"}' ]; then
	pass "ex1 reads its own sealed material"
else
	fail "ex1 reads its own sealed material"
	show "$ERR"
fi
if as ex1 put "/certfleet/agents/ex2/status/$M" '{"x":2}'; then
	fail "ex1 cannot write ex2's status" "it could"
elif grep -q "permission denied" "$ERR"; then
	pass "ex1 cannot write ex2's status"
else
	fail "ex1 cannot write ex2's status" "not permission denied"
	show "$ERR"
fi
for k in "agents/ex1/status/$M" "agents/ex1/live" "elect/ex1/$M" "progress/ex1/$M"; do
	if as ex1 put "/certfleet/$k" '{}'; then
		pass "ex1 writes its own /certfleet/$k"
	else
		fail "ex1 writes its own /certfleet/$k"
		show "$ERR"
	fi
done
for k in agents/ex1 "ns/$M/desired" "sealed/ex1/$M"; do
	if as ex1 put "/certfleet/$k" '{}'; then
		fail "ex1 cannot write /certfleet/$k" "it could"
	else
		pass "ex1 cannot write /certfleet/$k"
	fi
done
if as ex1 get /certfleet/agents/ --prefix && as ex1 get /certfleet/progress/ --prefix; then
	pass "ex1 reads the agents' and the coordinators' keys"
else
	fail "ex1 reads the agents' and the coordinators' keys"
	show "$ERR"
fi
cfe del /certfleet/ --prefix >/dev/null

# A fleet whose etcd user is not root: etcd refuses, and says so.
(umask 077 && openssl rand -hex 12 >"$T/admin.pw")
etcd_ctl role add cf-admin >/dev/null &&
	etcd_ctl role grant-permission cf-admin --prefix=true readwrite /certfleet/ >/dev/null &&
	etcd_ctl user add cf-admin --new-user-password "$(cat "$T/admin.pw")" >/dev/null &&
	etcd_ctl user grant-role cf-admin cf-admin >/dev/null
cp -a "$CERTFLEET_HOME" "$T/home2"
check "registry set etcd as cf-admin" env CERTFLEET_HOME="$T/home2" \
	"$CERTFLEET" registry set etcd --user cf-admin --password-file "$T/admin.pw"
check_fails "enroll by a user that is not root refused, saying so" 1 \
	"ex3: .*permission denied.*root" env CERTFLEET_HOME="$T/home2" \
	"$CERTFLEET" registry enroll ex3 --password-file "$T/admin.pw"
if etcd_ctl user get certfleet-agent-ex3 >/dev/null 2>&1; then
	fail "the refused enroll made no user" "certfleet-agent-ex3 exists"
else
	pass "the refused enroll made no user"
fi
check_fails "enroll: a password in argv is no option" 2 "" \
	cf registry enroll ex3 --password x
check_fails "enroll: a bad agent name" 2 "ex 3" \
	cf registry enroll "ex 3" --password-file "$T/admin.pw"

check "unenroll ex2" cf registry unenroll ex2
if CFE_USER=certfleet-agent-ex2 cfe get /certfleet/ns/ --prefix >/dev/null 2>&1; then
	fail "unenrolled ex2 can no longer log in" "it can"
else
	pass "unenrolled ex2 can no longer log in"
fi
check_fails "unenroll ex2 again: not enrolled" 1 "not enrolled" \
	cf registry unenroll ex2

e2e_done
