#!/usr/bin/env bash
# commands.sh - end-to-end tests of every command of certfleet on a local
# store (--store DIR), and of every error the issue names.
#
#   CERTFLEET=$PWD/build/certfleet bash tests/e2e/commands.sh
#
# Commands: get (table, --fields, --json, Status), import (PEM, DER,
# PKCS#7 PEM/DER, PEM bundles, PKCS#12 DER/Base64, --exportable,
# --friendly-name, --services, re-import, several files all or nothing),
# export (Base64, --binary, --legacy, --pem, --no-key, -o, file modes, the
# non-exportable refusal), enable/disable (aliases, --force, the terminal
# prompt), remove, log; passwords (file, stdin, environment, no-echo prompt
# asked twice, empty password); thumbprint prefixes; usage errors; the store
# (modes, WAL, sealed keys, no password anywhere).
#
# Every positive case has a negative one beside it.  After every failing
# command: the exit status and message; the message on stderr as
# "certfleet: <operation>: <object>: <reason>", with no raw OpenSSL error
# queue and nothing on stdout; the store unchanged (every row of every table
# but audit, file modes, PRAGMA integrity_check = ok); and, for a failure of
# an operation that changes or exports (exit 1), a new audit row whose
# outcome starts with "failed:".  Reads (get, log) are not audited, and
# usage errors (exit 2) need not be.
#
# Output: one "PASS name" or "FAIL name: detail" line per check; exit 1 when
# anything failed.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -f "$HERE/lib.sh" ]; then
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
else
	# The few helpers of lib.sh this script uses, for a tree without it.
	set -u
	set -o pipefail
	E2E_NAME=commands
	: "${CERTFLEET:=$HERE/../../build/certfleet}"
	E2E_FAILED=0
	E2E_PASSED=0
	T=$(mktemp -d "${TMPDIR:-/tmp}/cf-e2e-commands.XXXXXX") || exit 1
	chmod 700 "$T"
	trap 'rm -rf "$T"' EXIT
	OUT=$T/.out
	ERR=$T/.err
	pass() { echo "PASS $1"; E2E_PASSED=$((E2E_PASSED + 1)); }
	fail() { echo "FAIL $1: ${2:-failed}"; E2E_FAILED=$((E2E_FAILED + 1)); }
	run() { RC=0; "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?; return 0; }
	expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }
	cf() { timeout -k 5 "${CF_TIMEOUT:-120}" "$CERTFLEET" "$@"; }
	require_certfleet() {
		[ -x "$CERTFLEET" ] && return 0
		fail "commands: certfleet binary" "not found at $CERTFLEET (run make)"
		exit 1
	}
	e2e_done() {
		echo "# commands: $E2E_PASSED passed, $E2E_FAILED failed"
		[ "$E2E_FAILED" -eq 0 ]
		exit $?
	}
	store_snapshot() {
		local dir=$1 db=$1/store.db t
		[ -e "$db" ] || { echo "(no store.db)"; return 0; }
		(cd "$dir" && find . -mindepth 1 ! -name '*-wal' ! -name '*-shm' -printf '%m %P\n' | sort)
		sha256sum <"$dir/master.key" 2>/dev/null
		sqlite3 "$db" 'PRAGMA integrity_check;'
		for t in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table'
		    AND name <> 'audit' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
			sqlite3 "$db" ".dump '$t'"
		done
	}
fi
# shellcheck source=commands-fixtures.sh
. "$HERE/commands-fixtures.sh"
require_certfleet
export CERTFLEET
unset CERTFLEET_PASSWORD CERTFLEET_STORE

# Every byte certfleet printed, to look for passwords at the end.
TRANSCRIPT=$T/transcript
: >"$TRANSCRIPT"
ST=$T/st # the stores
F=$T/fx  # the fixtures
mkdir -p "$ST" "$T/o"

EXPORT_PW='Exp0rt-Secret#9zQ-files'
ENV_PW='Env-Secret-5xT-variable'
STDIN_PW='Stdin-Secret-3kW-pipe'
TTY_PW='Tty-Secret-8mV-typed'
ARGV_PW='Argv-Secret-2pL-never'
PWF=$T/pw
EMPTYPW=$T/emptypw
(umask 077 && printf '%s' "$EXPORT_PW" >"$PWF" && : >"$EMPTYPW")

# ---- helpers -----------------------------------------------------------

# One line, short: for failure details.
cmd_line() { tr '\n\r\t' '   ' | cut -c1-400; }
cmd_err1() { head -n 3 "$ERR" | cmd_line; }

# cmd_cf ARGS... - certfleet, stdin /dev/null: $OUT, $ERR, $RC.
cmd_cf() {
	run cf "$@"
	cat "$OUT" "$ERR" >>"$TRANSCRIPT"
}

# cmd_cf_stdin FILE ARGS... - the same with stdin from FILE.
cmd_cf_stdin() {
	local in=$1
	shift
	RC=0
	cf "$@" <"$in" >"$OUT" 2>"$ERR" || RC=$?
	cat "$OUT" "$ERR" >>"$TRANSCRIPT"
}

# cmd_ok NAME ARGS... - certfleet ARGS must succeed.
cmd_ok() {
	local name=$1
	shift
	cmd_cf "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$name"
		return 0
	fi
	fail "$name" "exit $RC from certfleet ${*:3}; stderr: $(cmd_err1)"
	return 1
}

# cmd_out_is NAME WANT - stdout of the last command is exactly WANT.
cmd_out_is() {
	local got
	got=$(cat "$OUT")
	if [ "$got" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "stdout '$(printf '%s' "$got" | cmd_line)', expected '$(printf '%s' "$2" | cmd_line)'"
	fi
}

cmd_audit_max() {
	sqlite3 "$1/store.db" 'SELECT coalesce(max(id), 0) FROM audit' 2>/dev/null || echo 0
}

# cmd_judge NAME OP WANT PATTERN - the last command failed as it should:
# exit WANT, a "certfleet: ..." line on stderr matching PATTERN (extended
# regex, case-insensitive; a usage text alone is no message);
# then NAME/clean: nothing on stdout, no OpenSSL error queue, and for an
# error (exit 1) the message as "certfleet: OP: <object>: <reason>".
cmd_judge() {
	local name=$1 op=$2 want=$3 pat=$4 first
	if [ "$RC" -eq "$want" ] && grep '^certfleet: ' "$ERR" | grep -qiE -- "$pat"; then
		pass "$name"
	else
		fail "$name" "exit $RC (expected $want), stderr /$pat/ wanted: $(cmd_err1)"
	fi
	first=$(head -n 1 "$ERR")
	if [ -s "$OUT" ]; then
		fail "$name/clean" "stdout is not empty: $(head -c 200 "$OUT" | cmd_line)"
	elif grep -qE ':error:|\.\./(crypto|providers|ssl)/|routines|error:[0-9A-F]{8}' "$ERR"; then
		fail "$name/clean" "raw OpenSSL error queue on stderr: $(cmd_err1)"
	elif [ "$want" -eq 1 ] && ! printf '%s\n' "$first" |
		grep -qE "^certfleet: $op: [^:]*[^: ][^:]*: .*[^ ]"; then
		fail "$name/clean" "not 'certfleet: $op: <object>: <reason>': $first"
	else
		pass "$name/clean"
	fi
}

# cmd_unchanged NAME STORE BEFORE - the store is as BEFORE (a snapshot) and
# SQLite finds it sound.
cmd_unchanged() {
	local name=$1 store=$2 before=$3 after ic
	after=$(store_snapshot "$store")
	ic=$(sqlite3 "$store/store.db" 'PRAGMA integrity_check' 2>&1)
	if [ "$ic" != ok ]; then
		fail "$name/store-unchanged" "integrity_check: $(printf '%s' "$ic" | cmd_line)"
	elif [ "$after" != "$before" ]; then
		fail "$name/store-unchanged" "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") |
			grep '^[<>]' | head -n 3 | cmd_line)"
	else
		pass "$name/store-unchanged"
	fi
}

# cmd_audited NAME STORE ID - the audit gained a row after ID whose outcome
# starts with "failed:".
cmd_audited() {
	local n
	n=$(sqlite3 "$2/store.db" "SELECT count(*) FROM audit WHERE id > $3
	    AND outcome LIKE 'failed:%'")
	if [ "$n" -ge 1 ]; then
		pass "$1/audited"
	else
		fail "$1/audited" "no new audit row with outcome 'failed: ...' (newest: $(sqlite3 "$2/store.db" \
			"SELECT operation || ' | ' || outcome FROM audit WHERE id > $3 ORDER BY id DESC LIMIT 1" |
			cmd_line))"
	fi
}

# cmd_neg NAME STORE WANT PATTERN AUDIT ARGS... - certfleet ARGS fails
# with exit WANT and a message matching PATTERN, cleanly, leaving STORE as
# it was; AUDIT=audit also wants a "failed:" audit row.  The operation is
# the first word of ARGS that is a command.  Set CMD_IN to feed stdin.
cmd_neg() {
	local name=$1 store=$2 want=$3 pat=$4 audit=$5 before a0 op a
	shift 5
	op='?'
	for a in "$@"; do
		case $a in get | import | export | enable | disable | remove | log)
			op=$a
			break
			;;
		esac
	done
	before=$(store_snapshot "$store")
	a0=$(cmd_audit_max "$store")
	if [ -n "${CMD_IN:-}" ]; then
		cmd_cf_stdin "$CMD_IN" "$@"
	else
		cmd_cf "$@"
	fi
	cmd_judge "$name" "$op" "$want" "$pat"
	cmd_unchanged "$name" "$store" "$before"
	if [ "$audit" = audit ]; then
		cmd_audited "$name" "$store" "$a0"
	fi
}

# cmd_absent NAME FILE - FILE was not written.
cmd_absent() {
	if [ -e "$2" ]; then
		fail "$1/no-file" "$2 exists ($(stat -c '%s bytes' "$2"))"
	else
		pass "$1/no-file"
	fi
}

# cmd_mode NAME FILE MODE
cmd_mode() {
	expect_eq "$1" "$(stat -c %a "$2" 2>&1)" "$3"
}

# cmd_newstore NAME - a fresh, initialised store; prints its directory.
cmd_newstore() {
	local d=$ST/$1
	cf store init "$d" >/dev/null 2>&1
	printf '%s\n' "$d"
}

# cmd_getjson STORE - the Items of get --json into $T/get.json (an empty
# array on failure, or when the document is not SchemaVersion 1).
cmd_getjson() {
	cf --store "$1" get --json >"$T/get.doc" 2>>"$TRANSCRIPT" || echo '{}' >"$T/get.doc"
	jq -e '.SchemaVersion == 1 and (.Items | type == "array")' "$T/get.doc" >/dev/null 2>&1 &&
		jq .Items "$T/get.doc" >"$T/get.json" || echo '[]' >"$T/get.json"
}

# cmd_jf THUMB FIELD - one field of $T/get.json, lists joined with commas.
cmd_jf() {
	jq -r --arg t "$1" --arg f "$2" '[.[] | select(.Thumbprint == $t)] |
	    if length == 0 then "(absent)" else .[0][$f] |
	    if type == "array" then join(",") elif . == null then "(null)"
	    else tostring end end' "$T/get.json"
}

# cmd_field NAME STORE THUMB FIELD WANT - get --json shows FIELD = WANT.
cmd_field() {
	cmd_getjson "$2"
	expect_eq "$1" "$(cmd_jf "$3" "$4")" "$5"
}

# cmd_thumb FILE - SHA-1 of the DER certificate, upper-case hex.
cmd_thumb() {
	openssl x509 -in "$1" -outform DER | sha1sum | cut -c1-40 | tr 'a-f' 'A-F'
}

# cmd_iso WHICH FILE - the certificate's notBefore/notAfter in ISO 8601 UTC.
cmd_iso() {
	date -u -d "$(openssl x509 -in "$2" -noout "-$1" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}

# cmd_certs_of FILE [OPENSSL-ARGS] - thumbprints of the PEM certificates in
# FILE, in order, comma-separated.
cmd_certs_of() {
	local f=$1 d
	d=$(mktemp -d "$T/split.XXXXXX")
	awk -v d="$d" '/-----BEGIN CERTIFICATE-----/ { n++; out = sprintf("%s/%03d.pem", d, n) }
	    out { print > out } /-----END CERTIFICATE-----/ { out = "" }' "$f"
	for c in "$d"/*.pem; do
		[ -f "$c" ] && cmd_thumb "$c"
	done | paste -sd, -
	rm -rf "$d"
}

# cmd_p12_certs P12 PASSARG - thumbprints of the certificates in a PKCS#12.
cmd_p12_certs() {
	openssl pkcs12 -in "$1" -passin "$2" -nokeys 2>/dev/null >"$T/p12certs.pem"
	cmd_certs_of "$T/p12certs.pem"
}

# cmd_p12_keypub P12 PASSARG - the public key of the PKCS#12's private key.
cmd_p12_keypub() {
	openssl pkcs12 -in "$1" -passin "$2" -nocerts -nodes 2>/dev/null |
		openssl pkey -pubout 2>/dev/null
}

# cmd_tty LOG DELAY_MS PATTERN REPLY ... -- ARGS... - certfleet ARGS on a
# terminal (expect): for each PATTERN shown, wait DELAY_MS (as a person
# would) and type REPLY.  Sets RC; the terminal's text is in LOG, and in the
# transcript unless CMD_TTY_UNLOGGED is set.
cmd_tty() {
	local log=$1 delay=$2
	shift 2
	RC=0
	CMD_TTY_TIMEOUT=${CMD_TTY_TIMEOUT:-20} expect "$T/tty.exp" "$log" "$delay" \
		"$@" >/dev/null 2>&1 || RC=$?
	[ -n "${CMD_TTY_UNLOGGED:-}" ] || cat "$log" >>"$TRANSCRIPT" 2>/dev/null
}
cat >"$T/tty.exp" <<'EOF'
set timeout $env(CMD_TTY_TIMEOUT)
set log [lindex $argv 0]
set delay [lindex $argv 1]
set i 2
set pairs {}
while {[lindex $argv $i] ne "--"} {
	lappend pairs [lindex $argv $i] [lindex $argv [expr {$i + 1}]]
	incr i 2
}
set cmd [lrange $argv [expr {$i + 1}] end]
log_user 0
log_file -a -noappend $log
spawn -noecho $env(CERTFLEET) {*}$cmd
set eof 0
foreach {pat reply} $pairs {
	expect {
		-exact $pat {
			if {$delay > 0} { after $delay }
			send -- "$reply\r"
		}
		timeout { exit 124 }
		eof { set eof 1; break }
	}
}
if {!$eof} {
	expect {
		eof {}
		timeout { exit 124 }
	}
}
set r [wait]
exit [lindex $r 3]
EOF

# ---- the fixtures ------------------------------------------------------

if ! cmd_make_fixtures "$F" >"$T/fixtures.log" 2>&1; then
	fail "commands/fixtures" "could not make the test PKI: $(tail -n 3 "$T/fixtures.log" | cmd_line)"
	e2e_done
fi
TP_LEAF=$(cmd_thumb "$F/leaf.pem")
TP_INT=$(cmd_thumb "$F/int.pem")
TP_ROOT=$(cmd_thumb "$F/root.pem")
TP_EC=$(cmd_thumb "$F/ec.pem")
TP_SELF=$(cmd_thumb "$F/self.pem")
TP_EXP=$(cmd_thumb "$F/expired.pem")
TP_FUT=$(cmd_thumb "$F/future.pem")
TP_BAD=$(cmd_thumb "$F/badsig.pem")
CHAIN="$TP_INT,$TP_ROOT"
P12PW=$F/p12pw
head -c 300 "$F/leaf.der" >"$F/truncated.der"
head -c 900 "$F/leaf.p7b" >"$F/truncated.p7b"
head -c 700 "$F/leaf-der.p7b" >"$F/truncated-der.p7b"
NOFILE=$T/no-such-file.pem
UNKNOWN_TP=0123456789ABCDEF0123456789ABCDEF01234567

# ---- the store ---------------------------------------------------------

S=$ST/fresh
# A store is made on purpose only: a mistyped --store is an error.
cmd_cf --store "$S" get
expect_eq "store/missing: exit 1, says so" "$RC:$(cat "$ERR")" \
	"1:certfleet: get: no certfleet store in $S: check the path, or create one with certfleet store init $S (or --init)"
expect_eq "store/missing: nothing created" "$(ls -d "$S" 2>&1 | grep -c 'No such')" 1
cmd_cf --store "$S" import "$F/leaf.pem"
expect_eq "store/missing: import refused too" "$RC:$(ls -d "$S" 2>&1 | grep -c 'No such')" 1:1
CERTFLEET_STORE=$S cmd_cf get
expect_eq "store/missing: CERTFLEET_STORE alike" "$RC:$(grep -c "no certfleet store in $S" "$ERR")" 1:1
cmd_cf --init get
expect_eq "store/--init without --store: usage" "$RC:$(head -n1 "$ERR")" \
	"2:certfleet: get: --init creates the local store given by --store DIR"
(umask 022 && cf store init "$S" >"$OUT" 2>"$ERR") && RC=0 || RC=$?
expect_eq "store/init: exit 0, says where" "$RC:$(cat "$OUT")" "0:created a certfleet store in $S"
(umask 022 && cf --store "$S" get >"$OUT" 2>"$ERR") && RC=0 || RC=$?
expect_eq "store/first-use-get" "$RC:$(cat "$OUT")" "0:"
before=$(store_snapshot "$S")
cmd_cf store init "$S"
expect_eq "store/init again: nothing changed" "$RC:$(cat "$OUT")" \
	"0:$S: already a certfleet store; nothing changed"
expect_eq "store/init again: the store as it was" "$(store_snapshot "$S")" "$before"
cmd_cf store init
expect_eq "store/init without DIR: usage" "$RC" 2
cmd_cf --store "$ST/by-option" --init get
expect_eq "store/--init: creates, says so on stderr" "$RC:$(cat "$ERR")" \
	"0:certfleet: get: created a new store in $ST/by-option"
cmd_cf --store "$ST/by-option" --init get
expect_eq "store/--init on a store: silent" "$RC:$(cat "$ERR")" "0:"
CERTFLEET_STORE=$ST/by-env cmd_cf store init --json
expect_eq "store/init: CERTFLEET_STORE, --json" "$RC:$(jq -c . "$OUT")" \
	"0:{\"SchemaVersion\":1,\"Store\":\"$ST/by-env\",\"Created\":true}"
cp -a "$ST/by-env" "$ST/nokey" && rm "$ST/nokey/master.key"
cmd_cf --store "$ST/nokey" get
expect_eq "store/no master key: refused, not replaced" \
	"$RC:$(grep -c 'master.key is missing' "$ERR"):$(ls "$ST/nokey" | grep -c master.key)" 1:1:0
cmd_mode "store/dir-0700" "$S" 700
cmd_mode "store/db-0600" "$S/store.db" 600
cmd_mode "store/master-key-0600" "$S/master.key" 600
expect_eq "store/journal-wal" "$(sqlite3 "$S/store.db" 'PRAGMA journal_mode' 2>&1)" wal
cmd_cf --store "$S" get --json
expect_eq "store/empty-get-json" "$(jq -c . "$OUT" 2>&1)" '{"SchemaVersion":1,"Items":[]}'
echo "not a directory" >"$T/plainfile"
cmd_cf store init "$T/plainfile"
if [ "$RC" -eq 1 ] && grep -q '^certfleet: store init: ' "$ERR" &&
	[ "$(cat "$T/plainfile")" = "not a directory" ]; then
	pass "store/not-a-directory"
else
	fail "store/not-a-directory" "exit $RC, file now '$(head -c 40 "$T/plainfile" | cmd_line)': $(cmd_err1)"
fi
RC=0
env -u CERTFLEET_STORE "$CERTFLEET" get >"$OUT" 2>"$ERR" </dev/null || RC=$?
if [ "$RC" -ne 0 ] && grep -qE '^certfleet: .*--store' "$ERR"; then
	pass "store/none-given"
else
	fail "store/none-given" "exit $RC: $(cmd_err1)"
fi
CERTFLEET_STORE=$ST/fresh cmd_ok "store/CERTFLEET_STORE" get

# ---- import: each format, and a bad file of the same kind beside it ----

# cmd_import_one NAME FILE HASKEY CHAIN [ARGS...] - into a fresh store:
# one output line "<TP>  -  imported" for the leaf, HasPrivateKey, Chain.
cmd_import_one() {
	local name=$1 file=$2 haskey=$3 chain=$4
	shift 4
	S=$(cmd_newstore "$name")
	cmd_ok "import/$name" --store "$S" import "$F/$file" "$@" &&
		cmd_out_is "import/$name/output" "$TP_LEAF  -  imported"
	cmd_getjson "$S"
	expect_eq "import/$name/one-certificate" "$(jq -r 'map(.Thumbprint) | join(",")' "$T/get.json")" "$TP_LEAF"
	expect_eq "import/$name/HasPrivateKey" "$(cmd_jf "$TP_LEAF" HasPrivateKey)" "$haskey"
	expect_eq "import/$name/Chain" "$(cmd_jf "$TP_LEAF" Chain)" "$chain"
}

cmd_import_one pem leaf.pem false ""
cmd_neg import/bad-pem "$S" 1 'damaged|malformed|not a (valid )?certificate|invalid' audit \
	--store "$S" import "$F/badpem.pem"

cmd_import_one der leaf.der false ""
cmd_neg import/truncated-der "$S" 1 'truncat|cut off|damaged|incomplete' audit \
	--store "$S" import "$F/truncated.der"

cmd_import_one p7b-pem leaf.p7b false "$CHAIN"
cmd_neg import/truncated-p7b-pem "$S" 1 'truncat|cut off|damaged|incomplete' audit \
	--store "$S" import "$F/truncated.p7b"

cmd_import_one p7b-der leaf-der.p7b false "$CHAIN"
cmd_neg import/truncated-p7b-der "$S" 1 'truncat|cut off|damaged|incomplete' audit \
	--store "$S" import "$F/truncated-der.p7b"

cmd_import_one pem-bundle bundle.pem true "$CHAIN"
cmd_import_one pem-bundle-other-order bundle2.pem true "$CHAIN"
cmd_neg import/key-mismatch "$S" 1 'does not match|mismatch|belong' audit \
	--store "$S" import "$F/mismatch.pem"
cp "$ERR" "$T/err.mismatch"

cmd_import_one p12-der leaf.p12 true "$CHAIN" --password-file "$P12PW"
expect_eq "import/p12-der/FriendlyName" "$(cmd_jf "$TP_LEAF" FriendlyName)" "mail cert"
printf 'Wrong-Password-1' >"$T/wrongpw"
cmd_neg import/p12-wrong-password "$S" 1 'wrong password|incorrect password|MAC' audit \
	--store "$S" import "$F/ec.p12" --password-file "$T/wrongpw"
cp "$ERR" "$T/err.wrongpw"
cmd_neg import/p12-truncated "$S" 1 'truncat|cut off|incomplete|ends early' audit \
	--store "$S" import "$F/truncated.p12" --password-file "$P12PW"
cp "$ERR" "$T/err.truncated"
cmd_neg import/p12-no-password "$S" 1 'password' audit \
	--store "$S" import "$F/ec.p12"

cmd_import_one p12-base64 leaf.p12.b64 true "$CHAIN" --password-file "$P12PW"
cmd_neg import/garbage "$S" 1 'not a|unrecogni|unknown (file )?format|garbage' audit \
	--store "$S" import "$F/garbage.bin"
cp "$ERR" "$T/err.garbage"
cmd_neg import/no-certificate "$S" 1 'no certificate|certificate or a private key is needed' audit \
	--store "$S" import "$F/nocert.pem"
cp "$ERR" "$T/err.nocert"
cmd_neg import/nonexistent-file "$S" 1 'no such file|does not exist|not found' audit \
	--store "$S" import "$NOFILE"
cp "$ERR" "$T/err.nofile"

CERTFLEET_PASSWORD=$CMD_P12_PASSWORD cmd_import_one p12-env leaf.p12 true "$CHAIN"
S=$(cmd_newstore p12-stdin)
cmd_cf_stdin "$P12PW" --store "$S" import "$F/leaf.p12" --password-file -
expect_eq "import/p12-stdin" "$RC:$(cat "$OUT")" "0:$TP_LEAF  -  imported"
CMD_IN=$T/wrongpw cmd_neg import/p12-stdin-wrong "$S" 1 'wrong password|incorrect password|MAC' audit \
	--store "$S" import "$F/ec.p12" --password-file -

# The messages of the errors the issue names are each their own.
cmd_cf --store "$S" get "$UNKNOWN_TP"
cp "$ERR" "$T/err.unknowntp"
reasons=$(for e in wrongpw truncated garbage nocert mismatch nofile unknowntp; do
	printf '%s\t%s\n' "$(grep -m1 '^certfleet: ' "$T/err.$e" | sed -E 's/^certfleet: [a-z]+: [^:]*: //')" "$e"
done | sort)
dups=$(printf '%s\n' "$reasons" | awk -F'\t' '{ n[$1]++; w[$1] = w[$1] " " $2 }
    END { for (r in n) if (n[r] > 1) printf "%s share \"%s\"; ", w[r], r }')
if [ -z "$dups" ]; then
	pass "errors/distinct-messages"
else
	fail "errors/distinct-messages" "$(printf '%s' "$dups" | cmd_line)"
fi

# ---- import options ----------------------------------------------------

S=$(cmd_newstore options)
cmd_ok import/not-exportable-by-default --store "$S" import "$F/leaf.p12" --password-file "$P12PW"
cmd_field import/not-exportable-by-default/flag "$S" "$TP_LEAF" PrivateKeyExportable false
cmd_ok import/exportable --store "$S" import "$F/ec.p12" --exportable --password-file "$P12PW"
cmd_field import/exportable/flag "$S" "$TP_EC" PrivateKeyExportable true
cmd_ok import/friendly-name --store "$S" import "$F/self.p12" --friendly-name "Acme test cert" \
	--password-file "$P12PW"
cmd_field import/friendly-name/shown "$S" "$TP_SELF" FriendlyName "Acme test cert"
cmd_neg import/friendly-name-missing-argument "$S" 2 \
	'friendly-name.*(argument|requires|missing)|(argument|requires|missing).*friendly-name' noaudit \
	--store "$S" import "$F/self.p12" --friendly-name

S=$(cmd_newstore services)
cmd_ok import/services --store "$S" import "$F/leaf.p12" --services smtp,IIS --password-file "$P12PW" &&
	cmd_out_is import/services/output "$TP_LEAF  https,smtp  imported"
cmd_field import/services/shown "$S" "$TP_LEAF" Services "https,smtp"
cmd_neg import/unknown-service "$S" 1 'bogus.*(unknown|not a) service|unknown service.*bogus' noaudit \
	--store "$S" import "$F/ec.p12" --services bogus --password-file "$P12PW"
cmd_neg import/service-taken "$S" 1 'https.*(assigned|taken|belongs|held).*--force|--force.*https' audit \
	--store "$S" import "$F/ec.p12" --services https --password-file "$P12PW"
cmd_ok import/service-taken-force --store "$S" import "$F/ec.p12" --services https --force \
	--password-file "$P12PW" && cmd_out_is import/service-taken-force/output "$TP_EC  https  imported"
cmd_getjson "$S"
expect_eq import/service-taken-force/moved "$(cmd_jf "$TP_LEAF" Services)|$(cmd_jf "$TP_EC" Services)" "smtp|https"

# ---- re-import ---------------------------------------------------------

S=$(cmd_newstore reimport)
cmd_ok import/cert-only --store "$S" import "$F/leaf.pem" &&
	cmd_out_is import/cert-only/output "$TP_LEAF  -  imported"
cmd_field import/cert-only/no-key "$S" "$TP_LEAF" HasPrivateKey false
before=$(store_snapshot "$S")
cmd_ok import/again-already-present --store "$S" import "$F/leaf.pem" &&
	cmd_out_is import/again-already-present/output "$TP_LEAF  -  already present"
expect_eq import/again-already-present/store-unchanged "$(store_snapshot "$S")" "$before"
cmd_ok import/key-attached --store "$S" import "$F/leaf.p12" --exportable --password-file "$P12PW" &&
	cmd_out_is import/key-attached/output "$TP_LEAF  -  key attached"
cmd_getjson "$S"
expect_eq import/key-attached/fields \
	"$(cmd_jf "$TP_LEAF" HasPrivateKey) $(cmd_jf "$TP_LEAF" PrivateKeyExportable) $(cmd_jf "$TP_LEAF" Chain)" \
	"true true $CHAIN"
cmd_ok import/p12-again --store "$S" import "$F/leaf.p12" --password-file "$P12PW" &&
	cmd_out_is import/p12-again/output "$TP_LEAF  -  already present"
cmd_ok import/bundle-again --store "$S" import "$F/bundle.pem" &&
	cmd_out_is import/bundle-again/output "$TP_LEAF  -  already present"
cmd_field import/again-keeps-exportable "$S" "$TP_LEAF" PrivateKeyExportable true
cmd_neg import/lone-key-no-certificate "$S" 1 'match|certificate' audit \
	--store "$S" import "$F/ec.key"

# ---- several files: all or nothing -------------------------------------

S=$(cmd_newstore multi)
cmd_neg import/multi-one-garbage "$S" 1 'garbage\.bin' audit \
	--store "$S" import "$F/leaf.p12" "$F/ec.p12" "$F/garbage.bin" --password-file "$P12PW"
cmd_neg import/multi-one-mismatch "$S" 1 'mismatch\.pem' audit \
	--store "$S" import "$F/leaf.pem" "$F/self.pem" "$F/mismatch.pem"
cmd_neg import/multi-one-missing "$S" 1 'no-such-file' audit \
	--store "$S" import "$F/leaf.pem" "$NOFILE"
cmd_getjson "$S"
expect_eq import/multi-nothing-imported "$(jq -c . "$T/get.json")" "[]"
cmd_ok import/multi --store "$S" import "$F/leaf.p12" "$F/ec.p12" "$F/self.p12" --password-file "$P12PW" &&
	cmd_out_is import/multi/output "$(printf '%s  -  imported\n' "$TP_LEAF" "$TP_EC" "$TP_SELF")"
cmd_getjson "$S"
expect_eq import/multi/all-there "$(jq -r 'map(.Thumbprint) | sort | join(",")' "$T/get.json")" \
	"$(printf '%s\n' "$TP_LEAF" "$TP_EC" "$TP_SELF" | sort | paste -sd, -)"

# ---- get ---------------------------------------------------------------

S=$(cmd_newstore get)
cf --store "$S" import "$F/leaf.p12" --exportable --password-file "$P12PW" >/dev/null 2>&1
cf --store "$S" import "$F/ec.p12" "$F/self.p12" --password-file "$P12PW" >/dev/null 2>&1
cmd_getjson "$S"
cmd_ok get/table --store "$S" get
expect_eq get/table/header "$(head -n 1 "$OUT" | tr -s ' ')" "Thumbprint Services Status NotAfter DaysLeft Subject"
row=$(grep "^${TP_LEAF:0:8} " "$OUT" | tr -s ' ')
leaf_end=$(cmd_iso enddate "$F/leaf.pem")
expect_eq get/table/row-brief "$row" \
	"${TP_LEAF:0:8} None $(cmd_jf "$TP_LEAF" Status) ${leaf_end%%T*} $(cmd_jf "$TP_LEAF" DaysLeft) CN=mail.example.com,O=Example Ltd"
expect_eq get/table/rows "$(($(wc -l <"$OUT") - 2))" 3
expect_eq get/json/only-end-certificates "$(jq length "$T/get.json")" 3
expect_eq get/json/every-field "$(jq -r '.[0] | keys | sort | join(",")' "$T/get.json")" \
	"$(printf '%s\n' Server Subject Issuer Thumbprint FriendlyName Status Services PrivateKeyExportable \
		HasPrivateKey NotBefore NotAfter CertificateDomains IsSelfSigned KeyType SerialNumber Chain DaysLeft |
		sort | paste -sd, -)"
expect_eq get/json/Subject-RFC4514 "$(cmd_jf "$TP_LEAF" Subject)" "CN=mail.example.com,O=Example Ltd"
expect_eq get/json/Subject-escaped "$(cmd_jf "$TP_SELF" Subject)" 'CN=Acme Self Signed,O=Acme\, Inc.'
expect_eq get/json/Issuer "$(cmd_jf "$TP_LEAF" Issuer)" "CN=certfleet cmd Issuing CA,O=certfleet e2e"
expect_eq get/json/Thumbprint-sha1-der "$(jq -r --arg t "$TP_LEAF" \
	'map(select(.Thumbprint == $t)) | length' "$T/get.json")" 1
expect_eq get/json/FriendlyName "$(cmd_jf "$TP_LEAF" FriendlyName)" "mail cert"
expect_eq get/json/Status-known "$(jq -r '[.[].Status | select(IN("Valid",
	"DateInvalid", "Untrusted", "Invalid") | not)] | length' "$T/get.json")" 0
expect_eq get/json/Services-none "$(cmd_jf "$TP_LEAF" Services)" ""
expect_eq get/json/PrivateKeyExportable "$(cmd_jf "$TP_LEAF" PrivateKeyExportable)/$(cmd_jf "$TP_EC" \
	PrivateKeyExportable)" "true/false"
expect_eq get/json/HasPrivateKey "$(cmd_jf "$TP_LEAF" HasPrivateKey)" true
expect_eq get/json/NotBefore "$(cmd_jf "$TP_LEAF" NotBefore)" "$(cmd_iso startdate "$F/leaf.pem")"
expect_eq get/json/NotAfter "$(cmd_jf "$TP_LEAF" NotAfter)" "$(cmd_iso enddate "$F/leaf.pem")"
expect_eq get/json/CertificateDomains "$(cmd_jf "$TP_LEAF" CertificateDomains)" \
	"mail.example.com,mail,autodiscover.example.com"
expect_eq get/json/CertificateDomains-CN-first "$(cmd_jf "$TP_EC" CertificateDomains)" \
	"ec.example.com,www.ec.example.com"
expect_eq get/json/CertificateDomains-CN-not-DNS "$(cmd_jf "$TP_SELF" CertificateDomains)" \
	"self.example.net"
expect_eq get/json/IsSelfSigned "$(cmd_jf "$TP_LEAF" IsSelfSigned)/$(cmd_jf "$TP_SELF" IsSelfSigned)" \
	"false/true"
expect_eq get/json/KeyType "$(cmd_jf "$TP_LEAF" KeyType)/$(cmd_jf "$TP_EC" KeyType)/$(cmd_jf "$TP_SELF" \
	KeyType)" "RSA-2048/EC-P256/EC-P384"
expect_eq get/json/SerialNumber "$(cmd_jf "$TP_LEAF" SerialNumber)" \
	"$(openssl x509 -in "$F/leaf.pem" -noout -serial | cut -d= -f2)"
expect_eq get/json/Chain "$(cmd_jf "$TP_LEAF" Chain)" "$CHAIN"
cmd_ok get/fields-any-case --store "$S" get --fields thumbprint,SUBJECT,keyType,notafter
expect_eq get/fields-any-case/header "$(head -n 1 "$OUT" | tr -s ' ')" "Thumbprint Subject KeyType NotAfter"
expect_eq get/fields-any-case/row "$(grep "^$TP_EC " "$OUT" | tr -s ' ')" \
	"$TP_EC CN=ec.example.com,O=Example Ltd EC-P256 $(cmd_iso enddate "$F/ec.pem")"
cmd_neg get/unknown-field "$S" 2 'bogus.*unknown field|unknown field.*bogus' noaudit \
	--store "$S" get --fields Thumbprint,Bogus
lc8=$(printf '%s' "${TP_EC:0:8}" | tr 'A-F' 'a-f')
cmd_ok get/prefix-lower-case --store "$S" get "$lc8"
expect_eq get/prefix-lower-case/one-row "$(tail -n +3 "$OUT" | cut -d' ' -f1 | paste -sd, -)" "${TP_EC:0:8}"
cmd_ok get/full-thumbprint --store "$S" get --json "$(printf '%s' "$TP_LEAF" | tr 'A-F' 'a-f')"
expect_eq get/full-thumbprint/one "$(jq -r '.Items | map(.Thumbprint) | join(",")' "$OUT")" "$TP_LEAF"
cmd_neg get/prefix-too-short "$S" 2 'thumbprint' noaudit --store "$S" get "${TP_EC:0:7}"
cmd_neg get/malformed-thumbprint "$S" 2 'XYZ.*thumbprint|thumbprint.*XYZ' noaudit --store "$S" get XYZ12345
cmd_neg get/unknown-thumbprint "$S" 1 'no such certificate|not found|unknown' noaudit \
	--store "$S" get "$UNKNOWN_TP"

# An ambiguous prefix cannot be made with real certificates: a copy of the
# store gets a second row whose thumbprint shares the leaf's first 12 digits.
A=$ST/ambiguous
cp -a "$S" "$A"
FAKE_TP=${TP_LEAF:0:12}0000000000000000000000000000
FAKE_TP=${FAKE_TP:0:40}
# Digits 13 and 14 must differ from the leaf's, or 14 digits are ambiguous too.
[ "${TP_LEAF:12:2}" = "00" ] && FAKE_TP=${TP_LEAF:0:12}1111111111111111111111111111
sqlite3 "$A/store.db" "INSERT INTO certificates SELECT '$FAKE_TP', subject, issuer,
    serial, not_before, not_after, domains, key_type, spki, self_signed, signed_by,
    sig_state, friendly_name, exportable, created, modified FROM certificates
    WHERE thumbprint = '$TP_LEAF'"
cmd_neg get/ambiguous-prefix "$A" 1 "ambiguous.*$TP_LEAF.*$FAKE_TP|ambiguous.*$FAKE_TP.*$TP_LEAF" noaudit \
	--store "$A" get "${TP_LEAF:0:12}"
cmd_neg enable/ambiguous-prefix "$A" 1 'ambiguous' audit \
	--store "$A" enable "${TP_LEAF:0:10}" --services pop
cmd_ok get/unambiguous-longer-prefix --store "$A" get "${TP_LEAF:0:14}"

# ---- Status ------------------------------------------------------------

S=$(cmd_newstore status)
cf --store "$S" import "$F/noroot.pem" >/dev/null 2>&1
cmd_field status/untrusted-no-root "$S" "$TP_LEAF" Status Untrusted
cmd_ok status/import-root --store "$S" import "$F/root.pem"
cmd_field status/valid-root-in-store "$S" "$TP_LEAF" Status Valid
expect_eq status/valid-self-signed-root "$(cmd_jf "$TP_ROOT" Status)/$(cmd_jf "$TP_ROOT" IsSelfSigned)" \
	Valid/true
cf --store "$S" import "$F/expired.pem" >/dev/null 2>&1
cmd_field status/dateinvalid-expired "$S" "$TP_EXP" Status DateInvalid
cf --store "$S" import "$F/future.pem" >/dev/null 2>&1
cmd_field status/dateinvalid-not-yet-valid "$S" "$TP_FUT" Status DateInvalid
cf --store "$S" import "$F/badsig.pem" >/dev/null 2>&1
cmd_field status/invalid-bad-signature "$S" "$TP_BAD" Status Invalid
cf --store "$S" import "$F/self.pem" >/dev/null 2>&1
cmd_field status/valid-self-signed "$S" "$TP_SELF" Status Valid
S2=$(cmd_newstore status-alone)
cf --store "$S2" import "$F/leaf.pem" >/dev/null 2>&1
cmd_field status/untrusted-no-chain "$S2" "$TP_LEAF" Status Untrusted

# ---- export ------------------------------------------------------------

S=$(cmd_newstore export)
cf --store "$S" import "$F/leaf.p12" --exportable --password-file "$P12PW" >/dev/null 2>&1
cf --store "$S" import "$F/ec.p12" --password-file "$P12PW" >/dev/null 2>&1
cf --store "$S" import "$F/expired.pem" >/dev/null 2>&1
LEAFPUB=$(openssl pkey -in "$F/leaf.key" -pubout)
O=$T/o

# cmd_check_p12 NAME FILE PASSARG PROFILE(modern|legacy) KEY(yes|no)
cmd_check_p12() {
	local name=$1 f=$2 passarg=$3 profile=$4 key=$5 info
	info=$(openssl pkcs12 -info -noout -in "$f" -passin "$passarg" 2>&1)
	if [ "$profile" = modern ]; then
		if printf '%s\n' "$info" | grep -q '^MAC: sha256' &&
			printf '%s\n' "$info" | grep -q '^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC.*hmacWithSHA256' &&
			{ [ "$key" = no ] || printf '%s\n' "$info" |
				grep -q '^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC.*hmacWithSHA256'; }; then
			pass "$name/modern-profile"
		else
			fail "$name/modern-profile" "$(printf '%s' "$info" | cmd_line)"
		fi
	elif [ "$profile" = legacy ]; then
		if printf '%s\n' "$info" | grep -q '^MAC: sha1' &&
			printf '%s\n' "$info" | grep -q '^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC' &&
			printf '%s\n' "$info" | grep -q '^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC' &&
			! printf '%s\n' "$info" | grep -qi 'rc2'; then
			pass "$name/legacy-profile"
		else
			fail "$name/legacy-profile" "$(printf '%s' "$info" | cmd_line)"
		fi
	fi
	expect_eq "$name/certificates" "$(cmd_p12_certs "$f" "$passarg")" "$TP_LEAF,$CHAIN"
	if [ "$key" = yes ]; then
		expect_eq "$name/key-matches" "$(cmd_p12_keypub "$f" "$passarg")" "$LEAFPUB"
	else
		expect_eq "$name/no-key" "$(openssl pkcs12 -in "$f" -passin "$passarg" -nocerts -nodes 2>/dev/null |
			grep -c 'PRIVATE KEY')" 0
	fi
}

cmd_ok export/default-base64 --store "$S" export "$TP_LEAF" --password-file "$PWF"
expect_eq export/default-base64/text "$(grep -cvE '^[A-Za-z0-9+/=]*$' "$OUT")" 0
base64 -d <"$OUT" >"$O/default.p12" 2>/dev/null
cmd_check_p12 export/default-base64 "$O/default.p12" "file:$PWF" modern yes
cmd_neg export/non-exportable "$S" 1 'not exportable' audit \
	--store "$S" export "${TP_EC:0:8}" -o "$O/ec.p12" --password-file "$PWF"
cmd_absent export/non-exportable "$O/ec.p12"
if [ "$(wc -l <"$ERR")" -eq 1 ] && grep -qE "${TP_EC:0:8}|ec\.example\.com" "$ERR" &&
	grep -q -- '--exportable' "$ERR" && grep -qiE 'import|creat' "$ERR" &&
	grep -qiE 'export it from|re-?import|rekey|request|--no-key' "$ERR"; then
	pass export/non-exportable/one-clear-line
else
	fail export/non-exportable/one-clear-line "$(wc -l <"$ERR") lines: $(cmd_err1)"
fi
cp "$ERR" "$T/err.nonexportable"

(umask 022 && cf --store "$S" export "$TP_LEAF" -o "$O/leaf.b64" --password-file "$PWF" \
	>"$OUT" 2>"$ERR") && RC=0 || RC=$?
expect_eq export/to-file "$RC" 0
cmd_mode export/to-file/mode-0600 "$O/leaf.b64" 600
base64 -d <"$O/leaf.b64" >"$O/leaf-from-b64.p12" 2>/dev/null
cmd_check_p12 export/to-file "$O/leaf-from-b64.p12" "file:$PWF" modern yes
cmd_neg export/no-private-key "$S" 1 'no private key|without (a |its )?(private )?key|has no key' audit \
	--store "$S" export "$TP_EXP" -o "$O/expired.p12" --password-file "$PWF"
cmd_absent export/no-private-key "$O/expired.p12"

(umask 022 && cf --store "$S" export "$TP_LEAF" --binary -o "$O/leaf.p12" --password-file "$PWF" \
	>"$OUT" 2>"$ERR") && RC=0 || RC=$?
expect_eq export/binary-file "$RC" 0
cmd_mode export/binary-file/mode-0600 "$O/leaf.p12" 600
cmd_check_p12 export/binary-file "$O/leaf.p12" "file:$PWF" modern yes
cmd_cf --store "$S" export "$TP_LEAF" --binary --password-file "$PWF"
cp "$OUT" "$O/leaf-pipe.p12"
expect_eq export/binary-to-pipe "$RC:$(openssl pkcs12 -in "$O/leaf-pipe.p12" -passin "file:$PWF" -nokeys \
	2>/dev/null | grep -c 'BEGIN CERTIFICATE')" "0:3"
before=$(store_snapshot "$S")
RC=0
script -qec "$(printf '%q ' "$CERTFLEET" --store "$S" export "$TP_LEAF" --binary --password-file "$PWF")" \
	/dev/null >"$T/script.out" 2>&1 </dev/null || RC=$?
cat "$T/script.out" >>"$TRANSCRIPT"
if [ "$RC" -eq 2 ] && grep -qiE '^certfleet: export: .*terminal' "$T/script.out" &&
	[ "$(wc -c <"$T/script.out")" -lt 400 ]; then
	pass export/binary-to-terminal-refused
else
	fail export/binary-to-terminal-refused "exit $RC, $(wc -c <"$T/script.out") bytes: $(head -c 200 \
		"$T/script.out" | cmd_line)"
fi
cmd_unchanged export/binary-to-terminal-refused "$S" "$before"

cmd_ok export/legacy --store "$S" export "$TP_LEAF" --legacy -o "$O/legacy.b64" --password-file "$PWF"
base64 -d <"$O/legacy.b64" >"$O/legacy.p12" 2>/dev/null
cmd_check_p12 export/legacy "$O/legacy.p12" "file:$PWF" legacy yes
cmd_ok export/legacy-binary --store "$S" export "$TP_LEAF" --legacy --binary -o "$O/legacy-bin.p12" \
	--password-file "$PWF"
cmd_check_p12 export/legacy-binary "$O/legacy-bin.p12" "file:$PWF" legacy yes
cmd_neg export/pem-and-binary "$S" 2 'pem.*binary|binary.*pem' noaudit \
	--store "$S" export "$TP_LEAF" --pem --binary -o "$O/pembin" --password-file "$PWF"
cmd_absent export/pem-and-binary "$O/pembin"
cmd_neg export/pem-and-legacy "$S" 2 'pem.*legacy|legacy.*pem' noaudit \
	--store "$S" export "$TP_LEAF" --pem --legacy -o "$O/pemleg" --password-file "$PWF"

(umask 022 && cf --store "$S" export "$TP_LEAF" --pem -o "$O/leaf.pem" --password-file "$PWF" \
	>"$OUT" 2>"$ERR") && RC=0 || RC=$?
expect_eq export/pem "$RC" 0
cmd_mode export/pem/mode-0600 "$O/leaf.pem" 600
expect_eq export/pem/full-chain-in-order "$(cmd_certs_of "$O/leaf.pem")" "$TP_LEAF,$CHAIN"
expect_eq export/pem/encrypted-pkcs8 "$(grep -c '^-----BEGIN ENCRYPTED PRIVATE KEY-----' "$O/leaf.pem")/$(grep -cE \
	'^-----BEGIN (RSA |EC )?PRIVATE KEY-----' "$O/leaf.pem")" "1/0"
expect_eq export/pem/key-matches "$(openssl pkey -in "$O/leaf.pem" -passin "file:$PWF" -pubout 2>/dev/null)" \
	"$LEAFPUB"
if openssl pkey -in "$O/leaf.pem" -passin pass:wrong -noout >/dev/null 2>&1; then
	fail export/pem/wrong-password-fails "the key decrypts with a wrong password"
else
	pass export/pem/wrong-password-fails
fi

# --no-key: certificate and chain, no password needed, allowed for a
# non-exportable key.
cmd_ok export/no-key-pem --store "$S" export "$TP_EC" --no-key --pem
expect_eq export/no-key-pem/chain "$(cmd_certs_of "$OUT")" "$TP_EC,$CHAIN"
expect_eq export/no-key-pem/no-key "$(grep -c 'PRIVATE KEY' "$OUT")" 0
cmd_ok export/no-key-base64 --store "$S" export "$TP_EC" --no-key -o "$O/ec-nokey.b64"
{ base64 -d <"$O/ec-nokey.b64" >"$O/ec-nokey.p12"; } 2>/dev/null
expect_eq export/no-key-base64/certificates "$(cmd_p12_certs "$O/ec-nokey.p12" pass:)" "$TP_EC,$CHAIN"
cmd_ok export/no-key-binary --store "$S" export "$TP_LEAF" --no-key --binary -o "$O/leaf-nokey.p12"
expect_eq export/no-key-binary/no-key "$(openssl pkcs12 -in "$O/leaf-nokey.p12" -passin pass: -nodes \
	2>/dev/null | grep -c 'PRIVATE KEY')/$(cmd_p12_certs "$O/leaf-nokey.p12" pass:)" "0/$TP_LEAF,$CHAIN"
cmd_neg export/no-password "$S" 2 'password' noaudit \
	--store "$S" export "$TP_LEAF" -o "$O/nopw.p12"
cmd_absent export/no-password "$O/nopw.p12"
cmd_neg export/unknown-thumbprint "$S" 1 'no such certificate|not found' audit \
	--store "$S" export "$UNKNOWN_TP" --no-key -o "$O/unknown.pem"
cmd_absent export/unknown-thumbprint "$O/unknown.pem"
cmd_neg export/malformed-thumbprint "$S" 2 'thumbprint' noaudit \
	--store "$S" export "not-hex!" --no-key -o "$O/malformed.pem"
cmd_neg export/unwritable-output "$S" 1 'no such file|directory|cannot' audit \
	--store "$S" export "$TP_LEAF" -o "$T/no/such/dir/x.p12" --password-file "$PWF"

expect_eq export/audited "$(sqlite3 "$S/store.db" "SELECT count(*) > 0 FROM audit WHERE
    operation = 'export' AND thumbprint = '$TP_LEAF' AND outcome NOT LIKE 'failed:%'")" 1

# Round trip: certfleet reads what it writes.
R=$(cmd_newstore roundtrip)
cmd_ok export/round-trip --store "$R" import "$O/leaf.b64" --exportable --password-file "$PWF" &&
	cmd_out_is export/round-trip/output "$TP_LEAF  -  imported"
cmd_getjson "$R"
expect_eq export/round-trip/fields "$(cmd_jf "$TP_LEAF" HasPrivateKey) $(cmd_jf "$TP_LEAF" Chain)" "true $CHAIN"

# ---- passwords ---------------------------------------------------------

CERTFLEET_PASSWORD=$ENV_PW cmd_ok password/environment --store "$S" export "$TP_LEAF" --binary \
	-o "$O/env.p12"
expect_eq password/environment/decrypts "$(cmd_p12_keypub "$O/env.p12" "pass:$ENV_PW")" "$LEAFPUB"
printf '%s\n' "$STDIN_PW" >"$T/stdin-pw"
cmd_cf_stdin "$T/stdin-pw" --store "$S" export "$TP_LEAF" --binary -o "$O/stdin.p12" --password-file -
expect_eq password/stdin "$RC" 0
expect_eq password/stdin/decrypts "$(cmd_p12_keypub "$O/stdin.p12" "pass:$STDIN_PW")" "$LEAFPUB"
cmd_ok password/empty-file --store "$S" export "$TP_LEAF" --binary -o "$O/empty.p12" --password-file "$EMPTYPW"
if grep -qiE 'warning.*empty' "$ERR"; then pass password/empty-file/warning; else
	fail password/empty-file/warning "no warning on stderr: $(cmd_err1)"; fi
expect_eq password/empty-file/decrypts "$(cmd_p12_keypub "$O/empty.p12" pass:)" "$LEAFPUB"
# The message names the whole path (it is built from the path, not from
# itself).
cmd_neg password/nonexistent-file "$S" 1 "[^a-z]$T/no-such-pw: (no such file|does not exist)" audit \
	--store "$S" export "$TP_LEAF" -o "$O/nopwfile.p12" --password-file "$T/no-such-pw"
cmd_absent password/nonexistent-file "$O/nopwfile.p12"
# A password on the command line is refused, and not repeated.
cmd_neg password/not-from-argv "$S" 2 'password' noaudit \
	--store "$S" export "$TP_LEAF" -o "$O/argv.p12" --password "$ARGV_PW"
cmd_absent password/not-from-argv "$O/argv.p12"
# (not even a piece of it: any 6 characters in a row)
leak=
for ((i = 0; i + 6 <= ${#ARGV_PW}; i++)); do
	grep -qF -- "${ARGV_PW:i:6}" "$ERR" && leak=${ARGV_PW:i:6} && break
done
if [ -n "$leak" ]; then
	fail password/not-from-argv/not-echoed "stderr repeats part of the password ('$leak'): $(cmd_err1)"
else
	pass password/not-from-argv/not-echoed
fi

# The no-echo prompt, asked twice when setting a password.
before=$(store_snapshot "$S")
cmd_tty "$T/tty1.log" 300 "Password" "$TTY_PW" "assword" "$TTY_PW" -- \
	--store "$S" export "$TP_LEAF" --binary -o "$O/tty.p12"
expect_eq password/prompt-twice "$RC:$(grep -ciE 'password' "$T/tty1.log")" "0:2"
if grep -qF -- "$TTY_PW" "$T/tty1.log"; then
	fail password/prompt-twice/no-echo "the typed password shows on the terminal"
else
	pass password/prompt-twice/no-echo
fi
expect_eq password/prompt-twice/decrypts "$(cmd_p12_keypub "$O/tty.p12" "pass:$TTY_PW")" "$LEAFPUB"
before=$(store_snapshot "$S")
cmd_tty "$T/tty2.log" 300 "Password" "$TTY_PW" "assword" "Something-Else-1" -- \
	--store "$S" export "$TP_LEAF" --binary -o "$O/tty-differ.p12"
if [ "$RC" -ge 1 ] && [ "$RC" -le 2 ] && grep -qiE '^certfleet: export: .*differ' "$T/tty2.log"; then
	pass password/prompt-differ
else
	fail password/prompt-differ "exit $RC: $(tail -n 2 "$T/tty2.log" | cmd_line)"
fi
cmd_absent password/prompt-differ "$O/tty-differ.p12"
cmd_unchanged password/prompt-differ "$S" "$before"
cmd_tty "$T/tty3.log" 300 "Password" "" "assword" "" -- \
	--store "$S" export "$TP_LEAF" --binary -o "$O/tty-empty.p12"
if [ "$RC" -ge 1 ] && [ "$RC" -le 2 ] && grep -qiE '^certfleet: export: .*empty' "$T/tty3.log"; then
	pass password/prompt-empty-refused
else
	fail password/prompt-empty-refused "exit $RC: $(tail -n 2 "$T/tty3.log" | cmd_line)"
fi
cmd_absent password/prompt-empty-refused "$O/tty-empty.p12"
# Typed the moment the prompt shows (a password manager, a fast typist):
# the prompt must already be silent and must not throw the input away.
tries=0
while [ $tries -lt 8 ]; do
	tries=$((tries + 1))
	rm -f "$O/tty-fast.p12"
	# (its own check judges the echo: kept out of the transcript)
	CMD_TTY_UNLOGGED=1 CMD_TTY_TIMEOUT=4 cmd_tty "$T/tty4.log" 0 "Password for the exported key: " "$TTY_PW" \
		"Repeat the password: " "$TTY_PW" -- --store "$S" export "$TP_LEAF" --pem -o "$O/tty-fast.p12"
	if [ "$RC" -ne 0 ] || grep -qF -- "$TTY_PW" "$T/tty4.log"; then
		break
	fi
done
if [ "$RC" -eq 0 ] && ! grep -qF -- "$TTY_PW" "$T/tty4.log"; then
	pass password/prompt-typed-at-once
else
	fail password/prompt-typed-at-once "try $tries: exit $RC (124: hung waiting, the typed password was discarded), echoed: $(grep -qF -- "$TTY_PW" "$T/tty4.log" && echo yes || echo no)"
fi
# What can be checked is checked before a password is asked for: a key
# that is not exportable, a thumbprint that names nothing.
before=$(store_snapshot "$S")
a0=$(cmd_audit_max "$S")
cmd_tty "$T/tty-noexp.log" 300 "assword" "$TTY_PW" "assword" "$TTY_PW" -- \
	--store "$S" export "${TP_EC:0:8}" --binary -o "$O/tty-noexp.p12"
expect_eq password/export-not-exportable-no-prompt \
	"$RC:$(grep -c 'assword' "$T/tty-noexp.log"):$(grep -c "^certfleet: export: ${TP_EC:0:8} (.*): the private key is not exportable" "$T/tty-noexp.log")" "1:0:1"
cmd_absent password/export-not-exportable-no-prompt "$O/tty-noexp.p12"
cmd_unchanged password/export-not-exportable-no-prompt "$S" "$before"
cmd_audited password/export-not-exportable-no-prompt "$S" "$a0"
cmd_tty "$T/tty-nosuch.log" 300 "assword" "$TTY_PW" -- \
	--store "$S" export "$UNKNOWN_TP" --binary -o "$O/tty-nosuch.p12"
expect_eq password/export-unknown-no-prompt \
	"$RC:$(grep -c 'assword' "$T/tty-nosuch.log"):$(grep -ciE '^certfleet: export: .*(no such|not found)' "$T/tty-nosuch.log")" "1:0:1"
# Import asks once for a file that needs a password, on a terminal: the
# prompt names the file, and nothing is said before it.
I=$(cmd_newstore tty-import)
cmd_tty "$T/tty5.log" 300 "assword" "$CMD_P12_PASSWORD" -- --store "$I" import "$F/leaf.p12"
expect_eq password/import-prompt "$RC:$(grep -c "$TP_LEAF  -  imported" "$T/tty5.log")" "0:1"
expect_eq password/import-prompt/names-the-file "$(head -n 1 "$T/tty5.log" | tr -d '\r')" \
	"Password for $F/leaf.p12: "
expect_eq password/import-prompt/nothing-said-before "$(grep -c 'is needed' "$T/tty5.log")" 0
# A wrong password at a terminal: said, and asked again, three tries.
I=$(cmd_newstore tty-import-retry)
cmd_tty "$T/tty-retry.log" 300 "Password for" "Wrong-1" "Password for" "Wrong-2" \
	"Password for" "$CMD_P12_PASSWORD" -- --store "$I" import "$F/leaf.p12"
expect_eq password/import-third-try \
	"$RC:$(grep -c 'Password for' "$T/tty-retry.log"):$(grep -c "^certfleet: import: $F/leaf.p12: MAC verification failed (wrong password?)" "$T/tty-retry.log"):$(grep -c "$TP_LEAF  -  imported" "$T/tty-retry.log")" \
	"0:3:2:1"
I=$(cmd_newstore tty-import-wrong)
before=$(store_snapshot "$I")
cmd_tty "$T/tty-wrong.log" 300 "Password for" "Wrong-1" "Password for" "Wrong-2" \
	"Password for" "Wrong-3" "Password for" "Wrong-4" -- --store "$I" import "$F/leaf.p12"
expect_eq password/import-three-wrong \
	"$RC:$(grep -c 'Password for' "$T/tty-wrong.log"):$(grep -c "^certfleet: import: $F/leaf.p12: MAC verification failed (wrong password?)" "$T/tty-wrong.log")" \
	"1:3:3"
cmd_unchanged password/import-three-wrong "$I" "$before"
if grep -qE 'Wrong-[0-9]' "$T/tty-retry.log" "$T/tty-wrong.log"; then
	fail password/import-retry/no-echo "a typed password shows on the terminal"
else
	pass password/import-retry/no-echo
fi
if grep -qF -- "$CMD_P12_PASSWORD" "$T/tty5.log"; then
	fail password/import-prompt/no-echo "the typed password shows on the terminal"
else
	pass password/import-prompt/no-echo
fi

# ---- enable, disable ---------------------------------------------------

S=$(cmd_newstore services2)
cf --store "$S" import "$F/leaf.p12" "$F/ec.p12" --password-file "$P12PW" >/dev/null 2>&1
cmd_ok enable/services --store "$S" enable "${TP_LEAF:0:8}" --services https,smtp &&
	cmd_out_is enable/services/output "$TP_LEAF: enabled"
cmd_field enable/services/shown "$S" "$TP_LEAF" Services "https,smtp"
cmd_neg enable/unknown-service "$S" 1 'gopher.*(unknown|not a) service|unknown service.*gopher' noaudit \
	--store "$S" enable "$TP_EC" --services imap,gopher
cmd_neg enable/missing-services "$S" 2 'services' noaudit --store "$S" enable "$TP_EC"
cmd_neg enable/service-taken "$S" 1 "https.*${TP_LEAF:0:8}.*--force|--force.*https" audit \
	--store "$S" enable "$TP_EC" --services IIS
cmd_neg enable/unknown-thumbprint "$S" 1 'no such certificate|not found' audit \
	--store "$S" enable "$UNKNOWN_TP" --services pop
cmd_neg enable/malformed-thumbprint "$S" 2 'thumbprint' noaudit \
	--store "$S" enable "12-34" --services pop
# On a terminal, a taken service is a question: no keeps it, yes moves it.
before=$(store_snapshot "$S")
a0=$(cmd_audit_max "$S")
cmd_tty "$T/tty6.log" 300 "[y/N]" "n" -- --store "$S" enable "$TP_EC" --services https
expect_eq enable/prompt-no "$RC:$(grep -c '\[y/N\]' "$T/tty6.log")" "1:1"
cmd_unchanged enable/prompt-no "$S" "$before"
cmd_audited enable/prompt-no "$S" "$a0"
cmd_tty "$T/tty7.log" 300 "[y/N]" "y" -- --store "$S" enable "$TP_EC" --services https
expect_eq enable/prompt-yes "$RC" 0
cmd_getjson "$S"
expect_eq enable/prompt-yes/moved "$(cmd_jf "$TP_LEAF" Services)|$(cmd_jf "$TP_EC" Services)" "smtp|https"
cmd_ok enable/force --store "$S" enable "$TP_LEAF" --services iis --force
cmd_getjson "$S"
expect_eq enable/force/moved "$(cmd_jf "$TP_LEAF" Services)|$(cmd_jf "$TP_EC" Services)" "https,smtp|"
cmd_ok enable/alias-and-more --store "$S" enable "$TP_EC" --services POP,imap
cmd_field enable/alias-and-more/shown "$S" "$TP_EC" Services "imap,pop"
expect_eq enable/one-certificate-per-service "$(sqlite3 "$S/store.db" \
	'SELECT group_concat(service || "=" || substr(thumbprint, 1, 8)) FROM (SELECT * FROM services ORDER BY service)')" \
	"https=${TP_LEAF:0:8},imap=${TP_EC:0:8},pop=${TP_EC:0:8},smtp=${TP_LEAF:0:8}"
cmd_ok disable/services --store "$S" disable "$TP_EC" --services imap &&
	cmd_out_is disable/services/output "$TP_EC: disabled"
cmd_field disable/services/shown "$S" "$TP_EC" Services "pop"
cmd_neg disable/not-assigned "$S" 1 'smtp' audit --store "$S" disable "$TP_EC" --services smtp
cmd_neg disable/unknown-service "$S" 1 'gopher' noaudit --store "$S" disable "$TP_EC" --services gopher
cmd_neg disable/missing-services "$S" 2 'services' noaudit --store "$S" disable "$TP_EC"
cmd_neg disable/unknown-thumbprint "$S" 1 'no such certificate|not found' audit \
	--store "$S" disable "$UNKNOWN_TP" --services pop

# ---- remove ------------------------------------------------------------

cf --store "$S" import "$F/self.pem" >/dev/null 2>&1
cmd_neg remove/has-services "$S" 1 '--force' audit --store "$S" remove "$TP_LEAF"
cmd_ok remove/force --store "$S" remove "$TP_LEAF" --force && cmd_out_is remove/force/output "$TP_LEAF: removed"
cmd_cf --store "$S" get "$TP_LEAF"
expect_eq remove/force/gone "$RC" 1
expect_eq remove/force/services-released "$(sqlite3 "$S/store.db" \
	"SELECT count(*) FROM services WHERE thumbprint = '$TP_LEAF'")" 0
cmd_ok remove/no-services --store "$S" remove "$TP_SELF"
cmd_field remove/no-services/gone "$S" "$TP_SELF" Thumbprint "(absent)"
cmd_neg remove/unknown-thumbprint "$S" 1 'no such certificate|not found' audit \
	--store "$S" remove "$UNKNOWN_TP"
cmd_neg remove/malformed-thumbprint "$S" 2 'thumbprint' noaudit --store "$S" remove "G000000000"

# ---- log ---------------------------------------------------------------

cmd_ok log/table --store "$S" log
expect_eq log/table/header "$(head -n 1 "$OUT" | tr -s ' ')" "Time Actor Operation Thumbprint Outcome"
cmd_ok log/json --store "$S" log --json
jq .Items "$OUT" >"$T/log.json"
expect_eq log/json/fields "$(jq -r '[.[] | keys | sort | join(",")] | unique | join(";")' "$T/log.json")" \
	"Actor,Operation,Outcome,Server,Thumbprint,Time"
expect_eq log/json/times-iso8601 "$(jq -r '[.[].Time | select(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$") | not)] | length' "$T/log.json")" 0
expect_eq log/json/operations "$(jq -r '[.[].Operation] | unique | join(",")' "$T/log.json")" \
	"disable,enable,import,remove,store init"
expect_eq log/json/actor "$(jq -r '[.[].Actor | select(length == 0)] | length' "$T/log.json")" 0
expect_eq log/json/enable-row "$(jq -r --arg t "$TP_LEAF" '[.[] | select(.Operation == "enable" and
	.Thumbprint == $t and (.Outcome | test("https")))] | length > 0' "$T/log.json")" true
expect_eq log/json/failures-recorded "$(jq -r '[.[] | select(.Outcome | startswith("failed:"))] | length > 0' \
	"$T/log.json")" true
cmd_ok log/since-future --store "$S" log --since 2999-01-01 --json
expect_eq log/since-future/empty "$(jq '.Items | length' "$OUT")" 0
cmd_ok log/since-past --store "$S" log --since 2000-01-01T00:00:00Z --json
expect_eq log/since-past/all "$(jq '.Items | length' "$OUT")" "$(jq length "$T/log.json")"
cmd_neg log/since-malformed "$S" 2 'since|date' noaudit --store "$S" log --since yesterday
cmd_neg log/unexpected-argument "$S" 2 'argument|unexpected' noaudit --store "$S" log extra

# ---- usage errors ------------------------------------------------------

for c in get import export enable disable remove log; do
	cmd_neg "usage/$c-unknown-option" "$S" 2 '--bogus' noaudit --store "$S" "$c" --bogus "$TP_EC"
done
cmd_neg usage/unknown-command "$S" 2 'frobnicate' noaudit --store "$S" frobnicate
cmd_neg usage/global-unknown-option "$S" 2 '--bogus' noaudit --store "$S" --bogus get
cmd_neg usage/store-missing-argument "$S" 2 '--store.*(argument|requires|missing)|(argument|requires|missing).*--store' \
	noaudit --store
cmd_neg usage/fields-missing-argument "$S" 2 '--fields.*(argument|requires|missing)|(argument|requires|missing).*fields' \
	noaudit --store "$S" get --fields
cmd_neg usage/output-missing-argument "$S" 2 '(-o|--output).*(argument|requires|missing)|(argument|requires|missing).*(-o|output)' \
	noaudit --store "$S" export "$TP_EC" --no-key -o
cmd_neg usage/services-missing-argument "$S" 2 '--services.*(argument|requires|missing)|(argument|requires|missing).*services' \
	noaudit --store "$S" enable "$TP_EC" --services
cmd_neg usage/import-no-file "$S" 2 'file' noaudit --store "$S" import
cmd_neg usage/export-no-thumbprint "$S" 2 'thumbprint' noaudit --store "$S" export --no-key
cmd_neg usage/export-two-thumbprints "$S" 2 'thumbprint|one' noaudit --store "$S" export "$TP_EC" "$TP_EC" --no-key
cmd_ok usage/help --help
cmd_ok usage/version --version

# ---- crash safety --------------------------------------------------------

# kill -9 an import of many files in the middle of its transaction:
# afterwards the store opens, is sound, and is as it was before.  "In
# the middle" is made sure of, not hoped for: the import is stopped
# (SIGSTOP) over and over until it is caught holding the store's write
# lock (SQLite's WAL write lock, byte 120 of store.db-shm, in
# /proc/locks), and only then killed.

# cmd_in_write_tx PID STORE - stops PID; 0, PID left stopped, when it
# holds STORE's write lock; else lets it run on and returns 1.
cmd_in_write_tx() {
	local pid=$1 ino
	kill -STOP "$pid" 2>/dev/null || return 1
	ino=$(stat -c %i "$2/store.db-shm" 2>/dev/null)
	if [ -n "$ino" ] && awk -v p="$pid" -v i=":$ino" \
		'$4 == "WRITE" && $5 == p && $7 == 120 && substr($6, length($6) - length(i) + 1) == i { f = 1 }
		END { exit !f }' /proc/locks; then
		return 0
	fi
	kill -CONT "$pid" 2>/dev/null
	return 1
}
if cmd_make_many "$F" 150 >>"$T/fixtures.log" 2>&1; then
	caught=0
	for try in 1 2 3 4 5; do
		K=$(cmd_newstore "crash-$try")
		before=$(store_snapshot "$K")
		"$CERTFLEET" --store "$K" import "$F"/many/*.pem >/dev/null 2>&1 </dev/null &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			if cmd_in_write_tx "$pid" "$K"; then
				caught=1
				break
			fi
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ "$caught" = 1 ] && break
	done
	if [ "$caught" = 1 ]; then
		pass "crash/kill-9-import: caught mid-transaction (try $try)"
		expect_eq crash/kill-9-import-store-as-before "$(store_snapshot "$K")" "$before"
		check crash/kill-9-import-store-opens cf --store "$K" get --json
		expect_eq crash/kill-9-import-nothing-imported "$(jq '.Items | length' "$OUT")" 0
	else
		fail crash/kill-9-import "the import never held the write lock when looked at (5 tries)"
	fi
	# The control: the same import, not killed, imports all of them.
	K=$(cmd_newstore crash-control)
	check crash/import-not-killed cf --store "$K" import "$F"/many/*.pem
	cf --store "$K" get --json >"$T/crash.json" 2>/dev/null
	expect_eq crash/import-not-killed-all "$(jq '.Items | length' "$T/crash.json")" 150
else
	fail crash/fixtures "could not make the certificates: $(tail -n 2 "$T/fixtures.log" | cmd_line)"
fi

# ---- secrets -----------------------------------------------------------

# The private keys are sealed: no piece of their PKCS#8 DER is in the store
# files.  (Control: a piece of the certificate is, so the search works.)
cmd_hexdump() { cat "$1"/store.db "$1"/store.db-wal 2>/dev/null | xxd -p | tr -d '\n'; }
leafkey=$(openssl pkcs8 -topk8 -nocrypt -outform DER -in "$F/leaf.key" | xxd -p | tr -d '\n')
eckey=$(openssl pkcs8 -topk8 -nocrypt -outform DER -in "$F/ec.key" | xxd -p | tr -d '\n')
leafcert=$(xxd -p <"$F/leaf.der" | tr -d '\n')
for s in get export reimport services2; do
	h=$(cmd_hexdump "$ST/$s")
	found=0
	# Past the modulus (hex 76..588), which is public and in the certificate.
	for off in 700 1000 1300 1700 2200; do
		case $h in *"${leafkey:$off:48}"*) found=$((found + 1)) ;; esac
	done
	case $h in *"${eckey:72:64}"*) found=$((found + 1)) ;; esac
	expect_eq "secrets/keys-sealed-$s" "$found" 0
done
h=$(cmd_hexdump "$ST/get")
case $h in *"${leafcert:400:64}"*) pass secrets/search-control ;; *) fail secrets/search-control "the certificate's DER is not found in the store either" ;; esac
expect_eq secrets/keys-table-sealed "$(sqlite3 "$ST/get/store.db" 'SELECT hex(sealed) FROM keys' |
	tr 'A-F' 'a-f' | grep -cF "${leafkey:1000:48}")" 0

# No password anywhere: not in anything certfleet printed, not in the
# audit, not in the store files.
for pw in "$EXPORT_PW" "$ENV_PW" "$STDIN_PW" "$TTY_PW" "$CMD_P12_PASSWORD" "$ARGV_PW"; do
	where=
	grep -qaF -- "$pw" "$TRANSCRIPT" && where="$where output"
	for s in "$ST"/*/; do
		sqlite3 "$s/store.db" 'SELECT * FROM audit' 2>/dev/null | grep -qF -- "$pw" && where="$where audit:$(basename "$s")"
		for f in "$s"store.db "$s"store.db-wal "$s"master.key; do
			[ -f "$f" ] && grep -qaF -- "$pw" "$f" && where="$where $(basename "$s")/$(basename "$f")"
		done
	done
	if [ -z "$where" ]; then
		pass "secrets/password-nowhere-${pw%%-*}"
	else
		fail "secrets/password-nowhere-${pw%%-*}" "found in:$where"
	fi
done

e2e_done
