#!/usr/bin/env bash
# harden-conn.sh - the agent under floods anyone can send (issue 11, items
# 3, 4 and 8):
#   - 2,000 idle TCP connections to an agent limited to 1,024 descriptors:
#     a legitimate `get` still answers within 1 s, the agent's CPU stays
#     idle, and the log says so once a minute, not thousands of times;
#   - 500 handshakes without a client certificate and 500 requests with an
#     unknown one: one audit record per source and actor, which counts the
#     rest, and the same actor text for one client whoever sends it;
#   - 150 clients that ask for /v1/log and never read: the agent's RSS
#     stays under 100 MB with thousands of audit records;
#   - `certfleet log` pages: every record, every change and export, and
#     --limit N gives the newest N;
#   - retention (audit_keep_days, audit_max_rows) prunes only what is
#     older, or refusals over the bound.
#
#   CERTFLEET=build/certfleet bash tests/e2e/harden-conn.sh
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home

for tool in "$CERTFLEETD" python3 sqlite3 jq openssl curl; do
	if ! command -v "$tool" >/dev/null; then
		fail "$E2E_NAME: $tool" "not found"
		exit 1
	fi
done

# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

# ---- helpers ---------------------------------------------------------------

# spawn_limited NAME NOFILE - agent_spawn with RLIMIT_NOFILE set to NOFILE.
spawn_limited() {
	local n=$1 port=
	: >"$T/$n.log"
	(
		ulimit -n "$2" || exit 1
		exec "$CERTFLEETD" run --config "$T/$n.conf" >"$T/$n.out" 2>"$T/$n.log" </dev/null
	) &
	APID[$n]=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/$n.log")
		[ -n "$port" ] && break
		kill -0 "${APID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	APORT[$n]=$port
	if [ -n "$port" ]; then
		pass "run/$n/ready"
	else
		fail "run/$n/ready" "no 'listening on' line within 10 s" "$(cat "$T/$n.log")"
		return 1
	fi
}

# cpu_ticks PID - user + system time of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# rss_kb PID - resident set of PID, in kB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# wait_file FILE [TENTHS] - waits until FILE is not empty (default 60 s).
wait_file() {
	for _ in $(seq "${2:-600}"); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ms CMD... - runs CMD (output in $OUT), prints how long it took in ms.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# flood.py: holds connections open.  Modes: tcp (connect, send nothing),
# nocert (TLS without a certificate), cert CRT KEY (TLS with one, one GET),
# log CRT KEY (TLS, GET /v1/log, never read).  Writes "opened failed" to
# READY, then waits for STOP to exist.
cat >"$T/flood.py" <<'EOF'
import resource, socket, ssl, sys, os, time
mode, n, port, ready, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
src = os.environ.get("SRC", "127.0.0.1").split(",")
crt = key = None
if mode in ("cert", "log"):
    crt, key = sys.argv[6], sys.argv[7]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if crt:
    ctx.load_cert_chain(crt, key)
held, failed = [], 0
for i in range(n):
    s = socket.socket()
    if mode == "log":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    try:
        s.bind((src[i % len(src)], 0))
        s.connect(("127.0.0.1", port))
        if mode == "tcp":
            held.append(s)
            continue
        t = ctx.wrap_socket(s)
        if mode == "nocert":
            # TLS 1.3: the refusal comes with the first read.
            try:
                t.recv(1)
            except (ssl.SSLError, OSError):
                pass
            t.close()
            continue
        path = "/v1/log" if mode == "log" else "/v1/certificates"
        t.sendall(("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path).encode())
        if mode == "log":
            held.append(t)
            continue
        t.recv(4096)
        t.close()
    except (ssl.SSLError, OSError):
        failed += 1
        s.close()
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (len(held) if mode in ("tcp", "log") else n - failed, failed))
os.rename(ready + ".tmp", ready)
for _ in range(1200):
    if os.path.exists(stop):
        break
    time.sleep(0.1)
EOF

# flood NAME MODE N PORT [ARGS...] - starts flood.py in the background;
# FPID is its pid.  Waits (60 s at most) until it has made its
# connections.
flood() {
	local name=$1
	shift
	rm -f "$T/$name.ready" "$T/$name.stop"
	python3 "$T/flood.py" "$1" "$2" "$3" "$T/$name.ready" "$T/$name.stop" "${@:4}" \
		2>"$T/$name.err" &
	FPID=$!
	if wait_file "$T/$name.ready"; then
		pass "$name/made"
	else
		fail "$name/made" "flood.py did not finish within 60 s" "$(cat "$T/$name.err")"
	fi
}

# unflood NAME - lets flood NAME go and waits for it.
unflood() {
	touch "$T/$1.stop"
	wait "$FPID" 2>/dev/null
}

# ---- one agent, its admin, a stranger ---------------------------------------

check id cf id
ID_FP=$(head -n 1 "$OUT")
STRANGER=$T/stranger
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$STRANGER.key" -out "$STRANGER.crt" -subj "/CN=stranger" -days 2 2>/dev/null
STRANGER_FP=SHA256:$(openssl x509 -in "$STRANGER.crt" -noout -fingerprint -sha256 |
	sed 's/^.*=//; s/://g')

N=hc1
agent_conf "$N"
check "init/$N" cfd init --config "$T/$N.conf"
run cfd fingerprint --config "$T/$N.conf"
AFP[$N]=$(cat "$OUT")
check "authorize/$N" cfd authorize "$ID_FP" --role admin --config "$T/$N.conf"
spawn_limited "$N" 1024 || e2e_done
PID=${APID[$N]}
PORT=${APORT[$N]}
check fleet/add cf fleet add "$N" "127.0.0.1:$PORT" --fingerprint "${AFP[$N]}"
# Restarts below listen on the port this one was given.
agent_conf "$N" "$PORT"
expect_eq run/nofile-1024 "$(awk '/^Max open files/ { print $4 }' "/proc/$PID/limits")" 1024

# ---- 2,000 idle connections ---------------------------------------------------

# From the same address as the legitimate client: the per-address cap must
# make room for it rather than lock it out.
HZ=$(getconf CLK_TCK)
T0=$(cpu_ticks "$PID")
W0=$(date +%s%N)
flood idle tcp 2000 "$PORT"
sleep 3 # a measurement interval, not a wait for a condition
T1=$(cpu_ticks "$PID")
W1=$(date +%s%N)
# Under a quarter of one core, from the first connection to 3 s after
# the last.  Accepting, capping and evicting 2,000 connections is real
# work: 330-580 ms of CPU in 4.4-5.5 s here (8-11 %), the more on a busy
# machine.  An agent that retries accept() in a loop takes a whole core,
# and at least half of one while it shares this 2-core machine.
wall_ms=$(((W1 - W0) / 1000000))
cpu_ms=$(((T1 - T0) * 1000 / HZ))
echo "# 2,000 idle connections: ${cpu_ms} ms of CPU in ${wall_ms} ms"
if [ $((cpu_ms * 4)) -lt "$wall_ms" ]; then
	pass "idle/cpu-idle"
else
	fail "idle/cpu-idle" "${cpu_ms} ms of CPU in ${wall_ms} ms"
fi
took=$(ms cf get --server "$N" --json)
if [ "$RC" -eq 0 ] && [ "$took" -lt 1000 ]; then
	pass "idle/get-answers-under-1s"
else
	fail "idle/get-answers-under-1s" "exit $RC after $took ms" "$(cat "$ERR")"
fi
fds=$(find "/proc/$PID/fd" -mindepth 1 2>/dev/null | wc -l)
if [ "$fds" -lt 1000 ]; then
	pass "idle/fds-below-limit"
else
	fail "idle/fds-below-limit" "$fds descriptors open"
fi
unflood idle
# From 40 addresses, 50 each: under the per-address cap, over the total.
SRC=$(seq -f '127.0.1.%g' 1 40 | paste -sd,) flood spread tcp 2000 "$PORT"
took=$(ms cf get --server "$N" --json)
if [ "$RC" -eq 0 ] && [ "$took" -lt 1000 ]; then
	pass "spread/get-answers-under-1s"
else
	fail "spread/get-answers-under-1s" "exit $RC after $took ms" "$(cat "$ERR")"
fi
fds=$(find "/proc/$PID/fd" -mindepth 1 2>/dev/null | wc -l)
if [ "$fds" -lt 1000 ] && [ "$fds" -gt 500 ]; then
	pass "spread/fds-below-limit"
else
	fail "spread/fds-below-limit" "$fds descriptors open (the cap admits up to ~900)"
fi
unflood spread
# Once a minute: a handful of lines at most, however many connections.
lines=$(grep -cE 'max_connections|accept:' "$T/$N.log")
if [ "$lines" -ge 1 ] && [ "$lines" -le 3 ]; then
	pass "idle/logged-once-a-minute"
else
	fail "idle/logged-once-a-minute" "$lines lines" "$(grep -E 'max_connections|accept:' "$T/$N.log" | head -5)"
fi
if grep -q 'Too many open files' "$T/$N.log" && [ "$(grep -c 'Too many open files' "$T/$N.log")" -gt 3 ]; then
	fail "idle/no-emfile-spin" "$(grep -c 'Too many open files' "$T/$N.log") lines"
else
	pass "idle/no-emfile-spin"
fi

# A descriptor limit lowered under the running agent (prlimit): accept()
# fails with EMFILE; the agent pauses, closes idle connections, logs it
# once and still answers.
if prlimit --pid "$PID" --nofile=200:1024 2>/dev/null; then
	flood emfile tcp 600 "$PORT"
	took=$(ms cf get --server "$N" --json)
	if [ "$RC" -eq 0 ] && [ "$took" -lt 1000 ]; then
		pass "emfile/get-answers-under-1s"
	else
		fail "emfile/get-answers-under-1s" "exit $RC after $took ms" "$(cat "$ERR")"
	fi
	unflood emfile
	lines=$(grep -c 'accept: Too many open files' "$T/$N.log")
	if [ "$lines" -ge 1 ] && [ "$lines" -le 2 ]; then
		pass "emfile/logged-once"
	else
		fail "emfile/logged-once" "$lines lines" "$(tail -n 5 "$T/$N.log")"
	fi
	prlimit --pid "$PID" --nofile=1024:1024
else
	fail "emfile/prlimit" "cannot lower the agent's descriptor limit"
fi

# ---- refused handshakes -------------------------------------------------------

# connect_rows ACTOR_PREFIX - audit records of refusals by that actor.
connect_rows() {
	sqlite3 "$T/$N/store/store.db" \
		"SELECT count(*) FROM audit WHERE operation = 'connect' AND actor LIKE '$1%'"
}
flood nocert nocert 500 "$PORT"
unflood nocert
# The first record is written at once by the audit thread: wait for it.
for _ in $(seq 100); do
	[ "$(connect_rows tls:no-certificate)" -ge 1 ] && break
	sleep 0.1
done
expect_eq refused/no-cert-one-record "$(connect_rows tls:no-certificate)" 1
flood unknown cert 500 "$PORT" "$STRANGER.crt" "$STRANGER.key"
unflood unknown
for _ in $(seq 100); do
	[ "$(connect_rows "tls:$STRANGER_FP")" -ge 1 ] && break
	sleep 0.1
done
# The CLI sends its X-Certfleet-Actor header; the record stays one, its
# actor the certificate's.
mkdir -p "$T/shome"
cp "$STRANGER.crt" "$T/shome/id.crt"
cp "$STRANGER.key" "$T/shome/id.key"
chmod 600 "$T/shome/id.key"
cp "$CERTFLEET_HOME/fleet.json" "$T/shome/" 2>/dev/null
CERTFLEET_HOME=$T/shome run cf get --server "$N"
expect_eq refused/unknown-refused "$RC" 1
expect_eq refused/unknown-one-record "$(connect_rows "tls:$STRANGER_FP")" 1
expect_eq refused/one-actor-text \
	"$(sqlite3 "$T/$N/store/store.db" "SELECT DISTINCT actor FROM audit WHERE actor LIKE 'tls:$STRANGER_FP%'")" \
	"tls:$STRANGER_FP (stranger)"
# The record counts the rest (amended every 5 s).
for _ in $(seq 150); do
	sqlite3 "$T/$N/store/store.db" "SELECT outcome FROM audit WHERE actor = 'tls:no-certificate'" |
		grep -q '499 more from 127.0.0.1' && break
	sleep 0.1
done
run sqlite3 "$T/$N/store/store.db" "SELECT outcome FROM audit WHERE actor = 'tls:no-certificate'"
if grep -q '^refused: no client certificate.*; 499 more from 127.0.0.1 in the minute after$' "$OUT"; then
	pass refused/no-cert-counted
else
	fail refused/no-cert-counted "outcome: $(cat "$OUT")"
fi
check refused/admin-still-answers cf get --server "$N"

# ---- a large audit, paged -------------------------------------------------------

P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	e2e_done
}
PW=$T/export.pw
pwfile "$PW" 'Harden-Conn#pw'
check log/import cf import "$P/leaf.pem" "$P/leaf.key" --server "$N" --exportable
TP=$(thumb "$P/leaf.pem")
check log/export cf export "$TP" --server "$N" --binary -o "$T/leaf.pfx" --password-file "$PW"
agent_stop "$N"
# 4,000 more records, 3,000 of them refusals, straight into the store.
python3 - "$T/$N/store/store.db" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
rows = []
for i in range(4000):
    if i % 4 == 3:
        rows.append((now, "local:filler", "import", "", "imported filler %d %s" % (i, "x" * 120)))
    else:
        rows.append((now, "tls:no-certificate", "connect", "",
                     "refused: no client certificate (filler %d from 10.0.%d.%d:443) %s" % (i, i // 250, i % 250, "y" * 120)))
db.executemany("INSERT INTO audit (time, actor, operation, thumbprint, outcome) VALUES (?,?,?,?,?)", rows)
db.commit()
EOF
TOTAL=$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) FROM audit")
spawn_limited "$N" 1024 || e2e_done
PID=${APID[$N]}

check log/all cf log --server "$N" --json
expect_eq log/all-pages "$(jq '.Items | length' "$OUT")" "$TOTAL"
expect_eq log/all-in-order "$(jq '[.Items[].Time] | . == sort' "$OUT")" true
expect_eq log/import-and-export-shown \
	"$(jq -r --arg t "$TP" '[.Items[] | select(.Thumbprint == $t) | .Operation] | unique | join(",")' "$OUT")" \
	"export,import"
check log/limit cf log --server "$N" --limit 10 --format tsv --no-header
expect_eq log/limit-newest-10 "$(cut -f5 "$OUT" | sed 's/^refused: no client certificate (filler \([0-9]*\).*/\1/; s/^imported filler \([0-9]*\).*/\1/' | paste -sd,)" \
	"3990,3991,3992,3993,3994,3995,3996,3997,3998,3999"
check log/limit-1500 cf log --server "$N" --limit 1500 --json
expect_eq log/limit-1500-across-pages "$(jq '.Items | length' "$OUT")" 1500
check_fails log/limit-zero 2 'limit' cf log --server "$N" --limit 0
check_fails log/limit-word 2 'limit' cf log --server "$N" --limit many
# The route itself: a page is bounded whatever is asked.
run curl -sS -k --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	"https://127.0.0.1:$PORT/v1/log?limit=1000"
if [ "$(jq 'length' "$OUT")" -gt 0 ] && [ "$(wc -c <"$OUT")" -lt 300000 ]; then
	pass log/route-page-bounded
else
	fail log/route-page-bounded "$(jq 'length' "$OUT") records, $(wc -c <"$OUT") bytes"
fi
run curl -sS -k --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	-o "$T/body" -w '%{http_code}' "https://127.0.0.1:$PORT/v1/log?since=99999999999999999999999"
expect_eq log/route-overflowing-since-refused "$(cat "$OUT") $(jq -r .code "$T/body")" "400 usage"
run curl -sS -k --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	-o "$T/body" -w '%{http_code}' "https://127.0.0.1:$PORT/v1/log?limit=1001"
expect_eq log/route-limit-over-page-refused "$(cat "$OUT")" 400

# ---- 150 readers of /v1/log who never read ----------------------------------

RSS0=$(rss_kb "$PID")
SRC=127.0.0.2,127.0.0.3,127.0.0.4 flood readers log 150 "$PORT" \
	"$CERTFLEET_HOME/id.crt" "$CERTFLEET_HOME/id.key"
# Their replies are rendered by the workers: wait until the pool is idle
# again (a get answers), then read the peak the agent reached.
check readers/get-answers cf get --server "$N"
RSS1=$(rss_kb "$PID")
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
echo "# RSS before ${RSS0} kB, with 150 readers ${RSS1} kB, peak ${HWM} kB"
if [ "$RSS1" -lt 102400 ] && [ "$HWM" -lt 102400 ]; then
	pass readers/rss-under-100MB
else
	fail readers/rss-under-100MB "RSS $RSS1 kB, peak $HWM kB"
fi
unflood readers

# ---- retention --------------------------------------------------------------------

agent_stop "$N"
OLD=$(($(date +%s) - 40 * 86400))
sqlite3 "$T/$N/store/store.db" "INSERT INTO audit (time, actor, operation, thumbprint, outcome)
	VALUES ($OLD, 'local:old', 'import', '', 'an old import'),
	       ($OLD, 'local:old', 'export', '', 'an old export')"
CHANGES=$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) FROM audit WHERE operation != 'connect' AND time > $OLD")
cat >>"$T/$N.conf" <<EOF
audit_keep_days = 30
audit_max_rows = 1000
EOF
NEWEST=$(sqlite3 "$T/$N/store/store.db" "SELECT max(id) FROM audit WHERE operation = 'connect'")
spawn_limited "$N" 1024 || e2e_done
for _ in $(seq 100); do
	[ "$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) FROM audit WHERE operation = 'connect'")" -le 1000 ] && break
	sleep 0.1
done
expect_eq retention/refusals-bounded \
	"$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) || ' ' || max(id) FROM audit WHERE operation = 'connect'")" \
	"1000 $NEWEST"
expect_eq retention/old-gone "$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) FROM audit WHERE actor = 'local:old'")" 0
expect_eq retention/changes-and-exports-kept \
	"$(sqlite3 "$T/$N/store/store.db" "SELECT count(*) FROM audit WHERE operation != 'connect'")" "$CHANGES"
expect_eq retention/logged "$(grep -c 'audit retention: .* records removed' "$T/$N.log")" 1
check_fails config/bad-max-connections 1 'max_connections' \
	bash -c "printf '[agent]\nmax_connections = 0\n' >'$T/bad.conf' && '$CERTFLEETD' check-config --config '$T/bad.conf'"
agent_stop "$N"

e2e_done
