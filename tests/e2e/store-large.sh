#!/usr/bin/env bash
# store-large.sh - a store of 10,000 certificates listed through an agent
# while the store changes: `certfleet --server X get` pages through the
# listing (GET /v1/certificates?after=&limit=, docs/api.md), and every
# certificate that stays is listed exactly once, none twice, while other
# clients import and remove certificates during the listing.  Also the
# API's page limit and its end, and the whole listing in one reply for
# clients that do not page.  And the listing's pages on one kept TLS
# connection, sent again on a new one when the agent closed it.
#
# The certificates: EC P-256 leaves of one CA made by bench/gen.c (a few
# seconds, where openssl would take minutes), imported into the agent's
# store before it starts.  E2E_LARGE_N (10000) sets how many.
#
#   bash tests/e2e/store-large.sh      (CERTFLEETD=path to test another build)
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
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
require_tools cc pkg-config jq python3
N=${E2E_LARGE_N:-10000}
LISTINGS=3

# ---- the certificates ------------------------------------------------
# shellcheck disable=SC2046 # pkg-config's flags are words
if ! cc -std=c17 -D_GNU_SOURCE -O2 -o "$T/gen" "$E2E_ROOT/bench/gen.c" \
	$(pkg-config --cflags --libs libcrypto) 2>"$ERR"; then
	fail "large: build bench/gen.c" "cc failed"
	show "$ERR"
	e2e_done
fi
# The store's, and 96 more for the clients that import meanwhile.
if "$T/gen" -j 2 pem "$N" "$T/corpus" && "$T/gen" -j 2 pem 96 "$T/corpus"; then
	pass "large: $N certificates made"
else
	fail "large: $N certificates made" "bench/gen.c failed"
	e2e_done
fi

agent_conf big
check "large: init" cfd init --config "$T/big.conf"
check "large: id" cf id
check "large: authorize" cfd authorize "$(cf id --json | jq -r .Fingerprint)" \
	--role admin --config "$T/big.conf"
check "large: import $N" cf --store "$T/big/store" import "$T/corpus/pem-$N"/*.pem
cf --store "$T/big/store" --json get | jq -r '.Items[].Thumbprint' | sort >"$T/all"
# The agent's host certificate is one more.
expect_eq "large: the store holds them all" "$(wc -l <"$T/all")" "$((N + 1))"
# Every 100th goes during the listings; the rest stay.
awk 'NR % 100 == 50' "$T/all" >"$T/going"
comm -23 "$T/all" "$T/going" >"$T/staying"

agent_start big || e2e_done
SRV=(--server "127.0.0.1:${APORT[big]}" --fingerprint "$(cfd fingerprint --config "$T/big.conf")")

# ---- changes while listing -------------------------------------------
# Imports (48 certificates a file) and removes, one after the other,
# until $T/stop appears; each done counted in $T/changes.
changer() {
	local f thumb
	: >"$T/changes"
	for f in "$T/corpus/pem-96"/*.pem; do
		cf "${SRV[@]}" import "$f" >/dev/null 2>>"$T/changer.err" && echo import >>"$T/changes"
		[ -e "$T/stop" ] && return
	done
	while read -r thumb; do
		cf "${SRV[@]}" remove "$thumb" >/dev/null 2>>"$T/changer.err" && echo remove >>"$T/changes"
		[ -e "$T/stop" ] && return
	done <"$T/going"
}
changer &
CHANGER=$!
wait_until 30 test -s "$T/changes" || fail "large: the changes begin" "nothing changed within 30 s"
before=$(wc -l <"$T/changes")
for i in $(seq "$LISTINGS"); do
	cf "${SRV[@]}" --json get >"$T/listing$i.json" 2>"$T/listing$i.err"
	echo $? >"$T/listing$i.rc"
done
after=$(wc -l <"$T/changes")
touch "$T/stop"
wait "$CHANGER"
if [ "$after" -gt "$before" ]; then
	pass "large: the store changed during the listings ($((after - before)) changes)"
else
	fail "large: the store changed during the listings" "no change landed while listing"
fi

# What the store held at some time: at the start, and at the end (what
# was imported meanwhile stays).
cf "${SRV[@]}" --json get | jq -r '.Items[].Thumbprint' | sort >"$T/final"
sort -u "$T/all" "$T/final" >"$T/known"
for i in $(seq "$LISTINGS"); do
	if [ "$(cat "$T/listing$i.rc")" != 0 ]; then
		fail "large: listing $i" "exit $(cat "$T/listing$i.rc")"
		show "$T/listing$i.err"
		continue
	fi
	jq -r '.Items[].Thumbprint' "$T/listing$i.json" | sort >"$T/listed$i"
	dups=$(uniq -d "$T/listed$i" | wc -l)
	expect_eq "large: listing $i names no certificate twice" "$dups" 0
	missing=$(comm -23 "$T/staying" <(uniq "$T/listed$i") | wc -l)
	expect_eq "large: listing $i names every one that stayed" "$missing" 0
	strangers=$(comm -13 "$T/known" <(uniq "$T/listed$i") | wc -l)
	expect_eq "large: listing $i names only certificates the store held" "$strangers" 0
	# A status each: views outlive the page they came in.
	if jq -e '[.Items[] | select(.Status | IN("Valid", "Untrusted",
		"DateInvalid", "Invalid") | not)] | length == 0' \
		"$T/listing$i.json" >/dev/null; then
		pass "large: listing $i gives every certificate its status"
	else
		fail "large: listing $i gives every certificate its status"
	fi
done

# ---- the API's pages ---------------------------------------------------
# raw GET QUERY - the agent's answer to GET /v1/certificates?QUERY: the
# status line "STATUS SECONDS", then the body.
raw() {
	printf 'GET /v1/certificates%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >"$T/req"
	python3 "$HERE/raw-https.py" "${APORT[big]}" \
		"$CERTFLEET_HOME/id.crt" "$CERTFLEET_HOME/id.key" "$T/req" 30
}
raw "?after=&limit=1000" >"$T/page"
if [ "$(head -n 1 "$T/page" | cut -d ' ' -f 1)" = 200 ] &&
	[ "$(tail -n +2 "$T/page" | jq length)" = 1000 ]; then
	pass "large: a page holds the limit"
else
	fail "large: a page holds the limit" "$(head -c 300 "$T/page")"
fi
last=$(tail -n 1 "$T/all")
raw "?after=$last&limit=1000" >"$T/page"
expect_eq "large: nothing after the last thumbprint" \
	"$(head -n 1 "$T/page" | cut -d ' ' -f 1) $(tail -n +2 "$T/page" | jq -c .)" "200 []"
raw "?after=&limit=1001" >"$T/page"
expect_eq "large: a page above 1,000 is refused" \
	"$(head -n 1 "$T/page" | cut -d ' ' -f 1) $(tail -n +2 "$T/page" | jq -r .code)" "400 usage"
raw "" >"$T/page"
cf "${SRV[@]}" --json get | jq '.Items | length' >"$T/count"
expect_eq "large: without a page, the whole listing in one reply" \
	"$(tail -n +2 "$T/page" | jq length)" "$(cat "$T/count")"

# ---- one connection for the whole listing ------------------------------
# Through a relay that counts connections (count-proxy.py): a listing of
# every page is carried on one TLS connection (a handshake a page was
# most of a remote listing's time).  And when the agent closes the kept
# connection just as the next request comes (the relay's
# drop-after-reply), that request is sent again on a new one: the
# listing still comes whole, one connection a page.
cf "${SRV[@]}" --json get | jq -r '.Items[].Thumbprint' >"$T/direct"
pages=$(($(wc -l <"$T/direct") / 1000 + 1))
PROXY_PID=
trap '[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null; agents_cleanup' EXIT
# relayed NAME [drop-after-reply] - lists through a new relay; the
# listing in $T/NAME.json, its exit status in RC, the relay's
# connections in CONNS.
relayed() {
	rm -f "$T/$1.port" "$T/$1.log"
	: >"$T/$1.log"
	python3 "$HERE/count-proxy.py" "$T/$1.port" "${APORT[big]}" "$T/$1.log" "${@:2}" \
		2>"$T/$1.proxy.err" &
	PROXY_PID=$!
	if ! wait_until 10 test -s "$T/$1.port"; then
		fail "relay: $1 starts" "no port within 10 s" "$(cat "$T/$1.proxy.err")"
		RC=1 CONNS=-1
		return
	fi
	cf --server "127.0.0.1:$(cat "$T/$1.port")" "${SRV[@]:2}" --json get \
		>"$T/$1.json" 2>"$T/$1.err"
	RC=$?
	CONNS=$(wc -l <"$T/$1.log")
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
}
relayed kept
if [ "$RC" = 0 ] && cmp -s "$T/direct" <(jq -r '.Items[].Thumbprint' "$T/kept.json"); then
	pass "relay: $pages pages listed whole through the relay"
else
	fail "relay: $pages pages listed whole through the relay" "exit $RC" "$(cat "$T/kept.err")"
fi
expect_eq "relay: $pages pages on one connection" "$CONNS" 1
relayed dropped drop-after-reply
if [ "$RC" = 0 ] && cmp -s "$T/direct" <(jq -r '.Items[].Thumbprint' "$T/dropped.json"); then
	pass "relay: a kept connection closed under the next request: sent again, listed whole"
else
	fail "relay: a kept connection closed under the next request: sent again, listed whole" \
		"exit $RC" "$(cat "$T/dropped.err")"
fi
expect_eq "relay: closed after each page: one connection a page" "$CONNS" "$pages"

agent_stop big
e2e_done
