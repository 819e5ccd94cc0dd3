#!/usr/bin/env bash
# agent-smoke.sh - one private certfleetd on loopback, driven with curl:
# init (twice), authorize, mutual TLS and its refusals, the Unix socket,
# request limits, a `get` answered while RSA-4096 keys are generated
# (how fast is bench/keygen_run.sh's figure), revocation, SIGHUP and
# SIGTERM.
#
#   bash tests/e2e/agent-smoke.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
AGENT_PID=
stop_agent() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	rm -rf "$T"
}
trap stop_agent EXIT

for tool in "$CERTFLEETD" curl openssl; do
	if ! command -v "$tool" >/dev/null; then
		fail "agent-smoke: $tool" "not found"
		exit 1
	fi
done

cfd() { timeout -k 5 60 "$CERTFLEETD" "$@"; }
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g; s/^/SHA256:/'; }
newcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.crt" -subj "/CN=$1" -days 2 2>/dev/null
}

CONF=$T/agent.conf
cat >"$CONF" <<EOF
# certfleetd smoke test
[agent]
name = smoke1
listen = 127.0.0.1:0
socket = $T/agent.sock
state = $T/state
workers = 4
EOF

# ---- init, twice -----------------------------------------------------
check "agent: init" cfd init --config "$CONF"
FP=$(sed -n 's/^fingerprint //p' "$OUT")
if grep -q '^host certificate' "$OUT" && [ -n "$FP" ]; then
	pass "agent: init makes the identity and the host certificate"
else
	fail "agent: init makes the identity and the host certificate"
	show "$OUT"
fi
before=$(store_snapshot "$T/state/store")
check "agent: init again" cfd init --config "$CONF"
if grep -q '^already initialized' "$OUT" &&
	[ "$(store_snapshot "$T/state/store")" = "$before" ]; then
	pass "agent: init twice changes nothing and says so"
else
	fail "agent: init twice changes nothing and says so"
	show "$OUT"
fi
run cfd fingerprint --config "$CONF"
expect_eq "agent: fingerprint is init's" "$(cat "$OUT")" "$FP"
expect_eq "agent: fingerprint is the certificate's" \
	"$(fp_of "$T/state/agent.crt")" "$FP"

newcert admin
newcert reader
newcert stranger
check "agent: authorize admin" cfd authorize "$(fp_of "$T/admin.crt")" \
	--role admin --config "$CONF"
check "agent: authorize reader" cfd authorize "$(fp_of "$T/reader.crt")" \
	--role reader --config "$CONF"
check_fails "agent: authorize needs a role" 2 "role" \
	cfd authorize "$(fp_of "$T/stranger.crt")" --config "$CONF"

# ---- run ------------------------------------------------------------
"$CERTFLEETD" run --config "$CONF" 2>"$T/agent.err" &
AGENT_PID=$!
PORT=
# listening - sets PORT once the agent has said where it listens.
listening() {
	PORT=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/agent.err")
	[ -n "$PORT" ] || ! kill -0 "$AGENT_PID" 2>/dev/null
}
wait_until 10 listening
if [ -z "$PORT" ]; then
	fail "agent: ready" "no 'listening on' line"
	show "$T/agent.err"
	e2e_done
fi
pass "agent: ready on 127.0.0.1:$PORT"
URL=https://127.0.0.1:$PORT

# req NAME CERT METHOD PATH [BODY] - status into $CODE, body into $OUT.
req() {
	local who=$1 method=$2 path=$3 body=${4:-}
	local args=(-sk -o "$OUT" -w '%{http_code}' -X "$method" --max-time 30)
	[ "$who" != none ] && args+=(--cert "$T/$who.crt" --key "$T/$who.key")
	[ -n "$body" ] && args+=(--data-binary "$body")
	CODE=$(curl "${args[@]}" "$URL$path" 2>"$ERR") || true
}
# expect_code NAME WANT PATTERN - $CODE and a pattern in the body.
expect_code() {
	if [ "$CODE" = "$2" ] && grep -qE -- "$3" "$OUT"; then
		pass "$1"
	else
		fail "$1" "HTTP $CODE (want $2), body:"
		show "$OUT"
	fi
}

req admin GET /v1/whoami
expect_code "agent: whoami over mutual TLS" 200 '"role":"admin"'
req admin GET /v1/certificates
expect_code "agent: certificates lists the host certificate" 200 \
	'"Subject":"CN=smoke1".*"IsSelfSigned":true'
req reader GET /v1/certificates
expect_code "agent: a reader may list" 200 '"CN=smoke1"'

# ---- refusals ---------------------------------------------------------
before=$(store_snapshot "$T/state/store")
req none GET /v1/whoami
if [ "$CODE" = 000 ]; then
	pass "agent: no client certificate, no handshake"
else
	fail "agent: no client certificate, no handshake" "HTTP $CODE"
fi
req stranger GET /v1/whoami
expect_code "agent: an unknown certificate is refused" 403 \
	'"code":"denied".*not authorized on smoke1'
req reader POST /v1/remove '{"thumbprint":"00000000","force":true}'
expect_code "agent: a reader may not change" 403 '"code":"denied"'
req reader POST /v1/export '{"thumbprint":"00000000","format":"pem","password":"x"}'
expect_code "agent: a reader may not export" 403 '"code":"denied"'
expect_eq "agent: refusals leave the store as it was" \
	"$(store_snapshot "$T/state/store")" "$before"
# Refusals are audited by the agent's audit thread, after the answer went
# out: wait until the log holds all three, then check each.
A_HANDSHAKE='"Actor":"tls:no-certificate","Operation":"connect"[^}]*no client certificate'
A_STRANGER="\"Actor\":\"tls:$(fp_of "$T/stranger.crt") \\(stranger\\)\"[^}]*refused: not authorized"
A_READER="\"Actor\":\"tls:$(fp_of "$T/reader.crt") \\(reader\\)\",\"Operation\":\"export\"[^}]*refused"
all_audited() {
	req admin GET /v1/log
	grep -qE -- "$A_HANDSHAKE" "$OUT" && grep -qE -- "$A_STRANGER" "$OUT" &&
		grep -qE -- "$A_READER" "$OUT"
}
wait_until 10 all_audited
expect_code "agent: refused handshake audited" 200 "$A_HANDSHAKE"
expect_code "agent: unknown certificate audited" 200 "$A_STRANGER"
expect_code "agent: reader's attempts audited" 200 "$A_READER"

# ---- the Unix socket ----------------------------------------------------
if [ "$(stat -c %a "$T/agent.sock" 2>/dev/null)" = 660 ]; then
	pass "agent: socket mode 0660"
else
	fail "agent: socket mode 0660" "$(stat -c %a "$T/agent.sock" 2>&1)"
fi
CODE=$(curl -s -o "$OUT" -w '%{http_code}' --unix-socket "$T/agent.sock" \
	http://agent/v1/whoami 2>"$ERR") || true
if [ "$(id -u)" = 0 ]; then
	expect_code "agent: root on the socket is admin" 200 '"role":"admin","client":""'
else
	expect_code "agent: a non-root peer on the socket is refused" 403 denied
fi

# ---- limits -------------------------------------------------------------
req admin POST /v1/import '{"files": '
expect_code "agent: a body that is not JSON is 400" 400 '"code":"parse"'
req admin POST /v1/import '[[[[[[[[[[1]]]]]]]]]]'
expect_code "agent: JSON deeper than 8 is 400" 400 'deeper than 8'
req admin GET /v1/nothing
expect_code "agent: an unknown path is 404" 404 '"code":"not-found"'
req admin DELETE /v1/whoami
expect_code "agent: a wrong method is 405" 405 '"code":"usage"'
head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
req admin POST /v1/import "@$T/big.json"
expect_eq "agent: a body over 8 MiB is 413" "$CODE" 413

# ---- slow work off the loop --------------------------------------------
# Every get answers while two keys are generated; how fast, against gets
# with no generation, is a benchmark (bench/keygen_run.sh), not a test.
for k in 1 2; do
	curl -sk --cert "$T/admin.crt" --key "$T/admin.key" -o "$T/gen$k.out" \
		-w '%{http_code}' --max-time 60 -X POST \
		--data-binary "{\"subject\":\"CN=big$k.example.com\",\"key\":\"rsa4096\",\"days\":30}" \
		"$URL/v1/new-self-signed" >"$T/gen$k.code" 2>/dev/null &
done
slowest=0 gets=0 bad=0
while [ ! -s "$T/gen1.code" ] || [ ! -s "$T/gen2.code" ]; do
	t=$(curl -sk --cert "$T/reader.crt" --key "$T/reader.key" -o /dev/null \
		-w '%{http_code} %{time_total}' --max-time 10 "$URL/v1/certificates") || true
	[ "${t% *}" = 200 ] || bad=$((bad + 1))
	ms=$(awk -v s="${t#* }" 'BEGIN { printf "%d", s * 1000 }')
	[ "$ms" -gt "$slowest" ] && slowest=$ms
	gets=$((gets + 1))
	[ "$gets" -ge 300 ] && break
	sleep 0.05
done
generated() { [ -s "$T/gen1.code" ] && [ -s "$T/gen2.code" ]; }
wait_until 60 generated
echo "# $gets gets during two RSA-4096 generations, slowest ${slowest} ms"
if [ "$bad" -eq 0 ] && [ "$gets" -gt 0 ]; then
	pass "agent: gets answered while RSA-4096 keys are generated"
else
	fail "agent: gets answered while RSA-4096 keys are generated" \
		"$bad failed, slowest ${slowest} ms"
fi
if [ "$(cat "$T/gen1.code")" = 200 ] && [ "$(cat "$T/gen2.code")" = 200 ] &&
	grep -q '"Result":"imported"' "$T/gen1.out"; then
	pass "agent: new-self-signed rsa4096 over the API"
else
	fail "agent: new-self-signed rsa4096 over the API" \
		"$(cat "$T/gen1.code" "$T/gen1.out" 2>&1)"
fi

# ---- revocation, reload, stop ---------------------------------------------
check "agent: revoke" cfd revoke "$(fp_of "$T/reader.crt")" --config "$CONF"
req reader GET /v1/certificates
expect_code "agent: a revoked client is refused at once" 403 '"code":"denied"'

sed -i 's/^name = smoke1$/name = smoke2/' "$CONF"
kill -HUP "$AGENT_PID"
wait_until 5 grep -q 'configuration reloaded' "$T/agent.err"
req admin GET /v1/whoami
expect_code "agent: SIGHUP re-reads the name" 200 '"agent":"smoke2"'

kill -TERM "$AGENT_PID"
rc=0
wait_until 15 eval '! kill -0 "$AGENT_PID"'
if kill -0 "$AGENT_PID" 2>/dev/null; then
	fail "agent: SIGTERM stops it" "still running after 15 s"
else
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	expect_eq "agent: SIGTERM stops it, exit 0" "$rc" 0
fi
if [ ! -e "$T/agent.sock" ]; then
	pass "agent: the socket is gone"
else
	fail "agent: the socket is gone"
fi
if grep -qE 'Sanitizer|runtime error' "$T/agent.err"; then
	fail "agent: no sanitizer report"
	show "$T/agent.err" 40
fi

e2e_done
