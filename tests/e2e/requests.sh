#!/usr/bin/env bash
# requests.sh - `certfleet request new`, `request complete`, `renew` and
# `new --self-signed`, end to end, against a real CA made with `openssl ca`.
#
# A root CA and an intermediate CA, each with its own `openssl ca`
# configuration (index.txt, serial, policy_anything, copy_extensions = copy).
# Two private agents, ag1 and ag2 (driven as root over their Unix sockets),
# each with an nginx service (https) on its own loopback port.  On ag1: a
# request, signed by the intermediate with `openssl ca -batch`, completed;
# exported as PKCS#12, imported on ag2, enabled on both, served by both
# nginx (seen by openssl s_client).  Then every key type, renewals (new key
# and --keep-key, services staying on the old certificate until enable),
# the refusals (each leaving the store as it was), self-signed
# certificates, and the audit trail.  Every request is read by openssl.
#
#   bash tests/e2e/requests.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

require_tools "$CERTFLEETD" nginx openssl python3 jq sqlite3

read -r -d '' PORT1 PORT2 < <(free_ports 2) || true

# ---- helpers ----------------------------------------------------------------

# on1 / on2 ARGS... - certfleet on agent ag1 / ag2 (root, Unix socket).
on1() { CERTFLEET_SOCKET=$SOCKDIR/ag1.sock cf "$@"; }
on2() { CERTFLEET_SOCKET=$SOCKDIR/ag2.sock cf "$@"; }
# field AGENT THUMB FIELD - one field of `get THUMB --json`, as jq prints
# it (-c: arrays on one line); empty when get fails.
field() {
	"$1" get "$2" --json 2>/dev/null | jq -c -r ".Items[0].$3"
}
# csr_thumb FILE [DER] - SHA-1 of the request's DER, upper-case hex.
csr_thumb() {
	if [ "${2:-}" = DER ]; then
		sha1sum <"$1"
	else
		openssl req -in "$1" -outform DER 2>/dev/null | sha1sum
	fi | cut -c1-40 | tr 'a-f' 'A-F'
}
# req_verify NAME FILE [DER] - `openssl req -verify` accepts it.  OpenSSL
# 3.0 exits 0 even when the signature is bad: the words decide.
req_verify() {
	local form=PEM
	[ "${3:-}" = DER ] && form=DER
	if openssl req -inform "$form" -in "$2" -noout -verify >"$T/verify.out" 2>&1 &&
		grep -q "verify OK" "$T/verify.out" && ! grep -qi "fail" "$T/verify.out"; then
		pass "$1"
	else
		fail "$1" "openssl req -verify did not say verify OK"
		show "$T/verify.out"
	fi
}
# sans_req FILE / sans_crt FILE - the DNS names, one line, as openssl prints
# them ("DNS:a, DNS:b"); empty when there is no subjectAltName.
sans_req() {
	openssl req -in "$1" -noout -text 2>/dev/null |
		sed -n '/X509v3 Subject Alternative Name/{n;s/^ *//;p;}'
}
sans_crt() {
	openssl x509 -in "$1" -noout -text 2>/dev/null |
		sed -n '/X509v3 Subject Alternative Name/{n;s/^ *//;p;}'
}
subj_req() { openssl req -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'; }
subj_crt() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'; }
# pub_req FILE / pub_crt FILE - SHA-256 of the public key (DER SPKI).
pub_req() {
	openssl req -in "$1" -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -c1-64
}
pub_crt() {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -c1-64
}
# sign CA CSR OUT - the CA (root or int) signs CSR with `openssl ca -batch`.
sign() {
	openssl ca -batch -notext -config "$CA/$1/ca.cnf" -in "$2" -out "$3" \
		>"$T/ca.log" 2>&1
}
# snap - the state of ag1's store a refused command must not change.
STORE1=$T/ag1/store
snap() { store_snapshot "$STORE1"; }
# unchanged NAME BEFORE - ag1's store is as BEFORE.
unchanged() {
	local now
	now=$(snap)
	if [ "$now" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "the store changed"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$now") | head -n 12 | cut -c1-160 |
			sed 's/^/    /'
	fi
}
# has NAME FILE REGEX - FILE matches the extended REGEX.
has() {
	if grep -qE -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "no line matches /$3/"
		show "$2" 12
	fi
}
# hasnt NAME FILE REGEX - no line of FILE matches.
hasnt() {
	if grep -qE -- "$3" "$2"; then
		fail "$1" "a line matches /$3/"
		grep -E -- "$3" "$2" | head -n 4 | sed 's/^/    | /'
	else
		pass "$1"
	fi
}

# ---- 1. a real CA: root and intermediate, each with its `openssl ca` ---------

CA=$T/ca
# mkca NAME - $CA/NAME: index.txt, serial, newcerts/ and ca.cnf.
mkca() {
	local d=$CA/$1
	mkdir -p "$d/newcerts"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	cat >"$d/ca.cnf" <<-EOF
		# openssl ca of the certfleet e2e test requests.sh: $1
		[ca]
		default_ca = CA_default
		[CA_default]
		dir = $d
		database = \$dir/index.txt
		serial = \$dir/serial
		new_certs_dir = \$dir/newcerts
		certificate = \$dir/ca.pem
		private_key = \$dir/ca.key
		default_md = sha256
		default_days = 90
		policy = policy_anything
		copy_extensions = copy
		unique_subject = no
		email_in_dn = no
		x509_extensions = v3_leaf
		[policy_anything]
		countryName = optional
		stateOrProvinceName = optional
		localityName = optional
		organizationName = optional
		organizationalUnitName = optional
		commonName = supplied
		emailAddress = optional
		[req]
		distinguished_name = dn
		prompt = no
		[dn]
		[v3_root]
		basicConstraints = critical, CA:TRUE
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid:always
		[v3_int]
		basicConstraints = critical, CA:TRUE, pathlen:0
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid:always
		[v3_leaf]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
	EOF
}
mkca root
mkca int
check "ca: root key" openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/root/ca.key"
check "ca: root request" openssl req -new -key "$CA/root/ca.key" \
	-subj "/O=certfleet e2e/CN=certfleet requests Root CA" -config "$CA/root/ca.cnf" -out "$CA/root/ca.csr"
check "ca: root self-signed by openssl ca -selfsign" openssl ca -batch -notext -selfsign \
	-config "$CA/root/ca.cnf" -in "$CA/root/ca.csr" -extensions v3_root -days 3650 -out "$CA/root/ca.pem"
check "ca: intermediate key" openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/int/ca.key"
check "ca: intermediate request" openssl req -new -key "$CA/int/ca.key" \
	-subj "/O=certfleet e2e/CN=certfleet requests Issuing CA" -config "$CA/int/ca.cnf" -out "$CA/int/ca.csr"
check "ca: intermediate signed by the root (openssl ca)" openssl ca -batch -notext \
	-config "$CA/root/ca.cnf" -in "$CA/int/ca.csr" -extensions v3_int -days 1825 -out "$CA/int/ca.pem"
cp "$CA/root/ca.pem" "$T/root.pem"
cp "$CA/int/ca.pem" "$T/int.pem"
check "ca: openssl verify: intermediate chains to the root" \
	openssl verify -CAfile "$T/root.pem" "$T/int.pem"
expect_eq "ca: the root's index.txt records two issued certificates" \
	"$(grep -c '^V' "$CA/root/index.txt")" 2
ROOT=$(thumb "$T/root.pem")
INT=$(thumb "$T/int.pem")

# ---- 2. two agents, each with an nginx on its own port ------------------------

# nginx starts on a throw-away self-signed certificate of its own.
mkdir -p "$T/srv/files1" "$T/srv/files2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=placeholder.invalid" -keyout "$T/placeholder.key" \
	-out "$T/placeholder.pem" 2>/dev/null
for i in 1 2; do
	cp "$T/placeholder.pem" "$T/srv/files$i/nginx.crt"
	(umask 077 && cp "$T/placeholder.key" "$T/srv/files$i/nginx.key")
done
started=1
srv_nginx_start "$T/srv/nginx1" "$PORT1" "$T/srv/files1/nginx.crt" "$T/srv/files1/nginx.key" mail.example.com || started=0
srv_nginx_start "$T/srv/nginx2" "$PORT2" "$T/srv/files2/nginx.crt" "$T/srv/files2/nginx.key" mail.example.com || started=0
if [ "$started" = 1 ]; then
	pass "servers: two nginx on loopback"
else
	fail "servers: two nginx on loopback"
	e2e_done
fi
served() { srv_served_thumb tls 127.0.0.1 "$1" mail.example.com; }
PH=$(thumb "$T/placeholder.pem")
expect_eq "servers: nginx 1 serves the placeholder" "$(served "$PORT1")" "$PH"
expect_eq "servers: nginx 2 serves the placeholder" "$(served "$PORT2")" "$PH"

for i in 1 2; do
	agent_conf "ag$i"
	cat >>"$T/ag$i.conf" <<-EOF

		[service https]
		kind = nginx
		chain = $T/srv/files$i/nginx.crt
		key = $T/srv/files$i/nginx.key
		test = $(srv_nginx_test_cmd "$T/srv/nginx$i")
		reload = $(srv_nginx_reload_cmd "$T/srv/nginx$i")
		check = 127.0.0.1:$([ "$i" = 1 ] && echo "$PORT1" || echo "$PORT2")
		name = mail.example.com
		timeout = 10
	EOF
	check "agent: init ag$i" cfd init --config "$T/ag$i.conf" || e2e_done
	agent_start "ag$i" || e2e_done
done
if [ -e "$STORE1/store.db" ]; then pass "agent: ag1's store is $STORE1"; else
	fail "agent: ag1's store is $STORE1" "no store.db there"
	find "$T/ag1" -maxdepth 2 | sed 's/^/    /'
fi

check "chain: import intermediate and root on ag1" on1 import "$T/int.pem" "$T/root.pem" || e2e_done
check "chain: import intermediate and root on ag2" on2 import "$T/int.pem" "$T/root.pem" || e2e_done

# ---- 3. request new on ag1, openssl ca signs it, request complete -----------

SUBJ="CN=mail.example.com,O=Example Ltd"
check "request: new on ag1 (2 domains, --exportable, -o FILE)" \
	on1 request new --subject "$SUBJ" --domains mail.example.com,autodiscover.example.com \
	--exportable --friendly-name "Mail 2027" -o "$T/mail.csr" || e2e_done
cat "$OUT" "$ERR" >"$T/mail.err"
if grep -q -- "-----BEGIN CERTIFICATE REQUEST-----" "$T/mail.csr"; then
	pass "request: -o FILE holds a PEM PKCS#10"
else
	fail "request: -o FILE holds a PEM PKCS#10"
	show "$T/mail.csr"
fi
req_verify "request: openssl req -verify: verify OK" "$T/mail.csr"
# The negative beside it: one flipped byte of the signature is refused, so
# the check above means something.
openssl req -in "$T/mail.csr" -outform DER -out "$T/mail.der"
python3 - "$T/mail.der" "$T/bad.der" <<-'EOF'
	import sys
	b = bytearray(open(sys.argv[1], "rb").read())
	b[-5] ^= 0x55
	open(sys.argv[2], "wb").write(bytes(b))
EOF
openssl req -inform DER -in "$T/bad.der" -noout -verify >"$T/verify.out" 2>&1
hasnt "request: a corrupted signature does not verify OK" "$T/verify.out" "verify OK"
expect_eq "request: subject as asked (RFC 4514, CN first)" "$(subj_req "$T/mail.csr")" "$SUBJ"
expect_eq "request: SANs exactly the asked domains" "$(sans_req "$T/mail.csr")" \
	"DNS:mail.example.com, DNS:autodiscover.example.com"
if openssl req -in "$T/mail.csr" -noout -text | grep -A1 'Extended Key Usage' |
	grep -q 'TLS Web Server Authentication'; then
	pass "request: asks for serverAuth"
else fail "request: asks for serverAuth"; fi
MAILREQ=$(csr_thumb "$T/mail.csr")
has "request: it names the pending request it made" "$T/mail.err" "$MAILREQ"
expect_eq "get: the pending request: Status PendingRequest" "$(field on1 "$MAILREQ" Status)" PendingRequest
expect_eq "get: its Thumbprint is the SHA-1 of the CSR DER" "$(field on1 "$MAILREQ" Thumbprint)" "$MAILREQ"
expect_eq "get: its CertificateDomains" "$(field on1 "$MAILREQ" CertificateDomains)" \
	'["mail.example.com","autodiscover.example.com"]'
expect_eq "get: its Subject" "$(field on1 "$MAILREQ" Subject)" "$SUBJ"
expect_eq "get: its key is there, exportable as asked" \
	"$(field on1 "$MAILREQ" HasPrivateKey)/$(field on1 "$MAILREQ" PrivateKeyExportable)" true/true
expect_eq "get: a request is only on the agent that made it (ag2 has none)" \
	"$(on2 get --json | jq '[.Items[] | select(.Status == "PendingRequest")] | length')" 0

# The export of a pending request is its PKCS#10 again.
check "export: the pending request as PEM" on1 export "$MAILREQ"
if cmp -s "$OUT" "$T/mail.csr"; then pass "export: the same PEM PKCS#10"; else
	fail "export: the same PEM PKCS#10"
	show "$OUT" 4
fi
check "export: the pending request --binary -o FILE" on1 export "$MAILREQ" --binary -o "$T/mail-export.der"
if cmp -s "$T/mail-export.der" "$T/mail.der"; then pass "export: --binary is the DER PKCS#10"; else
	fail "export: --binary is the DER PKCS#10"
fi

check "ca: the intermediate signs the request (openssl ca -batch)" sign int "$T/mail.csr" "$T/mail.pem"
expect_eq "ca: copy_extensions kept the SANs" "$(sans_crt "$T/mail.pem")" \
	"DNS:mail.example.com, DNS:autodiscover.example.com"
check "ca: openssl verify: the answer chains to the root" \
	openssl verify -CAfile "$T/root.pem" -untrusted "$T/int.pem" "$T/mail.pem"
MAIL=$(thumb "$T/mail.pem")
# The answer as a PEM bundle: the certificate, then the intermediate.
cat "$T/mail.pem" "$T/int.pem" >"$T/mail-bundle.pem"

# Refused before the right answer comes: the store stays as it was.
before=$(snap)
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/other.key" \
	-subj "/O=Example Ltd/CN=mail.example.com" -out "$T/other.csr" 2>/dev/null
sign int "$T/other.csr" "$T/other.pem"
check_fails "complete: a certificate for another key (openssl's own CSR): exit 1" 1 \
	"answers no pending request" on1 request complete "$T/other.pem"
unchanged "complete: another key: store unchanged" "$before"
head -c 700 /dev/urandom >"$T/garbage.bin"
check_fails "complete: random bytes: exit 1" 1 \
	"garbage.bin: .*(no certificate|not a certificate|cannot read|expected)" on1 request complete "$T/garbage.bin"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA not base64 ****\n-----END CERTIFICATE-----\n' >"$T/garbage.pem"
check_fails "complete: a broken PEM: exit 1" 1 "garbage.pem" on1 request complete "$T/garbage.pem"
check_fails "complete: the CA certificate alone (no leaf for any request): exit 1" 1 \
	"no pending request|already in the store" on1 request complete "$T/int.pem"
check_fails "complete: a missing file: exit 1" 1 "nosuch.pem" on1 request complete "$T/nosuch.pem"
check_fails "complete: no FILE: usage, exit 2" 2 "." on1 request complete
unchanged "complete: refusals: store unchanged" "$before"
expect_eq "complete: refusals: the request is still pending" "$(field on1 "$MAILREQ" Status)" PendingRequest

check "complete: the PEM bundle (cert + intermediate)" on1 request complete "$T/mail-bundle.pem"
has "complete: it names the new certificate" "$OUT" "$MAIL"
expect_eq "complete: Status Valid" "$(field on1 "$MAIL" Status)" Valid
expect_eq "complete: HasPrivateKey true" "$(field on1 "$MAIL" HasPrivateKey)" true
expect_eq "complete: PrivateKeyExportable true (--exportable)" "$(field on1 "$MAIL" PrivateKeyExportable)" true
expect_eq "complete: Chain is intermediate then root" "$(field on1 "$MAIL" Chain)" "[\"$INT\",\"$ROOT\"]"
expect_eq "complete: CertificateDomains" "$(field on1 "$MAIL" CertificateDomains)" \
	'["mail.example.com","autodiscover.example.com"]'
expect_eq "complete: the friendly name of the request is kept" "$(field on1 "$MAIL" FriendlyName)" "Mail 2027"
expect_eq "complete: KeyType RSA-2048 (the default)" "$(field on1 "$MAIL" KeyType)" RSA-2048
check_fails "complete: the pending request is gone (get: not found)" 1 "no such|not found" on1 get "$MAILREQ"
expect_eq "complete: no PendingRequest left on ag1" \
	"$(on1 get --json | jq '[.Items[] | select(.Status == "PendingRequest")] | length')" 0

before=$(snap)
check_fails "complete: twice: exit 1, completed before" 1 "completed before" \
	on1 request complete "$T/mail-bundle.pem"
openssl crl2pkcs7 -nocrl -certfile "$T/mail.pem" -certfile "$T/int.pem" -out "$T/mail.p7b"
check_fails "complete: twice, as PEM PKCS#7: exit 1, completed before" 1 "completed before" \
	on1 request complete "$T/mail.p7b"
unchanged "complete: twice: store unchanged" "$before"

# The key made by the agent is the certificate's: the PKCS#12 export holds
# a key that matches it (openssl pkcs12 reads it).
pwfile "$T/pw" "Requests-e2e-1"
check "export: --binary from ag1 (--password-file)" \
	on1 export "$MAIL" --binary --password-file "$T/pw" -o "$T/mail.p12"
if openssl pkcs12 -in "$T/mail.p12" -passin "file:$T/pw" -nodes -nocerts 2>/dev/null |
	openssl pkey -pubout -outform DER 2>/dev/null | sha256sum | cut -c1-64 >"$T/p12pub" &&
	[ "$(cat "$T/p12pub")" = "$(pub_crt "$T/mail.pem")" ]; then
	pass "export: the PKCS#12 key is the certificate's (openssl pkcs12)"
else
	fail "export: the PKCS#12 key is the certificate's (openssl pkcs12)"
fi

# ---- 4. to ag2, enabled on both, served by both nginx ------------------------

check "import: the PKCS#12 on ag2, --exportable" \
	on2 import "$T/mail.p12" --exportable --password-file "$T/pw"
expect_eq "import: ag2: Valid, key, exportable, chain" \
	"$(field on2 "$MAIL" Status)/$(field on2 "$MAIL" HasPrivateKey)/$(field on2 "$MAIL" PrivateKeyExportable)/$(field on2 "$MAIL" Chain)" \
	"Valid/true/true/[\"$INT\",\"$ROOT\"]"
# certfleetd init left https alone (its files hold the placeholder): no
# --force is needed to take it.
check "enable: ag1 https, held by no certificate" on1 enable "$MAIL" --services https
check "enable: ag2 https, held by no certificate" on2 enable "$MAIL" --services https
expect_eq "served: nginx 1 (ag1) presents the completed certificate" "$(served "$PORT1")" "$MAIL"
expect_eq "served: nginx 2 (ag2) presents the completed certificate" "$(served "$PORT2")" "$MAIL"
check "services: ag1 exit 0" on1 services
check "services: ag2 exit 0" on2 services
# svc AGENT NAME FIELD - a field of `services --json` for service NAME.
svc() {
	"$1" services --json 2>/dev/null | jq -r --arg n "$2" \
		".Items[] | select(.Service == \$n) | .$3 | tostring"
}
expect_eq "services: ag1 https: assigned and served, Match" \
	"$(svc on1 https Assigned)/$(svc on1 https Served)/$(svc on1 https Match)" "$MAIL/$MAIL/true"
expect_eq "services: ag2 https: assigned and served, Match" \
	"$(svc on2 https Assigned)/$(svc on2 https Served)/$(svc on2 https Match)" "$MAIL/$MAIL/true"

# ---- 5. key types and sizes ------------------------------------------------

# keytype KEY PATTERN KEYTYPE - request new --key KEY on ag1 (DER when
# KEY is p384, to read --binary too): the key openssl sees, verify OK, the
# KeyType get shows; the request is then removed.
keytype() {
	local k=$1 pat=$2 kt=$3 f=$T/key-$1.csr tp
	if [ "$k" = p384 ]; then
		check "key $k: request new --binary" on1 request new --subject "CN=$k.example.com" --key "$k" --binary -o "$f.der" &&
			openssl req -inform DER -in "$f.der" -out "$f"
		req_verify "key $k: --binary DER: openssl req -verify: verify OK" "$f.der" DER
		tp=$(csr_thumb "$f.der" DER)
	else
		check "key $k: request new" on1 request new --subject "CN=$k.example.com" --key "$k" -o "$f"
		req_verify "key $k: openssl req -verify: verify OK" "$f"
		tp=$(csr_thumb "$f")
	fi
	openssl req -in "$f" -noout -text >"$T/key.txt" 2>&1
	has "key $k: openssl req -text: $pat" "$T/key.txt" "$pat"
	expect_eq "key $k: get KeyType $kt" "$(field on1 "$tp" KeyType)" "$kt"
	expect_eq "key $k: the CN joins the SANs" "$(sans_req "$f")" "DNS:$k.example.com"
	check "key $k: remove the request" on1 remove "$tp"
}
keytype rsa2048 'Public-Key: \(2048 bit\)' RSA-2048
keytype rsa3072 'Public-Key: \(3072 bit\)' RSA-3072
keytype rsa4096 'Public-Key: \(4096 bit\)' RSA-4096
keytype p256 'NIST CURVE: P-256' EC-P256
has "key p256: ASN1 OID prime256v1" "$T/key.txt" 'ASN1 OID: prime256v1'
keytype p384 'NIST CURVE: P-384' EC-P384
has "key p384: ASN1 OID secp384r1" "$T/key.txt" 'ASN1 OID: secp384r1'

# Defaults: rsa2048, not exportable.
check "default: request new without --key or --exportable" \
	on1 request new --subject "CN=plain.example.com" --domains www.plain.example.com -o "$T/plain.csr"
openssl req -in "$T/plain.csr" -noout -text >"$T/plain.txt"
has "default: RSA 2048" "$T/plain.txt" 'Public-Key: \(2048 bit\)'
expect_eq "default: SANs: the CN first, then the domain" "$(sans_req "$T/plain.csr")" \
	"DNS:plain.example.com, DNS:www.plain.example.com"
PLAINREQ=$(csr_thumb "$T/plain.csr")
expect_eq "default: the pending request is not exportable" "$(field on1 "$PLAINREQ" PrivateKeyExportable)" false
sign int "$T/plain.csr" "$T/plain.pem"
# The answer as a DER certificate alone: the chain comes from the store.
openssl x509 -in "$T/plain.pem" -outform DER -out "$T/plain.cer"
check "default: complete with a DER certificate" on1 request complete "$T/plain.cer"
PLAIN=$(thumb "$T/plain.pem")
expect_eq "default: completed: Valid, key, not exportable" \
	"$(field on1 "$PLAIN" Status)/$(field on1 "$PLAIN" HasPrivateKey)/$(field on1 "$PLAIN" PrivateKeyExportable)" \
	"Valid/true/false"
before=$(snap)
check_fails "default: export of the key refused" 1 "not exportable" \
	on1 export "$PLAIN" --password-file "$T/pw" -o "$T/plain.pfx"
unchanged "default: refused export: store unchanged" "$before"
if [ -e "$T/plain.pfx" ]; then fail "default: refused export: no file written"; else
	pass "default: refused export: no file written"
fi

# ---- 6. renew ----------------------------------------------------------------

expect_eq "renew: https on ag1 is the certificate to renew" "$(field on1 "$MAIL" Services)" '["https"]'
check "renew: new key (default)" on1 renew "$MAIL" -o "$T/ren.csr"
req_verify "renew: openssl req -verify: verify OK" "$T/ren.csr"
RENREQ=$(csr_thumb "$T/ren.csr")
expect_eq "renew: the same subject" "$(subj_req "$T/ren.csr")" "$(subj_crt "$T/mail.pem")"
expect_eq "renew: the same SANs" "$(sans_req "$T/ren.csr")" "$(sans_crt "$T/mail.pem")"
if [ "$(pub_req "$T/ren.csr")" != "$(pub_crt "$T/mail.pem")" ]; then
	pass "renew: a new public key by default"
else
	fail "renew: a new public key by default" "the request has the certificate's key"
fi
expect_eq "renew: PendingRequest, same key type, still exportable" \
	"$(field on1 "$RENREQ" Status)/$(field on1 "$RENREQ" KeyType)/$(field on1 "$RENREQ" PrivateKeyExportable)" \
	"PendingRequest/RSA-2048/true"

check "renew: --keep-key --binary" on1 renew "$MAIL" --keep-key --binary -o "$T/renk.der"
openssl req -inform DER -in "$T/renk.der" -out "$T/renk.csr"
req_verify "renew: --keep-key: openssl req -verify: verify OK" "$T/renk.csr"
RENKREQ=$(csr_thumb "$T/renk.der" DER)
expect_eq "renew: --keep-key: the certificate's public key" "$(pub_req "$T/renk.csr")" "$(pub_crt "$T/mail.pem")"
expect_eq "renew: --keep-key: the same subject" "$(subj_req "$T/renk.csr")" "$SUBJ"
expect_eq "renew: --keep-key: the same SANs" "$(sans_req "$T/renk.csr")" "$(sans_crt "$T/mail.pem")"

before=$(snap)
check_fails "renew: --keep-key twice: one pending request per key" 1 "already pending" \
	on1 renew "$MAIL" --keep-key
check_fails "renew: a pending request is not a certificate" 1 "pending request" on1 renew "$RENREQ"
check_fails "renew: an unknown thumbprint" 1 "no such" on1 renew 0123456789ABCDEF
check_fails "renew: --keep-key of a certificate without its key (the intermediate)" 1 \
	"no private key" on1 renew "$INT" --keep-key
# The renewal request carries the keep-key key: the certificate it renews,
# sent again, is no answer to it (it is already in the store).
check_fails "complete: the renewed certificate again, while its --keep-key renewal is pending: exit 1" 1 \
	"completed before" on1 request complete "$T/mail-bundle.pem"
unchanged "renew: refusals: store unchanged" "$before"
expect_eq "renew: the --keep-key renewal is still pending" "$(field on1 "$RENKREQ" Status)" PendingRequest
# (Should it be gone all the same, made again, so that what follows tests
# what it is meant to.)
if [ "$(field on1 "$RENKREQ" Status)" != PendingRequest ]; then
	on1 renew "$MAIL" --keep-key --binary -o "$T/renk.der" >/dev/null 2>&1
	openssl req -inform DER -in "$T/renk.der" -out "$T/renk.csr"
	RENKREQ=$(csr_thumb "$T/renk.der" DER)
fi

# A certificate with no DNS names: its renewal asks for none either.
run on1 renew "$INT" -o "$T/renint.csr"
if [ "$RC" = 0 ]; then
	expect_eq "renew: a certificate without names: the request has no SAN" \
		"$(sans_req "$T/renint.csr")" ""
	on1 remove "$(csr_thumb "$T/renint.csr")" >/dev/null 2>&1
elif [ "$RC" = 1 ]; then
	pass "renew: a certificate without names: the request has no SAN (refused)"
else
	fail "renew: a certificate without names: the request has no SAN" "exit $RC"
	show "$ERR"
fi

# Completing the renewals does not move the services.
sign int "$T/ren.csr" "$T/ren.pem"
REN=$(thumb "$T/ren.pem")
openssl crl2pkcs7 -nocrl -certfile "$T/ren.pem" -certfile "$T/int.pem" -certfile "$T/root.pem" \
	-outform DER -out "$T/ren.p7b"
check "renew: complete with a DER PKCS#7 (openssl crl2pkcs7)" on1 request complete "$T/ren.p7b"
cat "$OUT" "$ERR" >"$T/ren.out"
has "renew: complete says which certificate it renews" "$T/ren.out" "renews ${MAIL:0:8}"
expect_eq "renew: completed: Valid, key, exportable, chain" \
	"$(field on1 "$REN" Status)/$(field on1 "$REN" HasPrivateKey)/$(field on1 "$REN" PrivateKeyExportable)/$(field on1 "$REN" Chain)" \
	"Valid/true/true/[\"$INT\",\"$ROOT\"]"
expect_eq "renew: completed: the friendly name carried over" "$(field on1 "$REN" FriendlyName)" "Mail 2027"
check_fails "renew: completed: the renewal request is gone" 1 "no such|not found" on1 get "$RENREQ"
expect_eq "renew: completed: https still assigned to the old certificate (services)" \
	"$(svc on1 https Assigned)" "$MAIL"
expect_eq "renew: completed: get: the old certificate keeps https" "$(field on1 "$MAIL" Services)" '["https"]'
expect_eq "renew: completed: get: the new one has none" "$(field on1 "$REN" Services)" '[]'
expect_eq "renew: completed: nginx 1 still serves the old certificate" "$(served "$PORT1")" "$MAIL"

sign int "$T/renk.csr" "$T/renk.pem"
RENK=$(thumb "$T/renk.pem")
cat "$T/renk.pem" "$T/int.pem" >"$T/renk-bundle.pem"
check "renew: --keep-key: complete (PEM bundle)" on1 request complete "$T/renk-bundle.pem"
expect_eq "renew: --keep-key: completed: Valid, HasPrivateKey true" \
	"$(field on1 "$RENK" Status)/$(field on1 "$RENK" HasPrivateKey)" Valid/true
expect_eq "renew: --keep-key: the new certificate has the old public key" \
	"$(pub_crt "$T/renk.pem")" "$(pub_crt "$T/mail.pem")"
expect_eq "renew: --keep-key: https still on the old certificate" "$(svc on1 https Assigned)" "$MAIL"

check "renew: enable the renewal moves https" on1 enable "$REN" --services https --force
expect_eq "renew: enabled: https assigned to the new certificate" "$(svc on1 https Assigned)" "$REN"
expect_eq "renew: enabled: get: the old one has no service left" "$(field on1 "$MAIL" Services)" '[]'
expect_eq "renew: enabled: nginx 1 serves the new certificate" "$(served "$PORT1")" "$REN"
expect_eq "renew: enabled: nginx 2 (ag2) untouched" "$(served "$PORT2")" "$MAIL"
check "renew: services ag1 exit 0" on1 services

# ---- 7. refusals of request new: usage errors, nothing stored --------------

before=$(snap)
LABEL64=$(printf 'a%.0s' $(seq 64)).example.com
# 256 characters: 63.63.63.62 labels and ".e".
LONG256=$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).$(printf 'c%.0s' $(seq 63)).$(printf 'd%.0s' $(seq 62)).e
expect_eq "names: the long name is 256 characters" "${#LONG256}" 256
check_fails "names: an underscore: exit 2 naming it" 2 "bad_name\.example\.com" \
	on1 request new --subject CN=ok.example.com --domains ok2.example.com,bad_name.example.com
check_fails "names: *.*.example.com: exit 2 naming it" 2 '\*\.\*\.example\.com' \
	on1 request new --subject CN=ok.example.com --domains '*.*.example.com'
check_fails "names: a 64-character label: exit 2 naming it" 2 "a{64}\.example\.com" \
	on1 request new --subject CN=ok.example.com --domains "$LABEL64"
check_fails "names: a 256-character name: exit 2 naming it" 2 "aaaaaaaaaaaaaaaaaaaa.*(255|long)" \
	on1 request new --subject CN=ok.example.com --domains "$LONG256"
# A CN without spaces is a host name: checked as --domains are.
check_fails "names: a CN host name with a bad character: exit 2 naming it" 2 \
	'^certfleet: request new: the CN bad_name!\.example\.com: a DNS name has only letters, digits, hyphens and dots \(a CN without spaces is a host name, checked as --domains are\)$' \
	on1 request new --subject 'CN=bad_name!.example.com' --domains ok.example.com
check_fails "names: a CN *.*.example.com: exit 2 naming it" 2 'the CN \*\.\*\.example\.com: only the first label' \
	on1 request new --subject 'CN=*.*.example.com'
check_fails "key: rsa1024: exit 2 naming the valid types" 2 \
	"rsa1024.*rsa2048.*rsa3072.*rsa4096.*p256.*p384" \
	on1 request new --subject CN=ok.example.com --key rsa1024
check_fails "request new: no --subject: exit 2" 2 "subject" on1 request new --domains ok.example.com
check_fails "request: an unknown subcommand: exit 2" 2 "." on1 request frobnicate
unchanged "names: refusals: store unchanged" "$before"
# The positive cases beside them: the longest label, a wildcard.
LABEL63=$(printf 'a%.0s' $(seq 63)).example.com
check "names: a 63-character label and a wildcard are fine" \
	on1 request new --subject CN=ok.example.com --domains "$LABEL63,*.example.com" -o "$T/ok.csr"
expect_eq "names: a CN host name: no warning" "$(cat "$ERR")" ""
expect_eq "names: the request has them" "$(sans_req "$T/ok.csr")" \
	"DNS:ok.example.com, DNS:$LABEL63, DNS:*.example.com"
OKREQ=$(csr_thumb "$T/ok.csr")

# A CN that is no DNS name stays out of the SANs.
check "names: a CN that is not a DNS name" on1 request new --key p256 \
	--subject "CN=Example Mail Server,O=Example Ltd" --domains mail.example.com -o "$T/cn.csr"
expect_eq "names: a CN with a space: a warning on stderr" "$(cat "$ERR")" \
	'certfleet: request new: warning: the CN "Example Mail Server" is not a host name: it is not put among the DNS names, and public CAs will refuse the request'
expect_eq "names: its SANs are the domains alone" "$(sans_req "$T/cn.csr")" "DNS:mail.example.com"
expect_eq "names: its subject as asked" "$(subj_req "$T/cn.csr")" "CN=Example Mail Server,O=Example Ltd"
on1 remove "$(csr_thumb "$T/cn.csr")" >/dev/null 2>&1

# remove of a pending request: gone from get; export then: not found.
check "remove: a pending request" on1 remove "$OKREQ"
check_fails "remove: get it afterwards: not found" 1 "no such|not found" on1 get "$OKREQ"
check_fails "remove: export it afterwards: not found" 1 "no such|not found" on1 export "$OKREQ"
check_fails "remove: export it afterwards, with a password file: not found" 1 "no such|not found" \
	on1 export "$OKREQ" --password-file "$T/pw"
before=$(snap)
check_fails "remove: twice: not found" 1 "no such|not found" on1 remove "$OKREQ"
sign int "$T/ok.csr" "$T/ok.pem"
check_fails "remove: then its answer completes nothing" 1 "no pending request" on1 request complete "$T/ok.pem"
unchanged "remove: refusals: store unchanged" "$before"

# ---- 8. new --self-signed -------------------------------------------------

check "self-signed: new --self-signed --days 30 --key p256" on1 new --self-signed \
	--subject "CN=self.example.com,O=Example Ltd" --domains self.example.com,alt.example.com \
	--days 30 --key p256 --exportable
SELF=$(on1 get --json | jq -r '.Items[] | select(.Subject == "CN=self.example.com,O=Example Ltd") | .Thumbprint')
expect_eq "self-signed: one certificate" "$(printf '%s\n' "$SELF" | grep -c .)" 1
expect_eq "self-signed: IsSelfSigned true" "$(field on1 "$SELF" IsSelfSigned)" true
expect_eq "self-signed: the domains asked" "$(field on1 "$SELF" CertificateDomains)" \
	'["self.example.com","alt.example.com"]'
expect_eq "self-signed: key, exportable, EC-P256" \
	"$(field on1 "$SELF" HasPrivateKey)/$(field on1 "$SELF" PrivateKeyExportable)/$(field on1 "$SELF" KeyType)" \
	true/true/EC-P256
NA=$(date -d "$(field on1 "$SELF" NotAfter)" +%s 2>/dev/null || echo 0)
DAYS=$(((NA - $(date +%s) + 43200) / 86400))
expect_eq "self-signed: --days 30: NotAfter 30 days out" "$DAYS" 30
check "self-signed: export the certificate (--pem --no-key)" on1 export "$SELF" --pem --no-key -o "$T/self.pem"
if openssl verify -CAfile "$T/self.pem" "$T/self.pem" >/dev/null 2>&1; then
	pass "self-signed: openssl verifies it against itself"
else fail "self-signed: openssl verifies it against itself"; fi
expect_eq "self-signed: openssl sees its SANs" "$(sans_crt "$T/self.pem")" "DNS:self.example.com, DNS:alt.example.com"
before=$(snap)
check_fails "self-signed: without --self-signed: usage, exit 2" 2 "self-signed" \
	on1 new --subject CN=nope.example.com
check_fails "self-signed: bad name: usage, exit 2" 2 "bad_name" \
	on1 new --self-signed --subject CN=nope.example.com --domains bad_name.example.com
check_fails "self-signed: --days 0: usage, exit 2" 2 "days" \
	on1 new --self-signed --subject CN=nope.example.com --days 0
unchanged "self-signed: refusals: store unchanged" "$before"

# ---- 9. the audit trail -------------------------------------------------------

# The table shows thumbprints by their first 8 digits.
check "log: ag1" on1 log
cp "$OUT" "$T/log1"
has "log: request new, with its thumbprint" "$T/log1" "request new +${MAILREQ:0:8}"
has "log: request complete, with the certificate" "$T/log1" "request complete +${MAIL:0:8}"
has "log: renew, with the request" "$T/log1" "renew +${RENREQ:0:8}"
has "log: renew --keep-key" "$T/log1" "renew +${RENKREQ:0:8}"
has "log: request complete of the renewal" "$T/log1" "request complete +${REN:0:8}"
has "log: a refused complete is recorded as failed" "$T/log1" "request complete .*failed"
has "log: a refused request new is recorded as failed" "$T/log1" "request new .*failed"
has "log: remove of the pending request" "$T/log1" "remove +${OKREQ:0:8}"
has "log: new --self-signed" "$T/log1" "new[ -]+-*self-signed +${SELF:0:8}"
check "log: ag2" on2 log
has "log: ag2 has the import, no request" "$OUT" "import"
hasnt "log: ag2 made no request" "$OUT" "request new"

e2e_done
