#!/usr/bin/env bash
# metrics.sh - GET /metrics, scraped by a real Prometheus (Debian's
# prometheus) on loopback, and checked against what the agents hold.
#
# Two agents, each with a private nginx as service https (probe_interval
# 1 s on ex1, 60 s on ex2, whose probes go at once after a change): ex1 scraped over mutual TLS with a client certificate authorized
# as reader, ex2 over its plain-HTTP metrics_listen.  Prometheus scrapes
# both every second; its HTTP API (/api/v1/query) must hold the expiry
# timestamps `certfleet get --json` shows and served_match 1; nginx's
# files changed behind certfleet's back on ex1 show up as served_match 0
# within two probe intervals on the agent, and then in Prometheus.
# Negative cases: a client certificate nobody authorized gets a 403 in
# JSON; the plain listener serves GET /metrics only; a non-loopback
# metrics_listen is refused at start; a service that never answers its
# handshake delays no scrape.  promtool check metrics lints a scrape.
#
#   bash tests/e2e/metrics.sh      (CERTFLEETD=path to test another build)
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
PROM_PID=
SILENT_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p
	for p in $PROM_PID $SILENT_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

require_tools "$CERTFLEETD" nginx openssl python3 curl prometheus promtool

NS=mail.example.com
P=$T/pki
if ! make_pki "$P" || ! make_leaf "$P" other 2101; then
	fail pki "make_pki failed"
	e2e_done
fi

# A listener that accepts and never says a word: a TLS handshake with it
# waits until the probe's timeout.
read -r -d '' N1 N2 SILENT PP < <(free_ports 4) || true
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
time.sleep(600)
' "$SILENT" &
SILENT_PID=$!

# ---- the client certificates Prometheus and a stranger present ----------

# client NAME - a self-signed EC client certificate $T/NAME.{key,pem};
# prints its fingerprint as certfleetd authorize takes it.
client() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -days 2 -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null &&
		openssl x509 -in "$T/$1.pem" -noout -fingerprint -sha256 |
		sed 's/^.*=/SHA256:/; s/://2g'
}
PROM_FP=$(client prometheus)
STRANGER_FP=$(client stranger)
if [ -z "$PROM_FP" ] || [ -z "$STRANGER_FP" ]; then
	fail "client certificates" "openssl failed"
	e2e_done
fi

# ---- a non-loopback metrics_listen is refused at start --------------------

agent_conf bad
cat >>"$T/bad.conf" <<EOF
metrics_listen = 0.0.0.0:9793
EOF
check_fails "metrics_listen 0.0.0.0 is refused by check-config" 1 \
	'bad.conf:[0-9]+: metrics_listen 0.0.0.0:9793: not a loopback address' \
	cfd check-config --config "$T/bad.conf"
check_fails "metrics_listen 0.0.0.0 is refused by run, with the reason" 1 \
	'metrics_listen 0.0.0.0:9793: not a loopback address; .* 127.0.0.1 or \[::1\]' \
	cfd run --config "$T/bad.conf"
sed -i 's/^metrics_listen = .*/metrics_listen = 192.0.2.1:9793/' "$T/bad.conf"
check_fails "metrics_listen on another address is refused too" 1 \
	'metrics_listen 192.0.2.1:9793: not a loopback address' \
	cfd check-config --config "$T/bad.conf"
sed -i 's/^metrics_listen = .*/metrics_listen = 127.0.0.1:0/' "$T/bad.conf"
check "bad: agent init with metrics_listen 127.0.0.1" cfd init --config "$T/bad.conf"
check "metrics_listen 127.0.0.1 passes check-config" \
	cfd check-config --config "$T/bad.conf"

# ---- two nginx and their agents -------------------------------------------

declare -A NPORT=([ex1]=$N1 [ex2]=$N2) MPORT=()
S=$T/srv
declare -A SDIR=([ex1]=$S/ex1 [ex2]=$S/ex2)
for n in ex1 ex2; do
	d=${SDIR[$n]}
	mkdir -p "$d"
	cp "$P/ec.pem" "$d/https.crt"
	cp "$P/ec.key" "$d/https.key"
	chmod 600 "$d/https.key"
	if srv_nginx_start "$d/nginx" "${NPORT[$n]}" "$d/https.crt" "$d/https.key" "$NS"; then
		pass "$n: nginx runs on loopback"
	else
		fail "$n: nginx runs on loopback"
		e2e_done
	fi
	agent_conf "$n"
	cat >>"$T/$n.conf" <<-EOF
		probe_interval = 1

		[service https]
		kind = nginx
		chain = $d/https.crt
		key = $d/https.key
		test = $(srv_nginx_test_cmd "$d/nginx")
		reload = $(srv_nginx_reload_cmd "$d/nginx")
		check = 127.0.0.1:${NPORT[$n]}
		name = $NS
		timeout = 10
	EOF
	check "$n: agent init" cfd init --config "$T/$n.conf"
done
# ex2: the plain listener, probes a minute apart (a change answered
# makes them go at once), and a service whose check endpoint never
# answers (a handshake with it lasts its 5 s timeout).
sed -i 's/^probe_interval = 1$/probe_interval = 60\nmetrics_listen = 127.0.0.1:0/' "$T/ex2.conf"
mkdir -p "$S/ex2/silent"
cat >>"$T/ex2.conf" <<EOF

[service imap]
kind = dovecot
chain = $S/ex2/silent/imap.crt
key = $S/ex2/silent/imap.key
check = 127.0.0.1:$SILENT
protocol = tls
timeout = 5
EOF
check "ex1: authorize Prometheus's certificate as reader" \
	cfd authorize "$PROM_FP" --role reader --config "$T/ex1.conf"
for n in ex1 ex2; do
	agent_start "$n" || e2e_done
done
MPORT[ex2]=$(sed -n 's/.* serves GET \/metrics over plain HTTP on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/ex2.log")
if [ -n "${MPORT[ex2]}" ]; then
	pass "ex2: says where it serves GET /metrics over plain HTTP"
else
	fail "ex2: says where it serves GET /metrics over plain HTTP"
	show "$T/ex2.log"
	e2e_done
fi

# on NAME CMD... - CMD on agent NAME's Unix socket (root is admin there).
# shellcheck disable=SC2317 # shellcheck takes e2e_done above for an exit
on() {
	local n=$1
	shift
	CERTFLEET_SOCKET=$SOCKDIR/$n.sock "$@"
}
LEAF_TP=$(thumb "$P/leaf.pem")
for n in ex1 ex2; do
	check "$n: import the chain" on "$n" cf import "$P/int.pem" "$P/root.pem"
	check "$n: import the leaf" on "$n" cf import "$P/leaf.pem" "$P/leaf.key"
	check "$n: enable it for https" on "$n" cf enable "$LEAF_TP" --services https
done

# ---- the agents' own answers ----------------------------------------------

# scrape_tls [CERT] - GET /metrics on ex1 over mutual TLS as CERT
# (prometheus): the body in $T/scrape, headers in $T/scrape.h.
scrape_tls() {
	curl -sk --max-time 10 --cert "$T/${1:-prometheus}.pem" \
		--key "$T/${1:-prometheus}.key" -D "$T/scrape.h" -o "$T/scrape" \
		-w '%{http_code}' "https://127.0.0.1:${APORT[ex1]}/metrics"
}
# scrape_plain [PATH [METHOD]] - the same on ex2's plain listener.
scrape_plain() {
	curl -s --max-time 10 -X "${2:-GET}" -D "$T/scrape.h" -o "$T/scrape" \
		-w '%{http_code}' "http://127.0.0.1:${MPORT[ex2]}${1:-/metrics}"
}
# value NAME SELECTOR - the value of the sample of NAME whose labels
# contain SELECTOR (a literal piece, e.g. service="https") in $T/scrape.
value() {
	grep -F "$1{" "$T/scrape" | grep -F "$2" | head -n 1 | sed 's/.* //'
}

expect_eq "ex1: GET /metrics over mutual TLS as reader: 200" "$(scrape_tls)" 200
if grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/scrape.h"; then
	pass "ex1: Content-Type: text/plain; version=0.0.4; charset=utf-8"
else
	fail "ex1: Content-Type: text/plain; version=0.0.4; charset=utf-8"
	show "$T/scrape.h"
fi
if promtool check metrics <"$T/scrape" >"$T/promtool.out" 2>&1; then
	pass "ex1: promtool check metrics finds nothing to say of a scrape"
else
	fail "ex1: promtool check metrics finds nothing to say of a scrape"
	show "$T/promtool.out"
fi
check "ex1: get --json" on ex1 cf get --json
NCERTS=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Items"]))' <"$OUT")
check "ex1: get --json of the leaf" on ex1 cf get "$LEAF_TP" --json
NOT_AFTER=$(date -d "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Items"][0]["NotAfter"])' <"$OUT")" +%s)
NOT_BEFORE=$(date -d "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Items"][0]["NotBefore"])' <"$OUT")" +%s)
expect_eq "ex1: not_after of the leaf is get's NotAfter, a Unix time" \
	"$(value certfleet_cert_not_after_timestamp_seconds "thumbprint=\"$LEAF_TP\"")" "$NOT_AFTER"
expect_eq "ex1: not_before of the leaf is get's NotBefore" \
	"$(value certfleet_cert_not_before_timestamp_seconds "thumbprint=\"$LEAF_TP\"")" "$NOT_BEFORE"
if grep -qF "certfleet_cert_not_after_timestamp_seconds{thumbprint=\"$LEAF_TP\",subject_cn=\"$NS\",issuer_cn=\"certfleet e2e Issuing CA\",services=\"https\",exportable=\"false\"} $NOT_AFTER" "$T/scrape"; then
	pass "ex1: the leaf's labels: thumbprint, subject_cn, issuer_cn, services, exportable"
else
	fail "ex1: the leaf's labels: thumbprint, subject_cn, issuer_cn, services, exportable"
	show "$T/scrape"
fi
# shellcheck disable=SC2317 # run by wait_until
matches() { scrape_"$1" >/dev/null && [ "$(value certfleet_service_served_match 'service="https"')" = "$2" ]; }
if wait_until 10 matches tls 1; then
	pass "ex1: served_match 1 once the probe has seen the deploy"
else
	fail "ex1: served_match 1 once the probe has seen the deploy"
	show "$T/scrape"
fi
expect_eq "ex1: served_not_after is the leaf's notAfter" \
	"$(value certfleet_service_served_not_after_timestamp_seconds 'service="https"')" "$NOT_AFTER"
expect_eq "ex1: probe_success 1" "$(value certfleet_service_probe_success 'server="ex1"')" 1
if grep -qE '^certfleet_service_probe_duration_seconds\{service="https",server="ex1"\} [0-9.e-]+$' "$T/scrape" &&
	grep -qE '^certfleet_build_info\{version="[^"]+"\} 1$' "$T/scrape" &&
	grep -qE "^certfleet_store_certificates $NCERTS\$" "$T/scrape" &&
	grep -qE '^certfleet_deploys_total\{outcome="deployed"\} 1$' "$T/scrape" &&
	grep -qE '^certfleet_rollbacks_total\{outcome="failed"\} 0$' "$T/scrape" &&
	grep -qE '^certfleet_api_requests_total\{route="/v1/enable",status="200"\} 1$' "$T/scrape"; then
	pass "ex1: duration, build_info, store size, deploys, rollbacks, API requests"
else
	fail "ex1: duration, build_info, store size, deploys, rollbacks, API requests"
	cat "$T/scrape"
fi
if grep -E '^# TYPE ' "$T/scrape" | awk '{print $3}' | sort | uniq -d | grep -q . ||
	grep -qiE 'master|\.key|password|/tmp|secret' "$T/scrape"; then
	fail "ex1: each family once; no path, key or password in a metric"
	show "$T/scrape"
else
	pass "ex1: each family once; no path, key or password in a metric"
fi

# Negative: a client certificate nobody authorized.
expect_eq "ex1: an unauthorized client certificate gets 403" "$(scrape_tls stranger)" 403
if grep -qi '^Content-Type: application/json' "$T/scrape.h" &&
	grep -qF '"code":"denied"' "$T/scrape" && grep -qF "$STRANGER_FP" "$T/scrape" &&
	! grep -q certfleet_ "$T/scrape"; then
	pass "ex1: the 403 is JSON naming the certificate, with no metric"
else
	fail "ex1: the 403 is JSON naming the certificate, with no metric"
	show "$T/scrape"
fi

# ex2: the plain listener.
if wait_until 5 matches plain 1; then
	pass "ex2: served_match 1 at once after enable, not after its 60 s probe_interval"
else
	fail "ex2: served_match 1 at once after enable, not after its 60 s probe_interval"
	show "$T/scrape"
fi
expect_eq "ex2: GET /metrics over plain HTTP: 200" "$(scrape_plain)" 200
if grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/scrape.h" &&
	grep -qF "thumbprint=\"$LEAF_TP\"" "$T/scrape"; then
	pass "ex2: the text format, with the leaf"
else
	fail "ex2: the text format, with the leaf"
	show "$T/scrape"
fi
expect_eq "ex2: GET /v1/certificates on the plain listener: 404" "$(scrape_plain /v1/certificates)" 404
if grep -qF '"code":"not-found"' "$T/scrape" && ! grep -qF "$LEAF_TP" "$T/scrape"; then
	pass "ex2: the 404 is JSON and lists nothing"
else
	fail "ex2: the 404 is JSON and lists nothing"
	show "$T/scrape"
fi
expect_eq "ex2: POST /metrics on the plain listener: 404" "$(scrape_plain /metrics POST)" 404
# The imap probe lasts 5 s: a scrape that waited for it would take
# seconds, one that does not takes milliseconds (1 s: room for a loaded
# machine; the speed itself is bench/metrics_run.sh's).
# A change answered starts every probe again: the five scrapes below
# come while the imap one waits.
check "ex2: enable again (unchanged), which starts every probe" \
	on ex2 cf enable "$LEAF_TP" --services https
slow=0
for _ in 1 2 3 4 5; do
	t=$(curl -s --max-time 10 -o /dev/null -w '%{time_total}' "http://127.0.0.1:${MPORT[ex2]}/metrics")
	awk -v t="$t" 'BEGIN { exit !(t > 1) }' && slow=$((slow + 1))
done
expect_eq "ex2: five scrapes during a 5 s handshake each answer in under 1 s" "$slow" 0
if wait_until 10 bash -c "curl -s http://127.0.0.1:${MPORT[ex2]}/metrics | grep -qx 'certfleet_service_probe_success{service=\"imap\",server=\"ex2\"} 0'"; then
	pass "ex2: the silent service: probe_success 0"
else
	fail "ex2: the silent service: probe_success 0"
fi

# ---- Prometheus scrapes both ------------------------------------------------

# The agent's identity is self-signed and names no DNS name, which Go's
# TLS wants for a server_name: Prometheus skips verifying the agent (the
# fleet pins it by fingerprint; here the point is the client side).
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ex1
    scheme: https
    tls_config:
      cert_file: $T/prometheus.pem
      key_file: $T/prometheus.key
      insecure_skip_verify: true
    static_configs:
      - targets: ['127.0.0.1:${APORT[ex1]}']
  - job_name: ex2
    static_configs:
      - targets: ['127.0.0.1:${MPORT[ex2]}']
EOF
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PP" >"$T/prom/log" 2>&1 &
PROM_PID=$!

# promq QUERY - the values of QUERY's result now, one "job value" a line,
# sorted (nothing when the result is empty).
promq() {
	curl -s --max-time 5 -G --data-urlencode "query=$1" \
		"http://127.0.0.1:$PP/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success"
for r in sorted(d["data"]["result"], key=lambda r: r["metric"].get("job", "")):
    print(r["metric"].get("job", ""), r["value"][1])
'
}
# prom_is QUERY WANT - promq QUERY prints WANT.
# shellcheck disable=SC2317 # run by wait_until
prom_is() { [ "$(promq "$1" 2>/dev/null)" = "$2" ]; }

if wait_until 30 prom_is 'up' "ex1 1
ex2 1"; then
	pass "prometheus: scrapes ex1 over mutual TLS and ex2 over plain HTTP (up 1)"
else
	fail "prometheus: scrapes ex1 over mutual TLS and ex2 over plain HTTP (up 1)" \
		"up: $(promq up 2>&1 | tr '\n' ' ')"
	curl -s "http://127.0.0.1:$PP/api/v1/targets" | head -c 2000
	show "$T/prom/log"
	e2e_done
fi
if wait_until 15 prom_is 'certfleet_service_served_match{service="https"}' "ex1 1
ex2 1"; then
	pass "prometheus: certfleet_service_served_match 1 on both"
else
	fail "prometheus: certfleet_service_served_match 1 on both" \
		"$(promq 'certfleet_service_served_match' 2>&1 | tr '\n' ' ')"
fi
expect_eq "prometheus: the leaf's not_after on both is get's NotAfter" \
	"$(promq "certfleet_cert_not_after_timestamp_seconds{thumbprint=\"$LEAF_TP\"}")" \
	"ex1 $NOT_AFTER
ex2 $NOT_AFTER"
expect_eq "prometheus: served_not_after on both is the leaf's" \
	"$(promq 'certfleet_service_served_not_after_timestamp_seconds{service="https"}')" \
	"ex1 $NOT_AFTER
ex2 $NOT_AFTER"
expect_eq "prometheus: the lifetime share, as the alert computes it, is over 0.9" \
	"$(promq "(certfleet_cert_not_after_timestamp_seconds{thumbprint=\"$LEAF_TP\"} - time()) / (certfleet_cert_not_after_timestamp_seconds{thumbprint=\"$LEAF_TP\"} - certfleet_cert_not_before_timestamp_seconds{thumbprint=\"$LEAF_TP\"}) > 0.9" | cut -d' ' -f1 | tr '\n' ' ')" \
	"ex1 ex2 "

# ---- a deploy broken behind certfleet's back ------------------------------
# ex1's nginx gets another certificate by hand and reloads: the agent's
# next probes see it (probe_interval 1 s), then Prometheus does.
OTHER_TP=$(thumb "$P/other.pem")
cp "$P/other.pem" "$S/ex1/https.crt"
cp "$P/other.key" "$S/ex1/https.key"
read -r -a reload <<<"$(srv_nginx_reload_cmd "$S/ex1/nginx")"
"${reload[@]}" 2>/dev/null
# shellcheck disable=SC2317 # run by wait_until
serves_other() { [ "$(srv_served_thumb tls 127.0.0.1 "$N1" "$NS")" = "$OTHER_TP" ]; }
if wait_until 5 serves_other; then
	pass "ex1: nginx serves another certificate, changed by hand"
else
	fail "ex1: nginx serves another certificate, changed by hand"
fi
broke=${EPOCHREALTIME/./}
# Two probe intervals (2 s), and a handshake's and a scrape's way: 3 s.
if wait_until 3 matches tls 0; then
	pass "ex1: served_match 0 on the agent within two probe intervals ($(((${EPOCHREALTIME/./} - broke) / 1000)) ms)"
else
	fail "ex1: served_match 0 on the agent within two probe intervals"
	show "$T/scrape"
fi
expect_eq "ex1: the probe still succeeds (a mismatch, not a failure)" \
	"$(value certfleet_service_probe_success 'service="https"')" 1
if wait_until 10 prom_is 'certfleet_service_served_match{service="https"}' "ex1 0
ex2 1"; then
	pass "prometheus: served_match 0 on ex1, still 1 on ex2 ($(((${EPOCHREALTIME/./} - broke) / 1000)) ms after the change)"
else
	fail "prometheus: served_match 0 on ex1, still 1 on ex2" \
		"$(promq 'certfleet_service_served_match' 2>&1 | tr '\n' ' ')"
fi
expect_eq "prometheus: the mismatch rule's expression fires for ex1 alone" \
	"$(promq 'certfleet_service_served_match == 0 unless certfleet_service_probe_success == 0' | cut -d' ' -f1)" ex1

e2e_done
