#!/usr/bin/env bash
# backup.sh - certfleetd backup and restore, end to end.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/backup.sh
#
# An agent ex1 on loopback with an exportable and a non-exportable
# certificate, services assigned, a client authorized.  While a loop
# imports new certificates through its Unix socket, `certfleetd backup`
# runs twice: with the master key (under a passphrase) and without.  Then
# the state is destroyed and restored, and everything committed before the
# backup started is back (get --json, services, log), nothing is there
# that the agent never had, the identity is the same (pins hold), the
# exportable key exports and the other still refuses.  Refusals beside
# each: a running agent, a non-empty state, a wrong passphrase, no
# passphrase, a backup without the master key and no --master-key, an
# altered file, another master key; each leaves nothing behind.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
export CF_TIMEOUT=60
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET
export CERTFLEET_HOME=$T/home
if [ ! -x "$CERTFLEETD" ]; then
	fail "$E2E_NAME: certfleetd binary" "not found at $CERTFLEETD (run make)"
	exit 1
fi
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	exit 1
}
pwfile "$T/pass" 'a passphrase for the backup'
pwfile "$T/wrong" 'not the passphrase'
pwfile "$T/p12pw" 'export password'

agent_conf ex1
S=$T/ex1
export CERTFLEET_SOCKET=$SOCKDIR/ex1.sock
check init cfd init --config "$T/ex1.conf"
FP0=$(cfd fingerprint --config "$T/ex1.conf")
agent_start ex1 || exit 1

# ---- what the backup must carry ------------------------------------------

check setup/import-exportable cf import "$P/leaf.pem" "$P/leaf.key" "$P/int.pem" --exportable
check setup/import-sealed cf import "$P/ec.pem" "$P/ec.key"
check setup/import-root cf import "$P/root.pem"
TLEAF=$(thumb "$P/leaf.pem")
TEC=$(thumb "$P/ec.pem")
check setup/enable cf enable "$TLEAF" --services https,smtp --force
check setup/enable-sealed cf enable "$TEC" --services imap --force
check setup/authorize cfd authorize "SHA256:$(printf '%064X' 42)" --role reader --config "$T/ex1.conf"

# view - certificates as thumbprint, services, exportable, has-key; sorted.
view() {
	cf get --json 2>/dev/null | jq -r '.Items[] | [.Thumbprint,
	    (.Services | join(",")), (.PrivateKeyExportable | tostring),
	    (.HasPrivateKey | tostring)] | join(" ")' | sort
}
services() {
	cf services --json 2>/dev/null | jq -r '.Items[] | [.Service, (.Assigned // "")] | join(" ")' | sort
}
# auditlog [--store DIR] - the audit trail, one record a line.
auditlog() {
	cf "$@" log --json 2>/dev/null | jq -r '.Items[] | [.Time, .Actor, .Operation, .Thumbprint, .Outcome] | map(tostring) | join("|")'
}
view >"$T/view.before"
services >"$T/services.before"
auditlog >"$T/log.before"
[ -s "$T/view.before" ] && [ -s "$T/log.before" ] && [ -s "$T/services.before" ]
expect_eq setup/views-read "$?" 0

# ---- backups under load ----------------------------------------------------

# The load: new self-signed certificates through the socket until told
# to stop; each is a committed transaction with its audit record.
(
	i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		cf new --self-signed --subject "CN=load$i.example.com" --key p256 >/dev/null 2>&1
	done
) &
LOAD=$!
for _ in $(seq 100); do # bounded: until the load has committed something
	[ "$(view | wc -l)" -gt "$(wc -l <"$T/view.before")" ] && break
	sleep 0.1
done
CERTFLEET_PASSWORD='a passphrase for the backup' \
	check backup/with-master-key cfd backup --config "$T/ex1.conf" -o "$T/full.cfb" --with-master-key
check backup/without-master-key cfd backup --config "$T/ex1.conf" -o "$T/plain.cfb"
check_fails backup/no-output 2 '-o FILE' cfd backup --config "$T/ex1.conf"
check_fails backup/no-passphrase 1 'needs a passphrase' cfd backup --config "$T/ex1.conf" -o "$T/nopw.cfb" --with-master-key
[ ! -e "$T/nopw.cfb" ]
expect_eq backup/no-passphrase/no-file "$?" 0
touch "$T/stop"
wait "$LOAD"
view >"$T/view.after"
auditlog >"$T/log.after"
[ "$(wc -l <"$T/view.after")" -gt "$(wc -l <"$T/view.before")" ]
expect_eq backup/load-ran "$?" 0
mode=$(stat -c %a "$T/full.cfb")
expect_eq backup/mode-0600 "$mode" 600
if grep -qa 'PRIVATE KEY' "$T/full.cfb" "$T/plain.cfb"; then
	fail backup/no-plain-key "a PEM private key appears in a backup file"
else
	pass backup/no-plain-key
fi

# ---- refusals while the agent runs or its state is there ------------------

check_fails restore/running-agent 1 'answers on' \
	cfd restore "$T/full.cfb" --config "$T/ex1.conf" --password-file "$T/pass"
agent_stop ex1
check_fails restore/state-not-empty 1 'not empty' \
	cfd restore "$T/full.cfb" --config "$T/ex1.conf" --password-file "$T/pass"
rm -rf "$S"

nothing_written() {
	if [ -e "$S" ]; then
		fail "$1/nothing-written" "$S exists: $(find "$S" | head -5 | tr '\n' ' ')"
	else
		pass "$1/nothing-written"
	fi
}
check_fails restore/wrong-passphrase 1 'passphrase does not open' \
	cfd restore "$T/full.cfb" --config "$T/ex1.conf" --password-file "$T/wrong"
nothing_written restore/wrong-passphrase
check_fails restore/no-passphrase 1 'under a passphrase' \
	cfd restore "$T/full.cfb" --config "$T/ex1.conf"
nothing_written restore/no-passphrase
check_fails restore/no-master-key 1 'without --with-master-key.*--master-key' \
	cfd restore "$T/plain.cfb" --config "$T/ex1.conf"
nothing_written restore/no-master-key
head -c 32 /dev/urandom >"$T/other.key"
chmod 600 "$T/other.key"
check_fails restore/other-master-key 1 'not the one this backup was made under' \
	cfd restore "$T/plain.cfb" --config "$T/ex1.conf" --master-key "$T/other.key"
nothing_written restore/other-master-key
cp "$T/full.cfb" "$T/altered.cfb"
size=$(stat -c %s "$T/altered.cfb")
printf 'X' | dd of="$T/altered.cfb" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
check_fails restore/altered 1 'altered' \
	cfd restore "$T/altered.cfb" --config "$T/ex1.conf" --password-file "$T/pass"
nothing_written restore/altered
printf 'not a backup' >"$T/junk.cfb"
check_fails restore/not-a-backup 1 'not a certfleetd backup' \
	cfd restore "$T/junk.cfb" --config "$T/ex1.conf" --password-file "$T/pass"
nothing_written restore/not-a-backup

# ---- the restore -----------------------------------------------------------

check restore/with-passphrase cfd restore "$T/full.cfb" --config "$T/ex1.conf" --password-file "$T/pass"
expect_eq restore/same-identity "$(cfd fingerprint --config "$T/ex1.conf")" "$FP0"
# The trail as restored, before the agent adds its own records.
auditlog --store "$S/store" >"$T/log.restored"
agent_start ex1 || exit 1
view >"$T/view.restored"
services >"$T/services.restored"

# Everything committed before the backup started is back...
missing=$(comm -23 "$T/view.before" "$T/view.restored")
expect_eq restore/certificates-before-are-back "$missing" ""
expect_eq restore/services-are-back "$(cat "$T/services.restored")" "$(cat "$T/services.before")"
missing=$(comm -23 <(sort "$T/log.before") <(sort "$T/log.restored"))
expect_eq restore/audit-before-is-back "$missing" ""
# ...and nothing the agent never had (the snapshot is one of its states).
extra=$(comm -13 "$T/view.after" "$T/view.restored")
expect_eq restore/no-certificate-from-nowhere "$extra" ""
extra=$(comm -13 <(sort "$T/log.after") <(sort "$T/log.restored") | grep -v '|restore|')
expect_eq restore/no-audit-from-nowhere "$extra" ""
# One state: every load certificate in the snapshot has its audit record.
certs=$(grep -c . "$T/view.restored")
imports=$(grep -c '|new-self-signed|' "$T/log.restored")
loaded=$(($(grep -c . "$T/view.restored") - $(grep -c . "$T/view.before")))
loadaudit=$((imports - $(grep -c '|new-self-signed|' "$T/log.before")))
expect_eq restore/snapshot-consistent "$loaded" "$loadaudit"
[ "$certs" -gt 0 ]
expect_eq restore/has-certificates "$?" 0
grep -q '|restore|' "$T/log.restored"
expect_eq restore/audited "$?" 0

check restore/clients-back cfd clients --config "$T/ex1.conf" --json
expect_eq restore/client-role "$(jq -r '.Items[0].Role' "$OUT")" reader

# Keys: the exportable one exports (so the master key opens it); the
# sealed one still refuses.
check restore/export-exportable cf export "$TLEAF" -o "$T/leaf.pfx" --password-file "$T/p12pw"
check_fails restore/export-not-exportable 1 'not exportable' \
	cf export "$TEC" -o "$T/ec.pfx" --password-file "$T/p12pw"
[ ! -e "$T/ec.pfx" ]
expect_eq restore/export-not-exportable/no-file "$?" 0
agent_stop ex1

# The backup without the master key, with the key file given.
cp "$S/store/master.key" "$T/master.key"
rm -rf "$S"
check restore/with-master-key-file cfd restore "$T/plain.cfb" --config "$T/ex1.conf" --master-key "$T/master.key"
run "$CERTFLEET" --store "$S/store" export "$TLEAF" -o "$T/leaf2.pfx" --password-file "$T/p12pw"
expect_eq restore/with-master-key-file/key-opens "$RC" 0
e2e_done
