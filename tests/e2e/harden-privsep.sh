#!/usr/bin/env bash
# harden-privsep.sh - issue 11, item 9: outside bytes are parsed in a
# process of their own, and the shipped unit confines the agent.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/harden-privsep.sh
#
# How the parser is watched: an import sends PKCS#12 files whose MAC,
# certificate safe and key are each derived with 1,000,000 iterations
# (the most the reader accepts), so each parser process spends about a
# second of CPU inside the key derivation.  The test polls the agent's
# children and stops (SIGSTOP) the first `certfleetd parse` that has
# used 0.25 s of CPU: starting and confining itself takes a few
# milliseconds, so by then it is deriving keys from the outside bytes.  Frozen there,
# its /proc is read: the status (uid, no_new_privs, seccomp,
# capabilities), its fds, its mappings and, as root, its memory, which
# must not hold the store's master key (the agent's does: checked as a
# control).  Then SIGCONT, and the import must complete.  The same
# catch, then SIGSEGV, is the crash: that import fails with a message
# naming the signal and the file, the store is unchanged, and the agent
# answers a get and a following import.
#
# Run as root (the agent is root in production, and reading another
# process's memory needs it); as another user the uid and memory checks
# are skipped with a note.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
export CF_TIMEOUT=90
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEETD_CONFIG NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1

# ---- the shipped unit ----------------------------------------------------

UNIT=$E2E_ROOT/packaging/certfleetd.service
if systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
	score=$(systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
		pass "unit/exposure-at-most-3.0 ($score)"
	else
		fail "unit/exposure-at-most-3.0" "systemd-analyze says '${score:-nothing}'"
		systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1 | grep -v '^✓' | head -40
	fi
else
	echo "# unit: systemd-analyze security --offline not available: score not checked"
fi

# ---- the inputs ------------------------------------------------------------

mkdir -p "$T/in"
pwfile "$T/in/pw" "privsep"
# selfsigned NAME - an EC P-256 self-signed certificate and key.
selfsigned() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/in/$1.key" -out "$T/in/$1.pem" -subj "/CN=$1.example.com" \
		-days 30 2>/dev/null
}
# slow_p12 NAME - NAME.p12, every derivation at 1,000,000 iterations.
slow_p12() {
	selfsigned "$1" &&
		openssl pkcs12 -export -in "$T/in/$1.pem" -inkey "$T/in/$1.key" \
			-iter 1000000 -passout "file:$T/in/pw" -out "$T/in/$1.p12"
}
for n in s1 s2 s3 crash; do
	slow_p12 "$n" || { fail "inputs/$n" "openssl could not make $n.p12"; e2e_done; }
done
selfsigned plain
selfsigned old
openssl pkcs12 -export -legacy -in "$T/in/old.pem" -inkey "$T/in/old.key" \
	-passout "file:$T/in/pw" -out "$T/in/old.p12" 2>/dev/null
printf 'not a certificate\n' >"$T/in/junk.pem"

# ---- the agent -------------------------------------------------------------

agent_conf p
if ! cfd init --config "$T/p.conf" >"$T/init.out" 2>&1; then
	fail "init" "certfleetd init failed"
	show "$T/init.out"
	e2e_done
fi
agent_start p || e2e_done
AP=${APID[p]}
STATE=$T/p
if ! SP=$(agent_store_pid p); then
	fail "store/started" "agent $AP has no 'certfleetd store' child"
	e2e_done
fi
pass "store/started (pid $SP, a child of agent $AP)"
export CERTFLEET_SOCKET=$SOCKDIR/p.sock

# catch_parser - waits (60 s at most) for a child `certfleetd parse` of
# the agent's store process that has used 0.25 s of CPU, stops it,
# prints its pid.
catch_parser() {
	local c ticks
	for _ in $(seq 3000); do
		for c in $(pgrep -P "$SP"); do
			tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q '^certfleetd parse' ||
				continue
			# utime and stime, fields 14 and 15 (the name has no space)
			ticks=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null)
			if [ "${ticks:-0}" -ge 25 ] && kill -STOP "$c" 2>/dev/null; then
				echo "$c"
				return 0
			fi
		done
		sleep 0.02
	done
	return 1
}

# key_copies PID - how many times the master key's bytes are in PID's
# readable memory.
key_copies() {
	python3 - "$1" "$STATE/store/master.key" <<-'EOF'
		import sys
		pid, key = sys.argv[1], open(sys.argv[2], 'rb').read()
		n = 0
		with open(f'/proc/{pid}/maps') as maps, \
		     open(f'/proc/{pid}/mem', 'rb', 0) as mem:
		    for line in maps:
		        span, perm = line.split()[:2]
		        if 'r' not in perm or line.rstrip().endswith('[vvar]'):
		            continue
		        lo, hi = (int(x, 16) for x in span.split('-'))
		        try:
		            mem.seek(lo)
		            n += mem.read(hi - lo).count(key)
		        except (OSError, ValueError, OverflowError):
		            pass
		print(n)
	EOF
}

# ---- a parser at work, frozen and read -------------------------------------

cf import "$T/in/s1.p12" "$T/in/s2.p12" "$T/in/s3.p12" \
	--password-file "$T/in/pw" >"$T/imp1.out" 2>"$T/imp1.err" &
IMP=$!
if ! C=$(catch_parser); then
	fail "parser/caught" "no 'certfleetd parse' child of the store process used 0.25 s of CPU"
	wait "$IMP"
	e2e_done
fi
pass "parser/caught (pid $C, a child of store process $SP)"
st=/proc/$C/status
expect_eq "parser/no-new-privs" "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" 1
expect_eq "parser/seccomp-filter" "$(awk '/^Seccomp:/ { print $2 }' "$st")" 2
expect_eq "agent/no-seccomp (control)" "$(awk '/^Seccomp:/ { print $2 }' "/proc/$AP/status")" 0
if [ "$ROOT" = 1 ]; then
	nobody=$(id -u nobody 2>/dev/null || echo 65534)
	expect_eq "parser/uid-nobody" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" \
		"$nobody $nobody $nobody $nobody"
	expect_eq "parser/no-groups" "$(awk '/^Groups:/ { print $2 }' "$st")" ""
	expect_eq "parser/no-capabilities" "$(awk '/^CapEff:/ { print $2 }' "$st")" 0000000000000000
	expect_eq "store/uid-root (control)" "$(awk '/^Uid:/ { print $3 }' "/proc/$SP/status")" 0
	if setpriv --reuid="$nobody" --regid="$nobody" --clear-groups \
		test -w "$STATE" -o -r "$STATE/store/master.key" 2>/dev/null; then
		fail "parser/no-access-to-state" "uid $nobody can write $STATE or read master.key"
	else
		pass "parser/no-access-to-state"
	fi
else
	echo "# not root: the uid, capability and memory checks are skipped"
fi
fds=$(ls "/proc/$C/fd" | tr '\n' ' ')
expect_eq "parser/only-fd-0" "$fds" "0 "
if readlink "/proc/$C/fd/0" | grep -q '^socket:'; then
	pass "parser/fd-0-is-its-socket"
else
	fail "parser/fd-0-is-its-socket" "$(readlink "/proc/$C/fd/0")"
fi
if ls -l "/proc/$SP/fd" | grep -q "$STATE/store/store.db"; then
	pass "store/store-fd-open (control)"
else
	fail "store/store-fd-open (control)" "the store process has no fd on store.db"
fi
# (It holds the owner lock, store/owner.lock, which holds nothing.)
if ls -l "/proc/$AP/fd" | grep -Eq "$STATE/store/(store\.db|master\.key)"; then
	fail "network/no-store-fd" "$(ls -l "/proc/$AP/fd" | grep "$STATE/store/")"
else
	pass "network/no-store-fd"
fi
if grep -q "$STATE" "/proc/$C/maps"; then
	fail "parser/no-state-mapped" "$(grep "$STATE" "/proc/$C/maps" | head -3)"
else
	pass "parser/no-state-mapped"
fi
if grep -q "$STATE/store" "/proc/$SP/maps"; then
	pass "store/store-mapped (control)"
else
	fail "store/store-mapped (control)" "no mapping of $STATE/store in the store process"
fi
if grep -q "$STATE" "/proc/$AP/maps"; then
	fail "network/no-state-mapped" "$(grep "$STATE" "/proc/$AP/maps" | head -3)"
else
	pass "network/no-state-mapped"
fi
if [ "$ROOT" = 1 ]; then
	expect_eq "parser/no-master-key-in-memory" "$(key_copies "$C")" 0
	expect_eq "network/no-master-key-in-memory" "$(key_copies "$AP")" 0
	n=$(key_copies "$SP")
	if [ "${n:-0}" -ge 1 ]; then
		pass "store/master-key-in-memory (control: $n copies)"
	else
		fail "store/master-key-in-memory (control)" "found $n copies"
	fi
fi
kill -CONT "$C"
rc=0
wait "$IMP" || rc=$?
expect_eq "import/completes-after-the-freeze" "$rc" 0
expect_eq "import/three-imported" "$(grep -c ' imported$' "$T/imp1.out")" 3

# ---- formats through the parser --------------------------------------------

cat "$T/in/plain.pem" "$T/in/plain.key" >"$T/in/plain-both.pem"
check "import/pem-cert-and-key" cf import "$T/in/plain-both.pem"
check "import/legacy-rc2-pkcs12" cf import "$T/in/old.p12" --password-file "$T/in/pw"
check_fails "import/junk-refused" 1 "no certificate or private key found" \
	cf import "$T/in/junk.pem"
printf 'wrong' >"$T/in/wrongpw"
chmod 600 "$T/in/wrongpw"
check_fails "import/wrong-password-said" 1 "password" \
	cf import "$T/in/s1.p12" --password-file "$T/in/wrongpw"

# ---- a parser that crashes ---------------------------------------------------

store_snapshot "$STATE/store" >"$T/before"
cf import "$T/in/crash.p12" --password-file "$T/in/pw" \
	>"$T/imp2.out" 2>"$T/imp2.err" &
IMP=$!
if C=$(catch_parser); then
	kill -SEGV "$C"
	kill -CONT "$C"
	rc=0
	wait "$IMP" || rc=$?
	expect_eq "crash/import-fails" "$rc" 1
	if grep -q "parser process died (signal 11.*crash.p12" "$T/imp2.err"; then
		pass "crash/message-names-signal-and-file"
	else
		fail "crash/message-names-signal-and-file" "$(cat "$T/imp2.err")"
	fi
	store_snapshot "$STATE/store" >"$T/after"
	if cmp -s "$T/before" "$T/after"; then
		pass "crash/store-unchanged"
	else
		fail "crash/store-unchanged" "$(diff "$T/before" "$T/after" | head -5)"
	fi
else
	fail "crash/caught" "no parser to kill"
	wait "$IMP"
fi
if kill -0 "$AP" 2>/dev/null; then
	pass "crash/agent-alive"
else
	fail "crash/agent-alive" "the agent is gone"
fi
n=$(cf get --json 2>/dev/null | jq '.Items | length')
expect_eq "crash/get-answers (6 certificates)" "$n" 6
if cf import "$T/in/crash.p12" --password-file "$T/in/pw" >"$T/imp3.out" 2>&1 &&
	grep -q ' imported$' "$T/imp3.out"; then
	pass "crash/next-import-works"
else
	fail "crash/next-import-works" "$(cat "$T/imp3.out")"
fi
if pgrep -P "$SP" >/dev/null; then
	fail "parser/none-left" "the store process still has children: $(pgrep -P "$SP" | tr '\n' ' ')"
else
	pass "parser/none-left"
fi

# ---- the network process, confined ------------------------------------------

# Every thread of it: no capability left, bounding set included, and
# no_new_privs (confine.c); the store process keeps its own (control).
bad=
for task in /proc/"$AP"/task/*; do
	grep -Eq '^CapEff:[[:space:]]+0+$' "$task/status" &&
		grep -Eq '^CapBnd:[[:space:]]+0+$' "$task/status" &&
		grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$task/status" ||
		bad="$bad ${task##*/}"
done
expect_eq "network/no-capabilities-in-any-thread" "$bad" ""
if [ "$ROOT" = 1 ]; then
	if grep -Eq '^CapEff:[[:space:]]+0+$' "/proc/$SP/status"; then
		fail "store/keeps-capabilities (control)" "the store process has none"
	else
		pass "store/keeps-capabilities (control)"
	fi
fi

# Landlock: code running in the network process (what an exploit of its
# TLS or HTTP handling would get) cannot open the master key, although
# the process is uid 0, the key's owner.  gdb makes it try: open(2) must
# fail with EACCES (13); the store process, asked the same, opens it
# (the control).  Without gdb, or as another user, not checked.
if [ "$ROOT" = 1 ] && command -v gdb >/dev/null; then
	# try_open PID FILE - prints what open(FILE, O_RDONLY) returned in
	# PID, and errno after it.
	try_open() {
		timeout 60 gdb -p "$1" -batch -ex "call (int)open(\"$2\", 0)" \
			-ex 'call (int)*(int *)__errno_location()' 2>/dev/null |
			sed -n 's/^\$[0-9]* = //p' | tr '\n' ' '
	}
	got=$(try_open "$AP" "$STATE/store/master.key")
	expect_eq "network/cannot-open-the-master-key (open: -1, errno EACCES)" "$got" "-1 13 "
	got=$(try_open "$AP" "$STATE/agent.key")
	expect_eq "network/cannot-open-the-identity-key-file" "${got%% *}" "-1"
	got=$(try_open "$SP" "$STATE/store/master.key")
	if [ "${got%% *}" -ge 0 ] 2>/dev/null; then
		pass "store/opens-the-master-key (control: fd ${got%% *})"
		timeout 60 gdb -p "$SP" -batch -ex "call (int)close(${got%% *})" >/dev/null 2>&1
	else
		fail "store/opens-the-master-key (control)" "open gave '$got'"
	fi
	if kill -0 "$AP" "$SP" 2>/dev/null; then
		pass "network/survives-the-probe"
	else
		fail "network/survives-the-probe" "a process is gone"
	fi
else
	echo "# landlock: not root or no gdb; the open check is skipped"
fi

# A reload reads the configuration and admin_ca through the store process:
# a configuration file replaced (a new inode, as editors write) with an
# admin_ca in the state directory is read; a missing one is refused.
cp "$T/p.conf" "$T/p.conf.orig"
make_pki "$T/pki" >/dev/null 2>&1
cp "$T/pki/root.pem" "$STATE/admin-ca.pem"
{ cat "$T/p.conf.orig"; echo "admin_ca = $STATE/admin-ca.pem"; } >"$T/p.conf.new"
chmod 600 "$T/p.conf.new"
mv "$T/p.conf.new" "$T/p.conf"
kill -HUP "$AP"
if wait_until 10 grep -q "reloaded from .*(admin_ca $STATE/admin-ca.pem)" "$T/p.log"; then
	pass "reload/through-the-store-process"
else
	fail "reload/through-the-store-process" "$(tail -3 "$T/p.log")"
fi
{ cat "$T/p.conf.orig"; echo "admin_ca = $T/missing-ca.pem"; } >"$T/p.conf.new"
chmod 600 "$T/p.conf.new"
mv "$T/p.conf.new" "$T/p.conf"
kill -HUP "$AP"
if wait_until 10 grep -q "reload: .*admin_ca $T/missing-ca.pem: No such file.*running configuration stays" "$T/p.log"; then
	pass "reload/missing-admin-ca-refused"
else
	fail "reload/missing-admin-ca-refused" "$(tail -3 "$T/p.log")"
fi
cp "$T/p.conf.orig" "$T/p.conf"

# ---- the store process crashes -----------------------------------------------

# The agent cannot go on without it: it says so and stops with status 1,
# for its service manager to start it again; the store is intact and the
# next start serves it.
store_snapshot "$STATE/store" >"$T/before"
kill -SEGV "$SP"
rc=0
wait_until 20 bash -c "! kill -0 $AP 2>/dev/null"
wait "$AP" 2>/dev/null || rc=$?
expect_eq "store-crash/agent-stops-with-1" "$rc" 1
if grep -q "store process (pid $SP) died (signal 11" "$T/p.log"; then
	pass "store-crash/logged"
else
	fail "store-crash/logged" "$(tail -5 "$T/p.log")"
fi
store_snapshot "$STATE/store" >"$T/after"
if cmp -s "$T/before" "$T/after"; then
	pass "store-crash/store-unchanged"
else
	fail "store-crash/store-unchanged" "$(diff "$T/before" "$T/after" | head -5)"
fi
agent_start p || e2e_done
n=$(cf get --json 2>/dev/null | jq '.Items | length')
expect_eq "store-crash/restarted-serves-the-store (7 certificates)" "$n" 7

agent_stop p
e2e_done
