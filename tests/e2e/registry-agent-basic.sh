#!/usr/bin/env bash
# registry-agent-basic.sh - certfleetd's [registry] section against a real
# single-member etcd on loopback with TLS and RBAC (one user and role per
# agent, as `certfleet registry enroll` makes them), two agents each with a
# private nginx as service https, and the keys the CLI writes put by hand
# with build/cf-etcd (the sealed copy made by the source agent's own
# export-sealed, over its Unix socket):
#   - check-config takes the section and refuses a bad value naming
#     file:line;
#   - each agent registers: agents/<a>/live under its lease, its identity
#     certificate, its candidacy for the namespace; one reaches etcd by
#     the name "localhost" (resolved after the network process confined
#     itself);
#   - a three-wave rollout (1,1,100% of two) with ex2 stopped: ex1 (the
#     coordinator) moves in wave 1, its nginx serves the new certificate
#     (openssl s_client), its status says converged, the progress moves
#     on (soak on a timer), wave 2 with ex2 pending, wave 3 done; ex2,
#     started again, imports its sealed copy, deploys and converges;
#   - SIGTERM revokes the lease (live gone at once); after SIGKILL the
#     live key goes within the lease's TTL;
#   - a sealed copy made for another agent: the member's status is failed
#     at "import", and its nginx still serves what it did; in a rollout,
#     the coordinator (the other agent, the first one having crashed)
#     puts that wave back and stops;
#   - etcd killed and started again: the agent serves its API, says so
#     once, and registers again;
#   - a wrong password: the agent logs etcd's refusal once and serves its
#     API all the same.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/registry-agent-basic.sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # the conditions are run by wait_until
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=etcd-lib.sh
. "$HERE/etcd-lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEETD_CONFIG NOTIFY_SOCKET
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	agents_cleanup_keep
	etcd_stop_all
	rm -rf "$T" "$SOCKDIR"
}
# agents_cleanup without its rm: etcd's data is in $T until it stops.
# shellcheck disable=SC2317 # run by the EXIT trap
agents_cleanup_keep() {
	local n pid
	for n in "${!APID[@]}"; do
		pid=${APID[$n]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}
trap cleanup EXIT
require_tools "$CERTFLEETD" etcd etcdctl nginx openssl curl jq python3

NS=mail.example.com
TTL=3

# --- etcd: one member, TLS, RBAC -------------------------------------------
# etcd-lib.sh's PKI, member and users, for one member instead of three.
etcd_single_start() {
	local ports
	etcd_pki || return 1
	mapfile -t ports < <(free_ports 2)
	ETCD_URLS=("https://127.0.0.1:${ports[0]}")
	ETCD_PEER_URLS=("https://127.0.0.1:${ports[1]}")
	ETCD_CLUSTER=n1=${ETCD_PEER_URLS[0]}
	ETCD_ENDPOINTS=${ETCD_URLS[0]}
	ETCD_PORT=${ports[0]}
	etcd_member_start 1
	etcd_wait_healthy 20 || return 1
	etcd__rbac >"$T/etcd-rbac.log" 2>&1 || {
		show "$T/etcd-rbac.log"
		return 1
	}
}
if ! etcd_single_start; then
	fail "etcd: one member with TLS and RBAC" "it did not come up"
	e2e_done
fi
pass "etcd: one member with TLS and RBAC"
export CFE_USER=root

# enroll A - the etcd user certfleet-agent-A and its role, as the design
# says: read on [P/agents/, P/sealed/), readwrite on its own keys, read on
# its own sealed copies and on the rollouts' plans; its password in $T/A.pw.
enroll() {
	local a=$1 role=certfleet-agent-$1
	(umask 077 && openssl rand -hex 12 >"$T/$a.pw")
	etcd_ctl role add "$role" &&
		etcd_ctl role grant-permission "$role" read /certfleet/agents/ /certfleet/sealed/ &&
		etcd_ctl role grant-permission "$role" --prefix=true readwrite "/certfleet/agents/$a/" &&
		etcd_ctl role grant-permission "$role" --prefix=true readwrite "/certfleet/elect/$a/" &&
		etcd_ctl role grant-permission "$role" --prefix=true readwrite "/certfleet/progress/$a/" &&
		etcd_ctl role grant-permission "$role" --prefix=true read "/certfleet/sealed/$a/" &&
		etcd_ctl role grant-permission "$role" --prefix=true read /certfleet/waves/ &&
		etcd_ctl user add "$role" --new-user-password "$(cat "$T/$a.pw")" &&
		etcd_ctl user grant-role "$role" "$role"
}
for a in ex1 ex2 ex3; do
	if ! enroll "$a" >"$T/enroll.log" 2>&1; then
		fail "enroll $a" "etcdctl failed"
		show "$T/enroll.log"
		e2e_done
	fi
done
pass "etcd users and roles of ex1, ex2, ex3"

# getv KEY - the value at KEY ("" when absent), as root.
getv() { cfe get "$1" 2>/dev/null | jq -r 'select(.Key) | .Value'; }
has() { [ -n "$(cfe get "$1" 2>/dev/null | jq -r 'select(.Key) | .Key')" ]; }
absent() { ! has "$1"; }
field() { getv "$1" | jq -r "$2" 2>/dev/null; }

# --- PKI, two nginx, three agents -------------------------------------------
P=$T/pki
if ! { make_pki "$P" && make_leaf "$P" new 3001 && make_leaf "$P" new2 3002; }; then
	fail pki "make_pki or make_leaf failed"
	e2e_done
fi
OLD=$(thumb "$P/leaf.pem")
NEW=$(thumb "$P/new.pem")
NEW2=$(thumb "$P/new2.pem")
read -r -d '' N1 N2 < <(free_ports 2) || true
declare -A NPORT=([ex1]=$N1 [ex2]=$N2)
S=$T/srv
for n in ex1 ex2; do
	mkdir -p "$S/$n"
	cp "$P/ec.pem" "$S/$n/https.crt"
	(umask 077 && cp "$P/ec.key" "$S/$n/https.key")
	srv_nginx_start "$S/$n/nginx" "${NPORT[$n]}" "$S/$n/https.crt" \
		"$S/$n/https.key" "$NS" || {
		fail "nginx $n" "did not start"
		e2e_done
	}
done
pass "servers: two nginx on loopback"

for n in ex1 ex2 ex3; do
	agent_conf "$n"
	cfd init --config "$T/$n.conf" >/dev/null 2>&1
	AFP[$n]=$(cfd fingerprint --config "$T/$n.conf")
done
# Sealed transfers: each of ex1 and ex2 takes the others' sealed copies.
for n in ex1 ex2 ex3; do
	peers=
	for o in ex1 ex2 ex3; do
		[ "$o" = "$n" ] || peers+="${peers:+,}${AFP[$o]}"
	done
	echo "transfer_peers = $peers" >>"$T/$n.conf"
done
for n in ex1 ex2; do
	cat >>"$T/$n.conf" <<-EOF

		[service https]
		kind = nginx
		chain = $S/$n/https.crt
		key = $S/$n/https.key
		test = $(srv_nginx_test_cmd "$S/$n/nginx")
		reload = $(srv_nginx_reload_cmd "$S/$n/nginx")
		check = 127.0.0.1:${NPORT[$n]}
		name = $NS
		timeout = 10
	EOF
done
# registry_conf A ENDPOINT - A's [registry] section.
registry_conf() {
	cat >>"$T/$1.conf" <<-EOF

		[registry]
		type = etcd
		endpoints = $2
		ca = $ETCD_PKI/ca.pem
		cert = $ETCD_PKI/client.pem
		key = $ETCD_PKI/client.key
		user = certfleet-agent-$1
		password_file = $T/$1.pw
		lease_ttl = $TTL
	EOF
}
# ex1 reaches etcd by name: resolved after the process confined itself.
registry_conf ex1 "https://localhost:$ETCD_PORT"
registry_conf ex2 "$ETCD_ENDPOINTS"
registry_conf ex3 "$ETCD_ENDPOINTS"

check "check-config takes the [registry] section" cfd check-config --config "$T/ex1.conf"
sed "s/^lease_ttl = $TTL\$/lease_ttl = 1/" "$T/ex1.conf" >"$T/bad.conf"
line=$(grep -n '^lease_ttl' "$T/bad.conf" | cut -d: -f1)
check_fails "check-config: a lease_ttl under 2 s refused, naming file:line" 1 \
	"bad.conf:$line: lease_ttl 1: give whole seconds from 2" \
	cfd check-config --config "$T/bad.conf"
sed 's/^ca = .*//' "$T/ex1.conf" >"$T/bad.conf"
check_fails "check-config: [registry] without ca refused" 1 \
	"bad.conf:[0-9]+: \[registry\] needs ca" cfd check-config --config "$T/bad.conf"

# sock A ARGS... - curl on agent A's Unix socket (root: admin).
sock() {
	local a=$1
	shift
	curl -s --max-time 30 --unix-socket "$SOCKDIR/$a.sock" "$@"
}
# served A - the thumbprint A's nginx serves.
served() { srv_served_thumb tls 127.0.0.1 "${NPORT[$1]}" "$NS"; }
serves() { [ "$(served "$1")" = "$2" ]; }
# st_is A STATE - A's status in the namespace is STATE.
st_is() { [ "$(field "/certfleet/agents/$1/status/$NS" .state)" = "$2" ]; }

# The namespace, before any agent starts: ex1 and ex2, https, waves 1,100%.
check "pin ex1" cfe put /certfleet/agents/ex1 \
	"{\"address\":\"127.0.0.1:1\",\"fingerprint\":\"${AFP[ex1]}\"}"
check "pin ex2" cfe put /certfleet/agents/ex2 \
	"{\"address\":\"127.0.0.1:2\",\"fingerprint\":\"${AFP[ex2]}\"}"
check "the namespace's spec: ex1, ex2 on https" cfe put "/certfleet/ns/$NS/spec" \
	'{"servers":["ex1","ex2"],"services":["https"],"waves":["1","100%"],"soak":0}'

for n in ex1 ex2 ex3; do
	agent_start "$n" || e2e_done
done
for n in ex1 ex2; do
	CERTFLEET_SOCKET=$SOCKDIR/$n.sock check "$n: OLD on https" \
		cf import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" --services https --force
done
CERTFLEET_SOCKET=$SOCKDIR/ex1.sock check "ex1: NEW and NEW2, no services" \
	cf import "$P/new.pem" "$P/new.key" "$P/new2.pem" "$P/new2.key" "$P/chain.pem"
expect_eq "set-up: both nginx serve OLD" "$(served ex1) $(served ex2)" "$OLD $OLD"

# --- registration ---------------------------------------------------------------
for n in ex1 ex2; do
	if wait_until 15 has "/certfleet/agents/$n/live"; then
		pass "$n: live key written"
	else
		fail "$n: live key written" "no /certfleet/agents/$n/live within 15 s"
		show "$T/$n.log"
	fi
	expect_eq "$n: live is under a lease and names its listener" \
		"$(cfe get "/certfleet/agents/$n/live" | jq -r 'select(.Key) | (.Lease != "0" and .Lease != null)') $(field "/certfleet/agents/$n/live" .address)" \
		"true 127.0.0.1:${APORT[$n]}"
	wait_until 10 has "/certfleet/agents/$n/identity"
	expect_eq "$n: identity is its agent certificate" \
		"$(field "/certfleet/agents/$n/identity" .certificate | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g')" \
		"$(openssl x509 -in "$T/$n/agent.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')"
	if wait_until 10 has "/certfleet/elect/$n/$NS"; then
		pass "$n: stands for $NS"
	else
		fail "$n: stands for $NS" "no /certfleet/elect/$n/$NS"
	fi
done
if grep -q "registry: registered as ex1 with https://localhost:$ETCD_PORT" "$T/ex1.log"; then
	pass "ex1 reached etcd by the name localhost, confined"
else
	fail "ex1 reached etcd by the name localhost, confined" "no 'registered' line"
	show "$T/ex1.log"
fi
if absent /certfleet/elect/ex3/$NS; then
	pass "ex3, not in the namespace, does not stand"
else
	fail "ex3, not in the namespace, does not stand" "it has a candidacy"
fi

# --- a rollout with a member stopped ---------------------------------------------
agent_stop ex2
if wait_until 2 absent /certfleet/agents/ex2/live; then
	pass "SIGTERM: the lease revoked, ex2's live key gone at once"
else
	fail "SIGTERM: the lease revoked, ex2's live key gone at once" "still there"
fi
# ex2's sealed copy of NEW, from ex1's export-sealed to ex2's identity.
jq -n --arg t "$NEW" --rawfile pem "$T/ex2/agent.crt" \
	'{thumbprint: $t, recipients: [$pem]}' >"$T/seal.json"
sock ex1 -X POST -H 'Content-Type: application/json' --data @"$T/seal.json" \
	http://agent/v1/export-sealed >"$T/sealed.json"
ID1=$(openssl rand -hex 16)
ID2=$(openssl rand -hex 16)
jq -c --arg t "$NEW" --arg id "$ID1" '{thumbprint: $t, rollout: $id, wave: 2, sealed: .sealed}' \
	"$T/sealed.json" >"$T/sealed-ex2.json"
if [ "$(jq -r .thumbprint "$T/sealed.json")" = "$NEW" ] &&
	cfe put "/certfleet/sealed/ex2/$NS" "$(cat "$T/sealed-ex2.json")" >/dev/null; then
	pass "sealed/ex2/$NS: NEW sealed by ex1 to ex2's identity"
else
	fail "sealed/ex2/$NS: NEW sealed by ex1 to ex2's identity" "export-sealed or put failed"
	show "$T/sealed.json"
fi
desired() { # THUMB ID [ROLLOUT_JSON]
	jq -nc --arg t "$1" --arg id "$2" --argjson r "${3:-null}" \
		'{thumbprint: $t, id: $id, agents: true} + (if $r then {rollout: $r} else {} end)'
}
# rollout THUMB PREVIOUS SOAK WAVES - the rollout's JSON: ex1 in wave 1,
# ex2 in 2; WAVES 3 adds a third, empty (waves 1,1,100% of two members).
rollout() {
	jq -nc --arg t "$1" --arg old "$2" --argjson soak "$3" --argjson n "$4" '{
	state: "running", certificate: $t, previous: $old, from: "ex1",
	waves: (if $n == 3 then ["1", "1", "100%"] else ["1", "100%"] end),
	soak: $soak, wave: 1, nwaves: $n, started: 1, updated: 1,
	members: []}'
}
# plan THUMB ID - what the CLI writes beside desired (the members are not
# in it): waves/NS (ex1 in wave 1, ex2 in 2) and ex1's sealed key, its
# wave with no sealed copy (ex1 holds the certificate: the source).
plan() {
	cfe put "/certfleet/waves/$NS" "$(jq -nc --arg id "$2" \
		'{rollout: $id, members: [{name: "ex1", wave: 1}, {name: "ex2", wave: 2}]}')" >/dev/null &&
		cfe put "/certfleet/sealed/ex1/$NS" "$(jq -nc --arg t "$1" --arg id "$2" \
			'{thumbprint: $t, rollout: $id, wave: 1}')" >/dev/null
}
check "waves/$NS and sealed/ex1/$NS: the plan of the rollout" plan "$NEW" "$ID1"
check "desired: NEW, a three-wave rollout, soak 1 s" \
	cfe put "/certfleet/ns/$NS/desired" "$(desired "$NEW" "$ID1" "$(rollout "$NEW" "$OLD" 1 3)")"

if wait_until 30 serves ex1 "$NEW"; then
	pass "wave 1: ex1's nginx serves NEW"
else
	fail "wave 1: ex1's nginx serves NEW" "it serves $(served ex1)"
	show "$T/ex1.log"
fi
wait_until 10 st_is ex1 converged
expect_eq "ex1's status: converged on NEW for the rollout" \
	"$(field "/certfleet/agents/ex1/status/$NS" '"\(.state) \(.target) \(.rollout)"')" \
	"converged $NEW $ID1"
done_progress() { [ "$(field "/certfleet/progress/ex1/$NS" .phase)" = "done" ]; }
if wait_until 20 done_progress; then
	pass "the coordinator (ex1) moved the rollout to done"
else
	fail "the coordinator (ex1) moved the rollout to done" \
		"progress: $(getv "/certfleet/progress/ex1/$NS")"
	show "$T/ex1.log"
fi
expect_eq "progress: the third wave, done" \
	"$(field "/certfleet/progress/ex1/$NS" '.wave')" 3
if [ "$(grep -c "registry: $NS: coordinator: wave 1 of 3 moving" "$T/ex1.log")" = 1 ] &&
	grep -q "registry: $NS: coordinator: wave 1 of 3 soak" "$T/ex1.log" &&
	grep -q "registry: $NS: coordinator: wave 2 of 3 moving" "$T/ex1.log" &&
	grep -q "registry: $NS: coordinator: wave 2 of 3 soak.*(pending: ex2)" "$T/ex1.log" &&
	grep -q "registry: $NS: coordinator: wave 3 of 3 done" "$T/ex1.log"; then
	pass "ex1's log: each coordinator write once: moving, soak (timer), ex2 pending, wave 3 done"
else
	fail "ex1's log: each coordinator write" "not found"
	show "$T/ex1.log"
fi
expect_eq "ex2, stopped, still serves OLD" "$(served ex2)" "$OLD"

agent_start ex2 || e2e_done
if wait_until 30 serves ex2 "$NEW"; then
	pass "ex2, started again, imports its sealed copy: its nginx serves NEW"
else
	fail "ex2, started again, imports its sealed copy: its nginx serves NEW" \
		"it serves $(served ex2)"
	show "$T/ex2.log"
fi
wait_until 10 st_is ex2 converged
expect_eq "ex2's status: converged on NEW, what https had before recorded" \
	"$(field "/certfleet/agents/ex2/status/$NS" '"\(.state) \(.target) \(.before[0].thumbprint)"')" \
	"converged $NEW $OLD"
expect_eq "ex2's audit: the import and the enable, by the actor registry" \
	"$(sock ex2 'http://agent/v1/log?newest=1&limit=50' |
		jq -r --arg t "$NEW" '[.[] | select(.Actor == "registry" and .Thumbprint == $t) | .Operation] | unique | join(",")')" \
	"enable,import-sealed"
if grep -q "registry: $NS: https serves ${NEW:0:8}, proven" "$T/ex2.log"; then
	pass "ex2's log: the convergence step"
else
	fail "ex2's log: the convergence step" "not found"
	show "$T/ex2.log"
fi

# --- SIGKILL: the lease expires -------------------------------------------------
# The key is looked at as soon as the signal is sent: the lease had at
# least two thirds of its TTL left at the last keepalive, so only a look
# that came later than that on a busy machine cannot tell.
t0=$(date +%s%N)
kill -KILL "${APID[ex1]}"
if has /certfleet/agents/ex1/live; then
	pass "SIGKILL: ex1's live key outlives it until its lease ends"
elif [ $((($(date +%s%N) - t0) / 1000000)) -ge $((TTL * 2000 / 3)) ]; then
	echo "SKIP SIGKILL: ex1's live key outlives it: looked too late to tell"
else
	fail "SIGKILL: ex1's live key outlives it until its lease ends" "gone at once"
	show "$T/ex1.log"
fi
agent_kill ex1 KILL
if wait_until $((TTL + 2)) absent /certfleet/agents/ex1/live; then
	pass "SIGKILL: ex1's live key gone within the lease's TTL ($TTL s)"
else
	fail "SIGKILL: ex1's live key gone within the lease's TTL ($TTL s)" "still there"
fi
expect_eq "ex2's live key stays" "$(has /certfleet/agents/ex2/live && echo yes)" yes

# --- a sealed copy for another agent ------------------------------------------------
# NEW2's copy at sealed/ex2/ is sealed by ex3 to ex1, not to ex2: ex2's
# store refuses it, and its status says where it failed.
jq -n --arg t "$NEW2" --rawfile pem "$T/ex1/agent.crt" \
	'{thumbprint: $t, recipients: [$pem]}' >"$T/seal.json"
CERTFLEET_SOCKET=$SOCKDIR/ex3.sock run cf import "$P/new2.pem" "$P/new2.key" "$P/chain.pem"
sock ex3 -X POST -H 'Content-Type: application/json' --data @"$T/seal.json" \
	http://agent/v1/export-sealed >"$T/sealed.json"
jq -c --arg t "$NEW2" --arg id "$ID2" '{thumbprint: $t, rollout: $id, wave: 2, sealed: .sealed}' \
	"$T/sealed.json" >"$T/sealed-ex2.json"
check "sealed/ex2/$NS: NEW2 sealed to ex1, not ex2" \
	cfe put "/certfleet/sealed/ex2/$NS" "$(cat "$T/sealed-ex2.json")"
check "desired: NEW2, no rollout" cfe put "/certfleet/ns/$NS/desired" "$(desired "$NEW2" "$ID2")"
if wait_until 30 st_is ex2 failed; then
	pass "ex2's status: failed"
else
	fail "ex2's status: failed" "$(getv "/certfleet/agents/ex2/status/$NS")"
	show "$T/ex2.log"
fi
expect_eq "the status names the step and the desired certificate" \
	"$(field "/certfleet/agents/ex2/status/$NS" '"\(.step) \(.target)"')" "import $NEW2"
expect_eq "ex2's nginx still serves NEW" "$(served ex2)" "$NEW"
# A sealed value that is not Base64: failed at import, once.
IDB=$(openssl rand -hex 16)
check "sealed/ex2/$NS: not Base64" cfe put "/certfleet/sealed/ex2/$NS" \
	"{\"thumbprint\":\"$NEW2\",\"rollout\":\"$IDB\",\"sealed\":\"!!\"}"
check "desired: NEW2 again, another id" cfe put "/certfleet/ns/$NS/desired" "$(desired "$NEW2" "$IDB")"
failed_for() { [ "$(field "/certfleet/agents/ex2/status/$NS" '"\(.state) \(.rollout) \(.step)"')" = "failed $IDB import" ]; }
if wait_until 20 failed_for; then
	pass "a malformed sealed value: failed at import, for the desired state"
else
	fail "a malformed sealed value: failed at import, for the desired state" \
		"$(getv "/certfleet/agents/ex2/status/$NS")"
fi
fails=$(grep -c 'wrote status failed' "$T/ex2.log")
more_fails() { [ "$(grep -c 'wrote status failed' "$T/ex2.log")" -gt "$fails" ]; }
if wait_until 3 more_fails; then
	fail "... not tried again until the desired state changes" "written again"
else
	pass "... not tried again until the desired state changes"
fi

# --- a member that fails its wave: the wave is put back -------------------
# ex1 comes back and stands again (after ex2 now: ex2 coordinates); a
# rollout of NEW2 whose wave 2 is ex2, with the copy ex2 cannot open:
# ex2 fails at import, the coordinator reverts wave 2 (ex2 put back on
# what https had: NEW) and stops.
agent_start ex1 || e2e_done
conv_on() { [ "$(field "/certfleet/agents/$1/status/$NS" '"\(.state) \(.target)"')" = "converged $2" ]; }
wait_until 30 conv_on ex1 "$NEW2"
expect_eq "ex1, back, converges on NEW2 (desired without a rollout)" \
	"$(field "/certfleet/agents/ex1/status/$NS" '"\(.state) \(.target)"') $(served ex1)" \
	"converged $NEW2 $NEW2"
ID3=$(openssl rand -hex 16)
jq -c --arg t "$NEW2" --arg id "$ID3" '{thumbprint: $t, rollout: $id, wave: 2, sealed: .sealed}' \
	"$T/sealed.json" >"$T/sealed-ex2.json"
check "sealed/ex2/$NS: NEW2 sealed to ex1, for wave 2 of the rollout" \
	cfe put "/certfleet/sealed/ex2/$NS" "$(cat "$T/sealed-ex2.json")"
check "waves/$NS and sealed/ex1/$NS: the plan of the rollout" plan "$NEW2" "$ID3"
check "desired: NEW2, a two-wave rollout" \
	cfe put "/certfleet/ns/$NS/desired" "$(desired "$NEW2" "$ID3" "$(rollout "$NEW2" "$NEW" 0 2)")"
stopped() { [ "$(field "/certfleet/progress/ex2/$NS" .phase)" = stopped ]; }
if wait_until 40 stopped; then
	pass "ex2 (now the coordinator) stopped the rollout after reverting wave 2"
else
	fail "ex2 (now the coordinator) stopped the rollout after reverting wave 2" \
		"progress: $(getv "/certfleet/progress/ex2/$NS")"
	show "$T/ex2.log"
fi
expect_eq "progress: wave 2, ex2 failed at import" \
	"$(field "/certfleet/progress/ex2/$NS" '"\(.wave) \(.member) \(.step)"')" "2 ex2 import"
expect_eq "ex2's status: converged on what it had before (to_before)" \
	"$(field "/certfleet/agents/ex2/status/$NS" '"\(.state) \(.to_before) \(.rollout)"')" \
	"converged true $ID3"
expect_eq "ex2's nginx serves NEW, ex1's NEW2 (wave 1 stays moved)" \
	"$(served ex2) $(served ex1)" "$NEW $NEW2"
if grep -q "registry: $NS: coordinator: wave 2 of 2 reverting (ex2 failed)" "$T/ex2.log" &&
	grep -q "registry: $NS: putting back what the services had" "$T/ex2.log"; then
	pass "ex2's log: the revert, as coordinator and as member"
else
	fail "ex2's log: the revert, as coordinator and as member" "not found"
	show "$T/ex2.log"
fi

# --- etcd away: the agents serve, say it once, and come back ---------------
regs() { grep -c "registry: registered as $1 " "$T/$1.log"; }
before=$(regs ex2)
etcd_member_kill 1
outage() { grep -q 'the agent serves its API as ever\|watch: .*listing again' "$T/ex2.log"; }
if wait_until 15 outage; then
	pass "etcd killed: ex2 says so"
else
	fail "etcd killed: ex2 says so" "no such line"
	show "$T/ex2.log"
fi
expect_eq "... and serves its API" "$(sock ex2 http://agent/v1/whoami | jq -r .agent)" ex2
etcd_member_start 1
if etcd_wait_healthy 20 && wait_until 40 bash -c "[ \$(grep -c 'registry: registered as ex2 ' '$T/ex2.log') -gt $before ]"; then
	pass "etcd back: ex2 registers again"
else
	fail "etcd back: ex2 registers again" "no second 'registered' line"
	show "$T/ex2.log"
fi
if wait_until 10 has /certfleet/agents/ex2/live; then
	pass "... its live key is there"
else
	fail "... its live key is there" "absent"
fi
expect_eq "the outage is said once" \
	"$(grep -c 'the agent serves its API as ever\|watch: .*listing again' "$T/ex2.log")" 1

# --- SIGHUP keeps the running section, saying so when it changed ----------
sed -i "s/^lease_ttl = $TTL\$/lease_ttl = 20/" "$T/ex2.conf"
kill -HUP "${APID[ex2]}"
if wait_until 10 grep -q 'reload: \[registry\] changed: restart certfleetd to apply it' "$T/ex2.log"; then
	pass "SIGHUP: a changed [registry] is said to need a restart"
else
	fail "SIGHUP: a changed [registry] is said to need a restart" "no such line"
	show "$T/ex2.log"
fi
sed -i "s/^lease_ttl = 20\$/lease_ttl = $TTL/" "$T/ex2.conf"

# --- a wrong password -----------------------------------------------------------------
agent_stop ex3
(umask 077 && echo wrong-password >"$T/ex3.pw")
agent_start ex3 || e2e_done
if wait_until 15 grep -q 'registry: lease grant: .*authentication failed' "$T/ex3.log"; then
	pass "a wrong password: the agent logs etcd's refusal"
else
	fail "a wrong password: the agent logs etcd's refusal" "no such line"
	show "$T/ex3.log"
fi
if grep -q wrong-password "$T/ex3.log"; then
	fail "the password is not in the log" "it is"
else
	pass "the password is not in the log"
fi
expect_eq "... and serves its API all the same" \
	"$(sock ex3 http://agent/v1/whoami | jq -r .agent)" ex3
# Retried after 1 and 2 s: a window in which a second line would show.
refusals() { [ "$(grep -c 'registry: lease grant: ' "$T/ex3.log")" -gt 1 ]; }
if wait_until 4 refusals; then
	fail "the refusal is logged once per outage" "$(grep -c 'registry: lease grant: ' "$T/ex3.log") lines"
else
	pass "the refusal is logged once per outage"
fi

e2e_done
