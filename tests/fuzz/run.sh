#!/usr/bin/env bash
# run.sh - builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with
# clang, ASan and UBSan into build/fuzz/, and runs each for SECONDS with
# a working copy of its corpus (build/fuzz/corpus/NAME, seeded from
# tests/fuzz/corpus/NAME and tests/vectors).  `make fuzz` and
# tests/e2e/fuzz.sh call it.
#
#   tests/fuzz/run.sh [-q] SECONDS [NAME...]     (NAME: api, bundle, ...)
#
# Stops at the first finding: exit 1, naming the reproducer; with
# FUZZ_KEEP_GOING=1 (libFuzzer's fork mode) it goes on past crashes to
# the end of SECONDS and lists every reproducer.  FUZZ_PARALLEL=N runs N
# harnesses at a time, each to its end; FUZZ_JOBS is the build's jobs
# (one per core).  Each run's
# figures (executions, exec/s, cov:, ft:, corpus files) are appended to
# build/fuzz/results.tsv; -q prints one PASS line per harness instead of
# the figures.
set -u
cd "$(dirname "$0")/../.." || exit 1
quiet=0
if [ "${1:-}" = -q ]; then
	quiet=1
	shift
fi
secs=${1:?usage: tests/fuzz/run.sh [-q] SECONDS [NAME...]}
shift
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out"

die() {
	echo "FAIL fuzz: $*"
	exit 1
}

command -v clang >/dev/null || die "clang is not installed (scripts/setup-deps.sh installs it)"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		names+=("${n%.c}")
	done
fi

# The library (and the few agent and CLI objects a harness names on its
# FUZZ-LINK: line) built by the Makefile's own rules with the fuzzer's
# coverage and the sanitizers, in a tree of their own.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-O1 -g $san -fsanitize=fuzzer-no-link"
# The line may go on in the comment's next lines (" * src/..."), as
# clang-format wraps it.
links() {
	awk '/FUZZ-LINK:/ { sub(/.*FUZZ-LINK: */, ""); print; on = 1; next }
	    on && /^ \* src\// { sub(/^ \* /, ""); print; next }
	    { on = 0 }' "tests/fuzz/fuzz_$1.c" | tr '\n' ' '
}
objs=()
for n in "${names[@]}"; do
	[ -f "tests/fuzz/fuzz_$n.c" ] || die "no harness tests/fuzz/fuzz_$n.c"
	for src in $(links "$n"); do
		objs+=("$out/obj/${src%.c}.o")
	done
done
# harness NAME - builds build/fuzz/fuzz_NAME; its log in build-NAME.log.
harness() {
	local extra=() src
	for src in $(links "$1"); do
		extra+=("$out/obj/${src%.c}.o")
	done
	# shellcheck disable=SC2046 # pkg-config's flags are words
	clang -O1 -g $san -fsanitize=fuzzer -std=c17 -D_GNU_SOURCE \
		-Isrc/lib -Isrc/agent -Isrc/cli $(pkg-config --cflags $pkgs) \
		"tests/fuzz/fuzz_$1.c" "${extra[@]}" "$out/libcertfleet.a" \
		$(pkg-config --libs $pkgs) -lpthread -o "$out/fuzz_$1" \
		>"$out/build-$1.log" 2>&1
}
# The library with a job per core (FUZZ_JOBS), then the harnesses as
# many at a time: `make test` builds them all (tests/e2e/fuzz.sh).
pkgs="libcrypto libssl sqlite3 jansson libevent libevent_openssl libevent_pthreads inih"
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
build() {
	local n failed=()
	if ! make --no-print-directory -s -j"$jobs" B="$out" CC=clang CFLAGS="$cflags" \
		"$out/libcertfleet.a" "${objs[@]}" >"$out/build.log" 2>&1; then
		die "the library does not build for fuzzing: $(grep -m3 -E 'error' "$out/build.log")"
	fi
	for n in "${names[@]}"; do
		rm -f "$out/fuzz_$n"
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n
		done
		harness "$n" &
	done
	wait
	for n in "${names[@]}"; do
		[ -x "$out/fuzz_$n" ] || failed+=("$n")
	done
	[ ${#failed[@]} -eq 0 ] ||
		die "harness ${failed[0]} does not build: $(grep -m3 -E 'error' "$out/build-${failed[0]}.log")"
}
# FUZZ_NO_BUILD=1: run the harnesses as built (several runs at once).
[ "${FUZZ_NO_BUILD:-0}" = 1 ] || build
[ $quiet = 1 ] && echo "PASS fuzz: ${#names[@]} harnesses build with libFuzzer, ASan and UBSan"

# The working corpus of harness $1: its seeds, plus what earlier runs
# found (kept under build/, never committed).
corpus() {
	local c="$out/corpus/$1"
	mkdir -p "$c"
	if [ -d "tests/fuzz/corpus/$1" ]; then
		cp -n tests/fuzz/corpus/"$1"/* "$c/" 2>/dev/null
	fi
	case $1 in
	bundle)
		find tests/vectors/pkcs12 -type f \( -name '*.p12' -o -name '*.pfx' \
			-o -name '*.pem' -o -name '*.jks' \) -size -64k -exec cp -n {} "$c/" \;
		cp -n tests/vectors/fuzz-seeds/openssl-fuzz-corpora/pem/* "$c/" 2>/dev/null
		ls tests/vectors/fuzz-seeds/openssl-fuzz-corpora/x509 | head -200 |
			sed 's|^|tests/vectors/fuzz-seeds/openssl-fuzz-corpora/x509/|' |
			xargs cp -n -t "$c/"
		;;
	transfer | requests)
		cp -n tests/vectors/fuzz-seeds/openssl-fuzz-corpora/cms/* "$c/" 2>/dev/null
		;;
	esac
	echo "$c"
}

# fuzz_one NAME - one harness for SECONDS over its working corpus; its
# result on stdout (a PASS line or the figures; the FAIL lines), 1 on a
# finding.
fuzz_one() {
	local n=$1 c log rc runs eps last cov ft files found keep=()
	c=$(corpus "$n")
	log="$out/fuzz-$n.log"
	rm -f "$out/$n-"crash-* "$out/$n-"leak-* "$out/$n-"timeout-* "$out/$n-"oom-*
	[ "${FUZZ_KEEP_GOING:-0}" = 1 ] && keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
	nice -n "${FUZZ_NICE:-0}" "$out/fuzz_$n" "${keep[@]}" -max_total_time="$secs" -timeout=60 \
		-rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$out/$n-" \
		-print_final_stats=1 "$c" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	[ -n "$runs" ] || runs=$(echo "$last" | grep -o '^#[0-9]*' | tr -d '#')
	[ -n "$eps" ] || eps=$((${runs:-0} / secs))
	cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
	ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
	files=$(ls "$c" | wc -l)
	found=$(ls "$out/$n-"crash-* "$out/$n-"leak-* "$out/$n-"timeout-* "$out/$n-"oom-* 2>/dev/null | tr '\n' ' ')
	printf '%s\t%s\t%ss\truns %s\texec/s %s\tcov %s\tft %s\tcorpus %s\t%s\n' \
		"$(date -u +%FT%TZ)" "$n" "$secs" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "$files" "${found:-no finding}" >>"$out/results.tsv"
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		echo "FAIL fuzz: $n: $(grep -m1 -E '==ERROR|SUMMARY|timeout|deadly' "$log")"
		echo "  reproducer: ${found:-none written}; log: $log"
		echo "  replay: $out/fuzz_$n ${found:-CRASH-FILE}"
		return 1
	fi
	if [ $quiet = 1 ]; then
		echo "PASS fuzz: $n: ${secs}s, ${runs:-?} inputs, no crash, leak or hang"
	else
		echo "$n: ${secs}s, ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $files files: no finding"
	fi
}

# One harness after another, stopping at the first finding; or, with
# FUZZ_PARALLEL=N, N at a time, every one to its end (each still gets
# SECONDS of its own: tests/e2e/fuzz.sh runs them two at a time, since the
# tests around it leave the second core idle), the results in order.
status=0
par=${FUZZ_PARALLEL:-1}
if [ "$par" -le 1 ]; then
	for n in "${names[@]}"; do
		fuzz_one "$n" || {
			status=1
			break
		}
	done
	exit $status
fi
for n in "${names[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do
		wait -n
	done
	fuzz_one "$n" >"$out/report-$n" &
done
wait
for n in "${names[@]}"; do
	cat "$out/report-$n"
	# a run that said neither how it passed nor how it failed failed
	grep -qE '^PASS |: no finding$' "$out/report-$n" || {
		grep -q '^FAIL ' "$out/report-$n" ||
			echo "FAIL fuzz: $n: the run ended without a result; log: $out/fuzz-$n.log"
		status=1
	}
done
exit $status
