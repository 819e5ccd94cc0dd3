#!/usr/bin/env bash
# bench/store10k.sh - what a store of 10,000 certificates costs (issue 16;
# `make bench`).
#
# The store: 1,000 PKCS#12 (RSA-2048 leaf + intermediate + root) and 9,000
# EC P-256 leaves of the same CA, the corpus bench/run.sh makes (bench/gen.c,
# cached in bench/.cache), imported once into the store of a certfleetd
# state directory and cached in $B/bench/store10k (made by the START build,
# so both builds can read it; each run works on copies).
#
# Two builds in the same run: NOW (this tree, $B) and START (commit
# $BENCH_BASE, the start of the work, built once into $B/bench-base from
# `git archive`).  Each figure is printed beside its target, the START
# figure and NOW / START.  Interleaved runs (START, NOW, START, NOW ...),
# median of BENCH_RUNS (7) after one warm-up each:
#   get, table and --json, on the local store            <= 30 ms, <= 50 ms
#   get THUMBPRINT (one leaf) on the local store          <= 5 ms
#   get --expiring 30d on the local store                 <= 5 ms: it reads
#                                   only what it shows (here: nothing)
#   certfleet --server X get --json, end to end           <= 150 ms
#   and, for scale, the floors: /bin/true timed the same way, and one
#   row read by a static SQLite program (bench/onerow.c)
#   agent RSS (VmRSS of certfleetd and its children) after 100 full
#   listings (certfleet --server X get --json) by 8 concurrent clients
#                                                         <= 40 MB
#   ... and after BENCH_LONG (1,000) more: flat (<= 40 MB, and within
#   10% of the figure after 100); NOW only, START would take minutes.
# Each process is started by bench/spawn.c (posix_spawn, as a lean
# caller starts it; bash's own fork costs more than 5 ms here) and timed
# whole, wall clock and CPU.  Also: the
# store (made by START) upgraded by NOW lists as START lists it.  Exit 0
# when every target is met, 1 otherwise.
#
# Knobs: BENCH_BASE (c9768c3), BENCH_RUNS (7), BENCH_CLIENTS (8),
# BENCH_LISTINGS (100), BENCH_LONG (1000), B (build).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
. bench/lib.sh

B=${B:-build}
BASE=${BENCH_BASE:-c9768c3}
RUNS=${BENCH_RUNS:-7}
CLIENTS=${BENCH_CLIENTS:-8}
LISTINGS=${BENCH_LISTINGS:-100}
LONG=${BENCH_LONG:-1000}
CACHE=bench/.cache
STORE=$PWD/$B/bench/store10k
BASEDIR=$PWD/$B/bench-base
P12N=1000
PEMN=9000
T_RSS=40 T_TABLE=30 T_JSON=50 T_REMOTE=150 T_THUMB=5 T_EXPIRING=5

die() {
	echo "store10k: $*" >&2
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certfleet-store10k.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the two builds ------------------------------------------------------
make --no-print-directory -s B="$B" all >/dev/null || die "make failed"
NOW=$B
base_rev=$(git rev-parse "$BASE^{commit}") || die "no commit $BASE"
if [ "$(cat "$BASEDIR/rev" 2>/dev/null)" != "$base_rev" ] ||
	[ ! -x "$BASEDIR/src/build/certfleetd" ]; then
	rm -rf "$BASEDIR"
	mkdir -p "$BASEDIR/src"
	git archive "$base_rev" | tar -x -C "$BASEDIR/src"
	make --no-print-directory -s -C "$BASEDIR/src" -j2 all >/dev/null ||
		die "cannot build $BASE in $BASEDIR"
	echo "$base_rev" >"$BASEDIR/rev"
fi
START=$BASEDIR/src/build

# --- the corpus and the store (cached) -------------------------------------
mkdir -p "$B/bench"
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$B/bench/gen" bench/gen.c \
	$(pkg-config --cflags --libs libcrypto)
if [ -d "$CACHE/ca" ] && [ -n "$(find "$CACHE/ca" -maxdepth 0 -mtime +300)" ]; then
	rm -rf "$CACHE" "$STORE" # leaves live a year: made afresh before
fi
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$B/bench/spawn" bench/spawn.c
SPAWN=$PWD/$B/bench/spawn
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -static-pie -o "$B/bench/onerow" \
	bench/onerow.c -lsqlite3 -lm -pthread 2>/dev/null ||
	die "cannot build bench/onerow.c (static, as the front-end)"
"$B/bench/gen" -j "$(nproc)" p12 "$P12N" "$CACHE"
"$B/bench/gen" -j "$(nproc)" pem "$PEMN" "$CACHE"

# The system roots plus the bench root: the corpus is Valid, and get
# takes the path it takes for real certificates (bench/run.sh says why).
sys_roots=${SSL_CERT_FILE:-$(openssl version -d | sed 's/^OPENSSLDIR: "\(.*\)"$/\1/')/cert.pem}
cat "$sys_roots" "$CACHE/ca/root.pem" >"$WORK/roots.pem" 2>/dev/null ||
	cp "$CACHE/ca/root.pem" "$WORK/roots.pem"
export SSL_CERT_FILE=$WORK/roots.pem
unset CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG NOTIFY_SOCKET

# agent_conf STATE - an agent configuration on loopback for STATE.
agent_conf() {
	printf '[agent]\nname = bench\nlisten = 127.0.0.1:0\nsocket = none\nstate = %s\n' "$1"
}

if [ ! -f "$STORE/done" ]; then
	echo "store10k: building the store of 10,000 certificates once (cached in $STORE)..." >&2
	rm -rf "$STORE"
	mkdir -p "$STORE"
	export CERTFLEET_HOME=$STORE/home
	agent_conf "$STORE/state" >"$STORE/agent.conf"
	"$START/certfleet" id >/dev/null
	"$START/certfleetd" init --config "$STORE/agent.conf" >/dev/null
	"$START/certfleetd" authorize "$("$START/certfleet" id --json | jq -r .Fingerprint)" \
		--role reader --config "$STORE/agent.conf" >/dev/null
	"$START/certfleet" --store "$STORE/state/store" import \
		--password-file "$CACHE/password" "$CACHE/p12-$P12N"/*.p12 >/dev/null
	PEM=("$CACHE/pem-$PEMN"/*.pem)
	for ((i = 0; i < ${#PEM[@]}; i += 100)); do
		"$START/certfleet" --store "$STORE/state/store" import "${PEM[@]:i:100}" >/dev/null
	done
	touch "$STORE/done"
fi
export CERTFLEET_HOME=$WORK/home
cp -a "$STORE/home" "$CERTFLEET_HOME"
for side in START NOW; do
	mkdir -p "$WORK/$side"
	cp -a "$STORE/state" "$WORK/$side/state"
	agent_conf "$WORK/$side/state" >"$WORK/$side/agent.conf"
done
# The store was made by START (an older schema): NOW upgrades it when it
# first opens it, and must list it as START does, byte for byte.
"$START/certfleet" --store "$WORK/START/state/store" --json get >"$WORK/start.json"
"$NOW/certfleet" --store "$WORK/NOW/state/store" --json get >"$WORK/now.json"
upgraded=$(cmp -s "$WORK/start.json" "$WORK/now.json" && echo "the same bytes" || echo "NOT THE SAME")
count=$("$NOW/certfleet" --store "$WORK/NOW/state/store" --json get | jq '.Items | length')
[ "$count" -ge 10000 ] || die "the store lists $count certificates, not 10,000"
LEAF=$("$NOW/certfleet" --store "$WORK/NOW/state/store" --json get |
	jq -r '[.Items[] | select(.KeyType | startswith("EC"))][4321].Thumbprint')

# --- timing helpers ----------------------------------------------------------
# "WALL CPU" in milliseconds for "$@", from bench/spawn.c: posix_spawn
# (no copy of this shell), wall clock around the spawn and the reaping,
# CPU (user + sys, with the processes it waited for) from wait4.  A
# failing command stops the benchmark (a broken run has no time).  CPU is
# the figure to read when the machine is shared: wall time also counts
# waiting for a CPU.
ms() {
	local out
	if ! out=$("$SPAWN" "$@" 2>"$WORK/stderr"); then
		echo "store10k: failed: ${*:1:8}" >&2
		tail -n 5 "$WORK/stderr" >&2
		exit 1
	fi
	echo "$out"
}
# The median of field F (1 wall, 2 CPU) of "WALL CPU" pairs.
median() {
	local f=$1
	shift
	printf '%s\n' "$@" | awk -v f="$f" '{ print $f }' | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

declare -A FIG=() CPU=()
# measure NAME ARGS... - the median of RUNS runs of certfleet ARGS...,
# START and NOW interleaved; {} in ARGS is the side's directory.
measure() {
	local name=$1 side i
	shift
	declare -A runs=()
	for side in START NOW; do
		ms "${!side}/certfleet" "${@//\{\}/$WORK/$side}" >/dev/null
	done
	for ((i = 0; i < RUNS; i++)); do
		for side in START NOW; do
			runs[$side]+="$(ms "${!side}/certfleet" "${@//\{\}/$WORK/$side}")"$'\n'
		done
	done
	for side in START NOW; do
		mapfile -t pairs <<<"${runs[$side]%$'\n'}"
		FIG[$name.$side]=$(median 1 "${pairs[@]}")
		FIG[$name.$side.cpu]=$(median 2 "${pairs[@]}")
	done
}

# --- the local store -------------------------------------------------------
measure table --store "{}/state/store" get
measure json --store "{}/state/store" --json get
measure thumb --store "{}/state/store" get "$LEAF"
measure expiring --store "{}/state/store" get --expiring 30d
# The floor: a process that does nothing (/bin/true), started and timed
# the same way, between the runs of a START certfleet as those are.
# And the floor of reading one certificate with SQLite at all
# (bench/onerow.c: open, one row by thumbprint, close).
floor=() onerow=()
for ((i = 0; i < RUNS; i++)); do
	ms "$START/certfleet" --store "$WORK/START/state/store" get "$LEAF" >/dev/null
	floor+=("$(ms /bin/true)")
	onerow+=("$(ms "$B/bench/onerow" "$WORK/NOW/state/store/store.db" "$LEAF")")
done
FIG[floor]=$(median 1 "${floor[@]}")
FIG[floor.cpu]=$(median 2 "${floor[@]}")
FIG[onerow]=$(median 1 "${onerow[@]}")
FIG[onerow.cpu]=$(median 2 "${onerow[@]}")
FIG[expiring_rows]=$("$NOW/certfleet" --store "$WORK/NOW/state/store" --json get --expiring 30d | jq '.Items | length')

# --- the agent ---------------------------------------------------------------
# The resident set of certfleetd PID and its children, in MB: VmRSS, or
# the field given (RssAnon: the private memory alone, without the
# mapped files).
rss_mb() {
	local kb=0 p field=${2:-VmRSS}
	for p in "$1" $(pgrep -P "$1" || true); do
		kb=$((kb + $(sed -n "s/^$field:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	awk -v k="$kb" 'BEGIN { printf "%.1f\n", k / 1024 }'
}
# The CPU seconds certfleetd PID and its children have used.
agent_cpu() {
	local p
	for p in "$1" $(pgrep -P "$1" || true); do
		cat "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { printf "%.3f\n", t / hz }'
}
# listings SIDE N - N full listings by CLIENTS concurrent clients.
listings() {
	local side=$1 n=$2 c each pids=()
	for ((c = 0; c < CLIENTS; c++)); do
		each=$((n / CLIENTS + (c < n % CLIENTS ? 1 : 0)))
		(
			for ((i = 0; i < each; i++)); do
				"${!side}/certfleet" --server "$SERVER" --fingerprint "$AFP" \
					--json get >/dev/null || exit 1
			done
		) &
		pids+=($!)
	done
	for c in "${pids[@]}"; do
		wait "$c" || die "a listing by $side failed"
	done
}
for side in START NOW; do
	"${!side}/certfleetd" run --config "$WORK/$side/agent.conf" \
		>/dev/null 2>"$WORK/$side/agent.log" </dev/null &
	apid=$!
	PIDS+=("$apid")
	port=$(agent_port "$WORK/$side/agent.log" "$apid")
	[ -n "$port" ] || die "the $side agent did not start: $(tail -n 3 "$WORK/$side/agent.log")"
	AFP=$("${!side}/certfleetd" fingerprint --config "$WORK/$side/agent.conf")
	SERVER=127.0.0.1:$port
	FIG[rss0.$side]=$(rss_mb "$apid")
	listings "$side" "$LISTINGS"
	FIG[rss.$side]=$(rss_mb "$apid")
	FIG[anon.$side]=$(rss_mb "$apid" RssAnon)
	rruns=()
	c0=$(agent_cpu "$apid")
	for ((i = 0; i < RUNS; i++)); do
		rruns+=("$(ms "${!side}/certfleet" --server "$SERVER" --fingerprint "$AFP" --json get)")
	done
	c1=$(agent_cpu "$apid")
	FIG[remote.$side]=$(median 1 "${rruns[@]}")
	FIG[remote.$side.cpu]=$(median 2 "${rruns[@]}")
	FIG[remote.$side.agent]=$(awk -v a="$c0" -v b="$c1" -v n="$RUNS" 'BEGIN { printf "%.0f", (b - a) * 1000 / n }')
	if [ "$side" = NOW ]; then
		listings "$side" "$LONG"
		FIG[rsslong.$side]=$(rss_mb "$apid")
		FIG[anonlong.$side]=$(rss_mb "$apid" RssAnon)
	fi
	kill -TERM "$apid"
	wait "$apid" || true
done

# --- the table -----------------------------------------------------------------
echo "certfleet: a store of $count certificates  $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "NOW: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes'); START: git ${base_rev:0:7}"
echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "times: median of $RUNS runs after one warm-up, START and NOW interleaved, wall ms;"
echo "       CPU ms (user + sys) beside them: what the machine's load does not change"
echo
met=1
# row LABEL NOW START TARGET UNIT [CPU-START CPU-NOW] - one line of the
# table; judged on NOW.
row() {
	local v r
	v=$(awk -v a="$2" -v t="$4" 'BEGIN { print (a <= t) ? "met" : "MISSED" }')
	[ "$v" = met ] || met=0
	r=$(awk -v a="$2" -v b="$3" 'BEGIN { if (b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }')
	printf '  %-44s %9s %9s %9s %8s  %-6s  %s\n' "$1" "<= $4 $5" "$3" "$2" "$r" "$v" \
		"${6:+CPU ms: START $6, NOW $7}"
}
printf '  %-44s %9s %9s %9s %8s  %s\n' figure target START NOW NOW/START verdict
for f in table json thumb expiring remote; do
	CPU[$f]="${FIG[$f.START.cpu]} ${FIG[$f.NOW.cpu]}"
done
# shellcheck disable=SC2086 # two words: START's and NOW's CPU
{
row "get, local, table (ms)" "${FIG[table.NOW]}" "${FIG[table.START]}" $T_TABLE ms ${CPU[table]}
row "get --json, local (ms)" "${FIG[json.NOW]}" "${FIG[json.START]}" $T_JSON ms ${CPU[json]}
row "get THUMBPRINT, local (ms)" "${FIG[thumb.NOW]}" "${FIG[thumb.START]}" $T_THUMB ms ${CPU[thumb]}
row "get --expiring 30d, local, ${FIG[expiring_rows]} shown (ms)" "${FIG[expiring.NOW]}" "${FIG[expiring.START]}" $T_EXPIRING ms ${CPU[expiring]}
row "--server X get --json, end to end (ms)" "${FIG[remote.NOW]}" "${FIG[remote.START]}" $T_REMOTE ms ${CPU[remote]}
}
echo "  the floor here: /bin/true, timed the same way, ${FIG[floor]} ms (CPU ${FIG[floor.cpu]} ms);"
echo "    one row read with SQLite (bench/onerow.c, static), ${FIG[onerow]} ms (CPU ${FIG[onerow.cpu]} ms)"
row "agent RSS after $LISTINGS listings, $CLIENTS clients (MB)" "${FIG[rss.NOW]}" "${FIG[rss.START]}" $T_RSS MB
row "agent RSS after $((LISTINGS + LONG)) listings (MB)" "${FIG[rsslong.NOW]}" - $T_RSS MB
flat=$(awk -v a="${FIG[rsslong.NOW]}" -v b="${FIG[rss.NOW]}" 'BEGIN { print (a <= b * 1.1) ? "met" : "MISSED" }')
[ "$flat" = met ] || met=0
echo "  the agent's CPU a listing: START ${FIG[remote.START.agent]} ms, NOW ${FIG[remote.NOW.agent]} ms" \
	"(the CLI's is the CPU ms above)"
echo "  agent RssAnon (private memory, no mapped files) after $LISTINGS: START ${FIG[anon.START]} MB," \
	"NOW ${FIG[anon.NOW]} MB; after $((LISTINGS + LONG)): NOW ${FIG[anonlong.NOW]} MB"
echo "  agent RSS at start: START ${FIG[rss0.START]} MB, NOW ${FIG[rss0.NOW]} MB;" \
	"after $((LISTINGS + LONG)) within 10% of after $LISTINGS: $flat"
echo "  the START store, upgraded by NOW's first get, lists as START lists it: $upgraded"
echo "load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) CPUs"
[ "$met" = 1 ]
