#!/usr/bin/env bash
# acme-revoke.sh - certfleet revoke (issue 14) against a real CA: Debian's
# pebble on loopback (pebble-challtestsrv its DNS, every name at
# 127.0.0.1), one agent keeping an ACME account, whose https service has
# an acme_webroot that a private nginx serves on pebble's httpPort.  A
# one-member namespace gets its certificate with `certfleet issue`; then
# `certfleet revoke` revokes it with a reason, proven at pebble's
# management API (cert-status-by-serial: Revoked, the reason code), and
# the agent's store is unchanged.
#
# Negative cases: a reason that is no reason and one ACME CAs refuse
# (usage, exit 2, the accepted names listed, nothing asked of anyone); an
# unknown thumbprint (named, exit 1, nothing signed, no request to the
# CA); a pending request; no account on the agent, one it does not
# keep, several and none named (usage, both listed); a self-signed
# certificate the CA never issued, an account that did not order the
# certificate and a second revocation (the CA's problem shown as it sent
# it).  The agent audits each revocation it signs (acme-revoke).
#
#   bash tests/e2e/acme-revoke.sh      (CERTFLEETD=path to test another build)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=120
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
require_tools "$CERTFLEETD" pebble pebble-challtestsrv nginx openssl curl jq python3
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	fail "acme-revoke: python3-jsonschema" "not installed (scripts/setup-deps.sh installs it)"
	e2e_done
fi
SCHEMA="python3 $E2E_ROOT/tests/e2e/json-schema.py $E2E_ROOT/docs/json.md"
export CERTFLEET_HOME=$T/home

# The webroot must be readable by nginx's worker (nobody): outside $T,
# which is 0700.
WWW=$(mktemp -d /tmp/cf-e2e-revoke.XXXXXX) || exit 1
chmod 755 "$WWW"
PIDS=()
NGINX_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p
	for p in "${PIDS[@]}" $NGINX_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	agents_cleanup
	rm -rf "$WWW"
}
trap cleanup EXIT

read -r P_ACME P_MGMT P_HTTP P_TLS P_DNS P_CTS P_AGENT < <(free_ports 7 | tr '\n' ' ')

# --- pebble's own TLS listener: a CA and a certificate for 127.0.0.1 -----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/tls-ca.key" -out "$T/tls-ca.pem" -days 2 \
	-subj "/CN=acme-revoke test TLS CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" \
	-out "$T/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
openssl x509 -req -in "$T/tls.csr" -CA "$T/tls-ca.pem" -CAkey "$T/tls-ca.key" \
	-CAcreateserial -days 2 -out "$T/tls.pem" \
	-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null

setsid pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	-dns01 "127.0.0.1:$P_DNS" -http01 "" -https01 "" -tlsalpn01 "" \
	-management "127.0.0.1:$P_CTS" >"$T/challtestsrv.log" 2>&1 &
PIDS+=($!)
cat >"$T/pebble.json" <<EOF
{ "pebble": {
  "listenAddress": "127.0.0.1:$P_ACME",
  "managementListenAddress": "127.0.0.1:$P_MGMT",
  "certificate": "$T/tls.pem",
  "privateKey": "$T/tls.key",
  "httpPort": $P_HTTP,
  "tlsPort": $P_TLS,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
} }
EOF
# No nonce refused at random (pebble's default is 5%): a badNonce retry
# has the agent sign the same request twice, and this test counts the
# agent's audit lines of each signature (acme-core.sh tests the retry).
PEBBLE_WFE_NONCEREJECT=0 PEBBLE_VA_NOSLEEP=1 setsid pebble -config "$T/pebble.json" \
	-dnsserver "127.0.0.1:$P_DNS" >"$T/pebble.log" 2>&1 &
PIDS+=($!)
if wait_until 20 curl -sf --cacert "$T/tls-ca.pem" "https://127.0.0.1:$P_ACME/dir"; then
	pass "pebble serves its directory on 127.0.0.1:$P_ACME"
else
	fail "pebble serves its directory" "nothing on 127.0.0.1:$P_ACME"
	show "$T/pebble.log" 20
	e2e_done
fi
DIR="https://127.0.0.1:$P_ACME/dir"
# mgmt PATH - pebble's management API.
mgmt() { curl -sf --max-time 10 --cacert "$T/tls-ca.pem" "https://127.0.0.1:$P_MGMT$1"; }

# --- nginx serving the agent's acme_webroot on pebble's httpPort -----------
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log notice;
events { worker_connections 64; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/client_body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$P_HTTP;
		location /.well-known/acme-challenge/ { root $WWW; default_type text/plain; }
		location / { return 404; }
	}
}
EOF
nginx -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" -p "$T/nginx/" 2>"$T/nginx/start.err" &
NGINX_PID=$!
if wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_HTTP" 2>/dev/null; then
	pass "nginx serves the webroot on pebble's httpPort"
else
	fail "nginx serves the webroot on pebble's httpPort"
	show "$T/nginx/start.err"
	e2e_done
fi

# --- one agent with an https service and its webroot, an account -----------
check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
agent_conf ex1 "$P_AGENT"
mkdir -p "$T/files"
cat >>"$T/ex1.conf" <<EOF

[service https]
kind = files
chain = $T/files/https.crt
key = $T/files/https.key
acme_webroot = $WWW
EOF
cfd init --config "$T/ex1.conf" >/dev/null
cfd authorize "$ID" --role admin --config "$T/ex1.conf" >/dev/null
agent_start ex1 || e2e_done
check "fleet: add ex1" cf fleet add ex1 "127.0.0.1:$P_AGENT" \
	--fingerprint "$(cfd fingerprint --config "$T/ex1.conf")"
check_fails "no account on the agent: said so, with how to make one" 1 \
	'^certfleet: ex1: revoke: no ACME account on the agent: make one with .certfleet acme account new.' \
	cf revoke DEADBEEF00 --server ex1
check "acme account new le" cf acme account new le --server ex1 --directory "$DIR" \
	--agree-tos --ca-file "$T/tls-ca.pem"
# shellcheck disable=SC2317 # called through check and check_fails
rv() { cf revoke "$@" --server ex1 --acme-ca-file "$T/tls-ca.pem"; }
# signatures - how many JWS the agent has signed for its accounts.
signatures() {
	curl -sk --max-time 10 --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
		"https://127.0.0.1:$P_AGENT/metrics" |
		sed -n 's|^certfleet_api_requests_total{route="/v1/acme/accounts/{name}/sign",status="200"} ||p' |
		grep . || echo 0
}

# --- refused before anything is asked ---------------------------------------
check_fails "reason: no such name: usage, the accepted names listed" 2 \
	'--reason bogus: no such reason; give unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation' \
	rv DEADBEEF00 --reason bogus
check_fails "reason: certificateHold is refused, saying why" 2 \
	'--reason certificateHold \(6\): not sent: a suspension.*; give unspecified' \
	rv DEADBEEF00 --reason certificateHold
check_fails "reason: privilegeWithdrawn is the CA's" 2 'privilegeWithdrawn \(9\): not sent' \
	rv DEADBEEF00 --reason privilegeWithdrawn
check "a local store" cf store init "$T/local"
check_fails "a local store keeps no account: --server" 2 'kept on one agent' \
	cf revoke DEADBEEF00 --store "$T/local"

N0=$(signatures)
H0=$(wc -l <"$T/pebble.log")
check_fails "an unknown thumbprint: named, exit 1" 1 \
	'^certfleet: ex1: revoke: .*DEADBEEF00.*' rv DEADBEEF00 --reason superseded
expect_eq "an unknown thumbprint: nothing signed by the agent" "$(signatures)" "$N0"
expect_eq "an unknown thumbprint: no request to the CA (pebble's log)" \
	"$(wc -l <"$T/pebble.log")" "$H0"
check_fails "--account: an account the agent does not keep" 1 \
	'ACME account nope: no such account' rv DEADBEEF00 --account nope

check "request new: a pending request on ex1" cf request new --server ex1 \
	--subject CN=pending.revoke.example.com -o "$T/pending.csr"
PENDING=$(cf get --server ex1 --json | jq -r '.Items[] | select(.Status == "PendingRequest") | .Thumbprint')
check_fails "a pending request: nothing a CA issued, named" 1 \
	"^certfleet: ex1: revoke: $PENDING: a pending request, which no CA has issued yet" \
	rv "${PENDING:0:8}"
expect_eq "a pending request: nothing signed by the agent" "$(signatures)" "$N0"

# --- a certificate the CA did not issue ---------------------------------------
check "new: a self-signed certificate on ex1" cf new --self-signed \
	--subject CN=self.revoke.example.com --days 10 --server ex1 --json
SELF=$(jq -r '.Items[0].Thumbprint' "$OUT")
check_fails "self-signed: the CA's problem, as it sent it" 1 \
	"^certfleet: revoke: $SELF: revokeCert: acme: urn:ietf:params:acme:error:malformed: Unable to find specified certificate" \
	rv "${SELF:0:12}"
expect_eq "self-signed: signed by the agent, sent to the CA" "$(($(signatures) > N0))" 1

# --- a certificate the account ordered: certfleet issue ---------------------------
NS=www.revoke.example.com
mgmt /roots/0 >"$T/root.pem"
check "pebble's root imported on ex1 (trusted there)" cf import "$T/root.pem" --server ex1
check "namespace add $NS" cf namespace add "$NS" --servers ex1 --services https
check "namespace set: issuer acme:le, HTTP-01 on pebble's httpPort" cf namespace set "$NS" \
	--issuer acme:le --http-port "$P_HTTP"
check "issue: the namespace's certificate from pebble" cf issue "$NS" \
	--acme-ca-file "$T/tls-ca.pem" --ca-file "$T/root.pem" --json
cp "$OUT" "$T/issue.json"
run cf get --server ex1 --json
LEAF=$(jq -r --arg ns "$NS" '.Items[] | select(.Subject == "CN=" + $ns) | .Thumbprint' "$OUT" | head -n 1)
SERIAL=$(jq -r --arg t "$LEAF" '.Items[] | select(.Thumbprint == $t) | .SerialNumber' "$OUT")
if [ -n "$LEAF" ] && [ -n "$SERIAL" ]; then
	pass "issue: ex1 holds the issued certificate ($LEAF, serial $SERIAL)"
else
	fail "issue: ex1 holds the issued certificate" "$(cat "$T/issue.json")"
	show "$T/ex1.log" 20
	e2e_done
fi
expect_eq "pebble: the certificate is Valid before" \
	"$(mgmt "/cert-status-by-serial/$SERIAL" | jq -r .Status)" Valid

agent_store_dir=$T/ex1/store
store_snapshot "$agent_store_dir" >"$T/before"
check "revoke: reason superseded, the account by default (the only one)" \
	rv "${LEAF:0:10}" --reason superseded --json
if $SCHEMA revoke "$OUT" 2>"$T/why"; then
	pass "revoke: its JSON is docs/json.md's"
else
	fail "revoke: its JSON is docs/json.md's"
	show "$T/why"
fi
expect_eq "revoke: the JSON says what was done" \
	"$(jq -r '.Items[0] | "\(.Server) \(.Thumbprint) \(.SerialNumber) \(.Account) \(.Reason) \(.ReasonCode) \(.Result)"' "$OUT")" \
	"ex1 $LEAF $SERIAL le superseded 4 revoked"
mgmt "/cert-status-by-serial/$SERIAL" >"$T/status.json"
expect_eq "pebble: Revoked, reason 4 (superseded)" \
	"$(jq -r '"\(.Status) \(.Reason)"' "$T/status.json")" "Revoked 4"
expect_eq "pebble: the certificate it revoked is ex1's" \
	"$(jq -r .Certificate "$T/status.json" | openssl x509 -noout -fingerprint -sha1 |
		sed 's/^.*=//; s/://g')" "$LEAF"
store_snapshot "$agent_store_dir" >"$T/after"
if cmp -s "$T/before" "$T/after"; then
	pass "revoke: the agent's store is unchanged"
else
	fail "revoke: the agent's store is unchanged"
	diff "$T/before" "$T/after" | head -20 | sed 's/^/    /'
fi
run cf get "$LEAF" --server ex1 --json
expect_eq "revoke: the certificate stays, with its service" \
	"$(jq -r '.Items[0] | "\(.Thumbprint) \(.Services | join(","))"' "$OUT")" "$LEAF https"

check_fails "revoke again: alreadyRevoked, as the CA said it" 1 \
	"^certfleet: revoke: $LEAF: revokeCert: acme: urn:ietf:params:acme:error:alreadyRevoked: " \
	rv "$LEAF" --reason keyCompromise
expect_eq "pebble: still reason 4" \
	"$(mgmt "/cert-status-by-serial/$SERIAL" | jq -r .Reason)" 4

# --- several accounts: name one ----------------------------------------------------
check "acme account new second" cf acme account new second --server ex1 --directory "$DIR" \
	--agree-tos --ca-file "$T/tls-ca.pem"
check "issue: a second certificate for $NS" cf issue "$NS" \
	--acme-ca-file "$T/tls-ca.pem" --ca-file "$T/root.pem"
run cf get --server ex1 --json
LEAF2=$(jq -r --arg ns "$NS" --arg t "$LEAF" \
	'.Items[] | select(.Subject == "CN=" + $ns and .Thumbprint != $t) | .Thumbprint' "$OUT" | head -n 1)
SERIAL2=$(jq -r --arg t "$LEAF2" '.Items[] | select(.Thumbprint == $t) | .SerialNumber' "$OUT")
check_fails "two accounts and no --account: usage, both listed" 2 \
	'ex1 keeps several ACME accounts \(le, second\): give --account NAME' rv "$LEAF2"
check_fails "--account second: not the account that ordered it, the CA's problem" 1 \
	"^certfleet: revoke: $LEAF2: revokeCert: acme: urn:ietf:params:acme:error:unauthorized: " \
	rv "$LEAF2" --account second
expect_eq "pebble: refused, still Valid" \
	"$(mgmt "/cert-status-by-serial/$SERIAL2" | jq -r .Status)" Valid
check "--account le: revoked, reason keyCompromise" rv "$LEAF2" --account le --reason keyCompromise
if grep -q "^$LEAF2: revoked by the CA of account le (reason keyCompromise); the store of ex1 is unchanged" "$OUT"; then
	pass "revoke: the line says what was done and that the store is unchanged"
else
	fail "revoke: the line says what was done and that the store is unchanged"
	show "$OUT"
fi
expect_eq "pebble: Revoked, reason 1 (keyCompromise)" \
	"$(mgmt "/cert-status-by-serial/$SERIAL2" | jq -r '"\(.Status) \(.Reason)"')" "Revoked 1"

# --- what the agent keeps of it -------------------------------------------------------
run cf log --server ex1 --json
if jq -e --arg t "$LEAF" '[.Items[] | select(.Operation == "export" and (.Thumbprint // "" | startswith($t)))] | length > 0' "$OUT" >/dev/null; then
	pass "audit: the certificate read for the revocation (export, no key)"
else
	fail "audit: the certificate read for the revocation (export, no key)"
	jq -c '.Items[-5:]' "$OUT" | sed 's/^/    /'
fi
# audited ACCOUNT_REASON THUMB - the outcome of the acme-revoke records of THUMB.
audited() {
	jq -r --arg t "$1" '[.Items[] | select(.Operation == "acme-revoke" and .Thumbprint == $t) | .Outcome] | join("; ")' "$OUT"
}
expect_eq "audit: the revocation's signature (acme-revoke), account and reason" \
	"$(audited "$LEAF")" "signed: account le, reason 4; signed: account le, reason 1"
expect_eq "audit: the other account's and the second revocation, each signed once" \
	"$(audited "$LEAF2")" "signed: account second, no reason; signed: account le, reason 1"
expect_eq "audit: the self-signed certificate's, no reason sent" \
	"$(audited "$SELF")" "signed: account le, no reason"
expect_eq "audit: no acme-revoke for the unknown thumbprint, nor for issue's signatures" \
	"$(jq '[.Items[] | select(.Operation == "acme-revoke")] | length' "$OUT")" 5
if grep -q 'PRIVATE KEY' "$T/ex1.log" "$OUT"; then
	fail "no private key in the agent's log or audit"
else
	pass "no private key in the agent's log or audit"
fi

e2e_done
