#!/usr/bin/env bash
# demo.sh - the article, on two local stores: a CA-issued certificate for
# mail.example.com is imported on ex1 as exportable and assigned to its
# services, exported with key and chain, imported on ex2, assigned there;
# then the painful case: a copy imported without --exportable cannot be
# exported again.  Everything happens in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CERTFLEET:-$PWD/build/certfleet}
[ -x "$CF" ] || make --no-print-directory all
work=$(mktemp -d /tmp/certfleet-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
umask 077

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A CA (root + intermediate) issues mail.example.com (SANs mail, autodiscover)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=Example Ltd/CN=Demo Root CA" -keyout root.key -out root.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=Example Ltd/CN=Demo Intermediate CA" -keyout int.key -out int.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial \
    -days 1825 -extfile ca.ext -out int.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/O=Example Ltd/CN=mail.example.com" \
    -keyout mail.key -out mail.csr 2>/dev/null
printf 'subjectAltName=DNS:mail.example.com,DNS:mail,DNS:autodiscover.example.com\n' > leaf.ext
openssl x509 -req -in mail.csr -CA int.pem -CAkey int.key -CAcreateserial \
    -days 365 -extfile leaf.ext -out mail.pem 2>/dev/null
printf 'Demo-Pa55word!\n' > ca-password
openssl pkcs12 -export -in mail.pem -inkey mail.key -certfile int.pem \
    -passout file:ca-password -out mail.pfx
echo "made mail.pfx (key + certificate + intermediate), root.pem"

step "ex1: trust the CA's root, import the certificate as exportable, assign services"
run "$CF" --store ex1 import root.pem
run "$CF" --store ex1 import mail.pfx --exportable --password-file ca-password \
    --friendly-name "Mail 2026"
thumb=$("$CF" --store ex1 get --json | jq -r '.[] | select(.CertificateDomains | index("mail.example.com")) | .Thumbprint')
run "$CF" --store ex1 enable "${thumb:0:8}" --services IIS,smtp,imap,pop
run "$CF" --store ex1 get

step "ex1: export with the private key and the whole chain (binary PKCS#12)"
printf 'Transfer-Pa55word!\n' > transfer-password
run "$CF" --store ex1 export "$thumb" --binary -o mail-ex1.pfx --password-file transfer-password
ls -l mail-ex1.pfx
openssl pkcs12 -info -noout -in mail-ex1.pfx -passin file:transfer-password 2>&1 | sed 's/^/  /'

step "ex2: import it as exportable, assign the same services"
run "$CF" --store ex2 import root.pem
run "$CF" --store ex2 import mail-ex1.pfx --exportable --password-file transfer-password
run "$CF" --store ex2 enable "$thumb" --services https,smtp,imap,pop
run "$CF" --store ex2 get --fields Thumbprint,Status,Services,PrivateKeyExportable,Subject

step "ex3: imported WITHOUT --exportable, the key can never leave again"
run "$CF" --store ex3 import mail-ex1.pfx --password-file transfer-password
if "$CF" --store ex3 export "$thumb" --binary -o again.pfx --password-file transfer-password; then
	echo "unexpected: export succeeded" >&2
	exit 1
fi
echo "(refused, as it should be; nothing written: $(ls again.pfx 2>/dev/null || echo 'no again.pfx'))"

step "The audit trail of ex1"
run "$CF" --store ex1 log
