#!/usr/bin/env bash
# get-stream.sh - `certfleet --store DIR get` prints the listing of a
# local store as it reads it (cf_op_get_each, issue 16), and its output
# must be byte for byte the output of the path that takes a listing whole
# (an agent's reply): the same store listed through an agent serving it,
# under the fleet name of this host (the Server a local store shows), in
# every form (the table, --format tsv, --no-header, --fields, --json, on a
# terminal and not, cut to $COLUMNS).  The store holds more certificates
# than the library reads at once (256), a chain, a friendly name that is
# not ASCII and pending requests sorted in among the certificates.  Also
# a store of no certificate, and a store that fails in the middle of the
# listing: no table, the store's message and exit 1; --json no valid
# document.
#
#   bash tests/e2e/get-stream.sh      (CERTFLEETD=path to test another build)
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
# shellcheck source=agent-lib.sh
. "$HERE/agent-lib.sh"
require_tools "$CERTFLEETD" cc pkg-config jq openssl sqlite3 script
N=${E2E_STREAM_N:-1100}

# ---- a store of no certificate -------------------------------------------

E=$T/empty
check "empty: store init" cf store init "$E"
run cf --store "$E" get
expect_eq "empty: the table is nothing at all" "$RC:$(wc -c <"$OUT")" "0:0"
run cf --store "$E" get --json
expect_eq "empty: --json" "$RC:$(cat "$OUT")" '0:{"SchemaVersion":1,"Items":[]}'
script -qec "$CERTFLEET --store $E get --json" /dev/null </dev/null >"$OUT" 2>&1
expect_eq "empty: --json on a terminal" "$(tr -d '\r' <"$OUT")" \
	"$(printf '{\n  "SchemaVersion": 1,\n  "Items": []\n}')"

# ---- the store: many certificates, a chain, requests ------------------------

# shellcheck disable=SC2046 # pkg-config's flags are words
if ! cc -std=c17 -D_GNU_SOURCE -O2 -o "$T/gen" "$E2E_ROOT/bench/gen.c" \
	$(pkg-config --cflags --libs libcrypto) 2>"$ERR" ||
	! "$T/gen" -j 2 pem "$N" "$T/corpus" >/dev/null 2>&1; then
	fail "stream: $N certificates made (bench/gen.c)" "failed"
	show "$ERR"
	e2e_done
fi
P=$T/pki
make_pki "$P"
agent_conf big
check "stream: agent init" cfd init --config "$T/big.conf"
S=$T/big/store
check "stream: import $N" cf --store "$S" import "$T/corpus/pem-$N"/*.pem
check "stream: import a chain" cf --store "$S" import "$P/leaf.pem" "$P/int.pem" "$P/root.pem"
check "stream: a friendly name not ASCII" cf --store "$S" import "$P/ec.pem" \
	--friendly-name "Zürich – Mail ✓"
for i in 1 2 3 4 5 6; do
	cf --store "$S" request new --subject "CN=req$i.example.com" --key p256 \
		>/dev/null 2>>"$ERR" || fail "stream: request new $i" "$(cat "$ERR")"
done
cf --store "$S" get --json | jq -r '.Items[] | "\(.Thumbprint) \(.Status)"' >"$T/order"
requests=$(grep -c ' PendingRequest$' "$T/order")
first=$(grep -n -m 1 ' PendingRequest$' "$T/order" | cut -d : -f 1)
expect_eq "stream: the requests are listed" "$requests" 6
if [ "${first:-1}" -gt 1 ] && [ "$first" -lt "$(wc -l <"$T/order")" ] &&
	cut -d ' ' -f 1 "$T/order" | LC_ALL=C sort -c 2>/dev/null; then
	pass "stream: by thumbprint, requests among the certificates"
else
	fail "stream: by thumbprint, requests among the certificates" \
		"first request at line ${first:-none}"
fi
expect_eq "stream: every certificate and request listed once" \
	"$(cut -d ' ' -f 1 "$T/order" | sort -u | wc -l)" \
	"$((N + 3 + 1 + 6 + 1))" # the chain, ec, the requests, the agent's own

# ---- the listing printed as read, against an agent's reply -------------------

FORMS=(table tsv no-header fields fields-tsv json json-fields cut)
# args FORM - the arguments of get for one form.
args() {
	case $1 in
	table) ;;
	tsv) echo "--format tsv" ;;
	no-header) echo "--no-header" ;;
	fields) echo "--fields Server,Subject,Chain,DaysLeft,FriendlyName,NotBefore" ;;
	fields-tsv) echo "--fields Thumbprint,Status,Server --format tsv --no-header" ;;
	json) echo "--json" ;;
	json-fields) echo "--json --fields Thumbprint,Server,DaysLeft,Chain" ;;
	cut) echo "--fields Subject,FriendlyName,Thumbprint,Status" ;;
	esac
}
# listings WHERE TARGET... - every form of get on TARGET into
# $T/WHERE.FORM, and on a terminal (80 columns) into $T/WHERE.tty-FORM.
listings() {
	local where=$1 f
	shift
	for f in "${FORMS[@]}"; do
		# shellcheck disable=SC2046 # the arguments are words
		if [ "$f" = cut ]; then
			COLUMNS=70 cf "$@" get $(args "$f") >"$T/$where.$f" 2>"$T/$where.$f.err"
		else
			cf "$@" get $(args "$f") >"$T/$where.$f" 2>"$T/$where.$f.err"
		fi
		echo "rc $?" >>"$T/$where.$f.err"
	done
	for f in table json json-fields; do
		script -qec "stty cols 80 rows 24; $CERTFLEET $* get $(args "$f")" /dev/null \
			</dev/null >"$T/$where.tty-$f" 2>&1
	done
}
# DaysLeft counts whole days to NotAfter, whose time of day is when each
# certificate was made (the agent's own, at init): the two listings
# compared must not straddle the second the last of them was made in.
made=$(date +%s)
wait_until 5 bash -c "[ \$(date +%s) -gt $made ]"
listings local --store "$S"

agent_start big || e2e_done
check "stream: id" cf id
check "stream: authorize" cfd authorize "$(cf id --json | jq -r .Fingerprint)" \
	--role reader --config "$T/big.conf"
# The fleet name of this host: the Server a local store shows.
HOSTNAME_=$(hostname)
check "stream: fleet add" cf fleet add "$HOSTNAME_" "127.0.0.1:${APORT[big]}" \
	--fingerprint "$(cfd fingerprint --config "$T/big.conf")"
listings agent --server "$HOSTNAME_"
for f in "${FORMS[@]}" tty-table tty-json tty-json-fields; do
	if [ -s "$T/local.$f" ] && cmp -s "$T/local.$f" "$T/agent.$f"; then
		pass "stream: $f: byte for byte the agent's"
	else
		fail "stream: $f: byte for byte the agent's" \
			"$(wc -c <"$T/local.$f") bytes, the agent's $(wc -c <"$T/agent.$f")"
		diff "$T/local.$f" "$T/agent.$f" | head -n 6 | sed 's/^/    /'
	fi
done
for f in "${FORMS[@]}"; do
	expect_eq "stream: $f: no message, exit 0" "$(cat "$T/local.$f.err")" "rc 0"
done
# A request has no dates: its NotAfter and DaysLeft cells are empty
# (not the cell before them), a certificate's are not.
expect_eq "stream: a request's NotAfter and DaysLeft are empty" \
	"$(awk -F '\t' '$3 == "PendingRequest" && $4 $5 == ""' "$T/agent.tsv" | wc -l)" 6
expect_eq "stream: a certificate's are not" \
	"$(awk -F '\t' 'NR > 1 && $3 != "PendingRequest" && ($4 == "" || $5 == "")' \
		"$T/agent.tsv" | wc -l)" 0
expect_eq "stream: the table has a line a row" "$(wc -l <"$T/local.table")" \
	"$((N + 11 + 2))"
agent_stop big

# ---- a store that fails in the middle of the listing ---------------------------

# A leaf page of the listing's index near its end zeroed: the first
# pages read, then SQLite finds the page malformed.
B=$T/bad
cp -a "$S" "$B"
page=$(sqlite3 "$B/store.db" "SELECT pageno FROM dbstat WHERE name =
	'certificates_listing' AND pagetype = 'leaf' ORDER BY path DESC LIMIT 1")
size=$(sqlite3 "$B/store.db" "PRAGMA page_size")
if [ -z "$page" ] || [ -z "$size" ]; then
	fail "broken: a page of the listing's index found" "sqlite3 without dbstat?"
	e2e_done
fi
dd if=/dev/zero of="$B/store.db" bs="$size" seek=$((page - 1)) count=1 \
	conv=notrunc 2>/dev/null
msg="certfleet: get: store $B: read: database disk image is malformed"
run cf --store "$B" get
expect_eq "broken: no table, the store's message, exit 1" \
	"$RC:$(wc -c <"$OUT"):$(cat "$ERR")" "1:0:$msg"
run cf --store "$B" get --format tsv
expect_eq "broken: no tsv either" "$RC:$(wc -c <"$OUT"):$(cat "$ERR")" "1:0:$msg"
run cf --store "$B" get --json
if [ "$RC" = 1 ] && [ "$(cat "$ERR")" = "$msg" ] && ! jq -e . "$OUT" >/dev/null 2>&1; then
	pass "broken: --json: the message, exit 1, no valid document"
else
	fail "broken: --json: the message, exit 1, no valid document" "exit $RC: $(cat "$ERR")"
fi
# The whole listing failed, not the start of it: one certificate reads.
run cf --store "$B" get "$(head -n 1 "$T/order" | cut -d ' ' -f 1)"
expect_eq "broken: one certificate still reads" "$RC" 0

e2e_done
