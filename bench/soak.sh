#!/usr/bin/env bash
# bench/soak.sh - the agent's soak (not part of make test).
#
#   bench/soak.sh                  (SOAK_SECONDS=600 SOAK_CLIENTS=32)
#   SOAK_KEEP_CERTS=4 bench/soak.sh   (each client removes its oldest
#                                      certificate past 4: a store of a
#                                      steady size, to see RSS flat)
#
# Starts one certfleetd on loopback (a state of its own in a temporary
# directory, one kind=files service "web" writing there), authorizes an
# admin and a reader identity, and for SOAK_SECONDS runs against it:
#   - SOAK_CLIENTS authorized clients, each the real certfleet CLI in a
#     loop of every route: import (a new EC certificate and key each
#     time: one write), get, get THUMBPRINT, services, log, export,
#     enable and disable on "web", remove (--force, of one of its own);
#     one client in four is the reader, doing the reads only;
#   - refused handshakes: openssl s_client with an identity the agent
#     does not know, and with none, back to back (SOAK_REFUSERS, 2);
#   - slow clients: python3 opening connections that dribble a byte a
#     second, or say nothing, until the agent drops them (SOAK_SLOW, 2).
# Then: errors of authorized clients (each failed command listed in
# $WORK/errors, shown), the agent's VmRSS at the start, every 30 s and at
# the end, and the writes: every import answered "imported" and not
# removed must be listed by certfleet get (no lost write), and nothing
# removed may be listed.  Exit 0 when authorized errors are 0 and no
# write is lost, 1 otherwise.  SOAK_KEEP=1 keeps the work directory.
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh

B=${B:-build}
SECS=${SOAK_SECONDS:-600}
KEEP=${SOAK_KEEP_CERTS:-0}
CLIENTS=${SOAK_CLIENTS:-32}
REFUSERS=${SOAK_REFUSERS:-2}
SLOW=${SOAK_SLOW:-2}

die() {
	echo "soak: $*" >&2
	exit 1
}

[ -x "$B/certfleet" ] && [ -x "$B/certfleetd" ] ||
	make --no-print-directory -s all >/dev/null || die "make failed"
for t in jq openssl python3; do
	command -v $t >/dev/null || die "$t is not installed"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certfleet-soak.XXXXXX")
AGENT_PID=
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	# (a bare wait would wait for the agent too)
	[ ${#PIDS[@]} -eq 0 ] || wait "${PIDS[@]}" 2>/dev/null
	if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$AGENT_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$AGENT_PID" 2>/dev/null
	fi
	if [ "${SOAK_KEEP:-0}" = 1 ]; then
		echo "soak: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CF=$PWD/$B/certfleet
CFD=$PWD/$B/certfleetd
unset CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG NOTIFY_SOCKET CERTFLEET_PASSWORD

mkdir -p "$WORK/svc"
cat >"$WORK/agent.conf" <<EOF
[agent]
name = soak
listen = 127.0.0.1:0
socket = none
state = $WORK/state

[service web]
kind = files
chain = $WORK/svc/chain.pem
key = $WORK/svc/key.pem
test = none
reload = none
EOF
"$CFD" init --config "$WORK/agent.conf" >/dev/null || die "certfleetd init failed"
AGENT_FP=$("$CFD" fingerprint --config "$WORK/agent.conf")
for who in admin reader; do
	CERTFLEET_HOME=$WORK/$who "$CF" id >/dev/null || die "certfleet id failed"
	fp=$(CERTFLEET_HOME=$WORK/$who "$CF" id --json | jq -r .Fingerprint)
	"$CFD" authorize "$fp" --role "$who" --config "$WORK/agent.conf" >/dev/null ||
		die "authorize $who failed"
done
# The stranger: an identity the agent has never heard of.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=stranger -keyout "$WORK/stranger.key" -out "$WORK/stranger.crt" 2>/dev/null
printf 'soak-password\n' >"$WORK/pw"
chmod 600 "$WORK/pw"

"$CFD" run --config "$WORK/agent.conf" >/dev/null 2>"$WORK/agent.log" </dev/null &
AGENT_PID=$!
PORT=$(agent_port "$WORK/agent.log" "$AGENT_PID")
[ -n "$PORT" ] || {
	cat "$WORK/agent.log" >&2
	die "the agent did not start"
}
for who in admin reader; do
	CERTFLEET_HOME=$WORK/$who "$CF" fleet add soak "127.0.0.1:$PORT" \
		--fingerprint "$AGENT_FP" >/dev/null || die "fleet add failed"
done

rss() {
	# Both processes of the agent: the network process and its store
	# process (storeproc.h), summed.
	local p v sum=0
	for p in "$AGENT_PID" $(pgrep -P "$AGENT_PID" -f 'certfleetd store'); do
		v=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum kB"
}

# op CLIENT WHAT CMD... - one authorized command; a failure is an error,
# recorded with what it said.  One failure is the clients' own race, not
# the agent's: every admin client enables "web" with --force, so by the
# time one disables it another may have taken it ("not assigned to it");
# those are counted apart.
op() {
	local c=$1 what=$2 out
	shift 2
	if ! out=$("$@" 2>&1 </dev/null); then
		local to=errors
		[ "$what" = disable ] && [[ $out == *"web is not assigned to it"* ]] && to=races
		printf '%s\tclient %s\t%s\t%s\n' "$(date -u +%T)" "$c" "$what" \
			"$(echo "$out" | tr '\n' ' ' | head -c 300)" >>"$WORK/$to"
		return 1
	fi
	printf '%s\n' "$out"
}

# An admin client: imports its own certificates and works on them.
admin_client() {
	local c=$1 n=0 tp k crt mine=() end=$(($(date +%s) + SECS))
	export CERTFLEET_HOME=$WORK/admin
	while [ "$(date +%s)" -lt "$end" ]; do
		n=$((n + 1))
		crt=$WORK/c$c/$n.crt
		k=$WORK/c$c/$n.key
		mkdir -p "$WORK/c$c"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-days 30 -subj "/CN=c$c-$n.soak.example" -keyout "$k" -out "$crt" 2>/dev/null
		tp=$(openssl x509 -in "$crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
		echo "$tp" >>"$WORK/c$c.tried"
		if op "$c" import "$CF" import "$crt" "$k" --server soak --exportable >/dev/null; then
			echo "$tp" >>"$WORK/c$c.imported"
			mine+=("$tp")
		fi
		rm -f "$k"
		# A steady store: past SOAK_KEEP_CERTS of its own, the oldest goes.
		if [ "$KEEP" -gt 0 ] && [ ${#mine[@]} -gt "$KEEP" ] &&
			op "$c" remove "$CF" remove "${mine[0]}" --force --server soak >/dev/null; then
			echo "${mine[0]}" >>"$WORK/c$c.removed"
			mine=("${mine[@]:1}")
		fi
		[ ${#mine[@]} -gt 0 ] || continue
		tp=${mine[RANDOM % ${#mine[@]}]}
		case $((RANDOM % 8)) in
		0) op "$c" get "$CF" get --server soak >/dev/null ;;
		1) op "$c" get-one "$CF" get "$tp" --server soak >/dev/null ;;
		2) op "$c" services "$CF" services --server soak >/dev/null ;;
		3) op "$c" log "$CF" log --server soak --since "$(date -u -d '-1 min' +%FT%TZ)" >/dev/null ;;
		4) op "$c" export "$CF" export "$tp" --server soak --password-file "$WORK/pw" \
			-o "$WORK/c$c/export.p12" >/dev/null ;;
		5 | 6)
			op "$c" enable "$CF" enable "$tp" --services web --force --server soak >/dev/null &&
				op "$c" disable "$CF" disable "$tp" --services web --server soak >/dev/null
			;;
		7)
			if op "$c" remove "$CF" remove "$tp" --force --server soak >/dev/null; then
				echo "$tp" >>"$WORK/c$c.removed"
				mine=("${mine[@]/$tp/}")
				read -ra mine <<<"${mine[*]}"
			fi
			;;
		esac
		sleep 0.$((RANDOM % 5))
	done
}

# A reader client: the reads, back to back with a pause.
reader_client() {
	local c=$1 end=$(($(date +%s) + SECS))
	export CERTFLEET_HOME=$WORK/reader
	while [ "$(date +%s)" -lt "$end" ]; do
		case $((RANDOM % 4)) in
		0) op "$c" get "$CF" get --server soak >/dev/null ;;
		1) op "$c" services "$CF" services --server soak >/dev/null ;;
		2) op "$c" log "$CF" log --server soak --since "$(date -u -d '-1 min' +%FT%TZ)" >/dev/null ;;
		3) op "$c" get-json "$CF" get --server soak --json >/dev/null ;;
		esac
		sleep 0.$((RANDOM % 5))
	done
}

# Handshakes the agent must refuse: a stranger's certificate, and none.
refuser() {
	local end=$(($(date +%s) + SECS)) n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		if [ $((n++ % 2)) = 0 ]; then
			timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
				-cert "$WORK/stranger.crt" -key "$WORK/stranger.key" </dev/null >/dev/null 2>&1
		else
			printf 'GET /v1/certificates HTTP/1.1\r\nHost: soak\r\n\r\n' |
				timeout 10 openssl s_client -connect "127.0.0.1:$PORT" >/dev/null 2>&1
		fi
		echo x >>"$WORK/refused"
	done
}

# Slow clients: connections that dribble a TLS record a byte a second,
# or stay silent, 8 at a time, until the agent drops them (or 60 s).
slow() {
	python3 - "$PORT" "$SECS" <<'PY'
import socket, sys, time
port, secs = int(sys.argv[1]), int(sys.argv[2])
end = time.time() + secs
hello = bytes.fromhex("16030100a5010000a10303") + bytes(32)
while time.time() < end:
    socks = []
    for i in range(8):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    t0 = time.time()
    i = 0
    while socks and time.time() - t0 < 60 and time.time() < end:
        for s in list(socks):
            try:
                if socks.index(s) % 2 == 0 and i < len(hello):
                    s.send(hello[i:i + 1])
                else:
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        s.close()
                        socks.remove(s)
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                socks.remove(s)
        i += 1
        time.sleep(1)
    for s in socks:
        s.close()
PY
}

echo "soak: agent $("$CFD" --version) on 127.0.0.1:$PORT, $SECS s," \
	"$CLIENTS authorized clients ($((CLIENTS / 4)) readers), $REFUSERS refusers, $SLOW slow"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
RSS0=$(rss)
echo "agent VmRSS (network + store process) at start: $RSS0"
: >"$WORK/errors"
: >"$WORK/races"
: >"$WORK/refused"
for c in $(seq "$CLIENTS"); do
	if [ $((c % 4)) = 0 ]; then
		reader_client "$c" &
	else
		admin_client "$c" &
	fi
	PIDS+=($!)
done
for _ in $(seq "$REFUSERS"); do
	refuser &
	PIDS+=($!)
done
for _ in $(seq "$SLOW"); do
	slow &
	PIDS+=($!)
done
samples=()
end=$(($(date +%s) + SECS))
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 30
	kill -0 "$AGENT_PID" 2>/dev/null || break
	samples+=("$(rss | tr -d ' kB')")
	echo "  $(date -u +%T) VmRSS $(rss), errors $(wc -l <"$WORK/errors"), refused handshakes $(wc -l <"$WORK/refused")"
done
# Let every client finish its last command.
wait "${PIDS[@]}" 2>/dev/null
PIDS=()
alive=yes
kill -0 "$AGENT_PID" 2>/dev/null || alive=NO
RSS1=$(rss)

cat "$WORK"/c*.imported 2>/dev/null | sort -u >"$WORK/imported"
cat "$WORK"/c*.removed 2>/dev/null | sort -u >"$WORK/removed"
comm -23 "$WORK/imported" "$WORK/removed" >"$WORK/expected"
CERTFLEET_HOME=$WORK/admin "$CF" get --server soak --json </dev/null 2>"$WORK/final.err" |
	jq -r '.Items[].Thumbprint' | sort -u >"$WORK/listed"
lost=$(comm -23 "$WORK/expected" "$WORK/listed" | wc -l)
back=$(comm -12 "$WORK/removed" "$WORK/listed" | wc -l)
errors=$(wc -l <"$WORK/errors")

echo
echo "agent alive at the end: $alive"
echo "agent VmRSS: start $RSS0, end ${RSS1:-?}; 30-s samples (kB): ${samples[*]:-none}"
echo "authorized errors: $errors"
[ "$errors" -gt 0 ] && cut -f2- "$WORK/errors" | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/  /'
echo "disables that lost the race for web to another client's enable --force: $(wc -l <"$WORK/races")"
echo "refused handshakes attempted: $(wc -l <"$WORK/refused")"
echo "writes: $(cat "$WORK"/c*.tried 2>/dev/null | wc -l) imports tried," \
	"$(wc -l <"$WORK/imported") answered imported, $(wc -l <"$WORK/removed") removed;" \
	"$(wc -l <"$WORK/expected") expected in the store, $(comm -12 "$WORK/expected" "$WORK/listed" | wc -l) found;" \
	"lost $lost; removed but listed $back"
echo "store after: $(wc -l <"$WORK/listed") certificates listed (the agent's own included)"
ok=1
[ "$alive" = yes ] && [ "$errors" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$back" -eq 0 ] || ok=0
[ $ok = 1 ] && echo "soak: PASS" || echo "soak: FAIL"
[ $ok = 1 ]
