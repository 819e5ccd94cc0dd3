#!/usr/bin/env bash
# footguns.sh - what used to go wrong quietly: a running agent's store
# changed with --store behind its back (assigned, never deployed), and a
# second agent on the same store.  Reading it stays allowed; so do SQLite
# readers such as a backup.
#
#   bash tests/e2e/footguns.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
unset CERTFLEET_PASSWORD CERTFLEET_STORE CERTFLEET_SOCKET CERTFLEETD_CONFIG
require_tools "$CERTFLEETD" openssl sqlite3 jq

P=$T/pki
make_pki "$P"
LEAF=$(thumb "$P/leaf.pem")

# ---- the store of a running agent: read, never changed behind its back ------

agent_conf fg1
check "agent: init" cfd init --config "$T/fg1.conf"
agent_start fg1 || e2e_done
STORE=$T/fg1/store
PID=${APID[fg1]}
HOSTCERT=$(cf --store "$STORE" get --json | jq -r '.Items[0].Thumbprint')

check "owned: get through --store" cf --store "$STORE" get
expect_eq "owned: get lists the host certificate" "${#HOSTCERT}" 40
check "owned: log through --store" cf --store "$STORE" log
run cf --store "$STORE" services
expect_eq "owned: services through --store" "$RC" 0

owned_msg() {
	echo "certfleet: $1: $STORE: the store is owned by a running certfleetd (pid $PID); use --server or run without --store to go through its socket"
}
# refused NAME OP ARGS... - certfleet --store STORE ARGS: exit 1, the
# message exactly, the store as it was.
refused() {
	local name=$1 op=$2 before
	shift 2
	before=$(store_snapshot "$STORE")
	run cf --store "$STORE" "$@"
	expect_eq "owned: $name: exit 1, says who owns it" "$RC:$(cat "$ERR")" "1:$(owned_msg "$op")"
	expect_eq "owned: $name: the store as it was" "$(store_snapshot "$STORE")" "$before"
}
refused import import import "$P/leaf.pem"
refused enable enable enable "$HOSTCERT" --services www
refused disable disable disable "$HOSTCERT" --services https
refused remove remove remove "$HOSTCERT" --force
refused "request new" "request new" request new --subject CN=www.example.org
refused renew renew renew "$HOSTCERT"
refused "new --self-signed" new new --self-signed --subject CN=www.example.org
before=$(store_snapshot "$STORE")
CERTFLEET_STORE=$STORE run cf import "$P/leaf.pem"
expect_eq "owned: CERTFLEET_STORE alike" "$RC:$(cat "$ERR")" "1:$(owned_msg import)"
expect_eq "owned: CERTFLEET_STORE: the store as it was" "$(store_snapshot "$STORE")" "$before"

# The database itself is not locked: SQLite's online backup reads it.
check "owned: sqlite3 .backup still reads the store" \
	sqlite3 "$STORE/store.db" ".backup '$T/backup.db'"
expect_eq "owned: the backup holds the host certificate" \
	"$(sqlite3 "$T/backup.db" "SELECT count(*) FROM certificates WHERE thumbprint = '$HOSTCERT'")" 1

# The socket is the way in: it works while --store is refused.
check "owned: import through the agent's socket" \
	env CERTFLEET_SOCKET="$SOCKDIR/fg1.sock" "$CERTFLEET" import "$P/leaf.pem"

# A second agent on the same state is refused before it listens.
run timeout -k 5 30 "$CERTFLEETD" run --config "$T/fg1.conf"
expect_eq "owned: a second certfleetd on the store: exit 1, names the first" \
	"$RC:$(cat "$ERR")" \
	"1:certfleetd: run: $STORE: the store is owned by a running certfleetd (pid $PID)"
expect_eq "owned: the first still answers" \
	"$(CERTFLEET_SOCKET=$SOCKDIR/fg1.sock cf get --json "$LEAF" | jq -r '.Items[0].Thumbprint')" "$LEAF"

# Stopped, the store is free again; a crashed agent leaves no lock.
agent_stop fg1
check "free: --store import after the agent stopped" cf --store "$STORE" import "$P/ec.pem"
agent_spawn fg1 || fail "free: the agent starts again"
agent_kill fg1
check "free: --store import after the agent was killed (-9)" \
	cf --store "$STORE" import "$P/chain.pem"

# ---- certfleetd init: deployed where it can be, else said how ---------------

# https: a service whose files do not exist yet: init deploys the host
# certificate there.  smtp: its reload fails: assigned, not yet deployed.
# imap: its files hold a certificate: left as it is.
mkdir -p "$T/f2"
cp "$P/leaf.pem" "$T/f2/imap.crt" && cp "$P/leaf.key" "$T/f2/imap.key"
agent_conf fg2
cat >>"$T/fg2.conf" <<EOF

[service https]
kind = files
chain = $T/f2/https.crt
key = $T/f2/https.key

[service smtp]
kind = files
chain = $T/f2/smtp.crt
key = $T/f2/smtp.key
reload = /bin/false

[service imap]
kind = files
chain = $T/f2/imap.crt
key = $T/f2/imap.key
EOF
run cfd init --config "$T/fg2.conf"
expect_eq "init: exit 0 although smtp would not take it" "$RC" 0
HOST2=$(sed -n 's/^host certificate \([0-9A-F]*\):.*/\1/p' "$OUT")
expect_eq "init: the host certificate is named" "${#HOST2}" 40
expect_eq "init: https: deployed" "$(grep -c '^https: deployed: files written' "$OUT")" 1
expect_eq "init: the https files hold the host certificate" "$(thumb "$T/f2/https.crt")" "$HOST2"
expect_eq "init: imap left as it is, said" \
	"$(grep -c "^imap: left as it is: its files hold ${LEAF:0:8}" "$OUT")" 1
expect_eq "init: imap's files untouched" "$(thumb "$T/f2/imap.crt")" "$LEAF"
expect_eq "init: smtp not deployed, said with the command" \
	"$(grep -c "^certfleetd: init: smtp: not deployed: .*; run \`certfleet enable ${HOST2:0:8} --services smtp\` once it can be\$" "$ERR")" 1
expect_eq "init: smtp's files not left behind" "$(find "$T/f2" -name 'smtp*' | wc -l)" 0

export CERTFLEET_HOME=$T/home
check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
cfd authorize "$ID" --role admin --config "$T/fg2.conf" >/dev/null
agent_start fg2 || e2e_done
check "fleet: add ex1" cf fleet add ex1 "127.0.0.1:${APORT[fg2]}" \
	--fingerprint "$(cfd fingerprint --config "$T/fg2.conf")"

# svcrow JSON SERVICE - Assigned|Match|Problem of SERVICE in services --json.
svcrow() {
	jq -r --arg s "$2" '.Items[] | select(.Service == $s) | "\(.Assigned)|\(.Match)|\(.Problem)"' "$1"
}
run cf --server ex1 services --json
cp "$OUT" "$T/svc-remote.json"
cp "$ERR" "$T/svc-remote.err"
expect_eq "services --server: exit 0: not yet deployed is no failure" "$RC" 0
expect_eq "services --server: https deployed, matches" "$(svcrow "$T/svc-remote.json" https)" "$HOST2|true|"
expect_eq "services --server: smtp: assigned, not yet deployed, the command names the server" \
	"$(svcrow "$T/svc-remote.json" smtp)" \
	"$HOST2|null|assigned, not yet deployed: run \`certfleet enable ${HOST2:0:8} --services smtp --server ex1\`"
expect_eq "services --server: imap: nothing assigned, the command names the server" \
	"$(svcrow "$T/svc-remote.json" imap)" \
	"null|null|no certificate assigned: run \`certfleet enable THUMBPRINT --services imap --server ex1\`"
expect_eq "services --server: the note on stderr, once" "$(cat "$T/svc-remote.err")" \
	"certfleet: ex1: smtp: assigned, not yet deployed: run \`certfleet enable ${HOST2:0:8} --services smtp --server ex1\`"
run env CERTFLEET_SOCKET="$SOCKDIR/fg2.sock" "$CERTFLEET" services --json
expect_eq "services, local socket: the command names no server" \
	"$(svcrow "$OUT" smtp)" \
	"$HOST2|null|assigned, not yet deployed: run \`certfleet enable ${HOST2:0:8} --services smtp\`"
run env CERTFLEET_SOCKET="$SOCKDIR/fg2.sock" "$CERTFLEET" services
expect_eq "services, table: Match is -, the note on stderr" \
	"$RC|$(awk '$1 == "smtp" {print $6}' "$OUT")|$(cat "$ERR")" \
	"0|-|certfleet: $(hostname): smtp: assigned, not yet deployed: run \`certfleet enable ${HOST2:0:8} --services smtp\`"

# Drift is still drift: a deployed file changed behind certfleet's back.
cp "$P/ec.pem" "$T/f2/https.crt"
run cf --server ex1 services
expect_eq "services --server: changed outside certfleet: exit 1, the fix names the server" \
	"$RC|$(cat "$ERR")" \
	"1|certfleet: ex1: https: the files hold $(thumb "$P/ec.pem" | cut -c1-8), not the assigned ${HOST2:0:8}: changed outside certfleet; \`certfleet enable ${HOST2:0:8} --services https --server ex1\` puts it back
certfleet: ex1: smtp: assigned, not yet deployed: run \`certfleet enable ${HOST2:0:8} --services smtp --server ex1\`"

e2e_done
