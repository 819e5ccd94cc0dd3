#!/usr/bin/env bash
# copy.sh - `certfleet copy`: one certificate, with its key and chain,
# from one agent to others over mutual TLS under a one-time password;
# the same services; again is harmless; a target that is down is reported
# and the others still succeed; a key that is not exportable is refused,
# naming the agents that hold an exportable copy.  Both sides audit it:
# the source's export names the targets, each target records the import
# and every service change (a failed deploy with its step).  A target
# without one of the source's services gets the others and says so.
#
#   bash tests/e2e/copy.sh      (CERTFLEETD=path to test another build)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"

: "${CERTFLEETD:=$E2E_ROOT/build/certfleetd}"
require_certfleet
export CERTFLEET_HOME=$T/home

P=$T/pki
make_pki "$P"
TP=$(thumb "$P/leaf.pem")
TP_EC=$(thumb "$P/ec.pem")

check "id: the admin identity" cf id
ID=$(head -n 1 "$OUT")
for n in ex1 ex2 ex3 ex4; do
	agent_conf "$n"
	mkdir -p "$T/files-$n"
	# ex1 and ex4 have a service of their own, lb; ex3's imap fails its
	# config test.
	case $n in
	ex1 | ex4) printf '\n[service lb]\nkind = files\nchain = %s\nkey = %s\n' \
		"$T/files-$n/lb.crt" "$T/files-$n/lb.key" >>"$T/$n.conf" ;;
	ex3) printf '\n[service imap]\nkind = files\nchain = %s\nkey = %s\ntest = false\n' \
		"$T/files-$n/imap.crt" "$T/files-$n/imap.key" >>"$T/$n.conf" ;;
	esac
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
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
	on "$1" get "$2" --json 2>/dev/null | jq -r ".Items[0].$3 | tostring"
}

# The private root is trusted on every server, as an admin would make it.
for n in ex1 ex2 ex3 ex4; do
	check "set-up: $n trusts the test root" on $n import "$P/root.pem"
done
check "set-up: ex1 holds the certificate, exportable, with https and smtp" \
	on ex1 import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" --exportable \
	--services https,smtp --force
check "set-up: ex4 holds the EC certificate, not exportable" \
	on ex4 import "$P/ec.pem" "$P/ec.key" "$P/chain.pem"

# ---- the article, in one command -----------------------------------------

check "copy: ex1 to ex2 and ex3" cf copy "${TP:0:12}" --from ex1 --to ex2,ex3
if grep -q "^ex2: imported; services https,smtp" "$OUT" &&
	grep -q "^ex3: imported; services https,smtp" "$OUT" &&
	grep -q "^copied ${TP:0:8} from ex1 to 2 of 2 servers" "$OUT"; then
	pass "copy: a line per server and the summary"
else
	fail "copy: a line per server and the summary"
	show "$OUT"
fi
for n in ex2 ex3; do
	expect_eq "copy: on $n: key, exportable as on ex1, the same services" \
		"$(field $n "$TP" HasPrivateKey)/$(field $n "$TP" PrivateKeyExportable)/$(field $n "$TP" Services)" \
		"true/true/[\"https\",\"smtp\"]"
	expect_eq "copy: on $n: the chain came along (Valid)" "$(field $n "$TP" Status)" Valid
done
run on ex1 log --json
if jq -e '[.Items[] | select(.Operation == "export" and .Thumbprint == "'"$TP"'")] | length == 1' "$OUT" >/dev/null; then
	pass "copy: ex1 audited one export"
else
	fail "copy: ex1 audited one export"
	show "$OUT"
fi

if jq -e --arg t "$TP" '[.Items[] | select(.Operation == "export" and .Thumbprint == $t and
	(.Outcome | test("for copy to ex2, ex3$")))] | length == 1' "$OUT" >/dev/null; then
	pass "audit: ex1's export names the targets, ex2 and ex3"
else
	fail "audit: ex1's export names the targets, ex2 and ex3"
	show "$OUT" 20
fi
# audit_rows NAME OP PATTERN - how many of agent NAME's records of OP on
# $TP have an Outcome matching PATTERN.
audit_rows() {
	on "$1" log --json 2>/dev/null | jq --arg t "$TP" --arg o "$2" --arg p "$3" \
		'[.Items[] | select(.Operation == $o and .Thumbprint == $t and (.Outcome | test($p)))] | length'
}
expect_eq "audit: ex2 records the import" "$(audit_rows ex2 import '^imported$')" 1
expect_eq "audit: ex2 records https and smtp, assigned, and what the deploy did" \
	"$(audit_rows ex2 enable '^https: assigned, taken from [0-9A-F]{8}; recorded; no service is configured here, nothing deployed$')/$(audit_rows ex2 enable '^smtp: assigned, taken from [0-9A-F]{8}; recorded')" \
	1/1

check "copy: again is harmless" cf copy "$TP" --from ex1 --to ex2,ex3
if [ "$(grep -c "already present" "$OUT")" = 2 ]; then
	pass "copy: again: already present on both"
else
	fail "copy: again: already present on both"
	show "$OUT"
fi
expect_eq "audit: again, ex2 records the import, already present" \
	"$(audit_rows ex2 import '^already present$')" 1
expect_eq "audit: again, ex2 records each service change although the certificate was there" \
	"$(audit_rows ex2 enable '^https: already assigned')/$(audit_rows ex2 enable '^smtp: already assigned')" 1/1
expect_eq "audit: a plain export names no target" "$(audit_rows ex1 export 'for copy')" 2
check "export: a plain export from ex1" on ex1 export "$TP" --no-key --pem -o "$T/plain.pem"
expect_eq "audit: ... and is recorded as before" "$(audit_rows ex1 export '^exported certificate and chain$')" 1

# ---- a target without one of the services ---------------------------------

check "set-up: ex1's copy also serves lb, a service only ex1 has" on ex1 enable "$TP" --services lb
check "copy: same services to ex2, which has no lb: exit 0" cf copy "$TP" --from ex1 --to ex2
if grep -q "^ex2: already present; services https,smtp$" "$OUT" &&
	grep -q "^ex2: lb: no such service on this server, skipped$" "$OUT"; then
	pass "copy: ex2 gets https and smtp, and says it skipped lb"
else
	fail "copy: ex2 gets https and smtp, and says it skipped lb"
	show "$OUT"
fi
check_fails "copy: --services lb, which no target has: exit 1, not a usage error" 1 \
	"lb: no target has this service" cf copy "$TP" --from ex1 --to ex2,ex3 --services lb
if grep -q "^ex3: lb: no such service on this server, skipped$" "$OUT"; then
	pass "copy: --services lb: each target says it skipped lb"
else
	fail "copy: --services lb: each target says it skipped lb"
	show "$OUT"
fi
check "copy: --services smtp,lb to ex2 and ex4, which has lb: exit 0" \
	cf copy "$TP" --from ex1 --to ex2,ex4 --services smtp,lb
if grep -q "^ex2: lb: no such service on this server, skipped$" "$OUT" &&
	grep -q "^ex4: imported; services lb,smtp$" "$OUT" && grep -q "^  lb: deployed: files written" "$OUT"; then
	pass "copy: ex4 deployed lb, ex2 skipped it"
else
	fail "copy: ex4 deployed lb, ex2 skipped it"
	show "$OUT"
fi
check "set-up: ex4 forgets the certificate again" on ex4 remove "$TP" --force
run cf copy "$TP" --from ex1 --to ex2 --services https,lb --json
expect_eq "copy --json: SkippedServices per target" \
	"$RC/$(jq -c '.Items[0].SkippedServices' "$OUT")" '1/["lb"]'
check_fails "enable: a service ex2 lacks is not found there (exit 1, not 2)" 1 \
	"lb: unknown service" on ex2 enable "$TP" --services lb

# ---- a failed deploy is audited with its step --------------------------------

check_fails "copy: --services imap to ex3, whose config test fails: exit 1" 1 \
	"ex3: copy: .*imap: config test failed" cf copy "$TP" --from ex1 --to ex3 --services imap
expect_eq "audit: ex3 records the failed service change with the step" \
	"$(audit_rows ex3 enable '^failed: imap: config test failed')" 1
expect_eq "audit: ex3's imap was not assigned" "$(field ex3 "$TP" Services)" '["https","smtp"]'

# ---- a target that is down -----------------------------------------------

check "copy: --no-exportable copies, to ex2 only" cf copy "$TP" --from ex1 --to ex2 --no-exportable
expect_eq "copy: ex2's copy keeps its flag (already present)" "$(field ex2 "$TP" PrivateKeyExportable)" true
agent_stop ex3 >/dev/null
check "remove: ex2 forgets the certificate" on ex2 remove "$TP" --force
check_fails "copy: with ex3 down, exit 1 naming ex3" 1 "ex3" \
	cf copy "$TP" --from ex1 --to ex2,ex3 --no-exportable
if grep -q "^ex2: imported" "$OUT" && grep -q "to 1 of 2 servers" "$OUT"; then
	pass "copy: ex2 succeeded although ex3 is down"
else
	fail "copy: ex2 succeeded although ex3 is down"
	show "$OUT"
fi
expect_eq "copy: --no-exportable: ex2's new copy is not exportable" \
	"$(field ex2 "$TP" PrivateKeyExportable)" false
agent_spawn ex3 && pass "copy: ex3 is up again" || fail "copy: ex3 is up again"
check "fleet: ex3's new port" cf fleet remove ex3
check "fleet: ex3 again" cf fleet add ex3 "127.0.0.1:${APORT[ex3]}" \
	--fingerprint "$(cfd fingerprint --config "$T/ex3.conf")"
check "copy: run again once ex3 is up, it completes" cf copy "$TP" --from ex1 --to ex2,ex3
if grep -q "^ex2: already present" "$OUT" && grep -q "^ex3: already present" "$OUT"; then
	pass "copy: again after the outage: already present on both"
else
	fail "copy: again after the outage: already present on both"
	show "$OUT"
fi

# ---- keys that are not exportable ----------------------------------------

check_fails "copy: ex2's copy is not exportable: refused" 1 \
	"exportable copies are on: ex1, ex3; copy from one of them \\(--from ex1" \
	cf copy "$TP" --from ex2 --to ex4
check_fails "copy: no exportable copy anywhere: refused, saying so" 1 \
	"no agent of the fleet holds an exportable copy" \
	cf copy "$TP_EC" --from ex4 --to ex1
check_fails "copy: the refused copy changed nothing on ex1" 1 "no such certificate" \
	on ex1 get "$TP_EC"
check_fails "copy: refused: ex2's key cannot leave it" 1 "cannot leave ex2 as PKCS#12" \
	cf copy "$TP" --from ex2 --to ex4

# ---- agent-to-agent: a key that is not exportable, sealed -----------------

# ex5 and ex6 allow transfers between them; ex5 also names ex4, which
# does not allow any.
for n in ex5 ex6; do
	agent_conf "$n"
	cfd init --config "$T/$n.conf" >/dev/null
	cfd authorize "$ID" --role admin --config "$T/$n.conf" >/dev/null
done
FP4=$(cfd fingerprint --config "$T/ex4.conf")
FP5=$(cfd fingerprint --config "$T/ex5.conf")
FP6=$(cfd fingerprint --config "$T/ex6.conf")
sed -i "/^\[agent\]/a transfer_peers = $FP6, $FP4" "$T/ex5.conf"
sed -i "/^\[agent\]/a transfer_peers = $FP5" "$T/ex6.conf"
for n in ex5 ex6; do
	agent_start "$n" || e2e_done
	check "fleet: add $n" cf fleet add "$n" "127.0.0.1:${APORT[$n]}" \
		--fingerprint "$(cfd fingerprint --config "$T/$n.conf")"
	check "set-up: $n trusts the test root" on $n import "$P/root.pem"
done
check "set-up: ex5 holds the certificate, NOT exportable, with https" \
	on ex5 import "$P/leaf.pem" "$P/leaf.key" "$P/chain.pem" --services https --force
check_fails "sealed: ex5's key cannot be exported by the admin" 1 "not exportable" \
	on ex5 export "$TP" --binary -o "$T/stolen.pfx" --password-file /dev/null

check "sealed: copy ex5 to ex6 goes agent to agent" cf copy "$TP" --from ex5 --to ex6
if grep -q "^ex6: imported; services https" "$OUT" &&
	grep -q "sealed agent to agent (the key stays not exportable)" "$OUT"; then
	pass "sealed: a line for ex6, and the summary says sealed"
else
	fail "sealed: a line for ex6, and the summary says sealed"
	show "$OUT"
fi
expect_eq "sealed: ex6 has the key, not exportable, with https" \
	"$(field ex6 "$TP" HasPrivateKey)/$(field ex6 "$TP" PrivateKeyExportable)/$(field ex6 "$TP" Services)" \
	'true/false/["https"]'
run on ex5 log --json
if jq -e --arg fp "$FP6" '[.Items[] | select(.Operation == "export" and (.Outcome | contains("sealed with its key for agent " + $fp)))] | length == 1' "$OUT" >/dev/null; then
	pass "sealed: ex5 audited the sealed export to ex6"
else
	fail "sealed: ex5 audited the sealed export to ex6"
	show "$OUT"
fi
run on ex6 log --json
if jq -e --arg fp "$FP5" '[.Items[] | select(.Operation == "import-sealed" and (.Outcome | contains("received sealed from agent " + $fp)))] | length == 1' "$OUT" >/dev/null; then
	pass "sealed: ex6 audited what it received from ex5"
else
	fail "sealed: ex6 audited what it received from ex5"
	show "$OUT"
fi
check_fails "sealed: ex6's copy cannot be exported either" 1 "not exportable" \
	on ex6 export "$TP" --binary -o "$T/stolen.pfx" --password-file /dev/null
check_fails "sealed: to ex4, which allows no transfers: refused by ex4" 1 \
	"ex4: copy: agent-to-agent transfer is off on this agent" \
	cf copy "$TP" --from ex5 --to ex4
check_fails "sealed: from ex6 to ex1, not its peer: refused by ex6" 1 \
	"is not a transfer peer of this agent" cf copy "$TP" --from ex6 --to ex1
check_fails "sealed: ex1 has no transfers: the article's refusal" 1 \
	"exportable copies are on" cf copy "$TP" --from ex2 --to ex1

# No API path hands the admin the key: ex5 seals only to its peers.
ADMIN_PEM=$(jq -Rs . <"$CERTFLEET_HOME/id.crt")
code=$(curl -sk -o "$T/resp.json" -w '%{http_code}' --cert "$CERTFLEET_HOME/id.crt" \
	--key "$CERTFLEET_HOME/id.key" -H 'Content-Type: application/json' \
	-d "{\"thumbprint\": \"$TP\", \"recipients\": [$ADMIN_PEM]}" \
	"https://127.0.0.1:${APORT[ex5]}/v1/export-sealed")
expect_eq "sealed: sealing to the admin's own certificate is refused (403)" "$code" 403
if grep -q "not a transfer peer" "$T/resp.json"; then
	pass "sealed: and the refusal says the admin is no transfer peer"
else
	fail "sealed: and the refusal says the admin is no transfer peer"
	show "$T/resp.json"
fi
# A sealed transfer for ex6, handed to another agent, opens nowhere else.
EX6_PEM=$(curl -sk --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	"https://127.0.0.1:${APORT[ex6]}/v1/whoami" | jq .certificate)
curl -sk --cert "$CERTFLEET_HOME/id.crt" --key "$CERTFLEET_HOME/id.key" \
	-d "{\"thumbprint\": \"$TP\", \"recipients\": [$EX6_PEM]}" \
	"https://127.0.0.1:${APORT[ex5]}/v1/export-sealed" | jq -r .sealed >"$T/sealed.b64"
code=$(curl -sk -o "$T/resp.json" -w '%{http_code}' --cert "$CERTFLEET_HOME/id.crt" \
	--key "$CERTFLEET_HOME/id.key" \
	-d "{\"sealed\": \"$(cat "$T/sealed.b64")\"}" \
	"https://127.0.0.1:${APORT[ex5]}/v1/import-sealed")
expect_eq "sealed: a transfer sealed for ex6 does not open on ex5 (403)" "$code" 403
if openssl cms -cmsout -inform DER -in <(base64 -d "$T/sealed.b64") -print 2>/dev/null |
	grep -q "envelopedData"; then
	pass "sealed: what the admin carries is CMS enveloped data"
else
	fail "sealed: what the admin carries is CMS enveloped data"
fi

check_fails "copy: an unknown certificate" 1 "no such certificate" \
	cf copy 0123456789ABCDEF --from ex1 --to ex2
check_fails "copy: --from all is a usage error" 2 "one agent" \
	cf copy "$TP" --from all --to ex2
check_fails "copy: --server is a usage error" 2 "not --server" \
	cf copy "$TP" --from ex1 --to ex2 --server ex1
check_fails "copy: an unknown target" 2 "ex9" cf copy "$TP" --from ex1 --to ex9

e2e_done
