# shellcheck shell=bash
# commands-fixtures.sh - the throw-away PKI and input files of commands.sh
# (sourced, never run).  cmd_make_fixtures DIR makes, with openssl and
# Debian's python3-cryptography (for dates in the past and the future):
#
#   root.{key,pem}     RSA-2048 "CN=certfleet cmd Root CA,O=certfleet e2e"
#   int.{key,pem}      RSA-2048 intermediate, signed by the root
#   leaf.{key,pem}     RSA-2048 "CN=mail.example.com,O=Example Ltd", SANs
#                      mail.example.com, mail, autodiscover.example.com,
#                      serial 7A3F0001, signed by the intermediate
#   ec.{key,pem}       EC P-256 "CN=ec.example.com,O=Example Ltd", SAN
#                      www.ec.example.com only (the CN is not among them)
#   self.{key,pem}     EC P-384 self-signed "CN=Acme Self Signed,O=Acme\, Inc."
#                      (a CN that is no DNS name), SAN self.example.net
#   expired.pem        EC leaf valid 2020-01-01 .. 2021-01-01, by the intermediate
#   future.pem         EC leaf valid from next year on, by the intermediate
#   badsig.pem         the leaf with one bit of its signature flipped
#   *.der              DER of leaf, int
#   chain.pem          intermediate then root;  full.pem: leaf, int, root
#   bundle.pem         key, intermediate, leaf, root (any order is allowed)
#   bundle2.pem        root, leaf, key, intermediate
#   mismatch.pem       the leaf's certificate with the EC key
#   noroot.pem         leaf and intermediate, no root
#   leaf.p7b / leaf-der.p7b   PKCS#7 (PEM / DER) of leaf, int, root
#   leaf.p12           PKCS#12 (OpenSSL defaults) of leaf key, leaf, int,
#                      root, friendly name "mail cert", password file p12pw
#   leaf.p12.b64       the same as Base64 text
#   ec.p12             PKCS#12 of the EC key and certificate, same password
#   self.p12           PKCS#12 of the self-signed certificate and its key
#   truncated.p12      the first 700 bytes of leaf.p12
#   garbage.bin        4 KiB of pseudo-random bytes (fixed seed)
#   nocert.pem         a PEM file that holds only a public key
#   badpem.pem         a CERTIFICATE block whose Base64 is not a certificate
#   p12pw              the PKCS#12 password (no newline)
#
# Returns non-zero when anything could not be made.

CMD_P12_PASSWORD='Imp0rt-Pfx#Secret-4Q'
CMD_PY=/usr/bin/python3 # Debian's interpreter: python3-cryptography is its

cmd_make_fixtures() {
	local d=$1
	mkdir -p "$d"
	cat >"$d/ext.cnf" <<-'EOF'
		[req]
		distinguished_name = dn
		[dn]
		[ca]
		basicConstraints = critical, CA:TRUE
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[int]
		basicConstraints = critical, CA:TRUE, pathlen:0
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		[leaf]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		subjectAltName = DNS:mail.example.com, DNS:mail, DNS:autodiscover.example.com
		[ec]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature
		extendedKeyUsage = serverAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		subjectAltName = DNS:www.ec.example.com
		[self]
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature
		extendedKeyUsage = serverAuth
		subjectKeyIdentifier = hash
		subjectAltName = DNS:self.example.net
	EOF
	(
		set -e
		cd "$d"
		umask 077
		printf '%s' "$CMD_P12_PASSWORD" >p12pw
		for k in root int leaf; do
			openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.key 2>/dev/null
		done
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out self.key
		openssl req -new -x509 -key root.key -subj "/O=certfleet e2e/CN=certfleet cmd Root CA" \
			-days 3650 -sha256 -config ext.cnf -extensions ca -out root.pem
		openssl req -new -key int.key -subj "/O=certfleet e2e/CN=certfleet cmd Issuing CA" \
			-config ext.cnf -out int.csr
		openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 0x1001 \
			-days 1825 -sha256 -extfile ext.cnf -extensions int -out int.pem 2>/dev/null
		openssl req -new -key leaf.key -subj "/O=Example Ltd/CN=mail.example.com" \
			-config ext.cnf -out leaf.csr
		openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 0x7A3F0001 \
			-days 397 -sha256 -extfile ext.cnf -extensions leaf -out leaf.pem 2>/dev/null
		openssl req -new -key ec.key -subj "/O=Example Ltd/CN=ec.example.com" \
			-config ext.cnf -out ec.csr
		openssl x509 -req -in ec.csr -CA int.pem -CAkey int.key -set_serial 0x2002 \
			-days 397 -sha256 -extfile ext.cnf -extensions ec -out ec.pem 2>/dev/null
		openssl req -new -x509 -key self.key -subj "/O=Acme, Inc./CN=Acme Self Signed" \
			-days 365 -sha384 -config ext.cnf -extensions self -out self.pem
		rm -f ./*.csr

		# Dates OpenSSL 3.0's x509 cannot set: pyca, signed by the intermediate.
		"$CMD_PY" - <<-'PYEOF'
			import datetime
			from cryptography import x509
			from cryptography.x509.oid import NameOID
			from cryptography.hazmat.primitives import hashes, serialization
			from cryptography.hazmat.primitives.asymmetric import ec

			ca = x509.load_pem_x509_certificate(open("int.pem", "rb").read())
			ca_key = serialization.load_pem_private_key(open("int.key", "rb").read(), None)
			now = datetime.datetime.utcnow().replace(microsecond=0)
			def make(cn, serial, nb, na, out):
			    key = ec.generate_private_key(ec.SECP256R1())
			    cert = (x509.CertificateBuilder()
			        .subject_name(x509.Name([
			            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ltd"),
			            x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
			        .issuer_name(ca.subject)
			        .public_key(key.public_key())
			        .serial_number(serial)
			        .not_valid_before(nb).not_valid_after(na)
			        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), False)
			        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
			            ca_key.public_key()), False)
			        .sign(ca_key, hashes.SHA256()))
			    open(out, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
			make("expired.example.com", 0x3001, datetime.datetime(2020, 1, 1),
			     datetime.datetime(2021, 1, 1), "expired.pem")
			make("future.example.com", 0x3002, now + datetime.timedelta(days=365),
			     now + datetime.timedelta(days=730), "future.pem")
		PYEOF

		# The leaf with the last bit of its signature flipped.
		openssl x509 -in leaf.pem -outform DER -out badsig.der
		"$CMD_PY" -c '
import sys
b = bytearray(open("badsig.der", "rb").read())
b[-1] ^= 1
open("badsig.der", "wb").write(b)'
		openssl x509 -inform DER -in badsig.der -out badsig.pem

		openssl x509 -in leaf.pem -outform DER -out leaf.der
		openssl x509 -in int.pem -outform DER -out int.der
		cat int.pem root.pem >chain.pem
		cat leaf.pem int.pem root.pem >full.pem
		cat leaf.key int.pem leaf.pem root.pem >bundle.pem
		cat root.pem leaf.pem leaf.key int.pem >bundle2.pem
		cat leaf.pem ec.key >mismatch.pem
		cat leaf.pem int.pem >noroot.pem
		openssl crl2pkcs7 -nocrl -certfile full.pem -out leaf.p7b
		openssl crl2pkcs7 -nocrl -certfile full.pem -outform DER -out leaf-der.p7b
		openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile chain.pem \
			-name "mail cert" -passout file:p12pw -out leaf.p12
		openssl base64 -in leaf.p12 -out leaf.p12.b64
		openssl pkcs12 -export -inkey ec.key -in ec.pem -certfile chain.pem \
			-passout file:p12pw -out ec.p12
		openssl pkcs12 -export -inkey self.key -in self.pem \
			-passout file:p12pw -out self.p12
		head -c 700 leaf.p12 >truncated.p12
		# Binary garbage, the same every run (and not starting like DER).
		"$CMD_PY" -c '
import random
r = random.Random(7)
b = bytearray(r.getrandbits(8) for _ in range(4096))
b[0] = 0xA7
open("garbage.bin", "wb").write(b)'
		openssl pkey -in leaf.key -pubout -out nocert.pem
		{
			echo '-----BEGIN CERTIFICATE-----'
			head -c 600 /dev/urandom | openssl base64
			echo '-----END CERTIFICATE-----'
		} >badpem.pem
		openssl verify -CAfile root.pem -untrusted int.pem leaf.pem ec.pem >/dev/null
	)
}

# cmd_make_many DIR N - N certificates (one EC key) by the intermediate of
# cmd_make_fixtures DIR, as DIR/many/NNN.pem.
cmd_make_many() {
	local d=$1 n=$2 i
	(
		set -e
		cd "$d"
		mkdir -p many
		openssl req -new -key ec.key -subj "/O=Example Ltd/CN=many.example.com" \
			-config ext.cnf -out many.csr
		for i in $(seq -w 1 "$n"); do
			openssl x509 -req -in many.csr -CA int.pem -CAkey int.key \
				-set_serial "$((0x5000 + 10#$i))" -days 30 -sha256 \
				-out "many/$i.pem" 2>/dev/null
		done
	)
}
