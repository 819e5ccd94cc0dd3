#!/usr/bin/env bash
# agent-auth.sh - who may use a running agent, and what a refusal leaves.
#
#   CERTFLEET=$PWD/build/certfleet CERTFLEETD=$PWD/build/certfleetd \
#       bash tests/e2e/agent-auth.sh
#
# One agent, au1, on 127.0.0.1 (listen = 127.0.0.1:0; the port from its
# "listening on" line) with its Unix socket; three client identities, each
# in a $CERTFLEET_HOME of its own: admin, reader and stranger (never
# authorized).  Refused, each beside a case that is let in:
#   - no client certificate (curl, openssl s_client, TLS 1.3 and 1.2):
#     the handshake fails, no HTTP answer;
#   - an unknown certificate: 403 {"code":"denied"} and nothing else; the
#     CLI says it is not authorized, naming the agent and the fingerprint;
#   - a reader that imports, exports, enables or removes (get and log it
#     may); a revoked reader;
#   - an agent whose fingerprint changed (a fleet entry pinned to another
#     fingerprint; the agent's identity made again by init): a hard error
#     naming both fingerprints, and nothing sent (the agent records nothing);
#   - the Unix socket: root is admin with no --server; uid 65534 is refused
#     by the file mode, and, once the socket is made world-writable, by the
#     agent (peer credentials).
# After each refusal: the store unchanged (store_snapshot of the store on
# disk, and the agent's own answer to `get --json` as admin) and one audit
# record, read back as admin with `log --json`, whose outcome starts with
# "refused" and whose actor names the client.
#
# The store on disk is also checked against what the agent says: another
# process (certfleetd authorize, revoke, sqlite3) using the store while the
# agent runs must not take the agent's -wal file away, must see the agent's
# changes, and after the agent stops every record the agent showed (and
# every one `certfleetd authorize` and `revoke` wrote) must be on disk.
#
# Output: one "PASS name" or "FAIL name: detail" line per check; exit 1
# when anything failed.
# shellcheck source-path=SCRIPTDIR
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
require_certfleet
: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
export CF_TIMEOUT=60 # every client call; a hang fails instead of blocking
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG \
	NOTIFY_SOCKET CERTFLEET_HOME

if [ ! -x "$CERTFLEETD" ]; then
	fail "$E2E_NAME: certfleetd binary" "not found at $CERTFLEETD (run make)"
	exit 1
fi

# ---- the agent (as in agent.sh) ------------------------------------------

# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"

# ---- clients -------------------------------------------------------------

# as WHO CMD... - CMD with CERTFLEET_HOME=$T/WHO.
as() {
	local who=$1
	shift
	CERTFLEET_HOME=$T/$who "$@"
}

# The agent's own view, as admin: certificates and services, exportable.
view() {
	as admin cf get --server au1 --json </dev/null 2>/dev/null |
		jq -r '.Items[] | [.Thumbprint, (.Services | join(",")),
		    (.PrivateKeyExportable | tostring)] | join(" ")' | sort
}

# The audit, as admin: the number of records; the records from index N
# (an array).
audit_count() {
	as admin cf log --server au1 --json </dev/null 2>/dev/null | jq '.Items | length'
}
audit_from() {
	as admin cf log --server au1 --json </dev/null 2>/dev/null | jq -c --argjson n "$1" '.Items[$n:]'
}

# What must not change: the store on disk and the agent's view of it.
state_now() {
	store_snapshot "$STORE"
	echo "-- the agent's view:"
	view
}

# refusal_begin - remembers the state and the audit length.
refusal_begin() {
	R_STATE=$(state_now)
	R_AUDIT=$(audit_count)
}

# refusal_end NAME ACTOR_PREFIX N OUTCOME_REGEX - the state unchanged,
# and exactly N new audit records, each by ACTOR_PREFIX with an outcome
# matching OUTCOME_REGEX.  Audits of refused handshakes are written by a
# worker after the connection is gone: waits for them up to 5 s.
refusal_end() {
	local name=$1 actor=$2 want=$3 re=$4 recs got
	expect_eq "$name/store-unchanged" "$(state_now)" "$R_STATE"
	for _ in $(seq 50); do
		recs=$(audit_from "$R_AUDIT")
		got=$(printf '%s' "$recs" | jq 'length')
		[ "$got" -ge "$want" ] && break
		sleep 0.1
	done
	got=$(printf '%s' "$recs" | jq -r --arg a "$actor" --arg re "$re" \
		'[.[] | select((.Actor | startswith($a)) and (.Outcome | test($re)))] | length')
	if [ "$got" = "$want" ] && [ "$(printf '%s' "$recs" | jq 'length')" = "$want" ]; then
		pass "$name/audited"
	else
		fail "$name/audited" "expected $want record(s) by $actor matching /$re/, got:" \
			"$(printf '%s' "$recs" | jq -c '.[]')"
	fi
}

P=$T/pki
make_pki "$P" || {
	fail pki "make_pki failed"
	exit 1
}
TP=$(thumb "$P/leaf.pem")
TP_EC=$(thumb "$P/ec.pem")
PW=$T/export.pw
pwfile "$PW" 'Auth-Test#pw'

declare -A IDFP=()
for who in admin reader stranger; do
	check "id/$who" as "$who" cf id
	IDFP[$who]=$(head -n 1 "$OUT")
done

agent_conf au1
check init/au1 cfd init --config "$T/au1.conf"
OLD_FP=$(cfd fingerprint --config "$T/au1.conf")
STORE=$T/au1/store
check authorize/admin cfd authorize "${IDFP[admin]}" --role admin --config "$T/au1.conf"
agent_start au1 || {
	fail run/au1 "the agent did not start; giving up"
	e2e_done
}
PORT=${APORT[au1]}
URL=https://127.0.0.1:$PORT
for who in admin reader stranger; do
	check "fleet/add/$who" as "$who" cf fleet add au1 "127.0.0.1:$PORT" --fingerprint "$OLD_FP"
done
# The chain first: a certificate whose chain reaches no root cannot serve.
check setup/import-chain as admin cf import "$P/int.pem" "$P/root.pem" --server au1
check setup/import as admin cf import "$P/leaf.pem" "$P/leaf.key" \
	--server au1 --exportable --services https,smtp --force
expect_eq setup/imported "$(view | grep "^$TP ")" "$TP https,smtp true"

# ---- the store on disk while the agent runs -------------------------------

# `certfleetd authorize` is another process writing the store the agent
# has open; then sqlite3 reads it.  SQLite's -wal file must stay (the agent
# holds it open), and a change the agent makes must be on disk for others.
check authorize/reader-while-running cfd authorize "${IDFP[reader]}" --role reader --config "$T/au1.conf"
if [ -e "$STORE/store.db-wal" ]; then
	pass disk/wal-kept-after-authorize
else
	fail disk/wal-kept-after-authorize "$STORE/store.db-wal is gone while the agent runs" \
		"(another process checkpointed and deleted it: the agent's process held no lock on store.db)"
fi
check disk/agent-change as admin cf import "$P/ec.pem" --server au1
expect_eq disk/agent-change-visible-to-others \
	"$(sqlite3 "$STORE/store.db" "SELECT count(*) FROM certificates WHERE thumbprint = '$TP_EC'")" 1
expect_eq disk/agent-audit-visible-to-others \
	"$(sqlite3 "$STORE/store.db" 'SELECT count(*) FROM audit')" "$(audit_count)"

# ---- no client certificate -------------------------------------------------

expect_eq handshake/admin-cert-accepted "$(as admin timeout 20 curl -sS -k \
	--cert "$T/admin/id.crt" --key "$T/admin/id.key" -o /dev/null -w '%{http_code}' "$URL/v1/certificates")" 200
refusal_begin
run timeout 20 curl -sS -k -o "$T/body" -w '%{http_code}' "$URL/v1/certificates"
if [ "$RC" -ne 0 ] && [ "$(cat "$OUT")" = 000 ] && [ ! -s "$T/body" ]; then
	pass handshake/no-cert-curl-refused
else
	fail handshake/no-cert-curl-refused "curl exit $RC, HTTP $(cat "$OUT"), body: $(head -c 200 "$T/body")"
fi
req=$'GET /v1/certificates HTTP/1.1\r\nHost: au1\r\nConnection: close\r\n\r\n'
printf '%s' "$req" | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -quiet \
	>"$OUT" 2>"$ERR"
if grep -q 'alert certificate required' "$ERR" && ! grep -q 'HTTP/' "$OUT"; then
	pass handshake/no-cert-tls1.3-certificate-required
else
	fail handshake/no-cert-tls1.3-certificate-required "stdout/stderr:" "$(cat "$OUT" "$ERR" | head -5)"
fi
printf '%s' "$req" | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -quiet \
	>"$OUT" 2>"$ERR"
if grep -q 'alert handshake failure' "$ERR" && ! grep -q 'HTTP/' "$OUT"; then
	pass handshake/no-cert-tls1.2-handshake-failure
else
	fail handshake/no-cert-tls1.2-handshake-failure "stdout/stderr:" "$(cat "$OUT" "$ERR" | head -5)"
fi
# Three refusals from one address and actor within a minute: one record,
# the others counted into it (the agent coalesces refusals).
refusal_end handshake/no-cert tls:no-certificate 1 '^refused: no client certificate'

# TLS 1.2 and 1.3 only, even with an authorized certificate.
if timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
	-cert "$T/admin/id.crt" -key "$T/admin/id.key" </dev/null >"$OUT" 2>&1; then
	fail handshake/tls1.1-refused "the handshake succeeded"
else
	pass handshake/tls1.1-refused
fi
expect_eq handshake/tls1.2-accepted "$(timeout 20 curl -sS -k --tlsv1.2 --tls-max 1.2 \
	--cert "$T/admin/id.crt" --key "$T/admin/id.key" -o /dev/null -w '%{http_code}' "$URL/v1/whoami")" 200

# ---- an unknown certificate ------------------------------------------------

refusal_begin
check_fails unknown/get-refused 1 "au1.*${IDFP[stranger]}.*not authorized|not authorized.*au1" \
	as stranger cf get --server au1
check_fails unknown/import-refused 1 'au1.*not authorized' \
	as stranger cf import "$P/ec.pem" --server au1
run timeout 20 curl -sS -k --cert "$T/stranger/id.crt" --key "$T/stranger/id.key" \
	-o "$T/body" -w '%{http_code}' "$URL/v1/certificates"
expect_eq unknown/curl-403 "$(cat "$OUT")" 403
expect_eq unknown/curl-denied-and-nothing-else "$(jq -r '(keys | join(",")) + " " + .code' "$T/body" 2>/dev/null)" \
	"code,message denied"
if grep -q "$TP" "$T/body"; then
	fail unknown/curl-no-data "the refusal carries a thumbprint of the store"
else
	pass unknown/curl-no-data
fi
# Three refusals of one certificate (with or without the CLI's actor
# header): one record, under one actor.
refusal_end unknown "tls:${IDFP[stranger]}" 1 '^refused: not authorized'
check unknown/admin-still-lets-in as admin cf get --server au1

# ---- a reader ---------------------------------------------------------------

check reader/get as reader cf get --server au1 --json
expect_eq reader/get-lists "$(jq -r --arg t "$TP" '[.Items[] | select(.Thumbprint == $t)] | length' "$OUT")" 1
check reader/log as reader cf log --server au1
expect_eq reader/whoami "$(timeout 20 curl -sS -k --cert "$T/reader/id.crt" --key "$T/reader/id.key" \
	"$URL/v1/whoami" | jq -r '.role + " " + .client')" "reader ${IDFP[reader]}"
refusal_begin
check_fails reader/import-refused 1 '^certfleet: au1: .*reader.*(may not|denied|admin)' \
	as reader cf import "$P/ec.pem" "$P/leaf.pem" "$P/leaf.key" --server au1 --exportable
check_fails reader/export-refused 1 '^certfleet: au1: .*reader.*(may not|denied|admin)' \
	as reader cf export "$TP" --server au1 --binary -o "$T/reader.pfx" --password-file "$PW"
expect_eq reader/export-refused-no-file "$([ -e "$T/reader.pfx" ] && echo written || echo none)" none
check_fails reader/enable-refused 1 'au1.*reader' \
	as reader cf enable "$TP" --server au1 --services imap,pop
check_fails reader/remove-refused 1 'au1.*reader' \
	as reader cf remove "$TP" --server au1 --force
# The API itself: 403 {"code":"denied"} for a reader's POST.
run timeout 20 curl -sS -k --cert "$T/reader/id.crt" --key "$T/reader/id.key" -o "$T/body" \
	-w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"thumbprint\":\"$TP\",\"format\":\"pem\",\"password\":\"x\"}" "$URL/v1/export"
expect_eq reader/api-export-403 "$(cat "$OUT") $(jq -r .code "$T/body" 2>/dev/null)" "403 denied"
if grep -q 'PRIVATE KEY\|"data"' "$T/body"; then
	fail reader/api-export-no-data "the refusal carries data"
else
	pass reader/api-export-no-data
fi
refusal_end reader "tls:${IDFP[reader]}" 5 '^refused: .*reader'
# The admin may do what the reader may not.
check reader/admin-may-export as admin cf export "$TP" --server au1 --binary -o "$T/admin.pfx" --password-file "$PW"

# Revoked while the agent runs: the next request is refused.
check revoke/reader cfd revoke "${IDFP[reader]}" --config "$T/au1.conf"
check_fails revoke/not-authorized 1 'not an authorized client' \
	cfd revoke "${IDFP[reader]}" --config "$T/au1.conf"
refusal_begin
check_fails revoke/reader-refused 1 'au1.*not authorized' as reader cf get --server au1
refusal_end revoke "tls:${IDFP[reader]}" 1 '^refused: not authorized'

# ---- an agent whose fingerprint changed -------------------------------------

# A fleet entry pinned to another fingerprint (the stranger's identity
# stands in for an impostor agent's): nothing is sent, the agent records
# nothing, the error names both fingerprints.
WRONG=${IDFP[stranger]}
check pin/add-wrong as admin cf fleet add au1-wrong "127.0.0.1:$PORT" --fingerprint "$WRONG"
refusal_begin
check_fails pin/wrong-get-refused 1 "au1-wrong|127\.0\.0\.1:$PORT" as admin cf get --server au1-wrong
if grep -q "$OLD_FP" "$ERR" && grep -q "$WRONG" "$ERR"; then
	pass pin/wrong-names-both-fingerprints
else
	fail pin/wrong-names-both-fingerprints "stderr:" "$(cat "$ERR")"
fi
check_fails pin/wrong-import-refused 1 "$OLD_FP" as admin cf import "$P/ec.pem" --server au1-wrong
check_fails pin/wrong-adhoc-refused 1 "$OLD_FP.*$WRONG|$WRONG.*$OLD_FP" \
	as admin cf get --server "127.0.0.1:$PORT" --fingerprint "$WRONG"
expect_eq pin/wrong-store-unchanged "$(state_now)" "$R_STATE"
expect_eq pin/wrong-nothing-reached-the-agent "$(audit_count)" "$R_AUDIT"
check pin/right-adhoc as admin cf get --server "127.0.0.1:$PORT" --fingerprint "$OLD_FP"

# The agent made again: its identity (not its store) replaced by init, and
# restarted on the same port.
agent_stop au1
mkdir -p "$T/old-identity"
mv "$T/au1/agent.key" "$T/au1/agent.crt" "$T/old-identity/"
snap=$(store_snapshot "$STORE")
check reinit/init cfd init --config "$T/au1.conf"
NEW_FP=$(cfd fingerprint --config "$T/au1.conf")
if [ -n "$NEW_FP" ] && [ "$NEW_FP" != "$OLD_FP" ] && grep -q "fingerprint $NEW_FP" "$OUT"; then
	pass reinit/new-identity
else
	fail reinit/new-identity "old $OLD_FP, new $NEW_FP"
fi
expect_eq reinit/store-kept "$(store_snapshot "$STORE")" "$snap"
agent_conf au1 "$PORT"
started=0
for _ in 1 2 3 4 5; do
	if agent_spawn au1; then
		started=1
		break
	fi
	kill -KILL "${APID[au1]}" 2>/dev/null
	wait "${APID[au1]}" 2>/dev/null
	wait_until 5 port_free "$PORT"
done
if [ "$started" = 1 ] && [ "${APORT[au1]}" = "$PORT" ]; then
	pass reinit/restarted-same-port
else
	fail reinit/restarted-same-port "could not listen on 127.0.0.1:$PORT again"
	show "$T/au1.log"
	e2e_done
fi
# The agent just started from this store: what it holds is on disk.
audit_at_restart=$(sqlite3 "$STORE/store.db" 'SELECT count(*) FROM audit')
R_STATE=$(store_snapshot "$STORE")
check_fails reinit/get-refused 1 "$NEW_FP" as admin cf get --server au1
if grep -q "$OLD_FP" "$ERR" && grep -q "$NEW_FP" "$ERR" && grep -q 'au1' "$ERR"; then
	pass reinit/names-both-fingerprints
else
	fail reinit/names-both-fingerprints "stderr:" "$(cat "$ERR")"
fi
check_fails reinit/import-refused 1 "$NEW_FP" as admin cf import "$P/ec.pem" --server au1 --exportable
expect_eq reinit/store-unchanged "$(store_snapshot "$STORE")" "$R_STATE"
check reinit/fleet-remove as admin cf fleet remove au1
check reinit/fleet-add as admin cf fleet add au1 "127.0.0.1:$PORT" --fingerprint "$NEW_FP"
check reinit/get-after-re-pin as admin cf get --server au1
expect_eq reinit/nothing-reached-the-agent "$(audit_count)" "$audit_at_restart"

# ---- the Unix socket ---------------------------------------------------------

SOCK=$SOCKDIR/au1.sock
expect_eq socket/mode "$(stat -c '%a %U %G' "$SOCK")" "660 root root"
check socket/root-get env CERTFLEET_SOCKET="$SOCK" timeout 60 "$CERTFLEET" get --json
expect_eq socket/root-get-lists "$(jq -r --arg t "$TP" '[.Items[] | select(.Thumbprint == $t)] | length' "$OUT")" 1
check_fails socket/missing 1 "$SOCKDIR/none\.sock" env CERTFLEET_SOCKET="$SOCKDIR/none.sock" \
	timeout 60 "$CERTFLEET" get
check socket/root-enable env CERTFLEET_SOCKET="$SOCK" timeout 60 "$CERTFLEET" enable "$TP" --services imap --force
# The actor is what the agent verified (the uid), not the header the
# client sends: the same in every record of one client.
expect_eq socket/root-audited-as-uid0 \
	"$(audit_from "$(($(audit_count) - 1))" | jq -r '.[0].Actor + " " + .[0].Operation')" \
	"unix:uid0 enable"

# uid 65534 (nobody), with a copy of certfleet it can run.
NOBODY=
if command -v setpriv >/dev/null 2>&1; then
	NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif command -v runuser >/dev/null 2>&1 && getent passwd nobody >/dev/null; then
	NOBODY="runuser -u nobody --"
fi
if [ "$(id -u)" != 0 ] || [ -z "$NOBODY" ]; then
	fail socket/nobody "needs root and setpriv or runuser (uid $(id -u))"
else
	install -m 0755 "$CERTFLEET" "$SOCKDIR/certfleet"
	# The front-end hands what is not a local get to the full one, which
	# it looks for beside itself.
	full=$(dirname "$CERTFLEET")/certfleet-full
	[ ! -e "$full" ] || install -m 0755 "$full" "$SOCKDIR/certfleet-full"
	install -m 0644 "$P/ec.pem" "$SOCKDIR/ec.pem"
	# shellcheck disable=SC2317
	nobody() {
		# shellcheck disable=SC2086
		timeout 60 $NOBODY env -i PATH=/usr/bin:/bin HOME=/nonexistent \
			CERTFLEET_SOCKET="$SOCK" "$SOCKDIR/certfleet" "$@"
	}
	refusal_begin
	# The socket is 0660 root:root: the kernel refuses; the agent never knows.
	check_fails socket/nobody-refused-by-mode 1 'admits root only' nobody get
	expect_eq socket/nobody-refused-by-mode-not-audited "$(audit_count)" "$R_AUDIT"
	# Made world-writable: the agent refuses by peer credentials.
	chmod 0666 "$SOCK"
	check_fails socket/nobody-refused-by-agent 1 'uid 65534.*root only|root only.*uid 65534' nobody get
	check_fails socket/nobody-import-refused 1 'uid 65534' nobody import "$SOCKDIR/ec.pem"
	chmod 0660 "$SOCK"
	refusal_end socket/nobody unix:uid65534 2 '^refused: not authorized'
fi

# ---- the store on disk after the agent stops ----------------------------------

LASTAUDIT=$(audit_count)
LASTCERTS=$(as admin cf get --server au1 --json | jq -r '[.Items[].Thumbprint] | sort | join(",")')
agent_stop au1
DB=$STORE/store.db
expect_eq disk/integrity "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
expect_eq disk/certificates "$(sqlite3 "$DB" 'SELECT thumbprint FROM certificates ORDER BY thumbprint' |
	paste -sd, -)" "$LASTCERTS"
expect_eq disk/clients "$(sqlite3 "$DB" 'SELECT fingerprint || " " || role FROM clients')" \
	"${IDFP[admin]} admin"
expect_eq disk/audit-records "$(sqlite3 "$DB" 'SELECT count(*) FROM audit')" "$LASTAUDIT"
expect_eq disk/authorize-and-revoke-audited "$(sqlite3 "$DB" "SELECT operation FROM audit
    WHERE actor LIKE 'local:%' ORDER BY id" | paste -sd, -)" authorize,authorize,revoke

e2e_done
