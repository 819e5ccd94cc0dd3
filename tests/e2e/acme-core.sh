#!/usr/bin/env bash
# acme-core.sh - the ACME core (src/acme) against a real CA: Debian's
# pebble on loopback, validation on (PEBBLE_VA_ALWAYS_VALID unset) and its
# random badNonce rejections left at their default, with
# pebble-challtestsrv as its DNS (every name at 127.0.0.1) and a private
# nginx serving the HTTP-01 webroot on pebble's httpPort.  Driven by
# build/cf-acme: accounts (the same key, the same account; external
# account binding required, wrong and right), an order whose token is
# served (a chain that verifies against pebble's root), one whose token is
# not (the CA's problem shown, no token left behind), an http://
# directory refused before any request, and ACME Renewal Information
# (RFC 9773) asked for pebble's certificate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers-lib.sh"

require_tools pebble pebble-challtestsrv nginx openssl curl jq
CFA=${CF_ACME:-$E2E_ROOT/build/cf-acme}
if [ ! -x "$CFA" ]; then
	fail "$E2E_NAME: cf-acme" "not found at $CFA (run make)"
	e2e_done
fi
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	srv_stop_all
	rm -rf "$T"
}
trap cleanup EXIT
# nginx's worker runs as nobody: it walks into $T to the webroot.
chmod 711 "$T"

read -r P_ACME P_MGMT P_HTTP P_TLS P_DNS P_CTS P_EAB P_EABM P_DEAD P_NR P_NRM P_BAD P_SLOW < <(free_ports 13 | tr '\n' ' ')

# --- pebble's own TLS listener: a CA and a certificate for 127.0.0.1 -----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/tls-ca.key" -out "$T/tls-ca.pem" -days 2 -subj "/CN=acme-core test TLS CA" \
	2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" \
	-out "$T/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
openssl x509 -req -in "$T/tls.csr" -CA "$T/tls-ca.pem" -CAkey "$T/tls-ca.key" \
	-CAcreateserial -days 2 -out "$T/tls.pem" \
	-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null

# pebble_config FILE ACME_PORT MGMT_PORT EAB(true|false)
pebble_config() {
	cat >"$1" <<-EOF
		{ "pebble": {
		  "listenAddress": "127.0.0.1:$2",
		  "managementListenAddress": "127.0.0.1:$3",
		  "certificate": "$T/tls.pem",
		  "privateKey": "$T/tls.key",
		  "httpPort": $P_HTTP,
		  "tlsPort": $P_TLS,
		  "ocspResponderURL": "",
		  "externalAccountBindingRequired": $4,
		  "externalAccountMACKeys": {
		    "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
		    "kid-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH"
		  }
		} }
	EOF
}

# directory_up PORT - pebble's directory answers over TLS.
directory_up() {
	curl -sf --cacert "$T/tls-ca.pem" "https://127.0.0.1:$1/dir" >/dev/null
}

# pebble_start NAME ACME_PORT MGMT_PORT EAB [NONCE_REJECT_PERCENT]
pebble_start() {
	pebble_config "$T/$1.json" "$2" "$3" "$4"
	env ${5:+PEBBLE_WFE_NONCEREJECT=$5} PEBBLE_VA_NOSLEEP=1 \
		PEBBLE_ALTERNATE_ROOTS=1 setsid pebble -config "$T/$1.json" \
		-dnsserver "127.0.0.1:$P_DNS" >"$T/$1.log" 2>&1 &
	PIDS+=($!)
	if ! wait_until 20 directory_up "$2"; then
		fail "$1: pebble started" "no directory on 127.0.0.1:$2"
		show "$T/$1.log" 20
		e2e_done
	fi
	pass "$1: pebble serves its directory on 127.0.0.1:$2"
}

setsid pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	-dns01 "127.0.0.1:$P_DNS" -http01 "" -https01 "" -tlsalpn01 "" \
	-management "127.0.0.1:$P_CTS" >"$T/challtestsrv.log" 2>&1 &
PIDS+=($!)
if ! srv_wait_port 127.0.0.1 "$P_CTS" 10; then
	fail "challtestsrv started" "nothing on 127.0.0.1:$P_CTS"
	show "$T/challtestsrv.log"
	e2e_done
fi
pebble_start pebble "$P_ACME" "$P_MGMT" false
unset PEBBLE_VA_ALWAYS_VALID PEBBLE_WFE_NONCEREJECT

DIR="https://127.0.0.1:$P_ACME/dir"
# Each success adds the requests it retried after pebble's random
# badNonce (5 % of nonces) to RETRIED, reported at the end.
RETRIED=0
acme() {
	local rc=0
	timeout -k 5 120 "$CFA" --ca "$T/tls-ca.pem" "$@" || rc=$?
	[ $rc -ne 0 ] || RETRIED=$((RETRIED + $(jq -r '.badNonceRetries // 0' "$OUT" 2>/dev/null || echo 0)))
	return $rc
}
jqo() { jq -r "$1" "$OUT"; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/account.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/account-rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/cert.key" 2>/dev/null
chmod 600 "$T"/*.key

# --- accounts ----------------------------------------------------------------
check "account-new: an ES256 account" acme --directory "$DIR" account-new \
	--key "$T/account.key" --agree-tos --contact mailto:ops@example.com
KID=$(jqo .account)
case $KID in
https://127.0.0.1:"$P_ACME"/*) pass "account-new: the account URL is pebble's" ;;
*) fail "account-new: the account URL is pebble's" "got '$KID'" ;;
esac
check "account-new: the same key again" acme --directory "$DIR" account-new \
	--key "$T/account.key" --agree-tos
expect_eq "account-new: the same key, the same account" "$(jqo .account)" "$KID"
check "account-new: an RS256 account" acme --directory "$DIR" account-new \
	--key "$T/account-rsa.key" --agree-tos
if [ "$(jqo .account)" != "$KID" ]; then
	pass "account-new: another key, another account"
else
	fail "account-new: another key, another account" "both $KID"
fi
check_fails "account-new: onlyReturnExisting for an unknown key is refused" 1 \
	'newAccount: acme: urn:ietf:params:acme:error:accountDoesNotExist' \
	acme --directory "$DIR" account-new --key "$T/cert.key" --only-existing

# pebble's TLS CA is trusted only when --ca names it.
run timeout -k 5 60 "$CFA" --directory "$DIR" account-new --key "$T/account.key" --agree-tos
if [ "$RC" -eq 1 ] && grep -qiE 'directory: GET .*(certificate|SSL)' "$ERR"; then
	pass "account-new: pebble's TLS CA is not trusted without --ca"
else
	fail "account-new: pebble's TLS CA is not trusted without --ca" "exit $RC"
	show "$ERR"
fi

# --- an http:// directory: refused before any request ----------------------
python3 - "$P_DEAD" "$T/dead.hits" <<-'EOF' &
	import socket, sys
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("127.0.0.1", int(sys.argv[1])))
	s.listen(4)
	open(sys.argv[2], "w").close()
	s.settimeout(30)
	try:
	    c, _ = s.accept()
	    open(sys.argv[2], "a").write("connected\n")
	except OSError:
	    pass
EOF
PIDS+=($!)
wait_until 10 test -e "$T/dead.hits"
check_fails "account-new: an http:// directory is refused" 1 'not an https URL' \
	acme --directory "http://127.0.0.1:$P_DEAD/dir" account-new --key "$T/account.key" --agree-tos
expect_eq "account-new: the http:// directory saw no request" "$(cat "$T/dead.hits")" ""

# --- a hostile CA: what the transport and the parsers must refuse -------------
python3 - "$P_BAD" "$T/tls.pem" "$T/tls.key" "$P_ACME" <<-'EOF' >"$T/bad.log" 2>&1 &
	import http.server, json, ssl, sys
	port, cert, key, real = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
	base = "https://127.0.0.1:%d" % port
	def directory(nonce):
	    return {"newNonce": nonce, "newAccount": base + "/acct",
	            "newOrder": base + "/order", "revokeCert": base + "/revoke"}
	class H(http.server.BaseHTTPRequestHandler):
	    def send(self, code, body, ctype="application/json", extra=()):
	        self.send_response(code)
	        self.send_header("Content-Type", ctype)
	        self.send_header("Content-Length", str(len(body)))
	        for k, v in extra:
	            self.send_header(k, v)
	        self.end_headers()
	        self.wfile.write(body)
	    def do_GET(self):
	        if self.path == "/big":
	            self.send(200, b" " * (2 << 20))
	        elif self.path == "/redirect":
	            self.send(301, b"", extra=[("Location",
	                      "https://127.0.0.1:%s/dir" % real)])
	        elif self.path == "/http-nonce":
	            self.send(200, json.dumps(directory(
	                "http://127.0.0.1:%d/nonce" % port)).encode())
	        elif self.path in ("/ari-dir", "/ari-bad-dir"):
	            d = directory(base + "/nonce")
	            d["renewalInfo"] = base + ("/ari/" if self.path == "/ari-dir"
	                                       else "/ari-bad")
	            self.send(200, json.dumps(d).encode())
	        elif self.path.startswith("/ari/"):
	            cid = self.path[len("/ari/"):]
	            self.send(200, json.dumps({"suggestedWindow": {
	                "start": "2031-01-02T04:00:00Z",
	                "end": "2031-01-03T04:00:00Z"},
	                "explanationURL": base + "/why/" + cid}).encode(),
	                extra=[("Retry-After", "21600")])
	        elif self.path.startswith("/ari-bad/"):
	            self.send(200, json.dumps({"suggestedWindow": {
	                "start": "2031-01-03T04:00:00Z",
	                "end": "2031-01-02T04:00:00Z"}}).encode())
	        elif self.path == "/problem":
	            self.send(500, json.dumps({"type":
	                "urn:ietf:params:acme:error:serverInternal",
	                "detail": "down\u001b[2J\nfor now"}).encode(),
	                "application/problem+json")
	        else:
	            self.send(404, b"")
	    def log_message(self, *a):
	        pass
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	ctx.load_cert_chain(cert, key)
	s = http.server.HTTPServer(("127.0.0.1", port), H)
	s.socket = ctx.wrap_socket(s.socket, server_side=True)
	s.serve_forever()
EOF
PIDS+=($!)
srv_wait_port 127.0.0.1 "$P_BAD" 10
bad() { acme --directory "https://127.0.0.1:$P_BAD/$1" account-new --key "$T/account.key" --agree-tos; }
check_fails "hostile CA: a 2 MiB directory is refused at the cap" 1 \
	'directory: GET .*: response over 1048576 bytes' bad big
check_fails "hostile CA: a redirect is not followed" 1 'directory: HTTP 301 from the CA' bad redirect
check_fails "hostile CA: an http:// newNonce is refused" 1 \
	'directory: newNonce: not an https URL' bad http-nonce
check_fails "hostile CA: its problem shown, control characters replaced" 1 \
	'directory: acme: urn:ietf:params:acme:error:serverInternal: down\?\[2J\?for now' bad problem

# --- external account binding ----------------------------------------------
pebble_start pebble-eab "$P_EAB" "$P_EABM" true
EDIR="https://127.0.0.1:$P_EAB/dir"
printf '%s\n' zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W >"$T/kid-1.hmac"
printf '%s\n' b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH >"$T/kid-2.hmac"
chmod 600 "$T"/*.hmac
check_fails "eab: an account without a binding is refused, the CA's problem shown" 1 \
	'newAccount: acme: urn:ietf:params:acme:error:externalAccountRequired' \
	acme --directory "$EDIR" account-new --key "$T/account.key" --agree-tos
check_fails "eab: a binding with the wrong HMAC key is refused" 1 \
	'newAccount: acme: urn:ietf:params:acme:error:' \
	acme --directory "$EDIR" account-new --key "$T/account.key" --agree-tos \
	--eab-kid kid-1 --eab-hmac-key-file "$T/kid-2.hmac"
if grep -q zWNDZM6e "$ERR"; then
	fail "eab: the HMAC key is not in the error" "it is"
else
	pass "eab: the HMAC key is not in the error"
fi
check "eab: the right kid and HMAC key make the account" acme --directory "$EDIR" \
	account-new --key "$T/account.key" --agree-tos --eab-kid kid-1 \
	--eab-hmac-key-file "$T/kid-1.hmac"
case $(jqo .account) in
https://127.0.0.1:"$P_EAB"/*) pass "eab: the account URL is pebble's" ;;
*) fail "eab: the account URL is pebble's" "got '$(jqo .account)'" ;;
esac

# --- an order answered by HTTP-01 from a webroot nginx serves ----------------
# nginx_http_start DIR PORT ROOT - a private nginx serving ROOT over plain
# HTTP on 127.0.0.1:PORT, as pebble's HTTP-01 validation asks for it.
nginx_http_start() {
	local dir
	dir=$(srv__mkdir "$1") || return 1
	cat >"$dir/nginx.conf" <<-EOF
		daemon on;
		master_process on;
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $dir/error.log notice;
		events { worker_connections 64; }
		http {
			access_log $dir/access.log;
			client_body_temp_path $dir/client_body;
			proxy_temp_path $dir/proxy;
			fastcgi_temp_path $dir/fastcgi;
			uwsgi_temp_path $dir/uwsgi;
			scgi_temp_path $dir/scgi;
			server {
				listen 127.0.0.1:$2 default_server;
				root $3;
			}
		}
	EOF
	nginx -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir/" 2>"$dir/start.err" ||
		{ srv__fail "$dir" "nginx did not start" "$dir/start.err"; return 1; }
	srv__record "$dir" "$dir/nginx.pid" && srv_wait_port 127.0.0.1 "$2"
}
mkdir -m 755 "$T/webroot"
if nginx_http_start "$T/nginx" "$P_HTTP" "$T/webroot"; then
	pass "nginx serves the webroot on pebble's httpPort"
else
	fail "nginx serves the webroot on pebble's httpPort" "see above"
fi
curl -sf --cacert "$T/tls-ca.pem" "https://127.0.0.1:$P_MGMT/roots/0" >"$T/root.pem"
curl -sf --cacert "$T/tls-ca.pem" "https://127.0.0.1:$P_MGMT/roots/1" >"$T/root1.pem"
NAME=www.acme-core.example.com
check "order: a certificate for a name whose token is served" acme --directory "$DIR" \
	order --key "$T/account.key" --cert-key "$T/cert.key" --domain "$NAME" \
	--domain "api.acme-core.example.com" --webroot "$T/webroot" --out "$T/chain.pem"
openssl x509 -in "$T/chain.pem" -out "$T/leaf.pem" 2>/dev/null
check "order: the chain verifies against pebble's root" openssl verify \
	-CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/leaf.pem"
check_fails "order: the chain does not verify against the test TLS CA" 2 'error' \
	openssl verify -CAfile "$T/tls-ca.pem" -untrusted "$T/chain.pem" "$T/leaf.pem"
SAN=$(openssl x509 -in "$T/leaf.pem" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
expect_eq "order: the leaf's SANs are the names" "$SAN" "DNS:www.acme-core.example.com,DNS:api.acme-core.example.com"
check "order: the leaf is for the certificate key" bash -c \
	"[ \"\$(openssl x509 -in '$T/leaf.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$T/cert.key' -pubout)\" ]"
expect_eq "order: no token file left behind" \
	"$(find "$T/webroot" -type f | wc -l)" 0

# ARI (RFC 9773): pebble 2.4 offers no renewalInfo, so the hostile CA's
# server stands in for that part of a CA; the identifier is computed here
# a second way, with python3-cryptography.
ARI_ID=$(python3 -c '
import base64, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
e = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
print(e(aki) + "." + e(n.to_bytes((n.bit_length() + 8) // 8, "big")))' "$T/leaf.pem")
check "ari: the renewal window of pebble's certificate" \
	acme --directory "https://127.0.0.1:$P_BAD/ari-dir" ari --cert "$T/leaf.pem"
expect_eq "ari: the identifier sent, the window and Retry-After" \
	"$(jq -r '[.CertId, .Start, .End, .RetryAfter, (.Explanation | sub(".*/why/"; ""))] | join(" ")' "$OUT")" \
	"$ARI_ID 2031-01-02T04:00:00Z 2031-01-03T04:00:00Z 21600 $ARI_ID"
check_fails "ari: a window whose end is before its start is refused" 1 \
	'ari: suggestedWindow: its end is not after its start' \
	acme --directory "https://127.0.0.1:$P_BAD/ari-bad-dir" ari --cert "$T/leaf.pem"
check_fails "ari: pebble's directory offers no renewalInfo: said so" 1 \
	'offers no renewalInfo' acme --directory "$DIR" ari --cert "$T/leaf.pem"
if grep -q 'GET /.well-known/acme-challenge/' "$T/nginx/access.log"; then
	pass "order: pebble fetched the token from nginx"
else
	fail "order: pebble fetched the token from nginx" "not in the access log"
fi
check "order: an alternate chain on request" acme --directory "$DIR" \
	order --key "$T/account.key" --cert-key "$T/cert.key" --domain "$NAME" \
	--webroot "$T/webroot" --out "$T/chain-alt.pem" --alternate 1
openssl x509 -in "$T/chain-alt.pem" -out "$T/leaf-alt.pem" 2>/dev/null
check "order: the alternate chain verifies against pebble's second root" openssl verify \
	-CAfile "$T/root1.pem" -untrusted "$T/chain-alt.pem" "$T/leaf-alt.pem"
check_fails "order: an alternate chain the CA does not offer is refused" 1 \
	'no alternate chain 9' acme --directory "$DIR" order --key "$T/account.key" \
	--cert-key "$T/cert.key" --domain "$NAME" --webroot "$T/webroot" \
	--out "$T/chain-9.pem" --alternate 9
if [ ! -e "$T/chain-9.pem" ]; then
	pass "order: no chain file written on failure"
else
	fail "order: no chain file written on failure" "it is there"
fi

# --- the webroot not served: the CA's problem, no token left behind ------------
srv_nginx_stop "$T/nginx"
check_fails "order: the token not served fails with the CA's problem" 1 \
	'authorization down\.acme-core\.example\.com: invalid: acme: urn:ietf:params:acme:error:' \
	acme --directory "$DIR" order --key "$T/account.key" --cert-key "$T/cert.key" \
	--domain down.acme-core.example.com --webroot "$T/webroot" --out "$T/chain-down.pem" \
	--deadline-ms 60000
expect_eq "order: no token file left behind after the failure" \
	"$(find "$T/webroot" -type f | wc -l)" 0
if [ ! -e "$T/chain-down.pem" ]; then
	pass "order: no chain written after the failure"
else
	fail "order: no chain written after the failure" "it is there"
fi

# --- polling: Retry-After honoured, capped, and the deadline kept ---------------
# A CA whose authorization stays pending, answering every poll with
# Retry-After: RA seconds (RA is the first path segment); each poll is a
# line in slow.log.
python3 - "$P_SLOW" "$T/tls.pem" "$T/tls.key" "$T/slow.log" <<-'EOF' >"$T/slow.out" 2>&1 &
	import http.server, json, os, ssl, sys
	port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
	base = "https://127.0.0.1:%d" % port
	class H(http.server.BaseHTTPRequestHandler):
	    def send(self, code, obj, extra=()):
	        body = json.dumps(obj).encode() if obj is not None else b""
	        self.send_response(code)
	        self.send_header("Content-Type", "application/json")
	        self.send_header("Content-Length", str(len(body)))
	        self.send_header("Replay-Nonce", os.urandom(12).hex())
	        for k, v in extra:
	            self.send_header(k, v)
	        self.end_headers()
	        self.wfile.write(body)
	    def do_HEAD(self):
	        self.send(200, None)
	    def do_GET(self):
	        ra = self.path.split("/")[1]
	        p = base + "/" + ra
	        self.send(200, {"newNonce": p + "/nonce", "newAccount": p + "/acct",
	                        "newOrder": p + "/order", "revokeCert": p + "/revoke"})
	    def do_POST(self):
	        self.rfile.read(int(self.headers["Content-Length"]))
	        ra, what = self.path.split("/")[1:3]
	        p = base + "/" + ra
	        if what == "acct":
	            self.send(200, {"status": "valid"}, [("Location", p + "/acct/1")])
	        elif what == "order":
	            self.send(201, {"status": "pending", "finalize": p + "/fin",
	                "identifiers": [{"type": "dns", "value": "slow.example.com"}],
	                "authorizations": [p + "/authz"]}, [("Location", p + "/o/1")])
	        elif what == "authz":
	            open(log, "a").write("poll %s\n" % ra)
	            self.send(200, {"status": "pending",
	                "identifier": {"type": "dns", "value": "slow.example.com"},
	                "challenges": [{"type": "http-01", "url": p + "/chal",
	                    "token": "slowslowslowslowslowslow", "status": "pending"}]},
	                [("Retry-After", ra)])
	        else:
	            self.send(200, {})
	    def log_message(self, *a):
	        pass
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	ctx.load_cert_chain(cert, key)
	s = http.server.HTTPServer(("127.0.0.1", port), H)
	s.socket = ctx.wrap_socket(s.socket, server_side=True)
	s.serve_forever()
EOF
PIDS+=($!)
srv_wait_port 127.0.0.1 "$P_SLOW" 10
: >"$T/slow.log"
# polls RA DEADLINE_MS [CAP_MS] - an order against the slow CA; prints the
# polls of the authorization and the milliseconds the command took.
polls() {
	local t0=${EPOCHREALTIME/./} t1
	run acme --directory "https://127.0.0.1:$P_SLOW/$1/dir" ${3:+--retry-after-max-ms "$3"} \
		order --key "$T/account.key" --cert-key "$T/cert.key" --domain slow.example.com \
		--webroot "$T/webroot" --out "$T/chain-slow.pem" --deadline-ms "$2"
	t1=${EPOCHREALTIME/./}
	SLOW_MS=$(((t1 - t0) / 1000))
	SLOW_POLLS=$(grep -c "^poll $1\$" "$T/slow.log")
}
polls 1 3500
if [ "$RC" -eq 1 ] && grep -q 'authorization slow.example.com: still pending at the deadline' "$ERR"; then
	pass "poll: a pending authorization fails at the deadline, named"
else
	fail "poll: a pending authorization fails at the deadline, named" "exit $RC"
	show "$ERR"
fi
# Retry-After: 1 over a 3.5 s deadline: the first look, then polls at
# 0, 1, 2, 3 and, last, at the deadline: 6 (the default interval, 0.5 s,
# would make 9; no pause at all, hundreds).
if [ "$SLOW_POLLS" -ge 5 ] && [ "$SLOW_POLLS" -le 7 ]; then
	pass "poll: Retry-After: 1 honoured ($SLOW_POLLS polls in ${SLOW_MS} ms)"
else
	fail "poll: Retry-After: 1 honoured" "$SLOW_POLLS polls in ${SLOW_MS} ms"
fi
polls 3600 1500 300
# Retry-After: 3600 capped at 0.3 s: polls go on, and the 1.5 s deadline holds.
if [ "$RC" -eq 1 ] && [ "$SLOW_POLLS" -ge 3 ] && [ "$SLOW_MS" -lt 5000 ]; then
	pass "poll: Retry-After: 3600 capped, the deadline kept ($SLOW_POLLS polls in ${SLOW_MS} ms)"
else
	fail "poll: Retry-After: 3600 capped, the deadline kept" "exit $RC, $SLOW_POLLS polls in ${SLOW_MS} ms"
	show "$ERR"
fi
expect_eq "poll: no token file left behind at the deadline" "$(find "$T/webroot" -type f | wc -l)" 0

# --- revocation ------------------------------------------------------------------
check "revoke: the certificate, reason superseded" acme --directory "$DIR" \
	revoke --key "$T/account.key" --cert "$T/leaf.pem" --reason 4
check_fails "revoke: again is refused with the CA's problem" 1 \
	'revokeCert: acme: urn:ietf:params:acme:error:alreadyRevoked' \
	acme --directory "$DIR" revoke --key "$T/account.key" --cert "$T/leaf.pem" --reason 4
check_fails "revoke: another account's certificate is refused" 1 \
	'revokeCert: acme: urn:ietf:params:acme:error:' \
	acme --directory "$DIR" revoke --key "$T/account-rsa.key" --cert "$T/leaf-alt.pem"

# --- badNonce: a CA that rejects every nonce -------------------------------------
pebble_start pebble-nonce "$P_NR" "$P_NRM" false 100
check_fails "badNonce: retried 3 times, then the CA's problem shown" 1 \
	'newAccount: acme: urn:ietf:params:acme:error:badNonce: .*\(after 3 retries\)' \
	acme --directory "https://127.0.0.1:$P_NR/dir" account-new --key "$T/account.key" --agree-tos
echo "# acme-core: requests retried after pebble's random badNonce: $RETRIED"

e2e_done
