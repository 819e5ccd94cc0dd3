#!/usr/bin/env bash
# acme-issue.sh - `certfleet issue NAMESPACE` (issue 14) against a real
# CA: Debian's pebble with validation on, three members (ex1, ex2, ex3:
# a certfleetd and an nginx each on 127.0.1.N) behind a real haproxy on
# 127.0.1.10, pebble-challtestsrv sending the CA's validation to the
# balancer (acme-farm-lib.sh), and for DNS-01 a real BIND 9.
#   - refused: an unknown namespace, one without an issuer (the message
#     says how to set one), pebble's HTTPS without --acme-ca-file;
#   - HTTP-01, one member withholding the token for real (ex2's nginx
#     serves the challenges from another directory than its agent
#     writes): exit 1 naming ex2, the CA never asked to validate, no
#     token left on any agent, no new certificate, every member serving
#     what it served;
#   - likewise a member whose agent is down (ex3 named) and a balancer
#     that answers the challenges 404 itself (the balancer named, no
#     member);
#   - all fixed: exit 0; pebble validated through haproxy on all three;
#     every member and the balancer serve one new certificate that
#     verifies against pebble's root; no token left; status converged;
#   - DNS-01 through BIND (RFC 2136, TSIG), with a wildcard SAN: a wrong
#     TSIG key fails with the zone unchanged and the CA not asked; with
#     the right one but a CA root the members do not hold, issue stops
#     after the order and before any rollout, users keep what they had,
#     and importing the root and the rollout it gives finish it; then a clean
#     issue of a certificate naming *.example.com, served everywhere,
#     its --json the rollout's document; the TXT records added and
#     deleted in BIND, none left.
#
#   bash tests/e2e/acme-issue.sh    (CERTFLEET, CERTFLEETD: other builds)
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
# shellcheck source=servers-lib.sh
. "$HERE/servers-lib.sh"
# shellcheck source=acme-farm-lib.sh
. "$HERE/acme-farm-lib.sh"

require_certfleet
export CF_TIMEOUT=150
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEETD_CONFIG NOTIFY_SOCKET
export CERTFLEET_SOCKET=$T/no-agent.sock
require_tools named nsupdate tsig-keygen dig
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	fail "acme-issue: python3-jsonschema" "not installed (scripts/setup-deps.sh installs it)"
	e2e_done
fi
farm_start
NS=$FARM_NS
OLD=$FARM_OLD
ROOT=$FARM_ROOT

# issue [OPTION...] - certfleet issue NS with pebble's TLS CA and root.
# shellcheck disable=SC2317 # called through check and check_fails
issue() {
	cf issue "$NS" --acme-ca-file "$FARM_ACME_CA" --ca-file "$ROOT" --deadline 120s "$@"
}
# A line of pebble's log that says it was asked to validate (the client's
# POST to the challenge) or that it validates.
ASKED='POST /chalZ/|Pulled a task from the Tasks queue|Starting [0-9]+ validations|Attempting to validate'
# asked_since LOG LINES - what LOG says of validation past its first LINES.
asked_since() { tail -n "+$(($2 + 1))" "$1" | grep -E "$ASKED"; }
lines() { wc -l <"$1"; }
# pebble_va N - the requests member N's nginx answered to pebble's VA.
pebble_va() { grep -c 'LetsEncrypt-Pebble-VA' "$T/srv/$1/nginx/access.log"; }
# token_files - the files under every webroot (the decoy's aside).
token_files() { find "${FARM_WWW[@]}" -type f | sort; }
thumbs_all() {
	local n
	for n in "${FARM_MEMBERS[@]}"; do echo "$n: $(farm_thumbs "$n")"; done
}
all() { echo "ex1=$1 ex2=$1 ex3=$1"; }
# state - the namespace's rollout in the fleet file, as rollout.sh reads it.
state() {
	jq -r --arg ns "$NS" '.namespaces[] | select(.name == $ns) | .rollout |
	    "\(.state) " + ([.members[]? | "\(.name):\(.state)"] | join(" "))' "$FARM_FLEET"
}
# via_samples N ROOT - N connections through haproxy: the thumbprints
# whose chain verified against ROOT, one per line ("unverified" else).
via_samples() {
	for _ in $(seq "$1"); do
		farm_served_via "$2" || echo unverified
	done | sort | uniq -c | awk '{ print $2 "x" $1 }'
}

expect_eq "set-up: every member serves OLD" "$(farm_served_all)" "$(all "$OLD")"
if [ -z "$(farm_served ex1 "$ROOT")" ]; then
	pass "set-up: OLD does not verify against pebble's root"
else
	fail "set-up: OLD does not verify against pebble's root" "it does"
fi

# ---- refused before anything is published ----------------------------------
check_fails "an unknown namespace: refused, named" 2 'nope\.example\.com' \
	cf issue nope.example.com --acme-ca-file "$FARM_ACME_CA"
check "a namespace without an issuer" \
	cf namespace add www.example.com --servers ex1,ex2 --services https --via "$FARM_VIA"
check_fails "no issuer: exit 2, saying how to set one" 2 \
	'www\.example\.com: .*namespace set www\.example\.com --issuer acme:' \
	cf issue www.example.com --acme-ca-file "$FARM_ACME_CA"
check "remove it" cf namespace remove www.example.com
check_fails "no namespace given: exit 2, asking for one" 2 'issue: .*NAMESPACE' cf issue

BEFORE_THUMBS=$(thumbs_all)
P0=$(lines "$FARM_PEBBLE_LOG")
check_fails "pebble's HTTPS without --acme-ca-file is not trusted: exit 1" 1 \
	"$NS: .*(certificate|SSL|TLS).*--acme-ca-file ROOT.pem\)$" cf issue "$NS" --ca-file "$ROOT" --deadline 30s
expect_eq "... nothing published on any agent" "$(farm_tokens)" ""
if tail -n "+$((P0 + 1))" "$FARM_PEBBLE_LOG" | grep -q 'calling handler'; then
	fail "... pebble answered no request" "its log:"
	tail -n "+$((P0 + 1))" "$FARM_PEBBLE_LOG" | head -n 8 | sed "s/^/    | /"
else
	pass "... pebble answered no request"
fi

# ---- HTTP-01: ex2 withholds the token ----------------------------------------
# ex2's agent writes into FARM_WWW[ex2]; its nginx now serves another
# directory, so every request for the token that reaches ex2 is a 404.
if farm_webroot ex2 "$FARM_WEB/decoy"; then
	pass "ex2's nginx serves the challenges from another directory"
else
	fail "ex2's nginx serves the challenges from another directory"
	show "$T/srv/ex2/nginx/start.err"
fi
P0=$(lines "$FARM_PEBBLE_LOG")
A2=$(lines "$T/srv/ex2/nginx/access.log")
check_fails "issue with ex2 withholding the token: exit 1, ex2 named" 1 \
	"^certfleet: issue: $NS: http-01: ex2 does not serve the token.*: 127\\.0\\.1\\.2:$FARM_HP \\(Host: $NS\\), request 1 of 1: HTTP 404\$" issue
cp "$ERR" "$T/withheld.err"
if grep -q 'ex2 does not serve' "$T/withheld.err" &&
	! grep -qE 'ex[13] |127\.0\.1\.[13]:' "$T/withheld.err" &&
	[ "$(grep -o 'the CA was not asked' "$T/withheld.err" | wc -l)" = 1 ]; then
	pass "... and only ex2, which alone fails"
else
	fail "... and only ex2, which alone fails" "$(cat "$T/withheld.err")"
fi
if grep -qi 'the CA was not asked' "$T/withheld.err"; then
	pass "... saying the CA was not asked"
else
	fail "... saying the CA was not asked" "$(cat "$T/withheld.err")"
fi
if tail -n "+$((A2 + 1))" "$T/srv/ex2/nginx/access.log" |
	grep -q 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]\{22,\} HTTP/1.1" 404'; then
	pass "... ex2's nginx was asked for the token, and answered 404"
else
	fail "... ex2's nginx was asked for the token, and answered 404"
	show "$T/srv/ex2/nginx/access.log"
fi
if asked_since "$FARM_PEBBLE_LOG" "$P0" >"$T/asked"; then
	fail "... pebble was not asked to validate" "its log:"
	show "$T/asked"
else
	pass "... pebble was not asked to validate"
fi
expect_eq "... pebble's VA reached no nginx" "$(pebble_va ex1)$(pebble_va ex2)$(pebble_va ex3)" 000
expect_eq "... no token left on any agent" "$(farm_tokens)" ""
expect_eq "... no token file left in any webroot" "$(token_files)" ""
expect_eq "... no new certificate nor pending request on any member" "$(thumbs_all)" "$BEFORE_THUMBS"
expect_eq "... every member still serves OLD" "$(farm_served_all)" "$(all "$OLD")"
expect_eq "... through haproxy too" "$(via_samples 3 "")" "${OLD}x3"
check "... and status still converged on what was there" cf status "$NS"

# ---- HTTP-01: ex2 fixed, the certificate issued and rolled out ---------------
if farm_webroot ex2 "${FARM_WWW[ex2]}"; then
	pass "ex2's nginx serves its agent's webroot again"
else
	fail "ex2's nginx serves its agent's webroot again"
fi

# ---- HTTP-01: a member whose agent is down -------------------------------
agent_stop ex3
P0=$(lines "$FARM_PEBBLE_LOG")
check_fails "issue with ex3's agent down: exit 1, ex3 named" 1 "^certfleet: issue: $NS: .*ex3" issue
if asked_since "$FARM_PEBBLE_LOG" "$P0" >"$T/asked"; then
	fail "... pebble was not asked to validate" "its log:"
	show "$T/asked"
else
	pass "... pebble was not asked to validate"
fi
expect_eq "... no token left on ex1 and ex2" "$(farm_tokens)" "ex3:(no answer)"
expect_eq "... no token file left in any webroot" "$(token_files)" ""
expect_eq "... every member still serves OLD" "$(farm_served_all)" "$(all "$OLD")"
if farm_agent_restart ex3; then
	pass "ex3's agent is back"
else
	fail "ex3's agent is back"
	show "$T/ex3.log"
fi

# ---- HTTP-01: a balancer that does not pass the challenges on -------------
# Every member serves the token; haproxy answers 404 itself.
if farm_balancer_restart deny; then
	pass "haproxy now answers the challenges 404 itself"
else
	fail "haproxy now answers the challenges 404 itself"
	show "$T/lb/start.err"
fi
P0=$(lines "$FARM_PEBBLE_LOG")
check_fails "issue through that balancer: exit 1, the balancer named" 1 \
	"^certfleet: issue: $NS: http-01: .*$FARM_LB_IP:$FARM_HP" issue
if grep -qE 'ex[123] \(127\.0\.1\.[123]:' "$ERR"; then
	fail "... and no member, as each serves it" "$(cat "$ERR")"
else
	pass "... and no member, as each serves it"
fi
if asked_since "$FARM_PEBBLE_LOG" "$P0" >"$T/asked"; then
	fail "... pebble was not asked to validate" "its log:"
	show "$T/asked"
else
	pass "... pebble was not asked to validate"
fi
expect_eq "... no token left on any agent" "$(farm_tokens)" ""
expect_eq "... no token file left in any webroot" "$(token_files)" ""
if farm_balancer_restart; then
	pass "haproxy passes the challenges on again"
else
	fail "haproxy passes the challenges on again"
	show "$T/lb/start.err"
fi
P0=$(lines "$FARM_PEBBLE_LOG")
T0=${EPOCHREALTIME/./}
check "issue: exit 0" issue
ISSUE_MS=$(((${EPOCHREALTIME/./} - T0) / 1000))
cp "$OUT" "$T/issued.out"
cp "$ERR" "$T/issued.err"
NEW=$(farm_served ex1 "$ROOT")
if [ -n "$NEW" ] && [ "$NEW" != "$OLD" ]; then
	pass "ex1 serves a new certificate that verifies against pebble's root ($NEW)"
else
	fail "ex1 serves a new certificate that verifies against pebble's root" "got '$NEW'"
	show "$T/issued.out"
	show "$T/issued.err"
	NEW="(none)" # so that what follows fails too
fi
for n in ex2 ex3; do
	expect_eq "$n serves it, verified against pebble's root" "$(farm_served "$n" "$ROOT")" "$NEW"
done
expect_eq "haproxy serves it, 6 of 6, verified" "$(via_samples 6 "$ROOT")" "${NEW}x6"
if grep -q "${NEW:0:8}" "$T/issued.out"; then
	pass "issue says which certificate it issued"
else
	fail "issue says which certificate it issued" "no ${NEW:0:8} in its output"
	show "$T/issued.out"
fi
farm_served_pem ex1 >"$T/new.pem"
INT=$(sed -n 's/.*Generated new intermediate issuer CN=\(Pebble Intermediate CA [0-9a-f]*\) .*/\1/p' "$FARM_PEBBLE_LOG")
expect_eq "its issuer is pebble's intermediate" \
	"$(openssl x509 -in "$T/new.pem" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= //p')" "$INT"
expect_eq "it names mail.example.com" \
	"$(openssl x509 -in "$T/new.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" "DNS:$NS"
if openssl x509 -in "$T/new.pem" -noout -text | grep -q 'ASN1 OID: prime256v1'; then
	pass "its key is P-256 (--key p256)"
else
	fail "its key is P-256 (--key p256)"
fi
for n in ex1 ex2 ex3; do
	if [ "$(pebble_va "$n")" -ge 1 ]; then
		pass "pebble's validation reached $n through haproxy"
	else
		fail "pebble's validation reached $n through haproxy" "$(pebble_va "$n") requests in its access log"
	fi
done
if asked_since "$FARM_PEBBLE_LOG" "$P0" | grep -q 'Attempting to validate w/ HTTP: http://mail\.example\.com:'"$FARM_HP/"; then
	pass "pebble validated http://mail.example.com:$FARM_HP/"
else
	fail "pebble validated http://mail.example.com:$FARM_HP/"
fi
expect_eq "no token left on any agent" "$(farm_tokens)" ""
expect_eq "no token file left in any webroot" "$(token_files)" ""
for n in ex1 ex2 ex3; do
	expect_eq "$n: NEW in its store, on https" \
		"$(cf get --server "$n" --json | jq -r --arg t "$NEW" '.Items[] | select(.Thumbprint == $t) | .Services | tostring')" \
		'["https"]'
done
check "status: converged (exit 0)" cf status "$NS"
expect_eq "the fleet file: desired NEW, the rollout done" \
	"$(jq -r --arg ns "$NS" '.namespaces[] | select(.name == $ns) | .desired' "$FARM_FLEET") $(state)" \
	"$NEW done ex1:moved ex2:moved ex3:moved"
echo "# acme-issue: http-01 issue and rollout of 3 members: $ISSUE_MS ms"

# ---- DNS-01 with a wildcard, through BIND ------------------------------------
# A second pebble that resolves through BIND: the records certfleet sets
# there are what it validates.  (Its own account: accounts are per CA.)
if farm_bind_start; then
	pass "BIND: the primary of example.com answers on 127.0.0.1:$FARM_DNS_PORT"
else
	fail "BIND: the primary of example.com answers on 127.0.0.1:$FARM_DNS_PORT"
	show "$T/bind/named.log" 20
	e2e_done
fi
if farm_pebble_start pebble-dns "$FARM_DNS_PORT"; then
	pass "a second pebble, resolving through BIND"
else
	fail "a second pebble, resolving through BIND"
	show "${FARM_PLOG[pebble-dns]}" 20
	e2e_done
fi
DLOG=${FARM_PLOG[pebble-dns]}
DROOT=${FARM_PROOT[pebble-dns]}
check "an account at it on ex1" cf --server ex1 acme account new le-dns \
	--directory "${FARM_PDIR[pebble-dns]}" --ca-file "$FARM_ACME_CA" --agree-tos
txt() { dig +short +norecurse -p "$FARM_DNS_PORT" @127.0.0.1 "$1" TXT | tr -d '"'; }
zone_txt() { dig +noall +answer -p "$FARM_DNS_PORT" @127.0.0.1 example.com AXFR | awk '$4 == "TXT"'; }
# shellcheck disable=SC2317 # called through check
dns_issuer() {
	cf namespace set "$NS" --issuer acme:le-dns --challenge dns-01 \
		--dns-server "127.0.0.1:$FARM_DNS_PORT" --dns-key-file "$1" --san '*.example.com'
}
tsig-keygen -a hmac-sha256 acme-key >"$T/wrong.key" # the same name, another secret
chmod 600 "$T/wrong.key"
check "namespace set: dns-01 through BIND, a wrong TSIG key, --san '*.example.com'" \
	dns_issuer "$T/wrong.key"
BEFORE_THUMBS=$(thumbs_all)
P0=$(lines "$DLOG")
B0=$(lines "$T/bind/named.log")
# updates NAME - what BIND logged of updates at NAME since line B0.
updates() {
	tail -n "+$((B0 + 1))" "$T/bind/named.log" |
		sed -n "s/.*updating zone 'example.com\/IN': \(adding\|deleting\) \(an RR\|rrset\) at '\{0,1\}$1'\{0,1\} TXT.*/\1/p" |
		tr '\n' ' '
}
check_fails "dns-01 with a wrong TSIG key: exit 1, nsupdate's refusal shown" 1 \
	"^certfleet: issue: $NS: .*dns-01.*(NOTAUTH|BADSIG|BADKEY|TSIG|tsig|REFUSED)" issue --ca-file "$DROOT"
if asked_since "$DLOG" "$P0" >"$T/asked"; then
	fail "... pebble was not asked to validate" "its log:"
	show "$T/asked"
else
	pass "... pebble was not asked to validate"
fi
if tail -n "+$((B0 + 1))" "$T/bind/named.log" | grep -q 'tsig verify failure (BADSIG)'; then
	pass "... BIND refused the update: BADSIG"
else
	fail "... BIND refused the update: BADSIG"
fi
expect_eq "... BIND changed nothing" "$(updates '_acme-challenge\.[a-z.]*')" ""
expect_eq "... no TXT record in the zone" "$(zone_txt)" ""
expect_eq "... no new certificate nor pending request on any member" "$(thumbs_all)" "$BEFORE_THUMBS"
expect_eq "... every member still serves the http-01 certificate" "$(farm_served_all)" "$(all "$NEW")"

# A CA whose root the members do not hold: the certificate is issued,
# but no agent would deploy a chain it cannot complete, so issue stops
# before any rollout, users keep what they had, and the message says
# what to do.
check "namespace set: the right TSIG key" dns_issuer "$FARM_TSIG"
check_fails "a CA the members do not know: exit 1 before the rollout, saying to import its root" 1 \
	"^certfleet: issue: $NS: [0-9A-F]{40} was issued and completed on ex1, but it is Untrusted there .*Import the CA's root on every server .*then certfleet rollout $NS --certificate [0-9A-F]{40}\$" \
	issue --ca-file "$DROOT"
ORPHAN=$(sed -n 's/^.*issued \([0-9A-F]\{40\}\) by ACME account le-dns.*/\1/p' "$OUT")
if [ -n "$ORPHAN" ] && grep -q "certificate $ORPHAN\$" "$ERR"; then
	pass "... after it was issued ($ORPHAN), as it says"
else
	fail "... after it was issued, as it says"
	show "$OUT"
	ORPHAN="(none)"
fi
expect_eq "... users keep the http-01 certificate" \
	"$(farm_served_all) $(via_samples 3 "")" "$(all "$NEW") ${NEW}x3"
expect_eq "... only ex1 holds it" "$(for n in ex1 ex2 ex3; do farm_thumbs "$n" | grep -c "$ORPHAN"; done | tr '\n' ' ')" "1 0 0 "
run cf status "$NS"
if [ "$RC" = 0 ]; then
	pass "... status: still converged on what they had (exit 0)"
else
	fail "... status: still converged on what they had (exit 0)" "exit $RC"
	show "$OUT"
fi
check "import the second pebble's root on every member" farm_trust "$DROOT"
check "the rollout the message gives finishes it" \
	cf rollout "$NS" --certificate "$ORPHAN" --ca-file "$DROOT"
expect_eq "... every member serves it, verified" \
	"$(farm_served ex1 "$DROOT") $(farm_served ex2 "$DROOT") $(farm_served ex3 "$DROOT")" \
	"$ORPHAN $ORPHAN $ORPHAN"

P0=$(lines "$DLOG")
B0=$(lines "$T/bind/named.log")
check "issue: dns-01 with the wildcard, exit 0 (--json)" issue --ca-file "$DROOT" --json
cp "$ERR" "$T/dns.err"
cp "$OUT" "$T/dns.json"
if python3 "$HERE/json-schema.py" "$E2E_ROOT/docs/json.md" rollout-run "$T/dns.json" 2>"$T/why"; then
	pass "--json: the rollout's document (docs/json.md's rollout-run)"
else
	fail "--json: the rollout's document (docs/json.md's rollout-run)"
	show "$T/why"
	show "$T/dns.json"
fi
WILD=$(farm_served ex1 "$DROOT")
if [ -n "$WILD" ] && [ "$WILD" != "$ORPHAN" ]; then
	pass "ex1 serves a new certificate that verifies against the second pebble's root"
else
	fail "ex1 serves a new certificate that verifies against the second pebble's root" "got '$WILD'"
	show "$T/dns.err"
	WILD="(none)"
fi
for n in ex2 ex3; do
	expect_eq "$n serves it, verified" "$(farm_served "$n" "$DROOT")" "$WILD"
done
expect_eq "--json: it, done" "$(jq -r '"\(.Certificate) \(.State)"' "$T/dns.json" 2>&1)" "$WILD done"
expect_eq "haproxy serves it, 6 of 6, verified" "$(via_samples 6 "$DROOT")" "${WILD}x6"
farm_served_pem ex2 >"$T/wild.pem"
expect_eq "its names: mail.example.com and *.example.com" \
	"$(openssl x509 -in "$T/wild.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')" \
	"DNS:*.example.com DNS:$NS "
if timeout 10 openssl s_client -connect "$FARM_VIA" -servername www.example.com \
	-verify_return_error -CAfile "$DROOT" -verify_hostname www.example.com \
	</dev/null >"$T/www.out" 2>&1; then
	pass "the wildcard is valid for www.example.com through haproxy"
else
	fail "the wildcard is valid for www.example.com through haproxy"
	show "$T/www.out"
fi
if asked_since "$DLOG" "$P0" | grep -q 'Starting [0-9]* validations'; then
	pass "pebble validated the DNS-01 challenges"
else
	fail "pebble validated the DNS-01 challenges"
fi
expect_eq "BIND: _acme-challenge.mail.example.com's TXT added, then deleted" \
	"$(updates '_acme-challenge\.mail\.example\.com')" "adding deleting "
expect_eq "BIND: _acme-challenge.example.com's TXT (the wildcard's) added, then deleted" \
	"$(updates '_acme-challenge\.example\.com')" "adding deleting "
expect_eq "the TXT records are gone: _acme-challenge.mail.example.com" "$(txt "_acme-challenge.$NS")" ""
expect_eq "the TXT records are gone: _acme-challenge.example.com" "$(txt _acme-challenge.example.com)" ""
expect_eq "no TXT record left in the zone" "$(zone_txt)" ""
check "status: converged on it" cf status "$NS"

e2e_done
