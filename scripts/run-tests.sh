#!/usr/bin/env bash
# run-tests.sh - run every test program and count what they report.
#
#   scripts/run-tests.sh            (make test builds first, then calls this)
#   scripts/run-tests.sh unit       the unit programs (plain and sanitizer)
#   scripts/run-tests.sh e2e        the end-to-end scripts only
#   scripts/run-tests.sh tests/e2e/copy.sh build/tests/test_store ...
#                                   just these, counted the same way
#
# In order: the unit test binaries in build/tests/, the sanitizer builds of
# the same in build/asan/tests/, then every tests/e2e/*.sh but lib.sh and
# other sourced helpers without a #! line (run with bash,
# CERTFLEET=$PWD/build/certfleet).  Each program prints "PASS name"
# or "FAIL name ..." lines on stdout; they are counted across all programs.
# A program that exits non-zero without a FAIL line, is killed by a signal or
# the timeout, or whose stderr holds a sanitizer report, counts as one more
# FAIL "<program>: exited N".  So does one that prints no PASS or FAIL line:
# a test that checks nothing is broken.  The last line is "N passed, M
# failed"; the exit status is 1 if M > 0 or N = 0.  The whole log is kept
# in build/test.log.  When the sanitizer objects are there, the runner also
# links build/asan/certfleet and exports CERTFLEET_ASAN for the e2e scripts.
#
# Environment: CF_TEST_TIMEOUT (seconds per program, default 600).
set -u
cd "$(dirname "$0")/.." || exit 1
top=$PWD

timeout_s=${CF_TEST_TIMEOUT:-600}
# What to run: all, unit, e2e, or the programs named.
what=all
named=()
case ${1:-} in
'') ;;
unit | e2e) what=$1 ;;
*)
	what=named
	named=("$@")
	;;
esac
runs() {
	[ "$what" = all ] || [ "$what" = "$1" ]
}
log=build/test.log
mkdir -p build
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-run-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Everything from here on goes to the terminal and to the log.
exec 3>&1 4>&2
exec > >(tee "$log" >&3) 2>&1
tee_pid=$!

passed=0
failed=0
failures=()
durations=() # "SECONDS LABEL", for the slowest at the end

# run_one LABEL CMD... - runs one test program under the timeout, stdout
# shown as it comes, stderr shown indented; then counts.
run_one() {
	local label=$1
	shift
	local out=$tmp/out err=$tmp/err rcf=$tmp/rc
	local t0=$SECONDS
	: >"$out"
	: >"$err"
	echo "==> $label"
	# stdout -> tee out -> our stdout; stderr -> tee err -> indented.
	{
		{
			timeout -k 10 "$timeout_s" "$@" </dev/null 3>&- 4>&-
			echo $? >"$rcf"
		} 2>&1 1>&5 5>&- | tee "$err" | sed -u 's/^/  | /'
	} 5>&1 | tee "$out"
	local rc
	rc=$(cat "$rcf" 2>/dev/null || echo 255)

	local p f
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	while IFS= read -r line; do
		failures+=("$line")
	done < <(grep '^FAIL ' "$out")

	local why=
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	# Sanitizer reports go to stderr; stdout is not searched, since a FAIL
	# line there may quote one that the program caught in a child.
	elif grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|SUMMARY: [A-Za-z]*Sanitizer|runtime error: ' \
		"$err"; then
		why="sanitizer report"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		why="no FAIL line"
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		why="printed no PASS or FAIL line"
	fi
	if [ -n "$why" ]; then
		local line="FAIL $label: exited $rc ($why)"
		echo "$line"
		failed=$((failed + 1))
		failures+=("$line")
	fi
	echo "<== $label: exit $rc, $p passed, $f failed, $((SECONDS - t0)) s"
	durations+=("$((SECONDS - t0)) $label")
	echo
}

# The programs of a directory that are executable files, sorted.
programs_in() {
	local f
	for f in "$1"/*; do
		[ -f "$f" ] && [ -x "$f" ] && printf '%s\n' "$f"
	done
}

# run_unit PROGRAM - one unit test program; the sanitizer settings for
# those under build/asan.
run_unit() {
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_one "$1" "$1"
}

if runs unit; then
	while IFS= read -r prog; do
		run_unit "$prog"
	done < <(programs_in build/tests; programs_in build/asan/tests)
fi

export CERTFLEET="$top/build/certfleet"
# A sanitizer build of the CLI for the scripts that feed it hostile input
# (tests/e2e/vectors.sh).  `make test` builds the sanitizer objects for the
# unit tests; linking the CLI from them too takes seconds.  The flags are the
# Makefile's ASAN_CFLAGS.  Only when an e2e script is to run.
want_e2e=0
runs e2e && want_e2e=1
case " ${named[*]} " in *.sh\ *) want_e2e=1 ;; esac
if [ "$want_e2e" = 0 ]; then
	:
elif [ -z "${CERTFLEET_ASAN:-}" ] && [ -f build/asan/libcertfleet.a ] &&
	make --no-print-directory -s B=build/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		build/asan/certfleet-full >"$tmp/asan-cli.log" 2>&1; then
	export CERTFLEET_ASAN="$top/build/asan/certfleet-full"
elif [ -z "${CERTFLEET_ASAN:-}" ]; then
	echo "note: no sanitizer build of certfleet; e2e scripts use build/certfleet only"
	[ -s "$tmp/asan-cli.log" ] && sed 's/^/  | /' "$tmp/asan-cli.log" | tail -5
fi
# The e2e scripts, but lib.sh and the helpers without a #! line that
# scripts source (fixtures).
e2e_scripts() {
	local script
	for script in tests/e2e/*.sh; do
		[ -f "$script" ] || continue
		[ "$(basename "$script")" = lib.sh ] && continue
		head -c 2 "$script" | grep -q '^#!' || continue
		printf '%s\n' "$script"
	done
}
if runs e2e; then
	while IFS= read -r script; do
		run_one "$script" bash "$script"
	done < <(e2e_scripts)
fi
for prog in "${named[@]}"; do
	case $prog in
	*.sh) run_one "$prog" bash "$prog" ;;
	*) run_unit "$prog" ;;
	esac
done

# Where the time went: what to look at when the run nears its budget.
if [ "${#durations[@]}" -gt 0 ]; then
	echo "Slowest (seconds):"
	printf '%s\n' "${durations[@]}" | sort -rn | head -n 8 | sed 's/^/  /'
fi
if [ "${#failures[@]}" -gt 0 ]; then
	echo "Failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"

# Let tee finish writing the log before we go (a test's stray background
# process could hold the pipe open: give up on waiting after 10 s).
exec >&3 2>&4
for _ in $(seq 100); do
	kill -0 "$tee_pid" 2>/dev/null || break
	sleep 0.1
done
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
