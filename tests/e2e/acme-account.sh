#!/usr/bin/env bash
# acme-account.sh - ACME accounts whose key an agent keeps (issue 14):
# Debian's pebble on loopback with its own TLS certificate (trusted only
# through --ca-file), one agent reached over mutual TLS.  An account is
# made on the agent and registered at pebble by the CLI, every JWS signed
# by the agent; a taken name refused; no private key in what the agent
# shows; the sign route refuses a header for another origin, a kid not
# the account's and a reader; an http:// directory refused before any
# request; deactivate proven at pebble (the account's key, brought back
# from a copy of the agent's state, is refused as deactivated); external
# account binding required: refused with the CA's problem and nothing
# left on the agent, then accepted with the right MAC key.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
require_tools "$CERTFLEETD" pebble openssl curl jq python3
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	fail "acme-account: python3-jsonschema" "not installed (scripts/setup-deps.sh installs it)"
	e2e_done
fi
SCHEMA="python3 $E2E_ROOT/tests/e2e/json-schema.py $E2E_ROOT/docs/json.md"
# valid NAME SCHEMA - the last output is valid against SCHEMA (docs/json.md).
valid() {
	if $SCHEMA "$2" "$OUT" 2>"$T/why"; then
		pass "$1"
	else
		fail "$1" "not valid against schema $2 of docs/json.md"
		show "$T/why"
	fi
}
export CERTFLEET_HOME=$T/home

PEBBLES=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p
	for p in "${PEBBLES[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	agents_cleanup
}
trap cleanup EXIT

read -r P_ACME P_MGMT P_EAB P_EABM P_HTTP P_TLS P_AGENT < <(free_ports 7 | tr '\n' ' ')

# --- pebble's own TLS listener: a CA and a certificate for 127.0.0.1 -----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/tls-ca.key" -out "$T/tls-ca.pem" -days 2 \
	-subj "/CN=acme-account test TLS CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" \
	-out "$T/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
openssl x509 -req -in "$T/tls.csr" -CA "$T/tls-ca.pem" -CAkey "$T/tls-ca.key" \
	-CAcreateserial -days 2 -out "$T/tls.pem" \
	-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null
EAB_KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W

# pebble_start NAME ACME_PORT MGMT_PORT EAB(true|false)
pebble_start() {
	cat >"$T/$1.json" <<-EOF
		{ "pebble": {
		  "listenAddress": "127.0.0.1:$2",
		  "managementListenAddress": "127.0.0.1:$3",
		  "certificate": "$T/tls.pem",
		  "privateKey": "$T/tls.key",
		  "httpPort": $P_HTTP,
		  "tlsPort": $P_TLS,
		  "ocspResponderURL": "",
		  "externalAccountBindingRequired": $4,
		  "externalAccountMACKeys": { "kid-1": "$EAB_KEY" }
		} }
	EOF
	PEBBLE_VA_NOSLEEP=1 setsid pebble -config "$T/$1.json" >"$T/$1.log" 2>&1 &
	PEBBLES+=($!)
	if ! wait_until 20 curl -sf --cacert "$T/tls-ca.pem" "https://127.0.0.1:$2/dir"; then
		fail "$1: pebble started" "no directory on 127.0.0.1:$2"
		show "$T/$1.log" 20
		e2e_done
	fi
	pass "$1: pebble serves its directory on 127.0.0.1:$2"
}
pebble_start pebble "$P_ACME" "$P_MGMT" false
pebble_start pebble-eab "$P_EAB" "$P_EABM" true
DIR="https://127.0.0.1:$P_ACME/dir"
DIR_EAB="https://127.0.0.1:$P_EAB/dir"

# --- one agent, the admin's identity authorized and pinned --------------
check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
agent_conf ex1 "$P_AGENT"
cfd init --config "$T/ex1.conf" >/dev/null
cfd authorize "$ID" --role admin --config "$T/ex1.conf" >/dev/null
agent_start ex1 || e2e_done
check "fleet: add ex1" cf fleet add ex1 "127.0.0.1:$P_AGENT" \
	--fingerprint "$(cfd fingerprint --config "$T/ex1.conf")"
# shellcheck disable=SC2317 # called through check and check_fails
acct() { cf acme account "$@" --server ex1 --ca-file "$T/tls-ca.pem"; }
listing() { cf acme account show --server ex1 --json; }
names() { listing | jq -r '[.Items[].Name] | join(",")'; }

# --- refused before any request ------------------------------------------
check_fails "new: an http:// directory is refused" 2 'not an https URL' \
	acct new plain --directory "http://127.0.0.1:$P_ACME/dir"
check_fails "new: a directory with a user name is refused" 2 'not an https URL' \
	acct new plain --directory "https://u:p@127.0.0.1:$P_ACME/dir"
check_fails "new: --eab-kid without its MAC key file" 2 'go together' \
	acct new plain --directory "$DIR" --eab-kid kid-1
expect_eq "refused: nothing on the agent" "$(names)" ""
run cf log --server ex1 --json
if grep -q 'acme-account-new' "$OUT"; then
	fail "refused: not even asked of the agent" "the audit has acme-account-new"
else
	pass "refused: not even asked of the agent"
fi

# --- an account -------------------------------------------------------------
check "new: account le at pebble" acct new le --directory "$DIR" --agree-tos \
	--contact mailto:ops@example.com --json
valid "new: its JSON is docs/json.md's" acme-account
URL=$(jq -r '.Items[0].Url' "$OUT")
case $URL in
https://127.0.0.1:"$P_ACME"/*) pass "new: the account URL is pebble's ($URL)" ;;
*) fail "new: the account URL is pebble's" "got '$URL'" ;;
esac
run listing
valid "show: its JSON is docs/json.md's" acme-account
expect_eq "show: the agent lists le with pebble's URL" \
	"$(jq -r '.Items[] | select(.Name == "le") | .Url' "$OUT")" "$URL"
expect_eq "show: ES256, a P-256 key" \
	"$(jq -r '.Items[0] | "\(.Alg) \(.KeyType) \(.Jwk.crv)"' "$OUT")" "ES256 p256 P-256"
expect_eq "show: the public JWK only (no d)" \
	"$(jq -r '.Items[0].Jwk | has("d")' "$OUT")" false
BEFORE=$(jq -cS '.Items' "$OUT")
check "show: a table by default" cf acme account show le --server ex1
if grep -q "^le .*$URL" "$OUT"; then pass "show: the table has le and its URL"; else
	fail "show: the table has le and its URL"
	show "$OUT"
fi
check_fails "show: an unknown account" 1 'nope: no such account' \
	cf acme account show nope --server ex1

check_fails "new: the same name again is refused" 1 'le: the name is taken' \
	acct new le --directory "$DIR" --agree-tos
expect_eq "new: refused, the account as it was" "$(listing | jq -cS '.Items')" "$BEFORE"
check_fails "new: an RSA key of 1024 bits is refused" 2 '\-\-key rsa1024: give p256' \
	acct new small --directory "$DIR" --key rsa1024
check "new: an RS256 account (rsa2048)" acct new rsa --directory "$DIR" --key rsa2048 --agree-tos --json
expect_eq "new: RS256 for rsa2048" "$(jq -r '.Items[0].Alg' "$OUT")" RS256

run cf log --server ex1 --json
for op in acme-account-new acme-account-register; do
	if grep -q "$op" "$OUT"; then pass "audit: $op recorded"; else fail "audit: $op recorded"; fi
done
if grep -qE '"d" *:|PRIVATE KEY' "$OUT" "$T/ex1.log"; then
	fail "audit and log: no private key"
else
	pass "audit and log: no private key"
fi

# --- the sign route ---------------------------------------------------------
b64u() { printf '%s' "$1" | openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# sign AS PROTECTED_JSON - POST .../le/sign as the admin or a reader; the
# HTTP status, the body in $T/api.
sign() {
	local cert=$CERTFLEET_HOME/id.crt key=$CERTFLEET_HOME/id.key
	[ "$1" = reader ] && cert=$T/reader.pem key=$T/reader.key
	curl -sk --max-time 10 --cert "$cert" --key "$key" -X POST \
		-H 'Content-Type: application/json' \
		--data-binary "{\"Protected\":\"$(b64u "$2")\",\"Payload\":\"$(b64u '{}')\"}" \
		-o "$T/api" -w '%{http_code}' "https://127.0.0.1:$P_AGENT/v1/acme/accounts/le/sign"
}
ok_hdr="{\"alg\":\"ES256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"kid\":\"$URL\"}"
expect_eq "sign: the account's own header is signed" "$(sign admin "$ok_hdr")" 200
expect_eq "sign: a signature of 64 bytes (ES256, r||s)" \
	"$(jq -r .Signature "$T/api" | tr -- '-_' '+/' | awk '{ n = length($0) % 4; s = $0; if (n) s = s substr("==", 1, 4 - n); print s }' | openssl base64 -d -A | wc -c)" 64
expect_eq "sign: a url on another origin is refused (403)" \
	"$(sign admin "{\"alg\":\"ES256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_EAB/x\",\"kid\":\"$URL\"}")" 403
if grep -q 'origin' "$T/api"; then pass "sign: ... naming the origin"; else fail "sign: ... naming the origin" "$(cat "$T/api")"; fi
expect_eq "sign: a kid not the account's is refused (403)" \
	"$(sign admin "{\"alg\":\"ES256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"kid\":\"${URL}9\"}")" 403
expect_eq "sign: another alg is refused (403)" \
	"$(sign admin "{\"alg\":\"RS256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"kid\":\"$URL\"}")" 403
expect_eq "sign: no nonce is refused (400)" \
	"$(sign admin "{\"alg\":\"ES256\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"kid\":\"$URL\"}")" 400
expect_eq "sign: both jwk and kid are refused (400)" \
	"$(sign admin "{\"alg\":\"ES256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"kid\":\"$URL\",\"jwk\":{}}")" 400
JWK=$(listing | jq -c '.Items[] | select(.Name == "le") | .Jwk')
expect_eq "sign: its own jwk, once registered, is refused (403)" \
	"$(sign admin "{\"alg\":\"ES256\",\"nonce\":\"n0\",\"url\":\"https://127.0.0.1:$P_ACME/x\",\"jwk\":$JWK}")" 403
if grep -q 'registered' "$T/api"; then pass "sign: ... saying it is registered"; else fail "sign: ... saying it is registered" "$(cat "$T/api")"; fi
expect_eq "new: a name starting with punctuation is refused (400)" \
	"$(curl -sk --max-time 10 --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
		-X POST -H 'Content-Type: application/json' \
		--data-binary "{\"Name\":\"-x\",\"Directory\":\"$DIR\"}" -o "$T/api" -w '%{http_code}' \
		"https://127.0.0.1:$P_AGENT/v1/acme/accounts")" 400
curl -sk --max-time 10 --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	-o "$T/metrics" "https://127.0.0.1:$P_AGENT/metrics"
n=$(sed -n 's|^certfleet_api_requests_total{route="/v1/acme/accounts/{name}/sign",status="200"} ||p' "$T/metrics")
if [ "${n:-0}" -ge 3 ]; then
	pass "metrics: the signatures counted by route ($n)"
else
	fail "metrics: the signatures counted by route" "$(grep acme "$T/metrics")"
fi
n=$(sed -n 's|^certfleet_api_requests_total{route="/v1/acme/accounts/{name}/sign",status="403"} ||p' "$T/metrics")
expect_eq "metrics: the refusals counted apart" "${n:-0}" 4
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=reader" -days 2 -keyout "$T/reader.key" -out "$T/reader.pem" 2>/dev/null
READER_FP=$(openssl x509 -in "$T/reader.pem" -noout -fingerprint -sha256 | sed 's/^.*=/SHA256:/; s/://2g')
check "authorize a reader" cfd authorize "$READER_FP" --role reader --config "$T/ex1.conf"
expect_eq "sign: a reader is refused (403)" "$(sign reader "$ok_hdr")" 403
expect_eq "a reader lists the accounts (200)" \
	"$(curl -sk --max-time 10 --cert "$T/reader.pem" --key "$T/reader.key" -o "$T/api" \
		-w '%{http_code}' "https://127.0.0.1:$P_AGENT/v1/acme/accounts")" 200

# --- deactivate, proven at pebble --------------------------------------------
# A copy of the agent's state while le is still there: brought back after
# the deactivation, its key signs again, and pebble must refuse it.
agent_stop ex1
cp -a "$T/ex1" "$T/ex1.saved"
agent_start ex1 || e2e_done
check "deactivate: le" acct deactivate le --json
valid "deactivate: its JSON is docs/json.md's" acme-account-deactivate
expect_eq "deactivate: le gone from the agent" "$(names)" rsa
check_fails "deactivate: again, no such account" 1 'le: no such account' acct deactivate le
agent_stop ex1
rm -rf "$T/ex1"
mv "$T/ex1.saved" "$T/ex1"
agent_start ex1 || e2e_done
check_fails "deactivate: pebble refuses the deactivated account's key" 1 \
	'urn:ietf:params:acme:error:unauthorized' acct deactivate le
expect_eq "deactivate: refused, le still on the agent" "$(names)" le,rsa

# --- external account binding -------------------------------------------------
check_fails "eab: without a binding, the CA's problem" 1 \
	'urn:ietf:params:acme:error:externalAccountRequired' \
	acct new bound --directory "$DIR_EAB" --agree-tos
expect_eq "eab: refused, nothing left on the agent" "$(names)" le,rsa
printf '%s\n' "$EAB_KEY" >"$T/eab.key"
chmod 600 "$T/eab.key"
printf '%s\n' "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH" >"$T/eab-wrong.key"
check_fails "eab: a wrong MAC key, the CA's problem" 1 'urn:ietf:params:acme:error:' \
	acct new bound --directory "$DIR_EAB" --agree-tos --eab-kid kid-1 --eab-hmac-key-file "$T/eab-wrong.key"
expect_eq "eab: refused, nothing left on the agent" "$(names)" le,rsa
check "eab: with kid-1 and its MAC key" acct new bound --directory "$DIR_EAB" \
	--agree-tos --eab-kid kid-1 --eab-hmac-key-file "$T/eab.key" --json
case $(jq -r '.Items[0].Url' "$OUT") in
https://127.0.0.1:"$P_EAB"/*) pass "eab: the account URL is pebble's" ;;
*) fail "eab: the account URL is pebble's" "$(cat "$OUT")" ;;
esac
expect_eq "eab: listed" "$(names)" bound,le,rsa
# the MAC key on stdin (-)
eab_stdin() { acct new "$1" --directory "$DIR_EAB" --agree-tos --eab-kid kid-1 --eab-hmac-key-file - <"$2"; }
check_fails "eab: an empty stdin is refused, before the agent is asked" 2 'no key in it' \
	eab_stdin bound2 /dev/null
check "eab: the MAC key read from stdin" eab_stdin bound2 "$T/eab.key"
expect_eq "eab: listed" "$(names)" bound,bound2,le,rsa
if grep -q "$EAB_KEY" "$T/ex1.log" "$T/ex1/"* 2>/dev/null; then
	fail "eab: the MAC key nowhere in the agent's log or state"
else
	pass "eab: the MAC key nowhere in the agent's log or state"
fi

e2e_done
