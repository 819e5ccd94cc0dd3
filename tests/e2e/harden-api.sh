#!/usr/bin/env bash
# harden-api.sh - what the red team sent the API, sent again (issue 11,
# items 1 and 6 and the HTTP-level findings): one private agent on
# loopback, raw requests over mutual TLS (raw-https.py), and the agent
# must stay up and answer JSON every time.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/harden-api.sh
#
# Bytes that are not UTF-8 in the path and in a query, messages cut
# inside a character, an import whose file name is 743 bytes of "é";
# the audit rows of such requests shown by `certfleet log`; since=
# overflowing; Content-Length 10^20 and Expect: 100-continue with a
# huge length refused at once; two Content-Length headers; libevent's
# own errors (413, malformed requests) in JSON; a new-self-signed usage
# error audited.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home
if [ ! -x "$CERTFLEETD" ]; then
	fail "$E2E_NAME: certfleetd binary" "not found at $CERTFLEETD (run make)"
	exit 1
fi
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

RAW="python3 $HERE/raw-https.py"
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g; s/^/SHA256:/'; }
newcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.crt" -subj "/CN=$1" -days 2 2>/dev/null
}

# ---- one agent, an admin, a reader and a stranger --------------------------

check id cf id
ADMIN_FP=$(head -n 1 "$OUT")
newcert reader
newcert stranger
agent_conf h1
check init cfd init --config "$T/h1.conf"
run cfd fingerprint --config "$T/h1.conf"
AFP[h1]=$(cat "$OUT")
check authorize/admin cfd authorize "$ADMIN_FP" --role admin --config "$T/h1.conf"
check authorize/reader cfd authorize "$(fp_of "$T/reader.crt")" --role reader \
	--config "$T/h1.conf"
agent_start h1 || e2e_done
PORT=${APORT[h1]}
check fleet/add cf fleet add h1 "127.0.0.1:$PORT" --fingerprint "${AFP[h1]}"

# send NAME WHO TIMEOUT - sends $T/NAME.req as WHO (admin, reader,
# stranger); sets STATUS and SECS, the body in $T/NAME.body.
send() {
	local name=$1 who=$2 cert key
	if [ "$who" = admin ]; then
		cert=$CERTFLEET_HOME/id.crt key=$CERTFLEET_HOME/id.key
	else
		cert=$T/$who.crt key=$T/$who.key
	fi
	$RAW "$PORT" "$cert" "$key" "$T/$name.req" "${3:-10}" >"$T/$name.out" 2>"$T/$name.err"
	read -r STATUS SECS <"$T/$name.out"
	tail -n +2 "$T/$name.out" >"$T/$name.body"
}

# is_json FILE - 0 when FILE holds one JSON document with string "code"
# and "message" (the API's error body).
is_json() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if isinstance(d.get("code"), str) and isinstance(d.get("message"), str) else 1)' "$1" 2>/dev/null
}

# alive NAME - the agent still runs and answers a reader.
alive() {
	printf 'GET /v1/whoami HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' >"$T/alive.req"
	if kill -0 "${APID[h1]}" 2>/dev/null; then
		send alive reader
		expect_eq "$1/agent-alive" "$STATUS" 200
	else
		fail "$1/agent-alive" "certfleetd exited; its log:" "$(tail -n 5 "$T/h1.log")"
		agent_spawn h1 # the next checks need an agent
		PORT=${APORT[h1]}
	fi
}

# expect_error NAME STATUS - the last send answered STATUS with a JSON
# error body.
expect_error() {
	expect_eq "$1/status" "$STATUS" "$2"
	if is_json "$T/$1.body"; then
		pass "$1/json"
	else
		fail "$1/json" "body:" "$(head -c 300 "$T/$1.body")"
	fi
}

# ---- item 1: bytes that are not UTF-8 never end the agent ------------------

printf 'GET /v1/\xff HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' >"$T/path-ff.req"
send path-ff reader
expect_error path-ff 404
alive path-ff
printf 'GET /v1/certificates?thumbprint=\xff\xfe HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' \
	>"$T/query-ff.req"
send query-ff reader
expect_error query-ff 400
alive query-ff
# A message cut at 511 bytes must end on a whole character: a path of
# 300 "é" after 0 or 1 ASCII bytes puts the cut inside one either way.
e300=$(printf 'é%.0s' $(seq 300))
for pad in "" x; do
	printf 'GET /v1/%s%s HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' "$pad" "$e300" \
		>"$T/cut$pad.req"
	send "cut$pad" reader
	expect_error "cut$pad" 404
	if grep -q 'é' "$T/cut$pad.body"; then
		pass "cut$pad/message-kept"
	else
		fail "cut$pad/message-kept" "$(head -c 200 "$T/cut$pad.body")"
	fi
done
alive cut
# The valid-UTF-8 negative: a path with "é" is quoted as it came.
printf 'GET /v1/caf\xc3\xa9 HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' >"$T/cafe.req"
send cafe reader
expect_error cafe 404
if grep -q '/v1/café: no such endpoint' "$T/cafe.body"; then
	pass cafe/quoted-unchanged
else
	fail cafe/quoted-unchanged "$(cat "$T/cafe.body")"
fi

# certfleet import of a file whose path is 743 bytes of "é" (and the
# slashes between): three directories of 120 and a file of 11.5.
e120=$(printf 'é%.0s' $(seq 120))
LONGDIR=$T/$e120/$e120/$e120
mkdir -p "$LONGDIR"
for name in "$(printf 'é%.0s' $(seq 11))" "x$(printf 'é%.0s' $(seq 11))"; do
	head -c 600 /dev/urandom >"$LONGDIR/$name"
	run cf import --server h1 "$LONGDIR/$name"
	if [ "$RC" = 1 ] && grep -q 'é' "$ERR"; then
		pass "import-long-name${name:0:1}/refused-naming-the-file"
	else
		fail "import-long-name${name:0:1}/refused-naming-the-file" "exit $RC:" "$(head -c 300 "$ERR")"
	fi
done
alive import-long-name
run cf import --server h1 "$LONGDIR/$(printf 'é%.0s' $(seq 11))" --json
if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null ||
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$ERR" 2>/dev/null ||
	grep -q 'é' "$ERR"; then
	pass import-long-name/json-or-message
else
	fail import-long-name/json-or-message "stdout: $(head -c 200 "$OUT")" "stderr: $(head -c 200 "$ERR")"
fi

# ---- item 6: an attempt with bad bytes still shows in the log ---------------

printf 'GET /v1/hide\xff\xfeme HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' >"$T/hide.req"
send hide stranger
expect_error hide 403
check log/json cf log --server h1 --json
if jq -e '[.Items[] | select(.Outcome | contains("/v1/hide\\xFF\\xFEme"))] | length == 1' \
	"$OUT" >/dev/null 2>&1; then
	pass log/stranger-row-shown-escaped
else
	fail log/stranger-row-shown-escaped "log:" "$(jq -c '.Items[-3:]' "$OUT" 2>&1 | head -c 600)"
fi
# Rows written before audit text was escaped: one with raw bytes put
# straight into the store must still be shown, not dropped.
sqlite3 "$T/h1/store/store.db" "INSERT INTO audit (time, actor, operation, thumbprint, outcome)
	VALUES (strftime('%s','now'), 'tls:old', 'connect', '', CAST(X'6f6c64ff726f77' AS TEXT))" 2>"$ERR"
check log/json-old-row cf log --server h1 --json
if jq -e '[.Items[] | select(.Actor == "tls:old" and .Outcome == "old\\xFFrow")] | length == 1' \
	"$OUT" >/dev/null 2>&1; then
	pass log/old-raw-row-shown
else
	fail log/old-raw-row-shown "log:" "$(jq -c '.Items[-2:]' "$OUT" 2>&1 | head -c 600)"
fi
check log/table cf log --server h1
if grep -q 'hide' "$OUT"; then
	pass log/table-shows-the-row
else
	fail log/table-shows-the-row "$(tail -n 3 "$OUT")"
fi

# ---- since= -----------------------------------------------------------------

printf 'GET /v1/log?since=99999999999999999999 HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' \
	>"$T/since-big.req"
send since-big reader
expect_error since-big 400
printf 'GET /v1/log?since=1 HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n' >"$T/since-ok.req"
send since-ok reader
expect_eq since-ok/status "$STATUS" 200

# ---- HTTP: lengths, Expect, duplicates, libevent's own errors ---------------

# under NAME LIMIT - SECS was under LIMIT seconds.
under() {
	if awk -v s="$SECS" -v l="$2" 'BEGIN { exit !(s < l) }'; then
		pass "$1/at-once"
	else
		fail "$1/at-once" "answered after $SECS s"
	fi
}
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Type: application/json\r\nContent-Length: 100000000000000000000\r\n\r\n{"files":' \
	>"$T/cl-huge.req"
send cl-huge admin 5
expect_error cl-huge 413
under cl-huge 1
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n' \
	>"$T/expect-huge.req"
send expect-huge admin 5
expect_error expect-huge 413
under expect-huge 1
# The negative: Expect with a length that fits gets its 100 Continue.
printf 'POST /v1/whoami HTTP/1.1\r\nHost: h1\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}' \
	>"$T/expect-ok.req"
send expect-ok admin 5
expect_eq expect-ok/status "$STATUS" 405
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Length: 2\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{}' \
	>"$T/cl-twice.req"
send cl-twice admin 5
expect_error cl-twice 400
under cl-twice 1
if grep -q 'more than one Content-Length' "$T/cl-twice.body"; then
	pass cl-twice/says-why
else
	fail cl-twice/says-why "$(cat "$T/cl-twice.body")"
fi
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n' \
	>"$T/cl-te.req"
send cl-te admin 5
expect_error cl-te 400
printf 'GARBAGE\r\n\r\n' >"$T/malformed.req"
send malformed admin 5
expect_error malformed 400
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Length: twelve\r\n\r\n' >"$T/cl-word.req"
send cl-word admin 5
expect_error cl-word 400
# Headers over 16 KiB: evhttp's 400, in JSON.
{
	printf 'GET /v1/whoami HTTP/1.1\r\nHost: h1\r\nX-Big: '
	head -c 20000 /dev/zero | tr '\0' a
	printf '\r\nConnection: close\r\n\r\n'
} >"$T/headers-big.req"
send headers-big admin 5
expect_error headers-big 400
# Expect with anything but 100-continue: evhttp's 417, in JSON.
printf 'POST /v1/import HTTP/1.1\r\nHost: h1\r\nContent-Length: 2\r\nExpect: tea\r\nConnection: close\r\n\r\n{}' \
	>"$T/expect-tea.req"
send expect-tea admin 5
expect_error expect-tea 417
# The Unix socket's bufferevents are ours too: its 400 is JSON as well.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"GARBAGE\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
sys.stdout.write(head.split(b" ")[1].decode() + "\n" + body.decode())' \
	"$SOCKDIR/h1.sock" >"$T/unix-bad.out" 2>"$T/unix-bad.err"
STATUS=$(head -n 1 "$T/unix-bad.out")
tail -n +2 "$T/unix-bad.out" >"$T/unix-bad.body"
expect_error unix-bad 400
alive http

# ---- new-self-signed: a usage error is audited ------------------------------

printf 'POST /v1/new-self-signed HTTP/1.1\r\nHost: h1\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{"subject":"CN=x","days":0}' \
	>"$T/nss-days.req"
send nss-days admin
expect_error nss-days 400
check log/after-nss cf log --server h1 --json
if jq -e '[.Items[] | select(.Operation == "new-self-signed" and (.Outcome | startswith("failed: days")))] | length == 1' \
	"$OUT" >/dev/null 2>&1; then
	pass nss-days/audited
else
	fail nss-days/audited "log:" "$(jq -c '.Items[-2:]' "$OUT" 2>&1 | head -c 600)"
fi
run cf new --self-signed --server h1 --subject 'CN=y' --key rsa123
if [ "$RC" != 0 ]; then
	pass nss-key/refused
else
	fail nss-key/refused "exit 0"
fi
check log/after-nss-key cf log --server h1 --json
if jq -e '[.Items[] | select(.Operation == "new-self-signed" and (.Outcome | startswith("failed:")))] | length == 2' \
	"$OUT" >/dev/null 2>&1; then
	pass nss-key/audited
else
	fail nss-key/audited "log:" "$(jq -c '.Items[-2:]' "$OUT" 2>&1 | head -c 600)"
fi

# The CLI sends outside text through the same encoder: a friendly name
# with a byte that is not UTF-8 reaches the agent written \xNN, not
# replaced, and the certificate is imported with it.
FN=$(printf 'web\xffname')
run cf new --self-signed --server h1 --subject 'CN=fn.example' --friendly-name "$FN" --json
if [ "$RC" = 0 ]; then
	pass cli-utf8/imported
else
	fail cli-utf8/imported "exit $RC: $(head -c 300 "$ERR")"
fi
run cf get --server h1 --json --fields Subject,FriendlyName
expect_eq "cli-utf8: the friendly name kept, the bad byte written \\xFF" \
	"$(jq -r '.Items[] | select(.Subject == "CN=fn.example") | .FriendlyName' "$OUT")" 'web\xFFname'

alive end
agent_stop h1
e2e_done
