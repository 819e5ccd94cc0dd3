#!/usr/bin/env bash
# bench/converge.sh - how fast a fleet of agents on the etcd registry
# converges on a new desired certificate (issue 13, "Done when").
#
#   bench/converge.sh        (B=build; CONVERGE_MEMBERS=3, CONVERGE_PROCS=4,
#                             CONVERGE_ROLLOUT=1, CONVERGE_SMALL=100,
#                             CONVERGE_BIG=1000, CONVERGE_WATCH=narrow)
#
# Requirement: from the write of ns/NS/desired to the last agent's status
# converged on it, at most 5 s for 1,000 agents, and time(1000) /
# time(100) at most 4 (it grows no worse than about linearly).
#
# What bounds that ratio here: every agent costs etcd a watch event and
# a status put (and its sealed read), so a fleet of n costs about
# L + n * c, L the latency of one agent alone, c what one more agent adds
# while the CPUs are busy.  Agents and etcd share this machine's cores, so
# c is CPU time and the ratio is (L + 1000 c) / (L + 100 c): below 4 only
# when L >= 200 c.  The run therefore also times one agent alone (L) and
# prints c at both sizes: c(1000) / c(100) near 1 is linear growth, above
# it is the superlinear growth the ratio is there to catch, and the
# ratio a linear cost would reach with that L and c.
#
# A real etcd (Debian's 3.4) of CONVERGE_MEMBERS members (1 or 3) on
# loopback with TLS and client certificates, as tests/e2e/etcd-lib.sh
# starts it (the client speaks https only), no RBAC.  The agents are
# `cf-etcd sim agents` (src/registry/tool_sim.c): each with its own
# client and connections, lease kept alive, live key, and watch on the
# range it watches; desired and progress come from the list and the
# watch's events (cached, as the real agent does), each reads its sealed
# key once per rollout (its wave), decides with the reconciler the real
# agent uses and puts its status; each process prints the etcd calls
# its agents made (keepalives apart), reported per agent.  They import nothing: this measures
# the registry's side, not the store's.  For each fleet size, in one run:
# the agents started (CONVERGE_PROCS processes; one for the small fleet),
# all live, their sealed keys written, then `cf-etcd sim desire` watches
# the statuses, writes desired (a one-wave 100% rollout of the agents
# without members, and the progress a coordinator writes for it; or with
# CONVERGE_ROLLOUT=0 a thumbprint alone) and times the last
# status it sees.  The small fleet is stopped before the big one starts,
# in a namespace of its own.  Exit 1 when a target is missed.
# CONVERGE_WATCH=narrow has each agent watch [elect/, sealed/) instead of
# the agents' whole range: no agent hears of the others' live keys and
# statuses (n agents, n^2 events), to measure what that fan-out costs.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
B=${B:-build}
MEMBERS=${CONVERGE_MEMBERS:-3}
PROCS=${CONVERGE_PROCS:-4}
ROLLOUT=${CONVERGE_ROLLOUT:-1}
WATCH=${CONVERGE_WATCH:-narrow}
LIVE_S=${CONVERGE_LIVE_S:-120}
SMALL=${CONVERGE_SMALL:-100}
BIG=${CONVERGE_BIG:-1000}
TARGET_MS=5000
TARGET_RATIO=4
export CERTFLEET=$ROOT_DIR/$B/certfleet
CF_ETCD=$ROOT_DIR/$B/cf-etcd
[ -x "$CF_ETCD" ] || make --no-print-directory B="$B" all >/dev/null

# Every agent holds two connections and etcd one per agent and member.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((4 * BIG + 256)) ]; then
	echo "bench: converge: the open-files limit $(ulimit -n) is below $((4 * BIG + 256))" >&2
	exit 1
fi

set +e +u
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../tests/e2e/etcd-lib.sh
. tests/e2e/etcd-lib.sh
set -euo pipefail
require_tools etcd openssl curl
SIMS=()
stop_sims() {
	local p
	for p in "${SIMS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${SIMS[@]}"; do wait "$p" 2>/dev/null || true; done
	SIMS=()
}
# The script's own status, whatever stopping the members answers.
cleanup() {
	local rc=$?
	set +e
	stop_sims
	etcd_stop_all
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT

die() {
	local f
	echo "bench: converge: $*" >&2
	for f in "$T"/sim-*.err; do
		[ -s "$f" ] && tail -n 2 "$f" | sed 's/^/    | /' >&2
	done
	exit 1
}

# member_start I - etcd-lib's member nI, logging errors only: etcd 3.4
# warns once per gateway request that it ignores the client's CN, and a
# thousand agents' requests would measure the log.
member_start() {
	local i=$1 d=$ETCD_PKI
	etcd --name "n$i" --data-dir "$T/etcd-n$i" \
		--listen-client-urls "${ETCD_URLS[$i - 1]}" \
		--advertise-client-urls "${ETCD_URLS[$i - 1]}" \
		--listen-peer-urls "${ETCD_PEER_URLS[$i - 1]}" \
		--initial-advertise-peer-urls "${ETCD_PEER_URLS[$i - 1]}" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "cf-bench-$$" \
		--cert-file "$d/n$i.pem" --key-file "$d/n$i.key" \
		--trusted-ca-file "$d/ca.pem" --client-cert-auth \
		--peer-cert-file "$d/n$i.pem" --peer-key-file "$d/n$i.key" \
		--peer-trusted-ca-file "$d/ca.pem" --peer-client-cert-auth \
		--heartbeat-interval 50 --election-timeout 500 \
		--log-level error --logger zap >>"$T/etcd-n$i.log" 2>&1 &
	# shellcheck disable=SC2034 # etcd-lib.sh's etcd_stop_all reads it
	ETCD_PIDS[i - 1]=$!
}

# The cluster: etcd-lib's PKI, one or three members.
start_etcd() {
	local ports i
	etcd_pki >/dev/null 2>&1 || die "the etcd PKI failed"
	mapfile -t ports < <(free_ports $((2 * MEMBERS)))
	ETCD_CLUSTER=
	for ((i = 1; i <= MEMBERS; i++)); do
		ETCD_URLS[i - 1]=https://127.0.0.1:${ports[$i - 1]}
		ETCD_PEER_URLS[i - 1]=https://127.0.0.1:${ports[$i + MEMBERS - 1]}
		ETCD_CLUSTER+=${ETCD_CLUSTER:+,}n$i=${ETCD_PEER_URLS[$i - 1]}
	done
	ETCD_ENDPOINTS=$(
		IFS=,
		echo "${ETCD_URLS[*]}"
	)
	for ((i = 1; i <= MEMBERS; i++)); do
		member_start "$i"
	done
	etcd_wait_healthy 30 >&2 || die "etcd did not come up healthy"
}

# sim ARGS... - cf-etcd sim with the cluster's transport options.
sim() {
	"$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" \
		--timeout-ms "${CONVERGE_TIMEOUT_MS:-20000}" \
		--cert "$ETCD_PKI/client.pem" --key "$ETCD_PKI/client.key" \
		sim "$@"
}

# sim_exec ARGS... - the same, for `sim_exec ... &`: exec, so that $! is
# cf-etcd itself and the EXIT trap's TERM reaches it (a subshell that
# waits for it would die alone and leave the agents running).
sim_exec() {
	exec "$CF_ETCD" --endpoints "$ETCD_ENDPOINTS" --ca "$ETCD_PKI/ca.pem" \
		--timeout-ms "${CONVERGE_TIMEOUT_MS:-20000}" \
		--cert "$ETCD_PKI/client.pem" --key "$ETCD_PKI/client.key" \
		sim "$@"
}

# start_agents NS FIRST COUNT PROCS - agents s<FIRST>.. in PROCS
# processes, each logging to $T/sim-N.out; waits until every one says
# its agents are all live (CONVERGE_LIVE_S, 120 s at most).
start_agents() {
	local ns=$1 first=$2 count=$3 procs=$4 per i n out deadline
	per=$(((count + procs - 1) / procs))
	for ((i = 0; i < procs; i++)); do
		n=$((count - i * per < per ? count - i * per : per))
		[ "$n" -gt 0 ] || break
		out=$T/sim-$ns-$i.out
		sim_exec agents --watch "$WATCH" "$ns" s $((first + i * per)) "$n" >"$out" 2>"$out.err" &
		SIMS+=($!)
	done
	deadline=$((SECONDS + LIVE_S))
	for ((i = 0; i < ${#SIMS[@]}; i++)); do
		out=$T/sim-$ns-$i.out
		until grep -q '"Live"' "$out" 2>/dev/null; do
			kill -0 "${SIMS[$i]}" 2>/dev/null ||
				die "simulated agents $i died: $(tail -n 3 "$out.err")"
			[ "$SECONDS" -lt "$deadline" ] ||
				die "simulated agents $i not live within $LIVE_S s"
			sleep 0.1
		done
	done
}

# cpu_ticks PID... - the CPU the processes used so far (user + system,
# clock ticks): where the time goes while the fleet converges.
cpu_ticks() {
	local p t=0 f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}

# converge NS COUNT - the agents started, sealed, desired written; the
# milliseconds to the last status in $MS.  (Not in a $(...): the agents'
# pids must stay in this shell's $SIMS for the EXIT trap.)
converge() {
	local ns=$1 count=$2 thumb id base=- t0 out cpu0 sims0
	thumb=$(openssl rand -hex 20 | tr a-f A-F)
	id=$(openssl rand -hex 16)
	[ "$ROLLOUT" = 1 ] && base=s
	t0=$EPOCHREALTIME
	start_agents "$ns" 0 "$count" "$([ "$count" -le "$SMALL" ] && echo 1 || echo "$PROCS")"
	echo "converge: $count agents live in $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%.1f", b - a }') s"
	sim seal "$ns" "$thumb" "$id" s 0 "$count" >/dev/null 2>"$T/seal.err" ||
		die "sealed keys: $(tail -n 3 "$T/seal.err")"
	cpu0=$(cpu_ticks "${ETCD_PIDS[@]}")
	sims0=$(cpu_ticks "${SIMS[@]}")
	out=$(sim desire "$ns" "$thumb" "$id" "$count" "$base" 2>"$T/desire.err") ||
		die "$count agents did not converge: $(tail -n 3 "$T/desire.err")"
	CPU="etcd $(awk -v a="$cpu0" -v b="$(cpu_ticks "${ETCD_PIDS[@]}")" -v t="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", (b - a) / t }') s, agents $(awk -v a="$sims0" \
		-v b="$(cpu_ticks "${SIMS[@]}")" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / t }') s"
	if [ -n "${CONVERGE_DEBUG:-}" ]; then
		cat "$T"/sim-"$ns"-*.err | sed 's/: s[0-9]*:/: sN:/' | sort | uniq -c | sort -rn | head -n 8 >&2
		tail -n 3 "$T/desire.err" >&2
	fi
	stop_sims
	MS=$(jq -r .Ms <<<"$out")
	# each process prints its agents' calls as it stops
	CALLS=$(cat "$T"/sim-"$ns"-*.out | jq -rs --argjson n "$count" \
		'map(select(.Calls != null)) | "\(map(.Calls) | add / $n) per agent, \(map(.CallsLive) | add / $n) after its watch began"')
}

start_etcd
echo "converge: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), etcd $(etcd --version | sed -n 's/^etcd Version: //p') x $MEMBERS (TLS), rollout=$ROLLOUT, watch=$WATCH"
# one agent alone: L, the latency no fleet size can go below
one=()
for i in 1 2 3; do
	converge "one$i.bench.example" 1
	one+=("$MS")
done
lat=$(printf '%s\n' "${one[@]}" | sort -n | sed -n 2p)
echo "converge: 1 agent converged in $lat ms (median of 3: ${one[*]})"
converge small.bench.example "$SMALL"
small=$MS
echo "converge: $SMALL agents converged in $small ms; etcd calls: $CALLS; CPU meanwhile: $CPU"
converge big.bench.example "$BIG"
big=$MS
echo "converge: $BIG agents converged in $big ms; etcd calls: $CALLS; CPU meanwhile: $CPU"
ratio=$(awk -v a="$big" -v b="$small" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
echo "converge: $SMALL agents: $small ms; $BIG agents: $big ms (target <= $TARGET_MS ms)"
echo "converge: time($BIG)/time($SMALL) = $ratio (target <= $TARGET_RATIO)"
# c at each size, (t(n) - L) / n, and the ratio a linear L + n c gives
awk -v l="$lat" -v s="$small" -v b="$big" -v ns="$SMALL" -v nb="$BIG" -v t="$TARGET_RATIO" 'BEGIN {
	cs = (s - l) / ns; cb = (b - l) / nb
	printf "converge: per agent beyond the first: %.3f ms at %d, %.3f ms at %d: c(%d)/c(%d) = %.2f (1: linear)\n", cs, ns, cb, nb, nb, ns, cb / (cs > 0 ? cs : 1)
	printf "converge: a linear cost with L = %d ms and c = %.3f ms gives time(%d)/time(%d) = %.2f; %.2f needs L >= %.0f ms\n", l, cs, nb, ns, (l + nb * cs) / (l + ns * cs), t, (nb - t * ns) * cs / (t - 1)
}'
rc=0
[ "$big" -le "$TARGET_MS" ] || {
	echo "converge: FAIL: $BIG agents took more than $TARGET_MS ms"
	rc=1
}
awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(r <= t) }' || {
	echo "converge: FAIL: the ratio is above $TARGET_RATIO"
	rc=1
}
exit "$rc"
