#!/usr/bin/env bash
# rollout.sh - `certfleet rollout NAMESPACE` for real on the file
# registry, and `certfleet status`: three agents (ex1, ex2, ex3), each
# with a private nginx as service https, and a TCP-mode haproxy in front
# of the three (the namespace's --via).  Waves 1,100%: ex1, then ex2 and
# ex3.
#   - --dry-run changes nothing (every store's get --json and the fleet
#     file before and after); bad input is refused with nothing changed;
#   - ex3's reload is made to fail (its nginx.pid moved away): wave 2
#     fails at ex3's deploy, ex2 and ex3 are put back on the old
#     certificate (by handshake), the rollout stops (exit 1) and says
#     who, which step and what users get; status shows it; a second
#     rollout is refused; after the fix --resume completes it;
#   - a healthy rollout to a third certificate (soak 1s) while a sampler
#     connects through haproxy the whole time: every sample is the old or
#     the new certificate;
#   - a balancer that serves a third certificate fails wave 1 at via;
#   - a certificate that does not name the namespace fails the canary's
#     test and is put back (a namespace without balancer: what its server
#     serves now is said);
#   - with ex3's agent stopped a rollout stops with ex3 pending (ex1 and
#     ex2 moved, not reverted); --resume moves ex3 once it is back; after
#     another such partial rollout --abort puts them back (by handshake);
#   - a CLI killed (SIGKILL) in the soak after wave 1: --resume finishes.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/rollout.sh
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"

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
	agents_cleanup
}
trap cleanup EXIT
require_tools "$CERTFLEETD" nginx haproxy openssl python3 jq
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	fail "rollout: python3-jsonschema" "not installed (scripts/setup-deps.sh installs it)"
	e2e_done
fi
# valid NAME SCHEMA - the last command's stdout is valid against SCHEMA
# of docs/json.md.
valid() {
	cp "$OUT" "$T/doc.json"
	if python3 "$HERE/json-schema.py" "$E2E_ROOT/docs/json.md" "$2" "$T/doc.json" 2>"$T/why"; then
		pass "$1"
	else
		fail "$1" "not valid against schema $2 of docs/json.md"
		show "$T/why"
	fi
}

NS=mail.example.com
read -r -d '' N1 N2 N3 LB A1 A2 A3 OTHER < <(free_ports 8) || true
declare -A NPORT=([ex1]=$N1 [ex2]=$N2 [ex3]=$N3) AGPORT=([ex1]=$A1 [ex2]=$A2 [ex3]=$A3)

P=$T/pki
if ! { make_pki "$P" && make_leaf "$P" new 3001 && make_leaf "$P" new2 3002; }; then
	fail pki "make_pki or make_leaf failed"
	e2e_done
fi
OLD=$(thumb "$P/leaf.pem")
NEW=$(thumb "$P/new.pem")
NEW2=$(thumb "$P/new2.pem")
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
	:
else
	show "$LB_DIR/start.err"
	started=0
fi
if [ "$started" = 1 ]; then
	pass "servers: three nginx and a TCP-mode haproxy on loopback"
else
	fail "servers: three nginx and a TCP-mode haproxy on loopback"
	e2e_done
fi

# ---- three agents, each serving OLD on https --------------------------------
export CERTFLEET_HOME=$T/home
F=$T/home/fleet.json
check "id" cf id --json
ID=$(jq -r .Fingerprint "$OUT")
for n in ex1 ex2 ex3; do
	agent_conf "$n" "${AGPORT[$n]}"
	cfd init --config "$T/$n.conf" >/dev/null 2>&1
	AFP[$n]=$(cfd fingerprint --config "$T/$n.conf")
done
# Each agent seals keys that are not exportable to the two others, and
# opens what they seal: NEW2's key travels sealed, agent to agent.
for n in ex1 ex2 ex3; do
	peers=
	for o in ex1 ex2 ex3; do
		[ "$o" = "$n" ] || peers+="${peers:+,}${AFP[$o]}"
	done
	cat >>"$T/$n.conf" <<-EOF
		transfer_peers = $peers

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
check "ex1: NEW (exportable) and NEW2 (not exportable), no services" \
	cf import "$P/new.pem" "$P/new.key" "$P/chain.pem" --exportable --server ex1
check "ex1: NEW2, its key not exportable" cf import "$P/new2.pem" "$P/new2.key" --server ex1
check "namespace of the three, waves 1,100%, via haproxy" \
	cf namespace add "$NS" --servers ex1,ex2,ex3 --via "127.0.0.1:$LB" --waves 1,100%

# served N - the thumbprint each nginx serves, "ex1=T1 ex2=T2 ex3=T3".
served() {
	local n out=
	for n in ex1 ex2 ex3; do
		out+="$n=$(srv_served_thumb tls 127.0.0.1 "${NPORT[$n]}" "$NS") "
	done
	echo "${out% }"
}
all() { echo "ex1=$1 ex2=$2 ex3=$3"; }
expect_eq "set-up: every nginx serves OLD" "$(served)" "$(all "$OLD" "$OLD" "$OLD")"

# snapshot - every store's certificates and services, and the fleet file.
snapshot() {
	local n
	for n in ex1 ex2 ex3; do
		cf get --server "$n" --json | jq -c '[.Items[] | [.Thumbprint, .Services]]'
	done
	cat "$F"
}
# state - the rollout's state in the fleet file, "state wave ex1:s ex2:s ex3:s".
state() {
	jq -r --arg ns "$NS" '.namespaces[] | select(.name == $ns) | .rollout |
	    "\(.state) \(.wave) " + ([.members[] | "\(.name):\(.state)"] | join(" "))' "$F"
}

# ---- dry run and bad input: nothing changes ---------------------------------
BEFORE=$(snapshot)
check "dry run" cf rollout "$NS" --certificate "$NEW" --dry-run --ca-file "$ROOT"
run cf rollout "$NS" --certificate "$NEW2" --dry-run --json
expect_eq "dry run of NEW2: from ex1, sealed agent to agent" "$RC $(jq -r '"\(.From) \(.Transfer)"' "$OUT")" "0 ex1 sealed"
check_fails "an unknown namespace" 1 'nope.example.com: no such namespace' \
	cf rollout nope.example.com --certificate "$NEW"
check_fails "--from a server that does not hold it" 1 "ex2: $NEW: not held there" \
	cf rollout "$NS" --certificate "$NEW" --from ex2
check_fails "a certificate no member holds" 1 "no server of $NS holds 0000" \
	cf rollout "$NS" --certificate 0000
jq '(.namespaces[0].servers) = []' "$F" >"$T/empty.json"
check_fails "a namespace without servers" 1 'no servers' \
	cf --fleet "$T/empty.json" rollout "$NS" --certificate "$NEW"
check_fails "--resume without a rollout" 1 "$NS: no rollout to resume" cf rollout "$NS" --resume
check_fails "--abort without a rollout" 1 "$NS: no rollout to abort" cf rollout "$NS" --abort
check_fails "--resume with --waves" 2 'own source, waves' cf rollout "$NS" --resume --waves 100%
expect_eq "dry run and bad input: no store and no fleet file changed" "$(snapshot)" "$BEFORE"
run cf status "$NS" --json
expect_eq "status before any rollout: no desired certificate, members agree: exit 0" \
	"$RC $(jq -c '[.Items[0].Desired, .Items[0].Converged]' "$OUT")" '0 [null,true]'
run cf status
if [ "$RC" = 0 ] && grep -q "^$NS: desired none (never rolled out; the servers must agree); converged$" "$OUT" &&
	[ "$(grep -Ec "^ex[123] +- +- +- +- +https ${OLD:0:8} ok " "$OUT")" = 3 ]; then
	pass "status of every namespace, as a table: a row per server, what https serves"
else
	fail "status of every namespace, as a table: a row per server, what https serves" "exit $RC"
	show "$OUT"
fi
check_fails "status of an unknown namespace" 1 "nope.example.com: no such namespace" \
	cf status nope.example.com
check_fails "status takes one namespace" 2 "at most one NAMESPACE" cf status a b
cf import "$P/ec.pem" "$P/ec.key" "$P/chain.pem" --services https --force --server ex3 >/dev/null
run cf status "$NS" --json
expect_eq "status: ex3 serves another certificate, members disagree: exit 1" \
	"$RC $(jq -c '[.Items[0].Converged, (.Items[0].Members[] | select(.Server == "ex3") | .Services[0].Ok)]' "$OUT")" \
	'1 [false,false]'
cf enable "$OLD" --services https --force --server ex3 >/dev/null

# ---- wave 2 fails at ex3's reload: reverted, stopped --------------------------
mv "$S/ex3/nginx/nginx.pid" "$S/ex3/nginx/nginx.pid.away"
run cf rollout "$NS" --certificate "$NEW" --ca-file "$ROOT"
expect_eq "ex3's reload fails: exit 1" "$RC" 1
if grep -q "ex3: failed at deploy: .*reload" "$ERR" &&
	grep -q "wave 2 (ex2,ex3) put back on the previous certificate; rollout stopped" "$ERR" &&
	grep "users through 127.0.0.1:$LB get now: " "$ERR" | grep -q "${OLD:0:8} (old) " &&
	! grep "get now: " "$ERR" | grep -Eq "other|failed"; then
	pass "failure: names the member, the step, the revert and what users get"
else
	fail "failure: names the member, the step, the revert and what users get"
	show "$ERR" 12
fi
expect_eq "failure: ex1 serves NEW, ex2 and ex3 are back on OLD" "$(served)" "$(all "$NEW" "$OLD" "$OLD")"
expect_eq "failure: the state: stopped in wave 2, ex2 reverted, ex3 failed" \
	"$(state)" "stopped 2 ex1:moved ex2:reverted ex3:failed"
run cf status "$NS" --json
if [ "$RC" = 1 ] && jq -e --arg new "$NEW" --arg old "$OLD" '.Items[0] |
	.Desired == $new and .Converged == false and .Rollout.State == "stopped" and
	.Rollout.Wave == 2 and
	(.Members[] | select(.Server == "ex3") | .State == "failed" and .Step == "deploy" and
	    (.Error | test("reload")) and .Holds == true and .Answered == true and
	    .Services[0].Served == $old and .Services[0].Ok == false) and
	(.Members[] | select(.Server == "ex1") | .Services[0].Served == $new and .Converged == true)' \
	"$OUT" >/dev/null; then
	pass "status: exit 1; ex3 failed at deploy with the error, serving OLD; ex1 serves NEW"
else
	fail "status: exit 1; ex3 failed at deploy with the error, serving OLD; ex1 serves NEW" "exit $RC"
	show "$OUT" 3
fi
valid "status --json: valid against its schema" status
run cf status "$NS"
if [ "$RC" = 1 ] && grep -Eq "^ex3 +2 +failed .*deploy" "$OUT"; then
	pass "status: the table shows ex3 failed at deploy"
else
	fail "status: the table shows ex3 failed at deploy" "exit $RC"
	show "$OUT"
fi
check_fails "a second rollout while one is stopped is refused" 1 "resume.*abort" \
	cf rollout "$NS" --certificate "$NEW2"
check_fails "--resume while another CLI holds the rollout's lock is refused" 1 \
	"another certfleet rollout runs on $F" flock "$F.rollout.lock" "$CERTFLEET" rollout "$NS" --resume
expect_eq "the refused ones changed nothing: still stopped in wave 2" \
	"$(state)" "stopped 2 ex1:moved ex2:reverted ex3:failed"
mv "$S/ex3/nginx/nginx.pid.away" "$S/ex3/nginx/nginx.pid"
check "after the fix, --resume completes" cf rollout "$NS" --resume --ca-file "$ROOT"
expect_eq "resume: all three serve NEW" "$(served)" "$(all "$NEW" "$NEW" "$NEW")"
expect_eq "resume: the state: done, every member moved" "$(state)" "done 2 ex1:moved ex2:moved ex3:moved"
check "status: converged, exit 0" cf status "$NS"
run cf get "$OLD" --server ex2 --json
expect_eq "the old certificate stays in the store" "$RC $(jq -r '.Items[0].Thumbprint' "$OUT")" "0 $OLD"

# ---- a healthy rollout while users connect through haproxy -----------------------
cat >"$T/sampler.py" <<-'EOF'
	import hashlib, os, socket, ssl, sys
	host, port, sni, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	with open(out, "w") as f:
	    while not os.path.exists(stop):
	        try:
	            with socket.create_connection((host, port), timeout=5) as s:
	                with ctx.wrap_socket(s, server_hostname=sni) as t:
	                    der = t.getpeercert(binary_form=True)
	            f.write(hashlib.sha1(der).hexdigest().upper() + "\n")
	        except Exception as e:
	            f.write("ERROR " + str(e).replace("\n", " ") + "\n")
	        f.flush()
EOF
python3 "$T/sampler.py" 127.0.0.1 "$LB" "$NS" "$T/sampler.stop" "$T/samples" &
SAMPLER_PID=$!
wait_until 10 test -s "$T/samples" || fail "sampler: no sample within 10 s"
check "healthy: rollout to NEW2 (sealed) in two waves, soak 1s" \
	cf rollout "$NS" --certificate "$NEW2" --ca-file "$ROOT" --soak 1
touch "$T/sampler.stop"
wait "$SAMPLER_PID"
SAMPLER_PID=
expect_eq "healthy: all three serve NEW2" "$(served)" "$(all "$NEW2" "$NEW2" "$NEW2")"
expect_eq "healthy: NEW2 arrived sealed: with its key, still not exportable" \
	"$(cf get "$NEW2" --server ex3 --json | jq -c '.Items[0] | [.HasPrivateKey, .PrivateKeyExportable]')" \
	'[true,false]'
if grep -q "^wave 1 of 2: ex1$" "$OUT" && grep -q "^wave 2 of 2: ex2,ex3$" "$OUT" &&
	grep -q "via 127.0.0.1:$LB: .*${NEW2:0:8} (new)" "$OUT" && grep -q "^  soak 1s$" "$OUT" &&
	grep -q "done, 3 servers moved" "$OUT"; then
	pass "healthy: the canary, then the soak, then the rest, the balancer sampled"
else
	fail "healthy: the canary, then the soak, then the rest, the balancer sampled"
	show "$OUT" 20
fi
total=$(wc -l <"$T/samples")
others=$(grep -cv -e "^$NEW$" -e "^$NEW2$" "$T/samples")
if [ "$total" -ge 20 ] && [ "$others" = 0 ] && grep -q "^$NEW2$" "$T/samples"; then
	pass "healthy: $total samples through haproxy during the rollout, each NEW or NEW2"
else
	fail "healthy: $total samples through haproxy during the rollout, each NEW or NEW2" \
		"$others others: $(grep -v -e "^$NEW$" -e "^$NEW2$" "$T/samples" | sort | uniq -c | head -3)"
fi

# ---- a certificate that does not name the namespace: the canary fails -----
check "a namespace web.example.com on ex1, no balancer" cf namespace add web.example.com --servers ex1
run cf rollout web.example.com --certificate "$NEW" --ca-file "$ROOT"
if [ "$RC" = 1 ] &&
	grep -q "ex1: failed at test: https at 127.0.0.1:$N1 serves ${NEW:0:8}, not valid for web.example.com: name mismatch" "$ERR" &&
	grep -q "web.example.com: ex1 https serves now: ${NEW2:0:8}$" "$ERR"; then
	pass "wrong name: the canary fails its test, is put back; what it serves now is said"
else
	fail "wrong name: the canary fails its test, is put back; what it serves now is said" "exit $RC"
	show "$ERR"
fi
expect_eq "wrong name: every nginx still serves NEW2" "$(served)" "$(all "$NEW2" "$NEW2" "$NEW2")"
run cf namespace remove web.example.com
if [ "$RC" = 1 ] && grep -q "a rollout of ${NEW:0:8} is stopped .*--resume.*--abort" "$ERR"; then
	pass "namespace remove: refused while its rollout is stopped half-way"
else
	fail "namespace remove: refused while its rollout is stopped half-way" "exit $RC"
	show "$ERR"
fi
expect_eq "namespace show: Desired and Rollout" \
	"$(cf namespace show web.example.com --json | jq -r '"\(.Desired) \(.Rollout)"')" "$NEW stopped"
check "rollout --abort web.example.com" cf rollout web.example.com --abort --ca-file "$ROOT"
expect_eq "namespace show: aborted" \
	"$(cf namespace show web.example.com --json | jq -r .Rollout)" aborted
check "namespace remove web.example.com, its rollout aborted" cf namespace remove web.example.com

# ---- a balancer that serves another certificate: wave 1 fails at via ------
mkdir -p "$S/other"
srv_nginx_start "$S/other/nginx" "$OTHER" "$P/ec.pem" "$P/ec.key" "$NS" ||
	fail "an nginx that serves the EC certificate"
check "namespace set --via: a balancer that serves another certificate" \
	cf namespace set "$NS" --via "127.0.0.1:$OTHER"
run cf rollout "$NS" --certificate "$NEW" --ca-file "$ROOT"
if [ "$RC" = 1 ] &&
	grep -q "wave 1: via: through 127.0.0.1:$OTHER: .* served, neither the new certificate nor one the members had" "$ERR" &&
	grep -q "wave 1 (ex1) put back on the previous certificate" "$ERR"; then
	pass "other behind the balancer: wave 1 fails at via, ex1 put back"
else
	fail "other behind the balancer: wave 1 fails at via, ex1 put back" "exit $RC"
	show "$ERR"
fi
expect_eq "other behind the balancer: every nginx serves NEW2, stopped in wave 1" \
	"$(served) $(state)" "$(all "$NEW2" "$NEW2" "$NEW2") stopped 1 ex1:reverted ex2:waiting ex3:waiting"
check "namespace set --via back to haproxy" cf namespace set "$NS" --via "127.0.0.1:$LB"
expect_eq "namespace set keeps the rollout's state" "$(state)" "stopped 1 ex1:reverted ex2:waiting ex3:waiting"
check "--abort with nothing moved" cf rollout "$NS" --abort
expect_eq "abort: aborted, NEW2 desired" \
	"$(state) $(jq -r --arg ns "$NS" '.namespaces[] | select(.name == $ns) | .desired' "$F")" \
	"aborted 1 ex1:reverted ex2:waiting ex3:waiting $NEW2"

# ---- a member down: pending, --resume once it is back; --abort --------------
agent_stop ex3
run cf rollout "$NS" --certificate "$NEW" --ca-file "$ROOT" --json
valid "a stopped rollout's --json: valid against its schema" rollout-run
expect_eq "down --json: stopped in wave 2, ex3 pending at reach" \
	"$(jq -c '[.State, .Wave, (.Members[] | select(.Server == "ex3") | [.State, .Step])]' "$OUT")" \
	'["stopped",2,["pending","reach"]]'
if [ "$RC" = 1 ] && grep -q "ex3: pending (did not answer at reach: " "$ERR"; then
	pass "down: ex3 pending, exit 1"
else
	fail "down: ex3 pending, exit 1" "exit $RC"
	show "$ERR"
fi
expect_eq "down: ex1 and ex2 moved and stay moved, ex3 untouched" "$(served)" "$(all "$NEW" "$NEW" "$NEW2")"
expect_eq "down: the state" "$(state)" "stopped 2 ex1:moved ex2:moved ex3:pending"
run cf status "$NS" --json
expect_eq "status: ex3 did not answer, pending; exit 1" \
	"$RC $(jq -c '.Items[0].Members[] | select(.Server == "ex3") | [.Answered, .State, .Holds, .LastSeen]' "$OUT")" \
	'1 [false,"pending",null,null]'
agent_start ex3 || e2e_done
check "ex3 is back: --resume moves it" cf rollout "$NS" --resume --ca-file "$ROOT"
expect_eq "resume: all three serve NEW" "$(served)" "$(all "$NEW" "$NEW" "$NEW")"
expect_eq "resume: done" "$(state)" "done 2 ex1:moved ex2:moved ex3:moved"

agent_stop ex3
run cf rollout "$NS" --certificate "$NEW2" --ca-file "$ROOT"
expect_eq "partial: ex3 down again, a rollout to NEW2 stops (exit 1)" "$RC $(state)" \
	"1 stopped 2 ex1:moved ex2:moved ex3:pending"
check "--abort puts the members that moved back" cf rollout "$NS" --abort --json
valid "rollout --abort --json: valid against its schema" rollout-run
expect_eq "abort --json: aborted, Users all NEW (old)" \
	"$(jq -c '[.State, ([.Users[] | .Is] | unique)]' "$OUT")" '["aborted",["old"]]'
expect_eq "abort: everyone serves NEW again" "$(served)" "$(all "$NEW" "$NEW" "$NEW")"
expect_eq "abort: the state" "$(state)" "aborted 2 ex1:reverted ex2:reverted ex3:pending"
check_fails "abort twice is refused" 1 "aborted already" cf rollout "$NS" --abort
expect_eq "abort: the desired certificate is NEW again" \
	"$(jq -r --arg ns "$NS" '.namespaces[] | select(.name == $ns) | .desired' "$F")" "$NEW"

# ---- a CLI killed in the soak after wave 1: --resume finishes ------------------
agent_start ex3 || e2e_done
"$CERTFLEET" rollout "$NS" --certificate "$NEW2" --ca-file "$ROOT" --soak 3 >"$T/killed.out" 2>&1 &
KILLED=$!
if wait_until 30 grep -q "^  soak 3s$" "$T/killed.out"; then
	kill -KILL "$KILLED"
	wait "$KILLED" 2>/dev/null
	expect_eq "killed in the soak: the state says running, ex1 moved" \
		"$(state)" "running 1 ex1:moved ex2:waiting ex3:waiting"
else
	fail "killed in the soak: the rollout never reached its soak"
	show "$T/killed.out"
	kill -KILL "$KILLED" 2>/dev/null
fi
check "--resume after the CLI was killed finishes it" cf rollout "$NS" --resume --ca-file "$ROOT"
expect_eq "resumed: all three serve NEW2, done" "$(served) $(state)" \
	"$(all "$NEW2" "$NEW2" "$NEW2") done 2 ex1:moved ex2:moved ex3:moved"

e2e_done
