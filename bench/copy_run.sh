#!/usr/bin/env bash
# bench/copy_run.sh - certfleet copy to many agents (not part of make test).
#
#   bench/copy_run.sh            (BENCH_AGENTS=50, BENCH_RUNS=3, B=build)
#
# Starts one source agent and BENCH_AGENTS target agents on loopback, each
# with its own state in a temporary directory, pins them all in a fleet
# and authorizes one admin identity on each.  The source holds an
# exportable certificate (with its chain).  Then, BENCH_RUNS times each,
# with the copies removed from the targets between runs:
#   copy-N     one `certfleet copy --from src --to t00,...,tN-1`
#   copy-5     the same to the first 5 targets
#   sequential `certfleet copy --from src --to tI` for each target in
#              turn: the way without a fleet-wide command
# Prints the machine, the medians, and the figures against the targets:
#   copy to 50 agents <= 2 s, time(50) / time(5) <= 3
# and the sequential loop against one copy.  Exit 0 when the targets are
# met, 1 otherwise.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
. bench/lib.sh

B=${B:-build}
N=${BENCH_AGENTS:-50}
RUNS=${BENCH_RUNS:-3}
CF=$PWD/$B/certfleet
CFD=$PWD/$B/certfleetd
[ -x "$CF" ] && [ -x "$CFD" ] || make --no-print-directory B="$B" all >/dev/null

W=$(mktemp -d /tmp/cf-bench-copy.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
export CERTFLEET_HOME=$W/home

# A CA and a leaf with its chain for the source.
(
	cd "$W"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=Bench Root" -keyout root.key -out root.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=mail.example.com" -keyout leaf.key -out leaf.csr 2>/dev/null
	printf 'subjectAltName=DNS:mail.example.com\n' >leaf.ext
	openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial \
		-days 30 -extfile leaf.ext -out leaf.pem 2>/dev/null
)
TP=$(openssl x509 -in "$W/leaf.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')

"$CF" id >/dev/null
ID=$("$CF" id | head -n 1)

# start NAME - init, authorize, run; waits for the port, adds it to the fleet.
start() {
	local n=$1 port=
	cat >"$W/$n.conf" <<-EOF
		[agent]
		name = $n
		listen = 127.0.0.1:0
		socket = none
		state = $W/$n
		workers = 2
	EOF
	"$CFD" init --config "$W/$n.conf" >/dev/null
	"$CFD" authorize "$ID" --role admin --config "$W/$n.conf" >/dev/null
	"$CFD" run --config "$W/$n.conf" >/dev/null 2>"$W/$n.log" </dev/null &
	PIDS+=($!)
	port=$(agent_port "$W/$n.log" "${PIDS[-1]}")
	[ -n "$port" ] || { echo "bench: $n did not start" >&2; cat "$W/$n.log" >&2; exit 1; }
	"$CF" fleet add "$n" "127.0.0.1:$port" \
		--fingerprint "$("$CFD" fingerprint --config "$W/$n.conf")" >/dev/null
}

echo "starting 1 + $N agents ..."
start src
TARGETS=()
for i in $(seq 0 $((N - 1))); do
	t=$(printf 't%02d' "$i")
	start "$t"
	TARGETS+=("$t")
done
ALL=$(IFS=,; echo "${TARGETS[*]}")
FIVE=$(IFS=,; echo "${TARGETS[*]:0:5}")
"$CF" --server "src,$ALL" import "$W/root.pem" >/dev/null
"$CF" --server src import "$W/leaf.pem" "$W/leaf.key" --exportable >/dev/null

# now_ms - a monotonic clock in milliseconds.
# Milliseconds from bash itself: no process started to read the clock.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
reset() { "$CF" --server "$ALL" remove "$TP" --force >/dev/null 2>&1 || true; }
# timed CMD... - runs CMD, prints its wall time in ms; fails the bench on error.
timed() {
	local t0 t1
	t0=$(now_ms)
	"$@" >/dev/null || { echo "bench: failed: $*" >&2; exit 1; }
	t1=$(now_ms)
	echo $((t1 - t0))
}
sequential() {
	local t
	for t in "${TARGETS[@]}"; do "$CF" copy "$TP" --from src --to "$t"; done
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -a C50 C5 SEQ
for r in $(seq "$RUNS"); do
	reset
	C50+=("$(timed "$CF" copy "$TP" --from src --to "$ALL")")
	[ "$("$CF" --server "$ALL" get "$TP" --json | jq '.Items | length')" = "$N" ] ||
		{ echo "bench: the copy is not on all $N agents" >&2; exit 1; }
	reset
	C5+=("$(timed "$CF" copy "$TP" --from src --to "$FIVE")")
	reset
	SEQ+=("$(timed sequential)")
	echo "run $r: copy-$N ${C50[-1]} ms, copy-5 ${C5[-1]} ms, sequential ${SEQ[-1]} ms"
done

m50=$(median "${C50[@]}")
m5=$(median "${C5[@]}")
mseq=$(median "${SEQ[@]}")
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r), $(openssl version)"
printf '%-34s %8s\n' "copy (median of $RUNS)" "ms"
printf '%-34s %8d\n' "one copy to $N agents" "$m50" "one copy to 5 agents" "$m5" \
	"$N copies, one target each" "$mseq"
ratio=$(awk -v a="$m50" -v b="$m5" 'BEGIN { printf "%.2f", a / b }')
speed=$(awk -v a="$mseq" -v b="$m50" 'BEGIN { printf "%.1f", a / b }')
ok=0
[ "$m50" -le 2000 ] && echo "copy to $N agents: $m50 ms <= 2000 ms: met" ||
	{ echo "copy to $N agents: $m50 ms > 2000 ms: MISSED"; ok=1; }
awk -v r="$ratio" 'BEGIN { exit !(r <= 3) }' &&
	echo "time($N) / time(5) = $ratio <= 3: met" ||
	{ echo "time($N) / time(5) = $ratio > 3: MISSED"; ok=1; }
echo "sequential copies / one copy = $speed x"
exit $ok
