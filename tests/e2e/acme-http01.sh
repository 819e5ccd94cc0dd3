#!/usr/bin/env bash
# acme-http01.sh - the HTTP-01 key authorizations an agent serves for the
# ACME issue (src/agent/http01.c): published through the API, written to
# every service's acme_webroot, served there by a real nginx, answered by
# certfleetd's own responder (acme_listen) and, through a real haproxy
# that forwards /.well-known/acme-challenge/ to it, as a CA's validation
# request would see them; withdrawn, expired and cleared at stop.
#
# Negative cases: a token that is no ACME token, a key authorization of
# another token, a bad Ttl, a reader's PUT, an unknown token's DELETE, a
# webroot writable by everyone (nothing published anywhere: all or
# nothing), anything but GET of a token on the responder, and a
# non-loopback acme_listen.
#
#   bash tests/e2e/acme-http01.sh      (CERTFLEETD=path to test another build)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
require_tools "$CERTFLEETD" nginx haproxy openssl curl jq

# The webroots must be readable by nginx's worker (nobody): outside $T,
# which is 0700.
WWW=$(mktemp -d /tmp/cf-e2e-acme.XXXXXX) || exit 1
chmod 755 "$WWW"
mkdir -m 755 "$WWW/a" "$WWW/b"
NGINX_PID=
HAPROXY_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p
	for p in $NGINX_PID $HAPROXY_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	agents_cleanup
	rm -rf "$WWW"
}
trap cleanup EXIT

read -r -d '' HTTP FRONT < <(free_ports 2) || true

# ---- acme_listen must be a loopback address --------------------------------

agent_conf bad
echo "acme_listen = 0.0.0.0:8402" >>"$T/bad.conf"
check_fails "acme_listen 0.0.0.0 is refused by check-config, naming the line" 1 \
	'bad.conf:[0-9]+: acme_listen 0.0.0.0:8402: not a loopback address; .*127.0.0.1 or \[::1\]' \
	cfd check-config --config "$T/bad.conf"
sed -i 's/^acme_listen = .*/acme_listen = 127.0.0.1:0/' "$T/bad.conf"
check "bad: agent init with acme_listen 127.0.0.1" cfd init --config "$T/bad.conf"
check "acme_listen 127.0.0.1 passes check-config" cfd check-config --config "$T/bad.conf"

# ---- the agent: two services with a webroot each ---------------------------

agent_conf ex1
mkdir -p "$T/files"
cat >>"$T/ex1.conf" <<EOF
acme_listen = 127.0.0.1:0

[service https]
kind = files
chain = $T/files/https.crt
key = $T/files/https.key
acme_webroot = $WWW/a

[service smtp]
kind = files
pem = $T/files/smtp.pem
acme_webroot = $WWW/b

[service imap]
kind = files
pem = $T/files/imap.pem
acme_webroot = $WWW/a
EOF
check "ex1: agent init" cfd init --config "$T/ex1.conf"
agent_start ex1 || e2e_done
ACME=$(sed -n 's/.* answers ACME HTTP-01 challenges over plain HTTP on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/ex1.log")
if [ -n "$ACME" ]; then
	pass "ex1: says where it answers ACME HTTP-01 challenges"
else
	fail "ex1: says where it answers ACME HTTP-01 challenges"
	show "$T/ex1.log"
	e2e_done
fi

# ---- nginx serving webroot a, haproxy forwarding to the responder ----------

mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log notice;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/nginx/client_body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$HTTP;
		location /.well-known/acme-challenge/ { root $WWW/a; default_type text/plain; }
		location = /.well-known/acme-challenge/RRRRRRRRRRRRRRRRRRRRRRRR { return 301 https://elsewhere.example/; }
		location / { return 404; }
	}
}
EOF
nginx -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" -p "$T/nginx/" 2>"$T/nginx/start.err" &
NGINX_PID=$!
cat >"$T/haproxy.cfg" <<EOF
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend port80
	bind 127.0.0.1:$FRONT
	use_backend certfleet_acme if { path_beg /.well-known/acme-challenge/ }
	default_backend none
backend certfleet_acme
	server ex1 127.0.0.1:$ACME
backend none
	http-request deny deny_status 404
EOF
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
HAPROXY_PID=$!
if wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP && exec 4<>/dev/tcp/127.0.0.1/$FRONT" 2>/dev/null; then
	pass "nginx and haproxy listen on loopback"
else
	fail "nginx and haproxy listen on loopback"
	show "$T/nginx/start.err"
	show "$T/haproxy.log"
	e2e_done
fi

# api METHOD PATH [BODY] - the agent's API on its Unix socket (root:
# admin); the body of the answer in $T/api, the status printed.
api() {
	curl -s --max-time 30 --unix-socket "$SOCKDIR/ex1.sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		-o "$T/api" -w '%{http_code}' "http://localhost$2"
}
# get URL - GET over plain HTTP: the body in $T/got, the status printed.
get() {
	curl -s --max-time 10 -D "$T/got.h" -o "$T/got" -w '%{http_code}' "$1"
}
token() { openssl rand 32 | basenc --base64url | tr -d '=\n'; }
THUMB=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
TOK=$(token)
KA="$TOK.$THUMB"
PATH_A=$WWW/a/.well-known/acme-challenge
PATH_B=$WWW/b/.well-known/acme-challenge

# ---- publish ------------------------------------------------------------------

expect_eq "PUT a token: 200" "$(api PUT "/v1/acme/challenges/$TOK" "{\"KeyAuthorization\":\"$KA\"}")" 200
expect_eq "the answer names both webroots once each" \
	"$(jq -r '.Webroots | join(",")' "$T/api")" "$WWW/a,$WWW/b"
expect_eq "webroot a holds the key authorization" "$(cat "$PATH_A/$TOK" 2>&1)" "$KA"
expect_eq "webroot b holds it too" "$(cat "$PATH_B/$TOK" 2>&1)" "$KA"
expect_eq "the file is 0644 and the directories 0755, for the web server" \
	"$(stat -c %a "$PATH_A/$TOK" "$PATH_A" "$WWW/a/.well-known" | tr '\n' ' ')" "644 755 755 "
expect_eq "nginx serves it from webroot a" "$(get "http://127.0.0.1:$HTTP/.well-known/acme-challenge/$TOK"):$(cat "$T/got")" "200:$KA"
expect_eq "the responder answers it" "$(get "http://127.0.0.1:$ACME/.well-known/acme-challenge/$TOK"):$(cat "$T/got")" "200:$KA"
check "... as text/plain" grep -qi '^content-type: text/plain' "$T/got.h"
expect_eq "haproxy forwards a validation request to the responder" \
	"$(get "http://127.0.0.1:$FRONT/.well-known/acme-challenge/$TOK"):$(cat "$T/got")" "200:$KA"
expect_eq "GET /v1/acme/challenges lists it" "$(api GET /v1/acme/challenges):$(jq -r '.[].Token' "$T/api")" "200:$TOK"
expect_eq "... without the key authorization" "$(jq -r '.[0] | has("KeyAuthorization")' "$T/api")" false
# The pre-check certfleet makes before the CA is told to validate
# (src/acme/http01_check.c): each member directly, the balancer sampled.
CFA=$E2E_ROOT/build/cf-acme
check "pre-check: nginx serves the token with Host: mail.example.com" \
	"$CFA" http01-check "127.0.0.1:$HTTP" mail.example.com "$TOK" "$KA"
check "pre-check: the balancer, 4 samples, each the token" \
	"$CFA" http01-check "127.0.0.1:$FRONT" mail.example.com "$TOK" "$KA" --samples 4
check_fails "pre-check: a token not served: HTTP 404, the address named" 1 \
	"http-01: 127.0.0.1:$FRONT \\(Host: mail.example.com\\), request 1 of 2: HTTP 404; the CA was not asked" \
	"$CFA" http01-check "127.0.0.1:$FRONT" mail.example.com "$(token)" "$KA" --samples 2
check_fails "pre-check: another key authorization: the body shown" 1 \
	"HTTP 200 with another body \\(${TOK:0:20}" \
	"$CFA" http01-check "127.0.0.1:$HTTP" mail.example.com "$TOK" "$TOK.$(token | cut -c1-43)"
check_fails "pre-check: a redirect is reported, not followed" 1 \
	'HTTP 301, a redirect to https://elsewhere.example/' \
	"$CFA" http01-check "127.0.0.1:$HTTP" mail.example.com RRRRRRRRRRRRRRRRRRRRRRRR "$KA"
check "the audit records the publication" \
	bash -c "CERTFLEET_SOCKET=$SOCKDIR/ex1.sock $CERTFLEET --json log | grep -q 'acme-challenge-publish'"

# ---- what is refused ---------------------------------------------------------

expect_eq "a token with a dot is no ACME token: 400" \
	"$(api PUT /v1/acme/challenges/abc.defghijklmnopqrstuvwxyz "{\"KeyAuthorization\":\"$KA\"}")" 400
check "... and the error says what a token is" grep -q 'not an ACME token (base64url, 22 to 128' "$T/api"
expect_eq "a token of 8 characters: 400" "$(api PUT /v1/acme/challenges/abcdefgh '{"KeyAuthorization":"x"}')" 400
T2=$(token)
expect_eq "the key authorization of another token: 400" \
	"$(api PUT "/v1/acme/challenges/$T2" "{\"KeyAuthorization\":\"$KA\"}")" 400
check "... naming what to give" grep -q "KeyAuthorization: not this token's" "$T/api"
expect_eq "a Ttl of 0: 400" "$(api PUT "/v1/acme/challenges/$T2" "{\"KeyAuthorization\":\"$T2.$THUMB\",\"Ttl\":0}")" 400
check "nothing of the refused tokens reached a webroot" \
	bash -c "[ \$(ls '$PATH_A' | wc -l) = 1 ] && [ \$(ls '$PATH_B' | wc -l) = 1 ]"
expect_eq "DELETE of a token never published: 404" "$(api DELETE "/v1/acme/challenges/$T2")" 404
expect_eq "the responder: an unknown token is 404" "$(get "http://127.0.0.1:$ACME/.well-known/acme-challenge/$T2")" 404
expect_eq "the responder: GET /metrics is 404" "$(get "http://127.0.0.1:$ACME/metrics")" 404
expect_eq "the responder: GET /v1/acme/challenges is 404" "$(get "http://127.0.0.1:$ACME/v1/acme/challenges")" 404
expect_eq "the responder: POST of a token is 404" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "http://127.0.0.1:$ACME/.well-known/acme-challenge/$TOK")" 404

# A reader over mutual TLS may list, not publish.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=reader" -days 2 -keyout "$T/reader.key" -out "$T/reader.pem" 2>/dev/null
READER_FP=$(openssl x509 -in "$T/reader.pem" -noout -fingerprint -sha256 | sed 's/^.*=/SHA256:/; s/://2g')
check "authorize a reader" cfd authorize "$READER_FP" --role reader --config "$T/ex1.conf"
reader() {
	curl -sk --max-time 10 --cert "$T/reader.pem" --key "$T/reader.key" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		-o "$T/api" -w '%{http_code}' "https://127.0.0.1:${APORT[ex1]}$2"
}
expect_eq "a reader lists the challenges" "$(reader GET /v1/acme/challenges)" 200
expect_eq "a reader's PUT is refused: 403" \
	"$(reader PUT "/v1/acme/challenges/$T2" "{\"KeyAuthorization\":\"$T2.$THUMB\"}")" 403
check "... saying it needs the admin role" grep -q 'needs the admin role' "$T/api"

# A webroot everyone may write: refused, and nothing published anywhere.
chmod 777 "$WWW/b/.well-known/acme-challenge"
expect_eq "a webroot writable by everyone: refused (403, denied)" \
	"$(api PUT "/v1/acme/challenges/$T2" "{\"KeyAuthorization\":\"$T2.$THUMB\"}"):$(jq -r .code "$T/api")" 403:denied
check "... naming the directory and the fix" grep -q "every user may write in $PATH_B .*chmod o-w $PATH_B" "$T/api"
check "... and webroot a does not hold it either" test ! -e "$PATH_A/$T2"
expect_eq "... nor does the responder answer it" "$(get "http://127.0.0.1:$ACME/.well-known/acme-challenge/$T2")" 404
chmod 755 "$WWW/b/.well-known/acme-challenge"

# ---- withdraw, expire, stop ---------------------------------------------------

expect_eq "DELETE the token: 200" "$(api DELETE "/v1/acme/challenges/$TOK")" 200
check "its files are gone from both webroots" bash -c "[ ! -e '$PATH_A/$TOK' ] && [ ! -e '$PATH_B/$TOK' ]"
expect_eq "nginx no longer serves it" "$(get "http://127.0.0.1:$HTTP/.well-known/acme-challenge/$TOK")" 404
expect_eq "nor does the responder" "$(get "http://127.0.0.1:$ACME/.well-known/acme-challenge/$TOK")" 404

T3=$(token)
expect_eq "PUT a token that lives 1 s" "$(api PUT "/v1/acme/challenges/$T3" "{\"KeyAuthorization\":\"$T3.$THUMB\",\"Ttl\":1}")" 200
if wait_until 15 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$ACME/.well-known/acme-challenge/$T3)\" = 404 ]"; then
	pass "it expires: the responder stops answering it"
else
	fail "it expires: the responder stops answering it"
fi
check "... and its files are gone" bash -c "[ ! -e '$PATH_A/$T3' ] && [ ! -e '$PATH_B/$T3' ]"

T4=$(token)
expect_eq "PUT one more" "$(api PUT "/v1/acme/challenges/$T4" "{\"KeyAuthorization\":\"$T4.$THUMB\"}")" 200
check "ex1 stops" agent_stop ex1
check "the agent's stop removed its files" bash -c "[ ! -e '$PATH_A/$T4' ] && [ ! -e '$PATH_B/$T4' ]"

e2e_done
