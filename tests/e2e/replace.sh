#!/usr/bin/env bash
# replace.sh - `certfleet replace OLD NEW`: the renewal rollout in one
# command.  Three agents, ex1 and ex2 each deploying https to a private
# nginx of their own on loopback (smtp is assigned but not configured
# there); ex3 has no services.  A is served on ex1 and ex2 and held
# without services on ex3; ex1 renews it (renew, a test CA signs, request
# complete): its renewal B (same name, new key) is on ex1 only.
# replace A B --server all copies B to ex2 (export under a one-time
# password, as copy does), moves https and smtp on both, and nginx
# serves B, proved by s_client; A stays, without services.
# A NEW whose key is not exportable goes sealed where both agents allow
# it (ex1 and ex3), and is refused where not (ex2 fails, ex1 moves).
# Refusals: a NEW whose names do not cover the service (unless --force),
# an OLD nobody holds, a reload that fails (enable's rollback: the
# server keeps OLD), and a local store.
#
#   bash tests/e2e/replace.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
. "$(dirname "$0")/servers-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CERTFLEET_HOME=$T/home
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	srv_stop_all
	agents_cleanup
}
trap cleanup EXIT

require_tools "$CERTFLEETD" nginx openssl python3 jq

declare -A HTTPS=()
read -r -d '' 'HTTPS[ex1]' 'HTTPS[ex2]' < <(free_ports 2) || true

# ---- certificates: A, and C for mail.example.com; EC for another name ------

P=$T/pki
make_pki "$P"
make_leaf "$P" c 3002
A=$(thumb "$P/leaf.pem")
C=$(thumb "$P/c.pem")
EC=$(thumb "$P/ec.pem") # ec.example.com: its names do not cover mail.example.com

# ---- the servers: an nginx each for ex1 and ex2, serving A ----------------

S=$T/srv
started=1
for n in ex1 ex2; do
	mkdir -p "$S/$n"
	cat "$P/leaf.pem" "$P/int.pem" >"$S/$n/https.crt"
	cp "$P/leaf.key" "$S/$n/https.key"
	srv_nginx_start "$S/$n/nginx" "${HTTPS[$n]}" "$S/$n/https.crt" "$S/$n/https.key" \
		mail.example.com || started=0
	# The reload goes through a wrapper that fails once when fail-reload
	# exists: a reload that fails while the config test passes.
	cat >"$S/$n/reload" <<-EOF
		#!/bin/sh
		if [ -e "$S/$n/fail-reload" ]; then
			rm -f "$S/$n/fail-reload"
			echo "nginx: [alert] reload refused by the test" >&2
			exit 1
		fi
		exec $(srv_nginx_reload_cmd "$S/$n/nginx")
	EOF
	chmod 755 "$S/$n/reload"
done
if [ "$started" = 1 ]; then
	pass "servers: an nginx for ex1 and one for ex2"
else
	fail "servers: an nginx for ex1 and one for ex2"
	e2e_done
fi

# served NAME - the thumbprint NAME's nginx presents now (s_client).
served() { srv_served_thumb tls 127.0.0.1 "${HTTPS[$1]}" mail.example.com; }
# served_eventually NAME WANT - polls for up to 10 s, until WANT is served
# three times in a row (nginx's old workers may take a connection or two).
served_eventually() {
	local got='' ok=0
	for _ in $(seq 50); do
		if got=$(served "$1") && [ "$got" = "$2" ]; then
			ok=$((ok + 1))
			[ "$ok" -ge 3 ] && break
		else
			ok=0
		fi
		sleep 0.2
	done
	echo "$got"
}

# ---- the agents ------------------------------------------------------------

check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
for n in ex1 ex2 ex3; do
	agent_conf "$n"
	if [ "$n" != ex3 ]; then
		cat >>"$T/$n.conf" <<-EOF

			[service https]
			kind = nginx
			chain = $S/$n/https.crt
			key = $S/$n/https.key
			test = $(srv_nginx_test_cmd "$S/$n/nginx")
			reload = $S/$n/reload
			check = 127.0.0.1:${HTTPS[$n]}
			name = mail.example.com
			timeout = 10
		EOF
	fi
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
done
# ex1 and ex3 allow sealed transfers between them; ex2 allows none.
FP1=$(cfd fingerprint --config "$T/ex1.conf")
FP3=$(cfd fingerprint --config "$T/ex3.conf")
sed -i "/^\[agent\]/a transfer_peers = $FP3" "$T/ex1.conf"
sed -i "/^\[agent\]/a transfer_peers = $FP1" "$T/ex3.conf"
for n in ex1 ex2 ex3; do
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
done

# on NAME CF-ARGS... - certfleet against one agent.
on() {
	local n=$1
	shift
	cf "$@" --server "$n"
}
# field NAME THUMB FIELD - a field of `get --json` on agent NAME.
field() {
	on "$1" get "$2" --json 2>/dev/null | jq -c ".Items[0].$3"
}

for n in ex1 ex2 ex3; do
	check "set-up: $n trusts the test root" on $n import "$P/root.pem" "$P/int.pem"
done
for n in ex1 ex2; do
	check "set-up: $n serves A for https and smtp" on $n import "$P/leaf.pem" \
		"$P/leaf.key" --exportable --services https,smtp --force
	expect_eq "set-up: $n's nginx serves A" "$(served $n)" "$A"
done
check "set-up: ex3 holds A, without services" on ex3 import "$P/leaf.pem" "$P/leaf.key"

# ---- the renewal, on ex1 -------------------------------------------------

check "renewal: ex1 renews A (a new key, made there)" on ex1 renew "$A" -o "$T/renew.csr"
(cd "$P" && openssl x509 -req -in "$T/renew.csr" -CA int.pem -CAkey int.key -set_serial 0x3001 \
	-days 90 -sha256 -extfile ext.cnf -extensions leaf -out b.pem 2>/dev/null)
check "renewal: the test CA's answer completes it" on ex1 request complete "$P/b.pem"
B=$(thumb "$P/b.pem")
expect_eq "renewal: B is on ex1, exportable as A, with no services yet" \
	"$(field ex1 "$B" PrivateKeyExportable)/$(field ex1 "$B" Services)" 'true/[]'

# ---- the rollout ------------------------------------------------------------

check "replace: A by B on every server" cf replace "$A" "$B" --server all
if grep -q "^ex1: https,smtp moved from ${A:0:8} to ${B:0:8}$" "$OUT" &&
	grep -q "^ex2: https,smtp moved from ${A:0:8} to ${B:0:8} (copied from ex1 first)$" "$OUT" &&
	grep -q "^ex3: nothing to move: ${A:0:8} has no services there$" "$OUT" &&
	grep -q "^replaced ${A:0:8} by ${B:0:8} on 2 of 2 servers that assigned it services$" "$OUT" &&
	[ "$(grep -c "^  https: deployed: files written, config tested, reloaded, serves ${B:0:8}" "$OUT")" = 2 ]; then
	pass "replace: a line per server, what each service did, the summary"
else
	fail "replace: a line per server, what each service did, the summary"
	show "$OUT" 20
fi
for n in ex1 ex2; do
	expect_eq "replace: $n's nginx serves B (s_client)" "$(served_eventually $n "$B")" "$B"
	expect_eq "replace: on $n B has https and smtp, A none and is still there" \
		"$(field $n "$B" Services)/$(field $n "$A" Services)" '["https","smtp"]/[]'
done
expect_eq "replace: ex2's copy of B is exportable, as on ex1" "$(field ex2 "$B" PrivateKeyExportable)" true
check_fails "replace: ex3, with nothing to move, did not get B" 1 "no such certificate" \
	on ex3 get "$B"
run on ex2 log --json
expect_eq "audit: ex2 records the import of B and each service change" \
	"$(jq --arg b "$B" --arg a "${A:0:8}" '[.Items[] | select(.Thumbprint == $b and
	    ((.Operation == "import" and .Outcome == "imported") or
	     (.Operation == "enable" and (.Outcome | test("^(https|smtp): assigned, taken from " + $a)))))] | length' "$OUT")" 3
run on ex1 log --json
expect_eq "audit: ex1's export of B names ex2" \
	"$(jq --arg b "$B" '[.Items[] | select(.Operation == "export" and .Thumbprint == $b and
	    (.Outcome | test("for copy to ex2$")))] | length' "$OUT")" 1

check "replace: again, nothing to move anywhere" cf replace "$A" "$B" --server all
expect_eq "replace: again: each server says so" "$(grep -c "nothing to move" "$OUT")" 3
run cf replace "$A" "$B" --server ex1,ex2 --json
expect_eq "replace --json: a Result per server" \
	"$RC/$(jq -c '[.Items[] | .Server + ":" + .Result]' "$OUT")" \
	'0/["ex1:nothing to move","ex2:nothing to move"]'

# ---- refusals ---------------------------------------------------------------

check_fails "replace: an OLD no server holds: exit 1, saying so" 1 \
	"0123456789AB: no server asked holds it" cf replace 0123456789AB "$B" --server all
check_fails "replace: the same certificate twice is a usage error" 2 "the same" \
	cf replace "$B" "$B" --server all
check_fails "replace: NEW missing is a usage error" 2 "old and the new" cf replace "$B" --server all

# C's key is not exportable on ex1, and no transfer is set up: ex2 is
# refused, saying why; ex1, which holds C, moves.
check "set-up: C on ex1, its key not exportable" on ex1 import "$P/c.pem" "$P/c.key"
check_fails "replace: C cannot reach ex2: exit 1, naming why" 1 \
	"ex2: replace: ${C:0:8} could not be copied here from ex1: .*not exportable" \
	cf replace "$B" "$C" --server ex1,ex2
if grep -q "^ex1: https,smtp moved from ${B:0:8} to ${C:0:8}$" "$OUT" &&
	grep -q "^ex2: not replaced; ${B:0:8} keeps its services there$" "$OUT"; then
	pass "replace: ex1 moved to C, ex2 kept B"
else
	fail "replace: ex1 moved to C, ex2 kept B"
	show "$OUT"
fi
expect_eq "replace: ex1 serves C" "$(served_eventually ex1 "$C")" "$C"
expect_eq "replace: ex2 still serves B, with its services" \
	"$(served ex2)/$(field ex2 "$B" Services)" "$B/[\"https\",\"smtp\"]"
check_fails "replace: ex2 did not get C" 1 "no such certificate" on ex2 get "$C"

# To ex3, C goes sealed agent to agent: the key stays not exportable.
check "set-up: ex3 assigns smtp to A" on ex3 enable "$A" --services smtp --force
check "replace: A by C on ex3, C sealed from ex1" cf replace "$A" "$C" --server ex1,ex3
if grep -q "^ex3: smtp moved from ${A:0:8} to ${C:0:8} (copied from ex1 first)$" "$OUT" &&
	grep -q "^ex1: nothing to move: ${A:0:8} has no services there$" "$OUT"; then
	pass "replace: ex3 moved to C, copied from ex1 first"
else
	fail "replace: ex3 moved to C, copied from ex1 first"
	show "$OUT"
fi
expect_eq "replace: ex3's C has smtp and a key that is not exportable" \
	"$(field ex3 "$C" Services)/$(field ex3 "$C" PrivateKeyExportable)" '["smtp"]/false'
expect_eq "audit: ex3 received C sealed from ex1" \
	"$(on ex3 log --json | jq --arg c "$C" --arg fp "$FP1" '[.Items[] | select(.Operation == "import-sealed"
	    and .Thumbprint == $c and (.Outcome | contains("received sealed from agent " + $fp)))] | length')" 1

# EC's names (ec.example.com) do not cover nginx's mail.example.com.
check "set-up: the EC certificate on ex1" on ex1 import "$P/ec.pem" "$P/ec.key"
check_fails "replace: NEW's names do not cover the service: refused" 1 \
	"do not cover mail.example.com.*--force" cf replace "$C" "$EC" --server ex1
expect_eq "replace: refused: ex1 still serves C, which keeps its services" \
	"$(served ex1)/$(field ex1 "$C" Services)" "$C/[\"https\",\"smtp\"]"
check "replace: --force passes the names" cf replace "$C" "$EC" --server ex1 --force
check "replace: to ex3 alone, EC found elsewhere in the fleet (ex1), sealed" \
	cf replace "$C" "$EC" --server ex3
if grep -q "^ex3: smtp moved from ${C:0:8} to ${EC:0:8} (copied from ex1 first)$" "$OUT"; then
	pass "replace: NEW comes from the fleet when no server asked holds it"
else
	fail "replace: NEW comes from the fleet when no server asked holds it"
	show "$OUT"
fi
expect_eq "replace --force: ex1 serves the EC certificate" "$(served_eventually ex1 "$EC")" "$EC"
check "set-up: ex1 back on C" cf replace "$EC" "$C" --server ex1

# A reload that fails: enable's rollback, ex2 keeps B served and assigned.
touch "$S/ex2/fail-reload"
check_fails "replace: ex2's reload fails: exit 1, naming the step" 1 \
	"ex2: replace: https: reload failed.*reload refused by the test" \
	cf replace "$B" "$A" --server ex2
expect_eq "replace: the reload failed: ex2 still serves B, which keeps https and smtp" \
	"$(served ex2)/$(field ex2 "$B" Services)" "$B/[\"https\",\"smtp\"]"
expect_eq "audit: ex2 records the failed change with its step" \
	"$(on ex2 log --json | jq --arg a "$A" '[.Items[] | select(.Operation == "enable" and
	    .Thumbprint == $a and (.Outcome | test("^failed: https: reload failed")))] | length')" 1
check "replace: again once the reload works: ex2 back on A" cf replace "$B" "$A" --server ex2
expect_eq "replace: ex2 serves A again" "$(served_eventually ex2 "$A")" "$A"

# ---- one local store ----------------------------------------------------------

L=$T/local
check "store: init" cf store init "$L"
check "store: the chain" cf --store "$L" import "$P/root.pem" "$P/int.pem"
check "store: A with https" cf --store "$L" import "$P/leaf.pem" "$P/leaf.key" --services https --force
check "store: C" cf --store "$L" import "$P/c.pem" "$P/c.key"
check "store: replace A by C, by prefixes" cf --store "$L" replace "${A:0:10}" "${C:0:10}"
if grep -q "https moved from ${A:0:8} to ${C:0:8}$" "$OUT"; then
	pass "store: https moved"
else
	fail "store: https moved"
	show "$OUT"
fi
expect_eq "store: C has https, A none" \
	"$(cf --store "$L" get "$C" --json | jq -c '.Items[0].Services')/$(cf --store "$L" get "$A" --json | jq -c '.Items[0].Services')" \
	'["https"]/[]'
check_fails "store: a NEW the store lacks: exit 1, import it first" 1 \
	"not in this store.*import it first" cf --store "$L" replace "$C" "$B"

e2e_done
