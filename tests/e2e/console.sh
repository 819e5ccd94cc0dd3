#!/usr/bin/env bash
# console.sh - the web console (certfleetd(8), CONSOLE) in Debian's
# chromium, headless, driven over the DevTools protocol
# (console-cdp.py), presenting the admin identity that
# `certfleet id --export-p12` wrote, imported into the browser's own NSS
# database with pk12util: the client side is real; only the agent's key
# is pinned for the browser (--ignore-certificate-errors-spki-list), as
# the CLI pins it by fingerprint.
#
# One agent, ex1, with a private nginx as service https.  The pages list
# the agent, its certificates and the Match column; a PFX imported
# through the form (with services https) and an enable through the UI
# each change what nginx serves (openssl s_client), a cancelled one does
# not; an export downloads a PFX that opens under the typed password.
# Negative cases: a browser without a client certificate gets no page
# (the handshake is refused); a POST from the page without the token,
# with a wrong one, and a form posted from another origin are each 403,
# audited, and change nothing; a reader sees the pages, no actions, and
# is refused a POST even with a token; a key that is not exportable
# downloads nothing; the CLI's POSTs, which carry no browser marks, need
# no token.
#
# A second agent, ex2 (no services), and the two as each other's
# console_peers (ex1's by a reload): ex1's fleet page lists both, ex2
# asked by the browser itself with the admin's certificate, each with
# the certificate count `certfleet --server NAME get` gives.  ex2 stopped
# (SIGSTOP: no answer; then gone: refused), the page says ex2 is
# unreachable and still shows ex1.  CORS: ex2 lets only ex1's origin
# read, only GETs of the fleet page's routes; a POST from ex1's origin
# is still refused; a bad console_peers entry is refused by name.
#
#   bash tests/e2e/console.sh   (CONSOLE_SHOTS=DIR keeps the screenshots
#                                there: make demo writes build/console)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
require_tools "$CERTFLEETD" chromium certutil pk12util nginx openssl python3 curl

# chromium reads AutoSelectCertificateForUrls, which picks the client
# certificate without a prompt, only from its managed policies: this
# file is removed at the end.  Where two files set one policy, one of
# them wins: every run writes the same one (any loopback port; each
# browser here has its own NSS database), so runs at once agree.
POLICY_DIR=/etc/chromium/policies/managed
POLICY=$POLICY_DIR/certfleet-e2e-console-$$.json
FORGE_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	rm -f "$POLICY"
	if [ -n "$FORGE_PID" ]; then
		kill "$FORGE_PID" 2>/dev/null
		wait "$FORGE_PID" 2>/dev/null
	fi
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

SHOTS=${CONSOLE_SHOTS:-$T/shots}
mkdir -p "$SHOTS"
NS=mail.example.com
P=$T/pki
if ! make_pki "$P" || ! make_leaf "$P" other 2101; then
	fail pki "make_pki failed"
	e2e_done
fi
LEAF_TP=$(thumb "$P/leaf.pem")
OTHER_TP=$(thumb "$P/other.pem")
pwfile "$T/other.pw" "other pfx password"
openssl pkcs12 -export -in "$P/other.pem" -inkey "$P/other.key" \
	-certfile "$P/chain.pem" -passout "file:$T/other.pw" -out "$T/other.pfx"

# ---- the admin identity, for a browser -------------------------------------

export CERTFLEET_HOME=$T/home
pwfile "$T/id.pw" "console e2e password"
check "id --export-p12 writes the admin identity" \
	cf id --export-p12 "$T/id.p12" --password-file "$T/id.pw"
expect_eq "id --export-p12: the file is 0600" "$(stat -c %a "$T/id.p12" 2>/dev/null)" 600
ID_FP=$(cf id --json | jq -r .Fingerprint)
if grep -qF "$ID_FP" "$OUT"; then
	pass "id --export-p12 names the identity's fingerprint"
else
	fail "id --export-p12 names the identity's fingerprint" "$(cat "$OUT")"
fi
openssl pkcs12 -in "$T/id.p12" -info -noout -passin "file:$T/id.pw" >"$T/p12.info" 2>&1
if grep -q 'MAC: sha256' "$T/p12.info" &&
	grep -q 'Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC' "$T/p12.info"; then
	pass "the PKCS#12: AES-256-CBC with PBKDF2, SHA-256 MAC"
else
	fail "the PKCS#12: AES-256-CBC with PBKDF2, SHA-256 MAC"
	show "$T/p12.info"
fi
check_fails "id --export-p12: no password on the command line" 2 \
	'never taken from the command line' \
	cf id --export-p12 "$T/x.p12" --password nope
check_fails "id --export-p12: no password, no terminal: a usage error" 2 \
	'password is needed' cf id --export-p12 "$T/x.p12"
if [ -e "$T/x.p12" ]; then
	fail "id --export-p12: nothing written without a password"
else
	pass "id --export-p12: nothing written without a password"
fi

# The browser with the identity (NSS accepts the file as written) and
# one without any.
B1=$T/browser1
B2=$T/browser2
for b in "$B1" "$B2"; do
	mkdir -p "$b/.pki/nssdb"
	certutil -d "sql:$b/.pki/nssdb" -N --empty-password
done
check "NSS (pk12util) imports the PKCS#12" \
	pk12util -d "sql:$B1/.pki/nssdb" -i "$T/id.p12" -w "$T/id.pw"
run certutil -d "sql:$B1/.pki/nssdb" -L
if grep -q '^certfleet admin .*u,u,u' "$OUT"; then
	pass "NSS holds the identity with its key"
else
	fail "NSS holds the identity with its key"
	show "$OUT"
fi
pwfile "$T/bad.pw" "wrong"
run pk12util -d "sql:$B2/.pki/nssdb" -i "$T/id.p12" -w "$T/bad.pw"
if [ "$RC" -ne 0 ] && grep -q 'BAD_PASSWORD' "$ERR"; then
	pass "NSS refuses it under a wrong password"
else
	fail "NSS refuses it under a wrong password" "exit $RC"
	show "$ERR"
fi

# ---- nginx and the agent ---------------------------------------------------

read -r -d '' NPORT FORGE_PORT < <(free_ports 2) || true
D=$T/srv
mkdir -p "$D"
cp "$P/leaf.pem" "$D/https.crt"
cp "$P/leaf.key" "$D/https.key"
chmod 600 "$D/https.key"
if ! srv_nginx_start "$D/nginx" "$NPORT" "$D/https.crt" "$D/https.key" "$NS"; then
	fail "nginx runs on loopback"
	e2e_done
fi
agent_conf ex1
cat >>"$T/ex1.conf" <<EOF

[service https]
kind = nginx
chain = $D/https.crt
key = $D/https.key
test = $(srv_nginx_test_cmd "$D/nginx")
reload = $(srv_nginx_reload_cmd "$D/nginx")
check = 127.0.0.1:$NPORT
name = $NS
timeout = 10
EOF
check "ex1: agent init" cfd init --config "$T/ex1.conf"
check "ex1: authorize the admin identity" \
	cfd authorize "$ID_FP" --role admin --config "$T/ex1.conf"
agent_start ex1 || e2e_done
on() { CERTFLEET_SOCKET=$SOCKDIR/ex1.sock "$@"; }
check "ex1: import the chain" on cf import "$P/int.pem" "$P/root.pem"
check "ex1: import the leaf" on cf import "$P/leaf.pem" "$P/leaf.key"
check "ex1: enable the leaf for https" on cf enable "$LEAF_TP" --services https
served() { srv_served_thumb https 127.0.0.1 "$NPORT" "$NS"; }
expect_eq "nginx serves the leaf" "$(served)" "$LEAF_TP"

URL=https://127.0.0.1:${APORT[ex1]}
SPKI=$(openssl x509 -in "$T/ex1/agent.crt" -noout -pubkey |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
if ! mkdir -p "$POLICY_DIR" ||
	! echo '{"AutoSelectCertificateForUrls": ["{\"pattern\":\"https://127.0.0.1:*\",\"filter\":{}}"]}' \
		>"$POLICY"; then
	fail "the client-certificate policy for chromium" "cannot write $POLICY (run as root)"
	e2e_done
fi

# browser HOME STEP... - one chromium session (console-cdp.py); its lines
# in $OUT.  ready PAGE - the step that waits for a page to be shown.
browser() {
	local home=$1
	shift
	RC=0
	timeout -k 5 60 python3 "$HERE/console-cdp.py" --home "$home" --spki "$SPKI" \
		"$@" >"$OUT" 2>"$ERR" || RC=$?
}
ready() { echo "wait:document.body.dataset.ready==='$1'"; }
# got NAME - the JSON value the step eval:NAME= printed.
got() { sed -n "s/^$1	//p" "$OUT"; }
# browser_ok NAME - a check that the last session ran every step.
browser_ok() {
	if [ "$RC" -eq 0 ]; then
		pass "$1"
		return 0
	fi
	fail "$1" "console-cdp.py exit $RC"
	show "$OUT" 20
	show "$ERR"
	return 1
}

# ---- a second agent, console peers ---------------------------------------

# ex1 runs already, on the port the kernel gave it: ex2 starts knowing
# ex1's origin, and ex1 learns ex2's on a reload (SIGHUP).
K=(--cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" -sk --max-time 10)
agent_conf ex2
echo "console_peers = ex1=$URL" >>"$T/ex2.conf"
check "ex2: agent init" cfd init --config "$T/ex2.conf"
check "ex2: authorize the admin identity" \
	cfd authorize "$ID_FP" --role admin --config "$T/ex2.conf"
agent_start ex2 || e2e_done
URL2=https://127.0.0.1:${APORT[ex2]}
check "ex2: import the chain" \
	env CERTFLEET_SOCKET="$SOCKDIR/ex2.sock" "$CERTFLEET" import "$P/int.pem" "$P/root.pem"
SPKI=$SPKI,$(openssl x509 -in "$T/ex2/agent.crt" -noout -pubkey |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
sed -i "/^state = /a console_peers = ex2=$URL2" "$T/ex1.conf"
kill -HUP "${APID[ex1]}"
# shellcheck disable=SC2317 # run by wait_until
peers_listed() {
	curl "${K[@]}" -f "$URL/v1/console/peers" |
		jq -e --arg u "$URL2" '. == [{"Name": "ex2", "Url": $u}]'
}
if wait_until 10 peers_listed; then
	pass "reload: ex1 lists ex2 at GET /v1/console/peers"
else
	fail "reload: ex1 lists ex2 at GET /v1/console/peers" \
		"$(curl "${K[@]}" "$URL/v1/console/peers")"
	show "$T/ex1.log"
fi
for n in ex1 ex2; do
	check "the CLI over mutual TLS: fleet add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=stranger" -days 2 -keyout "$T/stranger.key" -out "$T/stranger.pem" 2>/dev/null
expect_eq "GET /v1/console/peers: a certificate no one authorized is refused (403)" \
	"$(curl -sk --max-time 10 --cert "$T/stranger.pem" --key "$T/stranger.key" \
		-o /dev/null -w '%{http_code}' "$URL/v1/console/peers")" 403

# cors ORIGIN URL [CURL ARGS] - the CORS headers of the answer, sorted,
# each ended with '|'.
cors() {
	local origin=$1 url=$2
	shift 2
	curl "${K[@]}" -o /dev/null -D - -H "Origin: $origin" "$@" "$url" | tr -d '\r' |
		grep -iE '^(access-control-[a-z-]*|vary):' | sort | tr '\n' '|'
}
expect_eq "CORS: ex2 lets ex1's page read GET /v1/whoami, with credentials" \
	"$(cors "$URL" "$URL2/v1/whoami")" \
	"Access-Control-Allow-Credentials: true|Access-Control-Allow-Origin: $URL|Vary: Origin|"
expect_eq "CORS: and GET /v1/certificates and /v1/services" \
	"$(cors "$URL" "$URL2/v1/certificates")$(cors "$URL" "$URL2/v1/services")" \
	"Access-Control-Allow-Credentials: true|Access-Control-Allow-Origin: $URL|Vary: Origin|Access-Control-Allow-Credentials: true|Access-Control-Allow-Origin: $URL|Vary: Origin|"
expect_eq "CORS: another origin gets no CORS header" \
	"$(cors https://evil.example:1 "$URL2/v1/whoami")$(cors https://evil.example:1 "$URL/v1/whoami")" ""
expect_eq "CORS: an origin that is a peer's but for its port gets none" \
	"$(cors "https://127.0.0.1:$FORGE_PORT" "$URL2/v1/whoami")" ""
expect_eq "CORS: ex1's origin reading another route of ex2 (the log) gets none" \
	"$(cors "$URL" "$URL2/v1/log")" ""
check_fails "CORS: a POST to ex2 from ex1's origin without a token: 403" 22 '403' \
	curl "${K[@]}" -fS -X POST -H "Origin: $URL" \
	-d "{\"thumbprint\":\"$OTHER_TP\",\"services\":\"https\"}" "$URL2/v1/enable"
expect_eq "CORS: a preflight (OPTIONS) gets no CORS header" \
	"$(cors "$URL" "$URL2/v1/whoami" -X OPTIONS -H 'Access-Control-Request-Method: GET')" ""
# A reload that meets a bad entry keeps the running peers.
cp "$T/ex1.conf" "$T/ex1.good"
sed -i "s|^console_peers = .*|console_peers = ex2=$URL2/console|" "$T/ex1.conf"
kill -HUP "${APID[ex1]}"
if wait_until 10 grep -qF "reload: $T/ex1.conf:7: console_peers: ex2=$URL2/console: give the origin only" "$T/ex1.log" &&
	peers_listed >/dev/null; then
	pass "reload: a console_peers entry with a path is refused by name; ex1 keeps ex2"
else
	fail "reload: a console_peers entry with a path is refused by name; ex1 keeps ex2"
	show "$T/ex1.log"
fi
cp "$T/ex1.good" "$T/ex1.conf"
sed "s|^console_peers = .*|console_peers = ex1=$URL, ex3=http://x:1|" "$T/ex2.conf" >"$T/bad.conf"
chmod 600 "$T/bad.conf"
check_fails "check-config: a console_peers entry over plain http is refused by name" 1 \
	'bad.conf:7: console_peers: ex3=http://x:1: .*https://' cfd check-config --config "$T/bad.conf"

# ---- headers and the files as served ---------------------------------------

curl "${K[@]}" -D "$T/h" -o "$T/index.html" "$URL/"
for h in "Content-Security-Policy: default-src 'self'; connect-src 'self' $URL2; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" \
	"X-Frame-Options: DENY" "Cache-Control: no-store" "X-Content-Type-Options: nosniff" \
	"Content-Type: text/html; charset=utf-8"; do
	if tr -d '\r' <"$T/h" | grep -qxF "$h"; then
		pass "GET /: $h"
	else
		fail "GET /: $h"
		show "$T/h" 12
	fi
done
if grep -qiE '<script>|<script [^>]*>[^<]|<style|style=| on[a-z]+=' "$T/index.html"; then
	fail "GET /: no inline script or style in the page" "$(grep -iE '<script>|<style|style=| on[a-z]+=' "$T/index.html")"
else
	pass "GET /: no inline script or style in the page"
fi
expect_eq "GET /console/console.js: text/javascript" \
	"$(curl "${K[@]}" -o /dev/null -w '%{http_code} %{content_type}' "$URL/console/console.js")" \
	"200 text/javascript; charset=utf-8"
expect_eq "GET /console/nope.js: 404" \
	"$(curl "${K[@]}" -o /dev/null -w '%{http_code}' "$URL/console/nope.js")" 404
run curl -sk --max-time 10 "$URL/"
if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ]; then
	pass "GET / without a client certificate: the handshake is refused"
else
	fail "GET / without a client certificate: the handshake is refused" "curl exit $RC"
fi

# ---- the pages -------------------------------------------------------------

browser "$B1" "goto:$URL/" "$(ready fleet)" \
	"eval:fleet=[...document.querySelectorAll('#fleet-table tbody tr')].map(r=>[...r.cells].map(c=>c.textContent))" \
	"eval:states=[...document.querySelectorAll('#fleet-table tbody tr')].map(r=>r.dataset.state)" \
	"eval:link=document.querySelector('#fleet-table tr[data-agent=ex2] a').href" \
	"shot:$SHOTS/fleet.png" \
	"goto:$URL/#/certificates" "$(ready certificates)" \
	"eval:certs=[...document.querySelectorAll('#cert-table tbody tr')].map(r=>[...r.cells].slice(0,5).map(c=>c.textContent).join('|'))" \
	"eval:bars=document.querySelectorAll('#cert-table meter').length" \
	"shot:$SHOTS/certificates.png" \
	"goto:$URL/#/services" "$(ready services)" \
	"eval:svcs=[...document.querySelectorAll('#svc-table tbody tr[data-service=https]')].map(r=>[r.cells[0].textContent,r.cells[2].title,r.cells[4].title,r.cells[5].textContent].join('|'))" \
	"shot:$SHOTS/services.png" \
	"goto:$URL/#/log" "$(ready log)" \
	"eval:log=document.querySelectorAll('#log-table tbody tr').length" \
	"shot:$SHOTS/log.png" "type:#log-op=authorize" "click:#log-filter button[type=submit]" \
	"wait:[...document.querySelectorAll('#log-table tbody tr')].every(r=>r.cells[3].textContent==='authorize')&&document.querySelector('#log-table tbody tr')" \
	"eval:logops=[...document.querySelectorAll('#log-table tbody tr')].map(r=>r.cells[3].textContent)" \
	"eval:status=document.getElementById('status').textContent" \
	"errors:errors" \
	"eval:inline=(function(){const s=document.createElement('script');s.textContent='window.injected=1';document.body.appendChild(s);return window.injected||0})()" \
	"errors:after"
browser_ok "the console's four pages load in chromium with the client certificate"
NCERTS=$(on cf get --json | jq '.Items | length')
NSVCS=$(on cf services --json | jq '.Items | length')
expect_eq "fleet: the agent, my role, its certificates and services, none mismatched" \
	"$(got fleet | jq -r '.[0] | [.[0], .[2], .[4], .[6], .[7]] | join(" ")')" "ex1 admin $NCERTS $NSVCS 0"
N1=$(cf --server ex1 get --json | jq '.Items | length')
N2=$(cf --server ex2 get --json | jq '.Items | length')
expect_eq "fleet: two rows, ex1 and ex2 (asked by the browser), each with its certificates as certfleet --server NAME get counts them" \
	"$(got fleet | jq -r 'map(.[0] + " " + .[4]) | join(", ")')" "ex1 $N1, ex2 $N2"
expect_eq "fleet: both answered; ex2's row links to its console" \
	"$(got states | jq -r 'join(" ")') $(got link | jq -r .)" "ok ok $URL2/"
if got certs | jq -e --arg tp "$LEAF_TP" 'any(.[]; . == ($tp + "|CN=mail.example.com,O=Example|Valid|https|False"))' >/dev/null; then
	pass "certificates: the leaf as Get-ExchangeCertificate shows it (Thumbprint, Subject, Status, Services, PrivateKeyExportable)"
else
	fail "certificates: the leaf as Get-ExchangeCertificate shows it" "$(got certs)"
fi
expect_eq "certificates: a days-left bar for each certificate" "$(got bars)" "$NCERTS"
expect_eq "services: https, Assigned and Served the leaf, Match True" \
	"$(got svcs | jq -r 'join(" ")')" "https|$LEAF_TP|$LEAF_TP|True"
if [ "$(got log)" -gt 0 ] 2>/dev/null && [ "$(got logops)" = '["authorize"]' ]; then
	pass "audit log: records shown, and the operation filter keeps only authorize"
else
	fail "audit log: records shown, and the operation filter keeps only authorize" \
		"rows $(got log), filtered $(got logops)"
fi
expect_eq "no error shown on any page" "$(got status)" '""'
expect_eq "no script error and no Content-Security-Policy violation" "$(got errors)" "[]"
if [ "$(got inline)" = 0 ] && got after | grep -q "violates the following Content Security Policy"; then
	pass "an inline script put into the page does not run: the policy blocks it"
else
	fail "an inline script put into the page does not run: the policy blocks it" \
		"ran: $(got inline); $(got after)"
fi
# Browsers drop spare connections mid-handshake: no refusal to audit.
run on cf log --json
expect_eq "the browser's visit leaves no refused handshake in the audit" \
	"$(jq --arg fp "$ID_FP" '[.Items[] | select(.Operation == "connect" and (.Actor | startswith("tls:" + $fp)))] | length' "$OUT")" 0
for s in fleet certificates services log; do
	if [ "$(head -c 8 "$SHOTS/$s.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
		pass "screenshot $s.png is a PNG"
	else
		fail "screenshot $s.png is a PNG"
	fi
done

# ---- import a PFX through the form, enable through the UI -----------------

# The confirmation dialog first: Cancel changes nothing.
browser "$B1" "goto:$URL/#/certificates" "$(ready certificates)" \
	"file:#import-file=$T/other.pfx" "type:#import-password=other pfx password" \
	"type:#import-services=https" "click:#import-submit" \
	"wait:document.getElementById('confirm').open" \
	"eval:question=document.getElementById('confirm-text').textContent" \
	"click:#confirm-cancel" "wait:!document.getElementById('confirm').open" \
	"eval:rows=document.querySelectorAll('#cert-table tbody tr').length"
browser_ok "import: the form asks first; Cancel"
expect_eq "import: the question names the file, the services and the agent" \
	"$(got question)" '"Import other.pfx and enable it for https on ex1?"'
expect_eq "import cancelled: nothing imported" "$(got rows)" "$NCERTS"
expect_eq "import cancelled: nginx still serves the leaf" "$(served)" "$LEAF_TP"

browser "$B1" "goto:$URL/#/certificates" "$(ready certificates)" \
	"file:#import-file=$T/other.pfx" "type:#import-password=other pfx password" \
	"type:#import-services=https" "click:#import-force" "click:#import-exportable" \
	"click:#import-submit" \
	"wait:document.getElementById('confirm').open" "click:#confirm-ok" \
	"wait:document.body.dataset.acts==='1'" \
	"eval:status=document.getElementById('status').textContent" \
	"eval:rows=document.querySelectorAll('#cert-table tbody tr').length"
browser_ok "import: a PFX through the form, confirmed"
if got status | grep -qF "${OTHER_TP:0:8}: imported for https"; then
	pass "import: the console says what was imported and deployed"
else
	fail "import: the console says what was imported and deployed" "$(got status)"
fi
expect_eq "import: the certificate is listed" "$(got rows)" $((NCERTS + 1))
expect_eq "import through the console: nginx serves the imported certificate" \
	"$(served)" "$OTHER_TP"

# Enable the leaf again: Cancel first, then Confirm.
ENABLE_STEPS=("goto:$URL/#/certificates" "$(ready certificates)"
	"select:#act-thumb=$LEAF_TP" "type:#act-services=https" "click:#act-force"
	"click:#act-enable"
	"wait:document.getElementById('confirm').open")
browser "$B1" "${ENABLE_STEPS[@]}" "click:#confirm-cancel" \
	"wait:!document.getElementById('confirm').open"
browser_ok "enable: the UI asks first; Cancel"
expect_eq "enable cancelled: nginx still serves the imported certificate" \
	"$(served)" "$OTHER_TP"
browser "$B1" "${ENABLE_STEPS[@]}" \
	"eval:question=document.getElementById('confirm-text').textContent" \
	"click:#confirm-ok" \
	"wait:document.body.dataset.acts==='1'" \
	"eval:status=document.getElementById('status').textContent" \
	"goto:$URL/#/services" "$(ready services)" \
	"eval:svcs=[...document.querySelectorAll('#svc-table tbody tr[data-service=https]')].map(r=>[r.cells[0].textContent,r.cells[2].title,r.cells[5].textContent].join('|'))"
browser_ok "enable: through the UI, confirmed"
expect_eq "enable: the question names the certificate, services and agent" \
	"$(got question)" "\"Enable ${LEAF_TP:0:8} for https on ex1?\""
if got status | grep -qF "enabled ${LEAF_TP:0:8} for https"; then
	pass "enable: the console shows the agent's answer"
else
	fail "enable: the console shows the agent's answer" "$(got status)"
fi
expect_eq "enable through the console: nginx serves the leaf again" "$(served)" "$LEAF_TP"
expect_eq "enable: the services page shows the leaf assigned, Match True" \
	"$(got svcs | jq -r 'join(" ")')" "https|$LEAF_TP|True"
run on cf log --json
if jq -e --arg fp "$ID_FP" '[.Items[] | select(.Operation == "enable" and (.Actor | startswith("tls:" + $fp)) and (.Outcome | test("^https: .*deployed")))] | length >= 2' "$OUT" >/dev/null; then
	pass "audit: the console's import and enable as the admin's certificate, as from the CLI"
else
	fail "audit: the console's import and enable as the admin's certificate, as from the CLI"
	show "$OUT" 30
fi

# ---- export: a download, and a key that is not exportable ---------------

mkdir -p "$T/downloads"
EXPORT_STEPS=("downloads:$T/downloads" "goto:$URL/#/certificates" "$(ready certificates)"
	"type:#export-password=exported pfx password" "click:#act-export"
	"wait:document.getElementById('confirm').open" "click:#confirm-ok"
	"wait:document.body.dataset.acts==='1'"
	"eval:status=document.getElementById('status').textContent")
# export_steps THUMBPRINT - the steps, the certificate chosen once the
# page is there.
export_steps() {
	STEPS=("${EXPORT_STEPS[@]:0:3}" "select:#act-thumb=$1" "${EXPORT_STEPS[@]:3}")
}
export_steps "$LEAF_TP"
browser "$B1" "${STEPS[@]}"
browser_ok "export of a key that is not exportable: asked, sent"
if got status | grep -q 'POST /v1/export: .*not exportable'; then
	pass "export of a key that is not exportable: the agent's refusal is shown"
else
	fail "export of a key that is not exportable: the agent's refusal is shown" "$(got status)"
fi
export_steps "$OTHER_TP"
browser "$B1" "${STEPS[@]}"
browser_ok "export through the UI, confirmed"
if got status | grep -qF "exported ${OTHER_TP:0:8} (downloaded)"; then
	pass "export: the console says it downloaded the file"
else
	fail "export: the console says it downloaded the file" "$(got status)"
fi
pwfile "$T/exported.pw" "exported pfx password"
if wait_until 10 test -s "$T/downloads/${OTHER_TP:0:8}.pfx" &&
	openssl pkcs12 -in "$T/downloads/${OTHER_TP:0:8}.pfx" -nodes -passin "file:$T/exported.pw" \
		-out "$T/exported.pem" 2>/dev/null &&
	[ "$(thumb "$T/exported.pem")" = "$OTHER_TP" ] && grep -q 'PRIVATE KEY' "$T/exported.pem"; then
	pass "export: the downloaded PFX opens under its password, with the certificate and key"
else
	fail "export: the downloaded PFX opens under its password, with the certificate and key" \
		"$(ls -l "$T/downloads")"
fi
if [ -e "$T/downloads/${LEAF_TP:0:8}.pfx" ]; then
	fail "export: nothing downloaded for the key that is not exportable"
else
	pass "export: nothing downloaded for the key that is not exportable"
fi

# ---- forged POSTs ---------------------------------------------------------

# A page of another origin that posts a form to the agent at once: the
# browser presents the admin's certificate with it.
mkdir -p "$T/forge"
cat >"$T/forge/index.html" <<EOF
<!doctype html><html><body>
<form method="POST" action="$URL/v1/enable" enctype="text/plain">
<input name='{"thumbprint":"$OTHER_TP","services":"https","x":"' value='"}'>
</form>
<script>document.forms[0].submit();</script>
</body></html>
EOF
python3 -m http.server "$FORGE_PORT" --bind 127.0.0.1 --directory "$T/forge" \
	>"$T/forge.log" 2>&1 &
FORGE_PID=$!
wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$FORGE_PORT/" ||
	fail "the forging page's server starts"
FORGE_BODY="JSON.stringify({thumbprint:'$OTHER_TP',services:'https'})"
browser "$B1" "goto:$URL/#/fleet" "$(ready fleet)" \
	"eval:notoken=fetch('/v1/enable',{method:'POST',headers:{'Content-Type':'application/json'},body:$FORGE_BODY}).then(r=>r.status)" \
	"eval:badtoken=fetch('/v1/enable',{method:'POST',headers:{'Content-Type':'application/json','X-Certfleet-CSRF':'1.'+'0'.repeat(64)},body:$FORGE_BODY}).then(r=>r.status)" \
	"eval:goodtoken=fetch('/v1/csrf').then(r=>r.json()).then(j=>fetch('/v1/whoami',{headers:{'X-Certfleet-CSRF':j.token}})).then(r=>r.status)" \
	"goto:http://127.0.0.1:$FORGE_PORT/" \
	"wait:location.href.startsWith('$URL/v1/enable')" \
	"eval:forged=document.body.innerText"
browser_ok "forgeries: run in the browser that holds the admin's certificate"
expect_eq "a POST from the page without the token: 403" "$(got notoken)" 403
expect_eq "a POST from the page with a made-up token: 403" "$(got badtoken)" 403
expect_eq "the token endpoint answers the page (control)" "$(got goodtoken)" 200
if got forged | grep -q 'denied.*without a valid console token'; then
	pass "a form posted from another origin: 403 denied, no valid token"
else
	fail "a form posted from another origin: 403 denied, no valid token" "$(got forged)"
fi
expect_eq "forgeries changed nothing: nginx still serves the leaf" "$(served)" "$LEAF_TP"
run on cf services --json
expect_eq "forgeries changed nothing: https is still assigned the leaf" \
	"$(jq -r '.Items[] | select(.Service == "https") | .Assigned' "$OUT")" "$LEAF_TP"
# Refusals are coalesced per address and certificate (the browser's
# among its other ones): a certificate of its own shows the record.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=admin2" -days 2 -keyout "$T/admin2.key" -out "$T/admin2.pem" 2>/dev/null
ADMIN2_FP=SHA256:$(openssl x509 -in "$T/admin2.pem" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g')
check "a second admin certificate, for the audit of a forgery" \
	cfd authorize "$ADMIN2_FP" --role admin --config "$T/ex1.conf"
expect_eq "a POST with Sec-Fetch-Site and no token (curl): 403" \
	"$(curl -sk --max-time 10 --cert "$T/admin2.pem" --key "$T/admin2.key" -o /dev/null \
		-w '%{http_code}' -H 'Sec-Fetch-Site: cross-site' \
		-d "{\"thumbprint\":\"$OTHER_TP\",\"services\":\"https\"}" "$URL/v1/enable")" 403
# shellcheck disable=SC2317 # run by wait_until
audited() {
	on cf log --json | jq -e --arg fp "$ADMIN2_FP" '[.Items[] | select(.Operation == "connect" and (.Actor | startswith("tls:" + $fp)) and (.Outcome | test("refused: POST /v1/enable from a browser without a valid console token")))] | length == 1'
}
if wait_until 10 audited; then
	pass "a forgery is audited as a refusal of the certificate that sent it"
else
	fail "a forgery is audited as a refusal of the certificate that sent it"
	on cf log | tail -n 5 | sed 's/^/    | /'
fi

# The CLI's POSTs carry no browser marks and no token, as before.
check "the CLI over mutual TLS: enable, a POST, needs no token" \
	cf --server ex1 enable "$LEAF_TP" --services https
check_fails "a POST with an Origin and no token (curl): 403" 22 '403' \
	curl "${K[@]}" -fS -X POST -H "Origin: https://evil.example" \
	-d "{\"thumbprint\":\"$OTHER_TP\",\"services\":\"https\"}" "$URL/v1/enable"
expect_eq "still the leaf after the CLI and curl" "$(served)" "$LEAF_TP"

# ---- a reader's console ---------------------------------------------------

# Another admin workstation's identity, authorized as reader: the pages,
# no actions; a POST with a good token is still the store's to refuse.
B3=$T/browser3
mkdir -p "$B3/.pki/nssdb"
certutil -d "sql:$B3/.pki/nssdb" -N --empty-password
CERTFLEET_HOME=$T/reader cf id --export-p12 "$T/reader.p12" --password-file "$T/id.pw" >/dev/null 2>&1
READER_FP=$(CERTFLEET_HOME=$T/reader cf id --json | jq -r .Fingerprint)
check "a reader's identity: authorize it as reader" \
	cfd authorize "$READER_FP" --role reader --config "$T/ex1.conf"
check "a reader's identity: into its browser" \
	pk12util -d "sql:$B3/.pki/nssdb" -i "$T/reader.p12" -w "$T/id.pw"
browser "$B3" "goto:$URL/#/certificates" "$(ready certificates)" \
	"eval:rows=document.querySelectorAll('#cert-table tbody tr').length" \
	"eval:actions=[...document.querySelectorAll('.admin')].map(e=>e.hidden)" \
	"eval:who=document.getElementById('who').textContent" \
	"eval:post=fetch('/v1/csrf').then(r=>r.json()).then(j=>fetch('/v1/enable',{method:'POST',headers:{'Content-Type':'application/json','X-Certfleet-CSRF':j.token},body:$FORGE_BODY})).then(r=>r.status)"
browser_ok "a reader's console loads"
expect_eq "reader: the certificates are shown" "$(got rows)" $((NCERTS + 1))
expect_eq "reader: no admin action is offered" "$(got actions)" "[true, true]"
if got who | grep -q 'reader'; then
	pass "reader: the header says the role"
else
	fail "reader: the header says the role" "$(got who)"
fi
expect_eq "reader: a POST with a good token is still refused (403, the role)" "$(got post)" 403
expect_eq "reader: nothing changed" "$(served)" "$LEAF_TP"

# ---- a browser without a client certificate -------------------------------

browser "$B2" "goto:$URL/" "eval:page=!!document.getElementById('cert-table')"
if grep -q "^goto $URL/ error net::ERR_" "$OUT" && [ "$(got page)" = false ]; then
	pass "a browser without a client certificate gets no page ($(sed -n 's/^goto .* error //p' "$OUT"))"
else
	fail "a browser without a client certificate gets no page"
	show "$OUT"
fi

# ---- a peer that does not answer -----------------------------------------

FLEET_STEPS=("goto:$URL/" "$(ready fleet)"
	"eval:fleet=[...document.querySelectorAll('#fleet-table tbody tr')].map(r=>[r.dataset.state,r.className,...[...r.cells].map(c=>c.textContent)])")
N1=$(cf --server ex1 get --json | jq '.Items | length')
# Stopped, ex2's listener still takes connections but says nothing.
kill -STOP "${APID[ex2]}"
browser "$B1" "${FLEET_STEPS[@]}"
kill -CONT "${APID[ex2]}"
browser_ok "fleet, ex2 stopped: the page is shown"
expect_eq "fleet, ex2 stopped: ex1 as before; ex2 unreachable after the time limit, a problem row, its columns empty" \
	"$(got fleet | jq -c '[.[0][0], .[0][2], .[0][6], .[1]]')" \
	"[\"ok\",\"ex1\",\"$N1\",[\"unreachable\",\"problem\",\"ex2\",\"\",\"\",\"unreachable: no answer within 5 s\",\"\",\"\",\"\",\"\"]]"
agent_stop ex2
browser "$B1" "${FLEET_STEPS[@]}"
browser_ok "fleet, ex2 gone: the page is shown"
expect_eq "fleet, ex2 gone: ex1 as before, ex2 unreachable (refused)" \
	"$(got fleet | jq -r '[.[0][0], .[0][2], .[1][0], .[1][2], (.[1][5] | startswith("unreachable: "))] | join(" ")')" \
	"ok ex1 unreachable ex2 true"

agent_stop ex1
e2e_done
