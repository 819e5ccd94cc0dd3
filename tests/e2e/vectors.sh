#!/usr/bin/env bash
# vectors.sh - certfleet import against the PKCS#12 corpus and fuzz seeds.
#
# 1. Every file of tests/vectors/pkcs12/MANIFEST.tsv (n/a rows aside) is
#    imported into a fresh store with the manifest's password (written as
#    bytes to a 0600 file; "(empty string)" and "(none ...)" both give an
#    empty file, which the CLI takes as the explicit empty password and so
#    tries both password-less encodings), under `timeout 60`.  Never a crash
#    or a hang: the exit status is 0 or 1.  And the expected outcome:
#      - "parse OK" rows with at least one certificate: exit 0, at least
#        one "<THUMBPRINT>  ..." line, each thumbprint listed by get --json,
#        and when the file holds a key, some certificate with HasPrivateKey
#        true;
#      - rejects, malformed files, files with no certificate, and what the
#        OpenSSL at hand cannot read (PBMAC1 before 3.4): exit 1 with one
#        stderr line starting "certfleet: import", the store unchanged;
#      - "parse OK" rows that the manifest records OpenSSL 3.0 itself failing
#        to decrypt (NSS quirks), on OpenSSL 3.0: either of the two above.
# 2. Every OpenSSL fuzz seed of x509/ and pem/ is imported, one file per
#    run, with an empty password: exit 0 or 1, never a signal or timeout.
#    One PASS line per directory.  (asn1/ and decoder/ are covered by a unit
#    test.)  When $CERTFLEET_ASAN names a sanitizer build of the CLI, the
#    seeds go through it too, and any sanitizer report fails: in `make
#    test` a deterministic share of them (the first seed of each outcome
#    the plain build had, and every SEEDS_EVERY-th, default 8), since a
#    sanitizer process costs about 0.13 s to start and the 874 seeds took
#    two minutes; every seed with VECTORS_FULL=1, as `make fuzz` runs it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_certfleet

VEC=$E2E_ROOT/tests/vectors/pkcs12
SEEDS=$E2E_ROOT/tests/vectors/fuzz-seeds/openssl-fuzz-corpora

# The libcrypto certfleet runs with (libssl-dev and libssl3 move together).
OSSL_VER=$(pkg-config --modversion libcrypto 2>/dev/null ||
	openssl version | awk '{ print $2 }')
ossl_at_least() { # MAJOR.MINOR
	[ "$(printf '%s\n%s\n' "$1" "$OSSL_VER" | sort -V | head -1)" = "$1" ]
}
echo "# libcrypto $OSSL_VER"
# For a sanitizer build: a report is exit 86, told apart from a refusal (1).
SAN_ENV=(ASAN_OPTIONS=exitcode=86:detect_leaks=1
	UBSAN_OPTIONS=halt_on_error=1:exitcode=86:print_stacktrace=1)

# write_password FIELD FILE - the manifest's password as bytes.
write_password() {
	local field=$1 file=$2 hex
	case $field in
	"(empty string)" | "(none"*) pwfile "$file" "" ;;
	*"(ISO-8859-1 bytes "*)
		hex=${field##*(ISO-8859-1 bytes }
		hex=${hex%%)*}
		# shellcheck disable=SC2059,SC2001 # the format is made of \xHH escapes
		(umask 077 && printf "$(sed 's/../\\x&/g' <<<"$hex")" >"$file")
		;;
	*) pwfile "$file" "$field" ;;
	esac
}

# A field as written, without the CSV-style quotes some fields carry.
unquote() {
	local f=$1
	if [[ $f == \"*\" ]]; then
		f=${f:1:${#f}-2}
		f=${f//\"\"/\"}
	fi
	printf '%s' "$f"
}

# Numbers out of the manifest's "contains" column ("" when not counted).
count_of() { # WHAT CONTAINS
	sed -nE "s/^\"?([0-9]+) $1\\(s\\).*/\\1/p; s/^\"?[0-9]+ cert\\(s\\), ([0-9]+) $1\\(s\\).*/\\1/p" <<<"$2" |
		tail -1
}

# --- 1. the PKCS#12 corpus -----------------------------------------------

# Each file is imported into a copy of one new store, read once here: as
# `store init` leaves it (135 inits and reads of the same empty store took
# 20 s of the test).
cf store init "$T/fresh" >/dev/null 2>&1 ||
	fail "vectors: store init" "could not make the store the vectors are imported into"
store_snapshot "$T/fresh" >"$T/before.snap" 2>&1

n=0
while IFS=$'\t' read -r file _bytes _sha _repo _path password _by contains expected ossl30 _rest; do
	[ "$file" = file ] && continue # the header
	case $expected in n/a*) continue ;; esac
	n=$((n + 1))
	name="vector $file"
	if [ ! -f "$VEC/$file" ]; then
		fail "$name" "file missing from $VEC"
		continue
	fi
	expected=$(unquote "$expected")
	contains=$(unquote "$contains")
	certs=$(count_of cert "$contains")
	keys=$(count_of key "$contains")

	# The outcome expected: ok, refuse, or either.
	want=refuse
	why=
	if [[ $expected == "parse OK"* ]]; then
		if [[ $expected == *PBMAC1* || $expected == *">= 3.4"* ]] && ! ossl_at_least 3.4; then
			why="PBMAC1 needs OpenSSL 3.4"
		elif [ "${certs:-1}" -eq 0 ]; then
			why="no certificate"
		elif [[ $ossl30 == *"full:FAIL"* ]] && ! ossl_at_least 3.1; then
			want=either
		else
			want=ok
		fi
	fi

	s=$T/store-$n
	pwf=$T/pw-$n
	write_password "$password" "$pwf"
	cp -a "$T/fresh" "$s" # the store exists before
	run cf --store "$s" import "$VEC/$file" --password-file "$pwf"
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 1 ]; then
		fail "$name" "exit $RC (crash, hang or usage error), expected 0 or 1"
		show "$ERR"
		continue
	fi

	lines=$(grep -cE '^[0-9A-F]{40}[[:space:]]' "$OUT")
	if [ "$RC" -eq 0 ] && [ "$want" != refuse ]; then
		problems=()
		[ "$lines" -ge 1 ] || problems+=("no '<THUMBPRINT> ...' line on stdout")
		# Every end certificate printed is listed by get (chain
		# certificates are kept, but neither printed nor listed).
		cf --store "$s" get --json >"$T/get.json" 2>/dev/null
		while read -r t; do
			jq -e --arg t "$t" 'any(.Items[]; .Thumbprint == $t)' "$T/get.json" >/dev/null ||
				problems+=("$t printed, but not listed by get --json")
		done < <(grep -oE '^[0-9A-F]{40}' "$OUT")
		if [ "${keys:-0}" -ge 1 ] &&
			! jq -e 'any(.Items[]; .HasPrivateKey == true)' "$T/get.json" >/dev/null; then
			problems+=("the file has a key, no certificate has HasPrivateKey true")
		fi
		if [ ${#problems[@]} -eq 0 ]; then
			pass "$name: imported${why:+ ($why)}$([ "$want" = either ] && echo ' (beyond what OpenSSL 3.0 reads)')"
		else
			fail "$name: imported" "${problems[@]}"
			show "$OUT"
		fi
		continue
	fi
	if [ "$RC" -eq 0 ]; then
		fail "$name: refused" "exit 0; expected exit 1 (${why:-$expected})"
		show "$OUT" 4
		continue
	fi
	# Refused: was that right, and was it said clearly?
	problems=()
	[ "$want" = ok ] && problems+=("expected the import to succeed ($expected)")
	# One message; a "certfleet: warning: ..." line (the empty password
	# given for the password-less files) may come before it.
	grep -v '^certfleet: warning: ' "$ERR" | grep . >"$T/msg"
	[ "$(wc -l <"$T/msg")" -eq 1 ] || problems+=("stderr is not one line (warnings aside)")
	grep -q '^certfleet: import' "$T/msg" || problems+=("no 'certfleet: import' message")
	store_snapshot "$s" >"$T/after.snap" 2>&1
	cmp -s "$T/before.snap" "$T/after.snap" || problems+=("the store changed")
	if [ ${#problems[@]} -eq 0 ]; then
		label=${why:-${expected%% (*}}
		[ "$want" = either ] && label="OpenSSL $OSSL_VER cannot decrypt it either"
		pass "$name: refused ($label): $(head -c 120 "$T/msg")"
	else
		fail "$name: refused" "${problems[@]}"
		show "$ERR" 6
	fi
done <"$VEC/MANIFEST.tsv"
[ "$n" -gt 100 ] || fail "vectors: manifest" "only $n rows read from $VEC/MANIFEST.tsv"

# corpus_pick - the corpus files (PEM aside) for the sanitizer build, in
# the manifest's order: every one with VECTORS_FULL=1; else the first of
# each kind and every SEEDS_EVERY-th (8) besides.  A kind is what the
# manifest says the file holds (certificates and keys or none, its MAC,
# its bags' encryption, plain key bags, a missing MAC; iteration counts
# and names aside) and the first word of what is expected of it (parse,
# reject, malformed): each kind a different way through the PKCS#12 code.
corpus_pick() {
	awk -F '\t' -v full="${VECTORS_FULL:-0}" -v n="${SEEDS_EVERY:-8}" '
	NR == 1 || $1 ~ /\.pem$/ { next }
	{
		k = $8
		gsub(/"/, "", k)
		gsub(/[1-9][0-9]* cert/, "some cert", k)
		gsub(/[1-9][0-9]* key/, "some key", k)
		gsub(/Iteration [0-9]+/, "", k)
		gsub(/(friendlyName|MS CSP)=[^;]*;? */, "", k)
		e = $9
		gsub(/"/, "", e)
		sub(/[ ;:(,].*/, "", e)
		if (full == 1 || !seen[k " | " e]++ || i % n == 0)
			print $1
		i++
	}' "$VEC/MANIFEST.tsv"
}

# The corpus again through the sanitizer build, when there is one: with the
# right passwords the decryption and import paths run, not only the parser.
# In `make test` the files corpus_pick names (each took 0.5 s, 65 s for
# all); every one with VECTORS_FULL=1, as `make fuzz` runs it.
if [ -n "${CERTFLEET_ASAN:-}" ] && [ -x "$CERTFLEET_ASAN" ]; then
	total=0
	bad=()
	declare -A picked=()
	while IFS= read -r file; do
		picked[$file]=1
	done < <(corpus_pick)
	while IFS=$'\t' read -r file _bytes _sha _repo _path password _rest; do
		[ "$file" = file ] || [ ! -f "$VEC/$file" ] && continue
		case $file in *.pem) continue ;; esac
		[ -n "${picked[$file]:-}" ] || continue
		total=$((total + 1))
		write_password "$password" "$T/asan-pw"
		rc=0
		(
			exec env "${SAN_ENV[@]}" timeout -k 5 120 "$CERTFLEET_ASAN" --store "$T/asan-store-$total" --init import \
				"$VEC/$file" --password-file "$T/asan-pw" </dev/null >/dev/null 2>"$T/asan.err"
		) 2>/dev/null || rc=$?
		if grep -qE 'Sanitizer|runtime error:' "$T/asan.err"; then
			rc=86
		fi
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
			bad+=("$file: exit $rc: $(grep -m1 -E 'runtime error|Sanitizer|double free' "$T/asan.err" | cut -c1-160)")
		fi
	done <"$VEC/MANIFEST.tsv"
	if [ ${#bad[@]} -eq 0 ]; then
		pass "vectors (sanitizer build$([ "${VECTORS_FULL:-0}" = 1 ] ||
			echo ", each kind and every ${SEEDS_EVERY:-8}th")): $total files, no sanitizer report, no crash"
	else
		fail "vectors (sanitizer build)" "${#bad[@]} of $total files:" "${bad[@]}"
	fi
fi

# --- 2. fuzz seeds ---------------------------------------------------------

# seed_dir NAME DIR CLI [sanitizer]: every file through `import`, one a
# run (with sanitizer: those seed_pick names).  Without, each file's
# outcome is noted in $T/outcome-DIRNAME for seed_pick.
seed_dir() {
	local name=$1 dir=$2 cli=$3 san=${4:-} s f rc total=0 ok=0 refused=0 bad=()
	local outcomes files=()
	outcomes=$T/outcome-$(basename "$dir")
	s=$T/seeds-$(basename "$dir")-$RANDOM
	pwfile "$T/empty" ""
	if [ -n "$san" ]; then
		mapfile -t files < <(seed_pick "$dir")
	else
		files=("$dir"/*)
		: >"$outcomes"
	fi
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		total=$((total + 1))
		rc=0
		# In a subshell: the shell's own "Aborted" notice stays out of
		# the log (the FAIL line below tells it).
		(
			[ -n "$san" ] || SAN_ENV=()
			exec env "${SAN_ENV[@]}" timeout -k 5 60 "$cli" --store "$s" --init import "$f" \
				--password-file "$T/empty" </dev/null >/dev/null 2>"$T/seed.err"
		) 2>/dev/null || rc=$?
		if [ -n "$san" ] && grep -qE 'Sanitizer|runtime error:' "$T/seed.err"; then
			rc=86
		fi
		if [ -z "$san" ]; then
			outcome "$rc" "$f" "$s"
			printf '%s\t%s\n' "$f" "$OUTCOME" >>"$outcomes"
		fi
		case $rc in
		0) ok=$((ok + 1)) ;;
		1) refused=$((refused + 1)) ;;
		*)
			bad+=("$(basename "$f"): exit $rc: $({ grep -m1 -E 'runtime error|Sanitizer|double free|corrupt' "$T/seed.err" ||
				grep -v '^certfleet: warning:' "$T/seed.err" | head -1; } | cut -c1-160)")
			;;
		esac
	done
	if [ "$total" -eq 0 ]; then
		fail "$name" "no seed files in $dir"
	elif [ ${#bad[@]} -eq 0 ]; then
		pass "$name: $total files, $ok imported, $refused refused, no crash or hang"
	else
		fail "$name" "${#bad[@]} of $total files crashed, hung or exited oddly:" "${bad[@]:0:20}"
	fi
	if [ -e "$s/store.db" ] &&
		[ "$(sqlite3 "$s/store.db" 'PRAGMA integrity_check' 2>&1)" != ok ]; then
		fail "$name: store integrity" "PRAGMA integrity_check fails after the seeds"
	fi
}

# outcome RC FILE STORE - sets OUTCOME to what an import of FILE came to:
# its exit status and its message, less the file's and the store's names
# and the thumbprints, so that two seeds stopped at the same check read
# alike.  In the shell alone: it runs once per seed, and a process or two
# each would cost as much as the import.
outcome() {
	local line msg=
	while IFS= read -r line; do
		case $line in
		'certfleet: warning:'* | *'created a new store in'*) continue ;;
		esac
		msg=$line
		break
	done <"$T/seed.err"
	msg=${msg//"$2"/FILE}
	msg=${msg//"$3"/STORE}
	while [[ $msg =~ [0-9A-F]{8,} ]]; do
		msg=${msg//"${BASH_REMATCH[0]}"/#}
	done
	OUTCOME="$1 $msg"
}

# seed_pick DIR - the seeds of DIR for the sanitizer build, in the order
# of the plain run: every one with VECTORS_FULL=1; else the first seed of
# each outcome the plain build had (each a different way through or out
# of the parsers) and every SEEDS_EVERY-th (8) besides, the same each run.
seed_pick() {
	local outcomes
	outcomes=$T/outcome-$(basename "$1")
	if [ "${VECTORS_FULL:-0}" = 1 ] || [ ! -s "$outcomes" ]; then
		printf '%s\n' "$1"/*
		return
	fi
	awk -F '\t' -v n="${SEEDS_EVERY:-8}" '!seen[$2]++ || (NR - 1) % n == 0 { print $1 }' \
		"$outcomes"
}

for d in x509 pem; do
	seed_dir "fuzz seeds $d" "$SEEDS/$d" "$CERTFLEET"
done
if [ -n "${CERTFLEET_ASAN:-}" ] && [ -x "$CERTFLEET_ASAN" ]; then
	for d in x509 pem; do
		seed_dir "fuzz seeds $d (sanitizer build$([ "${VECTORS_FULL:-0}" = 1 ] ||
			echo ", each outcome and every ${SEEDS_EVERY:-8}th"))" \
			"$SEEDS/$d" "$CERTFLEET_ASAN" san
	done
fi

e2e_done
