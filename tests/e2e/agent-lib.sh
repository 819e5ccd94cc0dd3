# agent-lib.sh - sourced by the agent end-to-end scripts (after lib.sh):
# private agents on loopback, each with its own configuration, state,
# port and Unix socket, started, checked and stopped.  Not a test itself.

# Unix socket paths are at most 107 bytes: the sockets live in a short
# directory of their own, whatever $TMPDIR is.
# 0711, so that another uid can reach a socket by its name (and nothing
# else: the scratch directory $T stays 0700).
SOCKDIR=$(mktemp -d /tmp/cf-e2e-sock.XXXXXX) || exit 1
chmod 711 "$SOCKDIR"
declare -A APID=() APORT=() AFP=()

# Stops every agent still running (TERM, then KILL after 10 s), removes
# the scratch directories.
# shellcheck disable=SC2317 # run by the EXIT trap
agents_cleanup() {
	local n pid
	for n in "${!APID[@]}"; do
		pid=${APID[$n]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null # one may be stopped (SIGSTOP)
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$T" "$SOCKDIR"
}
trap agents_cleanup EXIT

# shellcheck disable=SC2317
cfd() { timeout -k 5 60 "$CERTFLEETD" "$@"; }

# agent_conf NAME [PORT] - writes $T/NAME.conf.
agent_conf() {
	cat >"$T/$1.conf" <<-EOF
		# certfleetd of the e2e test $E2E_NAME
		[agent]
		name = $1
		listen = 127.0.0.1:${2:-0}
		socket = $SOCKDIR/$1.sock
		state = $T/$1
	EOF
}

# agent_spawn NAME - certfleetd run in the background; waits (10 s at
# most) for its "listening on 127.0.0.1:PORT" line.  Sets APID and APORT;
# 1 when the agent never said it listens.
agent_spawn() {
	local n=$1 port=
	: >"$T/$n.log"
	"$CERTFLEETD" run --config "$T/$n.conf" >"$T/$n.out" 2>"$T/$n.log" </dev/null &
	APID[$n]=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/$n.log")
		[ -n "$port" ] && break
		kill -0 "${APID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	APORT[$n]=$port
	[ -n "$port" ]
}

# agent_start NAME - agent_spawn as a check: the port must accept.
agent_start() {
	local n=$1
	if ! agent_spawn "$n"; then
		fail "run/$n/ready" "no 'listening on' line within 10 s"
		show "$T/$n.log"
		return 1
	fi
	if timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${APORT[$n]}" 2>/dev/null; then
		pass "run/$n/ready"
	else
		fail "run/$n/ready" "said it listens on ${APORT[$n]}, but nothing accepts there"
		return 1
	fi
}

# agent_store_pid NAME - prints the pid of the agent's store process (its
# child `certfleetd store`, storeproc.h); 1 when it has none.
agent_store_pid() {
	local c
	for c in $(pgrep -P "${APID[$1]}" 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q '^certfleetd store '; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# agent_kill NAME [SIGNAL] - the signal (KILL) to both processes of the
# agent at once, as a crash of the service or `systemctl kill` would
# send it; waits until both are gone.
agent_kill() {
	local pid=${APID[$1]} s
	s=$(agent_store_pid "$1")
	kill "-${2:-KILL}" ${s:+"$s"} "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -z "$s" ] || wait_until 10 bash -c "! kill -0 $s 2>/dev/null"
}

# agent_stop NAME - SIGTERM; it must stop within 15 s and exit 0.
agent_stop() {
	local n=$1 pid=${APID[$1]} rc
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "stop/$n" "still running 15 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	rc=0
	wait "$pid" || rc=$?
	expect_eq "stop/$n/exit-0" "$rc" 0
	if [ -e "$SOCKDIR/$n.sock" ]; then
		fail "stop/$n/socket-removed" "$SOCKDIR/$n.sock is still there"
	else
		pass "stop/$n/socket-removed"
	fi
}
