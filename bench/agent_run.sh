#!/usr/bin/env bash
# bench/agent_run.sh - the agent load benchmark (not part of make test).
#
#   bench/agent_run.sh
#
# Builds bench/agent_load.c, starts one certfleetd on loopback with a
# state of its own in a temporary directory (listen 127.0.0.1:0, no Unix
# socket), makes an admin identity and authorizes it, and runs, against
# that one agent:
#   phase 1  32 keep-alive mutual-TLS connections for 30 s: GET
#            /v1/certificates back to back, and on each connection 4
#            imports (POST /v1/import, a distinct EC certificate each)
#            spread over the run;
#   phase 2  the same, while one more client keeps POSTing
#            /v1/new-self-signed with "key": "rsa4096" back to back, so a
#            4096-bit key is being generated throughout;
#   phase 3  (diagnosis; BENCH_PHASE3=0 skips it) two controls, no
#            imports, on the store as phase 2 left it: 3a GET
#            /v1/certificates with no key generation (the cost of the
#            list's size alone); 3b GET /v1/certificates?thumbprint=<the
#            host certificate> (one certificate an answer) while RSA-4096
#            keys are generated (the cost of key generation alone).
# Then every import of every phase must be listed by `certfleet get
# --server` (the CLI, not the load client), and the agent must stop on
# SIGTERM with exit 0.  Prints the machine, each phase's table, the
# agent's and the client's CPU time (they share the machine), and the
# figures against the targets:
#   >= 1,000 GET requests/s over keep-alive mutual TLS    (phase 1)
#   GET p99 < 50 ms while 4096-bit keys are generated     (phase 2)
#   zero errors; every import present afterwards           (all)
# Exit 0 when every target is met, 1 otherwise.
#
# Knobs: BENCH_DURATION (30 s), BENCH_CONNS (32), BENCH_IMPORTS_PER_CONN
# (4 per phase), BENCH_KEYGEN (1 client), BENCH_PHASE3 (1), B (build).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
. bench/lib.sh

B=${B:-build}
DURATION=${BENCH_DURATION:-30}
CONNS=${BENCH_CONNS:-32}
IMPORTS=${BENCH_IMPORTS_PER_CONN:-4}
KEYGEN=${BENCH_KEYGEN:-1}
PHASE3=${BENCH_PHASE3:-1}
TARGET_RPS=1000
TARGET_P99_MS=50

die() {
	echo "agent_run: $*" >&2
	exit 1
}

[ -x "$B/certfleet" ] && [ -x "$B/certfleetd" ] ||
	make --no-print-directory -s all >/dev/null || die "make failed"
[ -x "$B/certfleetd" ] || die "no $B/certfleetd"
mkdir -p "$B/bench"
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -o "$B/bench/agent_load" \
	bench/agent_load.c $(pkg-config --cflags --libs libssl libcrypto jansson) -pthread ||
	die "cannot build bench/agent_load.c"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certfleet-agent-bench.XXXXXX")
AGENT_PID=
cleanup() {
	if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		sleep 1
		kill -KILL "$AGENT_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CF=$B/certfleet
CFD=$B/certfleetd
LOAD=$B/bench/agent_load
export CERTFLEET_HOME=$WORK/home
unset CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG NOTIFY_SOCKET

cat >"$WORK/agent.conf" <<EOF
[agent]
name = bench
listen = 127.0.0.1:0
socket = none
state = $WORK/state
EOF
"$CF" id >/dev/null
ID_FP=$("$CF" id --json | jq -r .Fingerprint)
"$CFD" init --config "$WORK/agent.conf" >/dev/null
"$CFD" authorize "$ID_FP" --role admin --config "$WORK/agent.conf" >/dev/null
AGENT_FP=$("$CFD" fingerprint --config "$WORK/agent.conf")

"$CFD" run --config "$WORK/agent.conf" >/dev/null 2>"$WORK/agent.log" </dev/null &
AGENT_PID=$!
PORT=$(agent_port "$WORK/agent.log" "$AGENT_PID")
[ -n "$PORT" ] || {
	cat "$WORK/agent.log" >&2
	die "the agent did not start"
}
HOST_TP=$("$CF" get --server "127.0.0.1:$PORT" --fingerprint "$AGENT_FP" --json |
	jq -r '.Items[] | select(.Subject == "CN=bench") | .Thumbprint')

# The agent's CPU seconds so far (utime + stime of every thread).
agent_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$AGENT_PID/stat"
}
store_size() {
	"$CF" get --server "127.0.0.1:$PORT" --fingerprint "$AGENT_FP" --json | jq '.Items | length'
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(awk '{print $1 / 1024 / 1024}' <(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)) GiB," \
	"kernel $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "agent: $("$CFD" --version), 127.0.0.1:$PORT, default configuration (no workers key)"
echo "load: $CONNS keep-alive mutual-TLS connections (OpenSSL $(pkg-config --modversion libssl) client, one thread each), $DURATION s a phase, $IMPORTS imports per connection per phase"
echo

declare -A R=()
# phase TAG ARGS... - one run of the load client; its RESULT lines into R.
phase() {
	local tag=$1 line cpu0 cpu1 n0
	shift
	n0=$(store_size)
	cpu0=$(agent_cpu)
	"$LOAD" --connect "127.0.0.1:$PORT" --fingerprint "$AGENT_FP" \
		--cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
		--conns "$CONNS" --duration "$DURATION" --tag "$tag" \
		--thumbs-out "$WORK/$tag.thumbs" "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || true
	cpu1=$(agent_cpu)
	grep -v '^RESULT ' "$WORK/$tag.out" | sed 's/^/  /'
	sed 's/^/  /' "$WORK/$tag.err" | head -n 5
	while IFS= read -r line; do
		R[${line%%=*}]=${line#*=}
	done < <(sed -n 's/^RESULT //p' "$WORK/$tag.out")
	R[${tag}_agent_cpu_s]=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.1f", b - a}')
	echo "  agent CPU: ${R[${tag}_agent_cpu_s]} s in ${R[${tag}_seconds]:-?} s;" \
		"store: $n0 -> $(store_size) certificates; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
}

echo "phase 1: GET /v1/certificates + imports"
phase phase1 --imports-per-conn "$IMPORTS"
echo "phase 2: the same while RSA-4096 keys are generated ($KEYGEN client(s) POSTing /v1/new-self-signed)"
phase phase2 --imports-per-conn "$IMPORTS" --keygen "$KEYGEN"
if [ "$PHASE3" = 1 ]; then
	echo "phase 3a (diagnosis): GET /v1/certificates only, no key generation"
	phase phase3a --imports-per-conn 0
	echo "phase 3b (diagnosis): GET /v1/certificates?thumbprint=${HOST_TP:0:8}… (one certificate an answer) while RSA-4096 keys are generated"
	phase phase3b --imports-per-conn 0 --keygen "$KEYGEN" --get-query "thumbprint=$HOST_TP"
fi

# Every import, checked with the CLI.
"$CF" get --server "127.0.0.1:$PORT" --fingerprint "$AGENT_FP" --json |
	jq -r '.Items[].Thumbprint' | sort -u >"$WORK/listed"
planned=$((2 * CONNS * IMPORTS))
sort -u "$WORK"/phase[12].thumbs >"$WORK/imported"
imported=$(wc -l <"$WORK/imported")
present=$(comm -12 "$WORK/imported" "$WORK/listed" | wc -l)
echo "imports: $planned planned, $imported answered \"imported\", $present listed by certfleet get afterwards"

kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=
echo "agent stopped on SIGTERM: exit $rc"
echo

errors=0
for t in phase1 phase2 phase3a phase3b; do
	errors=$((errors + ${R[${t}_errors]:-0}))
done
met=1
# judge 0|1 - V is "met" or "MISSED" (and the run fails).
judge() {
	if [ "$1" = 1 ]; then
		V=met
	else
		V=MISSED
		met=0
	fi
}
echo "targets                                          figure        target     verdict"
judge "$(awk -v x="${R[phase1_get_rps]:-0}" -v t=$TARGET_RPS 'BEGIN {print (x >= t)}')"
printf '  GET/s, keep-alive mTLS (phase 1)               %-13s >= %-7s  %s\n' \
	"${R[phase1_get_rps]:-0}" "$TARGET_RPS" "$V"
judge "$(awk -v x="${R[phase2_get_p99_ms]:-1e9}" -v t=$TARGET_P99_MS 'BEGIN {print (x < t)}')"
printf '  GET p99 while RSA-4096 keygen (phase 2)        %-13s < %-8s  %s\n' \
	"${R[phase2_get_p99_ms]:-?} ms" "$TARGET_P99_MS ms" "$V"
judge "$([ "$errors" -eq 0 ] && echo 1 || echo 0)"
printf '  errors, every phase                            %-13s = %-8s  %s\n' "$errors" 0 "$V"
judge "$([ "$present" -eq "$planned" ] && echo 1 || echo 0)"
printf '  imports present afterwards                     %-13s = %-8s  %s\n' "$present" "$planned" "$V"
judge "$([ "$rc" -eq 0 ] && echo 1 || echo 0)"
printf '  agent exit status on SIGTERM                   %-13s = %-8s  %s\n' "$rc" 0 "$V"
echo "also: phase 2 GET/s ${R[phase2_get_rps]:-?}, p50 ${R[phase2_get_p50_ms]:-?} ms;" \
	"phase 1 GET p50 ${R[phase1_get_p50_ms]:-?} ms, p99 ${R[phase1_get_p99_ms]:-?} ms;" \
	"RSA-4096 keys made in phase 2: ${R[phase2_keygen_count]:-0} (p50 ${R[phase2_keygen_p50_ms]:-?} ms each)"
if [ "$PHASE3" = 1 ]; then
	echo "diagnosis: 3a (whole list, no keygen): GET/s ${R[phase3a_get_rps]:-?}," \
		"p50 ${R[phase3a_get_p50_ms]:-?} ms, p99 ${R[phase3a_get_p99_ms]:-?} ms;" \
		"3b (one certificate an answer, keygen): GET/s ${R[phase3b_get_rps]:-?}," \
		"p50 ${R[phase3b_get_p50_ms]:-?} ms, p99 ${R[phase3b_get_p99_ms]:-?} ms"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$met" = 1 ]
