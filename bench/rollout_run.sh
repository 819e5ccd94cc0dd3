#!/usr/bin/env bash
# bench/rollout_run.sh - what a staged rollout costs over a plain copy, to
# the same three servers (not part of make test).
#
#   bench/rollout_run.sh          (BENCH_RUNS=5, B=build)
#
# Three agents (m1, m2, m3), each with a private nginx as service https
# serving an old certificate; m1 holds a new one, exportable, on no
# service.  Then, BENCH_RUNS times each, with every server put back on
# the old certificate (and the new one removed from m2 and m3) between
# runs:
#   copy     `certfleet enable NEW --services https --server m1`, then
#            `certfleet copy NEW --from m1 --to m2,m3 --services https`:
#            import, assign, deploy and the agents' handshake proof (copy
#            leaves its source out, so m1 is enabled first, as an admin
#            would do by hand);
#   rollout  `certfleet rollout NS --certificate NEW --from m1 --waves
#            1,100% --soak 0`: the same per member, in two waves (m1, then
#            m2 and m3), with the CLI's own handshake test of each wave and
#            the state saved in the fleet file after every member.
# No balancer: its sampling (20 handshakes a wave) would add its own
# time, which a namespace without --via does not pay.  Prints the
# machine, the medians and rollout / copy.  This is a report, not a
# target: exit 0 when every run succeeded.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
B=${B:-build}
RUNS=${BENCH_RUNS:-5}
export CERTFLEET=$ROOT_DIR/$B/certfleet
CFD=$ROOT_DIR/$B/certfleetd
[ -x "$CERTFLEET" ] && [ -x "$CFD" ] || make --no-print-directory B="$B" all >/dev/null
set +e +u
# The e2e helpers: $T, make_pki, free_ports, and real nginx (servers-lib).
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../tests/e2e/servers-lib.sh
. tests/e2e/servers-lib.sh
# shellcheck source=lib.sh
. bench/lib.sh
set -euo pipefail
CF=$CERTFLEET
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	srv_stop_all
	rm -rf "$T"
}
trap cleanup EXIT
export CERTFLEET_HOME=$T/home
NS=mail.example.com
P=$T/pki
make_pki "$P" >/dev/null 2>&1 && make_leaf "$P" new 4001 ||
	{ echo "bench: make_pki failed" >&2; exit 1; }
OLD=$(thumb "$P/leaf.pem")
NEW=$(thumb "$P/new.pem")
"$CF" id >/dev/null
ID=$("$CF" id | head -n 1)

read -r -d '' N1 N2 N3 < <(free_ports 3) || true
declare -A NPORT=([m1]=$N1 [m2]=$N2 [m3]=$N3)
for n in m1 m2 m3; do
	mkdir -p "$T/srv/$n"
	cp "$P/ec.pem" "$T/srv/$n/https.crt"
	cp "$P/ec.key" "$T/srv/$n/https.key"
	chmod 600 "$T/srv/$n/https.key"
	srv_nginx_start "$T/srv/$n/nginx" "${NPORT[$n]}" "$T/srv/$n/https.crt" \
		"$T/srv/$n/https.key" "$NS" >/dev/null ||
		{ echo "bench: nginx for $n did not start" >&2; exit 1; }
	cat >"$T/$n.conf" <<-EOF
		[agent]
		name = $n
		listen = 127.0.0.1:0
		socket = none
		state = $T/$n

		[service https]
		kind = nginx
		chain = $T/srv/$n/https.crt
		key = $T/srv/$n/https.key
		test = $(srv_nginx_test_cmd "$T/srv/$n/nginx")
		reload = $(srv_nginx_reload_cmd "$T/srv/$n/nginx")
		check = 127.0.0.1:${NPORT[$n]}
		name = $NS
		timeout = 10
	EOF
	"$CFD" init --config "$T/$n.conf" >/dev/null 2>&1
	"$CFD" authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	"$CFD" run --config "$T/$n.conf" >/dev/null 2>"$T/$n.log" </dev/null &
	PIDS+=($!)
	port=$(agent_port "$T/$n.log" "${PIDS[-1]}")
	[ -n "$port" ] || { echo "bench: $n did not start" >&2; cat "$T/$n.log" >&2; exit 1; }
	"$CF" fleet add "$n" "127.0.0.1:$port" \
		--fingerprint "$("$CFD" fingerprint --config "$T/$n.conf")" >/dev/null
done
ALL=m1,m2,m3
"$CF" --server "$ALL" import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" \
	--services https --force >/dev/null
"$CF" --server m1 import "$P/new.pem" "$P/new.key" "$P/chain.pem" --exportable >/dev/null

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# timed CMD... - runs CMD, prints its wall time in ms; fails the bench on
# error.
timed() {
	local t0 t1
	t0=$(now_ms)
	"$@" >"$T/timed.out" 2>"$T/timed.err" ||
		{ echo "bench: failed: $*" >&2; cat "$T/timed.err" >&2; exit 1; }
	t1=$(now_ms)
	echo $((t1 - t0))
}
# served - what the three nginx serve, "T1 T2 T3".
served() {
	local n out=
	for n in m1 m2 m3; do
		out+="$(srv_served_thumb tls 127.0.0.1 "${NPORT[$n]}" "$NS") "
	done
	echo "${out% }"
}
# reset - every server back on OLD, NEW only on m1, a fresh namespace.
reset() {
	"$CF" --server "$ALL" enable "$OLD" --services https --force >/dev/null
	"$CF" --server m2,m3 remove "$NEW" --force >/dev/null 2>&1 || true
	"$CF" namespace remove "$NS" >/dev/null 2>&1 || true
	"$CF" namespace add "$NS" --servers "$ALL" --waves 1,100% --soak 0 >/dev/null
	[ "$(served)" = "$OLD $OLD $OLD" ] ||
		{ echo "bench: reset: nginx serve $(served)" >&2; exit 1; }
}
copy_all() {
	"$CF" --server m1 enable "$NEW" --services https --force &&
		"$CF" copy "$NEW" --from m1 --to m2,m3 --services https
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -a COPY ROLL
for r in $(seq "$RUNS"); do
	reset
	COPY+=("$(timed copy_all)")
	[ "$(served)" = "$NEW $NEW $NEW" ] || { echo "bench: copy: $(served) (old $OLD, new $NEW)" >&2; cat "$T/timed.out" >&2; exit 1; }
	reset
	ROLL+=("$(timed "$CF" rollout "$NS" --certificate "$NEW" --from m1 --ca-file "$P/root.pem")")
	[ "$(served)" = "$NEW $NEW $NEW" ] || { echo "bench: rollout: $(served)" >&2; exit 1; }
	echo "run $r: copy ${COPY[-1]} ms, rollout ${ROLL[-1]} ms"
done
mc=$(median "${COPY[@]}")
mr=$(median "${ROLL[@]}")
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r), $(openssl version)"
printf '%-44s %8s\n' "to 3 servers with nginx (median of $RUNS)" "ms"
printf '%-44s %8d\n' "enable on m1, copy --to m2,m3 --services" "$mc" \
	"rollout, waves 1,100%, soak 0" "$mr"
echo "rollout / copy = $(awk -v a="$mr" -v b="$mc" 'BEGIN { printf "%.2f", a / b }')"
