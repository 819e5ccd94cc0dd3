#!/usr/bin/env bash
# agent.sh - the article end to end, with real agents on loopback.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/agent.sh
#
# Three agents, ex1, ex2 and ex3, each with its own configuration file,
# state directory, Unix socket and port on 127.0.0.1 (listen = 127.0.0.1:0:
# the kernel picks a free port and the agent's "listening on" line says
# which, so there is no race with other programs for a port).  An admin
# identity in $CERTFLEET_HOME (inside the scratch directory), authorized as
# admin on each agent, each agent pinned with `fleet add --fingerprint`.
#
# Then the article: ex2 starts with the host certificate init made
# (self-signed, CN=ex2, https,smtp,imap,pop, not exportable); the CA-issued
# mail.example.com certificate is imported on ex1 with --exportable (the
# leaf, its key and the intermediate), enabled for https,smtp,imap,pop
# (--force), exported --binary with a password into a 0600 file, imported
# on ex2 --exportable, enabled there.  Trust: the test root is imported on
# each agent as a certificate of its own, so Status turns from Untrusted to
# Valid (no SSL_CERT_FILE: the agents keep the system trust store, which
# does not know the test root; the root inside the PKCS#12 is only chain).
# `get --server ex1,ex2` shows the same certificate, Valid, with the
# services, on both.  The failure: imported on ex3 without --exportable,
# its export is refused (exit 1, the error names ex3 and "not exportable",
# no file written, the store unchanged, the refusal audited).  The audit
# trail (`log --server`), `--server all`, and, after the agents stop, that
# each store on disk holds what its agent last showed.
#
# Every positive check has a negative one beside it.  Output: one "PASS
# name" or "FAIL name: detail" line per check; exit 1 when anything failed.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
export CF_TIMEOUT=60 # every client call; a hang fails instead of blocking
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home

if [ ! -x "$CERTFLEETD" ]; then
	fail "$E2E_NAME: certfleetd binary" "not found at $CERTFLEETD (run make)"
	exit 1
fi

# ---- the agents --------------------------------------------------------

# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

# view SERVER - the agent's certificates (get --json), one line per
# certificate: thumbprint, services, exportable, status; sorted.
view() {
	cf get --server "$1" --json </dev/null 2>/dev/null |
		jq -r '.Items[] | [.Thumbprint, (.Services | join(",")),
		    (.PrivateKeyExportable | tostring), .Status] | join(" ")' | sort
}

# audit_count SERVER - the number of audit records the agent shows.
audit_count() {
	cf log --server "$1" --json </dev/null 2>/dev/null | jq '.Items | length'
}

# jf SERVER THUMB FIELD - one field of one certificate, from get --json.
jf() {
	cf get --server "$1" --json </dev/null 2>/dev/null |
		jq -r --arg t "$2" --arg f "$3" \
			'.Items[] | select(.Thumbprint == $t) | .[$f] |
			 if type == "array" then join(",") else tostring end'
}

# ---- the test PKI, the admin identity ----------------------------------

P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	exit 1
}
TP=$(thumb "$P/leaf.pem")
TP_ROOT=$(thumb "$P/root.pem")
PW=$T/export.pw
pwfile "$PW" 'Art1cle-Transfer#pw'
WRONGPW=$T/wrong.pw
pwfile "$WRONGPW" 'not-the-password'

check id/create cf id
if grep -qE '^SHA256:[0-9A-F]{64}$' "$OUT" && grep -q 'certfleetd authorize SHA256:' "$OUT"; then
	pass id/prints-fingerprint-and-authorize
else
	fail id/prints-fingerprint-and-authorize "stdout:" "$(cat "$OUT")"
fi
ID_FP=$(head -n 1 "$OUT")
expect_eq id/key-0600 "$(stat -c %a "$CERTFLEET_HOME/id.key" 2>/dev/null)" 600
OSSL_FP=SHA256:$(openssl x509 -in "$CERTFLEET_HOME/id.crt" -noout -fingerprint -sha256 |
	sed 's/^.*=//; s/://g')
expect_eq id/fingerprint-is-sha256-of-der "$ID_FP" "$OSSL_FP"
run cf id --json
expect_eq id/second-run-same-identity "$(jq -r '.Fingerprint + " " + (.Created | tostring)' "$OUT")" \
	"$ID_FP false"

# ---- init, run, authorize, pin -----------------------------------------

for n in ex1 ex2 ex3; do
	agent_conf "$n"
	check "init/$n" cfd init --config "$T/$n.conf"
	init_fp=$(sed -n 's/^fingerprint //p' "$OUT")
	run cfd fingerprint --config "$T/$n.conf"
	AFP[$n]=$(cat "$OUT")
	expect_eq "init/$n/fingerprint-printed" "$init_fp" "${AFP[$n]}"
	OSSL_FP=SHA256:$(openssl x509 -in "$T/$n/agent.crt" -noout -fingerprint -sha256 |
		sed 's/^.*=//; s/://g')
	expect_eq "init/$n/fingerprint-is-agent.crt" "${AFP[$n]}" "$OSSL_FP"
	expect_eq "init/$n/agent.key-0600" "$(stat -c %a "$T/$n/agent.key")" 600
done
# Different agents, different identities.
if [ "${AFP[ex1]}" != "${AFP[ex2]}" ] && [ "${AFP[ex2]}" != "${AFP[ex3]}" ]; then
	pass init/identities-differ
else
	fail init/identities-differ "ex1 ${AFP[ex1]}, ex2 ${AFP[ex2]}, ex3 ${AFP[ex3]}"
fi
# A second init changes nothing and says so.
before=$(store_snapshot "$T/ex1/store"; sha256sum "$T/ex1/agent.key" "$T/ex1/agent.crt")
check init/ex1/twice cfd init --config "$T/ex1.conf"
if grep -q 'nothing changed' "$OUT" && grep -q "fingerprint ${AFP[ex1]}" "$OUT"; then
	pass init/ex1/twice-says-nothing-changed
else
	fail init/ex1/twice-says-nothing-changed "stdout:" "$(cat "$OUT")"
fi
after=$(store_snapshot "$T/ex1/store"; sha256sum "$T/ex1/agent.key" "$T/ex1/agent.crt")
expect_eq init/ex1/twice-store-unchanged "$after" "$before"
check_fails init/missing-config 1 'nope\.conf' cfd init --config "$T/nope.conf"

# Authorized before the agents start (certfleetd authorize is another
# process writing the store; agent-auth.sh does it while they run).
for n in ex1 ex2 ex3; do
	check "authorize/$n" cfd authorize "$ID_FP" --role admin --config "$T/$n.conf"
done
check_fails authorize/bad-role 2 'role' cfd authorize "$ID_FP" --role root --config "$T/ex1.conf"
check_fails authorize/bad-fingerprint 2 'fingerprint|SHA-256|hex' \
	cfd authorize SHA256:1234 --role admin --config "$T/ex1.conf"

for n in ex1 ex2 ex3; do
	agent_start "$n" || {
		fail "run/$n" "the agent did not start; giving up"
		e2e_done
	}
done

check_fails fleet/add-needs-fingerprint-without-terminal 2 'fingerprint' \
	cf fleet add ex1 "127.0.0.1:${APORT[ex1]}"
for n in ex1 ex2 ex3; do
	check "fleet/add/$n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" --fingerprint "${AFP[$n]}"
done
check fleet/list cf fleet list --json
expect_eq fleet/list/three "$(jq -r '[.Items[] | .Name + "=" + .Address + "=" + .Fingerprint] | join(" ")' "$OUT" 2>/dev/null)" \
	"ex1=127.0.0.1:${APORT[ex1]}=${AFP[ex1]} ex2=127.0.0.1:${APORT[ex2]}=${AFP[ex2]} ex3=127.0.0.1:${APORT[ex3]}=${AFP[ex3]}"
check_fails fleet/add-twice 1 'ex1.*already|already.*ex1' \
	cf fleet add ex1 "127.0.0.1:${APORT[ex1]}" --fingerprint "${AFP[ex1]}"
check_fails fleet/unknown-name 2 'nosuch' cf get --server nosuch

# ---- before the transfer: ex2 has its host certificate -------------------

check article/ex2/get-before cf get --server ex2 --json
host2=$(jq -r '.Items | map(select(.Subject == "CN=ex2")) | length' "$OUT" 2>/dev/null)
expect_eq article/ex2/one-host-certificate "$host2" 1
expect_eq article/ex2/host-certificate \
	"$(jq -r '.Items[] | select(.Subject == "CN=ex2") | [.Issuer, (.IsSelfSigned | tostring),
	    (.Services | sort | join(",")), (.PrivateKeyExportable | tostring),
	    (.HasPrivateKey | tostring), .Status, (.CertificateDomains[0] // "")] | join(" ")' "$OUT")" \
	"CN=ex2 true https,imap,pop,smtp false true Valid ex2"
expect_eq article/ex2/no-mail-certificate-yet \
	"$(jq -r --arg t "$TP" '.Items | map(select(.Thumbprint == $t)) | length' "$OUT")" 0
HOST2=$(jq -r '.Items[] | select(.Subject == "CN=ex2") | .Thumbprint' "$OUT")
# The host certificate is valid for 5 years (1826 days from init).
na=$(jq -r '.Items[] | select(.Subject == "CN=ex2") | .NotAfter' "$OUT")
days=$((($(date -d "$na" +%s) - $(date +%s) + 43200) / 86400))
expect_eq article/ex2/host-certificate-5-years "$([ "$days" -ge 1825 ] && [ "$days" -le 1827 ] && echo yes || echo "$days days")" yes
check_fails article/ex2/host-certificate-not-exportable 1 'ex2.*not exportable' \
	cf export "$HOST2" --server ex2 --binary -o "$T/host2.pfx" --password-file "$PW"
expect_eq article/ex2/host-certificate-no-file "$([ -e "$T/host2.pfx" ] && echo written || echo none)" none

# ---- ex1: import, trust, enable -----------------------------------------

check article/ex1/import cf import "$P/leaf.pem" "$P/leaf.key" "$P/int.pem" --server ex1 --exportable
expect_eq article/ex1/untrusted-without-root "$(jf ex1 "$TP" Status)" Untrusted
check article/ex1/import-root cf import "$P/root.pem" --server ex1
expect_eq article/ex1/valid-with-root "$(jf ex1 "$TP" Status)" Valid
expect_eq article/ex1/root-is-its-own-certificate "$(jf ex1 "$TP_ROOT" IsSelfSigned)" true
expect_eq article/ex1/exportable "$(jf ex1 "$TP" PrivateKeyExportable)/$(jf ex1 "$TP" HasPrivateKey)" true/true
expect_eq article/ex1/domains "$(jf ex1 "$TP" CertificateDomains)" \
	"mail.example.com,mail,autodiscover.example.com"

before=$(view ex1)
check_fails article/ex1/enable-without-force 1 'ex1.*(--force|force)' \
	cf enable "$TP" --server ex1 --services IIS,SMTP,IMAP,POP
expect_eq article/ex1/enable-without-force-unchanged "$(view ex1)" "$before"
check article/ex1/enable cf enable "$TP" --server ex1 --services IIS,SMTP,IMAP,POP --force
expect_eq article/ex1/services "$(jf ex1 "$TP" Services)" https,imap,pop,smtp
HOST1=$(cf get --server ex1 --json | jq -r '.Items[] | select(.Subject == "CN=ex1") | .Thumbprint')
expect_eq article/ex1/host-certificate-lost-services "$(jf ex1 "$HOST1" Services)" ""

check article/ex1/get cf get --server ex1
row=$(awk -v t="${TP:0:8}" '$1 == t {print $1, $2, $3}' "$OUT")
expect_eq article/ex1/get-shows-valid "$row" "${TP:0:8} https,imap,pop,smtp Valid"
check_fails article/ex1/get-unknown-thumbprint 1 'ex1' cf get 0123456789ABCDEF --server ex1

# ---- export --binary from ex1 -------------------------------------------

check_fails article/ex1/export-unknown 1 'ex1.*0123456789' \
	cf export 0123456789ABCDEF --server ex1 --binary -o "$T/none.pfx" --password-file "$PW"
expect_eq article/ex1/export-unknown-no-file "$([ -e "$T/none.pfx" ] && echo written || echo none)" none
PFX=$T/mail.pfx
check article/ex1/export cf export "$TP" --server ex1 --binary -o "$PFX" --password-file "$PW"
expect_eq article/ex1/export-file-0600 "$(stat -c %a "$PFX" 2>/dev/null)" 600
if openssl pkcs12 -in "$PFX" -passin "file:$PW" -nodes -out "$T/mail.pem" 2>/dev/null; then
	pass article/ex1/export-opens-with-password
else
	fail article/ex1/export-opens-with-password "openssl pkcs12 could not read it"
fi
if openssl pkcs12 -in "$PFX" -passin "file:$WRONGPW" -nodes -out /dev/null 2>/dev/null; then
	fail article/ex1/export-refuses-wrong-password "openssl pkcs12 read it with a wrong password"
else
	pass article/ex1/export-refuses-wrong-password
fi
expect_eq article/ex1/export-has-the-key \
	"$(openssl pkey -in "$T/mail.pem" -pubout 2>/dev/null | sha256sum)" \
	"$(openssl pkey -in "$P/leaf.key" -pubout | sha256sum)"
expect_eq article/ex1/export-has-leaf-and-chain \
	"$(openssl crl2pkcs7 -nocrl -certfile "$T/mail.pem" 2>/dev/null |
		openssl pkcs7 -print_certs -noout 2>/dev/null | grep -c '^subject=')" 3

# ---- import and enable on ex2 -------------------------------------------

before=$(view ex2)
check_fails article/ex2/import-wrong-password 1 'ex2.*password|password.*ex2' \
	cf import "$PFX" --server ex2 --exportable --password-file "$WRONGPW"
expect_eq article/ex2/import-wrong-password-unchanged "$(view ex2)" "$before"
check article/ex2/import cf import "$PFX" --server ex2 --exportable --password-file "$PW"
expect_eq article/ex2/exportable "$(jf ex2 "$TP" PrivateKeyExportable)" true
# The PKCS#12 carries the root, but a root that arrives as the chain of
# another certificate is not trusted for that: Untrusted until the root is
# a certificate of its own on ex2 too (or in the system trust store).
expect_eq article/ex2/untrusted-until-root "$(jf ex2 "$TP" Status)" Untrusted
check article/ex2/import-root cf import "$P/root.pem" --server ex2
expect_eq article/ex2/valid "$(jf ex2 "$TP" Status)" Valid
expect_eq article/ex2/no-services-yet "$(jf ex2 "$TP" Services)" ""
check_fails article/ex2/enable-without-force 1 'ex2.*(--force|force)' \
	cf enable "$TP" --server ex2 --services https,smtp,imap,pop
check article/ex2/enable cf enable "$TP" --server ex2 --services https,smtp,imap,pop --force
expect_eq article/ex2/host-certificate-lost-services "$(jf ex2 "$HOST2" Services)" ""

# ---- the same certificate on both ----------------------------------------

check article/get-ex1-ex2 cf get --server ex1,ex2 --fields Server,Thumbprint,Status,Services,PrivateKeyExportable
expect_eq article/get-ex1-ex2/header "$(head -n 1 "$OUT" | tr -s ' ' | sed 's/ $//')" \
	"Server Thumbprint Status Services PrivateKeyExportable"
rows=$(awk -v t="$TP" '$2 == t {print $1, $3, $4, $5}' "$OUT" | sort)
expect_eq article/get-ex1-ex2/same-certificate "$rows" \
	"ex1 Valid https,imap,pop,smtp True
ex2 Valid https,imap,pop,smtp True"
hosts=$(awk -v a="$HOST1" -v b="$HOST2" '$2 == a || $2 == b {print $1, $4, $5}' "$OUT" | sort)
expect_eq article/get-ex1-ex2/host-certificates-idle "$hosts" "ex1 None False
ex2 None False"
check article/get-ex1-ex2/json cf get --server ex1,ex2 --json
expect_eq article/get-ex1-ex2/json-same-certificate \
	"$(jq -r --arg t "$TP" '[.Items[] | select(.Thumbprint == $t) | [.Server, .Status,
	    (.Services | join(",")), (.PrivateKeyExportable | tostring)] | join(" ")] | sort | join("; ")' "$OUT")" \
	"ex1 Valid https,imap,pop,smtp true; ex2 Valid https,imap,pop,smtp true"
expect_eq article/get-ex1-ex2/json-every-row-has-server \
	"$(jq -r '[.Items[] | .Server] | unique | join(",")' "$OUT")" ex1,ex2
check_fails article/get-ex1-nosuch 2 'nosuch' cf get --server ex1,nosuch

# ---- the failure: ex3 without --exportable -------------------------------

check article/ex3/import cf import "$PFX" "$P/root.pem" --server ex3 --password-file "$PW"
expect_eq article/ex3/valid "$(jf ex3 "$TP" Status)" Valid
expect_eq article/ex3/not-exportable "$(jf ex3 "$TP" PrivateKeyExportable)/$(jf ex3 "$TP" HasPrivateKey)" false/true
check article/ex3/enable cf enable "$TP" --server ex3 --services https,smtp,imap,pop --force
before=$(view ex3)
before_audit=$(audit_count ex3)
snap_before=$(store_snapshot "$T/ex3/store")
OUT3=$T/ex3.pfx
check_fails article/ex3/export-refused 1 "^certfleet: ex3: .*not exportable" \
	cf export "$TP" --server ex3 --binary -o "$OUT3" --password-file "$PW"
expect_eq article/ex3/export-refused-no-stdout "$(wc -c <"$OUT")" 0
expect_eq article/ex3/export-refused-no-file "$([ -e "$OUT3" ] && echo written || echo none)" none
expect_eq article/ex3/export-refused-unchanged "$(view ex3)" "$before"
expect_eq article/ex3/export-refused-store-unchanged "$(store_snapshot "$T/ex3/store")" "$snap_before"
check_fails article/ex3/export-pem-refused 1 "ex3.*not exportable" \
	cf export "$TP" --server ex3 --pem -o "$OUT3" --password-file "$PW"
check article/ex3/export-without-key cf export "$TP" --server ex3 --no-key --pem -o "$T/ex3-cert.pem"
expect_eq article/ex3/export-without-key-is-the-cert "$(thumb "$T/ex3-cert.pem" 2>/dev/null)" "$TP"
check article/ex3/log cf log --server ex3 --json
expect_eq article/ex3/refusal-audited \
	"$(jq -r --arg t "$TP" --arg a "tls:$ID_FP" '[.Items[] | select(.Operation == "export" and .Thumbprint == $t
	    and (.Actor | startswith($a))) | .Outcome | test("^(failed|refused).*not exportable")] | first' "$OUT")" \
	true
# Two refused exports and one without the key: three records.
expect_eq article/ex3/exports-audited "$(($(audit_count ex3) - before_audit))" 3
# ex2 took the key exportable: there the same export works.
check article/ex2/export cf export "$TP" --server ex2 --binary -o "$T/ex2.pfx" --password-file "$PW"

# ---- the audit trail -----------------------------------------------------

check log/ex1 cf log --server ex1
# The table shows the actor's fingerprint and the thumbprint short.
if grep -qE "tls:${ID_FP:7:8} .* export +${TP:0:8} " "$OUT"; then
	pass log/ex1/table-has-export-by-us
else
	fail log/ex1/table-has-export-by-us "no export row by tls:${ID_FP:7:8}" "$(tail -n 5 "$OUT")"
fi
check log/ex1/json cf log --server ex1 --json
for op in import enable export; do
	expect_eq "log/ex1/$op-by-us" \
		"$(jq -r --arg t "$TP" --arg a "tls:$ID_FP" --arg o "$op" \
			'[.Items[] | select(.Operation == $o and .Thumbprint == $t and (.Actor | startswith($a))
			    and (.Outcome | test("^(failed|refused)") | not))] | length > 0' "$OUT")" true
done
expect_eq log/ex1/failed-enable-audited \
	"$(jq -r --arg t "$TP" '[.Items[] | select(.Operation == "enable" and .Thumbprint == $t)
	    | .Outcome | test("^failed")] | any' "$OUT")" true
expect_eq log/ex1/actor-hint "$(jq -r --arg a "tls:$ID_FP (" '[.Items[] | .Actor | startswith($a)] | any' "$OUT")" true
expect_eq log/ex1/init-by-certfleetd "$(jq -r '.Items[0].Actor + " " + .Items[0].Operation' "$OUT")" \
	"certfleetd init new-self-signed"
run cf log --server ex2 --json
expect_eq log/ex2/one-export \
	"$(jq -r --arg t "$TP" '[.Items[] | select(.Operation == "export" and .Thumbprint == $t)] | length' "$OUT")" 1
check log/ex1-ex2 cf log --server ex1,ex2
expect_eq log/ex1-ex2/server-column "$(head -n 1 "$OUT" | awk '{print $1}')" Server
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
check log/since-future cf log --server ex1 --since "$FUTURE" --json
expect_eq log/since-future-empty "$(jq '.Items | length' "$OUT")" 0

# ---- --server all --------------------------------------------------------

check server-all cf get --server all --fields Server,Thumbprint,Status,Services
expect_eq server-all/mail-on-every-agent \
	"$(awk -v t="$TP" '$2 == t {print $1 "=" $3 "=" $4}' "$OUT" | sort | paste -sd' ')" \
	"ex1=Valid=https,imap,pop,smtp ex2=Valid=https,imap,pop,smtp ex3=Valid=https,imap,pop,smtp"
check server-all/json cf get --server all --json
expect_eq server-all/json-servers "$(jq -r '[.Items[] | .Server] | unique | join(",")' "$OUT")" ex1,ex2,ex3
# One agent down: the others still answer, the exit status is 1, the
# error names the one that failed.
kill -STOP "${APID[ex3]}"
CERTFLEET_TIMEOUT=3 run cf get --server all --fields Server,Thumbprint
kill -CONT "${APID[ex3]}"
expect_eq server-all/one-silent-exit-1 "$RC" 1
if grep -q 'ex3' "$ERR" && awk -v t="$TP" '$2 == t {print $1}' "$OUT" | sort | paste -sd, - | grep -qx 'ex1,ex2'; then
	pass server-all/one-silent-others-answer
else
	fail server-all/one-silent-others-answer "stdout/stderr:" "$(cat "$OUT" "$ERR")"
fi

# ---- the stores on disk hold what the agents showed -----------------------

declare -A LASTVIEW=() LASTAUDIT=()
for n in ex1 ex2 ex3; do
	LASTVIEW[$n]=$(cf get --server "$n" --json | jq -r '[.Items[].Thumbprint] | sort | join(",")')
	LASTAUDIT[$n]=$(audit_count "$n")
done
for n in ex1 ex2 ex3; do
	agent_stop "$n"
done
for n in ex1 ex2 ex3; do
	db=$T/$n/store/store.db
	expect_eq "disk/$n/integrity" "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok
	expect_eq "disk/$n/certificates" \
		"$(sqlite3 "$db" 'SELECT thumbprint FROM certificates ORDER BY thumbprint' | paste -sd, -)" \
		"${LASTVIEW[$n]}"
	expect_eq "disk/$n/audit-records" "$(sqlite3 "$db" 'SELECT count(*) FROM audit')" "${LASTAUDIT[$n]}"
done
check_fails after-stop/refused 1 'ex1.*(connect|refused)' cf get --server ex1

e2e_done
