#!/usr/bin/env bash
# registry-agents.sh - the etcd registry's agent side, for real: a
# three-member etcd cluster with TLS and RBAC (etcd-lib.sh), three agents
# (ex1, ex2, ex3), each with a private nginx as service https and a
# [registry] section, a TCP-mode haproxy in front of them, and users
# sampled through it (a handshake every 100 ms, chain and name verified
# against the test root) during every rollout.
#   - each agent is enrolled (`registry enroll`: its own etcd user and
#     role), registers under a lease and publishes its identity; RBAC,
#     checked by trying: an agent reads the fleet and its own sealed
#     material, not another's, and writes its own keys only;
#   - with ex3's agent stopped, `rollout` returns at once and the elected
#     coordinator moves wave 1 (ex1) then wave 2 with no CLI running; ex3,
#     started again, converges within seconds;
#   - SIGKILL of the coordinator in the soak after wave 1: another member
#     takes over and finishes, and no member moved twice (its log);
#   - SIGKILL of the etcd leader mid-rollout: the rollout finishes;
#   - ex3's reload fails in wave 2: the wave goes back, the rollout
#     stops, status says who and why; --resume after the fix completes;
#   - --abort puts everyone back;
#   - no sample through haproxy ever saw an invalid certificate.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/registry-agents.sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # the small functions run through wait_until
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"
# shellcheck source=etcd-lib.sh
. "$HERE/etcd-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=90
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEETD_CONFIG NOTIFY_SOCKET
export CERTFLEET_SOCKET=$T/no-agent.sock

LB_DIR=$T/lb
SAMPLER_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
	srv_stop_all
	etcd_stop_all
	agents_cleanup
}
trap cleanup EXIT
require_tools "$CERTFLEETD" nginx haproxy openssl python3 jq

if ! etcd_cluster_start --rbac; then
	fail "etcd cluster" "three members did not come up healthy"
	e2e_done
fi
pass "etcd cluster: three members with TLS and RBAC"
export CFE_USER=root
PFX=/certfleet
NS=mail.example.com
read -r -d '' N1 N2 N3 LB A1 A2 A3 < <(free_ports 7) || true
declare -A NPORT=([ex1]=$N1 [ex2]=$N2 [ex3]=$N3) AGPORT=([ex1]=$A1 [ex2]=$A2 [ex3]=$A3)

P=$T/pki
if ! { make_pki "$P" && make_leaf "$P" new 3001 && make_leaf "$P" new2 3002 &&
	make_leaf "$P" new3 3003; }; then
	fail pki "make_pki or make_leaf failed"
	e2e_done
fi
OLD=$(thumb "$P/leaf.pem")
NEW=$(thumb "$P/new.pem")
NEW2=$(thumb "$P/new2.pem")
NEW3=$(thumb "$P/new3.pem")
ROOT=$P/root.pem

# ---- three nginx and the balancer ------------------------------------------
S=$T/srv
started=1
for n in ex1 ex2 ex3; do
	mkdir -p "$S/$n"
	cp "$P/ec.pem" "$S/$n/https.crt"
	cp "$P/ec.key" "$S/$n/https.key"
	chmod 600 "$S/$n/https.key"
	srv_nginx_start "$S/$n/nginx" "${NPORT[$n]}" "$S/$n/https.crt" \
		"$S/$n/https.key" "$NS" || started=0
done
mkdir -p "$LB_DIR"
cat >"$LB_DIR/haproxy.cfg" <<EOF
# the balancer of a certfleet e2e test: TLS passes through
global
	daemon
	pidfile $LB_DIR/haproxy.pid
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend mail
	bind 127.0.0.1:$LB
	default_backend farm
backend farm
	balance roundrobin
	server ex1 127.0.0.1:$N1
	server ex2 127.0.0.1:$N2
	server ex3 127.0.0.1:$N3
EOF
if haproxy -f "$LB_DIR/haproxy.cfg" 2>"$LB_DIR/start.err" &&
	srv__record "$LB_DIR" "$LB_DIR/haproxy.pid" && srv_wait_port 127.0.0.1 "$LB"; then
	pass "servers: three nginx and a TCP-mode haproxy on loopback"
else
	show "$LB_DIR/start.err"
	started=0
fi
[ "$started" = 1 ] || {
	fail "servers: three nginx and a TCP-mode haproxy on loopback"
	e2e_done
}

# ---- the fleet on etcd, the agents enrolled ---------------------------------
export CERTFLEET_HOME=$T/home
check "id" cf id --json
ID=$(jq -r .Fingerprint "$OUT")
check "registry set etcd (as etcd's root: enroll grants roles)" cf registry set etcd \
	--endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" --cert "$ETCD_PKI/client.pem" \
	--key "$ETCD_PKI/client.key" --user root --password-file "$ETCD_PKI/root.pw"
for n in ex1 ex2 ex3; do
	# each agent its own CN-less transport certificate
	etcd__cert "$n" "/O=certfleet-e2e/OU=agent-$n" clientAuth
	(umask 077 && openssl rand -hex 16 >"$T/$n.etcd.pw")
	check "registry enroll $n" cf registry enroll "$n" --password-file "$T/$n.etcd.pw"
	cp "$T/$n.etcd.pw" "$ETCD_PKI/certfleet-agent-$n.pw"
done
run cf registry enroll ex1 --password-file "$T/ex1.etcd.pw"
expect_eq "enroll again: the same grants, exit 0" "$RC" 0

for n in ex1 ex2 ex3; do
	agent_conf "$n" "${AGPORT[$n]}"
	cfd init --config "$T/$n.conf" >/dev/null 2>&1
	AFP[$n]=$(cfd fingerprint --config "$T/$n.conf")
done
# The source seals each member's material to that member's identity:
# agent-to-agent transfer between the three, as `copy` needs it.
for n in ex1 ex2 ex3; do
	peers=
	for o in ex1 ex2 ex3; do
		[ "$o" = "$n" ] || peers+="${peers:+,}${AFP[$o]}"
	done
	cat >>"$T/$n.conf" <<-EOF
		transfer_peers = $peers

		[registry]
		type = etcd
		endpoints = $ETCD_ENDPOINTS
		ca = $ETCD_PKI/ca.pem
		cert = $ETCD_PKI/$n.pem
		key = $ETCD_PKI/$n.key
		user = certfleet-agent-$n
		password_file = $T/$n.etcd.pw
		lease_ttl = 3

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
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	agent_start "$n" || e2e_done
	check "fleet add $n" cf fleet add "$n" "127.0.0.1:${AGPORT[$n]}" --fingerprint "${AFP[$n]}"
	check "$n: OLD with its chain on https" cf import "$P/leaf.pem" "$P/leaf.key" \
		"$P/chain.pem" --services https --force --server "$n"
done
check "ex1: NEW, NEW2 and NEW3 (exportable: sealed per member anyway)" \
	cf import "$P/new.pem" "$P/new.key" "$P/chain.pem" --exportable --server ex1
cf import "$P/new2.pem" "$P/new2.key" "$P/chain.pem" --server ex1 >/dev/null
cf import "$P/new3.pem" "$P/new3.key" "$P/chain.pem" --server ex1 >/dev/null
check "namespace of the three, waves 1,100%, soak 3s, via haproxy" \
	cf namespace add "$NS" --servers ex1,ex2,ex3 --via "127.0.0.1:$LB" \
	--waves 1,100% --soak 3s

# val KEY - the value at KEY (as root), or nothing.
val() { cfe get "$1" | jq -rc 'select(.Key) | .Value'; }
# keys PREFIX - the keys under PREFIX, one a line.
keys() { cfe get "$1" --prefix --keys-only | jq -r 'select(.Key) | .Key'; }
registered() { [ -n "$(val "$PFX/agents/$1/live")" ]; }
for n in ex1 ex2 ex3; do
	if wait_until 15 registered "$n"; then
		pass "$n registers under its lease"
	else
		fail "$n registers under its lease" "no $PFX/agents/$n/live within 15 s"
		show "$T/$n.log"
	fi
done
expect_eq "ex1's live key says where it listens" \
	"$(val "$PFX/agents/ex1/live" | jq -r .address)" "127.0.0.1:$A1"
id_fp=$(val "$PFX/agents/ex2/identity" | jq -r .certificate | openssl x509 -noout \
	-fingerprint -sha256 | sed 's/.*=//; s/://g')
expect_eq "ex2 publishes its identity: the certificate it is pinned by" \
	"SHA256:$id_fp" "$(echo "${AFP[ex2]}" | tr 'a-f' 'A-F' | sed 's/^SHA256:/SHA256:/')"

# ---- RBAC, checked by trying ------------------------------------------------------
as() { CFE_USER=certfleet-agent-$1 cfe "${@:2}"; }
run as ex1 get "$PFX/ns/$NS/spec"
expect_eq "ex1 reads the namespace" "$RC $(jq -r 'select(.Key) | .Key' "$OUT")" "0 $PFX/ns/$NS/spec"
run as ex1 put "$PFX/agents/ex1/status/probe.example.com" '{}'
expect_eq "ex1 writes under its own name" "$RC" 0
cfe del "$PFX/agents/ex1/status/probe.example.com" >/dev/null
run as ex1 put "$PFX/agents/ex2/status/$NS" '{}'
expect_eq "ex1 may not write ex2's status" "$RC $(grep -c 'permission denied' "$ERR")" "1 1"
run as ex1 put "$PFX/ns/$NS/desired" '{}'
expect_eq "ex1 may not write the desired state" "$RC $(grep -c 'permission denied' "$ERR")" "1 1"
run as ex1 put "$PFX/agents/ex1" '{}'
expect_eq "ex1 may not rewrite its own pin" "$RC $(grep -c 'permission denied' "$ERR")" "1 1"
cfe put "$PFX/sealed/ex2/probe.example.com" 'x' >/dev/null
run as ex1 get "$PFX/sealed/ex2/probe.example.com"
expect_eq "ex1 may not read ex2's sealed material" "$RC $(grep -c 'permission denied' "$ERR")" "1 1"
run as ex2 get "$PFX/sealed/ex2/probe.example.com"
expect_eq "ex2 reads its own" "$RC $(jq -r 'select(.Key) | .Value' "$OUT")" "0 x"
cfe del "$PFX/sealed/ex2/probe.example.com" >/dev/null

# ---- helpers: what is served, where the rollout stands --------------------------
served() {
	local n out=
	for n in ex1 ex2 ex3; do
		out+="$n=$(srv_served_thumb tls 127.0.0.1 "${NPORT[$n]}" "$NS") "
	done
	echo "${out% }"
}
all() { echo "ex1=$1 ex2=$2 ex3=$3"; }
serve_all() { [ "$(served)" = "$(all "$1" "$1" "$1")" ]; }
# coordinator - the candidate whose elect key is oldest.
coordinator() {
	cfe get "$PFX/elect/" --prefix | jq -rs --arg ns "$NS" \
		'[.[] | select(.Key and (.Key | endswith("/" + $ns)))] |
		 sort_by(.CreateRevision | tonumber) | .[0].Key // "" | split("/")[3] // ""'
}
# phase - the progress that counts: "PHASE WAVE" (the latest written).
phase() {
	cfe get "$PFX/progress/" --prefix | jq -rs --arg ns "$NS" \
		'[.[] | select(.Key and (.Key | endswith("/" + $ns)))] |
		 sort_by(.ModRevision | tonumber) | .[-1].Value // "{}" | fromjson |
		 "\(.phase) \(.wave)"'
}
phase_is() { [ "$(phase)" = "$1" ]; }

cat >"$T/sampler.py" <<-'EOF'
	import hashlib, os, socket, ssl, sys, time
	host, port, sni, root, stop, out = sys.argv[1:7]
	ctx = ssl.create_default_context(cafile=root)
	with open(out, "w", buffering=1) as f:
	    while not os.path.exists(stop):
	        try:
	            with socket.create_connection((host, int(port)), timeout=5) as s:
	                with ctx.wrap_socket(s, server_hostname=sni) as t:
	                    der = t.getpeercert(binary_form=True)
	            f.write(hashlib.sha1(der).hexdigest().upper() + "\n")
	        except Exception as e:
	            f.write("INVALID " + str(e).replace("\n", " ") + "\n")
	        time.sleep(0.1)
EOF
sampler_start() {
	rm -f "$T/sampler.stop"
	python3 "$T/sampler.py" 127.0.0.1 "$LB" "$NS" "$ROOT" "$T/sampler.stop" "$T/samples.$1" &
	SAMPLER_PID=$!
	wait_until 10 test -s "$T/samples.$1" || fail "sampler: no sample within 10 s"
}
samples_at_least() { [ "$(wc -l <"$T/samples.$1")" -ge "$2" ]; }
# sampler_stop NAME OLD NEW - every sample was OLD or NEW, valid.
sampler_stop() {
	local total bad
	# at least 20 samples, however fast the rollout went
	wait_until 10 samples_at_least "$1" 20
	touch "$T/sampler.stop"
	wait "$SAMPLER_PID"
	SAMPLER_PID=
	total=$(wc -l <"$T/samples.$1")
	bad=$(grep -cv -e "^$2$" -e "^$3$" "$T/samples.$1")
	if [ "$total" -ge 20 ] && [ "$bad" = 0 ]; then
		pass "$1: $total samples through haproxy, each the old or the new certificate, valid"
	else
		fail "$1: $total samples through haproxy, each the old or the new certificate, valid" \
			"$bad others: $(grep -v -e "^$2$" -e "^$3$" "$T/samples.$1" | sort | uniq -c | head -3)"
	fi
}
# moves N THUMB - how many times agent N's audit shows THUMB assigned to
# its services by the registry (an enable as "registry": the deploy).
moves() {
	cf log --server "$1" --json | jq --arg t "$2" '[.Items[] |
	    select(.Thumbprint == $t and .Actor == "registry" and
	    .Operation == "enable")] | length'
}

# ---- a rollout with ex3 down: the coordinator moves it, ex3 catches up ------------
agent_kill ex3 TERM
unregistered() { ! registered "$1"; }
if wait_until 15 unregistered ex3; then
	pass "ex3 stopped: its live key goes with its lease"
else
	fail "ex3 stopped: its live key goes with its lease"
fi
sampler_start first
t0=$SECONDS
check "rollout NEW: handed to the agents" cf rollout "$NS" --certificate "$NEW" --from ex1
if [ $((SECONDS - t0)) -le 20 ]; then
	pass "rollout returns without driving the waves itself"
else
	fail "rollout returns without driving the waves itself" "took $((SECONDS - t0)) s"
fi
expect_eq "the CLI wrote a sealed key for each member (ex1 too: its wave)" \
	"$(keys "$PFX/sealed/" | grep "/$NS$" | cut -d/ -f4 | paste -sd,)" "ex1,ex2,ex3"
expect_eq "... a sealed copy for each member but the source (ex1 holds it)" \
	"$(for m in ex1 ex2 ex3; do val "$PFX/sealed/$m/$NS" | jq -r '"\(.wave):\(has("sealed"))"'; done | paste -sd,)" \
	"1:false,2:true,2:true"
expect_eq "desired holds no member list" \
	"$(val "$PFX/ns/$NS/desired" | jq -c '.rollout.members')" "[]"
expect_eq "waves/$NS holds the members and their waves, for desired's rollout" \
	"$(val "$PFX/waves/$NS" | jq -c '[.members[] | [.name, .wave]]') $(val "$PFX/waves/$NS" | jq -r .rollout)" \
	"[[\"ex1\",1],[\"ex2\",2],[\"ex3\",2]] $(val "$PFX/ns/$NS/desired" | jq -r .id)"
run as ex2 get "$PFX/waves/$NS"
expect_eq "an agent reads waves/ (the coordinator's plan)" "$RC $(jq -r 'select(.Key) | .Key' "$OUT")" "0 $PFX/waves/$NS"
run as ex2 get "$PFX/sealed/ex3/$NS"
expect_eq "... but still not another member's sealed key" "$RC $(grep -c 'permission denied' "$ERR")" "1 1"
if wait_until 60 phase_is "done 2"; then
	pass "the coordinator moved wave 1, then wave 2: done"
else
	fail "the coordinator moved wave 1, then wave 2: done" "progress: $(phase)"
fi
expect_eq "ex1 and ex2 serve NEW, ex3 (down) still OLD" "$(served)" "$(all "$NEW" "$NEW" "$OLD")"
run cf status "$NS" --json
expect_eq "status: not converged while ex3 is down (exit 1)" "$RC" 1
agent_start ex3
if wait_until 20 serve_all "$NEW"; then
	pass "ex3, started again, converges on its own"
else
	fail "ex3, started again, converges on its own" "$(served)"
	show "$T/ex3.log"
fi
converged() { cf status "$NS" >/dev/null 2>&1; }
if wait_until 20 converged; then
	pass "status: every member serves NEW: exit 0"
else
	fail "status: every member serves NEW: exit 0"
fi
sampler_stop first "$OLD" "$NEW"

# ---- SIGKILL of the coordinator in the soak after wave 1 ----------------------------
C=$(coordinator)
if [ -n "$C" ]; then
	pass "a coordinator is elected: $C"
else
	fail "a coordinator is elected" "no elect key"
fi
sampler_start coord
check "rollout NEW2" cf rollout "$NS" --certificate "$NEW2" --from ex1
if wait_until 30 phase_is "soak 1"; then
	pass "wave 1 moved, soak under way"
else
	fail "wave 1 moved, soak under way" "progress: $(phase)"
fi
agent_kill "$C"
if wait_until 60 phase_is "done 2"; then
	pass "after SIGKILL of coordinator $C another member finished the rollout"
else
	fail "after SIGKILL of coordinator $C another member finished the rollout" "progress: $(phase)"
fi
N2=$(coordinator)
expect_eq "the new coordinator is another member" "$([ -n "$N2" ] && [ "$N2" != "$C" ] && echo yes)" yes
agent_start "$C"
if wait_until 30 serve_all "$NEW2"; then
	pass "every member serves NEW2 ($C after its restart)"
else
	fail "every member serves NEW2 ($C after its restart)" "$(served)"
fi
for n in ex1 ex2 ex3; do
	got=$(moves "$n" "$NEW2")
	if [ "$got" = 1 ]; then
		pass "$n moved to NEW2 once"
	else
		fail "$n moved to NEW2 once" "$got times"
		cf log --server "$n" --json | jq -c --arg t "$NEW2" '.Items[] |
		    select(.Thumbprint == $t) | [.Time, .Actor, .Operation, .Outcome]' |
			sed 's/^/    | /'
	fi
done
sampler_stop coord "$NEW" "$NEW2"

# ---- SIGKILL of the etcd leader mid-rollout ----------------------------------------
sampler_start leader
check "rollout NEW3" cf rollout "$NS" --certificate "$NEW3" --from ex1
wait_until 30 phase_is "soak 1" || fail "wave 1 of NEW3" "progress: $(phase)"
L=$(etcd_leader)
etcd_member_kill "$L"
pass "etcd leader n$L killed in the soak of wave 1"
ETCD_ENDPOINTS=$(printf '%s\n' "${ETCD_URLS[@]}" | grep -v "^${ETCD_URLS[$L - 1]}$" | paste -sd,)
if wait_until 60 phase_is "done 2" && wait_until 20 serve_all "$NEW3"; then
	pass "the rollout finishes on the two members left"
else
	fail "the rollout finishes on the two members left" "progress: $(phase); $(served)"
fi
sampler_stop leader "$NEW2" "$NEW3"
etcd_member_start "$L"
ETCD_ENDPOINTS=$(IFS=, && echo "${ETCD_URLS[*]}")
etcd_wait_healthy 20 || fail "etcd n$L rejoins"

# ---- a failure in wave 2 goes back; --resume; --abort ---------------------------------
mv "$S/ex3/nginx/nginx.pid" "$S/ex3/nginx/nginx.pid.away"
sampler_start fail
check "rollout NEW (ex3's reload will fail)" cf rollout "$NS" --certificate "$NEW" --from ex1
if wait_until 60 phase_is "stopped 2"; then
	pass "ex3's reload fails: wave 2 goes back, the rollout stops"
else
	fail "ex3's reload fails: wave 2 goes back, the rollout stops" "progress: $(phase)"
fi
expect_eq "ex1 serves NEW, ex2 and ex3 are back on NEW3" "$(served)" "$(all "$NEW" "$NEW3" "$NEW3")"
run cf status "$NS" --json
if [ "$RC" = 1 ] && jq -e '.Items[0] | .Rollout.State == "stopped" and
	(.Members[] | select(.Server == "ex3") | .State == "failed" and .Step == "deploy")' \
	"$OUT" >/dev/null; then
	pass "status: stopped, ex3 failed at deploy, exit 1"
else
	fail "status: stopped, ex3 failed at deploy, exit 1" "exit $RC"
	show "$OUT" 30
fi
mv "$S/ex3/nginx/nginx.pid.away" "$S/ex3/nginx/nginx.pid"
check "rollout --resume after the fix" cf rollout "$NS" --resume
if wait_until 60 phase_is "done 2" && wait_until 20 serve_all "$NEW"; then
	pass "resume: every member serves NEW"
else
	fail "resume: every member serves NEW" "progress: $(phase); $(served)"
fi
sampler_stop fail "$NEW3" "$NEW"

sampler_start abort
check "rollout NEW2 (soak 3s)" cf rollout "$NS" --certificate "$NEW2" --from ex1
wait_until 30 phase_is "soak 1" || fail "wave 1 of the rollout to abort" "progress: $(phase)"
check "rollout --abort" cf rollout "$NS" --abort
if wait_until 30 serve_all "$NEW"; then
	pass "abort: everyone is back on NEW"
else
	fail "abort: everyone is back on NEW" "$(served)"
fi
sampler_stop abort "$NEW" "$NEW2"
e2e_done
