#!/usr/bin/env bash
# tables.sh - tables for people and for scripts, on two agents: the
# default get and log tables fit 80 columns (by $COLUMNS and on a real
# terminal), thumbprints and actors are short there and whole in
# --format tsv, --no-header, log --server merging into one timeline with
# a Server column, actors named by the fleet, and get --expiring (days
# or a share of the lifetime) across the fleet sorted by NotAfter.
#
#   bash tests/e2e/tables.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
require_tools "$CERTFLEETD" openssl python3 script
export CERTFLEET_HOME=$T/home

# cert NAME DAYS_AGO DAYS_LEFT SUBJECT - a self-signed certificate (and
# key) in $T/NAME.pem, valid from DAYS_AGO days ago for DAYS_LEFT more
# days: lifetimes openssl x509 cannot backdate.
cert() {
	python3 - "$T/$1" "$2" "$3" "$4" <<-'EOF'
		import datetime, sys
		from cryptography import x509
		from cryptography.hazmat.primitives import hashes, serialization
		from cryptography.hazmat.primitives.asymmetric import ec
		out, ago, left, subject = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
		key = ec.generate_private_key(ec.SECP256R1())
		name = x509.Name.from_rfc4514_string(subject)
		now = datetime.datetime.now(datetime.timezone.utc)
		c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
		     .public_key(key.public_key()).serial_number(x509.random_serial_number())
		     .not_valid_before(now - datetime.timedelta(days=ago))
		     .not_valid_after(now + datetime.timedelta(days=left, hours=1))
		     .sign(key, hashes.SHA256()))
		open(out + ".pem", "wb").write(c.public_bytes(serialization.Encoding.PEM))
		open(out + ".key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
		    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
	EOF
}
LONG="CN=autodiscover.mail.example.com,OU=Messaging and Collaboration,O=Example Corporation Ltd,L=Amsterdam,C=NL"
cert a 100 10 "$LONG"                       # 10 days left, under a tenth of its life
cert b 10 90 "CN=b.example.com,O=Example"   # 90 days left, nine tenths
cert c 240 60 "CN=c.example.com,O=Example"  # 60 days left, a fifth
A=$(thumb "$T/a.pem")
B=$(thumb "$T/b.pem")
C=$(thumb "$T/c.pem")

check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
for n in ex1 ex2; do
	agent_conf "$n"
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done
check "set-up: ex1 holds b, with four services" \
	cf import "$T/b.pem" "$T/b.key" --server ex1 --services https,imap,pop,smtp --force
check "set-up: ex1 holds c" cf import "$T/c.pem" "$T/c.key" --server ex1
check "set-up: ex2 holds a, with a long subject" \
	cf import "$T/a.pem" "$T/a.key" --server ex2 --services https,imap,pop,smtp --force

# widest FILE - the widest line of FILE in characters (not bytes), with
# a terminal's carriage returns dropped.
widest() {
	python3 -c 'import sys; print(max([len(l.rstrip("\r\n")) for l in open(sys.argv[1], encoding="utf-8")] or [0]))' "$1"
}
# fits NAME WIDTH - every line of the last output fits WIDTH columns.
fits() {
	local w
	w=$(widest "$OUT")
	if [ "$w" -le "$2" ] && [ -s "$OUT" ]; then
		pass "$1 ($w columns)"
	else
		fail "$1" "widest line $w columns"
		show "$OUT" 12
	fi
}

# ---- get ------------------------------------------------------------------------

COLUMNS=80 check "get: COLUMNS=80" cf get --server ex1,ex2
fits "get: every line fits 80 columns" 80
expect_eq "get: the default columns" "$(head -n 1 "$OUT" | tr -s ' ')" \
	"Server Thumbprint Services Status NotAfter DaysLeft Subject"
expect_eq "get: thumbprints cut to 8 digits" \
	"$(grep -c -E "^ex[12] +(${A:0:8}|${B:0:8}|${C:0:8}) " "$OUT")/$(grep -c -E '[0-9A-F]{40}' "$OUT")" "3/0"
expect_eq "get: DaysLeft in the table" \
	"$(awk -v t="${A:0:8}" '$2 == t {print $6}' "$OUT")" 10
if grep -q "…" "$OUT" && ! grep -qF "$LONG" "$OUT"; then
	pass "get: the long subject is cut with … to fit"
else
	fail "get: the long subject is cut with … to fit"
	show "$OUT"
fi
check "get: a pipe without COLUMNS is not cut" cf get --server ex2
if grep -qF "$LONG" "$OUT" && ! grep -q "…" "$OUT"; then
	pass "get: the long subject whole in a pipe"
else
	fail "get: the long subject whole in a pipe"
	show "$OUT"
fi
COLUMNS=200 check "get: COLUMNS=200" cf get --server ex1,ex2
expect_eq "get: COLUMNS=200 leaves room for the whole subject" "$(grep -cF "$LONG" "$OUT")" 1
script -qec "stty cols 80 rows 24; $CERTFLEET get --server ex1,ex2" /dev/null </dev/null >"$OUT" 2>&1
fits "get: on an 80-column terminal (a pty, no COLUMNS)" 80
check "get --fields Thumbprint: whole" cf get --server ex1 --fields Server,Thumbprint
expect_eq "get --fields Thumbprint: 40 digits" "$(grep -cE "^ex1 +[0-9A-F]{40}$" "$OUT")" 3
check "get --no-header" cf get --server ex1,ex2 --no-header
expect_eq "get --no-header: rows only" "$(grep -c -E '^ex[12] ' "$OUT")/$(wc -l <"$OUT")" "5/5"
check "get --format tsv" cf get --server ex1,ex2 --format tsv
expect_eq "get --format tsv: a header, then a line per certificate" \
	"$(head -n 1 "$OUT" | tr '\t' ,)/$(wc -l <"$OUT")" \
	"Server,Thumbprint,Services,Status,NotAfter,DaysLeft,Subject/6"
expect_eq "get --format tsv: six tabs on every line" \
	"$(awk -F '\t' 'NF != 7' "$OUT" | wc -l)" 0
expect_eq "get --format tsv: whole values (thumbprint, time, subject)" \
	"$(awk -F '\t' -v t="$A" '$2 == t {print $1, $5 ~ /^....-..-..T..:..:..Z$/, $7}' "$OUT")" "ex2 1 $LONG"
check "get --format tsv --no-header" cf get --server ex1 --format tsv --no-header
expect_eq "get --format tsv --no-header: no header" "$(grep -c '^Server' "$OUT")/$(wc -l <"$OUT")" "0/3"
check_fails "get --format html: refused" 2 "format html" cf get --server ex1 --format html

# ---- get --expiring -------------------------------------------------------------

check "expiring 30d" cf get --server all --expiring 30d --format tsv --no-header --fields Server,Thumbprint
expect_eq "expiring 30d: only a" "$(tr '\t' = <"$OUT" | paste -sd' ')" "ex2=$A"
check "expiring 33%" cf get --server all --expiring 33% --format tsv --no-header --fields Server,Thumbprint
expect_eq "expiring 33%: a and c, by NotAfter across servers" \
	"$(tr '\t' = <"$OUT" | paste -sd' ')" "ex2=$A ex1=$C"
check "expiring 95%" cf get --server all --expiring 95% --format tsv --no-header --fields Server,Thumbprint
expect_eq "expiring 95%: a, c, b by NotAfter; the fresh host certificates not" \
	"$(tr '\t' = <"$OUT" | paste -sd' ')" "ex2=$A ex1=$C ex1=$B"
check "expiring 70d --json" cf get --server all --expiring 70d --json
expect_eq "expiring 70d --json: a then c, with DaysLeft" \
	"$(jq -r '[.Items[] | "\(.Thumbprint[0:8]):\(.DaysLeft)"] | join(" ")' "$OUT")" "${A:0:8}:10 ${C:0:8}:60"
check "expiring 5d: nothing" cf get --server all --expiring 5d
expect_eq "expiring 5d: empty" "$(wc -c <"$OUT")" 0
check_fails "expiring 30x: refused" 2 "expiring 30x" cf get --server ex1 --expiring 30x
check_fails "expiring 101%: refused" 2 "expiring 101%" cf get --server ex1 --expiring 101%

# ---- log ------------------------------------------------------------------------

COLUMNS=80 check "log: COLUMNS=80, two servers" cf log --server ex1,ex2
fits "log: every line fits 80 columns" 80
expect_eq "log: a Server column first" "$(head -n 1 "$OUT" | tr -s ' ')" \
	"Server Time Actor Operation Thumbprint Outcome"
expect_eq "log: the actor short (tls: and 8 digits), never whole" \
	"$(grep -qE "tls:${ID:7:8} .* import " "$OUT" && echo short)/$(grep -c "${ID:7:20}" "$OUT")" \
	"short/0"
check "log --format tsv" cf log --server ex1,ex2 --format tsv --no-header
expect_eq "log --format tsv: the actor whole" \
	"$(awk -F '\t' '$4 == "import" && $3 ~ /^tls:/ {print $3}' "$OUT" | sort -u | cut -c1-75)" "tls:$ID"
expect_eq "log --format tsv: one timeline, by time" \
	"$(cut -f2 "$OUT" | sort -c 2>&1 && echo sorted)" sorted
expect_eq "log --format tsv: both servers' records" \
	"$(cut -f1 "$OUT" | sort -u | paste -sd,)" ex1,ex2
# ex2's import came last: in the timeline it follows ex1's.
expect_eq "log --format tsv: ex2's import after ex1's" \
	"$(awk -F '\t' '$4 == "import" && $3 ~ /^tls:/ {print $1}' "$OUT" | uniq | paste -sd,)" ex1,ex2
check "log: one server, no Server column" cf log --server ex1
expect_eq "log --server ex1: no Server column" "$(head -n 1 "$OUT" | tr -s ' ')" \
	"Time Actor Operation Thumbprint Outcome"
# An identity the fleet knows shows by its name (here the admin's own,
# pinned as "admin-ws" for the test).
check "fleet: pin the admin's fingerprint as admin-ws" cf fleet add admin-ws 127.0.0.1:9 --fingerprint "$ID"
COLUMNS=100 check "log: actor by fleet name" cf log --server ex2
expect_eq "log: the actor shown as admin-ws, not its fingerprint" \
	"$(grep -cE "admin-ws \(.*\) +import " "$OUT")/$(grep -c "tls:${ID:7:8}" "$OUT")" "2/0"
check "fleet: remove admin-ws" cf fleet remove admin-ws

# ---- other tables ---------------------------------------------------------------

check "fleet list --format tsv" cf fleet list --format tsv --no-header
expect_eq "fleet list --format tsv: name, address, whole fingerprint" \
	"$(awk -F '\t' '$1 == "ex1" {print NF, length($3)}' "$OUT")" "3 71"
COLUMNS=80 check "services: COLUMNS=80" cf services --server ex1,ex2
fits "services: every line fits 80 columns" 80
expect_eq "services: DaysLeft column" "$(head -n 1 "$OUT" | tr -s ' ' | cut -d' ' -f8)" DaysLeft

e2e_done
