#!/usr/bin/env bash
# harden-mem.sh - what a crash, a core dump or a look at the agent's memory
# may find of its secrets, and the configuration it refuses to trust.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/harden-mem.sh
#
# - kill -SEGV of a running agent writes no core: as root, with
#   /proc/sys/kernel/core_pattern pointed at the scratch directory for the
#   moment of the crash (restored at once, and by the EXIT trap) and
#   `ulimit -c unlimited` in the agent's shell.  A control process killed
#   the same way must leave a core, or the check proves nothing.  When the
#   pattern cannot be changed (not root, or a pipe to a crash collector we
#   must not disturb), the check falls back to /proc/PID/limits.
# - gdb's gcore, as root, still reads a non-dumpable process (root has
#   CAP_SYS_PTRACE): the core it writes must not hold the master key,
#   whose copies live in pages marked MADV_DONTDUMP.
# - after an import (PKCS#12) and an export (PEM) of an EC key through the
#   agent, the agent's whole readable memory (/proc/PID/mem, the
#   MADV_DONTDUMP pages included) holds no copy of the private scalar.
# - agent.conf writable by group or others, or owned by another user, or
#   in a directory others may write to, is refused (exit 1) with the
#   reason; the same file made safe is accepted.
# - an error about the last [service] section reads right (it used to be
#   garbled by a vsnprintf whose source was its own destination).
# - an empty master.key (an older version killed while making it) is
#   refused with the way back from a backup, and left as it is.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
unset CERTFLEETD_CONFIG NOTIFY_SOCKET

for tool in "$CERTFLEETD" curl openssl python3 jq; do
	if ! command -v "$tool" >/dev/null; then
		fail "$E2E_NAME: $tool" "not found"
		exit 1
	fi
done

# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

PATTERN_FILE=/proc/sys/kernel/core_pattern
SAVED_PATTERN=
restore_pattern() {
	if [ -n "$SAVED_PATTERN" ]; then
		printf '%s\n' "$SAVED_PATTERN" >"$PATTERN_FILE"
		SAVED_PATTERN=
	fi
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	restore_pattern
	agents_cleanup
}
trap cleanup EXIT

# scan PID NEEDLE_HEX... - prints, for each needle, how many times its
# bytes occur in the readable memory of PID (/proc/PID/mem, every mapping
# but the kernel's), in either byte order: a BIGNUM keeps a scalar as
# little-endian words, least significant first, so its bytes lie there
# reversed.
scan() {
	python3 - "$@" <<-'EOF'
		import sys
		pid = sys.argv[1]
		needles = [bytes.fromhex(h) for h in sys.argv[2:]]
		counts = [0] * len(needles)
		try:
		    mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
		except PermissionError:
		    print("denied")
		    sys.exit(0)
		with open(f"/proc/{pid}/maps") as maps, mem:
		    for line in maps:
		        f = line.split()
		        if f[1][0] != "r" or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
		            continue
		        lo, hi = (int(x, 16) for x in f[0].split("-"))
		        try:
		            mem.seek(lo)
		            data = mem.read(hi - lo)
		        except OSError:
		            continue
		        for i, n in enumerate(needles):
		            counts[i] += data.count(n) + data.count(n[::-1])
		print(" ".join(str(c) for c in counts))
	EOF
}

# count_in FILE NEEDLE_HEX - occurrences of the bytes in FILE, in either
# byte order (as scan).
count_in() {
	python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); n = bytes.fromhex(sys.argv[2]); print(d.count(n) + d.count(n[::-1]))' "$1" "$2"
}

# api PATH BODY - POST over the agent's Unix socket (root there is admin);
# status into $CODE, body into $OUT.
api() {
	CODE=$(curl -s -o "$OUT" -w '%{http_code}' --max-time 60 \
		--unix-socket "$SOCKDIR/m1.sock" -X POST --data-binary "@$2" \
		"http://agent$1" 2>"$ERR") || true
}

# ---- the agent ---------------------------------------------------------

agent_conf m1
check "init" cfd init --config "$T/m1.conf"
MASTER=$(od -An -tx1 -v "$T/m1/store/master.key" 2>/dev/null | tr -d ' \n')
if [ "${#MASTER}" -ne 64 ]; then
	fail "master key" "$T/m1/store/master.key is not 32 bytes"
	e2e_done
fi

# Cores allowed in this shell, so that only the agent can forbid them.
ulimit -S -c unlimited 2>/dev/null || ulimit -S -c "$(ulimit -H -c)"
agent_start m1 || e2e_done
PID=${APID[m1]}
if ! SPID=$(agent_store_pid m1); then
	fail "store process" "agent $PID has no 'certfleetd store' child"
	e2e_done
fi

for p in "network:$PID" "store:$SPID"; do
	if grep -Eq '^Max core file size +0 +0 ' "/proc/${p#*:}/limits"; then
		pass "limits: the ${p%%:*} process allows no core file (soft and hard 0)"
	else
		fail "limits: the ${p%%:*} process allows no core file (soft and hard 0)" \
			"$(grep 'core' "/proc/${p#*:}/limits")"
	fi
done

# ---- import and export an EC key through the agent ----------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/ec.key" -out "$T/ec.crt" -subj "/CN=mem.example.com" \
	-days 2 2>/dev/null
openssl pkcs12 -export -in "$T/ec.crt" -inkey "$T/ec.key" \
	-passout pass:import-pw -out "$T/ec.p12" 2>/dev/null
SCALAR=$(openssl pkey -in "$T/ec.key" -noout -text 2>/dev/null |
	sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n')
# openssl prints a leading 00 when the top bit is set: the scalar is the
# last 32 bytes.
SCALAR=${SCALAR: -64}
if [ "${#SCALAR}" -ne 64 ]; then
	fail "ec scalar" "no 32-byte scalar in openssl pkey -text: '$SCALAR'"
	e2e_done
fi
THUMB=$(thumb "$T/ec.crt")
# The agent's identity key: both processes hold it (TLS, sealed
# transfers); OpenSSL's secure heap keeps it out of a dump.
ISCALAR=$(openssl pkey -in "$T/m1/agent.key" -noout -text 2>/dev/null |
	sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n')
ISCALAR=${ISCALAR: -64}
if [ "${#ISCALAR}" -ne 64 ]; then
	fail "identity scalar" "no 32-byte scalar in $T/m1/agent.key"
	e2e_done
fi

printf '{"files":[{"name":"ec.p12","data":"%s"}],"password":"import-pw","exportable":true}' \
	"$(base64 -w0 "$T/ec.p12")" >"$T/import.json"
api /v1/import "$T/import.json"
if [ "$CODE" = 200 ] && jq -e '.results[0].Result == "imported"' "$OUT" >/dev/null; then
	pass "import: the EC key and certificate, as PKCS#12"
else
	fail "import: the EC key and certificate, as PKCS#12" "HTTP $CODE" "$(cat "$OUT")"
fi
printf '{"thumbprint":"%s","format":"pem","password":"export-pw"}' "$THUMB" >"$T/export.json"
api /v1/export "$T/export.json"
jq -r .data "$OUT" 2>/dev/null | base64 -d >"$T/exported.pem" 2>/dev/null
if [ "$CODE" = 200 ] && openssl pkey -in "$T/exported.pem" -passin pass:export-pw \
	-noout -text 2>/dev/null | tr -d ' :\n' | grep -q "$SCALAR"; then
	pass "export: the EC key, as encrypted PEM, is the imported one"
else
	fail "export: the EC key, as encrypted PEM, is the imported one" "HTTP $CODE" "$(head -c 300 "$OUT")"
fi
printf '{"thumbprint":"%s","format":"p12","password":"export-pw"}' "$THUMB" >"$T/export2.json"
api /v1/export "$T/export2.json"
expect_eq "export: and as PKCS#12" "$CODE" 200

# The scan sees what is there: the master key, which the store process
# holds while it runs, must be found there (else the scan reads nothing and
# proves nothing), and nowhere in the network process, which parses every
# byte a client sends.  Only root may look: neither process is dumpable, so
# a process of the same user cannot read their memory.
read -r n_scalar n_master <<<"$(scan "$SPID" "$SCALAR" "$MASTER")"
read -r net_scalar net_master <<<"$(scan "$PID" "$SCALAR" "$MASTER")"
if [ "$(id -u)" != 0 ]; then
	expect_eq "memory: the store process's memory is closed to its own user" \
		"$n_scalar" denied
elif [ "${n_master:-0}" -ge 1 ]; then
	pass "memory: the scan finds the master key the store process holds ($n_master)"
else
	fail "memory: the scan finds the master key the store process holds" "found ${n_master:-nothing}"
fi
if [ "$(id -u)" = 0 ]; then
	expect_eq "memory: no copy of the EC private scalar after import and export" \
		"${n_scalar:-?}" 0
	expect_eq "memory: the network process holds no master key" "${net_master:-?}" 0
	expect_eq "memory: nor the EC private scalar it carried" "${net_scalar:-?}" 0
fi

# ---- gcore: root can still dump them; the master key is not in a dump ----

if command -v gcore >/dev/null && [ "$(id -u)" = 0 ]; then
	for p in "network:$PID" "store:$SPID"; do
		n=${p%%:*}
		p=${p#*:}
		timeout 60 gcore -o "$T/gcore" "$p" >"$T/gcore.log" 2>&1 || true
		if [ -s "$T/gcore.$p" ]; then
			expect_eq "gcore/$n: the dump holds no copy of the master key" \
				"$(count_in "$T/gcore.$p" "$MASTER")" 0
			expect_eq "gcore/$n: nor of the EC private scalar" \
				"$(count_in "$T/gcore.$p" "$SCALAR")" 0
			expect_eq "gcore/$n: nor of the agent identity's private scalar" \
				"$(count_in "$T/gcore.$p" "$ISCALAR")" 0
			rm -f "$T/gcore.$p"
		else
			pass "gcore/$n: refused ($(tail -1 "$T/gcore.log"))"
		fi
	done
	if kill -0 "$PID" "$SPID" 2>/dev/null; then
		pass "gcore: the agent survives it"
	else
		fail "gcore: the agent survives it" "it is gone"
	fi
else
	echo "# gcore: not root or no gdb; the dump check is left out"
fi

# ---- kill -SEGV writes no core ------------------------------------------

CORES=$T/cores
mkdir -p "$CORES"
if [ "$(id -u)" = 0 ] && [ -w "$PATTERN_FILE" ] &&
	[ "$(head -c1 "$PATTERN_FILE")" != "|" ]; then
	SAVED_PATTERN=$(cat "$PATTERN_FILE")
	printf '%s\n' "$CORES/core.%p" >"$PATTERN_FILE"
	# The control: a process that does nothing about cores leaves one.
	# Killed only once it is sleep: a bash subshell killed before its
	# exec would run this script's EXIT trap.
	(trap - EXIT INT TERM && exec sleep 60) &
	CTL=$!
	for _ in $(seq 100); do
		[ "$(cat "/proc/$CTL/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.05
	done
	kill -SEGV "$CTL"
	wait "$CTL" 2>/dev/null
	kill -SEGV "$SPID" "$PID"
	wait "$PID" 2>/dev/null
	status=$?
	wait_until 10 bash -c "! kill -0 $SPID 2>/dev/null"
	restore_pattern
	if [ -s "$CORES/core.$CTL" ]; then
		pass "core: the control process leaves a core in $CORES"
	else
		fail "core: the control process leaves a core" "$(ls -l "$CORES")"
	fi
	expect_eq "core: SIGSEGV ends the agent" "$status" 139
	if [ -e "$CORES/core.$PID" ] || [ -e "$CORES/core.$SPID" ]; then
		fail "core: neither process leaves a core after SIGSEGV" "$(ls -l "$CORES")"
	else
		pass "core: neither process leaves a core after SIGSEGV"
	fi
else
	echo "# core: $PATTERN_FILE cannot be changed here; /proc/PID/limits checked above"
	agent_kill m1
fi
unset "APID[m1]"
rm -rf "$CORES"

# ---- the configuration it trusts -----------------------------------------

C=$T/conf
mkdir -p "$C"
chmod 755 "$C"
cat >"$C/agent.conf" <<EOF
[agent]
name = conf1
listen = 127.0.0.1:0
socket = $SOCKDIR/conf1.sock
state = $T/conf1
EOF
chmod 644 "$C/agent.conf"
check "config: init with it" cfd init --config "$C/agent.conf"
check "config: 0644, owned by root, accepted" cfd check-config --config "$C/agent.conf"
chmod 664 "$C/agent.conf"
check_fails "config: group-writable refused" 1 "writable by group or others" \
	cfd check-config --config "$C/agent.conf"
check_fails "config: run refuses it too" 1 "writable by group or others" \
	cfd run --config "$C/agent.conf"
chmod 646 "$C/agent.conf"
check_fails "config: world-writable refused" 1 "chmod go-w" \
	cfd check-config --config "$C/agent.conf"
chmod 644 "$C/agent.conf"
chmod 777 "$C"
check_fails "config: a directory others may write to refused" 1 \
	"$C: .*writable by group or others" \
	cfd check-config --config "$C/agent.conf"
chmod 1777 "$C"
check "config: a sticky directory (as /tmp) accepted" \
	cfd check-config --config "$C/agent.conf"
chmod 755 "$C"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$C/agent.conf"
	check_fails "config: owned by another user refused" 1 "owned by nobody" \
		cfd check-config --config "$C/agent.conf"
	chown root "$C/agent.conf"
	chown nobody "$C"
	check_fails "config: in a directory another user owns refused" 1 \
		"$C: .*owned by nobody" cfd check-config --config "$C/agent.conf"
	chown root "$C"
	check "config: owned by root again, accepted" \
		cfd check-config --config "$C/agent.conf"
fi

# ---- a master key cut short -----------------------------------------------

# What an older version left when killed between creating master.key and
# writing it: an empty file.  Refused, with the way back, and left as it is
# (a new key in its place would lose every sealed key for good).
: >"$T/conf1/store/master.key"
check_fails "master key: an empty one is refused, restore named" 1 \
	"found 0 .*certfleetd restore, see docs/backup.md" \
	cfd run --config "$C/agent.conf"
expect_eq "master key: the empty file is left as it is" \
	"$(stat -c %s "$T/conf1/store/master.key")" 0
ls "$T/conf1/store" >"$T/store.ls"
if grep -q 'master.key.' "$T/store.ls"; then
	fail "master key: no temporary file beside it" "$(cat "$T/store.ls")"
else
	pass "master key: no temporary file beside it"
fi

# An error about the last section: it used to read
# "FILE: FILE: ind (nginx, ...", its start overwritten by its own prefix.
printf '[agent]\nname = x\n[service web]\n' >"$C/bad.conf"
check_fails "config: the last section's error reads right" 1 \
	"^certfleetd: check-config: $C/bad.conf: \\[service web\\]: set kind \\(nginx" \
	cfd check-config --config "$C/bad.conf"
if grep -q "bad.conf: $C/bad.conf" "$ERR"; then
	fail "config: the file is named once" "$(cat "$ERR")"
else
	pass "config: the file is named once"
fi

e2e_done
