#!/usr/bin/env bash
# fast.sh - the certfleet front-end (src/fast): `get` on a local store is
# answered by certfleet alone, statically linked without OpenSSL, byte
# for byte as certfleet-full answers it; anything else, and a Status
# whose trust the store's memo does not hold yet, goes to certfleet-full.
#
# "Alone" is proved with a copy of the front-end in a directory without
# certfleet-full: what it answers it answered itself, and what it must
# hand on fails there with exit 127 naming certfleet-full.
. "$(dirname "$0")/lib.sh"
require_certfleet

FULL=$(dirname "$CERTFLEET")/certfleet-full
ALONE=$T/alone/certfleet
mkdir -p "$T/alone"
cp "$CERTFLEET" "$ALONE"
make_pki "$T/pki"
# The roots: the test root alone, so that the host's never decide.
export SSL_CERT_FILE=$T/pki/root.pem
S=$T/store

# next_second - waits (bounded) for the second after now: a certificate
# made this second says DaysLeft one more than it will a second later,
# and two runs compared must not straddle that.
next_second() {
	local made
	made=$(date +%s)
	wait_until 5 bash -c "[ \$(date +%s) -gt $made ]"
}

# compare NAME CERTFLEET ARGS... - CERTFLEET (the front-end, or its copy
# alone) and certfleet-full print the same bytes and exit the same on
# the store.
compare() {
	local name=$1 cf=$2 a b
	shift 2
	"$cf" --store "$S" "$@" >"$T/a.out" 2>"$T/a.err"
	a=$?
	"$FULL" --store "$S" "$@" >"$T/b.out" 2>"$T/b.err"
	b=$?
	if [ "$a" = "$b" ] && cmp -s "$T/a.out" "$T/b.out" &&
		cmp -s "$T/a.err" "$T/b.err"; then
		pass "$name"
	else
		fail "$name" "exit $a and $b (certfleet-full), output differs: $*"
		diff "$T/a.out" "$T/b.out" | head -5 | sed 's/^/    /'
		diff "$T/a.err" "$T/b.err" | head -5 | sed 's/^/    /'
	fi
}
same() { compare "$1" "$CERTFLEET" "${@:2}"; }
alone() { compare "$1" "$ALONE" "${@:2}"; }

# --- what the front-end is ---------------------------------------------
if readelf -d "$CERTFLEET" 2>/dev/null | grep -q NEEDED; then
	fail "front-end: no shared library to load" \
		"$(readelf -d "$CERTFLEET" | grep NEEDED | head -3)"
else
	pass "front-end: no shared library to load"
fi
if readelf -d "$FULL" | grep -q 'NEEDED.*libcrypto'; then
	pass "certfleet-full: linked with OpenSSL, as before"
else
	fail "certfleet-full: linked with OpenSSL, as before"
fi

# --- a store: a chain whose top is not self-signed, a self-signed one,
# a pending request -------------------------------------------------------
check "store: leaf and intermediate (top: the intermediate)" \
	cf --store "$S" --init import "$T/pki/leaf.pem" "$T/pki/int.pem"
check "store: the EC leaf of the same intermediate" \
	cf --store "$S" import "$T/pki/ec.pem"
check "store: a pending request" \
	cf --store "$S" request new --subject "CN=pending.example.com" --key p256 \
	-o "$T/req.pem"
LEAF=$(openssl x509 -in "$T/pki/leaf.pem" -noout -fingerprint -sha1 |
	sed 's/.*=//; s/://g')
next_second

# No verdict on the intermediate yet: a Status needs OpenSSL.
check_fails "alone: a Status the memo cannot tell goes to certfleet-full" \
	127 "certfleet-full" "$ALONE" --store "$S" get "$LEAF"
check_fails "alone: ... and so does a listing that holds it" \
	127 "certfleet-full" "$ALONE" --store "$S" get
same "get THUMBPRINT: as certfleet-full (which keeps the verdict)" get "$LEAF"
expect_eq "the leaf is Valid through the test root" \
	"$(cf --store "$S" --json get "$LEAF" | jq -r '.Items[0].Status')" Valid

# --- every form of get, alone -------------------------------------------
alone "alone: get THUMBPRINT" get "$LEAF"
alone "alone: get, a table with the pending request among the rows" get
alone "alone: get --json" --json get
alone "alone: get --format tsv --no-header" get --format tsv --no-header
alone "alone: get --fields" get --fields Subject,Status,Chain,HasPrivateKey
alone "alone: get --expiring 400d" get --expiring 400d
alone "alone: get --expiring 10d (nothing)" get --expiring 10d
alone "alone: get --expiring 50%" --json get --expiring 50%
alone "alone: get of a prefix" get "${LEAF:0:6}"
alone "alone: a thumbprint not there: the same error" get 0000DEAD
alone "alone: a bad option: the same usage error" get --bogus
alone "alone: help of get" get --help
expect_eq "alone: nothing was handed on: the pending request is listed" \
	"$("$ALONE" --store "$S" --json get | jq '[.Items[] | select(.Status == "PendingRequest")] | length')" 1

# --- the memo's verdicts go with the roots' file and the anchors ---------
cp "$T/pki/root.pem" "$T/roots2.pem"
SSL_CERT_FILE=$T/roots2.pem check_fails \
	"alone: another roots' file: the verdict does not hold" \
	127 "certfleet-full" "$ALONE" --store "$S" get "$LEAF"
touch -d '+1 minute' "$SSL_CERT_FILE"
check_fails "alone: the roots' file changed: worked out again, by certfleet-full" \
	127 "certfleet-full" "$ALONE" --store "$S" get "$LEAF"
check "certfleet-full judges it again" cf --store "$S" get "$LEAF"
alone "alone: ... and after that, alone again" get "$LEAF"
check "a self-signed certificate made (a trust anchor)" \
	cf --store "$S" new --self-signed --subject "CN=own.example.com" --key p256
next_second
check_fails "alone: a new anchor forgets the verdicts" \
	127 "certfleet-full" "$ALONE" --store "$S" get "$LEAF"
same "get, all of it, as certfleet-full" get
alone "alone: the self-signed one among the rest" get

# --- what is certfleet-full's ---------------------------------------------
for args in "--version" "log" "export $LEAF -o $T/x.pem" "--server nowhere get" \
	"help get"; do
	# shellcheck disable=SC2086 # the words are the arguments
	check_fails "alone: certfleet $args is certfleet-full's" \
		127 "certfleet-full: No such file" "$ALONE" --store "$S" $args
done
CERTFLEET_STORE=$S check_fails "alone: get without --store is the agent's socket: certfleet-full's" \
	127 "certfleet-full" env -u CERTFLEET_STORE "$ALONE" get
CERTFLEET_STORE=$S check "alone: CERTFLEET_STORE is a local store too" \
	"$ALONE" get "$LEAF"
ln -s "$ALONE" "$T/alone/check_certfleet"
check_fails "alone: check_certfleet is the plugin: certfleet-full's" \
	127 "certfleet-full" "$T/alone/check_certfleet" --store "$S"
check_fails "alone: a store not there: certfleet-full says so" \
	127 "certfleet-full" "$ALONE" --store "$T/nothing" get
check_fails "through the front-end: the full one's message for it" \
	1 "no certfleet store" "$CERTFLEET" --store "$T/nothing" get

# A store of an older schema is upgraded by certfleet-full alone.
check "a store made older (schema 8, no memo)" sqlite3 "$S/store.db" \
	"DROP TRIGGER trust_memo_anchor_in; DROP TRIGGER trust_memo_anchor_out;
	 DROP TABLE trust_memo; PRAGMA user_version = 8;"
check_fails "alone: an older store: certfleet-full upgrades it" \
	127 "certfleet-full" "$ALONE" --store "$S" get "$LEAF"
same "through the front-end: upgraded, the same listing" get
expect_eq "the store is at schema 9 again" \
	"$(sqlite3 "$S/store.db" 'PRAGMA user_version')" 9

e2e_done
