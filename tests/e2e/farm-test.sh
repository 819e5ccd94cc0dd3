#!/usr/bin/env bash
# farm-test.sh - `certfleet test` proves by handshakes what a farm serves
# for a namespace: the picture of DESIGN.md, on loopback.
#
# Two agents, ex1 and ex2, each with a private nginx on a port of its own
# as service https (check = 127.0.0.1:PORT, name = mail.example.com), and
# an haproxy in TCP mode that balances round robin over the two nginx
# ports, as a load balancer for mail.example.com does.  ex1 serves the
# CA's leaf for mail.example.com; ex2 a self-signed certificate for
# ex2.local.  Then:
#   - through the balancer (--via), half the connections get each
#     certificate, ex2's with a name mismatch; exit 1;
#   - asked through the fleet (--server ex1,ex2), the agents name their
#     endpoints, certfleet probes them itself and names ex2; exit 1;
#   - ex2 given the same leaf (export from ex1, import on ex2, enable),
#     both ways say one certificate, valid: exit 0;
#   - --json, --warn-days and --crit-days, the system's roots (no
#     --ca-file), an endpoint that is down or silent (reported, not
#     fatal, bounded by --timeout), and usage errors.
# Set-up goes through each agent's Unix socket (root is admin there);
# `test --server` through the fleet, as a reader.
#
#   bash tests/e2e/farm-test.sh      (CERTFLEETD=path to test another build)
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
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET

LB_DIR=$T/lb
SILENT_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
lb_stop() {
	local pid
	pid=$(tr -dc '0-9' <"$LB_DIR/haproxy.pid" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$LB_DIR/haproxy.pid"
}
# shellcheck disable=SC2317
cleanup() {
	[ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
	lb_stop
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

require_tools "$CERTFLEETD" nginx haproxy openssl python3 jq

read -r -d '' N1 N2 LB SILENT < <(free_ports 4) || true
declare -A NPORT=([ex1]=$N1 [ex2]=$N2)
# ex2 names its check by "localhost": the agent's loopback, which
# certfleet reaches at the agent's own address (here 127.0.0.1 too).
declare -A CHECKHOST=([ex1]=127.0.0.1 [ex2]=localhost)

NS=mail.example.com
P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	e2e_done
}
TP=$(thumb "$P/leaf.pem")
ROOT=$P/root.pem

# ---- two nginx, each serving a placeholder until its agent deploys ------

S=$T/srv
started=1
for n in ex1 ex2; do
	mkdir -p "$S/$n"
	cp "$P/ec.pem" "$S/$n/https.crt"
	cp "$P/ec.key" "$S/$n/https.key"
	chmod 600 "$S/$n/https.key"
	srv_nginx_start "$S/$n/nginx" "${NPORT[$n]}" "$S/$n/https.crt" \
		"$S/$n/https.key" "$NS" || started=0
done

# The balancer: TCP mode, round robin, TLS passes through untouched.
mkdir -p "$LB_DIR"
cat >"$LB_DIR/haproxy.cfg" <<EOF
# the load balancer of a certfleet e2e test: TLS passes through
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
EOF
if ! haproxy -f "$LB_DIR/haproxy.cfg" 2>"$LB_DIR/start.err" ||
	! srv_wait_port 127.0.0.1 "$LB"; then
	show "$LB_DIR/start.err"
	started=0
fi
if [ "$started" = 1 ]; then
	pass "servers: two nginx and a TCP-mode haproxy run on loopback"
else
	fail "servers: two nginx and a TCP-mode haproxy run on loopback"
	e2e_done
fi

# ---- the agents, and a reader in the fleet ------------------------------

export CERTFLEET_HOME=$T/home
check "fleet: an identity" cf id
ID_FP=$(head -n 1 "$OUT")
for n in ex1 ex2; do
	agent_conf "$n"
	cat >>"$T/$n.conf" <<-EOF

		[service https]
		kind = nginx
		chain = $S/$n/https.crt
		key = $S/$n/https.key
		test = $(srv_nginx_test_cmd "$S/$n/nginx")
		reload = $(srv_nginx_reload_cmd "$S/$n/nginx")
		check = ${CHECKHOST[$n]}:${NPORT[$n]}
		name = $NS
		timeout = 10
	EOF
	check "agent/$n: init" cfd init --config "$T/$n.conf"
	check "agent/$n: authorize the reader" \
		cfd authorize "$ID_FP" --role reader --config "$T/$n.conf"
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done

# on NAME CMD... - CMD on agent NAME's Unix socket.
# shellcheck disable=SC2317 # shellcheck takes e2e_done's exit for the end
on() {
	local n=$1
	shift
	CERTFLEET_SOCKET=$SOCKDIR/$n.sock "$@"
}

check "ex1: import the chain" on ex1 cf import "$P/int.pem" "$ROOT"
check "ex1: import the leaf with its key" \
	on ex1 cf import "$P/leaf.pem" "$P/leaf.key" --exportable
check "ex1: enable the leaf for https" on ex1 cf enable "$TP" --services https --force
check "ex2: a self-signed certificate for ex2.local on https" \
	on ex2 cf new --self-signed --subject CN=ex2.local --services https --force
EX2=$(sed -n 's/^\([0-9A-F]\{40\}\): created.*/\1/p' "$OUT")
expect_eq "ex2: serves its self-signed certificate" \
	"$(srv_served_thumb tls 127.0.0.1 "$N2" "$NS")" "$EX2"

# ---- through the balancer: two certificates ------------------------------

# jqo FILTER - jq -r FILTER on the last command's stdout.
jqo() { jq -r "$1" "$OUT" 2>/dev/null; }

run cf test "$NS" --via "127.0.0.1:$LB" --count 20 --ca-file "$ROOT" --json
expect_eq "via: two certificates: exit 1" "$RC" 1
expect_eq "via: 2 distinct, 20 connections, ok false" \
	"$(jqo '"\(.Distinct | length) \(.Connections) \(.Ok)"')" "2 20 false"
c1=$(jq -r --arg t "$TP" '.Distinct[] | select(.Thumbprint == $t) | .Count' "$OUT")
c2=$(jq -r --arg t "$EX2" '.Distinct[] | select(.Thumbprint == $t) | .Count' "$OUT")
if [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" -ge 5 ] && [ "$c2" -ge 5 ] &&
	[ $((c1 + c2)) = 20 ]; then
	pass "via: each certificate about half the connections ($c1/$c2)"
else
	fail "via: each certificate about half the connections" "got '$c1' and '$c2'"
	show "$OUT"
fi
expect_eq "via: the leaf is valid" \
	"$(jq -r --arg t "$TP" '.Distinct[] | select(.Thumbprint == $t) |
	    "\(.Valid) \(.Trusted) \(.NameMatches) \(.Status)"' "$OUT")" "true true true OK"
expect_eq "via: ex2's: name mismatch, untrusted" \
	"$(jq -r --arg t "$EX2" '.Distinct[] | select(.Thumbprint == $t) |
	    "\(.Valid) \(.Trusted) \(.NameMatches) \(.Reasons | map(sub(":.*"; "")) | join(","))"' "$OUT")" \
	"false false false untrusted,name mismatch"
run cf test "$NS" --via "127.0.0.1:$LB" --count 20 --ca-file "$ROOT"
if [ "$RC" = 1 ] && grep -q "^${EX2:0:8} .*CN *= *ex2.local.*name mismatch" "$OUT" &&
	grep -Eq "^${TP:0:8} .* [0-9]+/20 [0-9]+% +valid$" "$OUT" &&
	grep -q "2 distinct certificates in 20 connections" "$OUT"; then
	pass "via: the table shows each certificate, its share and the reason"
else
	fail "via: the table shows each certificate, its share and the reason" "exit $RC"
	show "$OUT"
fi

# ---- every server's endpoints, through the fleet --------------------------

run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT"
if [ "$RC" = 1 ] &&
	grep -q "^$NS: 2 distinct certificates on 2 endpoints; 1 not valid (ex2 https: .*name mismatch" "$OUT" &&
	grep -q "^certfleet: ex2: https: .*name mismatch" "$ERR"; then
	pass "agents: exit 1, naming ex2 and the name mismatch"
else
	fail "agents: exit 1, naming ex2 and the name mismatch" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi
if grep -Eq "^ex1 +https +127\.0\.0\.1:$N1 +${TP:0:8} +yes +yes +[0-9]+ +yes +OK$" "$OUT" &&
	grep -Eq "^ex2 +https +127\.0\.0\.1:$N2 +${EX2:0:8} +NO +NO +[0-9]+ +yes +CRITICAL$" "$OUT"; then
	pass "agents: a row per endpoint: served, trusted, name, days, assigned, status"
else
	fail "agents: a row per endpoint: served, trusted, name, days, assigned, status"
	show "$OUT" 20
fi
expect_eq "agents: services without a check address are listed, not counted" \
	"$(grep -c "no check endpoint$" "$OUT")" 6

if grep -q "^ex2 .*localhost:" "$OUT"; then
	fail "agents: ex2's check on localhost is reached at its agent's address"
	show "$OUT" 20
else
	pass "agents: ex2's check on localhost is reached at its agent's address"
fi
run on ex2 cf test "$NS" --ca-file "$ROOT"
if grep -Eq " https +localhost:$N2 +${EX2:0:8} " "$OUT"; then
	pass "agents: on the local agent's socket, localhost stays localhost"
else
	fail "agents: on the local agent's socket, localhost stays localhost" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi

run cf test "$NS" --server ex1 --ca-file "$ROOT"
expect_eq "agents: ex1 alone is valid: exit 0" "$RC" 0
run cf test "$NS" --server ex1
if [ "$RC" = 1 ] && grep -Eq "^ex1 +https .* NO +yes +[0-9]+ +yes +CRITICAL$" "$OUT" &&
	grep -q "certfleet: ex1: https: untrusted: unable to get local issuer certificate" "$ERR"; then
	pass "agents: without --ca-file the system's roots do not trust the test CA"
else
	fail "agents: without --ca-file the system's roots do not trust the test CA" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi

# ---- ex2 gets the same leaf: one certificate everywhere --------------------

PW=$T/export.pw
pwfile "$PW" 'Farm-Test#pw'
check "copy by hand: export from ex1" \
	on ex1 cf export "$TP" --binary -o "$T/leaf.pfx" --password-file "$PW"
check "copy by hand: import on ex2" \
	on ex2 cf import "$T/leaf.pfx" --password-file "$PW" --exportable
check "copy by hand: enable on ex2" on ex2 cf enable "$TP" --services https --force

run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT"
if [ "$RC" = 0 ] && grep -q "^$NS: 1 distinct certificate on 2 endpoints; all valid$" "$OUT"; then
	pass "agents: one certificate on both, all valid: exit 0"
else
	fail "agents: one certificate on both, all valid: exit 0" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi
run cf test "$NS" --via "127.0.0.1:$LB" --count 20 --ca-file "$ROOT"
if [ "$RC" = 0 ] && grep -Eq "^${TP:0:8} .* 20/20 100% +valid$" "$OUT" &&
	grep -q "1 distinct certificate in 20 connections; all valid" "$OUT"; then
	pass "via: one certificate on 20/20 connections: exit 0"
else
	fail "via: one certificate on 20/20 connections: exit 0" "exit $RC"
	show "$OUT"
fi

run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --json
if [ "$RC" = 0 ] && jq -e --arg t "$TP" --arg ns "$NS" '
	.Namespace == $ns and .Ok == true and
	(.Distinct | length) == 1 and .Distinct[0].Thumbprint == $t and
	.Distinct[0].Count == 2 and (.Endpoints | length) == 2 and
	all(.Endpoints[]; .Thumbprint == $t and .Trusted == true and
	    .NameMatches == true and .ServesAssigned == true and
	    .Assigned == $t and .Status == "OK" and .Valid == true and
	    .Reasons == [] and (.DaysLeft | type) == "number" and
	    (.Endpoint | test("^127\\.0\\.0\\.1:[0-9]+$")) and
	    .Protocol == "tls") and
	([.Endpoints[].Server] | sort) == ["ex1", "ex2"] and
	(.Unchecked | length) == 6 and .Errors == []' "$OUT" >/dev/null; then
	pass "json: valid, with every field"
else
	fail "json: valid, with every field" "exit $RC"
	show "$OUT" 3
fi

# ---- dates: --warn-days and --crit-days (the leaf is valid 397 days) ------

run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --warn-days 400
if [ "$RC" = 0 ] && [ "$(grep -c " WARNING$" "$OUT")" = 2 ] &&
	grep -q "all valid; 2 WARNING (under 400 days)" "$OUT"; then
	pass "dates: --warn-days 400: WARNING, exit 0"
else
	fail "dates: --warn-days 400: WARNING, exit 0" "exit $RC"
	show "$OUT" 20
fi
run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --crit-days 400
if [ "$RC" = 1 ] && [ "$(grep -c " CRITICAL$" "$OUT")" = 2 ] &&
	grep -Eq "^certfleet: ex1: https: expires in 39[67] days" "$ERR"; then
	pass "dates: --crit-days 400: CRITICAL, exit 1"
else
	fail "dates: --crit-days 400: CRITICAL, exit 1" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi

# ---- endpoints that do not answer ------------------------------------------

# A port that accepts (the kernel completes the connection) and never says
# a word: every handshake waits for its timeout.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
time.sleep(60)' "$SILENT" &
SILENT_PID=$!
srv_wait_port 127.0.0.1 "$SILENT" 5
start=$(date +%s%N)
run cf test "$NS" --via "127.0.0.1:$SILENT" --count 20 --timeout 1 --json
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$RC" = 1 ] && jq -e '.Ok == false and (.Distinct | length) == 0 and
	.Failures == [{"Error": "timed out after 1000 ms in TLS handshake", "Count": 20}]' \
	"$OUT" >/dev/null && [ "$ms" -lt 5000 ]; then
	pass "timeout: 20 silent connections time out together (${ms} ms)"
else
	fail "timeout: 20 silent connections time out together" "exit $RC in $ms ms"
	show "$OUT" 3
fi
kill "$SILENT_PID" 2>/dev/null
wait "$SILENT_PID" 2>/dev/null
SILENT_PID=

srv_nginx_stop "$S/ex2/nginx"
run cf test "$NS" --server ex1,ex2 --ca-file "$ROOT" --timeout 2
if [ "$RC" = 1 ] &&
	grep -Eq "^ex1 +https .* yes +yes +[0-9]+ +yes +OK$" "$OUT" &&
	grep -Eq "^ex2 +https +127\.0\.0\.1:$N2 +- +- +- +- +- +CRITICAL$" "$OUT" &&
	grep -q "1 distinct certificate on 2 endpoints; 1 not valid (ex2 https: handshake failed: connect: Connection refused)" "$OUT" &&
	grep -q "^certfleet: ex2: https: handshake failed: connect: Connection refused" "$ERR"; then
	pass "down: a stopped nginx is reported, the rest still tested: exit 1"
else
	fail "down: a stopped nginx is reported, the rest still tested: exit 1" "exit $RC"
	show "$OUT" 20
	show "$ERR"
fi

# ---- usage -----------------------------------------------------------------

check_fails "usage: --via with --server" 2 "give --via or --server" \
	cf test "$NS" --via "127.0.0.1:$LB" --server ex1
check_fails "usage: --count over the cap" 2 "from 1 to 10000" \
	cf test "$NS" --via "127.0.0.1:$LB" --count 10001
check_fails "usage: --count without --via" 2 "goes with --via" cf test "$NS" --count 5
check_fails "usage: an unknown --protocol" 2 "use tls, smtp, imap or pop" \
	cf test "$NS" --via "127.0.0.1:$LB" --protocol ftp
check_fails "usage: no namespace" 2 "which NAMESPACE" cf test
check_fails "a CA file that is not there" 1 "CA file $T/none.pem" \
	cf test "$NS" --via "127.0.0.1:$LB" --ca-file "$T/none.pem"

e2e_done
