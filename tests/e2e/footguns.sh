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
for tool in "$CERTFLEETD" openssl sqlite3 jq; do
	if ! command -v "$tool" >/dev/null; then
		fail "footguns: $tool" "not found (scripts/setup-deps.sh installs it)"
		e2e_done
	fi
done

P=$T/pki
make_pki "$P"
LEAF=$(thumb "$P/leaf.pem")

# ---- the store of a running agent: read, never changed behind its back ------

agent_conf fg1
check "agent: init" cfd init --config "$T/fg1.conf"
agent_start fg1 || e2e_done
STORE=$T/fg1/store
PID=${APID[fg1]}
HOSTCERT=$(cf --store "$STORE" get --json | jq -r '.[0].Thumbprint')

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
	"$(CERTFLEET_SOCKET=$SOCKDIR/fg1.sock cf get --json "$LEAF" | jq -r '.[0].Thumbprint')" "$LEAF"

# Stopped, the store is free again; a crashed agent leaves no lock.
agent_stop fg1
check "free: --store import after the agent stopped" cf --store "$STORE" import "$P/ec.pem"
agent_spawn fg1 || fail "free: the agent starts again"
kill -KILL "${APID[fg1]}"
wait "${APID[fg1]}" 2>/dev/null
check "free: --store import after the agent was killed (-9)" \
	cf --store "$STORE" import "$P/chain.pem"

e2e_done
