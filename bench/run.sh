#!/usr/bin/env bash
# bench/run.sh - the import and listing benchmark (`make bench`).
#
# Requirement: 1,000 distinct PKCS#12 files (modern profile, RSA-2048 leaf,
# two-certificate chain) imported by one `certfleet import`, against a loop
# of `openssl pkcs12` processes and against the bare libcrypto floor
# (d2i_PKCS12 + PKCS12_parse), measured in the same run: at least 10x
# faster than the loop, within 1.3x of the floor.  `certfleet get` on a
# 1,000 and a 10,000 certificate store: under 100 ms each.
#
# Timing: wall clock from bash's $EPOCHREALTIME (microseconds, no fork)
# around each whole process, so process start-up counts for everyone; the
# targets are judged on wall time.  CPU time (user + sys, from bash's
# `time`) is shown beside it because on a shared machine the wall time
# also counts the time spent waiting for a CPU.
# certfleet import and the floor: median of 3 runs (import into a fresh
# store each time); the openssl loop: 1 run (it is the slow side, and its
# variance is far below the margins compared); get: median of 5 runs after
# one warm-up.  The corpus is read once beforehand so every side starts
# from a warm page cache.  Prints to stdout only; writes nothing in the
# tree except bench/.cache (the corpus) and the binaries under $B.
#
# Knobs: BENCH_N (1000), BENCH_BIG (10000), BENCH_JOBS (nproc), B (build).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N=${BENCH_N:-1000}
BIG=${BENCH_BIG:-10000}
JOBS=${BENCH_JOBS:-$(nproc)}
B=${B:-build}
CACHE=bench/.cache
CF=$B/certfleet
BIN=$B/bench
TARGET_LOOP=10	  # openssl loop / certfleet at least this
TARGET_FLOOR=1.3  # certfleet / floor at most this
TARGET_GET_MS=100 # each get under this

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certfleet-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

die() {
	echo "bench: $*" >&2
	exit 1
}

# "WALL CPU" in seconds for "$@": wall clock from $EPOCHREALTIME, CPU
# (user + sys, children included) from bash's `time`.  stdout is
# discarded, stderr kept in $WORK/stderr; a failing command stops the
# benchmark: a broken run has no time.
elapsed() {
	local TIMEFORMAT='%3U %3S' t0 t1 cpu
	t0=$EPOCHREALTIME
	if ! { time "$@" >/dev/null 2>"$WORK/stderr"; } 2>"$WORK/cpu"; then
		echo "bench: failed: ${*:1:6}..." >&2
		tail -n 5 "$WORK/stderr" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	read -r cpu <"$WORK/cpu"
	awk -v a="$t0" -v b="$t1" -v c="$cpu" \
	    'BEGIN { split(c, u, " "); printf "%.6f %.3f\n", b - a, u[1] + u[2] }'
}
wall() { echo "${1% *}"; }
cpu() { echo "${1#* }"; }

# The median of the walls (field 1) or CPUs (field 2) of "WALL CPU" pairs.
median() {
	local field=$1
	shift
	printf '%s\n' "$@" | awk -v f="$field" '{ print $f }' | sort -g |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
walls() { printf '%s\n' "$@" | awk '{ printf "%s%.3f", (NR > 1 ? " " : ""), $1 }'; }

# "MET" when a >= b (ge), a <= b (le) or a < b (lt).
verdict() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		ok = op == "ge" ? a >= b : op == "le" ? a <= b : a < b
		print ok ? "MET" : "MISSED" }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

# Number of end certificates in store $1, and how many of each Status.
store_count() {
	"$CF" --store "$1" --json get | grep -o '"Thumbprint"' | wc -l
}
store_status() {
	"$CF" --store "$1" --json get |
	    grep -o '"Status": *"[A-Za-z]*"' | sed 's/.*"\([A-Za-z]*\)"$/\1/' |
	    sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }'
}

# --- build -----------------------------------------------------------------
make --no-print-directory -s B="$B" all
mkdir -p "$BIN"
BFLAGS="-std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra"
# shellcheck disable=SC2046,SC2086
cc $BFLAGS -o "$BIN/gen" bench/gen.c $(pkg-config --cflags --libs libcrypto)
# shellcheck disable=SC2046,SC2086
cc $BFLAGS -o "$BIN/floor" bench/floor.c $(pkg-config --cflags --libs libcrypto)

# --- corpus ----------------------------------------------------------------
# Leaves are valid for a year from when they were made: past 300 days
# the cached corpus is made afresh, CA included, before it expires.
if [ -d "$CACHE/ca" ] && [ -n "$(find "$CACHE/ca" -maxdepth 0 -mtime +300)" ]; then
	rm -rf "$CACHE"
fi
t=$(elapsed "$BIN/gen" -j "$JOBS" p12 "$N" "$CACHE")
t2=$(elapsed "$BIN/gen" -j "$JOBS" pem "$((BIG - N))" "$CACHE")
PW=$CACHE/password
P12=("$CACHE/p12-$N"/*.p12)
PEM=("$CACHE/pem-$((BIG - N))"/*.pem)
[ "${#P12[@]}" -eq "$N" ] || die "$CACHE/p12-$N holds ${#P12[@]} files, not $N"
cat "${P12[@]}" "${PEM[@]}" >/dev/null # warm the page cache

# The system roots plus the bench root, so that the corpus is Valid and
# `get` takes the path it takes for real certificates: certfleet trusts a
# self-signed CA only from this file (a root that merely came inside a
# PKCS#12 chain is Untrusted), and it loads the file to answer either way.
sys_roots=${SSL_CERT_FILE:-$(openssl version -d | sed 's/^OPENSSLDIR: "\(.*\)"$/\1/')/cert.pem}
cat "$sys_roots" "$CACHE/ca/root.pem" >"$WORK/roots.pem" 2>/dev/null ||
    cp "$CACHE/ca/root.pem" "$WORK/roots.pem"
export SSL_CERT_FILE=$WORK/roots.pem

echo "certfleet benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "openssl: $(openssl version) (CLI); certfleet links $(pkg-config --modversion libcrypto)"
echo "store:   in ${WORK%/*} ($(df -PT "$WORK" | awk 'NR == 2 { print $2 }')); trust: $(grep -c 'BEGIN CERT' "$SSL_CERT_FILE") roots incl. the bench root"
echo "corpus:  $N PKCS#12 (RSA-2048 leaf + intermediate + root; PBES2 AES-256-CBC,"
echo "         PBKDF2-HMAC-SHA256 and HMAC-SHA256 MAC, 2048 iterations each),"
echo "         $((BIG - N)) certificate-only EC P-256 leaves in ${#PEM[@]} PEM files;"
echo "         made in $(wall "$t")s + $(wall "$t2")s (about 0 when cached in $CACHE)"
echo

# --- import: certfleet, floor, openssl loop ---------------------------------
openssl_loop() {
	local f
	for f in "${P12[@]}"; do
		openssl pkcs12 -in "$f" -passin "file:$PW" -nodes -out /dev/null ||
		    return 1
	done
}

cf_runs=()
floor_runs=()
for i in 1 2 3; do # interleaved, so a change in load hits both sides
	rm -rf "$WORK/store-$N"
	cf_runs+=("$(elapsed "$CF" --store "$WORK/store-$N" --init import \
	    --password-file "$PW" "${P12[@]}")")
	floor_runs+=("$(elapsed "$BIN/floor" "$PW" "${P12[@]}")")
done
loop_run=$(elapsed openssl_loop)
got=$(store_count "$WORK/store-$N")
[ "$got" -eq "$N" ] || die "the $N-file store lists $got certificates"

cf=$(median 1 "${cf_runs[@]}")
floor=$(median 1 "${floor_runs[@]}")
loop=$(wall "$loop_run")
cf_cpu=$(median 2 "${cf_runs[@]}")
floor_cpu=$(median 2 "${floor_runs[@]}")
loop_cpu=$(cpu "$loop_run")
r_loop=$(ratio "$loop" "$cf")
r_floor=$(ratio "$cf" "$floor")
echo "PKCS#12 import of $N files        wall s   CPU s  wall of each run"
printf '  certfleet import, one process  %7.3f %7.3f  median of 3: %s\n' \
    "$cf" "$cf_cpu" "$(walls "${cf_runs[@]}")"
printf '  openssl pkcs12 loop, %d procs %7.3f %7.3f  1 run\n' "$N" "$loop" \
    "$loop_cpu"
printf '  libcrypto floor (bench/floor)  %7.3f %7.3f  median of 3: %s\n' \
    "$floor" "$floor_cpu" "$(walls "${floor_runs[@]}")"
printf '  openssl loop / certfleet = %5sx  target >= %sx   %-6s (CPU: %sx)\n' \
    "$r_loop" "$TARGET_LOOP" "$(verdict "$r_loop" ge "$TARGET_LOOP")" \
    "$(ratio "$loop_cpu" "$cf_cpu")"
printf '  certfleet / floor        = %5sx  target <= %sx  %-6s (CPU: %sx)\n' \
    "$r_floor" "$TARGET_FLOOR" "$(verdict "$r_floor" le "$TARGET_FLOOR")" \
    "$(ratio "$cf_cpu" "$floor_cpu")"
printf '  openssl loop / floor     = %5sx  (the most a one-thread importer\n' \
    "$(ratio "$loop" "$floor")"
echo "                                    running at the floor could reach)"
echo "  store: $got end certificates: $(store_status "$WORK/store-$N")"
echo

# --- the big store -----------------------------------------------------------
big=$WORK/store-$BIG
elapsed "$CF" --store "$big" --init import --password-file "$PW" "${P12[@]}" >/dev/null
for ((i = 0; i < ${#PEM[@]}; i += 50)); do
	elapsed "$CF" --store "$big" import "${PEM[@]:i:50}" >/dev/null
done
got=$(store_count "$big")
[ "$got" -eq "$BIG" ] || die "the $BIG-certificate store lists $got"

# --- get ---------------------------------------------------------------------
echo "certfleet get, whole store, median of 5 after 1 warm-up; target < ${TARGET_GET_MS} ms"
echo "  store         output   wall ms  CPU ms  verdict  wall of each run"
for store in "$WORK/store-$N" "$big"; do
	count=$(store_count "$store")
	for mode in table json; do
		args=(--store "$store" get)
		[ "$mode" = json ] && args=(--store "$store" --json get)
		elapsed "$CF" "${args[@]}" >/dev/null
		runs=()
		for i in 1 2 3 4 5; do
			runs+=("$(elapsed "$CF" "${args[@]}")")
		done
		m=$(awk -v s="$(median 1 "${runs[@]}")" \
		    'BEGIN { printf "%.1f", s * 1000 }')
		c=$(awk -v s="$(median 2 "${runs[@]}")" \
		    'BEGIN { printf "%.0f", s * 1000 }')
		printf '  %5d certs   %-5s   %7s  %6s  %-7s  %s\n' "$count" "$mode" \
		    "$m" "$c" "$(verdict "$m" lt "$TARGET_GET_MS")" \
		    "$(printf '%s\n' "${runs[@]}" |
			awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $1 * 1000 }')"
	done
done
echo "  the $BIG store: $(store_status "$big")"
echo "load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) CPUs"
