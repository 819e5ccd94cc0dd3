# shellcheck shell=bash
# bench/lib.sh - what the benchmarks share (sourced, never run).

# agent_port LOG PID - the loopback port certfleetd (process PID) says in
# LOG that it listens on, as soon as it says so (10 s at most); empty
# when it died or never said.
agent_port() {
	local port= i
	for i in $(seq 200); do
		port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$1")
		[ -n "$port" ] && break
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	printf '%s\n' "$port"
}
