#!/usr/bin/env bash
# shellcheck disable=SC2317 # the produce_* and read_* functions are called by name
# interop.sh - certfleet reads the PKCS#12 files other implementations
# write, and they read the ones certfleet writes.
#
# From one throw-away PKI (lib.sh make_pki: root, intermediate, an RSA-2048
# leaf for mail.example.com and an EC P-256 leaf), for each leaf:
#
#  1. Producers -> certfleet.  OpenSSL (modern default; -legacy, RC2-40;
#     3DES with a SHA-1 MAC), GnuTLS certtool (AES-256; 3DES), NSS pk12util
#     (its default; AES-256 with SHA-256 MAC; 3DES with SHA-1 MAC), Java
#     keytool (its default; keystore.pkcs12.legacy) and Python cryptography
#     (BestAvailableEncryption; 3DES/SHA-1 via the encryption builder) each
#     write a PKCS#12 of the key and its chain.  Each is imported into a
#     fresh store: the thumbprint is the leaf's, HasPrivateKey is true, the
#     chain (get --json, export --pem --no-key) holds intermediate and root.
#     A wrong password is refused (exit 1, "wrong password"-like message)
#     and leaves the store as it was.
#  2. certfleet -> readers.  export modern and --legacy, --binary and the
#     default Base64 text (decoded with base64 -d).  The algorithms are
#     checked with `openssl pkcs12 -info`; then openssl pkcs12 (no -legacy),
#     certtool --p12-info, pk12util -i into a fresh NSS database, keytool
#     -list/-certreq and Python's load_key_and_certificates each read the
#     file: leaf thumbprint, key matching the leaf, intermediate and root.
#     export --pem: the chain, and the key as encrypted PKCS#8 that openssl
#     pkey and certtool decrypt.
#  3. certfleet -> certfleet, non-exportable keys, already-present imports,
#     garbage and password-less imports.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_certfleet

PY=/usr/bin/python3 # Debian's interpreter: the one python3-cryptography is for
PW='Interop-Test-1!'
pwfile "$T/pw" "$PW"
pwfile "$T/wrong" 'Not-The-Password-9'
P=$T/pki
if ! make_pki "$P" >"$T/pki.log" 2>&1; then
	fail "interop: test PKI" "openssl could not make it"
	show "$T/pki.log" 20
	e2e_done
fi
INT_TP=$(thumb "$P/int.pem")
ROOT_TP=$(thumb "$P/root.pem")
mkdir -p "$T/in" "$T/out"

# --- producers: produce_X KEY OUT (KEY: leaf | ec) -----------------------

# The base file the NSS and Java producers start from (they import, then
# write their own PKCS#12).
base_p12() {
	[ -s "$T/in/$1-base.p12" ] ||
		openssl pkcs12 -export -inkey "$P/$1.key" -in "$P/$1.pem" \
			-certfile "$P/chain.pem" -name "interop-$1" \
			-passout "file:$T/pw" -out "$T/in/$1-base.p12"
}

produce_openssl_modern() {
	openssl pkcs12 -export -inkey "$P/$1.key" -in "$P/$1.pem" \
		-certfile "$P/chain.pem" -name "interop-$1" -passout "file:$T/pw" -out "$2"
}
produce_openssl_legacy() {
	openssl pkcs12 -export -legacy -inkey "$P/$1.key" -in "$P/$1.pem" \
		-certfile "$P/chain.pem" -name "interop-$1" -passout "file:$T/pw" -out "$2"
}
produce_openssl_3des() {
	openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES \
		-macalg sha1 -inkey "$P/$1.key" -in "$P/$1.pem" \
		-certfile "$P/chain.pem" -name "interop-$1" -passout "file:$T/pw" -out "$2"
}
produce_certtool() { # KEY OUT CIPHER
	certtool --to-p12 --load-privkey "$P/$1.key" --load-certificate "$P/$1-full.pem" \
		--p12-name "interop-$1" --password "$PW" --pkcs-cipher "$3" \
		--outder --outfile "$2"
}
produce_gnutls_aes() { produce_certtool "$1" "$2" aes-256; }
produce_gnutls_3des() { produce_certtool "$1" "$2" 3des-pkcs12; }

nss_db() { # KEY: an NSS database holding the key and its chain
	local db=$T/nss-$1
	[ -d "$db" ] && return 0
	mkdir -p "$db" &&
		certutil -N -d "sql:$db" --empty-password &&
		base_p12 "$1" &&
		pk12util -i "$T/in/$1-base.p12" -d "sql:$db" -w "$T/pw" -K ''
}
produce_nss() { # KEY OUT [pk12util cipher options]
	local k=$1 out=$2
	shift 2
	nss_db "$k" && pk12util -o "$out" -n "interop-$k" -d "sql:$T/nss-$k" \
		-w "$T/pw" -K '' "$@"
}
produce_nss_default() { produce_nss "$1" "$2"; }
produce_nss_aes() { produce_nss "$1" "$2" -c AES-256-CBC -C AES-256-CBC -M SHA-256; }
produce_nss_3des() {
	produce_nss "$1" "$2" -c "PKCS #12 V2 PBE With SHA-1 And 3KEY Triple DES-CBC" \
		-C "PKCS #12 V2 PBE With SHA-1 And 3KEY Triple DES-CBC" -M SHA-1
}
produce_keytool() { # KEY OUT [java options]: keytool writes its own PKCS#12
	local k=$1 out=$2
	shift 2
	base_p12 "$k" && rm -f "$out" &&
		keytool "$@" -importkeystore -noprompt \
			-srckeystore "$T/in/$k-base.p12" -srcstoretype PKCS12 -srcstorepass:file "$T/pw" \
			-destkeystore "$out" -deststoretype PKCS12 -deststorepass:file "$T/pw"
}
produce_keytool_default() { produce_keytool "$1" "$2"; }
produce_keytool_legacy() { produce_keytool "$1" "$2" -J-Dkeystore.pkcs12.legacy; }

cat >"$T/pyca_write.py" <<'EOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

keyf, certf, chainf, pwf, mode, out = sys.argv[1:7]
pw = open(pwf, "rb").read()
key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(certf, "rb").read())
end = b"-----END CERTIFICATE-----"
chain = [x509.load_pem_x509_certificate(p + end)
         for p in open(chainf, "rb").read().split(end) if b"BEGIN" in p]
if mode == "best":
    enc = serialization.BestAvailableEncryption(pw)
else:
    if not hasattr(serialization.PrivateFormat, "PKCS12"):
        sys.exit("this cryptography has no PKCS12 encryption builder")
    enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
           .kdf_rounds(50000)
           .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
           .hmac_hash(hashes.SHA1())
           .build(pw))
name = ("interop-" + keyf.rsplit("/", 1)[-1].split(".")[0]).encode()
with open(out, "wb") as f:
    f.write(pkcs12.serialize_key_and_certificates(name, key, cert, chain, enc))
EOF
produce_pyca() { "$PY" "$T/pyca_write.py" "$P/$1.key" "$P/$1.pem" "$P/chain.pem" "$T/pw" "$3" "$2"; }
produce_pyca_best() { produce_pyca "$1" "$2" best; }
produce_pyca_legacy() { produce_pyca "$1" "$2" legacy; }

PRODUCERS="openssl_modern openssl_legacy openssl_3des gnutls_aes gnutls_3des
nss_default nss_aes nss_3des keytool_default keytool_legacy pyca_best pyca_legacy"

# --- checks on a store ---------------------------------------------------

# The get --json object of thumbprint $2 in store $1, or nothing.
get_obj() {
	cf --store "$1" get --json 2>"$T/get.err" |
		jq -c --arg tp "$2" '.Items[] | select(.Thumbprint == $tp)' 2>>"$T/get.err"
}

# verify_store NAME STORE KEY: the leaf of KEY is in STORE with its key and
# its chain; EXPORTABLE (true/false) is the flag expected.
verify_store() {
	local name=$1 s=$2 k=$3 exportable=${4:-true} tp obj
	tp=$(thumb "$P/$k.pem")
	obj=$(get_obj "$s" "$tp")
	if [ -z "$obj" ]; then
		fail "$name: get --json lists $tp" "no object with that Thumbprint"
		show "$T/get.err"
		return 1
	fi
	expect_eq "$name: HasPrivateKey" "$(jq -r .HasPrivateKey <<<"$obj")" true
	expect_eq "$name: PrivateKeyExportable" "$(jq -r .PrivateKeyExportable <<<"$obj")" "$exportable"
	expect_eq "$name: Chain (get --json)" "$(jq -r '.Chain // [] | join(",")' <<<"$obj")" \
		"$INT_TP,$ROOT_TP"
	local want_domains=autodiscover.example.com,mail,mail.example.com # sorted
	[ "$k" = ec ] && want_domains=ec.example.com
	expect_eq "$name: CertificateDomains" \
		"$(jq -r '.CertificateDomains // [] | sort | join(",")' <<<"$obj")" "$want_domains"

	# The chain again, as export --pem --no-key writes it.
	local pem=$T/out/chain-$$-$RANDOM.pem
	run cf --store "$s" export "$tp" --pem --no-key -o "$pem"
	if [ "$RC" -ne 0 ]; then
		fail "$name: export --pem --no-key" "exit $RC"
		show "$ERR"
		return 1
	fi
	local got
	got=$(pem_thumbs "$pem" | paste -sd,)
	expect_eq "$name: export --pem --no-key holds leaf, intermediate, root" \
		"$got" "$tp,$INT_TP,$ROOT_TP"
	if grep -q 'PRIVATE KEY' "$pem"; then
		fail "$name: export --pem --no-key has no key" "a PRIVATE KEY block is there"
	fi
}

# The thumbprints of every certificate in a PEM file, in order.
pem_thumbs() {
	awk -v dir="$T" '
		/-----BEGIN CERTIFICATE-----/ { n++; f = dir "/.split." n; inside = 1 }
		inside { print > f }
		/-----END CERTIFICATE-----/ { inside = 0; close(f) }
		END { print n + 0 > (dir "/.split.n") }' "$1"
	local i n
	n=$(cat "$T/.split.n")
	for ((i = 1; i <= n; i++)); do
		thumb "$T/.split.$i"
		rm -f "$T/.split.$i"
	done
}

# import_and_verify NAME FILE KEY: imports FILE into a fresh store and
# checks it.  The store is left in $LAST_STORE.
STORE_N=0
import_and_verify() {
	local name=$1 file=$2 k=$3 tp
	STORE_N=$((STORE_N + 1))
	LAST_STORE=$T/store-$STORE_N
	tp=$(thumb "$P/$k.pem")
	run cf --store "$LAST_STORE" --init import "$file" --exportable --password-file "$T/pw"
	if [ "$RC" -ne 0 ]; then
		fail "$name: import" "exit $RC"
		show "$ERR"
		return 1
	fi
	if grep -qE "^${tp}[[:space:]]+[^[:space:]]+[[:space:]]+imported\$" "$OUT"; then
		pass "$name: import prints '$tp  -  imported'"
	else
		fail "$name: import prints the leaf's thumbprint" "expected a line '$tp  -  imported'"
		show "$OUT"
	fi
	verify_store "$name" "$LAST_STORE" "$k"
}

# refused_unchanged NAME STORE EXIT PATTERN CMD...: CMD fails as told and
# the store is the same afterwards.
refused_unchanged() {
	local name=$1 s=$2 want=$3 pat=$4
	shift 4
	store_snapshot "$s" >"$T/before.snap" 2>&1
	check_fails "$name" "$want" "$pat" "$@"
	store_snapshot "$s" >"$T/after.snap" 2>&1
	if cmp -s "$T/before.snap" "$T/after.snap"; then
		pass "$name: store unchanged"
	else
		fail "$name: store unchanged" "the store differs afterwards:"
		diff "$T/before.snap" "$T/after.snap" | head -20 | sed 's/^/    /'
	fi
}

WRONG_PW_RE='[Ww]rong password|MAC verification failed|[Ii]ncorrect password|[Ii]nvalid password|[Bb]ad password'

# --- 1. producers -> certfleet -------------------------------------------

declare -A STORE_OF
for k in leaf ec; do
	cat "$P/$k.pem" "$P/chain.pem" >"$P/$k-full.pem"
	for p in $PRODUCERS; do
		f=$T/in/$k-$p.p12
		name="import $k/${p/_/ }"
		if ! "produce_$p" "$k" "$f" >"$T/produce.log" 2>&1 || [ ! -s "$f" ]; then
			fail "$name: producer wrote the file" "produce_$p failed"
			show "$T/produce.log" 12
			continue
		fi
		import_and_verify "$name" "$f" "$k" || continue
		STORE_OF[$k-$p]=$LAST_STORE
		# A wrong password, for every format the RSA leaf came in.
		if [ "$k" = leaf ]; then
			refused_unchanged "$name: wrong password refused" "$LAST_STORE" 1 \
				"^certfleet: .*($WRONG_PW_RE)" \
				cf --store "$LAST_STORE" import "$f" --password-file "$T/wrong"
		fi
	done
done

# --- 2. certfleet -> readers ---------------------------------------------

# check_algorithms NAME FILE PROFILE: what `openssl pkcs12 -info` reports.
check_algorithms() {
	local name=$1 f=$2 profile=$3 info enc bad
	info=$T/info.txt
	if ! openssl pkcs12 -info -noout -in "$f" -passin "file:$T/pw" >"$info" 2>&1; then
		fail "$name: openssl pkcs12 -info (no -legacy)" "openssl could not read it"
		show "$info"
		return 1
	fi
	enc=$(grep -E '^(PKCS7 Encrypted data|Shrouded Keybag):' "$info")
	if [ "$profile" = modern ]; then
		expect_eq "$name: MAC is SHA-256, 300000 iterations" \
			"$(grep '^MAC:' "$info")" "MAC: sha256, Iteration 300000"
		expect_eq "$name: MAC salt is 16 bytes" \
			"$(sed -n 's/^MAC length: .*, salt length: //p' "$info")" 16
		bad=$(grep -v ': PBES2, PBKDF2, AES-256-CBC, Iteration 300000, PRF hmacWithSHA256$' <<<"$enc")
	else
		if grep -qE '^MAC: sha1, Iteration [0-9]+$' "$info"; then
			pass "$name: MAC is SHA-1 ($(grep '^MAC:' "$info" | sed 's/.*, //'))"
		else
			fail "$name: MAC is SHA-1" "got '$(grep '^MAC:' "$info")'"
		fi
		bad=$(grep -vE ': pbeWithSHA1And3-KeyTripleDES-CBC, Iteration [0-9]+$' <<<"$enc")
	fi
	if [ -n "$enc" ] && [ -z "$bad" ] &&
		grep -q '^Shrouded Keybag:' <<<"$enc" && grep -q '^PKCS7 Encrypted data:' <<<"$enc"; then
		pass "$name: key and certificate bags use the $profile algorithms"
	else
		fail "$name: key and certificate bags use the $profile algorithms" "openssl -info says:"
		show "$info" 20
	fi
	if grep -qi 'rc2' "$info"; then
		fail "$name: no RC2" "$(grep -i rc2 "$info" | head -1)"
	else
		pass "$name: no RC2"
	fi
	if [ "$profile" = modern ]; then
		# Bag salts: openssl -info does not show them, certtool does.
		local salts
		salts=$(certtool --p12-info --inder --infile "$f" --password "$PW" 2>/dev/null |
			sed -n 's/^[[:space:]]*Salt size: //p' | sort -u | paste -sd,)
		expect_eq "$name: every salt is 16 bytes (certtool)" "$salts" 16
	fi
}

# Each reader checks three things and says which failed: the leaf's
# thumbprint, the key matching the leaf, the intermediate and root.
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
chain_has() { # "THUMBS,..." -> ok when the intermediate and root are there
	[[ ",$1," == *",$INT_TP,"* && ",$1," == *",$ROOT_TP,"* ]]
}
reader_result() { # NAME READER PROBLEMS...
	local name=$1 reader=$2
	shift 2
	if [ $# -eq 0 ]; then
		pass "$name: read by $reader (leaf, key, chain)"
	else
		fail "$name: read by $reader" "$@"
	fi
}

read_openssl() { # NAME FILE KEY
	local name=$1 f=$2 k=$3 probs=() w=$T/rd-openssl
	mkdir -p "$w"
	if ! openssl pkcs12 -in "$f" -passin "file:$T/pw" -nokeys -clcerts -out "$w/leaf.pem" 2>"$w/err"; then
		reader_result "$name" "openssl pkcs12" "openssl pkcs12 failed: $(head -1 "$w/err")"
		return
	fi
	[ "$(pem_thumbs "$w/leaf.pem" | paste -sd,)" = "$(thumb "$P/$k.pem")" ] ||
		probs+=("leaf: $(pem_thumbs "$w/leaf.pem" | paste -sd,)")
	openssl pkcs12 -in "$f" -passin "file:$T/pw" -nocerts -nodes 2>>"$w/err" |
		openssl pkey -pubout >"$w/pub" 2>>"$w/err"
	cmp -s "$w/pub" <(pubkey_of_cert "$P/$k.pem") || probs+=("key does not match the leaf")
	openssl pkcs12 -in "$f" -passin "file:$T/pw" -nokeys -cacerts -out "$w/ca.pem" 2>>"$w/err"
	chain_has "$(pem_thumbs "$w/ca.pem" | paste -sd,)" || probs+=("intermediate or root missing")
	reader_result "$name" "openssl pkcs12" "${probs[@]}"
}

read_certtool() {
	local name=$1 f=$2 k=$3 probs=() w=$T/rd-certtool thumbs
	mkdir -p "$w"
	if ! certtool --p12-info --inder --infile "$f" --password "$PW" >"$w/info" 2>"$w/err"; then
		reader_result "$name" "certtool --p12-info" "certtool failed: $(head -1 "$w/err")"
		return
	fi
	thumbs=$(pem_thumbs "$w/info" | paste -sd,)
	[[ ",$thumbs," == *",$(thumb "$P/$k.pem"),"* ]] || probs+=("no leaf among $thumbs")
	chain_has "$thumbs" || probs+=("intermediate or root missing")
	# GnuTLS decrypts the PKCS#8 key; its public key ID must be the leaf's.
	awk '/BEGIN ENCRYPTED PRIVATE KEY/,/END ENCRYPTED PRIVATE KEY/' "$w/info" >"$w/key.pem"
	local kid cid
	kid=$(certtool -k --password "$PW" --infile "$w/key.pem" 2>/dev/null |
		grep -A3 'Public Key ID' | grep -m1 -oE 'sha256:[0-9a-f]{64}')
	cid=$(certtool -i --infile "$P/$k.pem" 2>/dev/null |
		grep -A3 'Public Key ID' | grep -m1 -oE 'sha256:[0-9a-f]{64}')
	[ -n "$kid" ] && [ "$kid" = "$cid" ] || probs+=("key: '${kid:-not decrypted}', leaf: '$cid'")
	reader_result "$name" "certtool --p12-info" "${probs[@]}"
}

read_nss() {
	local name=$1 f=$2 k=$3 probs=() db thumbs nick
	db=$(mktemp -d "$T/rd-nss.XXXXXX")
	certutil -N -d "sql:$db" --empty-password 2>"$db/err"
	if ! pk12util -i "$f" -d "sql:$db" -w "$T/pw" -K '' >"$db/out" 2>&1; then
		reader_result "$name" "pk12util -i" "pk12util failed: $(grep -m1 -i error "$db/out")"
		return
	fi
	thumbs=$(certutil -L -d "sql:$db" | tail -n +5 |
		sed -E 's/[[:space:]]+[A-Za-z]*,[A-Za-z]*,[A-Za-z]*[[:space:]]*$//' |
		while IFS= read -r nick; do
			certutil -L -d "sql:$db" -n "$nick" -a >"$db/c.pem" && pem_thumbs "$db/c.pem"
		done | paste -sd,)
	chain_has "$thumbs" || probs+=("intermediate or root missing: $thumbs")
	# The certificate NSS paired with the imported key must be the leaf.
	nick=$(certutil -K -d "sql:$db" </dev/null 2>/dev/null |
		sed -n 's/^<[^>]*>[[:space:]]*[a-z]*[[:space:]]*[0-9a-f]*[[:space:]]*//p' | head -1)
	if [ -z "$nick" ]; then
		probs+=("no private key in the NSS database")
	else
		certutil -L -d "sql:$db" -n "$nick" -a >"$db/leaf.pem" 2>/dev/null
		[ "$(pem_thumbs "$db/leaf.pem" | head -1)" = "$(thumb "$P/$k.pem")" ] ||
			probs+=("the key's certificate '$nick' is not the leaf")
	fi
	reader_result "$name" "pk12util -i + certutil" "${probs[@]}"
}

read_keytool() {
	local name=$1 f=$2 k=$3 probs=() w=$T/rd-keytool alias thumbs
	mkdir -p "$w"
	rm -f "$w/csr.pem"
	if ! keytool -list -v -storetype PKCS12 -keystore "$f" -storepass:file "$T/pw" \
		>"$w/list" 2>&1; then
		reader_result "$name" "keytool -list" "keytool failed: $(head -1 "$w/list")"
		return
	fi
	grep -q '^Entry type: PrivateKeyEntry' "$w/list" || probs+=("no PrivateKeyEntry")
	thumbs=$(sed -n 's/^[[:space:]]*SHA1: //p' "$w/list" | tr -d : | paste -sd,)
	[ "$thumbs" = "$(thumb "$P/$k.pem"),$INT_TP,$ROOT_TP" ] ||
		probs+=("chain: '$thumbs', want leaf,intermediate,root")
	# The key must work: keytool signs a request with it.
	alias=$(sed -n 's/^Alias name: //p' "$w/list" | head -1)
	if keytool -certreq -alias "$alias" -storetype PKCS12 -keystore "$f" \
		-storepass:file "$T/pw" -keypass:file "$T/pw" -file "$w/csr.pem" >"$w/csr.log" 2>&1 &&
		openssl req -in "$w/csr.pem" -noout -verify >/dev/null 2>&1; then
		cmp -s <(openssl req -in "$w/csr.pem" -noout -pubkey) <(pubkey_of_cert "$P/$k.pem") ||
			probs+=("the key's public key is not the leaf's")
	else
		probs+=("keytool could not sign with the key: $(head -1 "$w/csr.log")")
	fi
	reader_result "$name" "keytool" "${probs[@]}"
}

cat >"$T/pyca_read.py" <<'EOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

f, pwf, leafpem = sys.argv[1:4]
want_chain = sys.argv[4:]
key, cert, extra = pkcs12.load_key_and_certificates(open(f, "rb").read(),
                                                    open(pwf, "rb").read())
tp = lambda c: c.fingerprint(hashes.SHA1()).hex().upper()
pub = lambda k: k.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
leaf = x509.load_pem_x509_certificate(open(leafpem, "rb").read())
probs = []
if cert is None or tp(cert) != tp(leaf):
    probs.append("leaf: %s" % (tp(cert) if cert else "none"))
if key is None or pub(key.public_key()) != pub(leaf.public_key()):
    probs.append("key does not match the leaf")
got = [tp(c) for c in extra]
if any(t not in got for t in want_chain):
    probs.append("chain: %s" % ",".join(got))
print("\n".join(probs))
sys.exit(1 if probs else 0)
EOF
read_python() {
	local name=$1 f=$2 k=$3 out
	if out=$("$PY" "$T/pyca_read.py" "$f" "$T/pw" "$P/$k.pem" "$INT_TP" "$ROOT_TP" 2>&1); then
		reader_result "$name" "python cryptography"
	else
		local probs=()
		mapfile -t probs <<<"$out"
		reader_result "$name" "python cryptography" "${probs[@]}"
	fi
}

READERS="openssl certtool nss keytool python"

# export_one NAME STORE TP OUT VARIANT: writes OUT as DER, whatever the
# variant; the Base64 ones are decoded with base64 -d.
export_one() {
	local name=$1 s=$2 tp=$3 out=$4 variant=$5 opts=()
	case $variant in
	modern-binary) opts=(--binary) ;;
	modern-base64) opts=() ;;
	legacy-binary) opts=(--binary --legacy) ;;
	legacy-base64) opts=(--legacy) ;;
	esac
	local o=$out
	[ "${variant#*-}" = base64 ] && o=$out.b64
	run cf --store "$s" export "$tp" "${opts[@]}" -o "$o" --password-file "$T/pw"
	if [ "$RC" -ne 0 ] || [ ! -s "$o" ]; then
		fail "$name: export" "exit $RC, $(wc -c <"$o" 2>/dev/null || echo no) bytes written"
		show "$ERR"
		return 1
	fi
	expect_eq "$name: file mode" "$(stat -c %a "$o")" 600
	if [ "$o" != "$out" ]; then
		if LC_ALL=C grep -q '[^A-Za-z0-9+/=]' <(tr -d '\r\n' <"$o") ||
			! base64 -d <"$o" >"$out" 2>/dev/null; then
			fail "$name: export is Base64 text" "base64 -d cannot decode it"
			return 1
		fi
		pass "$name: export is Base64 text"
	fi
	if [ "$(head -c1 "$out" | od -An -tx1 | tr -d ' ')" != 30 ]; then
		fail "$name: a DER PKCS#12" "does not start with a SEQUENCE"
		return 1
	fi
}

declare -A EXPORTED
for k in leaf ec; do
	s=${STORE_OF[$k-openssl_modern]:-}
	if [ -z "$s" ]; then
		fail "export $k: a store to export from" "the OpenSSL import of $k failed above"
		continue
	fi
	tp=$(thumb "$P/$k.pem")
	for v in modern-binary modern-base64 legacy-binary legacy-base64; do
		name="export $k/$v"
		f=$T/out/$k-$v.p12
		export_one "$name" "$s" "$tp" "$f" "$v" || continue
		EXPORTED[$k-$v]=$f
		check_algorithms "$name" "$f" "${v%-*}"
		for r in $READERS; do
			"read_$r" "$name" "$f" "$k"
		done
	done
done

# export --pem: the chain and the key as encrypted PKCS#8, which OpenSSL and
# GnuTLS both decrypt to the leaf's key.
for k in leaf ec; do
	s=${STORE_OF[$k-openssl_modern]:-}
	[ -n "$s" ] || continue
	tp=$(thumb "$P/$k.pem")
	name="export $k/pem"
	f=$T/out/$k-export.pem
	run cf --store "$s" export "$tp" --pem -o "$f" --password-file "$T/pw"
	if [ "$RC" -ne 0 ]; then
		fail "$name: export --pem" "exit $RC"
		show "$ERR"
		continue
	fi
	expect_eq "$name: file mode" "$(stat -c %a "$f")" 600
	expect_eq "$name: leaf, intermediate, root" "$(pem_thumbs "$f" | paste -sd,)" \
		"$tp,$INT_TP,$ROOT_TP"
	probs=()
	grep -q -- '-----BEGIN PRIVATE KEY-----' "$f" && probs+=("an unencrypted PRIVATE KEY block")
	grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' "$f" || probs+=("no ENCRYPTED PRIVATE KEY block")
	openssl pkey -in "$f" -passin "file:$T/pw" -pubout 2>/dev/null |
		cmp -s - <(pubkey_of_cert "$P/$k.pem") || probs+=("openssl pkey cannot decrypt it to the leaf's key")
	awk '/BEGIN ENCRYPTED PRIVATE KEY/,/END ENCRYPTED PRIVATE KEY/' "$f" >"$T/out/$k-key.pem"
	kid=$(certtool -k --password "$PW" --infile "$T/out/$k-key.pem" 2>/dev/null |
		grep -A3 'Public Key ID' | grep -m1 -oE 'sha256:[0-9a-f]{64}')
	cid=$(certtool -i --infile "$P/$k.pem" 2>/dev/null |
		grep -A3 'Public Key ID' | grep -m1 -oE 'sha256:[0-9a-f]{64}')
	[ -n "$kid" ] && [ "$kid" = "$cid" ] || probs+=("certtool -k cannot decrypt it to the leaf's key")
	if [ ${#probs[@]} -eq 0 ]; then
		pass "$name: key is encrypted PKCS#8, read by openssl pkey and certtool"
	else
		fail "$name: key is encrypted PKCS#8" "${probs[@]}"
	fi
done

# Export to stdout: the default is Base64 text there too.
s=${STORE_OF[leaf-openssl_modern]:-}
if [ -n "$s" ]; then
	tp=$(thumb "$P/leaf.pem")
	run cf --store "$s" export "$tp" --password-file "$T/pw"
	if [ "$RC" -eq 0 ] && base64 -d <"$OUT" >"$T/out/stdout.p12" 2>/dev/null &&
		openssl pkcs12 -in "$T/out/stdout.p12" -passin "file:$T/pw" -nokeys -clcerts 2>/dev/null |
		openssl x509 -noout -fingerprint -sha1 2>/dev/null | tr -d : | grep -q "=$tp\$"; then
		pass "export leaf to stdout: Base64 PKCS#12 of the leaf"
	else
		fail "export leaf to stdout: Base64 PKCS#12 of the leaf" "exit $RC"
		show "$ERR"
	fi
fi

# --- 3. certfleet -> certfleet, and the refusals --------------------------

for k in leaf ec; do
	for v in modern-binary legacy-binary; do
		[ -n "${EXPORTED[$k-$v]:-}" ] || continue
		import_and_verify "round trip $k/$v" "${EXPORTED[$k-$v]}" "$k"
	done
done

s=${STORE_OF[leaf-openssl_modern]:-}
if [ -n "$s" ]; then
	tp=$(thumb "$P/leaf.pem")
	# Importing what is there already changes nothing and says so.
	store_snapshot "$s" >"$T/before.snap"
	run cf --store "$s" import "$T/in/leaf-openssl_modern.p12" --exportable --password-file "$T/pw"
	if [ "$RC" -eq 0 ] && grep -qE "^${tp}[[:space:]].*already present\$" "$OUT"; then
		pass "import again: '$tp ... already present'"
	else
		fail "import again: '$tp ... already present'" "exit $RC"
		show "$OUT"
		show "$ERR"
	fi
	store_snapshot "$s" >"$T/after.snap"
	if cmp -s "$T/before.snap" "$T/after.snap"; then
		pass "import again: store unchanged"
	else
		fail "import again: store unchanged" "the store differs afterwards:"
		diff "$T/before.snap" "$T/after.snap" | head -20 | sed 's/^/    /'
	fi

	head -c 3000 /dev/urandom >"$T/in/garbage.p12"
	refused_unchanged "import of random bytes refused" "$s" 1 '^certfleet: .*import' \
		cf --store "$s" import "$T/in/garbage.p12" --password-file "$T/pw"
	# No password at all, no terminal: an error, not a prompt nor a hang.
	refused_unchanged "import with no password and no terminal refused" "$s" 1 \
		'^certfleet: .*[Pp]assword' \
		setsid -w timeout -k 5 60 "$CERTFLEET" --store "$s" import "$T/in/ec-openssl_modern.p12"
fi

# The other two ways to give a password: stdin and CERTFLEET_PASSWORD.
# shellcheck disable=SC2016 # $1.. are sh -c's own arguments
check "import --password-file - (stdin)" timeout 120 sh -c \
	'"$1" --store "$2" --init import "$3" --password-file - <"$4"' sh \
	"$CERTFLEET" "$T/store-stdin" "$T/in/ec-openssl_modern.p12" "$T/pw" &&
	verify_store "import --password-file -" "$T/store-stdin" ec false
check "import with CERTFLEET_PASSWORD" env CERTFLEET_PASSWORD="$PW" \
	timeout 120 "$CERTFLEET" --store "$T/store-env" --init import "$T/in/ec-gnutls_aes.p12" &&
	verify_store "import with CERTFLEET_PASSWORD" "$T/store-env" ec false

# A key imported without --exportable never leaves the store.
s=$T/store-noexport
if check "import without --exportable" cf --store "$s" --init import \
	"$T/in/leaf-openssl_modern.p12" --password-file "$T/pw"; then
	verify_store "import without --exportable" "$s" leaf false
	tp=$(thumb "$P/leaf.pem")
	for v in modern-binary legacy-base64; do
		opts=(--binary)
		[ "$v" = legacy-base64 ] && opts=(--legacy)
		refused_unchanged "export $v of a non-exportable key refused" "$s" 1 \
			'^certfleet: .*export.*([Nn]ot exportable|exportable)' \
			cf --store "$s" export "$tp" "${opts[@]}" -o "$T/out/noexport-$v" --password-file "$T/pw"
		if [ -s "$T/out/noexport-$v" ]; then
			fail "export $v of a non-exportable key wrote nothing" "$T/out/noexport-$v is there"
		else
			pass "export $v of a non-exportable key wrote nothing"
		fi
	done
fi

e2e_done
