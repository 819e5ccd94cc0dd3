#!/usr/bin/env bash
# bench/test_run.sh - certfleet test of 100 endpoints (not part of make test).
#
#   bench/test_run.sh            (BENCH_ENDPOINTS=100, BENCH_RUNS=5, B=build,
#                                 BENCH_KEY=ec|rsa: the endpoints' key, ec)
#
# One nginx listens on BENCH_ENDPOINTS loopback ports with a certificate
# for mail.example.com from a test CA; one agent describes each port as a
# service ([service sN], check = 127.0.0.1:PORT).  Then, BENCH_RUNS times:
#   certfleet  `certfleet test mail.example.com --server b1 --ca-file
#              root.pem`: the agent asked for its endpoints, every endpoint
#              handshaken, chain, name and dates checked;
#   s_client   one `openssl s_client -connect 127.0.0.1:PORT -servername
#              mail.example.com -CAfile root.pem -verify_return_error` per
#              endpoint, in turn: the way by hand.
# Prints the machine, the medians and the ratio against the target:
#   certfleet test >= 20x faster than the s_client loop
# Exit 0 when met, 1 otherwise.  With RSA-2048 endpoints the servers' own
# signatures (about 1.3 ms each) bound what concurrency can win on two
# cores; BENCH_KEY=rsa measures that case too.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
. bench/lib.sh

B=${B:-build}
N=${BENCH_ENDPOINTS:-100}
KEY=${BENCH_KEY:-ec}
RUNS=${BENCH_RUNS:-5}
CF=$PWD/$B/certfleet
CFD=$PWD/$B/certfleetd
[ -x "$CF" ] && [ -x "$CFD" ] || make --no-print-directory B="$B" all >/dev/null

W=$(mktemp -d /tmp/cf-bench-test.XXXXXX)
AGENT=
cleanup() {
	[ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
	[ -n "$AGENT" ] && { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	rm -rf "$W"
}
trap cleanup EXIT
export CERTFLEET_HOME=$W/home

(
	cd "$W"
	if [ "$KEY" = rsa ]; then
		newkey=(-newkey rsa:2048)
	else
		newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	fi
	openssl req -x509 "${newkey[@]}" -nodes -days 3650 -subj "/CN=Bench Root" \
		-keyout root.key -out root.pem 2>/dev/null
	openssl req "${newkey[@]}" -nodes -subj "/CN=mail.example.com" \
		-keyout leaf.key -out leaf.csr 2>/dev/null
	printf 'subjectAltName=DNS:mail.example.com\n' >leaf.ext
	openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial \
		-days 365 -extfile leaf.ext -out leaf.pem 2>/dev/null
)
mapfile -t PORTS < <(python3 - "$N" <<-'EOF'
	import socket, sys
	socks = [socket.socket() for _ in range(int(sys.argv[1]))]
	for s in socks:
	    s.bind(("127.0.0.1", 0))
	print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
)

{
	echo "daemon on; worker_processes 2; pid $W/nginx.pid; error_log $W/error.log;"
	echo "events { worker_connections 1024; }"
	echo "http { access_log off; client_body_temp_path $W/tmp; proxy_temp_path $W/tmp;"
	echo "fastcgi_temp_path $W/tmp; uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;"
	echo "server {"
	for p in "${PORTS[@]}"; do echo "listen 127.0.0.1:$p ssl;"; done
	echo "server_name mail.example.com; ssl_certificate $W/leaf.pem;"
	echo "ssl_certificate_key $W/leaf.key; location / { return 200; } } }"
} >"$W/nginx.conf"
mkdir -p "$W/tmp"
nginx -c "$W/nginx.conf" -p "$W/" -e "$W/error.log"

{
	echo "[agent]"
	echo "name = b1"
	echo "listen = 127.0.0.1:0"
	echo "socket = none"
	echo "state = $W/state"
	for i in "${!PORTS[@]}"; do
		printf '\n[service s%03d]\nkind = files\nchain = %s/s%03d.pem\n' "$i" "$W" "$i"
		printf 'check = 127.0.0.1:%s\nname = mail.example.com\n' "${PORTS[$i]}"
	done
} >"$W/agent.conf"
"$CF" id >/dev/null
"$CFD" init --config "$W/agent.conf" >/dev/null
"$CFD" authorize "$("$CF" id | head -n 1)" --role admin --config "$W/agent.conf" >/dev/null
"$CFD" run --config "$W/agent.conf" >/dev/null 2>"$W/agent.log" </dev/null &
AGENT=$!
port=$(agent_port "$W/agent.log" "$AGENT")
"$CF" fleet add b1 "127.0.0.1:$port" --fingerprint "$("$CFD" fingerprint --config "$W/agent.conf")" >/dev/null

# Milliseconds from bash itself: no process started to read the clock.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
certfleet_test() {
	"$CF" test mail.example.com --server b1 --ca-file "$W/root.pem" --json >"$W/test.json"
}
s_client_loop() {
	local p
	for p in "${PORTS[@]}"; do
		openssl s_client -connect "127.0.0.1:$p" -servername mail.example.com \
			-CAfile "$W/root.pem" -verify_return_error </dev/null >/dev/null 2>&1 ||
			{ echo "bench: s_client failed on $p" >&2; exit 1; }
	done
}
declare -a A S
for r in $(seq "$RUNS"); do
	t0=$(now_ms)
	certfleet_test || { echo "bench: certfleet test failed" >&2; exit 1; }
	t1=$(now_ms)
	s_client_loop
	t2=$(now_ms)
	A+=($((t1 - t0)))
	S+=($((t2 - t1)))
	echo "run $r: certfleet test $((t1 - t0)) ms, s_client loop $((t2 - t1)) ms"
done
[ "$(jq '[.Endpoints[] | select(.Valid)] | length' "$W/test.json")" = "$N" ] ||
	{ echo "bench: not every endpoint was valid" >&2; exit 1; }

# The floor: the CPU one new handshake costs OpenSSL's own client
# (openssl s_time, one process, no chain check), in microseconds.
floor=$(openssl s_time -connect "127.0.0.1:${PORTS[0]}" -new -time 3 2>/dev/null |
	awk '/connections\/user sec/ { printf "%d", 1000000 / $(NF - 5) }')
ma=$(median "${A[@]}")
ms=$(median "${S[@]}")
ratio=$(awk -v a="$ms" -v b="$ma" 'BEGIN { printf "%.1f", a / b }')
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r), $(openssl version)"
printf '%-44s %8s\n' "$N endpoints, $KEY keys (median of $RUNS)" "ms"
printf '%-44s %8d\n' "certfleet test (agent asked, all probed)" "$ma" \
	"openssl s_client, one per endpoint" "$ms"
printf '%-44s %8s\n' "client CPU per new handshake (s_time)" "${floor:-?} us"
if awk -v r="$ratio" 'BEGIN { exit !(r >= 20) }'; then
	echo "s_client loop / certfleet test = $ratio x >= 20: met"
else
	echo "s_client loop / certfleet test = $ratio x < 20: MISSED"
	exit 1
fi
