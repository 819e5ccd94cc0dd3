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
# unchanged NAME CMD... - CMD fails (exit 1, or 2 for a usage error)
# and etcd is as it was.
unchanged() {
	local name=$1 before
	shift
	before=$(dump)
	run "$@"
	if [ "$RC" != 0 ] && [ "$(dump)" = "$before" ]; then
		pass "$name"
	else
		fail "$name" "exit $RC, or etcd changed"
		show "$ERR"
	fi
}
# said NAME PATTERN FILE - FILE (stderr or stdout) holds PATTERN (grep -E).
said() {
	if grep -qE -- "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "$(head -n 2 "$3")"
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
expect_eq "enroll made the user, with six grants" \
	"$(jq -r '"\(.User) \(.Existed) \(.Grants | length)"' "$OUT")" \
	"certfleet-agent-ex1 false 6"
check "enroll ex2, its password from stdin" bash -c \
	"'$CERTFLEET' registry enroll ex2 --password-file - <'$ETCD_PKI/certfleet-agent-ex2.pw'"
# A grant added by hand (or left by another prefix) goes on a rerun.
etcd_ctl role grant-permission certfleet-agent-ex1 --prefix=true readwrite \
	/certfleet/ns/ >/dev/null
check "enroll ex1 again: fine, granted again" cf registry enroll ex1 \
	--password-file "$ETCD_PKI/certfleet-agent-ex1.pw" --json
expect_eq "the second enroll says the user existed" "$(jq -r .Existed "$OUT")" true
expect_eq "the rerun left exactly the six grants" \
	"$(etcd_ctl role get certfleet-agent-ex1 -w json | jq '.perm | length')" 6
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

# --- rollout handed to the agents -------------------------------------------------
# Three agents that are each other's transfer peers, each with a files
# service https; ex1 holds the certificate, not exportable.
P=$T/pki
make_pki "$P"
TP=$(thumb "$P/leaf.pem")
check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
declare -A FP=()
for n in ex1 ex2 ex3; do
	agent_conf "$n"
	mkdir -p "$T/files-$n"
	printf '\n[service https]\nkind = files\nchain = %s\nkey = %s\n' \
		"$T/files-$n/https.crt" "$T/files-$n/https.key" >>"$T/$n.conf"
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	FP[$n]=$(cfd fingerprint --config "$T/$n.conf")
done
for n in ex1 ex2 ex3; do
	peers=
	for o in ex1 ex2 ex3; do
		[ "$o" = "$n" ] || peers+=${peers:+, }${FP[$o]}
	done
	sed -i "/^\[agent\]/a transfer_peers = $peers" "$T/$n.conf"
	agent_start "$n" || e2e_done
	check "fleet add $n (on etcd)" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "${FP[$n]}"
	check "$n trusts the test root" cf import "$P/root.pem" --server "$n"
done
check "ex1 holds the certificate, not exportable" cf import "$P/leaf.pem" \
	"$P/leaf.key" "$P/chain.pem" --server ex1
check "namespace $M: three members, a canary wave" cf namespace add "$M" \
	--servers ex1,ex2,ex3 --services https --waves 1,100%
# whoami NAME - agent NAME's identity certificate (PEM).
whoami() {
	curl -sk --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
		"https://127.0.0.1:${APORT[$1]}/v1/whoami" | jq -r .certificate
}
# register NAME [AS] - agents/NAME/identity, AS's certificate (NAME's).
register() {
	cfe put "/certfleet/agents/$1/identity" \
		"$(jq -cn --arg pem "$(whoami "${2:-$1}")" '{certificate: $pem}')" >/dev/null
}

unchanged "rollout: no member registered: refused, etcd unchanged" \
	cf rollout "$M" --certificate "$TP"
if grep -q "ex1, ex2, ex3: never registered: start each one.s agent with a \[registry\] section" "$ERR"; then
	pass "rollout: names every member that never registered and what to do"
else
	fail "rollout: names every member that never registered and what to do"
	show "$ERR"
fi
register ex1
register ex2
unchanged "rollout: one member still unregistered: refused, etcd unchanged" \
	cf rollout "$M" --certificate "$TP"
said "rollout: names ex3" "ex3: never registered" "$ERR"
register ex3 ex1
unchanged "rollout: an identity that is not the pinned one: refused" \
	cf rollout "$M" --certificate "$TP"
said "rollout: says whose fingerprint it is and the pin" \
	"ex3: the identity it registered is ${FP[ex1]}, not ${FP[ex3]}" "$ERR"
register ex3
unchanged "rollout: an unknown namespace" cf rollout nosuch.example.com --certificate "$TP"
unchanged "rollout: --from an unknown server" cf rollout "$M" --certificate "$TP" --from ex9
said "rollout: names the unknown server" "ex9: no such server" "$ERR"
unchanged "rollout: a certificate no member holds" \
	cf rollout "$M" --certificate 0123456789ABCDEF0123456789ABCDEF01234567
unchanged "rollout: --from a server that does not hold it" \
	cf rollout "$M" --certificate "$TP" --from ex2
said "rollout: says the source does not hold it" \
	"ex2 holds no such certificate" "$ERR"
check "fleet group add solo (ex3)" cf fleet group add solo ex3
unchanged "rollout: --waves that do not parse" cf rollout "$M" --certificate "$TP" --waves 50%,10%
# The same etcd, another prefix: a fleet whose namespace has no members.
cp -a "$CERTFLEET_HOME" "$T/home3"
# shellcheck disable=SC2317 # called below
H3() { CERTFLEET_HOME=$T/home3 cf "$@"; }
check "another prefix" H3 registry set etcd --prefix /other
check "a namespace of all, in a fleet of no servers" H3 namespace add e.example.com --servers all
unchanged "rollout: a namespace without members" H3 rollout e.example.com --certificate "$TP"
said "rollout: says the namespace has no servers" \
	"no servers|fleet is empty" "$ERR"
cfe del /other/ --prefix >/dev/null
closed=$(free_ports 1)
check "a fleet whose etcd is down" H3 registry set etcd --prefix /certfleet \
	--endpoints "https://127.0.0.1:$closed"
unchanged "rollout: etcd down" H3 rollout "$M" --certificate "$TP"
said "rollout: etcd down: says so" "is etcd up" "$ERR"
(umask 077 && echo wrong >"$T/wrong.pw")
check "a fleet with a wrong password" H3 registry set etcd \
	--endpoints "$ETCD_ENDPOINTS" --password-file "$T/wrong.pw"
unchanged "rollout: etcd refuses the credentials" H3 rollout "$M" --certificate "$TP"
check "rollout --dry-run: checks and plans" cf rollout "$M" --certificate "$TP" --dry-run --json
expect_eq "the dry run's plan" "$(jq -c '[.Waves[].Members | length]' "$OUT")" "[1,2]"

before=$(dump)
check "rollout: handed to the agents" cf rollout "$M" --certificate "${TP:0:12}"
if grep -q "the agents move it now" "$OUT" && grep -q "certfleet status $M" "$OUT"; then
	pass "rollout: says the agents move it and how to follow it"
else
	fail "rollout: says the agents move it and how to follow it"
	show "$OUT"
fi
desired=$(cfe get "/certfleet/ns/$M/desired" | jq -r 'select(.Key) | .Value')
ID1=$(jq -r .id <<<"$desired")
expect_eq "desired: the certificate, agents, running in wave 1 of 2" \
	"$(jq -r '"\(.thumbprint) \(.agents) \(.rollout.state) \(.rollout.wave)/\(.rollout.nwaves) \(.rollout.from)"' <<<"$desired")" \
	"$TP true running 1/2 ex1"
if [[ $ID1 =~ ^[0-9a-f]{32}$ ]]; then
	pass "desired: a 32-hex rollout id"
else
	fail "desired: a 32-hex rollout id" "$ID1"
fi
expect_eq "desired: no member list (the agents would read it at each change)" \
	"$(jq -c '.rollout.members' <<<"$desired")" '[]'
expect_eq "waves/$M: the members and their waves, for the rollout's id" \
	"$(cfe get "/certfleet/waves/$M" | jq -r 'select(.Key) | .Value' |
		jq -c '[.rollout, [.members[] | [.name, .wave]]]')" \
	"[\"$ID1\",[[\"ex1\",1],[\"ex2\",2],[\"ex3\",2]]]"
v=$(cfe get "/certfleet/sealed/ex1/$M" | jq -r 'select(.Key) | .Value')
expect_eq "sealed/ex1: its wave, no sealed material (the source holds it)" \
	"$(jq -r '"\(.thumbprint) \(.rollout) \(.wave) \(has("sealed"))"' <<<"$v")" "$TP $ID1 1 false"
for n in ex2 ex3; do
	v=$(cfe get "/certfleet/sealed/$n/$M" | jq -r 'select(.Key) | .Value')
	expect_eq "sealed/$n: the certificate, the rollout id and its wave" \
		"$(jq -r '"\(.thumbprint) \(.rollout) \(.wave)"' <<<"$v")" "$TP $ID1 2"
	jq -r .sealed <<<"$v" >"$T/sealed-$n.b64"
done
# import-sealed ON B64-FILE - the HTTP status of opening it on agent ON.
open_on() {
	curl -sk -o "$T/resp.json" -w '%{http_code}' --cert "$CERTFLEET_HOME/id.crt" \
		--key "$CERTFLEET_HOME/id.key" -d "{\"sealed\": \"$(cat "$2")\"}" \
		"https://127.0.0.1:${APORT[$1]}/v1/import-sealed"
}
expect_eq "ex2's sealed material does not open on ex3 (403)" \
	"$(open_on ex3 "$T/sealed-ex2.b64")" 403
expect_eq "ex3's does not open on ex2 (403)" "$(open_on ex2 "$T/sealed-ex3.b64")" 403
expect_eq "ex2's opens on ex2 (200)" "$(open_on ex2 "$T/sealed-ex2.b64")" 200
expect_eq "ex3's opens on ex3 (200)" "$(open_on ex3 "$T/sealed-ex3.b64")" 200
unchanged "a second rollout while one runs: refused" cf rollout "$M" --certificate "$TP"
unchanged "--resume while the agents move it: refused" cf rollout "$M" --resume

# --- status: what the agents wrote, merged -------------------------------------
REV=$(cfe get "/certfleet/ns/$M/desired" | jq -r 'select(.Key) | .ModRevision')
# status_of NAME STATE [STEP ERROR] - agents/NAME/status/M by hand.
status_of() {
	cfe put "/certfleet/agents/$1/status/$M" "$(jq -cn --argjson rev "$REV" \
		--arg id "$ID1" --arg t "$TP" --arg st "$2" --arg step "${3:-}" \
		--arg err "${4:-}" '{desired_rev: $rev, rollout: $id, target: $t,
		to_before: false, state: $st, at: 1700000000, services: [], before: []}
		+ (if $step != "" then {step: $step, error: $err} else {} end)')" >/dev/null
}
# progress_by C WAVE PHASE [MEMBER STEP ERROR] - progress/C/M by hand.
progress_by() {
	cfe put "/certfleet/progress/$1/$M" "$(jq -cn --argjson rev "$REV" \
		--arg id "$ID1" --argjson w "$2" --arg ph "$3" --arg m "${4:-}" \
		--arg step "${5:-}" --arg err "${6:-}" '{desired_rev: $rev,
		rollout: $id, wave: $w, phase: $ph, since: 1700000000, pending: []}
		+ (if $m != "" then {member: $m, step: $step, error: $err} else {} end)')" >/dev/null
}
cfe put "/certfleet/elect/ex2/$M" '{}' >/dev/null
cfe put "/certfleet/elect/ex1/$M" '{}' >/dev/null
cfe put /certfleet/agents/ex3/live '{"address":"127.0.0.1:1","started":1,"version":"x"}' >/dev/null
status_of ex1 converged
progress_by ex2 2 moving
run cf status "$M" --json
expect_eq "status: not converged while the agents move it (exit 1)" "$RC" 1
valid "status --json on etcd: its schema" status
expect_eq "status: the rollout running in wave 2, the agents', coordinator ex2" \
	"$(jq -r '.Items[0].Rollout | "\(.State) \(.Wave) \(.Agents) \(.Coordinator) \(.Id)"' "$OUT")" \
	"running 2 true ex2 $ID1"
expect_eq "status: ex1 moved, ex2 not live: pending, ex3 live: waiting" \
	"$(jq -r '[.Items[0].Members[] | "\(.Server)=\(.State)"] | join(" ")' "$OUT")" \
	"ex1=moved ex2=pending ex3=waiting"
cfe put "/certfleet/agents/ex2/status/$M" 'not json' >/dev/null
run cf status "$M" --json
expect_eq "status: a status that does not parse: said on its member, the rest shown" \
	"$RC $(jq -r '.Items[0].Members[1].Error | test("ex2/status/.*not JSON")' "$OUT") $(jq -r '.Items[0].Members[0].State' "$OUT")" \
	"1 true moved"
cfe del "/certfleet/agents/ex2/status/$M" >/dev/null
status_of ex3 failed deploy "the chain file is not writable"
progress_by ex2 2 stopped ex3 deploy "the chain file is not writable"
run cf status "$M" --json
expect_eq "status: stopped, the failure's step and member" \
	"$(jq -r '.Items[0].Rollout | "\(.State) \(.Step) \(.Member)"' "$OUT")" "stopped deploy ex3"
expect_eq "status: ex3 failed at deploy, with its error" \
	"$(jq -r '.Items[0].Members[2] | "\(.State) \(.Step) \(.Error)"' "$OUT")" \
	"failed deploy the chain file is not writable"
check "namespace show: the merged state" cf namespace show "$M" --json
expect_eq "namespace show says stopped" "$(jq -r .Rollout "$OUT")" stopped
check "namespace list: the merged state" cf namespace list --json
expect_eq "namespace list says stopped" \
	"$(jq -r --arg m "$M" '.Items[] | select(.Name == $m) | .Rollout' "$OUT")" stopped
run cf status "$M"
said "status text names the coordinator" "coordinator ex2" "$OUT"

# Every member made to serve it by hand, every status converged, the
# progress done: converged, exit 0; a failed status: exit 1.
for n in ex2 ex3; do
	check "ex2, ex3: the certificate by hand on $n" cf copy "$TP" --from ex1 --to "$n"
done
for n in ex1 ex2 ex3; do
	check "https serves it on $n" cf enable "$TP" --services https --server "$n" --force
	status_of "$n" converged
done
progress_by ex2 2 "done"
run cf status "$M" --json
expect_eq "status: done and converged: exit 0" \
	"$RC $(jq -r '.Items[0].Rollout.State' "$OUT") $(jq -r '[.Items[0].Members[].State] | join(",")' "$OUT")" \
	"0 done moved,moved,moved"
status_of ex2 failed check "no handshake"
run cf status "$M" --json
expect_eq "status: a member whose agent says failed: exit 1" \
	"$RC $(jq -r '.Items[0].Members[1].State' "$OUT")" "1 failed"
agent_kill ex3
run cf status "$M" --json
expect_eq "status: ex3 down: last seen when its agent last wrote its status" \
	"$RC $(jq -r '.Items[0].Members[2] | "\(.Answered) \(.LastSeen)"' "$OUT")" \
	"1 false 2023-11-14T22:13:20Z"
sed -i "s/^listen = .*/listen = 127.0.0.1:${APORT[ex3]}/" "$T/ex3.conf"
agent_spawn ex3 || fail "ex3 back on its port" "it did not listen again"

# --- resume, abort, and the fence ------------------------------------------------
progress_by ex2 2 stopped ex2 check "no handshake"
check "rollout --resume: the stopped rollout runs again" cf rollout "$M" --resume --json
valid "rollout --json on etcd: its schema" rollout-agents
desired=$(cfe get "/certfleet/ns/$M/desired" | jq -r 'select(.Key) | .Value')
expect_eq "resume: running from the stopped wave, the same id and certificate" \
	"$(jq -r '"\(.rollout.state) \(.rollout.wave) \(.id) \(.thumbprint)"' <<<"$desired")" \
	"running 2 $ID1 $TP"
check "rollout --abort" cf rollout "$M" --abort
desired=$(cfe get "/certfleet/ns/$M/desired" | jq -r 'select(.Key) | .Value')
expect_eq "abort: aborted, back to no certificate, the same id" \
	"$(jq -r '"\(.rollout.state) \(.thumbprint) \(.id)"' <<<"$desired")" \
	"aborted null $ID1"
expect_eq "resume and abort: still no member list in desired, the same plan" \
	"$(jq -c '.rollout.members' <<<"$desired") $(cfe get "/certfleet/waves/$M" | jq -r 'select(.Key) | .Value' | jq -r .rollout)" \
	"[] $ID1"
unchanged "--resume of an aborted rollout: refused" cf rollout "$M" --resume

# A change to the namespace between the CLI's read and its write: the
# source agent held still (SIGSTOP) while the CLI waits on it, the
# spec changed meanwhile; the transaction is refused, nothing written.
kill -STOP "${APID[ex1]}"
cf rollout "$M" --certificate "$TP" --from ex1 >"$T/race.out" 2>"$T/race.err" &
race=$!
# (the kernel completes the TCP handshake for a stopped process; the
# CLI waits 10 s for the TLS one)
if wait_until 8 bash -c "ss -Htn state established '( dport = :${APORT[ex1]} )' | grep -q ."; then
	pass "race: the CLI read etcd and waits on ex1"
else
	fail "race: the CLI read etcd and waits on ex1"
fi
cfe put "/certfleet/ns/$M/spec" '{"servers":["ex1","ex2","ex3"],"services":["https"],"waves":["1","100%"],"soak":5}' >/dev/null
before=$(dump)
kill -CONT "${APID[ex1]}"
rc=0
wait "$race" || rc=$?
expect_eq "race: the rollout fails (exit 1)" "$rc" 1
said "race: says the namespace changed meanwhile" \
	"changed in the registry since this command read it; nothing written" "$T/race.err"
expect_eq "race: etcd holds what the other change wrote, nothing more" "$(dump)" "$before"

# A rollout a CLI ran itself (on the file registry, exported since) is
# that CLI's to go on with: --abort takes the CLI's way, saving to etcd.
check "namespace old.example.com" cf namespace add old.example.com --servers ex2
cfe put /certfleet/ns/old.example.com/desired "$(jq -cn --arg t "$TP" '{thumbprint: $t,
	rollout: {state: "stopped", certificate: $t, previous: null, from: "ex1",
	waves: ["100%"], soak: 0, wave: 1, nwaves: 1, started: 1, updated: 1,
	members: [{name: "ex2", wave: 1, state: "pending", at: 1}]}}')" >/dev/null
check "--abort of a CLI's own rollout on etcd" cf rollout old.example.com --abort
expect_eq "it is aborted, still not the agents'" \
	"$(cfe get /certfleet/ns/old.example.com/desired | jq -r 'select(.Key) | .Value | fromjson | "\(.rollout.state) \(.agents // false)"')" \
	"aborted false"

e2e_done
