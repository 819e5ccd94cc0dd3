# shellcheck shell=bash
# lib.sh - helpers for the end-to-end scripts (sourced, never run).
#
#   . "$(dirname "$0")/lib.sh"
#
# Gives a script: a private temporary directory $T removed on exit; PASS and
# FAIL lines (pass, fail, check, check_fails); cf, the certfleet under test
# ($CERTFLEET, else build/certfleet of this tree); store_snapshot, to prove
# that a failed command left a store as it was; a throw-away test PKI
# made with openssl (make_pki, make_leaf); loopback ports the kernel hands out
# (free_ports); and wait_until, the bounded poll for a condition.  A script ends with `e2e_done`, which exits
# 1 when anything failed.
#
# Output contract (scripts/run-tests.sh counts it): one "PASS name" or
# "FAIL name: detail" line per check on stdout; the details of a failure
# follow on lines indented by four spaces.

set -u
set -o pipefail
# Tables are cut to $COLUMNS when it is set: a test that wants a width
# sets it for its own commands.
unset COLUMNS

E2E_NAME=$(basename "$0" .sh)
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${CERTFLEET:=$E2E_ROOT/build/certfleet}"
export CERTFLEET
E2E_FAILED=0
E2E_PASSED=0

# The private scratch directory; everything the tests make lives in it.
T=$(mktemp -d "${TMPDIR:-/tmp}/cf-e2e-$E2E_NAME.XXXXXX") || exit 1
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Last command's output, for the checks below and for callers.
OUT=$T/.out
ERR=$T/.err
: >"$OUT"
: >"$ERR"

pass() {
	echo "PASS $1"
	E2E_PASSED=$((E2E_PASSED + 1))
}

# fail NAME DETAIL... - the first line is one FAIL line; DETAIL lines (and
# the last command's stderr, if any is relevant, is the caller's to add).
fail() {
	local name=$1
	shift
	echo "FAIL $name: ${1:-failed}"
	if [ $# -gt 1 ]; then
		shift
		printf '%s\n' "$@" | sed 's/^/    /'
	fi
	E2E_FAILED=$((E2E_FAILED + 1))
}

# Prints the first lines of a file, indented, for failure details.
show() {
	[ -s "$1" ] && head -n "${2:-8}" "$1" | sed 's/^/    | /'
	return 0
}

# run CMD... - runs CMD with stdout in $OUT and stderr in $ERR; sets RC.
run() {
	RC=0
	"$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
	return 0
}

# check NAME CMD... - CMD must succeed.
check() {
	local name=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$name"
		return 0
	fi
	fail "$name" "exit $RC from: $*"
	show "$ERR"
	return 1
}

# check_fails NAME EXPECTED_EXIT PATTERN CMD... - CMD must exit with
# EXPECTED_EXIT and its stderr must match the extended regex PATTERN.
check_fails() {
	local name=$1 want=$2 pat=$3
	shift 3
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		fail "$name" "exit $RC, expected $want, from: $*"
		show "$ERR"
		return 1
	fi
	if ! grep -qE -- "$pat" "$ERR"; then
		fail "$name" "stderr does not match /$pat/"
		show "$ERR"
		return 1
	fi
	pass "$name"
}

# expect_eq NAME GOT WANT - a value comparison as one check.
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got '$2', expected '$3'"
	fi
}

# The certfleet under test, under a timeout (CF_TIMEOUT seconds, default
# 120) so that a hang, say on a password prompt, fails instead of blocking.
cf() {
	timeout -k 5 "${CF_TIMEOUT:-120}" "$CERTFLEET" "$@"
}

# Exits with one FAIL line when there is no certfleet to test: a missing
# binary is a failure, not a skip.
require_certfleet() {
	if [ ! -x "$CERTFLEET" ]; then
		fail "$E2E_NAME: certfleet binary" "not found at $CERTFLEET (run make)"
		exit 1
	fi
}

# The end: exit status 1 when anything failed.
e2e_done() {
	echo "# $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" -eq 0 ]
	exit $?
}

# pwfile FILE PASSWORD - writes the password bytes (no newline), mode 0600.
pwfile() {
	(umask 077 && printf '%s' "$2" >"$1")
}

# require_tools TOOL... - a FAIL line and the end of the script for the
# first TOOL that is not on the PATH (scripts/setup-deps.sh installs them).
require_tools() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			fail "$E2E_NAME: $tool" "not found (scripts/setup-deps.sh installs it)"
			e2e_done
		fi
	done
}

# free_ports N - N loopback ports the kernel gave out just now (bound to
# port 0, then released), one per line: for servers whose port must be
# written into a configuration before they start.
free_ports() {
	python3 - "$1" <<-'EOF'
		import socket, sys
		socks = []
		for _ in range(int(sys.argv[1])):
		    s = socket.socket()
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		print("\n".join(str(s.getsockname()[1]) for s in socks))
	EOF
}

# wait_until SECONDS COMMAND... - runs COMMAND (quietly) every 50 ms until
# it succeeds or SECONDS (a whole or decimal number) have passed: status
# 0 when it succeeded, 1 when time ran out.  The bounded poll that stands
# in for a fixed sleep:  wait_until 5 grep -q 'reloaded' "$T/agent.err"
wait_until() {
	local secs=$1 now end
	shift
	now=${EPOCHREALTIME/./}
	end=$((now + $(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000000 }')))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# port_free PORT - whether a listener could bind 127.0.0.1:PORT now (as a
# server does, with SO_REUSEADDR): for `wait_until 5 port_free "$PORT"`
# after a server on it was killed.
port_free() {
	python3 - "$1" <<-'EOF'
		import socket, sys
		s = socket.socket()
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		try:
		    s.bind(("127.0.0.1", int(sys.argv[1])))
		except OSError:
		    sys.exit(1)
	EOF
}

# thumb CERT.pem - the certfleet thumbprint: SHA-1 of the DER, upper-case hex.
thumb() {
	openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/^.*=//; s/://g' |
		tr 'a-f' 'A-F'
}

# store_snapshot DIR - prints everything a failed command must not change:
# the store's files and modes (SQLite's -wal/-shm aside), the schema and
# every row of every table but audit, and SQLite's integrity check.
store_snapshot() {
	local dir=$1 db=$1/store.db t
	if [ ! -e "$db" ]; then
		echo "(no store.db)"
		find "$dir" -mindepth 1 2>/dev/null | sort
		return 0
	fi
	(cd "$dir" && find . -mindepth 1 ! -name '*-wal' ! -name '*-shm' \
		-printf '%m %P\n' | sort)
	sha256sum <"$dir/master.key" 2>/dev/null | sed 's/ .*/ master.key/'
	sqlite3 "$db" 'PRAGMA user_version; PRAGMA integrity_check;'
	# Not the audit trail, nor the trust memo: a cache of what a read
	# worked out (a Status's trust), which any read may fill.
	for t in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table'
	    AND name NOT IN ('audit', 'trust_memo') AND name NOT LIKE 'sqlite_%'
	    ORDER BY name"); do
		sqlite3 "$db" ".dump '$t'"
	done
}

# make_pki DIR - a throw-away PKI in DIR, made with openssl:
#   root.{key,pem}  RSA-2048 root CA "certfleet e2e Root CA"
#   int.{key,pem}   RSA-2048 intermediate CA, signed by the root
#   leaf.{key,pem}  RSA-2048 mail.example.com, SANs mail.example.com, mail,
#                   autodiscover.example.com, signed by the intermediate
#   ec.{key,pem}    EC P-256 ec.example.com, signed by the intermediate
#   chain.pem       intermediate then root
#   full.pem        leaf, intermediate, root
# Keys are PKCS#8 PEM, unencrypted.
make_pki() {
	local d=$1
	mkdir -p "$d"
	cat >"$d/ext.cnf" <<-'EOF'
		[req]
		distinguished_name = dn
		[dn]
		[ca]
		basicConstraints = critical, CA:TRUE
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[int]
		basicConstraints = critical, CA:TRUE, pathlen:0
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[leaf]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth, clientAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		subjectAltName = DNS:mail.example.com, DNS:mail, DNS:autodiscover.example.com
		[ec]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature
		extendedKeyUsage = serverAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		subjectAltName = DNS:ec.example.com
	EOF
	(
		set -e
		cd "$d"
		umask 077
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root.key 2>/dev/null
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out int.key 2>/dev/null
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf.key 2>/dev/null
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
		openssl req -new -x509 -key root.key -subj "/O=certfleet e2e/CN=certfleet e2e Root CA" \
			-days 3650 -sha256 -config ext.cnf -extensions ca -out root.pem
		openssl req -new -key int.key -subj "/O=certfleet e2e/CN=certfleet e2e Issuing CA" \
			-config ext.cnf -out int.csr
		openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 0x1001 \
			-days 1825 -sha256 -extfile ext.cnf -extensions int -out int.pem 2>/dev/null
		openssl req -new -key leaf.key -subj "/O=Example/CN=mail.example.com" -config ext.cnf -out leaf.csr
		openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 0x2001 \
			-days 397 -sha256 -extfile ext.cnf -extensions leaf -out leaf.pem 2>/dev/null
		openssl req -new -key ec.key -subj "/O=Example/CN=ec.example.com" -config ext.cnf -out ec.csr
		openssl x509 -req -in ec.csr -CA int.pem -CAkey int.key -set_serial 0x2002 \
			-days 397 -sha256 -extfile ext.cnf -extensions ec -out ec.pem 2>/dev/null
		cat int.pem root.pem >chain.pem
		cat leaf.pem int.pem root.pem >full.pem
		rm -f ./*.csr
		openssl verify -CAfile root.pem -untrusted int.pem leaf.pem ec.pem >/dev/null
	)
}

# make_leaf DIR NAME SERIAL - one more RSA-2048 mail.example.com leaf of
# make_pki's intermediate in DIR (the leaf extensions, 90 days, serial
# 0xSERIAL): NAME.key and NAME.pem.  For a renewal, a second certificate
# for the same names.
make_leaf() {
	(cd "$1" && umask 077 &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2.key" 2>/dev/null &&
		openssl req -new -key "$2.key" -subj "/O=Example/CN=mail.example.com" \
			-config ext.cnf -out "$2.csr" &&
		openssl x509 -req -in "$2.csr" -CA int.pem -CAkey int.key -set_serial "0x$3" \
			-days 90 -sha256 -extfile ext.cnf -extensions leaf -out "$2.pem" 2>/dev/null &&
		rm -f "$2.csr")
}
